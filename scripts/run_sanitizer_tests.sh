#!/usr/bin/env bash
# The sanitizer and fuzzing part of CI (scripts/run_tests.sh calls it last):
#   1. builds the torch-free core of claa, its tests and the libFuzzer targets with clang-14 and
#      AddressSanitizer + UndefinedBehaviorSanitizer (cmake/core_only.cmake; a separate, light
#      build in build-sanitize/ — the full LibTorch build would not fit CI's time limit twice);
#   2. runs those tests (any sanitizer report fails them);
#   3. runs every fuzz target for a fixed number of iterations from its committed seed corpus
#      (fuzz/corpus/), with a fixed seed so CI is repeatable. A crash stops CI; its input is kept
#      in build-sanitize/fuzz-artifacts/ to become a regression test (fuzz/README.md).
# The last line sums it up with real counts. Environment: CLAA_FUZZ_RUNS scales the iterations
# (e.g. 0.1 for a quick local check); CLAA_SANITIZER_BUILD_DIR, CLAA_BUILD_DIR as in setup.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SAN_DIR=${CLAA_SANITIZER_BUILD_DIR:-$ROOT/build-sanitize}
MAIN_DIR=${CLAA_BUILD_DIR:-$ROOT/build}
SCALE=${CLAA_FUZZ_RUNS:-1}
JOBS=$(nproc)
start=$(date +%s)
say() { echo "[sanitize] $*"; }

# Iterations per target: each is about 15-30 s of one core on a slow CI machine (2 cores), 2-6 s on
# a fast one; halved in the seventh session to keep CI inside its 30 minutes.
declare -A RUNS=([gguf]=10000 [safetensors]=10000 [tokenizer_json]=4000 [chat_template]=100000
                 [samples_jsonl]=4000 [run_config]=50000)
TARGETS=(gguf safetensors tokenizer_json chat_template samples_jsonl run_config)

command -v clang++-14 >/dev/null || { echo "[sanitize] error: clang++-14 missing: run scripts/setup.sh" >&2; exit 1; }

echo
say "== ASan + UBSan build of the torch-free core, its tests and the fuzz targets ($SAN_DIR)"
CC=clang-14 CXX=clang++-14 cmake -S "$ROOT" -B "$SAN_DIR" -G Ninja -DCMAKE_BUILD_TYPE=None \
  "-DCMAKE_CXX_FLAGS=-O1 -gline-tables-only" -DCLAA_CORE_ONLY=ON -DCLAA_SANITIZE=ON \
  "-DCLAA_MAIN_BUILD_DIR=$MAIN_DIR" >/dev/null
if ! cmake --build "$SAN_DIR" -- -j"$JOBS" >"$SAN_DIR/build.log" 2>&1; then
  tail -n 60 "$SAN_DIR/build.log"
  say "error: the sanitizer build failed (full log: $SAN_DIR/build.log)"
  exit 1
fi
build_end=$(date +%s)
say "built in $((build_end - start)) s"

# Every UB report aborts (-fno-sanitize-recover); leaks are reported at exit.
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1

say "== sanitized tests"
log="$SAN_DIR/ctest.log"
set +e
(cd "$SAN_DIR" && ctest --output-on-failure -j"$JOBS") | tee "$log"
tests_rc=${PIPESTATUS[0]}
set -e
tests_line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
tests_end=$(date +%s)

say "== fuzzing: fixed iterations per target, seed 1, from fuzz/corpus/"
artifacts="$SAN_DIR/fuzz-artifacts"
mkdir -p "$artifacts"
declare -A PIDS LOGS
fuzz_one() {  # target → starts it in the background
  local t=$1 runs bin="$SAN_DIR/fuzz_$1"
  runs=$(awk -v n="${RUNS[$t]}" -v s="$SCALE" 'BEGIN { r = int(n * s); print (r < 1 ? 1 : r) }')
  local new="$SAN_DIR/fuzz-new/$t"  # inputs libFuzzer finds go here, never into the committed corpus
  rm -rf "$new" && mkdir -p "$new"
  LOGS[$t]="$SAN_DIR/fuzz_$t.log"
  "$bin" -runs="$runs" -seed=1 -timeout=20 -rss_limit_mb=3072 -print_final_stats=1 \
    -artifact_prefix="$artifacts/${t}-" "$new" "$ROOT/fuzz/corpus/$t" >"${LOGS[$t]}" 2>&1 &
  PIDS[$t]=$!
}
fuzz_failed=0 fuzz_total=0 fuzz_done=()
finish() {  # target → waits for it and prints its line
  local t=$1 rc=0 pid=${PIDS[$1]}
  wait "$pid" || rc=$?
  rm -rf "${TMPDIR:-/tmp}/claa_fuzz_$pid"
  local runs secs
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "${LOGS[$t]}" | grep -oE '[0-9]+$' || echo 0)
  secs=$(grep -oE 'Done [0-9]+ runs in [0-9]+ second' "${LOGS[$t]}" | grep -oE 'in [0-9]+' | grep -oE '[0-9]+' || echo "?")
  fuzz_total=$((fuzz_total + runs))
  if [ "$rc" -eq 0 ]; then
    printf '[sanitize] fuzz_%-15s %8d iterations in %4s s: no crash\n' "$t" "$runs" "$secs"
    fuzz_done+=("$t")
  else
    fuzz_failed=$((fuzz_failed + 1))
    printf '[sanitize] fuzz_%-15s FAILED after %d iterations (exit %d); last lines of its log:\n' "$t" "$runs" "$rc"
    tail -n 40 "${LOGS[$t]}"
  fi
}
running=()
for t in "${TARGETS[@]}"; do
  if [ ! -x "$SAN_DIR/fuzz_$t" ]; then
    say "error: fuzz_$t was not built (fuzz_run_config needs the full build in $MAIN_DIR first)"
    fuzz_failed=$((fuzz_failed + 1))
    continue
  fi
  fuzz_one "$t"
  running+=("$t")
  if [ ${#running[@]} -ge "$JOBS" ]; then finish "${running[0]}"; running=("${running[@]:1}"); fi
done
for t in "${running[@]}"; do finish "$t"; done
end=$(date +%s)

echo
say "build $((build_end - start)) s, tests $((tests_end - build_end)) s, fuzzing $((end - tests_end)) s"
# The main suite ran just before (scripts/run_tests.sh): restate its counts so the last line covers all.
main_log="$MAIN_DIR/Testing/Temporary/LastTest.log"
main_passed=0 main_failed=0
if [ -f "$main_log" ]; then
  main_passed=$(grep -c '^Test Passed' "$main_log" || true)
  main_failed=$(grep -c '^Test Failed' "$main_log" || true)
  main="main suite: $main_passed passed, $main_failed failed; "
fi
summary="${main:-}sanitizers (ASan+UBSan): ${tests_line:-no test summary}; fuzzing: ${#fuzz_done[@]}/${#TARGETS[@]} targets passed, $fuzz_total iterations, $fuzz_failed failed; $((end - start)) s"
echo "$summary"
# The closing line in the plain form CI reads: every test case (main + sanitized) and every fuzz target.
san_total=$(echo "${tests_line:-}" | sed -n 's/.*out of \([0-9]*\).*/\1/p')
san_failed=$(echo "${tests_line:-}" | sed -n 's/.* \([0-9]*\) tests\{0,1\} failed.*/\1/p')
san_total=${san_total:-0} san_failed=${san_failed:-0}
echo "tests: $((main_passed + san_total - san_failed + ${#fuzz_done[@]})) passed, $((main_failed + san_failed + fuzz_failed)) failed"
[ "$tests_rc" -eq 0 ] && [ "$fuzz_failed" -eq 0 ]
