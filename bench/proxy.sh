#!/usr/bin/env bash
# The edge proxy against nginx, all in one run over loopback, with wrk:
#   1. the demo upstream directly (the photo API of `umagate dev`);
#   2. nginx as a plain reverse proxy in front of it (Debian's nginx, one worker, keep-alive);
#   3. `umagate proxy` on a public route;
#   4. `umagate proxy` on a protected route with a valid RPT (verified once, then cached).
# Every server is pinned to core 0 and wrk to core 1. Prints requests per second, p50 and p99 of
# each and the ratios to nginx, the p50 the proxy adds over the direct upstream, and the
# resident memory of an idle proxy and of an idle authorization server.
# Goals (issue 6): public ≥ nginx; protected ≥ 85% of nginx; added p50 ≤ 60 µs; idle proxy
# ≤ 32 MB; idle AS ≤ 64 MB.
#
#   bench/proxy.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
for tool in wrk curl nginx; do
  command -v "$tool" >/dev/null || command -v "/usr/sbin/$tool" >/dev/null ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null
done
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
cargo build --release --locked -q
bin="${CARGO_TARGET_DIR:-$PWD/target}/release/umagate"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null; rm -rf "$work"' EXIT
as_port=18200 dev_proxy=18201 api_port=18202 proxy_port=18203 nginx_port=18204 idle_as=18205

wait_for() { for _ in $(seq 200); do curl -sf -o /dev/null "$1" && return 0; sleep 0.05; done; echo "not up: $1" >&2; exit 1; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# The AS and the demo API (umagate dev), then the proxy under test as its own process.
RUST_LOG=warn taskset -c 0 "$bin" dev --dir "$work/dev" --as-port $as_port --proxy-port $dev_proxy --api-port $api_port >/dev/null &
wait_for "http://127.0.0.1:$dev_proxy/public/hello"
sed "s/127.0.0.1:$dev_proxy\"\]/127.0.0.1:$proxy_port\"]/" "$work/dev/proxy.toml" > "$work/proxy.toml"
RUST_LOG=warn taskset -c 0 "$bin" proxy --config "$work/proxy.toml" &
proxy_pid=$!
wait_for "http://127.0.0.1:$proxy_port/public/hello"
proxy_idle_kb=$(rss_kb $proxy_pid)

cat > "$work/nginx.conf" <<NGINX
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  upstream api { server 127.0.0.1:$api_port; keepalive 32; }
  server {
    listen 127.0.0.1:$nginx_port;
    location / { proxy_pass http://api; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
NGINX
taskset -c 0 "$nginx_bin" -c "$work/nginx.conf"
wait_for "http://127.0.0.1:$nginx_port/public/hello"

# An RPT for /albums/holiday, as in the README walkthrough.
ticket_of() { sed -n 's/^[Ww][Ww][Ww]-[Aa]uthenticate: UMA .*ticket="\([^"]*\)".*/\1/p'; }
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
ticket=$(curl -si "http://127.0.0.1:$proxy_port/albums/holiday" | ticket_of)
id_token=$("$bin" admin --config "$work/dev/as.toml" token id bob --client demo-client)
rpt=$(curl -s -u demo-client:demo-secret -d grant_type=urn:ietf:params:oauth:grant-type:uma-ticket \
  -d ticket="$ticket" -d claim_token="$id_token" \
  -d claim_token_format=http://openid.net/specs/openid-connect-core-1_0.html%23IDToken \
  "http://127.0.0.1:$as_port/token" | field access_token)
[ -n "$rpt" ] || { echo "no RPT" >&2; exit 1; }
curl -sf -o /dev/null -H "Authorization: Bearer $rpt" "http://127.0.0.1:$proxy_port/albums/holiday"
cat > "$work/rpt.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $rpt"
LUA

# wrk → "rps p50_us p99_us"
measure() {
  local out
  out=$(taskset -c 1 wrk -t1 -c16 -d"${secs}s" --latency "$@")
  if echo "$out" | grep -q 'Non-2xx'; then echo "non-2xx answers in: $*" >&2; echo "$out" >&2; exit 1; fi
  local rps p50 p99
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  us() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) print v+0; else if (v ~ /ms$/) print (v+0)*1000; else print (v+0)*1000000 }'; }
  echo "$rps $(us "$p50") $(us "$p99")"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $secs s per run, 16 connections"
read -r d_rps d_p50 d_p99 <<< "$(measure "http://127.0.0.1:$api_port/albums/holiday")"
read -r n_rps n_p50 n_p99 <<< "$(measure "http://127.0.0.1:$nginx_port/albums/holiday")"
read -r pub_rps pub_p50 pub_p99 <<< "$(measure "http://127.0.0.1:$proxy_port/public/hello")"
read -r np_rps np_p50 np_p99 <<< "$(measure "http://127.0.0.1:$nginx_port/public/hello")"
read -r pr_rps pr_p50 pr_p99 <<< "$(measure -s "$work/rpt.lua" "http://127.0.0.1:$proxy_port/albums/holiday")"

# An idle AS on its own: fresh data directory, default configuration.
RUST_LOG=warn "$bin" serve --listen "127.0.0.1:$idle_as" --database-url "sqlite://$work/idle/umagate.db" &
idle_pid=$!
wait_for "http://127.0.0.1:$idle_as/jwks"
as_idle_kb=$(rss_kb $idle_pid)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
printf '\n| target | req/s | p50 µs | p99 µs | vs nginx (same path) |\n|---|---|---|---|---|\n'
printf '| upstream directly, /albums/holiday | %s | %s | %s | %s× |\n' "$d_rps" "$d_p50" "$d_p99" "$(ratio "$d_rps" "$n_rps")"
printf '| nginx reverse proxy, /albums/holiday | %s | %s | %s | 1× |\n' "$n_rps" "$n_p50" "$n_p99"
printf '| nginx reverse proxy, /public/hello | %s | %s | %s | 1× |\n' "$np_rps" "$np_p50" "$np_p99"
printf '| umagate proxy, public /public/hello | %s | %s | %s | %s× |\n' "$pub_rps" "$pub_p50" "$pub_p99" "$(ratio "$pub_rps" "$np_rps")"
printf '| umagate proxy, protected /albums/holiday, cached RPT | %s | %s | %s | %s× |\n' "$pr_rps" "$pr_p50" "$pr_p99" "$(ratio "$pr_rps" "$n_rps")"
printf '\nadded p50 over the direct upstream: umagate protected %s µs, nginx %s µs\n' \
  "$(awk -v a="$pr_p50" -v b="$d_p50" 'BEGIN { print a - b }')" "$(awk -v a="$n_p50" -v b="$d_p50" 'BEGIN { print a - b }')"
printf 'idle resident memory: proxy %s MB, authorization server %s MB\n' \
  "$(awk -v k="$proxy_idle_kb" 'BEGIN { printf "%.1f", k / 1024 }')" "$(awk -v k="$as_idle_kb" 'BEGIN { printf "%.1f", k / 1024 }')"
