/*
 * Trust (node/trust.h): chains from the pinned root, authorisation on apply, quarantine,
 * re-evaluation when a certificate arrives late, revocation with rows rebuilt from the log,
 * and the local refusal. A small deployment: root R (province 44), hub H (commune 44001),
 * writers A (village 4400101) and B (village 4400102), exchanging whole bundles.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "deploy.h"
#include "diag.h"
#include "exchange.h"
#include "heads.h"
#include "log.h"
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

TestSuite(trust, .init = suite_init, .fini = suite_fini);

static int
held_reason(struct replica *r, const uint8_t key[KEY_PUBLIC_SIZE], uint64_t index)
{
    sqlite3_stmt *s = NULL;
    cr_assert_eq(sqlite3_prepare_v2(r->st->db,
                                    "SELECT q.reason FROM quarantine q JOIN log l ON l.id = "
                                    "(q.id >> 40) WHERE l.key = ?1 AND (q.id & 1099511627775) = ?2",
                                    -1, &s, NULL),
                 SQLITE_OK);
    sqlite3_bind_blob(s, 1, key, KEY_PUBLIC_SIZE, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (int64_t)index);
    int v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
    sqlite3_finalize(s);
    return v;
}

/* The deployment with both writers, and the root brought up to date. */
static void
world(struct deploy *w, const char *tag)
{
    deploy_world(w, dir, tag, 2);
    deploy_sync(dir, w->H, w->R);
}

static void
hash_eq(struct replica *a, struct replica *b)
{
    char x[65], y[65];
    support_state_hex(a, x);
    support_state_hex(b, y);
    cr_assert_str_eq(x, y);
}

/* A chain root -> hub -> writer: the writer's people count everywhere, nothing is held. */
Test(trust, chain_authorises_writer)
{
    struct deploy w;
    world(&w, "chain");
    char id[17];
    cr_assert_eq(support_person_add(w.A, "An", 1990, "4400101", id), ERR_OK);
    deploy_sync(dir, w.A, w.H);
    deploy_sync(dir, w.H, w.R);
    cr_assert_eq(deploy_q_int(w.H, "SELECT count(*) FROM person WHERE _live"), 1);
    cr_assert_eq(deploy_q_int(w.R, "SELECT count(*) FROM person WHERE _live"), 1);
    cr_assert_eq(deploy_q_int(w.H, "SELECT count(*) FROM quarantine"), 0);
    cr_assert_eq(deploy_q_int(w.H, "SELECT count(*) FROM trust_dev"), 4);
    hash_eq(w.H, w.R);
    deploy_world_free(&w);
}

/* A device with no certificate cannot write (ERR_DENIED, nothing written); a writer cannot write
 * another village's people, nor issue certificates. */
Test(trust, local_write_refused)
{
    struct deploy w;
    world(&w, "local");
    struct replica *X = deploy_replica(dir, "local-X", "4400101", 0, w.R->pk);
    char id[17];
    uint64_t before = support_total_leaves(X);
    cr_assert_eq(support_person_add(X, "An", 1990, "4400101", id), ERR_DENIED);
    cr_assert(strstr(X->denied, "unknown-signer") != NULL, "%s", X->denied);
    cr_assert_eq(support_total_leaves(X), before);
    cr_assert_eq(support_person_add(w.A, "Binh", 1991, "4400102", id), ERR_DENIED);
    cr_assert(strstr(w.A->denied, "outside-unit") != NULL, "%s", w.A->denied);
    cr_assert_eq(deploy_cert(w.A, X, "writer", "4400101", NULL), ERR_DENIED);
    cr_assert(strstr(w.A->denied, "not-an-issuer") != NULL, "%s", w.A->denied);
    /* A hub issues only inside its subtree, and draws units only there. */
    cr_assert_eq(deploy_cert(w.H, X, "writer", "44", NULL), ERR_DENIED);
    cr_assert(strstr(w.H->denied, "outside this device's hub grants") != NULL, "%s", w.H->denied);
    struct replica_txn *t = NULL;
    struct replica_cell cells[] = {{.col = "parent", .type = SCHEMA_TEXT, .s = "44"}};
    cr_assert_eq(replica_txn_new(w.H, &t), ERR_OK);
    cr_assert_eq(replica_txn_put(t, "unit", "44002", 1, cells, 1, 0), ERR_OK);
    cr_assert_eq(replica_txn_commit(w.H, t, NULL), ERR_DENIED);
    cr_assert(strstr(w.H->denied, "outside-unit: parent 44 is outside") != NULL, "%s", w.H->denied);
    replica_close(X);
    deploy_world_free(&w);
}

/* A modified laptop writes another village's person and issues a certificate: the hub keeps
 * both leaves in quarantine with the reason, and the rest of the log keeps flowing. */
Test(trust, unauthorised_leaves_held)
{
    struct deploy w;
    world(&w, "held");
    struct replica *X = deploy_replica(dir, "held-X", "4400101", 0, w.R->pk);
    char id[17];
    cr_assert_eq(support_person_add(w.A, "An", 1990, "4400101", id), ERR_OK);
    setenv("CDHT_TEST_UNCHECKED_WRITES", "1", 1);
    cr_assert_eq(support_person_add(w.A, "Binh", 1991, "4400102", id), ERR_OK);
    cr_assert_eq(deploy_cert(w.A, X, "writer", "4400101", NULL), ERR_OK);
    unsetenv("CDHT_TEST_UNCHECKED_WRITES");
    cr_assert_eq(support_person_add(w.A, "Cuong", 1992, "4400101", id), ERR_OK);
    deploy_sync(dir, w.A, w.H);
    cr_assert_eq(deploy_q_int(w.H, "SELECT count(*) FROM person WHERE _live"), 2);
    cr_assert_eq(held_reason(w.H, w.A->pk, 1), TRUST_UNIT);
    cr_assert_eq(held_reason(w.H, w.A->pk, 2), TRUST_ISSUER);
    cr_assert_eq(held_reason(w.H, w.A->pk, 0), 0);
    /* The writer's own replica holds them too: every replica gives one answer. */
    cr_assert_eq(deploy_q_int(w.A, "SELECT count(*) FROM person WHERE _live"), 2);
    hash_eq(w.A, w.H);
    /* X's certificate did not count: X stays an unknown signer. */
    cr_assert_eq(trust_device_get(w.H->st, X->pk, NULL, NULL), ERR_NOTFOUND);
    replica_close(X);
    deploy_world_free(&w);
}

/* Data that arrives before its author's certificate is held (unknown signer), then applied when
 * the certificate arrives; the result equals the other arrival order. */
Test(trust, late_certificate_releases_held)
{
    struct deploy w;
    world(&w, "late");
    char id[17];
    cr_assert_eq(support_person_add(w.A, "An", 1990, "4400101", id), ERR_OK);
    cr_assert_eq(support_person_set_name(w.A, id, "An Nguyen"), ERR_OK);
    /* A bundle of A's log alone: what A holds beyond the hub's heads. */
    struct heads_entry *heads = NULL;
    size_t nheads = 0;
    cr_assert_eq(exchange_heads(w.H, &heads, &nheads), ERR_OK);
    char *only_a = (support_path(dir, "only-a.cdht"));
    char *hub = (support_path(dir, "hub.cdht"));
    struct exchange_report rep = {0};
    cr_assert_eq(exchange_export(w.A, only_a, heads, nheads, &rep), ERR_OK);
    cr_assert_eq(rep.logs, 1);
    cr_assert_eq(exchange_export(w.H, hub, NULL, 0, &rep), ERR_OK);
    free(heads);
    struct replica *V1 = deploy_replica(dir, "late-V1", "44", 0, w.R->pk);
    struct replica *V2 = deploy_replica(dir, "late-V2", "44", 0, w.R->pk);
    cr_assert_eq(exchange_import(V1, only_a, &rep), ERR_OK);
    cr_assert_eq(deploy_q_int(V1, "SELECT count(*) FROM person"), 0);
    cr_assert_eq(held_reason(V1, w.A->pk, 0), TRUST_UNKNOWN_SIGNER);
    cr_assert_eq(exchange_import(V1, hub, &rep), ERR_OK);
    cr_assert_eq(deploy_q_int(V1, "SELECT count(*) FROM quarantine"), 0);
    cr_assert_eq(exchange_import(V2, hub, &rep), ERR_OK);
    cr_assert_eq(exchange_import(V2, only_a, &rep), ERR_OK);
    cr_assert_eq(deploy_q_int(V2, "SELECT count(*) FROM person WHERE _live AND name = 'An Nguyen'"),
                 1);
    hash_eq(V1, V2);
    deploy_sync(dir, w.A, w.H);
    hash_eq(V1, w.H);
    free(only_a);
    free(hub);
    replica_close(V1);
    replica_close(V2);
    deploy_world_free(&w);
}

/* Revocation: the hub revokes A after index k; A's later leaves stop counting everywhere and
 * the rows they wrote are rebuilt from the leaves that still count. */
Test(trust, revocation_withdraws_and_rebuilds)
{
    struct deploy w;
    world(&w, "rev");
    char id[17], id2[17];
    cr_assert_eq(support_person_add(w.A, "An", 1990, "4400101", id), ERR_OK);
    struct log_head h;
    cr_assert_eq(log_get(w.A->st, w.A->pk, &h), ERR_OK);
    uint64_t last = h.size - 1;
    cr_assert_eq(support_person_set_name(w.A, id, "Stolen"), ERR_OK);
    cr_assert_eq(support_person_add(w.A, "Fake", 1990, "4400101", id2), ERR_OK);
    deploy_sync(dir, w.A, w.H);
    cr_assert_eq(deploy_q_int(w.H, "SELECT count(*) FROM person WHERE _live"), 2);
    cr_assert_eq(deploy_revoke(w.H, w.A, 1, last), ERR_OK);
    cr_assert_eq(deploy_q_int(w.H, "SELECT count(*) FROM person WHERE _live"), 1);
    sqlite3_stmt *s = NULL;
    cr_assert_eq(
        sqlite3_prepare_v2(w.H->st->db, "SELECT name FROM person WHERE _live", -1, &s, NULL),
        SQLITE_OK);
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(s, 0), "An");
    sqlite3_finalize(s);
    cr_assert_eq(held_reason(w.H, w.A->pk, last + 1), TRUST_REVOKED);
    cr_assert_eq(held_reason(w.H, w.A->pk, last + 2), TRUST_REVOKED);
    /* The root learns both in the other order and agrees. */
    deploy_sync(dir, w.H, w.R);
    hash_eq(w.H, w.R);
    cr_assert_eq(deploy_q_int(w.R, "SELECT count(*) FROM quarantine"), 2);
    /* A itself, once it hears, stops counting its own later leaves. */
    deploy_sync(dir, w.H, w.A);
    hash_eq(w.A, w.R);
    deploy_world_free(&w);
}

/* Two replicas fed the same bundles in the two orders end alike: tables and quarantine. */
static void
two_orders(const char *tag, const char *first, const char *second, struct replica *root)
{
    char n1[64], n2[64];
    snprintf(n1, sizeof n1, "%s-V1", tag);
    snprintf(n2, sizeof n2, "%s-V2", tag);
    struct replica *V1 = deploy_replica(dir, n1, "44", 0, root->pk);
    struct replica *V2 = deploy_replica(dir, n2, "44", 0, root->pk);
    struct exchange_report rep;
    cr_assert_eq(exchange_import(V1, first, &rep), ERR_OK, "%s", rep.msg);
    cr_assert_eq(exchange_import(V1, second, &rep), ERR_OK, "%s", rep.msg);
    cr_assert_eq(exchange_import(V2, second, &rep), ERR_OK, "%s", rep.msg);
    cr_assert_eq(exchange_import(V2, first, &rep), ERR_OK, "%s", rep.msg);
    hash_eq(V1, V2);
    cr_assert_eq(deploy_q_int(V1, "SELECT count(*) FROM quarantine"),
                 deploy_q_int(V2, "SELECT count(*) FROM quarantine"));
    cr_assert_eq(deploy_q_int(V1, "SELECT count(*) FROM person WHERE _live"),
                 deploy_q_int(V2, "SELECT count(*) FROM person WHERE _live"));
    replica_close(V1);
    replica_close(V2);
}

/* A succession redirects the walk up from its old code: a commune-level writer loses a village
 * that moves to another commune by succession, in whatever order the succession arrives
 * (found in review: an applied leaf stayed applied when the succession came second). */
Test(trust, succession_takes_coverage_away)
{
    struct deploy w;
    world(&w, "succ");
    struct replica *X = deploy_replica(dir, "succ-X", "44001", 0, w.R->pk);
    cr_assert_eq(deploy_cert(w.R, X, "writer", "44001", NULL), ERR_OK);
    deploy_sync(dir, w.H, X);
    deploy_sync(dir, w.R, X);
    char id[17];
    cr_assert_eq(support_person_add(X, "An", 1990, "4400101", id), ERR_OK);
    char *px = support_path(dir, "succ-x.cdht");
    deploy_export(X, px);
    deploy_unit_add(w.R, "44002", "44", "commune");
    struct replica_txn *t = NULL;
    struct replica_cell cells[] = {{.col = "new_code", .type = SCHEMA_TEXT, .s = "44002"}};
    cr_assert_eq(replica_txn_new(w.R, &t), ERR_OK);
    cr_assert_eq(replica_txn_put(t, "unit_succession", "4400101", 1, cells, 1, 0), ERR_OK);
    cr_assert_eq(replica_txn_commit(w.R, t, NULL), ERR_OK);
    char *pr = support_path(dir, "succ-r.cdht");
    deploy_export(w.R, pr);
    two_orders("succ", px, pr, w.R);
    free(px);
    free(pr);
    replica_close(X);
    deploy_world_free(&w);
}

/* A certificate issued twice by one issuer is two grants; a device gaining both changed (found
 * in review: identical grants cancelled in the digest, so the device looked unchanged). */
Test(trust, reissued_certificate_releases_held)
{
    struct deploy w;
    world(&w, "reiss");
    char id[17];
    setenv("CDHT_TEST_UNCHECKED_WRITES", "1", 1);
    cr_assert_eq(support_person_add(w.A, "Binh", 1991, "4400102", id), ERR_OK);
    unsetenv("CDHT_TEST_UNCHECKED_WRITES");
    char *pa = support_path(dir, "reiss-a.cdht");
    deploy_export(w.A, pa);
    cr_assert_eq(deploy_cert(w.H, w.A, "writer", "4400102", NULL), ERR_OK);
    cr_assert_eq(deploy_cert(w.H, w.A, "writer", "4400102", NULL), ERR_OK);
    char *ph = support_path(dir, "reiss-h.cdht");
    deploy_export(w.H, ph);
    two_orders("reiss", pa, ph, w.R);
    struct replica *V = deploy_replica(dir, "reiss-V", "44", 0, w.R->pk);
    struct exchange_report rep;
    cr_assert_eq(exchange_import(V, pa, &rep), ERR_OK);
    cr_assert_eq(exchange_import(V, ph, &rep), ERR_OK);
    cr_assert_eq(deploy_q_int(V, "SELECT count(*) FROM person WHERE _live AND name = 'Binh'"), 1);
    free(pa);
    free(ph);
    replica_close(V);
    deploy_world_free(&w);
}

/* A hub whose grant has expired cannot certify: the local write is refused and nothing is kept
 * (found in review: the precheck ignored expiry and the leaf was committed, held). */
Test(trust, expired_hub_refused_locally)
{
    struct deploy w;
    world(&w, "exp");
    struct replica *G = deploy_replica(dir, "exp-G", "44001", 0, w.R->pk);
    struct replica *X = deploy_replica(dir, "exp-X", "4400101", 0, w.R->pk);
    struct replica_txn *t = NULL;
    cr_assert_eq(replica_txn_new(w.R, &t), ERR_OK);
    cr_assert_eq(replica_txn_cert(t, G->pk, "hub", "44001", "2020-01-01", NULL), ERR_OK);
    cr_assert_eq(replica_txn_commit(w.R, t, NULL), ERR_OK);
    deploy_sync(dir, w.R, G);
    deploy_sync(dir, w.H, G);
    uint64_t before = support_total_leaves(G);
    cr_assert_eq(deploy_cert(G, X, "writer", "4400101", NULL), ERR_DENIED);
    cr_assert(strstr(G->denied, "not-an-issuer") != NULL, "%s", G->denied);
    cr_assert_eq(support_total_leaves(G), before);
    cr_assert_eq(deploy_q_int(G, "SELECT count(*) FROM quarantine"), 0);
    replica_close(G);
    replica_close(X);
    deploy_world_free(&w);
}
