/*
 * SHA-256 through OpenSSL's EVP interface, with the algorithm fetched once per process and
 * one reusable context for the one-shot hashes.
 */
#include "sha256.h"

#include <openssl/evp.h>

#include "err.h"

static EVP_MD *sha256_md;
static EVP_MD_CTX *sha256_one;

static const EVP_MD *
sha256_algo(void)
{
    if (sha256_md == NULL) {
        sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
        ASSERT(sha256_md != NULL);
    }
    return sha256_md;
}

void
sha256_init(struct sha256 *s)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    ASSERT(ctx != NULL);
    ASSERT(EVP_DigestInit_ex2(ctx, sha256_algo(), NULL) == 1);
    s->ctx = ctx;
}

void
sha256_update(struct sha256 *s, const void *data, size_t len)
{
    ASSERT(s->ctx != NULL);
    if (len > 0) {
        ASSERT(EVP_DigestUpdate(s->ctx, data, len) == 1);
    }
}

void
sha256_final(struct sha256 *s, uint8_t out[HASH_SIZE])
{
    unsigned int n = 0;
    ASSERT(s->ctx != NULL);
    ASSERT(EVP_DigestFinal_ex(s->ctx, out, &n) == 1);
    ASSERT(n == HASH_SIZE);
    sha256_release(s);
}

void
sha256_release(struct sha256 *s)
{
    EVP_MD_CTX_free(s->ctx); /* NULL is a no-op */
    s->ctx = NULL;
}

void
sha256_prefixed(uint8_t prefix, const void *a, size_t a_len, const void *b, size_t b_len,
                uint8_t out[HASH_SIZE])
{
    unsigned int n = 0;
    if (sha256_one == NULL) {
        sha256_one = EVP_MD_CTX_new();
        ASSERT(sha256_one != NULL);
    }
    ASSERT(EVP_DigestInit_ex2(sha256_one, sha256_algo(), NULL) == 1);
    ASSERT(EVP_DigestUpdate(sha256_one, &prefix, 1) == 1);
    if (a_len > 0) {
        ASSERT(EVP_DigestUpdate(sha256_one, a, a_len) == 1);
    }
    if (b != NULL && b_len > 0) {
        ASSERT(EVP_DigestUpdate(sha256_one, b, b_len) == 1);
    }
    ASSERT(EVP_DigestFinal_ex(sha256_one, out, &n) == 1);
    ASSERT(n == HASH_SIZE);
}
