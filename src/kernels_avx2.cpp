// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
//
// The avx2 kernel table of the compiled library's runtime dispatch (simd/kernel_table.hpp),
// built with the avx2 flags (CMakeLists.txt, attnsel_kernels_avx2).
#define ATTNSEL_KERNELS_ISA avx2
#define ATTNSEL_KERNELS_EXPECTED_ARCH fma3_avx2
#include "kernels_isa.inc"
