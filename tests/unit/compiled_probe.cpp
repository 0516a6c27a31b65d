// Compiled-mode probe (issue #16): the same small fits and passes, printed bit for bit (hex
// floats). Built twice, against attnsel::attnsel (header-only) and against attnsel::compiled
// (ATTNSEL_COMPILED=1: the class templates come from the library); determinism_compare.cmake
// requires the two outputs to be identical apart from the "info" line. tests/CMakeLists.txt also
// checks with nm that the compiled-mode object really leaves these definitions to the library.
#include <attnsel/attnsel.hpp>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <vector>

#include "tiny_lm.hpp"

namespace {

template <class T>
void print(const char* what, const T* v, std::size_t n) {
  std::printf("%s", what);
  for (std::size_t i = 0; i < n; ++i) std::printf(" %a", double(v[i]));
  std::printf("\n");
}

template <class T>
void print_selection(const char* what, const attnsel::Selection<T>& s) {
  std::printf("%s features", what);
  for (attnsel::Index f : s.features) std::printf(" %lld", static_cast<long long>(f));
  std::printf("\n");
  print("  losses", s.losses.data(), s.losses.size());
}

/// A planted problem: y depends on features 5 and 2 of 12.
template <class T>
void planted(attnsel::RowMatrix<T>& X, attnsel::Vector<T>& cls, attnsel::Vector<T>& reg) {
  attnsel::Rng rng(7);
  X.resize(160, 12);
  for (attnsel::Index i = 0; i < X.size(); ++i) X.data()[i] = T(attnsel::random::normal(rng, 0.0, 1.0));
  cls.resize(X.rows());
  reg.resize(X.rows());
  for (attnsel::Index i = 0; i < X.rows(); ++i) {
    cls(i) = X(i, 5) + T(0.5) * X(i, 2) > T(0) ? T(1) : T(0);
    reg(i) = T(2) * X(i, 5) - X(i, 2);
  }
}

template <class T>
void run(const char* type) {
  std::printf("== %s\n", type);
  attnsel::RowMatrix<T> X;
  attnsel::Vector<T> cls, reg;
  planted(X, cls, reg);

  attnsel::SequentialAttentionOptions<T> o;
  o.k = 3;
  o.epochs = 6;
  o.hidden = {8};
  o.batch_size = 32;
  print_selection("classification/adam", attnsel::SequentialAttentionSelector<T>(o).fit(X, cls));
  o.task = attnsel::Task::regression;
  print_selection("regression/adam", attnsel::SequentialAttentionSelector<T>(o).fit(X, reg));
  o.optimizer = attnsel::SelectorOptimizer::sgd;
  o.input_batch_norm = false;
  print_selection("regression/sgd", attnsel::SequentialAttentionSelector<T>(o).fit(X, reg));

  // The linear baselines (their cores are in the library too).
  attnsel::OmpOptions omp;
  for (auto variant : {attnsel::OmpOptions::Precompute::gram, attnsel::OmpOptions::Precompute::lazy_gram,
                       attnsel::OmpOptions::Precompute::residual}) {
    omp.precompute = variant;
    const attnsel::OmpResult<T> r = attnsel::orthogonal_matching_pursuit(X, reg, 4, omp);
    print_selection("omp", r);
    print("  coef", r.coef.data(), std::size_t(r.coef.size()));
  }
  attnsel::LassoPathOptions lasso;
  lasso.n_lambdas = 20;
  print_selection("lasso path", attnsel::lasso_path_selection(X, reg, 3, lasso));
  attnsel::LinearSequentialAttentionOptions lsa;
  lsa.steps = 50;
  print_selection("linear sequential attention", attnsel::linear_sequential_attention(X, reg, 3, lsa));

  // A small Selective Attention transformer: loss and backward, then a KV-cache decode.
  attnsel::TransformerConfig c = lm_config(11, 8, 1, 2, 8);
  c.mlp_ratio = 2;
  attnsel::TransformerLM<T> lm(c);
  std::vector<std::int32_t> ids(16), targets(16);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    ids[i] = std::int32_t((3 * i + 1) % 11);
    targets[i] = std::int32_t((3 * i + 4) % 11);
  }
  lm.forward(ids, 8, true);
  const double loss = lm.backward(targets);
  std::printf("lm loss %a\n", loss);

  attnsel::KVCacheOptions ko;
  ko.heads = 2;
  ko.head_dim = 4;
  ko.budget = 4;
  attnsel::KVCache<T> cache(ko);
  std::vector<T> q(8), k(8), v(8), out(8);
  for (int t = 0; t < 7; ++t) {
    for (std::size_t i = 0; i < q.size(); ++i) {
      q[i] = T(0.1) * T((t + 1) * (int(i) + 2) % 7) - T(0.3);
      k[i] = T(0.2) * T((t + 3) * (int(i) + 1) % 5) - T(0.4);
      v[i] = T(t) + T(0.5) * T(i);
    }
    cache.decode_step(q.data(), k.data(), v.data(), out.data());
  }
  print("kv cache output", out.data(), out.size());

  // The kernels behind the runtime dispatch (issue #36): Selective Attention's tiles (two key
  // tiles, so the online softmax rescales) and the block-sparse products, on reductions long
  // enough that FMA and multiply-then-add round differently.
  const attnsel::Index n = 80, heads = 2, d = 40;
  attnsel::RowMatrix<T> Q(n, heads * d), K(n, heads * d), V(n, heads * d), dO(n, heads * d);
  attnsel::Rng rng(5);
  for (auto* M : {&Q, &K, &V, &dO})
    for (attnsel::Index i = 0; i < M->size(); ++i) M->data()[i] = T(attnsel::random::normal(rng, 0.0, 1.0));
  attnsel::SelectiveAttentionOptions so;
  so.heads = heads;
  so.tile = 32;
  const attnsel::RowMatrix<T> O = attnsel::selective_attention(Q, K, V, so);
  print("selective attention output", O.data(), std::size_t(O.size()));
  const auto g = attnsel::selective_attention_backward(Q, K, V, dO, so);
  print("selective attention dQ", g.dQ.data(), std::size_t(g.dQ.size()));
  attnsel::RowMatrix<T> W(48, 300), X2(9, 300), X3(9, 48);
  for (auto* M : {&W, &X2, &X3})
    for (attnsel::Index i = 0; i < M->size(); ++i) M->data()[i] = T(attnsel::random::normal(rng, 0.0, 1.0));
  for (attnsel::Index bs : {8, 5}) {
    const attnsel::BlockSparseMatrix<T> S(W, attnsel::BlockShape{bs, bs});
    const attnsel::RowMatrix<T> Y = S.multiply(X2), Z = S.multiply_transposed(X3);
    print("bsr product", Y.data(), std::size_t(Y.size()));
    print("bsr transposed product", Z.data(), std::size_t(Z.size()));
  }
}

}  // namespace

int main() {
  try {
    std::printf("info ATTNSEL_COMPILED=%d\n", ATTNSEL_COMPILED);
    std::printf("info simd_arch %s\n", attnsel::simd_arch());
    run<float>("float");
    run<double>("double");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "compiled_probe: %s\n", e.what());
    return 1;
  }
}
