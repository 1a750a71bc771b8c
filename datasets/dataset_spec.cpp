#include "datasets/dataset_spec.h"

#include <algorithm>

#include "core/error.h"
#include "datasets/infinitebench.h"
#include "datasets/longbench.h"
#include "datasets/longbench_v2.h"
#include "datasets/niah_grid.h"
#include "datasets/ruler.h"
#include "datasets/scbench.h"

namespace claa {

DatasetSpec parse_dataset_spec(const std::string& spec) {
  size_t colon = spec.find(':');
  std::string kind = spec.substr(0, colon), arg = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (colon == std::string::npos && is_ruler_task(spec)) return {"ruler", spec};
  if (kind == "niah" && arg.empty()) return {"niah", ""};
  const std::string usage = "bad dataset spec '" + spec +
                            "' (use ruler:TASK, a RULER task name, niah, longbench:DIR, longbench_v2:FILE, "
                            "infinitebench:DIR, scbench:DIR, or jsonl:FILE)";
  require(colon != std::string::npos && !arg.empty(), usage);
  if (kind == "ruler") {
    require(is_ruler_task(arg), "unknown RULER task '" + arg + "' (see `claa datasets list`)");
    return {"ruler", arg};
  }
  require(kind == "longbench" || kind == "longbench_v2" || kind == "infinitebench" || kind == "scbench" ||
              kind == "jsonl",
          usage);
  return {kind, arg};
}

std::vector<Sample> load_dataset(const DatasetSpec& spec, const DatasetOptions& o, const Tokenizer* tok,
                                 const std::optional<ChatTemplate>& chat) {
  if (spec.kind == "jsonl") return load_jsonl_samples(spec.arg, o.on_error);
  if (spec.kind == "longbench") {
    LongBenchOptions lb;
    lb.trec_max_new_tokens = o.trec_max_new_tokens;
    lb.on_error = o.on_error;
    return load_longbench(spec.arg, lb);
  }
  if (spec.kind == "longbench_v2") return load_longbench_v2(spec.arg, o.on_error);
  if (spec.kind == "infinitebench") return load_infinitebench(spec.arg, o.on_error);
  if (spec.kind == "scbench") return load_scbench(spec.arg, {o.on_error, o.max_turns});
  require(tok != nullptr, spec.kind + " datasets are generated with the model's tokenizer: pass --model");
  if (spec.kind == "niah") {
    NiahGridOptions g;
    g.lengths = o.niah_lengths.empty() ? std::vector<int64_t>{o.length} : o.niah_lengths;
    g.depths = o.niah_depths.empty() ? even_depths(o.samples) : o.niah_depths;
    g.haystack_dir = o.haystack_dir;
    return generate_niah_grid(*tok, chat, g);
  }
  require(spec.kind == "ruler", "unknown dataset kind '" + spec.kind + "'");
  return generate_ruler(spec.arg, *tok, chat, o);  // the RulerOptions part of the options
}

std::vector<std::string> dataset_input_paths(const DatasetSpec& spec, const DatasetOptions& o) {
  std::vector<std::string> paths;
  if (spec.kind == "ruler" || spec.kind == "niah")
    paths.push_back(o.haystack_dir.empty() ? default_haystack_dir() : o.haystack_dir);
  else
    paths.push_back(spec.arg);  // the jsonl file or the benchmark's folder / file
  for (const std::string& p : {o.squad_path, o.hotpotqa_path})
    if (!p.empty()) paths.push_back(p);
  return paths;
}

std::vector<std::string> dataset_catalog() {
  std::vector<std::string> lines;
  for (const std::string& t : ruler_tasks()) {
    std::string needs = t == "qa_1" ? " (needs --squad FILE)" : t == "qa_2" ? " (needs --hotpotqa FILE)" : "";
    if (t == "niah_single_2" || t == "niah_single_3" || t == "niah_multikey_1" || t == "niah_multivalue" ||
        t == "niah_multiquery")
      needs = " (essay haystack)";
    lines.push_back("ruler:" + t + "  generated, " + std::to_string(ruler_max_new_tokens(t)) + " output tokens" + needs);
  }
  lines.push_back("niah  needle-in-a-haystack grid, lengths x depths (essay haystack)");
  for (const std::string& d : longbench_datasets())
    lines.push_back("longbench:DIR  " + d + " (" + longbench_category(d) + ", " + longbench_metric(d) + ", " +
                    std::to_string(longbench_max_new_tokens(d)) + " output tokens)");
  lines.push_back("longbench_v2:FILE  LongBench v2: 503 multiple-choice questions A-D (accuracy, " +
                  std::to_string(kLongBenchV2MaxNewTokens) + " output tokens)");
  for (const std::string& t : infinitebench_tasks())
    lines.push_back("infinitebench:DIR  " + t + " (" + infinitebench_category(t) + ", " +
                    std::to_string(infinitebench_max_new_tokens(t)) + " output tokens)");
  for (const std::string& t : scbench_tasks())
    lines.push_back("scbench:DIR  " + t + " (" + scbench_category(t) + ", multi-turn, " +
                    std::to_string(scbench_max_new_tokens(t)) + " output tokens per turn)");
  lines.push_back("jsonl:FILE  samples written by `claa datasets generate`, or {context, question, answers[, evidence]}");
  lines.push_back("");
  for (const std::string& l : benchmark_files()) lines.push_back(l);
  return lines;
}

std::vector<std::string> benchmark_files() {
  return {
      "Files to supply (nothing downloads at run time; a DIR may also be one of its files):",
      "longbench:DIR       <dataset>.jsonl of the HF dataset THUDM/LongBench (data.zip), format and prompts from "
      "github THUDM/LongBench LongBench/",
      "longbench_v2:FILE   data.json of the HF dataset THUDM/LongBench-v2 (a JSON array; JSONL also read), format "
      "from github THUDM/LongBench pred.py, prompts/0shot.txt",
      "infinitebench:DIR   passkey.jsonl number_string.jsonl kv_retrieval.jsonl longbook_qa_eng.jsonl "
      "longbook_choice_eng.jsonl of the HF dataset xinrongzhang2022/InfiniteBench, format from github "
      "OpenBMB/InfiniteBench src/eval_utils.py",
      "scbench:DIR         scbench_kv.jsonl scbench_prefix_suffix.jsonl scbench_vt.jsonl scbench_qa_eng.jsonl "
      "scbench_choice_eng.jsonl (HF dataset microsoft/SCBench, one config per task, split test, saved as JSONL), "
      "format from github microsoft/MInference scbench/",
      "ruler:qa_1 / qa_2   SQuAD v2 dev JSON (--squad) / HotpotQA dev distractor JSON (--hotpotqa)",
      "config: {\"spec\": \"scbench:/data/scbench\", \"max_turns\": 5} (also \"longbench_v2:/data/data.json\", "
      "\"infinitebench:/data/infinitebench\")"};
}

std::string sample_category(const Sample& s) {
  if (s.metadata.contains("category") && s.metadata["category"].is_string()) return s.metadata["category"];
  const std::string& t = s.task;
  if (t.rfind("niah", 0) == 0) return "Retrieval";
  if (t == "vt") return "Multi-hop tracing";
  if (t == "cwe" || t == "fwe") return "Aggregation";
  if (t == "qa_1" || t == "qa_2") return "QA";
  return t;
}

std::string dataset_label(const std::string& spec, int64_t length, const Sample& s) {
  const std::string kind = parse_dataset_spec(spec).kind;
  const bool per_task = kind == "longbench_v2" || kind == "infinitebench" || kind == "scbench";
  return (per_task ? kind + ":" + s.task : spec) + "@" + std::to_string(length);
}

bool dataset_kind_is_multi_turn(const std::string& kind) { return kind == "scbench"; }

}  // namespace claa
