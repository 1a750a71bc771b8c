#include "reports/explorer_page.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>

#include "core/atomic_file.h"
#include "core/compress.h"
#include "core/error.h"
#include "reports/record_fields.h"
#include "reports/report_format.h"

namespace claa {

// reports/explorer/{explorer.html,explorer.css,explorer.js}, embedded by cmake/embed_assets.cmake.
extern const char* const kExplorerHtml;
extern const char* const kExplorerCss;
extern const char* const kExplorerJs;

namespace {

using json = nlohmann::json;

// Four decimals: the page shows three, and the browser test compares means within 1e-3.
json rounded(const json& v) {
  if (!v.is_number()) return nullptr;
  const double x = v.get<double>();
  return std::isfinite(x) ? json(std::round(x * 1e4) / 1e4) : json(nullptr);
}

// A layer's value of one metric: "spearman" itself, or entry `keep` of a per-keep list.
json layer_value(const json& layer, const std::string& field, int keep) {
  if (!layer.is_object() || !layer.contains(field)) return nullptr;
  const json& v = layer[field];
  if (keep < 0) return rounded(v);
  return v.is_array() && keep < static_cast<int>(v.size()) ? rounded(v[static_cast<size_t>(keep)]) : json(nullptr);
}

struct MetricColumn {
  std::string name, field;  // page label ("recall@10%") and the record's field ("recall")
  int keep = -1;            // index into the record's keep_rates; -1 for a keep-free metric
};

std::vector<MetricColumn> metric_columns(const std::vector<double>& keep_rates, bool evidence) {
  std::vector<MetricColumn> out = {{"spearman", "spearman", -1}, {"kendall", "kendall", -1}};
  for (const char* field : {"recall", "mass_recall", "ndcg", "evidence_recall"}) {
    if (std::string(field) == "evidence_recall" && !evidence) continue;
    for (size_t i = 0; i < keep_rates.size(); ++i)
      out.push_back({fmt::format("{}@{}", field, percent(keep_rates[i])), field, static_cast<int>(i)});
  }
  return out;
}

bool has_evidence_recall(const json& heuristics) {
  for (const auto& [name, h] : heuristics.items())
    for (const json& layer : h.value("layers", json::array()))
      if (layer.contains("evidence_recall")) return true;
  return false;
}

// The bytes a piece of data takes in the page: deflated and base64-encoded where zlib is built in.
int64_t embedded_size(const json& j) {
  const std::string text = j.dump(-1, ' ', false, json::error_handler_t::replace);
  if (!compressed_available()) return static_cast<int64_t>(text.size());
  return static_cast<int64_t>((deflate_zlib(text).size() + 2) / 3 * 4);
}

}  // namespace

ExplorerData explorer_data(const std::vector<std::string>& sample_paths, const std::string& title,
                           int64_t page_budget) {
  std::vector<json> records;
  record::for_each_record(sample_paths, nullptr, [&](const json& j, const std::string&) {
    if (j.is_object() && j.contains("heuristics") && j["heuristics"].is_object() && !j["heuristics"].empty())
      records.push_back(j);
  });
  ExplorerData out;
  if (records.empty()) return out;

  // Heuristics in the order they first appear; layers: the most any record has.
  std::vector<std::string> heuristics;
  size_t n_layers = 0;
  bool evidence = false;
  for (const json& r : records)
    for (const auto& [name, h] : r["heuristics"].items()) {
      if (std::find(heuristics.begin(), heuristics.end(), name) == heuristics.end()) heuristics.push_back(name);
      n_layers = std::max(n_layers, h.value("layers", json::array()).size());
      evidence = evidence || has_evidence_recall(r["heuristics"]);
    }
  const std::vector<double> keep_rates = records.front().value("keep_rates", std::vector<double>{});
  const std::vector<MetricColumn> columns = metric_columns(keep_rates, evidence);

  json samples = json::array(), metrics = json::object(), names = json::array(), views = json::array();
  for (const MetricColumn& m : columns) {
    names.push_back(m.name);
    for (const std::string& h : heuristics) metrics[m.name][h] = json::array();
  }
  for (const json& r : records) {
    samples.push_back({{"id", r.value("id", "")},
                       {"dataset", r.value("dataset", "")},
                       {"score", r.value("score", json())},
                       {"max_score", r.value("max_score", 100.0)},
                       {"answer", r.value("answer", "")},
                       {"prompt_tokens", r.value("prompt_tokens", 0)}});
    for (const MetricColumn& m : columns)
      for (const std::string& h : heuristics) {
        json per_layer = json::array();
        const json* layers = r["heuristics"].contains(h) ? &r["heuristics"][h]["layers"] : nullptr;
        for (size_t l = 0; l < n_layers; ++l)
          per_layer.push_back(layers && l < layers->size() ? layer_value((*layers)[l], m.field, m.keep) : json());
        metrics[m.name][h].push_back(per_layer);
      }
  }
  out.data = {{"format", "claa-explorer"},
              {"version", 1},
              {"title", title},
              {"n_layers", n_layers},
              {"keep_rates", keep_rates},
              {"heuristics", heuristics},
              {"samples", samples},
              {"metrics", metrics},
              {"metric_names", names}};
  // What the token views may take: the budget less the rest of the data and the page's own code.
  int64_t room =
      page_budget - embedded_size(out.data) -
      static_cast<int64_t>(std::strlen(kExplorerHtml) + std::strlen(kExplorerCss) + std::strlen(kExplorerJs));
  for (size_t index = 0; index < records.size(); ++index) {
    const json& r = records[index];
    if (!r.contains("token_view")) continue;
    json view = r["token_view"];
    view["sample"] = index;
    view["answer"] = r.value("answer", "");
    const int64_t bytes = embedded_size(view);  // compressed alone: about its share of the whole
    if (bytes > room) {
      out.views_left_out.push_back(r.value("id", ""));
      continue;
    }
    room -= bytes;
    views.push_back(std::move(view));
  }
  out.data["token_views"] = views;
  out.data["token_views_left_out"] = out.views_left_out;
  return out;
}

std::string explorer_html(const json& data) {
  // Deflated and base64-encoded where zlib is built in (4–5× smaller; the page inflates it with the
  // browser's DecompressionStream), wrapped as {"encoding": "deflate-base64", "data": "..."}.
  std::string payload = data.dump(-1, ' ', false, json::error_handler_t::replace);
  if (compressed_available())
    payload = json{{"encoding", "deflate-base64"}, {"data", base64_encode(deflate_zlib(payload))}}.dump();
  // Every '<' of the data (it can only occur inside JSON strings) as \u003c: no "</script>" or "<!--"
  // in the data can end or confuse its <script> element, and JSON.parse reads the same strings.
  std::string escaped;
  escaped.reserve(payload.size());
  for (char ch : payload) escaped += ch == '<' ? std::string("\\u003c") : std::string(1, ch);
  // The placeholders are found in the template first, so text filled in is never searched again.
  const std::string page = kExplorerHtml;
  std::vector<std::pair<size_t, std::pair<std::string, std::string>>> fills;
  for (const auto& [placeholder, text] : {std::pair<std::string, std::string>{"/*CLAA_STYLE*/", kExplorerCss},
                                          {"/*CLAA_SCRIPT*/", kExplorerJs},
                                          {"/*CLAA_DATA*/", escaped}}) {
    const size_t at = page.find(placeholder);
    require(at != std::string::npos, "explorer template lacks " + placeholder);
    fills.push_back({at, {placeholder, text}});
  }
  std::sort(fills.begin(), fills.end());
  std::string out;
  size_t from = 0;
  for (const auto& [at, fill] : fills) {
    out.append(page, from, at - from);
    out += fill.second;
    from = at + fill.first.size();
  }
  return out + page.substr(from);
}

std::string write_explorer_page(const std::string& run_dir, const std::vector<std::string>& sample_paths,
                                const std::string& title) {
  const ExplorerData d = explorer_data(sample_paths, title);
  if (d.data.is_null()) return "";
  const std::string path = (std::filesystem::path(run_dir) / "explorer.html").string();
  write_file_atomically(path, explorer_html(d.data));
  return path;
}

}  // namespace claa
