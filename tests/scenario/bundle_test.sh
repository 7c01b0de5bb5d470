#!/usr/bin/env bash
# Proves that replicas exchanging bundles by file converge to the same `cdht hash` whatever the
# order and duplication of imports, that `--since` heads send only the missing leaves, that a
# concurrent edit is resolved the same way everywhere and shown by `cdht conflicts`, that audit
# finds the result clean, and that checkpoints and RFC 6962 proofs are well formed and verify.
set -u
. "$(dirname "$0")/lib.sh"

A=$T/a B=$T/b C=$T/c
new_home a C01
new_home b C01
new_home c C01
ka=$(key_of "$A")
kb=$(key_of "$B")

# exported_count: the N of "exported N leaves of M logs" in the last stderr.
exported() {
    sed -n 's/^exported \([0-9]*\) leaves of \([0-9]*\) logs to .*/\1 \2/p' "$ERR"
}

# expect_same_hash WHAT HOME...: every HOME has the same state digest.
expect_same_hash() {
    local what=$1 first h
    shift
    first=$(hash_of "$1")
    expect_match '^[0-9a-f]{64}$' "$first" "$what: hash of $(basename "$1")"
    for h in "$@"; do
        expect_eq "$first" "$(hash_of "$h")" "$what: hash of $(basename "$h")"
    done
}

expect_ok cdht conflicts --home "$A"
expect_eq "" "$(out)" "no conflicts on a fresh replica (stdout)"
expect_stderr_contains "0 conflicts"

# --- A writes, B imports ---------------------------------------------------------------------
must cdht unit add --home "$A" --code P01 --kind province --name "Tỉnh Một"
must cdht unit add --home "$A" --code C01 --kind commune --name "Xã Một" --parent P01
must cdht unit add --home "$A" --code V01 --kind village --name "Thôn Một" --parent C01
must cdht person add --home "$A" --name "Nguyễn Văn An" --birth-year 1985 --gender male --unit V01
p1=$(out)
must cdht person add --home "$A" --name "Trần Thị Bình" --birth-year 1990 \
    --gender female --unit V01 \
    --citizen-id 079190000456
p2=$(out)
must cdht person add --home "$A" --name "Lê Văn Cường" --birth-year 1970 --gender male --unit C01 \
    --group farmer
p3=$(out)
expect_eq 6 "$(log_size "$A" "$ka")" "A's log size after 6 writes"
# Keep A's root at size 6 for the consistency proof at the end.
root6=$(cdht log list --home "$A" | grep -F "$ka " | cut -d' ' -f3 | b64_hex)

expect_ok cdht bundle export --home "$A" -o "$T/a1.bundle"
expect_eq "6 1" "$(exported)" "a1: leaves and logs exported"
expect_eq 600 "$(stat -c %a "$T/a1.bundle")" "a bundle holds personal data: mode 0600"
expect_eq "" "$(ls "$T"/*.tmp 2>/dev/null)" "no temporary file left behind"
expect_ok cdht bundle import --home "$B" "$T/a1.bundle"
expect_stderr_contains "imported 6 new leaves of 1 logs (0 already held)"
expect_same_hash "B imported A" "$A" "$B"
expect_eq "$(cdht person list --home "$A" --format csv)" \
    "$(cdht person list --home "$B" --format csv)" \
    "B lists A's people"
expect_eq "$(cdht unit list --home "$A")" "$(cdht unit list --home "$B")" "B lists A's units"

# The same bundle again: nothing new, nothing changed.
expect_refused 0 "$B" cdht bundle import --home "$B" "$T/a1.bundle"
expect_stderr_contains "imported 0 new leaves of 1 logs (6 already held)"
# Into the replica it came from: nothing new either.
expect_refused 0 "$A" cdht bundle import --home "$A" "$T/a1.bundle"
expect_stderr_contains "imported 0 new leaves of 1 logs (6 already held)"

# --- B edits; A writes more ------------------------------------------------------------------
must cdht person set --home "$B" "$p1" --name "Nguyễn Văn An Khang" --group official
must cdht person rm --home "$B" "$p2"
must cdht person add --home "$B" --name "Phạm Thị Dung" --birth-year 2000 --gender female --unit V01
p4=$(out)
expect_ok cdht bundle export --home "$B" -o "$T/b1.bundle"
expect_eq "9 2" "$(exported)" "b1: B sends A's 6 leaves and its own 3"
must cdht person add --home "$A" --name "Võ Văn Em" --birth-year 1999 --gender male --unit C01
p5=$(out)
expect_ok cdht bundle export --home "$A" -o "$T/a2.bundle"
expect_eq "7 1" "$(exported)" "a2: leaves and logs exported"

# --- C gets the bundles in reverse order, then all of them again ------------------------------
expect_ok cdht bundle import --home "$C" "$T/a2.bundle"
expect_stderr_contains "imported 7 new leaves of 1 logs (0 already held)"
expect_ok cdht bundle import --home "$C" "$T/b1.bundle"
expect_stderr_contains "imported 3 new leaves of 2 logs (6 already held)"
expect_ok cdht bundle import --home "$C" "$T/a1.bundle"
expect_stderr_contains "imported 0 new leaves of 1 logs (6 already held)"
for f in a2 b1 a1; do
    expect_refused 0 "$C" cdht bundle import --home "$C" "$T/$f.bundle"
    expect_stderr_contains "imported 0 new leaves"
done

# A and B catch up with each other; all three agree.
expect_ok cdht bundle import --home "$A" "$T/b1.bundle"
expect_stderr_contains "imported 3 new leaves of 2 logs (6 already held)"
expect_ok cdht bundle import --home "$B" "$T/a2.bundle"
expect_stderr_contains "imported 1 new leaves of 1 logs (6 already held)"
expect_same_hash "after the exchange" "$A" "$B" "$C"
# The same logs, at the same sizes and roots (each home also holds its own log, empty on C).
shared_logs() { "$CDHT" log list --home "$1" | grep -F -e "$ka " -e "$kb "; }
expect_eq "$(shared_logs "$C")" "$(shared_logs "$A")" "A and C hold the same logs"
expect_eq "$(shared_logs "$C")" "$(shared_logs "$B")" "B and C hold the same logs"
expect_ok cdht person list --home "$C" --format csv
expect_stdout_contains "$p1,Nguyễn Văn An Khang,1985,male,V01,official"
expect_stdout_lacks "$p2,"
expect_stdout_contains "$p4,Phạm Thị Dung,2000,female,V01,"
expect_stdout_contains "$p5,Võ Văn Em,1999,male,C01,"
expect_ok cdht log list --home "$C"
expect_stdout_contains "$ka 7 "
expect_stdout_contains "$kb 3 "

# --- heads and --since: only what is missing travels --------------------------------------------
expect_ok cdht log heads --home "$B" -o "$T/b.heads"
expect_eq "cdht-heads v1" "$(sed -n 1p "$T/b.heads")" "heads file's first line"
expect_eq "$(cdht log heads --home "$B")" "$(cat "$T/b.heads")" \
    "log heads to stdout and to -o agree"
must cdht person add --home "$A" --name "Đỗ Thị Giang" --birth-year 1995 --gender female --unit V01
p6=$(out)
must cdht person set --home "$A" "$p3" --birth-year 1971
expect_ok cdht bundle export --home "$A" -o "$T/a3.bundle" --since "$T/b.heads"
expect_eq "2 1" "$(exported)" "--since B's heads: only A's 2 new leaves of A's log"
expect_ok cdht bundle import --home "$B" "$T/a3.bundle"
expect_stderr_contains "imported 2 new leaves of 1 logs (0 already held)"
expect_same_hash "after the --since bundle" "$A" "$B"
# An audit of a bundle replays it into an empty scratch replica: a --since bundle cannot be
# audited alone, and says so rather than "invalid argument".
expect_exit 2 cdht audit --home "$A" --bundle "$T/a3.bundle"
expect_stderr_contains "the audit could not read the bundle: log $(key_of "$A"): bundle starts at leaf"
expect_stderr_contains "(an audit of a bundle needs a whole export: cdht bundle export without --since)"
# Nothing is missing now: an empty bundle, which imports as a no-op.
expect_ok cdht log heads --home "$B" -o "$T/b2.heads"
expect_ok cdht bundle export --home "$A" -o "$T/a4.bundle" --since "$T/b2.heads"
expect_eq "0 0" "$(exported)" "--since up-to-date heads"
expect_refused 0 "$B" cdht bundle import --home "$B" "$T/a4.bundle"
expect_stderr_contains "imported 0 new leaves of 0 logs"
# C lacks A's last 2 leaves; B's --since bundle for C carries exactly those.
expect_ok cdht log heads --home "$C" -o "$T/c.heads"
expect_ok cdht bundle export --home "$B" -o "$T/b2c.bundle" --since "$T/c.heads"
expect_eq "2 1" "$(exported)" "B sends C only A's 2 leaves that C lacks"
# An incremental bundle for C does not fit a replica that lacks its start: refused, unchanged.
new_home d C01
expect_refused 2 "$T/d" cdht bundle import --home "$T/d" "$T/b2c.bundle"
expect_stderr_contains "refused: log $ka: bundle starts at leaf 7 but this replica holds 0 leaves"
expect_stderr_contains "export again with --since this replica's heads"
expect_ok cdht bundle import --home "$C" "$T/b2c.bundle"
expect_same_hash "all three again" "$A" "$B" "$C"
# A heads file that is not one.
expect_exit 2 cdht bundle export --home "$A" -o "$T/x.bundle" --since "$T/a1.bundle"
expect_stderr_contains "cdht bundle export: --since $T/a1.bundle: not a valid heads file"
expect_exit 2 cdht bundle export --home "$A" -o "$T/x.bundle" --since "$T/no-such-heads"
expect_stderr_contains "cdht bundle export: --since $T/no-such-heads: cannot read it"
expect_eq "" "$(ls "$T"/x.bundle* 2>/dev/null)" "a refused export writes no file"
expect_exit 2 cdht bundle export --home "$A"
expect_stderr_contains "cdht bundle export: -o FILE is required"
expect_exit 2 cdht bundle import --home "$A"
expect_stderr_contains "cdht bundle import: exactly one bundle FILE is required"

# --- audit ------------------------------------------------------------------------------------
# Each home holds A's and B's logs, each with its signed checkpoint; C also its own, empty one.
for h in "$A:2" "$B:2" "$C:3"; do
    n=${h#*:}
    h=${h%:*}
    expect_ok cdht audit --home "$h"
    expect_stdout_contains "audit: $n logs, 12 leaves, $n checkpoints verified; 0 findings"
    expect_ok cdht audit --home "$h" --json
    expect_stdout_contains '"clean": true'
    expect_stdout_contains '"findings": []'
    expect_stdout_contains '"leaves": 12'
done

# --- a concurrent edit: same cell, two replicas, no exchange in between ------------------------
must cdht person set --home "$A" "$p5" --name "Võ Văn Em (A)"
must cdht person set --home "$B" "$p5" --name "Võ Văn Em (B)"
must cdht bundle export --home "$A" -o "$T/a5.bundle"
must cdht bundle export --home "$B" -o "$T/b5.bundle"
expect_ok cdht bundle import --home "$A" "$T/b5.bundle"
expect_ok cdht bundle import --home "$B" "$T/a5.bundle"
expect_ok cdht bundle import --home "$C" "$T/b5.bundle"
expect_ok cdht bundle import --home "$C" "$T/a5.bundle"
expect_same_hash "after the concurrent edit" "$A" "$B" "$C"
expect_ok cdht conflicts --home "$A"
expect_stderr_contains "1 conflict"
conf_a=$(out)
expect_eq "person $p5 name" "$(sed -n 1p "$OUT")" "conflict header: table, id, column"
KEY_RE='[A-Za-z0-9+/]{43}='
TIME_RE='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'
expect_match "^  kept: \"Võ Văn Em \\((A|B)\\)\" by $KEY_RE at $TIME_RE \\(leaf [0-9]+\\)\$" \
    "$(sed -n 2p "$OUT")" "conflict: kept line"
expect_match "^  lost: \"Võ Văn Em \\((A|B)\\)\" by $KEY_RE at $TIME_RE \\(leaf [0-9]+\\)\$" \
    "$(sed -n 3p "$OUT")" "conflict: lost line"
expect_ne "$(sed -n 2p "$OUT" | cut -d'"' -f2)" "$(sed -n 3p "$OUT" | cut -d'"' -f2)" \
    "the kept and the lost value differ"
winner=$(sed -n 2p "$OUT" | cut -d'"' -f2)
for h in "$B" "$C"; do
    expect_ok cdht conflicts --home "$h"
    expect_eq "$conf_a" "$(out)" "conflicts on $(basename "$h") show the same winner and loser"
    expect_stderr_contains "1 conflict"
done
for h in "$A" "$B" "$C"; do
    expect_ok cdht person list --home "$h" --format csv
    expect_stdout_contains "$p5,$winner,1999,male,C01,"
done

# --- checkpoints, leaves and proofs ------------------------------------------------------------
size=$(log_size "$A" "$ka")
expect_eq 10 "$size" "A's log size"
root_b64=$(cdht log list --home "$A" | grep -F "$ka " | cut -d' ' -f3)
name_hex=$(printf '%s' "$ka" | b64_hex)

expect_ok cdht log checkpoint --home "$A"
cp "$OUT" "$T/a.note"
expect_eq 5 "$(wc -l <"$T/a.note")" "checkpoint note: 3 body lines, a blank line, 1 signature"
expect_eq "cdht/$name_hex" "$(sed -n 1p "$T/a.note")" "checkpoint origin line"
expect_eq "$size" "$(sed -n 2p "$T/a.note")" "checkpoint size line"
expect_eq "$root_b64" "$(sed -n 3p "$T/a.note")" "checkpoint root line (base64)"
expect_eq "" "$(sed -n 4p "$T/a.note")" "blank line after the body"
sig=$(sed -n 5p "$T/a.note")
expect_eq "e2 80 94 20" "$(printf '%s' "$sig" | head -c 4 | od -An -tx1 | sed 's/^ //')" \
    "signature line starts with an em dash and a space"
expect_match "^— cdht/$name_hex [A-Za-z0-9+/]+=*$" "$sig" "signature line: name and base64"
expect_eq 68 "$(printf '%s' "${sig##* }" | base64 -d | wc -c)" \
    "signature: 4-byte key hash and 64-byte Ed25519 signature"
# The key hash of the signature line is the one in whoami's verifier key.
vkey=$(cdht whoami --home "$A" | sed -n 2p)
expect_eq "$(printf '%s' "$vkey" | cut -d+ -f2)" \
    "$(printf '%s' "${sig##* }" | base64 -d | head -c 4 | od -An -tx1 | tr -d ' \n')" \
    "signature key hash matches the verifier key"
expect_eq 32 "$(sed -n 3p "$T/a.note" | base64 -d | wc -c)" "the root is 32 bytes"
# Another replica holds the very same signed note for A's log.
expect_ok cdht log checkpoint --home "$C" --log "$ka"
cp "$OUT" "$T/c.note"
expect_ok cmp "$T/a.note" "$T/c.note"

# Every leaf's inclusion proof verifies against the checkpoint root (RFC 9162, computed here).
root_hex=$(printf '%s' "$root_b64" | b64_hex)
leaf_hashes=()
for ((i = 0; i < size; i++)); do
    expect_ok cdht log leaf --home "$C" --log "$ka" --index "$i"
    cp "$OUT" "$T/leaf"
    [ -s "$T/leaf" ] || fail "leaf $i is empty"
    lh=$(leaf_hash "$T/leaf")
    leaf_hashes[i]=$lh
    expect_ok cdht log prove --home "$C" --log "$ka" --index "$i"
    if grep -qvE '^[A-Za-z0-9+/]{43}=$' "$OUT"; then
        fail "inclusion proof of leaf $i: a line is not base64 of 32 bytes"
    fi
    proof=()
    while read -r line; do
        proof+=("$(printf '%s' "$line" | b64_hex)")
    done <"$OUT"
    if verify_inclusion "$i" "$size" "$lh" "$root_hex" "${proof[@]}"; then
        pass
    else
        fail "inclusion proof of leaf $i in a tree of $size does not verify"
    fi
done
# A proof in an older tree size (--size) verifies against that size's root.
expect_ok cdht log prove --home "$A" --log "$ka" --index 2 --size 6
proof=()
while read -r line; do proof+=("$(printf '%s' "$line" | b64_hex)"); done <"$OUT"
cdht log leaf --home "$A" --log "$ka" --index 2 >"$T/leaf"
if verify_inclusion 2 6 "$(leaf_hash "$T/leaf")" "$root6" "${proof[@]}"; then
    pass
else
    fail "inclusion proof of leaf 2 in the tree of size 6 does not verify"
fi

# The consistency proof from size 6 (root kept above) to the current checkpoint verifies.
expect_ok cdht log consistency --home "$A" --log "$ka" --from 6
if grep -qvE '^[A-Za-z0-9+/]{43}=$' "$OUT"; then
    fail "consistency proof: a line is not base64 of 32 bytes"
fi
proof=()
while read -r line; do proof+=("$(printf '%s' "$line" | b64_hex)"); done <"$OUT"
expect_ne 0 "${#proof[@]}" "the consistency proof from 6 to $size is not empty"
if verify_consistency 6 "$size" "$root6" "$root_hex" "${proof[@]}"; then
    pass
else
    fail "consistency proof from 6 to $size does not verify"
fi
# From smaller sizes (asking B this time), with that size's root folded here from the leaf
# hashes above.
for m in 1 2 3 5 7 8 $((size - 1)); do # powers of two and not, odd and even
    expect_ok cdht log consistency --home "$B" --log "$ka" --from "$m" --to "$size"
    proof=()
    while read -r line; do proof+=("$(printf '%s' "$line" | b64_hex)"); done <"$OUT"
    # The root of size m, folded from the leaf hashes (RFC 6962 MTH) by a stack.
    stack=()
    for ((j = 0; j < m; j++)); do
        stack+=("${leaf_hashes[j]}")
        n=$((j + 1))
        while [ $((n & 1)) -eq 0 ]; do
            top=${#stack[@]}
            stack=("${stack[@]:0:top-2}" "$(node_hash "${stack[top - 2]}" "${stack[top - 1]}")")
            n=$((n >> 1))
        done
    done
    while [ ${#stack[@]} -gt 1 ]; do
        top=${#stack[@]}
        stack=("${stack[@]:0:top-2}" "$(node_hash "${stack[top - 2]}" "${stack[top - 1]}")")
    done
    if verify_consistency "$m" "$size" "${stack[0]}" "$root_hex" "${proof[@]}"; then
        pass
    else
        fail "consistency proof from $m to $size does not verify"
    fi
done

# Bad requests to the log commands: exit 2, clear message.
expect_exit 2 cdht log leaf --home "$A" --log "$ka" --index "$size"
expect_stderr_contains "cdht log leaf: leaf $size does not exist: the log holds $size"
expect_exit 2 cdht log leaf --home "$A" --log "$ka"
expect_stderr_contains "cdht log leaf: --index N is required"
expect_exit 2 cdht log prove --home "$A" --log "$ka" --index 0 --size $((size + 1))
expect_stderr_contains "cdht log prove: no inclusion proof of leaf 0 in a tree of $((size + 1))"
expect_exit 2 cdht log consistency --home "$A" --log "$ka" --from 0
expect_stderr_contains "cdht log consistency: no consistency proof from 0 to $size"
expect_exit 2 cdht log leaf --home "$A" --log "not-a-key" --index 0
expect_stderr_contains "cdht log leaf: --log: not a base64 Ed25519 public key"
expect_exit 2 cdht log leaf --home "$A" --log "$(key_of "$T/d")" --index 0
expect_stderr_contains "cdht log leaf: this replica holds no log with key $(key_of "$T/d")"

finish
