# Shared by the scripts that run a throwaway server on loopback for the
# tests (sshd.sh, ftps.sh). The sourcing script sets NAME (e.g. "sshd")
# before sourcing: it names its messages and its temporary directories
# (${TMPDIR:-/tmp}/avis-$NAME.*).

say() { echo "$NAME.sh: $*" >&2; }

# stop PID_OR_DIR stops the server started with that pid or directory and
# removes its directory.
stop() {
	local target=${1:?usage: $NAME.sh stop PID_OR_DIR} dir="" pid="" d i
	if [ -d "$target" ]; then
		dir=$target
		pid=$(cat "$dir/pid" 2>/dev/null || true)
	else
		pid=$target
		for d in "${TMPDIR:-/tmp}"/avis-"$NAME".*; do
			if [ -f "$d/pid" ] && [ "$(cat "$d/pid")" = "$pid" ]; then
				dir=$d
			fi
		done
	fi
	if [ -n "${pid:-}" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid"
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		if kill -0 "$pid" 2>/dev/null; then
			kill -9 "$pid" 2>/dev/null || true
		fi
	fi
	case "$dir" in
	*/avis-"$NAME".*) rm -rf "$dir" ;;
	esac
}

# apt_install_quietly PACKAGE... installs Debian packages without letting
# them start their system service (only the throwaway server is wanted);
# it fails when not root.
apt_install_quietly() {
	if [ "$(id -u)" != 0 ]; then
		say "not root: install the package(s) $* yourself"
		return 1
	fi
	say "installing $*"
	local policy="" rc=0
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		policy=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 0755 "$policy"
	fi
	(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@") >&2 || rc=$?
	if [ -n "$policy" ]; then
		rm -f "$policy"
	fi
	return "$rc"
}

# port_free reports whether nothing listens on 127.0.0.1:$1.
port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
