/*
 * cdht person: registering people, changing and removing them, listing them, finding them by a
 * name typed without diacritics (node/fold.h), and listing likely duplicates. Every value
 * is checked before anything is written (name normalised to NFC, birth year in range, gender,
 * target group, unit exists, citizen id shape agreeing with birth year and gender); the
 * citizen id itself is never stored, only its keyed hash (DOMAIN.md, DESIGN.md section 10).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "commands.h"
#include "domain.h"
#include "fold.h"
#include "hlc.h"
#include "merge.h"
#include "replica.h"
#include "store.h"

#define PERSON_CELLS_MAX 6u

struct person_args {
    const char *name, *birth_year, *gender, *unit, *group, *cid, *format;
};

/* Parses the person flags: listing takes --unit and --format only, the writing commands all
 * but --format. Positional arguments (the ID of set and rm) stay at argv[optind..]. Returns 0,
 * -1 after --help, or an exit code. */
static int
person_parse(struct cli *c, int argc, char **argv, struct person_args *a, int listing)
{
    memset(a, 0, sizeof *a);
    const struct cli_opt writing[] = {
        {"name", 0, &a->name, NULL},     {"birth-year", 0, &a->birth_year, NULL},
        {"gender", 0, &a->gender, NULL}, {"unit", 0, &a->unit, NULL},
        {"group", 0, &a->group, NULL},   {"citizen-id", 0, &a->cid, NULL},
    };
    const struct cli_opt list[] = {
        {"unit", 0, &a->unit, NULL},
        {"format", 0, &a->format, NULL},
    };
    int ec = listing
                 ? cli_parse(c, argc, argv, list, 2, -1, NULL)
                 : cli_parse(c, argc, argv, writing, sizeof writing / sizeof writing[0], -1, NULL);
    return ec == CLI_HELP_SHOWN ? -1 : ec;
}

static int
person_current_year(void)
{
    time_t s = (time_t)(hlc_wall_ms() / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    return tm.tm_year + 1900;
}

/* Validated cells for the flags given; *name_out owns the normalised name. Returns 0 or the
 * exit code after printing why. have_year/have_gender supply the stored values for checking
 * a citizen id on `set` when those flags are absent. */
static int
person_cells(struct cli *c, struct replica *r, const struct person_args *a, long have_year,
             int have_gender, struct replica_cell cells[PERSON_CELLS_MAX], size_t *n,
             char **name_out, uint8_t cid_hash[HASH_SIZE])
{
    const char *why = NULL;
    int64_t year = have_year;
    enum domain_gender gender = (enum domain_gender)have_gender;
    *n = 0;
    *name_out = NULL;
    if (a->name != NULL) {
        if (domain_name_normalize(a->name, PERSON_NAME_SIZE_MAX, name_out, &why) != ERR_OK) {
            return cli_usage(c, "--name: %s", why);
        }
        cells[(*n)++] = (struct replica_cell){.col = "name", .type = SCHEMA_TEXT, .s = *name_out};
    }
    if (a->birth_year != NULL) {
        if (cli_parse_i64(a->birth_year, 0, 9999, &year) != 0 ||
            domain_birth_year_check((long)year, person_current_year(), &why) != ERR_OK) {
            return cli_usage(c, "--birth-year: %s", why ? why : "must be a year such as 1985");
        }
        cells[(*n)++] = (struct replica_cell){.col = "birth_year", .type = SCHEMA_INT, .i = year};
    }
    if (a->gender != NULL) {
        if (domain_gender_parse(a->gender, &gender, &why) != ERR_OK) {
            return cli_usage(c, "--gender: %s", why);
        }
        cells[(*n)++] = (struct replica_cell){
            .col = "gender", .type = SCHEMA_TEXT, .s = domain_gender_str(gender)};
    }
    if (a->unit != NULL) {
        if (domain_unit_code_check(a->unit, &why) != ERR_OK) {
            return cli_usage(c, "--unit: %s", why);
        }
        int e = unit_exists(r, a->unit);
        if (e != 1) {
            return e < 0 ? cli_fail(c, ERR_DB, "cannot read units")
                         : cli_usage(c, "--unit: unknown unit %s (cdht unit list shows them)",
                                     a->unit);
        }
        cells[(*n)++] = (struct replica_cell){.col = "unit", .type = SCHEMA_TEXT, .s = a->unit};
    }
    if (a->group != NULL) {
        if (domain_group_check(a->group, &why) != ERR_OK) {
            return cli_usage(c, "--group: %s", why);
        }
        cells[(*n)++] =
            (struct replica_cell){.col = "target_group", .type = SCHEMA_TEXT, .s = a->group};
    }
    if (a->cid != NULL) {
        /* The year and gender checked against the id: the new ones when given, else stored. */
        if (year < 0 || (have_gender < 0 && a->gender == NULL)) {
            return cli_usage(c, "--citizen-id: the person's birth year and gender are needed "
                                "to check it");
        }
        if (domain_citizen_id_check(a->cid, (long)year, gender, &why) != ERR_OK) {
            return cli_usage(c, "--citizen-id: %s", why);
        }
        domain_citizen_id_hash(r->cid_key, a->cid, cid_hash);
        cells[(*n)++] = (struct replica_cell){
            .col = "cid_hash", .type = SCHEMA_BLOB, .b = cid_hash, .b_len = HASH_SIZE};
    }
    ASSERT(*n <= PERSON_CELLS_MAX);
    return 0;
}

static int
person_commit(struct cli *c, struct replica *r, const char *id, int exists,
              const struct replica_cell *cells, size_t n, int fresh)
{
    struct replica_txn *t = NULL;
    err_code rc = replica_txn_new(r, &t);
    if (rc == ERR_OK) {
        if ((rc = replica_txn_put(t, "person", id, exists, cells, n, fresh)) == ERR_OK) {
            rc = replica_txn_commit(r, t, NULL);
        } else {
            replica_txn_free(t);
        }
    }
    return rc == ERR_OK ? 0 : cli_write_failed(c, r, rc);
}

/* Removes a person in one leaf, with the rows that would go on counting the person: the
 * year's assessments (and self scores) that are not decided, and collective memberships. A
 * decided assessment (approved or rejected) stays: it is the commune's record, and a writer
 * removing a person must not void a decision. */
static int
person_rm(struct cli *c, struct replica *r, const char *id)
{
    static const char *const sql[] = {
        "SELECT id, 'assessment' FROM assessment_state WHERE person = ?1 AND status NOT IN "
        "('approved', 'rejected') UNION ALL SELECT id, 'self_score' FROM self_score WHERE _live "
        "AND id IN (SELECT id FROM assessment_state WHERE person = ?1 AND status NOT IN "
        "('approved', 'rejected'))",
        "SELECT id, 'collective_member' FROM collective_member WHERE _live AND person = ?1",
    };
    struct replica_txn *t = NULL;
    err_code rc = replica_txn_new(r, &t);
    if (rc == ERR_OK) {
        rc = replica_txn_put(t, "person", id, 0, NULL, 0, 0);
    }
    for (size_t q = 0; q < sizeof sql / sizeof sql[0] && rc == ERR_OK; q++) {
        sqlite3_stmt *s = store_stmt(r->st, sql[q]);
        if (s == NULL) {
            rc = ERR_DB;
            break;
        }
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        int step = SQLITE_DONE;
        while (rc == ERR_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
            rc = replica_txn_put(t, (const char *)sqlite3_column_text(s, 1),
                                 (const char *)sqlite3_column_text(s, 0), 0, NULL, 0, 0);
        }
        if (rc == ERR_OK && step != SQLITE_DONE) {
            rc = ERR_DB;
        }
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    }
    if (rc == ERR_OK) {
        rc = replica_txn_commit(r, t, NULL);
    } else {
        replica_txn_free(t);
    }
    return rc == ERR_OK ? 0 : cli_write_failed(c, r, rc);
}

static int
person_add(int argc, char **argv)
{
    struct cli c;
    struct person_args a;
    cli_init(&c, "person add",
             "person add --home DIR --name TEXT --birth-year YYYY --gender male|female "
             "--unit CODE [--group farmer|worker|official] [--citizen-id DIGITS]");
    int ec = person_parse(&c, argc, argv, &a, 0);
    if (ec != 0) {
        return ec < 0 ? CLI_OK : ec;
    }
    if (optind != argc) {
        return cli_extra_argument(&c);
    }
    if (a.name == NULL || a.birth_year == NULL || a.gender == NULL || a.unit == NULL) {
        return cli_usage(&c, "--name, --birth-year, --gender and --unit are required");
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, REPLICA_WRITE, &r)) != 0) {
        return ec;
    }
    struct replica_cell cells[PERSON_CELLS_MAX];
    size_t n = 0;
    char *name = NULL;
    uint8_t cid_hash[HASH_SIZE];
    char id[REPLICA_ID_SIZE + 1];
    if ((ec = person_cells(&c, r, &a, -1, 0, cells, &n, &name, cid_hash)) == 0) {
        replica_new_id(id);
        if ((ec = person_commit(&c, r, id, 1, cells, n, 1)) == 0) {
            printf("%s\n", id);
        }
    }
    free(name);
    replica_close(r);
    return ec;
}

/* Reads a live person's stored birth year and gender; 0, or the exit code after printing. */
static int
person_lookup(struct cli *c, struct replica *r, const char *id, long *year, int *gender,
              int *has_cid)
{
    static const char sql[] =
        "SELECT birth_year, gender, cid_hash IS NOT NULL FROM person WHERE id=?1 AND _live";
    sqlite3_stmt *s = store_stmt(r->st, sql);
    if (s == NULL) {
        return cli_fail(c, ERR_DB, "cannot read people");
    }
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(s);
        /* The id is not repeated: a citizen id pasted here by mistake must not be echoed. */
        return rc == SQLITE_DONE ? cli_usage(c, "unknown person id (cdht person list shows ids)")
                                 : cli_fail(c, ERR_DB, "cannot read people");
    }
    *year = sqlite3_column_type(s, 0) == SQLITE_NULL ? -1 : (long)sqlite3_column_int64(s, 0);
    const char *g = (const char *)sqlite3_column_text(s, 1);
    enum domain_gender ge = DOMAIN_GENDER_MALE;
    const char *why = NULL;
    *gender = g != NULL && domain_gender_parse(g, &ge, &why) == ERR_OK ? (int)ge : -1;
    *has_cid = sqlite3_column_int(s, 2);
    sqlite3_reset(s);
    return 0;
}

static int
person_set_or_rm(int argc, char **argv, int rm)
{
    struct cli c;
    struct person_args a;
    cli_init(&c, rm ? "person rm" : "person set",
             rm ? "person rm --home DIR ID"
                : "person set --home DIR ID [--name TEXT] [--birth-year YYYY] "
                  "[--gender male|female] [--unit CODE] [--group G] [--citizen-id DIGITS]");
    int ec = person_parse(&c, argc, argv, &a, 0);
    if (ec != 0) {
        return ec < 0 ? CLI_OK : ec;
    }
    if (optind + 1 != argc) {
        return cli_usage(&c, "exactly one person ID is required");
    }
    const char *id = argv[optind];
    int any = a.name || a.birth_year || a.gender || a.unit || a.group || a.cid;
    if (rm && any) {
        return cli_usage(&c, "person rm takes only the ID");
    }
    if (!rm && !any) {
        return cli_usage(&c, "nothing to change: give at least one of the flags");
    }
    if (strlen(id) == 0 || strlen(id) > PK_SIZE_MAX) {
        return cli_usage(&c, "unknown person id");
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, REPLICA_WRITE, &r)) != 0) {
        return ec;
    }
    long year = -1;
    int gender = -1, has_cid = 0;
    char *name = NULL;
    if ((ec = person_lookup(&c, r, id, &year, &gender, &has_cid)) != 0) {
        goto out;
    }

    if (rm) {
        ec = person_rm(&c, r, id);
        goto out;
    }
    struct replica_cell cells[PERSON_CELLS_MAX];
    size_t n = 0;
    uint8_t cid_hash[HASH_SIZE];
    if ((ec = person_cells(&c, r, &a, year, gender, cells, &n, &name, cid_hash)) != 0) {
        goto out;
    }
    /* The citizen id's digits encode birth year and gender; changing either without the id
     * would leave a stored id hash that no longer matches the person. */
    if (has_cid && (a.birth_year != NULL || a.gender != NULL) && a.cid == NULL) {
        ec = cli_usage(&c, "this person has a citizen id: give --citizen-id again with a new "
                           "--birth-year or --gender, so that they are checked together");
        goto out;
    }
    ec = person_commit(&c, r, id, -1, cells, n, 0);
out:
    free(name);
    replica_close(r);
    return ec;
}

/* The rows of `person list` and `person find`: the columns id, name, birth_year, gender, unit,
 * group of a statement, in one of the three formats (checked by person_format_check). Names go
 * to stdout only: they are personal data and never reach a log. */
static void
person_rows_begin(const char *fmt)
{
    if (strcmp(fmt, "csv") == 0) {
        printf("id,name,birth_year,gender,unit,group\n");
    } else if (strcmp(fmt, "json") == 0) {
        printf("[");
    }
}

static void
person_row_print(const char *fmt, sqlite3_stmt *s, int first)
{
    const char *f[6];
    for (int i = 0; i < 6; i++) {
        f[i] = (const char *)sqlite3_column_text(s, i);
        f[i] = f[i] ? f[i] : "";
    }
    if (strcmp(fmt, "table") == 0) {
        printf("%s\t%s\t%s\t%s\t%s\t%s\n", f[0], f[1], f[2], f[3], f[4], f[5]);
    } else if (strcmp(fmt, "csv") == 0) {
        for (int i = 0; i < 6; i++) {
            cli_csv_str(stdout, f[i]);
            putchar(i < 5 ? ',' : '\n');
        }
    } else {
        static const char *const keys[] = {"id", "name", "birth_year", "gender", "unit", "group"};
        printf("%s\n  {", first ? "" : ",");
        for (int i = 0; i < 6; i++) {
            printf("%s\"%s\": ", i ? ", " : "", keys[i]);
            if (i == 2) {
                printf("%s", f[i][0] ? f[i] : "null");
            } else {
                cli_json_str(stdout, f[i]);
            }
        }
        printf("}");
    }
}

static void
person_rows_end(const char *fmt, int none)
{
    if (strcmp(fmt, "json") == 0) {
        printf("%s]\n", none ? "" : "\n");
    }
}

/* --format: NULL means table. Returns 0, or the usage exit code after printing why. */
static int
person_format_check(const struct cli *c, const char **fmt)
{
    *fmt = *fmt ? *fmt : "table";
    if (strcmp(*fmt, "table") != 0 && strcmp(*fmt, "csv") != 0 && strcmp(*fmt, "json") != 0) {
        return cli_usage(c, "--format must be table, csv or json");
    }
    return 0;
}

static int
person_list(int argc, char **argv)
{
    struct cli c;
    struct person_args a;
    cli_init(&c, "person list", "person list --home DIR [--unit CODE] [--format table|csv|json]");
    int ec = person_parse(&c, argc, argv, &a, 1);
    if (ec != 0) {
        return ec < 0 ? CLI_OK : ec;
    }
    if (optind != argc) {
        return cli_extra_argument(&c);
    }
    const char *fmt = a.format;
    if ((ec = person_format_check(&c, &fmt)) != 0) {
        return ec;
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, 0, &r)) != 0) {
        return ec;
    }
    static const char sql[] =
        "SELECT id, name, birth_year, gender, unit, ifnull(target_group, '') FROM person "
        "WHERE _live AND (?1 IS NULL OR unit=?1) ORDER BY unit, name, id";
    sqlite3_stmt *s = store_stmt(r->st, sql);
    int rc = SQLITE_ERROR;
    if (s != NULL) {
        if (a.unit != NULL) {
            sqlite3_bind_text(s, 1, a.unit, -1, SQLITE_STATIC);
        }
        int first = 1;
        person_rows_begin(fmt);
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            person_row_print(fmt, s, first);
            first = 0;
        }
        person_rows_end(fmt, first);
        sqlite3_reset(s);
    }
    replica_close(r);
    return rc == SQLITE_DONE ? CLI_OK : cli_fail(&c, ERR_DB, "cannot read people");
}

/* Rows `person find` prints; further matches are only counted. A search finds one person to
 * work on: past a hundred it needs more letters or --unit, and a whole listing is `person list`.
 * Bounds the output, not the work: the scan reads each live person of the unit once. */
#define PERSON_FIND_ROWS_MAX 100u
/* The search as typed: the words of TEXT joined by one space. FOLD_TEXT_SIZE_MAX bounds it. */
#define PERSON_FIND_TEXT_SIZE (FOLD_TEXT_SIZE_MAX + 1u)

/* Joins argv[from..argc) with single spaces into out, so that `person find nguyen van truong`
 * works unquoted (word order and spacing do not matter to the match). 0, or -1 when too long. */
static int
person_find_text(int argc, char **argv, int from, char out[PERSON_FIND_TEXT_SIZE])
{
    size_t len = 0;
    out[0] = '\0';
    for (int i = from; i < argc; i++) {
        size_t n = strlen(argv[i]);
        if (len + (i > from ? 1u : 0u) + n + 1u > PERSON_FIND_TEXT_SIZE) {
            return -1;
        }
        if (i > from) {
            out[len++] = ' ';
        }
        memcpy(out + len, argv[i], n + 1u);
        len += n;
    }
    return 0;
}

/* A search made only of digits (and the spaces of "001 080 012 345") is a citizen id: the
 * spaces are removed in place. Returns the number of digits, or 0 when text holds anything
 * else or no digit. */
static size_t
person_find_digits(char *text)
{
    size_t n = 0;
    for (const char *p = text; *p != '\0'; p++) {
        if (*p >= '0' && *p <= '9') {
            n++;
        } else if (*p != ' ' && *p != '\t') {
            return 0;
        }
    }
    size_t k = 0;
    for (const char *p = text; *p != '\0'; p++) {
        if (*p != ' ' && *p != '\t') {
            text[k++] = *p;
        }
    }
    text[k] = '\0';
    ASSERT(k == n);
    return n;
}

/* `person find TEXT`: the live people whose name matches TEXT without diacritics, case or
 * spacing (node/fold.h: each word of TEXT starts a different word of the name, in any order),
 * best first: the whole name, then whole words, then prefixes; within each, by folded name.
 * Twelve digits are a citizen id, looked up by its keyed hash and never printed. Exit 0 also
 * when nothing matches (stderr says so): finding nobody is an answer, not a failure. */
static int
person_find(int argc, char **argv)
{
    struct cli c;
    struct person_args a;
    cli_init(&c, "person find",
             "person find --home DIR TEXT [--unit CODE] [--format table|csv|json]");
    int ec = person_parse(&c, argc, argv, &a, 1);
    if (ec != 0) {
        return ec < 0 ? CLI_OK : ec;
    }
    if (optind >= argc) {
        return cli_usage(&c, "give the name (or the 12-digit citizen id) to search for");
    }
    char text[PERSON_FIND_TEXT_SIZE];
    if (person_find_text(argc, argv, optind, text) != 0) {
        return cli_usage(&c, "the search text is too long");
    }
    const char *fmt = a.format, *why = NULL;
    if ((ec = person_format_check(&c, &fmt)) != 0) {
        return ec;
    }
    if (a.unit != NULL && domain_unit_code_check(a.unit, &why) != ERR_OK) {
        return cli_usage(&c, "--unit: %s", why);
    }
    /* Either a citizen id (hashed below, once the replica's key is loaded) or a name. */
    size_t digits = person_find_digits(text);
    struct fold_query *q = NULL;
    if (digits == 0) {
        if ((q = malloc(sizeof *q)) == NULL) {
            return cli_fail(&c, ERR_NOMEM, "out of memory");
        }
        err_code frc = fold_query_init(q, text, &why);
        if (frc != ERR_OK) {
            free(q);
            return cli_usage(&c, "%s", why);
        }
    } else if (digits != DOMAIN_CITIZEN_ID_DIGITS) {
        /* The digits are not repeated: they may be most of a citizen id. */
        return cli_usage(&c, "a citizen id has 12 digits; to search by name, give letters");
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, 0, &r)) != 0) {
        free(q);
        return ec;
    }
    static const char by_name[] =
        "SELECT id, name, birth_year, gender, unit, ifnull(target_group, '') FROM ("
        " SELECT *, cdht_fold_match(name, ?2) AS m FROM person"
        " WHERE _live AND (?1 IS NULL OR unit=?1))"
        " WHERE m > 0 ORDER BY m DESC, cdht_fold(name), name, id";
    static const char by_cid[] =
        "SELECT id, name, birth_year, gender, unit, ifnull(target_group, '') FROM person"
        " WHERE _live AND cid_hash=?2 AND (?1 IS NULL OR unit=?1) ORDER BY unit, name, id";
    uint8_t cid_hash[HASH_SIZE];
    sqlite3_stmt *s = NULL;
    int rc = SQLITE_ERROR;
    if (fold_register(r->st->db) != ERR_OK ||
        (s = store_stmt(r->st, q ? by_name : by_cid)) == NULL) {
        goto out;
    }
    if (a.unit != NULL) {
        sqlite3_bind_text(s, 1, a.unit, -1, SQLITE_STATIC);
    }
    if (q != NULL) {
        /* The raw text: cdht_fold_match folds it once per statement, as q was folded. */
        sqlite3_bind_text(s, 2, text, -1, SQLITE_STATIC);
    } else {
        domain_citizen_id_hash(r->cid_key, text, cid_hash);
        sqlite3_bind_blob(s, 2, cid_hash, HASH_SIZE, SQLITE_STATIC);
    }
    size_t shown = 0, more = 0;
    person_rows_begin(fmt);
    /* Every row is read, to count those not shown; the scan is bounded by the people held. */
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (shown < PERSON_FIND_ROWS_MAX) {
            person_row_print(fmt, s, shown == 0);
            shown++;
        } else {
            more++;
        }
    }
    person_rows_end(fmt, shown == 0);
    sqlite3_reset(s);
    if (rc == SQLITE_DONE && shown == 0) {
        fprintf(stderr, "cdht person find: no person matches\n");
    } else if (rc == SQLITE_DONE && more > 0) {
        fprintf(stderr,
                "cdht person find: %zu more matches not shown (at most %u are); add letters "
                "or --unit\n",
                more, PERSON_FIND_ROWS_MAX);
    }
out:
    free(q);
    replica_close(r);
    return rc == SQLITE_DONE ? CLI_OK : cli_fail(&c, ERR_DB, "cannot read people");
}

static const char *const person_dup_reasons[] = {"same citizen id", "same name and birth year"};

/* `person duplicates`: groups of live people that are probably one person declared twice
 * (DOMAIN.md: on paper one person could be declared in two places): the same citizen-id hash,
 * or the same folded name and birth year. With --unit, the groups with at least one member in
 * that unit, shown whole, since the other member is what the officer needs to see. Exit 1 when
 * any group exists (a finding, cli.h), 0 when none.
 *
 * Memory: SQLite groups and sorts (window functions over the person table, ordered by key);
 * its sorter is proportional to the people held (two short rows per person: about 4 MB for a
 * commune's 20,000) and spills to a temporary file past the page cache. This function holds
 * one group key at a time and streams the rest, so its own memory does not grow. The same name
 * and birth year is listed even when both people have different citizen ids recorded: one of
 * them may be mistyped, and the list is for a person to check, not for merging. */
static int
person_duplicates(int argc, char **argv)
{
    struct cli c;
    struct person_args a;
    cli_init(&c, "person duplicates",
             "person duplicates --home DIR [--unit CODE] [--format table|csv|json]");
    int ec = person_parse(&c, argc, argv, &a, 1);
    if (ec != 0) {
        return ec < 0 ? CLI_OK : ec;
    }
    if (optind != argc) {
        return cli_extra_argument(&c);
    }
    const char *fmt = a.format, *why = NULL;
    if ((ec = person_format_check(&c, &fmt)) != 0) {
        return ec;
    }
    if (a.unit != NULL && domain_unit_code_check(a.unit, &why) != ERR_OK) {
        return cli_usage(&c, "--unit: %s", why);
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, 0, &r)) != 0) {
        return ec;
    }
    /* kind 1: the citizen-id hash is the key; kind 2: the folded name, a line feed (never in a
     * key: fold_text turns it into a space) and the birth year. A name that cannot be folded
     * (NULL) is left out of kind 2 rather than grouped with every other such name. */
    static const char sql[] =
        "WITH p AS (SELECT id, name, birth_year, unit, cid_hash, cdht_fold(name) AS f"
        "  FROM person WHERE _live),"
        " d AS (SELECT 1 AS kind, cid_hash AS k, id, name, birth_year, unit FROM p"
        "  WHERE cid_hash IS NOT NULL"
        "  UNION ALL SELECT 2, f || char(10) || birth_year, id, name, birth_year, unit FROM p"
        "  WHERE f IS NOT NULL AND f <> '' AND birth_year IS NOT NULL),"
        " g AS (SELECT *, count(*) OVER w AS n, max(unit IS ?1) OVER w AS here FROM d"
        "  WINDOW w AS (PARTITION BY kind, k))"
        " SELECT kind, k, id, name, birth_year, unit FROM g"
        " WHERE n > 1 AND (?1 IS NULL OR here) ORDER BY kind, k, unit, id";
    sqlite3_stmt *s = NULL;
    int rc = SQLITE_ERROR;
    if (fold_register(r->st->db) != ERR_OK || (s = store_stmt(r->st, sql)) == NULL) {
        goto out;
    }
    if (a.unit != NULL) {
        sqlite3_bind_text(s, 1, a.unit, -1, SQLITE_STATIC);
    }
    /* The previous row's group: its kind and key (a hash, or a key of FOLD_KEY_SIZE with a
     * year), compared to start a new group. */
    uint8_t prev[FOLD_KEY_SIZE + 32];
    size_t prev_len = 0;
    int prev_kind = 0;
    unsigned groups = 0, people = 0;
    int json = strcmp(fmt, "json") == 0, csv = strcmp(fmt, "csv") == 0;
    if (csv) {
        printf("group,reason,id,name,birth_year,unit\n");
    } else if (json) {
        printf("[");
    }
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int kind = sqlite3_column_int(s, 0);
        const void *k = sqlite3_column_blob(s, 1);
        size_t k_len = (size_t)sqlite3_column_bytes(s, 1);
        if (NEVER(kind < 1 || kind > 2 || k == NULL || k_len > sizeof prev)) {
            rc = SQLITE_CORRUPT;
            break;
        }
        const char *reason = person_dup_reasons[kind - 1];
        if (kind != prev_kind || k_len != prev_len || memcmp(k, prev, k_len) != 0) {
            if (json && groups > 0) {
                printf("\n  ]},");
            }
            groups++;
            memcpy(prev, k, k_len);
            prev_len = k_len;
            prev_kind = kind;
            if (json) {
                printf("\n  {\"group\": %u, \"reason\": \"%s\", \"people\": [", groups, reason);
            }
        } else if (json) {
            printf(",");
        }
        people++;
        const char *f[4];
        for (int i = 0; i < 4; i++) {
            f[i] = (const char *)sqlite3_column_text(s, 2 + i);
            f[i] = f[i] ? f[i] : "";
        }
        if (json) {
            printf("\n    {\"id\": ");
            cli_json_str(stdout, f[0]);
            printf(", \"name\": ");
            cli_json_str(stdout, f[1]);
            printf(", \"birth_year\": %s, \"unit\": ", f[2][0] ? f[2] : "null");
            cli_json_str(stdout, f[3]);
            printf("}");
        } else if (csv) {
            printf("%u,%s,", groups, reason);
            for (int i = 0; i < 4; i++) {
                cli_csv_str(stdout, f[i]);
                putchar(i < 3 ? ',' : '\n');
            }
        } else {
            printf("%u\t%s\t%s\t%s\t%s\t%s\n", groups, reason, f[0], f[1], f[2], f[3]);
        }
    }
    if (json) {
        printf(groups > 0 ? "\n  ]}\n]\n" : "]\n");
    }
    sqlite3_reset(s);
    if (rc == SQLITE_DONE) {
        if (groups == 0) {
            fprintf(stderr, "cdht person duplicates: no duplicates found\n");
        } else {
            fprintf(stderr, "cdht person duplicates: %u %s, %u rows\n", groups,
                    groups == 1 ? "group" : "groups", people);
        }
    }
out:
    replica_close(r);
    if (rc != SQLITE_DONE) {
        return cli_fail(&c, ERR_DB, "cannot read people");
    }
    return groups > 0 ? CLI_FINDINGS : CLI_OK;
}

int
cmd_person(int argc, char **argv)
{
    if (argc >= 2) {
        if (strcmp(argv[1], "add") == 0) {
            return person_add(argc - 1, argv + 1);
        }
        if (strcmp(argv[1], "set") == 0) {
            return person_set_or_rm(argc - 1, argv + 1, 0);
        }
        if (strcmp(argv[1], "rm") == 0) {
            return person_set_or_rm(argc - 1, argv + 1, 1);
        }
        if (strcmp(argv[1], "list") == 0) {
            return person_list(argc - 1, argv + 1);
        }
        if (strcmp(argv[1], "find") == 0) {
            return person_find(argc - 1, argv + 1);
        }
        if (strcmp(argv[1], "duplicates") == 0) {
            return person_duplicates(argc - 1, argv + 1);
        }
    }
    int help = argc >= 2 && cli_is_help(argv[1]);
    fprintf(
        help ? stdout : stderr,
        "usage: cdht person add --name TEXT --birth-year YYYY --gender male|female --unit CODE\n"
        "                       [--group farmer|worker|official] [--citizen-id DIGITS]\n"
        "       cdht person set ID [any of the add flags]\n"
        "       cdht person rm ID\n"
        "       cdht person list [--unit CODE] [--format table|csv|json]\n"
        "       cdht person find TEXT [--unit CODE] [--format table|csv|json]\n"
        "       cdht person duplicates [--unit CODE] [--format table|csv|json]\n");
    return help ? CLI_OK : CLI_USAGE;
}
