/*
 * cdht quarantine list: the leaves this replica holds but does not apply, because their author
 * was not entitled to write them (node/trust.h, "Why a leaf does not count"). They stay in
 * their logs and travel in bundles; a later certificate can bring them out. Each is named by
 * log key and index with the reason, never by its contents.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "replica.h"
#include "trust.h"

struct quarantine_print {
    int json;
    uint64_t n; /* entries printed */
};

static err_code
quarantine_cb(void *ctx, const struct trust_held *h)
{
    struct quarantine_print *p = ctx;
    char k[48];
    cli_key_b64(h->key, k);
    if (p->json) {
        printf("%s{\"log\":\"%s\",\"index\":%llu,\"reason\":\"%s\",\"detail\":",
               p->n > 0 ? "," : "", k, (unsigned long long)h->index, trust_reason_name(h->reason));
        if (h->detail != NULL) {
            cli_json_str(stdout, h->detail);
        } else {
            fputs("null", stdout);
        }
        fputc('}', stdout);
    } else {
        printf("%s\t%llu\t%s\t%s\n", k, (unsigned long long)h->index, trust_reason_name(h->reason),
               h->detail != NULL ? h->detail : "-");
    }
    p->n++;
    return ERR_OK;
}

static int
quarantine_list(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "quarantine list", "quarantine list --home DIR [--json]");
    struct quarantine_print p = {0, 0};
    const struct cli_opt opts[] = {{"json", 0, NULL, &p.json}};
    int ec = cli_parse(&c, argc, argv, opts, 1, 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, 0, &r)) != 0) {
        return ec;
    }
    if (p.json) {
        fputc('[', stdout);
    }
    err_code rc = trust_quarantine(r->st, quarantine_cb, &p);
    if (p.json) {
        fputs("]\n", stdout);
    }
    replica_close(r);
    if (rc != ERR_OK) {
        return cli_fail(&c, rc, "cannot read the quarantine: %s", err_str(rc));
    }
    if (!p.json) {
        fprintf(stderr, "%llu %s in quarantine\n", (unsigned long long)p.n,
                p.n == 1 ? "leaf" : "leaves");
    }
    return CLI_OK;
}

int
cmd_quarantine(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "list") == 0) {
        return quarantine_list(argc - 1, argv + 1);
    }
    int help = argc >= 2 && cli_is_help(argv[1]);
    fprintf(help ? stdout : stderr,
            "usage: cdht quarantine list [--json]\n"
            "One line per held leaf: log key, index, reason, detail (tab-separated).\n");
    return help ? CLI_OK : CLI_USAGE;
}
