// Random baseline: uniform scores from a generator seeded by (seed, sample), so reruns agree.
#include "heuristics/heuristic.h"

namespace claa {

namespace {

class RandomScores : public Heuristic {
 public:
  explicit RandomScores(const nlohmann::json& p) : seed_(p["seed"].get<uint64_t>()) {}
  std::string name() const override { return "random"; }
  CaptureNeeds needs() const override { return {}; }
  bool layer_independent() const override { return true; }
  LayerScores score_layer(const HeuristicInput& in, int) const override {
    // splitmix64: portable and identical everywhere (unlike std distributions).
    uint64_t state = seed_ * 0x9E3779B97F4A7C15ull ^ in.sample_seed;
    auto next = [&state] {
      uint64_t z = (state += 0x9E3779B97F4A7C15ull);
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      return z ^ (z >> 31);
    };
    at::Tensor score = at::empty({in.capture.n_prompt}, at::kFloat);
    float* p = score.data_ptr<float>();
    for (int64_t j = 0; j < in.capture.n_prompt; ++j) p[j] = static_cast<float>(next() >> 40) / 16777216.0f;
    return {score.unsqueeze(0), score, {}};
  }

 private:
  uint64_t seed_;
};

}  // namespace

HeuristicInfo random_heuristic() {
  return {"random", "Random scores (seeded per sample)", {{"seed", 0}},
          [](const nlohmann::json& p) { return std::make_unique<RandomScores>(p); }};
}

}  // namespace claa
