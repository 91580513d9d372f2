#!/usr/bin/env bash
# Regula's own generator on a GPU, measured with 30B-class model shapes (synthetic weights).
# Runs on the GPU machine the device tool lends (CUDA toolkit, cmake, no internet), from the
# repository root with gpu-kit/ carried (scripts/gpu-kit.sh makes it here):
#
#   scripts/gpu-bench.sh build    # llama.cpp of regula's exact version, CUDA, shared (~5 min)
#   scripts/gpu-bench.sh run      # synthesize each shape, bench generate, table  (~5 min)
#   scripts/gpu-bench.sh all      # both in one call: a session's device time is 15 min in all,
#                                 # and each call that finds no warm machine starts one
#
# GPU_BENCH_CPU=1 rehearses the whole path on a CPU machine with tiny shapes (no CUDA).
# Results go to $OUT (the device tool brings it back): <shape>.json, results.md, log.txt.
# Every figure is for synthetic weights: the real model's shapes and Q4_K_M mix, random blocks.
set -euo pipefail
cd "$(dirname "$0")/.."
KIT=${KIT:-gpu-kit}
OUT=${OUT:-/tmp/gpu-bench-out}
WORK=${WORK:-/tmp/gpu-bench}
CPU=${GPU_BENCH_CPU:-0}
TOKENS=${TOKENS:-128}
RUNS=${RUNS:-3}
# Passages of the 18F leave policy in the prompt: 14 make 2,039 tokens with this tokenizer.
PASSAGES=${PASSAGES:-14}
if [ "$CPU" = 1 ]; then SHAPES=${SHAPES:-tiny tiny-moe}; else SHAPES=${SHAPES:-dense-32b moe-30b-a3b}; fi
mkdir -p "$OUT" "$WORK"
log() { echo "[$(date +%T)] $*" | tee -a "$OUT/log.txt"; }

build() {
  if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH=/usr/local/cuda/bin:$PATH; fi
  local crate src
  crate=$(ls "$KIT"/llama-cpp-sys-2-*.crate)
  rm -rf "$WORK/src" "$WORK/build" "$WORK/llama" && mkdir -p "$WORK/src"
  tar -xzf "$crate" -C "$WORK/src"
  src=$(ls -d "$WORK"/src/llama-cpp-sys-2-*/llama.cpp)
  # The options llama-cpp-sys-2 builds with (its build.rs), shared, plus the backend; without
  # llama.cpp's common library, which regula does not NEED (readelf -d), half the build.
  local flags=(-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON -DCMAKE_INSTALL_LIBDIR=lib
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF
    -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_COMMON=OFF -DLLAMA_CURL=OFF
    -DGGML_OPENMP=ON)
  if [ "$CPU" = 1 ]; then
    flags+=(-DGGML_CUDA=OFF -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON)
  else
    log "nvcc: $(nvcc --version | tail -1)"
    flags+=(-DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCH:-90}")
  fi
  log "building llama.cpp from $(basename "$crate") (${flags[*]})"
  local started=$SECONDS
  cmake -S "$src" -B "$WORK/build" "${flags[@]}" >"$OUT/cmake-configure.txt" 2>&1 \
    || { tail -30 "$OUT/cmake-configure.txt"; exit 1; }
  cmake --build "$WORK/build" -j"$(nproc)" >"$OUT/cmake-build.txt" 2>&1 \
    || { tail -40 "$OUT/cmake-build.txt"; exit 1; }
  cmake --install "$WORK/build" --prefix "$WORK/llama" >/dev/null
  log "built in $((SECONDS - started)) s on $(nproc) cores: $(ls "$WORK"/llama/lib/*.so.0 | xargs -n1 basename | tr '\n' ' ')"
  # The build logs are kept only when the build fails: the device tool brings back at most
  # eight files, and a run of both shapes writes seven.
  rm -f "$OUT"/cmake-configure.txt "$OUT"/cmake-build.txt
}

run() {
  [ -d "$WORK/llama/lib" ] || { echo "gpu-bench: run 'build' first" >&2; exit 1; }
  # regula is carried compressed (the device tool carries at most 64 MiB).
  python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' \
    "$KIT/regula.xz" "$WORK/regula"
  chmod +x "$WORK/regula"
  export LD_LIBRARY_PATH="$WORK/llama/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  ldd "$WORK/regula" | grep -E 'llama|ggml|not found' | tee -a "$OUT/log.txt"
  if ldd "$WORK/regula" | grep -q 'not found'; then echo "gpu-bench: a library is missing" >&2; exit 1; fi
  if [ "$CPU" != 1 ]; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.csv"
  fi
  local layers=999
  [ "$CPU" = 1 ] && layers=0
  for shape in $SHAPES; do
    local model="$WORK/$shape.gguf"
    log "synthesizing $shape"
    python3 scripts/synth_gguf.py write --shape "$shape" --tokenizer "$KIT/tokenizer.gguf" --out "$model" | tee -a "$OUT/log.txt"
    log "bench generate $shape: $TOKENS tokens, $RUNS runs, 1/4/8 askers, all layers on the GPU"
    REGULA__MODELS__LLM="$model" REGULA__LLM__N_GPU_LAYERS=$layers REGULA__LLM__N_CTX=32768 \
      REGULA__LLM__N_BATCH=2048 \
      "$WORK/regula" --json bench generate --tokens "$TOKENS" --runs "$RUNS" \
      --concurrency 1,4,8 --passages "$PASSAGES" >"$OUT/$shape.json" 2>"$OUT/$shape.log" \
      || { tail -30 "$OUT/$shape.log"; exit 1; }
    rm -f "$model"
  done
  python3 scripts/gpu_report.py --out "$OUT" --cpu "$CPU" $SHAPES | tee "$OUT/results.md"
}

case "${1:-all}" in
  build) build ;;
  run) run ;;
  all) build; run ;;
  *) echo "usage: $0 [build|run|all]" >&2; exit 2 ;;
esac
