#!/usr/bin/env bash
# Rebuilds the Cairo L2 contracts (contracts/l2/src/*.cairo) into
#   contracts/l2/out/<Name>.contract_class.json   the Sierra contract class (starknet-compile)
#   contracts/l2/out/manifest.json                {Name: {class_hash, compiled_class_hash}}
#   abis/l2/<Name>.json                           the Cairo ABI
# Tests and crates/starknet use the committed artifacts and never need the compiler.
#
# The compiler: starknet-compile 2.12.0-dev.0 as StarkWare ships it in PyPI's cairo-lang
# 0.14.0.1, downloaded once into ~/.cache/starkroute/cairo (override: STARKROUTE_CAIRO_DIR).
#
# The corelib: that sdist packs only corelib/src/*.cairo and corelib/src/starknet/*.cairo, not
# the subfolders (ops/, iter/, num/, starknet/storage/, ...) the compiler needs, and no registry
# publishes the rest. Give the complete corelib/ of starkware-libs/cairo at tag v2.12.0-dev.0 in
# STARKROUTE_CAIRO_CORELIB the first time (it is copied into the cache); this script checks that
# every file the sdist does ship is identical to it, so a corelib of another version is refused.
#
# The compiled class hash: starknet-devnet 0.10 recompiles a declared class with
# cairo-lang-starknet-classes 2.19.4 and checks the V2 (Blake2s) hash; contracts/l2/casm-hash
# computes exactly that (built from crates.io into ~/.cache/starkroute/casm-hash-target).
set -euo pipefail
cd "$(dirname "$0")"
L2="$(pwd)"
ROOT="$(cd ../.. && pwd)"
CAIRO_LANG=0.14.0.1
COMPILER=2.12.0-dev.0
CAIRO_DIR="${STARKROUTE_CAIRO_DIR:-$HOME/.cache/starkroute/cairo}"
SDIST="$CAIRO_DIR/cairo-lang-$CAIRO_LANG"
SIERRA="$SDIST/starkware/starknet/compiler/v1/sierra-compiler-major-1"
# starknet-compile finds corelib/src beside its bin/: a tree with the complete corelib.
TOOLCHAIN="$CAIRO_DIR/v$COMPILER"
CONTRACTS=(BridgedERC20 TokenBridge BridgedERC721 NftBridge)

if [ ! -x "$SIERRA/bin/starknet-compile" ]; then
  mkdir -p "$CAIRO_DIR"
  python3 -m pip download --quiet --no-deps "cairo-lang==$CAIRO_LANG" -d "$CAIRO_DIR"
  (cd "$CAIRO_DIR" && unzip -q -o "cairo-lang-$CAIRO_LANG.zip" \
    "cairo-lang-$CAIRO_LANG/starkware/starknet/compiler/v1/sierra-compiler-major-1/*")
  chmod +x "$SIERRA/bin/starknet-compile"
fi
if [ ! -f "$TOOLCHAIN/corelib/src/ops/deref.cairo" ]; then
  src="${STARKROUTE_CAIRO_CORELIB:-}"
  if [ -z "$src" ] || [ ! -f "$src/src/lib.cairo" ]; then
    echo "contracts/l2/build.sh: set STARKROUTE_CAIRO_CORELIB to the corelib/ folder of" \
      "starkware-libs/cairo at tag v$COMPILER (PyPI's cairo-lang $CAIRO_LANG ships it incomplete)" >&2
    exit 1
  fi
  mkdir -p "$TOOLCHAIN/bin"
  rm -rf "$TOOLCHAIN/corelib"
  cp -r "$src" "$TOOLCHAIN/corelib"
fi
(cd "$SIERRA/corelib/src" && find . -name '*.cairo' | while read -r f; do
  cmp -s "$f" "$TOOLCHAIN/corelib/src/$f" || {
    echo "contracts/l2/build.sh: $TOOLCHAIN/corelib/src/$f differs from cairo-lang $CAIRO_LANG's:" \
      "not the corelib of v$COMPILER" >&2
    exit 1
  }
done)
cp "$SIERRA/bin/starknet-compile" "$TOOLCHAIN/bin/starknet-compile"
"$TOOLCHAIN/bin/starknet-compile" --version | grep -q "$COMPILER"

CARGO_TARGET_DIR="$HOME/.cache/starkroute/casm-hash-target" \
  cargo build --quiet --release --locked --manifest-path "$L2/casm-hash/Cargo.toml"
CASM_HASH="$HOME/.cache/starkroute/casm-hash-target/release/casm-hash"

mkdir -p "$L2/out" "$ROOT/abis/l2"
for name in "${CONTRACTS[@]}"; do
  "$TOOLCHAIN/bin/starknet-compile" --single-file "$L2/src/$name.cairo" \
    "$L2/out/$name.contract_class.json"
  jq '.abi' "$L2/out/$name.contract_class.json" > "$ROOT/abis/l2/$name.json"
done
(cd "$L2/out" && "$CASM_HASH" "${CONTRACTS[@]/%/.contract_class.json}") |
  jq -s 'map({key: (.path | sub("\\.contract_class\\.json$"; "")),
              value: {class_hash, compiled_class_hash}}) | from_entries' > "$L2/out/manifest.json"
cat "$L2/out/manifest.json"
