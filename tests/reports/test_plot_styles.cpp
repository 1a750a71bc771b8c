// Report figures that stay readable with many heuristics and few layers: every heuristic of a run
// gets its own (colour, dash) in every figure, and heatmaps with one column are still coloured.
#include <fmt/format.h>

#include <map>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "reports/aggregate.h"
#include "reports/budget_report.h"
#include "reports/gnuplot_figures.h"
#include "reports/report_format.h"
#include "reports/report_writers.h"
#include "tests/catch.h"
#include "tests/reports/reports_test_util.h"

namespace fs = std::filesystem;
using namespace claa;
using claa::test::slurp;
using claa::test::TempDir;

namespace {

constexpr size_t kHeuristics = 20;                      // more than plot_colors() has colours
constexpr size_t kMissing = 0;                          // the heuristic with no data in dataset d2
const std::string kNoGnuplot = "claa-no-such-gnuplot";  // only the .gp scripts are written

ScopeAggregate scope(const std::string& kind, const std::string& name, const RunAggregate& agg) {
  ScopeAggregate s;
  s.kind = kind;
  s.name = name;
  s.samples = 4;
  for (size_t h = 0; h < agg.heuristics.size(); ++h) {
    HeuristicAggregate ha;
    ha.name = agg.heuristics[h].name;
    ha.has_data = true;
    for (int l = 0; l < agg.n_layers; ++l)
      ha.layers.push_back({Stat{0.02 * double(h), 0.01, 4, 1}, Stat{0.5, 0.01, 4, 1}});
    s.heuristics.push_back(ha);
  }
  return s;
}

// Two layers, one keep rate, 20 heuristics (two of them layer-independent), overall + two datasets;
// heuristic kMissing has no data in d2, so panel positions and run indices differ there.
RunAggregate many_heuristics() {
  RunAggregate agg;
  agg.keep_rates = {0.1};
  agg.n_layers = 2;
  agg.metrics = {"spearman", metric_name("recall", 0.1)};
  for (size_t h = 0; h < kHeuristics; ++h) agg.heuristics.push_back({fmt::format("h{:02}", h), "", h == 3 || h == 15});
  agg.scopes = {scope("overall", "overall", agg), scope("dataset", "d1", agg), scope("dataset", "d2", agg)};
  agg.scopes[2].heuristics[kMissing].has_data = false;
  for (auto& layer : agg.scopes[2].heuristics[kMissing].layers) layer = {Stat{}, Stat{}};
  return agg;
}

using Style = std::pair<std::string, std::string>;  // (colour, dash)

// The key's style per heuristic name (" (layer-independent)" dropped from the title).
std::map<std::string, Style> key_styles(const std::string& gp) {
  static const std::regex entry(
      R"re(-9 with linespoints lw 2 lc rgb "(#[0-9A-Fa-f]{6})" dt (\S+) pt \d+ title "([^" ]+))re");
  std::map<std::string, Style> out;
  for (std::sregex_iterator it(gp.begin(), gp.end(), entry), end; it != end; ++it) out[(*it)[3]] = {(*it)[1], (*it)[2]};
  return out;
}

// Every curve's style with the run index of its heuristic (its .dat mean column is 2 + 2 h).
std::vector<std::pair<size_t, Style>> curve_styles(const std::string& gp) {
  static const std::regex curve(
      R"re(using 1:(\d+) with linespoints lw 2 ps 0\.6 lc rgb "(#[0-9A-Fa-f]{6})" dt (\S+) pt)re");
  std::vector<std::pair<size_t, Style>> out;
  for (std::sregex_iterator it(gp.begin(), gp.end(), curve), end; it != end; ++it)
    out.push_back({(std::stoul((*it)[1]) - 2) / 2, {(*it)[2], (*it)[3]}});
  return out;
}

// A one-layer CLAA budget: 4 KV heads of layer 5, the way aggregate_budgets sorts its rows.
BudgetAggregate one_layer_budget() {
  BudgetAggregate b;
  b.owner = "claa";
  b.layer = 5;
  b.keep = 0.1;
  b.samples = 3;
  b.slots = 40;
  for (int head = 0; head < 4; ++head) {
    BudgetRowAggregate r;
    r.layer = 5;
    r.head = head;
    r.share = Stat{0.1 + 0.2 * head, 0.01, 3, 1};
    b.rows.push_back(r);
  }
  return b;
}

// The fill colours of the cell boxes in a rendered SVG: the polygons of its first plot (the
// heatmap cells; the labels are the second plot, the colour box comes after both).
std::vector<std::string> cell_fills(const std::string& svg) {
  const size_t begin = svg.find("<g id=\"gnuplot_plot_1\""), end = svg.find("<g id=\"gnuplot_plot_2\"");
  REQUIRE(begin != std::string::npos);
  REQUIRE(end != std::string::npos);
  const std::string cells = svg.substr(begin, end - begin);
  static const std::regex fill(R"re(polygon fill = '([^']*)')re");
  std::vector<std::string> out;
  for (std::sregex_iterator it(cells.begin(), cells.end(), fill), e; it != e; ++it) out.push_back((*it)[1]);
  return out;
}

// rgb(r, g, b) with r, g and b not all equal: neither white nor grey.
bool coloured(const std::string& fill) {
  static const std::regex rgb(R"re(rgb\(\s*(\d+),\s*(\d+),\s*(\d+)\))re");
  std::smatch m;
  return std::regex_match(fill, m, rgb) && !(m[1] == m[2] && m[2] == m[3]);
}

}  // namespace

TEST_CASE("plot_style: colour and dash pairs distinct over 40 indices in both dash families", "[reports]") {
  std::set<Style> seen;
  for (bool broken : {false, true})
    for (size_t i = 0; i < 40; ++i) {
      const PlotStyle s = plot_style(i, broken);
      CHECK(seen.insert({s.color, s.dash}).second);
    }
  CHECK(plot_style(0).color == plot_colors().front());  // the colour-blind-safe colours come first
  CHECK(plot_style(0).dash == "1");
}

TEST_CASE("plots: 20 heuristics keep one distinct style each in every figure", "[reports]") {
  const RunAggregate agg = many_heuristics();
  TempDir dir("plot_styles");
  render_plots(agg, dir.path.string(), kNoGnuplot);

  std::map<std::string, Style> by_name;
  for (const std::string figure : {"spearman_overview", "spearman_datasets", "recall_by_layer"}) {
    INFO(figure);
    const std::string gp = slurp(dir.path / "plots" / (figure + ".gp"));
    const std::map<std::string, Style> key = key_styles(gp);
    REQUIRE(key.size() == kHeuristics);
    std::set<Style> distinct;
    for (const auto& [name, style] : key) distinct.insert(style);
    CHECK(distinct.size() == kHeuristics);
    for (const auto& [name, style] : key)
      CHECK(by_name.emplace(name, style).first->second == style);  // the same as in the figures before
    const auto curves = curve_styles(gp);
    CHECK(curves.size() == (figure == "spearman_datasets" ? 2 * kHeuristics - 1 : kHeuristics));
    for (const auto& [h, style] : curves) {
      REQUIRE(h < kHeuristics);
      CHECK(style == key.at(agg.heuristics[h].name));
    }
  }
}

TEST_CASE("budget heatmap: one layer is drawn as palette-filled boxes", "[reports]") {
  TempDir dir("budget_one_layer");
  const std::vector<Figure> figures = budget_figures({one_layer_budget()}, dir.path);
  REQUIRE(figures.size() == 1);
  const PlotResult result = render_figures(figures, dir.path, "gnuplot");
  const std::string gp = slurp(dir.path / "budget_share_claa.gp");
  CHECK(gp.find("matrix using 1:2:(0.51):(0.51):3 with boxxyerror fs solid 1.0 noborder fc palette") !=
        std::string::npos);
  CHECK(gp.find("with image") == std::string::npos);  // `with image` leaves a single column blank
  CHECK(gp.find("set xrange [-0.5:0.5]") != std::string::npos);
  if (!result.gnuplot_found) return;  // the script is all there is to check without gnuplot
  REQUIRE(result.errors.empty());
  const std::vector<std::string> fills = cell_fills(slurp(dir.path / "budget_share_claa.svg"));
  CHECK(fills.size() == 4);  // one box per KV head
  for (const std::string& f : fills) CHECK(coloured(f));
}
