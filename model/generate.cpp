#include "model/generate.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"

namespace claa {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

void synchronize(const at::Device& device) {
  // A device-to-host copy of a scalar waits for all queued work on the current stream.
  if (device.is_cuda()) (void)at::zeros({1}, at::TensorOptions().device(device)).sum().item<float>();
}

void synchronize(const Transformer& model) {
  for (const at::Device& d : model.devices()) synchronize(d);
}

GenerationResult generate(const Transformer& model, const std::vector<int64_t>& prompt_ids,
                          const GenerationOptions& options, LayerTap* tap) {
  const int64_t n = static_cast<int64_t>(prompt_ids.size());
  const int64_t context = model.config().context;
  require(n > 0, "empty prompt");
  require(options.max_new_tokens >= 1, "max_new_tokens must be at least 1");
  require(n + options.max_new_tokens <= context,
          "prompt of " + std::to_string(n) + " tokens plus " + std::to_string(options.max_new_tokens) +
              " new tokens exceeds the model context of " + std::to_string(context));
  auto is_eos = [&](int64_t id) {
    return std::find(options.eos_ids.begin(), options.eos_ids.end(), id) != options.eos_ids.end();
  };

  GenerationResult result;
  KVCache cache = model.make_cache();
  cache.reserve_extra(options.max_new_tokens);

  auto t0 = std::chrono::steady_clock::now();
  at::Tensor ids = at::tensor(prompt_ids, at::kLong);
  at::Tensor hidden = model.forward(ids, at::arange(n, at::kLong), cache, tap, /*last_rows=*/1);
  at::Tensor logits = model.logits(hidden).squeeze(0);
  int64_t next = logits.argmax().item<int64_t>();
  result.prefill_seconds = seconds_since(t0);
  result.first_logits = logits.to(at::kCPU);

  auto t1 = std::chrono::steady_clock::now();
  for (int64_t step = 0;; ++step) {
    result.tokens.push_back(next);
    if (is_eos(next)) {
      result.stopped_by_eos = true;
      break;
    }
    if (step + 1 >= options.max_new_tokens) break;
    at::Tensor token = at::tensor(std::vector<int64_t>{next}, at::kLong);
    at::Tensor position = at::tensor(std::vector<int64_t>{n + step}, at::kLong);
    at::Tensor h = model.forward(token, position, cache, tap);
    next = model.logits(h).squeeze(0).argmax().item<int64_t>();
  }
  result.decode_seconds = seconds_since(t1);
  if (options.keep_cache) result.cache = std::move(cache);
  return result;
}

}  // namespace claa
