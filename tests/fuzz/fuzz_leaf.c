/*
 * Fuzz target for proto/leaf.c, the one door through which leaf bytes from a bundle, a peer or
 * our own log become a Commit. It asserts properties, not only survival: leaf_decode answers
 * only ERR_OK, ERR_CORRUPT or ERR_MSGSIZE; whatever it accepts passes leaf_validate, re-encodes,
 * and the re-encoding decodes to an equal commit (same clock, wall time, changes, cells and
 * values), whose own encoding is byte for byte the same (one canonical form per commit).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "leaf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fuzz_str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL) {
        return a == b;
    }
    return strcmp(a, b) == 0;
}

/* Equal cells: same column, the same oneof case and payload (none set: NULL on both sides),
 * and the same base clock. */
static int
fuzz_cell_eq(const Cdht__Cell *a, const Cdht__Cell *b)
{
    if (!fuzz_str_eq(a->col, b->col) || a->value_case != b->value_case ||
        a->has_base_hlc != b->has_base_hlc || (a->has_base_hlc && a->base_hlc != b->base_hlc)) {
        return 0;
    }
    switch (a->value_case) {
    case CDHT__CELL__VALUE_I: return a->i == b->i;
    case CDHT__CELL__VALUE_S: return fuzz_str_eq(a->s, b->s);
    case CDHT__CELL__VALUE_B:
        return a->b.len == b->b.len &&
               (a->b.len == 0 || memcmp(a->b.data, b->b.data, a->b.len) == 0);
    default: return 1;
    }
}

static int
fuzz_change_eq(const Cdht__Change *a, const Cdht__Change *b)
{
    if (!fuzz_str_eq(a->table, b->table) || !fuzz_str_eq(a->pk, b->pk) ||
        a->has_exists != b->has_exists || (a->has_exists && a->exists != b->exists) ||
        a->n_cells != b->n_cells) {
        return 0;
    }
    for (size_t j = 0; j < a->n_cells; j++) { /* bounded by CHANGE_CELLS_MAX (validated) */
        if (!fuzz_cell_eq(a->cells[j], b->cells[j])) {
            return 0;
        }
    }
    return 1;
}

static int
fuzz_bytes_eq(ProtobufCBinaryData a, ProtobufCBinaryData b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

static int
fuzz_cert_eq(const Cdht__Cert *a, const Cdht__Cert *b)
{
    return fuzz_bytes_eq(a->subject, b->subject) && fuzz_str_eq(a->role, b->role) &&
           fuzz_str_eq(a->unit, b->unit) && fuzz_str_eq(a->expires, b->expires) &&
           fuzz_str_eq(a->name, b->name);
}

static int
fuzz_revocation_eq(const Cdht__Revocation *a, const Cdht__Revocation *b)
{
    return fuzz_bytes_eq(a->subject, b->subject) && a->has_last_index == b->has_last_index &&
           (!a->has_last_index || a->last_index == b->last_index) &&
           fuzz_str_eq(a->reason, b->reason);
}

static int
fuzz_commit_eq(const Cdht__Commit *a, const Cdht__Commit *b)
{
    if (a->hlc != b->hlc || a->wall_ms != b->wall_ms || a->n_changes != b->n_changes ||
        a->n_certs != b->n_certs || a->n_revocations != b->n_revocations) {
        return 0;
    }
    for (size_t i = 0; i < a->n_changes; i++) { /* bounded by COMMIT_CHANGES_MAX (validated) */
        if (!fuzz_change_eq(a->changes[i], b->changes[i])) {
            return 0;
        }
    }
    for (size_t i = 0; i < a->n_certs; i++) { /* bounded by COMMIT_CERTS_MAX (validated) */
        if (!fuzz_cert_eq(a->certs[i], b->certs[i])) {
            return 0;
        }
    }
    for (size_t i = 0; i < a->n_revocations; i++) {
        if (!fuzz_revocation_eq(a->revocations[i], b->revocations[i])) {
            return 0;
        }
    }
    /* What trust makes of it must not change by a round trip either. */
    return leaf_kind(a) == leaf_kind(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Cdht__Commit *c = NULL;
    err_code rc = leaf_decode(data, size, &c);
    ASSERT(rc == ERR_OK || rc == ERR_CORRUPT || rc == ERR_MSGSIZE);
    if (rc != ERR_OK) {
        ASSERT(c == NULL);
        return 0;
    }
    ASSERT(c != NULL);
    ASSERT(leaf_validate(c) == ERR_OK);

    /* Re-encode what was accepted; it must decode to the same commit. */
    uint8_t *enc = NULL;
    size_t enc_len = 0;
    ASSERT(leaf_encode(c, &enc, &enc_len) == ERR_OK);
    ASSERT(enc != NULL);
    ASSERT(enc_len > 0 && enc_len <= LEAF_SIZE_MAX);
    Cdht__Commit *again = NULL;
    ASSERT(leaf_decode(enc, enc_len, &again) == ERR_OK);
    ASSERT(fuzz_commit_eq(c, again));
    ASSERT(leaf_validate(again) == ERR_OK);

    /* The re-encoding is a fixed point: encoding it again gives the same bytes. */
    uint8_t *enc2 = NULL;
    size_t enc2_len = 0;
    ASSERT(leaf_encode(again, &enc2, &enc2_len) == ERR_OK);
    ASSERT(enc2_len == enc_len);
    ASSERT(memcmp(enc, enc2, enc_len) == 0);

    free(enc2);
    leaf_free(again);
    free(enc);
    leaf_free(c);
    return 0;
}
