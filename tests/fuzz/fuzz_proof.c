/*
 * Fuzz target for the record proof decoder (proto/proof.c). The format has one spelling per
 * value, so the property is exact: a file proof_decode accepts is written back byte for byte by
 * proof_encode. Errors must be ERR_CORRUPT or ERR_MSGSIZE (proof.h), with *out left NULL.
 * Every accepted proof is also verified against a fixed key: whatever the bytes, proof_verify
 * returns a documented error or ERR_OK, with a failure and a sentence that agree with it.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "proof.h"

static void
fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_proof: property failed: %s\n", what);
    abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    struct proof *p = NULL;
    uint8_t *again = NULL;
    size_t again_len = 0;

    if (!ready) {
        if (sodium_init() < 0) {
            abort();
        }
        ready = 1;
    }
    diag_level = DIAG_ERROR; /* corruption is the expected case here; keep the output quiet */
    err_code rc = proof_decode(data, size, &p);
    if (rc != ERR_OK) {
        if (rc != ERR_CORRUPT && rc != ERR_MSGSIZE) {
            fuzz_fail("an error proof.h does not document");
        }
        if (p != NULL) {
            fuzz_fail("out-param set on error");
        }
        return 0;
    }
    if (p->chain_count > PROOF_CHAIN_MAX) {
        fuzz_fail("chain longer than PROOF_CHAIN_MAX");
    }
    if (proof_encode(p, &again, &again_len) != ERR_OK) {
        fuzz_fail("proof_encode of a decoded proof");
    }
    if (again_len != size || memcmp(again, data, size) != 0) {
        fuzz_fail("re-encoding differs from the input");
    }
    free(again);
    /* The root of the tests' deployments is unknown here: any key exercises every check up to
     * the last one. */
    static const uint8_t root[KEY_PUBLIC_SIZE] = {1};
    struct proof_verdict v;
    rc = proof_verify(p, root, &v);
    if (rc == ERR_OK) {
        if (v.failure != PROOF_FAIL_NONE || v.cosigs > NOTE_SIGNATURES_MAX) {
            fuzz_fail("a verified proof with a failure");
        }
    } else if ((rc != ERR_AUTH && rc != ERR_CORRUPT) || v.failure == PROOF_FAIL_NONE ||
               v.why[0] == '\0' || memchr(v.why, '\0', sizeof v.why) == NULL) {
        fuzz_fail("a failed verification without its failure and sentence");
    }
    proof_free(p);
    return 0;
}
