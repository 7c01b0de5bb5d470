/*
 * Sync messages: the plaintext a caller (nanomsg REQ) and a callee (REP) exchange inside the
 * secure channel (proto/channel.h), one Request and one Reply per round trip
 * (proto/sync.proto; docs/PROTOCOL.md, "Sync messages"). This module is pure: it bounds,
 * unpacks and checks messages, and builds and reads the compressed leaf batches they carry. It
 * verifies no signature and no Merkle root (node/ does, before anything reaches a table), and
 * keeps no session state: request ids, cursors and the reply cache are the caller's.
 *
 * Decoding is: size bound (WIRE_MSG_SIZE_MAX), protobuf-c unpack with an allocator that refuses
 * past WIRE_DECODED_SIZE_MAX, then one validation pass over every field. ERR_MSGSIZE when a
 * limit of proto/limits.h is exceeded, ERR_PROTO for anything else malformed; either way *why
 * is a static sentence that names what was wrong without repeating any of the input (it may be
 * logged, and sent back in an Error reply).
 */
#ifndef CDHT_WIRE_H
#define CDHT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "limits.h"
#include "sync.pb-c.h"

/* The protocol version every message carries; a message of another version is refused. */
#define WIRE_VERSION 1u
/* zstd level of batches: bundles' level, `zstd -3`. */
#define WIRE_ZSTD_LEVEL BUNDLE_ZSTD_LEVEL
/* The length prefix of each leaf inside a batch's inflated content: u32 big-endian. */
#define WIRE_LEAF_LEN_SIZE 4u

/* Checks m as the decoder would (so that we never send what a peer refuses), then encodes it.
 * On ERR_OK *out is malloc'd (*len bytes) and owned by the caller. */
err_code wire_request_encode(const Cdht__Sync__Request *m, uint8_t **out, size_t *len,
                             const char **why) WARN_UNUSED;
err_code wire_reply_encode(const Cdht__Sync__Reply *m, uint8_t **out, size_t *len,
                           const char **why) WARN_UNUSED;

/* Decodes and checks one message. On ERR_OK *out is owned by the caller (wire_*_free); on
 * error *out is NULL and *why says what was wrong. Bytes fields of *out point into it, not
 * into buf. */
err_code wire_request_decode(const uint8_t *buf, size_t len, Cdht__Sync__Request **out,
                             const char **why) WARN_UNUSED;
err_code wire_reply_decode(const uint8_t *buf, size_t len, Cdht__Sync__Reply **out,
                           const char **why) WARN_UNUSED;
void wire_request_free(Cdht__Sync__Request *m); /* NULL is a no-op */
void wire_reply_free(Cdht__Sync__Reply *m);

/* The validation pass alone (decode and encode run it). */
err_code wire_request_check(const Cdht__Sync__Request *m, const char **why) WARN_UNUSED;
err_code wire_reply_check(const Cdht__Sync__Reply *m, const char **why) WARN_UNUSED;

/*
 * Batches. A batch's leaves travel as one zstd frame that declares its content size; the
 * content is, per leaf in index order, its length (u32 BE, 1..LEAF_SIZE_MAX) then its bytes.
 */

/* Reads the frame header only: *size is the content size the frame declares. ERR_PROTO when
 * zst is not exactly one zstd frame (truncated, trailing bytes, skippable) or does not declare
 * its size; ERR_MSGSIZE when it declares more than WIRE_BATCH_INFLATED_SIZE_MAX. Nothing is
 * decompressed or allocated: this is the decompression-bomb check. */
err_code wire_batch_inflated_size(const uint8_t *zst, size_t zst_len, uint64_t *size,
                                  const char **why) WARN_UNUSED;

/* Builds a batch: add leaves, then finish. Embedded; init, then release when done. */
struct wire_batch_writer {
    uint8_t *buf;   /* owned: the inflated content so far */
    size_t len;     /* bytes of buf used */
    size_t cap;     /* bytes of buf allocated, <= WIRE_BATCH_INFLATED_SIZE_MAX */
    uint32_t count; /* leaves added, <= WIRE_BATCH_LEAVES_MAX */
};

void wire_batch_writer_init(struct wire_batch_writer *w);
/* Appends one leaf (copied). ERR_INVAL for an empty leaf; ERR_MSGSIZE when the leaf exceeds
 * LEAF_SIZE_MAX, or the batch would exceed WIRE_BATCH_LEAVES_MAX leaves or inflate past
 * WIRE_BATCH_INFLATED_SIZE_MAX: finish this batch and start another. */
err_code wire_batch_writer_add(struct wire_batch_writer *w, const uint8_t *leaf, size_t len,
                               const char **why) WARN_UNUSED;
/* Compresses the leaves added into one frame of at most bytes_max (<= WIRE_BATCH_BYTES_MAX)
 * bytes. On ERR_OK *out is malloc'd and owned by the caller, and the writer is empty again
 * (its buffer kept for the next batch). ERR_INVAL when no leaf was added; ERR_MSGSIZE when the
 * frame would exceed bytes_max (the writer keeps its leaves: send fewer). */
err_code wire_batch_writer_finish(struct wire_batch_writer *w, size_t bytes_max, uint8_t **out,
                                  size_t *out_len, const char **why) WARN_UNUSED;
void wire_batch_writer_release(struct wire_batch_writer *w);

/* Reads a received batch: init checks and inflates the whole frame, and walks its framing, so a
 * batch is refused whole before any leaf is handed out. */
struct wire_batch_reader {
    uint8_t *buf;  /* owned: the inflated content */
    size_t len;    /* bytes of buf */
    size_t off;    /* the next leaf's length prefix */
    uint32_t left; /* leaves not yet handed out */
};

/* Inflates zst, a frame that must hold exactly count leaves (1..WIRE_BATCH_LEAVES_MAX). Errors
 * of wire_batch_inflated_size first (before any allocation); then ERR_PROTO when the frame
 * does not inflate to its declared size, a leaf length is 0, exceeds LEAF_SIZE_MAX (ERR_MSGSIZE)
 * or overruns the content, or the leaves do not fill the content exactly. On error r holds
 * nothing (release is still allowed). */
err_code wire_batch_reader_init(struct wire_batch_reader *r, const uint8_t *zst, size_t zst_len,
                                uint32_t count, const char **why) WARN_UNUSED;
/* 1 with the next leaf (borrowed from r, valid until release), 0 after the last. */
int wire_batch_reader_next(struct wire_batch_reader *r, const uint8_t **leaf, size_t *len);
void wire_batch_reader_release(struct wire_batch_reader *r);

#endif
