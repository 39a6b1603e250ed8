#!/usr/bin/env bash
# Start or stop a throwaway FTPS server (pure-ftpd, explicit TLS) on a
# loopback port, for the export tests of internal/crmsync.
#
#   eval "$(scripts/ftps.sh)"            start; exports AVIS_TEST_FTPS_*
#   scripts/ftps.sh stop PID_OR_DIR      stop it and remove its directory
#
# The server lives in a temporary directory: a self-signed certificate for
# 127.0.0.1, a virtual-user database of three users sharing one password —
# one who may write in its home, one whose 1 MB quota is already used up
# (a full disk as the server sees it), one whose home it may only read —,
# the log and the homes. It listens on 127.0.0.1 only, refuses anonymous
# logins and anything but TLS, on the control and the data connections.
# The virtual users run as nobody.
#
# When pure-ftpd is missing and we are root, the Debian package pure-ftpd
# is installed. Everything but the export line goes to stderr.
set -euo pipefail

PUREFTPD=/usr/sbin/pure-ftpd

NAME=ftps
# shellcheck source=lib/daemon.sh
. "$(dirname "$0")/lib/daemon.sh"

install_pureftpd() {
	if [ -x "$PUREFTPD" ] && command -v pure-pw >/dev/null && command -v pure-quotacheck >/dev/null; then
		return
	fi
	if ! apt_install_quietly pure-ftpd openssl || [ ! -x "$PUREFTPD" ]; then
		say "installing pure-ftpd failed: install it yourself (apt-get install pure-ftpd)"
		exit 1
	fi
}

start() {
	local dir password hash uid gid tries port pasv pid i
	install_pureftpd
	dir=$(mktemp -d "${TMPDIR:-/tmp}/avis-ftps.XXXXXX")
	chmod 0755 "$dir"
	uid=$(id -u nobody)
	gid=$(id -g nobody)
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
		-addext "subjectAltName=IP:127.0.0.1" -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
	cat "$dir/key.pem" "$dir/cert.pem" >"$dir/pure-ftpd.pem"
	chmod 0600 "$dir/pure-ftpd.pem" "$dir/key.pem"
	chmod 0644 "$dir/cert.pem"

	# The users, with a SHA-512 crypt hash (pure-pw's default, argon2 with
	# hundreds of passes, would make every login of the tests slow).
	password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
	hash=$(openssl passwd -6 "$password")
	mkdir -p "$dir/home/avis" "$dir/home/full" "$dir/home/ro"
	cat >"$dir/passwd" <<PW
avis:$hash:$uid:$gid::$dir/home/avis/./::::::::::::
full:$hash:$uid:$gid::$dir/home/full/./:::::::1048576:::::
ro:$hash:$uid:$gid::$dir/home/ro/./::::::::::::
PW
	pure-pw mkdb "$dir/pureftpd.pdb" -f "$dir/passwd" >&2
	# full's quota (1 MB) is used up by a file already there.
	head -c 1153434 /dev/zero >"$dir/home/full/filler"
	chown -R "$uid:$gid" "$dir/home/avis" "$dir/home/full"
	chmod 0777 "$dir/home/avis"
	pure-quotacheck -u nobody -d "$dir/home/full" >&2
	# ro's home belongs to root: nobody may read it, not write in it.

	tries=0
	while :; do
		tries=$((tries + 1))
		port=$(( (RANDOM * 32768 + RANDOM) % 40000 + 20000 ))
		pasv=$(( port + 1 ))
		if ! port_free "$port"; then
			continue
		fi
		"$PUREFTPD" -S "127.0.0.1,$port" -l "puredb:$dir/pureftpd.pdb" -Y 3 -2 "$dir/pure-ftpd.pem" \
			-E -H -A -u 1 -p "$pasv:$((pasv + 40))" -P 127.0.0.1 -g "$dir/pure-ftpd.pid" \
			</dev/null >"$dir/pure-ftpd.log" 2>&1 &
		pid=$!
		echo "$pid" >"$dir/pid"
		i=0
		while kill -0 "$pid" 2>/dev/null && port_free "$port" && [ $i -lt 100 ]; do
			sleep 0.05
			i=$((i + 1))
		done
		if kill -0 "$pid" 2>/dev/null && ! port_free "$port"; then
			break
		fi
		kill "$pid" 2>/dev/null || true
		if [ $tries -ge 5 ]; then
			say "pure-ftpd did not start; its log:"
			cat "$dir/pure-ftpd.log" >&2
			rm -rf "$dir"
			exit 1
		fi
	done
	say "pure-ftpd (pid $pid) on 127.0.0.1:$port, explicit TLS, in $dir"
	echo "export AVIS_TEST_FTPS_ADDR=127.0.0.1:$port AVIS_TEST_FTPS_CERT=$dir/cert.pem AVIS_TEST_FTPS_PASSWORD=$password AVIS_TEST_FTPS_USER=avis AVIS_TEST_FTPS_DIR=$dir/home/avis AVIS_TEST_FTPS_FULL_USER=full AVIS_TEST_FTPS_RO_USER=ro AVIS_TEST_FTPS_PID=$pid"
}

case "${1:-start}" in
start) start ;;
stop) stop "${2:-}" ;;
*)
	say "usage: ftps.sh [start] | scripts/ftps.sh stop PID_OR_DIR"
	exit 2
	;;
esac
