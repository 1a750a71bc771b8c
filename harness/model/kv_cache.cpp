#include "harness/model/kv_cache.h"

#include <algorithm>

#include "harness/util/error.h"

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
  }
  l.k.narrow(1, l.length, t).copy_(k);
  l.v.narrow(1, l.length, t).copy_(v);
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
  l.k = at::Tensor();
  l.v = at::Tensor();
  l.length = 0;
  append(layer, nk, nv);
}

void KVCache::clear(int layer) {
  layers_.at(layer) = Layer{};
}

void KVCache::truncate(int64_t length) {
  for (Layer& l : layers_) l.length = std::min(l.length, length);
}

int64_t KVCache::live_bytes() const {
  int64_t bytes = 0;
  for (const Layer& l : layers_) {
    if (l.length == 0) continue;
    bytes += 2 * l.k.size(0) * l.length * l.k.size(2) * static_cast<int64_t>(l.k.element_size());
  }
  return bytes;
}

}  // namespace claa
