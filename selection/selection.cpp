#include "selection/selection.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace claa {

at::Tensor top_k_sorted(const at::Tensor& scores, int64_t k) {
  require(k >= 0 && k <= scores.numel(), "selection: k out of range");
  // A stable descending sort keeps equal scores in index order, so ties go to the lower index.
  at::Tensor order = std::get<1>(at::sort(scores.to(at::kFloat), /*stable=*/true, /*dim=*/0, /*descending=*/true));
  return std::get<0>(at::sort(order.narrow(0, 0, k)));
}

at::Tensor keep_window_plus_top(const at::Tensor& scores, int64_t n, int64_t c, int64_t window) {
  return keep_window_plus_top_per_row(scores.reshape({1, -1}), n, c, window)[0];
}

at::Tensor keep_window_plus_top_per_row(const at::Tensor& rows, int64_t n, int64_t c, int64_t window) {
  require(c >= window && c <= n, "selection: budget must cover the window and fit the prompt");
  // Every row at once: one segmented sort per step instead of a sort per row (the pipelines call
  // this at every compressed layer; on a GPU per-row sorts were hundreds of small kernels per
  // prefill). A stable descending sort keeps equal scores in index order: ties go to the lower index.
  const int64_t candidates = std::min<int64_t>(rows.size(1), n - window);
  require(c - window <= candidates, "selection: k out of range");
  at::Tensor order = std::get<1>(
      at::sort(rows.narrow(1, 0, candidates).to(at::kFloat), /*stable=*/true, /*dim=*/1, /*descending=*/true));
  at::Tensor top = std::get<0>(at::sort(order.narrow(1, 0, c - window), /*dim=*/1));
  at::Tensor tail = at::arange(n - window, n, at::TensorOptions().dtype(at::kLong).device(rows.device()));
  return at::cat({top, tail.unsqueeze(0).expand({rows.size(0), window})}, 1);
}

at::Tensor top_chunks_sorted(const at::Tensor& scores, int64_t c, int64_t chunk) {
  const int64_t n = scores.numel();
  const int64_t n_chunks = (n + chunk - 1) / chunk;
  at::Tensor padded = at::zeros({n_chunks * chunk}, scores.options().dtype(at::kFloat));
  padded.narrow(0, 0, n).copy_(scores);
  at::Tensor sizes = at::full({n_chunks}, static_cast<double>(chunk), padded.options());
  sizes[n_chunks - 1] = static_cast<double>(n - (n_chunks - 1) * chunk);
  at::Tensor means = padded.view({n_chunks, chunk}).sum(1) / sizes;
  at::Tensor order = std::get<1>(at::sort(means, true, 0, true)).to(at::kCPU);
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < n_chunks && static_cast<int64_t>(keep.size()) < c; ++i) {
    int64_t start = order[i].item<int64_t>() * chunk;
    for (int64_t j = start; j < std::min(n, start + chunk) && static_cast<int64_t>(keep.size()) < c; ++j)
      keep.push_back(j);
  }
  std::sort(keep.begin(), keep.end());
  return at::tensor(keep, at::kLong).to(scores.device());
}

int64_t pyramid_layer_budget(int64_t free, int64_t len, int layer, int n_layers, double beta) {
  require(beta >= 1, "pyramidkv: beta must be at least 1");
  if (n_layers <= 1) return free;
  int64_t min_num = static_cast<int64_t>(std::floor(static_cast<double>(free) / beta));
  int64_t max_num = 2 * free - min_num;
  if (max_num >= len) {
    max_num = len;
    min_num = 2 * free - max_num;
  }
  const int64_t steps = (max_num - min_num) / (n_layers - 1);
  return std::clamp<int64_t>(max_num - layer * steps, 0, len);
}

std::vector<at::Tensor> keep_adaptive_per_head(const at::Tensor& rows, int64_t n, int64_t c, int64_t window,
                                               double alpha) {
  require(c >= window && c <= n, "selection: budget must cover the window and fit the prompt");
  const int64_t heads = rows.size(0), m = std::min<int64_t>(rows.size(1), n - window), free = c - window;
  at::Tensor scores = rows.narrow(1, 0, m).to(at::kCPU, at::kFloat).clone();
  const int64_t safe = std::min<int64_t>(m, static_cast<int64_t>(std::floor(static_cast<double>(free) * alpha)));
  at::Tensor chosen = at::zeros({heads, m}, at::kBool);
  for (int64_t g = 0; g < heads; ++g) chosen[g].index_fill_(0, top_k_sorted(scores[g], safe), true);
  // The rest by score over all (head, token) pairs; a stable sort of the flattened [H_kv, M]
  // breaks ties towards the lower head, then the lower token.
  at::Tensor flat = scores.masked_fill(chosen, -std::numeric_limits<float>::infinity()).view(-1);
  at::Tensor order = std::get<1>(at::sort(flat, /*stable=*/true, /*dim=*/0, /*descending=*/true));
  const int64_t rest = std::min<int64_t>(heads * (free - safe), heads * (m - safe));
  chosen.view(-1).index_fill_(0, order.narrow(0, 0, rest), true);
  at::Tensor tail = at::arange(n - window, n, at::kLong);
  std::vector<at::Tensor> kept;
  for (int64_t g = 0; g < heads; ++g) kept.push_back(at::cat({chosen[g].nonzero().view(-1), tail}).to(rows.device()));
  return kept;
}

}  // namespace claa
