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
#include "diag.h"
#include "hlc.h"
#include "leaf.h"
#include "log.h"
#include "merge.h"
#include "merkle.h"
#include "note.h"
#include "replica.h"
#include "store.h"

#define EXCHANGE_KEY_B64_SIZE 45u

static void
exchange_key_b64(const uint8_t key[KEY_PUBLIC_SIZE], char out[EXCHANGE_KEY_B64_SIZE])
{
    sodium_bin2base64(out, EXCHANGE_KEY_B64_SIZE, key, KEY_PUBLIC_SIZE,
                      sodium_base64_VARIANT_ORIGINAL);
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
        char k[EXCHANGE_KEY_B64_SIZE];
        exchange_key_b64(key, k);
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
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        struct heads_entry *e = realloc(a->e, cap * sizeof *e);
        if (e == NULL) {
            return ERR_NOMEM;
        }
        a->e = e;
        a->cap = cap;
    }
    memcpy(a->e[a->n].key, h->key, KEY_PUBLIC_SIZE);
    a->e[a->n].size = h->size;
    log_root(h, a->e[a->n].root);
    a->n++;
    return ERR_OK;
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
};

static err_code
exchange_export_log(void *ctx, const struct log_head *h)
{
    struct exchange_export_ctx *x = ctx;
    uint8_t note[NOTE_SIZE_MAX];
    size_t note_len = 0;
    uint64_t cp_size = 0;
    err_code rc = log_checkpoint_get(x->r->st, h->id, note, &note_len, &cp_size);
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
        return rc == ERR_MSGSIZE ? exchange_fail(x->rep, rc, NULL,
                                                 "more logs than one bundle may carry (%u)",
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
    x->rep->logs++;
    x->rep->leaves += n;
    return rc;
}

err_code
exchange_export(struct replica *r, const char *path, const struct heads_entry *since,
                size_t since_count, struct exchange_report *rep)
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
    struct exchange_export_ctx x = {.r = r, .since = since, .since_count = since_count, .rep = rep};
    if ((rc = bundle_writer_new(&x.w, f)) != ERR_OK) {
        goto out;
    }
    /* One read transaction: the logs and their checkpoints are seen as of one instant. */
    if ((rc = store_exec(r->st, "BEGIN")) != ERR_OK) {
        goto out;
    }
    rc = log_foreach(r->st, exchange_export_log, &x);
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
};

static err_code
exchange_verify_leaf(struct replica *r, struct exchange_section *sec,
                     const struct bundle_record *rec, struct exchange_report *rep,
                     struct leaf_decoder *dec)
{
    uint8_t hash[HASH_SIZE];
    merkle_leaf_hash(rec->data, rec->len, hash);
    if (rec->leaf_index < sec->held.size) {
        uint8_t have[HASH_SIZE];
        err_code rc = log_leaf_hash(r->st, sec->held.id, rec->leaf_index, have);
        if (rc != ERR_OK) {
            return exchange_fail(rep, rc, sec->hdr.key,
                                 "leaf %llu held here cannot be read (%s): run cdht audit",
                                 (unsigned long long)rec->leaf_index, err_str(rc));
        }
        if (sodium_memcmp(have, hash, HASH_SIZE) != 0) {
            return exchange_fail(rep, ERR_FORK, sec->hdr.key,
                                 "leaf %llu differs from the leaf this replica holds (forked log)",
                                 (unsigned long long)rec->leaf_index);
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
                           const struct bundle_record *rec, struct exchange_report *rep)
{
    char name[NOTE_LOG_NAME_SIZE + 1];
    struct checkpoint cp;
    note_log_name(sec->hdr.key, name);
    err_code rc = note_verify_checkpoint(rec->data, rec->len, name, sec->hdr.key, &cp);
    if (rc != ERR_OK) {
        return exchange_fail(rep, rc == ERR_AUTH ? ERR_AUTH : ERR_CORRUPT, sec->hdr.key,
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
    return ERR_OK;
}

static err_code
exchange_verify_log(struct replica *r, struct exchange_section *sec,
                    const struct bundle_record *rec, struct exchange_report *rep)
{
    memset(sec, 0, sizeof *sec);
    sec->hdr = rec->log;
    err_code rc = log_get(r->st, sec->hdr.key, &sec->held);
    if (rc == ERR_NOTFOUND) {
        memset(&sec->held, 0, sizeof sec->held);
        merkle_frontier_init(&sec->held.frontier);
    } else if (rc != ERR_OK) {
        return exchange_fail(rep, rc, sec->hdr.key,
                             "the log held here cannot be read (%s): run cdht audit",
                             err_str(rc));
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
                     struct leaf_decoder *dec)
{
    struct exchange_section sec;
    memset(&sec, 0, sizeof sec);
    for (;;) {
        struct bundle_record rec;
        err_code rc = bundle_reader_next(br, &rec);
        if (rc != ERR_OK) {
            return exchange_fail(rep, rc, NULL, "bundle is %s (%s)",
                                 rc == ERR_MSGSIZE ? "larger than its limits allow"
                                                   : "damaged or truncated",
                                 err_str(rc));
        }
        switch (rec.type) {
        case BUNDLE_REC_END: return ERR_OK;
        case BUNDLE_REC_LOG: rc = exchange_verify_log(r, &sec, &rec, rep); break;
        case BUNDLE_REC_LEAF: rc = exchange_verify_leaf(r, &sec, &rec, rep, dec); break;
        case BUNDLE_REC_CHECKPOINT: rc = exchange_verify_checkpoint(r, &sec, &rec, rep); break;
        }
        if (rc != ERR_OK) {
            return rc;
        }
    }
}

struct exchange_apply {
    struct replica *r;
    struct leaf_decoder *dec;
    struct log_head head;
    uint64_t hlc;      /* the replica's clock, folded with what arrives */
    unsigned in_batch; /* leaves in the open transaction */
    int64_t now_ms;
};

static void
exchange_u64_put(uint8_t b[8], uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(v >> (56 - 8 * i));
    }
}

static err_code
exchange_batch_end(struct exchange_apply *a, int reopen)
{
    uint8_t hb[8];
    exchange_u64_put(hb, a->hlc);
    err_code rc;
    if ((rc = store_meta_put(a->r->st, "hlc", hb, 8)) != ERR_OK ||
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
    if (rec->leaf_index < a->head.size) {
        return ERR_OK; /* held already; pass one compared it */
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
        rc = merge_commit(a->r->st, a->head.id, index, c);
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

/* Pass two: append and merge, STORE_APPLY_BATCH_MAX leaves per transaction. */
static err_code
exchange_pass_apply(struct replica *r, struct bundle_reader *br, struct exchange_report *rep,
                    struct leaf_decoder *dec)
{
    struct exchange_apply a = {.r = r, .dec = dec, .now_ms = hlc_wall_ms()};
    uint8_t hb[8];
    size_t hn = 0;
    err_code rc = bundle_reader_rewind(br);
    if (rc != ERR_OK || (rc = store_begin(r->st)) != ERR_OK) {
        return rc;
    }
    if ((rc = store_meta_get(r->st, "hlc", hb, sizeof hb, &hn)) != ERR_OK) {
        goto out;
    }
    for (size_t i = 0; i < hn && i < 8; i++) {
        a.hlc = a.hlc << 8 | hb[i];
    }
    for (;;) {
        struct bundle_record rec;
        if ((rc = bundle_reader_next(br, &rec)) != ERR_OK) {
            goto out;
        }
        if (rec.type == BUNDLE_REC_END) {
            break;
        }
        if (rec.type == BUNDLE_REC_LOG) {
            rc = log_get(r->st, rec.log.key, &a.head);
            if (rc == ERR_NOTFOUND) {
                rc = log_create(r->st, rec.log.key, &a.head);
            }
        } else if (rec.type == BUNDLE_REC_LEAF) {
            rc = exchange_apply_leaf(&a, &rec, rep);
        } else if (rec.type == BUNDLE_REC_CHECKPOINT) {
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
    return exchange_batch_end(&a, 0);
out:
    store_rollback(r->st);
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
            return exchange_fail(rep, crc, NULL,
                                 "cannot copy the bundle into the replica home: %s",
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
    err_code rc = leaf_decoder_new(&dec);
    /* One pass only: no copy needed. */
    if (rc == ERR_OK && (rc = exchange_open(NULL, path, &f, &br, rep)) == ERR_OK) {
        rc = exchange_pass_verify(r, br, rep, dec);
    }
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
    err_code rc = leaf_decoder_new(&dec);
    if (rc != ERR_OK || (rc = exchange_open(r, path, &f, &br, rep)) != ERR_OK) {
        leaf_decoder_free(dec);
        return rc;
    }
    /* The write lock (replica_open) is held across both passes, so what pass one verified
     * against is what pass two appends to; and both read the same private copy of the file,
     * so what pass one verified is what pass two applies. */
    if ((rc = exchange_pass_verify(r, br, rep, dec)) == ERR_OK) {
        if (between != NULL) {
            between(between_ctx);
        }
        uint64_t logs = rep->logs, dups = rep->duplicates;
        rep->logs = 0;
        rep->duplicates = 0;
        rc = exchange_pass_apply(r, br, rep, dec);
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
    return rc;
}
