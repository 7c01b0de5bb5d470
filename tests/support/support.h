/*
 * Helpers shared by the unit tests and the simulation: temporary directories (on /dev/shm when
 * it exists, so thousands of fsyncs stay cheap), replicas made through the real init path, and
 * small writes through the real commit path. Nothing here bypasses the code under test.
 */
#ifndef CDHT_TEST_SUPPORT_H
#define CDHT_TEST_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "limits.h"

struct replica;

/* A fresh temporary directory; the path is malloc'd. */
char *support_tmpdir(void);
/* rm -rf, for a directory support_tmpdir made. */
void support_rmrf(const char *path);
/* dir/name joined; the path is malloc'd (the caller frees it). */
char *support_path(const char *dir, const char *name);

/* init + open for writing; asserts success. */
struct replica *support_replica(const char *home, const char *unit);
struct replica *support_reopen(const char *home);

/* Writes one person through replica_txn (fresh id), returns the id in out. */
err_code support_person_add(struct replica *r, const char *name, int64_t year, const char *unit,
                            char out[17]) WARN_UNUSED;
err_code support_person_set_name(struct replica *r, const char *id, const char *name) WARN_UNUSED;
err_code support_person_rm(struct replica *r, const char *id) WARN_UNUSED;

/* The state digest as 64 hex characters. */
void support_state_hex(struct replica *r, char out[65]);
/* Leaves held across all logs. */
uint64_t support_total_leaves(struct replica *r);

/* Reads a whole file; malloc'd. */
uint8_t *support_slurp(const char *path, size_t *len);
void support_spit(const char *path, const uint8_t *buf, size_t len);

#endif
