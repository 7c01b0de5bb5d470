/*
 * The SQLite replica: opening with explicit pragmas, the schema and its migrations, prepared
 * statement cache, transactions and the meta table. The loop thread (or the one CLI command)
 * alone owns the connection. Replicated tables are guarded by a CHECK constraint and a trigger
 * that refuse any write made outside the merge path (store_merging_set), so no write can
 * bypass the log.
 */
#ifndef CDHT_STORE_H
#define CDHT_STORE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* 1: the first schema. 2: unit gains valid_from, valid_to, disadvantaged; unit_succession.
 * 3: trust bookkeeping. 4: peer_head. 5: the Learning Citizen registry tables (schema.c) and
 * the assessment_state view. */
#define STORE_SCHEMA_VERSION 5
/* Statements kept prepared per connection: about 60 distinct ones exist (the trust layer
 * brought many); overflowing is an ASSERT, so the bound keeps twice that. */
#define STORE_STMT_CACHE_MAX 128u
/* SQLite page cache per connection, in KiB, set explicitly rather than inherited (2 MiB).
 * Measured: 2, 16 and 64 MiB give the same bulk commit time, because new rows land at the
 * b-tree's right edge; 8 MiB keeps lookups of older rows cached at commune scale and stays well
 * inside the 64 MiB an import may use. */
#define STORE_CACHE_KIB 8192u
/* How long a reader waits for a writer's lock before giving up (WAL readers rarely wait). */
#define STORE_BUSY_TIMEOUT_MS 10000

enum store_flags {
    STORE_CREATE = 1u << 0,   /* create the file when missing (replica_init refuses a home
                                 that exists; the store does not) */
    STORE_READONLY = 1u << 1, /* open read-only (audits, listings) */
    STORE_SCRATCH = 1u << 2,  /* a throwaway database: no journal, no fsync (audit's replay) */
};

struct store_stmt {
    const char *sql; /* the static string it was prepared from (identity, not content) */
    sqlite3_stmt *stmt;
};

/* Authors whose keys log.c remembers per connection (tie-breaks need the key of a log id). */
#define STORE_KEY_CACHE_SIZE 8u

struct store {
    sqlite3 *db;
    int merging; /* non-zero while the merge path writes replicated tables */
    struct store_stmt cache[STORE_STMT_CACHE_MAX];
    unsigned cache_count;
    struct {
        int64_t id; /* 0: empty */
        uint8_t key[32];
    } key_cache[STORE_KEY_CACHE_SIZE]; /* owned by log.c (log_key_of) */
    unsigned key_cache_next;
};

/* Opens (and, read-write, migrates) the replica database. Read-only, a database of an older
 * schema (1 <= user_version < STORE_SCHEMA_VERSION) is ERR_AGAIN: open it read-write once to
 * migrate it; a newer or unversioned one is ERR_INVAL. */
err_code store_open(struct store **out, const char *path, unsigned flags) WARN_UNUSED;
void store_close(struct store *st);

/* A cached prepared statement for a static SQL string, reset and unbound. NULL on error
 * (logged). The pointer identity of sql is the cache key: pass string literals. */
sqlite3_stmt *store_stmt(struct store *st, const char *sql);

err_code store_begin(struct store *st) WARN_UNUSED; /* BEGIN IMMEDIATE */
err_code store_commit(struct store *st) WARN_UNUSED;
void store_rollback(struct store *st);
err_code store_exec(struct store *st, const char *sql) WARN_UNUSED;

/* Lets the merge path write replicated tables while on is non-zero (the guards call
 * cdht_merging(); schema.c). */
void store_merging_set(struct store *st, int on);

err_code store_meta_get(struct store *st, const char *key, void *buf, size_t cap,
                        size_t *len) WARN_UNUSED;
err_code store_meta_put(struct store *st, const char *key, const void *val, size_t len) WARN_UNUSED;

/* Converts an SQLite result code once, logging the message with a message id. */
err_code store_err(struct store *st, int rc, const char *what);

#endif
