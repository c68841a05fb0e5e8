#!/usr/bin/env bash
# Builds the email-domain example policy in C, Python and JavaScript into
#   ${1:-<repo>/target/policies}/{c,python,js}-email-domain.wasm
# with the tools scripts/setup installs into <repo>/.tools (pinned in scripts/versions.sh).
# Generated C bindings go to <repo>/target/guest-build/ (never committed).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="${1:-$repo/target/policies}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
wit="$repo/wit"
build="$repo/target/guest-build"
tools="$repo/.tools/bin"
npm_bin="$repo/.tools/npm/node_modules/.bin"

die() { echo "build-guests: $*" >&2; exit 1; }
need() { [[ -x "$1" ]] || die "missing $1: run scripts/setup"; }

need "$tools/wasm-tools"
need "$tools/wit-bindgen"
need "$tools/componentize-py"
need "$npm_bin/componentize-js"
need "$(command -v clang || echo /usr/bin/clang)"
[[ -f /usr/lib/wasm32-wasi/libc.a ]] || die "missing wasi-libc (/usr/lib/wasm32-wasi): run scripts/setup"
compgen -G '/usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a' >/dev/null ||
  die "missing libclang-rt-14-dev-wasm32: run scripts/setup"

now() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); } # milliseconds (bash 5)
report() { # name start-ms
  local ms=$(($(now) - $2))
  printf '== build-guests: %-24s %3d.%01d s  %9d bytes\n' "$1" $((ms / 1000)) $((ms % 1000 / 100)) \
    "$(stat -c %s "$out/$1")"
}
# A guest must import nothing but the policy package (host, and types via `use`).
assert_pure() {
  local imports others
  imports=$("$tools/wasm-tools" component wit "$out/$1" | grep -E '^\s*import ' || true)
  others=$(grep -v 'import umagate:policy/' <<<"$imports" || true)
  [[ -z "$others" ]] || die "$1 has unexpected imports:"$'\n'"$others"
}

# --- C: wit-bindgen c + Debian clang 14 / wasi-libc, reactor, no WASI imports ------------------
start=$(now)
rm -rf "$build/c" && mkdir -p "$build/c"
"$tools/wit-bindgen" c "$wit" --world policy --out-dir "$build/c/gen" >"$build/c/wit-bindgen.log" 2>&1 ||
  { cat "$build/c/wit-bindgen.log" >&2; die "wit-bindgen c failed"; }
clang --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor \
  -Wall -Wextra -Werror -Wno-unused-parameter \
  -Wl,--no-entry -Wl,--strip-all \
  -I"$build/c/gen" -o "$build/c/core.wasm" \
  "$here/c/email_domain.c" "$build/c/gen/policy.c" "$build/c/gen/policy_component_type.o"
"$tools/wasm-tools" component new "$build/c/core.wasm" -o "$out/c-email-domain.wasm"
"$tools/wasm-tools" validate "$out/c-email-domain.wasm"
assert_pure c-email-domain.wasm
report c-email-domain.wasm "$start"

# --- Python: componentize-py (CPython in the component) -----------------------------------------
# By default the component imports the 25 WASI 0.2 interfaces CPython's runtime wants; the
# engine links them to its sealed WASI context (no files, network or environment; frozen clock,
# fixed randomness), so print() is harmless and the policy stays a pure function.
# PYTHON_STUB_WASI=1 replaces them with trapping stubs instead (then print() traps: deny).
start=$(now)
stub=()
[[ "${PYTHON_STUB_WASI:-0}" == 1 ]] && stub=(--stub-wasi)
# Built from a copy: componentize-py writes __pycache__/ next to the module it imports.
rm -rf "$build/python" && mkdir -p "$build/python"
cp "$here/python/email_domain.py" "$build/python/"
"$tools/componentize-py" -d "$wit" -w policy \
  componentize -p "$build/python" email_domain "${stub[@]}" -o "$out/python-email-domain.wasm" >/dev/null
"$tools/wasm-tools" validate "$out/python-email-domain.wasm"
((${#stub[@]} == 0)) || assert_pure python-email-domain.wasm
report python-email-domain.wasm "$start"

# --- JavaScript: componentize-js (StarlingMonkey), every WASI feature disabled ----------------
start=$(now)
"$npm_bin/componentize-js" "$here/js/email-domain.js" --wit "$wit" --world-name policy \
  --disable stdio random clocks http fetch-event -o "$out/js-email-domain.wasm" >/dev/null
"$tools/wasm-tools" validate "$out/js-email-domain.wasm"
assert_pure js-email-domain.wasm
report js-email-domain.wasm "$start"
