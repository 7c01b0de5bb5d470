/*
 * Record proofs (format in proof.h and docs/PROTOCOL.md "Record proofs"): the writer, the strict
 * one-pass reader, and the offline verification an auditor runs with nothing but the file and
 * the root's verifier key. The reader checks the container only; every signature, hash and
 * certificate is judged by proof_verify, which names the first check that failed. Pure (no
 * SQLite, no I/O); libsodium must have been initialised by the program.
 */
#include "proof.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cosig.h"
#include "leaf.h"
#include "merkle.h"
#include "note.h"

/* Base64 (standard, padded) of 32 bytes, without the NUL sodium_bin2base64 adds. */
#define PROOF_B64_32 44u
/* Base64 characters of the largest leaf: bounds the leaf line before anything is decoded. */
#define PROOF_LEAF_B64_MAX (4u * ((LEAF_SIZE_MAX + 2u) / 3u))
/* Digits of the largest 64-bit value. */
#define PROOF_DEC_DIGITS_MAX 20u

static_assert(PROOF_B64_32 + 1 == sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL),
              "32 bytes are 44 base64 characters with padding");
static_assert(KEY_PUBLIC_SIZE == 32 && HASH_SIZE == 32, "keys and hashes share one base64 size");
static_assert(PROOF_CHAIN_MAX > 0, "a proof may hold a certificate");

err_code
proof_new(struct proof **out)
{
    *out = calloc(1, sizeof **out);
    return *out != NULL ? ERR_OK : ERR_NOMEM;
}

void
proof_free(struct proof *p)
{
    if (p == NULL) {
        return;
    }
    free(p->record.leaf);
    for (size_t i = 0; i < PROOF_CHAIN_MAX; i++) {
        free(p->chain[i].leaf);
    }
    free(p);
}

/* ---- Writing */

/* A section the decoder would accept, as far as its fields' limits go. */
static int
proof_section_ok(const struct proof_section *s)
{
    return s->leaf != NULL && s->leaf_len > 0 && s->leaf_len <= LEAF_SIZE_MAX &&
           s->hash_count <= MERKLE_PROOF_HASHES_MAX && s->note_len > 0 &&
           s->note_len <= NOTE_SIZE_MAX && s->note[s->note_len - 1] == '\n';
}

/* The most bytes proof_section_put writes for s. */
static size_t
proof_section_size(const struct proof_section *s)
{
    return 64u + PROOF_B64_32 + PROOF_DEC_DIGITS_MAX +
           sodium_base64_ENCODED_LEN(s->leaf_len, sodium_base64_VARIANT_ORIGINAL) +
           s->hash_count * (PROOF_B64_32 + 1u) + s->note_len;
}

/* Appends s at out + *pos; the caller sized out with proof_section_size. */
static void
proof_section_put(const struct proof_section *s, char *out, size_t *pos)
{
    char b64[PROOF_B64_32 + 1];
    size_t p = *pos;
    sodium_bin2base64(b64, sizeof b64, s->key, KEY_PUBLIC_SIZE, sodium_base64_VARIANT_ORIGINAL);
    p += (size_t)sprintf(out + p, "log %s\nindex %llu\nleaf ", b64, (unsigned long long)s->index);
    sodium_bin2base64(out + p,
                      sodium_base64_ENCODED_LEN(s->leaf_len, sodium_base64_VARIANT_ORIGINAL),
                      s->leaf, s->leaf_len, sodium_base64_VARIANT_ORIGINAL);
    p += sodium_base64_ENCODED_LEN(s->leaf_len, sodium_base64_VARIANT_ORIGINAL) - 1;
    p += (size_t)sprintf(out + p, "\nproof %zu\n", s->hash_count);
    for (size_t i = 0; i < s->hash_count; i++) {
        sodium_bin2base64(b64, sizeof b64, s->hash[i], HASH_SIZE, sodium_base64_VARIANT_ORIGINAL);
        p += (size_t)sprintf(out + p, "%s\n", b64);
    }
    p += (size_t)sprintf(out + p, "checkpoint %zu\n", s->note_len);
    memcpy(out + p, s->note, s->note_len);
    *pos = p + s->note_len;
}

err_code
proof_encode(const struct proof *p, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (p->chain_count > PROOF_CHAIN_MAX || !proof_section_ok(&p->record)) {
        return ERR_INVAL;
    }
    size_t cap = 64u + proof_section_size(&p->record);
    for (size_t i = 0; i < p->chain_count; i++) {
        if (!proof_section_ok(&p->chain[i])) {
            return ERR_INVAL;
        }
        cap += proof_section_size(&p->chain[i]);
    }
    char *buf = malloc(cap);
    if (buf == NULL) {
        return ERR_NOMEM;
    }
    size_t pos = (size_t)sprintf(buf, "%s\n", PROOF_MAGIC);
    proof_section_put(&p->record, buf, &pos);
    pos += (size_t)sprintf(buf + pos, "chain %zu\n", p->chain_count);
    for (size_t i = 0; i < p->chain_count; i++) {
        proof_section_put(&p->chain[i], buf, &pos);
    }
    pos += (size_t)sprintf(buf + pos, "end\n");
    ASSERT(pos <= cap);
    ASSERT(pos <= PROOF_FILE_SIZE_MAX);
    *out = (uint8_t *)buf;
    *len = pos;
    return ERR_OK;
}

/* ---- Reading */

struct proof_reader {
    const uint8_t *buf;
    size_t len;
    size_t pos;
};

/* Consumes the literal label (e.g. "log ") at the cursor. */
static int
proof_label(struct proof_reader *r, const char *label)
{
    size_t n = strlen(label);
    if (r->len - r->pos < n || memcmp(r->buf + r->pos, label, n) != 0) {
        return 0;
    }
    r->pos += n;
    return 1;
}

/* The rest of the current line, up to (not including) its '\n', which is consumed. At most max
 * bytes are looked at; *over is set when the line runs past them (a limit, not a grammar error).
 * The scan is bounded by max, so a line cannot make the reader walk the whole file twice. */
static int
proof_field(struct proof_reader *r, size_t max, const uint8_t **field, size_t *flen, int *over)
{
    size_t avail = r->len - r->pos;
    size_t look = avail < max + 1 ? avail : max + 1;
    const uint8_t *nl = memchr(r->buf + r->pos, '\n', look);
    *over = 0;
    if (nl == NULL) {
        *over = look == max + 1;
        return 0;
    }
    *field = r->buf + r->pos;
    *flen = (size_t)(nl - *field);
    r->pos += *flen + 1;
    return 1;
}

/* A decimal without leading zeros that fits 64 bits. */
static int
proof_dec(const uint8_t *f, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > PROOF_DEC_DIGITS_MAX || (n > 1 && f[0] == '0')) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (f[i] < '0' || f[i] > '9') {
            return 0;
        }
        uint64_t d = (uint64_t)(f[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return 0;
        }
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

/* Strict standard base64 (RFC 4648 section 4): a multiple of 4 characters of the alphabet, '='
 * only as the last one or two, canonical trailing bits, everything consumed. The alphabet is
 * checked here because libsodium 1.0.18 decodes bytes 0x80..0xff as if they were base64 (see
 * proto/heads.c); libsodium then refuses non-zero trailing bits. */
static int
proof_b64(const uint8_t *f, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
    size_t pad = 0;
    *out_len = 0;
    if (n == 0 || n % 4 != 0) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t c = f[i];
        if (c == '=') {
            if (i + 2 < n) {
                return 0;
            }
            pad++;
        } else if (pad > 0 || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                                (c >= '0' && c <= '9') || c == '+' || c == '/')) {
            return 0;
        }
    }
    const char *end = NULL;
    if (sodium_base642bin(out, cap, (const char *)f, n, NULL, out_len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != (const char *)f + n || *out_len != n / 4 * 3 - pad) {
        return 0;
    }
    return 1;
}

/* "<label><decimal>\n" */
static err_code
proof_dec_line(struct proof_reader *r, const char *label, uint64_t *out)
{
    const uint8_t *f = NULL;
    size_t n = 0;
    int over = 0;
    if (!proof_label(r, label) || !proof_field(r, PROOF_DEC_DIGITS_MAX, &f, &n, &over) ||
        !proof_dec(f, n, out)) {
        return ERR_CORRUPT_HERE;
    }
    return ERR_OK;
}

/* A base64 line of exactly 32 bytes (a key or a hash), after label (may be ""). */
static err_code
proof_b64_32_line(struct proof_reader *r, const char *label, uint8_t out[32])
{
    const uint8_t *f = NULL;
    size_t n = 0, got = 0;
    int over = 0;
    if (!proof_label(r, label) || !proof_field(r, PROOF_B64_32, &f, &n, &over) ||
        n != PROOF_B64_32 || !proof_b64(f, n, out, 32, &got) || got != 32) {
        return ERR_CORRUPT_HERE;
    }
    return ERR_OK;
}

static err_code
proof_section_read(struct proof_reader *r, struct proof_section *s)
{
    const uint8_t *f = NULL;
    size_t n = 0;
    int over = 0;
    uint64_t v = 0;
    err_code rc = proof_b64_32_line(r, "log ", s->key);
    if (rc == ERR_OK) {
        rc = proof_dec_line(r, "index ", &s->index);
    }
    if (rc != ERR_OK) {
        return rc;
    }
    if (!proof_label(r, "leaf ")) {
        return ERR_CORRUPT_HERE;
    }
    if (!proof_field(r, PROOF_LEAF_B64_MAX, &f, &n, &over)) {
        return over ? ERR_MSGSIZE : ERR_CORRUPT_HERE;
    }
    /* n <= PROOF_LEAF_B64_MAX: the allocation is bounded before it is made. */
    size_t cap = n / 4 * 3 + 1;
    if ((s->leaf = malloc(cap)) == NULL) {
        return ERR_NOMEM;
    }
    if (!proof_b64(f, n, s->leaf, cap, &s->leaf_len)) {
        return ERR_CORRUPT_HERE;
    }
    if (s->leaf_len > LEAF_SIZE_MAX) {
        return ERR_MSGSIZE;
    }
    if ((rc = proof_dec_line(r, "proof ", &v)) != ERR_OK) {
        return rc;
    }
    if (v > MERKLE_PROOF_HASHES_MAX) {
        return ERR_MSGSIZE;
    }
    s->hash_count = (size_t)v;
    for (size_t i = 0; i < s->hash_count; i++) {
        if ((rc = proof_b64_32_line(r, "", s->hash[i])) != ERR_OK) {
            return rc;
        }
    }
    if ((rc = proof_dec_line(r, "checkpoint ", &v)) != ERR_OK) {
        return rc;
    }
    if (v > NOTE_SIZE_MAX) {
        return ERR_MSGSIZE;
    }
    if (v == 0 || r->len - r->pos < v || r->buf[r->pos + v - 1] != '\n') {
        return ERR_CORRUPT_HERE;
    }
    memcpy(s->note, r->buf + r->pos, (size_t)v);
    s->note_len = (size_t)v;
    r->pos += (size_t)v;
    return ERR_OK;
}

err_code
proof_decode(const uint8_t *buf, size_t len, struct proof **out)
{
    struct proof *p = NULL;
    struct proof_reader r = {.buf = buf, .len = len, .pos = 0};
    uint64_t chain = 0;
    *out = NULL;
    if (len > PROOF_FILE_SIZE_MAX) {
        return ERR_MSGSIZE;
    }
    if (!proof_label(&r, PROOF_MAGIC "\n")) {
        return ERR_CORRUPT_HERE; /* another version, or not a proof */
    }
    err_code rc = proof_new(&p);
    if (rc != ERR_OK) {
        return rc;
    }
    if ((rc = proof_section_read(&r, &p->record)) != ERR_OK ||
        (rc = proof_dec_line(&r, "chain ", &chain)) != ERR_OK) {
        goto out;
    }
    if (chain > PROOF_CHAIN_MAX) {
        rc = ERR_MSGSIZE;
        goto out;
    }
    p->chain_count = (size_t)chain;
    for (size_t i = 0; i < p->chain_count; i++) {
        if ((rc = proof_section_read(&r, &p->chain[i])) != ERR_OK) {
            goto out;
        }
    }
    if (!proof_label(&r, "end\n") || r.pos != r.len) {
        rc = ERR_CORRUPT_HERE;
        goto out;
    }
    *out = p;
    p = NULL; /* ownership moved to *out */
out:
    proof_free(p);
    return rc;
}

/* ---- Verifying */

/* "record, leaf N of log K" or "certificate i, leaf N of log K" into buf. */
static void
proof_where(const struct proof_section *s, int section, char *buf, size_t cap)
{
    char k[PROOF_B64_32 + 1];
    sodium_bin2base64(k, sizeof k, s->key, KEY_PUBLIC_SIZE, sodium_base64_VARIANT_ORIGINAL);
    if (section < 0) {
        snprintf(buf, cap, "record, leaf %llu of log %s", (unsigned long long)s->index, k);
    } else {
        snprintf(buf, cap, "certificate %d, leaf %llu of log %s", section + 1,
                 (unsigned long long)s->index, k);
    }
}

static err_code proof_fail(struct proof_verdict *v, int section, enum proof_failure f, err_code rc,
                           const char *where, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static err_code
proof_fail(struct proof_verdict *v, int section, enum proof_failure f, err_code rc,
           const char *where, const char *fmt, ...)
{
    va_list ap;
    v->failure = f;
    v->section = section;
    int n = where != NULL ? snprintf(v->why, sizeof v->why, "%s: ", where) : 0;
    if (n < 0 || (size_t)n >= sizeof v->why) {
        n = 0;
    }
    va_start(ap, fmt);
    vsnprintf(v->why + n, sizeof v->why - (size_t)n, fmt, ap);
    va_end(ap);
    return rc;
}

/* The public key a cdht key name ("cdht/<64 lowercase hex>") spells; 0 for any other name. */
static int
proof_name_key(const char *name, uint8_t pk[KEY_PUBLIC_SIZE])
{
    char again[NOTE_LOG_NAME_SIZE + 1];
    size_t plen = sizeof NOTE_LOG_NAME_PREFIX - 1;
    if (strlen(name) != NOTE_LOG_NAME_SIZE || strncmp(name, NOTE_LOG_NAME_PREFIX, plen) != 0 ||
        sodium_hex2bin(pk, KEY_PUBLIC_SIZE, name + plen, 2 * KEY_PUBLIC_SIZE, NULL, NULL, NULL) !=
            0) {
        return 0;
    }
    note_log_name(pk, again);
    return strcmp(again, name) == 0; /* one spelling: lowercase hex */
}

/*
 * The cosignature lines of a note already parsed and verified as cp: every signature line that
 * parses as a cosignature (cosig_parse) by a cdht key name with that key's cosignature key id
 * must verify; other lines (the log's own signature, foreign witnesses) are not ours to judge.
 * Witnesses are counted once each into v when count is set (the record's note).
 */
static err_code
proof_cosigs(const struct proof_section *s, const struct checkpoint *cp, int section, int count,
             struct proof_verdict *v, const char *where)
{
    const uint8_t *end = s->note + s->note_len;
    const uint8_t *p = NULL;
    for (size_t i = 0; i + 1 < s->note_len; i++) {
        if (s->note[i] == '\n' && s->note[i + 1] == '\n') {
            p = s->note + i + 2;
            break;
        }
    }
    if (NEVER(p == NULL)) {
        return ERR_CORRUPT_HERE; /* note_verify_checkpoint accepted a note without a blank line */
    }
    /* note_verify_checkpoint refuses more than NOTE_SIGNATURES_MAX lines: the loop's bound. */
    for (unsigned line = 0; p < end && line < NOTE_SIGNATURES_MAX; line++) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        if (NEVER(nl == NULL)) {
            return ERR_CORRUPT_HERE;
        }
        struct cosig c;
        uint8_t pk[KEY_PUBLIC_SIZE], id[COSIG_KEY_ID_SIZE];
        size_t len = (size_t)(nl - p) + 1;
        const uint8_t *at = p;
        p = nl + 1;
        if (cosig_parse(at, len, &c) != ERR_OK || !proof_name_key(c.name, pk)) {
            continue;
        }
        cosig_key_id(c.name, pk, id);
        if (memcmp(id, c.key_id, COSIG_KEY_ID_SIZE) != 0) {
            continue;
        }
        if (cosig_verify(&c, cp, c.name, pk) != ERR_OK) {
            char w[PROOF_B64_32 + 1];
            sodium_bin2base64(w, sizeof w, pk, KEY_PUBLIC_SIZE, sodium_base64_VARIANT_ORIGINAL);
            return proof_fail(v, section, PROOF_FAIL_COSIGNATURE, ERR_AUTH, where,
                              "the cosignature by witness %s does not verify", w);
        }
        int seen = 0;
        for (size_t k = 0; k < v->cosigs; k++) {
            seen |= memcmp(v->witness[k], pk, KEY_PUBLIC_SIZE) == 0;
        }
        if (count && !seen && v->cosigs < NOTE_SIGNATURES_MAX) {
            memcpy(v->witness[v->cosigs], pk, KEY_PUBLIC_SIZE);
            v->witness_time_s[v->cosigs] = c.time_s;
            v->cosigs++;
        }
    }
    return ERR_OK;
}

/* The note of s is signed by s's log key and names its log; its cosignatures verify; the leaf
 * is included at s->index in it. *cp receives the checkpoint. */
static err_code
proof_section_check(const struct proof_section *s, int section, struct proof_verdict *v,
                    struct checkpoint *cp)
{
    char where[160], name[NOTE_LOG_NAME_SIZE + 1];
    uint8_t lh[HASH_SIZE];
    proof_where(s, section, where, sizeof where);
    note_log_name(s->key, name);
    err_code rc = note_verify_checkpoint(s->note, s->note_len, name, s->key, cp);
    if (rc == ERR_AUTH) {
        return proof_fail(v, section, PROOF_FAIL_NOTE_SIGNATURE, ERR_AUTH, where,
                          "the checkpoint note is not signed by the log's key");
    }
    if (rc != ERR_OK) {
        return proof_fail(v, section, PROOF_FAIL_NOTE_MALFORMED, ERR_CORRUPT, where,
                          "the checkpoint note is not a valid signed note");
    }
    if (strcmp(cp->origin, name) != 0) {
        return proof_fail(v, section, PROOF_FAIL_NOTE_ORIGIN, ERR_CORRUPT, where,
                          "the checkpoint names another log");
    }
    if ((rc = proof_cosigs(s, cp, section, section < 0, v, where)) != ERR_OK) {
        return rc;
    }
    if (s->index >= cp->size) {
        return proof_fail(v, section, PROOF_FAIL_INDEX, ERR_CORRUPT, where,
                          "the signed checkpoint covers only %llu leaves",
                          (unsigned long long)cp->size);
    }
    merkle_leaf_hash(s->leaf, s->leaf_len, lh);
    if (merkle_verify_inclusion(s->index, cp->size, lh, (const uint8_t(*)[HASH_SIZE])s->hash,
                                s->hash_count, cp->root) != ERR_OK) {
        return proof_fail(v, section, PROOF_FAIL_INCLUSION, ERR_AUTH, where,
                          "the leaf is not included in the signed checkpoint of size %llu "
                          "(RFC 6962 inclusion proof fails)",
                          (unsigned long long)cp->size);
    }
    return ERR_OK;
}

static int
proof_role_known(const char *role)
{
    return strcmp(role, "writer") == 0 || strcmp(role, "approver") == 0 ||
           strcmp(role, "hub") == 0 || strcmp(role, "auditor") == 0 ||
           strcmp(role, "reporter") == 0;
}

/* Certificate section i: its leaf is a commit holding a Cert for subject, of role hub when
 * i > 0 (the subject issued the certificate below it). The signer's role goes to v->role. */
static err_code
proof_cert_check(const struct proof_section *s, int i, const uint8_t subject[KEY_PUBLIC_SIZE],
                 struct proof_verdict *v)
{
    char where[160], k[PROOF_B64_32 + 1];
    Cdht__Commit *c = NULL;
    proof_where(s, i, where, sizeof where);
    sodium_bin2base64(k, sizeof k, subject, KEY_PUBLIC_SIZE, sodium_base64_VARIANT_ORIGINAL);
    if (leaf_decode(s->leaf, s->leaf_len, &c) != ERR_OK) {
        return proof_fail(v, i, PROOF_FAIL_CERT_DECODE, ERR_CORRUPT, where,
                          "the certificate leaf is not a valid commit");
    }
    const char *found = NULL;
    int hub = 0;
    /* leaf_decode bounds n_certs (COMMIT_CERTS_MAX). */
    for (size_t j = 0; j < c->n_certs && !hub; j++) {
        const Cdht__Cert *ce = c->certs[j];
        if (ce->subject.len != KEY_PUBLIC_SIZE ||
            memcmp(ce->subject.data, subject, KEY_PUBLIC_SIZE) != 0 ||
            !proof_role_known(ce->role)) {
            continue;
        }
        if (found == NULL || strcmp(ce->role, "hub") == 0) {
            found = ce->role;
        }
        hub = strcmp(ce->role, "hub") == 0;
    }
    err_code rc = ERR_OK;
    if (found == NULL) {
        rc = proof_fail(v, i, PROOF_FAIL_CERT_SUBJECT, ERR_AUTH, where,
                        "holds no certificate for key %s", k);
    } else if (i > 0 && !hub) {
        rc = proof_fail(v, i, PROOF_FAIL_CERT_ROLE, ERR_AUTH, where,
                        "the certificate of key %s grants %s, not hub: it cannot issue "
                        "certificates",
                        k, found);
    } else if (i == 0) {
        snprintf(v->role, sizeof v->role, "%s", found);
    }
    leaf_free(c);
    return rc;
}

err_code
proof_verify(const struct proof *p, const uint8_t root[KEY_PUBLIC_SIZE], struct proof_verdict *v)
{
    struct checkpoint cp;
    memset(v, 0, sizeof *v);
    v->section = -1;
    ASSERT(p->chain_count <= PROOF_CHAIN_MAX);
    err_code rc = proof_section_check(&p->record, -1, v, &cp);
    if (rc != ERR_OK) {
        return rc;
    }
    uint64_t size = cp.size;
    const uint8_t *subject = p->record.key;
    snprintf(v->role, sizeof v->role, "root");
    for (size_t i = 0; i < p->chain_count; i++) {
        if ((rc = proof_section_check(&p->chain[i], (int)i, v, &cp)) != ERR_OK ||
            (rc = proof_cert_check(&p->chain[i], (int)i, subject, v)) != ERR_OK) {
            return rc;
        }
        subject = p->chain[i].key;
    }
    if (sodium_memcmp(subject, root, KEY_PUBLIC_SIZE) != 0) {
        char k[PROOF_B64_32 + 1], rk[PROOF_B64_32 + 1];
        sodium_bin2base64(k, sizeof k, subject, KEY_PUBLIC_SIZE, sodium_base64_VARIANT_ORIGINAL);
        sodium_bin2base64(rk, sizeof rk, root, KEY_PUBLIC_SIZE, sodium_base64_VARIANT_ORIGINAL);
        v->role[0] = '\0';
        return proof_fail(v, p->chain_count > 0 ? (int)p->chain_count - 1 : -1, PROOF_FAIL_ROOT,
                          ERR_AUTH, NULL,
                          "the chain ends at key %s, which is not the pinned root %s", k, rk);
    }
    v->size = size;
    v->section = -1;
    return ERR_OK;
}
