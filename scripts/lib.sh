# Shell helpers the test and benchmark scripts share. Source it:
#   . "$(dirname "$0")/../../scripts/lib.sh"   (or the path from your script)

# free_ports PORT...: one free port on 127.0.0.1 per argument: the port named
# when nobody listens there (0: any), else one the kernel picks. All stay bound
# until all are picked, so they differ (ports picked one at a time can repeat:
# the kernel hands a released port out again).
free_ports() {
    python3 - "$@" <<'EOF'
import socket, sys
held = []
for wanted in map(int, sys.argv[1:]):
    for port in (wanted, 0):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            s.close()
            continue
        held.append(s)
        break
print(*(s.getsockname()[1] for s in held))
EOF
}

# start_watchdog SECONDS: bounds the whole run. After SECONDS it logs (with the
# script's `log`) and sends TERM to the script, whose `trap 'exit 130' TERM`
# then runs its cleanup (every command of the script must be bounded too, so
# that it gets to act on the signal). Sets WATCHDOG to the watchdog's PID, for
# the cleanup to stop it.
start_watchdog() {
    (
        trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
        sleep "$1" &
        sleeper=$!
        wait "$sleeper"
        log "gave up after ${1}s"
        kill -TERM $$ 2>/dev/null
    ) &
    WATCHDOG=$!
}
