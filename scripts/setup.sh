#!/usr/bin/env bash
# Install what a fresh machine lacks to build, run and test Regula: Debian packages (llama.cpp needs
# cmake; bindgen needs libclang; the browser tests need chromium and chromedriver) and the offline
# model files. Idempotent: skips what is present.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)
dpkg -s libclang1-14 >/dev/null 2>&1 || need+=(libclang1-14)
dpkg -s libclang-common-14-dev >/dev/null 2>&1 || need+=(libclang-common-14-dev)
command -v unzip >/dev/null 2>&1 || need+=(unzip)
# MeCab, loaded at run time to read Korean questions (its dictionary comes from PyPI).
dpkg -s libmecab2 >/dev/null 2>&1 || need+=(libmecab2)
# The browser tests drive headless Chromium through chromedriver.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
dpkg -s fonts-nanum >/dev/null 2>&1 || need+=(fonts-nanum)  # Korean glyphs in the screenshots
# The deployment test runs the shipped load balancer config in a real nginx.
[ -x /usr/sbin/nginx ] || need+=(nginx-light)
python3 -m venv --help >/dev/null 2>&1 || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

bash scripts/fetch-models.sh

# The tests drive Regula's OpenAI-compatible API with the official `openai` Python client.
VENV=.venv-test
if ! "$VENV/bin/python" -c "import openai" >/dev/null 2>&1; then
  echo "installing the openai Python client for the tests into $VENV"
  # CI links .venv-test to a cache folder: create the venv where the link points.
  python3 -m venv "$(readlink -f "$VENV")"
  "$VENV/bin/pip" install -q --disable-pip-version-check openai==3.57.0
fi
