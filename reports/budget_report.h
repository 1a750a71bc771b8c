// Budget diagnostics in the reports (evaluation/row_diagnostics.h): for every heuristic (rank mode)
// or prefill method (e2e mode) that aggregates rows — CLAA — which (layer, KV head) rows win the
// budget's slots, averaged over samples, with the rows' spread and how high the gold evidence
// scores in them. One table of the rows that win most often and one heatmap of slot share over
// layer × KV head per owner, in both modes.
//
// Averages are plain means over the samples that carry diagnostics (stderr = sample std / √n); a
// row's evidence value is averaged over the samples with gold evidence.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "reports/aggregate.h"
#include "reports/gnuplot_figures.h"
#include "reports/report_writers.h"

namespace claa {

// Reads the diagnostics of rank records ("heuristics": {LABEL: {"diagnostics": [...]}}) and of e2e
// records ("results": [{"method", "keep", "diagnostics"}]) from samples.jsonl files. Lines that do
// not parse are skipped (the main loaders report them). Sorted by owner, layer, keep.
std::vector<BudgetAggregate> aggregate_budgets(const std::vector<std::string>& sample_files);

// The "Budget diagnostics" report section ({} when there is nothing to show).
std::vector<ReportSection> budget_sections(const std::vector<BudgetAggregate>& budgets);
// One heatmap per owner (at its smallest keep rate and first diagnosed layer): mean slot share
// over layer × KV head. Writes the .dat files into `dir`.
std::vector<Figure> budget_figures(const std::vector<BudgetAggregate>& budgets, const std::filesystem::path& dir);
// For summary.json.
nlohmann::ordered_json budget_json(const std::vector<BudgetAggregate>& budgets);

}  // namespace claa
