/*
 * Witness cosignatures in C2SP tlog-cosignature v1 form (format in cosig.h): the message a
 * witness signs, its signature line, and the strict parser node/exchange.c runs on every
 * cosignature a bundle carries. Bounded, allocation-free, one forward pass; libsodium must have
 * been initialised by the program.
 */
#include "cosig.h"

#include <sodium.h>
#include <string.h>

/* U+2014 EM DASH and a space open every note signature line (signed-note). */
static const uint8_t cosig_dash[] = {0xe2, 0x80, 0x94, ' '};
static const char cosig_header[] = "cosignature/v1\ntime ";

static_assert(COSIG_BLOB_B64_LEN + 1 ==
                  sodium_base64_ENCODED_LEN(COSIG_BLOB_SIZE, sodium_base64_VARIANT_ORIGINAL),
              "signature blob base64 length");
static_assert(sizeof cosig_dash == 4, "the line prefix is 4 bytes");

static void
cosig_put_u64(uint8_t p[8], uint64_t v)
{
    for (unsigned i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (56 - 8 * i));
    }
}

static uint64_t
cosig_get_u64(const uint8_t p[8])
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

/* A key name cdht writes and reads: 1..NOTE_ORIGIN_SIZE_MAX bytes of printable ASCII, no space
 * and no '+' (signed-note forbids both in key names). */
static int
cosig_name_ok(const char *p, size_t len)
{
    if (len == 0 || len > NOTE_ORIGIN_SIZE_MAX) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch <= 0x20 || ch >= 0x7f || ch == '+') {
            return 0;
        }
    }
    return 1;
}

void
cosig_key_id(const char *name, const uint8_t pk[KEY_PUBLIC_SIZE], uint8_t out[COSIG_KEY_ID_SIZE])
{
    crypto_hash_sha256_state h;
    uint8_t digest[crypto_hash_sha256_BYTES];
    const uint8_t nl_type[2] = {'\n', COSIG_SIG_TYPE};
    ASSERT(name != NULL);
    ASSERT(pk != NULL);
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, (const uint8_t *)name, strlen(name));
    crypto_hash_sha256_update(&h, nl_type, sizeof nl_type);
    crypto_hash_sha256_update(&h, pk, KEY_PUBLIC_SIZE);
    crypto_hash_sha256_final(&h, digest);
    memcpy(out, digest, COSIG_KEY_ID_SIZE);
}

/* Appends the decimal form of v. */
static size_t
cosig_put_dec(uint8_t *out, uint64_t v)
{
    char tmp[21];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++) {
        out[i] = (uint8_t)tmp[n - 1 - i];
    }
    return n;
}

err_code
cosig_message(const struct checkpoint *cp, uint64_t time_s, uint8_t out[COSIG_MESSAGE_SIZE_MAX],
              size_t *len)
{
    ASSERT(cp != NULL);
    ASSERT(len != NULL);
    size_t olen = strnlen(cp->origin, sizeof cp->origin);
    if (!cosig_name_ok(cp->origin, olen) || time_s > COSIG_TIME_S_MAX) {
        return ERR_INVAL;
    }
    size_t n = 0;
    memcpy(out, cosig_header, sizeof cosig_header - 1);
    n += sizeof cosig_header - 1;
    n += cosig_put_dec(out + n, time_s);
    out[n++] = '\n';
    memcpy(out + n, cp->origin, olen);
    n += olen;
    out[n++] = '\n';
    n += cosig_put_dec(out + n, cp->size);
    out[n++] = '\n';
    char root[COSIG_BLOB_B64_LEN];
    sodium_bin2base64(root, sizeof root, cp->root, HASH_SIZE, sodium_base64_VARIANT_ORIGINAL);
    memcpy(out + n, root, 44);
    n += 44;
    out[n++] = '\n';
    ASSERT(n <= COSIG_MESSAGE_SIZE_MAX);
    *len = n;
    return ERR_OK;
}

err_code
cosig_sign(const struct checkpoint *cp, uint64_t time_s, const char *name,
           const uint8_t sk[KEY_SECRET_SIZE], struct cosig *out)
{
    uint8_t msg[COSIG_MESSAGE_SIZE_MAX];
    size_t mlen = 0;
    ASSERT(name != NULL);
    ASSERT(sk != NULL);
    size_t nlen = strlen(name);
    if (!cosig_name_ok(name, nlen)) {
        return ERR_INVAL;
    }
    err_code rc = cosig_message(cp, time_s, msg, &mlen);
    if (rc != ERR_OK) {
        return rc;
    }
    memset(out, 0, sizeof *out);
    memcpy(out->name, name, nlen);
    /* libsodium's secret key is seed || public key: the key id needs the public half. */
    cosig_key_id(name, sk + KEY_SEED_SIZE, out->key_id);
    out->time_s = time_s;
    crypto_sign_detached(out->sig, NULL, msg, mlen, sk);
    return ERR_OK;
}

err_code
cosig_encode(const struct cosig *c, uint8_t out[COSIG_LINE_SIZE_MAX], size_t *len)
{
    ASSERT(c != NULL);
    size_t nlen = strnlen(c->name, sizeof c->name);
    if (!cosig_name_ok(c->name, nlen) || c->time_s > COSIG_TIME_S_MAX) {
        return ERR_INVAL;
    }
    uint8_t blob[COSIG_BLOB_SIZE];
    memcpy(blob, c->key_id, COSIG_KEY_ID_SIZE);
    cosig_put_u64(blob + COSIG_KEY_ID_SIZE, c->time_s);
    memcpy(blob + COSIG_KEY_ID_SIZE + 8, c->sig, SIG_SIZE);
    size_t n = 0;
    memcpy(out, cosig_dash, sizeof cosig_dash);
    n += sizeof cosig_dash;
    memcpy(out + n, c->name, nlen);
    n += nlen;
    out[n++] = ' ';
    char b64[COSIG_BLOB_B64_LEN + 1];
    sodium_bin2base64(b64, sizeof b64, blob, sizeof blob, sodium_base64_VARIANT_ORIGINAL);
    memcpy(out + n, b64, COSIG_BLOB_B64_LEN);
    n += COSIG_BLOB_B64_LEN;
    out[n++] = '\n';
    ASSERT(n <= COSIG_LINE_SIZE_MAX);
    *len = n;
    return ERR_OK;
}

err_code
cosig_parse(const uint8_t *line, size_t len, struct cosig *out)
{
    ASSERT(line != NULL || len == 0);
    ASSERT(out != NULL);
    memset(out, 0, sizeof *out);
    if (len > COSIG_LINE_SIZE_MAX) {
        return ERR_MSGSIZE;
    }
    /* prefix, at least one name byte, space, base64, newline */
    if (len < sizeof cosig_dash + 1 + 1 + COSIG_BLOB_B64_LEN + 1 ||
        memcmp(line, cosig_dash, sizeof cosig_dash) != 0 || line[len - 1] != '\n') {
        return ERR_CORRUPT_HERE;
    }
    size_t b64_off = len - 1 - COSIG_BLOB_B64_LEN;
    if (line[b64_off - 1] != ' ') {
        return ERR_CORRUPT_HERE;
    }
    const char *name = (const char *)line + sizeof cosig_dash;
    size_t nlen = b64_off - 1 - sizeof cosig_dash;
    if (!cosig_name_ok(name, nlen)) {
        return ERR_CORRUPT_HERE;
    }
    uint8_t blob[COSIG_BLOB_SIZE];
    size_t blen = 0;
    const char *end = NULL;
    if (sodium_base642bin(blob, sizeof blob, (const char *)line + b64_off, COSIG_BLOB_B64_LEN, NULL,
                          &blen, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        blen != sizeof blob || end != (const char *)line + b64_off + COSIG_BLOB_B64_LEN) {
        return ERR_CORRUPT_HERE;
    }
    /* One spelling per value: the padding bits must be zero, so re-encoding gives the input. */
    char again[COSIG_BLOB_B64_LEN + 1];
    sodium_bin2base64(again, sizeof again, blob, sizeof blob, sodium_base64_VARIANT_ORIGINAL);
    if (memcmp(again, line + b64_off, COSIG_BLOB_B64_LEN) != 0) {
        return ERR_CORRUPT_HERE;
    }
    uint64_t t = cosig_get_u64(blob + COSIG_KEY_ID_SIZE);
    if (t > COSIG_TIME_S_MAX) {
        return ERR_CORRUPT_HERE;
    }
    memcpy(out->name, name, nlen);
    out->name[nlen] = '\0';
    memcpy(out->key_id, blob, COSIG_KEY_ID_SIZE);
    out->time_s = t;
    memcpy(out->sig, blob + COSIG_KEY_ID_SIZE + 8, SIG_SIZE);
    return ERR_OK;
}

err_code
cosig_verify(const struct cosig *c, const struct checkpoint *cp, const char *name,
             const uint8_t pk[KEY_PUBLIC_SIZE])
{
    uint8_t id[COSIG_KEY_ID_SIZE];
    uint8_t msg[COSIG_MESSAGE_SIZE_MAX];
    size_t mlen = 0;
    ASSERT(c != NULL);
    ASSERT(name != NULL);
    if (strncmp(c->name, name, sizeof c->name) != 0) {
        return ERR_AUTH;
    }
    cosig_key_id(name, pk, id);
    if (sodium_memcmp(id, c->key_id, COSIG_KEY_ID_SIZE) != 0) {
        return ERR_AUTH;
    }
    if (cosig_message(cp, c->time_s, msg, &mlen) != ERR_OK) {
        return ERR_AUTH;
    }
    return crypto_sign_verify_detached(c->sig, msg, mlen, pk) == 0 ? ERR_OK : ERR_AUTH;
}
