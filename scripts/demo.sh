#!/usr/bin/env bash
# Quick start 1: runs the bundled leaky example under libleak.so and prints its leak report.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh >/dev/null
echo "\$ LD_PRELOAD=build/libleak.so LIBLEAK_OUTPUT=build/example.bin build/examples/leaky"
LD_PRELOAD=build/libleak.so LIBLEAK_OUTPUT=build/example.bin build/examples/leaky
echo "\$ build/leakreport build/example.bin"
build/leakreport build/example.bin
