/*
 * Sync sessions (node/session.h) in one process: the hub's serve loop runs in a thread on
 * 127.0.0.1 and records every byte that crosses the link both ways; a village laptop syncs to
 * it. Its people arrive, and no name crosses the link in the clear.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deploy.h"
#include "replica.h"
#include "session.h"
#include "support.h"
#include "transport.h"

#define TEST_PORT_BASE 45000
#define TEST_PORT_SPAN 2000
#define CAPTURE_MAX (16u * 1024u * 1024u)

static char *dir;

static void
suite_init(void)
{
    dir = deploy_suite_init();
}

static void
suite_fini(void)
{
    deploy_suite_fini(dir);
}

TestSuite(session, .init = suite_init, .fini = suite_fini);

struct hub {
    uv_loop_t loop;
    uv_async_t stop;
    struct transport *t;
    struct session_server s;
    uint8_t *capture; /* every byte in and out */
    size_t captured;
    char url[64];
    int ready;
};

/* Whether needle occurs in buf (memmem is a GNU extension). */
static int
contains(const uint8_t *buf, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; n <= len && i <= len - n; i++) {
        if (memcmp(buf + i, needle, n) == 0) {
            return 1;
        }
    }
    return 0;
}

static void
record(struct hub *h, const void *buf, size_t len)
{
    if (h->captured + len <= CAPTURE_MAX) {
        memcpy(h->capture + h->captured, buf, len);
        h->captured += len;
    }
}

static void
on_request(void *ctx, struct transport *t, const void *buf, size_t len)
{
    struct hub *h = ctx;
    uint8_t *out = NULL;
    size_t out_len = 0;
    record(h, buf, len);
    cr_assert_eq(session_server_handle(&h->s, buf, len, &out, &out_len), ERR_OK);
    record(h, out, out_len);
    cr_assert_eq(transport_send(t, out ? out : (const uint8_t *)"", out_len), ERR_OK);
    free(out);
}

static void
on_stop(uv_async_t *a)
{
    struct hub *h = a->data;
    transport_close(h->t);
    uv_close((uv_handle_t *)&h->stop, NULL);
}

static void *
hub_main(void *arg)
{
    struct hub *h = arg;
    uv_run(&h->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* The laptop's people reach the hub over the link, and their names never cross it in clear. */
Test(session, push_over_loopback_is_encrypted)
{
    struct deploy w;
    deploy_world(&w, dir, "lo", 1);
    static const char name[] = "Nguyễn Văn An";
    char id[17];
    cr_assert_eq(support_person_add(w.A, name, 1980, "4400101", id), ERR_OK);
    cr_assert_eq(support_person_add(w.A, "Trần Thị Bình", 1985, "4400101", id), ERR_OK);

    struct hub *h = calloc(1, sizeof *h);
    h->capture = malloc(CAPTURE_MAX);
    cr_assert_eq(uv_loop_init(&h->loop), 0);
    cr_assert_eq(session_server_init(&h->s, w.H), ERR_OK);
    unsigned start = (unsigned)getpid() % TEST_PORT_SPAN;
    err_code rc = ERR_AGAIN;
    for (unsigned k = 0; k < 50 && rc == ERR_AGAIN; k++) {
        snprintf(h->url, sizeof h->url, "tcp://127.0.0.1:%u",
                 TEST_PORT_BASE + (start + k) % TEST_PORT_SPAN);
        rc = transport_open(&h->t, &h->loop, TRANSPORT_LISTEN, h->url, on_request, h, NULL);
    }
    cr_assert_eq(rc, ERR_OK);
    uv_async_init(&h->loop, &h->stop, on_stop);
    h->stop.data = h;
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, hub_main, h), 0);

    struct session_report rep;
    rc = session_sync(w.A, h->url, w.H->pk, 20000, &rep);
    uv_async_send(&h->stop);
    cr_assert_eq(pthread_join(th, NULL), 0);
    cr_assert_eq(rc, ERR_OK, "%s", rep.msg);
    cr_assert_eq(rep.pushed, 2);
    cr_assert_eq(deploy_q_int(w.H, "SELECT count(*) FROM person WHERE _live"), 2);

    cr_assert_gt(h->captured, 1000, "the exchange was captured");
    cr_assert_not(contains(h->capture, h->captured, name), "a name crossed the link in clear");
    cr_assert_not(contains(h->capture, h->captured, "Bình"));
    session_server_free(&h->s);
    cr_assert_eq(uv_loop_close(&h->loop), 0);
    free(h->capture);
    free(h);
    deploy_world_free(&w);
}

/* Hostile input straight into the callee: garbage, a truncated or oversized message, a message
 * for no session, a replayed handshake. Each gets an empty answer (the caller is dropped), and
 * an honest caller is served after them. */
Test(session, hostile_messages_dropped)
{
    struct deploy w;
    deploy_world(&w, dir, "host", 1);
    struct session_server s;
    cr_assert_eq(session_server_init(&s, w.H), ERR_OK);
    uint8_t *out = NULL;
    size_t out_len = 0;
    static const uint8_t garbage[] = "GET / HTTP/1.0\r\n\r\n";
    cr_assert_eq(session_server_handle(&s, garbage, sizeof garbage, &out, &out_len), ERR_OK);
    cr_assert_eq(out_len, 0);
    free(out);
    /* A handshake from the writer, kept to replay. */
    struct channel ch;
    uint8_t hello[CHANNEL_HELLO_SIZE(0)];
    size_t hello_len = 0;
    cr_assert_eq(channel_init(&ch, w.A->keys.sk, "cdht", 1), ERR_OK);
    cr_assert_eq(channel_initiate(&ch, w.H->pk, NULL, 0, hello, sizeof hello, &hello_len), ERR_OK);
    /* Truncated. */
    cr_assert_eq(session_server_handle(&s, hello, hello_len / 2, &out, &out_len), ERR_OK);
    cr_assert_eq(out_len, 0);
    free(out);
    /* Genuine: answered. */
    cr_assert_eq(session_server_handle(&s, hello, hello_len, &out, &out_len), ERR_OK);
    cr_assert_gt(out_len, 0);
    size_t plen = 0;
    cr_assert_eq(channel_finish(&ch, out, out_len, NULL, 0, &plen), ERR_OK);
    free(out);
    /* Oversized transport message for the session. */
    uint8_t *big = calloc(1, CHANNEL_MSG_SIZE_MAX + 16);
    big[0] = 1;
    big[1] = CHANNEL_MSG_TRANSPORT;
    cr_assert_eq(session_server_handle(&s, big, CHANNEL_MSG_SIZE_MAX + 16, &out, &out_len), ERR_OK);
    cr_assert_eq(out_len, 0);
    free(out);
    /* A transport message for no session (random tag). */
    memset(big + 2, 0x5a, 64);
    cr_assert_eq(session_server_handle(&s, big, 64, &out, &out_len), ERR_OK);
    cr_assert_eq(out_len, 0);
    free(out);
    free(big);
    channel_wipe(&ch);
    session_server_free(&s);
    /* An honest caller after all that. */
    struct hub *h = calloc(1, sizeof *h);
    h->capture = malloc(CAPTURE_MAX);
    cr_assert_eq(uv_loop_init(&h->loop), 0);
    cr_assert_eq(session_server_init(&h->s, w.H), ERR_OK);
    unsigned start = (unsigned)getpid() % TEST_PORT_SPAN + 100;
    err_code rc = ERR_AGAIN;
    for (unsigned k = 0; k < 50 && rc == ERR_AGAIN; k++) {
        snprintf(h->url, sizeof h->url, "tcp://127.0.0.1:%u",
                 TEST_PORT_BASE + (start + k) % TEST_PORT_SPAN);
        rc = transport_open(&h->t, &h->loop, TRANSPORT_LISTEN, h->url, on_request, h, NULL);
    }
    cr_assert_eq(rc, ERR_OK);
    uv_async_init(&h->loop, &h->stop, on_stop);
    h->stop.data = h;
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, hub_main, h), 0);
    struct session_report rep;
    rc = session_sync(w.A, h->url, w.H->pk, 20000, &rep);
    uv_async_send(&h->stop);
    cr_assert_eq(pthread_join(th, NULL), 0);
    cr_assert_eq(rc, ERR_OK, "%s", rep.msg);
    session_server_free(&h->s);
    cr_assert_eq(uv_loop_close(&h->loop), 0);
    free(h->capture);
    free(h);
    deploy_world_free(&w);
}
