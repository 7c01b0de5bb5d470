#!/usr/bin/env bash
# Proves the hybrid logical clock's promises (DESIGN.md section 4): a computer whose clock is
# far behind its replica's clock may not write (exit 3, a message about the clock, nothing
# written), a peer whose clock is a day ahead is flagged on import and cannot stop others from
# writing, and a causally later edit wins over it everywhere despite its wrong clock.
set -u
. "$(dirname "$0")/lib.sh"

now_ms() { date +%s%3N; }
MIN=60000
HOUR=$((60 * MIN))
DAY=$((24 * HOUR))

# cdht_at MS ARGS...: cdht with its wall clock set to MS.
cdht_at() {
    local ms=$1
    shift
    CDHT_FAKE_NOW_MS=$ms "$CDHT" "$@"
}

clockmsg="refusing to write: this computer's clock is more than 60 minutes behind the replica's"
clockmsg+=" clock; set the date and time, then retry"

# --- a clock far behind the replica's refuses to write ------------------------------------------
K=$T/k
new_home k C01
must cdht unit add --home "$K" --code C01 --kind commune --name "Xã Một"
must cdht person add --home "$K" --name "Nguyễn Văn An" --birth-year 1985 --gender male --unit C01
pid=$(out)
back=$(($(now_ms) - 2 * HOUR))
expect_refused 3 "$K" cdht_at "$back" unit add --home "$K" --code V01 --kind village --name V \
    --parent C01
expect_stderr_contains "cdht unit add: $clockmsg"
expect_refused 3 "$K" cdht_at "$back" person add --home "$K" --name "Trần Thị Bình" \
    --birth-year 1990 --gender female --unit C01
expect_stderr_contains "cdht person add: $clockmsg"
expect_refused 3 "$K" cdht_at "$back" person set --home "$K" "$pid" --name "Nguyễn Văn Bé"
expect_stderr_contains "cdht person set: $clockmsg"
expect_refused 3 "$K" cdht_at "$back" person rm --home "$K" "$pid"
expect_stderr_contains "cdht person rm: $clockmsg"
# Just past the limit is refused; just within it is accepted.
expect_refused 3 "$K" cdht_at $(($(now_ms) - 61 * MIN)) person set --home "$K" "$pid" --group farmer
expect_stderr_contains "clock"
expect_ok cdht_at $(($(now_ms) - 59 * MIN)) person set --home "$K" "$pid" --group farmer
# Reading works whatever the clock.
expect_ok cdht_at "$back" person list --home "$K"
expect_ok cdht_at "$back" audit --home "$K"
# A clock at the epoch or before it is refused too.
expect_refused 3 "$K" cdht_at 0 person set --home "$K" "$pid" --group worker
expect_stderr_contains "clock"
expect_refused 3 "$K" cdht_at -1 person set --home "$K" "$pid" --group worker
expect_stderr_contains "clock"
# Once the clock is right again, writing works.
expect_ok cdht person set --home "$K" "$pid" --group worker

# --- a peer a day ahead ---------------------------------------------------------------------
FAST=$T/fast SLOW=$T/normal
AHEAD=$(($(now_ms) + DAY))
new_home fast C01
new_home normal C01
expect_ok cdht_at "$AHEAD" unit add --home "$FAST" --code C01 --kind commune --name "Xã Một"
expect_ok cdht_at "$AHEAD" person add --home "$FAST" --name "Lê Thị Hoa" --birth-year 1980 \
    --gender female --unit C01
hoa=$(out)
expect_ok cdht_at "$AHEAD" bundle export --home "$FAST" -o "$T/fast1.bundle"

# The normal replica imports it, and says the leaves are flagged.
expect_ok cdht bundle import --home "$SLOW" "$T/fast1.bundle"
expect_stderr_contains "imported 2 new leaves of 1 logs (0 already held;"
expect_stderr_contains "; 2 with clocks far ahead of this one, flagged)"
# The warning must not send the reader to a command this cdht lacks (it once said "cdht status
# lists them", before any status command existed).
if grep -qF "cdht status" "$ERR"; then
    expect_ok cdht status --help
fi
expect_ok cdht person list --home "$SLOW" --format csv
expect_stdout_contains "$hoa,Lê Thị Hoa,1980,female,C01,"

# The far-ahead leaves do not drag the normal replica's clock forward: it can still write.
expect_ok cdht unit add --home "$SLOW" --code V01 --kind village --name "Thôn Một" --parent C01

# It edits the same person's name: its edit comes causally after the far-ahead one, so it wins
# although its wall clock reads a day earlier.
expect_ok cdht person set --home "$SLOW" "$hoa" --name "Lê Thị Hoa Mai"
expect_ok cdht bundle export --home "$SLOW" -o "$T/slow1.bundle"
expect_ok cdht_at "$AHEAD" bundle import --home "$FAST" "$T/slow1.bundle"
expect_stderr_contains "imported 2 new leaves of 2 logs (2 already held)"
expect_stderr_lacks "flagged"
for h in "$FAST" "$SLOW"; do
    expect_ok cdht person list --home "$h" --format csv
    expect_stdout_contains "$hoa,Lê Thị Hoa Mai,1980,female,C01,"
    expect_stdout_lacks "$hoa,Lê Thị Hoa,"
    # A causally later edit is not a conflict: nothing was lost that anyone had not seen.
    expect_ok cdht conflicts --home "$h"
    expect_stderr_contains "0 conflicts"
done
expect_eq "$(hash_of "$FAST")" "$(hash_of "$SLOW")" "hash after the exchange"

# The normal replica's edit above took a clock above the far-ahead register it overwrote, but
# its own clock was not dragged ahead with it: its next local write is accepted.
expect_ok cdht person add --home "$SLOW" --name "Đào Văn Khoa" --birth-year 1991 --gender male \
    --unit V01

# And the other way round: the fast replica, having seen that edit, edits again; that edit is
# later still, and wins on both.
expect_ok cdht_at "$AHEAD" person set --home "$FAST" "$hoa" --name "Lê Thị Hoa Lan"
expect_ok cdht_at "$AHEAD" bundle export --home "$FAST" -o "$T/fast2.bundle"
expect_ok cdht bundle import --home "$SLOW" "$T/fast2.bundle"
expect_stderr_contains "flagged"
for h in "$FAST" "$SLOW"; do
    expect_ok cdht person list --home "$h" --format csv
    expect_stdout_contains "$hoa,Lê Thị Hoa Lan,1980,female,C01,"
done
# The normal replica answers once more; its edit follows the flagged one it has seen.
expect_ok cdht person set --home "$SLOW" "$hoa" --name "Lê Thị Hoa Cúc"
expect_ok cdht bundle export --home "$SLOW" -o "$T/slow2.bundle"
expect_ok cdht_at "$AHEAD" bundle import --home "$FAST" "$T/slow2.bundle"
for h in "$FAST" "$SLOW"; do
    expect_ok cdht person list --home "$h" --format csv
    expect_stdout_contains "$hoa,Lê Thị Hoa Cúc,1980,female,C01,"
    expect_ok cdht conflicts --home "$h"
    expect_stderr_contains "0 conflicts"
    expect_ok cdht audit --home "$h"
done
expect_eq "$(hash_of "$FAST")" "$(hash_of "$SLOW")" "hash after the second exchange"

finish
