/*
 * Test helpers (support.h). They call the same functions the cdht commands call.
 */
#include "support.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "merge.h"
#include "replica.h"
#include "store.h"

char *
support_tmpdir(void)
{
    struct stat sb;
    const char *base = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) ? "/dev/shm" : "/tmp";
    char *p = malloc(256);
    if (p == NULL) {
        cr_assert_fail("out of memory");
        return NULL;
    }
    snprintf(p, 256, "%s/cdht-test-XXXXXX", base);
    cr_assert(mkdtemp(p) != NULL, "mkdtemp failed");
    return p;
}

void
support_rmrf(const char *path)
{
    char cmd[512];
    cr_assert(strstr(path, "cdht-test-") != NULL, "refusing to remove %s", path);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    int rc = system(cmd);
    (void)rc;
}

char *
support_path(const char *dir, const char *name)
{
    char *p = malloc(512);
    cr_assert(p != NULL);
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

struct replica *
support_replica(const char *home, const char *unit)
{
    struct replica_init_opts o = {.unit = unit, .name = "test device"};
    err_code rc = replica_init(home, &o);
    cr_assert_eq(rc, ERR_OK, "replica_init: %s", err_str(rc));
    return support_reopen(home);
}

struct replica *
support_reopen(const char *home)
{
    struct replica *r = NULL;
    err_code rc = replica_open(&r, home, REPLICA_WRITE, NULL, 0, NULL);
    cr_assert_eq(rc, ERR_OK, "replica_open: %s", err_str(rc));
    return r;
}

err_code
support_person_add(struct replica *r, const char *name, int64_t year, const char *unit,
                   char out[17])
{
    struct replica_cell cells[] = {
        {.col = "name", .type = SCHEMA_TEXT, .s = name},
        {.col = "birth_year", .type = SCHEMA_INT, .i = year},
        {.col = "gender", .type = SCHEMA_TEXT, .s = "female"},
        {.col = "unit", .type = SCHEMA_TEXT, .s = unit},
    };
    struct replica_txn *t = NULL;
    replica_new_id(out);
    err_code rc = replica_txn_new(r, &t);
    if (rc != ERR_OK) {
        return rc;
    }
    if ((rc = replica_txn_put(t, "person", out, 1, cells, 4, 1)) != ERR_OK) {
        replica_txn_free(t);
        return rc;
    }
    return replica_txn_commit(r, t, NULL);
}

err_code
support_person_set_name(struct replica *r, const char *id, const char *name)
{
    struct replica_cell cell = {.col = "name", .type = SCHEMA_TEXT, .s = name};
    struct replica_txn *t = NULL;
    err_code rc = replica_txn_new(r, &t);
    if (rc != ERR_OK) {
        return rc;
    }
    if ((rc = replica_txn_put(t, "person", id, -1, &cell, 1, 0)) != ERR_OK) {
        replica_txn_free(t);
        return rc;
    }
    return replica_txn_commit(r, t, NULL);
}

err_code
support_person_rm(struct replica *r, const char *id)
{
    struct replica_txn *t = NULL;
    err_code rc = replica_txn_new(r, &t);
    if (rc != ERR_OK) {
        return rc;
    }
    if ((rc = replica_txn_put(t, "person", id, 0, NULL, 0, 0)) != ERR_OK) {
        replica_txn_free(t);
        return rc;
    }
    return replica_txn_commit(r, t, NULL);
}

void
support_state_hex(struct replica *r, char out[65])
{
    uint8_t h[HASH_SIZE];
    err_code rc = merge_state_hash(r->st, h);
    cr_assert_eq(rc, ERR_OK, "merge_state_hash: %s", err_str(rc));
    for (unsigned i = 0; i < HASH_SIZE; i++) {
        snprintf(out + 2 * i, 3, "%02x", h[i]);
    }
}

static err_code
support_count_visit(void *ctx, const struct log_head *h)
{
    *(uint64_t *)ctx += h->size;
    return ERR_OK;
}

uint64_t
support_total_leaves(struct replica *r)
{
    uint64_t n = 0;
    err_code rc = log_foreach(r->st, support_count_visit, &n);
    cr_assert_eq(rc, ERR_OK);
    return n;
}

uint8_t *
support_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    cr_assert(buf != NULL);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

void
support_spit(const char *path, const uint8_t *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert(f != NULL, "cannot create %s", path);
    cr_assert_eq(fwrite(buf, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}
