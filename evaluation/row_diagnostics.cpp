#include "evaluation/row_diagnostics.h"

#include <cmath>
#include <limits>

#include "core/error.h"

namespace claa {

namespace {

double sorted_quantile(const at::Tensor& values, double q) {
  at::Tensor sorted = std::get<0>(values.to(at::kDouble).sort());
  const int64_t i = std::min<int64_t>(values.numel() - 1, static_cast<int64_t>(std::floor(q * (values.numel() - 1))));
  return sorted[i].item<double>();
}

}  // namespace

BudgetDiagnostics diagnose_rows(const LayerScores::Rows& rows, int layer, const std::vector<double>& keep_rates,
                                const std::vector<at::Tensor>& slots_per_keep,
                                const std::vector<std::pair<int64_t, int64_t>>& evidence) {
  require(rows.values.defined() && rows.values.dim() == 2, "diagnostics: the heuristic returned no rows");
  require(slots_per_keep.size() == keep_rates.size(), "diagnostics: one slot list per keep rate");
  const at::Tensor values = rows.values.to(at::kCPU, at::kFloat);
  const int64_t R = values.size(0), len = values.size(1);
  const at::Tensor winner = std::get<1>(values.max(0));  // [N'] row that lifts each token
  at::Tensor raw_mean = rows.raw_mean.to(at::kCPU, at::kDouble), raw_std = rows.raw_std.to(at::kCPU, at::kDouble);

  BudgetDiagnostics d;
  d.layer = layer;
  d.normalize = rows.normalize;
  d.keep_rates = keep_rates;
  std::vector<std::vector<double>> wins(R, std::vector<double>(keep_rates.size(), 0.0));
  for (size_t k = 0; k < keep_rates.size(); ++k) {
    at::Tensor slots = slots_per_keep[k].to(at::kCPU, at::kLong);
    slots = slots.masked_select(slots < len);  // window tokens beyond N' belong to no row
    d.slots.push_back(slots.numel());
    if (slots.numel() == 0) continue;
    at::Tensor counts = at::bincount(winner.index_select(0, slots), {}, R).to(at::kDouble);
    for (int64_t r = 0; r < R; ++r) wins[r][k] = counts[r].item<double>() / static_cast<double>(slots.numel());
  }
  for (int64_t r = 0; r < R; ++r) {
    RowDiagnostics row;
    row.layer = r < static_cast<int64_t>(rows.labels.size()) ? rows.labels[r].first : -1;
    row.head = r < static_cast<int64_t>(rows.labels.size()) ? rows.labels[r].second : -1;
    row.raw_mean = raw_mean.numel() == R ? raw_mean[r].item<double>() : std::nan("");
    row.raw_std = raw_std.numel() == R ? raw_std[r].item<double>() : std::nan("");
    row.max_value = values[r].max().item<double>();
    row.p99_value = sorted_quantile(values[r], 0.99);
    row.share = wins[r];
    row.evidence_best = std::nan("");
    for (const auto& [first, last] : evidence) {
      const int64_t a = std::max<int64_t>(0, first), b = std::min<int64_t>(len, last);
      if (b <= a) continue;
      const double best = values[r].narrow(0, a, b - a).max().item<double>();
      row.evidence_best = std::isnan(row.evidence_best) ? best : std::max(row.evidence_best, best);
    }
    d.rows.push_back(std::move(row));
  }
  return d;
}

nlohmann::json to_json(const BudgetDiagnostics& d) {
  auto number = [](double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); };
  nlohmann::json rows = nlohmann::json::array();
  for (const RowDiagnostics& r : d.rows)
    rows.push_back({{"layer", r.layer},
                    {"head", r.head},
                    {"raw_mean", number(r.raw_mean)},
                    {"raw_std", number(r.raw_std)},
                    {"max", r.max_value},
                    {"p99", r.p99_value},
                    {"share", r.share},
                    {"evidence_best", number(r.evidence_best)}});
  return {
      {"layer", d.layer}, {"normalize", d.normalize}, {"keep_rates", d.keep_rates}, {"slots", d.slots}, {"rows", rows}};
}

}  // namespace claa
