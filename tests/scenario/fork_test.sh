#!/usr/bin/env bash
# A log with two histories over the network (issue 4, item 3: nothing lost, the truth told): a
# laptop restored from an old copy of its home writes again, so its device has signed two
# histories. Syncing it is refused for that log, by either side, whatever the sizes, and never
# reported as equal; the other logs still sync in the same session. Open mode (the trust
# scenario covers the equivocation proof a bundle carries). Every process is killed by its PID.
set -u
. "$(dirname "$0")/lib.sh"

H=$T/hub
A=$T/lapA
PORT=$((39000 + $$ % 3000))

new_home hub 44001
new_home lapA 4400101
must cdht unit add --home "$H" --code 44001 --kind commune --name "Quỳnh Lưu"
start_serve "$H"
HK=$(key_of "$H")
AK=$(key_of "$A")
sync_a() { # sync_a HOME: one sync of HOME with the hub
    run cdht sync --home "$1" --peer "tcp://127.0.0.1:$PORT" --peer-key "$HK" --timeout 20
}

must cdht unit add --home "$A" --code 4400101 --kind village --name "Thôn 1"
sync_a "$A"
expect_eq 0 "$RC" "the first sync"
# The laptop is copied (a backup), then both the original and the restored copy write.
cp -a "$A" "$T/restored"
R=$T/restored
must cdht person add --home "$A" --name "Nguyễn Văn An" --birth-year 1980 --gender male --unit 4400101
must cdht person add --home "$R" --name "Trần Thị Bình" --birth-year 1985 --gender female --unit 4400101
sync_a "$A"
expect_eq 0 "$RC" "the original pushes its second leaf"
hub_size=$(log_size "$H" "$AK")
expect_eq 2 "$hub_size" "the hub's copy of the laptop's log"

# Same size, other root: refused as a fork, never reported equal.
expect_exit 2 cdht sync --home "$R" --peer "tcp://127.0.0.1:$PORT" --peer-key "$HK" --timeout 20
expect_stderr_contains "sync failed: log $AK: a batch differs from the callee's at the same size: two histories of one log"
# Longer: the hub refuses the batch; it keeps its own history.
must cdht person add --home "$R" --name "Lê Văn Cường" --birth-year 1990 --gender male --unit 4400101
must cdht unit add --home "$H" --code 4400102 --kind village --name "Thôn 2" --parent 44001
expect_exit 2 cdht sync --home "$R" --peer "tcp://127.0.0.1:$PORT" --peer-key "$HK" --timeout 20
expect_stderr_contains "sync failed: log $AK: a batch refused by the callee: "
expect_eq 2 "$(log_size "$H" "$AK")" "the hub still holds the original's two leaves"
grep -qF "SYNC-PUSH a pushed batch of log $AK refused" "$T/serve.err" && pass ||
    fail "the hub did not log the refused batch"
# ... while the other logs went on in the same session: the hub's new unit arrived.
expect_ok cdht unit list --home "$R" --format csv
expect_stdout_contains "4400102,village"
# The hub holds the original's person, not the restored copy's.
expect_ok cdht person list --home "$H" --format csv
expect_stdout_contains "Nguyễn Văn An"
expect_stdout_lacks "Trần Thị Bình"

finish
