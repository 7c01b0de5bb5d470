/*
 * Aggregates above the raw-data ceiling (issue 5 item 5; docs/issue5-design.md sections 1.6 and
 * 7.5). A unit at the ceiling (a commune, or a district) computes its report for a year with
 * node/report.c's one pass over people's rows and publishes only the counts: one `aggregate`
 * row per target group (registered, assessed, passed, recognised) and one row for group "*"
 * (the plan metrics: holders with digital skills and proficient, adults of recognised learning
 * families and members of recognised learning units, each with how many hold the title). The
 * rows are written by a device holding a `reporter` grant, one leaf, signed like any other;
 * replicas above the ceiling hold that device's log and none of the people's (node/scope.h), and
 * their reports sum these rows (report.h, aggregate mode). No row names a person.
 */
#ifndef CDHT_AGGREGATE_H
#define CDHT_AGGREGATE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "report.h"

struct replica;
struct store;

/* The group that holds the metrics of a unit and year. */
#define AGGREGATE_GRP_METRICS "*"
/* Rows one publication writes: one per group and the metrics row. */
#define AGGREGATE_ROWS_MAX (REPORT_GROUPS_MAX + 1u)
/* The count columns of the aggregate table, in schema order after unit, year and grp. */
#define AGGREGATE_COUNTS 10u
/* Room for a refusal sentence. */
#define AGGREGATE_WHY_SIZE 256u

/* One aggregate row: its group and its counts (have[i] 0: the cell is NULL, as the group rows'
 * metric cells and the metric row's count cells are). */
struct aggregate_row {
    char grp[REPORT_GROUP_BUF];
    int64_t v[AGGREGATE_COUNTS];
    uint8_t have[AGGREGATE_COUNTS];
};
/* The column names of v[], in order: registered, assessed, passed, recognised, digital,
 * proficient, fam_adults, fam_adults_rec, lu_members, lu_members_rec. */
extern const char *const aggregate_cols[AGGREGATE_COUNTS];

/* The rows of a report built from people's rows (rep->aggregate 0): the whole unit's totals
 * (rep->g, rep->m), not its children's. *n gets the count (ngroups + 1). */
void aggregate_from_report(const struct report *rep, struct aggregate_row rows[AGGREGATE_ROWS_MAX],
                           size_t *n);

/* Computes unit's aggregates for year from src (a replica holding people's rows: the writer's
 * own store, or another home at the ceiling opened read-only) and writes them into w as one
 * leaf. Refused (ERR_DENIED, why set) when w holds no unexpired reporter grant covering unit
 * (pinned mode), or when unit lies above the ceiling in src (its report would be aggregates of
 * aggregates). ERR_NOTFOUND / ERR_INVAL as report_build, with why. *changed 0: w holds these
 * numbers already, nothing written. rows/n (may be NULL) get what was computed. */
err_code aggregate_publish(struct replica *w, struct store *src, const char *unit, int year,
                           struct aggregate_row rows[AGGREGATE_ROWS_MAX], size_t *n, int *changed,
                           char why[AGGREGATE_WHY_SIZE]) WARN_UNUSED;

#endif
