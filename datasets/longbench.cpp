#include "datasets/longbench.h"

#include <filesystem>
#include <map>

#include "core/error.h"

namespace claa {

namespace {

struct LongBenchDataset {
  std::string name, metric, category;
};

// eval.py dataset2metric and the report categories of datasets.md.
const std::vector<LongBenchDataset>& longbench_table() {
  static const std::vector<LongBenchDataset> table = {
      {"narrativeqa", "qa_f1", "Single-Doc QA"},
      {"qasper", "qa_f1", "Single-Doc QA"},
      {"multifieldqa_en", "qa_f1", "Single-Doc QA"},
      {"hotpotqa", "qa_f1", "Multi-Doc QA"},
      {"2wikimqa", "qa_f1", "Multi-Doc QA"},
      {"musique", "qa_f1", "Multi-Doc QA"},
      {"gov_report", "rouge", "Summarization"},
      {"qmsum", "rouge", "Summarization"},
      {"multi_news", "rouge", "Summarization"},
      {"trec", "classification", "Few-shot"},
      {"triviaqa", "qa_f1", "Few-shot"},
      {"samsum", "rouge", "Few-shot"},
      {"passage_count", "count", "Synthetic"},
      {"passage_retrieval_en", "retrieval", "Synthetic"},
      {"lcc", "code_sim", "Code"},
      {"repobench-p", "code_sim", "Code"},
  };
  return table;
}

const LongBenchDataset& find_dataset(const std::string& dataset) {
  for (const auto& entry : longbench_table())
    if (entry.name == dataset) return entry;
  throw Error("unknown LongBench dataset '" + dataset + "' (the 16 English LongBench v1 datasets are supported)");
}

}  // namespace

const std::vector<std::string>& longbench_datasets() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& entry : longbench_table()) out.push_back(entry.name);
    return out;
  }();
  return names;
}

const std::string& longbench_metric(const std::string& dataset) { return find_dataset(dataset).metric; }

const std::string& longbench_category(const std::string& dataset) { return find_dataset(dataset).category; }

bool longbench_first_line_only(const std::string& dataset) {
  return dataset == "trec" || dataset == "triviaqa" || dataset == "samsum" || dataset == "lsht";
}

namespace fs = std::filesystem;

namespace {

// THUDM/LongBench config/dataset2prompt.json, the 16 English entries, verbatim.
const std::map<std::string, std::string>& prompts() {
  static const std::map<std::string, std::string> p = {
      {"narrativeqa",
       "You are given a story, which can be either a novel or a movie script, and a question. Answer the question "
       "as concisely as you can, using a single phrase if possible. Do not provide any explanation.\n\nStory: "
       "{context}\n\nNow, answer the question based on the story as concisely as you can, using a single phrase if "
       "possible. Do not provide any explanation.\n\nQuestion: {input}\n\nAnswer:"},
      {"qasper",
       "You are given a scientific article and a question. Answer the question as concisely as you can, using a "
       "single phrase or sentence if possible. If the question cannot be answered based on the information in the "
       "article, write \"unanswerable\". If the question is a yes/no question, answer \"yes\", \"no\", or "
       "\"unanswerable\". Do not provide any explanation.\n\nArticle: {context}\n\n Answer the question based on "
       "the above article as concisely as you can, using a single phrase or sentence if possible. If the question "
       "cannot be answered based on the information in the article, write \"unanswerable\". If the question is a "
       "yes/no question, answer \"yes\", \"no\", or \"unanswerable\". Do not provide any explanation.\n\nQuestion: "
       "{input}\n\nAnswer:"},
      {"multifieldqa_en",
       "Read the following text and answer briefly.\n\n{context}\n\nNow, answer the following question based on the "
       "above text, only give me the answer and do not output any other words.\n\nQuestion: {input}\nAnswer:"},
      {"hotpotqa",
       "Answer the question based on the given passages. Only give me the answer and do not output any other "
       "words.\n\nThe following are given passages.\n{context}\n\nAnswer the question based on the given passages. "
       "Only give me the answer and do not output any other words.\n\nQuestion: {input}\nAnswer:"},
      {"2wikimqa",
       "Answer the question based on the given passages. Only give me the answer and do not output any other "
       "words.\n\nThe following are given passages.\n{context}\n\nAnswer the question based on the given passages. "
       "Only give me the answer and do not output any other words.\n\nQuestion: {input}\nAnswer:"},
      {"musique",
       "Answer the question based on the given passages. Only give me the answer and do not output any other "
       "words.\n\nThe following are given passages.\n{context}\n\nAnswer the question based on the given passages. "
       "Only give me the answer and do not output any other words.\n\nQuestion: {input}\nAnswer:"},
      {"gov_report",
       "You are given a report by a government agency. Write a one-page summary of the report.\n\nReport:\n"
       "{context}\n\nNow, write a one-page summary of the report.\n\nSummary:"},
      {"qmsum",
       "You are given a meeting transcript and a query containing a question or instruction. Answer the query in one "
       "or more sentences.\n\nTranscript:\n{context}\n\nNow, answer the query based on the above meeting transcript "
       "in one or more sentences.\n\nQuery: {input}\nAnswer:"},
      {"multi_news",
       "You are given several news passages. Write a one-page summary of all news. \n\nNews:\n{context}\n\nNow, "
       "write a one-page summary of all the news.\n\nSummary:"},
      {"trec",
       "Please determine the type of the question below. Here are some examples of questions.\n\n{context}\n{input}"},
      {"triviaqa",
       "Answer the question based on the given passage. Only give me the answer and do not output any other words. "
       "The following are some examples.\n\n{context}\n\n{input}"},
      {"samsum",
       "Summarize the dialogue into a few short sentences. The following are some examples.\n\n{context}\n\n{input}"},
      {"passage_count",
       "There are some paragraphs below sourced from Wikipedia. Some of them may be duplicates. Please carefully "
       "read these paragraphs and determine how many unique paragraphs there are after removing duplicates. In other "
       "words, how many non-repeating paragraphs are there in total?\n\n{context}\n\nPlease enter the final count of "
       "unique paragraphs after removing duplicates. The output format should only contain the number, such as 1, "
       "2, 3, and so on.\n\nThe final answer is: "},
      {"passage_retrieval_en",
       "Here are 30 paragraphs from Wikipedia, along with an abstract. Please determine which paragraph the abstract "
       "is from.\n\n{context}\n\nThe following is an abstract.\n\n{input}\n\nPlease enter the number of the "
       "paragraph that the abstract is from. The answer format must be like \"Paragraph 1\", \"Paragraph 2\", "
       "etc.\n\nThe answer is: "},
      {"lcc", "Please complete the code given below. \n{context}Next line of code:\n"},
      {"repobench-p", "Please complete the code given below. \n{context}{input}Next line of code:\n"},
  };
  return p;
}

}  // namespace

const std::string& longbench_prompt(const std::string& dataset) {
  auto it = prompts().find(dataset);
  require(it != prompts().end(), "unknown LongBench dataset '" + dataset + "' (the 16 English v1 datasets)");
  return it->second;
}

int longbench_max_new_tokens(const std::string& dataset) {
  static const std::map<std::string, int> m = {
      {"narrativeqa", 128}, {"qasper", 128},  {"multifieldqa_en", 64}, {"hotpotqa", 32},   {"2wikimqa", 32},
      {"musique", 32},      {"gov_report", 512}, {"qmsum", 512},        {"multi_news", 512}, {"trec", 64},
      {"triviaqa", 32},     {"samsum", 128},  {"passage_count", 32},   {"passage_retrieval_en", 32},
      {"lcc", 64},          {"repobench-p", 64}};
  auto it = m.find(dataset);
  require(it != m.end(), "unknown LongBench dataset '" + dataset + "'");
  return it->second;
}

bool longbench_uses_chat(const std::string& dataset) {
  static const std::vector<std::string> raw = {"trec", "triviaqa", "samsum", "lsht", "lcc", "repobench-p"};
  return std::find(raw.begin(), raw.end(), dataset) == raw.end();
}

namespace {

std::string str_field(const nlohmann::json& j, const char* name) {
  require(j.contains(name) && j[name].is_string(), std::string("field '") + name + "': expected a string");
  return j[name].get<std::string>();
}

std::vector<std::string> str_list(const nlohmann::json& j, const char* name, bool nullable) {
  std::vector<std::string> out;
  if (nullable && (!j.contains(name) || j[name].is_null())) return out;
  require(j.contains(name) && j[name].is_array(), std::string("field '") + name + "': expected an array of strings");
  for (const auto& x : j[name]) {
    require(x.is_string(), std::string("field '") + name + "': expected an array of strings");
    out.push_back(x.get<std::string>());
  }
  return out;
}

}  // namespace

Sample longbench_sample(const nlohmann::json& j, const std::string& dataset, const LongBenchOptions& o) {
  require(j.is_object(), "expected a JSON object");
  Sample s;
  s.task = dataset;
  s.prompt_template = longbench_prompt(dataset);
  size_t at = s.prompt_template.find("{input}");
  if (at != std::string::npos) s.prompt_template.replace(at, 7, "{question}");
  s.context = str_field(j, "context");
  s.question = str_field(j, "input");
  s.answers = str_list(j, "answers", false);
  s.id = j.contains("_id") && j["_id"].is_string() ? j["_id"].get<std::string>() : "";
  s.max_new_tokens = dataset == "trec" ? o.trec_max_new_tokens : longbench_max_new_tokens(dataset);
  s.chat = longbench_uses_chat(dataset);
  s.scorer = "longbench";
  s.metadata = {{"benchmark", "longbench"},
                {"dataset", dataset},
                {"all_classes", str_list(j, "all_classes", true)},
                {"length", j.value("length", 0)},
                {"language", j.value("language", "en")},
                {"category", longbench_category(dataset)}};
  return s;
}

std::vector<Sample> load_longbench(const std::string& path, const LongBenchOptions& o) {
  std::vector<std::pair<std::string, std::string>> files;  // dataset, file
  if (fs::is_regular_file(path)) {
    files.push_back({fs::path(path).stem().string(), path});
  } else {
    require(fs::is_directory(path), "LongBench folder not found: " + path);
    for (const std::string& d : longbench_datasets()) {
      if (!o.datasets.empty() && std::find(o.datasets.begin(), o.datasets.end(), d) == o.datasets.end()) continue;
      fs::path f = fs::path(path) / (d + ".jsonl");
      if (fs::exists(f)) files.push_back({d, f.string()});
    }
    require(!files.empty(), "no LongBench <dataset>.jsonl files in " + path);
  }
  std::vector<Sample> out;
  for (const auto& [dataset, file] : files) {
    longbench_prompt(dataset);  // an unknown file name fails here, before reading
    // (named capture: clang before 16 cannot capture a structured binding)
    read_jsonl(file, o.on_error, [&, &dataset = dataset](const nlohmann::json& j, size_t line) {
      Sample s = longbench_sample(j, dataset, o);
      if (s.id.empty()) s.id = dataset + "-" + std::to_string(line);
      out.push_back(std::move(s));
    });
  }
  return out;
}

}  // namespace claa
