/*
 * Sync sessions (issue 4, DESIGN.md section 7): the rounds joined over the secure channel
 * (proto/channel.h) and the sync messages (proto/wire.h), on the transport (transport.h).
 *
 * The callee (`cdht serve`) answers one request at a time on its REP socket: a handshake
 * message 1 opens a session in a small table (keyed by the channel's routing tag) once the
 * caller's key is admitted (under a pinned root: a device with a valid chain; in open mode:
 * anyone on the network); each later request is opened, answered, and its sealed reply kept so
 * that a resend gets the same bytes. The caller (`cdht sync`) drives: hello, heads, pulls of
 * what it lacks, pushes of what the callee lacks, heads again to check, done. Batches are built
 * and applied by node/sync.c, so every leaf passes the same checks and admission as an import;
 * the per-log heads are the cursors, so a session cut anywhere resumes on the next one.
 */
#ifndef CDHT_SESSION_H
#define CDHT_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "channel.h"
#include "config.h"
#include "err.h"
#include "limits.h"
#include "transport.h"

struct replica;

/* Sessions a callee keeps at once by default (session_server_init): a commune hub's villages
 * and schools syncing together; the oldest idle one is dropped for a new one beyond it.
 * `cdht serve` takes its [limits] peers_max instead (session_server_init_slots), at most
 * SESSION_SLOTS_LIMIT, the configuration's own bound. */
#define SESSION_SLOTS_MAX 64u
#define SESSION_SLOTS_LIMIT CONFIG_PEERS_MAX_LIMIT
/* A session unused this long is forgotten (its caller handshakes again). */
#define SESSION_IDLE_MS (120 * 1000)
/* Bytes of sealed replies a callee keeps for resends, all sessions together: a PULL reply is up
 * to a batch (1.5 MiB), so fifty sessions at once would keep 75 MiB; past the budget a reply is
 * not kept, and a resend of it gets an empty answer (the caller's sync fails and the next one
 * resumes). 16 MiB keeps the hub's memory within its target whatever the fan-in. */
#define SESSION_REPLY_CACHE_MAX (16u * 1024u * 1024u)
/* Cosignatures of one log looked through to find this witness's at one size (largest sizes
 * first: the one just made is among the first). */
#define SESSION_COSIGS_SCAN_MAX 256u
/* A caller's bound on the handshake alone: a peer that is up answers it in milliseconds, a
 * slow 3G link in a second or two; past 10 s the peer is down or unreachable, and the sync
 * fails then instead of waiting for the whole session's bound (nanomsg reconnects silently, so
 * a refused connection is never reported otherwise). */
#define SESSION_HANDSHAKE_TIMEOUT_MS 10000u
/* A caller's default bound on a whole sync (`cdht sync --timeout`). */
#define SESSION_TIMEOUT_MS_DEFAULT (60 * 1000)
/* Rounds of pulls and pushes per log in one sync: a log of 10 million leaves in batches of
 * SYNC_BATCH_LEAVES_DEFAULT; more is cut (the next sync resumes). */
#define SESSION_ROUNDS_MAX 20000u

struct session_slot;

struct session_server {
    struct replica *r;
    char network[CHANNEL_NETWORK_SIZE_MAX + 1];
    struct session_slot *slots; /* nslots of them, owned */
    unsigned nslots;
    uint64_t refused;           /* handshakes refused (unknown or revoked device) */
    size_t cached;              /* bytes of sealed replies kept (<= SESSION_REPLY_CACHE_MAX) */
};

err_code session_server_init(struct session_server *s, struct replica *r) WARN_UNUSED;
/* The same with room for slots sessions at once (1..SESSION_SLOTS_LIMIT, else ERR_INVAL). */
err_code session_server_init_slots(struct session_server *s, struct replica *r,
                                   unsigned slots) WARN_UNUSED;
void session_server_free(struct session_server *s);
/* Answers one request; *out (malloc'd, caller frees) is the reply, possibly empty (a refused
 * handshake, or bytes that are no message: the caller is dropped). */
err_code session_server_handle(struct session_server *s, const uint8_t *in, size_t len,
                               uint8_t **out, size_t *out_len) WARN_UNUSED;

struct session_report {
    uint64_t logs;           /* logs that took or gave leaves */
    uint64_t pulled, pushed; /* leaves */
    uint64_t held;           /* of the pulled ones, held in quarantine */
    uint64_t cosigs; /* the callee's cosignatures of pushed logs, verified and kept */
    uint64_t requests;
    uint64_t bytes_sent, bytes_received;
    uint64_t behind;  /* logs still unequal at the end (scope, forks, limits) */
    uint64_t refused; /* logs whose batch one side refused (a fork, altered data): skipped, so
                       * that one bad log does not stop the others from syncing */
    err_code refused_code; /* the first refusal's code */
    char msg[160];   /* on error: what was wrong, never data */
};

/* The last sync with a peer, as `cdht sync` recorded it (meta "peer/URL"): for `cdht status`. */
struct session_peer {
    char url[TRANSPORT_URL_SIZE_MAX + 1];
    int64_t attempt_ms, success_ms; /* 0: never */
    int result;                     /* err_code of the last attempt */
    uint64_t bytes_sent, bytes_received, pulled, pushed, held;
    char msg[160];
};
#define SESSION_PEER_META_PREFIX "peer/"
/* A peer that dialled this node is recorded as "from KEY" (its device key) in place of a URL. */
#define SESSION_PEER_INBOUND_PREFIX "from "
/* Records an attempt with url that ended in rc (keeps the last success's time). */
err_code session_record(struct replica *r, const char *url, err_code rc,
                        const struct session_report *rep) WARN_UNUSED;
typedef err_code (*session_peer_fn)(void *ctx, const struct session_peer *p);
/* Calls fn for every peer recorded, in URL order. */
err_code session_peers(struct replica *r, session_peer_fn fn, void *ctx) WARN_UNUSED;

/*
 * A sync as the caller, running in a libuv loop: each reply drives the next request, so a
 * node's main loop runs its upstream syncs beside its listener. done is called once, from the
 * loop (or from inside session_call_start when the dial fails at once), with the result and the
 * report; the call frees itself afterwards, so the owner forgets *out in done. Results:
 * ERR_OK when every log both sides may hold ended equal; ERR_AGAIN on timeout or cancel (never
 * "done"); ERR_DENIED when the callee refused this device; other codes with rep->msg.
 * hold: the replica is shared (opened without keeping the write lock), so the lock is taken
 * for each reply's work and let go in between. The result is not recorded: session_record.
 */
struct session_call;
typedef void (*session_done_fn)(void *ctx, err_code rc, const struct session_report *rep);
err_code session_call_start(uv_loop_t *loop, struct replica *r, const char *url,
                            const uint8_t peer_pk[KEY_PUBLIC_SIZE], int64_t timeout_ms, int hold,
                            session_done_fn done, void *ctx,
                            struct session_call **out) WARN_UNUSED;
/* Ends a call still running with ERR_AGAIN ("cancelled"); done is called before it returns. */
void session_call_cancel(struct session_call *c);

/* One whole sync with the callee at url whose device key is peer_pk, bounded by timeout_ms, in
 * a loop of its own; the results of session_call_start. session_sync is for a replica whose
 * write lock the caller keeps; session_sync_shared takes it as session_call_start's hold. */
err_code session_sync(struct replica *r, const char *url, const uint8_t peer_pk[KEY_PUBLIC_SIZE],
                      int64_t timeout_ms, struct session_report *rep) WARN_UNUSED;
err_code session_sync_shared(struct replica *r, const char *url,
                             const uint8_t peer_pk[KEY_PUBLIC_SIZE], int64_t timeout_ms, int hold,
                             struct session_report *rep) WARN_UNUSED;

#endif
