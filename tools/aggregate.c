/*
 * cdht aggregate: the raw-data ceiling and the counts that travel above it (node/aggregate.h,
 * node/scope.h). The root sets the ceiling (`aggregate ceiling --kind commune`), a replicated
 * setting; a reporter device at the ceiling publishes a unit's counts for a year from a replica
 * holding people's rows (its own, or `--source HOME` opened read-only); `aggregate list` shows
 * the rows a replica holds. Nothing here prints or writes a person's data.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate.h"
#include "cli.h"
#include "commands.h"
#include "domain.h"
#include "flow.h"
#include "replica.h"
#include "scope.h"
#include "store.h"
#include "trust.h"

static void
aggregate_print_row(const char *pk, const struct aggregate_row *a)
{
    printf("%s", pk);
    for (unsigned i = 0; i < AGGREGATE_COUNTS; i++) {
        if (a->have[i]) {
            printf("\t%lld", (long long)a->v[i]);
        } else {
            printf("\t-");
        }
    }
    putchar('\n');
}

static int
aggregate_publish_cmd(int argc, char **argv)
{
    struct cli c;
    const char *unit = NULL, *year_s = NULL, *source = NULL;
    cli_init(&c, "aggregate publish",
             "aggregate publish --home DIR --unit CODE --year YYYY [--source RAWHOME]");
    const struct cli_opt opts[] = {
        {"unit", 0, &unit, NULL}, {"year", 0, &year_s, NULL}, {"source", 0, &source, NULL}};
    int ec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    int64_t year = 0;
    const char *bad = NULL;
    if (unit == NULL || year_s == NULL) {
        return cli_usage(&c, "--unit and --year are required");
    }
    if (domain_unit_code_check(unit, &bad) != ERR_OK) {
        return cli_usage(&c, "--unit: %s", bad);
    }
    if (cli_parse_i64(year_s, FLOW_YEAR_MIN, FLOW_YEAR_MAX, &year) != 0) {
        return cli_usage(&c, "--year must be a year in %d..%d", FLOW_YEAR_MIN, FLOW_YEAR_MAX);
    }
    struct replica *w = NULL, *src = NULL;
    if ((ec = cli_open(&c, REPLICA_WRITE, &w)) != 0) {
        return ec;
    }
    if (source != NULL) {
        const char *why = NULL;
        err_code rc = replica_open(&src, source, 0, NULL, 0, &why);
        if (rc != ERR_OK) {
            replica_close(w);
            return cli_fail(&c, rc == ERR_NOTFOUND ? ERR_INVAL : rc,
                            "--source: cannot open the replica: %s",
                            why != NULL ? why : err_str(rc));
        }
    }
    struct aggregate_row rows[AGGREGATE_ROWS_MAX];
    size_t n = 0;
    int changed = 0;
    char why[AGGREGATE_WHY_SIZE];
    err_code rc = aggregate_publish(w, src != NULL ? src->st : w->st, unit, (int)year, rows, &n,
                                    &changed, why);
    if (rc != ERR_OK) {
        ec = why[0] ? cli_fail(&c, rc, "refusing: %s; nothing was written", why)
                    : cli_write_failed(&c, w, rc);
    } else {
        for (size_t i = 0; i < n; i++) {
            char pk[PK_SIZE_MAX];
            snprintf(pk, sizeof pk, "%d:%.32s:%.32s", (int)year, unit, rows[i].grp);
            aggregate_print_row(pk, &rows[i]);
        }
        if (changed) {
            fprintf(stderr, "cdht aggregate publish: %zu rows written in one leaf\n", n);
        } else {
            fprintf(stderr, "cdht aggregate publish: already published; nothing changed\n");
        }
    }
    replica_close(src);
    replica_close(w);
    return ec;
}

static int
aggregate_ceiling_cmd(int argc, char **argv)
{
    struct cli c;
    const char *kind = NULL;
    int clear = 0;
    cli_init(&c, "aggregate ceiling",
             "aggregate ceiling --home DIR [--kind province|district|commune | --clear]");
    const struct cli_opt opts[] = {{"kind", 0, &kind, NULL}, {"clear", 0, NULL, &clear}};
    int ec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    if (kind != NULL && clear) {
        return cli_usage(&c, "give --kind or --clear, not both");
    }
    int rank = kind != NULL ? scope_kind_rank(kind) : 0;
    if (kind != NULL && (rank < 1 || rank > 3)) {
        return cli_usage(&c, "--kind must be province, district or commune");
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, kind != NULL || clear ? REPLICA_WRITE : 0, &r)) != 0) {
        return ec;
    }
    char cur[SCOPE_KIND_BUF];
    err_code rc = scope_ceiling(r->st, cur);
    if (rc != ERR_OK) {
        ec = cli_fail(&c, rc, "cannot read the settings: %s", err_str(rc));
        goto out;
    }
    if (kind == NULL && !clear) {
        printf("%s\t%s\n", SCOPE_CEILING_KEY, cur[0] ? cur : "none");
        goto out;
    }
    uint8_t root[KEY_PUBLIC_SIZE];
    int pinned = 0;
    if ((rc = trust_root(r->st, root, &pinned)) != ERR_OK) {
        ec = cli_fail(&c, rc, "cannot read the trust state: %s", err_str(rc));
        goto out;
    }
    if (!pinned || memcmp(root, r->pk, KEY_PUBLIC_SIZE) != 0) {
        ec = cli_fail(&c, ERR_DENIED,
                      "refusing: only the deployment's root sets the raw-data ceiling%s; nothing "
                      "was written",
                      pinned ? "" : " (this replica has no root pinned)");
        goto out;
    }
    if (strcmp(cur, kind != NULL ? kind : "") == 0) {
        fprintf(stderr, "cdht aggregate ceiling: already %s; nothing changed\n",
                cur[0] ? cur : "none");
        printf("%s\t%s\n", SCOPE_CEILING_KEY, cur[0] ? cur : "none");
        goto out;
    }
    struct replica_txn *t = NULL;
    const struct replica_cell cells[] = {
        {.col = "unit", .type = SCHEMA_TEXT, .s = "*"},
        {.col = "value", .type = SCHEMA_TEXT, .s = kind},
    };
    if ((rc = replica_txn_new(r, &t)) == ERR_OK) {
        rc = replica_txn_put(t, "setting", SCOPE_CEILING_KEY, clear ? 0 : 1, cells,
                             clear ? 0 : sizeof cells / sizeof cells[0], 0);
        rc = rc == ERR_OK ? replica_txn_commit(r, t, NULL) : (replica_txn_free(t), rc);
    }
    if (rc != ERR_OK) {
        ec = cli_write_failed(&c, r, rc);
    } else {
        printf("%s\t%s\n", SCOPE_CEILING_KEY, clear ? "none" : kind);
    }
out:
    replica_close(r);
    return ec;
}

static int
aggregate_list_cmd(int argc, char **argv)
{
    struct cli c;
    const char *unit = NULL, *year_s = NULL;
    cli_init(&c, "aggregate list", "aggregate list --home DIR [--unit CODE] [--year YYYY]");
    const struct cli_opt opts[] = {{"unit", 0, &unit, NULL}, {"year", 0, &year_s, NULL}};
    int ec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    int64_t year = 0;
    if (year_s != NULL && cli_parse_i64(year_s, 1900, 9999, &year) != 0) {
        return cli_usage(&c, "--year must be a year from 1900 to 9999");
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, 0, &r)) != 0) {
        return ec;
    }
    sqlite3_stmt *q = NULL;
    int src = sqlite3_prepare_v2(
        r->st->db,
        "SELECT id, unit, registered, assessed, passed, recognised, digital, proficient, "
        "fam_adults, fam_adults_rec, lu_members, lu_members_rec FROM aggregate "
        "WHERE _live AND (?1 IS NULL OR year = ?1) ORDER BY id",
        -1, &q, NULL);
    err_code rc = src == SQLITE_OK ? ERR_OK : store_err(r->st, src, "aggregates");
    if (rc == ERR_OK && year_s != NULL) {
        sqlite3_bind_int64(q, 1, year);
    }
    printf("id");
    for (unsigned i = 0; i < AGGREGATE_COUNTS; i++) {
        printf("\t%s", aggregate_cols[i]);
    }
    putchar('\n');
    while (rc == ERR_OK && (src = sqlite3_step(q)) == SQLITE_ROW) {
        const char *u = (const char *)sqlite3_column_text(q, 1);
        int yes = 1;
        if (unit != NULL && (u == NULL || (rc = trust_covers(r->st, unit, u, &yes)) != ERR_OK)) {
            yes = 0;
        }
        if (!yes) {
            continue;
        }
        struct aggregate_row a;
        memset(&a, 0, sizeof a);
        for (unsigned i = 0; i < AGGREGATE_COUNTS; i++) {
            a.have[i] = sqlite3_column_type(q, 2 + (int)i) != SQLITE_NULL;
            a.v[i] = sqlite3_column_int64(q, 2 + (int)i);
        }
        const char *id = (const char *)sqlite3_column_text(q, 0);
        aggregate_print_row(id != NULL ? id : "", &a);
    }
    if (rc == ERR_OK && src != SQLITE_DONE) {
        rc = store_err(r->st, src, "aggregates");
    }
    sqlite3_finalize(q);
    replica_close(r);
    return rc == ERR_OK ? CLI_OK : cli_fail(&c, rc, "cannot list: %s", err_str(rc));
}

int
cmd_aggregate(int argc, char **argv)
{
    if (argc >= 2) {
        if (strcmp(argv[1], "publish") == 0) {
            return aggregate_publish_cmd(argc - 1, argv + 1);
        }
        if (strcmp(argv[1], "ceiling") == 0) {
            return aggregate_ceiling_cmd(argc - 1, argv + 1);
        }
        if (strcmp(argv[1], "list") == 0) {
            return aggregate_list_cmd(argc - 1, argv + 1);
        }
    }
    int help = argc >= 2 && cli_is_help(argv[1]);
    fprintf(help ? stdout : stderr,
            "usage: cdht aggregate ceiling [--kind province|district|commune | --clear]\n"
            "       cdht aggregate publish --unit CODE --year YYYY [--source RAWHOME]\n"
            "       cdht aggregate list [--unit CODE] [--year YYYY]\n"
            "The root sets the raw-data ceiling; replicas above it hold no person's records. A\n"
            "reporter device at the ceiling publishes its unit's counts; they travel upward.\n");
    return help ? CLI_OK : CLI_USAGE;
}
