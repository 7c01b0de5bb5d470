/*
 * Unit tests for proto/merkle.c: RFC 6962 known-answer vectors, exhaustive generate-then-verify
 * over every tree of 1..64 leaves with every single-bit corruption refused, argument limits,
 * and the frontier's agreement with the direct root and its storage round trip.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <string.h>

#include "merkle.h"

/* The verifiers take const arrays of hashes; ISO C17 does not convert a pointer to a non-const
 * array implicitly (-Wpedantic says so), hence this cast at each call. */
#define CPROOF(p) ((const uint8_t(*)[HASH_SIZE])(p))

#define TREE_LEAVES_MAX 256u

struct tree {
    uint8_t leaf[TREE_LEAVES_MAX][HASH_SIZE];
    uint64_t size;
    uint64_t fail_at; /* the callback returns ERR_IO for this index; UINT64_MAX: never */
};

static err_code
tree_leaf_cb(void *ctx, uint64_t index, uint8_t out[HASH_SIZE])
{
    struct tree *t = ctx;
    if (index == t->fail_at) {
        return ERR_IO;
    }
    cr_assert_lt(index, t->size, "the module asked for a leaf outside the tree");
    memcpy(out, t->leaf[index], HASH_SIZE);
    return ERR_OK;
}

static void
suite_init(void)
{
    cr_assert_geq(sodium_init(), 0);
}

TestSuite(merkle, .init = suite_init);

static void
hex_to(const char *hex, uint8_t *out, size_t want)
{
    size_t n = 0;
    cr_assert_eq(sodium_hex2bin(out, want, hex, strlen(hex), NULL, &n, NULL), 0);
    cr_assert_eq(n, want);
}

/*
 * Known answers from transparency-dev/merkle, proof/verify_test.go (the RFC 6962 test tree that
 * google/certificate-transparency has used since its C++ days): the eight leaves, the roots of
 * the trees of 1..8 of them, and proofs. Indexes below are 0-based; the Go file lists leaves
 * 1-based ({1, 8} there is leaf 0 here).
 */
static const struct {
    const char *data;
    size_t len;
} kat_leaves[8] = {
    {"", 0},
    {"\x00", 1},
    {"\x10", 1},
    {"\x20\x21", 2},
    {"\x30\x31", 2},
    {"\x40\x41\x42\x43", 4},
    {"\x50\x51\x52\x53\x54\x55\x56\x57", 8},
    {"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f", 16},
};

static const char *const kat_roots[8] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static const struct {
    uint64_t index, size;
    size_t count;
    const char *proof[3];
} kat_inclusion[] = {
    {0, 1, 0, {NULL}},
    {0,
     8,
     3,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {5,
     8,
     3,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2, 3, 1, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {1,
     5,
     3,
     {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
};

static const struct {
    uint64_t old_size, new_size;
    size_t count;
    const char *proof[3];
} kat_consistency[] = {
    {1, 1, 0, {NULL}},
    {1,
     8,
     3,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6,
     8,
     3,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2,
     5,
     2,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
    {6,
     7,
     3,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};

static void
kat_tree(struct tree *t)
{
    memset(t, 0, sizeof *t);
    t->fail_at = UINT64_MAX;
    for (size_t i = 0; i < 8; i++) {
        merkle_leaf_hash((const uint8_t *)kat_leaves[i].data, kat_leaves[i].len, t->leaf[i]);
    }
    t->size = 8;
}

/* A tree of n leaves whose data are distinct, so every leaf hash differs. */
static void
test_tree(struct tree *t, uint64_t n)
{
    cr_assert_leq(n, TREE_LEAVES_MAX);
    memset(t, 0, sizeof *t);
    t->fail_at = UINT64_MAX;
    for (uint64_t i = 0; i < n; i++) {
        uint8_t data[3] = {'L', (uint8_t)(i >> 8), (uint8_t)i};
        merkle_leaf_hash(data, sizeof data, t->leaf[i]);
    }
    t->size = n;
}

static void
root_of(struct tree *t, uint64_t n, uint8_t out[HASH_SIZE])
{
    cr_assert_eq(merkle_range_root(tree_leaf_cb, t, 0, n, out), ERR_OK);
}

/* The empty tree's root is SHA-256 of nothing, from both the frontier and the range root. */
Test(merkle, empty_root)
{
    struct tree t;
    struct merkle_frontier f;
    uint8_t want[HASH_SIZE];
    uint8_t got[HASH_SIZE];
    kat_tree(&t);
    hex_to("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", want, HASH_SIZE);
    merkle_frontier_init(&f);
    merkle_frontier_root(&f, got);
    cr_assert_arr_eq(got, want, HASH_SIZE);
    cr_assert_eq(merkle_range_root(tree_leaf_cb, &t, 3, 3, got), ERR_OK);
    cr_assert_arr_eq(got, want, HASH_SIZE);
}

/* The roots of the RFC 6962 test tree at sizes 1..8 match the published values. */
Test(merkle, kat_roots)
{
    struct tree t;
    struct merkle_frontier f;
    uint8_t want[HASH_SIZE];
    uint8_t got[HASH_SIZE];
    kat_tree(&t);
    merkle_frontier_init(&f);
    for (size_t n = 1; n <= 8; n++) {
        hex_to(kat_roots[n - 1], want, HASH_SIZE);
        merkle_frontier_push(&f, t.leaf[n - 1]);
        merkle_frontier_root(&f, got);
        cr_assert_arr_eq(got, want, HASH_SIZE, "frontier root of size %zu", n);
        root_of(&t, n, got);
        cr_assert_arr_eq(got, want, HASH_SIZE, "range root of size %zu", n);
    }
}

/* Generated inclusion proofs equal the published ones, and the published ones verify. */
Test(merkle, kat_inclusion)
{
    struct tree t;
    uint8_t proof[MERKLE_PROOF_HASHES_MAX][HASH_SIZE];
    uint8_t want[3][HASH_SIZE];
    uint8_t root[HASH_SIZE];
    size_t count;
    kat_tree(&t);
    for (size_t v = 0; v < sizeof kat_inclusion / sizeof kat_inclusion[0]; v++) {
        uint64_t index = kat_inclusion[v].index;
        uint64_t size = kat_inclusion[v].size;
        for (size_t i = 0; i < kat_inclusion[v].count; i++) {
            hex_to(kat_inclusion[v].proof[i], want[i], HASH_SIZE);
        }
        hex_to(kat_roots[size - 1], root, HASH_SIZE);
        cr_assert_eq(merkle_inclusion_proof(tree_leaf_cb, &t, index, size, proof, &count), ERR_OK);
        cr_assert_eq(count, kat_inclusion[v].count, "vector %zu", v);
        for (size_t i = 0; i < count; i++) {
            cr_assert_arr_eq(proof[i], want[i], HASH_SIZE, "vector %zu hash %zu", v, i);
        }
        cr_assert_eq(merkle_verify_inclusion(index, size, t.leaf[index], CPROOF(want), count, root),
                     ERR_OK);
    }
}

/* Generated consistency proofs equal the published ones, and the published ones verify. */
Test(merkle, kat_consistency)
{
    struct tree t;
    uint8_t proof[MERKLE_PROOF_HASHES_MAX][HASH_SIZE];
    uint8_t want[3][HASH_SIZE];
    uint8_t old_root[HASH_SIZE];
    uint8_t new_root[HASH_SIZE];
    size_t count;
    kat_tree(&t);
    for (size_t v = 0; v < sizeof kat_consistency / sizeof kat_consistency[0]; v++) {
        uint64_t m = kat_consistency[v].old_size;
        uint64_t n = kat_consistency[v].new_size;
        for (size_t i = 0; i < kat_consistency[v].count; i++) {
            hex_to(kat_consistency[v].proof[i], want[i], HASH_SIZE);
        }
        hex_to(kat_roots[m - 1], old_root, HASH_SIZE);
        hex_to(kat_roots[n - 1], new_root, HASH_SIZE);
        cr_assert_eq(merkle_consistency_proof(tree_leaf_cb, &t, m, n, proof, &count), ERR_OK);
        cr_assert_eq(count, kat_consistency[v].count, "vector %zu", v);
        for (size_t i = 0; i < count; i++) {
            cr_assert_arr_eq(proof[i], want[i], HASH_SIZE, "vector %zu hash %zu", v, i);
        }
        cr_assert_eq(merkle_verify_consistency(m, n, old_root, new_root, CPROOF(want), count),
                     ERR_OK);
    }
}

/* The probes transparency-dev/merkle runs against each known proof (wrong index or size,
 * garbage before or after, a dropped hash, swapped roots) are all refused. */
Test(merkle, kat_probes_refused)
{
    struct tree t;
    uint8_t proof[MERKLE_PROOF_HASHES_MAX + 1][HASH_SIZE];
    uint8_t root[HASH_SIZE];
    uint8_t root6[HASH_SIZE];
    uint8_t root8[HASH_SIZE];
    size_t count;
    kat_tree(&t);
    /* Leaf 5 of 8. */
    hex_to(kat_roots[7], root, HASH_SIZE);
    cr_assert_eq(merkle_inclusion_proof(tree_leaf_cb, &t, 5, 8, proof, &count), ERR_OK);
    cr_assert_eq(merkle_verify_inclusion(4, 8, t.leaf[5], CPROOF(proof), count, root), ERR_AUTH);
    cr_assert_eq(merkle_verify_inclusion(6, 8, t.leaf[5], CPROOF(proof), count, root), ERR_AUTH);
    cr_assert_eq(merkle_verify_inclusion(7, 8, t.leaf[5], CPROOF(proof), count, root), ERR_AUTH);
    cr_assert_eq(merkle_verify_inclusion(5, 16, t.leaf[5], CPROOF(proof), count, root), ERR_AUTH);
    cr_assert_eq(merkle_verify_inclusion(5, 4, t.leaf[5], CPROOF(proof), count, root), ERR_INVAL);
    cr_assert_eq(merkle_verify_inclusion(5, 8, t.leaf[4], CPROOF(proof), count, root), ERR_AUTH);
    cr_assert_eq(merkle_verify_inclusion(5, 8, t.leaf[5], CPROOF(proof), count - 1, root),
                 ERR_AUTH);
    memcpy(proof[count], root, HASH_SIZE); /* trailing root */
    cr_assert_eq(merkle_verify_inclusion(5, 8, t.leaf[5], CPROOF(proof), count + 1, root),
                 ERR_AUTH);
    memmove(proof[1], proof[0], count * HASH_SIZE); /* preceding root */
    memcpy(proof[0], root, HASH_SIZE);
    cr_assert_eq(merkle_verify_inclusion(5, 8, t.leaf[5], CPROOF(proof), count + 1, root),
                 ERR_AUTH);

    /* 6 -> 8. */
    hex_to(kat_roots[5], root6, HASH_SIZE);
    hex_to(kat_roots[7], root8, HASH_SIZE);
    cr_assert_eq(merkle_consistency_proof(tree_leaf_cb, &t, 6, 8, proof, &count), ERR_OK);
    cr_assert_eq(merkle_verify_consistency(6, 8, root6, root8, CPROOF(proof), count), ERR_OK);
    cr_assert_eq(merkle_verify_consistency(5, 8, root6, root8, CPROOF(proof), count), ERR_AUTH);
    cr_assert_eq(merkle_verify_consistency(7, 8, root6, root8, CPROOF(proof), count), ERR_AUTH);
    cr_assert_eq(merkle_verify_consistency(4, 8, root6, root8, CPROOF(proof), count), ERR_AUTH);
    cr_assert_eq(merkle_verify_consistency(6, 16, root6, root8, CPROOF(proof), count), ERR_AUTH);
    cr_assert_eq(merkle_verify_consistency(6, 4, root6, root8, CPROOF(proof), count), ERR_INVAL);
    cr_assert_eq(merkle_verify_consistency(6, 8, root8, root6, CPROOF(proof), count), ERR_AUTH);
    cr_assert_eq(merkle_verify_consistency(6, 8, root6, root8, CPROOF(proof), 0), ERR_AUTH);
    cr_assert_eq(merkle_verify_consistency(6, 8, root6, root8, CPROOF(proof), count - 1), ERR_AUTH);
    memcpy(proof[count], root8, HASH_SIZE);
    cr_assert_eq(merkle_verify_consistency(6, 8, root6, root8, CPROOF(proof), count + 1), ERR_AUTH);
    memmove(proof[1], proof[0], count * HASH_SIZE);
    memcpy(proof[0], root6, HASH_SIZE);
    cr_assert_eq(merkle_verify_consistency(6, 8, root6, root8, CPROOF(proof), count + 1), ERR_AUTH);
}

/* Verifies an inclusion proof, then flips every bit of every proof hash, of the root and of
 * the leaf hash in turn: each single-bit change must be refused with ERR_AUTH. */
static void
check_inclusion_all_flips(uint64_t index, uint64_t size, uint8_t leaf[HASH_SIZE],
                          uint8_t proof[][HASH_SIZE], size_t count, uint8_t root[HASH_SIZE])
{
    cr_assert_eq(merkle_verify_inclusion(index, size, leaf, CPROOF(proof), count, root), ERR_OK,
                 "leaf %lu of %lu", (unsigned long)index, (unsigned long)size);
    for (size_t h = 0; h <= count + 1; h++) {
        uint8_t *target = h < count ? proof[h] : h == count ? root : leaf;
        for (unsigned bit = 0; bit < 8 * HASH_SIZE; bit++) {
            target[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            err_code rc = merkle_verify_inclusion(index, size, leaf, CPROOF(proof), count, root);
            target[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            /* A plain test first: this runs millions of times, the report only on failure. */
            if (rc != ERR_AUTH) {
                cr_assert_fail("leaf %lu of %lu, hash %zu, bit %u: %s", (unsigned long)index,
                               (unsigned long)size, h, bit, err_str(rc));
            }
        }
    }
}

/* Every inclusion proof in every tree of lo..hi leaves verifies, and no corruption of one bit
 * does; a proof one hash short or long is refused too. */
static void
inclusion_exhaustive(uint64_t lo, uint64_t hi)
{
    struct tree t;
    uint8_t proof[MERKLE_PROOF_HASHES_MAX + 1][HASH_SIZE];
    uint8_t root[HASH_SIZE];
    uint8_t leaf[HASH_SIZE];
    size_t count;
    test_tree(&t, hi);
    for (uint64_t size = lo; size <= hi; size++) {
        root_of(&t, size, root);
        for (uint64_t index = 0; index < size; index++) {
            cr_assert_eq(merkle_inclusion_proof(tree_leaf_cb, &t, index, size, proof, &count),
                         ERR_OK);
            cr_assert_leq(count, 7);
            memcpy(leaf, t.leaf[index], HASH_SIZE);
            check_inclusion_all_flips(index, size, leaf, proof, count, root);
            if (count > 0) {
                cr_assert_eq(
                    merkle_verify_inclusion(index, size, leaf, CPROOF(proof), count - 1, root),
                    ERR_AUTH);
            }
            memcpy(proof[count], root, HASH_SIZE);
            cr_assert_eq(merkle_verify_inclusion(index, size, leaf, CPROOF(proof), count + 1, root),
                         ERR_AUTH);
        }
    }
}

Test(merkle, inclusion_exhaustive_1_32)
{
    inclusion_exhaustive(1, 32);
}

Test(merkle, inclusion_exhaustive_33_48)
{
    inclusion_exhaustive(33, 48);
}

Test(merkle, inclusion_exhaustive_49_64)
{
    inclusion_exhaustive(49, 64);
}

/* Verifies a consistency proof, then flips every bit of every proof hash and of both roots. */
static void
check_consistency_all_flips(uint64_t m, uint64_t n, uint8_t old_root[HASH_SIZE],
                            uint8_t new_root[HASH_SIZE], uint8_t proof[][HASH_SIZE], size_t count)
{
    cr_assert_eq(merkle_verify_consistency(m, n, old_root, new_root, CPROOF(proof), count), ERR_OK,
                 "%lu -> %lu", (unsigned long)m, (unsigned long)n);
    for (size_t h = 0; h < count + 2; h++) {
        uint8_t *target = h < count ? proof[h] : h == count ? old_root : new_root;
        for (unsigned bit = 0; bit < 8 * HASH_SIZE; bit++) {
            target[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            err_code rc = merkle_verify_consistency(m, n, old_root, new_root, CPROOF(proof), count);
            target[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            if (rc != ERR_AUTH) {
                cr_assert_fail("%lu -> %lu, hash %zu, bit %u: %s", (unsigned long)m,
                               (unsigned long)n, h, bit, err_str(rc));
            }
        }
    }
}

/* Every consistency proof between trees of 1..64 leaves (new sizes lo..hi) verifies, and no
 * corruption of one bit does; a truncated or extended proof is refused too. */
static void
consistency_exhaustive(uint64_t lo, uint64_t hi)
{
    struct tree t;
    uint8_t proof[MERKLE_PROOF_HASHES_MAX + 1][HASH_SIZE];
    uint8_t roots[TREE_LEAVES_MAX + 1][HASH_SIZE];
    uint8_t old_root[HASH_SIZE];
    uint8_t new_root[HASH_SIZE];
    size_t count;
    test_tree(&t, hi);
    for (uint64_t n = 1; n <= hi; n++) {
        root_of(&t, n, roots[n]);
    }
    for (uint64_t n = lo; n <= hi; n++) {
        for (uint64_t m = 1; m <= n; m++) {
            cr_assert_eq(merkle_consistency_proof(tree_leaf_cb, &t, m, n, proof, &count), ERR_OK);
            cr_assert_leq(count, 8);
            cr_assert(m != n || count == 0);
            memcpy(old_root, roots[m], HASH_SIZE);
            memcpy(new_root, roots[n], HASH_SIZE);
            check_consistency_all_flips(m, n, old_root, new_root, proof, count);
            if (count > 0) {
                cr_assert_eq(
                    merkle_verify_consistency(m, n, old_root, new_root, CPROOF(proof), count - 1),
                    ERR_AUTH);
            }
            memcpy(proof[count], new_root, HASH_SIZE);
            cr_assert_eq(
                merkle_verify_consistency(m, n, old_root, new_root, CPROOF(proof), count + 1),
                ERR_AUTH);
        }
    }
}

Test(merkle, consistency_exhaustive_1_32)
{
    consistency_exhaustive(1, 32);
}

Test(merkle, consistency_exhaustive_33_48)
{
    consistency_exhaustive(33, 48);
}

Test(merkle, consistency_exhaustive_49_56)
{
    consistency_exhaustive(49, 56);
}

Test(merkle, consistency_exhaustive_57_64)
{
    consistency_exhaustive(57, 64);
}

/* Impossible inclusion arguments are ERR_INVAL: an index outside the tree, an empty tree, and
 * a proof longer than any tree has; a proof at the length limit is merely wrong. */
Test(merkle, verify_inclusion_refuses_impossible_args)
{
    uint8_t proof[MERKLE_PROOF_HASHES_MAX + 1][HASH_SIZE];
    uint8_t leaf[HASH_SIZE];
    uint8_t root[HASH_SIZE];
    memset(proof, 0x5a, sizeof proof);
    merkle_leaf_hash((const uint8_t *)"x", 1, leaf);
    memcpy(root, leaf, HASH_SIZE);
    cr_assert_eq(merkle_verify_inclusion(0, 0, leaf, CPROOF(proof), 0, root), ERR_INVAL);
    cr_assert_eq(merkle_verify_inclusion(1, 1, leaf, CPROOF(proof), 0, root), ERR_INVAL);
    cr_assert_eq(merkle_verify_inclusion(5, 3, leaf, CPROOF(proof), 2, root), ERR_INVAL);
    cr_assert_eq(merkle_verify_inclusion(UINT64_MAX, UINT64_MAX, leaf, CPROOF(proof), 64, root),
                 ERR_INVAL);
    cr_assert_eq(
        merkle_verify_inclusion(0, 1, leaf, CPROOF(proof), MERKLE_PROOF_HASHES_MAX + 1, root),
        ERR_INVAL);
    /* A tree of one leaf: the root is the leaf hash and the proof is empty. */
    cr_assert_eq(merkle_verify_inclusion(0, 1, leaf, NULL, 0, root), ERR_OK);
    cr_assert_eq(merkle_verify_inclusion(0, 1, leaf, CPROOF(proof), 1, root), ERR_AUTH);
    /* The largest trees: no overflow, no crash, just a proof that does not verify. */
    cr_assert_eq(merkle_verify_inclusion(UINT64_MAX - 1, UINT64_MAX, leaf, CPROOF(proof),
                                         MERKLE_PROOF_HASHES_MAX, root),
                 ERR_AUTH);
    cr_assert_eq(merkle_verify_inclusion(0, UINT64_MAX, leaf, CPROOF(proof), 64, root), ERR_AUTH);
    cr_assert_eq(
        merkle_verify_inclusion(UINT64_C(1) << 63, UINT64_MAX, leaf, CPROOF(proof), 63, root),
        ERR_AUTH);
}

/* Impossible consistency arguments are ERR_INVAL; the degenerate sizes RFC 9162 leaves out
 * (equal sizes, an empty old tree) verify only with an empty proof and matching roots. */
Test(merkle, verify_consistency_refuses_impossible_args)
{
    uint8_t proof[MERKLE_PROOF_HASHES_MAX + 1][HASH_SIZE];
    uint8_t a[HASH_SIZE];
    uint8_t b[HASH_SIZE];
    uint8_t empty[HASH_SIZE];
    memset(proof, 0xa5, sizeof proof);
    memset(a, 1, sizeof a);
    memset(b, 2, sizeof b);
    hex_to("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", empty, HASH_SIZE);
    cr_assert_eq(merkle_verify_consistency(2, 1, a, b, CPROOF(proof), 1), ERR_INVAL);
    cr_assert_eq(merkle_verify_consistency(1, 0, a, b, CPROOF(proof), 0), ERR_INVAL);
    cr_assert_eq(merkle_verify_consistency(UINT64_MAX, 1, a, b, CPROOF(proof), 0), ERR_INVAL);
    cr_assert_eq(merkle_verify_consistency(1, 2, a, b, CPROOF(proof), MERKLE_PROOF_HASHES_MAX + 1),
                 ERR_INVAL);
    /* Equal sizes. */
    cr_assert_eq(merkle_verify_consistency(7, 7, a, a, NULL, 0), ERR_OK);
    cr_assert_eq(merkle_verify_consistency(7, 7, a, b, NULL, 0), ERR_AUTH);
    cr_assert_eq(merkle_verify_consistency(7, 7, a, a, CPROOF(proof), 1), ERR_AUTH);
    /* From the empty tree. */
    cr_assert_eq(merkle_verify_consistency(0, 0, empty, empty, NULL, 0), ERR_OK);
    cr_assert_eq(merkle_verify_consistency(0, 9, empty, b, NULL, 0), ERR_OK);
    cr_assert_eq(merkle_verify_consistency(0, 9, a, b, NULL, 0), ERR_AUTH);
    cr_assert_eq(merkle_verify_consistency(0, 9, empty, b, CPROOF(proof), 1), ERR_AUTH);
    /* A growing tree needs a proof. */
    cr_assert_eq(merkle_verify_consistency(4, 9, a, b, NULL, 0), ERR_AUTH);
    cr_assert_eq(merkle_verify_consistency(3, 9, a, b, NULL, 0), ERR_AUTH);
    /* At the length limit, and the largest sizes: refused, no crash. */
    cr_assert_eq(merkle_verify_consistency(3, 9, a, b, CPROOF(proof), MERKLE_PROOF_HASHES_MAX),
                 ERR_AUTH);
    cr_assert_eq(merkle_verify_consistency(UINT64_C(1) << 63, UINT64_MAX, a, b, CPROOF(proof),
                                           MERKLE_PROOF_HASHES_MAX),
                 ERR_AUTH);
    cr_assert_eq(merkle_verify_consistency(UINT64_MAX - 1, UINT64_MAX, a, b, CPROOF(proof),
                                           MERKLE_PROOF_HASHES_MAX),
                 ERR_AUTH);
    cr_assert_eq(merkle_verify_consistency(1, UINT64_MAX, a, b, CPROOF(proof), 63), ERR_AUTH);
}

/* Proof generation refuses what has no proof: an index outside the tree, an empty old tree,
 * a shrinking tree, and trees beyond the 2^63 leaves limits.h sizes proofs for. */
Test(merkle, generate_refuses_impossible_args)
{
    struct tree t;
    uint8_t proof[MERKLE_PROOF_HASHES_MAX][HASH_SIZE];
    size_t count = 99;
    test_tree(&t, 8);
    cr_assert_eq(merkle_inclusion_proof(tree_leaf_cb, &t, 0, 0, proof, &count), ERR_INVAL);
    cr_assert_eq(count, 0);
    cr_assert_eq(merkle_inclusion_proof(tree_leaf_cb, &t, 8, 8, proof, &count), ERR_INVAL);
    cr_assert_eq(
        merkle_inclusion_proof(tree_leaf_cb, &t, 0, (UINT64_C(1) << 63) + 1, proof, &count),
        ERR_INVAL);
    cr_assert_eq(merkle_consistency_proof(tree_leaf_cb, &t, 0, 8, proof, &count), ERR_INVAL);
    cr_assert_eq(merkle_consistency_proof(tree_leaf_cb, &t, 0, 0, proof, &count), ERR_INVAL);
    cr_assert_eq(merkle_consistency_proof(tree_leaf_cb, &t, 5, 4, proof, &count), ERR_INVAL);
    cr_assert_eq(merkle_consistency_proof(tree_leaf_cb, &t, 1, UINT64_MAX, proof, &count),
                 ERR_INVAL);
    cr_assert_eq(merkle_consistency_proof(tree_leaf_cb, &t, 8, 8, proof, &count), ERR_OK);
    cr_assert_eq(count, 0);
    cr_assert_eq(merkle_range_root(tree_leaf_cb, &t, 5, 4, proof[0]), ERR_INVAL);
}

/* An error from the leaf source (an SQLite read in node/log.c) comes back unchanged. */
Test(merkle, leaf_source_error_propagates)
{
    struct tree t;
    uint8_t proof[MERKLE_PROOF_HASHES_MAX][HASH_SIZE];
    size_t count = 99;
    test_tree(&t, 16);
    t.fail_at = 11;
    cr_assert_eq(merkle_range_root(tree_leaf_cb, &t, 0, 16, proof[0]), ERR_IO);
    cr_assert_eq(merkle_inclusion_proof(tree_leaf_cb, &t, 2, 16, proof, &count), ERR_IO);
    cr_assert_eq(count, 0);
    cr_assert_eq(merkle_consistency_proof(tree_leaf_cb, &t, 3, 16, proof, &count), ERR_IO);
    cr_assert_eq(count, 0);
    /* A proof that needs no leaf past 11 does not touch it. */
    cr_assert_eq(merkle_range_root(tree_leaf_cb, &t, 0, 11, proof[0]), ERR_OK);
}

/* For every size 0..256 the frontier's root equals the root computed from all the leaves. */
Test(merkle, frontier_root_equals_range_root)
{
    struct tree t;
    struct merkle_frontier f;
    uint8_t a[HASH_SIZE];
    uint8_t b[HASH_SIZE];
    test_tree(&t, TREE_LEAVES_MAX);
    merkle_frontier_init(&f);
    for (uint64_t n = 0; n <= TREE_LEAVES_MAX; n++) {
        cr_assert_eq(f.size, n);
        merkle_frontier_root(&f, a);
        root_of(&t, n, b);
        cr_assert_arr_eq(a, b, HASH_SIZE, "size %lu", (unsigned long)n);
        if (n < TREE_LEAVES_MAX) {
            merkle_frontier_push(&f, t.leaf[n]);
        }
    }
}

/* encode then decode gives back the same frontier, for every size 0..256 and for the size with
 * all 64 bits set (the encoded length limit). */
Test(merkle, frontier_encode_decode_round_trip)
{
    struct tree t;
    struct merkle_frontier f;
    struct merkle_frontier g;
    uint8_t buf[MERKLE_FRONTIER_ENCODED_MAX];
    uint8_t a[HASH_SIZE];
    uint8_t b[HASH_SIZE];
    test_tree(&t, TREE_LEAVES_MAX);
    merkle_frontier_init(&f);
    for (uint64_t n = 0; n <= TREE_LEAVES_MAX; n++) {
        size_t len = merkle_frontier_encode(&f, buf);
        cr_assert_eq(len, 8 + (size_t)__builtin_popcountll(n) * HASH_SIZE);
        cr_assert_eq(merkle_frontier_decode(buf, len, &g), ERR_OK);
        cr_assert_eq(g.size, f.size);
        merkle_frontier_root(&f, a);
        merkle_frontier_root(&g, b);
        cr_assert_arr_eq(a, b, HASH_SIZE);
        /* The decoded frontier keeps growing like the original. */
        if (n < TREE_LEAVES_MAX) {
            merkle_frontier_push(&f, t.leaf[n]);
            merkle_frontier_push(&g, t.leaf[n]);
            merkle_frontier_root(&f, a);
            merkle_frontier_root(&g, b);
            cr_assert_arr_eq(a, b, HASH_SIZE);
        }
    }
    merkle_frontier_init(&f);
    f.size = UINT64_MAX;
    for (unsigned i = 0; i < MERKLE_FRONTIER_HASHES_MAX; i++) {
        memset(f.hash[i], (int)i, HASH_SIZE);
    }
    size_t len = merkle_frontier_encode(&f, buf);
    cr_assert_eq(len, MERKLE_FRONTIER_ENCODED_MAX);
    cr_assert_eq(merkle_frontier_decode(buf, len, &g), ERR_OK);
    cr_assert_eq(g.size, UINT64_MAX);
    cr_assert_arr_eq(g.hash, f.hash, sizeof f.hash);
}

/* decode refuses a wrong length (zero, short of the size field, one hash byte short or long,
 * one past the limit) and a hash count that is not popcount(size), all with ERR_CORRUPT. */
Test(merkle, frontier_decode_refuses_bad_lengths)
{
    struct merkle_frontier f;
    struct merkle_frontier g;
    uint8_t buf[MERKLE_FRONTIER_ENCODED_MAX + 1];
    uint8_t leaf[HASH_SIZE];
    memset(buf, 0, sizeof buf);
    cr_assert_eq(merkle_frontier_decode(buf, 0, &g), ERR_CORRUPT);
    cr_assert_eq(merkle_frontier_decode(NULL, 0, &g), ERR_CORRUPT);
    cr_assert_eq(merkle_frontier_decode(buf, 7, &g), ERR_CORRUPT);
    cr_assert_eq(merkle_frontier_decode(buf, 8, &g), ERR_OK); /* the empty tree */
    cr_assert_eq(g.size, 0);
    cr_assert_eq(merkle_frontier_decode(buf, 9, &g), ERR_CORRUPT);

    merkle_frontier_init(&f);
    merkle_leaf_hash((const uint8_t *)"a", 1, leaf);
    for (int i = 0; i < 7; i++) {
        merkle_frontier_push(&f, leaf); /* size 7: three hashes */
    }
    size_t len = merkle_frontier_encode(&f, buf);
    cr_assert_eq(len, 8 + 3 * HASH_SIZE);
    cr_assert_eq(merkle_frontier_decode(buf, len, &g), ERR_OK);
    cr_assert_eq(merkle_frontier_decode(buf, len - 1, &g), ERR_CORRUPT);
    cr_assert_eq(merkle_frontier_decode(buf, len + 1, &g), ERR_CORRUPT);
    cr_assert_eq(merkle_frontier_decode(buf, len - HASH_SIZE, &g), ERR_CORRUPT);
    cr_assert_eq(merkle_frontier_decode(buf, len + HASH_SIZE, &g), ERR_CORRUPT);
    buf[7] = 8; /* size 8 claims one hash, three follow */
    cr_assert_eq(merkle_frontier_decode(buf, len, &g), ERR_CORRUPT);
    cr_assert_eq(merkle_frontier_decode(buf, 8 + HASH_SIZE, &g), ERR_OK);
    memset(buf, 0xff, sizeof buf); /* size 2^64-1 with 64 hashes, then one byte too many */
    cr_assert_eq(merkle_frontier_decode(buf, MERKLE_FRONTIER_ENCODED_MAX, &g), ERR_OK);
    cr_assert_eq(merkle_frontier_decode(buf, MERKLE_FRONTIER_ENCODED_MAX + 1, &g), ERR_CORRUPT);
    cr_assert_eq(merkle_frontier_decode(buf, MERKLE_FRONTIER_ENCODED_MAX - 1, &g), ERR_CORRUPT);
}

/* The leaf and node hashes use the RFC 6962 prefixes 0x00 and 0x01, so a leaf whose data is
 * two hashes does not collide with the node over them. */
Test(merkle, leaf_and_node_are_domain_separated)
{
    uint8_t l[HASH_SIZE];
    uint8_t r[HASH_SIZE];
    uint8_t node[HASH_SIZE];
    uint8_t both[2 * HASH_SIZE];
    uint8_t leaf[HASH_SIZE];
    uint8_t plain[HASH_SIZE];
    memset(l, 0x11, sizeof l);
    memset(r, 0x22, sizeof r);
    memcpy(both, l, HASH_SIZE);
    memcpy(both + HASH_SIZE, r, HASH_SIZE);
    merkle_node_hash(l, r, node);
    merkle_leaf_hash(both, sizeof both, leaf);
    cr_assert_arr_neq(node, leaf, HASH_SIZE);
    /* node = SHA-256(0x01 || l || r), computed here without the module. */
    uint8_t pre[1 + 2 * HASH_SIZE];
    pre[0] = 0x01;
    memcpy(pre + 1, both, sizeof both);
    crypto_hash_sha256(plain, pre, sizeof pre);
    cr_assert_arr_eq(node, plain, HASH_SIZE);
}
