#!/usr/bin/env bash
# The node as a daemon (issue 4, item 1): a village laptop's cdht serve dials its commune hub
# by itself, soon after a local commit; `cdht sync --now` and `cdht status` reach it through
# its control socket; SIGHUP reloads the configuration (a bad file keeps the running one); an
# upstream that is down is a failure with backoff, said by status; a second serve on the same
# home is refused; SIGTERM stops it cleanly. Open-mode replicas (the trust scenarios cover
# admission). Every process started here is killed by its PID; every wait is bounded.
set -u
. "$(dirname "$0")/lib.sh"

H=$T/hub
A=$T/lapA
HUB_PID=
LAP_PID=
PORT=$((47000 + $$ % 4000))

stop_pid() { # stop_pid PID: TERM, then wait for it
    [ -n "$1" ] && kill "$1" 2>/dev/null && wait "$1" 2>/dev/null
}
trap 'stop_pid "$LAP_PID"; stop_pid "$HUB_PID"; rm -rf "$T"' EXIT

# wait_for FILE TEXT: at most 10 s for TEXT to appear in FILE.
wait_for() {
    for _ in $(seq 100); do
        grep -qF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# start_hub: the hub serves on 127.0.0.1 (moving to the next port when one is in use).
start_hub() {
    for _ in 1 2 3 4 5; do
        "$CDHT" serve --home "$H" --listen "tcp://127.0.0.1:$PORT" 2>"$T/hub.err" &
        HUB_PID=$!
        wait_for "$T/hub.err" "listening on" && return 0
        stop_pid "$HUB_PID"
        HUB_PID=
        PORT=$((PORT + 2))
    done
    echo "  setup: the hub's cdht serve did not start" >&2
    exit 3
}

new_home hub 44001
new_home lapA 4400101
must cdht unit add --home "$H" --code 44001 --kind commune --name "Quỳnh Lưu"
start_hub
HK=$(key_of "$H")

# The laptop's configuration: a quick rhythm so that the test does not wait minutes.
cat >"$T/lap.conf" <<CONF
[node]
listen = tcp://127.0.0.1:$((PORT + 1))
log_level = info
[sync]
upstream = tcp://127.0.0.1:$PORT $HK
interval_s = 3600
jitter_percent = 0
backoff_initial_s = 1
backoff_max_s = 2
[limits]
session_timeout_s = 5
CONF

# --- bad configurations are refused before anything starts -------------------------------
expect_exit 2 cdht serve --home "$A" --upstream "tcp://127.0.0.1:$PORT"
expect_stderr_contains "--upstream: upstream: \"tcp://127.0.0.1:$PORT\" has no key after it"
expect_exit 2 cdht serve --home "$A" --upstream "tcp://127.0.0.1:$PORT AAAA"
expect_stderr_contains "is not a device key (44 characters of base64)"
expect_exit 3 cdht sync --home "$A" --now
expect_stderr_contains "no cdht serve answers on $A/control.sock"

# --- the laptop's node pulls at start, then pushes soon after a local commit ---------------
"$CDHT" serve --home "$A" --config "$T/lap.conf" 2>"$T/lap.err" &
LAP_PID=$!
wait_for "$T/lap.err" "listening on" && pass || fail "the laptop's serve did not start"
wait_for "$T/lap.err" "SYNC-UP sync with tcp://127.0.0.1:$PORT: 1 leaves pulled" && pass ||
    fail "the first sync after start did not pull the hub's unit"
# The operator's command writes while the node runs (serve holds the lock only while working).
must cdht unit add --home "$A" --code 4400101 --kind village --name "Thôn 1" --parent 44001
must cdht person add --home "$A" --name "Nguyễn Văn An" --birth-year 1980 --gender male \
    --unit 4400101
wait_for "$T/lap.err" "pushed" && pass || fail "no sync after the local commits"
for _ in $(seq 100); do
    [ "$("$CDHT" person list --home "$H" --format csv | tail -n +2 | wc -l)" = 1 ] && break
    sleep 0.1
done
expect_ok cdht person list --home "$H" --format csv
expect_eq 2 "$(wc -l <"$OUT")" "the hub holds the laptop's person (header and one row)"

# --- sync --now and status through the control socket -------------------------------------
expect_ok cdht sync --home "$A" --now
expect_stderr_contains "synced with tcp://127.0.0.1:$PORT"
expect_ok cdht status --home "$A"
expect_stdout_contains "node:          running (pid $LAP_PID), serving on tcp://127.0.0.1:$((PORT + 1))"
expect_stdout_contains "upstream:      tcp://127.0.0.1:$PORT: next sync in"
expect_stdout_contains "last: ok"
expect_stdout_contains "logs at peers: 2 equal, 0 differ"
expect_ok cdht status --home "$A" --json
expect_stdout_contains "\"node\": {\"pid\": $LAP_PID"
expect_stdout_contains "\"last\": \"ok\""
# The hub tells the session the laptop dialled in.
expect_ok cdht status --home "$H"
expect_stdout_contains "peer:          from $(key_of "$A"): last attempt"
expect_stdout_contains "node:          running (pid $HUB_PID)"

# --- hostile peers on the hub's port: it drops them and goes on serving ---------------------
# (Raw TCP through bash's /dev/tcp. An SP connection opens with 0x00 "SP" 0x00, the protocol
# (REQ = 48) and two zero bytes; each message is a 64-bit length, then a REQ's request id.)
exec 3<>"/dev/tcp/127.0.0.1/$PORT" # connects and never says a word
exec 4<>"/dev/tcp/127.0.0.1/$PORT" # not the SP protocol at all
printf 'GET / HTTP/1.0\r\n\r\n' >&4
exec 5<>"/dev/tcp/127.0.0.1/$PORT" # a message of 2^63 bytes (over NN_RCVMAXSIZE)
printf '\x00SP\x00\x00\x30\x00\x00\x7f\xff\xff\xff\xff\xff\xff\xff' >&5
exec 6<>"/dev/tcp/127.0.0.1/$PORT" # a well-framed request that is garbage, then never reads
printf '\x00SP\x00\x00\x30\x00\x00\x00\x00\x00\x00\x00\x00\x00\x0e\x80\x00\x00\x01garbage!!!' >&6
wait_for "$T/hub.err" "SYNC-GARBAGE a message that is not a channel message (10 bytes) dropped" &&
    pass || fail "the garbage request was not dropped with its reason"
expect_ok cdht sync --home "$A" --now
expect_stderr_contains "synced with tcp://127.0.0.1:$PORT"
kill -0 "$HUB_PID" && pass || fail "the hub died"
exec 3>&- 4>&- 5>&- 6>&-

# --- a second serve on the same home is refused; the first goes on ------------------------
expect_exit 3 cdht serve --home "$A" --listen "tcp://127.0.0.1:$((PORT + 3))"
expect_stderr_contains "another cdht serve is running on this home"
kill -0 "$LAP_PID" && pass || fail "the first serve died"

# --- SIGHUP: a bad file keeps the running configuration; a good one is applied ------------
cp "$T/lap.conf" "$T/lap.good"
printf '[sync]\ninterval_s = often\n' >"$T/lap.conf"
kill -HUP "$LAP_PID"
wait_for "$T/lap.err" "SERVE-RELOAD the configuration was not reloaded" && pass ||
    fail "a bad reload was not refused"
grep -qF "line 2: interval_s: \"often\" is not a whole number; the running one is kept" \
    "$T/lap.err" && pass || fail "the refused reload does not say why"
expect_ok cdht sync --home "$A" --now
# A good file with no upstream: applied, and --now says there is nothing to sync with.
sed '/^upstream/d' "$T/lap.good" >"$T/lap.conf"
kill -HUP "$LAP_PID"
wait_for "$T/lap.err" "configuration reloaded: listening on tcp://127.0.0.1:$((PORT + 1)), 0 upstreams" &&
    pass || fail "the good reload was not applied"
expect_exit 2 cdht sync --home "$A" --now
expect_stderr_contains "the node has no upstream to sync with"
cp "$T/lap.good" "$T/lap.conf"
kill -HUP "$LAP_PID"
wait_for "$T/lap.err" "listening on tcp://127.0.0.1:$((PORT + 1)), 1 upstreams" && pass ||
    fail "the upstream did not come back"

# --- the hub goes down: a failure, said as one, with backoff -----------------------------
stop_pid "$HUB_PID"
HUB_PID=
expect_exit 3 cdht sync --home "$A" --now
expect_stderr_contains "failed with tcp://127.0.0.1:$PORT: timed out: no answer to the handshake"
expect_stderr_contains "0 of 1 upstreams synced"
expect_ok cdht status --home "$A"
expect_stdout_contains "failures in a row: backing off"
expect_stdout_contains "FAILED: try again: timed out: no answer to the handshake"

# --- SIGTERM: a clean stop, the control socket removed ------------------------------------
kill -TERM "$LAP_PID"
wait "$LAP_PID"
expect_eq 0 $? "serve's exit code after SIGTERM"
LAP_PID=
[ ! -e "$A/control.sock" ] && pass || fail "the control socket was left behind"
expect_ok cdht status --home "$A"
expect_stdout_contains "node:          not running"

finish
