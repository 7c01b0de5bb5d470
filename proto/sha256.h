/*
 * SHA-256 for the hot paths (Merkle leaf and node hashes, bundle trailers), from OpenSSL's
 * libcrypto: it uses the CPU's SHA extensions, measured at 5.6x libsodium's portable code on
 * 100 KiB leaves and 3.6x on 140-byte ones (bench notes in docs/HACKING.md). The digest is
 * standard SHA-256 either way. Allocation failure inside OpenSSL is fatal (ASSERT): a replica
 * that cannot hash cannot verify anything.
 */
#ifndef CDHT_SHA256_H
#define CDHT_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"

/* An incremental hash. sha256_final() releases it; sha256_release() releases one abandoned
 * midway (safe to call twice, and after final). */
struct sha256 {
    void *ctx; /* EVP_MD_CTX, owned */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, uint8_t out[HASH_SIZE]);
void sha256_release(struct sha256 *s);

/* One-shot SHA-256 of prefix (one byte) || a || b; b may be NULL. Reuses one context, so it
 * is not reentrant: cdht hashes on one thread. */
void sha256_prefixed(uint8_t prefix, const void *a, size_t a_len, const void *b, size_t b_len,
                     uint8_t out[HASH_SIZE]);

#endif
