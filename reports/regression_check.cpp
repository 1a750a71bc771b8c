// Baseline extraction and comparison for `claa check` (format and rules in regression_check.h).
#include "reports/regression_check.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <fstream>
#include <set>

#include "core/error.h"
#include "reports/report_writers.h"

namespace claa {

namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

// Only the headline metrics are guarded; the rest move with them and would only add noise.
bool guarded_metric(const std::string& metric) { return metric == "spearman" || metric.rfind("recall@", 0) == 0; }

ojson heuristic_extract(const json& heuristic, const std::vector<std::string>& metrics) {
  ojson out = ojson::object();
  for (const std::string& m : metrics) {
    if (!guarded_metric(m)) continue;
    ojson values = ojson::array();
    for (const json& layer : heuristic.at("layers")) {
      if (!layer.contains(m)) continue;  // no data for this metric
      values.push_back(layer.at(m).at("mean").get<double>());
    }
    if (!values.empty()) out[m] = values;
  }
  return out;
}

// A short provenance string: run.json's value, or the "path"/"name" of an object (the model block).
std::string source_field(const json& run, const char* key) {
  if (!run.is_object() || !run.contains(key)) return "";
  const json& v = run[key];
  if (v.is_string()) return v.get<std::string>();
  for (const char* inner : {"path", "name"})
    if (v.is_object() && v.contains(inner) && v[inner].is_string()) return v[inner].get<std::string>();
  return v.dump();
}

}  // namespace

json provenance_of_run(const json& run) {
  json out = json::object();
  auto take = [&](const char* key, const json::json_pointer& at) {
    if (run.is_object() && run.contains(at) && run.at(at).is_string()) out[key] = run.at(at);
  };
  take("git_commit", json::json_pointer("/git_commit"));
  take("git_dirty", json::json_pointer("/git_dirty"));
  take("libtorch", json::json_pointer("/libtorch"));
  take("device", json::json_pointer("/device"));
  take("dtype", json::json_pointer("/dtype"));
  take("model_fingerprint", json::json_pointer("/model/fingerprint"));
  take("dataset_samples", json::json_pointer("/dataset_samples"));
  return out;
}

std::string format_provenance(const json& baseline_source, const json& run_source) {
  // Older baselines kept the model block as one JSON string: its fingerprint is still in there.
  auto value = [](const json& source, const std::string& key) -> std::string {
    if (source.is_object() && source.contains(key) && source[key].is_string() && !source[key].get<std::string>().empty())
      return source[key].get<std::string>();
    if (key == "model_fingerprint" && source.is_object() && source.contains("model") && source["model"].is_string()) {
      json model = json::parse(source["model"].get<std::string>(), nullptr, false);
      if (model.is_object() && model.contains("fingerprint") && model["fingerprint"].is_string())
        return model["fingerprint"].get<std::string>();
    }
    return "unknown";
  };
  std::string out = fmt::format("{:<18} {:<42} {}\n", "provenance", "baseline", "this run");
  for (const char* key : {"git_commit", "git_dirty", "libtorch", "device", "dtype", "model_fingerprint", "dataset_samples"}) {
    const std::string b = value(baseline_source, key), r = value(run_source, key);
    out += fmt::format("{:<18} {:<42} {}{}\n", key, b, r, b != r && b != "unknown" && r != "unknown" ? "   (differs)" : "");
  }
  return out;
}

ojson baseline_from_e2e_summary(const json& summary) {
  require(summary.value("format", "") == "claa-e2e-summary", "not a claa e2e summary.json");
  ojson scores = ojson::object();
  for (const json& row : summary.at("rows")) {
    const std::string key = fmt::format("e2e:{}@{:g}", row.at("method").get<std::string>(), row.at("keep").get<double>());
    scores[key + ":average"] = row.at("average").at("mean").get<double>();
    for (const auto& [name, stat] : row.at("datasets").items())
      scores[key + ":dataset:" + name] = stat.at("mean").get<double>();
  }
  const json& run = summary.contains("run") ? summary["run"] : json();
  ojson source = {{"git_commit", source_field(run, "git_commit")}, {"model", source_field(run, "model")}};
  const json provenance = provenance_of_run(run);
  for (const auto& [key, value] : provenance.items()) source[key] = value;
  return {{"format", "claa-baseline"},
          {"version", 1},
          {"mode", "e2e"},
          {"source", source},
          {"keep_rates", summary.at("keep_rates")},
          {"heuristics", ojson::object()},
          {"task_scores", scores}};
}

ojson baseline_from_summary(const json& summary) {
  if (summary.value("format", "") == "claa-e2e-summary") return baseline_from_e2e_summary(summary);
  require(summary.value("format", "") == "claa-summary", "not a claa summary.json");
  ojson heuristics = ojson::object(), scores = ojson::object();
  const auto metrics = summary.at("metrics").get<std::vector<std::string>>();
  for (const json& scope : summary.at("scopes")) {
    scores[scope.at("scope").get<std::string>()] = scope.at("score").at("mean").get<double>();
    if (scope.at("kind") != "overall") continue;
    for (const auto& [name, h] : scope.at("heuristics").items()) heuristics[name] = heuristic_extract(h, metrics);
  }
  const json& run = summary.contains("run") ? summary["run"] : json();
  ojson source = {{"git_commit", source_field(run, "git_commit")}, {"model", source_field(run, "model")}};
  const json provenance = provenance_of_run(run);  // named: items() of a temporary dangles (ASan)
  for (const auto& [key, value] : provenance.items()) source[key] = value;
  return {{"format", "claa-baseline"},
          {"version", 1},
          {"source", source},
          {"keep_rates", summary.at("keep_rates")},
          {"layers", summary.at("layers")},
          {"heuristics", heuristics},
          {"task_scores", scores}};
}

ojson make_baseline(const RunAggregate& agg) { return baseline_from_summary(json(summary_json(agg))); }

json load_baseline(const std::string& path) {
  std::ifstream in(path);
  require(in.good(), path + ": cannot read the baseline");
  json j = json::parse(in, nullptr, false);
  require(!j.is_discarded() && j.is_object(), path + ": not a JSON object");
  const std::string format = j.value("format", "");
  if (format == "claa-summary" || format == "claa-e2e-summary") return json(baseline_from_summary(j));
  require(format == "claa-baseline",
          path + ": not a claa baseline (write one with `claa check RUN_DIR --write-baseline FILE`) or summary.json");
  require(j.contains("heuristics") && j["heuristics"].is_object(), path + ": baseline without 'heuristics'");
  return j;
}

namespace {

// "cpu" when the run says it ran on the CPU, "" when it does not say.
std::string device_of(const json& baseline) {
  if (!baseline.contains("source") || !baseline["source"].is_object()) return "";
  return baseline["source"].value("device", "");
}

struct Checker {
  CheckResult result;

  // One number: a move beyond tolerance either way fails the check.
  void compare(const std::string& what, double base, double now, double tol, int digits) {
    ++result.comparisons;
    const double delta = now - base;
    if (std::abs(delta) <= tol) {
      ++result.within;
      return;
    }
    result.regressions.push_back(fmt::format("{}  {}: {:.{}f} → {:.{}f} (Δ {:+.{}f}, tolerance {:g})",
                                             delta < 0 ? "MOVED DOWN" : "MOVED UP  ", what, base, digits, now, digits,
                                             delta, digits, tol));
  }

  void missing(const std::string& what) { result.regressions.push_back("MISSING     " + what); }

  void heuristic(const std::string& name, const json& base, const json& now) {
    for (const auto& [metric, base_values] : base.items()) {
      if (!now.contains(metric)) {
        missing(fmt::format("{} {}: in the baseline, not in this run", name, metric));
        continue;
      }
      const json& now_values = now[metric];
      const double tol = metric == "spearman" ? result.tol_rho : result.tol_recall;
      for (size_t l = 0; l < base_values.size(); ++l) {
        if (l >= now_values.size()) {
          missing(fmt::format("{} layer {} {}: in the baseline, not in this run", name, l, metric));
          continue;
        }
        compare(fmt::format("{} layer {} {}", name, l, metric), base_values[l].get<double>(),
                now_values[l].get<double>(), tol, 4);
      }
      if (now_values.size() > base_values.size())
        result.notes.push_back(fmt::format("new         {} {}: layers {}–{} not in the baseline", name, metric,
                                           base_values.size(), now_values.size() - 1));
    }
  }

  std::function<std::string(const std::string&, const std::vector<std::string>&)> suggest;

  void heuristics(const json& base, const json& now) {
    std::vector<std::string> run_names;
    for (const auto& [name, h] : now.items()) run_names.push_back(name);
    for (const auto& [name, h] : base.items()) {
      if (now.contains(name)) {
        heuristic(name, h, now[name]);
        continue;
      }
      std::string hint = suggest ? suggest(name, run_names) : "";
      missing(fmt::format("heuristic '{}': in the baseline, not in this run (run has: {}){}", name,
                          run_names.empty() ? "none" : fmt::format("{}", fmt::join(run_names, ", ")),
                          hint.empty() ? "" : fmt::format("; did you mean '{}'?", hint)));
    }
    for (const std::string& name : run_names)
      if (!base.contains(name)) result.notes.push_back(fmt::format("new         heuristic '{}' (not in the baseline)", name));
  }

  void scores(const json& base, const json& now) {
    for (const auto& [scope, value] : base.items()) {
      if (!now.contains(scope)) {
        missing(fmt::format("task score {}: in the baseline, not in this run", scope));
        continue;
      }
      compare("task score " + scope, value.get<double>(), now[scope].get<double>(), result.tol_score, 4);
    }
    for (const auto& [scope, value] : now.items())
      if (!base.contains(scope)) result.notes.push_back(fmt::format("new         task score {} (not in the baseline)", scope));
  }
};

}  // namespace

CheckResult check_against_baseline(const json& baseline, const json& current, const CheckOptions& options) {
  Checker c;
  c.suggest = options.suggest;
  // Both on the CPU: fp32 runs that differ only in rounding. On one host they are byte-identical;
  // across hosts ATen's vector kernels (AVX2 vs AVX-512) and OpenBLAS's core type round differently,
  // and near-tied key norms flip: configs/ci.json on an AVX-512 host moved knorm's layer-0 ρ by
  // 2e-4 against a baseline from an AVX2 host, and another thread count moves recall by 5e-4
  // (docs/method.md §"Regression checks"). 1e-3 absorbs that and still catches any real change.
  const bool both_cpu = device_of(baseline) == "cpu" && device_of(current) == "cpu";
  c.result.tol_rho = options.tol_rho.value_or(both_cpu ? 1e-3 : 0.02);
  c.result.tol_recall = options.tol_recall.value_or(both_cpu ? 1e-3 : 0.02);
  c.result.tol_score = options.tol_score.value_or(both_cpu ? 1e-4 : 5.0);
  c.heuristics(baseline.at("heuristics"), current.at("heuristics"));
  c.scores(baseline.value("task_scores", json::object()), current.value("task_scores", json::object()));
  return c.result;
}

std::string format_check(const CheckResult& r) {
  std::string out;
  for (const std::string& line : r.regressions) out += line + "\n";
  for (const std::string& line : r.notes) out += line + "\n";
  const std::string tolerances =
      fmt::format("tolerances: ρ {:g}, recall {:g}, task score {:g}", r.tol_rho, r.tol_recall, r.tol_score);
  if (r.passed()) return out + fmt::format("check passed: {} comparisons within tolerance ({})\n", r.within, tolerances);
  out += fmt::format("check failed: {} change(s) beyond tolerance in {} comparisons ({})\n", r.regressions.size(),
                     r.comparisons, tolerances);
  out += "If the change is intended, update the baseline on purpose: claa check RUN_DIR --write-baseline BASELINE_FILE\n";
  return out;
}

}  // namespace claa
