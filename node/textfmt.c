/*
 * JSON strings and CSV cells (textfmt.h).
 */
#include "textfmt.h"

#include <string.h>

void
textfmt_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20) {
                fprintf(f, "\\u%04x", *p);
            } else {
                fputc(*p, f);
            }
        }
    }
    fputc('"', f);
}

void
textfmt_csv_str(FILE *f, const char *s)
{
    /* A cell a spreadsheet would read as a formula gets a leading apostrophe (the usual
     * defence against CSV injection); names never start with these characters. */
    if (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@') {
        fputc('\'', f);
    }
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (const char *p = s; *p; p++) {
        if (*p == '"') {
            fputc('"', f);
        }
        fputc(*p, f);
    }
    fputc('"', f);
}
