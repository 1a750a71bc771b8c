// `claa run`: config → datasets → per sample: prompt, capture (prefill + greedy answer), oracle,
// every heuristic scored per layer, task score → one record appended to samples.jsonl →
// reports at the end.
#pragma once

#include <string>
#include <vector>

#include "harness/runner/run_config.h"

namespace claa {

struct RunOptions {
  std::string out;        // overrides config.output
  bool resume = false;
  int shard_index = 0, shard_count = 1;
  int64_t limit = 0;      // > 0: at most this many samples (after sharding)
  bool reports = true;
  // The model file's hash when the caller has computed it already (the MPI ranks compare theirs
  // before running); "" = hash it here. A 70B checkpoint takes minutes to hash.
  std::string model_fingerprint;
};

// Parses "i/n" (0 <= i < n).
void parse_shard(const std::string& text, RunOptions& options);

// Returns the run directory.
std::string run_experiment(const RunConfig& config, const RunOptions& options);

}  // namespace claa
