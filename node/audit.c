/*
 * The audit walks each log twice, in index order, with one range query each time. The first
 * walk (AUDIT_STATE) replays every leaf into a scratch replica through the admission path an
 * import takes, so that trust is evaluated again, independently, from nothing but the leaves,
 * the pinned root and the equivocation proofs. The second walk recomputes leaf hashes and the
 * Merkle root as it goes (a frontier, O(log n) memory), compares the root at each signed or
 * co-signed size with the signed one, and checks clocks against the witnesses. It trusts
 * nothing derived: not the stored hashes, not the stored head, not the checkpoint's claims,
 * not the quarantine. Scope (--unit) is decided from the re-evaluated trust state when there
 * is one, so that an edited trust table cannot hide a log from a scoped audit.
 */
#include "audit.h"

#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exchange.h"
#include "hlc.h"
#include "leaf.h"
#include "log.h"
#include "merge.h"
#include "merkle.h"
#include "note.h"
#include "replica.h"
#include "schema.h"
#include "store.h"
#include "trust.h"
#include "witness.h"

struct audit_ctx {
    struct store *st;
    struct store *scratch;     /* AUDIT_STATE: the logs replayed; NULL otherwise */
    struct store *trust_st;    /* where trust is read: the scratch when it ran, else st */
    struct trust_ctx *trust;   /* the scratch's admission state */
    int dirty;                 /* a trust leaf was replayed: reconcile before comparing */
    struct leaf_decoder *dec;  /* the walks' decoder */
    struct leaf_decoder *dec2; /* reading single leaves while a walk's leaf is still in use */
    const struct audit_opts *o;
    audit_fn fn;
    void *fn_ctx;
    struct audit_summary *sum;
    uint8_t root[KEY_PUBLIC_SIZE];
    int pinned;
    uint8_t *scope; /* --unit: the keys of devices in scope, sorted (owned) */
    size_t scope_n, scope_cap;
    /* The finding being reported: whether it is in scope, and its unit. */
    int cur_in;
    char cur_unit[AUDIT_UNIT_SIZE];
    char log_unit[AUDIT_UNIT_SIZE]; /* the current log's device grant unit, or "" */
    int log_in;                     /* the current log is in scope */
    int proofs_report; /* audit_proof_cb: 0 copies proofs into the scratch, 1 reports them */
    /* Without the replay (AUDIT_TRUST alone): an evaluation in memory judges every leaf as the
     * walk decodes it, against the quarantine as stored (rows ids and reasons, sorted). */
    struct trust_eval *eval;
    int64_t *held_id;
    int *held_reason;
    size_t held_n, held_cap;
};

static void audit_emit(struct audit_ctx *a, const uint8_t *key, int has_index, uint64_t index,
                       const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Reports a finding about a->cur_unit, unless it lies outside the audit's scope. */
static void
audit_emit(struct audit_ctx *a, const uint8_t *key, int has_index, uint64_t index, const char *kind,
           const char *fmt, ...)
{
    if (!a->cur_in) {
        return;
    }
    struct audit_finding f;
    memcpy(f.key, key, KEY_PUBLIC_SIZE);
    f.index = has_index ? index : 0;
    f.has_index = has_index;
    f.kind = kind;
    snprintf(f.unit, sizeof f.unit, "%s", a->cur_unit);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f.reason, sizeof f.reason, fmt, ap);
    va_end(ap);
    a->sum->findings++;
    a->fn(a->fn_ctx, &f);
}

#define audit_report(a, key, index, kind, ...)                                                     \
    audit_emit((a), (key), 1, (index), (kind), __VA_ARGS__)

/* ---------- scope and units ---------- */

static int
audit_key_cmp(const void *x, const void *y)
{
    return memcmp(x, y, KEY_PUBLIC_SIZE);
}

static int
audit_log_in_scope(const struct audit_ctx *a, const uint8_t key[KEY_PUBLIC_SIZE])
{
    if (a->o->unit == NULL || (a->pinned && memcmp(key, a->root, KEY_PUBLIC_SIZE) == 0)) {
        return 1;
    }
    return a->scope_n > 0 &&
           bsearch(key, a->scope, a->scope_n, KEY_PUBLIC_SIZE, audit_key_cmp) != NULL;
}

struct audit_grant_scan {
    struct audit_ctx *a;
    int in;                     /* a grant covers or lies inside --unit */
    char unit[AUDIT_UNIT_SIZE]; /* the first grant's unit */
};

static err_code
audit_grant_cb(void *ctx, const struct trust_grant *g)
{
    struct audit_grant_scan *s = ctx;
    if (s->unit[0] == '\0') {
        snprintf(s->unit, sizeof s->unit, "%s", g->unit);
    }
    const char *code = s->a->o->unit;
    if (code == NULL || s->in) {
        return ERR_OK;
    }
    int up = 0, down = 0;
    err_code rc = trust_covers(s->a->trust_st, g->unit, code, &up);
    if (rc == ERR_OK && !up) {
        rc = trust_covers(s->a->trust_st, code, g->unit, &down);
    }
    s->in = up || down;
    return rc;
}

/* The device's first grant unit (into out) and whether a grant puts it in scope. */
static err_code
audit_device_grants(struct audit_ctx *a, const uint8_t key[KEY_PUBLIC_SIZE],
                    char out[AUDIT_UNIT_SIZE], int *in)
{
    struct audit_grant_scan s = {.a = a};
    err_code rc = trust_grants(a->trust_st, key, audit_grant_cb, &s);
    if (rc == ERR_NOTFOUND) {
        rc = ERR_OK;
    }
    snprintf(out, AUDIT_UNIT_SIZE, "%s", s.unit);
    if (in != NULL) {
        *in = s.in;
    }
    return rc;
}

static err_code
audit_scope_cb(void *ctx, const struct trust_device *d)
{
    struct audit_ctx *a = ctx;
    char unit[AUDIT_UNIT_SIZE];
    int in = 0;
    err_code rc = audit_device_grants(a, d->key, unit, &in);
    if (rc != ERR_OK || !in) {
        return rc;
    }
    if (a->scope_n == a->scope_cap) {
        size_t cap = a->scope_cap ? a->scope_cap * 2 : 16;
        uint8_t *p = realloc(a->scope, cap * KEY_PUBLIC_SIZE);
        if (p == NULL) {
            return ERR_NOMEM;
        }
        a->scope = p;
        a->scope_cap = cap;
    }
    /* trust_devices runs in key order (memcmp of the blobs): the array stays sorted. */
    memcpy(a->scope + a->scope_n * KEY_PUBLIC_SIZE, d->key, KEY_PUBLIC_SIZE);
    a->scope_n++;
    return ERR_OK;
}

/* Reads the units one commit's changes name: the scope column of a data change, the code of a
 * units-tree change, the unit of a certificate. The first goes to unit; *in is set when one
 * lies inside --unit. */
static err_code
audit_leaf_units(struct audit_ctx *a, const Cdht__Commit *c, char unit[AUDIT_UNIT_SIZE], int *in)
{
    unit[0] = '\0';
    *in = 0;
    err_code rc = ERR_OK;
    size_t n = c->n_changes + c->n_certs; /* bounded by the leaf's own limits */
    for (size_t i = 0; i < n && rc == ERR_OK; i++) {
        const char *u = NULL;
        if (i < c->n_changes) {
            const Cdht__Change *ch = c->changes[i];
            const struct schema_table *t = schema_table_find(ch->table);
            if (leaf_table_is_trust(ch->table)) {
                u = ch->pk;
            } else if (t != NULL && t->scope != NULL) {
                for (size_t j = 0; j < ch->n_cells; j++) {
                    if (strcmp(ch->cells[j]->col, t->scope) == 0 &&
                        ch->cells[j]->value_case == CDHT__CELL__VALUE_S) {
                        u = ch->cells[j]->s;
                    }
                }
            }
        } else {
            u = c->certs[i - c->n_changes]->unit;
        }
        if (u == NULL || *u == '\0') {
            continue;
        }
        if (unit[0] == '\0') {
            snprintf(unit, AUDIT_UNIT_SIZE, "%s", u);
        }
        if (a->o->unit != NULL && !*in) {
            rc = trust_covers(a->trust_st, a->o->unit, u, in);
        }
    }
    return rc;
}

/* Sets a->cur_in and a->cur_unit for a finding about leaf index of a log of st (held in the
 * log with key key), from the leaf's own changes, falling back on the device's grant unit. */
static err_code
audit_leaf_target(struct audit_ctx *a, struct store *st, int64_t log_id,
                  const uint8_t key[KEY_PUBLIC_SIZE], uint64_t index)
{
    uint8_t *data = NULL;
    size_t len = 0;
    Cdht__Commit *c = NULL;
    int in = 0;
    a->cur_unit[0] = '\0';
    err_code rc = log_leaf_read(st, log_id, index, &data, &len);
    if (rc == ERR_OK && leaf_decoder_decode(a->dec2, data, len, &c) == ERR_OK) {
        rc = audit_leaf_units(a, c, a->cur_unit, &in);
    }
    free(data);
    if (rc == ERR_NOTFOUND) {
        rc = ERR_OK; /* the leaf is missing: other findings say so */
    }
    a->cur_in = in || audit_log_in_scope(a, key);
    if (rc == ERR_OK && a->cur_unit[0] == '\0') {
        rc = audit_device_grants(a, key, a->cur_unit, NULL);
    }
    return rc;
}

/* ---------- without the replay: the evaluation in memory against the stored quarantine ----------
 */

static err_code
audit_held_load(struct audit_ctx *a)
{
    sqlite3_stmt *s = NULL;
    int src = sqlite3_prepare_v2(a->st->db, "SELECT id, reason FROM quarantine ORDER BY id", -1, &s,
                                 NULL);
    if (src != SQLITE_OK) {
        return store_err(a->st, src, "audit quarantine");
    }
    err_code rc = ERR_OK;
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        if (a->held_n == a->held_cap) {
            size_t cap = a->held_cap ? a->held_cap * 2 : 256;
            int64_t *id = realloc(a->held_id, cap * sizeof *id);
            if (id == NULL) {
                rc = ERR_NOMEM;
                break;
            }
            a->held_id = id;
            int *re = realloc(a->held_reason, cap * sizeof *re);
            if (re == NULL) {
                rc = ERR_NOMEM;
                break;
            }
            a->held_reason = re;
            a->held_cap = cap;
        }
        a->held_id[a->held_n] = sqlite3_column_int64(s, 0);
        a->held_reason[a->held_n++] = sqlite3_column_int(s, 1);
    }
    if (rc == ERR_OK && src != SQLITE_DONE) {
        rc = store_err(a->st, src, "audit quarantine");
    }
    sqlite3_finalize(s);
    return rc;
}

/* The stored quarantine reason of a leaf, 0 when it is not held. */
static int
audit_held_reason(const struct audit_ctx *a, int64_t rowid)
{
    size_t lo = 0, hi = a->held_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a->held_id[mid] < rowid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < a->held_n && a->held_id[lo] == rowid ? a->held_reason[lo] : 0;
}

/* One leaf: what the evaluation says against what the replica did. */
static void
audit_judge_leaf(struct audit_ctx *a, const struct log_head *h, uint64_t index,
                 const Cdht__Commit *c)
{
    char detail[TRUST_DETAIL_SIZE];
    enum trust_reason want = trust_eval_judge(a->eval, h->id, index, c, detail);
    int have = audit_held_reason(a, log_leaf_rowid(h->id, index));
    if (want == TRUST_OK && have != 0) {
        audit_report(a, h->key, index, "authorised-held",
                     "held here as %s, but counts in the independent evaluation",
                     trust_reason_name((enum trust_reason)have));
    } else if (want != TRUST_OK && have == 0) {
        audit_report(a, h->key, index, "unauthorised-applied",
                     "counts in this replica, but the independent evaluation holds it (%s: %s)",
                     trust_reason_name(want), detail[0] ? detail : "no detail");
    } else if (want != TRUST_OK && (int)want != have) {
        audit_report(a, h->key, index, "quarantine-drift",
                     "held here as %s; the independent evaluation holds it as %s (%s)",
                     trust_reason_name((enum trust_reason)have), trust_reason_name(want),
                     detail[0] ? detail : "no detail");
    }
}

/* ---------- the replay: an independent re-evaluation ---------- */

/* Replays one log into the scratch replica through trust_admit, as an import would. Stops at
 * a hole or at a leaf that does not decode (findings of the second walk): the scratch's logs
 * must stay contiguous, and trust_reconcile decodes every leaf it holds. */
static err_code
audit_replay_log(void *ctx, const struct log_head *h)
{
    struct audit_ctx *a = ctx;
    if (a->o->skip_key != NULL && memcmp(h->key, a->o->skip_key, KEY_PUBLIC_SIZE) == 0) {
        return ERR_OK;
    }
    struct log_head replay;
    err_code rc = log_create(a->scratch, h->key, &replay);
    if (rc != ERR_OK) {
        return rc;
    }
    sqlite3_stmt *s = NULL;
    int src = sqlite3_prepare_v2(a->st->db,
                                 "SELECT id, data, received_ms, skew FROM leaf WHERE id>=?1 AND "
                                 "id<?2 ORDER BY id",
                                 -1, &s, NULL);
    if (src != SQLITE_OK) {
        return store_err(a->st, src, "audit replay");
    }
    sqlite3_bind_int64(s, 1, log_leaf_rowid(h->id, 0));
    sqlite3_bind_int64(s, 2, log_leaf_rowid(h->id + 1, 0));
    while (rc == ERR_OK && (src = sqlite3_step(s)) == SQLITE_ROW) {
        uint64_t index = (uint64_t)sqlite3_column_int64(s, 0) & (LOG_INDEX_LIMIT - 1);
        const uint8_t *data = sqlite3_column_blob(s, 1);
        size_t len = (size_t)sqlite3_column_bytes(s, 1);
        Cdht__Commit *c = NULL;
        if (index != replay.size || leaf_decoder_decode(a->dec, data, len, &c) != ERR_OK) {
            break;
        }
        uint8_t hash[HASH_SIZE];
        int applied = 0;
        merkle_leaf_hash(data, len, hash);
        rc = log_append(a->scratch, &replay, data, len, hash, c->hlc, sqlite3_column_int64(s, 2),
                        sqlite3_column_int(s, 3));
        if (rc == ERR_OK) {
            rc = trust_admit(a->trust, replay.id, index, c, &applied, &a->dirty);
        }
    }
    sqlite3_finalize(s);
    if (rc == ERR_OK && src != SQLITE_DONE && src != SQLITE_ROW) {
        rc = store_err(a->st, src, "audit replay");
    }
    return rc == ERR_OK ? log_save(a->scratch, &replay) : rc;
}

/* ---------- the second walk: bytes, roots, checkpoints, cosignatures, clocks ---------- */

/* The stored checkpoint: signature by the log's own key, origin, and size within the log. */
static err_code
audit_checkpoint(struct audit_ctx *a, const struct log_head *h, struct checkpoint *cp, int *have)
{
    uint8_t note[NOTE_SIZE_MAX];
    size_t len = 0;
    uint64_t cp_size = 0;
    *have = 0;
    err_code rc = log_checkpoint_get(a->st, h->id, note, &len, &cp_size);
    if (rc == ERR_NOTFOUND) {
        if (h->size > 0) {
            audit_report(a, h->key, 0, "no-checkpoint",
                         "log holds %llu leaves and no signed checkpoint",
                         (unsigned long long)h->size);
        }
        return ERR_OK;
    }
    if (rc != ERR_OK) {
        return rc;
    }
    a->sum->checkpoints++;
    char name[NOTE_LOG_NAME_SIZE + 1];
    note_log_name(h->key, name);
    rc = note_verify_checkpoint(note, len, name, h->key, cp);
    if (rc != ERR_OK) {
        audit_report(a, h->key, cp_size, "checkpoint-signature",
                     "stored checkpoint does not verify with the log's key (%s)", err_str(rc));
        return ERR_OK;
    }
    if (strcmp(cp->origin, name) != 0) {
        audit_report(a, h->key, cp_size, "checkpoint-origin", "checkpoint names another log");
        return ERR_OK;
    }
    if (cp->size != cp_size || cp->size > h->size) {
        audit_report(a, h->key, cp->size, "checkpoint-size",
                     "checkpoint covers %llu leaves; the replica records %llu of %llu held",
                     (unsigned long long)cp->size, (unsigned long long)cp_size,
                     (unsigned long long)h->size);
        return ERR_OK;
    }
    if (cp->size < h->size) {
        audit_report(a, h->key, cp->size, "unsigned-tail",
                     "leaves %llu..%llu are not covered by a signed checkpoint (an interrupted "
                     "import: import the bundle again)",
                     (unsigned long long)cp->size, (unsigned long long)(h->size - 1));
    }
    *have = 1;
    return ERR_OK;
}

/* The cosignatures of one log in size order, read beside its leaves (a merge join), so that
 * each is checked against the root the walk has just recomputed at its size. */
struct audit_cosigs {
    sqlite3_stmt *s; /* NULL without AUDIT_TRUST */
    int row;         /* s is on a row */
    int consumed;    /* a size was passed since witness_first_seen was last asked */
};

static err_code
audit_cosig_next(struct audit_ctx *a, struct audit_cosigs *cs)
{
    int src = sqlite3_step(cs->s);
    cs->row = src == SQLITE_ROW;
    return src == SQLITE_ROW || src == SQLITE_DONE ? ERR_OK : store_err(a->st, src, "audit cosig");
}

/* Checks every cosignature of size <= size against root (NULL: the leaves held end before
 * size, and the cosignature co-signs leaves this replica does not hold). */
static err_code
audit_cosigs_upto(struct audit_ctx *a, const struct log_head *h, struct audit_cosigs *cs,
                  uint64_t size, const uint8_t *root)
{
    err_code rc = ERR_OK;
    while (rc == ERR_OK && cs->row && (uint64_t)sqlite3_column_int64(cs->s, 1) <= size) {
        struct witness_cosig c = {.log_id = h->id};
        char w[KEYS_B64_SIZE] = "?";
        c.size = (uint64_t)sqlite3_column_int64(cs->s, 1);
        c.time_s = (uint64_t)sqlite3_column_int64(cs->s, 3);
        a->sum->cosigs++;
        cs->consumed = 1;
        if (sqlite3_column_bytes(cs->s, 0) != KEY_PUBLIC_SIZE ||
            sqlite3_column_bytes(cs->s, 2) != HASH_SIZE ||
            sqlite3_column_bytes(cs->s, 4) != SIG_SIZE) {
            audit_report(a, h->key, c.size, "bad-cosignature",
                         "a stored cosignature at size %llu is malformed",
                         (unsigned long long)c.size);
        } else {
            memcpy(c.witness, sqlite3_column_blob(cs->s, 0), KEY_PUBLIC_SIZE);
            memcpy(c.root, sqlite3_column_blob(cs->s, 2), HASH_SIZE);
            memcpy(c.sig, sqlite3_column_blob(cs->s, 4), SIG_SIZE);
            keys_b64(c.witness, w);
            if (witness_cosig_verify(h->key, &c) != ERR_OK) {
                audit_report(a, h->key, c.size, "bad-cosignature",
                             "the cosignature of witness %s at size %llu does not verify", w,
                             (unsigned long long)c.size);
            } else if (root == NULL) {
                audit_report(a, h->key, c.size, "bad-cosignature",
                             "witness %s co-signed %llu leaves; this replica holds fewer", w,
                             (unsigned long long)c.size);
            } else if (sodium_memcmp(root, c.root, HASH_SIZE) != 0) {
                audit_report(a, h->key, c.size, "bad-cosignature",
                             "witness %s co-signed a root at size %llu that the leaves held do "
                             "not give",
                             w, (unsigned long long)c.size);
            }
        }
        rc = audit_cosig_next(a, cs);
    }
    return rc;
}

/* A leaf dated more than WITNESS_SKEW_BOUND_MS after the first cosignature covering it was
 * dated in the future by its writer: the witness saw it earlier than it claims to exist. */
static err_code
audit_skew(struct audit_ctx *a, const struct log_head *h, struct audit_cosigs *cs, uint64_t index,
           uint64_t hlc, int64_t *first_s, int *found)
{
    if (cs->consumed) {
        /* The first time only changes where a cosignature's size is passed: ask again. */
        err_code rc = witness_first_seen(a->st, h->id, index, first_s, found);
        if (rc != ERR_OK) {
            return rc;
        }
        cs->consumed = 0;
    }
    if (*found && *first_s >= 0 && *first_s <= HLC_MS_MAX / 1000 &&
        hlc_ms(hlc) > *first_s * 1000 + WITNESS_SKEW_BOUND_MS) {
        char when[64];
        hlc_format(hlc, when);
        audit_report(a, h->key, index, "clock-skew-witness",
                     "the leaf is dated %s, %lld min after a witness first co-signed a "
                     "checkpoint covering it: its writer's clock was ahead",
                     when, (long long)((hlc_ms(hlc) - *first_s * 1000) / 60000));
    }
    return ERR_OK;
}

static err_code
audit_log(void *ctx, const struct log_head *h)
{
    struct audit_ctx *a = ctx;
    struct checkpoint cp;
    int have_cp = 0;
    if (a->o->skip_key != NULL && memcmp(h->key, a->o->skip_key, KEY_PUBLIC_SIZE) == 0) {
        return ERR_OK;
    }
    a->sum->logs++;
    a->log_in = audit_log_in_scope(a, h->key);
    err_code rc = audit_device_grants(a, h->key, a->log_unit, NULL);
    if (rc != ERR_OK) {
        return rc;
    }
    a->cur_in = a->log_in;
    memcpy(a->cur_unit, a->log_unit, sizeof a->cur_unit);
    if (h->damaged) {
        audit_report(a, h->key, h->size, "head-damaged",
                     "the stored head (size and compact range) is inconsistent; the leaves are "
                     "checked on their own");
    }
    if ((rc = audit_checkpoint(a, h, &cp, &have_cp)) != ERR_OK) {
        return rc;
    }
    struct merkle_frontier f;
    merkle_frontier_init(&f);
    uint8_t root[HASH_SIZE];
    merkle_frontier_root(&f, root);
    if (have_cp && cp.size == 0 && sodium_memcmp(root, cp.root, HASH_SIZE) != 0) {
        audit_report(a, h->key, 0, "checkpoint-root", "empty checkpoint has a wrong root");
    }
    struct audit_cosigs cs = {0};
    if (a->o->flags & AUDIT_TRUST) {
        int csrc = sqlite3_prepare_v2(a->st->db,
                                      "SELECT witness, size, root, time, sig FROM cosig WHERE "
                                      "log_id=?1 ORDER BY size, witness",
                                      -1, &cs.s, NULL);
        if (csrc != SQLITE_OK) {
            return store_err(a->st, csrc, "audit cosig");
        }
        sqlite3_bind_int64(cs.s, 1, h->id);
        if ((rc = audit_cosig_next(a, &cs)) == ERR_OK) {
            rc = audit_cosigs_upto(a, h, &cs, 0, root);
        }
        cs.consumed = 1;
    }
    sqlite3_stmt *s = NULL;
    int src = rc == ERR_OK ? sqlite3_prepare_v2(a->st->db,
                                                "SELECT id, hash, data, skew FROM leaf WHERE "
                                                "id>=?1 AND id<?2 ORDER BY id",
                                                -1, &s, NULL)
                           : SQLITE_OK;
    if (src != SQLITE_OK) {
        rc = store_err(a->st, src, "audit");
    }
    if (rc != ERR_OK) {
        sqlite3_finalize(cs.s);
        return rc;
    }
    sqlite3_bind_int64(s, 1, log_leaf_rowid(h->id, 0));
    sqlite3_bind_int64(s, 2, log_leaf_rowid(h->id + 1, 0));
    uint64_t expect = 0;
    int hole = 0, found = 0;
    int64_t first_s = 0;
    while (rc == ERR_OK && (src = sqlite3_step(s)) == SQLITE_ROW) {
        uint64_t index = (uint64_t)sqlite3_column_int64(s, 0) & (LOG_INDEX_LIMIT - 1);
        a->cur_in = a->log_in;
        memcpy(a->cur_unit, a->log_unit, sizeof a->cur_unit);
        if (index != expect) {
            audit_report(a, h->key, expect, "leaf-missing", "leaf %llu is missing",
                         (unsigned long long)expect);
            hole = 1;
            break; /* roots past a hole mean nothing */
        }
        const uint8_t *data = sqlite3_column_blob(s, 2);
        size_t len = (size_t)sqlite3_column_bytes(s, 2);
        uint8_t hash[HASH_SIZE];
        merkle_leaf_hash(data, len, hash);
        Cdht__Commit *c = NULL;
        int decoded = leaf_decoder_decode(a->dec, data, len, &c) == ERR_OK;
        if (decoded) {
            int in = 0;
            char unit[AUDIT_UNIT_SIZE];
            if ((rc = audit_leaf_units(a, c, unit, &in)) != ERR_OK) {
                break;
            }
            a->cur_in = a->log_in || in;
            if (unit[0] != '\0') {
                memcpy(a->cur_unit, unit, sizeof a->cur_unit);
            }
        }
        if (sqlite3_column_bytes(s, 1) != HASH_SIZE ||
            sodium_memcmp(hash, sqlite3_column_blob(s, 1), HASH_SIZE) != 0) {
            audit_report(a, h->key, index, "leaf-hash",
                         "stored leaf hash does not match the leaf's bytes");
        }
        if (decoded && a->eval != NULL) {
            audit_judge_leaf(a, h, index, c);
        }
        if (!decoded) {
            audit_report(a, h->key, index, "leaf-decode", "leaf is not a valid commit");
        } else if (cs.s != NULL && cs.row &&
                   (rc = audit_skew(a, h, &cs, index, c->hlc, &first_s, &found)) != ERR_OK) {
            break;
        }
        merkle_frontier_push(&f, hash);
        expect++;
        a->sum->leaves++;
        a->sum->skewed += sqlite3_column_int(s, 3) != 0;
        a->cur_in = a->log_in;
        memcpy(a->cur_unit, a->log_unit, sizeof a->cur_unit);
        int at_cp = have_cp && f.size == cp.size;
        int at_cosig = cs.row && (uint64_t)sqlite3_column_int64(cs.s, 1) == f.size;
        if (at_cp || at_cosig) {
            merkle_frontier_root(&f, root);
        }
        if (at_cp && sodium_memcmp(root, cp.root, HASH_SIZE) != 0) {
            audit_report(a, h->key, cp.size, "checkpoint-root",
                         "root recomputed from leaves 0..%llu differs from the signed "
                         "checkpoint",
                         (unsigned long long)(cp.size - 1));
        }
        if (at_cosig) {
            rc = audit_cosigs_upto(a, h, &cs, f.size, root);
        }
    }
    sqlite3_finalize(s);
    if (rc == ERR_OK && src != SQLITE_DONE && src != SQLITE_ROW) {
        rc = store_err(a->st, src, "audit");
    }
    a->cur_in = a->log_in;
    memcpy(a->cur_unit, a->log_unit, sizeof a->cur_unit);
    if (rc == ERR_OK && cs.s != NULL && !hole) {
        rc = audit_cosigs_upto(a, h, &cs, UINT64_MAX, NULL);
    }
    sqlite3_finalize(cs.s);
    if (rc != ERR_OK) {
        return rc;
    }
    if (h->damaged) {
        /* Nothing stored to compare with: the findings above are about the leaves. */
    } else if (expect != h->size) {
        audit_report(a, h->key, expect, "log-size", "log records %llu leaves, %llu found",
                     (unsigned long long)h->size, (unsigned long long)expect);
    } else {
        uint8_t head[HASH_SIZE];
        merkle_frontier_root(&f, root);
        log_root(h, head);
        if (sodium_memcmp(root, head, HASH_SIZE) != 0) {
            audit_report(a, h->key, h->size, "head-root",
                         "stored head root differs from the root recomputed from the leaves");
        }
    }
    return ERR_OK;
}

/* ---------- trust: equivocations, revocations, the quarantine ---------- */

/* Each stored proof is verified again; a valid one is a finding and goes into the scratch
 * replica, which freezes the log there as the replica did. A proof that does not verify is
 * kept out of the re-evaluation, so that a forged row shows as authorised-held leaves too. */
static err_code
audit_proof_cb(void *ctx, const struct witness_proof *p)
{
    struct audit_ctx *a = ctx;
    uint64_t size_a = 0, size_b = 0;
    err_code vrc = witness_proof_verify(p, &size_a, &size_b);
    if (!a->proofs_report) {
        int added = 0;
        return vrc == ERR_OK ? witness_proof_store(a->scratch, p, 0, &added) : ERR_OK;
    }
    a->cur_in = audit_log_in_scope(a, p->key);
    err_code rc = audit_device_grants(a, p->key, a->cur_unit, NULL);
    if (rc != ERR_OK) {
        return rc;
    }
    if (vrc != ERR_OK) {
        audit_report(a, p->key, p->prefix, "bad-equivocation",
                     "a stored equivocation proof does not verify (%s)", err_str(vrc));
    } else {
        audit_report(a, p->key, p->prefix, "equivocation",
                     "the device signed two inconsistent histories (checkpoints of %llu and %llu "
                     "leaves); its log is frozen after the first %llu leaves",
                     (unsigned long long)size_a, (unsigned long long)size_b,
                     (unsigned long long)p->prefix);
    }
    return ERR_OK;
}

static err_code
audit_revoked_cb(void *ctx, const struct trust_device *d)
{
    struct audit_ctx *a = ctx;
    if (d->limited != 1) {
        return ERR_OK;
    }
    a->cur_in = audit_log_in_scope(a, d->key);
    err_code rc = audit_device_grants(a, d->key, a->cur_unit, NULL);
    if (rc != ERR_OK) {
        return rc;
    }
    /* The reason is the issuer's own words, printed for the operator who wrote them; leaves
     * bound it to REVOKE_REASON_SIZE_MAX (proto/leaf.c), the precision bounds it again. */
    const char *why = d->reason != NULL && d->reason[0] != '\0' ? d->reason : NULL;
    if (d->last_index < 0) {
        audit_emit(a, d->key, 0, 0, "revoked-device",
                   "revoked: no leaf of this device counts%s%.*s%s", why ? " (\"" : "",
                   (int)REVOKE_REASON_SIZE_MAX, why ? why : "", why ? "\")" : "");
    } else {
        audit_emit(a, d->key, 1, (uint64_t)d->last_index, "revoked-device",
                   "revoked: leaves after index %lld do not count%s%.*s%s",
                   (long long)d->last_index, why ? " (\"" : "", (int)REVOKE_REASON_SIZE_MAX,
                   why ? why : "", why ? "\")" : "");
    }
    return ERR_OK;
}

struct audit_held {
    struct audit_ctx *a;
    sqlite3_stmt *ins; /* into the scratch's audit_live table, or NULL */
    uint8_t key[KEY_PUBLIC_SIZE];
    int64_t log_id; /* of key in the replica (0: none looked up yet) */
};

/* One leaf of the replica's quarantine: a finding of its reason's kind, and a row of the
 * copy the comparison reads. */
static err_code
audit_held_cb(void *ctx, const struct trust_held *q)
{
    struct audit_held *h = ctx;
    struct audit_ctx *a = h->a;
    err_code rc = ERR_OK;
    a->sum->held++;
    if (h->ins != NULL) {
        sqlite3_reset(h->ins);
        sqlite3_bind_blob(h->ins, 1, q->key, KEY_PUBLIC_SIZE, SQLITE_TRANSIENT);
        sqlite3_bind_int64(h->ins, 2, (int64_t)q->index);
        sqlite3_bind_int(h->ins, 3, (int)q->reason);
        int src = sqlite3_step(h->ins);
        if (src != SQLITE_DONE) {
            return store_err(a->scratch, src, "audit quarantine copy");
        }
    }
    if (!(a->o->flags & AUDIT_TRUST)) {
        return ERR_OK;
    }
    if (h->log_id == 0 || memcmp(h->key, q->key, KEY_PUBLIC_SIZE) != 0) {
        /* The id alone, not log_get: a damaged head is the walk's finding, not a stop here. */
        sqlite3_stmt *s = store_stmt(a->st, "SELECT id FROM log WHERE key=?1");
        if (s == NULL) {
            return ERR_DB;
        }
        sqlite3_bind_blob(s, 1, q->key, KEY_PUBLIC_SIZE, SQLITE_STATIC);
        int src = sqlite3_step(s);
        h->log_id = src == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
        sqlite3_reset(s);
        if (src != SQLITE_ROW) {
            return src == SQLITE_DONE ? ERR_CORRUPT_HERE : store_err(a->st, src, "audit log id");
        }
        memcpy(h->key, q->key, KEY_PUBLIC_SIZE);
    }
    if ((rc = audit_leaf_target(a, a->st, h->log_id, q->key, q->index)) != ERR_OK) {
        return rc;
    }
    const char *d = q->detail != NULL && q->detail[0] != '\0' ? q->detail : NULL;
    if (q->reason == TRUST_PENDING) {
        audit_report(a, q->key, q->index, "pending",
                     "a trust leaf waits for a reconciliation that never ran (an interrupted "
                     "import: import a bundle again)");
    } else {
        audit_report(a, q->key, q->index, trust_reason_name(q->reason), "held in quarantine: %s",
                     d ? d : trust_reason_name(q->reason));
    }
    return ERR_OK;
}

/* Where the replica's quarantine and the re-evaluation's differ. Two queries on the scratch,
 * which holds a copy of the replica's quarantine (audit_live) by key and index, since log ids
 * differ between the two. Leaves the replay could not hold (past a hole or an undecodable
 * leaf) are not compared: other findings name them. */
static err_code
audit_compare(struct audit_ctx *a)
{
    static const char *const sql[2] = {
        "SELECT a.key, a.idx, a.reason, q.reason, q.detail, l.id FROM audit_live a "
        "JOIN log l ON l.key = a.key JOIN leaf f ON f.id = ((l.id << 40) | a.idx) "
        "LEFT JOIN quarantine q ON q.id = f.id WHERE a.reason <> 1 AND "
        "(q.reason IS NULL OR q.reason <> a.reason) ORDER BY a.key, a.idx",
        "SELECT l.key, q.id & 1099511627775, NULL, q.reason, q.detail, l.id FROM quarantine q "
        "JOIN log l ON l.id = (q.id >> 40) WHERE NOT EXISTS (SELECT 1 FROM audit_live a "
        "WHERE a.key = l.key AND a.idx = (q.id & 1099511627775)) ORDER BY l.key, q.id",
    };
    static_assert(LOG_INDEX_LIMIT - 1 == 1099511627775ull, "the index mask in the SQL");
    err_code rc = ERR_OK;
    for (int k = 0; k < 2 && rc == ERR_OK; k++) {
        sqlite3_stmt *s = NULL;
        int src = sqlite3_prepare_v2(a->scratch->db, sql[k], -1, &s, NULL);
        if (src != SQLITE_OK) {
            return store_err(a->scratch, src, "audit compare");
        }
        while (rc == ERR_OK && (src = sqlite3_step(s)) == SQLITE_ROW) {
            uint8_t key[KEY_PUBLIC_SIZE];
            if (sqlite3_column_bytes(s, 0) != KEY_PUBLIC_SIZE) {
                rc = ERR_CORRUPT_HERE;
                break;
            }
            memcpy(key, sqlite3_column_blob(s, 0), KEY_PUBLIC_SIZE);
            uint64_t index = (uint64_t)sqlite3_column_int64(s, 1);
            int live = sqlite3_column_type(s, 2) != SQLITE_NULL,
                rebuilt = sqlite3_column_type(s, 3) != SQLITE_NULL;
            enum trust_reason lr = (enum trust_reason)sqlite3_column_int(s, 2);
            enum trust_reason rr = (enum trust_reason)sqlite3_column_int(s, 3);
            const char *detail = (const char *)sqlite3_column_text(s, 4);
            if ((rc = audit_leaf_target(a, a->scratch, sqlite3_column_int64(s, 5), key, index)) !=
                ERR_OK) {
                break;
            }
            if (!live) {
                audit_report(a, key, index, "unauthorised-applied",
                             "counts in this replica, but the independent re-evaluation holds it "
                             "(%s: %s)",
                             trust_reason_name(rr), detail ? detail : "no detail");
            } else if (!rebuilt) {
                audit_report(a, key, index, "authorised-held",
                             "held here as %s, but counts in the independent re-evaluation",
                             trust_reason_name(lr));
            } else {
                audit_report(a, key, index, "quarantine-drift",
                             "held here as %s; the independent re-evaluation holds it as %s (%s)",
                             trust_reason_name(lr), trust_reason_name(rr),
                             detail ? detail : "no detail");
            }
        }
        if (rc == ERR_OK && src != SQLITE_DONE) {
            rc = store_err(a->scratch, src, "audit compare");
        }
        sqlite3_finalize(s);
    }
    return rc;
}

static err_code
audit_quarantine(struct audit_ctx *a)
{
    struct audit_held h = {.a = a};
    err_code rc = ERR_OK;
    if (a->scratch != NULL) {
        rc = store_exec(a->scratch, "CREATE TABLE audit_live(key BLOB NOT NULL, idx INTEGER NOT "
                                    "NULL, reason INTEGER NOT NULL, PRIMARY KEY(key, idx)) "
                                    "WITHOUT ROWID");
        int src = rc == ERR_OK ? sqlite3_prepare_v2(a->scratch->db,
                                                    "INSERT OR REPLACE INTO audit_live(key, idx, "
                                                    "reason) VALUES(?1, ?2, ?3)",
                                                    -1, &h.ins, NULL)
                               : SQLITE_OK;
        if (rc == ERR_OK && src != SQLITE_OK) {
            rc = store_err(a->scratch, src, "audit quarantine copy");
        }
    }
    if (rc == ERR_OK) {
        rc = trust_quarantine(a->st, audit_held_cb, &h);
    }
    sqlite3_finalize(h.ins);
    if (rc == ERR_OK && a->scratch != NULL) {
        rc = audit_compare(a);
    }
    return rc;
}

/* ---------- the whole ---------- */

/* Opens the scratch database for the replay: a private file, removed at once (it lives until
 * closed), so a large replica's replay spills to disk instead of memory. */
static err_code
audit_scratch_open(struct store **out)
{
    const char *tmp = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/cdht-audit-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) {
        return ERR_IO;
    }
    close(fd);
    err_code rc = store_open(out, path, STORE_SCRATCH);
    unlink(path);
    return rc;
}

/* Compares the tables with the replay's. */
static err_code
audit_state(struct audit_ctx *a)
{
    uint8_t have[HASH_SIZE], want[HASH_SIZE];
    err_code rc;
    if ((rc = merge_state_hash(a->st, have)) != ERR_OK ||
        (rc = merge_state_hash(a->scratch, want)) != ERR_OK) {
        return rc;
    }
    if (sodium_memcmp(have, want, HASH_SIZE) != 0) {
        uint8_t none[KEY_PUBLIC_SIZE] = {0};
        a->cur_in = 1; /* the replica as a whole: in every scope */
        a->cur_unit[0] = '\0';
        audit_report(a, none, 0, "state-drift",
                     "the tables differ from the state the logs give: a write bypassed the log "
                     "(the database was edited directly, or restored from another copy)");
    }
    return ERR_OK;
}

/* The steps of audit_run_opts, inside its read transaction (and the scratch's). */
static err_code
audit_steps(struct audit_ctx *a)
{
    err_code rc = trust_root(a->st, a->root, &a->pinned);
    if (rc != ERR_OK) {
        return rc;
    }
    a->sum->open_mode = !a->pinned;
    if (a->scratch != NULL) {
        /* The re-evaluation: the same root, the same (verified) proofs, every leaf through
         * admission, one reconciliation at the end as an import's. */
        a->proofs_report = 0;
        if ((a->pinned && (rc = trust_pin_root(a->scratch, a->root)) != ERR_OK) ||
            (rc = trust_ctx_open(a->scratch, &a->trust)) != ERR_OK ||
            (rc = witness_proofs(a->st, audit_proof_cb, a)) != ERR_OK ||
            (rc = log_foreach_flags(a->st, LOG_FOREACH_DAMAGED, audit_replay_log, a)) != ERR_OK ||
            (rc = trust_reconcile(a->scratch, NULL)) != ERR_OK) {
            return rc;
        }
        a->sum->reevaluated = 1;
    }
    a->trust_st = a->scratch != NULL ? a->scratch : a->st;
    if (a->scratch == NULL && a->pinned && (a->o->flags & AUDIT_TRUST)) {
        if ((rc = trust_eval_open(a->st, &a->eval)) != ERR_OK ||
            (rc = audit_held_load(a)) != ERR_OK) {
            return rc;
        }
        a->sum->reevaluated = 1;
    }
    if (a->o->unit != NULL && (rc = trust_devices(a->trust_st, audit_scope_cb, a)) != ERR_OK) {
        return rc;
    }
    if ((rc = log_foreach_flags(a->st, LOG_FOREACH_DAMAGED, audit_log, a)) != ERR_OK) {
        return rc;
    }
    if (a->scratch != NULL && (rc = audit_state(a)) != ERR_OK) {
        return rc;
    }
    if (a->o->flags & AUDIT_TRUST) {
        a->proofs_report = 1;
        if ((rc = witness_proofs(a->st, audit_proof_cb, a)) != ERR_OK ||
            (rc = trust_devices(a->trust_st, audit_revoked_cb, a)) != ERR_OK) {
            return rc;
        }
    }
    if (a->pinned || a->scratch != NULL) {
        rc = audit_quarantine(a);
    }
    return rc;
}

err_code
audit_run_opts(struct store *st, const struct audit_opts *o, audit_fn fn, void *ctx,
               struct audit_summary *sum)
{
    memset(sum, 0, sizeof *sum);
    struct audit_ctx a = {.st = st, .o = o, .fn = fn, .fn_ctx = ctx, .sum = sum};
    schema_init();
    err_code rc = leaf_decoder_new(&a.dec);
    if (rc == ERR_OK) {
        rc = leaf_decoder_new(&a.dec2);
    }
    if (rc == ERR_OK && (o->flags & AUDIT_STATE)) {
        rc = audit_scratch_open(&a.scratch);
    }
    if (rc == ERR_OK && a.scratch != NULL) {
        rc = store_begin(a.scratch);
    }
    if (rc == ERR_OK && (rc = store_exec(st, "BEGIN")) == ERR_OK) {
        rc = audit_steps(&a);
        store_rollback(st);
    }
    if (a.scratch != NULL) {
        store_rollback(a.scratch); /* never committed: the replay leaves nothing behind */
    }
    trust_ctx_free(a.trust);
    trust_eval_free(a.eval);
    free(a.held_id);
    free(a.held_reason);
    store_close(a.scratch);
    leaf_decoder_free(a.dec);
    leaf_decoder_free(a.dec2);
    free(a.scope);
    return rc;
}

err_code
audit_run(struct store *st, unsigned flags, audit_fn fn, void *ctx, struct audit_summary *sum)
{
    struct audit_opts o = {.flags = flags};
    return audit_run_opts(st, &o, fn, ctx, sum);
}

/* ---------- a bundle, audited offline ---------- */

/* Removes the scratch replica directory: its files (key, replica.db and SQLite's companions,
 * the lock) lie directly in it, so one level suffices. */
static err_code
audit_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        return err_from_errno(errno);
    }
    err_code rc = ERR_OK;
    struct dirent *e;
    char path[REPLICA_PATH_MAX];
    while ((e = readdir(d)) != NULL) { /* bounded by the few files a replica home holds */
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path ||
            unlink(path) != 0) {
            rc = ERR_IO;
        }
    }
    closedir(d);
    if (rmdir(dir) != 0 && rc == ERR_OK) {
        rc = err_from_errno(errno);
    }
    return rc;
}

err_code
audit_bundle(const char *path, const uint8_t *root, const struct audit_opts *o, audit_fn fn,
             void *ctx, struct audit_summary *sum)
{
    memset(sum, 0, sizeof *sum);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        return err_from_errno(errno);
    }
    const char *tmp = getenv("TMPDIR");
    char dir[REPLICA_PATH_MAX - 64];
    if ((size_t)snprintf(dir, sizeof dir, "%s/cdht-audit-XXXXXX", tmp && *tmp ? tmp : "/tmp") >=
        sizeof dir) {
        return ERR_INVAL;
    }
    if (mkdtemp(dir) == NULL) { /* mode 0700 */
        return err_from_errno(errno);
    }
    struct replica *r = NULL;
    struct replica_init_opts io = {.unit = "audit", .trust_root = root};
    err_code rc = replica_init(dir, &io);
    if (rc == ERR_OK) {
        rc = replica_open(&r, dir, REPLICA_WRITE, NULL, 0, NULL);
    }
    if (rc == ERR_OK) {
        struct exchange_report rep;
        memset(&rep, 0, sizeof rep);
        rc = exchange_import(r, path, &rep);
        if (rc == ERR_CORRUPT || rc == ERR_AUTH || rc == ERR_FORK || rc == ERR_MSGSIZE ||
            rc == ERR_PROTO) {
            /* The bundle itself is the finding: nothing of it is audited further. */
            struct audit_finding f = {.kind = "bundle-refused"};
            snprintf(f.reason, sizeof f.reason, "import refuses the bundle: %s",
                     rep.msg[0] ? rep.msg : err_str(rc));
            sum->findings = 1;
            fn(ctx, &f);
            rc = ERR_OK;
        } else if (rc == ERR_INVAL && rep.msg[0]) {
            /* Not the bundle's fault: it does not start at each log's first leaf (exported
             * with --since), and a scratch replica holds none of the leaves before it. */
            snprintf(sum->why, sizeof sum->why,
                     "%.256s (an audit of a bundle needs a whole export: cdht bundle export without "
                     "--since)",
                     rep.msg);
        } else if (rc == ERR_OK) {
            struct audit_opts bo = *o;
            bo.skip_key = r->pk; /* the scratch replica's own, empty log */
            rc = audit_run_opts(r->st, &bo, fn, ctx, sum);
        }
    }
    replica_close(r);
    err_code rm = audit_rmdir(dir);
    return rc != ERR_OK ? rc : rm;
}
