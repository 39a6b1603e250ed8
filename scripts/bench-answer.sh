#!/usr/bin/env bash
# make bench-answer: 64 clients on loopback answer N invitations (50,000 by
# default) of a five-question survey through `avis serve`, as browsers
# without JavaScript (GET the page, POST each page with its hidden fields,
# follow the redirects to the thank-you page), on SQLite and on a throwaway
# PostgreSQL. Writes the figures into the answer section of
# docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
n=${N:-50000}
clients=${CLIENTS:-64}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; [ -n "${AVIS_PG_DIR:-}" ] && scripts/pg.sh stop "$AVIS_PG_DIR"; true' EXIT
go build -o "$tmp/avis" ./cmd/avis
go build -o "$tmp/benchanswer" ./scripts/benchanswer
eval "$(scripts/pg.sh start)"
psql "$AVIS_TEST_POSTGRES_URL" -qc 'CREATE DATABASE avis_bench_answer' >/dev/null
pgurl=${AVIS_TEST_POSTGRES_URL/\/postgres?/\/avis_bench_answer?}

declare -A r
for db in sqlite postgres; do
	url="" pgdata=""
	[ $db = postgres ] && url=$pgurl pgdata=$AVIS_PG_DIR/data
	echo "$db, $n responses, $clients clients…" >&2
	r[$db]=$("$tmp/benchanswer" -avis "$tmp/avis" -db "$url" -pgdata "$pgdata" -n "$n" -clients "$clients" 2>/dev/null | tail -1)
	echo "${r[$db]}" >&2
done
# The floor: the same clients against the pages avis served for one
# invitation, replayed by a stub server that does nothing else.
echo "floor: $n responses, $clients clients, no avis…" >&2
r[floor]=$("$tmp/benchanswer" -avis "$tmp/avis" -n "$n" -clients "$clients" -floor 2>/dev/null | tail -1)
echo "${r[floor]}" >&2
# Storing only: the same answers written through the response store in the
# benchmark's process, page by page as the survey POST does, no HTTP.
psql "$AVIS_TEST_POSTGRES_URL" -qc 'CREATE DATABASE avis_bench_store' >/dev/null
for db in sqlite postgres; do
	url="" pgdata=""
	[ $db = postgres ] && url=${AVIS_TEST_POSTGRES_URL/\/postgres?/\/avis_bench_store?} pgdata=$AVIS_PG_DIR/data
	echo "$db, storing only…" >&2
	r[store_$db]=$("$tmp/benchanswer" -avis "$tmp/avis" -db "$url" -pgdata "$pgdata" -n "$n" -clients "$clients" -direct 2>/dev/null | tail -1)
	echo "${r[store_$db]}" >&2
done
# f DB FIELD [DIGITS]: a figure of a run, rounded.
f() { python3 -c "import json,sys; v=json.loads(sys.argv[1])['$2']; print(v if isinstance(v, int) else round(v, ${3:-0}) if ${3:-0} else round(v))" "${r[$1]}"; }
row() {
	echo "| $2 | $(f "$1" responses_per_s) | $(f "$1" requests_per_s) | $(f "$1" request_p50_ms 1) / $(f "$1" request_p99_ms 1) ms | $(f "$1" response_p50_ms) / $(f "$1" response_p99_ms) ms | $(f "$1" acknowledged) / $(f "$1" stored) / $(f "$1" lost) | $(f "$1" failed) | $(f "$1" peak_rss_mb) MB | $(f "$1" avis_cpu_s) s / $(f "$1" client_cpu_s) s${3:-} | ≥ 5,000/s, p99 < 100 ms |"
}
# per DB FIELD: CPU milliseconds of a field per acknowledged response.
per() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(round(d['$2']*1000/max(1, d['acknowledged']), 2))" "${r[$1]}"; }
# reqs RUN: HTTP requests a response.
reqs() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(round(d['requests']/max(1, d['acknowledged']), 1))" "${r[$1]}"; }
# cpu RUN: CPU milliseconds of a run per acknowledged response, all processes.
cpu() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(round((d['avis_cpu_s']+d['client_cpu_s']+d['postgres_cpu_s'])*1000/max(1, d['acknowledged']), 2))" "${r[$1]}"; }
# both RUN: the responses/s the cores allow at the CPU of the floor and of storing only added.
both() { python3 -c "print(round($(nproc)*1000/($(cpu floor)+$(cpu "$1"))))"; }
# ceiling DB: the responses/s that 2 cores allow at the measured CPU of avis and the clients.
ceiling() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(round($(nproc)*d['acknowledged']/(d['avis_cpu_s']+d['client_cpu_s'])))" "${r[$1]}"; }
if [ "$(f sqlite lost)" = 0 ] && [ "$(f postgres lost)" = 0 ]; then
	lostline="Nothing was lost: every response acknowledged with a thank-you page was complete in the database."
else
	lostline="RESPONSES WERE LOST: $(f sqlite lost) on SQLite, $(f postgres lost) on PostgreSQL were acknowledged but are not complete in the database."
fi
html=$(f sqlite page_html_bytes)
css=$(f sqlite page_css_bytes)
section=$(cat <<MD
<!-- answer:start -->
## Answering surveys (issue 5)

\`make bench-answer\` on $(date -u +%Y-%m-%d), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')):
$n invitations of a five-question survey on two pages (an NPS, a comment
asked of detractors only, a choice, a CSAT, a comment) are answered by
$clients clients at once, on loopback, through \`avis serve\`. Each client
is a browser without JavaScript: it GETs \`/s/{token}\`, fills in the form
(mostly promoters; a detractor's page comes back with the comment
question), POSTs it with the form's hidden fields, follows the 303 to the
next page, and so on until the thank-you page (about 5.5 requests a
response). The clients run in the benchmark process on the same 2 cores
(their CPU is in the table); on PostgreSQL the database server shares them
too (its CPU is the third figure). "Acknowledged" counts the thank-you
pages received, "stored" the complete responses in the database after the
run: "lost" is the acknowledged responses not stored.

The first survey page weighs $html bytes of HTML and $css bytes of style
sheets (avis's and the tenant's brand colour): $((html + css)) bytes
transferred, uncompressed, for a target of 30 KB.

| Database | Responses/s | Requests/s | Request p50 / p99 | Response p50 / p99 | Acknowledged / stored / lost | Failed | Peak RSS | CPU avis / clients (/ PostgreSQL) | Target |
|---|---|---|---|---|---|---|---|---|---|
$(row sqlite SQLite)
$(row postgres PostgreSQL " / $(f postgres postgres_cpu_s) s")

The target is not reachable on this machine, whatever avis does. With no
avis at all (\`benchanswer -floor\`: the same $clients clients answer the pages
avis served for one invitation, replayed by a stub server with nothing
behind it, no database, no template, no check, $(reqs floor) requests a response),
the $(nproc) cores reach $(f floor responses_per_s) responses/s ($(f floor requests_per_s) requests/s, request p50 / p99
$(f floor request_p50_ms 1) / $(f floor request_p99_ms 1) ms; CPU stub $(f floor avis_cpu_s 1) s / clients $(f floor client_cpu_s 1) s): HTTP on loopback and the
clients alone take $(per floor avis_cpu_s) + $(per floor client_cpu_s) ms of CPU per response, which is
what two cores have for $(ceiling floor) responses/s. Storing the answers
alone, as the survey POST does but from the benchmark's process with no
HTTP and no page (\`benchanswer -direct\`, $clients at once), takes $(cpu store_sqlite) ms of CPU a
response on SQLite ($(f store_sqlite responses_per_s) responses/s) and $(cpu store_postgres) ms on PostgreSQL, its
server included ($(f store_postgres responses_per_s)/s). The two added, the $(nproc) cores allow at most
$(both store_sqlite) responses/s on SQLite and $(both store_postgres) on PostgreSQL before avis has read an
invitation or rendered a page. On SQLite avis uses $(per sqlite avis_cpu_s) ms of CPU per
response and the clients $(per sqlite client_cpu_s) ms: the $(nproc) cores allow at most
$(ceiling sqlite) responses/s at that cost, whoever runs faster. Where avis's CPU
goes (CPU profile of \`avis serve\` on SQLite): rendering the pages with
html/template (about a quarter), the group commit's transactions (about a
quarter), reading the invitation and its response on each request (about
a fifth, one query per request), the HTTP server and the Go runtime the
rest. Fixed on the way, from 5.6 ms of avis CPU per response
(about 250 responses/s): the survey's definition decoded from JSON on every
page (15% of the CPU), statements parsed again on every call (19%), the
information notice cut into blocks and rendered on every page (7%, and a
third of the rendering), the tenant read on every page; then (sixth
session) marking a grouped commit's invitations answered, which walked
every sent invitation of the tenant on SQLite (16% of the CPU), and two
statements where one does (the invitation and its response, the claim of a
response and its answers). On PostgreSQL
($(per postgres avis_cpu_s) ms of avis CPU and $(per postgres postgres_cpu_s) ms of the server's per response, about
15 statements) the server shares the cores and every statement is a
round trip. Four groups of submissions now commit side by side, meeting
only at the end of their transactions for the tenant's feed counter (from
about 250 responses/s with one group at a time); the server's CPU is now
the larger share.
$lostline
<!-- answer:end -->
MD
)
file=docs/benchmarks.md
if grep -q '<!-- answer:start -->' "$file"; then
	awk -v s="$section" '/<!-- answer:start -->/{print s; skip=1} /<!-- answer:end -->/{skip=0; next} !skip' "$file" >"$tmp/b.md" && cp "$tmp/b.md" "$file"
else
	printf '\n%s\n' "$section" >>"$file"
fi
echo "$section"
