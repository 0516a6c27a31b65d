// Heap bytes of a program, counted by replacing malloc and friends (glibc: they forward to
// __libc_malloc & co.; Eigen's aligned allocations and operator new both end there), with
// malloc_usable_size, so a count is an upper bound of what was asked for. Include it in exactly
// one translation unit of an executable that is not built with a sanitizer (they replace malloc
// themselves). Used by tests/unit/memory_probe.cpp, benchmarks/protocols/lm_step.cpp and bench_selective.cpp.
#pragma once

#include <malloc.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <utility>

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);
}

namespace {

std::atomic<long long> g_current{0}, g_peak{0};

void* counted(void* p) {
  if (p) {
    const long long now = g_current.fetch_add(static_cast<long long>(malloc_usable_size(p))) +
                          static_cast<long long>(malloc_usable_size(p));
    long long peak = g_peak.load();
    while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
    }
  }
  return p;
}

void uncount(void* p) {
  if (p) g_current.fetch_sub(static_cast<long long>(malloc_usable_size(p)));
}

}  // namespace

extern "C" {
void* malloc(std::size_t n) { return counted(__libc_malloc(n)); }
void* calloc(std::size_t n, std::size_t s) { return counted(__libc_calloc(n, s)); }
void* realloc(void* p, std::size_t n) {
  uncount(p);
  void* q = __libc_realloc(p, n);
  counted(q ? q : p);  // a failed realloc leaves p allocated
  return q;
}
void free(void* p) {
  uncount(p);
  __libc_free(p);
}
void* memalign(std::size_t a, std::size_t n) { return counted(__libc_memalign(a, n)); }
void* aligned_alloc(std::size_t a, std::size_t n) { return counted(__libc_memalign(a, n)); }
int posix_memalign(void** out, std::size_t a, std::size_t n) {
  void* p = __libc_memalign(a, n);
  if (!p) return 12;  // ENOMEM
  *out = counted(p);
  return 0;
}
void* valloc(std::size_t n) { return counted(__libc_memalign(4096, n)); }
}

namespace heap_counter {

/// Peak heap bytes allocated by f() beyond those allocated before it, and f's seconds.
template <class F>
std::pair<long long, double> peak_extra(F&& f) {
  const long long before = g_current.load();
  g_peak.store(before);
  const auto t0 = std::chrono::steady_clock::now();
  f();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return {g_peak.load() - before, s};
}

}  // namespace heap_counter
