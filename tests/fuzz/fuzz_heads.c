/*
 * Fuzz target for the heads file decoder (proto/heads.c). The format has one spelling per
 * value, so the property is exact: input that heads_decode accepts is reproduced byte for byte
 * by heads_write, and heads_find finds every entry it returned. Errors must be ERR_CORRUPT or
 * ERR_MSGSIZE, the two heads.h documents.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "heads.h"

static void
fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_heads: property failed: %s\n", what);
    abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct heads_entry *e = NULL;
    size_t count = 0;
    char *text = NULL;
    size_t text_len = 0;

    diag_level = DIAG_ERROR; /* corruption is the expected case here; keep the output quiet */
    err_code rc = heads_decode(data, size, &e, &count);
    if (rc != ERR_OK) {
        if (rc != ERR_CORRUPT && rc != ERR_MSGSIZE) {
            fuzz_fail("an error heads.h does not document");
        }
        if (e != NULL || count != 0) {
            fuzz_fail("out-params set on error");
        }
        return 0;
    }
    if ((count == 0) != (e == NULL)) {
        fuzz_fail("entries and count disagree");
    }
    for (size_t i = 0; i < count; i++) {
        if (heads_find(e, count, e[i].key) != &e[i]) {
            fuzz_fail("heads_find misses an entry");
        }
    }
    FILE *f = open_memstream(&text, &text_len);
    if (f == NULL) {
        abort();
    }
    if (heads_write(f, e, count) != ERR_OK || fclose(f) != 0) {
        fuzz_fail("heads_write of decoded entries");
    }
    if (text_len != size || memcmp(text, data, size) != 0) {
        fuzz_fail("re-encoding differs from the input");
    }
    free(text);
    free(e);
    return 0;
}
