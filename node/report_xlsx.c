/*
 * The XLSX form of `cdht report` (report_fmt.h), written with libxlsxwriter: a workbook with one
 * sheet per section, the results per unit and target group first (so that a converter which
 * reads only the first sheet, such as `libreoffice --convert-to csv`, gets it), then the plan
 * metrics against the targets, then the notes. The rows and figures are the CSV format's, in the
 * same order (report_text.c, report_write_csv); the labels follow --lang. Counts are integer
 * cells and shares are number cells with a percent format holding the CSV's rounded per-mille
 * value, so LibreOffice and Excel show the same digits as every other format. "No data" is an
 * empty cell with a cell note, never 0 %. This file includes xlsxwriter.h and never libzip's
 * zip.h (node/sheet.c explains why).
 */
#include <stdio.h>
#include <string.h>
#include <xlsxwriter.h>

#include "report_fmt.h"

/* Labels only the workbook needs; report_label holds the ones every format shares. */
enum xlsx_label {
    XL_SHEET_RESULTS,
    XL_SHEET_TARGETS,
    XL_SHEET_NOTES,
    XL_UNIT_CODE,
    XL_UNIT_NAME,
    XL_NUMERATOR,
    XL_DENOMINATOR,
    XL_NO_DATA_NOTE,
    XL_COUNT
};

/* Sheet names: at most 31 characters and none of []:*?/\ (Excel's rule, which libxlsxwriter
 * checks). */
static const char *const xlsx_labels[XL_COUNT][2] = {
    [XL_SHEET_RESULTS] = {"Kết quả", "Results"},
    [XL_SHEET_TARGETS] = {"Chỉ tiêu kế hoạch", "Plan targets"},
    [XL_SHEET_NOTES] = {"Ghi chú", "Notes"},
    [XL_UNIT_CODE] = {"Mã đơn vị", "Unit code"},
    [XL_UNIT_NAME] = {"Tên đơn vị", "Unit name"},
    [XL_NUMERATOR] = {"Tử số", "Numerator"},
    [XL_DENOMINATOR] = {"Mẫu số", "Denominator"},
    [XL_NO_DATA_NOTE] = {"Chưa có dữ liệu: mẫu số bằng 0, nên không tính được tỷ lệ "
                         "(không phải 0%).",
                         "No data: the denominator is 0, so there is no share (not 0%)."},
};

/* Rows above each table: the title, a blank row, then the header. */
#define XLSX_HEAD_ROW 2u

/* The workbook being written and its formats. bad is set by the first libxlsxwriter call that
 * fails; later calls still run (they fail harmlessly) and report_write_xlsx returns -1. */
struct xlsx {
    lxw_workbook *wb;
    enum report_lang l;
    lxw_format *title, *head, *text, *bold, *count, *count_bold, *share, *share_bold, *target;
    int bad;
};

static const char *
xlsx_label(const struct xlsx *x, enum xlsx_label k)
{
    return xlsx_labels[k][x->l == REPORT_EN];
}

static void
xlsx_check(struct xlsx *x, lxw_error e)
{
    if (e != LXW_NO_ERROR) {
        x->bad = 1;
    }
}

static void
xlsx_str(struct xlsx *x, lxw_worksheet *ws, lxw_row_t row, lxw_col_t col, const char *s,
         lxw_format *fmt)
{
    if (s[0] == '\0') {
        /* An empty string cell is not a blank cell to a spreadsheet; write nothing. */
        return;
    }
    /* A string cell is never read as a formula, so no leading apostrophe is needed here. */
    xlsx_check(x, worksheet_write_string(ws, row, col, s, fmt));
}

static void
xlsx_int(struct xlsx *x, lxw_worksheet *ws, lxw_row_t row, lxw_col_t col, int64_t v,
         lxw_format *fmt)
{
    /* Counts are far below 2^53, so the double holds them exactly. */
    xlsx_check(x, worksheet_write_number(ws, row, col, (double)v, fmt));
}

/* A share cell: the per-mille value as a fraction under a percent format, or, for -1, an empty
 * cell carrying the "no data" note. */
static void
xlsx_share(struct xlsx *x, lxw_worksheet *ws, lxw_row_t row, lxw_col_t col, int64_t permille,
           lxw_format *fmt)
{
    if (permille < 0) {
        xlsx_check(x, worksheet_write_blank(ws, row, col, fmt));
        xlsx_check(x, worksheet_write_comment(ws, row, col, xlsx_label(x, XL_NO_DATA_NOTE)));
        return;
    }
    xlsx_check(x, worksheet_write_number(ws, row, col, (double)permille / 1000.0, fmt));
}

static void
xlsx_header(struct xlsx *x, lxw_worksheet *ws, const char *const names[], const double widths[],
            lxw_col_t n)
{
    for (lxw_col_t c = 0; c < n; c++) {
        xlsx_str(x, ws, XLSX_HEAD_ROW, c, names[c], x->head);
        xlsx_check(x, worksheet_set_column(ws, c, c, widths[c], NULL));
    }
    worksheet_freeze_panes(ws, XLSX_HEAD_ROW + 1, 0);
}

static void
xlsx_counts_row(struct xlsx *x, lxw_worksheet *ws, lxw_row_t row, const char *code,
                const char *name, const char *group, const struct report_counts *c, int total)
{
    lxw_format *t = total ? x->bold : NULL;
    lxw_format *n = total ? x->count_bold : x->count;
    xlsx_str(x, ws, row, 0, code, total ? x->bold : x->text);
    xlsx_str(x, ws, row, 1, name, t);
    xlsx_str(x, ws, row, 2, group, t);
    xlsx_int(x, ws, row, 3, c->registered, n);
    xlsx_int(x, ws, row, 4, c->assessed, n);
    xlsx_int(x, ws, row, 5, c->passed, n);
    xlsx_share(x, ws, row, 6, report_permille(c->passed, c->registered),
               total ? x->share_bold : x->share);
}

/* The unit's name as the sheet shows it: "Đông Hà (vùng khó khăn)". */
static void
xlsx_child_name(const struct report *r, const struct report_child *c, enum report_lang l, char *out,
                size_t cap)
{
    if (c->self) {
        snprintf(out, cap, "%s %s", r->unit_name, report_label(l, RL_SELF));
    } else if (c->disadvantaged) {
        snprintf(out, cap, "%s (%s)", c->name, report_label(l, RL_DISADV));
    } else {
        snprintf(out, cap, "%s", c->name);
    }
}

/* Sheet 1: the CSV's first section, row for row. */
static void
xlsx_results(struct xlsx *x, const struct report *r)
{
    enum report_lang l = x->l;
    lxw_worksheet *ws = workbook_add_worksheet(x->wb, xlsx_label(x, XL_SHEET_RESULTS));
    if (ws == NULL) {
        x->bad = 1;
        return;
    }
    char title[UNITS_CODE_BUF + 512];
    snprintf(title, sizeof title, "%s %s %d: %s %s (%s %s)", report_label(l, RL_TITLE),
             report_label(l, RL_YEAR), r->year, r->unit, r->unit_name, report_label(l, RL_AS_OF),
             r->as_of);
    xlsx_str(x, ws, 0, 0, title, x->title);
    const char *const head[] = {xlsx_label(x, XL_UNIT_CODE),  xlsx_label(x, XL_UNIT_NAME),
                                report_label(l, RL_GROUP),    report_label(l, RL_REGISTERED),
                                report_label(l, RL_ASSESSED), report_label(l, RL_PASSED),
                                report_label(l, RL_SHARE)};
    static const double widths[] = {14, 36, 22, 11, 13, 11, 12};
    xlsx_header(x, ws, head, widths, 7);
    lxw_row_t row = XLSX_HEAD_ROW + 1;
    char name[512];
    for (size_t i = 0; i < r->nchildren; i++) {
        const struct report_child *c = &r->children[i];
        xlsx_child_name(r, c, l, name, sizeof name);
        for (unsigned k = 0; k < r->ngroups; k++) {
            xlsx_counts_row(x, ws, row++, c->code, name, report_group_name(l, &r->groups[k]),
                            &c->g[k], 0);
        }
        xlsx_counts_row(x, ws, row++, c->code, name, report_label(l, RL_ALL_GROUPS), &c->all, 0);
    }
    snprintf(name, sizeof name, "%s: %s", report_label(l, RL_TOTAL), r->unit_name);
    for (unsigned k = 0; k < r->ngroups; k++) {
        xlsx_counts_row(x, ws, row++, r->unit, name, report_group_name(l, &r->groups[k]), &r->g[k],
                        1);
    }
    xlsx_counts_row(x, ws, row++, r->unit, name, report_label(l, RL_ALL_GROUPS), &r->all, 1);
}

/* Sheet 2: the CSV's second section, row for row: one row per metric and plan that targets it,
 * or one row with no plan. */
static void
xlsx_targets(struct xlsx *x, const struct report *r)
{
    enum report_lang l = x->l;
    lxw_worksheet *ws = workbook_add_worksheet(x->wb, xlsx_label(x, XL_SHEET_TARGETS));
    if (ws == NULL) {
        x->bad = 1;
        return;
    }
    char title[UNITS_CODE_BUF + 512];
    snprintf(title, sizeof title, "%s: %s %s, %s %d", report_label(l, RL_TARGETS), r->unit,
             r->unit_name, report_label(l, RL_YEAR), r->year);
    xlsx_str(x, ws, 0, 0, title, x->title);
    const char *const head[] = {
        report_label(l, RL_METRIC),    report_label(l, RL_PLAN),   report_label(l, RL_LEVEL),
        report_label(l, RL_MILESTONE), report_label(l, RL_TARGET), xlsx_label(x, XL_NUMERATOR),
        xlsx_label(x, XL_DENOMINATOR), report_label(l, RL_ACTUAL), report_label(l, RL_STATE)};
    static const double widths[] = {52, 22, 10, 8, 10, 9, 9, 11, 16};
    xlsx_header(x, ws, head, widths, 9);
    lxw_row_t row = XLSX_HEAD_ROW + 1;
    for (int m = 0; m < REPORT_METRICS; m++) {
        const struct report_ratio *v = &r->m[m];
        int64_t pm = report_permille(v->num, v->den);
        const char *metric = report_metric_label(l, (enum report_metric)m);
        int any = 0;
        for (size_t i = 0; i < r->ntargets; i++) {
            const struct report_target *t = &r->targets[i];
            if (t->metric != (enum report_metric)m) {
                continue;
            }
            xlsx_str(x, ws, row, 0, metric, NULL);
            xlsx_str(x, ws, row, 1, t->plan, x->text);
            xlsx_str(x, ws, row, 2, report_level_label(l, t->level), NULL);
            xlsx_int(x, ws, row, 3, t->milestone, NULL);
            xlsx_check(x, worksheet_write_number(ws, row, 4, t->pct / 100.0, x->target));
            xlsx_int(x, ws, row, 5, v->num, x->count);
            xlsx_int(x, ws, row, 6, v->den, x->count);
            xlsx_share(x, ws, row, 7, pm, x->share);
            xlsx_str(x, ws, row, 8, report_state_label(l, report_target_state(t, v)), NULL);
            row++;
            any = 1;
        }
        if (!any) {
            xlsx_str(x, ws, row, 0, metric, NULL);
            xlsx_str(x, ws, row, 1, report_label(l, RL_NO_PLAN), NULL);
            xlsx_int(x, ws, row, 5, v->num, x->count);
            xlsx_int(x, ws, row, 6, v->den, x->count);
            xlsx_share(x, ws, row, 7, pm, x->share);
            if (v->den == 0) {
                xlsx_str(x, ws, row, 8, report_state_label(l, REPORT_NO_DATA), NULL);
            }
            row++;
        }
    }
}

/* Sheet 3: what the table format prints under "Notes", one per row. */
static void
xlsx_notes(struct xlsx *x, const struct report *r)
{
    enum report_lang l = x->l;
    lxw_worksheet *ws = workbook_add_worksheet(x->wb, xlsx_label(x, XL_SHEET_NOTES));
    if (ws == NULL) {
        x->bad = 1;
        return;
    }
    xlsx_str(x, ws, 0, 0, report_label(l, RL_NOTES), x->title);
    xlsx_check(x, worksheet_set_column(ws, 0, 0, 110, NULL));
    static const enum report_label notes[] = {RL_NOTE_SHARE,    RL_NOTE_FAMILY, RL_NOTE_UNIT,
                                              RL_NOTE_DIGITAL,  RL_NOTE_PROF,   RL_NOTE_TRAINED,
                                              RL_NOTE_COLLATION};
    lxw_row_t row = 2;
    for (size_t i = 0; i < sizeof notes / sizeof notes[0]; i++) {
        xlsx_str(x, ws, row++, 0, report_label(l, notes[i]), NULL);
    }
    xlsx_str(x, ws, row++, 0, xlsx_label(x, XL_NO_DATA_NOTE), NULL);
    if (r->outside > 0) {
        char line[256];
        snprintf(line, sizeof line, "%lld %s", (long long)r->outside,
                 report_label(l, RL_NOTE_OUTSIDE));
        xlsx_str(x, ws, row++, 0, line, NULL);
    }
}

static lxw_format *
xlsx_format(struct xlsx *x, int bold, const char *num)
{
    lxw_format *f = workbook_add_format(x->wb);
    if (f == NULL) {
        x->bad = 1;
        return NULL;
    }
    if (bold) {
        format_set_bold(f);
    }
    if (num != NULL) {
        format_set_num_format(f, num);
    }
    return f;
}

/* Writes r as an XLSX workbook at path (created or replaced; the caller renames it into place).
 * Returns 0, or -1 when libxlsxwriter could not create or write the file. */
int
report_write_xlsx(const char *path, const struct report *r, enum report_lang l)
{
    ASSERT(path != NULL);
    ASSERT(r != NULL);
    struct xlsx x = {.l = l};
    if ((x.wb = workbook_new(path)) == NULL) {
        return -1;
    }
    x.title = xlsx_format(&x, 1, NULL);
    if (x.title != NULL) {
        format_set_font_size(x.title, 13);
    }
    x.head = xlsx_format(&x, 1, NULL);
    if (x.head != NULL) {
        format_set_bottom(x.head, LXW_BORDER_THIN);
        format_set_text_wrap(x.head);
    }
    x.text = xlsx_format(&x, 0, "@"); /* codes stay text: "01" keeps its zero */
    x.bold = xlsx_format(&x, 1, NULL);
    x.count = xlsx_format(&x, 0, "#,##0");
    x.count_bold = xlsx_format(&x, 1, "#,##0");
    x.share = xlsx_format(&x, 0, "0.0%");
    x.share_bold = xlsx_format(&x, 1, "0.0%");
    x.target = xlsx_format(&x, 0, "0%");
    char title[UNITS_CODE_BUF + 512];
    snprintf(title, sizeof title, "%s %s %d: %s %s", report_label(l, RL_TITLE),
             report_label(l, RL_YEAR), r->year, r->unit, r->unit_name);
    lxw_doc_properties props = {.title = title, .author = "cdht"};
    xlsx_check(&x, workbook_set_properties(x.wb, &props));
    xlsx_results(&x, r);
    xlsx_targets(&x, r);
    xlsx_notes(&x, r);
    /* workbook_close writes the file and frees the workbook whatever it returns. */
    xlsx_check(&x, workbook_close(x.wb));
    return x.bad ? -1 : 0;
}
