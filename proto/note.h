/*
 * C2SP signed notes (c2sp.org/signed-note) carrying C2SP checkpoints (c2sp.org/tlog-checkpoint),
 * with Ed25519 signatures (signature type 0x01). A checkpoint note is:
 *
 *     <origin>\n<tree size, decimal>\n<base64 root hash>\n\n
 *     \u2014 <key name> <base64(4-byte key id || 64-byte signature)>\n
 *
 * The key id is the first 4 bytes of SHA-256(key name || "\n" || 0x01 || public key). The
 * signature covers the body: every byte up to and including the newline before the blank line.
 * cdht names each device's log (origin) and key alike: "cdht/" followed by the 64 lowercase hex
 * digits of its Ed25519 public key, so any note verifier can be given our verifier key.
 */
#ifndef CDHT_NOTE_H
#define CDHT_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "limits.h"

#define NOTE_KEY_ID_SIZE 4u
#define NOTE_LOG_NAME_PREFIX "cdht/"
#define NOTE_LOG_NAME_SIZE (sizeof NOTE_LOG_NAME_PREFIX - 1 + 2 * KEY_PUBLIC_SIZE)
/* "<name>+<8 hex>+<base64 of 33 bytes>" */
#define NOTE_VERIFIER_KEY_SIZE_MAX (NOTE_ORIGIN_SIZE_MAX + 1 + 8 + 1 + 45 + 1)

struct checkpoint {
    char origin[NOTE_ORIGIN_SIZE_MAX + 1]; /* NUL-terminated; no newline, not empty */
    uint64_t size;                         /* leaves in the tree */
    uint8_t root[HASH_SIZE];
};

/* The log/key name of a device key: "cdht/<hex pk>", NUL-terminated in out. */
void note_log_name(const uint8_t pk[KEY_PUBLIC_SIZE], char out[NOTE_LOG_NAME_SIZE + 1]);

/* SHA-256(name || "\n" || 0x01 || pk)[0:4]. */
void note_key_id(const char *name, const uint8_t pk[KEY_PUBLIC_SIZE],
                 uint8_t out[NOTE_KEY_ID_SIZE]);

/* The C2SP verifier key string "<name>+<8 hex key id>+<base64(0x01 || pk)>", NUL-terminated. */
err_code note_verifier_key(const char *name, const uint8_t pk[KEY_PUBLIC_SIZE], char *out,
                           size_t out_cap) WARN_UNUSED;
/* Parses a verifier key string into name and public key (Ed25519 type only). name must hold
 * NOTE_ORIGIN_SIZE_MAX + 1 bytes. ERR_INVAL when malformed or the key id does not match. */
err_code note_verifier_key_parse(const char *vkey, char *name,
                                 uint8_t pk[KEY_PUBLIC_SIZE]) WARN_UNUSED;

/* Writes the checkpoint note signed by (name, sk) into out (not NUL-terminated).
 * ERR_MSGSIZE when out_cap is too small; ERR_INVAL for an origin with a newline or empty. */
err_code note_sign_checkpoint(const struct checkpoint *cp, const char *name,
                              const uint8_t sk[KEY_SECRET_SIZE], uint8_t *out, size_t out_cap,
                              size_t *out_len) WARN_UNUSED;

/* Parses the checkpoint body of a note without verifying any signature (for diagnostics and
 * fuzzing). Enforces NOTE_SIZE_MAX, the body grammar, decimal size without leading zeros, a
 * base64 root of exactly 32 bytes, and the signature-line grammar. */
err_code note_parse_checkpoint(const uint8_t *note, size_t len, struct checkpoint *out) WARN_UNUSED;

/* Parses the note and verifies that one of its signature lines is a valid Ed25519 signature by
 * (name, pk) over its body; lines by other keys are ignored, as C2SP says. ERR_AUTH when no
 * valid signature by that key is present; ERR_CORRUPT when the note is malformed. */
err_code note_verify_checkpoint(const uint8_t *note, size_t len, const char *name,
                                const uint8_t pk[KEY_PUBLIC_SIZE],
                                struct checkpoint *out) WARN_UNUSED;

#endif
