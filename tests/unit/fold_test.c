/*
 * Tests for node/fold.c: search keys for Vietnamese names (every tone on every vowel, the
 * modified vowels, đ, NFD and mixed input, case, spacing, invisible characters), the refusals
 * (invalid UTF-8, input and output limits), the token-prefix match, and the two SQL functions.
 * Precomposed letters are written as UTF-8 literals; decomposed (NFD) ones as byte escapes, so
 * that an editor normalising this file cannot turn them into the NFC forms they test against.
 */
#include <criterion/criterion.h>

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "fold.h"

/* "Nguyễn Văn Trường" in NFC, and in NFD: e + U+0302 + U+0303, a + U+0306, u + U+031B,
 * o + U+031B + U+0300. */
#define NAME_NFC "Nguy\xe1\xbb\x85n V\xc4\x83n Tr\xc6\xb0\xe1\xbb\x9dng"
#define NAME_NFD "Nguye\xcc\x82\xcc\x83n Va\xcc\x86n Tru\xcc\x9bo\xcc\x9b\xcc\x80ng"

static void
assert_folds(const char *in, const char *want)
{
    char out[FOLD_KEY_SIZE];
    cr_assert_eq(fold_text(in, out, sizeof out), ERR_OK, "folding [%s]", in);
    cr_assert_str_eq(out, want, "folding [%s]", in);
}

static void
assert_fold_fails(const char *in, size_t cap, err_code want)
{
    char out[FOLD_KEY_SIZE];
    memset(out, 'x', sizeof out);
    cr_assert_leq(cap, sizeof out);
    cr_assert_eq(fold_text(in, out, cap), want);
    cr_assert_str_eq(out, "", "on an error the key is empty, never a partial key");
}

/* Each of the 12 Vietnamese vowels with no tone and the five tones (huyền, sắc, hỏi, ngã,
 * nặng), lower and upper case, folds to its base letter. */
Test(fold, six_tones_on_every_vowel)
{
    static const char *const rows[][2] = {
        {"aàáảãạ", "aaaaaa"}, {"ăằắẳẵặ", "aaaaaa"}, {"âầấẩẫậ", "aaaaaa"}, {"eèéẻẽẹ", "eeeeee"},
        {"êềếểễệ", "eeeeee"}, {"iìíỉĩị", "iiiiii"}, {"oòóỏõọ", "oooooo"}, {"ôồốổỗộ", "oooooo"},
        {"ơờớởỡợ", "oooooo"}, {"uùúủũụ", "uuuuuu"}, {"ưừứửữự", "uuuuuu"}, {"yỳýỷỹỵ", "yyyyyy"},
        {"AÀÁẢÃẠ", "aaaaaa"}, {"ĂẰẮẲẴẶ", "aaaaaa"}, {"ÂẦẤẨẪẬ", "aaaaaa"}, {"EÈÉẺẼẸ", "eeeeee"},
        {"ÊỀẾỂỄỆ", "eeeeee"}, {"IÌÍỈĨỊ", "iiiiii"}, {"OÒÓỎÕỌ", "oooooo"}, {"ÔỒỐỔỖỘ", "oooooo"},
        {"ƠỜỚỞỠỢ", "oooooo"}, {"UÙÚỦŨỤ", "uuuuuu"}, {"ƯỪỨỬỮỰ", "uuuuuu"}, {"YỲÝỶỸỴ", "yyyyyy"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        assert_folds(rows[i][0], rows[i][1]);
    }
}

/* The six modified vowels lose their breve, circumflex or horn, in words as they occur. */
Test(fold, modified_vowels)
{
    assert_folds("Thơ Tư Hằng Tâm Huệ Hồng", "tho tu hang tam hue hong");
    assert_folds("ơ ư ă â ê ô Ơ Ư Ă Â Ê Ô", "o u a a e o o u a a e o");
    assert_folds("Trường Phước Quỳnh Khuê", "truong phuoc quynh khue");
}

/* Đ and đ have no decomposition and are mapped by hand; so is the look-alike Ð (U+00D0). */
Test(fold, d_with_stroke)
{
    assert_folds("Đặng Đình đức", "dang dinh duc");
    assert_folds("\xc3\x90\xe1\xba\xb7ng \xc3\xb0\xe1\xbb\xa9\x63", "dang duc"); /* Ðặng ðức */
}

/* NFD and mixed input give the same key as NFC, whatever the order of two marks. */
Test(fold, nfd_and_mixed_input)
{
    cr_assert_neq(strcmp(NAME_NFC, NAME_NFD), 0);
    assert_folds(NAME_NFC, "nguyen van truong");
    assert_folds(NAME_NFD, "nguyen van truong");
    assert_folds("Nguy\xe1\xbb\x85n Va\xcc\x86n Tr\xc6\xb0o\xcc\x80\xcc\x9bng",
                 "nguyen van truong");
    /* Đặng Thị Lệ with the dot below before and after the breve / circumflex. */
    assert_folds("\xc4\x90\x61\xcc\xa3\xcc\x86ng Thi\xcc\xa3 Le\xcc\xa3\xcc\x82", "dang thi le");
    assert_folds("\xc4\x90\x61\xcc\x86\xcc\xa3ng Thi\xcc\xa3 Le\xcc\x82\xcc\xa3", "dang thi le");
}

Test(fold, mixed_case)
{
    assert_folds("NGUYỄN văn TrƯỜNG", "nguyen van truong");
    assert_folds("nGuYễN", "nguyen");
}

/* Runs of any white space (tab, line break, no-break, ideographic) become one space, none at
 * the ends; zero-width and soft-hyphen characters vanish; empty stays empty. */
Test(fold, spacing_and_invisible_characters)
{
    assert_folds("  Nguyễn \t Văn\xc2\xa0\xc2\xa0Trường \n", "nguyen van truong");
    assert_folds("Nguyễn\xe3\x80\x80Văn\xe2\x80\xa8Trường", "nguyen van truong");
    assert_folds("Trư\xe2\x80\x8bờng Ho\xc2\xad\xc3\xa0", "truong hoa"); /* ZWSP, soft hyphen */
    assert_folds("", "");
    assert_folds(" \t\n ", "");
    /* Punctuation is kept: it is part of some minority names (H'Linh, Y-Moan). */
    assert_folds("H'Linh Niê", "h'linh nie");
}

/* Compatibility characters fold to what they look like: a ligature, fullwidth letters. */
Test(fold, compatibility_characters)
{
    assert_folds("Phư\xef\xac\x81", "phufi");                    /* ﬁ U+FB01 */
    assert_folds("\xef\xbc\xae\xef\xbd\x87\xef\xbd\x95", "ngu"); /* fullwidth Ｎｇｕ */
}

/* Every malformed sequence is ERR_INVAL and leaves an empty key. */
Test(fold, invalid_utf8)
{
    assert_fold_fails("\xff", FOLD_KEY_SIZE, ERR_INVAL);
    assert_fold_fails("Nguy\x80n", FOLD_KEY_SIZE, ERR_INVAL);        /* lone continuation */
    assert_fold_fails("Nguy\xe1\xbb", FOLD_KEY_SIZE, ERR_INVAL);     /* truncated ễ */
    assert_fold_fails("\xc0\xaf", FOLD_KEY_SIZE, ERR_INVAL);         /* overlong '/' */
    assert_fold_fails("a\xed\xa0\x80", FOLD_KEY_SIZE, ERR_INVAL);    /* surrogate U+D800 */
    assert_fold_fails("\xf4\x90\x80\x80", FOLD_KEY_SIZE, ERR_INVAL); /* above U+10FFFF */
}

/* The input limit, at the limit and one byte over (ASCII and NFD), and the output capacity. */
Test(fold, limits)
{
    char *in = malloc(FOLD_TEXT_SIZE_MAX + 2);
    cr_assert_not_null(in);
    memset(in, 'a', FOLD_TEXT_SIZE_MAX);
    in[FOLD_TEXT_SIZE_MAX] = '\0';
    char *out = malloc(FOLD_KEY_SIZE);
    cr_assert_not_null(out);
    cr_assert_eq(fold_text(in, out, FOLD_KEY_SIZE), ERR_OK);
    cr_assert_eq(strlen(out), FOLD_TEXT_SIZE_MAX);
    in[FOLD_TEXT_SIZE_MAX] = 'a';
    in[FOLD_TEXT_SIZE_MAX + 1] = '\0';
    assert_fold_fails(in, FOLD_KEY_SIZE, ERR_MSGSIZE);

    /* NFD ễ is 5 bytes: 204 of them fill 1020 bytes; the key is 204 bytes of 'e'. */
    static_assert(FOLD_TEXT_SIZE_MAX == 1024u, "the counts below");
    size_t n = 0;
    for (int i = 0; i < 204; i++) {
        memcpy(in + n, "e\xcc\x82\xcc\x83", 5);
        n += 5;
    }
    memcpy(in + n, "abcd", 5);
    cr_assert_eq(fold_text(in, out, FOLD_KEY_SIZE), ERR_OK);
    cr_assert_eq(strlen(out), 208u);
    memcpy(in + n, "abcde", 6); /* 1025 bytes */
    assert_fold_fails(in, FOLD_KEY_SIZE, ERR_MSGSIZE);

    /* cap counts the NUL: "Văn" needs 4 bytes. */
    cr_assert_eq(fold_text("Văn", out, 4), ERR_OK);
    cr_assert_str_eq(out, "van");
    assert_fold_fails("Văn", 3, ERR_MSGSIZE);
    assert_fold_fails("V n", 3, ERR_MSGSIZE);
    cr_assert_eq(fold_text("", out, 1), ERR_OK);
    /* A compatibility character that grows: U+FDFA is 18 code points (33 bytes) from 3 bytes. */
    assert_fold_fails("\xef\xb7\xba", 33, ERR_MSGSIZE);
    cr_assert_eq(fold_text("\xef\xb7\xba", out, 34), ERR_OK);
    free(in);
    free(out);
}

static enum fold_match
match(const char *search, const char *name)
{
    struct fold_query q;
    char key[FOLD_KEY_SIZE];
    cr_assert_eq(fold_query_init(&q, search, NULL), ERR_OK, "search [%s]", search);
    cr_assert_eq(fold_text(name, key, sizeof key), ERR_OK);
    return fold_match(&q, key);
}

/* The example and the token-prefix rule: words in any order, each a prefix of a
 * different word of the name. */
Test(fold, token_prefix_match)
{
    cr_assert_eq(match("nguyen van truong", NAME_NFC), FOLD_MATCH_EXACT);
    cr_assert_eq(match("nguyen van truong", NAME_NFD), FOLD_MATCH_EXACT);
    cr_assert_eq(match("NGUYỄN  văn trường ", NAME_NFC), FOLD_MATCH_EXACT);
    cr_assert_eq(match("truong", NAME_NFC), FOLD_MATCH_WORDS);
    cr_assert_eq(match("truong nguyen", NAME_NFC), FOLD_MATCH_WORDS);
    cr_assert_eq(match("ng v tr", NAME_NFC), FOLD_MATCH_PREFIX);
    cr_assert_eq(match("tru", NAME_NFC), FOLD_MATCH_PREFIX);
    cr_assert_eq(match("uyen", NAME_NFC), FOLD_MATCH_NONE);     /* not a word start */
    cr_assert_eq(match("van van", NAME_NFC), FOLD_MATCH_NONE);  /* one "van" only */
    cr_assert_eq(match("truong x", NAME_NFC), FOLD_MATCH_NONE); /* every word must match */
    cr_assert_eq(match("nguyen van truong a", NAME_NFC), FOLD_MATCH_NONE);
    cr_assert_eq(match("nguyen van", "Nguyễn Thị Vân"), FOLD_MATCH_WORDS); /* no diacritics */
    cr_assert_eq(match("nguyen nguyen", "Nguyễn Thị Nguyên"), FOLD_MATCH_WORDS);
    cr_assert_eq(match("dang", "Đặng Thị Lệ"), FOLD_MATCH_WORDS);
}

/* Longest search word first makes greedy assignment exact: taking the shorter "n" first would
 * give it "nguyen" and leave "ng" nothing. */
Test(fold, greedy_order_is_exact)
{
    cr_assert_eq(match("n ng", "Nguyễn Nam"), FOLD_MATCH_PREFIX);
    cr_assert_eq(match("ng n", "Nam Nguyễn"), FOLD_MATCH_PREFIX);
    cr_assert_eq(match("n ng", "Nam Nhung"), FOLD_MATCH_NONE);
    cr_assert_eq(match("an anh", "Anh An"), FOLD_MATCH_WORDS);
}

Test(fold, query_refusals)
{
    struct fold_query q;
    const char *why = NULL;
    cr_assert_eq(fold_query_init(&q, "", &why), ERR_INVAL);
    cr_assert_str_eq(why, "nothing to search for");
    cr_assert_eq(fold_query_init(&q, " \t\xe2\x80\x8b ", &why), ERR_INVAL);
    cr_assert_str_eq(why, "nothing to search for");
    cr_assert_eq(fold_query_init(&q, "Nguy\xff", &why), ERR_INVAL);
    cr_assert_str_eq(why, "the search text is not valid UTF-8");
    /* 16 words pass, 17 do not. */
    cr_assert_eq(fold_query_init(&q, "a b c d e f g h i j k l m n o p", &why), ERR_OK);
    cr_assert_null(why);
    cr_assert_eq(q.count, FOLD_QUERY_TOKENS_MAX);
    cr_assert_eq(fold_query_init(&q, "a b c d e f g h i j k l m n o p q", &why), ERR_MSGSIZE);
    cr_assert_str_eq(why, "the search has too many words (at most 16)");
    char *in = malloc(FOLD_TEXT_SIZE_MAX + 2);
    cr_assert_not_null(in);
    memset(in, 'a', FOLD_TEXT_SIZE_MAX + 1);
    in[FOLD_TEXT_SIZE_MAX + 1] = '\0';
    cr_assert_eq(fold_query_init(&q, in, &why), ERR_MSGSIZE);
    cr_assert_str_eq(why, "the search text is too long");
    free(in);
}

/* The SQL functions give the same answers inside SQLite, NULL for what cannot be folded, and
 * a search bound once is folded once per statement (auxdata) yet correct on every row. */
Test(fold, sql_functions)
{
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
    cr_assert_eq(fold_register(db), ERR_OK);
    cr_assert_eq(sqlite3_exec(db,
                              "CREATE TABLE p(n TEXT); INSERT INTO p VALUES ('" NAME_NFD
                              "'), ('Trần Văn Trường'), ('Lê Thị Hoa'), (NULL), "
                              "('" NAME_NFC "'), (x'ff')",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    sqlite3_stmt *s = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db,
                                    "SELECT cdht_fold(n), cdht_fold_match(n, ?1) AS m FROM p "
                                    "ORDER BY m DESC, cdht_fold(n), rowid",
                                    -1, &s, NULL),
                 SQLITE_OK);
    sqlite3_bind_text(s, 1, "van truong", -1, SQLITE_STATIC);
    static const struct {
        const char *key;
        int m;
    } want[] = {
        {"nguyen van truong", FOLD_MATCH_WORDS},
        {"nguyen van truong", FOLD_MATCH_WORDS},
        {"tran van truong", FOLD_MATCH_WORDS},
        {NULL, FOLD_MATCH_NONE},
        {NULL, FOLD_MATCH_NONE},
        {"le thi hoa", FOLD_MATCH_NONE},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        cr_assert_eq(sqlite3_step(s), SQLITE_ROW, "row %zu", i);
        const char *k = (const char *)sqlite3_column_text(s, 0);
        if (want[i].key == NULL) {
            cr_assert_null(k, "row %zu", i);
        } else {
            cr_assert_str_eq(k, want[i].key, "row %zu", i);
        }
        cr_assert_eq(sqlite3_column_int(s, 1), want[i].m, "row %zu", i);
    }
    cr_assert_eq(sqlite3_step(s), SQLITE_DONE);
    /* A search that is not valid gives NULL, not an error. */
    sqlite3_reset(s);
    sqlite3_bind_text(s, 1, "  ", -1, SQLITE_STATIC);
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_type(s, 1), SQLITE_NULL);
    sqlite3_finalize(s);
    sqlite3_close(db);
}
