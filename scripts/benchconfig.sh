# benchconfig.sh - sourced by bench.sh and abtest.sh: the configuration of
# every printgate they start.

# hold_config DATA_DIR DATABASE_URL PORT [MY_NUMBER] writes, to standard
# output, the configuration of a printgate with one hold queue on
# 127.0.0.1:PORT. Like for like with cupsd: it lists every job and holds
# every document.
# BENCH_JOURNAL=0 or 1 sets database.journal (unset, the default: on).
# MY_NUMBER, when given, is the queue's my_number policy (unset: protect,
# the default).
hold_config() {
	local journal="" my_number=${4:+    my_number: $4}
	case ${BENCH_JOURNAL:-} in
	0) journal="  journal: false" ;;
	1) journal="  journal: true" ;;
	esac
	cat <<YAML
data_dir: $1/var
database:
  url: "$2"
$journal
server:
  listen: ["127.0.0.1:$3"]
  get_jobs_limit: 0
spool:
  max_held_mb_per_user: 0
queues:
  - name: hold
    mode: hold
$my_number
YAML
}

# add_load_user PRINTGATE CONFIG makes the name the bench's loads send
# (bench) a user of the built-in directory, as a submitter is in an
# office: a hold queue refuses jobs of names it does not know.
add_load_user() {
	printf 'load-password-1\n' | "$1" user add bench --config "$2" >/dev/null 2>&1
}

# start_hold_printgate PRINTGATE DIR DB PG_ADMIN starts PRINTGATE in DIR,
# emptied first, with one hold queue (hold_config) on a free loopback port,
# on a fresh PostgreSQL database printgate_bench made from PG_ADMIN when DB
# is postgres (SQLite otherwise), and waits until it listens. It sets
# port and pid.
start_hold_printgate() {
	local bin=$1 dir=$2 db=$3 admin=$4 url=""
	rm -rf "$dir" && mkdir -p "$dir"
	if [ "$db" = postgres ]; then
		psql -q "$admin" -c "DROP DATABASE IF EXISTS printgate_bench" -c "CREATE DATABASE printgate_bench" 2>/dev/null
		url=${admin/\/test\?/\/printgate_bench?}
	fi
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	hold_config "$dir" "$url" "$port" >"$dir/printgate.yaml"
	add_load_user "$bin" "$dir/printgate.yaml"
	"$bin" serve --config "$dir/printgate.yaml" >"$dir/log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
}
