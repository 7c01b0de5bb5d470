/*
 * Replication scope (node/scope.h): a scoped export carries the logs of the recipient's subtree
 * and of its ancestors, never a sibling village's, and an import leaves out sections outside the
 * receiver's own scope. A small deployment as in trust_test.c: root R (province 44), hub H
 * (commune 44001), writers A (village 4400101) and B (village 4400102), exchanging bundles.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "deploy.h"
#include "exchange.h"
#include "log.h"
#include "replica.h"
#include "scope.h"
#include "store.h"
#include "support.h"
#include "trust.h"

/* Log sections one test bundle may list. */
#define SCOPE_TEST_LOGS_MAX 16u

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

TestSuite(scope, .init = suite_init, .fini = suite_fini);

/* The deployment with both writers; each writer records one person of its village, and the hub
 * collects both. */
static void
world(struct deploy *w, const char *tag)
{
    char id[17];
    deploy_world(w, dir, tag, 2);
    cr_assert_eq(support_person_add(w->A, "An", 1990, "4400101", id), ERR_OK);
    cr_assert_eq(support_person_add(w->B, "Binh", 1991, "4400102", id), ERR_OK);
    deploy_sync(dir, w->A, w->H);
    deploy_sync(dir, w->B, w->H);
}

/* The keys of the bundle's LOG sections, read with proto/bundle.h's reader. */
struct listing {
    uint8_t key[SCOPE_TEST_LOGS_MAX][KEY_PUBLIC_SIZE];
    size_t n;
};

static void
list_logs(const char *path, struct listing *l)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    struct bundle_reader *br = NULL;
    cr_assert_eq(bundle_reader_new(&br, f, BUNDLE_INFLATED_SIZE_MAX), ERR_OK);
    l->n = 0;
    for (unsigned i = 0; i < 100000u; i++) {
        struct bundle_record rec;
        cr_assert_eq(bundle_reader_next(br, &rec), ERR_OK);
        if (rec.type == BUNDLE_REC_END) {
            break;
        }
        if (rec.type == BUNDLE_REC_LOG) {
            cr_assert_lt(l->n, SCOPE_TEST_LOGS_MAX);
            memcpy(l->key[l->n++], rec.log.key, KEY_PUBLIC_SIZE);
        }
    }
    bundle_reader_free(br);
    fclose(f);
}

static int
listed(const struct listing *l, const uint8_t key[KEY_PUBLIC_SIZE])
{
    for (size_t i = 0; i < l->n; i++) {
        if (memcmp(l->key[i], key, KEY_PUBLIC_SIZE) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Exports from r for scope s to name; returns the path (malloc'd). */
static char *
export_scoped(struct replica *r, const struct scope *s, const char *name,
              struct exchange_report *rep)
{
    char *path = (support_path(dir, name));
    cr_assert_eq(exchange_export_scoped(r, path, NULL, 0, s, rep), ERR_OK, "%s", rep->msg);
    return path;
}

static void
assert_village_a(const struct deploy *w, const char *path)
{
    struct listing l;
    list_logs(path, &l);
    cr_assert(listed(&l, w->A->pk));
    cr_assert(listed(&l, w->H->pk));
    cr_assert(listed(&l, w->R->pk));
    cr_assert(!listed(&l, w->B->pk), "a sibling village's log was exported");
    cr_assert_eq(l.n, 3);
}

/* --scope 4400101 at the hub: the village's writer, the hub above it and the root; not B. */
Test(scope, export_by_unit)
{
    struct deploy w;
    world(&w, "unit");
    struct scope s;
    cr_assert_eq(scope_from_unit(w.H->st, "4400101", &s), ERR_OK);
    struct exchange_report rep = {0};
    char *path = export_scoped(w.H, &s, "unit.cdht", &rep);
    cr_assert_eq(rep.logs, 3);
    cr_assert_eq(rep.out_of_scope, 1);
    assert_village_a(&w, path);
    /* The unscoped export still carries all four. */
    struct listing l;
    cr_assert_eq(exchange_export(w.H, path, NULL, 0, &rep), ERR_OK);
    list_logs(path, &l);
    cr_assert_eq(l.n, 4);
    cr_assert_eq(rep.out_of_scope, 0);
    free(path);
    deploy_world_free(&w);
}

/* --for A's key: A's grant (writer of 4400101) gives the same bundle; the hub's scope is its
 * subtree; the root's key gives everything. */
Test(scope, export_for_key)
{
    struct deploy w;
    world(&w, "key");
    struct scope s;
    struct exchange_report rep = {0};
    cr_assert_eq(scope_from_key(w.H->st, w.A->pk, &s), ERR_OK);
    char *path = export_scoped(w.H, &s, "key.cdht", &rep);
    assert_village_a(&w, path);
    free(path);

    struct listing l;
    cr_assert_eq(scope_from_key(w.H->st, w.H->pk, &s), ERR_OK);
    path = export_scoped(w.H, &s, "hub.cdht", &rep);
    list_logs(path, &l);
    cr_assert_eq(l.n, 4);
    free(path);
    cr_assert_eq(scope_from_key(w.H->st, w.R->pk, &s), ERR_OK);
    cr_assert(s.all);
    path = export_scoped(w.H, &s, "root.cdht", &rep);
    list_logs(path, &l);
    cr_assert_eq(l.n, 4);
    free(path);
    deploy_world_free(&w);
}

/* A key without a valid chain, a unit not held, and open mode are refused. */
Test(scope, refusals)
{
    struct deploy w;
    world(&w, "ref");
    struct replica *X = deploy_replica(dir, "ref-X", "4400101", 0, w.R->pk);
    struct replica *O = deploy_replica(dir, "ref-O", "4400101", 0, NULL);
    struct scope s;
    cr_assert_eq(scope_from_key(w.H->st, X->pk, &s), ERR_NOTFOUND);
    cr_assert_eq(scope_from_unit(w.H->st, "4400199", &s), ERR_NOTFOUND);
    cr_assert_eq(scope_from_unit(w.H->st, "not a code", &s), ERR_INVAL);
    cr_assert_eq(scope_from_unit(O->st, "4400101", &s), ERR_INVAL);
    cr_assert_eq(scope_from_key(O->st, O->pk, &s), ERR_INVAL);
    int active = 1;
    cr_assert_eq(scope_of_replica(O, &s, &active), ERR_OK);
    cr_assert_eq(active, 0);
    /* An unknown signer's log is never in a scoped bundle. */
    int yes = 1;
    cr_assert_eq(scope_from_unit(w.H->st, "44001", &s), ERR_OK);
    cr_assert_eq(scope_log_allowed(w.H->st, &s, X->pk, &yes), ERR_OK);
    cr_assert_eq(yes, 0);
    replica_close(X);
    replica_close(O);
    deploy_world_free(&w);
}

/* A imports the hub's scoped bundle: no person of B ever appears in A's replica. */
Test(scope, scoped_import_has_no_sibling_people)
{
    struct deploy w;
    world(&w, "imp");
    struct scope s;
    struct exchange_report rep = {0};
    cr_assert_eq(scope_from_key(w.H->st, w.A->pk, &s), ERR_OK);
    char *path = export_scoped(w.H, &s, "imp.cdht", &rep);
    memset(&rep, 0, sizeof rep);
    cr_assert_eq(exchange_import(w.A, path, &rep), ERR_OK, "%s", rep.msg);
    cr_assert_eq(rep.out_of_scope, 0);
    cr_assert_eq(deploy_q_int(w.A, "SELECT count(*) FROM person WHERE unit = '4400102'"), 0);
    cr_assert_eq(deploy_q_int(w.A, "SELECT count(*) FROM person WHERE unit = '4400101' AND _live"),
                 1);
    struct log_head h;
    cr_assert_eq(log_get(w.A->st, w.B->pk, &h), ERR_NOTFOUND);
    free(path);
    deploy_world_free(&w);
}

/* An unscoped bundle from the hub: A verifies every section but stores none of B's log, and
 * says so in the report, unless configured to keep everything; the root keeps it all. */
Test(scope, import_skips_outside)
{
    struct deploy w;
    world(&w, "skip");
    char *path = (support_path(dir, "skip.cdht"));
    struct exchange_report rep = {0};
    cr_assert_eq(exchange_export(w.H, path, NULL, 0, &rep), ERR_OK);
    uint64_t before = support_total_leaves(w.A);
    memset(&rep, 0, sizeof rep);
    cr_assert_eq(exchange_import(w.A, path, &rep), ERR_OK, "%s", rep.msg);
    cr_assert_eq(rep.out_of_scope, 1);
    cr_assert_eq(rep.logs, 4); /* pass one read (and verified) all four sections */
    cr_assert_eq(deploy_q_int(w.A, "SELECT count(*) FROM person WHERE unit = '4400102'"), 0);
    struct log_head h;
    cr_assert_eq(log_get(w.A->st, w.B->pk, &h), ERR_NOTFOUND);
    cr_assert_eq(support_total_leaves(w.A), before, "A held everything but B's leaves already");
    /* Configured to keep everything (meta "scope" = "all"), A stores B's log too. */
    cr_assert_eq(store_meta_put(w.A->st, SCOPE_META, SCOPE_META_ALL, strlen(SCOPE_META_ALL)),
                 ERR_OK);
    memset(&rep, 0, sizeof rep);
    cr_assert_eq(exchange_import(w.A, path, &rep), ERR_OK, "%s", rep.msg);
    cr_assert_eq(rep.out_of_scope, 0);
    cr_assert_eq(log_get(w.A->st, w.B->pk, &h), ERR_OK);
    memset(&rep, 0, sizeof rep);
    cr_assert_eq(exchange_import(w.R, path, &rep), ERR_OK, "%s", rep.msg);
    cr_assert_eq(rep.out_of_scope, 0);
    cr_assert_eq(deploy_q_int(w.R, "SELECT count(*) FROM person WHERE _live"), 2);
    free(path);
    deploy_world_free(&w);
}

/* A replica that knows no certificate yet cannot judge: every section is an unknown signer's,
 * and is stored (held in quarantine until the certificates are reconciled). */
Test(scope, fresh_replica_keeps_unknown_signers)
{
    struct deploy w;
    world(&w, "fresh");
    struct replica *F = deploy_replica(dir, "fresh-F", "4400101", 0, w.R->pk);
    struct scope s;
    int active = 0;
    cr_assert_eq(scope_of_replica(F, &s, &active), ERR_OK);
    cr_assert_eq(active, 1);
    cr_assert_eq(s.count, 1);
    cr_assert_str_eq(s.units[0], "4400101");
    cr_assert_eq(s.placed, 0);
    enum scope_verdict v = SCOPE_IN;
    cr_assert_eq(scope_log_verdict(F->st, &s, w.B->pk, &v), ERR_OK);
    cr_assert_eq(v, SCOPE_UNDECIDED);
    cr_assert_eq(scope_log_verdict(F->st, &s, w.R->pk, &v), ERR_OK);
    cr_assert_eq(v, SCOPE_IN);
    replica_close(F);
    deploy_world_free(&w);
}
