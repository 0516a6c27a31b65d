// libFuzzer target: the feature_selection example's command line
// (examples/common/feature_selection_args.hpp). The input is split into arguments at '\0' and
// '\n'. parse_feature_selection_args documents std::invalid_argument only; any other exception,
// a sanitizer report or an accepted value outside its documented range is a crash.
#include "common/feature_selection_args.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

void check(bool ok) {
  if (!ok) std::abort();  // a broken invariant: libFuzzer records it as a crash
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> args;
  std::string cur;
  for (std::size_t i = 0; i < size; ++i) {
    const char c = static_cast<char>(data[i]);
    if (c == '\0' || c == '\n') {
      args.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) args.push_back(cur);

  examples::FeatureSelectionArgs a;
  try {
    a = examples::parse_feature_selection_args(args);
  } catch (const std::invalid_argument& e) {
    check(e.what()[0] != '\0');
    return 0;
  }
  if (!a.help.empty()) return 0;
  check(a.method == "sa" || a.method == "omp" || a.method == "lasso" || a.method == "random");
  check(a.task == "classification" || a.task == "regression");
  check(a.epochs >= 1 && a.epochs <= 100000);
  check(a.batch >= 1 && a.batch <= (1 << 20));
  check(a.lr > 0);
  check(a.test_fraction >= 0.01 && a.test_fraction <= 0.9);
  return 0;
}
