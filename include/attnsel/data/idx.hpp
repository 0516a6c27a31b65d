// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file data/idx.hpp
/// Reads IDX files (the MNIST format: a big-endian header `0 0 type ndims`, ndims 32-bit sizes,
/// then the values), plain or gzip-compressed. Gzip needs zlib (Debian: zlib1g-dev; the CMake
/// target links it when found): without it a compressed file is a parse_error saying so.
/// Programs that call these readers link zlib (ZLIB::ZLIB, -lz); merely including the header
/// does not.
///
/// Errors are `attnsel::parse_error` (line 0, column = byte offset + 1): a bad magic number, an
/// unknown type code, a size product that overflows, a file shorter or longer than its header
/// says, a non-finite float value.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <iterator>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "../error.hpp"
#include "../types.hpp"
#include "dataset.hpp"

#if __has_include(<zlib.h>)
#include <zlib.h>
#define ATTNSEL_HAS_ZLIB 1
#else
#define ATTNSEL_HAS_ZLIB 0
#endif

ATTNSEL_NAMESPACE_BEGIN

/// A decoded IDX file: its dimensions and its values as double.
struct IdxArray {
  std::vector<std::size_t> dims;
  /// 0x08 ubyte, 0x09 sbyte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.
  std::uint8_t type = 0;
  std::vector<double> values;
};

namespace detail {

/// The whole file, decompressed when it is gzip (zlib reads plain files unchanged).
inline std::vector<unsigned char> read_file_bytes(const std::string& path) {
  std::vector<unsigned char> bytes;
#if ATTNSEL_HAS_ZLIB
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw parse_error(path, 0, 0, "cannot open the file");
  unsigned char buf[1 << 16];
  for (;;) {
    const int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      int err = 0;
      const std::string msg = gzerror(f, &err);
      gzclose(f);
      throw parse_error(path, 0, bytes.size() + 1, "cannot decompress: " + msg);
    }
    if (n == 0) break;
    bytes.insert(bytes.end(), buf, buf + n);
  }
  int err = 0;
  const char* msg = gzerror(f, &err);
  const std::string why = msg ? msg : "";
  gzclose(f);
  if (err != Z_OK && err != Z_STREAM_END) throw parse_error(path, 0, bytes.size() + 1, "cannot decompress: " + why);
#else
  std::ifstream f(path, std::ios::binary);
  if (!f) throw parse_error(path, 0, 0, "cannot open the file");
  bytes.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  if (bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b)
    throw parse_error(path, 0, 1, "the file is gzip-compressed and attnsel was compiled without zlib");
#endif
  return bytes;
}

inline std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | std::uint32_t(p[3]);
}

inline IdxArray parse_idx(const std::vector<unsigned char>& b, const std::string& path) {
  if (b.size() < 4) throw parse_error(path, 0, 1, concat("the file has ", b.size(), " bytes, too short for an IDX header"));
  if (b[0] != 0 || b[1] != 0) throw parse_error(path, 0, 1, "not an IDX file (the magic number must start with two zero bytes)");
  IdxArray out;
  out.type = b[2];
  std::size_t width = 0;
  switch (out.type) {
    case 0x08: case 0x09: width = 1; break;
    case 0x0B: width = 2; break;
    case 0x0C: case 0x0D: width = 4; break;
    case 0x0E: width = 8; break;
    default: throw parse_error(path, 0, 3, concat("unknown IDX type code ", int(out.type)));
  }
  const std::size_t nd = b[3];
  if (nd == 0) throw parse_error(path, 0, 4, "an IDX file needs at least one dimension");
  if (b.size() < 4 + 4 * nd) throw parse_error(path, 0, b.size() + 1, "the file ends inside the IDX header");
  std::size_t count = 1;
  for (std::size_t i = 0; i < nd; ++i) {
    const std::size_t d = be32(&b[4 + 4 * i]);
    if (d != 0 && count > std::numeric_limits<std::size_t>::max() / d / width)
      throw parse_error(path, 0, 5 + 4 * i, "the IDX dimensions are too large");
    count *= d;
    out.dims.push_back(d);
  }
  const std::size_t header = 4 + 4 * nd;
  const std::size_t expect = header + count * width;
  if (b.size() != expect)
    throw parse_error(path, 0, std::min(b.size(), expect) + 1,
                      concat("the header announces ", count, " values (", expect, " bytes), the file has ", b.size(), " bytes"));
  out.values.resize(count);
  const unsigned char* p = b.data() + header;
  for (std::size_t i = 0; i < count; ++i, p += width) {
    double v = 0;
    switch (out.type) {
      case 0x08: v = double(p[0]); break;
      case 0x09: v = double(static_cast<std::int8_t>(p[0])); break;
      case 0x0B: v = double(static_cast<std::int16_t>((std::uint16_t(p[0]) << 8) | p[1])); break;
      case 0x0C: v = double(static_cast<std::int32_t>(be32(p))); break;
      case 0x0D: {
        const std::uint32_t u = be32(p);
        float f;
        std::memcpy(&f, &u, 4);
        v = double(f);
        break;
      }
      default: {
        const std::uint64_t u = (std::uint64_t(be32(p)) << 32) | be32(p + 4);
        std::memcpy(&v, &u, 8);
      }
    }
    if (!std::isfinite(v)) throw parse_error(path, 0, header + i * width + 1, concat("value ", i, " is not finite"));
    out.values[i] = v;
  }
  return out;
}

}  // namespace detail

/// Reads an IDX file (plain or gzip).
inline IdxArray read_idx(const std::string& path) { return detail::parse_idx(detail::read_file_bytes(path), path); }

/// An IDX file as a matrix: the first dimension gives the rows, the others are flattened into
/// the columns (a 1-D file gives one column); every value is multiplied by `scale`.
template <class T = float>
RowMatrix<T> read_idx_matrix(const std::string& path, T scale = T(1)) {
  const IdxArray a = read_idx(path);
  std::size_t cols = 1;
  for (std::size_t i = 1; i < a.dims.size(); ++i) cols *= a.dims[i];
  RowMatrix<T> M(Index(a.dims[0]), Index(cols));
  for (std::size_t i = 0; i < a.values.size(); ++i) M.data()[i] = T(a.values[i] * double(scale));
  return M;
}

/// An image file and a label file (MNIST layout) as a classification Dataset; pixels are
/// multiplied by `scale` (default 1/255 → [0, 1]). Classes are the sorted distinct labels.
/// @throws parse_error as read_idx, or when the label file is not 1-D, its count differs from the
///         image count, or a label is not a non-negative integer.
template <class T = float>
Dataset<T> read_idx_dataset(const std::string& images, const std::string& labels, T scale = T(1.0 / 255.0)) {
  Dataset<T> d;
  d.X = read_idx_matrix<T>(images, scale);
  const IdxArray l = read_idx(labels);
  if (l.dims.size() != 1) throw parse_error(labels, 0, 4, detail::concat("a label file has 1 dimension, this one has ", l.dims.size()));
  if (Index(l.dims[0]) != d.X.rows())
    throw parse_error(labels, 0, 5, detail::concat("the file has ", l.dims[0], " labels for ", d.X.rows(), " images in ", images));
  std::vector<long> seen;
  for (double v : l.values) {
    if (v < 0 || v != std::floor(v) || v > 1e6) throw parse_error(labels, 0, 0, detail::concat("label ", v, " is not a class id"));
    seen.push_back(long(v));
  }
  std::sort(seen.begin(), seen.end());
  seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
  for (long c : seen) d.classes.push_back(std::to_string(c));
  d.y.resize(d.X.rows());
  for (Index i = 0; i < d.X.rows(); ++i)
    d.y(i) = T(std::lower_bound(seen.begin(), seen.end(), long(l.values[std::size_t(i)])) - seen.begin());
  for (Index j = 0; j < d.X.cols(); ++j) d.feature_names.push_back("pixel" + std::to_string(j));
  d.task = Task::classification;
  return d;
}

ATTNSEL_NAMESPACE_END
