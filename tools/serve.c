/*
 * cdht serve and cdht sync: the network's two ends (node/session.h). serve runs one libuv loop
 * that owns the replica's SQLite connection: it answers sync sessions on a nanomsg REP socket,
 * dials its upstreams (node/upstream.h) and answers the control socket (node/control.h) until
 * SIGTERM or SIGINT; SIGHUP reloads its configuration. sync runs one whole session with a peer
 * and exits 0 only when every log both may hold ended equal; `sync --now` asks the running
 * serve to dial its upstreams at once instead.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "cli.h"
#include "commands.h"
#include "config.h"
#include "control.h"
#include "diag.h"
#include "hlc.h"
#include "replica.h"
#include "session.h"
#include "transport.h"
#include "upstream.h"

/* The answer to a control request: a few lines per upstream, CONFIG_UPSTREAMS_MAX of them. */
#define SERVE_CONTROL_ANSWER_MAX 8192u
/* `cdht sync --now` waits for every upstream's attempt: at most one session timeout each
 * (they run at once), and a margin for the one running when it asked. */
#define SERVE_NOW_MARGIN_MS 10000

/* The command line's part of the configuration, applied over the file at start and on
 * SIGHUP (flags override the file). */
struct serve_flags {
    const char *cfile;
    const char *listen;
    const char *upstream[CONFIG_UPSTREAMS_MAX];
    unsigned upstreams;
};

struct serve_ctx {
    uv_loop_t *loop;
    struct replica *r;
    struct serve_flags flags;
    struct config cfg;
    char control_path[CONFIG_CONTROL_PATH_SIZE_MAX + 1];
    struct transport *t;
    struct control *ctl;
    struct upstreams *up;
    struct session_server s;
    uv_signal_t sigterm, sigint, sighup;
    int64_t started_ms;
    int stopping;
};

/* The configuration from the file (if any) and the flags; on failure why names the fault. */
static err_code
serve_config(const struct serve_flags *f, struct config *cfg, char *why, size_t why_size)
{
    char w[CONFIG_WHY_SIZE];
    unsigned line = 0;
    config_defaults(cfg);
    if (f->cfile != NULL) {
        err_code rc = config_load(cfg, f->cfile, w, &line);
        if (rc != ERR_OK) {
            snprintf(why, why_size, "%s, line %u: %s", f->cfile, line, w);
            return rc;
        }
    }
    if (f->listen != NULL && config_set(cfg, "listen", f->listen, w) != ERR_OK) {
        snprintf(why, why_size, "--listen: %s", w);
        return ERR_INVAL;
    }
    if (f->upstreams > 0) {
        config_upstream_clear(cfg); /* --upstream replaces the file's list */
    }
    for (unsigned i = 0; i < f->upstreams; i++) {
        err_code rc = config_set(cfg, "upstream", f->upstream[i], w);
        if (rc != ERR_OK) {
            snprintf(why, why_size, "--upstream: %s", w);
            return rc;
        }
    }
    err_code rc = config_check(cfg, w);
    if (rc != ERR_OK) {
        snprintf(why, why_size, "%s", w);
    }
    return rc;
}

static void
serve_on_request(void *ctx, struct transport *t, const void *buf, size_t len)
{
    struct serve_ctx *sv = ctx;
    uint8_t *out = NULL;
    size_t out_len = 0;
    /* The write lock only while answering: the operator's commands run between requests. */
    err_code rc = replica_hold(sv->r, 1);
    if (rc == ERR_OK) {
        rc = session_server_handle(&sv->s, buf, len, &out, &out_len);
        if (replica_hold(sv->r, 0) != ERR_OK) {
            diag_error("SERVE-LOCK", "cannot let go of the write lock");
        }
    }
    if (rc != ERR_OK) {
        diag_warn("SERVE-REQUEST", "a request failed: %s", err_str(rc));
    }
    /* Always answer (an empty reply drops the caller): REP waits for it before the next. */
    if (transport_send(t, out != NULL ? out : (const uint8_t *)"", out_len) != ERR_OK) {
        diag_warn("SERVE-REPLY", "a reply could not be sent (the caller is gone)");
    }
    free(out);
}

/* A string for JSON: the messages are ours, but a URL or a reason may hold a quote. */
static void
serve_json_str(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    for (; *s != '\0' && n + 3 < cap; s++) {
        if (*s == '"' || *s == '\\') {
            out[n++] = '\\';
        }
        out[n++] = (unsigned char)*s < 0x20 ? ' ' : *s;
    }
    out[n] = '\0';
}

/* The live state the control socket tells `cdht status`. */
static void
serve_state(struct serve_ctx *sv, int json, char *out, size_t cap)
{
    struct upstream_state st[CONFIG_UPSTREAMS_MAX];
    unsigned n = upstreams_states(sv->up, st, CONFIG_UPSTREAMS_MAX);
    int64_t now = hlc_wall_ms();
    size_t len = 0;
#define SERVE_OUT(...)                                                                             \
    do {                                                                                           \
        int w_ = snprintf(out + len, cap - len, __VA_ARGS__);                                      \
        len += w_ > 0 && (size_t)w_ < cap - len ? (size_t)w_ : 0;                                  \
    } while (0)
    if (json) {
        SERVE_OUT("{\"pid\": %ld, \"listen\": \"%s\", \"uptime_s\": %lld, \"upstreams\": [",
                  (long)getpid(), sv->cfg.listen, (long long)((now - sv->started_ms) / 1000));
    } else {
        SERVE_OUT("node:          running (pid %ld), serving on %s for %lld s; %u upstream%s\n",
                  (long)getpid(), sv->cfg.listen, (long long)((now - sv->started_ms) / 1000), n,
                  n == 1 ? "" : "s");
    }
    for (unsigned i = 0; i < n && i < CONFIG_UPSTREAMS_MAX; i++) {
        const struct upstream_state *u = &st[i];
        long long next_s = u->next_ms > now ? (u->next_ms - now + 999) / 1000 : 0;
        const char *last = u->attempt_ms == 0       ? "none yet"
                           : u->running             ? "running"
                           : u->result == ERR_OK    ? "ok"
                           : u->result == ERR_AGAIN ? "failed (timed out or cut)"
                                                    : "failed";
        if (json) {
            char msg[sizeof u->msg * 2];
            serve_json_str(msg, sizeof msg, u->msg);
            SERVE_OUT("%s{\"url\": \"%s\", \"running\": %s, \"next_in_s\": %lld, "
                      "\"failures_in_a_row\": %u, \"last\": \"%s\", \"error\": \"%s\"}",
                      i ? ", " : "", u->url, u->running ? "true" : "false", next_s, u->failures,
                      last, msg);
        } else if (u->running) {
            SERVE_OUT("upstream:      %s: syncing now\n", u->url);
        } else {
            SERVE_OUT("upstream:      %s: next sync in %lld s; last: %s%s%s", u->url, next_s, last,
                      u->msg[0] ? ": " : "", u->msg);
            if (u->failures > 0) {
                SERVE_OUT(" (%u failures in a row: backing off)", u->failures);
            }
            SERVE_OUT("\n");
        }
    }
    if (json) {
        SERVE_OUT("]}\n");
    }
#undef SERVE_OUT
}

static void
serve_now_done(void *ctx, unsigned ok, unsigned n, const struct upstream_state *st)
{
    struct control_client *cl = ctx;
    char line[CONFIG_URL_SIZE_MAX + 256];
    for (unsigned i = 0; i < n; i++) {
        if (st[i].result == ERR_OK) {
            snprintf(line, sizeof line, "synced with %s\n", st[i].url);
        } else {
            snprintf(line, sizeof line, "failed with %s: %s\n", st[i].url,
                     st[i].msg[0] ? st[i].msg : err_str(st[i].result));
        }
        control_write(cl, line);
    }
    snprintf(line, sizeof line, "end %u %u\n", ok, n);
    control_write(cl, line);
    control_end(cl);
}

static void
serve_on_control(void *ctx, struct control_client *cl, const char *line)
{
    struct serve_ctx *sv = ctx;
    if (strcmp(line, "status") == 0 || strcmp(line, "status-json") == 0) {
        char *out = malloc(SERVE_CONTROL_ANSWER_MAX);
        if (out != NULL) {
            serve_state(sv, line[6] == '-', out, SERVE_CONTROL_ANSWER_MAX);
            control_write(cl, out);
            free(out);
        }
        control_end(cl);
    } else if (strcmp(line, "sync") == 0) {
        if (sv->stopping || upstreams_now(sv->up, serve_now_done, cl) != ERR_OK) {
            control_write(cl, sv->stopping ? "refused: the node is stopping\nend 0 0\n"
                                           : "refused: too many sync requests waiting\nend 0 0\n");
            control_end(cl);
        }
    } else {
        diag_warn("CONTROL-UNKNOWN", "an unknown control request dropped");
        control_write(cl, "refused: unknown request (status, status-json or sync)\n");
        control_end(cl);
    }
}

/* Opens the listener and the control socket the configuration names (on SIGHUP, only those
 * whose address changed). Both new ones are opened before either old one is closed, so a
 * refused reload leaves the node exactly as it was. */
static err_code
serve_open(struct serve_ctx *sv, const struct config *cfg, char *why, size_t why_size)
{
    const char *w = NULL;
    err_code rc = ERR_OK;
    struct transport *t = NULL;
    struct control *ctl = NULL;
    char path[CONFIG_CONTROL_PATH_SIZE_MAX + 1];
    if (sv->t == NULL || strcmp(cfg->listen, sv->cfg.listen) != 0) {
        if ((rc = transport_open(&t, sv->loop, TRANSPORT_LISTEN, cfg->listen, serve_on_request, sv,
                                 &w)) != ERR_OK) {
            snprintf(why, why_size, "cannot listen on %s: %s", cfg->listen, w ? w : err_str(rc));
            return rc;
        }
    }
    if ((rc = config_control_socket(cfg, sv->r->home, path)) != ERR_OK) {
        snprintf(why, why_size, "the control socket's path is too long for a Unix socket");
    } else if (sv->ctl == NULL || strcmp(path, sv->control_path) != 0) {
        if ((rc = control_open(&ctl, sv->loop, path, serve_on_control, sv, &w)) != ERR_OK) {
            snprintf(why, why_size, "control socket %s: %s", path, w ? w : err_str(rc));
        }
    }
    if (rc != ERR_OK) {
        transport_close(t);
        return rc;
    }
    if (t != NULL) {
        transport_close(sv->t);
        sv->t = t;
    }
    if (ctl != NULL) {
        control_close(sv->ctl);
        sv->ctl = ctl;
        memcpy(sv->control_path, path, sizeof path);
    }
    return ERR_OK;
}

static void
serve_stop(struct serve_ctx *sv)
{
    if (sv->stopping) {
        return;
    }
    sv->stopping = 1;
    /* Drain: the request being answered was answered (one at a time, in this loop); running
     * upstream sessions end as cancelled (recorded as failures, resumed at the next start). */
    upstreams_stop(sv->up);
    sv->up = NULL;
    transport_close(sv->t);
    sv->t = NULL;
    control_close(sv->ctl);
    sv->ctl = NULL;
    uv_close((uv_handle_t *)&sv->sigterm, NULL);
    uv_close((uv_handle_t *)&sv->sigint, NULL);
    uv_close((uv_handle_t *)&sv->sighup, NULL);
}

static void
serve_on_signal(uv_signal_t *h, int signum)
{
    struct serve_ctx *sv = h->data;
    if (signum != SIGHUP) {
        diag_info("SERVE-STOP", "signal %d: stopping", signum);
        fprintf(stderr, "cdht serve: signal %d: stopping\n", signum);
        serve_stop(sv);
        return;
    }
    /* SIGHUP: the new configuration, whole, or the running one kept. */
    struct config cfg;
    char why[CONFIG_WHY_SIZE + 64];
    err_code rc = serve_config(&sv->flags, &cfg, why, sizeof why);
    if (rc == ERR_OK) {
        rc = serve_open(sv, &cfg, why, sizeof why);
    }
    if (rc == ERR_OK) {
        rc = upstreams_reconfigure(sv->up, &cfg);
        snprintf(why, sizeof why, "the upstreams could not be set up");
    }
    if (rc != ERR_OK) {
        diag_error("SERVE-RELOAD", "the configuration was not reloaded (%s): %s; the running one "
                                   "is kept",
                   err_str(rc), why);
        return;
    }
    sv->cfg = cfg;
    diag_level = cfg.log_level;
    diag_info("SERVE-RELOAD", "configuration reloaded: listening on %s, %u upstreams",
              cfg.listen, cfg.upstream_count);
    fprintf(stderr, "cdht serve: configuration reloaded\n");
}

/* Takes the --upstream flags (repeatable) out of argv before the common parser sees it. */
static int
serve_take_upstreams(struct cli *c, int *argc, char **argv, struct serve_flags *f)
{
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        const char *v = NULL;
        if (strcmp(argv[i], "--upstream") == 0) {
            if (i + 1 >= *argc) {
                return cli_usage(c, "--upstream needs \"URL KEY\"");
            }
            v = argv[++i];
        } else if (strncmp(argv[i], "--upstream=", 11) == 0) {
            v = argv[i] + 11;
        } else {
            argv[out++] = argv[i];
            continue;
        }
        if (f->upstreams == CONFIG_UPSTREAMS_MAX) {
            return cli_usage(c, "--upstream: more than %u upstreams", CONFIG_UPSTREAMS_MAX);
        }
        f->upstream[f->upstreams++] = v;
    }
    *argc = out;
    argv[out] = NULL;
    return 0;
}

int
cmd_serve(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "serve",
             "serve --home DIR [--config FILE] [--listen tcp://ADDR:PORT] "
             "[--upstream \"tcp://HOST:PORT KEY\"]...");
    struct serve_ctx sv = {.loop = uv_default_loop()};
    int ec = serve_take_upstreams(&c, &argc, argv, &sv.flags);
    if (ec != 0) {
        return ec;
    }
    const struct cli_opt opts[] = {{"listen", 0, &sv.flags.listen, NULL},
                                   {"config", 0, &sv.flags.cfile, NULL}};
    ec = cli_parse(&c, argc, argv, opts, 2, 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    char why[CONFIG_WHY_SIZE + 64];
    err_code rc = serve_config(&sv.flags, &sv.cfg, why, sizeof why);
    if (rc != ERR_OK) {
        return rc == ERR_NOTFOUND || rc == ERR_IO ? cli_fail(&c, rc, "%s", why)
                                                  : cli_usage(&c, "%s", why);
    }
    diag_level = sv.cfg.log_level;
    if ((ec = cli_open(&c, 1, &sv.r)) != 0) {
        return ec;
    }
    sv.started_ms = hlc_wall_ms();
    /* peers_max applies from start (a reload keeps the slots it started with). */
    rc = session_server_init_slots(&sv.s, sv.r, sv.cfg.peers_max);
    if (rc == ERR_OK) {
        rc = serve_open(&sv, &sv.cfg, why, sizeof why);
    } else {
        snprintf(why, sizeof why, "%s", err_str(rc));
    }
    if (rc == ERR_OK && (rc = upstreams_start(&sv.up, sv.loop, sv.r, &sv.cfg)) != ERR_OK) {
        snprintf(why, sizeof why, "the upstreams could not be set up: %s", err_str(rc));
    }
    if (rc == ERR_OK && (rc = replica_hold(sv.r, 0)) != ERR_OK) {
        snprintf(why, sizeof why, "cannot let go of the write lock: %s", err_str(rc));
    }
    uv_signal_init(sv.loop, &sv.sigterm);
    uv_signal_init(sv.loop, &sv.sigint);
    uv_signal_init(sv.loop, &sv.sighup);
    sv.sigterm.data = sv.sigint.data = sv.sighup.data = &sv;
    if (rc != ERR_OK) {
        serve_stop(&sv);
        uv_run(sv.loop, UV_RUN_DEFAULT); /* closes what was opened */
        session_server_free(&sv.s);
        replica_close(sv.r);
        (void)uv_loop_close(sv.loop);
        return cli_fail(&c, rc, "%s", why);
    }
    uv_signal_start(&sv.sigterm, serve_on_signal, SIGTERM);
    uv_signal_start(&sv.sigint, serve_on_signal, SIGINT);
    uv_signal_start(&sv.sighup, serve_on_signal, SIGHUP);
    fprintf(stderr, "cdht serve: listening on %s, %u upstream%s, control socket %s\n",
            sv.cfg.listen, sv.cfg.upstream_count, sv.cfg.upstream_count == 1 ? "" : "s",
            sv.control_path);
    uv_run(sv.loop, UV_RUN_DEFAULT);
    session_server_free(&sv.s);
    replica_close(sv.r);
    (void)uv_loop_close(sv.loop);
    return CLI_OK;
}

/* `cdht sync --now`: the running serve dials its upstreams; its answer is printed. */
static int
sync_now(struct cli *c, const char *cfile)
{
    struct config cfg;
    char why[CONFIG_WHY_SIZE];
    unsigned line = 0;
    config_defaults(&cfg);
    if (cfile != NULL) {
        err_code rc = config_load(&cfg, cfile, why, &line);
        if (rc != ERR_OK) {
            return cli_fail(c, rc, "%s, line %u: %s", cfile, line, why);
        }
    }
    if (c->home == NULL) {
        return cli_usage(c, "--home DIR is required (or CDHT_HOME)");
    }
    char path[CONFIG_CONTROL_PATH_SIZE_MAX + 1];
    if (config_control_socket(&cfg, c->home, path) != ERR_OK) {
        return cli_usage(c, "the control socket's path is too long for a Unix socket");
    }
    static char answer[SERVE_CONTROL_ANSWER_MAX];
    int wait_ms = 2 * (int)cfg.session_timeout_s * 1000 + SERVE_NOW_MARGIN_MS;
    err_code rc = control_ask(path, "sync", wait_ms, answer, sizeof answer);
    if (rc == ERR_NOTFOUND) {
        return cli_fail(c, ERR_CLOSED,
                        "no cdht serve answers on %s: start it, or sync once with --peer URL "
                        "--peer-key KEY",
                        path);
    }
    if (rc != ERR_OK) {
        return cli_fail(c, rc, "the node did not answer in %d s: %s", wait_ms / 1000,
                        err_str(rc));
    }
    unsigned ok = 0, n = 0;
    if (strncmp(answer, "refused: ", 9) == 0) {
        char *nl = strchr(answer, '\n');
        if (nl != NULL) {
            *nl = '\0';
        }
        return cli_fail(c, ERR_AGAIN, "the node %s", answer);
    }
    char *end = strstr(answer, "end ");
    if (end == NULL || (end != answer && end[-1] != '\n') ||
        sscanf(end, "end %u %u", &ok, &n) != 2) {
        fputs(answer, stderr);
        return cli_fail(c, ERR_PROTO, "the node's answer did not end (it stopped?)");
    }
    *end = '\0';
    fputs(answer, stderr);
    if (n == 0) {
        return cli_fail(c, ERR_NOTFOUND, "the node has no upstream to sync with (upstream = in "
                                         "its configuration)");
    }
    if (ok != n) {
        return cli_fail(c, ERR_AGAIN, "%u of %u upstreams synced", ok, n);
    }
    return CLI_OK;
}

int
cmd_sync(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "sync",
             "sync --home DIR (--peer tcp://HOST:PORT --peer-key KEY [--timeout SECONDS] | --now "
             "[--config FILE])");
    const char *peer = NULL, *key_s = NULL, *timeout_s = NULL, *cfile = NULL;
    int now = 0;
    const struct cli_opt opts[] = {{"peer", 0, &peer, NULL},
                                   {"peer-key", 0, &key_s, NULL},
                                   {"timeout", 0, &timeout_s, NULL},
                                   {"now", 0, NULL, &now},
                                   {"config", 0, &cfile, NULL}};
    int ec = cli_parse(&c, argc, argv, opts, 5, 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    if (now) {
        if (peer != NULL || key_s != NULL || timeout_s != NULL) {
            return cli_usage(&c, "--now asks the running node; --peer, --peer-key and --timeout "
                                 "are for a one-shot sync");
        }
        return sync_now(&c, cfile);
    }
    if (peer == NULL || key_s == NULL) {
        return cli_usage(&c, "--peer URL and --peer-key KEY are required (the callee's `cdht "
                             "whoami`, first line), or --now to ask the running node");
    }
    uint8_t pk[KEY_PUBLIC_SIZE];
    if (cli_parse_key(key_s, pk) != 0) {
        return cli_usage(&c, "--peer-key: not a base64 Ed25519 public key (44 characters)");
    }
    int64_t timeout = SESSION_TIMEOUT_MS_DEFAULT / 1000;
    if (timeout_s != NULL && cli_parse_i64(timeout_s, 1, 3600, &timeout) != 0) {
        return cli_usage(&c, "--timeout: seconds, 1 to 3600");
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, 1, &r)) != 0) {
        return ec;
    }
    /* The write lock only for each reply's work: a serve running on the same home goes on
     * answering its own peers meanwhile. */
    struct session_report rep;
    err_code rc = replica_hold(r, 0);
    if (rc == ERR_OK) {
        rc = session_sync_shared(r, peer, pk, timeout * 1000, 1, &rep);
    } else {
        memset(&rep, 0, sizeof rep);
    }
    /* What status will tell: the attempt, failed or not (never "done" on a timeout). */
    if (replica_hold(r, 1) != ERR_OK || session_record(r, peer, rc, &rep) != ERR_OK) {
        fprintf(stderr, "cdht sync: the result could not be recorded for cdht status\n");
    }
    replica_close(r);
    fprintf(stderr,
            "sync with %s: %llu leaves pulled (%llu held), %llu pushed (%llu logs co-signed "
            "there), %llu requests, %llu bytes sent, %llu received\n",
            peer, (unsigned long long)rep.pulled, (unsigned long long)rep.held,
            (unsigned long long)rep.pushed, (unsigned long long)rep.cosigs,
            (unsigned long long)rep.requests,
            (unsigned long long)rep.bytes_sent, (unsigned long long)rep.bytes_received);
    if (rc != ERR_OK) {
        return cli_fail(&c, rc, "sync failed: %s", rep.msg[0] ? rep.msg : err_str(rc));
    }
    return CLI_OK;
}
