/*
 * The Learning Citizen report (node/report.c, report_text.c, report_html.c) on a fixed dataset
 * written through the real commit path: a commune with two villages and a school, one village
 * succeeded by a new (disadvantaged) one, three target groups, assessments in every status
 * (draft, self-submitted, reviewed, returned, approved, rejected, a stale approval of an old
 * round, an approval naming another unit, a deleted row, a row of another commune), families
 * and a learning unit, the seed framework and the national and commune plans. Every number
 * was computed by hand (the comments on the dataset say how), and every format is checked:
 * CSV as exact text, JSON by its keys and values, HTML for its inline SVG and the absence of
 * any external reference.
 */
#include <criterion/criterion.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replica.h"
#include "report.h"
#include "report_fmt.h"
#include "seed.h"
#include "support.h"

static void
suite_init(void)
{
    cr_assert_geq(sodium_init(), 0);
    unsetenv("CDHT_FAKE_NOW_MS");
}

TestSuite(report, .init = suite_init);

#define TXT(c, v)                                                                                  \
    {                                                                                              \
        .col = (c), .type = SCHEMA_TEXT, .s = (v), .is_null = (v) == NULL                          \
    }
#define INT(c, v)                                                                                  \
    {                                                                                              \
        .col = (c), .type = SCHEMA_INT, .i = (v)                                                   \
    }
#define NUL(c)                                                                                     \
    {                                                                                              \
        .col = (c), .type = SCHEMA_INT, .is_null = 1                                               \
    }
#define PUT(t, table, pk, cells)                                                                   \
    cr_assert_eq(                                                                                  \
        replica_txn_put((t), (table), (pk), 1, (cells), sizeof(cells) / sizeof(cells)[0], 0),      \
        ERR_OK, "%s %s", (table), (pk))

static void
unit_put(struct replica_txn *t, const char *code, const char *parent, const char *kind,
         const char *name, const char *from, const char *to, int disadv)
{
    struct replica_cell cells[] = {
        TXT("parent", parent),   TXT("kind", kind),   TXT("name", name),
        TXT("valid_from", from), TXT("valid_to", to), INT("disadvantaged", disadv),
    };
    PUT(t, "unit", code, cells);
}

static void
person_put(struct replica_txn *t, const char *id, int64_t birth, const char *unit)
{
    struct replica_cell cells[] = {
        TXT("name", "Nguyễn Văn An"),
        INT("birth_year", birth),
        TXT("gender", "male"),
        TXT("unit", unit),
    };
    PUT(t, "person", id, cells);
}

/* One person's year: the assessment (round, stage, digital), optionally a review (outcome,
 * round) and an approval (outcome, round, unit: NULL = the assessment's unit). */
struct arow {
    int year;
    const char *pid, *unit, *grp, *stage, *digital;
    int round;
    const char *review; /* reviewed | returned | NULL */
    int review_round;
    const char *approval; /* approved | rejected | returned | NULL */
    int approval_round;
    const char *approval_unit;
};

static void
arow_put(struct replica_txn *t, const struct arow *a)
{
    char pk[64];
    snprintf(pk, sizeof pk, "%d:%s", a->year, a->pid);
    struct replica_cell ac[] = {
        TXT("person", a->pid),
        INT("year", a->year),
        TXT("unit", a->unit),
        TXT("target_group", a->grp),
        TXT("framework", "*/244-2022/1"),
        TXT("digital", a->digital),
        INT("round", a->round),
        TXT("stage", a->stage),
    };
    PUT(t, "assessment", pk, ac);
    if (a->review != NULL) {
        struct replica_cell rc[] = {
            TXT("unit", a->unit),
            INT("round", a->review_round),
            TXT("outcome", a->review),
            INT("s01", 8),
            INT("s02", 8),
            INT("s03", 8),
            INT("s04", 8),
            INT("s05", 8),
            INT("s06", 8),
            INT("s07", 8),
            INT("s08", 8),
            INT("s09", 8),
            INT("s10", 8),
        };
        PUT(t, "review", pk, rc);
    }
    if (a->approval != NULL) {
        struct replica_cell pc[] = {
            TXT("unit", a->approval_unit != NULL ? a->approval_unit : a->unit),
            TXT("person", a->pid),
            INT("year", a->year),
            INT("round", a->approval_round),
            TXT("outcome", a->approval),
            INT("total", 80),
            TXT("number", "12/QĐ-KH"),
            TXT("date", "2026-11-20"),
            TXT("signer", "Chủ tịch Hội"),
        };
        PUT(t, "approval", pk, pc);
    }
}

static void
member_put(struct replica_txn *t, const char *pid, const char *coll, const char *unit,
           const char *kind, int to)
{
    char pk[64];
    snprintf(pk, sizeof pk, "%s:%s", pid, coll);
    struct replica_cell cells[] = {
        TXT("unit", unit),
        TXT("collective", coll),
        TXT("person", pid),
        TXT("kind", kind),
        INT("year_from", 2020),
        to ? (struct replica_cell)INT("year_to", to) : (struct replica_cell)NUL("year_to"),
    };
    PUT(t, "collective_member", pk, cells);
}

static void
coll_put(struct replica_txn *t, const char *id, const char *unit, const char *kind,
         const char *recognised_outcome)
{
    struct replica_cell cells[] = {TXT("unit", unit), TXT("kind", kind), TXT("name", id)};
    PUT(t, "collective", id, cells);
    if (recognised_outcome != NULL) {
        char pk[64];
        snprintf(pk, sizeof pk, "2026:%s", id);
        struct replica_cell rc[] = {TXT("unit", unit), TXT("collective", id), INT("year", 2026),
                                    TXT("outcome", recognised_outcome)};
        PUT(t, "collective_recognition", pk, rc);
    }
}

/*
 * The fixed dataset. Under commune 44001 (province 44) on 31 December 2026:
 *   V1   "Thôn Một"                 village
 *   VNEW "Thôn Mới"                 village from 2026-01-01, disadvantaged; VOLD "Thôn Cũ"
 *                                   (closed 2025-12-31) succeeded by it on 2026-01-01
 *   S    "Trường Tiểu học Đông Hà"  school
 * and the commune itself (a commune official). Sorted by folded name: the commune's own row,
 * then "thon moi", "thon mot", "truong ...".
 *
 * 2026 (registered / assessed / passed):
 *   V1   farmer 5/2/1: p01 self_submitted; p02 reviewed; p03 approved (basic); p06 draft; p07
 *        round 2 self_submitted with a round-1 returned review (stale: not assessed)
 *        worker 2/1/0: p04 rejected; p05 returned by the branch
 *   VNEW farmer 2/2/2: p08 approved (proficient), p09 approved (no digital skills), both
 *        recorded under VOLD; p12 deleted (not counted)
 *        worker 2/2/1: p10 approved (proficient); p11 reviewed, with an approval naming another
 *        unit (ignored: the status is the review's)
 *   S    official 3/2/1: p13 approved (basic); p14 reviewed; p15 draft
 *   44001 official 1/1/1: p16 approved (proficient)
 *   outside: p17 in commune 44002 (not under 44001)
 * Totals: farmer 7/4/3, worker 4/3/1, official 4/3/2, all 15/10/6 (40.0 %).
 * Holders: 6 approved; with digital skills 5 (83.3 %); of those proficient 3 (60.0 %).
 * Families recognised in 2026: F1 (V1: p01 adult not approved, p03 adult approved, p18 a child,
 * p19 adult not registered, p20 a member only until 2025) and F2 (VNEW: p08, p09 adults
 * approved); F3 (V1, p02) is not recognised: adults 5, holding the title 3 (60.0 %). Learning
 * unit LU1 (S: p13 approved, p14, p15): 1 of 3 (33.3 %). 2025: p01 approved in V1.
 */
static void
dataset(struct replica *r)
{
    struct replica_txn *t = NULL;
    cr_assert_eq(replica_txn_new(r, &t), ERR_OK);
    unit_put(t, "44", NULL, "province", "Tỉnh Quảng Bình", NULL, NULL, 0);
    unit_put(t, "44001", "44", "commune", "Xã Sen Thủy", NULL, NULL, 0);
    unit_put(t, "44002", "44", "commune", "Xã Ngư Thủy", NULL, NULL, 0);
    unit_put(t, "V1", "44001", "village", "Thôn Một", NULL, NULL, 0);
    unit_put(t, "VOLD", "44001", "village", "Thôn Cũ", NULL, "2025-12-31", 0);
    unit_put(t, "VNEW", "44001", "village", "Thôn Mới", "2026-01-01", NULL, 1);
    unit_put(t, "S", "44001", "school", "Trường Tiểu học Đông Hà", NULL, NULL, 0);
    struct replica_cell sc[] = {TXT("new_code", "VNEW"), TXT("effective", "2026-01-01")};
    PUT(t, "unit_succession", "VOLD", sc);
    cr_assert_eq(seed_framework_put(t, "*"), ERR_OK);
    cr_assert_eq(seed_plan_national_put(t), ERR_OK);
    cr_assert_eq(seed_plan_commune_put(t, "44001"), ERR_OK);

    static const struct arow rows[] = {
        {2026, "p01", "V1", "farmer", "self_submitted", "basic", 1, NULL, 0, NULL, 0, NULL},
        {2026, "p02", "V1", "farmer", "self_submitted", NULL, 1, "reviewed", 1, NULL, 0, NULL},
        {2026, "p03", "V1", "farmer", "self_submitted", "basic", 1, "reviewed", 1, "approved", 1,
         NULL},
        {2026, "p04", "V1", "worker", "self_submitted", "basic", 1, "reviewed", 1, "rejected", 1,
         NULL},
        {2026, "p05", "V1", "worker", "self_submitted", NULL, 1, "returned", 1, NULL, 0, NULL},
        {2026, "p06", "V1", "farmer", "draft", NULL, 1, NULL, 0, NULL, 0, NULL},
        {2026, "p07", "V1", "farmer", "self_submitted", NULL, 2, "returned", 1, NULL, 0, NULL},
        {2026, "p08", "VOLD", "farmer", "self_submitted", "proficient", 1, "reviewed", 1,
         "approved", 1, NULL},
        {2026, "p09", "VOLD", "farmer", "self_submitted", "none", 1, "reviewed", 1, "approved", 1,
         NULL},
        {2026, "p10", "VNEW", "worker", "self_submitted", "proficient", 1, "reviewed", 1,
         "approved", 1, NULL},
        {2026, "p11", "VNEW", "worker", "self_submitted", "basic", 1, "reviewed", 1, "approved", 1,
         "V1"},
        {2026, "p12", "VNEW", "farmer", "self_submitted", "basic", 1, "reviewed", 1, "approved", 1,
         NULL},
        {2026, "p13", "S", "official", "self_submitted", "basic", 1, "reviewed", 1, "approved", 1,
         NULL},
        {2026, "p14", "S", "official", "self_submitted", NULL, 1, "reviewed", 1, NULL, 0, NULL},
        {2026, "p15", "S", "official", "draft", NULL, 1, NULL, 0, NULL, 0, NULL},
        {2026, "p16", "44001", "official", "self_submitted", "proficient", 1, "reviewed", 1,
         "approved", 1, NULL},
        {2026, "p17", "44002", "farmer", "self_submitted", "basic", 1, "reviewed", 1, "approved", 1,
         NULL},
        {2025, "p01", "V1", "farmer", "self_submitted", "basic", 1, "reviewed", 1, "approved", 1,
         NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        arow_put(t, &rows[i]);
    }
    person_put(t, "p01", 1980, "V1");
    person_put(t, "p03", 1985, "V1");
    person_put(t, "p08", 1990, "VOLD");
    person_put(t, "p09", 1960, "VOLD");
    person_put(t, "p18", 2015, "V1");
    person_put(t, "p19", 1970, "V1");
    person_put(t, "p20", 1975, "V1");
    coll_put(t, "F1", "V1", "family", "approved");
    coll_put(t, "F2", "VNEW", "clan", "approved");
    coll_put(t, "F3", "V1", "family", NULL);
    coll_put(t, "LU1", "S", "unit", "approved");
    member_put(t, "p01", "F1", "V1", "family", 0);
    member_put(t, "p02", "F3", "V1", "family", 0);
    member_put(t, "p03", "F1", "V1", "family", 0);
    member_put(t, "p08", "F2", "VNEW", "clan", 0);
    member_put(t, "p09", "F2", "VNEW", "clan", 0);
    member_put(t, "p13", "LU1", "S", "unit", 0);
    member_put(t, "p14", "LU1", "S", "unit", 0);
    member_put(t, "p15", "LU1", "S", "unit", 0);
    member_put(t, "p18", "F1", "V1", "family", 0);
    member_put(t, "p19", "F1", "V1", "family", 0);
    member_put(t, "p20", "F1", "V1", "family", 2025);
    cr_assert_eq(replica_txn_commit(r, t, NULL), ERR_OK);
    /* p12's registration is withdrawn: a tombstone, no longer counted. */
    cr_assert_eq(replica_txn_new(r, &t), ERR_OK);
    cr_assert_eq(replica_txn_put(t, "assessment", "2026:p12", 0, NULL, 0, 0), ERR_OK);
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

static void
counts_eq(const struct report_counts *c, int64_t reg, int64_t ass, int64_t pas, const char *what)
{
    cr_assert_eq(c->registered, reg, "%s registered %lld", what, (long long)c->registered);
    cr_assert_eq(c->assessed, ass, "%s assessed %lld", what, (long long)c->assessed);
    cr_assert_eq(c->passed, pas, "%s passed %lld", what, (long long)c->passed);
}

static const struct report_child *
child(const struct report *r, size_t i, const char *code)
{
    cr_assert_lt(i, r->nchildren);
    cr_assert_str_eq(r->children[i].code, code, "child %zu", i);
    return &r->children[i];
}

static char *
render(const struct report *r, enum report_format fmt, enum report_lang l)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    cr_assert_eq(report_write(f, r, fmt, l), 0);
    cr_assert_eq(fclose(f), 0);
    return buf;
}

/* The numbers of every child and group, the succession, the statuses and the metrics. */
Test(report, numbers_match_the_hand_computed_dataset)
{
    struct fix f;
    fix_open(&f);
    struct report *r = NULL;
    cr_assert_eq(report_build(f.r->st, "44001", 2026, NULL, &r, NULL), ERR_OK);
    cr_assert_str_eq(r->as_of, "2026-12-31");
    cr_assert_str_eq(r->unit_name, "Xã Sen Thủy");
    cr_assert_eq(r->ngroups, 3);
    cr_assert_str_eq(r->groups[0].code, "farmer");
    cr_assert_str_eq(r->groups[1].code, "worker");
    cr_assert_str_eq(r->groups[2].code, "official");
    cr_assert_eq(r->nchildren, 4);
    const struct report_child *self = child(r, 0, "44001");
    const struct report_child *vnew = child(r, 1, "VNEW");
    const struct report_child *v1 = child(r, 2, "V1");
    const struct report_child *s = child(r, 3, "S");
    cr_assert(self->self);
    cr_assert_eq(vnew->disadvantaged, 1);
    cr_assert_eq(v1->disadvantaged, 0);
    counts_eq(&v1->g[0], 5, 2, 1, "V1 farmer");
    counts_eq(&v1->g[1], 2, 1, 0, "V1 worker");
    counts_eq(&v1->g[2], 0, 0, 0, "V1 official");
    counts_eq(&vnew->g[0], 2, 2, 2, "VNEW farmer (VOLD's rows)");
    counts_eq(&vnew->g[1], 2, 2, 1, "VNEW worker");
    counts_eq(&s->g[2], 3, 2, 1, "S official");
    counts_eq(&self->g[2], 1, 1, 1, "44001 official");
    counts_eq(&r->g[0], 7, 4, 3, "farmer");
    counts_eq(&r->g[1], 4, 3, 1, "worker");
    counts_eq(&r->g[2], 4, 3, 2, "official");
    counts_eq(&r->all, 15, 10, 6, "all");
    cr_assert_eq(r->outside, 1);
    cr_assert_eq(report_permille(r->all.passed, r->all.registered), 400);
    cr_assert_eq(report_permille(v1->all.passed, v1->all.registered), 143); /* 1/7 */
    cr_assert_eq(report_permille(0, 0), -1);

    cr_assert_eq(r->m[REPORT_M_TRAINED].den, 0);
    cr_assert_eq(r->m[REPORT_M_FAMILY_ADULTS].num, 3);
    cr_assert_eq(r->m[REPORT_M_FAMILY_ADULTS].den, 5);
    cr_assert_eq(r->m[REPORT_M_UNIT_WORKERS].num, 1);
    cr_assert_eq(r->m[REPORT_M_UNIT_WORKERS].den, 3);
    cr_assert_eq(r->m[REPORT_M_HOLDERS_DIGITAL].num, 5);
    cr_assert_eq(r->m[REPORT_M_HOLDERS_DIGITAL].den, 6);
    cr_assert_eq(r->m[REPORT_M_HOLDERS_PROF].num, 3);
    cr_assert_eq(r->m[REPORT_M_HOLDERS_PROF].den, 5);
    cr_assert_eq(v1->m[REPORT_M_FAMILY_ADULTS].num, 1);
    cr_assert_eq(v1->m[REPORT_M_FAMILY_ADULTS].den, 3);
    cr_assert_eq(vnew->m[REPORT_M_FAMILY_ADULTS].num, 2);
    cr_assert_eq(vnew->m[REPORT_M_HOLDERS_DIGITAL].den, 3);

    /* The commune's plan first, then the national one; milestone 2030 for 2026. */
    cr_assert_eq(r->ntargets, 9);
    cr_assert_str_eq(r->targets[0].plan, "44001/kh-677-2022");
    cr_assert_eq(r->targets[0].metric, REPORT_M_TRAINED);
    cr_assert_eq(r->targets[0].milestone, 2030);
    cr_assert_eq(report_target_state(&r->targets[0], &r->m[REPORT_M_TRAINED]), REPORT_NO_DATA);
    const struct report_target *nat = &r->targets[5];
    cr_assert_str_eq(nat->plan, "*/677-2022");
    cr_assert_eq(nat->metric, REPORT_M_FAMILY_ADULTS);
    cr_assert_eq(nat->pct, 60);
    cr_assert_eq(report_target_state(nat, &r->m[REPORT_M_FAMILY_ADULTS]), REPORT_ON_TRACK);
    cr_assert_eq(report_target_state(&r->targets[1], &r->m[REPORT_M_FAMILY_ADULTS]),
                 REPORT_BEHIND); /* commune: 70 */
    report_free(r);
    fix_close(&f);
}

/* The province sees the commune as one child with the same totals; the other commune's row
 * counts there. Before the succession (2025's tree) the old village is a child of its own. */
Test(report, province_and_earlier_tree)
{
    struct fix f;
    fix_open(&f);
    struct report *r = NULL;
    cr_assert_eq(report_build(f.r->st, "44", 2026, NULL, &r, NULL), ERR_OK);
    cr_assert_eq(r->nchildren, 2);
    cr_assert_str_eq(r->children[0].code, "44002"); /* "xa ngu thuy" < "xa sen thuy" */
    counts_eq(&r->children[1].all, 15, 10, 6, "44001 in 44");
    counts_eq(&r->all, 16, 11, 7, "44");
    cr_assert_eq(r->outside, 0);
    report_free(r);

    cr_assert_eq(report_build(f.r->st, "44001", 2025, NULL, &r, NULL), ERR_OK);
    int found = 0;
    for (size_t i = 0; i < r->nchildren; i++) {
        found |= strcmp(r->children[i].code, "VOLD") == 0;
        cr_assert_str_neq(r->children[i].code, "VNEW");
    }
    cr_assert(found, "VOLD is a child in 2025");
    counts_eq(&r->all, 1, 1, 1, "2025");
    /* The milestone for 2025 is 2025's target. */
    cr_assert_eq(r->targets[0].milestone, 2025);
    report_free(r);
    fix_close(&f);
}

/* Bad input: an unknown unit, a succeeded unit (with its successor), a year out of range. */
Test(report, refusals)
{
    struct fix f;
    fix_open(&f);
    struct report *r = (struct report *)1;
    char succ[UNITS_CODE_BUF] = "";
    cr_assert_eq(report_build(f.r->st, "99", 2026, NULL, &r, succ), ERR_NOTFOUND);
    cr_assert_null(r);
    cr_assert_eq(report_build(f.r->st, "VOLD", 2026, NULL, &r, succ), ERR_INVAL);
    cr_assert_str_eq(succ, "VNEW");
    cr_assert_eq(report_build(f.r->st, "44001", 1899, NULL, &r, NULL), ERR_INVAL);
    cr_assert_eq(report_build(f.r->st, "44001", 10000, NULL, &r, NULL), ERR_INVAL);
    fix_close(&f);
}

static const char expected_csv[] =
    "row,unit_code,unit_name,group,registered,assessed,passed,share_passed_pct\n"
    "self,44001,Xã Sen Thủy,farmer,0,0,0,\n"
    "self,44001,Xã Sen Thủy,worker,0,0,0,\n"
    "self,44001,Xã Sen Thủy,official,1,1,1,100.0\n"
    "self,44001,Xã Sen Thủy,*,1,1,1,100.0\n"
    "unit,VNEW,Thôn Mới,farmer,2,2,2,100.0\n"
    "unit,VNEW,Thôn Mới,worker,2,2,1,50.0\n"
    "unit,VNEW,Thôn Mới,official,0,0,0,\n"
    "unit,VNEW,Thôn Mới,*,4,4,3,75.0\n"
    "unit,V1,Thôn Một,farmer,5,2,1,20.0\n"
    "unit,V1,Thôn Một,worker,2,1,0,0.0\n"
    "unit,V1,Thôn Một,official,0,0,0,\n"
    "unit,V1,Thôn Một,*,7,3,1,14.3\n"
    "unit,S,Trường Tiểu học Đông Hà,farmer,0,0,0,\n"
    "unit,S,Trường Tiểu học Đông Hà,worker,0,0,0,\n"
    "unit,S,Trường Tiểu học Đông Hà,official,3,2,1,33.3\n"
    "unit,S,Trường Tiểu học Đông Hà,*,3,2,1,33.3\n"
    "total,44001,Xã Sen Thủy,farmer,7,4,3,42.9\n"
    "total,44001,Xã Sen Thủy,worker,4,3,1,25.0\n"
    "total,44001,Xã Sen Thủy,official,4,3,2,50.0\n"
    "total,44001,Xã Sen Thủy,*,15,10,6,40.0\n"
    "\n"
    "metric,plan,level,milestone_year,target_pct,numerator,denominator,actual_pct,state\n"
    "trained,44001/kh-677-2022,commune,2030,100,0,0,,no_data\n"
    "family_adults,44001/kh-677-2022,commune,2030,70,3,5,60.0,behind\n"
    "family_adults,*/677-2022,national,2030,60,3,5,60.0,on_track\n"
    "unit_workers,44001/kh-677-2022,commune,2030,85,1,3,33.3,behind\n"
    "unit_workers,*/677-2022,national,2030,80,1,3,33.3,behind\n"
    "holders_digital,44001/kh-677-2022,commune,2030,90,5,6,83.3,behind\n"
    "holders_digital,*/677-2022,national,2030,90,5,6,83.3,behind\n"
    "holders_proficient,44001/kh-677-2022,commune,2030,80,3,5,60.0,behind\n"
    "holders_proficient,*/677-2022,national,2030,80,3,5,60.0,behind\n";

/* CSV is exact text; it does not change with the language. */
Test(report, csv_exact)
{
    struct fix f;
    fix_open(&f);
    struct report *r = NULL;
    cr_assert_eq(report_build(f.r->st, "44001", 2026, NULL, &r, NULL), ERR_OK);
    char *vi = render(r, REPORT_FMT_CSV, REPORT_VI);
    char *en = render(r, REPORT_FMT_CSV, REPORT_EN);
    cr_assert_str_eq(vi, expected_csv);
    cr_assert_str_eq(en, expected_csv);
    free(vi);
    free(en);
    report_free(r);
    fix_close(&f);
}

/* JSON: the keys and values a consumer reads, no data as null (never 0). */
Test(report, json_keys)
{
    struct fix f;
    fix_open(&f);
    struct report *r = NULL;
    cr_assert_eq(report_build(f.r->st, "44001", 2026, NULL, &r, NULL), ERR_OK);
    char *j = render(r, REPORT_FMT_JSON, REPORT_EN);
    static const char *const want[] = {
        "{\"unit\":\"44001\",\"unit_name\":\"Xã Sen Thủy\",\"year\":2026,\"as_of\":\"2026-12-31\","
        "\"lang\":\"en\",\"adult_age\":18,\"groups\":[{\"code\":\"farmer\",\"name\":\"Farmers and "
        "rural workers\"}",
        "{\"code\":\"VNEW\",\"name\":\"Thôn Mới\",\"self\":false,\"disadvantaged\":true,",
        "\"total\":{\"registered\":15,\"assessed\":10,\"passed\":6,\"share_passed_pct\":40.0}",
        "\"official\":{\"registered\":3,\"assessed\":2,\"passed\":1,\"share_passed_pct\":33.3}",
        "\"trained\":{\"numerator\":0,\"denominator\":0,\"actual_pct\":null}",
        "\"family_adults\":{\"numerator\":3,\"denominator\":5,\"actual_pct\":60.0}",
        "{\"plan\":\"*/677-2022\",\"plan_unit\":\"*\",\"level\":\"national\",\"metric\":"
        "\"family_adults\",\"milestone\":2030,\"target_pct\":60,\"actual_pct\":60.0,\"state\":"
        "\"on_track\"}",
        "\"state\":\"no_data\"",
        "\"outside\":1}\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        cr_assert_not_null(strstr(j, want[i]), "json lacks %s", want[i]);
    }
    /* Balanced braces and brackets outside strings: a cheap structural check. */
    int depth = 0, in_str = 0;
    for (const char *p = j; *p; p++) {
        if (in_str) {
            if (*p == '\\') {
                p++;
            } else if (*p == '"') {
                in_str = 0;
            }
            continue;
        }
        in_str = *p == '"';
        depth += (*p == '{' || *p == '[') - (*p == '}' || *p == ']');
        cr_assert_geq(depth, 0);
    }
    cr_assert_eq(depth, 0);
    free(j);
    report_free(r);
    fix_close(&f);
}

/* The table: Vietnamese labels by default, English on request, "no data" never 0 %. */
Test(report, table_labels)
{
    struct fix f;
    fix_open(&f);
    struct report *r = NULL;
    cr_assert_eq(report_build(f.r->st, "44001", 2026, NULL, &r, NULL), ERR_OK);
    char *vi = render(r, REPORT_FMT_TABLE, REPORT_VI);
    char *en = render(r, REPORT_FMT_TABLE, REPORT_EN);
    cr_assert_not_null(strstr(vi, "Báo cáo Công dân học tập năm 2026: 44001 Xã Sen Thủy"));
    cr_assert_not_null(strstr(vi, "VNEW Thôn Mới (vùng khó khăn)"));
    cr_assert_not_null(strstr(vi, "chưa có dữ liệu"));
    cr_assert_not_null(strstr(vi, "đạt tiến độ"));
    cr_assert_not_null(strstr(en, "Learning Citizen report year 2026: 44001 Xã Sen Thủy"));
    cr_assert_not_null(strstr(en, "60.0% (3/5)"));
    cr_assert_not_null(strstr(en, "on track"));
    cr_assert_not_null(strstr(en, "1 records of units outside this unit, not counted"));
    cr_assert_null(strstr(en, " 0.0% (0/0)"));
    /* The commune's row comes before the villages, "Thôn Mới" before "Thôn Một". */
    char *a = strstr(en, "44001 (recorded"), *b = strstr(en, "VNEW Thôn Mới"),
         *c = strstr(en, "V1 Thôn Một");
    cr_assert(a != NULL && b != NULL && c != NULL && a < b && b < c);
    free(vi);
    free(en);
    report_free(r);
    fix_close(&f);
}

/* HTML: one file, inline SVG bars with target lines, a per-year chart (2025 and 2026 have
 * data), no script and no external reference. */
Test(report, html_self_contained)
{
    struct fix f;
    fix_open(&f);
    struct report *r = NULL;
    struct report_opts o = {.years = 1};
    cr_assert_eq(report_build(f.r->st, "44001", 2026, &o, &r, NULL), ERR_OK);
    cr_assert_eq(r->nyears, 2);
    cr_assert_eq(r->years[0].year, 2025);
    counts_eq(&r->years[0].all, 1, 1, 1, "2025");
    counts_eq(&r->years[1].all, 15, 10, 6, "2026");
    char *h = render(r, REPORT_FMT_HTML, REPORT_VI);
    cr_assert_not_null(strstr(h, "<!DOCTYPE html>"));
    cr_assert_not_null(strstr(h, "<html lang=\"vi\">"));
    cr_assert_not_null(strstr(h, "<svg "));
    cr_assert_not_null(strstr(h, "class=\"target\""));
    cr_assert_not_null(strstr(h, "<style>"));
    cr_assert_not_null(strstr(h, ">2025</text>"));
    cr_assert_not_null(strstr(h, "Thôn Mới"));
    cr_assert_null(strstr(h, "http"));
    cr_assert_null(strstr(h, "<script"));
    cr_assert_null(strstr(h, "src="));
    cr_assert_null(strstr(h, "href="));
    free(h);
    report_free(r);
    fix_close(&f);
}
