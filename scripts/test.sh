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
cargo test --release "$@"
