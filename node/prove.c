/*
 * Record proofs from a replica (prove.h): reads the leaf, its inclusion proof and the stored
 * checkpoint of each log involved, appends the cosignatures held for exactly that checkpoint,
 * and follows the signer's certificates towards the pinned root as the trust state (node/trust.h)
 * last evaluated them. Read-only: it writes nothing, so it runs on a replica opened read-only.
 */
#include "prove.h"

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cosig.h"
#include "log.h"
#include "note.h"
#include "store.h"
#include "trust.h"
#include "witness.h"

/* proto/ cannot include node/trust.h, so the proof format has its own name for the bound. */
static_assert(PROOF_CHAIN_MAX == TRUST_DEPTH_MAX,
              "a proof carries the deepest chain trust evaluation accepts");

static void
prove_key_b64(const uint8_t key[KEY_PUBLIC_SIZE], char out[48])
{
    sodium_bin2base64(out, 48, key, KEY_PUBLIC_SIZE, sodium_base64_VARIANT_ORIGINAL);
}

/* Cosignatures to append to a note: those of exactly (size, root), while the note stays within
 * what every reader accepts (NOTE_SIZE_MAX bytes, NOTE_SIGNATURES_MAX signature lines). */
struct prove_cosig_ctx {
    uint64_t size;
    uint8_t root[HASH_SIZE];
    uint8_t *note; /* borrowed: NOTE_SIZE_MAX bytes */
    size_t *len;
    unsigned lines; /* signature lines in the note so far */
    int done;       /* the rows left are of smaller sizes */
};

static err_code
prove_cosig_cb(void *ctx, const struct witness_cosig *c)
{
    struct prove_cosig_ctx *x = ctx;
    uint8_t line[COSIG_LINE_SIZE_MAX];
    size_t n = 0;
    if (c->size < x->size) {
        x->done = 1;
        return ERR_AGAIN; /* rows come largest size first: stop the walk (not an error) */
    }
    if (c->size != x->size || sodium_memcmp(c->root, x->root, HASH_SIZE) != 0) {
        return ERR_OK; /* another checkpoint's */
    }
    err_code rc = witness_cosig_line(c, line, &n);
    if (rc != ERR_OK) {
        return rc;
    }
    if (x->lines < NOTE_SIGNATURES_MAX && *x->len + n <= NOTE_SIZE_MAX) {
        memcpy(x->note + *x->len, line, n);
        *x->len += n;
        x->lines++;
    }
    return ERR_OK;
}

/* Fills s with leaf index of log h: the leaf, the proof to the stored checkpoint and the note
 * with its cosignatures. ERR_NOTFOUND (why set) when no stored checkpoint covers the leaf. */
static err_code
prove_section(struct store *st, const struct log_head *h, uint64_t index, const char *what,
              struct proof_section *s, char why[PROVE_WHY_SIZE])
{
    char k[48];
    uint64_t cp_size = 0;
    struct checkpoint cp;
    prove_key_b64(h->key, k);
    err_code rc = log_checkpoint_get(st, h->id, s->note, &s->note_len, &cp_size);
    if (rc == ERR_NOTFOUND || (rc == ERR_OK && cp_size <= index)) {
        snprintf(why, PROVE_WHY_SIZE,
                 "no signed checkpoint of log %s covers %s (leaf %llu; the stored one covers %llu)",
                 k, what, (unsigned long long)index,
                 (unsigned long long)(rc == ERR_OK ? cp_size : 0));
        return ERR_NOTFOUND;
    }
    if (rc != ERR_OK) {
        return rc;
    }
    /* The stored note was verified when it was stored; parse it again for its root. */
    if ((rc = note_parse_checkpoint(s->note, s->note_len, &cp)) != ERR_OK) {
        return ERR_CORRUPT_HERE;
    }
    if (cp.size != cp_size || cp_size > h->size) {
        return ERR_CORRUPT_HERE;
    }
    memcpy(s->key, h->key, KEY_PUBLIC_SIZE);
    s->index = index;
    if ((rc = log_leaf_read(st, h->id, index, &s->leaf, &s->leaf_len)) != ERR_OK ||
        (rc = log_prove_inclusion(st, h, index, cp_size, s->hash, &s->hash_count)) != ERR_OK) {
        return rc;
    }
    struct prove_cosig_ctx x = {.size = cp_size, .note = s->note, .len = &s->note_len};
    memcpy(x.root, cp.root, HASH_SIZE);
    /* Count the signature lines: every newline after the blank line. */
    for (size_t i = 1, after = 0; i < s->note_len; i++) {
        if (after && s->note[i] == '\n') {
            x.lines++;
        }
        after |= s->note[i] == '\n' && s->note[i - 1] == '\n';
    }
    rc = witness_cosigs_of(st, h->id, BUNDLE_COSIGS_PER_LOG_MAX, prove_cosig_cb, &x);
    return rc == ERR_AGAIN && x.done ? ERR_OK : rc;
}

/* The grant to follow from one key towards the root: the one whose issuer is closest to it
 * (smallest depth), a hub grant above the signer. */
struct prove_grant_ctx {
    struct store *st;
    const uint8_t *key;
    int need_hub;
    unsigned depth_max; /* the issuer must be shallower than the key */
    int found;
    unsigned depth;
    uint8_t issuer[KEY_PUBLIC_SIZE];
    uint64_t issuer_index;
};

static err_code
prove_depth_cb(void *ctx, const struct trust_device *d)
{
    *(unsigned *)ctx = d->depth;
    return ERR_OK;
}

static err_code
prove_grant_cb(void *ctx, const struct trust_grant *g)
{
    struct prove_grant_ctx *x = ctx;
    unsigned depth = 0;
    if (g->role == TRUST_ROOT || (x->need_hub && g->role != TRUST_HUB) ||
        memcmp(g->issuer, x->key, KEY_PUBLIC_SIZE) == 0) {
        return ERR_OK;
    }
    err_code rc = trust_device_get(x->st, g->issuer, prove_depth_cb, &depth);
    if (rc == ERR_NOTFOUND) {
        return ERR_OK; /* the issuer lost its chain since the grant: not a way up */
    }
    if (rc != ERR_OK) {
        return rc;
    }
    if (depth < x->depth_max && (!x->found || depth < x->depth)) {
        x->found = 1;
        x->depth = depth;
        memcpy(x->issuer, g->issuer, KEY_PUBLIC_SIZE);
        x->issuer_index = g->issuer_index;
    }
    return ERR_OK;
}

/* Why a leaf is held, when it is: *held 0 when it counts. */
static err_code
prove_held(struct store *st, int64_t log_id, uint64_t index, int *held, char *reason, size_t cap)
{
    static const char sql[] = "SELECT reason, detail FROM quarantine WHERE id=?1";
    sqlite3_stmt *s = store_stmt(st, sql);
    *held = 0;
    if (s == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_int64(s, 1, log_leaf_rowid(log_id, index));
    int rc = sqlite3_step(s);
    err_code e = ERR_OK;
    if (rc == SQLITE_ROW) {
        const char *detail = (const char *)sqlite3_column_text(s, 1);
        *held = 1;
        snprintf(reason, cap, "%s%s%s",
                 trust_reason_name((enum trust_reason)sqlite3_column_int(s, 0)),
                 detail != NULL ? ": " : "", detail != NULL ? detail : "");
    } else if (rc != SQLITE_DONE) {
        e = store_err(st, rc, "quarantine get");
    }
    sqlite3_reset(s);
    return e;
}

err_code
prove_build(struct store *st, const uint8_t key[KEY_PUBLIC_SIZE], uint64_t index, int allow_held,
            struct proof **out, char why[PROVE_WHY_SIZE])
{
    struct proof *p = NULL;
    struct log_head h;
    uint8_t root[KEY_PUBLIC_SIZE];
    char k[48], reason[TRUST_DETAIL_SIZE + 32];
    int pinned = 0, held = 0;
    unsigned depth = 0;
    *out = NULL;
    why[0] = '\0';
    prove_key_b64(key, k);
    err_code rc = trust_root(st, root, &pinned);
    if (rc != ERR_OK) {
        return rc;
    }
    if (!pinned) {
        snprintf(why, PROVE_WHY_SIZE,
                 "this replica pins no root (open mode): there is no certificate chain to prove");
        return ERR_DENIED;
    }
    if ((rc = log_get(st, key, &h)) == ERR_NOTFOUND) {
        snprintf(why, PROVE_WHY_SIZE, "this replica holds no log with key %s", k);
        return rc;
    }
    if (rc != ERR_OK) {
        return rc;
    }
    if (index >= h.size) {
        snprintf(why, PROVE_WHY_SIZE, "leaf %llu does not exist: log %s holds %llu leaves",
                 (unsigned long long)index, k, (unsigned long long)h.size);
        return ERR_NOTFOUND;
    }
    if ((rc = prove_held(st, h.id, index, &held, reason, sizeof reason)) != ERR_OK) {
        return rc;
    }
    if (held && !allow_held) {
        snprintf(why, PROVE_WHY_SIZE,
                 "leaf %llu of log %s is held in quarantine (%s): it does not count "
                 "(--allow-held proves it anyway)",
                 (unsigned long long)index, k, reason);
        return ERR_DENIED;
    }
    rc = trust_device_get(st, key, prove_depth_cb, &depth);
    if (rc == ERR_NOTFOUND) {
        snprintf(why, PROVE_WHY_SIZE,
                 "the signer %s has no valid chain of certificates to the pinned root", k);
        return ERR_DENIED;
    }
    if (rc != ERR_OK || (rc = proof_new(&p)) != ERR_OK) {
        return rc;
    }
    if ((rc = prove_section(st, &h, index, "the record", &p->record, why)) != ERR_OK) {
        goto out;
    }
    /* Up the chain: each step moves to a strictly shallower issuer, so at most depth steps
     * (<= TRUST_DEPTH_MAX = PROOF_CHAIN_MAX) reach the root at depth 0. */
    const uint8_t *cur = key;
    while (sodium_memcmp(cur, root, KEY_PUBLIC_SIZE) != 0) {
        struct prove_grant_ctx x = {
            .st = st, .key = cur, .need_hub = p->chain_count > 0, .depth_max = depth};
        char ck[48];
        prove_key_b64(cur, ck);
        if (p->chain_count == PROOF_CHAIN_MAX) {
            snprintf(why, PROVE_WHY_SIZE, "the chain of %s is longer than %u certificates", k,
                     PROOF_CHAIN_MAX);
            rc = ERR_DENIED;
            goto out;
        }
        rc = trust_grants(st, cur, prove_grant_cb, &x);
        if (rc != ERR_OK && rc != ERR_NOTFOUND) {
            goto out;
        }
        if (!x.found) {
            snprintf(why, PROVE_WHY_SIZE,
                     p->chain_count == 0
                         ? "the signer %s has no valid chain of certificates to the pinned root"
                         : "issuer %s has no valid hub certificate towards the pinned root",
                     ck);
            rc = ERR_DENIED;
            goto out;
        }
        struct proof_section *s = &p->chain[p->chain_count];
        struct log_head ih;
        if ((rc = log_get(st, x.issuer, &ih)) == ERR_NOTFOUND) {
            char ik[48];
            prove_key_b64(x.issuer, ik);
            snprintf(why, PROVE_WHY_SIZE,
                     "this replica does not hold the log of %s, which certified %s", ik, ck);
            goto out;
        }
        if (rc != ERR_OK) {
            goto out;
        }
        if (x.issuer_index >= ih.size) {
            rc = ERR_CORRUPT_HERE; /* trust evaluated a certificate from a leaf not held */
            goto out;
        }
        if ((rc = prove_section(st, &ih, x.issuer_index, "a certificate", s, why)) != ERR_OK) {
            goto out;
        }
        p->chain_count++;
        depth = x.depth;
        cur = s->key;
    }
    *out = p;
    p = NULL; /* ownership moved to *out */
out:
    proof_free(p);
    return rc;
}
