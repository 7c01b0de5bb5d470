/*
 * Search keys for people's names: a name folded without diacritics, case or extra spacing, so
 * that "nguyen van truong" finds "Nguyễn Văn Trường" whatever keyboard typed either (NFC, NFD
 * or mixed), and the token-prefix rule that `cdht person find` and `person duplicates` use.
 * A folded key is for comparing only: it is never stored or replicated, and never logged (it
 * is a name, personal data).
 */
#ifndef CDHT_FOLD_H
#define CDHT_FOLD_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "limits.h"

/* Longest text fold_text accepts, in bytes before folding. A stored name is at most
 * PERSON_NAME_SIZE_MAX bytes in NFC; typed in NFD a Vietnamese letter with two marks takes
 * 5 bytes instead of 3, so four times the name limit covers any name however it was typed,
 * and a spreadsheet header cell too. It bounds the work of one fold (one pass, no allocation)
 * and the stack buffer of one key. Longer input is ERR_MSGSIZE, never truncated: a truncated
 * key would match names it should not. */
#define FOLD_TEXT_SIZE_MAX (4u * PERSON_NAME_SIZE_MAX)
/* A buffer that holds any key folded from Vietnamese text of FOLD_TEXT_SIZE_MAX bytes, with its
 * terminating NUL: folding Vietnamese only removes bytes. Compatibility characters can grow
 * (U+FDFA becomes 18 code points); their key may not fit, and fold_text then says ERR_MSGSIZE. */
#define FOLD_KEY_SIZE (FOLD_TEXT_SIZE_MAX + 1u)
/* Words in one search: a Vietnamese full name has two to six. The bound keeps a match at most
 * FOLD_QUERY_TOKENS_MAX scans of one key, and the query struct small enough for the stack. */
#define FOLD_QUERY_TOKENS_MAX 16u
/* Code points one code point may decompose into (utf8proc's longest, U+FDFA, gives 18). */
#define FOLD_DECOMPOSE_MAX 32u

static_assert(FOLD_KEY_SIZE <= UINT16_MAX, "token offsets and lengths are uint16_t");
static_assert(FOLD_TEXT_SIZE_MAX >= PERSON_NAME_SIZE_MAX, "a stored name can be folded");

/* Folds in into a search key in out (cap bytes, NUL included): compatibility decomposition
 * (NFKD), combining marks removed, đ/Đ (and the look-alike ð/Ð) mapped to d because they have
 * no decomposition, case folded (lower case), default-ignorable characters (zero-width spaces,
 * soft hyphens) removed, and every run of white space or control characters collapsed to one
 * space, none at either end. Punctuation is kept as typed. "  Đặng  THỊ Lệ " -> "dang thi le".
 * ERR_INVAL: in is not valid UTF-8. ERR_MSGSIZE: in is longer than FOLD_TEXT_SIZE_MAX bytes, or
 * the key does not fit in cap. On any error out is "" (when cap > 0). */
err_code fold_text(const char *in, char *out, size_t cap) WARN_UNUSED;

/* How well a name matches a search, best last, so that a larger value sorts first when
 * ordered descending. */
enum fold_match {
    FOLD_MATCH_NONE = 0,
    FOLD_MATCH_PREFIX = 1, /* every search word starts a different word of the name */
    FOLD_MATCH_WORDS = 2,  /* every search word is a whole, different word of the name */
    FOLD_MATCH_EXACT = 3,  /* the whole folded name equals the folded search */
};

/* One word of a folded search: bytes [off, off + len) of its key. */
struct fold_token {
    uint16_t off, len;
};

/* A folded search, cut into its words. Words are kept longest first: see fold.c:fold_assign. */
struct fold_query {
    char key[FOLD_KEY_SIZE];
    unsigned count; /* 1..FOLD_QUERY_TOKENS_MAX */
    struct fold_token tok[FOLD_QUERY_TOKENS_MAX];
};

/* Folds and splits text. ERR_INVAL: not valid UTF-8, or nothing left to search for (empty or
 * only spaces). ERR_MSGSIZE: longer than FOLD_TEXT_SIZE_MAX bytes or more than
 * FOLD_QUERY_TOKENS_MAX words. *reason (when not NULL) gets a static English sentence that
 * never repeats the text. */
err_code fold_query_init(struct fold_query *q, const char *text, const char **reason) WARN_UNUSED;

/* Matches a folded key (from fold_text) against a search. The rule: each search word must be
 * a prefix of a different word of the name, in any order. So "nguyen van truong", "truong",
 * "truong nguyen" and "ng v tr" all find "Nguyễn Văn Trường"; "van van" does not (the name has
 * one "van"), nor does "uyen" (a word must start where a name word starts). */
enum fold_match fold_match(const struct fold_query *q, const char *key);

/* Registers two SQL functions on db, both deterministic and harmless to call from views:
 *   cdht_fold(text)            the key of text; NULL when text is NULL or cannot be folded
 *   cdht_fold_match(name, q)   enum fold_match of name against the search q (raw text, folded
 *                              once per statement through sqlite3_set_auxdata); NULL when q
 *                              is not a valid search, 0 when name cannot be folded.
 * ERR_DB when SQLite refuses. */
err_code fold_register(sqlite3 *db) WARN_UNUSED;

#endif
