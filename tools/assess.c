/*
 * cdht assess: a person's self scores, digital-skill level and note for one year, and the
 * self-submission that hands the sheet to the branch review (node/flow.h). It prints every
 * indicator and a verdict preview computed with the framework the registration recorded, so a
 * volunteer sees at once whether the person meets the criteria.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "flow.h"
#include "replica.h"

/* Splits "1.1=8,2.2=6" into pairs (pointers into buf, which is modified). */
static size_t
assess_pairs(char *buf, const char *pairs[RULES_IND_MAX * 2])
{
    size_t n = 0;
    for (char *p = buf; p != NULL && *p != '\0' && n < RULES_IND_MAX * 2;) {
        char *comma = strchr(p, ',');
        if (comma != NULL) {
            *comma = '\0';
        }
        pairs[n++] = p;
        p = comma != NULL ? comma + 1 : NULL;
    }
    return n;
}

/* Prints the sheet: one "code<TAB>points" line per indicator ("-" when not given), then the
 * preview and the status. Shared shape with cdht review. */
static int
assess_print(const struct cli *c, struct replica *r, const char *person, int year, int review)
{
    struct flow_state s;
    struct flow_group g;
    char why[FLOW_WHY_SIZE], line[FLOW_WHY_SIZE];
    int disadv = 0;
    err_code rc = flow_read(r, person, year, &s, why);
    if (rc == ERR_OK) {
        rc = flow_assessment_group(r, &s, &g, NULL, why);
    }
    if (rc == ERR_OK) {
        rc = flow_disadvantaged(r, s.unit, year, &disadv);
    }
    if (rc != ERR_OK) {
        return cli_fail(c, rc, "written, but cannot read it back: %s", why[0] ? why : err_str(rc));
    }
    const struct flow_scores *sc = review ? &s.review : &s.self;
    for (int i = 0; i < g.g.n; i++) {
        if (sc->have[i]) {
            printf("%s\t%d\n", g.code[i], sc->v[i]);
        } else {
            printf("%s\t-\n", g.code[i]);
        }
    }
    flow_preview(&g, sc, disadv, line, NULL, NULL);
    printf("%s\n", line);
    if (s.digital[0] != '\0' && !review) {
        printf("digital: %s\n", s.digital);
    }
    printf("status: %s\n", rules_state_name(s.status));
    return CLI_OK;
}

int
cmd_assess(int argc, char **argv)
{
    struct cli c;
    const char *person = NULL, *year_s = NULL, *list = NULL, *pairs_s = NULL, *digital = NULL,
               *note = NULL;
    int submit = 0;
    cli_init(&c, "assess",
             "assess --home DIR --person ID --year YYYY [--scores 8,9,7,10,8,9,6,7,9,8] "
             "[--score 1.1=8[,2.2=6...]] [--digital none|basic|proficient] [--note TEXT] "
             "[--submit]");
    const struct cli_opt opts[] = {
        {"person", 0, &person, NULL}, {"year", 0, &year_s, NULL},     {"scores", 0, &list, NULL},
        {"score", 0, &pairs_s, NULL}, {"digital", 0, &digital, NULL}, {"note", 0, &note, NULL},
        {"submit", 0, NULL, &submit},
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
    char pairs_buf[512];
    const char *pairs[RULES_IND_MAX * 2];
    size_t npairs = 0;
    if (pairs_s != NULL) {
        if (strlen(pairs_s) >= sizeof pairs_buf) {
            return cli_usage(&c, "--score is too long");
        }
        snprintf(pairs_buf, sizeof pairs_buf, "%s", pairs_s);
        npairs = assess_pairs(pairs_buf, pairs);
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, REPLICA_WRITE, &r)) != 0) {
        return ec;
    }
    char why[FLOW_WHY_SIZE] = "";
    struct flow_state s;
    struct flow_group g;
    struct flow_scores sc = {{0}, {0}};
    err_code rc = flow_read(r, person, (int)year, &s, why);
    if (rc == ERR_OK && !s.a_live) {
        /* Not registered: the workflow's own sentence says so. */
        rc = flow_check(r, &s, submit ? RULES_ACT_SUBMIT : RULES_ACT_ASSESS, 0, NULL, why);
    }
    if (rc == ERR_OK && (list != NULL || npairs > 0)) {
        if ((rc = flow_assessment_group(r, &s, &g, NULL, why)) == ERR_OK) {
            rc = flow_scores_parse(&g, list, pairs, npairs, &sc, why);
        }
    }
    if (rc == ERR_OK) {
        const struct flow_assess_args a = {.person = person,
                                           .year = (int)year,
                                           .scores = &sc,
                                           .digital = digital,
                                           .note = note,
                                           .submit = submit};
        rc = flow_assess(r, &a, why);
    }
    if (rc != ERR_OK) {
        ec = why[0] ? cli_fail(&c, rc, "refusing: %s; nothing was written", why)
                    : cli_write_failed(&c, r, rc);
    } else {
        ec = assess_print(&c, r, person, (int)year, 0);
    }
    replica_close(r);
    return ec;
}
