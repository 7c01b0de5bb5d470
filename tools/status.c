/*
 * cdht status: what this replica is and how it stands, in one screen: the device, its trust
 * mode (root, pinned root or open mode, said plainly), its own certificates, the logs and
 * leaves held, and what needs attention (quarantine, equivocations, clock skew). Counts only:
 * never a payload.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "note.h"
#include "replica.h"
#include "store.h"
#include "trust.h"

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

struct status_grants {
    unsigned n;
};

static err_code
status_grant(void *ctx, const struct trust_grant *g)
{
    struct status_grants *sg = ctx;
    char ik[48];
    cli_key_b64(g->issuer, ik);
    printf("grant:         %s of unit %s%s%s (certificate: leaf %llu of %s)\n",
           trust_role_name(g->role), g->unit, g->expires ? ", expires " : "",
           g->expires ? g->expires : "", (unsigned long long)g->issuer_index, ik);
    sg->n++;
    return ERR_OK;
}

static err_code
status_limit(void *ctx, const struct trust_device *d)
{
    (void)ctx;
    if (d->limited) {
        printf("WARNING:       this device is %s: its leaves after index %lld do not count\n",
               d->limited == 2 ? "frozen by an equivocation proof" : "revoked",
               (long long)d->last_index);
    }
    return ERR_OK;
}

int
cmd_status(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "status", "status --home DIR");
    int ec = cli_parse_common(&c, argc, argv, 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, 0, &r)) != 0) {
        return ec;
    }
    char k[48], unit[REPLICA_META_SIZE_MAX], network[REPLICA_META_SIZE_MAX];
    uint8_t root[KEY_PUBLIC_SIZE];
    int pinned = 0;
    err_code rc = replica_meta(r, "unit", unit);
    if (rc == ERR_OK) {
        rc = replica_meta(r, "network", network);
    }
    if (rc == ERR_OK) {
        rc = trust_root(r->st, root, &pinned);
    }
    if (rc != ERR_OK) {
        replica_close(r);
        return cli_fail(&c, rc, "cannot read the replica: %s", err_str(rc));
    }
    cli_key_b64(r->pk, k);
    printf("device:        %s\n", k);
    printf("unit:          %s\n", unit);
    printf("network:       %s\n", network);
    if (!pinned) {
        printf("trust:         open mode: no root pinned; every verifiable log is accepted and "
               "nothing is authorised\n");
    } else if (memcmp(root, r->pk, KEY_PUBLIC_SIZE) == 0) {
        printf("trust:         this device is the deployment's root\n");
    } else {
        char rk[48];
        cli_key_b64(root, rk);
        printf("trust:         root %s pinned\n", rk);
        struct status_grants sg = {0};
        rc = trust_grants(r->st, r->pk, status_grant, &sg);
        if (rc == ERR_NOTFOUND) {
            printf("grant:         none yet: this device cannot write until its certificate "
                   "arrives (cdht enroll request)\n");
            rc = ERR_OK;
        }
        if (rc == ERR_OK) {
            rc = trust_device_get(r->st, r->pk, status_limit, NULL);
            rc = rc == ERR_NOTFOUND ? ERR_OK : rc;
        }
    }
    long long logs = status_count(r, "SELECT count(*) FROM log");
    long long leaves = status_count(r, "SELECT count(*) FROM leaf");
    long long held = status_count(r, "SELECT count(*) FROM quarantine");
    long long equiv = status_count(r, "SELECT count(*) FROM equivocation");
    long long skew = status_count(r, "SELECT count(*) FROM leaf WHERE skew != 0");
    long long cosigs = status_count(r, "SELECT count(*) FROM cosig");
    long long devices = status_count(r, "SELECT count(*) FROM trust_dev");
    replica_close(r);
    if (rc != ERR_OK || logs < 0 || leaves < 0 || held < 0 || equiv < 0 || skew < 0 || cosigs < 0 ||
        devices < 0) {
        return cli_fail(&c, rc != ERR_OK ? rc : ERR_DB, "cannot read the replica: %s",
                        err_str(rc != ERR_OK ? rc : ERR_DB));
    }
    printf("logs:          %lld (%lld devices with a valid chain)\n", logs, devices);
    printf("leaves:        %lld\n", leaves);
    printf("quarantine:    %lld%s\n", held, held ? " (cdht quarantine list)" : "");
    printf("equivocations: %lld%s\n", equiv, equiv ? " (cdht log equivocations)" : "");
    printf("cosignatures:  %lld\n", cosigs);
    printf("clock skew:    %lld leaves dated far ahead of their arrival\n", skew);
    return CLI_OK;
}
