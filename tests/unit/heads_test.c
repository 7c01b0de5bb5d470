/*
 * Tests for proto/heads.c: files written by heads_write decode to the same entries, every
 * class of malformed line is refused with ERR_CORRUPT, the size and entry limits with
 * ERR_MSGSIZE, and heads_find finds exactly what is there. Malformed files are built by
 * editing a good line as text, so each test changes one thing.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heads.h"

#define MAGIC HEADS_MAGIC_LINE "\n"
/* A good line: key of 32 x 0x00, size 5, root of 32 x 0xff. */
#define KEY_B64 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define ROOT_B64 "//////////////////////////////////////////8="
#define LINE KEY_B64 " 5 " ROOT_B64 "\n"

static err_code
decode_str(const char *s, struct heads_entry **e, size_t *n)
{
    return heads_decode((const uint8_t *)s, strlen(s), e, n);
}

/* Decodes s, expecting want; on failure the out-params must be left empty. */
static void
expect(const char *s, err_code want)
{
    struct heads_entry *e = (struct heads_entry *)1;
    size_t n = 99;
    err_code rc = decode_str(s, &e, &n);
    cr_assert_eq(rc, want, "input \"%s\": got %d", s, rc);
    if (rc != ERR_OK) {
        cr_assert_null(e);
        cr_assert_eq(n, 0);
    }
    free(e);
}

static void
entry_of(struct heads_entry *e, uint32_t key_n, uint64_t size, uint8_t root_fill)
{
    memset(e, 0, sizeof *e);
    for (unsigned i = 0; i < 4; i++) {
        e->key[i] = (uint8_t)(key_n >> (24 - 8 * i));
    }
    e->size = size;
    memset(e->root, root_fill, sizeof e->root);
}

/* heads_write into memory; *out is malloc'd. */
static void
write_mem(const struct heads_entry *e, size_t n, char **out, size_t *len)
{
    FILE *f = open_memstream(out, len);
    cr_assert_not_null(f);
    cr_assert_eq(heads_write(f, e, n), ERR_OK);
    cr_assert_eq(fclose(f), 0);
}

/* ---- round trips -------------------------------------------------------------------------- */

/* Written entries, sizes 0, 1 and UINT64_MAX included, decode to themselves. */
Test(heads, round_trip)
{
    struct heads_entry in[4];
    struct heads_entry *out = NULL;
    size_t n = 0, len = 0;
    char *text = NULL;
    entry_of(&in[0], 1, 0, 0x00);
    entry_of(&in[1], 2, 1, 0x5a);
    entry_of(&in[2], 0x01000000, 123456789, 0xfe);
    entry_of(&in[3], 0xffffffff, UINT64_MAX, 0xff);
    write_mem(in, 4, &text, &len);
    cr_assert_eq(heads_decode((const uint8_t *)text, len, &out, &n), ERR_OK);
    cr_assert_eq(n, 4);
    cr_assert_arr_eq(out, in, sizeof in);
    free(out);
    free(text);
}

/* The documented spelling decodes; the writer produces exactly it. */
Test(heads, known_text)
{
    struct heads_entry *e = NULL;
    struct heads_entry want;
    size_t n = 0, len = 0;
    char *text = NULL;
    cr_assert_eq(decode_str(MAGIC LINE, &e, &n), ERR_OK);
    cr_assert_eq(n, 1);
    memset(&want, 0, sizeof want);
    want.size = 5;
    memset(want.root, 0xff, sizeof want.root);
    cr_assert_arr_eq(&e[0], &want, sizeof want);
    write_mem(e, n, &text, &len);
    cr_assert_eq(len, strlen(MAGIC LINE));
    cr_assert_arr_eq(text, MAGIC LINE, len);
    free(text);
    free(e);
}

/* No entries: the magic line alone, and an out pointer of NULL. */
Test(heads, empty)
{
    struct heads_entry *e = (struct heads_entry *)1;
    size_t n = 7, len = 0;
    char *text = NULL;
    cr_assert_eq(decode_str(MAGIC, &e, &n), ERR_OK);
    cr_assert_null(e);
    cr_assert_eq(n, 0);
    write_mem(NULL, 0, &text, &len);
    cr_assert_eq(len, strlen(MAGIC));
    cr_assert_arr_eq(text, MAGIC, len);
    free(text);
}

/* ---- malformed files ---------------------------------------------------------------------- */

/* The magic line: missing, wrong, without its newline, with CR, with trailing space. */
Test(heads, bad_magic)
{
    expect("", ERR_CORRUPT);
    expect(HEADS_MAGIC_LINE, ERR_CORRUPT);
    expect("cdht-heads v2\n", ERR_CORRUPT);
    expect("cdht-heads v1\r\n", ERR_CORRUPT);
    expect("cdht-heads v1 \n", ERR_CORRUPT);
    expect("Cdht-heads v1\n", ERR_CORRUPT);
    expect("\n" MAGIC, ERR_CORRUPT);
    expect(LINE, ERR_CORRUPT);
}

/* Line structure: unterminated, CR, spaces doubled, leading or trailing, tabs, empty lines,
 * missing fields, NUL bytes. */
Test(heads, bad_line_structure)
{
    expect(MAGIC KEY_B64 " 5 " ROOT_B64, ERR_CORRUPT);
    expect(MAGIC KEY_B64 " 5 " ROOT_B64 "\r\n", ERR_CORRUPT);
    expect(MAGIC KEY_B64 "  5 " ROOT_B64 "\n", ERR_CORRUPT);
    expect(MAGIC KEY_B64 " 5  " ROOT_B64 "\n", ERR_CORRUPT);
    expect(MAGIC " " KEY_B64 " 5 " ROOT_B64 "\n", ERR_CORRUPT);
    expect(MAGIC KEY_B64 " 5 " ROOT_B64 " \n", ERR_CORRUPT);
    expect(MAGIC KEY_B64 "\t5 " ROOT_B64 "\n", ERR_CORRUPT);
    expect(MAGIC KEY_B64 " 5\t" ROOT_B64 "\n", ERR_CORRUPT);
    expect(MAGIC "\n", ERR_CORRUPT);
    expect(MAGIC LINE "\n", ERR_CORRUPT);
    expect(MAGIC "\n" LINE, ERR_CORRUPT);
    expect(MAGIC KEY_B64 " 5\n", ERR_CORRUPT);
    expect(MAGIC KEY_B64 " 5 \n", ERR_CORRUPT);
    expect(MAGIC KEY_B64 "\n", ERR_CORRUPT);
    expect(MAGIC KEY_B64 " " ROOT_B64 "\n", ERR_CORRUPT);
    expect(MAGIC KEY_B64 " 5 " ROOT_B64 " 5\n", ERR_CORRUPT);
    expect(MAGIC LINE "x", ERR_CORRUPT);

    /* A NUL byte in each position class, which strlen-based code would miss. */
    const char good[] = MAGIC LINE;
    size_t positions[] = {3, sizeof MAGIC - 1 + 5, sizeof MAGIC - 1 + 45, sizeof MAGIC - 1 + 60,
                          sizeof good - 2};
    for (size_t i = 0; i < sizeof positions / sizeof positions[0]; i++) {
        uint8_t b[sizeof good];
        struct heads_entry *e = NULL;
        size_t n = 0;
        memcpy(b, good, sizeof good);
        b[positions[i]] = '\0';
        cr_assert_eq(heads_decode(b, sizeof good - 1, &e, &n), ERR_CORRUPT, "NUL at %zu",
                     positions[i]);
    }
}

/* Base64 fields: wrong alphabet (URL-safe), invalid characters, too short, too long, missing
 * padding, non-zero padding bits, and values of 31 or 33 bytes. */
Test(heads, bad_base64)
{
    /* URL-safe alphabet: '_' where the original has '/'. */
    expect(MAGIC KEY_B64 " 5 "
                         "_/////////////////////////////////////////8=\n",
           ERR_CORRUPT);
    expect(MAGIC "AAAAAAAAAAAAAAAAAAAA*AAAAAAAAAAAAAAAAAAAAAA= 5 " ROOT_B64 "\n", ERR_CORRUPT);
    /* 43 and 45 characters. */
    expect(MAGIC "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= 5 " ROOT_B64 "\n", ERR_CORRUPT);
    expect(MAGIC "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= 5 " ROOT_B64 "\n", ERR_CORRUPT);
    /* No padding (44 characters, 33 bytes' worth). */
    expect(MAGIC "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA 5 " ROOT_B64 "\n", ERR_CORRUPT);
    /* Non-canonical: the last character carries bits that padding should zero. */
    expect(MAGIC "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB= 5 " ROOT_B64 "\n", ERR_CORRUPT);
    expect(MAGIC KEY_B64 " 5 "
                         "//////////////////////////////////////////9=\n",
           ERR_CORRUPT);
    /* 44 characters decoding to 31 bytes. */
    expect(MAGIC "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA== 5 " ROOT_B64 "\n", ERR_CORRUPT);
    /* Padding in the middle. */
    expect(MAGIC "AAAA=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= 5 " ROOT_B64 "\n", ERR_CORRUPT);
    /* Bytes above 0x7f, which libsodium 1.0.18 alone would decode as base64 characters: in
     * the key, in the root, and as the padding. */
    expect(MAGIC "AAAA\xdb"
                 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= 5 " ROOT_B64 "\n",
           ERR_CORRUPT);
    expect(MAGIC KEY_B64 " 5 "
                         "/////\xdb\xd0///////////////////////////////////8=\n",
           ERR_CORRUPT);
    expect(MAGIC KEY_B64 " 5 "
                         "//////////////////////////////////////////8\x80\n",
           ERR_CORRUPT);
    /* Whitespace inside a field. */
    expect(MAGIC "AAAA AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= 5 " ROOT_B64 "\n", ERR_CORRUPT);
}

/* Sizes: decimal digits only, no sign, no leading zero, within u64. */
Test(heads, sizes)
{
    expect(MAGIC KEY_B64 " 0 " ROOT_B64 "\n", ERR_OK);
    expect(MAGIC KEY_B64 " 18446744073709551615 " ROOT_B64 "\n", ERR_OK);
    expect(MAGIC KEY_B64 " 18446744073709551616 " ROOT_B64 "\n", ERR_CORRUPT);
    expect(MAGIC KEY_B64 " 99999999999999999999 " ROOT_B64 "\n", ERR_CORRUPT);
    expect(MAGIC KEY_B64 " 100000000000000000000 " ROOT_B64 "\n", ERR_CORRUPT);
    expect(MAGIC KEY_B64 " 1000000000000000000000000 " ROOT_B64 "\n", ERR_CORRUPT);
    expect(MAGIC KEY_B64 " 00 " ROOT_B64 "\n", ERR_CORRUPT);
    expect(MAGIC KEY_B64 " 05 " ROOT_B64 "\n", ERR_CORRUPT);
    expect(MAGIC KEY_B64 " 018446744073709551615 " ROOT_B64 "\n", ERR_CORRUPT);
    expect(MAGIC KEY_B64 " +5 " ROOT_B64 "\n", ERR_CORRUPT);
    expect(MAGIC KEY_B64 " -5 " ROOT_B64 "\n", ERR_CORRUPT);
    expect(MAGIC KEY_B64 " 5a " ROOT_B64 "\n", ERR_CORRUPT);
    expect(MAGIC KEY_B64 " 0x5 " ROOT_B64 "\n", ERR_CORRUPT);
    expect(MAGIC KEY_B64 " 5.0 " ROOT_B64 "\n", ERR_CORRUPT);
    expect(MAGIC KEY_B64 "  " ROOT_B64 "\n", ERR_CORRUPT);
}

/* Keys strictly increasing by bytes: equal or decreasing neighbours are refused. */
Test(heads, order)
{
    struct heads_entry in[2];
    char *text = NULL;
    size_t len = 0;
    entry_of(&in[0], 1, 3, 1);
    entry_of(&in[1], 2, 4, 2);
    write_mem(in, 2, &text, &len);
    /* Swap the two lines: same bytes, wrong order. */
    size_t m = strlen(MAGIC);
    size_t line = (len - m) / 2;
    char *swapped = malloc(len + 1);
    cr_assert_not_null(swapped);
    memcpy(swapped, text, m);
    memcpy(swapped + m, text + m + line, line);
    memcpy(swapped + m + line, text + m, line);
    swapped[len] = '\0';
    expect(swapped, ERR_CORRUPT);
    /* The first line twice, even with a different size and root. */
    expect(MAGIC LINE KEY_B64 " 6 " KEY_B64 "\n", ERR_CORRUPT);
    expect(MAGIC LINE LINE, ERR_CORRUPT);
    free(swapped);
    free(text);
}

/* A file cut at any length shorter than the whole is ERR_CORRUPT, zero length included,
 * except where the cut falls just after a newline: that is a shorter, valid file. */
Test(heads, truncated_anywhere)
{
    const char good[] = MAGIC LINE LINE;
    struct heads_entry *e = NULL;
    size_t n = 0;
    /* Make the two lines distinct and ordered: the second key starts with 'B' (0x04...). */
    char text[sizeof good];
    memcpy(text, good, sizeof good);
    text[strlen(MAGIC) + strlen(LINE)] = 'B';
    cr_assert_eq(heads_decode((const uint8_t *)text, sizeof text - 1, &e, &n), ERR_OK);
    cr_assert_eq(n, 2);
    free(e);
    for (size_t len = 0; len < sizeof text - 1; len++) {
        e = NULL;
        err_code want = len > 0 && text[len - 1] == '\n' ? ERR_OK : ERR_CORRUPT;
        cr_assert_eq(heads_decode((const uint8_t *)text, len, &e, &n), want, "length %zu", len);
        if (want == ERR_OK) {
            cr_assert_eq(n, len == strlen(MAGIC) ? 0 : 1);
        }
        free(e);
    }
    cr_assert_eq(heads_decode(NULL, 0, &e, &n), ERR_CORRUPT);
}

/* ---- limits ------------------------------------------------------------------------------- */

/* A file of HEADS_FILE_SIZE_MAX bytes passes the size check (and is refused for its content);
 * one byte more is ERR_MSGSIZE before any is read. */
Test(heads, file_size_limit)
{
    uint8_t *b = malloc(HEADS_FILE_SIZE_MAX + 1);
    struct heads_entry *e = NULL;
    size_t n = 0;
    cr_assert_not_null(b);
    memset(b, 'x', HEADS_FILE_SIZE_MAX + 1);
    memcpy(b, MAGIC, strlen(MAGIC));
    b[HEADS_FILE_SIZE_MAX - 1] = '\n';
    cr_assert_eq(heads_decode(b, HEADS_FILE_SIZE_MAX, &e, &n), ERR_CORRUPT);
    cr_assert_eq(heads_decode(b, HEADS_FILE_SIZE_MAX + 1, &e, &n), ERR_MSGSIZE);
    free(b);
}

/* HEADS_ENTRIES_MAX entries round trip and can each be found; one more is ERR_MSGSIZE from
 * the decoder and from the writer. */
Test(heads, entries_limit, .timeout = 60)
{
    struct heads_entry *in = calloc(HEADS_ENTRIES_MAX + 1, sizeof *in);
    struct heads_entry *out = NULL;
    size_t n = 0, len = 0;
    char *text = NULL;
    cr_assert_not_null(in);
    for (uint32_t i = 0; i <= HEADS_ENTRIES_MAX; i++) {
        entry_of(&in[i], i, i, (uint8_t)i);
    }
    write_mem(in, HEADS_ENTRIES_MAX, &text, &len);
    cr_assert_leq(len, HEADS_FILE_SIZE_MAX);
    cr_assert_eq(heads_decode((const uint8_t *)text, len, &out, &n), ERR_OK);
    cr_assert_eq(n, HEADS_ENTRIES_MAX);
    cr_assert_arr_eq(out, in, HEADS_ENTRIES_MAX * sizeof *in);
    for (uint32_t i = 0; i < HEADS_ENTRIES_MAX; i++) {
        cr_assert_eq(heads_find(out, n, in[i].key), &out[i]);
    }
    free(out);
    free(text);

    /* One more line, written by hand since the writer refuses it. */
    FILE *f = open_memstream(&text, &len);
    cr_assert_not_null(f);
    cr_assert_eq(heads_write(f, in, HEADS_ENTRIES_MAX + 1), ERR_MSGSIZE);
    fclose(f);
    free(text);
    f = open_memstream(&text, &len);
    cr_assert_eq(heads_write(f, in, HEADS_ENTRIES_MAX), ERR_OK);
    char k[45], r[45];
    sodium_bin2base64(k, sizeof k, in[HEADS_ENTRIES_MAX].key, 32, sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(r, sizeof r, in[HEADS_ENTRIES_MAX].root, 32, sodium_base64_VARIANT_ORIGINAL);
    fprintf(f, "%s 1 %s\n", k, r);
    fclose(f);
    out = NULL;
    cr_assert_eq(heads_decode((const uint8_t *)text, len, &out, &n), ERR_MSGSIZE);
    cr_assert_null(out);
    free(text);
    free(in);
}

/* ---- heads_find --------------------------------------------------------------------------- */

/* Each present key is found; keys below, between and above are not; empty input finds none. */
Test(heads, find)
{
    struct heads_entry e[5];
    uint8_t key[KEY_PUBLIC_SIZE];
    for (uint32_t i = 0; i < 5; i++) {
        entry_of(&e[i], 10 * (i + 1), i, 0);
    }
    for (uint32_t i = 0; i < 5; i++) {
        cr_assert_eq(heads_find(e, 5, e[i].key), &e[i]);
        cr_assert_eq(heads_find(e, i + 1, e[i].key), &e[i]);
    }
    uint32_t absent[] = {0, 5, 15, 25, 45, 51, 0xffffffff};
    for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++) {
        struct heads_entry probe;
        entry_of(&probe, absent[i], 0, 0);
        memcpy(key, probe.key, sizeof key);
        cr_assert_null(heads_find(e, 5, key), "key %u", absent[i]);
    }
    cr_assert_null(heads_find(NULL, 0, e[0].key));
    /* A key that differs only in its last byte. */
    memcpy(key, e[2].key, sizeof key);
    key[KEY_PUBLIC_SIZE - 1] = 1;
    cr_assert_null(heads_find(e, 5, key));
}

/* heads_write with unsorted entries is a programmer error: it aborts. */
Test(heads, write_unsorted_aborts, .signal = SIGABRT)
{
    struct heads_entry e[2];
    entry_of(&e[0], 2, 0, 0);
    entry_of(&e[1], 1, 0, 0);
    FILE *f = tmpfile();
    cr_assert_not_null(f);
    err_code rc = heads_write(f, e, 2);
    cr_assert_fail("returned %d instead of aborting", rc);
}

/* heads_write with a duplicate key aborts too. */
Test(heads, write_duplicate_aborts, .signal = SIGABRT)
{
    struct heads_entry e[2];
    entry_of(&e[0], 1, 0, 0);
    entry_of(&e[1], 1, 5, 0);
    FILE *f = tmpfile();
    cr_assert_not_null(f);
    err_code rc = heads_write(f, e, 2);
    cr_assert_fail("returned %d instead of aborting", rc);
}
