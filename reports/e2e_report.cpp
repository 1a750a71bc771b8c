// Report files of an e2e-mode run: report.md / report.html (one ReportPage, report_page.h), the
// accuracy-vs-keep-rate plot and write_e2e_report. Tables and summary.json: e2e_tables.cpp.
#include "reports/e2e_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "reports/budget_report.h"
#include "reports/cost_front.h"
#include "reports/gnuplot_figures.h"
#include "reports/report_format.h"
#include "reports/report_page.h"

namespace claa {

namespace {

namespace fs = std::filesystem;

ReportPage e2e_page(const E2eAggregate& agg, const std::vector<PlotFile>& plots) {
  ReportPage page("claa report (e2e)", e2e_report_preamble(agg), e2e_report_sections(agg), plots);
  page.figures = ReportPage::Figures::AfterFirstSection;  // the plot right after the tables it draws
  page.align_numbers = true;
  page.reference_row = "Full KV";
  page.extra_style = "\ntr.ref td{background:#f7f7f7;font-weight:600}";  // the highlighted Full KV row
  page.files_markdown =
      "- `summary.json`: every aggregate (per method × keep: dataset, category and average scores with stderr and "
      "n; Δ vs Full KV; kept tokens and cache size).\n"
      "- `plots/`: gnuplot data (.dat) and script (.gp) behind the figure; rerun `gnuplot NAME.gp` there.\n";
  page.files_html =
      "<p class=\"note\">Files: <a href=\"summary.json\">summary.json</a> (every aggregate), plots/ (gnuplot .dat "
      "and .gp sources).</p>\n";
  return page;
}

// Same layout as plots.cpp's scripts: the figure drawn twice (PNG, then SVG), editable and rerunnable by hand.
// Columns: keep (%), then (mean, stderr) per method in E2eAggregate::methods order; NaN where a method lacks
// that keep rate or a dataset (incomplete rows are not comparable with complete ones, so they are not drawn).
std::string accuracy_data(const E2eAggregate& agg) {
  std::string out = "# keep_percent";
  for (const std::string& m : agg.methods) out += fmt::format("  {0}:average {0}:stderr", m);
  out += "\n";
  for (double k : agg.keep_rates) {
    out += fmt::format("{:g}", k * 100.0);
    for (const std::string& m : agg.methods) {
      const E2eRow* found = nullptr;
      for (const E2eRow& r : agg.rows)
        if (!r.reference && r.method == m && r.keep == k) found = &r;
      out += found && found->average.n > 0 && found->complete()
                 ? fmt::format(" {:.6f} {:.6f}", found->average.mean, found->average.se)
                 : std::string(" NaN NaN");
    }
    out += "\n";
  }
  return out;
}

std::string accuracy_body(const E2eAggregate& agg, const std::string& dat, const std::string& title) {
  // y range: the data ± stderr (and Full KV), padded to multiples of 5 points, clamped to [0, 100].
  double lo = 1e9, hi = -1e9;
  for (const E2eRow& r : agg.rows) {
    if (r.average.n == 0 || !r.complete()) continue;
    lo = std::min(lo, r.average.mean - r.average.se);
    hi = std::max(hi, r.average.mean + r.average.se);
  }
  if (lo > hi) lo = 0.0, hi = 100.0;
  double y0 = std::max(0.0, std::floor((lo - 2.0) / 5.0) * 5.0), y1 = std::min(100.0, std::ceil((hi + 2.0) / 5.0) * 5.0);
  if (y1 - y0 < 10.0) {
    y0 = std::max(0.0, y1 - 10.0);
    y1 = std::min(100.0, y0 + 10.0);
  }
  // x range: 0 .. a little past the largest keep rate; ticks at the run's keep rates ("%%": tic labels are
  // gnuplot format strings).
  const double kmax = agg.keep_rates.empty() ? 100.0 : agg.keep_rates.back() * 100.0;
  const double x1 = std::min(105.0, std::ceil((kmax * 1.1 + 2.0) / 5.0) * 5.0);
  std::string xtics;
  for (size_t i = 0; i < agg.keep_rates.size(); ++i)
    xtics += fmt::format("{}\"{:g}%%\" {:g}", i ? ", " : "", agg.keep_rates[i] * 100.0, agg.keep_rates[i] * 100.0);

  std::string body = fmt::format(
      "set title {} font \",13\"\nset xlabel \"keep rate (% of prompt tokens)\"\n"
      "set ylabel \"average score (points, mean of dataset means)\"\nset xrange [0:{:g}]\nset yrange [{:g}:{:g}]\n"
      "set xtics ({}) nomirror\nset ytics nomirror\nset mxtics 1\nset grid xtics ytics lc rgb \"#e0e0e0\"\n"
      "set key outside right top vertical Left reverse samplen 3 spacing 1.3 width 2 font \",11\"\n"
      "set border 3 lw 1.2\nset bars small\n",
      gnuplot_quote(title), x1, y0, y1, xtics.empty() ? "\"\" 0" : xtics);
  std::vector<std::string> parts;
  if (const E2eRow* ref = agg.reference(); ref && ref->average.n > 0)
    parts.push_back(fmt::format("{:.6f} with lines lw 2 dt 2 lc rgb \"#555555\" title {}", ref->average.mean,
                                gnuplot_quote(fmt::format("Full KV ({:.1f})", ref->average.mean))));
  for (size_t m = 0; m < agg.methods.size(); ++m) {
    const std::string color = plot_colors()[m % plot_colors().size()];
    const int c = int(2 + 2 * m);
    parts.push_back(fmt::format("{} using 1:{}:{} with yerrorbars lw 1.2 lc rgb {} pt {} ps 0 notitle", gnuplot_quote(dat), c,
                                c + 1, gnuplot_quote(color), plot_points()[m % plot_points().size()]));
    parts.push_back(fmt::format("{} using 1:{} with linespoints lw 2.5 ps 1.6 lc rgb {} pt {} title {}", gnuplot_quote(dat),
                                c, gnuplot_quote(color), plot_points()[m % plot_points().size()], gnuplot_quote(agg.methods[m])));
  }
  if (parts.empty()) parts.push_back("NaN notitle");
  body += "plot ";
  for (size_t i = 0; i < parts.size(); ++i) body += (i ? ", \\\n     " : "") + parts[i];
  return body + "\n";
}

}  // namespace

std::string e2e_report_markdown(const E2eAggregate& agg, const std::vector<PlotFile>& plots) {
  return render_markdown(e2e_page(agg, plots));
}

std::string e2e_report_html(const E2eAggregate& agg, const std::vector<PlotFile>& plots) {
  return render_html(e2e_page(agg, plots));
}

PlotResult render_e2e_plots(const E2eAggregate& agg, const std::string& run_dir, const std::string& gnuplot) {
  const fs::path dir = fs::path(run_dir) / "plots";
  fs::create_directories(dir);
  const std::string name = "e2e_accuracy";
  const std::string dat = name + ".dat";
  const std::string title = fmt::format("Average score vs keep rate ({} dataset{}, mean ± stderr)",
                                        agg.datasets.size(), agg.datasets.size() == 1 ? "" : "s");
  write_text_file((dir / dat).string(), accuracy_data(agg));
  std::vector<Figure> figures = {{name, title, 900, 520, accuracy_body(agg, dat, title), 11, "Average score vs keep rate"}};
  for (Figure& f : cost_front_figures(agg, dir)) figures.push_back(std::move(f));
  for (Figure& f : budget_figures(agg.budgets, dir)) figures.push_back(std::move(f));
  return render_figures(figures, dir, gnuplot);
}

ReportFiles write_e2e_report(const E2eAggregate& agg, const std::string& run_dir, const ReportOptions& options) {
  ReportContent content;
  content.plots = [&] { return render_e2e_plots(agg, run_dir, options.gnuplot); };
  content.summary_json = [&] { return e2e_summary_json(agg); };
  content.markdown = [&](const std::vector<PlotFile>& plots) { return e2e_report_markdown(agg, plots); };
  content.html = [&](const std::vector<PlotFile>& plots) { return e2e_report_html(agg, plots); };
  return write_report_files(run_dir, options, content);
}

}  // namespace claa
