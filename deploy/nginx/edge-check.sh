#!/usr/bin/env bash
# The edge claims of docs/reliability.md ("Overload, abuse and bad input at the
# edge"), against the real Nginx configuration in front of two real replicas
# (deploy/local/stack up, on free ports, without Redis or Prometheus):
#   - every error Nginx answers itself is JSON {"error": "..."}: 413 for a body
#     over BODY_LIMIT_BYTES (and a body of exactly the limit reaches the app),
#     400 for a malformed request line or header, 414, 501 and 505 for a URI,
#     transfer encoding or HTTP version Nginx refuses, 429 beyond the burst, 504 when
#     both replicas hang (SIGSTOP), 502 when both are stopped (SIGTERM), with
#     Retry-After: 1 on 429, 502 and 504;
#   - /metrics is a 404 JSON through Nginx;
#   - the replicas' own errors (404, 400) pass through byte for byte;
#   - X-Request-Id is on every answer exactly once: the client's when it sent one,
#     otherwise a fresh one, and the replica logged the same id.
# One PASS or FAIL line per check; exits 1 if any failed.
#
# Usage: deploy/nginx/edge-check.sh [path/to/shortener]   (default target/debug/shortener)
# Builds nothing. Needs nginx, envsubst, curl, python3, psql/dropdb and
# PostgreSQL on 127.0.0.1:5432 (user postgres, trust; EDGE_PG_URL names another
# server). The stack runs in a scratch STACK_RUN_DIR on a scratch database; it is
# stopped, the database dropped and the directory deleted on exit, also on
# failure (when a check failed, the directory is kept and its path printed: the
# logs and the answers are there). Takes about 25 s, 15 of them waiting for the
# 504; gives up after EDGE_TIMEOUT seconds (120; the step under way, 30 s at
# most, finishes first).
set -euo pipefail

cd "$(dirname "$0")/../.."
repo=$PWD
. scripts/lib.sh
BIN=${1:-target/debug/shortener}
PG_URL=${EDGE_PG_URL:-postgres://postgres@127.0.0.1:5432}
TIMEOUT=${EDGE_TIMEOUT:-120}
# Small enough to test cheaply; the rate and burst are high enough for the few
# requests of the checks before the burst (about 8; the burst is checked after
# them), low enough for 80 requests in a row to overflow it.
BODY_LIMIT=1024
RATE=20
BURST=20

log() { printf 'edge: %s\n' "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

[ -x "$BIN" ] || fail "no shortener binary at $BIN (cargo build -p shortener)"
BIN=$(realpath "$BIN")
for tool in nginx envsubst curl python3 psql dropdb; do
    command -v "$tool" >/dev/null || fail "$tool not found"
done

RUN=$(mktemp -d -t shortener-edge.XXXXXX)
WORK=$RUN/answers
mkdir -p "$WORK"
DB="shortener_edge_$$"
STACK_STARTED=
FAILED=0
WATCHDOG=
stack() { STACK_RUN_DIR=$RUN "$repo/deploy/local/stack" "$@"; }

# The PID of a replica of our stack, or nothing.
replica_pid() {
    local pid
    pid=$(cat "$RUN/pids/$1.pid" 2>/dev/null) || return 0
    if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$(basename "$BIN")"; then
        echo "$pid"
    fi
}

cleanup() {
    local status=$? name pid
    [ -n "$WATCHDOG" ] && kill "$WATCHDOG" 2>/dev/null && wait "$WATCHDOG" 2>/dev/null
    if [ -n "$STACK_STARTED" ]; then
        # A replica the 504 check left stopped could not act on the SIGTERM.
        for name in replica-1 replica-2; do
            pid=$(replica_pid "$name")
            [ -n "$pid" ] && kill -CONT "$pid" 2>/dev/null
        done
        stack down >>"$RUN/stack.log" 2>&1 || log "stack down failed; see $RUN/stack.log"
    fi
    dropdb --if-exists --force --maintenance-db="$PG_URL/postgres" "$DB" 2>/dev/null ||
        log "could not drop database $DB"
    if [ "$status" -ne 0 ]; then
        log "logs: $RUN/logs, answers: $WORK, stack output: $RUN/stack.log"
    else
        rm -rf "$RUN"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The whole run is bounded (every command below is bounded too).
start_watchdog "$TIMEOUT"

read -r PORT PORT1 PORT2 < <(free_ports 0 0 0)

# --- the stack -----------------------------------------------------------------
STACK_STARTED=1
if ! (
    export STACK_PORT=$PORT STACK_REPLICA_PORTS="$PORT1 $PORT2" STACK_PROMETHEUS=0 STACK_WAIT_SECS=30
    export SHORTENER_BIN=$BIN DATABASE_URL="$PG_URL/$DB" REDIS_URL=
    export NGINX_RATE_LIMIT=${RATE}r/s NGINX_RATE_BURST=$BURST BODY_LIMIT_BYTES=$BODY_LIMIT
    export SHUTDOWN_TIMEOUT_SECS=5 WORKERS=2 LOG_LEVEL=info
    stack up
) >"$RUN/stack.log" 2>&1; then
    tail -n 20 "$RUN/stack.log" >&2
    fail "deploy/local/stack up failed"
fi
EDGE=http://127.0.0.1:$PORT
log "Nginx on :$PORT, replicas on :$PORT1 and :$PORT2 (rate ${RATE}r/s, burst $BURST, body limit $BODY_LIMIT)"

# --- helpers -------------------------------------------------------------------

# check LABEL COMMAND...: one PASS or FAIL line; what COMMAND prints is the detail.
check() {
    local label=$1 out
    shift
    if out=$("$@" 2>&1); then
        echo "PASS $label${out:+ ($out)}"
    else
        echo "FAIL $label: ${out//$'\n'/; }"
        FAILED=$((FAILED + 1))
    fi
}

# fetch NAME CURL_ARGS...: the answer's headers and body to $WORK/NAME.{head,body}.
fetch() {
    local name=$1
    shift
    curl -sS --noproxy '*' --max-time 5 -H 'Expect:' -D "$WORK/$name.head" -o "$WORK/$name.body" "$@"
}

# raw NAME PORT REQUEST: REQUEST sent as it is on a fresh connection, the answer
# (read until Nginx closes, at most 5 s) to $WORK/NAME.{head,body}.
raw() {
    python3 - "$WORK/$1" "$2" "$3" <<'EOF'
import socket, sys
out, port, request = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
    s.sendall(request)
    data = b""
    try:
        while chunk := s.recv(65536):
            data += chunk
    except socket.timeout:
        pass
head, _, body = data.partition(b"\r\n\r\n")
open(out + ".head", "wb").write(head + b"\r\n")
open(out + ".body", "wb").write(body)
EOF
}

# expect NAME WANT...: the answer in $WORK/NAME.{head,body} against each WANT:
#   status=CODE  type=MEDIA_TYPE  json=JSON (the body parses to the same value)
#   header:NAME=VALUE (exactly once, with that value)  once:NAME=REGEX (exactly
#   once, matching)  absent:NAME  same=OTHER (same status, Content-Type and body
#   bytes as the answer OTHER). Prints what differs; fails if anything does.
expect() {
    python3 - "$WORK" "$@" <<'EOF'
import json, re, sys

work, name, *wants = sys.argv[1:]

def load(name):
    head = open(f"{work}/{name}.head", "rb").read().decode("latin-1")
    # The last block: curl also records interim answers (100 Continue).
    block = [b for b in re.split(r"\r?\n\r?\n", head) if b.strip()][-1]
    lines = block.splitlines()
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers.setdefault(key.strip().lower(), []).append(value.strip())
    return int(lines[0].split()[1]), headers, open(f"{work}/{name}.body", "rb").read()

status, headers, body = load(name)
problems = []
for want in wants:
    key, _, value = want.partition("=")
    kind, _, header = key.partition(":")
    values = headers.get(header.lower(), [])
    if key == "status" and status != int(value):
        problems.append(f"status {status}, not {value}")
    elif key == "type":
        types = [v.split(";")[0].strip() for v in headers.get("content-type", [])]
        if types != [value]:
            problems.append(f"Content-Type {types or 'none'}, not {value}")
    elif key == "json":
        try:
            got = json.loads(body)
        except ValueError:
            problems.append(f"body not JSON: {body[:100]!r}")
            continue
        if got != json.loads(value):
            problems.append(f"body {body[:100]!r}, not {value}")
    elif kind == "header" and values != [value]:
        problems.append(f"{header}: {values}, want exactly [{value!r}]")
    elif kind == "once" and (len(values) != 1 or not re.fullmatch(value, values[0])):
        problems.append(f"{header}: {values}, want exactly one matching {value}")
    elif kind == "absent" and values:
        problems.append(f"{header}: {values}, want none")
    elif key == "same":
        other_status, other_headers, other_body = load(value)
        if (status, headers.get("content-type"), body) != (other_status, other_headers.get("content-type"), other_body):
            problems.append(f"{status} {headers.get('content-type')} {body[:100]!r} differs from the replica's "
                            f"{other_status} {other_headers.get('content-type')} {other_body[:100]!r}")
if problems:
    sys.exit("; ".join(problems))
EOF
}

# The X-Request-Id of an answer.
request_id_of() {
    tr -d '\r' <"$WORK/$1.head" | awk 'tolower($1) == "x-request-id:" { print $2 }'
}

# Whether a replica logged a request with this id (it logs asynchronously).
replica_logged() {
    local id=$1 deadline=$((SECONDS + 3))
    until grep -qsF "\"request_id\":\"$id\"" "$RUN"/logs/replica-*.log; do
        [ "$SECONDS" -lt "$deadline" ] || { echo "no replica logged request_id $id"; return 1; }
        sleep 0.1
    done
}

# A JSON request body of exactly $1 bytes.
body_of_size() {
    python3 - "$1" <<'EOF'
import sys
head, tail = '{"original_url": "https://example.com/', '"}'
sys.stdout.write(head + "a" * (int(sys.argv[1]) - len(head) - len(tail)) + tail)
EOF
}

RID=edge-check-$$
ANY_ID='[0-9A-Za-z-]+'
FRESH_ID='[0-9a-f]{32}'

# --- 1. bodies over the limit (no request here counts against the rate) ---------
body_of_size $((BODY_LIMIT + 1)) >"$WORK/over.json"
body_of_size "$BODY_LIMIT" >"$WORK/at.json"

too_large() {
    fetch too-large -XPOST -H 'Content-Type: application/json' -H "X-Request-Id: $RID-413" \
        --data-binary @"$WORK/over.json" "$EDGE/urls" &&
        expect too-large status=413 type=application/json json='{"error": "Request body is too large"}' \
            "header:X-Request-Id=$RID-413" absent:Retry-After
}
check "413 JSON from Nginx for a $((BODY_LIMIT + 1))-byte body, with the client's X-Request-Id" too_large

same_limit() {
    fetch at-limit -XPOST -H 'Content-Type: application/json' --data-binary @"$WORK/at.json" "$EDGE/urls" &&
        expect at-limit status=201 "once:X-Request-Id=$FRESH_ID" &&
        fetch over-direct -XPOST -H 'Content-Type: application/json' --data-binary @"$WORK/over.json" \
            "http://127.0.0.1:$PORT1/urls" &&
        expect over-direct status=413 type=application/json
}
check "the app's limit is the same: $BODY_LIMIT bytes pass through Nginx (201), $((BODY_LIMIT + 1)) straight to a replica are its own 413" same_limit

# --- 2. /metrics ---------------------------------------------------------------
metrics() {
    fetch metrics "$EDGE/metrics" &&
        expect metrics status=404 type=application/json json='{"error": "Not found"}' "once:X-Request-Id=$FRESH_ID" &&
        fetch metrics-direct "http://127.0.0.1:$PORT1/metrics" && expect metrics-direct status=200
}
check "/metrics is 404 JSON through Nginx (200 on the replica itself)" metrics

internal() {
    fetch internal "$EDGE/.error" &&
        expect internal status=404 type=application/json json='{"error": "Not found"}' "once:X-Request-Id=$FRESH_ID"
}
check "Nginx's internal error location is 404 JSON from outside" internal

# --- 3. malformed requests: Nginx's own 400 --------------------------------------
refused() { # NAME STATUS MESSAGE REQUEST [X-Request-Id expected]
    raw "$1" "$PORT" "$4" &&
        expect "$1" status="$2" type=application/json json="{\"error\": \"$3\"}" \
            "once:X-Request-Id=${5:-$FRESH_ID}" absent:Retry-After
}
bad_request() { # NAME REQUEST [X-Request-Id expected]
    refused "$1" 400 "Bad request" "$2" "${3:-}"
}
check "400 JSON for a malformed header line, with the client's X-Request-Id" \
    bad_request bad-header $'GET /health HTTP/1.1\r\nHost: edge\r\nX-Request-Id: '"$RID-400"$'\r\nNo colon here\r\n\r\n' "$RID-400"
check "400 JSON for a malformed request line (lower-case method)" \
    bad_request bad-method $'get /health HTTP/1.1\r\nHost: edge\r\n\r\n'
check "400 JSON for a request line with a path above the root (/../)" \
    bad_request bad-path $'GET /../etc/passwd HTTP/1.1\r\nHost: edge\r\n\r\n'
check "400 JSON for an HTTP/1.1 request without Host" \
    bad_request no-host $'GET /health HTTP/1.1\r\nConnection: close\r\n\r\n'
check "400 JSON for a header over large_client_header_buffers (Nginx's 494)" \
    bad_request big-header $'GET /health HTTP/1.1\r\nHost: edge\r\nX-Big: '"$(printf '%09000d' 0)"$'\r\n\r\n'
check "414 JSON for a URI over large_client_header_buffers" \
    refused long-uri 414 "Request URI is too long" $'GET /'"$(printf '%09000d' 0)"$' HTTP/1.1\r\nHost: edge\r\n\r\n'
check "501 JSON for an unknown transfer encoding" \
    refused bad-encoding 501 "Transfer encoding not supported" $'POST /urls HTTP/1.1\r\nHost: edge\r\nTransfer-Encoding: gzip\r\n\r\n'
check "505 JSON for an HTTP version Nginx does not speak" \
    refused bad-version 505 "HTTP version not supported" $'GET /health HTTP/2.0\r\nHost: edge\r\n\r\n'

# --- 4. the replicas' own errors pass through untouched ---------------------------
passthrough() { # NAME EXPECTED_JSON CURL_ARGS... (path last, without the origin)
    local name=$1 json=$2 path=${*: -1}
    shift 2
    set -- "${@:1:$#-1}"
    fetch "$name" "$@" "$EDGE$path" && fetch "$name-direct" "$@" "http://127.0.0.1:$PORT1$path" &&
        expect "$name" same="$name-direct" "json=$json" "once:X-Request-Id=$FRESH_ID" absent:Retry-After
}
check "the replica's 404 for GET /nope42 passes through byte for byte" \
    passthrough nope '{"error": "URL not found"}' /nope42
check "the replica's 400 for invalid JSON passes through byte for byte (not Nginx's \"Bad request\")" \
    passthrough bad-json '{"error": "Request body is not valid JSON"}' \
    -XPOST -H 'Content-Type: application/json' --data-binary '{"original_url": ' /urls

# --- 5. X-Request-Id -----------------------------------------------------------
client_id() {
    fetch client-id -H "X-Request-Id: $RID-proxied" "$EDGE/health/live" &&
        expect client-id status=200 "header:X-Request-Id=$RID-proxied" && replica_logged "$RID-proxied"
}
check "a client's X-Request-Id comes back exactly once on a proxied answer, and reached the replica" client_id

fresh_id() {
    local first second
    fetch fresh-1 "$EDGE/health/live" && expect fresh-1 status=200 "once:X-Request-Id=$FRESH_ID" &&
        fetch fresh-2 "$EDGE/health/live" && expect fresh-2 status=200 "once:X-Request-Id=$FRESH_ID" || return 1
    first=$(request_id_of fresh-1) second=$(request_id_of fresh-2)
    [ "$first" != "$second" ] || { echo "the same id twice: $first"; return 1; }
    replica_logged "$first" && replica_logged "$second"
}
check "without one, a fresh X-Request-Id, exactly once, also the one the replica logged" fresh_id

# --- 6. beyond the burst: 429 --------------------------------------------------
burst() {
    python3 - "$PORT" 80 <<'EOF'
import collections, http.client, json, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
want = {"error": "Too many requests, retry shortly"}
statuses, problems = collections.Counter(), []
conn = None
for i in range(count):
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/health/live", headers={"X-Request-Id": f"edge-burst-{i}"})
    r = conn.getresponse()
    body = r.read()
    statuses[r.status] += 1
    if r.getheader("Connection", "").lower() == "close":
        conn.close()
        conn = None
    ids = r.headers.get_all("X-Request-Id") or []
    if ids != [f"edge-burst-{i}"]:
        problems.append(f"request {i}: X-Request-Id {ids}")
    if r.status == 429:
        retry = r.headers.get_all("Retry-After") or []
        ctype = r.getheader("Content-Type", "")
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        if retry != ["1"] or ctype != "application/json" or parsed != want:
            problems.append(f"request {i}: 429 with Retry-After {retry}, {ctype}, {body!r}")
    elif r.status != 200:
        problems.append(f"request {i}: status {r.status}")
summary = ", ".join(f"{n} x {s}" for s, n in sorted(statuses.items()))
if not statuses[429] or not statuses[200]:
    problems.append(f"want both 200 and 429: {summary}")
print("; ".join(problems[:5]) if problems else f"{count} requests in a row: {summary}")
sys.exit(1 if problems else 0)
EOF
}
check "a burst beyond NGINX_RATE_BURST=$BURST gets 429 JSON with Retry-After: 1" burst
burst_done=$SECONDS

# --- 7. replicas that hang: 504 ------------------------------------------------
# The burst left the bucket full (BURST requests); it empties at RATE a second,
# so BURST/RATE s later (rounded up, plus one) it is empty again: not a 429.
sleep_until=$((burst_done + (BURST + RATE - 1) / RATE + 1))
hang() {
    local name pid
    for name in replica-1 replica-2; do
        pid=$(replica_pid "$name")
        [ -n "$pid" ] || { echo "$name is not running"; return 1; }
        kill -STOP "$pid"
    done
    while [ "$SECONDS" -lt "$sleep_until" ]; do sleep 0.2; done
    # Their sockets still accept connections (the kernel's backlog), so Nginx
    # waits for an answer: proxy_read_timeout (15 s), then no time is left to
    # try the other replica (proxy_next_upstream_timeout 10 s).
    fetch hang --max-time 30 -H "X-Request-Id: $RID-504" "$EDGE/health/live"
    local status=$?
    for name in replica-1 replica-2; do kill -CONT "$(replica_pid "$name")"; done
    [ "$status" -eq 0 ] || return 1
    expect hang status=504 type=application/json \
        json='{"error": "The service took too long to answer, retry shortly"}' \
        header:Retry-After=1 "header:X-Request-Id=$RID-504"
}
check "504 JSON with Retry-After: 1 when both replicas hang (SIGSTOP)" hang

# --- 8. replicas gone: 502 -----------------------------------------------------
gone() {
    local name pid pids=() deadline
    for name in replica-1 replica-2; do
        pid=$(replica_pid "$name")
        [ -n "$pid" ] || { echo "$name is not running"; return 1; }
        kill -TERM "$pid"
        pids+=("$pid")
    done
    deadline=$((SECONDS + 15))
    for pid in "${pids[@]}"; do
        while kill -0 "$pid" 2>/dev/null; do
            [ "$SECONDS" -lt "$deadline" ] || { echo "replica $pid still running 15 s after SIGTERM"; return 1; }
            sleep 0.1
        done
    done
    local want='{"error": "Service temporarily unavailable, retry shortly"}'
    fetch gone-get -H "X-Request-Id: $RID-502" "$EDGE/abc123" &&
        expect gone-get status=502 type=application/json "json=$want" header:Retry-After=1 \
            "header:X-Request-Id=$RID-502" &&
        fetch gone-post -XPOST -H 'Content-Type: application/json' \
            --data-binary '{"original_url": "https://example.com/"}' "$EDGE/urls" &&
        expect gone-post status=502 type=application/json "json=$want" header:Retry-After=1 \
            "once:X-Request-Id=$FRESH_ID"
}
check "502 JSON with Retry-After: 1 (GET and POST) when both replicas are stopped (SIGTERM)" gone

if [ "$FAILED" -ne 0 ]; then
    log "$FAILED check(s) failed"
    exit 1
fi
log "all checks passed"
