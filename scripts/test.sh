#!/usr/bin/env bash
# The whole test suite, in the release profile (one build serves the binary and the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo test --release "$@"
