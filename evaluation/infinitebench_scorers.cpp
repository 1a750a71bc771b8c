#include "evaluation/infinitebench_scorers.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "evaluation/scorers.h"

namespace claa {

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

bool in_list(const std::string& x, const std::vector<std::string>& list) {
  return std::find(list.begin(), list.end(), x) != list.end();
}

std::string replace_chars(std::string s, const std::string& chars) {
  for (char& c : s)
    if (chars.find(c) != std::string::npos) c = ' ';
  return s;
}

std::string ascii_upper(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

// Bytes of the UTF-8 code point starting at s[i] (1 for anything malformed).
size_t code_point_bytes(const std::string& s, size_t i) {
  const auto b = static_cast<unsigned char>(s[i]);
  size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 1;
  return std::min(n, s.size() - i);
}

// Python round(x, 2) for the k/n fractions string_match_all produces (ties to even).
double round2(double x) { return std::nearbyint(x * 100.0) / 100.0; }

// The answer-prefix search of get_score_one_longbook_choice_eng on the cleaned prediction.
// Returns -1 when no prefix is found, else 0/1.
int choice_by_prefix(const std::string& pred, const std::vector<std::string>& labels) {
  for (const char* prefix : {"answer is:", "answer:", "answer is", "option is"}) {
    const size_t idx = pred.find(prefix);
    if (idx == std::string::npos) continue;
    const size_t end = idx + std::string(prefix).size();
    if (end >= pred.size()) return 0;                                          // "The prediction ends with this prefix"
    const std::string after = pred.substr(end + code_point_bytes(pred, end));  // skips one character
    for (const std::string& s : labels)
      if (after.rfind(s, 0) == 0) return 1;
    return 0;
  }
  return -1;
}

}  // namespace

std::string first_int_match(const std::string& prediction) {
  size_t b = prediction.find_first_of("0123456789");
  if (b == std::string::npos) return "";
  size_t e = prediction.find_first_not_of("0123456789", b);
  return prediction.substr(b, e == std::string::npos ? std::string::npos : e - b);
}

double infinitebench_passkey_score(const std::string& prediction, const std::string& label) {
  return label == first_int_match(prediction) ? 1.0 : 0.0;
}

double infinitebench_kv_retrieval_score(const std::string& prediction, const std::string& label) {
  return in_list(label, python_split(replace_chars(prediction, "\n:\"'.,?!{}"))) ? 1.0 : 0.0;
}

double infinitebench_choice_score(const std::string& prediction, const std::vector<std::string>& labels) {
  std::string pred = python_strip(prediction);
  if (pred.empty()) return 0.0;
  if (std::string("ABCD").find(pred[0]) != std::string::npos) return in_list(std::string(1, pred[0]), labels);
  if (in_list(pred, labels)) return 1.0;
  pred = replace_chars(pred, "\n\"'.,?!{}");
  for (size_t at = pred.find("  "); at != std::string::npos; at = pred.find("  ")) pred.erase(at, 1);
  const int by_prefix = choice_by_prefix(pred, labels);
  if (by_prefix >= 0) return by_prefix;
  for (const std::string& word : python_split(pred))
    if (contains("ABCD", word)) return in_list(word, labels);
  return 0.0;
}

double infinitebench_qa_f1_score(const std::string& prediction, const std::vector<std::string>& labels) {
  double best = 0.0;
  for (const std::string& l : labels) best = std::max(best, qa_f1_score(prediction, l));
  return best;
}

double scbench_kv_score(const std::string& prediction, const std::string& label) {
  return contains(prediction, label) ? 1.0 : 0.0;
}

double scbench_qa_score(const std::string& prediction, const std::vector<std::string>& labels) {
  const std::string pred = ascii_upper(python_strip(prediction));
  for (const std::string& l : labels)
    if (contains(pred, ascii_upper(l))) return 1.0;
  return 0.0;
}

double scbench_string_match_all(const std::string& prediction, const std::vector<std::string>& references) {
  require(!references.empty(), "string_match_all: no references");
  const std::string pred = python_lower(prediction);
  double hits = 0;
  for (const std::string& r : references) hits += contains(pred, python_lower(r)) ? 1.0 : 0.0;
  return round2(hits / static_cast<double>(references.size()));
}

double benchmark_task_score(const std::string& task, const std::string& prediction,
                            const std::vector<std::string>& answers) {
  require(!answers.empty(), "task " + task + ": the sample has no gold answer");
  if (task == "passkey" || task == "number_string") return infinitebench_passkey_score(prediction, answers[0]);
  if (task == "kv_retrieval") return infinitebench_kv_retrieval_score(prediction, answers[0]);
  if (task == "longbook_qa_eng") return infinitebench_qa_f1_score(prediction, answers);
  if (task == "longbook_choice_eng" || task == "scbench_choice_eng")
    return infinitebench_choice_score(prediction, answers);
  if (task == "scbench_kv" || task == "scbench_prefix_suffix") return scbench_kv_score(prediction, answers[0]);
  if (task == "scbench_qa_eng") return scbench_qa_score(prediction, answers);
  if (task == "scbench_vt") return scbench_string_match_all(prediction, answers);
  throw Error("no InfiniteBench/SCBench scorer for task '" + task + "'");
}

}  // namespace claa
