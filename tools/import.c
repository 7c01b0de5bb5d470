/*
 * cdht import: a branch's person list (CSV or XLSX with the template's Vietnamese headers,
 * docs/import-template.md) into the replica, through node/importer.c. Every bad row is listed
 * as `line N, column "HEADER": reason`; --dry-run lists them on stdout and writes nothing;
 * otherwise any bad row stops the whole import unless --skip-bad. Importing the same file
 * again writes nothing (no leaf), because only cells that differ are put.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "hlc.h"
#include "importer.h"
#include "replica.h"

static int
import_current_year(void)
{
    time_t s = (time_t)(hlc_wall_ms() / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    return tm.tm_year + 1900;
}

static void
import_list(FILE *f, const struct importer_result *res)
{
    for (size_t i = 0; i < res->n_bad; i++) {
        fprintf(f, "%s\n", res->bad[i]);
    }
    if (res->n_bad_unlisted > 0) {
        fprintf(f, "... and %zu more problems (not listed)\n", res->n_bad_unlisted);
    }
}

int
cmd_import(int argc, char **argv)
{
    struct cli c;
    int dry_run = 0, skip_bad = 0;
    const char *kind = NULL;
    cli_init(&c, "import",
             "import --home DIR FILE.csv|FILE.xlsx [--dry-run] [--skip-bad] [--kind people]");
    const struct cli_opt opts[] = {
        {"dry-run", 0, NULL, &dry_run},
        {"skip-bad", 0, NULL, &skip_bad},
        {"kind", 0, &kind, NULL},
    };
    int ec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 1,
                       "exactly one FILE is required");
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    if (kind != NULL && strcmp(kind, "people") != 0 && strcmp(kind, "persons") != 0) {
        return cli_usage(&c, "--kind: only people lists can be imported so far");
    }
    const char *path = argv[optind];
    struct replica *r = NULL;
    if ((ec = cli_open(&c, dry_run ? 0 : REPLICA_WRITE, &r)) != 0) {
        return ec;
    }
    struct importer_opts o = {
        .dry_run = dry_run, .skip_bad = skip_bad, .current_year = import_current_year()};
    struct importer_result res;
    char why[SHEET_WHY_SIZE];
    err_code rc = importer_persons(r, path, &o, &res, why);
    if (rc == ERR_INVAL || rc == ERR_MSGSIZE || rc == ERR_NOTFOUND || rc == ERR_IO) {
        import_list(stderr, &res);
        ec = cli_fail(&c, rc == ERR_MSGSIZE ? ERR_INVAL : rc, "refusing: %s; nothing was written",
                      why);
    } else if (rc != ERR_OK) {
        ec = cli_write_failed(&c, r, rc);
    } else if (dry_run) {
        import_list(stdout, &res);
        fprintf(stderr,
                "%zu rows, %zu bad, %zu new, %zu changed, %zu unchanged; nothing imported "
                "(--dry-run)\n",
                res.rows, res.bad_rows, res.new_people, res.changed, res.unchanged);
        ec = res.bad_rows > 0 ? CLI_USAGE : CLI_OK;
    } else if (!res.written && res.bad_rows > 0) {
        import_list(stderr, &res);
        ec = cli_fail(&c, ERR_INVAL,
                      "refusing: %zu of %zu rows are bad; nothing was written (fix them, or "
                      "--skip-bad imports the others)",
                      res.bad_rows, res.rows);
    } else {
        import_list(stderr, &res);
        printf("imported %zu rows: %zu new, %zu changed, %zu unchanged, %zu bad skipped; "
               "%zu leaves\n",
               res.rows, res.new_people, res.changed, res.unchanged, res.bad_rows, res.leaves);
        ec = res.bad_rows > 0 ? CLI_FINDINGS : CLI_OK;
    }
    importer_result_release(&res);
    replica_close(r);
    return ec;
}
