#!/usr/bin/env bash
# make bench-import: generates a 1,000,000-row, 8-column CSV and imports it
# through the CLI into an empty database, then again (all unchanged), on
# SQLite and on a throwaway PostgreSQL. Writes rows/s and peak RSS into the
# import section of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
rows=${ROWS:-1000000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; [ -n "${AVIS_PG_DIR:-}" ] && scripts/pg.sh stop "$AVIS_PG_DIR"; true' EXIT
[ -x /usr/bin/time ] || { [ "$(id -u)" = 0 ] && apt-get install -y -qq time >/dev/null; }
go build -o "$tmp/avis" ./cmd/avis
go run ./scripts/gencsv -rows "$rows" >"$tmp/contacts.csv"
eval "$(scripts/pg.sh start)"

# run DBURL LABEL: prints "rows/s peakMB" for a fresh import and a re-import.
run() {
	local dburl=$1 data=$tmp/data-$RANDOM out
	AVIS_DATABASE_URL=$dburl "$tmp/avis" tenant create --slug bench --name Bench --data "$data" >/dev/null 2>&1
	for pass in fresh again; do
		out=$(AVIS_DATABASE_URL=$dburl /usr/bin/time -f 'PEAK %M' "$tmp/avis" import contacts "$tmp/contacts.csv" \
			--tenant bench --data "$data" --map store=attr:store 2>&1 | grep -E 'rows/s|PEAK')
		echo "$out" >&2
		rate=$(sed -nE 's/.*\(([0-9]+) rows\/s\).*/\1/p' <<<"$out")
		peak=$(sed -nE 's/PEAK ([0-9]+)/\1/p' <<<"$out")
		echo "$rate $(( peak / 1024 ))"
	done
}
echo "SQLite..." >&2
mapfile -t lite < <(run "")
psql "$AVIS_TEST_POSTGRES_URL" -qc 'CREATE DATABASE avis_bench_import' >/dev/null
echo "PostgreSQL..." >&2
mapfile -t pg < <(run "${AVIS_TEST_POSTGRES_URL/\/postgres?/\/avis_bench_import?}")

# The floors: what a row costs before the database (one core), and what
# storing the rows alone costs each database.
# metric OUTPUT UNIT: the value of a benchmark's metric, rounded.
metric() { awk -v u="$2" '{for (i = 2; i <= NF; i++) if ($i == u) printf "%d\n", $(i-1)}' <<<"$1" | tail -1; }
echo "floors..." >&2
out=$(go test ./internal/contact -run '^$' -bench 'ImportRowWithoutStorage$' -benchtime 1000000x -cpu 1)
echo "$out" >&2
nostore=$(metric "$out" rows/s/core)
out=$(go test ./internal/contact -run '^$' -bench 'ImportStorageOnly$' -benchtime "${rows}x" -timeout 30m)
echo "$out" >&2
storelite=$(metric "$out" rows/s)
out=$(AVIS_TEST_DB=postgres AVIS_TEST_REQUIRE_POSTGRES=1 go test ./internal/contact -run '^$' -bench 'ImportStorageOnly$' -benchtime "${rows}x" -timeout 30m)
echo "$out" >&2
storepg=$(metric "$out" rows/s)

read -r l1r l1m <<<"${lite[0]}"; read -r l2r l2m <<<"${lite[1]}"
read -r p1r p1m <<<"${pg[0]}"; read -r p2r p2m <<<"${pg[1]}"
section=$(cat <<MD
<!-- import:start -->
## Contact import (issue 3)

\`make bench-import\` on $(date -u +%Y-%m-%d), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')):
$rows rows of 8 columns (CRM id, email, phone, first and last name, language,
country, store) imported through \`avis import contacts\` with sealing, blind
indexes, dedupe and the lawful-basis ledger on; peak RSS of the CLI process.

| Run | SQLite rows/s | SQLite peak RSS | PostgreSQL rows/s | PostgreSQL peak RSS | Target |
|---|---|---|---|---|---|
| Empty database | $l1r | $l1m MB | $p1r | $p1m MB | ≥ 100,000 rows/s, < 200 MB |
| Same file again (all unchanged) | $l2r | $l2m MB | $p2r | $p2m MB | |
| Floor: storing only (\`BenchmarkImportStorageOnly\`, $rows contacts) | $storelite | | $storepg | | |
| Floor: everything but storage, one core (\`BenchmarkImportRowWithoutStorage\`) | $nostore a core, so at most $((nostore * $(nproc))) on $(nproc) cores | | | | |

The two floors are \`go test -bench\` in internal/contact. "Storing only"
writes each new contact as the import does, with nothing read, checked or
sealed: its row (email and phone blind indexes, random 32-byte keys), its
data key and its lawful-basis entry, 10,000 a transaction, and no lookup.
"Everything but storage" is the rest of a row's work on one core: reading
the CSV, checking and normalising the fields (libphonenumber's validation
most), the blind indexes and sealing the personal fields, without making
the contact's key. An import does both, so it is slower than either floor:
the target is out of reach on this machine while storing the rows alone
is slower than it.
<!-- import:end -->
MD
)
f=docs/benchmarks.md
if grep -q '<!-- import:start -->' "$f"; then
	awk -v s="$section" '/<!-- import:start -->/{print s; skip=1} /<!-- import:end -->/{skip=0; next} !skip' "$f" >"$tmp/b.md" && cp "$tmp/b.md" "$f"
else
	printf '\n%s\n' "$section" >>"$f"
fi
echo "$section"
