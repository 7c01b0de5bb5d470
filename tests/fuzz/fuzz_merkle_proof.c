/*
 * Fuzz target for the Merkle proof verifiers and the frontier decoder in proto/merkle.c, which
 * check proofs and compact ranges that arrive from peers, bundles and disk. Arbitrary
 * (index, size, proof, roots) must never crash a verifier, and ERR_INVAL must mean exactly
 * "impossible arguments"; a tree built from the input must have every generated proof verify
 * and a corrupted one refused; a frontier that decodes must re-encode to the same bytes.
 */
#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "err.h"
#include "merkle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Leaves in the tree built from one input: enough for every proof shape up to depth 7, small
 * enough that one input costs well under a millisecond. */
#define FUZZ_TREE_LEAVES_MAX 128u

/* Reads the input front to back, yielding zero bytes once it is exhausted, so that every
 * input, however short, decodes to some arguments. */
struct fuzz_reader {
    const uint8_t *data;
    size_t size;
    size_t pos;
};

static uint8_t
fuzz_u8(struct fuzz_reader *r)
{
    return r->pos < r->size ? r->data[r->pos++] : 0;
}

static uint64_t
fuzz_u64(struct fuzz_reader *r)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++) {
        v = (v << 8) | fuzz_u8(r);
    }
    return v;
}

static void
fuzz_hash(struct fuzz_reader *r, uint8_t out[HASH_SIZE])
{
    for (unsigned i = 0; i < HASH_SIZE; i++) {
        out[i] = fuzz_u8(r);
    }
}

static uint8_t fuzz_leaves[FUZZ_TREE_LEAVES_MAX][HASH_SIZE];
static uint64_t fuzz_leaf_count;

static err_code
fuzz_leaf_cb(void *ctx, uint64_t index, uint8_t out[HASH_SIZE])
{
    (void)ctx;
    ASSERT(index < fuzz_leaf_count);
    memcpy(out, fuzz_leaves[index], HASH_SIZE);
    return ERR_OK;
}

/* Arbitrary arguments: the verifiers answer OK, AUTH or INVAL, INVAL exactly when the
 * arguments are impossible, and never read past count hashes. */
static void
fuzz_raw_verify(struct fuzz_reader *r)
{
    uint8_t proof[MERKLE_PROOF_HASHES_MAX + 1][HASH_SIZE];
    uint8_t a[HASH_SIZE];
    uint8_t b[HASH_SIZE];
    uint64_t x = fuzz_u64(r);
    uint64_t y = fuzz_u64(r);
    size_t count = fuzz_u8(r) % (MERKLE_PROOF_HASHES_MAX + 2);
    fuzz_hash(r, a);
    fuzz_hash(r, b);
    for (size_t i = 0; i < count; i++) {
        fuzz_hash(r, proof[i]);
    }
    const uint8_t(*cproof)[HASH_SIZE] = (const uint8_t(*)[HASH_SIZE])proof;
    int too_long = count > MERKLE_PROOF_HASHES_MAX;

    err_code rc = merkle_verify_inclusion(x, y, a, cproof, count, b);
    ASSERT(rc == ERR_OK || rc == ERR_AUTH || rc == ERR_INVAL);
    ASSERT((rc == ERR_INVAL) == (x >= y || too_long));

    rc = merkle_verify_consistency(x, y, a, b, cproof, count);
    ASSERT(rc == ERR_OK || rc == ERR_AUTH || rc == ERR_INVAL);
    ASSERT((rc == ERR_INVAL) == (x > y || too_long));
}

/* The input as a stored frontier: it decodes only when well formed, and then round-trips. */
static void
fuzz_frontier_decode(const uint8_t *data, size_t size)
{
    struct merkle_frontier f;
    uint8_t buf[MERKLE_FRONTIER_ENCODED_MAX];
    err_code rc = merkle_frontier_decode(data, size, &f);
    ASSERT(rc == ERR_OK || rc == ERR_CORRUPT);
    if (rc == ERR_OK) {
        size_t len = merkle_frontier_encode(&f, buf);
        ASSERT(len == size);
        ASSERT(memcmp(buf, data, size) == 0);
    }
}

/* A tree whose leaves are slices of the input: generated proofs verify, corrupted ones do
 * not, and the frontier agrees with the direct root and survives storage. */
static void
fuzz_tree(const uint8_t *data, size_t size, struct fuzz_reader *r)
{
    struct merkle_frontier f;
    struct merkle_frontier g;
    uint8_t proof[MERKLE_PROOF_HASHES_MAX][HASH_SIZE];
    uint8_t root[HASH_SIZE];
    uint8_t old_root[HASH_SIZE];
    uint8_t check[HASH_SIZE];
    uint8_t enc[MERKLE_FRONTIER_ENCODED_MAX];
    size_t count;
    const uint8_t(*cproof)[HASH_SIZE] = (const uint8_t(*)[HASH_SIZE])proof;

    uint64_t n = 1 + fuzz_u8(r) % FUZZ_TREE_LEAVES_MAX;
    uint64_t index = fuzz_u8(r) % n;
    uint64_t old_size = 1 + fuzz_u8(r) % n;
    unsigned flip = fuzz_u8(r);
    unsigned which = fuzz_u8(r);

    fuzz_leaf_count = n;
    merkle_frontier_init(&f);
    for (uint64_t i = 0; i < n; i++) {
        size_t lo = (size_t)(i * size / n);
        size_t hi = (size_t)((i + 1) * size / n);
        merkle_leaf_hash(size > 0 ? data + lo : NULL, hi - lo, fuzz_leaves[i]);
        merkle_frontier_push(&f, fuzz_leaves[i]);
    }
    merkle_frontier_root(&f, root);
    ASSERT(merkle_range_root(fuzz_leaf_cb, NULL, 0, n, check) == ERR_OK);
    ASSERT(memcmp(root, check, HASH_SIZE) == 0);
    size_t enc_len = merkle_frontier_encode(&f, enc);
    ASSERT(merkle_frontier_decode(enc, enc_len, &g) == ERR_OK);
    merkle_frontier_root(&g, check);
    ASSERT(g.size == n);
    ASSERT(memcmp(root, check, HASH_SIZE) == 0);

    ASSERT(merkle_inclusion_proof(fuzz_leaf_cb, NULL, index, n, proof, &count) == ERR_OK);
    ASSERT(merkle_verify_inclusion(index, n, fuzz_leaves[index], cproof, count, root) == ERR_OK);
    if (count > 0) {
        proof[which % count][(flip / 8) % HASH_SIZE] ^= (uint8_t)(1u << (flip % 8));
        ASSERT(merkle_verify_inclusion(index, n, fuzz_leaves[index], cproof, count, root) ==
               ERR_AUTH);
        proof[which % count][(flip / 8) % HASH_SIZE] ^= (uint8_t)(1u << (flip % 8));
    }
    root[(flip / 8) % HASH_SIZE] ^= (uint8_t)(1u << (flip % 8));
    ASSERT(merkle_verify_inclusion(index, n, fuzz_leaves[index], cproof, count, root) == ERR_AUTH);
    root[(flip / 8) % HASH_SIZE] ^= (uint8_t)(1u << (flip % 8));

    ASSERT(merkle_range_root(fuzz_leaf_cb, NULL, 0, old_size, old_root) == ERR_OK);
    ASSERT(merkle_consistency_proof(fuzz_leaf_cb, NULL, old_size, n, proof, &count) == ERR_OK);
    ASSERT(merkle_verify_consistency(old_size, n, old_root, root, cproof, count) == ERR_OK);
    if (count > 0) {
        proof[which % count][(flip / 8) % HASH_SIZE] ^= (uint8_t)(1u << (flip % 8));
        ASSERT(merkle_verify_consistency(old_size, n, old_root, root, cproof, count) == ERR_AUTH);
        proof[which % count][(flip / 8) % HASH_SIZE] ^= (uint8_t)(1u << (flip % 8));
    }
    old_root[(flip / 8) % HASH_SIZE] ^= (uint8_t)(1u << (flip % 8));
    ASSERT(merkle_verify_consistency(old_size, n, old_root, root, cproof, count) == ERR_AUTH);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    struct fuzz_reader r = {data, size, 0};
    if (!ready) {
        ASSERT(sodium_init() >= 0);
        ready = 1;
    }
    fuzz_raw_verify(&r);
    fuzz_frontier_decode(data, size);
    fuzz_tree(data, size, &r);
    return 0;
}
