/*
 * The Learning Citizen rules as pure functions (244/QĐ-KHVN; docs/DATA.md "The registry"): pass
 * or fail from the scores and the framework's thresholds, the disadvantaged-area flag of a unit,
 * the "exemplary" title, the collective rule, and the yearly workflow: the status derived from
 * the rows each role owns, and which role may take which step from which status. No SQLite and
 * no I/O: the thresholds come from the framework tables, read by the caller.
 */
#ifndef CDHT_RULES_H
#define CDHT_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Indicators per target group: the score columns s01..s10 of self_score and review (schema.c).
 * More needs appended columns, that is a schema migration. */
#define RULES_IND_MAX 10u
/* Largest "exemplary" span a framework may ask for (years in a row); bounds the year scan. */
#define RULES_SPAN_MAX 50

/* One target group of a framework: its thresholds (framework_group) and, per indicator in
 * position order, the maximum and the minimum points (framework_indicator). */
struct rules_group {
    int n;                 /* indicators, 1..RULES_IND_MAX */
    int pass_total;        /* total needed (80) */
    int pass_total_disadv; /* total needed in a disadvantaged unit (70) */
    int max[RULES_IND_MAX];
    int min[RULES_IND_MAX]; /* no score below this passes (5) */
};

enum rules_verdict {
    RULES_PASS = 0,
    RULES_FAIL_TOTAL,  /* the total is below the threshold */
    RULES_FAIL_MIN,    /* the total is enough, but an indicator is below its minimum */
    RULES_INCOMPLETE,  /* a score is missing */
    RULES_INVALID,     /* a score is negative or above its maximum, or the group is malformed */
};
const char *rules_verdict_name(enum rules_verdict v);

/* Checks a group as a framework publishes it: 1 <= n <= RULES_IND_MAX, 0 < min <= max for each
 * indicator, and 0 < pass_total_disadv <= pass_total <= the sum of the maxima. ERR_INVAL with a
 * sentence in why (may be NULL) otherwise. */
#define RULES_WHY_SIZE 128u
err_code rules_group_check(const struct rules_group *g, char why[RULES_WHY_SIZE]) WARN_UNUSED;

/* score[i] for i < g->n; have[i] 0: missing. *total gets the sum of the scores present (also
 * when the verdict is not a pass). disadvantaged: the unit's flag (rules_disadvantaged). */
enum rules_verdict rules_pass(const struct rules_group *g, const int score[], const uint8_t have[],
                              int disadvantaged, int *total);

/* flags[0] is the unit's own disadvantaged flag, then its ancestors' in order (-1: never
 * written). The first flag that is not -1 decides; when all are -1 the unit is not
 * disadvantaged. Returns 0 or 1. */
int rules_disadvantaged(const int flags[], unsigned count);

/* years: the years with an effective approval, any order, duplicates allowed. 1 when every year
 * y-span+1..y is among them (span from framework.exemplary_years), else 0. */
int rules_exemplary(const int years[], size_t n, int y, int span);

/* The collective rule (framework.collective_rule): "adults_pct:P" (P% of a collective's adult
 * members hold the title) or "members_pct:P" (of all its members), 0 <= P <= 100. */
enum rules_collective_base { RULES_ADULTS_PCT, RULES_MEMBERS_PCT };
struct rules_collective {
    enum rules_collective_base base;
    int pct;
};
#define RULES_COLLECTIVE_DEFAULT "adults_pct:100"
err_code rules_collective_parse(const char *s, struct rules_collective *out) WARN_UNUSED;
/* 1 when the collective meets the rule: the base count is above 0 and rec * 100 >= pct * base. */
int rules_collective_ok(const struct rules_collective *r, int adults, int adults_rec, int members,
                        int members_rec);

/* ---- The workflow (one assessment, one year) ---- */

/* The derived status. The names (rules_state_name) are the strings the SQL view
 * assessment_state gives (node/store.c, migration 5). */
enum rules_state {
    RULES_ST_NONE = 0,         /* no live assessment: not registered */
    RULES_ST_DRAFT,
    RULES_ST_SELF_SUBMITTED,
    RULES_ST_BRANCH_REVIEWED,
    RULES_ST_APPROVED,
    RULES_ST_REJECTED,
    RULES_ST_RETURNED,
    RULES_ST_UNKNOWN,          /* a value this version does not know (or NULL) */
};
#define RULES_ST_COUNT 8
const char *rules_state_name(enum rules_state s); /* "draft", ...; "none", "unknown" */
/* The state of a view's status string; NULL and unknown strings give RULES_ST_UNKNOWN. */
enum rules_state rules_state_parse(const char *s);

/* The rows of one assessment key as the tables hold them (borrowed strings; NULL for a NULL
 * cell). A row that does not exist has live 0. */
struct rules_rows {
    int a_live;
    const char *a_unit;
    int64_t a_round;
    int a_round_null;
    const char *a_stage; /* draft | self_submitted */
    int r_live;
    const char *r_unit;
    int64_t r_round;
    int r_round_null;
    const char *r_outcome; /* reviewed | returned */
    int p_live;
    const char *p_unit;
    int64_t p_round;
    int p_round_null;
    const char *p_outcome; /* approved | rejected | returned */
};
/* The derived status, exactly as the view computes it: an approval of the current round and
 * unit decides, else a review of the current round and unit, else the writer's stage. */
enum rules_state rules_status(const struct rules_rows *a);

enum rules_action {
    RULES_ACT_REGISTER = 0, /* cdht register */
    RULES_ACT_ASSESS,       /* cdht assess: self scores, digital level */
    RULES_ACT_EVIDENCE,     /* cdht evidence add */
    RULES_ACT_SUBMIT,       /* cdht assess --submit */
    RULES_ACT_REVIEW,       /* cdht review */
    RULES_ACT_RETURN,       /* cdht return */
    RULES_ACT_APPROVE,      /* cdht approve */
    RULES_ACT_REJECT,       /* cdht approve --reject */
};
#define RULES_ACT_COUNT 8
const char *rules_action_name(enum rules_action a);

/* Role bits are the trust roles (schema.h, SCHEMA_ROLE_*; the pinned root's bit holds every
 * role). review_roles: the roles that may review, from framework.review_role
 * (rules_review_roles). */
#define RULES_ROLE_ROOT (1u << 4)
unsigned rules_review_roles(const char *review_role);
/* 1 when a device holding role_bits (the roles of its grants covering the assessment's unit)
 * may take act from status from; *to (may be NULL) gets the status afterwards. 0 otherwise,
 * and why (may be NULL) gets a sentence saying what is needed. */
int rules_transition(enum rules_state from, enum rules_action act, unsigned role_bits,
                     unsigned review_roles, enum rules_state *to, char why[RULES_WHY_SIZE]);

#endif
