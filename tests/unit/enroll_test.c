/*
 * Unit tests for proto/enroll.c, the enrolment request a hub pastes from a chat message: the
 * encode/decode round trip (full, minimal, largest), then each refusal with its exact code and
 * sentence, built from protobuf bytes signed here with the same context string so that only the
 * one thing under test is wrong: size limits, prefix, base64url strictness, protobuf damage,
 * unknown fields, every field rule, the signature (also over another network), and the
 * re-encoding check that refuses validly signed non-canonical bytes.
 */
#include <criterion/criterion.h>

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "cdht.pb-c.h"
#include "enroll.h"

TestSuite(enroll);

#define T_CONTEXT_LEN 14u /* "cdht-enroll/1\n", restated to check the format itself */
#define T_SIG_FIELD 66u   /* tag 0x7a, length 0x40, 64 bytes */
#define T_BUF 2048u

static uint8_t t_pk[KEY_PUBLIC_SIZE], t_sk[KEY_SECRET_SIZE];

static void
t_keys(void)
{
    uint8_t seed[KEY_SEED_SIZE];
    cr_assert_geq(sodium_init(), 0);
    memset(seed, 7, sizeof seed);
    crypto_sign_seed_keypair(t_pk, t_sk, seed);
}

/* The message every test starts from, then changes one field of. */
static void
t_msg(Cdht__EnrollRequest *m)
{
    Cdht__EnrollRequest init = CDHT__ENROLL_REQUEST__INIT;
    *m = init;
    m->key.data = t_pk;
    m->key.len = KEY_PUBLIC_SIZE;
    m->unit = "44001-V1";
    m->name = "Thon 3 - laptop 2";
    m->role = "writer";
    m->network = "cdht";
}

/* Signs body in place: its last 64 bytes get the signature over the context and everything
 * before the signature field. */
static void
t_sign(uint8_t *body, size_t n)
{
    uint8_t msg[T_BUF];
    cr_assert_gt(n, T_SIG_FIELD);
    memcpy(msg, "cdht-enroll/1\n", T_CONTEXT_LEN);
    memcpy(msg + T_CONTEXT_LEN, body, n - T_SIG_FIELD);
    crypto_sign_detached(body + n - SIG_SIZE, NULL, msg, T_CONTEXT_LEN + n - T_SIG_FIELD, t_sk);
}

/* Packs m with a 64-byte signature field (zeros; signed when sign). Returns the length. */
static size_t
t_pack(Cdht__EnrollRequest *m, uint8_t *body, int sign)
{
    static uint8_t zero[SIG_SIZE];
    if (m->sig.data == NULL) {
        m->sig.data = zero;
        m->sig.len = SIG_SIZE;
    }
    size_t n = cdht__enroll_request__pack(m, body);
    cr_assert_lt(n, T_BUF);
    if (sign) {
        t_sign(body, n);
    }
    return n;
}

/* The text of body: prefix + unpadded base64url. */
static size_t
t_text(const uint8_t *body, size_t n, char *out)
{
    memcpy(out, "cdht-enroll1:", 13);
    sodium_bin2base64(out + 13, 4 * T_BUF - 13, body, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return strlen(out);
}

/* Decodes text and asserts the exact code and sentence. */
static void
t_refused(const char *text, size_t len, err_code want, const char *why_want)
{
    struct enroll_request r, zero;
    const char *why = NULL;
    memset(&zero, 0, sizeof zero);
    memset(&r, 0xa5, sizeof r);
    cr_assert_eq(enroll_decode(text, len, &r, &why), want);
    cr_assert_not_null(why);
    cr_assert_str_eq(why, why_want);
    cr_assert_eq(memcmp(&r, &zero, sizeof r), 0, "request zeroed on refusal");
}

/* Packs m signed, and asserts the exact refusal of its text. */
static void
t_refused_msg(Cdht__EnrollRequest *m, err_code want, const char *why_want)
{
    uint8_t body[T_BUF];
    char text[4 * T_BUF];
    size_t n = t_pack(m, body, 1);
    size_t len = t_text(body, n, text);
    t_refused(text, len, want, why_want);
}

/* A valid text from enroll_encode. */
static size_t
t_valid(char text[ENROLL_TEXT_SIZE_MAX + 1], struct enroll_request *req)
{
    const char *why = NULL;
    size_t len = 0;
    memset(req, 0, sizeof *req);
    memcpy(req->key, t_pk, KEY_PUBLIC_SIZE);
    strcpy(req->unit, "44001-V1");
    strcpy(req->name, "Thon 3 - laptop 2");
    strcpy(req->role, "writer");
    strcpy(req->network, "cdht");
    cr_assert_eq(enroll_encode(req, t_sk, text, &len, &why), ERR_OK);
    return len;
}

/* ---- round trips ---------------------------------------------------------------------------- */

/* What enroll_encode writes decodes to the same fields, with a verified signature, and is the
 * same text a hand-built protobuf signed by the documented rule gives (the format, not just
 * agreement with itself). */
Test(enroll, round_trip, .init = t_keys)
{
    char text[ENROLL_TEXT_SIZE_MAX + 1];
    struct enroll_request req, got;
    const char *why = NULL;
    size_t len = t_valid(text, &req);
    cr_assert_eq(strncmp(text, "cdht-enroll1:", 13), 0);
    cr_assert_eq(len, strlen(text));
    cr_assert_lt(len, 300u, "fits a chat message and a small QR code");
    cr_assert_eq(enroll_decode(text, len, &got, &why), ERR_OK);
    cr_assert_eq(memcmp(got.key, t_pk, KEY_PUBLIC_SIZE), 0);
    cr_assert_str_eq(got.unit, "44001-V1");
    cr_assert_str_eq(got.name, "Thon 3 - laptop 2");
    cr_assert_str_eq(got.role, "writer");
    cr_assert_str_eq(got.network, "cdht");

    Cdht__EnrollRequest m;
    uint8_t body[T_BUF];
    char hand[4 * T_BUF];
    t_msg(&m);
    size_t n = t_pack(&m, body, 1);
    cr_assert_eq(t_text(body, n, hand), len);
    cr_assert_str_eq(hand, text);
    cr_assert_eq(memcmp(got.sig, body + n - SIG_SIZE, SIG_SIZE), 0);
}

/* Without name and role both come back as "". */
Test(enroll, round_trip_minimal, .init = t_keys)
{
    struct enroll_request req, got;
    char text[ENROLL_TEXT_SIZE_MAX + 1];
    const char *why = NULL;
    size_t len = 0;
    memset(&req, 0, sizeof req);
    memcpy(req.key, t_pk, KEY_PUBLIC_SIZE);
    strcpy(req.unit, "44");
    strcpy(req.network, "cdht");
    cr_assert_eq(enroll_encode(&req, t_sk, text, &len, &why), ERR_OK);
    cr_assert_eq(enroll_decode(text, len, &got, &why), ERR_OK);
    cr_assert_str_eq(got.name, "");
    cr_assert_str_eq(got.role, "");
    cr_assert_str_eq(got.unit, "44");
}

/* The largest request (every field at its limit) fits ENROLL_TEXT_SIZE_MAX and decodes. */
Test(enroll, largest_fits, .init = t_keys)
{
    struct enroll_request req, got;
    char text[ENROLL_TEXT_SIZE_MAX + 1];
    const char *why = NULL;
    size_t len = 0;
    memset(&req, 0, sizeof req);
    memcpy(req.key, t_pk, KEY_PUBLIC_SIZE);
    memset(req.unit, 'u', UNIT_CODE_SIZE_MAX);
    memset(req.name, 'n', DEVICE_NAME_SIZE_MAX);
    memset(req.network, 'w', UNIT_CODE_SIZE_MAX);
    strcpy(req.role, "approver");
    cr_assert_eq(enroll_encode(&req, t_sk, text, &len, &why), ERR_OK);
    cr_assert_leq(len, ENROLL_TEXT_SIZE_MAX);
    cr_assert_eq(len, 425u, "the size limits.h states");
    cr_assert_eq(enroll_decode(text, len, &got, &why), ERR_OK);
    cr_assert_eq(memcmp(&req.unit, &got.unit, sizeof req.unit), 0);
}

/* enroll_encode refuses to write what enroll_decode would refuse. */
Test(enroll, encode_refuses_bad_fields, .init = t_keys)
{
    struct enroll_request req;
    char text[ENROLL_TEXT_SIZE_MAX + 1];
    const char *why = NULL;
    size_t len = 0;
    t_valid(text, &req);
    strcpy(req.role, "root");
    cr_assert_eq(enroll_encode(&req, t_sk, text, &len, &why), ERR_INVAL);
    cr_assert_str_eq(why, "the request's role is not writer, approver, hub, auditor or reporter");
    cr_assert_eq(len, 0u);
    t_valid(text, &req);
    req.unit[0] = '\0';
    cr_assert_eq(enroll_encode(&req, t_sk, text, &len, &why), ERR_INVAL);
    t_valid(text, &req);
    strcpy(req.network, "a\tb");
    cr_assert_eq(enroll_encode(&req, t_sk, text, &len, &why), ERR_INVAL);
}

/* ---- size and text -------------------------------------------------------------------------- */

Test(enroll, refuses_empty_and_oversize, .init = t_keys)
{
    char big[ENROLL_TEXT_SIZE_MAX + 2];
    memcpy(big, "cdht-enroll1:", 13);
    memset(big + 13, 'A', sizeof big - 13);
    t_refused("", 0, ERR_CORRUPT, "the request is empty");
    t_refused(big, ENROLL_TEXT_SIZE_MAX + 1, ERR_MSGSIZE,
              "the request is longer than any enrolment request (512 characters)");
    /* At the limit the text is read, but its body is larger than any request. */
    t_refused(big, ENROLL_TEXT_SIZE_MAX, ERR_MSGSIZE,
              "the request holds more bytes than any enrolment request");
}

Test(enroll, refuses_wrong_prefix, .init = t_keys)
{
    char text[ENROLL_TEXT_SIZE_MAX + 1];
    struct enroll_request req;
    size_t len = t_valid(text, &req);
    const char *w = "the request does not start with cdht-enroll1:";
    text[11] = '2'; /* cdht-enroll2: */
    t_refused(text, len, ERR_CORRUPT, w);
    t_refused(text + 1, len - 1, ERR_CORRUPT, w);
    t_refused("cdht-enroll1", 12, ERR_CORRUPT, w);
    t_valid(text, &req);
    text[0] = 'C';
    t_refused(text, len, ERR_CORRUPT, w);
}

Test(enroll, refuses_bad_base64, .init = t_keys)
{
    char text[ENROLL_TEXT_SIZE_MAX + 8];
    struct enroll_request req;
    size_t len = t_valid(text, &req);
    const char *alpha = "the request is not base64url after cdht-enroll1: (a character was "
                        "changed, or padding or spaces were added)";
    const char *dec = "the request's base64url does not decode (cut short or extended)";
    char x[sizeof text];
    memcpy(x, text, len + 1);
    x[20] = '+'; /* standard base64, not base64url */
    t_refused(x, len, ERR_CORRUPT, alpha);
    memcpy(x, text, len + 1);
    x[20] = (char)0xc1; /* libsodium 1.0.18 would read this as '/' */
    t_refused(x, len, ERR_CORRUPT, alpha);
    memcpy(x, text, len + 1);
    strcat(x, "=");
    t_refused(x, len + 1, ERR_CORRUPT, alpha);
    memcpy(x, text, len + 1);
    strcat(x, "\n");
    t_refused(x, len + 1, ERR_CORRUPT, alpha);
    t_refused(text, 13, ERR_CORRUPT, dec); /* prefix only */
    /* A length of 1 mod 4 cannot be base64. */
    size_t cut = len;
    while ((cut - 13) % 4 != 1) {
        cut--;
    }
    t_refused(text, cut, ERR_CORRUPT, dec);
    /* Non-zero bits after the last byte: a second spelling of the same bytes. */
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    cr_assert_neq((len - 13) % 4, 0u, "the valid text ends in a partial group");
    memcpy(x, text, len + 1);
    x[len - 1] = al[(strchr(al, x[len - 1]) - al) ^ 1];
    t_refused(x, len, ERR_CORRUPT, dec);
}

/* Every proper prefix of a valid text is refused (and never crashes). */
Test(enroll, refuses_every_truncation, .init = t_keys)
{
    char text[ENROLL_TEXT_SIZE_MAX + 1];
    struct enroll_request req, got;
    size_t len = t_valid(text, &req);
    for (size_t n = 0; n < len; n++) {
        const char *why = NULL;
        err_code rc = enroll_decode(text, n, &got, &why);
        cr_assert(rc == ERR_CORRUPT, "prefix of %zu bytes: %d", n, rc);
        cr_assert_not_null(why);
    }
}

/* ---- protobuf ------------------------------------------------------------------------------- */

Test(enroll, refuses_undecodable_fields, .init = t_keys)
{
    Cdht__EnrollRequest m;
    uint8_t body[T_BUF], c[T_BUF];
    char text[4 * T_BUF];
    const char *w = "the request's fields do not decode (cut short, damaged, or a field missing)";
    t_msg(&m);
    m.name = NULL;
    size_t n = t_pack(&m, body, 0);
    /* Without network (field 5, at 52..57: key 34, unit 10, role 8), which is required. */
    memcpy(c, body, 52);
    memcpy(c + 52, body + 58, T_SIG_FIELD);
    t_sign(c, n - 6);
    t_refused(text, t_text(c, n - 6, text), ERR_CORRUPT, w);
    /* A length running past the end. */
    memcpy(c, body, n);
    c[1] = 0x7f;
    t_refused(text, t_text(c, n, text), ERR_CORRUPT, w);
    /* Field number 0 (tag byte 0x00) before the signature. */
    memcpy(c, body, n - T_SIG_FIELD);
    c[n - T_SIG_FIELD] = 0x00;
    c[n - T_SIG_FIELD + 1] = 0x00;
    memcpy(c + n - T_SIG_FIELD + 2, body + n - T_SIG_FIELD, T_SIG_FIELD);
    t_sign(c, n + 2);
    t_refused(text, t_text(c, n + 2, text), ERR_CORRUPT, w);
}

/* An unknown field is signed but never read: refused, even with a valid signature. */
Test(enroll, refuses_unknown_field, .init = t_keys)
{
    Cdht__EnrollRequest m;
    uint8_t body[T_BUF], c[T_BUF];
    char text[4 * T_BUF];
    t_msg(&m);
    size_t n = t_pack(&m, body, 0), pre = n - T_SIG_FIELD;
    memcpy(c, body, pre);
    c[pre] = 0x32; /* field 6, length-delimited */
    c[pre + 1] = 1;
    c[pre + 2] = 'x';
    memcpy(c + pre + 3, body + pre, T_SIG_FIELD);
    t_sign(c, n + 3);
    t_refused(text, t_text(c, n + 3, text), ERR_CORRUPT,
              "the request has a field this version does not know");
}

Test(enroll, refuses_key_not_32, .init = t_keys)
{
    Cdht__EnrollRequest m;
    const char *w = "the request's key is not 32 bytes";
    t_msg(&m);
    m.key.len = 31;
    t_refused_msg(&m, ERR_CORRUPT, w);
    t_msg(&m);
    m.key.len = 0;
    t_refused_msg(&m, ERR_CORRUPT, w);
    uint8_t k33[33] = {0};
    t_msg(&m);
    m.key.data = k33;
    m.key.len = 33;
    t_refused_msg(&m, ERR_CORRUPT, w);
}

Test(enroll, refuses_bad_unit, .init = t_keys)
{
    Cdht__EnrollRequest m;
    char u33[UNIT_CODE_SIZE_MAX + 2];
    const char *w = "the request's unit is empty, longer than 32 bytes, or not printable UTF-8";
    t_msg(&m);
    m.unit = "";
    t_refused_msg(&m, ERR_CORRUPT, w);
    t_msg(&m);
    m.unit = "44\001001";
    t_refused_msg(&m, ERR_CORRUPT, w);
    t_msg(&m);
    m.unit = "44\x7f";
    t_refused_msg(&m, ERR_CORRUPT, w);
    t_msg(&m);
    m.unit = "\xc3\x28";
    t_refused_msg(&m, ERR_CORRUPT, w);
    memset(u33, 'u', UNIT_CODE_SIZE_MAX + 1);
    u33[UNIT_CODE_SIZE_MAX + 1] = '\0';
    t_msg(&m);
    m.unit = u33;
    m.name = NULL;
    t_refused_msg(&m, ERR_CORRUPT, w);
}

Test(enroll, refuses_bad_name, .init = t_keys)
{
    Cdht__EnrollRequest m;
    char n129[DEVICE_NAME_SIZE_MAX + 2];
    const char *w = "the request's device name is empty, longer than 128 bytes, or not printable "
                    "UTF-8";
    t_msg(&m);
    m.name = "";
    t_refused_msg(&m, ERR_CORRUPT, w);
    t_msg(&m);
    m.name = "laptop\n2";
    t_refused_msg(&m, ERR_CORRUPT, w);
    memset(n129, 'n', DEVICE_NAME_SIZE_MAX + 1);
    n129[DEVICE_NAME_SIZE_MAX + 1] = '\0';
    t_msg(&m);
    m.name = n129;
    t_refused_msg(&m, ERR_CORRUPT, w);
    n129[DEVICE_NAME_SIZE_MAX] = '\0'; /* at the limit: accepted */
    uint8_t body[T_BUF];
    char text[4 * T_BUF];
    struct enroll_request got;
    const char *why = NULL;
    size_t len = t_text(body, t_pack(&m, body, 1), text);
    cr_assert_eq(enroll_decode(text, len, &got, &why), ERR_OK);
}

Test(enroll, refuses_bad_role_and_network, .init = t_keys)
{
    Cdht__EnrollRequest m;
    t_msg(&m);
    m.role = "root";
    t_refused_msg(&m, ERR_CORRUPT, "the request's role is not writer, approver, hub, auditor or reporter");
    t_msg(&m);
    m.role = "Writer";
    t_refused_msg(&m, ERR_CORRUPT, "the request's role is not writer, approver, hub, auditor or reporter");
    t_msg(&m);
    m.network = "";
    t_refused_msg(&m, ERR_CORRUPT,
                  "the request's network is empty, longer than 32 bytes, or not printable UTF-8");
}

Test(enroll, refuses_sig_not_64, .init = t_keys)
{
    Cdht__EnrollRequest m;
    uint8_t sig63[63] = {0};
    t_msg(&m);
    m.sig.data = sig63;
    m.sig.len = 63;
    uint8_t body[T_BUF];
    char text[4 * T_BUF];
    size_t n = cdht__enroll_request__pack(&m, body);
    t_refused(text, t_text(body, n, text), ERR_CORRUPT, "the request's signature is not 64 bytes");
}

/* ---- signature and canonical form ----------------------------------------------------------- */

Test(enroll, refuses_bad_signature, .init = t_keys)
{
    Cdht__EnrollRequest m;
    uint8_t body[T_BUF];
    char text[4 * T_BUF];
    const char *w = "the request's signature does not verify (altered, or not made with its key)";
    t_msg(&m);
    size_t n = t_pack(&m, body, 1);
    body[n - 1] ^= 1;
    t_refused(text, t_text(body, n, text), ERR_AUTH, w);
    /* Another key in the request: the signature does not verify with it. */
    body[n - 1] ^= 1;
    body[2] ^= 1;
    t_refused(text, t_text(body, n, text), ERR_AUTH, w);
}

/* A request signed for one network and rewritten to name another is refused: the network is
 * under the signature. */
Test(enroll, refuses_signature_over_other_network, .init = t_keys)
{
    Cdht__EnrollRequest m;
    uint8_t body[T_BUF];
    char text[4 * T_BUF];
    t_msg(&m);
    m.network = "cdht";
    size_t n = t_pack(&m, body, 1);
    /* key 34 | unit 10 | name 19 | role 8 | network: tag, length, then "cdht" at 73. */
    cr_assert_eq(memcmp(body + 73, "cdht", 4), 0);
    memcpy(body + 73, "cdhx", 4);
    t_refused(text, t_text(body, n, text), ERR_AUTH,
              "the request's signature does not verify (altered, or not made with its key)");
}

/* Validly signed bytes that protobuf-c decodes but would not write (fields out of order, a
 * field twice) are refused: what is verified is exactly what is shown and certified. */
Test(enroll, refuses_noncanonical, .init = t_keys)
{
    Cdht__EnrollRequest m;
    uint8_t body[T_BUF], c[T_BUF];
    char text[4 * T_BUF];
    const char *w = "the request is not in canonical form (re-encoding it gives other bytes)";
    t_msg(&m);
    m.name = NULL;
    size_t n = t_pack(&m, body, 0);
    /* key 34 | unit 10 | role 8 | network 6 | sig 66: swap role and network. */
    memcpy(c, body, 44);
    memcpy(c + 44, body + 52, 6);
    memcpy(c + 50, body + 44, 8);
    memcpy(c + 58, body + 58, n - 58);
    t_sign(c, n);
    t_refused(text, t_text(c, n, text), ERR_CORRUPT, w);
    /* The unit twice (protobuf-c keeps the last). */
    memcpy(c, body, 44);
    memcpy(c + 44, body + 34, n - 34);
    t_sign(c, n + 10);
    t_refused(text, t_text(c, n + 10, text), ERR_CORRUPT, w);
    /* A string cut by a NUL: "44001-V1" spelled "44\0..." keeps its length on the wire. */
    memcpy(c, body, n);
    c[34 + 2 + 2] = '\0';
    t_sign(c, n);
    t_refused(text, t_text(c, n, text), ERR_CORRUPT, w);
}
