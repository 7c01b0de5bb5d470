/*
 * RFC 6962 / RFC 9162 Merkle tree over SHA-256, the shape of every device log (DESIGN.md
 * section 3): leaf and node hashes, the compact range ("frontier") node/log.c keeps to append in
 * O(log n), proof generation from a leaf-hash callback, and proof verification for tools/ and
 * auditors. Nothing here recurses: RFC 6962's recursive PATH and SUBPROOF are unrolled into
 * loops that walk down from the root, and every loop is bounded by the 64 bits of a tree size.
 * libsodium must have been initialised (sodium_init) by the program before any call.
 */
#include "merkle.h"

#include "sha256.h"

#include <sodium.h>
#include <string.h>

/* Proof generation refuses trees above 2^63 leaves: limits.h sizes every proof buffer for that
 * (a consistency proof of a larger tree can need 65 hashes), and no device log comes near it. */
#define MERKLE_TREE_SIZE_MAX (UINT64_C(1) << 63)

/* Iterations of any loop that shifts or splits a 64-bit tree size: one per bit, plus one. */
#define MERKLE_DEPTH_BOUND 65u

/* RFC 6962 section 2.1 domain separation: a leaf can never be mistaken for an interior node. */
#define MERKLE_LEAF_PREFIX 0x00u
#define MERKLE_NODE_PREFIX 0x01u

static_assert(MERKLE_PROOF_HASHES_MAX >= 64u, "2^63 leaves need proofs of up to 64 hashes");
static_assert(MERKLE_FRONTIER_HASHES_MAX >= 64u, "a 64-bit size has up to 64 set bits");

void
merkle_leaf_hash(const uint8_t *data, size_t len, uint8_t out[HASH_SIZE])
{
    ASSERT(data != NULL || len == 0);
    sha256_prefixed(MERKLE_LEAF_PREFIX, data, len, NULL, 0, out);
}

void
merkle_node_hash(const uint8_t left[HASH_SIZE], const uint8_t right[HASH_SIZE],
                 uint8_t out[HASH_SIZE])
{
    uint8_t in[2 * HASH_SIZE];
    ASSERT(left != NULL);
    ASSERT(right != NULL);
    /* out may alias left or right: copy the inputs before it is written. */
    memcpy(in, left, HASH_SIZE);
    memcpy(in + HASH_SIZE, right, HASH_SIZE);
    sha256_prefixed(MERKLE_NODE_PREFIX, in, sizeof in, NULL, 0, out);
}

/* MTH({}) = SHA-256() (RFC 6962 section 2.1): the root of the empty tree. */
static void
merkle_empty_root(uint8_t out[HASH_SIZE])
{
    struct sha256 s;
    sha256_init(&s);
    sha256_final(&s, out);
}

static unsigned
merkle_popcount(uint64_t x)
{
    return (unsigned)__builtin_popcountll(x);
}

/* The largest power of two strictly below n (RFC 6962's k), for n >= 2. */
static uint64_t
merkle_split(uint64_t n)
{
    ASSERT(n >= 2);
    uint64_t k = UINT64_C(1) << (63 - __builtin_clzll(n - 1));
    ASSERT(k < n);
    ASSERT(2 * k >= n);
    return k;
}

static int
merkle_hash_equal(const uint8_t a[HASH_SIZE], const uint8_t b[HASH_SIZE])
{
    /* Roots are public, but sodium_memcmp keeps one comparison idiom across proto/ (STYLE 11). */
    return sodium_memcmp(a, b, HASH_SIZE) == 0;
}

void
merkle_frontier_init(struct merkle_frontier *f)
{
    ASSERT(f != NULL);
    memset(f, 0, sizeof *f);
}

/*
 * Appending is binary addition of 1 to the size: every trailing 1 bit of the old size is a
 * perfect subtree of the same height as the carry, so it merges into it, exactly as RFC 6962
 * would pair them once the right sibling is complete.
 */
void
merkle_frontier_push(struct merkle_frontier *f, const uint8_t leaf_hash[HASH_SIZE])
{
    uint8_t carry[HASH_SIZE];
    ASSERT(f != NULL);
    ASSERT(f->size < UINT64_MAX);
    unsigned n = merkle_popcount(f->size);
    uint64_t s = f->size;
    memcpy(carry, leaf_hash, HASH_SIZE);
    for (unsigned i = 0; i < MERKLE_DEPTH_BOUND && (s & 1u) != 0; i++) {
        ASSERT(n > 0);
        merkle_node_hash(f->hash[n - 1], carry, carry);
        n--;
        s >>= 1;
    }
    ASSERT(n < MERKLE_FRONTIER_HASHES_MAX);
    memcpy(f->hash[n], carry, HASH_SIZE);
    f->size++;
    ASSERT(merkle_popcount(f->size) == n + 1);
}

/* The right-edge subtrees fold right to left: RFC 6962 hangs each smaller one under the right
 * child of the next larger. */
void
merkle_frontier_root(const struct merkle_frontier *f, uint8_t out[HASH_SIZE])
{
    uint8_t r[HASH_SIZE];
    ASSERT(f != NULL);
    unsigned n = merkle_popcount(f->size);
    ASSERT(n <= MERKLE_FRONTIER_HASHES_MAX);
    if (n == 0) {
        merkle_empty_root(out);
        return;
    }
    memcpy(r, f->hash[n - 1], HASH_SIZE);
    for (unsigned i = n - 1; i > 0; i--) {
        merkle_node_hash(f->hash[i - 1], r, r);
    }
    memcpy(out, r, HASH_SIZE);
}

size_t
merkle_frontier_encode(const struct merkle_frontier *f, uint8_t out[MERKLE_FRONTIER_ENCODED_MAX])
{
    ASSERT(f != NULL);
    unsigned n = merkle_popcount(f->size);
    ASSERT(n <= MERKLE_FRONTIER_HASHES_MAX);
    for (unsigned i = 0; i < 8; i++) {
        out[i] = (uint8_t)(f->size >> (56 - 8 * i));
    }
    memcpy(out + 8, f->hash, (size_t)n * HASH_SIZE);
    size_t len = 8 + (size_t)n * HASH_SIZE;
    ASSERT(len <= MERKLE_FRONTIER_ENCODED_MAX);
    return len;
}

/* The stored form carries no checksum of its own: the length must be exactly what the size
 * implies, so a truncated or padded row is refused rather than read as a different tree. */
err_code
merkle_frontier_decode(const uint8_t *buf, size_t len, struct merkle_frontier *out)
{
    ASSERT(out != NULL);
    merkle_frontier_init(out);
    if (buf == NULL || len < 8 || len > MERKLE_FRONTIER_ENCODED_MAX) {
        return ERR_CORRUPT_HERE;
    }
    uint64_t size = 0;
    for (unsigned i = 0; i < 8; i++) {
        size = (size << 8) | buf[i];
    }
    unsigned n = merkle_popcount(size);
    if (len != 8 + (size_t)n * HASH_SIZE) {
        return ERR_CORRUPT_HERE;
    }
    out->size = size;
    memcpy(out->hash, buf + 8, (size_t)n * HASH_SIZE);
    ASSERT(merkle_popcount(out->size) <= MERKLE_FRONTIER_HASHES_MAX);
    return ERR_OK;
}

/* MTH(D[start:end]) is the root of a tree whose leaves are that slice, so a frontier fed the
 * slice computes it in one pass with O(log n) memory and no recursion. */
err_code
merkle_range_root(merkle_leaf_fn fn, void *ctx, uint64_t start, uint64_t end,
                  uint8_t out[HASH_SIZE])
{
    err_code rc = ERR_OK;
    struct merkle_frontier f;
    uint8_t leaf[HASH_SIZE];
    ASSERT(fn != NULL);
    ASSERT(out != NULL);
    if (start > end) {
        return ERR_INVAL;
    }
    merkle_frontier_init(&f);
    /* Bounded by the caller's range: this is the O(end - start) the header promises. */
    for (uint64_t i = start; i < end; i++) {
        rc = fn(ctx, i, leaf);
        if (rc != ERR_OK) {
            goto out;
        }
        merkle_frontier_push(&f, leaf);
    }
    ASSERT(f.size == end - start);
    merkle_frontier_root(&f, out);
out:
    return rc;
}

/* Copies the n hashes collected root-first into proof leaf-first, the order RFC 6962 lists. */
static void
merkle_reverse_into(uint8_t tmp[][HASH_SIZE], size_t n, uint8_t proof[][HASH_SIZE])
{
    ASSERT(n <= MERKLE_PROOF_HASHES_MAX);
    for (size_t i = 0; i < n; i++) {
        memcpy(proof[i], tmp[n - 1 - i], HASH_SIZE);
    }
}

/*
 * RFC 6962 PATH(m, D[lo:hi]) unrolled: each step of the recursion appends the root of the
 * sibling subtree and narrows [lo, hi) to the half that holds leaf m. The recursion emits the
 * deepest sibling first, so the loop collects root-first and reverses at the end.
 */
err_code
merkle_inclusion_proof(merkle_leaf_fn fn, void *ctx, uint64_t index, uint64_t size,
                       uint8_t proof[][HASH_SIZE], size_t *count)
{
    err_code rc = ERR_OK;
    uint8_t tmp[MERKLE_PROOF_HASHES_MAX][HASH_SIZE];
    size_t n = 0;
    uint64_t lo = 0;
    uint64_t hi = size;
    ASSERT(fn != NULL);
    ASSERT(count != NULL);
    *count = 0;
    if (index >= size || size > MERKLE_TREE_SIZE_MAX) {
        return ERR_INVAL;
    }
    for (unsigned depth = 0; depth < MERKLE_DEPTH_BOUND && hi - lo > 1; depth++) {
        uint64_t k = merkle_split(hi - lo);
        ASSERT(n < MERKLE_PROOF_HASHES_MAX);
        if (index < lo + k) {
            rc = merkle_range_root(fn, ctx, lo + k, hi, tmp[n]);
            hi = lo + k;
        } else {
            rc = merkle_range_root(fn, ctx, lo, lo + k, tmp[n]);
            lo = lo + k;
        }
        if (rc != ERR_OK) {
            goto out;
        }
        n++;
    }
    ASSERT(hi - lo == 1);
    ASSERT(lo == index);
    merkle_reverse_into(tmp, n, proof);
    *count = n;
out:
    return rc;
}

/*
 * RFC 6962 SUBPROOF(m, D[lo:hi], b) unrolled the same way. complete is the recursion's b: it
 * stays true while the old tree is still a left-aligned complete subtree of the range, in
 * which case the verifier already knows that subtree's root and it is left out.
 */
err_code
merkle_consistency_proof(merkle_leaf_fn fn, void *ctx, uint64_t old_size, uint64_t new_size,
                         uint8_t proof[][HASH_SIZE], size_t *count)
{
    err_code rc = ERR_OK;
    uint8_t tmp[MERKLE_PROOF_HASHES_MAX][HASH_SIZE];
    size_t n = 0;
    uint64_t lo = 0;
    uint64_t hi = new_size;
    int complete = 1;
    int done = 0;
    ASSERT(fn != NULL);
    ASSERT(count != NULL);
    *count = 0;
    if (old_size == 0 || old_size > new_size || new_size > MERKLE_TREE_SIZE_MAX) {
        return ERR_INVAL;
    }
    for (unsigned depth = 0; depth < MERKLE_DEPTH_BOUND; depth++) {
        /* Invariant: lo < old_size <= hi, so the range is never empty. */
        ASSERT(lo < old_size);
        ASSERT(old_size <= hi);
        if (old_size == hi) {
            if (!complete) {
                ASSERT(n < MERKLE_PROOF_HASHES_MAX);
                rc = merkle_range_root(fn, ctx, lo, hi, tmp[n]);
                if (rc != ERR_OK) {
                    goto out;
                }
                n++;
            }
            done = 1;
            break;
        }
        uint64_t k = merkle_split(hi - lo);
        ASSERT(n < MERKLE_PROOF_HASHES_MAX);
        if (old_size - lo <= k) {
            rc = merkle_range_root(fn, ctx, lo + k, hi, tmp[n]);
            hi = lo + k;
        } else {
            rc = merkle_range_root(fn, ctx, lo, lo + k, tmp[n]);
            lo = lo + k;
            complete = 0;
        }
        if (rc != ERR_OK) {
            goto out;
        }
        n++;
    }
    ASSERT(done);
    merkle_reverse_into(tmp, n, proof);
    *count = n;
out:
    return rc;
}

/* Shifts fn and sn right together until fn's low bit is set or fn is 0 (RFC 9162 wording). */
static void
merkle_shift_to_odd(uint64_t *fn, uint64_t *sn)
{
    for (unsigned i = 0; i < MERKLE_DEPTH_BOUND && (*fn & 1u) == 0 && *fn != 0; i++) {
        *fn >>= 1;
        *sn >>= 1;
    }
}

/* RFC 9162 section 2.1.3.2, step by step; the step numbers are the RFC's. */
err_code
merkle_verify_inclusion(uint64_t index, uint64_t size, const uint8_t leaf_hash[HASH_SIZE],
                        const uint8_t proof[][HASH_SIZE], size_t count,
                        const uint8_t root[HASH_SIZE])
{
    uint8_t r[HASH_SIZE];
    ASSERT(leaf_hash != NULL);
    ASSERT(root != NULL);
    /* 1. An index outside the tree, or a proof longer than any tree has, is not a proof. */
    if (index >= size || count > MERKLE_PROOF_HASHES_MAX) {
        return ERR_INVAL;
    }
    ASSERT(proof != NULL || count == 0);
    /* 2. and 3. */
    uint64_t fn = index;
    uint64_t sn = size - 1;
    memcpy(r, leaf_hash, HASH_SIZE);
    /* 4. */
    for (size_t i = 0; i < count; i++) {
        if (sn == 0) {
            return ERR_AUTH; /* the proof is longer than the path to the root */
        }
        if ((fn & 1u) != 0 || fn == sn) {
            merkle_node_hash(proof[i], r, r);
            merkle_shift_to_odd(&fn, &sn);
        } else {
            merkle_node_hash(r, proof[i], r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    /* 5. */
    if (sn != 0 || !merkle_hash_equal(r, root)) {
        return ERR_AUTH;
    }
    return ERR_OK;
}

/* Element i of RFC 9162's consistency_path after step 2 (old_root prepended when the old size
 * is a power of two), without copying the caller's array. */
static const uint8_t *
merkle_path_at(const uint8_t old_root[HASH_SIZE], const uint8_t proof[][HASH_SIZE], int prepended,
               size_t i)
{
    if (prepended) {
        return i == 0 ? old_root : proof[i - 1];
    }
    return proof[i];
}

/*
 * RFC 9162 section 2.1.4.2, step by step. The RFC leaves out two cases that checkpoints do
 * reach: equal sizes (the proof is empty and the roots must match), and an old size of 0,
 * which every tree extends (C2SP tlog-witness: the proof must be empty); there the old root
 * must be the empty tree's, so a bogus size-0 checkpoint is not waved through.
 */
err_code
merkle_verify_consistency(uint64_t old_size, uint64_t new_size, const uint8_t old_root[HASH_SIZE],
                          const uint8_t new_root[HASH_SIZE], const uint8_t proof[][HASH_SIZE],
                          size_t count)
{
    uint8_t fr[HASH_SIZE];
    uint8_t sr[HASH_SIZE];
    ASSERT(old_root != NULL);
    ASSERT(new_root != NULL);
    if (old_size > new_size || count > MERKLE_PROOF_HASHES_MAX) {
        return ERR_INVAL;
    }
    ASSERT(proof != NULL || count == 0);
    if (old_size == 0) {
        merkle_empty_root(fr);
        return count == 0 && merkle_hash_equal(fr, old_root) ? ERR_OK : ERR_AUTH;
    }
    if (old_size == new_size) {
        return count == 0 && merkle_hash_equal(old_root, new_root) ? ERR_OK : ERR_AUTH;
    }
    /* 1. */
    if (count == 0) {
        return ERR_AUTH;
    }
    /* 2. */
    int prepended = (old_size & (old_size - 1)) == 0;
    size_t total = count + (prepended ? 1u : 0u);
    /* 3. */
    uint64_t fn = old_size - 1;
    uint64_t sn = new_size - 1;
    /* 4. */
    for (unsigned i = 0; i < MERKLE_DEPTH_BOUND && (fn & 1u) != 0; i++) {
        fn >>= 1;
        sn >>= 1;
    }
    /* 5. */
    memcpy(fr, merkle_path_at(old_root, proof, prepended, 0), HASH_SIZE);
    memcpy(sr, fr, HASH_SIZE);
    /* 6. */
    for (size_t i = 1; i < total; i++) {
        const uint8_t *c = merkle_path_at(old_root, proof, prepended, i);
        if (sn == 0) {
            return ERR_AUTH; /* the proof is longer than the path to the new root */
        }
        if ((fn & 1u) != 0 || fn == sn) {
            merkle_node_hash(c, fr, fr);
            merkle_node_hash(c, sr, sr);
            merkle_shift_to_odd(&fn, &sn);
        } else {
            merkle_node_hash(sr, c, sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    /* 7. */
    if (sn != 0 || !merkle_hash_equal(fr, old_root) || !merkle_hash_equal(sr, new_root)) {
        return ERR_AUTH;
    }
    return ERR_OK;
}

err_code
merkle_consistency_proof_full(merkle_leaf_fn fn, void *ctx, uint64_t old_size, uint64_t new_size,
                              uint8_t proof[][HASH_SIZE], size_t *count)
{
    uint8_t tmp[MERKLE_PROOF_HASHES_MAX][HASH_SIZE];
    size_t n = 0;
    ASSERT(count != NULL);
    *count = 0;
    if (old_size == 0 || old_size >= new_size) {
        return ERR_INVAL;
    }
    err_code rc = merkle_consistency_proof(fn, ctx, old_size, new_size, tmp, &n);
    if (rc != ERR_OK) {
        return rc;
    }
    size_t at = 0;
    if ((old_size & (old_size - 1)) == 0) {
        if (n + 1 > MERKLE_PROOF_HASHES_MAX) {
            return ERR_INVAL; /* no tree cdht can hold gets here (LOG_SIZE_MAX) */
        }
        if ((rc = merkle_range_root(fn, ctx, 0, old_size, proof[0])) != ERR_OK) {
            return rc;
        }
        at = 1;
    }
    memcpy(proof[at], tmp, n * HASH_SIZE);
    *count = n + at;
    return ERR_OK;
}

err_code
merkle_consistency_roots(uint64_t old_size, uint64_t new_size, const uint8_t proof[][HASH_SIZE],
                         size_t count, uint8_t old_root[HASH_SIZE], uint8_t new_root[HASH_SIZE])
{
    uint8_t fr[HASH_SIZE];
    uint8_t sr[HASH_SIZE];
    ASSERT(old_root != NULL);
    ASSERT(new_root != NULL);
    if (old_size == 0 || old_size >= new_size || count > MERKLE_PROOF_HASHES_MAX) {
        return ERR_INVAL;
    }
    /* 1. (The old root, when the RFC would prepend it, is the proof's first hash already.) */
    if (count == 0) {
        return ERR_AUTH;
    }
    /* 3. */
    uint64_t fn = old_size - 1;
    uint64_t sn = new_size - 1;
    /* 4. */
    for (unsigned i = 0; i < MERKLE_DEPTH_BOUND && (fn & 1u) != 0; i++) {
        fn >>= 1;
        sn >>= 1;
    }
    /* 5. */
    memcpy(fr, proof[0], HASH_SIZE);
    memcpy(sr, fr, HASH_SIZE);
    /* 6. */
    for (size_t i = 1; i < count; i++) {
        if (sn == 0) {
            return ERR_AUTH;
        }
        if ((fn & 1u) != 0 || fn == sn) {
            merkle_node_hash(proof[i], fr, fr);
            merkle_node_hash(proof[i], sr, sr);
            merkle_shift_to_odd(&fn, &sn);
        } else {
            merkle_node_hash(sr, proof[i], sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0) {
        return ERR_AUTH;
    }
    memcpy(old_root, fr, HASH_SIZE);
    memcpy(new_root, sr, HASH_SIZE);
    return ERR_OK;
}
