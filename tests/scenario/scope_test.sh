#!/usr/bin/env bash
# Proves scoped bundles through the commands alone (DESIGN.md section 6): root R (province 44),
# hub H (commune 44001), writers A (village 4400101) and B (village 4400102) enrolled with
# `cdht cert issue`. The hub's `bundle export --scope 4400101` and `--for A's key` carry R's, H's
# and A's logs and not B's; an unscoped export warns; A importing an unscoped bundle stores
# nothing of B's log and says so; refusals (open mode, unknown key, unknown unit, both options)
# exit 2 and write nothing.
set -u
. "$(dirname "$0")/lib.sh"

R=$T/r
H=$T/h
A=$T/a
B=$T/b
new_home r 44 --root
root_vkey=$("$CDHT" whoami --home "$R" | sed -n 2p)
new_home h 44001 --trust-root "$root_vkey"
new_home a 4400101 --trust-root "$root_vkey"
new_home b 4400102 --trust-root "$root_vkey"
new_home open 4400101
r_key=$(key_of "$R")
h_key=$(key_of "$H")
a_key=$(key_of "$A")
b_key=$(key_of "$B")

# ship FROM TO [export options...]: a bundle from FROM imported by TO.
ship() {
    local from=$1 to=$2
    shift 2
    must cdht bundle export --home "$from" -o "$T/ship.bundle" "$@"
    must cdht bundle import --home "$to" "$T/ship.bundle"
}

# --- the deployment ----------------------------------------------------------------------------
must cdht unit add --home "$R" --code 44 --kind province --name "Tinh 44"
must cdht unit add --home "$R" --code 44001 --kind commune --name "Xa 44001" --parent 44
must cdht enroll request --home "$H" --role hub
must cdht cert issue --home "$R" "$(out)" --role hub --unit 44001
ship "$R" "$H"
must cdht unit add --home "$H" --code 4400101 --kind village --name "Thon 1" --parent 44001
must cdht unit add --home "$H" --code 4400102 --kind village --name "Thon 2" --parent 44001
must cdht enroll request --home "$A"
must cdht cert issue --home "$H" "$(out)" --role writer --unit 4400101
must cdht enroll request --home "$B"
must cdht cert issue --home "$H" "$(out)" --role writer --unit 4400102
ship "$H" "$A"
ship "$H" "$B"
must cdht person add --home "$A" --name "Nguyen Van An" --birth-year 1985 --gender male \
    --unit 4400101
must cdht person add --home "$B" --name "Tran Thi Binh" --birth-year 1990 --gender female \
    --unit 4400102
ship "$A" "$H"
ship "$B" "$H"
expect_ne "" "$(log_size "$H" "$b_key")" "the hub holds B's log"

# --- scoped exports -----------------------------------------------------------------------------
expect_ok cdht bundle export --home "$H" -o "$T/unit.bundle" --scope 4400101
expect_stderr_contains "exported "
expect_stderr_contains "of 3 logs to $T/unit.bundle"
expect_stderr_contains "left out 1 logs outside the recipient's scope"
expect_stderr_lacks "warning"
expect_ok cdht bundle export --home "$H" -o "$T/for.bundle" --for "$a_key"
expect_stderr_contains "of 3 logs to $T/for.bundle"
expect_stderr_contains "left out 1 logs outside the recipient's scope"
expect_eq "$(sha256sum <"$T/unit.bundle")" "$(sha256sum <"$T/for.bundle")" \
    "--scope 4400101 and --for A's key write the same bundle"

# What the scoped bundle carries, read by a fresh replica in open mode (no scope applies there).
new_home reader 44
must cdht bundle import --home "$T/reader" "$T/unit.bundle"
expect_ne "" "$(log_size "$T/reader" "$r_key")" "the root's log is in the scoped bundle"
expect_ne "" "$(log_size "$T/reader" "$h_key")" "the hub's log is in the scoped bundle"
expect_ne "" "$(log_size "$T/reader" "$a_key")" "A's log is in the scoped bundle"
expect_eq "" "$(log_size "$T/reader" "$b_key")" "B's log is not in the scoped bundle"

# --- an unscoped export warns; the import leaves B out ------------------------------------------
expect_ok cdht bundle export --home "$H" -o "$T/all.bundle"
expect_stderr_contains "warning: no --for KEY or --scope UNIT: the bundle carries every log"
expect_stderr_contains "of 4 logs to $T/all.bundle"
expect_ok cdht bundle import --home "$A" "$T/all.bundle"
expect_stderr_contains "skipped 1 logs outside this replica's scope"
expect_eq "" "$(log_size "$A" "$b_key")" "A stores nothing of B's log"
expect_ok cdht person list --home "$A" --format csv
expect_stdout_lacks "Binh"
expect_output_lacks "Binh"
expect_ok cdht bundle import --home "$R" "$T/all.bundle"
expect_stderr_lacks "skipped"
expect_ne "" "$(log_size "$R" "$b_key")" "the root holds B's log"

# --- refusals: exit 2, nothing written ----------------------------------------------------------
x=$(key_of "$T/reader")
expect_exit 2 cdht bundle export --home "$H" -o "$T/x.bundle" --for "$x"
expect_stderr_contains "cdht bundle export: --for: this key holds no valid certificate chain here"
expect_exit 2 cdht bundle export --home "$H" -o "$T/x.bundle" --for not-a-key
expect_stderr_contains "cdht bundle export: --for: not a base64 Ed25519 public key"
expect_exit 2 cdht bundle export --home "$H" -o "$T/x.bundle" --scope 4400199
expect_stderr_contains "cdht bundle export: --scope: unknown unit 4400199"
expect_exit 2 cdht bundle export --home "$H" -o "$T/x.bundle" --scope 4400101 --for "$a_key"
expect_stderr_contains "give --for KEY or --scope UNIT, not both"
expect_exit 2 cdht bundle export --home "$T/open" -o "$T/x.bundle" --scope 4400101
expect_stderr_contains "no root pinned (open mode): there are no certificates to scope a bundle by"
expect_eq "" "$(ls "$T" | grep -F x.bundle)" "no bundle written by a refused export"

finish
