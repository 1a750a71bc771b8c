#include "heuristics/heuristic_spec.h"

#include <cctype>
#include <charconv>

#include "core/error.h"

namespace claa {

namespace {

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

bool is_identifier(const std::string& s) {
  if (s.empty()) return false;
  for (char ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_') return false;
  return true;
}

// A parameter value: an integer, a real number, true/false, or else the word as a string.
nlohmann::json parse_value(const std::string& v) {
  if (v == "true") return true;
  if (v == "false") return false;
  int64_t i = 0;
  auto [end_i, ec_i] = std::from_chars(v.data(), v.data() + v.size(), i);
  if (ec_i == std::errc() && end_i == v.data() + v.size()) return i;
  try {
    size_t used = 0;
    double d = std::stod(v, &used);
    if (used == v.size()) return d;
  } catch (const std::exception&) {
  }
  return v;
}

nlohmann::json parse_params(const std::string& body, const std::string& text) {
  nlohmann::json params = nlohmann::json::object();
  size_t start = 0;
  while (start <= body.size()) {
    size_t comma = body.find(',', start);
    std::string pair = trim(body.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    start = comma == std::string::npos ? body.size() + 1 : comma + 1;
    if (pair.empty() && comma == std::string::npos && params.empty()) break;  // "name{}"
    size_t eq = pair.find('=');
    require(eq != std::string::npos, "heuristic '" + text + "': expected KEY=VALUE, got '" + pair + "'");
    std::string key = trim(pair.substr(0, eq)), value = trim(pair.substr(eq + 1));
    require(is_identifier(key), "heuristic '" + text + "': bad parameter name '" + key + "'");
    require(!value.empty(), "heuristic '" + text + "': parameter '" + key + "' has no value");
    require(!params.contains(key), "heuristic '" + text + "': parameter '" + key + "' is given twice");
    params[key] = parse_value(value);
  }
  return params;
}

// `python:MODULE:FUNCTION[{KEY=VALUE,...}]`, `kvpress:PRESS(...)[{...}]`, `exec:COMMAND`: the external
// heuristics (heuristics/external.cpp), whose target goes into the parameter "target".
bool parse_external_spec(HeuristicSpec& spec) {
  const std::string& text = spec.text;
  for (const char* kind : {"python", "exec", "kvpress"}) {
    const std::string prefix = std::string(kind) + ":";
    if (text.rfind(prefix, 0) != 0) continue;
    spec.name = kind;
    std::string target = text.substr(prefix.size());
    const size_t brace = target.find('{');
    if (spec.name != "exec" && brace != std::string::npos) {  // a command may hold braces of its own
      require(target.back() == '}', "heuristic '" + text + "': parameters must end with '}'");
      spec.params = parse_params(target.substr(brace + 1, target.size() - brace - 2), text);
      target = target.substr(0, brace);
    }
    target = trim(target);
    require(!target.empty(), "heuristic '" + text + "': nothing to run after '" + prefix + "'");
    require(!spec.params.contains("target"), "heuristic '" + text + "': the target is set by the name");
    spec.params["target"] = target;
    return true;
  }
  return false;
}

}  // namespace

HeuristicSpec parse_heuristic_spec(const std::string& raw) {
  HeuristicSpec spec;
  spec.text = trim(raw);
  const std::string& text = spec.text;
  require(!text.empty(), "empty heuristic name");
  if (parse_external_spec(spec)) return spec;
  std::string head = text;
  const size_t brace = text.find('{');
  if (brace != std::string::npos) {
    require(text.back() == '}', "heuristic '" + text + "': parameters must end with '}'");
    spec.params = parse_params(text.substr(brace + 1, text.size() - brace - 2), text);
    head = trim(text.substr(0, brace));
  }
  const size_t at = head.find('@');
  spec.name = trim(head.substr(0, at));
  if (at != std::string::npos) spec.preset = trim(head.substr(at + 1));
  require(is_identifier(spec.name), "heuristic '" + text + "': expected NAME[@PRESET][{KEY=VALUE,...}]");
  require(at == std::string::npos || is_identifier(spec.preset), "heuristic '" + text + "': bad preset name after '@'");
  return spec;
}

std::vector<HeuristicSpec> parse_heuristic_specs(const std::string& list) {
  std::vector<HeuristicSpec> specs;
  int depth = 0, parens = 0;
  std::string current;
  for (char ch : list) {
    // Commas inside {...} and, for kvpress:PRESS(a=1,b=2) (presses nest), inside (...) belong to the spec.
    depth += ch == '{' ? 1 : ch == '}' ? -1 : 0;
    parens += ch == '(' ? 1 : ch == ')' ? -1 : 0;
    require(depth >= 0 && depth <= 1, "heuristics '" + list + "': unbalanced braces");
    require(parens >= 0, "heuristics '" + list + "': unbalanced parentheses");
    if (ch == ',' && depth == 0 && parens == 0) {
      if (!trim(current).empty()) specs.push_back(parse_heuristic_spec(current));
      current.clear();
    } else {
      current += ch;
    }
  }
  require(depth == 0, "heuristics '" + list + "': unbalanced braces");
  require(parens == 0, "heuristics '" + list + "': unbalanced parentheses");
  if (!trim(current).empty()) specs.push_back(parse_heuristic_spec(current));
  return specs;
}

}  // namespace claa
