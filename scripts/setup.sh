#!/usr/bin/env bash
# Install what a fresh machine lacks to build and run Regula: Debian build packages (llama.cpp needs
# cmake; bindgen needs libclang) and the offline model files. Idempotent: skips what is present.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)
dpkg -s libclang1-14 >/dev/null 2>&1 || need+=(libclang1-14)
dpkg -s libclang-common-14-dev >/dev/null 2>&1 || need+=(libclang-common-14-dev)
command -v unzip >/dev/null 2>&1 || need+=(unzip)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

bash scripts/fetch-models.sh
