/*
 * Tests for node/importer.c on real replicas: every bad row is listed with its line, column and
 * reason and nothing is written; duplicates within a file; English and unknown headers; NFD and
 * mixed names stored as NFC; empty cells; a 0-byte file and a text file renamed .xlsx; --skip-bad;
 * an XLSX whose citizen ids lost their leading 0; and a re-import that changes nothing (the
 * state hash and the number of leaves are equal before and after).
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>
#include <xlsxwriter.h>

#include "importer.h"
#include "replica.h"
#include "store.h"
#include "support.h"

#define HDR "STT,H\xe1\xbb\x8d v\xc3\xa0 t\xc3\xaan,N\xc4\x83m sinh,Gi\xe1\xbb\x9bi t\xc3\xadnh," \
            "M\xc3\xa3 \xc4\x91\xc6\xa1n v\xe1\xbb\x8b,Nh\xc3\xb3m \xc4\x91\xe1\xbb\x91i t\xc6\xb0" \
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

static const char good[] = HDR "1," NAME_NFC ",1985,Nam,C01,N\xc3\xb4ng d\xc3\xa2n,001085000123\n"
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
    static const char nfd[] = HDR "1," NAME_NFD ",1985,Nam,C01,N\xc3\xb4ng d\xc3\xa2n,001085000123\n";
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
    static const char moved[] = HDR "1," NAME_NFC ",1985,Nam,C02,N\xc3\xb4ng d\xc3\xa2n,001085000123\n";
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
    assert_bad(&res, 0, "line 2, column \"S\xe1\xbb\x91 CCCD\": citizen id century/gender digit "
                        "does not match the gender");
    assert_bad(&res, 1, "line 3, column \"S\xe1\xbb\x91 CCCD\": citizen id must contain only the "
                        "digits 0-9");
    assert_bad(&res, 2, "line 4, column \"H\xe1\xbb\x8d v\xc3\xa0 t\xc3\xaan\": empty: the column "
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
    assert_bad(&res, 2, "line 7: ambiguous: same name, birth year and unit as line 6; add "
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
    cr_assert_eq(run("Name,Birth year,Gi\xe1\xbb\x9bi t\xc3\xadnh,Unit,Foo\n", "a.csv", 1, 0, &res,
                     why),
                 ERR_INVAL);
    assert_bad(&res, 0, "line 1, column 1: \"Name\" is an English header; the template's is "
                        "\"H\xe1\xbb\x8d v\xc3\xa0 t\xc3\xaan\" (cdht template writes one)");
    assert_bad(&res, 3, "line 1, column 5: \"Foo\" is not a template column (headers are "
                        "Vietnamese; cdht template writes one)");
    cr_assert_str_eq(why, "the header row does not match the template (docs/import-template.md; "
                          "cdht template writes one)");
    importer_result_release(&res);
    cr_assert_eq(run("HO VA TEN;Nam sinh;GIOI TINH;ma don vi\nAn;1985;N\xe1\xbb\xaf;C01\n",
                     "a.csv", 0, 0, &res, why),
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

/* Header folding: case, diacritics, đ and spacing are ignored. */
Test(importer, fold)
{
    char f[64];
    cr_assert_eq(importer_fold("  M\xc3\x83  \xc4\x90\xc6\xa0N V\xe1\xbb\x8a ", f, sizeof f), 0);
    cr_assert_str_eq(f, "ma don vi");
    cr_assert_eq(importer_fold(NAME_NFD, f, sizeof f), 0);
    cr_assert_str_eq(f, "nguyen van truong");
    cr_assert_eq(importer_fold("abcdef", f, 4), -1);
}
