/*
 * Tests for proto/bundle.c: round trips through the writer and reader, every byte region of a
 * written file damaged in turn, and bundles built by hand (header, one zstd frame of records
 * we lay out ourselves, a correct trailer hash) to reach the checks that sit behind the hash:
 * grammar, limits and the inflated-size accounting. Each asserts the exact err_code.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include "bundle.h"

/* ---- helpers ------------------------------------------------------------------------------ */

/* A growable byte buffer, for inflated bodies and whole files built by hand. */
struct buf {
    uint8_t *p; /* owned */
    size_t len;
    size_t cap;
};

static void
buf_put(struct buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) {
            cap *= 2;
        }
        b->p = realloc(b->p, cap);
        cr_assert_not_null(b->p);
        b->cap = cap;
    }
    if (n > 0) {
        memcpy(b->p + b->len, p, n);
    }
    b->len += n;
}

static void
buf_free(struct buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static void
be_put(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    }
}

static uint64_t
be_get(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

/* A record header declaring len bytes, with no payload (for lengths never sent whole). */
static void
rec_hdr(struct buf *b, uint8_t type, uint32_t len)
{
    uint8_t h[BUNDLE_RECORD_HEADER_SIZE];
    h[0] = type;
    be_put(h + 1, len, 4);
    buf_put(b, h, sizeof h);
}

static void
rec_put(struct buf *b, uint8_t type, const void *payload, uint32_t len)
{
    rec_hdr(b, type, len);
    buf_put(b, payload, len);
}

/* A record whose payload is len bytes of fill. */
static void
rec_fill(struct buf *b, uint8_t type, uint32_t len, uint8_t fill)
{
    uint8_t *p = malloc(len > 0 ? len : 1);
    cr_assert_not_null(p);
    memset(p, fill, len);
    rec_put(b, type, p, len);
    free(p);
}

static void
key_of(uint8_t key[KEY_PUBLIC_SIZE], uint32_t n)
{
    memset(key, 0, KEY_PUBLIC_SIZE);
    be_put(key, n, 4);
}

static void
rec_log(struct buf *b, uint32_t key_n, uint64_t first, uint64_t count)
{
    uint8_t p[KEY_PUBLIC_SIZE + 16];
    key_of(p, key_n);
    be_put(p + KEY_PUBLIC_SIZE, first, 8);
    be_put(p + KEY_PUBLIC_SIZE + 8, count, 8);
    rec_put(b, BUNDLE_REC_LOG, p, sizeof p);
}

static void
rec_end(struct buf *b, uint64_t logs, uint64_t leaves)
{
    uint8_t p[16];
    be_put(p, logs, 8);
    be_put(p + 8, leaves, 8);
    rec_put(b, BUNDLE_REC_END, p, sizeof p);
}

/* Recomputes the trailer hash of a whole file held in f. */
static void
fix_hash(struct buf *f)
{
    cr_assert_geq(f->len, BUNDLE_TRAILER_SIZE);
    crypto_hash_sha256(f->p + f->len - HASH_SIZE, f->p, f->len - HASH_SIZE);
}

/* Wraps body (the bytes between header and trailer, used as given) into a file declaring
 * `declared` inflated bytes, with correct sizes and hash. */
static void
wrap_body(struct buf *file, const uint8_t *body, size_t body_len, uint64_t declared)
{
    uint8_t hdr[BUNDLE_HEADER_SIZE] = {0};
    uint8_t tr[BUNDLE_TRAILER_SIZE] = {0};
    memcpy(hdr, BUNDLE_MAGIC, 8);
    be_put(hdr + 8, BUNDLE_VERSION, 2);
    file->len = 0;
    buf_put(file, hdr, sizeof hdr);
    buf_put(file, body, body_len);
    be_put(tr, declared, 8);
    be_put(tr + 8, body_len, 8);
    buf_put(file, tr, sizeof tr);
    fix_hash(file);
}

/* One zstd frame of src at the bundle level, with the content checksum, as the writer makes. */
static void
zstd_frame(struct buf *out, const uint8_t *src, size_t len)
{
    size_t cap = ZSTD_compressBound(len);
    uint8_t *z = malloc(cap);
    ZSTD_CCtx *c = ZSTD_createCCtx();
    cr_assert_not_null(z);
    cr_assert_not_null(c);
    cr_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 3)));
    cr_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)));
    size_t n = ZSTD_compress2(c, z, cap, src, len);
    cr_assert(!ZSTD_isError(n));
    buf_put(out, z, n);
    ZSTD_freeCCtx(c);
    free(z);
}

/* A hand-made bundle: inflated compressed into one frame, declaring `declared` bytes. */
static void
craft(struct buf *file, const struct buf *inflated, uint64_t declared)
{
    struct buf body = {0};
    zstd_frame(&body, inflated->p, inflated->len);
    wrap_body(file, body.p, body.len, declared);
    buf_free(&body);
}

/* As craft, declaring the true inflated size. */
static void
craft_exact(struct buf *file, const struct buf *inflated)
{
    craft(file, inflated, inflated->len);
}

/* A read-only stream over a file image (it must outlive the stream). */
static FILE *
open_mem(const struct buf *b)
{
    FILE *f = fmemopen(b->p, b->len, "rb");
    cr_assert_not_null(f);
    return f;
}

static err_code
open_only(const struct buf *file, uint64_t inflated_max)
{
    struct bundle_reader *r = NULL;
    FILE *f = open_mem(file);
    err_code rc = bundle_reader_new(&r, f, inflated_max);
    cr_assert_eq(rc == ERR_OK, r != NULL);
    bundle_reader_free(r);
    fclose(f);
    return rc;
}

/* Reads a bundle to END; returns the first error, from new or from next. *records counts the
 * records read successfully, END included. */
static err_code
read_all_max(const struct buf *file, uint64_t inflated_max, size_t *records)
{
    struct bundle_reader *r = NULL;
    struct bundle_record rec;
    size_t n = 0;
    FILE *f = open_mem(file);
    err_code rc = bundle_reader_new(&r, f, inflated_max);
    for (size_t i = 0; rc == ERR_OK && i < 10u * 1000u * 1000u; i++) {
        rc = bundle_reader_next(r, &rec);
        if (rc != ERR_OK) {
            break;
        }
        n++;
        if (rec.type == BUNDLE_REC_END) {
            break;
        }
    }
    bundle_reader_free(r);
    fclose(f);
    if (records != NULL) {
        *records = n;
    }
    return rc;
}

static err_code
read_all(const struct buf *file)
{
    return read_all_max(file, BUNDLE_INFLATED_SIZE_MAX, NULL);
}

static void
slurp(FILE *f, struct buf *out)
{
    uint8_t chunk[65536];
    size_t n;
    out->len = 0;
    cr_assert_eq(fseek(f, 0, SEEK_SET), 0);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        buf_put(out, chunk, n);
    }
    cr_assert(!ferror(f));
}

/* Deterministic, incompressible bytes (xorshift64), so zstd stores leaves as raw blocks. */
static void
fill_random(uint8_t *p, size_t n, uint64_t *state)
{
    uint64_t x = *state;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t)(x >> 24);
    }
    *state = x;
}

/* The sample bundle: log 1 with 0 leaves, log 2 with 1 leaf, log 3 with many leaves of
 * varied sizes. Leaves are random so the zstd body is as long as the records. */
#define SAMPLE_MANY 300u

static size_t
sample_leaf_len(uint64_t i)
{
    return 1 + (size_t)((i * 7919u) % 2000u);
}

static void
write_sample(struct buf *file)
{
    struct bundle_writer *w = NULL;
    struct bundle_log_hdr h;
    uint8_t leaf[2048];
    uint8_t note[64];
    uint64_t seed = 42;
    FILE *f = tmpfile();
    cr_assert_not_null(f);
    cr_assert_eq(bundle_writer_new(&w, f), ERR_OK);

    memset(note, 'n', sizeof note);
    key_of(h.key, 1);
    h.first = 0;
    h.count = 0;
    cr_assert_eq(bundle_write_log(w, &h), ERR_OK);
    cr_assert_eq(bundle_write_checkpoint(w, note, 10), ERR_OK);

    key_of(h.key, 2);
    h.first = 7;
    h.count = 1;
    cr_assert_eq(bundle_write_log(w, &h), ERR_OK);
    fill_random(leaf, 100, &seed);
    cr_assert_eq(bundle_write_leaf(w, leaf, 100), ERR_OK);
    cr_assert_eq(bundle_write_checkpoint(w, note, 20), ERR_OK);

    key_of(h.key, 3);
    h.first = 1000;
    h.count = SAMPLE_MANY;
    cr_assert_eq(bundle_write_log(w, &h), ERR_OK);
    for (uint64_t i = 0; i < SAMPLE_MANY; i++) {
        size_t len = sample_leaf_len(i);
        fill_random(leaf, len, &seed);
        cr_assert_eq(bundle_write_leaf(w, leaf, len), ERR_OK);
    }
    cr_assert_eq(bundle_write_checkpoint(w, note, sizeof note), ERR_OK);
    cr_assert_eq(bundle_writer_finish(w), ERR_OK);
    bundle_writer_free(w);
    slurp(f, file);
    fclose(f);
}

/* The smallest bundle: no logs, END only. */
static void
write_empty(struct buf *file)
{
    struct bundle_writer *w = NULL;
    FILE *f = tmpfile();
    cr_assert_not_null(f);
    cr_assert_eq(bundle_writer_new(&w, f), ERR_OK);
    cr_assert_eq(bundle_writer_finish(w), ERR_OK);
    bundle_writer_free(w);
    slurp(f, file);
    fclose(f);
}

static uint64_t
trailer_inflated(const struct buf *file)
{
    return be_get(file->p + file->len - BUNDLE_TRAILER_SIZE, 8);
}

/* ---- round trips -------------------------------------------------------------------------- */

/* The sample reads back record by record, with sections, indexes and totals as written. */
Test(bundle, round_trip_sample)
{
    struct buf file = {0};
    struct bundle_reader *r = NULL;
    struct bundle_record rec;
    uint8_t leaf[2048];
    uint64_t seed = 42;
    write_sample(&file);
    FILE *f = open_mem(&file);
    cr_assert_eq(bundle_reader_new(&r, f, BUNDLE_INFLATED_SIZE_MAX), ERR_OK);

    cr_assert_eq(bundle_reader_next(r, &rec), ERR_OK);
    cr_assert_eq(rec.type, BUNDLE_REC_LOG);
    cr_assert_eq(rec.len, 48);
    cr_assert_eq(be_get(rec.log.key, 4), 1);
    cr_assert_eq(rec.log.first, 0);
    cr_assert_eq(rec.log.count, 0);
    cr_assert_eq(bundle_reader_next(r, &rec), ERR_OK);
    cr_assert_eq(rec.type, BUNDLE_REC_CHECKPOINT);
    cr_assert_eq(rec.len, 10);
    cr_assert_eq(rec.data[0], 'n');

    cr_assert_eq(bundle_reader_next(r, &rec), ERR_OK);
    cr_assert_eq(rec.type, BUNDLE_REC_LOG);
    cr_assert_eq(rec.log.first, 7);
    cr_assert_eq(rec.log.count, 1);
    cr_assert_eq(bundle_reader_next(r, &rec), ERR_OK);
    cr_assert_eq(rec.type, BUNDLE_REC_LEAF);
    cr_assert_eq(rec.leaf_index, 7);
    cr_assert_eq(rec.len, 100);
    fill_random(leaf, 100, &seed);
    cr_assert_arr_eq(rec.data, leaf, 100);
    cr_assert_eq(be_get(rec.log.key, 4), 2);
    cr_assert_eq(bundle_reader_next(r, &rec), ERR_OK);
    cr_assert_eq(rec.type, BUNDLE_REC_CHECKPOINT);
    cr_assert_eq(rec.len, 20);

    cr_assert_eq(bundle_reader_next(r, &rec), ERR_OK);
    cr_assert_eq(rec.type, BUNDLE_REC_LOG);
    cr_assert_eq(rec.log.count, SAMPLE_MANY);
    for (uint64_t i = 0; i < SAMPLE_MANY; i++) {
        size_t len = sample_leaf_len(i);
        fill_random(leaf, len, &seed);
        cr_assert_eq(bundle_reader_next(r, &rec), ERR_OK);
        cr_assert_eq(rec.type, BUNDLE_REC_LEAF);
        cr_assert_eq(rec.leaf_index, 1000 + i);
        cr_assert_eq(rec.len, len);
        cr_assert_arr_eq(rec.data, leaf, len);
    }
    cr_assert_eq(bundle_reader_next(r, &rec), ERR_OK);
    cr_assert_eq(rec.type, BUNDLE_REC_CHECKPOINT);
    cr_assert_eq(rec.len, 64);

    cr_assert_eq(bundle_reader_next(r, &rec), ERR_OK);
    cr_assert_eq(rec.type, BUNDLE_REC_END);
    cr_assert_eq(rec.logs, 3);
    cr_assert_eq(rec.leaves, 1 + SAMPLE_MANY);
    /* After END, END again. */
    cr_assert_eq(bundle_reader_next(r, &rec), ERR_OK);
    cr_assert_eq(rec.type, BUNDLE_REC_END);
    cr_assert_eq(rec.logs, 3);
    bundle_reader_free(r);
    fclose(f);
    buf_free(&file);
}

/* A bundle of no logs is END alone, and reads as such. */
Test(bundle, round_trip_empty)
{
    struct buf file = {0};
    size_t n = 0;
    write_empty(&file);
    cr_assert_eq(trailer_inflated(&file), BUNDLE_RECORD_HEADER_SIZE + 16);
    cr_assert_eq(read_all_max(&file, BUNDLE_INFLATED_SIZE_MAX, &n), ERR_OK);
    cr_assert_eq(n, 1);
    buf_free(&file);
}

/* The writer lays the file out as bundle.h says: header fields, sizes that add up, a hash
 * over everything before it. */
Test(bundle, writer_layout)
{
    struct buf file = {0};
    uint8_t h[HASH_SIZE];
    write_sample(&file);
    cr_assert_arr_eq(file.p, BUNDLE_MAGIC, 8);
    cr_assert_eq(be_get(file.p + 8, 2), BUNDLE_VERSION);
    cr_assert_eq(be_get(file.p + 10, 2), 0);
    cr_assert_eq(be_get(file.p + 12, 4), 0);
    const uint8_t *tr = file.p + file.len - BUNDLE_TRAILER_SIZE;
    cr_assert_eq(be_get(tr + 8, 8), file.len - BUNDLE_HEADER_SIZE - BUNDLE_TRAILER_SIZE);
    crypto_hash_sha256(h, file.p, file.len - HASH_SIZE);
    cr_assert_arr_eq(h, tr + 16, HASH_SIZE);
    /* The body is one zstd frame whose content is the inflated size the trailer declares. */
    const uint8_t *body = file.p + BUNDLE_OFF_BODY;
    size_t body_len = file.len - BUNDLE_HEADER_SIZE - BUNDLE_TRAILER_SIZE;
    cr_assert_eq(ZSTD_findFrameCompressedSize(body, body_len), body_len);
    buf_free(&file);
}

/* Rewinding mid-way and after END replays the same records from the first. */
Test(bundle, rewind_replays)
{
    struct buf file = {0};
    struct bundle_reader *r = NULL;
    struct bundle_record rec;
    write_sample(&file);
    FILE *f = open_mem(&file);
    cr_assert_eq(bundle_reader_new(&r, f, BUNDLE_INFLATED_SIZE_MAX), ERR_OK);
    for (unsigned i = 0; i < 10; i++) {
        cr_assert_eq(bundle_reader_next(r, &rec), ERR_OK);
    }
    for (unsigned pass = 0; pass < 2; pass++) {
        cr_assert_eq(bundle_reader_rewind(r), ERR_OK);
        size_t n = 0;
        uint64_t leaves = 0;
        do {
            cr_assert_eq(bundle_reader_next(r, &rec), ERR_OK);
            n++;
            leaves += rec.type == BUNDLE_REC_LEAF;
        } while (rec.type != BUNDLE_REC_END && n < 1000);
        cr_assert_eq(n, 3 + 3 + 1 + SAMPLE_MANY + 1);
        cr_assert_eq(leaves, 1 + SAMPLE_MANY);
    }
    bundle_reader_free(r);
    fclose(f);
    buf_free(&file);
}

/* After an error the reader stays failed; rewind starts a clean pass that fails the same. */
Test(bundle, error_is_sticky_until_rewind)
{
    struct buf in = {0}, file = {0};
    struct bundle_reader *r = NULL;
    struct bundle_record rec;
    rec_fill(&in, BUNDLE_REC_LEAF, 3, 'x');
    rec_end(&in, 0, 0);
    craft_exact(&file, &in);
    FILE *f = open_mem(&file);
    cr_assert_eq(bundle_reader_new(&r, f, BUNDLE_INFLATED_SIZE_MAX), ERR_OK);
    cr_assert_eq(bundle_reader_next(r, &rec), ERR_CORRUPT);
    cr_assert_eq(bundle_reader_next(r, &rec), ERR_CORRUPT);
    cr_assert_eq(bundle_reader_rewind(r), ERR_OK);
    cr_assert_eq(bundle_reader_next(r, &rec), ERR_CORRUPT);
    bundle_reader_free(r);
    fclose(f);
    buf_free(&in);
    buf_free(&file);
}

/* ---- damaged files: each byte region ------------------------------------------------------ */

static err_code
flip_and_open(const struct buf *orig, size_t off, uint8_t mask, uint64_t inflated_max)
{
    struct buf b = {0};
    buf_put(&b, orig->p, orig->len);
    b.p[off] ^= mask;
    err_code rc = open_only(&b, inflated_max);
    buf_free(&b);
    return rc;
}

/* Header bytes: magic, version, flags, reserved. Each is refused by bundle_reader_new. */
Test(bundle, flip_header_regions)
{
    struct buf file = {0};
    write_sample(&file);
    cr_assert_eq(open_only(&file, BUNDLE_INFLATED_SIZE_MAX), ERR_OK);
    for (size_t off = 0; off < BUNDLE_HEADER_SIZE; off++) {
        cr_assert_eq(flip_and_open(&file, off, 0x01, BUNDLE_INFLATED_SIZE_MAX), ERR_CORRUPT,
                     "offset %zu", off);
        cr_assert_eq(flip_and_open(&file, off, 0x80, BUNDLE_INFLATED_SIZE_MAX), ERR_CORRUPT,
                     "offset %zu", off);
    }
    buf_free(&file);
}

/* An unknown version is refused before anything else is read: with version 2 the file is
 * refused even though its trailer would be impossible for version 1 (length 16). */
Test(bundle, unknown_version_refused_first)
{
    struct buf file = {0};
    uint8_t hdr[BUNDLE_HEADER_SIZE] = {0};
    memcpy(hdr, BUNDLE_MAGIC, 8);
    be_put(hdr + 8, 2, 2);
    buf_put(&file, hdr, sizeof hdr);
    cr_assert_eq(open_only(&file, BUNDLE_INFLATED_SIZE_MAX), ERR_CORRUPT);
    be_put(file.p + 8, 0, 2);
    cr_assert_eq(open_only(&file, BUNDLE_INFLATED_SIZE_MAX), ERR_CORRUPT);
    buf_free(&file);
}

/* Body bytes (start, middle, end) fail the file hash in bundle_reader_new. */
Test(bundle, flip_body_fails_hash)
{
    struct buf file = {0};
    write_sample(&file);
    size_t body_len = file.len - BUNDLE_HEADER_SIZE - BUNDLE_TRAILER_SIZE;
    size_t offs[] = {BUNDLE_OFF_BODY, BUNDLE_OFF_BODY + body_len / 2,
                     BUNDLE_OFF_BODY + body_len - 1};
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        cr_assert_eq(flip_and_open(&file, offs[i], 0x10, BUNDLE_INFLATED_SIZE_MAX), ERR_CORRUPT,
                     "offset %zu", offs[i]);
    }
    buf_free(&file);
}

/* The same body damage with the file hash recomputed passes bundle_reader_new and is caught
 * by zstd: the frame magic at the start, the content checksum for a leaf byte in the middle,
 * the stored checksum itself at the end. Leaves are random, so the middle is raw leaf bytes. */
Test(bundle, flip_body_with_fixed_hash_fails_in_next)
{
    struct buf file = {0};
    write_sample(&file);
    size_t body_len = file.len - BUNDLE_HEADER_SIZE - BUNDLE_TRAILER_SIZE;
    size_t offs[] = {BUNDLE_OFF_BODY, BUNDLE_OFF_BODY + body_len / 2,
                     BUNDLE_OFF_BODY + body_len - 1};
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        struct buf b = {0};
        buf_put(&b, file.p, file.len);
        b.p[offs[i]] ^= 0x10;
        fix_hash(&b);
        cr_assert_eq(open_only(&b, BUNDLE_INFLATED_SIZE_MAX), ERR_OK);
        cr_assert_eq(read_all(&b), ERR_CORRUPT, "offset %zu", offs[i]);
        buf_free(&b);
    }
    buf_free(&file);
}

/* Trailer fields. The inflated size: a changed low byte fails the hash (ERR_CORRUPT); a
 * changed high byte declares more than inflated_max, which is checked first (ERR_MSGSIZE). The
 * compressed size no longer matches the file length. The hash, any byte, is ERR_CORRUPT. */
Test(bundle, flip_trailer_fields)
{
    struct buf file = {0};
    write_sample(&file);
    size_t tr = file.len - BUNDLE_TRAILER_SIZE;
    cr_assert_eq(flip_and_open(&file, tr + 7, 0x01, BUNDLE_INFLATED_SIZE_MAX), ERR_CORRUPT);
    cr_assert_eq(flip_and_open(&file, tr + 0, 0x80, BUNDLE_INFLATED_SIZE_MAX), ERR_MSGSIZE);
    cr_assert_eq(flip_and_open(&file, tr + 0, 0x80, UINT64_MAX), ERR_CORRUPT);
    for (size_t i = 8; i < 16; i++) {
        cr_assert_eq(flip_and_open(&file, tr + i, 0x01, BUNDLE_INFLATED_SIZE_MAX), ERR_CORRUPT,
                     "offset %zu", i);
    }
    for (size_t i = 16; i < BUNDLE_TRAILER_SIZE; i++) {
        cr_assert_eq(flip_and_open(&file, tr + i, 0x04, BUNDLE_INFLATED_SIZE_MAX), ERR_CORRUPT,
                     "offset %zu", i);
    }
    buf_free(&file);
}

/* A file cut at any length, zero included, is ERR_CORRUPT from bundle_reader_new. */
Test(bundle, truncated_anywhere)
{
    struct buf file = {0};
    write_empty(&file);
    for (size_t len = 0; len < file.len; len++) {
        struct buf b = {0};
        buf_put(&b, file.p, len);
        cr_assert_eq(open_only(&b, BUNDLE_INFLATED_SIZE_MAX), ERR_CORRUPT, "length %zu", len);
        buf_free(&b);
    }
    buf_free(&file);
    write_sample(&file);
    for (size_t len = 0; len < file.len; len += 1 + len / 8) {
        struct buf b = {0};
        buf_put(&b, file.p, len);
        cr_assert_eq(open_only(&b, BUNDLE_INFLATED_SIZE_MAX), ERR_CORRUPT, "length %zu", len);
        buf_free(&b);
    }
    buf_free(&file);
}

/* Bytes appended after the trailer, even a copy of the trailer itself, are ERR_CORRUPT. */
Test(bundle, trailing_garbage)
{
    struct buf file = {0};
    uint8_t junk[BUNDLE_TRAILER_SIZE] = {0};
    write_sample(&file);
    size_t lens[] = {1, 47, BUNDLE_TRAILER_SIZE};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        struct buf b = {0};
        buf_put(&b, file.p, file.len);
        if (lens[i] == BUNDLE_TRAILER_SIZE) {
            buf_put(&b, file.p + file.len - BUNDLE_TRAILER_SIZE, BUNDLE_TRAILER_SIZE);
        } else {
            buf_put(&b, junk, lens[i]);
        }
        cr_assert_eq(open_only(&b, BUNDLE_INFLATED_SIZE_MAX), ERR_CORRUPT, "%zu bytes", lens[i]);
        buf_free(&b);
    }
    buf_free(&file);
}

/* ---- the declared inflated size ----------------------------------------------------------- */

/* inflated_max at the declared size, one below, and zero. */
Test(bundle, declared_inflated_against_max)
{
    struct buf file = {0};
    write_sample(&file);
    uint64_t declared = trailer_inflated(&file);
    cr_assert_eq(read_all_max(&file, declared, NULL), ERR_OK);
    cr_assert_eq(open_only(&file, declared - 1), ERR_MSGSIZE);
    cr_assert_eq(open_only(&file, 0), ERR_MSGSIZE);
    buf_free(&file);
}

/* A hand-made bundle declaring more than BUNDLE_INFLATED_SIZE_MAX, hash and all correct, is
 * refused by bundle_reader_new before anything is decompressed. */
Test(bundle, crafted_declared_above_limit)
{
    struct buf in = {0}, file = {0};
    rec_end(&in, 0, 0);
    craft(&file, &in, (uint64_t)BUNDLE_INFLATED_SIZE_MAX + 1);
    cr_assert_eq(open_only(&file, BUNDLE_INFLATED_SIZE_MAX), ERR_MSGSIZE);
    craft(&file, &in, UINT64_MAX);
    cr_assert_eq(open_only(&file, BUNDLE_INFLATED_SIZE_MAX), ERR_MSGSIZE);
    buf_free(&in);
    buf_free(&file);
}

/* Records that inflate to more than the trailer declares are refused as soon as the excess
 * appears: ERR_MSGSIZE, the same answer as a declared size above the limit, because the
 * declared size is the limit this reader holds the body to. */
Test(bundle, crafted_actual_exceeds_declared)
{
    struct buf in = {0}, file = {0};
    rec_log(&in, 1, 0, 2);
    rec_fill(&in, BUNDLE_REC_LEAF, 5000, 'a');
    rec_fill(&in, BUNDLE_REC_LEAF, 5000, 'b');
    rec_fill(&in, BUNDLE_REC_CHECKPOINT, 10, 'c');
    rec_end(&in, 1, 2);
    craft(&file, &in, in.len - 1);
    cr_assert_eq(read_all(&file), ERR_MSGSIZE);
    craft(&file, &in, 100); /* inside the first leaf */
    cr_assert_eq(read_all(&file), ERR_MSGSIZE);
    craft(&file, &in, 0);
    cr_assert_eq(read_all(&file), ERR_MSGSIZE);
    /* Declaring more than there is: the totals disagree with the trailer. */
    craft(&file, &in, in.len + 1);
    cr_assert_eq(read_all(&file), ERR_CORRUPT);
    craft(&file, &in, in.len);
    cr_assert_eq(read_all(&file), ERR_OK);
    buf_free(&in);
    buf_free(&file);
}

/* ---- record limits ------------------------------------------------------------------------ */

/* A record length of BUNDLE_RECORD_SIZE_MAX + 1 is refused from its header alone, whatever
 * its type; at BUNDLE_RECORD_SIZE_MAX the record passes that check and the type's own applies. */
Test(bundle, record_size_limit)
{
    struct buf in = {0}, file = {0};
    rec_log(&in, 1, 0, 1);
    rec_hdr(&in, BUNDLE_REC_LEAF, BUNDLE_RECORD_SIZE_MAX + 1);
    craft(&file, &in, 64u * 1024u * 1024u);
    cr_assert_eq(read_all(&file), ERR_MSGSIZE);

    in.len = 0;
    rec_hdr(&in, 0x7f, BUNDLE_RECORD_SIZE_MAX + 1);
    craft(&file, &in, 64u * 1024u * 1024u);
    cr_assert_eq(read_all(&file), ERR_MSGSIZE);

    in.len = 0;
    rec_hdr(&in, BUNDLE_REC_END, UINT32_MAX);
    craft(&file, &in, 64u * 1024u * 1024u);
    cr_assert_eq(read_all(&file), ERR_MSGSIZE);

    in.len = 0;
    rec_hdr(&in, BUNDLE_REC_END, BUNDLE_RECORD_SIZE_MAX);
    craft(&file, &in, 64u * 1024u * 1024u);
    cr_assert_eq(read_all(&file), ERR_CORRUPT);
    buf_free(&in);
    buf_free(&file);
}

static void
leaf_bundle(struct buf *file, uint32_t leaf_len, bool truncate_payload)
{
    struct buf in = {0};
    rec_log(&in, 1, 0, 1);
    rec_fill(&in, BUNDLE_REC_LEAF, leaf_len, 'l');
    if (truncate_payload) {
        in.len -= leaf_len / 2;
    } else {
        rec_fill(&in, BUNDLE_REC_CHECKPOINT, 1, 'c');
        rec_end(&in, 1, 1);
    }
    craft_exact(file, &in);
    buf_free(&in);
}

/* A leaf at LEAF_SIZE_MAX, above it, of zero bytes, and cut short by the end of the frame. */
Test(bundle, leaf_size_limits)
{
    struct buf file = {0};
    leaf_bundle(&file, LEAF_SIZE_MAX, false);
    cr_assert_eq(read_all(&file), ERR_OK);
    leaf_bundle(&file, LEAF_SIZE_MAX + 1, false);
    cr_assert_eq(read_all(&file), ERR_MSGSIZE);
    leaf_bundle(&file, 0, false);
    cr_assert_eq(read_all(&file), ERR_CORRUPT);
    leaf_bundle(&file, 100, true);
    cr_assert_eq(read_all(&file), ERR_CORRUPT);
    buf_free(&file);
}

/* A checkpoint written at NOTE_SIZE_MAX reads back; the writer is the producer here. */
Test(bundle, checkpoint_at_limit_round_trips)
{
    struct bundle_writer *w = NULL;
    struct bundle_log_hdr h = {.first = 0, .count = 0};
    struct buf file = {0};
    static uint8_t note[NOTE_SIZE_MAX];
    FILE *f = tmpfile();
    cr_assert_not_null(f);
    memset(note, 'z', sizeof note);
    key_of(h.key, 9);
    cr_assert_eq(bundle_writer_new(&w, f), ERR_OK);
    cr_assert_eq(bundle_write_log(w, &h), ERR_OK);
    cr_assert_eq(bundle_write_checkpoint(w, note, NOTE_SIZE_MAX), ERR_OK);
    cr_assert_eq(bundle_writer_finish(w), ERR_OK);
    bundle_writer_free(w);
    slurp(f, &file);
    fclose(f);
    cr_assert_eq(read_all(&file), ERR_OK);
    buf_free(&file);
}

static void
checkpoint_bundle(struct buf *file, uint32_t note_len, bool truncate_payload)
{
    struct buf in = {0};
    rec_log(&in, 1, 0, 0);
    rec_fill(&in, BUNDLE_REC_CHECKPOINT, note_len, 'c');
    if (truncate_payload) {
        in.len -= 1;
    } else {
        rec_end(&in, 1, 0);
    }
    craft_exact(file, &in);
    buf_free(&in);
}

/* A checkpoint at NOTE_SIZE_MAX, above it, of zero bytes, and truncated. */
Test(bundle, checkpoint_size_limits)
{
    struct buf file = {0};
    checkpoint_bundle(&file, NOTE_SIZE_MAX, false);
    cr_assert_eq(read_all(&file), ERR_OK);
    checkpoint_bundle(&file, NOTE_SIZE_MAX + 1, false);
    cr_assert_eq(read_all(&file), ERR_MSGSIZE);
    checkpoint_bundle(&file, 0, false);
    cr_assert_eq(read_all(&file), ERR_CORRUPT);
    checkpoint_bundle(&file, 50, true);
    cr_assert_eq(read_all(&file), ERR_CORRUPT);
    buf_free(&file);
}

/* LOG payloads are exactly 48 bytes and END payloads exactly 16. */
Test(bundle, fixed_payload_sizes)
{
    struct buf in = {0}, file = {0};
    uint32_t log_lens[] = {0, 47, 49};
    for (size_t i = 0; i < 3; i++) {
        in.len = 0;
        rec_fill(&in, BUNDLE_REC_LOG, log_lens[i], 0);
        rec_fill(&in, BUNDLE_REC_CHECKPOINT, 1, 'c');
        rec_end(&in, 1, 0);
        craft_exact(&file, &in);
        cr_assert_eq(read_all(&file), ERR_CORRUPT, "LOG of %u", log_lens[i]);
    }
    uint32_t end_lens[] = {0, 15, 17};
    for (size_t i = 0; i < 3; i++) {
        in.len = 0;
        rec_fill(&in, BUNDLE_REC_END, end_lens[i], 0);
        craft_exact(&file, &in);
        cr_assert_eq(read_all(&file), ERR_CORRUPT, "END of %u", end_lens[i]);
    }
    buf_free(&in);
    buf_free(&file);
}

/* BUNDLE_LOGS_MAX sections written by the writer read back; one more, by hand, is refused. */
Test(bundle, logs_limit, .timeout = 120)
{
    struct bundle_writer *w = NULL;
    struct bundle_log_hdr h = {.first = 0, .count = 0};
    struct buf file = {0}, in = {0};
    size_t n = 0;
    uint8_t note = 'c';
    FILE *f = tmpfile();
    cr_assert_not_null(f);
    cr_assert_eq(bundle_writer_new(&w, f), ERR_OK);
    for (uint32_t i = 0; i < BUNDLE_LOGS_MAX; i++) {
        key_of(h.key, i);
        cr_assert_eq(bundle_write_log(w, &h), ERR_OK);
        cr_assert_eq(bundle_write_checkpoint(w, &note, 1), ERR_OK);
    }
    cr_assert_eq(bundle_writer_finish(w), ERR_OK);
    bundle_writer_free(w);
    slurp(f, &file);
    fclose(f);
    cr_assert_eq(read_all_max(&file, BUNDLE_INFLATED_SIZE_MAX, &n), ERR_OK);
    cr_assert_eq(n, 2u * BUNDLE_LOGS_MAX + 1);

    for (uint32_t i = 0; i <= BUNDLE_LOGS_MAX; i++) {
        rec_log(&in, i, 0, 0);
        rec_fill(&in, BUNDLE_REC_CHECKPOINT, 1, 'c');
    }
    rec_end(&in, BUNDLE_LOGS_MAX + 1, 0);
    craft_exact(&file, &in);
    cr_assert_eq(read_all_max(&file, BUNDLE_INFLATED_SIZE_MAX, &n), ERR_MSGSIZE);
    cr_assert_eq(n, 2u * BUNDLE_LOGS_MAX);
    buf_free(&in);
    buf_free(&file);
}

/* first + count must fit a u64: at the edge it does, one past it does not. */
Test(bundle, leaf_index_overflow)
{
    struct buf in = {0}, file = {0};
    size_t n = 0;
    rec_log(&in, 1, UINT64_MAX - 1, 1);
    rec_fill(&in, BUNDLE_REC_LEAF, 1, 'l');
    rec_fill(&in, BUNDLE_REC_CHECKPOINT, 1, 'c');
    rec_end(&in, 1, 1);
    craft_exact(&file, &in);
    cr_assert_eq(read_all(&file), ERR_OK);

    in.len = 0;
    rec_log(&in, 1, UINT64_MAX, 1);
    rec_fill(&in, BUNDLE_REC_LEAF, 1, 'l');
    rec_fill(&in, BUNDLE_REC_CHECKPOINT, 1, 'c');
    rec_end(&in, 1, 1);
    craft_exact(&file, &in);
    cr_assert_eq(read_all_max(&file, BUNDLE_INFLATED_SIZE_MAX, &n), ERR_CORRUPT);
    cr_assert_eq(n, 0);
    buf_free(&in);
    buf_free(&file);
}

/* ---- grammar ------------------------------------------------------------------------------ */

/* Builds one malformed body per case; each must fail with ERR_CORRUPT in next. */
enum grammar_case {
    G_LEAF_BEFORE_LOG,
    G_CHECKPOINT_BEFORE_LOG,
    G_MISSING_CHECKPOINT_THEN_LOG,
    G_MISSING_CHECKPOINT_THEN_END,
    G_TWO_CHECKPOINTS,
    G_TOO_FEW_LEAVES,
    G_TOO_MANY_LEAVES,
    G_UNSORTED_KEYS,
    G_DUPLICATE_KEY,
    G_END_LOGS_WRONG,
    G_END_LEAVES_WRONG,
    G_RECORD_AFTER_END,
    G_BYTE_AFTER_END,
    G_TWO_ENDS,
    G_UNKNOWN_TYPE,
    G_NO_END,
    G_EMPTY_BODY,
    G_TRUNCATED_HEADER,
    G_CASES,
};

static void
grammar_body(struct buf *in, enum grammar_case c)
{
    in->len = 0;
    switch (c) {
    case G_LEAF_BEFORE_LOG:
        rec_fill(in, BUNDLE_REC_LEAF, 3, 'l');
        rec_end(in, 0, 1);
        break;
    case G_CHECKPOINT_BEFORE_LOG:
        rec_fill(in, BUNDLE_REC_CHECKPOINT, 3, 'c');
        rec_end(in, 0, 0);
        break;
    case G_MISSING_CHECKPOINT_THEN_LOG:
        rec_log(in, 1, 0, 0);
        rec_log(in, 2, 0, 0);
        rec_fill(in, BUNDLE_REC_CHECKPOINT, 3, 'c');
        rec_end(in, 2, 0);
        break;
    case G_MISSING_CHECKPOINT_THEN_END:
        rec_log(in, 1, 0, 1);
        rec_fill(in, BUNDLE_REC_LEAF, 3, 'l');
        rec_end(in, 1, 1);
        break;
    case G_TWO_CHECKPOINTS:
        rec_log(in, 1, 0, 0);
        rec_fill(in, BUNDLE_REC_CHECKPOINT, 3, 'c');
        rec_fill(in, BUNDLE_REC_CHECKPOINT, 3, 'c');
        rec_end(in, 1, 0);
        break;
    case G_TOO_FEW_LEAVES:
        rec_log(in, 1, 0, 2);
        rec_fill(in, BUNDLE_REC_LEAF, 3, 'l');
        rec_fill(in, BUNDLE_REC_CHECKPOINT, 3, 'c');
        rec_end(in, 1, 1);
        break;
    case G_TOO_MANY_LEAVES:
        rec_log(in, 1, 0, 1);
        rec_fill(in, BUNDLE_REC_LEAF, 3, 'l');
        rec_fill(in, BUNDLE_REC_LEAF, 3, 'l');
        rec_fill(in, BUNDLE_REC_CHECKPOINT, 3, 'c');
        rec_end(in, 1, 2);
        break;
    case G_UNSORTED_KEYS:
    case G_DUPLICATE_KEY:
        rec_log(in, 5, 0, 0);
        rec_fill(in, BUNDLE_REC_CHECKPOINT, 3, 'c');
        rec_log(in, c == G_UNSORTED_KEYS ? 4 : 5, 0, 0);
        rec_fill(in, BUNDLE_REC_CHECKPOINT, 3, 'c');
        rec_end(in, 2, 0);
        break;
    case G_END_LOGS_WRONG:
    case G_END_LEAVES_WRONG:
        rec_log(in, 1, 0, 1);
        rec_fill(in, BUNDLE_REC_LEAF, 3, 'l');
        rec_fill(in, BUNDLE_REC_CHECKPOINT, 3, 'c');
        rec_end(in, c == G_END_LOGS_WRONG ? 2 : 1, c == G_END_LEAVES_WRONG ? 0 : 1);
        break;
    case G_RECORD_AFTER_END:
        rec_end(in, 0, 0);
        rec_log(in, 1, 0, 0);
        break;
    case G_BYTE_AFTER_END:
        rec_end(in, 0, 0);
        buf_put(in, "", 1);
        break;
    case G_TWO_ENDS:
        rec_end(in, 0, 0);
        rec_end(in, 0, 0);
        break;
    case G_UNKNOWN_TYPE:
        rec_fill(in, 4, 3, 'x');
        rec_end(in, 0, 0);
        break;
    case G_NO_END:
        rec_log(in, 1, 0, 0);
        rec_fill(in, BUNDLE_REC_CHECKPOINT, 3, 'c');
        break;
    case G_EMPTY_BODY: break;
    case G_TRUNCATED_HEADER:
        rec_end(in, 0, 0);
        in->len = 3;
        break;
    case G_CASES: cr_assert_fail("not a case");
    }
}

/* Every grammar violation, in a bundle whose hash and sizes are right, is ERR_CORRUPT. */
Test(bundle, grammar_violations)
{
    struct buf in = {0}, file = {0};
    for (int c = 0; c < G_CASES; c++) {
        grammar_body(&in, (enum grammar_case)c);
        craft_exact(&file, &in);
        cr_assert_eq(open_only(&file, BUNDLE_INFLATED_SIZE_MAX), ERR_OK, "case %d", c);
        cr_assert_eq(read_all(&file), ERR_CORRUPT, "case %d", c);
    }
    buf_free(&in);
    buf_free(&file);
}

/* ---- zstd framing ------------------------------------------------------------------------- */

/* The body is one frame: a second frame, or bytes after the frame, are ERR_CORRUPT even when
 * the records in the first frame are complete. */
Test(bundle, one_frame_only)
{
    struct buf in = {0}, body = {0}, file = {0};
    rec_end(&in, 0, 0);
    zstd_frame(&body, in.p, in.len);
    zstd_frame(&body, in.p, in.len);
    wrap_body(&file, body.p, body.len, 2 * in.len);
    cr_assert_eq(read_all(&file), ERR_CORRUPT);
    wrap_body(&file, body.p, body.len, in.len);
    cr_assert_eq(read_all(&file), ERR_CORRUPT);

    body.len = 0;
    zstd_frame(&body, in.p, in.len);
    buf_put(&body, "\0\0\0", 3);
    wrap_body(&file, body.p, body.len, in.len);
    cr_assert_eq(read_all(&file), ERR_CORRUPT);
    buf_free(&in);
    buf_free(&body);
    buf_free(&file);
}

/* A body that is not zstd at all, or a frame cut short, is ERR_CORRUPT. */
Test(bundle, not_zstd_or_cut)
{
    struct buf in = {0}, body = {0}, file = {0};
    rec_end(&in, 0, 0);
    wrap_body(&file, in.p, in.len, in.len); /* the records, uncompressed */
    cr_assert_eq(read_all(&file), ERR_CORRUPT);
    wrap_body(&file, NULL, 0, in.len); /* an empty body */
    cr_assert_eq(read_all(&file), ERR_CORRUPT);
    zstd_frame(&body, in.p, in.len);
    for (size_t len = 1; len < body.len; len++) {
        wrap_body(&file, body.p, len, in.len);
        cr_assert_eq(read_all(&file), ERR_CORRUPT, "frame cut at %zu", len);
    }
    buf_free(&in);
    buf_free(&body);
    buf_free(&file);
}

/* A frame that asks for a window above BUNDLE_ZSTD_WINDOW_LOG_MAX is refused as a limit
 * (ERR_MSGSIZE) rather than allocated; one at the limit is accepted. */
Test(bundle, zstd_window_limit)
{
    struct buf in = {0}, file = {0};
    rec_end(&in, 0, 0);
    int logs[] = {BUNDLE_ZSTD_WINDOW_LOG_MAX, BUNDLE_ZSTD_WINDOW_LOG_MAX + 1};
    err_code want[] = {ERR_OK, ERR_MSGSIZE};
    for (size_t i = 0; i < 2; i++) {
        uint8_t z[256];
        ZSTD_CCtx *c = ZSTD_createCCtx();
        cr_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, logs[i])));
        cr_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)));
        /* Streaming with no pledged size keeps the window the frame header declares. */
        ZSTD_inBuffer zin = {in.p, in.len, 0};
        ZSTD_outBuffer zout = {z, sizeof z, 0};
        cr_assert(!ZSTD_isError(ZSTD_compressStream2(c, &zout, &zin, ZSTD_e_continue)));
        cr_assert_eq(ZSTD_compressStream2(c, &zout, &zin, ZSTD_e_end), 0);
        ZSTD_freeCCtx(c);
        wrap_body(&file, z, zout.pos, in.len);
        cr_assert_eq(read_all(&file), want[i], "window log %d", logs[i]);
    }
    buf_free(&in);
    buf_free(&file);
}

/* ---- the writer's assertions ------------------------------------------------------------- */

static struct bundle_writer *
writer_on_tmpfile(void)
{
    struct bundle_writer *w = NULL;
    FILE *f = tmpfile();
    cr_assert_not_null(f);
    cr_assert_eq(bundle_writer_new(&w, f), ERR_OK);
    return w; /* the process ends in these tests; f is reclaimed with it */
}

/* A leaf outside a section is a programmer error: the writer aborts. */
Test(bundle_writer, leaf_before_log_aborts, .signal = SIGABRT)
{
    struct bundle_writer *w = writer_on_tmpfile();
    uint8_t leaf = 1;
    err_code rc = bundle_write_leaf(w, &leaf, 1);
    cr_assert_fail("returned %d instead of aborting", rc);
}

/* A checkpoint before the declared count of leaves aborts. */
Test(bundle_writer, leaf_count_short_aborts, .signal = SIGABRT)
{
    struct bundle_writer *w = writer_on_tmpfile();
    struct bundle_log_hdr h = {.first = 0, .count = 2};
    uint8_t b = 1;
    key_of(h.key, 1);
    cr_assert_eq(bundle_write_log(w, &h), ERR_OK);
    cr_assert_eq(bundle_write_leaf(w, &b, 1), ERR_OK);
    err_code rc = bundle_write_checkpoint(w, &b, 1);
    cr_assert_fail("returned %d instead of aborting", rc);
}

/* A leaf beyond the declared count aborts. */
Test(bundle_writer, leaf_count_over_aborts, .signal = SIGABRT)
{
    struct bundle_writer *w = writer_on_tmpfile();
    struct bundle_log_hdr h = {.first = 0, .count = 1};
    uint8_t b = 1;
    key_of(h.key, 1);
    cr_assert_eq(bundle_write_log(w, &h), ERR_OK);
    cr_assert_eq(bundle_write_leaf(w, &b, 1), ERR_OK);
    err_code rc = bundle_write_leaf(w, &b, 1);
    cr_assert_fail("returned %d instead of aborting", rc);
}

/* Keys that do not increase abort, duplicates included. */
Test(bundle_writer, duplicate_key_aborts, .signal = SIGABRT)
{
    struct bundle_writer *w = writer_on_tmpfile();
    struct bundle_log_hdr h = {.first = 0, .count = 0};
    uint8_t b = 1;
    key_of(h.key, 1);
    cr_assert_eq(bundle_write_log(w, &h), ERR_OK);
    cr_assert_eq(bundle_write_checkpoint(w, &b, 1), ERR_OK);
    err_code rc = bundle_write_log(w, &h);
    cr_assert_fail("returned %d instead of aborting", rc);
}

/* finish inside a section (no checkpoint yet) aborts. */
Test(bundle_writer, finish_mid_section_aborts, .signal = SIGABRT)
{
    struct bundle_writer *w = writer_on_tmpfile();
    struct bundle_log_hdr h = {.first = 0, .count = 0};
    key_of(h.key, 1);
    cr_assert_eq(bundle_write_log(w, &h), ERR_OK);
    err_code rc = bundle_writer_finish(w);
    cr_assert_fail("returned %d instead of aborting", rc);
}

/* A leaf above LEAF_SIZE_MAX, or empty, is refused (ERR_CORRUPT) and the writer stays failed:
 * leaf bytes come from a database, which may be damaged, so this is no programmer error. */
Test(bundle_writer, oversize_leaf_refused)
{
    struct bundle_writer *w = writer_on_tmpfile();
    struct bundle_log_hdr h = {.first = 0, .count = 2};
    static uint8_t big[LEAF_SIZE_MAX + 1];
    key_of(h.key, 1);
    cr_assert_eq(bundle_write_log(w, &h), ERR_OK);
    cr_assert_eq(bundle_write_leaf(w, big, sizeof big), ERR_CORRUPT);
    cr_assert_eq(bundle_write_leaf(w, big, LEAF_SIZE_MAX), ERR_CORRUPT, "the failure sticks");
    bundle_writer_free(w);
}

Test(bundle_writer, empty_leaf_refused)
{
    struct bundle_writer *w = writer_on_tmpfile();
    struct bundle_log_hdr h = {.first = 0, .count = 1};
    key_of(h.key, 1);
    cr_assert_eq(bundle_write_log(w, &h), ERR_OK);
    cr_assert_eq(bundle_write_leaf(w, (const uint8_t *)"", 0), ERR_CORRUPT);
    bundle_writer_free(w);
}

/* ---- memory ------------------------------------------------------------------------------- */

#define MEM_BIG_LEAVES 50u /* of LEAF_SIZE_MAX: 50 MiB of leaves */
/* 5 MiB: more than the 2 MiB window zstd -3 uses, so the small read fills the window too and
 * the comparison is of what grows with the file, not of how much of the window was touched. */
#define MEM_SMALL_LEAVES 5u

/* Writes a bundle of `leaves` random leaves of LEAF_SIZE_MAX, in 5 sections, to path. */
static void
mem_write(const char *path, unsigned leaves)
{
    struct bundle_writer *w = NULL;
    struct bundle_log_hdr h;
    uint8_t *leaf = malloc(LEAF_SIZE_MAX);
    uint8_t note = 'c';
    uint64_t seed = 7;
    unsigned sections = leaves >= 5 ? 5 : 1;
    FILE *f = fopen(path, "wb");
    if (f == NULL || leaf == NULL || bundle_writer_new(&w, f) != ERR_OK) {
        _exit(1);
    }
    for (unsigned s = 0; s < sections; s++) {
        key_of(h.key, s);
        h.first = 0;
        h.count = leaves / sections;
        if (bundle_write_log(w, &h) != ERR_OK) {
            _exit(1);
        }
        for (uint64_t i = 0; i < h.count; i++) {
            fill_random(leaf, LEAF_SIZE_MAX, &seed);
            if (bundle_write_leaf(w, leaf, LEAF_SIZE_MAX) != ERR_OK) {
                _exit(1);
            }
        }
        if (bundle_write_checkpoint(w, &note, 1) != ERR_OK) {
            _exit(1);
        }
    }
    if (bundle_writer_finish(w) != ERR_OK || fclose(f) != 0) {
        _exit(1);
    }
    bundle_writer_free(w);
    free(leaf);
}

static long
maxrss_kib(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        return -1;
    }
    return ru.ru_maxrss;
}

/* Reads the bundle at path to END; true when it read cleanly with want_leaves leaves. Runs in
 * a child process, so it reports instead of asserting. */
static bool
mem_read(const char *path, uint64_t want_leaves)
{
    struct bundle_reader *r = NULL;
    struct bundle_record rec = {0};
    uint64_t leaves = 0;
    bool ok = false;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return false;
    }
    if (bundle_reader_new(&r, f, BUNDLE_INFLATED_SIZE_MAX) == ERR_OK) {
        for (unsigned i = 0; i < 1000; i++) {
            if (bundle_reader_next(r, &rec) != ERR_OK) {
                break;
            }
            leaves += rec.type == BUNDLE_REC_LEAF;
            if (rec.type == BUNDLE_REC_END) {
                ok = leaves == want_leaves;
                break;
            }
        }
    }
    bundle_reader_free(r);
    fclose(f);
    return ok;
}

/* The growth of ru_maxrss, in KiB, while a fresh child process reads path. Each read gets its
 * own process so that neither inherits the other's peak, and so that ASan's quarantine (which
 * keeps freed memory out of reuse) cannot charge one read for the other's buffers. */
static long
mem_read_delta_kib(const char *path, uint64_t want_leaves)
{
    int fds[2];
    long delta = -1;
    int status = 0;
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        long base = maxrss_kib();
        bool ok = mem_read(path, want_leaves);
        long d = maxrss_kib() - base;
        _exit(ok && base >= 0 && write(fds[1], &d, sizeof d) == sizeof d ? 0 : 1);
    }
    close(fds[1]);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the reading child failed");
    cr_assert_eq(read(fds[0], &delta, sizeof delta), sizeof delta);
    close(fds[0]);
    return delta;
}

/* Reading a 50 MiB bundle costs no more memory than reading a 5 MiB one, and less than 16 MiB
 * in all. The files are written by a child process too, so that the writer's peak (its zstd
 * tables and leaf buffer) is nobody's baseline. */
Test(bundle, memory_is_flat, .timeout = 300)
{
    char small[] = "/tmp/cdht-bundle-small-XXXXXX";
    char big[] = "/tmp/cdht-bundle-big-XXXXXX";
    int fd1 = mkstemp(small);
    int fd2 = mkstemp(big);
    cr_assert_geq(fd1, 0);
    cr_assert_geq(fd2, 0);
    close(fd1);
    close(fd2);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        mem_write(small, MEM_SMALL_LEAVES);
        mem_write(big, MEM_BIG_LEAVES);
        _exit(0);
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    long d_small = mem_read_delta_kib(small, MEM_SMALL_LEAVES);
    long d_big = mem_read_delta_kib(big, MEM_BIG_LEAVES);
    unlink(small);
    unlink(big);
    cr_log_info("reader max RSS growth: %ld KiB for a %u MiB bundle, %ld KiB for a %u MiB bundle",
                d_small, MEM_SMALL_LEAVES, d_big, MEM_BIG_LEAVES);
    cr_assert_lt(d_big, 16 * 1024, "reader used %ld KiB", d_big);
    /* Whatever the small read needed, the big one needed no more (1 MiB of slack for the
     * allocator, which need not hand back the very same pages). */
    cr_assert_lt(d_big - d_small, 1024, "grew by %ld KiB", d_big - d_small);
}
