// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
//
// Built with -mavx (Eigen's 32-byte alignment class) against attnsel::compiled built for the
// baseline's 16 bytes: the test attnsel.compiled.other_alignment_does_not_link expects the link
// to fail on the library's alignment marker (types.hpp), not a program that crashes when the
// library reads one of this TU's matrices with aligned loads.
#include <attnsel/attnsel.hpp>

int main() {
  attnsel::RowMatrix<float> X = attnsel::RowMatrix<float>::Random(8, 4);
  return X.rows() == 8 ? 0 : 1;
}
