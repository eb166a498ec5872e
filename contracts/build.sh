#!/usr/bin/env bash
# Rebuilds contracts/out/*.json (ABI + bytecode) and abis/*.json (ABIs) from contracts/l1/*.sol
# with solc-js from the npm registry, installed outside the clone. Tests use the committed
# artifacts and never need the compiler.
set -euo pipefail
cd "$(dirname "$0")"
SOLC_VERSION="0.8.28"
SOLC_DIR="${STARKROUTE_SOLC_DIR:-$HOME/.cache/starkroute/solc-$SOLC_VERSION}"
if [ ! -f "$SOLC_DIR/node_modules/solc/package.json" ]; then
  mkdir -p "$SOLC_DIR"
  (cd "$SOLC_DIR" && { [ -f package.json ] || npm init -y >/dev/null; } && npm install --silent "solc@$SOLC_VERSION")
fi
SOLC_DIR="$SOLC_DIR/node_modules/solc" node build.mjs
