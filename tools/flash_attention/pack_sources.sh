#!/usr/bin/env bash
# Copies the files claa's FlashAttention-3 build reads (the header closure nvcc -M reports for
# model/cuda/flash_attention_hopper.cu and hopper/flash_prepare_scheduler.cu, ~14 MB of
# 29 MB of CUTLASS headers) into OUT_DIR/flash-attention/hopper and OUT_DIR/cutlass/include, for a GPU
# machine that cannot download (the device tool carries at most 64 MiB):
#   tools/flash_attention/pack_sources.sh FLASH_ATTENTION_DIR CUTLASS_DIR OUT_DIR
# then configure with -DCLAA_FLASH_ATTENTION_DIR=OUT_DIR/flash-attention -DCLAA_CUTLASS_DIR=OUT_DIR/cutlass.
set -euo pipefail
fa=$(cd "$1" && pwd)
cutlass=$(cd "$2" && pwd)
out=$3
root=$(cd "$(dirname "$0")/../.." && pwd)
flags=(-std=c++17 -DNDEBUG -DCUTE_SM90_EXTENDED_MMA_SHAPES_ENABLED -DCUTLASS_ENABLE_GDC_FOR_SM90
    --expt-relaxed-constexpr --expt-extended-lambda -gencode arch=compute_90a,code=sm_90a
    -I "$root" -I "$fa/hopper" -I "$cutlass/include")
mkdir -p "$out/flash-attention/hopper" "$out/cutlass/include"
for source in "$root/model/cuda/flash_attention_hopper.cu" "$fa/hopper/flash_prepare_scheduler.cu"; do
  nvcc -M "${flags[@]}" "$source"
done | tr ' \\' '\n\n' | grep -E "^($fa/hopper|$cutlass/include)/" | sort -u | while read -r file; do
  case $file in
    "$fa"/*) target=$out/flash-attention/${file#"$fa"/} ;;
    *) target=$out/cutlass/${file#"$cutlass"/} ;;
  esac
  mkdir -p "$(dirname "$target")"
  cp "$file" "$target"
done
cp "$fa/hopper/flash_prepare_scheduler.cu" "$out/flash-attention/hopper/"
[ -f "$fa/LICENSE" ] && cp "$fa/LICENSE" "$out/flash-attention/"
[ -f "$cutlass/LICENSE.txt" ] && cp "$cutlass/LICENSE.txt" "$out/cutlass/"
du -sh "$out"
