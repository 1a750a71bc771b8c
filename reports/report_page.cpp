// report.md and report.html from a ReportPage (report_page.h); the tables come from report_format.h.
#include "reports/report_page.h"

#include <fmt/format.h>

#include "reports/report_format.h"

namespace claa {

namespace {

std::string markdown_figures(const std::vector<PlotFile>& plots) {
  std::string out;
  for (const PlotFile& p : plots) out += fmt::format("![{0}]({1})\n\n[{0} (SVG)]({2})\n\n", p.title, p.png, p.svg);
  return out;
}

std::string html_figures(const std::vector<PlotFile>& plots) {
  std::string out;
  for (const PlotFile& p : plots)
    out += fmt::format(
        "<figure>\n<img src=\"{0}\" alt=\"{1}\">\n<figcaption>{1} (<a href=\"{2}\">SVG</a>)</figcaption>\n</figure>\n",
        html_escape(p.png), html_escape(p.title), html_escape(p.svg));
  return out;
}

bool figures_after(const ReportPage& page, size_t section) {
  return page.figures == ReportPage::Figures::AfterFirstSection && section == 0;
}

}  // namespace

std::string render_markdown(const ReportPage& page) {
  std::string out = "# " + page.title + "\n\n";
  for (const std::string& line : page.preamble) out += "- " + line + "\n";
  out += "\n";
  for (size_t i = 0; i < page.sections.size(); ++i) {
    const ReportSection& s = page.sections[i];
    out += "## " + s.heading + "\n\n";
    if (!s.text.empty()) out += s.text + "\n\n";
    for (const Table& t : s.tables) out += md_table(t, page.align_numbers);
    if (figures_after(page, i)) out += markdown_figures(page.plots);
  }
  if (page.figures == ReportPage::Figures::OwnSection && !page.plots.empty())
    out += "## Plots\n\n" + markdown_figures(page.plots);
  return out + "## Files\n\n" + page.files_markdown;
}

std::string render_html(const ReportPage& page) {
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{0}</title>\n"
      "<style>\n{1}{2}\n</style>\n</head>\n<body>\n<h1>{0}</h1>\n<ul>\n",
      html_escape(page.title), html_stylesheet(), page.extra_style);
  for (const std::string& line : page.preamble) out += "<li>" + html_escape(line) + "</li>\n";
  out += "</ul>\n";
  if (page.figures == ReportPage::Figures::OwnSection && !page.plots.empty())
    out += "<h2>Plots</h2>\n" + html_figures(page.plots);
  for (size_t i = 0; i < page.sections.size(); ++i) {
    const ReportSection& s = page.sections[i];
    out += "<h2>" + html_escape(s.heading) + "</h2>\n";
    if (!s.text.empty()) out += "<p>" + html_escape(s.text) + "</p>\n";
    for (const Table& t : s.tables) out += html_table(t, page.reference_row);
    if (figures_after(page, i)) out += html_figures(page.plots);
  }
  return out + page.files_html + "</body>\n</html>\n";
}

}  // namespace claa
