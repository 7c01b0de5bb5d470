/*
 * Convergence property: replicas doing random adds, edits and deletes of people, and adds,
 * moves and successions of units, with coarse and skewed
 * wall clocks (so clocks tie and run ahead), exchange bundles in a random order with
 * duplicates, stale bundles and gaps; after a final full exchange every replica, and a fresh
 * one fed the same bundles in reverse, has the same `cdht hash`, and every audit is clean.
 * Seeded: CDHT_SIM_SEED=N replays one schedule; CDHT_SIM_SCHEDULES sets how many run.
 *
 * The trust variant (sim/converge_trust) pins replica 0 as the root and adds certificates,
 * revocations, hub moves of the units tree and unauthorised writers (a modified cdht that skips
 * its local check) to the schedule: every replica, whatever order the data, certificates and
 * revocations reached it in, ends with the same hash and the same quarantine, which the audit's
 * independent re-evaluation gives again.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "exchange.h"
#include "replica.h"
#include "scope.h"
#include "store.h"
#include "support.h"

#define SIM_REPLICAS 5
#define SIM_STEPS 40
#define SIM_BUNDLES_MAX 64
#define SIM_IDS_MAX 64
#define SIM_SCHEDULES_DEFAULT 200
#define SIM_TRUST_SCHEDULES_DEFAULT 60

/* xorshift64*: small, seedable, the same everywhere. */
static uint64_t
sim_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static unsigned
sim_pick(uint64_t *s, unsigned n)
{
    return (unsigned)(sim_rand(s) % n);
}

struct sim {
    uint64_t seed, rng;
    int trust; /* replica 0 is the pinned root of all */
    char *dir;
    char *home[SIM_REPLICAS + 1];
    struct replica *r[SIM_REPLICAS + 1];
    char ids[SIM_IDS_MAX][17];
    unsigned n_ids;
    char *bundles[SIM_BUNDLES_MAX];
    unsigned n_bundles;
};

static void
sim_clock(struct sim *s)
{
    /* A coarse clock (1 s steps) so concurrent commits share milliseconds, with a third of
     * the replicas up to 20 minutes ahead: ties and skew on every schedule. */
    char buf[32];
    long long base = 1767225600000ll + (long long)sim_pick(&s->rng, 30) * 1000;
    if (sim_pick(&s->rng, 3) == 0) {
        base += (long long)sim_pick(&s->rng, 20) * 60000;
    }
    snprintf(buf, sizeof buf, "%lld", base);
    setenv("CDHT_FAKE_NOW_MS", buf, 1);
}

static void
sim_step(struct sim *s)
{
    unsigned i = sim_pick(&s->rng, SIM_REPLICAS);
    struct replica *r = s->r[i];
    static const char *const names[] = {"Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường",
                                        "Phạm Thị Dung", "Hoàng Văn Em"};
    err_code rc = ERR_OK;
    sim_clock(s);
    /* Under a pinned root a modified cdht writes what it may not, now and then. */
    if (s->trust && sim_pick(&s->rng, 4) == 0) {
        setenv("CDHT_TEST_UNCHECKED_WRITES", "1", 1);
    } else {
        unsetenv("CDHT_TEST_UNCHECKED_WRITES");
    }
    static const char *const villages[] = {"V1", "V2"};
    switch (sim_pick(&s->rng, s->trust ? 9 : 7)) {
    case 0:
    case 1:
        if (s->n_ids < SIM_IDS_MAX) {
            rc = support_person_add(r, names[sim_pick(&s->rng, 5)], 1950 + sim_pick(&s->rng, 50),
                                    s->trust ? villages[sim_pick(&s->rng, 2)] : "V1",
                                    s->ids[s->n_ids]);
            if (rc == ERR_OK) {
                s->n_ids++;
            }
        }
        break;
    case 2:
        if (s->n_ids > 0) {
            /* The id may not have reached this replica yet: the write must still merge. */
            rc = support_person_set_name(r, s->ids[sim_pick(&s->rng, s->n_ids)],
                                         names[sim_pick(&s->rng, 5)]);
        }
        break;
    case 3:
        if (s->n_ids > 0) {
            rc = support_person_rm(r, s->ids[sim_pick(&s->rng, s->n_ids)]);
        }
        break;
    case 4:
        if (s->n_bundles < SIM_BUNDLES_MAX) {
            /* Export, sometimes only what another replica lacks (which may leave a gap for a
             * third replica: its import must refuse cleanly). */
            char name[32];
            snprintf(name, sizeof name, "b%u", s->n_bundles);
            char *path = support_path(s->dir, name);
            struct exchange_report rep;
            struct heads_entry *h = NULL;
            size_t hn = 0;
            if (sim_pick(&s->rng, 2) == 0) {
                rc = exchange_heads(s->r[sim_pick(&s->rng, SIM_REPLICAS)], &h, &hn);
                cr_assert_eq(rc, ERR_OK, "seed %llu", (unsigned long long)s->seed);
            }
            rc = exchange_export(r, path, h, hn, &rep);
            free(h);
            cr_assert(rc == ERR_OK, "seed %llu: export: %s", (unsigned long long)s->seed, rep.msg);
            s->bundles[s->n_bundles++] = path;
        }
        break;
    case 5:
        if (s->n_bundles > 0) {
            struct exchange_report rep;
            char before[65], after[65];
            support_state_hex(r, before);
            uint64_t leaves = support_total_leaves(r);
            rc = exchange_import(r, s->bundles[sim_pick(&s->rng, s->n_bundles)], &rep);
            if (rc != ERR_OK) {
                /* Only a gap is a legitimate refusal here; it must change nothing. */
                cr_assert_eq(rc, ERR_INVAL, "seed %llu: import: %s (%s)",
                             (unsigned long long)s->seed, err_str(rc), rep.msg);
                support_state_hex(r, after);
                cr_assert_str_eq(before, after, "seed %llu", (unsigned long long)s->seed);
                cr_assert_eq(leaves, support_total_leaves(r));
                rc = ERR_OK;
            }
        }
        break;
    case 6: {
        /* The units tree: concurrent adds, moves and successions of a few codes, written as
         * the unit commands write them (one leaf), so that those tables converge too. */
        static const char *const codes[] = {"U0", "U1", "U2", "U3"};
        static const char *const tcodes[] = {"V1", "V2", "C1", "C2"};
        static const char *const dates[] = {"2025-01-01", "2025-07-01", "2026-01-01"};
        const char *code = (s->trust ? tcodes : codes)[sim_pick(&s->rng, 4)];
        const char *other = (s->trust ? tcodes : codes)[sim_pick(&s->rng, 4)];
        struct replica_txn *t = NULL;
        if ((rc = replica_txn_new(r, &t)) != ERR_OK) {
            break;
        }
        if (sim_pick(&s->rng, 2) == 0) {
            struct replica_cell cells[] = {
                {.col = "parent", .type = SCHEMA_TEXT, .s = other},
                {.col = "kind", .type = SCHEMA_TEXT, .s = "village"},
                {.col = "name", .type = SCHEMA_TEXT, .s = "Thôn"},
                {.col = "disadvantaged", .type = SCHEMA_INT, .i = sim_pick(&s->rng, 2)},
            };
            rc = replica_txn_put(t, "unit", code, 1, cells, 4, 0);
        } else {
            struct replica_cell cells[] = {
                {.col = "new_code", .type = SCHEMA_TEXT, .s = other},
                {.col = "effective", .type = SCHEMA_TEXT, .s = dates[sim_pick(&s->rng, 3)]},
            };
            rc = replica_txn_put(t, "unit_succession", code, 1, cells, 2, 0);
        }
        if (rc == ERR_OK) {
            rc = replica_txn_commit(r, t, NULL);
        } else {
            replica_txn_free(t);
        }
        break;
    }
    case 7: {
        /* A certificate: writer for a village, or hub for a commune, to a random replica; most
         * from the root, the rest from whoever (a hub's count, a writer's are held). */
        if (sim_pick(&s->rng, 3) != 0) {
            r = s->r[0];
        }
        unsigned sub = 1 + sim_pick(&s->rng, SIM_REPLICAS - 1);
        int hub = sim_pick(&s->rng, 3) == 0;
        struct replica_txn *t = NULL;
        if ((rc = replica_txn_new(r, &t)) != ERR_OK) {
            break;
        }
        rc = replica_txn_cert(t, s->r[sub]->pk, hub ? "hub" : "writer",
                              hub ? (sim_pick(&s->rng, 2) ? "C1" : "C2")
                                  : villages[sim_pick(&s->rng, 2)],
                              NULL, NULL);
        rc = rc == ERR_OK ? replica_txn_commit(r, t, NULL) : (replica_txn_free(t), rc);
        break;
    }
    case 8: {
        /* A revocation of a random replica after a random index (or of all its leaves). */
        if (sim_pick(&s->rng, 2) != 0) {
            r = s->r[0];
        }
        unsigned sub = 1 + sim_pick(&s->rng, SIM_REPLICAS - 1);
        struct replica_txn *t = NULL;
        if ((rc = replica_txn_new(r, &t)) != ERR_OK) {
            break;
        }
        unsigned last = sim_pick(&s->rng, 6);
        rc = replica_txn_revoke(t, s->r[sub]->pk, last != 5, last, "sim");
        rc = rc == ERR_OK ? replica_txn_commit(r, t, NULL) : (replica_txn_free(t), rc);
        break;
    }
    }
    unsetenv("CDHT_TEST_UNCHECKED_WRITES");
    if (s->trust && rc == ERR_DENIED) {
        rc = ERR_OK; /* refused locally, nothing written: the other replicas never see it */
    }
    cr_assert_eq(rc, ERR_OK, "seed %llu: step failed: %s", (unsigned long long)s->seed,
                 err_str(rc));
}

/* The quarantine as "log key index reason" lines, for comparing replicas. */
static void
sim_quarantine(struct replica *r, char *out, size_t cap)
{
    sqlite3_stmt *q = NULL;
    size_t n = 0;
    out[0] = '\0';
    cr_assert_eq(sqlite3_prepare_v2(r->st->db,
                                    "SELECT hex(l.key), q.id & 1099511627775, q.reason FROM "
                                    "quarantine q JOIN log l ON l.id = (q.id >> 40) ORDER BY 1, 2",
                                    -1, &q, NULL),
                 SQLITE_OK);
    while (sqlite3_step(q) == SQLITE_ROW) {
        int w = snprintf(out + n, cap - n, "%s %lld %d\n", sqlite3_column_text(q, 0),
                         sqlite3_column_int64(q, 1), sqlite3_column_int(q, 2));
        cr_assert(w > 0 && (size_t)w < cap - n);
        n += (size_t)w;
    }
    sqlite3_finalize(q);
}

/* The trust variant's starting point: replica 0 is the root; it draws P > C1, C2 > V1, V2. */
static struct replica *
sim_replica(struct sim *s, int i)
{
    if (!s->trust) {
        return support_replica(s->home[i], "V1");
    }
    struct replica_init_opts o = {
        .unit = i == 0 ? "P" : "V1", .root = i == 0, .trust_root = i == 0 ? NULL : s->r[0]->pk};
    cr_assert_eq(replica_init(s->home[i], &o), ERR_OK);
    struct replica *r = support_reopen(s->home[i]);
    /* Every replica keeps every log (node/scope.h, "unless configured"): the property checked
     * here is that replicas holding the same leaves agree, not which logs each may hold. */
    cr_assert_eq(store_meta_put(r->st, SCOPE_META, SCOPE_META_ALL, strlen(SCOPE_META_ALL)), ERR_OK);
    if (i == 0) {
        static const char *const tree[][2] = {
            {"P", NULL}, {"C1", "P"}, {"C2", "P"}, {"V1", "C1"}, {"V2", "C2"}};
        for (unsigned k = 0; k < 5; k++) {
            struct replica_txn *t = NULL;
            struct replica_cell cells[] = {
                {.col = "parent", .type = SCHEMA_TEXT, .s = tree[k][1], .is_null = !tree[k][1]},
                {.col = "kind", .type = SCHEMA_TEXT, .s = "unit"},
            };
            cr_assert_eq(replica_txn_new(r, &t), ERR_OK);
            cr_assert_eq(replica_txn_put(t, "unit", tree[k][0], 1, cells, 2, 0), ERR_OK);
            cr_assert_eq(replica_txn_commit(r, t, NULL), ERR_OK);
        }
    }
    return r;
}

static void
sim_no_finding(void *ctx, const struct audit_finding *f)
{
    cr_assert_fail("seed %llu: audit finding %s: %s", (unsigned long long)*(uint64_t *)ctx, f->kind,
                   f->reason);
}

static void
sim_run(uint64_t seed, int trust)
{
    struct sim s;
    memset(&s, 0, sizeof s);
    s.seed = seed;
    s.trust = trust;
    s.rng = seed * 0x9e3779b97f4a7c15ull + 1;
    s.dir = support_tmpdir();
    for (int i = 0; i <= SIM_REPLICAS; i++) {
        char name[16];
        snprintf(name, sizeof name, "r%d", i);
        s.home[i] = support_path(s.dir, name);
        sim_clock(&s);
        s.r[i] = sim_replica(&s, i);
    }
    for (int k = 0; k < SIM_STEPS; k++) {
        sim_step(&s);
    }
    /* Final exchange: everyone's full log to everyone (and to the late replica, in reverse
     * order), so all hold the same leaves. */
    setenv("CDHT_FAKE_NOW_MS", "1767229200000", 1);
    char *full[SIM_REPLICAS];
    for (int i = 0; i < SIM_REPLICAS; i++) {
        char name[16];
        struct exchange_report rep;
        snprintf(name, sizeof name, "full%d", i);
        full[i] = support_path(s.dir, name);
        cr_assert_eq(exchange_export(s.r[i], full[i], NULL, 0, &rep), ERR_OK);
    }
    for (int i = 0; i <= SIM_REPLICAS; i++) {
        for (int j = SIM_REPLICAS - 1; j >= 0; j--) {
            struct exchange_report rep;
            err_code rc =
                exchange_import(s.r[i], full[i == SIM_REPLICAS ? j : (i + j) % SIM_REPLICAS], &rep);
            cr_assert_eq(rc, ERR_OK, "seed %llu: final import: %s", (unsigned long long)seed,
                         rep.msg);
        }
    }
    char want[65], got[65];
    support_state_hex(s.r[0], want);
    uint64_t leaves = support_total_leaves(s.r[0]);
    for (int i = 1; i <= SIM_REPLICAS; i++) {
        support_state_hex(s.r[i], got);
        cr_assert_str_eq(got, want, "seed %llu: replica %d diverged", (unsigned long long)seed, i);
        cr_assert_eq(support_total_leaves(s.r[i]), leaves, "seed %llu", (unsigned long long)seed);
    }
    static char qwant[1 << 16], qgot[1 << 16];
    sim_quarantine(s.r[0], qwant, sizeof qwant);
    for (int i = 1; i <= SIM_REPLICAS; i++) {
        sim_quarantine(s.r[i], qgot, sizeof qgot);
        cr_assert_str_eq(qgot, qwant, "seed %llu: replica %d holds another quarantine",
                         (unsigned long long)seed, i);
    }
    for (int i = 0; i <= SIM_REPLICAS; i++) {
        struct audit_summary sum;
        /* AUDIT_STATE in the trust variant too: the audit's independent re-evaluation (every
         * leaf replayed through admission) must give this replica's tables and quarantine. */
        cr_assert_eq(audit_run(s.r[i]->st, AUDIT_STATE, sim_no_finding, &s.seed, &sum), ERR_OK);
        cr_assert_eq(sum.leaves, leaves);
        replica_close(s.r[i]);
        free(s.home[i]);
    }
    for (int i = 0; i < SIM_REPLICAS; i++) {
        free(full[i]);
    }
    for (unsigned i = 0; i < s.n_bundles; i++) {
        free(s.bundles[i]);
    }
    support_rmrf(s.dir);
    free(s.dir);
    unsetenv("CDHT_FAKE_NOW_MS");
}

Test(sim, converge, .timeout = 600)
{
    const char *one = getenv("CDHT_SIM_SEED");
    if (one != NULL) {
        sim_run(strtoull(one, NULL, 10), 0);
        return;
    }
    const char *n_s = getenv("CDHT_SIM_SCHEDULES");
    unsigned n = n_s ? (unsigned)strtoul(n_s, NULL, 10) : SIM_SCHEDULES_DEFAULT;
    for (unsigned seed = 1; seed <= n; seed++) {
        sim_run(seed, 0);
    }
    cr_log_info("%u schedules converged", n);
}

Test(sim, converge_trust, .timeout = 600)
{
    const char *one = getenv("CDHT_SIM_SEED");
    if (one != NULL) {
        sim_run(strtoull(one, NULL, 10), 1);
        return;
    }
    const char *n_s = getenv("CDHT_SIM_SCHEDULES");
    unsigned n = n_s ? (unsigned)strtoul(n_s, NULL, 10) : SIM_TRUST_SCHEDULES_DEFAULT;
    for (unsigned seed = 1; seed <= n; seed++) {
        sim_run(seed, 1);
    }
    cr_log_info("%u trust schedules converged", n);
}
