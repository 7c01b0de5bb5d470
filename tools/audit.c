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
    static const struct option opts[] = {
        CLI_COMMON_OPTIONS,
        {"json", no_argument, NULL, 'j'},
        {"logs-only", no_argument, NULL, 'L'},
        {NULL, 0, NULL, 0},
    };
    struct audit_out o = {0, 0};
    unsigned flags = AUDIT_STATE;
    int opt;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (cli_common(&c, opt, optarg)) {
            continue;
        }
        switch (opt) {
        case 'j': o.json = 1; break;
        case 'L': flags &= ~(unsigned)AUDIT_STATE; break;
        case 'h': cli_usage(&c, NULL); return CLI_OK;
        default: return cli_bad_option(&c, opt, argv);
        }
    }
    if (optind != argc) {
        return cli_extra_argument(&c);
    }
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
