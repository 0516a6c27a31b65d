// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
//
// The avx512 kernel table of the compiled library's runtime dispatch (simd/kernel_table.hpp),
// built with the avx512 flags (CMakeLists.txt, attnsel_kernels_avx512).
#define ATTNSEL_KERNELS_ISA avx512
#define ATTNSEL_KERNELS_EXPECTED_ARCH avx512bw
#include "kernels_isa.inc"
