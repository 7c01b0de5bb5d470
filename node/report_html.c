/*
 * The HTML form of `cdht report` (report_fmt.h): one self-contained file with inline CSS and
 * inline SVG bar charts, no script and no external reference of any kind (not even the SVG
 * namespace URL, which inline SVG in HTML5 does not need), so it opens offline on a village
 * laptop and can be mailed or copied on a USB stick as it is. The charts: the share passed per
 * child unit; each plan metric per child unit against the nearest plan's target; and, when
 * several years have data, the same per year against each year's milestone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_fmt.h"

/* Chart geometry in SVG user units (CSS pixels). */
#define HTML_LABEL_W 260
#define HTML_BAR_W 360
#define HTML_ROW_H 22
#define HTML_TOP 8

static void
html_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* One bar of a chart: permille -1 is "no data" (no bar, the words instead); target_pct -1: no
 * target line on this row. */
struct html_bar {
    const char *label;
    char label_buf[UNITS_CODE_BUF + 256];
    int64_t permille;
    int target_pct;
};

static void
html_chart(FILE *f, const char *title, const struct html_bar *bars, size_t n, enum report_lang l)
{
    int h = HTML_TOP * 2 + (int)n * HTML_ROW_H + 16;
    int w = HTML_LABEL_W + HTML_BAR_W + 130;
    fputs("<figure><figcaption>", f);
    html_text(f, title);
    fprintf(f,
            "</figcaption>\n<svg viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\">\n",
            w, h, w, h);
    /* The 0, 50 and 100 % grid lines. */
    for (int p = 0; p <= 100; p += 50) {
        int x = HTML_LABEL_W + HTML_BAR_W * p / 100;
        fprintf(f,
                "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"grid\"/>"
                "<text x=\"%d\" y=\"%d\" class=\"axis\">%d%%</text>\n",
                x, HTML_TOP, x, h - 16, x, h - 4, p);
    }
    for (size_t i = 0; i < n; i++) {
        const struct html_bar *b = &bars[i];
        int y = HTML_TOP + (int)i * HTML_ROW_H;
        fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"label\">", HTML_LABEL_W - 6, y + 15);
        html_text(f, b->label);
        fputs("</text>", f);
        if (b->permille < 0) {
            fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"nodata\">", HTML_LABEL_W + 4, y + 15);
            html_text(f, report_label(l, RL_NO_DATA));
            fputs("</text>", f);
        } else {
            int64_t pm = b->permille > 1000 ? 1000 : b->permille;
            int bw = (int)(pm * HTML_BAR_W / 1000);
            const char *cls = b->target_pct < 0                            ? "bar"
                              : b->permille >= (int64_t)b->target_pct * 10 ? "bar ok"
                                                                           : "bar behind";
            char pct[REPORT_PCT_BUF];
            report_pct(pct, b->permille);
            fprintf(f,
                    "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"%s\"/>"
                    "<text x=\"%d\" y=\"%d\" class=\"value\">%s%%</text>",
                    HTML_LABEL_W, y + 3, bw, HTML_ROW_H - 6, cls, HTML_LABEL_W + bw + 4, y + 15,
                    pct);
        }
        if (b->target_pct >= 0) {
            int x = HTML_LABEL_W + HTML_BAR_W * b->target_pct / 100;
            fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"target\"/>", x, y + 1,
                    x, y + HTML_ROW_H - 1);
        }
        fputc('\n', f);
    }
    fputs("</svg></figure>\n", f);
}

static void
html_td(FILE *f, const char *s, int num)
{
    fputs(num ? "<td class=\"n\">" : "<td>", f);
    html_text(f, s);
    fputs("</td>", f);
}

static void
html_counts_row(FILE *f, const char *unit, const char *group, const struct report_counts *c,
                enum report_lang l, int total)
{
    char n[3][32], pct[REPORT_PCT_BUF + 1];
    snprintf(n[0], sizeof n[0], "%lld", (long long)c->registered);
    snprintf(n[1], sizeof n[1], "%lld", (long long)c->assessed);
    snprintf(n[2], sizeof n[2], "%lld", (long long)c->passed);
    int64_t pm = report_permille(c->passed, c->registered);
    report_pct(pct, pm);
    if (pm >= 0) {
        strcat(pct, "%");
    }
    fputs(total ? "<tr class=\"total\">" : "<tr>", f);
    html_td(f, unit, 0);
    html_td(f, group, 0);
    html_td(f, n[0], 1);
    html_td(f, n[1], 1);
    html_td(f, n[2], 1);
    html_td(f, pm >= 0 ? pct : report_label(l, RL_NO_DATA), 1);
    fputs("</tr>\n", f);
}

/* The target line of a metric in the charts: the nearest plan that sets one (own plan first). */
static const struct report_target *
html_nearest(const struct report *r, enum report_metric m)
{
    for (size_t i = 0; i < r->ntargets; i++) {
        if (r->targets[i].metric == m) {
            return &r->targets[i];
        }
    }
    return NULL;
}

static void
html_child_label(const struct report *r, const struct report_child *c, enum report_lang l,
                 struct html_bar *b)
{
    snprintf(b->label_buf, sizeof b->label_buf, "%s%s%s", c->self ? r->unit_name : c->name,
             c->self ? " " : "", c->self ? report_label(l, RL_SELF) : "");
    b->label = b->label_buf;
}

static const char html_css[] =
    "body{font-family:system-ui,'Segoe UI',Roboto,'Noto Sans',Arial,sans-serif;margin:2em;"
    "color:#222;max-width:1100px}"
    "h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}"
    "table{border-collapse:collapse;margin:.5em 0}"
    "th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}"
    "th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums}"
    "tr.total td{font-weight:bold;background:#fafafa}"
    ".on_track{color:#1b5e20}.behind{color:#b71c1c}.no_data{color:#666;font-style:italic}"
    "figure{margin:1em 0}figcaption{font-weight:bold;margin-bottom:.3em}"
    "svg .label{text-anchor:end;font-size:12px}svg .value,svg .axis,svg .nodata{font-size:11px}"
    "svg .axis{text-anchor:middle;fill:#666}svg .nodata{fill:#666;font-style:italic}"
    "svg .grid{stroke:#ddd}svg .bar{fill:#1565c0}svg .bar.ok{fill:#2e7d32}"
    "svg .bar.behind{fill:#e65100}svg .target{stroke:#b71c1c;stroke-width:2;stroke-dasharray:3 2}"
    "p.meta{color:#555}ul.notes{color:#444;font-size:.9em}";

int
report_write_html(FILE *f, const struct report *r, enum report_lang l)
{
    fprintf(f,
            "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
            l == REPORT_EN ? "en" : "vi");
    html_text(f, report_label(l, RL_TITLE));
    fprintf(f, " %d: ", r->year);
    html_text(f, r->unit_name);
    fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>", html_css);
    html_text(f, report_label(l, RL_TITLE));
    fprintf(f, " %s %d: ", report_label(l, RL_YEAR), r->year);
    html_text(f, r->unit);
    fputc(' ', f);
    html_text(f, r->unit_name);
    fputs("</h1>\n<p class=\"meta\">", f);
    html_text(f, report_label(l, RL_AS_OF));
    fprintf(f, " %s</p>\n", r->as_of);

    /* Results per unit and group. */
    fputs("<h2>", f);
    html_text(f, report_label(l, RL_RESULTS));
    fputs("</h2>\n<table>\n<tr>", f);
    static const enum report_label head[] = {RL_UNIT,     RL_GROUP,  RL_REGISTERED,
                                             RL_ASSESSED, RL_PASSED, RL_SHARE};
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++) {
        fputs("<th>", f);
        html_text(f, report_label(l, head[i]));
        fputs("</th>", f);
    }
    fputs("</tr>\n", f);
    for (size_t i = 0; i < r->nchildren; i++) {
        const struct report_child *c = &r->children[i];
        char title[UNITS_CODE_BUF + 320];
        if (c->self) {
            snprintf(title, sizeof title, "%s %s", c->code, report_label(l, RL_SELF));
        } else {
            snprintf(
                title, sizeof title, "%s %s%s%s%s", c->code, c->name, c->disadvantaged ? " (" : "",
                c->disadvantaged ? report_label(l, RL_DISADV) : "", c->disadvantaged ? ")" : "");
        }
        for (unsigned k = 0; k < r->ngroups; k++) {
            html_counts_row(f, k == 0 ? title : "", report_group_name(l, &r->groups[k]), &c->g[k],
                            l, 0);
        }
        html_counts_row(f, r->ngroups == 0 ? title : "", report_label(l, RL_ALL_GROUPS), &c->all, l,
                        1);
    }
    for (unsigned k = 0; k < r->ngroups; k++) {
        html_counts_row(f, k == 0 ? report_label(l, RL_TOTAL) : "",
                        report_group_name(l, &r->groups[k]), &r->g[k], l, 0);
    }
    html_counts_row(f, r->ngroups == 0 ? report_label(l, RL_TOTAL) : "",
                    report_label(l, RL_ALL_GROUPS), &r->all, l, 1);
    fputs("</table>\n", f);

    /* Targets. */
    fputs("<h2>", f);
    html_text(f, report_label(l, RL_TARGETS));
    fputs("</h2>\n<table>\n<tr>", f);
    static const enum report_label thead[] = {RL_METRIC, RL_PLAN,   RL_MILESTONE,
                                              RL_TARGET, RL_ACTUAL, RL_STATE};
    for (size_t i = 0; i < sizeof thead / sizeof thead[0]; i++) {
        fputs("<th>", f);
        html_text(f, report_label(l, thead[i]));
        fputs("</th>", f);
    }
    fputs("</tr>\n", f);
    for (int m = 0; m < REPORT_METRICS; m++) {
        const struct report_ratio *v = &r->m[m];
        int64_t pm = report_permille(v->num, v->den);
        char actual[96], pct[REPORT_PCT_BUF];
        report_pct(pct, pm);
        if (pm >= 0) {
            snprintf(actual, sizeof actual, "%s%% (%lld/%lld)", pct, (long long)v->num,
                     (long long)v->den);
        } else {
            snprintf(actual, sizeof actual, "%s", report_label(l, RL_NO_DATA));
        }
        int any = 0;
        for (size_t i = 0; i < r->ntargets; i++) {
            const struct report_target *t = &r->targets[i];
            if (t->metric != (enum report_metric)m) {
                continue;
            }
            char plan[REPORT_PLAN_BUF + 32], ms[16], tp[16];
            snprintf(plan, sizeof plan, "%s (%s)", t->plan, report_level_label(l, t->level));
            snprintf(ms, sizeof ms, "%d", t->milestone);
            snprintf(tp, sizeof tp, "%d%%", t->pct);
            enum report_state s = report_target_state(t, v);
            fputs("<tr>", f);
            html_td(f, any ? "" : report_metric_label(l, (enum report_metric)m), 0);
            html_td(f, plan, 0);
            html_td(f, ms, 1);
            html_td(f, tp, 1);
            html_td(f, actual, 1);
            fprintf(f, "<td class=\"%s\">",
                    s == REPORT_ON_TRACK ? "on_track"
                    : s == REPORT_BEHIND ? "behind"
                                         : "no_data");
            html_text(f, report_state_label(l, s));
            fputs("</td></tr>\n", f);
            any = 1;
        }
        if (!any) {
            fputs("<tr>", f);
            html_td(f, report_metric_label(l, (enum report_metric)m), 0);
            html_td(f, report_label(l, RL_NO_PLAN), 0);
            html_td(f, "", 1);
            html_td(f, "", 1);
            html_td(f, actual, 1);
            html_td(f, "", 0);
            fputs("</tr>\n", f);
        }
    }
    fputs("</table>\n", f);

    /* Charts per child unit. */
    fputs("<h2>", f);
    html_text(f, report_label(l, RL_CHARTS));
    fputs("</h2>\n", f);
    struct html_bar *bars =
        calloc(r->nchildren > REPORT_YEARS_MAX ? r->nchildren : REPORT_YEARS_MAX, sizeof *bars);
    if (bars == NULL) {
        return -1;
    }
    for (size_t i = 0; i < r->nchildren; i++) {
        html_child_label(r, &r->children[i], l, &bars[i]);
        bars[i].permille =
            report_permille(r->children[i].all.passed, r->children[i].all.registered);
        bars[i].target_pct = -1;
    }
    html_chart(f, report_label(l, RL_CHART_SHARE), bars, r->nchildren, l);
    for (int m = REPORT_M_FAMILY_ADULTS; m < REPORT_METRICS; m++) {
        const struct report_target *t = html_nearest(r, (enum report_metric)m);
        char title[512];
        snprintf(title, sizeof title, "%s%s%s%s", report_metric_label(l, (enum report_metric)m),
                 t != NULL ? " (" : "", t != NULL ? t->plan : "", t != NULL ? ")" : "");
        for (size_t i = 0; i < r->nchildren; i++) {
            const struct report_ratio *v = &r->children[i].m[m];
            bars[i].permille = report_permille(v->num, v->den);
            bars[i].target_pct = t != NULL ? t->pct : -1;
        }
        html_chart(f, title, bars, r->nchildren, l);
    }
    /* Per year, when several years have data: the whole unit's share and metrics. The target
     * line is the nearest plan's milestone as of the report's year. */
    if (r->nyears > 1) {
        fputs("<h2>", f);
        html_text(f, report_label(l, RL_CHART_YEARS));
        fputs("</h2>\n", f);
        for (int m = -1; m < REPORT_METRICS; m++) {
            if (m == REPORT_M_TRAINED) {
                continue;
            }
            const struct report_target *t = m >= 0 ? html_nearest(r, (enum report_metric)m) : NULL;
            for (unsigned i = 0; i < r->nyears; i++) {
                const struct report_year *y = &r->years[i];
                snprintf(bars[i].label_buf, sizeof bars[i].label_buf, "%d", y->year);
                bars[i].label = bars[i].label_buf;
                bars[i].permille = m < 0 ? report_permille(y->all.passed, y->all.registered)
                                         : report_permille(y->m[m].num, y->m[m].den);
                bars[i].target_pct = t != NULL ? t->pct : -1;
            }
            html_chart(f,
                       m < 0 ? report_label(l, RL_SHARE)
                             : report_metric_label(l, (enum report_metric)m),
                       bars, r->nyears, l);
        }
    }
    free(bars);

    fputs("<h2>", f);
    html_text(f, report_label(l, RL_NOTES));
    fputs("</h2>\n<ul class=\"notes\">\n", f);
    static const enum report_label notes[] = {RL_NOTE_SHARE,    RL_NOTE_FAMILY, RL_NOTE_UNIT,
                                              RL_NOTE_DIGITAL,  RL_NOTE_PROF,   RL_NOTE_TRAINED,
                                              RL_NOTE_COLLATION};
    for (size_t i = 0; i < sizeof notes / sizeof notes[0]; i++) {
        fputs("<li>", f);
        html_text(f, report_label(l, notes[i]));
        fputs("</li>\n", f);
    }
    if (r->outside > 0) {
        fprintf(f, "<li>%lld ", (long long)r->outside);
        html_text(f, report_label(l, RL_NOTE_OUTSIDE));
        fputs("</li>\n", f);
    }
    fputs("</ul>\n</body>\n</html>\n", f);
    return ferror(f) ? -1 : 0;
}
