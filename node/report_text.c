/*
 * The text formats of the Learning Citizen report (report_fmt.h): the labels in Vietnamese and
 * English, the aligned table for a terminal, csv (stable English headers, RFC 4180 quoting) and
 * json. They only format a struct report (node/report.c computes it), so the numbers are the same
 * digits in every format; the HTML form is in report_html.c. They live in the library, not in
 * tools/, so that tests/unit/report_test.c checks every format on its fixed dataset.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "report_fmt.h"
#include "textfmt.h"

/* ---- labels -------------------------------------------------------------------------------- */

static const char *const report_labels[RL_COUNT][2] = {
    [RL_TITLE] = {"Báo cáo Công dân học tập", "Learning Citizen report"},
    [RL_YEAR] = {"năm", "year"},
    [RL_AS_OF] = {"đơn vị hành chính tại ngày", "units as of"},
    [RL_UNIT] = {"Đơn vị", "Unit"},
    [RL_GROUP] = {"Đối tượng", "Target group"},
    [RL_REGISTERED] = {"Đăng ký", "Registered"},
    [RL_ASSESSED] = {"Đã đánh giá", "Assessed"},
    [RL_PASSED] = {"Đạt", "Passed"},
    [RL_SHARE] = {"Tỷ lệ đạt", "Share passed"},
    [RL_TOTAL] = {"Tổng cộng", "Total"},
    [RL_ALL_GROUPS] = {"Tất cả đối tượng", "All groups"},
    [RL_SELF] = {"(trực tiếp tại đơn vị)", "(recorded at the unit itself)"},
    [RL_DISADV] = {"vùng khó khăn", "disadvantaged"},
    [RL_RESULTS] = {"Kết quả theo đơn vị và đối tượng", "Results by unit and target group"},
    [RL_TARGETS] = {"Tiến độ so với chỉ tiêu kế hoạch", "Progress against the plans' targets"},
    [RL_PLAN] = {"Kế hoạch", "Plan"},
    [RL_LEVEL] = {"Cấp", "Level"},
    [RL_METRIC] = {"Chỉ tiêu", "Metric"},
    [RL_MILESTONE] = {"Mốc", "Milestone"},
    [RL_TARGET] = {"Mục tiêu", "Target"},
    [RL_ACTUAL] = {"Thực hiện", "Actual"},
    [RL_STATE] = {"Đánh giá", "State"},
    [RL_NO_DATA] = {"chưa có dữ liệu", "no data"},
    [RL_NO_PLAN] = {"(không có kế hoạch)", "(no plan)"},
    [RL_CHARTS] = {"Biểu đồ", "Charts"},
    [RL_CHART_SHARE] = {"Tỷ lệ đạt theo đơn vị", "Share passed per unit"},
    [RL_CHART_YEARS] = {"Theo năm", "Per year"},
    [RL_NOTES] = {"Ghi chú", "Notes"},
    [RL_NOTE_SHARE] = {"Tỷ lệ đạt = số được công nhận (đã phê duyệt) / số đăng ký; đã đánh giá = "
                       "đã qua chi hội xét, được phê duyệt hoặc không được công nhận.",
                       "Share passed = passed (approved) / registered; assessed = branch-reviewed, "
                       "approved or rejected."},
    [RL_NOTE_FAMILY] =
        {"Người lớn trong gia đình, dòng họ, cộng đồng học tập: mẫu số là thành viên "
         "đủ tuổi người lớn của các tập thể được công nhận trong năm.",
         "Adults in learning families, clans and communities: the denominator is "
         "the adult members of the collectives recognised in the year."},
    [RL_NOTE_UNIT] = {"Đơn vị học tập: mẫu số là thành viên của các đơn vị học tập được công nhận "
                      "trong năm.",
                      "Learning units: the denominator is the members of the learning units "
                      "recognised in the year."},
    [RL_NOTE_DIGITAL] = {"Có kỹ năng số: mẫu số là người được công nhận trong năm.",
                         "With digital skills: the denominator is the people recognised in the "
                         "year."},
    [RL_NOTE_PROF] = {"Thành thạo: mẫu số là người được công nhận có kỹ năng số.",
                      "Proficient: the denominator is the recognised people with digital skills."},
    [RL_NOTE_TRAINED] = {"Tập huấn: phần mềm không thu thập số liệu này.",
                         "Trained: cdht collects no data for this metric."},
    [RL_NOTE_OUTSIDE] = {"hồ sơ thuộc đơn vị ngoài phạm vi, không tính",
                         "records of units outside this unit, not counted"},
    [RL_NOTE_COLLATION] =
        {"Đơn vị xếp theo tên bỏ dấu (đ như d), rồi theo tên gốc.",
         "Units are sorted by name without diacritics (đ as d), then as written."},
};

static const char *const report_metric_labels[REPORT_METRICS][2] = {
    [REPORT_M_TRAINED] = {"Cán bộ, hội viên được tập huấn bộ tiêu chí",
                          "Officers and members trained on the criteria"},
    [REPORT_M_FAMILY_ADULTS] =
        {"Người lớn trong gia đình, dòng họ, cộng đồng học tập đạt danh hiệu",
         "Adults in learning families, clans, communities with the title"},
    [REPORT_M_UNIT_WORKERS] = {"Cán bộ, người lao động trong đơn vị học tập đạt danh hiệu",
                               "Officials and workers in learning units with the title"},
    [REPORT_M_HOLDERS_DIGITAL] = {"Người đạt danh hiệu có kỹ năng số",
                                  "Title holders with digital skills"},
    [REPORT_M_HOLDERS_PROF] = {"... trong đó thành thạo (tự cập nhật dữ liệu trực tuyến)",
                               "... of whom proficient (update their own data online)"},
};

const char *
report_label(enum report_lang l, enum report_label k)
{
    ASSERT((unsigned)k < RL_COUNT);
    return report_labels[k][l == REPORT_EN];
}

const char *
report_metric_label(enum report_lang l, enum report_metric m)
{
    ASSERT((unsigned)m < REPORT_METRICS);
    return report_metric_labels[m][l == REPORT_EN];
}

const char *
report_state_label(enum report_lang l, enum report_state s)
{
    static const char *const names[3][2] = {
        [REPORT_NO_DATA] = {"chưa có dữ liệu", "no data"},
        [REPORT_ON_TRACK] = {"đạt tiến độ", "on track"},
        [REPORT_BEHIND] = {"chậm tiến độ", "behind"},
    };
    return names[s][l == REPORT_EN];
}

const char *
report_level_label(enum report_lang l, const char *level)
{
    static const char *const names[][3] = {
        {"national", "Quốc gia", "National"},
        {"province", "Tỉnh", "Province"},
        {"district", "Huyện", "District"},
        {"commune", "Xã", "Commune"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(level, names[i][0]) == 0) {
            return names[i][l == REPORT_EN ? 2 : 1];
        }
    }
    return level;
}

const char *
report_group_name(enum report_lang l, const struct report_group *g)
{
    return l == REPORT_EN ? g->name_en : g->name_vi;
}

void
report_pct(char out[REPORT_PCT_BUF], int64_t permille)
{
    if (permille < 0) {
        out[0] = '\0';
        return;
    }
    snprintf(out, REPORT_PCT_BUF, "%lld.%lld", (long long)(permille / 10),
             (long long)(permille % 10));
}

/* Machine state names for csv and json (stable, English). */
static const char *
report_state_code(enum report_state s)
{
    return s == REPORT_ON_TRACK ? "on_track" : s == REPORT_BEHIND ? "behind" : "no_data";
}

/* ---- table ------------------------------------------------------------------------------- */

/* Columns of the aligned tables: at most 8. Cells are copied into one growing buffer. */
#define REPORT_TABLE_COLS 8u

struct report_grid {
    unsigned ncols;
    unsigned right; /* bit i: column i is right-aligned (numbers) */
    char **cells;   /* owned, nrows * ncols, each owned */
    size_t nrows, cap;
    int failed; /* out of memory: the table prints nothing */
};

/* Display columns of UTF-8 text (NFC names: one column per letter; marks take none). */
static size_t
report_width(const char *s)
{
    size_t w = 0;
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    utf8proc_ssize_t len = (utf8proc_ssize_t)strlen(s);
    /* Each pass consumes at least one byte. */
    while (len > 0) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p, len, &cp);
        if (n <= 0) {
            n = 1;
            cp = '?';
        }
        int cw = utf8proc_charwidth(cp);
        w += cw > 0 ? (size_t)cw : 0;
        p += n;
        len -= n;
    }
    return w;
}

static void
report_grid_row(struct report_grid *g, const char *const cells[])
{
    if (g->failed) {
        return;
    }
    if (g->nrows == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 32;
        char **c = realloc(g->cells, cap * g->ncols * sizeof *c);
        if (c == NULL) {
            g->failed = 1;
            return;
        }
        g->cells = c;
        g->cap = cap;
    }
    for (unsigned i = 0; i < g->ncols; i++) {
        const char *s = cells[i] != NULL ? cells[i] : "";
        size_t n = strlen(s) + 1;
        char *d = malloc(n);
        if (d == NULL) {
            for (unsigned j = 0; j < i; j++) {
                free(g->cells[g->nrows * g->ncols + j]);
            }
            g->failed = 1;
            return;
        }
        memcpy(d, s, n);
        g->cells[g->nrows * g->ncols + i] = d;
    }
    g->nrows++;
}

/* Prints the grid aligned (two spaces between columns, no trailing spaces), then frees it. */
static void
report_grid_print(FILE *f, struct report_grid *g)
{
    size_t w[REPORT_TABLE_COLS] = {0};
    for (size_t r = 0; r < g->nrows; r++) {
        for (unsigned i = 0; i < g->ncols; i++) {
            size_t cw = report_width(g->cells[r * g->ncols + i]);
            w[i] = cw > w[i] ? cw : w[i];
        }
    }
    for (size_t r = 0; !g->failed && r < g->nrows; r++) {
        /* The last non-empty left-aligned cell needs no padding after it. */
        unsigned last = 0;
        for (unsigned i = 0; i < g->ncols; i++) {
            if (g->cells[r * g->ncols + i][0] != '\0') {
                last = i;
            }
        }
        for (unsigned i = 0; i <= last; i++) {
            const char *s = g->cells[r * g->ncols + i];
            size_t pad = w[i] - report_width(s);
            int right = (g->right >> i) & 1u;
            if (i > 0) {
                fputs("  ", f);
            }
            if (right) {
                fprintf(f, "%*s%s", (int)pad, "", s);
            } else {
                fputs(s, f);
                if (i < last) {
                    fprintf(f, "%*s", (int)pad, "");
                }
            }
        }
        fputc('\n', f);
    }
    for (size_t i = 0; i < g->nrows * g->ncols; i++) {
        free(g->cells[i]);
    }
    free(g->cells);
    g->cells = NULL;
    g->nrows = g->cap = 0;
}

static void
report_counts_cells(const struct report_counts *c, char num[4][REPORT_PCT_BUF], enum report_lang l)
{
    snprintf(num[0], REPORT_PCT_BUF, "%lld", (long long)c->registered);
    snprintf(num[1], REPORT_PCT_BUF, "%lld", (long long)c->assessed);
    snprintf(num[2], REPORT_PCT_BUF, "%lld", (long long)c->passed);
    int64_t pm = report_permille(c->passed, c->registered);
    if (pm < 0) {
        snprintf(num[3], REPORT_PCT_BUF, "%s", report_label(l, RL_NO_DATA));
    } else {
        report_pct(num[3], pm);
        strcat(num[3], "%");
    }
}

/* The unit's name as the table shows it: "V01 Thôn Một (vùng khó khăn)". */
static void
report_child_title(const struct report_child *c, enum report_lang l, char *out, size_t cap)
{
    if (c->self) {
        snprintf(out, cap, "%s %s", c->code, report_label(l, RL_SELF));
    } else {
        snprintf(out, cap, "%s %s%s%s%s", c->code, c->name, c->disadvantaged ? " (" : "",
                 c->disadvantaged ? report_label(l, RL_DISADV) : "", c->disadvantaged ? ")" : "");
    }
}

static void
report_ratio_text(const struct report_ratio *m, enum report_lang l, char *out, size_t cap)
{
    int64_t pm = report_permille(m->num, m->den);
    if (pm < 0) {
        snprintf(out, cap, "%s", report_label(l, RL_NO_DATA));
        return;
    }
    char pct[REPORT_PCT_BUF];
    report_pct(pct, pm);
    snprintf(out, cap, "%s%% (%lld/%lld)", pct, (long long)m->num, (long long)m->den);
}

static void
report_write_table(FILE *f, const struct report *r, enum report_lang l)
{
    fprintf(f, "%s %s %d: %s %s (%s %s)\n\n", report_label(l, RL_TITLE), report_label(l, RL_YEAR),
            r->year, r->unit, r->unit_name, report_label(l, RL_AS_OF), r->as_of);
    fprintf(f, "%s\n", report_label(l, RL_RESULTS));
    struct report_grid g = {.ncols = 6, .right = 0x3Cu};
    const char *head[] = {report_label(l, RL_UNIT),       report_label(l, RL_GROUP),
                          report_label(l, RL_REGISTERED), report_label(l, RL_ASSESSED),
                          report_label(l, RL_PASSED),     report_label(l, RL_SHARE)};
    report_grid_row(&g, head);
    char title[UNITS_CODE_BUF + 256 + 64], num[4][REPORT_PCT_BUF];
    for (size_t i = 0; i < r->nchildren; i++) {
        const struct report_child *c = &r->children[i];
        report_child_title(c, l, title, sizeof title);
        for (unsigned k = 0; k < r->ngroups; k++) {
            report_counts_cells(&c->g[k], num, l);
            const char *row[] = {k == 0 ? title : "",
                                 report_group_name(l, &r->groups[k]),
                                 num[0],
                                 num[1],
                                 num[2],
                                 num[3]};
            report_grid_row(&g, row);
        }
        report_counts_cells(&c->all, num, l);
        const char *row[] = {r->ngroups == 0 ? title : "",
                             report_label(l, RL_ALL_GROUPS),
                             num[0],
                             num[1],
                             num[2],
                             num[3]};
        report_grid_row(&g, row);
    }
    for (unsigned k = 0; k < r->ngroups; k++) {
        report_counts_cells(&r->g[k], num, l);
        const char *row[] = {k == 0 ? report_label(l, RL_TOTAL) : "",
                             report_group_name(l, &r->groups[k]),
                             num[0],
                             num[1],
                             num[2],
                             num[3]};
        report_grid_row(&g, row);
    }
    report_counts_cells(&r->all, num, l);
    const char *tot[] = {r->ngroups == 0 ? report_label(l, RL_TOTAL) : "",
                         report_label(l, RL_ALL_GROUPS),
                         num[0],
                         num[1],
                         num[2],
                         num[3]};
    report_grid_row(&g, tot);
    report_grid_print(f, &g);

    fprintf(f, "\n%s\n", report_label(l, RL_TARGETS));
    struct report_grid t = {.ncols = 6, .right = 0x1Cu};
    const char *thead[] = {report_label(l, RL_METRIC),    report_label(l, RL_PLAN),
                           report_label(l, RL_MILESTONE), report_label(l, RL_TARGET),
                           report_label(l, RL_ACTUAL),    report_label(l, RL_STATE)};
    report_grid_row(&t, thead);
    for (int m = 0; m < REPORT_METRICS; m++) {
        char actual[96];
        report_ratio_text(&r->m[m], l, actual, sizeof actual);
        int any = 0;
        for (size_t i = 0; i < r->ntargets; i++) {
            const struct report_target *tg = &r->targets[i];
            if (tg->metric != (enum report_metric)m) {
                continue;
            }
            char plan[REPORT_PLAN_BUF + 32], ms[16], pct[16];
            snprintf(plan, sizeof plan, "%s (%s)", tg->plan, report_level_label(l, tg->level));
            snprintf(ms, sizeof ms, "%d", tg->milestone);
            snprintf(pct, sizeof pct, "%d%%", tg->pct);
            const char *row[] = {
                any ? "" : report_metric_label(l, (enum report_metric)m), plan, ms, pct, actual,
                report_state_label(l, report_target_state(tg, &r->m[m]))};
            report_grid_row(&t, row);
            any = 1;
        }
        if (!any) {
            const char *row[] = {report_metric_label(l, (enum report_metric)m),
                                 report_label(l, RL_NO_PLAN),
                                 "",
                                 "",
                                 actual,
                                 ""};
            report_grid_row(&t, row);
        }
    }
    report_grid_print(f, &t);
    fprintf(f, "\n%s:\n", report_label(l, RL_NOTES));
    static const enum report_label notes[] = {RL_NOTE_SHARE,    RL_NOTE_FAMILY, RL_NOTE_UNIT,
                                              RL_NOTE_DIGITAL,  RL_NOTE_PROF,   RL_NOTE_TRAINED,
                                              RL_NOTE_COLLATION};
    for (size_t i = 0; i < sizeof notes / sizeof notes[0]; i++) {
        fprintf(f, "- %s\n", report_label(l, notes[i]));
    }
    if (r->outside > 0) {
        fprintf(f, "- %lld %s\n", (long long)r->outside, report_label(l, RL_NOTE_OUTSIDE));
    }
}

/* ---- csv --------------------------------------------------------------------------------- */

static void
report_csv_counts(FILE *f, const char *kind, const char *code, const char *name, const char *group,
                  const struct report_counts *c)
{
    char pct[REPORT_PCT_BUF];
    report_pct(pct, report_permille(c->passed, c->registered));
    fprintf(f, "%s,", kind);
    textfmt_csv_str(f, code);
    fputc(',', f);
    textfmt_csv_str(f, name);
    fputc(',', f);
    textfmt_csv_str(f, group);
    fprintf(f, ",%lld,%lld,%lld,%s\n", (long long)c->registered, (long long)c->assessed,
            (long long)c->passed, pct);
}

/* Two sections with stable English headers (the keys do not change with --lang): the counts per
 * unit and group (row: "unit" for a child unit, "self" for rows recorded at the report's unit
 * itself, "total" for the whole unit; group "*" is all groups), a blank line, then one row per
 * metric and applicable plan (a metric no plan targets: one row with the plan empty). An empty
 * share is "no data" (nothing registered, or no denominator), never 0. */
static void
report_write_csv(FILE *f, const struct report *r, enum report_lang l)
{
    fputs("row,unit_code,unit_name,group,registered,assessed,passed,share_passed_pct\n", f);
    for (size_t i = 0; i < r->nchildren; i++) {
        const struct report_child *c = &r->children[i];
        const char *name = c->self ? r->unit_name : c->name;
        const char *kind = c->self ? "self" : "unit";
        for (unsigned k = 0; k < r->ngroups; k++) {
            report_csv_counts(f, kind, c->code, name, r->groups[k].code, &c->g[k]);
        }
        report_csv_counts(f, kind, c->code, name, "*", &c->all);
    }
    for (unsigned k = 0; k < r->ngroups; k++) {
        report_csv_counts(f, "total", r->unit, r->unit_name, r->groups[k].code, &r->g[k]);
    }
    report_csv_counts(f, "total", r->unit, r->unit_name, "*", &r->all);
    (void)l;
    fputs("\nmetric,plan,level,milestone_year,target_pct,numerator,denominator,actual_pct,state\n",
          f);
    for (int m = 0; m < REPORT_METRICS; m++) {
        char pct[REPORT_PCT_BUF];
        report_pct(pct, report_permille(r->m[m].num, r->m[m].den));
        int any = 0;
        for (size_t i = 0; i < r->ntargets; i++) {
            const struct report_target *t = &r->targets[i];
            if (t->metric != (enum report_metric)m) {
                continue;
            }
            fprintf(f, "%s,", report_metric_code((enum report_metric)m));
            textfmt_csv_str(f, t->plan);
            fprintf(f, ",%s,%d,%d,%lld,%lld,%s,%s\n", t->level, t->milestone, t->pct,
                    (long long)r->m[m].num, (long long)r->m[m].den, pct,
                    report_state_code(report_target_state(t, &r->m[m])));
            any = 1;
        }
        if (!any) {
            fprintf(f, "%s,,,,,%lld,%lld,%s,%s\n", report_metric_code((enum report_metric)m),
                    (long long)r->m[m].num, (long long)r->m[m].den, pct,
                    r->m[m].den > 0 ? "no_target" : "no_data");
        }
    }
}

/* ---- json -------------------------------------------------------------------------------- */

static void
report_json_pct(FILE *f, int64_t permille)
{
    if (permille < 0) {
        fputs("null", f);
    } else {
        char pct[REPORT_PCT_BUF];
        report_pct(pct, permille);
        fputs(pct, f);
    }
}

static void
report_json_counts(FILE *f, const struct report_counts *c)
{
    fprintf(f, "{\"registered\":%lld,\"assessed\":%lld,\"passed\":%lld,\"share_passed_pct\":",
            (long long)c->registered, (long long)c->assessed, (long long)c->passed);
    report_json_pct(f, report_permille(c->passed, c->registered));
    fputc('}', f);
}

static void
report_json_metrics(FILE *f, const struct report_ratio m[REPORT_METRICS])
{
    fputc('{', f);
    for (int i = 0; i < REPORT_METRICS; i++) {
        fprintf(
            f, "%s\"%s\":{\"numerator\":%lld,\"denominator\":%lld,\"actual_pct\":", i ? "," : "",
            report_metric_code((enum report_metric)i), (long long)m[i].num, (long long)m[i].den);
        report_json_pct(f, report_permille(m[i].num, m[i].den));
        fputc('}', f);
    }
    fputc('}', f);
}

static void
report_json_groups(FILE *f, const struct report *r, const struct report_counts g[])
{
    fputc('{', f);
    for (unsigned k = 0; k < r->ngroups; k++) {
        fprintf(f, "%s", k ? "," : "");
        textfmt_json_str(f, r->groups[k].code);
        fputc(':', f);
        report_json_counts(f, &g[k]);
    }
    fputc('}', f);
}

static void
report_write_json(FILE *f, const struct report *r, enum report_lang l)
{
    fputs("{\"unit\":", f);
    textfmt_json_str(f, r->unit);
    fputs(",\"unit_name\":", f);
    textfmt_json_str(f, r->unit_name);
    fprintf(f, ",\"year\":%d,\"as_of\":\"%s\",\"lang\":\"%s\",\"adult_age\":%d,\"groups\":[",
            r->year, r->as_of, l == REPORT_EN ? "en" : "vi", r->adult_age);
    for (unsigned k = 0; k < r->ngroups; k++) {
        fputs(k ? ",{\"code\":" : "{\"code\":", f);
        textfmt_json_str(f, r->groups[k].code);
        fputs(",\"name\":", f);
        textfmt_json_str(f, report_group_name(l, &r->groups[k]));
        fputc('}', f);
    }
    fputs("],\n\"children\":[", f);
    for (size_t i = 0; i < r->nchildren; i++) {
        const struct report_child *c = &r->children[i];
        fputs(i ? ",\n{\"code\":" : "\n{\"code\":", f);
        textfmt_json_str(f, c->code);
        fputs(",\"name\":", f);
        textfmt_json_str(f, c->self ? r->unit_name : c->name);
        fprintf(f, ",\"self\":%s,\"disadvantaged\":%s,\"groups\":", c->self ? "true" : "false",
                c->disadvantaged ? "true" : "false");
        report_json_groups(f, r, c->g);
        fputs(",\"total\":", f);
        report_json_counts(f, &c->all);
        fputs(",\"metrics\":", f);
        report_json_metrics(f, c->m);
        fputc('}', f);
    }
    fputs("],\n\"groups_total\":", f);
    report_json_groups(f, r, r->g);
    fputs(",\n\"total\":", f);
    report_json_counts(f, &r->all);
    fputs(",\n\"metrics\":", f);
    report_json_metrics(f, r->m);
    fputs(",\n\"targets\":[", f);
    for (size_t i = 0; i < r->ntargets; i++) {
        const struct report_target *t = &r->targets[i];
        fputs(i ? ",\n{\"plan\":" : "\n{\"plan\":", f);
        textfmt_json_str(f, t->plan);
        fputs(",\"plan_unit\":", f);
        textfmt_json_str(f, t->plan_unit);
        fputs(",\"level\":", f);
        textfmt_json_str(f, t->level);
        fprintf(f, ",\"metric\":\"%s\",\"milestone\":%d,\"target_pct\":%d,\"actual_pct\":",
                report_metric_code(t->metric), t->milestone, t->pct);
        report_json_pct(f, report_permille(r->m[t->metric].num, r->m[t->metric].den));
        fprintf(f, ",\"state\":\"%s\"}",
                report_state_code(report_target_state(t, &r->m[t->metric])));
    }
    fprintf(f, "],\n\"outside\":%lld}\n", (long long)r->outside);
}

int
report_write(FILE *f, const struct report *r, enum report_format fmt, enum report_lang l)
{
    ASSERT(f != NULL);
    ASSERT(r != NULL);
    switch (fmt) {
    case REPORT_FMT_TABLE: report_write_table(f, r, l); break;
    case REPORT_FMT_CSV: report_write_csv(f, r, l); break;
    case REPORT_FMT_JSON: report_write_json(f, r, l); break;
    case REPORT_FMT_HTML: return report_write_html(f, r, l);
    }
    return ferror(f) ? -1 : 0;
}
