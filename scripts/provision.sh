#!/usr/bin/env bash
# provision.sh - make the outside tools and servers that printgate's tests
# use available, then run a command with them.
#
#   scripts/provision.sh [COMMAND [ARG...]]
#
# 1. Debian packages: when a tool is missing and we are root, installs
#    cups-ipp-utils cups cups-client cups-filters slapd ldap-utils chromium
#    dbus poppler-utils qpdf ghostscript util-linux bubblewrap fonts-ipafont-gothic
#    avahi-daemon avahi-utils rsyslog rsyslog-gnutls zbar-tools systemd dpkg
#    passwd postgresql-client snmpd tesseract-ocr tesseract-ocr-jpn (apt-get
#    update once, no prompts). Package scripts
#    are kept from starting services (policy-rc.d): the tests start private
#    slapd, cupsd, ippeveprinter and snmpd on free loopback ports and need no
#    system ones. Without root, missing tools are reported and the tests
#    skip (or fail under PRINTGATE_TEST_STRICT=1).
# 2. PostgreSQL: when PRINTGATE_TEST_POSTGRES_URL is unset, the tests use
#    postgres://postgres@127.0.0.1:5432/test. If nothing answers there, the
#    packaged cluster is started; failing that, a private throwaway cluster
#    (initdb in a temporary folder, trust auth, loopback, a free port) is
#    started for the duration of COMMAND, exported as
#    PRINTGATE_TEST_POSTGRES_URL, and removed afterwards.
#    PRINTGATE_PROVISION_PG=private forces the private cluster.
#
# COMMAND's exit status is the script's.
set -euo pipefail

export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin:/usr/local/go/bin"
export DEBIAN_FRONTEND=noninteractive

log() { printf 'provision: %s\n' "$*" >&2; }

PACKAGES=(cups-ipp-utils cups cups-client cups-filters slapd ldap-utils chromium dbus poppler-utils qpdf ghostscript util-linux
	bubblewrap fonts-ipafont-gothic avahi-daemon avahi-utils rsyslog rsyslog-gnutls zbar-tools
	systemd dpkg passwd postgresql-client snmpd tesseract-ocr tesseract-ocr-jpn)
# Each tool the tests run, and the package that brings it.
declare -A TOOL_PACKAGE=(
	[ippeveprinter]=cups-ipp-utils [ipptool]=cups-ipp-utils
	[cupsd]=cups [lpadmin]=cups-client [lp]=cups-client [lpstat]=cups-client
	[slapd]=slapd [slapadd]=slapd [slappasswd]=slapd [ldapsearch]=ldap-utils
	[chromium]=chromium [dbus-daemon]=dbus [pdfinfo]=poppler-utils [pdftotext]=poppler-utils [qpdf]=qpdf
	[gs]=ghostscript [prlimit]=util-linux [bwrap]=bubblewrap
	[avahi-daemon]=avahi-daemon [avahi-browse]=avahi-utils [avahi-publish]=avahi-utils
	[rsyslogd]=rsyslog
	[zbarimg]=zbar-tools
	[systemd-analyze]=systemd [dpkg-deb]=dpkg [useradd]=passwd [pg_dump]=postgresql-client [pg_restore]=postgresql-client [snmpd]=snmpd
	[tesseract]=tesseract-ocr
)

private_pg=no
cleanup_actions=()
cleanup() {
	local i
	for ((i = ${#cleanup_actions[@]} - 1; i >= 0; i--)); do
		eval "${cleanup_actions[i]}" || true
	done
}
trap cleanup EXIT

apt_updated=no

# apt_install installs packages without prompts, keeping their scripts from
# starting services (slapd, cupsd, postgresql) through a policy-rc.d.
apt_install() {
	local policy=/usr/sbin/policy-rc.d made_policy=no status=0
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		made_policy=yes
	fi
	if [[ $apt_updated == no ]]; then
		apt-get update -q >&2 || status=$?
		apt_updated=yes
	fi
	if ((status == 0)); then
		apt-get -o DPkg::Lock::Timeout=600 install -y -q "$@" >&2 || status=$?
	fi
	[[ $made_policy == no ]] || rm -f "$policy"
	return "$status"
}

install_packages() {
	local missing=() tool
	for tool in "${!TOOL_PACKAGE[@]}"; do
		command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
	done
	# CUPS turns a PDF into what a driverless queue sends with this filter.
	[[ -x /usr/lib/cups/filter/pdftopdf ]] || missing+=(pdftopdf)
	# The forensic stamp's Japanese font (release/stamp).
	[[ -e /usr/share/fonts/opentype/ipafont-gothic/ipag.ttf ]] || missing+=(ipag.ttf)
	# rsyslog's TLS driver, for the SIEM forwarding test (audit/siem).
	compgen -G '/usr/lib/*/rsyslog/lmnsd_gtls.so' >/dev/null || missing+=(lmnsd_gtls.so)
	# Japanese OCR of image-only documents (My Number, release/convert).
	compgen -G '/usr/share/tesseract-ocr/*/tessdata/jpn.traineddata' >/dev/null || missing+=(jpn.traineddata)
	if ((${#missing[@]} == 0)); then
		return 0
	fi
	if [[ $(id -u) != 0 ]]; then
		log "missing ${missing[*]}; not root, so not installing (tests needing them skip or fail)"
		return 0
	fi
	log "missing ${missing[*]}: installing ${PACKAGES[*]}"
	apt_install "${PACKAGES[@]}"
}

pg_answers() { # host port
	command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h "$1" -p "$2" -t 3
}

port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

find_pg_bin() { # name
	local p
	if p=$(command -v "$1" 2>/dev/null); then
		echo "$p"
		return 0
	fi
	for p in /usr/lib/postgresql/*/bin/"$1"; do
		[[ -x $p ]] && echo "$p" && return 0
	done
	return 1
}

start_packaged_cluster() {
	command -v pg_ctlcluster >/dev/null 2>&1 && [[ -d /etc/postgresql ]] || return 1
	local version
	for version in $(ls /etc/postgresql); do
		[[ -d /etc/postgresql/$version/main ]] || continue
		log "starting PostgreSQL $version/main"
		pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
	done
	local _
	for _ in $(seq 1 20); do
		pg_answers 127.0.0.1 5432 && return 0
		sleep 0.5
	done
	return 1
}

start_private_cluster() {
	local initdb pg_ctl
	if ! initdb=$(find_pg_bin initdb) || ! pg_ctl=$(find_pg_bin pg_ctl); then
		if [[ $(id -u) == 0 ]]; then
			log "no PostgreSQL server: installing postgresql"
			apt_install postgresql || log "installing postgresql failed"
		fi
		initdb=$(find_pg_bin initdb) && pg_ctl=$(find_pg_bin pg_ctl) || {
			log "no PostgreSQL server available; PostgreSQL tests skip or fail"
			return 0
		}
	fi
	local port=54329
	while ! port_free "$port"; do port=$((port + 1)); done
	local dir run_as=()
	dir=$(mktemp -d /tmp/printgate-pg.XXXXXX)
	# initdb and postgres refuse to run as root.
	if [[ $(id -u) == 0 ]]; then
		local user=postgres
		id "$user" >/dev/null 2>&1 || user=nobody
		chown "$user" "$dir"
		run_as=(runuser -u "$user" --)
	fi
	cleanup_actions+=("rm -rf '$dir'")
	log "starting a private PostgreSQL cluster on 127.0.0.1:$port in $dir"
	"${run_as[@]}" "$initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 || {
		cat "$dir/initdb.log" >&2
		return 1
	}
	"${run_as[@]}" "$pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >&2 || {
		cat "$dir/server.log" >&2
		return 1
	}
	cleanup_actions+=("${run_as[*]} '$pg_ctl' -D '$dir/data' -m immediate -w stop >/dev/null")
	export PRINTGATE_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
	private_pg=yes
}

provision_postgres() {
	if [[ -n ${PRINTGATE_TEST_POSTGRES_URL:-} ]]; then
		log "using PRINTGATE_TEST_POSTGRES_URL from the environment"
		return 0
	fi
	if [[ ${PRINTGATE_PROVISION_PG:-} != private ]]; then
		if pg_answers 127.0.0.1 5432 || start_packaged_cluster; then
			log "PostgreSQL answers on 127.0.0.1:5432"
			return 0
		fi
	fi
	start_private_cluster
}

install_packages || log "installing packages failed; tests needing them skip or fail"
provision_postgres || log "PostgreSQL could not be started; its tests skip or fail"

if (($# == 0)); then
	if [[ $private_pg == yes ]]; then
		log "no command given: the private PostgreSQL cluster is stopped again"
	fi
	exit 0
fi
status=0
"$@" || status=$?
exit "$status"
