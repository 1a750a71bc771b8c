#include "reports/budget_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <map>
#include <tuple>

#include "reports/report_format.h"

namespace claa {

namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

double nan() { return std::nan(""); }

double number(const json& v) { return v.is_number() ? v.get<double>() : nan(); }

struct Samples {  // running values of one quantity over samples
  std::vector<double> values;
  void add(double v) {
    if (!std::isnan(v)) values.push_back(v);
  }
  double mean() const {
    if (values.empty()) return nan();
    double s = 0;
    for (double v : values) s += v;
    return s / static_cast<double>(values.size());
  }
  Stat stat() const {
    Stat s;
    s.n = static_cast<int64_t>(values.size());
    if (s.n == 0) return s;
    s.mean = mean();
    double ss = 0;
    for (double v : values) ss += (v - s.mean) * (v - s.mean);
    s.se = s.n > 1 ? std::sqrt(ss / static_cast<double>(s.n - 1)) / std::sqrt(static_cast<double>(s.n)) : 0.0;
    return s;
  }
};

struct RowAccumulator {
  Samples share, raw_std, max_value, p99_value, evidence;
};

struct Accumulator {
  std::string normalize;
  int64_t samples = 0;
  Samples slots, evidence_any;
  std::map<std::pair<int, int>, RowAccumulator> rows;
};

using Key = std::tuple<std::string, int, double>;  // owner, layer, keep

// One diagnostics object (row_diagnostics.h to_json) at keep index `k`.
void add(std::map<Key, Accumulator>& acc, const std::string& owner, const json& d, size_t k) {
  const double keep = d.at("keep_rates").at(k).get<double>();
  Accumulator& a = acc[{owner, d.at("layer").get<int>(), keep}];
  a.normalize = d.value("normalize", "");
  ++a.samples;
  a.slots.add(number(d.at("slots").at(k)));
  double best_any = nan();
  for (const json& r : d.at("rows")) {
    RowAccumulator& row = a.rows[{r.at("layer").get<int>(), r.at("head").get<int>()}];
    row.share.add(number(r.at("share").at(k)));
    row.raw_std.add(number(r.at("raw_std")));
    row.max_value.add(number(r.at("max")));
    row.p99_value.add(number(r.at("p99")));
    const double ev = number(r.at("evidence_best"));
    row.evidence.add(ev);
    if (!std::isnan(ev)) best_any = std::isnan(best_any) ? ev : std::max(best_any, ev);
  }
  a.evidence_any.add(best_any);
}

void add_record(std::map<Key, Accumulator>& acc, const json& rec) {
  if (rec.contains("heuristics") && rec["heuristics"].is_object()) {
    for (const auto& [label, h] : rec["heuristics"].items()) {
      if (!h.is_object() || !h.contains("diagnostics")) continue;
      for (const json& d : h["diagnostics"])
        for (size_t k = 0; k < d.at("keep_rates").size(); ++k) add(acc, label, d, k);
    }
  }
  if (rec.contains("results") && rec["results"].is_array()) {
    for (const json& r : rec["results"]) {
      if (!r.is_object() || !r.contains("diagnostics")) continue;
      add(acc, r.at("method").get<std::string>(), r["diagnostics"], 0);
    }
  }
}

std::string row_name(int layer, int head) {
  return head < 0 ? fmt::format("layer {} (head sum)", layer) : fmt::format("layer {}, KV head {}", layer, head);
}

std::string fixed(double v, int digits) { return std::isnan(v) ? "—" : fmt::format("{:.{}f}", v, digits); }

}  // namespace

std::vector<BudgetAggregate> aggregate_budgets(const std::vector<std::string>& sample_files) {
  std::map<Key, Accumulator> acc;
  for (const std::string& path : sample_files) {
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
      json rec = json::parse(line, nullptr, false);
      if (rec.is_discarded() || !rec.is_object()) continue;
      try {
        add_record(acc, rec);
      } catch (const json::exception&) {
        continue;  // a malformed diagnostics block only loses itself
      }
    }
  }
  std::vector<BudgetAggregate> out;
  for (const auto& [key, a] : acc) {
    BudgetAggregate b;
    std::tie(b.owner, b.layer, b.keep) = key;
    b.normalize = a.normalize;
    b.samples = a.samples;
    b.slots = a.slots.mean();
    b.evidence_best_any = a.evidence_any.mean();
    for (const auto& [label, r] : a.rows) {
      BudgetRowAggregate row;
      std::tie(row.layer, row.head) = label;
      row.share = r.share.stat();
      row.raw_std = r.raw_std.mean();
      row.max_value = r.max_value.mean();
      row.p99_value = r.p99_value.mean();
      row.evidence_best = r.evidence.mean();
      row.evidence_samples = static_cast<int64_t>(r.evidence.values.size());
      b.rows.push_back(row);
    }
    out.push_back(std::move(b));
  }
  return out;
}

std::vector<ReportSection> budget_sections(const std::vector<BudgetAggregate>& budgets) {
  if (budgets.empty()) return {};
  ReportSection s;
  s.heading = "Budget diagnostics";
  s.text =
      "For heuristics that aggregate rows (CLAA: the max over normalised (layer, KV head) rows), which rows supply "
      "the tokens the budget keeps. A slot is won by the row holding the token's highest normalised score. Rank mode: "
      "the slots are the aggregate's top-k at each keep rate; e2e mode: the tokens the pipeline kept at l_p, minus "
      "the forced window. Means over samples; 'evidence best' is the highest normalised score any gold evidence "
      "token reaches in that row. A diffuse row winning most slots while the evidence stays low explains a low "
      "evidence recall.";
  constexpr size_t kShown = 8;
  for (const BudgetAggregate& b : budgets) {
    Table t;
    t.title = fmt::format("{} at layer {}, keep {:g}%", b.owner, b.layer, b.keep * 100.0);
    t.intro = fmt::format("{} samples, {:.1f} slots each; normalisation {}; evidence's best score over all rows: {}",
                          b.samples, b.slots, b.normalize.empty() ? "—" : b.normalize, fixed(b.evidence_best_any, 3));
    t.header = {"row", "slot share", "± stderr", "raw row std", "max", "p99", "evidence best"};
    std::vector<const BudgetRowAggregate*> order;
    for (const BudgetRowAggregate& r : b.rows) order.push_back(&r);
    std::stable_sort(order.begin(), order.end(),
                     [](const BudgetRowAggregate* x, const BudgetRowAggregate* y) { return x->share.mean > y->share.mean; });
    for (size_t i = 0; i < std::min(kShown, order.size()); ++i) {
      const BudgetRowAggregate& r = *order[i];
      t.rows.push_back({row_name(r.layer, r.head), fmt::format("{:.1f}%", 100.0 * r.share.mean),
                        fmt::format("{:.1f}", 100.0 * r.share.se), fixed(r.raw_std, 4), fixed(r.max_value, 3),
                        fixed(r.p99_value, 3), fixed(r.evidence_best, 3)});
    }
    if (order.size() > kShown) t.footnote = fmt::format("{} more rows with smaller shares in summary.json", order.size() - kShown);
    s.tables.push_back(std::move(t));
  }
  return {s};
}

std::vector<Figure> budget_figures(const std::vector<BudgetAggregate>& budgets, const std::filesystem::path& dir) {
  std::vector<Figure> figures;
  std::vector<std::string> drawn;
  for (const BudgetAggregate& b : budgets) {  // sorted by owner, layer, keep: the first of each owner
    if (b.rows.empty() || std::find(drawn.begin(), drawn.end(), b.owner) != drawn.end()) continue;
    drawn.push_back(b.owner);
    int first = b.rows.front().layer, last = first, heads = 1;
    for (const BudgetRowAggregate& r : b.rows)
      first = std::min(first, r.layer), last = std::max(last, r.layer), heads = std::max(heads, r.head + 1);
    std::vector<std::vector<double>> share(heads, std::vector<double>(last - first + 1, nan()));
    for (const BudgetRowAggregate& r : b.rows) share[std::max(0, r.head)][r.layer - first] = 100.0 * r.share.mean;
    std::string data;
    for (const auto& row : share) {
      for (size_t i = 0; i < row.size(); ++i)
        data += fmt::format("{}{}", i ? " " : "", std::isnan(row[i]) ? "NaN" : fmt::format("{:.2f}", row[i]));
      data += "\n";
    }
    std::string name = "budget_share_";
    for (char c : b.owner) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    write_text_file((dir / (name + ".dat")).string(), data);
    Figure f;
    f.name = name;
    f.title = fmt::format("{}: slots won per row (layer {}, keep {:g}%, {} samples)", b.owner, b.layer, b.keep * 100.0,
                          b.samples);
    f.caption = fmt::format("{}: slot share over layer × KV head", b.owner);
    f.width = std::max(640, 260 + 90 * (last - first + 1));
    f.height = 170 + 60 * heads;
    f.body = fmt::format(
        "set title {} font \",12\"\nset xlabel \"layer\"\nset ylabel \"KV head\"\n"
        "set xtics ({})\nset ytics 0,1 nomirror\nset xrange [-0.5:{}]\nset yrange [{}:-0.5]\nset cbrange [0:100]\n"
        "set cblabel \"share of slots (%)\"\nset palette defined (0 \"#f7f7f7\", 50 \"#fdae61\", 100 \"#b2182b\")\n"
        "unset key\nset tics out\n{}",
        gnuplot_quote(f.title),
        [&] {
          std::string tics;
          for (int l = first; l <= last; ++l) tics += fmt::format("{}\"{}\" {}", l == first ? "" : ", ", l, l - first);
          return tics;
        }(),
        last - first + 0.5, heads - 0.5, heatmap_plot(name + ".dat", "%.1f", 9));
    figures.push_back(std::move(f));
  }
  return figures;
}

ojson budget_json(const std::vector<BudgetAggregate>& budgets) {
  ojson out = ojson::array();
  auto maybe = [](double v) { return std::isnan(v) ? ojson(nullptr) : ojson(v); };
  for (const BudgetAggregate& b : budgets) {
    ojson rows = ojson::array();
    for (const BudgetRowAggregate& r : b.rows)
      rows.push_back({{"layer", r.layer},
                      {"head", r.head},
                      {"share", {{"mean", r.share.mean}, {"stderr", r.share.se}, {"n", r.share.n}}},
                      {"raw_std", maybe(r.raw_std)},
                      {"max", maybe(r.max_value)},
                      {"p99", maybe(r.p99_value)},
                      {"evidence_best", maybe(r.evidence_best)},
                      {"evidence_samples", r.evidence_samples}});
    out.push_back({{"owner", b.owner},
                   {"layer", b.layer},
                   {"keep", b.keep},
                   {"normalize", b.normalize},
                   {"samples", b.samples},
                   {"slots", maybe(b.slots)},
                   {"evidence_best_any", maybe(b.evidence_best_any)},
                   {"rows", rows}});
  }
  return out;
}

}  // namespace claa
