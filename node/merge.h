/*
 * Deterministic merge of verified leaves into the replicated tables (DESIGN.md section 4).
 * Every cell and every row's existence is a last-writer-wins register ordered by the tuple
 * (commit HLC, author public key bytes, leaf index); within one leaf a later change wins over an
 * earlier one. The order is total and the same on every replica, so applying any set of leaves
 * in any order, any number of times, gives the same tables. Unknown tables and columns, and
 * values of the wrong type, are skipped the same way everywhere (a newer writer's data is kept
 * in its log, not lost).
 */
#ifndef CDHT_MERGE_H
#define CDHT_MERGE_H

#include <stdint.h>

#include "cdht.pb-c.h"
#include "err.h"
#include "limits.h"

struct store;

/* A register's clock: who wrote the value that stands, and when. */
struct merge_clk {
    uint64_t hlc;
    uint32_t author; /* local log id (0: never written) */
    uint32_t index;  /* leaf index in the author's log */
};

/* Applies one verified commit from log author_id, leaf leaf_index. The caller holds a
 * transaction. */
err_code merge_commit(struct store *st, int64_t author_id, uint64_t leaf_index,
                      const Cdht__Commit *c) WARN_UNUSED;

/* merge_commit, applying only the changes keep() accepts (table is the schema's name). */
typedef int (*merge_filter_fn)(void *ctx, const char *table, const char *pk);
err_code merge_commit_only(struct store *st, int64_t author_id, uint64_t leaf_index,
                           const Cdht__Commit *c, merge_filter_fn keep, void *ctx) WARN_UNUSED;

/* Removes a row and its registers entirely, so that it can be rebuilt from the leaves that
 * still count (node/trust.c, after a revocation). The caller holds a transaction. */
err_code merge_row_forget(struct store *st, const char *table, const char *pk) WARN_UNUSED;

/* The clocks of a row's registers as stored (for the write path's causality floor and base).
 * regs receives ncols + 1 entries (0: existence); ERR_NOTFOUND when the row was never written.
 * *live receives the existence register's value. */
err_code merge_row_clocks(struct store *st, const char *table, const char *pk,
                          struct merge_clk regs[], int *live) WARN_UNUSED;

/* SHA-256 over the visible rows of every replicated table in a canonical encoding (docs/DATA.md,
 * "State hash"): equal on replicas that hold the same leaves. */
err_code merge_state_hash(struct store *st, uint8_t out[HASH_SIZE]) WARN_UNUSED;

/* A concurrent write that lost: the winner's writer had not seen it (the winner's base clock for
 * the cell is older than the loser's clock) and they came from different devices. */
struct merge_conflict {
    const char *table, *pk, *col;
    const Cdht__Cell *win, *lose; /* the two writes (value_case NOT_SET: NULL) */
    uint8_t win_author[KEY_PUBLIC_SIZE], lose_author[KEY_PUBLIC_SIZE];
    uint64_t win_hlc, lose_hlc;
    uint64_t win_index, lose_index; /* leaf indexes in the authors' logs */
};
typedef err_code (*merge_conflict_fn)(void *ctx, const struct merge_conflict *c);

/* Scans every leaf held and reports each losing concurrent cell write once, in log order.
 * Row existence (delete against re-create) is ordinary LWW and not reported. */
err_code merge_conflicts(struct store *st, merge_conflict_fn fn, void *ctx) WARN_UNUSED;

#endif
