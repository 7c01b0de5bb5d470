/*
 * The bundle file: the leaves and checkpoints one replica sends another on a USB stick
 * (docs/PROTOCOL.md, "Bundle"). This module knows the bytes only: framing, zstd, the
 * whole-file SHA-256 trailer and the record grammar. It verifies no signature and no Merkle
 * root; node/bundle import does that before anything reaches a table.
 *
 *   header  : "CDHTBNDL" | version u16 BE (1) | flags u16 BE (0) | reserved u32 (0)   16 bytes
 *   body    : one zstd frame (level 3, content checksum on) of the records below
 *   trailer : inflated size u64 BE | compressed size u64 BE | SHA-256 of every byte before
 *             this hash (header, body, the two sizes)                                 48 bytes
 *
 *   record  : type u8 | payload length u32 BE | payload
 *     BUNDLE_REC_LOG        key[32] | first index u64 BE | leaf count u64 BE
 *     BUNDLE_REC_LEAF       the leaf bytes (an encoded Commit), index = first + position
 *     BUNDLE_REC_CHECKPOINT a checkpoint note signed by the log's key
 *     BUNDLE_REC_COSIG      witness key[32] | size u64 BE | root[32] | cosignature line
 *                           (proto/cosig.h) co-signing the section's log at that size
 *     BUNDLE_REC_EQUIVOCATION log key[32] | prefix u64 BE | note A length u16 BE | note A |
 *                           note B length u16 BE | note B | hash count u8 | hashes[count][32]
 *     BUNDLE_REC_END        log sections u64 BE | leaves u64 BE   (last record)
 *
 *   Grammar: EQUIVOCATION* (LOG LEAF{count} CHECKPOINT COSIG*)* END. Each log appears at most
 *   once, in strictly increasing key order, so a reader can refuse duplicates without
 *   remembering keys. A bundle without COSIG and EQUIVOCATION records is byte for byte what
 *   the first version wrote.
 *
 * Reading streams the file twice at most (hash check, then records), so memory is bounded by
 * BUNDLE_RECORD_SIZE_MAX and the zstd window, whatever the file's size.
 */
#ifndef CDHT_BUNDLE_H
#define CDHT_BUNDLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "limits.h"

#define BUNDLE_MAGIC "CDHTBNDL"
#define BUNDLE_VERSION 1u
#define BUNDLE_HEADER_SIZE 16u
#define BUNDLE_TRAILER_SIZE 48u
#define BUNDLE_RECORD_HEADER_SIZE 5u

enum bundle_rec_type {
    BUNDLE_REC_END = 0,
    BUNDLE_REC_LOG = 1,
    BUNDLE_REC_LEAF = 2,
    BUNDLE_REC_CHECKPOINT = 3,
    BUNDLE_REC_COSIG = 4,
    BUNDLE_REC_EQUIVOCATION = 5,
};

/* A cosignature record. line is borrowed (the reader's buffer, or the writer's caller). */
struct bundle_cosig {
    uint8_t witness[KEY_PUBLIC_SIZE];
    uint64_t size; /* tree size co-signed */
    uint8_t root[HASH_SIZE];
    const uint8_t *line; /* the signature line, "\n" included: cosig_parse() reads it */
    size_t line_len;
};

/* An equivocation proof record (node/witness.h says what it proves). Pointers are borrowed. */
struct bundle_equivocation {
    uint8_t key[KEY_PUBLIC_SIZE]; /* the log */
    uint64_t prefix;              /* leaves the finder saw both histories share */
    const uint8_t *note_a;
    size_t note_a_len; /* 1..NOTE_SIZE_MAX */
    const uint8_t *note_b;
    size_t note_b_len;
    const uint8_t (*proof)[HASH_SIZE];
    size_t count; /* <= MERKLE_PROOF_HASHES_MAX */
};

struct bundle_log_hdr {
    uint8_t key[KEY_PUBLIC_SIZE];
    uint64_t first; /* index of the first leaf in this section */
    uint64_t count; /* leaves that follow */
};

/* One decoded record. data is borrowed from the reader and valid until the next call. */
struct bundle_record {
    enum bundle_rec_type type;
    const uint8_t *data;
    size_t len;
    struct bundle_log_hdr log; /* for BUNDLE_REC_LOG, and the current section otherwise */
    uint64_t leaf_index;       /* for BUNDLE_REC_LEAF: first + position in the section */
    uint64_t logs, leaves;     /* for BUNDLE_REC_END: totals it declared (checked) */
    struct bundle_cosig cosig; /* for BUNDLE_REC_COSIG */
    struct bundle_equivocation equivocation; /* for BUNDLE_REC_EQUIVOCATION */
};

struct bundle_writer;

/* Starts a bundle on f (a regular file opened "wb"; f stays the caller's). */
err_code bundle_writer_new(struct bundle_writer **out, FILE *f) WARN_UNUSED;
err_code bundle_write_log(struct bundle_writer *w, const struct bundle_log_hdr *hdr) WARN_UNUSED;
err_code bundle_write_leaf(struct bundle_writer *w, const uint8_t *leaf, size_t len) WARN_UNUSED;
err_code bundle_write_checkpoint(struct bundle_writer *w, const uint8_t *note,
                                 size_t len) WARN_UNUSED;
/* After a section's CHECKPOINT (or another COSIG), at most BUNDLE_COSIGS_PER_LOG_MAX a
 * section; the line must be 1..COSIG_LINE_SIZE_MAX bytes. */
err_code bundle_write_cosig(struct bundle_writer *w, const struct bundle_cosig *c) WARN_UNUSED;
/* Before the first LOG, at most BUNDLE_EQUIVOCATIONS_MAX. */
err_code bundle_write_equivocation(struct bundle_writer *w,
                                   const struct bundle_equivocation *e) WARN_UNUSED;
/* Writes END and the trailer, and flushes f. The grammar must be complete. */
err_code bundle_writer_finish(struct bundle_writer *w) WARN_UNUSED;
void bundle_writer_free(struct bundle_writer *w);

struct bundle_reader;

/* Opens a bundle read from f (seekable; f stays the caller's). Checks the header, the trailer
 * sizes against the file length and limits (ERR_MSGSIZE when the declared inflated size exceeds
 * inflated_max, normally BUNDLE_INFLATED_SIZE_MAX) and the whole-file SHA-256 (ERR_CORRUPT).
 * Nothing is decompressed yet. */
err_code bundle_reader_new(struct bundle_reader **out, FILE *f, uint64_t inflated_max) WARN_UNUSED;
/* The next record, in grammar order. ERR_CORRUPT for a grammar or zstd error, a truncated
 * stream, or totals that disagree with END or the trailer; ERR_MSGSIZE when a record or the
 * inflated body exceeds its limit. After END, further calls return END again. */
err_code bundle_reader_next(struct bundle_reader *r, struct bundle_record *rec) WARN_UNUSED;
/* Starts the records again from the first (the importer's second pass). */
err_code bundle_reader_rewind(struct bundle_reader *r) WARN_UNUSED;
void bundle_reader_free(struct bundle_reader *r);

/* Field offsets, for tests that flip bytes of a particular class. */
#define BUNDLE_OFF_BODY BUNDLE_HEADER_SIZE

#endif
