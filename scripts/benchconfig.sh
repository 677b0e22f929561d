# benchconfig.sh - sourced by bench.sh and abtest.sh: the configuration of
# every printgate they start.

# hold_config DATA_DIR DATABASE_URL PORT writes, to standard output, the
# configuration of a printgate with one hold queue on 127.0.0.1:PORT. Like
# for like with cupsd: it lists every job and holds every document.
hold_config() {
	cat <<YAML
data_dir: $1/var
database:
  url: "$2"
server:
  listen: ["127.0.0.1:$3"]
  get_jobs_limit: 0
spool:
  max_held_mb_per_user: 0
queues:
  - name: hold
    mode: hold
YAML
}

# add_load_user PRINTGATE CONFIG makes the name the bench's loads send
# (bench) a user of the built-in directory, as a submitter is in an
# office: a hold queue refuses jobs of names it does not know.
add_load_user() {
	printf 'load-password-1\n' | "$1" user add bench --config "$2" >/dev/null 2>&1
}
