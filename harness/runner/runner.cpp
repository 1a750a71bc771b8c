#include "harness/runner/runner.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <ATen/Parallel.h>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/fingerprint.h"
#include "core/utf8.h"
#include "datasets/dataset_spec.h"
#include "datasets/prompt_build.h"
#include "evaluation/ranking_eval.h"
#include "evaluation/task_score.h"
#include "evaluation/token_view.h"
#include "harness/pipelines/prefill_pipeline.h"
#include "harness/runner/multi_turn.h"
#include "harness/runner/progress.h"
#include "harness/runner/provenance.h"
#include "harness/runner/results_file.h"
#include "harness/runner/run_folder.h"
#include "model/model_tokenizer.h"
#include "oracle/oracle.h"
#include "reports/run_reports.h"
#include "tokenizer/tokenizer.h"

namespace claa {

namespace {

namespace fs = std::filesystem;

struct Item {
  Sample sample;
  std::string dataset;  // spec@length, for aggregation
  int64_t index = 0;    // position in the whole run (before sharding)
  int64_t position = 0;  // position within its dataset (token views go to the first ones)
};

std::vector<Item> load_items(const RunConfig& c, const Tokenizer& tok, const std::optional<ChatTemplate>& chat) {
  std::vector<Item> items;
  for (const DatasetSection& d : c.datasets) {
    std::vector<Sample> samples = load_dataset(parse_dataset_spec(d.spec), d.options, &tok, chat);
    int64_t position = 0;
    for (Sample& s : samples) {
      if (d.max_new_tokens > 0) s.max_new_tokens = d.max_new_tokens;
      std::string name = dataset_label(d.spec, d.options.length, s);
      items.push_back({std::move(s), std::move(name), static_cast<int64_t>(items.size()), position++});
    }
  }
  return items;
}

// The gold evidence spans in prompt token indices (empty spans dropped).
std::vector<std::pair<int64_t, int64_t>> evidence_spans(const PromptBuild& prompt) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (const TokenSpan& span : prompt.evidence_token_spans)
    if (span.second > span.first) out.emplace_back(static_cast<int64_t>(span.first), static_cast<int64_t>(span.second));
  return out;
}

uint64_t seed_of(const std::string& id) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char ch : id) h = (h ^ ch) * 0x100000001b3ull;
  return h;
}

// The sample's prompt, cut so its answer fits the model's context.
PromptBuild sample_prompt(const Transformer& model, const Tokenizer& tok, const std::optional<ChatTemplate>& chat,
                          const Sample& s) {
  PromptOptions prompt_options;
  prompt_options.max_prompt_tokens = model.config().context - s.max_new_tokens;
  return build_prompt(tok, chat, s, prompt_options);
}

// The capture every mode starts from: the run's window, the sample's answer budget, the stop tokens.
CaptureOptions capture_options(const RunConfig& c, const Sample& s, const std::vector<int64_t>& stops) {
  CaptureOptions options;
  options.window = c.window;
  options.max_new_tokens = s.max_new_tokens;
  options.eos_ids = stops;
  return options;
}

// What rank metrics need besides the capture: keep rates, the sample's seed, the prompt, the model, its
// format (KVzip), the budget diagnostics' layers and the gold evidence spans.
EvalOptions rank_options(const RunConfig& c, const Transformer& model, const Sample& s, const PromptBuild& prompt,
                         const std::vector<int64_t>& scored_ids, const PromptFormat& format) {
  EvalOptions eval;
  eval.keep_rates = c.keep_rates;
  eval.per_layer_oracle = c.per_layer_oracle;
  eval.sample_seed = seed_of(s.id);
  eval.prompt_ids = &scored_ids;
  eval.model = &model;
  eval.format = &format;
  eval.diagnostics_layers = c.diagnostics_layers;
  if (eval.diagnostics_layers.empty()) eval.diagnostics_layers = {std::max(0, model.n_layers() / 2 - 1)};
  eval.evidence = evidence_spans(prompt);
  return eval;
}

// The explorer's token view of a sample (evaluation/token_view.h): its prompt tokens as text, the
// oracle the rankings were compared with, the gold evidence and answers, and every ranking's kept sets
// (kept: label → HeuristicEval::kept_sets).
nlohmann::json sample_token_view(const RunConfig& c, const Tokenizer& tok, const Sample& s,
                                 const std::vector<int64_t>& ids, const at::Tensor& oracle, const EvalOptions& eval,
                                 const nlohmann::json& kept) {
  std::vector<std::string> bytes;
  for (int64_t id : ids) bytes.push_back(tok.token_bytes(static_cast<int32_t>(id)));
  return token_view_json({utf8_token_texts(bytes), to_float_vector(oracle), c.keep_rates, eval.evidence, s.answers},
                         kept);
}

nlohmann::json evaluate_sample(const RunConfig& c, const Transformer& model, const Tokenizer& tok,
                               const std::optional<ChatTemplate>& chat, const std::vector<int64_t>& stops,
                               const std::vector<std::unique_ptr<Heuristic>>& heuristics, const Item& item,
                               nlohmann::json& timing) {
  const Sample& s = item.sample;
  PromptBuild prompt = sample_prompt(model, tok, chat, s);
  std::vector<int64_t> ids(prompt.ids.begin(), prompt.ids.end());

  CaptureOptions options = capture_options(c, s, stops);
  for (const auto& h : heuristics) options.extra |= h->needs();
  OracleCapture capture = capture_with_oracle(model, ids, options, c.oracle);

  std::vector<int64_t> answer = capture.answer_tokens;
  if (capture.stopped_by_eos) answer.pop_back();
  std::string text = tok.decode(std::vector<int32_t>(answer.begin(), answer.end()));
  nlohmann::json rec = {{"id", s.id}, {"index", item.index}, {"task", s.task}, {"dataset", item.dataset},
                        {"category", sample_category(s)}, {"prompt_tokens", ids.size()}, {"truncated", prompt.truncated},
                        {"answer", text}, {"answer_tokens", answer.size()}, {"empty_answer", capture.empty_answer},
                        {"stopped_by_eos", capture.stopped_by_eos}, {"score", score_sample(s, text)},
                        {"max_score", sample_max_score(s)}, {"oracle_steps", capture.oracle_steps},
                        {"keep_rates", c.keep_rates}};
  // answer_pass_seconds: the oracle's batched pass over the fed-back answer (capture.h).
  timing = {{"id", s.id}, {"prefill_seconds", capture.prefill_seconds}, {"decode_seconds", capture.decode_seconds},
            {"answer_pass_seconds", capture.answer_pass_seconds}};
  // Multi-turn samples (SCBench): the top-level fields describe turn 1; "turns" holds every turn.
  if (!s.follow_ups.empty())
    rec["turns"] = evaluate_turns({c, model, tok, chat, stops, heuristics, seed_of(s.id)}, s, prompt, ids, capture);
  if (capture.empty_answer) return rec;  // no answer, no oracle: reported, not scored
  // NaN/Inf in the oracle (attention overflow): counted here; every layer comparison then carries
  // the count too (compare_rankings) and the report lists it instead of averaging it.
  const int64_t oracle_nonfinite = (~at::isfinite(capture.oracle)).sum().item<int64_t>();
  if (oracle_nonfinite > 0) rec["oracle_nonfinite"] = oracle_nonfinite;

  // Query-agnostic scoring: the heuristics see a capture of the prompt up to the context's end, the
  // oracle (the whole prompt's answer) is compared on those positions.
  const OracleCapture* scored_capture = &capture;
  OracleCapture context_only;
  std::vector<int64_t> context_ids;
  if (c.query_agnostic) {
    const int64_t split = static_cast<int64_t>(prompt.context_token_span.second);
    require(split > c.window, s.id + ": query-agnostic scoring needs a context longer than the window W");
    context_ids.assign(ids.begin(), ids.begin() + split);
    CaptureOptions o = options;
    o.max_new_tokens = std::max<int64_t>(1, o.extra.answer_steps());  // a look-ahead's steps, no answer needed
    static_cast<CaptureResult&>(context_only) = capture_prompt(model, context_ids, o);
    context_only.oracle = capture.oracle.narrow(0, 0, split);
    if (capture.oracle_per_layer.defined())
      context_only.oracle_per_layer = capture.oracle_per_layer.narrow(1, 0, split);
    context_only.oracle_steps = capture.oracle_steps;
    scored_capture = &context_only;
    rec["query_agnostic_tokens"] = split;
  }

  const PromptFormat format{&tok, s.chat && chat ? &*chat : nullptr};
  EvalOptions eval = rank_options(c, model, s, prompt, c.query_agnostic ? context_ids : ids, format);
  eval.record_kept_sets = item.position < c.token_views;
  nlohmann::json results = nlohmann::json::object(), costs = nlohmann::json::object(), kept = nlohmann::json::object();
  for (size_t i = 0; i < heuristics.size(); ++i) {
    HeuristicEval e = evaluate_heuristic(*heuristics[i], *scored_capture, eval);
    nlohmann::json j = to_json(e, c.keep_rates);
    j.erase("name");
    j.erase("keep_rates");
    results[c.heuristics[i].label] = j;
    costs[c.heuristics[i].label] = {{"score_seconds", e.score_seconds}, {"compare_seconds", e.compare_seconds}};
    if (eval.record_kept_sets) kept[c.heuristics[i].label] = e.kept_sets;
  }
  rec["heuristics"] = results;
  if (eval.record_kept_sets) rec["token_view"] = sample_token_view(c, tok, s, ids, scored_capture->oracle, eval, kept);
  timing["heuristics"] = costs;  // timings.jsonl: what each heuristic cost on this sample
  return rec;
}

// The full-KV answer's text: the answer tokens without a final stop token.
std::string answer_text(const Tokenizer& tok, const std::vector<int64_t>& stops, std::vector<int64_t> tokens) {
  if (!tokens.empty() && std::find(stops.begin(), stops.end(), tokens.back()) != stops.end()) tokens.pop_back();
  return tok.decode(std::vector<int32_t>(tokens.begin(), tokens.end()));
}

// Full KV's result, then every pipeline × keep rate on the same prompt, each answer scored, with its
// time to first token (the prefill, first token included: the cost front of method.md §5) and cache size.
nlohmann::json pipeline_results(const RunConfig& c, const Transformer& model, const Tokenizer& tok,
                                const std::optional<ChatTemplate>& chat, const std::vector<int64_t>& stops,
                                const std::vector<Pipeline>& pipelines, const Sample& s, const PromptBuild& prompt,
                                const std::vector<int64_t>& ids, const OracleCapture& full) {
  nlohmann::json results = nlohmann::json::array();
  const std::string full_answer = answer_text(tok, stops, full.answer_tokens);
  // Full KV's decode cache: every prompt token's key and value in every layer and KV head (what
  // KVCache::live_bytes reports after a full prefill), so the report can put each method's cache beside it.
  const ModelConfig& mc = model.config();
  const int64_t full_cache_bytes = 2 * static_cast<int64_t>(ids.size()) * model.n_layers() * mc.n_kv_heads *
                                   mc.head_dim * static_cast<int64_t>(c10::elementSize(model.options().dtype));
  // Full KV's time to first token from a plain prefill like the pipelines' (the capture's own prefill
  // also records what the oracle and the heuristics read, so it is not the baseline's cost).
  const auto start = std::chrono::steady_clock::now();
  run_prefill(model, ids, PipelineConfig{});
  const double full_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  results.push_back({{"method", "full"},
                     {"keep", 1.0},
                     {"answer", full_answer},
                     {"score", score_sample(s, full_answer)},
                     {"kept_tokens", ids.size()},
                     {"cache_bytes", full_cache_bytes},
                     {"prefill_seconds", full_seconds}});

  GenerationOptions gen;
  gen.max_new_tokens = s.max_new_tokens;
  gen.eos_ids = stops;
  const PromptFormat format{&tok, s.chat && chat ? &*chat : nullptr};
  PipelineInputs inputs{full.oracle, seed_of(s.id), &format};
  inputs.context_end = static_cast<int64_t>(prompt.context_token_span.second);  // the kvpress protocol's split
  const auto evidence = evidence_spans(prompt);  // gold token spans, for the budget diagnostics
  for (const Pipeline& pipeline : pipelines) {
    for (double keep : c.keep_rates) {
      const auto start = std::chrono::steady_clock::now();
      PrefillOutcome p = run_prefill(model, ids, pipeline.at_keep(keep), inputs);  // first_token read: synchronised
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      int64_t cache_bytes = p.cache_bytes, kept = p.kept.numel();
      std::string answer = answer_text(tok, stops, decode_greedy(model, p, gen));
      nlohmann::json result = {{"method", pipeline.config.label},  {"keep", keep},        {"answer", answer},
                               {"score", score_sample(s, answer)}, {"kept_tokens", kept}, {"cache_bytes", cache_bytes},
                               {"prefill_seconds", seconds}};
      if (auto d = budget_diagnostics(p, evidence)) result["diagnostics"] = to_json(*d);
      results.push_back(result);
    }
  }
  return results;
}

// e2e mode (method.md §4): the full-KV answer (from the capture, which also gives the oracle the
// "oracle" method needs), then every method × keep rate on the same prompt, each answer scored.
nlohmann::json evaluate_sample_e2e(const RunConfig& c, const Transformer& model, const Tokenizer& tok,
                                   const std::optional<ChatTemplate>& chat, const std::vector<int64_t>& stops,
                                   const std::vector<Pipeline>& pipelines, const Item& item, nlohmann::json& timing) {
  const Sample& s = item.sample;
  PromptBuild prompt = sample_prompt(model, tok, chat, s);
  std::vector<int64_t> ids(prompt.ids.begin(), prompt.ids.end());

  OracleCapture full = capture_with_oracle(model, ids, capture_options(c, s, stops), c.oracle);
  timing = {{"id", s.id}, {"full_prefill_seconds", full.prefill_seconds}};
  return {{"id", s.id},
          {"index", item.index},
          {"mode", "e2e"},
          {"task", s.task},
          {"dataset", item.dataset},
          {"category", sample_category(s)},
          {"prompt_tokens", ids.size()},
          {"max_score", sample_max_score(s)},
          {"results", pipeline_results(c, model, tok, chat, stops, pipelines, s, prompt, ids, full)}};
}

// The layer whose ranking a pipeline acts on (its l_p): the FastKV architecture's prune layer,
// GemFilter's filter layer; −1 where no single layer does (kvpress compresses every layer, LazyLLM
// prunes at several, SpecPrefill's ranking is the same at every layer): reports then use the mean over
// layers (method.md §5 "Predictive validity").
int rank_layer(const Pipeline& p) {
  switch (p.config.kind()) {
    case PipelineKind::FastKVStyle: return p.config.prune_layer;
    case PipelineKind::GemFilter: return p.config.filter_layer;
    default: return -1;
  }
}

// both mode (method.md §5 "Predictive validity"): one capture with the oracle, then, on the same sample,
// the rank metrics of every pipeline's own selection ranking (the heuristic object the pipeline prunes
// with, keyed by the pipeline's label) and every pipeline's answer and score. The record is an e2e record
// that also carries a rank record's fields, so both reports read it.
nlohmann::json evaluate_sample_both(const RunConfig& c, const Transformer& model, const Tokenizer& tok,
                                    const std::optional<ChatTemplate>& chat, const std::vector<int64_t>& stops,
                                    const std::vector<Pipeline>& pipelines, const Item& item, nlohmann::json& timing) {
  const Sample& s = item.sample;
  PromptBuild prompt = sample_prompt(model, tok, chat, s);
  std::vector<int64_t> ids(prompt.ids.begin(), prompt.ids.end());

  CaptureOptions options = capture_options(c, s, stops);
  for (const Pipeline& p : pipelines)
    if (p.selection) options.extra |= p.selection->needs();
  OracleCapture capture = capture_with_oracle(model, ids, options, c.oracle);
  const std::string answer = answer_text(tok, stops, capture.answer_tokens);
  nlohmann::json rec = {{"id", s.id},
                        {"index", item.index},
                        {"mode", "both"},
                        {"task", s.task},
                        {"dataset", item.dataset},
                        {"category", sample_category(s)},
                        {"prompt_tokens", ids.size()},
                        {"truncated", prompt.truncated},
                        {"answer", answer},
                        {"empty_answer", capture.empty_answer},
                        {"score", score_sample(s, answer)},
                        {"max_score", sample_max_score(s)},
                        {"oracle_steps", capture.oracle_steps},
                        {"keep_rates", c.keep_rates}};
  timing = {{"id", s.id}, {"prefill_seconds", capture.prefill_seconds}, {"decode_seconds", capture.decode_seconds}};
  if (!capture.empty_answer) {  // no answer, no oracle: the pipelines still run, the rank metrics cannot
    const int64_t oracle_nonfinite = (~at::isfinite(capture.oracle)).sum().item<int64_t>();
    if (oracle_nonfinite > 0) rec["oracle_nonfinite"] = oracle_nonfinite;
    const PromptFormat format{&tok, s.chat && chat ? &*chat : nullptr};
    EvalOptions eval = rank_options(c, model, s, prompt, ids, format);
    eval.record_kept_sets = item.position < c.token_views;
    nlohmann::json heuristics = nlohmann::json::object(), layers = nlohmann::json::object();
    nlohmann::json kept = nlohmann::json::object();
    for (const Pipeline& p : pipelines) {
      if (!p.selection) continue;  // full KV and the oracle emulation have no ranking to measure
      HeuristicEval e = evaluate_heuristic(*p.selection, capture, eval);
      nlohmann::json j = to_json(e, c.keep_rates);
      j.erase("name");
      j.erase("keep_rates");
      heuristics[p.config.label] = j;
      if (eval.record_kept_sets) kept[p.config.label] = e.kept_sets;
      const int l = rank_layer(p);
      layers[p.config.label] = l >= 0 ? nlohmann::json(l) : nlohmann::json(nullptr);
    }
    rec["heuristics"] = heuristics;
    rec["rank_layers"] = layers;
    if (eval.record_kept_sets) rec["token_view"] = sample_token_view(c, tok, s, ids, capture.oracle, eval, kept);
  }
  rec["results"] = pipeline_results(c, model, tok, chat, stops, pipelines, s, prompt, ids, capture);
  return rec;
}

// Every sample the config yields (before sharding and --limit), as the bytes samples.jsonl-style
// dumps give: a changed generator, data file or tokenizer changes it.
std::string samples_fingerprint(const std::vector<Item>& items) {
  uint64_t h = kFnvOffset;
  for (const Item& it : items) h = fnv1a(sample_to_json(it.sample).dump() + "\n", h);
  return fingerprint_text(h);
}

// The data files each dataset reads (dataset_input_paths: a jsonl file, a benchmark folder, the essay
// haystack, SQuAD / HotpotQA files) with their hashes, for run.json.
nlohmann::json dataset_files(const RunConfig& c) {
  nlohmann::json out = nlohmann::json::array();
  for (const DatasetSection& d : c.datasets) {
    nlohmann::json files = nlohmann::json::object();
    for (const std::string& p : dataset_input_paths(parse_dataset_spec(d.spec), d.options))
      if (std::filesystem::exists(p)) files[p] = path_fingerprint(p);
    out.push_back({{"spec", d.spec}, {"length", d.options.length}, {"files", files}});
  }
  return out;
}

// run.json of the folder being resumed (null when there is none).
nlohmann::json read_run_json(const std::string& dir) {
  const std::string path = dir + "/run.json";
  if (!fs::exists(path)) return nullptr;
  std::ifstream in(path);
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  require(!j.is_discarded() && j.is_object(), path + ": not valid JSON; cannot check what --resume would continue");
  return j;
}

void append_line(const std::string& path, const nlohmann::json& j) {
  std::ofstream out(path, std::ios::app);
  out << j.dump() << "\n";
}

}  // namespace

void parse_shard(const std::string& text, RunOptions& o) {
  size_t slash = text.find('/');
  bool ok = slash != std::string::npos;
  try {
    if (ok) o.shard_index = std::stoi(text.substr(0, slash)), o.shard_count = std::stoi(text.substr(slash + 1));
  } catch (const std::exception&) {
    ok = false;
  }
  require(ok && o.shard_count >= 1 && o.shard_index >= 0 && o.shard_index < o.shard_count,
          "--shard '" + text + "': expected i/n with 0 <= i < n");
}

std::string run_experiment(const RunConfig& c, const RunOptions& o) {
  const std::string dir = o.out.empty() ? c.output : o.out;
  // Hold the folder for the whole run. Taking the lock also proves the folder is writable, so a
  // wrong --out fails here, before the slow model load.
  RunFolderLock lock(dir);
  if (lock.stale_pid() != 0)
    fmt::print(stderr, "note: taking over {}: its lock was left by pid {}, which is no longer running\n", dir,
               lock.stale_pid());

  // --resume continues only the run run.json describes: checked step by step as each part is
  // known, and always before anything is appended. Config and shard first (nothing loaded yet).
  const nlohmann::json previous = o.resume ? read_run_json(dir) : nlohmann::json();
  RunIdentity identity{c.resolved, fmt::format("{}/{}", o.shard_index, o.shard_count), "", ""};
  if (o.resume) check_resume(dir, previous, identity);
  ResultsFile results(dir + "/samples.jsonl", o.resume);
  identity.model_fingerprint =
      o.model_fingerprint.empty() ? model_fingerprint(resolve_model(c.model.path)) : o.model_fingerprint;
  if (o.resume) check_resume(dir, previous, identity);

  at::set_num_threads(c.model.threads > 0 ? c.model.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  RuntimeOptions runtime;
  runtime.device = parse_device(c.model.device);
  for (const std::string& d : c.model.devices) runtime.devices.push_back(parse_device(d));
  runtime.dtype = parse_dtype(c.model.dtype);
  LoadedModel m = load_model(c.model.path, runtime);
  auto tok = model_tokenizer(m);
  require(tok != nullptr, c.model.path + ": the model has no tokenizer");
  std::optional<ChatTemplate> chat = chat_template_for(*tok);
  std::vector<int64_t> stops = stop_ids(m, tok.get());

  // Heuristics and pipelines are built once per run, then shared by every sample.
  std::vector<std::unique_ptr<Heuristic>> heuristics;
  for (const HeuristicSection& h : c.heuristics) heuristics.push_back(make_heuristic(h.name, h.params));
  std::vector<Pipeline> pipelines;
  if (c.runs_pipelines())
    for (const PipelineConfig& pc : c.e2e_methods) pipelines.push_back(make_pipeline(pc, m.model->n_layers()));

  std::vector<Item> all = load_items(c, *tok, chat), mine;
  identity.samples_fingerprint = samples_fingerprint(all);
  if (o.resume) check_resume(dir, previous, identity);
  for (Item& it : all)
    if (it.index % o.shard_count == o.shard_index) mine.push_back(std::move(it));
  if (o.limit > 0 && static_cast<int64_t>(mine.size()) > o.limit) mine.resize(static_cast<size_t>(o.limit));

  // A resumed run keeps the run.json it was checked against (its start date, its provenance).
  if (previous.is_null()) {
    nlohmann::json run = {{"config", c.resolved}, {"shard", identity.shard}, {"samples", mine.size()}};
    // A layer split records its devices; "device" stays one name where they are all alike ("cpu"
    // for a CPU split), so CPU-only tolerances of `claa check` still apply.
    std::string device = c.model.device;
    if (!c.model.devices.empty()) {
      device = c.model.devices.front();
      for (const std::string& d : c.model.devices)
        if (d != c.model.devices.front()) device = fmt::format("{}", fmt::join(c.model.devices, ","));
    }
    run.update(provenance(m, device, c.model.dtype));
    if (!c.model.devices.empty()) run["devices"] = c.model.devices;
    run["dataset_samples"] = identity.samples_fingerprint;
    run["dataset_files"] = dataset_files(c);
    run["statistics"] = statistics_json(c.statistics);  // the reports' seeds and resample counts
    write_file_atomically(dir + "/run.json", run.dump(2) + "\n");
  }

  int64_t done = 0;
  for (const Item& it : mine) done += results.completed_ids().count(it.sample.id);
  Progress progress(static_cast<int64_t>(mine.size()), done);
  for (const Item& it : mine) {
    if (results.completed_ids().count(it.sample.id)) continue;
    progress.update(done, it.sample.id);
    nlohmann::json timing;
    if (c.mode == "both")
      results.append(evaluate_sample_both(c, *m.model, *tok, chat, stops, pipelines, it, timing));
    else if (c.mode == "e2e")
      results.append(evaluate_sample_e2e(c, *m.model, *tok, chat, stops, pipelines, it, timing));
    else
      results.append(evaluate_sample(c, *m.model, *tok, chat, stops, heuristics, it, timing));
    append_line(dir + "/timings.jsonl", timing);
    ++done;
  }
  progress.update(done, "done");
  progress.finish();
  if (o.reports) write_run_reports(dir);
  return dir;
}

}  // namespace claa
