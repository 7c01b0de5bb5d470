/*
 * Enrolment request codec (proto/enroll.h). A request crosses a chat app or a QR code between a
 * village laptop and its hub, so the decoder trusts nothing: the length is bounded before
 * anything is decoded, the base64url and the protobuf must each be the one spelling this file
 * writes, and the signature must verify before any field is handed back. Each refusal has its
 * own sentence for `cdht cert issue`, none of which repeats the input.
 */
#include "enroll.h"

#include <sodium.h>
#include <string.h>

#include "cdht.pb-c.h"
#include "leaf.h" /* leaf_role_parse: the one list of role names */

/* The largest request enroll_encode can write: each field's tag byte, length varint and
 * largest value, in field order (key, unit, name, role, network, sig). */
#define ENROLL_BODY_SIZE_MAX                                                                       \
    ((2u + KEY_PUBLIC_SIZE) + (2u + UNIT_CODE_SIZE_MAX) + (3u + DEVICE_NAME_SIZE_MAX) +            \
     (2u + ENROLL_ROLE_SIZE_MAX) + (2u + UNIT_CODE_SIZE_MAX) + (2u + SIG_SIZE))
/* protobuf-c writes fields in number order, so the signature (field 15) is the last bytes of a
 * canonical encoding: tag 0x7a, length 0x40, then the 64 bytes. */
#define ENROLL_SIG_TAG 0x7au
#define ENROLL_SIG_FIELD_SIZE (2u + SIG_SIZE)
#define ENROLL_CONTEXT_LEN (sizeof ENROLL_SIG_CONTEXT - 1)

static_assert(ENROLL_PREFIX_LEN +
                      sodium_base64_ENCODED_LEN(ENROLL_BODY_SIZE_MAX,
                                                sodium_base64_VARIANT_URLSAFE_NO_PADDING) -
                      1 <=
                  ENROLL_TEXT_SIZE_MAX,
              "ENROLL_TEXT_SIZE_MAX holds the largest request");
static_assert(DEVICE_NAME_SIZE_MAX < 16384u, "a name's length is a 2-byte varint");
static_assert(UNIT_CODE_SIZE_MAX < 128u, "a unit's length is a 1-byte varint");
static_assert(SIG_SIZE < 128u, "the signature's length is the single byte 0x40");

/* UTF-8 of 1..max bytes without C0 control characters or DEL: the hub's terminal prints these
 * strings, and a certificate carries them into every replica (proto/leaf.c applies the same
 * rule to a certificate's unit and name). */
static int
enroll_text_ok(const char *s, size_t max)
{
    return leaf_text_check(s, max) == LEAF_TEXT_OK;
}

/* The field rules both directions share. 0 when fine, else *why is set. */
static int
enroll_fields_ok(const char *unit, const char *name, const char *role, const char *network,
                 const char **why)
{
    if (!enroll_text_ok(unit, UNIT_CODE_SIZE_MAX)) {
        *why = "the request's unit is empty, longer than 32 bytes, or not printable UTF-8";
        return 0;
    }
    if (name != NULL && !enroll_text_ok(name, DEVICE_NAME_SIZE_MAX)) {
        *why = "the request's device name is empty, longer than 128 bytes, or not printable "
               "UTF-8";
        return 0;
    }
    if (role != NULL && leaf_role_parse(role) == 0) {
        *why = "the request's role is not writer, approver, hub, auditor or reporter";
        return 0;
    }
    if (!enroll_text_ok(network, UNIT_CODE_SIZE_MAX)) {
        *why = "the request's network is empty, longer than 32 bytes, or not printable UTF-8";
        return 0;
    }
    return 1;
}

/* Encodes req with sig into body (ENROLL_BODY_SIZE_MAX bytes). Fields must have been checked. */
static size_t
enroll_pack(const struct enroll_request *req, const uint8_t sig[SIG_SIZE],
            uint8_t body[ENROLL_BODY_SIZE_MAX])
{
    Cdht__EnrollRequest m = CDHT__ENROLL_REQUEST__INIT;
    m.key.data = (uint8_t *)req->key;
    m.key.len = KEY_PUBLIC_SIZE;
    m.unit = (char *)req->unit;
    m.name = req->name[0] != '\0' ? (char *)req->name : NULL;
    m.role = req->role[0] != '\0' ? (char *)req->role : NULL;
    m.network = (char *)req->network;
    m.sig.data = (uint8_t *)sig;
    m.sig.len = SIG_SIZE;
    size_t n = cdht__enroll_request__get_packed_size(&m);
    ASSERT(n <= ENROLL_BODY_SIZE_MAX);
    ASSERT(n > ENROLL_SIG_FIELD_SIZE);
    size_t k = cdht__enroll_request__pack(&m, body);
    ASSERT(k == n);
    ASSERT(body[n - ENROLL_SIG_FIELD_SIZE] == ENROLL_SIG_TAG);
    return n;
}

/* The signed message: the context string, then the body without its signature field. */
static size_t
enroll_signed_bytes(const uint8_t *body, size_t body_len,
                    uint8_t msg[ENROLL_CONTEXT_LEN + ENROLL_BODY_SIZE_MAX])
{
    ASSERT(body_len > ENROLL_SIG_FIELD_SIZE);
    ASSERT(body_len <= ENROLL_BODY_SIZE_MAX);
    size_t n = body_len - ENROLL_SIG_FIELD_SIZE;
    memcpy(msg, ENROLL_SIG_CONTEXT, ENROLL_CONTEXT_LEN);
    memcpy(msg + ENROLL_CONTEXT_LEN, body, n);
    return ENROLL_CONTEXT_LEN + n;
}

static void
enroll_text(const uint8_t *body, size_t body_len, char out[ENROLL_TEXT_SIZE_MAX + 1], size_t *len)
{
    memcpy(out, ENROLL_PREFIX, ENROLL_PREFIX_LEN);
    sodium_bin2base64(out + ENROLL_PREFIX_LEN, ENROLL_TEXT_SIZE_MAX + 1 - ENROLL_PREFIX_LEN, body,
                      body_len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    *len = strlen(out);
    ASSERT(*len <= ENROLL_TEXT_SIZE_MAX);
}

static int
enroll_request_ok(const struct enroll_request *req, const char **why)
{
    /* The struct's arrays bound every field; an unterminated one is a caller's bug. */
    ASSERT(memchr(req->unit, '\0', sizeof req->unit) != NULL);
    ASSERT(memchr(req->name, '\0', sizeof req->name) != NULL);
    ASSERT(memchr(req->role, '\0', sizeof req->role) != NULL);
    ASSERT(memchr(req->network, '\0', sizeof req->network) != NULL);
    return enroll_fields_ok(req->unit, req->name[0] != '\0' ? req->name : NULL,
                            req->role[0] != '\0' ? req->role : NULL, req->network, why);
}

err_code
enroll_format(const struct enroll_request *req, char out[ENROLL_TEXT_SIZE_MAX + 1], size_t *len,
              const char **why)
{
    uint8_t body[ENROLL_BODY_SIZE_MAX];
    *len = 0;
    out[0] = '\0';
    if (!enroll_request_ok(req, why)) {
        return ERR_INVAL;
    }
    size_t n = enroll_pack(req, req->sig, body);
    enroll_text(body, n, out, len);
    return ERR_OK;
}

err_code
enroll_encode(const struct enroll_request *req, const uint8_t sk[KEY_SECRET_SIZE],
              char out[ENROLL_TEXT_SIZE_MAX + 1], size_t *len, const char **why)
{
    static const uint8_t zero_sig[SIG_SIZE];
    uint8_t body[ENROLL_BODY_SIZE_MAX];
    uint8_t msg[ENROLL_CONTEXT_LEN + ENROLL_BODY_SIZE_MAX];
    *len = 0;
    out[0] = '\0';
    if (!enroll_request_ok(req, why)) {
        return ERR_INVAL;
    }
    /* libsodium's secret key ends with its public key: a request signed by another key than
     * the one it names would only be refused at the hub. */
    ASSERT(sodium_memcmp(sk + KEY_SEED_SIZE, req->key, KEY_PUBLIC_SIZE) == 0);
    size_t n = enroll_pack(req, zero_sig, body);
    size_t m = enroll_signed_bytes(body, n, msg);
    if (crypto_sign_detached(body + n - SIG_SIZE, NULL, msg, m, sk) != 0) {
        return ERR_INVAL; /* libsodium documents no failure for Ed25519 signing */
    }
    enroll_text(body, n, out, len);
    return ERR_OK;
}

/* Copies a checked string into a struct field of size cap (the check bounded its length). */
static void
enroll_copy(char *dst, size_t cap, const char *src)
{
    size_t n = src != NULL ? strlen(src) : 0;
    ASSERT(n < cap);
    memcpy(dst, src != NULL ? src : "", n);
    dst[n] = '\0';
}

err_code
enroll_decode(const char *text, size_t len, struct enroll_request *out, const char **why)
{
    static const uint8_t b64ok[256] = {
#define X(c) [c] = 1
        X('A'), X('B'), X('C'), X('D'), X('E'), X('F'), X('G'), X('H'), X('I'), X('J'), X('K'),
        X('L'), X('M'), X('N'), X('O'), X('P'), X('Q'), X('R'), X('S'), X('T'), X('U'), X('V'),
        X('W'), X('X'), X('Y'), X('Z'), X('a'), X('b'), X('c'), X('d'), X('e'), X('f'), X('g'),
        X('h'), X('i'), X('j'), X('k'), X('l'), X('m'), X('n'), X('o'), X('p'), X('q'), X('r'),
        X('s'), X('t'), X('u'), X('v'), X('w'), X('x'), X('y'), X('z'), X('0'), X('1'), X('2'),
        X('3'), X('4'), X('5'), X('6'), X('7'), X('8'), X('9'), X('-'), X('_'),
#undef X
    };
    uint8_t body[ENROLL_TEXT_SIZE_MAX];
    uint8_t msg[ENROLL_CONTEXT_LEN + ENROLL_BODY_SIZE_MAX];
    char again[ENROLL_TEXT_SIZE_MAX + 1];
    size_t body_len = 0, again_len = 0;
    Cdht__EnrollRequest *m = NULL;
    err_code rc = ERR_CORRUPT;

    memset(out, 0, sizeof *out);
    *why = NULL;
    if (len == 0) {
        *why = "the request is empty";
        return ERR_CORRUPT;
    }
    if (len > ENROLL_TEXT_SIZE_MAX) {
        *why = "the request is longer than any enrolment request (512 characters)";
        return ERR_MSGSIZE;
    }
    if (len < ENROLL_PREFIX_LEN || memcmp(text, ENROLL_PREFIX, ENROLL_PREFIX_LEN) != 0) {
        *why = "the request does not start with cdht-enroll1:";
        return ERR_CORRUPT;
    }
    /* libsodium 1.0.18 maps bytes 0x80-0xff to '/' when decoding: check the alphabet here. */
    const char *b = text + ENROLL_PREFIX_LEN;
    size_t b_len = len - ENROLL_PREFIX_LEN;
    for (size_t i = 0; i < b_len; i++) {
        if (!b64ok[(uint8_t)b[i]]) {
            *why = "the request is not base64url after cdht-enroll1: (a character was changed, "
                   "or padding or spaces were added)";
            return ERR_CORRUPT;
        }
    }
    const char *end = NULL;
    if (b_len == 0 ||
        sodium_base642bin(body, sizeof body, b, b_len, NULL, &body_len, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        end != b + b_len) {
        *why = "the request's base64url does not decode (cut short or extended)";
        return ERR_CORRUPT;
    }
    if (body_len > ENROLL_BODY_SIZE_MAX) {
        *why = "the request holds more bytes than any enrolment request";
        return ERR_MSGSIZE;
    }
    /* The body is at most ENROLL_BODY_SIZE_MAX bytes: protobuf-c's allocations are bounded by
     * a small multiple of that. */
    m = cdht__enroll_request__unpack(NULL, body_len, body);
    if (m == NULL) {
        *why = "the request's fields do not decode (cut short, damaged, or a field missing)";
        return ERR_CORRUPT;
    }
    /* Unknown fields would be signed but never read; field 0 cannot even be re-encoded
     * (proto/leaf.c). A request has no room for a newer version's fields: refuse them all. */
    if (m->base.n_unknown_fields > 0) {
        *why = "the request has a field this version does not know";
        goto out;
    }
    if (m->key.len != KEY_PUBLIC_SIZE) {
        *why = "the request's key is not 32 bytes";
        goto out;
    }
    if (!enroll_fields_ok(m->unit, m->name, m->role, m->network, why)) {
        goto out;
    }
    if (m->sig.len != SIG_SIZE) {
        *why = "the request's signature is not 64 bytes";
        goto out;
    }
    memcpy(out->key, m->key.data, KEY_PUBLIC_SIZE);
    enroll_copy(out->unit, sizeof out->unit, m->unit);
    enroll_copy(out->name, sizeof out->name, m->name);
    enroll_copy(out->role, sizeof out->role, m->role);
    enroll_copy(out->network, sizeof out->network, m->network);
    memcpy(out->sig, m->sig.data, SIG_SIZE);
    /* One spelling: the bytes (and the text) must be what enroll_format writes for these
     * fields. This refuses fields out of order, duplicates, other varint or wire forms and a
     * string cut by a NUL, and it makes the signed bytes (the body less its last
     * ENROLL_SIG_FIELD_SIZE bytes) exactly the input's. */
    if (enroll_format(out, again, &again_len, why) != ERR_OK) {
        goto out; /* cannot happen: the fields were checked above */
    }
    if (again_len != len || memcmp(again, text, len) != 0) {
        *why = "the request is not in canonical form (re-encoding it gives other bytes)";
        goto out;
    }
    size_t msg_len = enroll_signed_bytes(body, body_len, msg);
    if (crypto_sign_verify_detached(out->sig, msg, msg_len, out->key) != 0) {
        *why = "the request's signature does not verify (altered, or not made with its key)";
        rc = ERR_AUTH;
        goto out;
    }
    rc = ERR_OK;
out:
    cdht__enroll_request__free_unpacked(m, NULL);
    if (rc != ERR_OK) {
        memset(out, 0, sizeof *out);
    }
    return rc;
}
