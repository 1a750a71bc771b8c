// Paired comparisons of Spearman ρ in rank reports (reports/aggregate.h RhoComparison): the heuristics
// tables' Δρ against their best heuristic and the per-layer table's marks. A hand-made case whose exact
// permutation p-values and Holm adjustments are worked out below, and tests/fixtures/reports/both_run (a real
// run: 6 samples, 2 datasets, 5 rankings, 30 layers) recomputed here from samples.jsonl without the
// aggregation code (means, Δ, exact p and Holm).
#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "reports/aggregate.h"
#include "reports/report_writers.h"
#include "tests/catch.h"

using namespace claa;

namespace {

const PairedDiff& diff_of(const PairedTable& t, const std::string& heuristic) {
  for (const PairedDiff& d : t.vs_best)
    if (d.method == heuristic) return d;
  FAIL("no comparison for " << heuristic << " in " << t.scope);
  return t.vs_best.front();
}

const PairedTable& table_of(const RunAggregate& agg, const std::string& scope) {
  for (const PairedTable& t : agg.rho_paired.scopes)
    if (t.scope == scope) return t;
  FAIL("no paired table for " << scope);
  return agg.rho_paired.scopes.front();
}

// One sample of the hand-made run: dataset, and per heuristic its ρ at layers 0 and 1.
SampleRecord hand_sample(int i, const std::string& dataset,
                         const std::map<std::string, std::pair<double, double>>& rho) {
  nlohmann::json heuristics = nlohmann::json::object();
  for (const auto& [name, r] : rho) {
    nlohmann::json layers = nlohmann::json::array();
    for (double v : {r.first, r.second})
      layers.push_back({{"n", 100},
                        {"spearman", v},
                        {"kendall", v},
                        {"degenerate", false},
                        {"k", {10}},
                        {"recall", {0.5}},
                        {"mass_recall", {0.5}},
                        {"ndcg", {0.5}}});
    heuristics[name] = {{"layers", layers}};
  }
  const nlohmann::json rec = {{"id", "s" + std::to_string(i)},
                              {"task", dataset},
                              {"dataset", dataset},
                              {"category", "C"},
                              {"score", 100},
                              {"keep_rates", {0.1}},
                              {"empty_answer", false},
                              {"heuristics", heuristics}};
  return parse_sample(rec, "hand:" + std::to_string(i));
}

// Independent of evaluation/resampling.cpp: the exact two-sided sign-flip p of mean(d) by enumeration.
double exact_sign_flip_p(const std::vector<double>& d) {
  const size_t n = d.size();
  double observed = 0;
  for (double x : d) observed += x;
  observed /= static_cast<double>(n);
  const double tol = 1e-12;
  double le = 0, ge = 0;
  for (uint64_t pattern = 0; pattern < (uint64_t{1} << n); ++pattern) {
    double t = 0;
    for (size_t i = 0; i < n; ++i) t += (pattern >> i & 1) ? -d[i] : d[i];
    t /= static_cast<double>(n);
    le += t <= observed + tol;
    ge += t >= observed - tol;
  }
  const double total = static_cast<double>(uint64_t{1} << n);
  return std::min(1.0, 2.0 * std::min(le, ge) / total);
}

// Independent Holm over a family of m hypotheses of which p were tested: p_(k) · (m − k + 1), running
// maximum, capped at 1.
std::vector<double> holm(const std::vector<double>& p, size_t m) {
  std::vector<size_t> order(p.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
  std::vector<double> out(p.size());
  double running = 0;
  for (size_t k = 0; k < order.size(); ++k) {
    running = std::max(running, std::min(1.0, static_cast<double>(m - k) * p[order[k]]));
    out[order[k]] = running;
  }
  return out;
}

}  // namespace

TEST_CASE("Paired rho on a hand-made run with exact p-values, Holm and the marks", "[reports][paired_rho]") {
  // 8 samples, one category: dataset d1 = s0..s4, d2 = s5..s7; ρ at layers (0, 1):
  //   a: (0.8, 0.6) everywhere.
  //   b: d1 (0.5, 0.3), d2 (0.7, 0.5): 0.3 below a in d1 and 0.1 in d2 at both layers.
  //   c: s0 (0.5, 0.7), s1 (0.6, 0.7), else (0.8, 0.6).
  std::vector<SampleRecord> samples;
  for (int i = 0; i < 8; ++i) {
    const bool d1 = i < 5;
    const std::pair<double, double> c = i == 0   ? std::pair{0.5, 0.7}
                                        : i == 1 ? std::pair{0.6, 0.7}
                                                 : std::pair{0.8, 0.6};
    samples.push_back(hand_sample(
        i, d1 ? "d1" : "d2", {{"a", {0.8, 0.6}}, {"b", d1 ? std::pair{0.5, 0.3} : std::pair{0.7, 0.5}}, {"c", c}}));
  }
  AggregateOptions options;
  options.statistics.bootstrap_resamples = 200;
  const RunAggregate agg = aggregate_samples(samples, options);

  // Heuristics table (overall): per-sample mean ρ over layers; a = 0.7, b = 0.4 in d1 and 0.6 in d2,
  // c = 0.6 (s0), 0.65 (s1), else 0.7. Mean ρ (mean of dataset means): a 0.7, b 0.5, c 0.685 → best a.
  const PairedTable& overall = table_of(agg, "overall");
  CHECK(overall.best == "a");
  REQUIRE(overall.vs_best.size() == 2);
  const PairedDiff& b = diff_of(overall, "b");
  const PairedDiff& c = diff_of(overall, "c");
  // Δ weighs the datasets alike: ½(−0.3 − 0.1) = −0.2 (a plain mean over the 8 samples would be −0.225), the
  // difference of the table's mean ρ columns.
  CHECK(b.n == 8);
  CHECK(b.mean == Approx(-0.2).margin(1e-12));
  CHECK(b.mean == Approx(agg.overall().heuristics[1].summary.mean_rho - agg.overall().heuristics[0].summary.mean_rho)
                      .margin(1e-12));
  CHECK(c.mean == Approx(0.5 * (-0.1 - 0.05) / 5).margin(1e-12));  // ½ · mean over d1 of (−0.1, −0.05, 0, 0, 0)
  // b: every difference negative, so only the observed pattern of 2^8 is as low: p = 2 / 256. c: two non-zero
  // differences, both negative (scaled −0.08, −0.04; zeros flip freely): P(T ≤ t) = 1/4, p = 0.5.
  CHECK(b.p == Approx(2.0 / 256).epsilon(1e-12));
  CHECK(c.p == Approx(0.5).epsilon(1e-12));
  // Holm over all M = 3 · 2 / 2 = 3 pairs of the table's heuristics (the best is chosen from these samples):
  // b 3 · 2/256 = 3/128 ≈ 0.0234 < 0.05 → distinguishable; c max(3/128, min(1, 2 · 0.5)) = 1.
  CHECK(overall.family_size == 3);
  CHECK(b.p_holm == Approx(3.0 / 128).epsilon(1e-12));
  CHECK(c.p_holm == 1.0);
  CHECK(b.distinguishable);
  CHECK_FALSE(c.distinguishable);
  // Dataset d2 alone (3 samples, 8 patterns): b p = 2/8, Holm (M = 3) 3 · 0.25 = 0.75; c equals a there: Δ 0,
  // p 1 (Holm max(0.75, min(1, 2 · 1)) = 1).
  const PairedTable& d2 = table_of(agg, "dataset:d2");
  CHECK(diff_of(d2, "b").p == Approx(0.25).epsilon(1e-12));
  CHECK(diff_of(d2, "b").p_holm == Approx(0.75).epsilon(1e-12));
  CHECK(diff_of(d2, "c").p_holm == 1.0);
  CHECK(diff_of(d2, "c").mean == 0.0);
  CHECK(diff_of(d2, "c").p == 1.0);

  // Per layer: layer 0 means a 0.8, b 0.6, c 0.75 → best a; layer 1 a 0.6, b 0.4, c 0.62 → best c.
  REQUIRE(agg.rho_paired.layers.size() == 2);
  const PairedTable& l0 = agg.rho_paired.layers[0];
  const PairedTable& l1 = agg.rho_paired.layers[1];
  CHECK(l0.best == "a");
  CHECK(l1.best == "c");
  CHECK(diff_of(l0, "b").mean == Approx(-0.2).margin(1e-12));
  CHECK(diff_of(l0, "c").mean == Approx(-0.05).margin(1e-12));  // ½ · mean(−0.3, −0.2, 0, 0, 0)
  CHECK(diff_of(l1, "a").mean == Approx(-0.02).margin(1e-12));  // ½ · mean(−0.1, −0.1, 0, 0, 0)
  CHECK(diff_of(l1, "b").mean == Approx(-0.22).margin(1e-12));  // ½ (mean(−0.4, −0.4, −0.3, −0.3, −0.3) − 0.1)
  // Exact p: b all negative at both layers (2/256); c at layer 0 and a at layer 1 two negatives (0.5).
  CHECK(diff_of(l0, "b").p == Approx(2.0 / 256).epsilon(1e-12));
  CHECK(diff_of(l0, "c").p == Approx(0.5).epsilon(1e-12));
  CHECK(diff_of(l1, "a").p == Approx(0.5).epsilon(1e-12));
  CHECK(diff_of(l1, "b").p == Approx(2.0 / 256).epsilon(1e-12));
  // Holm per layer over its M = 3 pairs: 3 · 2/256 = 3/128 for both b; the 0.5s become max(3/128, 2 · 0.5) = 1.
  CHECK(l0.family_size == 3);
  CHECK(l1.family_size == 3);
  CHECK(diff_of(l0, "b").p_holm == Approx(3.0 / 128).epsilon(1e-12));
  CHECK(diff_of(l1, "b").p_holm == Approx(3.0 / 128).epsilon(1e-12));
  CHECK(diff_of(l0, "c").p_holm == 1.0);
  CHECK(diff_of(l1, "a").p_holm == 1.0);

  // The report: Δρ columns in the heuristics table; bold best and ≈ in the per-layer table.
  const std::string md = report_markdown(agg, {});
  CHECK(md.find("| heuristic | mean ρ | Δρ vs best [CI] | p / Holm p | mean τ |") != std::string::npos);
  CHECK(md.find("| a | 0.700 | best |  |") != std::string::npos);
  CHECK(md.find("| b | 0.500 | -0.200 [") != std::string::npos);
  CHECK(md.find("] ✓ | 0.00781 / 0.0234 |") != std::string::npos);
  CHECK(md.find("| c | 0.685 | -0.015 [") != std::string::npos);
  INFO(md);
  // Stderr: b is constant within each dataset (0); c's d1 values at layer 0 (0.5, 0.6, 0.8, 0.8, 0.8) have sample
  // std √0.02, so √0.02 / √5 / 2 = 0.0316; at layer 1 (0.7, 0.7, 0.6, 0.6, 0.6) √0.003 / √5 / 2 = 0.0122.
  CHECK(md.find("| 0 | **0.800 ± 0.000** | 0.600 ± 0.000 | 0.750 ± 0.032 ≈ |") != std::string::npos);
  CHECK(md.find("| 1 | 0.600 ± 0.000 ≈ | 0.400 ± 0.000 | **0.620 ± 0.012** |") != std::string::npos);
  CHECK(md.find("Holm over that layer's pairs") != std::string::npos);
  CHECK(md.find("(4 with a p in the table) adjusted as part of all M = H(H−1)/2 = 3 pairs") != std::string::npos);
  CHECK(md.find("_Holm over all 3 pairs of the table's heuristics._") != std::string::npos);
  CHECK(md.find("exact up to 2^n ≤ 10000 sign patterns)") != std::string::npos);
  CHECK(md.find("\n_ ") == std::string::npos);  // a note starting with a space would show its underscores
  const std::string html = report_html(agg, {});
  CHECK(html.find("<td><strong>0.800 ± 0.000</strong></td>") != std::string::npos);

  const nlohmann::ordered_json summary = summary_json(agg);
  const auto& ps = summary["paired_spearman"];
  CHECK(ps["statistics"]["seed"] == options.statistics.seed);
  CHECK(ps["scopes"][0]["scope"] == "overall");
  CHECK(ps["scopes"][0]["best"] == "a");
  CHECK(ps["scopes"][0]["vs_best"][0]["heuristic"] == "b");
  CHECK(ps["scopes"][0]["vs_best"][0]["n"] == 8);
  CHECK(ps["scopes"][0]["vs_best"][0]["distinguishable"] == true);
  CHECK(ps["layers"][1]["layer"] == 1);
  CHECK(ps["layers"][1]["best"] == "c");
  CHECK(ps["layers"][1]["vs_best"][0]["p_holm"].get<double>() == 1.0);
  CHECK(ps["layers"][1]["holm_family_size"] == 3);
  CHECK(ps["scopes"][0]["holm_family_size"] == 3);

  // A configured count too few for the family (R = 100 < ⌈4 · 3 / 0.05⌉ = 240): raised, and said in the notes.
  options.statistics.permutation_resamples = 100;
  const RunAggregate raised = aggregate_samples(samples, options);
  CHECK(table_of(raised, "overall").permutations == 240);
  const std::string raised_md = report_markdown(raised, {});
  INFO(raised_md);
  CHECK(
      raised_md.find("_Holm over all 3 pairs of the table's heuristics. Monte Carlo tests use 240 random sign "
                     "patterns here, more than the configured 100, so that Holm over 3 pairs can reach the level._") !=
      std::string::npos);
  CHECK(raised_md.find("exact up to 2^n ≤ 240 sign patterns in this table)") != std::string::npos);
  CHECK(raised_md.find("\n_ ") == std::string::npos);
}

TEST_CASE("Permutation count of a Holm family: raised to reach the level, capped", "[reports][paired_rho]") {
  ResamplingOptions o;  // R = 10000, level 0.95
  CHECK(all_pairs(0) == 0);
  CHECK(all_pairs(1) == 0);
  CHECK(all_pairs(20) == 190);
  CHECK(family_permutations(o, 190) == 15200);  // ⌈4 · 190 / 0.05⌉
  CHECK_FALSE(family_permutations_capped(o, 190));
  CHECK(family_permutations(o, 100) == 10000);                    // 8000 needed: the configured count is kept
  CHECK(family_permutations(o, 3160) == kMaxFamilyPermutations);  // 80 heuristics: 252800 needed
  CHECK(family_permutations_capped(o, 3160));
  o.permutation_resamples = 300000;  // a configured count above the cap is kept
  CHECK(family_permutations(o, 3160) == 300000);
  CHECK_FALSE(family_permutations_capped(o, 3160));
}

TEST_CASE("Paired rho on the both_run fixture equals a recomputation from samples.jsonl", "[reports][paired_rho]") {
  const std::string path = source_path("tests/fixtures/reports/both_run/samples.jsonl");
  std::vector<SampleRecord> samples = load_samples({path});
  const RunAggregate agg = aggregate_samples(samples, AggregateOptions{});

  // Independently: per heuristic, per sample, the ρ of every layer straight from the JSON.
  std::ifstream in(path);
  std::vector<std::string> dataset;
  std::map<std::string, std::vector<std::vector<double>>> rho;  // heuristic → sample → layer
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const nlohmann::json j = nlohmann::json::parse(line);
    dataset.push_back(j["dataset"]);
    for (const auto& [name, h] : j["heuristics"].items()) {
      std::vector<double> layers;
      for (const auto& l : h["layers"]) {
        REQUIRE(l.value("nonfinite", 0) == 0);  // the fixture has none, so every layer counts
        layers.push_back(l["spearman"].get<double>());
      }
      rho[name].push_back(layers);
    }
  }
  const size_t n = dataset.size();
  REQUIRE(n == 6);
  const std::set<std::string> datasets(dataset.begin(), dataset.end());
  REQUIRE(datasets.size() == 2);  // 3 samples each: every sample weighs the same, and 2^6 patterns: exact
  const size_t n_layers = rho.begin()->second.front().size();

  // The overall heuristics table: mean ρ = mean over layers of the mean over datasets of the dataset means.
  std::map<std::string, double> table_mean;
  std::map<std::string, std::vector<double>> sample_mean;
  for (const auto& [name, per_sample] : rho) {
    double over_layers = 0;
    for (size_t l = 0; l < n_layers; ++l) {
      double over_datasets = 0;
      for (const std::string& d : datasets) {
        double sum = 0;
        int count = 0;
        for (size_t i = 0; i < n; ++i)
          if (dataset[i] == d) sum += per_sample[i][l], ++count;
        over_datasets += sum / count;
      }
      over_layers += over_datasets / static_cast<double>(datasets.size());
    }
    table_mean[name] = over_layers / static_cast<double>(n_layers);
    for (size_t i = 0; i < n; ++i) {
      double s = 0;
      for (double v : per_sample[i]) s += v;
      sample_mean[name].push_back(s / static_cast<double>(n_layers));
    }
  }
  std::string best = table_mean.begin()->first;
  for (const auto& [name, m] : table_mean)
    if (m > table_mean[best]) best = name;
  const PairedTable& overall = table_of(agg, "overall");
  CHECK(overall.best == best);
  REQUIRE(overall.vs_best.size() == rho.size() - 1);
  std::vector<double> p;
  for (const PairedDiff& d : overall.vs_best) {
    INFO(d.method);
    std::vector<double> diff;
    double mean = 0;
    for (size_t i = 0; i < n; ++i) diff.push_back(sample_mean[d.method][i] - sample_mean[best][i]), mean += diff.back();
    mean /= static_cast<double>(n);
    CHECK(d.n == 6);
    CHECK(std::abs(d.mean - mean) <= 1e-12);
    CHECK(std::abs(d.mean - (table_mean[d.method] - table_mean[best])) <= 1e-12);  // Δ = the columns' difference
    CHECK(std::abs(d.p - exact_sign_flip_p(diff)) <= 1e-12);
    p.push_back(d.p);
  }
  // Holm over all 5 · 4 / 2 = 10 pairs of the 5 rankings, of which the 4 against the best were tested.
  REQUIRE(overall.family_size == 10);
  const std::vector<double> adjusted = holm(p, 10);
  for (size_t k = 0; k < p.size(); ++k) {
    CHECK(std::abs(overall.vs_best[k].p_holm - adjusted[k]) <= 1e-12);
    CHECK(overall.vs_best[k].distinguishable == (adjusted[k] < 0.05));
  }

  // The per-layer table: per layer the best mean ρ, every other ranking's exact p, Holm over the layer's 10 pairs.
  REQUIRE(agg.rho_paired.layers.size() == n_layers);
  size_t compared = 0;
  for (size_t l = 0; l < n_layers; ++l) {
    std::vector<double> layer_p, layer_holm;
    std::map<std::string, double> means;
    for (const auto& [name, per_sample] : rho) {
      double sum = 0;
      for (const std::string& d : datasets) {
        double s = 0;
        for (size_t i = 0; i < n; ++i)
          if (dataset[i] == d) s += per_sample[i][l];
        sum += s / 3;
      }
      means[name] = sum / 2;
    }
    std::string layer_best = means.begin()->first;
    for (const auto& [name, m] : means)
      if (m > means[layer_best]) layer_best = name;
    const PairedTable& t = agg.rho_paired.layers[l];
    INFO("layer " << l);
    CHECK(t.best == layer_best);
    for (const PairedDiff& d : t.vs_best) {
      std::vector<double> diff;
      for (size_t i = 0; i < n; ++i) diff.push_back(rho[d.method][i][l] - rho[layer_best][i][l]);
      CHECK(std::abs(d.mean - (means[d.method] - means[layer_best])) <= 1e-12);
      CHECK(std::abs(d.p - exact_sign_flip_p(diff)) <= 1e-12);
      layer_p.push_back(d.p);
      layer_holm.push_back(d.p_holm);
    }
    CHECK(t.family_size == 10);
    const std::vector<double> layer_adjusted = holm(layer_p, 10);
    for (size_t k = 0; k < layer_p.size(); ++k) CHECK(std::abs(layer_holm[k] - layer_adjusted[k]) <= 1e-12);
    compared += layer_p.size();
  }
  CHECK(compared == n_layers * (rho.size() - 1));
}
