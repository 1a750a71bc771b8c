// gnuplot figures of a run: data (.dat) and scripts (.gp) in RUN_DIR/plots/, rendered to PNG and SVG.
// Each script draws its figure twice (PNG, then SVG) so a user can edit and rerun it by hand.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cctype>
#include <functional>
#include <filesystem>
#include <sstream>

#include "core/error.h"
#include "reports/budget_report.h"
#include "reports/gnuplot_figures.h"
#include "reports/report_format.h"
#include "reports/report_writers.h"

namespace claa {

namespace {

namespace fs = std::filesystem;

// A heuristic's style follows its index in RunAggregate::heuristics (sorted by name), never its place in
// a panel, so it looks the same in every figure of the report and no two heuristics of a run share one.
// Layer-independent heuristics are drawn broken: they are flat by construction, not by accident.
PlotStyle style_of(size_t h, const HeuristicMeta& meta) { return plot_style(h, meta.layer_independent); }

// File-name-safe version of a scope name; the caller prefixes an index, so collisions cannot clash.
std::string slug(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) ? char(std::tolower(c)) : '_';
  return out;
}

std::string legend_title(const HeuristicMeta& m) { return m.layer_independent ? m.name + " (layer-independent)" : m.name; }


// ------------------------------------------------------------------------------------------------
// Data files
// ------------------------------------------------------------------------------------------------

// Columns: layer, then (mean, stderr) per heuristic in RunAggregate::heuristics order, per metric.
std::string layer_data(const ScopeAggregate& scope, const RunAggregate& agg, const std::vector<int>& metrics) {
  std::string out = "# layer";
  for (const HeuristicAggregate& h : scope.heuristics)
    for (int m : metrics) out += fmt::format("  {0}:{1}:mean {0}:{1}:stderr", h.name, agg.metrics[m]);
  out += "\n";
  for (int l = 0; l < agg.n_layers; ++l) {
    out += fmt::format("{}", l);
    for (const HeuristicAggregate& h : scope.heuristics)
      for (int m : metrics) {
        const Stat& s = h.layers[l][m];
        out += s.n > 0 ? fmt::format(" {:.6f} {:.6f}", s.mean, s.se) : std::string(" NaN NaN");
      }
    out += "\n";
  }
  return out;
}

// y range shared by every panel of a figure, in steps of 0.1, so panels compare at a glance.
std::pair<double, double> rho_range(const std::vector<const ScopeAggregate*>& scopes) {
  double lo = 1.0, hi = -1.0;
  for (const ScopeAggregate* s : scopes)
    for (const HeuristicAggregate& h : s->heuristics)
      for (const auto& layer : h.layers)
        if (layer[0].n > 0) {
          lo = std::min(lo, layer[0].mean - layer[0].se);
          hi = std::max(hi, layer[0].mean + layer[0].se);
        }
  if (lo > hi) return {0.0, 1.0};
  lo = std::max(-1.0, std::floor(lo * 10.0 - 1e-9) / 10.0);
  hi = std::min(1.0, std::ceil(hi * 10.0 + 1e-9) / 10.0);
  if (hi - lo < 0.2) lo = std::max(-1.0, hi - 0.2);
  return {lo, hi};
}

// ------------------------------------------------------------------------------------------------
// Panels
// ------------------------------------------------------------------------------------------------

// Mean ± stderr band (filledcurves) plus the mean line, for each heuristic with data.
// `column(h)` is the 1-based .dat column of heuristic h's mean (stderr is the next one).
std::string band_plot(const std::string& dat, const ScopeAggregate& scope, const RunAggregate& agg,
                      const std::function<int(size_t)>& column) {
  std::vector<std::string> parts;
  for (size_t h = 0; h < scope.heuristics.size(); ++h) {
    if (!scope.heuristics[h].has_data) continue;
    const PlotStyle st = style_of(h, agg.heuristics[h]);
    const int c = column(h);
    parts.push_back(fmt::format("{} using 1:(${}-${}):(${}+${}) with filledcurves fc rgb {} fs transparent solid 0.18 "
                                "noborder notitle",
                                gnuplot_quote(dat), c, c + 1, c, c + 1, gnuplot_quote(st.color)));
    parts.push_back(fmt::format("{} using 1:{} with linespoints lw 2 ps 0.6 lc rgb {} dt {} pt {} notitle", gnuplot_quote(dat),
                                c, gnuplot_quote(st.color), st.dash, st.point));
  }
  if (parts.empty()) parts.push_back("-9 notitle");  // an empty panel keeps the grid aligned
  std::string out = "plot ";
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", \\\n     " : "") + parts[i];
  return out + "\n";
}

std::string panel_setup(const std::string& title, const std::string& ylabel, int n_layers, double y0, double y1) {
  const int step = std::max(1, (n_layers + 15) / 16);  // integer layer ticks, at most ~16 of them
  return fmt::format(
      "set title {}\nset xlabel \"layer index\"\nset ylabel {}\nset xrange [-0.5:{}]\nset yrange [{}:{}]\n"
      "set xtics 0,{}\nset grid xtics ytics lc rgb \"#e0e0e0\"\nunset key\n",
      gnuplot_quote(title), gnuplot_quote(ylabel), n_layers - 0.5, y0, y1, step);
}

std::vector<bool> heuristics_with_data(const std::vector<const ScopeAggregate*>& scopes, size_t n) {
  std::vector<bool> shown(n, false);
  for (const ScopeAggregate* s : scopes)
    for (size_t h = 0; h < n; ++h) shown[h] = shown[h] || s->heuristics[h].has_data;
  return shown;
}

// One key for the whole figure, in its own strip below the panels (a key per panel would repeat
// itself and cover curves). Invisible y = −9 curves (outside the strip's y range) make the entries.
struct SharedKey {
  std::string plot;  // the strip's commands after its placement
  int rows = 0;      // estimated key rows, to reserve the strip's height
};

SharedKey shared_key(const RunAggregate& agg, const std::vector<bool>& shown, int figure_width) {
  std::vector<std::string> entries;
  size_t longest = 0;
  for (size_t h = 0; h < agg.heuristics.size(); ++h) {
    if (!shown[h]) continue;
    const PlotStyle st = style_of(h, agg.heuristics[h]);
    const std::string title = legend_title(agg.heuristics[h]);
    entries.push_back(fmt::format("-9 with linespoints lw 2 lc rgb {} dt {} pt {} title {}", gnuplot_quote(st.color), st.dash,
                                  st.point, gnuplot_quote(title)));
    longest = std::max(longest, title.size());
  }
  SharedKey key;
  if (entries.empty()) return key;
  // gnuplot sizes every key column for the longest title; over-estimate it so the strip is tall enough.
  const size_t cols = std::clamp<size_t>(size_t(figure_width) / (90 + 8 * longest), 1, entries.size());
  key.rows = int((entries.size() + cols - 1) / cols);
  key.plot =
      "unset title\nunset xlabel\nunset ylabel\nunset border\nunset tics\nunset grid\nset xrange [0:1]\n"
      "set yrange [0:1]\nset key center center horizontal Left reverse samplen 4 font \",11\"\nplot ";
  for (size_t i = 0; i < entries.size(); ++i) key.plot += (i ? ", \\\n     " : "") + entries[i];
  key.plot += "\n";
  return key;
}

// Counts shown are ranked samples (empty answers have no ρ), so the title matches the curves.
std::string scope_title(const ScopeAggregate& s) {
  const auto plural = [](int64_t n, const char* word) { return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s"); };
  const std::string ranked = plural(s.samples - s.empty_answers, "ranked sample");
  if (s.kind == "dataset") return fmt::format("{} ({})", s.name, ranked);
  return fmt::format("{} ({}, {})", s.kind == "overall" ? "overall" : s.name,
                     plural(int64_t(s.datasets.size()), "dataset"), ranked);
}

// Panel grid (at most 3 columns) placed by screen margins in fixed pixels, so tick labels, axis labels
// and titles never collide whatever the panel count; the key strip sits at the bottom.
struct Grid {
  static constexpr int kPlotW = 430, kPlotH = 250, kLeft = 75, kRight = 25, kTop = 60, kBottom = 55;
  static constexpr int kXSpace = 90, kYSpace = 90, kKeyRowH = 22;
  int cols = 1, rows = 1, width = 0, height = 0, key_h = 0;

  Grid(size_t panels, int key_rows)
      : cols(int(std::min<size_t>(3, panels))), rows(int((panels + cols - 1) / cols)) {
    width = kLeft + kRight + cols * kPlotW + (cols - 1) * kXSpace;
    key_h = key_rows * kKeyRowH + 10;
    height = kTop + kBottom + key_h + rows * kPlotH + (rows - 1) * kYSpace;
  }
  static int width_for(size_t panels) {
    const int c = int(std::min<size_t>(3, panels));
    return kLeft + kRight + c * kPlotW + (c - 1) * kXSpace;
  }
  std::string margins(double left, double right, double bottom, double top) const {
    return fmt::format("set lmargin at screen {:.4f}\nset rmargin at screen {:.4f}\nset bmargin at screen {:.4f}\n"
                       "set tmargin at screen {:.4f}\n",
                       left / width, right / width, bottom / height, top / height);
  }
  std::string panel(size_t i) const {
    const int c = int(i) % cols, r = int(i) / cols;
    const double x0 = kLeft + c * (kPlotW + kXSpace), top = height - kTop - r * (kPlotH + kYSpace);
    return margins(x0, x0 + kPlotW, top - kPlotH, top);
  }
  std::string key() const { return margins(10, width - 10, 0, key_h); }
};

// A figure of layer-curve panels sharing one key; `panel(i)` returns panel i's commands.
Figure panel_figure(const std::string& name, const std::string& title, size_t panels, const std::vector<bool>& shown,
                    const RunAggregate& agg, const std::function<std::string(size_t)>& panel) {
  const SharedKey key = shared_key(agg, shown, Grid::width_for(panels));
  const Grid g(panels, key.rows);
  Figure f{name, title, g.width, g.height,
           fmt::format("set multiplot title {} font \",14\"\n", gnuplot_quote(title + ", mean ± stderr")), 10, ""};
  for (size_t i = 0; i < panels; ++i) f.body += g.panel(i) + panel(i);
  if (!key.plot.empty()) f.body += g.key() + key.plot;
  f.body += "unset multiplot\n";
  return f;
}

// ------------------------------------------------------------------------------------------------
// Figures
// ------------------------------------------------------------------------------------------------

Figure rho_figure(const std::string& name, const std::string& what, const std::vector<size_t>& scope_indices,
                  const RunAggregate& agg, const fs::path& dir) {
  std::vector<const ScopeAggregate*> scopes;
  for (size_t i : scope_indices) scopes.push_back(&agg.scopes[i]);
  const auto [y0, y1] = rho_range(scopes);
  return panel_figure(
      name, "Spearman ρ with the oracle per layer (" + what + ")", scopes.size(),
      // (y0/y1 captured by name: clang before 16 cannot capture a structured binding)
      heuristics_with_data(scopes, agg.heuristics.size()), agg, [&, y0 = y0, y1 = y1](size_t p) {
        const size_t i = scope_indices[p];
        const ScopeAggregate& s = agg.scopes[i];
        const std::string dat = fmt::format("rho_{:02}_{}.dat", i, slug(s.name));
        write_text_file((dir / dat).string(), layer_data(s, agg, {0}));
        return panel_setup(scope_title(s), "Spearman ρ with the oracle", agg.n_layers, y0, y1) +
               band_plot(dat, s, agg, [](size_t h) { return int(2 + 2 * h); });
      });
}

Figure recall_figure(const RunAggregate& agg, const fs::path& dir) {
  const ScopeAggregate& overall = agg.overall();
  std::vector<int> metrics;
  for (double r : agg.keep_rates) metrics.push_back(agg.metric_index(metric_name("recall", r)));
  const std::string dat = "recall_overall.dat";
  write_text_file((dir / dat).string(), layer_data(overall, agg, metrics));
  const size_t n_keep = metrics.size();
  return panel_figure(
      "recall_by_layer", "Recall@k of the oracle's top-k per layer (overall)", n_keep,
      heuristics_with_data({&overall}, agg.heuristics.size()), agg, [&](size_t k) {
        const std::string keep = fmt::format("{:g}%", agg.keep_rates[k] * 100.0);
        return panel_setup("keep " + keep + " of the prompt", "recall@" + keep, agg.n_layers, 0.0, 1.0) +
               band_plot(dat, overall, agg, [k, n_keep](size_t h) { return int(2 + 2 * (h * n_keep + k)); });
      });
}

Figure heatmap_figure(const RunAggregate& agg, const fs::path& dir) {
  const ScopeAggregate& overall = agg.overall();
  std::string data, ytics;
  int rows = 0;
  for (const HeuristicAggregate& h : overall.heuristics) {
    if (!h.has_data) continue;
    for (int l = 0; l < agg.n_layers; ++l) data += fmt::format("{}{:.4f}", l ? " " : "", h.layers[l][0].mean);
    data += "\n";
    ytics += fmt::format("{}{} {}", rows ? ", " : "", gnuplot_quote(h.name), rows);
    ++rows;
  }
  write_text_file((dir / "heatmap_spearman.dat").string(), data);
  const bool labels = agg.n_layers <= 40;  // cell values stay legible up to ~40 columns
  const int cell = labels ? 38 : 20;
  Figure f{"heatmap_spearman", "Mean Spearman ρ with the oracle, layer × heuristic (overall)",
           std::max(640, 260 + cell * agg.n_layers), 150 + 32 * std::max(rows, 1), "", 10, ""};
  f.body = fmt::format(
      "set title {} font \",13\"\nset xlabel \"layer index\"\nunset ylabel\nset ytics ({}) nomirror\nset xtics 0,{} "
      "nomirror\n"
      "set xrange [-0.5:{}]\nset yrange [{}:-0.5]\nset cbrange [-1:1]\nset cblabel \"mean Spearman ρ\"\n"
      "set palette defined (-1 \"#2166ac\", 0 \"#f7f7f7\", 1 \"#b2182b\")\nunset key\nset tics out\n{}",
      gnuplot_quote(f.title), ytics, agg.n_layers > 40 ? 4 : 1, agg.n_layers - 0.5, rows - 0.5,
      heatmap_plot("heatmap_spearman.dat", labels ? "%.2f" : "", 8));
  return f;
}

// ------------------------------------------------------------------------------------------------
// Rendering
// ------------------------------------------------------------------------------------------------


}  // namespace

std::string find_executable(const std::string& program) {
  if (program.find('/') != std::string::npos) return access(program.c_str(), X_OK) == 0 ? program : "";
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  for (std::string d; std::getline(dirs, d, ':');) {
    const fs::path candidate = fs::path(d.empty() ? "." : d) / program;
    if (access(candidate.c_str(), X_OK) == 0 && !fs::is_directory(candidate)) return candidate.string();
  }
  return "";
}

PlotResult render_plots(const RunAggregate& agg, const std::string& run_dir, const std::string& gnuplot) {
  const fs::path dir = fs::path(run_dir) / "plots";
  fs::create_directories(dir);
  std::vector<Figure> figures;
  std::vector<size_t> overview, datasets;
  for (size_t i = 0; i < agg.scopes.size(); ++i) (agg.scopes[i].kind == "dataset" ? datasets : overview).push_back(i);
  figures.push_back(rho_figure("spearman_overview", "overall and per category", overview, agg, dir));
  if (datasets.size() > 1) figures.push_back(rho_figure("spearman_datasets", "per dataset", datasets, agg, dir));
  figures.push_back(recall_figure(agg, dir));
  figures.push_back(heatmap_figure(agg, dir));
  for (Figure& f : budget_figures(agg.budgets, dir)) figures.push_back(std::move(f));

  return render_figures(figures, dir, gnuplot);
}

}  // namespace claa
