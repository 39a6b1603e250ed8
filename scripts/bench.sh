#!/usr/bin/env bash
# Runs the benchmarks the issues name, on SQLite and on a throwaway
# PostgreSQL, and writes the figures with the date and the machine into
# docs/benchmarks.md. Usage: scripts/bench.sh (after make build).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
out=docs/benchmarks.md
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; [ -n "${AVIS_PG_DIR:-}" ] && scripts/pg.sh stop "$AVIS_PG_DIR"; true' EXIT

eval "$(scripts/pg.sh start)"
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
cores=$(nproc)
mem=$(free -g | awk '/Mem:/ {print $2}')
day=$(date -u +%Y-%m-%d)

# gobench PKG REGEX DB CPU: prints "name value unit" lines of custom metrics and ns/op.
gobench() {
	AVIS_TEST_DB=$3 go test -run '^$' -bench "$2" -benchtime 2s -count 1 -cpu "$4" "$1" 2>/dev/null | grep '^Benchmark' || true
}

metric() { # metric LINE UNIT -> the number before UNIT
	awk -v u="$2" '{for (i=2;i<=NF;i++) if ($i==u) {printf "%.0f", $(i-1); exit}}' <<<"$1"
}

echo "vault..." >&2
seal=$(gobench ./internal/vault 'BenchmarkSealOpen100$' sqlite 1)
bidx=$(gobench ./internal/vault 'BenchmarkBlindIndex$' sqlite 1)
echo "audit, jobs, subject keys..." >&2
declare -A rec ins subj
for d in sqlite postgres; do
	rec[$d]=$(metric "$(gobench ./internal/audit 'BenchmarkRecord$' $d 2)" "entries/s")
	ins[$d]=$(metric "$(gobench ./internal/jobs 'BenchmarkInsertTx$' $d 2)" "jobs/s")
	subj[$d]=$(metric "$(gobench ./internal/vault 'BenchmarkSubjectColdCreate$' $d 2)" "ns/op")
done
hash=$(metric "$(gobench ./internal/account 'BenchmarkHashPassword$' sqlite 2)" "ns/op")

# serve_figures DBURL: cold start to /readyz (ms) on existing data, and idle RSS (MB) after 5 s.
serve_figures() {
	local dburl=$1 data=$tmp/data-$RANDOM port=18471 pid t0 t1 ms rss
	AVIS_DATABASE_URL=$dburl ./bin/avis migrate --data "$data" >/dev/null 2>&1
	AVIS_DATABASE_URL=$dburl AVIS_LOG_LEVEL=warn ./bin/avis serve --demo --data "$data" --addr 127.0.0.1:$port >/dev/null 2>&1 &
	pid=$!
	until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.05; done
	kill -TERM $pid; wait $pid || true
	# Cold start: a new process on existing data, to the first 200 from /readyz.
	t0=$(date +%s%N)
	AVIS_DATABASE_URL=$dburl AVIS_LOG_LEVEL=warn ./bin/avis serve --data "$data" --addr 127.0.0.1:$port >/dev/null 2>&1 &
	pid=$!
	until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.005; done
	t1=$(date +%s%N)
	ms=$(( (t1 - t0) / 1000000 ))
	sleep 5
	rss=$(awk '/VmRSS/ {printf "%.1f", $2/1024}' /proc/$pid/status)
	kill -TERM $pid; wait $pid || true
	echo "$ms $rss"
}
echo "serve on SQLite..." >&2
read -r lite_ms lite_rss < <(serve_figures "")
pgdb="${AVIS_TEST_POSTGRES_URL/\/postgres?/\/avis_bench?}"
psql "$AVIS_TEST_POSTGRES_URL" -qc 'CREATE DATABASE avis_bench' >/dev/null
echo "serve on PostgreSQL..." >&2
read -r pg_ms pg_rss < <(serve_figures "$pgdb")

cat >"$tmp/head.md" <<MD
# Benchmarks

Written by \`make bench\` (scripts/bench.sh) on $day, on this machine:
$cores cores ($cpu), $mem GiB of memory, Go $(go env GOVERSION | sed 's/^go//').
PostgreSQL is the Debian server started by the script on loopback (fsync off,
as in the tests). Each Go benchmark runs for 2 s.

## Foundation (issue 2)

| Figure | SQLite | PostgreSQL | Target |
|---|---|---|---|
| Vault: seal + open of a 100-byte field, per second on **one core** | $(metric "$seal" "pairs/s") | (no database involved) | ≥ 500,000 |
| Vault: blind indexes per second on one core | $(metric "$bidx" "indexes/s") | (no database involved) | |
| Vault: new subject key (created, sealed, stored), µs each | $(( ${subj[sqlite]} / 1000 )) | $(( ${subj[postgres]} / 1000 )) | |
| Audit log: entries appended per second (one per transaction) | ${rec[sqlite]} | ${rec[postgres]} | |
| Job queue: jobs enqueued per second (one per transaction) | ${ins[sqlite]} | ${ins[postgres]} | |
| Password hash (argon2id, 64 MiB, 1 pass), ms each | $(( hash / 1000000 )) | | ≈ 50–100 |
| \`avis serve\`: cold start to the first 200 from \`/readyz\`, ms | $lite_ms | $pg_ms | < 1,000 on SQLite |
| \`avis serve\`: idle RSS 5 s after start (demo data), MB | $lite_rss | $pg_rss | < 50 |
MD
# The sections other scripts write (<!-- name:start --> … <!-- name:end -->)
# and what follows them stay as they are.
{
	cat "$tmp/head.md"
	if [ -f "$out" ]; then awk '/<!-- [a-z]+:start -->/{p=1} p' "$out" | sed '1s/^/\n/'; fi
} >"$tmp/all.md"
cp "$tmp/all.md" "$out"
echo "wrote $out" >&2
cat "$tmp/head.md"
