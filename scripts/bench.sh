#!/usr/bin/env bash
# bench.sh - printgate side by side with CUPS, with this machine's ceiling
# and dd as yardsticks: the same printgate-load runs against Debian's
# cupsd, printgate on SQLite, printgate on PostgreSQL and printgate-ceiling,
# every server holding every job, on loopback, with private configuration;
# the tables and a checklist against issue 12's targets go into
# docs/BENCHMARKS.md between <!-- bench:start --> and <!-- bench:end -->.
#
#   scripts/bench.sh          (make bench)
#
# Parts (BENCH_PARTS, comma-separated; all by default):
# submit  Held submissions: a one-page 10 KB PDF and a 10 MB PDF, at 1, 8
#         and 32 concurrent clients, BENCH_ROUNDS rounds. Each server is
#         started afresh with an empty queue (PostgreSQL: a fresh database)
#         for every run, so that its peak resident set (VmHWM) belongs to
#         that run; which one goes first rotates from run to run and round
#         to round. Beside them: printgate-ceiling (cmd/printgate-ceiling:
#         decode, DARE-encrypt, SHA-256, append to a segment, answer after
#         an fsync; one fsync per document at 1 client, a group fsync at 8
#         and 32, and once without fsync at 8 clients), and for the 10 MB
#         document `dd bs=1M conv=fsync` of the same file onto the same
#         disk, as many at once as there are clients. A run of the 10 KB
#         document on a freshly started server begins with BENCH_WARMUP
#         jobs on the run's own connections (printgate-load --warmup),
#         uncounted and recorded as part "warmup": a cold server's and a
#         new client's first jobs, reported apart.
# deep    A deep queue: CUPS and printgate on each database are filled with
#         BENCH_FILL_JOBS held jobs; Get-Jobs with six attributes is timed
#         (BENCH_ROUNDS rounds of BENCH_GETJOBS requests); then
#         BENCH_ROUNDS rounds of BENCH_DEEP_JOBS more submissions at 8
#         clients, each round also on a freshly started, empty printgate
#         (the empty-queue rate of the same moment). These printgate
#         servers, deep and empty, search no document for individual
#         numbers (BENCH_DEEP_MY_NUMBER, off): filling one in seconds
#         leaves its inspector some ten minutes of a core's searching,
#         which ran beside the other servers' measurements; an office's
#         10,000 held jobs were searched as they came.
# big     The same printgate servers filled on to BENCH_HELD_BIG held jobs,
#         then BENCH_ROUNDS rounds of BENCH_DEEP_JOBS submissions at 8
#         clients beside a fresh, empty printgate. CUPS only with
#         BENCH_CUPS_BIG=1 (see docs/BENCHMARKS.md for why not by default).
# release The release-latency benchmark of cmd/printgate
#         (BenchmarkReleaseLatency, BENCH_RELEASE_N releases per database),
#         BENCH_ROUNDS rounds, in turn with the same benchmark of the build
#         BENCH_RELEASE_REF (f5794e2, whose figure issue 12 cites).
#
# cupsd gets a raw queue on file:///dev/null with
# job-hold-until-default=indefinite, so that it keeps every job, as
# printgate's hold queue does. Each server runs with its packaged logging
# defaults (cupsd: LogLevel warn and its access log; printgate: info).
# PostgreSQL is the one at BENCH_PG_URL (its admin connection; a database
# is created and dropped for each printgate run); when it cannot be
# reached, its columns say so and the rest runs.
#
# Needs cupsd and lpadmin (Debian's cups and cups-client; when missing,
# scripts/provision.sh installs them), psql for PostgreSQL, dd and Go.
# Only 127.0.0.1 is used. Every process, folder and database it makes is
# removed on exit.
#
# Settings (environment): BENCH_ROUNDS (5), BENCH_SMALL_JOBS (2000),
# BENCH_WARMUP (100), BENCH_LARGE_JOBS (50), BENCH_FILL_JOBS (10000), BENCH_GETJOBS (10),
# BENCH_DEEP_JOBS (1000), BENCH_HELD_BIG (100000), BENCH_CUPS_BIG (0),
# BENCH_DEEP_MY_NUMBER (off; "" for the default, protect), BENCH_DBS
# (sqlite,postgres), BENCH_PARTS (submit,deep,big,release),
# BENCH_RELEASE_N (400), BENCH_RELEASE_REF (f5794e2), BENCH_PG_URL
# (postgres://postgres@127.0.0.1:5432/test?sslmode=disable), BENCH_OUT
# (docs/BENCHMARKS.md; "-" for standard output only).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/benchconfig.sh
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin:/usr/local/go/bin"
export LANG=C LC_ALL=C
# The configuration below is the whole truth for every printgate started.
unset PRINTGATE_DATABASE_URL PRINTGATE_DATA_DIR

rounds=${BENCH_ROUNDS:-5}
small_jobs=${BENCH_SMALL_JOBS:-2000}
warmup=${BENCH_WARMUP:-100}
large_jobs=${BENCH_LARGE_JOBS:-50}
fill_jobs=${BENCH_FILL_JOBS:-10000}
getjobs=${BENCH_GETJOBS:-10}
deep_jobs=${BENCH_DEEP_JOBS:-1000}
held_big=${BENCH_HELD_BIG:-100000}
cups_big=${BENCH_CUPS_BIG:-0}
deep_my_number=${BENCH_DEEP_MY_NUMBER-off}
release_n=${BENCH_RELEASE_N:-400}
# The build whose release latency issue 12 cites (2.46 ms p99 on another
# machine): measured again here, in turn with this one.
release_ref=${BENCH_RELEASE_REF:-f5794e2}
pg_admin=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
out_file=${BENCH_OUT:-docs/BENCHMARKS.md}
IFS=, read -ra dbs <<<"${BENCH_DBS-sqlite,postgres}"
IFS=, read -ra parts <<<"${BENCH_PARTS:-submit,deep,big,release}"
requested=job-id,job-name,job-state,job-originating-user-name,job-k-octets,time-at-creation

log() { printf 'bench: %s\n' "$*" >&2; }
die() {
	log "$*"
	exit 1
}
part() { [[ " ${parts[*]} " == *" $1 "* ]]; }

for db in "${dbs[@]}"; do
	[[ $db == sqlite || $db == postgres ]] || die "BENCH_DBS: $db is neither sqlite nor postgres"
done
have_tools() { command -v cupsd >/dev/null && command -v lpadmin >/dev/null; }
if ! have_tools; then
	log "cupsd or lpadmin missing: running scripts/provision.sh"
	# A set URL keeps provision.sh from starting PostgreSQL: BENCH_PG_URL is the one used.
	PRINTGATE_TEST_POSTGRES_URL=unused bash scripts/provision.sh
	have_tools || die "cupsd and lpadmin are still missing (Debian packages cups and cups-client)"
fi
command -v go >/dev/null || die "go not found"

work=$(mktemp -d "${TMPDIR:-/tmp}/printgate-bench.XXXXXX")
# Held jobs run no filter, but cupsd still wants its folders readable by lp.
chmod 755 "$work"
running=()   # pid of every server still up
databases=() # every PostgreSQL database still there

# PostgreSQL: reachable or not, and what it is.
pg_state="not asked for (BENCH_DBS)"
pg_db_url() { # name: BENCH_PG_URL with another database
	local base=${pg_admin%%\?*}
	printf '%s/%s%s' "${base%/*}" "$1" "${pg_admin#"$base"}"
}
pg_sql() { psql "$pg_admin" -v ON_ERROR_STOP=1 -qAtc "$1"; }
if [[ " ${dbs[*]} " == *" postgres "* ]]; then
	if ! command -v psql >/dev/null; then
		pg_state="unreachable: psql not found"
	elif ! pg_info=$(pg_sql "select current_setting('server_version'), current_setting('fsync'), current_setting('synchronous_commit')" 2>&1); then
		pg_state="unreachable at $pg_admin: $(head -1 <<<"$pg_info")"
	else
		IFS='|' read -r pg_version pg_fsync pg_sync <<<"$pg_info"
		pg_state=ok
	fi
	[[ $pg_state == ok ]] || log "PostgreSQL $pg_state: its columns will say so"
fi
use_db() { [[ " ${dbs[*]} " == *" $1 "* ]] && { [[ $1 == sqlite ]] || [[ $pg_state == ok ]]; }; }
active_dbs=()
for db in sqlite postgres; do use_db "$db" && active_dbs+=("$db"); done

drop_db() { # name
	pg_sql "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null 2>&1 || log "could not drop database $1"
	local keep=() d
	for d in "${databases[@]}"; do [[ $d == "$1" ]] || keep+=("$d"); done
	databases=("${keep[@]}")
}

stop_pid() { # pid
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 1 300); do
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
	local pid d
	for pid in "${running[@]}"; do stop_pid "$pid"; done
	for d in "${databases[@]}"; do drop_db "$d"; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port picks a port below the ephemeral range, where no outgoing
# connection (of this script's clients or of anything else) can hold it.
ephemeral=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
free_port() {
	local port
	while :; do
		port=$((15000 + RANDOM % (ephemeral - 15000)))
		port_open "$port" || break
	done
	echo "$port"
}

# listening port pid: pid itself listens on port (not someone who took
# the port meanwhile), as far as ss can tell.
listening() {
	if command -v ss >/dev/null; then
		ss -Hltnp "sport = :$1" 2>/dev/null | grep -q "pid=$2,"
	else
		port_open "$1"
	fi
}

wait_port() { # port pid
	local i
	for i in $(seq 1 600); do
		listening "$1" "$2" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

log "building printgate, printgate-load and printgate-ceiling"
mkdir -p "$work/bin"
go build -tags nomsgpack -o "$work/bin/" ./cmd/printgate ./cmd/printgate-load ./cmd/printgate-ceiling
for size in 10KB 10MB; do
	"$work/bin/printgate-load" --save-pdf "$work/doc-$size.pdf" --generate-pdf "$size" >/dev/null
done

# Server state: each start_* sets these (startlogs: where a failure to
# start shows).
pid= target= dir= db=
# my_number is the hold queue's policy in the printgate servers started
# next ("": the default).
my_number=
startlogs=()
dbseq=0

start_printgate() { # name database-url
	dir=$work/$1
	rm -rf "$dir"
	mkdir -p "$dir"
	local port
	port=$(free_port)
	hold_config "$dir" "$2" "$port" "$my_number" >"$dir/printgate.yaml"
	add_load_user "$work/bin/printgate" "$dir/printgate.yaml" || return 1
	"$work/bin/printgate" serve --config "$dir/printgate.yaml" >"$dir/log" 2>&1 &
	pid=$!
	running+=("$pid")
	startlogs=("$dir/log")
	wait_port "$port" "$pid" || return 1
	target=ipp://127.0.0.1:$port/ipp/print/hold
}

start_postgres() { # name
	dbseq=$((dbseq + 1))
	db=printgate_bench_$$_$dbseq
	pg_sql "CREATE DATABASE $db" || die "could not create database $db"
	databases+=("$db")
	start_printgate "$1" "$(pg_db_url "$db")"
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
	startlogs=("$dir/log/error_log" "$dir/log/stdout")
	wait_port "$port" "$pid" || return 1
	# Raw queues are deprecated in CUPS 2.4 but work, and print nothing here.
	CUPS_SERVER=127.0.0.1:$port lpadmin -p hold -E -v file:///dev/null -m raw 2>/dev/null ||
		die "lpadmin -p hold failed: $(tail -20 "$dir/log/error_log")"
	CUPS_SERVER=127.0.0.1:$port lpadmin -p hold -o job-hold-until-default=indefinite ||
		die "lpadmin job-hold-until-default failed"
	target=ipp://127.0.0.1:$port/printers/hold
}

start_ceiling() { # name fsync-mode
	dir=$work/$1
	rm -rf "$dir"
	mkdir -p "$dir"
	local port
	port=$(free_port)
	"$work/bin/printgate-ceiling" --listen "127.0.0.1:$port" --dir "$dir" --fsync "$2" >"$dir/log" 2>&1 &
	pid=$!
	running+=("$pid")
	startlogs=("$dir/log")
	wait_port "$port" "$pid" || return 1
	target=ipp://127.0.0.1:$port/ipp/print/hold
}

# start_server kind name [clients]: kind is cups, sqlite, postgres,
# ceiling (its fsync mode follows the clients) or nofsync. A port taken
# meanwhile by someone else is tried again with another.
start_server() {
	local try ok
	for try in 1 2 3; do
		db=
		startlogs=()
		case $1 in
		cups) start_cups "$2" && ok=1 || ok=0 ;;
		sqlite) start_printgate "$2" "" && ok=1 || ok=0 ;;
		postgres) start_postgres "$2" && ok=1 || ok=0 ;;
		ceiling) start_ceiling "$2" "$([[ ${3:-8} == 1 ]] && echo each || echo group)" && ok=1 || ok=0 ;;
		nofsync) start_ceiling "$2" none && ok=1 || ok=0 ;;
		esac
		((ok == 0)) || return 0
		stop_pid "$pid"
		[[ -z $db ]] || drop_db "$db"
		grep -qis 'address already in use' "${startlogs[@]}" || break
		log "$1: its port was taken meanwhile; trying another"
	done
	die "$1 did not start: $(tail -20 "${startlogs[@]}" 2>&1)"
}

# stop_server kind: stops $pid, drops $db, notes the ceiling's fsyncs,
# removes $dir.
stop_server() {
	stop_pid "$pid"
	[[ -z $db ]] || drop_db "$db"
	if [[ $1 == ceiling || $1 == nofsync ]]; then
		local stats
		stats=$(grep '^STATS ' "$dir/log" | tail -1 || true)
		printf '%s\t%s\t%s\n' "$run_key" "$(json_num stored "$stats")" "$(json_num fsyncs "$stats")" >>"$fsyncs"
	fi
	rm -rf "$dir"
}

hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

json_num() { # key line: the first number under "key"
	grep -o "\"$1\":[-0-9.e+]*" <<<"$2" | head -1 | cut -d: -f2
}

results=$work/results.tsv
# kind server doc clients round per_s p50 p99 hwm_kb errors ok returned
: >"$results"
fsyncs=$work/fsyncs.tsv # kind|server|doc|clients|round stored fsyncs
: >"$fsyncs"
run_key=

# load kind server doc clients round ARGS...: one printgate-load run against
# $target, recorded in results.
load() {
	local kind=$1 server=$2 doc=$3 clients=$4 round=$5 output status=0 line
	shift 5
	run_key="$kind|$server|$doc|$clients|$round"
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
	if [[ $line == *'"warmup":'* ]]; then
		# --warmup's first answers, last in the line: a row of their own.
		local w=${line#*\"warmup\":}
		printf 'warmup\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t-\n' "$server" "$doc" "$clients" "$round" \
			"$(json_num per_s "$w")" "$(json_num p50 "$w")" "$(json_num p99 "$w")" "$(hwm_kb "$pid")" \
			"$(json_num errors "$w")" "$(json_num ok "$w")" >>"$results"
	fi
}

# submit kind server doc clients round jobs [ARGS...]: Print-Job of doc,
# jobs times; ARGS go to printgate-load.
submit() {
	load "$1" "$2" "$3" "$4" "$5" --document "$work/doc-$3.pdf" --jobs "$6" --user-name bench "${@:7}"
}

# run_dd clients jobs round: jobs copies of the 10 MB PDF by
# `dd bs=1M conv=fsync` into new files beside the spools, clients at once.
run_dd() {
	local clients=$1 jobs=$2 round=$3 d=$work/dd pids=() i t0 t1 failed=0
	mkdir -p "$d"
	t0=$(date +%s%N)
	for ((i = 0; i < clients && i < jobs; i++)); do
		(
			for ((k = i; k < jobs; k += clients)); do
				dd if="$work/doc-10MB.pdf" of="$d/$k" bs=1M conv=fsync status=none || exit 1
			done
		) &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || failed=$((failed + 1)); done
	t1=$(date +%s%N)
	rm -rf "$d"
	((failed == 0)) || die "dd failed"
	local per_s
	per_s=$(awk -v n="$jobs" -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", n / (ns / 1e9) }')
	printf 'submit\tdd\t10MB\t%s\t%s\t%s\t-\t-\t-\t0\t%s\t-\n' "$clients" "$round" "$per_s" "$jobs" >>"$results"
	log "submit dd 10MB c=$clients round $round: $per_s/s"
}

# rotate offset items...: the items starting at offset (mod their count).
rotate() {
	local o=$1
	shift
	local n=$# a=("$@") i
	for ((i = 0; i < n; i++)); do printf '%s\n' "${a[$(((o + i) % n))]}"; done
}

started=$(date +%s)
declare -A took # seconds per part

if part submit; then
	t_part=$(date +%s)
	log "part submit: $rounds rounds of held submissions"
	for ((r = 1; r <= rounds; r++)); do
		c=0
		for doc in 10KB 10MB; do
			jobs=$small_jobs
			[[ $doc == 10KB ]] || jobs=$large_jobs
			for clients in 1 8 32; do
				servers=(cups "${active_dbs[@]}" ceiling)
				[[ $doc$clients != 10KB8 ]] || servers+=(nofsync)
				[[ $doc == 10KB ]] || servers+=(dd)
				mapfile -t order < <(rotate $((r + c)) "${servers[@]}")
				c=$((c + 1))
				for server in "${order[@]}"; do
					if [[ $server == dd ]]; then
						run_dd "$clients" "$jobs" "$r"
						continue
					fi
					start_server "$server" "$server-run" "$clients"
					# A server is measured warm, as an office's has long
					# been: the first answers, on the same connections,
					# are reported apart (the cold start).
					if [[ $doc == 10KB ]] && ((warmup > 0)); then
						submit submit "$server" "$doc" "$clients" "$r" "$jobs" --warmup "$warmup"
					else
						submit submit "$server" "$doc" "$clients" "$r" "$jobs"
					fi
					stop_server "$server"
				done
			done
		done
	done
	took[submit]=$(($(date +%s) - t_part))
fi

declare -A spid starget sdir sdb
held_now=0
deep_servers=()

# fresh_round kind server round: the same submissions on a freshly started
# server with an empty queue, for the empty-queue rate of that moment. A
# tenth as many jobs first, not counted, warm it up as the deep server is:
# a cold start would flatter the deep queue.
fresh_round() {
	start_server "$2" "$2-empty"
	TMPDIR=$work "$work/bin/printgate-load" --target "$target" --concurrency 8 --document "$work/doc-10KB.pdf" \
		--jobs $((deep_jobs / 10 + 1)) --user-name bench >/dev/null 2>&1 || true
	submit "$1" "$2" 10KB 8 "$3" "$deep_jobs"
	stop_server "$2"
}

# deep_rounds kind: BENCH_ROUNDS rounds of submissions on the deep servers,
# each beside a fresh, empty printgate on each database.
deep_rounds() {
	local kind=$1 r server order
	for ((r = 1; r <= rounds; r++)); do
		mapfile -t order < <(rotate "$r" "${deep_servers[@]}" "${active_dbs[@]/%/+empty}")
		for server in "${order[@]}"; do
			if [[ $server == *+empty ]]; then
				fresh_round "${kind}empty" "${server%+empty}" "$r"
				continue
			fi
			pid=${spid[$server]} target=${starget[$server]}
			submit "$kind" "$server" 10KB 8 "$r" "$deep_jobs"
		done
	done
	held_now=$((held_now + rounds * deep_jobs))
}

if part deep || part big; then
	t_part=$(date +%s)
	deep_servers=(cups "${active_dbs[@]}")
	my_number=$deep_my_number
	log "part deep: $fill_jobs held jobs on ${deep_servers[*]}"
	for server in "${deep_servers[@]}"; do
		start_server "$server" "$server-deep"
		spid[$server]=$pid starget[$server]=$target sdir[$server]=$dir sdb[$server]=$db
		load fill "$server" 10KB 8 1 --document "$work/doc-10KB.pdf" --jobs "$fill_jobs" --user-name bench
	done
	held_now=$fill_jobs
	for ((r = 1; r <= rounds; r++)); do
		mapfile -t order < <(rotate "$r" "${deep_servers[@]}")
		for server in "${order[@]}"; do
			pid=${spid[$server]} target=${starget[$server]}
			load getjobs "$server" - 1 "$r" --op get-jobs --jobs "$getjobs" --requested-attributes "$requested"
		done
	done
	for server in "${deep_servers[@]}"; do
		printf 'held\t%s\t-\t-\t-\t-\t-\t-\t%s\t-\t-\t-\n' "$server" "$(hwm_kb "${spid[$server]}")" >>"$results"
	done
	deep_rounds deep
	took[deep]=$(($(date +%s) - t_part))
fi

if part big && ((held_big > held_now)); then
	t_part=$(date +%s)
	if [[ $cups_big != 1 ]]; then
		pid=${spid[cups]} db= dir=${sdir[cups]}
		stop_server cups
		deep_servers=("${active_dbs[@]}")
	fi
	log "part big: filling ${deep_servers[*]} from $held_now to $held_big held jobs"
	for server in "${deep_servers[@]}"; do
		pid=${spid[$server]} target=${starget[$server]}
		# 32 clients: the fill is not a target, and a group commit fills faster with more.
		load bigfill "$server" 10KB 32 1 --document "$work/doc-10KB.pdf" --jobs $((held_big - held_now)) --user-name bench
		printf 'bigheld\t%s\t-\t-\t-\t-\t-\t-\t%s\t-\t-\t-\n' "$server" "$(hwm_kb "$pid")" >>"$results"
	done
	held_now=$held_big
	deep_rounds big
	took[big]=$(($(date +%s) - t_part))
fi
for server in "${deep_servers[@]}"; do
	pid=${spid[$server]} db=${sdb[$server]} dir=${sdir[$server]}
	stop_server "$server"
done

if part release && ((${#active_dbs[@]} > 0)); then
	t_part=$(date +%s)
	pattern=$(
		IFS='|'
		echo "${active_dbs[*]}"
	)
	log "part release: BenchmarkReleaseLatency on ${active_dbs[*]}, this build and $release_ref in turn"
	go test -tags nomsgpack -c -o "$work/release-now.test" ./cmd/printgate
	git worktree add -q --detach "$work/ref" "$release_ref"
	(cd "$work/ref" && go test -tags nomsgpack -c -o "$work/release-ref.test" ./cmd/printgate)
	for r in $(seq "$rounds"); do
		order="now ref"
		((r % 2)) || order="ref now"
		for build in $order; do
			dir=cmd/printgate
			[[ $build == now ]] || dir=$work/ref/cmd/printgate
			if ! release_out=$(cd "$dir" && PRINTGATE_TEST_POSTGRES_URL=$pg_admin "$work/release-$build.test" -test.run '^$' \
				-test.bench "BenchmarkReleaseLatency/($pattern)\$" -test.benchtime "${release_n}x" -test.timeout 20m 2>&1); then
				log "the release benchmark of $build failed: $(tail -5 <<<"$release_out" | tr '\n' ' ')"
			fi
			# BenchmarkReleaseLatency/sqlite-2  200  1234 ns/op  1.22 p50-ms  2.46 p99-ms
			awk -v n="$release_n" -v kind="release$([[ $build == now ]] || echo ref)" -v r="$r" '/^BenchmarkReleaseLatency\// {
				name = $1; sub(/^BenchmarkReleaseLatency\//, "", name); sub(/-[0-9]+$/, "", name)
				for (i = 2; i < NF; i++) { if ($(i+1) == "p50-ms") p50 = $i; if ($(i+1) == "p99-ms") p99 = $i }
				printf "%s\t%s\t-\t1\t%s\t-\t%s\t%s\t-\t0\t%s\t-\n", kind, name, r, p50, p99, n
			}' <<<"$release_out" >>"$results"
		done
	done
	git worktree remove --force "$work/ref"
	took[release]=$(($(date +%s) - t_part))
fi
elapsed=$(($(date +%s) - started))
log "measured in ${elapsed}s"

# The report. Medians over rounds; ratios printgate / CUPS or / yardstick.
cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
mem=$(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
disk=$(df --output=source,fstype "$work" | awk 'NR == 2 {print $1 " (" $2 ")"}')
cups_version=$(dpkg-query -W -f '${Version}' cups 2>/dev/null || echo unknown)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git status --porcelain 2>/dev/null) ]]; then commit="$commit with local changes"; fi
if [[ $pg_state == ok ]]; then
	pg_desc="PostgreSQL $pg_version at $pg_admin (fsync $pg_fsync, synchronous_commit $pg_sync)"
else
	pg_desc="PostgreSQL $pg_state"
fi
spent=
for p in submit deep big release; do [[ -z ${took[$p]:-} ]] || spent+="${spent:+, }$p ${took[$p]} s"; done
header="Generated by \`make bench\` on $(date -u '+%Y-%m-%d %H:%M UTC') in ${elapsed} s ($spent): $(nproc) CPUs ($cpu), $mem memory, Linux $(uname -r), spools and dd on $disk; CUPS $cups_version (Debian); $pg_desc; printgate $commit; $(go version | awk '{print $3}'). Settings: BENCH_ROUNDS=$rounds BENCH_SMALL_JOBS=$small_jobs BENCH_WARMUP=$warmup BENCH_LARGE_JOBS=$large_jobs BENCH_FILL_JOBS=$fill_jobs BENCH_GETJOBS=$getjobs BENCH_DEEP_JOBS=$deep_jobs BENCH_HELD_BIG=$held_big BENCH_CUPS_BIG=$cups_big BENCH_DEEP_MY_NUMBER=$deep_my_number BENCH_RELEASE_N=$release_n BENCH_RELEASE_REF=$release_ref BENCH_DBS=${BENCH_DBS-sqlite,postgres} BENCH_PARTS=${BENCH_PARTS:-submit,deep,big,release}. The machine is shared: read the ratios, which come from runs interleaved in time, rather than the absolute figures."

report() {
	awk -F'\t' -v rounds="$rounds" -v small="$small_jobs" -v warmup="$warmup" -v large="$large_jobs" -v fill="$fill_jobs" \
		-v getjobs="$getjobs" -v deep_my_number="$deep_my_number" -v release_n="$release_n" -v release_ref="$release_ref" -v deep="$deep_jobs" -v big="$held_big" -v header="$header" \
		-v active=" ${active_dbs[*]} " -v wanted=" ${dbs[*]} " -v pg_state="$pg_state" '
function median(list,    v, n, i, j, t) {
	n = split(list, v, " ")
	if (n == 0) return ""
	for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j-1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j-1]; v[j-1] = t }
	return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function add(key, x) { if (x != "-" && x != "") vals[key] = vals[key] " " x }
# m: the median of field f (per_s, p50, p99, hwm, returned) of kind|doc|clients|server.
function m(kind, doc, cl, srv, f) { return median(vals[kind "|" doc "|" cl "|" srv "|" f]) }
function errs(kind, doc, cl, srv) { return errk[kind "|" doc "|" cl "|" srv] + 0 }
function fmt(x, f) { return x == "" ? "–" : sprintf(f, x) }
function ratio(a, b) { return (a == "" || b == "" || b + 0 == 0) ? "–" : sprintf("%.2f", a / b) }
function pct(a, b) { return (a == "" || b == "" || b + 0 == 0) ? "–" : sprintf("%.0f %%", 100 * a / b) }
function ran(db) { return index(active, " " db " ") > 0 }
# why: the cell of a database that did not run.
function why(db) { return index(wanted, " " db " ") ? "unreachable" : "not run" }
function cell(db, x, f) { return ran(db) ? fmt(x, f) : why(db) }
function verdict(ok, nerr, known) {
	if (!known) return "not measured"
	if (nerr > 0) return sprintf("NOT met (%d errors)", nerr)
	return ok ? "met" : "NOT met"
}
function thousands(n,    s) { s = sprintf("%d", n); while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]([,]|$)/, ",&", s); return s }
FILENAME == fsyncfile {
	split($1, rk, "|")
	if ($3 + 0 > 0) add(rk[1] "|" rk[3] "|" rk[4] "|" rk[2] "|perfsync", $2 / $3)
	next
}
{
	k = $1 "|" $3 "|" $4 "|" $2
	add(k "|per_s", $6); add(k "|p50", $7); add(k "|p99", $8); add(k "|hwm", $9 == "-" ? "" : $9 / 1024)
	add(k "|returned", $12)
	if ($10 != "-") { errk[k] += $10; errpart[$1 "|" $2] += $10 }
	if ($1 == "held" || $1 == "bigheld") rss[$1 "|" $2] = $9 / 1024
	seen[$1] = 1
	if ($1 == "bigfill" && $2 == "cups") seen["bigcups"] = 1
	raw[++nraw] = sprintf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", $1, $2, $3, $4, $5, $6, $7, $8, \
		($9 == "-" ? "-" : sprintf("%.1f", $9 / 1024)), $10, $11, $12)
}
END {
	dbname["sqlite"] = "SQLite"; dbname["postgres"] = "PostgreSQL"
	ndb = split("sqlite postgres", db, " ")
	print header
	if (seen["submit"]) submit_tables()
	if (seen["fill"]) deep_table()
	if (seen["release"]) release_table()
	print ""
	print "<details><summary>Every run</summary>"
	print ""
	print "| part | server | document | clients | round | jobs/s | p50 ms | p99 ms | peak RSS MiB | errors | ok | jobs listed |"
	print "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	for (i = 1; i <= nraw; i++) print raw[i]
	print ""
	print "</details>"
	checklist()
}
function submit_tables(    d, c, docs, cl, label, s, i, b, cu, ce) {
	print ""
	printf "### Held submissions, empty queue\n\n"
	printf "Medians of %d round%s: %d jobs per run of the one-page 10 KB PDF, %d of the 10 MB one, each run on a freshly started server with an empty queue (PostgreSQL: a fresh database)%s. jobs/s; for the 10 MB document, MB/s is ten times jobs/s. ×CUPS above 1 is better. The ceiling is `printgate-ceiling` (DARE encryption, SHA-256, append to one segment file, answer after an fsync: one per document at 1 client, a group fsync at 8 and 32); dd is `dd bs=1M conv=fsync` of the same 10 MB PDF into new files on the same disk, as many at once as there are clients.\n\n", rounds, rounds == 1 ? "" : "s", small, large, \
		(warmup > 0 ? sprintf("; a run of the 10 KB PDF counted the jobs answered after its first %d, which the same client sent on the same connections (their figures are in the cold-start table below)", warmup) : "")
	print "| document | clients | CUPS | printgate SQLite | ×CUPS | of ceiling | printgate PostgreSQL | ×CUPS | of ceiling | ceiling | dd conv=fsync |"
	print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	split("10KB 10MB", docs, " "); split("1 8 32", cl, " ")
	for (d = 1; d <= 2; d++) for (c = 1; c <= 3; c++) {
		label = docs[d] == "10KB" ? "1 page, 10 KB" : "10 MB"
		cu = m("submit", docs[d], cl[c], "cups", "per_s"); ce = m("submit", docs[d], cl[c], "ceiling", "per_s")
		s = sprintf("| %s | %s | %s", label, cl[c], fmt(cu, "%.0f"))
		for (i = 1; i <= ndb; i++) {
			b = m("submit", docs[d], cl[c], db[i], "per_s")
			s = s sprintf(" | %s | %s | %s", cell(db[i], b, "%.0f"), ran(db[i]) ? ratio(b, cu) : "", ran(db[i]) ? pct(b, ce) : "")
		}
		s = s sprintf(" | %s (%s) | %s |", fmt(ce, "%.0f"), cl[c] == 1 ? "fsync each" : "group fsync", \
			docs[d] == "10MB" ? fmt(m("submit", "10MB", cl[c], "dd", "per_s"), "%.1f") : "")
		print s
	}
	print ""
	printf "Without fsync, the ceiling took %s jobs/s of the 10 KB PDF at 8 clients. Its group commit shared one fsync among %s documents at 8 clients and %s at 32 (10 KB), %s and %s (10 MB).\n", \
		fmt(m("submit", "10KB", 8, "nofsync", "per_s"), "%.0f"), fmt(m("submit", "10KB", 8, "ceiling", "perfsync"), "%.1f"), \
		fmt(m("submit", "10KB", 32, "ceiling", "perfsync"), "%.1f"), fmt(m("submit", "10MB", 8, "ceiling", "perfsync"), "%.1f"), \
		fmt(m("submit", "10MB", 32, "ceiling", "perfsync"), "%.1f")
	print ""
	print "| document | clients | p99 ms CUPS | p99 ms SQLite | p99 ms PostgreSQL | p99 ms ceiling | peak RSS MiB CUPS | peak RSS MiB SQLite | peak RSS MiB PostgreSQL | peak RSS MiB ceiling | errors CUPS / SQLite / PostgreSQL / ceiling |"
	print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	for (d = 1; d <= 2; d++) for (c = 1; c <= 3; c++) {
		label = docs[d] == "10KB" ? "1 page, 10 KB" : "10 MB"
		printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d / %d / %d / %d |\n", label, cl[c], \
			fmt(m("submit", docs[d], cl[c], "cups", "p99"), "%.1f"), cell("sqlite", m("submit", docs[d], cl[c], "sqlite", "p99"), "%.1f"), \
			cell("postgres", m("submit", docs[d], cl[c], "postgres", "p99"), "%.1f"), fmt(m("submit", docs[d], cl[c], "ceiling", "p99"), "%.1f"), \
			fmt(m("submit", docs[d], cl[c], "cups", "hwm"), "%.0f"), cell("sqlite", m("submit", docs[d], cl[c], "sqlite", "hwm"), "%.0f"), \
			cell("postgres", m("submit", docs[d], cl[c], "postgres", "hwm"), "%.0f"), fmt(m("submit", docs[d], cl[c], "ceiling", "hwm"), "%.0f"), \
			errs("submit", docs[d], cl[c], "cups"), errs("submit", docs[d], cl[c], "sqlite"), errs("submit", docs[d], cl[c], "postgres"), \
			errs("submit", docs[d], cl[c], "ceiling")
	}
	print ""
	print "Peak RSS is printgate'"'"'s own (VmHWM of its process); PostgreSQL'"'"'s memory is not in it."
	if (seen["warmup"]) cold_table()
}
# cold_table: the uncounted warm-up runs, the first jobs of cold servers.
function cold_table(    c, cl) {
	print ""
	printf "Cold start: the first %d answers of each run of the 10 KB PDF above, not counted there, medians of the rounds. A run'"'"'s clients all begin at once, so at 32 clients the first wave of 32 jobs meets a process that has served nothing yet (its heap, its goroutines'"'"' stacks and its database statements not yet grown or prepared) and a client that has just started and opened its 32 connections (the ceiling'"'"'s first wave is as slow)%s.\n\n", warmup, \
		(32 > small / 100 ? sprintf("; in a run of %d jobs that wave alone is more than the slowest 1 %%", small) : "")
	print "| clients | p99 ms CUPS | p99 ms SQLite | p99 ms PostgreSQL | p99 ms ceiling | jobs/s CUPS | jobs/s SQLite | jobs/s PostgreSQL | jobs/s ceiling |"
	print "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	split("1 8 32", cl, " ")
	for (c = 1; c <= 3; c++)
		printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", cl[c], \
			fmt(m("warmup", "10KB", cl[c], "cups", "p99"), "%.1f"), cell("sqlite", m("warmup", "10KB", cl[c], "sqlite", "p99"), "%.1f"), \
			cell("postgres", m("warmup", "10KB", cl[c], "postgres", "p99"), "%.1f"), fmt(m("warmup", "10KB", cl[c], "ceiling", "p99"), "%.1f"), \
			fmt(m("warmup", "10KB", cl[c], "cups", "per_s"), "%.0f"), cell("sqlite", m("warmup", "10KB", cl[c], "sqlite", "per_s"), "%.0f"), \
			cell("postgres", m("warmup", "10KB", cl[c], "postgres", "per_s"), "%.0f"), fmt(m("warmup", "10KB", cl[c], "ceiling", "per_s"), "%.0f")
}
# deep_row label kind field format [cupsdash [clients]]: one row of the
# deep-queue table, CUPS first (cupsdash stands for it when it did not run).
function deep_row(label, kind, f, form, cupsdash, clients,    s, i, cu, b, doc) {
	doc = kind == "getjobs" ? "-" : "10KB"
	if (clients == "") clients = kind == "getjobs" ? 1 : 8
	cu = m(kind, doc, clients, "cups", f)
	s = sprintf("| %s | %s", label, cupsdash != "" ? cupsdash : fmt(cu, form))
	for (i = 1; i <= ndb; i++) {
		b = m(kind, doc, clients, db[i], f)
		s = s sprintf(" | %s | %s", cell(db[i], b, form), (ran(db[i]) && cupsdash == "") ? ratio(b, cu) : "")
	}
	print s " |"
}
# row_values label cups sqlite postgres format [noratio [cupstext]]: a row
# of given figures; cupstext stands for CUPS when it did not run.
function row_values(label, cu, sq, pg, form, noratio, cupstext) {
	printf "| %s | %s | %s | %s | %s | %s |\n", label, cupstext != "" ? cupstext : fmt(cu, form), cell("sqlite", sq, form), (ran("sqlite") && !noratio) ? ratio(sq, cu) : "", \
		cell("postgres", pg, form), (ran("postgres") && !noratio) ? ratio(pg, cu) : ""
}
function own_row(label, kind, f, form,    s, i) {
	s = sprintf("| %s | –", label)
	for (i = 1; i <= ndb; i++) s = s sprintf(" | %s | ", cell(db[i], m(kind, "10KB", 8, db[i], f), form))
	print s "|"
}
function held_vs_empty(label, kind,    s, i) {
	s = sprintf("| %s | –", label)
	for (i = 1; i <= ndb; i++) s = s sprintf(" | %s | ", ran(db[i]) ? pct(m(kind, "10KB", 8, db[i], "per_s"), m(kind "empty", "10KB", 8, db[i], "per_s")) : why(db[i]))
	print s "|"
}
function deep_table(    top, i, e) {
	top = fill + rounds * deep
	print ""
	printf "### Deep queues\n\n"
	printf "Each server filled with %s held jobs of the 10 KB PDF by 8 clients; then Get-Jobs (%s; %d requests per round, one client) and %d more submissions per round by 8 clients, %d round%s, the servers taking turns; in each round the same %d submissions also went to a freshly started, empty printgate on each database (its empty-queue rate at that moment).", \
		thousands(fill), "job-id, job-name, job-state, job-originating-user-name, job-k-octets, time-at-creation", getjobs, deep, rounds, rounds == 1 ? "" : "s", deep
	if (seen["bigfill"]) printf " Then the printgate servers%s were filled on to %s held jobs and measured the same way.", seen["bigcups"] ? " and CUPS" : "", thousands(big)
	if (deep_my_number != "") printf " In this part the hold queue of every printgate had `my_number: %s` (BENCH_DEEP_MY_NUMBER).", deep_my_number
	printf "\n\n"
	print "| measure | CUPS | printgate SQLite | ×CUPS | printgate PostgreSQL | ×CUPS |"
	print "| --- | ---: | ---: | ---: | ---: | ---: |"
	deep_row(sprintf("filling, jobs/s (0 → %s held)", thousands(fill)), "fill", "per_s", "%.0f")
	row_values("jobs listed by Get-Jobs", m("getjobs", "-", 1, "cups", "returned"), m("getjobs", "-", 1, "sqlite", "returned"), m("getjobs", "-", 1, "postgres", "returned"), "%d", 1)
	deep_row("Get-Jobs p50 ms", "getjobs", "p50", "%.1f")
	deep_row("Get-Jobs p99 ms", "getjobs", "p99", "%.1f")
	row_values(sprintf("peak RSS MiB with %s held (after filling and Get-Jobs)", thousands(fill)), rss["held|cups"], rss["held|sqlite"], rss["held|postgres"], "%.0f")
	deep_row(sprintf("jobs/s, 8 clients, %s → %s held", thousands(fill), thousands(top)), "deep", "per_s", "%.0f")
	own_row("jobs/s, 8 clients, fresh empty printgate, same rounds", "deepempty", "per_s", "%.0f")
	held_vs_empty("held ÷ empty-queue rate", "deep")
	deep_row("p99 ms of those held submissions", "deep", "p99", "%.1f")
	own_row("p99 ms, fresh empty printgate", "deepempty", "p99", "%.1f")
	if (seen["bigfill"]) {
		deep_row(sprintf("filling by 32 clients, jobs/s (%s → %s held)", thousands(top), thousands(big)), "bigfill", "per_s", "%.0f", seen["bigcups"] ? "" : "not run", 32)
		row_values(sprintf("peak RSS MiB with %s held (after filling)", thousands(big)), rss["bigheld|cups"], rss["bigheld|sqlite"], rss["bigheld|postgres"], "%.0f", \
			!seen["bigcups"], seen["bigcups"] ? "" : "not run")
		deep_row(sprintf("jobs/s, 8 clients, %s → %s held", thousands(big), thousands(big + rounds * deep)), "big", "per_s", "%.0f", seen["bigcups"] ? "" : "not run")
		own_row("jobs/s, 8 clients, fresh empty printgate, same rounds", "bigempty", "per_s", "%.0f")
		held_vs_empty("held ÷ empty-queue rate", "big")
		deep_row("p99 ms of those held submissions", "big", "p99", "%.1f", seen["bigcups"] ? "" : "not run")
		own_row("p99 ms, fresh empty printgate", "bigempty", "p99", "%.1f")
	}
	printf "| errors in this part | %d", errpart["fill|cups"] + errpart["getjobs|cups"] + errpart["deep|cups"] + errpart["bigfill|cups"] + errpart["big|cups"]
	for (i = 1; i <= ndb; i++) {
		e = errpart["fill|" db[i]] + errpart["getjobs|" db[i]] + errpart["deep|" db[i]] + errpart["deepempty|" db[i]] + errpart["bigfill|" db[i]] + errpart["big|" db[i]] + errpart["bigempty|" db[i]]
		printf " | %s | ", ran(db[i]) ? e : why(db[i])
	}
	print "|"
}
function release_table(    i) {
	print ""
	printf "### Release latency\n\n"
	print "`BenchmarkReleaseLatency` (cmd/printgate/releasebench_test.go): `POST /api/v1/release/sessions/{s}/release` to the first byte at an AppSocket printer, with 10,000 other users'"'"' held jobs in the database; medians of " rounds " round" (rounds == 1 ? "" : "s") ", each of " release_n " releases, this build in turn with the build " release_ref " whose figure issue 12 cites."
	print ""
	print "| database | p50 ms | p99 ms | p50 ms, " release_ref " | p99 ms, " release_ref " |"
	print "| --- | ---: | ---: | ---: | ---: |"
	for (i = 1; i <= ndb; i++) printf "| %s | %s | %s | %s | %s |\n", dbname[db[i]], cell(db[i], m("release", "-", 1, db[i], "p50"), "%.2f"), cell(db[i], m("release", "-", 1, db[i], "p99"), "%.2f"), \
		cell(db[i], m("releaseref", "-", 1, db[i], "p50"), "%.2f"), cell(db[i], m("releaseref", "-", 1, db[i], "p99"), "%.2f")
}
# The checklist: each target of issue 12 with the figure of this run.
function checklist(    i, d, n, c, cl, b, cu, ce, dd, ok, alt, e, s, known, dk, h10, h32, top) {
	print ""
	print "Against the targets of issue 12 (from this run):"
	print ""
	split("8 32", cl, " ")
	for (i = 1; i <= ndb; i++) {
		d = db[i]; n = dbname[d]
		if (!ran(d)) {
			printf "- printgate on %s: not measured (%s).\n", n, d == "postgres" && why(d) == "unreachable" ? "PostgreSQL " pg_state : "not in BENCH_DBS"
			continue
		}
		if (seen["submit"]) {
			for (c = 1; c <= 2; c++) {
				b = m("submit", "10KB", cl[c], d, "per_s"); cu = m("submit", "10KB", cl[c], "cups", "per_s"); ce = m("submit", "10KB", cl[c], "ceiling", "per_s")
				known = b != "" && cu != "" && ce != ""
				alt = known && 1.5 * cu > 0.8 * ce
				ok = known && (b >= 1.5 * cu || (alt && b >= 0.8 * ce))
				e = errs("submit", "10KB", cl[c], d)
				printf "- 10 KB, %s clients, %s: %s× CUPS (≥ 1.5×) or %s of the ceiling (≥ 80 %%, which %s: 1.5× CUPS = %s jobs/s, 80 %% of the ceiling = %s) — %s\n", \
					cl[c], n, ratio(b, cu), pct(b, ce), alt ? "counts here" : "does not count here", fmt(1.5 * cu, "%.0f"), fmt(0.8 * ce, "%.0f"), verdict(ok, e, known)
				b = m("submit", "10KB", cl[c], d, "p99")
				e += errs("warmup", "10KB", cl[c], d)
				printf "- 10 KB, %s clients, %s: p99 %s ms (< 20 ms)%s — %s\n", cl[c], n, fmt(b, "%.1f"), \
					(warmup > 0 ? sprintf("; a warm server: the cold one'"'"'s first %d jobs had p99 %s ms", warmup, fmt(m("warmup", "10KB", cl[c], d, "p99"), "%.1f")) : ""), \
					verdict(b != "" && b < 20, e, b != "")
			}
			b = m("submit", "10KB", 1, d, "per_s"); cu = m("submit", "10KB", 1, "cups", "per_s"); ce = m("submit", "10KB", 1, "ceiling", "per_s")
			known = b != "" && cu != "" && ce != ""
			printf "- 10 KB, 1 client, %s: %s× CUPS (≥ 0.8×) and %s of the single-client ceiling (≥ 70 %%) — %s\n", n, ratio(b, cu), pct(b, ce), \
				verdict(known && b >= 0.8 * cu && b >= 0.7 * ce, errs("submit", "10KB", 1, d), known)
			split("1 8 32", dk, " ")
			for (c = 1; c <= 3; c++) {
				b = m("submit", "10MB", dk[c], d, "per_s"); dd = m("submit", "10MB", dk[c], "dd", "per_s")
				printf "- 10 MB, %s client%s, %s: %s of dd conv=fsync (%s/s against %s/s; ≥ 70 %%) — %s\n", dk[c], dk[c] == 1 ? "" : "s", n, pct(b, dd), \
					fmt(b, "%.1f"), fmt(dd, "%.1f"), verdict(b != "" && dd != "" && b >= 0.7 * dd, errs("submit", "10MB", dk[c], d), b != "" && dd != "")
			}
		}
		if (seen["fill"]) {
			top = fill + rounds * deep
			b = m("deep", "10KB", 8, d, "per_s"); cu = m("deep", "10KB", 8, "cups", "per_s"); ce = m("deepempty", "10KB", 8, d, "per_s")
			known = b != "" && cu != "" && ce != ""
			e = errpart["fill|" d] + errpart["deep|" d] + errpart["deepempty|" d]
			printf "- %s held, 8 clients, %s: %s× CUPS (≥ 1×) and %s of its own empty-queue rate in the same rounds (≥ 90 %%) — %s\n", thousands(fill), n, \
				ratio(b, cu), pct(b, ce), verdict(known && b >= cu && b >= 0.9 * ce, e, known)
		}
		if (seen["bigfill"]) {
			b = m("big", "10KB", 8, d, "per_s"); ce = m("bigempty", "10KB", 8, d, "per_s")
			known = b != "" && ce != ""
			e = errpart["bigfill|" d] + errpart["big|" d] + errpart["bigempty|" d]
			printf "- %s held, 8 clients, %s: %s of its own empty-queue rate in the same rounds (≥ 90 %%) — %s\n", thousands(big), n, pct(b, ce), verdict(known && b >= 0.9 * ce, e, known)
		}
		h10 = seen["fill"] ? rss["held|" d] : ""; h32 = seen["submit"] ? m("submit", "10MB", 32, d, "hwm") : ""
		known = h10 != "" || h32 != ""
		printf "- Peak RSS, %s: %s MiB with %s held, %s MiB with 32 clients sending 10 MB (< 64 MiB) — %s\n", n, fmt(h10, "%.0f"), thousands(fill), fmt(h32, "%.0f"), \
			verdict((h10 == "" || h10 < 64) && (h32 == "" || h32 < 64), 0, known) ((h10 == "") != (h32 == "") ? " (one of the two not measured)" : "")
		if (seen["getjobs"]) {
			b = m("getjobs", "-", 1, d, "p50"); cu = m("getjobs", "-", 1, "cups", "p50")
			printf "- Get-Jobs of %s held, %s: p50 %s× CUPS'"'"'s time (≤ 0.10×, the figure when issue 12 was filed; issue 7 asked ≤ 0.5×) — %s\n", thousands(fill), n, \
				ratio(b, cu), verdict(b != "" && cu != "" && b <= 0.10 * cu, errpart["getjobs|" d], b != "" && cu != "")
		}
		if (seen["release"]) {
			b = m("release", "-", 1, d, "p99"); c = m("release", "-", 1, d, "p50")
			s = m("releaseref", "-", 1, d, "p99"); cu = m("releaseref", "-", 1, d, "p50")
			known = b != "" && c != "" && s != "" && cu != ""
			printf "- Release latency, %s: p50 %s ms, p99 %s ms; build %s in the same rounds: p50 %s ms, p99 %s ms (at or better than that build: the %.1f ms p99 issue 12 cites came from another machine) — %s\n", n, \
				fmt(c, "%.2f"), fmt(b, "%.2f"), release_ref, fmt(cu, "%.2f"), fmt(s, "%.2f"), d == "sqlite" ? 2.5 : 3.6, verdict(known && b <= s && c <= cu, 0, known)
		}
	}
}' "$results" fsyncfile="$fsyncs" "$fsyncs"
}

[[ -z ${BENCH_DEBUG_COPY:-} ]] || cp "$results" "$fsyncs" "$BENCH_DEBUG_COPY/"
section=$(report)
printf '%s\n' "$section"
printf '%s\n' "$section" | sed -n '/^Against the targets of issue 12/,$p' >&2

if [[ $out_file != - ]]; then
	if ! grep -q '^<!-- bench:start -->$' "$out_file" || ! grep -q '^<!-- bench:end -->$' "$out_file"; then
		printf '\n## Side by side with CUPS (issues 7 and 12)\n\n<!-- bench:start -->\n<!-- bench:end -->\n' >>"$out_file"
	fi
	printf '%s\n' "$section" >"$work/section.md"
	awk -v section="$work/section.md" '
		/^<!-- bench:start -->$/ { print; while ((getline line < section) > 0) print line; skip = 1; next }
		/^<!-- bench:end -->$/ { skip = 0 }
		!skip { print }' "$out_file" >"$work/out.md"
	cat "$work/out.md" >"$out_file"
	log "wrote the report into $out_file"
fi
