/*
 * cdht review and cdht return: the branch's review of a self-submitted sheet (every indicator
 * scored again; by default the self scores are confirmed as they are), and the return of an
 * assessment for more evidence, by the reviewer before review or by the commune's approver
 * after it (node/flow.h). Both live here because a return is the other outcome of a review.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "flow.h"
#include "replica.h"

static int
review_year(const struct cli *c, const char *person, const char *year_s, int64_t *year)
{
    if (person == NULL || year_s == NULL) {
        return cli_usage(c, "--person and --year are required");
    }
    if (cli_parse_i64(year_s, FLOW_YEAR_MIN, FLOW_YEAR_MAX, year) != 0) {
        return cli_usage(c, "--year must be a year in %d..%d", FLOW_YEAR_MIN, FLOW_YEAR_MAX);
    }
    return 0;
}

static int
review_refused(const struct cli *c, struct replica *r, err_code rc, const char *why)
{
    return why[0] ? cli_fail(c, rc, "refusing: %s; nothing was written", why)
                  : cli_write_failed(c, r, rc);
}

/* Prints the review scores ("code<TAB>points"), the preview and the status after a write. */
static int
review_print(const struct cli *c, struct replica *r, const char *person, int year, int scores)
{
    struct flow_state s;
    struct flow_group g;
    char why[FLOW_WHY_SIZE] = "", line[FLOW_WHY_SIZE];
    int disadv = 0;
    err_code rc = flow_read(r, person, year, &s, why);
    if (rc == ERR_OK && scores && (rc = flow_assessment_group(r, &s, &g, NULL, why)) == ERR_OK) {
        rc = flow_disadvantaged(r, s.unit, year, &disadv);
    }
    if (rc != ERR_OK) {
        return cli_fail(c, rc, "written, but cannot read it back: %s", why[0] ? why : err_str(rc));
    }
    for (int i = 0; scores && i < g.g.n; i++) {
        printf("%s\t%d\n", g.code[i], s.review.v[i]);
    }
    if (scores) {
        flow_preview(&g, &s.review, disadv, line, NULL, NULL);
        printf("%s\n", line);
    }
    printf("status: %s\n", rules_state_name(s.status));
    return CLI_OK;
}

int
cmd_review(int argc, char **argv)
{
    struct cli c;
    const char *person = NULL, *year_s = NULL, *list = NULL, *pairs_s = NULL, *note = NULL;
    cli_init(&c, "review",
             "review --home DIR --person ID --year YYYY [--scores 8,9,7,10,8,9,6,7,9,8] "
             "[--score 1.1=8[,2.2=6...]] [--note TEXT]   (no scores: confirm the self scores)");
    const struct cli_opt opts[] = {
        {"person", 0, &person, NULL}, {"year", 0, &year_s, NULL}, {"scores", 0, &list, NULL},
        {"score", 0, &pairs_s, NULL}, {"note", 0, &note, NULL},
    };
    int ec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    int64_t year = 0;
    if ((ec = review_year(&c, person, year_s, &year)) != 0) {
        return ec;
    }
    char pairs_buf[512];
    const char *pairs[RULES_IND_MAX * 2];
    size_t npairs = 0;
    if (pairs_s != NULL) {
        if (strlen(pairs_s) >= sizeof pairs_buf) {
            return cli_usage(&c, "--score is too long");
        }
        snprintf(pairs_buf, sizeof pairs_buf, "%s", pairs_s);
        for (char *p = pairs_buf; p != NULL && *p != '\0' && npairs < RULES_IND_MAX * 2;) {
            char *comma = strchr(p, ',');
            if (comma != NULL) {
                *comma = '\0';
            }
            pairs[npairs++] = p;
            p = comma != NULL ? comma + 1 : NULL;
        }
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, REPLICA_WRITE, &r)) != 0) {
        return ec;
    }
    char why[FLOW_WHY_SIZE] = "";
    struct flow_state s;
    struct flow_group g;
    struct flow_scores sc = {{0}, {0}};
    int given = list != NULL || npairs > 0;
    err_code rc = flow_read(r, person, (int)year, &s, why);
    if (rc == ERR_OK && given && s.a_live &&
        (rc = flow_assessment_group(r, &s, &g, NULL, why)) == ERR_OK) {
        rc = flow_scores_parse(&g, list, pairs, npairs, &sc, why);
    }
    if (rc == ERR_OK) {
        rc = flow_review(r, person, (int)year, given ? &sc : NULL, note, why);
    }
    ec = rc != ERR_OK ? review_refused(&c, r, rc, why) : review_print(&c, r, person, (int)year, 1);
    replica_close(r);
    return ec;
}

int
cmd_return(int argc, char **argv)
{
    struct cli c;
    const char *person = NULL, *year_s = NULL, *reason = NULL;
    cli_init(&c, "return", "return --home DIR --person ID --year YYYY --reason TEXT");
    const struct cli_opt opts[] = {
        {"person", 0, &person, NULL},
        {"year", 0, &year_s, NULL},
        {"reason", 0, &reason, NULL},
    };
    int ec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    int64_t year = 0;
    if ((ec = review_year(&c, person, year_s, &year)) != 0) {
        return ec;
    }
    if (reason == NULL) {
        return cli_usage(&c, "--reason is required (what evidence is missing)");
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, REPLICA_WRITE, &r)) != 0) {
        return ec;
    }
    char why[FLOW_WHY_SIZE] = "";
    err_code rc = flow_return(r, person, (int)year, reason, why);
    ec = rc != ERR_OK ? review_refused(&c, r, rc, why) : review_print(&c, r, person, (int)year, 0);
    replica_close(r);
    return ec;
}
