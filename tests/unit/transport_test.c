/*
 * The transport (node/transport.h) on 127.0.0.1: a REP listener and a REQ dialer in one libuv
 * loop exchange requests and replies; refusals are local and named. Every test is bounded by a
 * timer that stops the loop and fails.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "transport.h"

/* Ports for these tests: a range above the ephemeral ones' usual start, offset by the pid so
 * that two runs at once rarely meet; ERR_AGAIN moves to the next. */
#define TEST_PORT_BASE 42000
#define TEST_PORT_SPAN 2000
#define TEST_DEADLINE_MS 5000

struct rt {
    uv_loop_t loop;
    uv_timer_t deadline;
    struct transport *rep, *req;
    char got[64];
    unsigned replies, requests;
    int timed_out;
};

static void
on_deadline(uv_timer_t *t)
{
    struct rt *rt = t->data;
    rt->timed_out = 1;
    uv_stop(&rt->loop);
}

static void
on_request(void *ctx, struct transport *t, const void *buf, size_t len)
{
    struct rt *rt = ctx;
    char reply[64];
    int n = snprintf(reply, sizeof reply, "pong:%.*s", (int)len, (const char *)buf);
    rt->requests++;
    cr_assert_eq(transport_send(t, reply, (size_t)n), ERR_OK);
}

static void
on_reply(void *ctx, struct transport *t, const void *buf, size_t len)
{
    struct rt *rt = ctx;
    (void)t;
    snprintf(rt->got, sizeof rt->got, "%.*s", (int)len, (const char *)buf);
    if (++rt->replies < 3) {
        char req[16];
        int n = snprintf(req, sizeof req, "ping%u", rt->replies);
        cr_assert_eq(transport_send(rt->req, req, (size_t)n), ERR_OK);
        return;
    }
    uv_stop(&rt->loop);
}

static int
open_listener(struct rt *rt, char url[64])
{
    unsigned start = (unsigned)getpid() % TEST_PORT_SPAN;
    for (unsigned k = 0; k < 50; k++) {
        snprintf(url, 64, "tcp://127.0.0.1:%u", TEST_PORT_BASE + (start + k) % TEST_PORT_SPAN);
        err_code rc =
            transport_open(&rt->rep, &rt->loop, TRANSPORT_LISTEN, url, on_request, rt, NULL);
        if (rc == ERR_OK) {
            return 1;
        }
        cr_assert_eq(rc, ERR_AGAIN, "%s", err_str(rc));
    }
    return 0;
}

static void
close_all(struct rt *rt)
{
    transport_close(rt->req);
    transport_close(rt->rep);
    uv_close((uv_handle_t *)&rt->deadline, NULL);
    uv_run(&rt->loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&rt->loop), 0, "every handle was closed");
}

/* Three requests, three replies, in order, within the deadline. */
Test(transport, request_reply_on_loopback)
{
    struct rt rt = {0};
    char url[64];
    cr_assert_eq(uv_loop_init(&rt.loop), 0);
    uv_timer_init(&rt.loop, &rt.deadline);
    rt.deadline.data = &rt;
    uv_timer_start(&rt.deadline, on_deadline, TEST_DEADLINE_MS, 0);
    cr_assert(open_listener(&rt, url));
    cr_assert_eq(transport_open(&rt.req, &rt.loop, TRANSPORT_DIAL, url, on_reply, &rt, NULL),
                 ERR_OK);
    cr_assert_eq(transport_send(rt.req, "ping0", 5), ERR_OK);
    uv_run(&rt.loop, UV_RUN_DEFAULT);
    cr_assert_not(rt.timed_out, "no reply within %d ms", TEST_DEADLINE_MS);
    cr_assert_eq(rt.replies, 3);
    cr_assert_eq(rt.requests, 3);
    cr_assert_str_eq(rt.got, "pong:ping2");
    close_all(&rt);
}

/* Refusals: an oversized message (before nanomsg sees it), a bad address, an address in use. */
Test(transport, refusals_are_named)
{
    struct rt rt = {0};
    char url[64];
    const char *why = NULL;
    cr_assert_eq(uv_loop_init(&rt.loop), 0);
    uv_timer_init(&rt.loop, &rt.deadline);
    cr_assert(open_listener(&rt, url));
    struct transport *again = NULL;
    cr_assert_eq(transport_open(&again, &rt.loop, TRANSPORT_LISTEN, url, on_request, &rt, &why),
                 ERR_AGAIN);
    cr_assert_str_eq(why, "the address is in use (another cdht serve?)");
    cr_assert_eq(
        transport_open(&again, &rt.loop, TRANSPORT_DIAL, "nonsense://x", on_reply, &rt, &why),
        ERR_INVAL);
    cr_assert_null(again);
    cr_assert_eq(transport_open(&rt.req, &rt.loop, TRANSPORT_DIAL, url, on_reply, &rt, NULL),
                 ERR_OK);
    size_t big = TRANSPORT_MSG_SIZE_MAX + 1;
    char *buf = calloc(1, big);
    cr_assert_eq(transport_send(rt.req, buf, big), ERR_MSGSIZE);
    free(buf);
    close_all(&rt);
}
