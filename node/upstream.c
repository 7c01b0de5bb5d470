/*
 * The upstream side of `cdht serve` (upstream.h): a timer and at most one session per
 * upstream, a poll of this device's own log for local commits, and the `sync --now` waiters.
 */
#include "upstream.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "hlc.h"
#include "keys.h"
#include "log.h"
#include "replica.h"

struct upstream_slot {
    struct upstreams *owner;
    int used;
    uint8_t key[KEY_PUBLIC_SIZE];
    uv_timer_t timer;
    struct session_call *call;
    int again;              /* a trigger came while running: one more attempt at its end */
    uint64_t started, ended; /* attempts so far (sequential: ended == started when idle) */
    struct upstream_state st;
};

struct upstream_waiter {
    int used;
    upstream_round_fn fn;
    void *ctx;
    uint64_t need[CONFIG_UPSTREAMS_MAX]; /* the attempt of each slot that must end; 0: none */
};

struct upstreams {
    uv_loop_t *loop;
    struct replica *r;
    struct config cfg;
    struct upstream_slot *slot[CONFIG_UPSTREAMS_MAX]; /* each its own allocation (its timer) */
    uv_timer_t poll;
    uint64_t own_size; /* this device's log size last seen */
    struct upstream_waiter waiter[UPSTREAM_WAITERS_MAX];
    unsigned handles; /* timers not yet closed: the structure is freed at 0 */
    int stopping;
};

uint64_t
upstream_wait_ms(const struct config *cfg, unsigned failures, double u01)
{
    uint64_t base_s = cfg->interval_s;
    if (failures > 0) {
        base_s = cfg->backoff_initial_s;
        for (unsigned i = 1; i < failures && base_s < cfg->backoff_max_s; i++) {
            base_s *= 2;
        }
        if (base_s > cfg->backoff_max_s) {
            base_s = cfg->backoff_max_s;
        }
    }
    /* base * (1 + j * (2u - 1)), j the jitter fraction: uniform in base * [1 - j, 1 + j). */
    double j = (double)cfg->jitter_percent / 100.0;
    double ms = (double)base_s * 1000.0 * (1.0 + j * (2.0 * u01 - 1.0));
    return ms < 1.0 ? 1u : (uint64_t)ms;
}

static double
upstream_u01(void)
{
    return (double)randombytes_uniform(1000000u) / 1000000.0;
}

static void upstream_attempt(struct upstream_slot *s);

static void
upstream_on_timer(uv_timer_t *t)
{
    upstream_attempt(t->data);
}

/* Plans the slot's next attempt in ms (or sooner if it was already planned sooner). */
static void
upstream_plan(struct upstream_slot *s, uint64_t ms, int only_sooner)
{
    int64_t at = hlc_wall_ms() + (int64_t)ms;
    if (s->owner->stopping || s->call != NULL) {
        return;
    }
    if (only_sooner && s->st.next_ms != 0 && s->st.next_ms <= at) {
        return;
    }
    s->st.next_ms = at;
    uv_timer_start(&s->timer, upstream_on_timer, ms, 0);
}

/* Tells each waiter whose attempts have all ended. */
static void
upstream_check_waiters(struct upstreams *u)
{
    for (unsigned w = 0; w < UPSTREAM_WAITERS_MAX; w++) {
        struct upstream_waiter *wt = &u->waiter[w];
        if (!wt->used) {
            continue;
        }
        unsigned ok = 0, n = 0, pending = 0;
        struct upstream_state states[CONFIG_UPSTREAMS_MAX];
        for (unsigned i = 0; i < CONFIG_UPSTREAMS_MAX; i++) {
            struct upstream_slot *s = u->slot[i];
            if (wt->need[i] == 0) {
                continue;
            }
            if (s != NULL && s->ended >= wt->need[i]) {
                states[n++] = s->st; /* its attempt ended (cancelled ones too: told as such) */
                ok += s->st.result == ERR_OK;
                continue;
            }
            if (s == NULL || !s->used) {
                wt->need[i] = 0; /* removed by a reload before it ran: not waited for */
                continue;
            }
            pending++;
        }
        if (pending == 0) {
            wt->used = 0;
            wt->fn(wt->ctx, ok, n, states);
        }
    }
}

static void
upstream_done(void *ctx, err_code rc, const struct session_report *rep)
{
    struct upstream_slot *s = ctx;
    struct upstreams *u = s->owner;
    s->call = NULL;
    s->st.running = 0;
    s->ended++;
    s->st.result = rc;
    snprintf(s->st.msg, sizeof s->st.msg, "%s", rc == ERR_OK ? "" : rep->msg);
    s->st.failures = rc == ERR_OK ? 0 : s->st.failures + 1;
    /* What `cdht status` reads, recorded under the write lock like every write. */
    if (replica_hold(u->r, 1) == ERR_OK) {
        if (session_record(u->r, s->st.url, rc, rep) != ERR_OK) {
            diag_warn("SYNC-RECORD", "the sync with %s could not be recorded", s->st.url);
        }
        if (replica_hold(u->r, 0) != ERR_OK) {
            diag_error("SYNC-LOCK", "the write lock cannot be let go");
        }
    }
    if (rc == ERR_OK) {
        diag_info("SYNC-UP",
                  "sync with %s: %llu leaves pulled (%llu held), %llu pushed (%llu logs "
                  "co-signed there), %llu bytes sent, %llu received",
                  s->st.url, (unsigned long long)rep->pulled, (unsigned long long)rep->held,
                  (unsigned long long)rep->pushed, (unsigned long long)rep->cosigs,
                  (unsigned long long)rep->bytes_sent,
                  (unsigned long long)rep->bytes_received);
    } else {
        diag_warn("SYNC-UP-FAILED", "sync with %s failed (%s): %s; attempt %u", s->st.url,
                  err_str(rc), rep->msg[0] ? rep->msg : err_str(rc), s->st.failures);
    }
    if (s->used && !u->stopping) {
        if (s->again) {
            s->again = 0;
            upstream_plan(s, 0, 0);
        } else {
            upstream_plan(s, upstream_wait_ms(&u->cfg, s->st.failures, upstream_u01()), 0);
        }
    }
    upstream_check_waiters(u);
}

static void
upstream_attempt(struct upstream_slot *s)
{
    struct upstreams *u = s->owner;
    if (!s->used || u->stopping || s->call != NULL) {
        return;
    }
    uv_timer_stop(&s->timer);
    s->st.next_ms = 0;
    s->st.running = 1;
    s->st.attempt_ms = hlc_wall_ms();
    s->started++;
    err_code rc = session_call_start(u->loop, u->r, s->st.url, s->key,
                                     (int64_t)u->cfg.session_timeout_s * 1000, 1, upstream_done, s,
                                     &s->call);
    if (rc != ERR_OK) { /* nothing started: done was not called */
        struct session_report rep;
        memset(&rep, 0, sizeof rep);
        snprintf(rep.msg, sizeof rep.msg, "the session could not start: %s", err_str(rc));
        upstream_done(s, rc, &rep);
    }
}

static void
upstream_on_close(uv_handle_t *h)
{
    struct upstream_slot *s = h->data;
    struct upstreams *u = s->owner;
    free(s);
    if (--u->handles == 0 && u->stopping) {
        free(u);
    }
}

static void
upstream_slot_drop(struct upstreams *u, unsigned i)
{
    struct upstream_slot *s = u->slot[i];
    s->used = 0;                  /* no further attempt is planned */
    session_call_cancel(s->call); /* done runs now: recorded, and waiters told it was cancelled */
    u->slot[i] = NULL;
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, upstream_on_close);
}

static err_code
upstream_slot_add(struct upstreams *u, const char *url, const uint8_t key[KEY_PUBLIC_SIZE])
{
    for (unsigned i = 0; i < CONFIG_UPSTREAMS_MAX; i++) {
        if (u->slot[i] != NULL) {
            continue;
        }
        struct upstream_slot *s = calloc(1, sizeof *s);
        if (s == NULL) {
            return ERR_NOMEM;
        }
        s->owner = u;
        s->used = 1;
        memcpy(s->key, key, KEY_PUBLIC_SIZE);
        snprintf(s->st.url, sizeof s->st.url, "%s", url);
        uv_timer_init(u->loop, &s->timer);
        s->timer.data = s;
        u->handles++;
        u->slot[i] = s;
        /* Soon, not at once: a node just started has likely been offline, but a whole village
         * restarted after a power cut should not dial in the same millisecond. */
        upstream_plan(s, upstream_wait_ms(&(struct config){.interval_s = 1, .jitter_percent = 50},
                                          0, upstream_u01()),
                      0);
        return ERR_OK;
    }
    return ERR_MSGSIZE; /* not reached: the configuration holds at most as many */
}

static void
upstream_on_poll(uv_timer_t *t)
{
    struct upstreams *u = t->data;
    struct log_head h;
    if (log_get(u->r->st, u->r->pk, &h) != ERR_OK || h.size <= u->own_size) {
        return;
    }
    u->own_size = h.size;
    for (unsigned i = 0; i < CONFIG_UPSTREAMS_MAX; i++) {
        struct upstream_slot *s = u->slot[i];
        if (s == NULL) {
            continue;
        }
        if (s->call != NULL) {
            s->again = 1;
        } else {
            upstream_plan(s, UPSTREAM_COMMIT_DELAY_MS, 1);
        }
    }
}

static void
upstream_poll_close(uv_handle_t *h)
{
    struct upstreams *u = h->data;
    if (--u->handles == 0 && u->stopping) {
        free(u);
    }
}

err_code
upstreams_start(struct upstreams **out, uv_loop_t *loop, struct replica *r,
                const struct config *cfg)
{
    struct upstreams *u = calloc(1, sizeof *u);
    if (u == NULL) {
        return ERR_NOMEM;
    }
    u->loop = loop;
    u->r = r;
    struct log_head h;
    u->own_size = log_get(r->st, r->pk, &h) == ERR_OK ? h.size : 0;
    uv_timer_init(loop, &u->poll);
    u->poll.data = u;
    u->handles = 1;
    uv_timer_start(&u->poll, upstream_on_poll, UPSTREAM_COMMIT_POLL_MS, UPSTREAM_COMMIT_POLL_MS);
    *out = u;
    return upstreams_reconfigure(u, cfg);
}

err_code
upstreams_reconfigure(struct upstreams *u, const struct config *cfg)
{
    u->cfg = *cfg;
    /* Drop those no longer listed (or listed with another key). */
    for (unsigned i = 0; i < CONFIG_UPSTREAMS_MAX; i++) {
        struct upstream_slot *s = u->slot[i];
        if (s == NULL) {
            continue;
        }
        int keep = 0;
        for (unsigned j = 0; j < cfg->upstream_count; j++) {
            keep |= strcmp(cfg->upstream[j], s->st.url) == 0 &&
                    memcmp(cfg->upstream_key[j], s->key, KEY_PUBLIC_SIZE) == 0;
        }
        if (!keep) {
            upstream_slot_drop(u, i);
        }
    }
    for (unsigned j = 0; j < cfg->upstream_count; j++) {
        int have = 0;
        for (unsigned i = 0; i < CONFIG_UPSTREAMS_MAX; i++) {
            have |= u->slot[i] != NULL && strcmp(u->slot[i]->st.url, cfg->upstream[j]) == 0;
        }
        err_code rc = have ? ERR_OK : upstream_slot_add(u, cfg->upstream[j], cfg->upstream_key[j]);
        if (rc != ERR_OK) {
            return rc;
        }
    }
    upstream_check_waiters(u);
    return ERR_OK;
}

err_code
upstreams_now(struct upstreams *u, upstream_round_fn fn, void *ctx)
{
    struct upstream_waiter *wt = NULL;
    for (unsigned w = 0; w < UPSTREAM_WAITERS_MAX && wt == NULL; w++) {
        wt = u->waiter[w].used ? NULL : &u->waiter[w];
    }
    if (wt == NULL) {
        return ERR_AGAIN;
    }
    memset(wt, 0, sizeof *wt);
    wt->used = 1;
    wt->fn = fn;
    wt->ctx = ctx;
    for (unsigned i = 0; i < CONFIG_UPSTREAMS_MAX; i++) {
        struct upstream_slot *s = u->slot[i];
        if (s == NULL) {
            continue;
        }
        /* The attempt that starts after this call: the next one, whether one runs now or not. */
        wt->need[i] = s->started + 1;
        if (s->call != NULL) {
            s->again = 1;
        }
    }
    for (unsigned i = 0; i < CONFIG_UPSTREAMS_MAX; i++) {
        if (u->slot[i] != NULL && u->slot[i]->call == NULL) {
            upstream_attempt(u->slot[i]); /* may end at once (a dial refused) */
        }
    }
    upstream_check_waiters(u); /* no upstream at all: told now */
    return ERR_OK;
}

unsigned
upstreams_states(const struct upstreams *u, struct upstream_state *out, unsigned max)
{
    unsigned n = 0;
    for (unsigned i = 0; i < CONFIG_UPSTREAMS_MAX; i++) {
        if (u->slot[i] != NULL) {
            if (n < max) {
                out[n] = u->slot[i]->st;
            }
            n++;
        }
    }
    return n;
}

void
upstreams_stop(struct upstreams *u)
{
    if (u == NULL || u->stopping) {
        return;
    }
    u->stopping = 1;
    for (unsigned i = 0; i < CONFIG_UPSTREAMS_MAX; i++) {
        if (u->slot[i] != NULL) {
            upstream_slot_drop(u, i);
        }
    }
    upstream_check_waiters(u);
    uv_timer_stop(&u->poll);
    uv_close((uv_handle_t *)&u->poll, upstream_poll_close);
}
