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
# rate with a deep queue. Prints one line per run: the build, jobs/s, p99
# ms, the server's CPU ms a job and its threads' sleeps (voluntary
# context switches) a job. PostgreSQL is the local one at
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
	local before after
	before=$(cpu_and_switches "$pid")
	"$work/load" --target "$target" --generate-pdf "$doc" --jobs "$jobs" --concurrency "$clients" --user-name bench |
		sed -n 's/^RESULT //p' |
		python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["per_s"], r["latency_ms"]["p99"], end=" ")' |
		sed "s/^/$1 /"
	after=$(cpu_and_switches "$pid")
	python3 -c 'import sys; b, a, n = sys.argv[1].split(), sys.argv[2].split(), int(sys.argv[3]); print(round((int(a[0]) - int(b[0])) * 10 / n, 3), round((int(a[1]) - int(b[1])) / n, 1))' "$before" "$after" "$jobs"
	kill "$pid" && wait "$pid" 2>/dev/null || true
}
# cpu_and_switches PID: the process's CPU time in clock ticks (user and
# system; 100 a second) and its threads' voluntary context switches, each
# a thread that went to sleep: what a job costs beside its rate, which
# the noise of a shared machine hides better.
cpu_and_switches() {
	echo "$(awk '{print $14 + $15}' "/proc/$1/stat") $(cat /proc/"$1"/task/*/status | awk '/^voluntary_ctxt_switches/ {s += $2} END {print s}')"
}
echo "build jobs/s p99-ms cpu-ms/job sleeps/job ($db, $clients clients, $doc, $fill held before; A = $rev, B = working tree)"
for _ in $(seq "$rounds"); do
	run A
	run B
done
