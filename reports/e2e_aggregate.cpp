// Aggregation of e2e-mode samples into method × keep rows (rules in e2e_aggregate.h).
#include "reports/e2e_aggregate.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "core/error.h"
#include "reports/budget_report.h"
#include "reports/record_fields.h"
#include "reports/report_format.h"

namespace claa {

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

std::string E2eRow::label() const { return reference ? "Full KV" : method + " @ " + percent(keep); }

E2eAggregate aggregate_e2e(const std::vector<E2eSample>& samples, const ResamplingOptions& statistics) {
  require(!samples.empty(), "no e2e samples");
  E2eAggregate agg;
  agg.samples = int64_t(samples.size());

  // Datasets (sorted), with one category and one max_score each.
  std::map<std::string, E2eDataset> datasets;
  std::map<std::string, std::string> first_where;
  for (const E2eSample& s : samples) {
    auto [it, fresh] = datasets.try_emplace(s.dataset);
    E2eDataset& d = it->second;
    if (fresh) {
      d.name = s.dataset;
      d.task = s.task;
      d.category = s.category;
      d.max_score = s.max_score;
      first_where[s.dataset] = s.where;
    }
    require(d.category == s.category,
            fmt::format("{}: dataset '{}' has category '{}' here but '{}' at {}", s.where, s.dataset, s.category,
                        d.category, first_where[s.dataset]));
    require(d.max_score == s.max_score,
            fmt::format("{}: dataset '{}' has max_score {} here but {} at {}", s.where, s.dataset, s.max_score,
                        d.max_score, first_where[s.dataset]));
    ++d.samples;
  }
  std::map<std::string, int> task_count;
  for (const auto& [name, d] : datasets) ++task_count[d.task];
  std::map<std::string, size_t> dataset_index;
  std::set<std::string> categories;
  for (auto& [name, d] : datasets) {
    d.column = task_count[d.task] > 1 ? d.name : d.task;
    dataset_index[name] = agg.datasets.size();
    categories.insert(d.category);
    agg.datasets.push_back(d);
  }
  agg.categories.assign(categories.begin(), categories.end());

  // Rows: method order of first appearance; keeps ascending.
  struct Acc {
    std::vector<std::vector<double>> scores;  // per dataset
    int64_t samples = 0;
    double kept = 0.0, share = 0.0, bytes = 0.0;
    double seconds = 0.0;
    int64_t timed = 0;
    double keep = 1.0;
  };
  const size_t D = agg.datasets.size();
  bool has_full = false;
  Acc full{std::vector<std::vector<double>>(D)};
  std::map<std::string, std::map<double, Acc>> by_method;
  std::set<double> keeps;
  for (const E2eSample& s : samples) {
    const size_t d = dataset_index[s.dataset];
    for (const E2eResult& r : s.results) {
      Acc* acc = &full;
      if (r.method == kFullKvMethod) {
        if (!has_full) full.keep = r.keep;
        has_full = true;
      } else {
        if (!by_method.count(r.method)) agg.methods.push_back(r.method);
        acc = &by_method[r.method][r.keep];
        if (acc->scores.empty()) acc->scores.resize(D);
        acc->keep = r.keep;
        keeps.insert(r.keep);
      }
      acc->scores[d].push_back(100.0 * r.score / s.max_score);
      ++acc->samples;
      acc->kept += double(r.kept_tokens);
      acc->share += s.prompt_tokens > 0 ? double(r.kept_tokens) / double(s.prompt_tokens) : kNaN;
      acc->bytes += double(r.cache_bytes);
      if (std::isfinite(r.prefill_seconds)) acc->seconds += r.prefill_seconds, ++acc->timed;
    }
  }
  agg.keep_rates.assign(keeps.begin(), keeps.end());

  auto make_row = [&](const std::string& method, const Acc& a, bool reference) {
    E2eRow row;
    row.method = method;
    row.keep = a.keep;
    row.reference = reference;
    for (const auto& v : a.scores) row.datasets.push_back(sample_stat(v));
    row.average = combine(row.datasets);
    for (const std::string& c : agg.categories) {
      std::vector<Stat> in;
      for (size_t d = 0; d < D; ++d)
        if (agg.datasets[d].category == c) in.push_back(row.datasets[d]);
      row.categories[c] = combine(in);
    }
    row.samples = a.samples;
    const double n = double(std::max<int64_t>(a.samples, 1));
    row.kept_tokens = a.kept / n;
    row.kept_share = a.share / n;
    row.cache_bytes = a.bytes / n;
    row.prefill_seconds = a.timed > 0 ? a.seconds / double(a.timed) : kNaN;
    return row;
  };
  if (has_full) agg.rows.push_back(make_row(kFullKvMethod, full, true));
  for (const std::string& m : agg.methods)
    for (const auto& [keep, acc] : by_method[m]) agg.rows.push_back(make_row(m, acc, false));

  const E2eRow* ref = agg.reference();
  for (E2eRow& row : agg.rows) {
    row.delta.assign(D, kNaN);
    row.delta_average = kNaN;
    if (!ref) continue;
    for (size_t d = 0; d < D; ++d)
      if (row.datasets[d].n > 0 && ref->datasets[d].n > 0) row.delta[d] = row.datasets[d].mean - ref->datasets[d].mean;
    if (row.average.n > 0 && ref->average.n > 0) row.delta_average = row.average.mean - ref->average.mean;
  }
  agg.paired = paired_comparisons(samples, statistics);
  return agg;
}

E2eAggregate aggregate_e2e_run_dir(const std::string& run_dir, const std::vector<std::string>& sample_files) {
  const std::vector<std::string> files = record::sample_paths(run_dir, sample_files);
  const nlohmann::json run = record::read_run_json(run_dir);
  LoadStats load;
  std::vector<E2eSample> samples = load_e2e_samples(files, &load);
  require(!samples.empty(), fmt::format("{}: no samples", fmt::join(files, ", ")));
  E2eAggregate agg = aggregate_e2e(
      samples, statistics_from_json(run.is_object() ? run.value("statistics", nlohmann::json()) : nlohmann::json()));
  agg.load = load;
  agg.run = run;
  agg.budgets = aggregate_budgets(files);
  return agg;
}

}  // namespace claa
