#!/bin/sh
# Builds the reader with clang + libFuzzer + ASan/UBSan and fuzzes fuzz_trace for N seconds
# (default 20) on tests/fuzz/corpus. The main build uses gcc, so this compiles the reader
# sources directly (the list comes from src/report/CMakeLists.txt, the one place it is kept).
# Usage: tests/fuzz/run_fuzz.sh [seconds] [--regen-seeds]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${LIBLEAK_FUZZ_DIR:-$root/build-fuzz}
seconds=${1:-20}
mkdir -p "$out"
CXX=${CXX_FUZZ:-clang++}
flags="-std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I$root/src -I$root/include $(pkg-config --cflags libdw fmt)"
libs="$(pkg-config --libs libdw fmt) -lz"
sources=$(sed -n '/^set(LEAK_REPORT_SOURCES$/,/^)/p' "$root/src/report/CMakeLists.txt" | grep '\.cpp' | sed "s|^ *|$root/src/report/|")
if [ "${2:-}" = "--regen-seeds" ]; then
  $CXX -std=c++20 -I$root/include "$here/make_seeds.cpp" -o "$out/make_seeds" -lz
  "$out/make_seeds" "$here/corpus"
fi
# shellcheck disable=SC2086
$CXX $flags $sources "$here/fuzz_trace.cpp" -o "$out/fuzz_trace" $libs
mkdir -p "$out/corpus"
cp "$here"/corpus/* "$out/corpus/"
# Found inputs go to build-fuzz/corpus, never into the checked-in seeds.
"$out/fuzz_trace" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 "$out/corpus"
