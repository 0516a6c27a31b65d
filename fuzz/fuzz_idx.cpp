// libFuzzer target: attnsel::decode_idx (plain and gzip), idx_matrix and idx_dataset. The first
// byte chooses a mode, the second a split point; the rest is the data:
//   mode 0  decode the bytes as they are (gzip when they start 1f 8b: corrupt gzip is reached
//           this way),
//   mode 1  gzip-compress the bytes in memory first, so the IDX parser behind the gzip path sees
//           well-formed compressed input (and must agree with decoding the plain bytes),
//   mode 2  the same as two concatenated gzip members, split at the split point,
//   mode 3  images and labels split at the split point, through idx_dataset.
// decode_idx documents parse_error only (idx_matrix also std::invalid_argument for hand-made
// arrays, which decode_idx never returns); anything else, a sanitizer report or a broken
// invariant is a crash.
#include <attnsel/data/idx.hpp>

#include <cmath>
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

using Bytes = std::vector<unsigned char>;

#if ATTNSEL_HAS_ZLIB
/// One gzip member holding `in` (compressed with zlib's deflate; level from `level`).
Bytes gzip(const unsigned char* in, std::size_t size, int level) {
  z_stream z{};
  check(deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  Bytes out(deflateBound(&z, uLong(size)) + 32);
  z.next_in = const_cast<Bytef*>(in);
  z.avail_in = uInt(size);
  z.next_out = out.data();
  z.avail_out = uInt(out.size());
  check(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  return out;
}
#else
Bytes gzip(const unsigned char* in, std::size_t size, int) { return Bytes(in, in + size); }
#endif

void check_array(const attnsel::IdxArray& a) {
  check(!a.dims.empty() && a.dims.size() <= 255);
  std::size_t n = 1;
  for (std::size_t d : a.dims) n *= d;  // cannot overflow: decode_idx checked the product
  check(n == a.values.size());
  const std::uint8_t t = a.type;
  check(t == 0x08 || t == 0x09 || t == 0x0B || t == 0x0C || t == 0x0D || t == 0x0E);
  for (double v : a.values) check(std::isfinite(v));
}

bool decode(const Bytes& b, const attnsel::IdxOptions& opt, attnsel::IdxArray& out) {
  try {
    out = attnsel::decode_idx(b.data(), b.size(), "<fuzz>", opt);
  } catch (const attnsel::parse_error& e) {
    check(e.what()[0] != '\0');
    return false;
  }
  check_array(out);
  return true;
}

template <class T>
void as_matrix(const attnsel::IdxArray& a) {
  try {
    const attnsel::RowMatrix<T> M = attnsel::idx_matrix<T>(a, T(1), "<fuzz>");
    check(std::size_t(M.size()) == a.values.size());
    check(M.allFinite());
  } catch (const attnsel::parse_error&) {
  }
}

template <class T>
void as_dataset(const attnsel::IdxArray& images, const attnsel::IdxArray& labels) {
  try {
    const attnsel::Dataset<T> d = attnsel::idx_dataset<T>(images, labels);
    check(d.y.size() == d.X.rows());
    check(std::size_t(d.X.cols()) == d.feature_names.size());
    for (attnsel::Index i = 0; i < d.y.size(); ++i) check(d.y(i) >= 0 && d.y(i) < T(d.classes.size()));
  } catch (const attnsel::parse_error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const unsigned mode = data[0] & 3;
  const bool small_limit = (data[0] & 4) != 0;
  const bool as_float = (data[0] & 8) != 0;
  const int level = (data[0] >> 4) % 10;
  const unsigned char* p = data + 2;
  const std::size_t n = size - 2;
  const std::size_t split = n == 0 ? 0 : std::size_t(data[1]) % (n + 1);
  attnsel::IdxOptions opt;
  opt.max_bytes = small_limit ? 64 : std::size_t(1) << 20;

  attnsel::IdxArray a, b;
  switch (mode) {
    case 0:
      if (decode(Bytes(p, p + n), opt, a)) as_float ? as_matrix<float>(a) : as_matrix<double>(a);
      break;
    case 1:
    case 2: {
      Bytes z = gzip(p, mode == 1 ? n : split, level);
      if (mode == 2) {
        const Bytes second = gzip(p + split, n - split, level);
        z.insert(z.end(), second.begin(), second.end());
      }
      const bool ok = decode(z, opt, a);
      // Differential: compressed or not, the same bytes give the same result.
      if (ATTNSEL_HAS_ZLIB && !attnsel::detail::is_gzip(p, n)) {
        const bool plain_ok = decode(Bytes(p, p + n), opt, b);
        check(ok == plain_ok);
        if (ok) check(a.dims == b.dims && a.type == b.type && a.values == b.values);
      }
      if (ok) as_float ? as_matrix<float>(a) : as_matrix<double>(a);
      break;
    }
    default:
      if (decode(Bytes(p, p + split), opt, a) && decode(Bytes(p + split, p + n), opt, b))
        as_float ? as_dataset<float>(a, b) : as_dataset<double>(a, b);
      break;
  }
  return 0;
}
