# The fixed dataset of the report scenarios (report_test.sh, report_xlsx_test.sh), sourced after
# lib.sh: a commune with two villages (one disadvantaged), the seed framework and plans, and five
# people registered, assessed, reviewed, approved or rejected through the commands, in the home
# $H. tests/data/report-44001-2026.csv holds its hand-computed CSV report.
H=$T/h
new_home h 44001
must cdht unit add --home "$H" --code 44 --kind province --name "Tỉnh Quảng Bình"
must cdht unit add --home "$H" --code 44001 --kind commune --name "Xã Sen Thủy" --parent 44
must cdht unit add --home "$H" --code 44001-V1 --kind village --name "Thôn Một" --parent 44001
must cdht unit add --home "$H" --code 44001-V2 --kind village --name "Đông Hà" --parent 44001 \
    --disadvantaged
must cdht framework publish --home "$H" --seed
must cdht plan publish --home "$H" --seed --unit 44001

# person NAME YEAR UNIT: adds a person, prints the id.
person() {
    "$CDHT" person add --home "$H" --name "$1" --birth-year "$2" --gender male --unit "$3"
}
# year PID GROUP DIGITAL STEP: registers for 2026 and takes the assessment to STEP
# (draft | reviewed | approved | rejected).
year() {
    local p=$1 g=$2 d=$3 step=$4
    must cdht register --home "$H" --person "$p" --year 2026 --group "$g" --digital "$d"
    [ "$step" = draft ] && return
    must cdht assess --home "$H" --person "$p" --year 2026 --scores 8,8,8,8,8,8,8,8,8,8 --submit
    must cdht review --home "$H" --person "$p" --year 2026
    case $step in
    approved)
        must cdht approve --home "$H" --person "$p" --year 2026 --decision 12/QĐ-KH \
            --date 2026-11-20 --signer "Trần Văn Bình"
        ;;
    rejected)
        must cdht approve --home "$H" --person "$p" --year 2026 --decision 12/QĐ-KH \
            --date 2026-11-20 --signer "Trần Văn Bình" --reject --reason "thiếu minh chứng"
        ;;
    esac
}
year "$(person "Nguyễn Văn An" 1980 44001-V1)" farmer basic approved
year "$(person "Lê Thị Bình" 1990 44001-V1)" farmer none reviewed
year "$(person "Phạm Văn Cường" 1975 44001-V1)" worker none draft
year "$(person "Hoàng Văn Dũng" 1985 44001-V2)" farmer proficient approved
year "$(person "Võ Thị Em" 1995 44001-V2)" worker basic rejected

