/*
 * A replica home: the directory (0700) holding the device key (key, 0600), the SQLite replica
 * (replica.db) and a lock file. replica_open() ties them together for one command or one serve
 * loop; the local write path (DESIGN.md section 2) lives here: one replica_txn becomes one leaf
 * -> a new signed checkpoint -> merged rows, all inside one SQLite transaction.
 */
#ifndef CDHT_REPLICA_H
#define CDHT_REPLICA_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "keys.h"
#include "limits.h"
#include "log.h"
#include "note.h"
#include "schema.h"
#include "trust.h"

struct store;

/* Longest home path accepted (Linux PATH_MAX); longer is refused, not truncated. */
#define REPLICA_PATH_MAX 4096
#define REPLICA_KEY_FILE "key"
#define REPLICA_DB_FILE "replica.db"
#define REPLICA_LOCK_FILE "lock"
/* How long a writing command waits for another writer (a long import) before giving up. */
#define REPLICA_LOCK_WAIT_MS 30000
#define REPLICA_NETWORK_DEFAULT "cdht"
#define REPLICA_META_SIZE_MAX 256u

enum replica_flags {
    REPLICA_WRITE = 1u << 0, /* take the write lock, open read-write, load the key */
};

struct replica {
    char home[REPLICA_PATH_MAX];
    struct store *st;
    struct keys keys; /* secret: wiped in replica_close */
    int have_keys;
    uint8_t pk[KEY_PUBLIC_SIZE];
    char log_name[NOTE_LOG_NAME_SIZE + 1];
    uint8_t cid_key[HASH_SIZE]; /* key of the citizen-id hash (domain.h) */
    int lock_fd;                /* -1 when read-only */
    /* An open batch (replica_batch_begin): commits share one SQLite transaction. */
    int batch;
    struct log_head batch_head; /* this device's log as the batch has grown it */
    uint64_t batch_hlc;         /* the replica clock as the batch has advanced it */
    struct trust_ctx *trust;    /* admission state (node/trust.h), opened on first commit */
    int pinned;                 /* a root key is pinned (not open mode) */
    /* After ERR_DENIED from replica_txn_commit: why, as a sentence without payload. */
    char denied[TRUST_DETAIL_SIZE + 64];
};

struct replica_init_opts {
    const char *unit;    /* the device's unit code (required) */
    const char *name;    /* the device's human name (may be NULL) */
    const char *network; /* deployment name; NULL: REPLICA_NETWORK_DEFAULT */
    const char *pass;    /* passphrase sealing the key; NULL: unsealed */
    size_t pass_len;
    /* The deployment's secret key of citizen-id hashes (the same on every device, so that
     * duplicates are found across replicas); NULL: derived from the network name, which does
     * not keep the numbers secret from someone who knows the name (docs/DATA.md). */
    const uint8_t *cid_key;
    /* Trust (node/trust.h): root makes this device the deployment's root; otherwise a non-NULL
     * trust_root pins that key; neither leaves the replica in open mode. */
    int root;
    const uint8_t *trust_root;
};

/* Creates home (mode 0700; an existing directory must be empty), the key and the replica, and
 * signs the empty log's first checkpoint. On failure nothing is left behind. */
err_code replica_init(const char *home, const struct replica_init_opts *o) WARN_UNUSED;

/* Opens an existing home. With REPLICA_WRITE the key is loaded (pass may be NULL for an
 * unsealed key) and the write lock taken. ERR_NOTFOUND when home is not a replica. On failure
 * *why (when why is not NULL) is a static sentence saying what was wrong. */
err_code replica_open(struct replica **out, const char *home, unsigned flags, const char *pass,
                      size_t pass_len, const char **why) WARN_UNUSED;
void replica_close(struct replica *r);
/* The replica's hybrid logical clock (meta "hlc", 8 bytes big-endian), read and written inside
 * the caller's transaction by every path that appends leaves (commit, import, sync). */
err_code replica_clock_get(struct replica *r, uint64_t *hlc) WARN_UNUSED;
err_code replica_clock_put(struct replica *r, uint64_t hlc) WARN_UNUSED;
/* A long-running writer (cdht serve) lets go of the write lock between requests (on 0) and takes
 * it again for each (on 1; waits like replica_open, ERR_AGAIN after REPLICA_LOCK_WAIT_MS), so
 * that an operator's commands on the same home run meanwhile. Only for a REPLICA_WRITE open. */
err_code replica_hold(struct replica *r, int on) WARN_UNUSED;

/* Meta values set at init: "unit", "name", "network". NUL-terminated into buf. */
err_code replica_meta(struct replica *r, const char *key,
                      char buf[REPLICA_META_SIZE_MAX]) WARN_UNUSED;

/* A value for one cell of a local write. */
struct replica_cell {
    const char *col;
    enum schema_type type;
    int is_null;
    int64_t i;
    const char *s;
    const uint8_t *b;
    size_t b_len;
};

struct replica_txn;

err_code replica_txn_new(struct replica *r, struct replica_txn **out) WARN_UNUSED;
/* Adds a change to (table, pk): exists is 1 (create), 0 (delete) or -1 (untouched). fresh
 * says pk was generated for this change and no row can exist, which skips a lookup. Values are
 * copied. ERR_MSGSIZE beyond COMMIT_CHANGES_MAX changes. */
err_code replica_txn_put(struct replica_txn *t, const char *table, const char *pk, int exists,
                         const struct replica_cell *cells, size_t n, int fresh) WARN_UNUSED;
/* Commits: one leaf, one checkpoint, merged, in one SQLite transaction; frees t.
 * ERR_CLOCK when the wall clock is unusable (nothing written). *index receives the leaf's
 * index when index is not NULL. */
err_code replica_txn_commit(struct replica *r, struct replica_txn *t, uint64_t *index) WARN_UNUSED;
void replica_txn_free(struct replica_txn *t);
/* Adds a certificate (issuer: this device) for subject. role is a trust_role name; expires
 * (YYYY-MM-DD) and name may be NULL. Values are copied. */
err_code replica_txn_cert(struct replica_txn *t, const uint8_t subject[KEY_PUBLIC_SIZE],
                          const char *role, const char *unit, const char *expires,
                          const char *name) WARN_UNUSED;
/* Adds a revocation of subject: leaves after last_index stop counting (has_last 0: none counts).
 * reason may be NULL. */
err_code replica_txn_revoke(struct replica_txn *t, const uint8_t subject[KEY_PUBLIC_SIZE],
                            int has_last, uint64_t last_index, const char *reason) WARN_UNUSED;

/*
 * Batches, for bulk work that is one user action (importing a spreadsheet, the benchmark):
 * every replica_txn_commit between begin and commit is still its own leaf, but they share one
 * SQLite transaction and one signed checkpoint at the end, so the batch is durable, and
 * visible, all at once or not at all. After any error inside a batch, call
 * replica_batch_abort: nothing of the batch is kept.
 */
err_code replica_batch_begin(struct replica *r) WARN_UNUSED;
err_code replica_batch_commit(struct replica *r) WARN_UNUSED;
void replica_batch_abort(struct replica *r);

/* A new id for a row: 16 characters of Crockford base32 (80 bits: time, then random bits
 * counting up), so that devices that never talk to each other do not collide. */
#define REPLICA_ID_SIZE 16u
void replica_new_id(char out[REPLICA_ID_SIZE + 1]);

#endif
