#!/usr/bin/env bash
# Installs the default essay haystack for the RULER essay tasks and the needle grid into
# ${CLAA_HAYSTACK_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/claa/haystack}. Idempotent.
#
# Source: the Canterbury corpus texts shipped in the PyPI sdist of Brotli 1.2.1 (tests/testdata/):
#   alice29.txt  - Lewis Carroll, "Alice's Adventures in Wonderland" (1865), Project Gutenberg etext,
#                  Millennium Fulcrum Edition 2.9: public domain.
#   plrabn12.txt - John Milton, "Paradise Lost" (1667), Project Gutenberg etext: public domain.
# (Brotli's own code is MIT-licensed; only these two public-domain texts are kept.)
# RULER uses Paul Graham's essays, which are not public domain; any folder of .txt files can be
# passed instead with --haystack DIR.
set -euo pipefail

dest="${CLAA_HAYSTACK_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/claa/haystack}"
files=(alice29.txt plrabn12.txt)
declare -A sha=(
  [alice29.txt]=7467306ee0feed4971260f3c87421154a05be571d944e9cb021a5713700c38f0
  [plrabn12.txt]=07e2e0b461af78c7c647cb53dab39de560198e16f799b4516eccf0fbd69f764c
)

have_all() {
  for f in "${files[@]}"; do
    [[ -f "$dest/$f" ]] && echo "${sha[$f]}  $dest/$f" | sha256sum -c --status - || return 1
  done
}

if have_all; then
  echo "haystack already in $dest"
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --no-binary :all: --dest "$tmp" "Brotli==1.2.1"
tarball="$(ls "$tmp"/brotli-1.2.1.tar.gz)"
mkdir -p "$dest"
for f in "${files[@]}"; do
  tar -xzf "$tarball" -C "$tmp" "brotli-1.2.1/tests/testdata/$f"
  echo "${sha[$f]}  $tmp/brotli-1.2.1/tests/testdata/$f" | sha256sum -c --status - ||
    { echo "checksum mismatch for $f" >&2; exit 1; }
  cp "$tmp/brotli-1.2.1/tests/testdata/$f" "$dest/$f.part" && mv "$dest/$f.part" "$dest/$f"
done
echo "haystack installed in $dest"
