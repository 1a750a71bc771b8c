#!/usr/bin/env bash
# Set up (idempotent), build and run the whole test suite. CI runs exactly this (.ci/run).
# Each Catch2 test case is one CTest test, so the closing line counts real test cases.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/scripts/setup.sh" --with-tests
cd "${CLAA_BUILD_DIR:-$ROOT/build}"
ctest --output-on-failure -j"$(nproc)" "$@"
"$ROOT/scripts/run_sanitizer_tests.sh"  # ASan+UBSan tests and fuzzing; its last line sums both up
