/*
 * The Learning Citizen report (report.h): one pass over a year's key range. The per-person rows
 * of a year are keyed "<year>:<person>" in WITHOUT ROWID tables, so assessment, review and
 * approval of one year are three pk-ordered range scans that advance together (a merge join):
 * no secondary index, no random seek, and memory for the units and groups only. Each row's unit
 * is mapped once (a hash map from code to report row) through successions and parents at the
 * report's date to the child of the report's unit it falls under, so an old village's or
 * commune's data counts under its successor. The status of each assessment is rules_status, the
 * same function the assessment_state view mirrors. The collective metrics add a fourth cursor,
 * collective_member (pk "<person>:<collective>", so in person order too), run only when some
 * collective was recognised in the year. Above the raw-data ceiling (node/scope.h) the same
 * counters are filled from the aggregate rows the units at the ceiling published
 * (node/aggregate.h): one range scan of the year, through the same unit map.
 */
#include "report.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "fold.h"
#include "rules.h"
#include "scope.h"
#include "store.h"

static_assert(REPORT_GROUPS_MAX <= 64u, "per-unit counters stay small");

const char *
report_metric_code(enum report_metric m)
{
    static const char *const codes[REPORT_METRICS] = {
        [REPORT_M_TRAINED] = "trained",
        [REPORT_M_FAMILY_ADULTS] = "family_adults",
        [REPORT_M_UNIT_WORKERS] = "unit_workers",
        [REPORT_M_HOLDERS_DIGITAL] = "holders_digital",
        [REPORT_M_HOLDERS_PROF] = "holders_proficient",
    };
    return (unsigned)m < REPORT_METRICS ? codes[m] : "unknown";
}

int
report_metric_parse(const char *code)
{
    for (int m = 0; code != NULL && m < REPORT_METRICS; m++) {
        if (strcmp(code, report_metric_code((enum report_metric)m)) == 0) {
            return m;
        }
    }
    return -1;
}

int64_t
report_permille(int64_t num, int64_t den)
{
    if (den <= 0) {
        return -1;
    }
    ASSERT(num >= 0);
    return (num * 2000 + den) / (2 * den);
}

enum report_state
report_target_state(const struct report_target *t, const struct report_ratio *m)
{
    int64_t pm = report_permille(m->num, m->den);
    if (pm < 0) {
        return REPORT_NO_DATA;
    }
    return pm >= (int64_t)t->pct * 10 ? REPORT_ON_TRACK : REPORT_BEHIND;
}

/* ---- the map from a row's unit code to a report row -------------------------------------- */

#define REPORT_OUTSIDE (-1)

struct report_map_ent {
    char *code; /* owned; NULL: empty slot */
    int idx;    /* report row, or REPORT_OUTSIDE */
};

struct report_ctx {
    struct store *st;
    struct report *r;
    size_t children_cap;
    struct report_map_ent *map; /* owned, open addressing, map_cap a power of two */
    size_t map_cap, map_count;
    char path[UNITS_DEPTH_MAX][UNITS_CODE_BUF]; /* the report unit and its ancestors at as_of */
    unsigned npath;
    char **coll; /* owned: recognised collectives of the year being scanned, sorted */
    size_t ncoll;
};

static uint64_t
report_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a: short codes, no adversary (our own rows) */
    for (; *s; s++) {
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    }
    return h;
}

static char *
report_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL) {
        memcpy(d, s, n);
    }
    return d;
}

static const char *
report_col(sqlite3_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(s, i);
}

/* A unit's name (the code when unnamed or not live) and own disadvantaged flag (-1: never
 * written). *name is malloc'd. */
static err_code
report_unit_row(struct store *st, const char *code, char **name, int *flag, int *found)
{
    static const char sql[] = "SELECT name, disadvantaged FROM unit WHERE code=?1 AND _live";
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_text(s, 1, code, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    const char *n = NULL;
    *flag = -1;
    *found = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW) {
        n = report_col(s, 0);
        if (sqlite3_column_type(s, 1) == SQLITE_INTEGER) {
            *flag = sqlite3_column_int64(s, 1) != 0;
        }
    }
    *name = report_strdup(n != NULL && *n ? n : code);
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        free(*name);
        *name = NULL;
        return store_err(st, rc, "report unit");
    }
    return *name == NULL ? ERR_NOMEM : ERR_OK;
}

/* Adds a report row for code (self: the report unit itself). Its disadvantaged flag is the first
 * one written on its path up (rules_disadvantaged), so a village inherits its commune's. */
static err_code
report_child_add(struct report_ctx *x, const char *code, int self, int *idx)
{
    struct report *r = x->r;
    if (r->nchildren == x->children_cap) {
        size_t cap = x->children_cap ? 2 * x->children_cap : 16;
        if (cap > UNITS_TREE_COUNT_MAX) {
            return ERR_MSGSIZE;
        }
        struct report_child *c = realloc(r->children, cap * sizeof *c);
        if (c == NULL) {
            return ERR_NOMEM;
        }
        r->children = c;
        x->children_cap = cap;
    }
    struct report_child *c = &r->children[r->nchildren];
    memset(c, 0, sizeof *c);
    snprintf(c->code, sizeof c->code, "%s", code);
    c->self = self;
    int flags[UNITS_DEPTH_MAX + 1], found = 0;
    unsigned nf = 0;
    err_code rc = report_unit_row(x->st, code, &c->name, &flags[nf++], &found);
    if (rc != ERR_OK) {
        return rc;
    }
    /* The child's ancestors are the report unit's path (the child's parent rolls up to it). */
    for (unsigned i = self ? 1 : 0; rc == ERR_OK && i < x->npath; i++) {
        char *ignored = NULL;
        rc = report_unit_row(x->st, x->path[i], &ignored, &flags[nf++], &found);
        free(ignored);
    }
    c->disadvantaged = rules_disadvantaged(flags, nf);
    char key[FOLD_KEY_SIZE];
    if (rc == ERR_OK && fold_text(c->name, key, sizeof key) != ERR_OK) {
        snprintf(key, sizeof key, "%s", c->name); /* not UTF-8: sort by bytes */
    }
    if (rc == ERR_OK && (c->sort_key = report_strdup(key)) == NULL) {
        rc = ERR_NOMEM;
    }
    if (rc != ERR_OK) {
        free(c->name);
        free(c->sort_key);
        return rc;
    }
    *idx = (int)r->nchildren++;
    return ERR_OK;
}

static int
report_child_find(const struct report *r, const char *code, int self)
{
    for (size_t i = 0; i < r->nchildren; i++) {
        if (r->children[i].self == self && strcmp(r->children[i].code, code) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* Where code's rows count: its path at as_of (successions followed), cut at the report unit. */
static err_code
report_resolve(struct report_ctx *x, const char *code, int *idx)
{
    char path[UNITS_DEPTH_MAX][UNITS_CODE_BUF];
    unsigned n = 0;
    *idx = REPORT_OUTSIDE;
    err_code rc = units_ancestors(x->st, NULL, code, x->r->as_of, path, &n);
    if (rc != ERR_OK) {
        return rc;
    }
    for (unsigned i = 0; i < n; i++) {
        if (strcmp(path[i], x->r->unit) != 0) {
            continue;
        }
        const char *child = i == 0 ? x->r->unit : path[i - 1];
        int self = i == 0;
        *idx = report_child_find(x->r, child, self);
        return *idx >= 0 ? ERR_OK : report_child_add(x, child, self, idx);
    }
    return ERR_OK;
}

static err_code
report_map_grow(struct report_ctx *x)
{
    size_t cap = x->map_cap ? 2 * x->map_cap : 1024;
    struct report_map_ent *m = calloc(cap, sizeof *m);
    if (m == NULL) {
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < x->map_cap; i++) {
        if (x->map[i].code == NULL) {
            continue;
        }
        size_t j = (size_t)report_hash(x->map[i].code) & (cap - 1);
        while (m[j].code != NULL) {
            j = (j + 1) & (cap - 1);
        }
        m[j] = x->map[i];
    }
    free(x->map);
    x->map = m;
    x->map_cap = cap;
    return ERR_OK;
}

/* The report row of a unit code, resolved on first sight. NULL code: outside. */
static err_code
report_map(struct report_ctx *x, const char *code, int *idx)
{
    *idx = REPORT_OUTSIDE;
    if (code == NULL) {
        return ERR_OK;
    }
    if (x->map_count * 2 >= x->map_cap) {
        if (x->map_count >= UNITS_TREE_COUNT_MAX) {
            return ERR_MSGSIZE; /* more distinct codes than the units tree may hold */
        }
        err_code rc = report_map_grow(x);
        if (rc != ERR_OK) {
            return rc;
        }
    }
    size_t j = (size_t)report_hash(code) & (x->map_cap - 1);
    /* The table is at most half full, so the probe ends at an empty slot. */
    while (x->map[j].code != NULL) {
        if (strcmp(x->map[j].code, code) == 0) {
            *idx = x->map[j].idx;
            return ERR_OK;
        }
        j = (j + 1) & (x->map_cap - 1);
    }
    err_code rc = report_resolve(x, code, idx);
    if (rc != ERR_OK) {
        return rc;
    }
    if ((x->map[j].code = report_strdup(code)) == NULL) {
        return ERR_NOMEM;
    }
    x->map[j].idx = *idx;
    x->map_count++;
    return ERR_OK;
}

/* ---- groups, adult age, collectives ------------------------------------------------------ */

static err_code
report_group_add(struct report *r, const char *code, const char *vi, const char *en, int *gi)
{
    for (unsigned i = 0; i < r->ngroups; i++) {
        if (strcmp(r->groups[i].code, code) == 0) {
            *gi = (int)i;
            return ERR_OK;
        }
    }
    if (r->ngroups == REPORT_GROUPS_MAX || strlen(code) >= REPORT_GROUP_BUF) {
        return ERR_MSGSIZE;
    }
    struct report_group *g = &r->groups[r->ngroups];
    snprintf(g->code, sizeof g->code, "%s", code);
    g->name_vi = report_strdup(vi != NULL ? vi : code);
    g->name_en = report_strdup(en != NULL ? en : code);
    if (g->name_vi == NULL || g->name_en == NULL) {
        free(g->name_vi);
        free(g->name_en);
        return ERR_NOMEM;
    }
    *gi = (int)r->ngroups++;
    return ERR_OK;
}

/* The groups every published framework names, in their display order, so that a group with no
 * registration still gets its (zero) rows and the columns stay stable from year to year. */
static err_code
report_groups_load(struct report_ctx *x)
{
    static const char sql[] = "SELECT grp, name_vi, name_en FROM framework_group "
                              "WHERE _live AND grp IS NOT NULL ORDER BY pos, grp, id";
    sqlite3_stmt *s = store_stmt(x->st, sql);
    if (s == NULL) {
        return ERR_DB;
    }
    int rc;
    err_code e = ERR_OK;
    while (e == ERR_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        int gi;
        e = report_group_add(x->r, report_col(s, 0), report_col(s, 1), report_col(s, 2), &gi);
    }
    if (e == ERR_OK && rc != SQLITE_DONE) {
        e = store_err(x->st, rc, "report groups");
    }
    sqlite3_reset(s);
    return e;
}

static err_code
report_adult_age(struct report_ctx *x)
{
    static const char sql[] =
        "SELECT adult_age FROM framework WHERE _live AND adult_age IS NOT NULL "
        "AND (year_from IS NULL OR year_from <= ?1) AND (year_to IS NULL OR year_to >= ?1) "
        "ORDER BY version DESC, id LIMIT 1";
    sqlite3_stmt *s = store_stmt(x->st, sql);
    if (s == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_int(s, 1, x->r->year);
    int rc = sqlite3_step(s);
    x->r->adult_age = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 18;
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store_err(x->st, rc, "report age");
}

static int
report_strcmp_p(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
report_coll_release(struct report_ctx *x)
{
    for (size_t i = 0; i < x->ncoll; i++) {
        free(x->coll[i]);
    }
    free(x->coll);
    x->coll = NULL;
    x->ncoll = 0;
}

/* The collectives recognised (outcome approved) in the year: one range scan, sorted. */
static err_code
report_coll_load(struct report_ctx *x, const char *lo, const char *hi)
{
    static const char sql[] = "SELECT collective FROM collective_recognition "
                              "WHERE id >= ?1 AND id < ?2 AND _live AND outcome = 'approved' "
                              "AND collective IS NOT NULL ORDER BY id";
    report_coll_release(x);
    sqlite3_stmt *s = store_stmt(x->st, sql);
    if (s == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_text(s, 1, lo, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, hi, -1, SQLITE_STATIC);
    size_t cap = 0;
    int rc;
    err_code e = ERR_OK;
    while (e == ERR_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (x->ncoll == cap) {
            size_t ncap = cap ? 2 * cap : 64;
            char **p = ncap <= REPORT_COLLECTIVES_MAX ? realloc(x->coll, ncap * sizeof *p) : NULL;
            if (p == NULL) {
                e = ncap > REPORT_COLLECTIVES_MAX ? ERR_MSGSIZE : ERR_NOMEM;
                break;
            }
            x->coll = p;
            cap = ncap;
        }
        if ((x->coll[x->ncoll] = report_strdup(report_col(s, 0))) == NULL) {
            e = ERR_NOMEM;
            break;
        }
        x->ncoll++;
    }
    if (e == ERR_OK && rc != SQLITE_DONE) {
        e = store_err(x->st, rc, "report collectives");
    }
    sqlite3_reset(s);
    if (e == ERR_OK && x->ncoll > 1) {
        qsort(x->coll, x->ncoll, sizeof *x->coll, report_strcmp_p);
    }
    return e;
}

static int
report_coll_has(const struct report_ctx *x, const char *id)
{
    return id != NULL && bsearch(&id, x->coll, x->ncoll, sizeof *x->coll, report_strcmp_p) != NULL;
}

/* A person's birth year (point lookup; only for members of recognised collectives). -1: none. */
static err_code
report_birth_year(struct store *st, const char *pid, int64_t *by)
{
    static const char sql[] = "SELECT birth_year FROM person WHERE id=?1 AND _live";
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_text(s, 1, pid, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    *by = rc == SQLITE_ROW && sqlite3_column_type(s, 0) == SQLITE_INTEGER
              ? sqlite3_column_int64(s, 0)
              : -1;
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store_err(st, rc, "report person");
}

/* ---- the one pass ------------------------------------------------------------------------- */

struct report_cur {
    sqlite3_stmt *s;
    int row; /* 1: on a row */
};

static err_code
report_step(struct store *st, struct report_cur *c)
{
    int rc = sqlite3_step(c->s);
    c->row = rc == SQLITE_ROW;
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store_err(st, rc, "report scan");
}

/* Moves c (its column 0 is the pk) to the first row whose pk is >= id. */
static err_code
report_seek(struct store *st, struct report_cur *c, const char *id)
{
    err_code rc = ERR_OK;
    while (rc == ERR_OK && c->row && strcmp(report_col(c->s, 0), id) < 0) {
        rc = report_step(st, c);
    }
    return rc;
}

/* Where one scan counts: per report row (main year) or only the year's totals (history). */
struct report_sink {
    struct report_year *y; /* NULL: the report's own year, into rows and totals */
};

static void
report_add_ratio(struct report_ctx *x, const struct report_sink *k, int idx, enum report_metric m,
                 int hit)
{
    struct report_ratio *t = k->y != NULL ? &k->y->m[m] : &x->r->m[m];
    t->den++;
    t->num += hit != 0;
    if (k->y == NULL) {
        x->r->children[idx].m[m].den++;
        x->r->children[idx].m[m].num += hit != 0;
    }
}

/* One assessment row and its review and approval rows (when on the same key). */
static err_code
report_count_one(struct report_ctx *x, const struct report_sink *k, sqlite3_stmt *a,
                 sqlite3_stmt *rv, sqlite3_stmt *ap, int *approved)
{
    struct rules_rows rows = {
        .a_live = 1,
        .a_unit = report_col(a, 2),
        .a_round = sqlite3_column_int64(a, 5),
        .a_round_null = sqlite3_column_type(a, 5) == SQLITE_NULL,
        .a_stage = report_col(a, 6),
    };
    if (rv != NULL) {
        rows.r_live = 1;
        rows.r_unit = report_col(rv, 1);
        rows.r_round = sqlite3_column_int64(rv, 2);
        rows.r_round_null = sqlite3_column_type(rv, 2) == SQLITE_NULL;
        rows.r_outcome = report_col(rv, 3);
    }
    if (ap != NULL) {
        rows.p_live = 1;
        rows.p_unit = report_col(ap, 1);
        rows.p_round = sqlite3_column_int64(ap, 2);
        rows.p_round_null = sqlite3_column_type(ap, 2) == SQLITE_NULL;
        rows.p_outcome = report_col(ap, 3);
    }
    enum rules_state st = rules_status(&rows);
    *approved = st == RULES_ST_APPROVED;
    int idx;
    err_code rc = report_map(x, rows.a_unit, &idx);
    if (rc != ERR_OK) {
        return rc;
    }
    if (idx == REPORT_OUTSIDE) {
        x->r->outside++;
        *approved = 0; /* not ours: its memberships do not count either */
        return ERR_OK;
    }
    const char *grp = report_col(a, 3);
    int gi;
    if ((rc = report_group_add(x->r, grp != NULL ? grp : "-", NULL, NULL, &gi)) != ERR_OK) {
        return rc;
    }
    int assessed =
        st == RULES_ST_BRANCH_REVIEWED || st == RULES_ST_APPROVED || st == RULES_ST_REJECTED;
    struct report_counts *cs[4] = {NULL, NULL, NULL, NULL};
    if (k->y != NULL) {
        cs[0] = &k->y->all;
    } else {
        struct report_child *c = &x->r->children[idx];
        cs[0] = &c->g[gi];
        cs[1] = &c->all;
        cs[2] = &x->r->g[gi];
        cs[3] = &x->r->all;
    }
    for (unsigned i = 0; i < 4 && cs[i] != NULL; i++) {
        cs[i]->registered++;
        cs[i]->assessed += assessed;
        cs[i]->passed += *approved;
    }
    if (*approved) {
        const char *d = report_col(a, 4);
        int digital = d != NULL && (strcmp(d, "basic") == 0 || strcmp(d, "proficient") == 0);
        report_add_ratio(x, k, idx, REPORT_M_HOLDERS_DIGITAL, digital);
        if (digital) {
            report_add_ratio(x, k, idx, REPORT_M_HOLDERS_PROF, strcmp(d, "proficient") == 0);
        }
    }
    return ERR_OK;
}

/* The person id of a collective_member pk "<person>:<collective>" into out; 0 if malformed. */
static int
report_member_pid(const char *pk, char out[PK_SIZE_MAX + 1])
{
    const char *colon = strchr(pk, ':');
    size_t n = colon != NULL ? (size_t)(colon - pk) : strlen(pk);
    if (n == 0 || n > PK_SIZE_MAX) {
        return 0;
    }
    memcpy(out, pk, n);
    out[n] = '\0';
    return 1;
}

/* The memberships of one person (every member row on pid): counts the person once per metric,
 * under the unit of the first qualifying membership. */
static err_code
report_members_one(struct report_ctx *x, const struct report_sink *k, struct report_cur *m,
                   const char *pid, int approved)
{
    char fam_unit[UNITS_CODE_BUF] = "", lu_unit[UNITS_CODE_BUF] = "";
    int fam = 0, lu = 0;
    int64_t y = x->r->year;
    if (k->y != NULL) {
        y = k->y->year;
    }
    err_code rc = ERR_OK;
    char mp[PK_SIZE_MAX + 1];
    /* Each pass consumes one member row: bounded by the table. */
    while (rc == ERR_OK && m->row && report_member_pid(report_col(m->s, 0), mp) &&
           strcmp(mp, pid) == 0) {
        sqlite3_stmt *s = m->s;
        const char *unit = report_col(s, 1), *kind = report_col(s, 3);
        int in_year =
            (sqlite3_column_type(s, 4) == SQLITE_NULL || sqlite3_column_int64(s, 4) <= y) &&
            (sqlite3_column_type(s, 5) == SQLITE_NULL || sqlite3_column_int64(s, 5) >= y);
        if (in_year && unit != NULL && kind != NULL && report_coll_has(x, report_col(s, 2))) {
            int is_lu = strcmp(kind, "unit") == 0;
            int is_fam = strcmp(kind, "family") == 0 || strcmp(kind, "clan") == 0 ||
                         strcmp(kind, "community") == 0;
            if (is_fam && !fam && strlen(unit) < sizeof fam_unit) {
                fam = 1;
                memcpy(fam_unit, unit, strlen(unit) + 1);
            }
            if (is_lu && !lu && strlen(unit) < sizeof lu_unit) {
                lu = 1;
                memcpy(lu_unit, unit, strlen(unit) + 1);
            }
        }
        rc = report_step(x->st, m);
    }
    if (rc != ERR_OK) {
        return rc;
    }
    if (fam) {
        int64_t by;
        int idx;
        if ((rc = report_birth_year(x->st, pid, &by)) != ERR_OK ||
            (rc = report_map(x, fam_unit, &idx)) != ERR_OK) {
            return rc;
        }
        if (by >= 0 && y - by >= x->r->adult_age && idx != REPORT_OUTSIDE) {
            report_add_ratio(x, k, idx, REPORT_M_FAMILY_ADULTS, approved);
        }
    }
    if (lu) {
        int idx;
        if ((rc = report_map(x, lu_unit, &idx)) != ERR_OK) {
            return rc;
        }
        if (idx != REPORT_OUTSIDE) {
            report_add_ratio(x, k, idx, REPORT_M_UNIT_WORKERS, approved);
        }
    }
    return ERR_OK;
}

static const char report_sql_a[] =
    "SELECT id, person, unit, target_group, digital, round, stage FROM assessment "
    "WHERE id >= ?1 AND id < ?2 AND _live ORDER BY id";
static const char report_sql_r[] = "SELECT id, unit, round, outcome FROM review "
                                   "WHERE id >= ?1 AND id < ?2 AND _live ORDER BY id";
static const char report_sql_p[] = "SELECT id, unit, round, outcome FROM approval "
                                   "WHERE id >= ?1 AND id < ?2 AND _live ORDER BY id";
/* pk order is person order: "<person>:" sorts like "<person>" as long as no person id is a
 * prefix of another followed by a byte below ':', which holds for replica_new_id's fixed 16
 * characters (a member out of that order is counted as a person without an assessment). */
static const char report_sql_m[] =
    "SELECT id, unit, collective, kind, year_from, year_to FROM collective_member "
    "WHERE _live ORDER BY id";

/* The merge join of one year (design section 7.3). Each loop pass consumes at least one
 * assessment or member row, so the loop is bounded by the rows of the year. */
static err_code report_agg_scan(struct report_ctx *x, int year, const struct report_sink *k);

static err_code
report_scan(struct report_ctx *x, int year, const struct report_sink *k)
{
    if (x->r->aggregate) {
        return report_agg_scan(x, year, k);
    }
    char lo[16], hi[16];
    snprintf(lo, sizeof lo, "%d:", year);
    snprintf(hi, sizeof hi, "%d;", year); /* ';' follows ':' in ASCII: the end of the range */
    size_t plen = strlen(lo);
    err_code rc = report_coll_load(x, lo, hi);
    if (rc != ERR_OK) {
        return rc;
    }
    struct report_cur a = {store_stmt(x->st, report_sql_a), 0};
    struct report_cur rv = {store_stmt(x->st, report_sql_r), 0};
    struct report_cur ap = {store_stmt(x->st, report_sql_p), 0};
    struct report_cur m = {x->ncoll > 0 ? store_stmt(x->st, report_sql_m) : NULL, 0};
    struct report_cur *ranged[3] = {&a, &rv, &ap};
    if (a.s == NULL || rv.s == NULL || ap.s == NULL || (x->ncoll > 0 && m.s == NULL)) {
        rc = ERR_DB;
        goto out;
    }
    for (unsigned i = 0; i < 3 && rc == ERR_OK; i++) {
        sqlite3_bind_text(ranged[i]->s, 1, lo, -1, SQLITE_STATIC);
        sqlite3_bind_text(ranged[i]->s, 2, hi, -1, SQLITE_STATIC);
        rc = report_step(x->st, ranged[i]);
    }
    if (rc == ERR_OK && m.s != NULL) {
        rc = report_step(x->st, &m);
    }
    char pid[PK_SIZE_MAX + 1], mp[PK_SIZE_MAX + 1];
    while (rc == ERR_OK && (a.row || m.row)) {
        int have_m = m.row && report_member_pid(report_col(m.s, 0), mp);
        if (m.row && !have_m) {
            rc = report_step(x->st, &m); /* a malformed member pk: no person to count */
            continue;
        }
        const char *aid = a.row ? report_col(a.s, 0) : NULL;
        const char *apid = aid != NULL && strlen(aid) > plen ? aid + plen : "";
        int c = !a.row ? 1 : !have_m ? -1 : strcmp(apid, mp);
        int approved = 0;
        if (c <= 0) {
            if ((rc = report_seek(x->st, &rv, aid)) != ERR_OK ||
                (rc = report_seek(x->st, &ap, aid)) != ERR_OK) {
                break;
            }
            int r_on = rv.row && strcmp(report_col(rv.s, 0), aid) == 0;
            int p_on = ap.row && strcmp(report_col(ap.s, 0), aid) == 0;
            if ((rc = report_count_one(x, k, a.s, r_on ? rv.s : NULL, p_on ? ap.s : NULL,
                                       &approved)) != ERR_OK) {
                break;
            }
            snprintf(pid, sizeof pid, "%s", apid);
            if ((rc = report_step(x->st, &a)) != ERR_OK) {
                break;
            }
        } else {
            memcpy(pid, mp, strlen(mp) + 1);
        }
        if (c >= 0 && have_m) {
            rc = report_members_one(x, k, &m, pid, approved);
        }
    }
out:
    for (unsigned i = 0; i < 3; i++) {
        if (ranged[i]->s != NULL) {
            sqlite3_reset(ranged[i]->s);
        }
    }
    if (m.s != NULL) {
        sqlite3_reset(m.s);
    }
    report_coll_release(x);
    return rc;
}

/* ---- above the raw-data ceiling: the aggregate rows ---------------------------------------- */

static const char report_sql_g[] =
    "SELECT id, unit, grp, registered, assessed, passed, recognised, digital, proficient, "
    "fam_adults, fam_adults_rec, lu_members, lu_members_rec FROM aggregate "
    "WHERE id >= ?1 AND id < ?2 AND _live ORDER BY id";

/* A count cell of an aggregate row: NULL and negative values (a damaged or hostile row; the
 * per-mille arithmetic assumes counts) read as 0. */
static int64_t
report_agg_col(sqlite3_stmt *s, int i)
{
    int64_t v = sqlite3_column_int64(s, i);
    return v > 0 ? v : 0;
}

static void
report_agg_ratio(struct report_ctx *x, const struct report_sink *k, int idx, enum report_metric m,
                 int64_t num, int64_t den)
{
    struct report_ratio *t = k->y != NULL ? &k->y->m[m] : &x->r->m[m];
    t->num += num;
    t->den += den;
    if (k->y == NULL) {
        x->r->children[idx].m[m].num += num;
        x->r->children[idx].m[m].den += den;
    }
}

struct report_keys {
    char **k; /* owned, sorted: "<unit>:<grp>" of each aggregate row of the year */
    size_t n;
};

static void
report_keys_release(struct report_keys *ks)
{
    for (size_t i = 0; i < ks->n; i++) {
        free(ks->k[i]);
    }
    free(ks->k);
    ks->k = NULL;
    ks->n = 0;
}

/* 1 when a strict ancestor of unit (at the report's date) published a row for grp as well:
 * the ancestor's row covers unit's, so unit's is not counted twice. */
static err_code
report_agg_shadowed(struct report_ctx *x, const struct report_keys *ks, const char *unit,
                    const char *grp, int *yes)
{
    char path[UNITS_DEPTH_MAX][UNITS_CODE_BUF];
    unsigned n = 0;
    *yes = 0;
    err_code rc = units_ancestors(x->st, NULL, unit, x->r->as_of, path, &n);
    if (rc == ERR_NOTFOUND) {
        return ERR_OK; /* a unit not held here has no known ancestors */
    }
    for (unsigned i = 1; rc == ERR_OK && i < n && !*yes; i++) {
        char key[UNITS_CODE_BUF + REPORT_GROUP_BUF + 1];
        snprintf(key, sizeof key, "%s:%s", path[i], grp);
        const char *p = key;
        *yes = bsearch(&p, ks->k, ks->n, sizeof *ks->k, report_strcmp_p) != NULL;
    }
    return rc;
}

/* The year's aggregate rows into the counters (rows per group) and the metrics (grp "*"). */
static err_code
report_agg_scan(struct report_ctx *x, int year, const struct report_sink *k)
{
    char lo[16], hi[16];
    snprintf(lo, sizeof lo, "%d:", year);
    snprintf(hi, sizeof hi, "%d;", year);
    size_t plen = strlen(lo), cap = 0;
    struct report_keys ks = {NULL, 0};
    sqlite3_stmt *s = store_stmt(x->st, report_sql_g);
    if (s == NULL) {
        return ERR_DB;
    }
    /* Pass one: the keys, already in pk order, for the ancestor test. */
    sqlite3_bind_text(s, 1, lo, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, hi, -1, SQLITE_STATIC);
    int src;
    err_code rc = ERR_OK;
    while (rc == ERR_OK && (src = sqlite3_step(s)) == SQLITE_ROW) {
        const char *id = report_col(s, 0);
        if (ks.n == cap) {
            size_t ncap = cap ? 2 * cap : 64;
            char **p = ncap <= REPORT_AGG_ROWS_MAX ? realloc(ks.k, ncap * sizeof *p) : NULL;
            if (p == NULL) {
                rc = ncap > REPORT_AGG_ROWS_MAX ? ERR_MSGSIZE : ERR_NOMEM;
                break;
            }
            ks.k = p;
            cap = ncap;
        }
        if ((ks.k[ks.n] = report_strdup(id != NULL && strlen(id) > plen ? id + plen : "")) ==
            NULL) {
            rc = ERR_NOMEM;
            break;
        }
        ks.n++;
    }
    if (rc == ERR_OK && src != SQLITE_DONE) {
        rc = store_err(x->st, src, "report aggregates");
    }
    sqlite3_reset(s);
    if (rc == ERR_OK && ks.n > 1) {
        qsort(ks.k, ks.n, sizeof *ks.k, report_strcmp_p); /* ":" sorts unit codes as pk order */
    }
    /* Pass two: count. */
    if (rc == ERR_OK && (s = store_stmt(x->st, report_sql_g)) == NULL) {
        rc = ERR_DB;
    }
    if (rc == ERR_OK) {
        sqlite3_bind_text(s, 1, lo, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, hi, -1, SQLITE_STATIC);
    }
    while (rc == ERR_OK && (src = sqlite3_step(s)) == SQLITE_ROW) {
        const char *unit = report_col(s, 1), *grp = report_col(s, 2);
        int shadowed = 0, idx = REPORT_OUTSIDE, gi;
        if (unit == NULL || grp == NULL || strlen(grp) >= REPORT_GROUP_BUF) {
            continue;
        }
        if ((rc = report_agg_shadowed(x, &ks, unit, grp, &shadowed)) != ERR_OK || shadowed ||
            (rc = report_map(x, unit, &idx)) != ERR_OK || idx == REPORT_OUTSIDE) {
            continue;
        }
        if (strcmp(grp, "*") == 0) {
            int64_t digital = report_agg_col(s, 7);
            report_agg_ratio(x, k, idx, REPORT_M_HOLDERS_DIGITAL, digital, 0);
            report_agg_ratio(x, k, idx, REPORT_M_HOLDERS_PROF, report_agg_col(s, 8), digital);
            report_agg_ratio(x, k, idx, REPORT_M_FAMILY_ADULTS, report_agg_col(s, 10),
                             report_agg_col(s, 9));
            report_agg_ratio(x, k, idx, REPORT_M_UNIT_WORKERS, report_agg_col(s, 12),
                             report_agg_col(s, 11));
            continue;
        }
        if ((rc = report_group_add(x->r, grp, NULL, NULL, &gi)) != ERR_OK) {
            break;
        }
        struct report_counts add = {report_agg_col(s, 3), report_agg_col(s, 4),
                                    report_agg_col(s, 5)};
        struct report_counts *cs[4] = {NULL, NULL, NULL, NULL};
        if (k->y != NULL) {
            cs[0] = &k->y->all;
        } else {
            struct report_child *c = &x->r->children[idx];
            cs[0] = &c->g[gi];
            cs[1] = &c->all;
            cs[2] = &x->r->g[gi];
            cs[3] = &x->r->all;
        }
        for (unsigned i = 0; i < 4 && cs[i] != NULL; i++) {
            cs[i]->registered += add.registered;
            cs[i]->assessed += add.assessed;
            cs[i]->passed += add.passed;
        }
        /* The holders of the title are the denominator of the digital-skill metric. */
        report_agg_ratio(x, k, idx, REPORT_M_HOLDERS_DIGITAL, 0, report_agg_col(s, 6));
    }
    if (rc == ERR_OK && src != SQLITE_DONE) {
        rc = store_err(x->st, src, "report aggregates");
    }
    if (s != NULL) {
        sqlite3_reset(s);
    }
    report_keys_release(&ks);
    return rc;
}

/* 1 when the year has at least one live assessment row (aggregate row, above the ceiling). */
static err_code
report_year_has_data(struct report_ctx *x, int year, int *has)
{
    static const char sql_a[] =
        "SELECT 1 FROM assessment WHERE id >= ?1 AND id < ?2 AND _live LIMIT 1";
    static const char sql_g[] =
        "SELECT 1 FROM aggregate WHERE id >= ?1 AND id < ?2 AND _live LIMIT 1";
    char lo[16], hi[16];
    snprintf(lo, sizeof lo, "%d:", year);
    snprintf(hi, sizeof hi, "%d;", year);
    sqlite3_stmt *s = store_stmt(x->st, x->r->aggregate ? sql_g : sql_a);
    if (s == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_text(s, 1, lo, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, hi, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    *has = rc == SQLITE_ROW;
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ERR_OK : store_err(x->st, rc, "report years");
}

/* ---- targets ------------------------------------------------------------------------------ */

struct report_plan {
    char pk[REPORT_PLAN_BUF], unit[UNITS_CODE_BUF], level[16];
    int depth;
    struct {
        int set, year, pct;
    } m[REPORT_METRICS];
};

static int
report_plan_cmp(const void *a, const void *b)
{
    const struct report_plan *p = a, *q = b;
    return p->depth != q->depth ? (p->depth < q->depth ? -1 : 1) : strcmp(p->pk, q->pk);
}

/* The plans of the unit, of each ancestor and the national one ("*"), and for each metric the
 * milestone in force: the first target year >= the report's year, else the last one. */
static err_code
report_targets(struct report_ctx *x)
{
    static const char sql_p[] = "SELECT id, unit, level FROM plan WHERE _live ORDER BY id";
    static const char sql_t[] = "SELECT plan, metric, year, pct FROM plan_target "
                                "WHERE _live AND year IS NOT NULL AND pct IS NOT NULL "
                                "ORDER BY plan, metric, year";
    struct report_plan plans[REPORT_PLANS_MAX];
    unsigned np = 0;
    sqlite3_stmt *s = store_stmt(x->st, sql_p);
    if (s == NULL) {
        return ERR_DB;
    }
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && np < REPORT_PLANS_MAX) {
        const char *pk = report_col(s, 0), *unit = report_col(s, 1), *level = report_col(s, 2);
        if (pk == NULL || unit == NULL || strlen(pk) >= REPORT_PLAN_BUF) {
            continue;
        }
        int depth = -1;
        if (strcmp(unit, "*") == 0) {
            depth = (int)x->npath;
        }
        for (unsigned i = 0; depth < 0 && i < x->npath; i++) {
            if (strcmp(unit, x->path[i]) == 0) {
                depth = (int)i;
            }
        }
        if (depth < 0) {
            continue;
        }
        struct report_plan *p = &plans[np++];
        memset(p, 0, sizeof *p);
        snprintf(p->pk, sizeof p->pk, "%s", pk);
        snprintf(p->unit, sizeof p->unit, "%s", unit);
        snprintf(p->level, sizeof p->level, "%s", level != NULL ? level : "-");
        p->depth = depth;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        return store_err(x->st, rc, "report plans");
    }
    if ((s = store_stmt(x->st, sql_t)) == NULL) {
        return ERR_DB;
    }
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *plan = report_col(s, 0);
        int m = report_metric_parse(report_col(s, 1));
        int year = sqlite3_column_int(s, 2), pct = sqlite3_column_int(s, 3);
        for (unsigned i = 0; plan != NULL && m >= 0 && i < np; i++) {
            if (strcmp(plans[i].pk, plan) != 0) {
                continue;
            }
            /* Rows come in year order: replace a fallback (a year before the report's) until
             * the first milestone at or after it arrives, then keep that one. */
            if (!plans[i].m[m].set || plans[i].m[m].year < x->r->year) {
                plans[i].m[m].set = 1;
                plans[i].m[m].year = year;
                plans[i].m[m].pct = pct < 0 ? 0 : pct > 100 ? 100 : pct;
            }
        }
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        return store_err(x->st, rc, "report targets");
    }
    qsort(plans, np, sizeof plans[0], report_plan_cmp);
    x->r->targets = calloc((size_t)np * REPORT_METRICS + 1, sizeof *x->r->targets);
    if (x->r->targets == NULL) {
        return ERR_NOMEM;
    }
    for (unsigned i = 0; i < np; i++) {
        for (int m = 0; m < REPORT_METRICS; m++) {
            if (!plans[i].m[m].set) {
                continue;
            }
            struct report_target *t = &x->r->targets[x->r->ntargets++];
            static_assert(sizeof t->plan == sizeof plans[i].pk, "same buffers");
            static_assert(sizeof t->plan_unit == sizeof plans[i].unit, "same buffers");
            static_assert(sizeof t->level == sizeof plans[i].level, "same buffers");
            memcpy(t->plan, plans[i].pk, sizeof t->plan);
            memcpy(t->plan_unit, plans[i].unit, sizeof t->plan_unit);
            memcpy(t->level, plans[i].level, sizeof t->level);
            t->depth = plans[i].depth;
            t->metric = (enum report_metric)m;
            t->milestone = plans[i].m[m].year;
            t->pct = plans[i].m[m].pct;
        }
    }
    return ERR_OK;
}

/* ---- building ----------------------------------------------------------------------------- */

static err_code
report_children_cb(void *ctx, const struct units_row *u)
{
    struct report_ctx *x = ctx;
    int idx;
    return report_child_find(x->r, u->code, 0) >= 0 ? ERR_OK
                                                    : report_child_add(x, u->code, 0, &idx);
}

/* Vietnamese order (design section 7.1), approximated: the name folded without diacritics or case
 * (fold_text), then the name's own bytes, then the code. Folding puts "Đ" with "D" and ignores
 * tones, where a full Vietnamese collation puts D before Đ and orders the tones; the tie-break
 * keeps the order total and stable. The unit's own row (rows recorded at it) comes first. */
static int
report_child_cmp(const void *a, const void *b)
{
    const struct report_child *p = a, *q = b;
    if (p->self != q->self) {
        return p->self ? -1 : 1;
    }
    int c = strcmp(p->sort_key, q->sort_key);
    if (c == 0) {
        c = strcmp(p->name, q->name);
    }
    return c != 0 ? c : strcmp(p->code, q->code);
}

void
report_free(struct report *r)
{
    if (r == NULL) {
        return;
    }
    for (size_t i = 0; i < r->nchildren; i++) {
        free(r->children[i].name);
        free(r->children[i].sort_key);
    }
    for (unsigned i = 0; i < r->ngroups; i++) {
        free(r->groups[i].name_vi);
        free(r->groups[i].name_en);
    }
    free(r->children);
    free(r->targets);
    free(r->unit_name);
    free(r);
}

err_code
report_build(struct store *st, const char *unit, int year, const struct report_opts *o,
             struct report **out, char succ[UNITS_CODE_BUF])
{
    ASSERT(st != NULL);
    ASSERT(out != NULL);
    *out = NULL;
    if (year < 1900 || year > 9999 || unit == NULL || strlen(unit) >= UNITS_CODE_BUF) {
        return ERR_INVAL;
    }
    struct report_ctx x = {.st = st};
    struct report *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return ERR_NOMEM;
    }
    x.r = r;
    snprintf(r->unit, sizeof r->unit, "%s", unit);
    r->year = year;
    if (o != NULL && o->as_of != NULL) {
        snprintf(r->as_of, sizeof r->as_of, "%s", o->as_of);
    } else {
        snprintf(r->as_of, sizeof r->as_of, "%04d-12-31", year);
    }
    int flag, found = 0;
    char resolved[UNITS_CODE_BUF];
    err_code rc = report_unit_row(st, unit, &r->unit_name, &flag, &found);
    if (rc == ERR_OK && !found) {
        rc = ERR_NOTFOUND;
    }
    if (rc == ERR_OK && (rc = units_resolve(st, NULL, unit, r->as_of, resolved)) == ERR_OK &&
        strcmp(resolved, unit) != 0) {
        if (succ != NULL) {
            memcpy(succ, resolved, UNITS_CODE_BUF);
        }
        rc = ERR_INVAL;
    }
    if (rc == ERR_OK) {
        rc = units_ancestors(st, NULL, unit, r->as_of, x.path, &x.npath);
    }
    if (rc == ERR_OK) {
        rc = units_children(st, unit, r->as_of, report_children_cb, &x);
    }
    if (rc == ERR_OK) {
        int agg = o != NULL && o->source == REPORT_SOURCE_AGGREGATE;
        if (o == NULL || o->source == REPORT_SOURCE_AUTO) {
            rc = scope_unit_above_ceiling(st, unit, &agg);
        }
        r->aggregate = agg;
    }
    if (rc == ERR_OK) {
        rc = report_groups_load(&x);
    }
    if (rc == ERR_OK) {
        rc = report_adult_age(&x);
    }
    struct report_sink main_sink = {NULL};
    if (rc == ERR_OK) {
        rc = report_scan(&x, year, &main_sink);
    }
    if (rc == ERR_OK) {
        rc = report_targets(&x);
    }
    /* The per-year history: the same unit map (as of the report's date), so earlier years' data
     * count under today's successors too. */
    for (int y = year - (int)REPORT_YEARS_MAX + 1;
         rc == ERR_OK && o != NULL && o->years && y <= year; y++) {
        int has = 0;
        if (y < 1900 || (rc = report_year_has_data(&x, y, &has)) != ERR_OK || !has) {
            continue;
        }
        struct report_year *ry = &r->years[r->nyears++];
        memset(ry, 0, sizeof *ry);
        ry->year = y;
        if (y == year) {
            ry->all = r->all;
            memcpy(ry->m, r->m, sizeof ry->m);
            continue;
        }
        struct report_sink k = {ry};
        rc = report_scan(&x, y, &k);
    }
    for (size_t i = 0; i < x.map_cap; i++) {
        free(x.map[i].code);
    }
    free(x.map);
    report_coll_release(&x);
    if (rc != ERR_OK) {
        report_free(r);
        return rc;
    }
    if (r->nchildren > 1) {
        qsort(r->children, r->nchildren, sizeof *r->children, report_child_cmp);
    }
    *out = r;
    return ERR_OK;
}
