#!/usr/bin/env bash
# Builds native/build/libportemu.so, the illumos event-port emulation used to
# run the event-port backend on Linux. Rebuilds only when a source or this
# script is newer than the library. Not needed (and skipped) off Linux.
set -euo pipefail
cd "$(dirname "$0")"

if [[ "$(uname -s)" != Linux ]]; then
	exit 0
fi

out=build/libportemu.so
srcs=(portemu/port.c portemu/port.h build.sh)

if [[ -f $out ]]; then
	stale=0
	for f in "${srcs[@]}"; do
		[[ $f -nt $out ]] && stale=1
	done
	((stale)) || exit 0
fi

mkdir -p build
# Link to a temporary name and rename, so a concurrent reader never loads a
# half-written library.
gcc -O2 -shared -fPIC -pthread -Wall -Wextra -Werror \
	-o "$out.tmp.$$" portemu/port.c
mv -f "$out.tmp.$$" "$out"
