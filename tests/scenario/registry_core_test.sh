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

# --- a hub publishes its own plan from a file (Vietnamese headers, with or without diacritics) ---
cat >"$T/plan.csv" <<'CSV'
Mã kế hoạch,Cap,Tên kế hoạch,Quyet dinh,Từ năm,Đến năm,Chỉ tiêu,Năm,Tỷ lệ %
kh-2024,xã,Kế hoạch xã Quảng Vinh 2024-2030,12/QĐ-UBND,2024,2030,trained,2026,90
kh-2024,xã,Kế hoạch xã Quảng Vinh 2024-2030,12/QĐ-UBND,2024,2030,family_adults,2030,75
kh-2024,xã,Kế hoạch xã Quảng Vinh 2024-2030,12/QĐ-UBND,2024,2030,holders_digital,2030,95
CSV
HK=$(key_of "$H")
expect_ok cdht plan publish --home "$H" --from "$T/plan.csv"
expect_eq "44001/kh-2024" "$(out)" "the file plan's id"
expect_ok cdht plan list --home "$H"
expect_stdout_contains "44001/kh-2024${TAB}44001${TAB}commune${TAB}kh-2024${TAB}12/QĐ-UBND${TAB}2024${TAB}2030${TAB}Kế hoạch xã Quảng Vinh 2024-2030"
expect_ok cdht plan list --home "$H" --targets
expect_stdout_contains "44001/kh-2024${TAB}trained${TAB}2026${TAB}90"
expect_stdout_contains "44001/kh-2024${TAB}holders_digital${TAB}2030${TAB}95"
n1=$(log_size "$H" "$HK")
expect_ok cdht plan publish --home "$H" --from "$T/plan.csv"
expect_stderr_contains "already published as in the file; nothing changed"
expect_eq "$n1" "$(log_size "$H" "$HK")" "re-publishing the same plan file writes nothing"
# A bad row: the whole file is refused, nothing written.
sed -e '3s/,75$/,120/' -e '4s/holders_digital/holders/' "$T/plan.csv" >"$T/plan-bad.csv"
expect_refused 2 "$H" cdht plan publish --home "$H" --from "$T/plan-bad.csv"
expect_stderr_contains 'line 3, column "Tỷ lệ %": not a whole number from 0 to 100'
expect_stderr_contains 'line 4, column "Chỉ tiêu": not a metric'
expect_stderr_contains "refusing: 2 problems in the file; nothing was written"
# A changed target is written (a plan is amended in place, unlike a framework version).
sed '2s/,90$/,95/' "$T/plan.csv" >"$T/plan-2.csv"
expect_ok cdht plan publish --home "$H" --from "$T/plan-2.csv"
expect_stderr_contains "3 targets, 1 rows written"
expect_ok cdht plan list --home "$H" --targets
expect_stdout_contains "44001/kh-2024${TAB}trained${TAB}2026${TAB}95"
# The same grant rule as --seed.
expect_refused 2 "$A" cdht plan publish --home "$A" --from "$T/plan.csv"
expect_stderr_contains "no hub grant covering unit 4400101"

# --- the root publishes version 2 of the framework from a file ----------------------------------
{
    echo "Mã bộ tiêu chí,Phiên bản,Tên,Từ năm,Đến năm,Nhóm đối tượng,Tên nhóm,Điểm đạt,Diem dat vung kho khan,Vị trí,Mã chỉ tiêu,Nội dung,Điểm tối đa,Điểm tối thiểu"
    for g in farmer official; do
        for i in 1 2 3 4 5 6 7 8 9 10; do
            echo "244-2022,2,Bộ tiêu chí 244/QĐ-KHVN (bản 2),2025,,$g,Nhóm $g,80,70,$i,$g.$i,Chỉ tiêu $i,10,5"
        done
    done
} >"$T/fw2.csv"
expect_ok cdht framework publish --home "$P" --from "$T/fw2.csv"
expect_eq "*/244-2022/2" "$(out)" "version 2's id"
expect_stderr_contains "published framework */244-2022/2: 2 groups, 20 indicators"
expect_ok cdht framework list --home "$P"
expect_stdout_contains "*/244-2022/1${TAB}*${TAB}244-2022${TAB}1${TAB}2022${TAB}-${TAB}3${TAB}30${TAB}"
expect_stdout_contains "*/244-2022/2${TAB}*${TAB}244-2022${TAB}2${TAB}2025${TAB}-${TAB}2${TAB}20${TAB}Bộ tiêu chí 244/QĐ-KHVN (bản 2)"
expect_ok cdht framework list --home "$P" --indicators
expect_stdout_contains "*/244-2022/2${TAB}official${TAB}2${TAB}80${TAB}70${TAB}10${TAB}official.10${TAB}10${TAB}5${TAB}Chỉ tiêu 10"
PK=$(key_of "$P")
n2=$(log_size "$P" "$PK")
h2=$(hash_of "$P")
expect_ok cdht framework publish --home "$P" --from "$T/fw2.csv"
expect_stderr_contains "*/244-2022/2 is already published; nothing changed"
expect_eq "$n2" "$(log_size "$P" "$PK")" "re-publishing the same framework file writes nothing"
expect_eq "$h2" "$(hash_of "$P")" "nor changes the state"
# Version 2 is immutable: other content under the same version is refused.
sed '2s/,10,5$/,10,6/' "$T/fw2.csv" >"$T/fw2-changed.csv"
expect_refused 2 "$P" cdht framework publish --home "$P" --from "$T/fw2-changed.csv"
expect_stderr_contains "framework 244-2022 version 2 is already published; publish a new version"
# A group the rules refuse (the pass total above the sum of the maxima), nothing written.
sed -e 's/,2,Bộ/,3,Bộ/' -e 's/,80,70,/,120,70,/' "$T/fw2.csv" >"$T/fw3-bad.csv"
expect_refused 2 "$P" cdht framework publish --home "$P" --from "$T/fw3-bad.csv"
expect_stderr_contains 'line 2, column "Nhóm đối tượng": '
expect_refused 2 "$A" cdht framework publish --home "$A" --from "$T/fw2.csv"
expect_stderr_contains "no hub grant covering unit 4400101"

# --- the village receives it all by bundle --------------------------------------------------------
sync_to "$P" "$H"
sync_to "$H" "$A"
expect_ok cdht framework list --home "$A"
expect_stdout_contains "*/244-2022/1${TAB}*${TAB}244-2022${TAB}1${TAB}2022${TAB}-${TAB}3${TAB}30${TAB}"
expect_stdout_contains "short wording"
expect_stdout_contains "*/244-2022/2${TAB}*${TAB}244-2022${TAB}2${TAB}2025${TAB}-${TAB}2${TAB}20${TAB}"
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
expect_stdout_contains "44001/kh-2024,trained,2026,95"
expect_ok cdht quarantine list --home "$A"
expect_stderr_contains "0 leaves in quarantine"
expect_eq "$(hash_of "$H")" "$(hash_of "$A")" "hub and village converge"
expect_exit 2 cdht framework list --home "$A" --format xml
expect_stderr_contains "--format must be table or csv"

finish
