#!/usr/bin/env bash
# Prepare gpu-kit/ (git-ignored) on a machine without a GPU or CUDA toolkit, for
# scripts/gpu-bench.sh on a GPU machine that has the toolkit but no internet:
#   regula.xz        regula built with llama-cpp-2's `dynamic-link` feature: it NEEDs
#                    libllama.so.0 and libggml*.so.0, so a CUDA build of the same llama.cpp made
#                    there is swapped in through LD_LIBRARY_PATH (structs pass by value across
#                    that boundary: the source must be the very one regula was built against)
#   llama-cpp-sys-2-VERSION.crate   that source, from cargo's registry cache
#   tokenizer.gguf   the default model's real tokenizer and chat template, for synthetic models
#   lib/             the CPU libraries of this build, for a rehearsal here (not carried)
# Then: scripts/gpu-bench.sh (see there). The kit is ~25 MB, under the device tool's carry limit.
set -euo pipefail
cd "$(dirname "$0")/.."
KIT=gpu-kit
TARGET=${CARGO_TARGET_DIR:-target}
bash scripts/fetch-models.sh >/dev/null

version=$(awk '/^name = "llama-cpp-sys-2"$/ {getline; gsub(/"/, "", $3); print $3}' Cargo.lock)
crate=$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/"llama-cpp-sys-2-$version.crate" | head -1)
[ -f "$crate" ] || { echo "gpu-kit: llama-cpp-sys-2-$version.crate not in cargo's cache (run cargo fetch)" >&2; exit 1; }

cargo build --release --features dynamic-link --bin regula
rm -rf "$KIT" && mkdir -p "$KIT/lib"
cp "$TARGET/release/regula" "$KIT/regula"
strip "$KIT/regula"
# The shared libraries the build made (the rehearsal's CPU variant). The default build's static
# out dir sits beside it and may be newer: take the one that holds libllama.so.
out=$(ls -td "$TARGET"/release/build/llama-cpp-sys-2-*/out/lib/libllama.so 2>/dev/null | head -1)
out=${out%/lib/libllama.so}
[ -n "$out" ] || { echo "gpu-kit: no shared libllama.so under $TARGET/release/build" >&2; exit 1; }
find "$out" -name 'lib*.so*' \( -type f -o -type l \) -exec cp -P {} "$KIT/lib/" \;
ldd "$KIT/regula" | grep -E 'llama|ggml' || { echo "gpu-kit: regula does not link llama.cpp dynamically" >&2; exit 1; }
xz -T0 -6 -f "$KIT/regula"
cp "$crate" "$KIT/"
python3 scripts/synth_gguf.py extract-tokenizer models/SmolLM2-135M-Instruct.Q4_1.gguf "$KIT/tokenizer.gguf"
du -sh "$KIT"/* | sed 's/^/gpu-kit: /'
echo "gpu-kit: ready; carry it with the device tool: carry [\"gpu-kit\"] (lib/ is for a rehearsal here)"
