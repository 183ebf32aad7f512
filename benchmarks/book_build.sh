#!/usr/bin/env bash
# Cold and warm book build times: a build with an empty execution cache, then one with it filled.
#   bash benchmarks/book_build.sh          (inside the activated .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf _build
start=$(date +%s); jupyter-book build . --warningiserror --keep-going >/dev/null; cold=$(( $(date +%s) - start ))
start=$(date +%s); jupyter-book build . --warningiserror --keep-going >/dev/null; warm=$(( $(date +%s) - start ))
echo "book build: cold ${cold} s, warm ${warm} s"
