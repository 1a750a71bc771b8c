// Cost-front figures (cost_front.h).
#include "reports/cost_front.h"

#include <fmt/format.h>

#include <cmath>

#include "reports/report_format.h"

namespace claa {

namespace {

// One block per method (gnuplot "index m"): x, average score, keep (%), in keep order; Full KV last.
std::string front_data(const E2eAggregate& agg, double (*x)(const E2eRow&)) {
  std::string out =
      "# x average_score keep_percent; one block per method (E2eAggregate::methods order), then Full KV\n";
  auto line = [&](const E2eRow& r) {
    const double v = x(r);
    return r.average.n > 0 && std::isfinite(v) ? fmt::format("{:.6g} {:.6f} {:g}\n", v, r.average.mean, 100 * r.keep)
                                               : std::string();
  };
  for (const std::string& m : agg.methods) {
    out += "# " + m + "\n";
    for (const E2eRow& r : agg.rows)
      if (!r.reference && r.method == m && r.complete()) out += line(r);
    out += "\n\n";
  }
  out += "# Full KV\n";
  if (const E2eRow* ref = agg.reference()) out += line(*ref);
  return out + "\n";
}

std::string front_body(const E2eAggregate& agg, const std::string& dat, const std::string& title,
                       const std::string& xlabel, bool log_x) {
  std::string body = fmt::format(
      "set title {} font \",13\"\nset xlabel {}\nset ylabel \"average score (points)\"\n{}"
      "set grid lc rgb \"#e0e0e0\"\nset key outside right top vertical Left reverse font \",11\"\nset border 3\n"
      "set xtics nomirror\nset ytics nomirror\nset offsets graph 0.05, graph 0.05, graph 0.05, 0\nset yrange [0:*]\n",
      gnuplot_quote(title), gnuplot_quote(xlabel), log_x ? "set logscale x\n" : "");
  std::vector<std::string> parts;
  for (size_t m = 0; m < agg.methods.size(); ++m)
    parts.push_back(fmt::format("{} index {} using 1:2 with linespoints lw 2 ps 1.4 pt {} lc rgb {} title {}",
                                gnuplot_quote(dat), m, plot_points()[m % plot_points().size()],
                                gnuplot_quote(plot_colors()[m % plot_colors().size()]), gnuplot_quote(agg.methods[m])));
  parts.push_back(fmt::format("{} index {} using 1:2 with points pt 3 ps 2.5 lc rgb \"#333333\" title \"Full KV\"",
                              gnuplot_quote(dat), agg.methods.size()));
  body += "plot ";
  for (size_t i = 0; i < parts.size(); ++i) body += (i ? ", \\\n     " : "") + parts[i];
  return body + "\n";
}

}  // namespace

std::vector<Figure> cost_front_figures(const E2eAggregate& agg, const std::filesystem::path& dir) {
  std::vector<Figure> out;
  bool timed = false;
  for (const E2eRow& r : agg.rows) timed = timed || std::isfinite(r.prefill_seconds);
  if (timed) {
    const std::string name = "cost_front_ttft",
                      title = "Average score vs time to first token (one point per keep rate)";
    write_text_file((dir / (name + ".dat")).string(),
                    front_data(agg, [](const E2eRow& r) { return r.prefill_seconds; }));
    out.push_back({name, title, 900, 520,
                   front_body(agg, name + ".dat", title, "mean time to first token (s, measured in the run)", false),
                   11, "Cost front: score vs TTFT"});
  }
  const std::string name = "cost_front_cache", title = "Average score vs decode KV cache (one point per keep rate)";
  write_text_file((dir / (name + ".dat")).string(),
                  front_data(agg, [](const E2eRow& r) { return r.cache_bytes / kMiB; }));
  out.push_back({name, title, 900, 520,
                 front_body(agg, name + ".dat", title, "mean KV cache after prefill (MiB, log scale)", true), 11,
                 "Cost front: score vs KV cache"});
  return out;
}

}  // namespace claa
