#include "evaluation/task_score.h"

#include <algorithm>
#include <iterator>

#include "evaluation/infinitebench_scorers.h"
#include "evaluation/scorers.h"

namespace claa {

double score_sample(const Sample& s, const std::string& prediction) {
  if (s.scorer == "longbench") {
    std::vector<std::string> classes;
    if (s.metadata.contains("all_classes")) classes = s.metadata["all_classes"].get<std::vector<std::string>>();
    return longbench_score(s.task, prediction, s.answers, classes);
  }
  if (s.scorer == "longbench_v2") return longbench_v2_score(prediction, s.answers.at(0));
  if (s.scorer == "infinitebench" || s.scorer == "scbench") return benchmark_task_score(s.task, prediction, s.answers);
  return scorer_by_name(s.scorer).score(prediction, s.answers, {});
}

double sample_max_score(const Sample& s) {
  static const std::vector<std::string> unit = {"longbench", "longbench_v2", "infinitebench", "scbench"};
  return std::find(unit.begin(), unit.end(), s.scorer) != unit.end() ? 1.0 : 100.0;
}

std::optional<char> longbench_v2_extract_answer(const std::string& response) {
  std::string r;
  std::copy_if(response.begin(), response.end(), std::back_inserter(r), [](char c) { return c != '*'; });
  // re.search(r'The correct answer is \(([A-D])\)') over the whole text first, then the bare form.
  static const std::string kPhrase = "The correct answer is ";
  for (bool parenthesised : {true, false}) {
    for (size_t at = r.find(kPhrase); at != std::string::npos; at = r.find(kPhrase, at + 1)) {
      size_t p = at + kPhrase.size();
      if (parenthesised) {
        if (p + 2 < r.size() && r[p] == '(' && r[p + 1] >= 'A' && r[p + 1] <= 'D' && r[p + 2] == ')') return r[p + 1];
      } else if (p < r.size() && r[p] >= 'A' && r[p] <= 'D') {
        return r[p];
      }
    }
  }
  return std::nullopt;
}

double longbench_v2_score(const std::string& prediction, const std::string& gold_letter) {
  std::optional<char> pred = longbench_v2_extract_answer(prediction);
  return pred && gold_letter.size() == 1 && *pred == gold_letter[0] ? 1.0 : 0.0;
}

}  // namespace claa
