/*
 * Fuzz target for domain_name_normalize, which turns untrusted form input into the name bytes
 * that replicate. The first input byte picks max_bytes (1..256), the rest is the name. Every
 * accepted output must be valid UTF-8 (checked by a decoder written here, independent of
 * utf8proc), NFC-stable and a fixed point of the function itself, within max_bytes, free of
 * control characters, with no leading, trailing or doubled spaces.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "domain.h"

/* Strict UTF-8 decoding per RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF. Returns the sequence length and the code point, or 0 when s is not UTF-8. */
static size_t
fuzz_utf8_next(const uint8_t *s, size_t len, uint32_t *cp)
{
    uint8_t b = s[0];
    size_t n;
    uint32_t min;
    if (b < 0x80) {
        *cp = b;
        return 1;
    } else if (b >= 0xc2 && b <= 0xdf) {
        n = 2, min = 0x80, *cp = b & 0x1fu;
    } else if (b >= 0xe0 && b <= 0xef) {
        n = 3, min = 0x800, *cp = b & 0x0fu;
    } else if (b >= 0xf0 && b <= 0xf4) {
        n = 4, min = 0x10000, *cp = b & 0x07u;
    } else {
        return 0;
    }
    if (len < n) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0u) != 0x80u) {
            return 0;
        }
        *cp = (*cp << 6) | (s[i] & 0x3fu);
    }
    if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff)) {
        return 0;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    size_t max_bytes = 1u + data[0];
    char *in = malloc(size); /* size - 1 name bytes and a terminator */
    char *out = NULL;
    char *again = NULL;
    const char *reason = NULL;
    ASSERT(in != NULL);
    memcpy(in, data + 1, size - 1);
    in[size - 1] = '\0'; /* an embedded NUL ends the name early, as it would in C */

    err_code rc = domain_name_normalize(in, max_bytes, &out, &reason);
    if (rc != ERR_OK) {
        ASSERT(rc == ERR_INVAL || rc == ERR_NOMEM);
        ASSERT(out == NULL);
        ASSERT(rc != ERR_INVAL || reason != NULL);
        free(in);
        return 0;
    }
    ASSERT(out != NULL);
    ASSERT(reason == NULL);
    size_t len = strlen(out);
    ASSERT(len > 0);
    ASSERT(len <= max_bytes);
    ASSERT(out[0] != ' ');
    ASSERT(out[len - 1] != ' ');
    ASSERT(strstr(out, "  ") == NULL);

    const uint8_t *u = (const uint8_t *)out;
    for (size_t i = 0; i < len;) {
        uint32_t cp = 0;
        size_t n = fuzz_utf8_next(u + i, len - i, &cp);
        ASSERT(n > 0);                      /* valid UTF-8 */
        ASSERT(cp >= 0x20);                 /* no C0 control, tab or line break */
        ASSERT(cp < 0x7f || cp > 0x9f);     /* no DEL or C1 control */
        ASSERT(cp != 0xa0 && cp != 0x3000); /* other white space was folded */
        ASSERT(utf8proc_category((utf8proc_int32_t)cp) != UTF8PROC_CATEGORY_CF);
        i += n;
    }

    /* NFC-stable: normalising the output again changes nothing. */
    utf8proc_uint8_t *nfc = utf8proc_NFC(u);
    ASSERT(nfc != NULL);
    ASSERT(strcmp((const char *)nfc, out) == 0);
    free(nfc);

    /* A fixed point: the stored form goes through the same check unchanged, so a replica that
     * re-validates what it receives accepts it as it is. */
    ASSERT(domain_name_normalize(out, max_bytes, &again, &reason) == ERR_OK);
    ASSERT(strcmp(again, out) == 0);

    free(again);
    free(out);
    free(in);
    return 0;
}
