/*
 * Diacritic-, case- and space-insensitive search keys for names (DOMAIN.md "Names": "nguyen van
 * truong" finds "Nguyễn Văn Trường"), the token-prefix rule that matches a search against a
 * key, and the SQL functions that let `cdht person find` and `person duplicates` filter and
 * sort inside SQLite. Keys are computed when needed and never stored: the stored name stays the
 * NFC text domain.c made, so a better fold later changes no replicated byte.
 */
#include "fold.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* Per code point, with no allocation: compatibility decomposition (so "ﬁ" is "fi" and a
 * no-break space is a space), case folding, marks and default-ignorable characters dropped.
 * Canonical reordering, which utf8proc_map would also do, only moves combining marks, and
 * every mark is dropped here, so decomposing one code point at a time gives the same key. */
#define FOLD_OPTIONS                                                                               \
    (UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_STRIPMARK | UTF8PROC_CASEFOLD |               \
     UTF8PROC_IGNORE)

/* Letters with no decomposition that Vietnamese readers see as a plain letter with a mark:
 * đ U+0111 / Đ U+0110, and ð U+00F0 / Ð U+00D0, which some keyboards and OCR produce for Đ
 * (the same glyph). Case folding has already run, so only the lower-case forms arrive; the
 * upper-case ones are listed too, so that this does not depend on utf8proc's option order. */
static utf8proc_int32_t
fold_letter(utf8proc_int32_t cp)
{
    if (cp == 0x0111 || cp == 0x0110 || cp == 0x00f0 || cp == 0x00d0) {
        return 'd';
    }
    return cp;
}

/* White space and control characters separate words. Compatibility decomposition has already
 * turned most spaces (no-break, en, em, thin, ideographic) into U+0020; the category test
 * catches the rest (U+1680, the line and paragraph separators) whatever the utf8proc version.
 * A tab or line break pasted from a spreadsheet is a separator, as in domain.c's name folding,
 * and other control characters are not letters anyone searches for. */
static bool
fold_is_space(utf8proc_int32_t cp)
{
    if (cp == ' ') {
        return true;
    }
    utf8proc_category_t cat = utf8proc_category(cp);
    return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL ||
           cat == UTF8PROC_CATEGORY_ZP || cat == UTF8PROC_CATEGORY_CC;
}

err_code
fold_text(const char *in, char *out, size_t cap)
{
    ASSERT(in != NULL);
    ASSERT(out != NULL);
    ASSERT(cap > 0);
    out[0] = '\0';
    /* strnlen: a huge input is refused after reading FOLD_TEXT_SIZE_MAX + 1 bytes, not all. */
    size_t in_len = strnlen(in, FOLD_TEXT_SIZE_MAX + 1u);
    if (in_len > FOLD_TEXT_SIZE_MAX) {
        return ERR_MSGSIZE;
    }
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)in;
    size_t len = 0, pos = 0;
    bool space_pending = false;
    /* Each pass consumes at least one byte, so there are at most in_len passes. */
    for (size_t pass = 0; pass < in_len && pos < in_len; pass++) {
        utf8proc_int32_t cp = -1;
        /* utf8proc_iterate refuses overlong forms, surrogates, lone continuation bytes,
         * truncated sequences and code points above U+10FFFF. */
        utf8proc_ssize_t cp_len = utf8proc_iterate(p + pos, (utf8proc_ssize_t)(in_len - pos), &cp);
        if (cp_len <= 0) {
            out[0] = '\0';
            return ERR_INVAL;
        }
        pos += (size_t)cp_len;
        utf8proc_int32_t dec[FOLD_DECOMPOSE_MAX];
        int boundclass = 0; /* unused without UTF8PROC_CHARBOUND, but the API wants it */
        utf8proc_ssize_t n = utf8proc_decompose_char(cp, dec, (utf8proc_ssize_t)FOLD_DECOMPOSE_MAX,
                                                     FOLD_OPTIONS, &boundclass);
        /* n > FOLD_DECOMPOSE_MAX would be a longer decomposition than Unicode has today. */
        if (NEVER(n < 0 || n > (utf8proc_ssize_t)FOLD_DECOMPOSE_MAX)) {
            out[0] = '\0';
            return n < 0 ? ERR_INVAL : ERR_MSGSIZE;
        }
        for (utf8proc_ssize_t i = 0; i < n; i++) {
            utf8proc_int32_t c = fold_letter(dec[i]);
            if (fold_is_space(c)) {
                /* Leading space is dropped by never setting it before the first letter,
                 * trailing space by never flushing it. */
                space_pending = len > 0;
                continue;
            }
            utf8proc_uint8_t enc[4];
            utf8proc_ssize_t k = utf8proc_encode_char(c, enc);
            ASSERT(k > 0 && k <= 4);
            if (len + (space_pending ? 1u : 0u) + (size_t)k + 1u > cap) {
                out[0] = '\0';
                return ERR_MSGSIZE;
            }
            if (space_pending) {
                out[len++] = ' ';
                space_pending = false;
            }
            memcpy(out + len, enc, (size_t)k);
            len += (size_t)k;
        }
    }
    ASSERT(len < cap);
    out[len] = '\0';
    return ERR_OK;
}

static void
fold_reason(const char **reason, const char *why)
{
    if (reason != NULL) {
        *reason = why;
    }
}

err_code
fold_query_init(struct fold_query *q, const char *text, const char **reason)
{
    ASSERT(q != NULL);
    ASSERT(text != NULL);
    memset(q, 0, sizeof *q);
    fold_reason(reason, NULL);
    err_code rc = fold_text(text, q->key, sizeof q->key);
    if (rc == ERR_INVAL) {
        fold_reason(reason, "the search text is not valid UTF-8");
        return rc;
    }
    if (rc != ERR_OK) {
        fold_reason(reason, "the search text is too long");
        return rc;
    }
    /* The key has single spaces and none at either end, so words are the runs between. */
    size_t len = strlen(q->key);
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (q->key[i] != ' ' && q->key[i] != '\0') {
            continue;
        }
        if (i > start) {
            if (q->count == FOLD_QUERY_TOKENS_MAX) {
                fold_reason(reason, "the search has too many words (at most 16)");
                return ERR_MSGSIZE;
            }
            q->tok[q->count].off = (uint16_t)start;
            q->tok[q->count].len = (uint16_t)(i - start);
            q->count++;
        }
        start = i + 1;
    }
    static_assert(FOLD_QUERY_TOKENS_MAX == 16u, "the message above names the limit");
    if (q->count == 0) {
        fold_reason(reason, "nothing to search for");
        return ERR_INVAL;
    }
    /* Longest first (insertion sort of at most 16). Why this order makes a greedy match
     * exact is explained in fold_assign. */
    for (unsigned i = 1; i < q->count; i++) {
        for (unsigned j = i; j > 0 && q->tok[j].len > q->tok[j - 1].len; j--) {
            struct fold_token t = q->tok[j];
            q->tok[j] = q->tok[j - 1];
            q->tok[j - 1] = t;
        }
    }
    ASSERT(q->count >= 1);
    ASSERT(q->count <= FOLD_QUERY_TOKENS_MAX);
    return ERR_OK;
}

/* Assigns each search word a different word of key that it starts (whole: that it equals).
 * Returns true when every search word got one.
 *
 * Greedy is exact here, without a general bipartite matching. The name words a search word w
 * can take are those that start with w. For two search words, these sets are either disjoint
 * (neither word is a prefix of the other) or nested (the longer word's set lies inside the
 * shorter's). Taking the search words longest first, any name word the current one takes is
 * also acceptable to every shorter word that could compete for it, so no earlier choice can
 * block a matching that exists (the usual exchange argument for nested sets). With whole
 * words, sets are equal or disjoint, which is the same argument. */
static bool
fold_assign(const struct fold_query *q, const char *key, size_t key_len, bool whole)
{
    size_t used[FOLD_QUERY_TOKENS_MAX]; /* offsets in key of the name words taken so far */
    unsigned used_count = 0;
    for (unsigned t = 0; t < q->count; t++) {
        const char *w = q->key + q->tok[t].off;
        size_t w_len = q->tok[t].len;
        bool found = false;
        size_t start = 0;
        /* One scan of key: each pass moves i forward by one byte. */
        for (size_t i = 0; i <= key_len && !found; i++) {
            if (key[i] != ' ' && key[i] != '\0') {
                continue;
            }
            size_t n_len = i - start;
            bool fits = whole ? n_len == w_len : n_len >= w_len;
            if (n_len > 0 && fits && memcmp(key + start, w, w_len) == 0) {
                bool taken = false;
                for (unsigned u = 0; u < used_count; u++) {
                    taken = taken || used[u] == start;
                }
                if (!taken) {
                    used[used_count++] = start;
                    found = true;
                }
            }
            start = i + 1;
        }
        if (!found) {
            return false;
        }
    }
    ASSERT(used_count == q->count);
    return true;
}

enum fold_match
fold_match(const struct fold_query *q, const char *key)
{
    ASSERT(q != NULL);
    ASSERT(key != NULL);
    ASSERT(q->count >= 1 && q->count <= FOLD_QUERY_TOKENS_MAX);
    if (strcmp(q->key, key) == 0) {
        return FOLD_MATCH_EXACT;
    }
    size_t key_len = strlen(key);
    if (fold_assign(q, key, key_len, true)) {
        return FOLD_MATCH_WORDS;
    }
    return fold_assign(q, key, key_len, false) ? FOLD_MATCH_PREFIX : FOLD_MATCH_NONE;
}

/* cdht_fold(text): the key, or NULL. The key buffer is on the stack: FOLD_KEY_SIZE is 1 KiB. */
static void
fold_sql_fold(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    ASSERT(argc == 1);
    const char *in = (const char *)sqlite3_value_text(argv[0]);
    char key[FOLD_KEY_SIZE];
    if (in == NULL || fold_text(in, key, sizeof key) != ERR_OK) {
        sqlite3_result_null(ctx);
        return;
    }
    sqlite3_result_text(ctx, key, -1, SQLITE_TRANSIENT);
}

/* cdht_fold_match(name, search). The search is folded and split once per statement: SQLite
 * keeps the parsed query as auxiliary data of argument 1 while that argument is constant (a
 * bound parameter is), and calls free when it is done with it. */
static void
fold_sql_match(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    ASSERT(argc == 2);
    struct fold_query *q = sqlite3_get_auxdata(ctx, 1);
    if (q == NULL) {
        const char *text = (const char *)sqlite3_value_text(argv[1]);
        if (text == NULL) {
            sqlite3_result_null(ctx);
            return;
        }
        if ((q = malloc(sizeof *q)) == NULL) {
            sqlite3_result_error_nomem(ctx);
            return;
        }
        if (fold_query_init(q, text, NULL) != ERR_OK) {
            free(q);
            sqlite3_result_null(ctx);
            return;
        }
        /* On failure SQLite calls free(q) itself, and get_auxdata below returns NULL. */
        sqlite3_set_auxdata(ctx, 1, q, free);
        if ((q = sqlite3_get_auxdata(ctx, 1)) == NULL) {
            sqlite3_result_error_nomem(ctx);
            return;
        }
    }
    const char *name = (const char *)sqlite3_value_text(argv[0]);
    char key[FOLD_KEY_SIZE];
    if (name == NULL || fold_text(name, key, sizeof key) != ERR_OK) {
        sqlite3_result_int(ctx, FOLD_MATCH_NONE);
        return;
    }
    sqlite3_result_int(ctx, (int)fold_match(q, key));
}

err_code
fold_register(sqlite3 *db)
{
    ASSERT(db != NULL);
    /* DETERMINISTIC lets SQLite factor calls out and use them in indexes of expressions;
     * INNOCUOUS lets views and triggers call them: neither reads or writes anything. */
    const int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
    int rc = sqlite3_create_function(db, "cdht_fold", 1, flags, NULL, fold_sql_fold, NULL, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_create_function(db, "cdht_fold_match", 2, flags, NULL, fold_sql_match, NULL,
                                     NULL);
    }
    return rc == SQLITE_OK ? ERR_OK : ERR_DB;
}
