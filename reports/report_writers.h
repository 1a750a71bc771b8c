// Writers for a run's report: summary.json, layers.csv, report.md, report.html and gnuplot plots.
// Text outputs are deterministic: the same samples + run.json give byte-identical files (sorted
// heuristics/datasets/categories, shortest round-trip number formatting, no timestamps, no absolute
// paths). Plots: .dat + .gp files in RUN_DIR/plots/ rendered by gnuplot to PNG and SVG.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "reports/aggregate.h"

namespace claa {

// ---------------------------------------------------------------------------------------------
// Tables shared by the Markdown and HTML writers (built once so both show the same numbers)
// ---------------------------------------------------------------------------------------------

struct Table {
  std::string title;  // section heading ("" = none)
  std::string intro;  // one line of text above the table ("" = none)
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::string footnote;  // one line below ("" = none)
  std::set<std::pair<size_t, size_t>> bold;  // (row, column) cells shown in bold
};

struct ReportSection {
  std::string heading;  // level-2 heading
  std::string text;     // paragraph(s) before the tables, plain text
  std::vector<Table> tables;
};

// One PNG + SVG pair, paths relative to the run directory ("plots/spearman_overview.png").
struct PlotFile {
  std::string title, png, svg;
};

// Heading lines (provenance, counts) and the sections of report.md / report.html, in order.
std::vector<std::string> report_preamble(const RunAggregate& agg);
std::vector<ReportSection> report_sections(const RunAggregate& agg);

// ---------------------------------------------------------------------------------------------
// Writers (pure: return the file contents)
// ---------------------------------------------------------------------------------------------

// Every aggregate; documented in the "format"/"aggregation" fields of the file itself.
nlohmann::ordered_json summary_json(const RunAggregate& agg);
// scope,heuristic,layer,metric,mean,stderr,n — scope is "overall", "category:NAME" or "dataset:NAME".
std::string layers_csv(const RunAggregate& agg);
std::string report_markdown(const RunAggregate& agg, const std::vector<PlotFile>& plots);
std::string report_html(const RunAggregate& agg, const std::vector<PlotFile>& plots);

// ---------------------------------------------------------------------------------------------
// Plots
// ---------------------------------------------------------------------------------------------

struct PlotResult {
  bool gnuplot_found = false;
  std::vector<PlotFile> plots;  // rendered (both files exist and are non-empty)
  std::vector<std::string> errors;  // gnuplot failures, one line each (the log is in plots/NAME.log)
};

// Absolute path of `program` found on PATH (or `program` itself when it holds a '/' and is
// executable); "" when not found.
std::string find_executable(const std::string& program);

// Writes RUN_DIR/plots/*.dat and *.gp, then runs `gnuplot` (when found) for PNG + SVG: per-layer ρ with
// stderr bands (overall + categories; datasets), recall@k per layer (one panel per keep rate), and a
// layer × heuristic heatmap of mean ρ.
PlotResult render_plots(const RunAggregate& agg, const std::string& run_dir, const std::string& gnuplot = "gnuplot");

// ---------------------------------------------------------------------------------------------
// Everything at once
// ---------------------------------------------------------------------------------------------

struct ReportOptions {
  bool plots = true;
  std::string gnuplot = "gnuplot";  // program name or path (tests point it elsewhere)
};

struct ReportFiles {
  std::string summary_json, layers_csv, markdown, html;  // full paths
  std::string explorer;  // explorer.html (reports/explorer_page.h); "" for runs without rank metrics
  PlotResult plots;
  bool gnuplot_missing = false;  // plots were wanted but gnuplot is not on PATH
};

ReportFiles write_report(const RunAggregate& agg, const std::string& run_dir, const ReportOptions& options = {});

// What a mode (rank, e2e) puts into a run folder; write_report_files writes it in one order for both:
// plots first (the pages link only the plots that were rendered), then summary.json, layers.csv (when
// the mode has one), report.md and report.html.
struct ReportContent {
  std::function<PlotResult()> plots;
  std::function<nlohmann::ordered_json()> summary_json;
  std::function<std::string()> layers_csv;  // empty: no layers.csv
  std::function<std::string(const std::vector<PlotFile>&)> markdown, html;
};
ReportFiles write_report_files(const std::string& run_dir, const ReportOptions& options, const ReportContent& content);

// "DIR/samples.jsonl:12" → "samples.jsonl:12": report files must not depend on where the run lives.
std::string without_directory(const std::string& where);

// Writes `content` atomically (core/atomic_file.h): a reader, a crash or a full disk never
// leaves half a report next to good samples.
void write_text_file(const std::string& path, const std::string& content);

}  // namespace claa
