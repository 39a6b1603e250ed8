#!/usr/bin/env bash
# Makes sure the browser tests have what they need, outside the repository:
# Debian's Chromium (installed with apt when missing and run as root) and
# axe-core (installed with npm into a cache directory once). Progress goes to
# stderr; stdout is only the lines to eval:
#   eval "$(scripts/browser-deps.sh)"
set -euo pipefail

chromium=${AVIS_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "browser-deps: installing chromium with apt-get" >&2
		apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
		chromium=/usr/bin/chromium
	else
		echo "browser-deps: $chromium is missing; install Debian's chromium package (as root: apt-get install chromium)" >&2
	fi
fi

axe_dir=${AVIS_AXE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/avis/axe}
axe_js=$axe_dir/node_modules/axe-core/axe.min.js
if [ ! -s "$axe_js" ]; then
	if command -v npm >/dev/null; then
		echo "browser-deps: installing axe-core@4 into $axe_dir" >&2
		mkdir -p "$axe_dir"
		npm install --no-audit --no-fund --silent --prefix "$axe_dir" axe-core@4 >&2
	else
		echo "browser-deps: npm is missing; cannot install axe-core" >&2
	fi
fi

printf 'export AVIS_AXE_JS=%q; export AVIS_CHROMIUM=%q\n' "$axe_js" "$chromium"
