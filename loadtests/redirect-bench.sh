#!/usr/bin/env bash
# Redirect benchmark (issue 4): GET /{short_code} of `shortener` on PostgreSQL +
# Redis with click recording on, against the framework's ceiling (bench-ceiling:
# bare actix-web answering a static 302), side by side in one run.
#
#   loadtests/redirect-bench.sh                   # 3 rounds x 10 s per scenario
#   REPEAT=1 DURATION=5s BREAKDOWN=0 loadtests/redirect-bench.sh   # a quick look
#
# Scenarios, each at 64 and 256 connections (wrk -t2 --latency), interleaved so
# machine noise hits them alike; REPEAT rounds, medians printed at the end:
#   ceiling         bench-ceiling, one static path (wrk without a script)
#   ceiling-lua     bench-ceiling, the random-code Lua script (the same client
#                   cost as `random`: wrk shares the server's two cores)
#   hot             shortener, one code
#   random          shortener, a random code of 10,000 per request (Redis warmed
#                   with a HEAD pass over every code just before, so this is the
#                   cached steady state, not the first minute after a deploy)
# Every shortener run is checked: the click rows it added to `events` must equal
# the 302s the server completed (shortener_http_requests_total{method="GET",
# route="/{short_code}",status="302"}, read once the run is quiet). wrk's own
# request count is printed beside them; it can be lower, because requests in
# flight when wrk stops at -d are still answered (and their clicks written) by
# the server but never read by wrk.
#
# BASELINE_BIN=path/to/other/shortener adds hot-baseline and random-baseline to
# every round: the same scenarios on another build, for before/after figures.
#
# BREAKDOWN=1 (default) adds per-component runs at 256 connections: HEAD (resolve
# through Redis, no click), the same GET with no Redis (every lookup from
# PostgreSQL), the same GET on the in-memory store (no I/O at all: the service's
# own code, middleware, logging and metrics), and GET with LOG_LEVEL=warning
# (no request log line), and GET with synchronous_commit=off on the click
# writer's connections (not shipped: it shows the cost of each batch's WAL
# flush); then the CPU split of one hot run, redis-benchmark of the MGET a hit makes and pgbench
# of the click INSERT at the batch size the run showed.
#
# Needs: release builds (cargo build --release -p shortener -p bench-ceiling),
# wrk (apt-get install -y wrk), redis-server, redis-benchmark, psql, pgbench,
# curl, python3. Starts a private redis-server and its own servers on free local
# ports, creates database bench_redirect_$$; stops and drops all of it at exit.
set -euo pipefail
export PGOPTIONS="-c client_min_messages=warning"

REPEAT=${REPEAT:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64 256}
WORKERS=${WORKERS:-2}
CODES=${CODES:-10000}
BREAKDOWN=${BREAKDOWN:-1}
PG_URL_BASE=${PG_URL_BASE:-postgres://postgres@127.0.0.1:5432}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/lib.sh"
BIN=${SHORTENER_BIN:-$ROOT/target/release/shortener}
CEILING_BIN=${CEILING_BIN:-$ROOT/target/release/bench-ceiling}
LUA=$ROOT/loadtests/wrk/codes.lua
for b in "$BIN" "$CEILING_BIN"; do
    [[ -x $b ]] || { echo "no $b: cargo build --release -p shortener -p bench-ceiling" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }

DB=bench_redirect_$$
DB_URL=$PG_URL_BASE/$DB
WORK=$(mktemp -d /tmp/redirect-bench.XXXXXX)
PIDS=()

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    psql -q "$PG_URL_BASE/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    [[ -n ${KEEP_WORK:-} ]] && echo "# raw output kept in $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
wait_http() { # URL LOG
    for _ in $(seq 150); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done
    echo "no answer from $1; log:" >&2; tail -20 "$2" >&2; exit 1
}

# start_shortener NAME [VAR=value...]: a shortener on a free port; sets PORT_<NAME>.
start_shortener() {
    local name=$1 port bin=$BIN; shift
    [[ $name == baseline ]] && bin=$BASELINE_BIN
    port=$(free_ports 0)
    env BIND=127.0.0.1:$port DATABASE_URL=$DB_URL REDIS_URL=redis://127.0.0.1:$REDIS_PORT \
        CACHE_PREFIX=bench: WORKERS=$WORKERS LOG_LEVEL=info REPLICA_NAME=$name "$@" \
        "$bin" >/dev/null 2>"$WORK/$name.log" &
    PIDS+=($!)
    printf -v "PORT_$name" %s "$port"
    printf -v "PID_$name" %s "$!"
    wait_http "http://127.0.0.1:$port/health/live" "$WORK/$name.log"
}

# ---- services -------------------------------------------------------------
REDIS_PORT=$(free_ports 0)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
PIDS+=($!)
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

psql -q "$PG_URL_BASE/postgres" -c "CREATE DATABASE $DB" >/dev/null
CEILING_PORT=$(free_ports 0)
BIND=127.0.0.1:$CEILING_PORT WORKERS=$WORKERS "$CEILING_BIN" >"$WORK/ceiling.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$CEILING_PORT/warm" "$WORK/ceiling.log"
start_shortener main   # migrates the fresh database
SVC=http://127.0.0.1:$PORT_main
SVC_BASES=
if [[ -n ${BASELINE_BIN:-} ]]; then   # A/B: another build of the service, same rounds
    start_shortener baseline
    BASE=http://127.0.0.1:$PORT_baseline
    SVC_BASES=$BASE
fi

# ---- data: one owner, one hot code, $CODES more --------------------------
psql -q -v ON_ERROR_STOP=1 "$DB_URL" >/dev/null <<SQL
INSERT INTO users (username, email, email_key, created_at)
VALUES ('bench', 'bench@example.com', 'bench@example.com', now());
INSERT INTO urls (user_id, short_code, original_url, title, created_at, updated_at)
SELECT 1, code, 'https://example.com/page/' || code, 'bench ' || code, now(), now()
FROM (SELECT 'hot0001' AS code
      UNION ALL SELECT 'r' || lpad(i::text, 6, '0') FROM generate_series(1, $CODES) AS i) AS c;
SQL
psql -tAq "$DB_URL" -c "SELECT short_code FROM urls WHERE short_code LIKE 'r%'" >"$WORK/codes.txt"
[[ $(wc -l <"$WORK/codes.txt") == "$CODES" ]] || { echo "seeding failed" >&2; exit 1; }
HOT=hot0001
echo "$HOT" >"$WORK/hot.txt"
[[ $(curl -s -o /dev/null -w '%{http_code}' -I "$SVC/$HOT") == 302 ]] || { echo "hot code does not redirect" >&2; exit 1; }

# ---- measuring ------------------------------------------------------------
metrics() { curl -sf "$1/metrics"; }
# metric TEXT NAME LABEL-SUBSTRING...: the sum of matching samples (0 if none).
metric() {
    local text=$1 name=$2; shift 2
    awk -v name="$name" -v want="$*" '
        BEGIN { n = split(want, w, " ") }
        substr($1, 1, length(name)) == name && (length($1) == length(name) || substr($1, length(name) + 1, 1) == "{") { ok = 1; for (i = 1; i <= n; i++) if (index($1, w[i]) == 0) ok = 0; if (ok) s += $2 }
        END { printf "%.0f\n", s }' <<<"$text"
}
REDIRECTS='method="GET" route="/{short_code}" status="302"'
clicks() { psql -tAq "$DB_URL" -c "SELECT count(*) FROM events WHERE event_type = 'click'"; }
quiet() { # BASE: until nothing is in flight (but this scrape) and no click is queued
    local m
    for _ in $(seq 100); do
        m=$(metrics "$1")
        [[ $(metric "$m" shortener_http_requests_in_flight) -le 1 &&
           $(metric "$m" shortener_click_queue_depth) -eq 0 ]] && return 0
        sleep 0.1
    done
    echo "server $1 did not go quiet" >&2; exit 1
}
to_ms() { # wrk's 1.23ms / 456.00us / 1.02s / 2.00m
    awk '{ v = $1; u = v; sub(/^[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
           f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : 1;
           printf "%.2f\n", v * f }' <<<"$1"
}

RESULTS=$WORK/results.tsv
printf 'round\tscenario\tconns\trps\tp50_ms\tp99_ms\tnon3xx\tsock_err\twrk_requests\t302s\tclick_rows\tmean_batch\tcache_misses\n' >"$RESULTS"

# run ROUND SCENARIO CONNS BASE_URL PATH [-- lua args]: one wrk run, one line.
run() {
    local round=$1 scenario=$2 conns=$3 base=$4 path=$5; shift 5
    local out=$WORK/wrk-$scenario-$conns-$round.txt is_svc=0 m0 m1 c0=0 c1=0
    [[ $base == "$SVC" || ${SVC_BASES:-} == *"$base"* ]] && is_svc=1
    if (( is_svc )); then quiet "$base"; m0=$(metrics "$base"); c0=$(clicks); fi
    local opts=() args=()
    while (( $# )) && [[ $1 != -- ]]; do opts+=("$1"); shift; done
    (( $# )) && { shift; args=(-- "$@"); }
    wrk -t2 -c"$conns" -d"$DURATION" --latency "${opts[@]}" "$base$path" "${args[@]}" >"$out" 2>&1 ||
        { echo "wrk failed ($scenario, $conns connections):" >&2; cat "$out" >&2; exit 1; }
    local rps p50 p99 non3xx sock requests d302=- drows=- batch=- misses=-
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
    p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
    p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
    non3xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out"); non3xx=${non3xx:-0}
    sock=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$out"); sock=${sock:-0}
    requests=$(awk '/requests in/ {print $1}' "$out")
    if (( is_svc )); then
        quiet "$base"; m1=$(metrics "$base")
        d302=$(( $(metric "$m1" shortener_http_requests_total $REDIRECTS) - $(metric "$m0" shortener_http_requests_total $REDIRECTS) ))
        local bs=$(( $(metric "$m1" shortener_click_batch_size_sum) - $(metric "$m0" shortener_click_batch_size_sum) ))
        local bc=$(( $(metric "$m1" shortener_click_batch_size_count) - $(metric "$m0" shortener_click_batch_size_count) ))
        (( bc > 0 )) && batch=$(echo "scale=1; $bs / $bc" | bc)
        misses=$(( $(metric "$m1" shortener_cache_operations_total 'outcome="miss"') - $(metric "$m0" shortener_cache_operations_total 'outcome="miss"') ))
        if [[ $base != "http://127.0.0.1:${PORT_memory:-none}" ]]; then   # all but the memory store share $DB
            c1=$(clicks); drows=$(( c1 - c0 ))
        fi
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$scenario" "$conns" \
        "$rps" "$p50" "$p99" "$non3xx" "$sock" "$requests" "$d302" "$drows" "$batch" "$misses" | tee -a "$RESULTS"
}
# CPU seconds used so far by PIDs (and their threads), or by the whole machine.
ticks_of() { local t=0 p; for p in "$@"; do [[ -r /proc/$p/stat ]] && t=$(( t + $(awk '{print $14 + $15}' "/proc/$p/stat") )); done; echo "$t"; }
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
# cpu_split BASE PATH SERVER_PID: where the two cores went during one 256-connection run.
cpu_split() {
    local base=$1 path=$2 spid=$3 hz pg0 pg1 s0 s1 r0 r1 m0 m1 w out=$WORK/cpu-split.txt
    hz=$(getconf CLK_TCK)
    # The backends serving this benchmark's database (pooled: the same all run long).
    pgpids() { psql -tAq "$PG_URL_BASE/postgres" -c "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity WHERE datname = '$DB'"; }
    local backends; backends=$(pgpids)
    m0=$(machine_ticks); s0=$(ticks_of "$spid"); r0=$(ticks_of "$REDIS_PID"); pg0=$(ticks_of $backends)
    # `times` in the subshell: the CPU time of its child, wrk.
    ( wrk -t2 -c256 -d"$DURATION" "$base$path" >"$out" 2>&1; times >"$WORK/wrk-times" )
    m1=$(machine_ticks); s1=$(ticks_of "$spid"); r1=$(ticks_of "$REDIS_PID"); pg1=$(ticks_of $backends)
    w=$(awk -v hz="$hz" 'NR == 2 { n = split($0, f, /[ms ]+/); printf "%d", (f[1]*60 + f[2] + f[3]*60 + f[4]) * hz }' "$WORK/wrk-times")
    echo "$hz $(( m1 - m0 )) $(( s1 - s0 )) $(( pg1 - pg0 )) $(( r1 - r0 )) $w $(awk '/^Requests\/sec:/ {print $2}' "$out")"
}
warm_codes() { # BASE: resolve every code once (HEAD: no click) so Redis holds them all
    wrk -t2 -c16 -d"${WARM:-3s}" -s "$LUA" "$1/" -- "$WORK/codes.txt" HEAD cycle >/dev/null 2>&1
}

echo "# redirect benchmark, $(date -u +%FT%TZ), $(nproc) cores shared by wrk, servers, PostgreSQL and Redis"
echo "# commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'); WORKERS=$WORKERS for both servers; wrk -t2 -d$DURATION; $REPEAT rounds; load average $(cut -d' ' -f1-3 /proc/loadavg)"
# Warm-up: connections, pools, caches; not measured.
wrk -t2 -c64 -d2s "http://127.0.0.1:$CEILING_PORT/$HOT" >/dev/null
wrk -t2 -c64 -d2s "$SVC/$HOT" >/dev/null
warm_codes "$SVC"
[[ -n $SVC_BASES ]] && wrk -t2 -c64 -d2s "$BASE/$HOT" >/dev/null
echo "# cache after warm-up: $(redis-cli -p "$REDIS_PORT" dbsize) keys"

for round in $(seq "$REPEAT"); do
    (( ${MAIN:-1} )) || break   # MAIN=0: only the breakdown
    for c in $CONNECTIONS; do
        run "$round" ceiling "$c" "http://127.0.0.1:$CEILING_PORT" "/$HOT"
        run "$round" ceiling-lua "$c" "http://127.0.0.1:$CEILING_PORT" / -s "$LUA" -- "$WORK/codes.txt"
        run "$round" hot "$c" "$SVC" "/$HOT"
        warm_codes "$SVC"
        run "$round" random "$c" "$SVC" / -s "$LUA" -- "$WORK/codes.txt"
        if [[ -n $SVC_BASES ]]; then
            run "$round" hot-baseline "$c" "$BASE" "/$HOT"
            warm_codes "$BASE"
            run "$round" random-baseline "$c" "$BASE" / -s "$LUA" -- "$WORK/codes.txt"
        fi
    done
done

if (( BREAKDOWN )); then
    start_shortener noredis REDIS_URL=
    start_shortener memory DATABASE_URL= REDIS_URL=
    start_shortener quietlog LOG_LEVEL=warning
    # Not a configuration we ship: it shows what the WAL flush of each click batch costs.
    start_shortener asynccommit "DATABASE_URL=$DB_URL?options=-c%20synchronous_commit%3Doff"
    # The in-memory store needs its own copy of the hot code.
    curl -sf -o /dev/null -XPOST "http://127.0.0.1:$PORT_memory/urls" -H 'content-type: application/json' \
        -d "{\"original_url\": \"https://example.com/page/$HOT\", \"short_code\": \"$HOT\"}"
    extra="http://127.0.0.1:$PORT_noredis http://127.0.0.1:$PORT_memory http://127.0.0.1:$PORT_quietlog http://127.0.0.1:$PORT_asynccommit"
    SVC_BASES="$SVC_BASES $extra"
    for b in $extra; do wrk -t2 -c64 -d2s "$b/$HOT" >/dev/null; done
    for r in $(seq "$REPEAT"); do
        round=b$r   # its own rounds: each ratio pairs with this round's ceiling
        run "$round" ceiling 256 "http://127.0.0.1:$CEILING_PORT" "/$HOT"
        run "$round" hot 256 "$SVC" "/$HOT"
        run "$round" hot-head 256 "$SVC" "/$HOT" -s "$LUA" -- "$WORK/hot.txt" HEAD
        run "$round" hot-noredis 256 "http://127.0.0.1:$PORT_noredis" "/$HOT"
        run "$round" hot-memory 256 "http://127.0.0.1:$PORT_memory" "/$HOT"
        run "$round" hot-quietlog 256 "http://127.0.0.1:$PORT_quietlog" "/$HOT"
        run "$round" hot-asynccommit 256 "http://127.0.0.1:$PORT_asynccommit" "/$HOT"
    done
fi

# ---- summary ---------------------------------------------------------------
echo
echo "## medians of $REPEAT rounds (ratio: median of the per-round ratios to that round's ceiling run)"
python3 - "$RESULTS" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
def med(xs): return statistics.median(xs) if xs else float("nan")
ceil = {(r["round"], r["conns"], r["scenario"]): float(r["rps"]) for r in rows if r["scenario"].startswith("ceiling")}
seen = []
for r in rows:
    k = (r["scenario"], r["conns"])
    if k not in seen: seen.append(k)
print(f'{"scenario":14} {"conns":>5} {"req/s":>9} {"p50 ms":>7} {"p99 ms":>7} {"non-3xx":>7} {"sockerr":>7} {"vs ceiling":>10} {"vs c-lua":>8} {"302s":>9} {"clicks":>9} {"equal":>5} {"batch":>6} {"misses":>6}')
for scen, conns in seen:
    rs = [r for r in rows if r["scenario"] == scen and r["conns"] == conns]
    f = lambda key: med([float(r[key]) for r in rs])
    ratio = lambda c: med([float(r["rps"]) / ceil[(r["round"], conns, c)] for r in rs if (r["round"], conns, c) in ceil])
    svc = rs[0]["302s"] != "-"
    equal = all(r["302s"] == r["click_rows"] for r in rs) if rs[0]["click_rows"] != "-" else None
    tot = lambda key: sum(int(r[key]) for r in rs) if svc and rs[0][key] != "-" else "-"
    print(f'{scen:14} {conns:>5} {f("rps"):9.0f} {f("p50_ms"):7.2f} {f("p99_ms"):7.2f} '
          f'{sum(int(r["non3xx"]) for r in rs):7d} {sum(int(r["sock_err"]) for r in rs):7d} '
          f'{ratio("ceiling"):10.2f} {ratio("ceiling-lua"):8.2f} {tot("302s")!s:>9} {tot("click_rows")!s:>9} '
          f'{"-" if equal is None else ("yes" if equal else "NO"):>5} '
          f'{(med([float(r["mean_batch"]) for r in rs if r["mean_batch"] != "-"]) if svc else float("nan")):6.1f} '
          f'{tot("cache_misses")!s:>6}')
PY

if (( BREAKDOWN )); then
    echo
    echo "## components, measured alone"
    # The keys a hit reads (crates/cache-redis): the entry and its version.
    redis-cli -p "$REDIS_PORT" set "bench:version:link:$HOT" 1 >/dev/null
    echo "redis MGET of a hit (link + its version key), 64 clients:"
    redis-benchmark -p "$REDIS_PORT" -c 64 -n 200000 -q MGET "bench:link:$HOT" "bench:version:link:$HOT" | tr '\r' '\n' | grep -v '^$' | tail -1
    batch=$(awk -F'\t' '$2 == "hot" && $3 == 256 && $12 != "-" {print $12}' "$RESULTS" | median | awk '{printf "%d", ($1 < 1) ? 1 : $1}')
    url_id=$(psql -tAq "$DB_URL" -c "SELECT id FROM urls WHERE short_code = '$HOT'")
    cat >"$WORK/click.sql" <<SQL
INSERT INTO events (url_id, user_id, event_type, timestamp, details)
SELECT c.url_id, u.user_id, 'click', c.at, c.details
FROM unnest(array_fill($url_id::bigint, ARRAY[$batch]), array_fill(now()::timestamp, ARRAY[$batch]),
            array_fill('{"short_code": "$HOT", "user_agent": "wrk"}'::jsonb, ARRAY[$batch]))
     WITH ORDINALITY AS c(url_id, at, details, n)
JOIN urls u ON u.id = c.url_id ORDER BY c.n;
SQL
    echo
    echo "## where the CPU goes: hot code, 256 connections, $DURATION (CPU seconds; 2 cores x duration available)"
    read -r hz total server pg redis wrkt rps <<<"$(cpu_split "$SVC" "/$HOT" "$PID_main")"
    awk -v hz="$hz" -v t="$total" -v s="$server" -v p="$pg" -v r="$redis" -v w="$wrkt" -v rps="$rps" 'BEGIN {
        printf "machine %.1f s busy: shortener %.1f s (%.0f%%), PostgreSQL backends of the benchmark database %.1f s (%.0f%%), redis %.1f s (%.0f%%), wrk %.1f s (%.0f%%), everything else (other PostgreSQL processes, other users of the machine) %.1f s (%.0f%%); %s req/s\n",
            t/hz, s/hz, 100*s/t, p/hz, 100*p/t, r/hz, 100*r/t, w/hz, 100*w/t, (t-s-p-r-w)/hz, 100*(t-s-p-r-w)/t, rps }'
    echo "PostgreSQL click INSERT of $batch rows (the median batch of 'hot' at 256), one client, 5 s:"
    pgbench -n -c1 -T5 -f "$WORK/click.sql" "$DB_URL" 2>/dev/null | grep -E 'latency average|^tps'
fi
