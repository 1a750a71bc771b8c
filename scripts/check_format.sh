#!/usr/bin/env bash
# Checks that the lines a change touched follow .clang-format (Debian's clang-format 14), without
# reformatting untouched code (that would bury history). Prints the diff clang-format wants and exits 1
# when there is one.
# Usage: scripts/check_format.sh [BASE]   (default BASE: HEAD, i.e. the uncommitted change)
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-HEAD}
out=$(git clang-format --diff --extensions cpp,h,cu "$base" -- 2>&1) || true
case "$out" in
  ""|"no modified files to format"|"clang-format did not modify any files") echo "format: ok"; exit 0 ;;
esac
echo "$out"
exit 1
