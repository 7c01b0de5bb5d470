/*
 * `cdht import` of person lists (importer.h). Pass 1 turns each sheet row into a checked record
 * (domain.c's rules: NFC names, birth year range, gender, unit exists, target group, CCCD
 * shape) or into listed problems; pass 2 matches every good record to a person already held
 * (Mã người, else citizen-id hash, else NFC name + birth year + unit), reports rows that name
 * the same person twice, and diffs against what is held so that only changed cells are put.
 * All leaves of one import share one SQLite transaction (replica_batch_*): all or nothing.
 * Reasons are static sentences or name only headers, line numbers and unit codes, never a
 * name or a citizen id.
 */
#include "importer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sys/stat.h>
#include <utf8proc.h>

#include "domain.h"
#include "replica.h"
#include "store.h"

const struct importer_header importer_headers[IMPORT_COL_COUNT] = {
    [IMPORT_COL_STT] = {"STT", "row number", 0, "anything (ignored)"},
    [IMPORT_COL_NAME] = {"Họ và tên", "full name", 1, "the full name, any Unicode form"},
    [IMPORT_COL_YEAR] = {"Năm sinh", "birth year", 1, "four digits, 1900 to this year"},
    [IMPORT_COL_GENDER] = {"Giới tính", "gender", 1, "Nam, Nữ (or male, female)"},
    [IMPORT_COL_UNIT] = {"Mã đơn vị", "unit code", 1, "a unit code held (cdht unit list)"},
    [IMPORT_COL_GROUP] = {"Nhóm đối tượng", "target group", 0,
                          "Nông dân, Công nhân, Cán bộ (or farmer, worker, official); empty"},
    [IMPORT_COL_CID] = {"Số CCCD", "citizen id (CCCD)", 0, "12 digits; empty"},
    [IMPORT_COL_ID] = {"Mã người", "cdht person id", 0, "an id from cdht person list; empty"},
};

/* Folded header spellings accepted for each column: the template's, then common variants. */
static const struct {
    const char *folded;
    enum importer_col col;
} importer_vi[] = {
    {"stt", IMPORT_COL_STT},
    {"ho va ten", IMPORT_COL_NAME},
    {"ho ten", IMPORT_COL_NAME},
    {"nam sinh", IMPORT_COL_YEAR},
    {"gioi tinh", IMPORT_COL_GENDER},
    {"ma don vi", IMPORT_COL_UNIT},
    {"nhom doi tuong", IMPORT_COL_GROUP},
    {"doi tuong", IMPORT_COL_GROUP},
    {"so cccd", IMPORT_COL_CID},
    {"cccd", IMPORT_COL_CID},
    {"so can cuoc cong dan", IMPORT_COL_CID},
    {"ma nguoi", IMPORT_COL_ID},
};

/* English headers are refused, naming the Vietnamese one: a sheet made from an English export
 * must be relabelled rather than silently accepted, so that every branch's file is the same. */
static const struct {
    const char *folded;
    enum importer_col col;
} importer_en[] = {
    {"name", IMPORT_COL_NAME},          {"full name", IMPORT_COL_NAME},
    {"birth year", IMPORT_COL_YEAR},    {"year of birth", IMPORT_COL_YEAR},
    {"birth_year", IMPORT_COL_YEAR},    {"year", IMPORT_COL_YEAR},
    {"gender", IMPORT_COL_GENDER},      {"sex", IMPORT_COL_GENDER},
    {"unit", IMPORT_COL_UNIT},          {"unit code", IMPORT_COL_UNIT},
    {"group", IMPORT_COL_GROUP},        {"target group", IMPORT_COL_GROUP},
    {"target_group", IMPORT_COL_GROUP}, {"citizen id", IMPORT_COL_CID},
    {"citizen_id", IMPORT_COL_CID},     {"national id", IMPORT_COL_CID},
    {"id", IMPORT_COL_ID},              {"person id", IMPORT_COL_ID},
    {"no", IMPORT_COL_STT},             {"no.", IMPORT_COL_STT},
};

/* ---- Folding --------------------------------------------------------------------------- */

int
importer_fold(const char *s, char *out, size_t cap)
{
    ASSERT(cap > 0);
    utf8proc_uint8_t *m = NULL;
    utf8proc_ssize_t n =
        utf8proc_map((const utf8proc_uint8_t *)s, 0, &m,
                     UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT |
                         UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK);
    if (n < 0) {
        return -1;
    }
    size_t k = 0;
    int space = 0;
    for (utf8proc_ssize_t i = 0; i < n; i++) {
        unsigned char b = m[i];
        const char *put = NULL;
        char one[2] = {(char)b, 0};
        size_t put_len = 1;
        if (b == ' ' || b == '\t' || b == '\r' || b == '\n') {
            space = k > 0;
            continue;
        }
        /* U+0111 đ (and Đ, casefolded to it) has no decomposition: it is its own letter. */
        if (b == 0xc4 && i + 1 < n && m[i + 1] == 0x91) {
            put = "d";
            i++;
        } else {
            put = one;
        }
        if (k + (size_t)space + put_len + 1 > cap) {
            free(m);
            return -1;
        }
        if (space) {
            out[k++] = ' ';
            space = 0;
        }
        out[k++] = put[0];
    }
    out[k] = '\0';
    free(m);
    return 0;
}

/* ---- A small open-addressing map: byte-string key -> long (keys are borrowed) ------------ */

struct imap_slot {
    const char *key; /* borrowed; NULL: empty */
    size_t klen;
    long val;
};

struct imap {
    struct imap_slot *slots; /* owned */
    size_t cap, n;           /* cap a power of two, n <= cap / 2 */
};

static uint64_t
imap_hash(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)k[i]) * 1099511628211ull;
    }
    return h ^ (h >> 29);
}

static err_code
imap_init(struct imap *m, size_t expect)
{
    size_t cap = 64;
    while (cap < expect * 2 + 2) {
        cap *= 2;
    }
    m->slots = calloc(cap, sizeof *m->slots);
    m->cap = cap;
    m->n = 0;
    return m->slots ? ERR_OK : ERR_NOMEM;
}

static void
imap_release(struct imap *m)
{
    free(m->slots);
    m->slots = NULL;
}

/* The slot for key: found (key set) or where it would go. */
static struct imap_slot *
imap_slot(const struct imap *m, const char *k, size_t n)
{
    size_t i = imap_hash(k, n) & (m->cap - 1);
    /* n <= cap / 2, so an empty slot exists within cap probes. */
    for (size_t probe = 0; probe < m->cap; probe++) {
        struct imap_slot *s = &m->slots[i];
        if (s->key == NULL || (s->klen == n && memcmp(s->key, k, n) == 0)) {
            return s;
        }
        i = (i + 1) & (m->cap - 1);
    }
    assert_fail("imap has an empty slot", __FILE__, __LINE__);
}

static long
imap_get(const struct imap *m, const char *k, size_t n, long missing)
{
    const struct imap_slot *s = imap_slot(m, k, n);
    return s->key ? s->val : missing;
}

/* Sets key -> val; returns the slot so that callers may look at a previous value first. */
static err_code
imap_put(struct imap *m, const char *k, size_t n, long val)
{
    struct imap_slot *s = imap_slot(m, k, n);
    if (s->key != NULL) {
        s->val = val;
        return ERR_OK;
    }
    if ((m->n + 1) * 2 > m->cap) {
        struct imap bigger;
        if (imap_init(&bigger, m->cap) != ERR_OK) {
            return ERR_NOMEM;
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (m->slots[i].key != NULL) {
                *imap_slot(&bigger, m->slots[i].key, m->slots[i].klen) = m->slots[i];
                bigger.n++;
            }
        }
        imap_release(m);
        *m = bigger;
        s = imap_slot(m, k, n);
    }
    *s = (struct imap_slot){.key = k, .klen = n, .val = val};
    m->n++;
    return ERR_OK;
}

/* ---- Records --------------------------------------------------------------------------- */

/* One data row after pass 1. Strings are owned. */
struct importer_rec {
    unsigned long line;
    char *name;  /* NFC */
    char *key;   /* name \x1f year \x1f unit: the second way to recognise a person */
    size_t key_len;
    int64_t year;
    enum domain_gender gender;
    char unit[UNIT_CODE_SIZE_MAX + 1];
    const char *group; /* static, or NULL: not given */
    char id[REPLICA_ID_SIZE + 1]; /* Mã người, or "" */
    int has_cid;
    uint8_t cid[HASH_SIZE];
    int bad;
    long match; /* index in people, or -1: a new person */
};

/* One live person held, loaded for matching. Strings are owned. */
struct importer_person {
    char id[REPLICA_ID_SIZE + 1];
    char *name, *unit, *group, *key;
    size_t key_len;
    int64_t year;
    int gender; /* enum domain_gender, -1 unknown */
    int has_cid;
    uint8_t cid[HASH_SIZE];
    unsigned long claimed; /* the file line that matched it, 0: none */
};

struct importer_bad_entry {
    unsigned long line;
    unsigned seq; /* order of discovery within a line */
    char *text;   /* owned */
};

struct importer {
    struct replica *r;
    const struct importer_opts *o;
    struct importer_result *res;
    int have_header;
    int col_of[SHEET_CELLS_MAX]; /* file column -> enum importer_col, -1 ignored */
    size_t ncols;
    int present[IMPORT_COL_COUNT];
    int header_bad;
    struct imap units; /* live unit codes -> 1 (keys owned by unit_codes) */
    char **unit_codes;
    size_t n_units;
    struct importer_rec *recs; /* owned */
    size_t n_recs, cap_recs;
    struct importer_bad_entry *bad; /* owned */
    size_t n_bad, cap_bad;
    unsigned long bad_line; /* the line of the last bad entry, for seq */
    unsigned bad_seq;
};

static err_code
importer_bad(struct importer *im, unsigned long line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Records one problem: line, the column's template header (col >= 0), none (col -1), or a
 * header that is not ours by its 1-based position p (col = -1 - p). */
static err_code
importer_bad(struct importer *im, unsigned long line, int col, const char *fmt, ...)
{
    if (im->n_bad >= IMPORT_BAD_LISTED_MAX) {
        im->res->n_bad_unlisted++;
        return ERR_OK;
    }
    if (im->n_bad == im->cap_bad) {
        size_t cap = im->cap_bad ? im->cap_bad * 2 : 64;
        struct importer_bad_entry *b = realloc(im->bad, cap * sizeof *b);
        if (b == NULL) {
            return ERR_NOMEM;
        }
        im->bad = b;
        im->cap_bad = cap;
    }
    char reason[SHEET_WHY_SIZE], text[SHEET_WHY_SIZE + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (col >= 0) {
        snprintf(text, sizeof text, "line %lu, column \"%s\": %s", line, importer_headers[col].vi,
                 reason);
    } else if (col <= -2) {
        snprintf(text, sizeof text, "line %lu, column %d: %s", line, -1 - col, reason);
    } else {
        snprintf(text, sizeof text, "line %lu: %s", line, reason);
    }
    char *t = strdup(text);
    if (t == NULL) {
        return ERR_NOMEM;
    }
    im->bad_seq = line == im->bad_line ? im->bad_seq + 1 : 0;
    im->bad_line = line;
    im->bad[im->n_bad++] = (struct importer_bad_entry){.line = line, .seq = im->bad_seq, .text = t};
    return ERR_OK;
}

/* A header's problem, by column position (a header that is not ours has no template name). */
static err_code
importer_bad_header(struct importer *im, unsigned long line, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static err_code
importer_bad_header(struct importer *im, unsigned long line, size_t pos, const char *fmt, ...)
{
    char reason[SHEET_WHY_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    im->header_bad = 1;
    return importer_bad(im, line, -2 - (int)pos, "%s", reason);
}

/* Text of a header safe to repeat: no digits (a headerless file's first row may be a person's
 * citizen id), at most 40 bytes. */
static int
importer_header_echoable(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 40) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if ((s[i] >= '0' && s[i] <= '9') || s[i] == '"') {
            return 0;
        }
    }
    return 1;
}

static err_code
importer_header(struct importer *im, const struct sheet_row *row)
{
    err_code rc = ERR_OK;
    im->ncols = row->n;
    for (size_t i = 0; i < row->n && rc == ERR_OK; i++) {
        char f[128];
        im->col_of[i] = -1;
        if (row->cells[i][0] == '\0') {
            continue; /* an unlabelled column: its cells must stay empty (checked per row) */
        }
        if (importer_fold(row->cells[i], f, sizeof f) != 0) {
            rc = importer_bad_header(im, row->line, i, "not a template column (headers are "
                                     "Vietnamese; cdht template writes one)");
            continue;
        }
        int col = -1;
        for (size_t k = 0; k < sizeof importer_vi / sizeof importer_vi[0]; k++) {
            if (strcmp(f, importer_vi[k].folded) == 0) {
                col = (int)importer_vi[k].col;
            }
        }
        if (col < 0) {
            int en = -1;
            for (size_t k = 0; k < sizeof importer_en / sizeof importer_en[0]; k++) {
                if (strcmp(f, importer_en[k].folded) == 0) {
                    en = (int)importer_en[k].col;
                }
            }
            const char *shown = importer_header_echoable(row->cells[i]) ? row->cells[i] : NULL;
            if (en >= 0) {
                rc = importer_bad_header(im, row->line, i, "\"%s\" is an English header; the "
                                         "template's is \"%s\" (cdht template writes one)",
                                         shown ? shown : "?", importer_headers[en].vi);
            } else if (shown != NULL) {
                rc = importer_bad_header(im, row->line, i, "\"%s\" is not a template column "
                                         "(headers are Vietnamese; cdht template writes one)",
                                         shown);
            } else {
                rc = importer_bad_header(im, row->line, i, "not a template column (headers are "
                                         "Vietnamese; cdht template writes one)");
            }
            continue;
        }
        if (im->present[col]) {
            rc = importer_bad_header(im, row->line, i, "\"%s\" appears twice",
                                     importer_headers[col].vi);
            continue;
        }
        im->present[col] = 1;
        im->col_of[i] = col;
    }
    for (int c = 0; c < IMPORT_COL_COUNT && rc == ERR_OK; c++) {
        if (importer_headers[c].required && !im->present[c]) {
            im->header_bad = 1;
            rc = importer_bad(im, row->line, c, "missing: the column is required");
        }
    }
    return rc;
}

static const char *
importer_trim(const char *s, char *buf, size_t cap)
{
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n')) {
        n--;
    }
    if (n >= cap) {
        n = cap - 1; /* longer values are refused by the checks that read them */
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    return buf;
}

static int
importer_gender(const char *v, enum domain_gender *g)
{
    /* Exact spellings first: the common case needs no folding. */
    if (strcmp(v, "Nam") == 0 || strcmp(v, "male") == 0) {
        *g = DOMAIN_GENDER_MALE;
        return 0;
    }
    if (strcmp(v, "Nữ") == 0 || strcmp(v, "female") == 0) {
        *g = DOMAIN_GENDER_FEMALE;
        return 0;
    }
    char f[32];
    if (importer_fold(v, f, sizeof f) != 0) {
        return -1;
    }
    if (strcmp(f, "nam") == 0 || strcmp(f, "male") == 0) {
        *g = DOMAIN_GENDER_MALE;
        return 0;
    }
    if (strcmp(f, "nu") == 0 || strcmp(f, "female") == 0) {
        *g = DOMAIN_GENDER_FEMALE;
        return 0;
    }
    return -1;
}

static const char *
importer_group(const char *v)
{
    static const struct {
        const char *folded, *code;
    } groups[] = {
        {"nong dan", "farmer"}, {"farmer", "farmer"},     {"cong nhan", "worker"},
        {"worker", "worker"},   {"can bo", "official"},   {"official", "official"},
    };
    char f[64];
    if (importer_fold(v, f, sizeof f) != 0) {
        return NULL;
    }
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        if (strcmp(f, groups[i].folded) == 0) {
            return groups[i].code;
        }
    }
    return NULL;
}

static int
importer_id_ok(const char *s)
{
    if (strlen(s) != REPLICA_ID_SIZE) {
        return 0;
    }
    for (const char *p = s; *p; p++) {
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z'))) {
            return 0;
        }
    }
    return 1;
}

/* Pass 1 for one data row: a record, good or bad, and its problems listed. */
static err_code
importer_data(struct importer *im, const struct sheet_row *row)
{
    err_code rc = ERR_OK;
    const char *v[IMPORT_COL_COUNT] = {0};
    uint8_t numeric[IMPORT_COL_COUNT] = {0};
    char tb[IMPORT_COL_COUNT][PERSON_NAME_SIZE_MAX * 4 + 1];
    int any = 0, stray = 0;
    for (size_t i = 0; i < row->n; i++) {
        any |= row->cells[i][0] != '\0';
    }
    if (!any) {
        return ERR_OK; /* a wholly empty row: spreadsheets leave them; not a person */
    }
    im->res->rows++;
    for (size_t i = 0; i < row->n; i++) {
        int c = i < im->ncols ? im->col_of[i] : -1;
        if (c < 0) {
            stray |= row->cells[i][0] != '\0';
            continue;
        }
        v[c] = importer_trim(row->cells[i], tb[c], sizeof tb[c]);
        numeric[c] = row->numeric[i];
    }
    if (im->n_recs == im->cap_recs) {
        size_t cap = im->cap_recs ? im->cap_recs * 2 : 1024;
        struct importer_rec *recs = realloc(im->recs, cap * sizeof *recs);
        if (recs == NULL) {
            return ERR_NOMEM;
        }
        im->recs = recs;
        im->cap_recs = cap;
    }
    struct importer_rec *rec = &im->recs[im->n_recs++];
    memset(rec, 0, sizeof *rec);
    rec->line = row->line;
    rec->match = -1;
    unsigned long ln = row->line;
    const char *why = NULL;
#define BAD(col, ...)                                                                              \
    do {                                                                                           \
        rec->bad = 1;                                                                              \
        if ((rc = importer_bad(im, ln, (col), __VA_ARGS__)) != ERR_OK) {                           \
            return rc;                                                                             \
        }                                                                                          \
    } while (0)
    if (stray) {
        BAD(-1, "a value in a column without a template header");
    }
    for (int c = 0; c < IMPORT_COL_COUNT; c++) {
        if (importer_headers[c].required && (v[c] == NULL || v[c][0] == '\0')) {
            BAD(c, "empty: the column is required");
        }
    }
    if (v[IMPORT_COL_NAME] && v[IMPORT_COL_NAME][0]) {
        rc = domain_name_normalize(v[IMPORT_COL_NAME], PERSON_NAME_SIZE_MAX, &rec->name, &why);
        if (rc == ERR_NOMEM) {
            return rc;
        }
        rc = ERR_OK;
        if (rec->name == NULL) {
            BAD(IMPORT_COL_NAME, "%s", why);
        }
    }
    int year_ok = 0, gender_ok = 0;
    if (v[IMPORT_COL_YEAR] && v[IMPORT_COL_YEAR][0]) {
        const char *y = v[IMPORT_COL_YEAR];
        int digits = strlen(y) == 4;
        for (int i = 0; i < 4 && digits; i++) {
            digits = y[i] >= '0' && y[i] <= '9';
        }
        if (!digits) {
            BAD(IMPORT_COL_YEAR, "must be a year of four digits, such as 1985");
        } else {
            rec->year = strtol(y, NULL, 10);
            if (domain_birth_year_check((long)rec->year, im->o->current_year, &why) != ERR_OK) {
                BAD(IMPORT_COL_YEAR, "%s", why);
            } else {
                year_ok = 1;
            }
        }
    }
    if (v[IMPORT_COL_GENDER] && v[IMPORT_COL_GENDER][0]) {
        if (importer_gender(v[IMPORT_COL_GENDER], &rec->gender) != 0) {
            BAD(IMPORT_COL_GENDER, "must be Nam or Nữ");
        } else {
            gender_ok = 1;
        }
    }
    if (v[IMPORT_COL_UNIT] && v[IMPORT_COL_UNIT][0]) {
        const char *u = v[IMPORT_COL_UNIT];
        if (domain_unit_code_check(u, &why) != ERR_OK) {
            BAD(IMPORT_COL_UNIT, "%s", why);
        } else if (imap_get(&im->units, u, strlen(u), 0) != 1) {
            BAD(IMPORT_COL_UNIT, "unknown unit %s (cdht unit list shows them)", u);
        } else {
            snprintf(rec->unit, sizeof rec->unit, "%s", u);
        }
    }
    if (v[IMPORT_COL_GROUP] && v[IMPORT_COL_GROUP][0] &&
        (rec->group = importer_group(v[IMPORT_COL_GROUP])) == NULL) {
        BAD(IMPORT_COL_GROUP, "must be Nông dân, Công nhân or Cán bộ");
    }
    if (v[IMPORT_COL_CID] && v[IMPORT_COL_CID][0]) {
        /* Spaces typed to group the digits are dropped; a numeric XLSX cell lost its leading
         * zeros (almost every code starts with 0), so it is padded back to 12 digits. */
        char d[DOMAIN_CITIZEN_ID_DIGITS + 2];
        size_t k = 0;
        int digits = 1, toolong = 0;
        for (const char *p = v[IMPORT_COL_CID]; *p; p++) {
            if (*p == ' ') {
                continue;
            }
            digits &= *p >= '0' && *p <= '9';
            if (k < DOMAIN_CITIZEN_ID_DIGITS + 1) {
                d[k++] = *p;
            } else {
                toolong = 1;
            }
        }
        d[k] = '\0';
        if (numeric[IMPORT_COL_CID] && digits && !toolong && k < DOMAIN_CITIZEN_ID_DIGITS &&
            k >= 7) {
            size_t pad = DOMAIN_CITIZEN_ID_DIGITS - k;
            memmove(d + pad, d, k + 1);
            memset(d, '0', pad);
            k = DOMAIN_CITIZEN_ID_DIGITS;
        }
        if (digits && !toolong && k == DOMAIN_CITIZEN_ID_DIGITS - 1) {
            BAD(IMPORT_COL_CID, "citizen id must be 12 digits (11 given: the spreadsheet may "
                                "have dropped a leading 0; format the column as Text)");
        } else if (!year_ok || !gender_ok) {
            /* The digits encode birth year and gender: nothing to check them against. Those
             * columns' problems are listed already. */
        } else if (domain_citizen_id_check(d, (long)rec->year, rec->gender, &why) != ERR_OK) {
            BAD(IMPORT_COL_CID, "%s", why);
        } else {
            domain_citizen_id_hash(im->r->cid_key, d, rec->cid);
            rec->has_cid = 1;
        }
        sodium_memzero(d, sizeof d); /* the digits are personal data */
    }
    if (v[IMPORT_COL_ID] && v[IMPORT_COL_ID][0]) {
        if (!importer_id_ok(v[IMPORT_COL_ID])) {
            BAD(IMPORT_COL_ID, "not a person id (16 characters; cdht person list shows them)");
        } else {
            memcpy(rec->id, v[IMPORT_COL_ID], REPLICA_ID_SIZE + 1);
        }
    }
#undef BAD
    if (!rec->bad) {
        char k[PERSON_NAME_SIZE_MAX + UNIT_CODE_SIZE_MAX + 16];
        int n = snprintf(k, sizeof k, "%s\x1f%lld\x1f%s", rec->name, (long long)rec->year,
                         rec->unit);
        ASSERT(n > 0 && (size_t)n < sizeof k);
        if ((rec->key = strdup(k)) == NULL) {
            return ERR_NOMEM;
        }
        rec->key_len = (size_t)n;
    }
    return ERR_OK;
}

static err_code
importer_row_cb(void *ctx, const struct sheet_row *row)
{
    struct importer *im = ctx;
    if (!im->have_header) {
        int any = 0;
        for (size_t i = 0; i < row->n; i++) {
            any |= row->cells[i][0] != '\0';
        }
        if (!any) {
            return ERR_OK; /* blank rows above the header */
        }
        im->have_header = 1;
        err_code rc = importer_header(im, row);
        /* With a header that does not match, the rows cannot be read: stop here. */
        return rc != ERR_OK ? rc : im->header_bad ? ERR_INVAL : ERR_OK;
    }
    return importer_data(im, row);
}

/* ---- Pass 2 ---------------------------------------------------------------------------- */

static err_code
importer_load_units(struct importer *im)
{
    sqlite3_stmt *s = store_stmt(im->r->st, "SELECT code FROM unit WHERE _live");
    if (s == NULL) {
        return ERR_DB;
    }
    int rc;
    err_code e = ERR_OK;
    while (e == ERR_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *code = (const char *)sqlite3_column_text(s, 0);
        if (code == NULL) {
            continue;
        }
        if (im->n_units % 256 == 0) {
            char **u = realloc(im->unit_codes, (im->n_units + 256) * sizeof *u);
            if (u == NULL) {
                e = ERR_NOMEM;
                break;
            }
            im->unit_codes = u;
        }
        char *c = strdup(code);
        if (c == NULL) {
            e = ERR_NOMEM;
            break;
        }
        im->unit_codes[im->n_units++] = c;
        e = imap_put(&im->units, c, strlen(c), 1);
    }
    sqlite3_reset(s);
    return e != ERR_OK ? e : rc == SQLITE_DONE ? ERR_OK : ERR_DB;
}

struct importer_people {
    struct importer_person *p; /* owned */
    size_t n, cap;
    struct imap by_id, by_cid, by_key; /* by_key: index, or -2 when two people share the key */
};

static void
importer_people_release(struct importer_people *pp)
{
    for (size_t i = 0; i < pp->n; i++) {
        free(pp->p[i].name);
        free(pp->p[i].unit);
        free(pp->p[i].group);
        free(pp->p[i].key);
    }
    free(pp->p);
    imap_release(&pp->by_id);
    imap_release(&pp->by_cid);
    imap_release(&pp->by_key);
}

static char *
importer_col_dup(sqlite3_stmt *s, int i)
{
    const char *t = (const char *)sqlite3_column_text(s, i);
    return t ? strdup(t) : NULL;
}

/* One scan of the live people, keeping those the file can match: in one of its units, with
 * one of its citizen-id hashes, or named by id. The rest (a province's other communes) is not
 * held in memory. */
static err_code
importer_load_people(struct importer *im, struct importer_people *pp)
{
    struct imap units, cids, ids;
    err_code e = ERR_OK;
    if ((e = imap_init(&units, 64)) != ERR_OK || (e = imap_init(&cids, im->n_recs)) != ERR_OK ||
        (e = imap_init(&ids, 64)) != ERR_OK) {
        return e; /* small leaks of the maps made so far are not possible: init frees nothing */
    }
    for (size_t i = 0; i < im->n_recs && e == ERR_OK; i++) {
        const struct importer_rec *rec = &im->recs[i];
        if (rec->bad) {
            continue;
        }
        e = imap_put(&units, rec->unit, strlen(rec->unit), 1);
        if (e == ERR_OK && rec->has_cid) {
            e = imap_put(&cids, (const char *)rec->cid, HASH_SIZE, 1);
        }
        if (e == ERR_OK && rec->id[0]) {
            e = imap_put(&ids, rec->id, strlen(rec->id), 1);
        }
    }
    sqlite3_stmt *s = store_stmt(im->r->st, "SELECT id, name, birth_year, gender, unit, "
                                            "target_group, cid_hash FROM person WHERE _live");
    int rc = SQLITE_ERROR;
    if (s == NULL) {
        e = e == ERR_OK ? ERR_DB : e;
    }
    while (e == ERR_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(s, 0);
        const char *unit = (const char *)sqlite3_column_text(s, 4);
        const void *cid = sqlite3_column_blob(s, 6);
        int has_cid = cid != NULL && sqlite3_column_bytes(s, 6) == HASH_SIZE;
        if (id == NULL || strlen(id) > REPLICA_ID_SIZE) {
            continue; /* not an id this tool makes: a file cannot name it */
        }
        int want = (unit != NULL && imap_get(&units, unit, strlen(unit), 0)) ||
                   (has_cid && imap_get(&cids, cid, HASH_SIZE, 0)) ||
                   imap_get(&ids, id, strlen(id), 0);
        if (!want) {
            continue;
        }
        if (pp->n == pp->cap) {
            size_t cap = pp->cap ? pp->cap * 2 : 256;
            struct importer_person *p = realloc(pp->p, cap * sizeof *p);
            if (p == NULL) {
                e = ERR_NOMEM;
                break;
            }
            pp->p = p;
            pp->cap = cap;
        }
        struct importer_person *p = &pp->p[pp->n++];
        memset(p, 0, sizeof *p);
        snprintf(p->id, sizeof p->id, "%s", id);
        p->name = importer_col_dup(s, 1);
        p->year = sqlite3_column_type(s, 2) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, 2);
        const char *g = (const char *)sqlite3_column_text(s, 3);
        enum domain_gender ge = DOMAIN_GENDER_MALE;
        p->gender = g != NULL && domain_gender_parse(g, &ge, NULL) == ERR_OK ? (int)ge : -1;
        p->unit = importer_col_dup(s, 4);
        p->group = importer_col_dup(s, 5);
        p->has_cid = has_cid;
        if (has_cid) {
            memcpy(p->cid, cid, HASH_SIZE);
        }
        if (p->name != NULL && p->unit != NULL) {
            char k[PERSON_NAME_SIZE_MAX * 4 + UNIT_CODE_SIZE_MAX * 4 + 32];
            int n = snprintf(k, sizeof k, "%s\x1f%lld\x1f%s", p->name, (long long)p->year,
                             p->unit);
            if (n > 0 && (size_t)n < sizeof k) {
                p->key = strdup(k);
                p->key_len = (size_t)n;
            }
        }
    }
    if (e == ERR_OK && rc != SQLITE_DONE) {
        e = ERR_DB;
    }
    if (s != NULL) {
        sqlite3_reset(s);
    }
    imap_release(&units);
    imap_release(&cids);
    imap_release(&ids);
    if (e != ERR_OK) {
        return e;
    }
    /* The maps point into pp->p, which no longer moves. */
    if ((e = imap_init(&pp->by_id, pp->n)) != ERR_OK || (e = imap_init(&pp->by_cid, pp->n)) != ERR_OK ||
        (e = imap_init(&pp->by_key, pp->n)) != ERR_OK) {
        return e;
    }
    for (size_t i = 0; i < pp->n && e == ERR_OK; i++) {
        struct importer_person *p = &pp->p[i];
        e = imap_put(&pp->by_id, p->id, strlen(p->id), (long)i);
        if (e == ERR_OK && p->has_cid) {
            e = imap_put(&pp->by_cid, (const char *)p->cid, HASH_SIZE, (long)i);
        }
        if (e == ERR_OK && p->key != NULL) {
            long prev = imap_get(&pp->by_key, p->key, p->key_len, -1);
            e = imap_put(&pp->by_key, p->key, p->key_len, prev == -1 ? (long)i : -2);
        }
    }
    return e;
}

static int
importer_same(const struct importer_rec *a, const struct importer_rec *b)
{
    return strcmp(a->name, b->name) == 0 && a->year == b->year && a->gender == b->gender &&
           strcmp(a->unit, b->unit) == 0 &&
           (a->group == b->group || (a->group && b->group && strcmp(a->group, b->group) == 0)) &&
           a->has_cid == b->has_cid && (!a->has_cid || memcmp(a->cid, b->cid, HASH_SIZE) == 0);
}

/* Matches each good record to a person held or to none, and marks rows that name one person
 * twice (the later row is the bad one). */
static err_code
importer_match(struct importer *im, struct importer_people *pp)
{
    struct imap file_cid, file_key;
    err_code e;
    if ((e = imap_init(&file_cid, im->n_recs)) != ERR_OK) {
        return e;
    }
    if ((e = imap_init(&file_key, im->n_recs)) != ERR_OK) {
        imap_release(&file_cid);
        return e;
    }
    for (size_t i = 0; i < im->n_recs && e == ERR_OK; i++) {
        struct importer_rec *rec = &im->recs[i];
        if (rec->bad) {
            continue;
        }
        long m = -1;
        if (rec->id[0]) {
            m = imap_get(&pp->by_id, rec->id, strlen(rec->id), -1);
            if (m < 0) {
                rec->bad = 1;
                e = importer_bad(im, rec->line, IMPORT_COL_ID,
                                 "unknown person id (cdht person list shows them)");
                continue;
            }
        }
        if (m < 0 && rec->has_cid) {
            m = imap_get(&pp->by_cid, (const char *)rec->cid, HASH_SIZE, -1);
        }
        if (m < 0) {
            long k = imap_get(&pp->by_key, rec->key, rec->key_len, -1);
            if (k == -2) {
                rec->bad = 1;
                e = importer_bad(im, rec->line, -1,
                                 "ambiguous: two people held have this name, birth year and "
                                 "unit; add Số CCCD or Mã người");
                continue;
            }
            /* The same name, year and unit but another citizen id is another person. */
            if (k >= 0 && !(rec->has_cid && pp->p[k].has_cid)) {
                m = k;
            }
        }
        if (m >= 0) {
            struct importer_person *p = &pp->p[m];
            if (p->claimed != 0) {
                rec->bad = 1;
                e = importer_bad(im, rec->line, -1, "duplicate row: same person as line %lu",
                                 p->claimed);
                continue;
            }
            if (p->has_cid && !rec->has_cid &&
                (p->year != rec->year || p->gender != (int)rec->gender)) {
                rec->bad = 1;
                e = importer_bad(im, rec->line, IMPORT_COL_CID,
                                 "this person has a citizen id: give it too when Năm sinh or "
                                 "Giới tính change, so that they are checked together");
                continue;
            }
            p->claimed = rec->line;
            rec->match = m;
            continue;
        }
        /* A new person: not the same as an earlier new row. */
        long d = rec->has_cid ? imap_get(&file_cid, (const char *)rec->cid, HASH_SIZE, -1) : -1;
        if (d >= 0) {
            rec->bad = 1;
            e = importer_bad(im, rec->line, -1, "duplicate row: same person as line %lu",
                             im->recs[d].line);
            continue;
        }
        d = imap_get(&file_key, rec->key, rec->key_len, -1);
        if (d >= 0 && !(rec->has_cid && im->recs[d].has_cid)) {
            rec->bad = 1;
            e = importer_same(rec, &im->recs[d])
                    ? importer_bad(im, rec->line, -1, "duplicate row: same person as line %lu",
                                   im->recs[d].line)
                    : importer_bad(im, rec->line, -1,
                                   "ambiguous: same name, birth year and unit as line %lu; add "
                                   "Số CCCD or Mã người",
                                   im->recs[d].line);
            continue;
        }
        if (rec->has_cid) {
            e = imap_put(&file_cid, (const char *)rec->cid, HASH_SIZE, (long)i);
        }
        if (e == ERR_OK && d < 0) {
            e = imap_put(&file_key, rec->key, rec->key_len, (long)i);
        }
    }
    imap_release(&file_cid);
    imap_release(&file_key);
    return e;
}

/* The cells of rec that differ from what is held (all of them for a new person). */
static size_t
importer_diff(const struct importer_rec *rec, const struct importer_person *p,
              struct replica_cell cells[6])
{
    size_t n = 0;
    const char *g = domain_gender_str(rec->gender);
    if (p == NULL || p->name == NULL || strcmp(p->name, rec->name) != 0) {
        cells[n++] = (struct replica_cell){.col = "name", .type = SCHEMA_TEXT, .s = rec->name};
    }
    if (p == NULL || p->year != rec->year) {
        cells[n++] = (struct replica_cell){.col = "birth_year", .type = SCHEMA_INT, .i = rec->year};
    }
    if (p == NULL || p->gender != (int)rec->gender) {
        cells[n++] = (struct replica_cell){.col = "gender", .type = SCHEMA_TEXT, .s = g};
    }
    if (p == NULL || p->unit == NULL || strcmp(p->unit, rec->unit) != 0) {
        cells[n++] = (struct replica_cell){.col = "unit", .type = SCHEMA_TEXT, .s = rec->unit};
    }
    /* An empty optional cell keeps what is held: a list that leaves the group blank must not
     * erase the group a branch recorded by hand. */
    if (rec->group != NULL && (p == NULL || p->group == NULL || strcmp(p->group, rec->group) != 0)) {
        cells[n++] =
            (struct replica_cell){.col = "target_group", .type = SCHEMA_TEXT, .s = rec->group};
    }
    if (rec->has_cid && (p == NULL || !p->has_cid || memcmp(p->cid, rec->cid, HASH_SIZE) != 0)) {
        cells[n++] = (struct replica_cell){
            .col = "cid_hash", .type = SCHEMA_BLOB, .b = rec->cid, .b_len = HASH_SIZE};
    }
    ASSERT(n <= 6);
    return n;
}

static size_t
importer_change_bytes(const char *pk, const struct replica_cell *cells, size_t n)
{
    size_t b = 48 + strlen(pk);
    for (size_t i = 0; i < n; i++) {
        b += 16 + strlen(cells[i].col);
        b += cells[i].type == SCHEMA_TEXT ? strlen(cells[i].s)
             : cells[i].type == SCHEMA_BLOB ? cells[i].b_len
                                            : 10;
    }
    return b;
}

/* Pass 2's writing half: one batch, a leaf per IMPORT_LEAF_CHANGES_MAX changes or
 * IMPORT_LEAF_BYTES_TARGET bytes. With write 0 it only counts. */
static err_code
importer_write(struct importer *im, struct importer_people *pp, int write)
{
    struct importer_result *res = im->res;
    struct replica *r = im->r;
    struct replica_txn *t = NULL;
    size_t in_leaf = 0, bytes = 0;
    err_code e = ERR_OK;
    if (write && (e = replica_batch_begin(r)) != ERR_OK) {
        return e;
    }
    for (size_t i = 0; i < im->n_recs && e == ERR_OK; i++) {
        const struct importer_rec *rec = &im->recs[i];
        if (rec->bad) {
            continue;
        }
        const struct importer_person *p = rec->match >= 0 ? &pp->p[rec->match] : NULL;
        struct replica_cell cells[6];
        size_t n = importer_diff(rec, p, cells);
        if (n == 0) {
            res->unchanged++;
            continue;
        }
        if (p == NULL) {
            res->new_people++;
        } else {
            res->changed++;
        }
        if (!write) {
            continue;
        }
        char id[REPLICA_ID_SIZE + 1];
        if (p == NULL) {
            replica_new_id(id);
        } else {
            memcpy(id, p->id, sizeof id);
        }
        size_t b = importer_change_bytes(id, cells, n);
        if (t != NULL && (in_leaf >= IMPORT_LEAF_CHANGES_MAX || bytes + b > IMPORT_LEAF_BYTES_TARGET)) {
            e = replica_txn_commit(r, t, NULL);
            t = NULL;
            res->leaves += e == ERR_OK;
            in_leaf = bytes = 0;
            if (e != ERR_OK) {
                break;
            }
        }
        if (t == NULL && (e = replica_txn_new(r, &t)) != ERR_OK) {
            break;
        }
        e = replica_txn_put(t, "person", id, p == NULL ? 1 : -1, cells, n, p == NULL);
        in_leaf++;
        bytes += b;
        res->changes++;
    }
    if (e == ERR_OK && t != NULL) {
        e = replica_txn_commit(r, t, NULL);
        res->leaves += e == ERR_OK;
        t = NULL;
    }
    replica_txn_free(t);
    if (write) {
        if (e == ERR_OK) {
            e = replica_batch_commit(r);
        } else {
            replica_batch_abort(r);
        }
        if (e != ERR_OK) {
            res->changes = res->leaves = 0;
        } else {
            res->written = 1;
        }
    }
    return e;
}

static int
importer_bad_cmp(const void *a, const void *b)
{
    const struct importer_bad_entry *x = a, *y = b;
    if (x->line != y->line) {
        return x->line < y->line ? -1 : 1;
    }
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void
importer_release(struct importer *im)
{
    for (size_t i = 0; i < im->n_recs; i++) {
        free(im->recs[i].name);
        free(im->recs[i].key);
    }
    free(im->recs);
    for (size_t i = 0; i < im->n_bad; i++) {
        free(im->bad[i].text);
    }
    free(im->bad);
    imap_release(&im->units);
    for (size_t i = 0; i < im->n_units; i++) {
        free(im->unit_codes[i]);
    }
    free(im->unit_codes);
}

/* Moves the problems, sorted, into res. */
static err_code
importer_hand_over_bad(struct importer *im)
{
    struct importer_result *res = im->res;
    if (im->n_bad == 0) {
        return ERR_OK; /* qsort's base may not be NULL, even for no elements */
    }
    qsort(im->bad, im->n_bad, sizeof *im->bad, importer_bad_cmp);
    if ((res->bad = calloc(im->n_bad, sizeof *res->bad)) == NULL) {
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < im->n_bad; i++) {
        res->bad[i] = im->bad[i].text;
        im->bad[i].text = NULL; /* ownership moved to res */
    }
    res->n_bad = im->n_bad;
    return ERR_OK;
}

err_code
importer_persons_mem(struct replica *r, const uint8_t *buf, size_t len, const char *name_hint,
                     const struct importer_opts *o, struct importer_result *res,
                     char why[SHEET_WHY_SIZE])
{
    ASSERT(r != NULL);
    ASSERT(o != NULL);
    memset(res, 0, sizeof *res);
    why[0] = '\0';
    struct importer im = {.r = r, .o = o, .res = res};
    struct importer_people pp = {0};
    err_code rc = imap_init(&im.units, 1024);
    if (rc == ERR_OK && (rc = importer_load_units(&im)) == ERR_OK) {
        rc = sheet_read_mem(buf, len, name_hint, importer_row_cb, &im, &res->format, why);
    }
    if (rc == ERR_OK && !im.have_header) {
        rc = ERR_INVAL;
        snprintf(why, SHEET_WHY_SIZE, "empty file: no header row");
    }
    if (im.header_bad) {
        rc = ERR_INVAL;
        snprintf(why, SHEET_WHY_SIZE, "the header row does not match the template "
                                      "(docs/import-template.md; cdht template writes one)");
    }
    if (rc == ERR_OK) {
        rc = importer_load_people(&im, &pp);
    }
    if (rc == ERR_OK) {
        rc = importer_match(&im, &pp);
    }
    for (size_t i = 0; rc == ERR_OK && i < im.n_recs; i++) {
        res->bad_rows += im.recs[i].bad != 0;
    }
    if (rc == ERR_OK) {
        int write = !o->dry_run && (res->bad_rows == 0 || o->skip_bad);
        rc = importer_write(&im, &pp, write);
    }
    err_code hr = importer_hand_over_bad(&im);
    rc = rc == ERR_OK ? hr : rc;
    importer_people_release(&pp);
    importer_release(&im);
    return rc;
}

err_code
importer_persons(struct replica *r, const char *path, const struct importer_opts *o,
                 struct importer_result *res, char why[SHEET_WHY_SIZE])
{
    /* Read here rather than through sheet_read so that the size check and the read error
     * messages stay in one place: sheet_read_mem's. */
    memset(res, 0, sizeof *res);
    why[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(why, SHEET_WHY_SIZE, "cannot open the file");
        return ERR_NOTFOUND;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        snprintf(why, SHEET_WHY_SIZE, "not a regular file");
        return ERR_INVAL;
    }
    /* One byte more than the limit is read, so that sheet_read_mem sees a file too large. */
    size_t cap = (uint64_t)st.st_size > SHEET_FILE_SIZE_MAX ? SHEET_FILE_SIZE_MAX + 1u
                                                             : (size_t)st.st_size;
    uint8_t *buf = malloc(cap ? cap : 1);
    if (buf == NULL) {
        fclose(f);
        return ERR_NOMEM;
    }
    size_t len = cap ? fread(buf, 1, cap, f) : 0;
    int bad = ferror(f);
    fclose(f);
    err_code rc;
    if (bad) {
        snprintf(why, SHEET_WHY_SIZE, "cannot read the file");
        rc = ERR_IO;
    } else {
        rc = importer_persons_mem(r, buf, len, path, o, res, why);
    }
    free(buf);
    return rc;
}

void
importer_result_release(struct importer_result *res)
{
    if (res == NULL) {
        return;
    }
    for (size_t i = 0; i < res->n_bad; i++) {
        free(res->bad[i]);
    }
    free(res->bad);
    res->bad = NULL;
    res->n_bad = 0;
}
