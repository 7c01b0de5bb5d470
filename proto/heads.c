/*
 * The heads file (format in heads.h): per log, the size and root a replica holds, as text so
 * it can be read and mailed. The decoder accepts exactly one spelling of each file, the one
 * heads_write produces, so a file that decodes re-encodes byte for byte; that is also the
 * property its fuzz target checks. `cdht log heads` writes it and `bundle export --since` reads.
 */
#include "heads.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define HEADS_MAGIC_SIZE (sizeof HEADS_MAGIC_LINE - 1)
/* Base64 (original alphabet, padded) of 32 bytes, without the NUL sodium_bin2base64 adds. */
#define HEADS_B64_SIZE (sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL) - 1)
#define HEADS_SIZE_DIGITS_MAX 20u /* UINT64_MAX is 18446744073709551615 */
/* "<key> <size> <root>\n" */
#define HEADS_LINE_SIZE_MAX (HEADS_B64_SIZE + 1 + HEADS_SIZE_DIGITS_MAX + 1 + HEADS_B64_SIZE + 1)

static_assert(KEY_PUBLIC_SIZE == 32 && HASH_SIZE == 32, "keys and roots share one base64 size");
static_assert(HEADS_B64_SIZE == 44, "32 bytes are 44 base64 characters with padding");
static_assert(HEADS_MAGIC_SIZE + 1 + (uint64_t)HEADS_ENTRIES_MAX * HEADS_LINE_SIZE_MAX <=
                  HEADS_FILE_SIZE_MAX,
              "a file of HEADS_ENTRIES_MAX entries fits HEADS_FILE_SIZE_MAX");

static bool
heads_b64_char(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

/* Decodes exactly HEADS_B64_SIZE characters of base64 into 32 bytes: 43 characters of the
 * alphabet and one '='. The alphabet is checked here because libsodium 1.0.18 decodes every
 * byte from 0x80 to 0xff as if it were a base64 character (found by fuzz_heads); then
 * libsodium refuses non-zero padding bits, and checking that it consumed the whole field and
 * produced 32 bytes leaves one spelling per value. */
static err_code
heads_b64_decode(const uint8_t *field, uint8_t bin[32])
{
    size_t bin_len = 0;
    const char *end = NULL;
    const char *b64 = (const char *)field;
    for (size_t i = 0; i + 1 < HEADS_B64_SIZE; i++) {
        if (!heads_b64_char(field[i])) {
            return ERR_CORRUPT_HERE;
        }
    }
    if (field[HEADS_B64_SIZE - 1] != '=') {
        return ERR_CORRUPT_HERE;
    }
    if (sodium_base642bin(bin, 32, b64, HEADS_B64_SIZE, NULL, &bin_len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        bin_len != 32 || end != b64 + HEADS_B64_SIZE) {
        return ERR_CORRUPT_HERE;
    }
    return ERR_OK;
}

/* Decodes one line starting at p, of which avail bytes remain in the file, into *e, and sets
 * *used to the line's length including its newline. */
static err_code
heads_decode_line(const uint8_t *p, size_t avail, struct heads_entry *e, size_t *used)
{
    size_t pos = 0;
    if (avail < HEADS_B64_SIZE + 1 || heads_b64_decode(p, e->key) != ERR_OK ||
        p[HEADS_B64_SIZE] != ' ') {
        return ERR_CORRUPT_HERE;
    }
    pos = HEADS_B64_SIZE + 1;

    /* The size: decimal digits, no sign, no leading zero (except "0" itself), within u64.
     * HEADS_SIZE_DIGITS_MAX + 1 iterations reach a digit too many, which is refused. */
    uint64_t size = 0;
    size_t digits = 0;
    for (; digits <= HEADS_SIZE_DIGITS_MAX && pos < avail; digits++, pos++) {
        uint8_t c = p[pos];
        if (c < '0' || c > '9') {
            break;
        }
        if (digits == 1 && size == 0) {
            return ERR_CORRUPT_HERE; /* a leading zero */
        }
        unsigned d = (unsigned)(c - '0');
        if (size > (UINT64_MAX - d) / 10) {
            return ERR_CORRUPT_HERE; /* does not fit a u64 */
        }
        size = size * 10 + d;
    }
    if (digits == 0 || digits > HEADS_SIZE_DIGITS_MAX) {
        return ERR_CORRUPT_HERE;
    }
    if (avail - pos < 1 + HEADS_B64_SIZE + 1 || p[pos] != ' ') {
        return ERR_CORRUPT_HERE;
    }
    pos++;
    if (heads_b64_decode(p + pos, e->root) != ERR_OK) {
        return ERR_CORRUPT_HERE;
    }
    pos += HEADS_B64_SIZE;
    if (p[pos] != '\n') {
        return ERR_CORRUPT_HERE;
    }
    e->size = size;
    *used = pos + 1;
    return ERR_OK;
}

/* On ERR_OK *out is malloc'd (NULL when there are no entries) and owned by the caller. */
err_code
heads_decode(const uint8_t *buf, size_t len, struct heads_entry **out, size_t *count)
{
    err_code rc = ERR_OK;
    struct heads_entry *e = NULL;

    ASSERT(out != NULL);
    ASSERT(count != NULL);
    ASSERT(buf != NULL || len == 0);
    *out = NULL;
    *count = 0;
    if (len > HEADS_FILE_SIZE_MAX) {
        return ERR_MSGSIZE;
    }
    if (len < HEADS_MAGIC_SIZE + 1 || memcmp(buf, HEADS_MAGIC_LINE, HEADS_MAGIC_SIZE) != 0 ||
        buf[HEADS_MAGIC_SIZE] != '\n') {
        return ERR_CORRUPT_HERE;
    }
    size_t pos = HEADS_MAGIC_SIZE + 1;
    if (buf[len - 1] != '\n') {
        return ERR_CORRUPT_HERE; /* the last line is not terminated */
    }
    /* Every line ends in a newline, so counting newlines counts the entries before any is
     * allocated; the count is checked against its limit first, so the allocation is capped. */
    size_t lines = 0;
    for (size_t i = pos; i < len; i++) {
        lines += buf[i] == '\n';
    }
    if (lines > HEADS_ENTRIES_MAX) {
        return ERR_MSGSIZE;
    }
    if (lines == 0) {
        return ERR_OK;
    }
    if ((e = malloc(lines * sizeof *e)) == NULL) {
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < lines; i++) {
        size_t used = 0;
        if ((rc = heads_decode_line(buf + pos, len - pos, &e[i], &used)) != ERR_OK) {
            goto out;
        }
        /* Strictly increasing: sorted for heads_find, and unique. */
        if (i > 0 && memcmp(e[i - 1].key, e[i].key, KEY_PUBLIC_SIZE) >= 0) {
            rc = ERR_CORRUPT_HERE;
            goto out;
        }
        pos += used;
    }
    /* Each line ends at a newline and there are exactly `lines` of them after the magic. */
    ASSERT(pos == len);
    *out = e;
    *count = lines;
    e = NULL; /* ownership moved to *out */
out:
    free(e);
    return rc;
}

err_code
heads_write(FILE *f, const struct heads_entry *e, size_t count)
{
    char key[HEADS_B64_SIZE + 1];
    char root[HEADS_B64_SIZE + 1];

    ASSERT(f != NULL);
    ASSERT(e != NULL || count == 0);
    /* A replica may hold more logs than a heads file may list; refuse rather than write a file
     * that heads_decode would refuse. */
    if (count > HEADS_ENTRIES_MAX) {
        return ERR_MSGSIZE;
    }
    if (fputs(HEADS_MAGIC_LINE "\n", f) == EOF) {
        return ERR_IO;
    }
    for (size_t i = 0; i < count; i++) {
        ASSERT(i == 0 || memcmp(e[i - 1].key, e[i].key, KEY_PUBLIC_SIZE) < 0);
        sodium_bin2base64(key, sizeof key, e[i].key, KEY_PUBLIC_SIZE,
                          sodium_base64_VARIANT_ORIGINAL);
        sodium_bin2base64(root, sizeof root, e[i].root, HASH_SIZE, sodium_base64_VARIANT_ORIGINAL);
        if (fprintf(f, "%s %" PRIu64 " %s\n", key, e[i].size, root) < 0) {
            return ERR_IO;
        }
    }
    /* Flushed here so that a full disk is reported by this call, not by an unchecked fclose. */
    if (fflush(f) != 0 || ferror(f)) {
        return ERR_IO;
    }
    return ERR_OK;
}

/* Binary search; the loop halves [lo, hi) each turn, so it runs at most 64 times. */
const struct heads_entry *
heads_find(const struct heads_entry *e, size_t count, const uint8_t key[KEY_PUBLIC_SIZE])
{
    size_t lo = 0;
    size_t hi = count;
    ASSERT(e != NULL || count == 0);
    ASSERT(key != NULL);
    for (unsigned i = 0; i < 64 && lo < hi; i++) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(e[mid].key, key, KEY_PUBLIC_SIZE);
        if (c == 0) {
            return &e[mid];
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

err_code
heads_append(struct heads_entry **v, size_t *n, size_t *cap, const uint8_t key[KEY_PUBLIC_SIZE],
             uint64_t size, const uint8_t root[HASH_SIZE])
{
    if (*n == *cap) {
        size_t more = *cap ? *cap * 2 : 64;
        struct heads_entry *e = realloc(*v, more * sizeof *e);
        if (e == NULL) {
            return ERR_NOMEM;
        }
        *v = e;
        *cap = more;
    }
    memcpy((*v)[*n].key, key, KEY_PUBLIC_SIZE);
    (*v)[*n].size = size;
    memcpy((*v)[*n].root, root, HASH_SIZE);
    (*n)++;
    return ERR_OK;
}
