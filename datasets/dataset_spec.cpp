#include "datasets/dataset_spec.h"

#include "datasets/longbench.h"
#include "datasets/niah_grid.h"
#include "datasets/ruler.h"
#include "datasets/scorers.h"
#include "harness/util/error.h"

namespace claa {

DatasetSpec parse_dataset_spec(const std::string& spec) {
  size_t colon = spec.find(':');
  std::string kind = spec.substr(0, colon), arg = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (colon == std::string::npos && is_ruler_task(spec)) return {"ruler", spec};
  if (kind == "niah" && arg.empty()) return {"niah", ""};
  const std::string usage = "bad dataset spec '" + spec +
                            "' (use ruler:TASK, a RULER task name, niah, longbench:DIR, or jsonl:FILE)";
  require(colon != std::string::npos && !arg.empty(), usage);
  if (kind == "ruler") {
    require(is_ruler_task(arg), "unknown RULER task '" + arg + "' (see `claa datasets list`)");
    return {"ruler", arg};
  }
  require(kind == "longbench" || kind == "jsonl", usage);
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
  require(tok != nullptr, spec.kind + " datasets are generated with the model's tokenizer: pass --model");
  if (spec.kind == "niah") {
    NiahGridOptions g;
    g.lengths = o.niah_lengths.empty() ? std::vector<int64_t>{o.length} : o.niah_lengths;
    g.depths = o.niah_depths.empty() ? even_depths(o.samples) : o.niah_depths;
    g.haystack_dir = o.haystack_dir;
    return generate_niah_grid(*tok, chat, g);
  }
  require(spec.kind == "ruler", "unknown dataset kind '" + spec.kind + "'");
  RulerOptions r;
  r.length = o.length;
  r.samples = o.samples;
  r.seed = o.seed;
  r.haystack_dir = o.haystack_dir;
  r.squad_path = o.squad_path;
  r.hotpotqa_path = o.hotpotqa_path;
  return generate_ruler(spec.arg, *tok, chat, r);
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
  lines.push_back("jsonl:FILE  samples written by `claa datasets generate`, or {context, question, answers[, evidence]}");
  return lines;
}

double score_sample(const Sample& s, const std::string& prediction) {
  if (s.scorer == "longbench") {
    std::vector<std::string> classes;
    if (s.metadata.contains("all_classes")) classes = s.metadata["all_classes"].get<std::vector<std::string>>();
    return longbench_score(s.task, prediction, s.answers, classes);
  }
  return scorer_by_name(s.scorer).score(prediction, s.answers, {});
}

}  // namespace claa
