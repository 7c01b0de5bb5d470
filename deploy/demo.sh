#!/usr/bin/env bash
# make demo: cdht's main job on one machine (issue 4). Five replicas in a temporary folder, each
# a real cdht home on 127.0.0.1: the province association (the root, a hub), a commune office
# (a hub certified by the province) and three branches certified by the commune: two villages
# and a school. Certificates go through the real enrolment commands and travel by network sync.
# About 3,000 made-up people with Vietnamese names are registered on the branches (some later
# corrected, so records have history), synced up to the commune and on to the province, and what
# the province writes comes back down two hops. Then each node's status, the people per unit,
# the state hashes, a write and a stolen laptop refused, a USB bundle altered on the way
# refused, and the province's audit. Only counts are printed, never names or citizen ids. Every
# process it starts is stopped by its PID, and the folder is removed.
set -euo pipefail

#
# `deploy/demo.sh --keep DIR` builds the same topology in DIR (new or empty) and leaves the five
# nodes running, for trying cdht out by hand: it ends with their addresses and keys, and
# DIR/stop.sh stops them.
CDHT=${CDHT:-build/release/cdht}
[ -x "$CDHT" ] || { echo "demo: $CDHT is not built (run make)" >&2; exit 2; }
CDHT=$(cd "$(dirname "$CDHT")" && pwd)/$(basename "$CDHT") # stop.sh may run from anywhere
HERE=$(cd "$(dirname "$0")" && pwd)
KEEP=
if [ "${1:-}" = --keep ]; then
    [ -n "${2:-}" ] || { echo "demo: --keep needs a folder" >&2; exit 2; }
    mkdir -p "$2"
    [ -z "$(ls -A "$2")" ] || { echo "demo: $2 is not empty" >&2; exit 2; }
    KEEP=$(cd "$2" && pwd)
elif [ $# -gt 0 ]; then
    echo "usage: deploy/demo.sh [--keep DIR]" >&2
    exit 2
fi
DEMO=${KEEP:-$(mktemp -d "${TMPDIR:-/tmp}/cdht-demo.XXXXXX")}
PIDS=() # the background processes started here and not yet reaped (serves, syncs, registrations)
KEPT=0  # --keep and the demo ran to its end: the nodes stay up
cleanup() {
    local p
    [ "$KEPT" = 1 ] && return
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    [ -n "$KEEP" ] || rm -rf "$DEMO"
}
# reap PID: wait for a process started here, then forget it (a reaped PID may be reused).
reap() {
    local rc=0 p keep=()
    wait "$1" || rc=$?
    for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    PIDS=("${keep[@]}")
    return "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM # through the EXIT trap
unset CDHT_HOME CDHT_PASSPHRASE_FILE CDHT_FAKE_NOW_MS
exec 2>&1 # cdht reports on stderr; keep it in order with the rest
START=$SECONDS

PROV=$DEMO/province COMMUNE=$DEMO/commune
V1=$DEMO/village-1 V2=$DEMO/village-2 SCHOOL=$DEMO/school
say() { printf '\n== %s\n' "$*"; }
cdht() { "$CDHT" "$@"; }
key_of() { cdht whoami --home "$1" | sed -n 1p; }

# start_serve HOME LOG [SERVE OPTIONS...]: the node of HOME, serving on a free port of
# 127.0.0.1 (and dialling the upstream its options name). Waits at most 5 s for its
# "listening on" line, else tries the next port (at most 5). Sets SERVE_PID and SERVE_URL.
start_serve() {
    local home=$1 log=$2 port=$((42000 + RANDOM % 8000)) try
    shift 2
    for try in 1 2 3 4 5; do
        "$CDHT" serve --home "$home" --listen "tcp://127.0.0.1:$port" "$@" >/dev/null 2>"$log" &
        SERVE_PID=$!
        PIDS+=("$SERVE_PID")
        for _ in $(seq 50); do
            if grep -q "listening on" "$log"; then
                SERVE_URL=tcp://127.0.0.1:$port
                return 0
            fi
            kill -0 "$SERVE_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill "$SERVE_PID" 2>/dev/null || true
        reap "$SERVE_PID" 2>/dev/null || true
        port=$((port + 1 + try))
    done
    echo "demo: cdht serve did not start on 127.0.0.1 (tried 5 ports)" >&2
    exit 3
}

# sync_now HOME...: each HOME's running node dials its upstream now (`cdht sync --now`, through
# its control socket), all at once; prints each one's answer.
sync_now() {
    local h pids=() i=0 failed=0
    for h in "$@"; do
        cdht sync --home "$h" --now >"$h.sync" 2>&1 &
        pids+=($!)
        PIDS+=($!)
    done
    for h in "$@"; do
        reap "${pids[i]}" || failed=1
        printf '%-10s %s\n' "$(basename "$h"):" "$(tr '\n' ' ' <"$h.sync")"
        i=$((i + 1))
    done
    [ "$failed" = 0 ] || { echo "demo: a sync failed" >&2; exit 1; }
}

# counts HOME: people per unit as the replica holds them, by target group. The unit's name comes
# last: awk pads by bytes, and Vietnamese names have multibyte letters.
counts() {
    cdht unit list --home "$1" --format csv >"$DEMO/units.csv"
    cdht person list --home "$1" --format csv |
        awk -F, 'NR == FNR { name[$1] = $4; next }
                 FNR > 1 { n[$5]++; g[$5 "," $6]++; total++ }
                 END {
                     printf "  %-9s %6s %7s %7s %8s\n", "unit", "people", "farmer", "worker",
                         "official"
                     for (u in n)
                         printf "  %-9s %6d %7d %7d %8d  %s\n", u, n[u], g[u ",farmer"],
                             g[u ",worker"], g[u ",official"], name[u] | "sort"
                     close("sort")
                     printf "  %-9s %6d\n", "total", total
                 }' "$DEMO/units.csv" -
}

say "1. five replicas; the province is the root and pins its key everywhere"
cdht init --home "$PROV" --unit 44 --name "Hội Khuyến học tỉnh" --root >/dev/null
PROV_VKEY=$(cdht whoami --home "$PROV" | sed -n 2p)
PROV_KEY=$(key_of "$PROV")
cdht init --home "$COMMUNE" --unit 44001 --name "Hội Khuyến học xã Quảng Vinh" \
    --trust-root "$PROV_VKEY" >/dev/null
cdht init --home "$V1" --unit 44001001 --name "Chi hội thôn 1" --trust-root "$PROV_VKEY" >/dev/null
cdht init --home "$V2" --unit 44001002 --name "Chi hội thôn 2" --trust-root "$PROV_VKEY" >/dev/null
cdht init --home "$SCHOOL" --unit 44001900 --name "Trường THCS Quảng Vinh" \
    --trust-root "$PROV_VKEY" >/dev/null
COMMUNE_KEY=$(key_of "$COMMUNE")
echo "root verifier key: $PROV_VKEY"

say "2. the province draws its units, serves, and certifies the commune as its hub"
cdht unit add --home "$PROV" --code 44 --kind province --name "Tỉnh Quảng Bình"
cdht unit add --home "$PROV" --code 44001 --kind commune --name "Xã Quảng Vinh" --parent 44
start_serve "$PROV" "$DEMO/province-serve.log"
PROV_URL=$SERVE_URL PROV_PID=$SERVE_PID
echo "province serves on $PROV_URL"
REQ=$(cdht enroll request --home "$COMMUNE" --role hub 2>/dev/null)
echo "the commune's enrolment request: one signed line of ${#REQ} characters"
cdht cert issue --home "$PROV" "$REQ" --role hub --unit 44001
cdht cert issue --home "$PROV" "$REQ" --role approver --unit 44001 # decides the commune's titles
echo "the province publishes the criteria (244/QĐ-KHVN) and the national plan (677/QĐ-TTg):"
cdht framework publish --home "$PROV" --seed
cdht plan publish --home "$PROV" --seed
start_serve "$COMMUNE" "$DEMO/commune-serve.log" --upstream "$PROV_URL $PROV_KEY"
COMMUNE_URL=$SERVE_URL COMMUNE_PID=$SERVE_PID
echo "the commune's node serves on $COMMUNE_URL and dials the province by itself"
sync_now "$COMMUNE" # the certificate arrives by sync, with the province's units
cdht status --home "$COMMUNE" | grep -E '^grant:'
cdht plan publish --home "$COMMUNE" --seed --unit 44001 # the commune's own plan

say "3. the commune draws its villages and school, serves, and certifies their laptops"
cdht unit add --home "$COMMUNE" --code 44001001 --kind village --name "Thôn 1" --parent 44001
cdht unit add --home "$COMMUNE" --code 44001002 --kind village --name "Thôn 2" --parent 44001
cdht unit add --home "$COMMUNE" --code 44001900 --kind school --name "Trường THCS Quảng Vinh" \
    --parent 44001
for h in "$V1" "$V2" "$SCHOOL"; do
    cdht cert issue --home "$COMMUNE" "$(cdht enroll request --home "$h" 2>/dev/null)" \
        --role writer
done
# Each branch laptop runs its node too, dialling the commune: at start, every few minutes, and
# two seconds after the volunteer saves something.
for h in "$V1" "$V2" "$SCHOOL"; do
    start_serve "$h" "$h-serve.log" --upstream "$COMMUNE_URL $COMMUNE_KEY"
    eval "$(basename "$h" | tr a-z- A-Z_)_PID=$SERVE_PID"
done
echo "the three branch nodes run, each dialling the commune"
sync_now "$V1" "$V2" "$SCHOOL" # each laptop fetches its certificate and the units
for h in "$V1" "$V2" "$SCHOOL"; do
    printf '%-10s %s\n' "$(basename "$h"):" "$(cdht status --home "$h" | grep '^grant:')"
done

say "4. each branch registers its people, offline (made-up data: names, years, citizen ids)"
# register HOME UNIT SEED COUNT KIND: one `cdht person add` per person, then the corrections.
# About 8 ms a call alone (a SQLite commit and a signed checkpoint each): the three branches run
# at once, and 1,200 + 1,200 + 600 people with ~200 corrections take 15-25 s on 2 cores, which
# keeps the whole demo well under a minute.
register() {
    local home=$1 unit=$2 seed=$3 count=$4 kind=$5 people=$DEMO/people-$3.tsv
    local name year gender group cid fix value id fixes=0 ids=0
    bash "$HERE/demo-people.sh" "$seed" "$count" "$kind" >"$people"
    while IFS=$'\t' read -r name year gender group cid fix value; do
        if [ "$cid" = - ]; then
            id=$(cdht person add --home "$home" --unit "$unit" --name "$name" \
                --birth-year "$year" --gender "$gender" --group "$group")
        else
            id=$(cdht person add --home "$home" --unit "$unit" --name "$name" \
                --birth-year "$year" --gender "$gender" --group "$group" --citizen-id "$cid")
            ids=$((ids + 1))
        fi
        if [ "$fix" != - ]; then
            cdht person set --home "$home" "$id" "$fix" "$value" >/dev/null
            fixes=$((fixes + 1))
        fi
        echo "$id" >>"$home.ids" # for the year's assessment below (ids only, no names)
    done <"$people"
    rm -f "$people"
    printf '%-10s %d people registered (%d with a citizen id, stored as a keyed hash), %d corrected\n' \
        "$(basename "$home"):" "$count" "$ids" "$fixes" >"$home.registered"
}
t=$SECONDS
register "$V1" 44001001 1 1200 village &
pids=($!)
register "$V2" 44001002 2 1200 village &
pids+=($!)
register "$SCHOOL" 44001900 3 600 school &
pids+=($!)
PIDS+=("${pids[@]}")
for p in "${pids[@]}"; do reap "$p" || { echo "demo: a registration failed" >&2; exit 1; }; done
cat "$V1.registered" "$V2.registered" "$SCHOOL.registered"
echo "(the three at once, in $((SECONDS - t)) s)"
echo "village-1's laptop may not register a person of village 2:"
cdht person add --home "$V1" --unit 44001002 --name "Lê Văn Cường" --birth-year 1990 \
    --gender male || true

say "4b. the 2026 assessment on each branch: registration, self-assessment, branch review"
# assess_year HOME: the first ASSESSED people of the branch go through the year's workflow
# (register, self scores with the digital level and --submit, the branch review). Most meet the
# criteria (80 of 100, no indicator below 5); some fall short on the total, some on one indicator.
ASSESSED=60
assess_year() {
    local home=$1 n=0 id scores digital
    while read -r id; do
        case $((n % 10)) in
            7) scores=7,7,7,7,8,8,7,7,7,7 ;;  # 72: below 80
            8) scores=9,9,9,9,9,9,9,9,9,4 ;;  # 85, but one indicator at 4
            *) scores=9,8,9,8,9,8,9,8,9,$((8 + n % 2)) ;;
        esac
        case $((n % 3)) in 0) digital=none ;; 1) digital=basic ;; *) digital=proficient ;; esac
        cdht register --home "$home" --person "$id" --year 2026 >/dev/null &&
            cdht assess --home "$home" --person "$id" --year 2026 --scores "$scores" \
                --digital "$digital" --submit >/dev/null &&
            cdht review --home "$home" --person "$id" --year 2026 >/dev/null ||
            { echo "demo: the assessment of a person of $(basename "$home") failed" >&2; return 1; }
        n=$((n + 1))
        [ "$n" -lt "$ASSESSED" ] || break
    done <"$home.ids"
    printf '%-10s %d people registered for 2026, self-assessed, submitted and reviewed\n' \
        "$(basename "$home"):" "$n" >"$home.assessed"
}
pids=()
for h in "$V1" "$V2" "$SCHOOL"; do
    assess_year "$h" &
    pids+=($!)
done
PIDS+=("${pids[@]}")
for p in "${pids[@]}"; do reap "$p" || { echo "demo: an assessment failed" >&2; exit 1; }; done
cat "$V1.assessed" "$V2.assessed" "$SCHOOL.assessed"
echo "a writer may not approve (the commune decides):"
cdht approve --home "$V1" --person "$(head -n 1 "$V1.ids")" --year 2026 --decision 1/QĐ \
    --date 2026-11-20 --signer "Trưởng thôn" || true

say "5. up: the branches' nodes have synced as they went; now each once more, then the commune"
sync_now "$V1" "$V2" "$SCHOOL"
sync_now "$COMMUNE"

say "5b. the commune decides: every reviewed assessment that meets the criteria is approved"
for u in 44001001 44001002 44001900; do
    cdht approve --home "$COMMUNE" --all-reviewed --unit "$u" --year 2026 \
        --decision 125/QĐ-UBND --date 2026-11-25 --signer "Chủ tịch UBND xã" 2>&1 >/dev/null |
        tail -n 1
done
sync_now "$COMMUNE"                 # the decisions go up to the province
sync_now "$V1" "$V2" "$SCHOOL"      # and down to the branches
printf 'village-1 now holds %s recognitions of 2026\n' \
    "$(cdht recognitions --home "$V1" --year 2026 --format csv | tail -n +2 | wc -l)"

say "6. down: the province adds a commune; it reaches the branches two hops down"
cdht unit add --home "$PROV" --code 44002 --kind commune --name "Xã Quảng Tiến" --parent 44
sync_now "$COMMUNE"
sync_now "$V1" "$V2" "$SCHOOL"
for h in "$V1" "$V2" "$SCHOOL"; do
    printf '%-10s ' "$(basename "$h"):"
    cdht unit list --home "$h" --format csv |
        awk -F, 'NR > 1 { n++ } $1 == "44002" { new = $1 " " $4 }
                 END { print n " units held, " (new ? new : "NOT the new commune"); exit !new }'
done
echo "The province's criteria (244/QĐ-KHVN) and plans came down the same way, in its log:"
cdht framework list --home "$V1" | head -n 3

say "7. each node's status"
for h in "$PROV" "$COMMUNE" "$V1" "$V2" "$SCHOOL"; do
    echo "-- $(basename "$h")"
    cdht status --home "$h" | grep -E '^(unit|trust|grant|logs|leaves|quarantine|peer|node|upstream)' |
        sed 's/^/   /'
done

say "8. people per unit, as each hub holds them"
echo "commune (44001):"
counts "$COMMUNE"
echo "province (44):"
counts "$PROV"

say "8b. the commune's report for 2026, against its plan and the province's and national ones"
cdht report --home "$COMMUNE" --unit 44001 --year 2026
cdht report --home "$COMMUNE" --unit 44001 --year 2026 --format html -o "$DEMO/report.html"
echo "(the same as one HTML file with its charts: $(wc -c <"$DEMO/report.html") bytes, opens offline)"

say "9. state hashes: the province and the commune hold the same logs, so the same tables"
PH=$(cdht hash --home "$PROV") CH=$(cdht hash --home "$COMMUNE")
echo "province $PH"
echo "commune  $CH"
if [ "$PH" != "$CH" ]; then
    echo "demo: the hubs differ" >&2
    exit 1
fi
echo "equal"

say "10. village 2's laptop is stolen: the commune revokes it, and the hub refuses it"
V2_KEY=$(key_of "$V2")
LAST=$(($(cdht log list --home "$COMMUNE" | awk -v k="$V2_KEY" '$1 == k { print $2 }') - 1))
cdht cert revoke --home "$COMMUNE" --subject "$V2_KEY" --last-index "$LAST" \
    --reason "laptop stolen"
cdht person add --home "$V2" --unit 44001002 --name "Kẻ Gian" --birth-year 1970 \
    --gender male >/dev/null
if cdht sync --home "$V2" --now; then
    echo "demo: a revoked laptop synced" >&2
    exit 1
fi
grep -o 'SYNC-REFUSED.*' "$DEMO/commune-serve.log" | tail -n 1
sync_now "$COMMUNE" # the revocation goes up to the province

say "11. no link one day: the school's bundle goes by USB; a copy altered on the way is refused"
cdht person add --home "$SCHOOL" --unit 44001900 --name "Võ Thị Hạnh" --birth-year 1996 \
    --gender female --group official >/dev/null
cdht log heads --home "$COMMUNE" -o "$DEMO/commune.heads"
cdht bundle export --home "$SCHOOL" --for "$COMMUNE_KEY" --since "$DEMO/commune.heads" \
    -o "$DEMO/school.bundle"
cp "$DEMO/school.bundle" "$DEMO/altered.bundle"
printf '\x42' | dd of="$DEMO/altered.bundle" bs=1 seek=40 conv=notrunc status=none
before=$(cdht hash --home "$COMMUNE")
if cdht bundle import --home "$COMMUNE" "$DEMO/altered.bundle"; then
    echo "demo: an altered bundle was accepted" >&2
    exit 1
fi
if [ "$before" != "$(cdht hash --home "$COMMUNE")" ]; then
    echo "demo: the refused bundle changed the commune" >&2
    exit 1
fi
echo "the commune is unchanged"
cdht bundle import --home "$COMMUNE" "$DEMO/school.bundle"
rm -f "$DEMO"/*.bundle # a bundle holds personal data: delete it once imported
sync_now "$COMMUNE"

say "12. audit of the province: leaves, roots, signatures, chains, authorisation, tables"
rc=0
cdht audit --home "$PROV" || rc=$?
[ "$rc" -le 1 ] || exit "$rc" # 1: findings, here the stolen laptop's; more: the audit failed
[ "$rc" -eq 0 ] || echo "(exit 1: a finding, expected here: the stolen laptop is revoked)"

if [ -n "$KEEP" ]; then
    say "13. the five nodes keep running in $KEEP"
    {
        echo "#!/bin/sh"
        echo "# stops the nodes deploy/demo.sh --keep started (by their PIDs)"
        for h in village-1:$VILLAGE_1_PID village-2:$VILLAGE_2_PID school:$SCHOOL_PID \
            commune:$COMMUNE_PID province:$PROV_PID; do
            echo "kill ${h#*:} 2>/dev/null && echo 'stopped ${h%:*} (${h#*:})'"
        done
    } >"$KEEP/stop.sh"
    chmod +x "$KEEP/stop.sh"
    printf '%-10s %-24s %s\n' node listens key
    for h in "$PROV" "$COMMUNE" "$V1" "$V2" "$SCHOOL"; do
        printf '%-10s %-24s %s\n' "$(basename "$h")" \
            "$(grep -o 'listening on [^,]*' "$h"-serve.log "$DEMO/$(basename "$h")-serve.log" \
                2>/dev/null | head -n 1 | sed 's/.*listening on //')" "$(key_of "$h")"
    done
    echo "try:  $CDHT status --home $V1"
    echo "      $CDHT person add --home $V1 --unit 44001001 --name 'Phan Thị Mai' \\"
    echo "          --birth-year 1992 --gender female   # the village's node syncs it in ~3 s"
    echo "      $CDHT sync --home $COMMUNE --now        # the commune dials the province now"
    echo "stop: $KEEP/stop.sh"
    KEPT=1
    exit 0
fi

say "13. stopping the five nodes"
for hub in village-1:$VILLAGE_1_PID village-2:$VILLAGE_2_PID school:$SCHOOL_PID \
    commune:$COMMUNE_PID province:$PROV_PID; do
    kill "${hub#*:}"
    rc=0
    reap "${hub#*:}" || rc=$?
    echo "${hub%:*}: cdht serve (process ${hub#*:}) stopped, exit $rc"
done
[ ${#PIDS[@]} -eq 0 ] || { echo "demo: processes left: ${PIDS[*]}" >&2; exit 1; }
echo "done in $((SECONDS - START)) s; the temporary folder is removed"
