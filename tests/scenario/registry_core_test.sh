#!/usr/bin/env bash
# Issue 5, the registry's core through the commands alone: the province root publishes the
# built-in 244/QĐ-KHVN framework and the national plan, a commune hub publishes its commune's
# plan, a village laptop that holds no hub grant is refused (nothing written), and the village
# receives the framework and both plans by bundle and lists them.
set -u
. "$(dirname "$0")/lib.sh"

P=$T/province
H=$T/hub
A=$T/lapA
TAB=$'\t'

sync_to() {
    must cdht bundle export --home "$1" -o "$T/x.bundle"
    must cdht bundle import --home "$2" "$T/x.bundle"
}

new_home province 44 --root
must cdht whoami --home "$P"
VK=$(tail -n 1 "$OUT")
new_home hub 44001 --trust-root "$VK"
new_home lapA 4400101 --trust-root "$VK"
must cdht unit add --home "$P" --code 44 --kind province --name "Nghệ An"
must cdht unit add --home "$P" --code 44001 --kind commune --name "Quảng Vinh" --parent 44
must cdht enroll request --home "$H" --role hub
must cdht cert issue --home "$P" "$(out)" --role hub --unit 44001
sync_to "$P" "$H"
must cdht unit add --home "$H" --code 4400101 --kind village --name "Thôn 1" --parent 44001
must cdht enroll request --home "$A"
must cdht cert issue --home "$H" "$(out)" --role writer
sync_to "$H" "$A"

# --- the root publishes the framework (once: a second publish changes nothing) ----------------
expect_ok cdht framework publish --home "$P" --seed
expect_eq "*/244-2022/1" "$(out)" "the framework's id"
h1=$(hash_of "$P")
expect_ok cdht framework publish --home "$P" --seed
expect_stderr_contains "already published; nothing changed"
expect_eq "$h1" "$(hash_of "$P")" "a second publish writes nothing"
expect_ok cdht plan publish --home "$P" --seed
expect_eq "*/677-2022" "$(out)" "the national plan's id"

# --- a hub publishes its commune's plan; a writer may publish nothing ----------------------------
expect_ok cdht plan publish --home "$H" --seed
expect_eq "44001/kh-677-2022" "$(out)" "the commune plan's id"
expect_refused 2 "$A" cdht framework publish --home "$A" --seed
expect_stderr_contains "refusing: this device holds no hub grant covering unit 4400101"
expect_stderr_contains "nothing was written"
expect_refused 2 "$A" cdht plan publish --home "$A" --seed
expect_stderr_contains "no hub grant covering unit 4400101"
# A hub cannot publish above its commune.
expect_refused 2 "$H" cdht framework publish --home "$H" --seed --unit 44
expect_stderr_contains "no hub grant covering unit 44 "

# --- the village receives it all by bundle --------------------------------------------------------
sync_to "$P" "$H"
sync_to "$H" "$A"
expect_ok cdht framework list --home "$A"
expect_stdout_contains "*/244-2022/1${TAB}*${TAB}244-2022${TAB}1${TAB}2022${TAB}-${TAB}3${TAB}30${TAB}"
expect_stdout_contains "short wording"
expect_ok cdht framework list --home "$A" --format csv
expect_stdout_contains "id,unit,code,version,year_from,year_to,groups,indicators,title"
expect_ok cdht framework list --home "$A" --indicators
expect_stdout_contains "*/244-2022/1${TAB}farmer${TAB}1${TAB}80${TAB}70${TAB}1${TAB}1.1${TAB}10${TAB}5${TAB}"
expect_stdout_contains "*/244-2022/1${TAB}official${TAB}3${TAB}80${TAB}70${TAB}10${TAB}3.2${TAB}10${TAB}5${TAB}"
expect_ok cdht plan list --home "$A"
expect_stdout_contains "*/677-2022${TAB}*${TAB}national${TAB}677-2022${TAB}677/QĐ-TTg${TAB}2022${TAB}2030"
expect_stdout_contains "44001/kh-677-2022${TAB}44001${TAB}commune"
expect_ok cdht plan list --home "$A" --targets --format csv
expect_stdout_contains "*/677-2022,family_adults,2025,40"
expect_stdout_contains "*/677-2022,holders_proficient,2030,80"
expect_stdout_contains "44001/kh-677-2022,family_adults,2025,65"
expect_stdout_contains "44001/kh-677-2022,trained,2030,100"
expect_ok cdht quarantine list --home "$A"
expect_stderr_contains "0 leaves in quarantine"
expect_eq "$(hash_of "$H")" "$(hash_of "$A")" "hub and village converge"
expect_exit 2 cdht framework list --home "$A" --format xml
expect_stderr_contains "--format must be table or csv"

finish
