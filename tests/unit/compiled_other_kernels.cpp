// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
//
// Built with the other ATTNSEL_OWN_KERNELS setting than attnsel::compiled: the test
// attnsel.compiled.other_kernels_does_not_link expects the link to fail on the library's marker
// (types.hpp) rather than a program whose layers run one training floor in some TUs and the
// other in the rest.
#include <attnsel/attnsel.hpp>

int main() {
  attnsel::Rng rng(1);
  attnsel::Dense<float> layer(3, 2, rng);
  return layer.input_size() == 3 ? 0 : 1;
}
