// explorer.html: the run's interactive page, one self-contained file (data, script and style inline;
// no network). It shows what the static report cannot: per-sample token views (which prompt tokens
// the oracle wants, which ones each heuristic keeps at a layer and keep rate, where the evidence is)
// and a drill-down from the layer × heuristic heatmap to a heuristic's per-layer curve with its
// stderr band and per-sample spread. The page's code is reports/explorer/ (embedded at build time);
// this file gathers its data from samples.jsonl. Format: docs/reference.md "Explorer page".
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace claa {

// The page's size budget (bytes). The per-layer metrics of every sample always go in; token views go
// in, in run order, while the page stays within the budget, and the ones beyond it are named on the
// page (docs/reference.md "Explorer page" gives the sizes).
constexpr int64_t kExplorerPageBudget = 5'000'000;

struct ExplorerData {
  nlohmann::json data;                      // what the page embeds
  std::vector<std::string> views_left_out;  // sample ids whose token views did not fit the budget
};

// The page's data from rank- or both-mode records (records without per-layer metrics are skipped).
ExplorerData explorer_data(const std::vector<std::string>& sample_paths, const std::string& title,
                           int64_t page_budget = kExplorerPageBudget);

// The page: the embedded template with its style, script and data filled in (the data deflated and
// base64-encoded when zlib is built in: {"encoding": "deflate-base64", "data": ...}; plain JSON otherwise).
std::string explorer_html(const nlohmann::json& data);

// Writes RUN_DIR/explorer.html (atomically) and returns its path; "" when no record has per-layer metrics.
std::string write_explorer_page(const std::string& run_dir, const std::vector<std::string>& sample_paths,
                                const std::string& title);

}  // namespace claa
