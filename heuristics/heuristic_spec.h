// A heuristic named in one line of text, as `claa rank --heuristics`, a config's "heuristics" list
// and pipeline specs write it:
//
//   NAME[@PRESET][{KEY=VALUE,...}]      e.g.  snapkv   snapkv@kvpress   snapkv{window=64,kernel=5}
//
// PRESET picks a named parameter set of the heuristic (HeuristicInfo::presets: "kvpress" = the
// kvpress press's defaults); KEY=VALUE pairs override single parameters on top. VALUE is a number,
// true/false, or a bare word (a string). A list of specs is comma-separated; commas inside {...}
// belong to the spec.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace claa {

struct HeuristicSpec {
  std::string name;
  std::string preset;                                // "" = the heuristic's own defaults
  nlohmann::json params = nlohmann::json::object();  // overrides on top of the preset
  std::string text;                                  // as written (the default label)
};

// One spec; claa::Error naming the text on bad syntax (unknown names are found when it is built).
HeuristicSpec parse_heuristic_spec(const std::string& text);
// A comma-separated list of specs ("" → empty).
std::vector<HeuristicSpec> parse_heuristic_specs(const std::string& list);

}  // namespace claa
