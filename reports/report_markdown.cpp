// report.md: the preamble as a bullet list, then each section's tables as GitHub pipe tables.
#include <fmt/format.h>

#include "reports/report_format.h"
#include "reports/report_writers.h"

namespace claa {

std::string report_markdown(const RunAggregate& agg, const std::vector<PlotFile>& plots) {
  std::string out = "# claa report\n\n";
  for (const std::string& line : report_preamble(agg)) out += "- " + line + "\n";
  out += "\n";
  for (const ReportSection& s : report_sections(agg)) {
    out += "## " + s.heading + "\n\n";
    if (!s.text.empty()) out += s.text + "\n\n";
    for (const Table& t : s.tables) out += md_table(t);
  }
  if (!plots.empty()) {
    out += "## Plots\n\n";
    for (const PlotFile& p : plots) out += fmt::format("![{0}]({1})\n\n[{0} (SVG)]({2})\n\n", p.title, p.png, p.svg);
  }
  out += "## Files\n\n"
         "- `summary.json`: every aggregate (per scope × heuristic × layer × metric: mean, stderr, n).\n"
         "- `layers.csv`: the same per-layer numbers as a flat table (scope, heuristic, layer, metric, mean, stderr, n).\n"
         "- `plots/`: gnuplot data (.dat) and scripts (.gp) behind the figures; rerun `gnuplot NAME.gp` there.\n";
  return out;
}

}  // namespace claa
