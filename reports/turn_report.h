// Multi-turn datasets in the rank report (SCBench; harness/runner/multi_turn.h writes the records):
// per dataset × heuristic × turn, the mean Spearman ρ and recall@k of the ranking computed once on
// turn 1 ("one-shot") and of the ranking recomputed on turn t ("fresh"), both against turn t's oracle
// on the shared context tokens, and the turn's task score. The gap between the two is what ranking
// once costs at turn t.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "reports/aggregate.h"
#include "reports/report_writers.h"

namespace claa {

// From parsed records (those without "turns" are ignored). `keep_index` picks the recall column.
// Sorted by dataset, heuristic, turn.
std::vector<TurnAggregate> aggregate_turn_records(const std::vector<nlohmann::json>& records, size_t keep_index = 0);
// From samples.jsonl files; lines that do not parse are skipped (the main loader reports them).
std::vector<TurnAggregate> aggregate_turns(const std::vector<std::string>& sample_files);

// The "Multi-turn" report section ({} when there are no multi-turn samples).
std::vector<ReportSection> turn_sections(const std::vector<TurnAggregate>& turns, double first_keep);
// For summary.json.
nlohmann::ordered_json turn_json(const std::vector<TurnAggregate>& turns);

}  // namespace claa
