/*
 * Importing a branch's spreadsheets (CSV or XLSX, Vietnamese headers: docs/import-template.md)
 * into the replica: person lists, and score sheets of self scores. Pass 1 reads every row
 * through node/sheet.c and checks its cells (node/domain.c's rules); pass 2 matches rows to
 * people already held (Mã người, else citizen-id hash, else NFC name + birth year + unit),
 * finds duplicate rows within the file, checks score sheets against the framework and the
 * workflow (node/flow.h), and writes only the cells that differ, many changes per leaf and
 * every leaf of the import in one SQLite transaction. A re-import of the same file therefore
 * writes nothing at all. tools/import.c prints.
 */
#ifndef CDHT_IMPORTER_H
#define CDHT_IMPORTER_H

#include <stddef.h>

#include "err.h"
#include "limits.h"
#include "sheet.h"

struct replica;

/* A new leaf starts after this many changes: below COMMIT_CHANGES_MAX (10,000), and about 1,000
 * leaves' worth of Merkle work per 2 million rows; a person row is one change. */
#define IMPORT_LEAF_CHANGES_MAX 2000u
/* ... or when the leaf's estimated size reaches half of LEAF_SIZE_MAX, so that even a run of
 * rows with the longest names accepted cannot overflow a leaf. */
#define IMPORT_LEAF_BYTES_TARGET (LEAF_SIZE_MAX / 2u)
/* Bad rows listed one by one; beyond this only counted (each listing line is about 80 bytes,
 * and a wholly wrong file of SHEET_ROWS_MAX rows would otherwise print megabytes). */
#define IMPORT_BAD_LISTED_MAX 10000u

static_assert(IMPORT_LEAF_CHANGES_MAX <= COMMIT_CHANGES_MAX, "a leaf holds the changes");
static_assert(IMPORT_LEAF_BYTES_TARGET + 64u * 1024u <= LEAF_SIZE_MAX,
              "one more row of the largest size fits after the target");

/* The columns of the person list, in template order. */
enum importer_col {
    IMPORT_COL_STT = 0, /* row number: optional, ignored */
    IMPORT_COL_NAME,
    IMPORT_COL_YEAR,
    IMPORT_COL_GENDER,
    IMPORT_COL_UNIT,
    IMPORT_COL_GROUP,
    IMPORT_COL_CID,
    IMPORT_COL_ID, /* cdht person id: optional */
    IMPORT_COL_COUNT
};

struct importer_header {
    const char *vi;       /* the template's header, NFC */
    const char *en;       /* its English meaning, for docs and messages */
    int required;         /* 1: the column must be present and every row must fill it */
    const char *accepted; /* accepted values, for `cdht template` and the docs */
};
extern const struct importer_header importer_headers[IMPORT_COL_COUNT];

/* The fixed columns of a score sheet, in template order; the indicator columns (headed by
 * the framework's codes, "1.1" ...) come between IMPORT_SCORE_GROUP and IMPORT_SCORE_DIGITAL.
 * The person is found by Mã người, or Số CCCD, or Họ và tên + Năm sinh + Mã đơn vị. */
enum importer_score_col {
    IMPORT_SCORE_STT = 0, /* row number: optional, ignored */
    IMPORT_SCORE_ID,      /* Mã người */
    IMPORT_SCORE_CID,     /* Số CCCD */
    IMPORT_SCORE_NAME,    /* Họ và tên */
    IMPORT_SCORE_BIRTH,   /* Năm sinh */
    IMPORT_SCORE_UNIT,    /* Mã đơn vị */
    IMPORT_SCORE_YEAR,    /* Năm đánh giá: required unless --year */
    IMPORT_SCORE_GROUP, /* Nhóm đối tượng: empty keeps the registration's (or the person's) */
    IMPORT_SCORE_DIGITAL, /* Kỹ năng số */
    IMPORT_SCORE_COUNT
};
extern const struct importer_header importer_score_headers[IMPORT_SCORE_COUNT];

/* Indicator columns one score sheet may carry: the union of the codes of a framework's groups
 * (the seed framework has 10; three groups of ten distinct codes would be 30). It sizes the
 * per-row score array (2 bytes a column). */
#define IMPORT_SCORE_CODES_MAX 32u
/* An indicator code as a header: "1.1", at most this many bytes. */
#define IMPORT_SCORE_CODE_SIZE 16u
/* Largest value a score cell may hold before the framework's maximum is looked at. */
#define IMPORT_SCORE_VALUE_MAX 999

static_assert(IMPORT_SCORE_CODES_MAX + IMPORT_SCORE_COUNT <= SHEET_CELLS_MAX,
              "a sheet of every indicator column fits a row");

struct importer_opts {
    int dry_run;      /* validate and count; write nothing */
    int skip_bad;     /* write the good rows even when some are bad */
    int current_year; /* birth years after it are refused */
    int year;         /* score sheets: the assessment year of rows that leave it empty; 0: none */
};

struct importer_result {
    enum sheet_format format;
    size_t rows;       /* data rows (not the header, not wholly empty rows) */
    size_t bad_rows;   /* rows with at least one problem */
    size_t new_people; /* good rows that make a new person (persons) or register the person
                          for the year (scores: a new assessment row) */
    size_t changed;    /* good rows that change a person (an assessment, its scores) held */
    size_t unchanged;  /* good rows equal to what is held */
    size_t changes;    /* changes written (0 after a dry run) */
    size_t leaves;     /* leaves written */
    int written;       /* 1 when the import committed */
    /* Problems, sorted by line: "line 7, column \"Số CCCD\": reason". Owned. */
    char **bad;
    size_t n_bad, n_bad_unlisted;
};

/* Imports path into r (opened for writing). ERR_OK: the file was read and the result says what
 * happened: with bad rows and neither dry_run nor skip_bad, nothing was written. ERR_INVAL or
 * ERR_MSGSIZE: the file as a whole was refused (empty, not a spreadsheet, a header that does
 * not match the template: then res->bad lists each header problem); why says so. Other codes:
 * the write failed (ERR_DENIED: r->denied says why) and nothing was written. */
err_code importer_persons(struct replica *r, const char *path, const struct importer_opts *o,
                          struct importer_result *res, char why[SHEET_WHY_SIZE]) WARN_UNUSED;
/* The same on a file already in memory (tests). */
err_code importer_persons_mem(struct replica *r, const uint8_t *buf, size_t len,
                              const char *name_hint, const struct importer_opts *o,
                              struct importer_result *res, char why[SHEET_WHY_SIZE]) WARN_UNUSED;

/* Imports a score sheet of self scores into r. For each good row: the person is found as
 * importer_persons finds people (an unknown person is a bad row: import the list first); the
 * year's assessment is registered when there is none (the person's unit, the group of the row
 * or the person, the framework chosen for the unit and year: flow_framework_choose); every
 * score is checked against that framework's group (0..max; an empty cell keeps the score
 * held, or stays missing: a draft may be incomplete); and only cells that differ are written.
 * A row that would change an assessment already self_submitted or later is a bad row
 * ("line N: the assessment is self_submitted; self scores can no longer change"); a row equal
 * to what is held is unchanged whatever the status. Results and errors as importer_persons;
 * res->new_people counts the registrations. */
err_code importer_scores(struct replica *r, const char *path, const struct importer_opts *o,
                         struct importer_result *res, char why[SHEET_WHY_SIZE]) WARN_UNUSED;
err_code importer_scores_mem(struct replica *r, const uint8_t *buf, size_t len,
                             const char *name_hint, const struct importer_opts *o,
                             struct importer_result *res, char why[SHEET_WHY_SIZE]) WARN_UNUSED;

void importer_result_release(struct importer_result *res);

/* The indicator columns of a score-sheet template for framework fw (its pk, "<unit>/244-2022/1"):
 * the codes of its groups in group order, each once, and the largest maximum of each code.
 * fw NULL: the built-in 244 framework (node/seed.h), with r unused (may be NULL).
 * ERR_NOTFOUND: fw is not held. */
struct importer_score_code {
    char code[IMPORT_SCORE_CODE_SIZE];
    int max;
};
err_code importer_score_codes(struct replica *r, const char *fw,
                              struct importer_score_code codes[IMPORT_SCORE_CODES_MAX],
                              size_t *n) WARN_UNUSED;

#endif
