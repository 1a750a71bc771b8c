// Per-layer key/value cache holding post-RoPE keys, so entries can be gathered per KV head
// (decode-cache compression) without knowing their positions.
#pragma once

#include <ATen/ATen.h>

#include <vector>

namespace claa {

class KVCache {
 public:
  explicit KVCache(int n_layers = 0) : layers_(n_layers) {}

  // Extra rows to allocate beyond what is appended, so decoding does not reallocate each step.
  void reserve_extra(int64_t rows) { extra_ = rows; }

  // Append k/v [H_kv, T, d]; returns views of all cached keys and values [H_kv, S, d] of the layer.
  std::pair<at::Tensor, at::Tensor> append(int layer, const at::Tensor& k, const at::Tensor& v);

  int64_t length(int layer) const { return layers_[layer].length; }
  at::Tensor keys(int layer) const;    // [H_kv, S, d] view
  at::Tensor values(int layer) const;  // [H_kv, S, d] view

  // Keep, for each KV head g, the rows index[g, :] (index: int64 [H_kv, C]). Different heads may
  // keep different tokens (FastKV's per-head compression); all keep the same count C.
  void keep_per_head(int layer, const at::Tensor& index);
  // Keep, for each KV head g, the rows index[g] (int64 [C_g]); the counts may differ between heads
  // (AdaKV's head-adaptive split). Every head then holds max C_g rows, a head's rows past its C_g
  // being padding that attention must not see: key_mask() says which rows each head may attend to.
  void keep_ragged(int layer, const std::vector<at::Tensor>& index);
  // [H_kv, S] bool, true where a head may attend, while the layer's heads hold different counts;
  // undefined when every row is visible (the usual case: no mask, no cost).
  at::Tensor key_mask(int layer) const;
  // Drop all entries of a layer.
  void clear(int layer);
  // Forget every entry at and after `length` in every layer (the next append writes there): the
  // capture re-runs the fed-back answer tokens over the prompt's cache this way.
  void truncate(int64_t length);
  // Bytes held by live entries (not capacity, not a ragged layer's padding), over all layers.
  int64_t live_bytes() const;
  int n_layers() const { return static_cast<int>(layers_.size()); }

 private:
  struct Layer {
    at::Tensor k, v;     // [H_kv, capacity, d]
    at::Tensor visible;  // [H_kv, capacity] bool after keep_ragged (undefined otherwise)
    int64_t length = 0;
  };
  std::vector<Layer> layers_;
  int64_t extra_ = 0;
};

}  // namespace claa
