#!/usr/bin/env bash
# One command for a newcomer: install what is missing, build, ingest the sample corpus, create the
# first admin account (its password is printed once) and serve Regula on http://127.0.0.1:8080
# (REGULA__HTTP__ADDR to change it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release
BIN="${CARGO_TARGET_DIR:-target}/release/regula"
"$BIN" ingest sample/en-18f-handbook sample/ko-labor-law
"$BIN" user bootstrap
exec "$BIN" serve
