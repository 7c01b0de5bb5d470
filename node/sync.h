/*
 * Sync batches (issue 4, DESIGN.md section 7): the leaves of one log that one side sends the
 * other, with what proves them, built from a replica and applied to another through the same
 * admission as a bundle import. A batch is verified whole before anything is written: the
 * checkpoint is signed by the log's own key, the leaves extend exactly what the receiver holds,
 * and they give the checkpoint's root (directly, or through a consistency proof from the
 * batch's end). It is then applied in one transaction: a batch broken off in the middle leaves
 * nothing, and the receiver's head is the resume cursor for the next (per log, never global).
 * The round trip over the network (channel, wire messages, transport) builds on these two.
 */
#ifndef CDHT_SYNC_H
#define CDHT_SYNC_H

#include <stdint.h>

#include "err.h"
#include "limits.h"
#include "sync.pb-c.h"

struct replica;

/* Leaves one batch carries at most when the caller asks for more: a few hundred KiB of leaves
 * compress well inside WIRE_BATCH_BYTES_MAX, and one batch is one transaction on the receiver
 * (STORE_APPLY_BATCH_MAX). */
#define SYNC_BATCH_LEAVES_DEFAULT STORE_APPLY_BATCH_MAX
/* Compressed leaf bytes a batch carries at most: the wire's bound. (Batches of 256 and 512 KiB
 * were measured with fifty callers at once: they cost a third of the throughput and changed the
 * hub's peak memory little; it is 25 MiB.) */
#define SYNC_BATCH_BYTES_MAX WIRE_BATCH_BYTES_MAX

/* Builds the batch of log key from index from: at most max_leaves leaves (0: the default), never
 * past the stored checkpoint (a leaf is sent only with a signature covering it), the checkpoint
 * note, and the consistency proof from the batch's end to the checkpoint's size. On ERR_OK the
 * fields of *b are malloc'd (sync_batch_clear). ERR_NOTFOUND when the log is not held; ERR_AGAIN
 * when nothing past from is covered by a checkpoint (nothing to send). */
err_code sync_batch_build(struct replica *r, const uint8_t key[KEY_PUBLIC_SIZE], uint64_t from,
                          uint32_t max_leaves, Cdht__Sync__Batch *b) WARN_UNUSED;
/* Frees what sync_batch_build put in *b and re-initialises it. */
void sync_batch_clear(Cdht__Sync__Batch *b);

struct sync_apply_report {
    uint64_t leaves;     /* new leaves appended */
    uint64_t duplicates; /* leaves of the batch already held (compared by hash) */
    uint64_t held;       /* of the new ones, held in quarantine on arrival */
    int out_of_scope;    /* the log is outside this replica's scope: nothing stored */
    uint64_t size;       /* leaves of the log held afterwards: the next cursor */
};

/* Verifies the batch whole, then appends its new leaves (admission, reconciliation when a trust
 * leaf arrived, the checkpoint when the batch ends at it) in one transaction. ERR_INVAL when it
 * starts past what is held (a gap: ask for heads again); ERR_FORK when a leaf already held
 * differs; ERR_AUTH when the checkpoint is not signed by the log's key or the leaves do not give
 * its root; ERR_PROTO or ERR_MSGSIZE for a malformed batch; nothing is written on any error.
 * *why gets a static sentence. */
err_code sync_batch_apply(struct replica *r, const Cdht__Sync__Batch *b,
                          struct sync_apply_report *rep, const char **why) WARN_UNUSED;

#endif
