#include "harness/pipelines/prefill_pipeline.h"

#include <algorithm>

#include "harness/capture/capture.h"
#include "harness/pipelines/selection.h"
#include "harness/util/error.h"
#include "heuristics/heuristic.h"
#include "oracle/oracle.h"

namespace claa {

namespace {

at::TensorOptions long_on(const at::Device& d) { return at::TensorOptions().dtype(at::kLong).device(d); }

int64_t first_token_of(const Transformer& model, const at::Tensor& hidden) {
  return model.logits(hidden.narrow(0, hidden.size(0) - 1, 1)).squeeze(0).argmax().item<int64_t>();
}

// Keeps the window attention sum of the layer it last saw (full-prompt layers only).
class WindowTap : public LayerTap {
 public:
  explicit WindowTap(int window) : window_(window) {}
  void on_attention_inputs(int, const at::Tensor& q, const at::Tensor& keys, const at::Tensor&) override {
    last = window_attention_sum(q, keys, window_);
  }
  at::Tensor last;

 private:
  int window_;
};

// Captures the last query's raw dot products with the keys, summed over heads (GemFilter).
class LastQueryTap : public LayerTap {
 public:
  explicit LastQueryTap(int layer) : layer_(layer) {}
  void on_attention_inputs(int layer, const at::Tensor& q, const at::Tensor& keys, const at::Tensor&) override {
    if (layer != layer_) return;
    const int64_t H = q.size(0), Hkv = keys.size(0), d = q.size(2);
    at::Tensor ql = q.narrow(1, q.size(1) - 1, 1).to(at::kFloat).reshape({Hkv, H / Hkv, d});
    dots = at::matmul(ql, keys.to(at::kFloat).transpose(1, 2)).sum(std::vector<int64_t>{0, 1});  // [N]
  }
  at::Tensor dots;

 private:
  int layer_;
};

PrefillOutcome finish(const Transformer& model, KVCache cache, const at::Tensor& hidden, int64_t next_position,
                      at::Tensor kept, at::Tensor positions) {
  PrefillOutcome out;
  out.cache = std::move(cache);
  out.first_token = first_token_of(model, hidden);
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
  at::Tensor hidden = model.forward(ids, pos, cache);
  return finish(model, std::move(cache), hidden, n, at::arange(n, at::kLong), pos);
}

// FastKV, CLAA and the oracle emulation share one architecture: full prefill through l_p with
// per-layer, per-KV-head decode-cache compression (layers >= m), token-selective propagation at l_p.
PrefillOutcome prefill_selective(const Transformer& model, const at::Tensor& ids, const PipelineConfig& c,
                                 const PipelineInputs& inputs) {
  const int64_t n = ids.size(0), W = c.window, Hkv = model.config().n_kv_heads;
  const int64_t budget = budget_tokens(c.keep, n, c.window);
  const at::Device device = model.options().device;
  const bool by_oracle = c.method == "oracle";
  require(!by_oracle || (inputs.oracle.defined() && inputs.oracle.numel() == n),
          "oracle pipeline: needs the oracle ranking of this prompt");
  at::Tensor oracle_keep;
  if (by_oracle) oracle_keep = keep_window_plus_top(inputs.oracle.to(device), n, budget, W);

  KVCache cache = model.make_cache();
  WindowTap tap(c.window);
  at::Tensor x = model.embed(ids), pos = at::arange(n, long_on(device)), kept = at::arange(n, long_on(device));
  std::vector<at::Tensor> claa_rows;  // z-scored window-score rows per layer (CLAA)
  for (int l = 0; l < model.n_layers(); ++l) {
    if (l > c.prune_layer) {
      x = model.run_layer(l, x, pos, cache);
      continue;
    }
    x = model.run_layer(l, x, pos, cache, by_oracle ? nullptr : &tap);
    at::Tensor rows;  // S[l, g, :], [H_kv, N − W]
    if (!by_oracle) rows = window_scores_from_attention(tap.last, Hkv, c.window, c.pool);
    if (c.method == "claa") claa_rows.push_back(zscore_rows(rows));
    if (l >= c.first_compressed_layer && budget < n) {
      at::Tensor per_head = by_oracle ? oracle_keep.unsqueeze(0).expand({Hkv, budget})
                                      : keep_window_plus_top_per_row(rows, n, budget, W);
      cache.keep_per_head(l, per_head);
    }
    if (l == c.prune_layer) {
      at::Tensor idx = by_oracle            ? oracle_keep
                       : c.method == "claa" ? keep_window_plus_top(claa_aggregate(claa_rows, l, c.claa_n), n, budget, W)
                                            : keep_window_plus_top(rows.sum(0), n, budget, W);
      x = x.index_select(0, idx);
      pos = pos.index_select(0, idx);  // original position ids travel with their tokens
      kept = idx;
    }
  }
  return finish(model, std::move(cache), x, n, kept, pos);
}

// GemFilter: layers 0..l_f over the full prompt, rank by the last query's summed dot products
// (pool 5), keep the top C (nothing forced), then run the whole model again on those tokens with
// positions renumbered 0..C−1.
PrefillOutcome prefill_gemfilter(const Transformer& model, const at::Tensor& ids, const PipelineConfig& c) {
  const int64_t n = ids.size(0), budget = budget_tokens(c.keep, n, c.window);
  const at::Device device = model.options().device;
  LastQueryTap tap(c.filter_layer);
  {
    KVCache scratch = model.make_cache();
    at::Tensor x = model.embed(ids), pos = at::arange(n, long_on(device));
    for (int l = 0; l <= c.filter_layer; ++l) x = model.run_layer(l, x, pos, scratch, &tap);
  }
  at::Tensor idx = top_k_sorted(avg_pool_last(tap.dots, c.gemfilter_pool), budget);
  KVCache cache = model.make_cache();
  at::Tensor renumbered = at::arange(budget, long_on(device));
  at::Tensor hidden = model.forward(ids.index_select(0, idx), renumbered, cache);
  return finish(model, std::move(cache), hidden, budget, idx, renumbered);
}

// Speculative Prefill with the model as its own draft: the draft prefills and decodes k look-ahead
// tokens, its pooled look-ahead attention ranks the prompt, and the target prefills only the top C
// (or the best 64-token chunks) at their original positions.
PrefillOutcome prefill_specprefill(const Transformer& model, const std::vector<int64_t>& prompt, const at::Tensor& ids,
                                   const PipelineConfig& c) {
  const int64_t n = ids.size(0), budget = budget_tokens(c.keep, n, c.window);
  CaptureOptions draft;
  draft.window = std::min<int>(c.window, static_cast<int>(n) - 1);
  draft.max_new_tokens = c.spec_lookahead;
  draft.spec_lookahead = c.spec_lookahead;
  draft.spec_pool = c.spec_pool;
  at::Tensor scores = capture_prompt(model, prompt, draft).spec_scores;
  at::Tensor idx = c.spec_chunk > 0 ? top_chunks_sorted(scores, budget, c.spec_chunk) : top_k_sorted(scores, budget);
  idx = idx.to(model.options().device);
  KVCache cache = model.make_cache();
  at::Tensor pos = idx;  // original positions
  at::Tensor hidden = model.forward(ids.index_select(0, idx), pos, cache);
  int64_t last_kept = idx[idx.size(0) - 1].item<int64_t>();
  return finish(model, std::move(cache), hidden, last_kept + 1, idx, pos);
}

}  // namespace

PrefillOutcome run_prefill(const Transformer& model, const std::vector<int64_t>& prompt_ids, const PipelineConfig& config,
                           const PipelineInputs& inputs) {
  config.validate();
  const PipelineConfig c = config.resolved(model.n_layers());
  require(static_cast<int64_t>(prompt_ids.size()) > c.window,
          "prefill: the prompt must be longer than the window W = " + std::to_string(c.window));
  at::Tensor ids = at::tensor(prompt_ids, at::kLong).to(model.options().device);
  if (c.method == "full") return prefill_full(model, ids);
  if (c.method == "gemfilter") return prefill_gemfilter(model, ids, c);
  if (c.method == "specprefill") return prefill_specprefill(model, prompt_ids, ids, c);
  return prefill_selective(model, ids, c, inputs);
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
