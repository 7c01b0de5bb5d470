/*
 * Heads file: what one replica holds, per log, so that another can export only what it lacks
 * (`cdht log heads -o FILE`, then `cdht bundle export --since FILE`). Text, so that it can be
 * read and mailed:
 *
 *     cdht-heads v1\n
 *     <base64 public key> <size, decimal> <base64 root>\n      one line per log
 *
 * Lines are sorted by key bytes and unique. A root is the RFC 6962 root of the first `size`
 * leaves; a size of 0 has the empty tree's root.
 */
#ifndef CDHT_HEADS_H
#define CDHT_HEADS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "limits.h"

#define HEADS_MAGIC_LINE "cdht-heads v1"

struct heads_entry {
    uint8_t key[KEY_PUBLIC_SIZE];
    uint64_t size;
    uint8_t root[HASH_SIZE];
};

/* Appends one entry to a growing array (*v of *n entries, room for *cap; doubling from 64).
 * ERR_NOMEM leaves the array as it was. */
err_code heads_append(struct heads_entry **v, size_t *n, size_t *cap,
                      const uint8_t key[KEY_PUBLIC_SIZE], uint64_t size,
                      const uint8_t root[HASH_SIZE]) WARN_UNUSED;

/* Writes the file. Entries must already be sorted and unique (ASSERTed). */
err_code heads_write(FILE *f, const struct heads_entry *e, size_t count) WARN_UNUSED;

/* Decodes a heads file held in memory. On ERR_OK *out is malloc'd (count entries; NULL when
 * empty) and owned by the caller. ERR_CORRUPT names nothing: the caller names the file.
 * ERR_MSGSIZE when len > HEADS_FILE_SIZE_MAX or entries > HEADS_ENTRIES_MAX. */
err_code heads_decode(const uint8_t *buf, size_t len, struct heads_entry **out,
                      size_t *count) WARN_UNUSED;

/* Finds key in sorted entries; NULL when absent. */
const struct heads_entry *heads_find(const struct heads_entry *e, size_t count,
                                     const uint8_t key[KEY_PUBLIC_SIZE]);

#endif
