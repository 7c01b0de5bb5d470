#!/usr/bin/env bash
# Network robustness on 127.0.0.1 (issue 4, item 7): twenty branches sync into one hub at
# once and all converge; a sync killed with SIGKILL in the middle, on the branch and then on
# the hub, resumes on the next run with nothing lost and nothing duplicated. Open-mode replicas
# (no root): the trust layer is the trust scenarios' subject. Every process started here is
# killed by its PID; every wait is bounded.
set -u
. "$(dirname "$0")/lib.sh"

BRANCHES=20
PORT=$((39000 + $$ % 3000))

new_home hub V
must cdht unit add --home "$T/hub" --code V --kind village --name "Thôn"
must cdht bundle export --home "$T/hub" -o "$T/units.bundle"
HK=$(key_of "$T/hub")
for i in $(seq "$BRANCHES"); do
    new_home "b$i" V
    must cdht bundle import --home "$T/b$i" "$T/units.bundle"
    for j in 1 2 3; do
        must cdht person add --home "$T/b$i" --name "Người $i-$j" --birth-year $((1950 + j)) \
            --gender female --unit V
    done
done

# --- fan-in: all at once ---------------------------------------------------------------------
start_serve "$T/hub"
pids=()
for i in $(seq "$BRANCHES"); do
    "$CDHT" sync --home "$T/b$i" --peer "tcp://127.0.0.1:$PORT" --peer-key "$HK" --timeout 60 \
        >"$T/sync$i.out" 2>&1 &
    pids+=($!)
done
failed=0
for p in "${pids[@]}"; do
    wait "$p" || failed=$((failed + 1))
done
expect_eq 0 "$failed" "syncs that failed in the fan-in"
expect_ok cdht person list --home "$T/hub" --format csv
expect_eq $((BRANCHES * 3)) "$(tail -n +2 "$OUT" | wc -l)" "people at the hub"
# Each branch syncs again and gets everyone: all twenty-one replicas hold the same state.
for i in $(seq "$BRANCHES"); do
    must cdht sync --home "$T/b$i" --peer "tcp://127.0.0.1:$PORT" --peer-key "$HK" --timeout 60
done
h=$(hash_of "$T/hub")
same=0
for i in $(seq "$BRANCHES"); do
    [ "$(hash_of "$T/b$i")" = "$h" ] && same=$((same + 1))
done
expect_eq "$BRANCHES" "$same" "branches with the hub's state"

# --- SIGKILL mid-sync: the branch, then the hub ----------------------------------------------
new_home big V
must cdht bundle import --home "$T/big" "$T/units.bundle"
# 300 leaves. The kills land wherever they land (mid-batch, between rounds, or after the end):
# whatever each side committed stays, and the next sync completes without a duplicate.
for j in $(seq 300); do
    must cdht person add --home "$T/big" --name "Người lớn $j" --birth-year 1970 --gender male --unit V
done
before=$(cdht log list --home "$T/hub" | wc -l)
"$CDHT" sync --home "$T/big" --peer "tcp://127.0.0.1:$PORT" --peer-key "$HK" --timeout 60 \
    >/dev/null 2>&1 &
victim=$!
sleep 0.2
kill -KILL "$victim" 2>/dev/null
wait "$victim" 2>/dev/null
stop_serve -KILL
start_serve "$T/hub"
expect_ok cdht sync --home "$T/big" --peer "tcp://127.0.0.1:$PORT" --peer-key "$HK" --timeout 60
"$CDHT" sync --home "$T/big" --peer "tcp://127.0.0.1:$PORT" --peer-key "$HK" --timeout 60 \
    >/dev/null 2>&1 &
victim=$!
sleep 0.1
stop_serve -KILL
wait "$victim" 2>/dev/null
start_serve "$T/hub"
expect_ok cdht sync --home "$T/big" --peer "tcp://127.0.0.1:$PORT" --peer-key "$HK" --timeout 60
stop_serve
big_key=$(key_of "$T/big")
expect_ok cdht log list --home "$T/hub"
expect_stdout_contains "$big_key 300 "
expect_ok cdht person list --home "$T/hub" --format csv
expect_eq $((BRANCHES * 3 + 300)) "$(tail -n +2 "$OUT" | wc -l)" "people at the hub after the kills"
expect_ok cdht audit --home "$T/hub"
expect_stdout_contains "0 findings"
finish
