/*
 * Fuzz target for the cosignature-line parser and verifier in proto/cosig.c, which read every
 * cosignature a bundle carries. It asserts properties, not only survival: a line the parser
 * accepts re-encodes to exactly the input (one spelling per cosignature); verification against
 * a fixed witness key and checkpoint only ever answers ERR_OK or ERR_AUTH for a parsed line,
 * and ERR_OK only for the line that key signed; a re-signed cosignature always verifies.
 */
#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "cosig.h"
#include "err.h"
#include "note.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The fixed witness key: seed 0x5e repeated (as fuzz_note.c). The seed corpus holds its
 * cosignature of fuzz_cp at time 1700000000, so inputs reach the valid-signature path. */
#define FUZZ_COSIG_SEED_BYTE 0x5e
#define FUZZ_COSIG_ROOT_BYTE 0x11
#define FUZZ_COSIG_SIZE 3u

static uint8_t fuzz_pk[KEY_PUBLIC_SIZE];
static uint8_t fuzz_sk[KEY_SECRET_SIZE];
static char fuzz_name[NOTE_LOG_NAME_SIZE + 1];
static struct checkpoint fuzz_cp;
static int fuzz_ready;

static void
fuzz_cosig_init(void)
{
    uint8_t seed[KEY_SEED_SIZE];
    if (fuzz_ready) {
        return;
    }
    ASSERT(sodium_init() >= 0);
    memset(seed, FUZZ_COSIG_SEED_BYTE, sizeof seed);
    ASSERT(crypto_sign_seed_keypair(fuzz_pk, fuzz_sk, seed) == 0);
    note_log_name(fuzz_pk, fuzz_name);
    memset(&fuzz_cp, 0, sizeof fuzz_cp);
    note_log_name(fuzz_pk, fuzz_cp.origin); /* the witness co-signs its own log here */
    fuzz_cp.size = FUZZ_COSIG_SIZE;
    memset(fuzz_cp.root, FUZZ_COSIG_ROOT_BYTE, HASH_SIZE);
    fuzz_ready = 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cosig c, resigned;
    uint8_t line[COSIG_LINE_SIZE_MAX];
    size_t len = 0;
    fuzz_cosig_init();

    err_code rc = cosig_parse(data, size, &c);
    ASSERT(rc == ERR_OK || rc == ERR_CORRUPT || rc == ERR_MSGSIZE);
    ASSERT(rc != ERR_MSGSIZE || size > COSIG_LINE_SIZE_MAX);
    if (rc != ERR_OK) {
        return 0;
    }
    ASSERT(c.time_s <= COSIG_TIME_S_MAX);
    ASSERT(cosig_encode(&c, line, &len) == ERR_OK);
    ASSERT(len == size);
    ASSERT(memcmp(line, data, size) == 0);

    err_code v = cosig_verify(&c, &fuzz_cp, fuzz_name, fuzz_pk);
    ASSERT(v == ERR_OK || v == ERR_AUTH);
    if (v == ERR_OK) {
        ASSERT(strcmp(c.name, fuzz_name) == 0);
    }
    /* Whatever time the line carries, the key's own cosignature at that time verifies. */
    ASSERT(cosig_sign(&fuzz_cp, c.time_s, fuzz_name, fuzz_sk, &resigned) == ERR_OK);
    ASSERT(cosig_verify(&resigned, &fuzz_cp, fuzz_name, fuzz_pk) == ERR_OK);
    return 0;
}
