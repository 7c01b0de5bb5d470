/*
 * Unit tests for node/log.c on a real store (store_open in a fresh temporary directory): heads
 * (create, get, append, save, reopen), roots at every size against merkle.c computed from the
 * appended hashes, every inclusion and consistency proof up to 20 leaves verified with the
 * merkle verifiers, argument errors, checkpoints, leaf reads and their stored-size limits, key
 * order of log_foreach, LOG_SIZE_MAX, and damaged heads (refused, or shown to the audit).
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "merkle.h"
#include "store.h"
#include "support.h"

/* The verifiers take const arrays of hashes (see merkle_test.c). */
#define CPROOF(p) ((const uint8_t(*)[HASH_SIZE])(p))

TestSuite(log);

/* ---- helpers ------------------------------------------------------------------------------ */

struct fix {
    char *dir;
    char *path;
    struct store *st;
};

static void
fix_open(struct fix *f)
{
    f->dir = support_tmpdir();
    f->path = support_path(f->dir, "replica.db");
    cr_assert_eq(store_open(&f->st, f->path, STORE_CREATE), ERR_OK);
}

static void
fix_reopen(struct fix *f)
{
    store_close(f->st);
    f->st = NULL;
    cr_assert_eq(store_open(&f->st, f->path, 0), ERR_OK);
}

static void
fix_close(struct fix *f)
{
    store_close(f->st);
    support_rmrf(f->dir);
    free(f->path);
    free(f->dir);
}

static void
key_of(uint8_t key[KEY_PUBLIC_SIZE], uint8_t first, uint8_t fill)
{
    memset(key, fill, KEY_PUBLIC_SIZE);
    key[0] = first;
}

/* The leaf bytes of index i of a test log: distinct for every (tag, i). */
static size_t
leaf_bytes(unsigned tag, uint64_t i, uint8_t buf[64])
{
    int n = snprintf((char *)buf, 64, "leaf %u/%llu", tag, (unsigned long long)i);
    return (size_t)n;
}

struct hashes {
    uint8_t h[64][HASH_SIZE];
    uint64_t n;
};

static err_code
hashes_cb(void *ctx, uint64_t index, uint8_t out[HASH_SIZE])
{
    struct hashes *hs = ctx;
    cr_assert_lt(index, hs->n);
    memcpy(out, hs->h[index], HASH_SIZE);
    return ERR_OK;
}

/* Appends n leaves to h (in one transaction) and records their hashes in hs. */
static void
append_n(struct store *st, struct log_head *h, unsigned tag, uint64_t n, struct hashes *hs)
{
    cr_assert_eq(store_begin(st), ERR_OK);
    for (uint64_t i = 0; i < n; i++) {
        uint8_t data[64], hash[HASH_SIZE];
        size_t len = leaf_bytes(tag, h->size, data);
        merkle_leaf_hash(data, len, hash);
        if (hs != NULL) {
            cr_assert_lt(hs->n, 64);
            memcpy(hs->h[hs->n++], hash, HASH_SIZE);
        }
        cr_assert_eq(log_append(st, h, data, len, hash, 1000 + h->size, 5, 0), ERR_OK);
    }
    cr_assert_eq(log_save(st, h), ERR_OK);
    cr_assert_eq(store_commit(st), ERR_OK);
}

static const uint8_t empty_root[HASH_SIZE] = {
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
};

/* ---- heads -------------------------------------------------------------------------------- */

/* A created log reads back by key and by id with size 0 and the empty root; a key not held is
 * ERR_NOTFOUND, an id not held too; a second log with the same key is refused (ERR_DB). */
Test(log, create_get_notfound)
{
    struct fix f;
    fix_open(&f);
    uint8_t k1[KEY_PUBLIC_SIZE], k2[KEY_PUBLIC_SIZE];
    key_of(k1, 0x11, 0xaa);
    key_of(k2, 0x22, 0xaa);
    struct log_head h, g;
    cr_assert_eq(log_get(f.st, k1, &g), ERR_NOTFOUND);
    cr_assert_eq(log_create(f.st, k1, &h), ERR_OK);
    cr_assert_gt(h.id, 0);
    cr_assert_eq(h.size, 0);
    cr_assert_eq(memcmp(h.key, k1, KEY_PUBLIC_SIZE), 0);
    cr_assert_eq(log_get(f.st, k1, &g), ERR_OK);
    cr_assert_eq(g.id, h.id);
    cr_assert_eq(g.size, 0);
    cr_assert_eq(g.cp_size, 0);
    cr_assert_eq(g.damaged, 0);
    uint8_t root[HASH_SIZE];
    log_root(&g, root);
    cr_assert_eq(memcmp(root, empty_root, HASH_SIZE), 0);
    cr_assert_eq(log_get_by_id(f.st, h.id, &g), ERR_OK);
    cr_assert_eq(memcmp(g.key, k1, KEY_PUBLIC_SIZE), 0);
    cr_assert_eq(log_get(f.st, k2, &g), ERR_NOTFOUND);
    cr_assert_eq(log_get_by_id(f.st, h.id + 1, &g), ERR_NOTFOUND);
    cr_assert_eq(log_create(f.st, k1, &g), ERR_DB);
    uint8_t k[KEY_PUBLIC_SIZE];
    cr_assert_eq(log_key_of(f.st, h.id, k), ERR_OK);
    cr_assert_eq(memcmp(k, k1, KEY_PUBLIC_SIZE), 0);
    cr_assert_eq(log_key_of(f.st, h.id + 1, k), ERR_CORRUPT); /* an author id must exist */
    fix_close(&f);
}

/* Appends advance the head in memory only; log_save persists size and frontier, which read
 * back (after a reopen) with the same root, equal to merkle_frontier_root of the pushes. */
Test(log, append_save_persists)
{
    struct fix f;
    fix_open(&f);
    uint8_t key[KEY_PUBLIC_SIZE];
    key_of(key, 0x42, 0x01);
    struct log_head h, g;
    cr_assert_eq(log_create(f.st, key, &h), ERR_OK);
    struct merkle_frontier ref;
    merkle_frontier_init(&ref);
    uint8_t data[64], hash[HASH_SIZE];
    for (uint64_t i = 0; i < 13; i++) {
        size_t len = leaf_bytes(1, i, data);
        merkle_leaf_hash(data, len, hash);
        merkle_frontier_push(&ref, hash);
        cr_assert_eq(log_append(f.st, &h, data, len, hash, 7, 8, 0), ERR_OK);
        cr_assert_eq(h.size, i + 1);
    }
    cr_assert_eq(log_get(f.st, key, &g), ERR_OK);
    cr_assert_eq(g.size, 0, "log_append must not write the head");
    cr_assert_eq(log_save(f.st, &h), ERR_OK);
    fix_reopen(&f);
    cr_assert_eq(log_get(f.st, key, &g), ERR_OK);
    cr_assert_eq(g.size, 13);
    cr_assert_eq(g.frontier.size, 13);
    cr_assert_eq(memcmp(g.frontier.hash, ref.hash, 3 * HASH_SIZE), 0); /* popcount(13) = 3 */
    uint8_t r1[HASH_SIZE], r2[HASH_SIZE];
    log_root(&g, r1);
    merkle_frontier_root(&ref, r2);
    cr_assert_eq(memcmp(r1, r2, HASH_SIZE), 0);
    /* Appending continues from the stored head. */
    size_t len = leaf_bytes(1, 13, data);
    merkle_leaf_hash(data, len, hash);
    merkle_frontier_push(&ref, hash);
    cr_assert_eq(log_append(f.st, &g, data, len, hash, 7, 8, 0), ERR_OK);
    log_root(&g, r1);
    merkle_frontier_root(&ref, r2);
    cr_assert_eq(memcmp(r1, r2, HASH_SIZE), 0);
    fix_close(&f);
}

/* log_root is merkle_frontier_root, and log_root_at(s) for every s <= n equals merkle's range
 * root of the first s appended hashes; s > n is ERR_INVAL. */
Test(log, root_at_every_size)
{
    struct fix f;
    fix_open(&f);
    uint8_t key[KEY_PUBLIC_SIZE];
    key_of(key, 0x01, 0x02);
    struct log_head h, other;
    cr_assert_eq(log_create(f.st, key, &h), ERR_OK);
    key_of(key, 0x02, 0x02);
    cr_assert_eq(log_create(f.st, key, &other), ERR_OK);
    struct hashes hs = {.n = 0};
    for (uint64_t n = 1; n <= 21; n++) {
        append_n(f.st, &h, 1, 1, &hs);
        append_n(f.st, &other, 2, 1, NULL); /* interleaved leaves of another log */
        uint8_t a[HASH_SIZE], b[HASH_SIZE];
        log_root(&h, a);
        merkle_frontier_root(&h.frontier, b);
        cr_assert_eq(memcmp(a, b, HASH_SIZE), 0);
        for (uint64_t s = 0; s <= n; s++) {
            cr_assert_eq(log_root_at(f.st, &h, s, a), ERR_OK);
            cr_assert_eq(merkle_range_root(hashes_cb, &hs, 0, s, b), ERR_OK);
            cr_assert_eq(memcmp(a, b, HASH_SIZE), 0, "size %llu of %llu", (unsigned long long)s,
                         (unsigned long long)n);
        }
        cr_assert_eq(log_root_at(f.st, &h, n + 1, a), ERR_INVAL);
    }
    fix_close(&f);
}

/* Every inclusion proof (index < size <= 20) and every consistency proof (1 <= from <= to <= 20)
 * of a 20-leaf log verifies against log_root_at, and fails against a wrong root. */
Test(log, proofs_all_pairs)
{
    struct fix f;
    fix_open(&f);
    uint8_t key[KEY_PUBLIC_SIZE];
    key_of(key, 0x07, 0x07);
    struct log_head h;
    cr_assert_eq(log_create(f.st, key, &h), ERR_OK);
    struct hashes hs = {.n = 0};
    append_n(f.st, &h, 3, 20, &hs);
    uint8_t roots[21][HASH_SIZE];
    for (uint64_t s = 0; s <= 20; s++) {
        cr_assert_eq(log_root_at(f.st, &h, s, roots[s]), ERR_OK);
    }
    uint8_t proof[MERKLE_PROOF_HASHES_MAX][HASH_SIZE];
    size_t count = 0;
    for (uint64_t size = 1; size <= 20; size++) {
        for (uint64_t i = 0; i < size; i++) {
            cr_assert_eq(log_prove_inclusion(f.st, &h, i, size, proof, &count), ERR_OK);
            cr_assert_eq(
                merkle_verify_inclusion(i, size, hs.h[i], CPROOF(proof), count, roots[size]),
                ERR_OK, "leaf %llu in %llu", (unsigned long long)i, (unsigned long long)size);
            if (size > 1) {
                cr_assert_eq(merkle_verify_inclusion(i, size, hs.h[i], CPROOF(proof), count,
                                                     roots[size - 1]),
                             ERR_AUTH);
            }
        }
    }
    for (uint64_t to = 1; to <= 20; to++) {
        for (uint64_t from = 1; from <= to; from++) {
            cr_assert_eq(log_prove_consistency(f.st, &h, from, to, proof, &count), ERR_OK);
            cr_assert_eq(
                merkle_verify_consistency(from, to, roots[from], roots[to], CPROOF(proof), count),
                ERR_OK, "%llu -> %llu", (unsigned long long)from, (unsigned long long)to);
            if (from < to) {
                cr_assert_eq(merkle_verify_consistency(from, to, roots[from - 1], roots[to],
                                                       CPROOF(proof), count),
                             ERR_AUTH);
            }
        }
    }
    fix_close(&f);
}

/* Proof arguments outside the log are ERR_INVAL: index >= size, size > held, from 0, from > to,
 * to > held; the edges just inside are accepted. */
Test(log, proof_argument_errors)
{
    struct fix f;
    fix_open(&f);
    uint8_t key[KEY_PUBLIC_SIZE];
    key_of(key, 0x09, 0x09);
    struct log_head h;
    cr_assert_eq(log_create(f.st, key, &h), ERR_OK);
    uint8_t proof[MERKLE_PROOF_HASHES_MAX][HASH_SIZE];
    size_t count = 0;
    /* An empty log has nothing to prove. */
    cr_assert_eq(log_prove_inclusion(f.st, &h, 0, 0, proof, &count), ERR_INVAL);
    cr_assert_eq(log_prove_inclusion(f.st, &h, 0, 1, proof, &count), ERR_INVAL);
    cr_assert_eq(log_prove_consistency(f.st, &h, 0, 0, proof, &count), ERR_INVAL);
    append_n(f.st, &h, 4, 5, NULL);
    cr_assert_eq(log_prove_inclusion(f.st, &h, 4, 5, proof, &count), ERR_OK);
    cr_assert_eq(log_prove_inclusion(f.st, &h, 5, 5, proof, &count), ERR_INVAL);
    cr_assert_eq(log_prove_inclusion(f.st, &h, 3, 3, proof, &count), ERR_INVAL);
    cr_assert_eq(log_prove_inclusion(f.st, &h, 0, 6, proof, &count), ERR_INVAL);
    cr_assert_eq(log_prove_inclusion(f.st, &h, 0, 0, proof, &count), ERR_INVAL);
    cr_assert_eq(log_prove_consistency(f.st, &h, 1, 5, proof, &count), ERR_OK);
    cr_assert_eq(log_prove_consistency(f.st, &h, 5, 5, proof, &count), ERR_OK);
    cr_assert_eq(count, 0);
    cr_assert_eq(log_prove_consistency(f.st, &h, 0, 5, proof, &count), ERR_INVAL);
    cr_assert_eq(log_prove_consistency(f.st, &h, 4, 3, proof, &count), ERR_INVAL);
    cr_assert_eq(log_prove_consistency(f.st, &h, 1, 6, proof, &count), ERR_INVAL);
    cr_assert_eq(log_prove_consistency(f.st, &h, 6, 6, proof, &count), ERR_INVAL);
    uint8_t root[HASH_SIZE];
    cr_assert_eq(log_root_at(f.st, &h, 6, root), ERR_INVAL);
    fix_close(&f);
}

/* ---- checkpoints and leaves --------------------------------------------------------------- */

/* No checkpoint reads as ERR_NOTFOUND (also for a log id not held); a stored one reads back
 * byte for byte with its size, also at NOTE_SIZE_MAX bytes, and sets cp_size in the head. */
Test(log, checkpoint_round_trip)
{
    struct fix f;
    fix_open(&f);
    uint8_t key[KEY_PUBLIC_SIZE];
    key_of(key, 0x33, 0x33);
    struct log_head h, g;
    cr_assert_eq(log_create(f.st, key, &h), ERR_OK);
    uint8_t buf[NOTE_SIZE_MAX];
    size_t len = 0;
    uint64_t size = 99;
    cr_assert_eq(log_checkpoint_get(f.st, h.id, buf, &len, &size), ERR_NOTFOUND);
    cr_assert_eq(log_checkpoint_get(f.st, h.id + 1, buf, &len, &size), ERR_NOTFOUND);
    append_n(f.st, &h, 5, 3, NULL);
    static const char note[] = "cdht/test\n2\nroot\n\n- sig\n";
    cr_assert_eq(log_checkpoint_put(f.st, &h, (const uint8_t *)note, sizeof note - 1, 2), ERR_OK);
    cr_assert_eq(h.cp_size, 2);
    cr_assert_eq(log_checkpoint_get(f.st, h.id, buf, &len, &size), ERR_OK);
    cr_assert_eq(len, sizeof note - 1);
    cr_assert_eq(memcmp(buf, note, len), 0);
    cr_assert_eq(size, 2);
    cr_assert_eq(log_get(f.st, key, &g), ERR_OK);
    cr_assert_eq(g.cp_size, 2);
    /* A note at the limit. */
    uint8_t *big = malloc(NOTE_SIZE_MAX);
    cr_assert(big != NULL);
    for (size_t i = 0; i < NOTE_SIZE_MAX; i++) {
        big[i] = (uint8_t)i;
    }
    cr_assert_eq(log_checkpoint_put(f.st, &h, big, NOTE_SIZE_MAX, 3), ERR_OK);
    cr_assert_eq(log_checkpoint_get(f.st, h.id, buf, &len, &size), ERR_OK);
    cr_assert_eq(len, NOTE_SIZE_MAX);
    cr_assert_eq(memcmp(buf, big, NOTE_SIZE_MAX), 0);
    cr_assert_eq(size, 3);
    free(big);
    fix_close(&f);
}

/* A stored note that is empty or above NOTE_SIZE_MAX (written behind cdht's back) reads as
 * ERR_CORRUPT, never overflowing the caller's NOTE_SIZE_MAX buffer. */
Test(log, checkpoint_stored_size_limits)
{
    struct fix f;
    fix_open(&f);
    uint8_t key[KEY_PUBLIC_SIZE];
    key_of(key, 0x34, 0x34);
    struct log_head h;
    cr_assert_eq(log_create(f.st, key, &h), ERR_OK);
    uint8_t buf[NOTE_SIZE_MAX];
    size_t len = 0;
    uint64_t size = 0;
    cr_assert_eq(store_exec(f.st, "UPDATE log SET checkpoint=zeroblob(4097), cp_size=0"), ERR_OK);
    cr_assert_eq(log_checkpoint_get(f.st, h.id, buf, &len, &size), ERR_CORRUPT);
    cr_assert_eq(store_exec(f.st, "UPDATE log SET checkpoint=zeroblob(4096)"), ERR_OK);
    cr_assert_eq(log_checkpoint_get(f.st, h.id, buf, &len, &size), ERR_OK);
    cr_assert_eq(len, NOTE_SIZE_MAX);
    cr_assert_eq(store_exec(f.st, "UPDATE log SET checkpoint=x''"), ERR_OK);
    cr_assert_eq(log_checkpoint_get(f.st, h.id, buf, &len, &size), ERR_CORRUPT);
    fix_close(&f);
}

/* A leaf reads back byte for byte with its hash; an index not held, or a log not held, is
 * ERR_NOTFOUND for both the data and the hash. */
Test(log, leaf_read_and_missing)
{
    struct fix f;
    fix_open(&f);
    uint8_t k1[KEY_PUBLIC_SIZE], k2[KEY_PUBLIC_SIZE];
    key_of(k1, 0x50, 0x00);
    key_of(k2, 0x51, 0x00);
    struct log_head a, b;
    cr_assert_eq(log_create(f.st, k1, &a), ERR_OK);
    cr_assert_eq(log_create(f.st, k2, &b), ERR_OK);
    struct hashes hs = {.n = 0};
    append_n(f.st, &a, 6, 4, &hs);
    append_n(f.st, &b, 7, 2, NULL);
    for (uint64_t i = 0; i < 4; i++) {
        uint8_t *data = NULL, want[64], hash[HASH_SIZE];
        size_t len = 0, want_len = leaf_bytes(6, i, want);
        cr_assert_eq(log_leaf_read(f.st, a.id, i, &data, &len), ERR_OK);
        cr_assert_eq(len, want_len);
        cr_assert_eq(memcmp(data, want, len), 0);
        free(data);
        cr_assert_eq(log_leaf_hash(f.st, a.id, i, hash), ERR_OK);
        cr_assert_eq(memcmp(hash, hs.h[i], HASH_SIZE), 0);
    }
    uint8_t *data = (uint8_t *)"x";
    size_t len = 0;
    uint8_t hash[HASH_SIZE];
    cr_assert_eq(log_leaf_read(f.st, a.id, 4, &data, &len), ERR_NOTFOUND);
    cr_assert_null(data);
    cr_assert_eq(log_leaf_read(f.st, b.id, 2, &data, &len), ERR_NOTFOUND);
    cr_assert_eq(log_leaf_read(f.st, b.id + 1, 0, &data, &len), ERR_NOTFOUND);
    cr_assert_eq(log_leaf_hash(f.st, a.id, 4, hash), ERR_NOTFOUND);
    cr_assert_eq(log_leaf_hash(f.st, b.id + 1, 0, hash), ERR_NOTFOUND);
    fix_close(&f);
}

/* Stored leaf data is read only within 1..LEAF_SIZE_MAX bytes (ERR_CORRUPT outside), and a
 * stored hash of the wrong length is ERR_CORRUPT. */
Test(log, leaf_stored_size_limits)
{
    struct fix f;
    fix_open(&f);
    uint8_t key[KEY_PUBLIC_SIZE];
    key_of(key, 0x60, 0x00);
    struct log_head h;
    cr_assert_eq(log_create(f.st, key, &h), ERR_OK);
    append_n(f.st, &h, 8, 1, NULL);
    uint8_t *data = NULL, hash[HASH_SIZE];
    size_t len = 0;
    cr_assert_eq(store_exec(f.st, "UPDATE leaf SET data=zeroblob(1048576)"), ERR_OK);
    cr_assert_eq(log_leaf_read(f.st, h.id, 0, &data, &len), ERR_OK);
    cr_assert_eq(len, LEAF_SIZE_MAX);
    free(data);
    cr_assert_eq(store_exec(f.st, "UPDATE leaf SET data=zeroblob(1048577)"), ERR_OK);
    cr_assert_eq(log_leaf_read(f.st, h.id, 0, &data, &len), ERR_CORRUPT);
    cr_assert_eq(store_exec(f.st, "UPDATE leaf SET data=x''"), ERR_OK);
    cr_assert_eq(log_leaf_read(f.st, h.id, 0, &data, &len), ERR_CORRUPT);
    cr_assert_eq(store_exec(f.st, "UPDATE leaf SET hash=x'00'"), ERR_OK);
    cr_assert_eq(log_leaf_hash(f.st, h.id, 0, hash), ERR_CORRUPT);
    fix_close(&f);
}

/* A log may hold LOG_SIZE_MAX leaves: the append that reaches it succeeds and the next is
 * ERR_MSGSIZE; a stored head above it is damaged (ERR_CORRUPT). */
Test(log, log_size_max)
{
    struct fix f;
    fix_open(&f);
    uint8_t key[KEY_PUBLIC_SIZE];
    key_of(key, 0x70, 0x00);
    struct log_head h, g;
    cr_assert_eq(log_create(f.st, key, &h), ERR_OK);
    /* A head as if LOG_SIZE_MAX - 1 leaves were held: popcount(2^32 - 2) = 31 subtree roots. */
    h.size = LOG_SIZE_MAX - 1;
    h.frontier.size = LOG_SIZE_MAX - 1;
    for (unsigned i = 0; i < 31; i++) {
        memset(h.frontier.hash[i], (int)i + 1, HASH_SIZE);
    }
    uint8_t data[64], hash[HASH_SIZE];
    size_t len = leaf_bytes(9, h.size, data);
    merkle_leaf_hash(data, len, hash);
    cr_assert_eq(log_append(f.st, &h, data, len, hash, 1, 1, 0), ERR_OK);
    cr_assert_eq(h.size, LOG_SIZE_MAX);
    cr_assert_eq(log_append(f.st, &h, data, len, hash, 1, 1, 0), ERR_MSGSIZE);
    cr_assert_eq(h.size, LOG_SIZE_MAX);
    cr_assert_eq(log_save(f.st, &h), ERR_OK);
    cr_assert_eq(log_get(f.st, key, &g), ERR_OK);
    cr_assert_eq(g.size, LOG_SIZE_MAX);
    uint8_t *back = NULL;
    cr_assert_eq(log_leaf_read(f.st, h.id, LOG_SIZE_MAX - 1, &back, &len), ERR_OK);
    free(back);
    /* One more than the limit, with a frontier that agrees with it. */
    struct log_head over = h;
    over.size = LOG_SIZE_MAX + 1;
    over.frontier.size = LOG_SIZE_MAX + 1; /* 2^32: one subtree root */
    cr_assert_eq(log_save(f.st, &over), ERR_OK);
    cr_assert_eq(log_get(f.st, key, &g), ERR_CORRUPT);
    fix_close(&f);
}

/* ---- foreach and damaged heads ------------------------------------------------------------ */

struct visit {
    uint8_t keys[8][KEY_PUBLIC_SIZE];
    int damaged[8];
    uint64_t size[8];
    unsigned n;
    unsigned stop_after; /* return ERR_IO after this many visits; 0: never */
};

static err_code
visit_cb(void *ctx, const struct log_head *h)
{
    struct visit *v = ctx;
    cr_assert_lt(v->n, 8);
    memcpy(v->keys[v->n], h->key, KEY_PUBLIC_SIZE);
    v->damaged[v->n] = h->damaged;
    v->size[v->n] = h->size;
    v->n++;
    return v->stop_after != 0 && v->n == v->stop_after ? ERR_IO : ERR_OK;
}

/* log_foreach visits logs in key byte order (unsigned: 0x80 after 0x7f), not creation order,
 * and stops with the first error its callback returns. */
Test(log, foreach_key_order)
{
    struct fix f;
    fix_open(&f);
    static const uint8_t firsts[] = {0xff, 0x00, 0x80, 0x7f, 0x01};
    static const uint8_t fills[] = {0x00, 0xff, 0x00, 0xff, 0x00};
    for (size_t i = 0; i < sizeof firsts; i++) {
        uint8_t key[KEY_PUBLIC_SIZE];
        struct log_head h;
        key_of(key, firsts[i], fills[i]);
        cr_assert_eq(log_create(f.st, key, &h), ERR_OK);
        append_n(f.st, &h, (unsigned)i, i, NULL);
    }
    /* Two keys that differ only in their last byte. */
    uint8_t ka[KEY_PUBLIC_SIZE], kb[KEY_PUBLIC_SIZE];
    key_of(ka, 0x80, 0x00);
    ka[KEY_PUBLIC_SIZE - 1] = 0x01;
    key_of(kb, 0x80, 0x00);
    kb[KEY_PUBLIC_SIZE - 1] = 0x81;
    struct log_head h;
    cr_assert_eq(log_create(f.st, kb, &h), ERR_OK);
    cr_assert_eq(log_create(f.st, ka, &h), ERR_OK);
    struct visit v = {.n = 0};
    cr_assert_eq(log_foreach(f.st, visit_cb, &v), ERR_OK);
    cr_assert_eq(v.n, 7);
    for (unsigned i = 1; i < v.n; i++) {
        cr_assert_lt(memcmp(v.keys[i - 1], v.keys[i], KEY_PUBLIC_SIZE), 0, "visit %u", i);
    }
    cr_assert_eq(v.keys[0][0], 0x00);
    cr_assert_eq(v.size[0], 1); /* created second, with one leaf */
    cr_assert_eq(v.keys[6][0], 0xff);
    struct visit w = {.n = 0, .stop_after = 2};
    cr_assert_eq(log_foreach(f.st, visit_cb, &w), ERR_IO);
    cr_assert_eq(w.n, 2);
    fix_close(&f);
}

/* A head whose frontier does not decode (UPDATE log SET frontier=x'00') makes log_get and
 * log_get_by_id ERR_CORRUPT and stops log_foreach with ERR_CORRUPT, while
 * log_foreach_flags(LOG_FOREACH_DAMAGED) shows it, with damaged set, among the sound logs. */
Test(log, damaged_head)
{
    struct fix f;
    fix_open(&f);
    uint8_t k1[KEY_PUBLIC_SIZE], k2[KEY_PUBLIC_SIZE], k3[KEY_PUBLIC_SIZE];
    key_of(k1, 0x10, 0x00);
    key_of(k2, 0x20, 0x00);
    key_of(k3, 0x30, 0x00);
    struct log_head a, b, c, g;
    cr_assert_eq(log_create(f.st, k1, &a), ERR_OK);
    cr_assert_eq(log_create(f.st, k2, &b), ERR_OK);
    cr_assert_eq(log_create(f.st, k3, &c), ERR_OK);
    append_n(f.st, &b, 1, 3, NULL);
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE log SET frontier=x'00' WHERE id=%lld", (long long)b.id);
    cr_assert_eq(store_exec(f.st, sql), ERR_OK);
    cr_assert_eq(log_get(f.st, k2, &g), ERR_CORRUPT);
    cr_assert_eq(log_get_by_id(f.st, b.id, &g), ERR_CORRUPT);
    cr_assert_eq(log_get(f.st, k1, &g), ERR_OK);
    struct visit v = {.n = 0};
    cr_assert_eq(log_foreach(f.st, visit_cb, &v), ERR_CORRUPT);
    cr_assert_eq(v.n, 1, "the sound log before it was visited, nothing after");
    struct visit w = {.n = 0};
    cr_assert_eq(log_foreach_flags(f.st, LOG_FOREACH_DAMAGED, visit_cb, &w), ERR_OK);
    cr_assert_eq(w.n, 3);
    cr_assert_eq(memcmp(w.keys[1], k2, KEY_PUBLIC_SIZE), 0);
    cr_assert_eq(w.damaged[0], 0);
    cr_assert_eq(w.damaged[1], 1);
    cr_assert_eq(w.damaged[2], 0);
    cr_assert_eq(w.size[1], 3);
    fix_close(&f);
}

/* A frontier that decodes but disagrees with the stored size is damaged too. */
Test(log, damaged_head_size_mismatch)
{
    struct fix f;
    fix_open(&f);
    uint8_t key[KEY_PUBLIC_SIZE];
    key_of(key, 0x10, 0x00);
    struct log_head h, g;
    cr_assert_eq(log_create(f.st, key, &h), ERR_OK);
    append_n(f.st, &h, 1, 4, NULL);
    cr_assert_eq(store_exec(f.st, "UPDATE log SET size=5"), ERR_OK);
    cr_assert_eq(log_get(f.st, key, &g), ERR_CORRUPT);
    struct visit v = {.n = 0};
    cr_assert_eq(log_foreach(f.st, visit_cb, &v), ERR_CORRUPT);
    cr_assert_eq(v.n, 0);
    cr_assert_eq(log_foreach_flags(f.st, LOG_FOREACH_DAMAGED, visit_cb, &v), ERR_OK);
    cr_assert_eq(v.n, 1);
    cr_assert_eq(v.damaged[0], 1);
    fix_close(&f);
}
