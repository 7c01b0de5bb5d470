#!/usr/bin/env bash
# Proves that a damaged, truncated, extended or foreign bundle, or one forked without proof, is
# refused as a whole (exit 2, "refused", the forked log named) and leaves the importing replica
# exactly as it was; that a validly signed fork is kept as an equivocation proof while the rest
# of the bundle imports; and that the replica still accepts good bundles afterwards.
set -u
. "$(dirname "$0")/lib.sh"

S=$T/s R=$T/r
new_home s C01
new_home r C01
must cdht unit add --home "$S" --code C01 --kind commune --name "Xã Một"
must cdht person add --home "$S" --name "Nguyễn Thị Lan" --birth-year 1990 \
    --gender female --unit C01
must cdht person add --home "$S" --name "Hoàng Văn Minh" --birth-year 1988 --gender male --unit C01
must cdht bundle export --home "$S" -o "$T/s.bundle"
# The target already holds data of its own, so that "unchanged" means something.
must cdht unit add --home "$R" --code C01 --kind commune --name "Xã Một"
must cdht person add --home "$R" --name "Phan Văn Tài" --birth-year 1979 --gender male --unit C01

size=$(file_size "$T/s.bundle")
expect_eq "CDHTBNDL" "$(head -c 8 "$T/s.bundle")" "the bundle starts with its magic"
body_end=$((size - 48)) # first trailer byte

# refused FILE WHAT: importing FILE into R exits 2 with "refused" and changes nothing (R is
# compared with the snapshot taken here, before the first import).
R_SNAP=$(snapshot "$R")
refused() {
    expect_exit 2 cdht bundle import --home "$R" "$1" || echo "    ($2)" >&2
    expect_unchanged "$R" "$R_SNAP" "$2" || R_SNAP=$(snapshot "$R")
    expect_stderr_contains "cdht bundle import: $1: refused: " || echo "    ($2)" >&2
    expect_stderr_contains "nothing was imported"
}

# reseal FILE: recomputes the trailer's SHA-256 over everything before it, so that a change
# reaches the checks behind the whole-file hash.
reseal() {
    head -c $(($(file_size "$1") - 32)) "$1" >"$1.part"
    sha256sum "$1.part" | cut -c1-64 | hex_to_bin >>"$1.part"
    mv "$1.part" "$1"
}
cp "$T/s.bundle" "$T/same"
reseal "$T/same"
expect_ok cmp "$T/s.bundle" "$T/same" # reseal reproduces an intact bundle byte for byte

# --- one byte flipped: header, body, trailer ------------------------------------------------
for ((off = 0; off < 16; off++)); do
    flip_byte "$T/s.bundle" "$T/bad" "$off"
    refused "$T/bad" "header byte $off flipped"
done
for off in 16 17 20 24 32 $((size / 3)) $((size / 2)) $((2 * size / 3)) $((body_end - 2)) \
    $((body_end - 1)); do
    flip_byte "$T/s.bundle" "$T/bad" "$off"
    refused "$T/bad" "body byte $off flipped"
done
# The first and last bytes of each trailer field (inflated size, compressed size, SHA-256) and
# a byte inside each.
for rel in 0 3 7 8 12 15 16 24 31 32 40 47; do
    off=$((body_end + rel))
    flip_byte "$T/s.bundle" "$T/bad" "$off"
    refused "$T/bad" "trailer byte $off flipped"
done

# --- the same damage behind a valid whole-file hash: the inner checks catch it ----------------
for off in 16 17 20 24 32 $((size / 3)) $((size / 2)) $((2 * size / 3)) $((body_end - 1)); do
    flip_byte "$T/s.bundle" "$T/bad" "$off"
    reseal "$T/bad"
    refused "$T/bad" "body byte $off flipped, hash resealed"
done
for spec in "9:2" "8:1" "11:1" "12:1" "15:1"; do # version 2, version 257, flags, reserved
    cp "$T/s.bundle" "$T/bad"
    put_byte "$T/bad" "${spec%:*}" "${spec#*:}"
    reseal "$T/bad"
    refused "$T/bad" "header field ${spec%:*} set to ${spec#*:}, hash resealed"
done
# The declared sizes: inflated size zero, larger, huge; compressed size off by one.
for spec in "$((body_end + 7)):0" "$((body_end + 7)):255" "$body_end:255" "$((body_end + 15)):0"; do
    cp "$T/s.bundle" "$T/bad"
    put_byte "$T/bad" "${spec%:*}" "${spec#*:}"
    reseal "$T/bad"
    refused "$T/bad" "trailer size byte ${spec%:*} set to ${spec#*:}, hash resealed"
done

# --- truncated, extended ------------------------------------------------------------------------
for len in 0 1 8 15 16 17 $((size / 2)) $((body_end - 1)) "$body_end" $((body_end + 16)) \
    $((size - 33)) $((size - 32)) $((size - 1)); do
    head -c "$len" "$T/s.bundle" >"$T/bad"
    refused "$T/bad" "truncated to $len bytes"
done
cp "$T/s.bundle" "$T/bad"
printf '\0' >>"$T/bad"
refused "$T/bad" "one byte appended"
cp "$T/s.bundle" "$T/bad"
printf '\n' >>"$T/bad"
refused "$T/bad" "a newline appended"
cat "$T/s.bundle" "$T/s.bundle" >"$T/bad"
refused "$T/bad" "two bundles in one file"

# --- not a bundle at all -----------------------------------------------------------------------
printf 'id,name\n1,Lan\n' >"$T/people.csv"
refused "$T/people.csv" "a CSV file"
cdht log heads --home "$S" -o "$T/s.heads"
refused "$T/s.heads" "a heads file"
cdht log checkpoint --home "$S" >"$T/s.note"
refused "$T/s.note" "a checkpoint note"
cp "$S/key" "$T/key.copy"
refused "$T/key.copy" "a key file"
printf 'CDHTBNDL' >"$T/magic-only"
refused "$T/magic-only" "the magic alone"
: >"$T/empty"
refused "$T/empty" "an empty file"
refused /dev/null "/dev/null"
refused "$T/no-such-file" "a missing file"
expect_stderr_contains "cannot open bundle"
# A directory is refused as not a regular file (exit 2).
mkdir "$T/adir"
refused "$T/adir" "a directory"
expect_stderr_contains "not a regular file"

# After all that, the intact bundle is accepted.
expect_ok cdht bundle import --home "$R" "$T/s.bundle"
expect_stderr_contains "imported 3 new leaves of 1 logs (0 already held)"
expect_ok cdht audit --home "$R"

# --- a forked log: one key, two histories ---------------------------------------------------
# A laptop restored from an old copy of its home keeps writing with the same key as the
# original: two different leaves at the same index of one log.
L=$T/laptop L2=$T/restored
new_home laptop C01
new_home m C01
must cdht unit add --home "$L" --code C01 --kind commune --name "Xã Một"
must cdht person add --home "$L" --name "Đinh Văn Bảy" --birth-year 1975 --gender male --unit C01
cp -a "$L" "$L2"
kl=$(key_of "$L")
expect_eq "$kl" "$(key_of "$L2")" "the copy has the same key"
must cdht person add --home "$L" --name "Ngô Thị Tám" --birth-year 1992 \
    --gender female --unit C01
must cdht person add --home "$L2" --name "Lý Văn Chín" --birth-year 1993 --gender male --unit C01
must cdht person add --home "$L2" --name "Mai Thị Mười" --birth-year 1994 --gender female --unit C01
# The copy also carries another device's log, which must not slip in either.
must cdht unit add --home "$T/m" --code C01 --kind commune --name "Xã Một"
must cdht bundle export --home "$T/m" -o "$T/m.bundle"
must cdht bundle import --home "$L2" "$T/m.bundle"
must cdht bundle export --home "$L" -o "$T/laptop.bundle"
must cdht bundle export --home "$L2" -o "$T/restored.bundle"

new_home third C01
expect_ok cdht bundle import --home "$T/third" "$T/laptop.bundle"
expect_ok cdht log list --home "$T/third"
expect_stdout_lacks "$(key_of "$T/m") "
# Both histories are validly signed: an equivocation. The proof is kept, the laptop's log stays
# as it was (frozen), and the rest of the bundle (the other device's log) imports.
expect_ok cdht bundle import --home "$T/third" "$T/restored.bundle"
expect_stderr_contains "stored 1 new equivocation proofs"
expect_eq "3" "$(log_size "$T/third" "$kl")" "the held history stays"
expect_ok cdht log list --home "$T/third"
expect_stdout_contains "$(key_of "$T/m") 1 "
expect_ok cdht log equivocations --home "$T/third"
expect_eq "$kl 3 4 2" "$(cdht log equivocations --home "$T/third" | cut -d' ' -f1-4)" \
    "key, our size, theirs, the 2 leaves both share"
expect_ok cdht log equivocations --home "$T/third" --json
expect_stdout_contains "\"prefix\": 2"
expect_output_lacks "Lý Văn Chín"

# The other order: the restored copy's history first, then the original's (the proof is then
# built from the longer history this replica holds).
new_home fourth C01
expect_ok cdht bundle import --home "$T/fourth" "$T/restored.bundle"
expect_ok cdht bundle import --home "$T/fourth" "$T/laptop.bundle"
expect_stderr_contains "stored 1 new equivocation proofs"
expect_eq "$kl 4 3 2" "$(cdht log equivocations --home "$T/fourth" | cut -d' ' -f1-4)" \
    "the proof, seen from the other side"
# The proof travels: a replica holding neither history verifies it from a bundle.
must cdht bundle export --home "$T/fourth" -o "$T/fourth.bundle"
new_home fifth C01
expect_ok cdht bundle import --home "$T/fifth" "$T/fourth.bundle"
expect_stderr_contains "stored 1 new equivocation proofs"
expect_eq "2" "$(log_size "$T/fifth" "$kl")" "frozen at the leaves both histories share"

# A --since export against the other history is refused, and writes no file.
cdht log heads --home "$T/third" -o "$T/third.heads"
expect_exit 2 cdht bundle export --home "$L2" -o "$T/fork.bundle" --since "$T/third.heads"
expect_stderr_contains "forked"
expect_stderr_contains "$kl"
expect_eq "" "$(ls "$T"/fork.bundle* 2>/dev/null)" "a refused export leaves no file"

# The fork seen through an incremental bundle: a hub U took the restored copy's history, the
# copy wrote on, and its --since bundle made for U (it starts at the size both hold) reaches
# a replica that holds the original's history at that same size.
# The original writes one more, so that both histories have 4 leaves.
must cdht person add --home "$L" --name "Quách Thị Mười" --birth-year 1996 \
    --gender female --unit C01
must cdht bundle export --home "$L" -o "$T/laptop2.bundle"
new_home sixth C01
expect_ok cdht bundle import --home "$T/sixth" "$T/laptop2.bundle"
new_home u C01
expect_ok cdht bundle import --home "$T/u" "$T/restored.bundle"
cdht log heads --home "$T/u" -o "$T/u.heads"
must cdht person add --home "$L2" --name "Tôn Thất Mười Một" --birth-year 1960 --gender male \
    --unit C01
expect_ok cdht bundle export --home "$L2" -o "$T/restored-inc.bundle" --since "$T/u.heads"
expect_stderr_contains "exported 1 leaves of 1 logs"
expect_eq "$(log_size "$L" "$kl")" "$(log_size "$T/u" "$kl")" "both histories have the same size"
expect_refused 2 "$T/sixth" cdht bundle import --home "$T/sixth" "$T/restored-inc.bundle"
expect_stderr_contains "$kl"
# From an incremental bundle alone, altered leaves and a fork look the same (the signature
# verifies, the root does not match, the leaves that differ are not in it): no proof can be
# made, and the message names both.
expect_stderr_contains "forked"

# The refused replica keeps working: the other device's log is still welcome.
expect_ok cdht bundle import --home "$T/sixth" "$T/m.bundle"
expect_stderr_contains "imported 1 new leaves of 1 logs"
expect_ok cdht audit --home "$T/sixth"

finish
