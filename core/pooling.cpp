// avg_pool_last (pooling.h).
#include "core/pooling.h"

namespace claa {

at::Tensor avg_pool_last(const at::Tensor& x, int kernel) {
  if (kernel <= 1 || x.size(-1) < kernel) return x;
  auto shape = x.sizes().vec();
  at::Tensor rows = x.reshape({-1, 1, x.size(-1)}).to(at::kFloat);
  at::Tensor pooled = at::avg_pool1d(rows, {kernel}, {1}, {kernel / 2}, false, true);
  shape.back() = pooled.size(-1);  // even kernels give N+1, as in PyTorch
  return pooled.reshape(shape);
}

}  // namespace claa
