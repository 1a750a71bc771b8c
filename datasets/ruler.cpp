#include "datasets/ruler.h"

#include <algorithm>

#include "core/error.h"

namespace claa {

const std::vector<std::string>& ruler_tasks() {
  static const std::vector<std::string> tasks = {
      "niah_single_1", "niah_single_2",   "niah_single_3",   "niah_multikey_1", "niah_multikey_2",
      "niah_multikey_3", "niah_multivalue", "niah_multiquery", "vt", "cwe", "fwe", "qa_1", "qa_2"};
  return tasks;
}

bool is_ruler_task(const std::string& task) {
  const auto& t = ruler_tasks();
  return std::find(t.begin(), t.end(), task) != t.end();
}

int ruler_max_new_tokens(const std::string& task) {
  if (task.rfind("niah", 0) == 0) return 128;
  if (task == "vt") return 30;
  if (task == "cwe") return 120;
  if (task == "fwe") return 50;
  if (task == "qa_1" || task == "qa_2") return 32;
  throw Error("unknown RULER task '" + task + "'");
}

std::vector<Sample> fit_ruler_samples(const FitRequest& req, const SampleMaker& make, const Tokenizer& tok,
                                      const std::optional<ChatTemplate>& chat) {
  const int budget = ruler_max_new_tokens(req.task);
  auto with_budget = [&](size_t index, int64_t n) {
    Sample s = make(index, n);
    s.max_new_tokens = budget;
    return s;
  };
  return fit_samples(req, with_budget, tok, chat);
}

std::vector<Sample> generate_ruler(const std::string& task, const Tokenizer& tok,
                                   const std::optional<ChatTemplate>& chat, const RulerOptions& o) {
  require(is_ruler_task(task), "unknown RULER task '" + task + "' (see `claa datasets list`)");
  require(o.length > 0 && o.samples > 0, "RULER: --length and --samples must be positive");
  std::vector<Sample> out;
  if (task.rfind("niah", 0) == 0) out = generate_ruler_niah(task, tok, chat, o);
  else if (task == "vt") out = generate_ruler_vt(tok, chat, o);
  else if (task == "cwe") out = generate_ruler_cwe(tok, chat, o);
  else if (task == "fwe") out = generate_ruler_fwe(tok, chat, o);
  else out = generate_ruler_qa(task, tok, chat, o);
  for (size_t i = 0; i < out.size(); ++i) {
    Sample& s = out[i];
    s.id = task + "-" + std::to_string(o.length) + "-" + std::to_string(i);
    s.task = task;
    s.max_new_tokens = ruler_max_new_tokens(task);
    s.scorer = task.rfind("qa_", 0) == 0 ? "string_match_part" : "string_match_all";
    s.metadata["benchmark"] = "ruler";
    s.metadata["length"] = o.length;
    s.metadata["seed"] = o.seed;
  }
  return out;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}

JoinedText join_tracked(const std::vector<std::string>& pieces, const std::string& sep) {
  JoinedText j;
  size_t total = 0;
  for (const auto& p : pieces) total += p.size() + sep.size();
  j.text.reserve(total);
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (i) j.text += sep;
    j.ranges.push_back({j.text.size(), j.text.size() + pieces[i].size()});
    j.text += pieces[i];
  }
  return j;
}

}  // namespace claa
