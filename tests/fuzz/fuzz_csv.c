/*
 * Fuzz target for node/sheet.c's CSV reader (libcsv underneath), which reads files a branch
 * volunteer hands over. Properties: no crash; every row handed over is within the bounds of
 * sheet.h (cells per row, cell bytes, valid UTF-8 without NUL); and a file that parses,
 * re-emitted as CSV with every cell quoted, parses to exactly the same cells.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sheet.h"

/* The rows of one parse, serialised: per row a u32 cell count, then per cell a u32 length and
 * its bytes (cells may hold any byte but NUL, so no separator byte would do). */
struct fuzz_rows {
    uint8_t *buf;
    size_t len, cap;
    size_t rows;
};

static void
fuzz_append(struct fuzz_rows *f, const void *s, size_t n)
{
    if (f->len + n + 1 > f->cap) {
        size_t cap = f->cap ? f->cap : 256;
        while (cap < f->len + n + 1) {
            cap *= 2;
        }
        f->buf = realloc(f->buf, cap);
        ASSERT(f->buf != NULL);
        f->cap = cap;
    }
    memcpy(f->buf + f->len, s, n);
    f->len += n;
}

static err_code
fuzz_row_cb(void *ctx, const struct sheet_row *row)
{
    struct fuzz_rows *f = ctx;
    ASSERT(row->n <= SHEET_CELLS_MAX);
    ASSERT(row->line >= 1);
    uint32_t k = (uint32_t)row->n;
    fuzz_append(f, &k, sizeof k);
    for (size_t i = 0; i < row->n; i++) {
        uint32_t n = (uint32_t)strlen(row->cells[i]);
        ASSERT(n <= SHEET_CELL_SIZE_MAX);
        ASSERT(row->numeric[i] == 0);
        fuzz_append(f, &n, sizeof n);
        fuzz_append(f, row->cells[i], n);
    }
    f->rows++;
    ASSERT(f->rows <= SHEET_ROWS_MAX);
    return ERR_OK;
}

/* Every cell quoted, quotes doubled, ',' between cells, "\n" after each row. */
static char *
fuzz_emit(const struct fuzz_rows *f, size_t *out_len)
{
    /* A cell of k bytes (4 + k serialised) becomes at most 2k + 3 bytes. */
    size_t cap = 3 * f->len + 16, n = 0, pos = 0;
    char *out = malloc(cap);
    ASSERT(out != NULL);
    for (size_t r = 0; r < f->rows; r++) {
        uint32_t k;
        memcpy(&k, f->buf + pos, sizeof k);
        pos += sizeof k;
        for (uint32_t c = 0; c < k; c++) {
            uint32_t len;
            memcpy(&len, f->buf + pos, sizeof len);
            pos += sizeof len;
            out[n++] = '"';
            for (uint32_t i = 0; i < len; i++) {
                char ch = (char)f->buf[pos + i];
                if (ch == '"') {
                    out[n++] = '"';
                }
                out[n++] = ch;
            }
            pos += len;
            out[n++] = '"';
            if (c + 1 < k) {
                out[n++] = ',';
            }
        }
        out[n++] = '\n';
        ASSERT(n <= cap);
    }
    ASSERT(pos == f->len);
    *out_len = n;
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_rows a = {0}, b = {0};
    char why[SHEET_WHY_SIZE];
    err_code rc = sheet_read_csv(data, size, fuzz_row_cb, &a, NULL, why);
    if (rc != ERR_OK) {
        ASSERT(rc == ERR_INVAL || rc == ERR_MSGSIZE || rc == ERR_NOMEM);
        ASSERT(rc == ERR_NOMEM || why[0] != '\0');
        free(a.buf);
        return 0;
    }
    /* A row of one empty cell re-emits as a bare "" line, which is a row again; a row of no
     * cells cannot come out of libcsv. */
    size_t len = 0;
    char *again = fuzz_emit(&a, &len);
    rc = sheet_read_csv((const uint8_t *)again, len, fuzz_row_cb, &b, NULL, why);
    ASSERT(rc == ERR_OK);
    ASSERT(a.rows == b.rows);
    ASSERT(a.len == b.len);
    ASSERT(a.len == 0 || memcmp(a.buf, b.buf, a.len) == 0);
    free(again);
    free(a.buf);
    free(b.buf);
    return 0;
}
