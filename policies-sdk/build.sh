#!/usr/bin/env bash
# Builds every Rust example policy (examples/*/Cargo.toml) into a WebAssembly component:
#   cargo build --release --target wasm32-unknown-unknown   (core module, profile in Cargo.toml)
#   wasm-tools component new <core.wasm> -o <out>/rust-<example>.wasm
# then validates each component and checks that it imports nothing but umagate:policy/host.
#
# Usage: policies-sdk/build.sh [OUT_DIR]    (default: <repo>/target/policies)
# Environment: WASM_TOOLS (default: <repo>/.tools/bin/wasm-tools, installed by scripts/setup).
# The guest build uses policies-sdk/target (this directory is its own cargo workspace) unless
# CARGO_TARGET_DIR is set.
set -euo pipefail

sdk="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$sdk")"
out="${1:-$repo/target/policies}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
wasm_tools="${WASM_TOOLS:-$repo/.tools/bin/wasm-tools}"
target=wasm32-unknown-unknown
target_dir="${CARGO_TARGET_DIR:-$sdk/target}"
cd "$sdk"   # so rustup applies the repo's rust-toolchain.toml

if [[ ! -x "$wasm_tools" ]]; then
  echo "build.sh: wasm-tools not found at $wasm_tools (run scripts/setup or set WASM_TOOLS)" >&2
  exit 1
fi

# The rustup target is the supported route. Fallback without rustup's download server (see
# /work/shared/reference/toolchains.md, "Rust from Debian packages only"), not automated here:
#   apt-get install -y rustc-web cargo-web rust-web-src lld-22
#   RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
#   CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=/usr/bin/wasm-ld-22 \
#     /usr/bin/cargo build --release --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort
if ! command -v rustup >/dev/null; then
  echo "build.sh: rustup not found; see the Debian fallback described in this script" >&2
  exit 1
fi
if ! rustup target list --installed | grep -qx "$target"; then
  rustup target add "$target"
fi

examples=()
for manifest in examples/*/Cargo.toml; do
  examples+=("$(basename "$(dirname "$manifest")")")
done
if [[ ${#examples[@]} -eq 0 ]]; then
  echo "build.sh: no examples found in $sdk/examples" >&2
  exit 1
fi

packages=()
for name in "${examples[@]}"; do packages+=(--package "$name"); done
cargo build --release --locked --target "$target" --target-dir "$target_dir" "${packages[@]}"

for name in "${examples[@]}"; do
  core="$target_dir/$target/release/${name//-/_}.wasm"
  component="$out/rust-$name.wasm"
  "$wasm_tools" component new "$core" -o "$component"
  "$wasm_tools" validate "$component"
  # A policy gets no WASI: it may import only the umagate host interface (functions) and the
  # types interface (types only, for `request` and `decision`).
  imports="$("$wasm_tools" component wit "$component" | sed -n 's/^ *import \([^;]*\);.*/\1/p')"
  if grep -vE '^umagate:policy/(host|types)@0\.1\.0$' <<<"$imports" | grep -q .; then
    echo "build.sh: $component has unexpected imports:" >&2
    echo "$imports" >&2
    exit 1
  fi
  printf '%8d bytes  %s\n' "$(wc -c <"$component")" "$component"
done
echo "build.sh: ${#examples[@]} components in ${SECONDS}s"
