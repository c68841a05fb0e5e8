#!/usr/bin/env bash
# Client-credentials grants per second and latency percentiles of `umagate serve`, on SQLite and
# on PostgreSQL, measured with wrk over loopback with keep-alive. The server is pinned to one
# core (taskset -c 0) and wrk to the other, so the figure is per core. As an in-run baseline the
# same server answers GET /.well-known/oauth-authorization-server (no database, no crypto): the
# ratio says what a grant costs beyond serving HTTP.
#
#   bench/token-grants.sh [seconds per run, default 15]
#
# Needs: a release build (built here), wrk (installed from apt if missing), and for the
# PostgreSQL run scripts/postgres (started and stopped here).
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-15}"
command -v wrk >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
cargo build --release --locked -q
bin="${CARGO_TARGET_DIR:-$PWD/target}/release/umagate"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

secret="bench-$(head -c 24 /dev/urandom | base64 | tr -dc A-Za-z0-9)"
digest=$(printf %s "$secret" | sha256sum | cut -d' ' -f1)
basic=$(printf 'bench:%s' "$secret" | base64 -w0)
cat > "$work/grant.lua" <<LUA
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $basic"
LUA

run() { # name url database_url
  local name=$1 db=$2 port=$3
  cat > "$work/$name.toml" <<TOML
[server]
listen = "127.0.0.1:$port"
data_dir = "$work/$name-data"
[database]
url = "$db"
[[clients]]
client_id = "bench"
secret_hash = "sha256:$digest"
resource_server = true
grant_types = ["client_credentials"]
TOML
  RUST_LOG=warn taskset -c 0 "$bin" serve --config "$work/$name.toml" &
  local pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/jwks" >/dev/null && break; sleep 0.1; done
  echo "== $name: baseline GET /.well-known/oauth-authorization-server"
  taskset -c 1 wrk -t1 -c16 -d"${secs}s" --latency "http://127.0.0.1:$port/.well-known/oauth-authorization-server" | grep -E 'Requests/sec|50%|99%'
  echo "== $name: POST /token grant_type=client_credentials"
  taskset -c 1 wrk -t1 -c16 -d"${secs}s" --latency -s "$work/grant.lua" "http://127.0.0.1:$port/token" | grep -E 'Requests/sec|50%|99%|Non-2xx'
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
run sqlite "sqlite://$work/sqlite-data/umagate.db" 18081
scripts/postgres start >/dev/null
run postgres "$(scripts/postgres url)" 18082
scripts/postgres stop >/dev/null
