#!/usr/bin/env bash
# Proves `cdht template` and `cdht import` end to end through the real binary: the template's
# headers import; a re-import changes nothing (hash and log sizes equal); --dry-run lists every
# bad row with its exact message and exits 2; a bad row stops the whole import unless
# --skip-bad; English headers, a 0-byte file and a text file renamed .xlsx are refused with
# exact messages; and no output ever repeats a citizen id.
set -u
. "$(dirname "$0")/lib.sh"

H=$T/h
new_home h C01
must cdht unit add --home "$H" --code P01 --kind province --name "Tỉnh Một"
must cdht unit add --home "$H" --code C01 --kind commune --name "Xã Một" --parent P01

# --- template ------------------------------------------------------------------------------
expect_exit 0 cdht template --home "$H" -o "$T/t.csv"
expect_eq "$(head -c 3 "$T/t.csv" | od -An -tx1 | tr -d ' ')" "efbbbf" "the CSV template has a BOM"
expect_eq "$(tail -c +4 "$T/t.csv" | tr -d '\r')" \
    "STT,Họ và tên,Năm sinh,Giới tính,Mã đơn vị,Nhóm đối tượng,Số CCCD" "template headers"
expect_exit 0 cdht template --home "$H" -o "$T/t.xlsx"
expect_eq "$(head -c 2 "$T/t.xlsx")" "PK" "the XLSX template is a ZIP"
# Both templates import as empty lists.
expect_exit 0 cdht import --home "$H" "$T/t.csv"
expect_stdout_contains "imported 0 rows"
expect_exit 0 cdht import --home "$H" "$T/t.xlsx" --dry-run

# --- a good list, then the same list again ---------------------------------------------------
cp "$T/t.csv" "$T/good.csv"
printf '1,Nguyễn Văn An,1985,Nam,C01,Nông dân,001085000123\r\n' >>"$T/good.csv"
printf '2,Trần Thị Bình,2001,Nữ,C01,Công nhân,079301000456\r\n' >>"$T/good.csv"
printf '3,Lê Văn Cường,1970,nam,C01,,\r\n' >>"$T/good.csv"
expect_exit 0 cdht import --home "$H" "$T/good.csv" --dry-run
expect_stderr_contains "3 rows, 0 bad, 3 new, 0 changed, 0 unchanged; nothing imported (--dry-run)"
expect_exit 0 cdht import --home "$H" "$T/good.csv"
expect_stdout_contains "imported 3 rows: 3 new, 0 changed, 0 unchanged, 0 bad skipped; 1 leaves"
S1=$(snapshot "$H")
expect_exit 0 cdht import --home "$H" "$T/good.csv"
expect_stdout_contains "imported 3 rows: 0 new, 0 changed, 3 unchanged, 0 bad skipped; 0 leaves"
expect_unchanged "$H" "$S1" "re-import of the same file"
run cdht person list --home "$H"
expect_stdout_contains "Nguyễn Văn An	1985	male	C01	farmer"

# --- bad rows ------------------------------------------------------------------------------
cp "$T/t.csv" "$T/bad.csv"
printf '1,Phạm Văn Dũng,1985,Nam,C01,,001185000777\r\n' >>"$T/bad.csv"
printf '2,,1990,Nữ,C09,Kỹ sư,\r\n' >>"$T/bad.csv"
printf '3,Hồ Thị E,1990,Nữ,C01,,\r\n' >>"$T/bad.csv"
printf '4,Hồ Thị E,1990,Nữ,C01,,\r\n' >>"$T/bad.csv"
printf '5,Nguyễn Văn An,1985,Nam,C01,Nông dân,001085000123\r\n' >>"$T/bad.csv"
WANT='line 2, column "Số CCCD": citizen id century/gender digit does not match the gender
line 3, column "Họ và tên": empty: the column is required
line 3, column "Mã đơn vị": unknown unit C09 (cdht unit list shows them)
line 3, column "Nhóm đối tượng": must be Nông dân, Công nhân or Cán bộ
line 5: duplicate row: same person as line 4'
expect_refused 2 "$H" cdht import --home "$H" "$T/bad.csv" --dry-run
expect_eq "$(cat "$OUT")" "$WANT" "dry-run listing"
expect_stderr_contains "5 rows, 3 bad, 1 new, 0 changed, 1 unchanged; nothing imported (--dry-run)"
expect_refused 2 "$H" cdht import --home "$H" "$T/bad.csv"
expect_stderr_contains "$WANT"
expect_stderr_contains "cdht import: refusing: 3 of 5 rows are bad; nothing was written (fix them, or --skip-bad imports the others)"
expect_exit 1 cdht import --home "$H" "$T/bad.csv" --skip-bad
expect_stdout_contains "imported 5 rows: 1 new, 0 changed, 1 unchanged, 3 bad skipped; 1 leaves"
expect_output_lacks 001185000777

# --- files that are not the template -------------------------------------------------------
printf 'Name,Birth year,Gender,Unit\r\n' >"$T/en.csv"
expect_refused 2 "$H" cdht import --home "$H" "$T/en.csv"
expect_stderr_contains 'line 1, column 1: "Name" is an English header; the template'"'"'s is "Họ và tên" (cdht template writes one)'
expect_stderr_contains 'line 1, column 4: "Unit" is an English header; the template'"'"'s is "Mã đơn vị" (cdht template writes one)'
expect_stderr_contains "cdht import: refusing: the header row does not match the template (docs/import-template.md; cdht template writes one); nothing was written"
: >"$T/empty.csv"
expect_refused 2 "$H" cdht import --home "$H" "$T/empty.csv"
expect_stderr_contains "cdht import: refusing: empty file: no header row; nothing was written"
cp "$T/good.csv" "$T/renamed.xlsx"
expect_refused 2 "$H" cdht import --home "$H" "$T/renamed.xlsx"
expect_stderr_contains "cdht import: refusing: not an XLSX file (not a ZIP archive: was it renamed?); nothing was written"
expect_output_lacks 001085000123

finish
