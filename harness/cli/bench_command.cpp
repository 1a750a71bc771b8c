// `claa bench prefill`: prefill throughput (tokens/s) and peak memory for a prompt of N tokens.
// Speed targets are checked by these benchmarks, never by timed tests (docs/benchmarks.md).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <ATen/Parallel.h>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <numeric>
#include <random>
#include <sstream>
#include <sys/resource.h>

#include "capture/capture.h"
#include "core/error.h"
#include "core/memory.h"
#include "core/op_profile.h"
#include "evaluation/metrics.h"
#include "evaluation/ranking_eval.h"
#include "formats/gguf.h"
#include "harness/cli/commands.h"
#include "harness/cli/model_options.h"
#include "harness/cli/prompt_input.h"
#include "harness/cli/synthetic_prompt.h"
#include "heuristics/heuristic.h"
#include "model/cpu_kernels.h"
#include "model/generate.h"
#include "model/model_tokenizer.h"
#include "oracle/oracle.h"
#include "tokenizer/tokenizer.h"

namespace claa {

namespace {

struct PrefillBenchArgs {
  ModelOptions model;
  int64_t tokens = 1024;
  int warmups = 1;
  int runs = 3;
  std::string json_path;
  bool profile = false;
};

// CPU seconds (user + system) of the whole process so far: CPU time / wall time is how many
// cores were busy (spinning BLAS or OpenMP threads count too).
double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto sec = [](const timeval& t) { return t.tv_sec + 1e-6 * t.tv_usec; };
  return sec(u.ru_utime) + sec(u.ru_stime);
}

double run_prefill_once(const Transformer& model, const at::Tensor& ids, const at::Tensor& positions) {
  KVCache cache = model.make_cache();
  synchronize(model);
  auto t0 = std::chrono::steady_clock::now();
  at::Tensor hidden = model.forward(ids, positions, cache, nullptr, /*last_rows=*/1);
  at::Tensor logits = model.logits(hidden);  // the last token's row only (last_rows)
  (void)logits.argmax().item<int64_t>();  // the first token is part of prefill (TTFT)
  synchronize(model);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The operator table of a profiled run: every outermost operator by time, then the same by kind.
void print_op_table(const std::vector<OpTime>& ops, double wall) {
  fmt::print("{:<28} {:>10} {:>7} {:>8}\n", "operator (outermost)", "seconds", "share", "calls");
  double listed = 0;
  for (const OpTime& op : ops) {
    listed += op.seconds;
    fmt::print("{:<28} {:>10.3f} {:>6.1f}% {:>8}\n", op.name, op.seconds, 100 * op.seconds / wall, op.calls);
  }
  fmt::print("{:<28} {:>10.3f} {:>6.1f}%\n", "(outside operators)", wall - listed, 100 * (wall - listed) / wall);
  std::map<std::string, std::pair<double, int64_t>> kinds;  // kind → seconds, calls
  for (const OpTime& op : ops) {
    auto& k = kinds[op_kind(op.name)];
    k.first += op.seconds;
    k.second += op.calls;
  }
  fmt::print("{:<28} {:>10} {:>7} {:>8}\n", "op kind", "seconds", "share", "calls");
  for (const auto& [kind, k] : kinds)
    fmt::print("{:<28} {:>10.4f} {:>6.1f}% {:>8}\n", kind, k.first, 100 * k.first / wall, k.second);
}

// Runs `body` with every outermost operator timed by name and prints the table. On a GPU each
// operator is timed between two device waits (op_profile.h), so only the split is meant to be read.
template <typename F>
void print_profile(const char* what, const Transformer& model, F&& body) {
  double cpu0 = process_cpu_seconds();
  std::vector<OpTime> ops;
  const bool gpu = model.options().device.is_cuda();
  const auto t0 = std::chrono::steady_clock::now();
  {
    OpProfile profile(gpu ? std::function<void()>([&model] { synchronize(model); }) : std::function<void()>());
    body();
    synchronize(model);
    ops = profile.totals();
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double cpu = process_cpu_seconds() - cpu0;
  fmt::print("profile of {}{}: wall {:.3f} s, CPU {:.3f} s ({:.2f} cores busy on average)\n", what,
             gpu ? " (device waits around every operator)" : "", wall, cpu, cpu / wall);
  print_op_table(ops, wall);
}

// One more prefill with every top-level operator timed by name (docs/benchmarks.md, profile).
void print_prefill_profile(const Transformer& model, const at::Tensor& ids, const at::Tensor& positions) {
  print_profile("one prefill", model, [&] { run_prefill_once(model, ids, positions); });
}

void run_prefill_bench(const PrefillBenchArgs& a) {
  require(a.tokens >= 1, "--tokens must be positive");
  require(a.runs >= 1, "--runs must be at least 1");
  int64_t rss_before = current_rss_bytes();
  LoadedModel m = a.model.load();
  const Transformer& model = *m.model;
  require(a.tokens <= m.config.context || !a.model.random_weights.empty(),
          fmt::format("--tokens {} exceeds the model context {}", a.tokens, m.config.context));
  const at::Device device = model.options().device;
  at::Tensor ids = at::tensor(synthetic_prompt(a.tokens, m.config.vocab), at::kLong).to(device);
  at::Tensor positions = at::arange(a.tokens, at::TensorOptions().dtype(at::kLong).device(device));
  int64_t rss_weights = current_rss_bytes();
  int64_t cuda_after_load = cuda_peak_bytes(model.devices());

  for (int i = 0; i < a.warmups; ++i) run_prefill_once(model, ids, positions);
  cuda_reset_peak(model.devices());
  std::vector<double> seconds;
  for (int i = 0; i < a.runs; ++i) seconds.push_back(run_prefill_once(model, ids, positions));
  std::sort(seconds.begin(), seconds.end());
  double median = seconds[seconds.size() / 2];
  double mean = std::accumulate(seconds.begin(), seconds.end(), 0.0) / seconds.size();

  const int width = cpu::parallel_width();  // threads a parallel region really gets
  nlohmann::json j = {{"model", m.source.kind == "random" ? "random:" + m.source.path : m.source.path},
                      {"device", a.model.device}, {"dtype", a.model.dtype}, {"threads", at::get_num_threads()},
                      {"parallel_width", width},
                      {"tokens", a.tokens}, {"runs", a.runs}, {"median_seconds", median}, {"mean_seconds", mean},
                      {"tokens_per_second", a.tokens / median}, {"peak_rss_bytes", peak_rss_bytes()},
                      {"rss_before_load_bytes", rss_before}, {"rss_after_load_bytes", rss_weights},
                      {"cuda_peak_bytes", cuda_peak_bytes(model.devices())}, {"cuda_weights_bytes", cuda_after_load}};
  j["attention"] = model.prefill_attention_name();
  if (width < at::get_num_threads())
    fmt::print("warning: claa's parallel regions use {} of {} threads (built without OpenMP?)\n", width,
               at::get_num_threads());
  fmt::print("prefill {} tokens on {} {} ({} threads): median {:.3f} s, mean {:.3f} s over {} runs → {:.0f} tok/s\n",
             a.tokens, a.model.device, a.model.dtype, at::get_num_threads(), median, mean, a.runs, a.tokens / median);
  fmt::print("attention: {}\n", model.prefill_attention_name());
  if (device.is_cuda()) {
    fmt::print("peak GPU memory {:.2f} GiB (weights {:.2f} GiB)\n", cuda_peak_bytes(model.devices()) / 1073741824.0,
               cuda_after_load / 1073741824.0);
  } else {
    fmt::print("peak RSS {:.0f} MiB (weights loaded: {:.0f} MiB)\n", peak_rss_bytes() / 1048576.0,
               (rss_weights - rss_before) / 1048576.0);
  }
  if (!a.json_path.empty()) {
    std::ofstream out(a.json_path);
    require(out.good(), a.json_path + ": cannot write");
    out << j.dump(2) << "\n";
  }
  if (a.profile) print_prefill_profile(model, ids, positions);
}

struct CaptureBenchArgs {
  ModelOptions model;
  int64_t tokens = 2048;
  int64_t new_tokens = 32;
  std::string heuristics;  // default: all registered
  std::string json_path;
  bool host_capture = false;  // CaptureOptions::on_model_device = false (host-side scoring)
  int runs = 1;               // plain/rank pairs; medians reported
  std::string tokenizer_path;  // a tokenizer.json or GGUF for models without one (KVzip writes text)
  bool profile = false;        // then one more capture (prefill, answer, oracle) timed per operator
};

// The tokenizer KVzip writes its request with: --tokenizer's, else the model's own (none for random
// weights). Its ids must be ids of the model.
std::shared_ptr<const Tokenizer> bench_tokenizer(const CaptureBenchArgs& a, const LoadedModel& m) {
  if (a.tokenizer_path.empty()) return model_tokenizer(m);
  const bool gguf = a.tokenizer_path.ends_with(".gguf");
  auto tok = std::make_shared<const Tokenizer>(gguf ? Tokenizer::from_gguf(GgufFile(a.tokenizer_path))
                                                    : Tokenizer::from_hf_json(a.tokenizer_path));
  require(tok->vocab_size() <= m.config.vocab,
          fmt::format("--tokenizer {}: its {} ids exceed the model's vocabulary of {}", a.tokenizer_path,
                      tok->vocab_size(), m.config.vocab));
  return tok;
}

struct PhaseFigures {
  double seconds = 0;
  int64_t peak_bytes = 0;  // CUDA peak allocated, or process peak RSS on CPU
};

template <typename F>
PhaseFigures measure(const at::Device& device, F&& body) {
  cuda_reset_peak(device);
  synchronize(device);
  auto t0 = std::chrono::steady_clock::now();
  body();
  synchronize(device);
  PhaseFigures f;
  f.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  f.peak_bytes = device.is_cuda() ? cuda_peak_bytes(device) : peak_rss_bytes();
  return f;
}

// `claa rank`'s cost (capture + oracle + every heuristic scored and compared per layer) against a
// plain prefill + greedy decode of the same prompt and answer length. EOS is ignored so both
// decode exactly --new-tokens tokens.
void run_capture_bench(const CaptureBenchArgs& a) {
  LoadedModel m = a.model.load();
  const Transformer& model = *m.model;
  const at::Device device = model.options().device;
  std::vector<int64_t> ids = synthetic_prompt(a.tokens, m.config.vocab);
  const auto tok = bench_tokenizer(a, m);         // null for random weights without --tokenizer (no KVzip then)
  const PromptFormat format{tok.get(), nullptr};  // the synthetic prompt is raw ids
  std::vector<std::unique_ptr<Heuristic>> heuristics;
  if (a.heuristics.empty()) {
    for (const HeuristicInfo& h : heuristic_registry()) {
      if (h.external) continue;  // named by a target (python:MODULE:FUNCTION), never part of "all"
      std::unique_ptr<Heuristic> made = make_heuristic(h.name);
      if (made->needs_tokenizer() && !tok)
        fmt::print(
            "({} left out: this model has no tokenizer for the text it writes into the model; see --tokenizer)\n",
            h.name);
      else
        heuristics.push_back(std::move(made));
    }
  } else {
    std::stringstream in(a.heuristics);
    for (std::string n; std::getline(in, n, ',');) heuristics.push_back(make_heuristic(n));
  }
  GenerationOptions gen;
  gen.max_new_tokens = a.new_tokens;
  CaptureOptions cap;
  cap.max_new_tokens = a.new_tokens;
  cap.on_model_device = !a.host_capture;
  for (const auto& h : heuristics) cap.extra |= h->needs();

  generate(model, std::vector<int64_t>(ids.begin(), ids.begin() + std::min<int64_t>(64, a.tokens)), gen);  // warm-up
  // --runs pairs, plain then rank, medians reported (the first GPU run of a process also pays the
  // caching allocator's growth).
  std::vector<PhaseFigures> plains, rankeds;
  std::vector<double> captures;
  std::vector<HeuristicEval> evals;
  // The last pair's prefill / decode split. Only the times are kept: a kept capture (or cache) would
  // stay allocated through the next pair and count in its peak memory.
  double plain_prefill = 0, plain_decode = 0, capture_prefill = 0, capture_decode = 0, answer_pass = 0;
  for (int run = 0; run < a.runs; ++run) {
    plains.push_back(measure(device, [&] {
      const GenerationResult r = generate(model, ids, gen);
      plain_prefill = r.prefill_seconds, plain_decode = r.decode_seconds;
    }));
    rankeds.push_back(measure(device, [&] {
      auto t0 = std::chrono::steady_clock::now();
      OracleCapture c = capture_with_oracle(model, ids, cap, OracleOptions{});
      captures.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      EvalOptions eval;
      eval.prompt_ids = &ids;  // heuristics that rerun the prompt (KVzip, a draft SpecPrefill)
      eval.model = &model;
      eval.format = &format;
      evals.clear();
      for (const auto& h : heuristics) evals.push_back(evaluate_heuristic(*h, c, eval));
      capture_prefill = c.prefill_seconds, capture_decode = c.decode_seconds, answer_pass = c.answer_pass_seconds;
    }));
  }
  auto median_of = [](std::vector<PhaseFigures> v) {
    std::sort(v.begin(), v.end(), [](const PhaseFigures& x, const PhaseFigures& y) { return x.seconds < y.seconds; });
    return v[v.size() / 2];
  };
  const PhaseFigures plain = median_of(plains), ranked = median_of(rankeds);
  std::sort(captures.begin(), captures.end());
  const double capture_seconds = captures[captures.size() / 2];
  double overhead = ranked.seconds / plain.seconds - 1.0;
  fmt::print("{} tokens + {} new on {} {}: plain generate {:.2f} s, capture+oracle+{} heuristics {:.2f} s "
             "(overhead {:+.1f}%)\n",
             a.tokens, a.new_tokens, a.model.device, a.model.dtype, plain.seconds, heuristics.size(), ranked.seconds,
             overhead * 100);
  fmt::print("of which capture (prefill + answer + oracle, kept on the {}) {:.2f} s, scoring + metrics {:.2f} s\n",
             a.host_capture ? "host" : "model's device", capture_seconds, ranked.seconds - capture_seconds);
  fmt::print("last run: plain prefill {:.3f} s + decode {:.3f} s; capture prefill {:.3f} s + decode {:.3f} s + "
             "answer pass {:.3f} s\n",
             plain_prefill, plain_decode, capture_prefill, capture_decode, answer_pass);
  nlohmann::json per_heuristic = nlohmann::json::object();
  for (const HeuristicEval& e : evals) {
    fmt::print("  {:<20} score {:.3f} s, compare {:.3f} s\n", e.name, e.score_seconds, e.compare_seconds);
    per_heuristic[e.name] = {{"score_seconds", e.score_seconds}, {"compare_seconds", e.compare_seconds}};
  }
  const char* what = device.is_cuda() ? "peak GPU memory" : "peak RSS";
  fmt::print("{}: plain {:.0f} MiB, rank {:.0f} MiB\n", what, plain.peak_bytes / 1048576.0,
             ranked.peak_bytes / 1048576.0);
  if (!a.json_path.empty()) {
    nlohmann::json j = {{"tokens", a.tokens}, {"new_tokens", a.new_tokens}, {"device", a.model.device},
                        {"dtype", a.model.dtype}, {"plain_seconds", plain.seconds}, {"rank_seconds", ranked.seconds}, {"capture_seconds", capture_seconds},
                        {"overhead", overhead}, {"plain_peak_bytes", plain.peak_bytes},
                        {"rank_peak_bytes", ranked.peak_bytes}, {"heuristics", heuristics.size()},
                        {"host_capture", a.host_capture}, {"runs", a.runs},
                        {"last_plain_prefill_seconds", plain_prefill}, {"last_plain_decode_seconds", plain_decode},
                        {"last_capture_prefill_seconds", capture_prefill},
                        {"last_capture_decode_seconds", capture_decode},
                        {"last_capture_answer_pass_seconds", answer_pass},
                        {"per_heuristic", per_heuristic}};
    std::ofstream(a.json_path) << j.dump(2) << "\n";
  }
  // The capture alone (what a rank run adds to a plain one is mostly here; heuristics are timed above).
  if (a.profile)
    print_profile("one capture (prefill with the taps, answer, oracle)", model,
                  [&] { (void)capture_with_oracle(model, ids, cap, OracleOptions{}); });
}

// `claa bench tokenizer`: encode ~1 MB of English text (by default the licence texts Debian ships,
// repeated to --bytes) with a cold BPE cache on one thread.
void run_tokenizer_bench(const std::string& model, const std::string& file, size_t bytes) {
  LoadedModel m = describe_model(model);
  auto tok = model_tokenizer(m);
  require(tok != nullptr, model + ": no tokenizer");
  std::string source;
  if (!file.empty()) {
    std::ifstream in(file, std::ios::binary);
    require(in.good(), file + ": cannot read");
    source.assign(std::istreambuf_iterator<char>(in), {});
  } else {
    for (const char* name : {"GPL-3", "Apache-2.0", "LGPL-2.1", "MPL-2.0", "Artistic"}) {
      std::ifstream in(std::string("/usr/share/common-licenses/") + name, std::ios::binary);
      source.append(std::istreambuf_iterator<char>(in), {});
    }
  }
  require(!source.empty(), "no text to tokenize (give --file)");
  std::string text;
  while (text.size() < bytes) text += source;
  text.resize(bytes);
  size_t tokens = tok->encode(text).size();
  double mb_per_s = tokenizer_benchmark_mb_per_s(*tok, text);
  double seconds = text.size() / 1e6 / mb_per_s;
  fmt::print("tokenized {:.2f} MB into {} tokens: {:.1f} MB/s, {:.0f} tokens/s (one thread, cold cache, mean of 3)\n",
             text.size() / 1e6, tokens, mb_per_s, tokens / seconds);
  fmt::print("peak RSS {:.0f} MiB\n", peak_rss_bytes() / 1048576.0);
}

// `claa bench metrics`: the host-side ranking comparisons of rank mode, `layers` random rankings of
// `tokens` entries against one random oracle on one thread: the oracle prepared per comparison
// (compare_rankings with a vector) and once for all layers (OracleRanking, what ranking_eval does).
void run_metrics_bench(int64_t tokens, int layers) {
  require(tokens >= 2 && layers >= 1, "bench metrics: --tokens must be at least 2 and --layers at least 1");
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  auto random_vector = [&] {
    std::vector<float> v(static_cast<size_t>(tokens));
    for (float& x : v) x = uniform(rng);
    return v;
  };
  const std::vector<float> oracle = random_vector();
  std::vector<std::vector<float>> rankings;
  for (int l = 0; l < layers; ++l) rankings.push_back(random_vector());
  const std::vector<double> keep = {0.1, 0.2, 0.4};
  auto per_comparison_ms = [&](auto&& compare) {
    const auto t0 = std::chrono::steady_clock::now();
    for (const std::vector<float>& r : rankings) compare(r);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() * 1000.0 / layers;
  };
  const double each = per_comparison_ms([&](const std::vector<float>& r) { compare_rankings(r, oracle, keep); });
  const OracleRanking prepared(oracle);
  const double shared = per_comparison_ms([&](const std::vector<float>& r) { compare_rankings(r, prepared, keep); });
  fmt::print("{} layers x {} tokens, one thread: {:.1f} ms per comparison with the oracle prepared each time, "
             "{:.1f} ms with it prepared once\n",
             layers, tokens, each, shared);
  fmt::print("peak RSS {:.0f} MiB\n", peak_rss_bytes() / 1048576.0);
}

}  // namespace

void register_bench_command(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "speed and memory benchmarks");
  bench->require_subcommand(1);
  auto* prefill = bench->add_subcommand("prefill", "prefill tokens/s and peak memory for N synthetic tokens");
  auto args = std::make_shared<PrefillBenchArgs>();
  args->model.add_to(*prefill, /*allow_random_weights=*/true);
  prefill->add_option("--tokens,-t", args->tokens, "prompt length")->capture_default_str();
  prefill->add_option("--warmups", args->warmups, "untimed runs first")->capture_default_str();
  prefill->add_option("--runs", args->runs, "timed runs (median reported)")->capture_default_str();
  prefill->add_option("--json", args->json_path, "also write the figures to this JSON file");
  prefill->add_flag("--profile", args->profile, "then time one more prefill per operator (outermost ATen ops)");
  prefill->callback([args] { run_prefill_bench(*args); });

  auto* capture = bench->add_subcommand("capture", "claa rank's cost vs a plain forward + generate");
  auto cargs = std::make_shared<CaptureBenchArgs>();
  cargs->model.add_to(*capture, /*allow_random_weights=*/true);
  capture->add_option("--tokens,-t", cargs->tokens, "prompt length")->capture_default_str();
  capture->add_option("--new-tokens", cargs->new_tokens, "answer length (EOS ignored)")->capture_default_str();
  capture->add_option("--heuristics", cargs->heuristics, "comma-separated (default: all)");
  capture->add_option("--json", cargs->json_path, "also write the figures to this JSON file");
  capture->add_option("--tokenizer", cargs->tokenizer_path,
                      "tokenizer.json or .gguf for a model without a tokenizer (random weights), so KVzip runs too");
  capture->add_option("--runs", cargs->runs, "timed plain/rank pairs (medians reported)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  capture->add_flag("--host-capture", cargs->host_capture,
                    "keep the captures on the CPU and score there (saves GPU memory)");
  capture->add_flag("--profile", cargs->profile,
                    "then time one more capture per operator (outermost ATen ops and claa's scopes)");
  capture->callback([cargs] { run_capture_bench(*cargs); });

  register_ttft_command(*bench);

  auto* metrics = bench->add_subcommand("metrics", "rank mode's ranking comparisons (Spearman, Kendall, top-k) per layer");
  auto mtokens = std::make_shared<int64_t>(32768);
  auto mlayers = std::make_shared<int>(32);
  metrics->add_option("--tokens,-t", *mtokens, "ranking length")->capture_default_str();
  metrics->add_option("--layers", *mlayers, "rankings compared with one oracle")->capture_default_str();
  metrics->callback([mtokens, mlayers] { run_metrics_bench(*mtokens, *mlayers); });

  auto* tok = bench->add_subcommand("tokenizer", "tokenizer throughput (MB/s, tokens/s) on ~1 MB of English text");
  auto model = std::make_shared<std::string>(kDefaultModelAlias);
  auto file = std::make_shared<std::string>();
  auto bytes = std::make_shared<size_t>(1000000);
  tok->add_option("--model,-m", *model, "model whose tokenizer to use")->capture_default_str();
  tok->add_option("--file", *file, "text file (default: /usr/share/common-licenses texts)");
  tok->add_option("--bytes", *bytes, "text size")->capture_default_str();
  tok->callback([model, file, bytes] { run_tokenizer_bench(*model, *file, *bytes); });
}

}  // namespace claa
