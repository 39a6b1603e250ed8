#!/usr/bin/env bash
# make bench-sync: results back to the CRM, on SQLite and on a throwaway
# PostgreSQL.
#   - webhooks: 64 clients answer W invitations (20,000 by default) through
#     the survey page at up to RATE responses/s (1,000), and a receiver on
#     loopback notes when each response.completed webhook arrives; then the
#     same with the responses written through the response store by the
#     benchmark's process (the survey page's Submit without HTTP), which
#     can bring RATE responses a second where browsers on the same two
#     cores cannot;
#   - pull: N (1,000,000 by default) complete responses are stored, then a
#     CRM client pulls them all with the cursor of GET /api/v1/responses in
#     pages of 1,000 through `avis serve`;
#   - export: a scheduled export writes those N responses to an SFTP server
#     on loopback as CSV.
# Writes the figures into the sync section of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
n=${N:-1000000}
w=${W:-20000}
rate=${RATE:-1000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; [ -n "${AVIS_PG_DIR:-}" ] && scripts/pg.sh stop "$AVIS_PG_DIR"; true' EXIT
go build -o "$tmp/avis" ./cmd/avis
go build -o "$tmp/benchsync" ./scripts/benchsync
go build -o "$tmp/benchanswer" ./scripts/benchanswer
eval "$(scripts/pg.sh start)"
psql "$AVIS_TEST_POSTGRES_URL" -qc 'CREATE DATABASE avis_bench_sync' >/dev/null
psql "$AVIS_TEST_POSTGRES_URL" -qc 'CREATE DATABASE avis_bench_hooks' >/dev/null
pgurl=${AVIS_TEST_POSTGRES_URL/\/postgres?/\/avis_bench_sync?}
hookurl=${AVIS_TEST_POSTGRES_URL/\/postgres?/\/avis_bench_hooks?}

psql "$AVIS_TEST_POSTGRES_URL" -qc 'CREATE DATABASE avis_bench_hooks_direct' >/dev/null
directurl=${AVIS_TEST_POSTGRES_URL/\/postgres?/\/avis_bench_hooks_direct?}

declare -A r h
for db in sqlite postgres; do
	url="" pgdata=""
	[ $db = postgres ] && url=$hookurl pgdata=$AVIS_PG_DIR/data
	echo "$db, webhooks of $w responses at up to $rate/s…" >&2
	h[$db]=$("$tmp/benchanswer" -avis "$tmp/avis" -db "$url" -pgdata "$pgdata" -n "$w" -rate "$rate" -webhook 2>/dev/null | tail -1)
	echo "${h[$db]}" >&2
	[ $db = postgres ] && url=$directurl
	echo "$db, webhooks of $w responses written directly at up to $rate/s…" >&2
	h[$db-direct]=$("$tmp/benchanswer" -avis "$tmp/avis" -db "$url" -pgdata "$pgdata" -n "$w" -rate "$rate" -clients 256 -webhook -direct 2>/dev/null | tail -1)
	echo "${h[$db-direct]}" >&2
done
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
# g DB FIELD [DIGITS]: a figure of a webhook run, rounded.
g() { python3 -c "import json,sys; v=json.loads(sys.argv[1])['$2']; print(v if isinstance(v, int) else round(v, ${3:-0}) if ${3:-0} else round(v))" "${h[$1]}"; }
# hookrow DB LABEL [SUFFIX [CPU-FIELD]]
hookrow() {
	echo "| $2 | $(g "$1" responses_per_s) | $(g "$1" acknowledged) / $(g "$1" webhooks) / $(g "$1" webhook_missing) | $(g "$1" webhook_p50_ms) / $(g "$1" webhook_p99_ms) / $(g "$1" webhook_max_ms) ms | $(g "$1" "${4:-avis_cpu_s}") s${3:-} | p99 < 1 s at 1,000 responses/s |"
}
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
contacts known by their CRM id) are stored, then read back two ways; and
answers are pushed as they come.

**Webhooks.** 64 clients answer $w invitations through the survey page as
browsers without JavaScript (as in \`make bench-answer\`), starting at most
$rate responses a second, while a tenant's webhook endpoint on loopback
(\`response.completed\`, signed) receives each completed response. The
delay runs from the response's completion time (\`completed_at\` in the
payload, set in the transaction that stores it) to the webhook's arrival.
"Answered / received / missing" counts the thank-you pages, the distinct
webhooks received and those still missing 60 s after the last answer.
Browsers and avis on two cores cannot bring 1,000 responses a second, so
the last two rows write the responses through the response store in the
benchmark's process, as the survey page's POST does (page by page, the
webhook hook in the same transaction) but without HTTP, one starting every
millisecond at most, up to 256 at once (people arriving do not wait for
those before them to be stored: 64 would cap the arrivals at 64 divided by
the time a response takes to store). On PostgreSQL \`avis serve\` delivers the webhooks.
On SQLite the benchmark's process delivers them too, with avis's delivery
job (\`avis serve\` runs with \`AVIS_ROLE=web\`), because one process
writes an SQLite database, as with avis always: two processes taking turns
at the file's write lock made the delivery job, retrying with SQLite's
sleeps, fall seconds behind a writer that hardly let it go. The CPU of that
row is the benchmark process's, which did all of avis's work there.

| Database | Responses/s | Answered / received / missing | Delay p50 / p99 / max | CPU avis (/ PostgreSQL) | Target |
|---|---|---|---|---|---|
$(hookrow sqlite "SQLite, survey pages")
$(hookrow postgres "PostgreSQL, survey pages" " / $(g postgres postgres_cpu_s) s")
$(hookrow sqlite-direct "SQLite, response store" "" client_cpu_s)
$(hookrow postgres-direct "PostgreSQL, response store" " / $(g postgres-direct postgres_cpu_s) s")

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
