// report.md: the preamble as a bullet list, then each section's tables as GitHub pipe tables.
#include <fmt/format.h>

#include "reports/report_writers.h"

namespace claa {

namespace {

// A '|' inside a cell would end the cell.
std::string md_cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

std::string md_row(const std::vector<std::string>& cells) {
  std::string out = "|";
  for (const std::string& c : cells) {
    out += ' ';
    out += md_cell(c);
    out += " |";
  }
  out += '\n';
  return out;
}

std::string md_table(const Table& t) {
  std::string out;
  if (!t.title.empty()) out += "### " + t.title + "\n\n";
  if (!t.intro.empty()) out += t.intro + "\n\n";
  if (!t.rows.empty()) {
    out += md_row(t.header);
    out += md_row(std::vector<std::string>(t.header.size(), "---"));
    for (const auto& row : t.rows) out += md_row(row);
    out += "\n";
  }
  if (!t.footnote.empty()) out += "_" + t.footnote + "_\n\n";
  return out;
}

}  // namespace

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
