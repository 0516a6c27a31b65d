// The 10-line program of benchmarks/recipes/compile_time.sh: fit a Sequential Attention selector.
#include <attnsel/attnsel.hpp>
#include <cstdio>
int main() {
  attnsel::RowMatrix<float> X = attnsel::RowMatrix<float>::Random(200, 20);
  attnsel::Vector<float> y = (X.col(3).array() > 0).cast<float>();
  attnsel::SequentialAttentionOptions<float> o;
  o.k = 3;
  const attnsel::Selection<float> s = attnsel::SequentialAttentionSelector<float>(o).fit(X, y);
  std::printf("%lld\n", static_cast<long long>(s.features[0]));
}
