/*
 * Per-device logs in SQLite (tables log and leaf; see store.c). Appending is one INSERT and an
 * O(log n) frontier update; the head row is written once per batch by log_save(). Proofs read
 * leaf hashes in index order through one range statement, so a proof over a million leaves is
 * one sequential scan, not a million point queries.
 */
#include "log.h"

#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "store.h"

/* Reads a log row. A head whose frontier does not decode or disagrees with its size is
 * returned with damaged set (and an empty frontier) rather than refused, so that the audit can
 * report it; every other reader refuses it (log_get, log_foreach). */
static err_code
log_row(sqlite3_stmt *s, struct log_head *out)
{
    memset(out, 0, sizeof *out);
    out->id = sqlite3_column_int64(s, 0);
    if (sqlite3_column_bytes(s, 1) != KEY_PUBLIC_SIZE) {
        return ERR_CORRUPT_HERE;
    }
    memcpy(out->key, sqlite3_column_blob(s, 1), KEY_PUBLIC_SIZE);
    out->size = (uint64_t)sqlite3_column_int64(s, 2);
    out->cp_size = (uint64_t)sqlite3_column_int64(s, 4);
    err_code rc = merkle_frontier_decode(sqlite3_column_blob(s, 3),
                                         (size_t)sqlite3_column_bytes(s, 3), &out->frontier);
    if (rc != ERR_OK || out->frontier.size != out->size || out->size > LOG_SIZE_MAX) {
        merkle_frontier_init(&out->frontier);
        out->damaged = 1;
    }
    return ERR_OK;
}

#define LOG_COLS "id, key, size, frontier, cp_size"

err_code
log_get(struct store *st, const uint8_t key[KEY_PUBLIC_SIZE], struct log_head *out)
{
    static const char sql[] = "SELECT " LOG_COLS " FROM log WHERE key=?1";
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_blob(s, 1, key, KEY_PUBLIC_SIZE, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    err_code e = rc == SQLITE_ROW    ? log_row(s, out)
                 : rc == SQLITE_DONE ? ERR_NOTFOUND
                                     : store_err(st, rc, "log get");
    sqlite3_reset(s);
    return e == ERR_OK && out->damaged ? ERR_CORRUPT_HERE : e;
}

err_code
log_get_by_id(struct store *st, int64_t id, struct log_head *out)
{
    static const char sql[] = "SELECT " LOG_COLS " FROM log WHERE id=?1";
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    err_code e = rc == SQLITE_ROW    ? log_row(s, out)
                 : rc == SQLITE_DONE ? ERR_NOTFOUND
                                     : store_err(st, rc, "log get");
    sqlite3_reset(s);
    return e == ERR_OK && out->damaged ? ERR_CORRUPT_HERE : e;
}

err_code
log_create(struct store *st, const uint8_t key[KEY_PUBLIC_SIZE], struct log_head *out)
{
    static const char sql[] = "INSERT INTO log(key, size, frontier) VALUES(?1, 0, ?2)";
    memset(out, 0, sizeof *out);
    merkle_frontier_init(&out->frontier);
    uint8_t enc[MERKLE_FRONTIER_ENCODED_MAX];
    size_t n = merkle_frontier_encode(&out->frontier, enc);
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_blob(s, 1, key, KEY_PUBLIC_SIZE, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, enc, (int)n, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        return store_err(st, rc, "log create");
    }
    out->id = sqlite3_last_insert_rowid(st->db);
    if (out->id >= LOG_ID_LIMIT) {
        return ERR_MSGSIZE;
    }
    memcpy(out->key, key, KEY_PUBLIC_SIZE);
    return ERR_OK;
}

err_code
log_key_of(struct store *st, int64_t id, uint8_t key[KEY_PUBLIC_SIZE])
{
    /* A handful of authors decide most tie-breaks: remember the last few per connection. */
    for (unsigned i = 0; i < STORE_KEY_CACHE_SIZE; i++) {
        if (st->key_cache[i].id == id) {
            memcpy(key, st->key_cache[i].key, KEY_PUBLIC_SIZE);
            return ERR_OK;
        }
    }
    struct log_head h;
    err_code rc = log_get_by_id(st, id, &h);
    if (rc != ERR_OK) {
        return rc == ERR_NOTFOUND ? ERR_CORRUPT_HERE : rc;
    }
    memcpy(key, h.key, KEY_PUBLIC_SIZE);
    unsigned slot = st->key_cache_next++ % STORE_KEY_CACHE_SIZE;
    st->key_cache[slot].id = id;
    memcpy(st->key_cache[slot].key, h.key, KEY_PUBLIC_SIZE);
    return ERR_OK;
}

err_code
log_append(struct store *st, struct log_head *h, const uint8_t *leaf, size_t len,
           const uint8_t hash[HASH_SIZE], uint64_t hlc, int64_t received_ms, int skew)
{
    static const char sql[] =
        "INSERT INTO leaf(id, hash, hlc, received_ms, skew, data) VALUES(?1, ?2, ?3, ?4, ?5, ?6)";
    ASSERT(len > 0 && len <= LEAF_SIZE_MAX);
    ASSERT(!h->damaged);
    if (h->size >= LOG_SIZE_MAX) {
        return ERR_MSGSIZE;
    }
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_int64(s, 1, log_leaf_rowid(h->id, h->size));
    sqlite3_bind_blob(s, 2, hash, HASH_SIZE, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, (int64_t)hlc);
    sqlite3_bind_int64(s, 4, received_ms);
    sqlite3_bind_int(s, 5, skew);
    sqlite3_bind_blob(s, 6, leaf, (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        return store_err(st, rc, "leaf insert");
    }
    merkle_frontier_push(&h->frontier, hash);
    h->size++;
    ASSERT(h->frontier.size == h->size);
    return ERR_OK;
}

err_code
log_save(struct store *st, const struct log_head *h)
{
    static const char sql[] = "UPDATE log SET size=?2, frontier=?3 WHERE id=?1";
    uint8_t enc[MERKLE_FRONTIER_ENCODED_MAX];
    size_t n = merkle_frontier_encode(&h->frontier, enc);
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_int64(s, 1, h->id);
    sqlite3_bind_int64(s, 2, (int64_t)h->size);
    sqlite3_bind_blob(s, 3, enc, (int)n, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? ERR_OK : store_err(st, rc, "log save");
}

void
log_root(const struct log_head *h, uint8_t out[HASH_SIZE])
{
    merkle_frontier_root(&h->frontier, out);
}

err_code
log_checkpoint_put(struct store *st, struct log_head *h, const uint8_t *note, size_t len,
                   uint64_t size)
{
    static const char sql[] = "UPDATE log SET checkpoint=?2, cp_size=?3 WHERE id=?1";
    ASSERT(size <= h->size);
    ASSERT(len <= NOTE_SIZE_MAX);
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_int64(s, 1, h->id);
    sqlite3_bind_blob(s, 2, note, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, (int64_t)size);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        return store_err(st, rc, "checkpoint put");
    }
    h->cp_size = size;
    return ERR_OK;
}

err_code
log_checkpoint_get(struct store *st, int64_t id, uint8_t buf[NOTE_SIZE_MAX], size_t *len,
                   uint64_t *size)
{
    static const char sql[] = "SELECT checkpoint, cp_size FROM log WHERE id=?1";
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    err_code e = ERR_OK;
    if (rc != SQLITE_ROW) {
        e = rc == SQLITE_DONE ? ERR_NOTFOUND : store_err(st, rc, "checkpoint get");
    } else if (sqlite3_column_type(s, 0) == SQLITE_NULL) {
        e = ERR_NOTFOUND;
    } else {
        size_t n = (size_t)sqlite3_column_bytes(s, 0);
        if (n == 0 || n > NOTE_SIZE_MAX) {
            e = ERR_CORRUPT_HERE;
        } else {
            memcpy(buf, sqlite3_column_blob(s, 0), n);
            *len = n;
            *size = (uint64_t)sqlite3_column_int64(s, 1);
        }
    }
    sqlite3_reset(s);
    return e;
}

err_code
log_leaf_read(struct store *st, int64_t id, uint64_t index, uint8_t **data, size_t *len)
{
    static const char sql[] = "SELECT data FROM leaf WHERE id=?1";
    *data = NULL;
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_int64(s, 1, log_leaf_rowid(id, index));
    int rc = sqlite3_step(s);
    err_code e = ERR_OK;
    if (rc != SQLITE_ROW) {
        e = rc == SQLITE_DONE ? ERR_NOTFOUND : store_err(st, rc, "leaf read");
    } else {
        size_t n = (size_t)sqlite3_column_bytes(s, 0);
        if (n == 0 || n > LEAF_SIZE_MAX) {
            e = ERR_CORRUPT_HERE;
        } else if ((*data = malloc(n)) == NULL) {
            e = ERR_NOMEM;
        } else {
            memcpy(*data, sqlite3_column_blob(s, 0), n);
            *len = n;
        }
    }
    sqlite3_reset(s);
    return e;
}

err_code
log_leaf_hash(struct store *st, int64_t id, uint64_t index, uint8_t out[HASH_SIZE])
{
    static const char sql[] = "SELECT hash FROM leaf WHERE id=?1";
    sqlite3_stmt *s = store_stmt(st, sql);
    if (s == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_int64(s, 1, log_leaf_rowid(id, index));
    int rc = sqlite3_step(s);
    err_code e = ERR_OK;
    if (rc != SQLITE_ROW) {
        e = rc == SQLITE_DONE ? ERR_NOTFOUND : store_err(st, rc, "leaf hash");
    } else if (sqlite3_column_bytes(s, 0) != HASH_SIZE) {
        e = ERR_CORRUPT_HERE;
    } else {
        memcpy(out, sqlite3_column_blob(s, 0), HASH_SIZE);
    }
    sqlite3_reset(s);
    return e;
}

/* Sequential reader of leaf hashes for the merkle callbacks: a request for the next index
 * steps the open range statement; any other index restarts it there. */
struct log_hash_cursor {
    struct store *st;
    int64_t log_id;
    uint64_t limit; /* leaves that exist */
    uint64_t next;  /* index the statement returns next */
    sqlite3_stmt *s;
};

static err_code
log_hash_cursor_fn(void *ctx, uint64_t index, uint8_t out[HASH_SIZE])
{
    static const char sql[] = "SELECT hash FROM leaf WHERE id>=?1 AND id<?2 ORDER BY id";
    struct log_hash_cursor *c = ctx;
    if (index >= c->limit) {
        return ERR_INVAL;
    }
    if (c->s == NULL || index != c->next) {
        c->s = store_stmt(c->st, sql);
        if (c->s == NULL) {
            return ERR_DB;
        }
        sqlite3_bind_int64(c->s, 1, log_leaf_rowid(c->log_id, index));
        sqlite3_bind_int64(c->s, 2, log_leaf_rowid(c->log_id, c->limit));
        c->next = index;
    }
    int rc = sqlite3_step(c->s);
    if (rc != SQLITE_ROW) {
        return rc == SQLITE_DONE ? ERR_CORRUPT_HERE : store_err(c->st, rc, "leaf hashes");
    }
    if (sqlite3_column_bytes(c->s, 0) != HASH_SIZE) {
        return ERR_CORRUPT_HERE;
    }
    memcpy(out, sqlite3_column_blob(c->s, 0), HASH_SIZE);
    c->next++;
    return ERR_OK;
}

static void
log_hash_cursor_done(struct log_hash_cursor *c)
{
    if (c->s != NULL) {
        sqlite3_reset(c->s);
    }
}

err_code
log_root_at(struct store *st, const struct log_head *h, uint64_t size, uint8_t out[HASH_SIZE])
{
    if (size > h->size) {
        return ERR_INVAL;
    }
    if (size == h->size) {
        log_root(h, out);
        return ERR_OK;
    }
    struct log_hash_cursor c = {.st = st, .log_id = h->id, .limit = h->size};
    err_code rc = merkle_range_root(log_hash_cursor_fn, &c, 0, size, out);
    log_hash_cursor_done(&c);
    return rc;
}

err_code
log_prove_inclusion(struct store *st, const struct log_head *h, uint64_t index, uint64_t size,
                    uint8_t proof[][HASH_SIZE], size_t *count)
{
    if (size > h->size || index >= size) {
        return ERR_INVAL;
    }
    struct log_hash_cursor c = {.st = st, .log_id = h->id, .limit = h->size};
    err_code rc = merkle_inclusion_proof(log_hash_cursor_fn, &c, index, size, proof, count);
    log_hash_cursor_done(&c);
    return rc;
}

err_code
log_prove_consistency(struct store *st, const struct log_head *h, uint64_t from, uint64_t to,
                      uint8_t proof[][HASH_SIZE], size_t *count)
{
    if (to > h->size || from == 0 || from > to) {
        return ERR_INVAL;
    }
    struct log_hash_cursor c = {.st = st, .log_id = h->id, .limit = h->size};
    err_code rc = merkle_consistency_proof(log_hash_cursor_fn, &c, from, to, proof, count);
    log_hash_cursor_done(&c);
    return rc;
}

err_code
log_foreach(struct store *st, log_visit_fn fn, void *ctx)
{
    return log_foreach_flags(st, 0, fn, ctx);
}

err_code
log_foreach_flags(struct store *st, unsigned flags, log_visit_fn fn, void *ctx)
{
    /* Not the cached statement: fn may use the cache, and this loop must keep its cursor. */
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, "SELECT " LOG_COLS " FROM log ORDER BY key", -1, &s, NULL);
    if (rc != SQLITE_OK) {
        return store_err(st, rc, "log list");
    }
    err_code e = ERR_OK;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct log_head h;
        if ((e = log_row(s, &h)) != ERR_OK) {
            break;
        }
        if (h.damaged && !(flags & LOG_FOREACH_DAMAGED)) {
            e = ERR_CORRUPT_HERE;
            break;
        }
        if ((e = fn(ctx, &h)) != ERR_OK) {
            break;
        }
    }
    if (e == ERR_OK && rc != SQLITE_DONE) {
        e = store_err(st, rc, "log list");
    }
    sqlite3_finalize(s);
    return e;
}
