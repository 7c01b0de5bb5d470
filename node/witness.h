/*
 * Witnessing and equivocation (DESIGN.md section 3, C2SP tlog-witness semantics).
 *
 * A witness co-signs a log's checkpoint (C2SP tlog-cosignature v1, proto/cosig.h) only after
 * checking, with the leaves it holds, that it is consistent with the last checkpoint of that
 * log it co-signed. Two validly signed checkpoints of one log that are not consistent prove
 * that its device signed two histories (a laptop restored from an old copy of its key, or a
 * forger): the proof is kept in table `equivocation`, freezes the log at the leaves both
 * histories share, and travels upward in bundles.
 *
 * A proof is self-contained: note A (size n) and note B (size m), both signed by the log's key,
 * and the RFC 6962 consistency proof from min(n, m) to max(n, m) within the history of the
 * larger note, in merkle_consistency_proof_full's form (the root of the first min(n, m) leaves
 * first when min(n, m) is a power of two). Running RFC 9162 consistency verification on it
 * yields two roots: it proves equivocation when the larger root is the larger note's and the
 * smaller root is not the smaller note's. When n == m, the proof is empty and the two roots
 * differ.
 */
#ifndef CDHT_WITNESS_H
#define CDHT_WITNESS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "limits.h"

struct replica;
struct store;

/* One equivocation proof, with its notes copied in (about 10 KiB: allocate, don't stack it in
 * a loop). */
struct witness_proof {
    uint8_t key[KEY_PUBLIC_SIZE]; /* the log */
    uint64_t prefix;              /* leaves both histories share, as far as the finder saw */
    uint8_t note_a[NOTE_SIZE_MAX];
    size_t note_a_len;
    uint8_t note_b[NOTE_SIZE_MAX];
    size_t note_b_len;
    uint8_t proof[MERKLE_PROOF_HASHES_MAX][HASH_SIZE];
    size_t count;
};

/* Verifies p as the header says, for anyone holding neither history: both notes signed by
 * the log's key and naming its log, the proof showing them inconsistent, prefix below the
 * smaller size. ERR_AUTH when a signature fails or the proof does not prove equivocation;
 * ERR_CORRUPT when a note is malformed or names another log; ERR_INVAL for a prefix too large.
 * On ERR_OK, *size_a and *size_b (either may be NULL) receive the notes' sizes. */
err_code witness_proof_verify(const struct witness_proof *p, uint64_t *size_a,
                              uint64_t *size_b) WARN_UNUSED;

/* Builds the proof part of p (note_a, note_b, key, prefix set) from a source of the leaf
 * hashes of the larger note's history (merkle_leaf_fn), then verifies the whole. ERR_AUTH when
 * those leaves do not show the two notes inconsistent. */
err_code witness_proof_build(struct witness_proof *p,
                             err_code (*leaf_fn)(void *ctx, uint64_t index, uint8_t out[HASH_SIZE]),
                             void *ctx) WARN_UNUSED;

/* Stores a verified proof (found at found_ms), inside the caller's transaction; *added is 1
 * when it was new (the same pair of notes is kept once). Does not reconcile trust: the caller
 * calls trust_reconcile() once after its insertions. */
err_code witness_proof_store(struct store *st, const struct witness_proof *p, int64_t found_ms,
                             int *added) WARN_UNUSED;

/* Every proof held, in id order, with its proof hashes (export). fn's p is valid for the call. */
typedef err_code (*witness_proof_fn)(void *ctx, const struct witness_proof *p);
err_code witness_proofs(struct store *st, witness_proof_fn fn, void *ctx) WARN_UNUSED;

/* A proof as `cdht log equivocations`, `status` and `audit` show it: never a payload. */
struct witness_equivocation {
    int64_t id;
    uint8_t key[KEY_PUBLIC_SIZE];
    uint64_t size_a, size_b; /* the two notes' tree sizes */
    uint64_t prefix;
    int64_t found_ms;
};
typedef err_code (*witness_equivocation_fn)(void *ctx, const struct witness_equivocation *e);
/* Every proof held, in log key then id order. */
err_code witness_equivocations(struct store *st, witness_equivocation_fn fn, void *ctx) WARN_UNUSED;
err_code witness_equivocation_count(struct store *st, uint64_t *count) WARN_UNUSED;
/* Is the log frozen by a proof, and at which prefix (the smallest, when several)? */
err_code witness_frozen(struct store *st, const uint8_t key[KEY_PUBLIC_SIZE], int *frozen,
                        uint64_t *prefix) WARN_UNUSED;

/* One cosignature held (table cosig). */
struct witness_cosig {
    int64_t log_id;
    uint8_t witness[KEY_PUBLIC_SIZE];
    uint64_t size;
    uint8_t root[HASH_SIZE];
    uint64_t time_s;
    uint8_t sig[SIG_SIZE];
};

/* Verifies c as the cosignature of witness c->witness over the checkpoint body of the log
 * log_key at (c->size, c->root). ERR_AUTH when it does not verify. */
err_code witness_cosig_verify(const uint8_t log_key[KEY_PUBLIC_SIZE],
                              const struct witness_cosig *c) WARN_UNUSED;
/* Parses a cosignature line carried for log_key at (size, root) by witness and verifies it;
 * on ERR_OK *out holds it (log_id 0). ERR_CORRUPT when the line is malformed, ERR_AUTH when it
 * is not witness's valid cosignature of that checkpoint. */
err_code witness_cosig_check(const uint8_t log_key[KEY_PUBLIC_SIZE],
                             const uint8_t witness[KEY_PUBLIC_SIZE], uint64_t size,
                             const uint8_t root[HASH_SIZE], const uint8_t *line, size_t line_len,
                             struct witness_cosig *out) WARN_UNUSED;
/* The C2SP signature line of c (its witness's name is "cdht/<hex key>"), for export. */
err_code witness_cosig_line(const struct witness_cosig *c, uint8_t *out, size_t *len) WARN_UNUSED;
/* Stores a verified cosignature (kept once per log, witness and size). */
err_code witness_cosig_put(struct store *st, const struct witness_cosig *c) WARN_UNUSED;
/* The cosignatures held for one log, the largest sizes first, at most max of them. */
typedef err_code (*witness_cosig_fn)(void *ctx, const struct witness_cosig *c);
err_code witness_cosigs_of(struct store *st, int64_t log_id, uint64_t max, witness_cosig_fn fn,
                           void *ctx) WARN_UNUSED;
/* Every cosignature held, in log key, size, witness order (`cdht witness list`). */
typedef err_code (*witness_cosig_list_fn)(void *ctx, const uint8_t log_key[KEY_PUBLIC_SIZE],
                                          const struct witness_cosig *c);
err_code witness_cosigs(struct store *st, witness_cosig_list_fn fn, void *ctx) WARN_UNUSED;

/* The clock-skew bound of the audit: the earliest cosignature time among the cosignatures of
 * log log_id whose size is > index (they cover leaf index). *found 0 when none. */
err_code witness_first_seen(struct store *st, int64_t log_id, uint64_t index, int64_t *time_s,
                            int *found) WARN_UNUSED;

struct witness_report {
    uint64_t cosigned;      /* new cosignatures made */
    uint64_t held;          /* logs already co-signed at their checkpoint's size (or beyond) */
    uint64_t inconsistent;  /* logs refused: inconsistent with the last co-signed checkpoint */
    uint64_t equivocations; /* proofs stored for them */
};

/* Co-signs, as this device, the stored checkpoint of every log held that has one (or only the
 * log only_key names, when not NULL: ERR_NOTFOUND when it is not held or has no checkpoint),
 * after checking consistency with the last checkpoint of that log this device co-signed, using
 * the leaves held. An inconsistent one is not co-signed; it is an equivocation, stored when the
 * note co-signed before is still at hand. One transaction; needs a replica opened for writing. */
err_code witness_cosign(struct replica *r, const uint8_t *only_key,
                        struct witness_report *rep) WARN_UNUSED;

/* Is this replica a witness: a root is pinned, and this device is the root or holds a hub
 * grant? */
err_code witness_is_witness(struct replica *r, int *yes) WARN_UNUSED;

/* Called by `cdht bundle import` after a successful import: co-signs when this replica is a
 * witness (witness_is_witness), does nothing otherwise. */
err_code witness_after_import(struct replica *r, struct witness_report *rep) WARN_UNUSED;

#endif
