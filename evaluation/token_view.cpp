#include "evaluation/token_view.h"

#include <fmt/format.h>

#include <cstdlib>
#include <set>

#include "evaluation/kept_levels.h"
#include "selection/budget.h"

namespace claa {

namespace {

// Four significant digits are plenty for shading and keep samples.jsonl small (the oracle's exact
// values stay out of the record; its top-k sets are exact in oracle_levels).
double shading_value(float x) { return std::strtod(fmt::format("{:.4g}", x).c_str(), nullptr); }

}  // namespace

nlohmann::json token_view_json(const TokenViewInput& in, const nlohmann::json& kept) {
  const std::vector<size_t> ascending = ascending_order(in.keep_rates);
  std::vector<double> rates;
  for (size_t i : ascending) rates.push_back(in.keep_rates[i]);
  // The oracle's top-k sets on each length a ranking was compared on: heuristics that score the window
  // queries rank the N − W positions before the window, the others all N (metrics.h cuts both
  // vectors to the shorter), and the oracle's top k is taken on the same positions.
  std::set<size_t> lengths;
  for (const auto& [name, layers] : kept.items())
    for (const auto& entry : layers) {
      const auto& levels = (entry.is_array() ? entry.at(0) : entry).get_ref<const std::string&>();
      if (!levels.empty()) lengths.insert(levels.size());
    }
  nlohmann::json oracle_levels = nlohmann::json::object();
  for (size_t n : lengths) {
    const size_t cut = std::min(n, in.oracle.size());
    std::vector<int64_t> counts;
    for (double rate : rates) counts.push_back(metric_k(rate, static_cast<int64_t>(cut)));
    oracle_levels[std::to_string(n)] =
        kept_levels(std::vector<float>(in.oracle.begin(), in.oracle.begin() + static_cast<ptrdiff_t>(cut)), counts);
  }
  std::vector<double> oracle;
  for (float x : in.oracle) oracle.push_back(shading_value(x));
  nlohmann::json evidence = nlohmann::json::array();
  for (const auto& [begin, end] : in.evidence) evidence.push_back({begin, end});
  return {{"keep_rates", rates},  {"tokens", in.tokens}, {"oracle", oracle}, {"oracle_levels", oracle_levels},
          {"evidence", evidence}, {"gold", in.gold},     {"kept", kept}};
}

}  // namespace claa
