/*
 * The formats of the Learning Citizen report (node/report_text.c: table, csv, json and the labels;
 * node/report_html.c: html). They format a struct report and compute nothing, so every format
 * prints the same digits; they are in the library so that the unit test checks each of them.
 */
#ifndef CDHT_REPORT_FMT_H
#define CDHT_REPORT_FMT_H

#include <stdint.h>
#include <stdio.h>

#include "report.h"

enum report_lang { REPORT_VI = 0, REPORT_EN = 1 };

enum report_label {
    RL_TITLE,
    RL_YEAR,
    RL_AS_OF,
    RL_UNIT,
    RL_GROUP,
    RL_REGISTERED,
    RL_ASSESSED,
    RL_PASSED,
    RL_SHARE,
    RL_TOTAL,
    RL_ALL_GROUPS,
    RL_SELF,
    RL_DISADV,
    RL_RESULTS,
    RL_TARGETS,
    RL_PLAN,
    RL_LEVEL,
    RL_METRIC,
    RL_MILESTONE,
    RL_TARGET,
    RL_ACTUAL,
    RL_STATE,
    RL_NO_DATA,
    RL_NO_PLAN,
    RL_CHARTS,
    RL_CHART_SHARE,
    RL_CHART_YEARS,
    RL_NOTES,
    RL_NOTE_SHARE,
    RL_NOTE_FAMILY,
    RL_NOTE_UNIT,
    RL_NOTE_DIGITAL,
    RL_NOTE_PROF,
    RL_NOTE_TRAINED,
    RL_NOTE_OUTSIDE,
    RL_NOTE_COLLATION,
    RL_COUNT
};

const char *report_label(enum report_lang l, enum report_label k);
const char *report_metric_label(enum report_lang l, enum report_metric m);
const char *report_state_label(enum report_lang l, enum report_state s);
const char *report_level_label(enum report_lang l, const char *level);
const char *report_group_name(enum report_lang l, const struct report_group *g);

/* "33.3" for 333 per mille; "" for -1 (no data). */
#define REPORT_PCT_BUF 24u
void report_pct(char out[REPORT_PCT_BUF], int64_t permille);

enum report_format { REPORT_FMT_TABLE, REPORT_FMT_CSV, REPORT_FMT_JSON, REPORT_FMT_HTML };
/* Writes r to f in fmt with labels in l. Returns 0, or -1 when f reports a write error. */
int report_write(FILE *f, const struct report *r, enum report_format fmt, enum report_lang l);

/* Writes the self-contained HTML report (inline CSS and SVG, no script, no external reference).
 * Returns 0, or -1 when f reports a write error. */
int report_write_html(FILE *f, const struct report *r, enum report_lang l);
int report_write_xlsx(const char *path, const struct report *r, enum report_lang l);

#endif
