#include "datasets/infinitebench.h"

#include <filesystem>
#include <map>

#include "core/error.h"

namespace claa {

namespace fs = std::filesystem;

namespace {

struct TaskInfo {
  std::string prompt;  // yarn_mistral_templates with {input} → {question}
  int max_new_tokens;
  bool retrieval;      // the gold answer appears verbatim in the context: it is the evidence
};

// src/prompt.py yarn_mistral_templates. longbook_choice_eng's question and options are one {question}
// block ("{input}\nA. ..\nD. .."), so option text can never be taken for a placeholder.
const std::map<std::string, TaskInfo>& tasks() {
  static const std::map<std::string, TaskInfo> t = {
      {"passkey",
       {"There is an important info hidden inside a lot of irrelevant text. Find it and memorize it. I will quiz you "
        "about the important information.\n\n{context}\n\n{question}\n\nThe pass key is",
        6, true}},
      {"number_string",
       {"There is an important info hidden inside a lot of irrelevant text. Find it. I will quiz you about the "
        "important information there.\n\n{context}\n\n{question}\n\nThe sequence of digits is",
        12, true}},
      {"kv_retrieval",
       {"Extract the value corresponding to the specified key in the JSON object below.\n\n{context}\n\n{question}", 50,
        true}},
      {"longbook_qa_eng",
       {"Read the book and answer the question. Be very concise in your answer.\n\n{context}\n\nQuestion: "
        "{question}\nAnswer:",
        40, false}},
      {"longbook_choice_eng",
       {"Read the book and answer the question.\n\n{context}\n\nQuestion: {question}\n\nThe letter of the correct "
        "answer is",
        40, false}},
  };
  return t;
}

const TaskInfo& info(const std::string& task) {
  auto it = tasks().find(task);
  require(it != tasks().end(), "unknown InfiniteBench task '" + task +
                                   "' (passkey, number_string, kv_retrieval, longbook_qa_eng, longbook_choice_eng)");
  return it->second;
}

std::string required_string(const nlohmann::json& j, const char* name) {
  require(j.contains(name), std::string("field '") + name + "': missing");
  require(j[name].is_string(), std::string("field '") + name + "': expected a string");
  return j[name].get<std::string>();
}

// "answer": a string or a list of strings (the HF files hold lists); never empty.
std::vector<std::string> answers_of(const nlohmann::json& j) {
  require(j.contains("answer"), "field 'answer': missing");
  const nlohmann::json& a = j["answer"];
  std::vector<std::string> out;
  if (a.is_string()) out.push_back(a.get<std::string>());
  else if (a.is_number_integer()) out.push_back(std::to_string(a.get<int64_t>()));
  else {
    require(a.is_array(), "field 'answer': expected a string or a list of strings");
    for (const auto& x : a) {
      require(x.is_string(), "field 'answer': expected a string or a list of strings");
      out.push_back(x.get<std::string>());
    }
  }
  require(!out.empty() && !out[0].empty(), "field 'answer': empty");
  return out;
}

std::vector<std::string> options_of(const nlohmann::json& j) {
  require(j.contains("options") && j["options"].is_array() && j["options"].size() == 4,
          "field 'options': expected a list of 4 strings");
  std::vector<std::string> out;
  for (const auto& x : j["options"]) {
    require(x.is_string(), "field 'options': expected a list of 4 strings");
    out.push_back(x.get<std::string>());
  }
  return out;
}

// eval_utils.get_answer for longbook_choice_eng: [option text, its letter].
std::vector<std::string> choice_labels(const std::vector<std::string>& answer, const std::vector<std::string>& options) {
  if (answer.size() == 2 && answer[1].size() == 1 && answer[1][0] >= 'A' && answer[1][0] <= 'D') return answer;
  require(answer.size() == 1, "field 'answer': expected one option text (or [text, letter])");
  auto it = std::find(options.begin(), options.end(), answer[0]);
  require(it != options.end(), "field 'answer': \"" + answer[0].substr(0, 60) + "\" is not one of the options");
  return {answer[0], std::string(1, static_cast<char>('A' + (it - options.begin())))};
}

// Every occurrence of the gold answer in the context (passkey, number_string, kv_retrieval).
std::vector<EvidenceSpan> occurrences(const std::string& context, const std::string& needle) {
  std::vector<EvidenceSpan> out;
  for (size_t at = context.find(needle); at != std::string::npos; at = context.find(needle, at + needle.size()))
    out.push_back({at, at + needle.size()});
  return out;
}

}  // namespace

const std::vector<std::string>& infinitebench_tasks() {
  static const std::vector<std::string> t = {"passkey", "number_string", "kv_retrieval", "longbook_qa_eng",
                                             "longbook_choice_eng"};
  return t;
}

int infinitebench_max_new_tokens(const std::string& task) { return info(task).max_new_tokens; }

std::string infinitebench_category(const std::string& task) {
  return info(task).retrieval ? "InfiniteBench retrieval" : "InfiniteBench QA";
}

Sample infinitebench_sample(const nlohmann::json& j, const std::string& task) {
  require(j.is_object(), "expected a JSON object");
  const TaskInfo& t = info(task);
  Sample s;
  s.task = task;
  s.prompt_template = t.prompt;
  s.context = required_string(j, "context");
  s.question = required_string(j, "input");
  s.answers = answers_of(j);
  if (task == "longbook_choice_eng") {
    const std::vector<std::string> options = options_of(j);
    s.answers = choice_labels(s.answers, options);
    for (size_t i = 0; i < 4; ++i) s.question += "\n" + std::string(1, static_cast<char>('A' + i)) + ". " + options[i];
  }
  if (j.contains("id") && (j["id"].is_number_integer() || j["id"].is_string()))
    s.id = task + "-" + (j["id"].is_string() ? j["id"].get<std::string>() : std::to_string(j["id"].get<int64_t>()));
  s.max_new_tokens = t.max_new_tokens;
  s.chat = false;
  s.scorer = "infinitebench";
  if (t.retrieval) s.evidence = occurrences(s.context, s.answers[0]);
  s.metadata = {{"benchmark", "infinitebench"}, {"category", infinitebench_category(task)}};
  return s;
}

std::vector<Sample> load_infinitebench(const std::string& path, OnError on_error) {
  std::vector<std::pair<std::string, std::string>> files;  // task, file
  if (fs::is_regular_file(path)) {
    files.push_back({fs::path(path).stem().string(), path});
  } else {
    require(fs::is_directory(path), "InfiniteBench folder or file not found: " + path);
    for (const std::string& t : infinitebench_tasks())
      if (fs::exists(fs::path(path) / (t + ".jsonl"))) files.push_back({t, (fs::path(path) / (t + ".jsonl")).string()});
    require(!files.empty(), "no InfiniteBench <task>.jsonl files in " + path + " (see `claa datasets list`)");
  }
  std::vector<Sample> out;
  for (const auto& [task, file] : files) {
    info(task);  // an unknown file name fails before reading
    read_jsonl(file, on_error, [&, &task = task](const nlohmann::json& j, size_t line) {
      Sample s = infinitebench_sample(j, task);
      if (s.id.empty()) s.id = task + "-" + std::to_string(line);
      out.push_back(std::move(s));
    });
  }
  return out;
}

}  // namespace claa
