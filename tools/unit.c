/*
 * cdht unit: the administrative units people belong to (province, district, commune, village,
 * school, ...), with dated validity and a succession map, so that both the pre-2025 4-tier tree
 * and the 2025 2-tier tree work and data recorded under an old commune rolls up under its
 * successor (node/units.c). Units are replicated rows written through the log like everything
 * else: each writing command is one replica_txn, one leaf, and every check (shapes, dates, units
 * that exist, no cycle) runs before anything is written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "domain.h"
#include "hlc.h"
#include "replica.h"
#include "store.h"
#include "units.h"

#define UNIT_MS_PER_DAY 86400000ll

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

/* A live unit's validity bounds ("" when open). 1 found, 0 not, -1 database error. */
static int
unit_validity(struct replica *r, const char *code, char from[UNITS_DATE_BUF],
              char to[UNITS_DATE_BUF])
{
    static const char sql[] = "SELECT valid_from, valid_to FROM unit WHERE code=?1 AND _live";
    sqlite3_stmt *s = store_stmt(r->st, sql);
    if (s == NULL) {
        return -1;
    }
    sqlite3_bind_text(s, 1, code, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    from[0] = to[0] = '\0';
    if (rc == SQLITE_ROW) {
        /* Stored by any replica: copied bounded; cdht itself writes only checked dates. */
        if (sqlite3_column_type(s, 0) == SQLITE_TEXT) {
            snprintf(from, UNITS_DATE_BUF, "%s", (const char *)sqlite3_column_text(s, 0));
        }
        if (sqlite3_column_type(s, 1) == SQLITE_TEXT) {
            snprintf(to, UNITS_DATE_BUF, "%s", (const char *)sqlite3_column_text(s, 1));
        }
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* Today (UTC) from the clock the write path uses, so CDHT_FAKE_NOW_MS moves it too. */
static void
unit_today(char out[UNITS_DATE_BUF])
{
    int64_t ms = hlc_wall_ms();
    int64_t days =
        ms >= 0 ? ms / UNIT_MS_PER_DAY : -((-ms + UNIT_MS_PER_DAY - 1) / UNIT_MS_PER_DAY);
    domain_date_format(days, out);
}

/* Checks an optional date flag; prints the refusal naming the flag. 0 when fine. */
static int
unit_date_flag(const struct cli *c, const char *flag, const char *value, int64_t *days)
{
    const char *why = NULL;
    if (value != NULL && domain_date_parse(value, days, &why) != ERR_OK) {
        return cli_usage(c, "%s: %s", flag, why);
    }
    return 0;
}

/* Commits the changes of one command as one leaf. */
static err_code
unit_commit(struct replica *r, const char *const tables[], const char *const pks[],
            const int exists[], const struct replica_cell *const cells[], const size_t ncells[],
            size_t nchanges)
{
    struct replica_txn *t = NULL;
    err_code rc = replica_txn_new(r, &t);
    if (rc != ERR_OK) {
        return rc;
    }
    for (size_t i = 0; i < nchanges; i++) {
        if ((rc = replica_txn_put(t, tables[i], pks[i], exists[i], cells[i], ncells[i], 0)) !=
            ERR_OK) {
            replica_txn_free(t);
            return rc;
        }
    }
    return replica_txn_commit(r, t, NULL);
}

/* The refusal for a units_resolve/units_ancestors failure while checking a change. */
static int
unit_walk_failed(const struct cli *c, err_code rc, const char *what)
{
    if (rc == ERR_CORRUPT) {
        return cli_fail(c, ERR_INVAL, "refusing: %s would make a cycle (nothing was written)",
                        what);
    }
    if (rc == ERR_MSGSIZE) {
        return cli_fail(c, ERR_INVAL,
                        "refusing: %s would make a path longer than %u units (nothing was "
                        "written)",
                        what, UNITS_DEPTH_MAX);
    }
    return cli_fail(c, rc, "cannot read units: %s", err_str(rc));
}

static int
unit_add(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "unit add",
             "unit add --home DIR --code CODE --kind KIND --name TEXT "
             "[--parent CODE] [--from DATE] [--to DATE] [--disadvantaged]");
    const char *code = NULL, *kind = NULL, *name = NULL, *parent = NULL, *why = NULL;
    const char *from = NULL, *to = NULL;
    int disadvantaged = 0;
    const struct cli_opt opts[] = {
        {"code", 0, &code, NULL},
        {"kind", 0, &kind, NULL},
        {"name", 0, &name, NULL},
        {"parent", 0, &parent, NULL},
        {"from", 0, &from, NULL},
        {"to", 0, &to, NULL},
        {"disadvantaged", 0, NULL, &disadvantaged},
    };
    int pec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (pec != 0) {
        return pec == CLI_HELP_SHOWN ? CLI_OK : pec;
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
    if (parent != NULL && strcmp(parent, code) == 0) {
        return cli_usage(&c, "--parent: a unit cannot be its own parent");
    }
    int ec;
    if ((ec = unit_date_flag(&c, "--from", from, NULL)) != 0 ||
        (ec = unit_date_flag(&c, "--to", to, NULL)) != 0) {
        return ec;
    }
    if (domain_date_range_check(from, to, &why) != ERR_OK) {
        return cli_usage(&c, "--from, --to: %s", why);
    }
    char *norm = NULL;
    if (domain_name_normalize(name, UNIT_NAME_SIZE_MAX, &norm, &why) != ERR_OK) {
        return cli_usage(&c, "--name: %s", why);
    }
    struct replica *r = NULL;
    ec = cli_open(&c, REPLICA_WRITE, &r);
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
    const struct replica_cell cells[] = {
        {.col = "parent", .type = SCHEMA_TEXT, .is_null = parent == NULL, .s = parent},
        {.col = "kind", .type = SCHEMA_TEXT, .s = kind},
        {.col = "name", .type = SCHEMA_TEXT, .s = norm},
        {.col = "valid_from", .type = SCHEMA_TEXT, .is_null = from == NULL, .s = from},
        {.col = "valid_to", .type = SCHEMA_TEXT, .is_null = to == NULL, .s = to},
        {.col = "disadvantaged", .type = SCHEMA_INT, .i = disadvantaged},
    };
    const char *const tables[] = {"unit"};
    const char *const pks[] = {code};
    const int exists[] = {1};
    const struct replica_cell *const cellv[] = {cells};
    const size_t ncells[] = {sizeof cells / sizeof cells[0]};
    err_code rc = unit_commit(r, tables, pks, exists, cellv, ncells, 1);
    if (rc != ERR_OK) {
        ec = cli_write_failed(&c, r, rc);
    }
out:
    free(norm);
    replica_close(r);
    return ec;
}

static int
unit_move(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "unit move", "unit move --home DIR --code CODE --parent CODE [--from DATE]");
    const char *code = NULL, *parent = NULL, *from = NULL, *why = NULL;
    const struct cli_opt opts[] = {
        {"code", 0, &code, NULL},
        {"parent", 0, &parent, NULL},
        {"from", 0, &from, NULL},
    };
    int pec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (pec != 0) {
        return pec == CLI_HELP_SHOWN ? CLI_OK : pec;
    }
    if (code == NULL || parent == NULL) {
        return cli_usage(&c, "--code and --parent are required");
    }
    if (domain_unit_code_check(code, &why) != ERR_OK) {
        return cli_usage(&c, "--code: %s", why);
    }
    if (domain_unit_code_check(parent, &why) != ERR_OK) {
        return cli_usage(&c, "--parent: %s", why);
    }
    if (strcmp(parent, code) == 0) {
        return cli_usage(&c, "--parent: a unit cannot be its own parent");
    }
    int ec = unit_date_flag(&c, "--from", from, NULL);
    if (ec != 0) {
        return ec;
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, REPLICA_WRITE, &r)) != 0) {
        return ec;
    }
    char date[UNITS_DATE_BUF], pfrom[UNITS_DATE_BUF], pto[UNITS_DATE_BUF];
    if (from != NULL) {
        snprintf(date, sizeof date, "%s", from);
    } else {
        unit_today(date);
    }
    int e = unit_exists(r, code);
    if (e != 1) {
        ec = e < 0 ? cli_fail(&c, ERR_DB, "cannot read units")
                   : cli_fail(&c, ERR_INVAL, "--code: unknown unit %s (cdht unit list shows them)",
                              code);
        goto out;
    }
    if ((e = unit_validity(r, parent, pfrom, pto)) != 1) {
        ec = e < 0 ? cli_fail(&c, ERR_DB, "cannot read units")
                   : cli_fail(&c, ERR_INVAL, "--parent: unknown unit %s (add it first)", parent);
        goto out;
    }
    if ((pfrom[0] != '\0' && strcmp(pfrom, date) > 0) ||
        (pto[0] != '\0' && strcmp(pto, date) < 0)) {
        ec = cli_fail(&c, ERR_INVAL, "--parent: unit %s is not valid on %s", parent, date);
        goto out;
    }
    /* The tree as it would be after the move, at the move's date and with every succession
     * followed: neither may lead from the unit back to itself. */
    struct units_overlay ov = {.move_code = code, .move_parent = parent};
    char path[UNITS_DEPTH_MAX][UNITS_CODE_BUF];
    unsigned n = 0;
    err_code rc = units_ancestors(r->st, &ov, code, date, path, &n);
    if (rc == ERR_OK) {
        rc = units_ancestors(r->st, &ov, code, NULL, path, &n);
    }
    if (rc != ERR_OK) {
        ec = unit_walk_failed(&c, rc, "this move");
        goto out;
    }
    const struct replica_cell cells[] = {{.col = "parent", .type = SCHEMA_TEXT, .s = parent}};
    const char *const tables[] = {"unit"};
    const char *const pks[] = {code};
    const int exists[] = {-1};
    const struct replica_cell *const cellv[] = {cells};
    const size_t ncells[] = {1};
    if ((rc = unit_commit(r, tables, pks, exists, cellv, ncells, 1)) != ERR_OK) {
        ec = cli_write_failed(&c, r, rc);
    }
out:
    replica_close(r);
    return ec;
}

static int
unit_succeed(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "unit succeed", "unit succeed --home DIR --old CODE --new CODE --effective DATE");
    const char *old = NULL, *new_code = NULL, *effective = NULL, *why = NULL;
    const struct cli_opt opts[] = {
        {"old", 0, &old, NULL},
        {"new", 0, &new_code, NULL},
        {"effective", 0, &effective, NULL},
    };
    int pec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (pec != 0) {
        return pec == CLI_HELP_SHOWN ? CLI_OK : pec;
    }
    if (old == NULL || new_code == NULL || effective == NULL) {
        return cli_usage(&c, "--old, --new and --effective are required");
    }
    if (domain_unit_code_check(old, &why) != ERR_OK) {
        return cli_usage(&c, "--old: %s", why);
    }
    if (domain_unit_code_check(new_code, &why) != ERR_OK) {
        return cli_usage(&c, "--new: %s", why);
    }
    if (strcmp(old, new_code) == 0) {
        return cli_usage(&c, "--new: a unit cannot succeed itself");
    }
    int64_t eff_days = 0;
    int ec = unit_date_flag(&c, "--effective", effective, &eff_days);
    if (ec != 0) {
        return ec;
    }
    /* The old unit's last day is the day before; it must be a date cdht can store. */
    char last[UNITS_DATE_BUF];
    if (strcmp(effective, "1900-01-01") <= 0) {
        return cli_usage(&c, "--effective: must be after 1900-01-01");
    }
    domain_date_format(eff_days - 1, last);
    struct replica *r = NULL;
    if ((ec = cli_open(&c, REPLICA_WRITE, &r)) != 0) {
        return ec;
    }
    char ofrom[UNITS_DATE_BUF], oto[UNITS_DATE_BUF];
    int e = unit_validity(r, old, ofrom, oto);
    if (e != 1) {
        ec = e < 0 ? cli_fail(&c, ERR_DB, "cannot read units")
                   : cli_fail(&c, ERR_INVAL, "--old: unknown unit %s (cdht unit list shows them)",
                              old);
        goto out;
    }
    if ((e = unit_exists(r, new_code)) != 1) {
        ec = e < 0 ? cli_fail(&c, ERR_DB, "cannot read units")
                   : cli_fail(&c, ERR_INVAL, "--new: unknown unit %s (add it first)", new_code);
        goto out;
    }
    char prev[UNITS_CODE_BUF], prev_eff[UNITS_DATE_BUF];
    err_code rc = units_successor(r->st, old, prev, prev_eff);
    if (rc == ERR_OK) {
        ec = cli_fail(&c, ERR_INVAL, "--old: unit %s already has a successor (%s from %s)", old,
                      prev, prev_eff);
        goto out;
    }
    if (rc != ERR_NOTFOUND) {
        ec = cli_fail(&c, rc, "cannot read units: %s", err_str(rc));
        goto out;
    }
    int close_old = oto[0] == '\0';
    if (close_old && ofrom[0] != '\0' && strcmp(ofrom, last) > 0) {
        ec = cli_fail(&c, ERR_INVAL,
                      "--effective: unit %s is valid only from %s; its successor must take "
                      "effect after that day",
                      old, ofrom);
        goto out;
    }
    /* After the succession: the chain from the new code must not come back (every succession
     * followed), and the new unit's parents at the effective date must not roll up into it. */
    struct units_overlay ov = {.succ_old = old, .succ_new = new_code, .succ_effective = effective};
    char up[UNITS_CODE_BUF], path[UNITS_DEPTH_MAX][UNITS_CODE_BUF];
    unsigned n = 0;
    rc = units_resolve(r->st, &ov, new_code, NULL, up);
    if (rc == ERR_OK) {
        rc = units_ancestors(r->st, &ov, new_code, effective, path, &n);
    }
    if (rc != ERR_OK) {
        ec = unit_walk_failed(&c, rc, "this succession");
        goto out;
    }
    const struct replica_cell succ[] = {
        {.col = "new_code", .type = SCHEMA_TEXT, .s = new_code},
        {.col = "effective", .type = SCHEMA_TEXT, .s = effective},
    };
    const struct replica_cell closing[] = {{.col = "valid_to", .type = SCHEMA_TEXT, .s = last}};
    const char *const tables[] = {"unit_succession", "unit"};
    const char *const pks[] = {old, old};
    const int exists[] = {1, -1};
    const struct replica_cell *const cellv[] = {succ, closing};
    const size_t ncells[] = {2, 1};
    if ((rc = unit_commit(r, tables, pks, exists, cellv, ncells, close_old ? 2 : 1)) != ERR_OK) {
        ec = cli_write_failed(&c, r, rc);
    }
out:
    replica_close(r);
    return ec;
}

/* ---- listings ----------------------------------------------------------------------------- */

enum unit_format { UNIT_TABLE, UNIT_CSV, UNIT_JSON };

struct unit_list_ctx {
    enum unit_format fmt;
    unsigned long count;
};

static void
unit_json_opt(const char *key, const char *v, int last)
{
    printf("\"%s\":", key);
    if (v == NULL) {
        fputs("null", stdout);
    } else {
        cli_json_str(stdout, v);
    }
    fputs(last ? "" : ",", stdout);
}

static err_code
unit_list_cb(void *ctx, const struct units_row *u)
{
    struct unit_list_ctx *l = ctx;
    char dis[4];
    snprintf(dis, sizeof dis, "%s", u->disadvantaged < 0 ? "-" : u->disadvantaged ? "1" : "0");
    switch (l->fmt) {
    case UNIT_TABLE:
        /* The first four columns as before schema 2 (scripts cut them by position). */
        printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u->code, u->kind ? u->kind : "-",
               u->parent ? u->parent : "-", u->name ? u->name : "",
               u->valid_from ? u->valid_from : "-", u->valid_to ? u->valid_to : "-", dis);
        break;
    case UNIT_CSV: {
        const char *f[] = {u->code,
                           u->kind ? u->kind : "",
                           u->parent ? u->parent : "",
                           u->name ? u->name : "",
                           u->valid_from ? u->valid_from : "",
                           u->valid_to ? u->valid_to : "",
                           u->disadvantaged < 0 ? "" : dis};
        for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
            if (i > 0) {
                fputc(',', stdout);
            }
            cli_csv_str(stdout, f[i]);
        }
        fputc('\n', stdout);
        break;
    }
    case UNIT_JSON:
        fputs(l->count == 0 ? "\n  {" : ",\n  {", stdout);
        unit_json_opt("code", u->code, 0);
        unit_json_opt("kind", u->kind, 0);
        unit_json_opt("parent", u->parent, 0);
        unit_json_opt("name", u->name, 0);
        unit_json_opt("valid_from", u->valid_from, 0);
        unit_json_opt("valid_to", u->valid_to, 0);
        if (u->disadvantaged < 0) {
            fputs("\"disadvantaged\":null}", stdout);
        } else {
            printf("\"disadvantaged\":%s}", u->disadvantaged ? "true" : "false");
        }
        break;
    }
    l->count++;
    return ERR_OK;
}

/* Parses [--at DATE] and, when fmt is not NULL, [--format table|csv|json]. */
static int
unit_parse_view(struct cli *c, int argc, char **argv, const char **at, enum unit_format *fmt)
{
    const char *format = NULL;
    const struct cli_opt opts[] = {
        {"at", 0, at, NULL},
        {"format", 0, &format, NULL},
    };
    /* unit tree has no --format: it is then not an option of the command. */
    int pec = cli_parse(c, argc, argv, opts, fmt != NULL ? 2 : 1, 0, NULL);
    if (pec != 0) {
        return pec;
    }
    int ec = unit_date_flag(c, "--at", *at, NULL);
    if (ec != 0) {
        return ec;
    }
    if (fmt != NULL) {
        if (format == NULL || strcmp(format, "table") == 0) {
            *fmt = UNIT_TABLE;
        } else if (strcmp(format, "csv") == 0) {
            *fmt = UNIT_CSV;
        } else if (strcmp(format, "json") == 0) {
            *fmt = UNIT_JSON;
        } else {
            return cli_usage(c, "--format must be table, csv or json");
        }
    }
    return 0;
}

static int
unit_list(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "unit list", "unit list --home DIR [--at DATE] [--format table|csv|json]");
    const char *at = NULL;
    struct unit_list_ctx l = {.fmt = UNIT_TABLE};
    int ec = unit_parse_view(&c, argc, argv, &at, &l.fmt);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, 0, &r)) != 0) {
        return ec;
    }
    if (l.fmt == UNIT_CSV) {
        puts("code,kind,parent,name,valid_from,valid_to,disadvantaged");
    } else if (l.fmt == UNIT_JSON) {
        fputs("[", stdout);
    }
    err_code rc = units_foreach(r->st, at, unit_list_cb, &l);
    if (l.fmt == UNIT_JSON) {
        puts(l.count == 0 ? "]" : "\n]");
    }
    replica_close(r);
    return rc == ERR_OK ? CLI_OK : cli_fail(&c, rc, "cannot read units: %s", err_str(rc));
}

static err_code
unit_tree_cb(void *ctx, const struct units_row *u, unsigned depth, int in_cycle)
{
    int *cycle_header = ctx;
    if (in_cycle && !*cycle_header) {
        puts("in a parent cycle (cdht unit move fixes it):");
        *cycle_header = 1;
    }
    printf("%*s%s %s %s%s\n", (int)(2 * (depth + (unsigned)in_cycle)), "", u->code,
           u->kind ? u->kind : "-", u->name ? u->name : "",
           u->disadvantaged == 1 ? " (disadvantaged)" : "");
    return ERR_OK;
}

static err_code
unit_succession_cb(void *ctx, const struct units_succession *s)
{
    int *header = ctx;
    if (!*header) {
        puts("successions:");
        *header = 1;
    }
    if (s->effective != NULL) {
        printf("  %s -> %s (from %s)\n", s->old_code, s->new_code, s->effective);
    } else {
        printf("  %s -> %s\n", s->old_code, s->new_code);
    }
    return ERR_OK;
}

static int
unit_tree(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "unit tree", "unit tree --home DIR [--at DATE]");
    const char *at = NULL;
    int ec = unit_parse_view(&c, argc, argv, &at, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    char date[UNITS_DATE_BUF];
    if (at != NULL) {
        snprintf(date, sizeof date, "%s", at);
    } else {
        unit_today(date);
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, 0, &r)) != 0) {
        return ec;
    }
    int cycle_header = 0, succ_header = 0;
    unsigned in_cycle = 0;
    err_code rc = units_tree(r->st, date, unit_tree_cb, &cycle_header, &in_cycle);
    if (rc == ERR_OK) {
        rc = units_successions(r->st, date, unit_succession_cb, &succ_header);
    }
    replica_close(r);
    if (rc == ERR_MSGSIZE) {
        return cli_fail(&c, ERR_CORRUPT, "the tree is deeper than %u units, or larger than %u",
                        UNITS_DEPTH_MAX, UNITS_TREE_COUNT_MAX);
    }
    if (rc != ERR_OK) {
        return cli_fail(&c, rc, "cannot read units: %s", err_str(rc));
    }
    if (in_cycle > 0) {
        fprintf(stderr, "cdht unit tree: %u units are in a parent cycle\n", in_cycle);
        return CLI_FINDINGS;
    }
    return CLI_OK;
}

int
cmd_unit(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } subs[] = {
        {"add", unit_add},         {"list", unit_list}, {"move", unit_move},
        {"succeed", unit_succeed}, {"tree", unit_tree},
    };
    for (size_t i = 0; argc >= 2 && i < sizeof subs / sizeof subs[0]; i++) {
        if (strcmp(argv[1], subs[i].name) == 0) {
            return subs[i].fn(argc - 1, argv + 1);
        }
    }
    int help = argc >= 2 && cli_is_help(argv[1]);
    fprintf(help ? stdout : stderr,
            "usage: cdht unit add --code CODE --kind KIND --name TEXT [--parent CODE]\n"
            "                     [--from DATE] [--to DATE] [--disadvantaged]\n"
            "       cdht unit move --code CODE --parent CODE [--from DATE]\n"
            "       cdht unit succeed --old CODE --new CODE --effective DATE\n"
            "       cdht unit list [--at DATE] [--format table|csv|json]\n"
            "       cdht unit tree [--at DATE]\n"
            "DATE is YYYY-MM-DD.\n");
    return help ? CLI_OK : CLI_USAGE;
}
