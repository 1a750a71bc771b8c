#include "model/kv_cache.h"

#include <algorithm>

#include "core/error.h"

namespace claa {

std::pair<at::Tensor, at::Tensor> KVCache::append(int layer, const at::Tensor& k, const at::Tensor& v) {
  Layer& l = layers_.at(layer);
  int64_t t = k.size(1);
  int64_t needed = l.length + t;
  int64_t capacity = l.k.defined() ? l.k.size(1) : 0;
  if (needed > capacity) {
    int64_t new_capacity = std::max(needed + extra_, capacity * 2);
    at::Tensor nk = at::empty({k.size(0), new_capacity, k.size(2)}, k.options());
    at::Tensor nv = at::empty({v.size(0), new_capacity, v.size(2)}, v.options());
    if (l.length > 0) {
      nk.narrow(1, 0, l.length).copy_(l.k.narrow(1, 0, l.length));
      nv.narrow(1, 0, l.length).copy_(l.v.narrow(1, 0, l.length));
    }
    l.k = nk;
    l.v = nv;
    if (l.visible.defined()) {
      at::Tensor grown = at::ones({k.size(0), new_capacity}, l.visible.options());
      grown.narrow(1, 0, l.length).copy_(l.visible.narrow(1, 0, l.length));
      l.visible = grown;
    }
  }
  l.k.narrow(1, l.length, t).copy_(k);
  l.v.narrow(1, l.length, t).copy_(v);
  if (l.visible.defined()) l.visible.narrow(1, l.length, t).fill_(true);  // new tokens: every head sees them
  l.length = needed;
  return {keys(layer), values(layer)};
}

at::Tensor KVCache::keys(int layer) const {
  const Layer& l = layers_.at(layer);
  return l.length ? l.k.narrow(1, 0, l.length) : at::Tensor();
}

at::Tensor KVCache::values(int layer) const {
  const Layer& l = layers_.at(layer);
  return l.length ? l.v.narrow(1, 0, l.length) : at::Tensor();
}

void KVCache::keep_per_head(int layer, const at::Tensor& index) {
  Layer& l = layers_.at(layer);
  require(index.dim() == 2 && index.size(0) == l.k.size(0), "keep_per_head: index must be [H_kv, C]");
  int64_t c = index.size(1);
  at::Tensor idx = index.to(l.k.device(), at::kLong).unsqueeze(-1).expand({index.size(0), c, l.k.size(2)});
  at::Tensor nk = at::gather(keys(layer), 1, idx);
  at::Tensor nv = at::gather(values(layer), 1, idx);
  l = Layer{};
  append(layer, nk, nv);
}

void KVCache::keep_ragged(int layer, const std::vector<at::Tensor>& index) {
  Layer& l = layers_.at(layer);
  const int64_t heads = l.k.size(0);
  require(static_cast<int64_t>(index.size()) == heads, "keep_ragged: one index per KV head is required");
  int64_t widest = 0;
  for (const at::Tensor& i : index) widest = std::max(widest, i.numel());
  require(widest > 0, "keep_ragged: every head keeps nothing");
  // A head's padding repeats one of its kept rows (any valid row: the mask hides it).
  std::vector<at::Tensor> padded;
  std::vector<int64_t> counts;
  for (const at::Tensor& i : index) {
    require(i.numel() > 0, "keep_ragged: a head keeps no row");
    at::Tensor row = i.to(l.k.device(), at::kLong).view(-1);
    counts.push_back(row.numel());
    padded.push_back(row.numel() < widest ? at::cat({row, row.narrow(0, 0, 1).expand({widest - row.numel()})}) : row);
  }
  keep_per_head(layer, at::stack(padded));
  if (*std::min_element(counts.begin(), counts.end()) == widest) return;  // not ragged after all
  Layer& kept = layers_.at(layer);
  kept.visible = at::ones({heads, kept.k.size(1)}, at::TensorOptions(at::kBool).device(kept.k.device()));
  for (int64_t g = 0; g < heads; ++g) kept.visible[g].narrow(0, counts[g], widest - counts[g]).fill_(false);
}

at::Tensor KVCache::key_mask(int layer) const {
  const Layer& l = layers_.at(layer);
  return l.visible.defined() && l.length > 0 ? l.visible.narrow(1, 0, l.length) : at::Tensor();
}

void KVCache::clear(int layer) { layers_.at(layer) = Layer{}; }

void KVCache::truncate(int64_t length) {
  for (Layer& l : layers_) l.length = std::min(l.length, length);
}

int64_t KVCache::live_bytes() const {
  int64_t bytes = 0;
  for (const Layer& l : layers_) {
    if (l.length == 0) continue;
    const int64_t rows =
        l.visible.defined() ? l.visible.narrow(1, 0, l.length).sum().item<int64_t>() : l.k.size(0) * l.length;
    bytes += 2 * rows * l.k.size(2) * static_cast<int64_t>(l.k.element_size());
  }
  return bytes;
}

}  // namespace claa
