// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file data/idx.hpp
/// Reads IDX files (the MNIST format: a big-endian header `0 0 type ndims`, ndims 32-bit sizes,
/// then the values), plain or gzip-compressed, from a path (`read_idx`) or from bytes in memory
/// (`decode_idx`).
///
/// Gzip is an explicit switch, `ATTNSEL_WITH_ZLIB` (1: inflate with zlib, which the program then
/// links; 0 or undefined: a compressed file is a parse_error saying so). The attnsel::attnsel
/// CMake target defines it for every TU that links the target: 1 when zlib was found and the
/// `ATTNSEL_WITH_ZLIB` option is ON (then it links ZLIB::ZLIB too), else 0. Without CMake, define
/// it the same way in every TU (`-DATTNSEL_WITH_ZLIB=1 ... -lz`). The readers sit in an inline
/// namespace named after the switch, so a program whose TUs disagree still links two correct
/// readers instead of silently keeping one.
///
/// Gzip data is recognised by its magic bytes (1f 8b), not by the file name. Concatenated gzip
/// members are decoded one after the other and bytes after the last member that do not start a
/// new member are ignored, as zlib's gzread does. The decompressed size is capped
/// (`IdxOptions::max_bytes`, 1 GiB by default) so a small "decompression bomb" cannot exhaust
/// memory.
///
/// Errors are `attnsel::parse_error` (line 0, column = byte offset + 1): a bad magic number, an
/// unknown type code, dimensions whose product (of the non-zero ones) exceeds the size cap, a
/// file shorter or longer than its header says, a non-finite float value, corrupt or truncated
/// gzip data, a decompressed size above the cap.

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

#ifndef ATTNSEL_WITH_ZLIB
#define ATTNSEL_WITH_ZLIB 0
#endif
#if ATTNSEL_WITH_ZLIB
#include <zlib.h>
#define ATTNSEL_DETAIL_IDX_NAMESPACE idx_zlib
#else
#define ATTNSEL_DETAIL_IDX_NAMESPACE idx_plain
#endif
/// 1 when this TU's IDX readers inflate gzip (= ATTNSEL_WITH_ZLIB).
#define ATTNSEL_HAS_ZLIB ATTNSEL_WITH_ZLIB

ATTNSEL_NAMESPACE_BEGIN

/// A decoded IDX file: its dimensions and its values as double.
struct IdxArray {
  std::vector<std::size_t> dims;
  /// 0x08 ubyte, 0x09 sbyte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.
  std::uint8_t type = 0;
  std::vector<double> values;
};

/// Limits for the IDX readers.
struct IdxOptions {
  /// Largest decompressed (or plain) IDX size in bytes; larger input is a parse_error. MNIST's
  /// training images are 47 MB.
  std::size_t max_bytes = std::size_t(1) << 30;
};

namespace detail {
/// The readers, per gzip setting (see the file comment).
inline namespace ATTNSEL_DETAIL_IDX_NAMESPACE {

inline bool is_gzip(const unsigned char* data, std::size_t size) {
  return size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
}

/// Inflates gzip data (one or more members) into bytes, at most `max_bytes` of them.
inline std::vector<unsigned char> gunzip(const unsigned char* data, std::size_t size, std::size_t max_bytes,
                                         const std::string& name) {
#if ATTNSEL_WITH_ZLIB
  std::vector<unsigned char> out;
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) throw parse_error(name, 0, 0, "cannot initialise zlib");
  struct Guard {
    z_stream* z;
    ~Guard() { inflateEnd(z); }
  } guard{&z};
  std::size_t pos = 0;  // bytes of `data` consumed
  unsigned char buf[1 << 16];
  for (;;) {
    // zlib counts in uInt: feed the input in pieces.
    const std::size_t piece = std::min<std::size_t>(size - pos, std::numeric_limits<uInt>::max());
    z.next_in = const_cast<Bytef*>(data + pos);  // zlib < 1.2.9 declares next_in non-const
    z.avail_in = static_cast<uInt>(piece);
    z.next_out = buf;
    z.avail_out = sizeof buf;
    const int r = inflate(&z, Z_NO_FLUSH);
    pos += piece - z.avail_in;
    const std::size_t got = sizeof buf - z.avail_out;
    if (got > max_bytes - out.size())
      throw parse_error(name, 0, pos + 1,
                        concat("the decompressed data exceeds the limit of ", max_bytes, " bytes (IdxOptions::max_bytes)"));
    out.insert(out.end(), buf, buf + got);
    if (r == Z_STREAM_END) {
      // Another member follows only if the next bytes are a gzip header; anything else is
      // trailing garbage, ignored as gzread ignores it.
      if (!is_gzip(data + pos, size - pos)) return out;
      if (inflateReset(&z) != Z_OK) throw parse_error(name, 0, pos + 1, "cannot reset zlib");
      continue;
    }
    if (r == Z_OK) continue;
    if (r == Z_BUF_ERROR && pos == size) throw parse_error(name, 0, pos + 1, "the gzip data is truncated");
    if (r == Z_BUF_ERROR && got > 0) continue;
    throw parse_error(name, 0, pos + 1, concat("cannot decompress: ", z.msg ? z.msg : "corrupt gzip data"));
  }
#else
  (void)data;
  (void)size;
  (void)max_bytes;
  throw parse_error(name, 0, 1,
                    "the data is gzip-compressed and this program was compiled without gzip support "
                    "(ATTNSEL_WITH_ZLIB=0; link zlib and define ATTNSEL_WITH_ZLIB=1)");
#endif
}

/// The whole file as bytes (still compressed if it is gzip), at most `max_bytes` of them.
inline std::vector<unsigned char> read_file_bytes(const std::string& path, std::size_t max_bytes) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw parse_error(path, 0, 0, "cannot open the file");
  std::vector<unsigned char> bytes;
  char buf[1 << 16];
  while (f) {
    f.read(buf, sizeof buf);
    const std::size_t n = static_cast<std::size_t>(f.gcount());
    if (n > max_bytes - bytes.size())
      throw parse_error(path, 0, 0, concat("the file exceeds the limit of ", max_bytes, " bytes (IdxOptions::max_bytes)"));
    bytes.insert(bytes.end(), buf, buf + n);
  }
  if (f.bad()) throw parse_error(path, 0, bytes.size() + 1, "read error");
  return bytes;
}

inline std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | std::uint32_t(p[3]);
}

/// Decodes an uncompressed IDX image whose announced shape fits `max_bytes`.
inline IdxArray parse_idx(const std::vector<unsigned char>& b, const std::string& path, std::size_t max_bytes) {
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
  // The product of the non-zero dimensions must fit the byte limit, even when another dimension
  // is 0 and the data is empty: idx_matrix multiplies the trailing dimensions into a column
  // count, and a 0 x 4e9 matrix is no more useful than it is safe to loop over.
  const std::size_t limit = std::min(max_bytes, std::size_t(std::numeric_limits<Index>::max())) / width;
  std::size_t count = 1, nonzero = 1;
  for (std::size_t i = 0; i < nd; ++i) {
    const std::size_t d = be32(&b[4 + 4 * i]);
    if (d != 0) {
      if (nonzero > limit / d)
        throw parse_error(path, 0, 5 + 4 * i,
                          concat("the IDX dimensions are too large (more than ", max_bytes, " bytes, IdxOptions::max_bytes)"));
      nonzero *= d;
    }
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

}  // inline namespace ATTNSEL_DETAIL_IDX_NAMESPACE
}  // namespace detail

inline namespace ATTNSEL_DETAIL_IDX_NAMESPACE {

/// Decodes IDX bytes held in memory, plain or gzip (detected by the magic bytes 1f 8b).
/// @param data,size the bytes (`data` may be null when `size` is 0).
/// @param name used in error messages in place of a file name.
/// @throws parse_error for malformed or truncated data, or a decompressed size above
///         `options.max_bytes`.
inline IdxArray decode_idx(const unsigned char* data, std::size_t size, const std::string& name = "<memory>",
                           const IdxOptions& options = {}) {
  if (detail::is_gzip(data, size)) return detail::parse_idx(detail::gunzip(data, size, options.max_bytes, name), name, options.max_bytes);
  if (size > options.max_bytes)
    throw parse_error(name, 0, 0, detail::concat("the data exceeds the limit of ", options.max_bytes, " bytes (IdxOptions::max_bytes)"));
  return detail::parse_idx(std::vector<unsigned char>(data, data + size), name, options.max_bytes);
}

/// Reads an IDX file (plain or gzip). @throws parse_error as decode_idx, or when the file cannot
/// be opened.
inline IdxArray read_idx(const std::string& path, const IdxOptions& options = {}) {
  const std::vector<unsigned char> bytes = detail::read_file_bytes(path, options.max_bytes);
  return decode_idx(bytes.data(), bytes.size(), path, options);
}

/// A decoded IDX array as a matrix: the first dimension gives the rows, the others are flattened
/// into the columns (a 1-D array gives one column); every value is multiplied by `scale`.
/// @throws std::invalid_argument for a non-finite scale or when `a.values` does not hold the
///         product of `a.dims` values;
///         parse_error (naming `name`) when a scaled value is not finite in T.
template <class T = float>
RowMatrix<T> idx_matrix(const IdxArray& a, T scale = T(1), const std::string& name = "<memory>") {
  constexpr const char* fn = "attnsel::idx_matrix";
  detail::require(std::isfinite(scale), fn, "argument 'scale' is ", scale, ", expected a finite value");
  detail::require(!a.dims.empty(), fn, "the array has no dimensions");
  std::size_t cols = 1;
  const std::size_t limit = std::size_t(std::numeric_limits<Index>::max());
  for (std::size_t i = 1; i < a.dims.size(); ++i) {
    detail::require(a.dims[i] == 0 || cols <= limit / a.dims[i], fn, "the dimensions are too large");
    cols *= a.dims[i];
  }
  detail::require(a.dims[0] <= limit && (cols == 0 || a.dims[0] <= limit / cols) && a.dims[0] * cols == a.values.size(),
                  fn, "the array has ", a.values.size(), " values, its dimensions do not announce that many");
  RowMatrix<T> M(Index(a.dims[0]), Index(cols));
  for (std::size_t i = 0; i < a.values.size(); ++i) {
    const double v = a.values[i] * double(scale);
    if (!std::isfinite(v) || std::fabs(v) > double(std::numeric_limits<T>::max()))
      throw parse_error(name, 0, 0, detail::concat("value ", i, " (", a.values[i], ") is not finite in this precision after scaling"));
    M.data()[i] = T(v);
  }
  return M;
}

/// An IDX file as a matrix (see idx_matrix).
template <class T = float>
RowMatrix<T> read_idx_matrix(const std::string& path, T scale = T(1)) {
  return idx_matrix<T>(read_idx(path), scale, path);
}

/// Decoded images and labels (MNIST layout) as a classification Dataset; pixels are multiplied
/// by `scale` (default 1/255 → [0, 1]). Classes are the sorted distinct labels. The names are
/// used in error messages.
/// @throws parse_error as idx_matrix, or when there are no images, the labels are not 1-D, their count differs from the image count, or
///         a label is not a non-negative integer (at most 1e6).
template <class T = float>
Dataset<T> idx_dataset(const IdxArray& images, const IdxArray& labels, T scale = T(1.0 / 255.0),
                       const std::string& images_name = "<images>", const std::string& labels_name = "<labels>") {
  Dataset<T> d;
  d.X = idx_matrix<T>(images, scale, images_name);
  if (d.X.rows() == 0) throw parse_error(images_name, 0, 5, "the file has no images");
  const IdxArray& l = labels;
  if (l.dims.size() != 1)
    throw parse_error(labels_name, 0, 4, detail::concat("a label file has 1 dimension, this one has ", l.dims.size()));
  if (Index(l.dims[0]) != d.X.rows())
    throw parse_error(labels_name, 0, 5,
                      detail::concat("the file has ", l.dims[0], " labels for ", d.X.rows(), " images in ", images_name));
  std::vector<long> seen;
  for (double v : l.values) {
    if (v < 0 || v != std::floor(v) || v > 1e6) throw parse_error(labels_name, 0, 0, detail::concat("label ", v, " is not a class id"));
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

/// An image file and a label file (MNIST layout) as a classification Dataset (see idx_dataset).
/// @throws parse_error as read_idx and idx_dataset.
template <class T = float>
Dataset<T> read_idx_dataset(const std::string& images, const std::string& labels, T scale = T(1.0 / 255.0)) {
  const IdxArray im = read_idx(images);  // images first: their errors come first
  return idx_dataset<T>(im, read_idx(labels), scale, images, labels);
}

}  // inline namespace ATTNSEL_DETAIL_IDX_NAMESPACE
ATTNSEL_NAMESPACE_END
