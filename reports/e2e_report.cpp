// Reports of an e2e-mode run: loading, aggregation, summary.json, report.md / report.html and the
// accuracy-vs-keep-rate plot. See e2e_report.h for the aggregation rules.
#include "reports/e2e_report.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

#include "datasets/scorers.h"
#include "harness/util/error.h"
#include "reports/record_fields.h"
#include "reports/budget_report.h"
#include "reports/gnuplot_figures.h"
#include "reports/report_format.h"

namespace claa {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using record::category_of;
using record::field;
using record::integer;
using record::number;
using record::numbers;
using record::read_lines;
using record::text;
using ojson = nlohmann::ordered_json;

const double kNaN = std::numeric_limits<double>::quiet_NaN();

// ------------------------------------------------------------------------------------------------
// Parsing
// ------------------------------------------------------------------------------------------------

// Calls fn(json, where) for each parsed record; an unparsable last line is a torn write (recorded in
// `torn` when given), any other unparsable line an error.
template <class Fn>
void for_each_record(const std::vector<std::string>& paths, std::vector<std::string>* torn, Fn&& fn) {
  for (const std::string& path : paths) {
    const auto lines = read_lines(path);
    for (size_t i = 0; i < lines.size(); ++i) {
      const std::string where = fmt::format("{}:{}", path, lines[i].first);
      json j = json::parse(lines[i].second, nullptr, false);
      if (j.is_discarded()) {
        require(i + 1 == lines.size(), where + ": malformed JSON line");
        if (torn) torn->push_back(where);
        continue;
      }
      fn(j, where);
    }
  }
}

std::vector<std::string> sample_paths(const std::string& run_dir, const std::vector<std::string>& sample_files) {
  require(fs::is_directory(run_dir), run_dir + ": not a directory");
  std::vector<std::string> files = sample_files;
  if (files.empty()) files.push_back((fs::path(run_dir) / "samples.jsonl").string());
  return files;
}

json read_run_json(const std::string& run_dir) {
  const fs::path run_json = fs::path(run_dir) / "run.json";
  if (!fs::exists(run_json)) return nullptr;
  std::ifstream in(run_json);
  json run = json::parse(in, nullptr, false);
  require(!run.is_discarded(), run_json.string() + ": malformed JSON");
  return run;
}

std::string run_json_mode(const json& run) {
  if (!run.is_object()) return "";
  auto c = run.find("config");
  if (c == run.end() || !c->is_object()) return "";
  auto m = c->find("mode");
  return m != c->end() && m->is_string() ? m->get<std::string>() : "";
}

// ------------------------------------------------------------------------------------------------
// Aggregation helpers
// ------------------------------------------------------------------------------------------------

Stat sample_stat(const std::vector<double>& values) {
  Stat s;
  if (values.empty()) return s;
  const double n = double(values.size());
  double sum = 0.0;
  for (double v : values) sum += v;
  s.mean = sum / n;
  double ss = 0.0;
  for (double v : values) ss += (v - s.mean) * (v - s.mean);
  s.se = values.size() > 1 ? std::sqrt(ss / (n - 1.0)) / std::sqrt(n) : 0.0;
  s.n = int64_t(values.size());
  s.datasets = 1;
  return s;
}

Stat combine(const std::vector<const Stat*>& per_dataset) {
  Stat out;
  double sum = 0.0, var = 0.0;
  for (const Stat* d : per_dataset) {
    if (d->n == 0) continue;
    sum += d->mean;
    var += d->se * d->se;
    out.n += d->n;
    ++out.datasets;
  }
  if (out.datasets == 0) return {};
  out.mean = sum / double(out.datasets);
  out.se = std::sqrt(var) / double(out.datasets);
  return out;
}

std::string percent(double keep) { return fmt::format("{:g}%", keep * 100.0); }
std::string points(double v) { return std::isnan(v) ? "—" : fmt::format("{:.1f}", v); }
std::string signed_points(double v) {
  if (std::isnan(v)) return "—";
  const std::string s = fmt::format("{:+.1f}", v);
  return s == "-0.0" ? "+0.0" : s;  // a loss that rounds to zero is no loss
}
constexpr double kMiB = 1024.0 * 1024.0;

}  // namespace

// ------------------------------------------------------------------------------------------------
// Records
// ------------------------------------------------------------------------------------------------

bool is_e2e_record(const json& j) {
  if (!j.is_object()) return false;
  auto it = j.find("mode");
  return it != j.end() && it->is_string() && it->get<std::string>() == "e2e";
}

E2eSample parse_e2e_sample(const json& j, const std::string& where) {
  require(j.is_object(), where + ": not a JSON object");
  E2eSample s;
  s.where = where;
  s.id = text(j, "id", where);
  require(!s.id.empty(), where + ": missing field 'id'");
  s.task = text(j, "task", where);
  s.dataset = text(j, "dataset", where, s.task);
  require(!s.dataset.empty(), where + ": missing field 'dataset' (and 'task')");
  if (s.task.empty()) s.task = s.dataset;
  s.category = category_of(j, s.task, where);
  s.prompt_tokens = integer(j, "prompt_tokens", where);
  s.max_score = j.contains("max_score") ? number(j, "max_score", where) : 100.0;
  require(s.max_score > 0, where + ": 'max_score' must be positive");
  const json& results = field(j, "results", where);
  require(results.is_array() && !results.empty(), where + ": 'results' is not a non-empty list");
  std::set<std::pair<std::string, double>> seen;
  bool full_seen = false;
  for (size_t i = 0; i < results.size(); ++i) {
    const json& r = results[i];
    const std::string at = fmt::format("{}: results[{}]", where, i);
    require(r.is_object(), at + ": not a JSON object");
    E2eResult e;
    e.method = text(r, "method", at);
    require(!e.method.empty(), at + ": missing field 'method'");
    e.keep = number(r, "keep", at);
    e.score = number(r, "score", at);
    e.kept_tokens = integer(r, "kept_tokens", at);
    e.cache_bytes = integer(r, "cache_bytes", at);
    if (e.method == kFullKvMethod) {
      require(!full_seen, fmt::format("{}: a second '{}' result (Full KV is one row)", at, kFullKvMethod));
      full_seen = true;
    } else {
      require(e.keep > 0.0 && e.keep <= 1.0, fmt::format("{}: keep {} is not in (0, 1]", at, e.keep));
      require(seen.emplace(e.method, e.keep).second,
              fmt::format("{}: duplicate result for method '{}' at keep {}", at, e.method, e.keep));
    }
    s.results.push_back(std::move(e));
  }
  return s;
}

std::string samples_mode(const std::vector<std::string>& paths) {
  std::string first_rank, first_e2e;
  for_each_record(paths, nullptr, [&](const json& j, const std::string& where) {
    std::string& first = is_e2e_record(j) ? first_e2e : first_rank;
    if (first.empty()) first = where;
    require(first_rank.empty() || first_e2e.empty(),
            fmt::format("samples mix rank-mode and e2e-mode records (rank record at {}, e2e record at {}); a run "
                        "directory holds one mode: report them separately",
                        first_rank, first_e2e));
  });
  return !first_e2e.empty() ? "e2e" : "rank";
}

std::string run_dir_mode(const std::string& run_dir, const std::vector<std::string>& sample_files) {
  const std::string mode = samples_mode(sample_paths(run_dir, sample_files));
  const std::string declared = run_json_mode(read_run_json(run_dir));
  require(!(declared == "e2e" && mode != "e2e"),
          fmt::format("{}: run.json says \"mode\": \"e2e\" but the samples are rank-mode records", run_dir));
  return mode;
}

std::vector<E2eSample> load_e2e_samples(const std::vector<std::string>& paths, LoadStats* stats) {
  std::vector<E2eSample> samples;
  std::map<std::string, std::string> seen;  // id → where
  LoadStats local;
  for_each_record(paths, &local.torn_lines, [&](const json& j, const std::string& where) {
    require(is_e2e_record(j), where + ": not an e2e-mode record (\"mode\": \"e2e\") in an e2e run");
    E2eSample s = parse_e2e_sample(j, where);
    auto [it, fresh] = seen.emplace(s.id, where);
    require(fresh, fmt::format("{}: duplicate sample id '{}' (first seen at {})", where, s.id, it->second));
    samples.push_back(std::move(s));
    ++local.records;
  });
  if (stats) *stats = local;
  return samples;
}

// ------------------------------------------------------------------------------------------------
// Aggregation
// ------------------------------------------------------------------------------------------------

std::string E2eRow::label() const { return reference ? "Full KV" : method + " @ " + percent(keep); }

E2eAggregate aggregate_e2e(const std::vector<E2eSample>& samples) {
  require(!samples.empty(), "no e2e samples");
  E2eAggregate agg;
  agg.samples = int64_t(samples.size());

  // Datasets (sorted), with one category and one max_score each.
  std::map<std::string, E2eDataset> datasets;
  std::map<std::string, std::string> first_where;
  for (const E2eSample& s : samples) {
    auto [it, fresh] = datasets.try_emplace(s.dataset);
    E2eDataset& d = it->second;
    if (fresh) {
      d.name = s.dataset;
      d.task = s.task;
      d.category = s.category;
      d.max_score = s.max_score;
      first_where[s.dataset] = s.where;
    }
    require(d.category == s.category,
            fmt::format("{}: dataset '{}' has category '{}' here but '{}' at {}", s.where, s.dataset, s.category,
                        d.category, first_where[s.dataset]));
    require(d.max_score == s.max_score,
            fmt::format("{}: dataset '{}' has max_score {} here but {} at {}", s.where, s.dataset, s.max_score,
                        d.max_score, first_where[s.dataset]));
    ++d.samples;
  }
  std::map<std::string, int> task_count;
  for (const auto& [name, d] : datasets) ++task_count[d.task];
  std::map<std::string, size_t> dataset_index;
  std::set<std::string> categories;
  for (auto& [name, d] : datasets) {
    d.column = task_count[d.task] > 1 ? d.name : d.task;
    dataset_index[name] = agg.datasets.size();
    categories.insert(d.category);
    agg.datasets.push_back(d);
  }
  agg.categories.assign(categories.begin(), categories.end());

  // Rows: method order of first appearance; keeps ascending.
  struct Acc {
    std::vector<std::vector<double>> scores;  // per dataset
    int64_t samples = 0;
    double kept = 0.0, share = 0.0, bytes = 0.0;
    double keep = 1.0;
  };
  const size_t D = agg.datasets.size();
  bool has_full = false;
  Acc full{std::vector<std::vector<double>>(D)};
  std::map<std::string, std::map<double, Acc>> by_method;
  std::set<double> keeps;
  for (const E2eSample& s : samples) {
    const size_t d = dataset_index[s.dataset];
    for (const E2eResult& r : s.results) {
      Acc* acc = &full;
      if (r.method == kFullKvMethod) {
        if (!has_full) full.keep = r.keep;
        has_full = true;
      } else {
        if (!by_method.count(r.method)) agg.methods.push_back(r.method);
        acc = &by_method[r.method][r.keep];
        if (acc->scores.empty()) acc->scores.resize(D);
        acc->keep = r.keep;
        keeps.insert(r.keep);
      }
      acc->scores[d].push_back(100.0 * r.score / s.max_score);
      ++acc->samples;
      acc->kept += double(r.kept_tokens);
      acc->share += s.prompt_tokens > 0 ? double(r.kept_tokens) / double(s.prompt_tokens) : kNaN;
      acc->bytes += double(r.cache_bytes);
    }
  }
  agg.keep_rates.assign(keeps.begin(), keeps.end());

  auto make_row = [&](const std::string& method, const Acc& a, bool reference) {
    E2eRow row;
    row.method = method;
    row.keep = a.keep;
    row.reference = reference;
    std::vector<const Stat*> all;
    for (const auto& v : a.scores) row.datasets.push_back(sample_stat(v));
    for (const Stat& st : row.datasets) all.push_back(&st);
    row.average = combine(all);
    for (const std::string& c : agg.categories) {
      std::vector<const Stat*> in;
      for (size_t d = 0; d < D; ++d)
        if (agg.datasets[d].category == c) in.push_back(&row.datasets[d]);
      row.categories[c] = combine(in);
    }
    row.samples = a.samples;
    const double n = double(std::max<int64_t>(a.samples, 1));
    row.kept_tokens = a.kept / n;
    row.kept_share = a.share / n;
    row.cache_bytes = a.bytes / n;
    return row;
  };
  if (has_full) agg.rows.push_back(make_row(kFullKvMethod, full, true));
  for (const std::string& m : agg.methods)
    for (const auto& [keep, acc] : by_method[m]) agg.rows.push_back(make_row(m, acc, false));

  const E2eRow* ref = agg.reference();
  for (E2eRow& row : agg.rows) {
    row.delta.assign(D, kNaN);
    row.delta_average = kNaN;
    if (!ref) continue;
    for (size_t d = 0; d < D; ++d)
      if (row.datasets[d].n > 0 && ref->datasets[d].n > 0) row.delta[d] = row.datasets[d].mean - ref->datasets[d].mean;
    if (row.average.n > 0 && ref->average.n > 0) row.delta_average = row.average.mean - ref->average.mean;
  }
  return agg;
}

E2eAggregate aggregate_e2e_run_dir(const std::string& run_dir, const std::vector<std::string>& sample_files) {
  const std::vector<std::string> files = sample_paths(run_dir, sample_files);
  const json run = read_run_json(run_dir);
  LoadStats load;
  std::vector<E2eSample> samples = load_e2e_samples(files, &load);
  require(!samples.empty(), fmt::format("{}: no samples", fmt::join(files, ", ")));
  E2eAggregate agg = aggregate_e2e(samples);
  agg.load = load;
  agg.run = run;
  agg.budgets = aggregate_budgets(files);
  return agg;
}

// ------------------------------------------------------------------------------------------------
// summary.json
// ------------------------------------------------------------------------------------------------

namespace {

constexpr const char* kAggregation =
    "scores in points (100 * score / max_score per sample). Per method x keep row: dataset = mean over the "
    "dataset's samples, stderr = sample std / sqrt(n); average and categories = unweighted mean of the dataset "
    "means (every dataset weighs the same), stderr = sqrt(sum of dataset stderr^2) / datasets, n = samples summed; "
    "delta_vs_full = row mean - Full KV mean; kept_tokens, kept_share, cache_bytes, cache_mib = plain means over "
    "the row's samples (MiB = 2^20 bytes). The method 'full' is the Full KV reference row.";

ojson stat_json(const Stat& s) { return {{"mean", s.mean}, {"stderr", s.se}, {"n", s.n}, {"datasets", s.datasets}}; }

// JSON has no NaN: missing numbers are null.
ojson maybe(double v) { return std::isnan(v) ? ojson(nullptr) : ojson(v); }

ojson row_json(const E2eRow& row, const E2eAggregate& agg) {
  ojson datasets = ojson::object(), categories = ojson::object(), delta = ojson::object();
  for (size_t d = 0; d < agg.datasets.size(); ++d) {
    if (row.datasets[d].n > 0) datasets[agg.datasets[d].name] = stat_json(row.datasets[d]);
    delta[agg.datasets[d].name] = maybe(row.delta[d]);
  }
  for (const auto& [c, st] : row.categories)
    if (st.n > 0) categories[c] = stat_json(st);
  return {{"label", row.label()},
          {"method", row.method},
          {"keep", row.keep},
          {"reference", row.reference},
          {"samples", row.samples},
          {"complete", row.complete()},
          {"average", stat_json(row.average)},
          {"datasets", datasets},
          {"categories", categories},
          {"delta_vs_full", {{"average", maybe(row.delta_average)}, {"datasets", delta}}},
          {"kept_tokens", row.kept_tokens},
          {"kept_share", maybe(row.kept_share)},
          {"cache_bytes", row.cache_bytes},
          {"cache_mib", row.cache_bytes / kMiB}};
}

}  // namespace

ojson e2e_summary_json(const E2eAggregate& agg) {
  ojson datasets = ojson::array(), rows = ojson::array(), torn = ojson::array();
  for (const E2eDataset& d : agg.datasets)
    datasets.push_back({{"name", d.name},
                        {"task", d.task},
                        {"column", d.column},
                        {"category", d.category},
                        {"samples", d.samples},
                        {"max_score", d.max_score}});
  for (const E2eRow& r : agg.rows) rows.push_back(row_json(r, agg));
  for (const std::string& w : agg.load.torn_lines) torn.push_back(without_directory(w));
  ojson out = {{"format", "claa-e2e-summary"},
          {"version", 1},
          {"mode", "e2e"},
          {"aggregation", kAggregation},
          {"run", ojson(agg.run)},
          {"samples", agg.samples},
          {"torn_lines_ignored", torn},
          {"methods", agg.methods},
          {"keep_rates", agg.keep_rates},
          {"reference", agg.reference() ? ojson(kFullKvMethod) : ojson(nullptr)},
          {"categories", agg.categories},
          {"datasets", datasets},
          {"rows", rows}};
  if (!agg.budgets.empty()) out["budget_diagnostics"] = budget_json(agg.budgets);
  return out;
}

// ------------------------------------------------------------------------------------------------
// Tables
// ------------------------------------------------------------------------------------------------

namespace {

std::string run_field(const json& run, const std::vector<std::string>& path) {
  const json* j = &run;
  for (const std::string& key : path) {
    if (!j->is_object() || !j->contains(key)) return "";
    j = &(*j)[key];
  }
  return j->is_string() ? j->get<std::string>() : j->dump();
}

std::vector<std::string> row_head(const E2eRow& r) {
  return {r.reference ? "Full KV" : r.method, percent(r.keep)};
}

std::string average_cell(const E2eRow& r, double v) {
  return points(v) + (r.complete() || std::isnan(v) ? "" : "*");
}

bool any_incomplete(const E2eAggregate& agg) {
  for (const E2eRow& r : agg.rows)
    if (!r.complete()) return true;
  return false;
}

constexpr const char* kIncomplete = " * = the row lacks some datasets; its average is over the datasets it has.";

Table score_table(const E2eAggregate& agg) {
  Table t;
  t.title = "Task scores (Table 1)";
  t.intro = fmt::format(
      "Points (100 × score / max score), one decimal. Each cell is the mean over the dataset's samples; "
      "Average is the mean of the {} dataset means (every dataset weighs the same, however many samples it has).",
      agg.datasets.size());
  t.header = {"method", "keep"};
  for (const E2eDataset& d : agg.datasets) t.header.push_back(d.column);
  t.header.push_back("Average");
  for (const E2eRow& r : agg.rows) {
    std::vector<std::string> row = row_head(r);
    for (const Stat& s : r.datasets) row.push_back(s.n > 0 ? points(s.mean) : "—");
    row.push_back(average_cell(r, r.average.n > 0 ? r.average.mean : kNaN));
    t.rows.push_back(row);
  }
  std::string foot = "Average ± stderr: ";
  for (size_t i = 0; i < agg.rows.size(); ++i)
    foot += fmt::format("{}{} {:.1f} ± {:.1f}", i ? "; " : "", agg.rows[i].label(), agg.rows[i].average.mean,
                        agg.rows[i].average.se);
  t.footnote = foot + "." + (any_incomplete(agg) ? kIncomplete : "");
  return t;
}

Table delta_table(const E2eAggregate& agg) {
  Table t;
  t.title = "Δ vs Full KV";
  const E2eRow* ref = agg.reference();
  if (!ref) {
    t.intro = "No Full KV ('full') results in this run: no differences to show.";
    return t;
  }
  t.intro = "Row score minus Full KV score, in points (negative = worse than Full KV); Average is the difference "
            "of the averages (= the mean of the per-dataset differences when both rows have every dataset).";
  t.header = {"method", "keep"};
  for (const E2eDataset& d : agg.datasets) t.header.push_back(d.column);
  t.header.push_back("Average");
  for (const E2eRow& r : agg.rows) {
    if (r.reference) continue;
    std::vector<std::string> row = row_head(r);
    for (double v : r.delta) row.push_back(signed_points(v));
    row.push_back(signed_points(r.delta_average) + (r.complete() || std::isnan(r.delta_average) ? "" : "*"));
    t.rows.push_back(row);
  }
  if (any_incomplete(agg)) t.footnote = kIncomplete + 1;
  return t;
}

Table category_table(const E2eAggregate& agg) {
  Table t;
  t.title = "Per category";
  t.intro = "Mean of the category's dataset means, in points.";
  t.header = {"method", "keep"};
  for (const std::string& c : agg.categories) {
    int n = 0;
    for (const E2eDataset& d : agg.datasets) n += d.category == c;
    t.header.push_back(fmt::format("{} ({})", c, n));
  }
  t.header.push_back("Average");
  for (const E2eRow& r : agg.rows) {
    std::vector<std::string> row = row_head(r);
    for (const std::string& c : agg.categories) {
      const Stat& s = r.categories.at(c);
      row.push_back(s.n > 0 ? points(s.mean) : "—");
    }
    row.push_back(average_cell(r, r.average.n > 0 ? r.average.mean : kNaN));
    t.rows.push_back(row);
  }
  return t;
}

Table cache_table(const E2eAggregate& agg) {
  Table t;
  t.title = "Kept tokens and KV cache";
  t.intro = "Plain means over the row's samples (all datasets pooled): tokens kept, kept share of the prompt, "
            "KV-cache size in MiB (2^20 bytes).";
  t.header = {"method", "keep", "samples", "mean kept tokens", "kept share", "mean cache MiB", "cache vs Full KV"};
  const E2eRow* ref = agg.reference();
  for (const E2eRow& r : agg.rows) {
    std::vector<std::string> row = row_head(r);
    row.push_back(fmt::format("{}", r.samples));
    row.push_back(fmt::format("{:.1f}", r.kept_tokens));
    row.push_back(std::isnan(r.kept_share) ? "—" : fmt::format("{:.1f}%", 100.0 * r.kept_share));
    row.push_back(fmt::format("{:.2f}", r.cache_bytes / kMiB));
    row.push_back(ref && ref->cache_bytes > 0 ? fmt::format("{:.1f}%", 100.0 * r.cache_bytes / ref->cache_bytes)
                                              : "—");
    t.rows.push_back(row);
  }
  return t;
}

Table dataset_table(const E2eAggregate& agg) {
  Table t;
  t.title = "Datasets";
  t.header = {"column", "dataset", "category", "samples", "max score"};
  for (const E2eDataset& d : agg.datasets)
    t.rows.push_back({d.column, d.name, d.category, fmt::format("{}", d.samples), fmt::format("{:g}", d.max_score)});
  return t;
}

}  // namespace

std::vector<std::string> e2e_report_preamble(const E2eAggregate& agg) {
  std::vector<std::string> out;
  out.push_back("mode: e2e (answers scored per prefill method × keep rate)");
  const std::string name = run_field(agg.run, {"config", "name"});
  if (!name.empty()) out.push_back("run: " + name);
  const std::string model = run_field(agg.run, {"model", "source"});
  const std::string model_path = model.empty() ? run_field(agg.run, {"model", "path"}) : model;
  if (!model_path.empty()) out.push_back("model: " + model_path);
  for (const auto& [label, path] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"git commit", {"git_commit"}}, {"device", {"device"}}, {"libtorch", {"libtorch"}}}) {
    const std::string v = run_field(agg.run, path);
    if (!v.empty()) out.push_back(label + ": " + v);
  }
  std::vector<std::string> keeps;
  for (double k : agg.keep_rates) keeps.push_back(percent(k));
  out.push_back(fmt::format("{} samples in {} datasets; methods: {}{}; keep rates: {}", agg.samples,
                            agg.datasets.size(), agg.reference() ? "Full KV, " : "", fmt::join(agg.methods, ", "),
                            fmt::join(keeps, ", ")));
  for (const std::string& w : agg.load.torn_lines) out.push_back("ignored a torn last line: " + without_directory(w));
  return out;
}

std::vector<ReportSection> e2e_report_sections(const E2eAggregate& agg) {
  ReportSection scores{"End-to-end quality",
                       "Rows are method × keep rate (Full KV once, then each method in order of first appearance, "
                       "keep rates ascending); columns are the datasets (by task) and their Average. Averages are "
                       "unweighted means of the dataset means.",
                       {score_table(agg), delta_table(agg), category_table(agg)}};
  ReportSection cache{"Cache", "", {cache_table(agg), dataset_table(agg)}};
  std::vector<ReportSection> sections = {scores, cache};
  for (ReportSection& s : budget_sections(agg.budgets)) sections.push_back(std::move(s));
  return sections;
}

// ------------------------------------------------------------------------------------------------
// report.md / report.html (same tables; renderers shared with the rank reports, report_format.h)
// ------------------------------------------------------------------------------------------------

namespace {

// The shared stylesheet plus the highlighted Full KV reference row.
const std::string kStyle = html_stylesheet() + "\ntr.ref td{background:#f7f7f7;font-weight:600}";

}  // namespace

std::string e2e_report_markdown(const E2eAggregate& agg, const std::vector<PlotFile>& plots) {
  std::string out = "# claa report (e2e)\n\n";
  for (const std::string& line : e2e_report_preamble(agg)) out += "- " + line + "\n";
  out += "\n";
  const std::vector<ReportSection> sections = e2e_report_sections(agg);
  for (size_t i = 0; i < sections.size(); ++i) {
    const ReportSection& s = sections[i];
    out += "## " + s.heading + "\n\n";
    if (!s.text.empty()) out += s.text + "\n\n";
    for (const Table& t : s.tables) out += md_table(t, /*align_numbers=*/true);
    if (i == 0 && !plots.empty()) {  // the plot right after the tables it draws
      for (const PlotFile& p : plots) out += fmt::format("![{0}]({1})\n\n[{0} (SVG)]({2})\n\n", p.title, p.png, p.svg);
    }
  }
  out += "## Files\n\n"
         "- `summary.json`: every aggregate (per method × keep: dataset, category and average scores with stderr and "
         "n; Δ vs Full KV; kept tokens and cache size).\n"
         "- `plots/`: gnuplot data (.dat) and script (.gp) behind the figure; rerun `gnuplot NAME.gp` there.\n";
  return out;
}

std::string e2e_report_html(const E2eAggregate& agg, const std::vector<PlotFile>& plots) {
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>claa report (e2e)</title>\n"
      "<style>\n{}\n</style>\n</head>\n<body>\n<h1>claa report (e2e)</h1>\n<ul>\n",
      kStyle);
  for (const std::string& line : e2e_report_preamble(agg)) out += "<li>" + html_escape(line) + "</li>\n";
  out += "</ul>\n";
  const std::vector<ReportSection> sections = e2e_report_sections(agg);
  for (size_t i = 0; i < sections.size(); ++i) {
    const ReportSection& s = sections[i];
    out += "<h2>" + html_escape(s.heading) + "</h2>\n";
    if (!s.text.empty()) out += "<p>" + html_escape(s.text) + "</p>\n";
    for (const Table& t : s.tables) out += html_table(t, /*reference_row=*/"Full KV");
    if (i == 0)
      for (const PlotFile& p : plots)
        out += fmt::format(
            "<figure>\n<img src=\"{0}\" alt=\"{1}\">\n<figcaption>{1} (<a href=\"{2}\">SVG</a>)</figcaption>\n"
            "</figure>\n",
            html_escape(p.png), html_escape(p.title), html_escape(p.svg));
  }
  out += "<p class=\"note\">Files: <a href=\"summary.json\">summary.json</a> (every aggregate), plots/ (gnuplot .dat "
         "and .gp sources).</p>\n</body>\n</html>\n";
  return out;
}

// ------------------------------------------------------------------------------------------------
// Plot
// ------------------------------------------------------------------------------------------------

namespace {


// Same layout as plots.cpp's scripts: the figure drawn twice (PNG, then SVG), editable and rerunnable by hand.
// Columns: keep (%), then (mean, stderr) per method in E2eAggregate::methods order; NaN where a method lacks
// that keep rate or a dataset (incomplete rows are not comparable with complete ones, so they are not drawn).
std::string accuracy_data(const E2eAggregate& agg) {
  std::string out = "# keep_percent";
  for (const std::string& m : agg.methods) out += fmt::format("  {0}:average {0}:stderr", m);
  out += "\n";
  for (double k : agg.keep_rates) {
    out += fmt::format("{:g}", k * 100.0);
    for (const std::string& m : agg.methods) {
      const E2eRow* found = nullptr;
      for (const E2eRow& r : agg.rows)
        if (!r.reference && r.method == m && r.keep == k) found = &r;
      out += found && found->average.n > 0 && found->complete()
                 ? fmt::format(" {:.6f} {:.6f}", found->average.mean, found->average.se)
                 : std::string(" NaN NaN");
    }
    out += "\n";
  }
  return out;
}

std::string accuracy_body(const E2eAggregate& agg, const std::string& dat, const std::string& title) {
  // y range: the data ± stderr (and Full KV), padded to multiples of 5 points, clamped to [0, 100].
  double lo = 1e9, hi = -1e9;
  for (const E2eRow& r : agg.rows) {
    if (r.average.n == 0 || !r.complete()) continue;
    lo = std::min(lo, r.average.mean - r.average.se);
    hi = std::max(hi, r.average.mean + r.average.se);
  }
  if (lo > hi) lo = 0.0, hi = 100.0;
  double y0 = std::max(0.0, std::floor((lo - 2.0) / 5.0) * 5.0), y1 = std::min(100.0, std::ceil((hi + 2.0) / 5.0) * 5.0);
  if (y1 - y0 < 10.0) {
    y0 = std::max(0.0, y1 - 10.0);
    y1 = std::min(100.0, y0 + 10.0);
  }
  // x range: 0 .. a little past the largest keep rate; ticks at the run's keep rates ("%%": tic labels are
  // gnuplot format strings).
  const double kmax = agg.keep_rates.empty() ? 100.0 : agg.keep_rates.back() * 100.0;
  const double x1 = std::min(105.0, std::ceil((kmax * 1.1 + 2.0) / 5.0) * 5.0);
  std::string xtics;
  for (size_t i = 0; i < agg.keep_rates.size(); ++i)
    xtics += fmt::format("{}\"{:g}%%\" {:g}", i ? ", " : "", agg.keep_rates[i] * 100.0, agg.keep_rates[i] * 100.0);

  std::string body = fmt::format(
      "set title {} font \",13\"\nset xlabel \"keep rate (% of prompt tokens)\"\n"
      "set ylabel \"average score (points, mean of dataset means)\"\nset xrange [0:{:g}]\nset yrange [{:g}:{:g}]\n"
      "set xtics ({}) nomirror\nset ytics nomirror\nset mxtics 1\nset grid xtics ytics lc rgb \"#e0e0e0\"\n"
      "set key outside right top vertical Left reverse samplen 3 spacing 1.3 width 2 font \",11\"\n"
      "set border 3 lw 1.2\nset bars small\n",
      gnuplot_quote(title), x1, y0, y1, xtics.empty() ? "\"\" 0" : xtics);
  std::vector<std::string> parts;
  if (const E2eRow* ref = agg.reference(); ref && ref->average.n > 0)
    parts.push_back(fmt::format("{:.6f} with lines lw 2 dt 2 lc rgb \"#555555\" title {}", ref->average.mean,
                                gnuplot_quote(fmt::format("Full KV ({:.1f})", ref->average.mean))));
  for (size_t m = 0; m < agg.methods.size(); ++m) {
    const std::string color = plot_colors()[m % plot_colors().size()];
    const int c = int(2 + 2 * m);
    parts.push_back(fmt::format("{} using 1:{}:{} with yerrorbars lw 1.2 lc rgb {} pt {} ps 0 notitle", gnuplot_quote(dat), c,
                                c + 1, gnuplot_quote(color), plot_points()[m % plot_points().size()]));
    parts.push_back(fmt::format("{} using 1:{} with linespoints lw 2.5 ps 1.6 lc rgb {} pt {} title {}", gnuplot_quote(dat),
                                c, gnuplot_quote(color), plot_points()[m % plot_points().size()], gnuplot_quote(agg.methods[m])));
  }
  if (parts.empty()) parts.push_back("NaN notitle");
  body += "plot ";
  for (size_t i = 0; i < parts.size(); ++i) body += (i ? ", \\\n     " : "") + parts[i];
  return body + "\n";
}

}  // namespace

PlotResult render_e2e_plots(const E2eAggregate& agg, const std::string& run_dir, const std::string& gnuplot) {
  const fs::path dir = fs::path(run_dir) / "plots";
  fs::create_directories(dir);
  const std::string name = "e2e_accuracy";
  const std::string dat = name + ".dat";
  const std::string title = fmt::format("Average score vs keep rate ({} dataset{}, mean ± stderr)",
                                        agg.datasets.size(), agg.datasets.size() == 1 ? "" : "s");
  write_text_file((dir / dat).string(), accuracy_data(agg));
  std::vector<Figure> figures = {{name, title, 900, 520, accuracy_body(agg, dat, title), 11, "Average score vs keep rate"}};
  for (Figure& f : budget_figures(agg.budgets, dir)) figures.push_back(std::move(f));
  return render_figures(figures, dir, gnuplot);
}

// ------------------------------------------------------------------------------------------------
// Everything at once
// ------------------------------------------------------------------------------------------------

ReportFiles write_e2e_report(const E2eAggregate& agg, const std::string& run_dir, const ReportOptions& options) {
  ReportFiles files;
  auto in_dir = [&](const char* name) { return (fs::path(run_dir) / name).string(); };
  files.summary_json = in_dir("summary.json");
  files.markdown = in_dir("report.md");
  files.html = in_dir("report.html");
  if (options.plots) {
    files.plots = render_e2e_plots(agg, run_dir, options.gnuplot);
    files.gnuplot_missing = !files.plots.gnuplot_found;
  }
  write_text_file(files.summary_json, e2e_summary_json(agg).dump(2) + "\n");
  write_text_file(files.markdown, e2e_report_markdown(agg, files.plots.plots));
  write_text_file(files.html, e2e_report_html(agg, files.plots.plots));
  return files;
}

ReportFiles write_e2e_run_reports(const std::string& run_dir, const std::vector<std::string>& sample_files,
                                  const ReportOptions& options) {
  const E2eAggregate agg = aggregate_e2e_run_dir(run_dir, sample_files);
  fmt::print("aggregated {} e2e samples in {} datasets: {} rows (method × keep)\n", agg.samples, agg.datasets.size(),
             agg.rows.size());
  for (const std::string& torn : agg.load.torn_lines) fmt::print("ignored a torn last line: {}\n", torn);
  fmt::print("{:<24} {:>6} {:>8} {:>8}\n", "method", "keep", "average", "Δ full");
  for (const E2eRow& r : agg.rows)
    fmt::print("{:<24} {:>6} {:>8} {:>8}\n", r.reference ? "Full KV" : r.method, percent(r.keep),
               points(r.average.n > 0 ? r.average.mean : kNaN), r.reference ? "" : signed_points(r.delta_average));
  ReportFiles files = write_e2e_report(agg, run_dir, options);
  fmt::print("wrote {}\n", files.summary_json);
  if (files.gnuplot_missing) fmt::print("gnuplot not found: plots skipped\n");
  for (const PlotFile& p : files.plots.plots) fmt::print("plot  {}/{} (+ .svg)\n", run_dir, p.png);
  for (const std::string& e : files.plots.errors) fmt::print(stderr, "warning: {}\n", e);
  fmt::print("report: {}\n        {}\n", files.markdown, files.html);
  return files;
}

}  // namespace claa
