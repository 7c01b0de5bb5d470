#!/usr/bin/env bash
# Runs every tests/scenario/*_test.sh against the cdht binary named by $CDHT (made absolute
# here), each in its own bash with a time bound, and prints one line per scenario ("ok NAME" or
# "FAIL NAME", with that scenario's own output indented below a failure), then
#   scenarios: N passed, M failed
# and exits 1 when M > 0. Arguments, when given, pick scenarios by name (e.g. `run.sh init`).
#
#   CDHT=$PWD/build/release/cdht bash tests/scenario/run.sh [NAME...]
set -u

SCENARIO_SECONDS=${SCENARIO_SECONDS:-60} # per scenario: each takes a few seconds

dir=$(cd "$(dirname "$0")" && pwd)
if [ -z "${CDHT:-}" ]; then
    echo "run.sh: set CDHT to the cdht binary (CDHT=/path/to/cdht bash $0)" >&2
    exit 2
fi
case $CDHT in
/*) ;;
*) CDHT=$PWD/$CDHT ;;
esac
if [ ! -x "$CDHT" ]; then
    echo "run.sh: CDHT=$CDHT is not an executable file" >&2
    exit 2
fi
export CDHT

logs=$(mktemp -d "${TMPDIR:-/tmp}/cdht-scenarios.XXXXXXXX") || exit 3
trap 'rm -rf "$logs"' EXIT

passed=0
failed=0
shopt -s nullglob
for t in "$dir"/*_test.sh; do
    name=$(basename "$t" .sh)
    name=${name%_test}
    if [ $# -gt 0 ]; then
        want=0
        for a in "$@"; do
            [ "$a" = "$name" ] && want=1
        done
        [ $want -eq 1 ] || continue
    fi
    # timeout runs the scenario in its own process group and ends that group only.
    if timeout -k 5 "$SCENARIO_SECONDS" bash "$t" >"$logs/$name.log" 2>&1; then
        echo "ok $name"
        passed=$((passed + 1))
    else
        rc=$?
        echo "FAIL $name"
        [ $rc -eq 124 ] && echo "    (timed out after ${SCENARIO_SECONDS}s)"
        sed 's/^/    /' "$logs/$name.log"
        failed=$((failed + 1))
    fi
done

if [ $# -gt 0 ] && [ $((passed + failed)) -eq 0 ]; then
    echo "run.sh: no scenario named $* in $dir" >&2
    exit 2
fi
echo "scenarios: $passed passed, $failed failed"
[ $failed -eq 0 ]
