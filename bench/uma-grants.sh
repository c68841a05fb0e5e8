#!/usr/bin/env bash
# The full UMA exchange — permission ticket → token endpoint → RPT — per second and its latency
# percentiles, with a Wasm policy bound (the Rust SDK `email-domain` example, fresh instance per
# decision), on SQLite and on PostgreSQL; beside it, client-credentials grants measured by the
# same server in the same run, and the ratio (goal: at least half the client-credentials rate).
#
# Each grant presents a new ticket (tickets are single use): tickets are minted beforehand by a
# wrk run against the permission endpoint and handed out one per request. The requesting party
# pushes an ID token of a trusted issuer (made here) with a verified email at the owner's
# shared domain, so every decision runs the policy and permits; the RPT is signed and recorded.
# The server is pinned to one core (taskset -c 0) and wrk to the other.
#
#   bench/uma-grants.sh [seconds per run, default 10]
#
# Needs: scripts/setup (the venv for the ID token, the guest toolchains for the policy), wrk,
# curl and jq (installed from apt if missing), scripts/postgres for the PostgreSQL run.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
for tool in wrk curl jq; do
  command -v "$tool" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null
done
policy=target/policies/rust-email-domain.wasm
[ -f "$policy" ] || scripts/build-policies >/dev/null
cargo build --release --locked -q
bin="${CARGO_TARGET_DIR:-$PWD/target}/release/umagate"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

secret="bench-$(head -c 24 /dev/urandom | base64 | tr -dc A-Za-z0-9)"
digest=$(printf %s "$secret" | sha256sum | cut -d' ' -f1)
idp=https://idp.bench.test
{ read -r jwks; read -r id_token; } < <(.tools/venv/bin/python -W ignore bench/id-token.py "$idp" bench-app bob bob@example.com 2>/dev/null)

cat > "$work/cc.lua" <<LUA
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $(printf 'bench-rs:%s' "$secret" | base64 -w0)"
LUA

run() { # name database_url port
  local name=$1 db=$2 port=$3 base="http://127.0.0.1:$3"
  cat > "$work/$name.toml" <<TOML
[server]
listen = "127.0.0.1:$port"
data_dir = "$work/$name-data"
[database]
url = "$db"
[uma]
rpt_secs = 600
[quotas]
# One party asks for thousands of RPTs here; the default (1000 live per client and party) is
# for real use.
rpts_per_party_client = 100000000
tickets_per_owner = 100000000
[[uma.trusted_issuers]]
issuer = "$idp"
jwks = '$jwks'
[[clients]]
client_id = "bench-rs"
secret_hash = "sha256:$digest"
resource_server = true
grant_types = ["client_credentials"]
[[clients]]
client_id = "bench-app"
secret_hash = "sha256:$digest"
grant_types = ["urn:ietf:params:oauth:grant-type:uma-ticket"]
[[users]]
username = "alice"
password = "alice-bench-password"
TOML
  RUST_LOG=warn taskset -c 0 "$bin" serve --config "$work/$name.toml" &
  local pid=$!
  for _ in $(seq 100); do curl -sf "$base/jwks" >/dev/null && break; sleep 0.1; done
  local alice owner pat rid
  alice=$("$bin" admin --config "$work/$name.toml" user list | awk '$2 == "alice" {print $1}')
  owner=$("$bin" admin --config "$work/$name.toml" token issue alice --client bench-app --scope uma_owner 2>/dev/null)
  pat=$(curl -sf -u "bench-rs:$secret" -d grant_type=client_credentials "$base/token" | jq -r .access_token)
  rid=$(curl -sf -H "Authorization: Bearer $pat" -H "X-Umagate-Owner: $alice" -H 'Content-Type: application/json' \
    -d '{"name":"Album","type":"album","resource_scopes":["view"]}' "$base/rreg" | jq -r ._id)
  curl -sf -X PUT -H "Authorization: Bearer $owner" -H 'Content-Type: application/json' \
    -d '{"share-domain":"example.com"}' "$base/owner/resources/$rid/attributes" >/dev/null
  local pid_policy
  pid_policy=$(curl -sf -H "Authorization: Bearer $owner" -H 'Content-Type: application/wasm' \
    --data-binary "@$policy" "$base/owner/policies?name=email-domain" | jq -r .policy.policy_id)
  curl -sf -X PUT -H "Authorization: Bearer $owner" -H 'Content-Type: application/json' \
    -d "{\"target\":{\"resource_type\":\"album\"},\"policy_id\":\"$pid_policy\"}" "$base/owner/bindings" >/dev/null

  # Tickets for the grant run: minted for 1.5 times as long as the grants run.
  cat > "$work/perm.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"resource_id":"$rid","resource_scopes":["view"]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $pat"
wrk.headers["X-Umagate-Owner"] = "$alice"
local out = io.open("$work/$name-tickets", "a")
out:setvbuf("line")
function response(status, headers, body)
  local t = body:match('"ticket":"([^"]+)"')
  if status == 201 and t then out:write(t, "\n") end
end
LUA
  taskset -c 1 wrk -t1 -c16 -d"$((secs * 3 / 2))s" -s "$work/perm.lua" "$base/perm" >/dev/null
  cat > "$work/grant.lua" <<LUA
local tickets, i = {}, 0
for line in io.lines("$work/$name-tickets") do tickets[#tickets + 1] = line end
local headers = {
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Authorization"] = "Basic $(printf 'bench-app:%s' "$secret" | base64 -w0)",
}
local fixed = "&claim_token=$id_token&claim_token_format=http%3A%2F%2Fopenid.net%2Fspecs%2Fopenid-connect-core-1_0.html%23IDToken"
function request()
  i = i + 1
  local body = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Auma-ticket&ticket="
    .. (tickets[i] or "exhausted") .. fixed
  return wrk.format("POST", "/token", headers, body)
end
LUA
  echo "== $name: $(wc -l < "$work/$name-tickets") tickets minted"
  echo "== $name: POST /token grant_type=client_credentials"
  taskset -c 1 wrk -t1 -c16 -d"${secs}s" --latency -s "$work/cc.lua" "$base/token" | grep -E 'Requests/sec|50%|99%|Non-2xx'
  echo "== $name: POST /token uma-ticket (ticket -> policy -> RPT)"
  taskset -c 1 wrk -t1 -c16 -d"${secs}s" --latency -s "$work/grant.lua" "$base/token" | grep -E 'Requests/sec|50%|99%|Non-2xx'
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
run sqlite "sqlite://$work/sqlite-data/umagate.db" 18091
scripts/postgres start >/dev/null
run postgres "$(scripts/postgres url)" 18092
scripts/postgres stop >/dev/null
