/*
 * C2SP tlog-cosignature v1 (c2sp.org/tlog-cosignature): a witness's statement that it verified a
 * checkpoint consistent with every earlier one it co-signed of that log. The witness signs
 *
 *     "cosignature/v1\ntime <decimal seconds>\n" || the checkpoint body
 *
 * (the body is "<origin>\n<size>\n<base64 root>\n", proto/note.h) with Ed25519, and writes one
 * note signature line
 *
 *     \u2014 <witness key name> base64(key id[4] || timestamp u64 BE || signature[64])\n
 *
 * whose key id is SHA-256(name || "\n" || 0x04 || public key)[0:4] (signed-note, type 0x04).
 * cdht names a witness key like a log: "cdht/<hex public key>". Pure functions, no allocation.
 */
#ifndef CDHT_COSIG_H
#define CDHT_COSIG_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "limits.h"
#include "note.h"

#define COSIG_SIG_TYPE 0x04u /* signed-note signature type of cosignature/v1 */
#define COSIG_KEY_ID_SIZE 4u
#define COSIG_BLOB_SIZE (COSIG_KEY_ID_SIZE + 8u + SIG_SIZE) /* key id | time | signature */
#define COSIG_BLOB_B64_LEN 104u                             /* base64 of 76 bytes, padded */
/* "\u2014 " (4 bytes) | name | " " | base64 | "\n" */
#define COSIG_LINE_SIZE_MAX (4u + NOTE_ORIGIN_SIZE_MAX + 1u + COSIG_BLOB_B64_LEN + 1u)
/* "cosignature/v1\ntime " | 20 digits | "\n" | origin | "\n" | 20 digits | "\n" | 44 | "\n" */
#define COSIG_MESSAGE_SIZE_MAX (20u + 20u + 1u + NOTE_ORIGIN_SIZE_MAX + 1u + 20u + 1u + 44u + 1u)
/* The latest cosignature time accepted: 2200-01-01, the bound leaves have (HLC_MS_MAX). A fixed
 * bound keeps every replica's answer alike, and the time fits SQLite's signed integer. */
#define COSIG_TIME_S_MAX (HLC_MS_MAX / 1000)

struct cosig {
    char name[NOTE_ORIGIN_SIZE_MAX + 1]; /* the witness key name, NUL-terminated */
    uint8_t key_id[COSIG_KEY_ID_SIZE];
    uint64_t time_s; /* seconds since the Unix epoch */
    uint8_t sig[SIG_SIZE];
};

/* SHA-256(name || "\n" || 0x04 || pk)[0:4]. */
void cosig_key_id(const char *name, const uint8_t pk[KEY_PUBLIC_SIZE],
                  uint8_t out[COSIG_KEY_ID_SIZE]);

/* The signed message for cp at time_s. ERR_INVAL for an origin a note may not carry or a time
 * past COSIG_TIME_S_MAX. */
err_code cosig_message(const struct checkpoint *cp, uint64_t time_s,
                       uint8_t out[COSIG_MESSAGE_SIZE_MAX], size_t *len) WARN_UNUSED;

/* Co-signs cp at time_s as (name, sk). */
err_code cosig_sign(const struct checkpoint *cp, uint64_t time_s, const char *name,
                    const uint8_t sk[KEY_SECRET_SIZE], struct cosig *out) WARN_UNUSED;

/* The signature line, "\n" included (not NUL-terminated). */
err_code cosig_encode(const struct cosig *c, uint8_t out[COSIG_LINE_SIZE_MAX],
                      size_t *len) WARN_UNUSED;

/* Parses exactly one signature line, its final "\n" included, as cosig_encode writes it: a
 * name of printable ASCII without '+', one space, strict padded base64 of 76 bytes, a time
 * <= COSIG_TIME_S_MAX. ERR_MSGSIZE above COSIG_LINE_SIZE_MAX; ERR_CORRUPT otherwise. */
err_code cosig_parse(const uint8_t *line, size_t len, struct cosig *out) WARN_UNUSED;

/* ERR_OK when c is (name, pk)'s cosignature of cp: the name and key id match and the Ed25519
 * signature verifies over the message; ERR_AUTH when not. */
err_code cosig_verify(const struct cosig *c, const struct checkpoint *cp, const char *name,
                      const uint8_t pk[KEY_PUBLIC_SIZE]) WARN_UNUSED;

#endif
