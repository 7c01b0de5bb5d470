/*
 * Witnessing and equivocation (witness.h): verifying and storing proofs that a device signed two
 * histories, co-signing the checkpoints this replica holds (C2SP tlog-witness), and reading both
 * back for export, `cdht witness`, `cdht log equivocations`, status and audit. node/exchange.c
 * finds equivocations on import and carries proofs and cosignatures in bundles; this file owns
 * the tables `equivocation` and `cosig` (node/store.c, migration 3).
 */
#include "witness.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cosig.h"
#include "diag.h"
#include "hlc.h"
#include "log.h"
#include "merkle.h"
#include "note.h"
#include "replica.h"
#include "store.h"
#include "trust.h"

/* Meta keys: the proof hashes of equivocation row <id> (the table has no column for them, and a
 * proof received from elsewhere cannot be recomputed here), and the note this device last
 * co-signed of a log (an inconsistent successor is proven against it). */
#define WITNESS_META_PROOF "equivocation-proof/"
#define WITNESS_META_NOTE "witness-note/"
#define WITNESS_META_KEY_SIZE 96u
#define WITNESS_PROOF_META_SIZE_MAX (1u + MERKLE_PROOF_HASHES_MAX * HASH_SIZE)

static_assert(sizeof WITNESS_META_NOTE - 1 + 2 * KEY_PUBLIC_SIZE < WITNESS_META_KEY_SIZE,
              "a note meta key fits");

static void
witness_meta_note_key(const uint8_t key[KEY_PUBLIC_SIZE], char out[WITNESS_META_KEY_SIZE])
{
    char hex[2 * KEY_PUBLIC_SIZE + 1];
    sodium_bin2hex(hex, sizeof hex, key, KEY_PUBLIC_SIZE);
    snprintf(out, WITNESS_META_KEY_SIZE, "%s%s", WITNESS_META_NOTE, hex);
}

/* Verifies one note of a proof with the log's key; malformed is ERR_CORRUPT, whatever limit
 * it broke, since a proof's notes were bounded by the record that carried them. */
static err_code
witness_note_check(const uint8_t key[KEY_PUBLIC_SIZE], const uint8_t *note, size_t len,
                   struct checkpoint *cp)
{
    char name[NOTE_LOG_NAME_SIZE + 1];
    note_log_name(key, name);
    err_code rc = note_verify_checkpoint(note, len, name, key, cp);
    if (rc != ERR_OK) {
        return rc == ERR_AUTH ? ERR_AUTH : ERR_CORRUPT;
    }
    if (strcmp(cp->origin, name) != 0) {
        return ERR_CORRUPT_HERE;
    }
    return ERR_OK;
}

err_code
witness_proof_verify(const struct witness_proof *p, uint64_t *size_a, uint64_t *size_b)
{
    struct checkpoint a, b;
    ASSERT(p != NULL);
    err_code rc = witness_note_check(p->key, p->note_a, p->note_a_len, &a);
    if (rc != ERR_OK || (rc = witness_note_check(p->key, p->note_b, p->note_b_len, &b)) != ERR_OK) {
        return rc;
    }
    if (p->count > MERKLE_PROOF_HASHES_MAX) {
        return ERR_CORRUPT_HERE;
    }
    const struct checkpoint *small = a.size <= b.size ? &a : &b;
    const struct checkpoint *large = a.size <= b.size ? &b : &a;
    if (small->size == large->size) {
        /* One size, two roots: nothing to compute. */
        if (p->count != 0 || sodium_memcmp(a.root, b.root, HASH_SIZE) == 0) {
            return ERR_AUTH;
        }
    } else {
        /* The empty tree is a prefix of every tree: a size-0 note proves nothing. */
        if (small->size == 0) {
            return ERR_AUTH;
        }
        uint8_t old_root[HASH_SIZE], new_root[HASH_SIZE];
        if (merkle_consistency_roots(small->size, large->size,
                                     (const uint8_t(*)[HASH_SIZE])p->proof, p->count, old_root,
                                     new_root) != ERR_OK) {
            return ERR_AUTH;
        }
        if (sodium_memcmp(new_root, large->root, HASH_SIZE) != 0 ||
            sodium_memcmp(old_root, small->root, HASH_SIZE) == 0) {
            return ERR_AUTH;
        }
    }
    /* Both histories differ within the smaller one, so they share fewer leaves than it has. */
    if (p->prefix >= small->size) {
        return ERR_INVAL;
    }
    if (size_a != NULL) {
        *size_a = a.size;
    }
    if (size_b != NULL) {
        *size_b = b.size;
    }
    return ERR_OK;
}

err_code
witness_proof_build(struct witness_proof *p,
                    err_code (*leaf_fn)(void *ctx, uint64_t index, uint8_t out[HASH_SIZE]),
                    void *ctx)
{
    struct checkpoint a, b;
    ASSERT(p != NULL);
    ASSERT(leaf_fn != NULL);
    if (note_parse_checkpoint(p->note_a, p->note_a_len, &a) != ERR_OK ||
        note_parse_checkpoint(p->note_b, p->note_b_len, &b) != ERR_OK) {
        return ERR_CORRUPT_HERE;
    }
    p->count = 0;
    if (a.size != b.size) {
        uint64_t small = a.size < b.size ? a.size : b.size;
        uint64_t large = a.size < b.size ? b.size : a.size;
        if (small == 0) {
            return ERR_AUTH;
        }
        err_code rc =
            merkle_consistency_proof_full(leaf_fn, ctx, small, large, p->proof, &p->count);
        if (rc != ERR_OK) {
            return rc;
        }
    }
    err_code rc = witness_proof_verify(p, NULL, NULL);
    return rc == ERR_INVAL ? ERR_AUTH : rc;
}

err_code
witness_proof_store(struct store *st, const struct witness_proof *p, int64_t found_ms, int *added)
{
    static const char sql[] = "INSERT OR IGNORE INTO equivocation(log_key, note_a, note_b, prefix,"
                              " found_ms) VALUES(?1, ?2, ?3, ?4, ?5)";
    ASSERT(p != NULL);
    ASSERT(p->count <= MERKLE_PROOF_HASHES_MAX);
    *added = 0;
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_blob(s, 1, p->key, KEY_PUBLIC_SIZE, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, p->note_a, (int)p->note_a_len, SQLITE_STATIC);
    sqlite3_bind_blob(s, 3, p->note_b, (int)p->note_b_len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, (int64_t)p->prefix);
    sqlite3_bind_int64(s, 5, found_ms);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        return store_err(st, rc, "equivocation insert");
    }
    if (sqlite3_changes(st->db) == 0) {
        return ERR_OK; /* held already */
    }
    int64_t id = sqlite3_last_insert_rowid(st->db);
    char mkey[WITNESS_META_KEY_SIZE];
    uint8_t val[WITNESS_PROOF_META_SIZE_MAX];
    snprintf(mkey, sizeof mkey, "%s%lld", WITNESS_META_PROOF, (long long)id);
    val[0] = (uint8_t)p->count;
    memcpy(val + 1, p->proof, p->count * HASH_SIZE);
    err_code e = store_meta_put(st, mkey, val, 1 + p->count * HASH_SIZE);
    if (e == ERR_OK) {
        *added = 1;
    }
    return e;
}

/* Copies a BLOB column of at most cap bytes; ERR_CORRUPT for any other size. */
static err_code
witness_col_blob(sqlite3_stmt *s, int col, uint8_t *out, size_t cap, size_t min, size_t *len)
{
    size_t n = (size_t)sqlite3_column_bytes(s, col);
    if (n < min || n > cap) {
        return ERR_CORRUPT_HERE;
    }
    if (n > 0) {
        memcpy(out, sqlite3_column_blob(s, col), n);
    }
    if (len != NULL) {
        *len = n;
    }
    return ERR_OK;
}

err_code
witness_proofs(struct store *st, witness_proof_fn fn, void *ctx)
{
    sqlite3_stmt *s = NULL;
    struct witness_proof *p = malloc(sizeof *p);
    if (p == NULL) {
        return ERR_NOMEM;
    }
    /* Not a cached statement: fn may use the cache, and this loop keeps its cursor. */
    int rc = sqlite3_prepare_v2(st->db,
                                "SELECT id, log_key, note_a, note_b, prefix FROM equivocation"
                                " ORDER BY id",
                                -1, &s, NULL);
    err_code e = rc == SQLITE_OK ? ERR_OK : store_err(st, rc, "equivocation list");
    while (e == ERR_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        memset(p, 0, sizeof *p);
        int64_t id = sqlite3_column_int64(s, 0);
        if ((e = witness_col_blob(s, 1, p->key, KEY_PUBLIC_SIZE, KEY_PUBLIC_SIZE, NULL)) !=
                ERR_OK ||
            (e = witness_col_blob(s, 2, p->note_a, NOTE_SIZE_MAX, 1, &p->note_a_len)) != ERR_OK ||
            (e = witness_col_blob(s, 3, p->note_b, NOTE_SIZE_MAX, 1, &p->note_b_len)) != ERR_OK) {
            break;
        }
        p->prefix = (uint64_t)sqlite3_column_int64(s, 4);
        char mkey[WITNESS_META_KEY_SIZE];
        uint8_t val[WITNESS_PROOF_META_SIZE_MAX];
        size_t vlen = 0;
        snprintf(mkey, sizeof mkey, "%s%lld", WITNESS_META_PROOF, (long long)id);
        if ((e = store_meta_get(st, mkey, val, sizeof val, &vlen)) != ERR_OK) {
            e = e == ERR_NOTFOUND || e == ERR_MSGSIZE ? ERR_CORRUPT_HERE : e;
            break;
        }
        if (vlen < 1 || val[0] > MERKLE_PROOF_HASHES_MAX || vlen != 1u + val[0] * HASH_SIZE) {
            e = ERR_CORRUPT_HERE;
            break;
        }
        p->count = val[0];
        memcpy(p->proof, val + 1, p->count * HASH_SIZE);
        e = fn(ctx, p);
    }
    if (e == ERR_OK && rc != SQLITE_DONE) {
        e = store_err(st, rc, "equivocation list");
    }
    sqlite3_finalize(s);
    free(p);
    return e;
}

err_code
witness_equivocations(struct store *st, witness_equivocation_fn fn, void *ctx)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db,
                                "SELECT id, log_key, note_a, note_b, prefix, found_ms"
                                " FROM equivocation ORDER BY log_key, id",
                                -1, &s, NULL);
    err_code e = rc == SQLITE_OK ? ERR_OK : store_err(st, rc, "equivocation list");
    while (e == ERR_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct witness_equivocation q;
        struct checkpoint a, b;
        memset(&q, 0, sizeof q);
        q.id = sqlite3_column_int64(s, 0);
        if ((e = witness_col_blob(s, 1, q.key, KEY_PUBLIC_SIZE, KEY_PUBLIC_SIZE, NULL)) != ERR_OK) {
            break;
        }
        /* The notes were verified before they were stored; only their sizes are shown. */
        if (note_parse_checkpoint(sqlite3_column_blob(s, 2), (size_t)sqlite3_column_bytes(s, 2),
                                  &a) != ERR_OK ||
            note_parse_checkpoint(sqlite3_column_blob(s, 3), (size_t)sqlite3_column_bytes(s, 3),
                                  &b) != ERR_OK) {
            e = ERR_CORRUPT_HERE;
            break;
        }
        q.size_a = a.size;
        q.size_b = b.size;
        q.prefix = (uint64_t)sqlite3_column_int64(s, 4);
        q.found_ms = sqlite3_column_int64(s, 5);
        e = fn(ctx, &q);
    }
    if (e == ERR_OK && rc != SQLITE_DONE) {
        e = store_err(st, rc, "equivocation list");
    }
    sqlite3_finalize(s);
    return e;
}

err_code
witness_equivocation_count(struct store *st, uint64_t *count)
{
    static const char sql[] = "SELECT count(*) FROM equivocation";
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL) {
        return ERR_DB;
    }
    int rc = sqlite3_step(s);
    *count = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? ERR_OK : store_err(st, rc, "equivocation count");
}

err_code
witness_frozen(struct store *st, const uint8_t key[KEY_PUBLIC_SIZE], int *frozen, uint64_t *prefix)
{
    static const char sql[] = "SELECT min(prefix) FROM equivocation WHERE log_key=?1";
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_blob(s, 1, key, KEY_PUBLIC_SIZE, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    *frozen = rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL;
    *prefix = *frozen ? (uint64_t)sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? ERR_OK : store_err(st, rc, "equivocation frozen");
}

/* ---- cosignatures ----------------------------------------------------------------------- */

/* The checkpoint body a cosignature of log_key at (size, root) signs, and the struct cosig of
 * witness's line. */
static void
witness_cosig_parts(const uint8_t log_key[KEY_PUBLIC_SIZE], const struct witness_cosig *c,
                    struct checkpoint *cp, struct cosig *cs)
{
    memset(cp, 0, sizeof *cp);
    memset(cs, 0, sizeof *cs);
    note_log_name(log_key, cp->origin);
    cp->size = c->size;
    memcpy(cp->root, c->root, HASH_SIZE);
    note_log_name(c->witness, cs->name);
    cosig_key_id(cs->name, c->witness, cs->key_id);
    cs->time_s = c->time_s;
    memcpy(cs->sig, c->sig, SIG_SIZE);
}

err_code
witness_cosig_verify(const uint8_t log_key[KEY_PUBLIC_SIZE], const struct witness_cosig *c)
{
    struct checkpoint cp;
    struct cosig cs;
    char name[NOTE_LOG_NAME_SIZE + 1];
    witness_cosig_parts(log_key, c, &cp, &cs);
    note_log_name(c->witness, name);
    return cosig_verify(&cs, &cp, name, c->witness);
}

err_code
witness_cosig_line(const struct witness_cosig *c, uint8_t *out, size_t *len)
{
    struct checkpoint cp;
    struct cosig cs;
    uint8_t unused[KEY_PUBLIC_SIZE] = {0};
    witness_cosig_parts(unused, c, &cp, &cs);
    return cosig_encode(&cs, out, len);
}

err_code
witness_cosig_check(const uint8_t log_key[KEY_PUBLIC_SIZE], const uint8_t witness[KEY_PUBLIC_SIZE],
                    uint64_t size, const uint8_t root[HASH_SIZE], const uint8_t *line,
                    size_t line_len, struct witness_cosig *out)
{
    struct cosig cs;
    struct checkpoint cp;
    char name[NOTE_LOG_NAME_SIZE + 1];
    err_code rc = cosig_parse(line, line_len, &cs);
    if (rc != ERR_OK) {
        return ERR_CORRUPT;
    }
    memset(&cp, 0, sizeof cp);
    note_log_name(log_key, cp.origin);
    cp.size = size;
    memcpy(cp.root, root, HASH_SIZE);
    note_log_name(witness, name);
    if ((rc = cosig_verify(&cs, &cp, name, witness)) != ERR_OK) {
        return rc;
    }
    memset(out, 0, sizeof *out);
    memcpy(out->witness, witness, KEY_PUBLIC_SIZE);
    out->size = size;
    memcpy(out->root, root, HASH_SIZE);
    out->time_s = cs.time_s;
    memcpy(out->sig, cs.sig, SIG_SIZE);
    return ERR_OK;
}

err_code
witness_cosig_put(struct store *st, const struct witness_cosig *c)
{
    static const char sql[] = "INSERT OR IGNORE INTO cosig(log_id, witness, size, root, time, sig)"
                              " VALUES(?1, ?2, ?3, ?4, ?5, ?6)";
    ASSERT(c->time_s <= COSIG_TIME_S_MAX);
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_int64(s, 1, c->log_id);
    sqlite3_bind_blob(s, 2, c->witness, KEY_PUBLIC_SIZE, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, (int64_t)c->size);
    sqlite3_bind_blob(s, 4, c->root, HASH_SIZE, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, (int64_t)c->time_s);
    sqlite3_bind_blob(s, 6, c->sig, SIG_SIZE, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? ERR_OK : store_err(st, rc, "cosig insert");
}

/* Reads columns log_id, witness, size, root, time, sig starting at col 0. */
static err_code
witness_cosig_row(sqlite3_stmt *s, struct witness_cosig *c)
{
    memset(c, 0, sizeof *c);
    c->log_id = sqlite3_column_int64(s, 0);
    err_code e = witness_col_blob(s, 1, c->witness, KEY_PUBLIC_SIZE, KEY_PUBLIC_SIZE, NULL);
    if (e == ERR_OK) {
        e = witness_col_blob(s, 3, c->root, HASH_SIZE, HASH_SIZE, NULL);
    }
    if (e == ERR_OK) {
        e = witness_col_blob(s, 5, c->sig, SIG_SIZE, SIG_SIZE, NULL);
    }
    int64_t size = sqlite3_column_int64(s, 2), t = sqlite3_column_int64(s, 4);
    if (e == ERR_OK && (size < 0 || t < 0 || t > COSIG_TIME_S_MAX)) {
        e = ERR_CORRUPT_HERE;
    }
    c->size = (uint64_t)size;
    c->time_s = (uint64_t)t;
    return e;
}

err_code
witness_cosigs_of(struct store *st, int64_t log_id, uint64_t max, witness_cosig_fn fn, void *ctx)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db,
                                "SELECT log_id, witness, size, root, time, sig FROM cosig"
                                " WHERE log_id=?1 ORDER BY size DESC, witness LIMIT ?2",
                                -1, &s, NULL);
    err_code e = rc == SQLITE_OK ? ERR_OK : store_err(st, rc, "cosig list");
    if (e == ERR_OK) {
        sqlite3_bind_int64(s, 1, log_id);
        sqlite3_bind_int64(s, 2, (int64_t)max);
    }
    while (e == ERR_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct witness_cosig c;
        if ((e = witness_cosig_row(s, &c)) == ERR_OK) {
            e = fn(ctx, &c);
        }
    }
    if (e == ERR_OK && rc != SQLITE_DONE) {
        e = store_err(st, rc, "cosig list");
    }
    sqlite3_finalize(s);
    return e;
}

err_code
witness_cosigs(struct store *st, witness_cosig_list_fn fn, void *ctx)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db,
                                "SELECT c.log_id, c.witness, c.size, c.root, c.time, c.sig, l.key"
                                " FROM cosig c JOIN log l ON l.id = c.log_id"
                                " ORDER BY l.key, c.size, c.witness",
                                -1, &s, NULL);
    err_code e = rc == SQLITE_OK ? ERR_OK : store_err(st, rc, "cosig list");
    while (e == ERR_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct witness_cosig c;
        uint8_t key[KEY_PUBLIC_SIZE];
        if ((e = witness_cosig_row(s, &c)) == ERR_OK &&
            (e = witness_col_blob(s, 6, key, KEY_PUBLIC_SIZE, KEY_PUBLIC_SIZE, NULL)) == ERR_OK) {
            e = fn(ctx, key, &c);
        }
    }
    if (e == ERR_OK && rc != SQLITE_DONE) {
        e = store_err(st, rc, "cosig list");
    }
    sqlite3_finalize(s);
    return e;
}

err_code
witness_first_seen(struct store *st, int64_t log_id, uint64_t index, int64_t *time_s, int *found)
{
    static const char sql[] = "SELECT min(time) FROM cosig WHERE log_id=?1 AND size>?2";
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_int64(s, 1, log_id);
    sqlite3_bind_int64(s, 2, (int64_t)index);
    int rc = sqlite3_step(s);
    *found = rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL;
    *time_s = *found ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? ERR_OK : store_err(st, rc, "cosig first seen");
}

/* ---- co-signing ------------------------------------------------------------------------- */

struct witness_leaves {
    struct store *st;
    int64_t log_id;
};

static err_code
witness_leaf_fn(void *ctx, uint64_t index, uint8_t out[HASH_SIZE])
{
    struct witness_leaves *w = ctx;
    return log_leaf_hash(w->st, w->log_id, index, out);
}

struct witness_cosign_ctx {
    struct replica *r;
    const uint8_t *only_key;
    struct witness_report *rep;
    int found; /* only_key was held with a checkpoint */
    int64_t now_s;
};

/* The last cosignature of log_id by witness: *found 0 when none. */
static err_code
witness_last_cosig(struct store *st, int64_t log_id, const uint8_t witness[KEY_PUBLIC_SIZE],
                   uint64_t *size, uint8_t root[HASH_SIZE], int *found)
{
    static const char sql[] = "SELECT size, root FROM cosig WHERE log_id=?1 AND witness=?2"
                              " ORDER BY size DESC LIMIT 1";
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_int64(s, 1, log_id);
    sqlite3_bind_blob(s, 2, witness, KEY_PUBLIC_SIZE, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    err_code e = ERR_OK;
    *found = 0;
    if (rc == SQLITE_ROW) {
        *found = 1;
        *size = (uint64_t)sqlite3_column_int64(s, 0);
        e = witness_col_blob(s, 1, root, HASH_SIZE, HASH_SIZE, NULL);
    } else if (rc != SQLITE_DONE) {
        e = store_err(st, rc, "cosig last");
    }
    sqlite3_reset(s);
    return e;
}

/* The current checkpoint is inconsistent with the one co-signed before: prove it against the
 * note kept then (when still at hand and it is that checkpoint), with the leaves held, which
 * are the current checkpoint's history. The leaves both histories share cannot be told from
 * here, so the proof's prefix is 0. */
static err_code
witness_refuse(struct witness_cosign_ctx *x, const struct log_head *h, const uint8_t *note,
               size_t note_len, uint64_t last_size, const uint8_t last_root[HASH_SIZE])
{
    struct store *st = x->r->st;
    char mkey[WITNESS_META_KEY_SIZE];
    x->rep->inconsistent++;
    diag_warn("WITNESS-INCONSISTENT",
              "log %lld: checkpoint is inconsistent with the one co-signed at size %llu; "
              "not co-signed",
              (long long)h->id, (unsigned long long)last_size);
    struct witness_proof *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return ERR_NOMEM;
    }
    witness_meta_note_key(h->key, mkey);
    err_code rc = store_meta_get(st, mkey, p->note_a, sizeof p->note_a, &p->note_a_len);
    struct checkpoint old;
    if (rc == ERR_NOTFOUND || rc == ERR_MSGSIZE ||
        (rc == ERR_OK &&
         (note_parse_checkpoint(p->note_a, p->note_a_len, &old) != ERR_OK ||
          old.size != last_size || sodium_memcmp(old.root, last_root, HASH_SIZE) != 0))) {
        free(p);
        return ERR_OK; /* nothing signed by the log to prove it with */
    }
    if (rc != ERR_OK) {
        free(p);
        return rc;
    }
    memcpy(p->key, h->key, KEY_PUBLIC_SIZE);
    memcpy(p->note_b, note, note_len);
    p->note_b_len = note_len;
    p->prefix = 0;
    struct witness_leaves lv = {.st = st, .log_id = h->id};
    int added = 0;
    rc = witness_proof_build(p, witness_leaf_fn, &lv);
    if (rc == ERR_OK) {
        rc = witness_proof_store(st, p, hlc_wall_ms(), &added);
    } else if (rc == ERR_AUTH) {
        rc = ERR_OK; /* the notes do not prove it (the older one's key or form): keep refusing */
    }
    free(p);
    if (rc == ERR_OK && added) {
        x->rep->equivocations++;
    }
    return rc;
}

static err_code
witness_cosign_log(void *ctx, const struct log_head *h)
{
    struct witness_cosign_ctx *x = ctx;
    struct store *st = x->r->st;
    if (x->only_key != NULL && memcmp(x->only_key, h->key, KEY_PUBLIC_SIZE) != 0) {
        return ERR_OK;
    }
    uint8_t note[NOTE_SIZE_MAX];
    size_t note_len = 0;
    uint64_t cp_size = 0;
    err_code rc = log_checkpoint_get(st, h->id, note, &note_len, &cp_size);
    if (rc == ERR_NOTFOUND) {
        return ERR_OK;
    }
    if (rc != ERR_OK) {
        return rc;
    }
    x->found = 1;
    if (cp_size == 0) {
        return ERR_OK; /* the empty tree: every history extends it, nothing to witness */
    }
    char name[NOTE_LOG_NAME_SIZE + 1];
    struct checkpoint cp;
    note_log_name(h->key, name);
    if (note_verify_checkpoint(note, note_len, name, h->key, &cp) != ERR_OK || cp.size != cp_size ||
        cp.size > h->size) {
        return ERR_CORRUPT_HERE; /* verified when stored: the database was damaged */
    }
    /* The witness's own leaves must show the checkpoint: it co-signs what it holds. */
    uint8_t root[HASH_SIZE];
    if ((rc = log_root_at(st, h, cp.size, root)) != ERR_OK) {
        return rc;
    }
    if (sodium_memcmp(root, cp.root, HASH_SIZE) != 0) {
        return ERR_CORRUPT_HERE;
    }
    uint64_t last_size = 0;
    uint8_t last_root[HASH_SIZE];
    int have_last = 0;
    if ((rc = witness_last_cosig(st, h->id, x->r->pk, &last_size, last_root, &have_last)) !=
        ERR_OK) {
        return rc;
    }
    if (have_last && last_size >= cp.size) {
        if (last_size == cp.size && sodium_memcmp(last_root, cp.root, HASH_SIZE) != 0) {
            return witness_refuse(x, h, note, note_len, last_size, last_root);
        }
        x->rep->held++; /* never twice at one size, and never backwards */
        return ERR_OK;
    }
    if (have_last && last_size > 0) {
        uint8_t proof[MERKLE_PROOF_HASHES_MAX][HASH_SIZE];
        size_t n = 0;
        if ((rc = log_prove_consistency(st, h, last_size, cp.size, proof, &n)) != ERR_OK) {
            return rc;
        }
        if (merkle_verify_consistency(last_size, cp.size, last_root, cp.root,
                                      (const uint8_t(*)[HASH_SIZE])proof, n) != ERR_OK) {
            return witness_refuse(x, h, note, note_len, last_size, last_root);
        }
    }
    struct cosig cs;
    if ((rc = cosig_sign(&cp, (uint64_t)x->now_s, x->r->log_name, x->r->keys.sk, &cs)) != ERR_OK) {
        return rc;
    }
    struct witness_cosig c = {.log_id = h->id, .size = cp.size, .time_s = (uint64_t)x->now_s};
    memcpy(c.witness, x->r->pk, KEY_PUBLIC_SIZE);
    memcpy(c.root, cp.root, HASH_SIZE);
    memcpy(c.sig, cs.sig, SIG_SIZE);
    char mkey[WITNESS_META_KEY_SIZE];
    witness_meta_note_key(h->key, mkey);
    if ((rc = witness_cosig_put(st, &c)) == ERR_OK &&
        (rc = store_meta_put(st, mkey, note, note_len)) == ERR_OK) {
        x->rep->cosigned++;
    }
    return rc;
}

err_code
witness_cosign(struct replica *r, const uint8_t *only_key, struct witness_report *rep)
{
    ASSERT(r != NULL);
    ASSERT(rep != NULL);
    memset(rep, 0, sizeof *rep);
    if (!r->have_keys) {
        return ERR_INVAL;
    }
    int64_t now_ms = hlc_wall_ms();
    if (now_ms < 0 || now_ms / 1000 > COSIG_TIME_S_MAX) {
        return ERR_CLOCK;
    }
    struct witness_cosign_ctx x = {
        .r = r, .only_key = only_key, .rep = rep, .now_s = now_ms / 1000};
    err_code rc = store_begin(r->st);
    if (rc != ERR_OK) {
        return rc;
    }
    rc = log_foreach(r->st, witness_cosign_log, &x);
    if (rc == ERR_OK && only_key != NULL && !x.found) {
        rc = ERR_NOTFOUND;
    }
    if (rc == ERR_OK && rep->equivocations > 0) {
        rc = trust_reconcile(r->st, NULL);
    }
    if (rc == ERR_OK) {
        return store_commit(r->st);
    }
    store_rollback(r->st);
    memset(rep, 0, sizeof *rep);
    return rc;
}

static err_code
witness_hub_cb(void *ctx, const struct trust_grant *g)
{
    int *yes = ctx;
    if ((g->role & TRUST_HUB) != 0) {
        *yes = 1;
    }
    return ERR_OK;
}

err_code
witness_is_witness(struct replica *r, int *yes)
{
    uint8_t root[KEY_PUBLIC_SIZE];
    int pinned = 0;
    *yes = 0;
    err_code rc = trust_root(r->st, root, &pinned);
    if (rc != ERR_OK || !pinned) {
        return rc;
    }
    if (sodium_memcmp(root, r->pk, KEY_PUBLIC_SIZE) == 0) {
        *yes = 1;
        return ERR_OK;
    }
    rc = trust_grants(r->st, r->pk, witness_hub_cb, yes);
    return rc == ERR_NOTFOUND ? ERR_OK : rc;
}

err_code
witness_after_import(struct replica *r, struct witness_report *rep)
{
    int yes = 0;
    memset(rep, 0, sizeof *rep);
    err_code rc = witness_is_witness(r, &yes);
    if (rc != ERR_OK || !yes) {
        return rc;
    }
    return witness_cosign(r, NULL, rep);
}
