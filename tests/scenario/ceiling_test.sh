#!/usr/bin/env bash
# Issue 5 item 5, the raw-data ceiling, with real processes: the root (the province) sets the
# ceiling at the commune level; the commune hub holds its villages' people, approves and
# recognises a learning family; a reporter device of the commune (certified by the root)
# publishes the commune's counts for the year from the hub's replica, read-only; the hub and
# the reporter then sync up to the province over 127.0.0.1. The province holds no person row,
# no branch log and no commune hub log (its scope is above the ceiling), only the reporter's
# aggregate rows, and its province report shows the commune's own totals and metrics. Refusals:
# a non-root cannot set the ceiling; a device without a reporter grant cannot publish.
# Every process started here is killed by its PID; every wait is bounded.
set -u
. "$(dirname "$0")/lib.sh"

R=$T/root
H=$T/hub
A=$T/lapA
G=$T/rep
TAB=$'\t'
PORT=$((43000 + $$ % 4000))

sync_to() {
    must cdht bundle export --home "$1" -o "$T/x.bundle"
    must cdht bundle import --home "$2" "$T/x.bundle"
}

# --- the deployment: the province is the root; the ceiling is the commune ----------------------
new_home root 44 --root
must cdht whoami --home "$R"
VK=$(tail -n 1 "$OUT")
new_home hub 44001 --trust-root "$VK"
new_home lapA 4400101 --trust-root "$VK"
new_home rep 44001 --trust-root "$VK"
must cdht unit add --home "$R" --code 44 --kind province --name "Nghệ An"
must cdht unit add --home "$R" --code 44001 --kind commune --name "Quảng Vinh" --parent 44
must cdht framework publish --home "$R" --seed
must cdht plan publish --home "$R" --seed
must cdht enroll request --home "$H" --role hub
must cdht cert issue --home "$R" "$(out)" --role hub --unit 44001
must cdht enroll request --home "$H" --role approver
must cdht cert issue --home "$R" "$(out)" --role approver --unit 44001
must cdht enroll request --home "$G" --role reporter
must cdht cert issue --home "$R" "$(out)" --role reporter --unit 44001
expect_ok cdht aggregate ceiling --home "$R"
expect_eq "raw_ceiling_kind${TAB}none" "$(out)" "no ceiling yet"
expect_exit 2 cdht aggregate ceiling --home "$R" --kind village
expect_stderr_contains "cdht aggregate ceiling: --kind must be province, district or commune"
expect_ok cdht aggregate ceiling --home "$R" --kind commune
expect_eq "raw_ceiling_kind${TAB}commune" "$(out)" "the root sets the ceiling"
sync_to "$R" "$H"
sync_to "$R" "$G"
expect_refused 2 "$H" cdht aggregate ceiling --home "$H" --kind district
expect_stderr_contains "cdht aggregate ceiling: refusing: only the deployment's root sets the raw-data ceiling; nothing was written"
expect_ok cdht aggregate ceiling --home "$H"
expect_eq "raw_ceiling_kind${TAB}commune" "$(out)" "the ceiling replicated downward"
must cdht unit add --home "$H" --code 4400101 --kind village --name "Thôn 1" --parent 44001
must cdht enroll request --home "$A"
must cdht cert issue --home "$H" "$(out)" --role writer
sync_to "$H" "$A"
AK=$(key_of "$A")
HK=$(key_of "$H")
GK=$(key_of "$G")
RK=$(key_of "$R")

# --- the year at the commune: three people, two approved, one learning family ------------------
person() {
    "$CDHT" person add --home "$A" --name "$1" --birth-year "$2" --gender male --unit 4400101 \
        --group "$3"
}
P1=$(person "Nguyễn Văn Hùng" 1980 farmer)
P2=$(person "Trần Thị Lan" 1984 farmer)
P3=$(person "Lê Văn Tư" 1990 worker)
for p in "$P1" "$P2"; do
    must cdht register --home "$A" --person "$p" --year 2026 --digital basic
    must cdht assess --home "$A" --person "$p" --year 2026 --scores 8,8,8,8,8,8,8,8,8,8 --submit
    must cdht review --home "$A" --person "$p" --year 2026
done
must cdht register --home "$A" --person "$P3" --year 2026
must cdht collective add --home "$A" --kind family --unit 4400101 --name "Gia đình Nguyễn Văn Hùng"
FAM=$(out)
must cdht collective member --home "$A" --collective "$FAM" --person "$P1"
must cdht collective member --home "$A" --collective "$FAM" --person "$P2"
sync_to "$A" "$H"
for p in "$P1" "$P2"; do
    must cdht approve --home "$H" --person "$p" --year 2026 --decision 12/QĐ-KH \
        --date 2026-11-20 --signer "Lê Văn Tâm"
done
must cdht collective recognise --home "$H" --collective "$FAM" --year 2026 --decision 15/QĐ-KH \
    --date 2026-12-01 --signer "Lê Văn Tâm"

expect_ok cdht report --home "$H" --unit 44001 --year 2026 --format csv
COMMUNE_TOTAL=$(grep '^total,44001,Quảng Vinh,\*,' "$OUT" | cut -d, -f5-)
expect_eq "3,2,2,66.7" "$COMMUNE_TOTAL" "the commune's own totals"
COMMUNE_GROUPS=$(grep '^total,44001,' "$OUT" | cut -d, -f4-)
COMMUNE_NATIONAL=$(grep ',\*/677-2022,' "$OUT")
expect_ok cdht report --home "$H" --unit 44001 --year 2026 --format json
expect_stdout_contains '"family_adults":{"numerator":2,"denominator":2,"actual_pct":100.0}'

# --- publishing: only a reporter may; the reporter reads the hub's replica -----------------------
expect_refused 2 "$H" cdht aggregate publish --home "$H" --unit 44001 --year 2026
expect_stderr_contains "cdht aggregate publish: refusing: this device holds no reporter grant covering unit 44001 (the root issues one: cdht cert issue ... --role reporter --unit 44001); nothing was written"
expect_ok cdht aggregate publish --home "$G" --source "$H" --unit 44001 --year 2026
expect_stdout_contains "2026:44001:farmer${TAB}2${TAB}2${TAB}2${TAB}2${TAB}-"
expect_stdout_contains "2026:44001:*${TAB}-${TAB}-${TAB}-${TAB}-${TAB}2${TAB}0${TAB}2${TAB}2${TAB}0${TAB}0"
expect_stderr_contains "rows written in one leaf"
before=$(snapshot "$G")
expect_ok cdht aggregate publish --home "$G" --source "$H" --unit 44001 --year 2026
expect_stderr_contains "already published; nothing changed"
expect_unchanged "$G" "$before" "the same numbers again"
expect_refused 2 "$G" cdht aggregate publish --home "$G" --source "$H" --unit 44 --year 2026
expect_stderr_contains "refusing: this device holds no reporter grant covering unit 44"

# --- up to the province over the network --------------------------------------------------------
start_serve "$R"
expect_ok cdht sync --home "$H" --peer "tcp://127.0.0.1:$PORT" --peer-key "$RK" --timeout 20
# The hub knows the ceiling and the province's grants: it does not even send the logs the
# province would not keep (no name crosses the link upward).
expect_stderr_contains "0 leaves pulled (0 held), 0 pushed (0 logs co-signed there), 4 requests"
expect_ok cdht sync --home "$G" --peer "tcp://127.0.0.1:$PORT" --peer-key "$RK" --timeout 20
stop_serve

expect_ok cdht person list --home "$R"
expect_eq "" "$(grep -v '^id' "$OUT" || true)" "the province holds no person"
expect_output_lacks "Nguyễn"
expect_ok cdht log list --home "$R"
expect_stdout_lacks "$AK"
expect_stdout_lacks "$HK"
expect_stdout_contains "$GK"
expect_ok cdht collective list --home "$R" --year 2026
expect_stdout_lacks "$FAM"
expect_ok cdht aggregate list --home "$R" --year 2026
expect_stdout_contains "2026:44001:farmer${TAB}2${TAB}2${TAB}2${TAB}2"

# --- the province's report sums the aggregates: the commune's numbers -------------------------
expect_ok cdht report --home "$R" --unit 44 --year 2026 --format csv
expect_eq "$COMMUNE_TOTAL" "$(grep '^unit,44001,Quảng Vinh,\*,' "$OUT" | cut -d, -f5-)" \
    "the commune's row at the province"
expect_eq "$COMMUNE_TOTAL" "$(grep '^total,44,Nghệ An,\*,' "$OUT" | cut -d, -f5-)" \
    "the province's total"
expect_eq "$COMMUNE_GROUPS" "$(grep '^unit,44001,' "$OUT" | cut -d, -f4-)" "per group"
expect_eq "$COMMUNE_NATIONAL" "$(grep ',\*/677-2022,' "$OUT")" "the national plan's metrics"
# Below the ceiling the province holds no records: a report there would be zeros, so it says why.
expect_refused 2 "$R" cdht report --home "$R" --unit 44001 --year 2026
expect_stderr_contains "cdht report: --unit: 44001 lies at or below the raw-data ceiling (commune), and this replica, above it, holds none of its people's records; report on a unit above the ceiling (it sums the aggregates), or at the unit's own hub"
expect_ok cdht report --home "$R" --unit 44 --year 2026 --format json
expect_stdout_contains '"family_adults":{"numerator":2,"denominator":2,"actual_pct":100.0}'
expect_stdout_contains '"holders_digital":{"numerator":2,"denominator":2,"actual_pct":100.0}'
# An aggregate leaf is provable like any record: the reporter's chain ends at the root.
agg_index=$(($(log_size "$R" "$GK") - 1))
expect_ok cdht prove --home "$R" --log "$GK" --index "$agg_index" -o "$T/agg.proof"
expect_ok cdht verify "$T/agg.proof" --trust-root "$VK"
finish
