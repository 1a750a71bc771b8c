// String helpers shared across claa (config validation, CLI hints).
#pragma once

#include <string>
#include <vector>

namespace claa {

// Closest candidate by edit distance (optimal string alignment: Levenshtein plus adjacent
// transpositions), or "" when nothing is close: for "unknown 'modle' (did you mean 'model'?)".
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace claa
