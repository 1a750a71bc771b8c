// `claa info --model M`: what the model is, read from its metadata without loading weights.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "harness/cli/commands.h"
#include "harness/cli/model_options.h"
#include "model/model_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace claa {

namespace {

// The model's tokenizer in one line (tokenizer/tokenizer.h describe()), or why there is none.
std::string tokenizer_line(const LoadedModel& m) {
  try {
    const std::shared_ptr<const Tokenizer> tok = model_tokenizer(m);
    return tok ? tok->describe() : "none";
  } catch (const Error& e) {
    return std::string("none (") + e.what() + ")";
  }
}

void run_info(const std::string& model, bool as_json) {
  LoadedModel m = describe_model(model);
  const ModelConfig& c = m.config;
  const std::string tokenizer = tokenizer_line(m);
  std::string types;
  for (const std::string& t : m.tensor_types) types += (types.empty() ? "" : ", ") + t;
  if (as_json) {
    nlohmann::json j = {{"source", m.source.path},
                        {"format", m.source.kind},
                        {"architecture", c.architecture},
                        {"layers", c.n_layers},
                        {"hidden", c.hidden},
                        {"heads", c.n_heads},
                        {"kv_heads", c.n_kv_heads},
                        {"head_dim", c.head_dim},
                        {"ffn", c.ffn},
                        {"vocab", c.vocab},
                        {"context", c.context},
                        {"rope_theta", c.rope_theta},
                        {"rope_scaling", c.rope_scaling.type},
                        {"rms_eps", c.rms_eps},
                        {"tied_embeddings", c.tied_embeddings},
                        {"qkv_bias", c.qkv_bias},
                        {"qk_norm", c.qk_norm},
                        {"sliding_window", c.sliding_window},
                        {"features", c.features()},
                        {"tokenizer", tokenizer},
                        {"parameters", c.parameter_count()},
                        {"tensor_types", m.tensor_types}};
    fmt::print("{}\n", j.dump(2));
    return;
  }
  fmt::print("model         {} ({})\n", m.source.path, m.source.kind);
  fmt::print("architecture  {}\n", c.architecture);
  fmt::print("layers        {}\n", c.n_layers);
  fmt::print("hidden        {}\n", c.hidden);
  fmt::print("heads         {} (KV heads {}, group {})\n", c.n_heads, c.n_kv_heads, c.group_size());
  fmt::print("head dim      {}\n", c.head_dim);
  fmt::print("ffn           {}\n", c.ffn);
  fmt::print("vocab         {}\n", c.vocab);
  fmt::print("context       {}\n", c.context);
  fmt::print("rope          theta {} scaling {}\n", c.rope_theta, c.rope_scaling.type);
  fmt::print("rms eps       {}\n", c.rms_eps);
  fmt::print("tied embed    {}\n", c.tied_embeddings ? "yes" : "no");
  std::string features;
  for (const std::string& f : c.features()) features += (features.empty() ? "" : ", ") + f;
  fmt::print("features      {}\n", features.empty() ? "none beyond Llama's" : features);
  fmt::print("tokenizer     {}\n", tokenizer);
  fmt::print("parameters    {:.1f}M\n", c.parameter_count() / 1e6);
  fmt::print("tensor types  {}\n", types);
}

}  // namespace

void register_info_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "describe a model: architecture, layers, heads, context, tensor types");
  auto model = std::make_shared<std::string>(kDefaultModelAlias);
  auto as_json = std::make_shared<bool>(false);
  cmd->add_option("--model,-m", *model, "a .gguf file, an HF model folder, or smollm2-135m")->capture_default_str();
  cmd->add_flag("--json", *as_json, "print JSON");
  cmd->callback([model, as_json] { run_info(*model, *as_json); });
}

}  // namespace claa
