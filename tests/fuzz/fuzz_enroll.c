/*
 * Fuzz target for proto/enroll.c, the decoder of the enrolment request text a hub pastes from a
 * chat message. Properties: enroll_decode answers only the four codes enroll.h documents, each
 * refusal with a sentence and a zeroed request; a request it accepts is written back byte for
 * byte by enroll_format (one spelling per request, so the bytes verified are the bytes shown),
 * and decoding that again gives the same request.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "enroll.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_enroll: property failed: %s\n", what);
    abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct enroll_request zero;
    struct enroll_request req, again;
    char text[ENROLL_TEXT_SIZE_MAX + 1];
    size_t len = 0;
    const char *why = NULL;

    diag_level = DIAG_ERROR; /* refusals are the expected case here; keep the output quiet */
    err_code rc = enroll_decode((const char *)data, size, &req, &why);
    if (rc != ERR_OK) {
        if (rc != ERR_CORRUPT && rc != ERR_MSGSIZE && rc != ERR_AUTH) {
            fuzz_fail("an error enroll.h does not document");
        }
        if (why == NULL || why[0] == '\0') {
            fuzz_fail("a refusal without a reason");
        }
        if (memcmp(&req, &zero, sizeof req) != 0) {
            fuzz_fail("request not zeroed on error");
        }
        return 0;
    }
    if (size > ENROLL_TEXT_SIZE_MAX) {
        fuzz_fail("accepted input above ENROLL_TEXT_SIZE_MAX");
    }
    if (enroll_format(&req, text, &len, &why) != ERR_OK) {
        fuzz_fail("enroll_format refuses a decoded request");
    }
    if (len != size || memcmp(text, data, size) != 0) {
        fuzz_fail("re-encoding differs from the input");
    }
    if (enroll_decode(text, len, &again, &why) != ERR_OK) {
        fuzz_fail("the re-encoding does not decode");
    }
    if (memcmp(&req, &again, sizeof req) != 0) {
        fuzz_fail("the re-encoding decodes to another request");
    }
    return 0;
}
