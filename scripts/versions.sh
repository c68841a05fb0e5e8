# Every pinned tool version, in one place. Sourced by scripts/setup and scripts/test.
RUST_VERSION=1.95.0
RUST_TARGETS="wasm32-unknown-unknown wasm32-wasip2"
CARGO_FUZZ_VERSION=0.13.2
