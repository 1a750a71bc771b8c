// claa's reimplementations of kvpress's presses against kvpress 0.5.5 itself
// (tools/kvpress_reference.py: each press's own `score`, called by its own hooks during an HF
// transformers prefill, eager fp32, of the same weights) on SmolLM2 (the needle_a prompt) and on the
// tiny random Llama-3.1 / Qwen2 / Mistral / Qwen3 / Phi-3 models (their reference prompt; Mistral and Qwen3 also
// from GGUF files of the same weights).
//
// Conventions applied before comparing (method.md §6): kvpress's window scores are the mean over
// the window's queries where claa's are the sum (so claa / w), and each side pads what it always
// keeps (SnapKV's window, Expected Attention's sinks, TOVA's last token) with its own max + 1, so
// only the real scores are compared, and the error is normalised by their largest |value|:
// per layer and KV head, max |claa − kvpress| / max |kvpress| ≤ 1e-4 and Spearman ρ ≥ 0.9999.
// StreamingLLM's kvpress score is a keep mask at one ratio: claa's top-k must be exactly that set.
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "capture/capture.h"
#include "evaluation/metrics.h"
#include "evaluation/ranking_eval.h"
#include "heuristics/heuristic.h"
#include "tests/catch.h"
#include "tests/model_fixture.h"
#include "tests/tensor_fixture.h"

namespace {

struct KvpressFixture : TensorFixture {
  explicit KvpressFixture(const std::string& stem) : TensorFixture(stem) {}
  // Row `head` of the press's [H_kv, N] scores at `layer`.
  std::vector<float> row(const std::string& press, int layer, int64_t head) const {
    const std::string key = press + "/" + std::to_string(layer);
    const size_t n = index["tensors"][key]["shape"][1].get<size_t>();
    return get(key, static_cast<size_t>(head) * n, n);
  }
};

struct Case {
  const char* press;  // kvpress_reference key
  const char* spec;   // claa heuristic spec
  int window;         // kvpress window (scores are means over it; its last `window` keys are padding)
  int sinks;          // leading padded entries (Expected Attention's n_sink)
};

std::vector<float> slice(const std::vector<float>& v, size_t begin, size_t end) {
  return std::vector<float>(v.begin() + begin, v.begin() + end);
}

// Spearman ρ of the two score vectors with values closer than 1e-6 of the largest treated as ties:
// layer 0's keys of a repeated token have the same norm up to float rounding after RoPE (a rotation),
// and the two sides round differently, which would rank such exact ties in an arbitrary order.
double spearman_up_to_rounding(std::vector<float> a, std::vector<float> b, double scale) {
  const double step = 1e-6 * scale;
  for (float& v : a) v = static_cast<float>(std::round(v / step));
  for (float& v : b) v = static_cast<float>(std::round(v / step));
  return claa::spearman(a, b);
}

// max |ours − want| / max |want|, and ρ up to rounding.
struct Agreement {
  double error, rho;
};
Agreement agreement(const std::vector<float>& ours, const std::vector<float>& want) {
  double scale = 0, error = 0;
  for (size_t j = 0; j < want.size(); ++j) {
    scale = std::max(scale, static_cast<double>(std::abs(want[j])));
    error = std::max(error, std::abs(static_cast<double>(ours[j]) - want[j]));
  }
  return {error / scale, spearman_up_to_rounding(ours, want, scale)};
}

// Every press of the fixture against claa on `m`, at the fixture's prompt; returns the worst
// normalised error and the worst per-head ρ.
std::pair<double, double> check_parity(const claa::LoadedModel& m, const KvpressFixture& ref) {
  const std::vector<Case> cases = {
      {"snapkv", "snapkv@kvpress", 64, 0},
      {"snapkv_w32k7", "snapkv{window=32,kernel=7,pooling=avgpool}", 32, 0},
      {"pyramidkv", "pyramidkv@kvpress", 64, 0},
      {"adakv", "adakv@kvpress", 64, 0},
      {"expected_attention", "expected_attention@kvpress", 0, 4},
      {"knorm", "knorm@kvpress", 0, 0},
  };
  std::vector<std::unique_ptr<claa::Heuristic>> heuristics;
  for (const Case& c : cases) heuristics.push_back(claa::make_heuristic(claa::parse_heuristic_spec(c.spec)));
  auto tova = claa::make_heuristic("tova");
  auto streaming = claa::make_heuristic(claa::parse_heuristic_spec("streamingllm@kvpress"));
  claa::CaptureOptions options;
  options.max_new_tokens = 1;
  options.eos_ids = {2};
  for (const auto& h : heuristics) options.extra |= h->needs();
  options.extra |= tova->needs();
  const std::vector<int64_t> ids = ref.index["input_ids"].get<std::vector<int64_t>>();
  const size_t n = ids.size();
  claa::CaptureResult capture = claa::capture_prompt(*m.model, ids, options);
  const int64_t Hkv = m.model->config().n_kv_heads;

  double worst_error = 0, worst_rho = 1;
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    claa::HeuristicScores s = heuristics[i]->score({capture});
    for (int l = 0; l < m.model->n_layers(); ++l) {
      const at::Tensor rows = s.per_head[l].to(at::kFloat).contiguous();
      REQUIRE(rows.size(0) == Hkv);
      for (int64_t g = 0; g < Hkv; ++g) {
        INFO(c.spec << " layer " << l << " KV head " << g);
        const size_t begin = static_cast<size_t>(c.sinks), end = n - static_cast<size_t>(c.window);
        std::vector<float> want = slice(ref.row(c.press, l, g), begin, end);
        std::vector<float> ours = slice(claa::to_float_vector(rows[g]), begin, end);
        if (c.window > 0)
          for (float& v : ours) v /= static_cast<float>(c.window);  // claa sums the window, kvpress averages
        const Agreement a = agreement(ours, want);
        worst_error = std::max(worst_error, a.error);
        worst_rho = std::min(worst_rho, a.rho);
        CHECK(a.error <= 1e-4);
        CHECK(a.rho >= 0.9999);
      }
    }
  }
  // TOVA: kvpress repeats the head mean of the last query's attention for every KV head (claa's
  // combined ranking); the last key is padding on its side.
  claa::HeuristicScores t = tova->score({capture});
  for (int l = 0; l < m.model->n_layers(); ++l) {
    INFO("tova layer " << l);
    std::vector<float> want = slice(ref.row("tova", l, 0), 0, n - 1);
    std::vector<float> ours = slice(claa::to_float_vector(t.combined[l]), 0, n - 1);
    const Agreement a = agreement(ours, want);
    worst_error = std::max(worst_error, a.error);
    CHECK(a.error <= 1e-4);
    CHECK(a.rho >= 0.9999);
  }
  // StreamingLLM: kvpress's mask at compression ratio r keeps exactly claa's top (N − pruned).
  const std::vector<float> mask = ref.row("streamingllm", 0, 0);
  size_t kept = 0;
  for (float v : mask) kept += v > 0.5f;
  const std::vector<float> ranking = claa::to_float_vector(streaming->score({capture}).combined[0]);
  std::vector<size_t> order(n);
  for (size_t j = 0; j < n; ++j) order[j] = j;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ranking[a] > ranking[b]; });
  for (size_t j = 0; j < n; ++j) CHECK((mask[order[j]] > 0.5f) == (j < kept));
  return {worst_error, worst_rho};
}

}  // namespace

TEST_CASE(
    "kvpress parity: claa's SnapKV, PyramidKV, Ada-KV, Expected Attention, KNorm, TOVA and StreamingLLM scores equal "
    "kvpress's own",
    "[oracle][reference][kvpress]") {
  const auto [error, rho] = check_parity(default_model(), KvpressFixture("tests/fixtures/model/kvpress_reference"));
  WARN("kvpress parity (SmolLM2): worst normalised |Δ| = " << error << ", worst per-head Spearman ρ = " << rho);
}

TEST_CASE("kvpress parity on the tiny Llama-3.1, Qwen2, Mistral, Qwen3 and Phi-3 models, HF folders and GGUF files",
          "[oracle][reference][kvpress][hf]") {
  // model path under tests/fixtures/model/tiny/ → the kvpress fixture of the HF folder it was made from
  // (the GGUF files hold the same fp32 weights: tools/tiny_to_gguf.py).
  const std::vector<std::pair<std::string, std::string>> models = {
      {"llama3", "llama3"}, {"qwen2", "qwen2"},      {"mistral", "mistral"}, {"mistral.gguf", "mistral"},
      {"qwen3", "qwen3"},   {"qwen3.gguf", "qwen3"}, {"phi3", "phi3"},       {"phi3.gguf", "phi3"}};
  for (const auto& [path, kind] : models) {
    INFO(path);
    claa::RuntimeOptions o;  // CPU fp32, as the fixture (HF fp32 from the stored weights)
    const claa::LoadedModel m = claa::load_model(source_path("tests/fixtures/model/tiny/") + path, o);
    const auto [error, rho] =
        check_parity(m, KvpressFixture(std::string("tests/fixtures/model/tiny/kvpress_reference_") + kind));
    WARN("kvpress parity (tiny " << path << "): worst normalised |Δ| = " << error << ", worst ρ = " << rho);
  }
}
