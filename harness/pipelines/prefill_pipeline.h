// Prefill pipelines (method.md §4): each turns a prompt into a KV cache and a first token, then
// greedy decoding continues from that cache. Full KV is the baseline; FastKV, CLAA and the oracle
// emulation propagate only C tokens after layer l_p (keeping their original position ids) and
// compress each layer's decode cache per KV head; GemFilter restarts the model on the kept tokens
// with renumbered positions; Speculative Prefill prefills only the tokens its draft ranked highest,
// at their original positions.
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "harness/model/generate.h"
#include "harness/model/kv_cache.h"
#include "harness/model/transformer.h"
#include "harness/pipelines/pipeline_config.h"

namespace claa {

struct PrefillOutcome {
  KVCache cache;
  int64_t first_token = -1;
  int64_t next_position = 0;   // position id of the first generated token
  at::Tensor kept;             // prompt indices propagated past the selection point (CPU int64)
  at::Tensor kept_positions;   // the position ids those tokens carried afterwards
  int64_t cache_bytes = 0;     // decode cache after prefill
};

struct PipelineInputs {
  at::Tensor oracle;  // [N] ranking for method "oracle" (from a full capture of the same prompt)
};

PrefillOutcome run_prefill(const Transformer& model, const std::vector<int64_t>& prompt_ids, const PipelineConfig& config,
                           const PipelineInputs& inputs = {});

// Greedy decoding after any prefill; stops at EOS (included) or max_new_tokens.
std::vector<int64_t> decode_greedy(const Transformer& model, PrefillOutcome& prefill, const GenerationOptions& options);

}  // namespace claa
