/*
 * Replicated table definitions and the SQL built from them. Keeping the tables as data means
 * the merge, the state hash, the guards and the docs follow one list; adding a table is
 * adding an entry here and a migration in store.c.
 */
#include "schema.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "store.h"

/* valid_from, valid_to and disadvantaged arrived with schema 2 (store.c, migration 2): new
 * columns go at the end, because a column's register number is its position. */
static const struct schema_col schema_unit_cols[] = {
    {"parent", SCHEMA_TEXT},       {"kind", SCHEMA_TEXT}, {"name", SCHEMA_TEXT},
    {"valid_from", SCHEMA_TEXT},   /* ISO date YYYY-MM-DD, first valid day; NULL: always */
    {"valid_to", SCHEMA_TEXT},     /* ISO date, last valid day (inclusive); NULL: open */
    {"disadvantaged", SCHEMA_INT}, /* 1: a disadvantaged area (priority in targets) */
};

/* The succession map (schema 2): old unit code -> the code its data rolls up to from the
 * effective date on (node/units.c follows it). */
static const struct schema_col schema_unit_succession_cols[] = {
    {"new_code", SCHEMA_TEXT},  /* the successor's unit code */
    {"effective", SCHEMA_TEXT}, /* ISO date from which old rolls up to new_code */
};

static const struct schema_col schema_person_cols[] = {
    {"name", SCHEMA_TEXT},      /* personal data: full name, NFC */
    {"birth_year", SCHEMA_INT}, /* personal data */
    {"gender", SCHEMA_TEXT},    /* personal data */
    {"unit", SCHEMA_TEXT},      {"target_group", SCHEMA_TEXT},
    {"cid_hash", SCHEMA_BLOB}, /* personal data: keyed hash of the citizen id */
};

struct schema_table schema_tables[] = {
    {.name = "person", .pk = "id", .cols = schema_person_cols, .ncols = 6, .scope = "unit"},
    {.name = "unit", .pk = "code", .cols = schema_unit_cols, .ncols = 6},
    {.name = "unit_succession", .pk = "old_code", .cols = schema_unit_succession_cols, .ncols = 2},
};
const unsigned schema_tables_count = sizeof schema_tables / sizeof schema_tables[0];

static_assert(sizeof schema_person_cols / sizeof schema_person_cols[0] == 6, "person ncols");
static_assert(sizeof schema_unit_cols / sizeof schema_unit_cols[0] == 6, "unit ncols");
static_assert(sizeof schema_unit_succession_cols / sizeof schema_unit_succession_cols[0] == 2,
              "unit_succession ncols");

static int schema_ready;

/* Appends to a fixed buffer; the buffers are sized for our own table list (ASSERTed). */
static void
schema_cat(char *buf, size_t cap, const char *s)
{
    size_t n = strlen(buf);
    size_t m = strlen(s);
    ASSERT(n + m < cap);
    memcpy(buf + n, s, m + 1);
}

void
schema_init(void)
{
    if (schema_ready) {
        return;
    }
    for (unsigned t = 0; t < schema_tables_count; t++) {
        struct schema_table *tb = &schema_tables[t];
        ASSERT(tb->ncols + 1 <= SCHEMA_COLS_MAX);
        char cols[256] = "", qs[128] = "", sets[256] = "";
        for (unsigned i = 0; i < tb->ncols; i++) {
            char q[32];
            schema_cat(cols, sizeof cols, tb->cols[i].name);
            schema_cat(cols, sizeof cols, ", ");
            snprintf(q, sizeof q, "?%u, ", i + 2);
            schema_cat(qs, sizeof qs, q);
            snprintf(q, sizeof q, "=?%u, ", i + 2);
            schema_cat(sets, sizeof sets, tb->cols[i].name);
            schema_cat(sets, sizeof sets, q);
        }
        unsigned live = tb->ncols + 2, clk = tb->ncols + 3;
        snprintf(tb->sql_select, sizeof tb->sql_select, "SELECT %s_live, _clk FROM %s WHERE %s=?1",
                 cols, tb->name, tb->pk);
        snprintf(tb->sql_insert, sizeof tb->sql_insert,
                 "INSERT INTO %s(%s, %s_live, _clk) VALUES(?1, %s?%u, ?%u)", tb->name, tb->pk, cols,
                 qs, live, clk);
        snprintf(tb->sql_update, sizeof tb->sql_update,
                 "UPDATE %s SET %s_live=?%u, _clk=?%u WHERE %s=?1", tb->name, sets, live, clk,
                 tb->pk);
        /* cols ends in ", "; the scan needs the list without it. */
        char scan_cols[256];
        snprintf(scan_cols, sizeof scan_cols, "%s", cols);
        scan_cols[strlen(scan_cols) - 2] = '\0';
        snprintf(tb->sql_scan, sizeof tb->sql_scan, "SELECT %s, %s FROM %s WHERE _live ORDER BY %s",
                 tb->pk, scan_cols, tb->name, tb->pk);
    }
    schema_ready = 1;
}

const struct schema_table *
schema_table_find(const char *name)
{
    schema_init();
    for (unsigned t = 0; t < schema_tables_count; t++) {
        if (schema_tables[t].name == name || strcmp(schema_tables[t].name, name) == 0) {
            return &schema_tables[t];
        }
    }
    return NULL;
}

int
schema_col_find(const struct schema_table *t, const char *name)
{
    /* Local writes pass our own name pointers (replica.c): compare those first. */
    for (unsigned i = 0; i < t->ncols; i++) {
        if (t->cols[i].name == name) {
            return (int)i;
        }
    }
    for (unsigned i = 0; i < t->ncols; i++) {
        if (strcmp(t->cols[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static const char *
schema_sql_type(enum schema_type ty)
{
    switch (ty) {
    case SCHEMA_INT: return "INTEGER";
    case SCHEMA_TEXT: return "TEXT";
    case SCHEMA_BLOB: return "BLOB";
    }
    return "BLOB";
}

err_code
schema_create_table(struct store *st, const struct schema_table *tb)
{
    schema_init();
    ASSERT(tb != NULL);
    char sql[2048];
    int n =
        snprintf(sql, sizeof sql, "CREATE TABLE %s(%s TEXT PRIMARY KEY NOT NULL", tb->name, tb->pk);
    for (unsigned i = 0; i < tb->ncols; i++) {
        n += snprintf(sql + n, sizeof sql - (size_t)n, ", %s %s", tb->cols[i].name,
                      schema_sql_type(tb->cols[i].type));
    }
    /* _live: the existence register's value; _clk: every register's clock (schema.h).
     * WITHOUT ROWID: one b-tree keyed by the text primary key instead of two.
     * The guards call cdht_merging(), a function only cdht's own connection defines and
     * that is true only inside the merge path; anywhere else (the sqlite3 shell) the write
     * fails. INSERT: a CHECK, one function call a row, where a BEFORE INSERT trigger cost a
     * sub-program a row (a third of the bulk commit time). UPDATE: a trigger, because
     * SQLite skips a CHECK on UPDATE unless the update sets a column the CHECK names, and
     * merge updates are few. DELETE: a trigger; merge never deletes (rows become
     * tombstones). */
    n += snprintf(sql + n, sizeof sql - (size_t)n,
                  ", _live INTEGER NOT NULL, _clk BLOB NOT NULL, CHECK (cdht_merging()))"
                  " WITHOUT ROWID;");
    static const char *const ops[] = {"UPDATE", "DELETE"};
    for (unsigned o = 0; o < 2; o++) {
        n += snprintf(sql + n, sizeof sql - (size_t)n,
                      "CREATE TRIGGER %s_guard_%s BEFORE %s ON %s WHEN NOT cdht_merging() "
                      "BEGIN SELECT RAISE(ABORT, '%s is a replicated table: write it "
                      "through cdht, which logs every change'); END;",
                      tb->name, ops[o], ops[o], tb->name, tb->name);
    }
    ASSERT((size_t)n < sizeof sql);
    return store_exec(st, sql);
}

err_code
schema_create(struct store *st)
{
    schema_init();
    for (unsigned t = 0; t < schema_tables_count; t++) {
        err_code rc = schema_create_table(st, &schema_tables[t]);
        if (rc != ERR_OK) {
            return rc;
        }
    }
    /* No secondary indexes: each would cost every merged row a second b-tree insert (measured:
     * an index on person(unit) doubled the insert work of a bulk commit), and listing a unit
     * scans 10,000 rows at commune scale in milliseconds. */
    return ERR_OK;
}
