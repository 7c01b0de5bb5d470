/*
 * Replication scope (node/scope.h): a scoped export carries the logs of the recipient's subtree
 * and of its ancestors, never a sibling village's, and an import leaves out sections outside the
 * receiver's own scope. A small deployment as in trust_test.c: root R (province 44), hub H
 * (commune 44001), writers A (village 4400101) and B (village 4400102), exchanging bundles.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
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
    cr_assert_geq(sodium_init(), 0);
    unsetenv("CDHT_FAKE_NOW_MS");
    unsetenv("CDHT_TEST_UNCHECKED_WRITES");
    dir = support_tmpdir();
}

static void
suite_fini(void)
{
    support_rmrf(dir);
    free(dir);
}

TestSuite(scope, .init = suite_init, .fini = suite_fini);

static struct replica *
mk(const char *name, const char *unit, int root, const uint8_t *trust_root)
{
    char *home = support_path(dir, name);
    struct replica_init_opts o = {.unit = unit, .root = root, .trust_root = trust_root};
    cr_assert_eq(replica_init(home, &o), ERR_OK);
    return support_reopen(home);
}

static void
unit_add(struct replica *r, const char *code, const char *parent, const char *kind)
{
    struct replica_txn *t = NULL;
    cr_assert_eq(replica_txn_new(r, &t), ERR_OK);
    struct replica_cell cells[] = {
        {.col = "parent", .type = SCHEMA_TEXT, .s = parent, .is_null = parent == NULL},
        {.col = "kind", .type = SCHEMA_TEXT, .s = kind},
        {.col = "name", .type = SCHEMA_TEXT, .s = code},
    };
    cr_assert_eq(replica_txn_put(t, "unit", code, 1, cells, 3, 0), ERR_OK);
    err_code rc = replica_txn_commit(r, t, NULL);
    cr_assert_eq(rc, ERR_OK, "unit %s: %s %s", code, err_str(rc), r->denied);
}

static err_code
cert(struct replica *r, const struct replica *subject, const char *role, const char *unit)
{
    struct replica_txn *t = NULL;
    cr_assert_eq(replica_txn_new(r, &t), ERR_OK);
    cr_assert_eq(replica_txn_cert(t, subject->pk, role, unit, NULL, NULL), ERR_OK);
    return replica_txn_commit(r, t, NULL);
}

/* Everything from's replica holds goes to to. */
static void
sync1(struct replica *from, struct replica *to)
{
    char *path = strdup(support_path(dir, "b.cdht"));
    struct exchange_report rep = {0};
    cr_assert_eq(exchange_export(from, path, NULL, 0, &rep), ERR_OK);
    memset(&rep, 0, sizeof rep);
    cr_assert_eq(exchange_import(to, path, &rep), ERR_OK, "%s", rep.msg);
    free(path);
}

static uint64_t
q_int(struct replica *r, const char *sql)
{
    sqlite3_stmt *s = NULL;
    cr_assert_eq(sqlite3_prepare_v2(r->st->db, sql, -1, &s, NULL), SQLITE_OK, "%s", sql);
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
    uint64_t v = (uint64_t)sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

struct world {
    struct replica *R, *H, *A, *B;
};

/* Root makes the tree and certifies the hub; the hub adds two villages and certifies a writer
 * in each; each writer records one person of its village, and the hub collects both. */
static void
world(struct world *w, const char *tag)
{
    char n[32], id[17];
    snprintf(n, sizeof n, "%s-R", tag);
    w->R = mk(n, "44", 1, NULL);
    snprintf(n, sizeof n, "%s-H", tag);
    w->H = mk(n, "44001", 0, w->R->pk);
    snprintf(n, sizeof n, "%s-A", tag);
    w->A = mk(n, "4400101", 0, w->R->pk);
    snprintf(n, sizeof n, "%s-B", tag);
    w->B = mk(n, "4400102", 0, w->R->pk);
    unit_add(w->R, "44", NULL, "province");
    unit_add(w->R, "44001", "44", "commune");
    cr_assert_eq(cert(w->R, w->H, "hub", "44001"), ERR_OK);
    sync1(w->R, w->H);
    unit_add(w->H, "4400101", "44001", "village");
    unit_add(w->H, "4400102", "44001", "village");
    cr_assert_eq(cert(w->H, w->A, "writer", "4400101"), ERR_OK);
    cr_assert_eq(cert(w->H, w->B, "writer", "4400102"), ERR_OK);
    sync1(w->H, w->A);
    sync1(w->H, w->B);
    cr_assert_eq(support_person_add(w->A, "An", 1990, "4400101", id), ERR_OK);
    cr_assert_eq(support_person_add(w->B, "Binh", 1991, "4400102", id), ERR_OK);
    sync1(w->A, w->H);
    sync1(w->B, w->H);
}

static void
world_free(struct world *w)
{
    replica_close(w->R);
    replica_close(w->H);
    replica_close(w->A);
    replica_close(w->B);
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
    char *path = strdup(support_path(dir, name));
    cr_assert_eq(exchange_export_scoped(r, path, NULL, 0, s, rep), ERR_OK, "%s", rep->msg);
    return path;
}

static void
assert_village_a(const struct world *w, const char *path)
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
    struct world w;
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
    world_free(&w);
}

/* --for A's key: A's grant (writer of 4400101) gives the same bundle; the hub's scope is its
 * subtree; the root's key gives everything. */
Test(scope, export_for_key)
{
    struct world w;
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
    world_free(&w);
}

/* A key without a valid chain, a unit not held, and open mode are refused. */
Test(scope, refusals)
{
    struct world w;
    world(&w, "ref");
    struct replica *X = mk("ref-X", "4400101", 0, w.R->pk);
    struct replica *O = mk("ref-O", "4400101", 0, NULL);
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
    world_free(&w);
}

/* A imports the hub's scoped bundle: no person of B ever appears in A's replica. */
Test(scope, scoped_import_has_no_sibling_people)
{
    struct world w;
    world(&w, "imp");
    struct scope s;
    struct exchange_report rep = {0};
    cr_assert_eq(scope_from_key(w.H->st, w.A->pk, &s), ERR_OK);
    char *path = export_scoped(w.H, &s, "imp.cdht", &rep);
    memset(&rep, 0, sizeof rep);
    cr_assert_eq(exchange_import(w.A, path, &rep), ERR_OK, "%s", rep.msg);
    cr_assert_eq(rep.out_of_scope, 0);
    cr_assert_eq(q_int(w.A, "SELECT count(*) FROM person WHERE unit = '4400102'"), 0);
    cr_assert_eq(q_int(w.A, "SELECT count(*) FROM person WHERE unit = '4400101' AND _live"), 1);
    struct log_head h;
    cr_assert_eq(log_get(w.A->st, w.B->pk, &h), ERR_NOTFOUND);
    free(path);
    world_free(&w);
}

/* An unscoped bundle from the hub: A verifies every section but stores none of B's log, and
 * says so in the report, unless configured to keep everything; the root keeps it all. */
Test(scope, import_skips_outside)
{
    struct world w;
    world(&w, "skip");
    char *path = strdup(support_path(dir, "skip.cdht"));
    struct exchange_report rep = {0};
    cr_assert_eq(exchange_export(w.H, path, NULL, 0, &rep), ERR_OK);
    uint64_t before = support_total_leaves(w.A);
    memset(&rep, 0, sizeof rep);
    cr_assert_eq(exchange_import(w.A, path, &rep), ERR_OK, "%s", rep.msg);
    cr_assert_eq(rep.out_of_scope, 1);
    cr_assert_eq(rep.logs, 4); /* pass one read (and verified) all four sections */
    cr_assert_eq(q_int(w.A, "SELECT count(*) FROM person WHERE unit = '4400102'"), 0);
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
    cr_assert_eq(q_int(w.R, "SELECT count(*) FROM person WHERE _live"), 2);
    free(path);
    world_free(&w);
}

/* A replica that knows no certificate yet cannot judge: every section is an unknown signer's,
 * and is stored (held in quarantine until the certificates are reconciled). */
Test(scope, fresh_replica_keeps_unknown_signers)
{
    struct world w;
    world(&w, "fresh");
    struct replica *F = mk("fresh-F", "4400101", 0, w.R->pk);
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
    world_free(&w);
}
