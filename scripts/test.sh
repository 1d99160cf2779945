#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian machine: installs what the tests need
# (Debian's Chromium and ChromeDriver for the browser tests), then `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver
fi

cargo test --workspace --locked "$@"
