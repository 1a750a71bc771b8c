#include "model/cuda_kernels.h"

#include <cmath>
#include <cstdint>

#include "core/error.h"

#ifdef CLAA_CUDA_KERNELS
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "model/cuda/column_sums.h"
#include "model/cuda/fused_kernels.h"
#endif
#include <torch/version.h>
#ifdef CLAA_FLASH_ATTENTION
#include <ATen/cuda/CUDAContext.h>

#include "model/cuda/flash_attention_hopper.h"
#endif

namespace claa::cuda {

#ifdef CLAA_CUDA_KERNELS

namespace {

launch::DType dtype_of(const at::Tensor& x) {
  switch (x.scalar_type()) {
    case at::kFloat: return launch::DType::f32;
    case at::kBFloat16: return launch::DType::bf16;
    case at::kHalf: return launch::DType::f16;
    default: throw Error("claa CUDA kernels: unsupported dtype");
  }
}

void check(const char* error, const char* kernel) {
  if (error == nullptr) return;
  std::string message = std::string("claa CUDA kernel ") + kernel + ": " + error;
  // Built for other GPUs (the architectures come from TORCH_CUDA_ARCH_LIST at configure time).
  if (message.find("no kernel image") != std::string::npos)
    message +=
        " (rebuild with TORCH_CUDA_ARCH_LIST set to this GPU's compute capability, or run with --gpu-kernels aten)";
  throw Error(message);
}

void* stream_of(const at::Tensor& x) { return c10::cuda::getCurrentCUDAStream(x.device().index()).stream(); }

// Rows `stride(0)` apart, elements within a row contiguous: what the kernels index.
void require_rows(const at::Tensor& x, const char* what) {
  require(x.dim() == 2 && x.stride(1) == 1,
          std::string(what) + ": expected a [rows, cols] tensor with contiguous rows");
}

}  // namespace

bool kernels_built() { return true; }

bool supports(const at::Tensor& x) {
  const auto t = x.scalar_type();
  return x.is_cuda() && (t == at::kFloat || t == at::kBFloat16 || t == at::kHalf);
}

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  require_rows(x, "rms_norm");
  require(weight.dim() == 1 && weight.size(0) == x.size(1) && weight.is_contiguous() &&
              weight.scalar_type() == x.scalar_type() && weight.device() == x.device(),
          "rms_norm: the weight must be a contiguous [D] vector of the input's dtype and device");
  const c10::cuda::CUDAGuard guard(x.device());
  at::Tensor out = at::empty(x.sizes(), x.options());
  check(launch::rms_norm(dtype_of(x), x.data_ptr(), x.stride(0), weight.data_ptr(), out.data_ptr(), out.stride(0),
                         x.size(0), x.size(1), static_cast<float>(eps), stream_of(x)),
        "rms_norm");
  return out;
}

void rope_in_place(at::Tensor& x, int64_t heads, int64_t head_dim, const at::Tensor& positions,
                   const at::Tensor& inv_freq) {
  require_rows(x, "rope");
  require(heads * head_dim <= x.size(1), "rope: the rotated heads exceed the row");
  require(positions.numel() == x.size(0) && positions.scalar_type() == at::kLong && positions.is_contiguous() &&
              positions.device() == x.device(),
          "rope: one contiguous int64 position per row, on the input's device");
  require(inv_freq.numel() == head_dim / 2 && inv_freq.scalar_type() == at::kFloat && inv_freq.is_contiguous() &&
              inv_freq.device() == x.device(),
          "rope: inv_freq must be [head_dim/2] fp32 on the input's device");
  const c10::cuda::CUDAGuard guard(x.device());
  check(launch::rope(dtype_of(x), x.data_ptr(), x.stride(0), x.size(0), heads, head_dim, positions.data_ptr<int64_t>(),
                     inv_freq.data_ptr<float>(), stream_of(x)),
        "rope");
}

at::Tensor silu_mul(const at::Tensor& gate_up) {
  require_rows(gate_up, "silu_mul");
  require(gate_up.size(1) % 2 == 0, "silu_mul: gate|up must have an even column count");
  const int64_t ffn = gate_up.size(1) / 2;
  const c10::cuda::CUDAGuard guard(gate_up.device());
  at::Tensor out = at::empty({gate_up.size(0), ffn}, gate_up.options());
  check(launch::silu_mul(dtype_of(gate_up), gate_up.data_ptr(), gate_up.stride(0), gate_up.size(0), ffn, out.data_ptr(),
                         out.stride(0), stream_of(gate_up)),
        "silu_mul");
  return out;
}

#endif

#if defined(CLAA_CUDA_KERNELS) && TORCH_VERSION_MAJOR >= 2

namespace {
bool column_operand_fits(const at::Tensor& t, const at::Tensor& q) {
  return t.dim() == 3 && t.is_cuda() && t.device() == q.device() && t.scalar_type() == q.scalar_type() &&
         t.size(2) == q.size(2) && t.stride(2) == 1 && t.stride(1) % 8 == 0 && t.stride(0) % 8 == 0 &&
         reinterpret_cast<uintptr_t>(t.data_ptr()) % 16 == 0;
}
}  // namespace

bool column_sums_applies(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  const bool half_precision = q.scalar_type() == at::kBFloat16 || q.scalar_type() == at::kHalf;
  return half_precision && q.is_cuda() && q.dim() == 3 && q.size(2) % 16 == 0 && q.size(2) <= 256 &&
         column_operand_fits(q, q) && column_operand_fits(k, q) && column_operand_fits(v, q) &&
         k.size(1) == q.size(1) && v.size(1) == q.size(1) && v.size(0) == k.size(0) && q.size(0) % k.size(0) == 0;
}

at::Tensor softmax_column_sums(const at::Tensor& q, const at::Tensor& k, const at::Tensor& lse) {
  require(column_sums_applies(q, k, k), "softmax_column_sums: this call is outside the kernel's case");
  require(lse.dim() == 2 && lse.size(0) == q.size(0) && lse.size(1) >= q.size(1) && lse.scalar_type() == at::kFloat &&
              lse.stride(1) == 1 && lse.device() == q.device(),
          "softmax_column_sums: lse must be [H, T] fp32 with contiguous rows on q's device");
  const c10::cuda::CUDAGuard guard(q.device());
  const int64_t H = q.size(0), T = q.size(1), d = q.size(2), Hkv = k.size(0);
  at::Tensor sums = at::empty({Hkv, T}, q.options().dtype(at::kFloat));
  check(launch::softmax_column_sums(q.scalar_type() == at::kBFloat16, q.data_ptr(), q.stride(0), q.stride(1),
                                    k.data_ptr(), k.stride(0), k.stride(1), lse.data_ptr<float>(), lse.stride(0),
                                    sums.data_ptr<float>(), static_cast<int>(H), static_cast<int>(Hkv),
                                    static_cast<int>(T), static_cast<int>(d),
                                    static_cast<float>(1.0 / std::sqrt(static_cast<double>(d))), stream_of(q)),
        "softmax_column_sums");
  return sums;
}

std::pair<at::Tensor, at::Tensor> causal_attention_with_column_sums(const at::Tensor& q, const at::Tensor& k,
                                                                    const at::Tensor& v, bool flash_attention_3) {
  require(column_sums_applies(q, k, v), "causal_attention_with_column_sums: this call is outside the kernels' case");
  const c10::cuda::CUDAGuard guard(q.device());
  at::Tensor out, lse;
  if (flash_attention_3 &&
      flash_attention_applies(q, k, v)) {  // FlashAttention-3, as the plain prefill runs it, keeping its lse
    std::tie(out, lse) = flash_attention_causal_with_lse(q, k, v);
  } else {
    // LibTorch's flash attention returns the log-sum-exp; it wants as many KV heads as query heads.
    const int64_t group = q.size(0) / k.size(0);
    const auto r = at::_scaled_dot_product_flash_attention(q.unsqueeze(0), k.repeat_interleave(group, 0).unsqueeze(0),
                                                           v.repeat_interleave(group, 0).unsqueeze(0),
                                                           /*dropout_p=*/0.0, /*is_causal=*/true);
    out = std::get<0>(r).squeeze(0);
    lse = std::get<1>(r).squeeze(0);
  }
  return {out, softmax_column_sums(q, k, lse)};
}

at::Tensor softmax_column_maxima(const at::Tensor& q, const at::Tensor& keys, const at::Tensor& lse) {
  const bool half_precision = q.scalar_type() == at::kBFloat16 || q.scalar_type() == at::kHalf;
  require(half_precision && q.is_cuda() && q.dim() == 3 && q.size(2) % 16 == 0 && q.size(2) <= 256 &&
              column_operand_fits(q, q) && column_operand_fits(keys, q) && q.size(0) % keys.size(0) == 0,
          "softmax_column_maxima: this call is outside the kernel's case");
  require(lse.dim() == 2 && lse.size(0) == q.size(0) && lse.size(1) >= q.size(1) && lse.scalar_type() == at::kFloat &&
              lse.stride(1) == 1 && lse.device() == q.device(),
          "softmax_column_maxima: lse must be [H, T] fp32 with contiguous rows on q's device");
  const c10::cuda::CUDAGuard guard(q.device());
  const int64_t H = q.size(0), T = q.size(1), d = q.size(2), Hkv = keys.size(0), W = keys.size(1);
  at::Tensor maxima = at::empty({Hkv, W}, q.options().dtype(at::kFloat));
  check(launch::softmax_column_maxima(
            q.scalar_type() == at::kBFloat16, q.data_ptr(), q.stride(0), q.stride(1), keys.data_ptr(), keys.stride(0),
            keys.stride(1), lse.data_ptr<float>(), lse.stride(0), maxima.data_ptr<float>(), static_cast<int>(H),
            static_cast<int>(Hkv), static_cast<int>(T), static_cast<int>(W), static_cast<int>(d),
            static_cast<float>(1.0 / std::sqrt(static_cast<double>(d))), stream_of(q)),
        "softmax_column_maxima");
  return maxima;
}

#else  // callers check column_sums_applies() first

namespace {
[[noreturn]] void no_column_kernel() {
  throw Error("this claa build has no CUDA column-sum kernel (CLAA_CUDA_KERNELS with LibTorch 2.x)");
}
}  // namespace

bool column_sums_applies(const at::Tensor&, const at::Tensor&, const at::Tensor&) { return false; }
at::Tensor softmax_column_sums(const at::Tensor&, const at::Tensor&, const at::Tensor&) { no_column_kernel(); }
std::pair<at::Tensor, at::Tensor> causal_attention_with_column_sums(const at::Tensor&, const at::Tensor&,
                                                                    const at::Tensor&, bool) {
  no_column_kernel();
}
at::Tensor softmax_column_maxima(const at::Tensor&, const at::Tensor&, const at::Tensor&) { no_column_kernel(); }

#endif

#if defined(CLAA_CUDA_KERNELS) && defined(CLAA_FLASH_ATTENTION)

bool flash_attention_built() { return true; }

bool flash_attention_applies(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  // [heads, rows, 128] bf16 on q's GPU; TMA reads 16-byte-aligned rows: contiguous head vectors,
  // strides and base address in 8-element steps.
  auto fits = [&q](const at::Tensor& t) {
    return t.dim() == 3 && t.is_cuda() && t.device() == q.device() && t.scalar_type() == at::kBFloat16 &&
           t.size(2) == 128 && t.size(0) >= 1 && t.size(1) >= 1 && t.stride(2) == 1 && t.stride(1) % 8 == 0 &&
           t.stride(0) % 8 == 0 && reinterpret_cast<uintptr_t>(t.data_ptr()) % 16 == 0;
  };
  if (!fits(q) || !fits(k) || !fits(v)) return false;
  // At least as many keys as queries (the queries are the last positions), one value per key, whole
  // groups of query heads per KV head.
  if (k.size(1) < q.size(1) || v.size(1) != k.size(1) || v.size(0) != k.size(0) || q.size(0) % k.size(0) != 0)
    return false;
  const cudaDeviceProp* properties = at::cuda::getDeviceProperties(q.device().index());
  return properties->major == 9 && properties->minor == 0;
}

at::Tensor flash_attention_causal(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  return flash_attention_causal_with_lse(q, k, v).first;
}

std::pair<at::Tensor, at::Tensor> flash_attention_causal_with_lse(const at::Tensor& q, const at::Tensor& k,
                                                                  const at::Tensor& v) {
  require(flash_attention_applies(q, k, v), "flash_attention_causal: this call is outside the kernel's case");
  const c10::cuda::CUDAGuard guard(q.device());
  const int64_t H = q.size(0), T = q.size(1), S = k.size(1), d = q.size(2), Hkv = k.size(0);
  at::Tensor out = at::empty({T, H, d}, q.options());
  at::Tensor lse = at::empty({H, T}, q.options().dtype(at::kFloat));
  at::Tensor scheduler = at::empty({16}, q.options().dtype(at::kInt));
  // Our tensors are [heads, rows, d]: stride(0) steps heads, stride(1) rows.
  auto operand = [](const at::Tensor& t) {
    return launch::FlashAttentionOperand{t.data_ptr(), t.stride(1), t.stride(0)};
  };
  const int num_sms = at::cuda::getDeviceProperties(q.device().index())->multiProcessorCount;
  check(launch::flash_attention_causal_bf16_d128(
            operand(q), operand(k), operand(v), out.data_ptr(), out.stride(0), out.stride(1), lse.data_ptr<float>(),
            scheduler.data_ptr<int>(), static_cast<int>(T), static_cast<int>(S), static_cast<int>(H), static_cast<int>(Hkv),
            static_cast<float>(1.0 / std::sqrt(static_cast<double>(d))), num_sms, stream_of(q)),
        "flash_attention_causal");
  return {out.transpose(0, 1), lse};
}

#else  // built without FlashAttention-3: callers check flash_attention_built() / _applies() first

bool flash_attention_built() { return false; }
bool flash_attention_applies(const at::Tensor&, const at::Tensor&, const at::Tensor&) { return false; }
namespace {
[[noreturn]] void no_flash_attention() {
  throw Error("this claa build has no FlashAttention-3 kernel (configure with CLAA_FLASH_ATTENTION_DIR)");
}
}  // namespace

at::Tensor flash_attention_causal(const at::Tensor&, const at::Tensor&, const at::Tensor&) { no_flash_attention(); }
std::pair<at::Tensor, at::Tensor> flash_attention_causal_with_lse(const at::Tensor&, const at::Tensor&,
                                                                  const at::Tensor&) {
  no_flash_attention();
}

#endif

#if defined(CLAA_CUDA_KERNELS) && defined(CLAA_FLASH_ATTENTION) && TORCH_VERSION_MAJOR >= 2

bool subset_softmax_maxima_applies(const at::Tensor& q, const at::Tensor& keys, int64_t sinks, int64_t focus_begin,
                                   int64_t focus_end) {
  if (q.dim() != 3 || keys.dim() != 3) return false;
  const int64_t S = keys.size(1), T = q.size(1);
  // The subset lies, in order, before the new keys; FlashAttention-3 takes q over the cache's keys
  // (the gathered subset has the same dtype and head size, and fresh, aligned storage). Its case
  // (bf16, head_dim 128, strides in steps of 8 elements, 16-byte aligned) is inside the column
  // kernel's, the focus keys included: a row offset keeps the alignment.
  return 0 <= sinks && sinks <= focus_begin && focus_begin <= focus_end && focus_end <= S - T &&
         flash_attention_applies(q, keys, keys);
}

at::Tensor subset_softmax_maxima(const at::Tensor& q, const at::Tensor& keys, int64_t sinks, int64_t focus_begin,
                                 int64_t focus_end) {
  require(subset_softmax_maxima_applies(q, keys, sinks, focus_begin, focus_end),
          "subset_softmax_maxima: this call is outside the kernels' case");
  const int64_t S = keys.size(1), T = q.size(1), width = focus_end - focus_begin;
  // The subset's keys gathered as kvpress gathers them (sinks, focus, new), and its per-query log-sum-exp
  // from FlashAttention-3's bottom-right causal pass over them: the new keys causal, the rest all seen.
  // The keys stand in for the values: the attention output is not used.
  const at::Tensor subset =
      at::cat({keys.narrow(1, 0, sinks), keys.narrow(1, focus_begin, width), keys.narrow(1, S - T, T)}, 1);
  const at::Tensor lse = flash_attention_causal_with_lse(q, subset, subset).second;
  return softmax_column_maxima(q, keys.narrow(1, focus_begin, width), lse);
}

#else  // callers check subset_softmax_maxima_applies() first

bool subset_softmax_maxima_applies(const at::Tensor&, const at::Tensor&, int64_t, int64_t, int64_t) { return false; }
at::Tensor subset_softmax_maxima(const at::Tensor&, const at::Tensor&, int64_t, int64_t, int64_t) {
  throw Error("this claa build has no CUDA subset-maxima path (CUDA kernels and FlashAttention-3 with LibTorch 2.x)");
}

#endif

#ifndef CLAA_CUDA_KERNELS  // built without the kernels: callers check kernels_built() / supports() first

bool kernels_built() { return false; }
bool supports(const at::Tensor&) { return false; }

namespace {
[[noreturn]] void not_built() { throw Error("this claa build has no CUDA kernels (CLAA_CUDA_KERNELS is off)"); }
}  // namespace

at::Tensor rms_norm(const at::Tensor&, const at::Tensor&, double) { not_built(); }
void rope_in_place(at::Tensor&, int64_t, int64_t, const at::Tensor&, const at::Tensor&) { not_built(); }
at::Tensor silu_mul(const at::Tensor&) { not_built(); }

#endif

}  // namespace claa::cuda
