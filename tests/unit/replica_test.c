/*
 * Tests for node/replica.c and the merge rules it relies on (node/merge.c, node/hlc.c): home
 * creation and its failure paths, the guard that keeps raw SQLite writes out of replicated
 * tables, the hybrid logical clock, and the last-writer-wins merge across replicas (causality
 * under a wrong clock, ties, delete against edit, writes that arrive before their row, unknown
 * tables and columns), and row ids. Clocks are fixed with CDHT_FAKE_NOW_MS, so every run writes
 * the same clocks; each test runs in its own process, so the environment does not leak.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "bundle.h"
#include "exchange.h"
#include "hlc.h"
#include "keys.h"
#include "leaf.h"
#include "log.h"
#include "merge.h"
#include "merkle.h"
#include "note.h"
#include "replica.h"
#include "store.h"
#include "support.h"

static void
suite_init(void)
{
    cr_assert_geq(sodium_init(), 0);
    unsetenv("CDHT_FAKE_NOW_MS");
}

TestSuite(replica, .init = suite_init);

/* 2026-01-01T00:00:00Z: the fixed "now" of these tests. */
#define T0 1767225600000ll
#define MINUTE_MS (60ll * 1000)
#define HOUR_MS (60ll * MINUTE_MS)
#define DAY_MS (24ll * HOUR_MS)

/* ---- helpers ------------------------------------------------------------------------------ */

static void
set_now(long long ms)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", ms);
    cr_assert_eq(setenv("CDHT_FAKE_NOW_MS", buf, 1), 0);
}

static mode_t
mode_of(const char *path)
{
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0, "stat %s: %s", path, strerror(errno));
    return sb.st_mode & 07777;
}

static int
exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

/* Entries in a directory, "." and ".." excluded. */
static unsigned
dir_count(const char *path)
{
    DIR *d = opendir(path);
    cr_assert_not_null(d, "opendir %s", path);
    unsigned n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}

static struct replica_init_opts
opts(void)
{
    struct replica_init_opts o = {.unit = "V1", .name = "test device"};
    return o;
}

/* A person's name as this replica shows it. Returns 0 when the row is not visible. */
static int
person_name(struct replica *r, const char *id, char out[PERSON_NAME_SIZE_MAX + 1])
{
    sqlite3_stmt *s = NULL;
    cr_assert_eq(sqlite3_prepare_v2(r->st->db, "SELECT name FROM person WHERE id=?1 AND _live", -1,
                                    &s, NULL),
                 SQLITE_OK);
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    int found = rc == SQLITE_ROW;
    out[0] = '\0';
    if (found && sqlite3_column_type(s, 0) == SQLITE_TEXT) {
        snprintf(out, PERSON_NAME_SIZE_MAX + 1, "%s", (const char *)sqlite3_column_text(s, 0));
    }
    cr_assert(found || rc == SQLITE_DONE);
    sqlite3_finalize(s);
    return found;
}

/* An integer column of a visible person; -1 when NULL. */
static long long
person_int(struct replica *r, const char *id, const char *col)
{
    char sql[128];
    sqlite3_stmt *s = NULL;
    snprintf(sql, sizeof sql, "SELECT %s FROM person WHERE id=?1 AND _live", col);
    cr_assert_eq(sqlite3_prepare_v2(r->st->db, sql, -1, &s, NULL), SQLITE_OK);
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW, "person %s is not visible", id);
    long long v = sqlite3_column_type(s, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static unsigned
visible_people(struct replica *r)
{
    sqlite3_stmt *s = NULL;
    cr_assert_eq(
        sqlite3_prepare_v2(r->st->db, "SELECT count(*) FROM person WHERE _live", -1, &s, NULL),
        SQLITE_OK);
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
    unsigned n = (unsigned)sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return n;
}

/* Exports from's whole holding to path and imports it into to. */
static void
ship(struct replica *from, struct replica *to, const char *path)
{
    struct exchange_report rep;
    err_code rc = exchange_export(from, path, NULL, 0, &rep);
    cr_assert_eq(rc, ERR_OK, "export: %s (%s)", err_str(rc), rep.msg);
    rc = exchange_import(to, path, &rep);
    cr_assert_eq(rc, ERR_OK, "import: %s (%s)", err_str(rc), rep.msg);
}

static void
assert_same_state(struct replica *a, struct replica *b)
{
    char ha[65], hb[65];
    support_state_hex(a, ha);
    support_state_hex(b, hb);
    cr_assert_str_eq(ha, hb, "the replicas diverged");
}

static void
audit_no_finding(void *ctx, const struct audit_finding *f)
{
    (void)ctx;
    cr_assert_fail("audit finding %s at %llu: %s", f->kind, (unsigned long long)f->index,
                   f->reason);
}

static void
audit_clean(struct replica *r)
{
    struct audit_summary sum;
    cr_assert_eq(audit_run(r->st, AUDIT_STATE, audit_no_finding, NULL, &sum), ERR_OK);
    cr_assert_eq(sum.findings, 0);
}

/* The clock of this replica's leaf at index. */
static uint64_t
own_leaf_hlc(struct replica *r, uint64_t index)
{
    struct log_head h;
    cr_assert_eq(log_get(r->st, r->pk, &h), ERR_OK);
    uint8_t *data = NULL;
    size_t len = 0;
    cr_assert_eq(log_leaf_read(r->st, h.id, index, &data, &len), ERR_OK);
    Cdht__Commit *c = NULL;
    cr_assert_eq(leaf_decode(data, len, &c), ERR_OK);
    uint64_t hlc = c->hlc;
    leaf_free(c);
    free(data);
    return hlc;
}

static uint64_t
own_log_size(struct replica *r)
{
    struct log_head h;
    cr_assert_eq(log_get(r->st, r->pk, &h), ERR_OK);
    return h.size;
}

/* A set of replicas in one temporary directory. */
struct world {
    char *dir;
    char *home[4];
    struct replica *r[4];
    unsigned n;
    unsigned bundles;
};

static void
world_open(struct world *w, unsigned n)
{
    memset(w, 0, sizeof *w);
    cr_assert_leq(n, 4);
    w->dir = support_tmpdir();
    w->n = n;
    for (unsigned i = 0; i < n; i++) {
        char name[8];
        snprintf(name, sizeof name, "r%u", i);
        w->home[i] = support_path(w->dir, name);
        w->r[i] = support_replica(w->home[i], "V1");
    }
}

/* Ships everything replica i holds to replica j. */
static void
world_ship(struct world *w, unsigned i, unsigned j)
{
    char name[32];
    snprintf(name, sizeof name, "b%u", w->bundles++);
    char *path = support_path(w->dir, name);
    ship(w->r[i], w->r[j], path);
    free(path);
}

static void
world_close(struct world *w)
{
    for (unsigned i = 0; i < w->n; i++) {
        replica_close(w->r[i]);
        free(w->home[i]);
    }
    support_rmrf(w->dir);
    free(w->dir);
}

/* ---- init ----------------------------------------------------------------------------------- */

/* A new home is 0700, its key 0600, and it opens; an existing empty directory is taken and
 * tightened to 0700. */
Test(replica, init_modes)
{
    char *dir = support_tmpdir();
    char *home = support_path(dir, "home");
    struct replica_init_opts o = opts();
    cr_assert_eq(replica_init(home, &o), ERR_OK);
    cr_assert_eq(mode_of(home), 0700);
    char *key = support_path(home, REPLICA_KEY_FILE);
    char *db = support_path(home, REPLICA_DB_FILE);
    cr_assert_eq(mode_of(key), 0600);
    cr_assert(exists(db));
    struct replica *r = support_reopen(home);
    char unit[REPLICA_META_SIZE_MAX];
    cr_assert_eq(replica_meta(r, "unit", unit), ERR_OK);
    cr_assert_str_eq(unit, "V1");
    cr_assert_eq(own_log_size(r), 0);
    replica_close(r);

    char *empty = support_path(dir, "empty");
    cr_assert_eq(mkdir(empty, 0755), 0);
    cr_assert_eq(chmod(empty, 0755), 0); /* whatever the umask */
    cr_assert_eq(replica_init(empty, &o), ERR_OK);
    cr_assert_eq(mode_of(empty), 0700);
    char *key2 = support_path(empty, REPLICA_KEY_FILE);
    cr_assert_eq(mode_of(key2), 0600);
    free(key2);
    free(empty);
    free(key);
    free(db);
    free(home);
    support_rmrf(dir);
    free(dir);
}

/* A non-empty directory, a regular file, an existing home and a missing parent are refused
 * with the exact codes, and nothing is created inside or beside them. */
Test(replica, init_refusals_create_nothing)
{
    char *dir = support_tmpdir();
    struct replica_init_opts o = opts();

    char *full = support_path(dir, "full");
    cr_assert_eq(mkdir(full, 0755), 0);
    cr_assert_eq(chmod(full, 0755), 0);
    char *stray = support_path(full, "stray.txt");
    support_spit(stray, (const uint8_t *)"x", 1);
    cr_assert_eq(replica_init(full, &o), ERR_INVAL);
    cr_assert_eq(dir_count(full), 1, "nothing created inside");
    cr_assert_eq(mode_of(full), 0755, "its mode left alone");

    char *file = support_path(dir, "file");
    support_spit(file, (const uint8_t *)"x", 1);
    cr_assert_eq(replica_init(file, &o), ERR_INVAL);

    char *home = support_path(dir, "home");
    cr_assert_eq(replica_init(home, &o), ERR_OK);
    struct replica *r = support_reopen(home);
    uint8_t pk[KEY_PUBLIC_SIZE];
    memcpy(pk, r->pk, sizeof pk);
    replica_close(r);
    unsigned entries = dir_count(home);
    cr_assert_eq(replica_init(home, &o), ERR_INVAL, "a second init into a home");
    cr_assert_eq(dir_count(home), entries);
    r = support_reopen(home);
    cr_assert_arr_eq(r->pk, pk, KEY_PUBLIC_SIZE, "the existing home is untouched");
    replica_close(r);

    char *orphan = support_path(dir, "no/such/parent");
    cr_assert_eq(replica_init(orphan, &o), ERR_NOTFOUND);
    char *no = support_path(dir, "no");
    cr_assert(!exists(no));

    cr_assert_eq(dir_count(dir), 3, "full, file, home: nothing else");
    free(full);
    free(stray);
    free(file);
    free(home);
    free(orphan);
    free(no);
    support_rmrf(dir);
    free(dir);
}

/* Lowest free file descriptor number. */
static int
lowest_free_fd(void)
{
    int fd = dup(0);
    cr_assert_geq(fd, 0);
    close(fd);
    return fd;
}

/* replica_init failing part-way (file descriptors run out after 0, 1, 2, ... more opens: the
 * key file, the database, its WAL...) leaves no half-made home: a directory it created is
 * gone, a directory it was given is empty again, and a later init into the same path works. */
Test(replica, init_failure_leaves_nothing)
{
    char *dir = support_tmpdir();
    struct replica_init_opts o = opts();
    struct rlimit saved;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &saved), 0);
    for (int given = 0; given < 2; given++) {
        char *home = support_path(dir, given ? "given" : "made");
        unsigned failures = 0;
        err_code rc = ERR_IO;
        for (int spare = 0; spare < 32; spare++) {
            if (given) {
                cr_assert_eq(mkdir(home, 0700), 0);
            }
            struct rlimit lim = saved;
            lim.rlim_cur = (rlim_t)(lowest_free_fd() + spare);
            cr_assert_eq(setrlimit(RLIMIT_NOFILE, &lim), 0);
            rc = replica_init(home, &o);
            cr_assert_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);
            if (rc == ERR_OK) {
                break;
            }
            failures++;
            if (spare == 0 && !given) {
                cr_assert_eq(rc, ERR_IO, "no descriptor for the key file");
            } else if (spare > 0) {
                /* The key file was written; SQLite could not open the database or its WAL. */
                cr_assert(rc == ERR_IO || rc == ERR_NOTFOUND || rc == ERR_DB,
                          "%d spare descriptors: %s", spare, err_str(rc));
            } /* spare 0 with a given directory: see init_unreadable_dir_error */
            if (given) {
                cr_assert_eq(dir_count(home), 0, "%d spare: the given directory is empty", spare);
                cr_assert_eq(rmdir(home), 0);
            } else {
                cr_assert(!exists(home), "%d spare: the home it made is removed", spare);
            }
        }
        cr_assert_eq(rc, ERR_OK, "init succeeds once it has descriptors");
        cr_assert_geq(failures, 2, "it failed both before and after creating the key");
        struct replica *r = support_reopen(home);
        audit_clean(r);
        replica_close(r);
        free(home);
    }
    support_rmrf(dir);
    free(dir);
}

/* A given directory that cannot be listed (here: no file descriptor left for opendir) is an
 * I/O failure, not "not empty". */
Test(replica, init_unreadable_dir_error)
{
    char *dir = support_tmpdir();
    char *home = support_path(dir, "given");
    cr_assert_eq(mkdir(home, 0700), 0);
    struct replica_init_opts o = opts();
    struct rlimit saved;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &saved), 0);
    struct rlimit lim = saved;
    lim.rlim_cur = (rlim_t)lowest_free_fd();
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &lim), 0);
    err_code rc = replica_init(home, &o);
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);
    cr_assert_eq(dir_count(home), 0, "nothing created");
    /* An empty directory that cannot be read is an I/O error, not "not empty". */
    cr_assert_eq(rc, ERR_IO, "got %s", err_str(rc));
    free(home);
    support_rmrf(dir);
    free(dir);
}

/* ---- the guard ------------------------------------------------------------------------------ */

/* The message of the last raw_exec, for assertion messages. */
static char raw_msg[256];

/* Runs sql on a raw connection to the replica's database; returns the sqlite3 result. */
static int
raw_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    snprintf(raw_msg, sizeof raw_msg, "%s", msg ? msg : "no error");
    sqlite3_free(msg);
    return rc;
}

/* A cdht_merging() that an outside program might define: always false. */
static void
fake_merging(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    (void)argv;
    sqlite3_result_int(ctx, 0);
}

/* The writes an outside program might try on replicated tables. */
static void
raw_writes_fail(sqlite3 *db, const char *id, const char *how)
{
    char sql[512];
    static const char *const fixed[] = {
        "INSERT INTO person(id, name, birth_year, gender, unit, _live, _clk) "
        "VALUES('mallory0000000001', 'Mallory', 1999, 'male', 'V1', 1, zeroblob(112))",
        "UPDATE person SET name='Mallory'",
        "UPDATE person SET _live=0",
        "UPDATE person SET _clk=zeroblob(112)",
        "DELETE FROM person",
        "INSERT OR REPLACE INTO person(id, name, _live, _clk) "
        "SELECT id, 'Mallory', 1, _clk FROM person",
        "INSERT INTO unit(code, name, _live, _clk) VALUES('99', 'Fake', 1, zeroblob(64))",
        "UPDATE unit SET name='Fake'",
        "DELETE FROM unit",
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        cr_assert_neq(raw_exec(db, fixed[i]), SQLITE_OK, "%s: %s", how, fixed[i]);
    }
    snprintf(sql, sizeof sql, "UPDATE person SET name='Mallory' WHERE id='%s'", id);
    cr_assert_neq(raw_exec(db, sql), SQLITE_OK, "%s: %s (%s)", how, sql, raw_msg);
    snprintf(sql, sizeof sql, "DELETE FROM person WHERE id='%s'", id);
    cr_assert_neq(raw_exec(db, sql), SQLITE_OK, "%s: %s (%s)", how, sql, raw_msg);
}

/* A raw sqlite3 connection (as the sqlite3 shell opens) cannot insert, update or delete rows
 * of a replicated table, with or without a cdht_merging() of its own; the state hash and the
 * audit are unchanged. The exact message is not asserted: the guard's form may change. */
Test(replica, guard_refuses_raw_writes)
{
    char *dir = support_tmpdir();
    char *home = support_path(dir, "home");
    struct replica *r = support_replica(home, "V1");
    char id[17];
    cr_assert_eq(support_person_add(r, "Nguyễn Văn An", 1970, "V1", id), ERR_OK);
    /* A unit row too, so that updates and deletes of unit have a row to act on. */
    struct replica_cell ucells[] = {
        {.col = "kind", .type = SCHEMA_TEXT, .s = "village"},
        {.col = "name", .type = SCHEMA_TEXT, .s = "Thôn Một"},
    };
    struct replica_txn *t = NULL;
    cr_assert_eq(replica_txn_new(r, &t), ERR_OK);
    cr_assert_eq(replica_txn_put(t, "unit", "V1", 1, ucells, 2, 0), ERR_OK);
    cr_assert_eq(replica_txn_commit(r, t, NULL), ERR_OK);
    char before[65];
    support_state_hex(r, before);
    replica_close(r);

    char *db_path = support_path(home, REPLICA_DB_FILE);
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    raw_writes_fail(db, id, "plain connection");
    cr_assert_eq(sqlite3_create_function(db, "cdht_merging", -1, SQLITE_UTF8, NULL, fake_merging,
                                         NULL, NULL),
                 SQLITE_OK);
    raw_writes_fail(db, id, "connection with its own cdht_merging()");
    cr_assert_eq(sqlite3_close(db), SQLITE_OK);

    r = support_reopen(home);
    char after[65];
    support_state_hex(r, after);
    cr_assert_str_eq(before, after);
    char name[PERSON_NAME_SIZE_MAX + 1];
    cr_assert(person_name(r, id, name));
    cr_assert_str_eq(name, "Nguyễn Văn An");
    cr_assert_eq(visible_people(r), 1);
    audit_clean(r);
    /* cdht itself still writes. */
    cr_assert_eq(support_person_set_name(r, id, "Nguyễn Văn Ân"), ERR_OK);
    cr_assert(person_name(r, id, name));
    cr_assert_str_eq(name, "Nguyễn Văn Ân");
    replica_close(r);
    free(db_path);
    free(home);
    support_rmrf(dir);
    free(dir);
}

/* The guard holds against the one-line way around a CHECK constraint that the sqlite3 shell
 * offers, PRAGMA ignore_check_constraints: no insert, update or delete gets through. */
static void
audit_count_drift(void *ctx, const struct audit_finding *f)
{
    if (strcmp(f->kind, "state-drift") == 0) {
        (*(unsigned *)ctx)++;
    }
}

/* A raw INSERT with CHECK constraints switched off gets past the guard, and the audit's
 * replay of the logs reports it as state drift. */
Test(replica, guard_bypass_is_caught_by_audit)
{
    char *dir = support_tmpdir();
    char *home = support_path(dir, "home");
    struct replica *r = support_replica(home, "V1");
    char id[17];
    cr_assert_eq(support_person_add(r, "Nguyễn Văn An", 1970, "V1", id), ERR_OK);
    char before[65];
    support_state_hex(r, before);
    replica_close(r);

    char *db_path = support_path(home, REPLICA_DB_FILE);
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    cr_assert_eq(raw_exec(db, "PRAGMA ignore_check_constraints=ON"), SQLITE_OK);
    cr_assert_neq(raw_exec(db, "UPDATE person SET name='Mallory'"), SQLITE_OK,
                  "UPDATE bypassed the guard");
    cr_assert_neq(raw_exec(db, "DELETE FROM person"), SQLITE_OK, "DELETE bypassed the guard");
    /* The INSERT guard is a CHECK constraint (node/schema.c), which this pragma switches off
     * for this connection: the write gets in. That is what the audit's replay is for: the
     * tables no longer equal the state the logs give, and audit_run says so. */
    cr_assert_eq(raw_exec(db, "INSERT INTO person(id, name, _live, _clk) "
                              "VALUES('mallory0000000001', 'Eve', 1, zeroblob(18))"),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_close(db), SQLITE_OK);
    r = support_reopen(home);
    char after[65];
    support_state_hex(r, after);
    cr_assert_str_neq(before, after);
    struct audit_summary sum;
    unsigned drift = 0;
    cr_assert_eq(audit_run(r->st, AUDIT_STATE, audit_count_drift, &drift, &sum), ERR_OK);
    cr_assert_eq(drift, 1, "audit did not report the write that bypassed the log");
    cr_assert_eq(sum.findings, 1);
    /* Without the replay the logs alone are clean: the drift is in the tables only. */
    cr_assert_eq(audit_run(r->st, 0, audit_count_drift, &drift, &sum), ERR_OK);
    cr_assert_eq(sum.findings, 0);
    replica_close(r);
    free(db_path);
    free(home);
    support_rmrf(dir);
    free(dir);
}

/* ---- the hybrid logical clock --------------------------------------------------------------- */

/* hlc_next: at least the wall clock, above last and floor, refusing a wall clock more than
 * HLC_BEHIND_REFUSE_MS behind last (at the limit it is still accepted). */
Test(replica, hlc_next_cases)
{
    uint64_t out = 0;
    /* The wall clock leads. */
    cr_assert_eq(hlc_next(0, 0, T0, &out), ERR_OK);
    cr_assert_eq(out, hlc_pack(T0, 0));
    cr_assert_eq(hlc_next(hlc_pack(T0 - 5, 9), 0, T0, &out), ERR_OK);
    cr_assert_eq(out, hlc_pack(T0, 0));
    /* Monotonic: the same or an earlier millisecond counts up. */
    cr_assert_eq(hlc_next(hlc_pack(T0, 5), 0, T0, &out), ERR_OK);
    cr_assert_eq(out, hlc_pack(T0, 6));
    cr_assert_eq(hlc_next(hlc_pack(T0, 5), 0, T0 - 1000, &out), ERR_OK);
    cr_assert_eq(out, hlc_pack(T0, 6));
    uint64_t last = hlc_pack(T0, 0);
    for (int i = 0; i < 1000; i++) {
        uint64_t next = 0;
        cr_assert_eq(hlc_next(last, 0, T0 - (i % 3), &next), ERR_OK);
        cr_assert_gt(next, last);
        last = next;
    }
    /* The floor (a register this commit overwrites) is exceeded, even far ahead. */
    cr_assert_eq(hlc_next(hlc_pack(T0, 0), hlc_pack(T0 + 500, 3), T0, &out), ERR_OK);
    cr_assert_eq(out, hlc_pack(T0 + 500, 4));
    cr_assert_eq(hlc_next(0, hlc_pack(T0 + DAY_MS, 0), T0, &out), ERR_OK);
    cr_assert_eq(out, hlc_pack(T0 + DAY_MS, 1));
    cr_assert_eq(hlc_next(hlc_pack(T0, 7), hlc_pack(T0, 2), T0, &out), ERR_OK);
    cr_assert_eq(out, hlc_pack(T0, 8), "a floor below last changes nothing");
    /* The counter's overflow carries into the milliseconds. */
    cr_assert_eq(hlc_next(hlc_pack(T0, 0xffff), 0, T0, &out), ERR_OK);
    cr_assert_eq(out, hlc_pack(T0 + 1, 0));
    cr_assert_eq(hlc_ms(out), T0 + 1);
    cr_assert_eq(hlc_next(0, hlc_pack(T0, 0xffff), T0, &out), ERR_OK);
    cr_assert_eq(out, hlc_pack(T0 + 1, 0));
    /* A wall clock far behind the replica's: refused past the limit, accepted at it. */
    out = 12345;
    cr_assert_eq(hlc_next(hlc_pack(T0, 0), 0, T0 - HLC_BEHIND_REFUSE_MS - 1, &out), ERR_CLOCK);
    cr_assert_eq(out, 12345, "nothing written on refusal");
    cr_assert_eq(hlc_next(hlc_pack(T0, 0), 0, T0 - 2 * HOUR_MS, &out), ERR_CLOCK);
    cr_assert_eq(hlc_next(hlc_pack(T0, 0), 0, T0 - HLC_BEHIND_REFUSE_MS, &out), ERR_OK);
    cr_assert_eq(out, hlc_pack(T0, 1));
    cr_assert_eq(hlc_next(0, 0, -1, &out), ERR_CLOCK, "a negative wall clock");
    /* Only last matters for the refusal: a floor far ahead is another writer's clock. */
    cr_assert_eq(hlc_next(hlc_pack(T0, 0), hlc_pack(T0 + DAY_MS, 0), T0, &out), ERR_OK);
}

/* hlc_observe: folds a received clock into last unless it is more than HLC_AHEAD_FLAG_MS
 * ahead of the wall clock, which it flags instead (at the limit it is folded, not flagged). */
Test(replica, hlc_observe_cases)
{
    uint64_t last = hlc_pack(T0, 3);
    cr_assert_eq(hlc_observe(&last, hlc_pack(T0 + 10, 1), T0), 0);
    cr_assert_eq(last, hlc_pack(T0 + 10, 1), "a later clock is adopted");
    cr_assert_eq(hlc_observe(&last, hlc_pack(T0 - 10, 0), T0), 0);
    cr_assert_eq(last, hlc_pack(T0 + 10, 1), "an earlier clock is not");
    cr_assert_eq(hlc_observe(&last, hlc_pack(T0 + HLC_AHEAD_FLAG_MS, 0), T0), 0);
    cr_assert_eq(last, hlc_pack(T0 + HLC_AHEAD_FLAG_MS, 0), "at the limit: adopted");
    last = hlc_pack(T0, 0);
    cr_assert_eq(hlc_observe(&last, hlc_pack(T0 + HLC_AHEAD_FLAG_MS + 1, 0), T0), 1);
    cr_assert_eq(last, hlc_pack(T0, 0), "skewed: flagged and not adopted");
    cr_assert_eq(hlc_observe(&last, hlc_pack(T0 + DAY_MS, 0), T0), 1);
    cr_assert_eq(last, hlc_pack(T0, 0));
    /* hlc_format prints the milliseconds as ISO 8601 UTC. */
    char s[64];
    hlc_format(hlc_pack(T0 + 123, 7), s);
    cr_assert_str_eq(s, "2026-01-01T00:00:00.123Z");
}

/* A local commit with the wall clock two hours behind the replica's last commit is refused
 * with ERR_CLOCK, and nothing is written; at exactly HLC_BEHIND_REFUSE_MS behind it commits
 * with a clock above the last one. */
Test(replica, commit_refused_when_clock_far_behind)
{
    char *dir = support_tmpdir();
    char *home = support_path(dir, "home");
    set_now(T0);
    struct replica *r = support_replica(home, "V1");
    char id[17];
    cr_assert_eq(support_person_add(r, "Nguyễn Văn An", 1970, "V1", id), ERR_OK);
    char before[65];
    support_state_hex(r, before);
    uint8_t cp_before[NOTE_SIZE_MAX];
    size_t cp_len = 0;
    uint64_t cp_size = 0;
    struct log_head h;
    cr_assert_eq(log_get(r->st, r->pk, &h), ERR_OK);
    cr_assert_eq(log_checkpoint_get(r->st, h.id, cp_before, &cp_len, &cp_size), ERR_OK);

    set_now(T0 - 2 * HOUR_MS);
    char id2[17];
    cr_assert_eq(support_person_add(r, "Trần Thị Bình", 1971, "V1", id2), ERR_CLOCK);
    cr_assert_eq(support_person_set_name(r, id, "Mallory"), ERR_CLOCK);
    set_now(T0 - HLC_BEHIND_REFUSE_MS - 1);
    cr_assert_eq(support_person_rm(r, id), ERR_CLOCK);
    cr_assert_eq(own_log_size(r), 1, "no leaf");
    char after[65];
    support_state_hex(r, after);
    cr_assert_str_eq(before, after, "no row");
    uint8_t cp_after[NOTE_SIZE_MAX];
    size_t cp_len2 = 0;
    uint64_t cp_size2 = 0;
    cr_assert_eq(log_checkpoint_get(r->st, h.id, cp_after, &cp_len2, &cp_size2), ERR_OK);
    cr_assert_eq(cp_size2, cp_size);
    cr_assert_eq(cp_len2, cp_len);
    cr_assert_arr_eq(cp_after, cp_before, cp_len, "no checkpoint");

    set_now(T0 - HLC_BEHIND_REFUSE_MS);
    cr_assert_eq(support_person_set_name(r, id, "Nguyễn Văn Ân"), ERR_OK);
    cr_assert_eq(own_log_size(r), 2);
    cr_assert_eq(own_leaf_hlc(r, 1), hlc_pack(T0, 1));
    audit_clean(r);
    replica_close(r);
    free(home);
    support_rmrf(dir);
    free(dir);
}

/* ---- merge across replicas ------------------------------------------------------------------ */

/* A replica whose clock runs a day ahead names a person; a replica with the right clock
 * imports that and renames the person. Its commit's clock exceeds the register it overwrote,
 * so after exchanging both ways both show its name: a wrong clock does not win a causally
 * later edit. */
Test(replica, causality_beats_clock_skew)
{
    struct world w;
    set_now(T0);
    world_open(&w, 2);
    struct replica *a = w.r[0], *b = w.r[1];
    char id[17];
    set_now(T0 + DAY_MS);
    cr_assert_eq(support_person_add(a, "Tên của A", 1970, "V1", id), ERR_OK);
    uint64_t a_hlc = own_leaf_hlc(a, 0);
    cr_assert_eq(hlc_ms(a_hlc), T0 + DAY_MS);

    set_now(T0);
    world_ship(&w, 0, 1);
    char name[PERSON_NAME_SIZE_MAX + 1];
    cr_assert(person_name(b, id, name));
    cr_assert_str_eq(name, "Tên của A");
    cr_assert_eq(support_person_set_name(b, id, "Tên của B"), ERR_OK);
    uint64_t b_hlc = own_leaf_hlc(b, 0);
    cr_assert_gt(b_hlc, a_hlc, "the edit's clock exceeds the register it overwrote");

    set_now(T0 + DAY_MS);
    world_ship(&w, 1, 0);
    set_now(T0);
    world_ship(&w, 0, 1);
    for (unsigned i = 0; i < 2; i++) {
        cr_assert(person_name(w.r[i], id, name));
        cr_assert_str_eq(name, "Tên của B", "replica %u", i);
        cr_assert_eq(person_int(w.r[i], id, "birth_year"), 1970);
    }
    assert_same_state(a, b);
    /* B keeps writing with its right clock: another person, a minute later. */
    set_now(T0 + MINUTE_MS);
    char other[17];
    err_code rc = support_person_add(b, "Người khác", 1980, "V1", other);
    /* B's edit took a clock above A's skewed register, but B's own clock stayed with its
     * wall clock: B keeps writing. */
    cr_assert_eq(rc, ERR_OK, "B's next write: %s", err_str(rc));
    cr_assert_eq(hlc_ms(own_leaf_hlc(b, 1)), T0 + MINUTE_MS);
    world_close(&w);
}

struct conflicts {
    unsigned n;
    char table[32], pk[32], col[32];
    char win[64], lose[64];
    uint8_t win_author[KEY_PUBLIC_SIZE], lose_author[KEY_PUBLIC_SIZE];
    uint64_t win_hlc, lose_hlc;
};

static err_code
conflicts_cb(void *ctx, const struct merge_conflict *c)
{
    struct conflicts *k = ctx;
    k->n++;
    snprintf(k->table, sizeof k->table, "%s", c->table);
    snprintf(k->pk, sizeof k->pk, "%s", c->pk);
    snprintf(k->col, sizeof k->col, "%s", c->col);
    cr_assert_eq(c->win->value_case, CDHT__CELL__VALUE_S);
    cr_assert_eq(c->lose->value_case, CDHT__CELL__VALUE_S);
    snprintf(k->win, sizeof k->win, "%s", c->win->s);
    snprintf(k->lose, sizeof k->lose, "%s", c->lose->s);
    memcpy(k->win_author, c->win_author, KEY_PUBLIC_SIZE);
    memcpy(k->lose_author, c->lose_author, KEY_PUBLIC_SIZE);
    k->win_hlc = c->win_hlc;
    k->lose_hlc = c->lose_hlc;
    return ERR_OK;
}

/* Two replicas write the same cell at the same clock (a tie on HLC): both converge on the
 * value written by the larger public key, and both report exactly one conflict naming both
 * values and both authors. */
Test(replica, lww_tie_broken_by_key)
{
    struct world w;
    set_now(T0);
    world_open(&w, 2);
    char id[17];
    cr_assert_eq(support_person_add(w.r[0], "Gốc", 1970, "V1", id), ERR_OK);
    world_ship(&w, 0, 1);
    set_now(T0 + MINUTE_MS);
    cr_assert_eq(support_person_set_name(w.r[0], id, "Viết bởi 0"), ERR_OK);
    cr_assert_eq(support_person_set_name(w.r[1], id, "Viết bởi 1"), ERR_OK);
    uint64_t h0 = own_leaf_hlc(w.r[0], 1), h1 = own_leaf_hlc(w.r[1], 0);
    cr_assert_eq(h0, h1, "the two writes tie on their clock");
    cr_assert_eq(h0, hlc_pack(T0 + MINUTE_MS, 0));
    world_ship(&w, 0, 1);
    world_ship(&w, 1, 0);

    unsigned big = memcmp(w.r[0]->pk, w.r[1]->pk, KEY_PUBLIC_SIZE) > 0 ? 0 : 1;
    char want[32];
    snprintf(want, sizeof want, "Viết bởi %u", big);
    char lose[32];
    snprintf(lose, sizeof lose, "Viết bởi %u", 1 - big);
    for (unsigned i = 0; i < 2; i++) {
        char name[PERSON_NAME_SIZE_MAX + 1];
        cr_assert(person_name(w.r[i], id, name));
        cr_assert_str_eq(name, want, "replica %u", i);
        struct conflicts k;
        memset(&k, 0, sizeof k);
        cr_assert_eq(merge_conflicts(w.r[i]->st, conflicts_cb, &k), ERR_OK);
        cr_assert_eq(k.n, 1, "replica %u: exactly one conflict", i);
        cr_assert_str_eq(k.table, "person");
        cr_assert_str_eq(k.pk, id);
        cr_assert_str_eq(k.col, "name");
        cr_assert_str_eq(k.win, want);
        cr_assert_str_eq(k.lose, lose);
        cr_assert_arr_eq(k.win_author, w.r[big]->pk, KEY_PUBLIC_SIZE);
        cr_assert_arr_eq(k.lose_author, w.r[1 - big]->pk, KEY_PUBLIC_SIZE);
        cr_assert_eq(k.win_hlc, h0);
        cr_assert_eq(k.lose_hlc, h0);
    }
    assert_same_state(w.r[0], w.r[1]);
    world_close(&w);
}

/* Writes one change to person id: exists (1, 0 or -1) and, when name is not NULL, the name. */
static err_code
person_put(struct replica *r, const char *id, int exists_reg, const char *name)
{
    struct replica_cell cell = {.col = "name", .type = SCHEMA_TEXT, .s = name};
    struct replica_txn *t = NULL;
    err_code rc = replica_txn_new(r, &t);
    if (rc != ERR_OK) {
        return rc;
    }
    if ((rc = replica_txn_put(t, "person", id, exists_reg, name ? &cell : NULL, name ? 1 : 0, 0)) !=
        ERR_OK) {
        replica_txn_free(t);
        return rc;
    }
    return replica_txn_commit(r, t, NULL);
}

/* A delete and a concurrent edit: the row's visibility follows its existence register alone
 * (an edit that does not write it, even a later one, does not bring the row back); a
 * concurrent re-create wins or loses by its clock; and a re-create after the delete works,
 * keeping the other columns' registers. */
Test(replica, delete_against_edit)
{
    struct world w;
    set_now(T0);
    world_open(&w, 2);
    char id[17];
    char name[PERSON_NAME_SIZE_MAX + 1];
    cr_assert_eq(support_person_add(w.r[0], "Gốc", 1970, "V1", id), ERR_OK);
    world_ship(&w, 0, 1);

    /* Delete at T0+1 min; a later edit of the name (no existence write) at T0+2 min. */
    set_now(T0 + MINUTE_MS);
    cr_assert_eq(support_person_rm(w.r[0], id), ERR_OK);
    set_now(T0 + 2 * MINUTE_MS);
    cr_assert_eq(support_person_set_name(w.r[1], id, "Sửa sau"), ERR_OK);
    world_ship(&w, 0, 1);
    world_ship(&w, 1, 0);
    for (unsigned i = 0; i < 2; i++) {
        cr_assert(!person_name(w.r[i], id, name), "replica %u: the delete stands", i);
        cr_assert_eq(visible_people(w.r[i]), 0);
    }
    assert_same_state(w.r[0], w.r[1]);

    /* A concurrent re-create (existence true) older than a delete loses... */
    set_now(T0 + 3 * MINUTE_MS);
    cr_assert_eq(person_put(w.r[1], id, 1, "Tạo lại sớm"), ERR_OK);
    set_now(T0 + 4 * MINUTE_MS);
    cr_assert_eq(person_put(w.r[0], id, 0, NULL), ERR_OK);
    world_ship(&w, 0, 1);
    world_ship(&w, 1, 0);
    for (unsigned i = 0; i < 2; i++) {
        cr_assert(!person_name(w.r[i], id, name), "replica %u: the later delete wins", i);
    }
    assert_same_state(w.r[0], w.r[1]);

    /* ...and one newer than the delete wins. */
    set_now(T0 + 5 * MINUTE_MS);
    cr_assert_eq(person_put(w.r[0], id, 0, NULL), ERR_OK);
    set_now(T0 + 6 * MINUTE_MS);
    cr_assert_eq(person_put(w.r[1], id, 1, "Tạo lại"), ERR_OK);
    world_ship(&w, 0, 1);
    world_ship(&w, 1, 0);
    for (unsigned i = 0; i < 2; i++) {
        cr_assert(person_name(w.r[i], id, name), "replica %u: re-created", i);
        cr_assert_str_eq(name, "Tạo lại");
        /* Column registers are independent of existence: the birth year written at creation
         * still stands. */
        cr_assert_eq(person_int(w.r[i], id, "birth_year"), 1970);
    }
    assert_same_state(w.r[0], w.r[1]);

    /* A re-create after a delete seen by the same replica. */
    set_now(T0 + 7 * MINUTE_MS);
    cr_assert_eq(support_person_rm(w.r[1], id), ERR_OK);
    cr_assert(!person_name(w.r[1], id, name));
    set_now(T0 + 8 * MINUTE_MS);
    cr_assert_eq(person_put(w.r[1], id, 1, "Lần ba"), ERR_OK);
    cr_assert(person_name(w.r[1], id, name));
    cr_assert_str_eq(name, "Lần ba");
    world_ship(&w, 1, 0);
    cr_assert(person_name(w.r[0], id, name));
    cr_assert_str_eq(name, "Lần ba");
    assert_same_state(w.r[0], w.r[1]);
    world_close(&w);
}

/* An edit of a row whose creation has not arrived yet merges: the row stays invisible until the
 * creation arrives, then shows the edit's (later) value beside the creation's other cells. An
 * older edit loses to the creation's value. Both arrival orders give the same state. */
Test(replica, edit_before_create_arrives)
{
    struct world w;
    set_now(T0);
    world_open(&w, 4);
    struct replica *creator = w.r[0], *editor = w.r[1];
    char id[17];
    cr_assert_eq(support_person_add(creator, "Tên đầu", 1970, "V1", id), ERR_OK);
    /* The editor learned the id by other means and never saw the row. */
    set_now(T0 + MINUTE_MS);
    cr_assert_eq(support_person_set_name(editor, id, "Tên sau"), ERR_OK);
    char name[PERSON_NAME_SIZE_MAX + 1];
    cr_assert(!person_name(editor, id, name), "not visible where it was edited either");

    char empty_hash[65], h[65];
    support_state_hex(w.r[2], empty_hash);
    world_ship(&w, 1, 2);
    cr_assert(!person_name(w.r[2], id, name), "the edit alone shows nothing");
    cr_assert_eq(visible_people(w.r[2]), 0);
    support_state_hex(w.r[2], h);
    cr_assert_str_eq(h, empty_hash, "and changes no visible state");
    world_ship(&w, 0, 2);
    cr_assert(person_name(w.r[2], id, name), "visible once the creation arrives");
    cr_assert_str_eq(name, "Tên sau");
    cr_assert_eq(person_int(w.r[2], id, "birth_year"), 1970);

    world_ship(&w, 0, 3);
    world_ship(&w, 1, 3);
    assert_same_state(w.r[2], w.r[3]);

    /* An edit dated before the creation (another id, the editor's clock behind) loses. */
    set_now(T0 + 10 * MINUTE_MS);
    char id2[17];
    cr_assert_eq(support_person_add(creator, "Tạo sau", 1980, "V1", id2), ERR_OK);
    set_now(T0 + 2 * MINUTE_MS);
    cr_assert_eq(support_person_set_name(editor, id2, "Sửa trước"), ERR_OK);
    world_ship(&w, 1, 2);
    world_ship(&w, 0, 2);
    cr_assert(person_name(w.r[2], id2, name));
    cr_assert_str_eq(name, "Tạo sau");
    world_ship(&w, 0, 3);
    world_ship(&w, 1, 3);
    assert_same_state(w.r[2], w.r[3]);
    world_close(&w);
}

/* Builds a one-leaf log with a key of our own and writes it as a bundle (see exchange_test.c):
 * the way a device running a newer cdht would send a leaf naming tables and columns this one
 * does not know. */
static void
hand_bundle(const char *dir, const char *path, const uint8_t *leaf, size_t len)
{
    char *key_path = support_path(dir, "hand.key");
    unlink(key_path);
    struct keys k;
    cr_assert_eq(keys_generate(key_path, NULL, 0, &k), ERR_OK);
    free(key_path);
    uint8_t h[HASH_SIZE];
    merkle_leaf_hash(leaf, len, h);
    struct merkle_frontier fr;
    merkle_frontier_init(&fr);
    merkle_frontier_push(&fr, h);
    struct checkpoint cp;
    memset(&cp, 0, sizeof cp);
    note_log_name(k.pk, cp.origin);
    cp.size = 1;
    merkle_frontier_root(&fr, cp.root);
    uint8_t note[NOTE_SIZE_MAX];
    size_t note_len = 0;
    cr_assert_eq(note_sign_checkpoint(&cp, cp.origin, k.sk, note, sizeof note, &note_len), ERR_OK);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    struct bundle_writer *bw = NULL;
    cr_assert_eq(bundle_writer_new(&bw, f), ERR_OK);
    struct bundle_log_hdr hdr = {.first = 0, .count = 1};
    memcpy(hdr.key, k.pk, KEY_PUBLIC_SIZE);
    cr_assert_eq(bundle_write_log(bw, &hdr), ERR_OK);
    cr_assert_eq(bundle_write_leaf(bw, leaf, len), ERR_OK);
    cr_assert_eq(bundle_write_checkpoint(bw, note, note_len), ERR_OK);
    cr_assert_eq(bundle_writer_finish(bw), ERR_OK);
    bundle_writer_free(bw);
    cr_assert_eq(fclose(f), 0);
    keys_wipe(&k);
}

/* The leaf a newer writer might send: person pk created with a name, a column this version
 * lacks and a birth year of the wrong type; and a row of a table this version lacks. With
 * known_only, just the person's creation and name. */
static uint8_t *
newer_leaf(const char *pk, int known_only, size_t *len)
{
    Cdht__Cell name = CDHT__CELL__INIT, shoe = CDHT__CELL__INIT, year = CDHT__CELL__INIT,
               fut = CDHT__CELL__INIT;
    name.col = "name";
    name.value_case = CDHT__CELL__VALUE_S;
    name.s = "Người mới";
    shoe.col = "shoe_size";
    shoe.value_case = CDHT__CELL__VALUE_I;
    shoe.i = 42;
    year.col = "birth_year";
    year.value_case = CDHT__CELL__VALUE_S; /* an INTEGER column */
    year.s = "1990";
    fut.col = "anything";
    fut.value_case = CDHT__CELL__VALUE_I;
    fut.i = 7;
    Cdht__Cell *pcells[] = {&name, &shoe, &year};
    Cdht__Cell *fcells[] = {&fut};
    Cdht__Change person = CDHT__CHANGE__INIT, future = CDHT__CHANGE__INIT;
    person.table = "person";
    person.pk = (char *)pk;
    person.has_exists = 1;
    person.exists = 1;
    person.cells = pcells;
    person.n_cells = known_only ? 1 : 3;
    future.table = "future_table";
    future.pk = "k1";
    future.has_exists = 1;
    future.exists = 1;
    future.cells = fcells;
    future.n_cells = 1;
    Cdht__Change *chs[] = {&future, &person};
    Cdht__Commit c = CDHT__COMMIT__INIT;
    c.hlc = hlc_pack(T0, 0);
    c.wall_ms = T0;
    c.changes = known_only ? chs + 1 : chs;
    c.n_changes = known_only ? 1 : 2;
    cr_assert_eq(leaf_validate(&c), ERR_OK);
    uint8_t *out = NULL;
    cr_assert_eq(leaf_encode(&c, &out, len), ERR_OK);
    return out;
}

/* Unknown tables, unknown columns and mistyped values in a leaf are skipped the same way on
 * every replica: the known parts of the same change apply, the state hash equals that of a
 * replica that received only the known parts, and the audit is clean (the leaf is valid and
 * kept in the log for a newer version). Locally, replica_txn_put with fresh=1 (no lookup)
 * commits unknown names the same way; with fresh=0 it ASSERTs ("local writes name our own
 * tables"), so that form is not exercised. */
Test(replica, unknown_table_and_column_skipped)
{
    struct world w;
    set_now(T0);
    world_open(&w, 4);
    const char *pk = "0000000000newer1";
    size_t len = 0;
    struct exchange_report rep;
    char name[PERSON_NAME_SIZE_MAX + 1];
    char *newer = support_path(w.dir, "newer.bundle");
    char *known = support_path(w.dir, "known.bundle");
    uint8_t *leaf = newer_leaf(pk, 0, &len);
    hand_bundle(w.dir, newer, leaf, len);
    free(leaf);
    leaf = newer_leaf(pk, 1, &len);
    hand_bundle(w.dir, known, leaf, len);
    free(leaf);

    /* The newer leaf on replica 0, the known parts alone (another key) on replica 2: the same
     * visible state. */
    cr_assert_eq(exchange_import(w.r[0], newer, &rep), ERR_OK, "%s", rep.msg);
    cr_assert_eq(rep.leaves, 1);
    cr_assert_eq(exchange_import(w.r[2], known, &rep), ERR_OK, "%s", rep.msg);
    assert_same_state(w.r[0], w.r[2]);
    cr_assert(person_name(w.r[0], pk, name));
    cr_assert_str_eq(name, "Người mới");
    cr_assert_eq(person_int(w.r[0], pk, "birth_year"), -1, "the mistyped value is skipped");
    audit_clean(w.r[0]);

    /* Replica 1 holds data of its own first, so the leaf arrives in another state; after an
     * exchange replicas 0 and 1 agree. */
    char other[17];
    cr_assert_eq(support_person_add(w.r[1], "Người cũ", 1960, "V1", other), ERR_OK);
    cr_assert_eq(exchange_import(w.r[1], newer, &rep), ERR_OK, "%s", rep.msg);
    world_ship(&w, 1, 0);
    assert_same_state(w.r[0], w.r[1]);

    /* The local write path: an unknown table and column through replica_txn_put (fresh). */
    struct replica_cell cells[] = {
        {.col = "name", .type = SCHEMA_TEXT, .s = "Cục bộ"},
        {.col = "shoe_size", .type = SCHEMA_INT, .i = 41},
    };
    struct replica_cell fut = {.col = "anything", .type = SCHEMA_INT, .i = 1};
    struct replica_txn *t = NULL;
    cr_assert_eq(replica_txn_new(w.r[3], &t), ERR_OK);
    cr_assert_eq(replica_txn_put(t, "future_table", "k2", 1, &fut, 1, 1), ERR_OK);
    cr_assert_eq(replica_txn_put(t, "person", "0000000000local1", 1, cells, 2, 1), ERR_OK);
    cr_assert_eq(replica_txn_commit(w.r[3], t, NULL), ERR_OK);
    cr_assert(person_name(w.r[3], "0000000000local1", name));
    cr_assert_str_eq(name, "Cục bộ");

    /* Everyone gets everything (in a ring, twice round): one state, clean audits. */
    for (unsigned k = 0; k < 8; k++) {
        world_ship(&w, k % 4, (k + 1) % 4);
    }
    for (unsigned i = 0; i < 4; i++) {
        assert_same_state(w.r[0], w.r[i]);
        cr_assert(person_name(w.r[i], "0000000000local1", name));
        cr_assert(person_name(w.r[i], pk, name));
        audit_clean(w.r[i]);
    }
    free(newer);
    free(known);
    world_close(&w);
}

/* ---- row ids -------------------------------------------------------------------------------- */

static void
ids_check(unsigned n)
{
    static const char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz"; /* Crockford, lowercase */
    char(*ids)[REPLICA_ID_SIZE + 1] = calloc(n, sizeof *ids);
    cr_assert_not_null(ids);
    for (unsigned i = 0; i < n; i++) {
        replica_new_id(ids[i]);
        cr_assert_eq(strlen(ids[i]), REPLICA_ID_SIZE);
        cr_assert_eq(strspn(ids[i], alphabet), REPLICA_ID_SIZE, "id %s", ids[i]);
        if (i > 0) {
            cr_assert_lt(strcmp(ids[i - 1], ids[i]), 0, "%s then %s", ids[i - 1], ids[i]);
        }
    }
    /* Increasing implies unique; check uniqueness independently of the order anyway. */
    qsort(ids, n, sizeof *ids, (int (*)(const void *, const void *))strcmp);
    for (unsigned i = 1; i < n; i++) {
        cr_assert_neq(strcmp(ids[i - 1], ids[i]), 0, "duplicate id %s", ids[i]);
    }
    free(ids);
}

/* 10,000 ids are unique, 16 characters of Crockford base32, and increase within one process:
 * with the real clock, and with a frozen clock (all in one millisecond). */
Test(replica, new_id_unique_and_ordered)
{
    ids_check(10000);
    set_now(T0);
    ids_check(10000);
    /* A frozen clock's ids start with the millisecond's 44 bits: the same first 8 symbols. */
    char a[REPLICA_ID_SIZE + 1], b[REPLICA_ID_SIZE + 1];
    replica_new_id(a);
    replica_new_id(b);
    cr_assert_eq(strncmp(a, b, 8), 0);
    set_now(T0 + 1);
    char c[REPLICA_ID_SIZE + 1];
    replica_new_id(c);
    cr_assert_lt(strcmp(b, c), 0, "a later millisecond sorts after");
}

static void
audit_count_kind(void *ctx, const struct audit_finding *f)
{
    if (strcmp(f->kind, "head-damaged") == 0) {
        (*(unsigned *)ctx)++;
    }
}

/* A damaged stored head (its compact range overwritten) is a finding, not an audit that stops:
 * the leaves are still checked, and the other logs too. */
Test(replica, audit_reports_damaged_head)
{
    char *dir = support_tmpdir();
    char *home = support_path(dir, "home");
    struct replica *r = support_replica(home, "V1");
    char id[17];
    cr_assert_eq(support_person_add(r, "Nguyễn Văn An", 1970, "V1", id), ERR_OK);
    replica_close(r);
    char *db_path = support_path(home, REPLICA_DB_FILE);
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    cr_assert_eq(raw_exec(db, "UPDATE log SET frontier = x'00'"), SQLITE_OK);
    cr_assert_eq(sqlite3_close(db), SQLITE_OK);
    r = support_reopen(home);
    unsigned damaged = 0;
    struct audit_summary sum;
    cr_assert_eq(audit_run(r->st, 0, audit_count_kind, &damaged, &sum), ERR_OK);
    cr_assert_eq(damaged, 1);
    cr_assert_eq(sum.leaves, 1, "the leaves are still checked");
    /* Writers refuse a damaged head instead of extending it. */
    cr_assert_eq(support_person_add(r, "Trần Thị Bình", 1980, "V1", id), ERR_CORRUPT);
    replica_close(r);
    free(db_path);
    free(home);
    support_rmrf(dir);
    free(dir);
}

/* A deployment's citizen-id secret given at init is what the replica hashes ids with after it
 * is reopened; without one the key derives from the network name, and the two differ. */
Test(replica, cid_key_from_init)
{
    char *dir = support_tmpdir();
    char *h1 = support_path(dir, "secret"), *h2 = support_path(dir, "plain");
    uint8_t secret[HASH_SIZE];
    memset(secret, 0x5a, sizeof secret);
    struct replica_init_opts o = {.unit = "V1", .cid_key = secret};
    cr_assert_eq(replica_init(h1, &o), ERR_OK);
    struct replica_init_opts p = {.unit = "V1"};
    cr_assert_eq(replica_init(h2, &p), ERR_OK);
    struct replica *a = support_reopen(h1), *b = support_reopen(h2);
    cr_assert_arr_eq(a->cid_key, secret, HASH_SIZE);
    cr_assert(memcmp(b->cid_key, secret, HASH_SIZE) != 0);
    replica_close(a);
    replica_close(b);
    free(h1);
    free(h2);
    support_rmrf(dir);
    free(dir);
}
