#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL server on a loopback port, for tests
# and benchmarks. Installs the Debian package when the server is missing.
#
#   eval "$(scripts/pg.sh start)"   # exports AVIS_TEST_POSTGRES_URL and AVIS_PG_DIR
#   scripts/pg.sh stop "$AVIS_PG_DIR"
set -euo pipefail

pg_bin() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
	if [ -z "$d" ] || [ ! -x "$d/initdb" ]; then
		echo "PostgreSQL server not found: installing the Debian package postgresql" >&2
		if [ "$(id -u)" != 0 ]; then
			echo "run as root, or install postgresql yourself (apt-get install postgresql)" >&2
			exit 1
		fi
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
		d=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
	fi
	echo "$d"
}

free_port() {
	local p
	for p in $(seq 54320 54420); do
		if ! (exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	echo "no free port between 54320 and 54420" >&2
	exit 1
}

as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

start() {
	local bin dir port
	bin=$(pg_bin)
	dir=$(mktemp -d /tmp/avis-pg.XXXXXX)
	chmod 755 "$dir"
	[ "$(id -u)" = 0 ] && chown postgres "$dir"
	port=$(free_port)
	as_pg "$bin/initdb" -D "$dir/data" -U avis --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
		as_pg "$bin/initdb" -D "$dir/data" -U avis --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; exit 1; }
	as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400 -c shared_buffers=128MB" \
		start >&2 || { cat "$dir/server.log" >&2; exit 1; }
	echo "export AVIS_TEST_POSTGRES_URL='postgres://avis@127.0.0.1:$port/postgres?sslmode=disable'"
	echo "export AVIS_PG_DIR='$dir'"
}

stop() {
	local dir=$1 bin
	[ -d "$dir/data" ] || return 0
	bin=$(pg_bin)
	as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	rm -rf "$dir"
}

case "${1:-}" in
start) start ;;
stop) stop "${2:?give the directory that start printed}" ;;
*) echo "usage: $0 start | stop DIR" >&2; exit 2 ;;
esac
