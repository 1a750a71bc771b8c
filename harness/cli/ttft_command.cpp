// `claa bench ttft`: time to first token of each prefill pipeline × keep rate, with the protocol of
// the authors' benchmark/ttft_prefill.py (method.md §4): 3 warm-ups, 10 timed runs, mean without
// the min and max (and the median), device synchronised around each run, selection cost included.
// Reports the speed-up over full prefill, the decode-cache bytes and peak memory.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

#include "capture/capture.h"
#include "core/error.h"
#include "core/memory.h"
#include "harness/cli/commands.h"
#include "harness/cli/model_options.h"
#include "harness/cli/synthetic_prompt.h"
#include "harness/pipelines/prefill_pipeline.h"
#include "model/model_tokenizer.h"
#include "oracle/oracle.h"

namespace claa {

namespace {

struct TtftArgs {
  ModelOptions model;
  int64_t tokens = 10240;
  std::string methods = "full,fastkv,claa,gemfilter";
  std::string keep = "0.1,0.2,0.4";
  int warmups = 3, runs = 10;
  std::string json_path;
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string p; std::getline(in, p, ',');)
    if (!p.empty()) out.push_back(p);
  return out;
}

struct Timing {
  double trimmed_mean = 0, median = 0;
  int64_t cache_bytes = 0, peak_bytes = 0;
};

Timing time_pipeline(const Transformer& model, const std::vector<int64_t>& ids, const Pipeline& c,
                     const PipelineInputs& inputs, int warmups, int runs) {
  const std::vector<at::Device>& devices = model.devices();  // several under a layer split
  Timing t;
  for (int i = 0; i < warmups; ++i) run_prefill(model, ids, c, inputs);
  cuda_reset_peak(devices);
  std::vector<double> seconds;
  for (int i = 0; i < runs; ++i) {
    synchronize(model);
    auto t0 = std::chrono::steady_clock::now();
    PrefillOutcome p = run_prefill(model, ids, c, inputs);  // first_token is read: device work done
    synchronize(model);
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    t.cache_bytes = p.cache_bytes;
  }
  std::sort(seconds.begin(), seconds.end());
  t.median = seconds.size() % 2 ? seconds[seconds.size() / 2]
                                : 0.5 * (seconds[seconds.size() / 2 - 1] + seconds[seconds.size() / 2]);
  auto first = seconds.begin() + (seconds.size() > 2 ? 1 : 0), last = seconds.end() - (seconds.size() > 2 ? 1 : 0);
  t.trimmed_mean = std::accumulate(first, last, 0.0) / static_cast<double>(last - first);
  t.peak_bytes = devices.front().is_cuda() ? cuda_peak_bytes(devices) : peak_rss_bytes();
  return t;
}

// --methods: comma-separated pipeline specs ("full,fastkv,fastkv_style:snapkv"), or a JSON array of
// specs for settings and heuristic params ('[{"method": "claa", "heuristic": {"name": "claa", "params": {"n": 2}}}]').
std::vector<PipelineConfig> parse_methods(const std::string& text) {
  std::vector<PipelineConfig> out;
  if (!text.empty() && text.front() == '[') {
    nlohmann::json specs;
    try {
      specs = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      throw Error(std::string("--methods is not valid JSON (") + e.what() + ")");
    }
    for (const nlohmann::json& spec : specs) out.push_back(pipeline_from_spec(spec));
  } else {
    for (const std::string& spec : split(text)) out.push_back(pipeline_from_spec(spec));
  }
  for (const PipelineConfig& c : out) make_pipeline(c, 2);  // the selection's parameter values
  return out;
}

void run_ttft(const TtftArgs& a) {
  const std::vector<PipelineConfig> methods = parse_methods(a.methods);  // typos fail before the model loads
  std::vector<double> keeps;
  for (const std::string& k : split(a.keep)) keeps.push_back(std::stod(k));
  require(!methods.empty() && !keeps.empty(), "give --methods and --keep");
  LoadedModel m = a.model.load();
  const Transformer& model = *m.model;
  require(a.tokens <= m.config.context, fmt::format("--tokens {} exceeds the model context {}", a.tokens, m.config.context));
  std::vector<int64_t> ids = synthetic_prompt(a.tokens, m.config.vocab);
  const auto tok = model_tokenizer(m);            // null for random weights (KVzip then says it needs one)
  const PromptFormat format{tok.get(), nullptr};  // the synthetic prompt is raw ids
  PipelineInputs inputs;
  inputs.format = &format;
  if (std::any_of(methods.begin(), methods.end(),
                  [](const PipelineConfig& c) { return c.resolved(2).selects_by_oracle(); })) {
    CaptureOptions o;  // the oracle emulation's ranking comes from a full run; not part of its TTFT
    o.max_new_tokens = 8;
    inputs.oracle = capture_with_oracle(model, ids, o, OracleOptions{}).oracle;
  }

  const std::string attention = model.prefill_attention_name();
  fmt::print("TTFT, {} tokens, {} {} on {}, attention: {}; {} warm-ups, {} runs, mean without min/max\n", a.tokens,
             m.source.kind == "random" ? "random-weight " + m.source.path : m.source.path, a.model.dtype,
             a.model.device, attention, a.warmups, a.runs);

  nlohmann::json rows = nlohmann::json::array();
  double full_ms = 0;
  std::vector<Pipeline> pipelines;  // each heuristic built once, checked before anything is timed
  for (const PipelineConfig& method : methods) {
    pipelines.push_back(make_pipeline(method, model.n_layers()));
    const Heuristic* h = pipelines.back().selection.get();
    if (h != nullptr && h->needs_tokenizer() && tok == nullptr)
      throw Error("method '" + pipelines.back().config.label + "': " + h->name() +
                  " needs the model's tokenizer (random-weight models have none)");
  }
  size_t width = 12;  // the method column fits the longest label ("fastkv_style:expected_attention")
  for (const Pipeline& p : pipelines) width = std::max(width, p.config.label.size());
  fmt::print("{:<{}} {:>5} {:>12} {:>12} {:>9} {:>12} {:>12}\n", "method", width, "keep", "TTFT ms", "median ms",
             "speed-up", "cache MiB", "peak MiB");
  for (const Pipeline& pipeline : pipelines) {
    const bool full = pipeline.config.kind() == PipelineKind::Full;
    const std::string& label = pipeline.config.label;
    for (double keep : full ? std::vector<double>{1.0} : keeps) {
      const Pipeline p = pipeline.at_keep(keep);
      Timing t = time_pipeline(model, ids, p, inputs, a.warmups, a.runs);
      double ms = t.trimmed_mean * 1000;
      if (full) full_ms = ms;
      double speedup = full_ms > 0 ? full_ms / ms : 0;
      fmt::print("{:<{}} {:>5.2f} {:>12.1f} {:>12.1f} {:>8.2f}x {:>12.1f} {:>12.0f}\n", label, width, keep, ms,
                 t.median * 1000, speedup, t.cache_bytes / 1048576.0, t.peak_bytes / 1048576.0);
      rows.push_back({{"method", label},
                      {"keep", keep},
                      {"ttft_ms", ms},
                      {"median_ms", t.median * 1000},
                      {"speedup_vs_full", speedup},
                      {"cache_bytes", t.cache_bytes},
                      {"peak_bytes", t.peak_bytes},
                      {"pipeline", to_json(p.config)}});
    }
  }
  if (!a.json_path.empty()) {
    nlohmann::json j = {{"tokens", a.tokens}, {"model", m.source.path}, {"device", a.model.device},
                        {"dtype", a.model.dtype}, {"attention", attention}, {"warmups", a.warmups},
                        {"runs", a.runs}, {"rows", rows}};
    std::ofstream(a.json_path) << j.dump(2) << "\n";
  }
}

}  // namespace

void register_ttft_command(CLI::App& bench) {
  auto* cmd = bench.add_subcommand("ttft", "time to first token per prefill method and keep rate");
  auto a = std::make_shared<TtftArgs>();
  a->model.add_to(*cmd, /*allow_random_weights=*/true);
  cmd->add_option("--tokens,-t", a->tokens, "prompt length")->capture_default_str();
  cmd->add_option("--methods", a->methods,
                  "pipeline specs, comma-separated (full, fastkv, claa, oracle, gemfilter, specprefill, lazyllm, "
                  "fastkv_style:HEURISTIC, METHOD:HEURISTIC) or a JSON array of pipeline objects")
      ->capture_default_str();
  cmd->add_option("--keep", a->keep, "keep rates")->capture_default_str();
  cmd->add_option("--warmups", a->warmups, "untimed runs")->capture_default_str();
  cmd->add_option("--runs", a->runs, "timed runs")->capture_default_str();
  cmd->add_option("--json", a->json_path, "also write the table as JSON");
  cmd->callback([a] { run_ttft(*a); });
}

}  // namespace claa
