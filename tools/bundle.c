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
#include "exchange.h"
#include "heads.h"
#include "replica.h"

static int
bundle_export(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "bundle export", "bundle export --home DIR -o FILE [--since HEADS]");
    const char *out = NULL, *since = NULL;
    const struct cli_opt opts[] = {
        {"output", 'o', &out, NULL},
        {"since", 0, &since, NULL},
    };
    int pec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (pec != 0) {
        return pec == CLI_HELP_SHOWN ? CLI_OK : pec;
    }
    if (out == NULL) {
        return cli_usage(&c, "-o FILE is required");
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
    struct exchange_report rep;
    err_code rc = exchange_export(r, out, heads, heads_n, &rep);
    replica_close(r);
    free(heads);
    if (rc != ERR_OK) {
        return cli_fail(&c, rc, "%s", rep.msg[0] ? rep.msg : err_str(rc));
    }
    fprintf(stderr, "exported %llu leaves of %llu logs to %s\n", (unsigned long long)rep.leaves,
            (unsigned long long)rep.logs, out);
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
    fprintf(help ? stdout : stderr, "usage: cdht bundle export --home DIR -o FILE [--since HEADS]\n"
                                    "       cdht bundle import --home DIR FILE\n");
    return help ? CLI_OK : CLI_USAGE;
}
