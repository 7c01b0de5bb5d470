#!/usr/bin/env bash
# Sync over the network on 127.0.0.1 (issue 4): a commune hub serves; a village laptop
# certified by it pushes its people and pulls the hub's units; an uncertified device and a
# revoked one are refused at the handshake; a sync to nobody times out as a failure, never
# "done". Every process started here is killed by its PID; every wait is bounded.
set -u
. "$(dirname "$0")/lib.sh"

R=$T/root
H=$T/hub
A=$T/lapA
X=$T/stranger
# A port per run (two runs at once rarely meet); the serve loop below moves on when in use.
PORT=$((43000 + $$ % 4000))

new_home root 44 --root
must cdht whoami --home "$R"
VK=$(tail -n 1 "$OUT")
new_home hub 44001 --trust-root "$VK"
new_home lapA 4400101 --trust-root "$VK"
new_home stranger 4400101 --trust-root "$VK"
must cdht unit add --home "$R" --code 44 --kind province --name "Nghệ An"
must cdht unit add --home "$R" --code 44001 --kind commune --name "Quỳnh Lưu" --parent 44
must cdht enroll request --home "$H" --role hub
must cdht cert issue --home "$R" "$(out)" --role hub --unit 44001
must cdht bundle export --home "$R" -o "$T/r.bundle"
must cdht bundle import --home "$H" "$T/r.bundle"
must cdht unit add --home "$H" --code 4400101 --kind village --name "Thôn 1" --parent 44001
must cdht enroll request --home "$A"
must cdht cert issue --home "$H" "$(out)" --role writer
must cdht bundle export --home "$H" -o "$T/h.bundle"
must cdht bundle import --home "$A" "$T/h.bundle"
must cdht bundle import --home "$X" "$T/r.bundle"
HK=$(key_of "$H")
a_key=$(key_of "$A")

# --- the laptop pushes its people -----------------------------------------------------------
must cdht person add --home "$A" --name "Nguyễn Văn An" --birth-year 1980 --gender male --unit 4400101
must cdht person add --home "$A" --name "Trần Thị Bình" --birth-year 1985 --gender female --unit 4400101
start_serve "$H"
expect_ok cdht sync --home "$A" --peer "tcp://127.0.0.1:$PORT" --peer-key "$HK" --timeout 20
expect_stderr_contains "2 pushed (1 logs co-signed there)"
# The hub witnessed the laptop's checkpoint in the same session; the laptop keeps the
# cosignature (C2SP tlog-cosignature), verified against its own checkpoint.
expect_ok cdht witness list --home "$A"
expect_stdout_contains "$(key_of "$A") $HK 2 "
# The same sync again: nothing to move, still a success.
expect_ok cdht sync --home "$A" --peer "tcp://127.0.0.1:$PORT" --peer-key "$HK" --timeout 20
expect_stderr_contains "0 leaves pulled (0 held), 0 pushed"
# The hub's operator works on the same home while it serves (serve holds the write lock only
# while it answers).
expect_ok cdht person list --home "$H"
expect_stdout_contains "Nguyễn Văn An"
expect_stdout_contains "Trần Thị Bình"

# --- and pulls what the hub wrote since ------------------------------------------------------
must cdht unit add --home "$H" --code 4400102 --kind village --name "Thôn 2" --parent 44001
expect_ok cdht sync --home "$A" --peer "tcp://127.0.0.1:$PORT" --peer-key "$HK" --timeout 20
expect_stderr_contains "1 leaves pulled"
expect_ok cdht unit list --home "$A"
expect_stdout_contains "Thôn 2"

# --- refusals at the handshake ---------------------------------------------------------------
expect_exit 2 cdht sync --home "$X" --peer "tcp://127.0.0.1:$PORT" --peer-key "$HK" --timeout 20
expect_stderr_contains "sync failed: the callee refused this device (not certified there, or revoked)"
# The wrong callee key: the handshake cannot complete.
expect_exit 2 cdht sync --home "$A" --peer "tcp://127.0.0.1:$PORT" --peer-key "$a_key" --timeout 3
must cdht cert revoke --home "$H" --subject "$a_key" --last-index 1 --reason "laptop stolen"
expect_exit 2 cdht sync --home "$A" --peer "tcp://127.0.0.1:$PORT" --peer-key "$HK" --timeout 20
expect_stderr_contains "the callee refused this device"
stop_serve
grep -q "SYNC-REFUSED device $a_key refused: revoked" "$T/serve.err" && pass ||
    fail "the hub's log names the refused key and why"
expect_output_lacks "Nguyễn Văn An"

# --- nobody there: a timeout is a failure -----------------------------------------------------
expect_exit 3 cdht sync --home "$A" --peer "tcp://127.0.0.1:$PORT" --peer-key "$HK" --timeout 1
expect_stderr_contains "sync failed: timed out: no answer to the handshake in 1.0 s (the peer is down or unreachable)"
# Status tells the truth: the last attempt failed, the last success is kept.
expect_ok cdht status --home "$A"
expect_stdout_contains "peer:          tcp://127.0.0.1:$PORT: last attempt"
expect_stdout_contains "FAILED: try again"
expect_stdout_lacks "last success never"
expect_ok cdht status --home "$A" --json
expect_stdout_contains '"result": "try again", "error": "timed out: no answer to the handshake in 1.0 s (the peer is down or unreachable)"'
expect_ok cdht status --home "$X"
expect_stdout_contains "last success never"

expect_exit 2 cdht sync --home "$A" --peer "tcp://127.0.0.1:$PORT"
expect_stderr_contains "--peer URL and --peer-key KEY are required"
finish
