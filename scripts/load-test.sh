#!/usr/bin/env bash
# HTTP load test with a real load generator (autocannon, from npm) on loopback, bounded in time:
# GET /healthz (the HTTP stack alone: the baseline), POST /api/v1/search and POST /api/v1/ask
# against a server with the 18F handbook loaded. Prints throughput, latency percentiles and error
# counts per endpoint. Usage: scripts/load-test.sh [seconds-per-endpoint [seconds-per-ask-run]]
# (release build first). Answers take tens of seconds on a small CPU, so ask runs need minutes to
# say anything: e.g. `scripts/load-test.sh 30 300`.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-20}"
ASK_SECS="${2:-$SECS}"
BIN="${CARGO_TARGET_DIR:-target}/release/regula"
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 1; }
TOOLS=.load-test
[ -x "$TOOLS/node_modules/.bin/autocannon" ] || npm install --silent --prefix "$TOOLS" autocannon@9.0.0 >/dev/null
AC="$TOOLS/node_modules/.bin/autocannon"
DATA=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$DATA"' EXIT
"$BIN" --data-dir "$DATA" ingest sample/en-18f-handbook >/dev/null
KEY=$("$BIN" --data-dir "$DATA" --json key create load-test --scope ask | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
REGULA__HTTP__ADDR="127.0.0.1:$PORT" REGULA__LIMITS__ASKS_PER_MINUTE=0 REGULA__LOG__LEVEL=warn \
  "$BIN" --data-dir "$DATA" serve 2>"$DATA/serve.log" &
SERVER=$!
for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| endpoint | connections | seconds | requests/s | p50 ms | p90 ms | p99 ms | max ms | 2xx | non-2xx | errors+timeouts |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
run() { # name connections seconds method path [body]
  local name=$1 conns=$2 secs=$3 method=$4 path=$5 body=${6:-}
  # Answers take seconds each on a small CPU: a generous per-request timeout.
  local args=(-j -c "$conns" -d "$secs" -t 180 -m "$method" -H "authorization=Bearer $KEY" -H "content-type=application/json")
  [ -n "$body" ] && args+=(-b "$body")
  "$AC" "${args[@]}" "http://127.0.0.1:$PORT$path" 2>/dev/null | python3 -c "
import json,sys
r=json.load(sys.stdin); l=r['latency']
print(f\"| $name | $conns | $secs | {r['requests']['total'] / max(r['duration'], 1e-9):.2f} | {l['p50']} | {l['p90']} | {l['p99']} | {l['max']} | {r['2xx']} | {r['non2xx']} | {r['errors']+r['timeouts']} |\")"
}
run "GET /healthz (baseline)" 8 "$SECS" GET /healthz
run "POST /api/v1/search" 8 "$SECS" POST /api/v1/search '{"query":"How much annual leave do I earn?","top_k":8}'
run "POST /api/v1/ask" 4 "$ASK_SECS" POST /api/v1/ask '{"question":"How much annual leave do I earn?"}'
run "POST /api/v1/ask" 8 "$ASK_SECS" POST /api/v1/ask '{"question":"How much annual leave do I earn?"}'
