#!/usr/bin/env bash
# Proves offline record proofs through the commands alone: a root R certifies a hub H, which
# certifies a writer laptop A; A's person reaches H, which co-signs A's checkpoint on import.
# `cdht prove` on H writes a proof that `cdht verify` accepts with R's verifier key only
# (chain of 2 certificates, 1 cosignature), checked again here by an RFC 9162 inclusion
# verification written in shell; another root, an altered leaf, a truncated file and a missing
# one fail with their exit codes and messages; the leaf's bytes are shown only on request; a
# leaf held in quarantine is refused unless --allow-held.
set -u
. "$(dirname "$0")/lib.sh"

new_home R 44 --root
must cdht whoami --home "$T/R"
sed -n 2p "$OUT" >"$T/root.vkey"
root_vkey=$(cat "$T/root.vkey")
new_home H 44001 --trust-root "$root_vkey"
new_home A 4400101 --trust-root "$root_vkey"
must cdht unit add --home "$T/R" --code 44 --kind province --name P
must cdht unit add --home "$T/R" --code 44001 --kind commune --name C --parent 44
must cdht enroll request --home "$T/H" -o "$T/h.req"
must cdht cert issue --home "$T/R" "$T/h.req" --role hub --unit 44001
must cdht bundle export --home "$T/R" -o "$T/r.bundle"
must cdht bundle import --home "$T/H" "$T/r.bundle"
must cdht unit add --home "$T/H" --code 4400101 --kind village --name V1 --parent 44001
must cdht unit add --home "$T/H" --code 4400102 --kind village --name V2 --parent 44001
must cdht enroll request --home "$T/A" -o "$T/a.req"
must cdht cert issue --home "$T/H" "$T/a.req" --role writer --unit 4400101
must cdht bundle export --home "$T/H" -o "$T/h.bundle"
must cdht bundle import --home "$T/A" "$T/h.bundle"
must cdht person add --home "$T/A" --name "Nguyễn Văn An" --birth-year 1990 --gender male \
    --unit 4400101
must cdht bundle export --home "$T/A" -o "$T/a.bundle"
must cdht bundle import --home "$T/H" "$T/a.bundle"
A=$(key_of "$T/A")
H_vkey=$(cdht whoami --home "$T/H" | sed -n 2p)

# --- prove and verify ----------------------------------------------------------------------------
expect_ok cdht prove --home "$T/H" --log "$A" --index 0 -o "$T/p"
expect_stderr_contains "wrote the proof of leaf 0: signed checkpoint size 1, chain of 2 certificates, 1 cosignatures"
expect_eq "cdht-proof/1" "$(sed -n 1p "$T/p")" "first line"
expect_ok cdht verify "$T/p" --trust-root "$T/root.vkey"
expect_stdout_contains "verified: leaf 0 of log $A, signed checkpoint size 1, chain of 2 certificates to the root; 1 cosignatures"
expect_stdout_contains "signer's grant: writer"
expect_stdout_contains "cosigned by witness $(key_of "$T/H") at "
expect_stdout_contains "not checked offline: that the certificates' units cover the record"
expect_output_lacks "Nguy"
leaf_b64=$(sed -n 4p "$T/p" | cut -d' ' -f2)
expect_output_lacks "$leaf_b64"
expect_ok cdht verify "$T/p" --trust-root "$root_vkey" --show-leaf
expect_stdout_contains "leaf $leaf_b64"
must cdht log leaf --home "$T/H" --log "$A" --index 0
expect_eq "$leaf_b64" "$(base64 -w0 <"$OUT")" "--show-leaf prints the leaf's bytes in base64"

# The record's part, checked without cdht: leaf hash, audit path, root of the note.
printf '%s' "$leaf_b64" | base64 -d >"$T/leaf.bin"
n=$(sed -n 5p "$T/p" | cut -d' ' -f2)
path=()
for ((i = 0; i < n; i++)); do
    path+=("$(sed -n "$((6 + i))p" "$T/p" | b64_hex)")
done
size=$(sed -n "$((8 + n))p" "$T/p")
root_hex=$(sed -n "$((9 + n))p" "$T/p" | b64_hex)
expect_eq 1 "$size" "the signed size in the note"
if verify_inclusion 0 "$size" "$(leaf_hash "$T/leaf.bin")" "$root_hex" ${path[@]+"${path[@]}"}; then
    pass
else
    fail "the record's inclusion proof does not verify in shell"
fi

# --- failures ----------------------------------------------------------------------------------
expect_exit 1 cdht verify "$T/p" --trust-root "$H_vkey"
expect_stderr_contains "cdht verify: the proof does not verify: the chain ends at key $(key_of "$T/R"), which is not the pinned root $(key_of "$T/H")"

# One base64 character of the leaf changed (still base64): the leaf is not in the tree.
c=${leaf_b64:10:1}
if [ "$c" = A ]; then d=B; else d=A; fi
sed "4s|^leaf .*|leaf ${leaf_b64:0:10}$d${leaf_b64:11}|" "$T/p" >"$T/p-leaf"
expect_exit 1 cdht verify "$T/p-leaf" --trust-root "$T/root.vkey"
expect_stderr_contains "record, leaf 0 of log $A: the leaf is not included in the signed checkpoint of size 1 (RFC 6962 inclusion proof fails)"

head -c 300 "$T/p" >"$T/p-cut"
expect_exit 2 cdht verify "$T/p-cut" --trust-root "$T/root.vkey"
expect_stderr_contains "is not a readable cdht-proof/1 file: corrupt data"
expect_exit 2 cdht verify "$T/missing" --trust-root "$T/root.vkey"
expect_stderr_contains "cannot read $T/missing"
expect_exit 2 cdht verify "$T/p" --trust-root "not-a-key"
expect_stderr_contains "--trust-root: not a verifier key"
expect_exit 2 cdht verify "$T/p"
expect_stderr_contains "--trust-root VKEY is required"

# --- refusals ------------------------------------------------------------------------------------
expect_refused 2 "$T/H" cdht prove --home "$T/H" --log "$A" --index 5 -o "$T/p5"
expect_stderr_contains "refused: leaf 5 does not exist: log $A holds 1 leaves; nothing was written"
if [ -e "$T/p5" ]; then fail "a refused proof left a file"; else pass; fi
expect_exit 2 cdht prove --home "$T/H" --log "$A" --index 0
expect_stderr_contains "-o FILE is required"

# A writes a person of another village (a modified laptop): H holds the leaf in quarantine.
CDHT_TEST_UNCHECKED_WRITES=1 must cdht person add --home "$T/A" --name "Trần Bình" \
    --birth-year 1991 --gender female --unit 4400102
must cdht bundle export --home "$T/A" -o "$T/a2.bundle"
must cdht bundle import --home "$T/H" "$T/a2.bundle"
expect_exit 2 cdht prove --home "$T/H" --log "$A" --index 1 -o "$T/p1"
expect_stderr_contains "refused: leaf 1 of log $A is held in quarantine (outside-unit"
expect_ok cdht prove --home "$T/H" --log "$A" --index 1 -o "$T/p1" --allow-held
expect_ok cdht verify "$T/p1" --trust-root "$T/root.vkey"
expect_stdout_contains "verified: leaf 1 of log $A, signed checkpoint size 2, chain of 2 certificates to the root; 1 cosignatures"

finish
