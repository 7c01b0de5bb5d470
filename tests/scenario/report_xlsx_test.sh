#!/usr/bin/env bash
# Proves that `cdht report --format xlsx` opens in LibreOffice with the CSV report's numbers (issue
# 5 item 4). The dataset is report_test.sh's: a commune with two villages, five people taken
# through register/assess/review/approve. The workbook is converted back to CSV with
# `libreoffice --headless --convert-to csv` and compared with `--format csv` column by column,
# after normalising the formatting (a share "40.0%" in the sheet is "40.0" in the CSV, and both
# are 400 per mille here): the results per unit and group (first sheet), the plan metrics against
# targets (second sheet), in Vietnamese and in English. A second conversion quotes every text
# cell, so an unquoted count or share proves LibreOffice read a number, not text; a third, to
# flat ODS, counts the notes that mark "no data" cells. Every LibreOffice run is bounded by
# `timeout 50` and uses a private profile under $T, so it never touches a user's profile or a
# running instance; no process is ended by name. LibreOffice runs under C.UTF-8: under LC_ALL=C
# it cannot name the per-sheet files of Vietnamese sheets, and the plain `--convert-to csv`
# writes Latin-1 (numbers survive, Vietnamese labels do not), so the filter options ask for UTF-8.
set -u
. "$(dirname "$0")/lib.sh"

if ! command -v libreoffice >/dev/null 2>&1; then
    fail "libreoffice is not installed (make test-deps installs libreoffice-calc-nogui)"
    finish
fi

. "$(dirname "$0")/report_dataset.sh"

S0=$(snapshot "$H")

# --- helpers -----------------------------------------------------------------------------------

# csv_split LINE [MARK]: the RFC 4180 fields of LINE, separated by \x1f (no cell holds one). Not
# by a tab: `read` merges runs of a whitespace IFS, so empty fields would vanish.
# With MARK=1 a field that was quoted keeps one leading '"', so a caller can tell "5" from 5.
csv_split() {
    local s=$1 mark=${2:-0} out="" f="" q=0 i c
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        if [ $q -eq 1 ]; then
            if [ "$c" = '"' ]; then
                if [ "${s:i+1:1}" = '"' ]; then
                    f+='"'
                    i=$((i + 1))
                else
                    q=0
                fi
            else
                f+=$c
            fi
        else
            case $c in
            '"')
                q=1
                [ "$mark" = 1 ] && f+='"'
                ;;
            ,)
                out+=$f$'\x1f'
                f=""
                ;;
            *) f+=$c ;;
            esac
        fi
    done
    printf '%s\n' "$out$f"
}

# permille SHARE: "40.0", "40.0%", "40%" and "40" are all 400; "" (no data) stays "".
permille() {
    local s=${1%\%} a b
    [ -z "$s" ] && return
    case $s in
    *.*) a=${s%%.*} b=${s#*.} ;;
    *) a=$s b=0 ;;
    esac
    echo $((10#$a * 10 + 10#${b:0:1}))
}

# lo OUTDIR FILTER FILE...: one bounded LibreOffice conversion with a private profile.
lo() {
    local dir=$1 filter=$2
    shift 2
    LC_ALL=C.UTF-8 timeout 50 libreoffice "-env:UserInstallation=file://$T/lo-profile" \
        --headless --convert-to "$filter" --outdir "$dir" "$@" >>"$T/lo.log" 2>&1
}

# The CSV report's results section as "code reg assessed passed permille" lines.
csv_results() {
    local kind code name group reg ass pas share
    sed -n '2,/^$/p' "$1" | sed '/^$/d' | while IFS= read -r line; do
        IFS=$'\x1f' read -r kind code name group reg ass pas share <<<"$(csv_split "$line")"
        echo "$code $reg $ass $pas $(permille "$share")"
    done
}

# The same from the workbook's results sheet converted to CSV: rows below the header (row 3).
xlsx_results() {
    local code name group reg ass pas share
    sed -n '4,$p' "$1" | while IFS= read -r line; do
        IFS=$'\x1f' read -r code name group reg ass pas share <<<"$(csv_split "$line")"
        echo "$code $reg $ass $pas $(permille "$share")"
    done
}

# The CSV report's targets section as "plan milestone target num den permille state" lines.
csv_targets() {
    local metric plan level ms tgt num den act state
    sed -n '/^metric,/,$p' "$1" | sed '1d' | while IFS= read -r line; do
        IFS=$'\x1f' read -r metric plan level ms tgt num den act state <<<"$(csv_split "$line")"
        echo "$plan $ms $(permille "$tgt") $num $den $(permille "$act") $state"
    done
}

# The same from the targets sheet. EN=1: the state label is mapped to the CSV's state code.
xlsx_targets() {
    local metric plan level ms tgt num den act state
    sed -n '4,$p' "$1" | while IFS= read -r line; do
        IFS=$'\x1f' read -r metric plan level ms tgt num den act state <<<"$(csv_split "$line")"
        case $plan in "(no plan)" | "(không có kế hoạch)") plan="" ;; esac
        if [ "$2" = 1 ]; then
            state=${state// /_}
            [ -z "$state" ] && state=no_target
        else
            state=-
        fi
        echo "$plan $ms $(permille "$tgt") $num $den $(permille "$act") $state"
    done
}

# --- the reports -------------------------------------------------------------------------------
expect_ok cdht report --home "$H" --unit 44001 --year 2026 --format csv -o "$T/r.csv"
expect_ok cdht report --home "$H" --unit 44001 --year 2026 --format xlsx -o "$T/r.xlsx"
expect_eq "" "$(cat "$OUT")" "nothing on stdout with -o"
expect_ok cdht report --home "$H" --unit 44001 --year 2026 --format xlsx --lang en \
    -o "$T/en.xlsx"
# A zip archive: "PK\3\4".
expect_eq "504b0304" "$(od -An -tx1 -N4 "$T/r.xlsx" | tr -d ' \n')" "the workbook is a zip file"
expect_eq "" "$(ls "$T" | grep -F '.tmp-' || true)" "no temporary file left behind"

# --- 1: the first sheet, as LibreOffice shows it ----------------------------------------------
# Tokens: comma, '"', UTF-8, from line 1, no column formats, default language, quote only where
# needed, detect numbers, save cell contents as shown. No sheet token: the first sheet.
mkdir -p "$T/shown" "$T/typed" "$T/fods"
SHOWN='csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true'
lo "$T/shown" "$SHOWN" "$T/r.xlsx" "$T/en.xlsx" ||
    fail "libreoffice (shown): $(tail -3 "$T/lo.log")"
[ -f "$T/shown/r.csv" ] && [ -f "$T/shown/en.csv" ] && pass ||
    fail "libreoffice wrote no CSV: $(tail -3 "$T/lo.log")"

want=$(csv_results "$T/r.csv")
expect_eq 12 "$(printf '%s\n' "$want" | grep -c .)" "result rows in the CSV report"
expect_eq "$want" "$(xlsx_results "$T/shown/r.csv")" "results: the workbook's numbers"
expect_eq "$want" "$(xlsx_results "$T/shown/en.csv")" "results: the English workbook's numbers"
# The percent format shows the CSV's digits: "33.3" is "33.3%", "0.0" is "0.0%", never "0%".
grep -q '^44001-V1,Thôn Một,Tất cả đối tượng,3,2,1,33.3%$' "$T/shown/r.csv" && pass ||
    fail "the share is not shown as 33.3%: $(sed -n 11p "$T/shown/r.csv")"
grep -q ',2,1,0,0.0%$' "$T/shown/r.csv" && pass || fail "a zero share is not shown as 0.0%"
# "No data" is an empty cell: nothing registered in a group, so no share (never 0 %).
grep -q '^44001,Tổng cộng: Xã Sen Thủy,"Cán bộ, công chức, viên chức",0,0,0,$' "$T/shown/r.csv" &&
    pass || fail "the no-data share is not an empty cell"
# Vietnamese labels by default, English on request.
expect_eq "Mã đơn vị,Tên đơn vị,Đối tượng,Đăng ký,Đã đánh giá,Đạt,Tỷ lệ đạt" \
    "$(sed -n 3p "$T/shown/r.csv")" "Vietnamese header"
expect_eq "Unit code,Unit name,Target group,Registered,Assessed,Passed,Share passed" \
    "$(sed -n 3p "$T/shown/en.csv")" "English header"
expect_match '^"?Báo cáo Công dân học tập năm 2026: 44001 Xã Sen Thủy' \
    "$(sed -n 1p "$T/shown/r.csv")" "Vietnamese title"

# --- 2: every sheet, every text cell quoted ---------------------------------------------------
# Quote all text cells, contents as stored (not as shown), token 12 = -1: every sheet, each to
# FILE-SHEETNAME.csv.
TYPED='csv:Text - txt - csv (StarCalc):44,34,76,1,,0,true,true,false,false,false,-1'
lo "$T/typed" "$TYPED" "$T/r.xlsx" "$T/en.xlsx" ||
    fail "libreoffice (typed): $(tail -3 "$T/lo.log")"
for f in "r-Kết quả" "r-Chỉ tiêu kế hoạch" "r-Ghi chú" en-Results "en-Plan targets" en-Notes; do
    [ -f "$T/typed/$f.csv" ] && pass || fail "no sheet $f: $(ls "$T/typed" | tr '\n' ' ')"
done
# Counts and shares are numbers: LibreOffice quotes every text cell here, and none of them is.
bad=$(sed -n '4,$p' "$T/typed/r-Kết quả.csv" | while IFS= read -r line; do
    IFS=$'\x1f' read -r code name group reg ass pas share <<<"$(csv_split "$line" 1)"
    for v in "$reg" "$ass" "$pas"; do
        printf '%s\n' "$v" | grep -qE '^[0-9]+$' || echo "count [$v] in: $line"
    done
    printf '%s\n' "$share" | grep -qE '^([0-9]+(\.[0-9])?%)?$' || echo "share [$share] in: $line"
    case $code in \"*) ;; *) echo "code [$code] is not text in: $line" ;; esac
done)
expect_eq "" "$bad" "results cells have the right types"
expect_eq "$want" "$(xlsx_results "$T/typed/r-Kết quả.csv")" "results: stored values"
bad=$(sed -n '4,$p' "$T/typed/r-Chỉ tiêu kế hoạch.csv" | while IFS= read -r line; do
    IFS=$'\x1f' read -r metric plan level ms tgt num den act state <<<"$(csv_split "$line" 1)"
    for v in "$ms" "$num" "$den"; do
        printf '%s\n' "$v" | grep -qE '^[0-9]*$' || echo "number [$v] in: $line"
    done
    for v in "$tgt" "$act"; do
        printf '%s\n' "$v" | grep -qE '^([0-9]+(\.[0-9])?%)?$' || echo "percent [$v] in: $line"
    done
done)
expect_eq "" "$bad" "targets cells have the right types"

# The plan metrics against targets: the same rows and numbers; in English the same states.
wantt=$(csv_targets "$T/r.csv")
expect_eq 9 "$(printf '%s\n' "$wantt" | grep -c .)" "target rows in the CSV report"
expect_eq "$(printf '%s\n' "$wantt" | sed 's/ [^ ]*$/ -/')" \
    "$(xlsx_targets "$T/typed/r-Chỉ tiêu kế hoạch.csv" 0)" "targets: the workbook's numbers"
expect_eq "$wantt" "$(xlsx_targets "$T/typed/en-Plan targets.csv" 1)" \
    "targets: the English workbook's numbers and states"
grep -qF '"chậm tiến độ"' "$T/typed/r-Chỉ tiêu kế hoạch.csv" && pass ||
    fail "the Vietnamese state label is missing"

# --- 3: the "no data" cells carry a note --------------------------------------------------------
# 3 empty shares on the results sheet (the officials' group) and 5 empty actuals on the targets
# sheet (the metrics with a zero denominator): 8 notes.
lo "$T/fods" fods "$T/r.xlsx" || fail "libreoffice (fods): $(tail -3 "$T/lo.log")"
expect_eq 8 "$(grep -o '</office:annotation>' "$T/fods/r.fods" | wc -l | tr -d ' ')" \
    "notes on the no-data cells"
grep -qF 'Chưa có dữ liệu' "$T/fods/r.fods" && pass || fail "the no-data note text is missing"

# --- bad input: exit 2, exact message, nothing written ----------------------------------------
expect_exit 2 cdht report --home "$H" --unit 44001 --year 2026 --format xlsx
expect_stderr_contains "cdht report: --format xlsx needs -o FILE.xlsx"
expect_exit 2 cdht report --home "$H" --unit 44001 --year 2026 --format ods -o "$T/x.ods"
expect_stderr_contains "cdht report: --format must be table, csv, json, html or xlsx"
[ -e "$T/x.ods" ] && fail "a refused report wrote a file" || pass
expect_exit 2 cdht report --home "$H" --unit 44001 --year 2026 --format xlsx -o "$T/no/r.xlsx"
expect_stderr_contains "cdht report: -o: folder $T/no does not exist"
# -o replaces an existing file, whole.
echo old >"$T/old.xlsx"
expect_ok cdht report --home "$H" --unit 44001 --year 2026 --format xlsx -o "$T/old.xlsx"
expect_eq "504b0304" "$(od -An -tx1 -N4 "$T/old.xlsx" | tr -d ' \n')" "-o replaced the file"
expect_unchanged "$H" "$S0" "reports write nothing to the replica"

finish
