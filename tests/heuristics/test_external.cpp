// External heuristics (heuristics/external.cpp): numpy workers (python/claa_worker/examples.py,
// written from kvpress's press files) against claa's C++ knorm and snapkv@kvpress on SmolLM2, every
// way a worker can fail, and the spec syntax. Needs python3 with numpy (scripts/setup.sh installs
// Debian's python3-numpy; CLAA_PYTHON picks another interpreter).
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>

#include "capture/capture.h"
#include "core/error.h"
#include "evaluation/metrics.h"
#include "harness/runner/run_config.h"
#include "heuristics/heuristic.h"
#include "tests/catch.h"
#include "tests/cli_run.h"
#include "tests/model_fixture.h"
#include "tests/temp_dir.h"

namespace {

using Catch::Contains;

std::vector<float> vec(const at::Tensor& t) {
  at::Tensor c = t.to(at::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

// The interpreter the workers run under: CLAA_PYTHON, else Debian's python3 (the one setup.sh gives
// numpy; a pyenv or venv python3 earlier on PATH may lack it).
std::string test_python() {
  const char* env = std::getenv("CLAA_PYTHON");
  return env && *env ? env : "/usr/bin/python3";
}

// tests/heuristics/external_workers.py importable by the workers.
void worker_path() { ::setenv("PYTHONPATH", source_path("tests/heuristics").c_str(), 1); }

std::unique_ptr<claa::Heuristic> python_heuristic(const std::string& target, double timeout_s = 60) {
  worker_path();
  return claa::make_heuristic("python", {{"target", target}, {"python", test_python()}, {"timeout_s", timeout_s}});
}

// A 300-token prompt of SmolLM2's ids (deterministic), its capture with `heuristics`' needs.
struct Captured {
  std::vector<int64_t> ids;
  claa::CaptureResult capture;
};

Captured capture_for(const std::vector<const claa::Heuristic*>& heuristics, int64_t n = 300) {
  Captured c;
  for (int64_t i = 0; i < n; ++i) c.ids.push_back(1 + (i * 7919) % 40000);
  claa::CaptureOptions options;
  options.max_new_tokens = 1;
  for (const claa::Heuristic* h : heuristics) options.extra |= h->needs();
  c.capture = claa::capture_prompt(*default_model().model, c.ids, options);
  return c;
}

claa::HeuristicInput input(const Captured& c) { return {c.capture, 0, &c.ids, default_model().model.get()}; }

// Runs score_layer on layers 0..; the error's text (one line), or "" when every layer scored.
std::string first_error(const claa::Heuristic& h, const Captured& c) {
  try {
    for (size_t l = 0; l < c.capture.layers.size(); ++l) h.score_layer(input(c), static_cast<int>(l));
  } catch (const claa::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("External heuristic specs name what they run", "[external]") {
  claa::HeuristicSpec p = claa::parse_heuristic_spec("python:my.module:score{timeout_s=5}");
  CHECK(p.name == "python");
  CHECK(p.params["target"] == "my.module:score");
  CHECK(p.params["timeout_s"] == 5);
  CHECK(p.text == "python:my.module:score{timeout_s=5}");
  claa::HeuristicSpec e = claa::parse_heuristic_spec("exec:./worker --flag {x}");
  CHECK(e.name == "exec");
  CHECK(e.params["target"] == "./worker --flag {x}");  // a command's braces are its own
  auto list =
      claa::parse_heuristic_specs("knorm,kvpress:SnapKVPress(window_size=64,kernel_size=5),snapkv{window=8,kernel=3}");
  REQUIRE(list.size() == 3);
  CHECK(list[1].name == "kvpress");
  CHECK(list[1].params["target"] == "SnapKVPress(window_size=64,kernel_size=5)");
  CHECK(list[2].params["kernel"] == 3);
  auto nested = claa::parse_heuristic_specs("kvpress:CriticalKVPress(press=SnapKVPress(window_size=32)),knorm");
  REQUIRE(nested.size() == 2);
  CHECK(nested[0].params["target"] == "CriticalKVPress(press=SnapKVPress(window_size=32))");
  CHECK_THROWS_WITH(claa::parse_heuristic_specs("kvpress:KnormPress(,knorm"), Contains("unbalanced parentheses"));
  CHECK_THROWS_WITH(claa::parse_heuristic_spec("python:"), Contains("nothing to run"));
  CHECK_THROWS_WITH(claa::make_heuristic(claa::parse_heuristic_spec("python:m:f{timeout=5}")),
                    Contains("unknown parameter 'timeout'") && Contains("timeout_s"));
  CHECK_THROWS_WITH(claa::make_heuristic("python", {{"target", "no_function"}}), Contains("python:MODULE:FUNCTION"));
  // Never part of "all": they need a target.
  for (const claa::HeuristicInfo& h : claa::heuristic_registry())
    CHECK(h.external == (h.name == "python" || h.name == "exec" || h.name == "kvpress"));
  const claa::RunConfig all = claa::parse_run_config(
      nlohmann::json::parse(R"({"datasets": [{"spec": "ruler:vt", "length": 1024}], "heuristics": "all"})"), "t");
  CHECK(all.heuristics.size() + 3 == claa::heuristic_registry().size());
  for (const claa::HeuristicSection& h : all.heuristics) CHECK(h.name != "python");
  // A config names one by its spec; validating the config starts no worker (the target does not exist).
  const claa::RunConfig named =
      claa::parse_run_config(nlohmann::json::parse(R"({"datasets": [{"spec": "ruler:vt", "length": 1024}],
                                "heuristics": ["python:no_such_module:f{timeout_s=5}"]})"),
                             "t");
  REQUIRE(named.heuristics.size() == 1);
  CHECK(named.heuristics[0].label == "python:no_such_module:f{timeout_s=5}");
  CHECK(named.heuristics[0].params["target"] == "no_such_module:f");
}

TEST_CASE("A numpy KNorm worker scores exactly what the C++ knorm scores", "[external]") {
  auto py = python_heuristic("claa_worker.examples:knorm");
  auto other = python_heuristic("external_workers:prints");  // reads the keys too
  auto native = claa::make_heuristic("knorm");
  const Captured c = capture_for({py.get(), other.get(), native.get()});
  // External heuristics reading the same inputs share one copy of them.
  int kept = 0;
  for (const auto& [key, value] : c.capture.layers[0].statistics) kept += key.rfind("external_inputs(", 0) == 0;
  CHECK(kept == 1);
  const claa::HeuristicScores a = py->score(input(c)), b = native->score(input(c));
  REQUIRE(a.per_head.size() == c.capture.layers.size());
  for (size_t l = 0; l < a.per_head.size(); ++l) {
    INFO("layer " << l);
    REQUIRE(a.per_head[l].sizes() == b.per_head[l].sizes());  // [H_kv, N]
    CHECK(at::allclose(a.per_head[l], b.per_head[l], 1e-5, 1e-5));
    CHECK(claa::spearman(vec(a.combined[l]), vec(b.combined[l])) >= 0.9999);
  }
}

TEST_CASE("A numpy SnapKV worker written from kvpress agrees with snapkv@kvpress on SmolLM2", "[external]") {
  auto py = python_heuristic("claa_worker.examples:snapkv");
  auto native = claa::make_heuristic(claa::parse_heuristic_spec("snapkv@kvpress"));  // window 64, avg pool 5
  const Captured c = capture_for({py.get(), native.get()});
  const claa::HeuristicScores a = py->score(input(c)), b = native->score(input(c));
  const int64_t n = c.capture.n_prompt, w = 64, W = c.capture.window;
  for (size_t l = 0; l < a.per_head.size(); ++l) {
    INFO("layer " << l);
    REQUIRE(a.per_head[l].sizes() == b.per_head[l].sizes());  // [H_kv, N − W]
    // kvpress averages the window's rows where claa sums them: the same scores divided by w.
    at::Tensor scored = a.per_head[l].narrow(1, 0, n - w), want = b.per_head[l].narrow(1, 0, n - w) / w;
    CHECK(at::allclose(scored, want, 1e-4, 1e-7));
    CHECK(claa::spearman(vec(a.combined[l]), vec(b.combined[l])) >= 0.9999);
  }
  CHECK(n - W == a.per_head[0].size(1));
}

TEST_CASE("A worker receives every input claa offers, with the shapes the protocol states", "[external]") {
  auto py = python_heuristic("external_workers:echo_shapes");
  const Captured c = capture_for({py.get()}, 80);
  const claa::HeuristicScores s = py->score(input(c));
  // Its score is ‖hidden state entering the layer‖: layer 0's is the embedding, layer l's is layer
  // l − 1's output, which is what a second capture's tap would see (compared on layer 1 by hand).
  at::Tensor embedded = default_model().model->embed(at::tensor(c.ids, at::kLong)).to(at::kFloat);
  CHECK(at::allclose(s.per_head[0][0], embedded.norm(2, -1), 1e-5, 1e-5));
  CHECK(s.per_head[1].size(1) == 80);
  CHECK(!at::allclose(s.per_head[1], s.per_head[0]));
}

TEST_CASE("A worker is handed each layer's own RoPE frequencies (Gemma 3's sliding layers)", "[external]") {
  // Tiny Gemma 3: layer 0 slides (rope_local_theta 10000, unscaled), layer 1 is global (rope_theta 1e6,
  // linear factor 8). The worker scores every key with the layer's rope_inv_freq[1] = θ^(−2/d) / factor.
  const claa::LoadedModel m = claa::load_model(source_path("tests/fixtures/model/tiny/gemma3"), claa::RuntimeOptions{});
  REQUIRE(m.config.layer_slides(0));
  REQUIRE_FALSE(m.config.layer_slides(1));
  auto py = python_heuristic("external_workers:rope_frequency");
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < 24; ++i) ids.push_back(2 + (i * 37) % 90);  // the tiny vocabulary has 96 tokens
  claa::CaptureOptions options;
  options.max_new_tokens = 1;
  options.extra |= py->needs();
  const claa::CaptureResult capture = claa::capture_prompt(*m.model, ids, options);
  const claa::HeuristicScores s = py->score({capture, 0, &ids, m.model.get()});
  const double d = static_cast<double>(m.config.head_dim);
  REQUIRE(s.per_head.size() == 2);
  CHECK(s.per_head[0].max().item<float>() == Approx(std::pow(1e4, -2.0 / d)).epsilon(1e-6));
  CHECK(s.per_head[0].min().item<float>() == Approx(std::pow(1e4, -2.0 / d)).epsilon(1e-6));
  CHECK(s.per_head[1].max().item<float>() == Approx(std::pow(1e6, -2.0 / d) / 8).epsilon(1e-6));
  CHECK(s.per_head[1].min().item<float>() == Approx(std::pow(1e6, -2.0 / d) / 8).epsilon(1e-6));
}

TEST_CASE("Scores pinned to float32's maximum stay finite in the layer's ranking", "[external]") {
  auto py = python_heuristic("external_workers:pins_max");  // combine = sum over the 3 KV heads
  const Captured c = capture_for({py.get()}, 80);
  const claa::LayerScores s = py->score_layer(input(c), 4);
  REQUIRE(s.combined.size(0) == 80);
  CHECK(s.combined.isfinite().all().item<bool>());
  CHECK(s.combined[0].item<float>() == std::numeric_limits<float>::max());  // a float32 sum would be inf
  CHECK(s.combined.narrow(0, 5, 75).max().item<float>() < 0);               // the rest: −Σ‖k‖
}

TEST_CASE("Every worker failure is one line naming the heuristic and the layer", "[external]") {
  auto knorm = claa::make_heuristic("knorm");
  const Captured c = capture_for({knorm.get()}, 80);
  auto fails = [&](const std::string& function, double timeout_s = 60) {
    auto h = python_heuristic("external_workers:" + function, timeout_s);
    Captured own;
    std::string error;
    try {
      own = capture_for({h.get()}, 80);  // needs() starts the worker: a start-up failure shows here
      error = first_error(*h, own);
    } catch (const claa::Error& e) {
      error = e.what();
    }
    CHECK(error.find('\n') == std::string::npos);
    // A failed worker stays failed: the next request fails at once with the same line.
    if (!error.empty()) CHECK_THROWS_WITH(h->score_layer(input(own), 0), error);
    return error;
  };
  const std::string prefix = "heuristic 'python:external_workers:";
  CHECK_THAT(fails("raises"),
             Contains(prefix + "raises' at layer 2: the worker failed: ValueError: no score for layer 2 second line"));
  CHECK_THAT(fails("wrong_shape"),
             Contains(prefix + "wrong_shape' at layer 0: the worker's scores have shape [4, 80], expected [3, 80]"));
  CHECK_THAT(fails("nan_scores"),
             Contains(prefix + "nan_scores' at layer 0: 1 of the worker's 240 scores are NaN or infinite"));
  CHECK_THAT(fails("sleeps", 1.5), Contains(prefix + "sleeps' at layer 0: the worker gave no answer within 1.5 s"));
  CHECK_THAT(fails("exits"), Contains(prefix + "exits' at layer 0: the worker exited with status 3"));
  CHECK_THAT(fails("segfaults"), Contains(prefix + "segfaults' at layer 0: the worker was killed by signal 11"));
  CHECK_THAT(fails("no_such_function"),
             Contains(prefix + "no_such_function' at start-up: the worker failed: AttributeError: module "
                               "'external_workers' has no function 'no_such_function'"));
  CHECK(fails("prints").empty());  // print() goes to stderr, never into the protocol
  CHECK_THAT(first_error(*python_heuristic("no_such_module:f"), c),
             Contains("ModuleNotFoundError: No module named 'no_such_module'"));

  // exec: a program that does not speak the protocol, one that does not exist.
  auto echo = claa::make_heuristic("exec", {{"target", "echo hello"}});
  CHECK_THROWS_WITH(
      echo->needs(),
      Contains("heuristic 'exec:echo hello' at start-up: the worker wrote a line that is not JSON: 'hello'"));
  auto missing = claa::make_heuristic("exec", {{"target", "/nonexistent/worker"}});
  CHECK_THROWS_WITH(missing->needs(),
                    Contains("heuristic 'exec:/nonexistent/worker' at start-up: the worker exited with status 127") &&
                        Contains("not found"));
}

TEST_CASE("claa run with a failing worker stops with one line and keeps the samples already written", "[external]") {
  worker_path();
  const std::string dir = claa::test::fresh_temp_path("external_run").string();
  const std::string spec = "python:external_workers:fails_on_second_sample{python=" + test_python() + "}";
  std::string out;
  const int rc = run_cli("run " + source_path("configs/ci.json") + " --out " + dir + " --no-report --limit 2" +
                             " --set 'heuristics=[\"knorm\",\"" + spec + "\"]'",
                         &out);
  INFO(out);
  CHECK(rc == 1);
  CHECK_THAT(out, Contains("error: heuristic 'python:external_workers:fails_on_second_sample' at layer 0: the worker "
                           "failed: RuntimeError: second sample refused"));
  const std::string samples = read_all(dir + "/samples.jsonl");
  CHECK(std::count(samples.begin(), samples.end(), '\n') == 1);  // the first sample, scored by both
  CHECK_THAT(samples, Contains("python:external_workers:fails_on_second_sample"));
  claa::test::remove_tree(dir);
}

TEST_CASE("A numpy SnapKV worker prunes exactly as snapkv@kvpress in the kvpress and FastKV pipelines", "[external]") {
  const std::string dir = claa::test::fresh_temp_path("external_e2e").string();
  const std::string py = "python:claa_worker.examples:snapkv{python=" + test_python() + "}";
  std::string out;
  const int rc = run_cli("run " + source_path("configs/ci.json") + " --out " + dir +
                             " --no-report --limit 1 --set mode=e2e --set 'keep_rates=[0.2]' --set 'e2e.methods=[" +
                             "\"kvpress:snapkv@kvpress\",\"kvpress:" + py + "\",\"fastkv_style:snapkv@kvpress\"," +
                             "\"fastkv_style:" + py + "\"]'",
                         &out);
  INFO(out);
  REQUIRE(rc == 0);
  const nlohmann::json sample = nlohmann::json::parse(read_all(dir + "/samples.jsonl"));
  std::map<std::string, nlohmann::json> by_method;
  for (const nlohmann::json& r : sample["results"]) by_method[r["method"].get<std::string>()] = r;
  // The same kept rows give the same greedy answer (kept count and cache size follow from the budget
  // alone: they check that both ran the same pipeline).
  for (const std::string pipeline : {"kvpress:", "fastkv_style:"}) {
    const nlohmann::json &native = by_method[pipeline + "snapkv@kvpress"], &worker = by_method[pipeline + py];
    INFO(pipeline << ": " << native.dump() << " vs " << worker.dump());
    REQUIRE(native.contains("answer"));
    CHECK(native["answer"] == worker["answer"]);
    CHECK(native["kept_tokens"] == worker["kept_tokens"]);
    CHECK(native["cache_bytes"] == worker["cache_bytes"]);
  }
  claa::test::remove_tree(dir);
}

TEST_CASE("claa_worker.testing.check applies claa's checks to a function without claa", "[external]") {
  // The package's own harness: the examples pass, a wrong shape and NaN scores are refused.
  const std::string script =
      "import numpy as np\n"
      "from claa_worker import heuristic, examples\n"
      "from claa_worker.testing import check\n"
      "assert check(examples.knorm).shape == (2, 256)\n"
      "assert check(examples.snapkv, n_prompt=100).shape == (2, 100)\n"
      "bad = heuristic(needs=('keys',))(lambda layer: np.zeros((3, layer.keys.shape[1])))\n"
      "nan = heuristic(needs=('keys',))(lambda layer: np.full((2, layer.keys.shape[1]), np.nan))\n"
      "for f, words in ((bad, 'expected [2, 256]'), (nan, '512 scores are NaN')):\n"
      "    try:\n"
      "        check(f)\n"
      "    except AssertionError as e:\n"
      "        assert words in str(e), str(e)\n"
      "    else:\n"
      "        raise SystemExit('not refused')\n"
      "print('harness ok')\n";
  const std::string file = claa::test::fresh_temp_path("harness").string() + ".py";
  std::ofstream(file) << script;
  std::string out;
  const std::string command = "PYTHONPATH=" + source_path("python") + " " + test_python() + " " + file;
  const std::string log = file + ".log";
  const int status = std::system((command + " > " + log + " 2>&1").c_str());
  out = read_all(log);
  INFO(out);
  CHECK(status == 0);
  CHECK_THAT(out, Contains("harness ok"));
  std::remove(file.c_str());
  std::remove(log.c_str());
}
