#!/usr/bin/env bash
# Proves that every bad input to `unit add` and `person add|set|rm` exits 2 with a message naming
# the flag and the problem, writes nothing (the replica's snapshot is unchanged), and that no
# error output ever repeats a citizen id that was passed.
set -u
. "$(dirname "$0")/lib.sh"

H=$T/h
new_home h C01
must cdht unit add --home "$H" --code P01 --kind province --name "Tỉnh Một"
must cdht unit add --home "$H" --code C01 --kind commune --name "Xã Một" --parent P01
must cdht person add --home "$H" --name "Nguyễn Văn An" --birth-year 1985 --gender male \
    --unit C01 --citizen-id 001085000123
man=$(out)
must cdht person add --home "$H" --name "Trần Thị Bình" --birth-year 2001 --gender female \
    --unit C01 --group worker --citizen-id 079301000456
woman=$(out)
must cdht person add --home "$H" --name "Gone Person" --birth-year 1950 --gender male --unit C01
gone=$(out)
must cdht person rm --home "$H" "$gone"

# Every citizen id this scenario passes, valid or not: none may appear in any error output.
CIDS="001085000123 079301000456 00108500012 0010850001234 00108500012A 001185000123
001285000123 001086000123 000085000123 097085000123 079001000456 001090000777 079301000999"
next_year=$(($(date -u +%Y) + 1))

# refuse MESSAGE CMD...: CMD exits 2, names the problem, changes nothing, leaks no citizen id.
# Every refusal comes before the first accepted write at the end, so H is compared with the
# snapshot taken here.
H_SNAP=$(snapshot "$H")
refuse() {
    local msg=$1 cid
    shift
    expect_exit 2 "$@"
    expect_unchanged "$H" "$H_SNAP" "after: $*" || H_SNAP=$(snapshot "$H")
    expect_stderr_contains "$msg"
    local pats=()
    for cid in $CIDS; do
        pats+=(-e "$cid")
    done
    if grep -F "${pats[@]}" "$OUT" "$ERR" >&2; then
        fail "the output above repeats a citizen id"
    else
        pass
    fi
    # Not even a long run of an id's digits.
    if grep -qE '[0-9]{9}' "$ERR"; then
        fail "stderr holds a run of 9 digits or more"
    fi
}

ADD=(cdht person add --home "$H")
ok_person=(--name "Lê Văn Cường" --birth-year 1985 --gender male --unit C01)

# --- unit add ------------------------------------------------------------------------------
refuse "cdht unit add: --parent: unknown unit NOPE (add it first)" \
    cdht unit add --home "$H" --code V01 --kind village --name "Thôn Một" --parent NOPE
refuse "cdht unit add: unit C01 exists already" \
    cdht unit add --home "$H" --code C01 --kind commune --name "Xã Khác" --parent P01
refuse "cdht unit add: unit P01 exists already" \
    cdht unit add --home "$H" --code P01 --kind province --name "Tỉnh Một"
kinds="province, district, commune, village, school or agency"
refuse "cdht unit add: --kind: unit kind must be $kinds" \
    cdht unit add --home "$H" --code V01 --kind hamlet --name "Thôn Một" --parent C01
refuse "cdht unit add: --kind: unit kind must be" \
    cdht unit add --home "$H" --code V01 --kind Village --name "Thôn Một" --parent C01
refuse "cdht unit add: --code: unit code may contain only A-Z, a-z, 0-9, '.', '_' and '-'" \
    cdht unit add --home "$H" --code "V 01" --kind village --name "Thôn Một" --parent C01
refuse "cdht unit add: --code: unit code is empty" \
    cdht unit add --home "$H" --code "" --kind village --name "Thôn Một" --parent C01
refuse "cdht unit add: --code: unit code is longer than 32 characters" \
    cdht unit add --home "$H" --code "$(printf 'V%.0s' {1..33})" \
        --kind village --name V --parent C01
refuse "cdht unit add: --parent: unit code may contain only" \
    cdht unit add --home "$H" --code V01 --kind village --name "Thôn Một" --parent "C/01"
refuse "cdht unit add: --name: name is empty" \
    cdht unit add --home "$H" --code V01 --kind village --name "" --parent C01
refuse "cdht unit add: --name: name is empty" \
    cdht unit add --home "$H" --code V01 --kind village --name "    " --parent C01
refuse "cdht unit add: --code, --kind and --name are required" \
    cdht unit add --home "$H" --code V01 --kind village
refuse "cdht unit add: --code, --kind and --name are required" \
    cdht unit add --home "$H" --kind village --name V
refuse "cdht unit add: --code, --kind and --name are required" \
    cdht unit add --home "$H" --code V01 --name V
refuse "cdht unit add: --colour is not an option of this command" \
    cdht unit add --home "$H" --code V01 --kind village --name V --colour blue
refuse "cdht unit add: unexpected extra argument" \
    cdht unit add --home "$H" --code V01 --kind village --name V extra
# At the limit: a 32-character code is accepted (after all the refusals above).
limit_code=$(printf 'V%.0s' {1..32})

# --- person add: citizen id --------------------------------------------------------------------
century_year="citizen id century/gender digit does not match the birth year"
refuse "cdht person add: --citizen-id: citizen id must be 12 digits" \
    "${ADD[@]}" "${ok_person[@]}" --citizen-id 00108500012
refuse "cdht person add: --citizen-id: citizen id must be 12 digits" \
    "${ADD[@]}" "${ok_person[@]}" --citizen-id 0010850001234
refuse "cdht person add: --citizen-id: citizen id must be 12 digits" \
    "${ADD[@]}" "${ok_person[@]}" --citizen-id ""
refuse "cdht person add: --citizen-id: citizen id must contain only the digits 0-9" \
    "${ADD[@]}" "${ok_person[@]}" --citizen-id 00108500012A
refuse "cdht person add: --citizen-id: citizen id century/gender digit does not match the gender" \
    "${ADD[@]}" "${ok_person[@]}" --citizen-id 001185000123
refuse "cdht person add: --citizen-id: $century_year" \
    "${ADD[@]}" "${ok_person[@]}" --citizen-id 001285000123
refuse "cdht person add: --citizen-id: $century_year" \
    "${ADD[@]}" --name "Trần Thị Dung" --birth-year 2001 --gender female --unit C01 \
    --citizen-id 079001000456
refuse "cdht person add: --citizen-id: citizen id year digits do not match the birth year" \
    "${ADD[@]}" "${ok_person[@]}" --citizen-id 001086000123
refuse "cdht person add: --citizen-id: citizen id province code must be 001 to 096" \
    "${ADD[@]}" "${ok_person[@]}" --citizen-id 000085000123
refuse "cdht person add: --citizen-id: citizen id province code must be 001 to 096" \
    "${ADD[@]}" "${ok_person[@]}" --citizen-id 097085000123

# --- person add: birth year, gender, group, unit ---------------------------------------------
refuse "cdht person add: --birth-year: birth year is before 1900" \
    "${ADD[@]}" --name "Cụ Già" --birth-year 1800 --gender male --unit C01
refuse "cdht person add: --birth-year: birth year is before 1900" \
    "${ADD[@]}" --name "Cụ Già" --birth-year 1899 --gender male --unit C01
refuse "cdht person add: --birth-year: birth year is in the future" \
    "${ADD[@]}" --name "Em Bé" --birth-year "$next_year" --gender female --unit C01
refuse "cdht person add: --birth-year: must be a year such as 1985" \
    "${ADD[@]}" --name "Em Bé" --birth-year 85x --gender female --unit C01
refuse "cdht person add: --birth-year: must be a year such as 1985" \
    "${ADD[@]}" --name "Em Bé" --birth-year "" --gender female --unit C01
refuse "cdht person add: --gender: gender must be \"male\" or \"female\"" \
    "${ADD[@]}" --name "Ai Đó" --birth-year 1990 --gender other --unit C01
refuse "cdht person add: --gender: gender must be \"male\" or \"female\"" \
    "${ADD[@]}" --name "Ai Đó" --birth-year 1990 --gender Male --unit C01
refuse "cdht person add: --group: target group must be farmer, worker or official" \
    "${ADD[@]}" "${ok_person[@]}" --group student
refuse "cdht person add: --group: target group must be farmer, worker or official" \
    "${ADD[@]}" "${ok_person[@]}" --group Farmer
refuse "cdht person add: --unit: unknown unit NOPE (cdht unit list shows them)" \
    "${ADD[@]}" --name "Ai Đó" --birth-year 1990 --gender male --unit NOPE
refuse "cdht person add: --unit: unit code is empty" \
    "${ADD[@]}" --name "Ai Đó" --birth-year 1990 --gender male --unit ""

# --- person add: names -----------------------------------------------------------------------
refuse "cdht person add: --name: name is empty" \
    "${ADD[@]}" --name "" --birth-year 1990 --gender male --unit C01
refuse "cdht person add: --name: name is empty" \
    "${ADD[@]}" --name "     " --birth-year 1990 --gender male --unit C01
refuse "cdht person add: --name: name is empty" \
    "${ADD[@]}" --name "$(printf ' \t\xc2\xa0\xe3\x80\x80 ')" \
    --birth-year 1990 --gender male --unit C01
refuse "cdht person add: --name: name contains a control character" \
    "${ADD[@]}" --name "$(printf 'Lan\001Anh')" --birth-year 1990 --gender female --unit C01
refuse "cdht person add: --name: name contains an invisible formatting character" \
    "${ADD[@]}" --name "$(printf 'Lan\xe2\x80\x8bAnh')" --birth-year 1990 --gender female --unit C01
refuse "cdht person add: --name: name is not valid UTF-8" \
    "${ADD[@]}" --name "$(printf 'Nguy\xc3n')" --birth-year 1990 --gender male --unit C01
refuse "cdht person add: --name: name is longer than allowed after normalisation" \
    "${ADD[@]}" --name "$(printf 'a%.0s' {1..257})" --birth-year 1990 --gender male --unit C01

# --- person add: flags -----------------------------------------------------------------------
refuse "cdht person add: --name, --birth-year, --gender and --unit are required" \
    "${ADD[@]}" --birth-year 1990 --gender male --unit C01
refuse "cdht person add: --name, --birth-year, --gender and --unit are required" \
    "${ADD[@]}" --name "Ai Đó" --gender male --unit C01
refuse "cdht person add: --name, --birth-year, --gender and --unit are required" \
    "${ADD[@]}" --name "Ai Đó" --birth-year 1990 --unit C01
refuse "cdht person add: --name, --birth-year, --gender and --unit are required" \
    "${ADD[@]}" --name "Ai Đó" --birth-year 1990 --gender male
refuse "cdht person add: --name, --birth-year, --gender and --unit are required" \
    "${ADD[@]}" --citizen-id 001085000123
refuse "cdht person add: --colour is not an option of this command" \
    "${ADD[@]}" "${ok_person[@]}" --colour blue
refuse "cdht person add: --format is not an option of this command" \
    "${ADD[@]}" "${ok_person[@]}" --format csv
refuse "cdht person add: unexpected extra argument" \
    "${ADD[@]}" "${ok_person[@]}" extra

# --- person set ------------------------------------------------------------------------------
SET=(cdht person set --home "$H")
refuse "cdht person set: unknown person id (cdht person list shows ids)" "${SET[@]}" nosuchperson --name "Ai Đó"
refuse "cdht person set: unknown person id (cdht person list shows ids)" "${SET[@]}" "$gone" --name "Hồi Sinh"
refuse "cdht person set: unknown person id" "${SET[@]}" "$(printf 'x%.0s' {1..200})" --name "Ai Đó"
refuse "cdht person set: exactly one person ID is required" "${SET[@]}" --name "Ai Đó"
refuse "cdht person set: exactly one person ID is required" \
    "${SET[@]}" "$man" "$woman" --name "Ai Đó"
refuse "cdht person set: nothing to change: give at least one of the flags" "${SET[@]}" "$man"
refuse "cdht person set: --name: name is empty" "${SET[@]}" "$man" --name ""
refuse "cdht person set: --name: name is empty" "${SET[@]}" "$man" --name "   "
refuse "cdht person set: --birth-year: birth year is before 1900" \
    "${SET[@]}" "$man" --birth-year 1800
refuse "cdht person set: --birth-year: birth year is in the future" \
    "${SET[@]}" "$man" --birth-year "$next_year"
refuse "cdht person set: --gender: gender must be \"male\" or \"female\"" \
    "${SET[@]}" "$man" --gender unknown
refuse "cdht person set: --group: target group must be farmer, worker or official" \
    "${SET[@]}" "$man" --group student
refuse "cdht person set: --unit: unknown unit NOPE" "${SET[@]}" "$man" --unit NOPE
refuse "cdht person set: --colour is not an option of this command" "${SET[@]}" "$man" --colour blue
# A citizen id is checked against the stored birth year and gender when those flags are absent,
refuse "cdht person set: --citizen-id: citizen id year digits do not match the birth year" \
    "${SET[@]}" "$man" --citizen-id 001090000777
refuse "cdht person set: --citizen-id: citizen id century/gender digit does not match the gender" \
    "${SET[@]}" "$woman" --citizen-id 079201000999
# and against the new ones when they are given.
refuse "cdht person set: --citizen-id: citizen id year digits do not match the birth year" \
    "${SET[@]}" "$man" --birth-year 1986 --citizen-id 001085000123
refuse "cdht person set: --citizen-id: citizen id must be 12 digits" \
    "${SET[@]}" "$man" --citizen-id 00108500012
# One bad flag refuses the whole change: the good flags beside it are not written either.
refuse "cdht person set: --gender: gender must be" \
    "${SET[@]}" "$man" --name "Tên Mới" --gender x

# --- person rm -------------------------------------------------------------------------------
RM=(cdht person rm --home "$H")
refuse "cdht person rm: unknown person id (cdht person list shows ids)" "${RM[@]}" nosuchperson
refuse "cdht person rm: unknown person id (cdht person list shows ids)" "${RM[@]}" "$gone"
refuse "cdht person rm: exactly one person ID is required" "${RM[@]}"
refuse "cdht person rm: exactly one person ID is required" "${RM[@]}" "$man" "$woman"
refuse "cdht person rm: person rm takes only the ID" "${RM[@]}" "$man" --name "Ai Đó"
refuse "cdht person rm: --colour is not an option of this command" "${RM[@]}" "$man" --colour blue

# --- no error output repeats a citizen id, however it is mistyped ------------------------------
# A citizen id given without its flag is not echoed.
refuse "cdht person add: unexpected extra argument" "${ADD[@]}" "${ok_person[@]}" 001085000123
# A misspelt flag is named without its value.
refuse "cdht person add: --citizen_id is not an option of this command" \
    "${ADD[@]}" "${ok_person[@]}" --citizen_id=001085000123
# `person list` names the option, not its value.
refuse "cdht person list: --citizen-id is not an option of this command" \
    cdht person list --home "$H" --citizen-id 001085000123
# A known flag without its value says that it needs one.
refuse "cdht person add: --citizen-id needs a value" "${ADD[@]}" "${ok_person[@]}" --citizen-id

# --- --help is an answer, not an error --------------------------------------------------------
expect_ok cdht --help
expect_stdout_contains "usage: cdht <command>"
for c in init whoami hash conflicts audit "unit add" "unit list" "person add" "person set" \
    "person rm" "person list" "bundle export" "bundle import" "log list" "log checkpoint" \
    "log leaf" "log prove" "log consistency" "log heads"; do
    # shellcheck disable=SC2086
    expect_ok cdht $c --help
    expect_stderr_contains "usage: cdht $c"
done
# Command groups answer --help with exit 0, like every command.
for c in log unit person bundle; do
    expect_ok cdht "$c" --help
    expect_stderr_lacks "unknown subcommand"
done
expect_exit 2 cdht frobnicate
expect_stderr_contains "cdht: unknown command (cdht --help lists them)"
expect_exit 2 cdht unit frobnicate
expect_exit 2 cdht log frobnicate
expect_stderr_contains "cdht log: unknown subcommand (cdht log --help lists them)"

# --- the limits themselves are accepted --------------------------------------------------------
expect_ok cdht unit add --home "$H" --code "$limit_code" \
    --kind village --name "Thôn Dài" --parent C01
expect_ok "${ADD[@]}" --name "$(printf 'a%.0s' {1..256})" --birth-year 1900 --gender female \
    --unit "$limit_code"
expect_ok "${ADD[@]}" --name "Bé Mới" --birth-year "$(date -u +%Y)" --gender male --unit C01
expect_ok "${ADD[@]}" --name "Cụ Ông" --birth-year 1930 --gender male --unit C01 \
    --citizen-id 096030000001 --group farmer
expect_ok "${SET[@]}" "$man" --birth-year 1990 --citizen-id 001090000777
expect_ok cdht audit --home "$H"

finish
