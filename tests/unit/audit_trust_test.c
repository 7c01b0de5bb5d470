/*
 * The trust audit (node/audit.h): a clean deployment has no findings; an unauthorised leaf, a
 * revocation, a quarantine edited by hand, a clock ahead of the witnesses and a damaged
 * cosignature each show as their finding with the right log, index and unit; --unit limits
 * the findings; and a bundle is audited offline without changing the home replica. The
 * deployment is trust_test.c's: root R (province 44), hub H (commune 44001), writers A (village
 * 4400101) and B (village 4400102), exchanging whole bundles.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audit.h"
#include "deploy.h"
#include "exchange.h"
#include "hlc.h"
#include "log.h"
#include "replica.h"
#include "store.h"
#include "support.h"
#include "trust.h"
#include "witness.h"

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

TestSuite(audit_trust, .init = suite_init, .fini = suite_fini);

/* The deployment with both writers, and the root brought up to date. */
static void
world(struct deploy *w, const char *tag)
{
    deploy_world(w, dir, tag, 2);
    deploy_sync(dir, w->H, w->R);
}

/* Findings kept for the assertions (a test makes a handful). */
#define FOUND_MAX 32
struct found {
    struct audit_finding f[FOUND_MAX];
    unsigned n;
};

static void
collect(void *ctx, const struct audit_finding *f)
{
    struct found *fs = ctx;
    cr_assert_lt(fs->n, FOUND_MAX, "too many findings; last %s: %s", f->kind, f->reason);
    fs->f[fs->n++] = *f;
}

static unsigned
count_kind(const struct found *fs, const char *kind)
{
    unsigned n = 0;
    for (unsigned i = 0; i < fs->n; i++) {
        n += strcmp(fs->f[i].kind, kind) == 0;
    }
    return n;
}

static const struct audit_finding *
find_kind(const struct found *fs, const char *kind)
{
    for (unsigned i = 0; i < fs->n; i++) {
        if (strcmp(fs->f[i].kind, kind) == 0) {
            return &fs->f[i];
        }
    }
    cr_assert_fail("no %s finding among %u", kind, fs->n);
    return NULL;
}

static void
audit_flags(struct replica *r, unsigned flags, const char *unit, struct found *fs,
            struct audit_summary *sum)
{
    struct audit_opts o = {.flags = flags, .unit = unit};
    memset(fs, 0, sizeof *fs);
    cr_assert_eq(audit_run_opts(r->st, &o, collect, fs, sum), ERR_OK);
    cr_assert_eq(sum->findings, fs->n);
}

static void
audit(struct replica *r, const char *unit, struct found *fs, struct audit_summary *sum)
{
    audit_flags(r, AUDIT_STATE | AUDIT_TRUST, unit, fs, sum);
}

static uint64_t
log_size(struct replica *r, const uint8_t key[KEY_PUBLIC_SIZE])
{
    struct log_head h;
    cr_assert_eq(log_get(r->st, key, &h), ERR_OK);
    return h.size;
}

/* Runs one statement on the replica's database through a connection of its own, as the
 * sqlite3 shell would. */
static void
shell(struct replica *r, const char *sql, const uint8_t *key)
{
    sqlite3 *db = NULL;
    char *path = support_path(r->home, REPLICA_DB_FILE);
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    free(path);
    sqlite3_stmt *s = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
    if (key != NULL) {
        sqlite3_bind_blob(s, 1, key, KEY_PUBLIC_SIZE, SQLITE_STATIC);
    }
    cr_assert_eq(sqlite3_step(s), SQLITE_DONE, "%s", sqlite3_errmsg(db));
    cr_assert_gt(sqlite3_changes(db), 0, "%s changed nothing", sql);
    sqlite3_finalize(s);
    sqlite3_close(db);
}

/* A deployment where everyone writes what they may audits clean everywhere, after the full
 * independent re-evaluation, and says it is not in open mode. */
Test(audit_trust, clean_deployment)
{
    struct deploy w;
    world(&w, "clean");
    char id[17];
    cr_assert_eq(support_person_add(w.A, "An", 1990, "4400101", id), ERR_OK);
    cr_assert_eq(support_person_add(w.B, "Binh", 1991, "4400102", id), ERR_OK);
    deploy_sync(dir, w.A, w.H);
    deploy_sync(dir, w.B, w.H);
    deploy_sync(dir, w.H, w.R);
    struct found fs;
    struct audit_summary sum;
    struct replica *all[] = {w.R, w.H, w.A, w.B};
    for (unsigned i = 0; i < 4; i++) {
        audit(all[i], NULL, &fs, &sum);
        cr_assert_eq(fs.n, 0, "replica %u: %s: %s", i, fs.n ? fs.f[0].kind : "",
                     fs.n ? fs.f[0].reason : "");
        cr_assert_eq(sum.open_mode, 0);
        cr_assert_eq(sum.reevaluated, 1);
        cr_assert_eq(sum.held, 0);
    }
    deploy_world_free(&w);
}

/* With no root pinned the audit says so (not a finding) and authorises nothing. */
Test(audit_trust, open_mode_is_said)
{
    struct replica *O = deploy_replica(dir, "open-O", "44", 0, NULL);
    char id[17];
    cr_assert_eq(support_person_add(O, "An", 1990, "4400101", id), ERR_OK);
    struct found fs;
    struct audit_summary sum;
    audit(O, NULL, &fs, &sum);
    cr_assert_eq(fs.n, 0);
    cr_assert_eq(sum.open_mode, 1);
    replica_close(O);
}

/* A modified laptop writes another village's person: the hub holds it, and the audit reports it
 * as outside-unit on A's log at its index, naming the unit; --unit keeps it for either village
 * and drops it for an unrelated code. */
Test(audit_trust, unauthorised_write_is_outside_unit)
{
    struct deploy w;
    world(&w, "unauth");
    char id[17];
    cr_assert_eq(support_person_add(w.A, "An", 1990, "4400101", id), ERR_OK);
    uint64_t bad = log_size(w.A, w.A->pk);
    setenv("CDHT_TEST_UNCHECKED_WRITES", "1", 1);
    cr_assert_eq(support_person_add(w.A, "Binh", 1991, "4400102", id), ERR_OK);
    unsetenv("CDHT_TEST_UNCHECKED_WRITES");
    deploy_sync(dir, w.A, w.H);
    struct found fs;
    struct audit_summary sum;
    audit(w.H, NULL, &fs, &sum);
    cr_assert_eq(fs.n, 1, "%u findings, first %s: %s", fs.n, fs.f[0].kind, fs.f[0].reason);
    const struct audit_finding *f = find_kind(&fs, "outside-unit");
    cr_assert_eq(memcmp(f->key, w.A->pk, KEY_PUBLIC_SIZE), 0);
    cr_assert_eq(f->index, bad);
    cr_assert(f->has_index);
    cr_assert_str_eq(f->unit, "4400102");
    cr_assert_eq(sum.held, 1);
    audit(w.H, "4400102", &fs, &sum); /* the leaf names a unit inside it */
    cr_assert_eq(count_kind(&fs, "outside-unit"), 1);
    audit(w.H, "4400101", &fs, &sum); /* A's grant lies inside it */
    cr_assert_eq(count_kind(&fs, "outside-unit"), 1);
    audit(w.H, "44", &fs, &sum); /* A's grant lies inside the province */
    cr_assert_eq(count_kind(&fs, "outside-unit"), 1);
    audit(w.H, "45", &fs, &sum); /* another province: nothing of A, nothing named inside */
    cr_assert_eq(fs.n, 0);
    deploy_world_free(&w);
}

/* A revocation: the withdrawn leaves show as revoked, and the device once as revoked-device at
 * its last valid index with the issuer's words. */
Test(audit_trust, revocation_reported)
{
    struct deploy w;
    world(&w, "revoke");
    char id[17];
    cr_assert_eq(support_person_add(w.A, "An", 1990, "4400101", id), ERR_OK);
    uint64_t last = log_size(w.A, w.A->pk) - 1;
    cr_assert_eq(support_person_add(w.A, "Fake", 1990, "4400101", id), ERR_OK);
    deploy_sync(dir, w.A, w.H);
    struct replica_txn *t = NULL;
    cr_assert_eq(replica_txn_new(w.H, &t), ERR_OK);
    cr_assert_eq(replica_txn_revoke(t, w.A->pk, 1, last, "laptop stolen"), ERR_OK);
    cr_assert_eq(replica_txn_commit(w.H, t, NULL), ERR_OK);
    struct found fs;
    struct audit_summary sum;
    audit(w.H, NULL, &fs, &sum);
    cr_assert_eq(count_kind(&fs, "revoked"), 1);
    cr_assert_eq(count_kind(&fs, "revoked-device"), 1);
    cr_assert_eq(fs.n, 2, "first: %s: %s", fs.f[0].kind, fs.f[0].reason);
    const struct audit_finding *f = find_kind(&fs, "revoked");
    cr_assert_eq(memcmp(f->key, w.A->pk, KEY_PUBLIC_SIZE), 0);
    cr_assert_eq(f->index, last + 1);
    cr_assert_str_eq(f->unit, "4400101");
    f = find_kind(&fs, "revoked-device");
    cr_assert_eq(memcmp(f->key, w.A->pk, KEY_PUBLIC_SIZE), 0);
    cr_assert_eq(f->index, last);
    cr_assert_str_eq(f->unit, "4400101");
    cr_assert(strstr(f->reason, "laptop stolen") != NULL, "%s", f->reason);
    deploy_world_free(&w);
}

/* Someone empties the quarantine with the sqlite3 shell: the held leaf now looks applied, and
 * the independent re-evaluation says it must not be. */
Test(audit_trust, emptied_quarantine_caught)
{
    struct deploy w;
    world(&w, "tamper");
    char id[17];
    uint64_t bad = log_size(w.A, w.A->pk);
    setenv("CDHT_TEST_UNCHECKED_WRITES", "1", 1);
    cr_assert_eq(support_person_add(w.A, "Binh", 1991, "4400102", id), ERR_OK);
    unsetenv("CDHT_TEST_UNCHECKED_WRITES");
    deploy_sync(dir, w.A, w.H);
    shell(w.H, "DELETE FROM quarantine", NULL);
    struct found fs;
    struct audit_summary sum;
    const struct audit_finding *f = NULL;
    /* Caught by the replay, and by the evaluation in memory alone (--logs-only). */
    static const unsigned modes[] = {AUDIT_STATE | AUDIT_TRUST, AUDIT_TRUST};
    for (unsigned m = 0; m < 2; m++) {
        audit_flags(w.H, modes[m], NULL, &fs, &sum);
        cr_assert_eq(sum.held, 0);
        cr_assert_eq(sum.reevaluated, 1);
        f = find_kind(&fs, "unauthorised-applied");
        cr_assert_eq(memcmp(f->key, w.A->pk, KEY_PUBLIC_SIZE), 0);
        cr_assert_eq(f->index, bad);
        cr_assert(strstr(f->reason, "outside-unit") != NULL, "%s", f->reason);
    }
    /* Holding a leaf that counts is caught the other way round. */
    uint64_t good = log_size(w.A, w.A->pk);
    cr_assert_eq(support_person_add(w.A, "Cuong", 1992, "4400101", id), ERR_OK);
    deploy_sync(dir, w.A, w.H);
    shell(w.H,
          "INSERT INTO quarantine(id, reason) SELECT (id << 40) | (size - 1), 7 FROM log "
          "WHERE key = ?1",
          w.A->pk);
    for (unsigned m = 0; m < 2; m++) {
        audit_flags(w.H, modes[m], NULL, &fs, &sum);
        f = find_kind(&fs, "authorised-held");
        cr_assert_eq(f->index, good);
    }
    deploy_world_free(&w);
}

/* A leaf dated two hours ahead, co-signed by the hub at its true time, is a clock-skew-witness
 * finding; a cosignature whose signature is damaged in the database is bad-cosignature. */
Test(audit_trust, witness_skew_and_bad_cosignature)
{
    struct deploy w;
    world(&w, "skew");
    char id[17], now[32];
    snprintf(now, sizeof now, "%lld", (long long)(hlc_wall_ms() + 2 * 3600 * 1000));
    uint64_t ahead = log_size(w.A, w.A->pk);
    setenv("CDHT_FAKE_NOW_MS", now, 1);
    cr_assert_eq(support_person_add(w.A, "An", 1990, "4400101", id), ERR_OK);
    unsetenv("CDHT_FAKE_NOW_MS");
    deploy_sync(dir, w.A, w.H);
    struct witness_report wr = {0};
    cr_assert_eq(witness_cosign(w.H, w.A->pk, &wr), ERR_OK);
    cr_assert_eq(wr.cosigned, 1);
    struct found fs;
    struct audit_summary sum;
    audit(w.H, NULL, &fs, &sum);
    cr_assert_eq(fs.n, 1, "first: %s: %s", fs.f[0].kind, fs.f[0].reason);
    const struct audit_finding *f = find_kind(&fs, "clock-skew-witness");
    cr_assert_eq(memcmp(f->key, w.A->pk, KEY_PUBLIC_SIZE), 0);
    cr_assert_eq(f->index, ahead);
    cr_assert_geq(sum.cosigs, 1);
    cr_assert_eq(sum.skewed, 1);
    shell(w.H,
          "UPDATE cosig SET sig = zeroblob(64) WHERE log_id = (SELECT id FROM log WHERE key = "
          "?1)",
          w.A->pk);
    audit(w.H, NULL, &fs, &sum);
    cr_assert_eq(count_kind(&fs, "bad-cosignature"), 1);
    deploy_world_free(&w);
}

static unsigned
dir_entries(const char *path)
{
    DIR *d = opendir(path);
    cr_assert_not_null(d);
    unsigned n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    }
    closedir(d);
    return n;
}

/* --bundle: A's bundle, holding an unauthorised leaf, is audited against the hub's root without
 * importing it: the finding names the leaf; the hub's tables and database file are unchanged;
 * the scratch directory is gone. A bundle that import refuses is one finding. */
Test(audit_trust, bundle_audited_offline)
{
    struct deploy w;
    world(&w, "bundle");
    char id[17];
    uint64_t bad = log_size(w.A, w.A->pk);
    setenv("CDHT_TEST_UNCHECKED_WRITES", "1", 1);
    cr_assert_eq(support_person_add(w.A, "Binh", 1991, "4400102", id), ERR_OK);
    unsetenv("CDHT_TEST_UNCHECKED_WRITES");
    char *path = (support_path(dir, "a.cdht"));
    deploy_export(w.A, path);
    char *tmp = (support_path(dir, "tmp"));
    cr_assert_eq(mkdir(tmp, 0700), 0);
    setenv("TMPDIR", tmp, 1);
    char before[65], after[65];
    support_state_hex(w.H, before);
    uint64_t leaves = support_total_leaves(w.H);
    size_t db_len = 0, db_len2 = 0;
    char *db_path = support_path(w.H->home, REPLICA_DB_FILE);
    uint8_t *db = support_slurp(db_path, &db_len);
    uint8_t root[KEY_PUBLIC_SIZE];
    int pinned = 0;
    cr_assert_eq(trust_root(w.H->st, root, &pinned), ERR_OK);
    cr_assert(pinned);
    struct found fs = {0};
    struct audit_summary sum;
    struct audit_opts o = {.flags = AUDIT_STATE | AUDIT_TRUST};
    cr_assert_eq(audit_bundle(path, root, &o, collect, &fs, &sum), ERR_OK);
    cr_assert_eq(fs.n, 1, "first: %s: %s", fs.f[0].kind, fs.f[0].reason);
    cr_assert_eq(memcmp(fs.f[0].key, w.A->pk, KEY_PUBLIC_SIZE), 0);
    cr_assert_str_eq(fs.f[0].kind, "outside-unit");
    cr_assert_eq(fs.f[0].index, bad);
    cr_assert_eq(sum.logs, 3, "R, H and A; not the scratch replica's own");
    cr_assert_eq(sum.held, 1);
    support_state_hex(w.H, after);
    cr_assert_str_eq(after, before);
    cr_assert_eq(support_total_leaves(w.H), leaves);
    uint8_t *db2 = support_slurp(db_path, &db_len2);
    cr_assert(db_len == db_len2 && memcmp(db, db2, db_len) == 0, "the home's file changed");
    cr_assert_eq(dir_entries(tmp), 0, "the scratch replica was left behind");
    /* In open mode the same bundle authorises nothing and holds nothing. */
    memset(&fs, 0, sizeof fs);
    cr_assert_eq(audit_bundle(path, NULL, &o, collect, &fs, &sum), ERR_OK);
    cr_assert_eq(fs.n, 0);
    cr_assert_eq(sum.open_mode, 1);
    /* A damaged bundle is refused, as one finding. */
    size_t blen = 0;
    uint8_t *b = support_slurp(path, &blen);
    b[blen / 2] ^= 0x55;
    support_spit(path, b, blen);
    memset(&fs, 0, sizeof fs);
    cr_assert_eq(audit_bundle(path, root, &o, collect, &fs, &sum), ERR_OK);
    cr_assert_eq(fs.n, 1);
    cr_assert_str_eq(fs.f[0].kind, "bundle-refused");
    cr_assert_eq(dir_entries(tmp), 0);
    char *missing = support_path(dir, "missing.cdht");
    cr_assert_eq(audit_bundle(missing, root, &o, collect, &fs, &sum), ERR_NOTFOUND);
    free(missing);
    free(db_path);
    unsetenv("TMPDIR");
    free(b);
    free(db);
    free(db2);
    free(tmp);
    free(path);
    deploy_world_free(&w);
}
