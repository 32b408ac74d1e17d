#!/bin/sh
# Builds the reader with clang + libFuzzer + ASan/UBSan and fuzzes fuzz_trace for N seconds
# (default 20) on tests/fuzz/corpus. The main build uses gcc, so this compiles the reader
# sources itself (the list comes from src/report/CMakeLists.txt, the one place it is kept),
# through a generated makefile: in parallel, and only what changed since the last run.
# Usage: tests/fuzz/run_fuzz.sh [seconds] [--regen-seeds]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${LIBLEAK_FUZZ_DIR:-$root/build-fuzz}
seconds=${1:-20}
mkdir -p "$out/obj"
CXX=${CXX_FUZZ:-clang++}
# Line tables only: sanitizer reports keep file:line, and the build takes a quarter less time.
flags="-std=c++20 -gline-tables-only -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I$root/src -I$root/include $(pkg-config --cflags libdw fmt)"
libs="$(pkg-config --libs libdw fmt) -lz"
sources=$(sed -n '/^set(LEAK_REPORT_SOURCES$/,/^)/p' "$root/src/report/CMakeLists.txt" | grep '\.cpp' | sed "s|^ *|$root/src/report/|")
sources="$sources $here/fuzz_trace.cpp $here/trace_mutator.cpp"
if [ "${2:-}" = "--regen-seeds" ]; then
  $CXX -std=c++20 -I$root/include "$here/make_seeds.cpp" -o "$out/make_seeds" -lz
  "$out/make_seeds" "$here/corpus"
fi
objects=""
rules=""
for src in $sources; do
  obj="$out/obj/$(basename "$src" .cpp).o"
  objects="$objects $obj"
  rules="$rules$obj: $src
	$CXX $flags -MMD -MP -c $src -o $obj
"
done
cat > "$out/fuzz.mk" <<MAKEFILE
$out/fuzz_trace:$objects
	$CXX $flags$objects -o $out/fuzz_trace $libs
$rules
-include $(echo "$objects" | sed 's/\.o/.d/g')
MAKEFILE
make -s -j"$(nproc)" -f "$out/fuzz.mk"
mkdir -p "$out/corpus"
cp "$here"/corpus/* "$out/corpus/"
# Found inputs go to $out/corpus and crashes to $out, never into the source tree. -timeout: an input that
# takes 10 s through the whole report (parse, analysis, formats) is a bug, not a slow machine.
"$out/fuzz_trace" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
  -artifact_prefix="$out/" "$out/corpus"
