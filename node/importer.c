/*
 * `cdht import` of person lists and score sheets (importer.h). Pass 1 turns each sheet row into
 * a checked record (domain.c's rules: NFC names, birth year range, gender, unit exists, target
 * group, CCCD shape; for score sheets also the year and each score's shape) or into listed
 * problems; pass 2 matches every good record to a person held (Mã người, else citizen-id
 * hash, else NFC name + birth year + unit), reports rows that name the same person twice, and
 * diffs against what is held so that only changed cells are put. Score sheets also go through
 * the workflow (node/flow.h: the framework chosen and recorded at registration, its maxima, the
 * status that still takes self scores), so an import writes what `cdht register` and `cdht
 * assess` would. All leaves of one import share one SQLite transaction (replica_batch_*): all
 * or nothing. Reasons are static sentences or name only headers, line numbers, unit codes,
 * indicator codes and scores, never a name or a citizen id.
 */
#include "importer.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "domain.h"
#include "flow.h"
#include "fold.h"
#include "replica.h"
#include "seed.h"
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
    {"name", IMPORT_COL_NAME},
    {"full name", IMPORT_COL_NAME},
    {"birth year", IMPORT_COL_YEAR},
    {"year of birth", IMPORT_COL_YEAR},
    {"birth_year", IMPORT_COL_YEAR},
    {"year", IMPORT_COL_YEAR},
    {"gender", IMPORT_COL_GENDER},
    {"sex", IMPORT_COL_GENDER},
    {"unit", IMPORT_COL_UNIT},
    {"unit code", IMPORT_COL_UNIT},
    {"group", IMPORT_COL_GROUP},
    {"target group", IMPORT_COL_GROUP},
    {"target_group", IMPORT_COL_GROUP},
    {"citizen id", IMPORT_COL_CID},
    {"citizen_id", IMPORT_COL_CID},
    {"national id", IMPORT_COL_CID},
    {"id", IMPORT_COL_ID},
    {"person id", IMPORT_COL_ID},
    {"no", IMPORT_COL_STT},
    {"no.", IMPORT_COL_STT},
};

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
    char *name; /* NFC */
    char *key;  /* name \x1f year \x1f unit: the second way to recognise a person */
    size_t key_len;
    int64_t year;
    enum domain_gender gender;
    char unit[UNIT_CODE_SIZE_MAX + 1];
    const char *group;            /* static, or NULL: not given */
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

/* One data row of a score sheet after pass 1, and what pass 2 decided for it. Strings are
 * owned. */
struct importer_srec {
    unsigned long line;
    char id[REPLICA_ID_SIZE + 1]; /* Mã người, or "" */
    int has_cid;
    uint8_t cid[HASH_SIZE];
    char *key; /* name \x1f birth year \x1f unit, as importer_rec's; NULL: not given */
    size_t key_len;
    char unit[UNIT_CODE_SIZE_MAX + 1];   /* Mã đơn vị, or "" */
    int year;                            /* the assessment year */
    const char *group;                   /* static, or NULL: not given */
    const char *digital;                 /* static, or NULL: not given */
    int16_t val[IMPORT_SCORE_CODES_MAX]; /* by the sheet's indicator column; -1: empty */
    int bad;
    /* Pass 2: the changes the row makes (none when every flag below is 0). */
    char pid[REPLICA_ID_SIZE + 1];
    char a_unit[FLOW_WORD_SIZE]; /* the assessment's unit: the scope of every change */
    char grp[FLOW_WORD_SIZE];
    char fw[FLOW_FW_SIZE];
    int64_t round;
    struct flow_scores sc; /* the self scores after the row */
    uint16_t sc_put;       /* bit i: write s(i+1) */
    uint8_t a_new;         /* register: a whole new assessment row */
    uint8_t a_grp, a_dig;  /* change the group, the digital level */
    uint8_t s_new;         /* a new self_score row */
};

/* Columns of either kind of sheet (enum importer_col or enum importer_score_col). */
#define IMPORTER_FIXED_COLS_MAX 16
static_assert(IMPORT_COL_COUNT <= IMPORTER_FIXED_COLS_MAX, "person columns fit");
static_assert(IMPORT_SCORE_COUNT <= IMPORTER_FIXED_COLS_MAX, "score-sheet columns fit");
/* Distinct indicator codes of the frameworks held, loaded to recognise a sheet's headers: a
 * replica holds a few frameworks of at most 10 codes per group. More are not looked at. */
#define IMPORTER_KNOWN_CODES_MAX 1024u

struct importer {
    struct replica *r;
    const struct importer_opts *o;
    struct importer_result *res;
    int scores; /* 1: a score sheet (importer_scores), 0: a person list */
    int have_header;
    /* file column -> enum importer_col (persons), enum importer_score_col or IMPORT_SCORE_COUNT
     * + k for the sheet's k-th indicator column (scores); -1 ignored */
    int col_of[SHEET_CELLS_MAX];
    size_t ncols;
    int present[IMPORTER_FIXED_COLS_MAX];
    int header_bad;
    struct imap units; /* live unit codes -> 1 (keys owned by unit_codes) */
    char **unit_codes;
    size_t n_units;
    struct importer_rec *recs; /* owned */
    size_t n_recs, cap_recs;
    /* Score sheets: the indicator columns' codes, the codes frameworks held know (keys owned by
     * known_codes), and the rows. */
    char codes[IMPORT_SCORE_CODES_MAX][IMPORT_SCORE_CODE_SIZE];
    size_t n_codes;
    struct imap known;
    char **known_codes;
    size_t n_known;
    struct importer_srec *srecs; /* owned */
    size_t n_srecs, cap_srecs;
    struct importer_bad_entry *bad; /* owned */
    size_t n_bad, cap_bad;
    unsigned long bad_line; /* the line of the last bad entry, for seq */
    unsigned bad_seq;
};

/* The header a problem names: the template's for a fixed column, the code for an indicator. */
static const char *
importer_label(const struct importer *im, int col)
{
    ASSERT(col >= 0);
    if (!im->scores) {
        ASSERT(col < IMPORT_COL_COUNT);
        return importer_headers[col].vi;
    }
    if (col < IMPORT_SCORE_COUNT) {
        return importer_score_headers[col].vi;
    }
    ASSERT((size_t)(col - IMPORT_SCORE_COUNT) < im->n_codes);
    return im->codes[col - IMPORT_SCORE_COUNT];
}

static err_code importer_bad(struct importer *im, unsigned long line, int col, const char *fmt, ...)
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
        snprintf(text, sizeof text, "line %lu, column \"%s\": %s", line, importer_label(im, col),
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
static err_code importer_bad_header(struct importer *im, unsigned long line, size_t pos,
                                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

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
        if (fold_text(row->cells[i], f, sizeof f) != ERR_OK) {
            rc = importer_bad_header(im, row->line, i,
                                     "not a template column (headers are "
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
                rc = importer_bad_header(im, row->line, i,
                                         "\"%s\" is an English header; the "
                                         "template's is \"%s\" (cdht template writes one)",
                                         shown ? shown : "?", importer_headers[en].vi);
            } else if (shown != NULL) {
                rc = importer_bad_header(im, row->line, i,
                                         "\"%s\" is not a template column "
                                         "(headers are Vietnamese; cdht template writes one)",
                                         shown);
            } else {
                rc = importer_bad_header(im, row->line, i,
                                         "not a template column (headers are "
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
    if (fold_text(v, f, sizeof f) != ERR_OK) {
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
        {"nong dan", "farmer"}, {"farmer", "farmer"},   {"cong nhan", "worker"},
        {"worker", "worker"},   {"can bo", "official"}, {"official", "official"},
    };
    char f[64];
    if (fold_text(v, f, sizeof f) != ERR_OK) {
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

/* A citizen-id cell as typed: spaces (typed to group the digits) dropped, into d (at most 12 + 1
 * characters kept; *toolong past that); *digits 0 when another character is there. A numeric
 * XLSX cell of 7 to 11 digits lost its leading zeros (almost every code starts with 0): it is
 * padded back to 12. Returns the characters in d. */
static size_t
importer_cid_cell(const char *cell, int numeric, char d[DOMAIN_CITIZEN_ID_DIGITS + 2],
                  int *digits, int *toolong)
{
    size_t k = 0;
    *digits = 1;
    *toolong = 0;
    for (const char *p = cell; *p; p++) {
        if (*p == ' ') {
            continue;
        }
        *digits &= *p >= '0' && *p <= '9';
        if (k < DOMAIN_CITIZEN_ID_DIGITS + 1) {
            d[k++] = *p;
        } else {
            *toolong = 1;
        }
    }
    d[k] = '\0';
    if (numeric && *digits && !*toolong && k < DOMAIN_CITIZEN_ID_DIGITS && k >= 7) {
        size_t pad = DOMAIN_CITIZEN_ID_DIGITS - k;
        memmove(d + pad, d, k + 1);
        memset(d, '0', pad);
        k = DOMAIN_CITIZEN_ID_DIGITS;
    }
    return k;
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
        int digits = 1, toolong = 0;
        size_t k = importer_cid_cell(v[IMPORT_COL_CID], numeric[IMPORT_COL_CID], d, &digits,
                                     &toolong);
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
        int n =
            snprintf(k, sizeof k, "%s\x1f%lld\x1f%s", rec->name, (long long)rec->year, rec->unit);
        ASSERT(n > 0 && (size_t)n < sizeof k);
        if ((rec->key = strdup(k)) == NULL) {
            return ERR_NOMEM;
        }
        rec->key_len = (size_t)n;
    }
    return ERR_OK;
}

static err_code importer_score_header(struct importer *im, const struct sheet_row *row);
static err_code importer_score_data(struct importer *im, const struct sheet_row *row);

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
        err_code rc = im->scores ? importer_score_header(im, row) : importer_header(im, row);
        /* With a header that does not match, the rows cannot be read: stop here. */
        return rc != ERR_OK ? rc : im->header_bad ? ERR_INVAL : ERR_OK;
    }
    return im->scores ? importer_score_data(im, row) : importer_data(im, row);
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
/* The units, citizen-id hashes and person ids the good rows of a file name: the people worth
 * loading. The maps' keys point into the rows. */
struct importer_wanted {
    struct imap units, cids, ids;
};

static void
importer_wanted_release(struct importer_wanted *w)
{
    imap_release(&w->units);
    imap_release(&w->cids);
    imap_release(&w->ids);
}

static err_code
importer_wanted_add(struct importer_wanted *w, const char *unit, const uint8_t *cid, const char *id)
{
    err_code e = ERR_OK;
    if (unit != NULL && unit[0]) {
        e = imap_put(&w->units, unit, strlen(unit), 1);
    }
    if (e == ERR_OK && cid != NULL) {
        e = imap_put(&w->cids, (const char *)cid, HASH_SIZE, 1);
    }
    if (e == ERR_OK && id != NULL && id[0]) {
        e = imap_put(&w->ids, id, strlen(id), 1);
    }
    return e;
}

static err_code
importer_wanted_init(struct importer_wanted *w, size_t rows)
{
    memset(w, 0, sizeof *w);
    err_code e;
    if ((e = imap_init(&w->units, 64)) != ERR_OK || (e = imap_init(&w->cids, rows)) != ERR_OK ||
        (e = imap_init(&w->ids, rows)) != ERR_OK) {
        importer_wanted_release(w); /* imap_release takes a map never made (NULL slots) */
    }
    return e;
}

static err_code importer_people_scan(struct replica *r, struct importer_wanted *w,
                                     struct importer_people *pp);

static err_code
importer_load_people(struct importer *im, struct importer_people *pp)
{
    struct importer_wanted w;
    err_code e = importer_wanted_init(&w, im->n_recs);
    for (size_t i = 0; i < im->n_recs && e == ERR_OK; i++) {
        const struct importer_rec *rec = &im->recs[i];
        if (!rec->bad) {
            e = importer_wanted_add(&w, rec->unit, rec->has_cid ? rec->cid : NULL, rec->id);
        }
    }
    if (e == ERR_OK) {
        e = importer_people_scan(im->r, &w, pp);
    }
    importer_wanted_release(&w);
    return e;
}

/* Loads into pp the live people w wants, and builds pp's maps. */
static err_code
importer_people_scan(struct replica *r, struct importer_wanted *w, struct importer_people *pp)
{
    err_code e = ERR_OK;
    struct imap *units = &w->units, *cids = &w->cids, *ids = &w->ids;
    sqlite3_stmt *s = store_stmt(r->st, "SELECT id, name, birth_year, gender, unit, "
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
        int want = (unit != NULL && imap_get(units, unit, strlen(unit), 0)) ||
                   (has_cid && imap_get(cids, cid, HASH_SIZE, 0)) ||
                   imap_get(ids, id, strlen(id), 0);
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
            int n = snprintf(k, sizeof k, "%s\x1f%lld\x1f%s", p->name, (long long)p->year, p->unit);
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
    if (e != ERR_OK) {
        return e;
    }
    /* The maps point into pp->p, which no longer moves. */
    if ((e = imap_init(&pp->by_id, pp->n)) != ERR_OK ||
        (e = imap_init(&pp->by_cid, pp->n)) != ERR_OK ||
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
    if (rec->group != NULL &&
        (p == NULL || p->group == NULL || strcmp(p->group, rec->group) != 0)) {
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
        b += cells[i].is_null               ? 1
             : cells[i].type == SCHEMA_TEXT ? strlen(cells[i].s)
             : cells[i].type == SCHEMA_BLOB ? cells[i].b_len
                                            : 10;
    }
    return b;
}

/* Ends a write pass: commits the leaf in progress (t, or NULL), then the batch of leaves when
 * write (or aborts it after an error, so that nothing of the import is kept); counts the leaf and
 * whether the import was written. Returns the pass's result. */
static err_code
importer_write_end(struct replica *r, struct replica_txn *t, int write, err_code e,
                   struct importer_result *res)
{
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
        if (t != NULL &&
            (in_leaf >= IMPORT_LEAF_CHANGES_MAX || bytes + b > IMPORT_LEAF_BYTES_TARGET)) {
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
    return importer_write_end(r, t, write, e, res);
}

/* ---- Score sheets: pass 1 ---------------------------------------------------------------- */

const struct importer_header importer_score_headers[IMPORT_SCORE_COUNT] = {
    [IMPORT_SCORE_STT] = {"STT", "row number", 0, "anything (ignored)"},
    [IMPORT_SCORE_ID] = {"Mã người", "cdht person id", 0, "an id from cdht person list; empty"},
    [IMPORT_SCORE_CID] = {"Số CCCD", "citizen id (CCCD)", 0, "12 digits; empty"},
    [IMPORT_SCORE_NAME] = {"Họ và tên", "full name", 0,
                           "with Năm sinh and Mã đơn vị, finds the person; empty"},
    [IMPORT_SCORE_BIRTH] = {"Năm sinh", "birth year", 0, "four digits; empty"},
    [IMPORT_SCORE_UNIT] = {"Mã đơn vị", "unit code", 0, "the person's unit code; empty"},
    [IMPORT_SCORE_YEAR] = {"Năm đánh giá", "assessment year", 1,
                           "four digits, such as 2026 (empty: --year)"},
    [IMPORT_SCORE_GROUP] = {"Nhóm đối tượng", "target group", 0,
                            "Nông dân, Công nhân, Cán bộ (or farmer, worker, official); empty: "
                            "as registered, else the person's"},
    [IMPORT_SCORE_DIGITAL] = {"Kỹ năng số", "digital skills", 0,
                              "Không, Cơ bản, Thành thạo (or none, basic, proficient); empty: "
                              "unchanged"},
};

static const struct {
    const char *folded;
    enum importer_score_col col;
} importer_score_vi[] = {
    {"stt", IMPORT_SCORE_STT},
    {"ma nguoi", IMPORT_SCORE_ID},
    {"so cccd", IMPORT_SCORE_CID},
    {"cccd", IMPORT_SCORE_CID},
    {"so can cuoc cong dan", IMPORT_SCORE_CID},
    {"ho va ten", IMPORT_SCORE_NAME},
    {"ho ten", IMPORT_SCORE_NAME},
    {"nam sinh", IMPORT_SCORE_BIRTH},
    {"ma don vi", IMPORT_SCORE_UNIT},
    {"nam danh gia", IMPORT_SCORE_YEAR},
    {"nhom doi tuong", IMPORT_SCORE_GROUP},
    {"doi tuong", IMPORT_SCORE_GROUP},
    {"ky nang so", IMPORT_SCORE_DIGITAL},
};

/* English headers are refused as in person lists, naming the Vietnamese one. */
static const struct {
    const char *folded;
    enum importer_score_col col;
} importer_score_en[] = {
    {"no", IMPORT_SCORE_STT},
    {"no.", IMPORT_SCORE_STT},
    {"id", IMPORT_SCORE_ID},
    {"person id", IMPORT_SCORE_ID},
    {"citizen id", IMPORT_SCORE_CID},
    {"citizen_id", IMPORT_SCORE_CID},
    {"name", IMPORT_SCORE_NAME},
    {"full name", IMPORT_SCORE_NAME},
    {"birth year", IMPORT_SCORE_BIRTH},
    {"year of birth", IMPORT_SCORE_BIRTH},
    {"unit", IMPORT_SCORE_UNIT},
    {"unit code", IMPORT_SCORE_UNIT},
    {"year", IMPORT_SCORE_YEAR},
    {"assessment year", IMPORT_SCORE_YEAR},
    {"group", IMPORT_SCORE_GROUP},
    {"target group", IMPORT_SCORE_GROUP},
    {"digital", IMPORT_SCORE_DIGITAL},
    {"digital skills", IMPORT_SCORE_DIGITAL},
};

/* The distinct indicator codes of the frameworks held, so that a header "1.1" is known to be
 * an indicator column before any row says which framework applies. */
static err_code
importer_load_codes(struct importer *im)
{
    sqlite3_stmt *s =
        store_stmt(im->r->st, "SELECT DISTINCT code FROM framework_indicator WHERE _live");
    if (s == NULL) {
        return ERR_DB;
    }
    err_code e = imap_init(&im->known, 64);
    int rc = SQLITE_DONE;
    if (e == ERR_OK) {
        im->known_codes = calloc(IMPORTER_KNOWN_CODES_MAX, sizeof *im->known_codes);
        e = im->known_codes != NULL ? ERR_OK : ERR_NOMEM;
    }
    while (e == ERR_OK && im->n_known < IMPORTER_KNOWN_CODES_MAX &&
           (rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *code = (const char *)sqlite3_column_text(s, 0);
        if (code == NULL || strlen(code) >= IMPORT_SCORE_CODE_SIZE) {
            continue; /* a header cannot name it */
        }
        char *c = strdup(code);
        if (c == NULL) {
            e = ERR_NOMEM;
            break;
        }
        im->known_codes[im->n_known++] = c;
        e = imap_put(&im->known, c, strlen(c), 1);
    }
    sqlite3_reset(s);
    return e != ERR_OK ? e : rc == SQLITE_DONE || rc == SQLITE_ROW ? ERR_OK : ERR_DB;
}

/* "1.1", "3.10": digits and dots, starting with a digit. Such a header is an indicator code,
 * known or not, and safe to repeat (it cannot be a citizen id: it has a dot). */
static int
importer_code_shaped(const char *f)
{
    size_t n = strlen(f);
    int dot = 0;
    if (n == 0 || n >= IMPORT_SCORE_CODE_SIZE || f[0] < '0' || f[0] > '9') {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (f[i] == '.') {
            dot = 1;
        } else if (f[i] < '0' || f[i] > '9') {
            return 0;
        }
    }
    return dot;
}

static err_code
importer_score_header(struct importer *im, const struct sheet_row *row)
{
    err_code rc = ERR_OK;
    unsigned long ln = row->line;
    im->ncols = row->n;
    for (size_t i = 0; i < row->n && rc == ERR_OK; i++) {
        char f[128];
        im->col_of[i] = -1;
        if (row->cells[i][0] == '\0') {
            continue; /* an unlabelled column: its cells must stay empty (checked per row) */
        }
        if (fold_text(row->cells[i], f, sizeof f) != ERR_OK) {
            rc = importer_bad_header(im, ln, i,
                                     "not a template column (headers are "
                                     "Vietnamese; cdht template --kind scores writes one)");
            continue;
        }
        int col = -1;
        for (size_t k = 0; k < sizeof importer_score_vi / sizeof importer_score_vi[0]; k++) {
            if (strcmp(f, importer_score_vi[k].folded) == 0) {
                col = (int)importer_score_vi[k].col;
            }
        }
        if (col >= 0) {
            if (im->present[col]) {
                rc = importer_bad_header(im, ln, i, "\"%s\" appears twice",
                                         importer_score_headers[col].vi);
                continue;
            }
            im->present[col] = 1;
            im->col_of[i] = col;
            continue;
        }
        if (importer_code_shaped(f)) {
            size_t k = 0;
            while (k < im->n_codes && strcmp(im->codes[k], f) != 0) {
                k++;
            }
            if (k < im->n_codes) {
                rc = importer_bad_header(im, ln, i, "\"%s\" appears twice", f);
            } else if (imap_get(&im->known, f, strlen(f), 0) != 1) {
                rc = importer_bad_header(im, ln, i,
                                         "indicator %s is not in any framework held "
                                         "here (cdht framework list)",
                                         f);
            } else if (im->n_codes == IMPORT_SCORE_CODES_MAX) {
                rc = importer_bad_header(im, ln, i, "more than %u indicator columns",
                                         IMPORT_SCORE_CODES_MAX);
            } else if (strlen(f) >= sizeof im->codes[0]) {
                rc = importer_bad_header(im, ln, i, "an indicator code longer than %zu bytes",
                                         sizeof im->codes[0] - 1);
            } else {
                memcpy(im->codes[im->n_codes], f, strlen(f) + 1);
                im->col_of[i] = IMPORT_SCORE_COUNT + (int)im->n_codes++;
            }
            continue;
        }
        int en = -1;
        for (size_t k = 0; k < sizeof importer_score_en / sizeof importer_score_en[0]; k++) {
            if (strcmp(f, importer_score_en[k].folded) == 0) {
                en = (int)importer_score_en[k].col;
            }
        }
        const char *shown = importer_header_echoable(row->cells[i]) ? row->cells[i] : NULL;
        if (en >= 0) {
            rc = importer_bad_header(im, ln, i,
                                     "\"%s\" is an English header; the template's "
                                     "is \"%s\" (cdht template --kind scores writes one)",
                                     shown ? shown : "?", importer_score_headers[en].vi);
        } else if (shown != NULL) {
            rc = importer_bad_header(im, ln, i,
                                     "\"%s\" is not a score-sheet column (headers "
                                     "are Vietnamese; cdht template --kind scores writes one)",
                                     shown);
        } else {
            rc = importer_bad_header(im, ln, i,
                                     "not a score-sheet column (headers are "
                                     "Vietnamese; cdht template --kind scores writes one)");
        }
    }
    if (rc == ERR_OK && !im->present[IMPORT_SCORE_YEAR] && im->o->year == 0) {
        im->header_bad = 1;
        rc = importer_bad(im, ln, IMPORT_SCORE_YEAR,
                          "missing: the column is required (or give --year)");
    }
    const int *p = im->present;
    if (rc == ERR_OK && !p[IMPORT_SCORE_ID] && !p[IMPORT_SCORE_CID] &&
        !(p[IMPORT_SCORE_NAME] && p[IMPORT_SCORE_BIRTH] && p[IMPORT_SCORE_UNIT])) {
        im->header_bad = 1;
        rc = importer_bad(im, ln, -1,
                          "no column finds the person: give Mã người, or Số CCCD, "
                          "or Họ và tên with Năm sinh and Mã đơn vị");
    }
    if (rc == ERR_OK && im->n_codes == 0 && !p[IMPORT_SCORE_DIGITAL]) {
        im->header_bad = 1;
        rc = importer_bad(im, ln, -1,
                          "no indicator column (1.1, 1.2, ...) and no Kỹ năng số: "
                          "not a score sheet (cdht template --kind scores writes one)");
    }
    return rc;
}

static const char *
importer_digital(const char *v)
{
    static const struct {
        const char *folded, *code;
    } levels[] = {
        {"khong", "none"},
        {"none", "none"},
        {"co ban", "basic"},
        {"basic", "basic"},
        {"thanh thao", "proficient"},
        {"proficient", "proficient"},
    };
    char f[64];
    if (fold_text(v, f, sizeof f) != ERR_OK) {
        return NULL;
    }
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        if (strcmp(f, levels[i].folded) == 0) {
            return levels[i].code;
        }
    }
    return NULL;
}

/* A whole number of at most four digits; an XLSX number cell may also read "8.0". -1: not. */
static int
importer_small_int(const char *v, int numeric)
{
    int x = 0;
    size_t n = 0;
    for (; v[n] >= '0' && v[n] <= '9'; n++) {
        if (n == 4) {
            return -1;
        }
        x = x * 10 + (v[n] - '0');
    }
    if (n == 0) {
        return -1;
    }
    if (numeric && v[n] == '.') {
        for (n++; v[n] == '0'; n++) {
        }
    }
    return v[n] == '\0' ? x : -1;
}

/* Pass 1 for one data row of a score sheet: its cells checked, the person not yet looked up. */
static err_code
importer_score_data(struct importer *im, const struct sheet_row *row)
{
    err_code rc = ERR_OK;
    const char *v[IMPORT_SCORE_COUNT] = {0};
    uint8_t numeric[IMPORT_SCORE_COUNT] = {0};
    char tb[IMPORT_SCORE_COUNT][PERSON_NAME_SIZE_MAX * 4 + 1];
    const char *cv[IMPORT_SCORE_CODES_MAX] = {0};
    uint8_t cnum[IMPORT_SCORE_CODES_MAX] = {0};
    char cb[IMPORT_SCORE_CODES_MAX][16];
    int any = 0, stray = 0;
    for (size_t i = 0; i < row->n; i++) {
        any |= row->cells[i][0] != '\0';
    }
    if (!any) {
        return ERR_OK; /* a wholly empty row */
    }
    im->res->rows++;
    for (size_t i = 0; i < row->n; i++) {
        int c = i < im->ncols ? im->col_of[i] : -1;
        if (c < 0) {
            stray |= row->cells[i][0] != '\0';
        } else if (c < IMPORT_SCORE_COUNT) {
            v[c] = importer_trim(row->cells[i], tb[c], sizeof tb[c]);
            numeric[c] = row->numeric[i];
        } else {
            size_t k = (size_t)(c - IMPORT_SCORE_COUNT);
            /* A longer cell is not a score: trimmed to 15 bytes it still is not. */
            cv[k] = importer_trim(row->cells[i], cb[k], sizeof cb[k]);
            cnum[k] = row->numeric[i];
        }
    }
    if (im->n_srecs == im->cap_srecs) {
        size_t cap = im->cap_srecs ? im->cap_srecs * 2 : 256;
        struct importer_srec *recs = realloc(im->srecs, cap * sizeof *recs);
        if (recs == NULL) {
            return ERR_NOMEM;
        }
        im->srecs = recs;
        im->cap_srecs = cap;
    }
    struct importer_srec *rec = &im->srecs[im->n_srecs++];
    memset(rec, 0, sizeof *rec);
    rec->line = row->line;
    unsigned long ln = row->line;
    const char *why = NULL;
#define BAD(col, ...)                                                                              \
    do {                                                                                           \
        rec->bad = 1;                                                                              \
        if ((rc = importer_bad(im, ln, (col), __VA_ARGS__)) != ERR_OK) {                           \
            return rc;                                                                             \
        }                                                                                          \
    } while (0)
#define GIVEN(c) (v[c] != NULL && v[c][0] != '\0')
    if (stray) {
        BAD(-1, "a value in a column without a template header");
    }
    if (GIVEN(IMPORT_SCORE_ID)) {
        if (!importer_id_ok(v[IMPORT_SCORE_ID])) {
            BAD(IMPORT_SCORE_ID, "not a person id (16 characters; cdht person list shows them)");
        } else {
            memcpy(rec->id, v[IMPORT_SCORE_ID], REPLICA_ID_SIZE + 1);
        }
    }
    if (GIVEN(IMPORT_SCORE_CID)) {
        /* As in person lists: spaces dropped, a numeric XLSX cell padded back to 12 digits.
         * Only the shape is checked: the person's birth year and gender are held, not typed. */
        char d[DOMAIN_CITIZEN_ID_DIGITS + 2];
        int digits = 1, toolong = 0;
        size_t k = importer_cid_cell(v[IMPORT_SCORE_CID], numeric[IMPORT_SCORE_CID], d, &digits,
                                     &toolong);
        if (!digits) {
            BAD(IMPORT_SCORE_CID, "citizen id must contain only the digits 0-9");
        } else if (toolong || k != DOMAIN_CITIZEN_ID_DIGITS) {
            BAD(IMPORT_SCORE_CID, "citizen id must be 12 digits");
        } else {
            domain_citizen_id_hash(im->r->cid_key, d, rec->cid);
            rec->has_cid = 1;
        }
        sodium_memzero(d, sizeof d); /* the digits are personal data */
    }
    int by_name = GIVEN(IMPORT_SCORE_NAME) || GIVEN(IMPORT_SCORE_BIRTH) || GIVEN(IMPORT_SCORE_UNIT);
    if (by_name && !rec->id[0] && !rec->has_cid && !rec->bad) {
        char *name = NULL;
        long birth = 0;
        for (int c = IMPORT_SCORE_NAME; c <= IMPORT_SCORE_UNIT; c++) {
            if (!GIVEN(c)) {
                BAD(c, "empty: with neither Mã người nor Số CCCD, the person is found by Họ và "
                       "tên, Năm sinh and Mã đơn vị together");
            }
        }
        if (GIVEN(IMPORT_SCORE_BIRTH)) {
            int y = importer_small_int(v[IMPORT_SCORE_BIRTH], numeric[IMPORT_SCORE_BIRTH]);
            if (y < DOMAIN_BIRTH_YEAR_MIN) {
                BAD(IMPORT_SCORE_BIRTH, "must be a year of four digits, such as 1985");
            }
            birth = y;
        }
        if (GIVEN(IMPORT_SCORE_UNIT)) {
            const char *u = v[IMPORT_SCORE_UNIT];
            if (domain_unit_code_check(u, &why) != ERR_OK) {
                BAD(IMPORT_SCORE_UNIT, "%s", why);
            } else if (imap_get(&im->units, u, strlen(u), 0) != 1) {
                BAD(IMPORT_SCORE_UNIT, "unknown unit %s (cdht unit list shows them)", u);
            } else {
                snprintf(rec->unit, sizeof rec->unit, "%s", u);
            }
        }
        if (GIVEN(IMPORT_SCORE_NAME)) {
            rc = domain_name_normalize(v[IMPORT_SCORE_NAME], PERSON_NAME_SIZE_MAX, &name, &why);
            if (rc == ERR_NOMEM) {
                return rc;
            }
            rc = ERR_OK;
            if (name == NULL) {
                BAD(IMPORT_SCORE_NAME, "%s", why);
            }
        }
        if (!rec->bad) {
            char k[PERSON_NAME_SIZE_MAX + UNIT_CODE_SIZE_MAX + 16];
            int n = snprintf(k, sizeof k, "%s\x1f%ld\x1f%s", name, birth, rec->unit);
            ASSERT(n > 0 && (size_t)n < sizeof k);
            if ((rec->key = strdup(k)) == NULL) {
                free(name);
                return ERR_NOMEM;
            }
            rec->key_len = (size_t)n;
        }
        free(name);
    } else if (!by_name && !rec->id[0] && !rec->has_cid && !rec->bad) {
        BAD(-1, "nothing finds the person: fill Mã người, or Số CCCD, or Họ và tên with Năm "
                "sinh and Mã đơn vị");
    }
    if (GIVEN(IMPORT_SCORE_YEAR)) {
        int y = importer_small_int(v[IMPORT_SCORE_YEAR], numeric[IMPORT_SCORE_YEAR]);
        if (y < FLOW_YEAR_MIN || y > FLOW_YEAR_MAX) {
            BAD(IMPORT_SCORE_YEAR, "must be a year of four digits, %d to %d", FLOW_YEAR_MIN,
                FLOW_YEAR_MAX);
        } else if (im->o->year != 0 && y != im->o->year) {
            BAD(IMPORT_SCORE_YEAR, "%d, but --year is %d", y, im->o->year);
        } else {
            rec->year = y;
        }
    } else if (im->o->year != 0) {
        rec->year = im->o->year;
    } else {
        BAD(IMPORT_SCORE_YEAR, "empty: the column is required (or give --year)");
    }
    if (GIVEN(IMPORT_SCORE_GROUP) && (rec->group = importer_group(v[IMPORT_SCORE_GROUP])) == NULL) {
        BAD(IMPORT_SCORE_GROUP, "must be Nông dân, Công nhân or Cán bộ");
    }
    if (GIVEN(IMPORT_SCORE_DIGITAL) &&
        (rec->digital = importer_digital(v[IMPORT_SCORE_DIGITAL])) == NULL) {
        BAD(IMPORT_SCORE_DIGITAL, "must be Không, Cơ bản or Thành thạo");
    }
    for (size_t k = 0; k < IMPORT_SCORE_CODES_MAX; k++) {
        rec->val[k] = -1;
        if (k >= im->n_codes || cv[k] == NULL || cv[k][0] == '\0') {
            continue;
        }
        int x = importer_small_int(cv[k], cnum[k]);
        if (x < 0 || x > IMPORT_SCORE_VALUE_MAX) {
            BAD(IMPORT_SCORE_COUNT + (int)k, "must be a whole number of points, such as 8");
        } else {
            rec->val[k] = (int16_t)x;
        }
    }
#undef GIVEN
#undef BAD
    return ERR_OK;
}

/* ---- Score sheets: pass 2 ---------------------------------------------------------------- */

/* Groups looked up once per import: a sheet of one commune names one framework and a few
 * groups. Beyond the cache, lookups simply repeat. */
#define IMPORTER_GROUP_CACHE 8u

struct importer_gcache {
    struct {
        char fw[FLOW_FW_SIZE];
        char grp[FLOW_WORD_SIZE];
        err_code rc;
        struct flow_group g;
    } e[IMPORTER_GROUP_CACHE];
    size_t n;
};

static err_code
importer_group_get(struct importer *im, struct importer_gcache *gc, const char *fw, const char *grp,
                   const struct flow_group **out)
{
    *out = NULL;
    for (size_t i = 0; i < gc->n; i++) {
        if (strcmp(gc->e[i].fw, fw) == 0 && strcmp(gc->e[i].grp, grp) == 0) {
            *out = gc->e[i].rc == ERR_OK ? &gc->e[i].g : NULL;
            return gc->e[i].rc;
        }
    }
    size_t i = gc->n < IMPORTER_GROUP_CACHE ? gc->n++ : IMPORTER_GROUP_CACHE - 1;
    snprintf(gc->e[i].fw, sizeof gc->e[i].fw, "%s", fw);
    snprintf(gc->e[i].grp, sizeof gc->e[i].grp, "%s", grp);
    gc->e[i].rc = flow_group_get(im->r, fw, grp, &gc->e[i].g);
    *out = gc->e[i].rc == ERR_OK ? &gc->e[i].g : NULL;
    return gc->e[i].rc;
}

/* Finds the person a row names: Mã người, else the citizen-id hash, else name + birth year +
 * unit (unique among the people held). -1 with the problem listed when none. */
static err_code
importer_score_person(struct importer *im, struct importer_srec *rec,
                      const struct importer_people *pp, long *m)
{
    *m = -1;
    if (rec->id[0]) {
        *m = imap_get(&pp->by_id, rec->id, strlen(rec->id), -1);
        if (*m < 0) {
            rec->bad = 1;
            return importer_bad(im, rec->line, IMPORT_SCORE_ID,
                                "unknown person id (cdht person list shows them)");
        }
        return ERR_OK;
    }
    if (rec->has_cid) {
        *m = imap_get(&pp->by_cid, (const char *)rec->cid, HASH_SIZE, -1);
        if (*m < 0) {
            rec->bad = 1;
            return importer_bad(im, rec->line, IMPORT_SCORE_CID,
                                "no person held has this citizen id (import the person list "
                                "first)");
        }
        return ERR_OK;
    }
    ASSERT(rec->key != NULL);
    *m = imap_get(&pp->by_key, rec->key, rec->key_len, -1);
    if (*m == -2) {
        *m = -1;
        rec->bad = 1;
        return importer_bad(im, rec->line, -1,
                            "ambiguous: two people held have this name, "
                            "birth year and unit; add Số CCCD or Mã người");
    }
    if (*m < 0) {
        rec->bad = 1;
        return importer_bad(im, rec->line, -1,
                            "unknown person: no one held has this Họ và tên, "
                            "Năm sinh and Mã đơn vị (import the person list "
                            "first)");
    }
    return ERR_OK;
}

/* Decides what one good row changes: registration, group, digital level, self scores; checks
 * the scores against the framework's group and the change against the workflow. A problem
 * marks the row bad and lists why. */
static err_code
importer_score_plan(struct importer *im, struct importer_gcache *gc, struct importer_srec *rec)
{
    struct flow_state s;
    char why[FLOW_WHY_SIZE];
    unsigned long ln = rec->line;
    err_code rc = flow_read(im->r, rec->pid, rec->year, &s, why);
    if (rc == ERR_INVAL) {
        rec->bad = 1;
        return importer_bad(im, ln, -1, "%s", why);
    }
    if (rc != ERR_OK) {
        return rc;
    }
#define BAD(col, ...)                                                                              \
    do {                                                                                           \
        rec->bad = 1;                                                                              \
        return importer_bad(im, ln, (col), __VA_ARGS__);                                           \
    } while (0)
    /* The group: the row's, else the registration's, else the person's. */
    const char *grp = rec->group != NULL       ? rec->group
                      : s.a_live && s.group[0] ? s.group
                                               : s.person_group;
    if (grp[0] == '\0') {
        BAD(IMPORT_SCORE_GROUP, "empty, and the person has no target group: fill it");
    }
    snprintf(rec->grp, sizeof rec->grp, "%s", grp);
    /* The framework: the one the registration recorded, else the one chosen for the unit and
     * year, recorded now (a later publication never rescores an assessment). */
    if (s.a_live && s.framework[0]) {
        snprintf(rec->fw, sizeof rec->fw, "%s", s.framework);
        snprintf(rec->a_unit, sizeof rec->a_unit, "%s", s.unit);
    } else {
        if (s.person_unit[0] == '\0') {
            BAD(-1, "the person has no unit (cdht person list)");
        }
        rc = flow_framework_choose(im->r, s.person_unit, rec->year, rec->fw);
        if (rc == ERR_NOTFOUND) {
            BAD(-1,
                "no framework published for unit %s and year %d (ask the commune: cdht "
                "framework list)",
                s.person_unit, rec->year);
        }
        if (rc != ERR_OK) {
            return rc;
        }
        snprintf(rec->a_unit, sizeof rec->a_unit, "%s", s.person_unit);
    }
    const struct flow_group *g = NULL;
    rc = importer_group_get(im, gc, rec->fw, rec->grp, &g);
    if (rc == ERR_NOTFOUND || rc == ERR_CORRUPT) {
        BAD(rec->group != NULL ? IMPORT_SCORE_GROUP : -1, "group %s is not in framework %s",
            rec->grp, rec->fw);
    }
    if (rc != ERR_OK) {
        return rc;
    }
    /* Every score against its indicator's maximum, and against the group's indicators. */
    rec->sc = s.s_live ? s.self : (struct flow_scores){{0}, {0}};
    rec->round = s.a_live && !s.round_null ? s.round : 1;
    int any_score = 0, bad = 0;
    for (size_t k = 0; k < im->n_codes; k++) {
        if (rec->val[k] < 0) {
            continue;
        }
        int pos = 0;
        while (pos < g->g.n && strcmp(g->code[pos], im->codes[k]) != 0) {
            pos++;
        }
        if (pos == g->g.n) {
            rec->bad = bad = 1;
            rc = importer_bad(im, ln, IMPORT_SCORE_COUNT + (int)k,
                              "not an indicator of group %s in framework %s: leave it empty",
                              rec->grp, rec->fw);
        } else if (rec->val[k] > g->g.max[pos]) {
            rec->bad = bad = 1;
            rc = importer_bad(im, ln, IMPORT_SCORE_COUNT + (int)k,
                              "%d is above the indicator's maximum (%d)", rec->val[k],
                              g->g.max[pos]);
        } else {
            any_score = 1;
            if (!rec->sc.have[pos] || rec->sc.v[pos] != rec->val[k]) {
                rec->sc.have[pos] = 1;
                rec->sc.v[pos] = rec->val[k];
                rec->sc_put |= (uint16_t)(1u << pos);
            }
        }
        if (rc != ERR_OK) {
            return rc;
        }
    }
    if (bad) {
        return ERR_OK;
    }
    rec->a_new = !s.a_live;
    rec->a_grp = s.a_live && strcmp(s.group, rec->grp) != 0;
    rec->a_dig = rec->digital != NULL && (!s.a_live || strcmp(s.digital, rec->digital) != 0);
    rec->s_new = !s.s_live && any_score;
    if (rec->s_new) {
        /* A new self_score row carries every score given, changed or not. */
        for (int i = 0; i < g->g.n; i++) {
            rec->sc_put |= rec->sc.have[i] ? (uint16_t)(1u << i) : 0;
        }
    }
    if (!rec->a_new && !rec->a_grp && !rec->a_dig && !rec->s_new && rec->sc_put == 0) {
        return ERR_OK; /* equal to what is held, whatever the status: nothing to check */
    }
    /* The workflow, as cdht register and cdht assess check it: registering (or changing the
     * group) needs none or draft, self scores and the digital level need draft or returned,
     * and, on a replica with a root, a writer grant covering the unit. */
    if (rec->a_new || rec->a_grp) {
        if ((rc = flow_check(im->r, &s, RULES_ACT_REGISTER, 0, NULL, why)) == ERR_DENIED) {
            BAD(rec->a_grp ? IMPORT_SCORE_GROUP : -1, "%s", why);
        }
        if (rc != ERR_OK) {
            return rc;
        }
    }
    if (s.a_live && (rec->a_dig || rec->s_new || rec->sc_put != 0)) {
        if ((rc = flow_check(im->r, &s, RULES_ACT_ASSESS, 0, NULL, why)) == ERR_DENIED) {
            BAD(-1, "%s", why);
        }
        if (rc != ERR_OK) {
            return rc;
        }
    }
#undef BAD
    return ERR_OK;
}

static err_code
importer_score_match(struct importer *im)
{
    struct importer_people pp = {0};
    struct importer_wanted w;
    struct imap seen = {0};
    struct importer_gcache *gc = calloc(1, sizeof *gc);
    char(*keys)[16 + REPLICA_ID_SIZE] = calloc(im->n_srecs + 1, sizeof *keys);
    err_code e = gc != NULL && keys != NULL ? ERR_OK : ERR_NOMEM;
    memset(&w, 0, sizeof w); /* releasing maps never made is a no-op */
    if (e == ERR_OK) {
        e = importer_wanted_init(&w, im->n_srecs);
    }
    for (size_t i = 0; i < im->n_srecs && e == ERR_OK; i++) {
        const struct importer_srec *rec = &im->srecs[i];
        if (!rec->bad) {
            e = importer_wanted_add(&w, rec->unit, rec->has_cid ? rec->cid : NULL, rec->id);
        }
    }
    if (e == ERR_OK) {
        e = importer_people_scan(im->r, &w, &pp);
    }
    importer_wanted_release(&w);
    if (e == ERR_OK) {
        e = imap_init(&seen, im->n_srecs);
    }
    for (size_t i = 0; i < im->n_srecs && e == ERR_OK; i++) {
        struct importer_srec *rec = &im->srecs[i];
        long m = -1;
        if (rec->bad || (e = importer_score_person(im, rec, &pp, &m)) != ERR_OK || m < 0) {
            continue;
        }
        snprintf(rec->pid, sizeof rec->pid, "%s", pp.p[m].id);
        /* One person and year twice: the later row is the bad one. */
        int n = snprintf(keys[i], sizeof keys[i], "%d:%s", rec->year, rec->pid);
        ASSERT(n > 0 && (size_t)n < sizeof keys[i]);
        long d = imap_get(&seen, keys[i], (size_t)n, -1);
        if (d >= 0) {
            rec->bad = 1;
            e = importer_bad(im, rec->line, -1, "duplicate row: same person and year as line %lu",
                             im->srecs[d].line);
            continue;
        }
        if ((e = imap_put(&seen, keys[i], (size_t)n, (long)i)) == ERR_OK) {
            e = importer_score_plan(im, gc, rec);
        }
    }
    imap_release(&seen);
    importer_people_release(&pp);
    free(keys);
    free(gc);
    return e;
}

static const char *const importer_score_cols[RULES_IND_MAX] = {"s01", "s02", "s03", "s04", "s05",
                                                               "s06", "s07", "s08", "s09", "s10"};

/* The changes of one row: at most an assessment and a self_score. */
struct importer_sput {
    const char *table;
    int exists; /* replica_txn_put's: 1 a new row, -1 untouched */
    struct replica_cell cells[SCHEMA_COLS_MAX];
    size_t n;
};

static size_t
importer_score_puts(const struct importer_srec *rec, struct importer_sput p[2])
{
    size_t np = 0;
    if (rec->a_new) {
        /* As cdht register writes it: round 1, a draft. */
        const struct replica_cell c[] = {
            {.col = "person", .type = SCHEMA_TEXT, .s = rec->pid},
            {.col = "year", .type = SCHEMA_INT, .i = rec->year},
            {.col = "unit", .type = SCHEMA_TEXT, .s = rec->a_unit},
            {.col = "target_group", .type = SCHEMA_TEXT, .s = rec->grp},
            {.col = "framework", .type = SCHEMA_TEXT, .s = rec->fw},
            {.col = "digital",
             .type = SCHEMA_TEXT,
             .s = rec->digital,
             .is_null = rec->digital == NULL},
            {.col = "round", .type = SCHEMA_INT, .i = 1},
            {.col = "stage", .type = SCHEMA_TEXT, .s = "draft"},
        };
        p[np] = (struct importer_sput){.table = "assessment", .exists = 1};
        memcpy(p[np].cells, c, sizeof c);
        p[np++].n = sizeof c / sizeof c[0];
    } else if (rec->a_grp || rec->a_dig) {
        struct importer_sput *q = &p[np++];
        *q = (struct importer_sput){.table = "assessment", .exists = -1};
        /* The unit is the change's scope (trust.c judges the unit a change names). */
        q->cells[q->n++] =
            (struct replica_cell){.col = "unit", .type = SCHEMA_TEXT, .s = rec->a_unit};
        if (rec->a_grp) {
            q->cells[q->n++] =
                (struct replica_cell){.col = "target_group", .type = SCHEMA_TEXT, .s = rec->grp};
        }
        if (rec->a_dig) {
            q->cells[q->n++] =
                (struct replica_cell){.col = "digital", .type = SCHEMA_TEXT, .s = rec->digital};
        }
    }
    if (rec->s_new || rec->sc_put != 0) {
        struct importer_sput *q = &p[np++];
        *q = (struct importer_sput){.table = "self_score", .exists = rec->s_new ? 1 : -1};
        q->cells[q->n++] =
            (struct replica_cell){.col = "unit", .type = SCHEMA_TEXT, .s = rec->a_unit};
        if (rec->s_new) {
            q->cells[q->n++] =
                (struct replica_cell){.col = "round", .type = SCHEMA_INT, .i = rec->round};
        }
        for (unsigned i = 0; i < RULES_IND_MAX; i++) {
            if (rec->sc_put & (1u << i)) {
                ASSERT(rec->sc.have[i]);
                q->cells[q->n++] = (struct replica_cell){
                    .col = importer_score_cols[i], .type = SCHEMA_INT, .i = rec->sc.v[i]};
            }
        }
        ASSERT(q->n <= SCHEMA_COLS_MAX);
    }
    return np;
}

/* Pass 2's writing half for score sheets, as importer_write for people: one batch, a row's
 * changes always in one leaf. With write 0 it only counts. */
static err_code
importer_score_write(struct importer *im, int write)
{
    struct importer_result *res = im->res;
    struct replica *r = im->r;
    struct replica_txn *t = NULL;
    size_t in_leaf = 0, bytes = 0;
    err_code e = ERR_OK;
    if (write && (e = replica_batch_begin(r)) != ERR_OK) {
        return e;
    }
    for (size_t i = 0; i < im->n_srecs && e == ERR_OK; i++) {
        const struct importer_srec *rec = &im->srecs[i];
        if (rec->bad) {
            continue;
        }
        struct importer_sput p[2];
        size_t np = importer_score_puts(rec, p);
        if (np == 0) {
            res->unchanged++;
            continue;
        }
        if (rec->a_new) {
            res->new_people++;
        } else {
            res->changed++;
        }
        if (!write) {
            continue;
        }
        char pk[16 + REPLICA_ID_SIZE];
        snprintf(pk, sizeof pk, "%d:%s", rec->year, rec->pid);
        size_t b = 0;
        for (size_t k = 0; k < np; k++) {
            b += importer_change_bytes(pk, p[k].cells, p[k].n);
        }
        if (t != NULL &&
            (in_leaf + np > IMPORT_LEAF_CHANGES_MAX || bytes + b > IMPORT_LEAF_BYTES_TARGET)) {
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
        for (size_t k = 0; k < np && e == ERR_OK; k++) {
            e = replica_txn_put(t, p[k].table, pk, p[k].exists, p[k].cells, p[k].n, 0);
            res->changes += e == ERR_OK;
        }
        in_leaf += np;
        bytes += b;
    }
    return importer_write_end(r, t, write, e, res);
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
    for (size_t i = 0; i < im->n_srecs; i++) {
        free(im->srecs[i].key);
    }
    free(im->srecs);
    imap_release(&im->known);
    for (size_t i = 0; i < im->n_known; i++) {
        free(im->known_codes[i]);
    }
    free(im->known_codes);
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

/* Both kinds of sheet: pass 1 through the row callback, then pass 2 (match, check, write). */
static err_code
importer_run(struct replica *r, int scores, const uint8_t *buf, size_t len, const char *name_hint,
             const struct importer_opts *o, struct importer_result *res, char why[SHEET_WHY_SIZE])
{
    ASSERT(r != NULL);
    ASSERT(o != NULL);
    memset(res, 0, sizeof *res);
    why[0] = '\0';
    struct importer im = {.r = r, .o = o, .res = res, .scores = scores};
    struct importer_people pp = {0};
    err_code rc = imap_init(&im.units, 1024);
    if (rc == ERR_OK) {
        rc = importer_load_units(&im);
    }
    if (rc == ERR_OK && scores) {
        rc = importer_load_codes(&im);
    }
    if (rc == ERR_OK) {
        rc = sheet_read_mem(buf, len, name_hint, importer_row_cb, &im, &res->format, why);
    }
    if (rc == ERR_OK && !im.have_header) {
        rc = ERR_INVAL;
        snprintf(why, SHEET_WHY_SIZE, "empty file: no header row");
    }
    if (im.header_bad) {
        rc = ERR_INVAL;
        snprintf(why, SHEET_WHY_SIZE,
                 "the header row does not match the template "
                 "(docs/import-template.md; cdht template%s writes one)",
                 scores ? " --kind scores" : "");
    }
    if (rc == ERR_OK && !scores) {
        if ((rc = importer_load_people(&im, &pp)) == ERR_OK) {
            rc = importer_match(&im, &pp);
        }
        for (size_t i = 0; rc == ERR_OK && i < im.n_recs; i++) {
            res->bad_rows += im.recs[i].bad != 0;
        }
    } else if (rc == ERR_OK) {
        rc = importer_score_match(&im);
        for (size_t i = 0; rc == ERR_OK && i < im.n_srecs; i++) {
            res->bad_rows += im.srecs[i].bad != 0;
        }
    }
    if (rc == ERR_OK) {
        int write = !o->dry_run && (res->bad_rows == 0 || o->skip_bad);
        rc = scores ? importer_score_write(&im, write) : importer_write(&im, &pp, write);
    }
    err_code hr = importer_hand_over_bad(&im);
    rc = rc == ERR_OK ? hr : rc;
    importer_people_release(&pp);
    importer_release(&im);
    return rc;
}

err_code
importer_persons_mem(struct replica *r, const uint8_t *buf, size_t len, const char *name_hint,
                     const struct importer_opts *o, struct importer_result *res,
                     char why[SHEET_WHY_SIZE])
{
    return importer_run(r, 0, buf, len, name_hint, o, res, why);
}

err_code
importer_scores_mem(struct replica *r, const uint8_t *buf, size_t len, const char *name_hint,
                    const struct importer_opts *o, struct importer_result *res,
                    char why[SHEET_WHY_SIZE])
{
    return importer_run(r, 1, buf, len, name_hint, o, res, why);
}

static err_code
importer_file(struct replica *r, int scores, const char *path, const struct importer_opts *o,
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
    size_t cap =
        (uint64_t)st.st_size > SHEET_FILE_SIZE_MAX ? SHEET_FILE_SIZE_MAX + 1u : (size_t)st.st_size;
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
        rc = importer_run(r, scores, buf, len, path, o, res, why);
    }
    free(buf);
    return rc;
}

err_code
importer_persons(struct replica *r, const char *path, const struct importer_opts *o,
                 struct importer_result *res, char why[SHEET_WHY_SIZE])
{
    return importer_file(r, 0, path, o, res, why);
}

err_code
importer_scores(struct replica *r, const char *path, const struct importer_opts *o,
                struct importer_result *res, char why[SHEET_WHY_SIZE])
{
    return importer_file(r, 1, path, o, res, why);
}

/* Adds code (max points) to codes unless there: the union keeps the first group's order. */
static void
importer_code_add(struct importer_score_code *codes, size_t *n, const char *code, int max)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(codes[i].code, code) == 0) {
            codes[i].max = max > codes[i].max ? max : codes[i].max;
            return;
        }
    }
    if (*n < IMPORT_SCORE_CODES_MAX && strlen(code) < IMPORT_SCORE_CODE_SIZE) {
        snprintf(codes[*n].code, sizeof codes[*n].code, "%s", code);
        codes[(*n)++].max = max;
    }
}

err_code
importer_score_codes(struct replica *r, const char *fw,
                     struct importer_score_code codes[IMPORT_SCORE_CODES_MAX], size_t *n)
{
    *n = 0;
    if (fw == NULL) {
        struct rules_group g;
        seed_group_rules(&g);
        for (int i = 0; i < g.n; i++) {
            importer_code_add(codes, n, seed_indicators[i].code, g.max[i]);
        }
        return ERR_OK;
    }
    ASSERT(r != NULL);
    struct flow_framework f;
    err_code rc = flow_framework_get(r, fw, &f);
    if (rc != ERR_OK) {
        return rc;
    }
    /* The group names first (a cached statement is reset before the next one is used). */
    char grps[16][FLOW_WORD_SIZE];
    size_t ng = 0;
    sqlite3_stmt *q = store_stmt(r->st, "SELECT grp FROM framework_group WHERE framework=?1 AND "
                                        "_live ORDER BY pos, grp");
    if (q == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_text(q, 1, fw, -1, SQLITE_TRANSIENT);
    int src;
    while ((src = sqlite3_step(q)) == SQLITE_ROW && ng < sizeof grps / sizeof grps[0]) {
        const char *g = (const char *)sqlite3_column_text(q, 0);
        if (g != NULL && strlen(g) < sizeof grps[0]) {
            snprintf(grps[ng++], sizeof grps[0], "%s", g);
        }
    }
    sqlite3_reset(q);
    if (src != SQLITE_DONE && src != SQLITE_ROW) {
        return ERR_DB;
    }
    for (size_t k = 0; k < ng; k++) {
        struct flow_group g;
        if ((rc = flow_group_get(r, fw, grps[k], &g)) == ERR_NOTFOUND || rc == ERR_CORRUPT) {
            continue; /* a group published without indicators: it has no columns */
        }
        if (rc != ERR_OK) {
            return rc;
        }
        for (int i = 0; i < g.g.n; i++) {
            importer_code_add(codes, n, g.code[i], g.g.max[i]);
        }
    }
    return *n > 0 ? ERR_OK : ERR_NOTFOUND;
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
