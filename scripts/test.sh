#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian machine: installs what the tests need
# (Debian's Chromium and ChromeDriver for the browser tests, python3-aiosmtpd as the SMTP
# server of the notification tests, python3-icalendar to parse the schedule's iCalendar
# feeds), then `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1 \
  || ! /usr/bin/python3 -c "import aiosmtpd" >/dev/null 2>&1 \
  || ! /usr/bin/python3 -c "import icalendar" >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver python3-aiosmtpd python3-icalendar
fi

cargo test --workspace --locked "$@"
