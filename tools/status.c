/*
 * cdht status: what this replica is and how it stands, in one screen: the device, its trust
 * mode (root, pinned root or open mode, said plainly), its own certificates, the logs and
 * leaves held, and what needs attention (quarantine by reason, equivocations, clock skew).
 * Counts only: never a payload. --json gives the same facts as one object.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "config.h"
#include "control.h"
#include "note.h"
#include "replica.h"
#include "session.h"
#include "store.h"
#include "trust.h"

/* How long status waits for a running node's answer on its control socket: it answers from its
 * loop between two requests, in milliseconds; a node that takes seconds is stuck, and status
 * says so rather than hang. */
#define STATUS_CONTROL_WAIT_MS 3000

/* One integer from a query without parameters; -1 on error. */
static long long
status_count(struct replica *r, const char *sql)
{
    sqlite3_stmt *s = NULL;
    long long v = -1;
    if (sqlite3_prepare_v2(r->st->db, sql, -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
        v = sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    return v;
}

struct status_out {
    int json;
    unsigned grants;
};

static err_code
status_grant(void *ctx, const struct trust_grant *g)
{
    struct status_out *o = ctx;
    char ik[48];
    cli_key_b64(g->issuer, ik);
    if (o->json) {
        printf("%s{\"role\": \"%s\", \"unit\": ", o->grants ? ", " : "", trust_role_name(g->role));
        cli_json_str(stdout, g->unit);
        printf(", \"expires\": ");
        if (g->expires != NULL) {
            cli_json_str(stdout, g->expires);
        } else {
            printf("null");
        }
        printf(", \"issuer\": \"%s\", \"certificate_index\": %llu}", ik,
               (unsigned long long)g->issuer_index);
    } else {
        printf("grant:         %s of unit %s%s%s (certificate: leaf %llu of %s)\n",
               trust_role_name(g->role), g->unit, g->expires ? ", expires " : "",
               g->expires ? g->expires : "", (unsigned long long)g->issuer_index, ik);
    }
    o->grants++;
    return ERR_OK;
}

static err_code
status_limit(void *ctx, const struct trust_device *d)
{
    struct trust_device *out = ctx;
    *out = *d;
    out->reason = NULL; /* borrowed: not kept */
    return ERR_OK;
}

/* The quarantine counted by reason, in reason order. */
static void
status_held(struct replica *r, int json)
{
    sqlite3_stmt *s = NULL;
    int first = 1;
    if (sqlite3_prepare_v2(
            r->st->db, "SELECT reason, count(*) FROM quarantine GROUP BY reason ORDER BY reason",
            -1, &s, NULL) != SQLITE_OK) {
        return;
    }
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *name = trust_reason_name((enum trust_reason)sqlite3_column_int(s, 0));
        long long n = sqlite3_column_int64(s, 1);
        if (json) {
            printf("%s\"%s\": %lld", first ? "" : ", ", name, n);
        } else {
            printf("%s%s %lld", first ? " (" : ", ", name, n);
        }
        first = 0;
    }
    if (!json && !first) {
        printf("; cdht quarantine list)");
    }
    sqlite3_finalize(s);
}

/* ms since the epoch as YYYY-MM-DDTHH:MM:SSZ, or "never". */
static void
status_time(int64_t ms, char out[32])
{
    if (ms <= 0) {
        snprintf(out, 32, "never");
        return;
    }
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Per log, against what each peer held at the end of the last session with it (peer_head):
 * the logs that differ, with the leaves to push (here more) or to pull (the peer more). Text
 * lists the first STATUS_LOGS_SHOWN; JSON every log a peer showed. */
#define STATUS_LOGS_SHOWN 10
static err_code
status_logs(struct replica *r, int json)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(r->st->db,
                           "SELECT p.peer, p.log_key, p.size, coalesce(l.size, 0) FROM peer_head p "
                           "LEFT JOIN log l ON l.key = p.log_key ORDER BY p.log_key, p.peer",
                           -1, &s, NULL) != SQLITE_OK) {
        return ERR_DB;
    }
    unsigned long long equal = 0, differ = 0, up = 0, down = 0, shown = 0;
    int rc;
    if (json) {
        printf(", \"logs_at_peers\": [");
    }
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *peer = (const char *)sqlite3_column_text(s, 0);
        const void *key = sqlite3_column_blob(s, 1);
        long long theirs = sqlite3_column_int64(s, 2), here = sqlite3_column_int64(s, 3);
        char k[48];
        if (sqlite3_column_bytes(s, 1) != KEY_PUBLIC_SIZE || peer == NULL) {
            continue;
        }
        cli_key_b64(key, k);
        if (json) {
            printf("%s{\"log\": \"%s\", \"peer\": ", equal + differ ? ", " : "", k);
            cli_json_str(stdout, peer);
            printf(", \"here\": %lld, \"there\": %lld}", here, theirs);
        }
        if (here == theirs) {
            equal++;
            continue;
        }
        differ++;
        up += here > theirs ? (unsigned long long)(here - theirs) : 0;
        down += theirs > here ? (unsigned long long)(theirs - here) : 0;
        if (!json && shown++ < STATUS_LOGS_SHOWN) {
            printf("log:           %s: %lld here, %lld at %s (%lld to %s)\n", k, here, theirs,
                   peer, here > theirs ? here - theirs : theirs - here,
                   here > theirs ? "push" : "pull");
        }
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        return ERR_DB;
    }
    if (json) {
        printf("], \"logs_equal_at_peers\": %llu, \"logs_differing\": %llu, "
               "\"leaves_pending_up\": %llu, \"leaves_pending_down\": %llu",
               equal, differ, up, down);
    } else if (equal + differ > 0) {
        printf("logs at peers: %llu equal, %llu differ (%llu leaves to push, %llu to pull, as of "
               "the last sync with each)%s\n",
               equal, differ, up, down,
               differ > STATUS_LOGS_SHOWN ? "; --json lists every log" : "");
    }
    return ERR_OK;
}

/* The running node's own account through its control socket: upstreams, next attempts. */
static void
status_node(const char *home, const char *cfile, int json)
{
    struct config cfg;
    char why[CONFIG_WHY_SIZE], path[CONFIG_CONTROL_PATH_SIZE_MAX + 1];
    unsigned line = 0;
    static char answer[8192];
    config_defaults(&cfg);
    err_code rc = cfile != NULL ? config_load(&cfg, cfile, why, &line) : ERR_OK;
    if (rc == ERR_OK) {
        rc = config_control_socket(&cfg, home, path);
    }
    if (rc == ERR_OK) {
        rc = control_ask(path, json ? "status-json" : "status", STATUS_CONTROL_WAIT_MS, answer,
                         sizeof answer);
    }
    if (json) {
        size_t n = strlen(answer);
        while (n > 0 && answer[n - 1] == '\n') {
            answer[--n] = '\0';
        }
        printf(", \"node\": %s", rc == ERR_OK && answer[0] == '{' ? answer : "null");
    } else if (rc == ERR_OK) {
        fputs(answer, stdout);
    } else if (rc == ERR_NOTFOUND) {
        printf("node:          not running (no cdht serve answers on its control socket)\n");
    } else {
        printf("node:          did not answer its control socket (%s)\n", err_str(rc));
    }
}

struct status_peers {
    int json;
    unsigned n;
};

static err_code
status_peer(void *ctx, const struct session_peer *p)
{
    struct status_peers *sp = ctx;
    char a[32], s[32];
    status_time(p->attempt_ms, a);
    status_time(p->success_ms, s);
    if (sp->json) {
        printf("%s{\"url\": ", sp->n ? ", " : "");
        cli_json_str(stdout, p->url);
        printf(", \"last_attempt\": \"%s\", \"last_success\": \"%s\", \"result\": \"%s\", "
               "\"error\": ",
               a, s, p->result == ERR_OK ? "ok" : err_str((err_code)p->result));
        cli_json_str(stdout, p->msg);
        printf(", \"pulled\": %llu, \"held\": %llu, \"pushed\": %llu, \"bytes_sent\": %llu, "
               "\"bytes_received\": %llu}",
               (unsigned long long)p->pulled, (unsigned long long)p->held,
               (unsigned long long)p->pushed, (unsigned long long)p->bytes_sent,
               (unsigned long long)p->bytes_received);
    } else {
        printf("peer:          %s: last attempt %s %s%s%s%s; pulled %llu (held %llu), pushed %llu; "
               "%llu B sent, %llu B received; last success %s\n",
               p->url, a, p->result == ERR_OK ? "ok" : "FAILED: ",
               p->result == ERR_OK ? "" : err_str((err_code)p->result),
               p->result == ERR_OK || !p->msg[0] ? "" : ": ",
               p->result == ERR_OK ? "" : p->msg,
               (unsigned long long)p->pulled, (unsigned long long)p->held,
               (unsigned long long)p->pushed, (unsigned long long)p->bytes_sent,
               (unsigned long long)p->bytes_received, s);
    }
    sp->n++;
    return ERR_OK;
}

int
cmd_status(int argc, char **argv)
{
    struct cli c;
    struct status_out o = {0};
    cli_init(&c, "status", "status --home DIR [--json] [--config FILE]");
    const char *cfile = NULL;
    const struct cli_opt opts[] = {{"json", 0, NULL, &o.json}, {"config", 0, &cfile, NULL}};
    int ec = cli_parse(&c, argc, argv, opts, 2, 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, 0, &r)) != 0) {
        return ec;
    }
    char k[48], rk[48] = "", unit[REPLICA_META_SIZE_MAX], network[REPLICA_META_SIZE_MAX];
    uint8_t root[KEY_PUBLIC_SIZE];
    int pinned = 0;
    err_code rc = replica_meta(r, "unit", unit);
    if (rc == ERR_OK) {
        rc = replica_meta(r, "network", network);
    }
    if (rc == ERR_OK) {
        rc = trust_root(r->st, root, &pinned);
    }
    long long logs = status_count(r, "SELECT count(*) FROM log");
    long long leaves = status_count(r, "SELECT count(*) FROM leaf");
    long long held = status_count(r, "SELECT count(*) FROM quarantine");
    long long equiv = status_count(r, "SELECT count(*) FROM equivocation");
    long long skew = status_count(r, "SELECT count(*) FROM leaf WHERE skew != 0");
    long long cosigs = status_count(r, "SELECT count(*) FROM cosig");
    long long devices = status_count(r, "SELECT count(*) FROM trust_dev");
    if (rc != ERR_OK || logs < 0 || leaves < 0 || held < 0 || equiv < 0 || skew < 0 || cosigs < 0 ||
        devices < 0) {
        replica_close(r);
        rc = rc != ERR_OK ? rc : ERR_DB;
        return cli_fail(&c, rc, "cannot read the replica: %s", err_str(rc));
    }
    int is_root = pinned && memcmp(root, r->pk, KEY_PUBLIC_SIZE) == 0;
    struct trust_device self = {0};
    cli_key_b64(r->pk, k);
    if (pinned) {
        cli_key_b64(root, rk);
        rc = trust_device_get(r->st, r->pk, status_limit, &self);
        rc = rc == ERR_NOTFOUND ? ERR_OK : rc;
    }
    const char *mode = !pinned ? "open" : is_root ? "root" : "pinned";
    if (o.json) {
        printf("{\"device\": \"%s\", \"unit\": ", k);
        cli_json_str(stdout, unit);
        printf(", \"network\": ");
        cli_json_str(stdout, network);
        printf(", \"trust\": \"%s\", \"root\": %s%s%s, \"grants\": [", mode, pinned ? "\"" : "",
               pinned ? rk : "null", pinned ? "\"" : "");
    } else {
        printf("device:        %s\n", k);
        printf("unit:          %s\n", unit);
        printf("network:       %s\n", network);
        if (!pinned) {
            printf("trust:         open mode: no root pinned; every verifiable log is accepted "
                   "and nothing is authorised\n");
        } else if (is_root) {
            printf("trust:         this device is the deployment's root\n");
        } else {
            printf("trust:         root %s pinned\n", rk);
        }
    }
    if (rc == ERR_OK && pinned && !is_root) {
        rc = trust_grants(r->st, r->pk, status_grant, &o);
        if (rc == ERR_NOTFOUND) {
            rc = ERR_OK;
            if (!o.json) {
                printf("grant:         none yet: this device cannot write until its certificate "
                       "arrives (cdht enroll request)\n");
            }
        }
    }
    if (o.json) {
        printf("], \"limited\": %s, \"last_index\": ", self.limited == 2   ? "\"equivocation\""
                                                       : self.limited == 1 ? "\"revoked\""
                                                                           : "null");
        if (self.limited) {
            printf("%lld", (long long)self.last_index);
        } else {
            printf("null");
        }
        printf(", \"logs\": %lld, \"devices_with_chain\": %lld, \"leaves\": %lld, "
               "\"quarantine\": {",
               logs, devices, leaves);
        status_held(r, 1);
        printf("}, \"held\": %lld, \"equivocations\": %lld, \"cosignatures\": %lld, "
               "\"skewed_leaves\": %lld, \"peers\": [",
               held, equiv, cosigs, skew);
        struct status_peers sp = {.json = 1};
        if (rc == ERR_OK) {
            rc = session_peers(r, status_peer, &sp);
        }
        printf("]");
        if (rc == ERR_OK) {
            rc = status_logs(r, 1);
        }
        status_node(c.home, cfile, 1);
        printf("}\n");
    } else {
        if (self.limited) {
            printf("WARNING:       this device is %s: its leaves after index %lld do not count\n",
                   self.limited == 2 ? "frozen by an equivocation proof" : "revoked",
                   (long long)self.last_index);
        }
        printf("logs:          %lld (%lld devices with a valid chain)\n", logs, devices);
        printf("leaves:        %lld\n", leaves);
        printf("quarantine:    %lld", held);
        status_held(r, 0);
        printf("\n");
        printf("equivocations: %lld%s\n", equiv, equiv ? " (cdht log equivocations)" : "");
        printf("cosignatures:  %lld\n", cosigs);
        printf("clock skew:    %lld leaves dated far ahead of their arrival\n", skew);
        struct status_peers sp = {.json = 0};
        if (rc == ERR_OK) {
            rc = session_peers(r, status_peer, &sp);
        }
        if (sp.n == 0) {
            printf("peers:         none synced over the network yet\n");
        }
        if (rc == ERR_OK) {
            rc = status_logs(r, 0);
        }
        status_node(c.home, cfile, 0);
    }
    replica_close(r);
    if (rc != ERR_OK) {
        return cli_fail(&c, rc, "cannot read the replica: %s", err_str(rc));
    }
    return CLI_OK;
}
