/*
 * The Learning Citizen report of one unit and year (issue 5 item 4; docs/issue5 design section
 * 7): per child unit and target group, how many were registered, assessed and passed, and the
 * plan metrics against the targets of the unit's own plan and its parents'. report_build reads a
 * replica in one pass over the year's key range and fills a struct report; tools/report*.c only
 * format it. Memory is O(units + groups + recognised collectives), never O(people).
 */
#ifndef CDHT_REPORT_H
#define CDHT_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "units.h"

struct store;

/* Target groups one report tells apart. The seed framework has 3, some provinces add
 * entrepreneurs and managers; 16 keeps the per-unit counters a few hundred bytes. More distinct
 * groups in one year: ERR_MSGSIZE (a framework that large is a data error worth a stop). */
#define REPORT_GROUPS_MAX 16u
#define REPORT_GROUP_BUF 33u /* a group code and its NUL */
/* Years the HTML per-year chart covers (the report's year and the ones before it): one range
 * scan each, so this bounds the cost of an HTML report at five times a table's. */
#define REPORT_YEARS_MAX 5u
/* Plans whose targets apply (the unit's own, each ancestor's, the national one): one per level of
 * the tree plus the national programme; more live plans on one path are ignored beyond this. */
#define REPORT_PLANS_MAX (UNITS_DEPTH_MAX + 1u)
#define REPORT_PLAN_BUF 65u /* a plan pk "<unit>/<code>" and its NUL */
/* Recognised collectives of one year held in memory to test membership (design section 7.3): a
 * province has about 10^5 learning families; 10^6 (about 40 MiB of ids) is ten times that, and
 * still only a fraction of a national replica's people. More: ERR_MSGSIZE. */
#define REPORT_COLLECTIVES_MAX 1000000u

/* The plan metrics (design section 1.2), in the order reports print them. */
enum report_metric {
    REPORT_M_TRAINED = 0,     /* officers trained: no data is collected, always "no data" */
    REPORT_M_FAMILY_ADULTS,   /* adults in recognised families/clans/communities: holders */
    REPORT_M_UNIT_WORKERS,    /* members of recognised learning units: holders */
    REPORT_M_HOLDERS_DIGITAL, /* title holders of the year: with digital skills */
    REPORT_M_HOLDERS_PROF,    /* holders with digital skills: proficient */
};
#define REPORT_METRICS 5
const char *report_metric_code(enum report_metric m); /* "family_adults", ... */
/* The metric of a plan_target.metric string; -1 when unknown. */
int report_metric_parse(const char *code);

/* Registered, assessed (branch_reviewed, approved or rejected) and passed (approved). */
struct report_counts {
    int64_t registered, assessed, passed;
};

/* One metric: num of den (den 0: no data). */
struct report_ratio {
    int64_t num, den;
};

/* One row of the report: a child unit of the report's unit, or (self = 1) the report's unit
 * itself, for rows recorded directly at it (a commune's officials). */
struct report_child {
    char code[UNITS_CODE_BUF];
    char *name;        /* owned; the code when the unit has no name */
    char *sort_key;    /* owned: fold_text of the name (report.c, report_sort) */
    int disadvantaged; /* 0 or 1: the first flag found walking up (rules_disadvantaged) */
    int self;
    struct report_counts g[REPORT_GROUPS_MAX]; /* per group, index as report.groups */
    struct report_counts all;
    struct report_ratio m[REPORT_METRICS];
};

struct report_group {
    char code[REPORT_GROUP_BUF];
    char *name_vi, *name_en; /* owned; the code when the framework does not name it */
};

/* One target that applies: plan P sets pct for metric M by milestone year. */
struct report_target {
    char plan[REPORT_PLAN_BUF];
    char plan_unit[UNITS_CODE_BUF]; /* "*": national */
    char level[16];                 /* national | province | commune | ... */
    int depth; /* 0: the report unit's own plan, 1: its parent's, ...; national last */
    enum report_metric metric;
    int milestone; /* the first target year >= the report's year (else the last one) */
    int pct;       /* 0..100 */
};

/* The whole unit's totals in one year (the HTML per-year chart). */
struct report_year {
    int year;
    struct report_counts all;
    struct report_ratio m[REPORT_METRICS];
};

struct report {
    char unit[UNITS_CODE_BUF];
    char *unit_name; /* owned */
    int year;
    char as_of[UNITS_DATE_BUF]; /* the units tree's date: 31 December of year unless given */
    struct report_group groups[REPORT_GROUPS_MAX];
    unsigned ngroups;
    struct report_child *children; /* owned, sorted by Vietnamese collation of the name */
    size_t nchildren;
    struct report_counts g[REPORT_GROUPS_MAX]; /* the whole unit */
    struct report_counts all;
    struct report_ratio m[REPORT_METRICS];
    struct report_target *targets; /* owned; nearest plan first, then metric order */
    size_t ntargets;
    struct report_year years[REPORT_YEARS_MAX]; /* oldest first; only years with data */
    unsigned nyears;
    int64_t outside; /* live assessment rows of the year whose unit is not under the unit */
    int adult_age;   /* from the framework in force for the year (18 by default) */
    /* 1: summed from the aggregate rows published below the raw-data ceiling (node/aggregate.h),
     * not from people's rows; outside is then 0 and adult_age the framework's, unused. */
    int aggregate;
};

/* Where the counts come from. AUTO: aggregates when the report's unit lies above the raw-data
 * ceiling (node/scope.h scope_unit_above_ceiling), people's rows otherwise. Raw data and
 * aggregates are never mixed in one report. */
enum report_source { REPORT_SOURCE_AUTO = 0, REPORT_SOURCE_RAW, REPORT_SOURCE_AGGREGATE };
/* Aggregate rows of one year a report reads (pk "<year>:<unit>:<grp>"): the country's 3,321
 * communes times a few groups is about 20,000; 10^6 bounds a deployment that publishes per
 * village too (about 100 MiB of keys at worst). More: ERR_MSGSIZE. */
#define REPORT_AGG_ROWS_MAX 1000000u

struct report_opts {
    const char *as_of; /* YYYY-MM-DD: the tree's date; NULL: 31 December of the year */
    int years;         /* 1: also fill report.years (REPORT_YEARS_MAX scans); 0: not */
    enum report_source source;
};

/* Builds the report of unit for year. On ERR_OK *out is malloc'd and owned by the caller
 * (report_free). ERR_NOTFOUND: unit is not a live unit. ERR_INVAL: unit was succeeded at the date
 * (succ, when not NULL, gets the successor's code) or year is outside 1900..9999. ERR_MSGSIZE: a
 * bound above was exceeded. ERR_CORRUPT: the units tree has a cycle. */
err_code report_build(struct store *st, const char *unit, int year, const struct report_opts *o,
                      struct report **out, char succ[UNITS_CODE_BUF]) WARN_UNUSED;
void report_free(struct report *r);

/* num/den as a per-mille integer rounded half up, so every format prints the same digits; -1 when
 * den is 0 ("no data"). */
int64_t report_permille(int64_t num, int64_t den);

enum report_state { REPORT_NO_DATA = 0, REPORT_ON_TRACK, REPORT_BEHIND };
/* on track when the actual share is at least the target, behind when below, no data when the
 * metric's denominator is 0 (never 0%). */
enum report_state report_target_state(const struct report_target *t, const struct report_ratio *m);

#endif
