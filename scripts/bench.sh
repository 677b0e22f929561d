#!/usr/bin/env bash
# bench.sh - printgate side by side with CUPS: the same printgate-load runs
# against Debian's cupsd and printgate, both holding every job, on
# loopback, with private configuration; the table goes into
# docs/BENCHMARKS.md between <!-- bench:start --> and <!-- bench:end -->.
#
#   scripts/bench.sh          (make bench)
#
# 1. Held submissions: a one-page 10 KB PDF and a 10 MB PDF, at 1, 8 and
#    32 concurrent clients, BENCH_ROUNDS rounds. Each server is started
#    afresh, with an empty queue, for every run, so that its peak resident
#    set (VmHWM) belongs to that run; which server goes first alternates
#    from run to run and round to round. The table gives medians over the
#    rounds and the ratio printgate/CUPS.
# 2. A deep queue: both servers are filled with BENCH_FILL_JOBS held jobs,
#    then Get-Jobs with six attributes is timed (BENCH_ROUNDS rounds of
#    BENCH_GETJOBS requests, alternating), then BENCH_ROUNDS rounds of
#    BENCH_DEEP_JOBS more submissions at 8 clients on the full queue.
#
# cupsd gets a raw queue on file:///dev/null with
# job-hold-until-default=indefinite, so that it keeps every job, as
# printgate's hold queue does. Each server runs with its packaged logging
# defaults (cupsd: LogLevel warn and its access log; printgate: info).
#
# Needs cupsd and lpadmin (Debian's cups and cups-client; when missing,
# scripts/provision.sh installs them) and Go. Only 127.0.0.1 is used.
# Every process and folder it makes is removed on exit.
#
# Settings (environment): BENCH_ROUNDS (5), BENCH_SMALL_JOBS (2000),
# BENCH_LARGE_JOBS (50), BENCH_FILL_JOBS (10000), BENCH_GETJOBS (20),
# BENCH_DEEP_JOBS (1000), BENCH_OUT (docs/BENCHMARKS.md; "-" for standard
# output only).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin:/usr/local/go/bin"
export LANG=C LC_ALL=C

rounds=${BENCH_ROUNDS:-5}
small_jobs=${BENCH_SMALL_JOBS:-2000}
large_jobs=${BENCH_LARGE_JOBS:-50}
fill_jobs=${BENCH_FILL_JOBS:-10000}
getjobs=${BENCH_GETJOBS:-20}
deep_jobs=${BENCH_DEEP_JOBS:-1000}
out_file=${BENCH_OUT:-docs/BENCHMARKS.md}
requested=job-id,job-name,job-state,job-originating-user-name,job-k-octets,time-at-creation

log() { printf 'bench: %s\n' "$*" >&2; }
die() {
	log "$*"
	exit 1
}

have_tools() { command -v cupsd >/dev/null && command -v lpadmin >/dev/null; }
if ! have_tools; then
	log "cupsd or lpadmin missing: running scripts/provision.sh"
	# A set URL keeps provision.sh from starting PostgreSQL, which is not needed here.
	PRINTGATE_TEST_POSTGRES_URL=unused bash scripts/provision.sh
	have_tools || die "cupsd and lpadmin are still missing (Debian packages cups and cups-client)"
fi
command -v go >/dev/null || die "go not found"

work=$(mktemp -d "${TMPDIR:-/tmp}/printgate-bench.XXXXXX")
# Held jobs run no filter, but cupsd still wants its folders readable by lp.
chmod 755 "$work"
running=() # "pid" of every server still up

stop_pid() { # pid
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	local keep=() p
	for p in "${running[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
	running=("${keep[@]}")
}
cleanup() {
	local pid
	for pid in "${running[@]}"; do stop_pid "$pid"; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
	local port
	while :; do
		port=$((20000 + RANDOM % 40000))
		port_open "$port" || break
	done
	echo "$port"
}

wait_port() { # port pid
	local i
	for i in $(seq 1 200); do
		port_open "$1" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

log "building printgate and printgate-load"
mkdir -p "$work/bin"
go build -tags nomsgpack -o "$work/bin/" ./cmd/printgate ./cmd/printgate-load

# Server state: each start_* sets these.
pid= target= dir=

start_printgate() { # name
	dir=$work/$1
	rm -rf "$dir"
	mkdir -p "$dir"
	local port
	port=$(free_port)
	cat >"$dir/printgate.yaml" <<EOF
data_dir: $dir/var
server:
  listen: ["127.0.0.1:$port"]
  # Like for like with cupsd: list every job, hold every document.
  get_jobs_limit: 0
spool:
  max_held_mb_per_user: 0
queues:
  - name: hold
    mode: hold
EOF
	"$work/bin/printgate" serve --config "$dir/printgate.yaml" >"$dir/log" 2>&1 &
	pid=$!
	running+=("$pid")
	wait_port "$port" "$pid" || die "printgate did not start: $(tail -20 "$dir/log")"
	target=ipp://127.0.0.1:$port/ipp/print/hold
}

start_cups() { # name
	dir=$work/$1
	rm -rf "$dir"
	mkdir -p "$dir"/{etc,run,cache,spool,tmp,log}
	chmod -R 755 "$dir"
	local port
	port=$(free_port)
	cat >"$dir/etc/cups-files.conf" <<EOF
ServerRoot $dir/etc
StateDir $dir/run
CacheDir $dir/cache
RequestRoot $dir/spool
TempDir $dir/tmp
AccessLog $dir/log/access_log
ErrorLog $dir/log/error_log
PageLog $dir/log/page_log
FileDevice Yes
SystemGroup root
EOF
	# MaxJobs 0 lifts the default limit of 500 jobs, which would refuse
	# most of a run; the rest are Debian's defaults, on loopback only.
	cat >"$dir/etc/cupsd.conf" <<EOF
LogLevel warn
Listen 127.0.0.1:$port
ServerName 127.0.0.1
WebInterface No
Browsing Off
DefaultAuthType None
MaxJobs 0
<Location />
  Order allow,deny
  Allow all
</Location>
<Policy default>
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
EOF
	cupsd -f -c "$dir/etc/cupsd.conf" -s "$dir/etc/cups-files.conf" >"$dir/log/stdout" 2>&1 &
	pid=$!
	running+=("$pid")
	wait_port "$port" "$pid" || die "cupsd did not start: $(tail -20 "$dir/log/error_log" "$dir/log/stdout" 2>&1)"
	# Raw queues are deprecated in CUPS 2.4 but work, and print nothing here.
	CUPS_SERVER=127.0.0.1:$port lpadmin -p hold -E -v file:///dev/null -m raw 2>/dev/null ||
		die "lpadmin -p hold failed: $(tail -20 "$dir/log/error_log")"
	CUPS_SERVER=127.0.0.1:$port lpadmin -p hold -o job-hold-until-default=indefinite ||
		die "lpadmin job-hold-until-default failed"
	target=ipp://127.0.0.1:$port/printers/hold
}

start_server() { # printgate|cups name
	case $1 in
	printgate) start_printgate "$2" ;;
	cups) start_cups "$2" ;;
	esac
}

hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

json_num() { # key line: the first number under "key"
	grep -o "\"$1\":[-0-9.e+]*" <<<"$2" | head -1 | cut -d: -f2
}

results=$work/results.tsv
# kind server doc clients round per_s p50 p99 hwm_kb errors ok returned
: >"$results"

# load kind server doc clients round ARGS...: one printgate-load run against
# $target, recorded in results.
load() {
	local kind=$1 server=$2 doc=$3 clients=$4 round=$5 output status=0 line
	shift 5
	output=$(TMPDIR=$work "$work/bin/printgate-load" --target "$target" --concurrency "$clients" "$@" 2>&1) || status=$?
	line=$(grep '^RESULT ' <<<"$output" | tail -1 || true)
	[[ $status -le 1 && -n $line ]] || die "printgate-load failed against $server: $output"
	if ((status == 1)); then
		log "errors against $server: $(grep -i 'error' <<<"$output" | head -5 | tr '\n' ' ')"
	fi
	local returned
	returned=$(grep -o '"jobs_returned":\[[0-9]*' <<<"$line" | grep -o '[0-9]*$' || echo -)
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$server" "$doc" "$clients" "$round" \
		"$(json_num per_s "$line")" "$(json_num p50 "$line")" "$(json_num p99 "$line")" "$(hwm_kb "$pid")" \
		"$(json_num errors "$line")" "$(json_num ok "$line")" "$returned" >>"$results"
	log "$kind $server $doc c=$clients round $round: $(json_num per_s "$line")/s p99 $(json_num p99 "$line") ms, errors $(json_num errors "$line")"
}

started=$(date +%s)
docs=(10KB 10MB)
clients_list=(1 8 32)

log "part 1: $rounds rounds of held submissions"
for ((r = 1; r <= rounds; r++)); do
	c=0
	for doc in "${docs[@]}"; do
		jobs=$small_jobs
		[[ $doc == 10KB ]] || jobs=$large_jobs
		for clients in "${clients_list[@]}"; do
			order=(printgate cups)
			(((r + c) % 2 == 0)) || order=(cups printgate)
			c=$((c + 1))
			for server in "${order[@]}"; do
				start_server "$server" "$server-run"
				load submit "$server" "$doc" "$clients" "$r" --generate-pdf "$doc" --jobs "$jobs" --user-name bench
				stop_pid "$pid"
				rm -rf "$dir"
			done
		done
	done
done

log "part 2: $fill_jobs held jobs on each server"
declare -A spid starget
for server in printgate cups; do
	start_server "$server" "$server-deep"
	spid[$server]=$pid
	starget[$server]=$target
	load fill "$server" 10KB 8 1 --generate-pdf 10KB --jobs "$fill_jobs" --user-name bench
done
for ((r = 1; r <= rounds; r++)); do
	order=(printgate cups)
	((r % 2 == 1)) || order=(cups printgate)
	for server in "${order[@]}"; do
		pid=${spid[$server]} target=${starget[$server]}
		load getjobs "$server" - 1 "$r" --op get-jobs --jobs "$getjobs" --requested-attributes "$requested"
	done
done
for server in printgate cups; do
	pid=${spid[$server]}
	printf 'held\t%s\t-\t-\t-\t-\t-\t-\t%s\t-\t-\t-\n' "$server" "$(hwm_kb "$pid")" >>"$results"
done
for ((r = 1; r <= rounds; r++)); do
	order=(printgate cups)
	((r % 2 == 1)) || order=(cups printgate)
	for server in "${order[@]}"; do
		pid=${spid[$server]} target=${starget[$server]}
		load deep "$server" 10KB 8 "$r" --generate-pdf 10KB --jobs "$deep_jobs" --user-name bench
	done
done
for server in printgate cups; do stop_pid "${spid[$server]}"; done
elapsed=$(($(date +%s) - started))
log "measured in ${elapsed}s"

# The table. Medians over rounds; ratio is printgate / CUPS.
cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
mem=$(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
cups_version=$(dpkg-query -W -f '${Version}' cups 2>/dev/null || echo unknown)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git status --porcelain 2>/dev/null) ]]; then commit="$commit with local changes"; fi
header="Generated by \`make bench\` on $(date -u '+%Y-%m-%d %H:%M UTC') in ${elapsed} s: $(nproc) CPUs ($cpu), $mem memory, Linux $(uname -r); CUPS $cups_version (Debian); printgate $commit; $(go version | awk '{print $3}'). The machine is shared: read the ratios, which come from runs interleaved in time, rather than the absolute figures."

table=$(awk -F'\t' -v rounds="$rounds" -v small="$small_jobs" -v large="$large_jobs" -v fill="$fill_jobs" \
	-v getjobs="$getjobs" -v deep="$deep_jobs" -v header="$header" '
function median(list,    v, n, i, j, t) {
	n = split(list, v, " ")
	if (n == 0) return ""
	for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j-1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j-1]; v[j-1] = t }
	return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function add(key, v) { if (v != "-" && v != "") vals[key] = vals[key] " " v }
function ratio(a, b) { return (a == "" || b == "" || b + 0 == 0) ? "–" : sprintf("%.2f", a / b) }
function num(v, f) { return v == "" ? "–" : sprintf(f, v) }
function mib(kb) { return kb == "" ? "" : kb / 1024 }
{
	k = $1 "|" $3 "|" $4 "|" $2
	add(k "|per_s", $6); add(k "|p50", $7); add(k "|p99", $8); add(k "|hwm", mib($9))
	if ($10 != "-") errs[$1 "|" $2] += $10
	if ($10 != "-") errk[k] += $10
	if ($12 != "-") add(k "|returned", $12)
	if ($1 == "held") held[$2] = mib($9)
}
END {
	print header
	print ""
	printf "Held submissions, medians of %d rounds (%d jobs per run of the 10 KB PDF, %d of the 10 MB one; each run on a freshly started server with an empty queue). Ratio = printgate / CUPS: above 1 is better for jobs/s, below 1 for p99 and memory.\n\n", rounds, small, large
	print "| document | clients | printgate jobs/s | CUPS jobs/s | ratio | printgate p99 ms | CUPS p99 ms | ratio | printgate peak RSS MiB | CUPS peak RSS MiB | errors printgate / CUPS |"
	print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	split("10KB 10MB", docs, " "); split("1 8 32", cl, " ")
	for (d = 1; d <= 2; d++) for (c = 1; c <= 3; c++) {
		p = "submit|" docs[d] "|" cl[c] "|"
		pj = median(vals[p "printgate|per_s"]); cj = median(vals[p "cups|per_s"])
		p9 = median(vals[p "printgate|p99"]); c9 = median(vals[p "cups|p99"])
		pm = median(vals[p "printgate|hwm"]); cm = median(vals[p "cups|hwm"])
		label = docs[d] == "10KB" ? "1 page, 10 KB" : "10 MB"
		printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d / %d |\n", label, cl[c], num(pj, "%.0f"), num(cj, "%.0f"), ratio(pj, cj), \
			num(p9, "%.1f"), num(c9, "%.1f"), ratio(p9, c9), num(pm, "%.0f"), num(cm, "%.0f"), errk[p "printgate"], errk[p "cups"]
		if (docs[d] == "10KB" && cl[c] == 8) { e8p = pj; e8c = cj; e8p99 = p9 }
	}
	print ""
	print "For the 10 MB document, MB/s is ten times jobs/s."
	print ""
	printf "A deep queue: each server filled with %d held jobs of the 10 KB PDF by 8 clients, then Get-Jobs (%s; %d requests per round, one client) and %d more submissions per round by 8 clients, %d rounds alternating.\n\n", fill, "job-id, job-name, job-state, job-originating-user-name, job-k-octets, time-at-creation", getjobs, deep, rounds
	print "| measure | printgate | CUPS | ratio |"
	print "| --- | ---: | ---: | ---: |"
	f = "fill|10KB|8|"
	pv = median(vals[f "printgate|per_s"]); cv = median(vals[f "cups|per_s"])
	printf "| filling, jobs/s (queue 0 → %d) | %s | %s | %s |\n", fill, num(pv, "%.0f"), num(cv, "%.0f"), ratio(pv, cv)
	g = "getjobs|-|1|"
	pv = median(vals[g "printgate|returned"]); cv = median(vals[g "cups|returned"])
	printf "| jobs listed by Get-Jobs | %s | %s | |\n", num(pv, "%d"), num(cv, "%d")
	pv = median(vals[g "printgate|p50"]); cv = median(vals[g "cups|p50"]); gp = pv; gc = cv
	printf "| Get-Jobs p50 ms | %s | %s | %s |\n", num(pv, "%.1f"), num(cv, "%.1f"), ratio(pv, cv)
	pv = median(vals[g "printgate|p99"]); cv = median(vals[g "cups|p99"])
	printf "| Get-Jobs p99 ms | %s | %s | %s |\n", num(pv, "%.1f"), num(cv, "%.1f"), ratio(pv, cv)
	printf "| peak RSS MiB with %d held (after filling and Get-Jobs) | %s | %s | %s |\n", fill, num(held["printgate"], "%.0f"), num(held["cups"], "%.0f"), ratio(held["printgate"], held["cups"])
	d = "deep|10KB|8|"
	pv = median(vals[d "printgate|per_s"]); cv = median(vals[d "cups|per_s"]); dp = pv; dc = cv
	printf "| jobs/s, 8 clients, %d → %d held | %s | %s | %s |\n", fill, fill + rounds * deep, num(pv, "%.0f"), num(cv, "%.0f"), ratio(pv, cv)
	pv = median(vals[d "printgate|p99"]); cv = median(vals[d "cups|p99"])
	printf "| p99 ms of those | %s | %s | %s |\n", num(pv, "%.1f"), num(cv, "%.1f"), ratio(pv, cv)
	pv = median(vals[d "printgate|hwm"]); cv = median(vals[d "cups|hwm"])
	printf "| peak RSS MiB at the end (%d held) | %s | %s | %s |\n", fill + rounds * deep, num(pv, "%.0f"), num(cv, "%.0f"), ratio(pv, cv)
	printf "| errors in this part | %d | %d | |\n", errs["fill|printgate"] + errs["getjobs|printgate"] + errs["deep|printgate"], errs["fill|cups"] + errs["getjobs|cups"] + errs["deep|cups"]
	print ""
	print "Against the targets of issue 7 (from this run):"
	print ""
	printf "- 10 KB, 8 clients, empty queue: %s× CUPS (target ≥ 1.5×), p99 %s ms (target < 20 ms).\n", ratio(e8p, e8c), num(e8p99, "%.1f")
	printf "- 10 KB, 8 clients, %d+ held: %s× CUPS (target ≥ 3×).\n", fill, ratio(dp, dc)
	printf "- Get-Jobs of %d held jobs: %s× CUPS'"'"'s time (target ≤ 0.5×).\n", fill, ratio(gp, gc)
}' "$results")

raw=$(awk -F'\t' 'BEGIN { print "| part | server | document | clients | round | jobs/s | p50 ms | p99 ms | peak RSS MiB | errors | ok | jobs listed |"; print "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |" }
	{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, ($9 == "-" ? "-" : sprintf("%.1f", $9 / 1024)), $10, $11, $12 }' "$results")

section=$(printf '%s\n\n<details><summary>Every run</summary>\n\n%s\n\n</details>' "$table" "$raw")
printf '%s\n' "$section"

if [[ $out_file != - ]]; then
	if ! grep -q '^<!-- bench:start -->$' "$out_file" || ! grep -q '^<!-- bench:end -->$' "$out_file"; then
		printf '\n## Side by side with CUPS (issue 7)\n\n<!-- bench:start -->\n<!-- bench:end -->\n' >>"$out_file"
	fi
	printf '%s\n' "$section" >"$work/section.md"
	awk -v section="$work/section.md" '
		/^<!-- bench:start -->$/ { print; while ((getline line < section) > 0) print line; skip = 1; next }
		/^<!-- bench:end -->$/ { skip = 0 }
		!skip { print }' "$out_file" >"$work/out.md"
	cat "$work/out.md" >"$out_file"
	log "wrote the table into $out_file"
fi
