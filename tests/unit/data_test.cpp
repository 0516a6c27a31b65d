// Data floor: the CSV dialects real files use, label mapping, errors with file/line/column,
// scalers, one-hot, seeded stratified splits, IDX (plain and gzip), and the bundled tables.
#include "../catch_compat.hpp"

#include <attnsel/attnsel.hpp>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <zlib.h>

using namespace attnsel;
using M = RowMatrix<double>;

namespace {

Dataset<double> csv(const std::string& text, CsvOptions opt = {}) {
  std::istringstream in(text);
  return read_csv<double>(in, opt, "t.csv");
}

/// Runs f, expecting a parse_error; returns its message ("" if none was thrown).
template <class F>
std::string parse_message(F&& f, std::size_t* line = nullptr, std::size_t* column = nullptr) {
  try {
    f();
  } catch (const parse_error& e) {
    if (line) *line = e.line();
    if (column) *column = e.column();
    return e.what();
  }
  return "";
}

std::string temp_path(const std::string& name) { return std::string(ATTNSEL_TEST_TMP_DIR) + "/" + name; }

void write_bytes(const std::string& path, const std::vector<unsigned char>& b, bool gz) {
  if (gz) {
    gzFile f = gzopen(path.c_str(), "wb");
    REQUIRE(f != nullptr);
    REQUIRE(gzwrite(f, b.data(), static_cast<unsigned>(b.size())) == static_cast<int>(b.size()));
    gzclose(f);
  } else {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  }
}

std::vector<unsigned char> idx_header(unsigned char type, std::vector<std::uint32_t> dims) {
  std::vector<unsigned char> b{0, 0, type, static_cast<unsigned char>(dims.size())};
  for (auto d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<unsigned char>((d >> s) & 0xff));
  return b;
}

}  // namespace

TEST_CASE("CSV: header, quotes, CRLF, BOM, comments, blank lines", "[data][csv]") {
  const std::string text =
      "\xEF\xBB\xBF# a comment line\r\n"
      "\"a, the first\",b,\"class\"\r\n"
      "\r\n"
      "1.5,\"2\",\"spam, \"\"quoted\"\"\"\r\n"
      "  -3e2 , +4 ,ham\r\n"
      "5,6,\"multi\nline\"\n";
  const Dataset<double> d = csv(text);
  CHECK(d.feature_names == std::vector<std::string>{"a, the first", "b"});
  REQUIRE(d.rows() == 3);
  CHECK(d.X(0, 0) == 1.5);
  CHECK(d.X(0, 1) == 2.0);
  CHECK(d.X(1, 0) == -300.0);
  CHECK(d.X(1, 1) == 4.0);
  CHECK(d.classes == std::vector<std::string>{"ham", "multi\nline", "spam, \"quoted\""});
  CHECK(d.y(0) == 2.0);
  CHECK(d.y(1) == 0.0);
  CHECK(d.y(2) == 1.0);
}

TEST_CASE("CSV: R and pandas files (row-name column, NA, quoted strings)", "[data][csv]") {
  // write.csv(df) in R: quoted header, an unnamed row-name column, NA for missing values.
  const std::string r = "\"\",\"x1\",\"x2\",\"soil\"\n\"1\",0.5,NA,\"red soil\"\n\"2\",1.5,2,\"grey soil\"\n\"3\",2.5,4,\"red soil\"\n";
  CsvOptions opt;
  opt.label = "soil";
  opt.impute_mean = true;
  const Dataset<double> d = csv(r, opt);
  CHECK(d.feature_names == std::vector<std::string>{"x1", "x2"});
  CHECK(d.X(0, 1) == 3.0);  // mean of 2 and 4
  CHECK(d.classes == std::vector<std::string>{"grey soil", "red soil"});
  CHECK(d.y(0) == 1.0);
  // pandas to_csv(): an index column with an empty name, empty cells for NaN.
  const std::string pd = ",f,g,target\n0,1.0,,M\n1,2.0,3.0,R\n";
  CsvOptions po;
  po.impute_mean = true;
  const Dataset<double> p = csv(pd, po);
  CHECK(p.features() == 2);
  CHECK(p.X(0, 1) == 3.0);
  CHECK(p.classes == std::vector<std::string>{"M", "R"});
}

TEST_CASE("CSV: label by name or index, numeric class order, regression, dropped columns", "[data][csv]") {
  const std::string text = "id,label,v\n7,10,0.1\n8,2,0.2\n9,2,0.3\n10,1,0.4\n";
  CsvOptions opt;
  opt.label_index = 1;
  opt.drop = {"id"};
  const Dataset<double> d = csv(text, opt);
  CHECK(d.feature_names == std::vector<std::string>{"v"});
  CHECK(d.classes == std::vector<std::string>{"1", "2", "10"});  // numeric, not string, order
  CHECK(d.y(0) == 2.0);
  CHECK(d.y(3) == 0.0);
  opt.label_index = -1;
  opt.task = Task::regression;
  opt.drop = {};
  const Dataset<double> r = csv(text, opt);
  CHECK(r.task == Task::regression);
  CHECK(r.y(2) == 0.3);
  CHECK(r.classes.empty());
  CHECK(r.features() == 2);
  CsvOptions nh;
  nh.header = false;
  const Dataset<double> h = csv("1,2,a\n3,4,b\n", nh);
  CHECK(h.feature_names == std::vector<std::string>{"x0", "x1"});
  CHECK(h.rows() == 2);
}

TEST_CASE("CSV: malformed input gives parse_error with file, line and column", "[data][csv][errors]") {
  std::size_t line = 0, col = 0;
  std::string m = parse_message([] { csv("a,b,c\n1,2,x\n3,4\n"); }, &line, &col);
  CHECK(m.find("t.csv:3:") == 0);
  CHECK(m.find("2 fields, expected 3") != std::string::npos);
  CHECK(line == 3);
  m = parse_message([] { csv("a,b,c\n1,2,x\n3,abc,y\n"); }, &line, &col);
  CHECK(m.find("feature 'b' is not a number: 'abc'") != std::string::npos);
  CHECK(line == 3);
  CHECK(col == 2);
  m = parse_message([] { csv("a,b,c\n1,NA,x\n"); }, &line, &col);
  CHECK(m.find("'b' is missing") != std::string::npos);
  CHECK(m.find("impute_mean") != std::string::npos);
  CHECK(col == 2);
  m = parse_message([] { csv("a,c\n1,\"x\n2,y\n"); });
  CHECK(m.find("unterminated quoted field") != std::string::npos);
  m = parse_message([] { csv("a,c\n1,\"x\"z\n"); });
  CHECK(m.find("after a closing quote") != std::string::npos);
  m = parse_message([] { csv("a,c\n1e999,x\n"); });
  CHECK(m.find("not finite") != std::string::npos);
  m = parse_message([] { csv("a,c\ninf,x\n"); });
  CHECK(m.find("not finite") != std::string::npos);
  m = parse_message([] { csv("a,c\n1,\n"); }, &line, &col);
  CHECK(m.find("label 'c' is missing") != std::string::npos);
  CHECK(col == 2);
  CHECK(parse_message([] { csv(""); }).find("no header row") != std::string::npos);
  CHECK(parse_message([] { csv("a,b\n# only a comment\n"); }).find("no data rows") != std::string::npos);
  CsvOptions reg;
  reg.task = Task::regression;
  CHECK(parse_message([&] { csv("a,y\n1,high\n", reg); }).find("regression target 'y' is not a finite number") !=
        std::string::npos);
  CsvOptions lab;
  lab.label = "type";
  ATTNSEL_CHECK_INVALID(csv("a,b\n1,2\n", lab), "option 'label' is 'type'", "columns: a, b");
  CsvOptions idx;
  idx.label_index = 5;
  ATTNSEL_CHECK_INVALID(csv("a,b\n1,2\n", idx), "'label_index' is 5", "2 columns");
  CHECK(parse_message([] { read_csv<double>(std::string("/nonexistent/x.csv")); }).find("cannot open") != std::string::npos);
  CsvOptions all_missing;
  all_missing.impute_mean = true;
  CHECK(parse_message([&] { csv("a,b,c\nNA,1,x\n?,2,y\n", all_missing); }).find("no value to impute") != std::string::npos);
}

TEST_CASE("the bundled real tables load", "[data][csv]") {
  const std::string dir = ATTNSEL_DATA_DIR;
  CsvOptions bc;
  bc.label = "diagnosis";
  const Dataset<float> b = read_csv<float>(dir + "/breast_cancer.csv", bc);
  CHECK(b.rows() == 569);
  CHECK(b.features() == 30);
  CHECK(b.classes == std::vector<std::string>{"benign", "malignant"});
  CHECK((b.y.array() == 0.0f).count() == 357);  // 357 benign, 212 malignant
  const Dataset<double> w = read_csv<double>(dir + "/wine.csv");
  CHECK(w.rows() == 178);
  CHECK(w.features() == 13);
  CHECK(w.classes == std::vector<std::string>{"1", "2", "3"});
  const Dataset<float> g = read_csv<float>(dir + "/digits.csv");
  CHECK(g.rows() == 1797);
  CHECK(g.features() == 64);
  CHECK(g.class_count() == 10);
  CHECK(g.X.maxCoeff() == 16.0f);
  CsvOptions rg;
  rg.task = Task::regression;
  const Dataset<double> d = read_csv<double>(dir + "/diabetes.csv", rg);
  CHECK(d.rows() == 442);
  CHECK(d.features() == 10);
  CHECK(d.y.minCoeff() == 25.0);
  CHECK(d.y.maxCoeff() == 346.0);
}

TEST_CASE("scalers are fitted on train, applied to test, and survive constant columns", "[data]") {
  M train(4, 3), test(2, 3);
  train << 1, 5, 10, 2, 5, 20, 3, 5, 30, 4, 5, 40;
  test << 5, 5, 50, 0, 7, 0;
  Standardizer<double> s;
  const M z = s.fit_transform(train);
  CHECK(z.col(0).mean() == Catch::Detail::Approx(0.0).margin(1e-12));
  CHECK((z.col(0).array().square().mean()) == Catch::Detail::Approx(1.0));
  CHECK(z.col(1).cwiseAbs().maxCoeff() == 0.0);  // constant column: centred, not divided by 0
  const M zt = s.transform(test);
  CHECK(zt.allFinite());
  CHECK(zt(1, 1) == 2.0);  // (7 - 5) / 1
  CHECK(zt(0, 0) == Catch::Detail::Approx((5 - 2.5) / std::sqrt(1.25)));
  ATTNSEL_CHECK_INVALID(s.transform(M::Zero(1, 2)), "'X' has 2 columns", "fitted on 3");
  ATTNSEL_CHECK_INVALID(Standardizer<double>().transform(test), "call fit first");
  MinMaxScaler<double> mm;
  const M u = mm.fit_transform(train);
  CHECK(u.col(2).minCoeff() == 0.0);
  CHECK(u.col(2).maxCoeff() == 1.0);
  CHECK(u.col(1).cwiseAbs().maxCoeff() == 0.0);
  MinMaxScaler<double> global(true);
  CHECK(global.fit_transform(train).maxCoeff() == 1.0);
  M y(3, 1);
  y << 2, 0, 1;
  const M oh = one_hot(y, 3);
  CHECK(oh.row(0) == (M(1, 3) << 0, 0, 1).finished());
  ATTNSEL_CHECK_INVALID(one_hot(y, 2), "'y' holds 2", "[0, 2)");
}

TEST_CASE("stratified splits keep class proportions, are seeded, and partition the rows", "[data][split]") {
  Dataset<double> d;
  d.X = M(100, 1);
  d.y.resize(100);
  for (int i = 0; i < 100; ++i) {
    d.X(i, 0) = i;
    d.y(i) = i < 80 ? 0 : 1;
  }
  d.classes = {"a", "b"};
  const auto s1 = stratified_split(d, 0.25, 7);
  const auto s2 = stratified_split(d, 0.25, 7);
  const auto s3 = stratified_split(d, 0.25, 8);
  CHECK(s1.test.rows() == 25);
  CHECK((s1.test.y.array() == 1.0).count() == 5);  // 25 % of the 20 rows of class b
  CHECK(s1.test.X == s2.test.X);
  CHECK(s1.test.X != s3.test.X);
  std::set<double> all;
  for (int i = 0; i < s1.train.rows(); ++i) all.insert(s1.train.X(i, 0));
  for (int i = 0; i < s1.test.rows(); ++i) all.insert(s1.test.X(i, 0));
  CHECK(all.size() == 100);
  const auto t = stratified_split(d, 0.1, 0.2, 3);
  CHECK(t.train.rows() + t.validation.rows() + t.test.rows() == 100);
  CHECK(t.validation.rows() == 10);
  CHECK(t.test.rows() == 20);
  CHECK((t.validation.y.array() == 1.0).count() == 2);
  ATTNSEL_CHECK_INVALID(stratified_split(d, 1.0, 1), "'test_fraction' is 1");
  ATTNSEL_CHECK_INVALID(stratified_split(d, 0.6, 0.5, 1), "validation_fraction + test_fraction is 1.1");
}

TEST_CASE("IDX files, plain and gzip, and their errors", "[data][idx]") {
  // 3 images of 2x2 ubyte pixels and 3 labels.
  std::vector<unsigned char> img = idx_header(0x08, {3, 2, 2});
  for (int i = 0; i < 12; ++i) img.push_back(static_cast<unsigned char>(i * 20));
  std::vector<unsigned char> lab = idx_header(0x08, {3});
  lab.insert(lab.end(), {7, 3, 7});
  for (bool gz : {false, true}) {
    const std::string ip = temp_path(gz ? "img.idx.gz" : "img.idx"), lp = temp_path(gz ? "lab.idx.gz" : "lab.idx");
    write_bytes(ip, img, gz);
    write_bytes(lp, lab, gz);
    const Dataset<float> d = read_idx_dataset<float>(ip, lp);
    CHECK(d.rows() == 3);
    CHECK(d.features() == 4);
    CHECK(d.X(2, 3) == Catch::Detail::Approx(220.0 / 255.0));
    CHECK(d.classes == std::vector<std::string>{"3", "7"});
    CHECK(d.y(0) == 1.0f);
    CHECK(d.y(1) == 0.0f);
  }
  // float32 and int16 values
  std::vector<unsigned char> f = idx_header(0x0D, {2});
  f.insert(f.end(), {0x3f, 0xc0, 0, 0, 0xc0, 0x20, 0, 0});  // 1.5, -2.5
  write_bytes(temp_path("f.idx"), f, false);
  const IdxArray a = read_idx(temp_path("f.idx"));
  CHECK(a.values == std::vector<double>{1.5, -2.5});
  std::vector<unsigned char> s = idx_header(0x0B, {1});
  s.insert(s.end(), {0xff, 0xfe});  // -2
  write_bytes(temp_path("s.idx"), s, false);
  CHECK(read_idx(temp_path("s.idx")).values == std::vector<double>{-2.0});

  auto msg = [](const std::vector<unsigned char>& b) {
    write_bytes(temp_path("bad.idx"), b, false);
    return parse_message([] { read_idx(temp_path("bad.idx")); });
  };
  CHECK(msg({1, 0, 8, 1}).find("not an IDX file") != std::string::npos);
  CHECK(msg({0, 0, 0x42, 1, 0, 0, 0, 1, 0}).find("unknown IDX type code 66") != std::string::npos);
  std::vector<unsigned char> short_file = idx_header(0x08, {4});
  short_file.push_back(1);
  CHECK(msg(short_file).find("announces 4 values") != std::string::npos);
  std::vector<unsigned char> long_file = idx_header(0x08, {1});
  long_file.insert(long_file.end(), {1, 2});
  CHECK(msg(long_file).find("the file has 10 bytes") != std::string::npos);
  CHECK(msg({0, 0}).find("too short") != std::string::npos);
  std::vector<unsigned char> nan_file = idx_header(0x0D, {1});
  nan_file.insert(nan_file.end(), {0x7f, 0xc0, 0, 0});
  CHECK(msg(nan_file).find("not finite") != std::string::npos);
  // label count mismatch
  write_bytes(temp_path("img.idx"), img, false);
  std::vector<unsigned char> lab2 = idx_header(0x08, {2});
  lab2.insert(lab2.end(), {1, 2});
  write_bytes(temp_path("lab2.idx"), lab2, false);
  CHECK(parse_message([] { read_idx_dataset<float>(temp_path("img.idx"), temp_path("lab2.idx")); })
            .find("2 labels for 3 images") != std::string::npos);
  // a truncated gzip stream
  write_bytes(temp_path("t.idx.gz"), img, true);
  std::ifstream in(temp_path("t.idx.gz"), std::ios::binary);
  std::vector<char> gzbytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream out(temp_path("t.idx.gz"), std::ios::binary | std::ios::trunc);
  out.write(gzbytes.data(), static_cast<std::streamsize>(gzbytes.size() / 2));
  out.close();
  CHECK_FALSE(parse_message([] { read_idx(temp_path("t.idx.gz")); }).empty());
}

namespace {

/// One gzip member holding `b`, compressed in memory.
std::vector<unsigned char> gzip_bytes(const std::vector<unsigned char>& b) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::vector<unsigned char> out(deflateBound(&z, static_cast<uLong>(b.size())) + 32);
  z.next_in = const_cast<Bytef*>(b.data());
  z.avail_in = static_cast<uInt>(b.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  return out;
}

std::string decode_message(const std::vector<unsigned char>& b, IdxOptions opt = {}) {
  return parse_message([&] { decode_idx(b.data(), b.size(), "mem", opt); });
}

}  // namespace

// idx_without_zlib.cpp: the same reader compiled with ATTNSEL_WITH_ZLIB=0, linked into this binary.
attnsel::IdxArray decode_idx_without_zlib(const unsigned char* data, std::size_t size);

TEST_CASE("the gzip switch is per TU and both readers coexist in one program", "[data][idx]") {
  static_assert(ATTNSEL_HAS_ZLIB == 1, "the tests are built with zlib");
  std::vector<unsigned char> b = idx_header(0x08, {3});
  b.insert(b.end(), {7, 8, 9});
  const std::vector<unsigned char> gz = gzip_bytes(b);
  // This TU inflates; the other one says it cannot, and neither copy replaced the other.
  CHECK(decode_idx(gz.data(), gz.size()).values == std::vector<double>{7, 8, 9});
  CHECK(decode_idx_without_zlib(b.data(), b.size()).values == std::vector<double>{7, 8, 9});
  const std::string msg = parse_message([&] { decode_idx_without_zlib(gz.data(), gz.size()); });
  CHECK(msg.find("without gzip support") != std::string::npos);
  CHECK(msg.find("ATTNSEL_WITH_ZLIB") != std::string::npos);
  CHECK(decode_idx(gz.data(), gz.size()).values == std::vector<double>{7, 8, 9});
}

TEST_CASE("decode_idx: IDX bytes in memory, plain, gzip, concatenated members", "[data][idx]") {
  std::vector<unsigned char> b = idx_header(0x0B, {2, 2});
  b.insert(b.end(), {0x00, 0x01, 0xff, 0xfe, 0x7f, 0xff, 0x80, 0x00});  // 1, -2, 32767, -32768
  const std::vector<double> want{1, -2, 32767, -32768};
  const IdxArray plain = decode_idx(b.data(), b.size());
  CHECK(plain.dims == std::vector<std::size_t>{2, 2});
  CHECK(plain.type == 0x0B);
  CHECK(plain.values == want);
  const std::vector<unsigned char> z = gzip_bytes(b);
  CHECK(decode_idx(z.data(), z.size()).values == want);
  // Two members (split inside the header) decode as one stream; trailing garbage is ignored.
  std::vector<unsigned char> two = gzip_bytes({b.begin(), b.begin() + 6});
  const std::vector<unsigned char> rest = gzip_bytes({b.begin() + 6, b.end()});
  two.insert(two.end(), rest.begin(), rest.end());
  CHECK(decode_idx(two.data(), two.size()).values == want);
  two.insert(two.end(), {'j', 'u', 'n', 'k'});
  CHECK(decode_idx(two.data(), two.size()).values == want);
  // idx_matrix of the decoded array
  const RowMatrix<float> m = idx_matrix<float>(plain);
  CHECK(m.rows() == 2);
  CHECK(m(1, 1) == -32768.0f);
  // the path reader goes through the same code
  write_bytes(temp_path("mem.idx.gz"), b, true);
  CHECK(read_idx(temp_path("mem.idx.gz")).values == want);
}

TEST_CASE("decode_idx: truncated or corrupt gzip and decompression bombs give parse_error", "[data][idx][errors]") {
  std::vector<unsigned char> b = idx_header(0x08, {64, 64});
  b.resize(b.size() + 64 * 64, 7);
  const std::vector<unsigned char> z = gzip_bytes(b);
  const std::vector<unsigned char> cut(z.begin(), z.begin() + static_cast<std::ptrdiff_t>(z.size() / 2));
  CHECK(decode_message(cut).find("mem:0:") == 0);
  CHECK(decode_message(cut).find("truncated") != std::string::npos);
  std::vector<unsigned char> corrupt = z;
  corrupt[12] ^= 0xff;
  corrupt[13] ^= 0xff;
  CHECK_FALSE(decode_message(corrupt).empty());
  // 4 KB of IDX from about 40 bytes of gzip: over a 1000-byte cap, for plain and gzip input.
  IdxOptions small;
  small.max_bytes = 1000;
  CHECK(decode_message(z, small).find("exceeds the limit of 1000 bytes") != std::string::npos);
  CHECK(decode_message(b, small).find("exceeds the limit of 1000 bytes") != std::string::npos);
  CHECK(decode_idx(z.data(), z.size()).values.size() == 64 * 64);  // the default cap is 1 GiB
  CHECK(decode_message({}).find("too short") != std::string::npos);
  CHECK(decode_message({0x1f, 0x8b}).find("truncated") != std::string::npos);
}

// Regressions found by fuzz/ (fuzz_idx, fuzz_csv; 2026-11-23).
TEST_CASE("fuzz regressions: IDX shapes with a zero dimension, out-of-range values", "[data][idx][errors][fuzz]") {
  // 0 x 5 x 587202560 ubyte: no data, but a 0 x 2.9e9 matrix that was slow to loop over (and
  // 2.9e9 feature names in idx_dataset). The announced shape must now fit IdxOptions::max_bytes.
  std::vector<unsigned char> empty = idx_header(0x08, {0, 5, 0x23000000});
  CHECK(decode_message(empty).find("dimensions are too large") != std::string::npos);
  // ... even with a huge limit: the product must also fit an Index.
  IdxOptions huge;
  huge.max_bytes = ~std::size_t(0);
  CHECK(decode_message(idx_header(0x0E, {0, 0xffffffff, 0xffffffff, 0xffffffff}), huge).find("too large") !=
        std::string::npos);
  // A zero-row image array is fine as an array, not as a data set.
  const std::vector<unsigned char> none = idx_header(0x08, {0, 2, 2});
  const IdxArray images = decode_idx(none.data(), none.size());
  CHECK(idx_matrix<float>(images).rows() == 0);
  const std::vector<unsigned char> nolab = idx_header(0x08, {0});
  const IdxArray labels = decode_idx(nolab.data(), nolab.size());
  CHECK(parse_message([&] { idx_dataset<float>(images, labels, 1.0f, "img", "lab"); }).find("img:0:5: the file has no images") !=
        std::string::npos);
  // A finite float64 beyond float's range is a parse_error for float, a value for double.
  std::vector<unsigned char> big = idx_header(0x0E, {1});
  big.insert(big.end(), {0x7f, 0xe1, 0xcc, 0xf3, 0x85, 0xeb, 0xc8, 0xa0});  // 1e308
  const IdxArray a = decode_idx(big.data(), big.size());
  CHECK(parse_message([&] { idx_matrix<float>(a, 1.0f, "big"); }).find("not finite in this precision") != std::string::npos);
  CHECK(idx_matrix<double>(a)(0, 0) == 1e308);
  IdxArray hand;
  hand.dims = {2, 2};
  hand.values = {1, 2, 3};
  ATTNSEL_CHECK_INVALID(idx_matrix<float>(hand), "attnsel::idx_matrix", "3 values");
}

TEST_CASE("fuzz regressions: CSV regression targets beyond float, '+-' numbers", "[data][csv][errors][fuzz]") {
  CsvOptions reg;
  reg.task = Task::regression;
  // fuzz_csv: "206.e300" became an infinite float target without an error.
  std::istringstream in("a,y\n1,151.0\n2,206.e300\n");
  CHECK(parse_message([&] { read_csv<float>(in, reg, "t.csv"); }).find("t.csv:3:2: the regression target 'y' is not a finite number") ==
        0);
  CHECK(csv("a,y\n1,151.0\n2,206.e300\n", reg).y(1) == 206e300);  // fine in double
  CHECK(parse_message([] { csv("a,c\n+-1,x\n"); }).find("feature 'a' is not a number: '+-1'") != std::string::npos);
  CHECK(csv("a,c\n+1,x\n-1,y\n").X(0, 0) == 1.0);
}

TEST_CASE("spread_windows: windows spread evenly over a stream, all of them at 0", "[data][text]") {
  std::vector<std::int32_t> stream(101);  // 10 tiles of 10 (the last token only a target)
  for (std::size_t i = 0; i < stream.size(); ++i) stream[i] = std::int32_t(i);
  // Every tile, 4 at a time: the inputs of window w are 10w .. 10w + 9, its targets shifted by one.
  const auto all = attnsel::spread_windows(stream, 4, 10);
  REQUIRE(all.size() == 3);
  CHECK(all[2].batch == 2);
  std::vector<std::int32_t> starts;
  for (const auto& b : all)
    for (attnsel::Index w = 0; w < b.batch; ++w) {
      starts.push_back(b.inputs[std::size_t(w * 10)]);
      CHECK(b.targets[std::size_t(w * 10 + 9)] == b.inputs[std::size_t(w * 10)] + 10);
    }
  CHECK(starts == std::vector<std::int32_t>{0, 10, 20, 30, 40, 50, 60, 70, 80, 90});
  // 3 windows: tiles 0, 3 and 6 (floor(i * 10 / 3)), not the first three.
  starts.clear();
  for (const auto& b : attnsel::spread_windows(stream, 2, 10, 3))
    for (attnsel::Index w = 0; w < b.batch; ++w) starts.push_back(b.inputs[std::size_t(w * 10)]);
  CHECK(starts == std::vector<std::int32_t>{0, 30, 60});
  // More windows than tiles: every tile once.
  CHECK(attnsel::spread_windows(stream, 16, 10, 50).front().batch == 10);
  CHECK_THAT(attnsel_test::invalid_argument_message([&] { attnsel::spread_windows(stream, 2, 10, -1); }),
             Catch::Matchers::Contains("argument 'windows' is -1"));
  CHECK_THAT(attnsel_test::invalid_argument_message([&] { attnsel::spread_windows(stream, 2, 200); }),
             Catch::Matchers::Contains("fewer than seq_len + 1 = 201"));
}
