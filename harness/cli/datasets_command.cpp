// `claa datasets list` and `claa datasets generate`: the benchmarks the harness speaks, and synthetic
// (RULER / needle grid) or loaded (LongBench v1/v2, InfiniteBench, SCBench, JSONL) samples written as inspectable JSONL that
// `--dataset jsonl:F` reloads. Writes F.tmp and renames it, so F is never half-written.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <memory>

#include "core/error.h"
#include "datasets/dataset_spec.h"
#include "datasets/prompt_build.h"
#include "harness/cli/commands.h"
#include "model/model_loader.h"

namespace claa {

namespace {

struct GenerateArgs {
  std::string task, model = kDefaultModelAlias, out, on_error = "stop";
  DatasetOptions d;
};

Tokenizer tokenizer_of(const std::string& model_arg) {
  LoadedModel m = describe_model(model_arg);
  if (m.gguf) return Tokenizer::from_gguf(*m.gguf);
  require(m.source.kind == "hf", "model '" + model_arg + "' has no tokenizer (use a .gguf file or an HF folder)");
  return Tokenizer::from_hf_json(m.source.path + "/tokenizer.json");
}

void run_generate(GenerateArgs& a) {
  a.d.on_error = parse_on_error(a.on_error);
  DatasetSpec spec = parse_dataset_spec(a.task);
  std::unique_ptr<Tokenizer> tok;
  std::optional<ChatTemplate> chat;
  if (spec.kind == "ruler" || spec.kind == "niah") {
    tok = std::make_unique<Tokenizer>(tokenizer_of(a.model));
    chat = chat_template_for(*tok);
  }
  std::vector<Sample> samples = load_dataset(spec, a.d, tok.get(), chat);
  write_samples_jsonl(a.out, samples);
  fmt::print("wrote {} samples to {}\n", samples.size(), a.out);
}

}  // namespace

void register_datasets_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("datasets", "list benchmarks; generate or convert samples to JSONL");
  cmd->require_subcommand(1);
  auto* list = cmd->add_subcommand("list", "the dataset specs the harness understands and the files each benchmark needs");
  list->callback([] {
    for (const std::string& line : dataset_catalog()) fmt::print("{}\n", line);
  });

  auto a = std::make_shared<GenerateArgs>();
  auto* gen = cmd->add_subcommand("generate", "generate (RULER, niah) or load (longbench, longbench_v2, infinitebench, "
                                              "scbench, jsonl) samples into JSONL");
  gen->add_option("--task,-t", a->task, "ruler:TASK, a RULER task name, niah, longbench:DIR, longbench_v2:FILE, "
                                        "infinitebench:DIR, scbench:DIR or jsonl:FILE")->required();
  gen->add_option("--length,-n", a->d.length, "target length: prompt tokens + output budget")->capture_default_str();
  gen->add_option("--samples,-k", a->d.samples, "samples (RULER) or evenly spread depths (niah)")->capture_default_str();
  gen->add_option("--model,-m", a->model, "tokenizer source: a .gguf file, an HF folder, or smollm2-135m")
      ->capture_default_str();
  gen->add_option("--seed,-s", a->d.seed, "generator seed")->capture_default_str();
  gen->add_option("--haystack", a->d.haystack_dir, "folder of .txt essays (default: ~/.cache/claa/haystack)");
  gen->add_option("--squad", a->d.squad_path, "SQuAD v2 JSON for ruler:qa_1");
  gen->add_option("--hotpotqa", a->d.hotpotqa_path, "HotpotQA JSON for ruler:qa_2");
  gen->add_option("--niah-lengths", a->d.niah_lengths, "niah grid lengths (default: --length)");
  gen->add_option("--niah-depths", a->d.niah_depths, "niah grid depths in percent (default: --samples evenly)");
  gen->add_option("--trec-max-new-tokens", a->d.trec_max_new_tokens,
                  "LongBench trec output budget (LongBench 64; the CLAA code uses 4)")
      ->capture_default_str();
  gen->add_option("--max-turns", a->d.max_turns, "SCBench: turns per sample")->capture_default_str();
  gen->add_option("--on-error", a->on_error, "bad JSONL lines: stop | skip")->capture_default_str();
  gen->add_option("--out,-o", a->out, "output .jsonl file")->required();
  gen->callback([a] { run_generate(*a); });
}

}  // namespace claa
