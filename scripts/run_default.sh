#!/usr/bin/env bash
# Set up (idempotent), build, and run the main job: configs/default.json on the embedded default
# model (SmolLM2-135M), writing samples.jsonl and the reports into runs/default/.
# Extra arguments go to `claa run` (e.g. --resume, --out DIR, --set key=value).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/scripts/setup.sh"
cd "$ROOT"
out=runs/default
args=("$@")
# A finished earlier run is kept: continue it (nothing to do) instead of refusing.
if [ -s "$out/samples.jsonl" ] && [[ " ${args[*]-} " != *" --out "* ]]; then args+=(--resume); fi
exec "$ROOT/build/claa" run configs/default.json ${args[@]+"${args[@]}"}
