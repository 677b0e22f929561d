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

# fuzz_once PKG NAME LOG: one run of a target, its output also in LOG.
fuzz_once() {
	go test "${tags[@]}" -run '^$' -fuzz "^${2}\$" -fuzztime "$fuzztime" "$1" 2>&1 | tee "$3"
	return "${PIPESTATUS[0]}"
}

# deadline_flake LOG: whether a failed run is Go's own race at the end of
# -fuzztime (go.dev/issue/75804, fixed in Go 1.27): a bare "context
# deadline exceeded", with no failing input written and no panic.
deadline_flake() {
	grep -q 'context deadline exceeded' "$1" && ! grep -qE 'Failing input written|panic:|_test\.go:[0-9]+:' "$1"
}

log=$(mktemp)
trap 'rm -f "$log"' EXIT
failed=()
for target in "${targets[@]}"; do
	read -r pkg name <<<"$target"
	echo "fuzz: $name in $pkg for $fuzztime"
	if fuzz_once "$pkg" "$name" "$log"; then
		continue
	fi
	# A real finding is written under testdata/fuzz and fails every run
	# after; the toolchain's race is tried once more.
	if deadline_flake "$log"; then
		echo "fuzz: $name stopped on Go's fuzztime race (go.dev/issue/75804), not on an input; running it again"
		if fuzz_once "$pkg" "$name" "$log"; then
			continue
		fi
	fi
	failed+=("$pkg.$name")
done

echo "fuzz: $((${#targets[@]} - ${#failed[@]})) passed, ${#failed[@]} failed"
if ((${#failed[@]} > 0)); then
	printf 'fuzz: FAIL %s\n' "${failed[@]}"
	exit 1
fi
