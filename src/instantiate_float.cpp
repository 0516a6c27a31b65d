// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
//
// The float instantiations of attnsel's compiled mode (the target attnsel::compiled; the lists
// are in the folder headers, config.hpp explains the mode).
#define ATTNSEL_COMPILED_SCALAR float
#include "instantiate.inc"
