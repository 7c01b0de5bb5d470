/*
 * Fuzz target for proto/certstr.c, the decoder of the certificate string a verifier scans from
 * paper. Three doors, each asserting a property, not just "no crash":
 *  - the input as a string: certstr_decode answers only ERR_MSGSIZE or ERR_CORRUPT with a
 *    sentence and a zeroed struct, or accepts a string that certstr_encode writes back byte
 *    for byte, and that certstr_verify then judges without crashing;
 *  - the input as a body: the fuzzer cannot forge the check bytes, so they are appended here
 *    (the same SHA-256 prefix certstr.c computes) and the result base64url-encoded, so that
 *    every field parser behind the check is reached; the same round-trip property holds;
 *  - the input as a leaf: certstr_approval either refuses with a sentence or returns an
 *    approval whose key is "<year>:<person>".
 */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certstr.h"
#include "diag.h"
#include "sha256.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_certstr: property failed: %s\n", what);
    abort();
}

/* Decodes text; on success re-encodes and compares, and verifies against a fixed key. */
static void
fuzz_string(const char *text, size_t len)
{
    static const struct certstr zero;
    static const uint8_t root[KEY_PUBLIC_SIZE] = {1};
    struct certstr cs;
    struct certstr_verdict v;
    char again[CERT_STRING_SIZE_MAX + 1];
    size_t n = 0;
    const char *why = NULL;
    err_code rc = certstr_decode(text, len, &cs, &why);
    if (rc != ERR_OK) {
        if (rc != ERR_CORRUPT && rc != ERR_MSGSIZE) {
            fuzz_fail("an error certstr.h does not document");
        }
        if (why == NULL || why[0] == '\0') {
            fuzz_fail("a refusal without a reason");
        }
        if (memcmp(&cs, &zero, sizeof cs) != 0) {
            fuzz_fail("struct not zeroed on error");
        }
        return;
    }
    if (len > CERT_STRING_SIZE_MAX) {
        fuzz_fail("accepted input above CERT_STRING_SIZE_MAX");
    }
    if (certstr_encode(&cs, again, &n, &why) != ERR_OK) {
        fuzz_fail("certstr_encode refuses a decoded string");
    }
    if (n != len || memcmp(again, text, len) != 0) {
        fuzz_fail("re-encoding differs from the input");
    }
    rc = certstr_verify(&cs, root, &v);
    if (rc != ERR_OK && rc != ERR_AUTH && rc != ERR_CORRUPT) {
        fuzz_fail("certstr_verify answered an undocumented error");
    }
    if (rc != ERR_OK && v.why[0] == '\0') {
        fuzz_fail("a verification failure without a reason");
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        if (sodium_init() < 0) {
            fuzz_fail("sodium_init");
        }
        ready = 1;
    }
    diag_level = DIAG_ERROR; /* refusals are the expected case here; keep the output quiet */

    fuzz_string((const char *)data, size);

    /* The input as a body, with its check bytes appended. */
    static uint8_t body[CERTSTR_BODY_SIZE_MAX];
    static char text[CERT_STRING_SIZE_MAX + 1];
    if (size + CERTSTR_CHECK_SIZE <= sizeof body) {
        struct sha256 h;
        uint8_t d[HASH_SIZE];
        memcpy(body, data, size);
        sha256_init(&h);
        sha256_update(&h, "cdht-cert1\n", 11);
        sha256_update(&h, data, size);
        sha256_final(&h, d);
        memcpy(body + size, d, CERTSTR_CHECK_SIZE);
        memcpy(text, CERTSTR_PREFIX, CERTSTR_PREFIX_LEN);
        sodium_bin2base64(text + CERTSTR_PREFIX_LEN, sizeof text - CERTSTR_PREFIX_LEN, body,
                          size + CERTSTR_CHECK_SIZE, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        fuzz_string(text, strlen(text));
    }

    /* The input as a leaf. */
    struct certstr_approval a;
    const char *why = NULL;
    if (size > 0 && certstr_approval(data, size, &a, &why) == ERR_OK) {
        char pk[2 * CERTSTR_TEXT_SIZE];
        snprintf(pk, sizeof pk, "%lld:%s", (long long)a.year, a.person);
        if (strcmp(pk, a.id) != 0) {
            fuzz_fail("an approval whose key is not <year>:<person>");
        }
    } else if (size > 0 && (why == NULL || why[0] == '\0')) {
        fuzz_fail("an approval refused without a reason");
    }
    return 0;
}
