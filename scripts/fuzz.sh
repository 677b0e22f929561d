#!/usr/bin/env bash
# fuzz.sh - run every Go fuzz target of the module for a while.
#
#   scripts/fuzz.sh [FUZZTIME]     # default 10s per target, e.g. 10m
#
# Targets are found with `go test -list '^Fuzz'`; each runs on its own
# (go test -fuzz takes one target at a time). Every target runs even when
# one fails; the exit status is non-zero if any failed. A failing input is
# saved by Go under the package's testdata/fuzz/ and replays in `go test`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$PATH:/usr/local/go/bin"

fuzztime=${1:-10s}
tags=(-tags nomsgpack)

# `go test -list` prints a package's matching names, then "ok  PKG ...".
if ! listing=$(go test "${tags[@]}" -run '^$' -list '^Fuzz' ./... 2>&1); then
	printf '%s\n' "$listing"
	echo "fuzz: listing fuzz targets failed"
	exit 1
fi
targets=()
pending=()
while read -r first second _; do
	case $first in
	Fuzz*) pending+=("$first") ;;
	ok)
		for name in "${pending[@]}"; do
			targets+=("$second $name")
		done
		pending=()
		;;
	esac
done <<<"$listing"

if ((${#targets[@]} == 0)); then
	echo "fuzz: no fuzz targets"
	exit 0
fi

failed=()
for target in "${targets[@]}"; do
	read -r pkg name <<<"$target"
	echo "fuzz: $name in $pkg for $fuzztime"
	if ! go test "${tags[@]}" -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg"; then
		failed+=("$pkg.$name")
	fi
done

echo "fuzz: $((${#targets[@]} - ${#failed[@]})) passed, ${#failed[@]} failed"
if ((${#failed[@]} > 0)); then
	printf 'fuzz: FAIL %s\n' "${failed[@]}"
	exit 1
fi
