// Shared by the examples: draws a selection of pixels over the mean image as a PNG
// (stb_image_write from Debian's libstb-dev).
#pragma once

#include <attnsel/attnsel.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include <stb/stb_image_write.h>

namespace examples {

/// Side of a square image with d pixels, or 0 when d is not a perfect square.
inline attnsel::Index image_side(attnsel::Index d) {
  const auto s = static_cast<attnsel::Index>(std::llround(std::sqrt(double(d))));
  return s * s == d ? s : 0;
}

/// Writes a PNG: the mean image in grey, selected pixels in red (brighter = chosen earlier),
/// each pixel drawn as a `zoom` x `zoom` square.
template <class T>
void write_selection_png(const std::string& path, const attnsel::RowMatrix<T>& X, const std::vector<attnsel::Index>& order,
                         attnsel::Index side, int zoom) {
  const attnsel::Index d = X.cols();
  if (side * side != d) throw std::invalid_argument("write_selection_png: " + std::to_string(d) + " features are not a square image");
  Eigen::Matrix<double, 1, Eigen::Dynamic> mean = X.template cast<double>().colwise().mean();
  const double lo = mean.minCoeff(), hi = mean.maxCoeff();
  std::vector<int> rank(static_cast<std::size_t>(d), -1);
  for (std::size_t i = 0; i < order.size(); ++i) rank[static_cast<std::size_t>(order[i])] = int(i);
  const int W = int(side) * zoom;
  std::vector<unsigned char> rgb(static_cast<std::size_t>(W) * W * 3);
  for (int y = 0; y < W; ++y) {
    for (int x = 0; x < W; ++x) {
      const attnsel::Index p = attnsel::Index(y / zoom) * side + x / zoom;
      unsigned char* px = &rgb[(static_cast<std::size_t>(y) * W + x) * 3];
      const int r = rank[static_cast<std::size_t>(p)];
      if (r >= 0) {
        const double t = order.size() > 1 ? double(r) / double(order.size() - 1) : 0.0;
        px[0] = 255;
        px[1] = px[2] = static_cast<unsigned char>(40 + 120 * t);
      } else {
        const double g = hi > lo ? (mean(p) - lo) / (hi - lo) : 0.0;
        px[0] = px[1] = px[2] = static_cast<unsigned char>(30 + 150 * g);
      }
    }
  }
  if (!stbi_write_png(path.c_str(), W, W, 3, rgb.data(), W * 3)) throw std::runtime_error("cannot write " + path);
}

/// Writes a heat map of a non-negative matrix as a PNG: black (0) through red and yellow to
/// white (the maximum); each entry drawn as a `zoom` x `zoom` square. Entries above the diagonal
/// of a square matrix (the future, for attention) are drawn dark blue.
template <class T>
void write_heatmap_png(const std::string& path, const attnsel::RowMatrix<T>& M, int zoom, bool causal) {
  const int H = int(M.rows()) * zoom, W = int(M.cols()) * zoom;
  if (H == 0 || W == 0) throw std::invalid_argument("write_heatmap_png: empty matrix");
  const double hi = std::max(1e-30, double(M.maxCoeff()));
  std::vector<unsigned char> rgb(static_cast<std::size_t>(W) * H * 3);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      const attnsel::Index i = y / zoom, j = x / zoom;
      unsigned char* px = &rgb[(static_cast<std::size_t>(y) * W + x) * 3];
      if (causal && j > i) {
        px[0] = 10, px[1] = 10, px[2] = 40;
        continue;
      }
      const double t = std::clamp(double(M(i, j)) / hi, 0.0, 1.0);  // 0..1 -> black, red, yellow, white
      px[0] = static_cast<unsigned char>(255 * std::min(1.0, 3 * t));
      px[1] = static_cast<unsigned char>(255 * std::clamp(3 * t - 1, 0.0, 1.0));
      px[2] = static_cast<unsigned char>(255 * std::clamp(3 * t - 2, 0.0, 1.0));
    }
  if (!stbi_write_png(path.c_str(), W, H, 3, rgb.data(), W * 3)) throw std::runtime_error("cannot write " + path);
}

/// Writes a picture of what structured pruning kept of a transformer: one row per layer, its
/// heads on the left (a square each: green kept, blue the selector head, dark red removed), its
/// MLP channels on the right (a column each: green kept, dark red removed), and under the layers
/// a strip of the residual channels. `heads[l][h]` and `channels[l][j]` are 1 kept, 0 removed,
/// 2 (heads) the selector head; `width[j]` 1 kept, 0 removed.
inline void write_structure_png(const std::string& path, const std::vector<std::vector<int>>& heads,
                                const std::vector<std::vector<int>>& channels, const std::vector<int>& width) {
  const int cell = 24, gap = 8, row = cell + gap;
  std::size_t max_heads = 1, max_channels = 1;
  for (const auto& h : heads) max_heads = std::max(max_heads, h.size());
  for (const auto& c : channels) max_channels = std::max(max_channels, c.size());
  const int channel_px = std::max(1, int(512 / max_channels));  // the MLP part is about 512 pixels wide
  const int left = int(max_heads) * cell, right = int(max_channels) * channel_px;
  const int W = gap + left + 2 * gap + std::max(right, int(width.size()) * channel_px) + gap;
  const int H = gap + int(heads.size()) * row + 2 * gap + cell + gap;
  std::vector<unsigned char> rgb(static_cast<std::size_t>(W) * H * 3, 245);
  auto fill = [&](int x0, int y0, int w, int h, int state, bool selector) {
    const unsigned char kept[3] = {60, 170, 80}, gone[3] = {110, 30, 30}, sel[3] = {50, 90, 200};
    const unsigned char* c = selector ? sel : state ? kept : gone;
    for (int y = y0; y < y0 + h && y < H; ++y)
      for (int x = x0; x < x0 + w && x < W; ++x)
        for (int k = 0; k < 3; ++k) rgb[(static_cast<std::size_t>(y) * W + x) * 3 + k] = c[k];
  };
  for (std::size_t l = 0; l < heads.size(); ++l) {
    const int y = gap + int(l) * row;
    for (std::size_t h = 0; h < heads[l].size(); ++h)
      fill(gap + int(h) * cell + 1, y, cell - 2, cell, heads[l][h] != 0, heads[l][h] == 2);
    if (l < channels.size())
      for (std::size_t j = 0; j < channels[l].size(); ++j)
        fill(gap + left + 2 * gap + int(j) * channel_px, y, channel_px, cell, channels[l][j], false);
  }
  const int y = gap + int(heads.size()) * row + 2 * gap;
  for (std::size_t j = 0; j < width.size(); ++j) fill(gap + left + 2 * gap + int(j) * channel_px, y, channel_px, cell, width[j], false);
  if (!stbi_write_png(path.c_str(), W, H, 3, rgb.data(), W * 3)) throw std::runtime_error("cannot write " + path);
}

}  // namespace examples
