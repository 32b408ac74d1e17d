#!/usr/bin/env bash
# Quick start 2: installs what is missing, builds, and runs the whole test suite (unit tests,
# end-to-end scenarios, sanitizer builds and a short fuzz run) through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
scripts/build.sh
cd build
ctest --output-on-failure -j"$(nproc)" "$@"
