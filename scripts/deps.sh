#!/usr/bin/env bash
# Installs what building and testing libleak needs on Debian 12, skipping what is already there.
set -euo pipefail
packages=(build-essential cmake pkg-config libunwind-dev libdw-dev libelf-dev libfmt-dev libcli11-dev
          libgtest-dev python3 python3-dev libgmp-dev pari-gp clang
          libprotobuf-dev protobuf-compiler zlib1g-dev chromium)
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
