/*
 * Replicated table definitions and the SQL built from them. Keeping the tables as data means
 * the merge, the state hash, the guards and the docs follow one list; adding a table is
 * adding an entry here and a migration in store.c.
 */
#include "schema.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "store.h"

/* valid_from, valid_to and disadvantaged arrived with schema 2 (store.c, migration 2): new
 * columns go at the end, because a column's register number is its position. */
static const struct schema_col schema_unit_cols[] = {
    {"parent", SCHEMA_TEXT},       {"kind", SCHEMA_TEXT}, {"name", SCHEMA_TEXT},
    {"valid_from", SCHEMA_TEXT},   /* ISO date YYYY-MM-DD, first valid day; NULL: always */
    {"valid_to", SCHEMA_TEXT},     /* ISO date, last valid day (inclusive); NULL: open */
    {"disadvantaged", SCHEMA_INT}, /* 1: a disadvantaged area (priority in targets) */
};

/* The succession map (schema 2): old unit code -> the code its data rolls up to from the
 * effective date on (node/units.c follows it). */
static const struct schema_col schema_unit_succession_cols[] = {
    {"new_code", SCHEMA_TEXT},  /* the successor's unit code */
    {"effective", SCHEMA_TEXT}, /* ISO date from which old rolls up to new_code */
};

static const struct schema_col schema_person_cols[] = {
    {"name", SCHEMA_TEXT},      /* personal data: full name, NFC */
    {"birth_year", SCHEMA_INT}, /* personal data */
    {"gender", SCHEMA_TEXT},    /* personal data */
    {"unit", SCHEMA_TEXT},      {"target_group", SCHEMA_TEXT},
    {"cid_hash", SCHEMA_BLOB}, /* personal data: keyed hash of the citizen id */
};

/* ---- Schema 5: the Learning Citizen registry (issue 5; docs/DATA.md "The registry").
 * Per-person, per-year rows are keyed "<year>:<person id>" so that one year is one key range of
 * a WITHOUT ROWID table (a report is a merge join of range scans, no secondary index); status is
 * never stored but derived from the rows each role owns (node/rules.c, rules_status). */

/* A criteria framework version (pk "<unit>/<code>/<version>"), published by a hub or the root
 * and immutable once published: a change is a new version. */
static const struct schema_col schema_framework_cols[] = {
    {"unit", SCHEMA_TEXT},          /* the publisher's unit; "*": the root */
    {"code", SCHEMA_TEXT},          /* "244-2022" */
    {"version", SCHEMA_INT},        /* 1, 2, ... */
    {"title", SCHEMA_TEXT},
    {"year_from", SCHEMA_INT},      /* first assessment year it applies to */
    {"year_to", SCHEMA_INT},        /* last year; NULL: open */
    {"exemplary_years", SCHEMA_INT},/* consecutive recognised years for "exemplary" (5) */
    {"adult_age", SCHEMA_INT},      /* age from which a family member counts as an adult (18) */
    {"collective_rule", SCHEMA_TEXT},/* "adults_pct:100" (rules_collective_parse) */
    {"review_role", SCHEMA_TEXT},   /* "writer" or "approver": who may review */
};

/* A target group of a framework (pk "<framework>/<grp>"), with its pass thresholds. */
static const struct schema_col schema_framework_group_cols[] = {
    {"unit", SCHEMA_TEXT},       {"framework", SCHEMA_TEXT}, /* the framework's pk */
    {"grp", SCHEMA_TEXT},                                    /* "farmer", "worker", "official" */
    {"pos", SCHEMA_INT},                                     /* display order */
    {"name_vi", SCHEMA_TEXT},    {"name_en", SCHEMA_TEXT},
    {"pass_total", SCHEMA_INT},        /* total needed (80) */
    {"pass_total_disadv", SCHEMA_INT}, /* total needed in a disadvantaged unit (70) */
};

/* One indicator of a group (pk "<framework>/<grp>/<pos>", pos 1..RULES_IND_MAX). */
static const struct schema_col schema_framework_indicator_cols[] = {
    {"unit", SCHEMA_TEXT},       {"framework", SCHEMA_TEXT}, {"grp", SCHEMA_TEXT},
    {"pos", SCHEMA_INT},         /* 1..10: the score column s01..s10 it fills */
    {"code", SCHEMA_TEXT},       /* "1.1" */
    {"competency", SCHEMA_TEXT}, {"text_vi", SCHEMA_TEXT}, {"text_en", SCHEMA_TEXT},
    {"max_points", SCHEMA_INT},  /* 10 */
    {"min_points", SCHEMA_INT},  /* no score below this passes (5) */
};

/* A plan (pk "<unit>/<code>"): the national programme, a province's or a commune's. */
static const struct schema_col schema_plan_cols[] = {
    {"unit", SCHEMA_TEXT},     /* "*": national (the root writes it) */
    {"code", SCHEMA_TEXT},     {"level", SCHEMA_TEXT}, /* national | province | commune */
    {"title", SCHEMA_TEXT},    {"decision", SCHEMA_TEXT},
    {"year_from", SCHEMA_INT}, {"year_to", SCHEMA_INT},
};

/* One target of a plan (pk "<plan>/<metric>/<year>"): a percentage to reach by that year. */
static const struct schema_col schema_plan_target_cols[] = {
    {"unit", SCHEMA_TEXT}, {"plan", SCHEMA_TEXT}, {"metric", SCHEMA_TEXT},
    {"year", SCHEMA_INT},  {"pct", SCHEMA_INT}, /* 0..100 */
};

/* A person's registration and assessment for one year (pk "<year>:<person>"): the writer's row.
 * Personal data as a whole (it is about one person), digital in particular. */
static const struct schema_col schema_assessment_cols[] = {
    {"person", SCHEMA_TEXT},       {"year", SCHEMA_INT},       {"unit", SCHEMA_TEXT},
    {"target_group", SCHEMA_TEXT}, {"framework", SCHEMA_TEXT}, /* the framework pk chosen */
    {"digital", SCHEMA_TEXT}, /* personal data: none | basic | proficient; NULL: not said */
    {"round", SCHEMA_INT},    /* 1, +1 on each resubmission after a return */
    {"stage", SCHEMA_TEXT},   /* draft | self_submitted */
};

/* Self scores (pk "<year>:<person>"): personal data. One register per indicator. */
static const struct schema_col schema_self_score_cols[] = {
    {"unit", SCHEMA_TEXT}, {"round", SCHEMA_INT}, {"s01", SCHEMA_INT}, {"s02", SCHEMA_INT},
    {"s03", SCHEMA_INT},   {"s04", SCHEMA_INT},   {"s05", SCHEMA_INT}, {"s06", SCHEMA_INT},
    {"s07", SCHEMA_INT},   {"s08", SCHEMA_INT},   {"s09", SCHEMA_INT}, {"s10", SCHEMA_INT},
};

/* Evidence (pk "<year>:<person>:<sha256 hex>"); the file itself is content-addressed outside
 * SQLite. description and added_by are personal data. */
static const struct schema_col schema_evidence_cols[] = {
    {"unit", SCHEMA_TEXT}, {"assessment", SCHEMA_TEXT}, /* the assessment pk */
    {"ind", SCHEMA_INT},   /* indicator position; NULL: general */
    {"kind", SCHEMA_TEXT}, /* photo | certificate | attendance | document | other */
    {"description", SCHEMA_TEXT}, {"sha256", SCHEMA_BLOB}, /* 32 bytes */
    {"size", SCHEMA_INT},         /* bytes */
    {"added_by", SCHEMA_TEXT},    /* the volunteer's name, optional */
};

/* A comment on a score (pk "<year>:<person>:<self|review>:<pos>", pos 0: overall). */
static const struct schema_col schema_score_note_cols[] = {
    {"unit", SCHEMA_TEXT}, {"assessment", SCHEMA_TEXT}, {"role", SCHEMA_TEXT},
    {"pos", SCHEMA_INT},   {"text", SCHEMA_TEXT}, /* personal data */
};

/* The branch review (pk "<year>:<person>"), always written whole (one clock for the row). */
static const struct schema_col schema_review_cols[] = {
    {"unit", SCHEMA_TEXT}, {"round", SCHEMA_INT}, {"outcome", SCHEMA_TEXT}, /* reviewed|returned */
    {"s01", SCHEMA_INT},   {"s02", SCHEMA_INT},   {"s03", SCHEMA_INT},      {"s04", SCHEMA_INT},
    {"s05", SCHEMA_INT},   {"s06", SCHEMA_INT},   {"s07", SCHEMA_INT},      {"s08", SCHEMA_INT},
    {"s09", SCHEMA_INT},   {"s10", SCHEMA_INT},
};

/* The commune's decision (pk "<year>:<person>"), always written whole; one leaf each. */
static const struct schema_col schema_approval_cols[] = {
    {"unit", SCHEMA_TEXT},    {"person", SCHEMA_TEXT}, {"year", SCHEMA_INT},
    {"round", SCHEMA_INT},    {"outcome", SCHEMA_TEXT}, /* approved | rejected | returned */
    {"total", SCHEMA_INT},    /* the review total the approver saw */
    {"number", SCHEMA_TEXT},  /* decision number, "12/QĐ-KH" */
    {"date", SCHEMA_TEXT},    /* ISO date of the decision */
    {"signer", SCHEMA_TEXT},  /* an official acting in office */
    {"note", SCHEMA_TEXT},
};

/* A learning family, clan, community or unit (pk: replica_new_id). */
static const struct schema_col schema_collective_cols[] = {
    {"unit", SCHEMA_TEXT},     {"kind", SCHEMA_TEXT}, /* family | clan | community | unit */
    {"name", SCHEMA_TEXT},     /* personal data for a family */
    {"org", SCHEMA_TEXT},      /* kind unit: the school's or agency's unit code */
    {"year_from", SCHEMA_INT}, {"year_to", SCHEMA_INT},
};

/* Membership (pk "<person>:<collective>", person first so a person's memberships are one range).
 * Personal data: family ties. kind is copied from the collective. */
static const struct schema_col schema_collective_member_cols[] = {
    {"unit", SCHEMA_TEXT},      {"collective", SCHEMA_TEXT}, {"person", SCHEMA_TEXT},
    {"kind", SCHEMA_TEXT},      {"year_from", SCHEMA_INT},   {"year_to", SCHEMA_INT},
};

/* A collective's title for a year (pk "<year>:<collective>"), the approver's row. */
static const struct schema_col schema_collective_recognition_cols[] = {
    {"unit", SCHEMA_TEXT},   {"collective", SCHEMA_TEXT}, {"year", SCHEMA_INT},
    {"outcome", SCHEMA_TEXT},{"number", SCHEMA_TEXT},     {"date", SCHEMA_TEXT},
    {"signer", SCHEMA_TEXT},
};

/* Counts published above the raw-data ceiling (pk "<year>:<unit>:<grp>"; grp "*" holds the
 * collective metrics). No personal data: that is the point of the ceiling. */
static const struct schema_col schema_aggregate_cols[] = {
    {"unit", SCHEMA_TEXT},         {"year", SCHEMA_INT},       {"grp", SCHEMA_TEXT},
    {"registered", SCHEMA_INT},    {"assessed", SCHEMA_INT},   {"passed", SCHEMA_INT},
    {"recognised", SCHEMA_INT},    {"digital", SCHEMA_INT},    {"proficient", SCHEMA_INT},
    {"fam_adults", SCHEMA_INT},    {"fam_adults_rec", SCHEMA_INT},
    {"lu_members", SCHEMA_INT},    {"lu_members_rec", SCHEMA_INT},
};

/* Deployment settings (pk: the setting's name); only rows with unit "*" take effect. */
static const struct schema_col schema_setting_cols[] = {
    {"unit", SCHEMA_TEXT},
    {"value", SCHEMA_TEXT},
};

#define W SCHEMA_ROLE_WRITER
#define AP SCHEMA_ROLE_APPROVER
#define HUB SCHEMA_ROLE_HUB
#define REP SCHEMA_ROLE_REPORTER
#define COLS(a) .cols = a, .ncols = sizeof a / sizeof a[0]

/* Order matters only to the state hash (merge.c hashes tables in this order); new tables go at
 * the end. Each role writes its own rows (docs/DATA.md lists the roles per table): writers a
 * person's yearly record, approvers the decisions, hubs the frameworks, plans and settings they
 * publish downward, reporters only the aggregates above the raw-data ceiling. */
struct schema_table schema_tables[] = {
    {.name = "person", .pk = "id", COLS(schema_person_cols), .scope = "unit", .roles = W},
    {.name = "unit", .pk = "code", COLS(schema_unit_cols)},
    {.name = "unit_succession", .pk = "old_code", COLS(schema_unit_succession_cols)},
    {.name = "framework", .pk = "id", COLS(schema_framework_cols), .scope = "unit", .roles = HUB},
    {.name = "framework_group", .pk = "id", COLS(schema_framework_group_cols), .scope = "unit",
     .roles = HUB},
    {.name = "framework_indicator", .pk = "id", COLS(schema_framework_indicator_cols),
     .scope = "unit", .roles = HUB},
    {.name = "plan", .pk = "id", COLS(schema_plan_cols), .scope = "unit", .roles = HUB},
    {.name = "plan_target", .pk = "id", COLS(schema_plan_target_cols), .scope = "unit",
     .roles = HUB},
    {.name = "assessment", .pk = "id", COLS(schema_assessment_cols), .scope = "unit", .roles = W},
    {.name = "self_score", .pk = "id", COLS(schema_self_score_cols), .scope = "unit", .roles = W},
    {.name = "review", .pk = "id", COLS(schema_review_cols), .scope = "unit", .roles = W | AP},
    {.name = "approval", .pk = "id", COLS(schema_approval_cols), .scope = "unit", .roles = AP},
    {.name = "evidence", .pk = "id", COLS(schema_evidence_cols), .scope = "unit", .roles = W | AP},
    {.name = "score_note", .pk = "id", COLS(schema_score_note_cols), .scope = "unit",
     .roles = W | AP},
    {.name = "collective", .pk = "id", COLS(schema_collective_cols), .scope = "unit", .roles = W},
    {.name = "collective_member", .pk = "id", COLS(schema_collective_member_cols),
     .scope = "unit", .roles = W},
    {.name = "collective_recognition", .pk = "id", COLS(schema_collective_recognition_cols),
     .scope = "unit", .roles = AP},
    {.name = "aggregate", .pk = "id", COLS(schema_aggregate_cols), .scope = "unit", .roles = REP},
    {.name = "setting", .pk = "id", COLS(schema_setting_cols), .scope = "unit", .roles = HUB},
};
const unsigned schema_tables_count = sizeof schema_tables / sizeof schema_tables[0];

#undef W
#undef AP
#undef HUB
#undef REP
#undef COLS

static_assert(sizeof schema_person_cols / sizeof schema_person_cols[0] == 6, "person ncols");
static_assert(sizeof schema_unit_cols / sizeof schema_unit_cols[0] == 6, "unit ncols");
static_assert(sizeof schema_unit_succession_cols / sizeof schema_unit_succession_cols[0] == 2,
              "unit_succession ncols");
/* The widest rows of schema 5: one register per column plus the existence register. */
static_assert(sizeof schema_aggregate_cols / sizeof schema_aggregate_cols[0] + 1 <= SCHEMA_COLS_MAX,
              "aggregate fits the clock mask");
static_assert(sizeof schema_review_cols / sizeof schema_review_cols[0] + 1 <= SCHEMA_COLS_MAX,
              "review fits the clock mask");

static int schema_ready;

/* Appends to a fixed buffer; the buffers are sized for our own table list (ASSERTed). */
static void
schema_cat(char *buf, size_t cap, const char *s)
{
    size_t n = strlen(buf);
    size_t m = strlen(s);
    ASSERT(n + m < cap);
    memcpy(buf + n, s, m + 1);
}

void
schema_init(void)
{
    if (schema_ready) {
        return;
    }
    for (unsigned t = 0; t < schema_tables_count; t++) {
        struct schema_table *tb = &schema_tables[t];
        ASSERT(tb->ncols + 1 <= SCHEMA_COLS_MAX);
        char cols[256] = "", qs[128] = "", sets[256] = "";
        for (unsigned i = 0; i < tb->ncols; i++) {
            char q[32];
            schema_cat(cols, sizeof cols, tb->cols[i].name);
            schema_cat(cols, sizeof cols, ", ");
            snprintf(q, sizeof q, "?%u, ", i + 2);
            schema_cat(qs, sizeof qs, q);
            snprintf(q, sizeof q, "=?%u, ", i + 2);
            schema_cat(sets, sizeof sets, tb->cols[i].name);
            schema_cat(sets, sizeof sets, q);
        }
        unsigned live = tb->ncols + 2, clk = tb->ncols + 3;
        snprintf(tb->sql_select, sizeof tb->sql_select, "SELECT %s_live, _clk FROM %s WHERE %s=?1",
                 cols, tb->name, tb->pk);
        snprintf(tb->sql_insert, sizeof tb->sql_insert,
                 "INSERT INTO %s(%s, %s_live, _clk) VALUES(?1, %s?%u, ?%u)", tb->name, tb->pk, cols,
                 qs, live, clk);
        snprintf(tb->sql_update, sizeof tb->sql_update,
                 "UPDATE %s SET %s_live=?%u, _clk=?%u WHERE %s=?1", tb->name, sets, live, clk,
                 tb->pk);
        /* cols ends in ", "; the scan needs the list without it. */
        char scan_cols[256];
        snprintf(scan_cols, sizeof scan_cols, "%s", cols);
        scan_cols[strlen(scan_cols) - 2] = '\0';
        snprintf(tb->sql_scan, sizeof tb->sql_scan, "SELECT %s, %s FROM %s WHERE _live ORDER BY %s",
                 tb->pk, scan_cols, tb->name, tb->pk);
    }
    schema_ready = 1;
}

const struct schema_table *
schema_table_find(const char *name)
{
    schema_init();
    for (unsigned t = 0; t < schema_tables_count; t++) {
        if (schema_tables[t].name == name || strcmp(schema_tables[t].name, name) == 0) {
            return &schema_tables[t];
        }
    }
    return NULL;
}

int
schema_col_find(const struct schema_table *t, const char *name)
{
    /* Local writes pass our own name pointers (replica.c): compare those first. */
    for (unsigned i = 0; i < t->ncols; i++) {
        if (t->cols[i].name == name) {
            return (int)i;
        }
    }
    for (unsigned i = 0; i < t->ncols; i++) {
        if (strcmp(t->cols[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static const char *
schema_sql_type(enum schema_type ty)
{
    switch (ty) {
    case SCHEMA_INT: return "INTEGER";
    case SCHEMA_TEXT: return "TEXT";
    case SCHEMA_BLOB: return "BLOB";
    }
    return "BLOB";
}

err_code
schema_create_table(struct store *st, const struct schema_table *tb)
{
    schema_init();
    ASSERT(tb != NULL);
    char sql[2048];
    int n =
        snprintf(sql, sizeof sql, "CREATE TABLE %s(%s TEXT PRIMARY KEY NOT NULL", tb->name, tb->pk);
    for (unsigned i = 0; i < tb->ncols; i++) {
        n += snprintf(sql + n, sizeof sql - (size_t)n, ", %s %s", tb->cols[i].name,
                      schema_sql_type(tb->cols[i].type));
    }
    /* _live: the existence register's value; _clk: every register's clock (schema.h).
     * WITHOUT ROWID: one b-tree keyed by the text primary key instead of two.
     * The guards call cdht_merging(), a function only cdht's own connection defines and
     * that is true only inside the merge path; anywhere else (the sqlite3 shell) the write
     * fails. INSERT: a CHECK, one function call a row, where a BEFORE INSERT trigger cost a
     * sub-program a row (a third of the bulk commit time). UPDATE: a trigger, because
     * SQLite skips a CHECK on UPDATE unless the update sets a column the CHECK names, and
     * merge updates are few. DELETE: a trigger; merge never deletes (rows become
     * tombstones). */
    n += snprintf(sql + n, sizeof sql - (size_t)n,
                  ", _live INTEGER NOT NULL, _clk BLOB NOT NULL, CHECK (cdht_merging()))"
                  " WITHOUT ROWID;");
    static const char *const ops[] = {"UPDATE", "DELETE"};
    for (unsigned o = 0; o < 2; o++) {
        n += snprintf(sql + n, sizeof sql - (size_t)n,
                      "CREATE TRIGGER %s_guard_%s BEFORE %s ON %s WHEN NOT cdht_merging() "
                      "BEGIN SELECT RAISE(ABORT, '%s is a replicated table: write it "
                      "through cdht, which logs every change'); END;",
                      tb->name, ops[o], ops[o], tb->name, tb->name);
    }
    ASSERT((size_t)n < sizeof sql);
    return store_exec(st, sql);
}

err_code
schema_create(struct store *st)
{
    schema_init();
    for (unsigned t = 0; t < schema_tables_count; t++) {
        err_code rc = schema_create_table(st, &schema_tables[t]);
        if (rc != ERR_OK) {
            return rc;
        }
    }
    /* No secondary indexes: each would cost every merged row a second b-tree insert (measured:
     * an index on person(unit) doubled the insert work of a bulk commit), and listing a unit
     * scans 10,000 rows at commune scale in milliseconds. */
    return ERR_OK;
}
