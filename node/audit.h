/*
 * Re-verification of everything a replica holds, from the bytes up: every leaf's hash and
 * decoding, every log's root recomputed from its leaves, every stored checkpoint's signature,
 * origin and root; (AUDIT_STATE) an independent re-evaluation: every leaf replayed into a
 * scratch replica that pins the same root and holds the same equivocation proofs, through the
 * same admission path as an import (trust_admit, then trust_reconcile), whose tables and
 * quarantine must equal the replica's, which catches a write that bypassed the log or a
 * quarantine edited by hand; and (AUDIT_TRUST) what trust and the witnesses say: every held
 * leaf with its reason, every revoked device, every equivocation proof, every cosignature
 * re-verified, and leaves dated well after a witness first co-signed them. Each problem is a
 * finding naming the log, the leaf index, the unit when known, and the reason; the audit never
 * stops at the first.
 */
#ifndef CDHT_AUDIT_H
#define CDHT_AUDIT_H

#include <stdint.h>

#include "err.h"
#include "limits.h"

struct store;

/* Room for a reason: a fixed sentence, a base64 key, two indexes, a quarantine detail
 * (TRUST_DETAIL_SIZE) or a revocation's words (REVOKE_REASON_SIZE_MAX), never cut short. */
#define AUDIT_REASON_SIZE 448u
#define AUDIT_UNIT_SIZE (UNIT_CODE_SIZE_MAX + 1u)
static_assert(AUDIT_REASON_SIZE >= REVOKE_REASON_SIZE_MAX + 160u, "a revocation's words fit");

struct audit_finding {
    uint8_t key[KEY_PUBLIC_SIZE]; /* the log (all zeros: the replica as a whole) */
    uint64_t index;               /* leaf index, or the tree size the finding is about */
    int has_index;                /* 0: no index applies (index is 0) */
    const char *kind;             /* stable identifier, listed in docs/OPERATING.md */
    char unit[AUDIT_UNIT_SIZE];   /* the unit the leaf's changes name, or the device's grant
                                     unit; "" when unknown */
    char reason[AUDIT_REASON_SIZE];
};

struct audit_summary {
    uint64_t logs;
    uint64_t leaves;
    uint64_t checkpoints;
    uint64_t cosigs; /* cosignatures re-verified (AUDIT_TRUST) */
    uint64_t findings;
    uint64_t skewed; /* leaves flagged on arrival as dated far ahead (not a finding) */
    uint64_t held;   /* leaves in the replica's quarantine */
    int open_mode;   /* no root pinned: every verifiable log is accepted, nothing authorised */
    int reevaluated; /* an independent re-evaluation ran: the replay (AUDIT_STATE) or the
                        evaluation in memory (AUDIT_TRUST alone) */
    char why[400];   /* audit_bundle failing: what made the bundle unreadable, or "" */
};

typedef void (*audit_fn)(void *ctx, const struct audit_finding *f);

enum audit_flags {
    AUDIT_STATE = 1u << 0, /* replay into a scratch replica; compare tables and quarantine */
    AUDIT_TRUST = 1u << 1, /* held leaves, revocations, equivocations, cosignatures, skew */
};

struct audit_opts {
    unsigned flags;
    /* --unit CODE: only logs of devices whose grants cover or lie inside CODE (the root's log
     * always), and leaves of other logs whose changes name a unit inside CODE. NULL: all. */
    const char *unit;
    /* A log left out entirely (the --bundle scratch replica's own, empty one), or NULL. */
    const uint8_t *skip_key;
};

/* Audits every log; fn is called once per finding. ERR_OK when the audit ran (findings or
 * not); an error only when the replica (or the scratch database) could not be read. */
err_code audit_run(struct store *st, unsigned flags, audit_fn fn, void *ctx,
                   struct audit_summary *sum) WARN_UNUSED;
err_code audit_run_opts(struct store *st, const struct audit_opts *o, audit_fn fn, void *ctx,
                        struct audit_summary *sum) WARN_UNUSED;

/*
 * Audits the bundle at path offline, without touching any replica: imports it into a scratch
 * replica in a fresh private directory under TMPDIR (or /tmp; mode 0700, removed before
 * returning) that pins root (NULL: open mode), then audits that replica with o. A bundle that
 * import refuses (a bad signature, a fork, damaged bytes) is one finding, "bundle-refused",
 * naming what import said. ERR_NOTFOUND or ERR_IO when the file cannot be read.
 */
err_code audit_bundle(const char *path, const uint8_t *root, const struct audit_opts *o,
                      audit_fn fn, void *ctx, struct audit_summary *sum) WARN_UNUSED;

#endif
