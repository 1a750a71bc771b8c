#include "reports/report_format.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <cstdio>

#include "reports/report_writers.h"

namespace claa {

std::string percent(double keep) { return fmt::format("{:g}%", keep * 100.0); }
std::string points(double v) { return std::isnan(v) ? "—" : fmt::format("{:.1f}", v); }
std::string signed_points(double v) {
  if (std::isnan(v)) return "—";
  const std::string s = fmt::format("{:+.1f}", v);
  return s == "-0.0" ? "+0.0" : s;  // a loss that rounds to zero is no loss
}

std::string run_field(const nlohmann::json& run, const std::vector<std::string>& path) {
  const nlohmann::json* j = &run;
  for (const std::string& key : path) {
    if (!j->is_object() || !j->contains(key)) return "";
    j = &(*j)[key];
  }
  return j->is_string() ? j->get<std::string>() : j->dump();
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string html_stylesheet() {
  return R"(body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:14px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}
caption,.note{font-size:13px;color:#555;text-align:left}
img{max-width:100%;border:1px solid #ddd;margin:.5em 0})";
}

std::string gnuplot_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return out + "\"";
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

const std::vector<std::string>& plot_colors() {
  static const std::vector<std::string> colors = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
                                                  "#222222", "#8C564B", "#7F3C8D", "#B8860B", "#17BECF", "#BCBD22"};
  return colors;
}

const std::vector<int>& plot_points() {
  static const std::vector<int> points = {7, 5, 9, 13, 11, 1, 2, 3, 4, 6, 8, 10};
  return points;
}

namespace {

// Pass 0 draws solid (or plain dashed) lines so the first dozen series look as before; later passes
// only ever need more patterns, generated with growing dash lengths so they never repeat.
std::string dash_of(size_t pass, bool broken) {
  static const std::vector<std::string> solid = {"1", "4", "5"};        // solid, dash-dot, dash-dot-dot
  static const std::vector<std::string> dashes = {"2", "3", "(16,6)"};  // dashed, dotted, long dashes
  const std::vector<std::string>& family = broken ? dashes : solid;
  if (pass < family.size()) return family[pass];
  const size_t length = 4 * pass + 8;  // 20, 24, ...: longer than any pattern above
  return broken ? fmt::format("({},6)", length) : fmt::format("({},4,2,4)", length);
}

}  // namespace

PlotStyle plot_style(size_t index, bool broken) {
  const size_t pass = index / plot_colors().size();
  // The point type shifts by one per pass, so a colour's series also differ in their markers.
  return {plot_colors()[index % plot_colors().size()], dash_of(pass, broken),
          plot_points()[(index + pass) % plot_points().size()]};
}

std::string command_output(const std::string& command) {
  std::string out;
  if (FILE* p = popen(command.c_str(), "r")) {
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    pclose(p);
  }
  return out;
}

bool non_empty_file(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec) && std::filesystem::file_size(p, ec) > 0;
}

namespace {

// A '|' inside a cell would end the cell.
std::string md_row(const std::vector<std::string>& cells) {
  std::string out = "|";
  for (const std::string& c : cells) {
    out += ' ';
    for (char ch : c) {
      if (ch == '|') out += '\\';
      out += ch;
    }
    out += " |";
  }
  return out + "\n";
}

bool numeric_column(const Table& t, size_t c) {
  for (const auto& row : t.rows) {
    const std::string& s = c < row.size() ? row[c] : "";
    if (s.empty() || !(std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-' || s[0] == '+' || s.rfind("—", 0) == 0))
      return false;
  }
  return true;
}

}  // namespace

std::string md_table(const Table& t, bool align_numbers) {
  std::string out;
  if (!t.title.empty()) out += "### " + t.title + "\n\n";
  if (!t.intro.empty()) out += t.intro + "\n\n";
  if (!t.rows.empty()) {
    out += md_row(t.header);
    std::vector<std::string> align;
    for (size_t c = 0; c < t.header.size(); ++c) align.push_back(align_numbers && numeric_column(t, c) ? "---:" : "---");
    out += md_row(align);
    for (size_t r = 0; r < t.rows.size(); ++r) {
      std::vector<std::string> cells = t.rows[r];
      for (size_t c = 0; c < cells.size(); ++c)
        if (t.bold.count({r, c}) && !cells[c].empty()) cells[c] = "**" + cells[c] + "**";
      out += md_row(cells);
    }
    out += "\n";
  }
  if (!t.footnote.empty()) out += "_" + t.footnote + "_\n\n";
  return out;
}

std::string html_table(const Table& t, const std::string& reference_row) {
  std::string out;
  if (!t.title.empty()) out += "<h3>" + html_escape(t.title) + "</h3>\n";
  if (!t.intro.empty()) out += "<p>" + html_escape(t.intro) + "</p>\n";
  if (!t.rows.empty()) {
    out += "<table>\n<tr>";
    for (const std::string& h : t.header) out += "<th>" + html_escape(h) + "</th>";
    out += "</tr>\n";
    for (size_t r = 0; r < t.rows.size(); ++r) {
      const std::vector<std::string>& row = t.rows[r];
      bool reference = !reference_row.empty() && !row.empty() && row.front() == reference_row;
      out += reference ? "<tr class=\"ref\">" : "<tr>";
      for (size_t c = 0; c < row.size(); ++c)
        out += t.bold.count({r, c}) ? "<td><strong>" + html_escape(row[c]) + "</strong></td>"
                                    : "<td>" + html_escape(row[c]) + "</td>";
      out += "</tr>\n";
    }
    out += "</table>\n";
  }
  if (!t.footnote.empty()) out += "<p class=\"note\">" + html_escape(t.footnote) + "</p>\n";
  return out;
}

}  // namespace claa
