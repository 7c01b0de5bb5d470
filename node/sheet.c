/*
 * Spreadsheet reader behind `cdht import`: CSV through libcsv and XLSX through libzip + expat,
 * handed to the caller one row of text cells at a time (sheet.h). The parsing itself is the
 * libraries'; this file chooses the format, strips a BOM, detects the separator, counts lines,
 * maps XLSX cells (<c r t><v>) to columns, and enforces every bound in sheet.h. Only this file
 * includes libzip's <zip.h>: libxlsxwriter bundles a different zip.h, and the two must never
 * meet in one translation unit (tools/template.c is the writer).
 */
#include "sheet.h"

#include <csv.h>
#include <errno.h>
#include <expat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <zip.h>

static_assert(SHEET_WHY_SIZE >= 128u, "room for a sentence");

static err_code
sheet_fail(char why[SHEET_WHY_SIZE], err_code rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, SHEET_WHY_SIZE, fmt, ap);
    va_end(ap);
    ASSERT(rc != ERR_OK);
    return rc;
}

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF, and no NUL
 * byte (the cells are C strings). */
static int
sheet_utf8_ok(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char b = s[i];
        size_t n;
        uint32_t cp, min;
        if (b == 0) {
            return 0;
        }
        if (b < 0x80) {
            i++;
            continue;
        } else if (b >= 0xc2 && b <= 0xdf) {
            n = 2, min = 0x80, cp = b & 0x1fu;
        } else if (b >= 0xe0 && b <= 0xef) {
            n = 3, min = 0x800, cp = b & 0x0fu;
        } else if (b >= 0xf0 && b <= 0xf4) {
            n = 4, min = 0x10000, cp = b & 0x07u;
        } else {
            return 0;
        }
        if (len - i < n) {
            return 0;
        }
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0u) != 0x80u) {
                return 0;
            }
            cp = (cp << 6) | (s[i + k] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return 0;
        }
        i += n;
    }
    return 1;
}

/* ---- CSV ------------------------------------------------------------------------------- */

struct sheet_csv {
    sheet_row_fn fn;
    void *ctx;
    err_code rc; /* the first error; later callbacks do nothing */
    char *why;
    unsigned long line;     /* the physical line being fed to libcsv (1-based) */
    unsigned long embedded; /* line breaks inside the current record's quoted cells */
    unsigned long rows;
    size_t n;                           /* cells in the current row */
    size_t off[SHEET_CELLS_MAX];        /* each cell's offset in buf */
    char *buf;                          /* owned: the current row's cells, NUL-separated */
    size_t len, cap;
};

/* libcsv grows its field buffer through this; refusing to go past one cell's bound keeps a
 * hostile quoted field from taking memory up to the file size (libcsv then reports
 * CSV_ENOMEM, which sheet_read_csv turns into the cell-size refusal). The slack covers
 * libcsv's block rounding and the NUL that CSV_APPEND_NULL adds. */
static void *
sheet_csv_realloc(void *p, size_t n)
{
    if (n > SHEET_CELL_SIZE_MAX + 1024u) {
        return NULL;
    }
    return realloc(p, n);
}

/* Line breaks as a reader counts them: LF, CRLF (once) and a lone CR. */
static unsigned long
sheet_count_breaks(const char *s, size_t len)
{
    unsigned long k = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n' || (s[i] == '\r' && (i + 1 == len || s[i + 1] != '\n'))) {
            k++;
        }
    }
    return k;
}

static void
sheet_csv_field_cb(void *s, size_t len, void *data)
{
    struct sheet_csv *c = data;
    if (c->rc != ERR_OK) {
        return;
    }
    unsigned long line = c->line - c->embedded;
    if (c->n >= SHEET_CELLS_MAX) {
        c->rc = sheet_fail(c->why, ERR_MSGSIZE, "line %lu has more than %u cells", line,
                           SHEET_CELLS_MAX);
        return;
    }
    if (len > SHEET_CELL_SIZE_MAX) {
        c->rc = sheet_fail(c->why, ERR_MSGSIZE, "line %lu: a cell is longer than %u bytes", line,
                           SHEET_CELL_SIZE_MAX);
        return;
    }
    if (!sheet_utf8_ok(s, len)) {
        c->rc = sheet_fail(c->why, ERR_INVAL,
                           "line %lu: not UTF-8 text; save the file as \"CSV UTF-8\"", line);
        return;
    }
    c->embedded += sheet_count_breaks(s, len);
    if (c->len + len + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 1024;
        while (cap < c->len + len + 1) {
            cap *= 2;
        }
        char *b = realloc(c->buf, cap);
        if (b == NULL) {
            c->rc = ERR_NOMEM;
            return;
        }
        c->buf = b;
        c->cap = cap;
    }
    c->off[c->n++] = c->len;
    if (len > 0) {
        memcpy(c->buf + c->len, s, len);
    }
    c->len += len;
    c->buf[c->len++] = '\0';
}

static void
sheet_csv_row_cb(int term, void *data)
{
    (void)term;
    struct sheet_csv *c = data;
    if (c->rc != ERR_OK) {
        return;
    }
    /* The record ends on the line being fed; it started as many lines earlier as its quoted
     * cells held line breaks. */
    unsigned long line = c->line - c->embedded;
    if (++c->rows > SHEET_ROWS_MAX) {
        c->rc = sheet_fail(c->why, ERR_MSGSIZE, "more than %u rows", SHEET_ROWS_MAX);
        return;
    }
    const char *cells[SHEET_CELLS_MAX];
    static const uint8_t zeros[SHEET_CELLS_MAX];
    for (size_t i = 0; i < c->n; i++) {
        cells[i] = c->buf + c->off[i];
    }
    struct sheet_row row = {.line = line, .n = c->n, .cells = cells, .numeric = zeros};
    c->rc = c->fn(c->ctx, &row);
    c->n = 0;
    c->len = 0;
    c->embedded = 0;
}

/* Excel writes CSV with the list separator of the Windows region settings, and Vietnam's
 * (vi-VN) is ';' because ',' is its decimal mark; a branch laptop set to English writes ','.
 * Both arrive, so the header line decides: whichever of ',' and ';' appears more often outside
 * quotes (ties, including a one-column file, mean ','). The header is ours (cdht template), so
 * it holds no separator of its own. */
static char
sheet_csv_delim(const uint8_t *buf, size_t len)
{
    size_t commas = 0, semis = 0;
    int quoted = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t b = buf[i];
        if (b == '"') {
            quoted = !quoted;
        } else if (!quoted && (b == '\n' || b == '\r')) {
            break;
        } else if (!quoted && b == ',') {
            commas++;
        } else if (!quoted && b == ';') {
            semis++;
        }
    }
    return semis > commas ? ';' : ',';
}

err_code
sheet_read_csv(const uint8_t *buf, size_t len, sheet_row_fn fn, void *ctx, char *delim,
               char why[SHEET_WHY_SIZE])
{
    ASSERT(fn != NULL);
    ASSERT(why != NULL);
    why[0] = '\0';
    if (len >= 2 && ((buf[0] == 0xff && buf[1] == 0xfe) || (buf[0] == 0xfe && buf[1] == 0xff))) {
        return sheet_fail(why, ERR_INVAL, "not UTF-8 (a UTF-16 file): save it as \"CSV UTF-8\"");
    }
    if (len >= 3 && buf[0] == 0xef && buf[1] == 0xbb && buf[2] == 0xbf) {
        buf += 3; /* Excel's "CSV UTF-8" starts with a byte order mark */
        len -= 3;
    }
    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
        return ERR_NOMEM;
    }
    csv_set_realloc_func(&p, sheet_csv_realloc);
    char d = sheet_csv_delim(buf, len);
    csv_set_delim(&p, (unsigned char)d);
    if (delim != NULL) {
        *delim = d;
    }
    struct sheet_csv c = {.fn = fn, .ctx = ctx, .why = why, .line = 1};
    /* Fed one physical line at a time so that the callbacks know the line they are on. Each
     * pass consumes at least one byte: at most len passes. */
    size_t pos = 0;
    int perr = 0;
    while (pos < len && c.rc == ERR_OK) {
        size_t end = pos;
        while (end < len && buf[end] != '\n' && buf[end] != '\r') {
            end++;
        }
        int crlf = end + 1 < len && buf[end] == '\r' && buf[end + 1] == '\n';
        size_t chunk = end < len ? end - pos + 1 + (size_t)crlf : end - pos;
        if (csv_parse(&p, buf + pos, chunk, sheet_csv_field_cb, sheet_csv_row_cb, &c) != chunk) {
            perr = csv_error(&p);
            break;
        }
        pos += chunk;
        if (end < len) {
            c.line++;
        }
    }
    if (c.rc == ERR_OK && perr == 0 &&
        csv_fini(&p, sheet_csv_field_cb, sheet_csv_row_cb, &c) != 0) {
        perr = csv_error(&p);
        c.line -= c.line > 1 && len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r');
    }
    csv_free(&p);
    free(c.buf);
    if (c.rc != ERR_OK) {
        return c.rc;
    }
    if (perr == CSV_ENOMEM || perr == CSV_ETOOBIG) {
        return sheet_fail(why, ERR_MSGSIZE, "line %lu: a cell is longer than %u bytes",
                          c.line - c.embedded, SHEET_CELL_SIZE_MAX);
    }
    if (perr != 0) {
        return sheet_fail(why, ERR_INVAL,
                          "line %lu: a quote (\") inside a cell that does not start with one, "
                          "or a quote never closed",
                          c.line - c.embedded);
    }
    return ERR_OK;
}

/* ---- XLSX ------------------------------------------------------------------------------ */

enum { XLSX_SHARED = 1, XLSX_SHEET, XLSX_WORKBOOK, XLSX_RELS };

struct sheet_xlsx {
    int part; /* XLSX_* being parsed */
    XML_Parser xp;
    err_code rc;
    char *why;
    /* Shared strings, owned. */
    char **ss;
    size_t ss_n, ss_cap;
    /* Character data of the element being collected (<t> or <v>), owned. */
    char *text;
    size_t text_len, text_cap;
    int collecting, in_si, in_rph, in_c;
    /* The current row and cell. */
    unsigned long line, rows;
    char *cells[SHEET_CELLS_MAX]; /* owned; NULL: empty */
    uint8_t numeric[SHEET_CELLS_MAX];
    size_t ncells;
    long col, last_col;
    char type[12];
    sheet_row_fn fn;
    void *ctx;
    /* workbook.xml and its relationships: the first sheet's target. */
    char first_rid[64];
    char target[256];
};

/* "x:row" and "row" alike: producers may prefix the spreadsheetml namespace. */
static const char *
sheet_local(const char *name)
{
    const char *c = strrchr(name, ':');
    return c ? c + 1 : name;
}

static const char *
sheet_attr(const char **attrs, const char *want)
{
    for (size_t i = 0; attrs[i] != NULL && attrs[i + 1] != NULL; i += 2) {
        if (strcmp(sheet_local(attrs[i]), want) == 0) {
            return attrs[i + 1];
        }
    }
    return NULL;
}

static void
sheet_xlsx_stop(struct sheet_xlsx *x, err_code rc)
{
    if (x->rc == ERR_OK) {
        x->rc = rc;
    }
    XML_StopParser(x->xp, XML_FALSE);
}

static void
sheet_xlsx_row_reset(struct sheet_xlsx *x)
{
    for (size_t i = 0; i < x->ncells; i++) {
        free(x->cells[i]);
        x->cells[i] = NULL;
    }
    memset(x->numeric, 0, sizeof x->numeric);
    x->ncells = 0;
    x->last_col = -1;
}

/* "BC12" -> column 54 (0-based), or -1 when not a cell reference we accept. */
static long
sheet_col_of(const char *ref)
{
    long col = 0;
    size_t i = 0;
    for (; ref[i] >= 'A' && ref[i] <= 'Z' && i < 4; i++) {
        col = col * 26 + (ref[i] - 'A' + 1);
    }
    if (i == 0 || ref[i] < '0' || ref[i] > '9') {
        return -1;
    }
    return col - 1;
}

static void XMLCALL
sheet_xlsx_start(void *data, const char *name, const char **attrs)
{
    struct sheet_xlsx *x = data;
    const char *el = sheet_local(name);
    if (x->rc != ERR_OK) {
        return;
    }
    if (x->part == XLSX_WORKBOOK) {
        const char *rid = sheet_attr(attrs, "id");
        if (strcmp(el, "sheet") == 0 && x->first_rid[0] == '\0' && rid != NULL &&
            strlen(rid) < sizeof x->first_rid) {
            strcpy(x->first_rid, rid);
        }
        return;
    }
    if (x->part == XLSX_RELS) {
        const char *id = sheet_attr(attrs, "Id"), *t = sheet_attr(attrs, "Target");
        if (strcmp(el, "Relationship") == 0 && id != NULL && t != NULL &&
            strcmp(id, x->first_rid) == 0 && strlen(t) < sizeof x->target) {
            strcpy(x->target, t);
        }
        return;
    }
    if (strcmp(el, "rPh") == 0) {
        x->in_rph = 1; /* phonetic guide text (East Asian): not part of the value */
    } else if (strcmp(el, "si") == 0) {
        x->in_si = 1;
        x->text_len = 0;
    } else if (strcmp(el, "t") == 0 && !x->in_rph && (x->in_si || x->in_c)) {
        x->collecting = 1;
    } else if (strcmp(el, "v") == 0 && x->in_c) {
        x->collecting = 1;
    } else if (strcmp(el, "row") == 0 && x->part == XLSX_SHEET) {
        sheet_xlsx_row_reset(x);
        const char *r = sheet_attr(attrs, "r");
        char *end = NULL;
        unsigned long v = r ? strtoul(r, &end, 10) : 0;
        x->line = r != NULL && end != r && *end == '\0' && v > 0 ? v : x->line + 1;
    } else if (strcmp(el, "c") == 0 && x->part == XLSX_SHEET) {
        const char *r = sheet_attr(attrs, "r"), *t = sheet_attr(attrs, "t");
        x->in_c = 1;
        x->text_len = 0;
        x->col = r != NULL ? sheet_col_of(r) : x->last_col + 1;
        snprintf(x->type, sizeof x->type, "%s", t ? t : "n");
    }
}

static void
sheet_xlsx_emit_cell(struct sheet_xlsx *x)
{
    x->in_c = 0;
    const char *v = x->text ? x->text : "";
    if (x->text_len == 0) {
        return; /* an empty or merely formatted cell */
    }
    if (x->col < 0) {
        sheet_xlsx_stop(x, sheet_fail(x->why, ERR_INVAL, "row %lu: a cell reference is not "
                                      "a column we read (A to BL)", x->line));
        return;
    }
    if ((size_t)x->col >= SHEET_CELLS_MAX) {
        sheet_xlsx_stop(x, sheet_fail(x->why, ERR_MSGSIZE, "row %lu has a value beyond column "
                                      "%u", x->line, SHEET_CELLS_MAX));
        return;
    }
    if (strcmp(x->type, "s") == 0) {
        char *end = NULL;
        unsigned long k = strtoul(v, &end, 10);
        if (end == v || *end != '\0' || k >= x->ss_n) {
            sheet_xlsx_stop(x, sheet_fail(x->why, ERR_INVAL, "row %lu: a cell names a shared "
                                          "string that does not exist", x->line));
            return;
        }
        v = x->ss[k];
    }
    size_t c = (size_t)x->col;
    free(x->cells[c]);
    if ((x->cells[c] = strdup(v)) == NULL) {
        sheet_xlsx_stop(x, ERR_NOMEM);
        return;
    }
    x->numeric[c] = strcmp(x->type, "n") == 0;
    x->ncells = c + 1 > x->ncells ? c + 1 : x->ncells;
    x->last_col = x->col;
}

static void XMLCALL
sheet_xlsx_end(void *data, const char *name)
{
    struct sheet_xlsx *x = data;
    const char *el = sheet_local(name);
    if (x->rc != ERR_OK || x->part == XLSX_WORKBOOK || x->part == XLSX_RELS) {
        return;
    }
    if (strcmp(el, "t") == 0 || strcmp(el, "v") == 0) {
        x->collecting = 0;
    } else if (strcmp(el, "rPh") == 0) {
        x->in_rph = 0;
    } else if (strcmp(el, "si") == 0 && x->part == XLSX_SHARED) {
        x->in_si = 0;
        if (x->ss_n >= SHEET_XLSX_STRINGS_MAX) {
            sheet_xlsx_stop(x, sheet_fail(x->why, ERR_MSGSIZE, "more than %u shared strings",
                                          SHEET_XLSX_STRINGS_MAX));
            return;
        }
        if (x->ss_n == x->ss_cap) {
            size_t cap = x->ss_cap ? x->ss_cap * 2 : 256;
            char **ss = realloc(x->ss, cap * sizeof *ss);
            if (ss == NULL) {
                sheet_xlsx_stop(x, ERR_NOMEM);
                return;
            }
            x->ss = ss;
            x->ss_cap = cap;
        }
        if ((x->ss[x->ss_n] = strdup(x->text_len ? x->text : "")) == NULL) {
            sheet_xlsx_stop(x, ERR_NOMEM);
            return;
        }
        x->ss_n++;
    } else if (strcmp(el, "c") == 0 && x->part == XLSX_SHEET) {
        sheet_xlsx_emit_cell(x);
    } else if (strcmp(el, "row") == 0 && x->part == XLSX_SHEET) {
        if (++x->rows > SHEET_ROWS_MAX) {
            sheet_xlsx_stop(x, sheet_fail(x->why, ERR_MSGSIZE, "more than %u rows",
                                          SHEET_ROWS_MAX));
            return;
        }
        const char *cells[SHEET_CELLS_MAX];
        for (size_t i = 0; i < x->ncells; i++) {
            cells[i] = x->cells[i] ? x->cells[i] : "";
        }
        struct sheet_row row = {
            .line = x->line, .n = x->ncells, .cells = cells, .numeric = x->numeric};
        err_code rc = x->fn(x->ctx, &row);
        sheet_xlsx_row_reset(x);
        if (rc != ERR_OK) {
            sheet_xlsx_stop(x, rc);
        }
    }
}

static void XMLCALL
sheet_xlsx_text(void *data, const char *s, int len)
{
    struct sheet_xlsx *x = data;
    if (x->rc != ERR_OK || !x->collecting || len <= 0) {
        return;
    }
    if (x->text_len + (size_t)len > SHEET_CELL_SIZE_MAX) {
        sheet_xlsx_stop(x, sheet_fail(x->why, ERR_MSGSIZE, "row %lu: a cell is longer than %u "
                                      "bytes", x->line, SHEET_CELL_SIZE_MAX));
        return;
    }
    if (x->text_len + (size_t)len + 1 > x->text_cap) {
        size_t cap = x->text_cap ? x->text_cap : 256;
        while (cap < x->text_len + (size_t)len + 1) {
            cap *= 2;
        }
        char *t = realloc(x->text, cap);
        if (t == NULL) {
            sheet_xlsx_stop(x, ERR_NOMEM);
            return;
        }
        x->text = t;
        x->text_cap = cap;
    }
    memcpy(x->text + x->text_len, s, (size_t)len);
    x->text_len += (size_t)len;
    x->text[x->text_len] = '\0';
}

/* Entity declarations are how XML bombs work; a spreadsheet part never has a DOCTYPE. */
static void XMLCALL
sheet_xlsx_doctype(void *data, const char *name, const char *sysid, const char *pubid,
                   int has_internal)
{
    (void)name, (void)sysid, (void)pubid, (void)has_internal;
    struct sheet_xlsx *x = data;
    sheet_xlsx_stop(x, sheet_fail(x->why, ERR_INVAL, "not an XLSX workbook (a part declares a "
                                  "DOCTYPE, which spreadsheets never do)"));
}

/* Streams one part of the archive through a fresh expat parser. ERR_NOTFOUND (why untouched)
 * when the part is absent. */
static err_code
sheet_xlsx_part(zip_t *z, const char *name, int part, struct sheet_xlsx *x)
{
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat(z, name, 0, &st) != 0) {
        return ERR_NOTFOUND;
    }
    /* The declared size is only a first, cheap refusal: it can lie, so bytes are counted as
     * they inflate below too. */
    if ((st.valid & ZIP_STAT_SIZE) && st.size > SHEET_XLSX_PART_SIZE_MAX) {
        return sheet_fail(x->why, ERR_MSGSIZE, "XLSX part %s inflates to more than %u MiB "
                          "(refused: it may be a zip bomb)", name,
                          SHEET_XLSX_PART_SIZE_MAX >> 20);
    }
    zip_file_t *f = zip_fopen(z, name, 0);
    if (f == NULL) {
        return sheet_fail(x->why, ERR_INVAL, "not an XLSX file (part %s cannot be read: the "
                          "archive is damaged or encrypted)", name);
    }
    XML_Parser xp = XML_ParserCreate("UTF-8");
    char *buf = malloc(64u * 1024u);
    err_code rc = ERR_OK;
    if (xp == NULL || buf == NULL) {
        rc = ERR_NOMEM;
        goto out;
    }
    x->part = part;
    x->xp = xp;
    x->collecting = x->in_si = x->in_rph = x->in_c = 0;
    XML_SetUserData(xp, x);
    XML_SetElementHandler(xp, sheet_xlsx_start, sheet_xlsx_end);
    XML_SetCharacterDataHandler(xp, sheet_xlsx_text);
    XML_SetStartDoctypeDeclHandler(xp, sheet_xlsx_doctype);
    uint64_t total = 0;
    /* Each pass reads at least one byte or ends: at most SHEET_XLSX_PART_SIZE_MAX passes. */
    for (;;) {
        zip_int64_t n = zip_fread(f, buf, 64u * 1024u);
        if (n < 0) {
            rc = sheet_fail(x->why, ERR_INVAL, "not an XLSX file (part %s is damaged)", name);
            break;
        }
        total += (uint64_t)n;
        if (total > SHEET_XLSX_PART_SIZE_MAX) {
            rc = sheet_fail(x->why, ERR_MSGSIZE, "XLSX part %s inflates to more than %u MiB "
                            "(refused: it may be a zip bomb)", name,
                            SHEET_XLSX_PART_SIZE_MAX >> 20);
            break;
        }
        if (XML_Parse(xp, buf, (int)n, n == 0) != XML_STATUS_OK) {
            if (x->rc != ERR_OK) {
                rc = x->rc;
            } else {
                rc = sheet_fail(x->why, ERR_INVAL, "not an XLSX workbook (part %s is not well-"
                                "formed XML at its line %lu)", name,
                                (unsigned long)XML_GetCurrentLineNumber(xp));
            }
            break;
        }
        if (n == 0) {
            break;
        }
    }
    if (rc == ERR_OK && x->rc != ERR_OK) {
        rc = x->rc;
    }
out:
    free(buf);
    if (xp != NULL) {
        XML_ParserFree(xp);
    }
    x->xp = NULL;
    zip_fclose(f);
    return rc;
}

static err_code
sheet_read_xlsx(const uint8_t *buf, size_t len, sheet_row_fn fn, void *ctx,
                char why[SHEET_WHY_SIZE])
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(buf, len, 0, &ze);
    if (src == NULL) {
        zip_error_fini(&ze);
        return ERR_NOMEM;
    }
    zip_t *z = zip_open_from_source(src, ZIP_RDONLY, &ze);
    if (z == NULL) {
        int code = zip_error_code_zip(&ze);
        zip_source_free(src);
        zip_error_fini(&ze);
        return code == ZIP_ER_MEMORY
                   ? ERR_NOMEM
                   : sheet_fail(why, ERR_INVAL, "not an XLSX file (%s)",
                                code == ZIP_ER_NOZIP ? "not a ZIP archive: was it renamed?"
                                                     : "the ZIP archive is damaged");
    }
    zip_error_fini(&ze);
    struct sheet_xlsx x = {.why = why, .fn = fn, .ctx = ctx, .last_col = -1};
    err_code rc = sheet_xlsx_part(z, "xl/workbook.xml", XLSX_WORKBOOK, &x);
    if (rc == ERR_NOTFOUND) {
        rc = sheet_fail(why, ERR_INVAL, "not an XLSX workbook (no xl/workbook.xml: a ZIP, but "
                        "not a spreadsheet)");
    }
    /* The first sheet in tab order is the one the workbook lists first; its file comes from
     * the relationships. Excel, LibreOffice and libxlsxwriter all name it
     * worksheets/sheet1.xml, which stays the answer when the relationships say nothing. */
    char part[300];
    snprintf(part, sizeof part, "xl/worksheets/sheet1.xml");
    if (rc == ERR_OK && x.first_rid[0] != '\0') {
        err_code r2 = sheet_xlsx_part(z, "xl/_rels/workbook.xml.rels", XLSX_RELS, &x);
        if (r2 != ERR_OK && r2 != ERR_NOTFOUND) {
            rc = r2;
        } else if (x.target[0] == '/') {
            snprintf(part, sizeof part, "%s", x.target + 1);
        } else if (x.target[0] != '\0') {
            snprintf(part, sizeof part, "xl/%s", x.target);
        }
    }
    if (rc == ERR_OK) {
        rc = sheet_xlsx_part(z, "xl/sharedStrings.xml", XLSX_SHARED, &x);
        rc = rc == ERR_NOTFOUND ? ERR_OK : rc; /* inline strings and numbers only */
    }
    if (rc == ERR_OK && (rc = sheet_xlsx_part(z, part, XLSX_SHEET, &x)) == ERR_NOTFOUND) {
        rc = sheet_fail(why, ERR_INVAL, "not an XLSX workbook (its first sheet is missing)");
    }
    sheet_xlsx_row_reset(&x);
    for (size_t i = 0; i < x.ss_n; i++) {
        free(x.ss[i]);
    }
    free(x.ss);
    free(x.text);
    zip_discard(z); /* read-only: nothing to write back; frees src too */
    return rc;
}

/* ---- Either ---------------------------------------------------------------------------- */

static int
sheet_named_xlsx(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    return n >= 5 && strcasecmp(name + n - 5, ".xlsx") == 0;
}

err_code
sheet_read_mem(const uint8_t *buf, size_t len, const char *name_hint, sheet_row_fn fn, void *ctx,
               enum sheet_format *format, char why[SHEET_WHY_SIZE])
{
    ASSERT(fn != NULL);
    ASSERT(why != NULL);
    why[0] = '\0';
    if (len == 0) {
        return sheet_fail(why, ERR_INVAL, "empty file: no header row");
    }
    if (len > SHEET_FILE_SIZE_MAX) {
        return sheet_fail(why, ERR_MSGSIZE, "the file is larger than %u MiB",
                          SHEET_FILE_SIZE_MAX >> 20);
    }
    int zip = len >= 4 && memcmp(buf, "PK\x03\x04", 4) == 0;
    if (format != NULL) {
        *format = zip || sheet_named_xlsx(name_hint) ? SHEET_XLSX : SHEET_CSV;
    }
    if (zip || sheet_named_xlsx(name_hint)) {
        return sheet_read_xlsx(buf, len, fn, ctx, why);
    }
    return sheet_read_csv(buf, len, fn, ctx, NULL, why);
}

err_code
sheet_read(const char *path, sheet_row_fn fn, void *ctx, enum sheet_format *format,
           char why[SHEET_WHY_SIZE])
{
    ASSERT(path != NULL);
    why[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return sheet_fail(why, errno == ENOENT ? ERR_NOTFOUND : ERR_IO, "cannot open the file: %s",
                          strerror(errno));
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return sheet_fail(why, ERR_INVAL, "not a regular file");
    }
    if ((uint64_t)st.st_size > SHEET_FILE_SIZE_MAX) {
        fclose(f);
        return sheet_fail(why, ERR_MSGSIZE, "the file is larger than %u MiB",
                          SHEET_FILE_SIZE_MAX >> 20);
    }
    size_t len = (size_t)st.st_size;
    uint8_t *buf = malloc(len ? len : 1);
    if (buf == NULL) {
        fclose(f);
        return ERR_NOMEM;
    }
    size_t got = len ? fread(buf, 1, len, f) : 0;
    int bad = ferror(f);
    fclose(f);
    err_code rc = bad || got != len ? sheet_fail(why, ERR_IO, "cannot read the file")
                                    : sheet_read_mem(buf, len, path, fn, ctx, format, why);
    free(buf);
    return rc;
}
