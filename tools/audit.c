/*
 * cdht audit: re-verifies every log the replica holds, re-evaluates trust independently, and
 * prints one finding per problem (log, index, unit, kind, reason), as text or JSON. With
 * --bundle FILE it audits a bundle offline instead, in a throwaway replica, without importing
 * it anywhere. Exit 0 when clean, 1 with findings.
 */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "cli.h"
#include "commands.h"
#include "domain.h"
#include "note.h"
#include "replica.h"
#include "trust.h"

#define AUDIT_OPEN_MODE_TEXT                                                                       \
    "open mode: no root pinned; every verifiable log is accepted, nothing is authorised"

struct audit_out {
    int json;
    unsigned printed;
};

static void
audit_print(void *ctx, const struct audit_finding *f)
{
    struct audit_out *o = ctx;
    char k[48];
    char index[24] = "-";
    cli_key_b64(f->key, k);
    if (f->has_index) {
        snprintf(index, sizeof index, "%llu", (unsigned long long)f->index);
    }
    if (o->json) {
        printf("%s\n    {\"log\": \"%s\", \"index\": %s, \"unit\": ", o->printed ? "," : "", k,
               f->has_index ? index : "null");
        if (f->unit[0] != '\0') {
            cli_json_str(stdout, f->unit);
        } else {
            printf("null");
        }
        printf(", \"kind\": \"%s\", \"reason\": ", f->kind);
        cli_json_str(stdout, f->reason);
        printf("}");
    } else {
        printf("FINDING log %s index %s unit %s %s: %s\n", k, index,
               f->unit[0] != '\0' ? f->unit : "-", f->kind, f->reason);
    }
    o->printed++;
}

int
cmd_audit(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "audit",
             "audit --home DIR [--json] [--logs-only] [--unit CODE]\n"
             "       cdht audit --bundle FILE [--home DIR | --trust-root VKEY] [--json] "
             "[--unit CODE]");
    struct audit_out o = {0, 0};
    int logs_only = 0;
    const char *unit = NULL, *bundle = NULL, *vkey = NULL;
    const struct cli_opt opts[] = {
        {"json", 0, NULL, &o.json},   {"logs-only", 0, NULL, &logs_only}, {"unit", 0, &unit, NULL},
        {"bundle", 0, &bundle, NULL}, {"trust-root", 0, &vkey, NULL},
    };
    int pec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (pec != 0) {
        return pec == CLI_HELP_SHOWN ? CLI_OK : pec;
    }
    const char *why = NULL;
    if (unit != NULL && domain_unit_code_check(unit, &why) != ERR_OK) {
        return cli_usage(&c, "--unit: %s", why);
    }
    if (vkey != NULL && bundle == NULL) {
        return cli_usage(&c, "--trust-root is for --bundle: a replica audits against its own "
                             "pinned root");
    }
    uint8_t root[KEY_PUBLIC_SIZE];
    int pinned = 0;
    if (vkey != NULL) {
        char vname[NOTE_ORIGIN_SIZE_MAX + 1];
        if (note_verifier_key_parse(vkey, vname, root) != ERR_OK) {
            return cli_usage(&c, "--trust-root: not a verifier key (the line `cdht whoami` "
                                 "prints on the root device: cdht/<hex>+<id>+<base64>)");
        }
        pinned = 1;
    }
    struct audit_opts ao = {.flags = logs_only ? AUDIT_TRUST : AUDIT_STATE | AUDIT_TRUST,
                            .unit = unit};
    struct replica *r = NULL;
    if (bundle == NULL || (vkey == NULL && c.home != NULL && *c.home != '\0')) {
        /* The replica is only read: a bundle is audited in a throwaway replica elsewhere. */
        int ec = cli_open(&c, 0, &r);
        if (ec != 0) {
            return ec;
        }
    }
    if (bundle != NULL && r != NULL) {
        err_code trc = trust_root(r->st, root, &pinned);
        if (trc != ERR_OK) {
            replica_close(r);
            return cli_fail(&c, trc, "the audit could not read the replica: %s", err_str(trc));
        }
        replica_close(r);
        r = NULL;
    }
    struct audit_summary sum;
    if (o.json) {
        printf("{\n  \"findings\": [");
    }
    err_code rc = bundle != NULL
                      ? audit_bundle(bundle, pinned ? root : NULL, &ao, audit_print, &o, &sum)
                      : audit_run_opts(r->st, &ao, audit_print, &o, &sum);
    replica_close(r);
    if (rc != ERR_OK) {
        if (o.json) {
            printf("]\n}\n");
        }
        if (bundle != NULL) {
            return cli_fail(&c, rc, "%s: the audit could not read the bundle: %s", bundle,
                            sum.why[0] ? sum.why : err_str(rc));
        }
        return cli_fail(&c, rc, "the audit could not read the replica: %s", err_str(rc));
    }
    if (o.json) {
        printf("%s],\n  \"logs\": %llu,\n  \"leaves\": %llu,\n  \"checkpoints\": %llu,\n"
               "  \"cosignatures\": %llu,\n  \"held\": %llu,\n  \"skewed_leaves\": %llu,\n"
               "  \"open_mode\": %s,\n",
               o.printed ? "\n  " : "", (unsigned long long)sum.logs,
               (unsigned long long)sum.leaves, (unsigned long long)sum.checkpoints,
               (unsigned long long)sum.cosigs, (unsigned long long)sum.held,
               (unsigned long long)sum.skewed, sum.open_mode ? "true" : "false");
        if (sum.open_mode) {
            printf("  \"mode\": \"%s\",\n", AUDIT_OPEN_MODE_TEXT);
        }
        printf("  \"reevaluated\": %s,\n  \"unit\": ", sum.reevaluated ? "true" : "false");
        if (unit != NULL) {
            cli_json_str(stdout, unit);
        } else {
            printf("null");
        }
        printf(",\n  \"clean\": %s\n}\n", sum.findings == 0 ? "true" : "false");
    } else {
        if (sum.open_mode) {
            printf("audit: %s\n", AUDIT_OPEN_MODE_TEXT);
        }
        if (unit != NULL) {
            printf("audit: limited to unit %s (devices whose grants cover or lie inside it, the "
                   "root, and leaves naming units inside it)\n",
                   unit);
        }
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
