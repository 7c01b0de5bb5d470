/*
 * The SQLite replica. store_open() sets every pragma explicitly (WAL, synchronous=FULL,
 * foreign keys off, a busy timeout) and runs the migrations up to STORE_SCHEMA_VERSION. The
 * schema holds the logs (log, leaf), the meta table, and the replicated tables that merge.c
 * materialises; their guards (a CHECK constraint, a DELETE trigger; schema.c) call
 * cdht_merging(), a function only this connection defines, so a write from anywhere else (the
 * sqlite3 shell included) is refused.
 */
#include "store.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "leaf.h"
#include "schema.h"

/* Migration 1: the first schema. Leaves are keyed by log id << LOG_INDEX_BITS | index so one
 * integer b-tree holds every log in order (see log.h). */
static const char STORE_SCHEMA_V1[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE log("
    "  id INTEGER PRIMARY KEY,"
    "  key BLOB NOT NULL UNIQUE,"           /* Ed25519 public key of the device */
    "  size INTEGER NOT NULL,"              /* leaves held, contiguous from 0 */
    "  frontier BLOB NOT NULL,"             /* compact range of the size leaves */
    "  cp_size INTEGER NOT NULL DEFAULT 0," /* tree size of the stored checkpoint */
    "  checkpoint BLOB);"                   /* latest signed checkpoint note held */
    "CREATE TABLE leaf("
    "  id INTEGER PRIMARY KEY,"          /* log id << 40 | index */
    "  hash BLOB NOT NULL,"              /* RFC 6962 leaf hash */
    "  hlc INTEGER NOT NULL,"            /* the commit's clock, for status and skew */
    "  received_ms INTEGER NOT NULL,"    /* local wall clock when stored */
    "  skew INTEGER NOT NULL DEFAULT 0," /* 1: clock more than HLC_AHEAD_FLAG_MS ahead */
    "  data BLOB NOT NULL);";            /* the encoded Commit, verbatim */

/* Migration 2: the units tree gains dated validity, the disadvantaged-area flag and a
 * succession map (issue 3, item 1). The unit columns are listed here rather than taken from
 * schema.c, because a migration is history: it must add exactly what schema 2 added. Rows
 * keep their values; the new registers were never written (NULL, clock 0). */
static const char STORE_MIGRATE_V2_UNIT[] = "ALTER TABLE unit ADD COLUMN valid_from TEXT;"
                                            "ALTER TABLE unit ADD COLUMN valid_to TEXT;"
                                            "ALTER TABLE unit ADD COLUMN disadvantaged INTEGER;";
/* Registers of a unit row in schema 1 (existence + parent, kind, name) and in schema 2. */
#define STORE_V1_UNIT_REGS 4u
#define STORE_V2_UNIT_REGS 7u
/* A full-form _clk (schema.h) holds one entry per register, so a schema-1 row's full clock is
 * too short for schema 2 and merge.c would call it corrupt: append a zero entry (never written)
 * for each new register. The compact form (18 bytes) names registers by a mask and needs no
 * change: the new registers' bits are 0. The UPDATE goes through the guard, so it runs with
 * merging set. */
static const char STORE_MIGRATE_V2_CLK[] =
    "UPDATE unit SET _clk = _clk || zeroblob(48) WHERE length(_clk) = 64;";
static_assert(STORE_V1_UNIT_REGS * SCHEMA_CLK_ENTRY_SIZE == 64, "schema-1 unit full clock");
static_assert((STORE_V2_UNIT_REGS - STORE_V1_UNIT_REGS) * SCHEMA_CLK_ENTRY_SIZE == 48,
              "three new registers");

static err_code
store_migrate_v2(struct store *st)
{
    const struct schema_table *succ = schema_table_find("unit_succession");
    const struct schema_table *unit = schema_table_find("unit");
    ASSERT(succ != NULL);
    ASSERT(unit != NULL && unit->ncols + 1 == STORE_V2_UNIT_REGS);
    err_code rc = store_exec(st, STORE_MIGRATE_V2_UNIT);
    if (rc != ERR_OK || (rc = schema_create_table(st, succ)) != ERR_OK) {
        return rc;
    }
    store_merging_set(st, 1);
    rc = store_exec(st, STORE_MIGRATE_V2_CLK);
    store_merging_set(st, 0);
    return rc;
}

/* Migration 3: trust (issue 3, items 2-8). These tables are local bookkeeping, not replicated
 * state, so none enters the state hash. trust_leaf, quarantine, trust_dev and trust_grant are a
 * function of the leaves held and the pinned root (node/trust.c rebuilds them); cosig and
 * equivocation hold signed material that arrives in bundles or is made here (node/witness.c)
 * and cannot be recomputed from the leaves. */
static const char STORE_SCHEMA_V3[] =
    /* Leaves that carry certificates or revocations or write the units tree (leaf_kind), so
     * that trust is evaluated from them without decoding every leaf. */
    "CREATE TABLE trust_leaf(id INTEGER PRIMARY KEY);"
    /* Leaves held but not applied, and why (node/trust.h, enum trust_reason). */
    "CREATE TABLE quarantine("
    "  id INTEGER PRIMARY KEY,"     /* leaf rowid */
    "  reason INTEGER NOT NULL,"    /* enum trust_reason */
    "  detail TEXT);"               /* a short sentence naming a unit or an index, no payload */
    /* The evaluated trust state: one row per device with a valid chain. */
    "CREATE TABLE trust_dev("
    "  key BLOB PRIMARY KEY,"       /* the device's public key (its log may not be held) */
    "  depth INTEGER NOT NULL,"     /* 0: the pinned root */
    "  last_index INTEGER,"         /* NULL: no limit; -1: no leaf counts */
    "  limit_kind INTEGER NOT NULL DEFAULT 0," /* 0 none, 1 revoked, 2 equivocation */
    "  reason TEXT) WITHOUT ROWID;" /* the revocation's reason text */
    "CREATE TABLE trust_grant("
    "  key BLOB NOT NULL,"          /* subject */
    "  role INTEGER NOT NULL,"      /* enum trust_role bit */
    "  unit TEXT NOT NULL,"
    "  expires TEXT,"               /* YYYY-MM-DD or NULL */
    "  issuer BLOB NOT NULL,"       /* the issuer's public key */
    "  issuer_index INTEGER NOT NULL," /* the certificate's leaf in the issuer's log */
    "  PRIMARY KEY(key, issuer, issuer_index, role, unit)) WITHOUT ROWID;"
    /* Witness cosignatures held (C2SP tlog-cosignature), for any log, by any witness. */
    "CREATE TABLE cosig("
    "  log_id INTEGER NOT NULL,"
    "  witness BLOB NOT NULL,"      /* the witness's Ed25519 public key */
    "  size INTEGER NOT NULL,"      /* tree size co-signed */
    "  root BLOB NOT NULL,"         /* root hash co-signed */
    "  time INTEGER NOT NULL,"      /* the cosignature's timestamp, seconds since the epoch */
    "  sig BLOB NOT NULL,"          /* the cosignature line's signature bytes */
    "  PRIMARY KEY(log_id, witness, size)) WITHOUT ROWID;"
    /* Proofs of equivocation: two validly signed, inconsistent checkpoints of one log. */
    "CREATE TABLE equivocation("
    "  id INTEGER PRIMARY KEY,"
    "  log_key BLOB NOT NULL,"      /* the equivocating device's public key */
    "  note_a BLOB NOT NULL,"       /* signed checkpoint note */
    "  note_b BLOB NOT NULL,"       /* signed checkpoint note inconsistent with note_a */
    "  prefix INTEGER NOT NULL,"    /* leaves both histories share (the log is frozen there) */
    "  found_ms INTEGER NOT NULL,"  /* local wall clock when first held */
    "  UNIQUE(log_key, note_a, note_b));";

/* Migration 4: what each peer held of each log at the end of the last session with it (local
 * knowledge for `cdht status`: pending up and down per log and peer; never replicated). */
static const char STORE_SCHEMA_V4[] =
    "CREATE TABLE peer_head("
    "  peer TEXT NOT NULL,"         /* the peer's URL, as the sync named it */
    "  log_key BLOB NOT NULL,"      /* the log's device key */
    "  size INTEGER NOT NULL,"      /* leaves the peer held */
    "  PRIMARY KEY(peer, log_key)) WITHOUT ROWID;";

/* Migration 5: the Learning Citizen registry (issue 5). The tables added by schema 5, by name:
 * schema_create_table makes each as schema.c defines it today, which is schema 5's definition
 * as long as columns are only ever appended by later migrations (ALTER TABLE, like v2). */
static const char *const STORE_V5_TABLES[] = {
    "framework",  "framework_group", "framework_indicator", "plan",
    "plan_target", "assessment",     "self_score",          "review",
    "approval",   "evidence",        "score_note",          "collective",
    "collective_member", "collective_recognition", "aggregate", "setting",
};

/* The derived status of each live assessment (node/rules.c, rules_status, is the same rule in
 * C; tests/unit/rules_test.c checks that they agree). A review or an approval counts only for
 * the assessment's current round and unit: an older round never counts, and a row re-homed to
 * another unit by a writer elsewhere cannot forge a recognition. Not replicated: a view. */
static const char STORE_SCHEMA_V5_VIEW[] =
    "CREATE VIEW assessment_state AS "
    "SELECT a.id AS id, a.person AS person, a.year AS year, a.unit AS unit, "
    "  a.target_group AS grp, a.framework AS framework, a.digital AS digital, a.round AS round, "
    "  CASE WHEN p._live AND p.round = a.round AND p.unit = a.unit THEN p.outcome "
    "       WHEN r._live AND r.round = a.round AND r.unit = a.unit "
    "         THEN CASE r.outcome WHEN 'reviewed' THEN 'branch_reviewed' ELSE 'returned' END "
    "       ELSE a.stage END AS status "
    "FROM assessment a LEFT JOIN review r ON r.id = a.id LEFT JOIN approval p ON p.id = a.id "
    "WHERE a._live;";

static err_code
store_migrate_v5(struct store *st, int fresh)
{
    err_code rc = ERR_OK;
    for (size_t i = 0; !fresh && i < sizeof STORE_V5_TABLES / sizeof STORE_V5_TABLES[0]; i++) {
        const struct schema_table *tb = schema_table_find(STORE_V5_TABLES[i]);
        ASSERT(tb != NULL);
        if ((rc = schema_create_table(st, tb)) != ERR_OK) {
            return rc;
        }
    }
    return store_exec(st, STORE_SCHEMA_V5_VIEW);
}

/* Fills trust_leaf from the leaves an older replica already holds. */
static err_code
store_migrate_v3_index(struct store *st)
{
    sqlite3_stmt *s = NULL, *ins = NULL;
    int rc = sqlite3_prepare_v2(st->db, "SELECT id, data FROM leaf", -1, &s, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_prepare_v2(st->db, "INSERT OR IGNORE INTO trust_leaf(id) VALUES(?1)", -1,
                                &ins, NULL);
    }
    err_code e = ERR_OK;
    while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        Cdht__Commit *c = NULL;
        const uint8_t *d = sqlite3_column_blob(s, 1);
        if (leaf_decode(d, (size_t)sqlite3_column_bytes(s, 1), &c) != ERR_OK) {
            rc = SQLITE_OK;
            continue; /* a damaged leaf is the audit's to report */
        }
        int kind = leaf_kind(c);
        leaf_free(c);
        if (kind != LEAF_KIND_DATA) {
            sqlite3_bind_int64(ins, 1, sqlite3_column_int64(s, 0));
            rc = sqlite3_step(ins);
            sqlite3_reset(ins);
            rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
        }
    }
    if (rc != SQLITE_DONE && rc != SQLITE_OK) {
        e = store_err(st, rc, "migrate v3");
    }
    sqlite3_finalize(s);
    sqlite3_finalize(ins);
    return e;
}

/* cdht_merging(): true only while merge.c writes (the guards in schema.c call it). */
static void
store_merging_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    (void)argv;
    struct store *st = sqlite3_user_data(ctx);
    sqlite3_result_int(ctx, st->merging);
}

err_code
store_err(struct store *st, int rc, const char *what)
{
    if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) {
        return ERR_OK;
    }
    diag_error("STORE-SQL", "%s: %s (%d)", what, st && st->db ? sqlite3_errmsg(st->db) : "", rc);
    if (rc == SQLITE_NOMEM) {
        return ERR_NOMEM;
    }
    if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB) {
        return ERR_CORRUPT_HERE;
    }
    return ERR_DB;
}

err_code
store_exec(struct store *st, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        diag_error("STORE-SQL", "exec: %s", msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return rc == SQLITE_NOMEM                            ? ERR_NOMEM
               : rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB ? ERR_CORRUPT_HERE
                                                             : ERR_DB;
    }
    return ERR_OK;
}

static err_code
store_user_version(struct store *st, int *out)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL);
    if (rc != SQLITE_OK) {
        return store_err(st, rc, "user_version");
    }
    rc = sqlite3_step(s);
    *out = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? ERR_OK : store_err(st, rc, "user_version");
}

/* Brings the schema to STORE_SCHEMA_VERSION in one transaction. A newer file than this binary
 * knows is refused rather than guessed at. */
static err_code
store_migrate(struct store *st)
{
    int v = 0;
    err_code rc = store_user_version(st, &v);
    if (rc != ERR_OK) {
        return rc;
    }
    if (v == STORE_SCHEMA_VERSION) {
        return ERR_OK;
    }
    if (v > STORE_SCHEMA_VERSION) {
        diag_error("STORE-VERSION", "replica schema %d is newer than this cdht (%d)", v,
                   STORE_SCHEMA_VERSION);
        return ERR_INVAL;
    }
    if ((rc = store_begin(st)) != ERR_OK) {
        return rc;
    }
    if (v < 1) {
        /* A fresh database gets the current replicated tables directly (schema.c), so the
         * later migrations below are for files written by an older cdht only. */
        if ((rc = store_exec(st, STORE_SCHEMA_V1)) != ERR_OK ||
            (rc = store_exec(st, STORE_SCHEMA_V3)) != ERR_OK ||
            (rc = store_exec(st, STORE_SCHEMA_V4)) != ERR_OK ||
            (rc = schema_create(st)) != ERR_OK || (rc = store_migrate_v5(st, 1)) != ERR_OK) {
            goto out;
        }
    } else {
        if (v < 2 && (rc = store_migrate_v2(st)) != ERR_OK) {
            goto out;
        }
        if (v < 3 && ((rc = store_exec(st, STORE_SCHEMA_V3)) != ERR_OK ||
                      (rc = store_migrate_v3_index(st)) != ERR_OK)) {
            goto out;
        }
        if (v < 4 && (rc = store_exec(st, STORE_SCHEMA_V4)) != ERR_OK) {
            goto out;
        }
        if (v < 5 && (rc = store_migrate_v5(st, 0)) != ERR_OK) {
            goto out;
        }
        diag_info("STORE-MIGRATE", "replica schema %d upgraded to %d", v, STORE_SCHEMA_VERSION);
    }
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version=%d", STORE_SCHEMA_VERSION);
    if ((rc = store_exec(st, sql)) != ERR_OK) {
        goto out;
    }
    rc = store_commit(st);
    return rc;
out:
    store_rollback(st);
    return rc;
}

err_code
store_open(struct store **out, const char *path, unsigned flags)
{
    err_code rc = ERR_OK;
    *out = NULL;
    struct store *st = calloc(1, sizeof *st);
    if (st == NULL) {
        return ERR_NOMEM;
    }
    int oflags = SQLITE_OPEN_NOMUTEX;
    if (flags & STORE_READONLY) {
        oflags |= SQLITE_OPEN_READONLY;
    } else {
        oflags |= SQLITE_OPEN_READWRITE;
        if (flags & STORE_CREATE) {
            oflags |= SQLITE_OPEN_CREATE;
        }
    }
    int src = sqlite3_open_v2(path, &st->db, oflags, NULL);
    if (src != SQLITE_OK) {
        diag_error("STORE-OPEN", "cannot open replica database: %s",
                   st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(src));
        rc = src == SQLITE_CANTOPEN ? ERR_NOTFOUND : ERR_DB;
        goto out;
    }
    sqlite3_extended_result_codes(st->db, 0);
    sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
    /* Blobs and strings are bounded by our own limits long before SQLite's. */
    sqlite3_limit(st->db, SQLITE_LIMIT_LENGTH, 64 * 1024 * 1024);
    src = sqlite3_create_function(st->db, "cdht_merging", 0, SQLITE_UTF8, st, store_merging_fn,
                                  NULL, NULL);
    if (src != SQLITE_OK) {
        rc = store_err(st, src, "create_function");
        goto out;
    }
    if (!(flags & STORE_READONLY)) {
        /* WAL: readers never block the writer; FULL: a commit survives power loss, which an
         * offline laptop on a failing battery will see. */
        char pragmas[256];
        /* A scratch database is rebuilt from the logs whenever it is needed: durability would
         * only cost time. */
        snprintf(pragmas, sizeof pragmas,
                 "PRAGMA journal_mode=%s; PRAGMA synchronous=%s; PRAGMA foreign_keys=OFF;"
                 "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-%u;",
                 (flags & STORE_SCRATCH) ? "OFF" : "WAL", (flags & STORE_SCRATCH) ? "OFF" : "FULL",
                 STORE_CACHE_KIB);
        if ((rc = store_exec(st, pragmas)) != ERR_OK) {
            goto out;
        }
        if ((rc = store_migrate(st)) != ERR_OK) {
            goto out;
        }
    } else {
        int v = 0;
        if ((rc = store_user_version(st, &v)) != ERR_OK) {
            goto out;
        }
        if (v >= 1 && v < STORE_SCHEMA_VERSION) {
            /* Written by an older cdht: a read-only connection cannot migrate it. The caller
             * may open it read-write once (replica_open does, under the write lock). */
            rc = ERR_AGAIN;
            goto out;
        }
        if (v != STORE_SCHEMA_VERSION) {
            diag_error("STORE-VERSION", "replica schema %d, this cdht reads %d", v,
                       STORE_SCHEMA_VERSION);
            rc = ERR_INVAL;
            goto out;
        }
    }
    *out = st;
    st = NULL;
out:
    store_close(st);
    return rc;
}

void
store_close(struct store *st)
{
    if (st == NULL) {
        return;
    }
    for (unsigned i = 0; i < st->cache_count; i++) {
        sqlite3_finalize(st->cache[i].stmt);
    }
    sqlite3_close(st->db);
    free(st);
}

sqlite3_stmt *
store_stmt(struct store *st, const char *sql)
{
    for (unsigned i = 0; i < st->cache_count; i++) {
        if (st->cache[i].sql == sql) {
            sqlite3_reset(st->cache[i].stmt);
            sqlite3_clear_bindings(st->cache[i].stmt);
            return st->cache[i].stmt;
        }
    }
    ASSERT(st->cache_count < STORE_STMT_CACHE_MAX);
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
    if (rc != SQLITE_OK) {
        store_err(st, rc, "prepare");
        return NULL;
    }
    st->cache[st->cache_count].sql = sql;
    st->cache[st->cache_count].stmt = s;
    st->cache_count++;
    return s;
}

err_code
store_begin(struct store *st)
{
    return store_exec(st, "BEGIN IMMEDIATE");
}

err_code
store_commit(struct store *st)
{
    return store_exec(st, "COMMIT");
}

void
store_rollback(struct store *st)
{
    if (!sqlite3_get_autocommit(st->db)) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    }
    st->merging = 0;
    /* A rolled-back log row frees its id for the next log: forget the keys remembered by id. */
    memset(st->key_cache, 0, sizeof st->key_cache);
}

void
store_merging_set(struct store *st, int on)
{
    st->merging = on;
}

err_code
store_meta_get(struct store *st, const char *key, void *buf, size_t cap, size_t *len)
{
    static const char sql[] = "SELECT value FROM meta WHERE key=?1";
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        return ERR_NOTFOUND;
    }
    if (rc != SQLITE_ROW) {
        return store_err(st, rc, "meta get");
    }
    size_t n = (size_t)sqlite3_column_bytes(s, 0);
    if (n > cap) {
        sqlite3_reset(s);
        return ERR_MSGSIZE;
    }
    if (n > 0) {
        memcpy(buf, sqlite3_column_blob(s, 0), n);
    }
    if (len != NULL) {
        *len = n;
    }
    sqlite3_reset(s);
    return ERR_OK;
}

err_code
store_meta_put(struct store *st, const char *key, const void *val, size_t len)
{
    static const char sql[] = "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)";
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, val, (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? ERR_OK : store_err(st, rc, "meta put");
}
