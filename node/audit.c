/*
 * The audit walks each log once, in index order, with one range query: it recomputes leaf
 * hashes and the Merkle root as it goes (a frontier, O(log n) memory) and compares the root at
 * the checkpoint's size with the signed one. It trusts nothing derived: not the stored hashes,
 * not the stored head, not the checkpoint's claims.
 */
#include "audit.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "leaf.h"
#include "log.h"
#include "merge.h"
#include "merkle.h"
#include "note.h"
#include "store.h"

struct audit_ctx {
    struct store *st;
    struct store *scratch; /* AUDIT_STATE: the logs replayed; NULL otherwise */
    struct leaf_decoder *dec;
    audit_fn fn;
    void *fn_ctx;
    struct audit_summary *sum;
};

static void audit_report(struct audit_ctx *a, const uint8_t *key, uint64_t index, const char *kind,
                         const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
audit_report(struct audit_ctx *a, const uint8_t *key, uint64_t index, const char *kind,
             const char *fmt, ...)
{
    struct audit_finding f;
    memcpy(f.key, key, KEY_PUBLIC_SIZE);
    f.index = index;
    f.kind = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f.reason, sizeof f.reason, fmt, ap);
    va_end(ap);
    a->sum->findings++;
    a->fn(a->fn_ctx, &f);
}

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

static err_code
audit_log(void *ctx, const struct log_head *h)
{
    struct audit_ctx *a = ctx;
    struct checkpoint cp;
    int have_cp = 0;
    a->sum->logs++;
    if (h->damaged) {
        audit_report(a, h->key, h->size, "head-damaged",
                     "the stored head (size and compact range) is inconsistent; the leaves are "
                     "checked on their own");
    }
    err_code rc = audit_checkpoint(a, h, &cp, &have_cp);
    if (rc != ERR_OK) {
        return rc;
    }
    struct merkle_frontier f;
    merkle_frontier_init(&f);
    uint8_t root[HASH_SIZE];
    if (have_cp && cp.size == 0) {
        merkle_frontier_root(&f, root);
        if (sodium_memcmp(root, cp.root, HASH_SIZE) != 0) {
            audit_report(a, h->key, 0, "checkpoint-root", "empty checkpoint has a wrong root");
        }
    }
    sqlite3_stmt *s = NULL;
    int src = sqlite3_prepare_v2(a->st->db,
                                 "SELECT id, hash, data, skew FROM leaf WHERE id>=?1 AND id<?2 "
                                 "ORDER BY id",
                                 -1, &s, NULL);
    if (src != SQLITE_OK) {
        return store_err(a->st, src, "audit");
    }
    sqlite3_bind_int64(s, 1, log_leaf_rowid(h->id, 0));
    sqlite3_bind_int64(s, 2, log_leaf_rowid(h->id + 1, 0));
    struct log_head replay;
    if (a->scratch != NULL && (rc = log_create(a->scratch, h->key, &replay)) != ERR_OK) {
        sqlite3_finalize(s);
        return rc;
    }
    uint64_t expect = 0;
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        uint64_t index = (uint64_t)sqlite3_column_int64(s, 0) & (LOG_INDEX_LIMIT - 1);
        if (index != expect) {
            audit_report(a, h->key, expect, "leaf-missing", "leaf %llu is missing",
                         (unsigned long long)expect);
            break; /* roots past a hole mean nothing */
        }
        const uint8_t *data = sqlite3_column_blob(s, 2);
        size_t len = (size_t)sqlite3_column_bytes(s, 2);
        uint8_t hash[HASH_SIZE];
        merkle_leaf_hash(data, len, hash);
        if (sqlite3_column_bytes(s, 1) != HASH_SIZE ||
            sodium_memcmp(hash, sqlite3_column_blob(s, 1), HASH_SIZE) != 0) {
            audit_report(a, h->key, index, "leaf-hash",
                         "stored leaf hash does not match the leaf's bytes");
        }
        Cdht__Commit *c = NULL;
        if (leaf_decoder_decode(a->dec, data, len, &c) != ERR_OK) {
            audit_report(a, h->key, index, "leaf-decode", "leaf is not a valid commit");
        } else if (a->scratch != NULL &&
                   (rc = merge_commit(a->scratch, replay.id, index, c)) != ERR_OK) {
            sqlite3_finalize(s);
            return rc;
        }
        merkle_frontier_push(&f, hash);
        expect++;
        a->sum->leaves++;
        a->sum->skewed += sqlite3_column_int(s, 3) != 0;
        if (have_cp && f.size == cp.size) {
            merkle_frontier_root(&f, root);
            if (sodium_memcmp(root, cp.root, HASH_SIZE) != 0) {
                audit_report(a, h->key, cp.size, "checkpoint-root",
                             "root recomputed from leaves 0..%llu differs from the signed "
                             "checkpoint",
                             (unsigned long long)(cp.size - 1));
            }
        }
    }
    sqlite3_finalize(s);
    if (src != SQLITE_DONE && src != SQLITE_ROW) {
        return store_err(a->st, src, "audit");
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
        audit_report(a, none, 0, "state-drift",
                     "the tables differ from the state the logs give: a write bypassed the log "
                     "(the database was edited directly, or restored from another copy)");
    }
    return ERR_OK;
}

err_code
audit_run(struct store *st, unsigned flags, audit_fn fn, void *ctx, struct audit_summary *sum)
{
    memset(sum, 0, sizeof *sum);
    struct audit_ctx a = {.st = st, .fn = fn, .fn_ctx = ctx, .sum = sum};
    err_code rc = leaf_decoder_new(&a.dec);
    if (rc != ERR_OK) {
        return rc;
    }
    if ((flags & AUDIT_STATE) && (rc = audit_scratch_open(&a.scratch)) != ERR_OK) {
        leaf_decoder_free(a.dec);
        return rc;
    }
    if ((a.scratch != NULL && (rc = store_begin(a.scratch)) != ERR_OK) ||
        (rc = store_exec(st, "BEGIN")) != ERR_OK) {
        store_close(a.scratch);
        leaf_decoder_free(a.dec);
        return rc;
    }
    rc = log_foreach_flags(st, LOG_FOREACH_DAMAGED, audit_log, &a);
    if (rc == ERR_OK && a.scratch != NULL) {
        rc = audit_state(&a);
    }
    store_rollback(st);
    store_close(a.scratch); /* never committed: the replay leaves nothing behind */
    leaf_decoder_free(a.dec);
    return rc;
}
