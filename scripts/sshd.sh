#!/usr/bin/env bash
# Start or stop a throwaway OpenSSH sshd on a loopback port, for the SFTP
# tests of internal/crmsync.
#
#   eval "$(scripts/sshd.sh)"            start; exports AVIS_TEST_SSHD_*
#   scripts/sshd.sh stop PID_OR_DIR      stop it and remove its directory
#
# The server lives in a temporary directory: a generated host key, a
# generated client key and its authorized_keys, the config, the log and a
# writable folder for the drop. It listens on 127.0.0.1 only, accepts the
# client key only (no password), and logs in the user running this script
# (root on CI: sshd needs root to drop privileges, and root logs in with
# PermitRootLogin prohibit-password, that is with the key only). SFTP is
# served by OpenSSH's sftp-server, or internal-sftp when it is missing.
#
# When /usr/sbin/sshd is missing and we are root, the Debian package
# openssh-server is installed. Everything but the export line goes to stderr.
set -euo pipefail

SSHD=/usr/sbin/sshd

NAME=sshd
# shellcheck source=lib/daemon.sh
. "$(dirname "$0")/lib/daemon.sh"

install_sshd() {
	if [ -x "$SSHD" ]; then
		return
	fi
	if ! apt_install_quietly openssh-server || [ ! -x "$SSHD" ]; then
		say "installing openssh-server failed: install it yourself (apt-get install openssh-server)"
		exit 1
	fi
}

start() {
	local dir user sftp p tries port pid i fp
	install_sshd
	dir=$(mktemp -d "${TMPDIR:-/tmp}/avis-sshd.XXXXXX")
	chmod 0755 "$dir"
	user=$(id -un)
	ssh-keygen -q -t ed25519 -N '' -C avis-test-host -f "$dir/host_ed25519" >&2
	ssh-keygen -q -t ed25519 -N '' -C avis-test-client -f "$dir/client_ed25519" >&2
	cp "$dir/client_ed25519.pub" "$dir/authorized_keys"
	chmod 0644 "$dir/authorized_keys"
	mkdir -p "$dir/drop"
	chmod 0777 "$dir/drop"
	if [ "$(id -u)" = 0 ]; then
		# Privilege separation needs its empty directory.
		mkdir -p /run/sshd
		chmod 0755 /run/sshd
	fi
	sftp=internal-sftp
	for p in /usr/lib/openssh/sftp-server /usr/libexec/openssh/sftp-server /usr/libexec/sftp-server; do
		if [ -x "$p" ]; then
			sftp=$p
			break
		fi
	done

	tries=0
	while :; do
		tries=$((tries + 1))
		# A random port in 20000-59999, so that parallel runs rarely meet;
		# a lost race to bind it is retried below.
		port=$(( (RANDOM * 32768 + RANDOM) % 40000 + 20000 ))
		if ! port_free "$port"; then
			continue
		fi
		cat >"$dir/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $port
HostKey $dir/host_ed25519
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
AllowUsers $user
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
X11Forwarding no
AllowTcpForwarding no
Subsystem sftp $sftp
EOF
		"$SSHD" -t -f "$dir/sshd_config" >&2
		"$SSHD" -f "$dir/sshd_config" -D -e </dev/null >"$dir/sshd.log" 2>&1 &
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
			say "sshd did not start; its log:"
			cat "$dir/sshd.log" >&2
			rm -rf "$dir"
			exit 1
		fi
	done
	fp=$(ssh-keygen -l -E sha256 -f "$dir/host_ed25519.pub" | awk '{print $2}')
	say "OpenSSH sshd (pid $pid) on 127.0.0.1:$port for user $user, sftp: $sftp, in $dir"
	echo "export AVIS_TEST_SSHD_ADDR=127.0.0.1:$port AVIS_TEST_SSHD_KEY=$dir/client_ed25519 AVIS_TEST_SSHD_USER=$user AVIS_TEST_SSHD_FINGERPRINT=$fp AVIS_TEST_SSHD_DIR=$dir/drop AVIS_TEST_SSHD_PID=$pid"
}

case "${1:-start}" in
start) start ;;
stop) stop "${2:-}" ;;
*)
	say "usage: sshd.sh [start] | sshd.sh stop PID_OR_DIR"
	exit 2
	;;
esac
