// A C entry point to claa's FlashAttention-3 launcher (harness/model/cuda/flash_attention_hopper.h)
// for tools/flash_attention/fa3_vs_cudnn.py, which loads it with ctypes: the kernel measured
// against cuDNN's without building claa. q, k, v are rows of claa's fused q|k|v projection
// (row stride qkv_row_stride elements, head vectors 128 apart); out is [tokens, heads_q, 128].
#include "harness/model/cuda/flash_attention_hopper.h"

extern "C" const char* claa_probe_fa3(const void* q, const void* k, const void* v, long long qkv_row_stride, void* out,
                                      float* lse, int* scheduler, int tokens, int heads_q, int heads_kv, float scale,
                                      int num_sms, void* stream) {
  using claa::cuda::launch::FlashAttentionOperand;
  return claa::cuda::launch::flash_attention_causal_bf16_d128(
      FlashAttentionOperand{q, qkv_row_stride, 128}, FlashAttentionOperand{k, qkv_row_stride, 128},
      FlashAttentionOperand{v, qkv_row_stride, 128}, out, static_cast<long long>(heads_q) * 128, 128, lse, scheduler,
      tokens, heads_q, heads_kv, scale, num_sms, stream);
}
