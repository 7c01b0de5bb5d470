/*
 * Tests for the units tree (node/units.c), its date rules (node/domain.c) and schema migration 2
 * (node/store.c). Dates: shapes, calendar days, leap years, the day count both ways. Roll-up: a
 * pre-2025 4-tier tree (province > district > commune > village) succeeded by the 2025 2-tier
 * tree, written through the real commit path; a village under an old commune rolls up to the
 * new commune from the effective date on, and not before. Cycles and chain bounds are written
 * past the command checks (as a merge from elsewhere could) and must be reported, not followed.
 * Migration: a schema-1 database built from schema 1's own SQL is opened, and its rows, clocks
 * and merges must survive.
 */
#include <criterion/criterion.h>

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "log.h"
#include "merge.h"
#include "replica.h"
#include "schema.h"
#include "store.h"
#include "support.h"
#include "units.h"

static void
suite_init(void)
{
    cr_assert_geq(sodium_init(), 0);
    unsetenv("CDHT_FAKE_NOW_MS");
}

TestSuite(units, .init = suite_init);

/* ---- dates -------------------------------------------------------------------------------- */

/* Real calendar days are accepted, with their day count; every other shape or day is refused
 * with the reason that names what is wrong. */
Test(units, date_parse)
{
    static const struct {
        const char *s;
        int64_t days;
    } good[] = {
        {"1970-01-01", 0},     {"2025-07-01", 20270},  {"2024-02-29", 19782},
        {"2000-02-29", 11016}, {"1900-01-01", -25567}, {"9999-12-31", 2932896},
        {"2025-06-30", 20269}, {"2025-12-31", 20453},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t d = -1;
        const char *why = "x";
        cr_assert_eq(domain_date_parse(good[i].s, &d, &why), ERR_OK, "%s", good[i].s);
        cr_assert_null(why);
        cr_assert_eq(d, good[i].days, "%s: %lld", good[i].s, (long long)d);
        char back[DOMAIN_DATE_SIZE + 1];
        domain_date_format(d, back);
        cr_assert_str_eq(back, good[i].s);
    }
    static const struct {
        const char *s, *why;
    } bad[] = {
        {"", "date must be YYYY-MM-DD"},
        {"2025-7-01", "date must be YYYY-MM-DD"},
        {"2025-07-1", "date must be YYYY-MM-DD"},
        {"2025/07/01", "date must be YYYY-MM-DD"},
        {"2025-07-01T00:00", "date must be YYYY-MM-DD"},
        {"2025-07-0a", "date must be YYYY-MM-DD"},
        {" 2025-07-1", "date must be YYYY-MM-DD"},
        {"+025-07-01", "date must be YYYY-MM-DD"},
        {"1899-12-31", "date year must be 1900 to 9999"},
        {"0000-01-01", "date year must be 1900 to 9999"},
        {"2025-00-10", "date is not a calendar day (month 01 to 12)"},
        {"2025-13-01", "date is not a calendar day (month 01 to 12)"},
        {"2025-02-29", "date is not a calendar day (no such day in that month)"},
        {"2100-02-29", "date is not a calendar day (no such day in that month)"},
        {"2025-04-31", "date is not a calendar day (no such day in that month)"},
        {"2025-01-00", "date is not a calendar day (no such day in that month)"},
        {"2025-01-32", "date is not a calendar day (no such day in that month)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *why = NULL;
        cr_assert_eq(domain_date_parse(bad[i].s, NULL, &why), ERR_INVAL, "%s", bad[i].s);
        cr_assert_str_eq(why, bad[i].why, "%s", bad[i].s);
    }
}

/* Every day from 1900 to 2200 formats back to the date that parses to it, one day apart. */
Test(units, date_round_trip)
{
    int64_t first = 0, last = 0;
    cr_assert_eq(domain_date_parse("1900-01-01", &first, NULL), ERR_OK);
    cr_assert_eq(domain_date_parse("2200-12-31", &last, NULL), ERR_OK);
    for (int64_t d = first; d <= last; d++) {
        char s[DOMAIN_DATE_SIZE + 1];
        int64_t back = -1;
        domain_date_format(d, s);
        cr_assert_eq(domain_date_parse(s, &back, NULL), ERR_OK, "%s", s);
        cr_assert_eq(back, d, "%s", s);
    }
}

/* valid_from <= valid_to; an open bound is always fine; a one-day unit has from == to. */
Test(units, date_range)
{
    const char *why = NULL;
    cr_assert_eq(domain_date_range_check(NULL, NULL, &why), ERR_OK);
    cr_assert_eq(domain_date_range_check("2025-07-01", NULL, &why), ERR_OK);
    cr_assert_eq(domain_date_range_check(NULL, "2025-06-30", &why), ERR_OK);
    cr_assert_eq(domain_date_range_check("2025-07-01", "2025-07-01", &why), ERR_OK);
    cr_assert_eq(domain_date_range_check("2025-06-30", "2025-07-01", &why), ERR_OK);
    cr_assert_eq(domain_date_range_check("2025-07-01", "2025-06-30", &why), ERR_INVAL);
    cr_assert_str_eq(why, "the valid-from date is after the valid-to date");
}

/* ---- a replica with a units tree ---------------------------------------------------------- */

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
}

static void
fix_close(struct fix *f)
{
    replica_close(f->r);
    support_rmrf(f->dir);
    free(f->dir);
}

/* Writes (or, with exists -1, edits) one unit through the real commit path; NULL leaves a
 * column out of the change. */
static void
unit_put(struct replica *r, const char *code, int exists, const char *parent, const char *kind,
         const char *from, const char *to)
{
    struct replica_cell cells[6];
    size_t n = 0;
    if (parent != NULL) {
        cells[n++] = (struct replica_cell){.col = "parent", .type = SCHEMA_TEXT, .s = parent};
    }
    if (kind != NULL) {
        cells[n++] = (struct replica_cell){.col = "kind", .type = SCHEMA_TEXT, .s = kind};
        cells[n++] = (struct replica_cell){.col = "name", .type = SCHEMA_TEXT, .s = code};
    }
    if (from != NULL) {
        cells[n++] = (struct replica_cell){.col = "valid_from", .type = SCHEMA_TEXT, .s = from};
    }
    if (to != NULL) {
        cells[n++] = (struct replica_cell){.col = "valid_to", .type = SCHEMA_TEXT, .s = to};
    }
    struct replica_txn *t = NULL;
    cr_assert_eq(replica_txn_new(r, &t), ERR_OK);
    cr_assert_eq(replica_txn_put(t, "unit", code, exists, cells, n, 0), ERR_OK);
    cr_assert_eq(replica_txn_commit(r, t, NULL), ERR_OK);
}

static void
succ_put(struct replica *r, const char *old, const char *new_code, const char *effective)
{
    struct replica_cell cells[] = {
        {.col = "new_code", .type = SCHEMA_TEXT, .s = new_code},
        {.col = "effective", .type = SCHEMA_TEXT, .s = effective},
    };
    struct replica_txn *t = NULL;
    cr_assert_eq(replica_txn_new(r, &t), ERR_OK);
    cr_assert_eq(replica_txn_put(t, "unit_succession", old, 1, cells, 2, 0), ERR_OK);
    cr_assert_eq(replica_txn_commit(r, t, NULL), ERR_OK);
}

/* The pre-2025 tree of one province, then the 2025 reform: district 440 closed (rolls up to the
 * province), communes 44001 and 44002 merged into the new 44101 directly under the province.
 * Village V1 was recorded under 44001 and is never edited. */
static void
reform_tree(struct replica *r)
{
    unit_put(r, "44", 1, NULL, "province", NULL, NULL);
    unit_put(r, "440", 1, "44", "district", NULL, NULL);
    unit_put(r, "44001", 1, "440", "commune", NULL, NULL);
    unit_put(r, "44002", 1, "440", "commune", NULL, NULL);
    unit_put(r, "V1", 1, "44001", "village", NULL, NULL);
    unit_put(r, "V2", 1, "44002", "village", NULL, NULL);
    unit_put(r, "44101", 1, "44", "commune", "2025-07-01", NULL);
    unit_put(r, "440", -1, NULL, NULL, NULL, "2025-06-30");
    unit_put(r, "44001", -1, NULL, NULL, NULL, "2025-06-30");
    unit_put(r, "44002", -1, NULL, NULL, NULL, "2025-06-30");
    succ_put(r, "440", "44", "2025-07-01");
    succ_put(r, "44001", "44101", "2025-07-01");
    succ_put(r, "44002", "44101", "2025-07-01");
}

static void
path_eq(struct replica *r, const char *code, const char *date, const char *want)
{
    char path[UNITS_DEPTH_MAX][UNITS_CODE_BUF];
    unsigned n = 0;
    cr_assert_eq(units_ancestors(r->st, NULL, code, date, path, &n), ERR_OK, "%s at %s", code,
                 date ? date : "(any)");
    char got[512] = "";
    for (unsigned i = 0; i < n; i++) {
        strcat(got, i ? " " : "");
        strcat(got, path[i]);
    }
    cr_assert_str_eq(got, want, "%s at %s", code, date ? date : "(any)");
}

static void
resolve_eq(struct replica *r, const char *code, const char *date, const char *want)
{
    char out[UNITS_CODE_BUF];
    cr_assert_eq(units_resolve(r->st, NULL, code, date, out), ERR_OK);
    cr_assert_str_eq(out, want, "%s at %s", code, date ? date : "(any)");
}

/* A village under an old commune rolls up to the new commune from the effective date on, and
 * under the old commune and district the day before. */
Test(units, roll_up_across_the_2025_reform)
{
    struct fix f;
    fix_open(&f);
    reform_tree(f.r);
    resolve_eq(f.r, "44001", "2025-06-30", "44001");
    resolve_eq(f.r, "44001", "2025-07-01", "44101");
    resolve_eq(f.r, "44001", "2030-01-01", "44101");
    resolve_eq(f.r, "44001", NULL, "44101");
    resolve_eq(f.r, "440", "2025-07-01", "44");
    resolve_eq(f.r, "V1", "2025-07-01", "V1");
    path_eq(f.r, "V1", "2025-06-30", "V1 44001 440 44");
    path_eq(f.r, "V1", "2025-07-01", "V1 44101 44");
    path_eq(f.r, "V2", "2025-07-01", "V2 44101 44");
    path_eq(f.r, "44001", "2024-01-01", "44001 440 44");
    path_eq(f.r, "44001", "2025-07-01", "44101 44");
    fix_close(&f);
}

struct collect {
    char buf[2048];
};

static err_code
collect_tree_cb(void *ctx, const struct units_row *u, unsigned depth, int in_cycle)
{
    struct collect *c = ctx;
    size_t n = strlen(c->buf);
    snprintf(c->buf + n, sizeof c->buf - n, "%s%u:%s ", in_cycle ? "!" : "", depth, u->code);
    return ERR_OK;
}

static err_code
collect_row_cb(void *ctx, const struct units_row *u)
{
    struct collect *c = ctx;
    size_t n = strlen(c->buf);
    snprintf(c->buf + n, sizeof c->buf - n, "%s ", u->code);
    return ERR_OK;
}

static void
tree_eq(struct replica *r, const char *date, const char *want, unsigned want_cycle)
{
    struct collect c = {.buf = ""};
    unsigned cyc = 99;
    cr_assert_eq(units_tree(r->st, date, collect_tree_cb, &c, &cyc), ERR_OK);
    cr_assert_str_eq(c.buf, want, "at %s", date);
    cr_assert_eq(cyc, want_cycle);
}

/* The tree before the reform has four tiers; after it, two (plus the villages). Children
 * follow their parents' successions; units outside their validity are left out. */
Test(units, tree_before_and_after)
{
    struct fix f;
    fix_open(&f);
    reform_tree(f.r);
    tree_eq(f.r, "2025-06-30", "0:44 1:440 2:44001 3:V1 2:44002 3:V2 ", 0);
    tree_eq(f.r, "2025-07-01", "0:44 1:44101 2:V1 2:V2 ", 0);
    struct collect c = {.buf = ""};
    cr_assert_eq(units_children(f.r->st, "44101", "2025-07-01", collect_row_cb, &c), ERR_OK);
    cr_assert_str_eq(c.buf, "V1 V2 ");
    c.buf[0] = '\0';
    cr_assert_eq(units_children(f.r->st, "44101", "2025-06-30", collect_row_cb, &c), ERR_OK);
    cr_assert_str_eq(c.buf, "");
    c.buf[0] = '\0';
    cr_assert_eq(units_children(f.r->st, NULL, "2025-07-01", collect_row_cb, &c), ERR_OK);
    cr_assert_str_eq(c.buf, "44 ");
    c.buf[0] = '\0';
    cr_assert_eq(units_foreach(f.r->st, "2025-07-01", collect_row_cb, &c), ERR_OK);
    cr_assert_str_eq(c.buf, "44 44101 V1 V2 ");
    c.buf[0] = '\0';
    cr_assert_eq(units_foreach(f.r->st, NULL, collect_row_cb, &c), ERR_OK);
    cr_assert_str_eq(c.buf, "44 440 44001 44002 44101 V1 V2 ");
    fix_close(&f);
}

/* Cycles written past the command checks (as two replicas' merged changes can make them) are
 * ERR_CORRUPT, never followed: a succession cycle, a parent cycle, and a parent that rolls up
 * into its own child. The tree lists the units of a parent cycle apart and counts them. */
Test(units, cycles_reported)
{
    struct fix f;
    fix_open(&f);
    reform_tree(f.r);
    char out[UNITS_CODE_BUF], path[UNITS_DEPTH_MAX][UNITS_CODE_BUF];
    unsigned n = 0;
    /* Succession cycle 44101 -> 44001 -> 44101 (from 2026). */
    succ_put(f.r, "44101", "44001", "2026-01-01");
    cr_assert_eq(units_resolve(f.r->st, NULL, "44001", "2025-12-31", out), ERR_OK);
    cr_assert_str_eq(out, "44101");
    cr_assert_eq(units_resolve(f.r->st, NULL, "44001", "2026-01-01", out), ERR_CORRUPT);
    cr_assert_eq(units_resolve(f.r->st, NULL, "V1", NULL, out), ERR_OK); /* no succession */
    cr_assert_eq(units_ancestors(f.r->st, NULL, "V1", "2026-01-01", path, &n), ERR_CORRUPT);
    cr_assert_eq(n, 0);
    /* Parent cycle A > B > A beside the tree. */
    unit_put(f.r, "A", 1, "B", "agency", NULL, NULL);
    unit_put(f.r, "B", 1, "A", "agency", NULL, NULL);
    cr_assert_eq(units_ancestors(f.r->st, NULL, "A", "2025-01-01", path, &n), ERR_CORRUPT);
    tree_eq(f.r, "2025-01-01", "0:44 1:440 2:44001 3:V1 2:44002 3:V2 !0:A !0:B ", 2);
    fix_close(&f);
}

/* The overlay sees a change before it is written: a move under one's own descendant, and a
 * succession that closes a chain or rolls a unit up into its own child, are refused as
 * ERR_CORRUPT while the stored tree stays acyclic. */
Test(units, overlay_refuses_cycles)
{
    struct fix f;
    fix_open(&f);
    reform_tree(f.r);
    char out[UNITS_CODE_BUF], path[UNITS_DEPTH_MAX][UNITS_CODE_BUF];
    unsigned n = 0;
    struct units_overlay move = {.move_code = "440", .move_parent = "V1"};
    cr_assert_eq(units_ancestors(f.r->st, &move, "440", "2025-01-01", path, &n), ERR_CORRUPT);
    struct units_overlay fine = {.move_code = "V1", .move_parent = "44002"};
    cr_assert_eq(units_ancestors(f.r->st, &fine, "V1", "2025-01-01", path, &n), ERR_OK);
    cr_assert_eq(n, 4);
    struct units_overlay back = {
        .succ_old = "44101", .succ_new = "44001", .succ_effective = "2030-01-01"};
    cr_assert_eq(units_resolve(f.r->st, &back, "44101", NULL, out), ERR_CORRUPT);
    cr_assert_eq(units_resolve(f.r->st, &back, "44101", "2029-12-31", out), ERR_OK);
    cr_assert_str_eq(out, "44101");
    /* 44 succeeded by its own village: V1's parents at that date roll up into V1. */
    struct units_overlay down = {
        .succ_old = "44", .succ_new = "V1", .succ_effective = "2026-01-01"};
    cr_assert_eq(units_ancestors(f.r->st, &down, "V1", "2026-01-01", path, &n), ERR_CORRUPT);
    cr_assert_eq(units_ancestors(f.r->st, NULL, "V1", "2026-01-01", path, &n), ERR_OK);
    fix_close(&f);
}

/* Chains at the limits: UNITS_SUCCESSION_CHAIN_MAX successions are followed, one more is
 * ERR_MSGSIZE; a path of UNITS_DEPTH_MAX units is returned, one more is ERR_MSGSIZE. */
Test(units, limits)
{
    struct fix f;
    fix_open(&f);
    char code[16], next[16], out[UNITS_CODE_BUF], path[UNITS_DEPTH_MAX][UNITS_CODE_BUF];
    unsigned n = 0;
    for (unsigned i = 0; i < UNITS_SUCCESSION_CHAIN_MAX + 1; i++) {
        snprintf(code, sizeof code, "S%u", i);
        snprintf(next, sizeof next, "S%u", i + 1);
        succ_put(f.r, code, next, "2025-07-01");
    }
    snprintf(code, sizeof code, "S%u", 1u);
    cr_assert_eq(units_resolve(f.r->st, NULL, code, "2025-07-01", out), ERR_OK);
    snprintf(next, sizeof next, "S%u", UNITS_SUCCESSION_CHAIN_MAX + 1);
    cr_assert_str_eq(out, next);
    cr_assert_eq(units_resolve(f.r->st, NULL, "S0", "2025-07-01", out), ERR_MSGSIZE);
    cr_assert_eq(units_resolve(f.r->st, NULL, "S0", "2025-06-30", out), ERR_OK);
    cr_assert_str_eq(out, "S0");

    unit_put(f.r, "D0", 1, NULL, "agency", NULL, NULL);
    for (unsigned i = 1; i <= UNITS_DEPTH_MAX; i++) {
        char parent[16];
        snprintf(code, sizeof code, "D%u", i);
        snprintf(parent, sizeof parent, "D%u", i - 1);
        unit_put(f.r, code, 1, parent, "agency", NULL, NULL);
    }
    snprintf(code, sizeof code, "D%u", UNITS_DEPTH_MAX - 1);
    cr_assert_eq(units_ancestors(f.r->st, NULL, code, NULL, path, &n), ERR_OK);
    cr_assert_eq(n, UNITS_DEPTH_MAX);
    cr_assert_str_eq(path[n - 1], "D0");
    snprintf(code, sizeof code, "D%u", UNITS_DEPTH_MAX);
    cr_assert_eq(units_ancestors(f.r->st, NULL, code, NULL, path, &n), ERR_MSGSIZE);
    unsigned cyc = 0;
    struct collect c = {.buf = ""};
    cr_assert_eq(units_tree(f.r->st, NULL, collect_tree_cb, &c, &cyc), ERR_MSGSIZE);
    fix_close(&f);
}

/* ---- migration 1 -> 2 --------------------------------------------------------------------- */

/* Schema 1 exactly as cdht 1 created it: store.c's migration 1 and schema.c's replicated tables
 * with their guards, unit with three columns. */
static const char V1_SQL[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE log(id INTEGER PRIMARY KEY, key BLOB NOT NULL UNIQUE, size INTEGER NOT NULL,"
    " frontier BLOB NOT NULL, cp_size INTEGER NOT NULL DEFAULT 0, checkpoint BLOB);"
    "CREATE TABLE leaf(id INTEGER PRIMARY KEY, hash BLOB NOT NULL, hlc INTEGER NOT NULL,"
    " received_ms INTEGER NOT NULL, skew INTEGER NOT NULL DEFAULT 0, data BLOB NOT NULL);"
    "CREATE TABLE person(id TEXT PRIMARY KEY NOT NULL, name TEXT, birth_year INTEGER,"
    " gender TEXT, unit TEXT, target_group TEXT, cid_hash BLOB, _live INTEGER NOT NULL,"
    " _clk BLOB NOT NULL, CHECK (cdht_merging())) WITHOUT ROWID;"
    "CREATE TRIGGER person_guard_UPDATE BEFORE UPDATE ON person WHEN NOT cdht_merging() BEGIN"
    " SELECT RAISE(ABORT, 'person is a replicated table: write it through cdht, which logs"
    " every change'); END;"
    "CREATE TRIGGER person_guard_DELETE BEFORE DELETE ON person WHEN NOT cdht_merging() BEGIN"
    " SELECT RAISE(ABORT, 'person is a replicated table: write it through cdht, which logs"
    " every change'); END;"
    "CREATE TABLE unit(code TEXT PRIMARY KEY NOT NULL, parent TEXT, kind TEXT, name TEXT,"
    " _live INTEGER NOT NULL, _clk BLOB NOT NULL, CHECK (cdht_merging())) WITHOUT ROWID;"
    "CREATE TRIGGER unit_guard_UPDATE BEFORE UPDATE ON unit WHEN NOT cdht_merging() BEGIN"
    " SELECT RAISE(ABORT, 'unit is a replicated table: write it through cdht, which logs"
    " every change'); END;"
    "CREATE TRIGGER unit_guard_DELETE BEFORE DELETE ON unit WHEN NOT cdht_merging() BEGIN"
    " SELECT RAISE(ABORT, 'unit is a replicated table: write it through cdht, which logs"
    " every change'); END;";

/* Clock entries: hlc | author | index, 16 bytes each, as hex. */
#define CLK_A                                                                                      \
    "01a223a9dbc00000"                                                                             \
    "00000001"                                                                                     \
    "00000000" /* H, author 1, leaf 0 */
#define CLK_B                                                                                      \
    "01a223a9dbc10000"                                                                             \
    "00000002"                                                                                     \
    "00000003" /* H + 1 ms, author 2, leaf 3 */
#define CLK_0                                                                                      \
    "0000000000000000"                                                                             \
    "00000000"                                                                                     \
    "00000000"
#define H 0x01a223a9dbc00000ull

static void
v1_merging_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    (void)argv;
    sqlite3_result_int(ctx, 1);
}

/* A schema-1 database: two logs, unit 44 with a compact clock, unit 44001 with a full one (its
 * name rewritten by the second author), and a person. */
static void
v1_build(const char *path)
{
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_create_function(db, "cdht_merging", 0, SQLITE_UTF8, NULL, v1_merging_fn,
                                         NULL, NULL),
                 SQLITE_OK);
    char *err = NULL;
    cr_assert_eq(sqlite3_exec(db, V1_SQL, NULL, NULL, &err), SQLITE_OK, "%s", err ? err : "");
    int rc = sqlite3_exec(
        db,
        "BEGIN;"
        "INSERT INTO log(id, key, size, frontier) VALUES(1, zeroblob(31)||x'01', 0, x''),"
        " (2, zeroblob(31)||x'02', 0, x'');"
        "INSERT INTO unit VALUES('44', NULL, 'province', 'Nghe An', 1, x'" CLK_A "000f');"
        "INSERT INTO unit VALUES('44001', '44', 'commune', 'Quang Vinh', 1,"
        " x'" CLK_A CLK_A CLK_A CLK_B "');"
        "INSERT INTO person VALUES('p', 'An', 1990, 'male', '44001', NULL, NULL, 1,"
        " x'" CLK_A "001f');"
        "PRAGMA user_version=1;"
        "COMMIT;",
        NULL, NULL, &err);
    cr_assert_eq(rc, SQLITE_OK, "%s", err ? err : "");
    sqlite3_close(db);
}

static void
q_eq(struct store *st, const char *sql, const char *want)
{
    sqlite3_stmt *s = NULL;
    cr_assert_eq(sqlite3_prepare_v2(st->db, sql, -1, &s, NULL), SQLITE_OK, "%s", sql);
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW, "%s", sql);
    const char *got = (const char *)sqlite3_column_text(s, 0);
    cr_assert_str_eq(got ? got : "(null)", want, "%s", sql);
    sqlite3_finalize(s);
}

/* Applies one change of one cell (TEXT or INT) as author's leaf index at clock hlc. */
static void
merge_one(struct store *st, int64_t author_id, uint64_t index, uint64_t hlc, const char *table,
          const char *pk, const char *col, const char *s, int64_t i)
{
    Cdht__Cell cell = CDHT__CELL__INIT;
    cell.col = (char *)col;
    if (s != NULL) {
        cell.value_case = CDHT__CELL__VALUE_S;
        cell.s = (char *)s;
    } else {
        cell.value_case = CDHT__CELL__VALUE_I;
        cell.i = i;
    }
    Cdht__Cell *cells[] = {&cell};
    Cdht__Change ch = CDHT__CHANGE__INIT;
    ch.table = (char *)table;
    ch.pk = (char *)pk;
    ch.has_exists = 1;
    ch.exists = 1;
    ch.cells = cells;
    ch.n_cells = 1;
    Cdht__Change *chs[] = {&ch};
    Cdht__Commit c = CDHT__COMMIT__INIT;
    c.hlc = hlc;
    c.wall_ms = (int64_t)(hlc >> 16);
    c.changes = chs;
    c.n_changes = 1;
    cr_assert_eq(store_begin(st), ERR_OK);
    cr_assert_eq(merge_commit(st, author_id, index, &c), ERR_OK);
    cr_assert_eq(store_commit(st), ERR_OK);
}

/* Opening a schema-1 database migrates it to schema 2 in place: the unit rows keep their values
 * and clocks (the compact form as it was, the full form extended with never-written registers),
 * the new columns are NULL, unit_succession exists behind its guards, a read-only open asks for
 * the upgrade first (ERR_AGAIN), and merges into old rows and the new table work. */
Test(units, migration_v1_to_v2)
{
    char *dir = support_tmpdir();
    char *path = support_path(dir, "replica.db");
    v1_build(path);
    struct store *st = NULL;
    cr_assert_eq(store_open(&st, path, STORE_READONLY), ERR_AGAIN);
    cr_assert_null(st);
    cr_assert_eq(store_open(&st, path, 0), ERR_OK);
    q_eq(st, "PRAGMA user_version", "5");
    q_eq(st,
         "SELECT group_concat(code||','||ifnull(parent,'-')||','||kind||','||name||','||"
         "quote(valid_from)||','||quote(valid_to)||','||quote(disadvantaged)||','||_live, ';') "
         "FROM unit",
         "44,-,province,Nghe An,NULL,NULL,NULL,1;44001,44,commune,Quang Vinh,NULL,NULL,NULL,1");
    q_eq(st, "SELECT lower(hex(_clk)) FROM unit WHERE code='44'", CLK_A "000f");
    q_eq(st, "SELECT lower(hex(_clk)) FROM unit WHERE code='44001'",
         CLK_A CLK_A CLK_A CLK_B CLK_0 CLK_0 CLK_0);
    q_eq(st, "SELECT lower(hex(_clk)) FROM person WHERE id='p'", CLK_A "001f");
    q_eq(st, "SELECT count(*) FROM unit_succession", "0");
    /* The new table is guarded like the others. */
    cr_assert_eq(store_exec(st, "INSERT INTO unit_succession VALUES('a','b','2025-07-01',1,x'')"),
                 ERR_DB);
    struct merge_clk clk[SCHEMA_COLS_MAX];
    int live = 0;
    cr_assert_eq(merge_row_clocks(st, "unit", "44001", clk, &live), ERR_OK);
    cr_assert_eq(live, 1);
    cr_assert_eq(clk[3].hlc, H + (1ull << 16));
    cr_assert_eq(clk[3].author, 2);
    cr_assert_eq(clk[6].hlc, 0);
    cr_assert_eq(merge_row_clocks(st, "unit", "44", clk, &live), ERR_OK);
    cr_assert_eq(clk[3].hlc, H);
    cr_assert_eq(clk[4].hlc, 0);

    /* Merges: an older name loses to the stored one, a newer valid_to wins, a new register of a
     * compact row is written, and the new table takes a row. */
    merge_one(st, 1, 1, H + 1, "unit", "44001", "name", "Old Name", 0);
    q_eq(st, "SELECT name FROM unit WHERE code='44001'", "Quang Vinh");
    merge_one(st, 1, 2, H + (2ull << 16), "unit", "44001", "valid_to", "2025-06-30", 0);
    q_eq(st, "SELECT valid_to||','||name FROM unit WHERE code='44001'", "2025-06-30,Quang Vinh");
    merge_one(st, 2, 4, H + (3ull << 16), "unit", "44", "disadvantaged", NULL, 1);
    q_eq(st, "SELECT disadvantaged||','||length(_clk) FROM unit WHERE code='44'", "1,112");
    merge_one(st, 2, 5, H + (4ull << 16), "unit_succession", "44001", "new_code", "44101", 0);
    q_eq(st, "SELECT new_code FROM unit_succession WHERE old_code='44001'", "44101");
    uint8_t h1[HASH_SIZE];
    cr_assert_eq(merge_state_hash(st, h1), ERR_OK);
    store_close(st);

    /* Opening again changes nothing; read-only now works. */
    cr_assert_eq(store_open(&st, path, STORE_READONLY), ERR_OK);
    uint8_t h2[HASH_SIZE];
    cr_assert_eq(merge_state_hash(st, h2), ERR_OK);
    cr_assert_eq(memcmp(h1, h2, HASH_SIZE), 0);
    q_eq(st, "SELECT length(_clk) FROM unit WHERE code='44001'", "112");
    store_close(st);
    free(path);
    support_rmrf(dir);
    free(dir);
}

/* A fresh database is created at schema 2 directly, with every replicated table. */
Test(units, fresh_database_is_v2)
{
    char *dir = support_tmpdir();
    char *path = support_path(dir, "replica.db");
    struct store *st = NULL;
    cr_assert_eq(store_open(&st, path, STORE_CREATE), ERR_OK);
    q_eq(st, "PRAGMA user_version", "5");
    q_eq(st,
         "SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_table_info('unit') "
         "ORDER BY cid)",
         "code,parent,kind,name,valid_from,valid_to,disadvantaged,_live,_clk");
    q_eq(st,
         "SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_table_info("
         "'unit_succession') ORDER BY cid)",
         "old_code,new_code,effective,_live,_clk");
    q_eq(st, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'unit_succession_guard_%'", "2");
    store_close(st);
    free(path);
    support_rmrf(dir);
    free(dir);
}

/* A replica home whose database is at schema 1 is upgraded by a reading command too
 * (replica_open without REPLICA_WRITE takes the write lock for the migration, then reads). The
 * schema-1 file is made by undoing migrations 5, 4, 3 and 2 on a fresh replica with the sqlite3 API. */
Test(units, read_only_open_upgrades_v1_home)
{
    char *dir = support_tmpdir();
    char *home = support_path(dir, "h");
    replica_close(support_replica(home, "44"));
    char *db_path = support_path(home, REPLICA_DB_FILE);
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    char *err = NULL;
    cr_assert_eq(sqlite3_exec(db,
                              "DROP TABLE unit_succession;"
                              "DROP TABLE trust_leaf; DROP TABLE quarantine;"
                              "DROP TABLE trust_dev; DROP TABLE trust_grant;"
                              "DROP TABLE cosig; DROP TABLE equivocation; DROP TABLE peer_head;"
                              "DROP VIEW assessment_state;"
                              "DROP TABLE framework; DROP TABLE framework_group;"
                              "DROP TABLE framework_indicator; DROP TABLE plan;"
                              "DROP TABLE plan_target; DROP TABLE assessment;"
                              "DROP TABLE self_score; DROP TABLE review; DROP TABLE approval;"
                              "DROP TABLE evidence; DROP TABLE score_note; DROP TABLE collective;"
                              "DROP TABLE collective_member; DROP TABLE collective_recognition;"
                              "DROP TABLE aggregate; DROP TABLE setting;"
                              "ALTER TABLE unit DROP COLUMN disadvantaged;"
                              "ALTER TABLE unit DROP COLUMN valid_to;"
                              "ALTER TABLE unit DROP COLUMN valid_from;"
                              "PRAGMA user_version=1;",
                              NULL, NULL, &err),
                 SQLITE_OK, "%s", err ? err : "");
    sqlite3_close(db);
    struct replica *r = NULL;
    cr_assert_eq(replica_open(&r, home, 0, NULL, 0, NULL), ERR_OK);
    q_eq(r->st, "PRAGMA user_version", "5");
    q_eq(r->st, "SELECT count(*) FROM unit_succession", "0");
    cr_assert_eq(r->lock_fd, -1); /* a reader does not keep the lock */
    replica_close(r);
    free(db_path);
    free(home);
    support_rmrf(dir);
    free(dir);
}

/* A schema-4 home (peer_head, no registry tables) is migrated to schema 5: the sixteen registry
 * tables appear behind their guards, the assessment_state view reads, the people are kept, and
 * the state hash is the one the same rows give a fresh schema-5 replica (every table's name is
 * hashed, so the migration is what changes a replica's hash, not its rows). */
Test(units, migration_v4_to_v5)
{
    char *dir = support_tmpdir();
    char *home = support_path(dir, "h");
    struct replica *r = support_replica(home, "44");
    char id[17], before[65], after[65];
    cr_assert_eq(support_person_add(r, "An", 1990, "44", id), ERR_OK);
    support_state_hex(r, before);
    replica_close(r);
    char *db_path = support_path(home, REPLICA_DB_FILE);
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    char *err = NULL;
    cr_assert_eq(sqlite3_exec(db,
                              "DROP VIEW assessment_state;"
                              "DROP TABLE framework; DROP TABLE framework_group;"
                              "DROP TABLE framework_indicator; DROP TABLE plan;"
                              "DROP TABLE plan_target; DROP TABLE assessment;"
                              "DROP TABLE self_score; DROP TABLE review; DROP TABLE approval;"
                              "DROP TABLE evidence; DROP TABLE score_note; DROP TABLE collective;"
                              "DROP TABLE collective_member; DROP TABLE collective_recognition;"
                              "DROP TABLE aggregate; DROP TABLE setting;"
                              "PRAGMA user_version=4;",
                              NULL, NULL, &err),
                 SQLITE_OK, "%s", err ? err : "");
    sqlite3_close(db);
    struct store *st = NULL;
    cr_assert_eq(store_open(&st, db_path, STORE_READONLY), ERR_AGAIN);
    cr_assert_eq(store_open(&st, db_path, 0), ERR_OK);
    q_eq(st, "PRAGMA user_version", "5");
    q_eq(st,
         "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('framework',"
         "'framework_group','framework_indicator','plan','plan_target','assessment','self_score',"
         "'review','approval','evidence','score_note','collective','collective_member',"
         "'collective_recognition','aggregate','setting')",
         "16");
    q_eq(st, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'approval_guard_%'", "2");
    q_eq(st, "SELECT count(*) FROM assessment_state", "0");
    q_eq(st, "SELECT count(*) FROM person WHERE _live", "1");
    /* The guard refuses a write from outside the merge path, like every replicated table's. */
    cr_assert_eq(store_exec(st, "INSERT INTO approval(id, _live, _clk) VALUES('x', 1, x'')"),
                 ERR_DB);
    store_close(st);
    r = support_reopen(home);
    support_state_hex(r, after);
    cr_assert_str_eq(after, before);
    replica_close(r);
    free(db_path);
    free(home);
    support_rmrf(dir);
    free(dir);
}
