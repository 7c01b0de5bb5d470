/*
 * Opening a replica home, and the local write path. A replica_txn collects changes as
 * protobuf-c structs in an arena; replica_txn_commit() gives the commit its clock (above the
 * replica's clock and above every register it overwrites, so a causally later edit always
 * wins), encodes it once, appends it to this device's log, signs the new checkpoint and merges
 * it, all in one SQLite transaction: either all of it is on disk or none of it.
 */
#include "replica.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cdht.pb-c.h"
#include "diag.h"
#include "domain.h"
#include "hlc.h"
#include "leaf.h"
#include "merge.h"
#include "merkle.h"
#include "store.h"

/* Arena chunks for one transaction's structs and copies; freed together. */
#define REPLICA_ARENA_CHUNK (64u * 1024u)

struct replica_arena_chunk {
    struct replica_arena_chunk *next;
    size_t used, cap;
    max_align_t data[];
};

struct replica_txn {
    struct replica *r;
    struct replica_arena_chunk *arena; /* owned */
    Cdht__Change **changes;            /* owned (realloc'd array) */
    uint8_t *fresh;                    /* per change: 1 when no row can exist */
    size_t n, cap;
    Cdht__Cert **certs; /* owned array; entries in the arena */
    size_t n_certs;
    Cdht__Revocation **revocations; /* owned array; entries in the arena */
    size_t n_revocations;
};

static void *
replica_alloc(struct replica_txn *t, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    struct replica_arena_chunk *c = t->arena;
    if (c == NULL || c->cap - c->used < n) {
        size_t cap = n > REPLICA_ARENA_CHUNK ? n : REPLICA_ARENA_CHUNK;
        c = malloc(sizeof *c + cap);
        if (c == NULL) {
            return NULL;
        }
        c->next = t->arena;
        c->used = 0;
        c->cap = cap;
        t->arena = c;
    }
    void *p = (uint8_t *)c->data + c->used;
    c->used += n;
    return p;
}

static char *
replica_strdup(struct replica_txn *t, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = replica_alloc(t, n);
    if (p != NULL) {
        memcpy(p, s, n);
    }
    return p;
}

static int
replica_path(char *out, size_t cap, const char *home, const char *file)
{
    int n = snprintf(out, cap, "%s/%s", home, file);
    return n > 0 && (size_t)n < cap;
}

static err_code
replica_lock(struct replica *r)
{
    char path[REPLICA_PATH_MAX];
    if (!replica_path(path, sizeof path, r->home, REPLICA_LOCK_FILE)) {
        return ERR_INVAL;
    }
    r->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (r->lock_fd < 0) {
        return err_from_errno(errno);
    }
    /* Bounded wait: poll a non-blocking lock rather than block forever behind a hung writer. */
    for (int waited = 0; waited <= REPLICA_LOCK_WAIT_MS; waited += 50) {
        if (flock(r->lock_fd, LOCK_EX | LOCK_NB) == 0) {
            return ERR_OK;
        }
        if (errno != EWOULDBLOCK) {
            return err_from_errno(errno);
        }
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    diag_error("REPLICA-BUSY", "another cdht process holds the replica's write lock");
    return ERR_AGAIN;
}

err_code
replica_hold(struct replica *r, int on)
{
    ASSERT(r->lock_fd >= 0);
    if (!on) {
        return flock(r->lock_fd, LOCK_UN) == 0 ? ERR_OK : err_from_errno(errno);
    }
    for (int waited = 0; waited <= REPLICA_LOCK_WAIT_MS; waited += 50) {
        if (flock(r->lock_fd, LOCK_EX | LOCK_NB) == 0) {
            return ERR_OK;
        }
        if (errno != EWOULDBLOCK) {
            return err_from_errno(errno);
        }
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    diag_error("REPLICA-BUSY", "another cdht process holds the replica's write lock");
    return ERR_AGAIN;
}

/* The citizen-id key of a deployment without a secret: derived from its network name. Anyone
 * who knows the name can test candidate numbers against a stored hash, so a deployment that
 * stores citizen ids should give every device the same secret (init --cid-key-file). */
static void
replica_cid_key(const char *network, uint8_t out[HASH_SIZE])
{
    static const char ctx[] = "cdht citizen-id v1";
    crypto_generichash(out, HASH_SIZE, (const uint8_t *)network, strlen(network),
                       (const uint8_t *)ctx, sizeof ctx - 1);
}

static err_code
replica_sign_checkpoint(struct replica *r, struct log_head *h)
{
    struct checkpoint cp;
    memset(&cp, 0, sizeof cp);
    memcpy(cp.origin, r->log_name, sizeof r->log_name);
    cp.size = h->size;
    log_root(h, cp.root);
    uint8_t note[NOTE_SIZE_MAX];
    size_t len = 0;
    err_code rc = note_sign_checkpoint(&cp, r->log_name, r->keys.sk, note, sizeof note, &len);
    if (rc != ERR_OK) {
        return rc;
    }
    return log_checkpoint_put(r->st, h, note, len, h->size);
}

/* 1 when the directory is empty, 0 when it holds anything, -1 when it cannot be read. */
static int
replica_dir_empty(const char *path)
{
    DIR *d = opendir(path);
    if (d == NULL) {
        return -1;
    }
    struct dirent *e;
    int empty = 1;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            empty = 0;
            break;
        }
    }
    closedir(d);
    return empty;
}

err_code
replica_init(const char *home, const struct replica_init_opts *o)
{
    err_code rc = ERR_OK;
    struct replica *r = NULL;
    char key_path[REPLICA_PATH_MAX], db_path[REPLICA_PATH_MAX];
    int created_dir = 0, wrote_key = 0;
    if (sodium_init() < 0) {
        return ERR_NOMEM;
    }
    if (!replica_path(key_path, sizeof key_path, home, REPLICA_KEY_FILE) ||
        !replica_path(db_path, sizeof db_path, home, REPLICA_DB_FILE)) {
        return ERR_INVAL;
    }
    if (mkdir(home, 0700) == 0) {
        created_dir = 1;
    } else if (errno == EEXIST) {
        struct stat sb;
        int empty = stat(home, &sb) == 0 && S_ISDIR(sb.st_mode) ? replica_dir_empty(home) : 0;
        if (empty < 0) {
            return err_from_errno(errno) == ERR_INVAL ? ERR_IO : err_from_errno(errno);
        }
        if (empty == 0) {
            return ERR_INVAL; /* exists and is not an empty directory */
        }
        if (chmod(home, 0700) != 0) {
            return err_from_errno(errno);
        }
    } else {
        return err_from_errno(errno);
    }
    if ((r = calloc(1, sizeof *r)) == NULL) {
        rc = ERR_NOMEM;
        goto out;
    }
    r->lock_fd = -1;
    snprintf(r->home, sizeof r->home, "%s", home);
    if ((rc = keys_generate(key_path, o->pass, o->pass_len, &r->keys)) != ERR_OK) {
        goto out;
    }
    wrote_key = 1;
    r->have_keys = 1;
    memcpy(r->pk, r->keys.pk, KEY_PUBLIC_SIZE);
    note_log_name(r->pk, r->log_name);
    if ((rc = store_open(&r->st, db_path, STORE_CREATE)) != ERR_OK) {
        goto out;
    }
    const char *network = o->network ? o->network : REPLICA_NETWORK_DEFAULT;
    if (o->cid_key != NULL) {
        memcpy(r->cid_key, o->cid_key, HASH_SIZE);
    } else {
        replica_cid_key(network, r->cid_key);
    }
    struct log_head self;
    if ((rc = store_begin(r->st)) != ERR_OK) {
        goto out;
    }
    if ((rc = store_meta_put(r->st, "unit", o->unit, strlen(o->unit))) != ERR_OK ||
        (rc = store_meta_put(r->st, "name", o->name ? o->name : "",
                             o->name ? strlen(o->name) : 0)) != ERR_OK ||
        (rc = store_meta_put(r->st, "network", network, strlen(network))) != ERR_OK ||
        (rc = store_meta_put(r->st, "device_key", r->pk, KEY_PUBLIC_SIZE)) != ERR_OK ||
        (rc = store_meta_put(r->st, "cid_key", r->cid_key, HASH_SIZE)) != ERR_OK ||
        (rc = store_meta_put(r->st, "hlc", "\0\0\0\0\0\0\0\0", 8)) != ERR_OK ||
        (rc = log_create(r->st, r->pk, &self)) != ERR_OK ||
        (rc = replica_sign_checkpoint(r, &self)) != ERR_OK ||
        ((o->root || o->trust_root != NULL) &&
         ((rc = trust_pin_root(r->st, o->root ? r->pk : o->trust_root)) != ERR_OK ||
          (rc = trust_reconcile(r->st, NULL)) != ERR_OK))) {
        store_rollback(r->st);
        goto out;
    }
    rc = store_commit(r->st);
out:
    if (r != NULL) {
        store_close(r->st);
        keys_wipe(&r->keys);
        free(r);
    }
    if (rc != ERR_OK) {
        /* Leave nothing half-made: a later init into the same path must work. */
        if (wrote_key) {
            unlink(key_path);
        }
        unlink(db_path);
        char extra[REPLICA_PATH_MAX + 8];
        snprintf(extra, sizeof extra, "%s-wal", db_path);
        unlink(extra);
        snprintf(extra, sizeof extra, "%s-shm", db_path);
        unlink(extra);
        if (created_dir) {
            rmdir(home);
        }
    }
    return rc;
}

/* The key in meta "cid_key", or the network-derived one. */
static err_code
replica_load_cid_key(struct replica *r, const char *network)
{
    size_t n = 0;
    err_code rc = store_meta_get(r->st, "cid_key", r->cid_key, HASH_SIZE, &n);
    if (rc == ERR_NOTFOUND) {
        replica_cid_key(network, r->cid_key);
        return ERR_OK;
    }
    return rc == ERR_OK && n != HASH_SIZE ? ERR_CORRUPT_HERE : rc;
}

/* Opens the database read-write once, which runs the migrations (store.c), and releases the
 * write lock again: a reader must not hold it. */
static err_code
replica_upgrade(struct replica *r, const char *db_path)
{
    ASSERT(r->lock_fd < 0);
    ASSERT(r->st == NULL);
    err_code rc = replica_lock(r);
    if (rc != ERR_OK) {
        return rc;
    }
    struct store *st = NULL;
    rc = store_open(&st, db_path, 0);
    store_close(st);
    close(r->lock_fd); /* releases the flock */
    r->lock_fd = -1;
    return rc;
}

err_code
replica_open(struct replica **out, const char *home, unsigned flags, const char *pass,
             size_t pass_len, const char **why)
{
    err_code rc = ERR_OK;
    char key_path[REPLICA_PATH_MAX], db_path[REPLICA_PATH_MAX];
    const char *reason = "the replica cannot be opened";
    *out = NULL;
    if (sodium_init() < 0) {
        return ERR_NOMEM;
    }
    struct replica *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return ERR_NOMEM;
    }
    r->lock_fd = -1;
    snprintf(r->home, sizeof r->home, "%s", home);
    if (!replica_path(key_path, sizeof key_path, home, REPLICA_KEY_FILE) ||
        !replica_path(db_path, sizeof db_path, home, REPLICA_DB_FILE)) {
        reason = "the home path is too long";
        rc = ERR_INVAL;
        goto out;
    }
    if (access(db_path, F_OK) != 0) {
        reason = "it is not a cdht replica (no replica.db; run cdht init)";
        rc = ERR_NOTFOUND;
        goto out;
    }
    if (flags & REPLICA_WRITE) {
        if ((rc = replica_lock(r)) != ERR_OK) {
            reason = rc == ERR_AGAIN ? "another cdht command is writing to it"
                                     : "its lock file cannot be opened";
            goto out;
        }
        if ((rc = keys_load(key_path, pass, pass_len, &r->keys)) != ERR_OK) {
            reason = rc == ERR_AUTH       ? "the device key is sealed: wrong or missing passphrase "
                                            "(--passphrase-file)"
                     : rc == ERR_INVAL    ? "the device key file is readable by others "
                                            "(chmod 600 HOME/key)"
                     : rc == ERR_CORRUPT  ? "the device key file is damaged"
                     : rc == ERR_NOTFOUND ? "the device key file is missing"
                                          : "the device key file cannot be read";
            goto out;
        }
        r->have_keys = 1;
    }
    rc = store_open(&r->st, db_path, (flags & REPLICA_WRITE) ? 0 : STORE_READONLY);
    if (rc == ERR_AGAIN && !(flags & REPLICA_WRITE)) {
        /* A replica written by an older cdht, opened to read: migrate it once, under the
         * write lock like any other write, then read it. */
        if ((rc = replica_upgrade(r, db_path)) == ERR_OK) {
            rc = store_open(&r->st, db_path, STORE_READONLY);
        }
    }
    if (rc != ERR_OK) {
        reason = rc == ERR_INVAL ? "the replica was written by a different cdht version"
                                 : "the replica database cannot be opened";
        goto out;
    }
    size_t n = 0;
    if ((rc = store_meta_get(r->st, "device_key", r->pk, KEY_PUBLIC_SIZE, &n)) != ERR_OK ||
        n != KEY_PUBLIC_SIZE) {
        reason = "the replica database is damaged (no device key recorded)";
        rc = rc == ERR_OK ? ERR_CORRUPT_HERE : rc;
        goto out;
    }
    if (r->have_keys && sodium_memcmp(r->pk, r->keys.pk, KEY_PUBLIC_SIZE) != 0) {
        reason = "the key file belongs to another replica";
        rc = ERR_AUTH;
        goto out;
    }
    note_log_name(r->pk, r->log_name);
    char network[REPLICA_META_SIZE_MAX];
    if ((rc = replica_meta(r, "network", network)) != ERR_OK) {
        reason = "the replica database is damaged (no network name recorded)";
        goto out;
    }
    if ((rc = replica_load_cid_key(r, network)) != ERR_OK) {
        reason = "the replica database is damaged (bad citizen-id key)";
        goto out;
    }
    uint8_t root[KEY_PUBLIC_SIZE];
    if ((rc = trust_root(r->st, root, &r->pinned)) != ERR_OK) {
        reason = "the replica database is damaged (bad root key)";
        goto out;
    }
    *out = r;
    r = NULL;
out:
    replica_close(r);
    if (why != NULL) {
        *why = rc == ERR_OK ? NULL : reason;
    }
    return rc;
}

void
replica_close(struct replica *r)
{
    if (r == NULL) {
        return;
    }
    trust_ctx_free(r->trust);
    store_close(r->st);
    keys_wipe(&r->keys);
    if (r->lock_fd >= 0) {
        close(r->lock_fd); /* releases the flock */
    }
    sodium_memzero(r, sizeof *r);
    free(r);
}

err_code
replica_meta(struct replica *r, const char *key, char buf[REPLICA_META_SIZE_MAX])
{
    size_t n = 0;
    err_code rc = store_meta_get(r->st, key, buf, REPLICA_META_SIZE_MAX - 1, &n);
    if (rc != ERR_OK) {
        return rc;
    }
    buf[n] = '\0';
    return ERR_OK;
}

err_code
replica_txn_new(struct replica *r, struct replica_txn **out)
{
    ASSERT(r->have_keys);
    *out = calloc(1, sizeof **out);
    if (*out == NULL) {
        return ERR_NOMEM;
    }
    (*out)->r = r;
    return ERR_OK;
}

void
replica_txn_free(struct replica_txn *t)
{
    if (t == NULL) {
        return;
    }
    while (t->arena != NULL) {
        struct replica_arena_chunk *next = t->arena->next;
        free(t->arena);
        t->arena = next;
    }
    free(t->changes);
    free(t->fresh);
    free(t->certs);
    free(t->revocations);
    free(t);
}

/* Grows a pointer array by one slot. */
static err_code
replica_grow(void ***arr, size_t n)
{
    if (n >= COMMIT_CERTS_MAX) {
        return ERR_MSGSIZE;
    }
    void **a = realloc(*arr, (n + 1) * sizeof *a);
    if (a == NULL) {
        return ERR_NOMEM;
    }
    *arr = a;
    return ERR_OK;
}

/* A copy of a device key in the arena, as a protobuf bytes field. */
static err_code
replica_subject(struct replica_txn *t, const uint8_t subject[KEY_PUBLIC_SIZE],
                ProtobufCBinaryData *out)
{
    uint8_t *key = replica_alloc(t, KEY_PUBLIC_SIZE);
    if (key == NULL) {
        return ERR_NOMEM;
    }
    memcpy(key, subject, KEY_PUBLIC_SIZE);
    out->data = key;
    out->len = KEY_PUBLIC_SIZE;
    return ERR_OK;
}

err_code
replica_txn_cert(struct replica_txn *t, const uint8_t subject[KEY_PUBLIC_SIZE], const char *role,
                 const char *unit, const char *expires, const char *name)
{
    err_code rc = replica_grow((void ***)&t->certs, t->n_certs);
    if (rc != ERR_OK) {
        return rc;
    }
    Cdht__Cert *ce = replica_alloc(t, sizeof *ce);
    if (ce == NULL) {
        return ERR_NOMEM;
    }
    cdht__cert__init(ce);
    if (replica_subject(t, subject, &ce->subject) != ERR_OK ||
        (ce->role = replica_strdup(t, role)) == NULL ||
        (ce->unit = replica_strdup(t, unit)) == NULL ||
        (expires != NULL && (ce->expires = replica_strdup(t, expires)) == NULL) ||
        (name != NULL && (ce->name = replica_strdup(t, name)) == NULL)) {
        return ERR_NOMEM;
    }
    t->certs[t->n_certs++] = ce;
    return ERR_OK;
}

err_code
replica_txn_revoke(struct replica_txn *t, const uint8_t subject[KEY_PUBLIC_SIZE], int has_last,
                   uint64_t last_index, const char *reason)
{
    err_code rc = replica_grow((void ***)&t->revocations, t->n_revocations);
    if (rc != ERR_OK) {
        return rc;
    }
    Cdht__Revocation *rv = replica_alloc(t, sizeof *rv);
    if (rv == NULL) {
        return ERR_NOMEM;
    }
    cdht__revocation__init(rv);
    if (replica_subject(t, subject, &rv->subject) != ERR_OK) {
        return ERR_NOMEM;
    }
    rv->has_last_index = has_last ? 1 : 0;
    rv->last_index = last_index;
    if (reason != NULL && (rv->reason = replica_strdup(t, reason)) == NULL) {
        return ERR_NOMEM;
    }
    t->revocations[t->n_revocations++] = rv;
    return ERR_OK;
}

/* Sets a cell's inline value from c (copied into the arena). */
static err_code
replica_value(struct replica_txn *t, const struct replica_cell *c, Cdht__Cell *cell)
{
    if (c->is_null) {
        return ERR_OK; /* no value: NULL */
    }
    switch (c->type) {
    case SCHEMA_INT:
        cell->value_case = CDHT__CELL__VALUE_I;
        cell->i = c->i;
        break;
    case SCHEMA_TEXT:
        cell->value_case = CDHT__CELL__VALUE_S;
        if ((cell->s = replica_strdup(t, c->s)) == NULL) {
            return ERR_NOMEM;
        }
        break;
    case SCHEMA_BLOB:
        cell->value_case = CDHT__CELL__VALUE_B;
        cell->b.len = c->b_len;
        if ((cell->b.data = replica_alloc(t, c->b_len ? c->b_len : 1)) == NULL) {
            return ERR_NOMEM;
        }
        memcpy(cell->b.data, c->b, c->b_len);
        break;
    }
    return ERR_OK;
}

/* Table and column names of our own schema are used in place (they live for the process);
 * other names, which only tests write, are copied. protobuf-c's structs want char *, but
 * packing never writes through them. */
static char *
replica_name(struct replica_txn *t, const char *name, const char *interned)
{
    return interned != NULL ? (char *)interned : replica_strdup(t, name);
}

/* The row's current scope value (its unit), copied into the arena; *out NULL when the row or
 * the value does not exist. */
static err_code
replica_scope_of(struct replica_txn *t, const struct schema_table *tb, const char *pk, char **out)
{
    char sql[160];
    *out = NULL;
    snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE %s=?1", tb->scope, tb->name, tb->pk);
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(t->r->st->db, sql, -1, &q, NULL);
    if (rc != SQLITE_OK) {
        return store_err(t->r->st, rc, "scope");
    }
    sqlite3_bind_text(q, 1, pk, -1, SQLITE_STATIC);
    err_code e = ERR_OK;
    if ((rc = sqlite3_step(q)) == SQLITE_ROW && sqlite3_column_type(q, 0) == SQLITE_TEXT) {
        if ((*out = replica_strdup(t, (const char *)sqlite3_column_text(q, 0))) == NULL) {
            e = ERR_NOMEM;
        }
    } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        e = store_err(t->r->st, rc, "scope");
    }
    sqlite3_finalize(q);
    return e;
}

err_code
replica_txn_put(struct replica_txn *t, const char *table, const char *pk, int exists,
                const struct replica_cell *cells, size_t n, int fresh)
{
    ASSERT(exists >= -1 && exists <= 1);
    ASSERT(n <= CHANGE_CELLS_MAX);
    if (t->n >= COMMIT_CHANGES_MAX) {
        return ERR_MSGSIZE;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        Cdht__Change **c = realloc(t->changes, cap * sizeof *c);
        if (c == NULL) {
            return ERR_NOMEM;
        }
        t->changes = c;
        uint8_t *f = realloc(t->fresh, cap);
        if (f == NULL) {
            return ERR_NOMEM;
        }
        t->fresh = f;
        t->cap = cap;
    }
    Cdht__Change *ch = replica_alloc(t, sizeof *ch);
    if (ch == NULL) {
        return ERR_NOMEM;
    }
    cdht__change__init(ch);
    const struct schema_table *tb = schema_table_find(table);
    if ((ch->table = replica_name(t, table, tb ? tb->name : NULL)) == NULL ||
        (ch->pk = replica_strdup(t, pk)) == NULL) {
        return ERR_NOMEM;
    }
    if (exists >= 0) {
        ch->has_exists = 1;
        ch->exists = exists;
    }
    /* With a pinned root every change to a scoped table names its unit, so that whether it
     * counts is a function of the leaf alone (node/trust.h): a change that does not set the
     * unit carries the row's current one. */
    char *scope_val = NULL;
    if (t->r->pinned && tb != NULL && tb->scope != NULL && !fresh) {
        int has = 0;
        for (size_t i = 0; i < n; i++) {
            has |= strcmp(cells[i].col, tb->scope) == 0;
        }
        err_code src = has ? ERR_OK : replica_scope_of(t, tb, pk, &scope_val);
        if (src != ERR_OK) {
            return src;
        }
    }
    struct replica_cell *all = (struct replica_cell *)cells;
    struct replica_cell more[CHANGE_CELLS_MAX];
    if (scope_val != NULL && n < CHANGE_CELLS_MAX) {
        if (n > 0) {
            memcpy(more, cells, n * sizeof *cells);
        }
        more[n++] = (struct replica_cell){.col = tb->scope, .type = SCHEMA_TEXT, .s = scope_val};
        all = more;
    }
    cells = all;
    if (n > 0) {
        Cdht__Cell *arr = replica_alloc(t, n * sizeof *arr);
        ch->cells = replica_alloc(t, n * sizeof *ch->cells);
        if (arr == NULL || ch->cells == NULL) {
            return ERR_NOMEM;
        }
        for (size_t i = 0; i < n; i++) {
            cdht__cell__init(&arr[i]);
            int c = tb != NULL ? schema_col_find(tb, cells[i].col) : -1;
            if ((arr[i].col = replica_name(t, cells[i].col, c >= 0 ? tb->cols[c].name : NULL)) ==
                    NULL ||
                replica_value(t, &cells[i], &arr[i]) != ERR_OK) {
                return ERR_NOMEM;
            }
            ch->cells[i] = &arr[i];
        }
        ch->n_cells = n;
    }
    t->fresh[t->n] = fresh ? 1 : 0;
    t->changes[t->n++] = ch;
    return ERR_OK;
}

/* Sets each cell's base (the clock of the value it overwrites) and returns the largest clock
 * among the registers the commit overwrites: the commit's clock must exceed it. */
static err_code
replica_txn_floor(struct replica_txn *t, uint64_t *floor)
{
    *floor = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->fresh[i]) {
            continue;
        }
        Cdht__Change *ch = t->changes[i];
        const struct schema_table *tb = schema_table_find(ch->table);
        if (tb == NULL) {
            continue; /* not ours (tests write such leaves): merge skips it too */
        }
        struct merge_clk regs[SCHEMA_COLS_MAX];
        int live = 0;
        err_code rc = merge_row_clocks(t->r->st, ch->table, ch->pk, regs, &live);
        if (rc == ERR_NOTFOUND) {
            continue;
        }
        if (rc != ERR_OK) {
            return rc;
        }
        if (ch->has_exists && regs[0].hlc > *floor) {
            *floor = regs[0].hlc;
        }
        for (size_t j = 0; j < ch->n_cells; j++) {
            int c = schema_col_find(tb, ch->cells[j]->col);
            if (c < 0) {
                continue;
            }
            uint64_t b = regs[c + 1].hlc;
            if (b != 0) {
                ch->cells[j]->has_base_hlc = 1;
                ch->cells[j]->base_hlc = b;
            }
            if (b > *floor) {
                *floor = b;
            }
        }
    }
    return ERR_OK;
}

static uint64_t
replica_u64_get(const uint8_t b[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = v << 8 | b[i];
    }
    return v;
}

static void
replica_u64_put(uint8_t b[8], uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(v >> (56 - 8 * i));
    }
}

err_code
replica_clock_get(struct replica *r, uint64_t *hlc)
{
    uint8_t hb[8];
    size_t hn = 0;
    err_code rc = store_meta_get(r->st, "hlc", hb, sizeof hb, &hn);
    *hlc = rc == ERR_OK && hn == 8 ? replica_u64_get(hb) : 0;
    return rc;
}

err_code
replica_clock_put(struct replica *r, uint64_t hlc)
{
    uint8_t hb[8];
    replica_u64_put(hb, hlc);
    return store_meta_put(r->st, "hlc", hb, 8);
}

/* Loads this device's log head and the replica clock inside the open transaction. */
static err_code
replica_load_head(struct replica *r, struct log_head *self, uint64_t *hlc)
{
    err_code rc = log_get(r->st, r->pk, self);
    *hlc = 0;
    return rc == ERR_OK ? replica_clock_get(r, hlc) : rc;
}

/* Persists the head, signs its checkpoint and stores the clock: the end of a commit or of a
 * batch, inside the open transaction. */
static err_code
replica_seal(struct replica *r, struct log_head *self, uint64_t hlc)
{
    err_code rc;
    if ((rc = log_save(r->st, self)) != ERR_OK ||
        (rc = replica_sign_checkpoint(r, self)) != ERR_OK ||
        (rc = replica_clock_put(r, hlc)) != ERR_OK) {
        return rc;
    }
    return ERR_OK;
}

err_code
replica_batch_begin(struct replica *r)
{
    ASSERT(!r->batch);
    ASSERT(r->have_keys);
    err_code rc = store_begin(r->st);
    if (rc != ERR_OK) {
        return rc;
    }
    if ((rc = replica_load_head(r, &r->batch_head, &r->batch_hlc)) != ERR_OK) {
        store_rollback(r->st);
        return rc;
    }
    r->batch = 1;
    return ERR_OK;
}

err_code
replica_batch_commit(struct replica *r)
{
    ASSERT(r->batch);
    err_code rc = replica_seal(r, &r->batch_head, r->batch_hlc);
    if (rc == ERR_OK) {
        rc = store_commit(r->st);
    }
    if (rc != ERR_OK) {
        store_rollback(r->st);
    }
    r->batch = 0;
    return rc;
}

void
replica_batch_abort(struct replica *r)
{
    if (r->batch) {
        store_rollback(r->st);
        trust_ctx_reset(r->trust);
        r->batch = 0;
    }
}

err_code
replica_txn_commit(struct replica *r, struct replica_txn *t, uint64_t *index)
{
    err_code rc = ERR_OK;
    uint8_t *leaf = NULL;
    size_t leaf_len = 0;
    struct log_head own;
    struct log_head *self = r->batch ? &r->batch_head : &own;
    uint64_t last = r->batch_hlc, floor = 0, hlc = 0;
    ASSERT(t->r == r);
    ASSERT(r->have_keys);
    if (t->n + t->n_certs + t->n_revocations == 0) {
        replica_txn_free(t);
        return ERR_INVAL;
    }
    if (!r->batch) {
        if ((rc = store_begin(r->st)) != ERR_OK) {
            replica_txn_free(t);
            return rc;
        }
        if ((rc = replica_load_head(r, self, &last)) != ERR_OK) {
            goto out;
        }
    }
    if ((rc = replica_txn_floor(t, &floor)) != ERR_OK) {
        goto out;
    }
    /* Two clocks: the replica's own (advanced from its wall clock and what it observed) and
     * the commit's, which must also exceed every register it overwrites so that a causally
     * later edit wins even over a writer whose clock runs ahead. Only the first is kept as the
     * replica's clock: a far-ahead register must not drag it along (it would then refuse
     * every later local write as "clock behind"). */
    int64_t wall = hlc_wall_ms();
    uint64_t clock = 0;
    if ((rc = hlc_next(last, 0, wall, &clock)) != ERR_OK) {
        goto out;
    }
    hlc = clock > floor ? clock : floor + 1;
    if ((hlc >> HLC_COUNTER_BITS) > (uint64_t)HLC_MS_MAX) {
        rc = ERR_CLOCK; /* a register at the clock limit: nothing later can be written */
        goto out;
    }
    Cdht__Commit c = CDHT__COMMIT__INIT;
    c.hlc = hlc;
    c.wall_ms = wall;
    c.n_changes = t->n;
    c.changes = t->changes;
    c.n_certs = t->n_certs;
    c.certs = t->certs;
    c.n_revocations = t->n_revocations;
    c.revocations = t->revocations;
    if ((rc = leaf_validate(&c)) != ERR_OK) {
        rc = ERR_INVAL; /* our own caller built something no replica would accept */
        goto out;
    }
    if ((rc = leaf_encode(&c, &leaf, &leaf_len)) != ERR_OK) {
        goto out;
    }
    uint8_t hash[HASH_SIZE];
    merkle_leaf_hash(leaf, leaf_len, hash);
    uint64_t at = self->size;
    if (r->trust == NULL && (rc = trust_ctx_open(r->st, &r->trust)) != ERR_OK) {
        goto out;
    }
    if (!r->batch) {
        trust_ctx_reset(r->trust); /* another process may have reconciled since */
    }
    /* With a pinned root, a write this device's certificates do not cover is refused here
     * rather than written as a leaf that every replica, this one included, would only hold
     * in quarantine. */
    enum trust_reason why = TRUST_OK;
    char detail[TRUST_DETAIL_SIZE];
    if ((rc = trust_would_count(r->trust, self->id, at, &c, &why, detail)) != ERR_OK) {
        goto out;
    }
    /* Tests play a modified cdht that writes what it is not entitled to, to check that every
     * other replica holds it in quarantine (tests/scenario/trust_test.sh). */
    int unchecked = getenv("CDHT_TEST_UNCHECKED_WRITES") != NULL;
    if (unchecked) {
        why = TRUST_OK;
    }
    if (why != TRUST_OK && why != TRUST_PENDING) {
        snprintf(r->denied, sizeof r->denied, "%s: %s", trust_reason_name(why), detail);
        rc = ERR_DENIED;
        goto out;
    }
    int applied = 0, dirty = 0;
    if ((rc = log_append(r->st, self, leaf, leaf_len, hash, hlc, wall, 0)) != ERR_OK ||
        (rc = trust_admit(r->trust, self->id, at, &c, &applied, &dirty)) != ERR_OK ||
        (dirty && (rc = trust_reconcile(r->st, NULL)) != ERR_OK)) {
        goto out;
    }
    if (dirty) {
        trust_ctx_reset(r->trust);
    }
    /* The first answer above judged a trust leaf against the tree as stored; the evaluation in
     * rounds is the one that counts. A leaf of ours it holds is refused all the same: nothing
     * is kept (the caller's transaction rolls back). */
    if (!applied && !unchecked &&
        (rc = trust_held_why(r->st, log_leaf_rowid(self->id, at), &why, detail)) != ERR_OK) {
        goto out;
    }
    if (!applied && !unchecked && why != TRUST_OK) {
        snprintf(r->denied, sizeof r->denied, "%s: %s", trust_reason_name(why), detail);
        rc = ERR_DENIED;
        goto out;
    }
    if (r->batch) {
        r->batch_hlc = clock;
    } else if ((rc = replica_seal(r, self, clock)) != ERR_OK ||
               (rc = store_commit(r->st)) != ERR_OK) {
        goto out;
    }
    if (index != NULL) {
        *index = at;
    }
out:
    if (rc != ERR_OK && !r->batch) {
        store_rollback(r->st);
        trust_ctx_reset(r->trust);
    }
    free(leaf);
    replica_txn_free(t);
    return rc;
}

void
replica_new_id(char out[REPLICA_ID_SIZE + 1])
{
    /* 44 bits of milliseconds, then 36 bits that start random and count up within one
     * process: ids of one device never collide, ids of two devices collide only when both
     * draw the same 36 bits in the same millisecond, and new rows land at the right edge of
     * the primary-key b-tree instead of on a random page (a 1,000-row commit then touches a
     * handful of pages, not a thousand). */
    static const char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz"; /* Crockford base32 */
    static uint64_t last_ms, counter;
    uint64_t ms = (uint64_t)hlc_wall_ms() & ((1ull << 44) - 1);
    if (ms != last_ms || counter == 0) {
        uint64_t rnd = 0;
        randombytes_buf(&rnd, sizeof rnd);
        counter = rnd & ((1ull << 35) - 1); /* half the space: room to count up */
        last_ms = ms;
    }
    uint64_t lo = counter++ & ((1ull << 36) - 1);
    uint64_t hi = ms;
    /* 80 bits = hi (44) || lo (36), as 16 symbols of 5 bits, most significant first. */
    for (int i = (int)REPLICA_ID_SIZE - 1; i >= 0; i--) {
        out[i] = alphabet[lo & 31u];
        lo = (lo >> 5) | ((hi & 31u) << 31);
        hi >>= 5;
    }
    out[REPLICA_ID_SIZE] = '\0';
}
