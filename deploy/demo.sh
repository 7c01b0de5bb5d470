#!/usr/bin/env bash
# make demo: cdht's main job on its embedded default, until the network exists (issue 4): a
# commune office and two village branches, each with its own replica in a temporary folder,
# exchange signed bundles as a USB stick would carry them, and converge. It shows the bundle
# round trip, that every replica ends with the same state hash, a conflict between two
# villages editing one person, the commune's counts per village, an audit, and a tampered
# bundle being refused. Everything it creates is removed at the end.
set -euo pipefail

CDHT=${CDHT:-build/release/cdht}
[ -x "$CDHT" ] || { echo "demo: $CDHT is not built (run make)" >&2; exit 2; }
DEMO=$(mktemp -d "${TMPDIR:-/tmp}/cdht-demo.XXXXXX")
trap 'rm -rf "$DEMO"' EXIT
unset CDHT_HOME CDHT_PASSPHRASE_FILE CDHT_FAKE_NOW_MS
exec 2>&1 # cdht reports on stderr; keep it in order with the rest

COMMUNE=$DEMO/commune VA=$DEMO/village-a VB=$DEMO/village-b
say() { printf '\n== %s\n' "$*"; }
cdht() { "$CDHT" "$@"; }

say "three replicas: commune office 44001, villages 44001001 and 44001002"
cdht init --home "$COMMUNE" --unit 44001 --name "Văn phòng xã Quảng Vinh" >/dev/null
cdht init --home "$VA" --unit 44001001 --name "Chi hội thôn 1" >/dev/null
cdht init --home "$VB" --unit 44001002 --name "Chi hội thôn 2" >/dev/null
for h in "$COMMUNE" "$VA" "$VB"; do
    printf '%-10s %s\n' "$(basename "$h")" "$(cdht whoami --home "$h" | sed -n 2p)"
done

say "the commune publishes its units; a USB stick carries them to both villages"
cdht unit add --home "$COMMUNE" --code 44 --kind province --name "Tỉnh Quảng Bình"
cdht unit add --home "$COMMUNE" --code 44001 --kind commune --name "Xã Quảng Vinh" --parent 44
cdht unit add --home "$COMMUNE" --code 44001001 --kind village --name "Thôn 1" --parent 44001
cdht unit add --home "$COMMUNE" --code 44001002 --kind village --name "Thôn 2" --parent 44001
cdht unit add --home "$COMMUNE" --code 44001900 --kind school --name "Trường THCS Quảng Vinh" \
    --parent 44001
cdht bundle export --home "$COMMUNE" -o "$DEMO/units.bundle"
cdht bundle import --home "$VA" "$DEMO/units.bundle"
cdht bundle import --home "$VB" "$DEMO/units.bundle"
cdht unit list --home "$VA"

say "each village registers its people, offline"
FAM=(Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương)
MID=(Văn Thị Hữu Đức Minh Thanh Ngọc Quang Xuân Thu)
GIV=(An Bình Cường Dũng Giang Hà Hải Hạnh Hiếu Hoa Hùng Hương Khánh Lan Linh Long Mai Nam
     Nga Phúc Phương Quân Sơn Tâm Thảo Trang Trường Tuấn Vân Yến)
TARGET_GROUPS=(farmer worker official)
register() { # home unit count seed
    local home=$1 unit=$2 n=$3 seed=$4 i
    for ((i = 0; i < n; i++)); do
        local k=$((seed * 7919 + i * 104729))
        local gender=$([ $((k % 2)) -eq 0 ] && echo male || echo female)
        cdht person add --home "$home" --unit "$unit" --gender "$gender" \
            --name "${FAM[k % 15]} ${MID[(k / 15) % 10]} ${GIV[(k / 150) % 30]}" \
            --birth-year $((1950 + k % 55)) --group "${TARGET_GROUPS[k % 3]}" >/dev/null
    done
}
register "$VA" 44001001 40 1
register "$VB" 44001002 30 2
# One person with a citizen id: only its keyed hash is stored.
cdht person add --home "$VA" --unit 44001001 --name "Nguyễn Văn Trường" --birth-year 1985 \
    --gender male --group farmer --citizen-id 044085001234 >/dev/null
echo "village A: $(cdht person list --home "$VA" --format csv | tail -n +2 | wc -l) people"
echo "village B: $(cdht person list --home "$VB" --format csv | tail -n +2 | wc -l) people"

say "USB to the commune: each village exports only what the commune lacks (its heads file)"
cdht log heads --home "$COMMUNE" -o "$DEMO/commune.heads"
cdht bundle export --home "$VA" -o "$DEMO/a.bundle" --since "$DEMO/commune.heads"
cdht bundle export --home "$VB" -o "$DEMO/b.bundle" --since "$DEMO/commune.heads"
cdht bundle import --home "$COMMUNE" "$DEMO/a.bundle"
cdht bundle import --home "$COMMUNE" "$DEMO/b.bundle"
cdht bundle import --home "$COMMUNE" "$DEMO/b.bundle"   # the same stick twice: nothing changes

say "and back: the commune's full bundle reaches both villages"
cdht bundle export --home "$COMMUNE" -o "$DEMO/all.bundle"
cdht bundle import --home "$VA" "$DEMO/all.bundle"
cdht bundle import --home "$VB" "$DEMO/all.bundle"
for h in "$COMMUNE" "$VA" "$VB"; do printf '%-10s %s\n' "$(basename "$h")" "$(cdht hash --home "$h")"; done

say "two villages correct the same person's name without seeing each other"
ID=$(cdht person list --home "$VA" --unit 44001001 --format csv | sed -n 2p | cut -d, -f1)
cdht person set --home "$VA" "$ID" --name "Nguyễn Thị Hoa"
cdht person set --home "$VB" "$ID" --name "Nguyễn Thị Huệ"
cdht log heads --home "$VB" -o "$DEMO/b.heads"
cdht log heads --home "$VA" -o "$DEMO/a.heads"
cdht bundle export --home "$VA" -o "$DEMO/a2.bundle" --since "$DEMO/b.heads"
cdht bundle export --home "$VB" -o "$DEMO/b2.bundle" --since "$DEMO/a.heads"
cdht bundle import --home "$VB" "$DEMO/a2.bundle"
cdht bundle import --home "$VA" "$DEMO/b2.bundle"
cdht conflicts --home "$VA"
echo "both keep the same winner: $(cdht hash --home "$VA" | cut -c1-16) = $(cdht hash --home "$VB" | cut -c1-16)"

say "the commune's people per village (from its replica)"
cdht bundle import --home "$COMMUNE" "$DEMO/a2.bundle"
cdht bundle import --home "$COMMUNE" "$DEMO/b2.bundle"
cdht person list --home "$COMMUNE" --format csv | tail -n +2 | cut -d, -f5 | sort | uniq -c

say "audit of the commune replica: every leaf, root, signature, and the tables against the logs"
cdht audit --home "$COMMUNE"
cdht log list --home "$COMMUNE"

say "a bundle altered on the way is refused, and the replica is unchanged"
before=$(cdht hash --home "$VB")
cp "$DEMO/a2.bundle" "$DEMO/evil.bundle"
printf '\x42' | dd of="$DEMO/evil.bundle" bs=1 seek=40 conv=notrunc status=none
if cdht bundle import --home "$VB" "$DEMO/evil.bundle"; then
    echo "demo: an altered bundle was accepted" >&2
    exit 1
fi
[ "$before" = "$(cdht hash --home "$VB")" ] && echo "village B unchanged: $before"

say "done"
