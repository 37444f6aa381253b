#!/usr/bin/env bash
# What the kept list totals (migration create_list_totals) buy and cost, side by
# side in one run on PostgreSQL alone, with pgbench:
#   - the X-Total-Count of GET /urls (all live URLs, and the active ones) counted
#     over URLS rows, against the kept total that replaces the count;
#   - the insert of one URL (what POST /urls writes to `urls`) without and with
#     the triggers that keep the totals.
# Two scratch databases hold the same rows: one migrated to the schema before
# the totals, one to the whole schema. Rounds alternate between them so machine
# noise hits both alike; prints each round and the medians.
#
#   loadtests/list-totals-bench.sh                   # 1,000,000 URLs, 3 rounds
#   URLS=100000 REPEAT=1 loadtests/list-totals-bench.sh
#
# Needs psql and pgbench, PostgreSQL at PG_URL_BASE (trust auth). Creates
# bench_totals_{before,after}_$$ and drops them at the end, also on failure.
set -euo pipefail
export PGOPTIONS="-c client_min_messages=warning"

URLS=${URLS:-1000000}
REPEAT=${REPEAT:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-8}
PG_URL_BASE=${PG_URL_BASE:-postgres://postgres@127.0.0.1:5432}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MIGRATIONS=$ROOT/crates/store-postgres/migrations
BEFORE=bench_totals_before_$$
AFTER=bench_totals_after_$$
WORK=$(mktemp -d /tmp/totals-bench.XXXXXX)

cleanup() {
    for db in "$BEFORE" "$AFTER"; do
        psql -q "$PG_URL_BASE/postgres" -c "DROP DATABASE IF EXISTS $db" || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

sql() { psql -q -v ON_ERROR_STOP=1 "$PG_URL_BASE/$1" "${@:2}"; }

# The schema before the totals, the same rows in both, then the totals in one.
sql postgres -c "CREATE DATABASE $BEFORE"
for migration in "$MIGRATIONS"/*/; do
    case $migration in *create_list_totals/) continue ;; esac
    sql "$BEFORE" -1 -f "$migration/up.sql"
done
sql "$BEFORE" \
    -c "INSERT INTO users (username, email, email_key, created_at)
        SELECT 'u' || g, 'u' || g || '@example.com', 'u' || g || '@example.com', now()
        FROM generate_series(1, 10000) g" \
    -c "INSERT INTO urls (user_id, short_code, original_url, is_active, created_at, updated_at, deleted_at)
        SELECT 1 + g % 10000, 'c' || g, 'https://example.com/page/' || g, g % 10 <> 0, now(), now(),
               CASE WHEN g % 50 = 0 THEN now() END
        FROM generate_series(1, $URLS) g" \
    -c "VACUUM ANALYZE"
sql postgres -c "CREATE DATABASE $AFTER TEMPLATE $BEFORE"
started=$(date +%s.%N)
sql "$AFTER" -1 -f "$MIGRATIONS"/*_create_list_totals/up.sql
echo "migration on $URLS URLs: $(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s"
sql "$AFTER" -c "VACUUM ANALYZE list_totals"

# pgbench reads `:name` as a variable: chr(58) spells the colon of a list name.
echo "SELECT count(*) FROM urls WHERE deleted_at IS NULL;" >"$WORK/count_all.sql"
echo "SELECT count(*) FROM urls WHERE deleted_at IS NULL AND is_active;" >"$WORK/count_active.sql"
echo "SELECT coalesce(sum(n), 0) FROM list_totals
      WHERE list IN ('urls' || chr(58) || 'is_active=true', 'urls' || chr(58) || 'is_active=false');" \
    >"$WORK/kept_all.sql"
echo "SELECT coalesce(sum(n), 0) FROM list_totals WHERE list = 'urls' || chr(58) || 'is_active=true';" \
    >"$WORK/kept_active.sql"
echo "INSERT INTO urls (short_code, original_url, is_active, created_at, updated_at)
      VALUES (md5(random()::text), 'https://example.com/new', true, now(), now());" >"$WORK/create.sql"

# bench DATABASE SCRIPT CLIENTS: "<ms per statement> <statements per second>".
bench() {
    pgbench -n -M prepared -c "$3" -j "$3" -T "$SECONDS_PER_RUN" -f "$WORK/$2.sql" "$PG_URL_BASE/$1" 2>/dev/null |
        awk '/latency average/ { ms = $4 } /^tps/ { tps = $3 } END { printf "%s %.0f\n", ms, tps }'
}

declare -A results
for round in $(seq 1 "$REPEAT"); do
    for case in "count_all $BEFORE 1" "kept_all $AFTER 1" "count_active $BEFORE 1" \
        "kept_active $AFTER 1" "create $BEFORE 4" "create $AFTER 4"; do
        read -r script db clients <<<"$case"
        read -r ms tps < <(bench "$db" "$script" "$clients")
        name="$script@${db%_$$}"
        results[$name]+="$ms $tps;"
        printf 'round %s  %-36s %8s ms  %8s/s\n' "$round" "$name" "$ms" "$tps"
    done
done

median() { tr ';' '\n' | awk -v f="$1" 'NF { print $f }' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "medians of $REPEAT rounds ($URLS URLs, $SECONDS_PER_RUN s a run):"
for name in "${!results[@]}"; do
    printf '  %-36s %8s ms  %8s/s\n' "$name" "$(median 1 <<<"${results[$name]}")" "$(median 2 <<<"${results[$name]}")"
done | sort
before=$(median 2 <<<"${results[create@bench_totals_before]}")
after=$(median 2 <<<"${results[create@bench_totals_after]}")
# Statistics reach pg_stat_user_tables within a second or so.
sleep 1
sql "$AFTER" -At -c "SELECT 'list_totals: ' || n_tup_hot_upd || ' of ' || n_tup_upd || ' updates HOT, '
                            || pg_relation_size('list_totals') / 8192 || ' page(s)'
                     FROM pg_stat_user_tables WHERE relname = 'list_totals'"
echo "URL inserts with the totals kept: $(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.2f", a / b }') of the rate without"
