/*
 * Fuzz target for the sync message layer (proto/wire.c). The first byte picks the decoder:
 * 0 a Request, 1 a Reply, 2 a batch (the next two bytes, big-endian, are the leaf count; the
 * rest is the zstd frame). Properties: errors are ERR_PROTO or ERR_MSGSIZE with a sentence and
 * no output; an accepted message re-encodes, and that encoding decodes and re-encodes to the
 * same bytes; an accepted batch hands out exactly count leaves that fill its content, and the
 * batch writer's frame of those leaves reads back the same leaves. Every batch inside an
 * accepted message is run through the reader too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "wire.h"

static void
fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_wire: property failed: %s\n", what);
    abort();
}

static void
fuzz_refusal(err_code rc, const char *why)
{
    if (rc != ERR_PROTO && rc != ERR_MSGSIZE) {
        fuzz_fail("an error wire.h does not document");
    }
    if (why == NULL || why[0] == '\0') {
        fuzz_fail("a refusal without its sentence");
    }
}

/* Reads a batch; when accepted, checks the leaves and that the writer reproduces them. */
static void
fuzz_batch(const uint8_t *zst, size_t len, uint32_t count)
{
    struct wire_batch_reader r;
    const char *why = NULL;
    err_code rc = wire_batch_reader_init(&r, zst, len, count, &why);
    if (rc != ERR_OK) {
        fuzz_refusal(rc, why);
        if (r.buf != NULL) {
            fuzz_fail("a refused batch holds memory");
        }
        wire_batch_reader_release(&r);
        return;
    }
    struct wire_batch_writer w;
    wire_batch_writer_init(&w);
    const uint8_t *leaf;
    size_t leaf_len, total = 0;
    uint32_t seen = 0;
    while (wire_batch_reader_next(&r, &leaf, &leaf_len)) {
        if (leaf_len == 0 || leaf_len > LEAF_SIZE_MAX) {
            fuzz_fail("a leaf out of bounds");
        }
        if (wire_batch_writer_add(&w, leaf, leaf_len, &why) != ERR_OK) {
            fuzz_fail("the writer refuses a leaf the reader accepted");
        }
        total += WIRE_LEAF_LEN_SIZE + leaf_len;
        seen++;
    }
    if (seen != count || total != r.len) {
        fuzz_fail("the leaves do not fill the batch");
    }
    uint8_t *again = NULL;
    size_t again_len = 0;
    rc = wire_batch_writer_finish(&w, WIRE_BATCH_BYTES_MAX, &again, &again_len, &why);
    if (rc == ERR_OK) { /* an incompressible batch may exceed the budget: not a failure */
        struct wire_batch_reader r2;
        if (wire_batch_reader_init(&r2, again, again_len, count, &why) != ERR_OK ||
            r2.len != r.len || memcmp(r2.buf, r.buf, r.len) != 0) {
            fuzz_fail("a rewritten batch reads back differently");
        }
        wire_batch_reader_release(&r2);
    } else if (rc != ERR_MSGSIZE) {
        fuzz_fail("the writer fails on accepted leaves");
    }
    free(again);
    wire_batch_writer_release(&w);
    wire_batch_reader_release(&r);
}

static void
fuzz_batches(Cdht__Sync__Batch *const *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fuzz_batch(b[i]->leaves.data, b[i]->leaves.len, b[i]->count);
    }
}

static void
fuzz_request(const uint8_t *data, size_t size)
{
    Cdht__Sync__Request *m = NULL, *m2 = NULL;
    const char *why = NULL;
    uint8_t *a = NULL, *b = NULL;
    size_t a_len, b_len;
    err_code rc = wire_request_decode(data, size, &m, &why);
    if (rc != ERR_OK) {
        fuzz_refusal(rc, why);
        if (m != NULL) {
            fuzz_fail("output set on error");
        }
        return;
    }
    if (wire_request_encode(m, &a, &a_len, &why) != ERR_OK) {
        fuzz_fail("an accepted request does not re-encode");
    }
    if (wire_request_decode(a, a_len, &m2, &why) != ERR_OK) {
        fuzz_fail("a re-encoded request does not decode");
    }
    if (wire_request_encode(m2, &b, &b_len, &why) != ERR_OK || a_len != b_len ||
        memcmp(a, b, a_len) != 0) {
        fuzz_fail("re-encoding is not stable");
    }
    if (m->body_case == CDHT__SYNC__REQUEST__BODY_PUSH) {
        fuzz_batches(m->push->batches, m->push->n_batches);
    }
    free(a);
    free(b);
    wire_request_free(m);
    wire_request_free(m2);
}

static void
fuzz_reply(const uint8_t *data, size_t size)
{
    Cdht__Sync__Reply *m = NULL, *m2 = NULL;
    const char *why = NULL;
    uint8_t *a = NULL, *b = NULL;
    size_t a_len, b_len;
    err_code rc = wire_reply_decode(data, size, &m, &why);
    if (rc != ERR_OK) {
        fuzz_refusal(rc, why);
        if (m != NULL) {
            fuzz_fail("output set on error");
        }
        return;
    }
    if (wire_reply_encode(m, &a, &a_len, &why) != ERR_OK) {
        fuzz_fail("an accepted reply does not re-encode");
    }
    if (wire_reply_decode(a, a_len, &m2, &why) != ERR_OK) {
        fuzz_fail("a re-encoded reply does not decode");
    }
    if (wire_reply_encode(m2, &b, &b_len, &why) != ERR_OK || a_len != b_len ||
        memcmp(a, b, a_len) != 0) {
        fuzz_fail("re-encoding is not stable");
    }
    if (m->body_case == CDHT__SYNC__REPLY__BODY_PULL) {
        fuzz_batches(m->pull->batches, m->pull->n_batches);
    }
    free(a);
    free(b);
    wire_reply_free(m);
    wire_reply_free(m2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    diag_level = DIAG_ERROR; /* malformed input is the expected case; keep the output quiet */
    if (size < 1) {
        return 0;
    }
    switch (data[0] % 3) {
    case 0: fuzz_request(data + 1, size - 1); break;
    case 1: fuzz_reply(data + 1, size - 1); break;
    default:
        if (size >= 3) {
            fuzz_batch(data + 3, size - 3, (uint32_t)data[1] << 8 | data[2]);
        }
        break;
    }
    return 0;
}
