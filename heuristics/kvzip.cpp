// KVzip (Kim et al. 2025, arXiv 2505.23416), as kvpress implements it (kvpress/presses/kvzip_press.py):
// a KV pair matters as much as the model needs it to reconstruct the context. After the context is
// prefilled, the model is fed, chunk by chunk (2,048 tokens), a request to repeat the context followed
// by the chunk itself ("\n\nRepeat the previous context exactly." for the first chunk, "\n\nRepeat the
// part of the previous context exactly, starting with" + the previous chunk's last 8 tokens for the
// others, then the chat template's end-of-user / assistant header). A context key's score is the largest
// softmax probability any of those queries (all G query heads of its group) puts on it, the softmax
// taken over the attention sinks (first 4 tokens), the chunk's own keys and the request's keys only.
// The first 4 tokens score 1. The cache is cut back to the context after each chunk.
//
// claa's prompts carry the question inside the user turn, where kvpress prefills the context alone:
// the reconstructed "context" here is the prompt without its chat suffix (the end-of-user and assistant
// header tokens, which the request appends itself), and those suffix tokens score 1 (kvpress never
// evicts the question). Without a chat template the suffix is "\n" and the whole prompt is context.
// Per KV head, like kvpress; the layer's ranking is the max over KV heads, the order in which tokens
// enter the union of the per-head caches (kvpress's compress_post prunes the lowest (head, token)
// pairs of the layer, which is the head-adaptive split without a safeguard). kvpress's default
// cross-layer threshold (layerwise = False) has no place in claa's per-layer selection.
// Not online: it needs the whole prompt's prefill (the capture's, in rank mode; its own in a pipeline)
// and the reconstruction forwards: about N + 20·N/chunk more tokens over the context's cache.
#include <ATen/ATen.h>

#include <algorithm>

#include "core/error.h"
#include "heuristics/kvzip.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace claa {

namespace {

std::vector<int64_t> encode(const Tokenizer& tok, const std::string& text) {
  std::vector<int32_t> ids = tok.encode(text, /*parse_special=*/true);  // like HF encode: added tokens split
  return {ids.begin(), ids.end()};
}

// kvpress KVzipPress.__call__: render the template around a dummy user message that ends in a
// separator; the text before the dummy is the prefix, the text after the separator the suffix.
std::pair<std::string, std::string> chat_prefix_and_suffix(const ChatTemplate* chat) {
  if (chat == nullptr) return {"", "\n"};
  const std::string dummy = "dummy context", separator = "\n" + std::string(dummy.size(), '#');
  const std::string text = chat->render({{"user", dummy + separator}}, /*add_generation_prompt=*/true);
  const size_t at_dummy = text.find(dummy), at_separator = text.find(separator);
  require(at_dummy != std::string::npos && at_separator != std::string::npos,
          "kvzip: the chat template dropped its user message");
  return {text.substr(0, at_dummy), text.substr(at_separator + separator.size())};
}

// Scores one reconstruction chunk in every layer it passes (KVzipPress.score_kvzip): per KV head, the
// max over the G heads and T queries (the request and the repeated chunk) of the softmax over the
// sinks, the chunk's context keys and the request's own keys (causal among those), for the chunk's
// keys. Attention computes it (Transformer: LayerTap::subset_softmax) — inside the fused CPU
// attention's own pass, explicitly elsewhere.
class ReconstructionTap : public LayerTap {
 public:
  ReconstructionTap(std::vector<at::Tensor>& scores, int64_t sink, int64_t begin, int64_t end)
      : scores_(scores), subset_{sink, begin, end} {}

  std::optional<KeySubset> subset_softmax(int) const override { return subset_; }
  void on_subset_softmax_maxima(int layer, const at::Tensor& maxima) override {
    scores_.at(layer).narrow(1, subset_.focus_begin, subset_.focus_end - subset_.focus_begin).copy_(maxima);
  }

 private:
  std::vector<at::Tensor>& scores_;
  KeySubset subset_;
};

at::TensorOptions long_on(const at::Device& d) { return at::TensorOptions().dtype(at::kLong).device(d); }

at::Tensor ids_tensor(const std::vector<int64_t>& ids, int64_t begin, int64_t end, at::Device device) {
  return at::tensor(std::vector<int64_t>(ids.begin() + begin, ids.begin() + end), at::kLong).to(device);
}

class KVzip : public Heuristic {
 public:
  explicit KVzip(const nlohmann::json& p)
      : chunk_(p["chunk_size"].get<int64_t>()),
        sinks_(p["n_sink"].get<int64_t>()),
        postfix_(p["prev_postfix"].get<int64_t>()) {
    require(chunk_ >= 1 && sinks_ >= 0 && postfix_ >= 0,
            "kvzip: chunk_size must be >= 1, n_sink and prev_postfix >= 0");
  }
  std::string name() const override { return "kvzip"; }
  CaptureNeeds needs() const override {
    CaptureNeeds n;
    n.prompt_cache = true;  // the context's keys and values, when a capture runs anyway (rank mode)
    return n;
  }
  bool online() const override { return false; }  // reconstructs the whole prompt after its prefill
  bool reads_capture() const override { return false; }  // a pipeline need not capture for it: it prefills itself
  bool needs_tokenizer() const override { return true; }
  BudgetAllocation allocation() const override {
    BudgetAllocation a;
    a.kind = BudgetAllocation::Kind::HeadAdaptive;
    a.alpha_safeguard = 0;  // "KVzip does not rely on safeguards" (kvzip_press.py compress_post)
    return a;
  }
  HeuristicScores score(const HeuristicInput& in) const override {
    require(in.model != nullptr && in.prompt_ids != nullptr, "kvzip: needs the model and the prompt ids");
    require(in.format != nullptr && in.format->tokenizer != nullptr,
            "kvzip: needs the model's tokenizer to write its reconstruction request (random-weight models have none)");
    const std::vector<at::Tensor> per_head = reconstruction_scores(
        *in.model, *in.prompt_ids, reconstruction_frame(*in.format, *in.prompt_ids), in.capture.prompt_cache.get());
    HeuristicScores out;
    for (const at::Tensor& rows : per_head) {
      out.per_head.push_back(rows);
      out.combined.push_back(std::get<0>(rows.max(0)));
    }
    return out;
  }

 private:
  // The context's KV cache, with room for one chunk's request: copied from the capture's prompt cache
  // when there is one (rank mode; the context is a prefix of the prompt, so its keys and values are
  // the prompt prefill's), else from a prefill of the context (pipelines, which capture nothing first).
  KVCache context_cache(const Transformer& model, const std::vector<int64_t>& ids, int64_t context_end,
                        const KVCache* prompt_cache) const {
    KVCache cache = model.make_cache();
    cache.reserve_extra(chunk_ + 64);  // a chunk and its request (about 20 tokens) without regrowing
    // Only a cache of exactly these ids (the capture of this prompt) is the context's prefix.
    if (prompt_cache != nullptr && prompt_cache->n_layers() == model.n_layers() &&
        prompt_cache->length(0) == static_cast<int64_t>(ids.size())) {  // context_end ≤ the prompt's length
      for (int l = 0; l < model.n_layers(); ++l)
        cache.append(l, prompt_cache->keys(l).narrow(1, 0, context_end),
                     prompt_cache->values(l).narrow(1, 0, context_end));
      return cache;
    }
    const at::Device device = model.options().device;
    model.forward(ids_tensor(ids, 0, context_end, device), at::arange(context_end, long_on(device)), cache, nullptr,
                  /*last_rows=*/1);  // only the cache is wanted
    return cache;
  }

  // [H_kv, N] per layer, on the layer's device.
  std::vector<at::Tensor> reconstruction_scores(const Transformer& model, const std::vector<int64_t>& ids,
                                                const ReconstructionFrame& f, const KVCache* prompt_cache) const {
    const int64_t n = static_cast<int64_t>(ids.size());
    const at::Device device = model.options().device;
    std::vector<at::Tensor> scores;
    for (int l = 0; l < model.n_layers(); ++l) {
      at::Tensor s =
          at::zeros({model.config().n_kv_heads, n}, at::TensorOptions(at::kFloat).device(model.layer_device(l)));
      s.narrow(1, 0, std::min(sinks_, n)).fill_(1.0);            // attention sinks, kept
      s.narrow(1, f.context_end, n - f.context_end).fill_(1.0);  // the chat suffix (see the header)
      scores.push_back(s);
    }
    KVCache cache = context_cache(model, ids, f.context_end, prompt_cache);
    for (int64_t begin = f.context_begin; begin < f.context_end; begin += chunk_) {
      const int64_t end = std::min(begin + chunk_, f.context_end);
      std::vector<int64_t> request = begin == f.context_begin ? f.first_request : f.later_request;
      if (begin != f.context_begin)  // "starting with" the previous chunk's last tokens
        request.insert(request.end(), ids.begin() + std::max(begin - postfix_, begin - chunk_), ids.begin() + begin);
      request.insert(request.end(), f.suffix.begin(), f.suffix.end());
      request.insert(request.end(), ids.begin() + begin, ids.begin() + end);
      const auto t = static_cast<int64_t>(request.size());
      ReconstructionTap tap(scores, std::min(sinks_, begin), begin, end);
      model.forward(ids_tensor(request, 0, t, device), at::arange(f.context_end, f.context_end + t, long_on(device)),
                    cache, &tap, /*last_rows=*/1);  // only the tap's maxima are wanted
      cache.truncate(f.context_end);  // back to the context alone for the next chunk
    }
    return scores;
  }

  int64_t chunk_, sinks_, postfix_;
};

}  // namespace

ReconstructionFrame reconstruction_frame(const PromptFormat& format, const std::vector<int64_t>& prompt) {
  const auto [prefix, suffix] = chat_prefix_and_suffix(format.chat);
  ReconstructionFrame f;
  f.first_request = encode(*format.tokenizer, "\n\nRepeat the previous context exactly.");
  f.later_request = encode(*format.tokenizer, "\n\nRepeat the part of the previous context exactly, starting with");
  f.suffix = encode(*format.tokenizer, suffix);
  const auto n = static_cast<int64_t>(prompt.size()), s = static_cast<int64_t>(f.suffix.size());
  const bool ends_with_suffix =
      format.chat != nullptr && s < n && std::equal(f.suffix.begin(), f.suffix.end(), prompt.end() - s);
  f.context_end = ends_with_suffix ? n - s : n;
  const std::vector<int64_t> prefix_ids = encode(*format.tokenizer, prefix);
  const auto p = static_cast<int64_t>(prefix_ids.size());
  const bool starts_with_prefix =
      p <= f.context_end && std::equal(prefix_ids.begin(), prefix_ids.end(), prompt.begin());
  f.context_begin = starts_with_prefix ? p : 0;
  return f;
}

HeuristicInfo kvzip_heuristic() {
  HeuristicInfo info{"kvzip",
                     "KVzip: the attention each key gets while the model repeats the context (query-agnostic)",
                     {{"chunk_size", 2048}, {"n_sink", 4}, {"prev_postfix", 8}},
                     [](const nlohmann::json& p) { return std::make_unique<KVzip>(p); }};
  info.presets["kvpress"] = nlohmann::json::object();  // its defaults are the kvpress press's
  return info;
}

}  // namespace claa
