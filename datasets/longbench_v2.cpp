#include "datasets/longbench_v2.h"

#include <algorithm>

#include "core/error.h"
#include "datasets/json_records.h"

namespace claa {

namespace {

// prompts/0shot.txt verbatim (no trailing newline), with $DOC$ → {context} and the question block
// ($Q$ and the four choices) → {question}, so the context stays a separate span for evidence/pruning.
const char* kTemplate =
    "Please read the following text and answer the question below.\n\n<text>\n{context}\n</text>\n\n{question}\n\n"
    "Format your response as follows: \"The correct answer is (insert answer here)\".";

std::string required(const nlohmann::json& j, const char* name) {
  require(j.contains(name), std::string("field '") + name + "': missing");
  require(j[name].is_string(), std::string("field '") + name + "': expected a string");
  return j[name].get<std::string>();
}

// Python's str.strip() for the ASCII whitespace LongBench v2 texts carry.
std::string strip(const std::string& s) {
  const char* ws = " \t\n\r\v\f";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

}  // namespace

Sample longbench_v2_sample(const nlohmann::json& j) {
  require(j.is_object(), "expected a JSON object");
  Sample s;
  s.id = required(j, "_id");
  s.task = "longbench_v2";
  s.prompt_template = kTemplate;
  s.context = strip(required(j, "context"));
  s.question = "What is the correct answer to this question: " + strip(required(j, "question")) + "\nChoices:\n";
  for (const char* letter : {"A", "B", "C", "D"}) {
    const std::string field = std::string("choice_") + letter;
    s.question += std::string("(") + letter + ") " + strip(required(j, field.c_str())) + (letter[0] == 'D' ? "" : "\n");
  }
  const std::string answer = required(j, "answer");
  require(answer.size() == 1 && answer[0] >= 'A' && answer[0] <= 'D', "field 'answer': expected one of A, B, C, D");
  s.answers = {answer};
  s.max_new_tokens = kLongBenchV2MaxNewTokens;
  s.chat = true;
  s.scorer = "longbench_v2";
  s.metadata = {{"benchmark", "longbench_v2"}, {"category", "LongBench v2"}};
  for (const char* k : {"domain", "sub_domain", "difficulty", "length"})
    if (j.contains(k) && j[k].is_string()) s.metadata[k] = j[k];
  return s;
}

std::vector<Sample> load_longbench_v2(const std::string& path, OnError on_error) {
  std::vector<Sample> out;
  read_json_records(path, on_error, [&](const nlohmann::json& j, size_t) { out.push_back(longbench_v2_sample(j)); });
  require(!out.empty(), path + ": no LongBench v2 records");
  return out;
}

}  // namespace claa
