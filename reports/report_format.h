// Small formatting helpers shared by the report writers (rank and e2e): numbers as the tables show
// them, HTML/gnuplot/shell quoting, the plot palette, and running gnuplot.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace claa {

struct Table;

std::string percent(double keep);        // 0.1 → "10%"
std::string points(double v);            // one decimal; NaN → "—"
std::string signed_points(double v);     // "+1.5", "-0.3"; a loss that rounds to zero is "+0.0"; NaN → "—"
inline constexpr double kMiB = 1024.0 * 1024.0;
// A field of run.json by its path ({"config", "name"}), as text ("" when absent; non-strings as JSON).
std::string run_field(const nlohmann::json& run, const std::vector<std::string>& path);

std::string html_escape(const std::string& s);
// The CSS every report.html uses.
std::string html_stylesheet();
std::string gnuplot_quote(const std::string& s);  // "..." with \" and \\ escaped
std::string shell_quote(const std::string& s);    // '...' for /bin/sh
// Colour-blind-safe palette (Okabe–Ito first) and point types, so every figure looks alike.
const std::vector<std::string>& plot_colors();
const std::vector<int>& plot_points();
// The line style of series `index` of a figure: colour `index % plot_colors().size()`, then a new
// dash type for each pass over the colours, so no two indices share (colour, dash) however many
// series there are. `broken` picks a family of dash types disjoint from the solid family's (the rank
// report draws layer-independent heuristics broken). `dash` is gnuplot's `dt` argument ("1", "(20,6)").
struct PlotStyle {
  std::string color, dash;
  int point = 7;
};
PlotStyle plot_style(size_t index, bool broken = false);
// A report table as a GitHub pipe table; align_numbers right-aligns columns whose cells all look
// numeric ("12.5", "-3.0", "+0.0", "10%", "—").
std::string md_table(const Table& t, bool align_numbers = false);
// The same as HTML; rows whose first cell equals reference_row get class "ref".
std::string html_table(const Table& t, const std::string& reference_row = "");
// Standard output of a shell command ("" if it cannot run).
std::string command_output(const std::string& command);
bool non_empty_file(const std::filesystem::path& p);

}  // namespace claa
