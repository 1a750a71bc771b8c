// Records of an e2e-mode run (config "mode": "e2e", method.md §4–§5): every sample was answered by each
// prefill method × keep rate, and scored. Input: samples.jsonl records with "mode": "e2e" and a "results"
// list {"method", "keep", "answer", "score", "kept_tokens", "cache_bytes"} per method × keep (the method
// named "full" is the Full KV reference: one row, whatever its keep).
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "reports/aggregate.h"

namespace claa {

struct E2eResult {
  std::string method;
  double keep = 1.0;
  double score = 0.0;  // the sample's scale (0..max_score)
  int64_t kept_tokens = 0, cache_bytes = 0;
  double prefill_seconds = std::numeric_limits<double>::quiet_NaN();  // time to first token (NaN: not recorded)
};

struct E2eSample : record::RecordHeader {
  int64_t prompt_tokens = 0;
  std::vector<E2eResult> results;
};

// The record's "mode": "rank" (also when absent), "e2e" or "both".
std::string record_mode(const nlohmann::json& j);
// True for a record with answers per method × keep: written in e2e or both mode.
bool is_e2e_record(const nlohmann::json& j);

// One e2e record; claa::Error "WHERE: ..." on a missing or mistyped field or a duplicate method × keep.
E2eSample parse_e2e_sample(const nlohmann::json& j, const std::string& where);

// The mode of the records in `paths`: "e2e", "both", or "rank" (also when no record parses: the rank
// loader then reports the problem). claa::Error when modes are mixed (naming one line of each).
// An unparsable last line is skipped here (a torn write, handled by the loaders).
std::string samples_mode(const std::vector<std::string>& paths);
// Same for RUN_DIR/samples.jsonl (or `sample_files` when given). Also an error when run.json says
// "mode": "e2e" but the records are rank records.
std::string run_dir_mode(const std::string& run_dir, const std::vector<std::string>& sample_files = {});

// Reads e2e samples.jsonl files in order, with the rank loader's rules: blank lines skipped, an unparsable
// last line is a torn write (ignored, recorded), any other unparsable line or a duplicate id is an error.
std::vector<E2eSample> load_e2e_samples(const std::vector<std::string>& paths, LoadStats* stats = nullptr);

// The reference method's name in the records.
inline constexpr const char* kFullKvMethod = "full";

}  // namespace claa
