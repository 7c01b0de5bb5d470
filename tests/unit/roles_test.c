/*
 * The per-table role mask of the registry tables (schema.h .roles, node/trust.c): on the test
 * deployment (root R of province 44, hub H of commune 44001, writers A of village 4400101 and B
 * of 4400102) each table accepts exactly the roles it names. A modified client's leaf that
 * breaks the mask is held in quarantine with the reason on every replica; cdht itself refuses
 * to write it (ERR_DENIED, nothing written).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy.h"
#include "replica.h"
#include "store.h"
#include "support.h"
#include "trust.h"

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

TestSuite(roles, .init = suite_init, .fini = suite_fini);

/* The reason and detail with which r holds leaf index of key's log; reason 0 when not held. */
static int
held(struct replica *r, const uint8_t key[KEY_PUBLIC_SIZE], uint64_t index, char *detail,
     size_t cap)
{
    sqlite3_stmt *s = NULL;
    cr_assert_eq(sqlite3_prepare_v2(r->st->db,
                                    "SELECT q.reason, q.detail FROM quarantine q JOIN log l ON "
                                    "l.id = (q.id >> 40) WHERE l.key = ?1 AND "
                                    "(q.id & 1099511627775) = ?2",
                                    -1, &s, NULL),
                 SQLITE_OK);
    sqlite3_bind_blob(s, 1, key, KEY_PUBLIC_SIZE, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (int64_t)index);
    int v = 0;
    if (detail != NULL) {
        detail[0] = '\0';
    }
    if (sqlite3_step(s) == SQLITE_ROW) {
        v = sqlite3_column_int(s, 0);
        const char *d = (const char *)sqlite3_column_text(s, 1);
        if (detail != NULL && d != NULL) {
            snprintf(detail, cap, "%s", d);
        }
    }
    sqlite3_finalize(s);
    return v;
}

/* One row of table naming unit (and one more TEXT cell col=val when col is not NULL); the
 * commit's result, its leaf index in *index. */
static err_code
put(struct replica *r, const char *table, const char *pk, const char *unit, const char *col,
    const char *val, uint64_t *index)
{
    struct replica_cell cells[] = {
        {.col = "unit", .type = SCHEMA_TEXT, .s = unit},
        {.col = col, .type = SCHEMA_TEXT, .s = val},
    };
    struct replica_txn *t = NULL;
    err_code rc = replica_txn_new(r, &t);
    if (rc != ERR_OK) {
        return rc;
    }
    if ((rc = replica_txn_put(t, table, pk, 1, cells, col ? 2 : 1, 0)) != ERR_OK) {
        replica_txn_free(t);
        return rc;
    }
    return replica_txn_commit(r, t, index);
}

/* The world, the root up to date, and an approver P for village 4400101 that knows its
 * certificate. */
static struct replica *
world_with_approver(struct deploy *w, const char *tag)
{
    char name[64];
    deploy_world(w, dir, tag, 2);
    snprintf(name, sizeof name, "%s-P", tag);
    struct replica *P = deploy_replica(dir, name, "4400101", 0, w->R->pk);
    cr_assert_eq(deploy_cert(w->H, P, "approver", "4400101", NULL), ERR_OK);
    deploy_sync(dir, w->H, P);
    deploy_sync(dir, w->H, w->R);
    return P;
}

/* A writer cannot approve: cdht refuses locally (wrong-role, nothing written), and a modified
 * client's approval leaf is held on the hub with the role reason, naming the role it needed. */
Test(roles, writer_approval_held)
{
    struct deploy w;
    deploy_world(&w, dir, "wap", 1);
    uint64_t before = support_total_leaves(w.A);
    cr_assert_eq(put(w.A, "approval", "2026:p1", "4400101", "outcome", "approved", NULL),
                 ERR_DENIED);
    cr_assert(strstr(w.A->denied, "wrong-role") != NULL, "%s", w.A->denied);
    cr_assert_eq(support_total_leaves(w.A), before);
    setenv("CDHT_TEST_UNCHECKED_WRITES", "1", 1);
    uint64_t ix = 0;
    cr_assert_eq(put(w.A, "approval", "2026:p1", "4400101", "outcome", "approved", &ix), ERR_OK);
    unsetenv("CDHT_TEST_UNCHECKED_WRITES");
    /* The writer's own rows still count: assessment, self_score, review. */
    cr_assert_eq(put(w.A, "assessment", "2026:p1", "4400101", "stage", "draft", NULL), ERR_OK);
    cr_assert_eq(put(w.A, "review", "2026:p1", "4400101", "outcome", "reviewed", NULL), ERR_OK);
    deploy_sync(dir, w.A, w.H);
    char detail[TRUST_DETAIL_SIZE];
    cr_assert_eq(held(w.H, w.A->pk, ix, detail, sizeof detail), TRUST_ROLE);
    cr_assert_str_eq(detail, "no approver grant for table approval");
    cr_assert_eq(deploy_q_int(w.H, "SELECT count(*) FROM approval"), 0);
    cr_assert_eq(deploy_q_int(w.H, "SELECT count(*) FROM assessment WHERE _live"), 1);
    cr_assert_eq(deploy_q_int(w.H, "SELECT count(*) FROM review WHERE _live"), 1);
    cr_assert_eq(deploy_q_int(w.H, "SELECT count(*) FROM quarantine"), 1);
    /* The writer's own replica holds it too. */
    cr_assert_eq(held(w.A, w.A->pk, ix, NULL, 0), TRUST_ROLE);
    deploy_world_free(&w);
}

/* A hub publishes a framework for its commune: accepted on the hub and on the root. A hub still
 * cannot write people (person stays writer-only), nor a framework outside its subtree. */
Test(roles, hub_framework_accepted)
{
    struct deploy w;
    deploy_world(&w, dir, "hfw", 1);
    deploy_sync(dir, w.H, w.R);
    cr_assert_eq(put(w.H, "framework", "44001/244-2022/1", "44001", "title", "T", NULL), ERR_OK);
    cr_assert_eq(put(w.H, "plan", "44001/kh-2023", "44001", "level", "commune", NULL), ERR_OK);
    cr_assert_eq(put(w.H, "setting", "raw_ceiling_kind", "44001", "value", "commune", NULL),
                 ERR_OK);
    deploy_sync(dir, w.H, w.R);
    cr_assert_eq(deploy_q_int(w.R, "SELECT count(*) FROM framework WHERE _live"), 1);
    cr_assert_eq(deploy_q_int(w.R, "SELECT count(*) FROM plan WHERE _live"), 1);
    cr_assert_eq(deploy_q_int(w.R, "SELECT count(*) FROM quarantine"), 0);
    cr_assert_eq(put(w.H, "framework", "44/x/1", "44", "title", "T", NULL), ERR_DENIED);
    cr_assert(strstr(w.H->denied, "outside-unit") != NULL, "%s", w.H->denied);
    char id[17];
    cr_assert_eq(support_person_add(w.H, "An", 1990, "44001", id), ERR_DENIED);
    cr_assert(strstr(w.H->denied, "wrong-role") != NULL, "%s", w.H->denied);
    /* A writer cannot publish a framework. */
    cr_assert_eq(put(w.A, "framework", "4400101/x/1", "4400101", "title", "T", NULL), ERR_DENIED);
    cr_assert(strstr(w.A->denied, "wrong-role") != NULL, "%s", w.A->denied);
    /* The root may always. */
    cr_assert_eq(put(w.R, "framework", "*/244-2022/1", "*", "title", "T", NULL), ERR_OK);
    deploy_world_free(&w);
}

/* An approver approves inside its subtree; an approval naming a unit outside it is held as
 * outside-unit on the hub (and refused locally). The approver may also review and add evidence,
 * but not register people's assessments. */
Test(roles, approver_outside_subtree_held)
{
    struct deploy w;
    struct replica *P = world_with_approver(&w, "aps");
    cr_assert_eq(put(P, "approval", "2026:p1", "4400101", "outcome", "approved", NULL), ERR_OK);
    cr_assert_eq(put(P, "review", "2026:p1", "4400101", "outcome", "reviewed", NULL), ERR_OK);
    cr_assert_eq(put(P, "evidence", "2026:p1:00", "4400101", "kind", "photo", NULL), ERR_OK);
    cr_assert_eq(put(P, "approval", "2026:p2", "4400102", "outcome", "approved", NULL),
                 ERR_DENIED);
    cr_assert(strstr(P->denied, "outside-unit") != NULL, "%s", P->denied);
    cr_assert_eq(put(P, "assessment", "2026:p1", "4400101", "stage", "draft", NULL), ERR_DENIED);
    cr_assert(strstr(P->denied, "wrong-role") != NULL, "%s", P->denied);
    setenv("CDHT_TEST_UNCHECKED_WRITES", "1", 1);
    uint64_t ix = 0;
    cr_assert_eq(put(P, "approval", "2026:p2", "4400102", "outcome", "approved", &ix), ERR_OK);
    unsetenv("CDHT_TEST_UNCHECKED_WRITES");
    deploy_sync(dir, P, w.H);
    char detail[TRUST_DETAIL_SIZE];
    cr_assert_eq(held(w.H, P->pk, ix, detail, sizeof detail), TRUST_UNIT);
    cr_assert_str_eq(detail, "unit 4400102 is outside the approver grants");
    cr_assert_eq(deploy_q_int(w.H, "SELECT count(*) FROM approval WHERE _live"), 1);
    cr_assert_eq(deploy_q_int(w.H, "SELECT count(*) FROM review WHERE _live"), 1);
    cr_assert_eq(deploy_q_int(w.H, "SELECT count(*) FROM evidence WHERE _live"), 1);
    replica_close(P);
    deploy_world_free(&w);
}

/* A reporter (bit 5, after the root's bit 4) writes aggregates and nothing else; an auditor
 * writes nothing. */
Test(roles, reporter_aggregate_only)
{
    struct deploy w;
    deploy_world(&w, dir, "rep", 1);
    cr_assert_eq(trust_role_parse("reporter"), TRUST_REPORTER);
    cr_assert_eq(trust_role_parse("root"), 0u);
    cr_assert_str_eq(trust_role_name(TRUST_REPORTER), "reporter");
    struct replica *X = deploy_replica(dir, "rep-X", "44001", 0, w.R->pk);
    struct replica *Y = deploy_replica(dir, "rep-Y", "44001", 0, w.R->pk);
    cr_assert_eq(deploy_cert(w.H, X, "reporter", "44001", NULL), ERR_OK);
    cr_assert_eq(deploy_cert(w.H, Y, "auditor", "44001", NULL), ERR_OK);
    deploy_sync(dir, w.H, X);
    deploy_sync(dir, w.H, Y);
    cr_assert_eq(put(X, "aggregate", "2026:44001:farmer", "44001", "grp", "farmer", NULL),
                 ERR_OK);
    cr_assert_eq(put(X, "setting", "k", "44001", "value", "v", NULL), ERR_DENIED);
    cr_assert(strstr(X->denied, "wrong-role") != NULL, "%s", X->denied);
    cr_assert_eq(put(Y, "aggregate", "2026:44001:worker", "44001", "grp", "worker", NULL),
                 ERR_DENIED);
    deploy_sync(dir, X, w.H);
    cr_assert_eq(deploy_q_int(w.H, "SELECT count(*) FROM aggregate WHERE _live"), 1);
    cr_assert_eq(deploy_q_int(w.H, "SELECT count(*) FROM quarantine"), 0);
    replica_close(X);
    replica_close(Y);
    deploy_world_free(&w);
}
