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

#include "harness/capture/capture.h"
#include "harness/cli/commands.h"
#include "harness/cli/model_options.h"
#include "harness/cli/synthetic_prompt.h"
#include "harness/model/model_tokenizer.h"
#include "harness/pipelines/prefill_pipeline.h"
#include "harness/util/error.h"
#include "harness/util/memory.h"

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

Timing time_pipeline(const Transformer& model, const std::vector<int64_t>& ids, const PipelineConfig& c,
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

void run_ttft(const TtftArgs& a) {
  std::vector<std::string> methods = split(a.methods);
  std::vector<double> keeps;
  for (const std::string& k : split(a.keep)) keeps.push_back(std::stod(k));
  require(!methods.empty() && !keeps.empty(), "give --methods and --keep");
  for (const std::string& m : methods) {
    PipelineConfig c;
    c.method = m;
    c.validate();  // typos fail before the model loads
  }
  LoadedModel m = a.model.load();
  const Transformer& model = *m.model;
  require(a.tokens <= m.config.context, fmt::format("--tokens {} exceeds the model context {}", a.tokens, m.config.context));
  std::vector<int64_t> ids = synthetic_prompt(a.tokens, m.config.vocab);
  const auto tok = model_tokenizer(m);            // null for random weights (KVzip then says it needs one)
  const PromptFormat format{tok.get(), nullptr};  // the synthetic prompt is raw ids
  PipelineInputs inputs;
  inputs.format = &format;
  if (std::find(methods.begin(), methods.end(), "oracle") != methods.end()) {
    CaptureOptions o;  // the oracle emulation's ranking comes from a full run; not part of its TTFT
    o.max_new_tokens = 8;
    inputs.oracle = capture_prompt(model, ids, o).oracle;
  }

  const std::string attention = model.prefill_attention_name();
  fmt::print("TTFT, {} tokens, {} {} on {}, attention: {}; {} warm-ups, {} runs, mean without min/max\n", a.tokens,
             m.source.kind == "random" ? "random-weight " + m.source.path : m.source.path, a.model.dtype,
             a.model.device, attention, a.warmups, a.runs);
  fmt::print("{:<12} {:>5} {:>12} {:>12} {:>9} {:>12} {:>12}\n", "method", "keep", "TTFT ms", "median ms", "speed-up",
             "cache MiB", "peak MiB");
  nlohmann::json rows = nlohmann::json::array();
  double full_ms = 0;
  for (const std::string& method : methods) {
    for (double keep : method == "full" ? std::vector<double>{1.0} : keeps) {
      PipelineConfig c;
      c.method = method;
      c.keep = keep;
      Timing t = time_pipeline(model, ids, c, inputs, a.warmups, a.runs);
      double ms = t.trimmed_mean * 1000;
      if (method == "full") full_ms = ms;
      double speedup = full_ms > 0 ? full_ms / ms : 0;
      fmt::print("{:<12} {:>5.2f} {:>12.1f} {:>12.1f} {:>8.2f}x {:>12.1f} {:>12.0f}\n", method, keep, ms,
                 t.median * 1000, speedup, t.cache_bytes / 1048576.0, t.peak_bytes / 1048576.0);
      rows.push_back({{"method", method}, {"keep", keep}, {"ttft_ms", ms}, {"median_ms", t.median * 1000},
                      {"speedup_vs_full", speedup}, {"cache_bytes", t.cache_bytes}, {"peak_bytes", t.peak_bytes},
                      {"pipeline", to_json(c.resolved(model.n_layers()))}});
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
  cmd->add_option("--methods", a->methods, "full,fastkv,claa,oracle,gemfilter,specprefill")->capture_default_str();
  cmd->add_option("--keep", a->keep, "keep rates")->capture_default_str();
  cmd->add_option("--warmups", a->warmups, "untimed runs")->capture_default_str();
  cmd->add_option("--runs", a->runs, "timed runs")->capture_default_str();
  cmd->add_option("--json", a->json_path, "also write the table as JSON");
  cmd->callback([a] { run_ttft(*a); });
}

}  // namespace claa
