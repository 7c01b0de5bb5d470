/*
 * Per-device Merkle logs held in the replica: one log per device key, leaves contiguous from
 * index 0, each leaf an encoded Commit stored verbatim with its RFC 6962 leaf hash. The head of
 * a log (size and compact range) gives the root of the whole log in O(log n); proofs and roots
 * of older sizes are computed from the stored leaf hashes. The latest verified checkpoint note
 * of each log is kept beside it.
 */
#ifndef CDHT_LOG_H
#define CDHT_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "limits.h"
#include "merkle.h"

struct store;

/* leaf.id = log id << LOG_INDEX_BITS | index: one integer b-tree keeps every log in order.
 * 2^40 leaves a device (a commit a millisecond for 34 years), 2^23 logs a replica. */
#define LOG_INDEX_BITS 40u
#define LOG_INDEX_LIMIT (1ull << LOG_INDEX_BITS)
#define LOG_ID_LIMIT (1ll << 23)
/* Leaves a log may hold: register clocks keep the leaf index in 32 bits (schema.h), which is
 * a commit a second for 136 years. Past it appends and imports are refused (ERR_MSGSIZE). */
#define LOG_SIZE_MAX ((uint64_t)UINT32_MAX)

struct log_head {
    int64_t id;                   /* local row id; differs between replicas */
    uint8_t key[KEY_PUBLIC_SIZE]; /* the device's public key: the log's identity */
    uint64_t size;                /* leaves held */
    uint64_t cp_size;             /* size of the stored checkpoint (0: none) */
    struct merkle_frontier frontier;
    int damaged; /* the stored head (size, frontier) is inconsistent: only audit sees these */
};

static inline int64_t
log_leaf_rowid(int64_t log_id, uint64_t index)
{
    return (int64_t)(((uint64_t)log_id << LOG_INDEX_BITS) | index);
}

err_code log_get(struct store *st, const uint8_t key[KEY_PUBLIC_SIZE],
                 struct log_head *out) WARN_UNUSED; /* ERR_NOTFOUND when not held */
err_code log_get_by_id(struct store *st, int64_t id, struct log_head *out) WARN_UNUSED;
err_code log_create(struct store *st, const uint8_t key[KEY_PUBLIC_SIZE],
                    struct log_head *out) WARN_UNUSED;
/* The author key of a log id, for tie-breaks; served from a small cache. */
err_code log_key_of(struct store *st, int64_t id, uint8_t key[KEY_PUBLIC_SIZE]) WARN_UNUSED;

/* Appends one leaf at index h->size and advances h in memory; log_save() persists the head. */
err_code log_append(struct store *st, struct log_head *h, const uint8_t *leaf, size_t len,
                    const uint8_t hash[HASH_SIZE], uint64_t hlc, int64_t received_ms,
                    int skew) WARN_UNUSED;
err_code log_save(struct store *st, const struct log_head *h) WARN_UNUSED;

void log_root(const struct log_head *h, uint8_t out[HASH_SIZE]);
/* Root of the first size leaves (size <= held). O(size) reads of leaf hashes. */
err_code log_root_at(struct store *st, const struct log_head *h, uint64_t size,
                     uint8_t out[HASH_SIZE]) WARN_UNUSED;

err_code log_checkpoint_put(struct store *st, struct log_head *h, const uint8_t *note, size_t len,
                            uint64_t size) WARN_UNUSED;
/* The stored checkpoint note. ERR_NOTFOUND when none. */
err_code log_checkpoint_get(struct store *st, int64_t id, uint8_t buf[NOTE_SIZE_MAX], size_t *len,
                            uint64_t *size) WARN_UNUSED;

/* The leaf's bytes; on ERR_OK *data is malloc'd and owned by the caller. */
err_code log_leaf_read(struct store *st, int64_t id, uint64_t index, uint8_t **data,
                       size_t *len) WARN_UNUSED;
err_code log_leaf_hash(struct store *st, int64_t id, uint64_t index,
                       uint8_t out[HASH_SIZE]) WARN_UNUSED;

err_code log_prove_inclusion(struct store *st, const struct log_head *h, uint64_t index,
                             uint64_t size, uint8_t proof[][HASH_SIZE], size_t *count) WARN_UNUSED;
err_code log_prove_consistency(struct store *st, const struct log_head *h, uint64_t from,
                               uint64_t to, uint8_t proof[][HASH_SIZE], size_t *count) WARN_UNUSED;

/* Calls fn for every log held, in key order; stops at the first error fn returns. A log whose
 * stored head is damaged stops it with ERR_CORRUPT, unless LOG_FOREACH_DAMAGED is given, when
 * fn sees it with h->damaged set (the audit reports it and recomputes from the leaves). */
typedef err_code (*log_visit_fn)(void *ctx, const struct log_head *h);
#define LOG_FOREACH_DAMAGED 1u
err_code log_foreach(struct store *st, log_visit_fn fn, void *ctx) WARN_UNUSED;
err_code log_foreach_flags(struct store *st, unsigned flags, log_visit_fn fn, void *ctx)
    WARN_UNUSED;

#endif
