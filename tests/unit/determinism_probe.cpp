// Determinism probe (issue #8): Sequential Attention selection and a small SA++ pruning run on
// the bundled digits, as the main example runs them (k = 10, 60 epochs, batch 64, lr 5e-3,
// seed 1). Built twice, with this machine's widest instruction set and with the scalar fallback
// on baseline flags; tests/determinism_compare.cmake requires the lines not starting with
// "info" to be identical. The "info" lines (per-epoch losses as hex floats) show where two
// builds' training first diverges when they do.
//
//   determinism_probe [data-dir]
#include <attnsel/attnsel.hpp>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

namespace {

using T = float;

/// FNV-1a over bytes.
std::uint64_t fnv1a(const void* p, std::size_t n, std::uint64_t h = 0xcbf29ce484222325ull) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ull;
  return h;
}

std::uint64_t hash_floats(const std::vector<T>& v) { return fnv1a(v.data(), v.size() * sizeof(T)); }

void print_losses(const char* what, const std::vector<T>& losses) {
  std::printf("info %s losses", what);
  for (T l : losses) std::printf(" %a", double(l));
  std::printf("\n");
}

const char* arch_name() {
#if defined(ATTNSEL_DISABLE_SIMD)
  return "scalar fallback";
#else
  return "simd";
#endif
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string dir = argc > 1 ? argv[1] : ATTNSEL_DATA_DIR;
    attnsel::CsvOptions csv;
    csv.label = "digit";
    const auto split = attnsel::stratified_split(attnsel::read_csv<T>(dir + "/digits.csv", csv), 0.25, 1);
    std::printf("info build: %s, Eigen SIMD: %s\n", arch_name(), Eigen::SimdInstructionSetsInUse());

    attnsel::SequentialAttentionOptions<T> o;
    o.k = 10;
    o.epochs = 60;
    o.batch_size = 64;
    o.learning_rate = T(5e-3);
    o.seed = 1;
    const attnsel::Selection<T> s = attnsel::SequentialAttentionSelector<T>(o).fit(split.train.X, split.train.y);
    std::printf("sa selection:");
    for (attnsel::Index f : s.features) std::printf(" %lld", static_cast<long long>(f));
    std::printf("\n");
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (const auto& r : s.history) h = fnv1a(r.data(), r.size() * sizeof(T), h);
    std::printf("info sa logit-history hash %016" PRIx64 ", loss hash %016" PRIx64 "\n", h, hash_floats(s.losses));
    print_losses("sa", s.losses);

    // SA++ on the first layer (64 -> 64, blocks of 8: 64 blocks) of an MLP, 75 % sparsity.
    attnsel::MLPOptions mo;
    mo.hidden = {64};
    mo.seed = 1;
    auto model = attnsel::make_mlp<T>(split.train.features(), split.train.class_count(), mo);
    attnsel::AdamOptions<T> ao;
    ao.learning_rate = T(3e-3);
    attnsel::Adam<T> adam(ao);
    attnsel::BlockPruning<T, attnsel::Adam<T>> pruning(adam);
    attnsel::PruningOptions<T> po;
    po.sparsity = 0.75;
    po.min_blocks = 0;
    pruning.add(model, 0, attnsel::PruningMethod::sequential_attention_pp, 8, po);
    adam.add_parameters(model.parameters());
    attnsel::TrainOptions<T> t;
    t.epochs = 20;
    t.batch_size = 64;
    t.seed = 1;
    const attnsel::RowMatrix<T> Y = split.train.y;
    const auto hist = attnsel::fit(model, attnsel::SoftmaxCrossEntropy<T>{}, adam, split.train.X, Y, t, pruning);
    const attnsel::BlockMask& mask = pruning.pruner(0).mask();
    std::string bits;
    for (attnsel::Index b = 0; b < mask.size(); ++b) bits += mask.data()[b] ? '1' : '0';
    std::printf("sa++ kept blocks %lld, mask %s, hash %016" PRIx64 "\n", static_cast<long long>(mask.count()), bits.c_str(),
                fnv1a(bits.data(), bits.size()));
    print_losses("sa++", hist.train_loss);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "determinism_probe: %s\n", e.what());
    return 1;
  }
}
