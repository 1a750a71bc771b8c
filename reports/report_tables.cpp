// The content of report.md / report.html as plain tables, so both pages show identical numbers.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <map>

#include "reports/budget_report.h"
#include "reports/report_format.h"
#include "reports/turn_report.h"
#include "reports/report_writers.h"

namespace claa {

namespace {

std::string num(double v, int digits = 3) { return fmt::format("{:.{}f}", v, digits); }

// "0–2, 7, 9–10": consecutive layers collapsed into ranges.
std::string layer_ranges(const std::vector<int>& layers) {
  std::string out;
  for (size_t i = 0; i < layers.size();) {
    size_t j = i;
    while (j + 1 < layers.size() && layers[j + 1] == layers[j] + 1) ++j;
    out += (out.empty() ? "" : ", ") + (j == i ? fmt::format("{}", layers[i]) : fmt::format("{}–{}", layers[i], layers[j]));
    i = j + 1;
  }
  return out;
}

const HeuristicMeta& meta_of(const RunAggregate& agg, const std::string& name) {
  for (const HeuristicMeta& m : agg.heuristics)
    if (m.name == name) return m;
  return agg.heuristics.front();  // unreachable: scopes only hold the run's heuristics
}

std::string notes_of(const HeuristicMeta& m) {
  std::string notes = m.layer_independent ? "layer-independent" : "";
  if (!m.note.empty()) notes += (notes.empty() ? "" : "; ") + m.note;
  return notes;
}

// A paired difference as the tables show it: "Δ [low, high] ✓" (✓: distinguishable) and "p / Holm p".
std::string delta_cell(const PairedDiff& d) {
  if (d.n == 0 || std::isnan(d.mean)) return "—";
  return fmt::format("{:+.3f} [{:+.3f}, {:+.3f}]{}", d.mean, d.ci.low, d.ci.high, d.distinguishable ? " ✓" : "");
}
std::string p_cell(const PairedDiff& d) {
  return d.n == 0 || std::isnan(d.p) ? "—" : fmt::format("{:.3g} / {:.3g}", d.p, d.p_holm);
}

const PairedTable* paired_of(const RunAggregate& agg, const std::string& scope_label) {
  for (const PairedTable& t : agg.rho_paired.scopes)
    if (t.scope == scope_label) return &t;
  return nullptr;
}

// "Monte Carlo tests use P random sign patterns here ..." where the family's count was raised (aggregate.h
// family_permutations), with the smallest attainable Holm p when the raise was capped; "" otherwise.
std::string raised_permutations(const PairedTable& t, const ResamplingOptions& o) {
  if (t.permutations <= o.permutation_resamples) return "";
  if (!t.permutations_capped)
    return fmt::format(
        "Monte Carlo tests use {} random sign patterns here, more than the configured {}, so that Holm over "
        "{} pairs can reach the level.",
        t.permutations, o.permutation_resamples, t.family_size);
  const double smallest =
      std::min(1.0, 2.0 * static_cast<double>(t.family_size) / static_cast<double>(t.permutations + 1));
  return fmt::format(
      "Monte Carlo tests use {} random sign patterns here (more than the configured {}, raised only up to {}): "
      "the smallest Holm p a Monte Carlo test can reach over {} pairs is {:.3g}, above {:g}{}.",
      t.permutations, o.permutation_resamples, kMaxFamilyPermutations, t.family_size, smallest, (1 - o.level) / 2,
      smallest >= 1 - o.level
          ? fmt::format(" and not below the level {:g}, so none of them can be marked distinguishable", 1 - o.level)
          : "");
}

// Sentences joined by one space, empty ones left out.
std::string sentences(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts)
    if (!p.empty()) out += (out.empty() ? "" : " ") + p;
  return out;
}

// The per-heuristic summary table of one scope (method.md §3's per-layer spread included).
Table heuristic_table(const ScopeAggregate& scope, const RunAggregate& agg, const std::string& title) {
  Table t;
  t.title = title;
  t.intro = scope.kind == "dataset"
                ? fmt::format("{} samples, {} with an empty answer (not ranked).", scope.samples, scope.empty_answers)
                : fmt::format("{} datasets, {} samples, {} with an empty answer (not ranked); mean over datasets.",
                              scope.datasets.size(), scope.samples, scope.empty_answers);
  const PairedTable* paired = paired_of(agg, scope.label());
  t.header = {"heuristic", "mean ρ", "Δρ vs best [CI]", "p / Holm p", "mean τ"};
  for (double r : agg.keep_rates) t.header.push_back("recall@" + percent(r));
  const std::string below = fmt::format("layers ρ < {:g}", agg.rho_threshold);
  for (const std::string& h : {std::string("best layer (ρ)"), std::string("worst layer (ρ)"),
                               std::string("std across layers"), below, std::string("notes")})
    t.header.push_back(h);
  for (const HeuristicAggregate& h : scope.heuristics) {
    if (!h.has_data) continue;
    const HeuristicSummary& s = h.summary;
    std::string delta = "—", p = "—";
    if (paired && h.name == paired->best) delta = "best", p = "";
    if (paired)
      for (const PairedDiff& d : paired->vs_best)
        if (d.method == h.name) delta = delta_cell(d), p = p_cell(d);
    std::vector<std::string> row = {h.name, num(s.mean_rho), delta, p, num(s.mean_kendall)};
    for (double r : s.recall) row.push_back(num(r));
    row.push_back(fmt::format("{} ({})", s.best_layer, num(s.best_rho)));
    row.push_back(fmt::format("{} ({})", s.worst_layer, num(s.worst_rho)));
    row.push_back(num(s.layer_std));
    row.push_back(s.layers_below.empty() ? "0"
                                         : fmt::format("{}: {}", s.layers_below.size(), layer_ranges(s.layers_below)));
    row.push_back(notes_of(meta_of(agg, h.name)));
    t.rows.push_back(std::move(row));
  }
  if (t.rows.empty()) t.footnote = "No ranked samples in this scope.";
  if (paired && !t.rows.empty() && !paired->vs_best.empty())
    t.footnote = sentences({fmt::format("Holm over all {} pairs of the table's heuristics.", paired->family_size),
                            raised_permutations(*paired, agg.rho_paired.options)});
  return t;
}

// Layer × heuristic table of overall mean ρ ± stderr: Figure 2 in numbers. Per layer, the best heuristic
// in bold and "≈" on those not distinguishable from it (aggregate.h RhoComparison::layers).
Table layer_table(const RunAggregate& agg) {
  const ScopeAggregate& overall = agg.overall();
  const RhoComparison& c = agg.rho_paired;
  Table t;
  t.header = {"layer"};
  for (const HeuristicAggregate& h : overall.heuristics)
    if (h.has_data) t.header.push_back(h.name);
  size_t tests = 0, m_low = 0, m_high = 0;
  const PairedTable* largest = nullptr;  // the layer with the largest family: the highest permutation count
  for (int l = 0; l < agg.n_layers; ++l) {
    const PairedTable* paired = static_cast<size_t>(l) < c.layers.size() ? &c.layers[l] : nullptr;
    std::vector<std::string> row = {fmt::format("{}", l)};
    for (const HeuristicAggregate& h : overall.heuristics) {
      if (!h.has_data) continue;
      std::string cell = fmt::format("{} ± {}", num(h.layers[l][0].mean), num(h.layers[l][0].se));
      if (paired && h.name == paired->best) t.bold.insert({t.rows.size(), row.size()});
      if (paired)
        for (const PairedDiff& d : paired->vs_best)
          if (d.method == h.name && d.n > 0 && !d.distinguishable) cell += " ≈";
      row.push_back(std::move(cell));
    }
    if (paired && !paired->vs_best.empty()) {
      for (const PairedDiff& d : paired->vs_best) tests += d.n > 0 && !std::isnan(d.p) ? 1 : 0;
      m_low = largest ? std::min(m_low, paired->family_size) : paired->family_size;
      m_high = largest ? std::max(m_high, paired->family_size) : paired->family_size;
      if (!largest || paired->family_size > largest->family_size) largest = paired;
    }
    t.rows.push_back(std::move(row));
  }
  t.footnote = "Overall scope, mean Spearman ρ ± stderr per layer; every metric per scope is in layers.csv.";
  if (largest)
    t.footnote = sentences(
        {t.footnote,
         fmt::format(
             "Bold: the layer's best heuristic (highest mean ρ); ≈: not distinguishable from it (paired sign-flip "
             "permutation test on the per-sample ρ at that layer, Holm over that layer's pairs: its comparisons "
             "with the best ({} with a p in the table) adjusted as part of all M = H(H−1)/2 = {} pairs of the "
             "layer's H heuristics; Holm p ≥ {:g}); unmarked: distinguishable. Δ, intervals and p-values: "
             "summary.json paired_spearman.layers.",
             tests, m_low == m_high ? fmt::format("{}", m_low) : fmt::format("{}–{}", m_low, m_high),
             1 - c.options.level),
         raised_permutations(*largest, c.options)});
  return t;
}

std::vector<std::string> score_row(const std::string& name, const std::string& category, const ScopeAggregate& s) {
  return {name, category, num(s.score.mean, 2), num(s.score.se, 2), fmt::format("{}", s.samples),
          fmt::format("{}", s.empty_answers)};
}

Table score_table(const RunAggregate& agg) {
  Table t;
  t.header = {"dataset / scope", "category", "score", "stderr", "samples", "empty answers"};
  std::map<std::string, std::string> category_of;
  for (const DatasetInfo& d : agg.datasets) category_of[d.name] = d.category;
  for (const ScopeAggregate& s : agg.scopes)
    if (s.kind == "dataset") t.rows.push_back(score_row(s.name, category_of[s.name], s));
  for (const ScopeAggregate& s : agg.scopes)
    if (s.kind == "category") t.rows.push_back(score_row("category mean", s.name, s));
  t.rows.push_back(score_row("overall mean", "all", agg.overall()));
  t.footnote = "Task score of the full-context answer (the runner's scorer, points); empty answers count with "
               "their score. Category/overall: mean of the dataset means.";
  return t;
}

Table empty_table(const RunAggregate& agg) {
  constexpr size_t kMaxIds = 20;  // a long list of ids helps nobody in a summary page
  Table t;
  t.header = {"dataset", "empty answers", "samples", "sample ids"};
  for (const DatasetInfo& d : agg.datasets) {
    if (d.empty_answers == 0) continue;
    std::string ids;
    for (size_t i = 0; i < d.empty_ids.size() && i < kMaxIds; ++i) ids += (i ? ", " : "") + d.empty_ids[i];
    if (d.empty_ids.size() > kMaxIds) ids += fmt::format(", … and {} more", d.empty_ids.size() - kMaxIds);
    t.rows.push_back({d.name, fmt::format("{}", d.empty_answers), fmt::format("{}", d.samples), ids});
  }
  return t;
}

// What each heuristic cost (timings.jsonl): its scoring, extra forwards included, and its metrics,
// beside the capture prefill of the same samples, so a slow heuristic is seen before it is waited for.
ReportSection cost_section(const std::vector<HeuristicCost>& costs) {
  Table t;
  t.header = {"heuristic", "samples", "scoring s (sum)", "scoring s / sample", "× capture prefill", "metrics s (sum)"};
  double total = 0, prefill = 0;
  for (const HeuristicCost& c : costs) {
    t.rows.push_back({c.name, std::to_string(c.samples), num(c.score_seconds, 2), num(c.score_seconds / c.samples, 3),
                      c.prefill_seconds > 0 ? num(c.score_seconds / c.prefill_seconds, 2) : "–",
                      num(c.compare_seconds, 2)});
    total += c.score_seconds + c.compare_seconds;
    prefill = std::max(prefill, c.prefill_seconds);
  }
  return {"Cost per heuristic",
          fmt::format("Wall seconds per heuristic, summed over the samples (timings.jsonl): scoring, with any forward "
                      "pass of its own (KVzip's reconstruction, a draft's look-ahead), and the comparisons with the "
                      "oracle; × capture prefill = scoring time / the same samples' prefill. What the capture computes "
                      "during the prefill for a heuristic (window sums, H2O's column sums, ...) counts in the prefill. "
                      "All heuristics together: "
                      "{:.2f} s beside {:.2f} s of capture prefill.",
                      total, prefill),
          {t}};
}

}  // namespace

std::vector<std::string> report_preamble(const RunAggregate& agg) {
  std::vector<std::string> lines;
  for (const auto& [label, path] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"model", {"model", "path"}}, {"model", {"model", "name"}}, {"git commit", {"git_commit"}},
           {"device", {"device"}}, {"libtorch", {"libtorch"}}}) {
    const std::string v = run_field(agg.run, path);
    if (!v.empty()) lines.push_back(fmt::format("{}: {}", label, v));
  }
  std::vector<std::string> keeps;
  for (double r : agg.keep_rates) keeps.push_back(percent(r));
  lines.push_back(fmt::format("samples: {} in {} datasets ({} empty answers, excluded from the ranking metrics)",
                              agg.samples, agg.datasets.size(), agg.empty_answers));
  lines.push_back(fmt::format("heuristics: {}; layers: {}; keep rates: {}; ρ threshold: {:g}", agg.heuristics.size(),
                              agg.n_layers, fmt::join(keeps, ", "), agg.rho_threshold));
  for (const std::string& torn : agg.load.torn_lines)
    lines.push_back(fmt::format("ignored a torn last line (interrupted write): {}", without_directory(torn)));
  return lines;
}

// Each heuristic against the best one at each keep rate, paired on the same samples (aggregate.h LeadComparison).
Table lead_paired_table(const RunAggregate& agg) {
  const LeadComparison& c = agg.lead;
  Table t;
  t.title = "Paired differences from the best heuristic (lead metric)";
  t.intro = fmt::format(
      "Per keep rate, the heuristic with the highest mean {0}@l_p over its samples is the reference; Δ = mean "
      "over the samples both have of (heuristic − best), with its {1:g}% percentile-bootstrap interval ({2} "
      "resamples); p = two-sided paired permutation test, then Holm over the table as part of all M = {4} pairs of "
      "heuristics over the keep rates (the best is chosen from the same samples). ✓ = distinguishable from "
      "noise (Holm p < {3:g}). Plain means over samples (each sample weighs the same).",
      c.base, 100 * c.options.level, c.options.bootstrap_resamples, 1 - c.options.level, c.family_size);
  t.header = {"keep", "heuristic", "best", "Δ [CI]", "p / Holm p", "samples"};
  for (const PairedDiff& d : c.vs_best)
    t.rows.push_back({percent(d.keep), d.method, d.against,
                      d.n == 0 ? "—"
                               : fmt::format("{:+.3f} [{:+.3f}, {:+.3f}]{}", d.mean, d.ci.low, d.ci.high,
                                             d.distinguishable ? " ✓" : ""),
                      d.n == 0 ? "—" : fmt::format("{:.3g} / {:.3g}", d.p, d.p_holm), fmt::format("{}", d.n)});
  if (t.rows.empty()) t.footnote = "Fewer than two heuristics have the metric: nothing to compare.";
  return t;
}

// The lead metric (docs/findings.md "Which rank metric predicts the answer"): evidence recall at the
// pruning layer l_p = L/2 − 1, the rank metric whose cell means tracked end-to-end scores best on RULER
// (ρ 0.875 across method × keep cells, 60 samples); where the datasets have no gold spans, attention-mass
// recall at l_p, the best metric that needs none. Overall scope, per keep rate.
ReportSection lead_section(const RunAggregate& agg) {
  const int layer = std::max(0, agg.n_layers / 2 - 1);
  const std::string base = lead_metric_base(agg);
  Table t;
  t.header = {"heuristic"};
  for (double k : agg.keep_rates) t.header.push_back(fmt::format("keep {}", percent(k)));
  for (const HeuristicAggregate& h : agg.overall().heuristics) {
    if (!h.has_data || layer >= static_cast<int>(h.layers.size())) continue;
    std::vector<std::string> row = {h.name};
    for (double k : agg.keep_rates) {
      const int m = agg.metric_index(metric_name(base, k));
      const Stat& st = h.layers[layer][m];
      row.push_back(st.n > 0 ? fmt::format("{} ± {}", num(st.mean), num(st.se)) : "—");
    }
    t.rows.push_back(std::move(row));
  }
  t.footnote = fmt::format("Overall scope, mean ± stderr at layer {}; k = ceil(keep · N').", layer);
  const std::string why =
      base == "evidence_recall"
          ? "the share of the gold evidence tokens each heuristic keeps at the pruning layer"
          : "the share of the oracle's top-k attention mass each heuristic keeps at the pruning layer (these "
            "datasets have no gold evidence spans)";
  return {"Lead metric: " + base + "@l_p",
          fmt::format("Per heuristic and keep rate, {} (l_p = layer {} = L/2 − 1, where the pipelines prune). On "
                      "RULER this is the rank metric that best predicts end-to-end accuracy, far better than "
                      "Spearman ρ (docs/findings.md, \"Which rank metric predicts the answer\"); ρ and the other "
                      "metrics follow.",
                      why, layer),
          {t, lead_paired_table(agg)}};
}

// What the heuristics tables' Δρ columns are (aggregate.h RhoComparison; method.md §6 "Paired ρ").
std::string paired_rho_caption(const RunAggregate& agg) {
  const ResamplingOptions& o = agg.rho_paired.options;
  const PairedTable* overall = paired_of(agg, agg.overall().label());
  return fmt::format(
      "Δρ vs best: each heuristic's paired difference in mean ρ from the table's best heuristic (the highest mean "
      "ρ). A sample's value is its ρ averaged over layers; samples are weighted as the means are (every dataset the "
      "same, each dataset's samples alike), so Δρ is the difference of the two mean ρ shown (up to layers left out "
      "for NaN/Inf). [CI]: {:g}% percentile-bootstrap interval ({} resamples of the samples); p: two-sided paired "
      "sign-flip permutation test (exact up to 2^n ≤ {} sign patterns{}), then Holm over the table as part of all "
      "its pairs of heuristics (the best is chosen from the same samples; M in each table's note); ✓ = "
      "distinguishable from noise (Holm p < {:g}).",
      100 * o.level, o.bootstrap_resamples, overall ? overall->permutations : o.permutation_resamples,
      overall && overall->permutations > o.permutation_resamples ? " in this table" : "", 1 - o.level);
}

std::vector<ReportSection> report_sections(const RunAggregate& agg) {
  std::vector<ReportSection> sections;
  sections.push_back(lead_section(agg));
  sections.push_back({"Heuristics (overall)",
                      "Per heuristic: Spearman ρ and Kendall τ with the oracle and recall@k, averaged over layers; "
                      "best/worst layer by mean ρ; std of the per-layer mean ρ across layers; layers whose mean ρ "
                      "is below the threshold. Means are over datasets (each dataset = mean of its samples). " +
                          paired_rho_caption(agg),
                      {heuristic_table(agg.overall(), agg, "")}});
  sections.push_back({"Spearman ρ per layer (overall)", "", {layer_table(agg)}});
  const std::string same =
      "Columns as in \"Heuristics (overall)\"; Δρ is paired against each table's own best "
      "heuristic, Holm within each table.";
  ReportSection categories{"Per category", same, {}}, datasets{"Per dataset", same, {}};
  for (const ScopeAggregate& s : agg.scopes) {
    if (s.kind == "category") categories.tables.push_back(heuristic_table(s, agg, s.name));
    if (s.kind == "dataset") datasets.tables.push_back(heuristic_table(s, agg, s.name));
  }
  sections.push_back(std::move(categories));
  sections.push_back(std::move(datasets));
  sections.push_back({"Task scores", "", {score_table(agg)}});
  ReportSection empty{"Empty answers",
                      fmt::format("{} of {} samples had an empty answer (first generated token was EOS): no oracle, so "
                                  "no ranking metrics; they are counted here and left out of every ranking average.",
                                  agg.empty_answers, agg.samples),
                      {}};
  if (agg.empty_answers > 0) empty.tables.push_back(empty_table(agg));
  sections.push_back(std::move(empty));
  if (!agg.nonfinite.empty()) {
    // NaN/Inf (fp16/bf16 overflow): each affected sample × heuristic × layer is named and left out.
    Table t;
    t.header = {"sample: heuristic, layer: non-finite values (left out of every average above)"};
    for (const std::string& line : agg.nonfinite) t.rows.push_back({line});
    sections.push_back({"Non-finite scores (NaN/Inf)",
                        fmt::format("{} sample × heuristic × layer entries had NaN/Inf scores or oracle values.",
                                    agg.nonfinite.size()),
                        {t}});
  }
  if (!agg.costs.empty()) sections.push_back(cost_section(agg.costs));
  for (ReportSection& s : budget_sections(agg.budgets)) sections.push_back(std::move(s));
  for (ReportSection& s : turn_sections(agg.turns, agg.keep_rates.empty() ? 0.0 : agg.keep_rates.front()))
    sections.push_back(std::move(s));
  return sections;
}

}  // namespace claa
