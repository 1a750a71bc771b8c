// summary.json, layers.csv, report.md / report.html (through report_page.h) and write_report(), which
// writes every report file of a rank-mode run.
#include "reports/budget_report.h"
#include "reports/turn_report.h"
#include "reports/report_writers.h"

#include <fmt/format.h>

#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "reports/paired_stats.h"
#include "reports/report_page.h"

namespace claa {

namespace {

using ojson = nlohmann::ordered_json;

constexpr const char* kAggregation =
    "dataset scope: mean over the dataset's non-empty-answer samples, stderr = sample std / sqrt(n); "
    "category and overall scopes: unweighted mean of the dataset means, stderr = sqrt(sum of dataset stderr^2) / "
    "datasets, n = samples summed; overall = mean over all datasets. Summaries average the per-layer means over "
    "layers; best/worst layer by mean spearman; layer_std = sample std of per-layer mean spearman. Task score: points "
    "(100 * score / max_score) over ALL samples of a dataset, empty answers included, then the same averaging.";

ojson summary_of(const HeuristicSummary& s, const RunAggregate& agg) {
  ojson recall = ojson::object();
  for (size_t k = 0; k < agg.keep_rates.size(); ++k) recall[fmt::format("{}", agg.keep_rates[k])] = s.recall[k];
  return {{"mean_spearman", s.mean_rho}, {"mean_kendall", s.mean_kendall}, {"recall", recall},
          {"best_layer", s.best_layer},  {"best_spearman", s.best_rho},    {"worst_layer", s.worst_layer},
          {"worst_spearman", s.worst_rho}, {"layer_std", s.layer_std},     {"layers_below_threshold", s.layers_below}};
}

ojson heuristic_json(const HeuristicAggregate& h, const RunAggregate& agg) {
  ojson layers = ojson::array();
  for (const auto& layer : h.layers) {
    ojson metrics = ojson::object();
    for (size_t m = 0; m < agg.metrics.size(); ++m)
      if (layer[m].n > 0) metrics[agg.metrics[m]] = stat_json(layer[m]);
    layers.push_back(metrics);
  }
  return {{"summary", summary_of(h.summary, agg)}, {"layers", layers}};
}

ojson scope_json(const ScopeAggregate& s, const RunAggregate& agg) {
  ojson heuristics = ojson::object();
  for (const HeuristicAggregate& h : s.heuristics)
    if (h.has_data) heuristics[h.name] = heuristic_json(h, agg);
  return {{"scope", s.label()},          {"kind", s.kind},   {"name", s.name},
          {"datasets", s.datasets},      {"samples", s.samples}, {"empty_answers", s.empty_answers},
          {"score", stat_json(s.score)}, {"heuristics", heuristics}};
}

ojson dataset_json(const DatasetInfo& d) {
  return {{"name", d.name},
          {"task", d.task},
          {"category", d.category},
          {"samples", d.samples},
          {"empty_answers", d.empty_answers},
          {"empty_answer_ids", d.empty_ids},
          {"max_score", d.max_score},
          {"prefill_seconds", stat_json(d.prefill_seconds)},
          {"decode_seconds", stat_json(d.decode_seconds)}};
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string quoted = "\"";
  for (char c : s) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

ojson paired_table_json(const PairedTable& t) {
  ojson vs_best = ojson::array();
  for (const PairedDiff& d : t.vs_best) {
    ojson j = {{"heuristic", d.method}};
    j.update(paired_json(d));
    vs_best.push_back(j);
  }
  ojson out = {{"scope", t.scope}};
  if (t.layer >= 0) out["layer"] = t.layer;
  out["best"] = t.best.empty() ? ojson(nullptr) : ojson(t.best);
  out["permutation_resamples"] = t.permutations;
  out["holm_family_size"] = t.family_size;
  out["vs_best"] = vs_best;
  return out;
}

// The heuristics tables' Δρ columns and the per-layer table's marks (aggregate.h RhoComparison).
ojson paired_rho_json(const RhoComparison& c) {
  ojson scopes = ojson::array(), layers = ojson::array();
  for (const PairedTable& t : c.scopes) scopes.push_back(paired_table_json(t));
  for (const PairedTable& t : c.layers) layers.push_back(paired_table_json(t));
  return {{"statistic",
           "per sample: Spearman rho with the oracle, averaged over the sample's layers (scopes) or at one layer "
           "(layers); delta = weighted mean over the samples both heuristics have of (heuristic - best), each of the "
           "n_d samples of one of D datasets weighing 1 / (D n_d) (the tables' mean of dataset means); ci: percentile "
           "bootstrap over the pooled samples; p: two-sided paired sign-flip permutation test (exact when 2^n <= "
           "permutation_resamples); p_holm: Holm within each scope table and within each layer, over all "
           "holm_family_size = H (H - 1) / 2 pairs of its H heuristics (the best is chosen from the same samples)"},
          {"statistics", statistics_json(c.options)},
          {"scopes", scopes},
          {"layers", layers}};
}

std::vector<std::string> torn_lines(const RunAggregate& agg) {
  std::vector<std::string> out;
  for (const std::string& w : agg.load.torn_lines) out.push_back(without_directory(w));
  return out;
}

}  // namespace

std::string without_directory(const std::string& where) { return std::filesystem::path(where).filename().string(); }

ojson summary_json(const RunAggregate& agg) {
  ojson heuristics = ojson::array(), datasets = ojson::array(), scopes = ojson::array();
  for (const HeuristicMeta& h : agg.heuristics)
    heuristics.push_back({{"name", h.name}, {"note", h.note}, {"layer_independent", h.layer_independent}});
  for (const DatasetInfo& d : agg.datasets) datasets.push_back(dataset_json(d));
  for (const ScopeAggregate& s : agg.scopes) scopes.push_back(scope_json(s, agg));
  ojson out = {{"format", "claa-summary"},
          {"version", 1},
          {"aggregation", kAggregation},
          {"run", ojson(agg.run)},
          {"rho_threshold", agg.rho_threshold},
          {"keep_rates", agg.keep_rates},
          {"layers", agg.n_layers},
          {"metrics", agg.metrics},
          {"samples", agg.samples},
          {"empty_answers", agg.empty_answers},
          {"nonfinite", agg.nonfinite},
          {"torn_lines_ignored", torn_lines(agg)},
          {"heuristics", heuristics},
          {"datasets", datasets},
          {"scopes", scopes}};
  ojson best = ojson::object(), vs_best = ojson::array();
  for (const auto& [keep, name] : agg.lead.best) best[fmt::format("{:g}", keep)] = name;
  for (const PairedDiff& d : agg.lead.vs_best) {
    ojson j = paired_json(d);
    j["heuristic"] = d.method;
    j["keep"] = d.keep;
    vs_best.push_back(j);
  }
  out["lead_metric"] = {{"metric", agg.lead.base + "@l_p"},
                        {"layer", agg.lead.layer},
                        {"statistics", statistics_json(agg.lead.options)},
                        {"holm_family_size", agg.lead.family_size},
                        {"best", best},
                        {"paired_vs_best", vs_best}};
  out["paired_spearman"] = paired_rho_json(agg.rho_paired);
  if (!agg.budgets.empty()) out["budget_diagnostics"] = budget_json(agg.budgets);
  if (!agg.turns.empty()) out["turns"] = turn_json(agg.turns);
  if (!agg.costs.empty()) {
    ojson costs = ojson::array();
    for (const HeuristicCost& c : agg.costs)
      costs.push_back({{"name", c.name},
                       {"samples", c.samples},
                       {"score_seconds", c.score_seconds},
                       {"compare_seconds", c.compare_seconds},
                       {"prefill_seconds_sum", c.prefill_seconds}});
    out["heuristic_costs"] = costs;
  }
  return out;
}

std::string layers_csv(const RunAggregate& agg) {
  std::string out = "scope,heuristic,layer,metric,mean,stderr,n\n";
  for (const ScopeAggregate& s : agg.scopes)
    for (const HeuristicAggregate& h : s.heuristics)
      for (size_t l = 0; l < h.layers.size(); ++l)
        for (size_t m = 0; m < agg.metrics.size(); ++m) {
          const Stat& st = h.layers[l][m];
          if (st.n == 0) continue;
          out += fmt::format("{},{},{},{},{},{},{}\n", csv_field(s.label()), csv_field(h.name), l, agg.metrics[m],
                             st.mean, st.se, st.n);
        }
  return out;
}

namespace {

ReportPage rank_page(const RunAggregate& agg, const std::vector<PlotFile>& plots) {
  ReportPage page("claa report", report_preamble(agg), report_sections(agg), plots);
  page.files_markdown =
      "- `summary.json`: every aggregate (per scope × heuristic × layer × metric: mean, stderr, n).\n"
      "- `layers.csv`: the same per-layer numbers as a flat table (scope, heuristic, layer, metric, mean, stderr, n).\n"
      "- `plots/`: gnuplot data (.dat) and scripts (.gp) behind the figures; rerun `gnuplot NAME.gp` there.\n"
      "- `explorer.html`: the interactive page: token views (what each heuristic keeps), the layer × heuristic "
      "heatmap with per-layer drill-down.\n";
  page.files_html =
      "<p class=\"note\">Files: <a href=\"explorer.html\">explorer.html</a> (interactive: token views, "
      "drill-down), <a href=\"summary.json\">summary.json</a> (every aggregate), "
      "<a href=\"layers.csv\">layers.csv</a> (per-layer numbers), plots/ (gnuplot .dat and .gp sources).</p>\n";
  return page;
}

}  // namespace

std::string report_markdown(const RunAggregate& agg, const std::vector<PlotFile>& plots) {
  return render_markdown(rank_page(agg, plots));
}

std::string report_html(const RunAggregate& agg, const std::vector<PlotFile>& plots) {
  return render_html(rank_page(agg, plots));
}

void write_text_file(const std::string& path, const std::string& content) { write_file_atomically(path, content); }

ReportFiles write_report_files(const std::string& run_dir, const ReportOptions& options, const ReportContent& content) {
  namespace fs = std::filesystem;
  ReportFiles files;
  auto in_dir = [&](const char* name) { return (fs::path(run_dir) / name).string(); };
  files.summary_json = in_dir("summary.json");
  if (content.layers_csv) files.layers_csv = in_dir("layers.csv");
  files.markdown = in_dir("report.md");
  files.html = in_dir("report.html");
  if (options.plots) {
    files.plots = content.plots();
    files.gnuplot_missing = !files.plots.gnuplot_found;
  }
  write_text_file(files.summary_json, content.summary_json().dump(2) + "\n");
  if (content.layers_csv) write_text_file(files.layers_csv, content.layers_csv());
  write_text_file(files.markdown, content.markdown(files.plots.plots));
  write_text_file(files.html, content.html(files.plots.plots));
  return files;
}

ReportFiles write_report(const RunAggregate& agg, const std::string& run_dir, const ReportOptions& options) {
  ReportContent content;
  content.plots = [&] { return render_plots(agg, run_dir, options.gnuplot); };
  content.summary_json = [&] { return summary_json(agg); };
  content.layers_csv = [&] { return layers_csv(agg); };
  content.markdown = [&](const std::vector<PlotFile>& plots) { return report_markdown(agg, plots); };
  content.html = [&](const std::vector<PlotFile>& plots) { return report_html(agg, plots); };
  return write_report_files(run_dir, options, content);
}

}  // namespace claa
