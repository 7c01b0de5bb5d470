/*
 * The serve loop's pieces that need no network: the wait before an upstream's next attempt
 * (node/upstream.h: interval with jitter, exponential backoff with its cap) and the control
 * socket (node/control.h: one request line, the answer, the limits, a stale socket replaced and
 * a live one refused). The control socket's server runs in a libuv loop on a thread; the
 * blocking client asks from the test's thread. Every wait is bounded.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "control.h"
#include "upstream.h"

static struct config
cfg_with(unsigned interval, unsigned jitter, unsigned b0, unsigned bmax)
{
    struct config c;
    config_defaults(&c);
    c.interval_s = interval;
    c.jitter_percent = jitter;
    c.backoff_initial_s = b0;
    c.backoff_max_s = bmax;
    return c;
}

/* After a success: interval_s; the jitter spreads it evenly around, never beyond its bounds. */
Test(upstream, wait_after_success_is_interval_with_jitter)
{
    struct config c = cfg_with(300, 20, 5, 900);
    cr_assert_eq(upstream_wait_ms(&c, 0, 0.5), 300000);
    cr_assert_eq(upstream_wait_ms(&c, 0, 0.0), 240000); /* 300 s * (1 - 0.2) */
    cr_assert_eq(upstream_wait_ms(&c, 0, 0.999999), 359999);
    c.jitter_percent = 0;
    cr_assert_eq(upstream_wait_ms(&c, 0, 0.0), 300000);
    cr_assert_eq(upstream_wait_ms(&c, 0, 0.9), 300000);
}

/* After failures: backoff_initial_s, doubling per further failure, capped at backoff_max_s. */
Test(upstream, wait_after_failures_backs_off_to_the_cap)
{
    struct config c = cfg_with(300, 0, 5, 900);
    static const unsigned want_s[] = {5, 10, 20, 40, 80, 160, 320, 640, 900, 900};
    for (unsigned f = 1; f <= 10; f++) {
        cr_assert_eq(upstream_wait_ms(&c, f, 0.3), want_s[f - 1] * 1000ull, "failure %u", f);
    }
    /* Far beyond: no overflow, still the cap. */
    cr_assert_eq(upstream_wait_ms(&c, 4000000000u, 0.3), 900000);
    /* A cap below a doubling is met exactly. */
    c = cfg_with(300, 0, 7, 20);
    cr_assert_eq(upstream_wait_ms(&c, 2, 0.3), 14000);
    cr_assert_eq(upstream_wait_ms(&c, 3, 0.3), 20000);
    /* Jitter applies to the backoff too (within +-50 %). */
    c = cfg_with(300, 50, 10, 900);
    cr_assert_eq(upstream_wait_ms(&c, 1, 0.0), 5000);
    cr_assert_eq(upstream_wait_ms(&c, 1, 0.75), 12500);
}

/* ---------- the control socket ---------- */

struct ctl_world {
    uv_loop_t loop;
    uv_async_t stop;
    struct control *ctl;
    char path[108];
    unsigned asked;
    char last[CONTROL_LINE_MAX];
};

static void
on_line(void *ctx, struct control_client *cl, const char *line)
{
    struct ctl_world *w = ctx;
    w->asked++;
    snprintf(w->last, sizeof w->last, "%s", line);
    if (strcmp(line, "big") == 0) {
        static char big[6000];
        memset(big, 'x', sizeof big - 2);
        big[sizeof big - 2] = '\n';
        control_write(cl, big);
    } else {
        char ans[128];
        snprintf(ans, sizeof ans, "you said %s\nend\n", line);
        control_write(cl, ans);
    }
    control_end(cl);
}

static void
on_stop(uv_async_t *a)
{
    struct ctl_world *w = a->data;
    control_close(w->ctl);
    uv_close((uv_handle_t *)&w->stop, NULL);
}

static void *
ctl_main(void *p)
{
    struct ctl_world *w = p;
    uv_run(&w->loop, UV_RUN_DEFAULT);
    return NULL;
}

static void
ctl_start(struct ctl_world *w, pthread_t *th)
{
    memset(w, 0, sizeof *w);
    snprintf(w->path, sizeof w->path, "/tmp/cdht-ctl-%ld.sock", (long)getpid());
    unlink(w->path);
    cr_assert_eq(uv_loop_init(&w->loop), 0);
    const char *why = NULL;
    cr_assert_eq(control_open(&w->ctl, &w->loop, w->path, on_line, w, &why), ERR_OK, "%s",
                 why ? why : "");
    uv_async_init(&w->loop, &w->stop, on_stop);
    w->stop.data = w;
    cr_assert_eq(pthread_create(th, NULL, ctl_main, w), 0);
}

static void
ctl_stop(struct ctl_world *w, pthread_t th)
{
    uv_async_send(&w->stop);
    cr_assert_eq(pthread_join(th, NULL), 0);
    cr_assert_eq(uv_loop_close(&w->loop), 0);
}

/* One line asked, the whole answer read until the node closes; the socket is the owner's only;
 * closing removes it, and a client then finds nobody. */
Test(control, request_and_answer)
{
    struct ctl_world w;
    pthread_t th;
    ctl_start(&w, &th);
    struct stat st;
    cr_assert_eq(stat(w.path, &st), 0);
    cr_assert_eq(st.st_mode & 077, 0, "the control socket is the owner's only");
    char out[256];
    cr_assert_eq(control_ask(w.path, "status", 2000, out, sizeof out), ERR_OK);
    cr_assert_str_eq(out, "you said status\nend\n");
    cr_assert_eq(control_ask(w.path, "sync", 2000, out, sizeof out), ERR_OK);
    cr_assert_str_eq(out, "you said sync\nend\n");
    /* An answer larger than the buffer is refused, not cut silently. */
    cr_assert_eq(control_ask(w.path, "big", 2000, out, sizeof out), ERR_MSGSIZE);
    static char large[8192];
    cr_assert_eq(control_ask(w.path, "big", 2000, large, sizeof large), ERR_OK);
    cr_assert_eq(strlen(large), 5999);
    ctl_stop(&w, th);
    cr_assert_eq(w.asked, 4);
    cr_assert_neq(stat(w.path, &st), 0, "the socket file is removed at close");
    cr_assert_eq(control_ask(w.path, "status", 500, out, sizeof out), ERR_NOTFOUND);
}

/* A client that sends CONTROL_LINE_MAX bytes without a line end is dropped unanswered; one
 * that connects and says nothing is dropped after CONTROL_IDLE_MS; the others are served. */
Test(control, hostile_clients_dropped, .timeout = 20)
{
    struct ctl_world w;
    pthread_t th;
    ctl_start(&w, &th);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", w.path);
    int silent = socket(AF_UNIX, SOCK_STREAM, 0);
    cr_assert_eq(connect(silent, (struct sockaddr *)&a, sizeof a), 0);
    int flood = socket(AF_UNIX, SOCK_STREAM, 0);
    cr_assert_eq(connect(flood, (struct sockaddr *)&a, sizeof a), 0);
    char junk[CONTROL_LINE_MAX];
    memset(junk, 'z', sizeof junk);
    cr_assert_eq(write(flood, junk, sizeof junk), (ssize_t)sizeof junk);
    char b[16];
    cr_assert_eq(read(flood, b, sizeof b), 0, "the flooding client is closed unanswered");
    close(flood);
    char out[256];
    cr_assert_eq(control_ask(w.path, "status", 2000, out, sizeof out), ERR_OK);
    cr_assert_eq(read(silent, b, sizeof b), 0, "the silent client is closed after the idle bound");
    close(silent);
    ctl_stop(&w, th);
    cr_assert_eq(w.asked, 1);
}

/* A socket file left by a node that died is replaced; one a live node answers is refused. */
Test(control, stale_socket_replaced_live_one_refused)
{
    char path[108];
    snprintf(path, sizeof path, "/tmp/cdht-ctl-stale-%ld.sock", (long)getpid());
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    close(fd); /* the file stays, nobody listens: a node that died */
    uv_loop_t loop;
    cr_assert_eq(uv_loop_init(&loop), 0);
    struct control *c = NULL, *c2 = NULL;
    const char *why = NULL;
    cr_assert_eq(control_open(&c, &loop, path, on_line, NULL, &why), ERR_OK);
    /* Now a live one answers there (its loop need not run for connect to succeed). */
    cr_assert_eq(control_open(&c2, &loop, path, on_line, NULL, &why), ERR_AGAIN);
    cr_assert_str_eq(why, "another cdht serve is running on this home (its control socket answers)");
    control_close(c);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&loop), 0);
    /* A path that is a plain file is not removed. */
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fclose(f);
    cr_assert_eq(uv_loop_init(&loop), 0);
    cr_assert_eq(control_open(&c, &loop, path, on_line, NULL, &why), ERR_INVAL);
    cr_assert_str_eq(why, "the control socket's path is a file that is not a socket");
    cr_assert_eq(uv_loop_close(&loop), 0);
    unlink(path);
}
