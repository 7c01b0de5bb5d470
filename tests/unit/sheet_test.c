/*
 * Tests for node/sheet.c: CSV quoting, embedded line breaks and the line numbers reported,
 * the byte order mark, CRLF, empty cells, the ';' separator of Excel's Vietnamese locale, the
 * bounds and refusals (UTF-16, bad UTF-8, a stray quote, too many cells), and XLSX: a workbook
 * written here with libxlsxwriter (shared strings, numbers, gaps) read back cell for cell, a
 * 0-byte file, a text file renamed .xlsx, and a ZIP that is not a workbook.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xlsxwriter.h>

#include "sheet.h"
#include "support.h"

#define ROWS_MAX 16
#define CELLS_MAX 8

/* Everything the reader handed over, copied. */
struct got {
    size_t n;
    unsigned long line[ROWS_MAX];
    size_t ncells[ROWS_MAX];
    char cell[ROWS_MAX][CELLS_MAX][64];
    uint8_t numeric[ROWS_MAX][CELLS_MAX];
};

static err_code
got_cb(void *ctx, const struct sheet_row *row)
{
    struct got *g = ctx;
    cr_assert_lt(g->n, ROWS_MAX);
    g->line[g->n] = row->line;
    g->ncells[g->n] = row->n;
    for (size_t i = 0; i < row->n && i < CELLS_MAX; i++) {
        snprintf(g->cell[g->n][i], 64, "%s", row->cells[i]);
        g->numeric[g->n][i] = row->numeric[i];
    }
    g->n++;
    return ERR_OK;
}

static err_code
read_str(const char *s, const char *name, struct got *g, char why[SHEET_WHY_SIZE])
{
    memset(g, 0, sizeof *g);
    return sheet_read_mem((const uint8_t *)s, strlen(s), name, got_cb, g, NULL, why);
}

/* Quoted cells keep commas, doubled quotes and line breaks; the next row's line counts them. */
Test(sheet, csv_quoting_and_lines)
{
    struct got g;
    char why[SHEET_WHY_SIZE];
    cr_assert_eq(read_str("a,b,c\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\nlast,,\n", "f.csv",
                          &g, why),
                 ERR_OK);
    cr_assert_eq(g.n, 3);
    cr_assert_str_eq(g.cell[1][0], "x, y");
    cr_assert_str_eq(g.cell[1][1], "say \"hi\"");
    cr_assert_str_eq(g.cell[1][2], "two\nlines");
    cr_assert_eq(g.line[0], 1);
    cr_assert_eq(g.line[1], 2);
    cr_assert_eq(g.line[2], 4);
    cr_assert_eq(g.ncells[2], 3);
    cr_assert_str_eq(g.cell[2][1], "");
    cr_assert_str_eq(g.cell[2][2], "");
}

/* Excel's "CSV UTF-8": a BOM, CRLF line ends, no newline after the last row. */
Test(sheet, csv_bom_crlf)
{
    struct got g;
    char why[SHEET_WHY_SIZE];
    cr_assert_eq(read_str("\xef\xbb\xbfH\xe1\xbb\x8d,N\r\nAn,1985\r\n\r\nB\xc3\xacnh,2001", NULL,
                          &g, why),
                 ERR_OK);
    cr_assert_eq(g.n, 3);
    cr_assert_str_eq(g.cell[0][0], "H\xe1\xbb\x8d");
    cr_assert_str_eq(g.cell[1][1], "1985");
    cr_assert_eq(g.line[1], 2);
    cr_assert_eq(g.line[2], 4); /* the blank line 3 is skipped, and counted */
    cr_assert_str_eq(g.cell[2][0], "B\xc3\xacnh");
}

/* The Vietnamese locale's separator is detected from the header line. */
Test(sheet, csv_semicolon)
{
    struct got g;
    char why[SHEET_WHY_SIZE];
    char delim = 0;
    const char *s = "a;b;c\n1,5;2;3\n";
    memset(&g, 0, sizeof g);
    cr_assert_eq(sheet_read_csv((const uint8_t *)s, strlen(s), got_cb, &g, &delim, why), ERR_OK);
    cr_assert_eq(delim, ';');
    cr_assert_eq(g.ncells[1], 3);
    cr_assert_str_eq(g.cell[1][0], "1,5");
}

/* Refusals name the line and never a value. */
Test(sheet, csv_refusals)
{
    struct got g;
    char why[SHEET_WHY_SIZE];
    cr_assert_eq(read_str("", "e.csv", &g, why), ERR_INVAL);
    cr_assert_str_eq(why, "empty file: no header row");
    cr_assert_eq(read_str("\xff\xfe" "a\0", NULL, &g, why), ERR_INVAL);
    cr_assert_str_eq(why, "not UTF-8 (a UTF-16 file): save it as \"CSV UTF-8\"");
    cr_assert_eq(read_str("a\nb\xc3\n", NULL, &g, why), ERR_INVAL);
    cr_assert_str_eq(why, "line 2: not UTF-8 text; save the file as \"CSV UTF-8\"");
    cr_assert_eq(read_str("a\nx\"y\"\n", NULL, &g, why), ERR_INVAL);
    cr_assert(strstr(why, "line 2: a quote") == why, "%s", why);
    char wide[SHEET_CELLS_MAX * 2 + 8] = "";
    for (unsigned i = 0; i <= SHEET_CELLS_MAX; i++) {
        strcat(wide, i ? ",x" : "x");
    }
    cr_assert_eq(read_str(wide, NULL, &g, why), ERR_MSGSIZE);
    cr_assert_str_eq(why, "line 1 has more than 64 cells");
}

/* A cell at the limit passes, one byte more is refused (libcsv's buffer is bounded too). */
Test(sheet, csv_cell_limit)
{
    struct got g;
    char why[SHEET_WHY_SIZE];
    char *s = malloc(SHEET_CELL_SIZE_MAX + 16);
    cr_assert_not_null(s);
    memset(s, 'a', SHEET_CELL_SIZE_MAX);
    strcpy(s + SHEET_CELL_SIZE_MAX, "\n");
    memset(&g, 0, sizeof g);
    cr_assert_eq(sheet_read_mem((uint8_t *)s, strlen(s), NULL, got_cb, &g, NULL, why), ERR_OK);
    s[0] = '"';
    memset(s + 1, 'a', SHEET_CELL_SIZE_MAX + 1);
    strcpy(s + 2 + SHEET_CELL_SIZE_MAX, "\"\n");
    cr_assert_eq(sheet_read_mem((uint8_t *)s, strlen(s), NULL, got_cb, &g, NULL, why), ERR_MSGSIZE);
    free(s);
}

/* An XLSX written by libxlsxwriter (shared strings, a number, a gap, a second row) reads back. */
Test(sheet, xlsx_shared_strings)
{
    char *dir = support_tmpdir();
    char *path = support_path(dir, "t.xlsx");
    lxw_workbook *wb = workbook_new(path);
    lxw_worksheet *ws = workbook_add_worksheet(wb, "Danh s\xc3\xa1" "ch");
    worksheet_write_string(ws, 0, 0, "H\xe1\xbb\x8d v\xc3\xa0 t\xc3\xaan", NULL);
    worksheet_write_string(ws, 0, 1, "N\xc4\x83m sinh", NULL);
    worksheet_write_string(ws, 0, 3, "S\xe1\xbb\x91 CCCD", NULL);
    worksheet_write_string(ws, 1, 0, "Nguy\xe1\xbb\x85n V\xc4\x83n An", NULL);
    worksheet_write_number(ws, 1, 1, 1985, NULL);
    worksheet_write_number(ws, 1, 3, 1085000123, NULL);
    worksheet_write_string(ws, 4, 0, "H\xe1\xbb\x8d v\xc3\xa0 t\xc3\xaan", NULL); /* shared */
    cr_assert_eq(workbook_close(wb), LXW_NO_ERROR);
    struct got g = {0};
    char why[SHEET_WHY_SIZE];
    enum sheet_format fmt = 0;
    cr_assert_eq(sheet_read(path, got_cb, &g, &fmt, why), ERR_OK, "%s", why);
    cr_assert_eq(fmt, SHEET_XLSX);
    cr_assert_eq(g.n, 3);
    cr_assert_eq(g.line[0], 1);
    cr_assert_eq(g.ncells[0], 4);
    cr_assert_str_eq(g.cell[0][2], "");
    cr_assert_str_eq(g.cell[1][0], "Nguy\xe1\xbb\x85n V\xc4\x83n An");
    cr_assert_str_eq(g.cell[1][1], "1985");
    cr_assert_eq(g.numeric[1][1], 1);
    cr_assert_eq(g.numeric[1][0], 0);
    cr_assert_str_eq(g.cell[1][3], "1085000123");
    cr_assert_eq(g.line[2], 5);
    cr_assert_str_eq(g.cell[2][0], g.cell[0][0]);
    free(path);
    support_rmrf(dir);
    free(dir);
}

/* A text file renamed .xlsx, and a ZIP that holds no workbook, are refused by name. */
Test(sheet, xlsx_refusals)
{
    struct got g;
    char why[SHEET_WHY_SIZE];
    cr_assert_eq(read_str("STT,Name\n", "list.xlsx", &g, why), ERR_INVAL);
    cr_assert_str_eq(why, "not an XLSX file (not a ZIP archive: was it renamed?)");
    /* An empty ZIP archive: only the end-of-central-directory record. */
    static const uint8_t empty_zip[22] = {'P', 'K', 5, 6};
    memset(&g, 0, sizeof g);
    cr_assert_eq(sheet_read_mem(empty_zip, sizeof empty_zip, "e.xlsx", got_cb, &g, NULL, why),
                 ERR_INVAL);
    cr_assert(strstr(why, "not an XLSX workbook") == why, "%s", why);
    cr_assert_eq(read_str("PK\x03\x04garbage", "z.csv", &g, why), ERR_INVAL);
    cr_assert(strstr(why, "not an XLSX file") == why, "%s", why);
}

/* ---- A zip bomb, built by hand with zlib (libzip's zip.h cannot meet xlsxwriter.h here) ---- */

#include <zlib.h>

static void
put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8);
}

static void
put32(uint8_t *p, uint32_t v)
{
    put16(p, v & 0xffff), put16(p + 2, v >> 16);
}

/* A ZIP of xl/workbook.xml (a real one) and xl/worksheets/sheet1.xml: `inflated` bytes of
 * spaces deflated, whose header claims `declared` bytes. *len receives the archive's size. */
static uint8_t *
bomb(uint32_t inflated, uint32_t declared, size_t *len)
{
    static const char wbx[] = "<workbook><sheets><sheet name=\"a\" r:id=\"rId1\"/></sheets>"
                              "</workbook>";
    const char *names[2] = {"xl/workbook.xml", "xl/worksheets/sheet1.xml"};
    size_t cap = inflated / 500 + 4096, n = 0, cd_n = 0;
    uint8_t *out = calloc(1, cap), *cd = calloc(1, 512);
    cr_assert(out && cd);
    for (int e = 0; e < 2; e++) {
        /* Deflate the data (raw deflate, as ZIP method 8 wants). */
        z_stream z = {0};
        cr_assert_eq(deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
        size_t off = n + 30 + strlen(names[e]);
        z.next_out = out + off;
        z.avail_out = (uInt)(cap - off - 256);
        uint32_t crc = crc32(0, NULL, 0), total = e == 0 ? (uint32_t)strlen(wbx) : inflated;
        static uint8_t chunk[65536];
        memset(chunk, ' ', sizeof chunk);
        for (uint32_t done = 0; done < total;) {
            uint32_t k = total - done < sizeof chunk ? total - done : (uint32_t)sizeof chunk;
            const uint8_t *src = e == 0 ? (const uint8_t *)wbx : chunk;
            crc = crc32(crc, src, k);
            z.next_in = (uint8_t *)src;
            z.avail_in = k;
            done += k;
            cr_assert_neq(deflate(&z, done == total ? Z_FINISH : Z_NO_FLUSH), Z_STREAM_ERROR);
        }
        uint32_t csize = (uint32_t)z.total_out, usize = e == 0 ? total : declared;
        deflateEnd(&z);
        uint8_t *h = out + n;
        put32(h, 0x04034b50), put16(h + 4, 20), put16(h + 8, 8), put32(h + 14, crc);
        put32(h + 18, csize), put32(h + 22, usize), put16(h + 26, (unsigned)strlen(names[e]));
        memcpy(h + 30, names[e], strlen(names[e]));
        uint8_t *c = cd + cd_n;
        put32(c, 0x02014b50), put16(c + 4, 20), put16(c + 6, 20), put16(c + 10, 8);
        put32(c + 16, crc), put32(c + 20, csize), put32(c + 24, usize);
        put16(c + 28, (unsigned)strlen(names[e])), put32(c + 42, (uint32_t)n);
        memcpy(c + 46, names[e], strlen(names[e]));
        cd_n += 46 + strlen(names[e]);
        n = off + csize;
    }
    memcpy(out + n, cd, cd_n);
    uint8_t *eocd = out + n + cd_n;
    put32(eocd, 0x06054b50), put16(eocd + 8, 2), put16(eocd + 10, 2);
    put32(eocd + 12, (uint32_t)cd_n), put32(eocd + 16, (uint32_t)n);
    *len = n + cd_n + 22;
    free(cd);
    return out;
}

/* A sheet that inflates past the part limit is refused, whether its header says so or lies. */
Test(sheet, xlsx_zip_bomb)
{
    struct got g = {0};
    char why[SHEET_WHY_SIZE];
    uint32_t big = SHEET_XLSX_PART_SIZE_MAX + 1024u * 1024u;
    size_t len = 0;
    uint8_t *z = bomb(big, big, &len);
    cr_assert_lt(len, 1024u * 1024u, "the bomb is small: %zu", len);
    cr_assert_eq(sheet_read_mem(z, len, "b.xlsx", got_cb, &g, NULL, why), ERR_MSGSIZE);
    cr_assert_str_eq(why, "XLSX part xl/worksheets/sheet1.xml inflates to more than 64 MiB "
                          "(refused: it may be a zip bomb)");
    free(z);
    z = bomb(big, 1000, &len);
    err_code rc = sheet_read_mem(z, len, "b.xlsx", got_cb, &g, NULL, why);
    cr_assert(rc == ERR_MSGSIZE || rc == ERR_INVAL, "%d %s", rc, why);
    cr_assert_eq(g.n, 0);
    free(z);
    /* The same construction, small and honest, is a readable (empty) workbook. */
    z = bomb(100, 100, &len);
    cr_assert_eq(sheet_read_mem(z, len, "b.xlsx", got_cb, &g, NULL, why), ERR_INVAL, "%s", why);
    cr_assert(strstr(why, "not well-formed XML") != NULL, "%s", why);
    free(z);
}
