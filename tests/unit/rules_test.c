/*
 * The Learning Citizen rules (node/rules.h): each boundary of the issue at the limit and one
 * below (79/80, an indicator at 4/5, disadvantaged 69/70, the fifth consecutive year, a gap),
 * the collective rule, every workflow action from every status by every role, and the derived
 * status in C against the SQL view assessment_state over the same rows.
 */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "schema.h"
#include "store.h"
#include "support.h"

TestSuite(rules);

/* The default group: 10 indicators of 10 points, minimum 5, pass 80, disadvantaged 70. */
static struct rules_group
group244(void)
{
    struct rules_group g = {.n = 10, .pass_total = 80, .pass_total_disadv = 70};
    for (int i = 0; i < 10; i++) {
        g.max[i] = 10;
        g.min[i] = 5;
    }
    return g;
}

/* Scores summing to total, each between 5 and 10 (total 50..100), first indicators highest. */
static void
spread(int total, int score[10])
{
    for (int i = 0; i < 10; i++) {
        score[i] = 5;
    }
    int rest = total - 50;
    for (int i = 0; i < 10 && rest > 0; i++) {
        int add = rest > 5 ? 5 : rest;
        score[i] += add;
        rest -= add;
    }
}

static const uint8_t all[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

/* 79 fails and 80 passes in an unflagged unit. */
Test(rules, pass_total_79_80)
{
    struct rules_group g = group244();
    int s[10], total = 0;
    spread(79, s);
    cr_assert_eq(rules_pass(&g, s, all, 0, &total), RULES_FAIL_TOTAL);
    cr_assert_eq(total, 79);
    spread(80, s);
    cr_assert_eq(rules_pass(&g, s, all, 0, &total), RULES_PASS);
    cr_assert_eq(total, 80);
}

/* An indicator at 4 (minimum 5) fails even at a total of 95; at 5 it passes. */
Test(rules, indicator_minimum_4_5)
{
    struct rules_group g = group244();
    int s[10] = {4, 10, 10, 10, 10, 10, 10, 10, 10, 10}, total = 0;
    cr_assert_eq(rules_pass(&g, s, all, 0, &total), RULES_FAIL_MIN);
    cr_assert_eq(total, 94);
    s[0] = 5;
    cr_assert_eq(rules_pass(&g, s, all, 0, &total), RULES_PASS);
    /* A total of 95 with one indicator at 4. */
    int t[10] = {10, 10, 10, 10, 10, 10, 10, 10, 10, 4};
    t[0] = 10;
    cr_assert_eq(rules_pass(&g, t, all, 0, &total), RULES_FAIL_MIN);
    cr_assert_eq(total, 94);
    /* Under a framework with minimum 4 the same sheet passes: the minimum is data. */
    g.min[9] = 4;
    cr_assert_eq(rules_pass(&g, t, all, 0, &total), RULES_PASS);
}

/* In a flagged unit 69 fails and 70 passes; in an unflagged unit 70 fails. */
Test(rules, disadvantaged_69_70)
{
    struct rules_group g = group244();
    int s[10], total = 0;
    spread(69, s);
    cr_assert_eq(rules_pass(&g, s, all, 1, &total), RULES_FAIL_TOTAL);
    spread(70, s);
    cr_assert_eq(rules_pass(&g, s, all, 1, &total), RULES_PASS);
    cr_assert_eq(rules_pass(&g, s, all, 0, &total), RULES_FAIL_TOTAL);
}

/* Above the maximum or negative is INVALID; a missing score is INCOMPLETE, and INVALID wins. */
Test(rules, invalid_and_incomplete)
{
    struct rules_group g = group244();
    int s[10] = {10, 10, 10, 10, 10, 10, 10, 10, 10, 10}, total = 0;
    uint8_t have[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    cr_assert_eq(rules_pass(&g, s, have, 0, &total), RULES_PASS);
    cr_assert_eq(total, 100);
    s[3] = 11;
    cr_assert_eq(rules_pass(&g, s, have, 0, &total), RULES_INVALID);
    s[3] = -1;
    cr_assert_eq(rules_pass(&g, s, have, 0, &total), RULES_INVALID);
    s[3] = 0;
    cr_assert_eq(rules_pass(&g, s, have, 0, &total), RULES_FAIL_MIN);
    have[7] = 0;
    cr_assert_eq(rules_pass(&g, s, have, 0, &total), RULES_INCOMPLETE);
    cr_assert_eq(total, 80);
    s[3] = 11;
    cr_assert_eq(rules_pass(&g, s, have, 0, &total), RULES_INVALID);
    g.n = 0;
    cr_assert_eq(rules_pass(&g, s, have, 0, &total), RULES_INVALID);
    g.n = 11;
    cr_assert_eq(rules_pass(&g, s, have, 0, &total), RULES_INVALID);
}

/* A group is checked before it is published: n, minima, thresholds. */
Test(rules, group_check)
{
    struct rules_group g = group244();
    char why[RULES_WHY_SIZE];
    cr_assert_eq(rules_group_check(&g, why), ERR_OK);
    g.pass_total = 101;
    cr_assert_eq(rules_group_check(&g, why), ERR_INVAL);
    cr_assert(strstr(why, "<= 100") != NULL, "%s", why);
    g = group244();
    g.pass_total_disadv = 81;
    cr_assert_eq(rules_group_check(&g, NULL), ERR_INVAL);
    g = group244();
    g.min[2] = 0;
    cr_assert_eq(rules_group_check(&g, why), ERR_INVAL);
    cr_assert(strstr(why, "indicator 3") != NULL, "%s", why);
    g = group244();
    g.min[2] = 11;
    cr_assert_eq(rules_group_check(&g, why), ERR_INVAL);
    g = group244();
    g.n = 0;
    cr_assert_eq(rules_group_check(&g, why), ERR_INVAL);
    g.n = 11;
    cr_assert_eq(rules_group_check(&g, why), ERR_INVAL);
    g = group244();
    g.n = 1; /* one indicator of 10 points cannot reach 80 */
    cr_assert_eq(rules_group_check(&g, why), ERR_INVAL);
}

/* The first written flag walking up decides: the commune's flag reaches its village, and a 0 on
 * the village overrides a 1 on the commune. */
Test(rules, disadvantaged_inherited)
{
    int none[] = {-1, -1, -1};
    int commune[] = {-1, 1, -1};
    int village0[] = {0, 1, -1};
    int village1[] = {1, -1, 0};
    cr_assert_eq(rules_disadvantaged(none, 3), 0);
    cr_assert_eq(rules_disadvantaged(commune, 3), 1);
    cr_assert_eq(rules_disadvantaged(commune, 1), 0);
    cr_assert_eq(rules_disadvantaged(village0, 3), 0);
    cr_assert_eq(rules_disadvantaged(village1, 3), 1);
    cr_assert_eq(rules_disadvantaged(NULL, 0), 0);
}

/* 2022..2026 is exemplary in 2026, not in 2025 (four years); a gap year (2023) breaks it. */
Test(rules, exemplary_fifth_year_and_gap)
{
    int five[] = {2024, 2022, 2026, 2023, 2025};
    cr_assert_eq(rules_exemplary(five, 5, 2026, 5), 1);
    cr_assert_eq(rules_exemplary(five, 5, 2025, 5), 0);
    cr_assert_eq(rules_exemplary(five, 4, 2026, 5), 0); /* without 2025 */
    int gap[] = {2021, 2022, 2024, 2025, 2026};
    cr_assert_eq(rules_exemplary(gap, 5, 2026, 5), 0);
    cr_assert_eq(rules_exemplary(gap, 5, 2026, 3), 1); /* the span is data */
    int dup[] = {2026, 2026, 2025, 2024, 2023, 2022, 2022};
    cr_assert_eq(rules_exemplary(dup, 7, 2026, 5), 1);
    cr_assert_eq(rules_exemplary(five, 5, 2026, 0), 0);
    cr_assert_eq(rules_exemplary(five, 5, 2026, RULES_SPAN_MAX + 1), 0);
}

/* adults_pct:80 gives 4 of 5 ok, 3 of 4 not (75%), 0 adults not, 5 of 5 at 100 ok. */
Test(rules, collective_rule)
{
    struct rules_collective r;
    cr_assert_eq(rules_collective_parse("adults_pct:80", &r), ERR_OK);
    cr_assert_eq(r.base, RULES_ADULTS_PCT);
    cr_assert_eq(rules_collective_ok(&r, 5, 4, 9, 0), 1);
    cr_assert_eq(rules_collective_ok(&r, 4, 3, 9, 9), 0);
    cr_assert_eq(rules_collective_ok(&r, 0, 0, 9, 9), 0);
    cr_assert_eq(rules_collective_parse(RULES_COLLECTIVE_DEFAULT, &r), ERR_OK);
    cr_assert_eq(rules_collective_ok(&r, 5, 5, 7, 5), 1);
    cr_assert_eq(rules_collective_ok(&r, 5, 4, 7, 7), 0);
    cr_assert_eq(rules_collective_parse("members_pct:50", &r), ERR_OK);
    cr_assert_eq(r.base, RULES_MEMBERS_PCT);
    cr_assert_eq(rules_collective_ok(&r, 0, 0, 4, 2), 1);
    cr_assert_eq(rules_collective_ok(&r, 0, 0, 4, 1), 0);
    const char *bad[] = {"adults_pct:", "adults_pct:101", "adults_pct:-1", "adults_pct:1000",
                         "adults:80", "", "members_pct:8x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(rules_collective_parse(bad[i], &r), ERR_INVAL, "%s", bad[i]);
    }
    cr_assert_eq(rules_collective_parse(NULL, &r), ERR_INVAL);
}

/* Every action from every status by every role: the expected table, written out by hand from
 * the design's state machine, against rules_transition. */
Test(rules, every_transition_by_every_role)
{
    const unsigned W = SCHEMA_ROLE_WRITER, AP = SCHEMA_ROLE_APPROVER, H = SCHEMA_ROLE_HUB,
                   AU = SCHEMA_ROLE_AUDITOR, REP = SCHEMA_ROLE_REPORTER;
    const unsigned roles[] = {W, AP, H, AU, REP, W | AP, RULES_ROLE_ROOT, 0};
    enum { X = -2 }; /* refused */
    /* want[from][act] for a device holding every role: the target state, or X. */
    static const int to[RULES_ST_COUNT][RULES_ACT_COUNT] = {
        /*                    register  assess  evidence  submit  review  return  approve  reject */
        [RULES_ST_NONE] = {RULES_ST_DRAFT, X, X, X, X, X, X, X},
        [RULES_ST_DRAFT] = {RULES_ST_DRAFT, RULES_ST_DRAFT, RULES_ST_DRAFT, RULES_ST_SELF_SUBMITTED,
                            X, X, X, X},
        [RULES_ST_SELF_SUBMITTED] = {X, X, X, X, RULES_ST_BRANCH_REVIEWED, RULES_ST_RETURNED, X, X},
        [RULES_ST_BRANCH_REVIEWED] = {X, X, X, X, RULES_ST_BRANCH_REVIEWED, RULES_ST_RETURNED,
                                      RULES_ST_APPROVED, RULES_ST_REJECTED},
        [RULES_ST_APPROVED] = {X, X, X, X, X, X, X, X},
        [RULES_ST_REJECTED] = {X, X, X, X, X, X, X, X},
        [RULES_ST_RETURNED] = {X, RULES_ST_RETURNED, RULES_ST_RETURNED, RULES_ST_SELF_SUBMITTED, X,
                               X, X, X},
        [RULES_ST_UNKNOWN] = {X, X, X, X, X, X, X, X},
    };
    /* The roles each action needs (review and the reviewer's return: the framework's review
     * roles, default writer or approver; the approver's return from branch_reviewed). */
    for (int f = 0; f < RULES_ST_COUNT; f++) {
        for (int a = 0; a < RULES_ACT_COUNT; a++) {
            unsigned need;
            switch (a) {
            case RULES_ACT_REGISTER:
            case RULES_ACT_ASSESS:
            case RULES_ACT_SUBMIT: need = W; break;
            case RULES_ACT_EVIDENCE: need = W | AP; break;
            case RULES_ACT_REVIEW: need = W | AP; break;
            case RULES_ACT_RETURN: need = f == RULES_ST_SELF_SUBMITTED ? W | AP : AP; break;
            default: need = AP; break;
            }
            for (size_t k = 0; k < sizeof roles / sizeof roles[0]; k++) {
                for (int strict = 0; strict < 2; strict++) {
                    /* strict: framework.review_role = approver. */
                    unsigned rr = rules_review_roles(strict ? "approver" : "writer");
                    unsigned n = need;
                    if (strict && (a == RULES_ACT_REVIEW ||
                                   (a == RULES_ACT_RETURN && f == RULES_ST_SELF_SUBMITTED))) {
                        n = AP;
                    }
                    int allowed = to[f][a] != X &&
                                  ((roles[k] & n) != 0 || roles[k] == RULES_ROLE_ROOT);
                    enum rules_state got = RULES_ST_UNKNOWN;
                    char why[RULES_WHY_SIZE] = "";
                    int ok = rules_transition((enum rules_state)f, (enum rules_action)a, roles[k],
                                              rr, &got, why);
                    cr_assert_eq(ok, allowed, "%s by roles %u from %s (strict %d): %s",
                                 rules_action_name((enum rules_action)a), roles[k],
                                 rules_state_name((enum rules_state)f), strict, why);
                    if (ok) {
                        cr_assert_eq((int)got, to[f][a]);
                    } else {
                        cr_assert(why[0] != '\0');
                    }
                }
            }
        }
    }
}

/* The refusal sentences the tools print. */
Test(rules, refusal_sentences)
{
    char why[RULES_WHY_SIZE];
    unsigned rr = rules_review_roles(NULL);
    cr_assert_eq(rules_transition(RULES_ST_BRANCH_REVIEWED, RULES_ACT_APPROVE, SCHEMA_ROLE_WRITER,
                                  rr, NULL, why),
                 0);
    cr_assert_str_eq(why, "approve needs a grant of the approver role covering the unit");
    cr_assert_eq(rules_transition(RULES_ST_APPROVED, RULES_ACT_REVIEW, SCHEMA_ROLE_APPROVER, rr,
                                  NULL, why),
                 0);
    cr_assert_str_eq(why, "the assessment is approved: final for the year");
    cr_assert_eq(rules_transition(RULES_ST_SELF_SUBMITTED, RULES_ACT_APPROVE,
                                  SCHEMA_ROLE_APPROVER, rr, NULL, why),
                 0);
    cr_assert_str_eq(why, "the assessment is self_submitted; approve is not a step from there");
    cr_assert_eq(rules_transition(RULES_ST_NONE, RULES_ACT_ASSESS, SCHEMA_ROLE_WRITER, rr, NULL,
                                  why),
                 0);
    cr_assert_str_eq(why, "the person is not registered for the year");
}

/* ---- the view and rules_status agree ---- */

static void
put_row(struct store *st, const char *sql, const char *unit, int round_null, int64_t round,
        const char *text)
{
    sqlite3_stmt *s = NULL;
    cr_assert_eq(sqlite3_prepare_v2(st->db, sql, -1, &s, NULL), SQLITE_OK, "%s", sql);
    if (unit) {
        sqlite3_bind_text(s, 1, unit, -1, SQLITE_STATIC);
    }
    if (!round_null) {
        sqlite3_bind_int64(s, 2, round);
    }
    if (text) {
        sqlite3_bind_text(s, 3, text, -1, SQLITE_STATIC);
    }
    cr_assert_eq(sqlite3_step(s), SQLITE_DONE, "%s", sqlite3_errmsg(st->db));
    sqlite3_finalize(s);
}

/* Every combination of: each row present or not (live or a tombstone), its unit equal or not,
 * its round equal, older or NULL, and its outcome or stage among the known values and NULL.
 * The view's status string, parsed, equals rules_status for the same cells. */
Test(rules, status_matches_view)
{
    char *dir = support_tmpdir();
    char *path = support_path(dir, "r.db");
    struct store *st = NULL;
    cr_assert_eq(store_open(&st, path, STORE_CREATE), ERR_OK);
    const char *stages[] = {"draft", "self_submitted", NULL};
    const char *routs[] = {"reviewed", "returned", NULL};
    const char *pouts[] = {"approved", "rejected", "returned", NULL};
    const char *units[] = {"44001", "44002", NULL};
    const int64_t rounds[] = {2, 1, -1}; /* -1: NULL */
    unsigned checked = 0;
    /* One mixed-radix counter over the nine choices, rather than nine nested loops. */
    for (int code = 0; code < 3 * 3 * 3 * 3 * 3 * 3 * 3 * 3 * 4; code++) {
        int v = code;
        int ap = v % 3; /* approval: none, live, tombstone */
        v /= 3;
        int rv = v % 3; /* review: none, live, tombstone */
        v /= 3;
        int pu = v % 3, ru = (v / 3) % 3, pr = (v / 9) % 3, rr = (v / 27) % 3;
        v /= 81;
        int so = v % 3, ro = (v / 3) % 3, po = (v / 9) % 4;
        if ((ap == 0 && (pu || pr || po)) || (rv == 0 && (ru || rr || ro))) {
            continue; /* an absent row has no cells */
        }
        store_merging_set(st, 1);
        cr_assert_eq(store_exec(st, "DELETE FROM assessment; DELETE FROM review;"
                                    "DELETE FROM approval;"),
                     ERR_OK);
        put_row(st,
                "INSERT INTO assessment(id, unit, round, stage, _live, _clk) "
                "VALUES('k', ?1, ?2, ?3, 1, x'')",
                "44001", 0, 2, stages[so]);
        if (rv) {
            put_row(st,
                    rv == 1 ? "INSERT INTO review(id, unit, round, outcome, _live, _clk) "
                              "VALUES('k', ?1, ?2, ?3, 1, x'')"
                            : "INSERT INTO review(id, unit, round, outcome, _live, _clk) "
                              "VALUES('k', ?1, ?2, ?3, 0, x'')",
                    units[ru], rounds[rr] < 0, rounds[rr], routs[ro]);
        }
        if (ap) {
            put_row(st,
                    ap == 1 ? "INSERT INTO approval(id, unit, round, outcome, _live, _clk) "
                              "VALUES('k', ?1, ?2, ?3, 1, x'')"
                            : "INSERT INTO approval(id, unit, round, outcome, _live, _clk) "
                              "VALUES('k', ?1, ?2, ?3, 0, x'')",
                    units[pu], rounds[pr] < 0, rounds[pr], pouts[po]);
        }
        store_merging_set(st, 0);
        sqlite3_stmt *s = NULL;
        cr_assert_eq(
            sqlite3_prepare_v2(st->db, "SELECT status FROM assessment_state", -1, &s, NULL),
            SQLITE_OK);
        cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
        enum rules_state view = rules_state_parse((const char *)sqlite3_column_text(s, 0));
        sqlite3_finalize(s);
        struct rules_rows rows = {
            .a_live = 1,
            .a_unit = "44001",
            .a_round = 2,
            .a_stage = stages[so],
            .r_live = rv == 1,
            .r_unit = units[ru],
            .r_round = rounds[rr],
            .r_round_null = rounds[rr] < 0,
            .r_outcome = routs[ro],
            .p_live = ap == 1,
            .p_unit = units[pu],
            .p_round = rounds[pr],
            .p_round_null = rounds[pr] < 0,
            .p_outcome = pouts[po],
        };
        enum rules_state c = rules_status(&rows);
        cr_assert_eq(c, view, "code %d: C %s, view %s", code, rules_state_name(c),
                     rules_state_name(view));
        checked++;
    }
    cr_assert_gt(checked, 1000u);
    /* A tombstoned assessment is not in the view, and rules_status says none. */
    store_merging_set(st, 1);
    cr_assert_eq(store_exec(st, "UPDATE assessment SET _live = 0"), ERR_OK);
    store_merging_set(st, 0);
    struct rules_rows dead = {.a_live = 0};
    cr_assert_eq(rules_status(&dead), RULES_ST_NONE);
    sqlite3_stmt *s = NULL;
    cr_assert_eq(sqlite3_prepare_v2(st->db, "SELECT count(*) FROM assessment_state", -1, &s, NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_int(s, 0), 0);
    sqlite3_finalize(s);
    store_close(st);
    free(path);
    support_rmrf(dir);
    free(dir);
}
