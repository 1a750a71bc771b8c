// Prefill pipelines (method.md §4): each turns a prompt into a KV cache and a first token, then
// greedy decoding continues from that cache. Full KV is the baseline; FastKV, CLAA and the oracle
// emulation propagate only C tokens after layer l_p (keeping their original position ids) and
// compress each layer's decode cache per KV head; GemFilter restarts the model on the kept tokens
// with renumbered positions; Speculative Prefill prefills only the tokens its draft ranked highest,
// at their original positions.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <optional>
#include <vector>

#include "evaluation/row_diagnostics.h"
#include "harness/pipelines/pipeline_config.h"
#include "model/generate.h"
#include "model/kv_cache.h"
#include "model/transformer.h"

namespace claa {

struct PrefillOutcome {
  KVCache cache;
  int64_t first_token = -1;
  at::Tensor first_logits;     // [vocab] fp32 CPU: the logits that chose first_token
  int64_t next_position = 0;   // position id of the first generated token
  at::Tensor kept;             // prompt indices propagated past the selection point (CPU int64)
  at::Tensor kept_positions;   // the position ids those tokens carried afterwards
  // Per layer, the prompt indices each KV head's decode cache kept ([H_kv, C] CPU int64; under a
  // head-adaptive allocation [H_kv, max C_g] with −1 past a head's count), or an undefined tensor
  // where the layer caches every token it processed.
  std::vector<at::Tensor> cache_kept;
  int64_t cache_bytes = 0;     // decode cache after prefill
  // FastKV-style selection by a heuristic that aggregates rows (CLAA): its rows at l_p and the
  // C − W free slots they competed for. Evaluation, not part of the method: budget_diagnostics()
  // turns them into the report's diagnostics after the prefill, outside any TTFT timing (inside
  // the prefill they cost CLAA tens of milliseconds of host work at 10K tokens on a GPU).
  struct SelectionRows {
    LayerScores::Rows rows;
    at::Tensor free_slots;  // prompt indices (the forced window excluded)
    int layer = -1;
    double keep = 0;
  };
  std::optional<SelectionRows> selection_rows;
};

// A pipeline ready to run: its settings resolved for the model and its selection heuristic, built
// once (per run) and shared by every prompt and keep rate.
struct Pipeline {
  PipelineConfig config;                       // resolved (PipelineConfig::resolved)
  std::shared_ptr<const Heuristic> selection;  // null for full and for the oracle selection
  // The same pipeline at another keep rate (the heuristic is shared, not rebuilt).
  Pipeline at_keep(double keep) const;
};

// Validates `config`, resolves it for `n_layers` and builds its selection heuristic.
Pipeline make_pipeline(const PipelineConfig& config, int n_layers);

struct PipelineInputs {
  at::Tensor oracle;         // [N] ranking for the oracle selection (from a full capture of the same prompt)
  uint64_t sample_seed = 0;  // per-sample seed for seeded heuristics (random), as in rank mode
  const PromptFormat* format = nullptr;  // the prompt's tokenizer and chat template (KVzip)
  // Where the context ends in the prompt (token index): the query-agnostic kvpress protocol compresses
  // the prompt before it and feeds the rest (the question) afterwards. −1 = unknown.
  int64_t context_end = -1;
};

PrefillOutcome run_prefill(const Transformer& model, const std::vector<int64_t>& prompt_ids, const Pipeline& pipeline,
                           const PipelineInputs& inputs = {});
// One-off: make_pipeline for this model, then run it (tests, probes; runs build their pipelines once).
PrefillOutcome run_prefill(const Transformer& model, const std::vector<int64_t>& prompt_ids, const PipelineConfig& config,
                           const PipelineInputs& inputs = {});

// Which rows won the free slots at l_p (row_diagnostics.h), given the gold token spans; nothing
// for selections without rows.
std::optional<BudgetDiagnostics> budget_diagnostics(const PrefillOutcome& prefill,
                                                    const std::vector<std::pair<int64_t, int64_t>>& evidence);

// Greedy decoding after any prefill; stops at EOS (included) or max_new_tokens.
std::vector<int64_t> decode_greedy(const Transformer& model, PrefillOutcome& prefill, const GenerationOptions& options);

}  // namespace claa
