// One report page, rendered twice: report.md (GitHub Markdown) and report.html (one self-contained
// page: inline CSS, no scripts or external resources). Rank and e2e reports both describe their page
// with this struct (preamble, sections of tables, figures, the closing list of files), so the two modes
// share one renderer and look alike.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "reports/report_writers.h"

namespace claa {

struct ReportPage {
  ReportPage(std::string title_, std::vector<std::string> preamble_, std::vector<ReportSection> sections_,
             std::vector<PlotFile> plots_)
      : title(std::move(title_)),
        preamble(std::move(preamble_)),
        sections(std::move(sections_)),
        plots(std::move(plots_)) {}

  std::string title;                   // "claa report", "claa report (e2e)"
  std::vector<std::string> preamble;   // bullet list under the title (provenance, counts)
  std::vector<ReportSection> sections;
  std::vector<PlotFile> plots;         // rendered figures only
  // Where the figures go. OwnSection: a "Plots" section (after the tables in Markdown, before them in
  // HTML, where figures are what a reader looks at first). AfterFirstSection: right below the tables they
  // draw (e2e: the accuracy plot after the score tables).
  enum class Figures { OwnSection, AfterFirstSection } figures = Figures::OwnSection;
  bool align_numbers = false;          // Markdown: right-align numeric columns (md_table)
  std::string reference_row;           // HTML: a row whose first cell equals this is highlighted
  std::string extra_style;             // CSS appended to the shared stylesheet
  std::string files_markdown;          // the "## Files" list
  std::string files_html;              // the closing note, a whole <p> element
};

std::string render_markdown(const ReportPage& page);
std::string render_html(const ReportPage& page);

}  // namespace claa
