#!/usr/bin/env bash
# Quick start 1: installs only what building needs, builds libleak.so, leakreport and the example
# (no tests, no sanitizer variants), runs examples/leaky.c under libleak.so and prints its report.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
# A tree configured before (by scripts/test.sh) keeps its options; a new one gets no tests.
if [ ! -f build/CMakeCache.txt ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLIBLEAK_TESTS=OFF -DLIBLEAK_SANITIZE=OFF >/dev/null
fi
cmake --build build -j"$(nproc)" --target leak leakreport leaky >/dev/null
echo "\$ LD_PRELOAD=build/libleak.so LIBLEAK_OUTPUT=build/example.bin build/examples/leaky"
LD_PRELOAD=build/libleak.so LIBLEAK_OUTPUT=build/example.bin build/examples/leaky
echo "\$ build/leakreport build/example.bin"
build/leakreport build/example.bin
