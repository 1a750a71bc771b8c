// Greedy (argmax) generation with a KV cache: one prefill over the prompt, then one token at a
// time until an EOS id or max_new_tokens. The last generated token is never fed back, which is
// exactly the query set the Answer-Informed Oracle needs (method.md §1 step 2).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "model/kv_cache.h"
#include "model/transformer.h"

namespace claa {

struct GenerationOptions {
  int64_t max_new_tokens = 32;
  std::vector<int64_t> eos_ids;
  bool keep_cache = false;  // hand the KV cache back in GenerationResult::cache
};

struct GenerationResult {
  std::vector<int64_t> tokens;  // generated ids (an EOS that stopped generation is included)
  bool stopped_by_eos = false;
  at::Tensor first_logits;     // fp32 [vocab] at the last prompt position (CPU)
  double prefill_seconds = 0;  // time to first token (prefill + first argmax)
  double decode_seconds = 0;
  KVCache cache;  // prompt + fed-back answer tokens, when options.keep_cache
};

// Runs the prompt through `model`. `tap` (optional) observes the prefill and every decode step;
// taps tell the two apart by the query count and position ids they receive.
GenerationResult generate(const Transformer& model, const std::vector<int64_t>& prompt_ids,
                          const GenerationOptions& options, LayerTap* tap = nullptr);

// Blocks until queued GPU work is done (no-op on CPU), so wall-clock timings are honest.
void synchronize(const at::Device& device);
// Every device the model uses (a layer split spans several): TTFT is measured end to end.
void synchronize(const Transformer& model);

}  // namespace claa
