/*
 * Tests for node/importer.c on real replicas: every bad row is listed with its line, column and
 * reason and nothing is written; duplicates within a file; English and unknown headers; NFD and
 * mixed names stored as NFC; empty cells; a 0-byte file and a text file renamed .xlsx; --skip-bad;
 * an XLSX whose citizen ids lost their leading 0; and a re-import that changes nothing (the
 * state hash and the number of leaves are equal before and after). Score sheets (suite
 * "scores", on a replica holding the seed framework): registration and self scores written,
 * re-import, a score above the maximum, wrong headers, unknown people, a self-submitted
 * assessment's row refused, numeric XLSX cells, and the template's indicator columns.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>
#include <xlsxwriter.h>

#include "flow.h"
#include "importer.h"
#include "replica.h"
#include "seed.h"
#include "store.h"
#include "support.h"

#define HDR                                                                                        \
    "STT,H\xe1\xbb\x8d v\xc3\xa0 t\xc3\xaan,N\xc4\x83m sinh,Gi\xe1\xbb\x9bi t\xc3\xadnh,"          \
    "M\xc3\xa3 \xc4\x91\xc6\xa1n v\xe1\xbb\x8b,Nh\xc3\xb3m \xc4\x91\xe1\xbb\x91i t\xc6\xb0"        \
    "\xe1\xbb\xa3ng,S\xe1\xbb\x91 CCCD\n"
/* "Nguyễn Văn Trường" in NFC and in NFD. */
#define NAME_NFC "Nguy\xe1\xbb\x85n V\xc4\x83n Tr\xc6\xb0\xe1\xbb\x9dng"
#define NAME_NFD "Nguye\xcc\x82\xcc\x83n Va\xcc\x86n Tru\xcc\x9bo\xcc\x9b\xcc\x80ng"

static char *dir;
static struct replica *r;

static void
setup(void)
{
    dir = support_tmpdir();
    char *home = support_path(dir, "h");
    r = support_replica(home, "C01");
    free(home);
    struct replica_txn *t = NULL;
    cr_assert_eq(replica_txn_new(r, &t), ERR_OK);
    struct replica_cell c[] = {{.col = "kind", .type = SCHEMA_TEXT, .s = "commune"},
                               {.col = "name", .type = SCHEMA_TEXT, .s = "X"}};
    cr_assert_eq(replica_txn_put(t, "unit", "C01", 1, c, 2, 1), ERR_OK);
    cr_assert_eq(replica_txn_put(t, "unit", "C02", 1, c, 2, 1), ERR_OK);
    cr_assert_eq(replica_txn_commit(r, t, NULL), ERR_OK);
}

static void
teardown(void)
{
    replica_close(r);
    support_rmrf(dir);
    free(dir);
}

TestSuite(importer, .init = setup, .fini = teardown);

static err_code
run(const char *csv, const char *name, int dry, int skip, struct importer_result *res,
    char why[SHEET_WHY_SIZE])
{
    struct importer_opts o = {.dry_run = dry, .skip_bad = skip, .current_year = 2026};
    return importer_persons_mem(r, (const uint8_t *)csv, strlen(csv), name, &o, res, why);
}

static int
count_people(void)
{
    sqlite3_stmt *s = store_stmt(r->st, "SELECT count(*) FROM person WHERE _live");
    cr_assert_not_null(s);
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
    int n = sqlite3_column_int(s, 0);
    sqlite3_reset(s);
    return n;
}

static const char good[] =
    HDR "1," NAME_NFC ",1985,Nam,C01,N\xc3\xb4ng d\xc3\xa2n,001085000123\n"
        "2,Tr\xe1\xba\xa7n Th\xe1\xbb\x8b B\xc3\xacnh,2001,N\xe1\xbb\xaf,C01,,\n"
        "3,L\xc3\xaa V\xc4\x83n C,1970,nam,C02,c\xc3\xa1n b\xe1\xbb\x99,\n";

/* A good file imports; the same file again writes no leaf and leaves the state hash alone,
 * and so does the same file with its names in NFD. */
Test(importer, reimport_changes_nothing)
{
    struct importer_result res;
    char why[SHEET_WHY_SIZE];
    cr_assert_eq(run(good, "a.csv", 0, 0, &res, why), ERR_OK, "%s", why);
    cr_assert_eq(res.new_people, 3);
    cr_assert_eq(res.leaves, 1);
    cr_assert(res.written);
    importer_result_release(&res);
    char h1[65], h2[65];
    support_state_hex(r, h1);
    uint64_t l1 = support_total_leaves(r);
    cr_assert_eq(run(good, "a.csv", 0, 0, &res, why), ERR_OK);
    cr_assert_eq(res.unchanged, 3);
    cr_assert_eq(res.leaves, 0);
    importer_result_release(&res);
    static const char nfd[] =
        HDR "1," NAME_NFD ",1985,Nam,C01,N\xc3\xb4ng d\xc3\xa2n,001085000123\n";
    cr_assert_eq(run(nfd, "b.csv", 0, 0, &res, why), ERR_OK);
    cr_assert_eq(res.unchanged, 1);
    importer_result_release(&res);
    support_state_hex(r, h2);
    cr_assert_str_eq(h1, h2);
    cr_assert_eq(support_total_leaves(r), l1);
    cr_assert_eq(count_people(), 3);
}

/* A changed cell is the only one written; the person is found by citizen id. */
Test(importer, writes_only_changes)
{
    struct importer_result res;
    char why[SHEET_WHY_SIZE];
    cr_assert_eq(run(good, "a.csv", 0, 0, &res, why), ERR_OK);
    importer_result_release(&res);
    static const char moved[] =
        HDR "1," NAME_NFC ",1985,Nam,C02,N\xc3\xb4ng d\xc3\xa2n,001085000123\n";
    cr_assert_eq(run(moved, "a.csv", 0, 0, &res, why), ERR_OK);
    cr_assert_eq(res.changed, 1);
    cr_assert_eq(res.changes, 1);
    importer_result_release(&res);
    cr_assert_eq(count_people(), 3);
}

static void
assert_bad(const struct importer_result *res, size_t i, const char *want)
{
    cr_assert_lt(i, res->n_bad);
    cr_assert_str_eq(res->bad[i], want);
}

/* Bad citizen ids and empty required cells are listed exactly; nothing is written. */
Test(importer, bad_rows_write_nothing)
{
    static const char bad[] = HDR "1,An,1985,Nam,C01,,001185000123\n"
                                  "2,B\xc3\xacnh,1985,Nam,C01,,00108500012A\n"
                                  "3,,,Nam,C01,,\n"
                                  "4,C,1985,Nam,C01,,001085000124\n";
    struct importer_result res;
    char why[SHEET_WHY_SIZE];
    uint64_t l0 = support_total_leaves(r);
    cr_assert_eq(run(bad, "a.csv", 0, 0, &res, why), ERR_OK);
    cr_assert_eq(res.bad_rows, 3);
    cr_assert_eq(res.written, 0);
    assert_bad(&res, 0,
               "line 2, column \"S\xe1\xbb\x91 CCCD\": citizen id century/gender digit "
               "does not match the gender");
    assert_bad(&res, 1,
               "line 3, column \"S\xe1\xbb\x91 CCCD\": citizen id must contain only the "
               "digits 0-9");
    assert_bad(&res, 2,
               "line 4, column \"H\xe1\xbb\x8d v\xc3\xa0 t\xc3\xaan\": empty: the column "
               "is required");
    assert_bad(&res, 3, "line 4, column \"N\xc4\x83m sinh\": empty: the column is required");
    cr_assert_eq(res.n_bad, 4);
    importer_result_release(&res);
    cr_assert_eq(support_total_leaves(r), l0);
    cr_assert_eq(count_people(), 0);
    /* --skip-bad writes the good row only. */
    cr_assert_eq(run(bad, "a.csv", 0, 1, &res, why), ERR_OK);
    cr_assert_eq(res.new_people, 1);
    importer_result_release(&res);
    cr_assert_eq(count_people(), 1);
}

/* The same person twice (by citizen id, or identical rows), and two rows that cannot be told
 * apart; the later row is the bad one. */
Test(importer, duplicate_rows)
{
    static const char dup[] = HDR "1,An,1985,Nam,C01,,001085000123\n"
                                  "2,An B,1985,Nam,C01,,001085000123\n"
                                  "3,D,1990,Nam,C01,,\n"
                                  "4,D,1990,Nam,C01,,\n"
                                  "5,E,1990,Nam,C01,,\n"
                                  "6,E,1990,Nam,C01,worker,\n";
    struct importer_result res;
    char why[SHEET_WHY_SIZE];
    cr_assert_eq(run(dup, "a.csv", 1, 0, &res, why), ERR_OK);
    cr_assert_eq(res.bad_rows, 3);
    assert_bad(&res, 0, "line 3: duplicate row: same person as line 2");
    assert_bad(&res, 1, "line 5: duplicate row: same person as line 4");
    assert_bad(&res, 2,
               "line 7: ambiguous: same name, birth year and unit as line 6; add "
               "S\xe1\xbb\x91 CCCD or M\xc3\xa3 ng\xc6\xb0\xe1\xbb\x9di");
    importer_result_release(&res);
    cr_assert_eq(count_people(), 0);
}

/* English headers are refused with the Vietnamese one named; unknown ones too; folded
 * spellings of ours ("HO VA TEN", "Ho va ten") are accepted. */
Test(importer, headers)
{
    struct importer_result res;
    char why[SHEET_WHY_SIZE];
    cr_assert_eq(
        run("Name,Birth year,Gi\xe1\xbb\x9bi t\xc3\xadnh,Unit,Foo\n", "a.csv", 1, 0, &res, why),
        ERR_INVAL);
    assert_bad(&res, 0,
               "line 1, column 1: \"Name\" is an English header; the template's is "
               "\"H\xe1\xbb\x8d v\xc3\xa0 t\xc3\xaan\" (cdht template writes one)");
    assert_bad(&res, 3,
               "line 1, column 5: \"Foo\" is not a template column (headers are "
               "Vietnamese; cdht template writes one)");
    cr_assert_str_eq(why, "the header row does not match the template (docs/import-template.md; "
                          "cdht template writes one)");
    importer_result_release(&res);
    cr_assert_eq(run("HO VA TEN;Nam sinh;GIOI TINH;ma don vi\nAn;1985;N\xe1\xbb\xaf;C01\n", "a.csv",
                     0, 0, &res, why),
                 ERR_OK, "%s", why);
    cr_assert_eq(res.new_people, 1);
    importer_result_release(&res);
    /* A missing required column. */
    cr_assert_eq(run("H\xe1\xbb\x8d v\xc3\xa0 t\xc3\xaan\nAn\n", "a.csv", 1, 0, &res, why),
                 ERR_INVAL);
    assert_bad(&res, 0, "line 1, column \"N\xc4\x83m sinh\": missing: the column is required");
    importer_result_release(&res);
}

/* A 0-byte file and a text file renamed .xlsx are refused as files. */
Test(importer, not_spreadsheets)
{
    struct importer_result res;
    char why[SHEET_WHY_SIZE];
    cr_assert_eq(run("", "a.csv", 0, 0, &res, why), ERR_INVAL);
    cr_assert_str_eq(why, "empty file: no header row");
    importer_result_release(&res);
    cr_assert_eq(run(good, "a.xlsx", 0, 0, &res, why), ERR_INVAL);
    cr_assert_str_eq(why, "not an XLSX file (not a ZIP archive: was it renamed?)");
    importer_result_release(&res);
    cr_assert_eq(run(HDR, "a.csv", 0, 0, &res, why), ERR_OK);
    cr_assert_eq(res.rows, 0);
    importer_result_release(&res);
}

/* An XLSX whose citizen id was typed as a number (Excel drops its leading 0) imports. */
Test(importer, xlsx_numeric_cid)
{
    char *path = support_path(dir, "p.xlsx");
    lxw_workbook *wb = workbook_new(path);
    lxw_worksheet *ws = workbook_add_worksheet(wb, NULL);
    for (int c = 0; c < IMPORT_COL_ID; c++) {
        worksheet_write_string(ws, 0, (lxw_col_t)c, importer_headers[c].vi, NULL);
    }
    worksheet_write_string(ws, 1, IMPORT_COL_NAME, NAME_NFD, NULL);
    worksheet_write_number(ws, 1, IMPORT_COL_YEAR, 1985, NULL);
    worksheet_write_string(ws, 1, IMPORT_COL_GENDER, "Nam", NULL);
    worksheet_write_string(ws, 1, IMPORT_COL_UNIT, "C01", NULL);
    worksheet_write_number(ws, 1, IMPORT_COL_CID, 1085000123, NULL);
    cr_assert_eq(workbook_close(wb), LXW_NO_ERROR);
    struct importer_opts o = {.current_year = 2026};
    struct importer_result res;
    char why[SHEET_WHY_SIZE];
    cr_assert_eq(importer_persons(r, path, &o, &res, why), ERR_OK, "%s", why);
    cr_assert_eq(res.bad_rows, 0, "%s", res.n_bad ? res.bad[0] : "");
    cr_assert_eq(res.new_people, 1);
    importer_result_release(&res);
    sqlite3_stmt *s = store_stmt(r->st, "SELECT name FROM person WHERE _live");
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(s, 0), NAME_NFC);
    sqlite3_reset(s);
    free(path);
}

/* Headers fold through node/fold.h's fold_text: case, diacritics (NFC or NFD), đ and extra
 * spacing are ignored, so an upper-case, unaccented or NFD header row imports. */
Test(importer, headers_fold)
{
    struct importer_result res;
    char why[SHEET_WHY_SIZE];
    /* "  MÃ  ĐƠN VỊ ", "ho  va TEN", "Năm sinh" in NFD, "gioi tinh". */
    static const char f[] = "  M\xc3\x83  \xc4\x90\xc6\xa0N V\xe1\xbb\x8a ,ho  va TEN,Na\xcc\x86m "
                            "sinh,gioi tinh\nC01," NAME_NFD ",1985,Nam\n";
    cr_assert_eq(run(f, "a.csv", 0, 0, &res, why), ERR_OK, "%s", why);
    cr_assert_eq(res.new_people, 1);
    importer_result_release(&res);
}

/* ---- Score sheets ------------------------------------------------------------------------ */

/* The seed framework, published as the root would ("*"), on this open-mode replica. */
static void
publish_seed(void)
{
    struct replica_txn *t = NULL;
    cr_assert_eq(replica_txn_new(r, &t), ERR_OK);
    cr_assert_eq(seed_framework_put(t, "*"), ERR_OK);
    cr_assert_eq(replica_txn_commit(r, t, NULL), ERR_OK);
}

/* Three people: An (by citizen id), Bình (by name, birth year and unit), Cường (no group). */
static void
scores_setup(void)
{
    setup();
    publish_seed();
    static const char people[] =
        HDR "1," NAME_NFC ",1985,Nam,C01,N\xc3\xb4ng d\xc3\xa2n,001085000123\n"
            "2,Tr\xe1\xba\xa7n Th\xe1\xbb\x8b B\xc3\xacnh,2001,N\xe1\xbb\xaf,C01,"
            "C\xc3\xb4ng nh\xc3\xa2n,\n"
            "3,L\xc3\xaa V\xc4\x83n C,1970,nam,C02,,\n";
    struct importer_result res;
    char why[SHEET_WHY_SIZE];
    cr_assert_eq(run(people, "p.csv", 0, 0, &res, why), ERR_OK, "%s", why);
    cr_assert_eq(res.new_people, 3);
    importer_result_release(&res);
}

TestSuite(scores, .init = scores_setup, .fini = teardown);

/* "Số CCCD,Họ và tên,Năm sinh,Mã đơn vị,Năm đánh giá,1.1,...,3.2,Kỹ năng số" */
#define SHDR                                                                                       \
    "S\xe1\xbb\x91 CCCD,H\xe1\xbb\x8d v\xc3\xa0 t\xc3\xaan,N\xc4\x83m sinh,"                       \
    "M\xc3\xa3 \xc4\x91\xc6\xa1n v\xe1\xbb\x8b,N\xc4\x83m \xc4\x91\xc3\xa1nh gi\xc3\xa1,"          \
    "1.1,1.2,1.3,1.4,2.1,2.2,2.3,2.4,3.1,3.2,K\xe1\xbb\xb9 n\xc4\x83ng s\xe1\xbb\x91\n"
#define BINH "Tr\xe1\xba\xa7n Th\xe1\xbb\x8b B\xc3\xacnh"
/* An's full sheet; Bình's with 1.2 missing (a draft may be incomplete). */
#define AN_ROW "001085000123,,,,2026,8,9,7,10,8,9,6,7,9,8,C\xc6\xa1 b\xe1\xba\xa3n\n"
#define BINH_ROW "," BINH ",2001,C01,2026,8,,7,6,8,9,6,7,9,8,\n"

static err_code
run_scores(const char *csv, int dry, int skip, int year, struct importer_result *res,
           char why[SHEET_WHY_SIZE])
{
    struct importer_opts o = {.dry_run = dry, .skip_bad = skip, .current_year = 2026, .year = year};
    return importer_scores_mem(r, (const uint8_t *)csv, strlen(csv), "s.csv", &o, res, why);
}

static int
count_rows(const char *sql)
{
    sqlite3_stmt *s = store_stmt(r->st, sql);
    cr_assert_not_null(s);
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
    int n = sqlite3_column_int(s, 0);
    sqlite3_reset(s);
    return n;
}

/* The id of the person named name (NFC). */
static void
person_id(const char *name, char out[17])
{
    sqlite3_stmt *s = store_stmt(r->st, "SELECT id FROM person WHERE name=?1 AND _live");
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
    snprintf(out, 17, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_reset(s);
}

/* A sheet registers each person for the year (unit, group, the framework chosen), writes the
 * scores given and leaves a missing one NULL; the same sheet again writes no leaf and leaves
 * the state hash alone. */
Test(scores, import_then_reimport_changes_nothing)
{
    static const char sheet[] = SHDR AN_ROW BINH_ROW;
    struct importer_result res;
    char why[SHEET_WHY_SIZE];
    cr_assert_eq(run_scores(sheet, 0, 0, 0, &res, why), ERR_OK, "%s", why);
    cr_assert_eq(res.bad_rows, 0, "%s", res.n_bad ? res.bad[0] : "");
    cr_assert_eq(res.new_people, 2);
    cr_assert_eq(res.leaves, 1);
    cr_assert_eq(res.changes, 4);
    importer_result_release(&res);
    char an[17], binh[17];
    person_id(NAME_NFC, an);
    person_id(BINH, binh);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM assessment_state WHERE id='2026:%s' AND unit='C01' AND "
             "grp='farmer' AND framework='*/244-2022/1' AND digital='basic' AND round=1 AND "
             "status='draft'",
             an);
    cr_assert_eq(count_rows(sql), 1);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM self_score WHERE id='2026:%s' AND s01=8 AND s02 IS NULL AND "
             "s04=6 AND s10=8 AND round=1 AND unit='C01'",
             binh);
    cr_assert_eq(count_rows(sql), 1);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM assessment_state WHERE id='2026:%s' AND "
             "grp='worker' AND digital IS NULL",
             binh);
    cr_assert_eq(count_rows(sql), 1);

    char h1[65], h2[65];
    support_state_hex(r, h1);
    uint64_t l1 = support_total_leaves(r);
    cr_assert_eq(run_scores(sheet, 0, 0, 0, &res, why), ERR_OK);
    cr_assert_eq(res.unchanged, 2);
    cr_assert_eq(res.leaves, 0);
    cr_assert_eq(res.changes, 0);
    importer_result_release(&res);
    /* Bình's sheet without the year column, the year from --year: still nothing to change. */
    static const char noyear[] =
        "H\xe1\xbb\x8d v\xc3\xa0 t\xc3\xaan,N\xc4\x83m sinh,"
        "M\xc3\xa3 \xc4\x91\xc6\xa1n v\xe1\xbb\x8b,1.1\n" BINH ",2001,C01,8\n";
    cr_assert_eq(run_scores(noyear, 0, 0, 2026, &res, why), ERR_OK, "%s", why);
    cr_assert_eq(res.unchanged, 1);
    importer_result_release(&res);
    support_state_hex(r, h2);
    cr_assert_str_eq(h1, h2);
    cr_assert_eq(support_total_leaves(r), l1);

    /* One changed score is the one cell written (with the unit, the change's scope). */
    static const char one[] = SHDR "001085000123,,,,2026,8,9,7,10,8,9,6,7,9,9,\n";
    cr_assert_eq(run_scores(one, 0, 0, 0, &res, why), ERR_OK, "%s", why);
    cr_assert_eq(res.changed, 1);
    cr_assert_eq(res.changes, 1);
    importer_result_release(&res);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM self_score WHERE id='2026:%s' AND s10=9 AND "
             "s01=8",
             an);
    cr_assert_eq(count_rows(sql), 1);
}

/* A score above the indicator's maximum is a bad row with its column; nothing is written. */
Test(scores, above_max)
{
    static const char sheet[] = SHDR AN_ROW "," BINH ",2001,C01,2026,8,,7,11,8,9,6,7,9,8,\n";
    struct importer_result res;
    char why[SHEET_WHY_SIZE];
    uint64_t l0 = support_total_leaves(r);
    cr_assert_eq(run_scores(sheet, 0, 0, 0, &res, why), ERR_OK, "%s", why);
    cr_assert_eq(res.bad_rows, 1);
    cr_assert_eq(res.written, 0);
    assert_bad(&res, 0, "line 3, column \"1.4\": 11 is above the indicator's maximum (10)");
    cr_assert_eq(res.n_bad, 1);
    importer_result_release(&res);
    cr_assert_eq(support_total_leaves(r), l0);
    cr_assert_eq(count_rows("SELECT count(*) FROM assessment"), 0);
    /* Not a number, and a number too large to be one. */
    static const char junk[] = SHDR "001085000123,,,,2026,8,x,7,10,8,9,6,7,9,12345,\n";
    cr_assert_eq(run_scores(junk, 1, 0, 0, &res, why), ERR_OK);
    assert_bad(&res, 0, "line 2, column \"1.2\": must be a whole number of points, such as 8");
    assert_bad(&res, 1, "line 2, column \"3.2\": must be a whole number of points, such as 8");
    importer_result_release(&res);
    /* --skip-bad writes the good row only. */
    cr_assert_eq(run_scores(sheet, 0, 1, 0, &res, why), ERR_OK);
    cr_assert_eq(res.new_people, 1);
    importer_result_release(&res);
    cr_assert_eq(count_rows("SELECT count(*) FROM assessment WHERE _live"), 1);
}

/* Wrong headers: an English one, an indicator no framework held has, a duplicate, and a sheet
 * without any column that finds the person. The file is refused as a whole. */
Test(scores, wrong_headers)
{
    struct importer_result res;
    char why[SHEET_WHY_SIZE];
    static const char en[] = "Citizen ID,N\xc4\x83m \xc4\x91\xc3\xa1nh gi\xc3\xa1,1.1,4.1,1.1\n"
                             "001085000123,2026,8,8,8\n";
    cr_assert_eq(run_scores(en, 1, 0, 0, &res, why), ERR_INVAL);
    assert_bad(&res, 0,
               "line 1, column 1: \"Citizen ID\" is an English header; the template's "
               "is \"S\xe1\xbb\x91 CCCD\" (cdht template --kind scores writes one)");
    assert_bad(&res, 1,
               "line 1, column 4: indicator 4.1 is not in any framework held here (cdht "
               "framework list)");
    assert_bad(&res, 2, "line 1, column 5: \"1.1\" appears twice");
    cr_assert_str_eq(why, "the header row does not match the template (docs/import-template.md; "
                          "cdht template --kind scores writes one)");
    importer_result_release(&res);
    static const char noone[] = "N\xc4\x83m \xc4\x91\xc3\xa1nh gi\xc3\xa1,1.1\n2026,8\n";
    cr_assert_eq(run_scores(noone, 1, 0, 0, &res, why), ERR_INVAL);
    assert_bad(&res, 0,
               "line 1: no column finds the person: give M\xc3\xa3 ng\xc6\xb0\xe1\xbb\x9di, "
               "or S\xe1\xbb\x91 CCCD, or H\xe1\xbb\x8d v\xc3\xa0 t\xc3\xaan with "
               "N\xc4\x83m sinh and M\xc3\xa3 \xc4\x91\xc6\xa1n v\xe1\xbb\x8b");
    importer_result_release(&res);
    /* Without the year column and without --year. */
    static const char noyear[] = "S\xe1\xbb\x91 CCCD,1.1\n001085000123,8\n";
    cr_assert_eq(run_scores(noyear, 1, 0, 0, &res, why), ERR_INVAL);
    assert_bad(&res, 0,
               "line 1, column \"N\xc4\x83m \xc4\x91\xc3\xa1nh gi\xc3\xa1\": missing: the "
               "column is required (or give --year)");
    importer_result_release(&res);
    /* A person list's header is not a score sheet's. */
    cr_assert_eq(run_scores(good, 1, 0, 2026, &res, why), ERR_INVAL);
    importer_result_release(&res);
}

/* Unknown people: by citizen id, by name (wrong unit), by id; and the same person twice. */
Test(scores, unknown_person)
{
    static const char sheet[] = SHDR "079301000456,,,,2026,8,,,,,,,,,,\n"
                                     "," BINH ",2001,C02,2026,8,,,,,,,,,,\n"
                                     "," BINH ",2001,C01,2026,8,,,,,,,,,,\n"
                                     "," BINH ",2001,C01,2026,9,,,,,,,,,,\n"
                                     ",,,,2026,8,,,,,,,,,,\n";
    struct importer_result res;
    char why[SHEET_WHY_SIZE];
    cr_assert_eq(run_scores(sheet, 1, 0, 0, &res, why), ERR_OK, "%s", why);
    cr_assert_eq(res.bad_rows, 4);
    assert_bad(&res, 0,
               "line 2, column \"S\xe1\xbb\x91 CCCD\": no person held has this citizen "
               "id (import the person list first)");
    assert_bad(&res, 1,
               "line 3: unknown person: no one held has this H\xe1\xbb\x8d v\xc3\xa0 "
               "t\xc3\xaan, N\xc4\x83m sinh and M\xc3\xa3 \xc4\x91\xc6\xa1n v\xe1\xbb\x8b "
               "(import the person list first)");
    assert_bad(&res, 2, "line 5: duplicate row: same person and year as line 4");
    assert_bad(&res, 3,
               "line 6: nothing finds the person: fill M\xc3\xa3 ng\xc6\xb0\xe1\xbb\x9di, "
               "or S\xe1\xbb\x91 CCCD, or H\xe1\xbb\x8d v\xc3\xa0 t\xc3\xaan with "
               "N\xc4\x83m sinh and M\xc3\xa3 \xc4\x91\xc6\xa1n v\xe1\xbb\x8b");
    cr_assert_eq(res.n_bad, 4);
    importer_result_release(&res);
    /* Mã người that no one has; Cường has no target group and the row gives none. */
    static const char ids[] = "M\xc3\xa3 ng\xc6\xb0\xe1\xbb\x9di,N\xc4\x83m \xc4\x91\xc3\xa1nh "
                              "gi\xc3\xa1,1.1\n0000000000000000,2026,8\n";
    cr_assert_eq(run_scores(ids, 1, 0, 0, &res, why), ERR_OK, "%s", why);
    assert_bad(&res, 0,
               "line 2, column \"M\xc3\xa3 ng\xc6\xb0\xe1\xbb\x9di\": unknown person id "
               "(cdht person list shows them)");
    importer_result_release(&res);
    static const char cuong[] = SHDR ",L\xc3\xaa V\xc4\x83n C,1970,C02,2026,8,,,,,,,,,,\n";
    cr_assert_eq(run_scores(cuong, 1, 0, 0, &res, why), ERR_OK, "%s", why);
    assert_bad(&res, 0,
               "line 2, column \"Nh\xc3\xb3m \xc4\x91\xe1\xbb\x91i t\xc6\xb0\xe1\xbb\xa3ng\": "
               "empty, and the person has no target group: fill it");
    importer_result_release(&res);
}

/* Once self-submitted, a row that would change the self scores or the digital level is refused
 * with the workflow's sentence; the same values again are unchanged, not refused. */
Test(scores, submitted_assessment_refused)
{
    static const char sheet[] = SHDR AN_ROW;
    struct importer_result res;
    char why[SHEET_WHY_SIZE];
    cr_assert_eq(run_scores(sheet, 0, 0, 0, &res, why), ERR_OK, "%s", why);
    cr_assert_eq(res.new_people, 1);
    importer_result_release(&res);
    char an[17], fwhy[FLOW_WHY_SIZE];
    person_id(NAME_NFC, an);
    const struct flow_assess_args a = {.person = an, .year = 2026, .submit = 1};
    cr_assert_eq(flow_assess(r, &a, fwhy), ERR_OK, "%s", fwhy);
    char h1[65], h2[65];
    support_state_hex(r, h1);
    static const char changed[] = SHDR "001085000123,,,,2026,8,9,7,10,8,9,6,7,9,10,\n";
    cr_assert_eq(run_scores(changed, 0, 0, 0, &res, why), ERR_OK, "%s", why);
    cr_assert_eq(res.bad_rows, 1);
    cr_assert_eq(res.written, 0);
    assert_bad(&res, 0,
               "line 2: the assessment is self_submitted; self scores can no longer "
               "change");
    importer_result_release(&res);
    static const char digital[] = SHDR "001085000123,,,,2026,,,,,,,,,,,Kh\xc3\xb4ng\n";
    cr_assert_eq(run_scores(digital, 0, 0, 0, &res, why), ERR_OK, "%s", why);
    assert_bad(&res, 0,
               "line 2: the assessment is self_submitted; self scores can no longer "
               "change");
    importer_result_release(&res);
    cr_assert_eq(run_scores(sheet, 0, 0, 0, &res, why), ERR_OK, "%s", why);
    cr_assert_eq(res.bad_rows, 0);
    cr_assert_eq(res.unchanged, 1);
    importer_result_release(&res);
    support_state_hex(r, h2);
    cr_assert_str_eq(h1, h2);
}

/* An XLSX score sheet typed with numbers (year, birth year, scores, a citizen id that lost its
 * leading zeros) imports like the CSV. */
Test(scores, xlsx_numbers)
{
    char *path = support_path(dir, "s.xlsx");
    lxw_workbook *wb = workbook_new(path);
    lxw_worksheet *ws = workbook_add_worksheet(wb, "B\xe1\xba\xa3ng \xc4\x91i\xe1\xbb\x83m");
    worksheet_write_string(ws, 0, 0, importer_score_headers[IMPORT_SCORE_CID].vi, NULL);
    worksheet_write_string(ws, 0, 1, importer_score_headers[IMPORT_SCORE_YEAR].vi, NULL);
    worksheet_write_string(ws, 0, 2, "1.1", NULL);
    worksheet_write_number(ws, 0, 3, 3.2, NULL); /* a header typed as a number */
    worksheet_write_number(ws, 1, 0, 1085000123, NULL);
    worksheet_write_number(ws, 1, 1, 2026, NULL);
    worksheet_write_number(ws, 1, 2, 7, NULL);
    worksheet_write_number(ws, 1, 3, 10, NULL);
    cr_assert_eq(workbook_close(wb), LXW_NO_ERROR);
    struct importer_opts o = {.current_year = 2026};
    struct importer_result res;
    char why[SHEET_WHY_SIZE];
    cr_assert_eq(importer_scores(r, path, &o, &res, why), ERR_OK, "%s", why);
    cr_assert_eq(res.bad_rows, 0, "%s", res.n_bad ? res.bad[0] : "");
    cr_assert_eq(res.new_people, 1);
    importer_result_release(&res);
    cr_assert_eq(count_rows("SELECT count(*) FROM self_score WHERE s01=7 AND s10=10 AND s02 IS "
                            "NULL"),
                 1);
    free(path);
}

/* The template's indicator columns: the seed's ten codes, or a held framework's. */
Test(scores, template_codes)
{
    struct importer_score_code codes[IMPORT_SCORE_CODES_MAX];
    size_t n = 0;
    cr_assert_eq(importer_score_codes(NULL, NULL, codes, &n), ERR_OK);
    cr_assert_eq(n, 10);
    cr_assert_str_eq(codes[0].code, "1.1");
    cr_assert_str_eq(codes[9].code, "3.2");
    cr_assert_eq(codes[9].max, 10);
    cr_assert_eq(importer_score_codes(r, "*/244-2022/1", codes, &n), ERR_OK);
    cr_assert_eq(n, 10);
    cr_assert_str_eq(codes[4].code, "2.1");
    cr_assert_eq(importer_score_codes(r, "*/nope/1", codes, &n), ERR_NOTFOUND);
}
