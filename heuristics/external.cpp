// External heuristics: a scorer written outside claa, run in a worker process (heuristics/
// external_worker.h) and held to the oracle like any other heuristic (docs/reference.md "External
// heuristics", method.md §6):
//
//   python:MODULE:FUNCTION[{timeout_s=..,python=..}]   a Python function (python/claa_worker: @heuristic)
//   kvpress:PRESS(key=value,...)[{...}]                a kvpress press's score() (python/claa_worker/kvpress_worker.py)
//   exec:COMMAND                                       any program that speaks the protocol
//
// The worker's hello says what it reads (`needs`); a capture statistic keeps exactly that per prompt
// layer (CPU fp32), and score_layer hands layer l's tensors to the worker in one file and reads back
// its per-KV-head scores [H_kv or 1, N], checked for shape and finiteness. So the same heuristic runs
// in rank mode (every layer of a full capture), in `claa rank` and in every pipeline (layer by layer
// while the prefill runs). One worker per heuristic per run: it starts at the heuristic's first use
// and serves every sample.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <set>

#include "core/error.h"
#include "heuristics/external_tensors.h"
#include "heuristics/external_worker.h"
#include "heuristics/heuristic.h"

namespace claa {

namespace {

// What a worker may ask for, per layer (the names of the tensors in its file).
const std::vector<std::string>& known_inputs() {
  static const std::vector<std::string> names = {"hidden_in", "queries",     "keys",   "values",
                                                 "positions", "window_rows", "weights"};
  return names;
}

// Keeps the requested inputs of every prompt layer under `key/NAME` of LayerCapture::statistics.
class ExternalInputs : public CaptureStatistic {
 public:
  ExternalInputs(const StatisticContext& c, std::string key, std::vector<std::string> needs, int window)
      : out_(c.out), key_(std::move(key)), needs_(std::move(needs)), window_(window), n_(c.n_prompt) {
    static std::atomic<int64_t> samples{0};
    out_.statistics[key_ + "/sample"] = at::full({1}, static_cast<int64_t>(samples++), at::kLong);
  }
  void on_attention_inputs(int layer, const at::Tensor& q, const at::Tensor& keys,
                           const at::Tensor& positions) override {
    if (wants("queries")) keep(layer, "queries", q);
    if (wants("keys")) keep(layer, "keys", keys);
    if (wants("positions")) keep(layer, "positions", positions);
    if (wants("window_rows"))
      keep(layer, "window_rows", window_attention_rows(q, keys, static_cast<int>(std::min<int64_t>(window_, n_ - 1))));
  }
  void on_attention_values(int layer, const at::Tensor& values) override {
    if (wants("values")) keep(layer, "values", values);
  }
  void on_layer_output(int layer, const at::Tensor& hidden) override {
    // The hidden state entering layer l + 1 (layer 0's is the embedding: score_layer makes it).
    if (wants("hidden_in") && layer + 1 < static_cast<int>(out_.layers.size())) keep(layer + 1, "hidden_in", hidden);
  }

 private:
  bool wants(const std::string& name) const { return std::find(needs_.begin(), needs_.end(), name) != needs_.end(); }
  void keep(int layer, const std::string& name, const at::Tensor& t) {
    const bool integral = !at::isFloatingType(t.scalar_type());
    out_.layers.at(layer).statistics[key_ + "/" + name] =
        t.detach().to(at::kCPU, integral ? at::kLong : at::kFloat).contiguous();
  }
  CaptureResult& out_;
  std::string key_;
  std::vector<std::string> needs_;
  int window_;
  int64_t n_;
};

class External : public Heuristic {
 public:
  External(std::string kind, const nlohmann::json& p) : kind_(std::move(kind)) {
    const std::string target = p["target"].get<std::string>();
    label_ = kind_ + ":" + target;
    require(!target.empty(), "heuristic '" + kind_ + "': say what to run (" + kind_ +
                                 (kind_ == "exec"     ? ":COMMAND"
                                  : kind_ == "python" ? ":MODULE:FUNCTION"
                                                      : ":PRESS(key=value,...)") +
                                 ")");
    const double timeout = p["timeout_s"].get<double>();
    require(timeout > 0, "heuristic '" + label_ + "': timeout_s must be positive");
    WorkerCommand command;
    if (kind_ == "exec") {
      command.argv = {"/bin/sh", "-c", target};
    } else {
      require(kind_ != "python" || target.find(':') != std::string::npos,
              "heuristic '" + label_ + "': expected python:MODULE:FUNCTION");
      std::string python = p["python"].get<std::string>();
      if (python.empty()) {
        const char* env = std::getenv("CLAA_PYTHON");
        python = env && *env ? env : "python3";
      }
      command.argv = {python, "-m", kind_ == "python" ? "claa_worker" : "claa_worker.kvpress_worker", target};
      // The package lives in the repository (python/); a PYTHONPATH of the user's comes after it.
      const char* path = std::getenv("PYTHONPATH");
      command.env.push_back(
          {"PYTHONPATH", std::string(CLAA_SOURCE_DIR) + "/python" + (path && *path ? std::string(":") + path : "")});
    }
    worker_ = std::make_shared<ExternalWorker>(label_, std::move(command), timeout);
  }

  // The overhead per sample, the figure docs/benchmarks.md quotes: one line on stderr when the run ends.
  ~External() override {
    if (samples_.empty()) return;
    fmt::print(stderr,
               "[external] {}: {} samples, {:.2f} s per sample scoring ({} layer requests), worker start-up {:.2f} s\n",
               label_, samples_.size(), seconds_ / samples_.size(), requests_, worker_->start_seconds());
  }

  std::string name() const override { return label_; }

  CaptureNeeds needs() const override {
    read_hello();
    CaptureNeeds n;
    StatisticRequest r;
    r.key = key_;
    r.make = [key = key_, needs = needs_, window = window_](const StatisticContext& c) {
      return std::make_unique<ExternalInputs>(c, key, needs, window);
    };
    n.statistics.push_back(std::move(r));
    return n;
  }

  LayerScores score_layer(const HeuristicInput& in, int layer) const override {
    read_hello();
    const auto t0 = std::chrono::steady_clock::now();
    const CaptureResult& c = in.capture;
    const std::string where = "layer " + std::to_string(layer);
    const int64_t n = c.n_prompt;
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    const LayerCapture& lc = c.layers.at(layer);
    for (const std::string& name : needs_) {
      if (name == "weights") {
        add_weights(in, layer, tensors);
        continue;
      }
      if (name == "hidden_in" && layer == 0) {
        require(in.model && in.prompt_ids,
                "heuristic '" + label_ + "': layer 0's hidden_in needs the model and the prompt");
        std::vector<int64_t> ids(in.prompt_ids->begin(), in.prompt_ids->begin() + n);
        tensors.push_back({name, in.model->embed(at::tensor(ids, at::kLong).to(in.model->options().device))});
        continue;
      }
      const auto it = lc.statistics.find(key_ + "/" + name);
      require(it != lc.statistics.end(),
              "heuristic '" + label_ + "' at " + where + ": the capture has no '" + name + "'");
      tensors.push_back({name, it->second});
    }
    // A new file per request, the previous one unlinked (never rewritten): a worker still mapping an
    // old one keeps valid pages, where truncating a mapped file would give it SIGBUS.
    const std::string stem = worker_->folder() + "/" + std::to_string(files_++);
    const std::string input = stem + "-input.safetensors", output = stem + "-scores.safetensors";
    for (const std::string& old : previous_files_) std::remove(old.c_str());
    previous_files_ = {input, output};
    write_tensor_file(input, tensors);
    const int64_t sample = c.statistic(key_ + "/sample").item<int64_t>();
    const int64_t h_kv = c.n_kv_heads;
    nlohmann::json request = {{"op", "score"},
                              {"layer", layer},
                              {"n_layers", static_cast<int64_t>(c.layers.size())},
                              {"sample", sample},
                              {"n_prompt", n},
                              {"window", c.window},
                              {"n_kv_heads", h_kv},
                              {"config", config_fields(in)},
                              {"input", input},
                              {"output", output}};
    worker_->request(request, where);
    const std::string what = "heuristic '" + label_ + "' at " + where;
    at::Tensor scores = read_f32_tensor(output, "scores", what);
    require(scores.dim() == 2 && (scores.size(0) == h_kv || scores.size(0) == 1) && scores.size(1) == n,
            what + ": the worker's scores have shape " + shape_text(scores) + ", expected [" + std::to_string(h_kv) +
                ", " + std::to_string(n) + "] or [1, " + std::to_string(n) + "] (KV heads or one row, prompt tokens)");
    const int64_t bad = scores.isfinite().logical_not().sum().item<int64_t>();
    require(bad == 0, what + ": " + std::to_string(bad) + " of the worker's " + std::to_string(scores.numel()) +
                          " scores are NaN or infinite");
    // Window scores: the last W positions are kept by every pipeline, so they are not ranked (N' = N − W).
    if (drop_window_) scores = scores.narrow(1, 0, n - c.window).contiguous();
    // In double, clamped to float32's range: presses that pin what they always keep to float32's maximum
    // (CriticalKVPress) would overflow a float32 sum over the rows to inf.
    const at::Tensor wide = scores.to(at::kDouble);
    const double top = std::numeric_limits<float>::max();
    at::Tensor combined = (combine_ == "sum"   ? wide.sum(0)
                           : combine_ == "max" ? std::get<0>(wide.max(0))
                                               : wide.mean(0))
                              .clamp(-top, top)
                              .to(at::kFloat);
    samples_.insert(sample);
    ++requests_;
    seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return {scores, combined, {}};
  }

  std::string note() const override { return note_; }

 private:
  // The layer's weights, HF layout (weight.wq [H·d, hidden], ...; undefined ones left out) and the
  // RoPE inverse frequencies the layer rotates with (rope_inv_freq [d/2]).
  void add_weights(const HeuristicInput& in, int layer, std::vector<std::pair<std::string, at::Tensor>>& out) const {
    require(in.model != nullptr, "heuristic '" + label_ + "': the layer's weights need the model");
    const LayerWeights& w = in.model->weights().layers.at(layer);
    const std::vector<std::pair<std::string, const at::Tensor*>> named = {{"attn_norm", &w.attn_norm},
                                                                          {"wq", &w.wq},
                                                                          {"wk", &w.wk},
                                                                          {"wv", &w.wv},
                                                                          {"wo", &w.wo},
                                                                          {"bq", &w.bq},
                                                                          {"bk", &w.bk},
                                                                          {"bv", &w.bv},
                                                                          {"q_norm", &w.q_norm},
                                                                          {"k_norm", &w.k_norm}};
    for (const auto& [name, t] : named)
      if (t->defined()) out.push_back({"weight." + name, *t});
    // The layer's own rotation: a Gemma 3 sliding layer's local base (rope_attention_factor stays the
    // model's: models with such layers scale linearly, a factor of 1); any other layer's is the prompt
    // prefill's (the capture's record: LongRoPE picked its factors by the whole prompt's length, which a
    // pruned stage's n_prompt, the rows it holds, is not).
    const bool local = layer_uses_local_rope(in.model->config(), layer);
    out.push_back({"rope_inv_freq", local || !in.capture.rope_inv_freq.defined()
                                        ? in.model->layer_rope_frequencies(layer, in.capture.n_prompt)
                                        : in.capture.rope_inv_freq});
  }

  // What a worker rebuilding the layer needs of the model's config (null without a model).
  static nlohmann::json config_fields(const HeuristicInput& in) {
    if (!in.model) return nullptr;
    const ModelConfig& c = in.model->config();
    return {{"n_layers", c.n_layers},
            {"hidden", c.hidden},
            {"n_heads", c.n_heads},
            {"n_kv_heads", c.n_kv_heads},
            {"head_dim", c.head_dim},
            {"rms_eps", c.rms_eps},
            {"rope_theta", c.rope_theta},
            {"attention_scale", c.attention_scale()},
            {"rope_attention_factor", c.rope_scaling.attention_factor}};
  }

  static std::string shape_text(const at::Tensor& t) {
    std::string s = "[";
    for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
    return s + "]";
  }

  // The worker's hello: {"protocol": "claa-external-1", "needs": [...], "window": w, "columns":
  // "all" | "drop_window", "combine": "mean" | "sum" | "max", "note": "..."}.
  void read_hello() const {
    if (hello_read_) return;
    const nlohmann::json& h = worker_->hello();
    const std::string where = "heuristic '" + label_ + "': the worker's hello";
    try {
      needs_ = h.value("needs", std::vector<std::string>{});
      window_ = h.value("window", 0);
      drop_window_ = h.value("columns", std::string("all")) == "drop_window";
      combine_ = h.value("combine", std::string("mean"));
      note_ = h.value("note", std::string());
    } catch (const nlohmann::json::exception& e) {
      throw Error(where + " is malformed (" + e.what() + ")");
    }
    for (const std::string& name : needs_) {
      std::string list;
      for (const std::string& k : known_inputs()) list += (list.empty() ? "" : ", ") + k;
      require(std::find(known_inputs().begin(), known_inputs().end(), name) != known_inputs().end(),
              where + " asks for '" + name + "', which claa does not provide (it provides " + list + ")");
    }
    require(combine_ == "mean" || combine_ == "sum" || combine_ == "max", where + ": combine must be mean, sum or max");
    require(window_ >= 0, where + ": window must be positive");
    require(window_ > 0 || std::find(needs_.begin(), needs_.end(), "window_rows") == needs_.end(),
            where + " asks for window_rows but gives no window");
    // The statistic's key names what it keeps: external heuristics reading the same inputs share one
    // copy of them per capture (ten kvpress presses keep the layer inputs once, not ten times).
    std::string names;
    for (const std::string& name : known_inputs())
      if (std::find(needs_.begin(), needs_.end(), name) != needs_.end()) names += (names.empty() ? "" : ",") + name;
    key_ = "external_inputs(" + names + (window_ > 0 ? ";window=" + std::to_string(window_) : "") + ")";
    hello_read_ = true;
  }

  std::string kind_, label_;
  mutable std::string key_;  // the inputs statistic's key (read_hello)
  std::shared_ptr<ExternalWorker> worker_;
  mutable bool hello_read_ = false, drop_window_ = false;
  mutable std::vector<std::string> needs_;
  mutable int window_ = 0;
  mutable std::string combine_, note_;
  mutable std::set<int64_t> samples_;  // the samples scored, requests made and seconds spent (stderr summary)
  mutable int64_t requests_ = 0;
  mutable std::vector<std::string> previous_files_;
  mutable int64_t files_ = 0;
  mutable double seconds_ = 0;
};

HeuristicInfo external_info(const std::string& kind, const std::string& description, nlohmann::json defaults) {
  HeuristicInfo info{kind, description, std::move(defaults),
                     [kind](const nlohmann::json& p) { return std::make_unique<External>(kind, p); }};
  info.external = true;
  return info;
}

}  // namespace

HeuristicInfo python_heuristic() {
  return external_info("python", "a Python function in a worker process (python:MODULE:FUNCTION; python/claa_worker)",
                       {{"target", ""}, {"timeout_s", 120.0}, {"python", ""}});
}

HeuristicInfo kvpress_heuristic() {
  return external_info(
      "kvpress", "a kvpress press's own score() in a worker (kvpress:PRESS(key=value,...); needs torch + kvpress)",
      {{"target", ""}, {"timeout_s", 600.0}, {"python", ""}});
}

HeuristicInfo exec_heuristic() {
  return external_info("exec", "any program speaking claa's external-heuristic protocol (exec:COMMAND)",
                       {{"target", ""}, {"timeout_s", 120.0}});
}

}  // namespace claa
