#!/usr/bin/env bash
# Proves enrolment through the commands alone, in open mode (no root pinned, as `cdht init
# --unit` makes it): a laptop's `enroll request` is one short signed line (or a 0644 file), the
# hub's `cert issue` refuses garbage, altered and other-network requests, unknown units, bad
# roles and past dates with exit 2 and the exact message and without writing anything, and
# otherwise appends exactly one leaf carrying the laptop's key; `cert revoke` refuses a bad key
# and appends one leaf; the listings say open mode; the certificate reaches the laptop in a
# bundle.
set -u
. "$(dirname "$0")/lib.sh"

HUB=$T/hub
LAP=$T/lap
new_home hub 44
new_home lap 44001 --name "Thon 3 - laptop 2"
new_home far 44 --network other
must cdht unit add --home "$HUB" --code 44 --kind province --name "Tỉnh Quảng Bình"
hub_key=$(key_of "$HUB")
lap_key=$(key_of "$LAP")

# --- the request -----------------------------------------------------------------------------
expect_ok cdht enroll request --home "$LAP"
expect_eq 1 "$(wc -l <"$OUT")" "lines of the request"
req=$(out)
expect_match '^cdht-enroll1:[A-Za-z0-9_-]+$' "$req" "the request's shape"
if [ "${#req}" -lt 300 ]; then pass; else fail "the request is ${#req} characters (>= 300)"; fi
expect_stderr_contains "send this to your hub: cdht cert issue REQUEST --role writer"
expect_output_lacks "$lap_key"

expect_ok cdht enroll request --home "$LAP" -o "$T/req.txt"
expect_eq "" "$(out)" "nothing on stdout with -o"
expect_eq 644 "$(stat -c %a "$T/req.txt")" "mode of the request file"
expect_eq "$req" "$(cat "$T/req.txt")" "the file holds the same request (Ed25519 is deterministic)"
expect_eq "" "$(ls "$T" | grep '\.tmp\.')" "no temporary file left"

expect_exit 2 cdht enroll request --home "$LAP" --role root
expect_stderr_contains "cdht enroll request: --role: must be writer, approver, hub, auditor or reporter"

# --- refused requests: exit 2, nothing written --------------------------------------------------
expect_refused 2 "$HUB" cdht cert issue --home "$HUB" "cdht-enroll1:AAAA" --role writer --unit 44
expect_stderr_contains "cdht cert issue: not a valid enrolment request: the request's fields do not decode (cut short, damaged, or a field missing); nothing was written"

printf 'hello hub\n' >"$T/garbage.txt"
expect_refused 2 "$HUB" cdht cert issue --home "$HUB" "$T/garbage.txt" --role writer --unit 44
expect_stderr_contains "cdht cert issue: not a valid enrolment request: the request does not start with cdht-enroll1:; nothing was written"

expect_refused 2 "$HUB" cdht cert issue --home "$HUB" "$T/missing.txt" --role writer --unit 44
expect_stderr_contains "cdht cert issue: cannot read the request file $T/missing.txt: not found"

# One character of the key changed (base64url position 20 lies inside the key): the signature
# no longer verifies.
c=${req:20:1}
if [ "$c" = A ]; then d=B; else d=A; fi
altered=${req:0:20}$d${req:21}
expect_refused 2 "$HUB" cdht cert issue --home "$HUB" "$altered" --role writer --unit 44
expect_stderr_contains "cdht cert issue: not a valid enrolment request: the request's signature does not verify (altered, or not made with its key); nothing was written"

must cdht enroll request --home "$T/far"
far_req=$(out)
expect_refused 2 "$HUB" cdht cert issue --home "$HUB" "$far_req" --role writer --unit 44
expect_stderr_contains "cdht cert issue: the request is for network other, this replica is network cdht; nothing was written"
expect_output_lacks "$(key_of "$T/far")"

# The request's unit (44001) is not a unit the hub holds.
expect_refused 2 "$HUB" cdht cert issue --home "$HUB" "$req" --role writer
expect_stderr_contains "cdht cert issue: unknown unit 44001 (cdht unit list shows the units this replica holds; --unit picks another); nothing was written"

expect_refused 2 "$HUB" cdht cert issue --home "$HUB" "$req" --role root --unit 44
expect_stderr_contains "cdht cert issue: --role: must be writer, approver, hub, auditor or reporter"
expect_refused 2 "$HUB" cdht cert issue --home "$HUB" "$req" --unit 44
expect_stderr_contains "cdht cert issue: --role is required: writer, approver, hub, auditor or reporter"
expect_refused 2 "$HUB" cdht cert issue --home "$HUB" "$req" --role writer --unit 44 \
    --expires 2020-01-01
expect_stderr_contains "cdht cert issue: --expires: the date is in the past"
expect_refused 2 "$HUB" cdht cert issue --home "$HUB" "$req" --role writer --unit 44 \
    --expires 26-1-1
expect_stderr_contains "cdht cert issue: --expires: "

# --- a good request: one leaf --------------------------------------------------------------------
before=$(log_size "$HUB" "$hub_key")
expect_ok cdht cert issue --home "$HUB" "$T/req.txt" --role writer --unit 44 --expires 2099-12-31
expect_stdout_contains "certified $lap_key as writer of unit 44: leaf $before of this device's log; deliver it in a bundle"
expect_eq $((before + 1)) "$(log_size "$HUB" "$hub_key")" "one leaf appended by cert issue"
must cdht log leaf --home "$HUB" --log "$hub_key" --index "$before"
leaf_hex=$(od -An -tx1 "$OUT" | tr -d ' \n')
lap_hex=$(printf '%s' "$lap_key" | b64_hex)
expect_match "$lap_hex" "$leaf_hex" "the certificate leaf carries the laptop's key"

# The role on the command line wins; the difference is noted.
expect_ok cdht cert issue --home "$HUB" "$req" --role hub --unit 44
expect_stderr_contains "cdht cert issue: note: the request asked for role writer; issuing hub as --role says"
expect_eq $((before + 2)) "$(log_size "$HUB" "$hub_key")" "a second certificate, a second leaf"

# --- revocation ------------------------------------------------------------------------------
expect_refused 2 "$HUB" cdht cert revoke --home "$HUB" --subject not-a-key --none --reason "laptop stolen"
expect_stderr_contains "cdht cert revoke: --subject: not a base64 Ed25519 public key (44 characters)"
expect_refused 2 "$HUB" cdht cert revoke --home "$HUB" --subject "$lap_key" --none \
    --last-index 3 --reason "laptop stolen"
expect_stderr_contains "give exactly one of --last-index N"
expect_refused 2 "$HUB" cdht cert revoke --home "$HUB" --subject "$lap_key" --none
expect_stderr_contains "--reason TEXT is required"
expect_ok cdht cert revoke --home "$HUB" --subject "$lap_key" --last-index 0 --reason "laptop stolen"
expect_stdout_contains "revoked $lap_key after its leaf 0: leaf $((before + 2)) of this device's log"
expect_eq $((before + 3)) "$(log_size "$HUB" "$hub_key")" "one leaf appended by cert revoke"

# --- open mode listings ------------------------------------------------------------------------
expect_ok cdht cert list --home "$HUB"
expect_stderr_contains "open mode: no root pinned; nothing is authorised"
expect_eq "" "$(out)" "no device is listed in open mode"
expect_ok cdht cert list --home "$HUB" --json
expect_eq "[]" "$(out)" "an empty JSON list in open mode"
expect_exit 2 cdht cert show --home "$HUB" "$lap_key"
expect_stderr_contains "cdht cert show: no valid certificate chain for this key"
expect_ok cdht quarantine list --home "$HUB"
expect_stderr_contains "0 leaves in quarantine"
expect_ok cdht quarantine list --home "$HUB" --json
expect_eq "[]" "$(out)" "an empty quarantine in JSON"

# --- the certificate travels in a bundle -------------------------------------------------------------
must cdht bundle export --home "$HUB" -o "$T/hub.bundle"
must cdht bundle import --home "$LAP" "$T/hub.bundle"
expect_eq $((before + 3)) "$(log_size "$LAP" "$hub_key")" "the laptop holds the hub's log"

finish
