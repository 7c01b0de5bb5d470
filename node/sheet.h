/*
 * Reading the spreadsheets branches keep (person lists, later score sheets) into rows of text
 * cells: CSV through libcsv, XLSX through libzip (the container) and expat (the XML parts).
 * No ZIP, XML or CSV parsing of our own: only the mapping of cells to rows is ours. Every
 * input is bounded (file size, rows, cells per row, cell bytes, inflated XML bytes), and a
 * refusal says in one sentence what was wrong and never repeats a cell's value (it may be a
 * citizen id). node/importer.c is the one caller; this file knows nothing about people.
 */
#ifndef CDHT_SHEET_H
#define CDHT_SHEET_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "limits.h"

/* Largest file read (CSV, or the XLSX archive itself). A commune of 10^4 people is under 1 MiB
 * of CSV; 100,000 rows of the bench are about 8 MiB. The whole file is read into memory (the
 * XLSX reader needs random access to the archive), so this is also the buffer's bound. */
#define SHEET_FILE_SIZE_MAX (64u * 1024u * 1024u)
/* Rows (header included): a commune is 10^4 people, a district list before 2025 about 10^5;
 * twice that leaves room and bounds the importer's memory (it holds every row for pass 2). */
#define SHEET_ROWS_MAX 200000u
/* Cells per row: the template has 7 columns, score sheets 15; a wider row is not ours. It also
 * bounds the XLSX column letters we accept (AZ is column 52). */
#define SHEET_CELLS_MAX 64u
/* Bytes in one cell: the largest text value a replicated cell may hold (proto/limits.h). */
#define SHEET_CELL_SIZE_MAX VALUE_TEXT_SIZE_MAX
/* Inflated bytes of one XLSX part (sheet, shared strings, workbook), counted while inflating,
 * never taken from the ZIP header: a zip bomb stops here. 200,000 rows of 15 cells in Excel's
 * XML are about 40 MiB. */
#define SHEET_XLSX_PART_SIZE_MAX (64u * 1024u * 1024u)
/* Shared strings held at once: at most one per cell of SHEET_ROWS_MAX rows of the template. */
#define SHEET_XLSX_STRINGS_MAX (SHEET_ROWS_MAX * 8u)
/* A refusal's sentence, with room for a part name and a line number. */
#define SHEET_WHY_SIZE 200u

static_assert(SHEET_CELL_SIZE_MAX < SHEET_FILE_SIZE_MAX, "a cell fits in a file");
static_assert(SHEET_ROWS_MAX <= UINT32_MAX / SHEET_CELLS_MAX, "row x cell counts fit 32 bits");

enum sheet_format { SHEET_CSV = 1, SHEET_XLSX = 2 };

/* One row as the reader hands it over. Cells are NUL-terminated UTF-8 (checked) and live until
 * the callback returns; cells[i] is "" for an empty or absent cell. numeric[i] is 1 when an
 * XLSX cell was a number (Excel drops a leading 0 from those: importer.c pads citizen ids),
 * always 0 for CSV. line is the 1-based line where the row starts in a CSV file (what a text
 * editor shows; equal to the spreadsheet row when no cell holds a line break), or the XLSX
 * row number (r attribute). */
struct sheet_row {
    unsigned long line;
    size_t n;
    const char *const *cells;
    const uint8_t *numeric;
};

/* Returns ERR_OK to go on; anything else stops the read, and sheet_read returns it as is. */
typedef err_code (*sheet_row_fn)(void *ctx, const struct sheet_row *row);

/* Reads path: XLSX when the file starts with a ZIP signature, CSV otherwise; a file named
 * *.xlsx that is not a ZIP is refused. *format (when not NULL) receives which. On refusal
 * (ERR_INVAL: bad input, ERR_MSGSIZE: a limit, ERR_IO: cannot read) why holds a sentence. */
err_code sheet_read(const char *path, sheet_row_fn fn, void *ctx, enum sheet_format *format,
                    char why[SHEET_WHY_SIZE]) WARN_UNUSED;

/* The same on bytes in memory (tests, the fuzz target). name_hint is the file name (only its
 * extension is looked at) or NULL. */
err_code sheet_read_mem(const uint8_t *buf, size_t len, const char *name_hint, sheet_row_fn fn,
                        void *ctx, enum sheet_format *format, char why[SHEET_WHY_SIZE]) WARN_UNUSED;

/* CSV only; *delim receives the separator detected (',' or ';', see sheet.c). */
err_code sheet_read_csv(const uint8_t *buf, size_t len, sheet_row_fn fn, void *ctx, char *delim,
                        char why[SHEET_WHY_SIZE]) WARN_UNUSED;

#endif
