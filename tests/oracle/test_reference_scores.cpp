// Our oracle and every attention-derived heuristic's per-layer scores (FastKV, GemFilter, CLAA, H2O,
// TOVA, KNorm, self-draft SpecPrefill) against the same quantities recomputed by
// tools/hf_reference.py from HF transformers' post-RoPE queries and keys (eager fp32), on two
// ~1.2K-token needle prompts. Values, not only ranks: after dividing both vectors by the reference's
// largest magnitude the max difference is ≤ 1e-4 (fp32 reassociation gives ~1e-6), so a monotone
// distortion of a score cannot pass; plus Spearman ≥ 0.999 and the same top-10% set up to ties.
// Also the property test: the needle's tokens rank in the oracle's top 10%.
#include <cmath>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "capture/capture.h"
#include "evaluation/metrics.h"
#include "evaluation/ranking_eval.h"
#include "heuristics/heuristic.h"
#include "oracle/oracle.h"
#include "tests/catch.h"
#include "tests/model_fixture.h"
#include "tokenizer/tokenizer.h"

namespace {

class ReferenceScores {
 public:
  ReferenceScores() {
    std::ifstream index(source_path("tests/fixtures/model/scores_reference.json"));
    REQUIRE(index.good());
    index_ = nlohmann::json::parse(index)["tensors"];
    std::ifstream data(source_path("tests/fixtures/model/scores_reference.f32"), std::ios::binary);
    data.seekg(0, std::ios::end);
    values_.resize(static_cast<size_t>(data.tellg()) / 4);
    data.seekg(0);
    data.read(reinterpret_cast<char*>(values_.data()), static_cast<std::streamsize>(values_.size() * 4));
  }
  std::vector<float> get(const std::string& key) const {
    REQUIRE(index_.contains(key));
    size_t offset = index_[key]["offset"].get<size_t>(), n = 1;
    for (const auto& d : index_[key]["shape"]) n *= d.get<size_t>();
    return std::vector<float>(values_.begin() + offset, values_.begin() + offset + n);
  }

 private:
  nlohmann::json index_;
  std::vector<float> values_;
};

// The top-k sets agree except for members whose reference score ties the k-th largest.
bool same_top_set_up_to_ties(const std::vector<float>& ours, const std::vector<float>& ref, double keep) {
  int64_t k = claa::metric_k(keep, static_cast<int64_t>(ref.size()));
  auto a = claa::top_k_indices(ours, k), b = claa::top_k_indices(ref, k);
  std::set<int64_t> sa(a.begin(), a.end()), sb(b.begin(), b.end());
  float kth = ref[b.back()];
  for (int64_t j : sa) {
    if (sb.count(j)) continue;
    if (std::abs(ref[j] - kth) > 1e-5 * std::max(1.0f, std::abs(kth))) return false;
  }
  return true;
}

// max |ours − ref| / max |ref|: the same normalisation for both vectors, so a rescaled or otherwise
// distorted score fails even when its ranking is right.
double normalised_max_error(const std::vector<float>& ours, const std::vector<float>& ref) {
  double scale = 0, worst = 0;
  for (float r : ref) scale = std::max(scale, static_cast<double>(std::abs(r)));
  for (size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, std::abs(static_cast<double>(ours[i]) - ref[i]));
  return scale > 0 ? worst / scale : worst;
}

void check_vectors(const std::vector<float>& ours, const std::vector<float>& ref, const std::string& what) {
  INFO(what);
  REQUIRE(ours.size() == ref.size());
  const double error = normalised_max_error(ours, ref);
  INFO("max |Δ| / max |ref| = " << error);
  CHECK(error <= 1e-4);
  double rho = claa::spearman(ours, ref);
  INFO("Spearman " << rho);
  CHECK(rho >= 0.999);
  CHECK(same_top_set_up_to_ties(ours, ref, 0.1));
}

}  // namespace

TEST_CASE("Oracle, FastKV, GemFilter and CLAA scores match the HF reference in value", "[oracle][reference]") {
  nlohmann::json model_ref;
  std::ifstream(source_path("tests/fixtures/model/model_reference.json")) >> model_ref;
  ReferenceScores ref;
  const claa::LoadedModel& m = default_model();
  auto fastkv = claa::make_heuristic("fastkv"), gemfilter = claa::make_heuristic("gemfilter"),
       claa_h = claa::make_heuristic("claa");
  for (const std::string name : {"needle_a", "needle_b"}) {
    const nlohmann::json& entry = model_ref["prompts"][name];
    claa::CaptureOptions options;
    options.max_new_tokens = 32;
    options.eos_ids = {2};
    claa::OracleCapture c =
        claa::capture_with_oracle(*m.model, entry["input_ids"].get<std::vector<int64_t>>(), options, {});
    CHECK(c.answer_tokens == entry["answer_tokens"].get<std::vector<int64_t>>());
    CHECK(c.oracle_steps == entry["oracle_queries"].get<int64_t>());
    check_vectors(claa::to_float_vector(c.oracle), ref.get(name + "/oracle"), name + " oracle");
    auto f = fastkv->score({c}), g = gemfilter->score({c}), cl = claa_h->score({c});
    for (int l = 0; l < m.model->n_layers(); ++l) {
      std::string layer = "/" + std::to_string(l);
      check_vectors(claa::to_float_vector(f.combined[l]), ref.get(name + "/fastkv" + layer), name + " fastkv" + layer);
      check_vectors(claa::to_float_vector(f.per_head[l]), ref.get(name + "/fastkv_heads" + layer),
                    name + " fastkv per KV head" + layer);
      check_vectors(claa::to_float_vector(g.combined[l]), ref.get(name + "/gemfilter" + layer), name + " gemfilter" + layer);
      check_vectors(claa::to_float_vector(cl.combined[l]), ref.get(name + "/claa" + layer), name + " claa" + layer);
    }
  }
}

TEST_CASE("H2O, TOVA, KNorm and SpecPrefill scores match the HF reference in value", "[oracle][reference]") {
  nlohmann::json model_ref;
  std::ifstream(source_path("tests/fixtures/model/model_reference.json")) >> model_ref;
  ReferenceScores ref;
  const claa::LoadedModel& m = default_model();
  std::vector<std::unique_ptr<claa::Heuristic>> heuristics;
  for (const char* name : {"h2o", "tova", "knorm", "specprefill"}) heuristics.push_back(claa::make_heuristic(name));
  for (const std::string name : {"needle_a", "needle_b"}) {
    const nlohmann::json& entry = model_ref["prompts"][name];
    claa::CaptureOptions options;
    options.max_new_tokens = 32;
    options.eos_ids = {2};
    for (const auto& h : heuristics) options.extra |= h->needs();  // observed attention, look-ahead
    claa::CaptureResult c = claa::capture_prompt(*m.model, entry["input_ids"].get<std::vector<int64_t>>(), options);
    for (const auto& h : heuristics) {
      claa::HeuristicScores s = h->score({c});
      if (h->name() == "specprefill") {
        check_vectors(claa::to_float_vector(s.combined[0]), ref.get(name + "/specprefill"), name + " specprefill");
        continue;
      }
      for (int l = 0; l < m.model->n_layers(); ++l) {
        const std::string key = name + "/" + h->name(), layer = "/" + std::to_string(l);
        check_vectors(claa::to_float_vector(s.combined[l]), ref.get(key + layer), key + layer);
        check_vectors(claa::to_float_vector(s.per_head[l]), ref.get(key + "_heads" + layer), key + " per KV head" + layer);
      }
    }
  }
}

TEST_CASE("The needle SmolLM2 retrieves ranks in the oracle's top 10%", "[oracle][property]") {
  nlohmann::json model_ref;
  std::ifstream(source_path("tests/fixtures/model/model_reference.json")) >> model_ref;
  const nlohmann::json& entry = model_ref["prompts"]["needle_b"];
  const claa::LoadedModel& m = default_model();
  claa::Tokenizer tok = claa::Tokenizer::from_gguf(*m.gguf);
  std::string text = entry["text"].get<std::string>();
  claa::Encoding enc = tok.encode_with_offsets(text);
  REQUIRE(std::vector<int64_t>(enc.ids.begin(), enc.ids.end()) == entry["input_ids"].get<std::vector<int64_t>>());

  claa::CaptureOptions options;
  options.max_new_tokens = 32;
  options.eos_ids = {2};
  claa::OracleCapture c =
      claa::capture_with_oracle(*m.model, entry["input_ids"].get<std::vector<int64_t>>(), options, {});
  std::string answer = tok.decode(std::vector<int32_t>(c.answer_tokens.begin(), c.answer_tokens.end()));
  REQUIRE(answer.find("9023641") != std::string::npos);  // the model answers correctly

  // The needle's value inside the context (the question does not contain it).
  size_t at = text.find("9023641");
  auto [first, last] = claa::token_span(enc, at, at + 7);
  std::vector<float> oracle = claa::to_float_vector(c.oracle);
  auto top = claa::top_k_indices(oracle, claa::metric_k(0.1, static_cast<int64_t>(oracle.size())));
  std::set<int64_t> top_set(top.begin(), top.end());
  for (size_t j = first; j < last; ++j) {
    INFO("needle token " << j << " '" << tok.piece(enc.ids[j]) << "'");
    CHECK(top_set.count(static_cast<int64_t>(j)) == 1);
  }
}
