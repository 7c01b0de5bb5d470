/*
 * cdht collective: learning families, clans, communities and units (387/QĐ-TTg; design section
 * 1.5). A branch writer records a collective and its members (people already in the replica);
 * the commune's approver recognises it for a year with a decision number, date and signer. The
 * collective rule (framework.collective_rule, node/rules.h rules_collective_*) links the title
 * to its members' titles: `list` shows, per collective and year, how many adult members hold the
 * title and whether the rule is met, and `recognise` refuses a collective that does not meet it.
 * The report's family_adults and unit_workers metrics (node/report.c) read these rows.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "domain.h"
#include "flow.h"
#include "hlc.h"
#include "replica.h"
#include "store.h"
#include "trust.h"
#include "units.h"

/* A collective's name is a family's name or a school's: the same bound as a person's name. */
#define COLLECTIVE_NAME_SIZE_MAX PERSON_NAME_SIZE_MAX
/* The collective rule string as a framework stores it ("adults_pct:100"). */
#define COLLECTIVE_RULE_BUF 32u

static const char *const collective_kinds[] = {"family", "clan", "community", "unit"};

static int
collective_kind_ok(const char *k)
{
    for (size_t i = 0; i < sizeof collective_kinds / sizeof collective_kinds[0]; i++) {
        if (strcmp(k, collective_kinds[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

static void
collective_today(char out[DOMAIN_DATE_SIZE + 1])
{
    domain_today(hlc_wall_ms(), out);
}

/* Parses an optional year option; 0 on success (absent: *out untouched, *have 0). */
static int
collective_year_opt(const struct cli *c, const char *name, const char *s, int64_t *out, int *have)
{
    *have = 0;
    if (s == NULL) {
        return 0;
    }
    if (cli_parse_i64(s, FLOW_YEAR_MIN, FLOW_YEAR_MAX, out) != 0) {
        return cli_usage(c, "--%s must be a year in %d..%d", name, FLOW_YEAR_MIN, FLOW_YEAR_MAX);
    }
    *have = 1;
    return 0;
}

/* ---- the write-time grant check (the merge-time one in trust.c is the second line) ---------- */

/* Does this device hold an unexpired grant of role covering unit? 0, or the exit code after the
 * refusal. In open mode (no root pinned) nothing is checked, as in node/flow.c. what: the verb
 * for the writer's case ("recognise"), or NULL. */
static int
collective_entitled(const struct cli *c, struct replica *r, const char *unit, unsigned role,
                    const char *what)
{
    if (!r->pinned) {
        return 0;
    }
    struct flow_grants_of f;
    err_code rc = flow_grants_of(r, unit, &f);
    if (rc != ERR_OK) {
        return cli_fail(c, rc, "cannot read this device's certificates: %s", err_str(rc));
    }
    if (f.covering & (role | TRUST_ROOT)) {
        return 0;
    }
    const char *name = trust_role_name(role);
    if (f.held & role) {
        unsigned b = 0;
        while (!(role & (1u << b))) {
            b++;
        }
        return cli_fail(c, ERR_DENIED,
                        "refusing: %s grant for %s does not cover unit %s; nothing was written",
                        name, f.held_unit[b], unit);
    }
    if (f.expired & role) {
        return cli_fail(c, ERR_DENIED,
                        "refusing: this device's %s grant has expired (ask the hub for a new "
                        "certificate); nothing was written",
                        name);
    }
    int writer_only = what != NULL && (f.held & TRUST_WRITER);
    return cli_fail(c, ERR_DENIED,
                    "refusing: this device holds no %s grant covering unit %s%s%s%s; nothing was "
                    "written",
                    name, unit, writer_only ? " (a writer cannot " : "", writer_only ? what : "",
                    writer_only ? ")" : "");
}

/* ---- reading ------------------------------------------------------------------------------- */

struct collective_row {
    char id[REPLICA_ID_SIZE + 1];
    char unit[UNITS_CODE_BUF];
    char kind[16];
    int64_t year_from, year_to; /* 0: open */
};

static void
collective_text(sqlite3_stmt *q, int i, char *out, size_t cap)
{
    const char *s = (const char *)sqlite3_column_text(q, i);
    snprintf(out, cap, "%s", s != NULL ? s : "");
}

/* A live collective by id: 1 found, 0 not, -1 on a database error. */
static int
collective_get(struct replica *r, const char *id, struct collective_row *out)
{
    if (strlen(id) > REPLICA_ID_SIZE) {
        return 0;
    }
    sqlite3_stmt *q = store_stmt(r->st, "SELECT unit, kind, year_from, year_to FROM collective "
                                        "WHERE id=?1 AND _live");
    if (q == NULL) {
        return -1;
    }
    sqlite3_bind_text(q, 1, id, -1, SQLITE_TRANSIENT);
    int src = sqlite3_step(q);
    if (src == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        snprintf(out->id, sizeof out->id, "%s", id);
        collective_text(q, 0, out->unit, sizeof out->unit);
        collective_text(q, 1, out->kind, sizeof out->kind);
        out->year_from = sqlite3_column_int64(q, 2);
        out->year_to = sqlite3_column_int64(q, 3);
    }
    sqlite3_reset(q);
    return src == SQLITE_ROW ? 1 : src == SQLITE_DONE ? 0 : -1;
}

/* Where a collective stands in one year: its members then, the adults among them (year minus
 * birth year at least the framework's adult age), how many of each hold the title (an effective
 * approval of that year), and whether that meets the framework's collective rule. */
struct collective_standing {
    int members, members_rec, adults, adults_rec;
    int adult_age;
    char rule[COLLECTIVE_RULE_BUF];
    int rule_ok; /* the rule string parsed */
    int meets;
};

static err_code
collective_standing(struct replica *r, const struct collective_row *cr, int year,
                    struct collective_standing *out)
{
    memset(out, 0, sizeof *out);
    out->adult_age = 18;
    snprintf(out->rule, sizeof out->rule, "%s", RULES_COLLECTIVE_DEFAULT);
    char fw[FLOW_FW_SIZE];
    err_code rc = flow_framework_choose(r, cr->unit, year, fw);
    if (rc == ERR_OK) {
        sqlite3_stmt *q = store_stmt(r->st, "SELECT adult_age, collective_rule FROM framework "
                                            "WHERE id=?1 AND _live");
        if (q == NULL) {
            return ERR_DB;
        }
        sqlite3_bind_text(q, 1, fw, -1, SQLITE_TRANSIENT);
        int src = sqlite3_step(q);
        if (src == SQLITE_ROW) {
            if (sqlite3_column_type(q, 0) == SQLITE_INTEGER) {
                out->adult_age = sqlite3_column_int(q, 0);
            }
            if (sqlite3_column_type(q, 1) == SQLITE_TEXT) {
                collective_text(q, 1, out->rule, sizeof out->rule);
            }
        }
        sqlite3_reset(q);
        if (src != SQLITE_ROW && src != SQLITE_DONE) {
            return store_err(r->st, src, "collective framework");
        }
    } else if (rc != ERR_NOTFOUND) {
        return rc;
    }
    /* No index on collective_member.collective (schema.c adds none): one scan per collective,
     * which a listing of one commune's collectives affords. */
    sqlite3_stmt *q =
        store_stmt(r->st, "SELECT p.birth_year, s.status FROM collective_member m "
                          "JOIN person p ON p.id = m.person AND p._live "
                          "LEFT JOIN assessment_state s ON s.id = ?3 || ':' || m.person "
                          "WHERE m.collective = ?1 AND m._live "
                          "AND (m.year_from IS NULL OR m.year_from <= ?2) "
                          "AND (m.year_to IS NULL OR m.year_to >= ?2)");
    if (q == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_text(q, 1, cr->id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(q, 2, year);
    char ys[16];
    snprintf(ys, sizeof ys, "%d", year);
    sqlite3_bind_text(q, 3, ys, -1, SQLITE_TRANSIENT);
    int src;
    while ((src = sqlite3_step(q)) == SQLITE_ROW) {
        const char *st = (const char *)sqlite3_column_text(q, 1);
        int rec = st != NULL && strcmp(st, "approved") == 0;
        int adult = sqlite3_column_type(q, 0) == SQLITE_INTEGER &&
                    year - sqlite3_column_int64(q, 0) >= out->adult_age;
        out->members++;
        out->members_rec += rec;
        out->adults += adult;
        out->adults_rec += adult && rec;
    }
    sqlite3_reset(q);
    if (src != SQLITE_DONE) {
        return store_err(r->st, src, "collective members");
    }
    struct rules_collective rule;
    out->rule_ok = rules_collective_parse(out->rule, &rule) == ERR_OK;
    out->meets = out->rule_ok && rules_collective_ok(&rule, out->adults, out->adults_rec,
                                                     out->members, out->members_rec);
    return ERR_OK;
}

/* ---- writing ------------------------------------------------------------------------------- */

static int
collective_commit(const struct cli *c, struct replica *r, const char *table, const char *pk,
                  const struct replica_cell *cells, size_t n, int fresh)
{
    struct replica_txn *t = NULL;
    err_code rc = replica_txn_new(r, &t);
    if (rc == ERR_OK) {
        if ((rc = replica_txn_put(t, table, pk, 1, cells, n, fresh)) == ERR_OK) {
            rc = replica_txn_commit(r, t, NULL);
        } else {
            replica_txn_free(t);
        }
    }
    return rc == ERR_OK ? 0 : cli_write_failed(c, r, rc);
}

#define TXT(c, v)                                                                                  \
    {                                                                                              \
        .col = (c), .type = SCHEMA_TEXT, .s = (v), .is_null = (v) == NULL                          \
    }
#define YEAR(c, have, v)                                                                           \
    {                                                                                              \
        .col = (c), .type = SCHEMA_INT, .i = (v), .is_null = !(have)                               \
    }

static int
collective_add(int argc, char **argv)
{
    struct cli c;
    const char *kind = NULL, *unit = NULL, *name = NULL, *org = NULL, *from_s = NULL, *to_s = NULL;
    cli_init(&c, "collective add",
             "collective add --home DIR --kind family|clan|community|unit --unit CODE "
             "--name TEXT [--org CODE] [--from YYYY] [--to YYYY]");
    const struct cli_opt opts[] = {
        {"kind", 0, &kind, NULL}, {"unit", 0, &unit, NULL},   {"name", 0, &name, NULL},
        {"org", 0, &org, NULL},   {"from", 0, &from_s, NULL}, {"to", 0, &to_s, NULL},
    };
    int ec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    if (kind == NULL || unit == NULL || name == NULL) {
        return cli_usage(&c, "--kind, --unit and --name are required");
    }
    if (!collective_kind_ok(kind)) {
        return cli_usage(&c, "--kind must be family, clan, community or unit");
    }
    if (org != NULL && strcmp(kind, "unit") != 0) {
        return cli_usage(&c, "--org names the school or agency of a learning unit (--kind unit)");
    }
    const char *why = NULL;
    if (domain_unit_code_check(unit, &why) != ERR_OK ||
        (org != NULL && domain_unit_code_check(org, &why) != ERR_OK)) {
        return cli_usage(&c, "%s: %s", org != NULL && why != NULL ? "--unit/--org" : "--unit", why);
    }
    int64_t from = 0, to = 0;
    int has_from = 0, has_to = 0;
    if ((ec = collective_year_opt(&c, "from", from_s, &from, &has_from)) != 0 ||
        (ec = collective_year_opt(&c, "to", to_s, &to, &has_to)) != 0) {
        return ec;
    }
    if (has_from && has_to && from > to) {
        return cli_usage(&c, "--from must not be after --to");
    }
    char *nname = NULL;
    if (domain_name_normalize(name, COLLECTIVE_NAME_SIZE_MAX, &nname, &why) != ERR_OK) {
        return cli_usage(&c, "--name: %s", why);
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, REPLICA_WRITE, &r)) != 0) {
        free(nname);
        return ec;
    }
    const char *missing = unit_exists(r, unit) != 1                 ? unit
                          : org != NULL && unit_exists(r, org) != 1 ? org
                                                                    : NULL;
    if (missing != NULL) {
        ec = cli_fail(&c, ERR_INVAL,
                      "refusing: unknown unit %s (cdht unit list shows them); nothing was written",
                      missing);
    } else if ((ec = collective_entitled(&c, r, unit, TRUST_WRITER, NULL)) == 0) {
        char id[REPLICA_ID_SIZE + 1];
        replica_new_id(id);
        const struct replica_cell cells[] = {
            TXT("unit", unit),
            TXT("kind", kind),
            TXT("name", nname),
            TXT("org", org),
            YEAR("year_from", has_from, from),
            YEAR("year_to", has_to, to),
        };
        if ((ec = collective_commit(&c, r, "collective", id, cells, sizeof cells / sizeof cells[0],
                                    1)) == 0) {
            printf("%s\n", id);
        }
    }
    free(nname);
    replica_close(r);
    return ec;
}

/* The person's live row: 1, 0 when none, -1 on a database error. */
static int
collective_person_live(struct replica *r, const char *pid)
{
    if (strlen(pid) > FLOW_PERSON_SIZE_MAX) {
        return 0;
    }
    sqlite3_stmt *q = store_stmt(r->st, "SELECT 1 FROM person WHERE id=?1 AND _live");
    if (q == NULL) {
        return -1;
    }
    sqlite3_bind_text(q, 1, pid, -1, SQLITE_TRANSIENT);
    int src = sqlite3_step(q);
    sqlite3_reset(q);
    return src == SQLITE_ROW ? 1 : src == SQLITE_DONE ? 0 : -1;
}

/* 1 when the membership row is live with exactly these years, 0 when not, -1 on an error. */
static int
collective_member_same(struct replica *r, const char *pk, int has_from, int64_t from, int has_to,
                       int64_t to)
{
    sqlite3_stmt *q = store_stmt(r->st, "SELECT year_from, year_to FROM collective_member "
                                        "WHERE id=?1 AND _live");
    if (q == NULL) {
        return -1;
    }
    sqlite3_bind_text(q, 1, pk, -1, SQLITE_TRANSIENT);
    int src = sqlite3_step(q), same = 0;
    if (src == SQLITE_ROW) {
        int f_null = sqlite3_column_type(q, 0) == SQLITE_NULL;
        int t_null = sqlite3_column_type(q, 1) == SQLITE_NULL;
        same = f_null == !has_from && t_null == !has_to &&
               (f_null || sqlite3_column_int64(q, 0) == from) &&
               (t_null || sqlite3_column_int64(q, 1) == to);
    }
    sqlite3_reset(q);
    return src == SQLITE_ROW || src == SQLITE_DONE ? same : -1;
}

static int
collective_member(int argc, char **argv)
{
    struct cli c;
    const char *cid = NULL, *pid = NULL, *from_s = NULL, *to_s = NULL;
    cli_init(&c, "collective member",
             "collective member --home DIR --collective ID --person ID [--from YYYY] [--to YYYY]");
    const struct cli_opt opts[] = {
        {"collective", 0, &cid, NULL},
        {"person", 0, &pid, NULL},
        {"from", 0, &from_s, NULL},
        {"to", 0, &to_s, NULL},
    };
    int ec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    if (cid == NULL || pid == NULL) {
        return cli_usage(&c, "--collective and --person are required");
    }
    int64_t from = 0, to = 0;
    int has_from = 0, has_to = 0;
    if ((ec = collective_year_opt(&c, "from", from_s, &from, &has_from)) != 0 ||
        (ec = collective_year_opt(&c, "to", to_s, &to, &has_to)) != 0) {
        return ec;
    }
    if (has_from && has_to && from > to) {
        return cli_usage(&c, "--from must not be after --to");
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, REPLICA_WRITE, &r)) != 0) {
        return ec;
    }
    struct collective_row cr;
    int found = collective_get(r, cid, &cr);
    int plive = found == 1 ? collective_person_live(r, pid) : 0;
    char pk[PK_SIZE_MAX];
    if (found < 0 || plive < 0) {
        ec = cli_fail(&c, ERR_DB, "cannot read the replica");
    } else if (found == 0) {
        ec = cli_fail(&c, ERR_NOTFOUND,
                      "refusing: unknown collective id (cdht collective list shows ids); "
                      "nothing was written");
    } else if (plive == 0) {
        /* The id is not repeated: a citizen id pasted here by mistake must not be echoed. */
        ec = cli_fail(&c, ERR_NOTFOUND,
                      "refusing: unknown person id (cdht person list shows ids); nothing was "
                      "written");
    } else if ((ec = collective_entitled(&c, r, cr.unit, TRUST_WRITER, NULL)) == 0) {
        snprintf(pk, sizeof pk, "%s:%s", pid, cid);
        int same = collective_member_same(r, pk, has_from, from, has_to, to);
        if (same < 0) {
            ec = cli_fail(&c, ERR_DB, "cannot read the replica");
        } else if (same) {
            fprintf(stderr, "cdht collective member: already a member; nothing changed\n");
            printf("%s\n", pk);
        } else {
            /* kind is copied from the collective so that the report reads one table. */
            const struct replica_cell cells[] = {
                TXT("unit", cr.unit),
                TXT("collective", cid),
                TXT("person", pid),
                TXT("kind", cr.kind),
                YEAR("year_from", has_from, from),
                YEAR("year_to", has_to, to),
            };
            if ((ec = collective_commit(&c, r, "collective_member", pk, cells,
                                        sizeof cells / sizeof cells[0], 0)) == 0) {
                printf("%s\n", pk);
            }
        }
    }
    replica_close(r);
    return ec;
}

static int
collective_recognise(int argc, char **argv)
{
    struct cli c;
    const char *cid = NULL, *year_s = NULL, *number = NULL, *date = NULL, *signer = NULL;
    cli_init(&c, "collective recognise",
             "collective recognise --home DIR --collective ID --year YYYY --decision NO "
             "--date YYYY-MM-DD --signer NAME");
    const struct cli_opt opts[] = {
        {"collective", 0, &cid, NULL}, {"year", 0, &year_s, NULL},   {"decision", 0, &number, NULL},
        {"date", 0, &date, NULL},      {"signer", 0, &signer, NULL},
    };
    int ec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    int64_t year = 0;
    if (cid == NULL || year_s == NULL) {
        return cli_usage(&c, "--collective and --year are required");
    }
    if (cli_parse_i64(year_s, FLOW_YEAR_MIN, FLOW_YEAR_MAX, &year) != 0) {
        return cli_usage(&c, "--year must be a year in %d..%d", FLOW_YEAR_MIN, FLOW_YEAR_MAX);
    }
    if (number == NULL || date == NULL || signer == NULL || !*number || !*signer) {
        return cli_usage(&c, "--decision, --date and --signer are required");
    }
    if (strlen(number) > FLOW_TEXT_SIZE_MAX || strlen(signer) > FLOW_TEXT_SIZE_MAX) {
        return cli_usage(&c, "--decision and --signer are at most %u bytes", FLOW_TEXT_SIZE_MAX);
    }
    const char *bad = NULL;
    if (domain_date_parse(date, NULL, &bad) != ERR_OK) {
        return cli_usage(&c, "--date: %s", bad);
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, REPLICA_WRITE, &r)) != 0) {
        return ec;
    }
    struct collective_row cr;
    struct collective_standing cs;
    char pk[PK_SIZE_MAX];
    int found = collective_get(r, cid, &cr);
    if (found <= 0) {
        ec = found < 0 ? cli_fail(&c, ERR_DB, "cannot read the replica")
                       : cli_fail(&c, ERR_NOTFOUND,
                                  "refusing: unknown collective id (cdht collective list shows "
                                  "ids); nothing was written");
        goto out;
    }
    if ((cr.year_from != 0 && year < cr.year_from) || (cr.year_to != 0 && year > cr.year_to)) {
        ec = cli_fail(&c, ERR_DENIED,
                      "refusing: the collective does not exist in %d; nothing was written",
                      (int)year);
        goto out;
    }
    if ((ec = collective_entitled(&c, r, cr.unit, TRUST_APPROVER, "recognise")) != 0) {
        goto out;
    }
    snprintf(pk, sizeof pk, "%d:%s", (int)year, cid);
    sqlite3_stmt *q = store_stmt(r->st, "SELECT number FROM collective_recognition "
                                        "WHERE id=?1 AND _live AND outcome='approved'");
    if (q == NULL) {
        ec = cli_fail(&c, ERR_DB, "cannot read the replica");
        goto out;
    }
    sqlite3_bind_text(q, 1, pk, -1, SQLITE_TRANSIENT);
    int src = sqlite3_step(q);
    char prev[FLOW_TEXT_SIZE_MAX + 1] = "";
    if (src == SQLITE_ROW) {
        collective_text(q, 0, prev, sizeof prev);
    }
    sqlite3_reset(q);
    if (src == SQLITE_ROW) {
        ec = cli_fail(&c, ERR_DENIED,
                      "refusing: the collective is recognised for %d already (decision %s); "
                      "nothing was written",
                      (int)year, prev);
        goto out;
    }
    err_code rc = src == SQLITE_DONE ? collective_standing(r, &cr, (int)year, &cs)
                                     : store_err(r->st, src, "collective recognition");
    if (rc != ERR_OK) {
        ec = cli_fail(&c, rc, "cannot read the collective's members: %s", err_str(rc));
        goto out;
    }
    if (!cs.rule_ok) {
        ec = cli_fail(&c, ERR_DENIED,
                      "refusing: the framework's collective rule \"%s\" is not one this version "
                      "knows; nothing was written",
                      cs.rule);
        goto out;
    }
    if (!cs.meets) {
        int adults = strncmp(cs.rule, "adults", 6) == 0;
        ec = cli_fail(&c, ERR_DENIED,
                      "refusing: the collective does not meet the rule %s in %d (%d of %d %s "
                      "hold the title); nothing was written",
                      cs.rule, (int)year, adults ? cs.adults_rec : cs.members_rec,
                      adults ? cs.adults : cs.members, adults ? "adults" : "members");
        goto out;
    }
    /* Every column in one change: one clock for the whole decision (as approve does). */
    const struct replica_cell cells[] = {
        TXT("unit", cr.unit),
        TXT("collective", cid),
        {.col = "year", .type = SCHEMA_INT, .i = year},
        TXT("outcome", "approved"),
        TXT("number", number),
        TXT("date", date),
        TXT("signer", signer),
    };
    if ((ec = collective_commit(&c, r, "collective_recognition", pk, cells,
                                sizeof cells / sizeof cells[0], 0)) == 0) {
        printf("%s\tapproved\n", pk);
    }
out:
    replica_close(r);
    return ec;
}

#define COLLECTIVE_LIST_COLS 13

static int
collective_list(int argc, char **argv)
{
    struct cli c;
    const char *unit = NULL, *year_s = NULL, *fmt = NULL;
    cli_init(&c, "collective list",
             "collective list --home DIR [--unit CODE] [--year YYYY] [--format table|csv|json]");
    const struct cli_opt opts[] = {
        {"unit", 0, &unit, NULL}, {"year", 0, &year_s, NULL}, {"format", 0, &fmt, NULL}};
    int ec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    int64_t year = 0;
    if (year_s != NULL && cli_parse_i64(year_s, FLOW_YEAR_MIN, FLOW_YEAR_MAX, &year) != 0) {
        return cli_usage(&c, "--year must be a year in %d..%d", FLOW_YEAR_MIN, FLOW_YEAR_MAX);
    }
    if (year_s == NULL) {
        char today[DOMAIN_DATE_SIZE + 1];
        collective_today(today);
        year = atoi(today);
    }
    fmt = fmt != NULL ? fmt : "table";
    if (strcmp(fmt, "table") != 0 && strcmp(fmt, "csv") != 0 && strcmp(fmt, "json") != 0) {
        return cli_usage(&c, "--format must be table, csv or json");
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, 0, &r)) != 0) {
        return ec;
    }
    /* Collectives are few (a commune's families): the listing prepares its own statement, so
     * that collective_standing may use the cached ones meanwhile. */
    sqlite3_stmt *q = NULL;
    int src = sqlite3_prepare_v2(
        r->st->db,
        "SELECT c.id, c.kind, c.unit, c.name, c.org, c.year_from, c.year_to, g.number "
        "FROM collective c LEFT JOIN collective_recognition g "
        "  ON g.id = ?1 || ':' || c.id AND g._live AND g.outcome = 'approved' "
        "WHERE c._live AND (c.year_from IS NULL OR c.year_from <= ?2) "
        "  AND (c.year_to IS NULL OR c.year_to >= ?2) ORDER BY c.unit, c.name, c.id",
        -1, &q, NULL);
    err_code rc = src == SQLITE_OK ? ERR_OK : store_err(r->st, src, "collectives");
    char ys[16];
    snprintf(ys, sizeof ys, "%d", (int)year);
    if (rc == ERR_OK) {
        sqlite3_bind_text(q, 1, ys, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, year);
    }
    static const char *const keys[COLLECTIVE_LIST_COLS] = {
        "year",   "id",           "kind", "unit",       "name",       "org",     "members",
        "adults", "adults_title", "rule", "meets_rule", "recognised", "decision"};
    if (strcmp(fmt, "csv") == 0) {
        for (int i = 0; i < COLLECTIVE_LIST_COLS; i++) {
            printf("%s%c", keys[i], i + 1 < COLLECTIVE_LIST_COLS ? ',' : '\n');
        }
    } else if (strcmp(fmt, "json") == 0) {
        printf("[");
    }
    size_t rows = 0;
    while (rc == ERR_OK && (src = sqlite3_step(q)) == SQLITE_ROW) {
        struct collective_row cr;
        memset(&cr, 0, sizeof cr);
        collective_text(q, 0, cr.id, sizeof cr.id);
        collective_text(q, 1, cr.kind, sizeof cr.kind);
        collective_text(q, 2, cr.unit, sizeof cr.unit);
        int yes = 1;
        if (unit != NULL && (rc = trust_covers(r->st, unit, cr.unit, &yes)) != ERR_OK) {
            break;
        }
        if (!yes) {
            continue;
        }
        struct collective_standing cs;
        if ((rc = collective_standing(r, &cr, (int)year, &cs)) != ERR_OK) {
            break;
        }
        char members[16], adults[16], adults_rec[16];
        snprintf(members, sizeof members, "%d", cs.members);
        snprintf(adults, sizeof adults, "%d", cs.adults);
        snprintf(adults_rec, sizeof adults_rec, "%d", cs.adults_rec);
        const char *number = (const char *)sqlite3_column_text(q, 7);
        const char *name = (const char *)sqlite3_column_text(q, 3);
        const char *org = (const char *)sqlite3_column_text(q, 4);
        const char *f[COLLECTIVE_LIST_COLS] = {ys,
                                               cr.id,
                                               cr.kind,
                                               cr.unit,
                                               name ? name : "",
                                               org ? org : "",
                                               members,
                                               adults,
                                               adults_rec,
                                               cs.rule,
                                               !cs.rule_ok ? "unknown rule"
                                               : cs.meets  ? "yes"
                                                           : "no",
                                               number != NULL ? "yes" : "no",
                                               number != NULL ? number : ""};
        if (strcmp(fmt, "table") == 0) {
            for (int i = 0; i < COLLECTIVE_LIST_COLS; i++) {
                printf("%s%c", f[i], i + 1 < COLLECTIVE_LIST_COLS ? '\t' : '\n');
            }
        } else if (strcmp(fmt, "csv") == 0) {
            for (int i = 0; i < COLLECTIVE_LIST_COLS; i++) {
                cli_csv_str(stdout, f[i]);
                putchar(i + 1 < COLLECTIVE_LIST_COLS ? ',' : '\n');
            }
        } else {
            printf("%s\n  {", rows ? "," : "");
            for (int i = 0; i < COLLECTIVE_LIST_COLS; i++) {
                printf("%s\"%s\": ", i ? ", " : "", keys[i]);
                if (i == 0 || (i >= 6 && i <= 8)) {
                    printf("%s", f[i]);
                } else if (i == 10 && cs.rule_ok) {
                    printf("%s", cs.meets ? "true" : "false");
                } else if (i == 11) {
                    printf("%s", number != NULL ? "true" : "false");
                } else if ((i == 5 && org == NULL) || (i == 12 && number == NULL)) {
                    printf("null");
                } else {
                    cli_json_str(stdout, f[i]);
                }
            }
            printf("}");
        }
        rows++;
    }
    if (rc == ERR_OK && src != SQLITE_DONE) {
        rc = store_err(r->st, src, "collectives");
    }
    sqlite3_finalize(q);
    if (strcmp(fmt, "json") == 0) {
        printf("%s]\n", rows ? "\n" : "");
    }
    replica_close(r);
    if (rc != ERR_OK) {
        return cli_fail(&c, rc, "cannot list the collectives: %s", err_str(rc));
    }
    return CLI_OK;
}

int
cmd_collective(int argc, char **argv)
{
    if (argc >= 2) {
        if (strcmp(argv[1], "add") == 0) {
            return collective_add(argc - 1, argv + 1);
        }
        if (strcmp(argv[1], "member") == 0) {
            return collective_member(argc - 1, argv + 1);
        }
        if (strcmp(argv[1], "recognise") == 0 || strcmp(argv[1], "recognize") == 0) {
            return collective_recognise(argc - 1, argv + 1);
        }
        if (strcmp(argv[1], "list") == 0) {
            return collective_list(argc - 1, argv + 1);
        }
    }
    int help = argc >= 2 && cli_is_help(argv[1]);
    fprintf(help ? stdout : stderr,
            "usage: cdht collective add --kind family|clan|community|unit --unit CODE --name TEXT\n"
            "                           [--org CODE] [--from YYYY] [--to YYYY]\n"
            "       cdht collective member --collective ID --person ID [--from YYYY] [--to YYYY]\n"
            "       cdht collective recognise --collective ID --year YYYY --decision NO\n"
            "                                 --date YYYY-MM-DD --signer NAME\n"
            "       cdht collective list [--unit CODE] [--year YYYY] [--format table|csv|json]\n"
            "A branch writer adds collectives and members; the commune's approver recognises.\n");
    return help ? CLI_OK : CLI_USAGE;
}
