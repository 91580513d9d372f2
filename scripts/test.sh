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
# 1.18.3, built once into ~/.cache/regula/qdrant by scripts/qdrant.sh: ~37 min cold).
# --fast: only the HTTP, rights, ingest-queue and streaming tests, on small deterministic test
# doubles instead of the real models (tests/common/doubles.rs): a quick loop while writing
# code. The default run (the real models, every test) is what CI runs.
with_qdrant=0
fast=0
args=()
for a in "$@"; do
  case "$a" in
    --with-qdrant) with_qdrant=1 ;;
    --fast) fast=1 ;;
    *) args+=("$a") ;;
  esac
done
if [ "$fast" = 1 ]; then
  export REGULA_TEST_MODELS=doubles
  # The HTTP tests are one binary (tests/http/); the fast tier is four of its modules. Test-binary
  # arguments given after `--` are kept, the module filters added to them.
  cargo_args=() test_args=() seen_dashes=0
  for a in ${args[@]+"${args[@]}"}; do
    if [ "$seen_dashes" = 1 ]; then test_args+=("$a")
    elif [ "$a" = "--" ]; then seen_dashes=1
    else cargo_args+=("$a"); fi
  done
  args=(--test http ${cargo_args[@]+"${cargo_args[@]}"} -- access:: api:: ingest:: streaming:: ${test_args[@]+"${test_args[@]}"})
fi
if [ "$with_qdrant" = 1 ]; then
  qdrant_env=$(bash scripts/qdrant.sh start)
  export ${qdrant_env?}
  trap 'bash scripts/qdrant.sh stop' EXIT
fi
cargo test --release ${args[@]+"${args[@]}"}
