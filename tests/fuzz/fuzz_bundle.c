/*
 * Fuzz target for the bundle reader (proto/bundle.c). Each input is read twice: as it is, which
 * exercises the header, length and hash checks, and with its compressed size and hash fixed
 * up, since a fuzzer almost never guesses a SHA-256 and would otherwise not reach the zstd body
 * and the record grammar. Properties: every error is one bundle.h documents; a bundle that
 * reads cleanly to END reads the same after a rewind, and the same again after its records are
 * re-written with bundle_writer and read back.
 */
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "diag.h"

/* Small enough that a decompression bomb costs milliseconds, large enough for any corpus. */
#define FUZZ_INFLATED_MAX (8u * 1024u * 1024u)
/* Each record is at least its 5-byte header, so this bounds the records of one pass. */
#define FUZZ_RECORDS_MAX (FUZZ_INFLATED_MAX / BUNDLE_RECORD_HEADER_SIZE + 1)

struct saved_record {
    struct bundle_record rec; /* data points into the copy below, not into the reader */
    uint8_t *copy;            /* owned */
};

struct saved {
    struct saved_record *v; /* owned */
    size_t count;
    size_t cap;
};

static void
fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_bundle: property failed: %s\n", what);
    abort();
}

static void
saved_free(struct saved *s)
{
    for (size_t i = 0; i < s->count; i++) {
        free(s->v[i].copy);
    }
    free(s->v);
    memset(s, 0, sizeof *s);
}

static void
saved_push(struct saved *s, const struct bundle_record *rec)
{
    if (s->count == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (s->v == NULL) {
            abort();
        }
    }
    struct saved_record *r = &s->v[s->count++];
    r->rec = *rec;
    r->copy = malloc(rec->len > 0 ? rec->len : 1);
    if (r->copy == NULL) {
        abort();
    }
    if (rec->len > 0) {
        memcpy(r->copy, rec->data, rec->len);
    }
    r->rec.data = r->copy;
    /* The decoded views of COSIG and EQUIVOCATION point into the payload: move them along. */
    if (rec->type == BUNDLE_REC_COSIG) {
        r->rec.cosig.line = r->copy + (rec->cosig.line - rec->data);
    } else if (rec->type == BUNDLE_REC_EQUIVOCATION) {
        r->rec.equivocation.note_a = r->copy + (rec->equivocation.note_a - rec->data);
        r->rec.equivocation.note_b = r->copy + (rec->equivocation.note_b - rec->data);
        r->rec.equivocation.proof = (const uint8_t(*)[HASH_SIZE])(
            r->copy + ((const uint8_t *)rec->equivocation.proof - rec->data));
    }
}

static bool
same_record(const struct bundle_record *a, const struct bundle_record *b)
{
    return a->type == b->type && a->len == b->len &&
           (a->len == 0 || memcmp(a->data, b->data, a->len) == 0) &&
           memcmp(&a->log, &b->log, sizeof a->log) == 0 && a->leaf_index == b->leaf_index &&
           a->logs == b->logs && a->leaves == b->leaves;
}

static void
check_error(err_code rc)
{
    if (rc != ERR_CORRUPT && rc != ERR_MSGSIZE) {
        fuzz_fail("an error bundle.h does not document");
    }
}

/* Reads r to END. With out != NULL the records are saved; with want != NULL they are compared
 * with it. Returns the first error. */
static err_code
read_pass(struct bundle_reader *r, struct saved *out, const struct saved *want)
{
    struct bundle_record rec;
    for (size_t i = 0; i < FUZZ_RECORDS_MAX; i++) {
        err_code rc = bundle_reader_next(r, &rec);
        if (rc != ERR_OK) {
            return rc;
        }
        if (out != NULL) {
            saved_push(out, &rec);
        }
        if (want != NULL && (i >= want->count || !same_record(&rec, &want->v[i].rec))) {
            fuzz_fail("records differ between passes");
        }
        if (rec.type == BUNDLE_REC_END) {
            if (want != NULL && i + 1 != want->count) {
                fuzz_fail("record counts differ between passes");
            }
            return ERR_OK;
        }
    }
    fuzz_fail("more records than the inflated limit allows");
    return ERR_CORRUPT;
}

/* Writes the saved records with bundle_writer and checks they read back identically. */
static void
rewrite_and_compare(const struct saved *s)
{
    struct bundle_writer *w = NULL;
    struct bundle_reader *r = NULL;
    FILE *f = tmpfile();
    if (f == NULL) {
        abort();
    }
    if (bundle_writer_new(&w, f) != ERR_OK) {
        fuzz_fail("bundle_writer_new");
    }
    for (size_t i = 0; i < s->count; i++) {
        const struct bundle_record *rec = &s->v[i].rec;
        err_code rc = ERR_OK;
        switch (rec->type) {
        case BUNDLE_REC_LOG: rc = bundle_write_log(w, &rec->log); break;
        case BUNDLE_REC_LEAF: rc = bundle_write_leaf(w, rec->data, rec->len); break;
        case BUNDLE_REC_CHECKPOINT: rc = bundle_write_checkpoint(w, rec->data, rec->len); break;
        case BUNDLE_REC_COSIG: rc = bundle_write_cosig(w, &rec->cosig); break;
        case BUNDLE_REC_EQUIVOCATION: rc = bundle_write_equivocation(w, &rec->equivocation); break;
        case BUNDLE_REC_END: rc = bundle_writer_finish(w); break;
        }
        if (rc != ERR_OK) {
            fuzz_fail("re-writing an accepted bundle");
        }
    }
    bundle_writer_free(w);
    if (bundle_reader_new(&r, f, BUNDLE_INFLATED_SIZE_MAX) != ERR_OK ||
        read_pass(r, NULL, s) != ERR_OK) {
        fuzz_fail("re-written bundle does not read back");
    }
    bundle_reader_free(r);
    fclose(f);
}

static void
run_one(const uint8_t *data, size_t size)
{
    struct bundle_reader *r = NULL;
    struct saved s = {0};
    /* fmemopen wants a non-const buffer; "rb" never writes to it. */
    FILE *f = fmemopen((void *)(uintptr_t)data, size, "rb");
    if (f == NULL) {
        abort();
    }
    err_code rc = bundle_reader_new(&r, f, FUZZ_INFLATED_MAX);
    if (rc != ERR_OK) {
        check_error(rc);
        fclose(f);
        return;
    }
    rc = read_pass(r, &s, NULL);
    if (rc != ERR_OK) {
        check_error(rc);
        /* A failed pass fails the same way after a rewind. */
        if (bundle_reader_rewind(r) != ERR_OK || read_pass(r, NULL, NULL) != rc) {
            fuzz_fail("a rewound pass ends differently");
        }
    } else {
        if (bundle_reader_rewind(r) != ERR_OK || read_pass(r, NULL, &s) != ERR_OK) {
            fuzz_fail("a rewound pass fails");
        }
        rewrite_and_compare(&s);
    }
    saved_free(&s);
    bundle_reader_free(r);
    fclose(f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    diag_level = DIAG_ERROR; /* corruption is the expected case here; keep the output quiet */
    run_one(data, size);
    if (size < BUNDLE_HEADER_SIZE + BUNDLE_TRAILER_SIZE) {
        return 0;
    }
    uint8_t *fixed = malloc(size);
    if (fixed == NULL) {
        abort();
    }
    memcpy(fixed, data, size);
    uint64_t compressed = size - BUNDLE_HEADER_SIZE - BUNDLE_TRAILER_SIZE;
    uint8_t *tr = fixed + size - BUNDLE_TRAILER_SIZE;
    for (unsigned i = 0; i < 8; i++) {
        tr[8 + i] = (uint8_t)(compressed >> (56 - 8 * i));
    }
    crypto_hash_sha256(fixed + size - HASH_SIZE, fixed, size - HASH_SIZE);
    run_one(fixed, size);
    free(fixed);
    return 0;
}
