/*
 * Publishing aggregates (aggregate.h): the report of a unit at the raw-data ceiling, reduced to
 * counts, written as `aggregate` rows (pk "<year>:<unit>:<grp>") in one leaf of a reporter's
 * log. The numbers are report_build's, so a report above the ceiling that sums them shows what
 * the unit's own report shows. Publishing again replaces the rows (last writer wins per cell);
 * the same numbers again write nothing.
 */
#include "aggregate.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "domain.h"
#include "flow.h"
#include "hlc.h"
#include "replica.h"
#include "scope.h"
#include "store.h"
#include "trust.h"


const char *const aggregate_cols[AGGREGATE_COUNTS] = {
    "registered", "assessed",   "passed",         "recognised", "digital",
    "proficient", "fam_adults", "fam_adults_rec", "lu_members", "lu_members_rec",
};

static_assert(AGGREGATE_COUNTS + 3u + 1u <= SCHEMA_COLS_MAX, "a row fits the clock mask");
/* The pk "<year>:<unit>:<grp>" is printed with %.32s for both (unit codes and groups). */
static_assert(UNIT_CODE_SIZE_MAX == 32u && REPORT_GROUP_BUF == 33u, "pk format widths");
static_assert(5u + 32u + 1u + 32u < PK_SIZE_MAX, "the pk fits");

void
aggregate_from_report(const struct report *rep, struct aggregate_row rows[AGGREGATE_ROWS_MAX],
                      size_t *n)
{
    ASSERT(!rep->aggregate);
    ASSERT(rep->ngroups <= REPORT_GROUPS_MAX);
    *n = 0;
    for (unsigned g = 0; g < rep->ngroups; g++) {
        struct aggregate_row *a = &rows[(*n)++];
        memset(a, 0, sizeof *a);
        snprintf(a->grp, sizeof a->grp, "%s", rep->groups[g].code);
        /* report.c counts as passed the effective approvals: the holders of the title. */
        const int64_t v[4] = {rep->g[g].registered, rep->g[g].assessed, rep->g[g].passed,
                              rep->g[g].passed};
        for (unsigned i = 0; i < 4; i++) {
            a->v[i] = v[i];
            a->have[i] = 1;
        }
    }
    struct aggregate_row *m = &rows[(*n)++];
    memset(m, 0, sizeof *m);
    snprintf(m->grp, sizeof m->grp, "%s", AGGREGATE_GRP_METRICS);
    const int64_t v[6] = {
        rep->m[REPORT_M_HOLDERS_DIGITAL].num, rep->m[REPORT_M_HOLDERS_PROF].num,
        rep->m[REPORT_M_FAMILY_ADULTS].den,   rep->m[REPORT_M_FAMILY_ADULTS].num,
        rep->m[REPORT_M_UNIT_WORKERS].den,    rep->m[REPORT_M_UNIT_WORKERS].num,
    };
    for (unsigned i = 0; i < 6; i++) {
        m->v[4 + i] = v[i];
        m->have[4 + i] = 1;
    }
    ASSERT(*n <= AGGREGATE_ROWS_MAX);
}

/* 1 when w holds every row exactly as computed (NULLs included). */
static err_code
aggregate_same(struct replica *w, const char *unit, int year, const struct aggregate_row *rows,
               size_t n, int *same)
{
    sqlite3_stmt *q = store_stmt(w->st, "SELECT registered, assessed, passed, recognised, digital, "
                                        "proficient, fam_adults, fam_adults_rec, lu_members, "
                                        "lu_members_rec FROM aggregate WHERE id=?1 AND _live");
    *same = 1;
    if (q == NULL) {
        return ERR_DB;
    }
    for (size_t r = 0; r < n && *same; r++) {
        char pk[PK_SIZE_MAX];
        snprintf(pk, sizeof pk, "%d:%.32s:%.32s", year, unit, rows[r].grp);
        sqlite3_bind_text(q, 1, pk, -1, SQLITE_TRANSIENT);
        int src = sqlite3_step(q);
        if (src == SQLITE_ROW) {
            for (unsigned i = 0; i < AGGREGATE_COUNTS && *same; i++) {
                int null = sqlite3_column_type(q, (int)i) == SQLITE_NULL;
                *same = null == !rows[r].have[i] &&
                        (null || sqlite3_column_int64(q, (int)i) == rows[r].v[i]);
            }
        } else {
            *same = 0;
        }
        sqlite3_reset(q);
        if (src != SQLITE_ROW && src != SQLITE_DONE) {
            return store_err(w->st, src, "aggregate");
        }
    }
    return ERR_OK;
}

err_code
aggregate_publish(struct replica *w, struct store *src, const char *unit, int year,
                  struct aggregate_row rows[AGGREGATE_ROWS_MAX], size_t *n, int *changed,
                  char why[AGGREGATE_WHY_SIZE])
{
    ASSERT(w != NULL);
    ASSERT(src != NULL);
    struct aggregate_row local[AGGREGATE_ROWS_MAX];
    size_t nrows = 0;
    struct report *rep = NULL;
    char succ[UNITS_CODE_BUF] = "";
    int above = 0;
    *changed = 0;
    why[0] = '\0';
    rows = rows != NULL ? rows : local;
    if (w->pinned) {
        struct flow_grants_of g;
        err_code rc = flow_grants_of(w, unit, &g);
        if (rc != ERR_OK) {
            return rc;
        }
        if (!(g.covering & (TRUST_REPORTER | TRUST_ROOT))) {
            snprintf(why, AGGREGATE_WHY_SIZE,
                     "this device holds no reporter grant covering unit %s (the root issues one: "
                     "cdht cert issue ... --role reporter --unit %s)",
                     unit, unit);
            return ERR_DENIED;
        }
    }
    err_code rc = scope_unit_above_ceiling(src, unit, &above);
    if (rc != ERR_OK) {
        return rc;
    }
    if (above) {
        snprintf(why, AGGREGATE_WHY_SIZE,
                 "unit %s lies above the raw-data ceiling; its units at the ceiling publish "
                 "their own aggregates",
                 unit);
        return ERR_DENIED;
    }
    const struct report_opts o = {.source = REPORT_SOURCE_RAW};
    rc = report_build(src, unit, year, &o, &rep, succ);
    if (rc == ERR_NOTFOUND) {
        snprintf(why, AGGREGATE_WHY_SIZE, "unknown unit %s (cdht unit list shows them)", unit);
        return rc;
    }
    if (rc == ERR_INVAL) {
        snprintf(why, AGGREGATE_WHY_SIZE,
                 succ[0] ? "unit %s was succeeded by %s; publish for the successor"
                         : "unit %s or the year is out of range%s",
                 unit, succ);
        return rc;
    }
    if (rc != ERR_OK) {
        return rc;
    }
    aggregate_from_report(rep, rows, &nrows);
    report_free(rep);
    if (n != NULL) {
        *n = nrows;
    }
    int same = 0;
    if ((rc = aggregate_same(w, unit, year, rows, nrows, &same)) != ERR_OK || same) {
        return rc;
    }
    struct replica_txn *t = NULL;
    if ((rc = replica_txn_new(w, &t)) != ERR_OK) {
        return rc;
    }
    for (size_t r = 0; rc == ERR_OK && r < nrows; r++) {
        char pk[PK_SIZE_MAX];
        struct replica_cell cells[AGGREGATE_COUNTS + 3];
        size_t k = 0;
        snprintf(pk, sizeof pk, "%d:%.32s:%.32s", year, unit, rows[r].grp);
        cells[k++] = (struct replica_cell){.col = "unit", .type = SCHEMA_TEXT, .s = unit};
        cells[k++] = (struct replica_cell){.col = "year", .type = SCHEMA_INT, .i = year};
        cells[k++] = (struct replica_cell){.col = "grp", .type = SCHEMA_TEXT, .s = rows[r].grp};
        for (unsigned i = 0; i < AGGREGATE_COUNTS; i++) {
            cells[k++] = (struct replica_cell){.col = aggregate_cols[i],
                                               .type = SCHEMA_INT,
                                               .i = rows[r].v[i],
                                               .is_null = !rows[r].have[i]};
        }
        rc = replica_txn_put(t, "aggregate", pk, 1, cells, k, 0);
    }
    if (rc != ERR_OK) {
        replica_txn_free(t);
        return rc;
    }
    if ((rc = replica_txn_commit(w, t, NULL)) == ERR_OK) {
        *changed = 1;
    }
    return rc;
}
