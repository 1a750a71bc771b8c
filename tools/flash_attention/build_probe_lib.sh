#!/usr/bin/env bash
# Builds the shared library tools/flash_attention/fa3_vs_cudnn.py loads: claa's FlashAttention-3
# launcher (model/cuda/flash_attention_hopper.cu) behind a C entry point. Needs nvcc >= 12.3,
# no GPU: build it on the dev machine, carry the .so to the GPU machine (~1.3 MB, ~4 min on 2 cores).
#   tools/flash_attention/build_probe_lib.sh FLASH_ATTENTION_DIR CUTLASS_DIR OUT.so
# Flags as cmake/flash_attention/CMakeLists.txt (from flash-attention's hopper/setup.py).
set -euo pipefail
fa=$1
cutlass=$2
out=$3
root=$(cd "$(dirname "$0")/../.." && pwd)
flags=(-O3 -std=c++17 --use_fast_math -DNDEBUG -DCUTE_SM90_EXTENDED_MMA_SHAPES_ENABLED
    -DCUTLASS_ENABLE_GDC_FOR_SM90 -DCUTLASS_DEBUG_TRACE_LEVEL=0 --expt-relaxed-constexpr --expt-extended-lambda
    -gencode arch=compute_90a,code=sm_90a -Xcompiler -fPIC -I "$root" -I "$fa/hopper" -I "$cutlass/include")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
nvcc "${flags[@]}" -c "$root/model/cuda/flash_attention_hopper.cu" -o "$work/launcher.o" &
nvcc "${flags[@]}" -c "$fa/hopper/flash_prepare_scheduler.cu" -o "$work/prepare.o" &
nvcc "${flags[@]}" -c "$root/tools/flash_attention/probe_entry.cu" -o "$work/entry.o"
wait
nvcc -shared -gencode arch=compute_90a,code=sm_90a "$work"/*.o -o "$out"
