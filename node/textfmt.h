/*
 * Quoting for the machine-readable outputs the commands and the report write: a JSON string
 * (RFC 8259: quotes, backslashes and control characters escaped; UTF-8 passed through) and a CSV
 * cell (RFC 4180: quoted when it holds a comma, a quote or a line break; a cell a spreadsheet
 * would read as a formula gets a leading apostrophe). One copy, so that `cdht ... --format
 * csv|json` and `cdht report` quote the same way.
 */
#ifndef CDHT_TEXTFMT_H
#define CDHT_TEXTFMT_H

#include <stdio.h>

void textfmt_json_str(FILE *f, const char *s);
void textfmt_csv_str(FILE *f, const char *s);

#endif
