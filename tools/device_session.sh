#!/usr/bin/env bash
# Work for the GPU machine (see docs/benchmarks.md for the figures it produced).
#   tools/device_session.sh build   configure + build claa against the machine's LibTorch 2.x
#   tools/device_session.sh run     parity (CUDA bf16/fp32 vs the HF fp32 fixture), HF's own bf16
#                                   error, and the prefill / capture benchmarks
#   tools/device_session.sh ttft    TTFT of every pipeline (8B shapes) + HF transformers' SDPA prefill
#   tools/device_session.sh diag    build claa + claa_tests, the report tests, capture benchmark with
#                                   GPU-resident vs host captures (keeps the model's first half)
#   tools/device_session.sh capture build claa, capture benchmark at 8K / 32K / 128K (8B shapes)
#   tools/device_session.sh kernels build claa + claa_tests, the CUDA kernel tests, per-op-kind profiles of
#                                   8B-shaped prefills (fused vs plain ATen layers) at 10K and 128K
#   tools/device_session.sh columns the column walk (H2O's sums, KVzip's maxima): its two tests, then 32K captures
#                                   with h2o and with KVzip (8B shapes; the tokenizer fixture stands in for KVzip's)
#   tools/device_session.sh peer    claa bench prefill vs HF transformers' SDPA prefill at 10K / 32K / 128K
#                                   (time and peak memory, one call; after `kernels` on the same machine)
#   tools/device_session.sh flash   FlashAttention-3: its tests, claa (FA3 / SDPA) vs HF prefill at 10K-128K
#                                   with power logged, TTFT at 10K (after `build` with .dev/fa3_src)
#   tools/device_session.sh power   SM clock and board power during claa's and HF's prefills at 32K / 128K
#                                   (after `build`; the H200 holds ~700 W, tools/power_trace.py sums it up)
#   tools/device_session.sh breadth the peers' baselines, KVzip and AdaKV's ragged caches, rank + e2e on SmolLM2
#                                   (after `build`; needs the model's second half .dev/m_ab)
#   tools/device_session.sh validity configs/validity.json in both mode, 6 shards (after `build`; the model in
#                                   three parts, docs/findings.md "Which rank metric predicts the answer")
#   tools/device_session.sh tests   build claa_tests against LibTorch 2.x and run the whole suite
#                                   (CUDA parity tests included; needs the model's second half .dev/m_ab)
# Outputs go to $OUT (the device tool's return folder) or ./device-out.
set -uo pipefail
OUT=${OUT:-$PWD/device-out}
mkdir -p "$OUT"
BUILD=build-cuda
MODEL=/root/claa-model/SmolLM2-135M-Instruct.Q4_1.gguf
export CLAA_MODEL_DIR=/root/claa-model

stage_build() {
  # The 98 MB model travels in two halves (64 MiB per call): keep the first one on the machine.
  if [ -f .dev/m_aa ]; then mkdir -p /root/claa-model && cp .dev/m_aa /root/claa-model/; fi
  # RULER generators need the word list and the essay haystack that scripts/setup.sh installs here.
  if [ -f .dev/american-english ]; then mkdir -p /usr/share/dict && cp .dev/american-english /usr/share/dict/; fi
  if [ -d .dev/haystack ]; then mkdir -p ~/.cache/claa/haystack && cp .dev/haystack/* ~/.cache/claa/haystack/; fi
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$OUT/gpu.txt" 2>&1
  python3 -c 'import torch; print(torch.__version__, torch.version.cuda)' >> "$OUT/gpu.txt"
  local pcre=() fa3=()
  [ -f /usr/include/pcre2.h ] || pcre=(-DPCRE2_INCLUDE_DIR=$PWD/.dev/pcre2/include -DPCRE2_LIBRARY=$PWD/.dev/pcre2/lib/libpcre2-8.a)
  # FlashAttention-3 from the sources tools/flash_attention/pack_sources.sh put in .dev/fa3_src.
  [ -d .dev/fa3_src ] && fa3=(-DCLAA_FLASH_ATTENTION_DIR=$PWD/.dev/fa3_src/flash-attention -DCLAA_CUTLASS_DIR=$PWD/.dev/fa3_src/cutlass)
  # The GPU image has fmt 12 headers without a usable library: use fmt header-only there.
  # The GPU's architecture for LibTorch's CUDA flags (claa's kernels are built with them), not detected.
  export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
  cmake -S . -B $BUILD -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS=-DFMT_HEADER_ONLY=1 \
    -DCMAKE_PREFIX_PATH="$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')" "${pcre[@]}" "${fa3[@]}" \
    > "$OUT/cmake.log" 2>&1 || { tail -40 "$OUT/cmake.log"; return 1; }
  ninja -C $BUILD claa > "$OUT/build.log" 2>&1 || { grep -E "error|Error" -A3 "$OUT/build.log" | head -60; return 1; }
  echo "build ok"; $BUILD/claa --help | head -3
}

B=$BUILD/claa

# claa_tests against the machine's LibTorch (after stage_build); its errors, if any, on stdout.
build_tests() {
  ninja -C $BUILD claa_tests > "$OUT/build_tests.log" 2>&1 || { grep -E "error|Error" -A3 "$OUT/build_tests.log" | head -60; return 1; }
}
R=configs/models/llama-3.1-8b.json

stage_run() {
  mkdir -p /root/claa-model
  cat /root/claa-model/m_aa .dev/m_ab > "$MODEL" && sha256sum "$MODEL"
  $B info --model "$MODEL" | head -3
  python3 tools/device_parity.py --claa $B --model "$MODEL" --device cuda --dtype bf16 --out "$OUT/parity_cuda_bf16.json"
  python3 tools/device_parity.py --claa $B --model "$MODEL" --device cuda --dtype fp32 --out "$OUT/parity_cuda_fp32.json"
  for n in 1024 4096 8192; do
    $B bench prefill --model "$MODEL" --device cuda --dtype bf16 --tokens $n --runs 5 --json "$OUT/prefill_smollm2_$n.json" | head -1
  done
  for n in 8192 32768; do
    $B bench prefill --random-weights $R --device cuda --dtype bf16 --tokens $n --warmups 2 --runs 5 --json "$OUT/prefill_8b_$n.json"
  done
  for n in 8192 32768; do
    $B bench capture --random-weights $R --device cuda --dtype bf16 --tokens $n --new-tokens 32 \
       --heuristics fastkv,gemfilter,claa,specprefill,tova,knorm,streamingllm,random,recency --json "$OUT/capture_8b_$n.json"
  done
  $B bench capture --random-weights $R --device cuda --dtype bf16 --tokens 8192 --new-tokens 32 --json "$OUT/capture_8b_8192_h2o.json"
  if [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
    timeout 240 python3 tools/hf_reference.py --gguf "$MODEL" --out "$OUT/hfref" --device cuda --bf16 2>&1 | grep -v -i warn | tail -5
  fi
}

# TTFT of every pipeline on Llama-3.1-8B shapes, and HF transformers' SDPA prefill beside it.
stage_ttft() {
  M=full,fastkv,claa,oracle,gemfilter,specprefill
  timeout 240 $B bench ttft --random-weights $R --device cuda --dtype bf16 --tokens 10240 --methods $M --keep 0.1,0.2,0.4 --json "$OUT/ttft_8b_10k.json"
  timeout 120 python3 tools/hf_ttft.py --config $R --tokens 10240 32768 --out "$OUT/hf_ttft.json" 2>&1 | grep -v -i warn
  for n in 32768 65536 131072; do
    timeout 150 $B bench ttft --random-weights $R --device cuda --dtype bf16 --tokens $n --methods full,fastkv,claa,gemfilter --keep 0.1 --warmups 1 --runs 3 --json "$OUT/ttft_8b_$n.json"
  done
}

# End-to-end accuracy of the pipelines (configs/e2e_ruler_4k.json) on the GPU, and the capture
# overhead again after the parallel ranking comparisons.
stage_e2e() {
  mkdir -p /root/claa-model
  cat /root/claa-model/m_aa .dev/m_ab > "$MODEL" && sha256sum "$MODEL"
  timeout 400 $B run configs/e2e_ruler_4k.json --set model.path=$MODEL --set model.device=cuda --out "$OUT/e2e" --no-report
  for n in 8192 32768; do
    $B bench capture --random-weights $R --device cuda --dtype bf16 --tokens $n --new-tokens 32 \
       --heuristics fastkv,gemfilter,claa,specprefill,tova,knorm,streamingllm,random,recency --json "$OUT/capture2_8b_$n.json"
  done
}

# docs/findings.md: configs/claa_ablation.json with 20 samples per task, rank and e2e modes, on the GPU
# (fp32, so the numbers are those of the CPU run up to floating-point reassociation). Each run dir is
# packed into one tarball in $OUT (the device tool returns at most 8 files).
stage_findings() {
  mkdir -p /root/claa-model
  cat /root/claa-model/m_aa .dev/m_ab > "$MODEL" && sha256sum "$MODEL"
  local S=(--set model.path=$MODEL --set model.device=cuda --set datasets.0.samples=20 --set datasets.1.samples=20
           --set datasets.2.samples=20)
  # Shards in parallel (the host-side scoring is CPU-bound); samples finished by an earlier call
  # (.dev/seed/MODE.jsonl) are handed to the shard that owns them, which --resume then skips.
  run_shards() {  # mode shards threads
    local mode=$1 n=$2 threads=$3
    for i in $(seq 0 $((n - 1))); do
      local dir=/tmp/findings_$mode/shard$i
      mkdir -p $dir
      [ -f .dev/seed/$mode.jsonl ] &&
        python3 -c "import json,sys; [sys.stdout.write(l) for l in open('.dev/seed/$mode.jsonl') if json.loads(l)['index'] % $n == $i]" > $dir/samples.jsonl
      timeout 470 $B run configs/claa_ablation.json "${S[@]}" --set mode=$mode --set model.threads=$threads \
        --shard $i/$n --out $dir --resume --no-report > "$OUT/${mode}_$i.log" 2>&1 &
    done
  }
  run_shards rank 5 3
  run_shards e2e 3 1
  wait
  for mode in rank e2e; do
    cat /tmp/findings_$mode/shard*/samples.jsonl > /tmp/findings_$mode.jsonl
    wc -l /tmp/findings_$mode.jsonl
  done
  tar -C /tmp -czf "$OUT/findings.tgz" findings_rank.jsonl findings_e2e.jsonl
}

# The test suite on the GPU machine: the LibTorch 2.x build (MKL inside, so the CPU attention takes
# claa's own products instead of OpenBLAS's) and the CUDA tests that skip on a CPU-only machine.
stage_tests() {
  mkdir -p /root/claa-model
  # The model in three ~33 MB parts (.dev/p_00..02, one per call next to the 18 MB tree), or two halves.
  for p in .dev/p_0*; do [ -f "$p" ] && cp "$p" /root/claa-model/; done
  if [ -f .dev/american-english ]; then mkdir -p /usr/share/dict && cp .dev/american-english /usr/share/dict/; fi
  if [ -d .dev/haystack ]; then mkdir -p ~/.cache/claa/haystack && cp .dev/haystack/* ~/.cache/claa/haystack/; fi
  if [ ! -f "$MODEL" ] && [ -f /root/claa-model/p_02 ]; then cat /root/claa-model/p_0? > "$MODEL"; fi
  [ -f "$MODEL" ] || cat /root/claa-model/m_aa .dev/m_ab > "$MODEL"
  sha256sum "$MODEL"
  ninja -C $BUILD claa claa_tests > "$OUT/build_tests.log" 2>&1 || { grep -E "error|Error" -A3 "$OUT/build_tests.log" | head -60; return 1; }
  # Two OpenMP threads per test: 12 tests × 16 spinning threads each on 16 cores made every CPU
  # model test time out.
  (cd $BUILD && OMP_NUM_THREADS=2 timeout 540 ctest -j 8 --timeout 450 --output-on-failure > "$OUT/ctest.log" 2>&1)
  grep -E "tests passed|Failed|\*\*\*" "$OUT/ctest.log" | head -40
}

# `bench capture` with the captures kept on the GPU (default) and on the host
# (--host-capture, the path before) side by side, medians of 3 pairs; and the report tests that
# ended with SIGSEGV at pc 0 (pip libtorch.so's std::filesystem::remove_all, tools/segv_trace.c).
stage_diag() {
  mkdir -p /root/claa-model && for p in .dev/m_a?; do [ -f "$p" ] && cp "$p" /root/claa-model/; done
  stage_build || return 1
  build_tests || return 1
  nm -D --defined-only "$(python3 -c 'import torch,os; print(os.path.dirname(torch.__file__))')/lib/libtorch.so" | grep -c filesystem
  $BUILD/claa_tests "[reports],[tests]" 2>&1 | tail -3
  capture_benchmarks
}

# the peers' baselines with KVzip and AdaKV's ragged decode caches on SmolLM2, rank and e2e
# modes (configs/breadth_baselines.json at 4K, 8 samples per task; e2e: six methods at keep 10% / 20%),
# on the GPU in fp32. After `build` on the same machine (keeps the model's first half); needs .dev/m_ab.
stage_breadth() {
  # RULER's word list and essays travel with this call (the first one carries the model's first half).
  if [ -f .dev/american-english ]; then mkdir -p /usr/share/dict && cp .dev/american-english /usr/share/dict/; fi
  if [ -d .dev/haystack ]; then mkdir -p ~/.cache/claa/haystack && cp .dev/haystack/* ~/.cache/claa/haystack/; fi
  cat /root/claa-model/m_aa .dev/m_ab > "$MODEL" && sha256sum "$MODEL"
  local S=(--set model.path=$MODEL --set model.device=cuda --set datasets.0.samples=8 --set datasets.1.samples=8
           --set datasets.2.samples=8)
  local M='["full","fastkv","claa",{"method":"fastkv_style","label":"snapkv","heuristic":"snapkv","cache_scores":"selection"},'
  M+='{"method":"fastkv_style","label":"adakv","heuristic":"adakv","cache_scores":"selection"},'
  M+='{"method":"fastkv_style","label":"kvzip","heuristic":"kvzip","cache_scores":"selection"}]'
  timeout 200 $B run configs/breadth_baselines.json "${S[@]}" --out /tmp/breadth_rank > "$OUT/breadth_rank.log" 2>&1
  timeout 330 $B run configs/breadth_baselines.json "${S[@]}" --set mode=e2e --set "e2e.methods=$M" \
    --set 'keep_rates=[0.1,0.2]' --out /tmp/breadth_e2e > "$OUT/breadth_e2e.log" 2>&1
  tar -C /tmp -czf "$OUT/breadth.tgz" breadth_rank/report.md breadth_rank/summary.json breadth_rank/samples.jsonl \
    breadth_e2e/report.md breadth_e2e/summary.json breadth_e2e/samples.jsonl
  tail -2 "$OUT/breadth_rank.log" "$OUT/breadth_e2e.log"
}

# docs/findings.md "Which rank metric predicts the answer": configs/validity.json (both mode, 60 samples) in
# 6 shards on the one GPU, resumable across calls (samples finished by an earlier call on a fresh machine:
# .dev/seed/validity.jsonl). The model: .dev/p0/p_00, .dev/p1/p_01, .dev/p2/p_02 (`split -b 34M -d -a 2`), one
# part per call next to the tree, kept in /root/claa-model; the RULER word list and essays in .dev/data.
# Session 13 ran the same steps from .dev/gpu_30.sh: 60 samples in 497 s on an H200.
stage_validity() {
  for p in .dev/p0/p_00 .dev/p1/p_01 .dev/p2/p_02; do [ -f $p ] && mkdir -p /root/claa-model && cp $p /root/claa-model/; done
  if [ -d .dev/data ]; then
    mkdir -p /usr/share/dict ~/.cache/claa/haystack
    cp .dev/data/american-english /usr/share/dict/ && cp .dev/data/*.txt ~/.cache/claa/haystack/
  fi
  cat /root/claa-model/p_00 /root/claa-model/p_01 /root/claa-model/p_02 > "$MODEL" && sha256sum "$MODEL"
  local n=6
  for i in $(seq 0 $((n - 1))); do
    local dir=/tmp/validity/shard$i
    mkdir -p $dir
    if [ -f .dev/seed/validity.jsonl ] && [ ! -s $dir/samples.jsonl ]; then
      python3 -c "import json,sys; [sys.stdout.write(l) for l in open('.dev/seed/validity.jsonl') if json.loads(l)['index'] % $n == $i]" > $dir/samples.jsonl
    fi
    timeout 530 $B run configs/validity.json --set model.path=$MODEL --set model.device=cuda --set model.threads=2 \
      --shard $i/$n --out $dir --resume --no-report > "$OUT/validity_$i.log" 2>&1 &
  done
  wait
  cat /tmp/validity/shard*/samples.jsonl > "$OUT/validity_samples.jsonl"
  cp /tmp/validity/shard0/run.json "$OUT/validity_run.json"
  wc -l "$OUT/validity_samples.jsonl"
}

# claa's fused CUDA kernels checked against the unfused ops, then one prefill per op kind.
stage_kernels() {
  stage_build || return 1
  build_tests || return 1
  grep -E "claa:" "$OUT/cmake.log"
  $BUILD/claa_tests "[kernels]" 2>&1 | tail -4
  for k in fused aten; do
    timeout 120 $B bench prefill --random-weights $R --device cuda --dtype bf16 --tokens 10240 --warmups 2 --runs 5 \
      --gpu-kernels $k --profile --json "$OUT/prefill_10k_$k.json" > "$OUT/profile_10k_$k.txt" 2>&1
    head -3 "$OUT/profile_10k_$k.txt"; sed -n '/op kind/,$p' "$OUT/profile_10k_$k.txt"
  done
  timeout 150 $B bench prefill --random-weights $R --device cuda --dtype bf16 --tokens 131072 --warmups 1 --runs 1 \
    --profile --json "$OUT/prefill_128k_fused.json" > "$OUT/profile_128k_fused.txt" 2>&1
  head -3 "$OUT/profile_128k_fused.txt"; sed -n '/op kind/,$p' "$OUT/profile_128k_fused.txt"
}

# The judged GPU prefill figures: claa and HF transformers' SDPA prefill side by side in one call.
stage_peer() {
  for n in 10240 32768; do
    timeout 100 $B bench prefill --random-weights $R --device cuda --dtype bf16 --tokens $n --warmups 2 --runs 5 \
      --json "$OUT/claa_prefill_$n.json" | grep -E "prefill|peak"
  done
  timeout 100 $B bench prefill --random-weights $R --device cuda --dtype bf16 --tokens 131072 --warmups 1 --runs 3 \
    --json "$OUT/claa_prefill_131072.json" | grep -E "prefill|peak"
  timeout 100 python3 tools/hf_ttft.py --config $R --tokens 10240 32768 --warmups 2 --runs 5 --out "$OUT/hf_prefill.json" 2>&1 | grep -v -i warn
  timeout 120 python3 tools/hf_ttft.py --config $R --tokens 131072 --warmups 1 --runs 3 --out "$OUT/hf_prefill_131072.json" 2>&1 | grep -v -i warn
}

# nvidia-smi's SM clock and board power every 100 ms into clocks.csv, in the background (the caller
# keeps $! to kill it); mark LABEL stamps a span's start or end into marks.txt. tools/power_trace.py
# reads both.
start_power_log() {
  nvidia-smi --query-gpu=timestamp,clocks.sm,power.draw,temperature.gpu --format=csv,noheader -lms 100 > "$OUT/clocks.csv" &
}
mark() { echo "$1 $(date '+%Y/%m/%d %H:%M:%S.%3N')" >> "$OUT/marks.txt"; }

# SM clock and board power while claa's and HF transformers' prefills run (one call, after
# `build`): nvidia-smi every 100 ms, each run's span marked in marks.txt (tools/power_trace.py reads both).
stage_power() {
  build_tests || return 1
  $BUILD/claa_tests "[kernels]" 2>&1 | tail -2
  start_power_log
  local smi=$!
  for n in 32768 131072; do
    mark "claa_$n start"
    timeout 150 $B bench prefill --random-weights $R --device cuda --dtype bf16 --tokens $n --warmups 1 --runs 3 \
      --json "$OUT/claa_prefill_$n.json" | grep -E "prefill|peak"
    mark "claa_$n end"
    sleep 5
    mark "hf_$n start"
    timeout 150 python3 tools/hf_ttft.py --config $R --tokens $n --warmups 1 --runs 3 --out "$OUT/hf_prefill_$n.json" 2>&1 | grep -v -i warn
    mark "hf_$n end"
    sleep 5
  done
  kill $smi
}

# FlashAttention-3 (after `build` with .dev/fa3_src): its tests and the fused-layer tests,
# then claa's prefill with FA3 (auto) and with SDPA (--gpu-attention sdpa) beside HF transformers' SDPA
# prefill at 10K / 32K / 128K, SM clock and board power logged (tools/power_trace.py), and the TTFT
# of the pipelines at 10K.
stage_flash() {
  build_tests || return 1
  grep -E "claa:" "$OUT/cmake.log"
  $BUILD/claa_tests "[flash],[kernels]" 2>&1 | tail -3
  start_power_log
  local smi=$!
  for n in 10240 32768 131072; do
    local runs=(--warmups 2 --runs 5); [ $n = 131072 ] && runs=(--warmups 1 --runs 3)
    for a in auto sdpa; do
      mark "claa_${a}_$n start"
      timeout 150 $B bench prefill --random-weights $R --device cuda --dtype bf16 --tokens $n "${runs[@]}" \
        --gpu-attention $a --json "$OUT/claa_${a}_prefill_$n.json" | grep -E "prefill|peak|attention"
      mark "claa_${a}_$n end"
    done
    mark "hf_$n start"
    timeout 150 python3 tools/hf_ttft.py --config $R --tokens $n "${runs[@]}" --out "$OUT/hf_prefill_$n.json" 2>&1 | grep -v -i warn
    mark "hf_$n end"
  done
  kill $smi
  timeout 120 $B bench ttft --random-weights $R --device cuda --dtype bf16 --tokens 10240 --methods full,fastkv,claa,gemfilter \
    --keep 0.1 --json "$OUT/ttft_8b_10k.json"
}

# Checks after changes: build, kernel tests and TTFT at 10K (keeps the model's first
# half on the machine), then `verify_model`: parity with the HF fp32 fixture and the CUDA, parity
# and HF-reference tests on the SmolLM2 model (needs .dev/m_ab).
stage_verify() {
  mkdir -p /root/claa-model && for p in .dev/m_a?; do [ -f "$p" ] && cp "$p" /root/claa-model/; done
  stage_build || return 1
  build_tests || return 1
  $BUILD/claa_tests "[kernels]" 2>&1 | tail -2
  timeout 120 $B bench ttft --random-weights $R --device cuda --dtype bf16 --tokens 10240 --methods full,fastkv,claa,gemfilter \
    --keep 0.1 --json "$OUT/ttft_8b_10k.json"
}
stage_verify_model() {
  cat /root/claa-model/m_aa .dev/m_ab > "$MODEL" && sha256sum "$MODEL"
  for t in bf16 fp32; do
    python3 tools/device_parity.py --claa $B --model "$MODEL" --device cuda --dtype $t --out "$OUT/parity_cuda_$t.json" 2>&1 | tail -4
  done
  (cd $BUILD && OMP_NUM_THREADS=2 timeout 400 ctest -j 8 --timeout 300 -R "cuda|CUDA|GPU|parity|HF|transformers|reference|Fused" \
     --output-on-failure > "$OUT/ctest_gpu.log" 2>&1)
  grep -E "tests passed|Failed|\*\*\*|Total Test" "$OUT/ctest_gpu.log" | head -30
}

# `bench capture` at 8K / 32K / 128K, 9 heuristics; HOST_TOO=1 adds the --host-capture runs.
capture_benchmarks() {
  local H=fastkv,gemfilter,claa,specprefill,tova,knorm,streamingllm,random,recency
  for n in 8192 32768 131040; do  # 131040 + 32 new tokens = the 128K context
    local runs=3; [ $n = 131040 ] && runs=1
    $B bench capture --random-weights $R --device cuda --dtype bf16 --tokens $n --new-tokens 32 --heuristics $H --runs $runs --json "$OUT/capture_dev_$n.json"
    [ -n "${HOST_TOO:-}" ] && $B bench capture --random-weights $R --device cuda --dtype bf16 --tokens $n --new-tokens 32 --heuristics $H --runs $runs --host-capture --json "$OUT/capture_host_$n.json"
  done 2>&1 | grep -v "^  " | tee "$OUT/capture.txt"
}

# After the batched answer pass: `bench capture` only (no test build).
stage_capture() {
  stage_build || return 1
  capture_benchmarks
}

# Single tests with their output, on the model assembled from the two halves (the first left by diag).
stage_one() {
  mkdir -p /root/claa-model
  [ -f "$MODEL" ] || cat /root/claa-model/m_aa .dev/m_ab > "$MODEL"
  for t in "$@"; do OMP_NUM_THREADS=2 $BUILD/claa_tests "$t" 2>&1 | tail -60; done
}

# The column walk: its tests, then what it costs a 32K capture.
stage_columns() {
  stage_build || return 1
  build_tests || return 1
  $BUILD/claa_tests "CUDA column-sum kernel matches*,CUDA column-max kernel matches*" 2>&1 | tail -3
  $B bench capture --random-weights $R --device cuda --dtype bf16 --tokens 32768 --new-tokens 4 --heuristics h2o --runs 3 | sed -n 1,3p
  $B bench capture --random-weights $R --device cuda --dtype bf16 --tokens 32768 --new-tokens 4 --heuristics kvzip \
    --tokenizer tests/fixtures/tokenizer/synth_llama3.json --runs 2 | grep -E "last run|kvzip"
}

case "${1:-}" in
  tests) stage_tests ;;
  diag) stage_diag ;;
  capture) stage_capture ;;
  one) shift; stage_one "$@" ;;
  findings) stage_findings ;;
  e2e) stage_e2e ;;
  build) stage_build ;;
  run) stage_run ;;
  ttft) stage_ttft ;;
  kernels) stage_kernels ;;
  columns) stage_columns ;;
  peer) stage_peer ;;
  power) stage_power ;;
  flash) stage_flash ;;
  verify) stage_verify ;;
  verify_model) stage_verify_model ;;
  breadth) stage_breadth ;;
  validity) stage_validity ;;
  *) echo "usage: $0 build|tests|run|ttft|e2e|findings|kernels|columns|peer|power|flash|diag|capture|verify|verify_model|breadth|validity|one"; exit 2 ;;
esac
