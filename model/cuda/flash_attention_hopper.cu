// FlashAttention-3's Hopper forward kernel behind claa's launcher (flash_attention_hopper.h).
// Only the case a causal prefill needs is instantiated (bf16, head dim 128, causal, one
// sequence, no varlen / paging / split / softcap / pack-GQA); one instantiation keeps the build
// to a few minutes. The parameters are set as hopper/flash_api.cpp (set_params_fprop, mha_fwd)
// sets them for that case; the kernel itself is run_flash_fwd from hopper/flash_fwd_launch_template.h.
#include "model/cuda/flash_attention_hopper.h"

#include <stdexcept>
#include <string>

// Upstream's CHECK_CUDA / CHECK_CUTLASS (hopper/cuda_check.h) print and exit(1) on a failed
// cudaFuncSetAttribute or launch; here they throw, and the launcher returns the text, so a failure
// becomes claa's one-line error instead of ending the process. cuda_check.h is `#pragma once`: the
// template below includes it again without redefining them.
#include "cuda_check.h"
#undef CHECK_CUDA
#undef CHECK_CUTLASS
#define CHECK_CUDA(call)                                                               \
  do {                                                                                 \
    cudaError_t status_ = (call);                                                      \
    if (status_ != cudaSuccess) throw std::runtime_error(cudaGetErrorString(status_)); \
  } while (0)
#define CHECK_CUTLASS(call)                                                                                       \
  do {                                                                                                            \
    cutlass::Status status_ = (call);                                                                             \
    if (status_ != cutlass::Status::kSuccess) throw std::runtime_error(cutlass::cutlassGetStatusString(status_)); \
  } while (0)

#include "flash_fwd_launch_template.h"

namespace claa::cuda::launch {

const char* flash_attention_causal_bf16_d128(FlashAttentionOperand q, FlashAttentionOperand k, FlashAttentionOperand v,
                                             void* out, int64_t out_row_stride, int64_t out_head_stride, float* lse,
                                             int* scheduler, int q_tokens, int k_tokens, int heads_q, int heads_kv,
                                             float scale, int num_sms, void* stream) {
  constexpr int kHeadDim = 128;
  Flash_fwd_params params = {};
  params.is_bf16 = true;
  params.q_ptr = const_cast<void*>(q.data);
  params.k_ptr = const_cast<void*>(k.data);
  params.v_ptr = const_cast<void*>(v.data);
  params.o_ptr = out;
  params.q_row_stride = q.row_stride;
  params.k_row_stride = k.row_stride;
  params.v_row_stride = v.row_stride;
  params.o_row_stride = out_row_stride;
  params.q_head_stride = q.head_stride;
  params.k_head_stride = k.head_stride;
  params.v_head_stride = v.head_stride;
  params.o_head_stride = out_head_stride;
  params.v_dim_stride = 1;
  // One sequence (b = 1): the batch strides are never stepped over.
  params.softmax_lse_ptr = lse;
  params.b = params.b_k = 1;
  params.h = heads_q;
  params.h_k = heads_kv;
  params.seqlen_q = params.total_q = q_tokens;
  params.seqlen_k = params.total_k = k_tokens;
  params.seqlen_q_rounded = (q_tokens + 127) / 128 * 128;
  params.seqlen_k_rounded = (k_tokens + 127) / 128 * 128;
  params.d = params.d_rounded = params.dv = params.dv_rounded = kHeadDim;
  params.scale_softmax = scale;
  params.p_dropout = params.rp_dropout = 1.f;  // no dropout: keep probability 1
  params.p_dropout_in_uint8_t = 255;
  // Causal = the window (seqlen_k − 1, 0), as set_params_fprop writes it.
  params.is_causal = true;
  params.window_size_left = k_tokens - 1;
  params.window_size_right = 0;
  params.arch = 90;
  params.num_sm = num_sms;
  params.num_splits = 1;    // get_num_splits gives 1 whenever the query tiles fill the GPU
  params.pack_gqa = false;  // get_pack_gqa packs only short query lengths
  // mha_fwd, causal without varlen: the dynamic persistent scheduler's tile counter sits after
  // two reserved vectors of round_up(b, 4) ints (batch sort, head swizzle) and must start at 0.
  params.varlen_sort_batches = true;
  params.head_swizzle = true;
  params.tile_count_semaphore_offset = 8;
  params.tile_count_semaphore = scheduler + 8;
  auto cuda_stream = static_cast<cudaStream_t>(stream);
  cudaError_t error = cudaMemsetAsync(params.tile_count_semaphore, 0, sizeof(int), cuda_stream);
  if (error != cudaSuccess) return cudaGetErrorString(error);
  try {
    run_flash_fwd<90, kHeadDim, kHeadDim, /*ClusterM=*/1, cutlass::bfloat16_t, cutlass::bfloat16_t,
                  /*Is_causal=*/true, /*Is_local=*/false, /*Has_softcap=*/false, /*Varlen=*/false,
                  /*PagedKVNonTMA=*/false, /*AppendKV=*/false, /*HasQv=*/false, /*PackGQA=*/false,
                  /*Split=*/false, /*V_colmajor=*/false>(params, cuda_stream);
  } catch (const std::exception& e) {
    thread_local std::string message;  // outlives the return, as cudaGetErrorString's text does
    message = e.what();
    return message.c_str();
  }
  error = cudaGetLastError();
  return error == cudaSuccess ? nullptr : cudaGetErrorString(error);
}

}  // namespace claa::cuda::launch
