#!/usr/bin/env bash
# Proves `cdht report` end to end through the commands alone: a commune with two villages (one
# disadvantaged), the seed framework and plans, five people registered, assessed, reviewed,
# approved or rejected through register/assess/review/approve; the CSV report equals the
# hand-computed tests/data/report-44001-2026.csv exactly, the table and JSON say the same
# numbers, "no data" is never printed as 0 %, the HTML file is self-contained (inline SVG, no
# http, no script), -o replaces a file only when complete, and every bad input exits 2 with its
# exact message and writes nothing.
set -u
. "$(dirname "$0")/lib.sh"

DATA=$(cd "$(dirname "$0")/../data" && pwd)
. "$(dirname "$0")/report_dataset.sh"

S0=$(snapshot "$H")

# --- csv: exact, in both languages ---------------------------------------------------------
expect_ok cdht report --home "$H" --unit 44001 --year 2026 --format csv
expect_eq "$(cat "$DATA/report-44001-2026.csv")" "$(out)" "csv report"
expect_ok cdht report --home "$H" --unit 44001 --year 2026 --format csv --lang en
expect_eq "$(cat "$DATA/report-44001-2026.csv")" "$(out)" "csv report in English"

# --- table: Vietnamese by default, English on request --------------------------------------
expect_ok cdht report --home "$H" --unit 44001 --year 2026
expect_stdout_contains "Báo cáo Công dân học tập năm 2026: 44001 Xã Sen Thủy"
expect_stdout_contains "44001-V2 Đông Hà (vùng khó khăn)"
expect_stdout_contains "chưa có dữ liệu"
expect_stdout_lacks "0.0% (0/0)"
# Vietnamese order: "Đông Hà" (folded "dong ha") before "Thôn Một".
expect_eq "44001-V2 44001-V1" "$(grep -oE '^44001-V[12]' "$OUT" | tr '\n' ' ' | sed 's/ $//')" \
    "child order"
expect_ok cdht report --home "$H" --unit 44001 --year 2026 --lang en
expect_stdout_contains "Learning Citizen report year 2026: 44001 Xã Sen Thủy"
expect_stdout_contains "100.0% (2/2)"
expect_stdout_contains "on track"
expect_stdout_contains "behind"
expect_stdout_contains "no data"

# --- json -------------------------------------------------------------------------------------
expect_ok cdht report --home "$H" --unit 44001 --year 2026 --format json
expect_stdout_contains '"total":{"registered":5,"assessed":4,"passed":2,"share_passed_pct":40.0}'
expect_stdout_contains '"family_adults":{"numerator":0,"denominator":0,"actual_pct":null}'
expect_stdout_contains '"code":"44001-V2","name":"Đông Hà","self":false,"disadvantaged":true'

# --- the province: one child, the same totals ------------------------------------------------
expect_ok cdht report --home "$H" --unit 44 --year 2026 --format csv
expect_stdout_contains "unit,44001,Xã Sen Thủy,*,5,4,2,40.0"
expect_stdout_contains "total,44,Tỉnh Quảng Bình,*,5,4,2,40.0"

# --- html into a file -------------------------------------------------------------------------
expect_ok cdht report --home "$H" --unit 44001 --year 2026 --format html -o "$T/r.html"
expect_eq "" "$(cat "$OUT")" "nothing on stdout with -o"
grep -q '<svg ' "$T/r.html" && pass || fail "the HTML has no inline SVG"
grep -q 'class="target"' "$T/r.html" && pass || fail "the HTML chart has no target line"
grep -q 'http' "$T/r.html" && fail "the HTML names an external URL" || pass
grep -qi '<script' "$T/r.html" && fail "the HTML has a script" || pass
expect_eq "" "$(ls "$T" | grep -F '.tmp-' || true)" "no temporary file left behind"
# -o replaces an existing file.
expect_ok cdht report --home "$H" --unit 44001 --year 2026 --format csv -o "$T/r.html"
expect_eq "$(cat "$DATA/report-44001-2026.csv")" "$(cat "$T/r.html")" "csv via -o"

# --- bad input: exit 2, exact message, nothing written ----------------------------------------
expect_exit 2 cdht report --home "$H" --unit 99999 --year 2026
expect_stderr_contains "cdht report: --unit: unknown unit 99999 (cdht unit list shows them)"
expect_exit 2 cdht report --home "$H" --unit 44001 --year 20x6
expect_stderr_contains "cdht report: --year must be a year from 1900 to 9999"
expect_exit 2 cdht report --home "$H" --unit 44001 --year 1899
expect_stderr_contains "cdht report: --year must be a year from 1900 to 9999"
expect_exit 2 cdht report --home "$H" --unit 44001 --year 2026 --format pdf
expect_stderr_contains "cdht report: --format must be table, csv, json, html or xlsx"
expect_exit 2 cdht report --home "$H" --unit 44001 --year 2026 --format xlsx
expect_stderr_contains "cdht report: --format xlsx needs -o FILE.xlsx"
expect_exit 2 cdht report --home "$H" --unit 44001 --year 2026 --lang fr
expect_stderr_contains "cdht report: --lang must be vi or en"
expect_exit 2 cdht report --home "$H" --unit 44001 --year 2026 -o "$T/missing/r.csv"
expect_stderr_contains "cdht report: -o: folder $T/missing does not exist"
[ -e "$T/missing" ] && fail "the missing folder was created" || pass
expect_exit 2 cdht report --home "$H" --year 2026
expect_stderr_contains "cdht report: --unit and --year are required"
expect_exit 2 cdht report --home "$H" --unit 44001 --year 2026 --as-of 2026-02-30
expect_stderr_contains "cdht report: --as-of: date is not a calendar day"
expect_unchanged "$H" "$S0" "reports write nothing to the replica"

# --- a removed person stops counting, a decided assessment stays ----------------------------
# person rm tombstones the person's undecided assessments (and memberships) in the same leaf.
draft_id=$("$CDHT" person list --home "$H" --format csv | grep 'Phạm Văn Cường' | cut -d, -f1)
approved_id=$("$CDHT" person list --home "$H" --format csv | grep 'Nguyễn Văn An' | cut -d, -f1)
must cdht person rm --home "$H" "$draft_id"
must cdht person rm --home "$H" "$approved_id"
expect_ok cdht report --home "$H" --unit 44001 --year 2026 --format json
expect_stdout_contains '"total":{"registered":4,"assessed":4,"passed":2,'

finish
