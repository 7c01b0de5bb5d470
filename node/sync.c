/*
 * Building and applying sync batches (sync.h). Verification follows the bundle import's pass
 * one (node/exchange.c) for a single section held in memory: every check is done before the
 * transaction opens.
 */
#include "sync.h"

#include <stdlib.h>
#include <string.h>

#include "hlc.h"
#include "leaf.h"
#include "log.h"
#include "merkle.h"
#include "note.h"
#include "replica.h"
#include "scope.h"
#include "store.h"
#include "trust.h"
#include "wire.h"

void
sync_batch_clear(Cdht__Sync__Batch *b)
{
    free(b->key.data);
    free(b->leaves.data);
    free(b->checkpoint.data);
    for (size_t i = 0; i < b->n_consistency; i++) {
        free(b->consistency[i].data);
    }
    free(b->consistency);
    for (size_t i = 0; i < b->n_cosigs; i++) {
        free(b->cosigs[i].data);
    }
    free(b->cosigs);
    cdht__sync__batch__init(b);
}

static err_code
sync_bytes(ProtobufCBinaryData *d, const void *src, size_t len)
{
    d->data = malloc(len ? len : 1);
    if (d->data == NULL) {
        return ERR_NOMEM;
    }
    memcpy(d->data, src, len);
    d->len = len;
    return ERR_OK;
}

/* Adds the leaves from..*end to w; a leaf that does not fit ends the batch early (*end). */
static err_code
sync_batch_fill(struct replica *r, const struct log_head *h, uint64_t from, uint64_t *end,
                struct wire_batch_writer *w, const char **why)
{
    err_code rc = ERR_OK;
    for (uint64_t i = from; i < *end && rc == ERR_OK; i++) {
        uint8_t *data = NULL;
        size_t len = 0;
        if ((rc = log_leaf_read(r->st, h->id, i, &data, &len)) != ERR_OK) {
            break;
        }
        rc = wire_batch_writer_add(w, data, len, why);
        free(data);
        if (rc == ERR_MSGSIZE && w->count > 0) {
            *end = i; /* the batch is full: the rest goes in the next one */
            return ERR_OK;
        }
    }
    return rc;
}

err_code
sync_batch_build(struct replica *r, const uint8_t key[KEY_PUBLIC_SIZE], uint64_t from,
                 uint32_t max_leaves, Cdht__Sync__Batch *b)
{
    cdht__sync__batch__init(b);
    struct log_head h;
    err_code rc = log_get(r->st, key, &h);
    if (rc != ERR_OK) {
        return rc;
    }
    uint8_t note[NOTE_SIZE_MAX];
    size_t note_len = 0;
    uint64_t cp_size = 0;
    if ((rc = log_checkpoint_get(r->st, h.id, note, &note_len, &cp_size)) != ERR_OK) {
        return rc == ERR_NOTFOUND ? ERR_AGAIN : rc;
    }
    if (cp_size <= from) {
        return ERR_AGAIN;
    }
    uint32_t max = max_leaves ? max_leaves : SYNC_BATCH_LEAVES_DEFAULT;
    if (max > WIRE_BATCH_LEAVES_MAX) {
        max = WIRE_BATCH_LEAVES_MAX;
    }
    uint64_t end = cp_size - from > max ? from + max : cp_size;
    struct wire_batch_writer w;
    const char *why = NULL;
    uint8_t *zst = NULL;
    size_t zst_len = 0;
    /* Leaves that compress worse than expected overflow the frame: halve and build again. */
    for (;;) {
        wire_batch_writer_init(&w);
        rc = sync_batch_fill(r, &h, from, &end, &w, &why);
        if (rc == ERR_OK) {
            rc = wire_batch_writer_finish(&w, SYNC_BATCH_BYTES_MAX, &zst, &zst_len, &why);
        }
        wire_batch_writer_release(&w);
        if (rc == ERR_MSGSIZE && end - from > 1) {
            end = from + (end - from) / 2;
            continue;
        }
        break;
    }
    if (rc != ERR_OK) {
        return rc;
    }
    b->leaves.data = zst;
    b->leaves.len = zst_len;
    b->has_first = b->has_count = 1;
    b->first = from;
    b->count = (uint32_t)(end - from);
    if ((rc = sync_bytes(&b->key, key, KEY_PUBLIC_SIZE)) != ERR_OK ||
        (rc = sync_bytes(&b->checkpoint, note, note_len)) != ERR_OK) {
        sync_batch_clear(b);
        return rc;
    }
    b->has_key = b->has_leaves = b->has_checkpoint = 1;
    if (end < cp_size) {
        uint8_t proof[MERKLE_PROOF_HASHES_MAX][HASH_SIZE];
        size_t n = 0;
        if ((rc = log_prove_consistency(r->st, &h, end, cp_size, proof, &n)) != ERR_OK ||
            (b->consistency = calloc(n ? n : 1, sizeof *b->consistency)) == NULL) {
            sync_batch_clear(b);
            return rc != ERR_OK ? rc : ERR_NOMEM;
        }
        for (size_t i = 0; i < n; i++) {
            if ((rc = sync_bytes(&b->consistency[i], proof[i], HASH_SIZE)) != ERR_OK) {
                sync_batch_clear(b);
                return rc;
            }
            b->n_consistency = i + 1;
        }
    }
    return ERR_OK;
}

/* The verified content of a batch, ready to apply. */
struct sync_verified {
    struct log_head head; /* the receiver's log (id 0 when not held yet) */
    int held;             /* the receiver holds the log */
    uint64_t skip;        /* leading leaves of the batch already held */
    struct checkpoint cp;
    int cp_at_end; /* the checkpoint's size is the batch's end: store it */
};

static err_code
sync_verify(struct replica *r, const Cdht__Sync__Batch *b, struct wire_batch_reader *rd,
            struct sync_verified *v, const char **why)
{
    memset(v, 0, sizeof *v);
    if (!b->has_key || b->key.len != KEY_PUBLIC_SIZE || !b->has_first || !b->has_count ||
        b->count == 0 || !b->has_leaves || !b->has_checkpoint ||
        b->checkpoint.len > NOTE_SIZE_MAX || b->n_consistency > MERKLE_PROOF_HASHES_MAX ||
        b->first > LOG_SIZE_MAX - b->count) {
        *why = "the batch lacks a field or exceeds a limit";
        return ERR_PROTO;
    }
    err_code rc = log_get(r->st, b->key.data, &v->head);
    if (rc == ERR_OK) {
        v->held = 1;
    } else if (rc != ERR_NOTFOUND) {
        return rc;
    }
    uint64_t have = v->held ? v->head.size : 0;
    if (b->first > have) {
        *why = "the batch starts past the leaves held (a gap): ask for heads again";
        return ERR_INVAL;
    }
    char name[NOTE_LOG_NAME_SIZE + 1];
    note_log_name(b->key.data, name);
    if ((rc = note_verify_checkpoint(b->checkpoint.data, b->checkpoint.len, name, b->key.data,
                                     &v->cp)) != ERR_OK) {
        *why = "the checkpoint is not signed by the log's own key";
        return rc == ERR_CORRUPT ? ERR_PROTO : ERR_AUTH;
    }
    uint64_t end = b->first + b->count;
    if (v->cp.size < end) {
        *why = "the checkpoint does not cover the batch";
        return ERR_PROTO;
    }
    if ((rc = wire_batch_reader_init(rd, b->leaves.data, b->leaves.len, b->count, why)) != ERR_OK) {
        return rc;
    }
    /* The root of the first `end` leaves: the held frontier up to first, then the batch. A held
     * leaf the batch repeats must be the same leaf. */
    struct merkle_frontier f;
    if (v->held && b->first == have) {
        f = v->head.frontier;
    } else {
        merkle_frontier_init(&f);
        for (uint64_t i = 0; i < b->first; i++) {
            uint8_t hh[HASH_SIZE];
            if ((rc = log_leaf_hash(r->st, v->head.id, i, hh)) != ERR_OK) {
                return rc;
            }
            merkle_frontier_push(&f, hh);
        }
    }
    const uint8_t *leaf = NULL;
    size_t len = 0;
    for (uint64_t i = b->first; wire_batch_reader_next(rd, &leaf, &len); i++) {
        uint8_t hh[HASH_SIZE];
        merkle_leaf_hash(leaf, len, hh);
        if (i < have) {
            uint8_t held[HASH_SIZE];
            if ((rc = log_leaf_hash(r->st, v->head.id, i, held)) != ERR_OK) {
                return rc;
            }
            if (memcmp(held, hh, HASH_SIZE) != 0) {
                *why = "a leaf of the batch differs from the one held: a fork";
                return ERR_FORK;
            }
            v->skip++;
        } else {
            Cdht__Commit *c = NULL;
            if (leaf_decode(leaf, len, &c) != ERR_OK) {
                *why = "a leaf of the batch does not decode";
                return ERR_PROTO;
            }
            leaf_free(c);
        }
        merkle_frontier_push(&f, hh);
    }
    uint8_t root[HASH_SIZE];
    merkle_frontier_root(&f, root);
    if (v->cp.size == end) {
        v->cp_at_end = 1;
        if (memcmp(root, v->cp.root, HASH_SIZE) != 0) {
            *why = "the leaves do not give the checkpoint's root";
            return ERR_AUTH;
        }
    } else {
        uint8_t proof[MERKLE_PROOF_HASHES_MAX][HASH_SIZE];
        for (size_t i = 0; i < b->n_consistency; i++) {
            if (b->consistency[i].len != HASH_SIZE) {
                *why = "a consistency proof hash is not 32 bytes";
                return ERR_PROTO;
            }
            memcpy(proof[i], b->consistency[i].data, HASH_SIZE);
        }
        if (merkle_verify_consistency(end, v->cp.size, root, v->cp.root,
                                      (const uint8_t(*)[HASH_SIZE])proof,
                                      b->n_consistency) != ERR_OK) {
            *why = "the leaves are not consistent with the signed checkpoint";
            return ERR_AUTH;
        }
    }
    /* Rewind for the apply pass. */
    rd->off = 0;
    rd->left = b->count;
    return ERR_OK;
}

err_code
sync_batch_apply(struct replica *r, const Cdht__Sync__Batch *b, struct sync_apply_report *rep,
                 const char **why)
{
    const char *dummy = NULL;
    why = why != NULL ? why : &dummy;
    *why = NULL;
    memset(rep, 0, sizeof *rep);
    struct wire_batch_reader rd = {0};
    struct sync_verified v;
    struct trust_ctx *tc = NULL;
    err_code rc = sync_verify(r, b, &rd, &v, why);
    if (rc != ERR_OK) {
        wire_batch_reader_release(&rd);
        return rc;
    }
    struct scope sc;
    int scoped = 0;
    if ((rc = scope_of_replica(r, &sc, &scoped)) != ERR_OK) {
        wire_batch_reader_release(&rd);
        return rc;
    }
    if (scoped) {
        enum scope_verdict sv = SCOPE_UNDECIDED;
        if ((rc = scope_log_verdict(r->st, &sc, b->key.data, &sv)) != ERR_OK) {
            wire_batch_reader_release(&rd);
            return rc;
        }
        if (sv == SCOPE_OUT) {
            rep->out_of_scope = 1;
            rep->size = v.held ? v.head.size : 0;
            wire_batch_reader_release(&rd);
            return ERR_OK;
        }
    }
    if ((rc = trust_ctx_open(r->st, &tc)) != ERR_OK || (rc = store_begin(r->st)) != ERR_OK) {
        trust_ctx_free(tc);
        wire_batch_reader_release(&rd);
        return rc;
    }
    int dirty = 0;
    uint64_t hlc = 0;
    int64_t now = hlc_wall_ms();
    if ((rc = trust_pending(r->st, &dirty)) != ERR_OK ||
        (rc = replica_clock_get(r, &hlc)) != ERR_OK) {
        goto out;
    }
    if (!v.held && (rc = log_create(r->st, b->key.data, &v.head)) != ERR_OK) {
        goto out;
    }
    const uint8_t *leaf = NULL;
    size_t len = 0;
    for (uint64_t i = b->first; wire_batch_reader_next(&rd, &leaf, &len); i++) {
        if (i < v.head.size) {
            rep->duplicates++;
            continue;
        }
        Cdht__Commit *c = NULL;
        if ((rc = leaf_decode(leaf, len, &c)) != ERR_OK) {
            break; /* verified above: cannot happen */
        }
        uint8_t hh[HASH_SIZE];
        merkle_leaf_hash(leaf, len, hh);
        int skew = hlc_observe(&hlc, c->hlc, now);
        int applied = 0;
        if ((rc = log_append(r->st, &v.head, leaf, len, hh, c->hlc, now, skew)) == ERR_OK) {
            rc = trust_admit(tc, v.head.id, i, c, &applied, &dirty);
        }
        leaf_free(c);
        if (rc != ERR_OK) {
            break;
        }
        rep->leaves++;
        rep->held += !applied;
    }
    if (rc == ERR_OK) {
        rc = log_save(r->st, &v.head);
    }
    if (rc == ERR_OK && v.cp_at_end && v.cp.size > v.head.cp_size) {
        rc = log_checkpoint_put(r->st, &v.head, b->checkpoint.data, b->checkpoint.len, v.cp.size);
    }
    if (rc == ERR_OK && dirty) {
        rc = trust_reconcile(r->st, NULL);
    }
    if (rc == ERR_OK) {
        rc = replica_clock_put(r, hlc);
    }
    if (rc == ERR_OK) {
        rc = store_commit(r->st);
    }
out:
    if (rc != ERR_OK) {
        store_rollback(r->st);
    }
    trust_ctx_free(tc);
    trust_ctx_reset(r->trust);
    wire_batch_reader_release(&rd);
    rep->size = v.head.size;
    return rc;
}
