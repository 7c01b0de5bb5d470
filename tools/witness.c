/*
 * cdht witness cosign|list: this replica as a witness (C2SP tlog-witness semantics; node/
 * witness.h). cosign co-signs the stored checkpoint of every log held (or one), after checking
 * it is consistent with the last one this device co-signed; list prints the cosignatures held,
 * from any witness, as they travel in bundles.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "replica.h"
#include "witness.h"

static int
witness_cosign_cmd(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "witness cosign", "witness cosign --home DIR [--log KEY]");
    const char *key_s = NULL;
    const struct cli_opt opts[] = {{"log", 0, &key_s, NULL}};
    int ec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    uint8_t key[KEY_PUBLIC_SIZE];
    if (key_s != NULL && cli_parse_key(key_s, key) != 0) {
        return cli_usage(&c, "--log: not a base64 Ed25519 public key (44 characters)");
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, REPLICA_WRITE, &r)) != 0) {
        return ec;
    }
    struct witness_report rep;
    err_code rc = witness_cosign(r, key_s != NULL ? key : NULL, &rep);
    replica_close(r);
    if (rc == ERR_NOTFOUND) {
        return cli_fail(&c, rc, "this replica holds no signed checkpoint of log %s", key_s);
    }
    if (rc != ERR_OK) {
        return cli_fail(&c, rc, "nothing co-signed: %s", err_str(rc));
    }
    fprintf(stderr,
            "co-signed %llu logs (%llu already co-signed at that size; %llu inconsistent with "
            "the checkpoint co-signed before, refused; %llu equivocation proofs stored)\n",
            (unsigned long long)rep.cosigned, (unsigned long long)rep.held,
            (unsigned long long)rep.inconsistent, (unsigned long long)rep.equivocations);
    return CLI_OK;
}

struct witness_list_ctx {
    int json;
    int first;
};

static err_code
witness_list_visit(void *ctx, const uint8_t log_key[KEY_PUBLIC_SIZE], const struct witness_cosig *w)
{
    struct witness_list_ctx *x = ctx;
    char lk[48], wk[48];
    cli_key_b64(log_key, lk);
    cli_key_b64(w->witness, wk);
    if (x->json) {
        printf("%s\n  {\"log\": \"%s\", \"witness\": \"%s\", \"size\": %llu, \"time\": %llu}",
               x->first ? "" : ",", lk, wk, (unsigned long long)w->size,
               (unsigned long long)w->time_s);
    } else {
        printf("%s %s %llu %llu\n", lk, wk, (unsigned long long)w->size,
               (unsigned long long)w->time_s);
    }
    x->first = 0;
    return ERR_OK;
}

static int
witness_list_cmd(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "witness list", "witness list --home DIR [--json]");
    struct witness_list_ctx x = {.first = 1};
    const struct cli_opt opts[] = {{"json", 0, NULL, &x.json}};
    int ec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, 0, &r)) != 0) {
        return ec;
    }
    if (x.json) {
        printf("[");
    }
    err_code rc = witness_cosigs(r->st, witness_list_visit, &x);
    replica_close(r);
    if (x.json) {
        printf("%s]\n", x.first ? "" : "\n");
    }
    return rc == ERR_OK ? CLI_OK
                        : cli_fail(&c, rc, "cannot read the cosignatures: %s", err_str(rc));
}

int
cmd_witness(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "cosign") == 0) {
        return witness_cosign_cmd(argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "list") == 0) {
        return witness_list_cmd(argc - 1, argv + 1);
    }
    int help = argc >= 2 && cli_is_help(argv[1]);
    fprintf(help ? stdout : stderr, "usage: cdht witness cosign --home DIR [--log KEY]\n"
                                    "       cdht witness list --home DIR [--json]\n");
    return help ? CLI_OK : CLI_USAGE;
}
