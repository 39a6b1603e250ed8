#!/usr/bin/env bash
# make bench-sync: results back to the CRM, on SQLite and on a throwaway
# PostgreSQL. N (1,000,000 by default) complete responses are stored, then
# a CRM client pulls them all with the cursor of GET /api/v1/responses in
# pages of 1,000 through `avis serve`, and a scheduled export writes them
# all to an SFTP server on loopback as CSV. Writes the figures into the
# sync section of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
n=${N:-1000000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; [ -n "${AVIS_PG_DIR:-}" ] && scripts/pg.sh stop "$AVIS_PG_DIR"; true' EXIT
go build -o "$tmp/avis" ./cmd/avis
go build -o "$tmp/benchsync" ./scripts/benchsync
eval "$(scripts/pg.sh start)"
psql "$AVIS_TEST_POSTGRES_URL" -qc 'CREATE DATABASE avis_bench_sync' >/dev/null
pgurl=${AVIS_TEST_POSTGRES_URL/\/postgres?/\/avis_bench_sync?}

declare -A r
for db in sqlite postgres; do
	url="" pgdata=""
	[ $db = postgres ] && url=$pgurl pgdata=$AVIS_PG_DIR/data
	echo "$db, $n responses…" >&2
	r[$db]=$("$tmp/benchsync" -avis "$tmp/avis" -db "$url" -pgdata "$pgdata" -n "$n" 2>/dev/null | tail -1)
	echo "${r[$db]}" >&2
done
# f DB FIELD [DIGITS]: a figure of a run, rounded.
f() { python3 -c "import json,sys; v=json.loads(sys.argv[1])['$2']; print(v if isinstance(v, int) else round(v, ${3:-0}) if ${3:-0} else round(v))" "${r[$1]}"; }
# per DB FIELD: CPU milliseconds of a field per page.
per() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(round(d['$2']*1000/max(1, d['pages']), 1))" "${r[$1]}"; }
pullrow() {
	echo "| $2 | $(f "$1" pages) | $(f "$1" pages_per_s 1) | $(f "$1" page_p50_ms 1) / $(f "$1" page_p99_ms 1) ms | $(f "$1" read) / $(f "$1" duplicates) | $(per "$1" avis_cpu_s) ms${3:-} | $(f "$1" peak_rss_mb) MB | ≥ 50 pages/s |"
}
exportrow() {
	echo "| $2 | $(f "$1" export_rows) / $(f "$1" file_rows) | $(f "$1" export_s 1) s | $(f "$1" rows_per_s) | $(python3 -c "print(round($(f "$1" export_bytes)/1e6))") MB |"
}
section=$(cat <<MD
<!-- sync:start -->
## Results back to the CRM (issue 6)

\`make bench-sync\` on $(date -u +%Y-%m-%d), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')):
$n complete responses (an NPS, a CSAT and a choice each, from $n
contacts known by their CRM id) are stored, then read back two ways.

**Pull.** One CRM client reads every response through \`avis serve\` with
the cursor of \`GET /api/v1/responses?limit=1000\`, one page after the
other as a script does (the client on the same cores). "Read / duplicates"
checks that each response came exactly once. CPU is avis's per page (and
the PostgreSQL server's).

| Database | Pages | Pages/s | Page p50 / p99 | Read / duplicates | CPU per page | Peak RSS | Target |
|---|---|---|---|---|---|---|---|
$(pullrow sqlite SQLite)
$(pullrow postgres PostgreSQL " / $(per postgres postgres_cpu_s) ms")

**Export.** A scheduled export of every response (new since its last run:
all of them) to an SFTP server on loopback (pkg/sftp, in the benchmark
process) as CSV in UTF-8, run by the engine of avis's export job.

| Database | Rows written / in the file | Time | Rows/s | File |
|---|---|---|---|---|
$(exportrow sqlite SQLite)
$(exportrow postgres PostgreSQL)
<!-- sync:end -->
MD
)
file=docs/benchmarks.md
if grep -q '<!-- sync:start -->' "$file"; then
	awk -v s="$section" '/<!-- sync:start -->/{print s; skip=1} /<!-- sync:end -->/{skip=0; next} !skip' "$file" >"$tmp/b.md" && cp "$tmp/b.md" "$file"
else
	printf '\n%s\n' "$section" >>"$file"
fi
echo "$section"
