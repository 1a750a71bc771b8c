// A heuristic named in one line of text, as `claa rank --heuristics`, a config's "heuristics" list
// and pipeline specs write it:
//
//   NAME[@PRESET][{KEY=VALUE,...}]      e.g.  snapkv   snapkv@kvpress   snapkv{window=64,kernel=5}
//
// PRESET picks a named parameter set of the heuristic (HeuristicInfo::presets: "kvpress" = the
// kvpress press's defaults); KEY=VALUE pairs override single parameters on top. VALUE is a number,
// true/false, or a bare word (a string). A list of specs is comma-separated; commas inside {...}
// belong to the spec.
//
// External heuristics (heuristics/external.cpp, docs/reference.md "External heuristics") are named by
// what they run, which becomes their parameter "target":
//
//   python:MODULE:FUNCTION[{KEY=VALUE,...}]   kvpress:PRESS(key=value,...)[{...}]   exec:COMMAND
//
// In a list, commas inside (...) belong to the spec too; an exec: command holding a comma outside
// parentheses is given as a config object ({"name": "exec", "params": {"target": "..."}}).
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
