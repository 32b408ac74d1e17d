#!/bin/sh
# Prints src/preload/python/layouts.h with fresh rows: compiles pylayout.c against the headers of
# each given CPython interpreter (default: /usr/bin/python3 and every pyenv 3.8-3.13 build), one
# row per major.minor. Usage: tools/pylayout/generate.sh [python...] > new && mv new <that file>
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ $# -eq 0 ]; then
  set -- /usr/bin/python3 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.*/bin/python3
fi
for py in "$@"; do
  [ -x "$py" ] || continue
  minor=$("$py" -c 'import sys; print(sys.version_info[1] if sys.version_info[0] == 3 else 0)')
  if [ "$minor" -lt 8 ] || [ "$minor" -gt 13 ]; then
    echo "skipping $py (3.$minor: outside 3.8-3.13)" >&2
    continue
  fi
  include=$("$py" -c "import sysconfig; print(sysconfig.get_paths()['include'])")
  cc -std=gnu11 -w -I"$include" "$here/pylayout.c" -o "$work/pylayout"
  "$work/pylayout" >> "$work/rows"
  echo "$py: 3.$minor from $include" >&2
done
# One row per version; two installations of one version must agree or the table cannot hold both.
sort -u "$work/rows" | sed 's/^.*\.minor = \([0-9]*\),.*$/\1\t&/' | sort -n | cut -f2- > "$work/unique"
if [ "$(sed 's/, \.ts_frame.*//' "$work/unique" | uniq -d)" ]; then
  echo "two installations of one version disagree:" >&2
  cat "$work/unique" >&2
  exit 1
fi
# Everything but the rows comes from the checked-in header itself: the struct is defined once.
table="$here/../../src/preload/python/layouts.h"
sed '/^inline constexpr PyLayout kPyLayouts\[\] = {$/q' "$table"
cat "$work/unique"
awk 'rows && /^};$/ { tail = 1 } /^inline constexpr PyLayout kPyLayouts/ { rows = 1 } tail' "$table"
