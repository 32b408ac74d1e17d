#!/usr/bin/env bash
# Installs on Debian 12 what is missing, with apt-get: `deps.sh build` for building libleak.so,
# leakreport and the examples (scripts/demo.sh); `deps.sh test` adds what the test suite uses.
set -euo pipefail
build=(build-essential cmake pkg-config libunwind-dev libdw-dev libelf-dev libfmt-dev libcli11-dev
       libprotobuf-dev protobuf-compiler zlib1g-dev)
# GoogleTest; Python and its headers (e2e harness, C extensions); GMP and PARI/GP (GMP scenarios);
# clang (libFuzzer run); chromium (renders the SVG plot).
test=(libgtest-dev python3 python3-dev libgmp-dev pari-gp clang chromium)
case "${1:-}" in
  build) packages=("${build[@]}") ;;
  test) packages=("${build[@]}" "${test[@]}") ;;
  *) echo "usage: $0 build|test" >&2; exit 2 ;;
esac
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
