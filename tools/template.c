/*
 * cdht template: writes the person-list template that `cdht import` reads, as CSV (UTF-8 with a
 * byte order mark, so that Excel opens the Vietnamese headers correctly) or XLSX through
 * libxlsxwriter (a "Danh sách" sheet with the headers, the Số CCCD column formatted as text so
 * that Excel keeps leading zeros, and drop-down lists for the coded columns). The headers come
 * from node/importer.c's table, so the template and the importer cannot disagree. This file
 * includes xlsxwriter.h and never libzip's zip.h (node/sheet.c explains why).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <xlsxwriter.h>

#include "cli.h"
#include "commands.h"
#include "importer.h"

/* Columns the template carries: all but Mã người, which only a list exported from cdht has. */
#define TEMPLATE_COLS ((lxw_col_t)IMPORT_COL_ID)
/* Drop-downs reach this row: the most rows an import reads (sheet.h). */
#define TEMPLATE_ROWS_LAST ((lxw_row_t)SHEET_ROWS_MAX)

static int
template_csv(FILE *f)
{
    fputs("\xef\xbb\xbf", f);
    for (int c = 0; c < (int)TEMPLATE_COLS; c++) {
        fprintf(f, "%s%s", c ? "," : "", importer_headers[c].vi);
    }
    fputs("\r\n", f); /* what Excel writes */
    return ferror(f) ? -1 : 0;
}

static void
template_list(lxw_worksheet *ws, lxw_col_t col, char **values)
{
    lxw_data_validation dv;
    memset(&dv, 0, sizeof dv);
    dv.validate = LXW_VALIDATION_TYPE_LIST;
    dv.value_list = values;
    dv.ignore_blank = LXW_VALIDATION_ON;
    worksheet_data_validation_range(ws, 1, col, TEMPLATE_ROWS_LAST, col, &dv);
}

static lxw_error
template_xlsx(const char *path)
{
    lxw_workbook *wb = workbook_new(path);
    if (wb == NULL) {
        return LXW_ERROR_CREATING_TMPFILE;
    }
    lxw_worksheet *ws = workbook_add_worksheet(wb, "Danh sách");
    lxw_format *bold = workbook_add_format(wb);
    lxw_format *text = workbook_add_format(wb);
    format_set_bold(bold);
    format_set_num_format(text, "@");
    static const double widths[IMPORT_COL_COUNT] = {6, 28, 10, 10, 12, 16, 16, 18};
    for (lxw_col_t c = 0; c < TEMPLATE_COLS; c++) {
        worksheet_write_string(ws, 0, c, importer_headers[c].vi, bold);
        worksheet_set_column(ws, c, c, widths[c], c == IMPORT_COL_CID ? text : NULL);
    }
    worksheet_freeze_panes(ws, 1, 0);
    /* xlsxwriter's list is char ** but only read (it copies the strings). */
    static char nam[] = "Nam", nu[] = "Nữ", nd[] = "Nông dân", cn[] = "Công nhân", cb[] = "Cán bộ";
    static char *genders[] = {nam, nu, NULL};
    static char *groups[] = {nd, cn, cb, NULL};
    template_list(ws, IMPORT_COL_GENDER, genders);
    template_list(ws, IMPORT_COL_GROUP, groups);
    return workbook_close(wb);
}

static int
template_is_xlsx(const char *path)
{
    size_t n = strlen(path);
    return n >= 5 && strcasecmp(path + n - 5, ".xlsx") == 0;
}

int
cmd_template(int argc, char **argv)
{
    struct cli c;
    const char *kind = NULL, *out = NULL;
    cli_init(&c, "template", "template [--home DIR] [--kind people] [-o FILE.csv|FILE.xlsx]");
    const struct cli_opt opts[] = {
        {"kind", 0, &kind, NULL},
        {"output", 'o', &out, NULL},
    };
    int ec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    if (kind != NULL && strcmp(kind, "people") != 0 && strcmp(kind, "persons") != 0) {
        return cli_usage(&c, "--kind: only the people template exists so far");
    }
    if (out == NULL) {
        return template_csv(stdout) == 0 ? CLI_OK : cli_fail(&c, ERR_IO, "cannot write");
    }
    if (template_is_xlsx(out)) {
        lxw_error e = template_xlsx(out);
        return e == LXW_NO_ERROR ? CLI_OK
                                 : cli_fail(&c, ERR_IO, "cannot write %s: %s", out,
                                            lxw_strerror(e));
    }
    FILE *f = fopen(out, "w");
    if (f == NULL) {
        return cli_fail(&c, ERR_IO, "cannot write %s", out);
    }
    int bad = template_csv(f);
    bad |= fclose(f) != 0;
    return bad ? cli_fail(&c, ERR_IO, "cannot write %s", out) : CLI_OK;
}
