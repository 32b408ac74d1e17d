#!/usr/bin/env bash
# Configures and builds everything into ./build, as CI does: tests and sanitizer variants
# included (scripts/test.sh). Extra arguments go to cmake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLIBLEAK_TESTS=ON -DLIBLEAK_SANITIZE=ON "$@" >/dev/null
cmake --build build -j"$(nproc)"
