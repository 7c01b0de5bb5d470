/*
 * The yearly workflow of one person's assessment (issue 5 item 2; docs/DATA.md "The registry"):
 * register -> self scores and evidence -> self-submit -> branch review -> commune approval,
 * rejection or return for more evidence. Each action reads the assessment's rows (assessment,
 * self_score, review, approval), derives the status (node/rules.h, rules_status), checks the
 * step against the rules' state machine and this device's grants covering the assessment's unit
 * (node/trust.h; skipped in open mode, where the steps still apply), and only then builds and
 * commits one change. A refused action writes nothing and says why in one sentence: the current
 * status and what is needed. The merge-time check (trust.c) remains the second line.
 */
#ifndef CDHT_FLOW_H
#define CDHT_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "limits.h"
#include "rules.h"

struct replica;

/* Room for a refusal sentence (it names units, groups, indicator codes, never personal data). */
#define FLOW_WHY_SIZE 256u
/* A person id (replica_new_id: 16 characters); longer ones are refused before any lookup. */
#define FLOW_PERSON_SIZE_MAX 32u
/* "<year>:<person id>". */
#define FLOW_ID_SIZE (FLOW_PERSON_SIZE_MAX + 8u)
/* A framework pk "<unit>/<code>/<version>" (node/seed.h SEED_PK_SIZE). */
#define FLOW_FW_SIZE 64u
/* Short text cells read back: a group, a stage, an outcome, a digital level, a unit code. */
#define FLOW_WORD_SIZE 40u
/* The approver's free text cells: decision number, signer, note or reason. Longer input is
 * refused (the cells are personal data on paper too; a decision number is about 15 bytes). */
#define FLOW_TEXT_SIZE_MAX 512u
/* Years an assessment may name. */
#define FLOW_YEAR_MIN 2000
#define FLOW_YEAR_MAX 2100

/* Scores of one sheet, by indicator position (s01..s10); have[i] 0: not given. */
struct flow_scores {
    int v[RULES_IND_MAX];
    uint8_t have[RULES_IND_MAX];
};

/* Everything the workflow reads about one assessment key. Strings are empty when NULL. */
struct flow_state {
    char id[FLOW_ID_SIZE]; /* "<year>:<person>" */
    char person[FLOW_PERSON_SIZE_MAX + 1];
    int year;
    /* the person row */
    int person_live;
    char person_unit[FLOW_WORD_SIZE];
    char person_group[FLOW_WORD_SIZE];
    /* assessment (the writer's row) */
    int a_live;
    char unit[FLOW_WORD_SIZE];
    char group[FLOW_WORD_SIZE];
    char framework[FLOW_FW_SIZE];
    char digital[FLOW_WORD_SIZE];
    int64_t round;
    int round_null;
    char stage[FLOW_WORD_SIZE];
    /* self_score */
    int s_live;
    struct flow_scores self;
    /* review (the reviewer's row) */
    int r_live;
    char r_unit[FLOW_WORD_SIZE];
    int64_t r_round;
    int r_round_null;
    char r_outcome[FLOW_WORD_SIZE];
    struct flow_scores review;
    /* approval (the approver's row) */
    int p_live;
    char p_unit[FLOW_WORD_SIZE];
    int64_t p_round;
    int p_round_null;
    char p_outcome[FLOW_WORD_SIZE];
    int64_t p_total;
    char p_number[FLOW_TEXT_SIZE_MAX + 1];
    char p_date[FLOW_WORD_SIZE];
    char p_signer[FLOW_TEXT_SIZE_MAX + 1];
    /* derived */
    enum rules_state status;
};

/* Reads person's assessment of year. ERR_INVAL: a person id or year out of shape (why says
 * which); ERR_MSGSIZE: a stored cell longer than its buffer (damaged or foreign data). */
err_code flow_read(struct replica *r, const char *person, int year, struct flow_state *s,
                   char why[FLOW_WHY_SIZE]) WARN_UNUSED;

/* ---- the framework an assessment is scored against ---- */

struct flow_framework {
    char id[FLOW_FW_SIZE];
    int exemplary_years; /* 5 when not given */
    char review_role[FLOW_WORD_SIZE];
};
/* One group: its thresholds and its indicators' codes ("1.1") by position. */
struct flow_group {
    char grp[FLOW_WORD_SIZE];
    struct rules_group g;
    char code[RULES_IND_MAX][FLOW_WORD_SIZE];
};
/* The framework that applies to unit in year: among the live frameworks whose publisher unit is
 * "*" or an ancestor-or-equal of unit and whose years hold year, the nearest publisher, then
 * the highest version. ERR_NOTFOUND when none. */
err_code flow_framework_choose(struct replica *r, const char *unit, int year,
                               char out[FLOW_FW_SIZE]) WARN_UNUSED;
err_code flow_framework_get(struct replica *r, const char *fw,
                            struct flow_framework *out) WARN_UNUSED; /* ERR_NOTFOUND */
/* ERR_NOTFOUND: grp is not a group of fw; ERR_CORRUPT: its indicators do not form a valid
 * group (rules_group_check). */
err_code flow_group_get(struct replica *r, const char *fw, const char *grp,
                        struct flow_group *out) WARN_UNUSED;
/* The group of the framework s's registration recorded, and (review_roles, may be NULL) who
 * may review under it. ERR_NOTFOUND with why when this replica does not hold them. */
err_code flow_assessment_group(struct replica *r, const struct flow_state *s, struct flow_group *g,
                               unsigned *review_roles, char why[FLOW_WHY_SIZE]) WARN_UNUSED;
/* The unit's disadvantaged flag as it applies on 31 December of year (rules_disadvantaged over
 * the unit and its ancestors). */
err_code flow_disadvantaged(struct replica *r, const char *unit, int year, int *out) WARN_UNUSED;

/* Parses scores for g: list "8,9,7,..." (exactly g->n values; may be NULL) then each "1.1=8"
 * pair in pairs (may override). Values must lie in 0..max. ERR_INVAL with a sentence ("--scores:
 * indicator 2.2 is 11; its maximum is 10"). out's have[] marks what was given. */
err_code flow_scores_parse(const struct flow_group *g, const char *list, const char *const *pairs,
                           size_t npairs, struct flow_scores *out,
                           char why[FLOW_WHY_SIZE]) WARN_UNUSED;
/* One line on what the scores mean: "total 82/100: meets the criteria (80; minimum 5)". *verdict
 * and *total (may be NULL) get rules_pass's answer. */
void flow_preview(const struct flow_group *g, const struct flow_scores *sc, int disadvantaged,
                  char out[FLOW_WHY_SIZE], enum rules_verdict *verdict, int *total);

/* ---- checking a step ---- */

/* The role bits (trust.h): writer .. reporter, bits 0..5. */
#define FLOW_ROLE_BITS 6u
/* This device's unexpired grants against unit, for the write-time checks (the commit's trust
 * check is the second line): the roles of grants covering unit, the roles held anywhere (and,
 * per role bit, the unit of the first such grant, to say which unit it does cover), and the
 * roles held only by expired grants. Expiry is judged on today's date in Vietnam. */
struct flow_grants_of {
    unsigned covering, held, expired;
    char held_unit[FLOW_ROLE_BITS][FLOW_WORD_SIZE];
};
err_code flow_grants_of(struct replica *r, const char *unit,
                        struct flow_grants_of *out) WARN_UNUSED;

/* May this device take act on s now? ERR_OK (and *to, may be NULL, gets the status afterwards),
 * or ERR_DENIED with why: the status is wrong for the step (named, with what is needed), or no
 * grant of the needed role covers s's unit. review_roles: rules_review_roles of the
 * framework's review_role. In open mode only the status is checked. */
err_code flow_check(struct replica *r, const struct flow_state *s, enum rules_action act,
                    unsigned review_roles, enum rules_state *to,
                    char why[FLOW_WHY_SIZE]) WARN_UNUSED;

/* ---- the actions: check, build, commit (one leaf each) ----
 * Each returns ERR_OK, or an error with why set to a sentence (ERR_DENIED: a refused step;
 * ERR_INVAL, ERR_NOTFOUND: bad input), or an error with why empty (the commit failed: ERR_DENIED
 * from the merge-time check with r->denied, ERR_CLOCK, ERR_DB...). Nothing is written on error. */

struct flow_register_args {
    const char *person;
    int year;
    const char *group;     /* NULL: the person's target group */
    const char *framework; /* NULL: flow_framework_choose */
    const char *digital;   /* none | basic | proficient; NULL: not said */
};
/* *changed 0: registered already with these values, nothing written. */
err_code flow_register(struct replica *r, const struct flow_register_args *a, int *changed,
                       char why[FLOW_WHY_SIZE]) WARN_UNUSED;

struct flow_assess_args {
    const char *person;
    int year;
    const struct flow_scores *scores; /* those given; merged with the stored self scores */
    const char *digital;              /* NULL: unchanged */
    const char *note;                 /* NULL: none; the overall self note */
    int submit;
};
err_code flow_assess(struct replica *r, const struct flow_assess_args *a,
                     char why[FLOW_WHY_SIZE]) WARN_UNUSED;

/* A branch review of every indicator. scores NULL: confirm the self scores as they are. */
err_code flow_review(struct replica *r, const char *person, int year,
                     const struct flow_scores *scores, const char *note,
                     char why[FLOW_WHY_SIZE]) WARN_UNUSED;

/* Back for more evidence: from self_submitted a review "returned" (the reviewer), from
 * branch_reviewed an approval "returned" (the approver). reason is required. */
err_code flow_return(struct replica *r, const char *person, int year, const char *reason,
                     char why[FLOW_WHY_SIZE]) WARN_UNUSED;

struct flow_decision {
    const char *number; /* "12/QĐ-KH" */
    const char *date;   /* YYYY-MM-DD */
    const char *signer;
    const char *reason; /* required with reject; stored as the note */
    int reject;
};
/* Approves (or rejects) a branch_reviewed assessment: one approval row, every column, one
 * leaf. Approving a total that does not meet the criteria is refused. *total gets the review
 * total written. */
err_code flow_approve(struct replica *r, const char *person, int year,
                      const struct flow_decision *d, int *total,
                      char why[FLOW_WHY_SIZE]) WARN_UNUSED;

struct flow_evidence_args {
    const char *person;
    int year;
    const char *kind;        /* photo | certificate | attendance | document | other */
    const char *indicator;   /* "1.3" or NULL (general) */
    const char *description; /* may be NULL */
    const char *added_by;    /* may be NULL */
    const uint8_t *buf;      /* the file's bytes */
    size_t len;
};
/* Stores the file under the home (node/evidence.h) and writes its row. *changed 0: the row was
 * there already, nothing written. */
err_code flow_evidence_add(struct replica *r, const struct flow_evidence_args *a,
                           uint8_t hash[HASH_SIZE], int *changed,
                           char why[FLOW_WHY_SIZE]) WARN_UNUSED;

#endif
