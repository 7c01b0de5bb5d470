/*
 * Sync message codec (proto/wire.h). Every byte here comes from an authenticated but not
 * trusted peer, through nanomsg and the secure channel: the size is bounded before protobuf-c
 * sees it, protobuf-c allocates through a counting allocator that refuses past
 * WIRE_DECODED_SIZE_MAX, and one validation pass then checks every field of the body before the
 * node looks at any. The batch helpers are the one place leaf bytes are compressed for and
 * inflated from the wire; the declared content size is checked before anything is allocated.
 */
#include "wire.h"

#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "channel.h" /* CHANNEL_PLAINTEXT_SIZE_MAX: a message travels in one transport message */
#include "cosig.h"
#include "leaf.h"
#include "note.h"

/* Encoded bytes of one batch outside its leaf bytes, at most: the submessage's tag and length,
 * key, first (varint), count (varint), the leaves field's tag and length, a checkpoint note of
 * NOTE_SIZE_MAX, a full consistency proof and WIRE_COSIGS_MAX cosignature lines. */
#define WIRE_BATCH_OVERHEAD_MAX                                                                    \
    (4u + (2u + KEY_PUBLIC_SIZE) + 11u + 6u + 4u + (3u + NOTE_SIZE_MAX) +                          \
     MERKLE_PROOF_HASHES_MAX * (2u + HASH_SIZE) + WIRE_COSIGS_MAX * (3u + COSIG_LINE_SIZE_MAX))
/* The envelope: version (varint), id (fixed64) and the body's tag and length. */
#define WIRE_ENVELOPE_SIZE_MAX (6u + 9u + 5u)
/* One LogHead in a page: tag and length, key, size, root. */
#define WIRE_HEAD_SIZE_MAX (3u + (2u + KEY_PUBLIC_SIZE) + 11u + (2u + HASH_SIZE))
/* One CosignItem: tag and length, key, old size, a note, a full proof. */
#define WIRE_COSIGN_ITEM_SIZE_MAX                                                                  \
    (4u + (2u + KEY_PUBLIC_SIZE) + 11u + (3u + NOTE_SIZE_MAX) +                                    \
     MERKLE_PROOF_HASHES_MAX * (2u + HASH_SIZE))

static_assert(WIRE_MSG_SIZE_MAX <= CHANNEL_PLAINTEXT_SIZE_MAX,
              "a sync message is the plaintext of one channel transport message");
static_assert(WIRE_ENVELOPE_SIZE_MAX + WIRE_BATCH_BYTES_MAX +
                      WIRE_PULL_LOGS_MAX * WIRE_BATCH_OVERHEAD_MAX <=
                  WIRE_MSG_SIZE_MAX,
              "a PULL reply or PUSH of full batches fits WIRE_MSG_SIZE_MAX");
static_assert(WIRE_ENVELOPE_SIZE_MAX + (2u + KEY_PUBLIC_SIZE) + 2u +
                      WIRE_HEADS_PAGE_MAX * WIRE_HEAD_SIZE_MAX <=
                  WIRE_MSG_SIZE_MAX,
              "a full HEADS page fits WIRE_MSG_SIZE_MAX");
static_assert(WIRE_ENVELOPE_SIZE_MAX + WIRE_COSIGN_MAX * WIRE_COSIGN_ITEM_SIZE_MAX <=
                  WIRE_MSG_SIZE_MAX,
              "a full COSIGN request fits WIRE_MSG_SIZE_MAX");
static_assert(ZSTD_COMPRESSBOUND(WIRE_LEAF_LEN_SIZE + LEAF_SIZE_MAX) <= WIRE_BATCH_BYTES_MAX,
              "one incompressible leaf of LEAF_SIZE_MAX fits a batch");
static_assert(WIRE_BATCH_INFLATED_SIZE_MAX <= SIZE_MAX, "an inflated batch is one buffer");

/* The smallest inflated batch of count leaves: a length and one byte each. */
#define WIRE_LEAF_MIN_SIZE (WIRE_LEAF_LEN_SIZE + 1u)
/* The writer's first buffer: most batches of small leaves fit without a second realloc. */
#define WIRE_WRITER_CAP_MIN (64u * 1024u)

#define WIRE_REFUSE(code, sentence)                                                                \
    do {                                                                                           \
        *why = (sentence);                                                                         \
        return (code);                                                                             \
    } while (0)

/* ---- Bounded unpacking ------------------------------------------------------------------- */

/* protobuf-c allocates as it unpacks; this counts what it asks for (with malloc's own overhead
 * of about 16 bytes a block) and refuses past WIRE_DECODED_SIZE_MAX. Blocks come from malloc,
 * so the unpacked message is freed with protobuf-c's default allocator. */
struct wire_alloc {
    size_t used; /* bytes handed out, overhead included */
    int over;    /* set when a request was refused for the bound */
};

static void *
wire_alloc_cb(void *data, size_t size)
{
    struct wire_alloc *a = data;
    ASSERT(a->used <= WIRE_DECODED_SIZE_MAX);
    if (size > WIRE_DECODED_SIZE_MAX - a->used || 16u > WIRE_DECODED_SIZE_MAX - a->used - size) {
        a->over = 1;
        return NULL;
    }
    void *p = malloc(size > 0 ? size : 1);
    if (p != NULL) {
        a->used += size + 16u;
    }
    return p;
}

static void
wire_free_cb(void *data, void *p)
{
    (void)data;
    free(p);
}

/* ---- Field checks ------------------------------------------------------------------------ */

/* Field number 0 does not exist in protobuf, but protobuf-c keeps it as an unknown field and
 * then writes it back in a form it refuses to read (proto/leaf.c found this by fuzzing). Other
 * unknown fields are a later minor version's and are skipped. */
static int
wire_unknown_ok(const ProtobufCMessage *m)
{
    for (unsigned i = 0; i < m->n_unknown_fields; i++) {
        if (m->unknown_fields[i].tag == 0) {
            return 0;
        }
    }
    return 1;
}

static int
wire_bytes32_ok(protobuf_c_boolean has, const ProtobufCBinaryData *b)
{
    return has && b->len == 32u && b->data != NULL;
}

/* UTF-8 without C0 control characters or DEL (the rule proto/leaf.c applies to the same codes
 * in certificates): status pages and logs print these strings. 0 fine, 1 too long, 2 bad. */
static int
wire_text_check(const char *s, size_t max)
{
    return (int)leaf_text_check(s, max);
}

static err_code
wire_units_check(char *const *units, size_t n, size_t n_min, const char **why)
{
    if (n > WIRE_SCOPE_UNITS_MAX) {
        WIRE_REFUSE(ERR_MSGSIZE, "the scope names more than WIRE_SCOPE_UNITS_MAX units");
    }
    if (n < n_min) {
        WIRE_REFUSE(ERR_PROTO, "the hello asks for no unit");
    }
    for (size_t i = 0; i < n; i++) {
        int t = wire_text_check(units[i], UNIT_CODE_SIZE_MAX);
        if (t == 1) {
            WIRE_REFUSE(ERR_MSGSIZE, "a unit code in the scope is longer than 32 bytes");
        }
        if (t != 0) {
            WIRE_REFUSE(ERR_PROTO, "a unit code in the scope is empty or not printable UTF-8");
        }
    }
    return ERR_OK;
}

/* Hashes of a consistency proof: at most MERKLE_PROOF_HASHES_MAX, 32 bytes each. */
static err_code
wire_proof_check(const ProtobufCBinaryData *h, size_t n, const char **why)
{
    if (n > MERKLE_PROOF_HASHES_MAX) {
        WIRE_REFUSE(ERR_MSGSIZE, "a consistency proof has more than MERKLE_PROOF_HASHES_MAX "
                                 "hashes");
    }
    for (size_t i = 0; i < n; i++) {
        if (h[i].len != HASH_SIZE || h[i].data == NULL) {
            WIRE_REFUSE(ERR_PROTO, "a consistency proof hash is not 32 bytes");
        }
    }
    return ERR_OK;
}

/* A checkpoint note of the log key: it parses (no signature is checked here) and its origin is
 * the log's name. */
static err_code
wire_checkpoint_check(protobuf_c_boolean has, const ProtobufCBinaryData *note, const uint8_t *key,
                      struct checkpoint *cp, const char **why)
{
    if (!has || note->len == 0 || note->data == NULL) {
        WIRE_REFUSE(ERR_PROTO, "a checkpoint note is missing");
    }
    if (note->len > NOTE_SIZE_MAX) {
        WIRE_REFUSE(ERR_MSGSIZE, "a checkpoint note is longer than NOTE_SIZE_MAX");
    }
    if (note_parse_checkpoint(note->data, note->len, cp) != ERR_OK) {
        WIRE_REFUSE(ERR_PROTO, "a checkpoint note does not parse");
    }
    char name[NOTE_LOG_NAME_SIZE + 1];
    note_log_name(key, name);
    if (strcmp(cp->origin, name) != 0) {
        WIRE_REFUSE(ERR_PROTO, "a checkpoint note names another log than its key");
    }
    return ERR_OK;
}

/* Keys of a list must be strictly ascending: it makes a repeated log visible without a set. */
static int
wire_key_after(const ProtobufCBinaryData *prev, const ProtobufCBinaryData *key)
{
    return prev == NULL || memcmp(prev->data, key->data, KEY_PUBLIC_SIZE) < 0;
}

static err_code
wire_heads_check(Cdht__Sync__LogHead *const *h, size_t n, const char **why)
{
    if (n > WIRE_HEADS_PAGE_MAX) {
        WIRE_REFUSE(ERR_MSGSIZE, "a heads page has more than WIRE_HEADS_PAGE_MAX entries");
    }
    const ProtobufCBinaryData *prev = NULL;
    for (size_t i = 0; i < n; i++) {
        if (h[i] == NULL || !wire_unknown_ok(&h[i]->base)) {
            WIRE_REFUSE(ERR_PROTO, "a heads entry has a field numbered 0");
        }
        if (!wire_bytes32_ok(h[i]->has_key, &h[i]->key)) {
            WIRE_REFUSE(ERR_PROTO, "a heads entry's key is missing or not 32 bytes");
        }
        if (!h[i]->has_size) {
            WIRE_REFUSE(ERR_PROTO, "a heads entry has no size");
        }
        if (!wire_bytes32_ok(h[i]->has_root, &h[i]->root)) {
            WIRE_REFUSE(ERR_PROTO, "a heads entry's root is missing or not 32 bytes");
        }
        if (!wire_key_after(prev, &h[i]->key)) {
            WIRE_REFUSE(ERR_PROTO, "heads entries are not in strictly ascending key order");
        }
        prev = &h[i]->key;
    }
    return ERR_OK;
}

/* One batch; adds its leaf bytes to *bytes. */
static err_code
wire_batch_check(const Cdht__Sync__Batch *b, size_t *bytes, const char **why)
{
    if (b == NULL || !wire_unknown_ok(&b->base)) {
        WIRE_REFUSE(ERR_PROTO, "a batch has a field numbered 0");
    }
    if (!wire_bytes32_ok(b->has_key, &b->key)) {
        WIRE_REFUSE(ERR_PROTO, "a batch's key is missing or not 32 bytes");
    }
    if (!b->has_first) {
        WIRE_REFUSE(ERR_PROTO, "a batch has no first index");
    }
    if (!b->has_count || b->count == 0) {
        WIRE_REFUSE(ERR_PROTO, "a batch has no leaf count, or a count of 0");
    }
    if (b->count > WIRE_BATCH_LEAVES_MAX) {
        WIRE_REFUSE(ERR_MSGSIZE, "a batch has more than WIRE_BATCH_LEAVES_MAX leaves");
    }
    if (b->first > UINT64_MAX - b->count) {
        WIRE_REFUSE(ERR_PROTO, "a batch's first index plus its count overflows");
    }
    if (!b->has_leaves || b->leaves.len == 0 || b->leaves.data == NULL) {
        WIRE_REFUSE(ERR_PROTO, "a batch has no leaf bytes");
    }
    if (b->leaves.len > WIRE_BATCH_BYTES_MAX) {
        WIRE_REFUSE(ERR_MSGSIZE, "a batch's leaf bytes exceed WIRE_BATCH_BYTES_MAX");
    }
    uint64_t inflated;
    err_code rc = wire_batch_inflated_size(b->leaves.data, b->leaves.len, &inflated, why);
    if (rc != ERR_OK) {
        return rc;
    }
    if (inflated < (uint64_t)b->count * WIRE_LEAF_MIN_SIZE) {
        WIRE_REFUSE(ERR_PROTO, "a batch's zstd frame declares fewer bytes than its leaves need");
    }
    struct checkpoint cp;
    if ((rc = wire_checkpoint_check(b->has_checkpoint, &b->checkpoint, b->key.data, &cp, why)) !=
        ERR_OK) {
        return rc;
    }
    uint64_t end = b->first + b->count;
    if (cp.size < end) {
        WIRE_REFUSE(ERR_PROTO, "a batch's checkpoint does not cover the batch's last leaf");
    }
    if ((rc = wire_proof_check(b->consistency, b->n_consistency, why)) != ERR_OK) {
        return rc;
    }
    if ((cp.size > end) != (b->n_consistency > 0)) {
        WIRE_REFUSE(ERR_PROTO, "a batch needs a consistency proof exactly when its checkpoint "
                               "is beyond its last leaf");
    }
    if (b->n_cosigs > WIRE_COSIGS_MAX) {
        WIRE_REFUSE(ERR_MSGSIZE, "a batch carries more than WIRE_COSIGS_MAX cosignatures");
    }
    for (size_t i = 0; i < b->n_cosigs; i++) {
        struct cosig c;
        rc = b->cosigs[i].data == NULL ? ERR_CORRUPT
                                       : cosig_parse(b->cosigs[i].data, b->cosigs[i].len, &c);
        if (rc == ERR_MSGSIZE) {
            WIRE_REFUSE(ERR_MSGSIZE, "a cosignature line is longer than COSIG_LINE_SIZE_MAX");
        }
        if (rc != ERR_OK) {
            WIRE_REFUSE(ERR_PROTO, "a cosignature line does not parse");
        }
    }
    *bytes += b->leaves.len;
    return ERR_OK;
}

static err_code
wire_batches_check(Cdht__Sync__Batch *const *b, size_t n, size_t n_min, const char **why)
{
    if (n > WIRE_PULL_LOGS_MAX) {
        WIRE_REFUSE(ERR_MSGSIZE, "a message carries more than WIRE_PULL_LOGS_MAX batches");
    }
    if (n < n_min) {
        WIRE_REFUSE(ERR_PROTO, "a push carries no batch");
    }
    size_t bytes = 0; /* at most n * WIRE_BATCH_BYTES_MAX: no overflow */
    const ProtobufCBinaryData *prev = NULL;
    for (size_t i = 0; i < n; i++) {
        err_code rc = wire_batch_check(b[i], &bytes, why);
        if (rc != ERR_OK) {
            return rc;
        }
        if (!wire_key_after(prev, &b[i]->key)) {
            WIRE_REFUSE(ERR_PROTO, "batches are not in strictly ascending key order");
        }
        prev = &b[i]->key;
    }
    if (bytes > WIRE_BATCH_BYTES_MAX) {
        WIRE_REFUSE(ERR_MSGSIZE, "the batches' leaf bytes together exceed WIRE_BATCH_BYTES_MAX");
    }
    return ERR_OK;
}

static err_code
wire_summary_check(const Cdht__Sync__Summary *s, const char **why)
{
    if (!wire_unknown_ok(&s->base)) {
        WIRE_REFUSE(ERR_PROTO, "a summary has a field numbered 0");
    }
    return ERR_OK;
}

/* ---- Request bodies ---------------------------------------------------------------------- */

static err_code
wire_hello_check(const Cdht__Sync__Hello *h, const char **why)
{
    if (!wire_unknown_ok(&h->base)) {
        WIRE_REFUSE(ERR_PROTO, "the hello has a field numbered 0");
    }
    if (!wire_bytes32_ok(h->has_key, &h->key)) {
        WIRE_REFUSE(ERR_PROTO, "the hello's device key is missing or not 32 bytes");
    }
    int t = wire_text_check(h->network, UNIT_CODE_SIZE_MAX);
    if (t == 1) {
        WIRE_REFUSE(ERR_MSGSIZE, "the hello's network name is longer than 32 bytes");
    }
    if (t != 0) {
        WIRE_REFUSE(ERR_PROTO, "the hello's network name is missing, empty or not printable "
                               "UTF-8");
    }
    err_code rc = wire_units_check(h->units, h->n_units, 1, why);
    if (rc != ERR_OK) {
        return rc;
    }
    if (!h->has_version_max || h->version_max < WIRE_VERSION) {
        WIRE_REFUSE(ERR_PROTO, "the hello's highest version is missing or below the message's");
    }
    return ERR_OK;
}

static err_code
wire_heads_request_check(const Cdht__Sync__HeadsRequest *h, const char **why)
{
    if (!wire_unknown_ok(&h->base)) {
        WIRE_REFUSE(ERR_PROTO, "the heads request has a field numbered 0");
    }
    if (h->has_after && !wire_bytes32_ok(h->has_after, &h->after)) {
        WIRE_REFUSE(ERR_PROTO, "the heads cursor is not a 32-byte key");
    }
    return wire_heads_check(h->heads, h->n_heads, why);
}

static err_code
wire_pull_check(const Cdht__Sync__PullRequest *p, const char **why)
{
    if (!wire_unknown_ok(&p->base)) {
        WIRE_REFUSE(ERR_PROTO, "the pull has a field numbered 0");
    }
    if (p->n_logs > WIRE_PULL_LOGS_MAX) {
        WIRE_REFUSE(ERR_MSGSIZE, "the pull asks for more than WIRE_PULL_LOGS_MAX logs");
    }
    if (p->n_logs == 0) {
        WIRE_REFUSE(ERR_PROTO, "the pull asks for no log");
    }
    const ProtobufCBinaryData *prev = NULL;
    for (size_t i = 0; i < p->n_logs; i++) {
        const Cdht__Sync__LogRange *r = p->logs[i];
        if (r == NULL || !wire_unknown_ok(&r->base)) {
            WIRE_REFUSE(ERR_PROTO, "a pulled log has a field numbered 0");
        }
        if (!wire_bytes32_ok(r->has_key, &r->key)) {
            WIRE_REFUSE(ERR_PROTO, "a pulled log's key is missing or not 32 bytes");
        }
        if (!r->has_from) {
            WIRE_REFUSE(ERR_PROTO, "a pulled log has no first index");
        }
        if (!r->has_max_leaves || r->max_leaves == 0) {
            WIRE_REFUSE(ERR_PROTO, "a pulled log has no leaf count, or a count of 0");
        }
        if (r->max_leaves > WIRE_BATCH_LEAVES_MAX) {
            WIRE_REFUSE(ERR_MSGSIZE, "a pulled log asks for more than WIRE_BATCH_LEAVES_MAX "
                                     "leaves");
        }
        if (!wire_key_after(prev, &r->key)) {
            WIRE_REFUSE(ERR_PROTO, "pulled logs are not in strictly ascending key order");
        }
        prev = &r->key;
    }
    return ERR_OK;
}

static err_code
wire_cosign_check(const Cdht__Sync__CosignRequest *c, const char **why)
{
    if (!wire_unknown_ok(&c->base)) {
        WIRE_REFUSE(ERR_PROTO, "the cosign request has a field numbered 0");
    }
    if (c->n_checkpoints > WIRE_COSIGN_MAX) {
        WIRE_REFUSE(ERR_MSGSIZE, "the cosign request has more than WIRE_COSIGN_MAX checkpoints");
    }
    if (c->n_checkpoints == 0) {
        WIRE_REFUSE(ERR_PROTO, "the cosign request has no checkpoint");
    }
    const ProtobufCBinaryData *prev = NULL;
    for (size_t i = 0; i < c->n_checkpoints; i++) {
        const Cdht__Sync__CosignItem *it = c->checkpoints[i];
        if (it == NULL || !wire_unknown_ok(&it->base)) {
            WIRE_REFUSE(ERR_PROTO, "a checkpoint to co-sign has a field numbered 0");
        }
        if (!wire_bytes32_ok(it->has_key, &it->key)) {
            WIRE_REFUSE(ERR_PROTO, "a checkpoint to co-sign has a key missing or not 32 bytes");
        }
        if (!it->has_old_size) {
            WIRE_REFUSE(ERR_PROTO, "a checkpoint to co-sign has no old size");
        }
        struct checkpoint cp;
        err_code rc =
            wire_checkpoint_check(it->has_checkpoint, &it->checkpoint, it->key.data, &cp, why);
        if (rc != ERR_OK) {
            return rc;
        }
        if (it->old_size > cp.size) {
            WIRE_REFUSE(ERR_PROTO, "a checkpoint to co-sign is older than its old size");
        }
        if ((rc = wire_proof_check(it->consistency, it->n_consistency, why)) != ERR_OK) {
            return rc;
        }
        if ((it->old_size > 0 && it->old_size < cp.size) != (it->n_consistency > 0)) {
            WIRE_REFUSE(ERR_PROTO, "a checkpoint to co-sign needs a consistency proof exactly "
                                   "when its old size is between 0 and its size");
        }
        if (!wire_key_after(prev, &it->key)) {
            WIRE_REFUSE(ERR_PROTO, "checkpoints to co-sign are not in strictly ascending key "
                                   "order");
        }
        prev = &it->key;
    }
    return ERR_OK;
}

err_code
wire_request_check(const Cdht__Sync__Request *m, const char **why)
{
    ASSERT(m != NULL);
    ASSERT(why != NULL);
    *why = NULL;
    if (!wire_unknown_ok(&m->base)) {
        WIRE_REFUSE(ERR_PROTO, "the request has a field numbered 0");
    }
    if (!m->has_version) {
        WIRE_REFUSE(ERR_PROTO, "the request has no protocol version");
    }
    if (m->version != WIRE_VERSION) {
        WIRE_REFUSE(ERR_PROTO, "the request is of another protocol version than 1");
    }
    if (!m->has_id || m->id == 0) {
        WIRE_REFUSE(ERR_PROTO, "the request has no id, or the id 0");
    }
    switch (m->body_case) {
    case CDHT__SYNC__REQUEST__BODY_HELLO:
        if (m->hello == NULL) {
            break;
        }
        return wire_hello_check(m->hello, why);
    case CDHT__SYNC__REQUEST__BODY_HEADS:
        if (m->heads == NULL) {
            break;
        }
        return wire_heads_request_check(m->heads, why);
    case CDHT__SYNC__REQUEST__BODY_PULL:
        if (m->pull == NULL) {
            break;
        }
        return wire_pull_check(m->pull, why);
    case CDHT__SYNC__REQUEST__BODY_PUSH:
        if (m->push == NULL) {
            break;
        }
        if (!wire_unknown_ok(&m->push->base)) {
            WIRE_REFUSE(ERR_PROTO, "the push has a field numbered 0");
        }
        return wire_batches_check(m->push->batches, m->push->n_batches, 1, why);
    case CDHT__SYNC__REQUEST__BODY_COSIGN:
        if (m->cosign == NULL) {
            break;
        }
        return wire_cosign_check(m->cosign, why);
    case CDHT__SYNC__REQUEST__BODY_DONE:
        if (m->done == NULL) {
            break;
        }
        if (!wire_unknown_ok(&m->done->base)) {
            WIRE_REFUSE(ERR_PROTO, "the done request has a field numbered 0");
        }
        return m->done->summary != NULL ? wire_summary_check(m->done->summary, why) : ERR_OK;
    default: break;
    }
    WIRE_REFUSE(ERR_PROTO, "the request has no body this version knows");
}

/* ---- Reply bodies ------------------------------------------------------------------------ */

static err_code
wire_hello_reply_check(const Cdht__Sync__HelloReply *h, const char **why)
{
    if (!wire_unknown_ok(&h->base)) {
        WIRE_REFUSE(ERR_PROTO, "the hello reply has a field numbered 0");
    }
    if (!wire_bytes32_ok(h->has_key, &h->key)) {
        WIRE_REFUSE(ERR_PROTO, "the hello reply's device key is missing or not 32 bytes");
    }
    err_code rc = wire_units_check(h->units, h->n_units, 0, why);
    if (rc != ERR_OK) {
        return rc;
    }
    if (!h->has_version_max || h->version_max < WIRE_VERSION) {
        WIRE_REFUSE(ERR_PROTO, "the hello reply's highest version is missing or below the "
                               "message's");
    }
    return ERR_OK;
}

static err_code
wire_push_reply_check(const Cdht__Sync__PushReply *p, const char **why)
{
    if (!wire_unknown_ok(&p->base)) {
        WIRE_REFUSE(ERR_PROTO, "the push reply has a field numbered 0");
    }
    if (p->n_acks > WIRE_PULL_LOGS_MAX) {
        WIRE_REFUSE(ERR_MSGSIZE, "the push reply acknowledges more than WIRE_PULL_LOGS_MAX logs");
    }
    const ProtobufCBinaryData *prev = NULL;
    for (size_t i = 0; i < p->n_acks; i++) {
        const Cdht__Sync__LogAck *a = p->acks[i];
        if (a == NULL || !wire_unknown_ok(&a->base)) {
            WIRE_REFUSE(ERR_PROTO, "an acknowledgement has a field numbered 0");
        }
        if (!wire_bytes32_ok(a->has_key, &a->key)) {
            WIRE_REFUSE(ERR_PROTO, "an acknowledgement's key is missing or not 32 bytes");
        }
        if (!a->has_size) {
            WIRE_REFUSE(ERR_PROTO, "an acknowledgement has no size");
        }
        if (a->has_code && a->code == 0) {
            WIRE_REFUSE(ERR_PROTO, "an acknowledgement's error code is 0");
        }
        if (!wire_key_after(prev, &a->key)) {
            WIRE_REFUSE(ERR_PROTO, "acknowledgements are not in strictly ascending key order");
        }
        prev = &a->key;
    }
    return ERR_OK;
}

static err_code
wire_cosign_reply_check(const Cdht__Sync__CosignReply *c, const char **why)
{
    if (!wire_unknown_ok(&c->base)) {
        WIRE_REFUSE(ERR_PROTO, "the cosign reply has a field numbered 0");
    }
    if (c->n_cosigned > WIRE_COSIGN_MAX) {
        WIRE_REFUSE(ERR_MSGSIZE, "the cosign reply has more than WIRE_COSIGN_MAX entries");
    }
    const ProtobufCBinaryData *prev = NULL;
    for (size_t i = 0; i < c->n_cosigned; i++) {
        const Cdht__Sync__Cosigned *s = c->cosigned[i];
        if (s == NULL || !wire_unknown_ok(&s->base)) {
            WIRE_REFUSE(ERR_PROTO, "a cosignature entry has a field numbered 0");
        }
        if (!wire_bytes32_ok(s->has_key, &s->key)) {
            WIRE_REFUSE(ERR_PROTO, "a cosignature entry's key is missing or not 32 bytes");
        }
        if (!s->has_size) {
            WIRE_REFUSE(ERR_PROTO, "a cosignature entry has no size");
        }
        if (s->has_line == s->has_code) {
            WIRE_REFUSE(ERR_PROTO, "a cosignature entry needs exactly one of a line and a code");
        }
        if (s->has_code && s->code == 0) {
            WIRE_REFUSE(ERR_PROTO, "a cosignature entry's error code is 0");
        }
        if (s->has_line) {
            struct cosig cs;
            err_code rc =
                s->line.data == NULL ? ERR_CORRUPT : cosig_parse(s->line.data, s->line.len, &cs);
            if (rc == ERR_MSGSIZE) {
                WIRE_REFUSE(ERR_MSGSIZE, "a cosignature line is longer than COSIG_LINE_SIZE_MAX");
            }
            if (rc != ERR_OK) {
                WIRE_REFUSE(ERR_PROTO, "a cosignature line does not parse");
            }
        }
        if (!wire_key_after(prev, &s->key)) {
            WIRE_REFUSE(ERR_PROTO, "cosignature entries are not in strictly ascending key order");
        }
        prev = &s->key;
    }
    return ERR_OK;
}

static err_code
wire_error_check(const Cdht__Sync__Error *e, const char **why)
{
    if (!wire_unknown_ok(&e->base)) {
        WIRE_REFUSE(ERR_PROTO, "the error reply has a field numbered 0");
    }
    if (!e->has_code || e->code == 0) {
        WIRE_REFUSE(ERR_PROTO, "the error reply has no code, or the code 0");
    }
    int t = wire_text_check(e->reason, WIRE_REASON_SIZE_MAX);
    if (t == 1) {
        WIRE_REFUSE(ERR_MSGSIZE, "the error reply's reason is longer than WIRE_REASON_SIZE_MAX");
    }
    if (t != 0) {
        WIRE_REFUSE(ERR_PROTO, "the error reply's reason is missing, empty or not printable "
                               "UTF-8");
    }
    return ERR_OK;
}

err_code
wire_reply_check(const Cdht__Sync__Reply *m, const char **why)
{
    ASSERT(m != NULL);
    ASSERT(why != NULL);
    *why = NULL;
    if (!wire_unknown_ok(&m->base)) {
        WIRE_REFUSE(ERR_PROTO, "the reply has a field numbered 0");
    }
    if (!m->has_version) {
        WIRE_REFUSE(ERR_PROTO, "the reply has no protocol version");
    }
    if (m->version != WIRE_VERSION) {
        WIRE_REFUSE(ERR_PROTO, "the reply is of another protocol version than 1");
    }
    if (!m->has_id || (m->id == 0 && m->body_case != CDHT__SYNC__REPLY__BODY_ERROR)) {
        WIRE_REFUSE(ERR_PROTO, "the reply has no id, or the id 0 outside an error reply");
    }
    switch (m->body_case) {
    case CDHT__SYNC__REPLY__BODY_HELLO:
        if (m->hello == NULL) {
            break;
        }
        return wire_hello_reply_check(m->hello, why);
    case CDHT__SYNC__REPLY__BODY_HEADS:
        if (m->heads == NULL) {
            break;
        }
        if (!wire_unknown_ok(&m->heads->base)) {
            WIRE_REFUSE(ERR_PROTO, "the heads reply has a field numbered 0");
        }
        return wire_heads_check(m->heads->heads, m->heads->n_heads, why);
    case CDHT__SYNC__REPLY__BODY_PULL:
        if (m->pull == NULL) {
            break;
        }
        if (!wire_unknown_ok(&m->pull->base)) {
            WIRE_REFUSE(ERR_PROTO, "the pull reply has a field numbered 0");
        }
        return wire_batches_check(m->pull->batches, m->pull->n_batches, 0, why);
    case CDHT__SYNC__REPLY__BODY_PUSH:
        if (m->push == NULL) {
            break;
        }
        return wire_push_reply_check(m->push, why);
    case CDHT__SYNC__REPLY__BODY_COSIGN:
        if (m->cosign == NULL) {
            break;
        }
        return wire_cosign_reply_check(m->cosign, why);
    case CDHT__SYNC__REPLY__BODY_DONE:
        if (m->done == NULL) {
            break;
        }
        if (!wire_unknown_ok(&m->done->base)) {
            WIRE_REFUSE(ERR_PROTO, "the done reply has a field numbered 0");
        }
        if (m->done->summary == NULL) {
            WIRE_REFUSE(ERR_PROTO, "the done reply has no summary");
        }
        return wire_summary_check(m->done->summary, why);
    case CDHT__SYNC__REPLY__BODY_ERROR:
        if (m->error == NULL) {
            break;
        }
        return wire_error_check(m->error, why);
    default: break;
    }
    WIRE_REFUSE(ERR_PROTO, "the reply has no body this version knows");
}

/* ---- Encoding and decoding --------------------------------------------------------------- */

/* Packs a checked message. On ERR_OK *out is malloc'd and owned by the caller. */
static err_code
wire_pack(const ProtobufCMessage *m, uint8_t **out, size_t *len, const char **why)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    if (n > WIRE_MSG_SIZE_MAX) {
        WIRE_REFUSE(ERR_MSGSIZE, "the message would be larger than WIRE_MSG_SIZE_MAX");
    }
    uint8_t *buf = malloc(n > 0 ? n : 1);
    if (buf == NULL) {
        WIRE_REFUSE(ERR_NOMEM, "out of memory encoding a sync message");
    }
    size_t k = protobuf_c_message_pack(m, buf);
    ASSERT(k == n);
    *out = buf;
    *len = n;
    return ERR_OK;
}

err_code
wire_request_encode(const Cdht__Sync__Request *m, uint8_t **out, size_t *len, const char **why)
{
    *out = NULL;
    *len = 0;
    err_code rc = wire_request_check(m, why);
    return rc != ERR_OK ? rc : wire_pack(&m->base, out, len, why);
}

err_code
wire_reply_encode(const Cdht__Sync__Reply *m, uint8_t **out, size_t *len, const char **why)
{
    *out = NULL;
    *len = 0;
    err_code rc = wire_reply_check(m, why);
    return rc != ERR_OK ? rc : wire_pack(&m->base, out, len, why);
}

/* Size bound, then a bounded unpack. On ERR_OK *out must still be checked. */
static err_code
wire_unpack(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
            ProtobufCMessage **out, const char **why)
{
    *out = NULL;
    if (len > WIRE_MSG_SIZE_MAX) {
        WIRE_REFUSE(ERR_MSGSIZE, "the message is larger than WIRE_MSG_SIZE_MAX");
    }
    struct wire_alloc a = {0, 0};
    ProtobufCAllocator alloc = {wire_alloc_cb, wire_free_cb, &a};
    *out = protobuf_c_message_unpack(d, &alloc, len, buf);
    if (*out == NULL && a.over) {
        WIRE_REFUSE(ERR_MSGSIZE, "decoding the message would take more than "
                                 "WIRE_DECODED_SIZE_MAX bytes");
    }
    if (*out == NULL) {
        WIRE_REFUSE(ERR_PROTO, "the message is not a protobuf message of its type");
    }
    return ERR_OK;
}

err_code
wire_request_decode(const uint8_t *buf, size_t len, Cdht__Sync__Request **out, const char **why)
{
    ProtobufCMessage *m;
    *out = NULL;
    *why = NULL;
    err_code rc = wire_unpack(&cdht__sync__request__descriptor, buf, len, &m, why);
    if (rc != ERR_OK) {
        return rc;
    }
    Cdht__Sync__Request *r = (Cdht__Sync__Request *)m;
    if ((rc = wire_request_check(r, why)) != ERR_OK) {
        cdht__sync__request__free_unpacked(r, NULL);
        return rc;
    }
    *out = r;
    return ERR_OK;
}

err_code
wire_reply_decode(const uint8_t *buf, size_t len, Cdht__Sync__Reply **out, const char **why)
{
    ProtobufCMessage *m;
    *out = NULL;
    *why = NULL;
    err_code rc = wire_unpack(&cdht__sync__reply__descriptor, buf, len, &m, why);
    if (rc != ERR_OK) {
        return rc;
    }
    Cdht__Sync__Reply *r = (Cdht__Sync__Reply *)m;
    if ((rc = wire_reply_check(r, why)) != ERR_OK) {
        cdht__sync__reply__free_unpacked(r, NULL);
        return rc;
    }
    *out = r;
    return ERR_OK;
}

void
wire_request_free(Cdht__Sync__Request *m)
{
    if (m != NULL) {
        cdht__sync__request__free_unpacked(m, NULL);
    }
}

void
wire_reply_free(Cdht__Sync__Reply *m)
{
    if (m != NULL) {
        cdht__sync__reply__free_unpacked(m, NULL);
    }
}

/* ---- Batches ----------------------------------------------------------------------------- */

err_code
wire_batch_inflated_size(const uint8_t *zst, size_t zst_len, uint64_t *size, const char **why)
{
    *size = 0;
    if (zst_len < 4 || (zst[0] | (uint32_t)zst[1] << 8 | (uint32_t)zst[2] << 16 |
                        (uint32_t)zst[3] << 24) != ZSTD_MAGICNUMBER) {
        WIRE_REFUSE(ERR_PROTO, "the batch is not a zstd frame");
    }
    unsigned long long declared = ZSTD_getFrameContentSize(zst, zst_len);
    if (declared == ZSTD_CONTENTSIZE_ERROR) {
        WIRE_REFUSE(ERR_PROTO, "the batch's zstd frame header is malformed or truncated");
    }
    if (declared == ZSTD_CONTENTSIZE_UNKNOWN) {
        WIRE_REFUSE(ERR_PROTO, "the batch's zstd frame does not declare its content size");
    }
    /* zstd.h: the declared size "can be intentionally modified": it bounds what we allocate,
     * and decompression must then produce exactly that many bytes. */
    if (declared > WIRE_BATCH_INFLATED_SIZE_MAX) {
        WIRE_REFUSE(ERR_MSGSIZE, "the batch's zstd frame declares more than "
                                 "WIRE_BATCH_INFLATED_SIZE_MAX bytes");
    }
    size_t frame = ZSTD_findFrameCompressedSize(zst, zst_len);
    if (ZSTD_isError(frame)) {
        WIRE_REFUSE(ERR_PROTO, "the batch's zstd frame is truncated or malformed");
    }
    if (frame != zst_len) {
        WIRE_REFUSE(ERR_PROTO, "bytes follow the batch's zstd frame");
    }
    *size = declared;
    return ERR_OK;
}

void
wire_batch_writer_init(struct wire_batch_writer *w)
{
    memset(w, 0, sizeof *w);
}

err_code
wire_batch_writer_add(struct wire_batch_writer *w, const uint8_t *leaf, size_t len,
                      const char **why)
{
    ASSERT(w->len <= w->cap);
    ASSERT(w->cap <= WIRE_BATCH_INFLATED_SIZE_MAX);
    if (len == 0 || leaf == NULL) {
        WIRE_REFUSE(ERR_INVAL, "a leaf to batch is empty");
    }
    if (len > LEAF_SIZE_MAX) {
        WIRE_REFUSE(ERR_MSGSIZE, "a leaf to batch is larger than LEAF_SIZE_MAX");
    }
    if (w->count == WIRE_BATCH_LEAVES_MAX) {
        WIRE_REFUSE(ERR_MSGSIZE, "the batch already holds WIRE_BATCH_LEAVES_MAX leaves");
    }
    size_t need = WIRE_LEAF_LEN_SIZE + len;
    if (need > WIRE_BATCH_INFLATED_SIZE_MAX - w->len) {
        WIRE_REFUSE(ERR_MSGSIZE, "the leaf would take the batch past "
                                 "WIRE_BATCH_INFLATED_SIZE_MAX bytes");
    }
    if (need > w->cap - w->len) {
        size_t cap = w->cap < WIRE_WRITER_CAP_MIN ? WIRE_WRITER_CAP_MIN : w->cap;
        while (cap - w->len < need) {
            cap *= 2; /* cap <= 2 * WIRE_BATCH_INFLATED_SIZE_MAX: no overflow */
        }
        if (cap > WIRE_BATCH_INFLATED_SIZE_MAX) {
            cap = WIRE_BATCH_INFLATED_SIZE_MAX;
        }
        uint8_t *buf = realloc(w->buf, cap);
        if (buf == NULL) {
            WIRE_REFUSE(ERR_NOMEM, "out of memory building a batch");
        }
        w->buf = buf;
        w->cap = cap;
    }
    uint8_t *p = w->buf + w->len;
    p[0] = (uint8_t)(len >> 24);
    p[1] = (uint8_t)(len >> 16);
    p[2] = (uint8_t)(len >> 8);
    p[3] = (uint8_t)len;
    memcpy(p + WIRE_LEAF_LEN_SIZE, leaf, len);
    w->len += need;
    w->count++;
    return ERR_OK;
}

err_code
wire_batch_writer_finish(struct wire_batch_writer *w, size_t bytes_max, uint8_t **out,
                         size_t *out_len, const char **why)
{
    ASSERT(bytes_max <= WIRE_BATCH_BYTES_MAX);
    *out = NULL;
    *out_len = 0;
    if (w->count == 0) {
        WIRE_REFUSE(ERR_INVAL, "a batch needs at least one leaf");
    }
    size_t bound = ZSTD_compressBound(w->len);
    size_t cap = bound < bytes_max ? bound : bytes_max;
    uint8_t *buf = malloc(cap > 0 ? cap : 1);
    if (buf == NULL) {
        WIRE_REFUSE(ERR_NOMEM, "out of memory compressing a batch");
    }
    /* One-shot compression writes the content size into the frame header, which the reader
     * requires. */
    size_t n = ZSTD_compress(buf, cap, w->buf, w->len, WIRE_ZSTD_LEVEL);
    if (ZSTD_isError(n)) {
        free(buf);
        if (cap < bound) {
            WIRE_REFUSE(ERR_MSGSIZE, "the compressed batch would exceed its byte budget");
        }
        WIRE_REFUSE(ERR_NOMEM, "zstd could not compress a batch");
    }
    ASSERT(ZSTD_getFrameContentSize(buf, n) == w->len);
    *out = buf;
    *out_len = n;
    w->len = 0;
    w->count = 0;
    return ERR_OK;
}

void
wire_batch_writer_release(struct wire_batch_writer *w)
{
    free(w->buf);
    memset(w, 0, sizeof *w);
}

err_code
wire_batch_reader_init(struct wire_batch_reader *r, const uint8_t *zst, size_t zst_len,
                       uint32_t count, const char **why)
{
    err_code rc = ERR_OK;
    uint8_t *buf = NULL;
    memset(r, 0, sizeof *r);
    *why = NULL;
    if (count == 0) {
        WIRE_REFUSE(ERR_PROTO, "a batch has no leaf");
    }
    if (count > WIRE_BATCH_LEAVES_MAX) {
        WIRE_REFUSE(ERR_MSGSIZE, "a batch has more than WIRE_BATCH_LEAVES_MAX leaves");
    }
    uint64_t declared;
    if ((rc = wire_batch_inflated_size(zst, zst_len, &declared, why)) != ERR_OK) {
        return rc; /* nothing allocated: the bound is checked on the header alone */
    }
    if (declared < (uint64_t)count * WIRE_LEAF_MIN_SIZE) {
        WIRE_REFUSE(ERR_PROTO, "a batch's zstd frame declares fewer bytes than its leaves need");
    }
    size_t size = (size_t)declared;
    if ((buf = malloc(size)) == NULL) {
        WIRE_REFUSE(ERR_NOMEM, "out of memory inflating a batch");
    }
    size_t n = ZSTD_decompress(buf, size, zst, zst_len);
    if (ZSTD_isError(n) || n != size) {
        *why = "the batch's zstd frame does not inflate to its declared size";
        rc = ERR_PROTO;
        goto out;
    }
    /* Walk the framing once, so that every leaf is known to be in bounds before one is used. */
    size_t off = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (size - off < WIRE_LEAF_LEN_SIZE) {
            *why = "the batch ends before its last leaf's length";
            rc = ERR_PROTO;
            goto out;
        }
        const uint8_t *p = buf + off;
        size_t len = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
        if (len == 0) {
            *why = "a leaf in the batch is empty";
            rc = ERR_PROTO;
            goto out;
        }
        if (len > LEAF_SIZE_MAX) {
            *why = "a leaf in the batch is larger than LEAF_SIZE_MAX";
            rc = ERR_MSGSIZE;
            goto out;
        }
        if (len > size - off - WIRE_LEAF_LEN_SIZE) {
            *why = "a leaf's length overruns the batch";
            rc = ERR_PROTO;
            goto out;
        }
        off += WIRE_LEAF_LEN_SIZE + len;
    }
    if (off != size) {
        *why = "bytes follow the batch's last leaf";
        rc = ERR_PROTO;
        goto out;
    }
    r->buf = buf;
    r->len = size;
    r->left = count;
    buf = NULL; /* ownership moved to r */
out:
    free(buf);
    return rc;
}

int
wire_batch_reader_next(struct wire_batch_reader *r, const uint8_t **leaf, size_t *len)
{
    if (r->left == 0) {
        *leaf = NULL;
        *len = 0;
        return 0;
    }
    ASSERT(r->len - r->off >= WIRE_LEAF_LEN_SIZE + 1u); /* init walked the framing */
    const uint8_t *p = r->buf + r->off;
    size_t n = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
    ASSERT(n > 0);
    ASSERT(n <= r->len - r->off - WIRE_LEAF_LEN_SIZE);
    *leaf = p + WIRE_LEAF_LEN_SIZE;
    *len = n;
    r->off += WIRE_LEAF_LEN_SIZE + n;
    r->left--;
    return 1;
}

void
wire_batch_reader_release(struct wire_batch_reader *r)
{
    free(r->buf);
    memset(r, 0, sizeof *r);
}
