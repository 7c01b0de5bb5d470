/*
 * The control socket (control.h): a libuv pipe server answering one request line per client,
 * and the blocking client the commands use.
 */
#include "control.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"

struct control_client {
    uv_pipe_t pipe;
    uv_timer_t idle;
    struct control *owner;
    char line[CONTROL_LINE_MAX];
    size_t len;
    int asked; /* the line was handed to the owner: answered until control_end */
    int ended;
    int closing;
    unsigned handles;
};

struct control {
    uv_pipe_t server;
    uv_loop_t *loop;
    control_request_fn fn;
    void *ctx;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    unsigned clients;
    int closing;
    struct control_client *list[CONTROL_CLIENTS_MAX];
};

static void
control_client_closed(uv_handle_t *h)
{
    struct control_client *cl = h->data;
    if (--cl->handles == 0) {
        struct control *c = cl->owner;
        if (c != NULL) {
            for (unsigned i = 0; i < CONTROL_CLIENTS_MAX; i++) {
                if (c->list[i] == cl) {
                    c->list[i] = NULL;
                }
            }
            c->clients--;
            if (c->closing && c->clients == 0 && c->server.data == NULL) {
                free(c);
            }
        }
        free(cl);
    }
}

static void
control_client_close(struct control_client *cl)
{
    if (cl->closing) {
        return;
    }
    cl->closing = 1;
    uv_close((uv_handle_t *)&cl->pipe, control_client_closed);
    uv_close((uv_handle_t *)&cl->idle, control_client_closed);
}

static void
control_on_idle(uv_timer_t *t)
{
    struct control_client *cl = t->data;
    if (!cl->asked) {
        control_client_close(cl);
    }
}

static void
control_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct control_client *cl = h->data;
    (void)suggested;
    buf->base = cl->line + cl->len;
    buf->len = sizeof cl->line - cl->len;
}

static void
control_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct control_client *cl = s->data;
    (void)buf;
    if (n < 0) {
        uv_read_stop(s);
        if (!cl->asked) {
            control_client_close(cl);
        }
        return; /* an asked client stays until control_end: the owner holds it */
    }
    cl->len += (size_t)n;
    char *nl = memchr(cl->line, '\n', cl->len);
    if (nl == NULL) {
        if (cl->len == sizeof cl->line) {
            diag_warn("CONTROL-DROPPED", "a control client sent %u bytes without a line end",
                      CONTROL_LINE_MAX);
            control_client_close(cl);
        }
        return;
    }
    *nl = '\0';
    uv_read_stop(s);
    uv_timer_stop(&cl->idle);
    cl->asked = 1;
    cl->owner->fn(cl->owner->ctx, cl, cl->line);
}

static void
control_on_connection(uv_stream_t *server, int status)
{
    struct control *c = server->data;
    if (status < 0 || c == NULL) {
        return;
    }
    struct control_client *cl = calloc(1, sizeof *cl);
    if (cl == NULL) {
        return;
    }
    cl->owner = c;
    uv_pipe_init(c->loop, &cl->pipe, 0);
    uv_timer_init(c->loop, &cl->idle);
    cl->pipe.data = cl->idle.data = cl;
    cl->handles = 2;
    c->clients++;
    if (uv_accept(server, (uv_stream_t *)&cl->pipe) != 0) {
        control_client_close(cl);
        return;
    }
    unsigned slot = CONTROL_CLIENTS_MAX;
    for (unsigned i = 0; i < CONTROL_CLIENTS_MAX && slot == CONTROL_CLIENTS_MAX; i++) {
        slot = c->list[i] == NULL ? i : slot;
    }
    if (slot == CONTROL_CLIENTS_MAX) {
        diag_warn("CONTROL-DROPPED", "more than %u control clients at once", CONTROL_CLIENTS_MAX);
        control_client_close(cl);
        return;
    }
    c->list[slot] = cl;
    uv_timer_start(&cl->idle, control_on_idle, CONTROL_IDLE_MS, 0);
    uv_read_start((uv_stream_t *)&cl->pipe, control_alloc, control_on_read);
}

static void
control_written(uv_write_t *w, int status)
{
    (void)status;
    free(w);
}

void
control_write(struct control_client *cl, const char *text)
{
    size_t len = strlen(text);
    if (cl->closing || cl->ended || len == 0) {
        return;
    }
    /* The request and the bytes in one allocation, freed when written. */
    uv_write_t *w = malloc(sizeof *w + len);
    if (w == NULL) {
        return;
    }
    char *copy = (char *)(w + 1);
    memcpy(copy, text, len);
    uv_buf_t b = uv_buf_init(copy, (unsigned)len);
    if (uv_write(w, (uv_stream_t *)&cl->pipe, &b, 1, control_written) != 0) {
        free(w);
    }
}

static void
control_shut(uv_shutdown_t *req, int status)
{
    (void)status;
    struct control_client *cl = req->data;
    free(req);
    control_client_close(cl);
}

void
control_end(struct control_client *cl)
{
    if (cl->ended) {
        return;
    }
    cl->ended = 1;
    uv_shutdown_t *req = malloc(sizeof *req);
    if (req == NULL || cl->closing) {
        free(req);
        control_client_close(cl);
        return;
    }
    req->data = cl;
    /* The shutdown completes after the pending writes: the answer is not cut. */
    if (uv_shutdown(req, (uv_stream_t *)&cl->pipe, control_shut) != 0) {
        free(req);
        control_client_close(cl);
    }
}

/* Whether a node answers at path (a connect succeeds). */
static int
control_alive(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return 0;
    }
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static void
control_server_closed(uv_handle_t *h)
{
    struct control *c = h->data;
    c->server.data = NULL;
    if (c->clients == 0) {
        free(c);
    }
}

err_code
control_open(struct control **out, uv_loop_t *loop, const char *path, control_request_fn fn,
             void *ctx, const char **why)
{
    *out = NULL;
    struct control *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return ERR_NOMEM;
    }
    if (strlen(path) >= sizeof c->path) {
        free(c);
        *why = "the control socket's path is longer than a Unix socket address takes";
        return ERR_MSGSIZE;
    }
    snprintf(c->path, sizeof c->path, "%s", path);
    c->loop = loop;
    c->fn = fn;
    c->ctx = ctx;
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            free(c);
            *why = "the control socket's path is a file that is not a socket";
            return ERR_INVAL;
        }
        if (control_alive(path)) {
            free(c);
            *why = "another cdht serve is running on this home (its control socket answers)";
            return ERR_AGAIN;
        }
        (void)unlink(path); /* left by a node that died */
    }
    uv_pipe_init(loop, &c->server, 0);
    c->server.data = c;
    /* Owner only: the socket can start syncs and tells the node's state. */
    mode_t old = umask(0077);
    int e = uv_pipe_bind(&c->server, path);
    umask(old);
    if (e == 0) {
        e = uv_listen((uv_stream_t *)&c->server, (int)CONTROL_CLIENTS_MAX, control_on_connection);
    }
    if (e != 0) {
        uv_close((uv_handle_t *)&c->server, control_server_closed); /* frees c */
        *why = "the control socket cannot be created (is its folder writable?)";
        return ERR_IO;
    }
    *out = c;
    return ERR_OK;
}

void
control_close(struct control *c)
{
    if (c == NULL) {
        return;
    }
    if (c->closing) {
        return;
    }
    c->closing = 1;
    (void)unlink(c->path);
    for (unsigned i = 0; i < CONTROL_CLIENTS_MAX; i++) {
        if (c->list[i] != NULL) {
            c->list[i]->ended = 1;
            control_client_close(c->list[i]);
        }
    }
    uv_close((uv_handle_t *)&c->server, control_server_closed);
}

err_code
control_ask(const char *path, const char *line, int timeout_ms, char *out, size_t cap)
{
    out[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return ERR_IO;
    }
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof a.sun_path) {
        close(fd);
        return ERR_MSGSIZE;
    }
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return ERR_NOTFOUND;
    }
    char req[CONTROL_LINE_MAX + 1];
    int n = snprintf(req, sizeof req, "%s\n", line);
    if (n < 0 || (size_t)n >= sizeof req || write(fd, req, (size_t)n) != n) {
        close(fd);
        return ERR_IO;
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t len = 0;
    err_code rc = ERR_OK;
    for (;;) {
        struct timespec t1;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        long long left = timeout_ms - ((t1.tv_sec - t0.tv_sec) * 1000LL +
                                       (t1.tv_nsec - t0.tv_nsec) / 1000000LL);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) == 0) {
            rc = ERR_AGAIN;
            break;
        }
        if (len + 1 >= cap) {
            rc = ERR_MSGSIZE;
            break;
        }
        ssize_t got = read(fd, out + len, cap - 1 - len);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            break;
        }
        len += (size_t)got;
    }
    out[len] = '\0';
    close(fd);
    return rc;
}
