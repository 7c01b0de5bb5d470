#!/usr/bin/env bash
# The certificate a person can hold, through the commands alone: a branch laptop registers,
# scores, submits and reviews a person; the commune hub (hub and approver, certified by the
# root) approves her with `cdht approve`; `cdht certificate` prints the recognition and its
# `cdht-cert1:` string, which `cdht verify` checks offline with the root's verifier key alone
# (exit 1: the chain is referenced, not checked) and against a replica's trust state (exit 0),
# on the hub and on the branch after a sync. One changed character, another root, a person not
# recognised, and a replica whose signed checkpoint does not cover the approval yet are refused
# with their sentences; the citizen id appears nowhere.
set -u
. "$(dirname "$0")/lib.sh"

R=$T/root
H=$T/hub
A=$T/lapA

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

# --- the year on the branch, the decision at the commune ---------------------------------------
CID=079182000123
must cdht person add --home "$A" --name "Nguyễn Thị Hoa" --birth-year 1982 --gender female \
    --unit 4400101 --group farmer --citizen-id "$CID"
ID=$(out)
must cdht person add --home "$A" --name "Trần Văn Bình" --birth-year 1980 --gender male \
    --unit 4400101 --group farmer
ID2=$(out)
for p in "$ID" "$ID2"; do
    must cdht register --home "$A" --person "$p" --year 2026
    must cdht assess --home "$A" --person "$p" --year 2026 --scores 9,9,8,8,8,8,8,8,8,8 --submit
done
must cdht review --home "$A" --person "$ID" --year 2026
sync_to "$A" "$H"
must cdht approve --home "$H" --person "$ID" --year 2026 --decision 12/QĐ-KH \
    --date 2026-11-20 --signer "Lê Văn Tâm"

# --- the certificate -------------------------------------------------------------------------
expect_ok cdht certificate --home "$H" --person "$ID" --year 2026
expect_stdout_contains "title: Công dân học tập"
expect_stdout_lacks "tiêu biểu"
expect_stdout_contains "name: Nguyễn Thị Hoa"
expect_stdout_contains "birth_year: 1982"
expect_stdout_contains "unit: Thôn 1"
expect_stdout_contains "year: 2026"
expect_stdout_contains "decision: 12/QĐ-KH"
expect_stdout_contains "date: 2026-11-20"
expect_stdout_contains "signer: Lê Văn Tâm"
expect_stderr_contains "cdht certificate: 2026:$ID: leaf "
expect_output_lacks "$CID"
S=$(sed -n 's/^proof: //p' "$OUT")
expect_match '^cdht-cert1:[A-Za-z0-9_-]+$' "$S" "the proof string"
if [ "${#S}" -le 2048 ]; then pass; else fail "the string has ${#S} characters (> 2048)"; fi
echo "  certificate string: ${#S} characters" >&2

expect_ok cdht certificate --home "$H" --person "$ID" --year 2026 --format html -o "$T/c.html"
if grep -q "Công dân học tập" "$T/c.html" && grep -qF "$S" "$T/c.html" &&
    grep -q "Nguyễn Thị Hoa" "$T/c.html" && ! grep -q "$CID" "$T/c.html"; then
    pass
else
    fail "the HTML certificate lacks the title, the name or the string (or shows the citizen id)"
fi

# --- verify: offline, then against a replica's trust state -------------------------------------
expect_exit 1 cdht verify "$S" --trust-root "$VK"
expect_stdout_contains "verified: approval in leaf "
expect_stdout_contains "approval: person $ID, year 2026, decision 12/QĐ-KH of 2026-11-20, signed by Lê Văn Tâm"
expect_stdout_contains "chain: 1 links referenced, not checked offline"
expect_output_lacks "$CID"
expect_output_lacks "Hoa"
expect_ok cdht verify "$S" --trust-root "$VK" --home "$H"
expect_stdout_contains "chain: 1 links checked against the trust state of $H"
sync_to "$H" "$A"
expect_ok cdht verify "$S" --trust-root "$VK" --home "$A"
expect_stdout_contains "chain: 1 links checked against the trust state of $A"
# The branch holds the approval and its checkpoint now: it prints the same string.
expect_ok cdht certificate --home "$A" --person "$ID" --year 2026
expect_eq "$S" "$(sed -n 's/^proof: //p' "$OUT")" "the branch's string"

# --- refusals ----------------------------------------------------------------------------------
# One character changed, at the start, the middle and the end of the base64url.
for at in 11 600 $((${#S} - 1)); do
    c=${S:$at:1}
    if [ "$c" = A ]; then d=B; else d=A; fi
    expect_exit 2 cdht verify "${S:0:$at}$d${S:$((at + 1))}" --trust-root "$VK"
    expect_stderr_contains "cdht verify: the certificate string is not readable: "
done
expect_exit 2 cdht verify "${S:0:500}" --trust-root "$VK"
expect_stderr_contains "the certificate string is not readable"
expect_exit 2 cdht verify "cdht-cert1:" --trust-root "$VK"
expect_stderr_contains "the certificate string is not readable"
H_VK=$(cdht whoami --home "$H" | sed -n 2p)
expect_exit 2 cdht verify "$S" --trust-root "$H_VK"
expect_stderr_contains "refusing: the certificate string does not verify: the chain ends at key $(key_of "$R"), which is not the pinned root $(key_of "$H")"
expect_exit 2 cdht verify "$S"
expect_stderr_contains "--trust-root VKEY is required"

expect_refused 2 "$H" cdht certificate --home "$H" --person "$ID2" --year 2026
expect_stderr_contains "cdht certificate: refusing: not recognised in 2026: person $ID2 has no approval for that year (the assessment is self_submitted)"
expect_refused 2 "$H" cdht certificate --home "$H" --person "$ID" --year 2025
expect_stderr_contains "cdht certificate: refusing: not recognised in 2025: person $ID is not registered for that year on this replica"
expect_exit 2 cdht certificate --home "$H" --person "$ID" --year 2026 --format pdf
expect_stderr_contains "--format must be txt or html"
expect_exit 2 cdht certificate --home "$H" --year 2026
expect_stderr_contains "--person ID is required"

# --- five recognised years in a row: the exemplary title ---------------------------------------
for y in 2022 2023 2024 2025; do
    must cdht register --home "$A" --person "$ID" --year "$y"
    must cdht assess --home "$A" --person "$ID" --year "$y" --scores 9,9,8,8,8,8,8,8,8,8 --submit
    must cdht review --home "$A" --person "$ID" --year "$y"
done
sync_to "$A" "$H"
for y in 2022 2023 2024 2025; do
    must cdht approve --home "$H" --person "$ID" --year "$y" --decision "$y/QĐ-KH" \
        --date "$y-11-20" --signer "Lê Văn Tâm"
done
expect_ok cdht certificate --home "$H" --person "$ID" --year 2026
expect_stdout_contains "title: Công dân học tập tiêu biểu"
expect_stdout_contains "decision: 12/QĐ-KH"
S5=$(sed -n 's/^proof: //p' "$OUT")
expect_exit 1 cdht verify "$S5" --trust-root "$VK"
expect_stdout_contains "approval: person $ID, year 2026, decision 12/QĐ-KH of 2026-11-20"
expect_ok cdht certificate --home "$H" --person "$ID" --year 2025
expect_stdout_contains "title: Công dân học tập"
expect_stdout_lacks "tiêu biểu"
expect_stdout_contains "decision: 2025/QĐ-KH"

# A replica that holds the approval's leaf but no signed checkpoint covering it (what a partial
# transfer leaves): the stored checkpoint of every log is taken away in a copy of the hub.
cp -r "$H" "$T/hub2"
sqlite3 "$T/hub2/replica.db" "UPDATE log SET cp_size = 0, checkpoint = NULL;"
expect_refused 2 "$T/hub2" cdht certificate --home "$T/hub2" --person "$ID" --year 2026
expect_stderr_contains "cdht certificate: refusing: no signed checkpoint covers the approval yet (sync with the commune first)"

finish
