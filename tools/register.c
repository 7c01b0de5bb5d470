/*
 * cdht register: the first step of a person's year (node/flow.h). It creates the assessment row
 * "<year>:<person>" in stage draft, recording the target group and the framework that applies to
 * the person's unit that year, so that a later framework never rescores it. Registering again
 * with the same values changes nothing; a different group is accepted only while in draft.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "flow.h"
#include "replica.h"

int
cmd_register(int argc, char **argv)
{
    struct cli c;
    const char *person = NULL, *year_s = NULL, *group = NULL, *fw = NULL, *digital = NULL;
    cli_init(&c, "register",
             "register --home DIR --person ID --year YYYY [--group farmer|worker|official] "
             "[--framework FW] [--digital none|basic|proficient]");
    const struct cli_opt opts[] = {
        {"person", 0, &person, NULL}, {"year", 0, &year_s, NULL},     {"group", 0, &group, NULL},
        {"framework", 0, &fw, NULL},  {"digital", 0, &digital, NULL},
    };
    int ec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    int64_t year = 0;
    if (person == NULL || year_s == NULL) {
        return cli_usage(&c, "--person and --year are required");
    }
    if (cli_parse_i64(year_s, FLOW_YEAR_MIN, FLOW_YEAR_MAX, &year) != 0) {
        return cli_usage(&c, "--year must be a year in %d..%d", FLOW_YEAR_MIN, FLOW_YEAR_MAX);
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, REPLICA_WRITE, &r)) != 0) {
        return ec;
    }
    char why[FLOW_WHY_SIZE] = "";
    int changed = 0;
    const struct flow_register_args a = {
        .person = person, .year = (int)year, .group = group, .framework = fw, .digital = digital};
    err_code rc = flow_register(r, &a, &changed, why);
    if (rc != ERR_OK) {
        ec = why[0] ? cli_fail(&c, rc, "refusing: %s; nothing was written", why)
                    : cli_write_failed(&c, r, rc);
    } else {
        printf("%d:%s\n", (int)year, person);
        if (!changed) {
            fprintf(stderr, "cdht register: already registered; nothing changed\n");
        }
    }
    replica_close(r);
    return ec;
}
