/*
 * Unit tests for proto/note.c: sign/verify round trips, known answers from other C2SP
 * implementations (sigsum-go, sum.golang.org, golang.org/x/mod/sumdb/note), every byte of a
 * signed note corrupted, the grammar's corners, and each limit at the limit, one past it, zero
 * and truncated.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "note.h"

#define EMDASH "\xe2\x80\x94" /* U+2014, which opens every signature line */

/* The test keys: deterministic, so every run signs the same bytes. */
static uint8_t log_pk[KEY_PUBLIC_SIZE];
static uint8_t log_sk[KEY_SECRET_SIZE];
static char log_name[NOTE_LOG_NAME_SIZE + 1];
static uint8_t wit_pk[KEY_PUBLIC_SIZE];
static uint8_t wit_sk[KEY_SECRET_SIZE];
static const char wit_name[] = "example.com/witness";

static void
suite_init(void)
{
    uint8_t seed[KEY_SEED_SIZE];
    cr_assert_geq(sodium_init(), 0);
    memset(seed, 0x42, sizeof seed);
    cr_assert_eq(crypto_sign_seed_keypair(log_pk, log_sk, seed), 0);
    memset(seed, 0x24, sizeof seed);
    cr_assert_eq(crypto_sign_seed_keypair(wit_pk, wit_sk, seed), 0);
    note_log_name(log_pk, log_name);
}

TestSuite(note, .init = suite_init);

static void
test_checkpoint(struct checkpoint *cp, const char *origin, uint64_t size)
{
    memset(cp, 0, sizeof *cp);
    cr_assert_lt(strlen(origin), sizeof cp->origin);
    strcpy(cp->origin, origin);
    cp->size = size;
    for (size_t i = 0; i < HASH_SIZE; i++) {
        cp->root[i] = (uint8_t)(i * 7 + size);
    }
}

static void
sign_ok(const struct checkpoint *cp, uint8_t *out, size_t *len)
{
    cr_assert_eq(note_sign_checkpoint(cp, log_name, log_sk, out, NOTE_SIZE_MAX, len), ERR_OK);
}

/* Appends "— <name> base64(key id || Ed25519(text))\n" for (name, pk, sk) to out at *len. */
static void
append_sigline(uint8_t *out, size_t *len, size_t cap, const char *name, const uint8_t *pk,
               const uint8_t *sk, const uint8_t *text, size_t text_len)
{
    uint8_t raw[NOTE_KEY_ID_SIZE + SIG_SIZE];
    char b64[sodium_base64_ENCODED_LEN(sizeof raw, sodium_base64_VARIANT_ORIGINAL)];
    note_key_id(name, pk, raw);
    cr_assert_eq(crypto_sign_detached(raw + NOTE_KEY_ID_SIZE, NULL, text, text_len, sk), 0);
    sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
    int n = snprintf((char *)out + *len, cap - *len, EMDASH " %s %s\n", name, b64);
    cr_assert(n > 0 && (size_t)n < cap - *len);
    *len += (size_t)n;
}

/* Appends raw text to out at *len. */
static void
append(uint8_t *out, size_t *len, size_t cap, const char *s)
{
    size_t n = strlen(s);
    cr_assert_leq(n, cap - *len);
    memcpy(out + *len, s, n);
    *len += n;
}

/* Builds "<text>\n<our signature line>" where text is signed as given (it must end in \n). */
static size_t
signed_note(const char *text, uint8_t *out, size_t cap)
{
    size_t len = 0;
    append(out, &len, cap, text);
    size_t text_len = len;
    append(out, &len, cap, "\n");
    append_sigline(out, &len, cap, log_name, log_pk, log_sk, out, text_len);
    return len;
}

static err_code
verify(const uint8_t *note, size_t len, struct checkpoint *cp)
{
    return note_verify_checkpoint(note, len, log_name, log_pk, cp);
}

/* A signed checkpoint verifies under its key and gives back exactly what was signed, in the
 * C2SP text form byte for byte. */
Test(note, sign_verify_round_trip)
{
    static const uint64_t sizes[] = {0, 1, 9, 10, 12345, UINT64_MAX - 1, UINT64_MAX};
    uint8_t buf[NOTE_SIZE_MAX];
    size_t len;
    struct checkpoint cp;
    struct checkpoint got;
    char root_b64[45];
    char want[NOTE_SIZE_MAX];
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        test_checkpoint(&cp, log_name, sizes[i]);
        sign_ok(&cp, buf, &len);
        cr_assert_eq(verify(buf, len, &got), ERR_OK);
        cr_assert_str_eq(got.origin, cp.origin);
        cr_assert_eq(got.size, cp.size);
        cr_assert_arr_eq(got.root, cp.root, HASH_SIZE);
        cr_assert_eq(note_parse_checkpoint(buf, len, &got), ERR_OK);
        cr_assert_eq(got.size, cp.size);
        sodium_bin2base64(root_b64, sizeof root_b64, cp.root, HASH_SIZE,
                          sodium_base64_VARIANT_ORIGINAL);
        int n = snprintf(want, sizeof want, "%s\n%llu\n%s\n\n" EMDASH " %s ", cp.origin,
                         (unsigned long long)cp.size, root_b64, log_name);
        cr_assert_gt(n, 0);
        cr_assert_eq(len, (size_t)n + 92 + 1);
        cr_assert_eq(memcmp(buf, want, (size_t)n), 0);
        cr_assert_eq(buf[len - 1], '\n');
    }
}

/*
 * sigsum-go pkg/checkpoint/checkpoint_test.go (validCheckpointASCII): a checkpoint of size 10
 * signed by Ed25519 seed {17, 0, ...} under the name sigsum.org/v1/tree/<hex SHA-256(pk)>.
 * Ed25519 is deterministic, so our signer must reproduce it byte for byte, and verify it.
 */
Test(note, kat_sigsum_checkpoint_signed_identically)
{
    static const char want[] =
        "sigsum.org/v1/tree/e796172b92befd62d9dc67e41c2f5bc9d3100a3023b20b1ca40288dd1c679e69\n"
        "10\n"
        "HA5HAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
        "\n" EMDASH " sigsum.org/v1/tree/"
        "e796172b92befd62d9dc67e41c2f5bc9d3100a3023b20b1ca40288dd1c679e69 "
        "gJ2ho0n8F8olcerUF1FFdv235A/5as/coWrpLrtE7ovMeP5whgwouYExowG/"
        "lTznxu6OUGjjt5yJQ6bXtTcf718MqAQ=\n";
    uint8_t seed[KEY_SEED_SIZE] = {17};
    uint8_t pk[KEY_PUBLIC_SIZE];
    uint8_t sk[KEY_SECRET_SIZE];
    uint8_t pk_hash[HASH_SIZE];
    char hex[2 * HASH_SIZE + 1];
    struct checkpoint cp;
    struct checkpoint got;
    uint8_t buf[NOTE_SIZE_MAX];
    size_t len;
    cr_assert_eq(crypto_sign_seed_keypair(pk, sk, seed), 0);
    crypto_hash_sha256(pk_hash, pk, sizeof pk);
    sodium_bin2hex(hex, sizeof hex, pk_hash, sizeof pk_hash);
    memset(&cp, 0, sizeof cp);
    snprintf(cp.origin, sizeof cp.origin, "sigsum.org/v1/tree/%s", hex);
    cp.size = 10;
    cp.root[0] = 28;
    cp.root[1] = 14;
    cp.root[2] = 71;
    cr_assert_eq(note_sign_checkpoint(&cp, cp.origin, sk, buf, sizeof buf, &len), ERR_OK);
    cr_assert_eq(len, sizeof want - 1);
    cr_assert_eq(memcmp(buf, want, len), 0, "got:\n%.*s", (int)len, (const char *)buf);
    cr_assert_eq(
        note_verify_checkpoint((const uint8_t *)want, sizeof want - 1, cp.origin, pk, &got),
        ERR_OK);
    cr_assert_eq(got.size, 10);
    cr_assert_arr_eq(got.root, cp.root, HASH_SIZE);
}

/*
 * A real checkpoint of the Go checksum database, as quoted in sigsum-go
 * pkg/checkpoint/checkpoint_test.go (TestGoSumDBCheckpoint, "retrieved from
 * https://sum.golang.org/latest, 2024-09-23"), with the key golang/go ships in
 * src/cmd/go/internal/modfetch/key.go. Its origin differs from its key name, as C2SP allows.
 */
Test(note, kat_sum_golang_org_checkpoint_verifies)
{
    static const char vkey[] =
        "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";
    static const char note[] = "go.sum database tree\n"
                               "30055305\n"
                               "mXfgRcJ0bG0j3CPdKwgGWtUzBUbX67saZGRmFuJGGsM=\n"
                               "\n" EMDASH " sum.golang.org "
                               "Az3grpgEild5qw7+5dtV13Kf1C2Xurm8q4fhdxvcsDHnqNTaxL2AFjBY+"
                               "2TyGKevucFcAAlWFJJYle3EJlDCrQ+y3A8=\n";
    char name[NOTE_ORIGIN_SIZE_MAX + 1];
    uint8_t pk[KEY_PUBLIC_SIZE];
    uint8_t id[NOTE_KEY_ID_SIZE];
    uint8_t root[HASH_SIZE];
    size_t root_len;
    struct checkpoint cp;
    char again[NOTE_VERIFIER_KEY_SIZE_MAX];
    cr_assert_eq(note_verifier_key_parse(vkey, name, pk), ERR_OK);
    cr_assert_str_eq(name, "sum.golang.org");
    note_key_id(name, pk, id);
    cr_assert_eq(id[0], 0x03);
    cr_assert_eq(id[1], 0x3d);
    cr_assert_eq(id[2], 0xe0);
    cr_assert_eq(id[3], 0xae);
    cr_assert_eq(note_verifier_key(name, pk, again, sizeof again), ERR_OK);
    cr_assert_str_eq(again, vkey);

    cr_assert_eq(note_verify_checkpoint((const uint8_t *)note, sizeof note - 1, name, pk, &cp),
                 ERR_OK);
    cr_assert_str_eq(cp.origin, "go.sum database tree");
    cr_assert_eq(cp.size, 30055305);
    cr_assert_eq(sodium_base642bin(root, sizeof root,
                                   "mXfgRcJ0bG0j3CPdKwgGWtUzBUbX67saZGRmFuJGGsM=", 44, NULL,
                                   &root_len, NULL, sodium_base64_VARIANT_ORIGINAL),
                 0);
    cr_assert_arr_eq(cp.root, root, HASH_SIZE);
    /* The same key under another name is another key: its signature is not ours. */
    cr_assert_eq(
        note_verify_checkpoint((const uint8_t *)note, sizeof note - 1, "sum.golang.com", pk, &cp),
        ERR_AUTH);
    cr_assert_eq(
        note_verify_checkpoint((const uint8_t *)note, sizeof note - 1, log_name, log_pk, &cp),
        ERR_AUTH);
}

/*
 * golang.org/x/mod sumdb/note/note_test.go (TestNewVerifier, TestVerifierList): its verifier
 * keys parse and re-format identically; every proper substring and every single-byte
 * increment of one is refused, as are its wrong-length and unknown-algorithm keys.
 */
Test(note, kat_go_verifier_keys)
{
    static const char *const good[] = {
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop",
    };
    char name[NOTE_ORIGIN_SIZE_MAX + 1];
    uint8_t pk[KEY_PUBLIC_SIZE];
    char again[NOTE_VERIFIER_KEY_SIZE_MAX];
    char b[128];
    for (size_t k = 0; k < 2; k++) {
        cr_assert_eq(note_verifier_key_parse(good[k], name, pk), ERR_OK);
        cr_assert_eq(note_verifier_key(name, pk, again, sizeof again), ERR_OK);
        cr_assert_str_eq(again, good[k]);
        size_t len = strlen(good[k]);
        for (size_t i = 0; i <= len; i++) {
            for (size_t j = i + 1; j <= len; j++) {
                if (i == 0 && j == len) {
                    continue;
                }
                memcpy(b, good[k] + i, j - i);
                b[j - i] = '\0';
                cr_assert_eq(note_verifier_key_parse(b, name, pk), ERR_INVAL, "%s", b);
            }
        }
        strcpy(b, good[k]);
        for (size_t i = 0; i < len; i++) {
            b[i]++;
            cr_assert_eq(note_verifier_key_parse(b, name, pk), ERR_INVAL, "%s", b);
            b[i]--;
        }
    }
    cr_assert_eq(
        note_verifier_key_parse(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==", name, pk),
        ERR_INVAL);
    cr_assert_eq(
        note_verifier_key_parse(
            "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", name, pk),
        ERR_INVAL);
}

/* Our own verifier key round-trips; a wrong or uppercase key id, a bad name and a buffer one
 * byte short are refused with the codes the header names. */
Test(note, verifier_key_round_trip_and_refusals)
{
    char vkey[NOTE_VERIFIER_KEY_SIZE_MAX];
    char name[NOTE_ORIGIN_SIZE_MAX + 1];
    char long_name[NOTE_ORIGIN_SIZE_MAX + 2];
    uint8_t pk[KEY_PUBLIC_SIZE];
    cr_assert_eq(note_verifier_key(log_name, log_pk, vkey, sizeof vkey), ERR_OK);
    size_t len = strlen(vkey);
    cr_assert_eq(len, NOTE_LOG_NAME_SIZE + 1 + 8 + 1 + 44);
    cr_assert_eq(note_verifier_key_parse(vkey, name, pk), ERR_OK);
    cr_assert_str_eq(name, log_name);
    cr_assert_arr_eq(pk, log_pk, KEY_PUBLIC_SIZE);
    /* The buffer: exactly enough, then one byte short. */
    cr_assert_eq(note_verifier_key(log_name, log_pk, vkey, len + 1), ERR_OK);
    cr_assert_eq(note_verifier_key(log_name, log_pk, vkey, len), ERR_MSGSIZE);
    cr_assert_eq(note_verifier_key(log_name, log_pk, vkey, 0), ERR_MSGSIZE);
    cr_assert_eq(note_verifier_key(log_name, log_pk, vkey, sizeof vkey), ERR_OK);
    /* A wrong key id: each hex digit changed in turn. */
    size_t id_at = NOTE_LOG_NAME_SIZE + 1;
    for (size_t i = id_at; i < id_at + 8; i++) {
        char saved = vkey[i];
        vkey[i] = saved == '0' ? '1' : '0';
        cr_assert_eq(note_verifier_key_parse(vkey, name, pk), ERR_INVAL);
        if (saved >= 'a' && saved <= 'f') {
            vkey[i] = (char)(saved - 'a' + 'A');
            cr_assert_eq(note_verifier_key_parse(vkey, name, pk), ERR_INVAL);
        }
        vkey[i] = saved;
    }
    cr_assert_eq(note_verifier_key_parse(vkey, name, pk), ERR_OK);
    /* The key of another name. */
    cr_assert_eq(note_verifier_key(wit_name, log_pk, vkey, sizeof vkey), ERR_OK);
    cr_assert_eq(note_verifier_key_parse(vkey, name, pk), ERR_OK);
    cr_assert_str_eq(name, wit_name);
    /* Names: empty, with '+', with an ASCII or a Unicode space, with a control character. */
    static const char *const bad_names[] = {"",
                                            "a+b",
                                            "a b",
                                            "a\xc2\xa0"
                                            "b",
                                            "a\xe3\x80\x80"
                                            "b",
                                            "a\tb",
                                            "a\nb",
                                            "\xff"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        cr_assert_eq(note_verifier_key(bad_names[i], log_pk, vkey, sizeof vkey), ERR_INVAL,
                     "name %zu", i);
    }
    cr_assert_eq(note_verifier_key_parse("", name, pk), ERR_INVAL);
    cr_assert_eq(
        note_verifier_key_parse("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", name, pk),
        ERR_INVAL);
    /* Name length: NOTE_ORIGIN_SIZE_MAX is accepted, one more is not. */
    memset(long_name, 'n', sizeof long_name);
    long_name[NOTE_ORIGIN_SIZE_MAX] = '\0';
    cr_assert_eq(note_verifier_key(long_name, log_pk, vkey, sizeof vkey), ERR_OK);
    cr_assert_eq(note_verifier_key_parse(vkey, name, pk), ERR_OK);
    cr_assert_str_eq(name, long_name);
    long_name[NOTE_ORIGIN_SIZE_MAX] = 'n';
    long_name[NOTE_ORIGIN_SIZE_MAX + 1] = '\0';
    cr_assert_eq(note_verifier_key(long_name, log_pk, vkey, sizeof vkey), ERR_INVAL);
    char too_long[NOTE_VERIFIER_KEY_SIZE_MAX + 8];
    snprintf(too_long, sizeof too_long, "%s+00000000+AAAA", long_name);
    cr_assert_eq(note_verifier_key_parse(too_long, name, pk), ERR_INVAL);
}

/* The key id is SHA-256(name || 0x0A || 0x01 || pk)[0:4] and our log name is cdht/<hex pk>. */
Test(note, key_id_and_log_name)
{
    uint8_t id[NOTE_KEY_ID_SIZE];
    uint8_t h[HASH_SIZE];
    uint8_t in[NOTE_LOG_NAME_SIZE + 2 + KEY_PUBLIC_SIZE];
    char hex[2 * KEY_PUBLIC_SIZE + 1];
    cr_assert_eq(strlen(log_name), NOTE_LOG_NAME_SIZE);
    sodium_bin2hex(hex, sizeof hex, log_pk, KEY_PUBLIC_SIZE);
    cr_assert_eq(strncmp(log_name, "cdht/", 5), 0);
    cr_assert_str_eq(log_name + 5, hex);
    memcpy(in, log_name, NOTE_LOG_NAME_SIZE);
    in[NOTE_LOG_NAME_SIZE] = '\n';
    in[NOTE_LOG_NAME_SIZE + 1] = 0x01;
    memcpy(in + NOTE_LOG_NAME_SIZE + 2, log_pk, KEY_PUBLIC_SIZE);
    crypto_hash_sha256(h, in, sizeof in);
    note_key_id(log_name, log_pk, id);
    cr_assert_arr_eq(id, h, NOTE_KEY_ID_SIZE);
}

/*
 * Every bit of every byte of a signed note, flipped in turn, makes verification fail: with
 * ERR_CORRUPT exactly when the result no longer parses (a broken line, byte or base64), and
 * otherwise with ERR_AUTH (a changed text, a different key id or name, a different signature).
 */
Test(note, every_bit_flip_refused)
{
    uint8_t buf[NOTE_SIZE_MAX];
    size_t len;
    struct checkpoint cp;
    struct checkpoint got;
    unsigned auth = 0;
    unsigned corrupt = 0;
    test_checkpoint(&cp, log_name, 1234567);
    sign_ok(&cp, buf, &len);
    cr_assert_eq(verify(buf, len, &got), ERR_OK);
    for (size_t i = 0; i < len; i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            buf[i] ^= (uint8_t)(1u << bit);
            err_code parsed = note_parse_checkpoint(buf, len, &got);
            err_code rc = verify(buf, len, &got);
            buf[i] ^= (uint8_t)(1u << bit);
            if (parsed == ERR_OK) {
                cr_assert_eq(rc, ERR_AUTH, "byte %zu bit %u", i, bit);
                auth++;
            } else {
                cr_assert_eq(parsed, ERR_CORRUPT, "byte %zu bit %u", i, bit);
                cr_assert_eq(rc, ERR_CORRUPT, "byte %zu bit %u", i, bit);
                corrupt++;
            }
        }
    }
    /* Both outcomes happen, and the structural bytes break the grammar: the newline after
     * the origin, the blank line, the em dash and the final newline. */
    cr_assert_gt(auth, 100);
    cr_assert_gt(corrupt, 100);
    size_t text_len = strlen(cp.origin) + 1 + 7 + 1 + 44 + 1;
    size_t structural[] = {strlen(cp.origin), text_len, text_len + 1, text_len + 2, len - 1};
    for (size_t s = 0; s < sizeof structural / sizeof structural[0]; s++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            buf[structural[s]] ^= (uint8_t)(1u << bit);
            cr_assert_eq(verify(buf, len, &got), ERR_CORRUPT, "byte %zu bit %u", structural[s],
                         bit);
            buf[structural[s]] ^= (uint8_t)(1u << bit);
        }
    }
    /* A changed size digit keeps the grammar and breaks the signature. */
    buf[strlen(cp.origin) + 1] = '9';
    cr_assert_eq(verify(buf, len, &got), ERR_AUTH);
}

/* Signatures by other keys are ignored wherever they stand; one by our key must be present. */
Test(note, unknown_keys_ignored)
{
    static const char text[] = "example.com/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    uint8_t buf[NOTE_SIZE_MAX];
    size_t len = 0;
    size_t text_len = sizeof text - 1;
    struct checkpoint cp;
    /* Witness first, then us, then a key sharing our name but not our id. */
    append(buf, &len, sizeof buf, text);
    append(buf, &len, sizeof buf, "\n");
    append_sigline(buf, &len, sizeof buf, wit_name, wit_pk, wit_sk, buf, text_len);
    append_sigline(buf, &len, sizeof buf, log_name, log_pk, log_sk, buf, text_len);
    append_sigline(buf, &len, sizeof buf, log_name, wit_pk, wit_sk, buf, text_len);
    cr_assert_eq(verify(buf, len, &cp), ERR_OK);
    cr_assert_str_eq(cp.origin, "example.com/log");
    cr_assert_eq(cp.size, 5);
    /* The witness alone: it verifies for the witness and not for us. */
    len = 0;
    append(buf, &len, sizeof buf, text);
    append(buf, &len, sizeof buf, "\n");
    append_sigline(buf, &len, sizeof buf, wit_name, wit_pk, wit_sk, buf, text_len);
    cr_assert_eq(verify(buf, len, &cp), ERR_AUTH);
    cr_assert_eq(note_verify_checkpoint(buf, len, wit_name, wit_pk, &cp), ERR_OK);
    /* Our key id under another name, and our name with another key id: both strangers. */
    len = 0;
    append(buf, &len, sizeof buf, text);
    append(buf, &len, sizeof buf, "\n");
    append_sigline(buf, &len, sizeof buf, wit_name, log_pk, log_sk, buf, text_len);
    append_sigline(buf, &len, sizeof buf, log_name, wit_pk, wit_sk, buf, text_len);
    cr_assert_eq(verify(buf, len, &cp), ERR_AUTH);
    /* A foreign signature of another length (not Ed25519) is still only ignored. */
    len = 0;
    append(buf, &len, sizeof buf, text);
    append(buf, &len, sizeof buf, "\n" EMDASH " other.example/pq AAAAAAA=\n");
    append_sigline(buf, &len, sizeof buf, log_name, log_pk, log_sk, buf, text_len);
    cr_assert_eq(verify(buf, len, &cp), ERR_OK);
}

/* A line that is our key (name and id) but whose signature does not verify refuses the note,
 * even beside a good one, in either order, and whatever its length. */
Test(note, bad_signature_by_our_key_refused)
{
    static const char text[] = "example.com/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    static const char other[] =
        "example.com/log\n6\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    uint8_t buf[NOTE_SIZE_MAX];
    uint8_t raw[NOTE_KEY_ID_SIZE + 32];
    char b64[64];
    size_t len = 0;
    size_t text_len = sizeof text - 1;
    struct checkpoint cp;
    /* Good, then a signature by our key over other text. */
    append(buf, &len, sizeof buf, text);
    append(buf, &len, sizeof buf, "\n");
    append_sigline(buf, &len, sizeof buf, log_name, log_pk, log_sk, buf, text_len);
    append_sigline(buf, &len, sizeof buf, log_name, log_pk, log_sk, (const uint8_t *)other,
                   sizeof other - 1);
    cr_assert_eq(verify(buf, len, &cp), ERR_AUTH);
    /* The other order. */
    len = 0;
    append(buf, &len, sizeof buf, text);
    append(buf, &len, sizeof buf, "\n");
    append_sigline(buf, &len, sizeof buf, log_name, log_pk, log_sk, (const uint8_t *)other,
                   sizeof other - 1);
    append_sigline(buf, &len, sizeof buf, log_name, log_pk, log_sk, buf, text_len);
    cr_assert_eq(verify(buf, len, &cp), ERR_AUTH);
    /* Our key id with a 32-byte "signature". */
    note_key_id(log_name, log_pk, raw);
    memset(raw + NOTE_KEY_ID_SIZE, 0x33, 32);
    sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
    len = 0;
    append(buf, &len, sizeof buf, text);
    append(buf, &len, sizeof buf, "\n");
    append_sigline(buf, &len, sizeof buf, log_name, log_pk, log_sk, buf, text_len);
    append(buf, &len, sizeof buf, EMDASH " ");
    append(buf, &len, sizeof buf, log_name);
    append(buf, &len, sizeof buf, " ");
    append(buf, &len, sizeof buf, b64);
    append(buf, &len, sizeof buf, "\n");
    cr_assert_eq(verify(buf, len, &cp), ERR_AUTH);
    cr_assert_eq(note_parse_checkpoint(buf, len, &cp), ERR_OK);
}

/* tlog-checkpoint extension lines after the root are accepted and ignored, up to the bound;
 * an empty one is not an extension line but a malformed note. */
Test(note, extension_lines)
{
    char text[NOTE_SIZE_MAX];
    uint8_t buf[NOTE_SIZE_MAX];
    struct checkpoint cp;
    const char *head = "example.com/log\n7\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    for (unsigned k = 0; k <= 17; k++) {
        size_t t = (size_t)snprintf(text, sizeof text, "%s", head);
        for (unsigned i = 0; i < k; i++) {
            t += (size_t)snprintf(text + t, sizeof text - t, "ext %u: opaque \xe2\x98\x83\n", i);
        }
        size_t len = signed_note(text, buf, sizeof buf);
        err_code want = k <= 16 ? ERR_OK : ERR_MSGSIZE;
        cr_assert_eq(verify(buf, len, &cp), want, "%u extension lines", k);
        cr_assert_eq(note_parse_checkpoint(buf, len, &cp), want, "%u extension lines", k);
        if (want == ERR_OK) {
            cr_assert_eq(cp.size, 7);
        }
    }
    /* An empty line inside the text. */
    size_t len = signed_note("example.com/log\n7\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n"
                             "ext\n",
                             buf, sizeof buf);
    cr_assert_eq(verify(buf, len, &cp), ERR_CORRUPT);
}

/* Builds a note of exactly total bytes, signed by us, padded with one extension line. */
static size_t
note_of_size(size_t total, uint8_t *buf, size_t cap)
{
    char text[2 * NOTE_SIZE_MAX];
    const char *head = "example.com/log\n8\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    size_t sig_line = 4 + strlen(log_name) + 1 + 92 + 1;
    size_t fixed = strlen(head) + 1 + sig_line; /* text head, blank line, signature */
    cr_assert_gt(total, fixed + 2);
    size_t ext = total - fixed - 1; /* bytes of the extension line before its newline */
    memcpy(text, head, strlen(head));
    memset(text + strlen(head), 'x', ext);
    text[strlen(head) + ext] = '\n';
    text[strlen(head) + ext + 1] = '\0';
    size_t len = signed_note(text, buf, cap);
    cr_assert_eq(len, total);
    return len;
}

/* NOTE_SIZE_MAX: a note of exactly that size verifies, one byte more is ERR_MSGSIZE (before
 * any other check), zero bytes and every truncation of a good note are ERR_CORRUPT. */
Test(note, size_limit)
{
    uint8_t buf[2 * NOTE_SIZE_MAX];
    struct checkpoint cp;
    size_t len = note_of_size(NOTE_SIZE_MAX, buf, sizeof buf);
    cr_assert_eq(verify(buf, len, &cp), ERR_OK);
    len = note_of_size(NOTE_SIZE_MAX + 1, buf, sizeof buf);
    cr_assert_eq(verify(buf, len, &cp), ERR_MSGSIZE);
    cr_assert_eq(note_parse_checkpoint(buf, len, &cp), ERR_MSGSIZE);
    cr_assert_eq(verify(buf, 0, &cp), ERR_CORRUPT);
    cr_assert_eq(note_parse_checkpoint(buf, 0, &cp), ERR_CORRUPT);
    cr_assert_eq(note_parse_checkpoint(NULL, 0, &cp), ERR_CORRUPT);

    struct checkpoint good;
    test_checkpoint(&good, log_name, 42);
    sign_ok(&good, buf, &len);
    for (size_t n = 0; n < len; n++) {
        cr_assert_eq(note_parse_checkpoint(buf, n, &cp), ERR_CORRUPT, "prefix %zu", n);
        cr_assert_eq(verify(buf, n, &cp), ERR_CORRUPT, "prefix %zu", n);
    }
    cr_assert_eq(verify(buf, len, &cp), ERR_OK);
}

/* NOTE_SIGNATURES_MAX: that many signature lines are read (ours last), one more is
 * ERR_MSGSIZE; a note with no signature line is ERR_CORRUPT. */
Test(note, signature_count_limit)
{
    static const char text[] = "example.com/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    uint8_t buf[NOTE_SIZE_MAX];
    size_t text_len = sizeof text - 1;
    struct checkpoint cp;
    for (unsigned foreign = 0; foreign <= NOTE_SIGNATURES_MAX; foreign++) {
        size_t len = 0;
        append(buf, &len, sizeof buf, text);
        append(buf, &len, sizeof buf, "\n");
        for (unsigned i = 0; i < foreign; i++) {
            append_sigline(buf, &len, sizeof buf, wit_name, wit_pk, wit_sk, buf, text_len);
        }
        append_sigline(buf, &len, sizeof buf, log_name, log_pk, log_sk, buf, text_len);
        err_code want = foreign + 1 <= NOTE_SIGNATURES_MAX ? ERR_OK : ERR_MSGSIZE;
        cr_assert_eq(verify(buf, len, &cp), want, "%u lines", foreign + 1);
        cr_assert_eq(note_parse_checkpoint(buf, len, &cp), want, "%u lines", foreign + 1);
    }
    size_t len = 0;
    append(buf, &len, sizeof buf, text);
    append(buf, &len, sizeof buf, "\n");
    cr_assert_eq(verify(buf, len, &cp), ERR_CORRUPT);
}

/* NOTE_ORIGIN_SIZE_MAX: an origin of that many bytes signs and verifies, one more is refused
 * by the parser (ERR_MSGSIZE) and cannot be signed; an empty origin or one with a newline or a
 * control character is ERR_INVAL to sign and ERR_CORRUPT to read. */
Test(note, origin_limits)
{
    char text[NOTE_SIZE_MAX];
    uint8_t buf[NOTE_SIZE_MAX];
    size_t len;
    struct checkpoint cp;
    struct checkpoint got;
    char origin[NOTE_ORIGIN_SIZE_MAX + 2];
    memset(origin, 'o', sizeof origin);
    origin[NOTE_ORIGIN_SIZE_MAX] = '\0';
    test_checkpoint(&cp, origin, 3);
    sign_ok(&cp, buf, &len);
    cr_assert_eq(verify(buf, len, &got), ERR_OK);
    cr_assert_str_eq(got.origin, origin);

    origin[NOTE_ORIGIN_SIZE_MAX] = 'o';
    origin[NOTE_ORIGIN_SIZE_MAX + 1] = '\0';
    snprintf(text, sizeof text, "%s\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", origin);
    len = signed_note(text, buf, sizeof buf);
    cr_assert_eq(verify(buf, len, &got), ERR_MSGSIZE);
    cr_assert_eq(note_parse_checkpoint(buf, len, &got), ERR_MSGSIZE);
    memset(cp.origin, 'o', sizeof cp.origin); /* no NUL anywhere: not a string */
    cr_assert_eq(note_sign_checkpoint(&cp, log_name, log_sk, buf, sizeof buf, &len), ERR_INVAL);
    cr_assert_eq(len, 0);

    static const char *const bad[] = {"", "a\nb", "a\tb", "a\rb", "\xff", "\xc0\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        test_checkpoint(&cp, bad[i], 3);
        cr_assert_eq(note_sign_checkpoint(&cp, log_name, log_sk, buf, sizeof buf, &len), ERR_INVAL,
                     "origin %zu", i);
    }
    len = signed_note("\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", buf, sizeof buf);
    cr_assert_eq(verify(buf, len, &got), ERR_CORRUPT);
    len = signed_note("a\tb\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", buf, sizeof buf);
    cr_assert_eq(verify(buf, len, &got), ERR_CORRUPT);
    /* Spaces and non-ASCII are allowed in an origin (sum.golang.org's has spaces). */
    test_checkpoint(&cp, "caf\xc3\xa9 log \xe2\x80\x94 42", 3);
    sign_ok(&cp, buf, &len);
    cr_assert_eq(verify(buf, len, &got), ERR_OK);
    cr_assert_str_eq(got.origin, cp.origin);
}

/* The tree size is decimal without leading zeros (except "0") and fits 64 bits. */
Test(note, size_grammar)
{
    static const struct {
        const char *size;
        err_code want;
        uint64_t value;
    } cases[] = {
        {"0", ERR_OK, 0},
        {"1", ERR_OK, 1},
        {"10", ERR_OK, 10},
        {"18446744073709551615", ERR_OK, UINT64_MAX},
        {"18446744073709551616", ERR_CORRUPT, 0},
        {"99999999999999999999", ERR_CORRUPT, 0},
        {"100000000000000000000", ERR_CORRUPT, 0},
        {"00", ERR_CORRUPT, 0},
        {"01", ERR_CORRUPT, 0},
        {"", ERR_CORRUPT, 0},
        {"+1", ERR_CORRUPT, 0},
        {"-1", ERR_CORRUPT, 0},
        {" 1", ERR_CORRUPT, 0},
        {"1 ", ERR_CORRUPT, 0},
        {"1a", ERR_CORRUPT, 0},
        {"0x10", ERR_CORRUPT, 0},
        {"\xd9\xa1", ERR_CORRUPT, 0}, /* ARABIC-INDIC DIGIT ONE */
    };
    char text[NOTE_SIZE_MAX];
    uint8_t buf[NOTE_SIZE_MAX];
    struct checkpoint cp;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(text, sizeof text,
                 "example.com/log\n%s\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
                 cases[i].size);
        size_t len = signed_note(text, buf, sizeof buf);
        cr_assert_eq(verify(buf, len, &cp), cases[i].want, "size \"%s\"", cases[i].size);
        if (cases[i].want == ERR_OK) {
            cr_assert_eq(cp.size, cases[i].value);
        }
    }
}

/* The root is the standard, padded, canonical base64 of exactly 32 bytes. */
Test(note, root_grammar)
{
    static const struct {
        const char *root;
        err_code want;
    } cases[] = {
        {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", ERR_OK},
        {"mXfgRcJ0bG0j3CPdKwgGWtUzBUbX67saZGRmFuJGGsM=", ERR_OK},
        {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=", ERR_CORRUPT}, /* non-zero pad bits */
        {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", ERR_CORRUPT},  /* no padding */
        {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", ERR_CORRUPT},
        {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", ERR_CORRUPT}, /* 31 bytes */
        {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", ERR_CORRUPT}, /* 33 bytes */
        {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", ERR_CORRUPT},
        {"mXfgRcJ0bG0j3CPdKwgGWtUzBUbX67saZGRmFuJGGsM", ERR_CORRUPT},
        {"-_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", ERR_CORRUPT}, /* URL alphabet */
        {"AAAAAAAAAAAAAAAAAAAAAA AAAAAAAAAAAAAAAAAAAA=", ERR_CORRUPT},
        {"", ERR_CORRUPT},
    };
    char text[NOTE_SIZE_MAX];
    uint8_t buf[NOTE_SIZE_MAX];
    struct checkpoint cp;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(text, sizeof text, "example.com/log\n1\n%s\n", cases[i].root);
        size_t len = signed_note(text, buf, sizeof buf);
        cr_assert_eq(verify(buf, len, &cp), cases[i].want, "root \"%s\"", cases[i].root);
    }
}

/* The note grammar: the cases golang.org/x/mod sumdb/note TestOpen calls malformed, and ours. */
Test(note, malformed_notes)
{
    static const char text[] = "example.com/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    uint8_t good[NOTE_SIZE_MAX];
    uint8_t buf[NOTE_SIZE_MAX + 8];
    struct checkpoint cp;
    size_t good_len = signed_note(text, good, sizeof good);
    size_t sig_at = sizeof text; /* the first byte of the signature line */
    size_t len;
    cr_assert_eq(verify(good, good_len, &cp), ERR_OK);

    /* Text only; text and blank line; no final newline (Go's first three). */
    cr_assert_eq(verify(good, sizeof text - 1, &cp), ERR_CORRUPT);
    cr_assert_eq(verify(good, sizeof text, &cp), ERR_CORRUPT);
    cr_assert_eq(verify(good, good_len - 1, &cp), ERR_CORRUPT);
    /* A leading control byte or invalid UTF-8 byte (Go's \x01 and \xff). */
    static const char *const prefixes[] = {
        "\x01", "\xff", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x00"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t p = i == 5 ? 1 : strlen(prefixes[i]);
        memcpy(buf, prefixes[i], p);
        memcpy(buf + p, good, good_len);
        cr_assert_eq(verify(buf, good_len + p, &cp), ERR_CORRUPT, "prefix %zu", i);
    }
    /* A line after the signatures that is not one ("Unexpected line."). */
    memcpy(buf, good, good_len);
    memcpy(buf + good_len, "Unexpected line.\n", 17);
    cr_assert_eq(verify(buf, good_len + 17, &cp), ERR_CORRUPT);
    /* A name with a space ("Bad Name"): the base64 then holds a space. */
    len = 0;
    append(buf, &len, sizeof buf, text);
    append(buf, &len, sizeof buf, "\n" EMDASH " Bad Name AAAAAAA=\n");
    cr_assert_eq(verify(buf, len, &cp), ERR_CORRUPT);
    /* An ASCII "--" or a hyphen for the em dash; no space after it; a '+' in the name. */
    static const char *const lines[] = {
        "-- example.com/w AAAAAAA=\n",
        "- example.com/w AAAAAAA=\n",
        EMDASH "example.com/w AAAAAAA=\n",
        EMDASH " example.com/w+1 AAAAAAA=\n",
        EMDASH " example.com/w\n",
        EMDASH " example.com/w \n",
        EMDASH "  AAAAAAA=\n",
        EMDASH " example.com/w AAAA\n",
        EMDASH " example.com/w AAAAAAA\n",
        EMDASH " example.com/w AAAAAAA=\r\n",
        EMDASH " example.com/w AAAAAAA= \n",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        len = 0;
        append(buf, &len, sizeof buf, text);
        append(buf, &len, sizeof buf, "\n");
        append_sigline(buf, &len, sizeof buf, log_name, log_pk, log_sk, buf, sizeof text - 1);
        append(buf, &len, sizeof buf, lines[i]);
        cr_assert_eq(verify(buf, len, &cp), ERR_CORRUPT, "line %zu", i);
    }
    /* CRLF line ends. */
    len = signed_note("example.com/log\r\n5\r\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n",
                      buf, sizeof buf);
    cr_assert_eq(verify(buf, len, &cp), ERR_CORRUPT);
    /* Missing root line; missing size and root. */
    len = signed_note("example.com/log\n5\n", buf, sizeof buf);
    cr_assert_eq(verify(buf, len, &cp), ERR_CORRUPT);
    len = signed_note("example.com/log\n", buf, sizeof buf);
    cr_assert_eq(verify(buf, len, &cp), ERR_CORRUPT);
    /* Two blank lines before the signatures. */
    memcpy(buf, good, sig_at);
    buf[sig_at] = '\n';
    memcpy(buf + sig_at + 1, good + sig_at, good_len - sig_at);
    cr_assert_eq(verify(buf, good_len + 1, &cp), ERR_CORRUPT);
    /* A trailing blank line after the signatures. */
    memcpy(buf, good, good_len);
    buf[good_len] = '\n';
    cr_assert_eq(verify(buf, good_len + 1, &cp), ERR_CORRUPT);
}

/* Verification refuses a caller's key name that no note could carry. */
Test(note, verify_refuses_bad_name_argument)
{
    uint8_t buf[NOTE_SIZE_MAX];
    size_t len;
    struct checkpoint cp;
    test_checkpoint(&cp, log_name, 1);
    sign_ok(&cp, buf, &len);
    cr_assert_eq(note_verify_checkpoint(buf, len, NULL, log_pk, &cp), ERR_INVAL);
    cr_assert_eq(note_verify_checkpoint(buf, len, "", log_pk, &cp), ERR_INVAL);
    cr_assert_eq(note_verify_checkpoint(buf, len, "a b", log_pk, &cp), ERR_INVAL);
    cr_assert_eq(note_verify_checkpoint(buf, len, "a+b", log_pk, &cp), ERR_INVAL);
    cr_assert_eq(note_sign_checkpoint(&cp, "a b", log_sk, buf, sizeof buf, &len), ERR_INVAL);
    cr_assert_eq(note_sign_checkpoint(&cp, "", log_sk, buf, sizeof buf, &len), ERR_INVAL);
}

/* note_sign_checkpoint needs room for the whole note: exactly enough works, one byte less or
 * none is ERR_MSGSIZE and writes no length. */
Test(note, sign_output_capacity)
{
    uint8_t buf[NOTE_SIZE_MAX];
    size_t len;
    size_t len2 = 77;
    struct checkpoint cp;
    test_checkpoint(&cp, log_name, 99);
    sign_ok(&cp, buf, &len);
    cr_assert_eq(note_sign_checkpoint(&cp, log_name, log_sk, buf, len, &len2), ERR_OK);
    cr_assert_eq(len2, len);
    cr_assert_eq(note_sign_checkpoint(&cp, log_name, log_sk, buf, len - 1, &len2), ERR_MSGSIZE);
    cr_assert_eq(len2, 0);
    cr_assert_eq(note_sign_checkpoint(&cp, log_name, log_sk, NULL, 0, &len2), ERR_MSGSIZE);
    cr_assert_eq(len2, 0);
}

/* ---- base64 strictness: bytes 0x80-0xff --------------------------------------------------- */

/*
 * libsodium 1.0.18's sodium_base642bin decodes every byte from 0x80 to 0xff as if it were '/'
 * (value 63), and a note may carry such bytes as long as they form valid UTF-8. So "//" and
 * "\xc3\xbf" (U+00FF) would be two spellings of one root or one signature: the fields must be
 * refused unless every byte is of the base64 alphabet.
 */
#define B64_HIGH_PAIR "\xc3\xbf" /* two bytes >= 0x80 that libsodium 1.0.18 reads as "//" */

/* Replaces the 2 bytes at off in a note of *len bytes with B64_HIGH_PAIR (same length). */
static void
put_high_pair(uint8_t *buf, size_t len, size_t off)
{
    cr_assert_leq(off + 2, len);
    memcpy(buf + off, B64_HIGH_PAIR, 2);
}

/* A root line holding bytes >= 0x80, in valid UTF-8 and correctly signed, is malformed: the
 * note is refused by the parser (ERR_CORRUPT), whatever the sequence's length. */
Test(note, root_with_high_bytes_refused)
{
    static const char *const roots[] = {
        "AAAAAAAAAA" B64_HIGH_PAIR "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", /* 2-byte sequence */
        "AAAAAAAAAA\xe2\x80\x94"
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", /* 3-byte: em dash */
        "AAAAAAAAAA\xf0\x9f\x98\x80"
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",                              /* 4-byte */
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" B64_HIGH_PAIR "=", /* at the end */
        B64_HIGH_PAIR "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",    /* at the start */
    };
    char text[NOTE_SIZE_MAX];
    uint8_t buf[NOTE_SIZE_MAX];
    struct checkpoint cp;
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
        cr_assert_eq(strlen(roots[i]), 44, "root %zu is a root line's length", i);
        snprintf(text, sizeof text, "example.com/log\n1\n%s\n", roots[i]);
        size_t len = signed_note(text, buf, sizeof buf);
        cr_assert_eq(note_parse_checkpoint(buf, len, &cp), ERR_CORRUPT, "root %zu", i);
        cr_assert_eq(verify(buf, len, &cp), ERR_CORRUPT, "root %zu", i);
    }
    /* The same root spelled in the alphabet is fine: only the spelling was refused. */
    snprintf(text, sizeof text, "example.com/log\n1\n%s\n",
             "AAAAAAAAAA//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    size_t len = signed_note(text, buf, sizeof buf);
    cr_assert_eq(verify(buf, len, &cp), ERR_OK);
}

/* A signature line whose base64 holds bytes >= 0x80 is malformed. With a signature whose
 * base64 contains "//", replacing those two characters by B64_HIGH_PAIR would decode to the
 * very same signature: without the check, anyone could re-spell a signed note's signature
 * line and it would still verify. */
Test(note, signature_with_high_bytes_refused)
{
    uint8_t buf[NOTE_SIZE_MAX];
    size_t len = 0;
    struct checkpoint cp;
    struct checkpoint got;
    size_t at = 0;
    int found = 0;
    /* Ed25519 is deterministic: the first size whose signature's base64 holds "//" is always
     * the same one. About 2% of signatures do, so the bound is never reached. */
    for (uint64_t size = 0; size < 10000 && !found; size++) {
        test_checkpoint(&cp, log_name, size);
        sign_ok(&cp, buf, &len);
        size_t sig_b64 = len - 1 - 92; /* the base64 field of the one signature line */
        for (size_t i = sig_b64; i + 1 < len - 1; i++) {
            if (buf[i] == '/' && buf[i + 1] == '/') {
                at = i;
                found = 1;
                break;
            }
        }
    }
    cr_assert(found, "no signature with \"//\" in its base64");
    cr_assert_eq(verify(buf, len, &got), ERR_OK);
    put_high_pair(buf, len, at);
    cr_assert_eq(note_parse_checkpoint(buf, len, &got), ERR_CORRUPT);
    cr_assert_eq(verify(buf, len, &got), ERR_CORRUPT);

    /* Any other two characters of the signature, and the key id, likewise. */
    test_checkpoint(&cp, log_name, 7);
    sign_ok(&cp, buf, &len);
    size_t sig_b64 = len - 1 - 92;
    static const size_t offs[] = {0, 1, 5, 40, 89};
    for (size_t k = 0; k < sizeof offs / sizeof offs[0]; k++) {
        uint8_t copy[NOTE_SIZE_MAX];
        memcpy(copy, buf, len);
        put_high_pair(copy, len, sig_b64 + offs[k]);
        cr_assert_eq(note_parse_checkpoint(copy, len, &got), ERR_CORRUPT, "offset %zu", offs[k]);
        cr_assert_eq(verify(copy, len, &got), ERR_CORRUPT, "offset %zu", offs[k]);
    }
}

/* A verifier key whose base64 holds bytes >= 0x80 is refused, even where they would decode to
 * the right key (its base64 has "//", re-spelled). */
Test(note, verifier_key_with_high_bytes_refused)
{
    uint8_t seed[KEY_SEED_SIZE];
    uint8_t pk[KEY_PUBLIC_SIZE];
    uint8_t sk[KEY_SECRET_SIZE];
    char vkey[NOTE_VERIFIER_KEY_SIZE_MAX];
    char name[NOTE_ORIGIN_SIZE_MAX + 1];
    uint8_t got[KEY_PUBLIC_SIZE];
    char *pair = NULL;
    /* Deterministic seeds 0, 1, 2, ...: the first whose verifier key has "//". */
    for (unsigned s = 0; s < 100000 && pair == NULL; s++) {
        memset(seed, 0, sizeof seed);
        seed[0] = (uint8_t)s;
        seed[1] = (uint8_t)(s >> 8);
        seed[2] = (uint8_t)(s >> 16);
        cr_assert_eq(crypto_sign_seed_keypair(pk, sk, seed), 0);
        cr_assert_eq(note_verifier_key("example.com/k", pk, vkey, sizeof vkey), ERR_OK);
        pair = strstr(vkey + strlen("example.com/k+00000000+"), "//");
    }
    cr_assert_not_null(pair, "no verifier key with \"//\" in its base64");
    cr_assert_eq(note_verifier_key_parse(vkey, name, got), ERR_OK);
    memcpy(pair, B64_HIGH_PAIR, 2);
    cr_assert_eq(note_verifier_key_parse(vkey, name, got), ERR_INVAL);
}
