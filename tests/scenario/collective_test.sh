#!/usr/bin/env bash
# Issue 5 item 1, collectives, through the commands: a village laptop (writer) records a learning
# family of two adults and a child and a learning unit; the commune hub (approver) recognises the
# family only once both adults hold the title (the framework's rule adults_pct:100, adult age
# 18); `collective list` shows where each collective stands; the commune's report counts the
# family's adults and the unit's members in its plan metrics. Refusals are exact and write
# nothing: a bad kind, an unknown person, a writer recognising, a rule not met, twice in a year.
# Replicas exchange bundles (no process is started).
set -u
. "$(dirname "$0")/lib.sh"

R=$T/root
H=$T/hub
A=$T/lapA
TAB=$'\t'

sync_to() {
    must cdht bundle export --home "$1" -o "$T/x.bundle"
    must cdht bundle import --home "$2" "$T/x.bundle"
}

# --- the deployment: root, commune hub (hub and approver), village laptop (writer) -------------
new_home root 44 --root
must cdht whoami --home "$R"
VK=$(tail -n 1 "$OUT")
new_home hub 44001 --trust-root "$VK"
new_home lapA 4400101 --trust-root "$VK"
must cdht unit add --home "$R" --code 44 --kind province --name "Nghệ An"
must cdht unit add --home "$R" --code 44001 --kind commune --name "Quảng Vinh" --parent 44
must cdht enroll request --home "$H" --role hub
must cdht cert issue --home "$R" "$(out)" --role hub --unit 44001
must cdht enroll request --home "$H" --role approver
must cdht cert issue --home "$R" "$(out)" --role approver --unit 44001
must cdht framework publish --home "$R" --seed
sync_to "$R" "$H"
must cdht unit add --home "$H" --code 4400101 --kind village --name "Thôn 1" --parent 44001
must cdht enroll request --home "$A"
must cdht cert issue --home "$H" "$(out)" --role writer
sync_to "$H" "$A"

# person NAME YEAR: adds a person of the village, prints the id.
person() {
    "$CDHT" person add --home "$A" --name "$1" --birth-year "$2" --gender male --unit 4400101 \
        --group farmer
}
# ready PID: registered for 2026, self-submitted and reviewed on the laptop (total 80).
ready() {
    must cdht register --home "$A" --person "$1" --year 2026
    must cdht assess --home "$A" --person "$1" --year 2026 --scores 8,8,8,8,8,8,8,8,8,8 --submit
    must cdht review --home "$A" --person "$1" --year 2026
}
approve() {
    must cdht approve --home "$H" --person "$1" --year 2026 --decision 12/QĐ-KH \
        --date 2026-11-20 --signer "Lê Văn Tâm"
}
P1=$(person "Nguyễn Văn Hùng" 1980)
P2=$(person "Trần Thị Lan" 1984)
P3=$(person "Nguyễn Văn Nam" 2015)
ready "$P1"
ready "$P2"

# --- collectives on the laptop -------------------------------------------------------------
expect_refused 2 "$A" cdht collective add --home "$A" --kind tribe --unit 4400101 --name "Họ Lê"
expect_stderr_contains "cdht collective add: --kind must be family, clan, community or unit"
expect_refused 2 "$A" cdht collective add --home "$A" --kind family --unit 4400199 --name "Họ Lê"
expect_stderr_contains "cdht collective add: refusing: unknown unit 4400199 (cdht unit list shows them); nothing was written"
expect_ok cdht collective add --home "$A" --kind family --unit 4400101 \
    --name "Gia đình ông Nguyễn Văn Hùng"
FAM=$(out)
expect_match '^[0-9a-z]{16}$' "$FAM" "collective add prints the new id"
expect_ok cdht collective add --home "$A" --kind unit --unit 4400101 --name "Trường Tiểu học Thôn 1"
LU=$(out)
for p in "$P1" "$P2" "$P3"; do
    expect_ok cdht collective member --home "$A" --collective "$FAM" --person "$p"
done
expect_eq "$P3:$FAM" "$(out)" "member prints the membership id"
expect_ok cdht collective member --home "$A" --collective "$FAM" --person "$P3"
expect_stderr_contains "already a member; nothing changed"
expect_ok cdht collective member --home "$A" --collective "$LU" --person "$P1" --from 2025
expect_refused 2 "$A" cdht collective member --home "$A" --collective "$FAM" --person 0000000000000000
expect_stderr_contains "cdht collective member: refusing: unknown person id (cdht person list shows ids); nothing was written"
expect_refused 2 "$A" cdht collective member --home "$A" --collective 0000000000000000 --person "$P1"
expect_stderr_contains "cdht collective member: refusing: unknown collective id (cdht collective list shows ids); nothing was written"

# --- a writer cannot recognise ------------------------------------------------------------------
expect_refused 2 "$A" cdht collective recognise --home "$A" --collective "$FAM" --year 2026 \
    --decision 15/QĐ-KH --date 2026-12-01 --signer "Lê Văn Tâm"
expect_stderr_contains "cdht collective recognise: refusing: this device holds no approver grant covering unit 4400101 (a writer cannot recognise); nothing was written"

# --- the commune: one adult approved is not enough, both are -----------------------------------
sync_to "$A" "$H"
approve "$P1"
expect_ok cdht collective list --home "$H" --year 2026
expect_stdout_contains "2026${TAB}$FAM${TAB}family${TAB}4400101${TAB}Gia đình ông Nguyễn Văn Hùng${TAB}${TAB}3${TAB}2${TAB}1${TAB}adults_pct:100${TAB}no${TAB}no${TAB}"
expect_refused 2 "$H" cdht collective recognise --home "$H" --collective "$FAM" --year 2026 \
    --decision 15/QĐ-KH --date 2026-12-01 --signer "Lê Văn Tâm"
expect_stderr_contains "cdht collective recognise: refusing: the collective does not meet the rule adults_pct:100 in 2026 (1 of 2 adults hold the title); nothing was written"
approve "$P2"
expect_ok cdht collective recognise --home "$H" --collective "$FAM" --year 2026 \
    --decision 15/QĐ-KH --date 2026-12-01 --signer "Lê Văn Tâm"
expect_eq "2026:$FAM${TAB}approved" "$(out)" "recognise prints the id and outcome"
expect_ok cdht collective recognise --home "$H" --collective "$LU" --year 2026 \
    --decision 15/QĐ-KH --date 2026-12-01 --signer "Lê Văn Tâm"
expect_refused 2 "$H" cdht collective recognise --home "$H" --collective "$FAM" --year 2026 \
    --decision 16/QĐ-KH --date 2026-12-02 --signer "Lê Văn Tâm"
expect_stderr_contains "refusing: the collective is recognised for 2026 already (decision 15/QĐ-KH); nothing was written"
expect_refused 2 "$H" cdht collective recognise --home "$H" --collective "$LU" --year 2024 \
    --decision 16/QĐ-KH --date 2024-12-02 --signer "Lê Văn Tâm"
expect_stderr_contains "refusing: the collective does not meet the rule adults_pct:100 in 2024 (0 of 0 adults hold the title); nothing was written"

# The recognitions listing shows the recognised collectives with their decision.
expect_ok cdht recognitions --home "$H" --collectives --year 2026 --unit 44001
expect_stdout_contains "2026${TAB}$FAM${TAB}family${TAB}Gia đình ông Nguyễn Văn Hùng${TAB}4400101${TAB}15/QĐ-KH${TAB}2026-12-01${TAB}Lê Văn Tâm"
expect_stdout_contains "2026${TAB}$LU${TAB}unit${TAB}Trường Tiểu học Thôn 1${TAB}4400101${TAB}15/QĐ-KH"
expect_ok cdht recognitions --home "$H" --collectives --year 2025
expect_stdout_lacks "$FAM"
expect_ok cdht recognitions --home "$H" --collectives --format json
expect_stdout_contains "\"collective\": \"$FAM\", \"kind\": \"family\""
expect_exit 2 cdht recognitions --home "$H" --collectives --person "$FAM"
expect_stderr_contains "cdht recognitions: --collectives lists collectives: --person does not apply"
expect_ok cdht collective list --home "$H" --year 2026 --unit 44001
expect_stdout_contains "2026${TAB}$FAM${TAB}family${TAB}4400101${TAB}Gia đình ông Nguyễn Văn Hùng${TAB}${TAB}3${TAB}2${TAB}2${TAB}adults_pct:100${TAB}yes${TAB}yes${TAB}15/QĐ-KH"
expect_stdout_contains "2026${TAB}$LU${TAB}unit${TAB}4400101${TAB}Trường Tiểu học Thôn 1${TAB}${TAB}1${TAB}1${TAB}1${TAB}adults_pct:100${TAB}yes${TAB}yes${TAB}15/QĐ-KH"
expect_ok cdht collective list --home "$H" --year 2026 --format csv
expect_stdout_contains "year,id,kind,unit,name,org,members,adults,adults_title,rule,meets_rule,recognised,decision"
expect_stdout_contains "2026,$FAM,family,4400101,Gia đình ông Nguyễn Văn Hùng,,3,2,2,adults_pct:100,yes,yes,15/QĐ-KH"
expect_ok cdht collective list --home "$H" --year 2026 --format json
expect_stdout_contains "\"id\": \"$FAM\", \"kind\": \"family\""
expect_stdout_contains "\"meets_rule\": true, \"recognised\": true, \"decision\": \"15/QĐ-KH\""
expect_ok cdht collective list --home "$H" --year 2026 --unit 4400102
expect_stdout_lacks "$FAM"

# --- the report's plan metrics count the recognised family and unit ------------------------------
expect_ok cdht report --home "$H" --unit 44001 --year 2026 --format json
expect_stdout_contains '"family_adults":{"numerator":2,"denominator":2,"actual_pct":100.0}'
expect_stdout_contains '"unit_workers":{"numerator":1,"denominator":1,"actual_pct":100.0}'

# --- the laptop sees the recognition after a sync ------------------------------------------------
sync_to "$H" "$A"
expect_ok cdht collective list --home "$A" --year 2026 --format csv
expect_stdout_contains "2026,$FAM,family,4400101,Gia đình ông Nguyễn Văn Hùng,,3,2,2,adults_pct:100,yes,yes,15/QĐ-KH"
expect_eq "$(hash_of "$A")" "$(hash_of "$H")" "branch and commune converge"
finish
