/*
 * cdht unit: the administrative units people belong to (province, commune, village, school,
 * ...). Units are replicated rows written through the log like everything else; the checks
 * here (code shape, kind, a parent that exists) run before anything is written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "domain.h"
#include "replica.h"
#include "store.h"

int
unit_exists(struct replica *r, const char *code)
{
    static const char sql[] = "SELECT 1 FROM unit WHERE code=?1 AND _live";
    sqlite3_stmt *s = store_stmt(r->st, sql);
    if (s == NULL) {
        return -1;
    }
    sqlite3_bind_text(s, 1, code, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int
unit_add(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "unit add",
             "unit add --home DIR --code CODE --kind KIND --name TEXT "
             "[--parent CODE]");
    static const struct option opts[] = {
        CLI_COMMON_OPTIONS,
        {"code", required_argument, NULL, 'c'},
        {"kind", required_argument, NULL, 'k'},
        {"name", required_argument, NULL, 'n'},
        {"parent", required_argument, NULL, 'p'},
        {NULL, 0, NULL, 0},
    };
    const char *code = NULL, *kind = NULL, *name = NULL, *parent = NULL, *why = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (cli_common(&c, opt, optarg)) {
            continue;
        }
        switch (opt) {
        case 'c': code = optarg; break;
        case 'k': kind = optarg; break;
        case 'n': name = optarg; break;
        case 'p': parent = optarg; break;
        case 'h': cli_usage(&c, NULL); return CLI_OK;
        default: return cli_bad_option(&c, opt, argv);
        }
    }
    if (optind != argc) {
        return cli_extra_argument(&c);
    }
    if (code == NULL || kind == NULL || name == NULL) {
        return cli_usage(&c, "--code, --kind and --name are required");
    }
    if (domain_unit_code_check(code, &why) != ERR_OK) {
        return cli_usage(&c, "--code: %s", why);
    }
    if (domain_unit_kind_check(kind, &why) != ERR_OK) {
        return cli_usage(&c, "--kind: %s", why);
    }
    if (parent != NULL && domain_unit_code_check(parent, &why) != ERR_OK) {
        return cli_usage(&c, "--parent: %s", why);
    }
    char *norm = NULL;
    if (domain_name_normalize(name, UNIT_NAME_SIZE_MAX, &norm, &why) != ERR_OK) {
        return cli_usage(&c, "--name: %s", why);
    }
    struct replica *r = NULL;
    int ec = cli_open(&c, REPLICA_WRITE, &r);
    if (ec != 0) {
        free(norm);
        return ec;
    }
    int e = unit_exists(r, code);
    if (e != 0) {
        ec = e < 0 ? cli_fail(&c, ERR_DB, "cannot read units")
                   : cli_fail(&c, ERR_INVAL, "unit %s exists already", code);
        goto out;
    }
    if (parent != NULL && (e = unit_exists(r, parent)) != 1) {
        ec = e < 0 ? cli_fail(&c, ERR_DB, "cannot read units")
                   : cli_fail(&c, ERR_INVAL, "--parent: unknown unit %s (add it first)", parent);
        goto out;
    }
    struct replica_cell cells[] = {
        {.col = "parent", .type = SCHEMA_TEXT, .is_null = parent == NULL, .s = parent},
        {.col = "kind", .type = SCHEMA_TEXT, .s = kind},
        {.col = "name", .type = SCHEMA_TEXT, .s = norm},
    };
    struct replica_txn *t = NULL;
    err_code rc = replica_txn_new(r, &t);
    if (rc == ERR_OK) {
        rc = replica_txn_put(t, "unit", code, 1, cells, 3, 0);
        if (rc == ERR_OK) {
            rc = replica_txn_commit(r, t, NULL);
        } else {
            replica_txn_free(t);
        }
    }
    if (rc != ERR_OK) {
        ec = cli_write_failed(&c, rc);
    }
out:
    free(norm);
    replica_close(r);
    return ec;
}

static int
unit_list(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "unit list", "unit list --home DIR");
    int ec = cli_parse_common(&c, argc, argv, 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    struct replica *r = NULL;
    ec = cli_open(&c, 0, &r);
    if (ec != 0) {
        return ec;
    }
    static const char sql[] =
        "SELECT code, ifnull(kind, '-'), ifnull(parent, '-'), ifnull(name, '') FROM unit "
        "WHERE _live ORDER BY code";
    sqlite3_stmt *s = store_stmt(r->st, sql);
    int rc = SQLITE_ERROR;
    if (s != NULL) {
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            printf("%s\t%s\t%s\t%s\n", sqlite3_column_text(s, 0), sqlite3_column_text(s, 1),
                   sqlite3_column_text(s, 2), sqlite3_column_text(s, 3));
        }
        sqlite3_reset(s);
    }
    replica_close(r);
    return rc == SQLITE_DONE ? CLI_OK : cli_fail(&c, ERR_DB, "cannot read units");
}

int
cmd_unit(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "add") == 0) {
        return unit_add(argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "list") == 0) {
        return unit_list(argc - 1, argv + 1);
    }
    int help = argc >= 2 && cli_is_help(argv[1]);
    fprintf(help ? stdout : stderr,
            "usage: cdht unit add --code CODE --kind KIND --name TEXT [--parent CODE]\n"
            "       cdht unit list\n");
    return help ? CLI_OK : CLI_USAGE;
}
