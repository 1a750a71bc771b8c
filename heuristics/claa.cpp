// CLAA, Cross-Layer Attention Aggregation (method.md §2; kv-exps baseline/claa/claa_utils.py):
// at layer l, take the FastKV window scores of the last n layers l−n+1..l (fewer at the bottom
// of the model); z-score each row over its N − W entries (unbiased std + 1e-8); the score of a
// token is the max over all rows.
//
// Parameters (defaults = the paper; anything else is reported as a departure from it):
//   n             layers aggregated
//   granularity   kv_head: rows are S[l', g, :] (n × H_kv rows; the paper's method)
//                 layer:   rows are Σ_g S[l', g, :] (n rows; the authors' analysis script)
//   normalize     zscore (paper) | none (the raw max degrades as n grows) | log_zscore (z-score of
//                 log(S + 1e-8): tames rows whose scale is set by a few huge sink values) |
//                 median_mad ((S − median) / (1.4826·MAD + 1e-8): robust to the sink and the tail)
//   aggregation   max (paper) | mean over the rows
//   stats_exclude_sinks / stats_exclude_tail
//                 leave the first / last k of the N − W entries out of each row's statistics (the
//                 chat-template sink and the question tail set a row's spread on small models);
//                 the normalised values still cover every token.
#include "core/error.h"
#include "heuristics/heuristic.h"

namespace claa {

namespace {

const nlohmann::json& paper_params() {
  static const nlohmann::json p = {{"n", 4},
                                   {"pool", 7},
                                   {"granularity", "kv_head"},
                                   {"normalize", "zscore"},
                                   {"aggregation", "max"},
                                   {"stats_exclude_sinks", 0},
                                   {"stats_exclude_tail", 0}};
  return p;
}

class Claa : public Heuristic {
 public:
  explicit Claa(const nlohmann::json& p)
      : params_(p), n_(p["n"].get<int>()), pool_(p["pool"].get<int>()),
        by_layer_(p["granularity"].get<std::string>() == "layer"), normalize_name_(p["normalize"].get<std::string>()),
        use_mean_(p["aggregation"].get<std::string>() == "mean"), sinks_(p["stats_exclude_sinks"].get<int>()),
        tail_(p["stats_exclude_tail"].get<int>()) {
    const std::string granularity = p["granularity"].get<std::string>(), aggregation = p["aggregation"].get<std::string>();
    require(n_ >= 1, "claa: n must be at least 1");
    require(pool_ >= 0, "claa: pool must be non-negative");
    require(granularity == "kv_head" || granularity == "layer", "claa: granularity must be kv_head or layer");
    normalize_ = normalize_name_ == "zscore"       ? Normalize::ZScore
                 : normalize_name_ == "none"       ? Normalize::None
                 : normalize_name_ == "log_zscore" ? Normalize::LogZScore
                 : normalize_name_ == "median_mad" ? Normalize::MedianMad
                                                   : throw Error("claa: normalize must be zscore, none, log_zscore or median_mad");
    require(aggregation == "max" || aggregation == "mean", "claa: aggregation must be max or mean");
    require(sinks_ >= 0 && tail_ >= 0, "claa: stats_exclude_sinks and stats_exclude_tail must be non-negative");
  }
  std::string name() const override { return "claa"; }
  std::string note() const override { return departures(params_, paper_params()); }
  CaptureNeeds needs() const override { return {.window_attn = true}; }

  LayerScores score_layer(const HeuristicInput& in, int layer) const override {
    LayerScores out;
    std::vector<at::Tensor> normalised, means, stds;
    for (int l = std::max(0, layer - n_ + 1); l <= layer; ++l) {
      at::Tensor rows = window_scores_per_kv_head(in.capture, l, pool_);  // [H_kv, N − W]
      if (by_layer_) rows = rows.sum(0, true);
      Normalised r = normalise(rows);
      normalised.push_back(r.values);
      means.push_back(r.centre);
      stds.push_back(r.spread);
      for (int64_t g = 0; g < rows.size(0); ++g) out.rows.labels.emplace_back(l, by_layer_ ? -1 : static_cast<int>(g));
    }
    // per KV head: the aggregate over the n layers; combined: over every row.
    at::Tensor stacked = at::stack(normalised, 0);  // [n', rows, N']
    out.per_head = use_mean_ ? stacked.mean(0) : std::get<0>(stacked.max(0));
    out.rows.values = at::cat(normalised, 0);  // [n' · rows, N']
    out.combined = use_mean_ ? out.rows.values.mean(0) : std::get<0>(out.rows.values.max(0));
    out.rows.raw_mean = at::cat(means, 0).view(-1);
    out.rows.raw_std = at::cat(stds, 0).view(-1);
    out.rows.normalize = normalize_name_;
    return out;
  }

 private:
  struct Normalised {
    at::Tensor values, centre, spread;  // values [rows, N']; centre/spread [rows, 1]
  };

  // The entries each row's statistics are taken over (all unless sinks/tail are excluded).
  at::Tensor statistics_part(const at::Tensor& rows) const {
    const int64_t len = rows.size(1);
    // At least two entries stay, so the unbiased std is defined.
    const int64_t begin = std::min<int64_t>(sinks_, std::max<int64_t>(0, len - 2));
    const int64_t end = std::max<int64_t>(std::min<int64_t>(len, begin + 2), len - tail_);
    return rows.narrow(1, begin, end - begin);
  }

  Normalised normalise(const at::Tensor& raw) const {
    if (normalize_ == Normalize::MedianMad) {
      at::Tensor part = statistics_part(raw);
      at::Tensor median = std::get<0>(part.median(-1, true));
      at::Tensor mad = std::get<0>((part - median).abs().median(-1, true)) * 1.4826;
      return {(raw - median) / (mad + 1e-8), median, mad};
    }
    at::Tensor rows = normalize_ == Normalize::LogZScore ? (raw + 1e-8).log() : raw;
    at::Tensor part = statistics_part(rows);
    at::Tensor mean = part.mean(-1, true);
    at::Tensor std = part.std(-1, /*unbiased=*/true, /*keepdim=*/true);
    if (normalize_ == Normalize::None) return {raw, mean, std};
    return {(rows - mean) / (std + 1e-8), mean, std};
  }

  nlohmann::json params_;
  int n_, pool_;
  bool by_layer_;
  enum class Normalize { ZScore, None, LogZScore, MedianMad };
  std::string normalize_name_;
  Normalize normalize_ = Normalize::ZScore;
  bool use_mean_;
  int sinks_, tail_;
};

}  // namespace

HeuristicInfo claa_heuristic() {
  return {"claa", "CLAA: max over z-scored window-score rows of the last n layers", paper_params(),
          [](const nlohmann::json& p) { return std::make_unique<Claa>(p); }};
}

}  // namespace claa
