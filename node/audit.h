/*
 * Re-verification of everything a replica holds, from the bytes up: every leaf's hash and
 * decoding, every log's root recomputed from its leaves, every stored checkpoint's signature,
 * origin and root; and (AUDIT_STATE) that the tables are exactly what the logs give, by
 * replaying every leaf into a scratch database and comparing state hashes, which catches a
 * write that bypassed the log (the sqlite3 shell with its guards switched off, a restored
 * database file). Each problem is a finding naming the log, the leaf index and the reason; the
 * audit never stops at the first.
 */
#ifndef CDHT_AUDIT_H
#define CDHT_AUDIT_H

#include <stdint.h>

#include "err.h"
#include "limits.h"

struct store;

#define AUDIT_REASON_SIZE 200u

struct audit_finding {
    uint8_t key[KEY_PUBLIC_SIZE]; /* the log */
    uint64_t index;               /* leaf index, or the tree size the finding is about */
    const char *kind;             /* stable identifier, listed in docs/OPERATING.md */
    char reason[AUDIT_REASON_SIZE];
};

struct audit_summary {
    uint64_t logs;
    uint64_t leaves;
    uint64_t checkpoints;
    uint64_t findings;
    uint64_t skewed; /* leaves flagged on arrival as dated far ahead (not a finding) */
};

typedef void (*audit_fn)(void *ctx, const struct audit_finding *f);

enum audit_flags {
    AUDIT_STATE = 1u << 0, /* also replay the logs and compare the tables (state-drift) */
};

/* Audits every log; fn is called once per finding. ERR_OK when the audit ran (findings or
 * not); an error only when the replica (or the scratch database) could not be read. */
err_code audit_run(struct store *st, unsigned flags, audit_fn fn, void *ctx,
                   struct audit_summary *sum) WARN_UNUSED;

#endif
