/*
 * Fuzz target for the checkpoint-note parser and verifier in proto/note.c, which read bytes
 * from peers and bundles. It asserts properties, not only survival: whatever the parser
 * accepts re-signs and re-parses to the same checkpoint; verification with a fixed key only
 * ever answers ERR_OK, ERR_AUTH, ERR_CORRUPT or ERR_MSGSIZE and agrees with the parser on
 * which notes are malformed; a verifier key that parses formats back to the same string.
 */
#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "err.h"
#include "note.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The fixed test key: seed 0x5e repeated. The seed corpus is signed with it, so inputs reach
 * the valid-signature path as well as the refusals. */
#define FUZZ_NOTE_SEED_BYTE 0x5e

static uint8_t fuzz_pk[KEY_PUBLIC_SIZE];
static uint8_t fuzz_sk[KEY_SECRET_SIZE];
static char fuzz_name[NOTE_LOG_NAME_SIZE + 1];
static int fuzz_ready;

static void
fuzz_note_init(void)
{
    uint8_t seed[KEY_SEED_SIZE];
    if (fuzz_ready) {
        return;
    }
    ASSERT(sodium_init() >= 0);
    memset(seed, FUZZ_NOTE_SEED_BYTE, sizeof seed);
    ASSERT(crypto_sign_seed_keypair(fuzz_pk, fuzz_sk, seed) == 0);
    note_log_name(fuzz_pk, fuzz_name);
    fuzz_ready = 1;
}

static int
fuzz_same_checkpoint(const struct checkpoint *a, const struct checkpoint *b)
{
    return strcmp(a->origin, b->origin) == 0 && a->size == b->size &&
           memcmp(a->root, b->root, HASH_SIZE) == 0;
}

/* The input as a verifier key string: if it parses, it is already in the one form we write. */
static void
fuzz_verifier_key(const uint8_t *data, size_t size)
{
    char vkey[NOTE_VERIFIER_KEY_SIZE_MAX + 1];
    char name[NOTE_ORIGIN_SIZE_MAX + 1];
    char again[NOTE_VERIFIER_KEY_SIZE_MAX];
    uint8_t pk[KEY_PUBLIC_SIZE];
    if (size > NOTE_VERIFIER_KEY_SIZE_MAX || memchr(data, '\0', size) != NULL) {
        return;
    }
    memcpy(vkey, data, size);
    vkey[size] = '\0';
    err_code rc = note_verifier_key_parse(vkey, name, pk);
    ASSERT(rc == ERR_OK || rc == ERR_INVAL);
    if (rc != ERR_OK) {
        return;
    }
    ASSERT(note_verifier_key(name, pk, again, sizeof again) == ERR_OK);
    ASSERT(strcmp(again, vkey) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct checkpoint parsed_cp;
    struct checkpoint verified_cp;
    struct checkpoint again;
    uint8_t buf[NOTE_SIZE_MAX];
    size_t len;
    fuzz_note_init();

    err_code parsed = note_parse_checkpoint(data, size, &parsed_cp);
    ASSERT(parsed == ERR_OK || parsed == ERR_CORRUPT || parsed == ERR_MSGSIZE);

    err_code verified = note_verify_checkpoint(data, size, fuzz_name, fuzz_pk, &verified_cp);
    ASSERT(verified == ERR_OK || verified == ERR_AUTH || verified == ERR_CORRUPT ||
           verified == ERR_MSGSIZE);
    /* Verification parses first, so it refuses malformed notes exactly as the parser does. */
    if (parsed != ERR_OK) {
        ASSERT(verified == parsed);
    } else {
        ASSERT(verified == ERR_OK || verified == ERR_AUTH);
    }
    if (verified == ERR_OK) {
        ASSERT(fuzz_same_checkpoint(&verified_cp, &parsed_cp));
    }

    if (parsed == ERR_OK) {
        /* Whatever we accept, we can sign, and what we sign reads back the same. */
        ASSERT(note_sign_checkpoint(&parsed_cp, fuzz_name, fuzz_sk, buf, sizeof buf, &len) ==
               ERR_OK);
        ASSERT(note_parse_checkpoint(buf, len, &again) == ERR_OK);
        ASSERT(fuzz_same_checkpoint(&again, &parsed_cp));
        ASSERT(note_verify_checkpoint(buf, len, fuzz_name, fuzz_pk, &again) == ERR_OK);
        ASSERT(fuzz_same_checkpoint(&again, &parsed_cp));
    }

    fuzz_verifier_key(data, size);
    return 0;
}
