/*
 * Importing a branch's person list (CSV or XLSX, Vietnamese headers: docs/import-template.md)
 * into the replica. Pass 1 reads every row through node/sheet.c and validates it with
 * node/domain.c's rules; pass 2 matches rows to people already held (citizen-id hash, else NFC
 * name + birth year + unit), finds duplicate rows within the file, and writes only the cells
 * that differ, many changes per leaf and every leaf of the import in one SQLite transaction.
 * A re-import of the same file therefore writes nothing at all. tools/import.c prints.
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

struct importer_opts {
    int dry_run;      /* validate and count; write nothing */
    int skip_bad;     /* write the good rows even when some are bad */
    int current_year; /* birth years after it are refused */
};

struct importer_result {
    enum sheet_format format;
    size_t rows;       /* data rows (not the header, not wholly empty rows) */
    size_t bad_rows;   /* rows with at least one problem */
    size_t new_people; /* good rows that make a new person */
    size_t changed;    /* good rows that change a person held */
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
void importer_result_release(struct importer_result *res);

/* Folds a header or a word for matching: NFC/NFD alike, case and diacritics removed (đ -> d),
 * white space collapsed to one space and trimmed. 0 on success; -1 when not UTF-8 or longer
 * than cap - 1 bytes folded. A private helper until node/fold.h lands (then its fold_text). */
int importer_fold(const char *s, char *out, size_t cap);

#endif
