/*
 * cdht template: writes the templates that `cdht import` reads, as CSV (UTF-8 with a byte
 * order mark, so that Excel opens the Vietnamese headers correctly) or XLSX through
 * libxlsxwriter. Two kinds: the person list ("Danh sách") and the score sheet ("Bảng điểm"),
 * whose indicator columns are the codes of a framework's groups (--framework, read from the
 * replica; by default the built-in 244 framework, which needs no replica). The XLSX templates
 * format Số CCCD as text so that Excel keeps leading zeros, and offer drop-down lists for the
 * coded columns and whole-number checks for the scores. The headers come from
 * node/importer.c's tables, so the templates and the importer cannot disagree. This file
 * includes xlsxwriter.h and never libzip's zip.h (node/sheet.c explains why).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <xlsxwriter.h>

#include "cli.h"
#include "commands.h"
#include "importer.h"
#include "replica.h"

/* Person-list columns the template carries: all but Mã người, which only a list exported from
 * cdht has. */
#define TEMPLATE_COLS ((lxw_col_t)IMPORT_COL_ID)
/* Drop-downs reach this row: the most rows an import reads (sheet.h). */
#define TEMPLATE_ROWS_LAST ((lxw_row_t)SHEET_ROWS_MAX)

/* A template's header row, in order; score sheets' indicator columns sit before Kỹ năng số. */
struct template_cols {
    const char *name[IMPORT_SCORE_COUNT + IMPORT_SCORE_CODES_MAX];
    int fixed[IMPORT_SCORE_COUNT + IMPORT_SCORE_CODES_MAX]; /* the enum's column, or -1 - code */
    size_t n;
};

static void
template_cols_scores(struct template_cols *t, const struct importer_score_code *codes,
                     size_t ncodes)
{
    t->n = 0;
    for (int c = 0; c < IMPORT_SCORE_COUNT; c++) {
        if (c == IMPORT_SCORE_DIGITAL) {
            for (size_t k = 0; k < ncodes; k++) {
                t->name[t->n] = codes[k].code;
                t->fixed[t->n++] = -1 - (int)k;
            }
        }
        t->name[t->n] = importer_score_headers[c].vi;
        t->fixed[t->n++] = c;
    }
}

static void
template_cols_persons(struct template_cols *t)
{
    t->n = 0;
    for (int c = 0; c < (int)TEMPLATE_COLS; c++) {
        t->name[t->n] = importer_headers[c].vi;
        t->fixed[t->n++] = c;
    }
}

static int
template_csv(FILE *f, const struct template_cols *t)
{
    fputs("\xef\xbb\xbf", f);
    for (size_t c = 0; c < t->n; c++) {
        fprintf(f, "%s%s", c ? "," : "", t->name[c]);
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

/* A score column takes whole numbers 0..max (the importer checks again, per group). */
static void
template_points(lxw_worksheet *ws, lxw_col_t col, int max)
{
    lxw_data_validation dv;
    memset(&dv, 0, sizeof dv);
    dv.validate = LXW_VALIDATION_TYPE_INTEGER;
    dv.criteria = LXW_VALIDATION_CRITERIA_BETWEEN;
    dv.minimum_number = 0;
    dv.maximum_number = max;
    dv.ignore_blank = LXW_VALIDATION_ON;
    worksheet_data_validation_range(ws, 1, col, TEMPLATE_ROWS_LAST, col, &dv);
}

static lxw_error
template_xlsx(const char *path, int scores, const struct template_cols *t,
              const struct importer_score_code *codes)
{
    lxw_workbook *wb = workbook_new(path);
    if (wb == NULL) {
        return LXW_ERROR_CREATING_TMPFILE;
    }
    lxw_worksheet *ws = workbook_add_worksheet(wb, scores ? "Bảng điểm" : "Danh sách");
    lxw_format *bold = workbook_add_format(wb);
    lxw_format *text = workbook_add_format(wb);
    format_set_bold(bold);
    format_set_num_format(text, "@");
    /* xlsxwriter's lists are char ** but only read (it copies the strings). */
    static char nam[] = "Nam", nu[] = "Nữ", nd[] = "Nông dân", cn[] = "Công nhân", cb[] = "Cán bộ";
    static char kh[] = "Không", co[] = "Cơ bản", tt[] = "Thành thạo";
    static char *genders[] = {nam, nu, NULL};
    static char *groups[] = {nd, cn, cb, NULL};
    static char *levels[] = {kh, co, tt, NULL};
    static const double person_widths[IMPORT_COL_COUNT] = {6, 28, 10, 10, 12, 16, 16, 18};
    static const double score_widths[IMPORT_SCORE_COUNT] = {6, 18, 16, 28, 10, 12, 13, 16, 14};
    for (lxw_col_t c = 0; c < (lxw_col_t)t->n; c++) {
        int f = t->fixed[c];
        worksheet_write_string(ws, 0, c, t->name[c], bold);
        int cid = scores ? f == IMPORT_SCORE_CID : f == IMPORT_COL_CID;
        double w = f < 0 ? 6 : scores ? score_widths[f] : person_widths[f];
        worksheet_set_column(ws, c, c, w, cid ? text : NULL);
        if (scores && f < 0) {
            template_points(ws, c, codes[-1 - f].max);
        } else if (scores ? f == IMPORT_SCORE_GROUP : f == IMPORT_COL_GROUP) {
            template_list(ws, c, groups);
        } else if (!scores && f == IMPORT_COL_GENDER) {
            template_list(ws, c, genders);
        } else if (scores && f == IMPORT_SCORE_DIGITAL) {
            template_list(ws, c, levels);
        }
    }
    worksheet_freeze_panes(ws, 1, 0);
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
    const char *kind = NULL, *out = NULL, *fw = NULL;
    cli_init(&c, "template",
             "template [--home DIR] [--kind persons|scores] [--framework FW] "
             "[-o FILE.csv|FILE.xlsx]");
    const struct cli_opt opts[] = {
        {"kind", 0, &kind, NULL},
        {"framework", 0, &fw, NULL},
        {"output", 'o', &out, NULL},
    };
    int ec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    int scores = 0;
    if (kind != NULL && (strcmp(kind, "scores") == 0 || strcmp(kind, "self") == 0)) {
        scores = 1;
    } else if (kind != NULL && strcmp(kind, "people") != 0 && strcmp(kind, "persons") != 0) {
        return cli_usage(&c, "--kind: persons (a person list) or scores (a score sheet)");
    }
    if (fw != NULL && !scores) {
        return cli_usage(&c, "--framework: only with --kind scores");
    }
    struct template_cols t;
    struct importer_score_code codes[IMPORT_SCORE_CODES_MAX];
    size_t ncodes = 0;
    if (scores) {
        /* Only a named framework needs the replica, opened read-only. */
        struct replica *r = NULL;
        if (fw != NULL && (ec = cli_open(&c, 0, &r)) != 0) {
            return ec;
        }
        err_code rc = importer_score_codes(r, fw, codes, &ncodes);
        replica_close(r);
        if (rc == ERR_NOTFOUND) {
            return cli_fail(&c, ERR_NOTFOUND,
                            "framework %.64s is not published here, or has no indicators (cdht "
                            "framework list)",
                            fw);
        }
        if (rc != ERR_OK) {
            return cli_fail(&c, rc, "cannot read framework %.64s", fw);
        }
        template_cols_scores(&t, codes, ncodes);
    } else {
        template_cols_persons(&t);
    }
    if (out == NULL) {
        return template_csv(stdout, &t) == 0 ? CLI_OK : cli_fail(&c, ERR_IO, "cannot write");
    }
    if (template_is_xlsx(out)) {
        lxw_error e = template_xlsx(out, scores, &t, codes);
        return e == LXW_NO_ERROR
                   ? CLI_OK
                   : cli_fail(&c, ERR_IO, "cannot write %s: %s", out, lxw_strerror(e));
    }
    FILE *f = fopen(out, "w");
    if (f == NULL) {
        return cli_fail(&c, ERR_IO, "cannot write %s", out);
    }
    int bad = template_csv(f, &t);
    bad |= fclose(f) != 0;
    return bad ? cli_fail(&c, ERR_IO, "cannot write %s", out) : CLI_OK;
}
