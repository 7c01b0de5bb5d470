/*
 * The message transport of sync (DESIGN.md section 7), behind a small interface so that another
 * scalability-protocols implementation could replace nanomsg: one REQ socket (the side that
 * dials: a branch, or a hub towards its parent) or one REP socket (the listener), watched in
 * the caller's libuv loop. nanomsg's receive notification descriptor (NN_RCVFD) is level
 * triggered: it is readable while a whole message waits, so a uv_poll_t on it and a drain with
 * NN_DONTWAIT until EAGAIN never blocks the loop. Every socket option is set explicitly (a
 * default that changes between nanomsg versions must not change cdht). Messages are opaque
 * bytes here: the secure channel (proto/channel.h) and the sync messages (proto/wire.h) sit
 * above.
 */
#ifndef CDHT_TRANSPORT_H
#define CDHT_TRANSPORT_H

#include <stddef.h>
#include <uv.h>

#include "err.h"
#include "limits.h"

/* The largest message either side accepts (NN_RCVMAXSIZE): the secure channel's largest
 * message (proto/limits.h), which holds one sync batch with its proofs; a peer that sends more
 * is cut off by nanomsg before it is buffered. */
#define TRANSPORT_MSG_SIZE_MAX CHANNEL_MSG_SIZE_MAX
/* REQ resends an unanswered request after this long (NN_REQ_RESEND_IVL): longer than the
 * slowest reply a hub gives (applying one batch), so that resends are rare; every request is
 * idempotent, so a resend is harmless. */
#define TRANSPORT_RESEND_IVL_MS 30000
/* Reconnection after a lost link: first after 100 ms, backing off to 10 s (nanomsg doubles). */
#define TRANSPORT_RECONNECT_IVL_MS 100
#define TRANSPORT_RECONNECT_IVL_MAX_MS 10000
/* Kernel socket buffers: 128 KiB each way (nanomsg's default, made explicit). */
#define TRANSPORT_SOCKET_BUF 131072
/* Longest URL accepted ("tcp://" + host + ":" + port). */
#define TRANSPORT_URL_SIZE_MAX 256u

enum transport_role {
    TRANSPORT_LISTEN = 1, /* REP: bind url, receive requests, send one reply each */
    TRANSPORT_DIAL = 2,   /* REQ: connect url, send requests, receive their replies */
};

struct transport;

/* Called in the loop for each whole message received; buf is valid only during the call. A
 * listener must answer each request with transport_send (later, from the loop, is fine) before
 * it receives the next. */
typedef void (*transport_msg_fn)(void *ctx, struct transport *t, const void *buf, size_t len);

/* Opens a socket of role on url ("tcp://127.0.0.1:7000"), watched in loop. ERR_INVAL for a URL
 * nanomsg refuses or longer than TRANSPORT_URL_SIZE_MAX; ERR_AGAIN when the address is in use.
 * *why (may be NULL) gets a static sentence on failure. */
err_code transport_open(struct transport **out, uv_loop_t *loop, enum transport_role role,
                        const char *url, transport_msg_fn on_msg, void *ctx,
                        const char **why) WARN_UNUSED;
/* Sends one message without blocking: a reply (listener) or a request (dialer; a new request
 * cancels one still unanswered). ERR_MSGSIZE above TRANSPORT_MSG_SIZE_MAX; ERR_AGAIN when the
 * socket cannot take it now (the peer is gone or slow: the caller drops the session). */
err_code transport_send(struct transport *t, const void *buf, size_t len) WARN_UNUSED;
/* Stops watching and closes the socket; the handle is freed once the loop has closed it. */
void transport_close(struct transport *t);

#endif
