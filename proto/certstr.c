/*
 * Certificate string codec and offline verifier (proto/certstr.h). The string crosses paper, a
 * phone camera and a chat app, so the decoder trusts nothing: the length is bounded before any
 * decoding, the base64url and every field must be the one spelling certstr_encode writes, and
 * the check bytes catch a misread character before any signature work. The verifier rebuilds
 * the C2SP checkpoint note the approver's device signed and hands it to proto/note.c, so the
 * string is accepted exactly when the record proof it was cut from would be.
 */
#include "certstr.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "cosig.h"
#include "leaf.h"
#include "merkle.h"
#include "note.h"
#include "proof.h"
#include "sha256.h"

/* Domain of the check bytes: never mistaken for any other hash cdht computes. */
#define CERTSTR_CHECK_CONTEXT "cdht-cert1\n"
/* A 64-bit varint takes at most 10 bytes. */
#define CERTSTR_VARINT_SIZE_MAX 10u
/* Decimal digits of UINT64_MAX. */
#define CERTSTR_U64_DIGITS_MAX 20u
/* "cdht/<64 hex>\n<20 digits>\n<44 base64>\n": the note body the log signed. */
#define CERTSTR_NOTE_BODY_SIZE_MAX (NOTE_LOG_NAME_SIZE + 1u + CERTSTR_U64_DIGITS_MAX + 1u + 45u)
/* The body plus the blank line and one signature line ("\u2014 " name " " 92 base64 "\n"). */
#define CERTSTR_NOTE_SIZE_MAX (CERTSTR_NOTE_BODY_SIZE_MAX + 1u + 4u + NOTE_LOG_NAME_SIZE + 94u)

static_assert(CERTSTR_NOTE_SIZE_MAX <= NOTE_SIZE_MAX, "a rebuilt note is one note.c accepts");
static_assert(CERT_STRING_SIZE_MAX > CERTSTR_PREFIX_LEN, "room for a body");
static_assert(CERTSTR_BODY_SIZE_MAX <= LEAF_SIZE_MAX, "a carried leaf is a leaf");
static_assert(PROOF_CHAIN_MAX < 256u, "the chain length is one byte");
/* The smallest string: version, key, two varints, no path (size 1), signature, a 1-byte leaf,
 * no cosignature, no chain, the check. It must fit, or no string could ever be written. */
static_assert(CERTSTR_PREFIX_LEN +
                      sodium_base64_ENCODED_LEN(1u + KEY_PUBLIC_SIZE + 2u + SIG_SIZE + 2u + 2u +
                                                    CERTSTR_CHECK_SIZE,
                                                sodium_base64_VARIANT_URLSAFE_NO_PADDING) -
                      1u <=
                  CERT_STRING_SIZE_MAX,
              "the smallest string fits");

size_t
certstr_path_len(uint64_t index, uint64_t size)
{
    ASSERT(index < size);
    /* RFC 9162 2.1.3.2: the path climbs the bits where index and the last leaf differ (inner),
     * then one hash for each left sibling on the right border above them. */
    uint64_t x = index ^ (size - 1);
    size_t inner = 0;
    while (x != 0) {
        inner++;
        x >>= 1;
    }
    uint64_t above = inner < 64 ? index >> inner : 0;
    size_t border = 0;
    for (; above != 0; above >>= 1) {
        border += above & 1u;
    }
    return inner + border;
}

/* RFC 9162 2.1.3.2 steps 2-6, yielding the root rather than comparing it: the signature over
 * the rebuilt note is the comparison. ERR_AUTH when the path does not fit (index, size). */
static err_code
certstr_root(uint64_t index, uint64_t size, const uint8_t leaf_hash[HASH_SIZE],
             const uint8_t path[][HASH_SIZE], size_t count, uint8_t out[HASH_SIZE])
{
    uint64_t fn = index, sn = size - 1;
    uint8_t r[HASH_SIZE];
    ASSERT(index < size);
    ASSERT(count <= MERKLE_PROOF_HASHES_MAX);
    memcpy(r, leaf_hash, HASH_SIZE);
    for (size_t i = 0; i < count; i++) {
        if (sn == 0) {
            return ERR_AUTH;
        }
        if ((fn & 1u) != 0 || fn == sn) {
            merkle_node_hash(path[i], r, r);
            /* At most 64 shifts in all: fn and sn only ever shrink. */
            while ((fn & 1u) == 0 && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            merkle_node_hash(r, path[i], r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0) {
        return ERR_AUTH;
    }
    memcpy(out, r, HASH_SIZE);
    return ERR_OK;
}

/* The note body the log signed: "cdht/<hex key>\n<size>\n<base64 root>\n". */
static size_t
certstr_note_body(const uint8_t key[KEY_PUBLIC_SIZE], uint64_t size, const uint8_t root[HASH_SIZE],
                  char out[CERTSTR_NOTE_BODY_SIZE_MAX + 1])
{
    char name[NOTE_LOG_NAME_SIZE + 1], r64[45];
    note_log_name(key, name);
    sodium_bin2base64(r64, sizeof r64, root, HASH_SIZE, sodium_base64_VARIANT_ORIGINAL);
    int n = snprintf(out, CERTSTR_NOTE_BODY_SIZE_MAX + 1, "%s\n%llu\n%s\n", name,
                     (unsigned long long)size, r64);
    ASSERT(n > 0 && (size_t)n <= CERTSTR_NOTE_BODY_SIZE_MAX);
    return (size_t)n;
}

/* ---- the body ---- */

struct certstr_w {
    uint8_t *p;
    size_t len, cap;
    int over; /* a write did not fit */
};

static void
certstr_put(struct certstr_w *w, const void *src, size_t n)
{
    if (w->over || n > w->cap - w->len) {
        w->over = 1;
        return;
    }
    memcpy(w->p + w->len, src, n);
    w->len += n;
}

static void
certstr_put_u8(struct certstr_w *w, uint8_t v)
{
    certstr_put(w, &v, 1);
}

static void
certstr_put_varint(struct certstr_w *w, uint64_t v)
{
    uint8_t b[CERTSTR_VARINT_SIZE_MAX];
    size_t n = 0;
    do {
        b[n] = (uint8_t)(v & 0x7fu);
        v >>= 7;
        b[n] |= v != 0 ? 0x80u : 0;
        n++;
    } while (v != 0);
    certstr_put(w, b, n);
}

static void
certstr_check(const uint8_t *body, size_t len, uint8_t out[CERTSTR_CHECK_SIZE])
{
    struct sha256 h;
    uint8_t d[HASH_SIZE];
    sha256_init(&h);
    sha256_update(&h, CERTSTR_CHECK_CONTEXT, sizeof CERTSTR_CHECK_CONTEXT - 1);
    sha256_update(&h, body, len);
    sha256_final(&h, d);
    memcpy(out, d, CERTSTR_CHECK_SIZE);
}

/* The rules both directions share; NULL when c is a string's content. */
static const char *
certstr_fields_bad(const struct certstr *c)
{
    if (c->size == 0 || c->index >= c->size) {
        return "the leaf's index is not below the signed tree size";
    }
    if (c->hash_count != certstr_path_len(c->index, c->size)) {
        return "the inclusion path has the wrong length for the index and tree size";
    }
    if (c->leaf_len == 0 || c->leaf_len > CERTSTR_BODY_SIZE_MAX) {
        return "the leaf is empty or longer than a string can carry";
    }
    if (c->has_cosig != 0 && c->has_cosig != 1) {
        return "the cosignature flag is neither 0 nor 1";
    }
    if (c->has_cosig && c->witness_time_s > COSIG_TIME_S_MAX) {
        return "the cosignature's time is after 2200";
    }
    if (c->chain_count > PROOF_CHAIN_MAX) {
        return "the certificate chain is longer than any cdht accepts";
    }
    return NULL;
}

err_code
certstr_encode(const struct certstr *c, char out[CERT_STRING_SIZE_MAX + 1], size_t *len,
               const char **why)
{
    uint8_t body[CERTSTR_BODY_SIZE_MAX];
    struct certstr_w w = {.p = body, .cap = sizeof body};
    uint8_t check[CERTSTR_CHECK_SIZE];
    *len = 0;
    out[0] = '\0';
    if ((*why = certstr_fields_bad(c)) != NULL) {
        return ERR_INVAL;
    }
    certstr_put_u8(&w, CERTSTR_VERSION);
    certstr_put(&w, c->key, KEY_PUBLIC_SIZE);
    certstr_put_varint(&w, c->index);
    certstr_put_varint(&w, c->size);
    for (size_t i = 0; i < c->hash_count; i++) {
        certstr_put(&w, c->hash[i], HASH_SIZE);
    }
    certstr_put(&w, c->sig, SIG_SIZE);
    certstr_put_varint(&w, c->leaf_len);
    certstr_put(&w, c->leaf, c->leaf_len);
    certstr_put_u8(&w, (uint8_t)c->has_cosig);
    if (c->has_cosig) {
        uint8_t t[8];
        for (int i = 0; i < 8; i++) {
            t[i] = (uint8_t)(c->witness_time_s >> (56 - 8 * i));
        }
        certstr_put(&w, c->witness, KEY_PUBLIC_SIZE);
        certstr_put(&w, t, sizeof t);
        certstr_put(&w, c->witness_sig, SIG_SIZE);
    }
    certstr_put_u8(&w, (uint8_t)c->chain_count);
    for (size_t i = 0; i < c->chain_count; i++) {
        certstr_put(&w, c->chain[i].issuer, KEY_PUBLIC_SIZE);
        certstr_put_varint(&w, c->chain[i].index);
        certstr_put(&w, c->chain[i].leaf_hash, CERTSTR_REF_HASH_SIZE);
    }
    if (!w.over) {
        certstr_check(body, w.len, check);
        certstr_put(&w, check, sizeof check);
    }
    size_t n =
        w.over ? SIZE_MAX
               : CERTSTR_PREFIX_LEN +
                     sodium_base64_ENCODED_LEN(w.len, sodium_base64_VARIANT_URLSAFE_NO_PADDING) - 1;
    if (n > CERT_STRING_SIZE_MAX) {
        *why = "the record is too large for a certificate string (a QR code); `cdht prove` "
               "writes it as a file";
        return ERR_MSGSIZE;
    }
    memcpy(out, CERTSTR_PREFIX, CERTSTR_PREFIX_LEN);
    sodium_bin2base64(out + CERTSTR_PREFIX_LEN, CERT_STRING_SIZE_MAX + 1 - CERTSTR_PREFIX_LEN, body,
                      w.len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    *len = strlen(out);
    ASSERT(*len == n);
    return ERR_OK;
}

struct certstr_r {
    const uint8_t *p;
    size_t len, off;
};

/* 0 when n more bytes are not there. */
static int
certstr_get(struct certstr_r *r, void *dst, size_t n)
{
    if (n > r->len - r->off) {
        return 0;
    }
    memcpy(dst, r->p + r->off, n);
    r->off += n;
    return 1;
}

/* The shortest LEB128 form only; 0 when truncated, overlong or above 64 bits. */
static int
certstr_get_varint(struct certstr_r *r, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < CERTSTR_VARINT_SIZE_MAX; i++) {
        uint8_t b;
        if (!certstr_get(r, &b, 1)) {
            return 0;
        }
        if (i == CERTSTR_VARINT_SIZE_MAX - 1 && b > 1u) {
            return 0; /* the tenth byte holds bit 63 only */
        }
        v |= (uint64_t)(b & 0x7fu) << (7 * i);
        if ((b & 0x80u) == 0) {
            if (b == 0 && i > 0) {
                return 0; /* a trailing zero group: not the shortest form */
            }
            *out = v;
            return 1;
        }
    }
    return 0;
}

/* Reads the body (check bytes included) into out, field by field; *why on failure. */
static err_code
certstr_unpack(const uint8_t *body, size_t len, struct certstr *out, const char **why)
{
    struct certstr_r r = {.p = body, .len = len};
    uint8_t version = 0, flag = 0, d = 0, check[CERTSTR_CHECK_SIZE];
    uint64_t leaf_len = 0;
    if (len < CERTSTR_CHECK_SIZE) {
        *why = "the certificate string is cut short";
        return ERR_CORRUPT;
    }
    r.len = len - CERTSTR_CHECK_SIZE; /* the fields end where the check begins */
    if (!certstr_get(&r, &version, 1) || version != CERTSTR_VERSION) {
        *why = "the certificate string has a version this cdht does not read";
        return ERR_CORRUPT;
    }
    if (!certstr_get(&r, out->key, KEY_PUBLIC_SIZE) || !certstr_get_varint(&r, &out->index) ||
        !certstr_get_varint(&r, &out->size) || out->size == 0 || out->index >= out->size) {
        *why = "the certificate string's log, index or tree size is malformed";
        return ERR_CORRUPT;
    }
    out->hash_count = certstr_path_len(out->index, out->size);
    ASSERT(out->hash_count <= MERKLE_PROOF_HASHES_MAX);
    for (size_t i = 0; i < out->hash_count; i++) {
        if (!certstr_get(&r, out->hash[i], HASH_SIZE)) {
            *why = "the certificate string's inclusion path is cut short";
            return ERR_CORRUPT;
        }
    }
    if (!certstr_get(&r, out->sig, SIG_SIZE) || !certstr_get_varint(&r, &leaf_len) ||
        leaf_len == 0 || leaf_len > r.len - r.off || !certstr_get(&r, out->leaf, leaf_len)) {
        *why = "the certificate string's signature or leaf is malformed";
        return ERR_CORRUPT;
    }
    out->leaf_len = (size_t)leaf_len;
    if (!certstr_get(&r, &flag, 1) || flag > 1) {
        *why = "the certificate string's cosignature is malformed";
        return ERR_CORRUPT;
    }
    out->has_cosig = flag;
    if (flag) {
        uint8_t t[8];
        if (!certstr_get(&r, out->witness, KEY_PUBLIC_SIZE) || !certstr_get(&r, t, sizeof t) ||
            !certstr_get(&r, out->witness_sig, SIG_SIZE)) {
            *why = "the certificate string's cosignature is malformed";
            return ERR_CORRUPT;
        }
        for (int i = 0; i < 8; i++) {
            out->witness_time_s = out->witness_time_s << 8 | t[i];
        }
        if (out->witness_time_s > COSIG_TIME_S_MAX) {
            *why = "the certificate string's cosignature is dated after 2200";
            return ERR_CORRUPT;
        }
    }
    if (!certstr_get(&r, &d, 1) || d > PROOF_CHAIN_MAX) {
        *why = "the certificate string's chain is malformed or longer than any cdht accepts";
        return ERR_CORRUPT;
    }
    out->chain_count = d;
    for (size_t i = 0; i < d; i++) {
        struct certstr_ref *ref = &out->chain[i];
        if (!certstr_get(&r, ref->issuer, KEY_PUBLIC_SIZE) ||
            !certstr_get_varint(&r, &ref->index) ||
            !certstr_get(&r, ref->leaf_hash, CERTSTR_REF_HASH_SIZE)) {
            *why = "the certificate string's chain is malformed";
            return ERR_CORRUPT;
        }
    }
    if (r.off != r.len) {
        *why = "the certificate string has bytes after its last field";
        return ERR_CORRUPT;
    }
    certstr_check(body, r.len, check);
    if (sodium_memcmp(check, body + r.len, CERTSTR_CHECK_SIZE) != 0) {
        *why = "the certificate string was altered or misread (its check bytes do not match)";
        return ERR_CORRUPT;
    }
    return ERR_OK;
}

err_code
certstr_decode(const char *text, size_t len, struct certstr *out, const char **why)
{
    uint8_t body[CERTSTR_BODY_SIZE_MAX];
    char again[CERT_STRING_SIZE_MAX + 1];
    size_t body_len = 0;
    const char *end = NULL;
    memset(out, 0, sizeof *out);
    if (len > CERT_STRING_SIZE_MAX) {
        *why = "the certificate string is longer than any cdht writes";
        return ERR_MSGSIZE;
    }
    if (len < CERTSTR_PREFIX_LEN || memcmp(text, CERTSTR_PREFIX, CERTSTR_PREFIX_LEN) != 0) {
        *why = "not a certificate string (it must begin with cdht-cert1:)";
        return ERR_CORRUPT;
    }
    const char *b = text + CERTSTR_PREFIX_LEN;
    size_t b_len = len - CERTSTR_PREFIX_LEN;
    for (size_t i = 0; i < b_len; i++) {
        char ch = b[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_')) {
            *why = "the certificate string is not base64url after cdht-cert1: (a character was "
                   "changed, or the string was cut)";
            return ERR_CORRUPT;
        }
    }
    /* The alphabet was checked, and b_len * 3 / 4 <= sizeof body, so only the length (a
     * remainder of 1) or non-zero trailing bits can still be refused: the re-encoding below
     * catches the latter, whatever libsodium's leniency. */
    if (sodium_base642bin(body, sizeof body, b, b_len, NULL, &body_len, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        end != b + b_len) {
        *why = "the certificate string's base64url does not decode (cut short or extended)";
        return ERR_CORRUPT;
    }
    ASSERT(body_len <= sizeof body);
    sodium_bin2base64(again, sizeof again, body, body_len,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    if (strlen(again) != b_len || memcmp(again, b, b_len) != 0) {
        *why = "the certificate string's base64url is not in its one spelling (a character was "
               "changed)";
        return ERR_CORRUPT;
    }
    err_code rc = certstr_unpack(body, body_len, out, why);
    if (rc != ERR_OK) {
        memset(out, 0, sizeof *out);
    }
    return rc;
}

/* ---- from a record proof ---- */

/* The public key a cdht key name ("cdht/<64 lowercase hex>") spells; 0 for any other name. */
static int
certstr_name_key(const char *name, size_t len, uint8_t pk[KEY_PUBLIC_SIZE])
{
    char again[NOTE_LOG_NAME_SIZE + 1];
    size_t plen = sizeof NOTE_LOG_NAME_PREFIX - 1;
    if (len != NOTE_LOG_NAME_SIZE || memcmp(name, NOTE_LOG_NAME_PREFIX, plen) != 0 ||
        sodium_hex2bin(pk, KEY_PUBLIC_SIZE, name + plen, 2 * KEY_PUBLIC_SIZE, NULL, NULL, NULL) !=
            0) {
        return 0;
    }
    note_log_name(pk, again);
    return memcmp(again, name, len) == 0;
}

err_code
certstr_from_proof(const struct proof *p, struct certstr *out, const char **why)
{
    const struct proof_section *s = &p->record;
    struct checkpoint cp;
    char body[CERTSTR_NOTE_BODY_SIZE_MAX + 1], name[NOTE_LOG_NAME_SIZE + 1];
    uint8_t id[NOTE_KEY_ID_SIZE];
    int have_sig = 0;
    memset(out, 0, sizeof *out);
    *why = NULL;
    if (s->leaf_len == 0 || s->leaf_len > CERTSTR_BODY_SIZE_MAX) {
        *why = "the record's leaf is larger than a certificate string can carry";
        return ERR_MSGSIZE;
    }
    if (note_parse_checkpoint(s->note, s->note_len, &cp) != ERR_OK) {
        *why = "the record's checkpoint note does not parse";
        return ERR_INVAL;
    }
    /* The string rebuilds the body from the key, size and root: the note must be exactly that
     * body (no extension lines, the log's own origin), or its signature could not be checked. */
    size_t body_len = certstr_note_body(s->key, cp.size, cp.root, body);
    if (s->note_len < body_len + 1 || memcmp(s->note, body, body_len) != 0 ||
        s->note[body_len] != '\n') {
        *why = "the record's checkpoint note is not the plain checkpoint of its log";
        return ERR_INVAL;
    }
    memcpy(out->key, s->key, KEY_PUBLIC_SIZE);
    out->index = s->index;
    out->size = cp.size;
    out->hash_count = s->hash_count;
    memcpy(out->hash, s->hash, s->hash_count * HASH_SIZE);
    memcpy(out->leaf, s->leaf, s->leaf_len);
    out->leaf_len = s->leaf_len;
    note_log_name(s->key, name);
    note_key_id(name, s->key, id);
    /* The signature lines: the log's own gives the signature, the first cosignature by a cdht
     * witness key the optional cosignature. note_parse_checkpoint bounded them (NOTE_SIZE_MAX,
     * NOTE_SIGNATURES_MAX), so the walk is bounded by the note's length. */
    const uint8_t *q = s->note + body_len + 1, *end = s->note + s->note_len;
    while (q < end) {
        const uint8_t *nl = memchr(q, '\n', (size_t)(end - q));
        if (nl == NULL) {
            break;
        }
        size_t line_len = (size_t)(nl - q) + 1;
        const uint8_t *at = q;
        q = nl + 1;
        struct cosig c;
        uint8_t wpk[KEY_PUBLIC_SIZE], wid[COSIG_KEY_ID_SIZE];
        if (!out->has_cosig && cosig_parse(at, line_len, &c) == ERR_OK &&
            certstr_name_key(c.name, strlen(c.name), wpk)) {
            cosig_key_id(c.name, wpk, wid);
            if (memcmp(wid, c.key_id, COSIG_KEY_ID_SIZE) == 0) {
                out->has_cosig = 1;
                memcpy(out->witness, wpk, KEY_PUBLIC_SIZE);
                out->witness_time_s = c.time_s;
                memcpy(out->witness_sig, c.sig, SIG_SIZE);
                continue;
            }
        }
        /* "\u2014 " name " " base64(key id || signature) "\n" */
        size_t nlen = strlen(name);
        if (have_sig || line_len != 4 + nlen + 1 + 92 + 1 || memcmp(at, "\xe2\x80\x94 ", 4) != 0 ||
            memcmp(at + 4, name, nlen) != 0 || at[4 + nlen] != ' ') {
            continue;
        }
        uint8_t raw[NOTE_KEY_ID_SIZE + SIG_SIZE];
        size_t raw_len = 0;
        if (sodium_base642bin(raw, sizeof raw, (const char *)at + 4 + nlen + 1, 92, NULL, &raw_len,
                              NULL, sodium_base64_VARIANT_ORIGINAL) == 0 &&
            raw_len == sizeof raw && memcmp(raw, id, NOTE_KEY_ID_SIZE) == 0) {
            memcpy(out->sig, raw + NOTE_KEY_ID_SIZE, SIG_SIZE);
            have_sig = 1;
        }
    }
    if (!have_sig) {
        *why = "the record's checkpoint note carries no signature line by its log's key";
        memset(out, 0, sizeof *out);
        return ERR_INVAL;
    }
    out->chain_count = p->chain_count;
    for (size_t i = 0; i < p->chain_count; i++) {
        uint8_t h[HASH_SIZE];
        memcpy(out->chain[i].issuer, p->chain[i].key, KEY_PUBLIC_SIZE);
        out->chain[i].index = p->chain[i].index;
        merkle_leaf_hash(p->chain[i].leaf, p->chain[i].leaf_len, h);
        memcpy(out->chain[i].leaf_hash, h, CERTSTR_REF_HASH_SIZE);
    }
    return ERR_OK;
}

/* ---- the approval in the leaf ---- */

static err_code
certstr_text(const Cdht__Cell *cell, char out[CERTSTR_TEXT_SIZE])
{
    out[0] = '\0';
    if (cell->value_case != CDHT__CELL__VALUE_S) {
        return ERR_OK;
    }
    size_t n = strlen(cell->s);
    if (n >= CERTSTR_TEXT_SIZE) {
        return ERR_MSGSIZE;
    }
    /* Printed on a terminal and in HTML: no control characters (leaf_decode checked UTF-8). */
    if (n > 0 && leaf_text_check(cell->s, CERTSTR_TEXT_SIZE - 1) != LEAF_TEXT_OK) {
        return ERR_CORRUPT;
    }
    memcpy(out, cell->s, n + 1);
    return ERR_OK;
}

err_code
certstr_approval(const uint8_t *leaf, size_t len, struct certstr_approval *out, const char **why)
{
    Cdht__Commit *c = NULL;
    const Cdht__Change *ch = NULL;
    err_code rc = ERR_OK;
    memset(out, 0, sizeof *out);
    *why = NULL;
    if (leaf_decode(leaf, len, &c) != ERR_OK) {
        *why = "the leaf is not a valid commit";
        return ERR_CORRUPT;
    }
    /* leaf_decode bounds n_changes (COMMIT_CHANGES_MAX). */
    for (size_t i = 0; i < c->n_changes; i++) {
        if (strcmp(c->changes[i]->table, "approval") != 0) {
            continue;
        }
        if (ch != NULL) {
            *why = "the leaf holds more than one approval: a string cannot say which is meant";
            rc = ERR_CORRUPT;
            goto out;
        }
        ch = c->changes[i];
    }
    if (ch == NULL) {
        *why = "the leaf holds no approval";
        rc = ERR_CORRUPT;
        goto out;
    }
    if (strlen(ch->pk) >= CERTSTR_TEXT_SIZE) {
        *why = "the approval's key is longer than a certificate shows";
        rc = ERR_MSGSIZE;
        goto out;
    }
    memcpy(out->id, ch->pk, strlen(ch->pk) + 1);
    int have_year = 0;
    for (size_t j = 0; j < ch->n_cells && rc == ERR_OK; j++) {
        const Cdht__Cell *cell = ch->cells[j];
        const char *col = cell->col;
        if (strcmp(col, "year") == 0) {
            have_year = cell->value_case == CDHT__CELL__VALUE_I;
            out->year = have_year ? cell->i : 0;
        } else if (strcmp(col, "person") == 0) {
            rc = certstr_text(cell, out->person);
        } else if (strcmp(col, "unit") == 0) {
            rc = certstr_text(cell, out->unit);
        } else if (strcmp(col, "outcome") == 0) {
            rc = certstr_text(cell, out->outcome);
        } else if (strcmp(col, "number") == 0) {
            rc = certstr_text(cell, out->number);
        } else if (strcmp(col, "date") == 0) {
            rc = certstr_text(cell, out->date);
        } else if (strcmp(col, "signer") == 0) {
            rc = certstr_text(cell, out->signer);
        }
    }
    if (rc != ERR_OK) {
        *why = rc == ERR_MSGSIZE ? "a cell of the approval is longer than a certificate shows"
                                 : "a cell of the approval holds a control character";
        goto out;
    }
    /* The pk is "<year>:<person>" (node/schema.c): the cells must say the same. */
    char pk[CERTSTR_TEXT_SIZE + 24];
    snprintf(pk, sizeof pk, "%lld:%s", (long long)out->year, out->person);
    if (!have_year || out->person[0] == '\0' || strcmp(pk, out->id) != 0) {
        *why = "the approval's key, person and year disagree";
        rc = ERR_CORRUPT;
    }
out:
    leaf_free(c);
    if (rc != ERR_OK) {
        memset(out, 0, sizeof *out);
    }
    return rc;
}

/* ---- verification ---- */

err_code
certstr_verify(const struct certstr *c, const uint8_t root[KEY_PUBLIC_SIZE],
               struct certstr_verdict *v)
{
    uint8_t lh[HASH_SIZE], r[HASH_SIZE];
    char note[CERTSTR_NOTE_SIZE_MAX + 1], name[NOTE_LOG_NAME_SIZE + 1];
    uint8_t raw[NOTE_KEY_ID_SIZE + SIG_SIZE];
    char raw64[93];
    struct checkpoint cp;
    const char *why = NULL;
    memset(v, 0, sizeof *v);
    ASSERT(certstr_fields_bad(c) == NULL); /* a decoded string, or one built to be encoded */
    merkle_leaf_hash(c->leaf, c->leaf_len, lh);
    if (certstr_root(c->index, c->size, lh, (const uint8_t(*)[HASH_SIZE])c->hash, c->hash_count,
                     r) != ERR_OK) {
        snprintf(v->why, sizeof v->why, "the inclusion path does not fit leaf %llu of %llu",
                 (unsigned long long)c->index, (unsigned long long)c->size);
        return ERR_AUTH;
    }
    /* The note as the device wrote it: body, blank line, its signature line. */
    size_t n = certstr_note_body(c->key, c->size, r, note);
    note_log_name(c->key, name);
    note_key_id(name, c->key, raw);
    memcpy(raw + NOTE_KEY_ID_SIZE, c->sig, SIG_SIZE);
    sodium_bin2base64(raw64, sizeof raw64, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
    int m = snprintf(note + n, sizeof note - n, "\n\xe2\x80\x94 %s %s\n", name, raw64);
    ASSERT(m > 0 && (size_t)m < sizeof note - n);
    if (note_verify_checkpoint((const uint8_t *)note, n + (size_t)m, name, c->key, &cp) != ERR_OK) {
        snprintf(v->why, sizeof v->why,
                 "the approver's signed checkpoint does not verify for this leaf, path and size "
                 "(the leaf or the proof was altered, or the log key is not the signer's)");
        return ERR_AUTH;
    }
    ASSERT(cp.size == c->size);
    /* Pair with the inclusion RFC 9162 verifier proto/merkle.c runs for every proof. */
    if (merkle_verify_inclusion(c->index, c->size, lh, (const uint8_t(*)[HASH_SIZE])c->hash,
                                c->hash_count, cp.root) != ERR_OK) {
        snprintf(v->why, sizeof v->why, "the leaf is not included in the signed checkpoint");
        return ERR_AUTH;
    }
    if (c->has_cosig) {
        struct cosig cs;
        char w64[45];
        note_log_name(c->witness, cs.name);
        cosig_key_id(cs.name, c->witness, cs.key_id);
        cs.time_s = c->witness_time_s;
        memcpy(cs.sig, c->witness_sig, SIG_SIZE);
        if (cosig_verify(&cs, &cp, cs.name, c->witness) != ERR_OK) {
            sodium_bin2base64(w64, sizeof w64, c->witness, KEY_PUBLIC_SIZE,
                              sodium_base64_VARIANT_ORIGINAL);
            snprintf(v->why, sizeof v->why, "the cosignature by witness %s does not verify", w64);
            return ERR_AUTH;
        }
    }
    const uint8_t *top = c->chain_count > 0 ? c->chain[c->chain_count - 1].issuer : c->key;
    if (sodium_memcmp(top, root, KEY_PUBLIC_SIZE) != 0) {
        char k[45], rk[45];
        sodium_bin2base64(k, sizeof k, top, KEY_PUBLIC_SIZE, sodium_base64_VARIANT_ORIGINAL);
        sodium_bin2base64(rk, sizeof rk, root, KEY_PUBLIC_SIZE, sodium_base64_VARIANT_ORIGINAL);
        snprintf(v->why, sizeof v->why, "the chain ends at key %s, which is not the pinned root %s",
                 k, rk);
        return ERR_AUTH;
    }
    if (certstr_approval(c->leaf, c->leaf_len, &v->approval, &why) != ERR_OK) {
        snprintf(v->why, sizeof v->why, "%s", why != NULL ? why : "the leaf holds no approval");
        return ERR_CORRUPT;
    }
    if (strcmp(v->approval.outcome, "approved") != 0) {
        snprintf(v->why, sizeof v->why,
                 "the leaf's decision is not an approval (a rejection or a return): it "
                 "recognises no one");
        memset(&v->approval, 0, sizeof v->approval);
        return ERR_CORRUPT;
    }
    v->size = c->size;
    return ERR_OK;
}
