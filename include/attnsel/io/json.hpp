// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file io/json.hpp
/// Fitted results a user can keep: a feature `Selection` and an SA++ block mask, saved to and
/// loaded from small JSON files. Needs nlohmann-json (Debian: nlohmann-json3-dev; the CMake
/// target links nlohmann_json::nlohmann_json when found). Not included by attnsel.hpp.
///
///     attnsel::save_selection(attnsel::name_features(s, data.feature_names), "selection.json");
///     attnsel::Selection<float> back = attnsel::load_selection<float>("selection.json");
///     attnsel::save_block_mask(grid, pruner.mask(), "mask.json");
///     attnsel::SavedBlockMask m = attnsel::load_block_mask("mask.json");  // m.grid, m.mask
///
/// Files (format version 1):
///
///     {"format": "attnsel.selection", "version": 1, "method": "sequential_attention",
///      "features": [12, 3, ...], "feature_names": ["x12", "x3", ...],   // names may be []
///      "features_from_training": 10, "losses": [...]}
///     {"format": "attnsel.block_mask", "version": 1, "rows": 784, "cols": 256,
///      "block_rows": 16, "block_cols": 16, "mask": ["0110...", ...]}  // one string per grid row
///
/// A selection's per-round `history` is not saved (it is d numbers per round). Saving writes a
/// temporary file next to `path` and renames it over `path`, so a failed save leaves an existing
/// file as it was. Loading checks everything: a file that cannot be opened, is not JSON, has
/// another format or a newer version, a missing or mistyped field, a negative or repeated
/// feature, names that do not match the features, a mask whose shape does not fit its grid or
/// holds a character other than 0/1 — each an `attnsel::parse_error` naming the file and the
/// field. Saving rejects (std::invalid_argument) a mask whose shape is not the grid's.

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../error.hpp"
#include "../pruning/block_grid.hpp"
#include "../selection/selection_result.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// A block mask read back from a file: the grid it was made for and the kept blocks.
struct SavedBlockMask {
  BlockGrid grid;
  BlockMask mask;
};

namespace detail {
namespace json_io {

inline constexpr int version = 1;

/// Writes `text` to `path` through a temporary file renamed over it.
inline void write_atomically(const char* fn, const std::string& path, const std::string& text) {
  require(!path.empty(), fn, "argument 'path' is empty");
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(concat(fn, ": cannot write '", tmp, "'"));
    out << text << '\n';
    out.flush();
    if (!out) {
      out.close();
      std::remove(tmp.c_str());
      throw std::runtime_error(concat(fn, ": cannot write '", tmp, "'"));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error(concat(fn, ": cannot replace '", path, "'"));
  }
}

/// The parsed document of `path`, checked for its format name and version.
inline nlohmann::json read_document(const std::string& path, const char* format) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw parse_error(path, 0, 0, "cannot open the file");
  std::stringstream buf;
  buf << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(buf.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw parse_error(path, 0, 0, "not a JSON document");
  if (!j.is_object()) throw parse_error(path, 0, 0, "the document is not a JSON object");
  const auto f = j.find("format");
  if (f == j.end() || !f->is_string() || f->get<std::string>() != format)
    throw parse_error(path, 0, 0, concat("field 'format' must be \"", format, "\"",
                                         f == j.end() ? std::string(" (missing)") : ", got " + f->dump()));
  const auto v = j.find("version");
  if (v == j.end() || !v->is_number_integer() || v->get<long long>() < 1)
    throw parse_error(path, 0, 0, "field 'version' must be a positive integer");
  if (v->get<long long>() > version)
    throw parse_error(path, 0, 0, concat("version ", v->get<long long>(), " is newer than this attnsel reads (",
                                         version, ")"));
  return j;
}

/// j[key], required to exist and to satisfy `ok`.
template <class Check>
const nlohmann::json& field(const nlohmann::json& j, const std::string& path, const char* key, Check ok,
                            const char* expected) {
  const auto it = j.find(key);
  if (it == j.end()) throw parse_error(path, 0, 0, concat("field '", key, "' is missing"));
  if (!ok(*it)) throw parse_error(path, 0, 0, concat("field '", key, "' must be ", expected, ", got ", it->dump()));
  return *it;
}

inline Index positive_index(const nlohmann::json& j, const std::string& path, const char* key) {
  const nlohmann::json& v = field(j, path, key, [](const nlohmann::json& x) {
    return x.is_number_integer() && x.get<long long>() >= 1; }, "a positive integer");
  return static_cast<Index>(v.get<long long>());
}

}  // namespace json_io
}  // namespace detail

/// The JSON text of a selection (format above).
template <class T>
std::string selection_to_json(const Selection<T>& s) {
  nlohmann::json j;
  j["format"] = "attnsel.selection";
  j["version"] = detail::json_io::version;
  j["method"] = s.method;
  j["features"] = s.features;
  j["feature_names"] = s.feature_names;
  j["features_from_training"] = s.features_from_training;
  nlohmann::json losses = nlohmann::json::array();
  for (const T l : s.losses) losses.push_back(static_cast<double>(l));
  j["losses"] = losses;
  return j.dump(1);
}

/// Saves a selection to `path`. @throws std::invalid_argument when feature_names is neither
/// empty nor one name per feature; std::runtime_error when the file cannot be written.
template <class T>
void save_selection(const Selection<T>& s, const std::string& path) {
  constexpr const char* fn = "attnsel::save_selection";
  detail::require(s.feature_names.empty() || s.feature_names.size() == s.features.size(), fn,
                  "the selection has ", s.feature_names.size(), " feature names for ", s.features.size(), " features");
  detail::json_io::write_atomically(fn, path, selection_to_json(s));
}

/// Loads a selection saved by save_selection. @throws parse_error (see the file comment).
template <class T = float>
Selection<T> load_selection(const std::string& path) {
  using nlohmann::json;
  namespace io = detail::json_io;
  const json j = io::read_document(path, "attnsel.selection");
  Selection<T> s;
  s.method = io::field(j, path, "method", [](const json& x) { return x.is_string(); }, "a string").template get<std::string>();
  const json& f = io::field(j, path, "features", [](const json& x) { return x.is_array(); }, "an array");
  std::set<Index> seen;
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (!f[i].is_number_integer() || f[i].get<long long>() < 0)
      throw parse_error(path, 0, 0, detail::concat("features[", i, "] must be a non-negative integer, got ", f[i].dump()));
    const Index v = static_cast<Index>(f[i].get<long long>());
    if (!seen.insert(v).second) throw parse_error(path, 0, 0, detail::concat("feature ", v, " appears twice"));
    s.features.push_back(v);
  }
  const json& names = io::field(j, path, "feature_names", [](const json& x) { return x.is_array(); }, "an array");
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!names[i].is_string())
      throw parse_error(path, 0, 0, detail::concat("feature_names[", i, "] must be a string, got ", names[i].dump()));
    s.feature_names.push_back(names[i].get<std::string>());
  }
  if (!s.feature_names.empty() && s.feature_names.size() != s.features.size())
    throw parse_error(path, 0, 0, detail::concat("field 'feature_names' holds ", s.feature_names.size(),
                                                 " names for ", s.features.size(), " features"));
  const json& fft = io::field(j, path, "features_from_training", [](const json& x) {
    return x.is_number_integer() && x.get<long long>() >= 0; }, "a non-negative integer");
  s.features_from_training = static_cast<std::size_t>(fft.template get<long long>());
  if (s.features_from_training > s.features.size())
    throw parse_error(path, 0, 0, detail::concat("field 'features_from_training' is ", s.features_from_training,
                                                 ", more than the ", s.features.size(), " features"));
  const json& losses = io::field(j, path, "losses", [](const json& x) { return x.is_array(); }, "an array");
  for (std::size_t i = 0; i < losses.size(); ++i) {
    if (!losses[i].is_number())
      throw parse_error(path, 0, 0, detail::concat("losses[", i, "] must be a number, got ", losses[i].dump()));
    s.losses.push_back(static_cast<T>(losses[i].get<double>()));
  }
  return s;
}

/// The JSON text of a block mask over `grid` (format above). @throws std::invalid_argument
/// when the mask is not grid_rows x grid_cols.
inline std::string block_mask_to_json(const BlockGrid& grid, const BlockMask& mask) {
  detail::require(mask.rows() == grid.grid_rows() && mask.cols() == grid.grid_cols(), "attnsel::save_block_mask",
                  "argument 'mask' is ", mask.rows(), " x ", mask.cols(), ", the grid has ", grid.grid_rows(), " x ",
                  grid.grid_cols(), " blocks");
  nlohmann::json j;
  j["format"] = "attnsel.block_mask";
  j["version"] = detail::json_io::version;
  j["rows"] = grid.rows();
  j["cols"] = grid.cols();
  j["block_rows"] = grid.block_rows();
  j["block_cols"] = grid.block_cols();
  nlohmann::json rows = nlohmann::json::array();
  for (Index r = 0; r < mask.rows(); ++r) {
    std::string line(static_cast<std::size_t>(mask.cols()), '0');
    for (Index c = 0; c < mask.cols(); ++c)
      if (mask(r, c)) line[static_cast<std::size_t>(c)] = '1';
    rows.push_back(line);
  }
  j["mask"] = rows;
  return j.dump(1);
}

/// Saves the block mask of a pruner (e.g. `pruner.mask()`) over `grid` to `path`.
inline void save_block_mask(const BlockGrid& grid, const BlockMask& mask, const std::string& path) {
  detail::json_io::write_atomically("attnsel::save_block_mask", path, block_mask_to_json(grid, mask));
}

/// Loads a block mask saved by save_block_mask. @throws parse_error (see the file comment).
inline SavedBlockMask load_block_mask(const std::string& path) {
  using nlohmann::json;
  namespace io = detail::json_io;
  const json j = io::read_document(path, "attnsel.block_mask");
  const Index rows = io::positive_index(j, path, "rows"), cols = io::positive_index(j, path, "cols");
  const Index br = io::positive_index(j, path, "block_rows"), bc = io::positive_index(j, path, "block_cols");
  if (br > rows || bc > cols)
    throw parse_error(path, 0, 0, detail::concat("blocks of ", br, " x ", bc, " do not fit a ", rows, " x ", cols,
                                                 " matrix"));
  SavedBlockMask out{BlockGrid(rows, cols, br, bc), BlockMask()};
  const json& m = io::field(j, path, "mask", [](const json& x) { return x.is_array(); }, "an array of strings");
  if (static_cast<Index>(m.size()) != out.grid.grid_rows())
    throw parse_error(path, 0, 0, detail::concat("field 'mask' has ", m.size(), " rows, the grid has ",
                                                 out.grid.grid_rows()));
  out.mask = BlockMask::Constant(out.grid.grid_rows(), out.grid.grid_cols(), false);
  for (std::size_t r = 0; r < m.size(); ++r) {
    if (!m[r].is_string() || static_cast<Index>(m[r].get_ref<const std::string&>().size()) != out.grid.grid_cols())
      throw parse_error(path, 0, 0, detail::concat("mask[", r, "] must be a string of ", out.grid.grid_cols(),
                                                   " characters 0/1, got ", m[r].dump()));
    const std::string& line = m[r].get_ref<const std::string&>();
    for (std::size_t c = 0; c < line.size(); ++c) {
      if (line[c] != '0' && line[c] != '1')
        throw parse_error(path, 0, 0, detail::concat("mask[", r, "] holds '", line[c], "' at ", c, ", expected 0 or 1"));
      out.mask(static_cast<Index>(r), static_cast<Index>(c)) = line[c] == '1';
    }
  }
  return out;
}

ATTNSEL_NAMESPACE_END
