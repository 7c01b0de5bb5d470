/*
 * The tests' trust deployment (deploy.h). It calls the same functions the cdht commands call.
 */
#include "deploy.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exchange.h"
#include "replica.h"
#include "store.h"
#include "support.h"

char *
deploy_suite_init(void)
{
    cr_assert_geq(sodium_init(), 0);
    unsetenv("CDHT_FAKE_NOW_MS");
    unsetenv("CDHT_TEST_UNCHECKED_WRITES");
    return support_tmpdir();
}

void
deploy_suite_fini(char *dir)
{
    support_rmrf(dir);
    free(dir);
    unsetenv("CDHT_TEST_UNCHECKED_WRITES");
    unsetenv("CDHT_FAKE_NOW_MS");
}

struct replica *
deploy_replica(const char *dir, const char *name, const char *unit, int root,
               const uint8_t *trust_root)
{
    char *home = support_path(dir, name);
    struct replica_init_opts o = {.unit = unit, .root = root, .trust_root = trust_root};
    err_code rc = replica_init(home, &o);
    cr_assert_eq(rc, ERR_OK, "replica_init %s: %s", home, err_str(rc));
    struct replica *r = support_reopen(home);
    free(home); /* support_path's buffer is malloc'd */
    return r;
}

void
deploy_unit_add(struct replica *r, const char *code, const char *parent, const char *kind)
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

err_code
deploy_cert(struct replica *r, const struct replica *subject, const char *role, const char *unit,
            uint64_t *index)
{
    struct replica_txn *t = NULL;
    cr_assert_eq(replica_txn_new(r, &t), ERR_OK);
    cr_assert_eq(replica_txn_cert(t, subject->pk, role, unit, NULL, NULL), ERR_OK);
    return replica_txn_commit(r, t, index);
}

err_code
deploy_revoke(struct replica *r, const struct replica *subject, int has_last, uint64_t last)
{
    struct replica_txn *t = NULL;
    cr_assert_eq(replica_txn_new(r, &t), ERR_OK);
    cr_assert_eq(replica_txn_revoke(t, subject->pk, has_last, last, "laptop stolen"), ERR_OK);
    return replica_txn_commit(r, t, NULL);
}

void
deploy_export(struct replica *from, const char *path)
{
    struct exchange_report rep = {0};
    cr_assert_eq(exchange_export(from, path, NULL, 0, &rep), ERR_OK, "%s", rep.msg);
}

void
deploy_sync(const char *dir, struct replica *from, struct replica *to)
{
    char *path = support_path(dir, "b.cdht"); /* malloc'd */
    struct exchange_report rep = {0};
    deploy_export(from, path);
    cr_assert_eq(exchange_import(to, path, &rep), ERR_OK, "%s", rep.msg);
    free(path);
}

uint64_t
deploy_q_int(struct replica *r, const char *sql)
{
    sqlite3_stmt *s = NULL;
    cr_assert_eq(sqlite3_prepare_v2(r->st->db, sql, -1, &s, NULL), SQLITE_OK, "%s", sql);
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW, "%s", sql);
    uint64_t v = (uint64_t)sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* dir/tag-who as a replica of unit pinning root's key. */
static struct replica *
deploy_member(const char *dir, const char *tag, const char *who, const char *unit,
              const struct replica *root)
{
    char n[64];
    snprintf(n, sizeof n, "%s-%s", tag, who);
    return deploy_replica(dir, n, unit, 0, root->pk);
}

void
deploy_world(struct deploy *w, const char *dir, const char *tag, unsigned writers)
{
    char n[64];
    cr_assert(writers == 1 || writers == 2, "writers %u", writers);
    snprintf(n, sizeof n, "%s-R", tag);
    w->R = deploy_replica(dir, n, "44", 1, NULL);
    w->H = deploy_member(dir, tag, "H", "44001", w->R);
    w->A = deploy_member(dir, tag, "A", "4400101", w->R);
    w->B = writers == 2 ? deploy_member(dir, tag, "B", "4400102", w->R) : NULL;
    deploy_unit_add(w->R, "44", NULL, "province");
    deploy_unit_add(w->R, "44001", "44", "commune");
    cr_assert_eq(deploy_cert(w->R, w->H, "hub", "44001", NULL), ERR_OK, "%s", w->R->denied);
    deploy_sync(dir, w->R, w->H);
    /* The hub adds its villages, then certifies their laptops. */
    deploy_unit_add(w->H, "4400101", "44001", "village");
    if (w->B != NULL) {
        deploy_unit_add(w->H, "4400102", "44001", "village");
    }
    cr_assert_eq(deploy_cert(w->H, w->A, "writer", "4400101", NULL), ERR_OK, "%s", w->H->denied);
    if (w->B != NULL) {
        cr_assert_eq(deploy_cert(w->H, w->B, "writer", "4400102", NULL), ERR_OK, "%s",
                     w->H->denied);
    }
    deploy_sync(dir, w->H, w->A);
    if (w->B != NULL) {
        deploy_sync(dir, w->H, w->B);
    }
}

void
deploy_world_free(struct deploy *w)
{
    replica_close(w->R);
    replica_close(w->H);
    replica_close(w->A);
    replica_close(w->B); /* NULL with one writer: a no-op */
    memset(w, 0, sizeof *w);
}
