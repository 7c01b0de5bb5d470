/*
 * The upstream side of `cdht serve` (issue 4, DESIGN.md section 7): the node dials each
 * configured upstream (a branch its commune hub, a hub its parent) from its own libuv loop,
 * beside the listener: periodically (interval_s, drawn with jitter so that branches restarted
 * together spread out), sooner after a local commit, at once on `cdht sync --now`, and after a
 * failure with an exponential backoff. Each attempt is one session (session_call_start) that
 * takes the write lock for one reply's work at a time, and is recorded for `cdht status`
 * (session_record), failed or not. One attempt per upstream runs at a time; a trigger while it
 * runs asks for one more attempt when it ends, so nothing committed is left waiting for the
 * next interval.
 */
#ifndef CDHT_UPSTREAM_H
#define CDHT_UPSTREAM_H

#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "err.h"
#include "session.h"

/* How often the loop looks at this device's own log for a local commit made by another cdht
 * process (the operator's commands): one indexed read of one row, so once a second costs
 * nothing and a commit waits at most a second to be noticed. */
#define UPSTREAM_COMMIT_POLL_MS 1000u
/* A sync starts this long after a local commit is noticed, so that a burst of commits (a form
 * saved field by field, an import) leaves in one session rather than one session each. */
#define UPSTREAM_COMMIT_DELAY_MS 2000u
/* `cdht sync --now` requests waiting at once for the current round to end (one per operator
 * terminal; more are refused with ERR_AGAIN rather than queued without bound). */
#define UPSTREAM_WAITERS_MAX 8u

/* The wait before the next attempt: interval_s with jitter after a success (failures == 0),
 * else backoff_initial_s doubled (failures - 1) times, capped at backoff_max_s, with the same
 * jitter. u01 is a uniform draw in [0, 1) (randombytes in the node, fixed in tests). */
uint64_t upstream_wait_ms(const struct config *cfg, unsigned failures, double u01);

/* One upstream's state, as `cdht status` shows it through the control socket. */
struct upstream_state {
    char url[CONFIG_URL_SIZE_MAX + 1];
    int running;        /* a session is under way */
    unsigned failures;  /* consecutive failed attempts (0 after a success) */
    int64_t next_ms;    /* wall clock of the next planned attempt (0 while running) */
    int64_t attempt_ms; /* last attempt's start, 0: none since serve started */
    err_code result;    /* last attempt's result */
    char msg[160];      /* its error, if any (never data) */
};

struct upstreams;

/* Called when a `cdht sync --now` round has ended: ok is the number of upstreams whose attempt
 * succeeded, of n; states gives each one's last result. */
typedef void (*upstream_round_fn)(void *ctx, unsigned ok, unsigned n,
                                  const struct upstream_state *states);

/* Starts dialling cfg's upstreams from loop for replica r (shared: serve keeps no write lock
 * between its work). The first attempt of each is soon after start (one jittered
 * UPSTREAM_COMMIT_DELAY_MS), since a node just started has probably been offline. */
err_code upstreams_start(struct upstreams **out, uv_loop_t *loop, struct replica *r,
                         const struct config *cfg) WARN_UNUSED;
/* A new configuration (SIGHUP): upstreams kept by URL keep their state and running session;
 * removed ones are cancelled; new ones start soon; intervals apply from the next wait. */
err_code upstreams_reconfigure(struct upstreams *u, const struct config *cfg) WARN_UNUSED;
/* Dials every upstream now (those running finish first, then run once more) and calls fn when
 * each has ended one attempt begun after this call. ERR_AGAIN: too many waiters. With no
 * upstream, fn is called at once with n == 0. */
err_code upstreams_now(struct upstreams *u, upstream_round_fn fn, void *ctx) WARN_UNUSED;
/* Copies up to max states; returns the number of upstreams. */
unsigned upstreams_states(const struct upstreams *u, struct upstream_state *out, unsigned max);
/* Cancels running sessions (recorded as failures), tells waiters, closes the timers; the
 * structure is freed once the loop has closed them. */
void upstreams_stop(struct upstreams *u);

#endif
