#!/usr/bin/env bash
# Proves that a Vietnamese name typed decomposed (NFD), half composed, with its combining marks
# in either order, or with stray white space, is stored and replicated as the same NFC bytes,
# byte for byte, in the table and in the signed log leaf.
set -u
. "$(dirname "$0")/lib.sh"

H=$T/h
new_home h C01

# The NFC bytes every spelling below must come out as.
nfc_name() { printf 'Nguy\xe1\xbb\x85n V\xc4\x83n Th\xe1\xbb\x8b'; }           # Nguyễn Văn Thị
nfd_name() { printf 'Nguye\xcc\x82\xcc\x83n Va\xcc\x86n Thi\xcc\xa3'; }         # all decomposed
mixed_name() { printf 'Nguy\xc3\xaa\xcc\x83n V\xc4\x83n Thi\xcc\xa3'; }         # ê + U+0303
mixed2_name() { printf 'Nguye\xcc\x82\xcc\x83n V\xc4\x83n Th\xe1\xbb\x8b'; }    # e + two marks
spaced_name() { printf '  Nguye\xcc\x82\xcc\x83n \t V\xc4\x83n\xc2\xa0\xc2\xa0Thi\xcc\xa3 \n'; }
# Two combining marks in either order (dot below, class 220, sorts before the circumflex and
# the breve, class 230): both orders are one character.
le_nfc() { printf '\xc4\x90\xe1\xba\xb7ng Th\xe1\xbb\x8b L\xe1\xbb\x87'; }       # Đặng Thị Lệ
le_a() { printf '\xc4\x90a\xcc\xa3\xcc\x86ng Thi\xcc\xa3 Le\xcc\xa3\xcc\x82'; }
le_b() { printf '\xc4\x90a\xcc\x86\xcc\xa3ng Thi\xcc\xa3 Le\xcc\x82\xcc\xa3'; }
# NFC is not NFKC: a compatibility character (the ligature U+FB01) is kept as typed.
lig_name() { printf 'Ph\xc6\xb0\xef\xac\x81 Ho\xcc\x80a'; }                     # "Phưﬁ Hòa"
lig_nfc() { printf 'Ph\xc6\xb0\xef\xac\x81 H\xc3\xb2a'; }

# The inputs really are different bytes (the test would prove nothing otherwise).
expect_ne "$(nfc_name | od -An -tx1)" "$(nfd_name | od -An -tx1)" "NFD input differs from NFC"
expect_ne "$(nfc_name | od -An -tx1)" "$(mixed_name | od -An -tx1)" "mixed input differs from NFC"
expect_ne "$(le_a | od -An -tx1)" "$(le_b | od -An -tx1)" "the two mark orders differ"

must cdht unit add --home "$H" --code C01 --kind commune \
    --name "$(printf 'Xa\xcc\x83 Mo\xcc\x82\xcc\xa3t')"

declare -A want # id -> function printing the expected NFC bytes
add() {         # add EXPECTED INPUT: registers a person named INPUT, expects EXPECTED stored
    must cdht person add --home "$H" --name "$($2)" --birth-year 1980 --gender male --unit C01
    want[$(out)]=$1
}
add nfc_name nfc_name
add nfc_name nfd_name
add nfc_name mixed_name
add nfc_name mixed2_name
add nfc_name spaced_name
add le_nfc le_a
add le_nfc le_b
add le_nfc le_nfc
add lig_nfc lig_name

# stored_name ID FILE: the name column of ID in `person list --format csv`, as raw bytes.
stored_name() {
    "$CDHT" person list --home "$H" --format csv | grep "^$1," | cut -d, -f2 | tr -d '\n' >"$2"
}

check_all() {
    local id
    for id in "${!want[@]}"; do
        stored_name "$id" "$T/got"
        "${want[$id]}" >"$T/want"
        if cmp -s "$T/want" "$T/got"; then
            pass
        else
            fail "$1: person $id: stored name is not the NFC form ${want[$id]}:" \
                "want $(od -An -tx1 "$T/want" | tr -d '\n')," \
                "got $(od -An -tx1 "$T/got" | tr -d '\n')"
        fi
    done
}
check_all "local add"

# names: the name column of `person list --format csv`, one per line.
names() { "$CDHT" person list --home "$H" --format csv | cut -d, -f2; }
# Five spellings of one name and three of another are stored as just two byte strings.
expect_eq 5 "$(names | grep -cxF "$(nfc_name)")" \
    "people stored as $(nfc_name)"
expect_eq 3 "$(names | grep -cxF "$(le_nfc)")" \
    "people stored as $(le_nfc)"
expect_eq 0 "$(names | grep -c "$(printf '\xcc')")" \
    "no combining mark (U+0300..U+033F) is left in any stored name"

# The unit name too.
cdht unit list --home "$H" | grep '^C01	' | cut -f4 | tr -d '\n' >"$T/got"
printf 'X\xc3\xa3 M\xe1\xbb\x99t' >"$T/want" # Xã Một
expect_ok cmp "$T/want" "$T/got"

# `person set --name` normalises the same way.
id=$(for i in "${!want[@]}"; do [ "${want[$i]}" = lig_nfc ] && echo "$i"; done)
must cdht person set --home "$H" "$id" --name "$(nfd_name)"
want[$id]=nfc_name
check_all "person set"

# The log leaf carries the NFC bytes, so every replica stores them, whatever it would do itself.
key=$(key_of "$H")
size=$(log_size "$H" "$key")
cdht log leaf --home "$H" --log "$key" --index $((size - 1)) >"$T/leaf"
expect_ok grep -qaF "$(nfc_name)" "$T/leaf"
expect_exit 1 grep -qaF "$(nfd_name)" "$T/leaf"

# A replica that imports the log shows the same bytes.
new_home r C01
must cdht bundle export --home "$H" -o "$T/h.bundle"
must cdht bundle import --home "$T/r" "$T/h.bundle"
H=$T/r
check_all "after import"
expect_eq "$(hash_of "$T/h")" "$(hash_of "$T/r")" "hash after import"

finish
