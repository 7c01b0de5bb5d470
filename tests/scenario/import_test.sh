#!/usr/bin/env bash
# Proves `cdht template` and `cdht import` end to end through the real binary: the template's
# headers import; a re-import changes nothing (hash and log sizes equal); --dry-run lists every
# bad row with its exact message and exits 2; a bad row stops the whole import unless
# --skip-bad; English headers, a 0-byte file and a text file renamed .xlsx are refused with
# exact messages; and no output ever repeats a citizen id. Then score sheets, on this open-mode
# replica once the seed framework is published: the template's headers, registration and self
# scores, a re-import that changes nothing, bad rows (a score above the maximum, an unknown
# person, wrong headers), and a self-submitted assessment's row refused with its message.
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

# --- score sheets ----------------------------------------------------------------------------
expect_exit 0 cdht template --kind scores -o "$T/s.csv"
SHDR="STT,Mã người,Số CCCD,Họ và tên,Năm sinh,Mã đơn vị,Năm đánh giá,Nhóm đối tượng,1.1,1.2,1.3,1.4,2.1,2.2,2.3,2.4,3.1,3.2,Kỹ năng số"
expect_eq "$(tail -c +4 "$T/s.csv" | tr -d '\r')" "$SHDR" "score-sheet template headers"
# Without a framework held, the indicator headers are unknown.
expect_refused 2 "$H" cdht import --home "$H" "$T/s.csv" --as scores
expect_stderr_contains 'line 1, column 9: indicator 1.1 is not in any framework held here (cdht framework list)'
must cdht framework publish --home "$H" --seed
expect_exit 0 cdht template --home "$H" --kind scores --framework '*/244-2022/1' -o "$T/s.xlsx"
expect_eq "$(head -c 2 "$T/s.xlsx")" "PK" "the XLSX score template is a ZIP"
expect_exit 2 cdht template --home "$H" --kind scores --framework '*/nope/1'
expect_stderr_contains "cdht template: framework */nope/1 is not published here, or has no indicators (cdht framework list)"
expect_exit 0 cdht import --home "$H" "$T/s.xlsx" --as scores --year 2026
expect_stdout_contains "imported 0 rows"

cp "$T/s.csv" "$T/sc.csv"
printf ',,001085000123,,,,2026,,8,9,7,10,8,9,6,7,9,8,Cơ bản\r\n' >>"$T/sc.csv"
printf ',,,Trần Thị Bình,2001,C01,2026,,8,,7,6,8,9,6,7,9,8,\r\n' >>"$T/sc.csv"
expect_exit 0 cdht import --home "$H" "$T/sc.csv" --as scores --dry-run
expect_stderr_contains "2 rows, 0 bad, 2 registered, 0 changed, 0 unchanged; nothing imported (--dry-run)"
expect_exit 0 cdht import --home "$H" "$T/sc.csv" --as scores
expect_stdout_contains "imported 2 rows: 2 registered, 0 changed, 0 unchanged, 0 bad skipped; 1 leaves"
AN=$(cdht person list --home "$H" | grep -F 'Nguyễn Văn An' | cut -f1)
# The import registered An as cdht register would have: registering again changes nothing.
expect_exit 0 cdht register --home "$H" --person "$AN" --year 2026
expect_stderr_contains "cdht register: already registered; nothing changed"
S2=$(snapshot "$H")
expect_exit 0 cdht import --home "$H" "$T/sc.csv" --as scores
expect_stdout_contains "imported 2 rows: 0 registered, 0 changed, 2 unchanged, 0 bad skipped; 0 leaves"
expect_unchanged "$H" "$S2" "re-import of the same score sheet"

cp "$T/s.csv" "$T/sbad.csv"
printf ',,001085000123,,,,2026,,8,9,7,11,8,9,6,7,9,8,Cơ bản\r\n' >>"$T/sbad.csv"
printf ',,,Lê Văn Xa,1990,C01,2026,,8,,,,,,,,,,\r\n' >>"$T/sbad.csv"
printf ',,,Trần Thị Bình,2001,C01,,,9,,,,,,,,,,Giỏi\r\n' >>"$T/sbad.csv"
SWANT='line 2, column "1.4": 11 is above the indicator'"'"'s maximum (10)
line 3: unknown person: no one held has this Họ và tên, Năm sinh and Mã đơn vị (import the person list first)
line 4, column "Năm đánh giá": empty: the column is required (or give --year)
line 4, column "Kỹ năng số": must be Không, Cơ bản or Thành thạo'
expect_refused 2 "$H" cdht import --home "$H" "$T/sbad.csv" --as scores --dry-run
expect_eq "$(cat "$OUT")" "$SWANT" "score-sheet dry-run listing"
expect_refused 2 "$H" cdht import --home "$H" "$T/sbad.csv" --as scores
expect_stderr_contains "$SWANT"
expect_stderr_contains "cdht import: refusing: 3 of 3 rows are bad; nothing was written (fix them, or --skip-bad imports the others)"
printf 'Name,Năm đánh giá,1.1\r\nAn,2026,8\r\n' >"$T/sen.csv"
expect_refused 2 "$H" cdht import --home "$H" "$T/sen.csv" --as scores
expect_stderr_contains 'line 1, column 1: "Name" is an English header; the template'"'"'s is "Họ và tên" (cdht template --kind scores writes one)'
expect_stderr_contains "cdht import: refusing: the header row does not match the template (docs/import-template.md; cdht template --kind scores writes one); nothing was written"

# Once self-submitted, a changed row is refused; the same sheet is still "unchanged".
expect_exit 0 cdht assess --home "$H" --person "$AN" --year 2026 --submit
expect_stdout_contains "total 81/100: meets the criteria (80; minimum 5)"
expect_stdout_contains "digital: basic"
expect_stdout_contains "status: self_submitted"
sed 's/,9,8,Cơ bản/,9,9,Cơ bản/' "$T/sc.csv" >"$T/sc2.csv"
expect_refused 2 "$H" cdht import --home "$H" "$T/sc2.csv" --as scores
expect_stderr_contains "line 2: the assessment is self_submitted; self scores can no longer change"
expect_stderr_contains "cdht import: refusing: 1 of 2 rows are bad; nothing was written"
expect_exit 0 cdht import --home "$H" "$T/sc.csv" --as scores --year 2026
expect_stdout_contains "imported 2 rows: 0 registered, 0 changed, 2 unchanged, 0 bad skipped; 0 leaves"
expect_exit 2 cdht import --home "$H" "$T/sc.csv" --as persons --year 2026
expect_stderr_contains "--year: only with --as scores"
expect_output_lacks 001085000123

finish
