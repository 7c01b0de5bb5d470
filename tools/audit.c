/*
 * cdht audit: re-verifies every log the replica holds and prints one finding per problem
 * (log, index, kind, reason), as text or JSON. Exit 0 when clean, 1 with findings.
 */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "cli.h"
#include "commands.h"
#include "replica.h"

struct audit_out {
    int json;
    unsigned printed;
};

static void
audit_print(void *ctx, const struct audit_finding *f)
{
    struct audit_out *o = ctx;
    char k[48];
    cli_key_b64(f->key, k);
    if (o->json) {
        printf("%s\n    {\"log\": \"%s\", \"index\": %llu, \"kind\": \"%s\", \"reason\": ",
               o->printed ? "," : "", k, (unsigned long long)f->index, f->kind);
        cli_json_str(stdout, f->reason);
        printf("}");
    } else {
        printf("FINDING log %s index %llu %s: %s\n", k, (unsigned long long)f->index, f->kind,
               f->reason);
    }
    o->printed++;
}

int
cmd_audit(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "audit", "audit --home DIR [--json] [--logs-only]");
    struct audit_out o = {0, 0};
    int logs_only = 0;
    const struct cli_opt opts[] = {
        {"json", 0, NULL, &o.json},
        {"logs-only", 0, NULL, &logs_only},
    };
    int pec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (pec != 0) {
        return pec == CLI_HELP_SHOWN ? CLI_OK : pec;
    }
    unsigned flags = logs_only ? 0 : AUDIT_STATE;
    struct replica *r = NULL;
    int ec = cli_open(&c, 0, &r);
    if (ec != 0) {
        return ec;
    }
    struct audit_summary sum;
    if (o.json) {
        printf("{\n  \"findings\": [");
    }
    err_code rc = audit_run(r->st, flags, audit_print, &o, &sum);
    replica_close(r);
    if (rc != ERR_OK) {
        if (o.json) {
            printf("]\n}\n");
        }
        return cli_fail(&c, rc, "the audit could not read the replica: %s", err_str(rc));
    }
    if (o.json) {
        printf("%s],\n  \"logs\": %llu,\n  \"leaves\": %llu,\n  \"checkpoints\": %llu,\n"
               "  \"skewed_leaves\": %llu,\n  \"clean\": %s\n}\n",
               o.printed ? "\n  " : "", (unsigned long long)sum.logs,
               (unsigned long long)sum.leaves, (unsigned long long)sum.checkpoints,
               (unsigned long long)sum.skewed, sum.findings == 0 ? "true" : "false");
    } else {
        printf("audit: %llu logs, %llu leaves, %llu checkpoints verified; %llu finding%s\n",
               (unsigned long long)sum.logs, (unsigned long long)sum.leaves,
               (unsigned long long)sum.checkpoints, (unsigned long long)sum.findings,
               sum.findings == 1 ? "" : "s");
        if (sum.skewed > 0) {
            printf("audit: %llu leaves were dated more than 10 minutes ahead of this replica's "
                   "clock when they arrived (clock skew; flagged, not a finding)\n",
                   (unsigned long long)sum.skewed);
        }
    }
    return sum.findings == 0 ? CLI_OK : CLI_FINDINGS;
}
