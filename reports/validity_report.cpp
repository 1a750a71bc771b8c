// Reports of a both-mode run (validity_report.h).
#include "reports/validity_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "reports/e2e_report.h"
#include "reports/gnuplot_figures.h"
#include "reports/report_format.h"
#include "reports/report_page.h"

namespace claa {

namespace {

namespace fs = std::filesystem;

std::string number(double v, int digits = 3) { return std::isfinite(v) ? fmt::format("{:.{}f}", v, digits) : "—"; }

std::string with_interval(double v, const Interval& ci) {
  if (!std::isfinite(v)) return "—";
  return fmt::format("{:.3f} [{}, {}]", v, number(ci.low), number(ci.high));
}

Table metric_table(const ValidityAnalysis& v) {
  Table t;
  t.title = "Which rank metric predicts the answers";
  t.intro = fmt::format(
      "Best first. ρ across cells: Spearman ρ between the method × keep cells' mean metric and their mean score "
      "({} cells). ρ across methods per keep: the same across the methods at one keep rate, averaged over the keep "
      "rates (a keep-free metric such as Spearman ρ can order methods, not budgets). AUC within cells: how often a "
      "full-marks answer's metric exceeds a wrong answer's in the same "
      "cell (0.5 = no information). Brackets: {:g}% percentile-bootstrap intervals over the samples ({} resamples, "
      "seed {}); metrics whose intervals overlap are not told apart by this run.",
      v.cells.size(), 100 * v.options.level, v.options.bootstrap_resamples, v.options.seed);
  t.header = {"rank metric", "ρ across cells [CI]", "ρ across methods per keep [CI]", "AUC within cells [CI]",
              "samples"};
  for (const MetricValidity& m : v.metrics)
    t.rows.push_back({m.name, with_interval(m.rho, m.rho_ci), with_interval(m.rho_per_keep, m.rho_per_keep_ci),
                      with_interval(m.auc, m.auc_ci), fmt::format("{}", m.samples)});
  t.footnote =
      "@l_p = at the layer the pipeline prunes with (the layer mean for kvpress, LazyLLM and SpecPrefill); "
      "recall-style metrics at the cell's keep rate.";
  return t;
}

// The lead metric and ρ at l_p per cell, beside the score: the numbers behind the scatter plots.
Table cell_table(const ValidityAnalysis& v) {
  Table t;
  t.title = "Cells";
  const MetricValidity& lead = v.metrics.front();
  const MetricValidity* rho = nullptr;
  for (const MetricValidity& m : v.metrics)
    if (m.name == "spearman@l_p") rho = &m;
  t.intro = fmt::format("Per method × keep: mean score (points) and mean {} over its {} samples{}.", lead.name,
                        lead.samples, rho && rho != &lead ? ", and mean spearman@l_p" : "");
  t.header = {"method", "keep", "score", lead.name};
  if (rho && rho != &lead) t.header.push_back("spearman@l_p");
  for (size_t c = 0; c < lead.cells.size(); ++c) {
    std::vector<std::string> row = {lead.cells[c].method, percent(lead.cells[c].keep), points(lead.cells[c].score),
                                    number(lead.cells[c].metric)};
    if (rho && rho != &lead) row.push_back(number(rho->cells[c].metric));
    t.rows.push_back(row);
  }
  return t;
}

// Scatter of the cells for one metric: one block per method, points (metric, score). `methods` is the e2e
// report's method order, so each method keeps its colour across the report's figures.
Figure scatter_figure(const MetricValidity& m, const fs::path& dir, const std::string& name,
                      const std::vector<std::string>& order) {
  std::vector<std::string> methods;
  for (const std::string& method : order)
    for (const ValidityCell& c : m.cells)
      if (c.method == method && std::find(methods.begin(), methods.end(), method) == methods.end())
        methods.push_back(method);
  for (const ValidityCell& c : m.cells)
    if (std::find(methods.begin(), methods.end(), c.method) == methods.end()) methods.push_back(c.method);
  std::string dat = fmt::format("# {}: mean metric, mean score (points), keep (%); one block per method\n", m.name);
  for (const std::string& method : methods) {
    dat += "# " + method + "\n";
    for (const ValidityCell& c : m.cells)
      if (c.method == method && std::isfinite(c.metric))
        dat += fmt::format("{:.6f} {:.6f} {:g}\n", c.metric, c.score, 100 * c.keep);
    dat += "\n\n";
  }
  write_text_file((dir / (name + ".dat")).string(), dat);
  const std::string title = fmt::format("Score vs {} per method × keep (ρ across cells {})", m.name, number(m.rho));
  std::string body = fmt::format(
      "set title {} font \",13\"\nset xlabel {}\nset ylabel \"mean score (points)\"\nset grid lc rgb \"#e0e0e0\"\n"
      "set key outside right top vertical Left reverse font \",11\"\nset border 3\nset xtics nomirror\n"
      "set ytics nomirror\nset offsets graph 0.05, graph 0.05, graph 0.05, 0\nset yrange [0:*]\nplot ",
      gnuplot_quote(title), gnuplot_quote("mean " + m.name));
  for (size_t i = 0; i < methods.size(); ++i)
    body +=
        fmt::format("{}{} index {} using 1:2 with linespoints lw 1.5 ps 1.6 pt {} lc rgb {} title {}",
                    i ? ", \\\n     " : "", gnuplot_quote(name + ".dat"), i, plot_points()[i % plot_points().size()],
                    gnuplot_quote(plot_colors()[i % plot_colors().size()]), gnuplot_quote(methods[i]));
  return {name, title, 900, 520, body + "\n", 11, "Score vs " + m.name};
}

PlotResult render_both_plots(const E2eAggregate& agg, const ValidityAnalysis& v, const std::string& run_dir,
                             const std::string& gnuplot) {
  PlotResult e2e = render_e2e_plots(agg, run_dir, gnuplot);
  const fs::path dir = fs::path(run_dir) / "plots";
  std::vector<Figure> figures;
  if (!v.metrics.empty()) {
    figures.push_back(scatter_figure(v.metrics.front(), dir, "validity_lead", agg.methods));
    for (const MetricValidity& m : v.metrics)
      if (m.name == "spearman@l_p" && &m != &v.metrics.front())
        figures.push_back(scatter_figure(m, dir, "validity_spearman", agg.methods));
  }
  PlotResult mine = render_figures(figures, dir, gnuplot);
  // The validity figures first: the report leads with them.
  mine.gnuplot_found = mine.gnuplot_found || e2e.gnuplot_found;
  mine.plots.insert(mine.plots.end(), e2e.plots.begin(), e2e.plots.end());
  mine.errors.insert(mine.errors.end(), e2e.errors.begin(), e2e.errors.end());
  return mine;
}

ReportPage both_page(const E2eAggregate& agg, const ValidityAnalysis& v, const std::vector<PlotFile>& plots) {
  std::vector<std::string> preamble = e2e_report_preamble(agg);
  preamble.front() = "mode: both (each pipeline's answers and its selection ranking's rank metrics, same samples)";
  if (v.empty_answers > 0)
    preamble.push_back(
        fmt::format("{} samples with an empty full-KV answer have no oracle: left out of the validity "
                    "analysis",
                    v.empty_answers));
  std::vector<ReportSection> sections = validity_sections(v);
  for (ReportSection& s : e2e_report_sections(agg)) sections.push_back(std::move(s));
  ReportPage page("claa report (both)", preamble, sections, plots);
  page.figures = ReportPage::Figures::AfterFirstSection;
  page.align_numbers = true;
  page.reference_row = "Full KV";
  page.extra_style = "\ntr.ref td{background:#f7f7f7;font-weight:600}";
  page.files_markdown =
      "- `summary.json`: the e2e aggregates (per method × keep, with paired differences) and `validity` (every "
      "rank metric's ρ across cells and AUC within cells with intervals, and its per-cell means).\n"
      "- `plots/`: gnuplot data (.dat) and script (.gp) behind each figure; rerun `gnuplot NAME.gp` there.\n"
      "- `explorer.html`: the interactive page: token views (what each ranking keeps), the layer × heuristic "
      "heatmap with per-layer drill-down.\n";
  page.files_html =
      "<p class=\"note\">Files: <a href=\"explorer.html\">explorer.html</a> (interactive: token views, "
      "drill-down), <a href=\"summary.json\">summary.json</a> (every aggregate and the validity "
      "numbers), plots/ (gnuplot .dat and .gp sources).</p>\n";
  return page;
}

}  // namespace

std::vector<ReportSection> validity_sections(const ValidityAnalysis& v) {
  if (v.metrics.empty()) return {{"Predictive validity", "No rank metric is defined on every cell of this run.", {}}};
  const MetricValidity& lead = v.metrics.front();
  const std::string text = fmt::format(
      "Lead metric: {} (ρ across cells {}, AUC within cells {}). Every pipeline's selection ranking was compared "
      "with the Answer-Informed Oracle on the same {} samples whose answers were scored, so each rank metric can "
      "be checked against what it is meant to predict.",
      lead.name, with_interval(lead.rho, lead.rho_ci), with_interval(lead.auc, lead.auc_ci), v.samples);
  return {{"Predictive validity", text, {metric_table(v), cell_table(v)}}};
}

nlohmann::ordered_json both_summary_json(const E2eAggregate& agg, const ValidityAnalysis& v) {
  nlohmann::ordered_json out = e2e_summary_json(agg);
  out["mode"] = "both";
  out["validity"] = validity_json(v);
  return out;
}

ReportFiles write_both_report(const E2eAggregate& agg, const ValidityAnalysis& v, const std::string& run_dir,
                              const ReportOptions& options) {
  ReportContent content;
  content.plots = [&] { return render_both_plots(agg, v, run_dir, options.gnuplot); };
  content.summary_json = [&] { return both_summary_json(agg, v); };
  content.markdown = [&](const std::vector<PlotFile>& plots) { return render_markdown(both_page(agg, v, plots)); };
  content.html = [&](const std::vector<PlotFile>& plots) { return render_html(both_page(agg, v, plots)); };
  return write_report_files(run_dir, options, content);
}

}  // namespace claa
