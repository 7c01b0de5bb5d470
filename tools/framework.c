/*
 * cdht framework and cdht plan: publish the criteria frameworks and the plans' targets that a
 * hub (or the root) hands down to every replica below it, and list what a replica holds. In
 * this version publishing takes the built-in data (--seed, node/seed.h) or a CSV/XLSX file
 * (--from, docs/import-template.md, read through node/sheet.h). Both commands live in
 * one file because they share the publisher's check (a hub grant covering the unit, or the
 * root) and the listing code. A published framework version is immutable: publishing it again
 * writes nothing.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "fold.h"
#include "report.h"
#include "replica.h"
#include "schema.h"
#include "seed.h"
#include "sheet.h"
#include "store.h"
#include "trust.h"

/* ---- who may publish ----------------------------------------------------------------------- */

struct framework_hub {
    struct store *st;
    const char *unit;
    int covered;
};

static err_code
framework_hub_cb(void *ctx, const struct trust_grant *g)
{
    struct framework_hub *h = ctx;
    int yes = 0;
    if (g->role == TRUST_HUB && !h->covered) {
        err_code rc = trust_covers(h->st, g->unit, h->unit, &yes);
        if (rc != ERR_OK) {
            return rc;
        }
        h->covered = yes;
    }
    return ERR_OK;
}

/* *is_root: 1 in open mode or on the root's own device. */
static err_code
framework_is_root(struct replica *r, int *is_root)
{
    uint8_t root[KEY_PUBLIC_SIZE];
    int pinned = 0;
    err_code rc = trust_root(r->st, root, &pinned);
    *is_root = rc == ERR_OK && (!pinned || memcmp(root, r->pk, KEY_PUBLIC_SIZE) == 0);
    return rc;
}

/* 0 when this device may publish for unit (open mode, the root, or a hub grant covering unit);
 * otherwise prints the refusal and returns the exit code. The commit checks again (expiry
 * included): this check exists to say plainly what is missing before building anything. */
static int
framework_may_publish(const struct cli *c, struct replica *r, const char *unit, const char *what)
{
    int is_root = 0;
    err_code rc = framework_is_root(r, &is_root);
    if (rc != ERR_OK) {
        return cli_fail(c, rc, "cannot read the trust state: %s", err_str(rc));
    }
    if (is_root) {
        return 0;
    }
    struct framework_hub h = {.st = r->st, .unit = unit, .covered = 0};
    rc = trust_grants(r->st, r->pk, framework_hub_cb, &h);
    if (rc != ERR_OK && rc != ERR_NOTFOUND) {
        return cli_fail(c, rc, "cannot read this device's grants: %s", err_str(rc));
    }
    if (!h.covered) {
        return cli_fail(c, ERR_DENIED,
                        "refusing: this device holds no hub grant covering unit %s (%s is "
                        "published by a hub or the root, and handed down); nothing was written",
                        unit, what);
    }
    return 0;
}

/* The unit to publish for: --unit, else "*" for the root (and open mode), else this device's
 * unit. */
static int
framework_unit(const struct cli *c, struct replica *r, const char *opt, char out[REPLICA_META_SIZE_MAX])
{
    if (opt != NULL) {
        snprintf(out, REPLICA_META_SIZE_MAX, "%s", opt);
        return 0;
    }
    int is_root = 0;
    err_code rc = framework_is_root(r, &is_root);
    if (rc == ERR_OK && is_root) {
        snprintf(out, REPLICA_META_SIZE_MAX, "*");
        return 0;
    }
    if (rc != ERR_OK || (rc = replica_meta(r, "unit", out)) != ERR_OK) {
        return cli_fail(c, rc, "cannot read this device's unit: %s", err_str(rc));
    }
    return 0;
}

/* 1 when a live row with this pk exists in table (a static name), 0 when not, -1 on error. */
static int
framework_row_live(struct replica *r, const char *sql, const char *pk)
{
    sqlite3_stmt *s = store_stmt(r->st, sql);
    if (s == NULL) {
        return -1;
    }
    sqlite3_bind_text(s, 1, pk, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    int v = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(s);
    return v;
}

/* ---- listings ------------------------------------------------------------------------------ */

/* Prints the rows of sql (all columns as text) as tab-separated lines, or CSV with a header
 * line. Returns the number of rows, or -1 on error. */
static long
framework_print(struct replica *r, const char *sql, const char *const head[], int ncols, int csv)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(r->st->db, sql, -1, &s, NULL) != SQLITE_OK) {
        return -1;
    }
    if (csv) {
        for (int i = 0; i < ncols; i++) {
            printf("%s%s", i ? "," : "", head[i]);
        }
        fputc('\n', stdout);
    }
    long n = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        for (int i = 0; i < ncols; i++) {
            const char *v = (const char *)sqlite3_column_text(s, i);
            if (csv) {
                if (i) {
                    fputc(',', stdout);
                }
                cli_csv_str(stdout, v ? v : "");
            } else {
                printf("%s%s", i ? "\t" : "", v ? v : "-");
            }
        }
        fputc('\n', stdout);
        n++;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? n : -1;
}

/* Parses --format table|csv into *csv; 0 or the usage exit code. */
static int
framework_format(const struct cli *c, const char *format, int *csv)
{
    if (format == NULL || strcmp(format, "table") == 0) {
        *csv = 0;
    } else if (strcmp(format, "csv") == 0) {
        *csv = 1;
    } else {
        return cli_usage(c, "--format must be table or csv");
    }
    return 0;
}

static int
framework_list_run(const char *cmd, const char *usage, int argc, char **argv, const char *sql,
                   const char *const head[], int ncols, const char *sql2,
                   const char *const head2[], int ncols2, const char *flag2)
{
    struct cli c;
    cli_init(&c, cmd, usage);
    const char *format = NULL;
    int second = 0;
    const struct cli_opt opts[] = {{"format", 0, &format, NULL}, {flag2, 0, NULL, &second}};
    int ec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    int csv = 0;
    if ((ec = framework_format(&c, format, &csv)) != 0) {
        return ec;
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, 0, &r)) != 0) {
        return ec;
    }
    long n = second ? framework_print(r, sql2, head2, ncols2, csv)
                    : framework_print(r, sql, head, ncols, csv);
    replica_close(r);
    if (n < 0) {
        return cli_fail(&c, ERR_DB, "cannot read the replica");
    }
    fprintf(stderr, "%ld %s\n", n, n == 1 ? "row" : "rows");
    return CLI_OK;
}

static int
framework_list(int argc, char **argv)
{
    static const char sql[] =
        "SELECT f.id, f.unit, f.code, f.version, f.year_from, f.year_to, "
        " (SELECT count(*) FROM framework_group g WHERE g.framework = f.id AND g._live), "
        " (SELECT count(*) FROM framework_indicator i WHERE i.framework = f.id AND i._live), "
        " f.title FROM framework f WHERE f._live ORDER BY f.id";
    static const char *const head[] = {"id",        "unit",    "code",   "version",   "year_from",
                                       "year_to",   "groups",  "indicators", "title"};
    static const char sql2[] =
        "SELECT g.framework, g.grp, g.pos, g.pass_total, g.pass_total_disadv, i.pos, i.code, "
        " i.max_points, i.min_points, i.text_vi FROM framework_group g "
        "JOIN framework_indicator i ON i.framework = g.framework AND i.grp = g.grp AND i._live "
        "WHERE g._live ORDER BY g.framework, g.pos, g.grp, i.pos";
    static const char *const head2[] = {"framework", "group", "group_pos", "pass_total",
                                        "pass_total_disadv", "pos", "code", "max", "min",
                                        "text_vi"};
    return framework_list_run("framework list",
                              "framework list --home DIR [--indicators] [--format table|csv]",
                              argc, argv, sql, head, 9, sql2, head2, 10, "indicators");
}

static int
plan_list(int argc, char **argv)
{
    static const char sql[] = "SELECT id, unit, level, code, decision, year_from, year_to, title "
                              "FROM plan WHERE _live ORDER BY id";
    static const char *const head[] = {"id",        "unit",    "level", "code",
                                       "decision",  "year_from", "year_to", "title"};
    static const char sql2[] = "SELECT plan, metric, year, pct FROM plan_target WHERE _live "
                               "ORDER BY plan, metric, year";
    static const char *const head2[] = {"plan", "metric", "year", "pct"};
    return framework_list_run("plan list",
                              "plan list --home DIR [--targets] [--format table|csv]", argc,
                              argv, sql, head, 8, sql2, head2, 4, "targets");
}

/* ---- publishing from a file ---------------------------------------------------------------- */

/* Rows read from one plan or framework file (header excluded): a plan is one row per target,
 * a framework one per indicator, so a few hundred rows at most; the bound keeps the one leaf
 * under COMMIT_CHANGES_MAX changes. */
#define FRAMEWORK_FILE_ROWS_MAX 2000u
/* Problems listed before the refusal, like cdht import's first ones. */
#define FRAMEWORK_BAD_MAX 20u
/* Target groups in one framework file. */
#define FRAMEWORK_GROUPS_MAX 16u

static_assert(FRAMEWORK_FILE_ROWS_MAX + FRAMEWORK_GROUPS_MAX + 1u <= COMMIT_CHANGES_MAX,
              "a whole file fits one leaf");

/* One column of a file: its Vietnamese header (matched folded, so with or without diacritics)
 * and whether a row must fill it. */
struct framework_col {
    const char *vi;
    int required;
};

/* A file as read: per row, a copy of each known column's cell ("" when absent). */
struct framework_sheet {
    const struct framework_col *cols;
    size_t ncols;
    int header_seen;
    int map[SHEET_CELLS_MAX]; /* sheet cell -> column, -1: not ours */
    size_t rows;
    unsigned long line[FRAMEWORK_FILE_ROWS_MAX];
    char **val; /* rows x ncols */
    size_t n_bad, n_bad_more;
    char bad[FRAMEWORK_BAD_MAX][SHEET_WHY_SIZE + 64];
};

static void framework_bad(struct framework_sheet *sh, unsigned long line, int col,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Records `line N, column "HEADER": reason` (col -1: `line N: reason`). */
static void
framework_bad(struct framework_sheet *sh, unsigned long line, int col, const char *fmt, ...)
{
    if (sh->n_bad >= FRAMEWORK_BAD_MAX) {
        sh->n_bad_more++;
        return;
    }
    char reason[SHEET_WHY_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (col >= 0) {
        snprintf(sh->bad[sh->n_bad++], sizeof sh->bad[0], "line %lu, column \"%s\": %s", line,
                 sh->cols[col].vi, reason);
    } else {
        snprintf(sh->bad[sh->n_bad++], sizeof sh->bad[0], "line %lu: %s", line, reason);
    }
}

static const char *
framework_cell(const struct framework_sheet *sh, size_t row, int col)
{
    return sh->val[row * sh->ncols + (size_t)col];
}

static void
framework_sheet_release(struct framework_sheet *sh)
{
    for (size_t i = 0; sh->val != NULL && i < sh->rows * sh->ncols; i++) {
        free(sh->val[i]);
    }
    free(sh->val);
    sh->val = NULL;
}

static err_code
framework_header(struct framework_sheet *sh, const struct sheet_row *row)
{
    int seen[32] = {0};
    ASSERT(sh->ncols <= sizeof seen / sizeof seen[0]);
    for (size_t i = 0; i < row->n && i < SHEET_CELLS_MAX; i++) {
        char f[FOLD_KEY_SIZE], g[FOLD_KEY_SIZE];
        sh->map[i] = -1;
        if (row->cells[i][0] == '\0' || fold_text(row->cells[i], f, sizeof f) != ERR_OK) {
            continue; /* not ours: its cells are ignored */
        }
        for (size_t k = 0; k < sh->ncols; k++) {
            if (fold_text(sh->cols[k].vi, g, sizeof g) == ERR_OK && strcmp(f, g) == 0) {
                if (seen[k]) {
                    framework_bad(sh, row->line, (int)k, "the column appears twice");
                }
                sh->map[i] = (int)k;
                seen[k] = 1;
            }
        }
    }
    for (size_t k = 0; k < sh->ncols; k++) {
        if (sh->cols[k].required && !seen[k]) {
            framework_bad(sh, row->line, (int)k, "the column is missing");
        }
    }
    sh->header_seen = 1;
    return ERR_OK;
}

static err_code
framework_row_cb(void *ctx, const struct sheet_row *row)
{
    struct framework_sheet *sh = ctx;
    if (!sh->header_seen) {
        return framework_header(sh, row);
    }
    int empty = 1;
    for (size_t i = 0; i < row->n; i++) {
        empty &= row->cells[i][0] == '\0';
    }
    if (empty) {
        return ERR_OK;
    }
    if (sh->rows == FRAMEWORK_FILE_ROWS_MAX) {
        return ERR_MSGSIZE;
    }
    size_t base = sh->rows * sh->ncols;
    char **v = realloc(sh->val, (base + sh->ncols) * sizeof *v);
    if (v == NULL) {
        return ERR_NOMEM;
    }
    sh->val = v;
    for (size_t k = 0; k < sh->ncols; k++) {
        v[base + k] = NULL;
    }
    sh->line[sh->rows++] = row->line; /* counted now: the release frees what was set */
    for (size_t i = 0; i < row->n && i < SHEET_CELLS_MAX; i++) {
        if (sh->map[i] >= 0 && v[base + (size_t)sh->map[i]] == NULL) {
            if ((v[base + (size_t)sh->map[i]] = strdup(row->cells[i])) == NULL) {
                return ERR_NOMEM;
            }
        }
    }
    for (size_t k = 0; k < sh->ncols; k++) {
        if (v[base + k] == NULL && (v[base + k] = strdup("")) == NULL) {
            return ERR_NOMEM;
        }
        if (sh->cols[k].required && v[base + k][0] == '\0') {
            framework_bad(sh, row->line, (int)k, "empty");
        }
    }
    return ERR_OK;
}

/* Prints the problems and the refusal; returns the exit code. */
static int
framework_refuse(const struct cli *c, const struct framework_sheet *sh)
{
    for (size_t i = 0; i < sh->n_bad; i++) {
        fprintf(stderr, "%s\n", sh->bad[i]);
    }
    if (sh->n_bad_more > 0) {
        fprintf(stderr, "... and %zu more problems (not listed)\n", sh->n_bad_more);
    }
    return cli_fail(c, ERR_INVAL, "refusing: %zu %s in the file; nothing was written",
                    sh->n_bad + sh->n_bad_more, sh->n_bad + sh->n_bad_more == 1 ? "problem"
                                                                                 : "problems");
}

/* Reads path into sh. 0, or the exit code after printing why. */
static int
framework_sheet_read(const struct cli *c, const char *path, struct framework_sheet *sh)
{
    char why[SHEET_WHY_SIZE] = "";
    err_code rc = sheet_read(path, framework_row_cb, sh, NULL, why);
    if (rc == ERR_MSGSIZE && why[0] == '\0') {
        snprintf(why, sizeof why, "more than %u rows", FRAMEWORK_FILE_ROWS_MAX);
    }
    if (rc != ERR_OK) {
        return cli_fail(c, rc == ERR_MSGSIZE ? ERR_INVAL : rc, "refusing: %s; nothing was written",
                        why[0] ? why : err_str(rc));
    }
    if (!sh->header_seen) {
        return cli_fail(c, ERR_INVAL, "refusing: the file is empty; nothing was written");
    }
    if (sh->rows == 0 && sh->n_bad == 0) {
        framework_bad(sh, 1, -1, "no rows under the header");
    }
    return 0;
}

/* The integer in cell (row, col), lo..hi; records a problem and returns 0 otherwise. An empty
 * optional cell gives *is_null 1 (is_null NULL: the cell is required). */
static int
framework_int(struct framework_sheet *sh, size_t row, int col, long lo, long hi, int64_t *out,
              int *is_null)
{
    const char *s = framework_cell(sh, row, col);
    *out = 0;
    if (is_null != NULL) {
        *is_null = s[0] == '\0';
        if (*is_null) {
            return 1;
        }
    }
    if (s[0] == '\0') {
        return 0; /* already reported as empty */
    }
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
        framework_bad(sh, sh->line[row], col, "not a whole number from %ld to %ld", lo, hi);
        return 0;
    }
    *out = v;
    return 1;
}

/* Records a problem when cell (row, col) differs from the same column of row 0: values that
 * describe the whole plan or framework repeat on every row. */
static void
framework_same_as_first(struct framework_sheet *sh, size_t row, int col, const char *what)
{
    if (row > 0 && strcmp(framework_cell(sh, row, col), framework_cell(sh, 0, col)) != 0) {
        framework_bad(sh, sh->line[row], col, "differs from line %lu (one %s per file)",
                      sh->line[0], what);
    }
}

/* Compares a row to what the replica holds, and adds it to t when it differs (t NULL: only
 * counts). *differ counts the rows that are absent or differ. */
static err_code
framework_emit(struct replica *r, struct replica_txn *t, const char *table, const char *pk,
               const struct replica_cell *cells, size_t n, size_t *differ)
{
    char sql[512];
    size_t len = (size_t)snprintf(sql, sizeof sql, "SELECT 1");
    for (size_t i = 0; i < n && len < sizeof sql; i++) {
        len += (size_t)snprintf(sql + len, sizeof sql - len, ", %s", cells[i].col);
    }
    if (len >= sizeof sql - 64) {
        return ERR_MSGSIZE;
    }
    snprintf(sql + len, sizeof sql - len, " FROM %s WHERE id = ?1 AND _live", table);
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(r->st->db, sql, -1, &s, NULL) != SQLITE_OK) {
        return ERR_DB;
    }
    sqlite3_bind_text(s, 1, pk, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s), same = 0;
    if (rc == SQLITE_ROW) {
        same = 1;
        for (size_t i = 0; i < n && same; i++) {
            int k = (int)i + 1;
            if (cells[i].is_null) {
                same = sqlite3_column_type(s, k) == SQLITE_NULL;
            } else if (sqlite3_column_type(s, k) == SQLITE_NULL) {
                same = 0;
            } else if (cells[i].type == SCHEMA_INT) {
                same = sqlite3_column_int64(s, k) == cells[i].i;
            } else {
                const char *v = (const char *)sqlite3_column_text(s, k);
                same = v != NULL && strcmp(v, cells[i].s) == 0;
            }
        }
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        return ERR_DB;
    }
    if (same) {
        return ERR_OK;
    }
    (*differ)++;
    return t != NULL ? replica_txn_put(t, table, pk, 1, cells, n, 0) : ERR_OK;
}

#define FTXT(c, v) {.col = (c), .type = SCHEMA_TEXT, .s = (v)}
#define FINT(c, v) {.col = (c), .type = SCHEMA_INT, .i = (v)}
#define FNUL(c, t) {.col = (c), .type = (t), .is_null = 1}
#define FCOUNT(a) (sizeof(a) / sizeof(a)[0])

/* The plan file's columns, in this order (enum framework_plan_col). */
enum framework_plan_col { PC_CODE, PC_LEVEL, PC_TITLE, PC_DECISION, PC_FROM, PC_TO, PC_METRIC,
                          PC_YEAR, PC_PCT, PC_COUNT };
static const struct framework_col framework_plan_cols[PC_COUNT] = {
    [PC_CODE] = {"Mã kế hoạch", 1},   [PC_LEVEL] = {"Cấp", 1},
    [PC_TITLE] = {"Tên kế hoạch", 1}, [PC_DECISION] = {"Quyết định", 0},
    [PC_FROM] = {"Từ năm", 1},        [PC_TO] = {"Đến năm", 1},
    [PC_METRIC] = {"Chỉ tiêu", 1},    [PC_YEAR] = {"Năm", 1},
    [PC_PCT] = {"Tỷ lệ %", 1},
};

/* "national", "province" or "commune" for a Cấp cell (English or Vietnamese), else NULL. */
static const char *
framework_level(const char *cell)
{
    static const char *const names[][2] = {{"national", "national"}, {"quoc gia", "national"},
                                           {"province", "province"}, {"tinh", "province"},
                                           {"commune", "commune"},   {"xa", "commune"}};
    char f[FOLD_KEY_SIZE];
    if (fold_text(cell, f, sizeof f) != ERR_OK) {
        return NULL;
    }
    for (size_t i = 0; i < FCOUNT(names); i++) {
        if (strcmp(f, names[i][0]) == 0) {
            return names[i][1];
        }
    }
    return NULL;
}

/* Checks the plan file; on success fills the plan's values from row 0. */
static void
framework_plan_check(struct framework_sheet *sh, const char *unit, const char **level,
                     int64_t *from, int64_t *to)
{
    *level = NULL;
    *from = *to = 0;
    int years_ok = sh->rows > 0 && framework_int(sh, 0, PC_FROM, 1900, 2200, from, NULL) &&
                   framework_int(sh, 0, PC_TO, 1900, 2200, to, NULL);
    if (years_ok && *to < *from) {
        framework_bad(sh, sh->line[0], PC_TO, "before the year in \"Từ năm\"");
        years_ok = 0;
    }
    if (sh->rows > 0 && framework_cell(sh, 0, PC_LEVEL)[0] != '\0') {
        *level = framework_level(framework_cell(sh, 0, PC_LEVEL));
        if (*level == NULL) {
            framework_bad(sh, sh->line[0], PC_LEVEL,
                          "not national, province or commune (quốc gia, tỉnh, xã)");
        } else if ((strcmp(*level, "national") == 0) != (strcmp(unit, "*") == 0)) {
            framework_bad(sh, sh->line[0], PC_LEVEL,
                          strcmp(unit, "*") == 0 ? "the root publishes the national plan only "
                                                   "(--unit CODE for a province's or commune's)"
                                                 : "a national plan is published by the root");
        }
    }
    for (size_t i = 0; i < sh->rows; i++) {
        static const int whole[] = {PC_CODE, PC_LEVEL, PC_TITLE, PC_DECISION, PC_FROM, PC_TO};
        for (size_t k = 0; k < FCOUNT(whole); k++) {
            framework_same_as_first(sh, i, whole[k], "plan");
        }
        const char *m = framework_cell(sh, i, PC_METRIC);
        if (m[0] != '\0' && report_metric_parse(m) < 0) {
            framework_bad(sh, sh->line[i], PC_METRIC,
                          "not a metric (trained, family_adults, unit_workers, holders_digital, "
                          "holders_proficient)");
        }
        int64_t y = 0, pct = 0;
        if (framework_int(sh, i, PC_YEAR, 1900, 2200, &y, NULL) && years_ok &&
            (y < *from || y > *to)) {
            framework_bad(sh, sh->line[i], PC_YEAR, "outside the plan's years %lld-%lld",
                          (long long)*from, (long long)*to);
        }
        (void)framework_int(sh, i, PC_PCT, 0, 100, &pct, NULL);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(m, framework_cell(sh, j, PC_METRIC)) == 0 &&
                strcmp(framework_cell(sh, i, PC_YEAR), framework_cell(sh, j, PC_YEAR)) == 0) {
                framework_bad(sh, sh->line[i], PC_YEAR, "same metric and year as line %lu",
                              sh->line[j]);
                break;
            }
        }
    }
}

/* Adds the plan and its targets that differ from the replica's to t (NULL: counts only). */
static err_code
framework_plan_emit(struct framework_sheet *sh, struct replica *r, struct replica_txn *t,
                    const char *unit, const char *pk, const char *level, int64_t from,
                    int64_t to, size_t *differ)
{
    const char *decision = framework_cell(sh, 0, PC_DECISION);
    const struct replica_cell pcells[] = {
        FTXT("unit", unit),
        FTXT("code", framework_cell(sh, 0, PC_CODE)),
        FTXT("level", level),
        FTXT("title", framework_cell(sh, 0, PC_TITLE)),
        {.col = "decision", .type = SCHEMA_TEXT, .is_null = decision[0] == '\0', .s = decision},
        FINT("year_from", from),
        FINT("year_to", to),
    };
    err_code rc = framework_emit(r, t, "plan", pk, pcells, FCOUNT(pcells), differ);
    for (size_t i = 0; rc == ERR_OK && i < sh->rows; i++) {
        int64_t y = 0, pct = 0;
        (void)framework_int(sh, i, PC_YEAR, 1900, 2200, &y, NULL);
        (void)framework_int(sh, i, PC_PCT, 0, 100, &pct, NULL);
        char tpk[SEED_PK_SIZE + 48];
        int n = snprintf(tpk, sizeof tpk, "%s/%s/%lld", pk, framework_cell(sh, i, PC_METRIC),
                         (long long)y);
        if (n < 0 || (size_t)n >= sizeof tpk) {
            return ERR_MSGSIZE;
        }
        const struct replica_cell tcells[] = {
            FTXT("unit", unit), FTXT("plan", pk), FTXT("metric", framework_cell(sh, i, PC_METRIC)),
            FINT("year", y),    FINT("pct", pct),
        };
        rc = framework_emit(r, t, "plan_target", tpk, tcells, FCOUNT(tcells), differ);
    }
    return rc;
}

static int
plan_publish_file(struct cli *c, struct replica *r, const char *path, const char *unit_opt)
{
    struct framework_sheet *sh = calloc(1, sizeof *sh);
    struct replica_txn *t = NULL;
    char unit[REPLICA_META_SIZE_MAX], pk[SEED_PK_SIZE];
    int ec = 0;
    if (sh == NULL) {
        return cli_fail(c, ERR_NOMEM, "out of memory");
    }
    sh->cols = framework_plan_cols;
    sh->ncols = PC_COUNT;
    if ((ec = framework_unit(c, r, unit_opt, unit)) != 0 ||
        (ec = framework_may_publish(c, r, unit, "a plan")) != 0 ||
        (ec = framework_sheet_read(c, path, sh)) != 0) {
        goto out;
    }
    const char *level = NULL;
    int64_t from = 0, to = 0;
    framework_plan_check(sh, unit, &level, &from, &to);
    if (sh->n_bad == 0 && snprintf(pk, sizeof pk, "%s/%s", unit, framework_cell(sh, 0, PC_CODE)) >=
                              (int)sizeof pk) {
        framework_bad(sh, sh->line[0], PC_CODE, "too long");
    }
    if (sh->n_bad > 0) {
        ec = framework_refuse(c, sh);
        goto out;
    }
    size_t differ = 0;
    err_code rc = framework_plan_emit(sh, r, NULL, unit, pk, level, from, to, &differ);
    if (rc == ERR_OK && differ == 0) {
        printf("%s\n", pk);
        fprintf(stderr, "cdht plan publish: %s is already published as in the file; nothing "
                        "changed\n", pk);
        goto out;
    }
    size_t written = 0;
    if (rc == ERR_OK && (rc = replica_txn_new(r, &t)) == ERR_OK &&
        (rc = framework_plan_emit(sh, r, t, unit, pk, level, from, to, &written)) == ERR_OK) {
        rc = replica_txn_commit(r, t, NULL);
        t = NULL; /* the commit frees it */
    }
    if (rc != ERR_OK) {
        ec = cli_write_failed(c, r, rc);
        goto out;
    }
    printf("%s\n", pk);
    fprintf(stderr, "published plan %s: %zu targets, %zu rows written\n", pk, sh->rows, written);
out:
    replica_txn_free(t);
    framework_sheet_release(sh);
    free(sh);
    return ec;
}

/* The framework file's columns (enum framework_fw_col). */
enum framework_fw_col { FC_CODE, FC_VERSION, FC_TITLE, FC_FROM, FC_TO, FC_GROUP, FC_GROUP_NAME,
                        FC_PASS, FC_PASS_DISADV, FC_POS, FC_IND, FC_TEXT, FC_MAX, FC_MIN,
                        FC_COUNT };
static const struct framework_col framework_fw_cols[FC_COUNT] = {
    [FC_CODE] = {"Mã bộ tiêu chí", 1},  [FC_VERSION] = {"Phiên bản", 1},
    [FC_TITLE] = {"Tên", 1},            [FC_FROM] = {"Từ năm", 1},
    [FC_TO] = {"Đến năm", 0},           [FC_GROUP] = {"Nhóm đối tượng", 1},
    [FC_GROUP_NAME] = {"Tên nhóm", 1},  [FC_PASS] = {"Điểm đạt", 1},
    [FC_PASS_DISADV] = {"Điểm đạt vùng khó khăn", 1}, [FC_POS] = {"Vị trí", 1},
    [FC_IND] = {"Mã chỉ tiêu", 1},      [FC_TEXT] = {"Nội dung", 1},
    [FC_MAX] = {"Điểm tối đa", 1},      [FC_MIN] = {"Điểm tối thiểu", 1},
};

/* One target group as the file gives it: its first row and, per position, its row. */
struct framework_fgroup {
    size_t first;
    struct rules_group g;
    long row_at[RULES_IND_MAX]; /* -1: no indicator at this position */
};

/* Checks the framework file; fills groups (*ngroups) in order of first appearance. */
static void
framework_fw_check(struct framework_sheet *sh, struct framework_fgroup *groups, size_t *ngroups)
{
    int64_t v = 0, from = 0, to = 0;
    int to_null = 1;
    *ngroups = 0;
    if (sh->rows > 0) {
        (void)framework_int(sh, 0, FC_VERSION, 1, 1000000, &v, NULL);
        if (framework_int(sh, 0, FC_FROM, 1900, 2200, &from, NULL) &&
            framework_int(sh, 0, FC_TO, 1900, 2200, &to, &to_null) && !to_null && to < from) {
            framework_bad(sh, sh->line[0], FC_TO, "before the year in \"Từ năm\"");
        }
    }
    for (size_t i = 0; i < sh->rows; i++) {
        static const int whole[] = {FC_CODE, FC_VERSION, FC_TITLE, FC_FROM, FC_TO};
        for (size_t k = 0; k < FCOUNT(whole); k++) {
            framework_same_as_first(sh, i, whole[k], "framework version");
        }
        const char *grp = framework_cell(sh, i, FC_GROUP);
        if (grp[0] == '\0') {
            continue;
        }
        size_t k = 0;
        while (k < *ngroups && strcmp(framework_cell(sh, groups[k].first, FC_GROUP), grp) != 0) {
            k++;
        }
        struct framework_fgroup *fg = &groups[k];
        int64_t pass = 0, disadv = 0, pos = 0, max = 0, min = 0;
        if (k == *ngroups) {
            if (k == FRAMEWORK_GROUPS_MAX) {
                framework_bad(sh, sh->line[i], FC_GROUP, "more than %u groups",
                              FRAMEWORK_GROUPS_MAX);
                continue;
            }
            memset(fg, 0, sizeof *fg);
            fg->first = i;
            for (unsigned p = 0; p < RULES_IND_MAX; p++) {
                fg->row_at[p] = -1;
            }
            (void)framework_int(sh, i, FC_PASS, 0, 1000000, &pass, NULL);
            (void)framework_int(sh, i, FC_PASS_DISADV, 0, 1000000, &disadv, NULL);
            fg->g.pass_total = (int)pass;
            fg->g.pass_total_disadv = (int)disadv;
            (*ngroups)++;
        } else {
            static const int per_group[] = {FC_GROUP_NAME, FC_PASS, FC_PASS_DISADV};
            for (size_t c = 0; c < FCOUNT(per_group); c++) {
                if (strcmp(framework_cell(sh, i, per_group[c]),
                           framework_cell(sh, fg->first, per_group[c])) != 0) {
                    framework_bad(sh, sh->line[i], per_group[c],
                                  "differs from line %lu of the same group", sh->line[fg->first]);
                }
            }
        }
        if (!framework_int(sh, i, FC_POS, 1, RULES_IND_MAX, &pos, NULL)) {
            continue;
        }
        if (fg->row_at[pos - 1] >= 0) {
            framework_bad(sh, sh->line[i], FC_POS, "same group and position as line %lu",
                          sh->line[fg->row_at[pos - 1]]);
            continue;
        }
        for (unsigned p = 0; p < RULES_IND_MAX; p++) {
            if (fg->row_at[p] >= 0 && strcmp(framework_cell(sh, (size_t)fg->row_at[p], FC_IND),
                                             framework_cell(sh, i, FC_IND)) == 0) {
                framework_bad(sh, sh->line[i], FC_IND, "same group and code as line %lu",
                              sh->line[fg->row_at[p]]);
            }
        }
        fg->row_at[pos - 1] = (long)i;
        (void)framework_int(sh, i, FC_MAX, 0, 1000000, &max, NULL);
        (void)framework_int(sh, i, FC_MIN, 0, 1000000, &min, NULL);
        fg->g.max[pos - 1] = (int)max;
        fg->g.min[pos - 1] = (int)min;
    }
    if (sh->n_bad > 0) {
        return; /* the group checks would repeat the problems above */
    }
    for (size_t k = 0; k < *ngroups; k++) {
        struct framework_fgroup *fg = &groups[k];
        unsigned n = 0;
        while (n < RULES_IND_MAX && fg->row_at[n] >= 0) {
            n++;
        }
        for (unsigned p = n; p < RULES_IND_MAX; p++) {
            if (fg->row_at[p] >= 0) {
                framework_bad(sh, sh->line[fg->row_at[p]], FC_POS,
                              "no indicator at position %u of this group (positions run 1..N)",
                              n + 1);
                break;
            }
        }
        fg->g.n = (int)n;
        char why[RULES_WHY_SIZE];
        if (rules_group_check(&fg->g, why) != ERR_OK) {
            framework_bad(sh, sh->line[fg->first], FC_GROUP, "%s", why);
        }
    }
}

/* Adds the framework version's rows that differ from the replica's to t (NULL: counts only). */
static err_code
framework_fw_emit(struct framework_sheet *sh, struct replica *r, struct replica_txn *t,
                  const char *unit, const char *fw, const struct framework_fgroup *groups,
                  size_t ngroups, size_t *differ)
{
    int64_t version = 0, from = 0, to = 0;
    int to_null = 1;
    (void)framework_int(sh, 0, FC_VERSION, 1, 1000000, &version, NULL);
    (void)framework_int(sh, 0, FC_FROM, 1900, 2200, &from, NULL);
    (void)framework_int(sh, 0, FC_TO, 1900, 2200, &to, &to_null);
    /* The settings the file has no column for are the built-in framework's (seed.c). */
    const struct replica_cell fcells[] = {
        FTXT("unit", unit),
        FTXT("code", framework_cell(sh, 0, FC_CODE)),
        FINT("version", version),
        FTXT("title", framework_cell(sh, 0, FC_TITLE)),
        FINT("year_from", from),
        {.col = "year_to", .type = SCHEMA_INT, .is_null = to_null, .i = to},
        FINT("exemplary_years", 5),
        FINT("adult_age", 18),
        FTXT("collective_rule", RULES_COLLECTIVE_DEFAULT),
        FTXT("review_role", "writer"),
    };
    err_code rc = framework_emit(r, t, "framework", fw, fcells, FCOUNT(fcells), differ);
    char pk[SEED_PK_SIZE + 64];
    for (size_t k = 0; rc == ERR_OK && k < ngroups; k++) {
        const struct framework_fgroup *fg = &groups[k];
        const char *grp = framework_cell(sh, fg->first, FC_GROUP);
        int n = snprintf(pk, sizeof pk, "%s/%s", fw, grp);
        if (n < 0 || (size_t)n >= sizeof pk - 8) {
            return ERR_MSGSIZE;
        }
        const struct replica_cell gcells[] = {
            FTXT("unit", unit),
            FTXT("framework", fw),
            FTXT("grp", grp),
            FINT("pos", (int64_t)k + 1),
            FTXT("name_vi", framework_cell(sh, fg->first, FC_GROUP_NAME)),
            FNUL("name_en", SCHEMA_TEXT),
            FINT("pass_total", fg->g.pass_total),
            FINT("pass_total_disadv", fg->g.pass_total_disadv),
        };
        rc = framework_emit(r, t, "framework_group", pk, gcells, FCOUNT(gcells), differ);
        for (int p = 0; rc == ERR_OK && p < fg->g.n; p++) {
            size_t row = (size_t)fg->row_at[p];
            snprintf(pk, sizeof pk, "%s/%s/%d", fw, grp, p + 1);
            const struct replica_cell icells[] = {
                FTXT("unit", unit),
                FTXT("framework", fw),
                FTXT("grp", grp),
                FINT("pos", (int64_t)p + 1),
                FTXT("code", framework_cell(sh, row, FC_IND)),
                FNUL("competency", SCHEMA_TEXT),
                FTXT("text_vi", framework_cell(sh, row, FC_TEXT)),
                FNUL("text_en", SCHEMA_TEXT),
                FINT("max_points", fg->g.max[p]),
                FINT("min_points", fg->g.min[p]),
            };
            rc = framework_emit(r, t, "framework_indicator", pk, icells, FCOUNT(icells), differ);
        }
    }
    return rc;
}

/* The live groups and indicators of framework fw, or -1 on error. */
static long
framework_held_rows(struct replica *r, const char *fw)
{
    static const char q[] =
        "SELECT (SELECT count(*) FROM framework_group WHERE framework = ?1 AND _live) + "
        "(SELECT count(*) FROM framework_indicator WHERE framework = ?1 AND _live)";
    sqlite3_stmt *s = store_stmt(r->st, q);
    if (s == NULL) {
        return -1;
    }
    sqlite3_bind_text(s, 1, fw, -1, SQLITE_TRANSIENT);
    long v = sqlite3_step(s) == SQLITE_ROW ? (long)sqlite3_column_int64(s, 0) : -1;
    sqlite3_reset(s);
    return v;
}

static int
framework_publish_file(struct cli *c, struct replica *r, const char *path, const char *unit_opt)
{
    struct framework_sheet *sh = calloc(1, sizeof *sh);
    struct framework_fgroup *groups = calloc(FRAMEWORK_GROUPS_MAX, sizeof *groups);
    struct replica_txn *t = NULL;
    char unit[REPLICA_META_SIZE_MAX], fw[SEED_PK_SIZE];
    int ec = 0;
    if (sh == NULL || groups == NULL) {
        ec = cli_fail(c, ERR_NOMEM, "out of memory");
        goto out;
    }
    sh->cols = framework_fw_cols;
    sh->ncols = FC_COUNT;
    if ((ec = framework_unit(c, r, unit_opt, unit)) != 0 ||
        (ec = framework_may_publish(c, r, unit, "a framework")) != 0 ||
        (ec = framework_sheet_read(c, path, sh)) != 0) {
        goto out;
    }
    size_t ngroups = 0;
    framework_fw_check(sh, groups, &ngroups);
    if (sh->n_bad == 0 &&
        snprintf(fw, sizeof fw, "%s/%s/%s", unit, framework_cell(sh, 0, FC_CODE),
                 framework_cell(sh, 0, FC_VERSION)) >= (int)sizeof fw - 16) {
        framework_bad(sh, sh->line[0], FC_CODE, "too long");
    }
    if (sh->n_bad > 0) {
        ec = framework_refuse(c, sh);
        goto out;
    }
    /* The version string is canonical ("02" is 2) in the pk. */
    int64_t version = 0;
    (void)framework_int(sh, 0, FC_VERSION, 1, 1000000, &version, NULL);
    int fw_len = snprintf(fw, sizeof fw, "%s/%s/%lld", unit, framework_cell(sh, 0, FC_CODE),
                          (long long)version);
    ASSERT(fw_len > 0 && (size_t)fw_len < sizeof fw); /* no longer than the one checked */
    static const char q[] = "SELECT 1 FROM framework WHERE id = ?1 AND _live";
    int live = framework_row_live(r, q, fw);
    size_t differ = 0, rows = 1 + ngroups + sh->rows;
    err_code rc = live < 0 ? ERR_DB
                           : framework_fw_emit(sh, r, NULL, unit, fw, groups, ngroups, &differ);
    long held = rc == ERR_OK && live > 0 ? framework_held_rows(r, fw) : 0;
    if (rc != ERR_OK || held < 0) {
        ec = cli_fail(c, ERR_DB, "cannot read the replica");
        goto out;
    }
    if (live > 0) {
        /* A published version is immutable: assessments recorded it (seed.h). */
        if (differ != 0 || (size_t)held != rows - 1) {
            ec = cli_fail(c, ERR_INVAL,
                          "refusing: framework %s version %lld is already published; publish a "
                          "new version; nothing was written",
                          framework_cell(sh, 0, FC_CODE), (long long)version);
        } else {
            printf("%s\n", fw);
            fprintf(stderr, "cdht framework publish: %s is already published; nothing changed\n",
                    fw);
        }
        goto out;
    }
    size_t written = 0;
    if ((rc = replica_txn_new(r, &t)) == ERR_OK &&
        (rc = framework_fw_emit(sh, r, t, unit, fw, groups, ngroups, &written)) == ERR_OK) {
        rc = replica_txn_commit(r, t, NULL);
        t = NULL; /* the commit frees it */
    }
    if (rc != ERR_OK) {
        ec = cli_write_failed(c, r, rc);
        goto out;
    }
    printf("%s\n", fw);
    fprintf(stderr, "published framework %s: %zu groups, %zu indicators\n", fw, ngroups,
            sh->rows);
out:
    replica_txn_free(t);
    if (sh != NULL) {
        framework_sheet_release(sh);
    }
    free(sh);
    free(groups);
    return ec;
}

/* ---- publishing ---------------------------------------------------------------------------- */

/* The options of `framework publish` and `plan publish` (cmd and usage as cli_init keeps them:
 * literals; seed_what: what --seed publishes): exactly one of --seed and --from FILE, and --unit; then the replica,
 * opened for writing. 0 with *r set, CLI_HELP_SHOWN, or the exit code after the message. */
static int
publish_open(struct cli *c, int argc, char **argv, const char *cmd, const char *usage,
             const char *seed_what, const char **unit_opt, const char **from, struct replica **r)
{
    cli_init(c, cmd, usage);
    int seed = 0;
    *r = NULL;
    const struct cli_opt opts[] = {
        {"seed", 0, NULL, &seed}, {"from", 0, from, NULL}, {"unit", 0, unit_opt, NULL}};
    int ec = cli_parse(c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (ec != 0) {
        return ec;
    }
    if (seed == (*from != NULL)) {
        return cli_usage(c, "give either --seed (%s) or --from FILE (docs/import-template.md)",
                         seed_what);
    }
    return cli_open(c, REPLICA_WRITE, r);
}

static int
framework_publish(int argc, char **argv)
{
    struct cli c;
    const char *unit_opt = NULL, *from = NULL;
    struct replica *r = NULL;
    int ec = publish_open(
        &c, argc, argv, "framework publish",
        "framework publish --home DIR (--seed | --from FILE.csv|FILE.xlsx) [--unit CODE]",
        "the built-in 244/QĐ-KHVN framework", &unit_opt, &from, &r);
    if (ec != 0 || r == NULL) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    if (from != NULL) {
        ec = framework_publish_file(&c, r, from, unit_opt);
        replica_close(r);
        return ec;
    }
    char unit[REPLICA_META_SIZE_MAX], pk[SEED_PK_SIZE];
    struct replica_txn *t = NULL;
    if ((ec = framework_unit(&c, r, unit_opt, unit)) != 0 ||
        (ec = framework_may_publish(&c, r, unit, "a framework")) != 0) {
        goto out;
    }
    if (seed_framework_pk(unit, pk) != ERR_OK) {
        ec = cli_usage(&c, "--unit: too long");
        goto out;
    }
    static const char q[] = "SELECT 1 FROM framework WHERE id = ?1 AND _live";
    int live = framework_row_live(r, q, pk);
    if (live != 0) {
        ec = live < 0 ? cli_fail(&c, ERR_DB, "cannot read the replica") : CLI_OK;
        if (live > 0) {
            printf("%s\n", pk);
            fprintf(stderr, "cdht framework publish: %s is already published; nothing changed\n",
                    pk);
        }
        goto out;
    }
    err_code rc = replica_txn_new(r, &t);
    if (rc == ERR_OK && (rc = seed_framework_put(t, unit)) == ERR_OK) {
        rc = replica_txn_commit(r, t, NULL);
        t = NULL; /* the commit frees it */
    }
    if (rc != ERR_OK) {
        ec = cli_write_failed(&c, r, rc);
        goto out;
    }
    printf("%s\n", pk);
    fprintf(stderr, "published framework %s: %u groups of %u indicators\n", pk, SEED_GROUPS,
            RULES_IND_MAX);
out:
    replica_txn_free(t);
    replica_close(r);
    return ec;
}

static int
plan_publish(int argc, char **argv)
{
    struct cli c;
    const char *unit_opt = NULL, *from = NULL;
    struct replica *r = NULL;
    int ec = publish_open(
        &c, argc, argv, "plan publish",
        "plan publish --home DIR (--seed | --from FILE.csv|FILE.xlsx) [--unit CODE]",
        "the built-in plans", &unit_opt, &from, &r);
    if (ec != 0 || r == NULL) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    if (from != NULL) {
        ec = plan_publish_file(&c, r, from, unit_opt);
        replica_close(r);
        return ec;
    }
    /* The root (or open mode) publishes the national programme; the seed commune plan goes to
     * --unit, or to a hub's own unit. */
    int is_root = 0;
    struct replica_txn *t = NULL;
    char unit[REPLICA_META_SIZE_MAX] = "", pk[SEED_PK_SIZE];
    err_code rc = framework_is_root(r, &is_root);
    if (rc != ERR_OK) {
        ec = cli_fail(&c, rc, "cannot read the trust state: %s", err_str(rc));
        goto out;
    }
    int national = is_root, commune = unit_opt != NULL || !is_root;
    if (commune) {
        if ((ec = framework_unit(&c, r, unit_opt, unit)) != 0 ||
            (ec = framework_may_publish(&c, r, unit, "a plan")) != 0) {
            goto out;
        }
        if (strcmp(unit, "*") == 0 || seed_plan_commune_pk(unit, pk) != ERR_OK) {
            ec = cli_usage(&c, "--unit: a commune's unit code");
            goto out;
        }
    }
    static const char q[] = "SELECT 1 FROM plan WHERE id = ?1 AND _live";
    int have_national = national ? framework_row_live(r, q, SEED_PLAN_NATIONAL_PK) : 0;
    int have_commune = commune ? framework_row_live(r, q, pk) : 0;
    if (have_national < 0 || have_commune < 0) {
        ec = cli_fail(&c, ERR_DB, "cannot read the replica");
        goto out;
    }
    national &= !have_national;
    commune &= !have_commune;
    if (!national && !commune) {
        fprintf(stderr, "cdht plan publish: already published; nothing changed\n");
        goto out;
    }
    if ((rc = replica_txn_new(r, &t)) == ERR_OK && national) {
        rc = seed_plan_national_put(t);
    }
    if (rc == ERR_OK && commune) {
        rc = seed_plan_commune_put(t, unit);
    }
    if (rc == ERR_OK) {
        rc = replica_txn_commit(r, t, NULL);
        t = NULL; /* the commit frees it */
    }
    if (rc != ERR_OK) {
        ec = cli_write_failed(&c, r, rc);
        goto out;
    }
    if (national) {
        printf("%s\n", SEED_PLAN_NATIONAL_PK);
    }
    if (commune) {
        printf("%s\n", pk);
    }
out:
    replica_txn_free(t);
    replica_close(r);
    return ec;
}

/* ---- the two command groups ---------------------------------------------------------------- */

static int
framework_dispatch(int argc, char **argv, int (*publish)(int, char **), int (*list)(int, char **),
                   const char *usage)
{
    if (argc >= 2 && strcmp(argv[1], "publish") == 0) {
        return publish(argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "list") == 0) {
        return list(argc - 1, argv + 1);
    }
    int help = argc >= 2 && cli_is_help(argv[1]);
    fputs(usage, help ? stdout : stderr);
    return help ? CLI_OK : CLI_USAGE;
}

int
cmd_framework(int argc, char **argv)
{
    return framework_dispatch(argc, argv, framework_publish, framework_list,
                              "usage: cdht framework publish (--seed | --from FILE) [--unit CODE]\n"
                              "       cdht framework list [--indicators] [--format table|csv]\n"
                              "A hub (or the root) publishes; every replica below receives it.\n");
}

int
cmd_plan(int argc, char **argv)
{
    return framework_dispatch(argc, argv, plan_publish, plan_list,
                              "usage: cdht plan publish (--seed | --from FILE) [--unit CODE]\n"
                              "       cdht plan list [--targets] [--format table|csv]\n"
                              "The root publishes the national programme (677/QĐ-TTg); a hub, "
                              "its commune's plan.\n");
}
