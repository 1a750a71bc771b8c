// report.html: one self-contained page (inline CSS, no scripts or external resources) with the same
// tables as report.md and the rendered plots as <img> (PNG) plus links to the SVGs.
#include <fmt/format.h>

#include "reports/report_format.h"
#include "reports/report_writers.h"

namespace claa {

namespace {

const std::string kStyle = html_stylesheet();

}  // namespace

std::string report_html(const RunAggregate& agg, const std::vector<PlotFile>& plots) {
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>claa report</title>\n"
      "<style>\n{}\n</style>\n</head>\n<body>\n<h1>claa report</h1>\n<ul>\n",
      kStyle);
  for (const std::string& line : report_preamble(agg)) out += "<li>" + html_escape(line) + "</li>\n";
  out += "</ul>\n";
  if (!plots.empty()) {
    out += "<h2>Plots</h2>\n";
    for (const PlotFile& p : plots)
      out += fmt::format("<figure>\n<img src=\"{0}\" alt=\"{1}\">\n<figcaption>{1} (<a href=\"{2}\">SVG</a>)</figcaption>\n</figure>\n",
                         html_escape(p.png), html_escape(p.title), html_escape(p.svg));
  }
  for (const ReportSection& s : report_sections(agg)) {
    out += "<h2>" + html_escape(s.heading) + "</h2>\n";
    if (!s.text.empty()) out += "<p>" + html_escape(s.text) + "</p>\n";
    for (const Table& t : s.tables) out += html_table(t);
  }
  out += "<p class=\"note\">Files: <a href=\"summary.json\">summary.json</a> (every aggregate), "
         "<a href=\"layers.csv\">layers.csv</a> (per-layer numbers), plots/ (gnuplot .dat and .gp sources).</p>\n"
         "</body>\n</html>\n";
  return out;
}

}  // namespace claa
