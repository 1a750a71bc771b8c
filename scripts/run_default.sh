#!/usr/bin/env bash
# Set up (idempotent), build, and run the main job on the embedded default model.
# Until the experiment runner lands this runs a greedy generation with SmolLM2-135M.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/scripts/setup.sh"
"$ROOT/build/claa" info --model smollm2-135m
"$ROOT/build/claa" generate --model smollm2-135m --chat --prompt "In one sentence, what is a KV cache in a language model?" --max-new-tokens 64
