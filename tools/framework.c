/*
 * cdht framework and cdht plan: publish the criteria frameworks and the plans' targets that a
 * hub (or the root) hands down to every replica below it, and list what a replica holds. In
 * this version publishing takes the built-in data (--seed, node/seed.h). Both commands live in
 * one file because they share the publisher's check (a hub grant covering the unit, or the
 * root) and the listing code. A published framework version is immutable: publishing it again
 * writes nothing.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "replica.h"
#include "seed.h"
#include "store.h"
#include "trust.h"

/* ---- who may publish ----------------------------------------------------------------------- */

struct framework_hub {
    struct store *st;
    const char *unit;
    int covered;
};

static err_code
framework_hub_cb(void *ctx, const struct trust_grant *g)
{
    struct framework_hub *h = ctx;
    int yes = 0;
    if (g->role == TRUST_HUB && !h->covered) {
        err_code rc = trust_covers(h->st, g->unit, h->unit, &yes);
        if (rc != ERR_OK) {
            return rc;
        }
        h->covered = yes;
    }
    return ERR_OK;
}

/* *is_root: 1 in open mode or on the root's own device. */
static err_code
framework_is_root(struct replica *r, int *is_root)
{
    uint8_t root[KEY_PUBLIC_SIZE];
    int pinned = 0;
    err_code rc = trust_root(r->st, root, &pinned);
    *is_root = rc == ERR_OK && (!pinned || memcmp(root, r->pk, KEY_PUBLIC_SIZE) == 0);
    return rc;
}

/* 0 when this device may publish for unit (open mode, the root, or a hub grant covering unit);
 * otherwise prints the refusal and returns the exit code. The commit checks again (expiry
 * included): this check exists to say plainly what is missing before building anything. */
static int
framework_may_publish(const struct cli *c, struct replica *r, const char *unit, const char *what)
{
    int is_root = 0;
    err_code rc = framework_is_root(r, &is_root);
    if (rc != ERR_OK) {
        return cli_fail(c, rc, "cannot read the trust state: %s", err_str(rc));
    }
    if (is_root) {
        return 0;
    }
    struct framework_hub h = {.st = r->st, .unit = unit, .covered = 0};
    rc = trust_grants(r->st, r->pk, framework_hub_cb, &h);
    if (rc != ERR_OK && rc != ERR_NOTFOUND) {
        return cli_fail(c, rc, "cannot read this device's grants: %s", err_str(rc));
    }
    if (!h.covered) {
        return cli_fail(c, ERR_DENIED,
                        "refusing: this device holds no hub grant covering unit %s (%s is "
                        "published by a hub or the root, and handed down); nothing was written",
                        unit, what);
    }
    return 0;
}

/* The unit to publish for: --unit, else "*" for the root (and open mode), else this device's
 * unit. */
static int
framework_unit(const struct cli *c, struct replica *r, const char *opt, char out[REPLICA_META_SIZE_MAX])
{
    if (opt != NULL) {
        snprintf(out, REPLICA_META_SIZE_MAX, "%s", opt);
        return 0;
    }
    int is_root = 0;
    err_code rc = framework_is_root(r, &is_root);
    if (rc == ERR_OK && is_root) {
        snprintf(out, REPLICA_META_SIZE_MAX, "*");
        return 0;
    }
    if (rc != ERR_OK || (rc = replica_meta(r, "unit", out)) != ERR_OK) {
        return cli_fail(c, rc, "cannot read this device's unit: %s", err_str(rc));
    }
    return 0;
}

/* 1 when a live row with this pk exists in table (a static name), 0 when not, -1 on error. */
static int
framework_row_live(struct replica *r, const char *sql, const char *pk)
{
    sqlite3_stmt *s = store_stmt(r->st, sql);
    if (s == NULL) {
        return -1;
    }
    sqlite3_bind_text(s, 1, pk, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    int v = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(s);
    return v;
}

/* ---- listings ------------------------------------------------------------------------------ */

/* Prints the rows of sql (all columns as text) as tab-separated lines, or CSV with a header
 * line. Returns the number of rows, or -1 on error. */
static long
framework_print(struct replica *r, const char *sql, const char *const head[], int ncols, int csv)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(r->st->db, sql, -1, &s, NULL) != SQLITE_OK) {
        return -1;
    }
    if (csv) {
        for (int i = 0; i < ncols; i++) {
            printf("%s%s", i ? "," : "", head[i]);
        }
        fputc('\n', stdout);
    }
    long n = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        for (int i = 0; i < ncols; i++) {
            const char *v = (const char *)sqlite3_column_text(s, i);
            if (csv) {
                if (i) {
                    fputc(',', stdout);
                }
                cli_csv_str(stdout, v ? v : "");
            } else {
                printf("%s%s", i ? "\t" : "", v ? v : "-");
            }
        }
        fputc('\n', stdout);
        n++;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? n : -1;
}

/* Parses --format table|csv into *csv; 0 or the usage exit code. */
static int
framework_format(const struct cli *c, const char *format, int *csv)
{
    if (format == NULL || strcmp(format, "table") == 0) {
        *csv = 0;
    } else if (strcmp(format, "csv") == 0) {
        *csv = 1;
    } else {
        return cli_usage(c, "--format must be table or csv");
    }
    return 0;
}

static int
framework_list_run(const char *cmd, const char *usage, int argc, char **argv, const char *sql,
                   const char *const head[], int ncols, const char *sql2,
                   const char *const head2[], int ncols2, const char *flag2)
{
    struct cli c;
    cli_init(&c, cmd, usage);
    const char *format = NULL;
    int second = 0;
    const struct cli_opt opts[] = {{"format", 0, &format, NULL}, {flag2, 0, NULL, &second}};
    int ec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    int csv = 0;
    if ((ec = framework_format(&c, format, &csv)) != 0) {
        return ec;
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, 0, &r)) != 0) {
        return ec;
    }
    long n = second ? framework_print(r, sql2, head2, ncols2, csv)
                    : framework_print(r, sql, head, ncols, csv);
    replica_close(r);
    if (n < 0) {
        return cli_fail(&c, ERR_DB, "cannot read the replica");
    }
    fprintf(stderr, "%ld %s\n", n, n == 1 ? "row" : "rows");
    return CLI_OK;
}

static int
framework_list(int argc, char **argv)
{
    static const char sql[] =
        "SELECT f.id, f.unit, f.code, f.version, f.year_from, f.year_to, "
        " (SELECT count(*) FROM framework_group g WHERE g.framework = f.id AND g._live), "
        " (SELECT count(*) FROM framework_indicator i WHERE i.framework = f.id AND i._live), "
        " f.title FROM framework f WHERE f._live ORDER BY f.id";
    static const char *const head[] = {"id",        "unit",    "code",   "version",   "year_from",
                                       "year_to",   "groups",  "indicators", "title"};
    static const char sql2[] =
        "SELECT g.framework, g.grp, g.pos, g.pass_total, g.pass_total_disadv, i.pos, i.code, "
        " i.max_points, i.min_points, i.text_vi FROM framework_group g "
        "JOIN framework_indicator i ON i.framework = g.framework AND i.grp = g.grp AND i._live "
        "WHERE g._live ORDER BY g.framework, g.pos, g.grp, i.pos";
    static const char *const head2[] = {"framework", "group", "group_pos", "pass_total",
                                        "pass_total_disadv", "pos", "code", "max", "min",
                                        "text_vi"};
    return framework_list_run("framework list",
                              "framework list --home DIR [--indicators] [--format table|csv]",
                              argc, argv, sql, head, 9, sql2, head2, 10, "indicators");
}

static int
plan_list(int argc, char **argv)
{
    static const char sql[] = "SELECT id, unit, level, code, decision, year_from, year_to, title "
                              "FROM plan WHERE _live ORDER BY id";
    static const char *const head[] = {"id",        "unit",    "level", "code",
                                       "decision",  "year_from", "year_to", "title"};
    static const char sql2[] = "SELECT plan, metric, year, pct FROM plan_target WHERE _live "
                               "ORDER BY plan, metric, year";
    static const char *const head2[] = {"plan", "metric", "year", "pct"};
    return framework_list_run("plan list",
                              "plan list --home DIR [--targets] [--format table|csv]", argc,
                              argv, sql, head, 8, sql2, head2, 4, "targets");
}

/* ---- publishing ---------------------------------------------------------------------------- */

static int
framework_publish(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "framework publish", "framework publish --home DIR --seed [--unit CODE]");
    const char *unit_opt = NULL;
    int seed = 0;
    const struct cli_opt opts[] = {{"seed", 0, NULL, &seed}, {"unit", 0, &unit_opt, NULL}};
    int ec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    if (!seed) {
        return cli_usage(&c, "--seed is required (this version publishes the built-in 244/QĐ-KHVN "
                             "framework only)");
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, REPLICA_WRITE, &r)) != 0) {
        return ec;
    }
    char unit[REPLICA_META_SIZE_MAX], pk[SEED_PK_SIZE];
    struct replica_txn *t = NULL;
    if ((ec = framework_unit(&c, r, unit_opt, unit)) != 0 ||
        (ec = framework_may_publish(&c, r, unit, "a framework")) != 0) {
        goto out;
    }
    if (seed_framework_pk(unit, pk) != ERR_OK) {
        ec = cli_usage(&c, "--unit: too long");
        goto out;
    }
    static const char q[] = "SELECT 1 FROM framework WHERE id = ?1 AND _live";
    int live = framework_row_live(r, q, pk);
    if (live != 0) {
        ec = live < 0 ? cli_fail(&c, ERR_DB, "cannot read the replica") : CLI_OK;
        if (live > 0) {
            printf("%s\n", pk);
            fprintf(stderr, "cdht framework publish: %s is already published; nothing changed\n",
                    pk);
        }
        goto out;
    }
    err_code rc = replica_txn_new(r, &t);
    if (rc == ERR_OK && (rc = seed_framework_put(t, unit)) == ERR_OK) {
        rc = replica_txn_commit(r, t, NULL);
        t = NULL; /* the commit frees it */
    }
    if (rc != ERR_OK) {
        ec = cli_write_failed(&c, r, rc);
        goto out;
    }
    printf("%s\n", pk);
    fprintf(stderr, "published framework %s: %u groups of %u indicators\n", pk, SEED_GROUPS,
            RULES_IND_MAX);
out:
    replica_txn_free(t);
    replica_close(r);
    return ec;
}

static int
plan_publish(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "plan publish", "plan publish --home DIR --seed [--unit CODE]");
    const char *unit_opt = NULL;
    int seed = 0;
    const struct cli_opt opts[] = {{"seed", 0, NULL, &seed}, {"unit", 0, &unit_opt, NULL}};
    int ec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    if (!seed) {
        return cli_usage(&c, "--seed is required (this version publishes the built-in plans "
                             "only)");
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, REPLICA_WRITE, &r)) != 0) {
        return ec;
    }
    /* The root (or open mode) publishes the national programme; the seed commune plan goes to
     * --unit, or to a hub's own unit. */
    int is_root = 0;
    struct replica_txn *t = NULL;
    char unit[REPLICA_META_SIZE_MAX] = "", pk[SEED_PK_SIZE];
    err_code rc = framework_is_root(r, &is_root);
    if (rc != ERR_OK) {
        ec = cli_fail(&c, rc, "cannot read the trust state: %s", err_str(rc));
        goto out;
    }
    int national = is_root, commune = unit_opt != NULL || !is_root;
    if (commune) {
        if ((ec = framework_unit(&c, r, unit_opt, unit)) != 0 ||
            (ec = framework_may_publish(&c, r, unit, "a plan")) != 0) {
            goto out;
        }
        if (strcmp(unit, "*") == 0 || seed_plan_commune_pk(unit, pk) != ERR_OK) {
            ec = cli_usage(&c, "--unit: a commune's unit code");
            goto out;
        }
    }
    static const char q[] = "SELECT 1 FROM plan WHERE id = ?1 AND _live";
    int have_national = national ? framework_row_live(r, q, SEED_PLAN_NATIONAL_PK) : 0;
    int have_commune = commune ? framework_row_live(r, q, pk) : 0;
    if (have_national < 0 || have_commune < 0) {
        ec = cli_fail(&c, ERR_DB, "cannot read the replica");
        goto out;
    }
    national &= !have_national;
    commune &= !have_commune;
    if (!national && !commune) {
        fprintf(stderr, "cdht plan publish: already published; nothing changed\n");
        goto out;
    }
    if ((rc = replica_txn_new(r, &t)) == ERR_OK && national) {
        rc = seed_plan_national_put(t);
    }
    if (rc == ERR_OK && commune) {
        rc = seed_plan_commune_put(t, unit);
    }
    if (rc == ERR_OK) {
        rc = replica_txn_commit(r, t, NULL);
        t = NULL; /* the commit frees it */
    }
    if (rc != ERR_OK) {
        ec = cli_write_failed(&c, r, rc);
        goto out;
    }
    if (national) {
        printf("%s\n", SEED_PLAN_NATIONAL_PK);
    }
    if (commune) {
        printf("%s\n", pk);
    }
out:
    replica_txn_free(t);
    replica_close(r);
    return ec;
}

/* ---- the two command groups ---------------------------------------------------------------- */

static int
framework_dispatch(int argc, char **argv, int (*publish)(int, char **), int (*list)(int, char **),
                   const char *usage)
{
    if (argc >= 2 && strcmp(argv[1], "publish") == 0) {
        return publish(argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "list") == 0) {
        return list(argc - 1, argv + 1);
    }
    int help = argc >= 2 && cli_is_help(argv[1]);
    fputs(usage, help ? stdout : stderr);
    return help ? CLI_OK : CLI_USAGE;
}

int
cmd_framework(int argc, char **argv)
{
    return framework_dispatch(argc, argv, framework_publish, framework_list,
                              "usage: cdht framework publish --seed [--unit CODE]\n"
                              "       cdht framework list [--indicators] [--format table|csv]\n"
                              "A hub (or the root) publishes; every replica below receives it.\n");
}

int
cmd_plan(int argc, char **argv)
{
    return framework_dispatch(argc, argv, plan_publish, plan_list,
                              "usage: cdht plan publish --seed [--unit CODE]\n"
                              "       cdht plan list [--targets] [--format table|csv]\n"
                              "The root publishes the national programme (677/QĐ-TTg); a hub, "
                              "its commune's plan.\n");
}
