/*
 * The Learning Citizen rules (rules.h): pure functions over numbers and strings, so that the
 * workflow tools, the reports and the tests apply one definition. The thresholds are never
 * constants here: they arrive from the framework the assessment recorded. The workflow table
 * below is the whole state machine; the tools (node/flow.c) check it at write time, and the
 * status itself is derived from role-owned rows, so it converges whatever the order of arrival.
 */
#include "rules.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"

const char *
rules_verdict_name(enum rules_verdict v)
{
    switch (v) {
    case RULES_PASS: return "pass";
    case RULES_FAIL_TOTAL: return "fail-total";
    case RULES_FAIL_MIN: return "fail-minimum";
    case RULES_INCOMPLETE: return "incomplete";
    case RULES_INVALID: return "invalid";
    }
    return "unknown";
}

err_code
rules_group_check(const struct rules_group *g, char why[RULES_WHY_SIZE])
{
    char scratch[RULES_WHY_SIZE];
    if (why == NULL) {
        why = scratch;
    }
    if (g->n < 1 || g->n > (int)RULES_IND_MAX) {
        snprintf(why, RULES_WHY_SIZE, "%d indicators (1 to %u allowed)", g->n, RULES_IND_MAX);
        return ERR_INVAL;
    }
    int sum = 0;
    for (int i = 0; i < g->n; i++) {
        /* 1000 bounds the sum far from overflow; real maxima are 10. */
        if (g->min[i] <= 0 || g->min[i] > g->max[i] || g->max[i] > 1000) {
            snprintf(why, RULES_WHY_SIZE,
                     "indicator %d: minimum %d must be above 0 and at most the maximum %d", i + 1,
                     g->min[i], g->max[i]);
            return ERR_INVAL;
        }
        sum += g->max[i];
    }
    if (g->pass_total_disadv <= 0 || g->pass_total_disadv > g->pass_total ||
        g->pass_total > sum) {
        snprintf(why, RULES_WHY_SIZE,
                 "thresholds %d (disadvantaged %d) must satisfy 0 < disadvantaged <= pass <= %d",
                 g->pass_total, g->pass_total_disadv, sum);
        return ERR_INVAL;
    }
    return ERR_OK;
}

/* The checks in order: malformed or out-of-range input first (INVALID), then missing scores
 * (INCOMPLETE), then the total, then the minima, so that a sheet with both a low total and a
 * low indicator reports the total, which is what a volunteer fixes first. */
enum rules_verdict
rules_pass(const struct rules_group *g, const int score[], const uint8_t have[], int disadvantaged,
           int *total)
{
    *total = 0;
    if (g->n < 1 || g->n > (int)RULES_IND_MAX) {
        return RULES_INVALID;
    }
    int missing = 0, invalid = 0, below = 0;
    for (int i = 0; i < g->n; i++) {
        if (!have[i]) {
            missing = 1;
            continue;
        }
        if (score[i] < 0 || score[i] > g->max[i]) {
            invalid = 1;
            continue;
        }
        *total += score[i];
        below |= score[i] < g->min[i];
    }
    if (invalid) {
        return RULES_INVALID;
    }
    if (missing) {
        return RULES_INCOMPLETE;
    }
    if (*total < (disadvantaged ? g->pass_total_disadv : g->pass_total)) {
        return RULES_FAIL_TOTAL;
    }
    return below ? RULES_FAIL_MIN : RULES_PASS;
}

int
rules_disadvantaged(const int flags[], unsigned count)
{
    for (unsigned i = 0; i < count; i++) {
        if (flags[i] != -1) {
            return flags[i] != 0;
        }
    }
    return 0;
}

int
rules_exemplary(const int years[], size_t n, int y, int span)
{
    if (span < 1 || span > RULES_SPAN_MAX || y < INT_MIN + RULES_SPAN_MAX) {
        return 0;
    }
    /* span is small: one pass over years per year of the span. */
    for (int k = y - span + 1; k <= y; k++) {
        int found = 0;
        for (size_t i = 0; i < n && !found; i++) {
            found = years[i] == k;
        }
        if (!found) {
            return 0;
        }
    }
    return 1;
}

err_code
rules_collective_parse(const char *s, struct rules_collective *out)
{
    static const struct {
        const char *prefix;
        enum rules_collective_base base;
    } kinds[] = {{"adults_pct:", RULES_ADULTS_PCT}, {"members_pct:", RULES_MEMBERS_PCT}};
    if (s == NULL) {
        return ERR_INVAL;
    }
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        size_t n = strlen(kinds[k].prefix);
        if (strncmp(s, kinds[k].prefix, n) != 0) {
            continue;
        }
        const char *p = s + n;
        int v = 0;
        if (*p == '\0' || strlen(p) > 3) {
            return ERR_INVAL;
        }
        for (; *p != '\0'; p++) {
            if (*p < '0' || *p > '9') {
                return ERR_INVAL;
            }
            v = v * 10 + (*p - '0');
        }
        if (v > 100) {
            return ERR_INVAL;
        }
        out->base = kinds[k].base;
        out->pct = v;
        return ERR_OK;
    }
    return ERR_INVAL;
}

int
rules_collective_ok(const struct rules_collective *r, int adults, int adults_rec, int members,
                    int members_rec)
{
    long long den = r->base == RULES_ADULTS_PCT ? adults : members;
    long long rec = r->base == RULES_ADULTS_PCT ? adults_rec : members_rec;
    return den > 0 && rec * 100 >= (long long)r->pct * den;
}

/* ---- workflow ---- */

static const char *const rules_state_names[RULES_ST_COUNT] = {
    [RULES_ST_NONE] = "none",
    [RULES_ST_DRAFT] = "draft",
    [RULES_ST_SELF_SUBMITTED] = "self_submitted",
    [RULES_ST_BRANCH_REVIEWED] = "branch_reviewed",
    [RULES_ST_APPROVED] = "approved",
    [RULES_ST_REJECTED] = "rejected",
    [RULES_ST_RETURNED] = "returned",
    [RULES_ST_UNKNOWN] = "unknown",
};

const char *
rules_state_name(enum rules_state s)
{
    return (unsigned)s < RULES_ST_COUNT ? rules_state_names[s] : "unknown";
}

enum rules_state
rules_state_parse(const char *s)
{
    /* "none" and "unknown" are not values the view gives. */
    for (int i = RULES_ST_DRAFT; s != NULL && i < RULES_ST_UNKNOWN; i++) {
        if (strcmp(s, rules_state_names[i]) == 0) {
            return (enum rules_state)i;
        }
    }
    return RULES_ST_UNKNOWN;
}

/* SQL's "x = y" on two cells: true only when both are non-NULL and equal. */
static int
rules_same_text(const char *x, const char *y)
{
    return x != NULL && y != NULL && strcmp(x, y) == 0;
}

enum rules_state
rules_status(const struct rules_rows *a)
{
    if (!a->a_live) {
        return RULES_ST_NONE;
    }
    int a_ok = !a->a_round_null;
    if (a->p_live && a_ok && !a->p_round_null && a->p_round == a->a_round &&
        rules_same_text(a->p_unit, a->a_unit)) {
        return rules_state_parse(a->p_outcome);
    }
    if (a->r_live && a_ok && !a->r_round_null && a->r_round == a->a_round &&
        rules_same_text(a->r_unit, a->a_unit)) {
        /* The view: CASE outcome WHEN 'reviewed' ... ELSE 'returned' (NULL included). */
        return a->r_outcome != NULL && strcmp(a->r_outcome, "reviewed") == 0
                   ? RULES_ST_BRANCH_REVIEWED
                   : RULES_ST_RETURNED;
    }
    enum rules_state s = rules_state_parse(a->a_stage);
    /* The writer's stage is only ever draft or self_submitted. */
    return s == RULES_ST_DRAFT || s == RULES_ST_SELF_SUBMITTED ? s : RULES_ST_UNKNOWN;
}

const char *
rules_action_name(enum rules_action a)
{
    static const char *const names[RULES_ACT_COUNT] = {
        [RULES_ACT_REGISTER] = "register", [RULES_ACT_ASSESS] = "assess",
        [RULES_ACT_EVIDENCE] = "evidence add", [RULES_ACT_SUBMIT] = "assess --submit",
        [RULES_ACT_REVIEW] = "review",     [RULES_ACT_RETURN] = "return",
        [RULES_ACT_APPROVE] = "approve",   [RULES_ACT_REJECT] = "approve --reject",
    };
    return (unsigned)a < RULES_ACT_COUNT ? names[a] : "unknown";
}

unsigned
rules_review_roles(const char *review_role)
{
    /* An approver may always review; "writer" (the default) adds the branch's writers. */
    if (review_role != NULL && strcmp(review_role, "approver") == 0) {
        return SCHEMA_ROLE_APPROVER;
    }
    return SCHEMA_ROLE_WRITER | SCHEMA_ROLE_APPROVER;
}

#define S(x) (1u << (x))
#define RULES_SAME (-1)
#define RULES_REVIEWERS 0u /* the framework's review_roles */

/* The state machine (one row per allowed step). Anything not listed is refused; approved and
 * rejected are final for the year. */
static const struct {
    unsigned from; /* S(state) bits */
    enum rules_action act;
    int to;        /* enum rules_state, or RULES_SAME */
    unsigned roles; /* SCHEMA_ROLE_* bits, or RULES_REVIEWERS */
} rules_steps[] = {
    {S(RULES_ST_NONE) | S(RULES_ST_DRAFT), RULES_ACT_REGISTER, RULES_ST_DRAFT, SCHEMA_ROLE_WRITER},
    {S(RULES_ST_DRAFT) | S(RULES_ST_RETURNED), RULES_ACT_ASSESS, RULES_SAME, SCHEMA_ROLE_WRITER},
    {S(RULES_ST_DRAFT) | S(RULES_ST_RETURNED), RULES_ACT_EVIDENCE, RULES_SAME,
     SCHEMA_ROLE_WRITER | SCHEMA_ROLE_APPROVER},
    {S(RULES_ST_DRAFT) | S(RULES_ST_RETURNED), RULES_ACT_SUBMIT, RULES_ST_SELF_SUBMITTED,
     SCHEMA_ROLE_WRITER},
    {S(RULES_ST_SELF_SUBMITTED) | S(RULES_ST_BRANCH_REVIEWED), RULES_ACT_REVIEW,
     RULES_ST_BRANCH_REVIEWED, RULES_REVIEWERS},
    {S(RULES_ST_SELF_SUBMITTED), RULES_ACT_RETURN, RULES_ST_RETURNED, RULES_REVIEWERS},
    {S(RULES_ST_BRANCH_REVIEWED), RULES_ACT_RETURN, RULES_ST_RETURNED, SCHEMA_ROLE_APPROVER},
    {S(RULES_ST_BRANCH_REVIEWED), RULES_ACT_APPROVE, RULES_ST_APPROVED, SCHEMA_ROLE_APPROVER},
    {S(RULES_ST_BRANCH_REVIEWED), RULES_ACT_REJECT, RULES_ST_REJECTED, SCHEMA_ROLE_APPROVER},
};

static void
rules_roles_str(unsigned mask, char *buf, size_t cap)
{
    static const char *const names[] = {"writer", "approver", "hub", "auditor", "root",
                                        "reporter"};
    size_t n = 0;
    buf[0] = '\0';
    for (unsigned b = 0; b < sizeof names / sizeof names[0]; b++) {
        if (mask & (1u << b)) {
            int k = snprintf(buf + n, cap - n, "%s%s", n ? " or " : "", names[b]);
            if (k < 0 || (size_t)k >= cap - n) {
                return;
            }
            n += (size_t)k;
        }
    }
}

int
rules_transition(enum rules_state from, enum rules_action act, unsigned role_bits,
                 unsigned review_roles, enum rules_state *to, char why[RULES_WHY_SIZE])
{
    if (role_bits & RULES_ROLE_ROOT) {
        role_bits = ~0u; /* the root holds every role */
    }
    int seen = 0; /* a step exists for this action from somewhere */
    for (size_t i = 0; i < sizeof rules_steps / sizeof rules_steps[0]; i++) {
        if (rules_steps[i].act != act) {
            continue;
        }
        seen = 1;
        if ((unsigned)from >= 32 || !(rules_steps[i].from & S(from))) {
            continue;
        }
        unsigned need = rules_steps[i].roles == RULES_REVIEWERS ? review_roles : rules_steps[i].roles;
        if (!(role_bits & need)) {
            if (why != NULL) {
                char roles[48];
                rules_roles_str(need, roles, sizeof roles);
                snprintf(why, RULES_WHY_SIZE, "%s needs a grant of the %s role covering the unit",
                         rules_action_name(act), roles);
            }
            return 0;
        }
        if (to != NULL) {
            *to = rules_steps[i].to == RULES_SAME ? from : (enum rules_state)rules_steps[i].to;
        }
        return 1;
    }
    ASSERT(seen);
    if (why != NULL) {
        if (from == RULES_ST_APPROVED || from == RULES_ST_REJECTED) {
            snprintf(why, RULES_WHY_SIZE, "the assessment is %s: final for the year",
                     rules_state_name(from));
        } else if (from == RULES_ST_NONE) {
            snprintf(why, RULES_WHY_SIZE, "the person is not registered for the year");
        } else {
            snprintf(why, RULES_WHY_SIZE, "the assessment is %s; %s is not a step from there",
                     rules_state_name(from), rules_action_name(act));
        }
    }
    return 0;
}
