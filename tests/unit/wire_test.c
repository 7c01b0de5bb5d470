/*
 * Tests for proto/wire.c: every request and reply body survives encode, decode and re-encode
 * byte for byte; each refusal returns its exact error and sentence, whether the bytes come from
 * the encoder's own check or are packed raw and decoded; the batch writer and reader round-trip
 * leaves; and a zstd frame is judged by its header (declared size, truncation, trailing bytes)
 * before anything is inflated, so a decompression bomb costs nothing.
 */
#include <criterion/criterion.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "cosig.h"
#include "note.h"
#include "wire.h"

/* Two logs (keys sorted: log_pk[0] < log_pk[1]) and one witness, deterministic. */
static uint8_t log_pk[2][KEY_PUBLIC_SIZE];
static uint8_t log_sk[2][KEY_SECRET_SIZE];
static uint8_t wit_pk[KEY_PUBLIC_SIZE];
static uint8_t wit_sk[KEY_SECRET_SIZE];

static void
suite_init(void)
{
    uint8_t seed[KEY_SEED_SIZE];
    cr_assert_geq(sodium_init(), 0);
    for (unsigned i = 0; i < 2; i++) {
        memset(seed, 0x11 + (int)i, sizeof seed);
        cr_assert_eq(crypto_sign_seed_keypair(log_pk[i], log_sk[i], seed), 0);
    }
    if (memcmp(log_pk[0], log_pk[1], KEY_PUBLIC_SIZE) > 0) {
        uint8_t pk[KEY_PUBLIC_SIZE], sk[KEY_SECRET_SIZE];
        memcpy(pk, log_pk[0], sizeof pk);
        memcpy(sk, log_sk[0], sizeof sk);
        memcpy(log_pk[0], log_pk[1], sizeof pk);
        memcpy(log_sk[0], log_sk[1], sizeof sk);
        memcpy(log_pk[1], pk, sizeof pk);
        memcpy(log_sk[1], sk, sizeof sk);
    }
    memset(seed, 0x22, sizeof seed);
    cr_assert_eq(crypto_sign_seed_keypair(wit_pk, wit_sk, seed), 0);
}

TestSuite(wire, .init = suite_init);

static void
checkpoint_of(unsigned log, uint64_t size, struct checkpoint *cp)
{
    memset(cp, 0, sizeof *cp);
    note_log_name(log_pk[log], cp->origin);
    cp->size = size;
    memset(cp->root, (int)(size & 0xff), HASH_SIZE);
}

/* A checkpoint note of log at size, signed by the log's key. */
static size_t
note_of(unsigned log, uint64_t size, uint8_t out[NOTE_SIZE_MAX])
{
    struct checkpoint cp;
    char name[NOTE_LOG_NAME_SIZE + 1];
    size_t len;
    checkpoint_of(log, size, &cp);
    note_log_name(log_pk[log], name);
    cr_assert_eq(note_sign_checkpoint(&cp, name, log_sk[log], out, NOTE_SIZE_MAX, &len), ERR_OK);
    return len;
}

/* The witness's cosignature line of log at size. */
static size_t
cosig_of(unsigned log, uint64_t size, uint8_t out[COSIG_LINE_SIZE_MAX])
{
    struct checkpoint cp;
    struct cosig c;
    char name[NOTE_LOG_NAME_SIZE + 1];
    size_t len;
    checkpoint_of(log, size, &cp);
    note_log_name(wit_pk, name);
    cr_assert_eq(cosig_sign(&cp, 1767225600, name, wit_sk, &c), ERR_OK);
    cr_assert_eq(cosig_encode(&c, out, &len), ERR_OK);
    return len;
}

/* A batch of count leaves ("leaf <index>") of log from first, its checkpoint at ckpt_size
 * (a two-hash proof when beyond the batch), one cosignature. Owns its bytes. */
struct batch_fix {
    Cdht__Sync__Batch b;
    uint8_t *zst; /* owned */
    uint8_t note[NOTE_SIZE_MAX];
    uint8_t hashes[2][HASH_SIZE];
    ProtobufCBinaryData proof[2];
    uint8_t line[COSIG_LINE_SIZE_MAX];
    ProtobufCBinaryData cosigs[1];
};

static void
batch_fix_init(struct batch_fix *f, unsigned log, uint64_t first, uint32_t count,
               uint64_t ckpt_size)
{
    struct wire_batch_writer w;
    const char *why;
    size_t zst_len;
    memset(f, 0, sizeof *f);
    wire_batch_writer_init(&w);
    for (uint32_t i = 0; i < count; i++) {
        char leaf[64];
        int n = snprintf(leaf, sizeof leaf, "leaf %llu", (unsigned long long)(first + i));
        cr_assert_eq(wire_batch_writer_add(&w, (const uint8_t *)leaf, (size_t)n, &why), ERR_OK);
    }
    cr_assert_eq(wire_batch_writer_finish(&w, WIRE_BATCH_BYTES_MAX, &f->zst, &zst_len, &why),
                 ERR_OK);
    wire_batch_writer_release(&w);
    cdht__sync__batch__init(&f->b);
    f->b.has_key = 1;
    f->b.key.data = log_pk[log];
    f->b.key.len = KEY_PUBLIC_SIZE;
    f->b.has_first = 1;
    f->b.first = first;
    f->b.has_count = 1;
    f->b.count = count;
    f->b.has_leaves = 1;
    f->b.leaves.data = f->zst;
    f->b.leaves.len = zst_len;
    f->b.has_checkpoint = 1;
    f->b.checkpoint.data = f->note;
    f->b.checkpoint.len = note_of(log, ckpt_size, f->note);
    if (ckpt_size > first + count) {
        for (unsigned i = 0; i < 2; i++) {
            memset(f->hashes[i], 0xa0 + (int)i, HASH_SIZE);
            f->proof[i].data = f->hashes[i];
            f->proof[i].len = HASH_SIZE;
        }
        f->b.consistency = f->proof;
        f->b.n_consistency = 2;
    }
    f->cosigs[0].data = f->line;
    f->cosigs[0].len = cosig_of(log, ckpt_size, f->line);
    f->b.cosigs = f->cosigs;
    f->b.n_cosigs = 1;
}

static void
batch_fix_release(struct batch_fix *f)
{
    free(f->zst);
}

static void
request_init(Cdht__Sync__Request *m, uint64_t id)
{
    cdht__sync__request__init(m);
    m->has_version = 1;
    m->version = WIRE_VERSION;
    m->has_id = 1;
    m->id = id;
}

static void
reply_init(Cdht__Sync__Reply *m, uint64_t id)
{
    cdht__sync__reply__init(m);
    m->has_version = 1;
    m->version = WIRE_VERSION;
    m->has_id = 1;
    m->id = id;
}

/* Packs without any check: what a broken or hostile peer could send. *out is malloc'd. */
static size_t
pack_raw(const ProtobufCMessage *m, uint8_t **out)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    *out = malloc(n > 0 ? n : 1);
    cr_assert_not_null(*out);
    cr_assert_eq(protobuf_c_message_pack(m, *out), n);
    return n;
}

/* Encode, decode, re-encode: the bytes must be equal. Returns the decoded message. */
static Cdht__Sync__Request *
request_round_trip(const Cdht__Sync__Request *m)
{
    uint8_t *a = NULL, *b = NULL;
    size_t a_len, b_len;
    const char *why = NULL;
    Cdht__Sync__Request *d = NULL;
    cr_assert_eq(wire_request_encode(m, &a, &a_len, &why), ERR_OK, "encode: %s", why);
    cr_assert_eq(wire_request_decode(a, a_len, &d, &why), ERR_OK, "decode: %s", why);
    cr_assert_eq(wire_request_encode(d, &b, &b_len, &why), ERR_OK, "re-encode: %s", why);
    cr_assert_eq(a_len, b_len);
    cr_assert_eq(memcmp(a, b, a_len), 0);
    cr_assert_eq(d->id, m->id);
    cr_assert_eq(d->body_case, m->body_case);
    free(a);
    free(b);
    return d;
}

static Cdht__Sync__Reply *
reply_round_trip(const Cdht__Sync__Reply *m)
{
    uint8_t *a = NULL, *b = NULL;
    size_t a_len, b_len;
    const char *why = NULL;
    Cdht__Sync__Reply *d = NULL;
    cr_assert_eq(wire_reply_encode(m, &a, &a_len, &why), ERR_OK, "encode: %s", why);
    cr_assert_eq(wire_reply_decode(a, a_len, &d, &why), ERR_OK, "decode: %s", why);
    cr_assert_eq(wire_reply_encode(d, &b, &b_len, &why), ERR_OK, "re-encode: %s", why);
    cr_assert_eq(a_len, b_len);
    cr_assert_eq(memcmp(a, b, a_len), 0);
    cr_assert_eq(d->id, m->id);
    cr_assert_eq(d->body_case, m->body_case);
    free(a);
    free(b);
    return d;
}

/* The encoder refuses m with (want, sentence); packed raw, the decoder refuses it alike. */
static void
request_refused(const Cdht__Sync__Request *m, err_code want, const char *sentence)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    const char *why = NULL;
    Cdht__Sync__Request *d = (Cdht__Sync__Request *)1;
    cr_assert_eq(wire_request_encode(m, &buf, &len, &why), want, "encode: %s", why);
    cr_assert_null(buf);
    cr_assert_str_eq(why, sentence);
    len = pack_raw(&m->base, &buf);
    why = NULL;
    cr_assert_eq(wire_request_decode(buf, len, &d, &why), want, "decode: %s", why);
    cr_assert_null(d);
    cr_assert_str_eq(why, sentence);
    free(buf);
}

static void
reply_refused(const Cdht__Sync__Reply *m, err_code want, const char *sentence)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    const char *why = NULL;
    Cdht__Sync__Reply *d = (Cdht__Sync__Reply *)1;
    cr_assert_eq(wire_reply_encode(m, &buf, &len, &why), want, "encode: %s", why);
    cr_assert_null(buf);
    cr_assert_str_eq(why, sentence);
    len = pack_raw(&m->base, &buf);
    why = NULL;
    cr_assert_eq(wire_reply_decode(buf, len, &d, &why), want, "decode: %s", why);
    cr_assert_null(d);
    cr_assert_str_eq(why, sentence);
    free(buf);
}

static char unit_a[] = "01";
static char unit_b[] = "00004";
static char network[] = "vn-test";

static void
hello_init(Cdht__Sync__Hello *h, char **units)
{
    cdht__sync__hello__init(h);
    h->has_key = 1;
    h->key.data = log_pk[0];
    h->key.len = KEY_PUBLIC_SIZE;
    h->network = network;
    units[0] = unit_a;
    units[1] = unit_b;
    h->units = units;
    h->n_units = 2;
    h->has_version_max = 1;
    h->version_max = WIRE_VERSION;
}

/* n heads with keys 00..00 i (big-endian in the last 4 bytes), ascending. */
struct heads_fix {
    Cdht__Sync__LogHead *ptr[WIRE_HEADS_PAGE_MAX + 1];
    Cdht__Sync__LogHead head[WIRE_HEADS_PAGE_MAX + 1];
    uint8_t key[WIRE_HEADS_PAGE_MAX + 1][KEY_PUBLIC_SIZE];
    uint8_t root[HASH_SIZE];
};

static struct heads_fix *
heads_fix_new(size_t n)
{
    struct heads_fix *f = calloc(1, sizeof *f);
    cr_assert_not_null(f);
    cr_assert_leq(n, WIRE_HEADS_PAGE_MAX + 1);
    memset(f->root, 0x5a, sizeof f->root);
    for (size_t i = 0; i < n; i++) {
        f->key[i][28] = (uint8_t)(i >> 24);
        f->key[i][29] = (uint8_t)(i >> 16);
        f->key[i][30] = (uint8_t)(i >> 8);
        f->key[i][31] = (uint8_t)i;
        cdht__sync__log_head__init(&f->head[i]);
        f->head[i].has_key = 1;
        f->head[i].key.data = f->key[i];
        f->head[i].key.len = KEY_PUBLIC_SIZE;
        f->head[i].has_size = 1;
        f->head[i].size = i * 3;
        f->head[i].has_root = 1;
        f->head[i].root.data = f->root;
        f->head[i].root.len = HASH_SIZE;
        f->ptr[i] = &f->head[i];
    }
    return f;
}

/* ---- Round trips ------------------------------------------------------------------------- */

Test(wire, hello_round_trip)
{
    Cdht__Sync__Request m;
    Cdht__Sync__Hello h;
    char *units[2];
    request_init(&m, 1);
    hello_init(&h, units);
    m.body_case = CDHT__SYNC__REQUEST__BODY_HELLO;
    m.hello = &h;
    Cdht__Sync__Request *d = request_round_trip(&m);
    cr_assert_str_eq(d->hello->network, "vn-test");
    cr_assert_eq(d->hello->n_units, 2);
    cr_assert_str_eq(d->hello->units[1], "00004");
    cr_assert_eq(memcmp(d->hello->key.data, log_pk[0], KEY_PUBLIC_SIZE), 0);
    wire_request_free(d);

    Cdht__Sync__Reply r;
    Cdht__Sync__HelloReply hr;
    reply_init(&r, 1);
    cdht__sync__hello_reply__init(&hr);
    hr.has_key = 1;
    hr.key.data = log_pk[1];
    hr.key.len = KEY_PUBLIC_SIZE;
    hr.units = units; /* sharing is allowed to be empty, here it is the same two */
    hr.n_units = 1;
    hr.has_version_max = 1;
    hr.version_max = 3; /* a newer callee says so; the message itself is version 1 */
    r.body_case = CDHT__SYNC__REPLY__BODY_HELLO;
    r.hello = &hr;
    Cdht__Sync__Reply *dr = reply_round_trip(&r);
    cr_assert_eq(dr->hello->version_max, 3);
    cr_assert_eq(dr->hello->n_units, 1);
    wire_reply_free(dr);
}

Test(wire, heads_round_trip)
{
    struct heads_fix *f = heads_fix_new(WIRE_HEADS_PAGE_MAX); /* at the limit */
    Cdht__Sync__Request m;
    Cdht__Sync__HeadsRequest h;
    request_init(&m, 2);
    cdht__sync__heads_request__init(&h);
    h.has_after = 1;
    h.after.data = log_pk[0];
    h.after.len = KEY_PUBLIC_SIZE;
    h.heads = f->ptr;
    h.n_heads = 3;
    h.has_heads_end = 1;
    h.heads_end = 1;
    m.body_case = CDHT__SYNC__REQUEST__BODY_HEADS;
    m.heads = &h;
    Cdht__Sync__Request *d = request_round_trip(&m);
    cr_assert_eq(d->heads->n_heads, 3);
    cr_assert_eq(d->heads->heads[2]->size, 6);
    cr_assert(d->heads->heads_end);
    wire_request_free(d);

    Cdht__Sync__Reply r;
    Cdht__Sync__HeadsReply hr;
    reply_init(&r, 2);
    cdht__sync__heads_reply__init(&hr);
    hr.heads = f->ptr;
    hr.n_heads = WIRE_HEADS_PAGE_MAX;
    r.body_case = CDHT__SYNC__REPLY__BODY_HEADS;
    r.heads = &hr;
    Cdht__Sync__Reply *dr = reply_round_trip(&r);
    cr_assert_eq(dr->heads->n_heads, WIRE_HEADS_PAGE_MAX);
    cr_assert_not(dr->heads->heads_end);
    wire_reply_free(dr);
    free(f);
}

Test(wire, pull_round_trip)
{
    Cdht__Sync__Request m;
    Cdht__Sync__PullRequest p;
    Cdht__Sync__LogRange lr[2], *lp[2];
    request_init(&m, 3);
    cdht__sync__pull_request__init(&p);
    for (unsigned i = 0; i < 2; i++) {
        cdht__sync__log_range__init(&lr[i]);
        lr[i].has_key = 1;
        lr[i].key.data = log_pk[i];
        lr[i].key.len = KEY_PUBLIC_SIZE;
        lr[i].has_from = 1;
        lr[i].from = 10 * i;
        lr[i].has_max_leaves = 1;
        lr[i].max_leaves = WIRE_BATCH_LEAVES_MAX;
        lp[i] = &lr[i];
    }
    p.logs = lp;
    p.n_logs = 2;
    m.body_case = CDHT__SYNC__REQUEST__BODY_PULL;
    m.pull = &p;
    Cdht__Sync__Request *d = request_round_trip(&m);
    cr_assert_eq(d->pull->logs[1]->from, 10);
    wire_request_free(d);

    struct batch_fix b0, b1;
    batch_fix_init(&b0, 0, 0, 5, 5);   /* ends at its checkpoint: no proof */
    batch_fix_init(&b1, 1, 10, 3, 20); /* checkpoint beyond: a proof */
    Cdht__Sync__Batch *bp[2] = {&b0.b, &b1.b};
    Cdht__Sync__Reply r;
    Cdht__Sync__PullReply pr;
    reply_init(&r, 3);
    cdht__sync__pull_reply__init(&pr);
    pr.batches = bp;
    pr.n_batches = 2;
    r.body_case = CDHT__SYNC__REPLY__BODY_PULL;
    r.pull = &pr;
    Cdht__Sync__Reply *dr = reply_round_trip(&r);
    const Cdht__Sync__Batch *got = dr->pull->batches[1];
    cr_assert_eq(got->first, 10);
    cr_assert_eq(got->n_consistency, 2);
    cr_assert_eq(got->n_cosigs, 1);
    struct wire_batch_reader rd;
    const char *why;
    cr_assert_eq(wire_batch_reader_init(&rd, got->leaves.data, got->leaves.len, got->count, &why),
                 ERR_OK);
    const uint8_t *leaf;
    size_t len;
    for (unsigned i = 0; i < 3; i++) {
        char want[64];
        snprintf(want, sizeof want, "leaf %u", 10 + i);
        cr_assert(wire_batch_reader_next(&rd, &leaf, &len));
        cr_assert_eq(len, strlen(want));
        cr_assert_eq(memcmp(leaf, want, len), 0);
    }
    cr_assert_not(wire_batch_reader_next(&rd, &leaf, &len));
    wire_batch_reader_release(&rd);
    wire_reply_free(dr);

    /* A callee with nothing to send replies with no batch. */
    pr.n_batches = 0;
    dr = reply_round_trip(&r);
    cr_assert_eq(dr->pull->n_batches, 0);
    wire_reply_free(dr);
    batch_fix_release(&b0);
    batch_fix_release(&b1);
}

Test(wire, push_round_trip)
{
    struct batch_fix b0;
    batch_fix_init(&b0, 0, 7, 2, 9);
    Cdht__Sync__Batch *bp[1] = {&b0.b};
    Cdht__Sync__Request m;
    Cdht__Sync__PushRequest p;
    request_init(&m, 4);
    cdht__sync__push_request__init(&p);
    p.batches = bp;
    p.n_batches = 1;
    m.body_case = CDHT__SYNC__REQUEST__BODY_PUSH;
    m.push = &p;
    Cdht__Sync__Request *d = request_round_trip(&m);
    cr_assert_eq(d->push->batches[0]->count, 2);
    wire_request_free(d);
    batch_fix_release(&b0);

    Cdht__Sync__Reply r;
    Cdht__Sync__PushReply pr;
    Cdht__Sync__LogAck ack[2], *ap[2];
    reply_init(&r, 4);
    cdht__sync__push_reply__init(&pr);
    for (unsigned i = 0; i < 2; i++) {
        cdht__sync__log_ack__init(&ack[i]);
        ack[i].has_key = 1;
        ack[i].key.data = log_pk[i];
        ack[i].key.len = KEY_PUBLIC_SIZE;
        ack[i].has_size = 1;
        ack[i].size = 9;
        ap[i] = &ack[i];
    }
    ack[1].has_code = 1;
    ack[1].code = ERR_FORK;
    pr.acks = ap;
    pr.n_acks = 2;
    r.body_case = CDHT__SYNC__REPLY__BODY_PUSH;
    r.push = &pr;
    Cdht__Sync__Reply *dr = reply_round_trip(&r);
    cr_assert_eq(dr->push->acks[0]->size, 9);
    cr_assert_not(dr->push->acks[0]->has_code);
    cr_assert_eq(dr->push->acks[1]->code, ERR_FORK);
    wire_reply_free(dr);
}

Test(wire, cosign_round_trip)
{
    uint8_t note[2][NOTE_SIZE_MAX], hashes[1][HASH_SIZE];
    ProtobufCBinaryData proof[1] = {{HASH_SIZE, hashes[0]}};
    Cdht__Sync__CosignItem it[2], *ip[2];
    memset(hashes, 0x33, sizeof hashes);
    for (unsigned i = 0; i < 2; i++) {
        cdht__sync__cosign_item__init(&it[i]);
        it[i].has_key = 1;
        it[i].key.data = log_pk[i];
        it[i].key.len = KEY_PUBLIC_SIZE;
        it[i].has_old_size = 1;
        it[i].has_checkpoint = 1;
        it[i].checkpoint.data = note[i];
        it[i].checkpoint.len = note_of(i, 8, note[i]);
        ip[i] = &it[i];
    }
    it[0].old_size = 0; /* never co-signed: no proof */
    it[1].old_size = 5;
    it[1].consistency = proof;
    it[1].n_consistency = 1;
    Cdht__Sync__Request m;
    Cdht__Sync__CosignRequest c;
    request_init(&m, 5);
    cdht__sync__cosign_request__init(&c);
    c.checkpoints = ip;
    c.n_checkpoints = 2;
    m.body_case = CDHT__SYNC__REQUEST__BODY_COSIGN;
    m.cosign = &c;
    Cdht__Sync__Request *d = request_round_trip(&m);
    cr_assert_eq(d->cosign->checkpoints[1]->old_size, 5);
    wire_request_free(d);

    uint8_t line[COSIG_LINE_SIZE_MAX];
    Cdht__Sync__Cosigned cs[2], *cp[2];
    for (unsigned i = 0; i < 2; i++) {
        cdht__sync__cosigned__init(&cs[i]);
        cs[i].has_key = 1;
        cs[i].key.data = log_pk[i];
        cs[i].key.len = KEY_PUBLIC_SIZE;
        cs[i].has_size = 1;
        cs[i].size = 8;
        cp[i] = &cs[i];
    }
    cs[0].has_line = 1;
    cs[0].line.data = line;
    cs[0].line.len = cosig_of(0, 8, line);
    cs[1].has_code = 1;
    cs[1].code = ERR_AUTH;
    Cdht__Sync__Reply r;
    Cdht__Sync__CosignReply cr;
    reply_init(&r, 5);
    cdht__sync__cosign_reply__init(&cr);
    cr.cosigned = cp;
    cr.n_cosigned = 2;
    r.body_case = CDHT__SYNC__REPLY__BODY_COSIGN;
    r.cosign = &cr;
    Cdht__Sync__Reply *dr = reply_round_trip(&r);
    cr_assert_eq(dr->cosign->cosigned[0]->line.len, cs[0].line.len);
    cr_assert_eq(dr->cosign->cosigned[1]->code, ERR_AUTH);
    wire_reply_free(dr);
}

Test(wire, done_and_error_round_trip)
{
    Cdht__Sync__Summary s;
    cdht__sync__summary__init(&s);
    s.has_logs = 1;
    s.logs = 2;
    s.has_leaves_sent = 1;
    s.leaves_sent = 100000;
    Cdht__Sync__Request m;
    Cdht__Sync__DoneRequest dq;
    request_init(&m, UINT64_MAX);
    cdht__sync__done_request__init(&dq);
    m.body_case = CDHT__SYNC__REQUEST__BODY_DONE;
    m.done = &dq;
    wire_request_free(request_round_trip(&m)); /* the summary is optional in a request */
    dq.summary = &s;
    Cdht__Sync__Request *d = request_round_trip(&m);
    cr_assert_eq(d->done->summary->leaves_sent, 100000);
    wire_request_free(d);

    Cdht__Sync__Reply r;
    Cdht__Sync__DoneReply dr;
    reply_init(&r, UINT64_MAX);
    cdht__sync__done_reply__init(&dr);
    dr.summary = &s;
    r.body_case = CDHT__SYNC__REPLY__BODY_DONE;
    r.done = &dr;
    Cdht__Sync__Reply *got = reply_round_trip(&r);
    cr_assert_eq(got->done->summary->logs, 2);
    wire_reply_free(got);

    /* An error reply to a request that could not be decoded has id 0. */
    Cdht__Sync__Error e;
    char reason[] = "the request is of another protocol version than 1";
    cdht__sync__error__init(&e);
    e.has_code = 1;
    e.code = ERR_PROTO;
    e.reason = reason;
    reply_init(&r, 0);
    r.body_case = CDHT__SYNC__REPLY__BODY_ERROR;
    r.error = &e;
    got = reply_round_trip(&r);
    cr_assert_eq(got->error->code, ERR_PROTO);
    cr_assert_str_eq(got->error->reason, reason);
    wire_reply_free(got);
}

/* ---- Refusals: the envelope -------------------------------------------------------------- */

Test(wire, refuses_oversized_message)
{
    size_t len = WIRE_MSG_SIZE_MAX + 1u;
    uint8_t *buf = calloc(1, len);
    const char *why;
    Cdht__Sync__Request *q;
    Cdht__Sync__Reply *r;
    cr_assert_eq(wire_request_decode(buf, len, &q, &why), ERR_MSGSIZE);
    cr_assert_str_eq(why, "the message is larger than WIRE_MSG_SIZE_MAX");
    cr_assert_null(q);
    cr_assert_eq(wire_reply_decode(buf, len, &r, &why), ERR_MSGSIZE);
    cr_assert_str_eq(why, "the message is larger than WIRE_MSG_SIZE_MAX");
    free(buf);
}

/* A message of empty submessages inflates about 40 times when unpacked: the counting allocator
 * refuses it at WIRE_DECODED_SIZE_MAX, though it is within WIRE_MSG_SIZE_MAX. */
Test(wire, refuses_decoding_past_memory_bound)
{
    const size_t heads = 900000; /* "0a 00": an empty LogHead, 2 bytes each */
    size_t body = 2 * heads, len = 0;
    uint8_t *buf = malloc(32 + body);
    buf[len++] = 0x08; /* version = 1 */
    buf[len++] = 0x01;
    buf[len++] = 0x11; /* id, fixed64 */
    for (unsigned i = 0; i < 8; i++) {
        buf[len++] = i == 0 ? 7 : 0;
    }
    buf[len++] = 0x22; /* field 4 (heads), length-delimited */
    for (size_t v = body;; v >>= 7) {
        buf[len++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        if (v <= 0x7f) {
            break;
        }
    }
    for (size_t i = 0; i < heads; i++) {
        buf[len++] = 0x0a;
        buf[len++] = 0x00;
    }
    cr_assert_leq(len, WIRE_MSG_SIZE_MAX);
    const char *why;
    Cdht__Sync__Reply *r;
    cr_assert_eq(wire_reply_decode(buf, len, &r, &why), ERR_MSGSIZE);
    cr_assert_str_eq(why, "decoding the message would take more than WIRE_DECODED_SIZE_MAX bytes");
    cr_assert_null(r);
    free(buf);
}

Test(wire, refuses_garbage_and_empty)
{
    const uint8_t junk[] = {0xff, 0xff, 0xff};
    const char *why;
    Cdht__Sync__Request *q;
    cr_assert_eq(wire_request_decode(junk, sizeof junk, &q, &why), ERR_PROTO);
    cr_assert_str_eq(why, "the message is not a protobuf message of its type");
    cr_assert_eq(wire_request_decode(junk, 0, &q, &why), ERR_PROTO);
    cr_assert_str_eq(why, "the request has no protocol version");
}

Test(wire, refuses_wrong_version)
{
    Cdht__Sync__Request m;
    Cdht__Sync__DoneRequest dq;
    request_init(&m, 9);
    cdht__sync__done_request__init(&dq);
    m.body_case = CDHT__SYNC__REQUEST__BODY_DONE;
    m.done = &dq;
    m.version = 2;
    request_refused(&m, ERR_PROTO, "the request is of another protocol version than 1");
    m.has_version = 0;
    request_refused(&m, ERR_PROTO, "the request has no protocol version");

    Cdht__Sync__Reply r;
    Cdht__Sync__Error e;
    char reason[] = "no";
    cdht__sync__error__init(&e);
    e.has_code = 1;
    e.code = ERR_PROTO;
    e.reason = reason;
    reply_init(&r, 9);
    r.body_case = CDHT__SYNC__REPLY__BODY_ERROR;
    r.error = &e;
    r.version = 0;
    reply_refused(&r, ERR_PROTO, "the reply is of another protocol version than 1");
}

Test(wire, refuses_missing_id_and_body)
{
    Cdht__Sync__Request m;
    request_init(&m, 0);
    request_refused(&m, ERR_PROTO, "the request has no id, or the id 0");
    request_init(&m, 1);
    request_refused(&m, ERR_PROTO, "the request has no body this version knows");

    Cdht__Sync__Reply r;
    Cdht__Sync__DoneReply dr;
    reply_init(&r, 0);
    cdht__sync__done_reply__init(&dr);
    r.body_case = CDHT__SYNC__REPLY__BODY_DONE;
    r.done = &dr;
    reply_refused(&r, ERR_PROTO, "the reply has no id, or the id 0 outside an error reply");
    r.id = 1;
    reply_refused(&r, ERR_PROTO, "the done reply has no summary");
}

/* ---- Refusals: bodies -------------------------------------------------------------------- */

Test(wire, refuses_missing_field_for_body)
{
    Cdht__Sync__Request m;
    Cdht__Sync__Hello h;
    char *units[2];
    request_init(&m, 1);
    hello_init(&h, units);
    m.body_case = CDHT__SYNC__REQUEST__BODY_HELLO;
    m.hello = &h;
    h.network = NULL;
    request_refused(&m, ERR_PROTO,
                    "the hello's network name is missing, empty or not printable UTF-8");
    h.network = network;
    h.n_units = 0;
    request_refused(&m, ERR_PROTO, "the hello asks for no unit");
    h.n_units = 2;
    h.has_version_max = 0;
    request_refused(&m, ERR_PROTO, "the hello's highest version is missing or below the message's");

    Cdht__Sync__PullRequest p;
    Cdht__Sync__LogRange lr, *lp = &lr;
    cdht__sync__pull_request__init(&p);
    cdht__sync__log_range__init(&lr);
    lr.has_key = 1;
    lr.key.data = log_pk[0];
    lr.key.len = KEY_PUBLIC_SIZE;
    lr.has_from = 1;
    p.logs = &lp;
    p.n_logs = 1;
    m.body_case = CDHT__SYNC__REQUEST__BODY_PULL;
    m.pull = &p;
    request_refused(&m, ERR_PROTO, "a pulled log has no leaf count, or a count of 0");
    lr.has_max_leaves = 1;
    lr.max_leaves = WIRE_BATCH_LEAVES_MAX + 1u;
    request_refused(&m, ERR_MSGSIZE,
                    "a pulled log asks for more than WIRE_BATCH_LEAVES_MAX leaves");

    struct batch_fix b;
    batch_fix_init(&b, 0, 0, 2, 2);
    Cdht__Sync__Batch *bp = &b.b;
    Cdht__Sync__PushRequest pu;
    cdht__sync__push_request__init(&pu);
    pu.batches = &bp;
    pu.n_batches = 1;
    m.body_case = CDHT__SYNC__REQUEST__BODY_PUSH;
    m.push = &pu;
    b.b.has_checkpoint = 0;
    request_refused(&m, ERR_PROTO, "a checkpoint note is missing");
    b.b.has_checkpoint = 1;
    b.b.has_first = 0;
    request_refused(&m, ERR_PROTO, "a batch has no first index");
    batch_fix_release(&b);
}

Test(wire, refuses_bad_key_length)
{
    Cdht__Sync__Request m;
    Cdht__Sync__Hello h;
    char *units[2];
    request_init(&m, 1);
    hello_init(&h, units);
    m.body_case = CDHT__SYNC__REQUEST__BODY_HELLO;
    m.hello = &h;
    h.key.len = KEY_PUBLIC_SIZE - 1;
    request_refused(&m, ERR_PROTO, "the hello's device key is missing or not 32 bytes");
    h.key.len = KEY_PUBLIC_SIZE + 1;
    request_refused(&m, ERR_PROTO, "the hello's device key is missing or not 32 bytes");

    struct heads_fix *f = heads_fix_new(2);
    Cdht__Sync__Reply r;
    Cdht__Sync__HeadsReply hr;
    reply_init(&r, 2);
    cdht__sync__heads_reply__init(&hr);
    hr.heads = f->ptr;
    hr.n_heads = 2;
    r.body_case = CDHT__SYNC__REPLY__BODY_HEADS;
    r.heads = &hr;
    f->head[1].key.len = 31;
    reply_refused(&r, ERR_PROTO, "a heads entry's key is missing or not 32 bytes");
    f->head[1].key.len = KEY_PUBLIC_SIZE;
    uint8_t root33[HASH_SIZE + 1] = {0};
    f->head[1].root.data = root33;
    f->head[1].root.len = sizeof root33;
    reply_refused(&r, ERR_PROTO, "a heads entry's root is missing or not 32 bytes");
    free(f);
}

Test(wire, refuses_too_many_heads_and_disorder)
{
    struct heads_fix *f = heads_fix_new(WIRE_HEADS_PAGE_MAX + 1);
    Cdht__Sync__Reply r;
    Cdht__Sync__HeadsReply hr;
    reply_init(&r, 2);
    cdht__sync__heads_reply__init(&hr);
    hr.heads = f->ptr;
    hr.n_heads = WIRE_HEADS_PAGE_MAX + 1;
    r.body_case = CDHT__SYNC__REPLY__BODY_HEADS;
    r.heads = &hr;
    reply_refused(&r, ERR_MSGSIZE, "a heads page has more than WIRE_HEADS_PAGE_MAX entries");
    hr.n_heads = 3;
    f->ptr[2] = &f->head[1]; /* a repeated key */
    reply_refused(&r, ERR_PROTO, "heads entries are not in strictly ascending key order");
    free(f);
}

Test(wire, refuses_bad_text)
{
    Cdht__Sync__Request m;
    Cdht__Sync__Hello h;
    char *units[2];
    char ctl[] = "01\x1b[2J", bad_utf8[] = "\xc3\x28", long_code[UNIT_CODE_SIZE_MAX + 2];
    memset(long_code, '1', sizeof long_code - 1);
    long_code[sizeof long_code - 1] = '\0';
    request_init(&m, 1);
    hello_init(&h, units);
    m.body_case = CDHT__SYNC__REQUEST__BODY_HELLO;
    m.hello = &h;
    units[1] = ctl;
    request_refused(&m, ERR_PROTO, "a unit code in the scope is empty or not printable UTF-8");
    units[1] = bad_utf8;
    request_refused(&m, ERR_PROTO, "a unit code in the scope is empty or not printable UTF-8");
    units[1] = long_code;
    request_refused(&m, ERR_MSGSIZE, "a unit code in the scope is longer than 32 bytes");
}

Test(wire, refuses_batch_shapes)
{
    struct batch_fix b;
    batch_fix_init(&b, 0, 4, 2, 9);
    Cdht__Sync__Batch *bp = &b.b;
    Cdht__Sync__Reply r;
    Cdht__Sync__PullReply pr;
    reply_init(&r, 3);
    cdht__sync__pull_reply__init(&pr);
    pr.batches = &bp;
    pr.n_batches = 1;
    r.body_case = CDHT__SYNC__REPLY__BODY_PULL;
    r.pull = &pr;
    b.b.n_consistency = 0;
    reply_refused(&r, ERR_PROTO,
                  "a batch needs a consistency proof exactly when its checkpoint is beyond its "
                  "last leaf");
    b.b.n_consistency = 2;
    b.proof[1].len = 31;
    reply_refused(&r, ERR_PROTO, "a consistency proof hash is not 32 bytes");
    b.proof[1].len = HASH_SIZE;
    b.b.first = 8; /* 8 + 2 > 9 */
    reply_refused(&r, ERR_PROTO, "a batch's checkpoint does not cover the batch's last leaf");
    b.b.first = 4;
    b.b.key.data = log_pk[1]; /* the note is log 0's */
    reply_refused(&r, ERR_PROTO, "a checkpoint note names another log than its key");
    b.b.key.data = log_pk[0];
    b.b.count = 0;
    reply_refused(&r, ERR_PROTO, "a batch has no leaf count, or a count of 0");
    b.b.count = WIRE_BATCH_LEAVES_MAX + 1u;
    reply_refused(&r, ERR_MSGSIZE, "a batch has more than WIRE_BATCH_LEAVES_MAX leaves");
    b.b.count = 2;
    b.line[0] = 'x';
    reply_refused(&r, ERR_PROTO, "a cosignature line does not parse");
    batch_fix_release(&b);
}

/* ---- Batches ----------------------------------------------------------------------------- */

/* A frame of src compressed with the content size left out of its header (streaming writers
 * that do not know the size write such frames). *out is malloc'd. */
static size_t
frame_without_size(const uint8_t *src, size_t len, uint8_t **out)
{
    ZSTD_CCtx *c = ZSTD_createCCtx();
    size_t cap = ZSTD_compressBound(len);
    *out = malloc(cap);
    cr_assert_not_null(c);
    cr_assert_not(ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0)));
    ZSTD_outBuffer ob = {*out, cap, 0};
    ZSTD_inBuffer ib = {src, len, 0};
    cr_assert_eq(ZSTD_compressStream2(c, &ob, &ib, ZSTD_e_end), 0);
    ZSTD_freeCCtx(c);
    return ob.pos;
}

/* Inflated content → frame, with the size declared. *out is malloc'd. */
static size_t
frame_of(const uint8_t *src, size_t len, uint8_t **out)
{
    size_t cap = ZSTD_compressBound(len);
    *out = malloc(cap);
    size_t n = ZSTD_compress(*out, cap, src, len, 3);
    cr_assert_not(ZSTD_isError(n));
    return n;
}

static void
reader_refuses(const uint8_t *zst, size_t len, uint32_t count, err_code want, const char *sentence)
{
    struct wire_batch_reader r;
    const char *why = NULL;
    cr_assert_eq(wire_batch_reader_init(&r, zst, len, count, &why), want, "got: %s", why);
    cr_assert_str_eq(why, sentence);
    cr_assert_null(r.buf);
    wire_batch_reader_release(&r);
}

Test(wire, batch_writer_reader_round_trip)
{
    struct wire_batch_writer w;
    const char *why;
    uint8_t *big = malloc(LEAF_SIZE_MAX), *zst;
    size_t zst_len;
    randombytes_buf(big, LEAF_SIZE_MAX); /* incompressible, the largest leaf */
    wire_batch_writer_init(&w);
    cr_assert_eq(wire_batch_writer_add(&w, (const uint8_t *)"a", 1, &why), ERR_OK);
    cr_assert_eq(wire_batch_writer_add(&w, big, LEAF_SIZE_MAX, &why), ERR_OK);
    cr_assert_eq(wire_batch_writer_add(&w, (const uint8_t *)"", 0, &why), ERR_INVAL);
    cr_assert_eq(wire_batch_writer_add(&w, big, LEAF_SIZE_MAX + 1u, &why), ERR_MSGSIZE);
    cr_assert_str_eq(why, "a leaf to batch is larger than LEAF_SIZE_MAX");
    cr_assert_eq(w.count, 2);
    /* Too small a budget keeps the leaves; a full one takes them. */
    cr_assert_eq(wire_batch_writer_finish(&w, 4096, &zst, &zst_len, &why), ERR_MSGSIZE);
    cr_assert_str_eq(why, "the compressed batch would exceed its byte budget");
    cr_assert_eq(w.count, 2);
    cr_assert_eq(wire_batch_writer_finish(&w, WIRE_BATCH_BYTES_MAX, &zst, &zst_len, &why), ERR_OK);
    cr_assert_eq(w.count, 0);
    cr_assert_leq(zst_len, WIRE_BATCH_BYTES_MAX);
    uint8_t *none;
    size_t none_len;
    cr_assert_eq(wire_batch_writer_finish(&w, WIRE_BATCH_BYTES_MAX, &none, &none_len, &why),
                 ERR_INVAL);
    cr_assert_null(none);

    struct wire_batch_reader r;
    const uint8_t *leaf;
    size_t len;
    cr_assert_eq(wire_batch_reader_init(&r, zst, zst_len, 2, &why), ERR_OK, "%s", why);
    cr_assert(wire_batch_reader_next(&r, &leaf, &len));
    cr_assert_eq(len, 1);
    cr_assert_eq(leaf[0], 'a');
    cr_assert(wire_batch_reader_next(&r, &leaf, &len));
    cr_assert_eq(len, LEAF_SIZE_MAX);
    cr_assert_eq(memcmp(leaf, big, LEAF_SIZE_MAX), 0);
    cr_assert_not(wire_batch_reader_next(&r, &leaf, &len));
    wire_batch_reader_release(&r);
    /* The count must match the leaves exactly. */
    reader_refuses(zst, zst_len, 1, ERR_PROTO, "bytes follow the batch's last leaf");
    reader_refuses(zst, zst_len, 3, ERR_PROTO, "the batch ends before its last leaf's length");
    free(zst);
    free(big);
    wire_batch_writer_release(&w);
}

Test(wire, batch_writer_limits)
{
    struct wire_batch_writer w;
    const char *why;
    uint8_t one = 'x';
    wire_batch_writer_init(&w);
    for (unsigned i = 0; i < WIRE_BATCH_LEAVES_MAX; i++) {
        cr_assert_eq(wire_batch_writer_add(&w, &one, 1, &why), ERR_OK);
    }
    cr_assert_eq(wire_batch_writer_add(&w, &one, 1, &why), ERR_MSGSIZE);
    cr_assert_str_eq(why, "the batch already holds WIRE_BATCH_LEAVES_MAX leaves");
    uint8_t *zst;
    size_t zst_len;
    cr_assert_eq(wire_batch_writer_finish(&w, WIRE_BATCH_BYTES_MAX, &zst, &zst_len, &why), ERR_OK);
    struct wire_batch_reader r;
    cr_assert_eq(wire_batch_reader_init(&r, zst, zst_len, WIRE_BATCH_LEAVES_MAX, &why), ERR_OK);
    wire_batch_reader_release(&r);
    free(zst);
    /* Inflated bytes: eight leaves of LEAF_SIZE_MAX do not fit with their length prefixes. */
    uint8_t *big = calloc(1, LEAF_SIZE_MAX);
    for (unsigned i = 0; i < 7; i++) {
        cr_assert_eq(wire_batch_writer_add(&w, big, LEAF_SIZE_MAX, &why), ERR_OK);
    }
    cr_assert_eq(wire_batch_writer_add(&w, big, LEAF_SIZE_MAX, &why), ERR_MSGSIZE);
    cr_assert_str_eq(why, "the leaf would take the batch past WIRE_BATCH_INFLATED_SIZE_MAX bytes");
    cr_assert_leq(w.cap, WIRE_BATCH_INFLATED_SIZE_MAX);
    free(big);
    wire_batch_writer_release(&w);
}

Test(wire, refuses_frame_without_declared_size)
{
    const uint8_t content[] = {0, 0, 0, 3, 'a', 'b', 'c'};
    uint8_t *zst;
    size_t len = frame_without_size(content, sizeof content, &zst);
    reader_refuses(zst, len, 1, ERR_PROTO,
                   "the batch's zstd frame does not declare its content size");

    /* The same frame inside a PUSH is refused by the decoder, before the node sees it. */
    struct batch_fix b;
    batch_fix_init(&b, 0, 0, 1, 1);
    b.b.leaves.data = zst;
    b.b.leaves.len = len;
    Cdht__Sync__Batch *bp = &b.b;
    Cdht__Sync__Request m;
    Cdht__Sync__PushRequest pu;
    request_init(&m, 1);
    cdht__sync__push_request__init(&pu);
    pu.batches = &bp;
    pu.n_batches = 1;
    m.body_case = CDHT__SYNC__REQUEST__BODY_PUSH;
    m.push = &pu;
    request_refused(&m, ERR_PROTO, "the batch's zstd frame does not declare its content size");
    batch_fix_release(&b);
    free(zst);
}

Test(wire, refuses_frame_declaring_more_than_bound)
{
    size_t n = WIRE_BATCH_INFLATED_SIZE_MAX + 1u;
    uint8_t *content = calloc(1, n), *zst;
    size_t len = frame_of(content, n, &zst);
    cr_assert_lt(len, 4096); /* zeros: a small frame that would inflate past the bound */
    reader_refuses(zst, len, 1, ERR_MSGSIZE,
                   "the batch's zstd frame declares more than WIRE_BATCH_INFLATED_SIZE_MAX bytes");
    uint64_t declared;
    const char *why;
    cr_assert_eq(wire_batch_inflated_size(zst, len, &declared, &why), ERR_MSGSIZE);
    free(zst);
    free(content);
}

/* A bomb: a 20-byte frame header that claims one TiB. It is refused by the declared-size check
 * (its sentence says so), on the header alone: had the reader tried to allocate first, it would
 * have returned ERR_NOMEM, and had it tried to inflate, a zstd error (ERR_PROTO). */
Test(wire, refuses_decompression_bomb_before_allocating)
{
    uint8_t bomb[32] = {0x28, 0xb5, 0x2f, 0xfd, /* zstd magic, little-endian */
                        0xe0};                  /* FCS field 8 bytes, single segment */
    uint64_t claim = 1ull << 40;
    for (unsigned i = 0; i < 8; i++) {
        bomb[5 + i] = (uint8_t)(claim >> (8 * i));
    }
    bomb[13] = 0x01; /* a last raw block of 0 bytes: the frame itself is well formed */
    bomb[14] = 0x00;
    bomb[15] = 0x00;
    uint64_t declared = 1;
    const char *why;
    cr_assert_eq(ZSTD_getFrameContentSize(bomb, 16), claim);
    cr_assert_eq(wire_batch_inflated_size(bomb, 16, &declared, &why), ERR_MSGSIZE);
    cr_assert_str_eq(
        why, "the batch's zstd frame declares more than WIRE_BATCH_INFLATED_SIZE_MAX bytes");
    cr_assert_eq(declared, 0);
    reader_refuses(bomb, 16, 1, ERR_MSGSIZE,
                   "the batch's zstd frame declares more than WIRE_BATCH_INFLATED_SIZE_MAX bytes");
}

Test(wire, refuses_truncated_frame_and_trailing_bytes)
{
    const uint8_t content[] = {0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 1, 'd'};
    uint8_t *zst;
    size_t len = frame_of(content, sizeof content, &zst);
    reader_refuses(zst, len - 1, 2, ERR_PROTO, "the batch's zstd frame is truncated or malformed");
    reader_refuses(zst, 5, 2, ERR_PROTO, "the batch's zstd frame header is malformed or truncated");
    reader_refuses(zst, 3, 2, ERR_PROTO, "the batch is not a zstd frame");
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, zst, len);
    longer[len] = 0;
    reader_refuses(longer, len + 1, 2, ERR_PROTO, "bytes follow the batch's zstd frame");
    free(longer);
    struct wire_batch_reader r;
    const char *why;
    cr_assert_eq(wire_batch_reader_init(&r, zst, len, 2, &why), ERR_OK);
    wire_batch_reader_release(&r);
    free(zst);
}

Test(wire, refuses_leaf_lengths_that_overrun)
{
    uint8_t *zst;
    /* The second leaf claims 16 bytes, 3 follow. */
    const uint8_t overrun[] = {0, 0, 0, 1, 'a', 0, 0, 0, 16, 'b', 'c', 'd'};
    size_t len = frame_of(overrun, sizeof overrun, &zst);
    reader_refuses(zst, len, 2, ERR_PROTO, "a leaf's length overruns the batch");
    free(zst);
    /* A length of 2^32 - 1 must not wrap an offset. */
    const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 'a', 'b', 'c', 'd', 'e', 'f'};
    len = frame_of(huge, sizeof huge, &zst);
    reader_refuses(zst, len, 1, ERR_MSGSIZE, "a leaf in the batch is larger than LEAF_SIZE_MAX");
    free(zst);
    const uint8_t empty[] = {0, 0, 0, 0, 0, 0, 0, 1, 'a'};
    len = frame_of(empty, sizeof empty, &zst);
    reader_refuses(zst, len, 1, ERR_PROTO, "a leaf in the batch is empty");
    free(zst);
    /* Fewer declared bytes than count leaves need is refused before inflating. */
    const uint8_t one[] = {0, 0, 0, 1, 'a'};
    len = frame_of(one, sizeof one, &zst);
    reader_refuses(zst, len, 2, ERR_PROTO,
                   "a batch's zstd frame declares fewer bytes than its leaves need");
    free(zst);
}

/* A frame whose header declares fewer bytes than its blocks produce. */
Test(wire, refuses_frame_lying_about_its_size)
{
    const uint8_t content[] = {0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 1, 'd'};
    uint8_t *zst;
    size_t len = frame_without_size(content, sizeof content, &zst);
    /* Rebuild the header with a declared size of 12 - 1 (1-byte FCS, single segment). The
     * original header is the magic, a descriptor without size, checksum or dictionary, and a
     * window byte. */
    cr_assert_eq(zst[4], 0x00);
    size_t hdr = 6;
    uint8_t *lie = malloc(len + 8);
    memcpy(lie, zst, 4);
    lie[4] = 0x20; /* FCS flag 0 + single segment: 1-byte size */
    lie[5] = (uint8_t)(sizeof content - 1);
    memcpy(lie + 6, zst + hdr, len - hdr);
    size_t lie_len = 6 + len - hdr;
    uint64_t declared;
    const char *why;
    cr_assert_eq(wire_batch_inflated_size(lie, lie_len, &declared, &why), ERR_OK, "%s", why);
    cr_assert_eq(declared, sizeof content - 1);
    reader_refuses(lie, lie_len, 2, ERR_PROTO,
                   "the batch's zstd frame does not inflate to its declared size");
    free(lie);
    free(zst);
}
