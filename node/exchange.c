/*
 * Bundle export and import against a replica. Import reads the bundle twice as a stream:
 * pass one verifies every section (each leaf decodes, leaves already held match byte for byte,
 * the signed checkpoint's root equals the root recomputed from the leaves), pass two appends
 * and merges in bounded transactions. Memory stays flat: one record and one frontier at a
 * time, whatever the bundle's size.
 */
#include "exchange.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "cosig.h"
#include "diag.h"
#include "hlc.h"
#include "leaf.h"
#include "log.h"
#include "merge.h"
#include "merkle.h"
#include "note.h"
#include "replica.h"
#include "scope.h"
#include "store.h"
#include "trust.h"
#include "witness.h"

/* Equivocation proofs an import holds between its passes: found in pass one (detected: that
 * log's section is another history and is skipped in pass two) or carried by the bundle. */
struct exchange_proofs {
    struct witness_proof *p[BUNDLE_EQUIVOCATIONS_MAX]; /* owned, n used */
    int detected[BUNDLE_EQUIVOCATIONS_MAX];
    size_t n;
};

static void
exchange_proofs_free(struct exchange_proofs *pf)
{
    if (pf == NULL) {
        return;
    }
    for (size_t i = 0; i < pf->n; i++) {
        free(pf->p[i]);
    }
    free(pf);
}

/* Was key's section found to be another history in pass one? *from receives where it
 * diverges. */
static int
exchange_proofs_detected(const struct exchange_proofs *pf, const uint8_t key[KEY_PUBLIC_SIZE],
                         uint64_t *from)
{
    for (size_t i = 0; i < pf->n; i++) {
        if (pf->detected[i] && memcmp(pf->p[i]->key, key, KEY_PUBLIC_SIZE) == 0) {
            *from = pf->p[i]->prefix;
            return 1;
        }
    }
    return 0;
}

static err_code exchange_fail(struct exchange_report *rep, err_code rc, const uint8_t *key,
                              const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Records the first error's message, naming the log when one is known. */
static err_code
exchange_fail(struct exchange_report *rep, err_code rc, const uint8_t *key, const char *fmt, ...)
{
    if (rep->msg[0] != '\0') {
        return rc;
    }
    char what[EXCHANGE_MSG_SIZE - 64]; /* room for "log <key>: " */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (key != NULL) {
        char k[KEYS_B64_SIZE];
        keys_b64(key, k);
        snprintf(rep->msg, sizeof rep->msg, "log %s: %s", k, what);
    } else {
        snprintf(rep->msg, sizeof rep->msg, "%s", what);
    }
    return rc;
}

struct exchange_heads_acc {
    struct heads_entry *e;
    size_t n, cap;
};

static err_code
exchange_heads_visit(void *ctx, const struct log_head *h)
{
    struct exchange_heads_acc *a = ctx;
    uint8_t root[HASH_SIZE];
    log_root(h, root);
    return heads_append(&a->e, &a->n, &a->cap, h->key, h->size, root);
}

err_code
exchange_heads(struct replica *r, struct heads_entry **out, size_t *count)
{
    struct exchange_heads_acc a = {0};
    err_code rc = log_foreach(r->st, exchange_heads_visit, &a);
    if (rc != ERR_OK) {
        free(a.e);
        return rc;
    }
    *out = a.e;
    *count = a.n;
    return ERR_OK;
}

struct exchange_export_ctx {
    struct replica *r;
    struct bundle_writer *w;
    const struct heads_entry *since;
    size_t since_count;
    struct exchange_report *rep;
    uint64_t cp_size;          /* the checkpoint of the section being written */
    const struct scope *scope; /* the recipient's (node/scope.h); NULL: every log */
};

/* Every cosignature held for the section's log, up to its checkpoint's size. */
static err_code
exchange_export_cosig(void *ctx, const struct witness_cosig *c)
{
    struct exchange_export_ctx *x = ctx;
    if (c->size > x->cp_size || c->size == 0) {
        return ERR_OK; /* beyond what this section signs: a later export carries it */
    }
    uint8_t line[COSIG_LINE_SIZE_MAX];
    struct bundle_cosig bc;
    err_code rc = witness_cosig_line(c, line, &bc.line_len);
    if (rc != ERR_OK) {
        return ERR_CORRUPT_HERE; /* a stored row past the limits: damaged */
    }
    memcpy(bc.witness, c->witness, KEY_PUBLIC_SIZE);
    bc.size = c->size;
    memcpy(bc.root, c->root, HASH_SIZE);
    bc.line = line;
    if ((rc = bundle_write_cosig(x->w, &bc)) == ERR_OK) {
        x->rep->cosigs++;
    }
    return rc;
}

/* Every equivocation proof held, before the first section. */
static err_code
exchange_export_proof(void *ctx, const struct witness_proof *p)
{
    struct exchange_export_ctx *x = ctx;
    struct bundle_equivocation e = {
        .prefix = p->prefix,
        .note_a = p->note_a,
        .note_a_len = p->note_a_len,
        .note_b = p->note_b,
        .note_b_len = p->note_b_len,
        .proof = (const uint8_t(*)[HASH_SIZE])p->proof,
        .count = p->count,
    };
    memcpy(e.key, p->key, KEY_PUBLIC_SIZE);
    err_code rc = bundle_write_equivocation(x->w, &e);
    if (rc == ERR_MSGSIZE) {
        return exchange_fail(x->rep, rc, NULL,
                             "more equivocation proofs than one bundle may carry (%u)",
                             BUNDLE_EQUIVOCATIONS_MAX);
    }
    if (rc == ERR_OK) {
        x->rep->equivocations++;
    }
    return rc;
}

static err_code
exchange_export_log(void *ctx, const struct log_head *h)
{
    struct exchange_export_ctx *x = ctx;
    uint8_t note[NOTE_SIZE_MAX];
    size_t note_len = 0;
    uint64_t cp_size = 0;
    err_code rc = ERR_OK;
    if (x->scope != NULL) {
        int yes = 0;
        if ((rc = scope_log_allowed(x->r->st, x->scope, h->key, &yes)) != ERR_OK) {
            return rc;
        }
        if (!yes) {
            x->rep->out_of_scope++; /* not the recipient's to hold (node/scope.h) */
            return ERR_OK;
        }
    }
    rc = log_checkpoint_get(x->r->st, h->id, note, &note_len, &cp_size);
    if (rc == ERR_NOTFOUND) {
        return ERR_OK; /* nothing signed to send */
    }
    if (rc != ERR_OK) {
        return rc;
    }
    uint64_t from = 0;
    const struct heads_entry *theirs =
        x->since ? heads_find(x->since, x->since_count, h->key) : NULL;
    if (theirs != NULL) {
        if (theirs->size > h->size) {
            return ERR_OK; /* they hold more of it than we do */
        }
        uint8_t root[HASH_SIZE];
        if ((rc = log_root_at(x->r->st, h, theirs->size, root)) != ERR_OK) {
            return rc;
        }
        if (sodium_memcmp(root, theirs->root, HASH_SIZE) != 0) {
            return exchange_fail(x->rep, ERR_FORK, h->key,
                                 "the other replica holds a different history at size %llu "
                                 "(forked log); nothing exported",
                                 (unsigned long long)theirs->size);
        }
        if (theirs->size >= cp_size) {
            return ERR_OK;
        }
        from = theirs->size;
    }
    struct bundle_log_hdr hdr;
    memcpy(hdr.key, h->key, KEY_PUBLIC_SIZE);
    hdr.first = from;
    hdr.count = cp_size - from;
    if ((rc = bundle_write_log(x->w, &hdr)) != ERR_OK) {
        return rc == ERR_MSGSIZE
                   ? exchange_fail(x->rep, rc, NULL, "more logs than one bundle may carry (%u)",
                                   BUNDLE_LOGS_MAX)
                   : rc;
    }
    sqlite3_stmt *s = NULL;
    int src = sqlite3_prepare_v2(
        x->r->st->db, "SELECT data FROM leaf WHERE id>=?1 AND id<?2 ORDER BY id", -1, &s, NULL);
    if (src != SQLITE_OK) {
        return store_err(x->r->st, src, "export");
    }
    sqlite3_bind_int64(s, 1, log_leaf_rowid(h->id, from));
    sqlite3_bind_int64(s, 2, log_leaf_rowid(h->id, cp_size));
    uint64_t n = 0;
    while (rc == ERR_OK && (src = sqlite3_step(s)) == SQLITE_ROW) {
        rc = bundle_write_leaf(x->w, sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0));
        n++;
    }
    if (rc == ERR_OK && src != SQLITE_DONE) {
        rc = store_err(x->r->st, src, "export");
    }
    sqlite3_finalize(s);
    if (rc == ERR_CORRUPT || (rc == ERR_OK && n != hdr.count)) {
        /* A damaged leaf row or a hole in a log held here: name it rather than export it. */
        return exchange_fail(x->rep, ERR_CORRUPT, h->key,
                             "leaf %llu held here is missing or damaged: run cdht audit",
                             (unsigned long long)(from + n - (rc == ERR_CORRUPT ? 1 : 0)));
    }

    if (rc == ERR_OK) {
        rc = bundle_write_checkpoint(x->w, note, note_len);
    }
    if (rc == ERR_OK) {
        x->cp_size = cp_size;
        rc =
            witness_cosigs_of(x->r->st, h->id, BUNDLE_COSIGS_PER_LOG_MAX, exchange_export_cosig, x);
    }
    x->rep->logs++;
    x->rep->leaves += n;
    return rc;
}

err_code
exchange_export(struct replica *r, const char *path, const struct heads_entry *since,
                size_t since_count, struct exchange_report *rep)
{
    return exchange_export_scoped(r, path, since, since_count, NULL, rep);
}

err_code
exchange_export_scoped(struct replica *r, const char *path, const struct heads_entry *since,
                       size_t since_count, const struct scope *scope, struct exchange_report *rep)
{
    err_code rc = ERR_OK;
    memset(rep, 0, sizeof *rep);
    /* A fresh temporary name beside the target (mkstemp: O_EXCL, so a planted file or link
     * is never written through), renamed into place once complete. */
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= (int)sizeof tmp) {
        return ERR_INVAL;
    }
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (f == NULL) {
        err_code e = err_from_errno(errno);
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        return exchange_fail(rep, e, NULL, "cannot create a file beside %s", path);
    }
    struct exchange_export_ctx x = {
        .r = r, .since = since, .since_count = since_count, .rep = rep, .scope = scope};
    if ((rc = bundle_writer_new(&x.w, f)) != ERR_OK) {
        goto out;
    }
    /* One read transaction: the logs and their checkpoints are seen as of one instant. */
    if ((rc = store_exec(r->st, "BEGIN")) != ERR_OK) {
        goto out;
    }
    rc = witness_proofs(r->st, exchange_export_proof, &x);
    if (rc == ERR_OK) {
        rc = log_foreach(r->st, exchange_export_log, &x);
    }
    store_rollback(r->st);
    if (rc != ERR_OK) {
        goto out;
    }
    if ((rc = bundle_writer_finish(x.w)) != ERR_OK) {
        goto out;
    }
    if (fsync(fileno(f)) != 0) {
        rc = err_from_errno(errno);
    }
out:
    bundle_writer_free(x.w);
    if (fclose(f) != 0 && rc == ERR_OK) {
        rc = err_from_errno(errno);
    }
    if (rc == ERR_OK && rename(tmp, path) != 0) {
        rc = exchange_fail(rep, err_from_errno(errno), NULL, "cannot write %s", path);
    }
    if (rc != ERR_OK) {
        unlink(tmp);
    }
    return rc;
}

/* Pass one's view of one log section. */
struct exchange_section {
    struct bundle_log_hdr hdr;
    struct log_head held; /* held.id == 0: not held */
    struct merkle_frontier f;
    uint64_t cp_size;
    uint8_t cp_root[HASH_SIZE]; /* the verified checkpoint's root, once cp_size is set */
    /* A held leaf differed: from diverge_at on, the section is another history. */
    int diverged;
    uint64_t diverge_at;
    struct merkle_frontier theirs; /* that history's frontier */
    uint8_t (*their)[HASH_SIZE];   /* owned: its leaf hashes from diverge_at on */
    size_t their_n, their_cap;
};

static void
exchange_section_release(struct exchange_section *sec)
{
    free(sec->their);
    sec->their = NULL;
    sec->their_n = sec->their_cap = 0;
}

/* The message of a fork that cannot be proven an equivocation (unsigned or altered data, or
 * nothing signed here to hold against it): the bundle is refused, as before proofs existed. */
static err_code
exchange_fork(struct exchange_report *rep, const struct exchange_section *sec)
{
    return exchange_fail(rep, ERR_FORK, sec->hdr.key,
                         "leaf %llu differs from the leaf this replica holds (forked log)",
                         (unsigned long long)sec->diverge_at);
}

/* Adds one leaf hash of the other history. */
static err_code
exchange_their_push(struct exchange_section *sec, const uint8_t hash[HASH_SIZE],
                    struct exchange_report *rep)
{
    if (sec->their_n >= EXCHANGE_DIVERGED_LEAVES_MAX) {
        return exchange_fail(rep, ERR_FORK, sec->hdr.key,
                             "leaf %llu differs from the leaf this replica holds (forked log; "
                             "more than %u leaves diverge, too many to prove)",
                             (unsigned long long)sec->diverge_at, EXCHANGE_DIVERGED_LEAVES_MAX);
    }
    if (sec->their_n == sec->their_cap) {
        size_t cap = sec->their_cap ? sec->their_cap * 2 : 64;
        uint8_t(*t)[HASH_SIZE] = realloc(sec->their, cap * HASH_SIZE);
        if (t == NULL) {
            return ERR_NOMEM;
        }
        sec->their = t;
        sec->their_cap = cap;
    }
    memcpy(sec->their[sec->their_n++], hash, HASH_SIZE);
    merkle_frontier_push(&sec->theirs, hash);
    return ERR_OK;
}

/* Leaf index of the held history differs: the section's history is another from here on. Both
 * share the leaves before it, so its frontier starts from the held ones (O(index) reads, once). */
static err_code
exchange_diverge(struct replica *r, struct exchange_section *sec, uint64_t index,
                 struct exchange_report *rep)
{
    sec->diverged = 1;
    sec->diverge_at = index;
    merkle_frontier_init(&sec->theirs);
    for (uint64_t i = 0; i < index; i++) {
        uint8_t h[HASH_SIZE];
        err_code rc = log_leaf_hash(r->st, sec->held.id, i, h);
        if (rc != ERR_OK) {
            return exchange_fail(rep, rc, sec->hdr.key,
                                 "leaf %llu held here cannot be read (%s): run cdht audit",
                                 (unsigned long long)i, err_str(rc));
        }
        merkle_frontier_push(&sec->theirs, h);
    }
    return ERR_OK;
}

/* Leaf hashes of one history for a proof: the held log's, or the section's other history's
 * (the held leaves before diverge_at, then the buffered ones). */
struct exchange_hist {
    struct replica *r;
    const struct exchange_section *sec;
    int theirs;
};

static err_code
exchange_hist_leaf(void *ctx, uint64_t index, uint8_t out[HASH_SIZE])
{
    struct exchange_hist *h = ctx;
    const struct exchange_section *sec = h->sec;
    if (h->theirs && index >= sec->diverge_at) {
        if (NEVER(index - sec->diverge_at >= sec->their_n)) {
            return ERR_CORRUPT_HERE;
        }
        memcpy(out, sec->their[index - sec->diverge_at], HASH_SIZE);
        return ERR_OK;
    }
    return log_leaf_hash(h->r->st, sec->held.id, index, out);
}

/* The section's other history is validly signed: make the proof against the checkpoint held
 * here and keep it for pass two. ERR_FORK when it cannot be proven. */
static err_code
exchange_equivocation_found(struct replica *r, struct exchange_section *sec,
                            const struct bundle_record *rec, const struct checkpoint *cp,
                            struct exchange_report *rep, struct exchange_proofs *pf)
{
    struct witness_proof *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return ERR_NOMEM;
    }
    uint64_t ours = 0;
    err_code rc = log_checkpoint_get(r->st, sec->held.id, p->note_a, &p->note_a_len, &ours);
    if (rc == ERR_NOTFOUND || (rc == ERR_OK && ours <= sec->diverge_at)) {
        /* Nothing signed here covers the differing leaf: no two signed notes to hold. */
        free(p);
        return exchange_fork(rep, sec);
    }
    if (rc != ERR_OK) {
        free(p);
        return rc;
    }
    memcpy(p->key, sec->hdr.key, KEY_PUBLIC_SIZE);
    p->prefix = sec->diverge_at;
    memcpy(p->note_b, rec->data, rec->len);
    p->note_b_len = rec->len;
    struct exchange_hist hist = {.r = r, .sec = sec, .theirs = cp->size > ours};
    rc = witness_proof_build(p, exchange_hist_leaf, &hist);
    if (rc != ERR_OK) {
        free(p);
        return rc == ERR_AUTH || rc == ERR_CORRUPT ? exchange_fork(rep, sec) : rc;
    }
    if (pf->n >= BUNDLE_EQUIVOCATIONS_MAX) {
        free(p);
        return exchange_fail(rep, ERR_MSGSIZE, NULL,
                             "more equivocations than one import may hold (%u)",
                             BUNDLE_EQUIVOCATIONS_MAX);
    }
    pf->p[pf->n] = p;
    pf->detected[pf->n] = 1;
    pf->n++;
    diag_warn("IMPORT-EQUIVOCATION",
              "a log's device signed two histories (they share %llu leaves); proof kept, "
              "its section skipped",
              (unsigned long long)sec->diverge_at);
    sec->cp_size = cp->size;
    memcpy(sec->cp_root, cp->root, HASH_SIZE);
    return ERR_OK;
}

static err_code
exchange_verify_leaf(struct replica *r, struct exchange_section *sec,
                     const struct bundle_record *rec, struct exchange_report *rep,
                     struct leaf_decoder *dec)
{
    uint8_t hash[HASH_SIZE];
    merkle_leaf_hash(rec->data, rec->len, hash);
    if (sec->diverged) {
        return exchange_their_push(sec, hash, rep); /* not applied: hashed for the proof only */
    }
    if (rec->leaf_index < sec->held.size) {
        uint8_t have[HASH_SIZE];
        err_code rc = log_leaf_hash(r->st, sec->held.id, rec->leaf_index, have);
        if (rc != ERR_OK) {
            return exchange_fail(rep, rc, sec->hdr.key,
                                 "leaf %llu held here cannot be read (%s): run cdht audit",
                                 (unsigned long long)rec->leaf_index, err_str(rc));
        }
        if (sodium_memcmp(have, hash, HASH_SIZE) != 0) {
            /* Another history: an equivocation if its checkpoint proves it signed, a fork
             * (refused) if not; the section's checkpoint decides. */
            err_code drc = exchange_diverge(r, sec, rec->leaf_index, rep);
            return drc == ERR_OK ? exchange_their_push(sec, hash, rep) : drc;
        }
        rep->duplicates++;
        return ERR_OK;
    }
    Cdht__Commit *c = NULL;
    err_code rc = leaf_decoder_decode(dec, rec->data, rec->len, &c);
    if (rc != ERR_OK) {
        return exchange_fail(rep, ERR_CORRUPT, sec->hdr.key, "leaf %llu is not a valid commit",
                             (unsigned long long)rec->leaf_index);
    }
    merkle_frontier_push(&sec->f, hash);
    return ERR_OK;
}

static err_code
exchange_verify_checkpoint(struct replica *r, struct exchange_section *sec,
                           const struct bundle_record *rec, struct exchange_report *rep,
                           struct exchange_proofs *pf)
{
    char name[NOTE_LOG_NAME_SIZE + 1];
    struct checkpoint cp;
    note_log_name(sec->hdr.key, name);
    err_code rc = note_verify_checkpoint(rec->data, rec->len, name, sec->hdr.key, &cp);
    if (rc != ERR_OK) {
        return exchange_fail(
            rep, rc == ERR_AUTH ? ERR_AUTH : ERR_CORRUPT, sec->hdr.key,
            "checkpoint at size %llu is malformed or its signature does not verify",
            (unsigned long long)(sec->hdr.first + sec->hdr.count));
    }
    uint64_t end = sec->hdr.first + sec->hdr.count;
    if (strcmp(cp.origin, name) != 0) {
        return exchange_fail(rep, ERR_CORRUPT, sec->hdr.key, "checkpoint names another log");
    }
    if (cp.size != end) {
        return exchange_fail(rep, ERR_CORRUPT, sec->hdr.key,
                             "checkpoint covers %llu leaves but the section ends at %llu",
                             (unsigned long long)cp.size, (unsigned long long)end);
    }
    uint8_t root[HASH_SIZE];
    if (sec->diverged) {
        ASSERT(sec->theirs.size == end);
        merkle_frontier_root(&sec->theirs, root);
        if (sodium_memcmp(root, cp.root, HASH_SIZE) != 0) {
            return exchange_fork(rep, sec); /* signed, but not these leaves: altered */
        }
        return exchange_equivocation_found(r, sec, rec, &cp, rep, pf);
    }
    if (end > sec->held.size) {
        ASSERT(sec->f.size == end);
        merkle_frontier_root(&sec->f, root);
        if (sodium_memcmp(root, cp.root, HASH_SIZE) != 0) {
            /* The signature is good, so either these leaves were altered, or the signer's
             * history before them differs from the one held here: a fork. From the bundle
             * alone the two cannot be told apart. */
            return exchange_fail(rep, ERR_CORRUPT, sec->hdr.key,
                                 "leaves %llu..%llu do not match the signed checkpoint root: "
                                 "the bundle was altered, or the log forked",
                                 (unsigned long long)sec->hdr.first, (unsigned long long)(end - 1));
        }
    } else {
        if ((rc = log_root_at(r->st, &sec->held, end, root)) != ERR_OK) {
            return rc;
        }
        if (sodium_memcmp(root, cp.root, HASH_SIZE) != 0) {
            return exchange_fail(rep, ERR_FORK, sec->hdr.key,
                                 "signed checkpoint at size %llu disagrees with the leaves held "
                                 "(forked log)",
                                 (unsigned long long)end);
        }
    }
    sec->cp_size = end;
    memcpy(sec->cp_root, cp.root, HASH_SIZE);
    return ERR_OK;
}

/* A cosignature carried after a section's checkpoint: it must be the named witness's valid
 * cosignature of this log at a size the section signs; one at the checkpoint's size must
 * co-sign its root. Roots at smaller sizes are checked against the leaves in pass two. */
static err_code
exchange_verify_cosig(const struct exchange_section *sec, const struct bundle_record *rec,
                      struct exchange_report *rep)
{
    const struct bundle_cosig *bc = &rec->cosig;
    char wk[KEYS_B64_SIZE];
    keys_b64(bc->witness, wk);
    if (bc->size == 0 || bc->size > sec->cp_size) {
        return exchange_fail(rep, ERR_CORRUPT, sec->hdr.key,
                             "cosignature by witness %s at size %llu is outside the signed "
                             "checkpoint's %llu leaves",
                             wk, (unsigned long long)bc->size, (unsigned long long)sec->cp_size);
    }
    struct witness_cosig c;
    err_code rc = witness_cosig_check(sec->hdr.key, bc->witness, bc->size, bc->root, bc->line,
                                      bc->line_len, &c);
    if (rc != ERR_OK) {
        return exchange_fail(rep, rc == ERR_AUTH ? ERR_AUTH : ERR_CORRUPT, sec->hdr.key,
                             "cosignature by witness %s at size %llu is malformed or does not "
                             "verify (tampered)",
                             wk, (unsigned long long)bc->size);
    }
    if (bc->size == sec->cp_size && sodium_memcmp(bc->root, sec->cp_root, HASH_SIZE) != 0) {
        return exchange_fail(rep, ERR_CORRUPT, sec->hdr.key,
                             "cosignature by witness %s at size %llu co-signs a root other than "
                             "the checkpoint's",
                             wk, (unsigned long long)bc->size);
    }
    return ERR_OK;
}

/* An equivocation proof carried by the bundle: verified by itself, held for pass two. */
static err_code
exchange_verify_equivocation(const struct bundle_record *rec, struct exchange_report *rep,
                             struct exchange_proofs *pf)
{
    const struct bundle_equivocation *e = &rec->equivocation;
    if (pf->n >= BUNDLE_EQUIVOCATIONS_MAX) {
        return exchange_fail(rep, ERR_MSGSIZE, NULL,
                             "more equivocations than one import may hold (%u)",
                             BUNDLE_EQUIVOCATIONS_MAX);
    }
    struct witness_proof *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return ERR_NOMEM;
    }
    memcpy(p->key, e->key, KEY_PUBLIC_SIZE);
    p->prefix = e->prefix;
    memcpy(p->note_a, e->note_a, e->note_a_len);
    p->note_a_len = e->note_a_len;
    memcpy(p->note_b, e->note_b, e->note_b_len);
    p->note_b_len = e->note_b_len;
    memcpy(p->proof, e->proof, e->count * HASH_SIZE);
    p->count = e->count;
    err_code rc = witness_proof_verify(p, NULL, NULL);
    if (rc != ERR_OK) {
        free(p);
        return exchange_fail(rep, rc == ERR_AUTH ? ERR_AUTH : ERR_CORRUPT, e->key,
                             "equivocation proof does not verify (%s): tampered, or not a proof",
                             rc == ERR_AUTH ? "a signature or the consistency proof fails"
                                            : "malformed");
    }
    pf->p[pf->n] = p;
    pf->detected[pf->n] = 0;
    pf->n++;
    return ERR_OK;
}

static err_code
exchange_verify_log(struct replica *r, struct exchange_section *sec,
                    const struct bundle_record *rec, struct exchange_report *rep)
{
    exchange_section_release(sec);
    memset(sec, 0, sizeof *sec);
    sec->hdr = rec->log;
    err_code rc = log_get(r->st, sec->hdr.key, &sec->held);
    if (rc == ERR_NOTFOUND) {
        memset(&sec->held, 0, sizeof sec->held);
        merkle_frontier_init(&sec->held.frontier);
    } else if (rc != ERR_OK) {
        return exchange_fail(rep, rc, sec->hdr.key,
                             "the log held here cannot be read (%s): run cdht audit", err_str(rc));
    }
    if (sec->hdr.first + sec->hdr.count > LOG_SIZE_MAX) {
        return exchange_fail(rep, ERR_MSGSIZE, sec->hdr.key,
                             "bundle would grow the log past %llu leaves",
                             (unsigned long long)LOG_SIZE_MAX);
    }
    if (sec->hdr.first > sec->held.size) {
        return exchange_fail(rep, ERR_INVAL, sec->hdr.key,
                             "bundle starts at leaf %llu but this replica holds %llu leaves; "
                             "export again with --since this replica's heads",
                             (unsigned long long)sec->hdr.first,
                             (unsigned long long)sec->held.size);
    }
    sec->f = sec->held.frontier;
    rep->logs++;
    return ERR_OK;
}

/* Pass one. Every record is checked; nothing is written. */
static err_code
exchange_pass_verify(struct replica *r, struct bundle_reader *br, struct exchange_report *rep,
                     struct leaf_decoder *dec, struct exchange_proofs *pf)
{
    struct exchange_section sec;
    err_code rc = ERR_OK;
    memset(&sec, 0, sizeof sec);
    for (;;) {
        struct bundle_record rec;
        rc = bundle_reader_next(br, &rec);
        if (rc != ERR_OK) {
            rc = exchange_fail(rep, rc, NULL, "bundle is %s (%s)",
                               rc == ERR_MSGSIZE ? "larger than its limits allow"
                                                 : "damaged or truncated",
                               err_str(rc));
            break;
        }
        if (rec.type == BUNDLE_REC_END) {
            break;
        }
        switch (rec.type) {
        case BUNDLE_REC_END: break;
        case BUNDLE_REC_LOG: rc = exchange_verify_log(r, &sec, &rec, rep); break;
        case BUNDLE_REC_LEAF: rc = exchange_verify_leaf(r, &sec, &rec, rep, dec); break;
        case BUNDLE_REC_CHECKPOINT: rc = exchange_verify_checkpoint(r, &sec, &rec, rep, pf); break;
        case BUNDLE_REC_COSIG: rc = exchange_verify_cosig(&sec, &rec, rep); break;
        case BUNDLE_REC_EQUIVOCATION: rc = exchange_verify_equivocation(&rec, rep, pf); break;
        }
        if (rc != ERR_OK) {
            break;
        }
    }
    exchange_section_release(&sec);
    return rc;
}

struct exchange_apply {
    struct replica *r;
    struct leaf_decoder *dec;
    struct log_head head;
    uint64_t hlc;      /* the replica's clock, folded with what arrives */
    unsigned in_batch; /* leaves in the open transaction */
    int64_t now_ms;
    struct trust_ctx *trust; /* admission (node/trust.h) */
    int dirty;               /* a trust leaf arrived: reconcile before the last commit */
    /* Equivocations pass one kept (node/witness.h). */
    const struct exchange_proofs *pf;
    /* This section is the other history of a proof found in pass one, from leaf skip_from. */
    int skip;
    uint64_t skip_from;
    int frozen; /* this log is frozen by a proof at frozen_prefix */
    uint64_t frozen_prefix;
    uint64_t root_size; /* log_root_at cache for the section's cosignatures (0: none) */
    uint8_t root[HASH_SIZE];
    struct scope scope; /* this replica's own (node/scope.h), when scoped */
    int scoped;         /* scope_of_replica said active: sections outside are not stored */
    int outside;        /* this section is outside scope: none of its records is stored */
};

static err_code
exchange_batch_end(struct exchange_apply *a, int reopen)
{
    if (!reopen && a->dirty) {
        struct trust_report tr;
        err_code trc = trust_reconcile(a->r->st, &tr);
        if (trc != ERR_OK) {
            return trc;
        }
        a->dirty = 0;
    }
    err_code rc;
    if ((rc = replica_clock_put(a->r, a->hlc)) != ERR_OK ||
        (rc = store_commit(a->r->st)) != ERR_OK) {
        return rc;
    }
    a->in_batch = 0;
    return reopen ? store_begin(a->r->st) : ERR_OK;
}

static err_code
exchange_apply_leaf(struct exchange_apply *a, const struct bundle_record *rec,
                    struct exchange_report *rep)
{
    if (a->skip) {
        rep->frozen += rec->leaf_index >= a->skip_from;
        return ERR_OK;
    }
    if (rec->leaf_index < a->head.size) {
        return ERR_OK; /* held already; pass one compared it */
    }
    if (a->frozen && rec->leaf_index >= a->frozen_prefix) {
        rep->frozen++; /* past the common prefix of an equivocation: accepted no more */
        return ERR_OK;
    }
    if (rec->leaf_index != a->head.size) {
        return ERR_CORRUPT_HERE; /* cannot happen on the private copy pass one verified */
    }
    Cdht__Commit *c = NULL;
    err_code rc = leaf_decoder_decode(a->dec, rec->data, rec->len, &c);
    if (rc != ERR_OK) {
        return rc; /* pass one decoded it: the file changed under us */
    }
    uint8_t hash[HASH_SIZE];
    merkle_leaf_hash(rec->data, rec->len, hash);
    int skew = hlc_observe(&a->hlc, c->hlc, a->now_ms);
    uint64_t index = a->head.size;
    if ((rc = log_append(a->r->st, &a->head, rec->data, rec->len, hash, c->hlc, a->now_ms, skew)) ==
        ERR_OK) {
        int applied = 0;
        rc = trust_admit(a->trust, a->head.id, index, c, &applied, &a->dirty);
        if (rc == ERR_OK && !applied) {
            rep->held++;
        }
    }
    if (rc != ERR_OK) {
        return rc;
    }
    if (skew) {
        rep->skewed++;
        diag_debug("IMPORT-SKEW",
                   "leaf %llu of a log is dated more than %lld min ahead of this "
                   "clock; flagged",
                   (unsigned long long)index, HLC_AHEAD_FLAG_MS / 60000);
    }
    rep->leaves++;
    if (++a->in_batch >= STORE_APPLY_BATCH_MAX) {
        if ((rc = log_save(a->r->st, &a->head)) != ERR_OK) {
            return rc;
        }
        return exchange_batch_end(a, 1);
    }
    return ERR_OK;
}

/* Stores a cosignature pass one verified, when the leaves held give its root. */
static err_code
exchange_apply_cosig(struct exchange_apply *a, const struct bundle_record *rec,
                     struct exchange_report *rep)
{
    const struct bundle_cosig *bc = &rec->cosig;
    if (a->skip || bc->size > a->head.size) {
        return ERR_OK;
    }
    err_code rc = ERR_OK;
    if (a->root_size != bc->size) {
        if ((rc = log_root_at(a->r->st, &a->head, bc->size, a->root)) != ERR_OK) {
            return rc;
        }
        a->root_size = bc->size;
    }
    if (sodium_memcmp(a->root, bc->root, HASH_SIZE) != 0) {
        /* Validly co-signed, but not these leaves: the witness saw the other history of an
         * equivocation. Kept out; the proof, when one exists, says more. */
        diag_debug("IMPORT-COSIG", "cosignature at size %llu co-signs another root; not kept",
                   (unsigned long long)bc->size);
        return ERR_OK;
    }
    struct witness_cosig c;
    if ((rc = witness_cosig_check(rec->log.key, bc->witness, bc->size, bc->root, bc->line,
                                  bc->line_len, &c)) != ERR_OK) {
        return rc; /* pass one verified it: the file changed under us */
    }
    c.log_id = a->head.id;
    if ((rc = witness_cosig_put(a->r->st, &c)) == ERR_OK) {
        rep->cosigs++;
    }
    return rc;
}

/* Stores the proofs pass one kept, then lets trust stop counting past their prefixes. */
static err_code
exchange_apply_proofs(struct exchange_apply *a, struct exchange_report *rep)
{
    int any = 0;
    for (size_t i = 0; i < a->pf->n; i++) {
        int added = 0;
        err_code rc = witness_proof_store(a->r->st, a->pf->p[i], a->now_ms, &added);
        if (rc != ERR_OK) {
            return rc;
        }
        if (added) {
            rep->equivocations++;
            any = 1;
        }
    }
    return any ? trust_reconcile(a->r->st, NULL) : ERR_OK;
}

/* A section starts: is its log outside this replica's scope? Only SCOPE_OUT is left out; an
 * unknown signer's log is stored (held in quarantine) because its certificate may come later. */
static err_code
exchange_apply_scope(struct exchange_apply *a, const struct bundle_record *rec,
                     struct exchange_report *rep)
{
    enum scope_verdict v = SCOPE_IN;
    a->outside = 0;
    if (!a->scoped) {
        return ERR_OK;
    }
    err_code rc = scope_log_verdict(a->r->st, &a->scope, rec->log.key, &v);
    if (rc == ERR_OK && v == SCOPE_OUT) {
        a->outside = 1;
        rep->out_of_scope++;
    }
    return rc;
}

/* Pass two: append and merge, STORE_APPLY_BATCH_MAX leaves per transaction. */
static err_code
exchange_pass_apply(struct replica *r, struct bundle_reader *br, struct exchange_report *rep,
                    struct leaf_decoder *dec, const struct exchange_proofs *pf)
{
    struct exchange_apply a = {.r = r, .dec = dec, .now_ms = hlc_wall_ms(), .pf = pf};
    err_code rc = bundle_reader_rewind(br);
    if (rc != ERR_OK || (rc = trust_ctx_open(r->st, &a.trust)) != ERR_OK) {
        return rc;
    }
    if ((rc = store_begin(r->st)) != ERR_OK) {
        trust_ctx_free(a.trust);
        return rc;
    }
    /* An import that stopped before its reconciliation (power cut) left trust leaves
     * pending: settle them with this one. */
    if ((rc = trust_pending(r->st, &a.dirty)) != ERR_OK ||
        (rc = scope_of_replica(r, &a.scope, &a.scoped)) != ERR_OK) {
        goto out;
    }
    if ((rc = replica_clock_get(r, &a.hlc)) != ERR_OK) {
        goto out;
    }
    if ((rc = exchange_apply_proofs(&a, rep)) != ERR_OK) {
        goto out;
    }
    for (;;) {
        struct bundle_record rec;
        if ((rc = bundle_reader_next(br, &rec)) != ERR_OK) {
            goto out;
        }
        if (rec.type == BUNDLE_REC_END) {
            break;
        }
        /* Replication scope (node/scope.h): a section outside it was verified in pass one;
         * none of its records is stored. */
        if (rec.type == BUNDLE_REC_LOG && (rc = exchange_apply_scope(&a, &rec, rep)) != ERR_OK) {
            goto out;
        }
        if (a.outside) {
            continue;
        }
        if (rec.type == BUNDLE_REC_LOG) {
            rc = log_get(r->st, rec.log.key, &a.head);
            if (rc == ERR_NOTFOUND) {
                rc = log_create(r->st, rec.log.key, &a.head);
            }
            a.skip = exchange_proofs_detected(pf, rec.log.key, &a.skip_from);
            a.root_size = 0;
            if (rc == ERR_OK) {
                rc = witness_frozen(r->st, rec.log.key, &a.frozen, &a.frozen_prefix);
            }
        } else if (rec.type == BUNDLE_REC_COSIG) {
            rc = exchange_apply_cosig(&a, &rec, rep);
        } else if (rec.type == BUNDLE_REC_EQUIVOCATION) {
            /* stored by exchange_apply_proofs */
        } else if (rec.type == BUNDLE_REC_LEAF) {
            rc = exchange_apply_leaf(&a, &rec, rep);
        } else if (rec.type == BUNDLE_REC_CHECKPOINT && !a.skip) {
            uint64_t end = rec.log.first + rec.log.count;
            /* Only a larger checkpoint replaces the one held: a re-packed note of the same
             * size (say, with a stranger's signature line added) changes nothing. */
            if ((rc = log_save(r->st, &a.head)) == ERR_OK && end > a.head.cp_size &&
                end <= a.head.size) {
                rc = log_checkpoint_put(r->st, &a.head, rec.data, rec.len, end);
            }
        }
        if (rc != ERR_OK) {
            goto out;
        }
    }
    rc = exchange_batch_end(&a, 0);
    trust_ctx_free(a.trust);
    if (rc == ERR_OK) {
        trust_ctx_reset(r->trust);
    }
    return rc;
out:
    store_rollback(r->st);
    trust_ctx_free(a.trust);
    return rc;
}

/* Copy buffer for exchange_private_copy. */
#define EXCHANGE_COPY_CHUNK (64u * 1024u)

/*
 * Import reads the bundle twice, and only the first pass verifies signatures and roots; a file
 * that another process (a USB device, a network share) rewrites between the passes would slip
 * unverified leaves into the second. So both passes read a private copy: a file in the replica
 * home (0700), unlinked as soon as it is created, that only this process holds open. On
 * ERR_OK *out is that copy, positioned at its start.
 */
static err_code
exchange_private_copy(struct replica *r, FILE *src, uint64_t size, FILE **out)
{
    char tmp[REPLICA_PATH_MAX + 32];
    *out = NULL;
    if (snprintf(tmp, sizeof tmp, "%s/.import-XXXXXX", r->home) >= (int)sizeof tmp) {
        return ERR_INVAL;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        return err_from_errno(errno);
    }
    unlink(tmp);
    err_code rc = ERR_OK;
    uint8_t *buf = malloc(EXCHANGE_COPY_CHUNK);
    if (buf == NULL) {
        close(fd);
        return ERR_NOMEM;
    }
    uint64_t left = size;
    while (left > 0) { /* bounded: size / EXCHANGE_COPY_CHUNK + 1 turns */
        size_t want = left < EXCHANGE_COPY_CHUNK ? (size_t)left : EXCHANGE_COPY_CHUNK;
        size_t got = fread(buf, 1, want, src);
        if (got != want) {
            rc = ERR_IO; /* shorter than fstat said: it is changing under us */
            break;
        }
        for (size_t done = 0; done < got;) {
            ssize_t w = write(fd, buf + done, got - done);
            if (w < 0) {
                rc = err_from_errno(errno);
                break;
            }
            done += (size_t)w;
        }
        if (rc != ERR_OK) {
            break;
        }
        left -= got;
    }
    free(buf);
    if (rc == ERR_OK && lseek(fd, 0, SEEK_SET) != 0) {
        rc = err_from_errno(errno);
    }
    if (rc == ERR_OK && (*out = fdopen(fd, "rb")) == NULL) {
        rc = err_from_errno(errno);
    }
    if (rc != ERR_OK) {
        close(fd);
    }
    return rc;
}

/* Opens the bundle at path for reading; when r is not NULL (import), through a private copy
 * (exchange_private_copy). */
static err_code
exchange_open(struct replica *r, const char *path, FILE **f, struct bundle_reader **br,
              struct exchange_report *rep)
{
    *br = NULL;
    *f = fopen(path, "rb");
    if (*f == NULL) {
        return exchange_fail(rep, err_from_errno(errno), NULL, "cannot open bundle: %s",
                             strerror(errno));
    }
    struct stat sb;
    if (fstat(fileno(*f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(*f);
        *f = NULL;
        return exchange_fail(rep, ERR_INVAL, NULL, "not a bundle: it is not a regular file");
    }
    if (r != NULL) {
        FILE *copy = NULL;
        err_code crc = exchange_private_copy(r, *f, (uint64_t)sb.st_size, &copy);
        fclose(*f);
        *f = copy;
        if (crc != ERR_OK) {
            return exchange_fail(rep, crc, NULL, "cannot copy the bundle into the replica home: %s",
                                 err_str(crc));
        }
    }
    err_code rc = bundle_reader_new(br, *f, BUNDLE_INFLATED_SIZE_MAX);
    if (rc != ERR_OK) {
        fclose(*f);
        *f = NULL;
        return exchange_fail(rep, rc, NULL, "not a valid bundle: %s",
                             rc == ERR_MSGSIZE ? "it declares more data than the limit allows"
                                               : "header, trailer or checksum is wrong");
    }
    return ERR_OK;
}

err_code
exchange_verify(struct replica *r, const char *path, struct exchange_report *rep)
{
    FILE *f = NULL;
    struct bundle_reader *br = NULL;
    struct leaf_decoder *dec = NULL;
    memset(rep, 0, sizeof *rep);
    struct exchange_proofs *pf = calloc(1, sizeof *pf);
    err_code rc = pf == NULL ? ERR_NOMEM : leaf_decoder_new(&dec);
    /* One pass only: no copy needed. */
    if (rc == ERR_OK && (rc = exchange_open(NULL, path, &f, &br, rep)) == ERR_OK) {
        rc = exchange_pass_verify(r, br, rep, dec, pf);
    }
    exchange_proofs_free(pf);
    bundle_reader_free(br);
    if (f != NULL) {
        fclose(f);
    }
    leaf_decoder_free(dec);
    return rc;
}

err_code
exchange_import(struct replica *r, const char *path, struct exchange_report *rep)
{
    return exchange_import_between(r, path, rep, NULL, NULL);
}

err_code
exchange_import_between(struct replica *r, const char *path, struct exchange_report *rep,
                        void (*between)(void *ctx), void *between_ctx)
{
    FILE *f = NULL;
    struct bundle_reader *br = NULL;
    struct leaf_decoder *dec = NULL;
    memset(rep, 0, sizeof *rep);
    struct exchange_proofs *pf = calloc(1, sizeof *pf);
    err_code rc = pf == NULL ? ERR_NOMEM : leaf_decoder_new(&dec);
    if (rc != ERR_OK || (rc = exchange_open(r, path, &f, &br, rep)) != ERR_OK) {
        leaf_decoder_free(dec);
        exchange_proofs_free(pf);
        return rc;
    }
    /* The write lock (replica_open) is held across both passes, so what pass one verified
     * against is what pass two appends to; and both read the same private copy of the file,
     * so what pass one verified is what pass two applies. */
    if ((rc = exchange_pass_verify(r, br, rep, dec, pf)) == ERR_OK) {
        if (between != NULL) {
            between(between_ctx);
        }
        uint64_t logs = rep->logs, dups = rep->duplicates;
        rep->logs = 0;
        rep->duplicates = 0;
        rc = exchange_pass_apply(r, br, rep, dec, pf);
        rep->logs = logs;
        rep->duplicates = dups;
        if (rep->skewed > 0) {
            diag_warn("IMPORT-SKEW",
                      "%llu imported leaves are dated more than %lld min ahead of "
                      "this clock; flagged (stored with each leaf)",
                      (unsigned long long)rep->skewed, HLC_AHEAD_FLAG_MS / 60000);
        }
        if (rc != ERR_OK) {
            /* Pass one accepted every byte, so this is the disk or the database failing, or
             * the file changing under us; batches already committed hold verified leaves. */
            exchange_fail(rep, rc, NULL, "import stopped after %llu new leaves: %s",
                          (unsigned long long)rep->leaves, err_str(rc));
        }
    }
    bundle_reader_free(br);
    fclose(f);
    leaf_decoder_free(dec);
    exchange_proofs_free(pf);
    return rc;
}
