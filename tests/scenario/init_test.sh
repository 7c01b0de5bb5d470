#!/usr/bin/env bash
# Proves that `cdht init` creates a private home (0700) and key (0600), never overwrites an
# existing directory, that whoami prints the key and a C2SP verifier key of that same key, that
# a key readable by others or locked by a passphrase blocks every write until fixed or
# unlocked, and that CDHT_HOME works in place of --home.
set -u
. "$(dirname "$0")/lib.sh"

# --- a fresh home --------------------------------------------------------------------------
expect_ok cdht init --home "$T/a" --unit C01
init_key=$(out)
expect_eq 700 "$(stat -c %a "$T/a")" "mode of the new home"
expect_eq 600 "$(stat -c %a "$T/a/key")" "mode of the new key file"
# Everything init creates is private, not only the key: the replica holds personal data.
for f in "$T/a"/*; do
    expect_eq "" "$(stat -c %a "$f" | grep -v '^[67]00$')" "mode of $(basename "$f")"
done

# An existing empty directory is accepted and made private.
mkdir -m 755 "$T/empty"
expect_ok cdht init --home "$T/empty" --unit C01
expect_eq 700 "$(stat -c %a "$T/empty")" "mode of an existing empty home after init"
expect_eq 600 "$(stat -c %a "$T/empty/key")" "mode of its key"

# --- init never overwrites ------------------------------------------------------------------
mkdir -m 755 "$T/busy"
echo "somebody's notes" >"$T/busy/notes.txt"
expect_exit 2 cdht init --home "$T/busy" --unit C01
expect_stderr_contains "cdht init: $T/busy exists and is not an empty directory"
expect_eq "notes.txt" "$(ls -A "$T/busy")" "a refused init creates nothing"
expect_eq "somebody's notes" "$(cat "$T/busy/notes.txt")" "a refused init keeps the file"
expect_eq 755 "$(stat -c %a "$T/busy")" "a refused init keeps the directory's mode"

# Re-running init on a replica keeps its key and its data.
cp "$T/a/key" "$T/a.key.before"
expect_refused 2 "$T/a" cdht init --home "$T/a" --unit C01
expect_stderr_contains "exists and is not an empty directory"
expect_ok cmp -s "$T/a.key.before" "$T/a/key"

# A file in place of the home is refused too.
echo x >"$T/plainfile"
expect_exit 2 cdht init --home "$T/plainfile" --unit C01
expect_stderr_contains "exists and is not an empty directory"

# Missing or bad arguments: exit 2, nothing created.
expect_exit 2 cdht init --unit C01
expect_stderr_contains "cdht init: --home DIR is required (or set CDHT_HOME)"
expect_exit 2 cdht init --home "$T/nounit"
expect_stderr_contains "cdht init: --unit CODE is required"
expect_exit 2 cdht init --home "$T/badunit" --unit 'C 01'
expect_stderr_contains "cdht init: --unit: unit code may contain only"
expect_exit 2 cdht init --home "$T/badopt" --unit C01 --colour blue
expect_stderr_contains "cdht init: --colour is not an option of this command"
# A passphrase file that cannot be used stops init before anything is created.
: >"$T/empty-pass"
expect_exit 2 cdht init --home "$T/p-empty" --unit C01 --passphrase-file "$T/empty-pass"
expect_stderr_contains "cdht init: cannot use the passphrase file: it is empty"
expect_exit 2 cdht init --home "$T/p-missing" --unit C01 --passphrase-file "$T/no-such-pass"
expect_stderr_contains "cdht init: cannot use the passphrase file: not found"
head -c 1025 /dev/zero | tr '\0' x >"$T/long-pass"
expect_exit 2 cdht init --home "$T/p-long" --unit C01 --passphrase-file "$T/long-pass"
expect_stderr_contains "cdht init: cannot use the passphrase file: it is too long"
expect_exit 2 cdht init --home "$T/no/such/parent" --unit C01
expect_stderr_contains "cdht init: cannot create the replica in $T/no/such/parent"
expect_eq "" "$(ls -d "$T/nounit" "$T/badunit" "$T/badopt" "$T"/p-* "$T/no" 2>/dev/null)" \
    "refused inits create nothing"

# --- whoami ----------------------------------------------------------------------------------
expect_ok cdht whoami --home "$T/a"
expect_eq 2 "$(wc -l <"$OUT")" "whoami prints two lines"
key=$(sed -n 1p "$OUT")
vkey=$(sed -n 2p "$OUT")
expect_match '^[A-Za-z0-9+/]{43}=$' "$key" "whoami line 1 (base64 Ed25519 key)"
expect_eq "$init_key" "$key" "init prints the key that whoami prints"
expect_match '^cdht/[0-9a-f]{64}\+[0-9a-f]{8}\+[A-Za-z0-9+/]{43}[A-Za-z0-9+/=]$' "$vkey" \
    "whoami line 2 (note verifier key)"
# The verifier key is the same key: name cdht/<hex of the key>, and base64 of 0x01 || key.
key_hex=$(printf '%s' "$key" | base64 -d | od -An -tx1 | tr -d ' \n')
expect_eq "$key_hex" "$(printf '%s' "$vkey" | sed 's|^cdht/\([0-9a-f]*\)+.*|\1|')" \
    "the verifier key's name is the hex of the public key"
expect_eq "01$key_hex" \
    "$(printf '%s' "$vkey" | sed 's/^[^+]*+[^+]*+//' | base64 -d | od -An -tx1 | tr -d ' \n')" \
    "the verifier key's base64 part is the Ed25519 algorithm byte and the public key"
expect_ne "$key" "$(key_of "$T/empty")" "two homes have two keys"

# Not a replica, no replica given.
expect_exit 2 cdht whoami --home "$T/nowhere"
expect_stderr_contains "cdht whoami: cannot open the replica in $T/nowhere: it is not a cdht replica"
expect_stderr_contains "(no replica.db; run cdht init)"
expect_exit 2 cdht whoami
expect_stderr_contains "cdht whoami: no replica given: use --home DIR or set CDHT_HOME"

# --- a key readable by others blocks every write ---------------------------------------------
expect_ok cdht unit add --home "$T/a" --code C01 --kind commune --name "Xã Một"
expect_ok cdht person add --home "$T/a" --name "Lê Văn Tám" --birth-year 1970 --gender male \
    --unit C01
pid=$(out)
must cdht bundle export --home "$T/a" -o "$T/a.bundle"
new_home other C01
must cdht bundle export --home "$T/other" -o "$T/other.bundle"

for mode in 644 640 604 660; do
    chmod "$mode" "$T/a/key"
    keymsg="cannot open the replica in $T/a: the device key file is readable by others (chmod 600 HOME/key)"
    expect_refused 2 "$T/a" cdht unit add --home "$T/a" --code V01 --kind village --name V \
        --parent C01
    expect_stderr_contains "cdht unit add: $keymsg"
    expect_refused 2 "$T/a" cdht person add --home "$T/a" --name "Ba" --birth-year 1990 \
        --gender female --unit C01
    expect_stderr_contains "cdht person add: $keymsg"
    expect_refused 2 "$T/a" cdht person set --home "$T/a" "$pid" --name "Bốn"
    expect_stderr_contains "cdht person set: $keymsg"
    expect_refused 2 "$T/a" cdht person rm --home "$T/a" "$pid"
    expect_stderr_contains "cdht person rm: $keymsg"
    expect_refused 2 "$T/a" cdht bundle import --home "$T/a" "$T/other.bundle"
    expect_stderr_contains "cdht bundle import: $keymsg"
    expect_eq "$mode" "$(stat -c %a "$T/a/key")" "cdht leaves a key's mode to its owner"
done
chmod 600 "$T/a/key"
expect_ok cdht person set --home "$T/a" "$pid" --name "Lê Văn Tám Hai"
expect_ok cdht bundle import --home "$T/a" "$T/other.bundle"

# --- a passphrase-protected key --------------------------------------------------------------
printf 'correct horse battery staple\n' >"$T/pass"
printf 'correct horse battery staple' >"$T/pass-no-newline"
printf 'incorrect horse battery staple\n' >"$T/wrong"
expect_ok cdht init --home "$T/p" --unit C01 --passphrase-file "$T/pass"
expect_eq 600 "$(stat -c %a "$T/p/key")" "mode of a sealed key"
expect_exit 1 grep -qF "correct horse" "$T/p/key"
# Reading needs no passphrase.
expect_ok cdht whoami --home "$T/p"
expect_ok cdht hash --home "$T/p"

expect_refused 2 "$T/p" cdht unit add --home "$T/p" --code C01 --kind commune --name X
expect_stderr_contains "the device key is sealed: wrong or missing passphrase (--passphrase-file)"
expect_refused 2 "$T/p" cdht unit add --home "$T/p" --code C01 --kind commune --name X \
    --passphrase-file "$T/wrong"
expect_stderr_contains "the device key is sealed: wrong or missing passphrase (--passphrase-file)"
expect_refused 2 "$T/p" cdht unit add --home "$T/p" --code C01 --kind commune --name X \
    --passphrase-file "$T/empty-pass"
expect_stderr_contains "cdht unit add: cannot use the passphrase file: it is empty"
expect_refused 2 "$T/p" cdht unit add --home "$T/p" --code C01 --kind commune --name X \
    --passphrase-file "$T/no-such-file"
expect_stderr_contains "cdht unit add: cannot use the passphrase file"
expect_refused 2 "$T/p" cdht bundle import --home "$T/p" "$T/a.bundle"
expect_stderr_contains "passphrase"
# No message repeats the passphrase.
expect_output_lacks "horse"

expect_ok cdht unit add --home "$T/p" --code C01 --kind commune --name X \
    --passphrase-file "$T/pass"
# The passphrase is the file's first line: a final newline is not part of it.
expect_ok cdht unit add --home "$T/p" --code V01 --kind village --name Y --parent C01 \
    --passphrase-file "$T/pass-no-newline"
expect_ok env CDHT_PASSPHRASE_FILE="$T/pass" "$CDHT" person add --home "$T/p" --name "Hoa" \
    --birth-year 2001 --gender female --unit V01
expect_ok env CDHT_PASSPHRASE_FILE="$T/pass" "$CDHT" bundle import --home "$T/p" "$T/a.bundle"
expect_ok cdht audit --home "$T/p"

# --- CDHT_HOME in place of --home ------------------------------------------------------------
expect_ok env CDHT_HOME="$T/e" "$CDHT" init --unit C01
expect_eq 700 "$(stat -c %a "$T/e")" "mode of a home made through CDHT_HOME"
expect_eq "$(key_of "$T/e")" "$(CDHT_HOME="$T/e" "$CDHT" whoami | sed -n 1p)" \
    "whoami through CDHT_HOME"
expect_ok env CDHT_HOME="$T/e" "$CDHT" unit add --code C01 --kind commune --name "Xã E"
expect_ok env CDHT_HOME="$T/e" "$CDHT" unit list
expect_stdout_contains "C01	commune	-	Xã E"
expect_eq "$(hash_of "$T/e")" "$(CDHT_HOME="$T/e" "$CDHT" hash)" "hash through CDHT_HOME"
# --home wins over CDHT_HOME.
expect_eq "$(key_of "$T/a")" "$(CDHT_HOME="$T/e" "$CDHT" whoami --home "$T/a" | sed -n 1p)" \
    "--home takes precedence over CDHT_HOME"
# An empty CDHT_HOME is no home.
expect_exit 2 env CDHT_HOME= "$CDHT" hash
expect_stderr_contains "no replica given"

# --- a deployment's citizen-id secret ---------------------------------------------------------
# Too short a secret file is refused and nothing is created; a good one is accepted.
printf 'short' >"$T/cid-short"
expect_exit 2 cdht init --home "$T/c1" --unit V01 --cid-key-file "$T/cid-short"
expect_stderr_contains "--cid-key-file: must be a readable file of 16 to 4096 bytes"
[ ! -e "$T/c1" ] || fail "a refused init left $T/c1 behind"
head -c 32 /dev/urandom >"$T/cid.key"
head -c 32 /dev/urandom >"$T/cid2.key"
expect_ok cdht init --home "$T/c1" --unit V01 --cid-key-file "$T/cid.key"
expect_ok cdht init --home "$T/c2" --unit V01 --cid-key-file "$T/cid.key"
expect_ok cdht init --home "$T/c3" --unit V01 --cid-key-file "$T/cid2.key"
expect_ok cdht init --home "$T/c4" --unit V01
cid_key_of() { sqlite3 "$1/replica.db" "SELECT hex(value) FROM meta WHERE key='cid_key'"; }
# The same secret gives the same key (one person, one hash across devices); another secret, or
# none, another key.
expect_eq "$(cid_key_of "$T/c1")" "$(cid_key_of "$T/c2")" "same secret, same citizen-id key"
[ "$(cid_key_of "$T/c1")" != "$(cid_key_of "$T/c3")" ] || fail "two secrets gave one key"
[ "$(cid_key_of "$T/c1")" != "$(cid_key_of "$T/c4")" ] || fail "the secret was ignored"

finish
