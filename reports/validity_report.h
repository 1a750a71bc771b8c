// Reports of a both-mode run (config "mode": "both"): the e2e report (e2e_report.h) led by the predictive
// validity of the rank metrics (validity.h): a table ranking the metrics, and scatter plots of the cells
// for the lead metric and for Spearman ρ at l_p. summary.json is the e2e summary with "mode": "both" and a
// "validity" object.
#pragma once

#include <string>
#include <vector>

#include "reports/e2e_aggregate.h"
#include "reports/report_writers.h"
#include "reports/validity.h"

namespace claa {

std::vector<ReportSection> validity_sections(const ValidityAnalysis& v);
nlohmann::ordered_json both_summary_json(const E2eAggregate& agg, const ValidityAnalysis& v);
ReportFiles write_both_report(const E2eAggregate& agg, const ValidityAnalysis& v, const std::string& run_dir,
                              const ReportOptions& options = {});

}  // namespace claa
