/*
 * cdht approve: the commune's decision on branch-reviewed assessments (node/flow.h): approved,
 * with the decision's number, date and signer, or rejected with a reason. Each decision is one
 * approval row written whole, one leaf each, so a person's certificate proof stays small. With
 * --all-reviewed every branch-reviewed assessment under a unit that meets the criteria is
 * approved in one batch; the others are listed as skipped, never rejected implicitly.
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

/* Assessments one --all-reviewed run decides: a commune assesses about 10,000 people a year;
 * the ids are held in memory (40 bytes each). More: refused, run it per village. */
#define APPROVE_BATCH_COUNT_MAX 100000u

struct approve_ids {
    char (*id)[FLOW_ID_SIZE]; /* owned */
    size_t n;
};

/* The branch_reviewed assessments of year whose unit lies under unit. */
static err_code
approve_collect(struct replica *r, const char *unit, int year, struct approve_ids *out)
{
    sqlite3_stmt *q = NULL;
    err_code rc = ERR_OK;
    int src = sqlite3_prepare_v2(r->st->db,
                                 "SELECT id, unit FROM assessment_state WHERE year=?1 AND "
                                 "status='branch_reviewed' ORDER BY id",
                                 -1, &q, NULL);
    if (src != SQLITE_OK) {
        return store_err(r->st, src, "assessments");
    }
    sqlite3_bind_int(q, 1, year);
    size_t cap = 0;
    while ((src = sqlite3_step(q)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(q, 0);
        const char *u = (const char *)sqlite3_column_text(q, 1);
        int yes = 0;
        if (id == NULL || u == NULL || strlen(id) >= FLOW_ID_SIZE) {
            continue;
        }
        if ((rc = trust_covers(r->st, unit, u, &yes)) != ERR_OK) {
            break;
        }
        if (!yes) {
            continue;
        }
        if (out->n == APPROVE_BATCH_COUNT_MAX) {
            rc = ERR_MSGSIZE;
            break;
        }
        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            void *p = realloc(out->id, ncap * sizeof *out->id);
            if (p == NULL) {
                rc = ERR_NOMEM;
                break;
            }
            out->id = p;
            cap = ncap;
        }
        snprintf(out->id[out->n++], FLOW_ID_SIZE, "%s", id);
    }
    if (rc == ERR_OK && src != SQLITE_DONE) {
        rc = store_err(r->st, src, "assessments");
    }
    sqlite3_finalize(q);
    return rc;
}

/* --all-reviewed: one batch of leaves, one per approval. */
static int
approve_all(const struct cli *c, struct replica *r, const char *unit, int year,
            const struct flow_decision *d)
{
    struct approve_ids ids = {NULL, 0};
    size_t done = 0, skipped = 0;
    char why[FLOW_WHY_SIZE];
    err_code rc = approve_collect(r, unit, year, &ids);
    if (rc == ERR_OK) {
        rc = replica_batch_begin(r);
    }
    if (rc != ERR_OK) {
        free(ids.id);
        return cli_fail(c, rc, "cannot list the reviewed assessments: %s", err_str(rc));
    }
    /* Decided totals, printed only once the batch is durable (-1: skipped). */
    int *totals = ids.n > 0 ? calloc(ids.n, sizeof *totals) : NULL;
    if (ids.n > 0 && totals == NULL) {
        rc = ERR_NOMEM;
    }
    for (size_t i = 0; i < ids.n && rc == ERR_OK; i++) {
        const char *person = strchr(ids.id[i], ':') + 1;
        why[0] = '\0';
        rc = flow_approve(r, person, year, d, &totals[i], why);
        if (rc == ERR_OK) {
            done++;
        } else if (why[0] != '\0') {
            fprintf(stderr, "cdht approve: %s skipped: %s\n", ids.id[i], why);
            totals[i] = -1;
            skipped++;
            rc = ERR_OK;
        }
    }
    if (rc == ERR_OK) {
        rc = replica_batch_commit(r);
    } else {
        replica_batch_abort(r);
    }
    for (size_t i = 0; rc == ERR_OK && i < ids.n; i++) {
        if (totals[i] >= 0) {
            printf("%s\t%d\t%s\n", ids.id[i], totals[i], d->reject ? "rejected" : "approved");
        }
    }
    free(totals);
    free(ids.id);
    if (rc != ERR_OK) {
        return cli_write_failed(c, r, rc);
    }
    fprintf(stderr, "cdht approve: %zu %s, %zu skipped\n", done,
            d->reject ? "rejected" : "approved", skipped);
    return CLI_OK;
}

int
cmd_approve(int argc, char **argv)
{
    struct cli c;
    const char *person = NULL, *year_s = NULL, *unit = NULL;
    struct flow_decision d = {0};
    int all = 0;
    cli_init(&c, "approve",
             "approve --home DIR (--person ID | --all-reviewed --unit CODE) --year YYYY "
             "--decision NO --date YYYY-MM-DD --signer NAME [--reject --reason TEXT]");
    const struct cli_opt opts[] = {
        {"person", 0, &person, NULL},     {"year", 0, &year_s, NULL},
        {"all-reviewed", 0, NULL, &all},  {"unit", 0, &unit, NULL},
        {"decision", 0, &d.number, NULL}, {"date", 0, &d.date, NULL},
        {"signer", 0, &d.signer, NULL},   {"reject", 0, NULL, &d.reject},
        {"reason", 0, &d.reason, NULL},
    };
    int ec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    int64_t year = 0;
    if ((person == NULL) == (all == 0) || (all && unit == NULL)) {
        return cli_usage(&c, "give --person ID, or --all-reviewed with --unit CODE");
    }
    if (year_s == NULL || cli_parse_i64(year_s, FLOW_YEAR_MIN, FLOW_YEAR_MAX, &year) != 0) {
        return cli_usage(&c, "--year must be a year in %d..%d", FLOW_YEAR_MIN, FLOW_YEAR_MAX);
    }
    if (d.number == NULL || d.date == NULL || d.signer == NULL) {
        return cli_usage(&c, "--decision, --date and --signer are required");
    }
    if (d.reject && d.reason == NULL) {
        return cli_usage(&c, "--reject needs --reason");
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, REPLICA_WRITE, &r)) != 0) {
        return ec;
    }
    if (all) {
        ec = approve_all(&c, r, unit, (int)year, &d);
    } else {
        char why[FLOW_WHY_SIZE] = "";
        int total = 0;
        err_code rc = flow_approve(r, person, (int)year, &d, &total, why);
        if (rc != ERR_OK) {
            ec = why[0] ? cli_fail(&c, rc, "refusing: %s; nothing was written", why)
                        : cli_write_failed(&c, r, rc);
        } else {
            printf("%d:%s\t%d\t%s\n", (int)year, person, total, d.reject ? "rejected" : "approved");
        }
    }
    replica_close(r);
    return ec;
}
