#!/usr/bin/env bash
# deploy/demo-people.sh SEED COUNT village|school: the made-up people of make demo, one a line,
# tab-separated: name, birth year, gender, target group, citizen id ("-": none), then a later
# correction ("-", or "--name"/"--group"/"--birth-year" and the value to set).
#
# Nobody here is real. The same SEED and COUNT give the same lines on every machine: the
# generator is its own Park-Miller LCG (16807, 2^31-1; products stay below 2^53, so awk's
# doubles are exact), because srand()/rand() differ between mawk and gawk. Family names follow
# their published shares (Nguyễn about 38%, Trần 11%, Lê 9.5%, ...); older people more often
# carry the middle name Văn or Thị; Thị is given to women, Văn to men, and given names are picked
# from the list of the person's gender. Citizen ids follow the CCCD shape of DOMAIN.md: province
# of birth registration (mostly 044), century/gender digit, year, 6 digits unique in the output.
# The output is personal-looking data: write it to a private file, never to a log.
set -euo pipefail

if ! [[ $# -eq 3 && $1 =~ ^[0-9]+$ && $2 =~ ^[0-9]+$ && ($3 == village || $3 == school) ]]; then
    echo "usage: $0 SEED COUNT village|school" >&2
    exit 2
fi

exec awk -v seed="$1" -v count="$2" -v kind="$3" '
function rnd() { state = (state * 16807) % 2147483647; return (state - 1) / 2147483646 }
function below(n) { return int(rnd() * n) % n }
# pick(tbl): a weighted choice from a table made by table(); each entry is "word:weight".
function table(name, spec,    n, i, parts, kv) {
    n = split(spec, parts, " ")
    tot[name] = 0
    for (i = 1; i <= n; i++) {
        split(parts[i], kv, ":")
        word[name, i] = kv[1]
        tot[name] += (kv[2] == "" ? 1 : kv[2])
        cum[name, i] = tot[name]
    }
    size[name] = n
}
function pick(name,    r, i) {
    r = rnd() * tot[name]
    for (i = 1; i < size[name]; i++)
        if (r < cum[name, i])
            return word[name, i]
    return word[name, size[name]]
}
BEGIN {
    state = (seed * 7919 + 12345) % 2147483646 + 1
    # Family names, per mille (the remaining shares spread over less common names).
    table("fam", "Nguyễn:380 Trần:110 Lê:95 Phạm:71 Hoàng:35 Huỳnh:16 Phan:45 Vũ:20 Võ:19 " \
        "Đặng:21 Bùi:20 Đỗ:14 Hồ:13 Ngô:13 Dương:10 Lý:5 Đinh:20 Trương:18 Mai:12 Đoàn:12 " \
        "Trịnh:10 Lương:10 Cao:10 Hà:8 Lâm:7 Tạ:6")
    table("mid_m_old", "Văn:65 Hữu:8 Đức:8 Đình:6 Công:5 Xuân:4 Quang:4")
    table("mid_m_new", "Văn:30 Minh:12 Đức:10 Quang:8 Hữu:6 Anh:6 Đình:6 Thanh:5 Tuấn:5 " \
        "Gia:4 Trọng:4 Xuân:4")
    table("mid_f_old", "Thị:75 Hồng:6 Thanh:5 Ngọc:5 Kim:5 Thu:4")
    table("mid_f_new", "Thị:40 Ngọc:12 Thu:8 Thanh:6 Minh:6 Hồng:6 Thùy:6 Kim:5 Phương:5 " \
        "Khánh:3 Bảo:3")
    table("giv_m", "An Bảo Bình Chiến Cường Dũng Duy Đạt Định Đông Hải Hậu Hiếu Hòa Hoàng Hùng " \
        "Huy Khang Khánh Khoa Kiên Lâm Lộc Long Lực Mạnh Minh Nam Nghĩa Nhân Phát Phong Phúc " \
        "Quang Quân Sang Sơn Tài Tân Thắng Thành Thịnh Tiến Toàn Trí Trung Tuấn Tùng Việt Vinh")
    table("giv_f", "Anh Ánh Bích Châu Chi Cúc Diệp Dung Duyên Giang Hà Hạnh Hằng Hiền Hoa Hồng " \
        "Huệ Hương Huyền Lan Liên Linh Loan Mai My Nga Ngân Nhàn Nhung Oanh Phương Quyên " \
        "Quỳnh Tâm Thảo Thắm Thơ Thủy Thư Trang Trinh Tuyết Uyên Vân Vy Xuân Yến")
    # Adults of a village; a school registers its teachers and staff.
    if (kind == "village") {
        table("era", "1945:15 1960:30 1980:35 1995:20")
        table("grp", "farmer:65 worker:28 official:7")
        cid_share = 0.40
    } else {
        table("era", "1965:20 1980:45 1995:35")
        table("grp", "official:75 worker:20 farmer:5")
        cid_share = 0.85
    }
    span["1945"] = 15; span["1960"] = 20; span["1980"] = 15; span["1995"] = 13; span["1965"] = 15
    table("born", "044:80 042:5 045:5 038:3 040:3 001:2 079:2")
    # Each toned vowel and the same vowel without its tone mark, for the typing slips below.
    ntone = split("à=a á=a ả=a ã=a ạ=a ằ=ă ắ=ă ẳ=ă ẵ=ă ặ=ă ầ=â ấ=â ẩ=â ẫ=â ậ=â è=e é=e ẻ=e " \
        "ẽ=e ẹ=e ề=ê ế=ê ể=ê ễ=ê ệ=ê ì=i í=i ỉ=i ĩ=i ị=i ò=o ó=o ỏ=o õ=o ọ=o ồ=ô ố=ô ổ=ô ỗ=ô " \
        "ộ=ô ờ=ơ ớ=ơ ở=ơ ỡ=ơ ợ=ơ ù=u ú=u ủ=u ũ=u ụ=u ừ=ư ứ=ư ử=ư ữ=ư ự=ư ỳ=y ý=y ỷ=y ỹ=y " \
        "ỵ=y Á=A", tone, " ")
    groups = "farmer worker official"
    for (n = 1; n <= count; n++) {
        era = pick("era")
        year = era + below(span[era])
        gender = below(100) < 50 ? "male" : "female"
        g = substr(gender, 1, 1)
        mid = pick("mid_" g "_" (year < 1980 ? "old" : "new"))
        for (t = 0; t < 8; t++) {       # a given name equal to the middle one reads oddly
            given = pick("giv_" g)
            if (given != mid)
                break
        }
        name = pick("fam") " " mid " " given
        group = pick("grp")
        cid = "-"
        if (rnd() < cid_share) {
            century = (year >= 2000 ? 2 : 0) + (gender == "female" ? 1 : 0)
            for (t = 0; t < 100; t++) {   # unique in this output; 10^6 suffixes, so it ends
                cid = sprintf("%s%d%02d%06d", pick("born"), century, year % 100, below(1000000))
                if (!(cid in used))
                    break
            }
            used[cid] = 1
        }
        # About one person in eleven is corrected later: a group that changed, a birth year
        # misread from paper (only without a citizen id: its digits fix the year), or a name
        # first typed on a keyboard that lost the tone marks of the given name.
        fix = "-"; value = "-"; shown = name; r = below(1000)
        if (r < 45) {
            fix = "--group"
            do value = pick("grp"); while (value == group)
        } else if (r < 65 && cid == "-") {
            fix = "--birth-year"; value = year; year = year + (below(2) ? 1 : -1)
        } else if (r < 90) {
            slip = given
            for (t = 1; t <= ntone; t++) {
                split(tone[t], kv, "=")
                gsub(kv[1], kv[2], slip)
            }
            if (slip != given) {
                fix = "--name"; value = name; shown = substr(name, 1, length(name) - length(given)) slip
            }
        }
        printf "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", shown, year, gender, group, cid, fix, value
    }
}'
