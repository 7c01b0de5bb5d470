#!/usr/bin/env bash
# make demo: cdht's main job on its embedded default, until the network exists (issue 4): a
# province root, a commune office (hub) and two village branches, each with its own replica in
# a temporary folder, exchange signed bundles as a USB stick would carry them. It shows the key
# ceremony and enrolment, a village syncing with the commune over the network (cdht serve and
# cdht sync on 127.0.0.1) and another by USB bundle, each village holding only its own people,
# a write refused outside a village, a conflict between the commune and a village editing one
# person, the commune's counts per village, a stolen laptop revoked, an audit, and a tampered
# bundle being refused. Everything it creates is removed at the end.
set -euo pipefail

CDHT=${CDHT:-build/release/cdht}
[ -x "$CDHT" ] || { echo "demo: $CDHT is not built (run make)" >&2; exit 2; }
DEMO=$(mktemp -d "${TMPDIR:-/tmp}/cdht-demo.XXXXXX")
trap 'rm -rf "$DEMO"' EXIT
unset CDHT_HOME CDHT_PASSPHRASE_FILE CDHT_FAKE_NOW_MS
exec 2>&1 # cdht reports on stderr; keep it in order with the rest

ROOT=$DEMO/province COMMUNE=$DEMO/commune VA=$DEMO/village-a VB=$DEMO/village-b
say() { printf '\n== %s\n' "$*"; }
cdht() { "$CDHT" "$@"; }

say "key ceremony: the province association is the root; every replica pins its verifier key"
cdht init --home "$ROOT" --unit 44 --name "Hội Khuyến học tỉnh" --root >/dev/null
VKEY=$(cdht whoami --home "$ROOT" | sed -n 2p)
echo "root: $VKEY"
cdht init --home "$COMMUNE" --unit 44001 --name "Văn phòng xã Quảng Vinh" --trust-root "$VKEY" >/dev/null
cdht init --home "$VA" --unit 44001001 --name "Chi hội thôn 1" --trust-root "$VKEY" >/dev/null
cdht init --home "$VB" --unit 44001002 --name "Chi hội thôn 2" --trust-root "$VKEY" >/dev/null
cdht status --home "$VA" | grep -E '^(trust|grant):'

say "the root draws the province and the commune, and certifies the commune office"
cdht unit add --home "$ROOT" --code 44 --kind province --name "Tỉnh Quảng Bình"
cdht unit add --home "$ROOT" --code 44001 --kind commune --name "Xã Quảng Vinh" --parent 44
REQ=$(cdht enroll request --home "$COMMUNE" --role hub 2>/dev/null)
echo "the commune's request (${#REQ} characters): ${REQ:0:40}..."
cdht cert issue --home "$ROOT" "$REQ" --role hub --unit 44001
cdht cert issue --home "$ROOT" "$REQ" --role writer --unit 44001
cdht bundle export --home "$ROOT" -o "$DEMO/root.bundle"
cdht bundle import --home "$COMMUNE" "$DEMO/root.bundle"
cdht status --home "$COMMUNE" | grep -E '^grant:'

say "the commune draws its villages and school, and certifies each village's laptop"
cdht unit add --home "$COMMUNE" --code 44001001 --kind village --name "Thôn 1" --parent 44001
cdht unit add --home "$COMMUNE" --code 44001002 --kind village --name "Thôn 2" --parent 44001
cdht unit add --home "$COMMUNE" --code 44001900 --kind school --name "Trường THCS Quảng Vinh" \
    --parent 44001
cdht cert issue --home "$COMMUNE" "$(cdht enroll request --home "$VA" 2>/dev/null)" --role writer
cdht cert issue --home "$COMMUNE" "$(cdht enroll request --home "$VB" 2>/dev/null)" --role writer
cdht bundle export --home "$COMMUNE" -o "$DEMO/units.bundle"
cdht bundle import --home "$VA" "$DEMO/units.bundle"
cdht bundle import --home "$VB" "$DEMO/units.bundle"
cdht unit tree --home "$VA"
cdht cert list --home "$VA"

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
echo "village A's laptop may not register people of village B:"
cdht person add --home "$VA" --unit 44001002 --name "Lê Văn Cường" --birth-year 1990 \
    --gender male || true

say "village A has a link: it syncs with the commune over the network (127.0.0.1, encrypted)"
PORT=$((42000 + $$ % 2000))
"$CDHT" serve --home "$COMMUNE" --listen "tcp://127.0.0.1:$PORT" 2>"$DEMO/serve.log" &
SERVE_PID=$!
trap 'kill "$SERVE_PID" 2>/dev/null; wait "$SERVE_PID" 2>/dev/null; rm -rf "$DEMO"' EXIT
for _ in $(seq 50); do grep -q "listening" "$DEMO/serve.log" && break; sleep 0.1; done
COMMUNE_KEY=$(cdht whoami --home "$COMMUNE" | sed -n 1p)
cdht sync --home "$VA" --peer "tcp://127.0.0.1:$PORT" --peer-key "$COMMUNE_KEY" --timeout 30
cdht status --home "$VA" | grep '^peer:'

say "village B has none: a USB stick carries only what the commune lacks (its heads file)"
cdht log heads --home "$COMMUNE" -o "$DEMO/commune.heads"
cdht bundle export --home "$VB" -o "$DEMO/b.bundle" --since "$DEMO/commune.heads"
cdht bundle import --home "$COMMUNE" "$DEMO/b.bundle"
cdht bundle import --home "$COMMUNE" "$DEMO/b.bundle"   # the same stick twice: nothing changes

say "and back: each village gets a bundle scoped to it, never the other village's people"
cdht bundle export --home "$COMMUNE" --for "$(cdht whoami --home "$VA" | sed -n 1p)" -o "$DEMO/to-a.bundle"
cdht bundle export --home "$COMMUNE" --scope 44001002 -o "$DEMO/to-b.bundle"
cdht bundle import --home "$VA" "$DEMO/to-a.bundle"
cdht bundle import --home "$VB" "$DEMO/to-b.bundle"
echo "village A holds $(cdht person list --home "$VA" --format csv | tail -n +2 | wc -l) people, village B $(cdht person list --home "$VB" --format csv | tail -n +2 | wc -l)"

say "the commune and village A correct the same person's name without seeing each other"
ID=$(cdht person list --home "$VA" --unit 44001001 --format csv | sed -n 2p | cut -d, -f1)
cdht person set --home "$VA" "$ID" --name "Nguyễn Thị Hoa"
cdht person set --home "$COMMUNE" "$ID" --name "Nguyễn Thị Huệ"
cdht log heads --home "$COMMUNE" -o "$DEMO/c.heads"
cdht log heads --home "$VA" -o "$DEMO/a.heads"
cdht bundle export --home "$VA" -o "$DEMO/a2.bundle" --since "$DEMO/c.heads"
cdht bundle export --home "$COMMUNE" -o "$DEMO/c2.bundle" --for "$(cdht whoami --home "$VA" | sed -n 1p)" --since "$DEMO/a.heads"
cdht bundle import --home "$COMMUNE" "$DEMO/a2.bundle"
cdht bundle import --home "$VA" "$DEMO/c2.bundle"
cdht conflicts --home "$VA"
echo "both keep the same winner: $(cdht person list --home "$VA" --format csv | grep "^$ID," | cut -d, -f2) = $(cdht person list --home "$COMMUNE" --format csv | grep "^$ID," | cut -d, -f2)"

say "the commune's people per village (from its replica)"
cdht person list --home "$COMMUNE" --format csv | tail -n +2 | cut -d, -f5 | sort | uniq -c

say "village B's laptop is stolen: the commune revokes it after the last leaf it trusts"
LAST=$(( $(cdht log list --home "$COMMUNE" | grep "^$(cdht whoami --home "$VB" | sed -n 1p)" | cut -d' ' -f2) - 1 ))
cdht cert revoke --home "$COMMUNE" --subject "$(cdht whoami --home "$VB" | sed -n 1p)" \
    --last-index "$LAST" --reason "laptop stolen"
cdht person add --home "$VB" --unit 44001002 --name "Kẻ Gian" --birth-year 1970 --gender male >/dev/null
cdht bundle export --home "$VB" -o "$DEMO/thief.bundle"
cdht bundle import --home "$COMMUNE" "$DEMO/thief.bundle"
cdht quarantine list --home "$COMMUNE"
if cdht person list --home "$COMMUNE" --format csv | grep -q "Kẻ Gian"; then
    echo "demo: a revoked laptop's person counts" >&2
    exit 1
fi
echo "the thief's person counts nowhere; the log keeps it, held"

say "the province receives everything and agrees with the commune"
cdht bundle export --home "$COMMUNE" -o "$DEMO/up.bundle"
cdht bundle import --home "$ROOT" "$DEMO/up.bundle"
for h in "$ROOT" "$COMMUNE"; do printf '%-10s %s\n' "$(basename "$h")" "$(cdht hash --home "$h")"; done

say "audit of the province replica: leaves, roots, signatures, chains, authorisation, tables"
cdht audit --home "$ROOT" || echo "(exit $?: findings are reported, the revoked laptop among them)"
cdht log list --home "$ROOT"

say "a bundle altered on the way is refused, and the replica is unchanged"
before=$(cdht hash --home "$VA")
cp "$DEMO/c2.bundle" "$DEMO/evil.bundle"
printf '\x42' | dd of="$DEMO/evil.bundle" bs=1 seek=40 conv=notrunc status=none
if cdht bundle import --home "$VA" "$DEMO/evil.bundle"; then
    echo "demo: an altered bundle was accepted" >&2
    exit 1
fi
[ "$before" = "$(cdht hash --home "$VA")" ] && echo "village A unchanged: $before"

say "done"
