#!/usr/bin/env bash
# A real Qdrant server for the remote-index tests, like scripts/postgres.sh for PostgreSQL.
#   scripts/qdrant.sh build   build the vendored Qdrant 1.18.3 once into a cache folder outside the
#                             clone (../shared/vendor/build-qdrant.sh; ~33 min cold on 2 cores,
#                             then instant); installs Debian's protobuf-compiler if missing
#   scripts/qdrant.sh start   start it on loopback with an API key and a fresh temporary storage
#                             path, wait until it answers, print `QDRANT_URL=… QDRANT_API_KEY=…`
#   scripts/qdrant.sh restart stop it and start it again on the same storage
#   scripts/qdrant.sh stop    stop it and remove its storage
#   scripts/qdrant.sh built   print the cached server binary's path, or fail if it is not built
# REGULA_QDRANT_DIR: the build cache (default ~/.cache/regula/qdrant).
set -euo pipefail
cd "$(dirname "$0")/.."
VENDOR=${REGULA_VENDOR_DIR:-../shared/vendor}
CACHE=${REGULA_QDRANT_DIR:-$HOME/.cache/regula/qdrant}
STATE=${REGULA_QDRANT_STATE:-/tmp/regula-qdrant}
HTTP_PORT=${REGULA_QDRANT_HTTP_PORT:-16333}
GRPC_PORT=${REGULA_QDRANT_GRPC_PORT:-16334}
KEY=${REGULA_QDRANT_API_KEY:-regula-test-key}

build() {
  if ! command -v protoc >/dev/null 2>&1; then
    echo "installing Debian package: protobuf-compiler" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq protobuf-compiler >/dev/null
  fi
  # A cargo target of its own: the server's fat-LTO build must not share Regula's.
  env -u CARGO_TARGET_DIR bash "$VENDOR/build-qdrant.sh" "$CACHE"
}

stop() {
  if [ -f "$STATE/pid" ]; then
    kill "$(cat "$STATE/pid")" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$(cat "$STATE/pid")" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$STATE"
}

launch() {
  local bin=$1
  mkdir -p "$STATE/storage"
  # From its state folder (the server writes a marker file into its working directory); `exec`,
  # so the recorded pid is the server's own.
  (
    cd "$STATE" || exit 1
    export QDRANT__SERVICE__HOST=127.0.0.1 QDRANT__SERVICE__HTTP_PORT=$HTTP_PORT \
      QDRANT__SERVICE__GRPC_PORT=$GRPC_PORT QDRANT__SERVICE__API_KEY=$KEY \
      QDRANT__STORAGE__STORAGE_PATH=$STATE/storage QDRANT__STORAGE__SNAPSHOTS_PATH=$STATE/snapshots \
      QDRANT__TELEMETRY_DISABLED=true
    exec nohup "$bin" >>"$STATE/log" 2>&1
  ) &
  echo $! >"$STATE/pid"
  for _ in $(seq 300); do
    if curl -fsS -H "api-key: $KEY" "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null 2>&1; then
      echo "QDRANT_URL=http://127.0.0.1:$GRPC_PORT QDRANT_API_KEY=$KEY"
      return 0
    fi
    kill -0 "$(cat "$STATE/pid")" 2>/dev/null || break
    sleep 0.1
  done
  echo "the Qdrant server did not start; its log:" >&2
  cat "$STATE/log" >&2
  return 1
}

start() {
  local bin
  bin=$(build)
  stop
  launch "$bin"
}

# Stop and start again on the same storage (a server restart, as an operator would do one).
restart() {
  local bin
  bin=$(build)
  if [ -f "$STATE/pid" ]; then
    kill "$(cat "$STATE/pid")" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$(cat "$STATE/pid")" 2>/dev/null || break; sleep 0.1; done
  fi
  launch "$bin"
}

built() {
  local bin=$CACHE/qdrant-1.18.3/target/release/qdrant
  [ -x "$bin" ] && echo "$bin"
}

case "${1:-}" in
  build) build ;;
  built) built ;;
  start) start ;;
  restart) restart ;;
  stop) stop ;;
  *) echo "usage: $0 build|built|start|restart|stop" >&2; exit 2 ;;
esac
