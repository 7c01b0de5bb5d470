/*
 * nanomsg REQ/REP in a libuv loop (transport.h). The REP side stops watching its descriptor
 * from a request until its reply is sent: nanomsg refuses a second receive before the reply
 * (EFSM), and a level-triggered descriptor that stayed watched would spin the loop.
 */
#include "transport.h"

#include <errno.h>
#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

struct transport {
    uv_poll_t poll;
    int sock;
    enum transport_role role;
    transport_msg_fn on_msg;
    void *ctx;
    int watching;
    int closing;
    int in_callback;
};

/* nanomsg owns the watched descriptor: the socket is closed only once libuv has let go of it. */
static void
transport_on_close(uv_handle_t *h)
{
    struct transport *t = h->data;
    nn_close(t->sock);
    free(t);
}

static void transport_watch(struct transport *t, int on);

static void
transport_on_poll(uv_poll_t *h, int status, int events)
{
    struct transport *t = h->data;
    (void)events;
    if (status < 0) {
        diag_warn("TRANSPORT-POLL", "watching the socket failed: %s", uv_strerror(status));
        return;
    }
    t->in_callback = 1;
    while (!t->closing) {
        void *msg = NULL;
        int n = nn_recv(t->sock, &msg, NN_MSG, NN_DONTWAIT);
        if (n < 0) {
            int e = nn_errno();
            if (e != EAGAIN && e != EFSM) {
                diag_warn("TRANSPORT-RECV", "receive failed: %s", nn_strerror(e));
            }
            break;
        }
        if (t->role == TRANSPORT_LISTEN) {
            transport_watch(t, 0); /* until the reply is sent */
        }
        t->on_msg(t->ctx, t, msg, (size_t)n);
        nn_freemsg(msg);
        if (t->role == TRANSPORT_LISTEN) {
            break;
        }
    }
    t->in_callback = 0;
    if (t->closing) {
        uv_close((uv_handle_t *)&t->poll, transport_on_close);
    }
}

static void
transport_watch(struct transport *t, int on)
{
    if (on && !t->watching && !t->closing) {
        uv_poll_start(&t->poll, UV_READABLE, transport_on_poll);
        t->watching = 1;
    } else if (!on && t->watching) {
        uv_poll_stop(&t->poll);
        t->watching = 0;
    }
}

/* Sets one integer option; every option is set explicitly (transport.h). */
static int
transport_opt(int sock, int level, int opt, int value)
{
    return nn_setsockopt(sock, level, opt, &value, sizeof value);
}

err_code
transport_open(struct transport **out, uv_loop_t *loop, enum transport_role role, const char *url,
               transport_msg_fn on_msg, void *ctx, const char **why)
{
    const char *reason = "the socket cannot be opened";
    *out = NULL;
    if (url == NULL || strnlen(url, TRANSPORT_URL_SIZE_MAX + 1) > TRANSPORT_URL_SIZE_MAX) {
        if (why != NULL) {
            *why = "the address is missing or longer than 256 characters";
        }
        return ERR_INVAL;
    }
    struct transport *t = calloc(1, sizeof *t);
    if (t == NULL) {
        return ERR_NOMEM;
    }
    t->role = role;
    t->on_msg = on_msg;
    t->ctx = ctx;
    t->sock = nn_socket(AF_SP, role == TRANSPORT_LISTEN ? NN_REP : NN_REQ);
    err_code rc = ERR_OK;
    if (t->sock < 0) {
        rc = err_from_errno(nn_errno());
        free(t);
        if (why != NULL) {
            *why = reason;
        }
        return rc == ERR_OK ? ERR_IO : rc;
    }
    int fd = -1;
    size_t fdsz = sizeof fd;
    if (transport_opt(t->sock, NN_SOL_SOCKET, NN_RCVMAXSIZE, (int)TRANSPORT_MSG_SIZE_MAX) < 0 ||
        transport_opt(t->sock, NN_SOL_SOCKET, NN_SNDBUF, TRANSPORT_SOCKET_BUF) < 0 ||
        transport_opt(t->sock, NN_SOL_SOCKET, NN_RCVBUF, TRANSPORT_SOCKET_BUF) < 0 ||
        transport_opt(t->sock, NN_SOL_SOCKET, NN_SNDTIMEO, 0) < 0 ||
        transport_opt(t->sock, NN_SOL_SOCKET, NN_RCVTIMEO, 0) < 0 ||
        transport_opt(t->sock, NN_SOL_SOCKET, NN_RECONNECT_IVL, TRANSPORT_RECONNECT_IVL_MS) < 0 ||
        transport_opt(t->sock, NN_SOL_SOCKET, NN_RECONNECT_IVL_MAX,
                      TRANSPORT_RECONNECT_IVL_MAX_MS) < 0 ||
        /* IPv4 only: nanomsg 1.1.5 (Debian 12) aborts in its dual-stack connect path
         * (usock_posix.inc:195, nanomsg issue #1114; reproduced here with a REQ/REP pair). */
        transport_opt(t->sock, NN_SOL_SOCKET, NN_IPV4ONLY, 1) < 0 ||
        (role == TRANSPORT_DIAL &&
         transport_opt(t->sock, NN_REQ, NN_REQ_RESEND_IVL, TRANSPORT_RESEND_IVL_MS) < 0) ||
        nn_getsockopt(t->sock, NN_SOL_SOCKET, NN_RCVFD, &fd, &fdsz) < 0) {
        rc = ERR_IO;
        goto fail;
    }
    int ep = role == TRANSPORT_LISTEN ? nn_bind(t->sock, url) : nn_connect(t->sock, url);
    if (ep < 0) {
        int e = nn_errno();
        rc = e == EADDRINUSE                                                           ? ERR_AGAIN
             : e == EINVAL || e == ENAMETOOLONG || e == EPROTONOSUPPORT || e == ENODEV ? ERR_INVAL
                                                                                       : ERR_IO;
        reason = rc == ERR_AGAIN ? "the address is in use (another cdht serve?)"
                 : rc == ERR_INVAL
                     ? "not an address nanomsg accepts (tcp://HOST:PORT, or a name it resolves)"
                     : "the socket cannot be bound or connected";
        goto fail;
    }
    if (uv_poll_init(loop, &t->poll, fd) != 0) {
        rc = ERR_IO;
        goto fail;
    }
    t->poll.data = t;
    transport_watch(t, 1);
    *out = t;
    return ERR_OK;
fail:
    nn_close(t->sock);
    free(t);
    if (why != NULL) {
        *why = reason;
    }
    return rc;
}

err_code
transport_send(struct transport *t, const void *buf, size_t len)
{
    if (len > TRANSPORT_MSG_SIZE_MAX) {
        return ERR_MSGSIZE;
    }
    int n = nn_send(t->sock, buf, len, NN_DONTWAIT);
    if (n < 0) {
        int e = nn_errno();
        return e == EAGAIN ? ERR_AGAIN : e == EFSM ? ERR_INVAL : ERR_IO;
    }
    if (t->role == TRANSPORT_LISTEN) {
        transport_watch(t, 1);
    }
    return ERR_OK;
}

void
transport_close(struct transport *t)
{
    if (t == NULL || t->closing) {
        return;
    }
    t->closing = 1;
    transport_watch(t, 0);
    if (!t->in_callback) {
        uv_close((uv_handle_t *)&t->poll, transport_on_close);
    }
}
