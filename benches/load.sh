#!/usr/bin/env bash
# Load benchmark of the HTTP API: quotes per second and p99 latency of `POST /v1/quotes` (the
# Alice→Bob gift, examples/requests/alice_to_bob_gift.json, with the sandbox's demo API key),
# next to a trivial endpoint of the same server (`GET /healthz`) measured in the same run.
# Targets: the same quote repeated at ≥ 60% of the trivial endpoint's throughput, every quote
# different at ≥ 40%. Then tenant fairness on a second server with the default limits (rate
# limit 100/s, burst 200 per tenant): tenant B's uncached quote latency while tenant A hammers the
# API (32 connections, every quote different) against B's latency alone, in the same run; target:
# B's p99 under load within 2x of its p99 alone.
#
#   benches/load.sh                    # 2 threads, 32 connections, 10 s per endpoint
#   DURATION=30s PORT=18181 benches/load.sh
#
# It builds the release binary, starts `starkroute serve` on a loopback port with a fresh
# --data-dir, runs wrk (Debian package `wrk`, installed with apt when missing) against each
# endpoint in turn, prints the figures and stops the server.
set -euo pipefail
cd "$(dirname "$0")/.."

THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-10s}
PORT=${PORT:-18080}
KEY=sr_sandbox_demo   # the sandbox's documented public demo key
REQUEST=examples/requests/alice_to_bob_gift.json
API="http://127.0.0.1:$PORT"

if ! command -v wrk >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
fi

cargo build --release --locked --bin starkroute
BIN="${CARGO_TARGET_DIR:-target}/release/starkroute"

WORK=$(mktemp -d)
# The per-tenant rate limit stays on (its bucket is taken on every request) but is set far above
# what one machine can send, so that the figures are throughput, not 429s; RATE_LIMIT=100 (the
# default) shows the limiter refusing instead.
STARKROUTE_API__RATE_LIMIT_PER_SEC=${RATE_LIMIT:-1000000} \
STARKROUTE_API__RATE_LIMIT_BURST=${RATE_BURST:-1000000} \
"$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" \
  >"$WORK/serve.log" 2>&1 &
SERVER=$!
cleanup() {
  kill "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
  curl -sf "$API/healthz" >/dev/null 2>&1 && break
  kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/serve.log"; exit 1; }
  sleep 0.1
done
curl -sf "$API/healthz" >/dev/null || { echo "the server did not come up"; cat "$WORK/serve.log"; exit 1; }
# One quote by hand first: the request must succeed (201) before it is measured.
status=$(curl -s -o "$WORK/quote.json" -w '%{http_code}' -H "Authorization: Bearer $KEY" \
  -H 'content-type: application/json' --data @"$REQUEST" "$API/v1/quotes")
[ "$status" = 201 ] || { echo "POST /v1/quotes answered $status: $(cat "$WORK/quote.json")"; exit 1; }

# wrk's done() hook prints one machine-readable line: requests/s, p50/p99 latency (µs), errors.
report='
done = function(summary, latency, requests)
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format("RESULT %.1f %d %d %d %d\n", summary.requests / secs,
    latency:percentile(50), latency:percentile(99), summary.requests,
    e.connect + e.read + e.write + e.timeout + e.status))
end
'
cat >"$WORK/quote.lua" <<EOF
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $KEY"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open("$REQUEST", "r"))
wrk.body = f:read("*a")
f:close()
$report
EOF
printf '%s\n' "$report" >"$WORK/trivial.lua"
# The same request, but each body different in its whitespace only: every request misses the
# quote cache and is planned and rendered (the uncached path).
cat "$WORK/quote.lua" >"$WORK/distinct.lua"
cat >>"$WORK/distinct.lua" <<'LUA'
local counter = 0
init = function(args)
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16))
  counter = math.random(0, 2 ^ 30)
end
request = function()
  counter = counter + 1
  local n = counter
  local body = wrk.body:gsub(",", function()
    local sep = (n % 2 == 0) and ", " or ",\n"
    n = math.floor(n / 2)
    return sep
  end)
  return wrk.format(nil, nil, nil, body .. string.rep(" ", n % 64))
end
LUA

run() { # name path script
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$3" "$API$2" >"$WORK/$1.out"
  grep '^RESULT' "$WORK/$1.out" | cut -d' ' -f2-
}

echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION against $BIN serve on 127.0.0.1:$PORT"
read -r h_rps h_p50 h_p99 h_n h_err < <(run trivial /healthz "$WORK/trivial.lua")
read -r q_rps q_p50 q_p99 q_n q_err < <(run quotes /v1/quotes "$WORK/quote.lua")
read -r d_rps d_p50 d_p99 d_n d_err < <(run distinct /v1/quotes "$WORK/distinct.lua")

ms() { awk -v us="$1" 'BEGIN { printf "%.2f ms", us / 1000 }'; }
printf '%-22s %10s/s  p50 %-10s p99 %-10s (%s requests, %s errors)\n' \
  "GET /healthz" "$h_rps" "$(ms "$h_p50")" "$(ms "$h_p99")" "$h_n" "$h_err"
printf '%-22s %10s/s  p50 %-10s p99 %-10s (%s requests, %s errors)\n' \
  "POST /v1/quotes" "$q_rps" "$(ms "$q_p50")" "$(ms "$q_p99")" "$q_n" "$q_err"
printf '%-22s %10s/s  p50 %-10s p99 %-10s (%s requests, %s errors)\n' \
  "POST /v1/quotes, each" "$d_rps" "$(ms "$d_p50")" "$(ms "$d_p99")" "$d_n" "$d_err"
echo "  (...body different in its whitespace: planned and rendered every time, no cache hit)"
awk -v q="$d_rps" -v h="$h_rps" \
  'BEGIN { printf "uncached quotes at %.1f%% of the trivial endpoint\n", 100 * q / h }'
awk -v q="$q_rps" -v h="$h_rps" \
  'BEGIN { r = 100 * q / h; printf "quotes at %.1f%% of the trivial endpoint (target >= 60%%): %s\n", r, (r >= 60 ? "met" : "NOT met") }'
if [ "$q_err" != 0 ] || [ "$h_err" != 0 ] || [ "$d_err" != 0 ]; then
  echo "errors during the run (see wrk's output):"; cat "$WORK/quotes.out" "$WORK/trivial.out" "$WORK/distinct.out"
  exit 1
fi
awk -v q="$d_rps" -v h="$h_rps" \
  'BEGIN { r = 100 * q / h; printf "uncached quotes target (>= 40%%): %s\n", (r >= 40 ? "met" : "NOT met") }'

# --- Tenant fairness: a second server with two tenants and the default limits.
FPORT=$((PORT + 1))
FAPI="http://127.0.0.1:$FPORT"
KEY_A=sr_load_tenant_a_7f3c9e21
KEY_B=sr_load_tenant_b_52d8a0b4
sha() { printf %s "$1" | sha256sum | cut -d' ' -f1; }
# Tenant B asks for a different quote every 25 ms on one connection (about 40/s, under its own
# limit): its latency is what it gets, whatever A does.
sed -e "s/Bearer $KEY/Bearer $KEY_B/" "$WORK/distinct.lua" >"$WORK/tenant-b.lua"
printf 'delay = function() return 25 end\n' >>"$WORK/tenant-b.lua"
# Tenant A: 32 connections, every quote different, as fast as wrk can (mostly 429s past its
# limit); its done() hook reports non-2xx answers as errors.
sed -e "s/Bearer $KEY/Bearer $KEY_A/" "$WORK/distinct.lua" >"$WORK/tenant-a.lua"
fair() { # name script connections path
  wrk -t1 -c"$3" -d"$DURATION" --latency -s "$2" "$FAPI$4" >"$WORK/$1.out"
  grep '^RESULT' "$WORK/$1.out" | cut -d' ' -f2-
}
# Twice in the same run: refusals held until the tenant's next token (api.rate_limit_hold_ms,
# the default 1000), then answered at once (0), each on a fresh server.
for HOLD in 1000 0; do
kill "$SERVER" 2>/dev/null || true
wait "$SERVER" 2>/dev/null || true
STARKROUTE_API__RATE_LIMIT_HOLD_MS=$HOLD \
STARKROUTE_API__TENANTS="[{ name = \"a\", key_sha256 = \"$(sha $KEY_A)\" }, { name = \"b\", key_sha256 = \"$(sha $KEY_B)\" }]" \
"$BIN" serve --listen "127.0.0.1:$FPORT" --data-dir "$WORK/data-fair-$HOLD" \
  >"$WORK/serve-fair.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do
  curl -sf "$FAPI/healthz" >/dev/null 2>&1 && break
  kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/serve-fair.log"; exit 1; }
  sleep 0.1
done
read -r b0_rps b0_p50 b0_p99 b0_n b0_err < <(fair b-alone "$WORK/tenant-b.lua" 1 /v1/quotes)
fair a-hammer "$WORK/tenant-a.lua" "$CONNECTIONS" /v1/quotes >"$WORK/a.result" &
HAMMER=$!
sleep 1
read -r b1_rps b1_p50 b1_p99 b1_n b1_err < <(fair b-loaded "$WORK/tenant-b.lua" 1 /v1/quotes)
wait "$HAMMER"
read -r a_rps a_p50 a_p99 a_n a_err <"$WORK/a.result"
echo "tenant fairness (default limits: 100/s, burst 200 per tenant; rate_limit_hold_ms = $HOLD):"
printf '%-34s %8s/s  p50 %-10s p99 %-10s (%s requests, %s not 2xx)\n' \
  "tenant B alone" "$b0_rps" "$(ms "$b0_p50")" "$(ms "$b0_p99")" "$b0_n" "$b0_err"
printf '%-34s %8s/s  p50 %-10s p99 %-10s (%s requests, %s not 2xx)\n' \
  "tenant A hammering (32 connections)" "$a_rps" "$(ms "$a_p50")" "$(ms "$a_p99")" "$a_n" "$a_err"
printf '%-34s %8s/s  p50 %-10s p99 %-10s (%s requests, %s not 2xx)\n' \
  "tenant B meanwhile" "$b1_rps" "$(ms "$b1_p50")" "$(ms "$b1_p99")" "$b1_n" "$b1_err"
awk -v l="$b1_p99" -v u="$b0_p99" \
  'BEGIN { r = l / u; printf "tenant B p99 under load = %.2fx its p99 alone (target <= 2x): %s\n", r, (r <= 2 ? "met" : "NOT met") }'
if [ "$b0_err" != 0 ] || [ "$b1_err" != 0 ]; then
  echo "tenant B got answers other than 2xx (see wrk's output):"; cat "$WORK/b-alone.out" "$WORK/b-loaded.out"
  exit 1
fi
done
