/*
 * SHA-256 through OpenSSL's EVP interface, with the algorithm fetched once per process and one
 * reusable context per thread for the one-shot hashes (a test or benchmark runs a hub and its
 * callers in threads of one process: a shared context there corrupted roots and the heap).
 */
#include "sha256.h"

#include <openssl/evp.h>
#include <pthread.h>

#include "err.h"

static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static pthread_key_t sha256_key; /* the thread's one-shot context */
static EVP_MD *sha256_md;

static void
sha256_ctx_free(void *p)
{
    EVP_MD_CTX_free(p);
}

static void
sha256_setup(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    ASSERT(sha256_md != NULL);
    ASSERT(pthread_key_create(&sha256_key, sha256_ctx_free) == 0);
}

static const EVP_MD *
sha256_algo(void)
{
    pthread_once(&sha256_once, sha256_setup);
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
    const EVP_MD *md = sha256_algo();
    EVP_MD_CTX *sha256_one = pthread_getspecific(sha256_key);
    if (sha256_one == NULL) {
        sha256_one = EVP_MD_CTX_new();
        ASSERT(sha256_one != NULL);
        ASSERT(pthread_setspecific(sha256_key, sha256_one) == 0);
    }
    ASSERT(EVP_DigestInit_ex2(sha256_one, md, NULL) == 1);
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
