// Issue #16: fitted results a user can keep. A Selection (with feature names) and an SA++ block
// mask round-trip through io/json.hpp; every malformed file is a parse_error naming the field;
// a failed save leaves the existing file as it was.
#include "../catch_compat.hpp"

#include <attnsel/attnsel.hpp>
#include <attnsel/io/json.hpp>

#include <fstream>
#include <sstream>
#include <string>

using namespace attnsel;

namespace {

std::string temp_path(const std::string& name) { return std::string(ATTNSEL_TEST_TMP_DIR) + "/json_" + name; }

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// The message of the parse_error that loading `text` as a selection throws ("" if none).
std::string selection_error(const std::string& text) {
  const std::string p = temp_path("bad_selection.json");
  write_text(p, text);
  try {
    (void)load_selection<double>(p);
  } catch (const parse_error& e) {
    CHECK(e.file() == p);
    return e.what();
  }
  return "";
}

std::string mask_error(const std::string& text) {
  const std::string p = temp_path("bad_mask.json");
  write_text(p, text);
  try {
    (void)load_block_mask(p);
  } catch (const parse_error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

const char* good_selection =
    R"({"format": "attnsel.selection", "version": 1, "method": "omp", "features": [4, 0, 2],
        "feature_names": ["e", "a", "c"], "features_from_training": 3, "losses": [1.5, 0.25]})";

}  // namespace

TEST_CASE("a Selection with names round-trips through JSON", "[io][json]") {
  // A real selection: OMP on a problem whose answer is known (y depends on columns 3 and 1).
  RowMatrix<double> X(30, 5);
  for (Index i = 0; i < 30; ++i)
    for (Index j = 0; j < 5; ++j) X(i, j) = std::sin(0.37 * double(i * (j + 1)) + double(j));
  Eigen::VectorXd y = 3.0 * X.col(3) - 1.0 * X.col(1);
  const std::vector<std::string> names{"age", "bmi", "bp", "s1", "s2"};
  const Selection<double> s = name_features(Selection<double>(orthogonal_matching_pursuit(X, y, 2)), names);
  REQUIRE(s.features == std::vector<Index>{3, 1});
  CHECK(s.feature_names == std::vector<std::string>{"s1", "bmi"});

  const std::string p = temp_path("selection.json");
  save_selection(s, p);
  for (const Selection<double>& back : {load_selection<double>(p), Selection<double>()}) {
    if (back.method.empty()) break;
    CHECK(back.features == s.features);
    CHECK(back.feature_names == s.feature_names);
    CHECK(back.method == s.method);
    CHECK(back.features_from_training == s.features_from_training);
    REQUIRE(back.losses.size() == s.losses.size());
    for (std::size_t i = 0; i < s.losses.size(); ++i) CHECK(back.losses[i] == s.losses[i]);  // exact: 17 digits
  }
  // float selections load too; a selection without names stays without.
  Selection<float> unnamed;
  unnamed.features = {2, 7};
  unnamed.method = "random";
  save_selection(unnamed, p);
  const Selection<float> u = load_selection<float>(p);
  CHECK(u.features == unnamed.features);
  CHECK(u.feature_names.empty());
  CHECK(read_text(p).find("\"format\": \"attnsel.selection\"") != std::string::npos);
}

TEST_CASE("name_features rejects an index without a name", "[io][json]") {
  Selection<float> s;
  s.features = {0, 3};
  const std::string m = attnsel_test::invalid_argument_message([&] { (void)name_features(s, {"a", "b", "c"}); });
  CHECK(contains(m, "attnsel::name_features: selected feature 3 has no name: argument 'names' holds 3 names"));
}

TEST_CASE("a malformed selection file is a parse_error naming the problem", "[io][json]") {
  CHECK(selection_error(good_selection).empty());
  CHECK(contains(selection_error("{\"format\": "), "not a JSON document"));
  CHECK(contains(selection_error("[1, 2]"), "not a JSON object"));
  CHECK(contains(selection_error(R"({"format": "attnsel.block_mask", "version": 1})"),
                 "field 'format' must be \"attnsel.selection\", got \"attnsel.block_mask\""));
  CHECK(contains(selection_error(R"({"version": 1})"), "field 'format' must be \"attnsel.selection\" (missing)"));
  CHECK(contains(selection_error(R"({"format": "attnsel.selection", "version": 2})"), "version 2 is newer than this attnsel reads (1)"));
  CHECK(contains(selection_error(R"({"format": "attnsel.selection", "version": "1"})"), "field 'version' must be a positive integer"));
  std::string t = good_selection;
  auto with = [&](const std::string& from, const std::string& to) {
    std::string u = t;
    const auto at = u.find(from);
    REQUIRE(at != std::string::npos);
    return u.replace(at, from.size(), to);
  };
  CHECK(contains(selection_error(with("\"method\": \"omp\", ", "")), "field 'method' is missing"));
  CHECK(contains(selection_error(with("\"method\": \"omp\"", "\"method\": 3")), "field 'method' must be a string, got 3"));
  CHECK(contains(selection_error(with("[4, 0, 2]", "[4, -1, 2]")), "features[1] must be a non-negative integer, got -1"));
  CHECK(contains(selection_error(with("[4, 0, 2]", "[4, 0.5, 2]")), "features[1] must be a non-negative integer, got 0.5"));
  CHECK(contains(selection_error(with("[4, 0, 2]", "[4, 0, 4]")), "feature 4 appears twice"));
  CHECK(contains(selection_error(with("[\"e\", \"a\", \"c\"]", "[\"e\", \"a\"]")), "field 'feature_names' holds 2 names for 3 features"));
  CHECK(contains(selection_error(with("[\"e\", \"a\", \"c\"]", "[\"e\", 1, \"c\"]")), "feature_names[1] must be a string, got 1"));
  CHECK(contains(selection_error(with("\"features_from_training\": 3", "\"features_from_training\": 4")),
                 "field 'features_from_training' is 4, more than the 3 features"));
  CHECK(contains(selection_error(with("[1.5, 0.25]", "[1.5, null]")), "losses[1] must be a number, got null"));
  // A file that is not there.
  try {
    (void)load_selection<float>(temp_path("does_not_exist.json"));
    FAIL("no exception");
  } catch (const parse_error& e) {
    CHECK(contains(e.what(), "cannot open the file"));
  }
}

TEST_CASE("a failed save leaves the existing file as it was", "[io][json]") {
  const std::string p = temp_path("kept.json");
  Selection<double> s;
  s.features = {1, 2};
  s.method = "omp";
  save_selection(s, p);
  const std::string before = read_text(p);
  s.feature_names = {"only one"};
  const std::string m = attnsel_test::invalid_argument_message([&] { save_selection(s, p); });
  CHECK(contains(m, "attnsel::save_selection: the selection has 1 feature names for 2 features"));
  CHECK(read_text(p) == before);
  s.feature_names.clear();
  CHECK_THROWS_AS(save_selection(s, temp_path("no_such_dir/x.json")), std::runtime_error);
}

TEST_CASE("an SA++ block mask round-trips through JSON", "[io][json]") {
  // A real mask: SA++'s grid over a 10 x 7 layer in 4 x 3 blocks (3 x 3 grid, partial edge blocks).
  const BlockGrid grid(10, 7, 4, 3);
  BlockMask mask = BlockMask::Constant(grid.grid_rows(), grid.grid_cols(), false);
  mask(0, 1) = mask(2, 2) = mask(1, 0) = true;
  const std::string p = temp_path("mask.json");
  save_block_mask(grid, mask, p);
  const SavedBlockMask back = load_block_mask(p);
  CHECK(back.grid.rows() == 10);
  CHECK(back.grid.cols() == 7);
  CHECK(back.grid.block_rows() == 4);
  CHECK(back.grid.block_cols() == 3);
  CHECK(back.mask == mask);
  CHECK(contains(read_text(p), "\"010\""));

  const BlockMask wrong = BlockMask::Constant(2, 3, true);
  CHECK(contains(attnsel_test::invalid_argument_message([&] { save_block_mask(grid, wrong, p); }),
                 "argument 'mask' is 2 x 3, the grid has 3 x 3 blocks"));
  CHECK(load_block_mask(p).mask == mask);  // the failed save did not touch the file

  const std::string head = R"({"format": "attnsel.block_mask", "version": 1, "rows": 10, "cols": 7, "block_rows": 4, )";
  CHECK(mask_error(head + R"("block_cols": 3, "mask": ["010", "100", "001"]})").empty());
  CHECK(contains(mask_error(head + R"("block_cols": 0, "mask": []})"), "field 'block_cols' must be a positive integer, got 0"));
  CHECK(contains(mask_error(head + R"("block_cols": 8, "mask": []})"), "blocks of 4 x 8 do not fit a 10 x 7 matrix"));
  CHECK(contains(mask_error(head + R"("block_cols": 3, "mask": ["010", "100"]})"), "field 'mask' has 2 rows, the grid has 3"));
  CHECK(contains(mask_error(head + R"("block_cols": 3, "mask": ["010", "10", "001"]})"),
                 "mask[1] must be a string of 3 characters 0/1, got \"10\""));
  CHECK(contains(mask_error(head + R"("block_cols": 3, "mask": ["010", "1x0", "001"]})"), "mask[1] holds 'x' at 1, expected 0 or 1"));
  CHECK(contains(mask_error(head + R"("block_cols": 3})"), "field 'mask' is missing"));
}
