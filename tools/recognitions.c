/*
 * cdht recognitions: the Learning Citizen titles a replica holds, that is every effective
 * approval (an approval of the assessment's current round and unit, outcome approved: the view
 * assessment_state), with the decision that granted it and whether the person is "exemplary"
 * (rules_exemplary over the person's approved years, with the span of the framework recorded by
 * the registration). Names are personal data: they go to stdout only.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "flow.h"
#include "replica.h"
#include "store.h"
#include "trust.h"

#define RECOGNITIONS_COLS 10

/* Years with an effective approval per person: bounded by the span asked for (at most
 * RULES_SPAN_MAX years are ever needed). */
static err_code
recognitions_exemplary(struct replica *r, const char *person, int year, const char *fw, int *yes)
{
    struct flow_framework f;
    int years[RULES_SPAN_MAX];
    size_t n = 0;
    *yes = 0;
    err_code rc = flow_framework_get(r, fw, &f);
    int span = rc == ERR_OK ? f.exemplary_years : 5;
    if (rc != ERR_OK && rc != ERR_NOTFOUND) {
        return rc;
    }
    if (span < 1 || span > RULES_SPAN_MAX) {
        return ERR_OK;
    }
    sqlite3_stmt *q = store_stmt(r->st, "SELECT DISTINCT year FROM assessment_state WHERE "
                                        "person=?1 AND status='approved' AND year>?2 AND year<=?3");
    if (q == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_text(q, 1, person, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(q, 2, year - span);
    sqlite3_bind_int(q, 3, year);
    int src;
    while ((src = sqlite3_step(q)) == SQLITE_ROW && n < RULES_SPAN_MAX) {
        years[n++] = sqlite3_column_int(q, 0);
    }
    sqlite3_reset(q);
    if (src != SQLITE_DONE && src != SQLITE_ROW) {
        return store_err(r->st, src, "recognitions");
    }
    *yes = rules_exemplary(years, n, year, span);
    return ERR_OK;
}

#define RECOGNITIONS_COLLECTIVE_COLS 8

/* `recognitions --collectives`: the learning families, clans, communities and units recognised
 * (collective_recognition, outcome approved), with their decision. A family's name is personal
 * data: stdout only. */
static int
recognitions_collectives(struct cli *c, struct replica *r, const char *unit, const char *year_s,
                         int64_t year, const char *number, const char *fmt)
{
    sqlite3_stmt *q = NULL;
    int src = sqlite3_prepare_v2(
        r->st->db,
        "SELECT g.year, g.collective, c.kind, c.name, g.unit, g.number, g.date, g.signer "
        "FROM collective_recognition g LEFT JOIN collective c ON c.id = g.collective AND c._live "
        "WHERE g._live AND g.outcome = 'approved' AND (?1 IS NULL OR g.year = ?1) "
        "  AND (?2 IS NULL OR g.number = ?2) ORDER BY g.year, g.unit, c.name, g.collective",
        -1, &q, NULL);
    err_code rc = src == SQLITE_OK ? ERR_OK : store_err(r->st, src, "recognitions");
    if (rc == ERR_OK && year_s != NULL) {
        sqlite3_bind_int64(q, 1, year);
    }
    if (rc == ERR_OK && number != NULL) {
        sqlite3_bind_text(q, 2, number, -1, SQLITE_STATIC);
    }
    static const char *const keys[RECOGNITIONS_COLLECTIVE_COLS] = {
        "year", "collective", "kind", "name", "unit", "decision", "date", "signer"};
    if (strcmp(fmt, "csv") == 0) {
        printf("year,collective,kind,name,unit,decision,date,signer\n");
    } else if (strcmp(fmt, "json") == 0) {
        printf("[");
    }
    size_t rows = 0;
    while (rc == ERR_OK && (src = sqlite3_step(q)) == SQLITE_ROW) {
        const char *f[RECOGNITIONS_COLLECTIVE_COLS];
        for (int i = 0; i < RECOGNITIONS_COLLECTIVE_COLS; i++) {
            f[i] = (const char *)sqlite3_column_text(q, i);
            f[i] = f[i] != NULL ? f[i] : "";
        }
        int yes = 1;
        if (unit != NULL && (rc = trust_covers(r->st, unit, f[4], &yes)) == ERR_OK && !yes) {
            continue;
        }
        if (rc != ERR_OK) {
            break;
        }
        for (int i = 0; i < RECOGNITIONS_COLLECTIVE_COLS; i++) {
            if (strcmp(fmt, "table") == 0) {
                printf("%s%c", f[i], i + 1 < RECOGNITIONS_COLLECTIVE_COLS ? '\t' : '\n');
            } else if (strcmp(fmt, "csv") == 0) {
                cli_csv_str(stdout, f[i]);
                putchar(i + 1 < RECOGNITIONS_COLLECTIVE_COLS ? ',' : '\n');
            } else {
                printf("%s%s\"%s\": ", i ? ", " : rows ? ",\n  {" : "\n  {", "", keys[i]);
                if (i == 0 && f[i][0] != '\0') {
                    printf("%s", f[i]);
                } else {
                    cli_json_str(stdout, f[i]);
                }
                if (i + 1 == RECOGNITIONS_COLLECTIVE_COLS) {
                    printf("}");
                }
            }
        }
        rows++;
    }
    if (rc == ERR_OK && src != SQLITE_DONE) {
        rc = store_err(r->st, src, "recognitions");
    }
    if (strcmp(fmt, "json") == 0) {
        printf("%s]\n", rows ? "\n" : "");
    }
    sqlite3_finalize(q);
    replica_close(r);
    return rc == ERR_OK ? CLI_OK : cli_fail(c, rc, "cannot list recognitions: %s", err_str(rc));
}

int
cmd_recognitions(int argc, char **argv)
{
    struct cli c;
    const char *unit = NULL, *year_s = NULL, *person = NULL, *number = NULL, *fmt = NULL;
    cli_init(&c, "recognitions",
             "recognitions --home DIR [--unit CODE] [--year YYYY] [--person ID | --collectives] "
             "[--decision NO] [--format table|csv|json]");
    int collectives = 0;
    const struct cli_opt opts[] = {
        {"unit", 0, &unit, NULL},       {"year", 0, &year_s, NULL}, {"person", 0, &person, NULL},
        {"decision", 0, &number, NULL}, {"format", 0, &fmt, NULL},
        {"collectives", 0, NULL, &collectives},
    };
    int ec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    int64_t year = 0;
    if (year_s != NULL && cli_parse_i64(year_s, FLOW_YEAR_MIN, FLOW_YEAR_MAX, &year) != 0) {
        return cli_usage(&c, "--year must be a year in %d..%d", FLOW_YEAR_MIN, FLOW_YEAR_MAX);
    }
    fmt = fmt != NULL ? fmt : "table";
    if (strcmp(fmt, "table") != 0 && strcmp(fmt, "csv") != 0 && strcmp(fmt, "json") != 0) {
        return cli_usage(&c, "--format must be table, csv or json");
    }
    if (collectives && person != NULL) {
        return cli_usage(&c, "--collectives lists collectives: --person does not apply");
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, 0, &r)) != 0) {
        return ec;
    }
    if (collectives) {
        return recognitions_collectives(&c, r, unit, year_s, year, number, fmt);
    }
    /* NULL filters match everything (?1 IS NULL OR ...), so one statement serves all. */
    sqlite3_stmt *q = NULL;
    int src = sqlite3_prepare_v2(
        r->st->db,
        "SELECT s.year, s.person, p.name, s.unit, s.grp, a.total, a.number, a.date, a.signer, "
        "  s.framework FROM assessment_state s JOIN approval a ON a.id = s.id "
        "  LEFT JOIN person p ON p.id = s.person AND p._live "
        "WHERE s.status = 'approved' AND (?1 IS NULL OR s.year = ?1) "
        "  AND (?2 IS NULL OR s.person = ?2) AND (?3 IS NULL OR a.number = ?3) "
        "ORDER BY s.year, s.unit, p.name, s.person",
        -1, &q, NULL);
    err_code rc = src == SQLITE_OK ? ERR_OK : store_err(r->st, src, "recognitions");
    if (rc == ERR_OK) {
        if (year_s != NULL) {
            sqlite3_bind_int64(q, 1, year);
        }
        if (person != NULL) {
            sqlite3_bind_text(q, 2, person, -1, SQLITE_STATIC);
        }
        if (number != NULL) {
            sqlite3_bind_text(q, 3, number, -1, SQLITE_STATIC);
        }
    }
    static const char *const keys[RECOGNITIONS_COLS] = {"year",   "person",   "name",     "unit",
                                                        "group",  "total",    "decision", "date",
                                                        "signer", "exemplary"};
    if (strcmp(fmt, "csv") == 0) {
        printf("year,person,name,unit,group,total,decision,date,signer,exemplary\n");
    } else if (strcmp(fmt, "json") == 0) {
        printf("[");
    }
    size_t rows = 0;
    while (rc == ERR_OK && (src = sqlite3_step(q)) == SQLITE_ROW) {
        const char *f[RECOGNITIONS_COLS];
        for (int i = 0; i < 9; i++) {
            f[i] = (const char *)sqlite3_column_text(q, i);
            f[i] = f[i] != NULL ? f[i] : "";
        }
        const char *fw = (const char *)sqlite3_column_text(q, 9);
        int yes = 0;
        if (unit != NULL && (rc = trust_covers(r->st, unit, f[3], &yes)) == ERR_OK && !yes) {
            continue;
        }
        int ex = 0;
        if (rc != ERR_OK || (rc = recognitions_exemplary(r, f[1], sqlite3_column_int(q, 0),
                                                         fw ? fw : "", &ex)) != ERR_OK) {
            break;
        }
        f[9] = ex ? "yes" : "no";
        if (strcmp(fmt, "table") == 0) {
            for (int i = 0; i < RECOGNITIONS_COLS; i++) {
                printf("%s%c", f[i], i + 1 < RECOGNITIONS_COLS ? '\t' : '\n');
            }
        } else if (strcmp(fmt, "csv") == 0) {
            for (int i = 0; i < RECOGNITIONS_COLS; i++) {
                cli_csv_str(stdout, f[i]);
                putchar(i + 1 < RECOGNITIONS_COLS ? ',' : '\n');
            }
        } else {
            printf("%s\n  {", rows ? "," : "");
            for (int i = 0; i < RECOGNITIONS_COLS; i++) {
                printf("%s\"%s\": ", i ? ", " : "", keys[i]);
                if ((i == 0 || i == 5) && f[i][0] != '\0') {
                    printf("%s", f[i]);
                } else if (i == 9) {
                    printf("%s", ex ? "true" : "false");
                } else {
                    cli_json_str(stdout, f[i]);
                }
            }
            printf("}");
        }
        rows++;
    }
    if (rc == ERR_OK && src != SQLITE_DONE) {
        rc = store_err(r->st, src, "recognitions");
    }
    if (strcmp(fmt, "json") == 0) {
        printf("%s]\n", rows ? "\n" : "");
    }
    sqlite3_finalize(q);
    replica_close(r);
    return rc == ERR_OK ? CLI_OK : cli_fail(&c, rc, "cannot list recognitions: %s", err_str(rc));
}
