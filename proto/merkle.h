/*
 * RFC 6962 / RFC 9162 Merkle tree hashing over SHA-256: leaf hash SHA-256(0x00 || data), node
 * hash SHA-256(0x01 || left || right), the empty tree's root SHA-256(""). Pure functions with
 * no I/O: node/log.c stores leaf hashes and the compact range, tools/ and auditors verify.
 * Nothing here recurses; every loop is bounded by MERKLE_PROOF_HASHES_MAX.
 */
#ifndef CDHT_MERKLE_H
#define CDHT_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "limits.h"

void merkle_leaf_hash(const uint8_t *data, size_t len, uint8_t out[HASH_SIZE]);
void merkle_node_hash(const uint8_t left[HASH_SIZE], const uint8_t right[HASH_SIZE],
                      uint8_t out[HASH_SIZE]);

/*
 * The compact range of a tree of `size` leaves: the roots of the perfect subtrees that cover
 * [0, size), largest (leftmost) first; there are popcount(size) of them. Appending a leaf and
 * computing the root are O(log size) and need no other stored node.
 */
struct merkle_frontier {
    uint64_t size;                                       /* leaves covered */
    uint8_t hash[MERKLE_FRONTIER_HASHES_MAX][HASH_SIZE]; /* popcount(size) used */
};

void merkle_frontier_init(struct merkle_frontier *f);
void merkle_frontier_push(struct merkle_frontier *f, const uint8_t leaf_hash[HASH_SIZE]);
/* The RFC 6962 root of the leaves covered so far (SHA-256 of "" when empty). */
void merkle_frontier_root(const struct merkle_frontier *f, uint8_t out[HASH_SIZE]);

/* Storage form of a frontier: size as 8 bytes big-endian, then popcount(size) hashes. */
#define MERKLE_FRONTIER_ENCODED_MAX (8u + MERKLE_FRONTIER_HASHES_MAX * HASH_SIZE)
size_t merkle_frontier_encode(const struct merkle_frontier *f,
                              uint8_t out[MERKLE_FRONTIER_ENCODED_MAX]);
err_code merkle_frontier_decode(const uint8_t *buf, size_t len,
                                struct merkle_frontier *out) WARN_UNUSED;

/*
 * Source of leaf hashes for proof generation: writes the hash of leaf `index` to out.
 * node/log.c reads them from SQLite; tests read them from an array.
 */
typedef err_code (*merkle_leaf_fn)(void *ctx, uint64_t index, uint8_t out[HASH_SIZE]);

/* The root of the leaves [start, end) as RFC 6962 defines MTH of that list. O(end - start). */
err_code merkle_range_root(merkle_leaf_fn fn, void *ctx, uint64_t start, uint64_t end,
                           uint8_t out[HASH_SIZE]) WARN_UNUSED;

/* RFC 6962 section 2.1.1 audit path of leaf `index` in the tree of `size` leaves.
 * proof must hold MERKLE_PROOF_HASHES_MAX hashes; *count receives how many were written.
 * ERR_INVAL when index >= size. */
err_code merkle_inclusion_proof(merkle_leaf_fn fn, void *ctx, uint64_t index, uint64_t size,
                                uint8_t proof[][HASH_SIZE], size_t *count) WARN_UNUSED;

/* RFC 6962 section 2.1.2 consistency proof between sizes old_size and new_size.
 * ERR_INVAL unless 0 < old_size <= new_size (an empty proof when they are equal). */
err_code merkle_consistency_proof(merkle_leaf_fn fn, void *ctx, uint64_t old_size,
                                  uint64_t new_size, uint8_t proof[][HASH_SIZE],
                                  size_t *count) WARN_UNUSED;

/* RFC 9162 section 2.1.3.2: ERR_OK when the proof shows leaf_hash at index in the tree of
 * size with that root; ERR_AUTH when it does not; ERR_INVAL for impossible arguments. */
err_code merkle_verify_inclusion(uint64_t index, uint64_t size, const uint8_t leaf_hash[HASH_SIZE],
                                 const uint8_t proof[][HASH_SIZE], size_t count,
                                 const uint8_t root[HASH_SIZE]) WARN_UNUSED;

/* RFC 9162 section 2.1.4.2: ERR_OK when the proof shows the tree of old_size with old_root is
 * a prefix of the tree of new_size with new_root; ERR_AUTH when it does not. */
err_code merkle_verify_consistency(uint64_t old_size, uint64_t new_size,
                                   const uint8_t old_root[HASH_SIZE],
                                   const uint8_t new_root[HASH_SIZE],
                                   const uint8_t proof[][HASH_SIZE], size_t count) WARN_UNUSED;

/*
 * The proof an equivocation carries (node/witness.h): the RFC 6962 consistency proof from
 * old_size to new_size, preceded, when old_size is a power of two, by the root of the first
 * old_size leaves, which RFC 9162 verification would otherwise take from the old checkpoint.
 * With it the proof alone yields both roots. ERR_INVAL unless 0 < old_size < new_size.
 */
err_code merkle_consistency_proof_full(merkle_leaf_fn fn, void *ctx, uint64_t old_size,
                                       uint64_t new_size, uint8_t proof[][HASH_SIZE],
                                       size_t *count) WARN_UNUSED;

/* RFC 9162 section 2.1.4.2 steps 3 to 6 on a proof of merkle_consistency_proof_full's form:
 * the old and the new root the proof yields. ERR_AUTH when the proof has the wrong length for
 * the two sizes; ERR_INVAL unless 0 < old_size < new_size. */
err_code merkle_consistency_roots(uint64_t old_size, uint64_t new_size,
                                  const uint8_t proof[][HASH_SIZE], size_t count,
                                  uint8_t old_root[HASH_SIZE],
                                  uint8_t new_root[HASH_SIZE]) WARN_UNUSED;

#endif
