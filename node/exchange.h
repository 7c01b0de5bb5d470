/*
 * Moving logs between replicas by file: heads (what a replica holds), bundle export (what the
 * other side lacks) and bundle import. Import verifies the whole bundle first (signatures,
 * Merkle roots, agreement with every leaf already held) and only then applies it, in
 * transactions of at most STORE_APPLY_BATCH_MAX leaves: nothing unverified reaches a table,
 * and a refused bundle leaves the replica exactly as it was.
 */
#ifndef CDHT_EXCHANGE_H
#define CDHT_EXCHANGE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "heads.h"

struct replica;
struct scope;

#define EXCHANGE_MSG_SIZE 256u

struct exchange_report {
    uint64_t logs;               /* log sections read or written */
    uint64_t leaves;             /* leaves written, or new leaves applied */
    uint64_t duplicates;         /* leaves already held (import) */
    uint64_t skewed;             /* leaves whose clock is far ahead of ours (import) */
    uint64_t equivocations;      /* proofs written (export), or new proofs stored (import) */
    uint64_t cosigs;             /* cosignatures written (export), or stored (import) */
    uint64_t frozen;             /* leaves not applied: their log is frozen by a proof, or
                                    is the other history of one found in this import */
    uint64_t held;               /* new leaves held in quarantine on arrival (import) */
    uint64_t out_of_scope;       /* logs left out: outside the recipient's scope (scoped
                                    export), or sections verified but not stored, outside
                                    this replica's own scope (import; node/scope.h) */
    char msg[EXCHANGE_MSG_SIZE]; /* on error: what was wrong, naming log and index */
};

/* The heads of every log held, sorted by key. On ERR_OK *out is malloc'd (NULL when none). */
err_code exchange_heads(struct replica *r, struct heads_entry **out, size_t *count) WARN_UNUSED;

/* Writes a bundle of every signed leaf the holder of since lacks (all when since is NULL) to
 * path, through a temporary file renamed into place. ERR_FORK when since shows a history that
 * differs from ours. */
err_code exchange_export(struct replica *r, const char *path, const struct heads_entry *since,
                         size_t since_count, struct exchange_report *rep) WARN_UNUSED;

/* exchange_export for one recipient (node/scope.h): only the logs scope allows are written; the
 * others are counted in rep->out_of_scope. scope NULL: every log, as exchange_export. */
err_code exchange_export_scoped(struct replica *r, const char *path,
                                const struct heads_entry *since, size_t since_count,
                                const struct scope *scope, struct exchange_report *rep) WARN_UNUSED;

/* Verifies, then applies, the bundle at path. A section whose history differs from the one
 * held but is validly signed (its note verifies and its leaves give its root) is an
 * equivocation: its proof is stored (node/witness.h), nothing of the section is applied, and the
 * rest of the bundle imports. Differing history that is not validly signed is ERR_FORK. When a
 * root is pinned, a section of a log outside this replica's own scope (node/scope.h,
 * SCOPE_OUT) is verified but not stored, and counted in rep->out_of_scope. */
err_code exchange_import(struct replica *r, const char *path,
                         struct exchange_report *rep) WARN_UNUSED;

/* exchange_import with a call between its two passes: tests use it to rewrite the bundle's
 * file there, and check that what was verified is what gets applied. */
err_code exchange_import_between(struct replica *r, const char *path, struct exchange_report *rep,
                                 void (*between)(void *ctx), void *between_ctx) WARN_UNUSED;

/* Verifies the bundle against this replica without applying anything (pass one of import). */
err_code exchange_verify(struct replica *r, const char *path,
                         struct exchange_report *rep) WARN_UNUSED;

#endif
