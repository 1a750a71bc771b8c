// A C entry point to claa's FlashAttention-3 launcher (model/cuda/flash_attention_hopper.h)
// for tools/flash_attention/fa3_vs_cudnn.py, which loads it with ctypes: the kernel measured
// against cuDNN's without building claa. Strides in elements; out is [tokens, heads_q, 128].
#include "model/cuda/flash_attention_hopper.h"

extern "C" const char* claa_probe_fa3(const void* q, long long q_row, long long q_head, const void* k, long long k_row,
                                      long long k_head, const void* v, long long v_row, long long v_head, void* out,
                                      float* lse, int* scheduler, int tokens, int heads_q, int heads_kv, float scale,
                                      int num_sms, void* stream) {
  using claa::cuda::launch::FlashAttentionOperand;
  return claa::cuda::launch::flash_attention_causal_bf16_d128(
      FlashAttentionOperand{q, q_row, q_head}, FlashAttentionOperand{k, k_row, k_head},
      FlashAttentionOperand{v, v_row, v_head}, out, static_cast<long long>(heads_q) * 128, 128, lse, scheduler, tokens,
      tokens, heads_q, heads_kv, scale, num_sms, stream);
}
