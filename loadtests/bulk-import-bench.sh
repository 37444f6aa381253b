#!/usr/bin/env bash
# Bulk-import benchmark (issue 3): POST /users/bulk against `psql \copy`, side by
# side in one run, then the server's peak memory while importing a large file.
#
#   loadtests/bulk-import-bench.sh            # 100,000 rows x 3 rounds, then 1,000,000
#   ROWS=20000 BIG_ROWS=0 REPEAT=1 loadtests/bulk-import-bench.sh   # a quick look
#   BASELINE_BIN=/path/to/older/shortener loadtests/bulk-import-bench.sh
#       # also imports each round into a second server built from other code
#       # (its own database), for before/after figures from the same run
#
# Needs: a release build (cargo build --release -p shortener), PostgreSQL at
# PG_URL_BASE (trust auth), psql, curl, python3. Creates its own databases
# (bench_bulk_http_$$, bench_bulk_copy_$$) and drops them at the end, also on
# failure; starts one `shortener` on a free local port and stops it the same way.
#
# Fairness of the comparison: the `\copy` target is a scratch table of the same
# shape as `users` with the same three unique indexes (primary key on id, unique
# username, unique e-mail); `users` carries one more column (email_key, the
# case-folded e-mail its unique index is on). Both targets are emptied
# (TRUNCATE) before each round, and the two loads of a round run back to back on
# the same file so machine noise hits both alike. Medians of REPEAT rounds.
set -euo pipefail
export PGOPTIONS="-c client_min_messages=warning"

ROWS=${ROWS:-100000}
BIG_ROWS=${BIG_ROWS:-1000000}
REPEAT=${REPEAT:-3}
WORKERS=${WORKERS:-2}
PG_URL_BASE=${PG_URL_BASE:-postgres://postgres@127.0.0.1:5432}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/lib.sh"
BIN=${SHORTENER_BIN:-$ROOT/target/release/shortener}
[[ -x $BIN ]] || { echo "no $BIN: cargo build --release -p shortener" >&2; exit 1; }

HTTP_DB=bench_bulk_http_$$
BASE_DB=bench_bulk_base_$$
COPY_DB=bench_bulk_copy_$$
BASE_PID=
WORK=$(mktemp -d /tmp/bulk-bench.XXXXXX)
SERVER_PID=
SAMPLER_PID=

stop_server() {
    if [[ -n $BASE_PID ]]; then
        kill -TERM "$BASE_PID" 2>/dev/null || true
        wait "$BASE_PID" 2>/dev/null || true
        BASE_PID=
    fi
    if [[ -n $SERVER_PID ]]; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
    fi
}
cleanup() {
    [[ -n $SAMPLER_PID ]] && kill "$SAMPLER_PID" 2>/dev/null || true
    stop_server
    psql -q "$PG_URL_BASE/postgres" -c "DROP DATABASE IF EXISTS $HTTP_DB WITH (FORCE)" \
        -c "DROP DATABASE IF EXISTS $COPY_DB WITH (FORCE)" \
        -c "DROP DATABASE IF EXISTS $BASE_DB WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# A users CSV of $1 rows: unique ids, usernames and e-mails (already lower case,
# so the e-mail and its key are the same string for both targets).
generate() {
    python3 - "$1" "$2" <<'PY'
import sys, datetime
rows, path = int(sys.argv[1]), sys.argv[2]
base = datetime.datetime(2024, 1, 1)
with open(path, "w") as out:
    out.write("id,username,email,created_at\n")
    for i in range(1, rows + 1):
        at = (base + datetime.timedelta(seconds=i * 17)).strftime("%Y-%m-%d %H:%M:%S")
        out.write(f"{i},user{i:07d},user{i:07d}@bench.example.com,{at}\n")
PY
}

# launch BINARY DATABASE LOG: a shortener on a free port; sets LAUNCHED_PORT/PID.
launch() {
    LAUNCHED_PORT=$(free_ports 0)
    BIND=127.0.0.1:$LAUNCHED_PORT DATABASE_URL=$PG_URL_BASE/$2 WORKERS=$WORKERS LOG_LEVEL=info \
        REPLICA_NAME=bulk-bench "$1" >"$3" 2>&1 &
    LAUNCHED_PID=$!
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$LAUNCHED_PORT/health" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "shortener did not become healthy; its log:" >&2; tail -20 "$3" >&2; exit 1
}
start_server() {
    launch "$BIN" "$HTTP_DB" "$WORK/server.log"
    PORT=$LAUNCHED_PORT SERVER_PID=$LAUNCHED_PID
}

# POSTs file $1; prints the seconds it took; fails unless every row was imported.
http_import() {
    local file=$1 expect=$2 port=${3:-$PORT} out seconds imported
    out=$(curl -sS -o "$WORK/report.json" -w '%{http_code} %{time_total}' \
        -F "file=@$file;type=text/csv" "http://127.0.0.1:$port/users/bulk")
    seconds=${out#* }
    imported=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["imported"], r["rejected"])' "$WORK/report.json")
    [[ ${out%% *} == 200 && $imported == "$expect 0" ]] || {
        echo "import failed: HTTP ${out%% *}, imported/rejected $imported; $(head -c 300 "$WORK/report.json")" >&2; exit 1; }
    echo "$seconds"
}

copy_load() {
    local file=$1 t0 t1
    t0=$(now)
    psql -q -v ON_ERROR_STOP=1 "$PG_URL_BASE/$COPY_DB" \
        -c "\\copy users_copy (id, username, email, created_at) FROM '$file' WITH (FORMAT csv, HEADER true)"
    t1=$(now)
    echo "$t1 - $t0" | bc -l
}

echo "# bulk-import benchmark, $(date -u +%FT%TZ), $(nproc) cores, $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "# WORKERS=$WORKERS; PostgreSQL $(psql -tAq "$PG_URL_BASE/postgres" -c 'SHOW server_version'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
psql -q "$PG_URL_BASE/postgres" -c "CREATE DATABASE $HTTP_DB" -c "CREATE DATABASE $COPY_DB" >/dev/null
psql -q -v ON_ERROR_STOP=1 "$PG_URL_BASE/$COPY_DB" -c "
    CREATE TABLE users_copy (
        id         BIGINT PRIMARY KEY,
        username   VARCHAR(150) NOT NULL UNIQUE,
        email      VARCHAR(254) NOT NULL UNIQUE,
        created_at TIMESTAMP NOT NULL)" >/dev/null

generate "$ROWS" "$WORK/users.csv"
echo "# file: $ROWS rows, $(stat -c %s "$WORK/users.csv") bytes"
start_server   # migrates the fresh database
if [[ -n ${BASELINE_BIN:-} ]]; then
    psql -q "$PG_URL_BASE/postgres" -c "CREATE DATABASE $BASE_DB" >/dev/null
    launch "$BASELINE_BIN" "$BASE_DB" "$WORK/baseline.log"
    BASE_PORT=$LAUNCHED_PORT BASE_PID=$LAUNCHED_PID
fi

printf '%-6s %12s %12s %12s %12s %7s\n' round http_s http_rows/s copy_s copy_rows/s ratio
for round in $(seq "$REPEAT"); do
    psql -q "$PG_URL_BASE/$HTTP_DB" -c "TRUNCATE users RESTART IDENTITY CASCADE" >/dev/null
    psql -q "$PG_URL_BASE/$COPY_DB" -c "TRUNCATE users_copy" >/dev/null
    # Alternate which goes first, so neither always gets the quieter moment.
    if (( round % 2 )); then
        h=$(http_import "$WORK/users.csv" "$ROWS"); c=$(copy_load "$WORK/users.csv")
    else
        c=$(copy_load "$WORK/users.csv"); h=$(http_import "$WORK/users.csv" "$ROWS")
    fi
    hr=$(echo "$ROWS / $h" | bc -l); cr=$(echo "$ROWS / $c" | bc -l); ratio=$(echo "$hr / $cr" | bc -l)
    printf '%-6s %12.3f %12.0f %12.3f %12.0f %7.2f\n' "$round" "$h" "$hr" "$c" "$cr" "$ratio"
    echo "$hr" >>"$WORK/http"; echo "$cr" >>"$WORK/copy"; echo "$ratio" >>"$WORK/ratio"
    if [[ -n ${BASELINE_BIN:-} ]]; then
        psql -q "$PG_URL_BASE/$BASE_DB" -c "TRUNCATE users RESTART IDENTITY CASCADE" >/dev/null
        b=$(http_import "$WORK/users.csv" "$ROWS" "$BASE_PORT"); br=$(echo "$ROWS / $b" | bc -l)
        printf '%-6s %12.3f %12.0f %12s %12s %7.2f   (baseline build)\n' "$round" "$b" "$br" - - "$(echo "$br / $cr" | bc -l)"
        echo "$br" >>"$WORK/base"; echo "$br / $cr" | bc -l >>"$WORK/base_ratio"
    fi
done
n_http=$(psql -tAq "$PG_URL_BASE/$HTTP_DB" -c "SELECT count(*) FROM users")
n_copy=$(psql -tAq "$PG_URL_BASE/$COPY_DB" -c "SELECT count(*) FROM users_copy")
[[ $n_http == "$ROWS" && $n_copy == "$ROWS" ]] || { echo "row counts: http $n_http, copy $n_copy" >&2; exit 1; }
printf 'median %12s %12.0f %12s %12.0f %7.2f   (target ratio >= 0.50; Flask: ~500 rows/s)\n' \
    - "$(median <"$WORK/http")" - "$(median <"$WORK/copy")" "$(median <"$WORK/ratio")"
[[ -n ${BASELINE_BIN:-} ]] && printf 'median %12s %12.0f %12s %12s %7.2f   (baseline build)\n' \
    - "$(median <"$WORK/base")" - - "$(median <"$WORK/base_ratio")"

if (( BIG_ROWS > 0 )); then
    stop_server
    psql -q "$PG_URL_BASE/$HTTP_DB" -c "TRUNCATE users RESTART IDENTITY CASCADE" >/dev/null
    generate "$BIG_ROWS" "$WORK/big.csv"
    rm -f "$WORK/users.csv"
    start_server   # a fresh process, so VmHWM is this import's peak
    idle_kb=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status")
    # Sample VmRSS every 50 ms too, to show the curve, not only the peak.
    ( while kill -0 "$SERVER_PID" 2>/dev/null; do
          awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null; sleep 0.05
      done ) >"$WORK/rss" &
    SAMPLER_PID=$!
    h=$(http_import "$WORK/big.csv" "$BIG_ROWS")
    hwm_kb=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status")
    kill "$SAMPLER_PID" 2>/dev/null || true; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=
    sampled_kb=$(sort -n "$WORK/rss" | tail -1)
    printf '%s rows (%s bytes) in %.2f s = %.0f rows/s; server RSS idle %.1f MiB, peak (VmHWM) %.1f MiB, highest 50 ms sample %.1f MiB (target < 100 MB = 95.4 MiB)\n' \
        "$BIG_ROWS" "$(stat -c %s "$WORK/big.csv")" "$h" "$(echo "$BIG_ROWS / $h" | bc -l)" \
        "$(echo "$idle_kb / 1024" | bc -l)" "$(echo "$hwm_kb / 1024" | bc -l)" "$(echo "$sampled_kb / 1024" | bc -l)"
fi
