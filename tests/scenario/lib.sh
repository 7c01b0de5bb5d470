# Shared helpers for the cdht shell scenarios (STYLE.md section 12). Source it first:
#
#   . "$(dirname "$0")/lib.sh"
#   expect_exit 2 cdht person add --home "$T/a" --name ''
#   expect_stderr_contains '--name: name is empty'
#   ...
#   finish
#
# Every scenario runs in its own mktemp -d directory ($T), removed on exit. Assertions never
# abort the scenario: each failure is printed and counted, and `finish` exits 1 when any failed,
# so one run reports every broken expectation, not just the first.
#
# Only bash, coreutils, od, cmp, grep and sed are used: no python, no jq. The network scenarios
# start one `cdht serve` on 127.0.0.1 with start_serve (below), bounded in time, stopped by PID.

set -u

if [ -z "${CDHT:-}" ]; then
    echo "lib.sh: set CDHT to the absolute path of the cdht binary" >&2
    exit 2
fi
if [ ! -x "$CDHT" ]; then
    echo "lib.sh: CDHT=$CDHT is not an executable file" >&2
    exit 2
fi

# The scenario must not see the caller's replica, passphrase or fake clock.
unset CDHT_HOME CDHT_PASSPHRASE_FILE CDHT_FAKE_NOW_MS CDHT_DEBUG CDHT_TEST_UNCHECKED_WRITES
export LC_ALL=C

T=$(mktemp -d "${TMPDIR:-/tmp}/cdht-scenario.XXXXXXXX") || exit 3
SERVE_PID= # the `cdht serve` start_serve started, until stop_serve
trap 'stop_serve; rm -rf "$T"' EXIT
trap 'exit 130' INT TERM

OUT=$T/.stdout # stdout of the last `run` / `expect_exit`
ERR=$T/.stderr # stderr of the last `run` / `expect_exit`
RC=0           # exit code of the last `run` / `expect_exit`
LAST=""        # the last command, for messages
FAILS=0
CHECKS=0
: >"$OUT"
: >"$ERR"

# cdht ARGS...: the binary under test.
cdht() {
    "$CDHT" "$@"
}

# fail MESSAGE: records one failed assertion and shows the last command's output.
fail() {
    FAILS=$((FAILS + 1))
    echo "  FAIL: $*" >&2
    if [ -n "$LAST" ]; then
        echo "    last command: $LAST (exit $RC)" >&2
        sed -n '1,8s/^/    stderr| /p' "$ERR" >&2
    fi
}

# pass: counts one assertion that held (for the summary line).
pass() {
    CHECKS=$((CHECKS + 1))
}

# run CMD...: runs CMD with stdout in $OUT and stderr in $ERR, its exit code in $RC.
run() {
    LAST="$*"
    "$@" >"$OUT" 2>"$ERR"
    RC=$?
}

# expect_exit CODE CMD...: runs CMD (as `run`) and asserts its exact exit code.
expect_exit() {
    local want=$1
    shift
    run "$@"
    if [ "$RC" -ne "$want" ]; then
        fail "expected exit $want, got $RC"
        return 1
    fi
    pass
}

# expect_ok CMD...: expect_exit 0.
expect_ok() {
    expect_exit 0 "$@"
}

# expect_stderr_contains TEXT: the last command's stderr holds TEXT (fixed string).
expect_stderr_contains() {
    if ! grep -qF -- "$1" "$ERR"; then
        fail "stderr lacks: $1"
        return 1
    fi
    pass
}

# expect_stderr_lacks TEXT: the last command's stderr does not hold TEXT.
expect_stderr_lacks() {
    if grep -qF -- "$1" "$ERR"; then
        fail "stderr must not contain: $1"
        return 1
    fi
    pass
}

# expect_stdout_contains TEXT: the last command's stdout holds TEXT (fixed string).
expect_stdout_contains() {
    if ! grep -qF -- "$1" "$OUT"; then
        fail "stdout lacks: $1"
        return 1
    fi
    pass
}

# expect_stdout_lacks TEXT
expect_stdout_lacks() {
    if grep -qF -- "$1" "$OUT"; then
        fail "stdout must not contain: $1"
        return 1
    fi
    pass
}

# expect_output_lacks TEXT: neither stdout nor stderr of the last command holds TEXT.
expect_output_lacks() {
    if grep -qF -- "$1" "$OUT" "$ERR"; then
        fail "output must not contain: $1"
        return 1
    fi
    pass
}

# expect_eq WANT GOT WHAT: string equality.
expect_eq() {
    if [ "$1" != "$2" ]; then
        fail "$3: expected [$1], got [$2]"
        return 1
    fi
    pass
}

# expect_ne A B WHAT: string inequality.
expect_ne() {
    if [ "$1" = "$2" ]; then
        fail "$3: expected a difference, both are [$1]"
        return 1
    fi
    pass
}

# expect_match REGEX TEXT WHAT: TEXT matches the extended regular expression REGEX.
expect_match() {
    if ! printf '%s\n' "$2" | grep -qE -- "$1"; then
        fail "$3: [$2] does not match /$1/"
        return 1
    fi
    pass
}

# snapshot HOME: what a replica holds, as text: the state digest and every log's size and root.
# Two equal snapshots mean nothing was written in between.
snapshot() {
    "$CDHT" hash --home "$1" 2>&1
    echo "rc=$?"
    "$CDHT" log list --home "$1" 2>&1
    echo "rc=$?"
}

# expect_unchanged HOME BEFORE WHAT: HOME's snapshot still equals BEFORE.
expect_unchanged() {
    local now
    now=$(snapshot "$1")
    if [ "$now" != "$2" ]; then
        fail "$3: the replica changed"
        printf '%s\n' "$2" | sed 's/^/    before| /' >&2
        printf '%s\n' "$now" | sed 's/^/    after | /' >&2
        return 1
    fi
    pass
}

# expect_refused CODE HOME CMD...: CMD exits CODE and HOME's snapshot is unchanged. Further
# expect_stderr_* calls then look at CMD's stderr.
expect_refused() {
    local want=$1 home=$2 before
    shift 2
    before=$(snapshot "$home")
    expect_exit "$want" "$@"
    local rc=$?
    expect_unchanged "$home" "$before" "after: $*" || rc=1
    return $rc
}

# hash_of HOME: the state digest alone.
hash_of() {
    "$CDHT" hash --home "$1"
}

# key_of HOME: the device's base64 public key (whoami line 1).
key_of() {
    "$CDHT" whoami --home "$1" | sed -n 1p
}

# log_size HOME KEY: the size of log KEY held by HOME (empty when not held).
log_size() {
    "$CDHT" log list --home "$1" | grep -F -- "$2 " | cut -d' ' -f2
}

# new_home NAME UNIT [init options...]: a fresh replica home $T/NAME; prints nothing.
new_home() {
    local name=$1 unit=$2
    shift 2
    if ! "$CDHT" init --home "$T/$name" --unit "$unit" "$@" >"$T/.init.out" 2>"$T/.init.err"; then
        echo "  setup: cdht init --home $T/$name failed:" >&2
        sed 's/^/    /' "$T/.init.err" >&2
        exit 3
    fi
}

# must CMD...: a setup step that has to succeed; the scenario stops when it does not. Its
# stdout is then in $OUT (read it with `out`), never in a subshell, so that the stop stops all.
must() {
    run "$@"
    if [ "$RC" -ne 0 ]; then
        fail "setup step failed"
        finish
    fi
}

# out: the stdout of the last `run` / `must` / `expect_exit` (use as id=$(out)).
out() {
    cat "$OUT"
}

# file_size FILE
file_size() {
    stat -c %s -- "$1"
}

# byte_at FILE OFFSET: the byte at OFFSET as a decimal number.
byte_at() {
    od -An -tu1 -j "$2" -N1 -- "$1" | tr -d ' \n'
}

# put_byte FILE OFFSET VALUE: overwrites one byte in place (VALUE decimal 0..255).
put_byte() {
    # shellcheck disable=SC2059
    printf "\\$(printf '%03o' "$3")" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# flip_byte SRC DST OFFSET: DST is SRC with every bit of the byte at OFFSET inverted.
flip_byte() {
    cp -- "$1" "$2"
    local b
    b=$(byte_at "$1" "$3")
    put_byte "$2" "$3" $((b ^ 0xff))
}

# hex_to_bin: reads hex digits on stdin, writes the bytes they spell.
hex_to_bin() {
    local hex
    hex=$(tr -dc '0-9a-fA-F')
    # shellcheck disable=SC2059
    printf "$(printf '%s' "$hex" | sed 's/../\\x&/g')"
}

# b64_hex: base64 on stdin -> lowercase hex on stdout.
b64_hex() {
    base64 -d | od -An -tx1 | tr -d ' \n'
}

# sha256_hex: SHA-256 of stdin as hex.
sha256_hex() {
    sha256sum | cut -c1-64
}

# node_hash LEFT_HEX RIGHT_HEX: RFC 6962 interior node hash, SHA-256(0x01 || left || right).
node_hash() {
    { printf '\001'; printf '%s' "$1$2" | hex_to_bin; } | sha256_hex
}

# leaf_hash FILE: RFC 6962 leaf hash, SHA-256(0x00 || leaf bytes).
leaf_hash() {
    { printf '\000'; cat -- "$1"; } | sha256_hex
}

# verify_inclusion INDEX SIZE LEAF_HEX ROOT_HEX PROOF_HEX...: RFC 9162 section 2.1.3.2, written
# from the RFC, independently of cdht's code. Returns 0 when the proof holds.
verify_inclusion() {
    local fn=$1 size=$2 sn=$(($2 - 1)) r=$3 root=$4 p
    shift 4
    [ "$fn" -lt "$size" ] || return 1
    for p in "$@"; do
        [ "$sn" -ne 0 ] || return 1
        if [ $((fn & 1)) -eq 1 ] || [ "$fn" -eq "$sn" ]; then
            r=$(node_hash "$p" "$r")
            if [ $((fn & 1)) -eq 0 ]; then
                while [ $((fn & 1)) -eq 0 ] && [ "$fn" -ne 0 ]; do
                    fn=$((fn >> 1))
                    sn=$((sn >> 1))
                done
            fi
        else
            r=$(node_hash "$r" "$p")
        fi
        fn=$((fn >> 1))
        sn=$((sn >> 1))
    done
    [ "$sn" -eq 0 ] && [ "$r" = "$root" ]
}

# verify_consistency FIRST SECOND FIRST_ROOT_HEX SECOND_ROOT_HEX PROOF_HEX...: RFC 9162
# section 2.1.4.2, written from the RFC. Returns 0 when the proof holds.
verify_consistency() {
    local first=$1 second=$2 froot=$3 sroot=$4
    shift 4
    local path=("$@")
    if [ "$first" -eq "$second" ]; then
        [ ${#path[@]} -eq 0 ] && [ "$froot" = "$sroot" ]
        return
    fi
    [ "$first" -gt 0 ] && [ "$first" -lt "$second" ] && [ ${#path[@]} -gt 0 ] || return 1
    if [ $((first & (first - 1))) -eq 0 ]; then
        path=("$froot" "${path[@]}")
    fi
    local fn=$((first - 1)) sn=$((second - 1))
    while [ $((fn & 1)) -eq 1 ]; do
        fn=$((fn >> 1))
        sn=$((sn >> 1))
    done
    local fr=${path[0]} sr=${path[0]} c i
    for ((i = 1; i < ${#path[@]}; i++)); do
        c=${path[$i]}
        [ "$sn" -ne 0 ] || return 1
        if [ $((fn & 1)) -eq 1 ] || [ "$fn" -eq "$sn" ]; then
            fr=$(node_hash "$c" "$fr")
            sr=$(node_hash "$c" "$sr")
            if [ $((fn & 1)) -eq 0 ]; then
                while [ $((fn & 1)) -eq 0 ] && [ "$fn" -ne 0 ]; do
                    fn=$((fn >> 1))
                    sn=$((sn >> 1))
                done
            fi
        else
            sr=$(node_hash "$sr" "$c")
        fi
        fn=$((fn >> 1))
        sn=$((sn >> 1))
    done
    [ "$fr" = "$froot" ] && [ "$sr" = "$sroot" ] && [ "$sn" -eq 0 ]
}

# finish: prints the count and exits 0 when every assertion held, 1 otherwise.
finish() {
    echo "  $CHECKS checks passed, $FAILS failed"
    if [ "$FAILS" -gt 0 ]; then
        exit 1
    fi
    exit 0
}

# stop_serve [SIGNAL]: stops the serve start_serve started (by its PID; SIGTERM unless SIGNAL,
# such as -KILL) and waits for it. Nothing when none runs.
stop_serve() {
    if [ -n "$SERVE_PID" ]; then
        kill "${1:--TERM}" "$SERVE_PID" 2>/dev/null
        wait "$SERVE_PID" 2>/dev/null
        SERVE_PID=
    fi
}

# start_serve HOME [SERVE OPTIONS...]: `cdht serve` of HOME on 127.0.0.1:$PORT (the scenario
# sets PORT, a base offset by its PID so that two runs at once rarely meet), its stderr in
# $T/serve.err, waiting at most 5 s for its "listening" line; a port in use moves to the next,
# five times at most. Sets SERVE_PID.
start_serve() {
    local home=$1 tries
    shift
    for tries in 1 2 3 4 5; do
        : >"$T/serve.err"
        "$CDHT" serve --home "$home" --listen "tcp://127.0.0.1:$PORT" "$@" 2>"$T/serve.err" &
        SERVE_PID=$!
        for _ in $(seq 50); do
            grep -q "listening on" "$T/serve.err" 2>/dev/null && return 0
            kill -0 "$SERVE_PID" 2>/dev/null || break
            sleep 0.1
        done
        stop_serve
        PORT=$((PORT + 1))
    done
    echo "  setup: cdht serve did not start" >&2
    exit 3
}
