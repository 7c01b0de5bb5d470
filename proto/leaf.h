/*
 * A leaf is one encoded Commit (proto/cdht.proto). leaf_decode() is the one door through which
 * leaf bytes from anywhere (our own log, a bundle, a peer) become a struct: it bounds the size
 * first, then decodes with protobuf-c, then checks every limit a well-formed Commit keeps.
 */
#ifndef CDHT_LEAF_H
#define CDHT_LEAF_H

#include <stddef.h>
#include <stdint.h>

#include "cdht.pb-c.h"
#include "err.h"
#include "limits.h"

/* On ERR_OK *out is owned by the caller (leaf_free). ERR_MSGSIZE when len is 0 or exceeds
 * LEAF_SIZE_MAX; ERR_CORRUPT when the bytes do not decode or break a limit. */
err_code leaf_decode(const uint8_t *buf, size_t len, Cdht__Commit **out) WARN_UNUSED;
void leaf_free(Cdht__Commit *c);

/* The checks leaf_decode applies after decoding (also run on commits we build ourselves,
 * before they are encoded, so that we never sign a leaf others would refuse). */
err_code leaf_validate(const Cdht__Commit *c) WARN_UNUSED;

/* What a leaf is to the trust layer (node/trust.h): data (rows of people and their records),
 * trust (certificates, revocations, writes to the units tree), or both at once, which no cdht
 * writes and the trust layer refuses. */
enum leaf_kind {
    LEAF_KIND_DATA = 0,
    LEAF_KIND_TRUST = 1,
    LEAF_KIND_MIXED = 2,
};
int leaf_kind(const Cdht__Commit *c);
/* The roles a certificate grants (Cert.role), as bits: 1 writer, 2 approver, 4 hub, 8 auditor,
 * 32 reporter (16 is the pinned root's, never granted; node/trust.h names them TRUST_*). 0 for any other string: a role this version does not
 * know grants nothing. */
unsigned leaf_role_parse(const char *s);

/* Text as every replica, report and terminal shows it: valid UTF-8 without C0 control
 * characters or DEL, 1 to max bytes (the rule leaves apply to their strings). */
enum leaf_text {
    LEAF_TEXT_OK = 0,
    LEAF_TEXT_LONG = 1, /* more than max bytes */
    LEAF_TEXT_BAD = 2,  /* NULL, empty, a control character, or not UTF-8 */
};
enum leaf_text leaf_text_check(const char *s, size_t max);

/* Tables whose writes are trust: the units tree that certificates are scoped by. */
int leaf_table_is_trust(const char *table);

/*
 * A reusable decoder for hot paths (import, audit): decoded structs go into an arena that is
 * reset, not freed, between leaves, so decoding costs no malloc or free per message, and the
 * arena is bounded by LEAF_DECODED_SIZE_MAX (a leaf that needs more is refused, ERR_CORRUPT).
 */
struct leaf_decoder;

err_code leaf_decoder_new(struct leaf_decoder **out) WARN_UNUSED;
void leaf_decoder_free(struct leaf_decoder *d);
/* Like leaf_decode, but *out lives in d's arena: valid until the next decode with d. */
err_code leaf_decoder_decode(struct leaf_decoder *d, const uint8_t *buf, size_t len,
                             Cdht__Commit **out) WARN_UNUSED;

/* Encodes c; on ERR_OK *out is malloc'd and owned by the caller. */
err_code leaf_encode(const Cdht__Commit *c, uint8_t **out, size_t *len) WARN_UNUSED;

#endif
