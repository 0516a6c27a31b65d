// Runs a piece of a test on a given number of OpenMP threads.
#pragma once

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace attnsel_test {

/// Runs f with `threads` OpenMP threads, restoring the count after, and returns what f returns.
/// Eigen follows OpenMP's count (nothing here calls Eigen::setNbThreads, which would override the
/// library's single-thread scopes). Without OpenMP it just runs f.
template <class F>
auto with_threads(int threads, F&& f) {
#if defined(_OPENMP)
  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  auto r = f();
  omp_set_num_threads(saved);
  return r;
#else
  (void)threads;
  return f();
#endif
}

}  // namespace attnsel_test
