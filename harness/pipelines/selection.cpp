#include "harness/pipelines/selection.h"

#include <algorithm>

#include "harness/util/error.h"

namespace claa {

at::Tensor top_k_sorted(const at::Tensor& scores, int64_t k) {
  require(k >= 0 && k <= scores.numel(), "selection: k out of range");
  // A stable descending sort keeps equal scores in index order, so ties go to the lower index.
  at::Tensor order = std::get<1>(at::sort(scores.to(at::kFloat), /*stable=*/true, /*dim=*/0, /*descending=*/true));
  return std::get<0>(at::sort(order.narrow(0, 0, k)));
}

at::Tensor keep_window_plus_top(const at::Tensor& scores, int64_t n, int64_t c, int64_t window) {
  require(c >= window && c <= n, "selection: budget must cover the window and fit the prompt");
  int64_t candidates = std::min<int64_t>(scores.numel(), n - window);
  at::Tensor top = top_k_sorted(scores.narrow(0, 0, candidates), c - window);
  at::Tensor tail = at::arange(n - window, n, at::TensorOptions().dtype(at::kLong).device(scores.device()));
  return at::cat({top.to(at::kLong), tail});
}

at::Tensor keep_window_plus_top_per_row(const at::Tensor& rows, int64_t n, int64_t c, int64_t window) {
  std::vector<at::Tensor> kept;
  for (int64_t r = 0; r < rows.size(0); ++r) kept.push_back(keep_window_plus_top(rows[r], n, c, window));
  return at::stack(kept, 0);
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
    for (int64_t j = start; j < std::min(n, start + chunk) && static_cast<int64_t>(keep.size()) < c; ++j) keep.push_back(j);
  }
  std::sort(keep.begin(), keep.end());
  return at::tensor(keep, at::kLong).to(scores.device());
}

}  // namespace claa
