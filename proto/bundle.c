/*
 * The bundle file's bytes (format in bundle.h): a writer that streams records through one zstd
 * frame while hashing every byte it writes, and a reader that checks the frame and trailer, then
 * streams the records back one at a time while enforcing the record grammar. Memory is fixed:
 * one record buffer, one compressed-input buffer and zstd's bounded window, whatever the size
 * of the file. node/ builds export and import on this; it never sees zstd or the trailer.
 */
#include "bundle.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "cosig.h"
#include "diag.h"
#include "sha256.h"

#define BUNDLE_MAGIC_SIZE (sizeof BUNDLE_MAGIC - 1)
#define BUNDLE_LOG_PAYLOAD_SIZE (KEY_PUBLIC_SIZE + 8u + 8u)        /* key | first | count */
#define BUNDLE_END_PAYLOAD_SIZE 16u                                /* logs | leaves */
#define BUNDLE_TRAILER_SIZES_SIZE 16u                              /* inflated | compressed */
#define BUNDLE_COSIG_FIXED_SIZE (KEY_PUBLIC_SIZE + 8u + HASH_SIZE) /* witness | size | root */
/* key | prefix | two note lengths | hash count: the equivocation record without its notes and
 * hashes */
#define BUNDLE_EQUIV_FIXED_SIZE (KEY_PUBLIC_SIZE + 8u + 2u + 2u + 1u)
#define BUNDLE_EQUIV_SIZE_MAX                                                                      \
    (BUNDLE_EQUIV_FIXED_SIZE + 2u * NOTE_SIZE_MAX + MERKLE_PROOF_HASHES_MAX * HASH_SIZE)

static_assert(BUNDLE_MAGIC_SIZE == 8, "the magic fills the first 8 header bytes");
static_assert(BUNDLE_TRAILER_SIZE == BUNDLE_TRAILER_SIZES_SIZE + crypto_hash_sha256_BYTES,
              "trailer: two u64 sizes and a SHA-256");
static_assert(crypto_hash_sha256_BYTES == HASH_SIZE, "the trailer hash is a HASH_SIZE hash");
static_assert(BUNDLE_RECORD_SIZE_MAX <= UINT32_MAX, "a record length is a u32");
static_assert(BUNDLE_RECORD_SIZE_MAX >= BUNDLE_LOG_PAYLOAD_SIZE, "a record holds a LOG");
static_assert(BUNDLE_RECORD_SIZE_MAX >= BUNDLE_EQUIV_SIZE_MAX, "a record holds a proof");
static_assert(BUNDLE_RECORD_SIZE_MAX >= BUNDLE_COSIG_FIXED_SIZE + COSIG_LINE_SIZE_MAX,
              "a record holds a cosignature");
static_assert(NOTE_SIZE_MAX <= UINT16_MAX, "a note length is a u16");
static_assert(MERKLE_PROOF_HASHES_MAX <= UINT8_MAX, "a hash count is a u8");

static void
put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void
put_u32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (24 - 8 * i));
    }
}

static void
put_u64(uint8_t *p, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (56 - 8 * i));
    }
}

static uint16_t
get_u16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t
get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < 4; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

static uint64_t
get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

/* Where both sides are in the grammar (LOG LEAF{count} CHECKPOINT)* END. The writer and the
 * reader keep the same state so that what one asserts the other checks (STYLE.md section 6). */
enum bundle_state {
    BUNDLE_STATE_SECTION_OR_END, /* before a LOG or the END */
    BUNDLE_STATE_LEAF,           /* inside a section, position < count */
    BUNDLE_STATE_CHECKPOINT,     /* all leaves of the section seen, its CHECKPOINT next */
    BUNDLE_STATE_DONE,           /* END seen (reader) or written (writer) */
};

/* ------------------------------------------------------------------------------------------ */
/* Writer                                                                                     */
/* ------------------------------------------------------------------------------------------ */

struct bundle_writer {
    FILE *f;                           /* borrowed: the caller opened it and closes it */
    ZSTD_CCtx *cctx;                   /* owned */
    uint8_t *out_buf;                  /* owned: out_cap bytes of compressed output */
    size_t out_cap;                    /* ZSTD_CStreamOutSize(): one block always fits */
    struct sha256 sha;                 /* over every byte written so far; owned */
    uint64_t inflated_size;            /* record bytes given to zstd */
    uint64_t compressed_size;          /* zstd bytes written after the header */
    err_code failed;                   /* first error; every later call returns it */
    enum bundle_state state;           /* grammar position, ASSERTed by each call */
    uint8_t prev_key[KEY_PUBLIC_SIZE]; /* key of the last section, when logs > 0 */
    uint64_t section_count;            /* leaves the current section declared */
    uint64_t section_pos;              /* leaves written in the current section */
    uint64_t logs, leaves;             /* totals for END */
    int cosig_ok;                      /* a section's CHECKPOINT was written, no LOG since */
    uint64_t section_cosigs;           /* COSIG records in the current section */
    uint64_t equivocations;            /* EQUIVOCATION records written */
};

/* Writes len bytes to the file and into the trailer hash. */
static err_code
writer_emit(struct bundle_writer *w, const uint8_t *p, size_t len)
{
    if (len == 0) {
        return ERR_OK;
    }
    if (fwrite(p, 1, len, w->f) != len) {
        diag_warn("BUNDLE-WRITE", "bundle write of %zu bytes failed", len);
        return ERR_IO;
    }
    sha256_update(&w->sha, p, len);
    return ERR_OK;
}

/* Feeds src to zstd and writes what it produces. ZSTD_e_continue returns once zstd has taken
 * all of src (it may keep some to compress later); ZSTD_e_end returns once the frame is closed
 * and flushed. */
static err_code
writer_compress(struct bundle_writer *w, const uint8_t *src, size_t len, ZSTD_EndDirective mode)
{
    ZSTD_inBuffer in = {src, len, 0};
    /* A call that is not the last fills out_buf (zstd.h, ZSTD_compressStream2), so the calls
     * needed are bounded by what this input can produce: its compressed size plus the block zstd
     * may still hold and the block it may not have flushed. Running past the bound would be a
     * zstd bug, not bad input, hence the assertion after the loop. */
    size_t calls_max = 4 + ZSTD_compressBound(len + 2 * (size_t)ZSTD_BLOCKSIZE_MAX) / w->out_cap;
    for (size_t i = 0; i < calls_max; i++) {
        ZSTD_outBuffer out = {w->out_buf, w->out_cap, 0};
        size_t left = ZSTD_compressStream2(w->cctx, &out, &in, mode);
        if (ZSTD_isError(left)) {
            /* With the fixed, valid parameters set in bundle_writer_new, zstd's compressor
             * fails only when it cannot allocate. */
            diag_warn("BUNDLE-ZSTD", "zstd compression failed: %s", ZSTD_getErrorName(left));
            return ERR_NOMEM;
        }
        err_code rc = writer_emit(w, w->out_buf, out.pos);
        if (rc != ERR_OK) {
            return rc;
        }
        w->compressed_size += out.pos;
        bool done = mode == ZSTD_e_continue ? in.pos == in.size : left == 0;
        if (done) {
            return ERR_OK;
        }
    }
    assert_fail("zstd compressor finished within its bound", __FILE__, __LINE__);
}

/* Compresses one record: its 5-byte header, then the payload, without copying the payload. */
static err_code
writer_record(struct bundle_writer *w, enum bundle_rec_type type, const uint8_t *payload,
              size_t len)
{
    uint8_t hdr[BUNDLE_RECORD_HEADER_SIZE];
    ASSERT(len <= BUNDLE_RECORD_SIZE_MAX);
    ASSERT(len == 0 || payload != NULL);
    /* A body the default reader would refuse is not worth writing: say so now, not at import. */
    if (w->inflated_size + BUNDLE_RECORD_HEADER_SIZE + len > BUNDLE_INFLATED_SIZE_MAX) {
        diag_warn("BUNDLE-MSGSZ", "bundle body would exceed %llu bytes",
                  (unsigned long long)BUNDLE_INFLATED_SIZE_MAX);
        return ERR_MSGSIZE;
    }
    hdr[0] = (uint8_t)type;
    put_u32(hdr + 1, (uint32_t)len);
    err_code rc = writer_compress(w, hdr, sizeof hdr, ZSTD_e_continue);
    if (rc == ERR_OK && len > 0) {
        rc = writer_compress(w, payload, len, ZSTD_e_continue);
    }
    if (rc == ERR_OK) {
        w->inflated_size += BUNDLE_RECORD_HEADER_SIZE + len;
    }
    return rc;
}

/* The header goes out at once, so that a file that cannot be written fails here. On ERR_OK
 * *out is owned by the caller (bundle_writer_free); f stays the caller's either way. */
err_code
bundle_writer_new(struct bundle_writer **out, FILE *f)
{
    err_code rc = ERR_OK;
    struct bundle_writer *w = NULL;
    uint8_t hdr[BUNDLE_HEADER_SIZE] = {0};
    size_t zrc = 0;

    ASSERT(out != NULL);
    ASSERT(f != NULL);
    *out = NULL;
    if (sodium_init() < 0) {
        return ERR_IO; /* libsodium could not open its randomness source */
    }
    if ((w = calloc(1, sizeof *w)) == NULL) {
        return ERR_NOMEM;
    }
    w->f = f;
    w->state = BUNDLE_STATE_SECTION_OR_END;
    w->out_cap = ZSTD_CStreamOutSize();
    if ((w->out_buf = malloc(w->out_cap)) == NULL || (w->cctx = ZSTD_createCCtx()) == NULL) {
        rc = ERR_NOMEM;
        goto out;
    }
    /* Set explicitly (STYLE.md section 7) rather than inherit zstd's defaults: the level is the
     * format's, and the content checksum lets a reader catch a bad body at the frame's end even
     * when the file hash was recomputed over it. */
    zrc = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, BUNDLE_ZSTD_LEVEL);
    ASSERT(!ZSTD_isError(zrc));
    zrc = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1);
    ASSERT(!ZSTD_isError(zrc));
    sha256_init(&w->sha);

    memcpy(hdr, BUNDLE_MAGIC, BUNDLE_MAGIC_SIZE);
    put_u16(hdr + 8, BUNDLE_VERSION);
    put_u16(hdr + 10, 0); /* flags */
    put_u32(hdr + 12, 0); /* reserved */
    if ((rc = writer_emit(w, hdr, sizeof hdr)) != ERR_OK) {
        goto out;
    }
    *out = w;
    w = NULL; /* ownership moved to *out */
out:
    bundle_writer_free(w);
    return rc;
}

err_code
bundle_write_log(struct bundle_writer *w, const struct bundle_log_hdr *hdr)
{
    uint8_t payload[BUNDLE_LOG_PAYLOAD_SIZE];
    ASSERT(w != NULL);
    ASSERT(hdr != NULL);
    if (w->failed != ERR_OK) {
        return w->failed;
    }
    ASSERT(w->state == BUNDLE_STATE_SECTION_OR_END);
    /* A replica may hold more logs than one bundle carries: the caller's data, not its bug. */
    if (w->logs >= BUNDLE_LOGS_MAX) {
        w->failed = ERR_MSGSIZE;
        return ERR_MSGSIZE;
    }
    ASSERT(w->logs == 0 || memcmp(w->prev_key, hdr->key, KEY_PUBLIC_SIZE) < 0);
    ASSERT(hdr->count <= UINT64_MAX - hdr->first);

    memcpy(payload, hdr->key, KEY_PUBLIC_SIZE);
    put_u64(payload + KEY_PUBLIC_SIZE, hdr->first);
    put_u64(payload + KEY_PUBLIC_SIZE + 8, hdr->count);
    err_code rc = writer_record(w, BUNDLE_REC_LOG, payload, sizeof payload);
    if (rc != ERR_OK) {
        w->failed = rc;
        return rc;
    }
    memcpy(w->prev_key, hdr->key, KEY_PUBLIC_SIZE);
    w->logs++;
    w->cosig_ok = 0;
    w->section_cosigs = 0;
    w->section_count = hdr->count;
    w->section_pos = 0;
    w->state = hdr->count > 0 ? BUNDLE_STATE_LEAF : BUNDLE_STATE_CHECKPOINT;
    return ERR_OK;
}

err_code
bundle_write_leaf(struct bundle_writer *w, const uint8_t *leaf, size_t len)
{
    ASSERT(w != NULL);
    if (w->failed != ERR_OK) {
        return w->failed;
    }
    ASSERT(w->state == BUNDLE_STATE_LEAF);
    ASSERT(w->section_pos < w->section_count);
    /* Leaf bytes come from a replica's database: a damaged row is refused, not a crash. */
    if (len < 1 || len > LEAF_SIZE_MAX) {
        w->failed = ERR_CORRUPT_HERE;
        return w->failed;
    }
    err_code rc = writer_record(w, BUNDLE_REC_LEAF, leaf, len);
    if (rc != ERR_OK) {
        w->failed = rc;
        return rc;
    }
    w->leaves++;
    w->section_pos++;
    if (w->section_pos == w->section_count) {
        w->state = BUNDLE_STATE_CHECKPOINT;
    }
    return ERR_OK;
}

err_code
bundle_write_checkpoint(struct bundle_writer *w, const uint8_t *note, size_t len)
{
    ASSERT(w != NULL);
    if (w->failed != ERR_OK) {
        return w->failed;
    }
    ASSERT(w->state == BUNDLE_STATE_CHECKPOINT);
    ASSERT(w->section_pos == w->section_count);
    ASSERT(len >= 1);
    ASSERT(len <= NOTE_SIZE_MAX);
    err_code rc = writer_record(w, BUNDLE_REC_CHECKPOINT, note, len);
    if (rc != ERR_OK) {
        w->failed = rc;
        return rc;
    }
    w->state = BUNDLE_STATE_SECTION_OR_END;
    w->cosig_ok = 1;
    return ERR_OK;
}

err_code
bundle_write_cosig(struct bundle_writer *w, const struct bundle_cosig *c)
{
    uint8_t payload[BUNDLE_COSIG_FIXED_SIZE + COSIG_LINE_SIZE_MAX];
    ASSERT(w != NULL);
    ASSERT(c != NULL);
    if (w->failed != ERR_OK) {
        return w->failed;
    }
    ASSERT(w->state == BUNDLE_STATE_SECTION_OR_END);
    ASSERT(w->cosig_ok);
    ASSERT(c->line_len >= 1 && c->line_len <= COSIG_LINE_SIZE_MAX);
    if (w->section_cosigs >= BUNDLE_COSIGS_PER_LOG_MAX) {
        w->failed = ERR_MSGSIZE;
        return ERR_MSGSIZE;
    }
    memcpy(payload, c->witness, KEY_PUBLIC_SIZE);
    put_u64(payload + KEY_PUBLIC_SIZE, c->size);
    memcpy(payload + KEY_PUBLIC_SIZE + 8, c->root, HASH_SIZE);
    memcpy(payload + BUNDLE_COSIG_FIXED_SIZE, c->line, c->line_len);
    err_code rc =
        writer_record(w, BUNDLE_REC_COSIG, payload, BUNDLE_COSIG_FIXED_SIZE + c->line_len);
    if (rc != ERR_OK) {
        w->failed = rc;
        return rc;
    }
    w->section_cosigs++;
    return ERR_OK;
}

err_code
bundle_write_equivocation(struct bundle_writer *w, const struct bundle_equivocation *e)
{
    ASSERT(w != NULL);
    ASSERT(e != NULL);
    if (w->failed != ERR_OK) {
        return w->failed;
    }
    ASSERT(w->state == BUNDLE_STATE_SECTION_OR_END);
    ASSERT(w->logs == 0);
    ASSERT(e->note_a_len >= 1 && e->note_a_len <= NOTE_SIZE_MAX);
    ASSERT(e->note_b_len >= 1 && e->note_b_len <= NOTE_SIZE_MAX);
    ASSERT(e->count <= MERKLE_PROOF_HASHES_MAX);
    if (w->equivocations >= BUNDLE_EQUIVOCATIONS_MAX) {
        w->failed = ERR_MSGSIZE;
        return ERR_MSGSIZE;
    }
    uint8_t *payload = malloc(BUNDLE_EQUIV_SIZE_MAX);
    if (payload == NULL) {
        return ERR_NOMEM;
    }
    size_t n = 0;
    memcpy(payload, e->key, KEY_PUBLIC_SIZE);
    n += KEY_PUBLIC_SIZE;
    put_u64(payload + n, e->prefix);
    n += 8;
    put_u16(payload + n, (uint16_t)e->note_a_len);
    memcpy(payload + n + 2, e->note_a, e->note_a_len);
    n += 2 + e->note_a_len;
    put_u16(payload + n, (uint16_t)e->note_b_len);
    memcpy(payload + n + 2, e->note_b, e->note_b_len);
    n += 2 + e->note_b_len;
    payload[n++] = (uint8_t)e->count;
    if (e->count > 0) {
        memcpy(payload + n, e->proof, e->count * HASH_SIZE);
        n += e->count * HASH_SIZE;
    }
    ASSERT(n <= BUNDLE_EQUIV_SIZE_MAX);
    err_code rc = writer_record(w, BUNDLE_REC_EQUIVOCATION, payload, n);
    free(payload);
    if (rc != ERR_OK) {
        w->failed = rc;
        return rc;
    }
    w->equivocations++;
    return ERR_OK;
}

/* Writes END, closes the zstd frame, then the trailer, whose hash covers the two sizes too. */
err_code
bundle_writer_finish(struct bundle_writer *w)
{
    uint8_t end[BUNDLE_END_PAYLOAD_SIZE];
    uint8_t trailer[BUNDLE_TRAILER_SIZE];
    ASSERT(w != NULL);
    if (w->failed != ERR_OK) {
        return w->failed;
    }
    ASSERT(w->state == BUNDLE_STATE_SECTION_OR_END);

    put_u64(end, w->logs);
    put_u64(end + 8, w->leaves);
    err_code rc = writer_record(w, BUNDLE_REC_END, end, sizeof end);
    if (rc == ERR_OK) {
        rc = writer_compress(w, NULL, 0, ZSTD_e_end);
    }
    if (rc == ERR_OK) {
        put_u64(trailer, w->inflated_size);
        put_u64(trailer + 8, w->compressed_size);
        rc = writer_emit(w, trailer, BUNDLE_TRAILER_SIZES_SIZE);
    }
    if (rc == ERR_OK) {
        sha256_final(&w->sha, trailer + BUNDLE_TRAILER_SIZES_SIZE);
        if (fwrite(trailer + BUNDLE_TRAILER_SIZES_SIZE, 1, crypto_hash_sha256_BYTES, w->f) !=
                crypto_hash_sha256_BYTES ||
            fflush(w->f) != 0) {
            diag_warn("BUNDLE-WRITE", "bundle trailer write failed");
            rc = ERR_IO;
        }
    }
    if (rc != ERR_OK) {
        w->failed = rc;
        return rc;
    }
    w->state = BUNDLE_STATE_DONE;
    return ERR_OK;
}

void
bundle_writer_free(struct bundle_writer *w)
{
    if (w == NULL) {
        return;
    }
    ZSTD_freeCCtx(w->cctx);
    sha256_release(&w->sha);
    free(w->out_buf);
    free(w);
}

/* ------------------------------------------------------------------------------------------ */
/* Reader                                                                                     */
/* ------------------------------------------------------------------------------------------ */

struct bundle_reader {
    FILE *f;                       /* borrowed: the caller opened it and closes it */
    uint64_t inflated_declared;    /* the trailer's inflated size, <= the caller's inflated_max */
    uint64_t compressed_size;      /* the trailer's compressed size, checked against the file */
    ZSTD_DCtx *dctx;               /* owned; its window is capped by BUNDLE_ZSTD_WINDOW_LOG_MAX */
    uint8_t *in_buf;               /* owned: in_cap bytes, the hash pass's and zstd's input */
    size_t in_cap;                 /* ZSTD_DStreamInSize() */
    ZSTD_inBuffer in;              /* the part of in_buf zstd has not consumed yet */
    uint64_t compressed_left;      /* body bytes not yet read from f */
    uint64_t inflated;             /* bytes zstd has produced this pass */
    bool frame_done;               /* zstd finished the frame and verified its checksum */
    uint8_t *rec_buf;              /* owned: BUNDLE_RECORD_SIZE_MAX bytes, the current payload */
    err_code failed;               /* first error of this pass; next returns it again */
    enum bundle_state state;       /* grammar position */
    struct bundle_log_hdr section; /* the current section, or the last one */
    uint64_t section_pos;          /* leaves read in the current section */
    uint64_t logs, leaves;         /* totals read this pass, checked against END */
    bool cosig_ok;                 /* a section's CHECKPOINT was read, no LOG since */
    uint64_t section_cosigs;       /* COSIG records read in the current section */
    uint64_t equivocations;        /* EQUIVOCATION records read this pass */
};

/* Reads exactly len bytes at the current position. A file shorter than it was when measured
 * is corrupt; a read the OS refused is ERR_IO. */
static err_code
reader_read(struct bundle_reader *r, uint8_t *dst, size_t len)
{
    if (fread(dst, 1, len, r->f) == len) {
        return ERR_OK;
    }
    if (ferror(r->f)) {
        diag_warn("BUNDLE-READ", "bundle read of %zu bytes failed", len);
        return ERR_IO;
    }
    return ERR_CORRUPT_HERE;
}

static err_code
reader_seek(struct bundle_reader *r, uint64_t offset)
{
    if (offset > INT64_MAX || fseeko(r->f, (off_t)offset, SEEK_SET) != 0) {
        diag_warn("BUNDLE-READ", "bundle seek to %llu failed", (unsigned long long)offset);
        return ERR_IO;
    }
    return ERR_OK;
}

/* Streams bytes [0, size - 32) of the file through SHA-256 and compares with the trailer's
 * hash, using in_buf, so that memory does not grow with the file. */
static err_code
reader_check_hash(struct bundle_reader *r, uint64_t file_size, const uint8_t *want)
{
    struct sha256 sha;
    uint8_t got[crypto_hash_sha256_BYTES];
    uint64_t left = file_size - crypto_hash_sha256_BYTES;
    uint64_t chunks_max = left / r->in_cap + 1;
    err_code rc = reader_seek(r, 0);
    if (rc != ERR_OK) {
        return rc;
    }
    sha256_init(&sha);
    for (uint64_t i = 0; i < chunks_max && left > 0; i++) {
        size_t n = left < r->in_cap ? (size_t)left : r->in_cap;
        if ((rc = reader_read(r, r->in_buf, n)) != ERR_OK) {
            sha256_release(&sha);
            return rc;
        }
        sha256_update(&sha, r->in_buf, n);
        left -= n;
    }
    ASSERT(left == 0);
    sha256_final(&sha, got);
    if (sodium_memcmp(got, want, sizeof got) != 0) {
        return ERR_CORRUPT_HERE;
    }
    return ERR_OK;
}

/* Checks what can be checked without decompressing: header fields, then the file length
 * against the trailer's compressed size, then the declared inflated size against the caller's
 * limit, then the hash. An unknown version stops before the trailer is read, since a later
 * version may place it elsewhere. */
static err_code
reader_check_file(struct bundle_reader *r, uint64_t inflated_max)
{
    uint8_t hdr[BUNDLE_HEADER_SIZE];
    uint8_t trailer[BUNDLE_TRAILER_SIZE];
    err_code rc = reader_seek(r, 0);
    if (rc != ERR_OK) {
        return rc;
    }
    if ((rc = reader_read(r, hdr, sizeof hdr)) != ERR_OK) {
        return rc;
    }
    if (memcmp(hdr, BUNDLE_MAGIC, BUNDLE_MAGIC_SIZE) != 0) {
        return ERR_CORRUPT_HERE;
    }
    if (get_u16(hdr + 8) != BUNDLE_VERSION) {
        diag_debug("BUNDLE-VERSION", "bundle version %u is not %u", (unsigned)get_u16(hdr + 8),
                   BUNDLE_VERSION);
        return ERR_CORRUPT_HERE;
    }
    if (get_u16(hdr + 10) != 0 || get_u32(hdr + 12) != 0) {
        return ERR_CORRUPT_HERE; /* flags and reserved: no meaning yet, so none accepted */
    }

    if (fseeko(r->f, 0, SEEK_END) != 0) {
        return ERR_IO;
    }
    off_t end = ftello(r->f);
    if (end < 0) {
        return ERR_IO;
    }
    uint64_t file_size = (uint64_t)end;
    if (file_size < BUNDLE_HEADER_SIZE + BUNDLE_TRAILER_SIZE) {
        return ERR_CORRUPT_HERE;
    }
    if ((rc = reader_seek(r, file_size - BUNDLE_TRAILER_SIZE)) != ERR_OK) {
        return rc;
    }
    if ((rc = reader_read(r, trailer, sizeof trailer)) != ERR_OK) {
        return rc;
    }
    uint64_t inflated = get_u64(trailer);
    uint64_t compressed = get_u64(trailer + 8);
    /* Truncation and appended bytes both show here, before a byte is hashed. */
    if (compressed != file_size - BUNDLE_HEADER_SIZE - BUNDLE_TRAILER_SIZE) {
        return ERR_CORRUPT_HERE;
    }
    if (inflated > inflated_max) {
        diag_debug("BUNDLE-MSGSZ", "bundle declares %llu inflated bytes (> %llu)",
                   (unsigned long long)inflated, (unsigned long long)inflated_max);
        return ERR_MSGSIZE;
    }
    if ((rc = reader_check_hash(r, file_size, trailer + BUNDLE_TRAILER_SIZES_SIZE)) != ERR_OK) {
        return rc;
    }
    r->inflated_declared = inflated;
    r->compressed_size = compressed;
    return ERR_OK;
}

/* On ERR_OK *out is owned by the caller (bundle_reader_free); f stays the caller's. */
err_code
bundle_reader_new(struct bundle_reader **out, FILE *f, uint64_t inflated_max)
{
    err_code rc = ERR_OK;
    struct bundle_reader *r = NULL;
    size_t zrc = 0;

    ASSERT(out != NULL);
    ASSERT(f != NULL);
    *out = NULL;
    if (sodium_init() < 0) {
        return ERR_IO; /* libsodium could not open its randomness source */
    }
    if ((r = calloc(1, sizeof *r)) == NULL) {
        return ERR_NOMEM;
    }
    r->f = f;
    r->in_cap = ZSTD_DStreamInSize();
    if ((r->in_buf = malloc(r->in_cap)) == NULL) {
        rc = ERR_NOMEM;
        goto out;
    }
    /* The hash proves the bytes as this first pass read them, not as a later pass will: a
     * caller that reads the records more than once must give a file nobody else can change
     * (node/exchange.c imports from a private copy). */
    if ((rc = reader_check_file(r, inflated_max)) != ERR_OK) {
        goto out;
    }
    /* Allocated once for the largest record, not grown per record: memory then stays what it
     * is on the first record, and a hostile length cannot make it churn. */
    if ((r->rec_buf = malloc(BUNDLE_RECORD_SIZE_MAX)) == NULL ||
        (r->dctx = ZSTD_createDCtx()) == NULL) {
        rc = ERR_NOMEM;
        goto out;
    }
    /* Set explicitly (STYLE.md section 7): a frame asking for a larger window is refused
     * rather than allocated. */
    zrc = ZSTD_DCtx_setParameter(r->dctx, ZSTD_d_windowLogMax, BUNDLE_ZSTD_WINDOW_LOG_MAX);
    ASSERT(!ZSTD_isError(zrc));
    if ((rc = bundle_reader_rewind(r)) != ERR_OK) {
        goto out;
    }
    *out = r;
    r = NULL; /* ownership moved to *out */
out:
    bundle_reader_free(r);
    return rc;
}

err_code
bundle_reader_rewind(struct bundle_reader *r)
{
    ASSERT(r != NULL);
    ASSERT(r->dctx != NULL);
    /* A new session forgets any half-decoded frame; the parameters set in new stay. */
    size_t zrc = ZSTD_DCtx_reset(r->dctx, ZSTD_reset_session_only);
    ASSERT(!ZSTD_isError(zrc));
    r->in.src = r->in_buf;
    r->in.size = 0;
    r->in.pos = 0;
    r->compressed_left = r->compressed_size;
    r->inflated = 0;
    r->frame_done = false;
    r->failed = ERR_OK;
    r->state = BUNDLE_STATE_SECTION_OR_END;
    memset(&r->section, 0, sizeof r->section);
    r->section_pos = 0;
    r->logs = 0;
    r->leaves = 0;
    r->cosig_ok = false;
    r->section_cosigs = 0;
    r->equivocations = 0;
    err_code rc = reader_seek(r, BUNDLE_OFF_BODY);
    if (rc != ERR_OK) {
        r->failed = rc;
    }
    return rc;
}

static err_code
reader_zstd_error(size_t ret)
{
    switch (ZSTD_getErrorCode(ret)) {
    case ZSTD_error_memory_allocation: return ERR_NOMEM;
    case ZSTD_error_frameParameter_windowTooLarge:
        /* The frame needs a window above BUNDLE_ZSTD_WINDOW_LOG_MAX: a limit, not damage. */
        diag_debug("BUNDLE-MSGSZ", "zstd window above 2^%d bytes", BUNDLE_ZSTD_WINDOW_LOG_MAX);
        return ERR_MSGSIZE;
    default: diag_debug("BUNDLE-ZSTD", "zstd: %s", ZSTD_getErrorName(ret)); return ERR_CORRUPT_HERE;
    }
}

/* One decompression step into out: refills the input from the file once zstd has consumed it,
 * then calls zstd once. Each successful step consumes input or produces output, or finishes the
 * frame; a step that can do none of these means the frame is truncated. That is what bounds the
 * loops that call it. */
static err_code
reader_step(struct bundle_reader *r, ZSTD_outBuffer *out)
{
    ASSERT(!r->frame_done);
    ASSERT(out->pos < out->size);
    if (r->in.pos == r->in.size && r->compressed_left > 0) {
        size_t n = r->compressed_left < r->in_cap ? (size_t)r->compressed_left : r->in_cap;
        err_code rc = reader_read(r, r->in_buf, n);
        if (rc != ERR_OK) {
            return rc;
        }
        r->compressed_left -= n;
        r->in.size = n;
        r->in.pos = 0;
    }
    size_t in_before = r->in.pos;
    size_t out_before = out->pos;
    size_t hint = ZSTD_decompressStream(r->dctx, out, &r->in);
    if (ZSTD_isError(hint)) {
        return reader_zstd_error(hint);
    }
    r->inflated += out->pos - out_before;
    if (r->inflated > r->inflated_declared) {
        diag_debug("BUNDLE-MSGSZ", "bundle body exceeds its declared %llu bytes",
                   (unsigned long long)r->inflated_declared);
        return ERR_MSGSIZE;
    }
    if (hint == 0) {
        r->frame_done = true;
        return ERR_OK;
    }
    if (r->in.pos == in_before && out->pos == out_before) {
        return ERR_CORRUPT_HERE; /* zstd wants input and the body has none left */
    }
    return ERR_OK;
}

/* Fills dst with the next len inflated bytes. */
static err_code
reader_inflate(struct bundle_reader *r, uint8_t *dst, size_t len)
{
    ZSTD_outBuffer out = {dst, len, 0};
    /* Each step consumes a body byte or produces one of these len bytes (reader_step). */
    uint64_t steps_max = (uint64_t)len + r->compressed_size + 1;
    for (uint64_t i = 0; i < steps_max && out.pos < out.size; i++) {
        if (r->frame_done) {
            return ERR_CORRUPT_HERE; /* the frame ended inside a record, or before END */
        }
        err_code rc = reader_step(r, &out);
        if (rc != ERR_OK) {
            return rc;
        }
    }
    if (NEVER(out.pos < out.size)) {
        return ERR_CORRUPT_HERE;
    }
    return ERR_OK;
}

/* After END: the frame must end (its checksum verified) with no byte after END, and the body
 * must hold nothing after the frame, so that no second frame can hide there. */
static err_code
reader_finish_frame(struct bundle_reader *r)
{
    uint8_t extra;
    uint64_t steps_max = r->compressed_size + 2;
    for (uint64_t i = 0; i < steps_max && !r->frame_done; i++) {
        ZSTD_outBuffer out = {&extra, 1, 0};
        err_code rc = reader_step(r, &out);
        if (rc != ERR_OK) {
            return rc;
        }
        if (out.pos > 0) {
            return ERR_CORRUPT_HERE; /* a record after END */
        }
    }
    if (NEVER(!r->frame_done)) {
        return ERR_CORRUPT_HERE;
    }
    if (r->in.pos != r->in.size || r->compressed_left > 0) {
        return ERR_CORRUPT_HERE; /* bytes after the frame */
    }
    if (r->inflated != r->inflated_declared) {
        return ERR_CORRUPT_HERE;
    }
    return ERR_OK;
}

/* Checks a record header against the grammar and the limits before its payload is buffered.
 * Exceeding a limit of limits.h is ERR_MSGSIZE; any other misfit is ERR_CORRUPT. */
static err_code
reader_check_record_header(const struct bundle_reader *r, uint8_t type, uint32_t len)
{
    switch (type) {
    case BUNDLE_REC_LOG:
        if (r->state != BUNDLE_STATE_SECTION_OR_END || len != BUNDLE_LOG_PAYLOAD_SIZE) {
            return ERR_CORRUPT_HERE;
        }
        if (r->logs >= BUNDLE_LOGS_MAX) {
            diag_debug("BUNDLE-MSGSZ", "bundle has more than %u logs", BUNDLE_LOGS_MAX);
            return ERR_MSGSIZE;
        }
        return ERR_OK;
    case BUNDLE_REC_LEAF:
        if (r->state != BUNDLE_STATE_LEAF || len == 0) {
            return ERR_CORRUPT_HERE;
        }
        if (len > LEAF_SIZE_MAX) {
            diag_debug("BUNDLE-MSGSZ", "leaf of %u bytes (> %u)", (unsigned)len, LEAF_SIZE_MAX);
            return ERR_MSGSIZE;
        }
        return ERR_OK;
    case BUNDLE_REC_CHECKPOINT:
        if (r->state != BUNDLE_STATE_CHECKPOINT || len == 0) {
            return ERR_CORRUPT_HERE;
        }
        if (len > NOTE_SIZE_MAX) {
            diag_debug("BUNDLE-MSGSZ", "checkpoint of %u bytes (> %u)", (unsigned)len,
                       NOTE_SIZE_MAX);
            return ERR_MSGSIZE;
        }
        return ERR_OK;
    case BUNDLE_REC_COSIG:
        if (r->state != BUNDLE_STATE_SECTION_OR_END || !r->cosig_ok ||
            len <= BUNDLE_COSIG_FIXED_SIZE) {
            return ERR_CORRUPT_HERE;
        }
        if (len > BUNDLE_COSIG_FIXED_SIZE + COSIG_LINE_SIZE_MAX ||
            r->section_cosigs >= BUNDLE_COSIGS_PER_LOG_MAX) {
            diag_debug("BUNDLE-MSGSZ", "cosignature of %u bytes, or more than %u in a section",
                       (unsigned)len, BUNDLE_COSIGS_PER_LOG_MAX);
            return ERR_MSGSIZE;
        }
        return ERR_OK;
    case BUNDLE_REC_EQUIVOCATION:
        if (r->state != BUNDLE_STATE_SECTION_OR_END || r->logs > 0 ||
            len < BUNDLE_EQUIV_FIXED_SIZE + 2) {
            return ERR_CORRUPT_HERE;
        }
        if (len > BUNDLE_EQUIV_SIZE_MAX || r->equivocations >= BUNDLE_EQUIVOCATIONS_MAX) {
            diag_debug("BUNDLE-MSGSZ", "equivocation proof of %u bytes, or more than %u",
                       (unsigned)len, BUNDLE_EQUIVOCATIONS_MAX);
            return ERR_MSGSIZE;
        }
        return ERR_OK;
    case BUNDLE_REC_END:
        if (r->state != BUNDLE_STATE_SECTION_OR_END || len != BUNDLE_END_PAYLOAD_SIZE) {
            return ERR_CORRUPT_HERE;
        }
        return ERR_OK;
    default: return ERR_CORRUPT_HERE; /* an unknown type */
    }
}

/* Reads and checks one record; rec is filled on ERR_OK. */
static err_code
reader_record(struct bundle_reader *r, struct bundle_record *rec)
{
    uint8_t hdr[BUNDLE_RECORD_HEADER_SIZE];
    err_code rc = reader_inflate(r, hdr, sizeof hdr);
    if (rc != ERR_OK) {
        return rc;
    }
    uint8_t type = hdr[0];
    uint32_t len = get_u32(hdr + 1);
    if (len > BUNDLE_RECORD_SIZE_MAX) {
        diag_debug("BUNDLE-MSGSZ", "record of %u bytes (> %u)", (unsigned)len,
                   BUNDLE_RECORD_SIZE_MAX);
        return ERR_MSGSIZE;
    }
    if ((rc = reader_check_record_header(r, type, len)) != ERR_OK) {
        return rc;
    }
    if ((rc = reader_inflate(r, r->rec_buf, len)) != ERR_OK) {
        return rc;
    }
    const uint8_t *p = r->rec_buf;
    rec->type = (enum bundle_rec_type)type;
    rec->data = p;
    rec->len = len;

    switch (type) {
    case BUNDLE_REC_LOG: {
        struct bundle_log_hdr h;
        memcpy(h.key, p, KEY_PUBLIC_SIZE);
        h.first = get_u64(p + KEY_PUBLIC_SIZE);
        h.count = get_u64(p + KEY_PUBLIC_SIZE + 8);
        /* Strictly increasing keys let a reader refuse a repeated log without remembering
         * every key it has seen. */
        if (r->logs > 0 && memcmp(r->section.key, h.key, KEY_PUBLIC_SIZE) >= 0) {
            return ERR_CORRUPT_HERE;
        }
        if (h.count > UINT64_MAX - h.first) {
            return ERR_CORRUPT_HERE; /* leaf indexes would wrap */
        }
        r->section = h;
        r->section_pos = 0;
        r->logs++;
        r->cosig_ok = false;
        r->section_cosigs = 0;
        r->state = h.count > 0 ? BUNDLE_STATE_LEAF : BUNDLE_STATE_CHECKPOINT;
        rec->log = h;
        return ERR_OK;
    }
    case BUNDLE_REC_LEAF:
        ASSERT(r->section_pos < r->section.count);
        rec->log = r->section;
        rec->leaf_index = r->section.first + r->section_pos;
        r->section_pos++;
        r->leaves++;
        if (r->section_pos == r->section.count) {
            r->state = BUNDLE_STATE_CHECKPOINT;
        }
        return ERR_OK;
    case BUNDLE_REC_CHECKPOINT:
        ASSERT(r->section_pos == r->section.count);
        rec->log = r->section;
        r->state = BUNDLE_STATE_SECTION_OR_END;
        r->cosig_ok = true;
        return ERR_OK;
    case BUNDLE_REC_COSIG:
        rec->log = r->section;
        memcpy(rec->cosig.witness, p, KEY_PUBLIC_SIZE);
        rec->cosig.size = get_u64(p + KEY_PUBLIC_SIZE);
        memcpy(rec->cosig.root, p + KEY_PUBLIC_SIZE + 8, HASH_SIZE);
        rec->cosig.line = p + BUNDLE_COSIG_FIXED_SIZE;
        rec->cosig.line_len = len - BUNDLE_COSIG_FIXED_SIZE;
        r->section_cosigs++;
        return ERR_OK;
    case BUNDLE_REC_EQUIVOCATION: {
        /* Each length is checked against what is left before it is used. */
        struct bundle_equivocation *e = &rec->equivocation;
        size_t at = 0;
        memcpy(e->key, p, KEY_PUBLIC_SIZE);
        at += KEY_PUBLIC_SIZE;
        e->prefix = get_u64(p + at);
        at += 8;
        e->note_a_len = get_u16(p + at);
        at += 2;
        if (e->note_a_len == 0 || e->note_a_len > NOTE_SIZE_MAX || len - at < e->note_a_len + 2) {
            return ERR_CORRUPT_HERE;
        }
        e->note_a = p + at;
        at += e->note_a_len;
        e->note_b_len = get_u16(p + at);
        at += 2;
        if (e->note_b_len == 0 || e->note_b_len > NOTE_SIZE_MAX || len - at < e->note_b_len + 1) {
            return ERR_CORRUPT_HERE;
        }
        e->note_b = p + at;
        at += e->note_b_len;
        e->count = p[at++];
        if (e->count > MERKLE_PROOF_HASHES_MAX || len - at != e->count * HASH_SIZE) {
            return ERR_CORRUPT_HERE;
        }
        e->proof = (const uint8_t(*)[HASH_SIZE])(p + at);
        r->equivocations++;
        return ERR_OK;
    }
    case BUNDLE_REC_END:
        rec->logs = get_u64(p);
        rec->leaves = get_u64(p + 8);
        if (rec->logs != r->logs || rec->leaves != r->leaves) {
            return ERR_CORRUPT_HERE;
        }
        if ((rc = reader_finish_frame(r)) != ERR_OK) {
            return rc;
        }
        r->state = BUNDLE_STATE_DONE;
        return ERR_OK;
    default: assert_fail("record type checked by reader_check_record_header", __FILE__, __LINE__);
    }
}

err_code
bundle_reader_next(struct bundle_reader *r, struct bundle_record *rec)
{
    ASSERT(r != NULL);
    ASSERT(rec != NULL);
    memset(rec, 0, sizeof *rec);
    if (r->failed != ERR_OK) {
        return r->failed; /* the stream position is unknown after an error: stay failed */
    }
    if (r->state == BUNDLE_STATE_DONE) {
        rec->type = BUNDLE_REC_END;
        rec->logs = r->logs;
        rec->leaves = r->leaves;
        return ERR_OK;
    }
    err_code rc = reader_record(r, rec);
    if (rc != ERR_OK) {
        memset(rec, 0, sizeof *rec);
        r->failed = rc;
    }
    return rc;
}

void
bundle_reader_free(struct bundle_reader *r)
{
    if (r == NULL) {
        return;
    }
    ZSTD_freeDCtx(r->dctx);
    free(r->rec_buf);
    free(r->in_buf);
    free(r);
}
