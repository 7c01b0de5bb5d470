/*
 * The device key: one Ed25519 key per device, never shared (two writers on one key fork its
 * log). Stored in HOME/key, mode 0600; keys_load() refuses a file readable by group or others.
 * Optionally sealed with a passphrase: Argon2id (crypto_pwhash) derives a key that seals the
 * 32-byte seed with XSalsa20-Poly1305 (crypto_secretbox).
 *
 * Key file (docs/PROTOCOL.md, "Key file"):
 *   "CDHTKEY1" | kdf u8 (0 plain, 1 argon2id) | then
 *     kdf 0: seed[32]                                                        41 bytes in all
 *     kdf 1: opslimit u64 BE | memlimit u64 BE | salt[16] | nonce[24] |
 *            secretbox(seed)[32 + 16]                                        113 bytes in all
 */
#ifndef CDHT_KEYS_H
#define CDHT_KEYS_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "limits.h"

#define KEYS_MAGIC "CDHTKEY1"
#define KEYS_FILE_PLAIN_SIZE 41u
#define KEYS_FILE_SEALED_SIZE 113u
#define KEYS_FILE_SIZE_MAX KEYS_FILE_SEALED_SIZE

/* A public key as messages and listings show it: standard base64 with padding, 44 characters
 * and a NUL. */
#define KEYS_B64_SIZE 45u
static_assert(KEYS_B64_SIZE == 4u * ((KEY_PUBLIC_SIZE + 2u) / 3u) + 1u, "base64 of a key and NUL");
void keys_b64(const uint8_t pk[KEY_PUBLIC_SIZE], char out[KEYS_B64_SIZE]);
/* The reverse: exactly 44 characters of standard base64 that decode to a key. 0, or -1 with
 * pk unspecified. */
int keys_from_b64(const char *s, uint8_t pk[KEY_PUBLIC_SIZE]);

struct keys {
    uint8_t pk[KEY_PUBLIC_SIZE];
    uint8_t sk[KEY_SECRET_SIZE]; /* secret: keys_wipe() when done */
};

/* Generates a new key and writes it to path (created with O_EXCL, mode 0600). pass may be NULL
 * (pass_len 0) for an unsealed key. ERR_IO naming nothing: the caller names the path. */
err_code keys_generate(const char *path, const char *pass, size_t pass_len,
                       struct keys *out) WARN_UNUSED;

/* Loads the key at path. ERR_AUTH for a wrong or missing passphrase on a sealed key;
 * ERR_INVAL when the file is readable by group or others (mode & 077); ERR_CORRUPT when the
 * bytes are not a key file. */
err_code keys_load(const char *path, const char *pass, size_t pass_len,
                   struct keys *out) WARN_UNUSED;

/* Decodes key-file bytes (what keys_load does after the mode check). Exposed for fuzzing. */
err_code keys_decode(const uint8_t *buf, size_t len, const char *pass, size_t pass_len,
                     struct keys *out) WARN_UNUSED;
/* Encodes k into buf (KEYS_FILE_SIZE_MAX bytes), sealed when pass != NULL. Argon2id limits
 * are libsodium's INTERACTIVE ones, sized for old laptops. */
err_code keys_encode(const struct keys *k, const char *pass, size_t pass_len,
                     uint8_t buf[KEYS_FILE_SIZE_MAX], size_t *len) WARN_UNUSED;

/* True when the file at path was sealed with a passphrase. */
err_code keys_is_sealed(const char *path, int *sealed) WARN_UNUSED;

/* Reads a passphrase file: the whole file less one trailing newline (or CRLF). ERR_MSGSIZE
 * beyond PASSPHRASE_SIZE_MAX, ERR_INVAL when empty. */
err_code keys_read_passphrase(const char *path, char buf[PASSPHRASE_SIZE_MAX],
                              size_t *len) WARN_UNUSED;

void keys_wipe(struct keys *k);

#endif
