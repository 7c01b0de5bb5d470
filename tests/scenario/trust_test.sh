#!/usr/bin/env bash
# Issue 3, item 9, through the commands alone: a province root, a commune hub, two villages'
# laptops and an auditor exchange bundles. A laptop writing another village's people is held in
# quarantine and reported; a certificate issued by a writer is refused; a revoked laptop's later
# leaves vanish from every replica and the audit says why; a key restored from an old copy and
# used again is caught as equivocation; a scoped export to a village holds no person of another
# village.
set -u
. "$(dirname "$0")/lib.sh"

P=$T/province
H=$T/hub
A=$T/lapA
B=$T/lapB
U=$T/auditor
TAB=$'\t'

# --- the key ceremony: the root, then everyone pins it ------------------------------------------
new_home province 44 --root
must cdht whoami --home "$P"
VK=$(tail -n 1 "$OUT")
expect_match '^cdht/[0-9a-f]{64}\+[0-9a-f]{8}\+' "$VK" "the root's verifier key"
new_home hub 44001 --trust-root "$VK"
new_home lapA 4400101 --trust-root "$VK" --name "Thon 1 laptop"
new_home lapB 4400102 --trust-root "$VK" --name "Thon 2 laptop"
new_home auditor 44 --trust-root "$VK"
expect_exit 2 cdht init --home "$T/bad" --unit 44 --trust-root "cdht/nonsense"
expect_stderr_contains "cdht init: --trust-root: not a verifier key"
expect_exit 2 cdht init --home "$T/bad" --unit 44 --root --trust-root "$VK"
expect_stderr_contains "--root and --trust-root exclude each other"
expect_ok cdht status --home "$P"
expect_stdout_contains "this device is the deployment's root"
expect_ok cdht status --home "$A"
expect_stdout_contains "none yet: this device cannot write until its certificate arrives"

# bundle FROM TO: everything FROM holds goes to TO.
sync_to() {
    must cdht bundle export --home "$1" -o "$T/x.bundle"
    must cdht bundle import --home "$2" "$T/x.bundle"
}

must cdht unit add --home "$P" --code 44 --kind province --name "Nghệ An"
must cdht unit add --home "$P" --code 44001 --kind commune --name "Quỳnh Lưu" --parent 44
must cdht enroll request --home "$H" --role hub
must cdht cert issue --home "$P" "$(out)" --role hub --unit 44001
must cdht enroll request --home "$U" --role auditor
must cdht cert issue --home "$P" "$(out)" --role auditor --unit 44
sync_to "$P" "$H"
expect_ok cdht status --home "$H"
expect_stdout_contains "grant:         hub of unit 44001"

must cdht unit add --home "$H" --code 4400101 --kind village --name "Thôn 1" --parent 44001
must cdht unit add --home "$H" --code 4400102 --kind village --name "Thôn 2" --parent 44001
# A hub draws only inside its commune.
expect_refused 2 "$H" cdht unit add --home "$H" --code 44002 --kind commune --name X --parent 44
expect_stderr_contains "not entitled (outside-unit"
must cdht enroll request --home "$A"
must cdht cert issue --home "$H" "$(out)" --role writer
must cdht enroll request --home "$B"
must cdht cert issue --home "$H" "$(out)" --role writer
sync_to "$H" "$A"
sync_to "$H" "$B"
sync_to "$H" "$U"
b_key=$(key_of "$B")
a_key=$(key_of "$A")

# --- writers write their own village, and nothing else --------------------------------------------
must cdht person add --home "$A" --name "Nguyễn Văn An" --birth-year 1980 --gender male --unit 4400101
must cdht person add --home "$B" --name "Trần Thị Bình" --birth-year 1985 --gender female --unit 4400102
expect_refused 2 "$A" cdht person add --home "$A" --name "Lê Văn Cường" --birth-year 1990 \
    --gender male --unit 4400102
expect_stderr_contains "refusing to write: this device is not entitled (outside-unit: unit 4400102 is outside the writer grants); nothing was written"
expect_refused 2 "$A" cdht cert issue --home "$A" "$(cdht enroll request --home "$B")" --role writer
expect_stderr_contains "not entitled (not-an-issuer: the author holds no hub grant)"

# A modified cdht on laptop A writes another village's person and certifies a device anyway.
export CDHT_TEST_UNCHECKED_WRITES=1
must cdht person add --home "$A" --name "Phạm Thị Dung" --birth-year 1991 --gender female --unit 4400102
must cdht cert issue --home "$A" "$(cdht enroll request --home "$B")" --role writer
unset CDHT_TEST_UNCHECKED_WRITES
sync_to "$A" "$H"
sync_to "$B" "$H"
expect_ok cdht person list --home "$H"
expect_stdout_contains "Nguyễn Văn An"
expect_stdout_contains "Trần Thị Bình"
expect_stdout_lacks "Phạm Thị Dung"
expect_ok cdht quarantine list --home "$H"
expect_stdout_contains "$a_key${TAB}1${TAB}outside-unit${TAB}unit 4400102 is outside the writer grants"
expect_stdout_contains "$a_key${TAB}2${TAB}not-an-issuer${TAB}the author holds no unexpired hub grant"
expect_ok cdht quarantine list --home "$H" --json
expect_stdout_contains '"index":1,"reason":"outside-unit"'
expect_output_lacks "Phạm Thị Dung"

# --- revocation: B is stolen after its first leaf -------------------------------------------------
# The thief writes before and after the hub hears: both leaves vanish everywhere.
must cdht person add --home "$B" --name "Kẻ Trộm Một" --birth-year 1970 --gender male --unit 4400102
sync_to "$B" "$H"
sync_to "$H" "$P"
expect_ok cdht person list --home "$P"
expect_stdout_contains "Kẻ Trộm Một"
must cdht cert revoke --home "$H" --subject "$b_key" --last-index 0 --reason "laptop stolen"
must cdht person add --home "$B" --name "Kẻ Trộm Hai" --birth-year 1971 --gender male --unit 4400102
sync_to "$B" "$H"
for home in "$H" "$P" "$U"; do
    sync_to "$H" "$home" 2>/dev/null
    expect_ok cdht person list --home "$home"
    expect_stdout_contains "Trần Thị Bình"
    expect_stdout_lacks "Kẻ Trộm"
done
expect_ok cdht quarantine list --home "$U"
expect_stdout_contains "$b_key${TAB}1${TAB}revoked${TAB}revoked after index 0"
expect_stdout_contains "$b_key${TAB}2${TAB}revoked"
expect_exit 1 cdht audit --home "$U"
expect_stdout_contains "revoked"
expect_stdout_contains "laptop stolen"
expect_ok cdht status --home "$U"
expect_stdout_contains "quarantine:    4 (revoked 2, outside-unit 1, not-an-issuer 1; cdht quarantine list)"
expect_ok cdht status --home "$U" --json
expect_stdout_contains '"trust": "pinned"'
expect_stdout_contains '"quarantine": {"revoked": 2, "outside-unit": 1, "not-an-issuer": 1}, "held": 4'
# The stolen laptop, if it ever imports again, is told so.
sync_to "$H" "$B"
expect_ok cdht status --home "$B"
expect_stdout_contains "WARNING:       this device is revoked: its leaves after index 0 do not count"
# Every replica agrees on the state.
h=$(hash_of "$H")
expect_eq "$h" "$(hash_of "$P")" "province and hub hash"
expect_eq "$h" "$(hash_of "$U")" "auditor and hub hash"

# --- scoped export: village A's bundle holds no person of village B ------------------------------
must cdht bundle export --home "$H" --scope 4400101 -o "$T/a.bundle"
new_home fresh 4400101 --trust-root "$VK"
must cdht bundle import --home "$T/fresh" "$T/a.bundle"
expect_ok cdht log list --home "$T/fresh"
expect_stdout_lacks "$b_key"
expect_stdout_contains "$a_key"
expect_ok cdht person list --home "$T/fresh"
expect_stdout_contains "Nguyễn Văn An"
expect_stdout_lacks "Trần Thị Bình"
must cdht log list --home "$T/fresh"
scoped_logs=$(out | grep -v "$(key_of "$T/fresh")")
# --for A's key scopes by A's certificate: the same logs.
must cdht bundle export --home "$H" --for "$a_key" -o "$T/a2.bundle"
new_home fresh2 4400101 --trust-root "$VK"
must cdht bundle import --home "$T/fresh2" "$T/a2.bundle"
must cdht log list --home "$T/fresh2"
expect_eq "$scoped_logs" "$(out | grep -v "$(key_of "$T/fresh2")")" "logs of --for and --scope"

# --- equivocation: laptop A restored from an old copy of its home writes again --------------------
cp -a "$A" "$T/lapA.old"
must cdht person add --home "$A" --name "Hoàng Văn Em" --birth-year 1992 --gender male --unit 4400101
sync_to "$A" "$H"
rm -rf "$A"
mv "$T/lapA.old" "$A"
must cdht person add --home "$A" --name "Võ Thị Giang" --birth-year 1993 --gender female --unit 4400101
must cdht bundle export --home "$A" -o "$T/eq.bundle"
run cdht bundle import --home "$H" "$T/eq.bundle"
expect_ok cdht log equivocations --home "$H"
expect_stdout_contains "$a_key"
expect_ok cdht status --home "$H"
expect_stdout_contains "equivocations: 1"
expect_ok cdht person list --home "$H"
expect_stdout_lacks "Võ Thị Giang"
# The log is frozen at the common prefix (3 leaves): the first history's leaf 3 stops counting.
expect_stdout_lacks "Hoàng Văn Em"
expect_ok cdht quarantine list --home "$H"
expect_stdout_contains "$a_key${TAB}3${TAB}equivocated${TAB}equivocation after index 2"
sync_to "$H" "$U"
expect_ok cdht log equivocations --home "$U"
expect_stdout_contains "$a_key"
expect_exit 1 cdht audit --home "$U"
expect_stdout_contains "equivocation"

finish
