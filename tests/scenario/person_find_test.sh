#!/usr/bin/env bash
# Proves that `cdht person find` finds a name typed without diacritics, in any case, order or
# spacing, whether it was stored from NFC or NFD input; that a 12-digit search looks the citizen
# id up by its hash and never prints it; that `cdht person duplicates` lists both kinds of
# groups (same citizen id, same folded name and birth year) with exit 1; that output is bounded;
# and that bad arguments give exit 2 with the exact message, write nothing and echo nothing.
set -u
. "$(dirname "$0")/lib.sh"

H=$T/h
new_home h C01

# "Nguyễn Văn Trường" as NFC bytes and as NFD bytes (e + U+0302 + U+0303, a + U+0306,
# u + U+031B, o + U+031B + U+0300), written as escapes so no editor can normalise them.
nfc_truong() { printf 'Nguy\xe1\xbb\x85n V\xc4\x83n Tr\xc6\xb0\xe1\xbb\x9dng'; }
nfd_truong() { printf 'Nguye\xcc\x82\xcc\x83n Va\xcc\x86n Tru\xcc\x9bo\xcc\x9b\xcc\x80ng'; }
CID=001085012345 # shape-valid for a man born in 1985 (province 001, century digit 0)

must cdht unit add --home "$H" --code C01 --kind commune --name "Xã Một"
must cdht unit add --home "$H" --code C01.T01 --kind village --name "Thôn 1" --parent C01

# add NAME YEAR GENDER UNIT [more person add flags]: registers one person, prints nothing; the
# id is in $id.
add() {
    local name=$1 year=$2 gender=$3 unit=$4
    shift 4
    must cdht person add --home "$H" --name "$name" --birth-year "$year" --gender "$gender" \
        --unit "$unit" "$@"
    id=$(out)
}
add "$(nfc_truong)" 1980 male C01
truong_nfc=$id
add "$(nfd_truong)" 1975 male C01.T01 # another man of the same name, typed in NFD
truong_nfd=$id
add "Trần Văn Trường" 1990 male C01
tran=$id
add "Đặng Thị Lệ" 1988 female C01.T01
dang=$id
add "Lê Văn An" 1985 male C01 --citizen-id "$CID"
cid_a=$id
add "Lê An" 1985 male C01.T01 --citizen-id "$CID" # the same citizen id, declared twice
cid_b=$id
add "Phạm Thị Hòa" 1992 female C01
hoa_a=$id
add "  PHẠM   thị HÒA " 1992 female C01.T01 # same name and year, other case and spacing
hoa_b=$id
add "Phạm Thị Hòa" 1993 female C01 # same name, another year: not a duplicate
hoa_other=$id

# --- person find -------------------------------------------------------------------------
# The issue's example: both spellings of the stored name are found, nobody else.
expect_ok cdht person find --home "$H" "nguyen van truong"
expect_stdout_contains "$truong_nfc	$(nfc_truong)	1980	male	C01	"
expect_stdout_contains "$truong_nfd	$(nfc_truong)	1975	male	C01.T01	"
expect_eq 2 "$(wc -l <"$OUT")" "rows for nguyen van truong"
expect_eq "" "$(cat "$ERR")" "stderr of a search that found people"

# Case, order, spacing, unquoted words, prefixes and diacritics in the search all fold away.
expect_ok cdht person find --home "$H" "  TRƯỜNG   nguyễn "
expect_eq 2 "$(wc -l <"$OUT")" "rows for TRƯỜNG nguyễn"
expect_ok cdht person find --home "$H" nguyen van truong
expect_eq 2 "$(wc -l <"$OUT")" "rows for three unquoted words"
expect_ok cdht person find --home "$H" "$(nfd_truong)"
expect_eq 2 "$(wc -l <"$OUT")" "rows for an NFD search"
expect_ok cdht person find --home "$H" "ng v tr"
expect_eq 2 "$(wc -l <"$OUT")" "rows for ng v tr"
expect_ok cdht person find --home "$H" dang le
expect_stdout_contains "$dang	Đặng Thị Lệ	"

# "truong" alone: all three are whole-word matches, so they sort by folded name, and
# "nguyen ..." comes before "tran ...".
expect_ok cdht person find --home "$H" truong --format csv
expect_eq "id,name,birth_year,gender,unit,group" "$(sed -n 1p "$OUT")" "csv header"
expect_eq 4 "$(wc -l <"$OUT")" "csv rows for truong"
expect_match "^$tran," "$(sed -n 4p "$OUT")" "Trần sorts after the two Nguyễn"
# The exact name sorts before names that merely contain the words, although "van truong"
# comes after "nguyen van truong" and "tran van truong" in the alphabet.
add "Văn Trường" 1970 male C01
van=$id
expect_ok cdht person find --home "$H" "van truong"
expect_eq 4 "$(wc -l <"$OUT")" "rows for van truong"
expect_match "^$van	" "$(sed -n 1p "$OUT")" "exact match first"
expect_match "^$tran	" "$(sed -n 4p "$OUT")" "then by folded name"

# --unit limits the search; JSON has the same fields as person list.
expect_ok cdht person find --home "$H" truong --unit C01.T01 --format json
expect_stdout_contains "\"id\": \"$truong_nfd\""
expect_stdout_lacks "$truong_nfc"
expect_stdout_contains '"birth_year": 1975, "gender": "male", "unit": "C01.T01", "group": ""'

# Nobody found: exit 0, empty output, the reason on stderr, the search not repeated.
expect_ok cdht person find --home "$H" "uyen"
expect_eq "" "$(cat "$OUT")" "stdout when nothing matches"
expect_eq "cdht person find: no person matches" "$(cat "$ERR")" "stderr when nothing matches"
expect_ok cdht person find --home "$H" "Hoàng Văn Nam" --format json
expect_eq "[]" "$(cat "$OUT")" "json when nothing matches"

# A citizen id is looked up by its hash: both declarations are found, the digits never shown.
expect_ok cdht person find --home "$H" "$CID"
expect_stdout_contains "$cid_a	Lê Văn An	1985	male	C01	"
expect_stdout_contains "$cid_b	Lê An	1985	male	C01.T01	"
expect_output_lacks "$CID"
expect_ok cdht person find --home "$H" "001 085 012 345"
expect_eq 2 "$(wc -l <"$OUT")" "a citizen id typed in groups of three"
expect_ok cdht person find --home "$H" 001085012346
expect_eq "cdht person find: no person matches" "$(cat "$ERR")" "an unknown citizen id"
expect_output_lacks 001085012346

# --- person duplicates -------------------------------------------------------------------
expect_exit 1 cdht person duplicates --home "$H"
expect_stdout_contains "1	same citizen id	$cid_a	Lê Văn An	1985	C01"
expect_stdout_contains "1	same citizen id	$cid_b	Lê An	1985	C01.T01"
expect_stdout_contains "	same name and birth year	$hoa_a	Phạm Thị Hòa	1992	C01"
expect_stdout_contains "	same name and birth year	$hoa_b	PHẠM thị HÒA	1992	C01.T01"
expect_stdout_lacks "$hoa_other"
expect_stdout_lacks "$truong_nfc" # same name, other birth years
expect_stdout_lacks "$CID"
expect_eq 4 "$(wc -l <"$OUT")" "duplicate rows"
expect_eq "cdht person duplicates: 2 groups, 4 rows" "$(cat "$ERR")" "duplicates summary"
# The two rows of a group share its number; the two groups have different numbers.
expect_eq 2 "$(cut -f1 "$OUT" | sort -u | wc -l)" "group numbers"

expect_exit 1 cdht person duplicates --home "$H" --format csv
expect_eq "group,reason,id,name,birth_year,unit" "$(sed -n 1p "$OUT")" "duplicates csv header"
expect_stdout_contains "1,same citizen id,$cid_a,Lê Văn An,1985,C01"
expect_exit 1 cdht person duplicates --home "$H" --format json
expect_stdout_contains '{"group": 1, "reason": "same citizen id", "people": ['
expect_stdout_contains '{"group": 2, "reason": "same name and birth year", "people": ['
expect_stdout_contains "{\"id\": \"$hoa_b\", \"name\": \"PHẠM thị HÒA\", \"birth_year\": 1992, \"unit\": \"C01.T01\"}"

# --unit keeps the groups with a member in the unit, shown whole.
expect_exit 1 cdht person duplicates --home "$H" --unit C01.T01 --format csv
expect_eq 5 "$(wc -l <"$OUT")" "both groups touch C01.T01 (header and 4 rows)"
expect_exit 0 cdht person duplicates --home "$H" --unit C99
expect_eq "cdht person duplicates: no duplicates found" "$(cat "$ERR")" "no group in C99"

# Removing one of each pair leaves no duplicates.
must cdht person rm --home "$H" "$cid_b"
must cdht person rm --home "$H" "$hoa_b"
expect_exit 0 cdht person duplicates --home "$H"
expect_eq "" "$(cat "$OUT")" "no duplicates left"
expect_eq "cdht person duplicates: no duplicates found" "$(cat "$ERR")" "none found"
expect_ok cdht person find --home "$H" "$CID"
expect_eq 1 "$(wc -l <"$OUT")" "a removed person is not found"

# --- bounded output ----------------------------------------------------------------------
for _ in $(seq 1 102); do
    must cdht person add --home "$H" --name "Võ Thị Mai" --birth-year 2000 --gender female \
        --unit C01
done
expect_ok cdht person find --home "$H" "vo mai"
expect_eq 100 "$(wc -l <"$OUT")" "rows shown at most"
expect_eq "cdht person find: 2 more matches not shown (at most 100 are); add letters or --unit" \
    "$(cat "$ERR")" "the count of rows not shown"

# --- bad arguments: exit 2, the exact message, nothing written, nothing echoed ------------
refused() { # refused MESSAGE CMD...: exit 2, first stderr line is MESSAGE, replica unchanged
    local want=$1
    shift
    expect_refused 2 "$H" "$@"
    expect_eq "$want" "$(sed -n 1p "$ERR")" "message of: $*"
}
refused "cdht person find: give the name (or the 12-digit citizen id) to search for" \
    cdht person find --home "$H"
expect_stderr_contains "usage: cdht person find --home DIR TEXT [--unit CODE] [--format table|csv|json]"
refused "cdht person find: nothing to search for" cdht person find --home "$H" "  "
refused "cdht person find: a citizen id has 12 digits; to search by name, give letters" \
    cdht person find --home "$H" 0010850123
expect_output_lacks 0010850123
refused "cdht person find: the search text is not valid UTF-8" \
    cdht person find --home "$H" "$(printf 'Nguy\xffn')"
refused "cdht person find: the search has too many words (at most 16)" \
    cdht person find --home "$H" a b c d e f g h i j k l m n o p q
refused "cdht person find: the search text is too long" \
    cdht person find --home "$H" "$(head -c 1025 /dev/zero | tr '\0' a)"
refused "cdht person find: --format must be table, csv or json" \
    cdht person find --home "$H" truong --format xml
refused "cdht person find: --unit: unit code may contain only A-Z, a-z, 0-9, '.', '_' and '-'" \
    cdht person find --home "$H" truong --unit 'C 01'
refused "cdht person find: --name is not an option of this command" \
    cdht person find --home "$H" --name truong
refused "cdht person duplicates: unexpected extra argument (not repeated here)" \
    cdht person duplicates --home "$H" "$CID"
expect_output_lacks "$CID"
refused "cdht person duplicates: --format must be table, csv or json" \
    cdht person duplicates --home "$H" --format xlsx
expect_exit 2 cdht person find truong
expect_eq "cdht person find: no replica given: use --home DIR or set CDHT_HOME" \
    "$(sed -n 1p "$ERR")" "find without a replica"

# --help exits 0 and names both commands.
expect_ok cdht person --help
expect_stdout_contains "cdht person find TEXT [--unit CODE] [--format table|csv|json]"
expect_stdout_contains "cdht person duplicates [--unit CODE] [--format table|csv|json]"
expect_ok cdht person find --help
expect_ok cdht person duplicates --help

finish
