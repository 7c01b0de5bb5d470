/*
 * Sync sessions (session.h): the callee's request handler and the caller's driver.
 */
#include "session.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "cosig.h"
#include "diag.h"
#include "exchange.h"
#include "heads.h"
#include "hlc.h"
#include "keys.h"
#include "log.h"
#include "replica.h"
#include "scope.h"
#include "store.h"
#include "sync.h"
#include "transport.h"
#include "trust.h"
#include "wire.h"
#include "witness.h"
#include "note.h"

/* The channel's protocol version: the sync messages' (one number for the whole protocol). */
#define SESSION_VERSION ((uint8_t)WIRE_VERSION)

struct session_slot {
    int used;
    struct channel ch;
    uint8_t tag[CHANNEL_TAG_SIZE];
    uint8_t peer[KEY_PUBLIC_SIZE];
    int64_t last_ms;
    uint8_t *reply; /* the last sealed reply, for a resend */
    size_t reply_len;
    struct scope scope; /* what the caller may hold (when scoped) */
    int scoped;
    uint64_t sent, received;         /* leaves */
    uint64_t bytes_in, bytes_out;    /* messages after the handshake */
    uint64_t cosigned;               /* cosignatures given */
};

static void
session_slot_drop(struct session_server *s, struct session_slot *sl)
{
    channel_wipe(&sl->ch);
    s->cached -= sl->reply_len;
    free(sl->reply);
    memset(sl, 0, sizeof *sl);
}

err_code
session_server_init(struct session_server *s, struct replica *r)
{
    return session_server_init_slots(s, r, SESSION_SLOTS_MAX);
}

err_code
session_server_init_slots(struct session_server *s, struct replica *r, unsigned slots)
{
    memset(s, 0, sizeof *s);
    if (slots == 0 || slots > SESSION_SLOTS_LIMIT) {
        return ERR_INVAL;
    }
    s->nslots = slots;
    s->r = r;
    char net[REPLICA_META_SIZE_MAX];
    err_code rc = replica_meta(r, "network", net);
    if (rc != ERR_OK) {
        return rc;
    }
    size_t nl = strnlen(net, sizeof s->network);
    if (nl == 0 || nl >= sizeof s->network) {
        return ERR_INVAL;
    }
    memcpy(s->network, net, nl + 1);
    s->slots = calloc(s->nslots, sizeof *s->slots);
    return s->slots == NULL ? ERR_NOMEM : ERR_OK;
}

void
session_server_free(struct session_server *s)
{
    if (s->slots != NULL) {
        for (unsigned i = 0; i < s->nslots; i++) {
            session_slot_drop(s, &s->slots[i]);
        }
    }
    free(s->slots);
    s->slots = NULL;
}

static err_code
session_device_cb(void *ctx, const struct trust_device *d)
{
    *(int *)ctx = d->limited;
    return ERR_OK;
}

/* May key sync with this replica? Open mode: anyone on the network (the channel proved the
 * key); under a pinned root: a device with a valid chain that is not revoked outright. */
static err_code
session_admit(struct session_server *s, const uint8_t key[KEY_PUBLIC_SIZE], struct scope *sc,
              int *scoped, const char **why)
{
    uint8_t root[KEY_PUBLIC_SIZE];
    int pinned = 0;
    err_code rc = trust_root(s->r->st, root, &pinned);
    *scoped = 0;
    if (rc != ERR_OK || !pinned) {
        return rc;
    }
    int limited = 0;
    rc = trust_device_get(s->r->st, key, session_device_cb, &limited);
    if (rc == ERR_NOTFOUND) {
        *why = "no valid certificate chain here";
        return ERR_DENIED;
    }
    if (rc != ERR_OK) {
        return rc;
    }
    if (limited == 1) {
        *why = "revoked";
        return ERR_DENIED;
    }
    rc = scope_from_key(s->r->st, key, sc);
    if (rc == ERR_OK) {
        *scoped = !sc->all;
    }
    return rc == ERR_NOTFOUND ? (*why = "no valid certificate chain here", ERR_DENIED) : rc;
}

/* The callee's heads page after cursor, for what the caller may hold. */
static err_code
session_heads_page(struct session_server *s, struct session_slot *sl,
                   const Cdht__Sync__HeadsRequest *q, Cdht__Sync__HeadsReply *out)
{
    static const char sql[] = "SELECT key FROM log WHERE key > ?1 ORDER BY key";
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(s->r->st->db, sql, -1, &st, NULL);
    if (src != SQLITE_OK) {
        return store_err(s->r->st, src, "sync heads");
    }
    uint8_t zero[KEY_PUBLIC_SIZE] = {0};
    sqlite3_bind_blob(st, 1, q->has_after ? q->after.data : zero, KEY_PUBLIC_SIZE, SQLITE_STATIC);
    out->heads = calloc(WIRE_HEADS_PAGE_MAX, sizeof *out->heads);
    if (out->heads == NULL) {
        sqlite3_finalize(st);
        return ERR_NOMEM;
    }
    err_code rc = ERR_OK;
    out->has_heads_end = 1;
    out->heads_end = 1;
    while (rc == ERR_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
        const uint8_t *key = sqlite3_column_blob(st, 0);
        if (sqlite3_column_bytes(st, 0) != KEY_PUBLIC_SIZE) {
            continue;
        }
        if (sl->scoped) {
            int yes = 0;
            if ((rc = scope_log_allowed(s->r->st, &sl->scope, key, &yes)) != ERR_OK) {
                break;
            }
            if (!yes) {
                continue;
            }
        }
        if (out->n_heads == WIRE_HEADS_PAGE_MAX) {
            out->heads_end = 0;
            break;
        }
        struct log_head h;
        if ((rc = log_get(s->r->st, key, &h)) != ERR_OK) {
            break;
        }
        Cdht__Sync__LogHead *e = calloc(1, sizeof *e + KEY_PUBLIC_SIZE + HASH_SIZE);
        if (e == NULL) {
            rc = ERR_NOMEM;
            break;
        }
        cdht__sync__log_head__init(e);
        uint8_t *mem = (uint8_t *)(e + 1);
        memcpy(mem, h.key, KEY_PUBLIC_SIZE);
        log_root(&h, mem + KEY_PUBLIC_SIZE);
        e->has_key = e->has_size = e->has_root = 1;
        e->key.data = mem;
        e->key.len = KEY_PUBLIC_SIZE;
        e->size = h.size;
        e->root.data = mem + KEY_PUBLIC_SIZE;
        e->root.len = HASH_SIZE;
        out->heads[out->n_heads++] = e;
    }
    sqlite3_finalize(st);
    return rc;
}

static void
session_heads_free(Cdht__Sync__HeadsReply *h)
{
    for (size_t i = 0; i < h->n_heads; i++) {
        free(h->heads[i]);
    }
    free(h->heads);
}

/* Dispatches one decoded request into reply (whose bodies this function allocates; freed by
 * session_reply_free). */
struct session_reply {
    Cdht__Sync__Reply m;
    Cdht__Sync__HelloReply hello;
    Cdht__Sync__HeadsReply heads;
    Cdht__Sync__PullReply pull;
    Cdht__Sync__Batch batch;
    Cdht__Sync__Batch *batchp;
    Cdht__Sync__PushReply push;
    Cdht__Sync__LogAck acks[WIRE_PULL_LOGS_MAX];
    Cdht__Sync__LogAck *ackp[WIRE_PULL_LOGS_MAX];
    Cdht__Sync__DoneReply done;
    Cdht__Sync__Summary summary;
    Cdht__Sync__Error error;
    Cdht__Sync__CosignReply cosign;
    Cdht__Sync__Cosigned cosigned[WIRE_COSIGN_MAX];
    Cdht__Sync__Cosigned *cosignedp[WIRE_COSIGN_MAX];
    uint8_t lines[WIRE_COSIGN_MAX][COSIG_LINE_SIZE_MAX];
};

static void
session_reply_free(struct session_reply *rp)
{
    session_heads_free(&rp->heads);
    sync_batch_clear(&rp->batch);
}

static void
session_error(struct session_reply *rp, err_code code, const char *reason)
{
    cdht__sync__error__init(&rp->error);
    rp->error.has_code = 1;
    rp->error.code = (uint32_t)code;
    rp->error.reason = (char *)reason;
    rp->m.body_case = CDHT__SYNC__REPLY__BODY_ERROR;
    rp->m.error = &rp->error;
}

struct session_find_cosig {
    const uint8_t *witness;
    uint64_t size;
    struct witness_cosig c;
    int found;
};

static err_code
session_find_cosig_cb(void *ctx, const struct witness_cosig *c)
{
    struct session_find_cosig *f = ctx;
    if (!f->found && c->size == f->size && memcmp(c->witness, f->witness, KEY_PUBLIC_SIZE) == 0) {
        f->c = *c;
        f->found = 1;
    }
    return ERR_OK;
}

/* The COSIGN round (callee): for each checkpoint the caller names, this node (when it is a
 * witness and shares the log) co-signs the checkpoint it holds at that size, after its own
 * consistency check (witness_cosign), and returns its cosignature line; otherwise a code:
 * ERR_DENIED (not a witness, or the log is outside the caller's scope), ERR_AGAIN (not held at
 * that checkpoint), ERR_FORK (inconsistent with what it co-signed before). */
static err_code
session_cosign(struct session_server *s, struct session_slot *sl,
               const Cdht__Sync__CosignRequest *q, struct session_reply *rp)
{
    int witness = 0;
    err_code rc = witness_is_witness(s->r, &witness);
    if (rc != ERR_OK) {
        return rc;
    }
    cdht__sync__cosign_reply__init(&rp->cosign);
    for (size_t i = 0; i < q->n_checkpoints && i < WIRE_COSIGN_MAX; i++) {
        const Cdht__Sync__CosignItem *it = q->checkpoints[i];
        Cdht__Sync__Cosigned *out = &rp->cosigned[i];
        cdht__sync__cosigned__init(out);
        out->has_key = out->has_size = 1;
        out->key = it->key;
        char name[NOTE_LOG_NAME_SIZE + 1];
        struct checkpoint cp;
        note_log_name(it->key.data, name);
        err_code code = note_verify_checkpoint(it->checkpoint.data, it->checkpoint.len, name,
                                               it->key.data, &cp) == ERR_OK
                            ? ERR_OK
                            : ERR_AUTH; /* wire_request_decode checked it: not reached */
        out->size = cp.size;
        int yes = 1;
        if (code == ERR_OK && sl->scoped &&
            (rc = scope_log_allowed(s->r->st, &sl->scope, it->key.data, &yes)) != ERR_OK) {
            return rc;
        }
        if (code == ERR_OK && (!witness || !yes)) {
            code = ERR_DENIED;
        }
        struct log_head h;
        uint8_t note[NOTE_SIZE_MAX];
        size_t note_len = 0;
        uint64_t held = 0;
        if (code == ERR_OK) {
            rc = log_get(s->r->st, it->key.data, &h);
            if (rc == ERR_OK) {
                rc = log_checkpoint_get(s->r->st, h.id, note, &note_len, &held);
            }
            if (rc != ERR_OK && rc != ERR_NOTFOUND) {
                return rc;
            }
            if (rc == ERR_NOTFOUND || held != cp.size || note_len != it->checkpoint.len ||
                memcmp(note, it->checkpoint.data, note_len) != 0) {
                code = ERR_AGAIN;
            }
        }
        struct session_find_cosig f = {.witness = s->r->pk, .size = cp.size};
        if (code == ERR_OK) {
            struct witness_report wrep;
            if ((rc = witness_cosign(s->r, it->key.data, &wrep)) != ERR_OK ||
                (rc = witness_cosigs_of(s->r->st, h.id, SESSION_COSIGS_SCAN_MAX,
                                        session_find_cosig_cb, &f)) != ERR_OK) {
                return rc;
            }
            code = f.found ? ERR_OK : ERR_FORK;
        }
        size_t line_len = 0;
        if (code == ERR_OK && (rc = witness_cosig_line(&f.c, rp->lines[i], &line_len)) != ERR_OK) {
            return rc;
        }
        if (code == ERR_OK) {
            out->has_line = 1;
            out->line.data = rp->lines[i];
            out->line.len = line_len;
            sl->cosigned++;
        } else {
            out->has_code = 1;
            out->code = (uint32_t)code;
        }
        rp->cosignedp[i] = out;
        rp->cosign.n_cosigned = i + 1;
    }
    rp->cosign.cosigned = rp->cosignedp;
    rp->m.body_case = CDHT__SYNC__REPLY__BODY_COSIGN;
    rp->m.cosign = &rp->cosign;
    return ERR_OK;
}

static err_code
session_dispatch(struct session_server *s, struct session_slot *sl, const Cdht__Sync__Request *q,
                 struct session_reply *rp)
{
    err_code rc = ERR_OK;
    switch (q->body_case) {
    case CDHT__SYNC__REQUEST__BODY_HELLO:
        if (strcmp(q->hello->network, s->network) != 0) {
            session_error(rp, ERR_DENIED, "another network");
            return ERR_OK;
        }
        cdht__sync__hello_reply__init(&rp->hello);
        rp->hello.has_key = rp->hello.has_version_max = 1;
        rp->hello.key.data = s->r->pk;
        rp->hello.key.len = KEY_PUBLIC_SIZE;
        rp->hello.version_max = WIRE_VERSION;
        rp->m.body_case = CDHT__SYNC__REPLY__BODY_HELLO;
        rp->m.hello = &rp->hello;
        return ERR_OK;
    case CDHT__SYNC__REQUEST__BODY_HEADS:
        cdht__sync__heads_reply__init(&rp->heads);
        if ((rc = session_heads_page(s, sl, q->heads, &rp->heads)) != ERR_OK) {
            return rc;
        }
        rp->m.body_case = CDHT__SYNC__REPLY__BODY_HEADS;
        rp->m.heads = &rp->heads;
        return ERR_OK;
    case CDHT__SYNC__REQUEST__BODY_PULL: {
        cdht__sync__pull_reply__init(&rp->pull);
        rp->m.body_case = CDHT__SYNC__REPLY__BODY_PULL;
        rp->m.pull = &rp->pull;
        /* One log a pull: the reply stays within one batch's bytes. */
        const Cdht__Sync__LogRange *lr = q->pull->logs[0];
        int yes = 1;
        if (sl->scoped &&
            (rc = scope_log_allowed(s->r->st, &sl->scope, lr->key.data, &yes)) != ERR_OK) {
            return rc;
        }
        if (!yes) {
            return ERR_OK;
        }
        rc = sync_batch_build(s->r, lr->key.data, lr->from, lr->max_leaves, &rp->batch);
        if (rc == ERR_AGAIN || rc == ERR_NOTFOUND) {
            return ERR_OK;
        }
        if (rc != ERR_OK) {
            return rc;
        }
        rp->batchp = &rp->batch;
        rp->pull.batches = &rp->batchp;
        rp->pull.n_batches = 1;
        sl->sent += rp->batch.count;
        return ERR_OK;
    }
    case CDHT__SYNC__REQUEST__BODY_PUSH:
        cdht__sync__push_reply__init(&rp->push);
        rp->m.body_case = CDHT__SYNC__REPLY__BODY_PUSH;
        rp->m.push = &rp->push;
        for (size_t i = 0; i < q->push->n_batches && i < WIRE_PULL_LOGS_MAX; i++) {
            const Cdht__Sync__Batch *b = q->push->batches[i];
            struct sync_apply_report ar;
            const char *why = NULL;
            err_code arc = sync_batch_apply(s->r, b, &ar, &why);
            Cdht__Sync__LogAck *a = &rp->acks[i];
            cdht__sync__log_ack__init(a);
            a->has_key = a->has_size = 1;
            a->key = b->key;
            a->size = ar.size;
            if (arc != ERR_OK || ar.out_of_scope) {
                a->has_code = 1;
                a->code = (uint32_t)(arc != ERR_OK ? arc : ERR_DENIED);
                if (arc != ERR_OK) {
                    char k[48];
                    keys_b64(b->key.data, k);
                    diag_warn("SYNC-PUSH", "a pushed batch of log %s refused: %s", k,
                              why ? why : err_str(arc));
                }
            }
            sl->received += ar.leaves;
            rp->ackp[i] = a;
            rp->push.n_acks = i + 1;
        }
        rp->push.acks = rp->ackp;
        return ERR_OK;
    case CDHT__SYNC__REQUEST__BODY_DONE: {
        /* The session as `cdht status` on this side tells it: a peer that dialled in. */
        struct session_report in;
        char url[TRANSPORT_URL_SIZE_MAX + 1], k[KEYS_B64_SIZE];
        memset(&in, 0, sizeof in);
        in.pulled = sl->received;
        in.pushed = sl->sent;
        in.bytes_sent = sl->bytes_out;
        in.bytes_received = sl->bytes_in;
        keys_b64(sl->peer, k);
        snprintf(url, sizeof url, "%s%s", SESSION_PEER_INBOUND_PREFIX, k);
        if (session_record(s->r, url, ERR_OK, &in) != ERR_OK) {
            diag_warn("SYNC-RECORD", "an inbound session could not be recorded");
        }
        cdht__sync__done_reply__init(&rp->done);
        cdht__sync__summary__init(&rp->summary);
        rp->summary.has_leaves_sent = rp->summary.has_leaves_received = 1;
        rp->summary.leaves_sent = sl->sent;
        rp->summary.leaves_received = sl->received;
        rp->summary.has_cosigs = 1;
        rp->summary.cosigs = sl->cosigned;
        rp->done.summary = &rp->summary;
        rp->m.body_case = CDHT__SYNC__REPLY__BODY_DONE;
        rp->m.done = &rp->done;
        return ERR_OK;
    }
    case CDHT__SYNC__REQUEST__BODY_COSIGN: return session_cosign(s, sl, q->cosign, rp);
    default: session_error(rp, ERR_PROTO, "this callee does not serve that round"); return ERR_OK;
    }
}

static struct session_slot *
session_slot_for_tag(struct session_server *s, const uint8_t tag[CHANNEL_TAG_SIZE])
{
    for (unsigned i = 0; i < s->nslots; i++) {
        if (s->slots[i].used && memcmp(s->slots[i].tag, tag, CHANNEL_TAG_SIZE) == 0) {
            return &s->slots[i];
        }
    }
    return NULL;
}

static struct session_slot *
session_slot_new(struct session_server *s, int64_t now)
{
    struct session_slot *oldest = &s->slots[0];
    for (unsigned i = 0; i < s->nslots; i++) {
        struct session_slot *sl = &s->slots[i];
        if (sl->used && now - sl->last_ms > SESSION_IDLE_MS) {
            session_slot_drop(s, sl);
        }
        if (!sl->used) {
            return sl;
        }
        if (sl->last_ms < oldest->last_ms) {
            oldest = sl;
        }
    }
    session_slot_drop(s, oldest);
    return oldest;
}

static err_code
session_handshake(struct session_server *s, const uint8_t *in, size_t len, uint8_t **out,
                  size_t *out_len)
{
    int64_t now = hlc_wall_ms();
    struct session_slot *sl = session_slot_new(s, now);
    uint8_t payload[CHANNEL_HANDSHAKE_PAYLOAD_SIZE_MAX];
    size_t plen = 0;
    err_code rc = channel_init(&sl->ch, s->r->keys.sk, s->network, SESSION_VERSION);
    if (rc == ERR_OK) {
        rc = channel_respond(&sl->ch, in, len, sl->peer, payload, sizeof payload, &plen);
    }
    if (rc != ERR_OK) {
        diag_warn("SYNC-HANDSHAKE", "a handshake message was refused: %s", err_str(rc));
        session_slot_drop(s, sl);
        return ERR_OK; /* an empty reply: the caller is dropped */
    }
    const char *why = "refused";
    rc = session_admit(s, sl->peer, &sl->scope, &sl->scoped, &why);
    if (rc != ERR_OK) {
        char k[48];
        keys_b64(sl->peer, k);
        diag_warn("SYNC-REFUSED", "device %s refused: %s", k, rc == ERR_DENIED ? why : err_str(rc));
        s->refused++;
        session_slot_drop(s, sl);
        return rc == ERR_DENIED ? ERR_OK : rc;
    }
    uint8_t *buf = malloc(CHANNEL_WELCOME_SIZE(0));
    if (buf == NULL) {
        session_slot_drop(s, sl);
        return ERR_NOMEM;
    }
    if ((rc = channel_admit(&sl->ch, NULL, 0, buf, CHANNEL_WELCOME_SIZE(0), out_len)) != ERR_OK) {
        free(buf);
        session_slot_drop(s, sl);
        return rc;
    }
    channel_session_tag(&sl->ch, sl->tag);
    sl->used = 1;
    sl->last_ms = now;
    *out = buf;
    return ERR_OK;
}

err_code
session_server_handle(struct session_server *s, const uint8_t *in, size_t len, uint8_t **out,
                      size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    enum channel_msg_type type;
    uint8_t tag[CHANNEL_TAG_SIZE];
    if (channel_peek(in, len, SESSION_VERSION, &type, tag) != ERR_OK) {
        diag_warn("SYNC-GARBAGE", "a message that is not a channel message (%zu bytes) dropped",
                  len);
        return ERR_OK;
    }
    if (type == CHANNEL_MSG_HELLO) {
        return session_handshake(s, in, len, out, out_len);
    }
    struct session_slot *sl = type == CHANNEL_MSG_TRANSPORT ? session_slot_for_tag(s, tag) : NULL;
    if (sl == NULL) {
        diag_debug("SYNC-UNKNOWN", "a message for no open session dropped");
        return ERR_OK;
    }
    uint8_t *plain = malloc(CHANNEL_PLAINTEXT_SIZE_MAX);
    if (plain == NULL) {
        return ERR_NOMEM;
    }
    size_t plen = 0;
    uint64_t counter = 0;
    err_code rc =
        channel_open(&sl->ch, in, len, plain, CHANNEL_PLAINTEXT_SIZE_MAX, &plen, &counter);
    sl->last_ms = hlc_wall_ms();
    if (rc == ERR_AGAIN && sl->reply != NULL) {
        free(plain);
        *out = malloc(sl->reply_len);
        if (*out == NULL) {
            return ERR_NOMEM;
        }
        memcpy(*out, sl->reply, sl->reply_len);
        *out_len = sl->reply_len;
        return ERR_OK;
    }
    if (rc != ERR_OK) {
        free(plain);
        diag_warn("SYNC-CHANNEL", "a transport message refused: %s", err_str(rc));
        return ERR_OK;
    }
    Cdht__Sync__Request *q = NULL;
    const char *why = NULL;
    struct session_reply rp;
    memset(&rp, 0, sizeof rp);
    cdht__sync__reply__init(&rp.m);
    rp.m.has_version = rp.m.has_id = 1;
    rp.m.version = WIRE_VERSION;
    rc = wire_request_decode(plain, plen, &q, &why);
    free(plain);
    if (rc != ERR_OK) {
        rp.m.id = 0;
        session_error(&rp, rc, why ? why : "malformed request");
        rc = ERR_OK;
    } else {
        rp.m.id = q->id;
        rc = session_dispatch(s, sl, q, &rp);
        if (rc != ERR_OK) {
            session_reply_free(&rp);
            memset(&rp.heads, 0, sizeof rp.heads);
            cdht__sync__batch__init(&rp.batch);
            session_error(&rp, rc, "the callee failed to answer (see its log)");
            rc = ERR_OK;
        }
    }
    uint8_t *enc = NULL;
    size_t enc_len = 0;
    rc = wire_reply_encode(&rp.m, &enc, &enc_len, &why);
    session_reply_free(&rp);
    wire_request_free(q);
    if (rc != ERR_OK) {
        diag_warn("SYNC-REPLY", "a reply could not be encoded: %s", why ? why : err_str(rc));
        return rc;
    }
    size_t cap = enc_len + CHANNEL_TRANSPORT_OVERHEAD;
    uint8_t *sealed = malloc(cap);
    if (sealed == NULL) {
        free(enc);
        return ERR_NOMEM;
    }
    rc = channel_seal(&sl->ch, enc, enc_len, sealed, cap, out_len);
    free(enc);
    if (rc != ERR_OK) {
        free(sealed);
        return rc;
    }
    s->cached -= sl->reply_len;
    free(sl->reply);
    sl->reply = NULL;
    sl->reply_len = 0;
    if (s->cached + *out_len <= SESSION_REPLY_CACHE_MAX && (sl->reply = malloc(*out_len)) != NULL) {
        memcpy(sl->reply, sealed, *out_len);
        sl->reply_len = *out_len;
        s->cached += *out_len;
    }
    sl->bytes_in += len;
    sl->bytes_out += *out_len;
    *out = sealed;
    return ERR_OK;
}

/* ---------- the caller ---------- */

/*
 * The caller is a state machine driven by the replies, so that it runs in any libuv loop:
 * `cdht sync` runs it in a loop of its own until it ends, `cdht serve` in its main loop beside
 * the listener (its upstreams), without a thread and without blocking the answers it gives.
 * One request is outstanding at a time; each reply decides the next request.
 */
enum session_phase {
    PHASE_HANDSHAKE = 1, /* waiting for the handshake's second message */
    PHASE_HELLO,         /* waiting for the hello reply */
    PHASE_HEADS,         /* paging through the callee's heads, before the transfers */
    PHASE_PULL,          /* pulling log peer[i] */
    PHASE_PUSH,          /* pushing log mine[i] */
    PHASE_CHECK,         /* paging through the callee's heads again, to check */
    PHASE_COSIGN,        /* asking the callee to co-sign the logs pushed to it */
    PHASE_DONE,          /* waiting for the done reply */
    PHASE_ENDED,
};

struct session_call {
    uv_loop_t *loop;
    uv_timer_t deadline;
    uint64_t deadline_at; /* the loop's time (uv_now) when the whole session must have ended */
    uint64_t handshake_ms; /* the handshake's own bound */
    char url[TRANSPORT_URL_SIZE_MAX + 1];
    uint8_t peer_pk[KEY_PUBLIC_SIZE];
    uint8_t (*pushed)[KEY_PUBLIC_SIZE]; /* the logs pushed, in key order (mine is), for COSIGN */
    /* Above the raw-data ceiling (node/scope.h), the callee's scope as this replica sees it: the
     * logs it would not keep are not pushed at all, so no person-level record crosses the link
     * upward only to be dropped there. NULL when no ceiling applies to the callee. */
    struct scope *peer_scope;
    size_t npushed, cap_pushed, cosign_next;
    int heads_known; /* peer[] is a whole list of the callee's heads (for peer_head) */
    struct transport *t;
    struct replica *r;
    int hold; /* take the write lock around each write (the replica is shared) */
    enum session_phase phase;
    struct channel ch;
    uint64_t next_id;
    char net[REPLICA_META_SIZE_MAX];
    char unit[REPLICA_META_SIZE_MAX];
    struct heads_entry *peer, *mine; /* the callee's heads (paged in), this replica's */
    size_t npeer, cap_peer, nmine;
    uint8_t after[KEY_PUBLIC_SIZE];
    int has_after;
    unsigned pages;
    size_t i;          /* the log being pulled (index in peer) or pushed (index in mine) */
    unsigned rounds;   /* requests for that log so far */
    int log_open;      /* the log at i is being moved */
    int finished;      /* the done reply came: end with success once the lock is let go */
    uint64_t theirs;   /* push: what the callee holds of mine[i] */
    struct session_report rep;
    session_done_fn done;
    void *ctx;
};

static void session_call_free_cb(uv_handle_t *h);

/* What the callee at url held of each log it showed (the whole list), for `cdht status`. */
static err_code
session_heads_record(struct replica *r, const char *url, const struct heads_entry *h, size_t n)
{
    err_code rc = store_begin(r->st);
    if (rc != ERR_OK) {
        return rc;
    }
    sqlite3_stmt *del = store_stmt(r->st, "DELETE FROM peer_head WHERE peer = ?1");
    sqlite3_stmt *ins =
        store_stmt(r->st, "INSERT INTO peer_head(peer, log_key, size) VALUES(?1, ?2, ?3)");
    if (del == NULL || ins == NULL) {
        store_rollback(r->st);
        return ERR_DB;
    }
    sqlite3_bind_text(del, 1, url, -1, SQLITE_STATIC);
    int src = sqlite3_step(del);
    sqlite3_reset(del);
    for (size_t i = 0; i < n && src == SQLITE_DONE; i++) {
        sqlite3_bind_text(ins, 1, url, -1, SQLITE_STATIC);
        sqlite3_bind_blob(ins, 2, h[i].key, KEY_PUBLIC_SIZE, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 3, (sqlite3_int64)h[i].size);
        src = sqlite3_step(ins);
        sqlite3_reset(ins);
    }
    sqlite3_clear_bindings(del);
    sqlite3_clear_bindings(ins);
    if (src != SQLITE_DONE) {
        store_rollback(r->st);
        return ERR_DB;
    }
    return store_commit(r->st);
}

/* Ends the call once: tells the owner, then closes the socket and the timer (the call is freed
 * when the loop has closed them). */
static void
session_end(struct session_call *c, err_code rc)
{
    if (c->phase == PHASE_ENDED) {
        return;
    }
    c->phase = PHASE_ENDED;
    if (rc != ERR_OK && c->rep.msg[0] == '\0') {
        snprintf(c->rep.msg, sizeof c->rep.msg, "%s", err_str(rc));
    }
    if (c->heads_known) {
        err_code hr = c->hold ? replica_hold(c->r, 1) : ERR_OK;
        if (hr == ERR_OK) {
            hr = session_heads_record(c->r, c->url, c->peer, c->npeer);
            if (c->hold && replica_hold(c->r, 0) != ERR_OK) {
                hr = ERR_IO;
            }
        }
        if (hr != ERR_OK) {
            diag_warn("SYNC-RECORD", "the peer's heads could not be recorded: %s", err_str(hr));
        }
    }
    channel_wipe(&c->ch);
    transport_close(c->t);
    c->t = NULL;
    uv_timer_stop(&c->deadline);
    if (c->done != NULL) {
        c->done(c->ctx, rc, &c->rep);
    }
    uv_close((uv_handle_t *)&c->deadline, session_call_free_cb);
}

static void
session_call_free_cb(uv_handle_t *h)
{
    struct session_call *c = h->data;
    free(c->peer);
    free(c->mine);
    free(c->pushed);
    free(c->peer_scope);
    free(c);
}

static void
session_on_deadline(uv_timer_t *t)
{
    struct session_call *c = t->data;
    if (c->phase == PHASE_HANDSHAKE) {
        snprintf(c->rep.msg, sizeof c->rep.msg,
                 "timed out: no answer to the handshake in %.1f s (the peer is down or "
                 "unreachable)",
                 (double)c->handshake_ms / 1000.0);
    } else {
        snprintf(c->rep.msg, sizeof c->rep.msg, "timed out: the callee did not answer in time");
    }
    session_end(c, ERR_AGAIN);
}

void
session_call_cancel(struct session_call *c)
{
    if (c != NULL && c->phase != PHASE_ENDED) {
        snprintf(c->rep.msg, sizeof c->rep.msg, "cancelled: the node is stopping");
        session_end(c, ERR_AGAIN);
    }
}

/* Sends one message (a reply will drive the next step). */
static err_code
session_send(struct session_call *c, const uint8_t *msg, size_t len)
{
    err_code rc = transport_send(c->t, msg, len);
    if (rc != ERR_OK) {
        snprintf(c->rep.msg, sizeof c->rep.msg, "a request could not be sent: %s", err_str(rc));
        return rc;
    }
    c->rep.bytes_sent += len;
    c->rep.requests++;
    return ERR_OK;
}

/* Encodes, seals and sends one request. */
static err_code
session_request(struct session_call *c, Cdht__Sync__Request *q)
{
    q->has_version = q->has_id = 1;
    q->version = WIRE_VERSION;
    q->id = ++c->next_id;
    uint8_t *enc = NULL;
    size_t enc_len = 0;
    const char *why = NULL;
    err_code rc = wire_request_encode(q, &enc, &enc_len, &why);
    if (rc != ERR_OK) {
        snprintf(c->rep.msg, sizeof c->rep.msg, "a request could not be encoded: %s",
                 why ? why : err_str(rc));
        return rc;
    }
    size_t cap = enc_len + CHANNEL_TRANSPORT_OVERHEAD, sealed_len = 0;
    uint8_t *sealed = malloc(cap);
    if (sealed == NULL) {
        free(enc);
        return ERR_NOMEM;
    }
    rc = channel_seal(&c->ch, enc, enc_len, sealed, cap, &sealed_len);
    free(enc);
    if (rc == ERR_OK) {
        rc = session_send(c, sealed, sealed_len);
    }
    free(sealed);
    return rc;
}

/* Opens and decodes the reply to the outstanding request; *out for wire_reply_free. */
static err_code
session_open_reply(struct session_call *c, const uint8_t *buf, size_t len,
                   Cdht__Sync__Reply **out)
{
    *out = NULL;
    if (len == 0) {
        snprintf(c->rep.msg, sizeof c->rep.msg, "the callee dropped the session");
        return ERR_CLOSED;
    }
    uint8_t *plain = malloc(CHANNEL_PLAINTEXT_SIZE_MAX);
    size_t plen = 0;
    uint64_t counter = 0;
    const char *why = NULL;
    if (plain == NULL) {
        return ERR_NOMEM;
    }
    err_code rc =
        channel_open(&c->ch, buf, len, plain, CHANNEL_PLAINTEXT_SIZE_MAX, &plen, &counter);
    if (rc == ERR_OK) {
        rc = wire_reply_decode(plain, plen, out, &why);
        if (rc != ERR_OK) {
            snprintf(c->rep.msg, sizeof c->rep.msg, "a malformed reply: %s",
                     why ? why : err_str(rc));
        }
    } else {
        snprintf(c->rep.msg, sizeof c->rep.msg, "a reply failed the channel: %s", err_str(rc));
    }
    free(plain);
    if (rc != ERR_OK) {
        return rc;
    }
    if ((*out)->body_case == CDHT__SYNC__REPLY__BODY_ERROR) {
        snprintf(c->rep.msg, sizeof c->rep.msg, "the callee refused: %s",
                 (*out)->error->reason ? (*out)->error->reason : "no reason");
        rc = (*out)->error->code == ERR_DENIED ? ERR_DENIED : ERR_PROTO;
    } else if ((*out)->id != c->next_id) {
        snprintf(c->rep.msg, sizeof c->rep.msg, "a reply to another request");
        rc = ERR_PROTO;
    }
    if (rc != ERR_OK) {
        wire_reply_free(*out);
        *out = NULL;
    }
    return rc;
}

/* Asks for the callee's next page of heads. */
static err_code
session_heads_next(struct session_call *c)
{
    if (++c->pages > SESSION_ROUNDS_MAX) {
        snprintf(c->rep.msg, sizeof c->rep.msg, "the callee's heads do not end");
        return ERR_MSGSIZE;
    }
    Cdht__Sync__Request q = CDHT__SYNC__REQUEST__INIT;
    Cdht__Sync__HeadsRequest hq = CDHT__SYNC__HEADS_REQUEST__INIT;
    hq.has_heads_end = 1;
    hq.heads_end = 1;
    if (c->has_after) {
        hq.has_after = 1;
        hq.after.data = c->after;
        hq.after.len = KEY_PUBLIC_SIZE;
    }
    q.body_case = CDHT__SYNC__REQUEST__BODY_HEADS;
    q.heads = &hq;
    return session_request(c, &q);
}

/* Starts paging through the callee's heads from the first. */
static err_code
session_heads_begin(struct session_call *c, enum session_phase phase)
{
    c->phase = phase;
    c->heads_known = 0;
    c->npeer = 0;
    c->has_after = 0;
    c->pages = 0;
    return session_heads_next(c);
}

/* Takes one page of heads; *end when the callee has no more. */
static err_code
session_heads_take(struct session_call *c, const Cdht__Sync__Reply *r, int *end)
{
    if (r->body_case != CDHT__SYNC__REPLY__BODY_HEADS) {
        snprintf(c->rep.msg, sizeof c->rep.msg, "a heads request got another reply");
        return ERR_PROTO;
    }
    for (size_t i = 0; i < r->heads->n_heads; i++) {
        const Cdht__Sync__LogHead *h = r->heads->heads[i];
        err_code rc = heads_append(&c->peer, &c->npeer, &c->cap_peer, h->key.data, h->size,
                                   h->root.data);
        if (rc != ERR_OK) {
            return rc;
        }
        memcpy(c->after, h->key.data, KEY_PUBLIC_SIZE);
        c->has_after = 1;
    }
    *end = r->heads->heads_end || r->heads->n_heads == 0;
    return ERR_OK;
}

/* Log key in a heads list sorted by key (binary search), or NULL. */
static const struct heads_entry *
session_find(const struct heads_entry *e, size_t n, const uint8_t key[KEY_PUBLIC_SIZE])
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = memcmp(e[mid].key, key, KEY_PUBLIC_SIZE);
        if (cmp == 0) {
            return &e[mid];
        }
        if (cmp < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

/* The size of log key in a sorted heads list; *found says whether it is there. */
static uint64_t
session_size_of(const struct heads_entry *e, size_t n, const uint8_t key[KEY_PUBLIC_SIZE],
                int *found)
{
    const struct heads_entry *h = session_find(e, n, key);
    *found = h != NULL;
    return h != NULL ? h->size : 0;
}

static err_code session_on_checked(struct session_call *c, int refresh);

/* When a raw-data ceiling is set and the callee's scope (as this replica knows its grants) lies
 * above it, keeps that scope so that the push leaves out the logs the callee would not keep. */
static err_code
session_peer_ceiling(struct session_call *c)
{
    char kind[SCOPE_KIND_BUF];
    err_code rc = scope_ceiling(c->r->st, kind);
    if (rc != ERR_OK || kind[0] == '\0') {
        return rc;
    }
    struct scope *sc = malloc(sizeof *sc);
    if (sc == NULL) {
        return ERR_NOMEM;
    }
    rc = scope_from_key(c->r->st, c->peer_pk, sc);
    if (rc == ERR_OK && scope_above_ceiling(sc)) {
        c->peer_scope = sc;
        return ERR_OK;
    }
    free(sc);
    /* Not above, or its grants are not known here: the callee's own import decides. */
    return rc == ERR_NOTFOUND || rc == ERR_INVAL || rc == ERR_MSGSIZE || rc == ERR_OK ? ERR_OK : rc;
}

/* Moves on to the next log of the current phase. */
static void
session_next_log(struct session_call *c)
{
    c->i++;
    c->rounds = 0;
    c->log_open = 0;
}

/* Sends the next request of the transfers (pulls, then pushes, then the check), skipping the
 * logs that are already equal. */
static err_code
session_step(struct session_call *c)
{
    for (;;) {
        if (c->phase == PHASE_PULL) {
            if (c->i >= c->npeer) {
                c->phase = PHASE_PUSH;
                c->i = 0;
                c->rounds = 0;
                c->log_open = 0;
                continue;
            }
            const uint8_t *key = c->peer[c->i].key;
            int found = 0;
            uint64_t have = session_size_of(c->mine, c->nmine, key, &found);
            /* This replica's heads as the session began: a log only grows, so one already as
             * long as the callee's is skipped without a read (a no-op sync of 1,000 logs
             * reads no log). One being pulled is read for its size now. */
            if (have >= c->peer[c->i].size) {
                session_next_log(c);
                continue;
            }
            struct log_head h;
            err_code rc = log_get(c->r->st, key, &h);
            if (rc != ERR_OK && rc != ERR_NOTFOUND) {
                return rc;
            }
            have = rc == ERR_OK ? h.size : 0;
            if (have >= c->peer[c->i].size) {
                session_next_log(c);
                continue;
            }
            if (c->rounds++ >= SESSION_ROUNDS_MAX) {
                snprintf(c->rep.msg, sizeof c->rep.msg, "a log needs more rounds than allowed");
                return ERR_MSGSIZE;
            }
            if (!c->log_open) {
                c->log_open = 1;
                c->rep.logs++;
            }
            Cdht__Sync__Request q = CDHT__SYNC__REQUEST__INIT;
            Cdht__Sync__PullRequest pq = CDHT__SYNC__PULL_REQUEST__INIT;
            Cdht__Sync__LogRange lr = CDHT__SYNC__LOG_RANGE__INIT;
            Cdht__Sync__LogRange *lrp = &lr;
            lr.has_key = lr.has_from = lr.has_max_leaves = 1;
            lr.key.data = (uint8_t *)key;
            lr.key.len = KEY_PUBLIC_SIZE;
            lr.from = have;
            lr.max_leaves = SYNC_BATCH_LEAVES_DEFAULT;
            pq.logs = &lrp;
            pq.n_logs = 1;
            q.body_case = CDHT__SYNC__REQUEST__BODY_PULL;
            q.pull = &pq;
            return session_request(c, &q);
        }
        if (c->phase == PHASE_PUSH) {
            if (c->i >= c->nmine) {
                if (c->rep.pulled == 0 && c->rep.pushed == 0 && c->rep.refused == 0) {
                    /* Nothing moved: both lists of heads are still current, so the check
                     * needs no second round of heads (a no-op sync is one round). */
                    return session_on_checked(c, 0);
                }
                return session_heads_begin(c, PHASE_CHECK);
            }
            const struct heads_entry *m = &c->mine[c->i];
            if (!c->log_open) {
                int found = 0, yes = 1;
                c->theirs = session_size_of(c->peer, c->npeer, m->key, &found);
                if (m->size <= c->theirs) {
                    session_next_log(c);
                    continue;
                }
                if (c->peer_scope != NULL) {
                    err_code src = scope_log_allowed(c->r->st, c->peer_scope, m->key, &yes);
                    if (src != ERR_OK) {
                        return src;
                    }
                    if (!yes) {
                        session_next_log(c); /* above the ceiling there: not sent */
                        continue;
                    }
                }
                c->log_open = 1;
                c->rep.logs++;
            }
            if (c->theirs >= m->size) {
                session_next_log(c);
                continue;
            }
            if (c->rounds++ >= SESSION_ROUNDS_MAX) {
                snprintf(c->rep.msg, sizeof c->rep.msg, "a log needs more rounds than allowed");
                return ERR_MSGSIZE;
            }
            Cdht__Sync__Batch b = CDHT__SYNC__BATCH__INIT;
            err_code rc = sync_batch_build(c->r, m->key, c->theirs, 0, &b);
            if (rc == ERR_AGAIN) {
                session_next_log(c); /* past the checkpoint held: nothing signed to give */
                continue;
            }
            if (rc != ERR_OK) {
                return rc;
            }
            Cdht__Sync__Request q = CDHT__SYNC__REQUEST__INIT;
            Cdht__Sync__PushRequest pq = CDHT__SYNC__PUSH_REQUEST__INIT;
            Cdht__Sync__Batch *bp = &b;
            pq.batches = &bp;
            pq.n_batches = 1;
            q.body_case = CDHT__SYNC__REQUEST__BODY_PUSH;
            q.push = &pq;
            rc = session_request(c, &q);
            sync_batch_clear(&b);
            return rc;
        }
        return ERR_PROTO; /* not reached: only the transfer phases step */
    }
}

/* A batch refused for what it holds (another history, altered or unverifiable leaves), as
 * opposed to a failure of this machine: the log is skipped and the session goes on. */
static int
session_refusal(err_code rc)
{
    return rc == ERR_FORK || rc == ERR_AUTH || rc == ERR_CORRUPT || rc == ERR_PROTO;
}

static void
session_refused(struct session_call *c, const uint8_t key[KEY_PUBLIC_SIZE], err_code rc,
                const char *where, const char *why)
{
    char k[KEYS_B64_SIZE];
    keys_b64(key, k);
    diag_warn("SYNC-LOG-REFUSED", "log %s: a batch %s (%s): %s; the other logs go on", k, where,
              err_str(rc), why ? why : err_str(rc));
    if (c->rep.refused++ == 0) {
        c->rep.refused_code = rc;
        snprintf(c->rep.msg, sizeof c->rep.msg, "log %s: a batch %s: %s", k, where,
                 why ? why : err_str(rc));
    }
}

static err_code
session_on_pull(struct session_call *c, const Cdht__Sync__Reply *rp)
{
    if (rp->body_case != CDHT__SYNC__REPLY__BODY_PULL || rp->pull->n_batches == 0) {
        session_next_log(c); /* nothing more to give (past its checkpoint, or out of scope) */
        return ERR_OK;
    }
    struct sync_apply_report ar;
    const char *why = NULL;
    err_code rc = sync_batch_apply(c->r, rp->pull->batches[0], &ar, &why);
    if (session_refusal(rc)) {
        session_refused(c, c->peer[c->i].key, rc, "refused here", why);
        session_next_log(c);
        return ERR_OK;
    }
    if (rc != ERR_OK) {
        snprintf(c->rep.msg, sizeof c->rep.msg, "a pulled batch could not be applied: %s",
                 why ? why : err_str(rc));
        return rc;
    }
    if (ar.out_of_scope) {
        session_next_log(c);
        return ERR_OK;
    }
    c->rep.pulled += ar.leaves;
    c->rep.held += ar.held;
    return ERR_OK;
}

static err_code
session_on_push(struct session_call *c, const Cdht__Sync__Reply *rp)
{
    if (rp->body_case != CDHT__SYNC__REPLY__BODY_PUSH || rp->push->n_acks != 1) {
        snprintf(c->rep.msg, sizeof c->rep.msg, "a push got another reply");
        return ERR_PROTO;
    }
    const Cdht__Sync__LogAck *a = rp->push->acks[0];
    uint32_t code = a->has_code ? a->code : 0;
    if (code == ERR_DENIED) {
        session_next_log(c); /* outside the callee's scope: not shared */
        return ERR_OK;
    }
    if (code != 0 && session_refusal((err_code)code)) {
        session_refused(c, c->mine[c->i].key, (err_code)code, "refused by the callee", NULL);
        session_next_log(c);
        return ERR_OK;
    }
    if (code != 0 || a->size <= c->theirs) {
        snprintf(c->rep.msg, sizeof c->rep.msg, "the callee refused a pushed batch: %s",
                 err_str((err_code)code));
        return code != 0 ? (err_code)code : ERR_PROTO;
    }
    c->rep.pushed += a->size - c->theirs;
    c->theirs = a->size;
    const uint8_t *key = c->mine[c->i].key;
    if (c->npushed == 0 || memcmp(c->pushed[c->npushed - 1], key, KEY_PUBLIC_SIZE) != 0) {
        if (c->npushed == c->cap_pushed) {
            size_t cap = c->cap_pushed ? 2 * c->cap_pushed : 16;
            uint8_t(*p)[KEY_PUBLIC_SIZE] = realloc(c->pushed, cap * sizeof *p);
            if (p == NULL) {
                return ERR_NOMEM;
            }
            c->pushed = p;
            c->cap_pushed = cap;
        }
        memcpy(c->pushed[c->npushed++], key, KEY_PUBLIC_SIZE);
    }
    return ERR_OK;
}

/* Sends the next page of the COSIGN round: the pushed logs the callee now holds at this
 * replica's checkpoint, WIRE_COSIGN_MAX at a time; *sent 0 when none is left. */
static err_code
session_cosign_next(struct session_call *c, int *sent)
{
    *sent = 0;
    Cdht__Sync__CosignItem items[WIRE_COSIGN_MAX], *itemp[WIRE_COSIGN_MAX];
    uint8_t(*notes)[NOTE_SIZE_MAX] = malloc(WIRE_COSIGN_MAX * sizeof *notes);
    if (notes == NULL) {
        return ERR_NOMEM;
    }
    size_t n = 0;
    err_code rc = ERR_OK;
    while (c->cosign_next < c->npushed && n < WIRE_COSIGN_MAX && rc == ERR_OK) {
        const uint8_t *key = c->pushed[c->cosign_next++];
        const struct heads_entry *p = session_find(c->peer, c->npeer, key);
        struct log_head h;
        size_t len = 0;
        uint64_t size = 0;
        if (p == NULL || (rc = log_get(c->r->st, key, &h)) != ERR_OK) {
            rc = rc == ERR_NOTFOUND ? ERR_OK : rc;
            continue;
        }
        if ((rc = log_checkpoint_get(c->r->st, h.id, notes[n], &len, &size)) != ERR_OK) {
            rc = rc == ERR_NOTFOUND ? ERR_OK : rc;
            continue;
        }
        if (size != p->size) {
            continue; /* the callee does not hold this checkpoint: nothing to co-sign */
        }
        cdht__sync__cosign_item__init(&items[n]);
        items[n].has_key = items[n].has_old_size = items[n].has_checkpoint = 1;
        items[n].key.data = (uint8_t *)key;
        items[n].key.len = KEY_PUBLIC_SIZE;
        items[n].old_size = 0; /* the callee checks consistency with what it co-signed itself */
        items[n].checkpoint.data = notes[n];
        items[n].checkpoint.len = len;
        itemp[n] = &items[n];
        n++;
    }
    if (rc == ERR_OK && n > 0) {
        Cdht__Sync__Request q = CDHT__SYNC__REQUEST__INIT;
        Cdht__Sync__CosignRequest cq = CDHT__SYNC__COSIGN_REQUEST__INIT;
        cq.checkpoints = itemp;
        cq.n_checkpoints = n;
        q.body_case = CDHT__SYNC__REQUEST__BODY_COSIGN;
        q.cosign = &cq;
        c->phase = PHASE_COSIGN;
        rc = session_request(c, &q);
        *sent = rc == ERR_OK;
    }
    free(notes);
    return rc;
}

/* Keeps the callee's cosignatures that verify against this replica's checkpoints. */
static err_code
session_on_cosign(struct session_call *c, const Cdht__Sync__Reply *rp)
{
    if (rp->body_case != CDHT__SYNC__REPLY__BODY_COSIGN) {
        snprintf(c->rep.msg, sizeof c->rep.msg, "a cosign request got another reply");
        return ERR_PROTO;
    }
    err_code rc = ERR_OK;
    int open = 0;
    for (size_t i = 0; i < rp->cosign->n_cosigned && rc == ERR_OK; i++) {
        const Cdht__Sync__Cosigned *e = rp->cosign->cosigned[i];
        struct log_head h;
        if (!e->has_line || log_get(c->r->st, e->key.data, &h) != ERR_OK) {
            continue; /* refused (not a witness, not held there): nothing to keep */
        }
        uint8_t note[NOTE_SIZE_MAX], root[HASH_SIZE];
        size_t len = 0;
        uint64_t size = 0;
        char name[NOTE_LOG_NAME_SIZE + 1];
        struct checkpoint cp;
        struct witness_cosig cs;
        note_log_name(e->key.data, name);
        if (log_checkpoint_get(c->r->st, h.id, note, &len, &size) != ERR_OK || size != e->size ||
            note_verify_checkpoint(note, len, name, e->key.data, &cp) != ERR_OK) {
            continue;
        }
        memcpy(root, cp.root, HASH_SIZE);
        if (witness_cosig_check(e->key.data, c->peer_pk, size, root, e->line.data, e->line.len,
                                &cs) != ERR_OK) {
            snprintf(c->rep.msg, sizeof c->rep.msg,
                     "the callee's cosignature does not verify against the checkpoint");
            rc = ERR_AUTH;
            break;
        }
        cs.log_id = h.id;
        if (!open && (rc = store_begin(c->r->st)) != ERR_OK) {
            break;
        }
        open = 1;
        if ((rc = witness_cosig_put(c->r->st, &cs)) == ERR_OK) {
            c->rep.cosigs++;
        }
    }
    if (open) {
        if (rc == ERR_OK) {
            rc = store_commit(c->r->st);
        } else {
            store_rollback(c->r->st);
        }
    }
    return rc;
}

/* The done request: the last of the session. */
static err_code
session_send_done(struct session_call *c)
{
    c->phase = PHASE_DONE;
    Cdht__Sync__Request q = CDHT__SYNC__REQUEST__INIT;
    Cdht__Sync__DoneRequest dd = CDHT__SYNC__DONE_REQUEST__INIT;
    q.body_case = CDHT__SYNC__REQUEST__BODY_DONE;
    q.done = &dd;
    return session_request(c, &q);
}

/* The check after the transfers: every log the callee shows this device is equal here, unless
 * this replica's scope keeps it out (then it holds none of it). */
static err_code
session_on_checked(struct session_call *c, int refresh)
{
    err_code rc = ERR_OK;
    if (refresh) {
        free(c->mine);
        c->mine = NULL;
        if ((rc = exchange_heads(c->r, &c->mine, &c->nmine)) != ERR_OK) {
            return rc;
        }
    }
    for (size_t i = 0; i < c->npeer; i++) {
        const struct heads_entry *m = session_find(c->mine, c->nmine, c->peer[i].key);
        if (m != NULL && m->size != c->peer[i].size) {
            c->rep.behind++;
        } else if (m != NULL && m->size > 0 && sodium_memcmp(m->root, c->peer[i].root, HASH_SIZE) != 0) {
            /* Equal sizes, different roots: the log's device signed two histories (a laptop
             * restored from an old copy), or one side holds altered leaves. Never "equal". */
            session_refused(c, m->key, ERR_FORK, "differs from the callee's at the same size",
                            "two histories of one log");
        }
    }
    int sent = 0;
    c->cosign_next = 0;
    rc = session_cosign_next(c, &sent);
    return rc != ERR_OK || sent ? rc : session_send_done(c);
}

static err_code
session_send_hello(struct session_call *c)
{
    c->phase = PHASE_HELLO;
    Cdht__Sync__Request q = CDHT__SYNC__REQUEST__INIT;
    Cdht__Sync__Hello hq = CDHT__SYNC__HELLO__INIT;
    hq.has_key = hq.has_version_max = 1;
    hq.key.data = c->r->pk;
    hq.key.len = KEY_PUBLIC_SIZE;
    hq.network = c->net;
    hq.version_max = WIRE_VERSION;
    /* The scope asked for: the unit this device was set up for (the callee decides what it
     * shares by the device's certificates). */
    char *units[1] = {c->unit};
    hq.units = units;
    hq.n_units = 1;
    q.body_case = CDHT__SYNC__REQUEST__BODY_HELLO;
    q.hello = &hq;
    return session_request(c, &q);
}

/* One reply: it ends the step it answers and starts the next. */
static err_code
session_advance(struct session_call *c, const uint8_t *buf, size_t len)
{
    if (c->phase == PHASE_HANDSHAKE) {
        if (len == 0) {
            snprintf(c->rep.msg, sizeof c->rep.msg,
                     "the callee refused this device (not certified there, or revoked)");
            return ERR_DENIED;
        }
        uint64_t now = uv_now(c->loop);
        uv_timer_start(&c->deadline, session_on_deadline,
                       c->deadline_at > now ? c->deadline_at - now : 1, 0);
        size_t plen = 0;
        if (channel_finish(&c->ch, buf, len, NULL, 0, &plen) != ERR_OK) {
            snprintf(c->rep.msg, sizeof c->rep.msg,
                     "the handshake failed: not the expected callee key, or another network");
            return ERR_AUTH;
        }
        return session_send_hello(c);
    }
    Cdht__Sync__Reply *rp = NULL;
    err_code rc = session_open_reply(c, buf, len, &rp);
    if (rc != ERR_OK) {
        return rc;
    }
    int end = 0;
    switch (c->phase) {
    case PHASE_HELLO: rc = session_heads_begin(c, PHASE_HEADS); break;
    case PHASE_HEADS:
    case PHASE_CHECK:
        if ((rc = session_heads_take(c, rp, &end)) != ERR_OK) {
            break;
        }
        c->heads_known = end;
        if (!end) {
            rc = session_heads_next(c);
        } else if (c->phase == PHASE_CHECK) {
            rc = session_on_checked(c, 1);
        } else if ((rc = exchange_heads(c->r, &c->mine, &c->nmine)) == ERR_OK &&
                   (rc = session_peer_ceiling(c)) == ERR_OK) {
            c->phase = PHASE_PULL;
            c->i = 0;
            c->rounds = 0;
            c->log_open = 0;
            rc = session_step(c);
        }
        break;
    case PHASE_PULL:
        if ((rc = session_on_pull(c, rp)) == ERR_OK) {
            rc = session_step(c);
        }
        break;
    case PHASE_PUSH:
        if ((rc = session_on_push(c, rp)) == ERR_OK) {
            rc = session_step(c);
        }
        break;
    case PHASE_COSIGN: {
        int sent = 0;
        if ((rc = session_on_cosign(c, rp)) == ERR_OK &&
            (rc = session_cosign_next(c, &sent)) == ERR_OK && !sent) {
            rc = session_send_done(c);
        }
        break;
    }
    case PHASE_DONE:
        wire_reply_free(rp);
        if (c->rep.refused > 0) {
            /* rep.msg names the first refused log already. */
            if (c->rep.refused > 1) {
                size_t n = strlen(c->rep.msg);
                snprintf(c->rep.msg + n, sizeof c->rep.msg - n, " (and %llu more logs)",
                         (unsigned long long)(c->rep.refused - 1));
            }
            return c->rep.refused_code;
        }
        if (c->rep.behind > 0) {
            snprintf(c->rep.msg, sizeof c->rep.msg, "%llu logs still differ after the sync",
                     (unsigned long long)c->rep.behind);
            return ERR_AGAIN;
        }
        c->finished = 1;
        return ERR_OK;
    default: rc = ERR_PROTO; break;
    }
    wire_reply_free(rp);
    return rc;
}

static void
session_on_reply(void *ctx, struct transport *t, const void *buf, size_t len)
{
    struct session_call *c = ctx;
    (void)t;
    if (c->phase == PHASE_ENDED) {
        return;
    }
    c->rep.bytes_received += len;
    /* A shared replica (serve's, or `cdht sync` beside a running serve) is written under the
     * write lock, taken for one reply's work at a time: the other side of the replica (the
     * listener, the operator's commands) goes on between replies. */
    err_code rc = c->hold ? replica_hold(c->r, 1) : ERR_OK;
    if (rc == ERR_OK) {
        rc = session_advance(c, buf, len);
        if (c->hold && replica_hold(c->r, 0) != ERR_OK && rc == ERR_OK) {
            rc = ERR_IO;
        }
    } else {
        snprintf(c->rep.msg, sizeof c->rep.msg,
                 "the replica's write lock is held by another cdht process");
    }
    if (rc != ERR_OK || c->finished) {
        session_end(c, rc);
    }
}

err_code
session_call_start(uv_loop_t *loop, struct replica *r, const char *url,
                   const uint8_t peer_pk[KEY_PUBLIC_SIZE], int64_t timeout_ms, int hold,
                   session_done_fn done, void *ctx, struct session_call **out)
{
    if (out != NULL) {
        *out = NULL;
    }
    struct session_call *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return ERR_NOMEM;
    }
    c->loop = loop;
    c->r = r;
    c->hold = hold;
    c->done = done;
    c->ctx = ctx;
    c->phase = PHASE_HANDSHAKE;
    snprintf(c->url, sizeof c->url, "%s", url);
    memcpy(c->peer_pk, peer_pk, KEY_PUBLIC_SIZE);
    err_code rc = replica_meta(r, "network", c->net);
    if (rc == ERR_OK) {
        rc = replica_meta(r, "unit", c->unit);
    }
    if (rc != ERR_OK) {
        free(c);
        return rc;
    }
    const char *why = NULL;
    if ((rc = transport_open(&c->t, loop, TRANSPORT_DIAL, url, session_on_reply, c, &why)) !=
        ERR_OK) {
        snprintf(c->rep.msg, sizeof c->rep.msg, "cannot dial %s: %s", url,
                 why ? why : err_str(rc));
        /* Reported through done like every other end, so the owner has one path. */
    }
    uv_timer_init(loop, &c->deadline);
    c->deadline.data = c;
    if (out != NULL) {
        *out = c;
    }
    if (rc != ERR_OK) {
        session_end(c, rc);
        return ERR_OK;
    }
    /* The whole session is bounded by timeout_ms; its handshake by a shorter bound, so that a
     * peer that is down fails fast instead of taking the whole session's time. */
    uint64_t whole = (uint64_t)(timeout_ms > 0 ? timeout_ms : SESSION_TIMEOUT_MS_DEFAULT);
    c->deadline_at = uv_now(loop) + whole;
    c->handshake_ms = whole < SESSION_HANDSHAKE_TIMEOUT_MS ? whole : SESSION_HANDSHAKE_TIMEOUT_MS;
    uv_timer_start(&c->deadline, session_on_deadline, c->handshake_ms, 0);
    /* The handshake's first message. */
    uint8_t hello[CHANNEL_HELLO_SIZE(0)];
    size_t hello_len = 0;
    if ((rc = channel_init(&c->ch, r->keys.sk, c->net, SESSION_VERSION)) != ERR_OK ||
        (rc = channel_initiate(&c->ch, peer_pk, NULL, 0, hello, sizeof hello, &hello_len)) !=
            ERR_OK ||
        (rc = session_send(c, hello, hello_len)) != ERR_OK) {
        session_end(c, rc);
    }
    return ERR_OK;
}

/* ---------- the blocking form, for `cdht sync` ---------- */

struct session_wait {
    err_code rc;
    int ended;
    struct session_report *rep;
};

static void
session_wait_done(void *ctx, err_code rc, const struct session_report *rep)
{
    struct session_wait *w = ctx;
    w->rc = rc;
    w->ended = 1;
    *w->rep = *rep;
}

err_code
session_sync_shared(struct replica *r, const char *url, const uint8_t peer_pk[KEY_PUBLIC_SIZE],
                    int64_t timeout_ms, int hold, struct session_report *rep)
{
    memset(rep, 0, sizeof *rep);
    uv_loop_t loop;
    if (uv_loop_init(&loop) != 0) {
        return ERR_IO;
    }
    struct session_wait w = {.rc = ERR_OK, .rep = rep};
    err_code rc = session_call_start(&loop, r, url, peer_pk, timeout_ms, hold,
                                     session_wait_done, &w, NULL);
    if (rc == ERR_OK) {
        uv_run(&loop, UV_RUN_DEFAULT);
        rc = w.ended ? w.rc : ERR_IO;
    }
    (void)uv_loop_close(&loop);
    return rc;
}

err_code
session_sync(struct replica *r, const char *url, const uint8_t peer_pk[KEY_PUBLIC_SIZE],
             int64_t timeout_ms, struct session_report *rep)
{
    return session_sync_shared(r, url, peer_pk, timeout_ms, 0, rep);
}

/* ---------- per-peer status ---------- */

#define SESSION_PEER_VALUE_MAX 512u

static int
session_peer_parse(const char *url, const char *v, struct session_peer *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->url, sizeof p->url, "%s", url);
    long long a = 0, s = 0;
    unsigned long long bs = 0, br = 0, pu = 0, ps = 0, he = 0;
    int res = 0, off = 0;
    if (sscanf(v, "%lld %lld %d %llu %llu %llu %llu %llu|%n", &a, &s, &res, &bs, &br, &pu, &ps, &he,
               &off) != 8 ||
        off <= 0) {
        return 0;
    }
    p->attempt_ms = a;
    p->success_ms = s;
    p->result = res;
    p->bytes_sent = bs;
    p->bytes_received = br;
    p->pulled = pu;
    p->pushed = ps;
    p->held = he;
    snprintf(p->msg, sizeof p->msg, "%s", v + off);
    return 1;
}

err_code
session_record(struct replica *r, const char *url, err_code rc, const struct session_report *rep)
{
    char key[sizeof SESSION_PEER_META_PREFIX + TRANSPORT_URL_SIZE_MAX];
    char old[SESSION_PEER_VALUE_MAX + 1], val[SESSION_PEER_VALUE_MAX];
    snprintf(key, sizeof key, "%s%s", SESSION_PEER_META_PREFIX, url);
    size_t n = 0;
    struct session_peer prev = {0};
    err_code e = store_meta_get(r->st, key, old, SESSION_PEER_VALUE_MAX, &n);
    if (e == ERR_OK) {
        old[n] = '\0';
        session_peer_parse(url, old, &prev);
    } else if (e != ERR_NOTFOUND) {
        return e;
    }
    int64_t now = hlc_wall_ms();
    int len = snprintf(val, sizeof val, "%lld %lld %d %llu %llu %llu %llu %llu|%s", (long long)now,
                       (long long)(rc == ERR_OK ? now : prev.success_ms), (int)rc,
                       (unsigned long long)rep->bytes_sent, (unsigned long long)rep->bytes_received,
                       (unsigned long long)rep->pulled, (unsigned long long)rep->pushed,
                       (unsigned long long)rep->held, rc == ERR_OK ? "" : rep->msg);
    if (len < 0 || (size_t)len >= sizeof val) {
        len = (int)sizeof val - 1;
    }
    if ((e = store_begin(r->st)) != ERR_OK) {
        return e;
    }
    if ((e = store_meta_put(r->st, key, val, (size_t)len)) != ERR_OK) {
        store_rollback(r->st);
        return e;
    }
    return store_commit(r->st);
}

err_code
session_peers(struct replica *r, session_peer_fn fn, void *ctx)
{
    sqlite3_stmt *q = NULL;
    int src = sqlite3_prepare_v2(r->st->db,
                                 "SELECT key, value FROM meta WHERE key >= 'peer/' AND key < "
                                 "'peer0' ORDER BY key",
                                 -1, &q, NULL);
    if (src != SQLITE_OK) {
        return store_err(r->st, src, "peers");
    }
    err_code rc = ERR_OK;
    while (rc == ERR_OK && sqlite3_step(q) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(q, 0);
        char v[SESSION_PEER_VALUE_MAX + 1];
        int n = sqlite3_column_bytes(q, 1);
        if (n < 0 || (size_t)n > SESSION_PEER_VALUE_MAX) {
            continue;
        }
        memcpy(v, sqlite3_column_blob(q, 1), (size_t)n);
        v[n] = '\0';
        struct session_peer p;
        if (session_peer_parse(k + strlen(SESSION_PEER_META_PREFIX), v, &p)) {
            rc = fn(ctx, &p);
        }
    }
    sqlite3_finalize(q);
    return rc;
}
