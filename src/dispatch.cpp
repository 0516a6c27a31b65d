// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
//
// The compiled library's choice among its kernel tables (simd/kernel_table.hpp). Built with the
// baseline flags: nothing here runs an instruction the oldest x86-64 lacks, and nothing runs at
// load time (the choice is a function-local static, made at the first kernel call).
#include <attnsel/simd/kernel_table.hpp>

#include <cstdlib>
#include <cstring>

ATTNSEL_NAMESPACE_BEGIN
namespace simd {
namespace runtime {

extern const KernelTable<float> table_sse2_float, table_avx2_float, table_avx512_float;
extern const KernelTable<double> table_sse2_double, table_avx2_double, table_avx512_double;

namespace {

/// The widest instruction set this CPU and its OS support. GCC's __builtin_cpu_supports reads
/// CPUID and, for the AVX families, whether the OS saves the wider registers (XGETBV).
Isa supported() noexcept {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx2") &&
      __builtin_cpu_supports("fma"))
    return Isa::avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::avx2;
#endif
  return Isa::sse2;
}

/// ATTNSEL_ISA's cap, or none when it is unset or not one of sse2, avx2, avx512 (library code
/// prints nothing: attnsel::simd_arch() says what runs).
Isa cap() noexcept {
  const char* v = std::getenv("ATTNSEL_ISA");
  if (!v) return Isa::avx512;
  if (std::strcmp(v, "sse2") == 0) return Isa::sse2;
  if (std::strcmp(v, "avx2") == 0) return Isa::avx2;
  return Isa::avx512;
}

}  // namespace

const char* isa_name(Isa isa) noexcept {
  switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    default: return "sse2";
  }
}

const KernelTable<float>* kernel_table_float(Isa isa) noexcept {
  static const Isa best = supported();
  if (int(isa) > int(best)) return nullptr;
  return isa == Isa::avx512 ? &table_avx512_float : isa == Isa::avx2 ? &table_avx2_float : &table_sse2_float;
}

const KernelTable<double>* kernel_table_double(Isa isa) noexcept {
  static const Isa best = supported();
  if (int(isa) > int(best)) return nullptr;
  return isa == Isa::avx512 ? &table_avx512_double : isa == Isa::avx2 ? &table_avx2_double : &table_sse2_double;
}

Isa dispatched_isa() noexcept {
  static const Isa chosen = [] {
    const Isa s = supported(), c = cap();
    return int(c) < int(s) ? c : s;
  }();
  return chosen;
}

const KernelTable<float>& dispatched_table_float() noexcept {
  static const KernelTable<float>* t = kernel_table_float(dispatched_isa());
  return *t;
}

const KernelTable<double>& dispatched_table_double() noexcept {
  static const KernelTable<double>* t = kernel_table_double(dispatched_isa());
  return *t;
}

}  // namespace runtime
}  // namespace simd
ATTNSEL_NAMESPACE_END
