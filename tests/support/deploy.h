/*
 * A small trust deployment for the unit tests, built through the real init, commit and exchange
 * paths: root R (province 44), hub H (commune 44001), writers A (village 4400101) and B (village
 * 4400102), exchanging whole bundles. Every replica lives under one test directory (a
 * support_tmpdir); each helper asserts what it needs, so a test reads as its scenario.
 */
#ifndef CDHT_TEST_DEPLOY_H
#define CDHT_TEST_DEPLOY_H

#include <stdint.h>

#include "err.h"

struct replica;

/* A suite's fixture: sodium ready, the real clock, checked writes, and a fresh test directory
 * (malloc'd) for the replicas. */
char *deploy_suite_init(void);
/* Removes and frees what deploy_suite_init made, and clears what a test may have set
 * (CDHT_TEST_UNCHECKED_WRITES, CDHT_FAKE_NOW_MS). */
void deploy_suite_fini(char *dir);

/* The deployment's replicas; B is NULL in a deployment with one writer. */
struct deploy {
    struct replica *R, *H, *A, *B;
};

/* init + open for writing of dir/name for unit; root makes it a trust root, otherwise
 * trust_root (the root's public key, or NULL for open mode) is pinned. Asserts success. */
struct replica *deploy_replica(const char *dir, const char *name, const char *unit, int root,
                               const uint8_t *trust_root);

/* r adds unit code of kind under parent (NULL: a top unit); asserts the commit succeeds. */
void deploy_unit_add(struct replica *r, const char *code, const char *parent, const char *kind);
/* r certifies subject as role of unit; the commit's result, the leaf index in index (may be
 * NULL). */
err_code deploy_cert(struct replica *r, const struct replica *subject, const char *role,
                     const char *unit, uint64_t *index) WARN_UNUSED;
/* r revokes subject after leaf last (has_last 0: none counts); the commit's result. */
err_code deploy_revoke(struct replica *r, const struct replica *subject, int has_last,
                       uint64_t last) WARN_UNUSED;

/* Everything from's replica holds, as one bundle at path; asserts success. */
void deploy_export(struct replica *from, const char *path);
/* Everything from's replica holds goes to to, through dir/b.cdht; asserts success. */
void deploy_sync(const char *dir, struct replica *from, struct replica *to);

/* The first column of sql's first row (a count, usually); asserts there is one. */
uint64_t deploy_q_int(struct replica *r, const char *sql);

/* The replicas are dir/tag-R, tag-H, tag-A (and tag-B), all but R pinning R. The root makes the
 * tree and certifies the hub; the hub adds the villages, certifies a writer in each and syncs to
 * the writers. writers is 1 (A only; B stays NULL) or 2. */
void deploy_world(struct deploy *w, const char *dir, const char *tag, unsigned writers);
/* Closes every replica of w. */
void deploy_world_free(struct deploy *w);

#endif
