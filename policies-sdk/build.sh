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
#
# Two routes to the core module (scripts/setup installs what each needs):
#   rustup  the toolchain of rust-toolchain.toml with rustup's wasm32-unknown-unknown target.
#   debian  when rustup has no such target (its download server is not a registry we can count
#           on): Debian's rustc-web/cargo-web build std from source (rust-web-src, -Zbuild-std,
#           std's dependencies from crates.io) and wasm-ld-22 links. Target dir: policies-sdk/
#           target-debian (or $CARGO_TARGET_DIR-debian), so the two routes never share one.
# UMAGATE_RUST_GUEST=auto (default: rustup if its target is installed, else debian if Debian's Rust
# is installed, else try `rustup target add`) | rustup | debian forces one.
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

rustup_has_target() {
  command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx "$target"
}
debian_rust=(/usr/bin/rustc /usr/bin/rustdoc /usr/bin/cargo /usr/bin/wasm-ld-22
  /usr/lib/rustlib/src/rust/library/Cargo.lock)
debian_has_rust() {
  local f
  for f in "${debian_rust[@]}"; do [[ -e "$f" ]] || return 1; done
}

route="${UMAGATE_RUST_GUEST:-auto}"
case "$route" in
  auto)
    if rustup_has_target; then
      route=rustup
    elif debian_has_rust; then
      route=debian
    elif command -v rustup >/dev/null && rustup target add "$target"; then
      route=rustup
    else
      echo "build.sh: neither rustup's $target target nor Debian's Rust (${debian_rust[*]}) is" \
        "installed; run scripts/setup" >&2
      exit 1
    fi
    ;;
  rustup)
    if ! rustup_has_target; then
      command -v rustup >/dev/null || { echo "build.sh: rustup not found" >&2; exit 1; }
      rustup target add "$target"
    fi
    ;;
  debian) ;;
  *)
    echo "build.sh: UMAGATE_RUST_GUEST must be auto, rustup or debian, not '$route'" >&2
    exit 1
    ;;
esac
if [[ "$route" == debian ]] && ! debian_has_rust; then
  echo "build.sh: Debian's Rust is incomplete (needs ${debian_rust[*]}); run" \
    "UMAGATE_RUST_GUEST=debian scripts/setup" >&2
  exit 1
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
if [[ "$route" == rustup ]]; then
  echo "build.sh: rustup route ($(rustc --version))"
  cargo build --release --locked --target "$target" --target-dir "$target_dir" "${packages[@]}"
else
  # Call Debian's cargo by path (~/.cargo/bin, first in PATH, has rustup's) and name rustc and
  # rustdoc explicitly, so that nothing goes through a rustup proxy (which would pick 1.95 from
  # rust-toolchain.toml, without the target). RUSTC_BOOTSTRAP=1 unlocks -Zbuild-std on a stable
  # compiler; std comes from /usr/lib/rustlib/src/rust (rust-web-src), resolved with its own
  # Cargo.lock there (left unchanged), its dependencies from crates.io. Debian ships no rust-lld:
  # link with wasm-ld-22.
  target_dir="$target_dir-debian"
  echo "build.sh: Debian route ($(/usr/bin/rustc --version), $(/usr/bin/wasm-ld-22 --version))"
  env RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=/usr/bin/wasm-ld-22 \
    /usr/bin/cargo build --release --locked --target "$target" --target-dir "$target_dir" \
    -Zbuild-std=std,panic_abort "${packages[@]}"
fi

for name in "${examples[@]}"; do
  core="$target_dir/$target/release/${name//-/_}.wasm"
  component="$out/rust-$name.wasm"
  "$wasm_tools" component new "$core" -o "$component"
  "$wasm_tools" validate "$component"
  # A policy gets no WASI: it may import only the umagate host interface (functions) and the
  # types interface (types only, for `request` and `decision`).
  imports="$("$wasm_tools" component wit "$component" | sed -n 's/^ *import \([^;]*\);.*/\1/p')"
  if grep -vE '^umagate:policy/(host|types)@0\.2\.0$' <<<"$imports" | grep -q .; then
    echo "build.sh: $component has unexpected imports:" >&2
    echo "$imports" >&2
    exit 1
  fi
  printf '%8d bytes  %s\n' "$(wc -c <"$component")" "$component"
done
echo "build.sh: ${#examples[@]} components in ${SECONDS}s"
