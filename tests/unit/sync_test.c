/*
 * Sync batches (node/sync.h): built from one replica, applied to another through admission,
 * in bounded steps with the receiver's head as the cursor; every malformed, forged or
 * out-of-place batch refused whole with nothing written.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy.h"
#include "log.h"
#include "replica.h"
#include "store.h"
#include "support.h"
#include "sync.h"
#include "wire.h"

static char *dir;

static void
suite_init(void)
{
    dir = deploy_suite_init();
}

static void
suite_fini(void)
{
    deploy_suite_fini(dir);
}

TestSuite(sync, .init = suite_init, .fini = suite_fini);

/* Pulls every leaf of from's own log into to, max leaves a batch; returns the batches used. */
static unsigned
pull_all(struct replica *from, struct replica *to, uint32_t max)
{
    unsigned batches = 0;
    for (;;) {
        struct log_head h;
        uint64_t have = log_get(to->st, from->pk, &h) == ERR_OK ? h.size : 0;
        Cdht__Sync__Batch b = CDHT__SYNC__BATCH__INIT;
        err_code rc = sync_batch_build(from, from->pk, have, max, &b);
        if (rc == ERR_AGAIN) {
            return batches;
        }
        cr_assert_eq(rc, ERR_OK, "%s", err_str(rc));
        cr_assert_leq(b.count, max ? max : SYNC_BATCH_LEAVES_DEFAULT);
        struct sync_apply_report rep;
        const char *why = NULL;
        cr_assert_eq(sync_batch_apply(to, &b, &rep, &why), ERR_OK, "%s", why ? why : "");
        cr_assert_eq(rep.size, have + b.count);
        sync_batch_clear(&b);
        batches++;
    }
}

static void
people(struct replica *r, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        char id[17];
        cr_assert_eq(support_person_add(r, "Nguyễn Văn An", 1980 + i, "V1", id), ERR_OK);
    }
}

/* Ten commits arrive in batches of three; the receiver ends with the same rows, and a second
 * pull finds nothing to send. */
Test(sync, pull_in_bounded_batches)
{
    struct replica *A = deploy_replica(dir, "pull-A", "V1", 0, NULL);
    struct replica *B = deploy_replica(dir, "pull-B", "V1", 0, NULL);
    people(A, 10);
    cr_assert_eq(pull_all(A, B, 3), 4);
    char a[65], b[65];
    support_state_hex(A, a);
    support_state_hex(B, b);
    cr_assert_str_eq(a, b);
    cr_assert_eq(pull_all(A, B, 3), 0);
    struct log_head h;
    cr_assert_eq(log_get(B->st, A->pk, &h), ERR_OK);
    cr_assert_eq(h.cp_size, 10, "the checkpoint came with the last batch");
    replica_close(A);
    replica_close(B);
}

/* A receiver stopped after one batch (process killed: nothing but committed batches survive)
 * resumes from its head; the result is the same as one pull. */
Test(sync, resume_from_the_head)
{
    struct replica *A = deploy_replica(dir, "res-A", "V1", 0, NULL);
    struct replica *B = deploy_replica(dir, "res-B", "V1", 0, NULL);
    people(A, 7);
    Cdht__Sync__Batch b = CDHT__SYNC__BATCH__INIT;
    cr_assert_eq(sync_batch_build(A, A->pk, 0, 2, &b), ERR_OK);
    struct sync_apply_report rep;
    cr_assert_eq(sync_batch_apply(B, &b, &rep, NULL), ERR_OK);
    /* The same batch again (a resent request): nothing new, nothing duplicated. */
    cr_assert_eq(sync_batch_apply(B, &b, &rep, NULL), ERR_OK);
    cr_assert_eq(rep.leaves, 0);
    cr_assert_eq(rep.duplicates, 2);
    sync_batch_clear(&b);
    char *home = support_path(dir, "res-B");
    replica_close(B);
    B = support_reopen(home);
    free(home);
    pull_all(A, B, 2);
    char x[65], y[65];
    support_state_hex(A, x);
    support_state_hex(B, y);
    cr_assert_str_eq(x, y);
    cr_assert_eq(support_total_leaves(B), 7);
    replica_close(A);
    replica_close(B);
}

/* Each refusal: nothing is written. */
Test(sync, refusals_write_nothing)
{
    struct replica *A = deploy_replica(dir, "ref-A", "V1", 0, NULL);
    struct replica *B = deploy_replica(dir, "ref-B", "V1", 0, NULL);
    struct replica *C = deploy_replica(dir, "ref-C", "V1", 0, NULL);
    people(A, 4);
    people(C, 1);
    struct sync_apply_report rep;
    const char *why = NULL;
    /* A gap: leaves from index 2 to a replica that holds none. */
    Cdht__Sync__Batch b = CDHT__SYNC__BATCH__INIT;
    cr_assert_eq(sync_batch_build(A, A->pk, 2, 0, &b), ERR_OK);
    cr_assert_eq(sync_batch_apply(B, &b, &rep, &why), ERR_INVAL);
    cr_assert_str_eq(why, "the batch starts past the leaves held (a gap): ask for heads again");
    sync_batch_clear(&b);
    /* Another device's checkpoint on A's leaves. */
    cr_assert_eq(sync_batch_build(A, A->pk, 0, 0, &b), ERR_OK);
    uint8_t note[NOTE_SIZE_MAX];
    size_t note_len = 0;
    uint64_t cp = 0;
    struct log_head hc;
    cr_assert_eq(log_get(C->st, C->pk, &hc), ERR_OK);
    cr_assert_eq(log_checkpoint_get(C->st, hc.id, note, &note_len, &cp), ERR_OK);
    ProtobufCBinaryData real = b.checkpoint;
    b.checkpoint.data = note;
    b.checkpoint.len = note_len;
    cr_assert_eq(sync_batch_apply(B, &b, &rep, &why), ERR_AUTH);
    cr_assert_str_eq(why, "the checkpoint is not signed by the log's own key");
    b.checkpoint = real;
    /* A byte of the compressed leaves changed. */
    b.leaves.data[b.leaves.len / 2] ^= 0x40;
    err_code rc = sync_batch_apply(B, &b, &rep, &why);
    cr_assert(rc == ERR_PROTO || rc == ERR_AUTH || rc == ERR_MSGSIZE, "%s", err_str(rc));
    b.leaves.data[b.leaves.len / 2] ^= 0x40;
    /* A count that does not match the frame. */
    b.count += 1;
    cr_assert_eq(sync_batch_apply(B, &b, &rep, &why), ERR_PROTO);
    b.count -= 1;
    cr_assert_eq(support_total_leaves(B), 0, "nothing was written");
    cr_assert_eq(deploy_q_int(B, "SELECT count(*) FROM log"), 1);
    /* The genuine batch still applies. */
    cr_assert_eq(sync_batch_apply(B, &b, &rep, &why), ERR_OK);
    cr_assert_eq(rep.leaves, 4);
    sync_batch_clear(&b);
    replica_close(A);
    replica_close(B);
    replica_close(C);
}

/* A receiver holding another history of a log (a restored key wrote again) refuses the batch
 * as a fork and keeps its own. */
Test(sync, fork_refused)
{
    struct replica *A = deploy_replica(dir, "fork-A", "V1", 0, NULL);
    struct replica *B = deploy_replica(dir, "fork-B", "V1", 0, NULL);
    people(A, 2);
    pull_all(A, B, 0);
    char *home = support_path(dir, "fork-A");
    char *copy = support_path(dir, "fork-A2");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", home, copy);
    replica_close(A);
    cr_assert_eq(system(cmd), 0);
    A = support_reopen(home);
    struct replica *A2 = support_reopen(copy);
    people(A, 1);
    people(A2, 2);
    pull_all(A, B, 0);
    Cdht__Sync__Batch b = CDHT__SYNC__BATCH__INIT;
    cr_assert_eq(sync_batch_build(A2, A2->pk, 2, 0, &b), ERR_OK);
    struct sync_apply_report rep;
    const char *why = NULL;
    cr_assert_eq(sync_batch_apply(B, &b, &rep, &why), ERR_FORK);
    cr_assert_str_eq(why, "a leaf of the batch differs from the one held: a fork");
    cr_assert_eq(support_total_leaves(B), 3);
    sync_batch_clear(&b);
    free(home);
    free(copy);
    replica_close(A);
    replica_close(A2);
    replica_close(B);
}

/* Under a pinned root a batch goes through admission like an import: the writer's leaves are
 * held until the certificate's batch arrives, then count. */
Test(sync, admission_under_a_pinned_root)
{
    struct deploy w;
    deploy_world(&w, dir, "adm", 1);
    char id[17];
    cr_assert_eq(support_person_add(w.A, "An", 1990, "4400101", id), ERR_OK);
    struct replica *V = deploy_replica(dir, "adm-V", "44", 0, w.R->pk);
    pull_all(w.A, V, 0);
    cr_assert_eq(deploy_q_int(V, "SELECT count(*) FROM person"), 0);
    cr_assert_eq(deploy_q_int(V, "SELECT count(*) FROM quarantine"), 1);
    pull_all(w.R, V, 0);
    pull_all(w.H, V, 0);
    cr_assert_eq(deploy_q_int(V, "SELECT count(*) FROM quarantine"), 0);
    cr_assert_eq(deploy_q_int(V, "SELECT count(*) FROM person WHERE _live"), 1);
    replica_close(V);
    deploy_world_free(&w);
}
