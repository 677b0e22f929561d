#!/usr/bin/env bash
# abtest.sh - two builds of printgate side by side: REV (A) against the
# working tree (B), in alternating runs of printgate-load, each on a
# freshly started server with an empty queue. For a change's effect on a
# shared, noisy machine, where only runs interleaved in time compare.
#
#   scripts/abtest.sh REV CLIENTS JOBS ROUNDS [sqlite|postgres] [DOC]
#
# DOC is printgate-load's --generate-pdf size (10KB). AB_FILL=N first
# fills each server with N held jobs (8 clients, not counted), for the
# rate with a deep queue. Prints one line per run: the build, jobs/s and
# p99 ms. PostgreSQL is the local one at
# BENCH_PG_URL (a database is made for each run).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/benchconfig.sh
export PATH="$PATH:/usr/local/go/bin"
rev=$1 clients=$2 jobs=$3 rounds=$4 db=${5:-sqlite} doc=${6:-10KB} fill=${AB_FILL:-0}
pg_admin=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

git worktree add -q --detach "$work/a" "$rev"
(cd "$work/a" && go build -tags nomsgpack -o "$work/printgate-A" ./cmd/printgate)
git worktree remove --force "$work/a"
go build -tags nomsgpack -o "$work/printgate-B" ./cmd/printgate
go build -tags nomsgpack -o "$work/load" ./cmd/printgate-load

run() { # build
	local d=$work/run port pid
	start_hold_printgate "$work/printgate-$1" "$d" "$db" "$pg_admin"
	local target=ipp://127.0.0.1:$port/ipp/print/hold
	"$work/load" --target "$target" --generate-pdf "$doc" --jobs $((200 + fill)) --concurrency "$((fill > 0 ? 8 : clients))" --user-name bench >/dev/null
	"$work/load" --target "$target" --generate-pdf "$doc" --jobs "$jobs" --concurrency "$clients" --user-name bench |
		sed -n 's/^RESULT //p' |
		python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["per_s"], r["latency_ms"]["p99"])' |
		sed "s/^/$1 /"
	kill "$pid" && wait "$pid" 2>/dev/null || true
}
echo "build jobs/s p99-ms ($db, $clients clients, $doc, $fill held before; A = $rev, B = working tree)"
for _ in $(seq "$rounds"); do
	run A
	run B
done
