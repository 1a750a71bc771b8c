// The content of an e2e run's summary.json and of its report pages as plain tables (report_writers.h),
// so report.md and report.html show identical numbers.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <limits>

#include "reports/budget_report.h"
#include "reports/e2e_report.h"
#include "reports/report_format.h"

namespace claa {

namespace {

using ojson = nlohmann::ordered_json;
const double kNaN = std::numeric_limits<double>::quiet_NaN();

constexpr const char* kAggregation =
    "scores in points (100 * score / max_score per sample). Per method x keep row: dataset = mean over the "
    "dataset's samples, stderr = sample std / sqrt(n); average and categories = unweighted mean of the dataset "
    "means (every dataset weighs the same), stderr = sqrt(sum of dataset stderr^2) / datasets, n = samples summed; "
    "delta_vs_full = row mean - Full KV mean; kept_tokens, kept_share, cache_bytes, cache_mib = plain means over "
    "the row's samples (MiB = 2^20 bytes). The method 'full' is the Full KV reference row.";

constexpr const char* kPairedRule =
    "paired over the samples both rows answered: delta = mean of per-sample point differences (each sample weighs "
    "the same); ci = percentile bootstrap over those samples; p = two-sided paired sign-flip permutation test "
    "(exact when 2^n <= permutation_resamples); p_holm = Holm's correction over each family (all rows vs Full KV; "
    "all rows vs the best baseline at their keep rate, the oracle emulation excluded, with the family size of every "
    "pair of methods at each keep rate since the best is chosen from the same samples); distinguishable = p_holm < "
    "1 - level.";

// JSON has no NaN: missing numbers are null.
ojson maybe(double v) { return std::isnan(v) ? ojson(nullptr) : ojson(v); }

// The paired comparison of `row` in `family` (null when it has none: Full KV, or the best baseline vs itself).
ojson paired_of(const E2eRow& row, const std::vector<PairedDiff>& family) {
  for (const PairedDiff& d : family)
    if (d.method == row.method && d.keep == row.keep) return paired_json(d);
  return nullptr;
}

ojson row_json(const E2eRow& row, const E2eAggregate& agg) {
  ojson datasets = ojson::object(), categories = ojson::object(), delta = ojson::object();
  for (size_t d = 0; d < agg.datasets.size(); ++d) {
    if (row.datasets[d].n > 0) datasets[agg.datasets[d].name] = stat_json(row.datasets[d]);
    delta[agg.datasets[d].name] = maybe(row.delta[d]);
  }
  for (const auto& [c, st] : row.categories)
    if (st.n > 0) categories[c] = stat_json(st);
  return {{"label", row.label()},
          {"method", row.method},
          {"keep", row.keep},
          {"reference", row.reference},
          {"samples", row.samples},
          {"complete", row.complete()},
          {"average", stat_json(row.average)},
          {"datasets", datasets},
          {"categories", categories},
          {"delta_vs_full", {{"average", maybe(row.delta_average)}, {"datasets", delta}}},
          {"kept_tokens", row.kept_tokens},
          {"kept_share", maybe(row.kept_share)},
          {"cache_bytes", row.cache_bytes},
          {"cache_mib", row.cache_bytes / kMiB},
          {"prefill_seconds", maybe(row.prefill_seconds)},
          {"paired_vs_full", row.reference ? ojson(nullptr) : paired_of(row, agg.paired.vs_full)},
          {"paired_vs_best", row.reference ? ojson(nullptr) : paired_of(row, agg.paired.vs_best)}};
}

}  // namespace

ojson e2e_summary_json(const E2eAggregate& agg) {
  ojson datasets = ojson::array(), rows = ojson::array(), torn = ojson::array();
  for (const E2eDataset& d : agg.datasets)
    datasets.push_back({{"name", d.name},
                        {"task", d.task},
                        {"column", d.column},
                        {"category", d.category},
                        {"samples", d.samples},
                        {"max_score", d.max_score}});
  for (const E2eRow& r : agg.rows) rows.push_back(row_json(r, agg));
  for (const std::string& w : agg.load.torn_lines) torn.push_back(without_directory(w));
  ojson out = {{"format", "claa-e2e-summary"},
          {"version", 1},
          {"mode", "e2e"},
          {"aggregation", kAggregation},
          {"run", ojson(agg.run)},
          {"samples", agg.samples},
          {"torn_lines_ignored", torn},
          {"methods", agg.methods},
          {"keep_rates", agg.keep_rates},
          {"reference", agg.reference() ? ojson(kFullKvMethod) : ojson(nullptr)},
          {"categories", agg.categories},
          {"datasets", datasets},
          {"rows", rows}};
  ojson best = ojson::object();
  for (const auto& [keep, method] : agg.paired.best) best[fmt::format("{:g}", keep)] = method;
  out["paired_statistics"] = {
      {"rule", kPairedRule}, {"options", statistics_json(agg.paired.options)}, {"best_baseline", best}};
  if (!agg.budgets.empty()) out["budget_diagnostics"] = budget_json(agg.budgets);
  return out;
}

namespace {

std::vector<std::string> row_head(const E2eRow& r) {
  return {r.reference ? "Full KV" : r.method, percent(r.keep)};
}

std::string average_cell(const E2eRow& r, double v) {
  return points(v) + (r.complete() || std::isnan(v) ? "" : "*");
}

bool any_incomplete(const E2eAggregate& agg) {
  for (const E2eRow& r : agg.rows)
    if (!r.complete()) return true;
  return false;
}

constexpr const char* kIncomplete = " * = the row lacks some datasets; its average is over the datasets it has.";

Table score_table(const E2eAggregate& agg) {
  Table t;
  t.title = "Task scores (Table 1)";
  t.intro = fmt::format(
      "Points (100 × score / max score), one decimal. Each cell is the mean over the dataset's samples; "
      "Average is the mean of the {} dataset means (every dataset weighs the same, however many samples it has).",
      agg.datasets.size());
  t.header = {"method", "keep"};
  for (const E2eDataset& d : agg.datasets) t.header.push_back(d.column);
  t.header.push_back("Average");
  for (const E2eRow& r : agg.rows) {
    std::vector<std::string> row = row_head(r);
    for (const Stat& s : r.datasets) row.push_back(s.n > 0 ? points(s.mean) : "—");
    row.push_back(average_cell(r, r.average.n > 0 ? r.average.mean : kNaN));
    t.rows.push_back(row);
  }
  std::string foot = "Average ± stderr: ";
  for (size_t i = 0; i < agg.rows.size(); ++i)
    foot += fmt::format("{}{} {:.1f} ± {:.1f}", i ? "; " : "", agg.rows[i].label(), agg.rows[i].average.mean,
                        agg.rows[i].average.se);
  t.footnote = foot + "." + (any_incomplete(agg) ? kIncomplete : "");
  return t;
}

Table delta_table(const E2eAggregate& agg) {
  Table t;
  t.title = "Δ vs Full KV";
  const E2eRow* ref = agg.reference();
  if (!ref) {
    t.intro = "No Full KV ('full') results in this run: no differences to show.";
    return t;
  }
  t.intro = "Row score minus Full KV score, in points (negative = worse than Full KV); Average is the difference "
            "of the averages (= the mean of the per-dataset differences when both rows have every dataset).";
  t.header = {"method", "keep"};
  for (const E2eDataset& d : agg.datasets) t.header.push_back(d.column);
  t.header.push_back("Average");
  for (const E2eRow& r : agg.rows) {
    if (r.reference) continue;
    std::vector<std::string> row = row_head(r);
    for (double v : r.delta) row.push_back(signed_points(v));
    row.push_back(signed_points(r.delta_average) + (r.complete() || std::isnan(r.delta_average) ? "" : "*"));
    t.rows.push_back(row);
  }
  if (any_incomplete(agg)) t.footnote = kIncomplete + 1;
  return t;
}

std::string paired_cell(const PairedDiff& d) {
  if (d.n == 0) return "—";
  return fmt::format("{} [{}, {}]{}", signed_points(d.mean), signed_points(d.ci.low), signed_points(d.ci.high),
                     d.distinguishable ? " ✓" : "");
}

std::string p_cell(const PairedDiff& d) { return d.n == 0 ? "—" : fmt::format("{:.3g} / {:.3g}", d.p, d.p_holm); }

// Paired differences on the same samples: vs Full KV and vs the best baseline at the row's keep rate.
Table paired_table(const E2eAggregate& agg) {
  const PairedComparisons& pc = agg.paired;
  Table t;
  t.title = "Paired differences (same samples)";
  t.intro = fmt::format(
      "Δ = mean over the samples both rows answered of the per-sample score difference, in points, with its {:g}% "
      "percentile-bootstrap interval ({} resamples); p = two-sided paired permutation test (sign flips, {} resamples "
      "or exact), then Holm-corrected over the column's family (vs best: as many hypotheses as there are pairs of "
      "methods at each keep, since the best is picked from these samples). ✓ = distinguishable from noise (Holm p < "
      "{:g}); "
      "without ✓ the difference is within what resampling the same samples produces. Best baseline per keep: the "
      "highest-scoring method there, the oracle emulation excluded. Seed {}.",
      100 * pc.options.level, pc.options.bootstrap_resamples, pc.options.permutation_resamples, 1 - pc.options.level,
      pc.options.seed);
  t.header = {"method", "keep", "Δ vs Full KV [CI]", "p / Holm p", "vs best", "Δ vs best [CI]", "p / Holm p"};
  for (const E2eRow& r : agg.rows) {
    if (r.reference) continue;
    std::vector<std::string> row = row_head(r);
    const PairedDiff* full = nullptr;
    const PairedDiff* best = nullptr;
    for (const PairedDiff& d : pc.vs_full)
      if (d.method == r.method && d.keep == r.keep) full = &d;
    for (const PairedDiff& d : pc.vs_best)
      if (d.method == r.method && d.keep == r.keep) best = &d;
    row.push_back(full ? paired_cell(*full) : "—");
    row.push_back(full ? p_cell(*full) : "—");
    row.push_back(best ? best->against : "(best)");
    row.push_back(best ? paired_cell(*best) : "—");
    row.push_back(best ? p_cell(*best) : "—");
    t.rows.push_back(row);
  }
  return t;
}

Table category_table(const E2eAggregate& agg) {
  Table t;
  t.title = "Per category";
  t.intro = "Mean of the category's dataset means, in points.";
  t.header = {"method", "keep"};
  for (const std::string& c : agg.categories) {
    int n = 0;
    for (const E2eDataset& d : agg.datasets) n += d.category == c;
    t.header.push_back(fmt::format("{} ({})", c, n));
  }
  t.header.push_back("Average");
  for (const E2eRow& r : agg.rows) {
    std::vector<std::string> row = row_head(r);
    for (const std::string& c : agg.categories) {
      const Stat& s = r.categories.at(c);
      row.push_back(s.n > 0 ? points(s.mean) : "—");
    }
    row.push_back(average_cell(r, r.average.n > 0 ? r.average.mean : kNaN));
    t.rows.push_back(row);
  }
  return t;
}

Table cache_table(const E2eAggregate& agg) {
  Table t;
  t.title = "Kept tokens and KV cache";
  t.intro =
      "Plain means over the row's samples (all datasets pooled): tokens kept, kept share of the prompt, "
      "KV-cache size in MiB (2^20 bytes), and time to first token (the prefill and its first token, measured "
      "in the run, one sample after another: a cost front, not the TTFT protocol of `claa ttft`).";
  t.header = {"method",     "keep",           "samples",          "mean kept tokens",
              "kept share", "mean cache MiB", "cache vs Full KV", "mean TTFT s"};
  const E2eRow* ref = agg.reference();
  for (const E2eRow& r : agg.rows) {
    std::vector<std::string> row = row_head(r);
    row.push_back(fmt::format("{}", r.samples));
    row.push_back(fmt::format("{:.1f}", r.kept_tokens));
    row.push_back(std::isnan(r.kept_share) ? "—" : fmt::format("{:.1f}%", 100.0 * r.kept_share));
    row.push_back(fmt::format("{:.2f}", r.cache_bytes / kMiB));
    row.push_back(ref && ref->cache_bytes > 0 ? fmt::format("{:.1f}%", 100.0 * r.cache_bytes / ref->cache_bytes)
                                              : "—");
    row.push_back(std::isnan(r.prefill_seconds) ? "—" : fmt::format("{:.3f}", r.prefill_seconds));
    t.rows.push_back(row);
  }
  return t;
}

Table dataset_table(const E2eAggregate& agg) {
  Table t;
  t.title = "Datasets";
  t.header = {"column", "dataset", "category", "samples", "max score"};
  for (const E2eDataset& d : agg.datasets)
    t.rows.push_back({d.column, d.name, d.category, fmt::format("{}", d.samples), fmt::format("{:g}", d.max_score)});
  return t;
}

}  // namespace

std::vector<std::string> e2e_report_preamble(const E2eAggregate& agg) {
  std::vector<std::string> out;
  out.push_back("mode: e2e (answers scored per prefill method × keep rate)");
  const std::string name = run_field(agg.run, {"config", "name"});
  if (!name.empty()) out.push_back("run: " + name);
  const std::string model = run_field(agg.run, {"model", "source"});
  const std::string model_path = model.empty() ? run_field(agg.run, {"model", "path"}) : model;
  if (!model_path.empty()) out.push_back("model: " + model_path);
  for (const auto& [label, path] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"git commit", {"git_commit"}}, {"device", {"device"}}, {"libtorch", {"libtorch"}}}) {
    const std::string v = run_field(agg.run, path);
    if (!v.empty()) out.push_back(label + ": " + v);
  }
  std::vector<std::string> keeps;
  for (double k : agg.keep_rates) keeps.push_back(percent(k));
  out.push_back(fmt::format("{} samples in {} datasets; methods: {}{}; keep rates: {}", agg.samples,
                            agg.datasets.size(), agg.reference() ? "Full KV, " : "", fmt::join(agg.methods, ", "),
                            fmt::join(keeps, ", ")));
  for (const std::string& w : agg.load.torn_lines) out.push_back("ignored a torn last line: " + without_directory(w));
  return out;
}

std::vector<ReportSection> e2e_report_sections(const E2eAggregate& agg) {
  ReportSection scores{"End-to-end quality",
                       "Rows are method × keep rate (Full KV once, then each method in order of first appearance, "
                       "keep rates ascending); columns are the datasets (by task) and their Average. Averages are "
                       "unweighted means of the dataset means.",
                       {score_table(agg), delta_table(agg), paired_table(agg), category_table(agg)}};
  ReportSection cache{"Cache", "", {cache_table(agg), dataset_table(agg)}};
  std::vector<ReportSection> sections = {scores, cache};
  for (ReportSection& s : budget_sections(agg.budgets)) sections.push_back(std::move(s));
  return sections;
}

}  // namespace claa
