// Consumer smoke test: the umbrella header compiles, a kernel gives the right answer, and (when
// the consumer project expects threads, ATTNSEL_EXPECT_THREADS) attnsel's parallel loop really
// runs on that many threads without the consumer linking OpenMP itself. Linked to
// attnsel::compiled (ATTNSEL_COMPILED=1), it also fits a selector whose training comes from
// the library.
#include <attnsel/attnsel.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>

int main() {
  Eigen::VectorXf logits(4), mask(4);
  logits << 1.0f, 2.0f, 3.0f, 100.0f;
  mask << 1, 1, 1, 0;
  const Eigen::VectorXf p = attnsel::masked_softmax(logits, mask);
  const double expect = std::exp(3.0) / (std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  std::printf("attnsel %s (%s): p = [%g %g %g %g]\n", ATTNSEL_VERSION_STRING, ATTNSEL_SIMD_ARCH_NAME,
              p[0], p[1], p[2], p[3]);
  bool ok = std::fabs(p[2] - expect) < 1e-6 && p[3] == 0.0f && attnsel::masked_argmax(logits, mask) == 2;

  // The row-chunk loop every threaded path of attnsel goes through, with enough work to go parallel.
  std::mutex m;
  std::set<std::thread::id> ids;
  attnsel::detail::for_row_chunks(64, 1, 1e9, [&](std::ptrdiff_t, std::ptrdiff_t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // so no thread takes every chunk
    const std::lock_guard<std::mutex> lock(m);
    ids.insert(std::this_thread::get_id());
  });
  std::printf("parallel loop: %zu thread(s), attnsel::max_threads() = %d\n", ids.size(), attnsel::max_threads());
#ifdef ATTNSEL_EXPECT_THREADS
  if (static_cast<int>(ids.size()) != ATTNSEL_EXPECT_THREADS || attnsel::max_threads() != ATTNSEL_EXPECT_THREADS) {
    std::printf("expected %d threads\n", ATTNSEL_EXPECT_THREADS);
    ok = false;
  }
#endif
#if ATTNSEL_COMPILED
  {
    attnsel::RowMatrix<float> X = attnsel::RowMatrix<float>::Random(200, 12);
    const attnsel::Vector<float> y = (X.col(7).array() > 0).cast<float>();
    attnsel::SequentialAttentionOptions<float> o;
    o.k = 2;
    const attnsel::Selection<float> s = attnsel::SequentialAttentionSelector<float>(o).fit(X, y);
    std::printf("compiled mode: selected %lld first (expected 7)\n", static_cast<long long>(s.features[0]));
    ok = ok && s.features[0] == 7;
  }
#endif
  return ok ? 0 : 1;
}
