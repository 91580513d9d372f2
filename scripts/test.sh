#!/usr/bin/env bash
# The whole test suite, in the release profile (one build serves the binary and the tests). The
# store tests also run against a local PostgreSQL started here (REGULA_TEST_DATABASE_URL; set it to
# use another server, or to an empty string to skip PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -z "${REGULA_TEST_DATABASE_URL+set}" ]; then
  REGULA_TEST_DATABASE_URL=$(bash scripts/postgres.sh)
fi
if [ -n "$REGULA_TEST_DATABASE_URL" ]; then export REGULA_TEST_DATABASE_URL; else unset REGULA_TEST_DATABASE_URL; fi
# --with-qdrant: also run the remote-index tests against a real Qdrant server (the vendored
# 1.18.3, built once into ~/.cache/regula/qdrant by scripts/qdrant.sh: ~33 min cold).
with_qdrant=0
args=()
for a in "$@"; do
  if [ "$a" = "--with-qdrant" ]; then with_qdrant=1; else args+=("$a"); fi
done
if [ "$with_qdrant" = 1 ]; then
  qdrant_env=$(bash scripts/qdrant.sh start)
  export ${qdrant_env?}
  trap 'bash scripts/qdrant.sh stop' EXIT
fi
cargo test --release "${args[@]}"
