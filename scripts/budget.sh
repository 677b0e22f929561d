#!/usr/bin/env bash
# budget.sh - where the CPU of a held submission goes: printgate built from
# the working tree, started afresh with an empty queue, takes JOBS
# submissions of a generated PDF from CLIENTS concurrent printgate-load
# clients, and the CPU time each process used meanwhile is read from
# /proc: the load client, printgate, PostgreSQL's processes (every process
# named postgres on the machine), and the whole machine's busy and idle
# time. Everything is printed in ms a job (docs/PERFORMANCE.md).
#
#   scripts/budget.sh sqlite|postgres CLIENTS JOBS ROUNDS [DOC]
#
# DOC is printgate-load's --generate-pdf size (10KB). The figures are the
# machine's as a whole: run it on an otherwise idle machine. PostgreSQL is
# the local one at BENCH_PG_URL (a database is made for each run).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/benchconfig.sh
export PATH="$PATH:/usr/local/go/bin"
db=$1 clients=$2 jobs=$3 rounds=$4 doc=${5:-10KB}
pg_admin=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
go build -tags nomsgpack -o "$work/" ./cmd/printgate ./cmd/printgate-load

# ticks PID... prints the user and system clock ticks the processes used.
ticks() {
	if [ $# -eq 0 ]; then echo 0; return; fi
	cat "${@/#//proc/}" 2>/dev/null | awk '{s += $14 + $15} END {print s + 0}'
}
postgres_pids() { pgrep -x postgres | sed 's|$|/stat|' || true; }
# machine prints the machine's busy and idle clock ticks.
machine() { awk '/^cpu /{print $2+$3+$4+$7+$8, $5+$6}' /proc/stat; }

run() {
	local d=$work/run port pid
	start_hold_printgate "$work/printgate" "$d" "$db" "$pg_admin"
	local target=ipp://127.0.0.1:$port/ipp/print/hold
	"$work/printgate-load" --target "$target" --generate-pdf "$doc" --jobs 200 --concurrency "$clients" --user-name bench >/dev/null
	local pg0 pg1 s0 s1 m0 m1
	pg0=$(ticks $(postgres_pids)) s0=$(ticks "$pid/stat") m0=$(machine)
	/usr/bin/time -f '%U %S' -o "$d/client" "$work/printgate-load" --target "$target" --generate-pdf "$doc" \
		--jobs "$jobs" --concurrency "$clients" --user-name bench | sed -n 's/^RESULT //p' >"$d/result"
	pg1=$(ticks $(postgres_pids)) s1=$(ticks "$pid/stat") m1=$(machine)
	kill "$pid" && wait "$pid" 2>/dev/null || true
	python3 - "$jobs" "$(getconf CLK_TCK)" "$s0 $s1 $pg0 $pg1 $m0 $m1" "$(cat "$d/client")" "$d/result" <<-'EOF'
		import json, sys
		jobs, hz = int(sys.argv[1]), int(sys.argv[2])
		s0, s1, p0, p1, b0, i0, b1, i1 = map(int, sys.argv[3].split())
		u, s = map(float, sys.argv[4].split())
		r = json.load(open(sys.argv[5]))
		ms = lambda ticks: f"{ticks * 1000 / hz / jobs:.3f}"
		print(f'{r["per_s"]:.0f} {r["latency_ms"]["p99"]:.1f} {(u + s) * 1000 / jobs:.3f} '
		      f'{ms(s1 - s0)} {ms(p1 - p0)} {ms(b1 - b0)} {ms(i1 - i0)}')
	EOF
}
echo "jobs/s p99-ms then CPU ms a job: load-client printgate postgres machine-busy machine-idle ($db, $clients clients, $doc)"
for _ in $(seq "$rounds"); do run; done
