/*
 * Aggregates above the raw-data ceiling (node/aggregate.c, report.c's aggregate mode, scope.c's
 * ceiling). A small open-mode replica: province 44 with communes 44001 and 44002, one village
 * each, the seed framework, four people of 44001 (two approved, one reviewed, one draft; one
 * learning family of the two approved adults, recognised) and one approved person of 44002.
 * Publishing 44001's aggregates and reporting the province from them gives the commune's own
 * numbers; publishing again writes nothing; a unit above the ceiling is refused; the ceiling
 * setting switches the province's report to aggregates by itself; an ancestor's row is not
 * counted twice.
 */
#include <criterion/criterion.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate.h"
#include "log.h"
#include "replica.h"
#include "report.h"
#include "scope.h"
#include "seed.h"
#include "store.h"
#include "support.h"

static void
suite_init(void)
{
    cr_assert_geq(sodium_init(), 0);
    unsetenv("CDHT_FAKE_NOW_MS");
}

TestSuite(aggregate, .init = suite_init);

#define TXT(c, v)                                                                                  \
    {                                                                                              \
        .col = (c), .type = SCHEMA_TEXT, .s = (v), .is_null = (v) == NULL                          \
    }
#define INT(c, v)                                                                                  \
    {                                                                                              \
        .col = (c), .type = SCHEMA_INT, .i = (v)                                                   \
    }
#define PUT(t, table, pk, cells)                                                                   \
    cr_assert_eq(                                                                                  \
        replica_txn_put((t), (table), (pk), 1, (cells), sizeof(cells) / sizeof(cells)[0], 0),      \
        ERR_OK, "%s %s", (table), (pk))

static void
unit_put(struct replica_txn *t, const char *code, const char *parent, const char *kind)
{
    struct replica_cell cells[] = {TXT("parent", parent), TXT("kind", kind), TXT("name", code)};
    PUT(t, "unit", code, cells);
}

/* A person born in birth, registered for 2026 in unit with group grp and digital level, taken
 * to step: 0 draft, 1 reviewed, 2 approved. */
static void
year_put(struct replica_txn *t, const char *pid, int birth, const char *unit, const char *grp,
         const char *digital, int step)
{
    char pk[32];
    snprintf(pk, sizeof pk, "2026:%s", pid);
    struct replica_cell pc[] = {TXT("name", "Nguyễn Văn An"), INT("birth_year", birth),
                                TXT("gender", "male"), TXT("unit", unit)};
    PUT(t, "person", pid, pc);
    struct replica_cell ac[] = {
        TXT("person", pid),
        INT("year", 2026),
        TXT("unit", unit),
        TXT("target_group", grp),
        TXT("framework", "*/244-2022/1"),
        TXT("digital", digital),
        INT("round", 1),
        TXT("stage", step ? "self_submitted" : "draft"),
    };
    PUT(t, "assessment", pk, ac);
    if (step >= 1) {
        struct replica_cell rc[] = {TXT("unit", unit), INT("round", 1), TXT("outcome", "reviewed")};
        PUT(t, "review", pk, rc);
    }
    if (step >= 2) {
        struct replica_cell pr[] = {TXT("unit", unit), INT("round", 1), TXT("outcome", "approved")};
        PUT(t, "approval", pk, pr);
    }
}

static void
dataset(struct replica *r)
{
    struct replica_txn *t = NULL;
    cr_assert_eq(replica_txn_new(r, &t), ERR_OK);
    unit_put(t, "44", NULL, "province");
    unit_put(t, "44001", "44", "commune");
    unit_put(t, "44002", "44", "commune");
    unit_put(t, "V1", "44001", "village");
    unit_put(t, "V2", "44002", "village");
    cr_assert_eq(seed_framework_put(t, "*"), ERR_OK);
    year_put(t, "p1", 1980, "V1", "farmer", "basic", 2);
    year_put(t, "p2", 1984, "V1", "farmer", "proficient", 2);
    year_put(t, "p3", 1990, "V1", "worker", NULL, 1);
    year_put(t, "p4", 1995, "V1", "worker", NULL, 0);
    year_put(t, "p5", 1970, "V2", "farmer", "basic", 2);
    struct replica_cell fc[] = {TXT("unit", "V1"), TXT("kind", "family"), TXT("name", "F")};
    PUT(t, "collective", "F1", fc);
    const char *members[] = {"p1:F1", "p2:F1"};
    for (int i = 0; i < 2; i++) {
        char pid[4] = {members[i][0], members[i][1], '\0', '\0'};
        struct replica_cell mc[] = {TXT("unit", "V1"), TXT("collective", "F1"), TXT("person", pid),
                                    TXT("kind", "family")};
        PUT(t, "collective_member", members[i], mc);
    }
    struct replica_cell gc[] = {TXT("unit", "V1"), TXT("collective", "F1"), INT("year", 2026),
                                TXT("outcome", "approved")};
    PUT(t, "collective_recognition", "2026:F1", gc);
    cr_assert_eq(replica_txn_commit(r, t, NULL), ERR_OK);
}

static void
ceiling_put(struct replica *r, const char *kind)
{
    struct replica_txn *t = NULL;
    cr_assert_eq(replica_txn_new(r, &t), ERR_OK);
    struct replica_cell cells[] = {TXT("unit", "*"), TXT("value", kind)};
    PUT(t, "setting", SCOPE_CEILING_KEY, cells);
    cr_assert_eq(replica_txn_commit(r, t, NULL), ERR_OK);
}

struct fix {
    char *dir;
    struct replica *r;
};

static void
fix_open(struct fix *f)
{
    f->dir = support_tmpdir();
    char *home = support_path(f->dir, "h");
    f->r = support_replica(home, "44");
    free(home);
    dataset(f->r);
}

static void
fix_close(struct fix *f)
{
    replica_close(f->r);
    support_rmrf(f->dir);
    free(f->dir);
}

static const struct report_child *
find_child(const struct report *r, const char *code)
{
    for (size_t i = 0; i < r->nchildren; i++) {
        if (strcmp(r->children[i].code, code) == 0) {
            return &r->children[i];
        }
    }
    cr_assert_fail("no child %s", code);
    return NULL;
}

static void
counts_same(const struct report_counts *a, const struct report_counts *b, const char *what)
{
    cr_assert_eq(a->registered, b->registered, "%s registered", what);
    cr_assert_eq(a->assessed, b->assessed, "%s assessed", what);
    cr_assert_eq(a->passed, b->passed, "%s passed", what);
}

/* The commune's own report, published and summed at the province, is the same numbers. */
Test(aggregate, published_counts_sum_to_the_communes_report)
{
    struct fix f;
    fix_open(&f);
    struct report *raw = NULL, *agg = NULL;
    cr_assert_eq(report_build(f.r->st, "44001", 2026, NULL, &raw, NULL), ERR_OK);
    cr_assert_eq(raw->aggregate, 0);
    cr_assert_eq(raw->all.registered, 4);
    cr_assert_eq(raw->all.assessed, 3);
    cr_assert_eq(raw->all.passed, 2);
    cr_assert_eq(raw->m[REPORT_M_FAMILY_ADULTS].num, 2);

    struct aggregate_row rows[AGGREGATE_ROWS_MAX];
    size_t n = 0;
    int changed = 0;
    char why[AGGREGATE_WHY_SIZE];
    cr_assert_eq(aggregate_publish(f.r, f.r->st, "44001", 2026, rows, &n, &changed, why), ERR_OK,
                 "%s", why);
    cr_assert_eq(changed, 1);
    cr_assert_eq(n, raw->ngroups + 1u);
    cr_assert_str_eq(rows[n - 1].grp, AGGREGATE_GRP_METRICS);
    cr_assert_eq(rows[n - 1].have[0], 0, "the metric row carries no counts");
    cr_assert_eq(rows[0].have[4], 0, "a group row carries no metrics");
    /* Again: the same numbers, nothing written. */
    struct log_head before, after;
    cr_assert_eq(log_get(f.r->st, f.r->pk, &before), ERR_OK);
    cr_assert_eq(aggregate_publish(f.r, f.r->st, "44001", 2026, NULL, NULL, &changed, why), ERR_OK);
    cr_assert_eq(changed, 0);
    cr_assert_eq(log_get(f.r->st, f.r->pk, &after), ERR_OK);
    cr_assert_eq(before.size, after.size);

    const struct report_opts o = {.source = REPORT_SOURCE_AGGREGATE};
    cr_assert_eq(report_build(f.r->st, "44", 2026, &o, &agg, NULL), ERR_OK);
    cr_assert_eq(agg->aggregate, 1);
    const struct report_child *c = find_child(agg, "44001");
    counts_same(&c->all, &raw->all, "44001 all");
    counts_same(&agg->all, &raw->all, "44 all");
    for (unsigned g = 0; g < raw->ngroups; g++) {
        cr_assert_str_eq(agg->groups[g].code, raw->groups[g].code);
        counts_same(&c->g[g], &raw->g[g], raw->groups[g].code);
    }
    for (int m = 0; m < REPORT_METRICS; m++) {
        cr_assert_eq(agg->m[m].num, raw->m[m].num, "metric %d num", m);
        cr_assert_eq(agg->m[m].den, raw->m[m].den, "metric %d den", m);
    }
    /* 44002 published nothing: no people's rows are read in aggregate mode. */
    cr_assert_eq(find_child(agg, "44002")->all.registered, 0);
    report_free(agg);
    report_free(raw);
    fix_close(&f);
}

/* The root's setting decides: above the ceiling the report reads aggregates by itself, and no
 * aggregate is published for a unit above it. */
Test(aggregate, the_ceiling_setting)
{
    struct fix f;
    fix_open(&f);
    int above = -1;
    cr_assert_eq(scope_unit_above_ceiling(f.r->st, "44", &above), ERR_OK);
    cr_assert_eq(above, 0, "no ceiling set");
    ceiling_put(f.r, "commune");
    char kind[SCOPE_KIND_BUF];
    cr_assert_eq(scope_ceiling(f.r->st, kind), ERR_OK);
    cr_assert_str_eq(kind, "commune");
    const struct {
        const char *unit;
        int above;
    } cases[] = {{"44", 1}, {"*", 1}, {"44001", 0}, {"V1", 0}, {"nowhere", 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_assert_eq(scope_unit_above_ceiling(f.r->st, cases[i].unit, &above), ERR_OK);
        cr_assert_eq(above, cases[i].above, "%s", cases[i].unit);
    }
    struct report *r = NULL;
    cr_assert_eq(report_build(f.r->st, "44", 2026, NULL, &r, NULL), ERR_OK);
    cr_assert_eq(r->aggregate, 1);
    cr_assert_eq(r->all.registered, 0, "nothing published yet");
    report_free(r);
    cr_assert_eq(report_build(f.r->st, "44001", 2026, NULL, &r, NULL), ERR_OK);
    cr_assert_eq(r->aggregate, 0);
    cr_assert_eq(r->all.registered, 4);
    report_free(r);
    int changed = 1;
    char why[AGGREGATE_WHY_SIZE];
    cr_assert_eq(aggregate_publish(f.r, f.r->st, "44", 2026, NULL, NULL, &changed, why),
                 ERR_DENIED);
    cr_assert_str_eq(why, "unit 44 lies above the raw-data ceiling; its units at the ceiling "
                          "publish their own aggregates");
    cr_assert_eq(changed, 0);
    cr_assert_eq(aggregate_publish(f.r, f.r->st, "44002", 2026, NULL, NULL, &changed, why), ERR_OK);
    cr_assert_eq(report_build(f.r->st, "44", 2026, NULL, &r, NULL), ERR_OK);
    cr_assert_eq(r->all.registered, 1);
    cr_assert_eq(r->all.passed, 1);
    report_free(r);
    fix_close(&f);
}

/* A row of an ancestor for the same year and group covers its descendants' rows. */
Test(aggregate, an_ancestors_row_is_not_counted_twice)
{
    struct fix f;
    fix_open(&f);
    int changed = 0;
    char why[AGGREGATE_WHY_SIZE];
    cr_assert_eq(aggregate_publish(f.r, f.r->st, "44001", 2026, NULL, NULL, &changed, why), ERR_OK);
    struct replica_txn *t = NULL;
    cr_assert_eq(replica_txn_new(f.r, &t), ERR_OK);
    struct replica_cell cells[] = {TXT("unit", "44"),     INT("year", 2026),  TXT("grp", "farmer"),
                                   INT("registered", 10), INT("assessed", 9), INT("passed", 8),
                                   INT("recognised", 8)};
    PUT(t, "aggregate", "2026:44:farmer", cells);
    cr_assert_eq(replica_txn_commit(f.r, t, NULL), ERR_OK);
    const struct report_opts o = {.source = REPORT_SOURCE_AGGREGATE};
    struct report *r = NULL;
    cr_assert_eq(report_build(f.r->st, "44", 2026, &o, &r, NULL), ERR_OK);
    /* farmer: the province's own row (10) and not 44001's (2); worker: 44001's (2). */
    int farmer = -1, worker = -1;
    for (unsigned g = 0; g < r->ngroups; g++) {
        farmer = strcmp(r->groups[g].code, "farmer") == 0 ? (int)g : farmer;
        worker = strcmp(r->groups[g].code, "worker") == 0 ? (int)g : worker;
    }
    cr_assert_geq(farmer, 0);
    cr_assert_geq(worker, 0);
    cr_assert_eq(r->g[farmer].registered, 10);
    cr_assert_eq(r->g[worker].registered, 2);
    cr_assert_eq(r->all.registered, 12);
    report_free(r);
    fix_close(&f);
}
