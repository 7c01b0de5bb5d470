/*
 * Unit tests for node/store.c: opening (create, existing, missing, read-only, a newer schema, a
 * file that is not a database), the pragmas a read-write open sets, the meta table and its
 * size checks, the guards on the replicated tables (refused outside store_merging_set, from
 * another connection too) and the prepared-statement cache.
 */
#include <criterion/criterion.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store.h"
#include "support.h"

TestSuite(store);

/* ---- helpers ------------------------------------------------------------------------------ */

struct fix {
    char *dir;
    char *path;
};

static void
fix_init(struct fix *f)
{
    f->dir = support_tmpdir();
    f->path = support_path(f->dir, "replica.db");
}

static void
fix_done(struct fix *f)
{
    support_rmrf(f->dir);
    free(f->path);
    free(f->dir);
}

static int
file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* One integer from a query on st's connection. */
static long long
query_int(struct store *st, const char *sql)
{
    sqlite3_stmt *s = NULL;
    cr_assert_eq(sqlite3_prepare_v2(st->db, sql, -1, &s, NULL), SQLITE_OK, "%s", sql);
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW, "%s", sql);
    long long v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* One text from a query on st's connection, copied into out. */
static void
query_text(struct store *st, const char *sql, char *out, size_t cap)
{
    sqlite3_stmt *s = NULL;
    cr_assert_eq(sqlite3_prepare_v2(st->db, sql, -1, &s, NULL), SQLITE_OK, "%s", sql);
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW, "%s", sql);
    snprintf(out, cap, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
}

/* Sets user_version through a plain SQLite connection (as another program would). */
static void
raw_set_user_version(const char *path, int v)
{
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version=%d", v);
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static int
raw_user_version(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
    int v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

/* ---- opening ------------------------------------------------------------------------------ */

/* STORE_CREATE makes the schema (user_version 1, the five tables). */
Test(store, create_makes_schema)
{
    struct fix f;
    fix_init(&f);
    struct store *st = NULL;
    cr_assert_eq(store_open(&st, f.path, STORE_CREATE), ERR_OK);
    cr_assert_eq(query_int(st, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    cr_assert_eq(query_int(st, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name "
                               "IN ('meta','log','leaf','unit','person')"),
                 5);
    store_close(st);
    fix_done(&f);
}

/* STORE_CREATE on an existing replica opens it (ERR_OK) and keeps its contents: store.h says the
 * flag refuses an existing file, but store_open passes SQLITE_OPEN_CREATE, which does not; the
 * refusal of an existing home lives in replica_init (the home must be empty). */
Test(store, create_on_existing_file)
{
    struct fix f;
    fix_init(&f);
    struct store *st = NULL;
    cr_assert_eq(store_open(&st, f.path, STORE_CREATE), ERR_OK);
    cr_assert_eq(store_meta_put(st, "unit", "44001", 5), ERR_OK);
    store_close(st);
    cr_assert_eq(store_open(&st, f.path, STORE_CREATE), ERR_OK);
    char buf[8];
    size_t len = 0;
    cr_assert_eq(store_meta_get(st, "unit", buf, sizeof buf, &len), ERR_OK);
    cr_assert_eq(len, 5);
    cr_assert_eq(memcmp(buf, "44001", 5), 0);
    store_close(st);
    fix_done(&f);
}

/* Opening a missing file without STORE_CREATE is ERR_NOTFOUND, read-write and read-only, and
 * creates nothing; STORE_CREATE in a missing directory is ERR_NOTFOUND too. */
Test(store, open_missing_file)
{
    struct fix f;
    fix_init(&f);
    struct store *st = (struct store *)&f; /* must be reset to NULL */
    cr_assert_eq(store_open(&st, f.path, 0), ERR_NOTFOUND);
    cr_assert_null(st);
    cr_assert_eq(store_open(&st, f.path, STORE_READONLY), ERR_NOTFOUND);
    cr_assert_null(st);
    cr_assert_not(file_exists(f.path));
    char *deep = support_path(f.dir, "no/such/dir.db");
    cr_assert_eq(store_open(&st, deep, STORE_CREATE), ERR_NOTFOUND);
    free(deep);
    fix_done(&f);
}

/* A read-only store reads meta but refuses every write (ERR_DB), and the file is unchanged. */
Test(store, readonly_refuses_writes)
{
    struct fix f;
    fix_init(&f);
    struct store *st = NULL;
    cr_assert_eq(store_open(&st, f.path, STORE_CREATE), ERR_OK);
    cr_assert_eq(store_meta_put(st, "name", "a", 1), ERR_OK);
    store_close(st);
    cr_assert_eq(store_open(&st, f.path, STORE_READONLY), ERR_OK);
    char buf[4];
    size_t len = 0;
    cr_assert_eq(store_meta_get(st, "name", buf, sizeof buf, &len), ERR_OK);
    cr_assert_eq(store_meta_put(st, "name", "b", 1), ERR_DB);
    cr_assert_eq(store_meta_put(st, "new", "b", 1), ERR_DB);
    cr_assert_eq(store_exec(st, "CREATE TABLE x(a)"), ERR_DB);
    cr_assert_eq(store_exec(st, "INSERT INTO log(key, size, frontier) VALUES(x'00', 0, x'')"),
                 ERR_DB);
    cr_assert_eq(store_exec(st, "PRAGMA user_version=7"), ERR_DB);
    store_close(st);
    cr_assert_eq(store_open(&st, f.path, 0), ERR_OK);
    cr_assert_eq(store_meta_get(st, "name", buf, sizeof buf, &len), ERR_OK);
    cr_assert_eq(buf[0], 'a');
    cr_assert_eq(store_meta_get(st, "new", buf, sizeof buf, &len), ERR_NOTFOUND);
    cr_assert_eq(query_int(st, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    store_close(st);
    fix_done(&f);
}

/* A database whose user_version is newer than STORE_SCHEMA_VERSION is refused with ERR_INVAL,
 * read-write and read-only, and is left at its version; one at version 0 (never migrated) is
 * refused read-only and migrated read-write. */
Test(store, newer_schema_refused)
{
    struct fix f;
    fix_init(&f);
    struct store *st = NULL;
    cr_assert_eq(store_open(&st, f.path, STORE_CREATE), ERR_OK);
    store_close(st);
    raw_set_user_version(f.path, STORE_SCHEMA_VERSION + 1);
    cr_assert_eq(store_open(&st, f.path, 0), ERR_INVAL);
    cr_assert_null(st);
    cr_assert_eq(store_open(&st, f.path, STORE_READONLY), ERR_INVAL);
    cr_assert_null(st);
    cr_assert_eq(store_open(&st, f.path, STORE_CREATE), ERR_INVAL);
    cr_assert_eq(raw_user_version(f.path), STORE_SCHEMA_VERSION + 1);
    raw_set_user_version(f.path, STORE_SCHEMA_VERSION);
    cr_assert_eq(store_open(&st, f.path, STORE_READONLY), ERR_OK);
    store_close(st);

    char *empty = support_path(f.dir, "empty.db");
    support_spit(empty, (const uint8_t *)"", 0);
    cr_assert_eq(store_open(&st, empty, STORE_READONLY), ERR_INVAL);
    cr_assert_eq(store_open(&st, empty, 0), ERR_OK);
    cr_assert_eq(query_int(st, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    store_close(st);
    free(empty);
    fix_done(&f);
}

/* A file that is not an SQLite database is ERR_CORRUPT (docs/ERRORS.md: SQLITE_NOTADB), opened
 * read-only or read-write. */
Test(store, not_a_database)
{
    struct fix f;
    fix_init(&f);
    uint8_t junk[4096];
    for (size_t i = 0; i < sizeof junk; i++) {
        junk[i] = (uint8_t)(i * 7 + 3);
    }
    support_spit(f.path, junk, sizeof junk);
    struct store *st = NULL;
    cr_assert_eq(store_open(&st, f.path, STORE_READONLY), ERR_CORRUPT);
    cr_assert_null(st);
    /* Read-write too: the pragma batch maps SQLITE_NOTADB to ERR_CORRUPT. */
    cr_expect_eq(store_open(&st, f.path, 0), ERR_CORRUPT);
    cr_assert_null(st);
    size_t len = 0;
    uint8_t *back = support_slurp(f.path, &len);
    cr_assert_eq(len, sizeof junk);
    cr_assert_eq(memcmp(back, junk, len), 0, "the file was changed");
    free(back);
    fix_done(&f);
}

/* A read-write open sets WAL and synchronous=FULL (2), foreign keys off, temp_store MEMORY (2)
 * and an 8 MiB page cache; a scratch store has no journal and synchronous OFF (0). */
Test(store, pragmas)
{
    struct fix f;
    fix_init(&f);
    struct store *st = NULL;
    char mode[16];
    cr_assert_eq(store_open(&st, f.path, STORE_CREATE), ERR_OK);
    query_text(st, "PRAGMA journal_mode", mode, sizeof mode);
    cr_assert_str_eq(mode, "wal");
    cr_assert_eq(query_int(st, "PRAGMA synchronous"), 2);
    cr_assert_eq(query_int(st, "PRAGMA foreign_keys"), 0);
    cr_assert_eq(query_int(st, "PRAGMA temp_store"), 2);
    cr_assert_eq(query_int(st, "PRAGMA cache_size"), -(long long)STORE_CACHE_KIB);
    store_close(st);
    /* The same on a plain reopen, not only at creation. */
    cr_assert_eq(store_open(&st, f.path, 0), ERR_OK);
    query_text(st, "PRAGMA journal_mode", mode, sizeof mode);
    cr_assert_str_eq(mode, "wal");
    cr_assert_eq(query_int(st, "PRAGMA synchronous"), 2);
    store_close(st);

    char *scratch = support_path(f.dir, "scratch.db");
    cr_assert_eq(store_open(&st, scratch, STORE_CREATE | STORE_SCRATCH), ERR_OK);
    query_text(st, "PRAGMA journal_mode", mode, sizeof mode);
    cr_assert_str_eq(mode, "off");
    cr_assert_eq(query_int(st, "PRAGMA synchronous"), 0);
    store_close(st);
    free(scratch);
    fix_done(&f);
}

/* ---- meta --------------------------------------------------------------------------------- */

/* meta: a value reads back as written (bytes, any length, empty too) and is replaced by a second
 * put; a missing key is ERR_NOTFOUND; a buffer one byte too small is ERR_MSGSIZE and the exact
 * size is accepted; the statement stays usable after each outcome. */
Test(store, meta_round_trip_and_sizes)
{
    struct fix f;
    fix_init(&f);
    struct store *st = NULL;
    cr_assert_eq(store_open(&st, f.path, STORE_CREATE), ERR_OK);
    uint8_t val[300], buf[300];
    for (size_t i = 0; i < sizeof val; i++) {
        val[i] = (uint8_t)(255 - i);
    }
    size_t len = 12345;
    cr_assert_eq(store_meta_get(st, "k", buf, sizeof buf, &len), ERR_NOTFOUND);
    cr_assert_eq(len, 12345, "len untouched when not found");
    cr_assert_eq(store_meta_put(st, "k", val, sizeof val), ERR_OK);
    cr_assert_eq(store_meta_get(st, "k", buf, sizeof val - 1, &len), ERR_MSGSIZE);
    cr_assert_eq(store_meta_get(st, "k", buf, 0, &len), ERR_MSGSIZE);
    cr_assert_eq(store_meta_get(st, "k", buf, sizeof val, &len), ERR_OK);
    cr_assert_eq(len, sizeof val);
    cr_assert_eq(memcmp(buf, val, len), 0);
    cr_assert_eq(store_meta_get(st, "k", buf, sizeof val, NULL), ERR_OK);
    cr_assert_eq(store_meta_put(st, "k", "\x00\x01", 2), ERR_OK);
    cr_assert_eq(store_meta_get(st, "k", buf, sizeof buf, &len), ERR_OK);
    cr_assert_eq(len, 2);
    cr_assert_eq(memcmp(buf, "\x00\x01", 2), 0);
    cr_assert_eq(store_meta_put(st, "empty", "", 0), ERR_OK);
    cr_assert_eq(store_meta_get(st, "empty", NULL, 0, &len), ERR_OK);
    cr_assert_eq(len, 0);
    cr_assert_eq(store_meta_get(st, "K", buf, sizeof buf, &len), ERR_NOTFOUND); /* exact key */
    store_close(st);
    /* and it was stored */
    cr_assert_eq(store_open(&st, f.path, STORE_READONLY), ERR_OK);
    cr_assert_eq(store_meta_get(st, "k", buf, sizeof buf, &len), ERR_OK);
    cr_assert_eq(len, 2);
    store_close(st);
    fix_done(&f);
}

/* ---- guards ------------------------------------------------------------------------------- */

/* Writes to the replicated tables fail outside store_merging_set (INSERT by the CHECK,
 * UPDATE and DELETE by the triggers) and succeed inside it; store_rollback ends the merging
 * state; nothing a refused write attempted is left behind. */
Test(store, guards)
{
    struct fix f;
    fix_init(&f);
    struct store *st = NULL;
    cr_assert_eq(store_open(&st, f.path, STORE_CREATE), ERR_OK);
    static const char ins_unit[] =
        "INSERT INTO unit(code, kind, _live, _clk) VALUES('44', 'province', 1, x'00')";
    static const char ins_person[] =
        "INSERT INTO person(id, name, _live, _clk) VALUES('p', 'An', 1, x'00')";
    static const char upd_unit[] = "UPDATE unit SET kind='district'";
    static const char upd_person[] = "UPDATE person SET name='Binh'";
    static const char del_unit[] = "DELETE FROM unit";
    static const char del_person[] = "DELETE FROM person";
    cr_assert_eq(store_exec(st, ins_unit), ERR_DB);
    cr_assert_eq(store_exec(st, ins_person), ERR_DB);
    cr_assert_eq(query_int(st, "SELECT count(*) FROM unit"), 0);
    cr_assert_eq(query_int(st, "SELECT count(*) FROM person"), 0);

    store_merging_set(st, 1);
    cr_assert_eq(store_exec(st, ins_unit), ERR_OK);
    cr_assert_eq(store_exec(st, ins_person), ERR_OK);
    store_merging_set(st, 0);
    cr_assert_eq(store_exec(st, upd_unit), ERR_DB);
    cr_assert_eq(store_exec(st, upd_person), ERR_DB);
    cr_assert_eq(store_exec(st, del_unit), ERR_DB);
    cr_assert_eq(store_exec(st, del_person), ERR_DB);
    cr_assert_eq(store_exec(st, "INSERT OR REPLACE INTO unit(code, kind, _live, _clk) "
                                "VALUES('44', 'x', 1, x'00')"),
                 ERR_DB);
    cr_assert_eq(store_exec(st, "INSERT INTO unit(code, kind, _live, _clk) VALUES('44', 'x', 1, "
                                "x'00') ON CONFLICT(code) DO UPDATE SET kind='x'"),
                 ERR_DB);
    cr_assert_eq(query_int(st, "SELECT count(*) FROM unit WHERE kind='province'"), 1);
    cr_assert_eq(query_int(st, "SELECT count(*) FROM person WHERE name='An'"), 1);

    store_merging_set(st, 1);
    cr_assert_eq(store_exec(st, upd_unit), ERR_OK);
    cr_assert_eq(store_exec(st, upd_person), ERR_OK);
    cr_assert_eq(query_int(st, "SELECT count(*) FROM person WHERE name='Binh'"), 1);
    cr_assert_eq(store_exec(st, del_person), ERR_OK);
    cr_assert_eq(query_int(st, "SELECT count(*) FROM person"), 0);

    /* A rollback ends the merging state. */
    cr_assert_eq(store_begin(st), ERR_OK);
    store_rollback(st);
    cr_assert_eq(st->merging, 0);
    cr_assert_eq(store_exec(st, del_unit), ERR_DB);
    cr_assert_eq(query_int(st, "SELECT count(*) FROM unit"), 1);
    store_close(st);
    fix_done(&f);
}

/* Another connection (the sqlite3 shell, say) has no cdht_merging() and cannot write the
 * replicated tables at all, though it can write the others. */
Test(store, guards_other_connection)
{
    struct fix f;
    fix_init(&f);
    struct store *st = NULL;
    cr_assert_eq(store_open(&st, f.path, STORE_CREATE), ERR_OK);
    store_merging_set(st, 1);
    cr_assert_eq(
        store_exec(st, "INSERT INTO unit(code, kind, _live, _clk) VALUES('44', 'p', 1, x'00')"),
        ERR_OK);
    store_merging_set(st, 0);
    store_close(st);
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open_v2(f.path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    static const char *const writes[] = {
        "INSERT INTO unit(code, kind, _live, _clk) VALUES('45', 'p', 1, x'00')",
        "UPDATE unit SET kind='x'",
        "DELETE FROM unit",
        "INSERT INTO person(id, _live, _clk) VALUES('p', 1, x'00')",
    };
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        cr_assert_eq(sqlite3_exec(db, writes[i], NULL, NULL, NULL), SQLITE_ERROR, "%s", writes[i]);
        cr_assert(strstr(sqlite3_errmsg(db), "cdht_merging") != NULL, "%s", sqlite3_errmsg(db));
    }
    cr_assert_eq(
        sqlite3_exec(db, "INSERT INTO meta(key, value) VALUES('x', 'y')", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    fix_done(&f);
}

/* ---- statement cache ---------------------------------------------------------------------- */

/* store_stmt returns the same statement for the same SQL pointer, reset and with its bindings
 * cleared; the same text at another address is a different statement (identity, not content). */
Test(store, stmt_cache)
{
    struct fix f;
    fix_init(&f);
    struct store *st = NULL;
    cr_assert_eq(store_open(&st, f.path, STORE_CREATE), ERR_OK);
    static const char sql[] = "SELECT ?1 UNION ALL SELECT 2";
    sqlite3_stmt *a = store_stmt(st, sql);
    cr_assert_not_null(a);
    unsigned before = st->cache_count;
    cr_assert_eq(sqlite3_bind_text(a, 1, "bound", -1, SQLITE_STATIC), SQLITE_OK);
    cr_assert_eq(sqlite3_step(a), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(a, 0), "bound");
    cr_assert(sqlite3_stmt_busy(a));
    sqlite3_stmt *b = store_stmt(st, sql);
    cr_assert_eq(a, b);
    cr_assert_eq(st->cache_count, before);
    cr_assert_not(sqlite3_stmt_busy(b), "returned reset");
    cr_assert_eq(sqlite3_step(b), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_type(b, 0), SQLITE_NULL, "returned unbound");
    sqlite3_reset(b);
    char copy[sizeof sql];
    memcpy(copy, sql, sizeof sql);
    sqlite3_stmt *c = store_stmt(st, copy);
    cr_assert_not_null(c);
    cr_assert_neq(c, a);
    cr_assert_eq(st->cache_count, before + 1);
    cr_assert_null(store_stmt(st, "SELECT FROM nothing"), "bad SQL gives NULL");
    cr_assert_eq(st->cache_count, before + 1);
    store_close(st);
    fix_done(&f);
}
