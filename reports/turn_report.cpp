#include "reports/turn_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "evaluation/metrics.h"
#include "reports/record_fields.h"

namespace claa {

namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

Stat stat_of(const std::vector<double>& v) {
  Stat s;
  s.n = static_cast<int64_t>(v.size());
  if (v.empty()) return s;
  s.mean = mean(v);
  s.se = standard_error(v);
  s.datasets = 1;
  return s;
}

// Mean over the layers that carry metrics of one metric (spearman, or recall[keep_index]).
// NaN when no layer has it.
double layer_mean(const json& layers, bool recall, size_t keep_index) {
  double sum = 0;
  int n = 0;
  for (const json& l : layers) {
    if (!l.contains("spearman")) continue;  // NaN/Inf: no metrics (ranking_eval.cpp)
    if (recall) {
      if (!l.contains("recall") || l["recall"].size() <= keep_index) continue;
      sum += l["recall"][keep_index].get<double>();
    } else {
      sum += l["spearman"].get<double>();
    }
    ++n;
  }
  return n ? sum / n : std::nan("");
}

struct Values {
  std::vector<double> one_rho, fresh_rho, one_recall, fresh_recall, score;
  int64_t skipped = 0;
};

void add(std::vector<double>& v, double x) {
  if (!std::isnan(x)) v.push_back(x);
}

}  // namespace

std::vector<TurnAggregate> aggregate_turn_records(const std::vector<json>& records, size_t keep_index) {
  using Key = std::tuple<std::string, std::string, int>;  // dataset, heuristic, turn
  std::map<Key, Values> values;
  std::map<std::pair<std::string, int>, std::vector<double>> scores;  // dataset, turn
  std::map<std::string, std::vector<std::string>> labels;  // dataset → every heuristic label seen
  for (const json& r : records) {
    if (!r.is_object() || !r.contains("turns") || !r["turns"].is_array()) continue;
    const std::string dataset = r.value("dataset", r.value("task", std::string("?")));
    const double max_score = r.value("max_score", 100.0);
    for (const json& t : r["turns"])
      if (t.contains("heuristics"))
        for (const auto& [label, _] : t["heuristics"].items())
          if (std::find(labels[dataset].begin(), labels[dataset].end(), label) == labels[dataset].end())
            labels[dataset].push_back(label);
    for (const json& t : r["turns"]) {
      const int turn = t.value("turn", 0);
      if (t.contains("score") && t["score"].is_number()) scores[{dataset, turn}].push_back(100.0 * t["score"].get<double>() / max_score);
      for (const std::string& label : labels[dataset]) {
        Values& v = values[{dataset, label, turn}];
        if (!t.contains("heuristics") || !t["heuristics"].contains(label)) {
          ++v.skipped;
          continue;
        }
        const json& h = t["heuristics"][label];
        add(v.one_rho, layer_mean(h["one_shot"], false, keep_index));
        add(v.fresh_rho, layer_mean(h["fresh"], false, keep_index));
        add(v.one_recall, layer_mean(h["one_shot"], true, keep_index));
        add(v.fresh_recall, layer_mean(h["fresh"], true, keep_index));
      }
    }
  }
  std::vector<TurnAggregate> out;
  for (const auto& [key, v] : values) {
    TurnAggregate a;
    std::tie(a.dataset, a.heuristic, a.turn) = key;
    a.one_shot_rho = stat_of(v.one_rho);
    a.fresh_rho = stat_of(v.fresh_rho);
    a.one_shot_recall = stat_of(v.one_recall);
    a.fresh_recall = stat_of(v.fresh_recall);
    a.score = stat_of(scores[{a.dataset, a.turn}]);
    a.skipped = v.skipped;
    out.push_back(a);
  }
  return out;
}

std::vector<TurnAggregate> aggregate_turns(const std::vector<std::string>& sample_files) {
  std::vector<json> records;
  for (const std::string& f : sample_files)
    for (const auto& [line, text] : record::read_lines(f)) {
      json j = json::parse(text, nullptr, false);
      if (!j.is_discarded()) records.push_back(std::move(j));
    }
  return aggregate_turn_records(records);
}

std::vector<ReportSection> turn_sections(const std::vector<TurnAggregate>& turns, double first_keep) {
  if (turns.empty()) return {};
  auto cell = [](const Stat& s) { return s.n ? fmt::format("{:.3f} ± {:.3f}", s.mean, s.se) : std::string("—"); };
  auto delta = [](const Stat& a, const Stat& b) { return a.n && b.n ? fmt::format("{:+.3f}", a.mean - b.mean) : std::string("—"); };
  ReportSection section;
  section.heading = "Multi-turn: how a one-shot ranking ages";
  section.text = fmt::format(
      "Each turn t is its own prompt (shared context, earlier turns with their gold replies, question t) with its own "
      "oracle from the model's answer to turn t. One-shot: the heuristic's ranking computed on turn 1's prompt; fresh: "
      "the same heuristic recomputed on turn t's prompt. Both are compared with turn t's oracle on the shared context "
      "tokens only; values are means over layers, then mean ± stderr over samples. recall@{} uses k = ceil({}·N_context).",
      first_keep, first_keep);
  std::string current;
  for (const TurnAggregate& a : turns) {
    if (a.dataset != current) {
      current = a.dataset;
      Table t;
      t.title = a.dataset;
      t.header = {"heuristic", "turn", "n", "ρ one-shot", "ρ fresh", "Δρ (one-shot − fresh)",
                  fmt::format("recall@{} one-shot", first_keep), fmt::format("recall@{} fresh", first_keep), "task score"};
      section.tables.push_back(t);
    }
    section.tables.back().rows.push_back({a.heuristic, std::to_string(a.turn), std::to_string(a.one_shot_rho.n),
                                          cell(a.one_shot_rho), cell(a.fresh_rho), delta(a.one_shot_rho, a.fresh_rho),
                                          cell(a.one_shot_recall), cell(a.fresh_recall),
                                          a.score.n ? fmt::format("{:.1f}", a.score.mean) : "—"});
  }
  return {section};
}

ojson turn_json(const std::vector<TurnAggregate>& turns) {
  auto stat = [](const Stat& s) { return ojson{{"mean", s.mean}, {"stderr", s.se}, {"n", s.n}}; };
  ojson out = ojson::array();
  for (const TurnAggregate& a : turns)
    out.push_back({{"dataset", a.dataset}, {"heuristic", a.heuristic}, {"turn", a.turn},
                   {"one_shot_spearman", stat(a.one_shot_rho)}, {"fresh_spearman", stat(a.fresh_rho)},
                   {"one_shot_recall", stat(a.one_shot_recall)}, {"fresh_recall", stat(a.fresh_recall)},
                   {"score", stat(a.score)}, {"skipped", a.skipped}});
  return out;
}

}  // namespace claa
