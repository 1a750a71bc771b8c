// Small formatting helpers shared by the report writers (rank and e2e): HTML/gnuplot/shell quoting,
// the plot palette, and running gnuplot.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace claa {

struct Table;

std::string html_escape(const std::string& s);
// The CSS every report.html uses.
std::string html_stylesheet();
std::string gnuplot_quote(const std::string& s);  // "..." with \" and \\ escaped
std::string shell_quote(const std::string& s);    // '...' for /bin/sh
// Colour-blind-safe palette (Okabe–Ito first) and point types, so every figure looks alike.
const std::vector<std::string>& plot_colors();
const std::vector<int>& plot_points();
// A report table as a GitHub pipe table; align_numbers right-aligns columns whose cells all look
// numeric ("12.5", "-3.0", "+0.0", "10%", "—").
std::string md_table(const Table& t, bool align_numbers = false);
// The same as HTML; rows whose first cell equals reference_row get class "ref".
std::string html_table(const Table& t, const std::string& reference_row = "");
// Standard output of a shell command ("" if it cannot run).
std::string command_output(const std::string& command);
bool non_empty_file(const std::filesystem::path& p);

}  // namespace claa
