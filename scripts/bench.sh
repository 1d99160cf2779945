#!/usr/bin/env bash
# Reproduces the tables and plots of docs/benchmarks.md on a fresh Debian machine: installs
# Debian's Janus Gateway if missing, builds hnth and hnth-loadgen in release mode, then runs
# every scenario against hnth and Janus VideoRoom side by side, each server started fresh on
# loopback for every run. Extra arguments go to `hnth-loadgen compare` (e.g. `--n 50,200`).
#
# Output: the tables on stdout; target/bench/{tables.md,results.json}; docs/bench/*.svg.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v janus >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends janus
fi
# The package may start its own Janus service; the benchmark runs its own on loopback.
if command -v systemctl >/dev/null 2>&1; then systemctl stop janus >/dev/null 2>&1 || true; fi

cargo build --release --locked --workspace --bins
mkdir -p target/bench docs/bench
# A thousand endpoints hold two thousand descriptors; the load generator raises its own
# limit, and the servers it starts inherit it.
ulimit -n 65536 2>/dev/null || true
# Interactive rooms send nine streams to every receiver and the control scenario measures
# calls, not scale: both stop at 200 receivers, where the load generator's own two cores
# (shared with the server) are the limit.
exec target/release/hnth-loadgen compare \
  --janus-configs bench/janus \
  --window 5 \
  --cap interactive=200,control=200 \
  --markdown target/bench/tables.md \
  --results target/bench/results.json \
  --plots docs/bench \
  "$@"
