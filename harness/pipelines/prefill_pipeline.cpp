#include "harness/pipelines/prefill_pipeline.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>

#include "capture/capture.h"
#include "core/error.h"
#include "heuristics/heuristic.h"
#include "selection/budget.h"
#include "selection/selection.h"

namespace claa {

namespace {

at::TensorOptions long_on(const at::Device& d) { return at::TensorOptions().dtype(at::kLong).device(d); }

PrefillOutcome finish(const Transformer& model, KVCache cache, const at::Tensor& hidden, int64_t next_position,
                      at::Tensor kept, at::Tensor positions) {
  PrefillOutcome out;
  out.cache = std::move(cache);
  at::Tensor logits = model.logits(hidden.narrow(0, hidden.size(0) - 1, 1)).squeeze(0);
  out.first_token = logits.argmax().item<int64_t>();
  out.first_logits = logits.to(at::kCPU);
  out.next_position = next_position;
  out.kept = kept.to(at::kCPU);
  out.kept_positions = positions.to(at::kCPU);
  out.cache_bytes = out.cache.live_bytes();
  return out;
}

PrefillOutcome prefill_full(const Transformer& model, const at::Tensor& ids) {
  const int64_t n = ids.size(0);
  KVCache cache = model.make_cache();
  at::Tensor pos = at::arange(n, long_on(model.options().device));
  at::Tensor hidden = model.forward(ids, pos, cache, nullptr, /*last_rows=*/1);
  return finish(model, std::move(cache), hidden, n, at::arange(n, at::kLong), pos);
}

// The selection ranking of a pipeline: a registered heuristic — scored layer by layer from what
// this prefill captures (online heuristics), or from a full capture made first (the others, unless
// they read no capture, like KVzip; the cost is part of the prefill) — or the oracle ranking handed in.
class Selection {
 public:
  Selection(const Transformer& model, const std::vector<int64_t>& prompt, const Pipeline& pipeline,
            const PipelineInputs& inputs, CaptureResult& seen)
      : model_(model), prompt_(prompt), inputs_(inputs), seen_(seen), heuristic_(pipeline.selection.get()) {
    if (pipeline.config.selects_by_oracle()) {
      require(inputs.oracle.defined() && inputs.oracle.numel() == static_cast<int64_t>(prompt.size()),
              "oracle pipeline: needs the oracle ranking of this prompt");
      oracle_ = inputs.oracle.to(model.options().device);
      return;
    }
    require(heuristic_ != nullptr, "pipeline '" + pipeline.config.label + "' has no selection heuristic");
    if (!heuristic_->online()) offline_ = score_from_full_capture(pipeline.config);
  }

  // How the selection splits the budget over layers / heads (uniform for the oracle).
  BudgetAllocation allocation() const { return heuristic_ ? heuristic_->allocation() : BudgetAllocation{}; }

  // What the prefill must capture per layer for this selection.
  CaptureNeeds needs() const { return heuristic_ && heuristic_->online() ? heuristic_->needs() : CaptureNeeds{}; }

  // Scores at `layer` (layers 0..layer of `seen` are captured).
  LayerScores at(int layer) const {
    if (oracle_.defined()) return {oracle_.unsqueeze(0), oracle_, {}};
    if (offline_) return {offline_->per_head.at(layer), offline_->combined.at(layer), {}};
    return heuristic_->score_layer(input(), layer);
  }

 private:
  HeuristicInput input() const { return {seen_, inputs_.sample_seed, &prompt_, &model_, inputs_.format}; }

  std::optional<HeuristicScores> score_from_full_capture(const PipelineConfig& c) const {
    if (!heuristic_->reads_capture()) return heuristic_->score(input());  // nothing to capture first
    CaptureOptions options;
    options.window = std::min<int>(c.window, static_cast<int>(prompt_.size()) - 1);
    options.extra = heuristic_->needs();
    // As many answer tokens as its statistics read (a look-ahead); EOS ignored as in the draft method.
    options.max_new_tokens = std::max<int64_t>(1, options.extra.answer_steps());
    CaptureResult full = capture_prompt(model_, prompt_, options);
    return heuristic_->score({full, inputs_.sample_seed, &prompt_, &model_, inputs_.format});
  }

  const Transformer& model_;
  const std::vector<int64_t>& prompt_;
  const PipelineInputs& inputs_;
  CaptureResult& seen_;
  const Heuristic* heuristic_;
  std::optional<HeuristicScores> offline_;
  at::Tensor oracle_;
};

// A layer's per-KV-head rows for decode-cache compression: [H_kv, M] (a single ranking is used
// for every head).
at::Tensor rows_per_kv_head(const at::Tensor& rows, int64_t n_kv_heads) {
  at::Tensor r = rows.dim() == 1 ? rows.unsqueeze(0) : rows;
  if (r.size(0) == n_kv_heads) return r;
  require(r.size(0) == 1, "pipeline: a selection's per-head scores must have H_kv rows or one row");
  return r.expand({n_kv_heads, r.size(1)});
}

CaptureResult empty_capture(const Transformer& model, int64_t n, int window) {
  CaptureResult seen;
  seen.n_prompt = n;
  seen.window = window;
  seen.n_kv_heads = static_cast<int>(model.config().n_kv_heads);
  seen.rope_inv_freq = model.rope_frequencies(n).to(at::kCPU);
  seen.layers.resize(model.n_layers());
  return seen;
}

// A layer's decode-cache budget: C, or PyramidKV's share of the C − W free slots plus the window.
// The pyramid spans the layers whose caches the selection compresses, m..l_p: the layers after l_p
// hold the C propagated tokens whatever the split, so a pyramid over all L layers would hand
// m..l_p its above-average bottom shares and overspend the uniform total (method.md §6).
int64_t layer_cache_budget(const BudgetAllocation& a, int64_t budget, int64_t n, int64_t window, int layer,
                           const PipelineConfig& c) {
  if (a.kind != BudgetAllocation::Kind::Pyramid) return budget;
  const int first = c.first_compressed_layer, compressed = c.prune_layer - first + 1;
  return window + pyramid_layer_budget(budget - window, n - window, layer - first, compressed, a.beta);
}

// Keeps `budget` rows per KV head of layer l's cache by the per-head scores `rows` [H_kv, M] (window
// forced), or, for a head-adaptive allocation (AdaKV, KVzip), H_kv·budget rows split unevenly over the
// heads (keep_adaptive_per_head; the cache masks each head's padding). Returns the kept indices
// [H_kv, max C_g], −1 past a head's count; left on the device (a copy here would stall it each layer).
at::Tensor compress_layer_cache(KVCache& cache, int l, const at::Tensor& rows, const BudgetAllocation& allocation,
                                int64_t budget, int64_t n, int64_t window) {
  if (allocation.kind != BudgetAllocation::Kind::HeadAdaptive) {
    at::Tensor per_head = keep_window_plus_top_per_row(rows, n, budget, window);
    cache.keep_per_head(l, per_head);
    return per_head;
  }
  const std::vector<at::Tensor> heads = keep_adaptive_per_head(rows, n, budget, window, allocation.alpha_safeguard);
  cache.keep_ragged(l, heads);
  int64_t widest = 0;
  for (const at::Tensor& h : heads) widest = std::max(widest, h.numel());
  at::Tensor kept = at::full({static_cast<int64_t>(heads.size()), widest}, -1, heads.front().options());
  for (size_t g = 0; g < heads.size(); ++g)
    kept[static_cast<int64_t>(g)].narrow(0, 0, heads[g].numel()).copy_(heads[g]);
  return kept;
}

// FastKV, CLAA, the oracle emulation and any heuristic ("fastkv_style") share one architecture:
// full prefill through l_p with per-layer, per-KV-head decode-cache compression (layers >= m),
// token-selective propagation at l_p by the selection's ranking, original position ids kept.
PrefillOutcome prefill_selective(const Transformer& model, const std::vector<int64_t>& prompt, const at::Tensor& ids,
                                 const Pipeline& pipeline, const PipelineInputs& inputs) {
  const PipelineConfig& c = pipeline.config;
  const int64_t n = ids.size(0), W = c.window, Hkv = model.config().n_kv_heads;
  const int64_t budget = budget_tokens(c.keep, n, c.window);
  const at::Device device = model.options().device;
  const bool fastkv_cache = c.cache_rule() == CacheScores::FastKV;

  CaptureResult seen = empty_capture(model, n, c.window);
  Selection selection(model, prompt, pipeline, inputs, seen);
  CaptureNeeds needs = selection.needs();
  if (fastkv_cache) needs.window_attn = true;  // each layer's own S[l, g, :] compresses its cache
  PrefillCaptureTap tap(model.config(), n, c.window, needs, device, seen, model.rope_frequencies(n));
  const bool tapped = needs.any();
  const BudgetAllocation allocation = selection.allocation();

  KVCache cache = model.make_cache();
  at::Tensor x = model.embed(ids), pos = at::arange(n, long_on(device)), kept = at::arange(n, long_on(device));
  std::vector<at::Tensor> cache_kept(model.n_layers());
  std::optional<PrefillOutcome::SelectionRows> selection_rows;
  for (int l = 0; l < model.n_layers(); ++l) {
    if (l > c.prune_layer) {  // the last layer's other rows are never read: `finish` takes the last token's
      x = model.run_layer(l, x, pos, cache, nullptr, l + 1 == model.n_layers() ? 1 : 0);
      continue;
    }
    x = model.run_layer(l, x, pos, cache, tapped ? &tap : nullptr);
    tap.complete_layer(l);
    if (l == c.prune_layer) tap.finish_statistics();  // the last layer the selection reads
    const bool compress = l >= c.first_compressed_layer && budget < n;
    std::optional<LayerScores> scores;
    if (l == c.prune_layer || (compress && !fastkv_cache)) scores = selection.at(l);
    if (compress) {
      at::Tensor rows = fastkv_cache ? window_scores_from_attention(seen.layers[l].window_attn, Hkv, c.window, c.pool)
                                     : rows_per_kv_head(scores->per_head, Hkv);
      cache_kept[l] =
          compress_layer_cache(cache, l, rows, allocation, layer_cache_budget(allocation, budget, n, W, l, c), n, W);
    }
    if (l == c.prune_layer) {
      at::Tensor idx = keep_window_plus_top(scores->combined.to(device), n, budget, W);
      x = x.index_select(0, idx.to(x.device()));  // x is on layer l's device under a split
      pos = pos.index_select(0, idx);  // original position ids travel with their tokens
      kept = idx;
      if (scores->rows.values.defined())  // the forced window belongs to no row
        selection_rows = PrefillOutcome::SelectionRows{scores->rows, idx.narrow(0, 0, budget - W), l, c.keep};
    }
  }
  PrefillOutcome out = finish(model, std::move(cache), x, n, kept, pos);
  out.selection_rows = std::move(selection_rows);
  for (at::Tensor& t : cache_kept)
    if (t.defined()) t = t.to(at::kCPU);
  out.cache_kept = std::move(cache_kept);
  return out;
}

// The ranking of a one-shot selection (GemFilter, SpecPrefill): the selection heuristic at
// `layer` after prefilling layers 0..layer of the full prompt (online), or from a full capture.
at::Tensor one_shot_ranking(const Transformer& model, const std::vector<int64_t>& prompt, const at::Tensor& ids,
                            const Pipeline& pipeline, const PipelineInputs& inputs, int layer) {
  const PipelineConfig& c = pipeline.config;
  const int64_t n = ids.size(0);
  CaptureResult seen = empty_capture(model, n, c.window);
  Selection selection(model, prompt, pipeline, inputs, seen);
  CaptureNeeds needs = selection.needs();
  if (needs.any()) {
    PrefillCaptureTap tap(model.config(), n, c.window, needs, model.options().device, seen, model.rope_frequencies(n));
    KVCache scratch = model.make_cache();
    at::Tensor x = model.embed(ids), pos = at::arange(n, long_on(model.options().device));
    for (int l = 0; l <= layer; ++l) {
      x = model.run_layer(l, x, pos, scratch, &tap);
      tap.complete_layer(l);
    }
    tap.finish_statistics();
  }
  return selection.at(layer).combined;
}

// GemFilter: layers 0..l_f over the full prompt, rank by the selection heuristic at l_f (GemFilter's
// last query's summed dot products, pool 5), keep the top C (nothing forced), then run the whole
// model again on those tokens with positions renumbered 0..C−1.
PrefillOutcome prefill_gemfilter(const Transformer& model, const std::vector<int64_t>& prompt, const at::Tensor& ids,
                                 const Pipeline& pipeline, const PipelineInputs& inputs) {
  const PipelineConfig& c = pipeline.config;
  const int64_t n = ids.size(0), budget = budget_tokens(c.keep, n, c.window);
  const at::Device device = model.options().device;
  at::Tensor idx =
      top_k_sorted(one_shot_ranking(model, prompt, ids, pipeline, inputs, c.filter_layer), budget).to(device);
  KVCache cache = model.make_cache();
  at::Tensor renumbered = at::arange(budget, long_on(device));
  at::Tensor hidden = model.forward(ids.index_select(0, idx), renumbered, cache, nullptr, /*last_rows=*/1);
  return finish(model, std::move(cache), hidden, budget, idx, renumbered);
}

// Speculative Prefill: the selection ranks the prompt (by default the self-draft look-ahead score:
// the model prefills and decodes k look-ahead tokens, its pooled attention ranks the prompt), and
// the target prefills only the top C (or the best 64-token chunks) at their original positions.
PrefillOutcome prefill_specprefill(const Transformer& model, const std::vector<int64_t>& prompt, const at::Tensor& ids,
                                   const Pipeline& pipeline, const PipelineInputs& inputs) {
  const PipelineConfig& c = pipeline.config;
  const int64_t n = ids.size(0), budget = budget_tokens(c.keep, n, c.window);
  at::Tensor scores = one_shot_ranking(model, prompt, ids, pipeline, inputs, model.n_layers() - 1);
  at::Tensor idx = c.spec_chunk > 0 ? top_chunks_sorted(scores, budget, c.spec_chunk) : top_k_sorted(scores, budget);
  idx = idx.to(model.options().device);
  KVCache cache = model.make_cache();
  at::Tensor pos = idx;  // original positions
  at::Tensor hidden = model.forward(ids.index_select(0, idx), pos, cache, nullptr, /*last_rows=*/1);
  int64_t last_kept = idx[idx.size(0) - 1].item<int64_t>();
  return finish(model, std::move(cache), hidden, last_kept + 1, idx, pos);
}

// The layers at which the progressive pipeline prunes: ⌊f·L⌋ per stage, sorted, each once.
std::vector<int> stage_layers(const std::vector<double>& stages, int n_layers) {
  std::vector<int> layers;
  for (double f : stages) layers.push_back(std::clamp(static_cast<int>(std::floor(f * n_layers)), 0, n_layers - 1));
  std::sort(layers.begin(), layers.end());
  layers.erase(std::unique(layers.begin(), layers.end()), layers.end());
  return layers;
}

// LazyLLM (Fu et al. 2024, arXiv 2407.14057, §3.2–3.3; no public code): progressive pruning during
// the prefill. At stage layer l_i the tokens still alive are ranked by the selection heuristic at
// that layer, computed over the alive tokens only (by default the last token's attention averaged
// over the heads), and the top ones survive: max(C, ⌈N · keep^(i/S)⌉) after stage i < S and C after
// the last stage S, the last W prompt tokens always kept (the forced window of every FastKV-style
// method; it holds the query token LazyLLM always keeps). Pruned tokens are not computed in later
// layers, so each layer's KV cache holds the tokens alive at that layer; original position ids
// travel with their tokens (and, being prompt indices, also say which tokens were kept).
// LazyLLM's aux cache (reviving pruned tokens for later decode steps) is not modelled: the prompt's
// pruned states are never recomputed here. The geometric schedule is this project's choice (the
// paper gives percentiles per stage without one rule); `stages` sets the layers.
PrefillOutcome prefill_progressive(const Transformer& model, const std::vector<int64_t>& prompt, const at::Tensor& ids,
                                   const Pipeline& pipeline, const PipelineInputs& inputs) {
  const PipelineConfig& c = pipeline.config;
  const int64_t n = ids.size(0), W = c.window, budget = budget_tokens(c.keep, n, c.window);
  const at::Device device = model.options().device;
  const Heuristic* heuristic = pipeline.selection.get();
  require(heuristic != nullptr && heuristic->online(),
          "lazyllm pipeline: the stage ranking '" + c.heuristic +
              "' needs a full capture; pick one computed from a single layer");
  const std::vector<int> stages = stage_layers(c.stages, model.n_layers());
  KVCache cache = model.make_cache();
  at::Tensor x = model.embed(ids), pos = at::arange(n, long_on(device));
  size_t next_stage = 0;
  for (int l = 0; l < model.n_layers(); ++l) {
    if (next_stage >= stages.size() || l != stages[next_stage]) {
      x = model.run_layer(l, x, pos, cache, nullptr, l + 1 == model.n_layers() ? 1 : 0);  // `finish` reads one row
      continue;
    }
    // The alive tokens are this stage's whole "prompt": the tap captures layer l over them.
    const int64_t alive = x.size(0);
    CaptureResult seen = empty_capture(model, alive, c.window);
    // The alive tokens keep their positions in the n-token prompt: its frequencies (LongRoPE).
    seen.rope_inv_freq = model.rope_frequencies(n).to(at::kCPU);
    PrefillCaptureTap tap(model.config(), alive, c.window, heuristic->needs(), device, seen, model.rope_frequencies(n));
    x = model.run_layer(l, x, pos, cache, &tap);
    tap.complete_layer(l);
    tap.finish_statistics();
    ++next_stage;
    const double share = std::pow(c.keep, static_cast<double>(next_stage) / static_cast<double>(stages.size()));
    const int64_t target = next_stage == stages.size()
                               ? budget
                               : std::max(budget, static_cast<int64_t>(std::ceil(share * static_cast<double>(n) - 1e-9)));
    if (target >= alive) continue;
    at::Tensor scores = heuristic->score_layer({seen, inputs.sample_seed, &prompt, &model, inputs.format}, l).combined;
    at::Tensor idx = keep_window_plus_top(scores.to(device), alive, target, W).to(x.device());
    x = x.index_select(0, idx);
    pos = pos.index_select(0, idx.to(pos.device()));
  }
  return finish(model, std::move(cache), x, n, pos, pos);
}

// kvpress's protocol (NVIDIA/kvpress pipeline.py + presses/base_press.py forward_hook): the compressed
// part — the prompt up to the context's end (query-agnostic, kvpress's default), or all but the last
// token (query-aware) — is prefilled in full; after each layer, its cache keeps int(keep · N_c) rows
// per KV head by the heuristic's per-head scores at that layer (ScorerPress.compress: top-k of the
// scores, k = int(k_len · (1 − compression_ratio))). What a claa heuristic always keeps (the last
// W positions a window score leaves out, N − N') is kept here too, as kvpress pads such positions
// with max + 1. Then the rest of the prompt (the question) runs on the compressed caches with its
// original positions, and its last token gives the first answer token.
PrefillOutcome prefill_kvpress(const Transformer& model, const std::vector<int64_t>& prompt, const at::Tensor& ids,
                               const Pipeline& pipeline, const PipelineInputs& inputs) {
  const PipelineConfig& c = pipeline.config;
  const int64_t n = ids.size(0), Hkv = model.config().n_kv_heads;
  const bool query_aware = c.method == "kvpress_query_aware";
  require(query_aware || inputs.context_end > 0,
          "pipeline '" + c.label +
              "': the query-agnostic kvpress protocol needs where the context ends (e2e runs "
              "give it); kvpress_query_aware compresses the whole prompt");
  const int64_t split = query_aware ? n - 1 : std::min<int64_t>(inputs.context_end, n - 1);
  require(split > c.window, "pipeline '" + c.label + "': the compressed part must be longer than the window W");
  const std::vector<int64_t> part(prompt.begin(), prompt.begin() + split);
  const int64_t kept_rows =
      std::max<int64_t>(1, static_cast<int64_t>(std::floor(c.keep * static_cast<double>(split) + 1e-9)));
  const at::Device device = model.options().device;

  CaptureResult seen = empty_capture(model, split, c.window);
  Selection selection(model, part, pipeline, inputs, seen);
  const CaptureNeeds needs = selection.needs();
  PrefillCaptureTap tap(model.config(), split, c.window, needs, device, seen, model.rope_frequencies(split));
  const BudgetAllocation allocation = selection.allocation();
  KVCache cache = model.make_cache();
  at::Tensor x = model.embed(ids.narrow(0, 0, split)), pos = at::arange(split, long_on(device));
  std::vector<at::Tensor> cache_kept(model.n_layers());
  for (int l = 0; l < model.n_layers(); ++l) {
    x = model.run_layer(l, x, pos, cache, needs.any() ? &tap : nullptr);
    tap.complete_layer(l);
    if (l == model.n_layers() - 1) tap.finish_statistics();
    if (kept_rows >= split) continue;
    const at::Tensor rows = rows_per_kv_head(selection.at(l).per_head, Hkv);
    const int64_t always = split - std::min<int64_t>(rows.size(1), split);  // what the scores leave out: kept
    int64_t budget = std::max(kept_rows, always + 1);
    if (allocation.kind == BudgetAllocation::Kind::Pyramid)  // kvpress PyramidKV: a pyramid over every layer
      budget = always + pyramid_layer_budget(budget - always, split - always, l, model.n_layers(), allocation.beta);
    cache_kept[l] = compress_layer_cache(cache, l, rows, allocation, budget, split, always);
  }
  // The question on the compressed caches, at its original positions.
  at::Tensor rest = ids.narrow(0, split, n - split);
  at::Tensor hidden = model.forward(rest, at::arange(split, n, long_on(device)), cache, nullptr, /*last_rows=*/1);
  PrefillOutcome out = finish(model, std::move(cache), hidden, n, at::arange(n, at::kLong), at::arange(n, at::kLong));
  for (at::Tensor& t : cache_kept)
    if (t.defined()) t = t.to(at::kCPU);
  out.cache_kept = std::move(cache_kept);
  return out;
}

}  // namespace

Pipeline Pipeline::at_keep(double keep) const {
  Pipeline p = *this;
  p.config.keep = keep;
  p.config.validate();
  return p;
}

Pipeline make_pipeline(const PipelineConfig& config, int n_layers) {
  config.validate();
  Pipeline p{config.resolved(n_layers), nullptr};
  if (p.config.kind() != PipelineKind::Full && !p.config.selects_by_oracle())
    p.selection = make_heuristic(p.config.heuristic, p.config.selection_params());
  return p;
}

PrefillOutcome run_prefill(const Transformer& model, const std::vector<int64_t>& prompt_ids, const Pipeline& pipeline,
                           const PipelineInputs& inputs) {
  const PipelineConfig& c = pipeline.config;
  require(static_cast<int64_t>(prompt_ids.size()) > c.window,
          "prefill: the prompt must be longer than the window W = " + std::to_string(c.window));
  at::Tensor ids = at::tensor(prompt_ids, at::kLong).to(model.options().device);
  switch (c.kind()) {
    case PipelineKind::Full: return prefill_full(model, ids);
    case PipelineKind::GemFilter: return prefill_gemfilter(model, prompt_ids, ids, pipeline, inputs);
    case PipelineKind::SpecPrefill: return prefill_specprefill(model, prompt_ids, ids, pipeline, inputs);
    case PipelineKind::Progressive: return prefill_progressive(model, prompt_ids, ids, pipeline, inputs);
    case PipelineKind::KvPress: return prefill_kvpress(model, prompt_ids, ids, pipeline, inputs);
    case PipelineKind::FastKVStyle: break;
  }
  return prefill_selective(model, prompt_ids, ids, pipeline, inputs);
}

PrefillOutcome run_prefill(const Transformer& model, const std::vector<int64_t>& prompt_ids,
                           const PipelineConfig& config, const PipelineInputs& inputs) {
  return run_prefill(model, prompt_ids, make_pipeline(config, model.n_layers()), inputs);
}

std::optional<BudgetDiagnostics> budget_diagnostics(const PrefillOutcome& p,
                                                    const std::vector<std::pair<int64_t, int64_t>>& evidence) {
  if (!p.selection_rows) return std::nullopt;
  const PrefillOutcome::SelectionRows& s = *p.selection_rows;
  return diagnose_rows(s.rows, s.layer, {s.keep}, {s.free_slots}, evidence);
}

std::vector<int64_t> decode_greedy(const Transformer& model, PrefillOutcome& p, const GenerationOptions& options) {
  std::vector<int64_t> tokens;
  int64_t next = p.first_token;
  const at::Device device = model.options().device;
  for (int64_t step = 0;; ++step) {
    tokens.push_back(next);
    if (std::find(options.eos_ids.begin(), options.eos_ids.end(), next) != options.eos_ids.end()) break;
    if (step + 1 >= options.max_new_tokens) break;
    at::Tensor token = at::full({1}, next, long_on(device));
    at::Tensor position = at::full({1}, p.next_position + step, long_on(device));
    next = model.logits(model.forward(token, position, p.cache)).squeeze(0).argmax().item<int64_t>();
  }
  return tokens;
}

}  // namespace claa
