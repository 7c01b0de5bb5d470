#!/usr/bin/env bash
# Proves that the units tree works across the 2025 reform through the commands alone: a pre-2025
# 4-tier tree (province > district > commune > village) is recorded, then the reform closes the
# district (succeeded by the province) and merges two communes into a new one; `unit tree --at`
# shows the 4-tier tree the day before and the 2-tier tree from the effective date on, with the
# villages of the old communes under the new one. Every bad input exits 2 with a message naming
# the flag and leaves `cdht hash` and the logs unchanged. The tree and list reach a second
# replica through a bundle unchanged.
set -u
. "$(dirname "$0")/lib.sh"

H=$T/h
new_home h 44
# u SUB ARGS...: cdht unit SUB --home $H ARGS...
u() {
    local sub=$1
    shift
    cdht unit "$sub" --home "$H" "$@"
}
# "Today" for `unit tree` without --at: 2026-01-01 (after the reform).
export CDHT_FAKE_NOW_MS=1767225600000

# --- the pre-2025 tree ------------------------------------------------------------------------
must u add --code 44 --kind province --name "Tỉnh Quảng Bình"
must u add --code 440 --kind district --name "Huyện Lệ Thủy" --parent 44
must u add --code 44001 --kind commune --name "Xã Sen Thủy" --parent 440 --disadvantaged
must u add --code 44002 --kind commune --name "Xã Ngư Thủy" --parent 440
must u add --code 44001-V1 --kind village --name "Thôn Một" --parent 44001
must u add --code 44002-V1 --kind village --name "Thôn Hai" --parent 44002
must cdht person add --home "$H" --name "Nguyễn Văn An" --birth-year 1985 --gender male \
    --unit 44001-V1

# --- the 2025 reform --------------------------------------------------------------------------
must u add --code 44101 --kind commune --name "Xã Sen Ngư" --parent 44 --from 2025-07-01 \
    --disadvantaged
must u succeed --old 440 --new 44 --effective 2025-07-01
must u succeed --old 44001 --new 44101 --effective 2025-07-01
must u succeed --old 44002 --new 44101 --effective 2025-07-01

expect_ok u tree --at 2025-06-30
before=$(out)
expect_eq "44 province Tỉnh Quảng Bình
  440 district Huyện Lệ Thủy
    44001 commune Xã Sen Thủy (disadvantaged)
      44001-V1 village Thôn Một
    44002 commune Xã Ngư Thủy
      44002-V1 village Thôn Hai" "$before" "tree the day before the reform"

expect_ok u tree --at 2025-07-01
after=$(out)
expect_eq "44 province Tỉnh Quảng Bình
  44101 commune Xã Sen Ngư (disadvantaged)
    44001-V1 village Thôn Một
    44002-V1 village Thôn Hai
successions:
  440 -> 44 (from 2025-07-01)
  44001 -> 44101 (from 2025-07-01)
  44002 -> 44101 (from 2025-07-01)" "$after" "tree from the reform's date"

# Without --at: today from the (fake) clock, after the reform.
expect_ok u tree
expect_eq "$after" "$(out)" "tree today"
# Long before: the new commune does not exist yet.
expect_ok u tree --at 2000-01-01
expect_stdout_lacks "44101"
expect_stdout_contains "    44001 commune"

# The old units were closed the day before; the new one opens on the reform's date.
expect_ok u list
expect_stdout_contains "$(printf '44001\tcommune\t440\tXã Sen Thủy\t-\t2025-06-30\t1')"
expect_stdout_contains "$(printf '440\tdistrict\t44\tHuyện Lệ Thủy\t-\t2025-06-30\t0')"
expect_stdout_contains "$(printf '44101\tcommune\t44\tXã Sen Ngư\t2025-07-01\t-\t1')"
expect_ok u list --at 2025-07-01
expect_eq "44 44001-V1 44002-V1 44101" "$(cut -f1 "$OUT" | tr '\n' ' ' | sed 's/ $//')" \
    "units valid at the reform"
expect_stdout_contains "$(printf '44001-V1\tvillage\t44001\t')"
expect_ok u list --at 2025-07-01 --format csv
expect_eq "code,kind,parent,name,valid_from,valid_to,disadvantaged
44,province,,Tỉnh Quảng Bình,,,0
44001-V1,village,44001,Thôn Một,,,0
44002-V1,village,44002,Thôn Hai,,,0
44101,commune,44,Xã Sen Ngư,2025-07-01,,1" "$(out)" "csv at the reform"
expect_ok u list --at 2025-07-01 --format json
expect_stdout_contains '{"code":"44101","kind":"commune","parent":"44","name":"Xã Sen Ngư","valid_from":"2025-07-01","valid_to":null,"disadvantaged":true}'

# A move: the village of the second commune goes to the first one's old place.
must u move --code 44002-V1 --parent 44001 --from 2025-01-01
expect_ok u tree --at 2025-06-30
expect_stdout_contains "    44001 commune Xã Sen Thủy (disadvantaged)
      44001-V1 village Thôn Một
      44002-V1 village Thôn Hai"

# --- bad input: exit 2, the flag named, nothing written -----------------------------------------
SNAP=$(snapshot "$H")
refuse() {
    local msg=$1
    shift
    expect_exit 2 "$@"
    expect_stderr_contains "$msg"
    expect_unchanged "$H" "$SNAP" "after: $*" || SNAP=$(snapshot "$H")
    expect_stderr_lacks "Nguyễn"
}
refuse "cdht unit add: --from: date must be YYYY-MM-DD" \
    u add --code X1 --kind village --name X --parent 44101 --from 2025-7-1
refuse "cdht unit add: --to: date is not a calendar day (no such day in that month)" \
    u add --code X1 --kind village --name X --parent 44101 --to 2025-02-29
refuse "cdht unit add: --from: date is not a calendar day (month 01 to 12)" \
    u add --code X1 --kind village --name X --from 2025-13-01
refuse "cdht unit add: --to: date year must be 1900 to 9999" \
    u add --code X1 --kind village --name X --to 1899-12-31
refuse "cdht unit add: --from, --to: the valid-from date is after the valid-to date" \
    u add --code X1 --kind village --name X --from 2025-07-02 --to 2025-07-01
refuse "cdht unit add: --parent: a unit cannot be its own parent" \
    u add --code X1 --kind village --name X --parent X1
refuse "cdht unit add: --disadvantaged is not an option of this command" \
    u add --code X1 --kind village --name X --disadvantaged=1
refuse "cdht unit add: unit 44101 exists already" \
    u add --code 44101 --kind commune --name X

refuse "cdht unit move: --code and --parent are required" u move --code 44001-V1
refuse "cdht unit move: --code: unknown unit NOPE" u move --code NOPE --parent 44
refuse "cdht unit move: --parent: unknown unit NOPE (add it first)" \
    u move --code 44001-V1 --parent NOPE
refuse "cdht unit move: --parent: unit code may contain only" \
    u move --code 44001-V1 --parent "a b"
refuse "cdht unit move: --parent: a unit cannot be its own parent" \
    u move --code 44001-V1 --parent 44001-V1
refuse "cdht unit move: --from: date must be YYYY-MM-DD" \
    u move --code 44001-V1 --parent 44101 --from tomorrow
refuse "cdht unit move: --parent: unit 44101 is not valid on 2025-06-30" \
    u move --code 44001-V1 --parent 44101 --from 2025-06-30
refuse "cdht unit move: refusing: this move would make a cycle (nothing was written)" \
    u move --code 44 --parent 44001-V1 --from 2025-01-01
refuse "cdht unit move: refusing: this move would make a cycle (nothing was written)" \
    u move --code 44101 --parent 44001-V1

refuse "cdht unit succeed: --old, --new and --effective are required" \
    u succeed --old 44001 --new 44101
refuse "cdht unit succeed: --effective: date is not a calendar day" \
    u succeed --old 44001-V1 --new 44002-V1 --effective 2025-06-31
refuse "cdht unit succeed: --new: a unit cannot succeed itself" \
    u succeed --old 44101 --new 44101 --effective 2026-01-01
refuse "cdht unit succeed: --old: unknown unit NOPE" \
    u succeed --old NOPE --new 44101 --effective 2026-01-01
refuse "cdht unit succeed: --new: unknown unit NOPE (add it first)" \
    u succeed --old 44101 --new NOPE --effective 2026-01-01
refuse "cdht unit succeed: --old: unit 44001 already has a successor (44101 from 2025-07-01)" \
    u succeed --old 44001 --new 44002 --effective 2026-01-01
refuse "cdht unit succeed: refusing: this succession would make a cycle (nothing was written)" \
    u succeed --old 44101 --new 44001 --effective 2026-01-01
refuse "cdht unit succeed: refusing: this succession would make a cycle (nothing was written)" \
    u succeed --old 44 --new 44001-V1 --effective 2026-01-01
refuse "cdht unit succeed: --effective: unit 44101 is valid only from 2025-07-01" \
    u succeed --old 44101 --new 44 --effective 2025-07-01
refuse "cdht unit succeed: --effective: must be after 1900-01-01" \
    u succeed --old 44101 --new 44 --effective 1900-01-01

refuse "cdht unit list: --at: date must be YYYY-MM-DD" u list --at 2025
refuse "cdht unit list: --format must be table, csv or json" u list --format xml
refuse "cdht unit tree: --at: date is not a calendar day" u tree --at 2025-02-30
refuse "cdht unit tree: --format is not an option of this command" u tree --format csv
refuse "cdht unit tree: unexpected extra argument" u tree 44

for c in move succeed tree; do
    expect_ok cdht unit "$c" --help
    expect_stderr_contains "usage: cdht unit $c"
done

# --- the same tree on a second replica, through a bundle --------------------------------------
new_home b 44
must cdht bundle export --home "$H" -o "$T/all.cdht"
must cdht bundle import --home "$T/b" "$T/all.cdht"
expect_eq "$(hash_of "$H")" "$(hash_of "$T/b")" "B holds A's state"
expect_ok cdht unit tree --home "$T/b" --at 2025-07-01
b_tree=$(out)
expect_ok u tree --at 2025-07-01
expect_eq "$(out)" "$b_tree" "B prints A's tree"
expect_ok cdht audit --home "$H"

finish
