// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file parallel.hpp
/// When attnsel's work runs on several OpenMP threads (docs/conventions.md §3). A parallel
/// region costs a few µs on idle cores, but a whole scheduler time slice (milliseconds) when a
/// core is busy with other work: its threads wait at the region's barrier for a thread that is not
/// running. So attnsel goes parallel only above a work threshold, and products below it run on the
/// calling thread. Without OpenMP everything here is a no-op.

#if defined(_OPENMP)
#include <omp.h>
#endif

#include <cstddef>
#include <exception>

#include "config.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// How many threads attnsel's parallel paths may use when called from here: OpenMP's
/// `omp_get_max_threads()` (OMP_NUM_THREADS, omp_set_num_threads), or 1 when the program was
/// compiled without OpenMP (CMake: attnsel::attnsel brings OpenMP unless ATTNSEL_OPENMP=OFF).
inline int max_threads() noexcept {
#if defined(_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
}

namespace detail {

/// Products below this many multiply-adds (~0.1 ms on one core) run on one thread.
constexpr double omp_parallel_work = 4e6;
/// The same for passes over memory (copies, GEMVs), in elements read.
constexpr double omp_parallel_pass = 1e6;

/// Sets OpenMP's thread count of the calling thread to 1 for a scope, and restores it. Eigen's
/// default thread count is OpenMP's, so a product in the scope runs on one thread. Per thread:
/// other threads are unaffected. (A count set explicitly by Eigen::setNbThreads takes
/// precedence; then only speed differs.)
class SingleThreadScope {
 public:
#if defined(_OPENMP)
  SingleThreadScope() : saved_(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~SingleThreadScope() { omp_set_num_threads(saved_); }
#else
  SingleThreadScope() {}
  ~SingleThreadScope() {}  // user-provided: no unused-variable warning at the call site
#endif
  SingleThreadScope(const SingleThreadScope&) = delete;
  SingleThreadScope& operator=(const SingleThreadScope&) = delete;

#if defined(_OPENMP)
 private:
  int saved_;
#endif
};

/// A SingleThreadScope when `multiply_adds` is below omp_parallel_work, else nothing: put it in
/// front of an Eigen product whose size is known only at run time.
class ThreadsForWork {
 public:
#if defined(_OPENMP)
  explicit ThreadsForWork(double multiply_adds) {
    if (multiply_adds < omp_parallel_work && omp_get_max_threads() > 1) {
      saved_ = omp_get_max_threads();
      omp_set_num_threads(1);
    }
  }
  ~ThreadsForWork() {
    if (saved_ > 0) omp_set_num_threads(saved_);
  }
#else
  explicit ThreadsForWork(double) {}
  ~ThreadsForWork() {}
#endif
  ThreadsForWork(const ThreadsForWork&) = delete;
  ThreadsForWork& operator=(const ThreadsForWork&) = delete;

#if defined(_OPENMP)
 private:
  int saved_ = 0;
#endif
};

/// Carries an exception out of an OpenMP parallel region, which it must not leave by itself
/// (that is std::terminate): each iteration's body runs in `run`, the first exception any thread
/// throws is kept (the other iterations still run), and `rethrow` throws it on the calling
/// thread after the region. Bodies that allocate (Eigen temporaries, GEMM blocking) can throw
/// std::bad_alloc.
class ParallelErrors {
 public:
  template <class F>
  void run(F&& f) noexcept {
    try {
      f();
    } catch (...) {
      keep(std::current_exception());
    }
  }
  void rethrow() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void keep(std::exception_ptr e) noexcept {
#if defined(_OPENMP)
#pragma omp critical(attnsel_parallel_errors)
#endif
    if (!error_) error_ = std::move(e);
  }
  std::exception_ptr error_;
};

/// Runs f(begin, end) over the rows [0, rows) in consecutive chunks of `chunk` rows (the last
/// one shorter), on OpenMP threads when `elements` (the values the loop touches) reaches
/// omp_parallel_pass. The chunks do not depend on the thread count, so per-chunk partial results
/// combined in chunk order are bitwise the same on any number of threads. What f throws reaches
/// the caller (on threads: the first exception, after every chunk ran; ParallelErrors).
template <class F>
void for_row_chunks(std::ptrdiff_t rows, std::ptrdiff_t chunk, double elements, F&& f) {
  if (rows <= 0) return;
  if (chunk < 1) chunk = 1;
  const std::ptrdiff_t n = (rows + chunk - 1) / chunk;
#if defined(_OPENMP)
  if (n >= 2 && elements >= omp_parallel_pass && omp_get_max_threads() > 1 && !omp_in_parallel()) {
    ParallelErrors errors;
#pragma omp parallel for schedule(static)
    for (std::ptrdiff_t c = 0; c < n; ++c) errors.run([&] { f(c * chunk, c + 1 == n ? rows : (c + 1) * chunk); });
    errors.rethrow();
    return;
  }
#endif
  (void)elements;
  for (std::ptrdiff_t c = 0; c < n; ++c) f(c * chunk, c + 1 == n ? rows : (c + 1) * chunk);
}

}  // namespace detail

ATTNSEL_NAMESPACE_END
