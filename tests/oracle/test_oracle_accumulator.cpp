// The oracle's accumulation (method.md §1) on a hand-computed case: 2 layers, 2 heads, 3 prompt
// keys, 2 steps, no pooling. Step by step and in batched blocks of steps (the capture's answer
// pass) in any order must give the same O and per-layer oracle.
#include "core/error.h"
#include "oracle/oracle.h"
#include "tests/catch.h"

namespace {

// a[step][layer] = [H = 2, N = 3]
at::Tensor rows(std::vector<float> v) { return at::tensor(v).view({2, 3}); }
const std::vector<std::vector<at::Tensor>>& attention() {
  static const std::vector<std::vector<at::Tensor>> a = {
      {rows({.5f, .3f, .2f, .1f, .1f, .8f}), rows({.2f, .2f, .6f, .6f, .2f, .2f})},
      {rows({.3f, .3f, .4f, .7f, .2f, .1f}), rows({.1f, .8f, .1f, .2f, .2f, .6f})}};
  return a;
}

claa::OracleOptions unpooled(const std::string& layers) {
  claa::OracleOptions o;
  o.pool_kernel = 0;
  o.layer_aggregation = layers;
  return o;
}

void check(const at::Tensor& got, std::vector<float> want) {
  INFO(got);
  CHECK(at::allclose(got, at::tensor(want), 1e-6, 1e-7));
}

}  // namespace

TEST_CASE("oracle accumulator: max over heads and layers, mean over steps (hand-computed)", "[oracle]") {
  // Head max per (step, layer): s0 l0 [.5 .3 .8], s0 l1 [.6 .2 .6], s1 l0 [.7 .3 .4], s1 l1 [.2 .8 .6].
  // Peak per step (max over layers): s0 [.6 .3 .8], s1 [.7 .8 .6] → O = [.65 .55 .7].
  // Per layer, mean over steps: l0 [.6 .3 .6], l1 [.4 .5 .6].
  SECTION("one step at a time") {
    claa::OracleAccumulator acc(2, 3, unpooled("max"));
    for (int step = 0; step < 2; ++step) {
      for (int layer = 0; layer < 2; ++layer) acc.add(layer, attention()[step][layer]);
      acc.end_step();
    }
    CHECK(acc.steps() == 2);
    check(acc.oracle(), {.65f, .55f, .7f});
    check(acc.per_layer()[0], {.6f, .3f, .6f});
    check(acc.per_layer()[1], {.4f, .5f, .6f});
  }
  SECTION("blocks of steps, layers and steps in any order") {
    claa::OracleAccumulator acc(2, 3, unpooled("max"));
    acc.add_steps(1, 0, at::stack({attention()[0][1], attention()[1][1]}));  // [S = 2, H, N]
    acc.add_steps(0, 1, attention()[1][0].unsqueeze(0));
    acc.add_steps(0, 0, attention()[0][0].unsqueeze(0));
    CHECK(acc.steps() == 2);
    check(acc.oracle(), {.65f, .55f, .7f});
    check(acc.per_layer()[1], {.4f, .5f, .6f});
  }
}

TEST_CASE("oracle accumulator: mean over layers, and incomplete steps are refused", "[oracle]") {
  // Mean over layers per step: s0 [.55 .25 .7], s1 [.45 .55 .5] → O = [.5 .4 .6].
  claa::OracleAccumulator acc(2, 3, unpooled("mean"));
  acc.add_steps(0, 0, at::stack({attention()[0][0], attention()[1][0]}));
  CHECK_THROWS_AS(acc.oracle(), claa::Error);  // layer 1 is missing from both steps
  acc.add_steps(1, 0, at::stack({attention()[0][1], attention()[1][1]}));
  check(acc.oracle(), {.5f, .4f, .6f});

  claa::OracleAccumulator empty(2, 3, unpooled("max"));
  CHECK_THROWS_AS(empty.oracle(), claa::Error);
  CHECK_THROWS_AS(empty.end_step(), claa::Error);
  CHECK_THROWS_AS(empty.add_steps(0, 0, at::zeros({1, 2, 4})), claa::Error);  // 4 keys, not 3
}
