// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
//
// The sse2 kernel table of the compiled library's runtime dispatch (simd/kernel_table.hpp),
// built with the sse2 flags (CMakeLists.txt, attnsel_kernels_sse2).
#define ATTNSEL_KERNELS_ISA sse2
#define ATTNSEL_KERNELS_EXPECTED_ARCH sse2
#include "kernels_isa.inc"
