#include "datasets/scbench.h"

#include <filesystem>
#include <map>

#include "core/error.h"

namespace claa {

namespace fs = std::filesystem;

namespace {

struct TaskInfo {
  std::string first;      // multiturn_templates, {input}/{question} → {question}
  std::string follow_up;  // multiturn_follow_up_templates_in_chat_tempate, same placeholder
  int max_new_tokens;
  bool semantic;
};

// The choice templates end in "The the correct answer is" (sic), as in eval_utils.py; its question
// block is "{question}\nA. ..\nD. .." so option text is never read as a placeholder.
const std::map<std::string, TaskInfo>& tasks() {
  static const std::map<std::string, TaskInfo> t = {
      {"scbench_kv",
       {"Extract the value corresponding to the specified key in the JSON object below.\n\n{context}\n\n{question}",
        "{question}", 150, false}},
      {"scbench_prefix_suffix", {"{context}\n\n{question}", "{question}", 150, false}},
      {"scbench_vt", {"{context}\n\n{question}", "{question}", 30, false}},
      {"scbench_qa_eng",
       {"Read the book and answer the question. Be very concise in your answer.\n\n{context}\n\nQuestion: "
        "{question}\nAnswer:",
        "Question: {question}\nAnswer:", 40, true}},
      {"scbench_choice_eng",
       {"Read the book and answer the question.\n\n{context}\n\nQuestion: {question}\n\nThe the correct answer is",
        "Question: {question}\n\nThe the correct answer is", 40, true}},
  };
  return t;
}

const TaskInfo& info(const std::string& task) {
  auto it = tasks().find(task);
  require(it != tasks().end(), "unknown SCBench task '" + task +
                                   "' (scbench_kv, scbench_prefix_suffix, scbench_vt, scbench_qa_eng, scbench_choice_eng)");
  return it->second;
}

std::string fill(std::string tmpl, const std::string& question) {
  tmpl.replace(tmpl.find("{question}"), 10, question);
  return tmpl;
}

std::string turn_field(const nlohmann::json& turn, const char* name, size_t t) {
  const std::string where = "field 'multi_turns'[" + std::to_string(t) + "]." + name;
  require(turn.contains(name), where + ": missing");
  require(turn[name].is_string(), where + ": expected a string");
  return turn[name].get<std::string>();
}

// The turn's answer as scoring labels (get_ground_truth) and as the text the next turn's prompt
// shows as the assistant's reply. vt answers may be lists (string_match_all over them).
struct TurnGold {
  std::vector<std::string> labels;
  std::string reply;
};

TurnGold turn_gold(const nlohmann::json& turn, const std::string& task, size_t t, std::string& question) {
  const std::string where = "field 'multi_turns'[" + std::to_string(t) + "]";
  require(turn.contains("answer"), where + ".answer: missing");
  const nlohmann::json& a = turn["answer"];
  TurnGold g;
  if (a.is_array()) {
    require(task == "scbench_vt", where + ".answer: expected a string");
    for (const auto& x : a) {
      require(x.is_string(), where + ".answer: expected a list of strings");
      g.labels.push_back(x.get<std::string>());
    }
    require(!g.labels.empty(), where + ".answer: empty");
    for (const std::string& l : g.labels) g.reply += (g.reply.empty() ? "" : ", ") + l;
  } else {
    require(a.is_string() && !a.get<std::string>().empty(), where + ".answer: expected a non-empty string");
    g.reply = a.get<std::string>();
    g.labels = {g.reply};
  }
  if (task != "scbench_choice_eng") return g;
  require(turn.contains("options") && turn["options"].is_array() && turn["options"].size() == 4,
          where + ".options: expected a list of 4 strings");
  std::vector<std::string> options;
  for (const auto& o : turn["options"]) {
    require(o.is_string(), where + ".options: expected a list of 4 strings");
    options.push_back(o.get<std::string>());
  }
  auto it = std::find(options.begin(), options.end(), g.reply);
  require(it != options.end(), where + ".answer: not one of the options");
  g.labels.push_back(std::string(1, static_cast<char>('A' + (it - options.begin()))));
  for (size_t i = 0; i < 4; ++i) question += "\n" + std::string(1, static_cast<char>('A' + i)) + ". " + options[i];
  return g;
}

}  // namespace

const std::vector<std::string>& scbench_tasks() {
  static const std::vector<std::string> t = {"scbench_kv", "scbench_prefix_suffix", "scbench_vt", "scbench_qa_eng",
                                             "scbench_choice_eng"};
  return t;
}

int scbench_max_new_tokens(const std::string& task) { return info(task).max_new_tokens; }

std::string scbench_category(const std::string& task) {
  return info(task).semantic ? "SCBench semantic retrieval" : "SCBench string retrieval";
}

Sample scbench_sample(const nlohmann::json& j, const std::string& task, const ScbenchOptions& o) {
  require(j.is_object(), "expected a JSON object");
  const TaskInfo& t = info(task);
  Sample s;
  s.task = task;
  s.prompt_template = t.first;
  require(j.contains("context") && j["context"].is_string(), "field 'context': expected a string");
  s.context = j["context"].get<std::string>();
  require(j.contains("multi_turns") && j["multi_turns"].is_array() && !j["multi_turns"].empty(),
          "field 'multi_turns': expected a non-empty list of {input, answer}");
  const nlohmann::json& turns = j["multi_turns"];
  const size_t n = std::min(turns.size(), static_cast<size_t>(std::max(1, o.max_turns)));
  std::string previous_reply;
  for (size_t i = 0; i < n; ++i) {
    require(turns[i].is_object(), "field 'multi_turns'[" + std::to_string(i) + "]: expected an object");
    std::string question = turn_field(turns[i], "input", i);
    TurnGold g = turn_gold(turns[i], task, i, question);
    if (i == 0) {
      s.question = question;
      s.answers = g.labels;
    } else {
      s.follow_ups.push_back({previous_reply, fill(t.follow_up, question), g.labels});
    }
    previous_reply = g.reply;
  }
  if (j.contains("id") && (j["id"].is_number_integer() || j["id"].is_string()))
    s.id = task + "-" + (j["id"].is_string() ? j["id"].get<std::string>() : std::to_string(j["id"].get<int64_t>()));
  s.max_new_tokens = t.max_new_tokens;
  s.chat = true;
  s.scorer = "scbench";
  s.metadata = {{"benchmark", "scbench"}, {"category", scbench_category(task)}, {"turns", n}};
  return s;
}

std::vector<Sample> load_scbench(const std::string& path, const ScbenchOptions& o) {
  std::vector<std::pair<std::string, std::string>> files;  // task, file
  if (fs::is_regular_file(path)) {
    files.push_back({fs::path(path).stem().string(), path});
  } else {
    require(fs::is_directory(path), "SCBench folder or file not found: " + path);
    for (const std::string& t : scbench_tasks())
      if (fs::exists(fs::path(path) / (t + ".jsonl"))) files.push_back({t, (fs::path(path) / (t + ".jsonl")).string()});
    require(!files.empty(), "no SCBench <task>.jsonl files in " + path + " (see `claa datasets list`)");
  }
  std::vector<Sample> out;
  for (const auto& [task, file] : files) {
    info(task);
    read_jsonl(file, o.on_error, [&, &task = task](const nlohmann::json& j, size_t line) {
      Sample s = scbench_sample(j, task, o);
      if (s.id.empty()) s.id = task + "-" + std::to_string(line);
      out.push_back(std::move(s));
    });
  }
  return out;
}

Sample turn_sample(const Sample& s, size_t turn) {
  require(turn < turn_count(s), "sample " + s.id + " has no turn " + std::to_string(turn + 1));
  Sample t = s;
  if (turn > 0) t.answers = s.follow_ups[turn - 1].answers;
  return t;
}

}  // namespace claa
