// Layer split over several devices (model.devices): the plan puts contiguous blocks of
// layers on each device, balanced by parameter bytes, and a model split over two CPU "devices"
// gives exactly the single-device logits, greedy answer, oracle and pruned prefills.
#include <fstream>
#include <nlohmann/json.hpp>

#include "capture/capture.h"
#include "harness/pipelines/prefill_pipeline.h"
#include "model/generate.h"
#include "oracle/oracle.h"
#include "tests/catch.h"
#include "tests/model_fixture.h"

namespace {

std::vector<int64_t> needle_prompt() {
  nlohmann::json ref;
  std::ifstream(source_path("tests/fixtures/model/model_reference.json")) >> ref;
  return ref["prompts"]["needle_a"]["input_ids"].get<std::vector<int64_t>>();
}

// SmolLM2 split over two CPU devices, loaded once per test process.
const claa::LoadedModel& split_model() {
  static std::unique_ptr<claa::LoadedModel> model;
  if (!model) {
    claa::RuntimeOptions options;
    options.devices = {at::kCPU, at::kCPU};
    model = std::make_unique<claa::LoadedModel>(claa::load_model(default_model_path(), options));
  }
  return *model;
}

double layer_parameters(const claa::ModelConfig& c) {
  const double D = static_cast<double>(c.hidden), q = static_cast<double>(c.n_heads * c.head_dim),
               kv = static_cast<double>(c.n_kv_heads * c.head_dim);
  return D * (2 * q + 2 * kv) + 3 * D * static_cast<double>(c.ffn) + 2 * D;
}

// Parameters per device under a plan (embedding on the first, head on the last).
std::vector<double> device_parameters(const claa::ModelConfig& c, const std::vector<int>& plan, int devices) {
  const double D = static_cast<double>(c.hidden), layer = layer_parameters(c);
  std::vector<double> out(static_cast<size_t>(devices), 0.0);
  out.front() += static_cast<double>(c.vocab) * D;
  out.back() += static_cast<double>(c.vocab) * D + D;
  for (int d : plan) out[static_cast<size_t>(d)] += layer;
  return out;
}

}  // namespace

TEST_CASE("split_layers gives contiguous blocks balanced by parameter bytes", "[model][split]") {
  const claa::ModelConfig big = claa::ModelConfig::from_hf_file(source_path("configs/models/llama-3.1-70b.json"));
  REQUIRE(big.n_layers == 80);
  CHECK(big.parameter_count() > 70'000'000'000);
  for (int devices : {1, 2, 3, 4, 8}) {
    INFO(devices << " devices");
    const std::vector<int> plan = claa::split_layers(big, devices);
    REQUIRE(plan.size() == 80);
    CHECK(plan.front() == 0);
    CHECK(plan.back() == devices - 1);
    for (size_t l = 1; l < plan.size(); ++l) CHECK((plan[l] == plan[l - 1] || plan[l] == plan[l - 1] + 1));
    // Every device's share is within one layer of the even share.
    const std::vector<double> shares = device_parameters(big, plan, devices);
    double total = 0;
    for (double s : shares) total += s;
    for (double s : shares) CHECK(std::abs(s - total / devices) <= layer_parameters(big));
  }
  // Two devices for the 70B shape: 40 + 40 layers (embedding and head weigh the same).
  const std::vector<int> two = claa::split_layers(big, 2);
  CHECK(std::count(two.begin(), two.end(), 0) == 40);
  // More devices than layers: still valid, the last device gets the head.
  claa::ModelConfig tiny = big;
  tiny.n_layers = 2;
  const std::vector<int> plan = claa::split_layers(tiny, 4);
  CHECK(plan.size() == 2);
  CHECK(plan[0] <= plan[1]);
  CHECK(plan[1] <= 3);
}

TEST_CASE("a model split over two CPU devices computes exactly the single-device logits", "[model][split]") {
  const claa::Transformer& one = *default_model().model;
  const claa::Transformer& two = *split_model().model;
  const std::vector<int> plan = claa::split_layers(two.config(), 2);
  CHECK(std::count(plan.begin(), plan.end(), 0) > 0);
  CHECK(std::count(plan.begin(), plan.end(), 1) > 0);
  for (int l = 0; l < two.n_layers(); ++l) CHECK(two.layer_device(l) == at::Device(at::kCPU));
  CHECK(two.devices().size() == 1);  // distinct devices

  std::vector<int64_t> ids = needle_prompt();
  ids.resize(std::min<size_t>(ids.size(), 256));  // short: the split, not the length, is under test
  claa::GenerationOptions g;
  g.max_new_tokens = 8;
  const claa::GenerationResult a = claa::generate(one, ids, g), b = claa::generate(two, ids, g);
  CHECK(at::equal(a.first_logits, b.first_logits));
  CHECK(a.tokens == b.tokens);

  claa::CaptureOptions co;
  co.max_new_tokens = 8;
  const claa::OracleCapture ca = claa::capture_with_oracle(one, ids, co, {}),
                            cb = claa::capture_with_oracle(two, ids, co, {});
  CHECK(at::equal(ca.oracle, cb.oracle));
  CHECK(at::equal(ca.layers[3].window_attn, cb.layers[3].window_attn));

  claa::PipelineInputs inputs;
  inputs.oracle = ca.oracle;
  for (const char* method : {"claa", "fastkv", "gemfilter", "specprefill"}) {
    INFO("method " << method);
    claa::PipelineConfig c;
    c.method = method;
    c.keep = 0.2;
    claa::PrefillOutcome pa = claa::run_prefill(one, ids, c, inputs), pb = claa::run_prefill(two, ids, c, inputs);
    CHECK(at::equal(pa.first_logits, pb.first_logits));
    CHECK(at::equal(pa.kept, pb.kept));
    CHECK(claa::decode_greedy(one, pa, g) == claa::decode_greedy(two, pb, g));
  }
}

TEST_CASE("random weights split over CPU devices equal the single-device ones", "[model][split]") {
  claa::RuntimeOptions single, split;
  split.devices = {at::kCPU, at::kCPU, at::kCPU};
  const std::string config = source_path("tests/fixtures/model/tiny/llama3/config.json");
  claa::LoadedModel a = claa::load_random_model(config, 7, single), b = claa::load_random_model(config, 7, split);
  const std::vector<int64_t> ids = {1, 5, 9, 90, 3, 17, 42, 8, 11, 60};
  claa::GenerationOptions g;
  g.max_new_tokens = 4;
  const claa::GenerationResult ra = claa::generate(*a.model, ids, g), rb = claa::generate(*b.model, ids, g);
  CHECK(at::equal(ra.first_logits, rb.first_logits));
  CHECK(ra.tokens == rb.tokens);
}
