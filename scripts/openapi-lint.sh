#!/usr/bin/env bash
# Lints the OpenAPI document of the REST API (internal/web/openapi.json)
# with Redocly's CLI, installed with npm into a cache directory once (like
# axe-core in browser-deps.sh). Exits non-zero on any error.
set -euo pipefail
cd "$(dirname "$0")/.."

version=2.77.0
dir=${AVIS_REDOCLY_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/avis/redocly}
bin=$dir/node_modules/.bin/redocly
if [ ! -x "$bin" ] || [ "$(node -e "console.log(require('$dir/node_modules/@redocly/cli/package.json').version)" 2>/dev/null)" != "$version" ]; then
	if ! command -v npm >/dev/null; then
		if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
			echo "openapi-lint: installing nodejs and npm with apt-get" >&2
			apt-get update -qq >&2
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >&2
		else
			echo "openapi-lint: npm is missing; install Debian's nodejs and npm packages" >&2
			exit 1
		fi
	fi
	echo "openapi-lint: installing @redocly/cli@$version into $dir" >&2
	mkdir -p "$dir"
	npm install --no-audit --no-fund --silent --prefix "$dir" "@redocly/cli@$version" >&2
fi
exec "$bin" lint --config scripts/redocly.yaml --format stylish internal/web/openapi.json
