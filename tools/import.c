/*
 * cdht import: a branch's person list or score sheet (CSV or XLSX with the template's
 * Vietnamese headers, docs/import-template.md) into the replica, through node/importer.c.
 * Every bad row is listed as `line N, column "HEADER": reason`; --dry-run lists them on stdout
 * and writes nothing; otherwise any bad row stops the whole import unless --skip-bad. Importing
 * the same file again writes nothing (no leaf), because only cells that differ are put.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "flow.h"
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
    const char *as = NULL, *kind = NULL, *year_s = NULL;
    cli_init(&c, "import",
             "import --home DIR FILE.csv|FILE.xlsx [--as persons|scores] [--year Y] [--dry-run] "
             "[--skip-bad]");
    const struct cli_opt opts[] = {
        {"dry-run", 0, NULL, &dry_run}, {"skip-bad", 0, NULL, &skip_bad},
        {"as", 0, &as, NULL},           {"kind", 0, &kind, NULL}, /* the first name of --as */
        {"year", 0, &year_s, NULL},
    };
    int ec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 1,
                       "exactly one FILE is required");
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    if (as != NULL && kind != NULL) {
        return cli_usage(&c, "--as and --kind are the same option: give one");
    }
    as = as != NULL ? as : kind;
    /* "self" is the design's name for self scores (a later --as review writes reviews). */
    int scores = 0;
    if (as != NULL && (strcmp(as, "scores") == 0 || strcmp(as, "self") == 0)) {
        scores = 1;
    } else if (as != NULL && strcmp(as, "persons") != 0 && strcmp(as, "people") != 0) {
        return cli_usage(&c, "--as: persons (a person list) or scores (a score sheet of self "
                             "scores)");
    }
    int64_t year = 0;
    if (year_s != NULL && !scores) {
        return cli_usage(&c, "--year: only with --as scores");
    }
    if (year_s != NULL && cli_parse_i64(year_s, FLOW_YEAR_MIN, FLOW_YEAR_MAX, &year) != 0) {
        return cli_usage(&c, "--year: a year, %d to %d", FLOW_YEAR_MIN, FLOW_YEAR_MAX);
    }
    const char *path = argv[optind];
    struct replica *r = NULL;
    if ((ec = cli_open(&c, dry_run ? 0 : REPLICA_WRITE, &r)) != 0) {
        return ec;
    }
    struct importer_opts o = {.dry_run = dry_run,
                              .skip_bad = skip_bad,
                              .current_year = import_current_year(),
                              .year = (int)year};
    struct importer_result res;
    char why[SHEET_WHY_SIZE];
    err_code rc =
        scores ? importer_scores(r, path, &o, &res, why) : importer_persons(r, path, &o, &res, why);
    /* Score sheets register assessments where person lists make people. */
    const char *made = scores ? "registered" : "new";
    if (rc == ERR_INVAL || rc == ERR_MSGSIZE || rc == ERR_NOTFOUND || rc == ERR_IO) {
        import_list(stderr, &res);
        ec = cli_fail(&c, rc == ERR_MSGSIZE ? ERR_INVAL : rc, "refusing: %s; nothing was written",
                      why);
    } else if (rc != ERR_OK) {
        ec = cli_write_failed(&c, r, rc);
    } else if (dry_run) {
        import_list(stdout, &res);
        fprintf(stderr,
                "%zu rows, %zu bad, %zu %s, %zu changed, %zu unchanged; nothing imported "
                "(--dry-run)\n",
                res.rows, res.bad_rows, res.new_people, made, res.changed, res.unchanged);
        ec = res.bad_rows > 0 ? CLI_USAGE : CLI_OK;
    } else if (!res.written && res.bad_rows > 0) {
        import_list(stderr, &res);
        ec = cli_fail(&c, ERR_INVAL,
                      "refusing: %zu of %zu rows are bad; nothing was written (fix them, or "
                      "--skip-bad imports the others)",
                      res.bad_rows, res.rows);
    } else {
        import_list(stderr, &res);
        printf("imported %zu rows: %zu %s, %zu changed, %zu unchanged, %zu bad skipped; "
               "%zu leaves\n",
               res.rows, res.new_people, made, res.changed, res.unchanged, res.bad_rows,
               res.leaves);
        ec = res.bad_rows > 0 ? CLI_FINDINGS : CLI_OK;
    }
    importer_result_release(&res);
    replica_close(r);
    return ec;
}
