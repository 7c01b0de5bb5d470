#!/usr/bin/env bash
# Issue 5, the yearly workflow through the commands and real processes: a village laptop
# registers a person, scores and self-submits her sheet, adds evidence and reviews it; it syncs
# with the commune hub over 127.0.0.1; the hub (which holds an approver grant) approves it with
# the decision's number; after the next sync the laptop shows it approved and lists the
# recognition. A writer trying to approve is refused with the exact sentence, nothing written.
# Every process started here is killed by its PID; every wait is bounded.
set -u
. "$(dirname "$0")/lib.sh"

R=$T/root
H=$T/hub
A=$T/lapA
TAB=$'\t'
PORT=$((47000 + $$ % 4000))

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
HK=$(key_of "$H")

# --- on the branch: register, score, evidence, submit, review ----------------------------------
must cdht person add --home "$A" --name "Nguyễn Thị Hoa" --birth-year 1982 --gender female \
    --unit 4400101 --group farmer
ID=$(out)
expect_ok cdht register --home "$A" --person "$ID" --year 2026
expect_eq "2026:$ID" "$(out)" "the assessment's id"
expect_ok cdht register --home "$A" --person "$ID" --year 2026
expect_stderr_contains "already registered; nothing changed"
expect_refused 2 "$A" cdht approve --home "$A" --person "$ID" --year 2026 --decision 12/QĐ-KH \
    --date 2026-11-20 --signer "Lê Văn Tâm"
expect_stderr_contains "cdht approve: refusing: the assessment is draft; approve needs branch_reviewed (cdht assess --submit, then cdht review); nothing was written"
expect_refused 2 "$A" cdht assess --home "$A" --person "$ID" --year 2026 --scores 8,9,7,10,8,11,6,7,9,8
expect_stderr_contains "cdht assess: refusing: --scores: indicator 2.2 is 11; its maximum is 10; nothing was written"
expect_ok cdht assess --home "$A" --person "$ID" --year 2026 --scores 9,9,8,8,8,8,8,8,8,7 \
    --digital basic
expect_stdout_contains "total 81/100: meets the criteria (80; minimum 5)"
expect_exit 2 cdht assess --home "$A" --person "$ID" --year 2026 --scores 9,9,8,8,8,8,8,8,8
expect_stderr_contains "--scores: 9 values given; group farmer has 10 indicators"
expect_ok cdht assess --home "$A" --person "$ID" --year 2026 --score 1.1=9,3.2=8 --digital basic
expect_stdout_contains "total 82/100: meets the criteria (80; minimum 5)"
expect_stdout_contains "status: draft"
printf 'a scanned certificate\n' >"$T/cert.jpg"
expect_ok cdht evidence add --home "$A" --person "$ID" --year 2026 --kind certificate \
    --indicator 1.3 --description "Giấy khen câu lạc bộ" "$T/cert.jpg"
SHA=$(sha256sum "$T/cert.jpg" | cut -d' ' -f1)
expect_eq "$SHA 22" "$(out)" "evidence add prints the hash and size"
[ -f "$A/evidence/${SHA:0:2}/$SHA" ] && pass || fail "the file is stored by its hash"
before=$(snapshot "$A")
expect_ok cdht evidence add --home "$A" --person "$ID" --year 2026 --kind certificate "$T/cert.jpg"
expect_stderr_contains "already recorded; nothing changed"
expect_unchanged "$A" "$before" "the same evidence again"
: >"$T/empty.jpg"
expect_refused 2 "$A" cdht evidence add --home "$A" --person "$ID" --year 2026 --kind photo "$T/empty.jpg"
expect_stderr_contains "is empty or not a regular file; nothing was written"
expect_ok cdht evidence list --home "$A" --person "$ID" --year 2026
expect_stdout_contains "$SHA${TAB}22${TAB}certificate${TAB}3${TAB}held"
expect_ok cdht assess --home "$A" --person "$ID" --year 2026 --submit
expect_stdout_contains "status: self_submitted"
expect_ok cdht review --home "$A" --person "$ID" --year 2026 --note "đủ minh chứng"
expect_stdout_contains "status: branch_reviewed"

# --- a writer cannot approve -----------------------------------------------------------------
expect_refused 2 "$A" cdht approve --home "$A" --person "$ID" --year 2026 --decision 12/QĐ-KH \
    --date 2026-11-20 --signer "Lê Văn Tâm"
expect_stderr_contains "cdht approve: refusing: this device holds no approver grant covering unit 4400101 (a writer cannot approve); nothing was written"

# --- the laptop syncs with the commune, the commune approves ----------------------------------
start_serve "$H"
expect_ok cdht sync --home "$A" --peer "tcp://127.0.0.1:$PORT" --peer-key "$HK" --timeout 20
# The evidence row arrived; its file travels only when asked for, by USB: a folder of files
# named by their hash, each checked against its name on import.
expect_ok cdht evidence list --home "$H" --person "$ID" --year 2026
expect_stdout_contains "$SHA${TAB}22${TAB}certificate"
expect_stdout_contains "not-held"
expect_ok cdht evidence export --home "$A" --year 2026 -o "$T/stick"
expect_stderr_contains "exported 1 evidence files to $T/stick (0 there already"
cp "$T/stick/$SHA" "$T/good.jpg"
printf 'X' | dd of="$T/stick/$SHA" bs=1 seek=3 conv=notrunc status=none
expect_refused 2 "$H" cdht evidence import --home "$H" "$T/stick"
expect_stderr_contains "$T/stick/$SHA: its content does not match its name (altered or damaged); nothing was imported"
cp "$T/good.jpg" "$T/stick/$SHA"
expect_ok cdht evidence import --home "$H" "$T/stick"
expect_stderr_contains "imported 1 evidence files (0 held already)"
expect_ok cdht evidence list --home "$H" --person "$ID" --year 2026
expect_stdout_contains "${TAB}held"
cmp -s "$H/evidence/${SHA:0:2}/$SHA" "$T/good.jpg" && pass || fail "the hub's copy differs"
expect_exit 2 cdht approve --home "$H" --person "$ID" --year 2026 --decision 12/QĐ-KH \
    --date 2026-13-01 --signer "Lê Văn Tâm"
expect_stderr_contains "--date: date is not a calendar day"
expect_ok cdht approve --home "$H" --person "$ID" --year 2026 --decision 12/QĐ-KH \
    --date 2026-11-20 --signer "Lê Văn Tâm"
expect_eq "2026:$ID${TAB}82${TAB}approved" "$(out)" "approve prints id, total, outcome"
expect_refused 2 "$H" cdht approve --home "$H" --person "$ID" --year 2026 --decision 13/QĐ-KH \
    --date 2026-11-21 --signer "Lê Văn Tâm"
expect_stderr_contains "refusing: the assessment is approved: final for the year; nothing was written"

# --- the branch sees it approved after the next sync -------------------------------------------
expect_ok cdht recognitions --home "$A"
expect_stdout_lacks "$ID"
expect_ok cdht sync --home "$A" --peer "tcp://127.0.0.1:$PORT" --peer-key "$HK" --timeout 20
stop_serve
expect_ok cdht recognitions --home "$A" --year 2026
expect_eq "2026${TAB}$ID${TAB}Nguyễn Thị Hoa${TAB}4400101${TAB}farmer${TAB}82${TAB}12/QĐ-KH${TAB}2026-11-20${TAB}Lê Văn Tâm${TAB}no" \
    "$(out)" "the recognition on the branch"
expect_ok cdht recognitions --home "$A" --format csv --unit 44001
expect_stdout_contains "2026,$ID,Nguyễn Thị Hoa,4400101,farmer,82,12/QĐ-KH,2026-11-20,Lê Văn Tâm,no"
expect_ok cdht recognitions --home "$A" --format json --decision 12/QĐ-KH
expect_stdout_contains "\"year\": 2026, \"person\": \"$ID\""
expect_stdout_contains "\"exemplary\": false"
expect_ok cdht recognitions --home "$A" --unit 4400102
expect_stdout_lacks "$ID"
expect_refused 2 "$A" cdht assess --home "$A" --person "$ID" --year 2026 --score 1.1=10
expect_stderr_contains "cdht assess: refusing: the assessment is approved: final for the year; nothing was written"
expect_eq "$(hash_of "$A")" "$(hash_of "$H")" "branch and commune converge"
finish
