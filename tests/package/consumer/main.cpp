// Consumer smoke test: the umbrella header compiles and a kernel gives the right answer.
#include <attnsel/attnsel.hpp>

#include <cmath>
#include <cstdio>

int main() {
  Eigen::VectorXf logits(4), mask(4);
  logits << 1.0f, 2.0f, 3.0f, 100.0f;
  mask << 1, 1, 1, 0;
  const Eigen::VectorXf p = attnsel::masked_softmax(logits, mask);
  const double expect = std::exp(3.0) / (std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  std::printf("attnsel %s (%s): p = [%g %g %g %g]\n", ATTNSEL_VERSION_STRING, ATTNSEL_SIMD_ARCH_NAME,
              p[0], p[1], p[2], p[3]);
  const bool ok = std::fabs(p[2] - expect) < 1e-6 && p[3] == 0.0f && attnsel::masked_argmax(logits, mask) == 2;
  return ok ? 0 : 1;
}
