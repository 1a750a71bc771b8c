// Statistics: descriptive ones over a list of values, and the two-level statistics every report uses
// (rank and e2e, method.md §3/§5): a dataset's mean with its standard error, and the equally-weighted
// mean of several datasets' means.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

namespace claa {

// Arithmetic mean; claa::Error on an empty list.
double mean(const std::vector<double>& values);
// Sample standard deviation (divisor n−1); 0 for n < 2.
double sample_std(const std::vector<double>& values);
// Standard error of the mean: sample_std / sqrt(n); 0 for n < 2.
double standard_error(const std::vector<double>& values);
// Number of values strictly below `threshold` (e.g. layers with ρ below 0.5).
int64_t count_below(const std::vector<double>& values, double threshold);

struct Summary {
  int64_t n = 0;
  double mean = 0.0;
  double stddev = 0.0;  // sample std (n−1), 0 for n < 2
  double sem = 0.0;     // stddev / sqrt(n), 0 for n < 2
  double min = 0.0;     // e.g. the worst layer
  double max = 0.0;
};
// All of the above in one pass over the list; claa::Error on an empty list.
Summary summarize(const std::vector<double>& values);

struct Stat {
  double mean = 0.0;
  double se = 0.0;       // standard error of the mean
  int64_t n = 0;         // samples behind the number; 0 = no data
  int64_t datasets = 0;  // datasets behind the number
};

// One dataset: mean over its samples, stderr = sample std / sqrt(n), datasets = 1; n = 0 when empty.
Stat sample_stat(const std::vector<double>& values);

// Several datasets, each weighing the same however many samples it has: mean of the dataset means;
// stderr = sqrt(Σ_d se_d²) / D (the standard error of a mean of independent means); n = samples summed.
// Entries with n = 0 (a dataset that lacks the metric) are left out; all empty → n = 0.
Stat combine(const std::vector<Stat>& per_dataset);

// {"mean", "stderr", "n", "datasets"}, as summary.json writes every statistic.
nlohmann::ordered_json stat_json(const Stat& s);

}  // namespace claa
