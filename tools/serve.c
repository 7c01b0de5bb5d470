/*
 * cdht serve and cdht sync: the network's two ends (node/session.h). serve answers sync
 * sessions on a nanomsg REP socket from a libuv loop until SIGTERM or SIGINT; sync dials one
 * callee, runs one whole session and exits 0 only when every log both may hold ended equal.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "cli.h"
#include "commands.h"
#include "config.h"
#include "replica.h"
#include "session.h"
#include "transport.h"

struct serve_ctx {
    uv_loop_t *loop;
    struct transport *t;
    struct session_server s;
    uv_signal_t sigterm, sigint;
    int failed;
};

static void
serve_on_request(void *ctx, struct transport *t, const void *buf, size_t len)
{
    struct serve_ctx *sv = ctx;
    uint8_t *out = NULL;
    size_t out_len = 0;
    /* The write lock only while answering: the operator's commands run between requests. */
    err_code rc = replica_hold(sv->s.r, 1);
    if (rc == ERR_OK) {
        rc = session_server_handle(&sv->s, buf, len, &out, &out_len);
        if (replica_hold(sv->s.r, 0) != ERR_OK) {
            fprintf(stderr, "cdht serve: cannot let go of the write lock\n");
        }
    }
    if (rc != ERR_OK) {
        fprintf(stderr, "cdht serve: a request failed: %s\n", err_str(rc));
    }
    /* Always answer (an empty reply drops the caller): REP waits for it before the next. */
    if (transport_send(t, out != NULL ? out : (const uint8_t *)"", out_len) != ERR_OK) {
        fprintf(stderr, "cdht serve: a reply could not be sent (the caller is gone)\n");
    }
    free(out);
}

static void
serve_on_signal(uv_signal_t *h, int signum)
{
    struct serve_ctx *sv = h->data;
    fprintf(stderr, "cdht serve: signal %d: stopping\n", signum);
    transport_close(sv->t);
    sv->t = NULL;
    uv_signal_stop(&sv->sigterm);
    uv_signal_stop(&sv->sigint);
    uv_close((uv_handle_t *)&sv->sigterm, NULL);
    uv_close((uv_handle_t *)&sv->sigint, NULL);
}

int
cmd_serve(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "serve", "serve --home DIR [--listen tcp://ADDR:PORT] [--config FILE]");
    const char *listen = NULL, *cfile = NULL;
    const struct cli_opt opts[] = {{"listen", 0, &listen, NULL}, {"config", 0, &cfile, NULL}};
    int ec = cli_parse(&c, argc, argv, opts, 2, 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    struct config cfg;
    char why[CONFIG_WHY_SIZE];
    unsigned line = 0;
    config_defaults(&cfg);
    if (cfile != NULL) {
        err_code rc = config_load(&cfg, cfile, why, &line);
        if (rc != ERR_OK) {
            return cli_fail(&c, rc, "%s, line %u: %s", cfile, line, why);
        }
    }
    if (listen != NULL && config_set(&cfg, "listen", listen, why) != ERR_OK) {
        return cli_usage(&c, "--listen: %s", why);
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, 1, &r)) != 0) {
        return ec;
    }
    struct serve_ctx sv = {.loop = uv_default_loop()};
    err_code rc = session_server_init(&sv.s, r);
    const char *twhy = NULL;
    if (rc == ERR_OK) {
        rc = transport_open(&sv.t, sv.loop, TRANSPORT_LISTEN, cfg.listen, serve_on_request, &sv,
                            &twhy);
    }
    if (rc != ERR_OK) {
        session_server_free(&sv.s);
        replica_close(r);
        return cli_fail(&c, rc, "cannot listen on %s: %s", cfg.listen, twhy ? twhy : err_str(rc));
    }
    uv_signal_init(sv.loop, &sv.sigterm);
    uv_signal_init(sv.loop, &sv.sigint);
    sv.sigterm.data = sv.sigint.data = &sv;
    uv_signal_start(&sv.sigterm, serve_on_signal, SIGTERM);
    uv_signal_start(&sv.sigint, serve_on_signal, SIGINT);
    if ((rc = replica_hold(r, 0)) != ERR_OK) {
        return cli_fail(&c, rc, "cannot let go of the write lock: %s", err_str(rc));
    }
    fprintf(stderr, "cdht serve: listening on %s\n", cfg.listen);
    uv_run(sv.loop, UV_RUN_DEFAULT);
    session_server_free(&sv.s);
    replica_close(r);
    (void)uv_loop_close(sv.loop);
    return CLI_OK;
}

int
cmd_sync(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "sync",
             "sync --home DIR --peer tcp://HOST:PORT --peer-key KEY [--timeout SECONDS]");
    const char *peer = NULL, *key_s = NULL, *timeout_s = NULL;
    const struct cli_opt opts[] = {
        {"peer", 0, &peer, NULL}, {"peer-key", 0, &key_s, NULL}, {"timeout", 0, &timeout_s, NULL}};
    int ec = cli_parse(&c, argc, argv, opts, 3, 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    if (peer == NULL || key_s == NULL) {
        return cli_usage(&c, "--peer URL and --peer-key KEY are required (the callee's `cdht "
                             "whoami`, first line)");
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
    struct session_report rep;
    err_code rc = session_sync(r, peer, pk, timeout * 1000, &rep);
    /* What status will tell: the attempt, failed or not (never "done" on a timeout). */
    if (session_record(r, peer, rc, &rep) != ERR_OK) {
        fprintf(stderr, "cdht sync: the result could not be recorded for cdht status\n");
    }
    replica_close(r);
    fprintf(stderr,
            "sync with %s: %llu leaves pulled (%llu held), %llu pushed, %llu requests, %llu "
            "bytes sent, %llu received\n",
            peer, (unsigned long long)rep.pulled, (unsigned long long)rep.held,
            (unsigned long long)rep.pushed, (unsigned long long)rep.requests,
            (unsigned long long)rep.bytes_sent, (unsigned long long)rep.bytes_received);
    if (rc != ERR_OK) {
        return cli_fail(&c, rc, "sync failed: %s", rep.msg[0] ? rep.msg : err_str(rc));
    }
    return CLI_OK;
}
