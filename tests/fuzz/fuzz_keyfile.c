/*
 * Fuzz target for keys_decode, the parser behind keys_load. It asserts properties, not only
 * "no crash": only documented codes come back; hostile Argon2id limits are ERR_CORRUPT; an
 * accepted key is a consistent Ed25519 pair that signs and verifies; and re-encoding it (plain
 * stays plain, sealed stays sealed) then decoding gives the same key.
 */
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "keys.h"

#define FUZZ_PASS "fuzz passphrase"

static uint64_t
fuzz_get_u64_be(const uint8_t *p)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8u; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t msg[] = "fuzz";
    struct keys k, again;
    uint8_t buf[KEYS_FILE_SIZE_MAX];
    uint8_t sig[SIG_SIZE];
    size_t len = 0;
    const size_t pass_len = sizeof FUZZ_PASS - 1;

    bool sealed = size == KEYS_FILE_SEALED_SIZE && memcmp(data, KEYS_MAGIC, 8) == 0 && data[8] == 1;
    bool limits_ok = false;
    if (sealed) {
        uint64_t ops = fuzz_get_u64_be(data + 9);
        uint64_t mem = fuzz_get_u64_be(data + 17);
        limits_ok = ops >= crypto_pwhash_argon2id_OPSLIMIT_MIN &&
                    ops <= crypto_pwhash_argon2id_OPSLIMIT_MODERATE &&
                    mem >= crypto_pwhash_argon2id_MEMLIMIT_MIN &&
                    mem <= crypto_pwhash_argon2id_MEMLIMIT_MODERATE;
        /* Argon2id at accepted limits above the minimum costs up to 256 MiB and three passes
         * per input; the fuzzer would spend its time hashing. Inputs at the minimum (8 KiB, one
         * pass) still cover every branch, and out-of-range limits are refused before hashing,
         * so both are kept. */
        if (limits_ok && (ops != crypto_pwhash_argon2id_OPSLIMIT_MIN ||
                          mem != crypto_pwhash_argon2id_MEMLIMIT_MIN)) {
            return 0;
        }
    }

    err_code rc = keys_decode(data, size, FUZZ_PASS, pass_len, &k);
    ASSERT(rc == ERR_OK || rc == ERR_CORRUPT || rc == ERR_AUTH || rc == ERR_NOMEM);
    if (sealed && !limits_ok) {
        ASSERT(rc == ERR_CORRUPT);
    }
    ASSERT(sealed || rc != ERR_AUTH); /* only a sealed key can fail authentication */
    if (rc != ERR_OK) {
        static const struct keys zero;
        ASSERT(memcmp(&k, &zero, sizeof k) == 0); /* a refusal leaves no key material */
        return 0;
    }

    /* The pair is consistent and usable. */
    ASSERT(memcmp(k.sk + KEY_SEED_SIZE, k.pk, KEY_PUBLIC_SIZE) == 0);
    ASSERT(crypto_sign_detached(sig, NULL, msg, sizeof msg, k.sk) == 0);
    ASSERT(crypto_sign_verify_detached(sig, msg, sizeof msg, k.pk) == 0);

    /* Re-encode in the same kind and decode again. A plain encoding is canonical, so it must
     * also equal the input byte for byte. A sealed one draws a new salt and nonce and uses
     * the INTERACTIVE limits, so only the decoded key is compared (and this costs two slow
     * Argon2id runs, but the fuzzer reaches it only from a valid sealed seed). */
    ASSERT(keys_encode(&k, sealed ? FUZZ_PASS : NULL, sealed ? pass_len : 0, buf, &len) == ERR_OK);
    ASSERT(len == (sealed ? KEYS_FILE_SEALED_SIZE : KEYS_FILE_PLAIN_SIZE));
    if (!sealed) {
        ASSERT(len == size);
        ASSERT(memcmp(buf, data, len) == 0);
    }
    ASSERT(keys_decode(buf, len, FUZZ_PASS, pass_len, &again) == ERR_OK);
    ASSERT(memcmp(again.pk, k.pk, KEY_PUBLIC_SIZE) == 0);
    ASSERT(memcmp(again.sk, k.sk, KEY_SECRET_SIZE) == 0);
    keys_wipe(&k);
    keys_wipe(&again);
    return 0;
}
