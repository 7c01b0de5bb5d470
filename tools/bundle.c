/*
 * cdht bundle export|import: moving logs by file (a USB stick from village to commune).
 * Export writes what the other side lacks (--since its heads file); import verifies the whole
 * bundle before anything reaches a table, so a refused bundle changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "domain.h"
#include "exchange.h"
#include "heads.h"
#include "replica.h"
#include "scope.h"
#include "trust.h"
#include "witness.h"

/* The recipient's scope from --for KEY or --scope UNIT (node/scope.h); *scoped 0 when neither
 * was given, after warning when a root is pinned that the bundle carries everything. Returns 0
 * to go on, or the exit code after printing why. */
static int
bundle_scope(const struct cli *c, struct replica *r, const uint8_t *for_key, const char *unit,
             struct scope *s, int *scoped)
{
    *scoped = for_key != NULL || unit != NULL;
    if (!*scoped) {
        uint8_t root[KEY_PUBLIC_SIZE];
        int pinned = 0;
        if (trust_root(r->st, root, &pinned) == ERR_OK && pinned) {
            fprintf(stderr, "cdht bundle export: warning: no --for KEY or --scope UNIT: the bundle "
                            "carries every log this replica holds, other units' people included\n");
        }
        return 0;
    }
    err_code rc =
        for_key != NULL ? scope_from_key(r->st, for_key, s) : scope_from_unit(r->st, unit, s);
    if (rc == ERR_INVAL) {
        return cli_fail(c, rc,
                        "this replica has no root pinned (open mode): there are no "
                        "certificates to scope a bundle by; nothing was exported");
    }
    if (rc == ERR_NOTFOUND && for_key != NULL) {
        return cli_fail(c, rc,
                        "--for: this key holds no valid certificate chain here (cdht cert "
                        "list shows the devices that do); nothing was exported");
    }
    if (rc == ERR_NOTFOUND) {
        return cli_fail(c, rc,
                        "--scope: unknown unit %s (cdht unit list shows the units this "
                        "replica holds); nothing was exported",
                        unit);
    }
    if (rc == ERR_MSGSIZE) {
        return cli_fail(c, rc,
                        "--for: the key's grants name more than %u units; export with "
                        "--scope UNIT instead",
                        SCOPE_UNITS_MAX);
    }
    return rc == ERR_OK ? 0 : cli_fail(c, rc, "cannot read the trust state: %s", err_str(rc));
}

static int
bundle_export(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "bundle export",
             "bundle export --home DIR -o FILE [--since HEADS] [--for KEY | --scope UNIT]");
    const char *out = NULL, *since = NULL, *for_s = NULL, *unit = NULL, *why = NULL;
    uint8_t for_key[KEY_PUBLIC_SIZE];
    const struct cli_opt opts[] = {
        {"output", 'o', &out, NULL},
        {"since", 0, &since, NULL},
        {"for", 0, &for_s, NULL},
        {"scope", 0, &unit, NULL},
    };
    int pec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (pec != 0) {
        return pec == CLI_HELP_SHOWN ? CLI_OK : pec;
    }
    if (out == NULL) {
        return cli_usage(&c, "-o FILE is required");
    }
    if (for_s != NULL && unit != NULL) {
        return cli_usage(&c, "give --for KEY or --scope UNIT, not both");
    }
    if (for_s != NULL && cli_parse_key(for_s, for_key) != 0) {
        return cli_usage(&c, "--for: not a base64 Ed25519 public key (44 characters)");
    }
    if (unit != NULL && domain_unit_code_check(unit, &why) != ERR_OK) {
        return cli_usage(&c, "--scope: %s", why);
    }
    struct heads_entry *heads = NULL;
    size_t heads_n = 0;
    if (since != NULL) {
        uint8_t *buf = NULL;
        size_t len = 0;
        err_code rc = ERR_OK;
        if (cli_read_file(since, HEADS_FILE_SIZE_MAX, &buf, &len, &rc) != 0) {
            return cli_fail(
                &c, rc == ERR_MSGSIZE ? ERR_MSGSIZE : ERR_INVAL, "--since %s: %s", since,
                rc == ERR_MSGSIZE ? "larger than a heads file can be" : "cannot read it");
        }
        rc = heads_decode(buf, len, &heads, &heads_n);
        free(buf);
        if (rc != ERR_OK) {
            return cli_fail(&c, rc, "--since %s: not a valid heads file (%s)", since, err_str(rc));
        }
    }
    struct replica *r = NULL;
    int ec = cli_open(&c, 0, &r);
    if (ec != 0) {
        free(heads);
        return ec;
    }
    struct scope scope;
    int scoped = 0;
    if ((ec = bundle_scope(&c, r, for_s != NULL ? for_key : NULL, unit, &scope, &scoped)) != 0) {
        replica_close(r);
        free(heads);
        return ec;
    }
    struct exchange_report rep;
    err_code rc = exchange_export_scoped(r, out, heads, heads_n, scoped ? &scope : NULL, &rep);
    replica_close(r);
    free(heads);
    if (rc != ERR_OK) {
        return cli_fail(&c, rc, "%s", rep.msg[0] ? rep.msg : err_str(rc));
    }
    fprintf(stderr, "exported %llu leaves of %llu logs to %s\n", (unsigned long long)rep.leaves,
            (unsigned long long)rep.logs, out);
    if (scoped) {
        fprintf(stderr, "left out %llu logs outside the recipient's scope\n",
                (unsigned long long)rep.out_of_scope);
    }
    return CLI_OK;
}

static int
bundle_import(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "bundle import", "bundle import --home DIR FILE");
    int ec = cli_parse_common(&c, argc, argv, 1, "exactly one bundle FILE is required");
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    const char *path = argv[optind];
    struct replica *r = NULL;
    ec = cli_open(&c, REPLICA_WRITE, &r);
    if (ec != 0) {
        return ec;
    }
    struct exchange_report rep;
    err_code rc = exchange_import(r, path, &rep);
    struct witness_report wrep = {0};
    err_code wrc = rc == ERR_OK ? witness_after_import(r, &wrep) : ERR_OK;
    replica_close(r);
    if (rc != ERR_OK && rep.leaves > 0) {
        /* Pass one had verified everything; the disk or database failed while applying. */
        return cli_fail(&c, rc,
                        "%s: %s; the %llu verified leaves applied before it stopped are kept: "
                        "import the bundle again",
                        path, rep.msg[0] ? rep.msg : err_str(rc), (unsigned long long)rep.leaves);
    }
    if (rc != ERR_OK) {
        return cli_fail(&c, rc, "%s: refused: %s; nothing was imported", path,
                        rep.msg[0] ? rep.msg : err_str(rc));
    }
    fprintf(stderr, "imported %llu new leaves of %llu logs (%llu already held",
            (unsigned long long)rep.leaves, (unsigned long long)rep.logs,
            (unsigned long long)rep.duplicates);
    if (rep.skewed > 0) {
        fprintf(stderr, "; %llu with clocks far ahead of this one, flagged",
                (unsigned long long)rep.skewed);
    }
    fprintf(stderr, ")\n");
    if (rep.out_of_scope > 0) {
        fprintf(stderr, "skipped %llu logs outside this replica's scope (verified, not stored)\n",
                (unsigned long long)rep.out_of_scope);
    }
    if (rep.equivocations > 0) {
        fprintf(stderr,
                "stored %llu new equivocation proofs; %llu leaves of frozen logs not "
                "applied (cdht log equivocations)\n",
                (unsigned long long)rep.equivocations, (unsigned long long)rep.frozen);
    }
    if (wrc != ERR_OK) {
        return cli_fail(&c, wrc, "the bundle was imported, but co-signing failed: %s",
                        err_str(wrc));
    }
    if (wrep.cosigned + wrep.inconsistent > 0) {
        fprintf(stderr, "witness: co-signed %llu logs; %llu inconsistent, refused\n",
                (unsigned long long)wrep.cosigned, (unsigned long long)wrep.inconsistent);
    }
    return CLI_OK;
}

int
cmd_bundle(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "export") == 0) {
        return bundle_export(argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "import") == 0) {
        return bundle_import(argc - 1, argv + 1);
    }
    int help = argc >= 2 && cli_is_help(argv[1]);
    fprintf(help ? stdout : stderr, "usage: cdht bundle export --home DIR -o FILE [--since HEADS] "
                                    "[--for KEY | --scope UNIT]\n"
                                    "       cdht bundle import --home DIR FILE\n");
    return help ? CLI_OK : CLI_USAGE;
}
