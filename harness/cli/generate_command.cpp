// `claa generate`: greedy generation from a text prompt (optionally chat-formatted) or raw ids.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "harness/cli/commands.h"
#include "harness/cli/model_options.h"
#include "harness/cli/prompt_input.h"
#include "model/generate.h"

namespace claa {

namespace {

struct GenerateArgs {
  ModelOptions model;
  PromptInput prompt;
  int64_t max_new_tokens = 32;
  bool as_json = false;
  std::string dump_logits;  // raw little-endian fp32 first-step logits, for parity checks
};

// The k largest first-step logits as [[id, value], ...]: enough to compare with a reference.
nlohmann::json top_logits(const at::Tensor& logits, int64_t k) {
  auto [values, ids] = logits.topk(k);
  nlohmann::json out = nlohmann::json::array();
  for (int64_t i = 0; i < k; ++i) out.push_back({ids[i].item<int64_t>(), values[i].item<double>()});
  return out;
}

void run_generate(const GenerateArgs& args) {
  LoadedModel m = args.model.load();
  PreparedPrompt prompt = args.prompt.prepare(m);
  GenerationOptions options;
  options.max_new_tokens = args.max_new_tokens;
  options.eos_ids = prompt.eos_ids;
  GenerationResult r = generate(*m.model, prompt.ids, options);
  if (!args.dump_logits.empty()) {
    at::Tensor l = r.first_logits.to(at::kFloat).contiguous();
    std::ofstream out(args.dump_logits, std::ios::binary);
    require(out.good(), args.dump_logits + ": cannot write");
    out.write(reinterpret_cast<const char*>(l.data_ptr<float>()), static_cast<std::streamsize>(l.numel() * 4));
  }
  // The stop token is not part of the answer text.
  std::vector<int64_t> answer = r.tokens;
  if (r.stopped_by_eos) answer.pop_back();
  std::string text = prompt.decode(answer);
  const double prefill_tps = prompt.ids.size() / std::max(r.prefill_seconds, 1e-9);
  if (args.as_json) {
    nlohmann::json j = {{"prompt_ids", prompt.ids}, {"tokens", r.tokens}, {"text", text},
                        {"stopped_by_eos", r.stopped_by_eos}, {"prefill_seconds", r.prefill_seconds},
                        {"decode_seconds", r.decode_seconds}, {"first_top", top_logits(r.first_logits, 10)}};
    fmt::print("{}\n", j.dump());
    return;
  }
  fmt::print("{}\n", text);
  fmt::print(stderr, "[{} prompt tokens, {} generated{}; prefill {:.3f}s ({:.0f} tok/s), decode {:.3f}s]\n",
             prompt.ids.size(), r.tokens.size(), r.stopped_by_eos ? ", stopped at EOS" : "", r.prefill_seconds,
             prefill_tps, r.decode_seconds);
}

}  // namespace

void register_generate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("generate", "greedy generation with a KV cache");
  auto args = std::make_shared<GenerateArgs>();
  args->model.add_to(*cmd, /*allow_random_weights=*/false);
  args->prompt.add_to(*cmd);
  cmd->add_option("--max-new-tokens,-n", args->max_new_tokens, "stop after this many tokens")->capture_default_str();
  cmd->add_flag("--json", args->as_json, "print ids, text and timings as JSON");
  cmd->add_option("--dump-logits", args->dump_logits, "write the first-step logits (raw fp32) to this file");
  cmd->callback([args] { run_generate(*args); });
}

}  // namespace claa
