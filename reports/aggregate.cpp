// Two-level aggregation (samples → dataset → category/overall); the rules are in aggregate.h.
#include "reports/budget_report.h"
#include "reports/turn_report.h"
#include "reports/aggregate.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/error.h"
#include "evaluation/metrics.h"
#include "reports/record_fields.h"

namespace claa {

int RunAggregate::metric_index(const std::string& metric) const {
  auto it = std::find(metrics.begin(), metrics.end(), metric);
  return it == metrics.end() ? -1 : int(it - metrics.begin());
}

std::string metric_name(const std::string& base, double keep_rate) { return fmt::format("{}@{}", base, keep_rate); }

double rho_threshold_from_run(const nlohmann::json& run) {
  if (!run.is_object()) return 0.3;
  const nlohmann::json* report = nullptr;
  if (run.contains("config") && run["config"].is_object() && run["config"].contains("report"))
    report = &run["config"]["report"];
  if (!report || !report->is_object() || !report->contains("rho_threshold")) return 0.3;
  require((*report)["rho_threshold"].is_number(), "run.json: config.report.rho_threshold is not a number");
  return (*report)["rho_threshold"].get<double>();
}

namespace {

// Sample values of one dataset: [heuristic][layer][metric] → one value per sample.
using Values = std::vector<std::vector<std::vector<std::vector<double>>>>;

struct RunShape {
  std::vector<double> keep_rates;
  int n_layers = 0;
  bool has_evidence = false;
  std::vector<HeuristicMeta> heuristics;
};

// Every sample must describe the same experiment, or the per-layer averages would mix unlike things.
RunShape check_shape(const std::vector<SampleRecord>& samples) {
  RunShape shape;
  shape.keep_rates = samples.front().keep_rates;
  require(!shape.keep_rates.empty(), samples.front().where + ": 'keep_rates' is empty");
  std::map<std::string, HeuristicMeta> metas;
  std::map<std::string, std::string> category_of;
  for (const SampleRecord& s : samples) {
    require(s.keep_rates == shape.keep_rates, s.where + ": keep_rates differ from the first sample's");
    auto [c, fresh] = category_of.emplace(s.dataset, s.category);
    require(c->second == s.category, fmt::format("{}: dataset '{}' has category '{}', earlier '{}'", s.where,
                                                 s.dataset, s.category, c->second));
    for (const HeuristicRecord& h : s.heuristics) {
      if (shape.n_layers == 0) shape.n_layers = int(h.layers.size());
      require(int(h.layers.size()) == shape.n_layers, fmt::format("{}: heuristic '{}' has {} layers, earlier {}",
                                                                  s.where, h.name, h.layers.size(), shape.n_layers));
      metas.emplace(h.name, HeuristicMeta{h.name, h.note, h.layer_independent});
      for (const LayerRecord& l : h.layers) shape.has_evidence |= !l.evidence_recall.empty();
    }
  }
  for (auto& [name, meta] : metas) shape.heuristics.push_back(meta);
  return shape;
}

std::vector<std::string> metric_names(const RunShape& shape) {
  std::vector<std::string> names = {"spearman", "kendall"};
  std::vector<std::string> bases = {"recall", "mass_recall", "ndcg"};
  if (shape.has_evidence) bases.push_back("evidence_recall");
  for (const std::string& base : bases)
    for (double r : shape.keep_rates) names.push_back(metric_name(base, r));
  return names;
}

// The record's metric values in metric_names order; NaN marks "absent" (evidence without gold spans).
std::vector<double> flatten(const LayerRecord& l, bool has_evidence) {
  std::vector<double> v = {l.spearman, l.kendall};
  for (const auto* m : {&l.recall, &l.mass_recall, &l.ndcg}) v.insert(v.end(), m->begin(), m->end());
  if (has_evidence) {
    if (l.evidence_recall.empty())
      v.resize(v.size() + l.recall.size(), std::nan(""));
    else
      v.insert(v.end(), l.evidence_recall.begin(), l.evidence_recall.end());
  }
  return v;
}

HeuristicSummary summarize_layers(const HeuristicAggregate& h, const RunAggregate& agg) {
  HeuristicSummary s;
  std::vector<double> rho, tau;
  for (const auto& layer : h.layers) {
    rho.push_back(layer[0].mean);
    tau.push_back(layer[1].mean);
  }
  s.mean_rho = mean(rho);
  s.mean_kendall = mean(tau);
  s.layer_std = sample_std(rho);
  for (double r : agg.keep_rates) {
    const int m = agg.metric_index(metric_name("recall", r));
    double sum = 0.0;
    for (const auto& layer : h.layers) sum += layer[m].mean;
    s.recall.push_back(sum / double(h.layers.size()));
  }
  // max_element/min_element return the first extreme, so ties go to the lower layer index.
  s.best_layer = int(std::max_element(rho.begin(), rho.end()) - rho.begin());
  s.worst_layer = int(std::min_element(rho.begin(), rho.end()) - rho.begin());
  s.best_rho = rho[s.best_layer];
  s.worst_rho = rho[s.worst_layer];
  for (size_t l = 0; l < rho.size(); ++l)
    if (rho[l] < agg.rho_threshold) s.layers_below.push_back(int(l));
  return s;
}

void finish_summaries(ScopeAggregate& scope, const RunAggregate& agg) {
  for (HeuristicAggregate& h : scope.heuristics) {
    h.has_data = !h.layers.empty() && h.layers[0][0].n > 0;
    if (h.has_data) h.summary = summarize_layers(h, agg);
  }
}

ScopeAggregate dataset_scope(const DatasetInfo& d, const Values& values, const std::vector<double>& scores,
                             const RunAggregate& agg) {
  ScopeAggregate scope{"dataset", d.name, {d.name}, {}, sample_stat(scores), d.samples, d.empty_answers};
  for (size_t h = 0; h < agg.heuristics.size(); ++h) {
    HeuristicAggregate ha{agg.heuristics[h].name, {}, {}, false};
    for (const auto& layer : values[h]) {
      std::vector<Stat> stats;
      for (const auto& metric : layer) stats.push_back(sample_stat(metric));
      ha.layers.push_back(std::move(stats));
    }
    scope.heuristics.push_back(std::move(ha));
  }
  finish_summaries(scope, agg);
  return scope;
}

// Category or overall scope from the dataset scopes it contains.
ScopeAggregate combined_scope(const std::string& kind, const std::string& name,
                              const std::vector<const ScopeAggregate*>& parts, const RunAggregate& agg) {
  ScopeAggregate scope{kind, name, {}, {}, {}, 0, 0};
  std::vector<Stat> scores;
  for (const ScopeAggregate* p : parts) {
    scope.datasets.push_back(p->name);
    scope.samples += p->samples;
    scope.empty_answers += p->empty_answers;
    scores.push_back(p->score);
  }
  scope.score = combine(scores);
  const size_t n_metrics = agg.metrics.size();
  for (size_t h = 0; h < agg.heuristics.size(); ++h) {
    HeuristicAggregate ha{agg.heuristics[h].name, {}, {}, false};
    for (int l = 0; l < agg.n_layers; ++l) {
      std::vector<Stat> stats;
      for (size_t m = 0; m < n_metrics; ++m) {
        std::vector<Stat> per_dataset;
        for (const ScopeAggregate* p : parts) per_dataset.push_back(p->heuristics[h].layers[l][m]);
        stats.push_back(combine(per_dataset));
      }
      ha.layers.push_back(std::move(stats));
    }
    scope.heuristics.push_back(std::move(ha));
  }
  finish_summaries(scope, agg);
  return scope;
}

struct DatasetValues {
  DatasetInfo info;
  Values values;
  std::vector<double> scores, prefill, decode;
};

std::map<std::string, DatasetValues> collect(const std::vector<SampleRecord>& samples, const RunAggregate& agg,
                                             bool has_evidence) {
  std::map<std::string, size_t> heuristic_index;
  for (size_t h = 0; h < agg.heuristics.size(); ++h) heuristic_index[agg.heuristics[h].name] = h;
  const Values empty(agg.heuristics.size(), std::vector<std::vector<std::vector<double>>>(
                                                agg.n_layers, std::vector<std::vector<double>>(agg.metrics.size())));
  std::map<std::string, DatasetValues> by_dataset;
  for (const SampleRecord& s : samples) {
    auto [it, fresh] = by_dataset.try_emplace(s.dataset);
    DatasetValues& d = it->second;
    if (fresh) d = {{s.dataset, s.task, s.category, 0, 0, s.max_score, {}, {}, {}}, empty, {}, {}, {}};
    ++d.info.samples;
    d.scores.push_back(100.0 * s.score / s.max_score);  // points: LongBench scores 0..1, RULER 0..100
    if (s.has_timing) {
      d.prefill.push_back(s.prefill_seconds);
      d.decode.push_back(s.decode_seconds);
    }
    if (s.empty_answer) {
      ++d.info.empty_answers;
      d.info.empty_ids.push_back(s.id);
      continue;
    }
    for (const HeuristicRecord& h : s.heuristics)
      for (size_t l = 0; l < h.layers.size(); ++l) {
        if (h.layers[l].nonfinite > 0 || h.layers[l].oracle_nonfinite > 0) continue;  // never averaged
        const std::vector<double> v = flatten(h.layers[l], has_evidence);
        auto& slot = d.values[heuristic_index.at(h.name)][l];
        for (size_t m = 0; m < v.size(); ++m)
          if (!std::isnan(v[m])) slot[m].push_back(v[m]);
      }
  }
  for (auto& [name, d] : by_dataset) {
    std::sort(d.info.empty_ids.begin(), d.info.empty_ids.end());
    d.info.prefill_seconds = sample_stat(d.prefill);
    d.info.decode_seconds = sample_stat(d.decode);
  }
  return by_dataset;
}

}  // namespace

void merge_timings(const std::string& path, std::vector<SampleRecord>& samples) {
  std::map<std::string, SampleRecord*> by_id;
  for (SampleRecord& s : samples) by_id[s.id] = &s;
  std::ifstream in(path);
  require(in.good(), path + ": cannot read");
  // Timings are informational: a line that does not parse (a torn write) is skipped, not fatal. A line
  // that parses but holds a wrongly typed value is a corrupt file: claa::Error "FILE:LINE: ..." (as
  // samples.jsonl's loader), never an escaped JSON exception.
  size_t number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("id") || !j["id"].is_string()) continue;
    auto it = by_id.find(j["id"].get<std::string>());
    if (it == by_id.end()) continue;
    const std::string where = fmt::format("{}:{}", path, number);
    SampleRecord& s = *it->second;
    if (j.contains("heuristics")) {
      require(j["heuristics"].is_object(), where + ": field 'heuristics' is not an object");
      for (const auto& [label, t] : j["heuristics"].items()) {
        require(t.is_object(), fmt::format("{}: heuristic '{}' is not an object", where, label));
        s.heuristic_seconds[label] = {record::optional_number(t, "score_seconds", where),
                                      record::optional_number(t, "compare_seconds", where)};
      }
    }
    const double prefill = record::optional_number(j, "prefill_seconds", where),
                 decode = record::optional_number(j, "decode_seconds", where);
    if (s.has_timing) continue;  // the sample's own "timing" wins
    s.prefill_seconds = prefill;
    s.decode_seconds = decode;
    s.has_timing = true;
  }
}

std::vector<HeuristicCost> heuristic_costs(const std::vector<SampleRecord>& samples) {
  std::map<std::string, HeuristicCost> by_name;
  for (const SampleRecord& s : samples)
    for (const auto& [label, seconds] : s.heuristic_seconds) {
      HeuristicCost& c = by_name[label];
      c.name = label;
      ++c.samples;
      c.score_seconds += seconds.first;
      c.compare_seconds += seconds.second;
      c.prefill_seconds += s.prefill_seconds;
    }
  std::vector<HeuristicCost> out;
  for (auto& [name, c] : by_name) out.push_back(c);
  return out;
}

RunAggregate aggregate_samples(const std::vector<SampleRecord>& samples, const AggregateOptions& options) {
  require(!samples.empty(), "no samples to aggregate");
  const RunShape shape = check_shape(samples);
  RunAggregate agg;
  agg.keep_rates = shape.keep_rates;
  agg.n_layers = shape.n_layers;
  agg.rho_threshold = options.rho_threshold;
  agg.metrics = metric_names(shape);
  agg.heuristics = shape.heuristics;
  agg.samples = int64_t(samples.size());
  for (const SampleRecord& s : samples)
    for (const HeuristicRecord& h : s.heuristics)
      for (size_t l = 0; l < h.layers.size(); ++l) {
        const LayerRecord& r = h.layers[l];
        if (r.nonfinite > 0 || r.oracle_nonfinite > 0)
          agg.nonfinite.push_back(fmt::format("{}: heuristic {}, layer {}: {} NaN/Inf scores, {} NaN/Inf oracle values",
                                              s.id, h.name, l, r.nonfinite, r.oracle_nonfinite));
      }

  std::map<std::string, DatasetValues> by_dataset = collect(samples, agg, shape.has_evidence);
  std::vector<ScopeAggregate> dataset_scopes;
  std::map<std::string, std::vector<size_t>> categories;  // category → indices into dataset_scopes
  for (const auto& [name, d] : by_dataset) {
    agg.datasets.push_back(d.info);
    agg.empty_answers += d.info.empty_answers;
    categories[d.info.category].push_back(dataset_scopes.size());
    dataset_scopes.push_back(dataset_scope(d.info, d.values, d.scores, agg));
  }
  auto pointers = [&](const std::vector<size_t>& indices) {
    std::vector<const ScopeAggregate*> out;
    for (size_t i : indices) out.push_back(&dataset_scopes[i]);
    return out;
  };
  std::vector<size_t> all(dataset_scopes.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  agg.scopes.push_back(combined_scope("overall", "overall", pointers(all), agg));
  for (const auto& [category, indices] : categories)
    agg.scopes.push_back(combined_scope("category", category, pointers(indices), agg));
  for (ScopeAggregate& s : dataset_scopes) agg.scopes.push_back(std::move(s));
  agg.costs = heuristic_costs(samples);
  agg.lead = compare_lead_metric(samples, agg, options.statistics);
  agg.rho_paired = compare_rho(samples, agg, options.statistics);
  return agg;
}

RunAggregate aggregate_run_dir(const std::string& run_dir, const std::vector<std::string>& sample_files) {
  namespace fs = std::filesystem;
  const std::vector<std::string> files = record::sample_paths(run_dir, sample_files);
  const nlohmann::json run = record::read_run_json(run_dir);
  LoadStats load;
  std::vector<SampleRecord> samples = load_samples(files, &load);
  require(!samples.empty(), fmt::format("{}: no samples", fmt::join(files, ", ")));
  const fs::path timings = fs::path(run_dir) / "timings.jsonl";
  if (fs::exists(timings)) merge_timings(timings.string(), samples);
  AggregateOptions options;
  options.rho_threshold = rho_threshold_from_run(run);
  if (run.is_object() && run.contains("statistics")) options.statistics = statistics_from_json(run["statistics"]);
  RunAggregate agg = aggregate_samples(samples, options);
  agg.load = load;
  agg.run = run;
  agg.budgets = aggregate_budgets(files);
  agg.turns = aggregate_turns(files);
  return agg;
}

}  // namespace claa
