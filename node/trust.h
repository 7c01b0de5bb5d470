/*
 * Trust: who may write what (DESIGN.md section 5, docs/ARCHITECTURE.md "Trust").
 *
 * A replica initialised with a pinned root key (`cdht init --root` or `--trust-root VKEY`)
 * applies a leaf only when its author holds a valid chain of certificates back to the root and
 * the chain's grants cover every change in it; every other leaf is kept in its log and held in
 * quarantine with a reason. A replica with no root pinned ("open mode", the first issue's
 * behaviour) applies every verifiable leaf and authorises nothing.
 *
 * Trust is a pure function of the leaves held and the pinned root, evaluated in rounds of chain
 * depth so that it has exactly one answer whatever order the leaves arrived in:
 *
 *   depth 0   the root: every grant, every leaf, cannot be revoked.
 *   round d   (1) the units tree T(d-1) is the last-writer-wins merge of the units-tree writes
 *                 of the devices of depth < d whose leaves were authorised against the tree of
 *                 the round before them;
 *             (2) a certificate in a trust leaf of a device of depth d-1, at an index that
 *                 counts, issued by a hub (or the root) whose hub grant covers the certificate's
 *                 unit in T(d-1), makes its subject a device of depth d (if it had none) and
 *                 gives it that grant;
 *             (3) a revocation in such a leaf, by a hub covering one of the subject's grant
 *                 units, limits a subject of depth >= d to its leaves up to last_index.
 *   An equivocation proof limits its log to the common prefix, like a revocation.
 *
 * A data leaf counts when its author's grants cover it in the final tree: writers write people
 * (each person change names its unit; the unit must be in the subtree of a writer grant that
 * has not expired at the commit's date); hubs write the units tree within their subtree (checked
 * against the tree of the round before theirs) and issue certificates and revocations. Beyond
 * that, each replicated table names the roles that may write it (schema.h, .roles): writers a
 * person's yearly record, approvers the decisions (approval, collective_recognition, and reviews
 * and evidence too), hubs the frameworks, plans and settings they publish, reporters the
 * aggregates; auditors write nothing. The row's unit must lie inside a grant of such a role. A
 * leaf that mixes trust and data changes never counts. Whole leaves count or not: a commit is a
 * transaction.
 */
#ifndef CDHT_TRUST_H
#define CDHT_TRUST_H

#include <stddef.h>
#include <stdint.h>

#include "cdht.pb-c.h"
#include "err.h"
#include "limits.h"

struct store;

/* Chain depth: root > province hub > district hub > commune hub > writer is 4; 8 leaves room
 * for a deployment's own levels and bounds the evaluation at 8 rounds. Deeper chains do not
 * count (their devices are unknown signers). */
#define TRUST_DEPTH_MAX 8u
/* Room for a quarantine detail sentence ("unit 44001 is outside writer grant 44002"). */
#define TRUST_DETAIL_SIZE 160u

enum trust_role {
    TRUST_WRITER = 1u << 0,
    TRUST_APPROVER = 1u << 1,
    TRUST_HUB = 1u << 2,
    TRUST_AUDITOR = 1u << 3,
    TRUST_ROOT = 1u << 4, /* the pinned root only; never in a certificate */
    TRUST_REPORTER = 1u << 5, /* schema 5: publishes aggregates above the raw-data ceiling */
};
/* "writer", "approver", "hub", "auditor", "reporter" -> the bit; 0 for anything else. */
unsigned trust_role_parse(const char *s);
/* The name of one role bit ("root" for TRUST_ROOT), or "unknown". */
const char *trust_role_name(unsigned role);

/* Why a leaf does not count. Stored in quarantine.reason: values never change meaning. */
enum trust_reason {
    TRUST_OK = 0,
    TRUST_PENDING = 1,        /* a trust leaf waiting for trust_reconcile (inside one import) */
    TRUST_UNKNOWN_SIGNER = 2, /* no valid chain of certificates to the pinned root */
    TRUST_REVOKED = 3,        /* past the last valid index named by a revocation */
    TRUST_EQUIVOCATED = 4,    /* past the common prefix of an equivocation proof */
    TRUST_EXPIRED = 5,        /* no grant covering it was unexpired at the commit's date */
    TRUST_ROLE = 6,           /* no grant of the author allows writing this table */
    TRUST_UNIT = 7,           /* the row's unit is outside every grant of the right role */
    TRUST_NO_UNIT = 8,        /* a person change that names no unit */
    TRUST_MIXED = 9,          /* trust and data changes in one leaf */
    TRUST_TABLE = 10,         /* a table this version does not know */
    TRUST_ISSUER = 11,        /* a certificate or revocation its author may not issue */
};
/* Short stable name: "unknown-signer", "revoked", ... (the quarantine list and audit print it). */
const char *trust_reason_name(enum trust_reason r);

/* The pinned root: *pinned 0 in open mode (pk untouched). */
err_code trust_root(struct store *st, uint8_t pk[KEY_PUBLIC_SIZE], int *pinned) WARN_UNUSED;
/* Pins the root at init (meta "root"). */
err_code trust_pin_root(struct store *st, const uint8_t pk[KEY_PUBLIC_SIZE]) WARN_UNUSED;

/*
 * Admission of leaves as they are appended (import, local commit). trust_admit() decides one
 * freshly appended leaf against the trust state as last reconciled: a data leaf that counts is
 * merged; one that does not is quarantined; a trust leaf is indexed and held as TRUST_PENDING
 * until trust_reconcile(), which the caller runs before its transaction ends whenever
 * trust_admit() said *dirty (in open mode every leaf is merged and nothing is pending).
 */
struct trust_ctx;
err_code trust_ctx_open(struct store *st, struct trust_ctx **out) WARN_UNUSED;
void trust_ctx_free(struct trust_ctx *t);
/* Forgets what the context cached (after a reconcile or a rollback). */
void trust_ctx_reset(struct trust_ctx *t);
/* *applied: 1 merged, 0 held. *dirty is set (never cleared) when trust must be reconciled. */
err_code trust_admit(struct trust_ctx *t, int64_t log_id, uint64_t index, const Cdht__Commit *c,
                     int *applied, int *dirty) WARN_UNUSED;
/* Would this commit, written now by log_id at index, count? For the local write path, which
 * refuses to write what would only be quarantined. detail may be NULL. */
err_code trust_would_count(struct trust_ctx *t, int64_t log_id, uint64_t index,
                           const Cdht__Commit *c, enum trust_reason *why,
                           char detail[TRUST_DETAIL_SIZE]) WARN_UNUSED;

struct trust_report {
    uint64_t applied;   /* leaves that came out of quarantine */
    uint64_t withdrawn; /* leaves that stopped counting */
    uint64_t rows;      /* rows recomputed from the log */
    uint64_t held;      /* leaves in quarantine afterwards */
};
/* Why the leaf with this row id is held (TRUST_OK when it is not); detail gets the sentence. */
err_code trust_held_why(struct store *st, int64_t rowid, enum trust_reason *why,
                        char detail[TRUST_DETAIL_SIZE]) WARN_UNUSED;

/* *pending: 1 when trust leaves wait for a reconciliation (an import that was cut short). */
err_code trust_pending(struct store *st, int *pending) WARN_UNUSED;

/* Re-evaluates trust from every trust leaf held, moves leaves in and out of quarantine where
 * their status changed, and recomputes every row a withdrawn leaf had written from the leaves
 * that still count. Runs inside the caller's transaction. rep may be NULL. */
err_code trust_reconcile(struct store *st, struct trust_report *rep) WARN_UNUSED;

/*
 * An evaluation held in memory, made from the trust leaves alone, that judges any leaf without
 * touching the replica's tables: the audit's independent check that every applied leaf counts
 * and every held one does not (node/audit.c), at the speed of decoding.
 */
struct trust_eval;
err_code trust_eval_open(struct store *st, struct trust_eval **out) WARN_UNUSED;
void trust_eval_free(struct trust_eval *e);
/* Whether the evaluation pins a root (0: open mode, every leaf counts). */
int trust_eval_pinned(const struct trust_eval *e);
/* TRUST_OK when leaf index of log_id counts, or why not (detail: a sentence, may be NULL). */
enum trust_reason trust_eval_judge(struct trust_eval *e, int64_t log_id, uint64_t index,
                                   const Cdht__Commit *c, char detail[TRUST_DETAIL_SIZE]);

/* ---- Reading the evaluated state (as last reconciled). Strings are borrowed for the call. */

struct trust_grant {
    unsigned role;       /* one enum trust_role bit */
    const char *unit;    /* the unit whose subtree it covers ("*" for the root) */
    const char *expires; /* YYYY-MM-DD or NULL */
    uint8_t issuer[KEY_PUBLIC_SIZE];
    uint64_t issuer_index; /* the certificate's leaf in the issuer's log */
};
struct trust_device {
    uint8_t key[KEY_PUBLIC_SIZE];
    int64_t log_id;
    unsigned depth;     /* 0: the root */
    int limited;        /* 0 none, 1 revoked, 2 equivocation */
    int64_t last_index; /* when limited: last counting index; -1: none counts */
    const char *reason; /* the revocation's words, or NULL */
};
typedef err_code (*trust_device_fn)(void *ctx, const struct trust_device *d);
typedef err_code (*trust_grant_fn)(void *ctx, const struct trust_grant *g);

/* Every device with a valid chain, in key order. */
err_code trust_devices(struct store *st, trust_device_fn fn, void *ctx) WARN_UNUSED;
/* The device's valid grants; ERR_NOTFOUND when it has no valid chain. */
err_code trust_device_get(struct store *st, const uint8_t key[KEY_PUBLIC_SIZE], trust_device_fn fn,
                          void *ctx) WARN_UNUSED;
err_code trust_grants(struct store *st, const uint8_t key[KEY_PUBLIC_SIZE], trust_grant_fn fn,
                      void *ctx) WARN_UNUSED;

struct trust_held {
    uint8_t key[KEY_PUBLIC_SIZE]; /* the leaf's log */
    uint64_t index;
    enum trust_reason reason;
    const char *detail; /* or NULL */
};
typedef err_code (*trust_held_fn)(void *ctx, const struct trust_held *h);
/* The quarantine, in log key then index order. */
err_code trust_quarantine(struct store *st, trust_held_fn fn, void *ctx) WARN_UNUSED;
err_code trust_quarantine_count(struct store *st, uint64_t *count) WARN_UNUSED;

/* Is code inside the subtree of unit (ancestor-or-equal, following parents and successions in
 * the units table as it stands)? unit "*" covers everything. */
err_code trust_covers(struct store *st, const char *unit, const char *code, int *yes) WARN_UNUSED;

#endif
