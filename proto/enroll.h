/*
 * The enrolment request (docs/PROTOCOL.md, "Enrolment request"): the short text a device prints
 * (`cdht enroll request`) and its hub reads (`cdht cert issue`). It carries the device's public
 * key, its unit, name, wished role and network, and proves possession of the key with an
 * Ed25519 signature:
 *
 *   text = "cdht-enroll1:" || base64url-unpadded(EnrollRequest)
 *   sig  = Ed25519(sk, "cdht-enroll/1\n" || EnrollRequest without field 15)
 *
 * The text has one spelling per request: the decoder refuses anything enroll_format would not
 * write back byte for byte (padding, non-canonical base64, fields out of order, duplicates,
 * unknown fields), so a request that decodes is exactly what its device signed.
 */
#ifndef CDHT_ENROLL_H
#define CDHT_ENROLL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "limits.h"

#define ENROLL_PREFIX "cdht-enroll1:"
#define ENROLL_PREFIX_LEN (sizeof ENROLL_PREFIX - 1)
/* Domain separation: a request signature can never be mistaken for a checkpoint signature. */
#define ENROLL_SIG_CONTEXT "cdht-enroll/1\n"
/* Longest role name ("approver"). */
#define ENROLL_ROLE_SIZE_MAX 8u

/* A decoded request. Strings are NUL-terminated; an absent name or role is "". */
struct enroll_request {
    uint8_t key[KEY_PUBLIC_SIZE];
    char unit[UNIT_CODE_SIZE_MAX + 1];    /* 1.. bytes of UTF-8 without control characters */
    char name[DEVICE_NAME_SIZE_MAX + 1];  /* idem, or "" */
    char role[ENROLL_ROLE_SIZE_MAX + 1];  /* writer|approver|hub|auditor, or "" */
    char network[UNIT_CODE_SIZE_MAX + 1]; /* idem unit */
    uint8_t sig[SIG_SIZE];
};

/* Builds and signs a request for req's key, unit, name, role and network with sk (libsodium's
 * 64-byte secret key, whose public half must be req->key) and writes the text into out,
 * NUL-terminated, *len characters. req->sig is ignored and left untouched. ERR_INVAL with *why
 * when a field would be refused by enroll_decode (nothing is written). */
err_code enroll_encode(const struct enroll_request *req, const uint8_t sk[KEY_SECRET_SIZE],
                       char out[ENROLL_TEXT_SIZE_MAX + 1], size_t *len,
                       const char **why) WARN_UNUSED;

/* Writes the text of req with its signature req->sig, without signing or verifying (the fuzz
 * target and the tests use it to check that decoding is exact). ERR_INVAL with *why as
 * enroll_encode. */
err_code enroll_format(const struct enroll_request *req, char out[ENROLL_TEXT_SIZE_MAX + 1],
                       size_t *len, const char **why) WARN_UNUSED;

/*
 * Decodes and verifies a request text of len bytes (not NUL-terminated; no surrounding white
 * space). On ERR_OK *out holds the request, signature checked. On failure *out is zeroed and
 * *why is a static sentence naming what was wrong without repeating any of the input:
 *   ERR_MSGSIZE  longer than ENROLL_TEXT_SIZE_MAX, or a body longer than any request
 *   ERR_CORRUPT  empty, wrong prefix, not strict base64url, fields that do not decode, an
 *                unknown field, a key not 32 bytes, a bad unit, name, role or network, a
 *                signature not 64 bytes, a non-canonical encoding
 *   ERR_AUTH     the signature does not verify with the request's key
 */
err_code enroll_decode(const char *text, size_t len, struct enroll_request *out,
                       const char **why) WARN_UNUSED;

#endif
