#!/usr/bin/env bash
# Runs every test: on SQLite, then on a throwaway PostgreSQL server started
# here on a loopback port, with a throwaway OpenSSH server for the SFTP drop
# and headless Chromium for the pages. Exits non-zero on any failure; never
# skips a database or a real component (the AVIS_TEST_REQUIRE_* variables
# turn a missing one into a failure).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

eval "$(scripts/pg.sh start)"
eval "$(scripts/sshd.sh)"
eval "$(scripts/ftps.sh)"
trap 'scripts/pg.sh stop "$AVIS_PG_DIR"; scripts/sshd.sh stop "$AVIS_TEST_SSHD_PID"; scripts/ftps.sh stop "$AVIS_TEST_FTPS_PID"' EXIT
export AVIS_TEST_REQUIRE_POSTGRES=1
export AVIS_TEST_REQUIRE_SSHD=1
export AVIS_TEST_REQUIRE_FTPS=1
eval "$(scripts/browser-deps.sh)"
export AVIS_TEST_REQUIRE_BROWSER=1

pkgs=${PKGS:-./...}
status=0
echo "== go vet"
go vet ./... || status=1
echo "== OpenAPI document lint"
scripts/openapi-lint.sh || status=1
echo "== build without cgo"
CGO_ENABLED=0 go build -o /dev/null ./cmd/avis || status=1
echo "== tests on SQLite"
AVIS_TEST_DB=sqlite go test -race -count=1 $pkgs || status=1
echo "== tests on PostgreSQL"
AVIS_TEST_DB=postgres go test -race -count=1 $pkgs || status=1
if [ "$status" = 0 ]; then echo "make test: all tests passed on SQLite and PostgreSQL"; else echo "make test: FAILED"; fi
exit "$status"
