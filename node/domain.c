/*
 * Learning Citizen input rules, applied before anything reaches the log: names are normalised
 * to NFC with utf8proc and folded so that the same name typed on two keyboards is stored as the
 * same bytes, and citizen ids, birth years, genders, target groups and unit kinds are checked
 * against the rules in DOMAIN.md, and so are the ISO dates of the units tree. Every refusal returns
 * ERR_INVAL with a static English reason that never repeats the value, because the value may be a
 * citizen id.
 */
#include "domain.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

static_assert(DOMAIN_CITIZEN_ID_DIGITS == 12u, "a CCCD number has 12 digits");
static_assert(crypto_generichash_BYTES == HASH_SIZE, "BLAKE2b-256 fills one HASH_SIZE");
static_assert(HASH_SIZE >= crypto_generichash_KEYBYTES_MIN, "the citizen-id key is long enough");
static_assert(HASH_SIZE <= crypto_generichash_KEYBYTES_MAX, "the citizen-id key is short enough");

/* Every refusal goes through here so that callers may pass reason == NULL when they only want
 * the code, and so that the reason is always one of the static strings below. */
static err_code
domain_fail(const char **reason, const char *why)
{
    ASSERT(why != NULL);
    if (reason != NULL) {
        *reason = why;
    }
    return ERR_INVAL;
}

static void
domain_ok(const char **reason)
{
    if (reason != NULL) {
        *reason = NULL;
    }
}

/* Unicode's White_Space property as it stands since Unicode 6.3 (U+180E left it then). A fixed
 * table keeps the stored bytes independent of the utf8proc version. It is a table rather than a
 * category test because tabs and line breaks are category Cc, yet a tab pasted from a
 * spreadsheet between two words of a name is a separator, not an attack: it folds to a space
 * instead of failing the whole name. */
static bool
domain_is_space(utf8proc_int32_t cp)
{
    if ((cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 || cp == 0xa0 || cp == 0x1680) {
        return true;
    }
    if ((cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f) {
        return true;
    }
    return cp == 0x205f || cp == 0x3000;
}

err_code
domain_name_normalize(const char *in, size_t max_bytes, char **out, const char **reason)
{
    err_code rc = ERR_OK;
    utf8proc_uint8_t *nfc = NULL;
    char *folded = NULL;
    ASSERT(in != NULL);
    ASSERT(out != NULL);
    *out = NULL;
    domain_ok(reason);

    /* NFC first, then folding: NFC maps some spaces to others (U+2000 EN QUAD becomes U+2002
     * EN SPACE), so folding afterwards sees the final code points. Folding cannot break NFC:
     * every white-space code point is a starter that composes with nothing, and replacing or
     * removing a starter that blocks composition leaves nothing new to compose. The fuzz
     * target tests/fuzz/fuzz_name.c checks exactly this property. */
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)in, (utf8proc_ssize_t)strlen(in),
                                      &nfc, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (n == UTF8PROC_ERROR_NOMEM) {
        return ERR_NOMEM;
    }
    if (n == UTF8PROC_ERROR_OVERFLOW) {
        return domain_fail(reason, "name is too long");
    }
    if (n < 0) {
        /* utf8proc_iterate refuses overlong forms, surrogates, lone continuation bytes,
         * truncated sequences and code points above U+10FFFF. */
        return domain_fail(reason, "name is not valid UTF-8");
    }

    /* Folding never grows the text: each run of white space of one byte or more becomes at
     * most one byte, and every other code point is copied unchanged. */
    folded = malloc((size_t)n + 1);
    if (folded == NULL) {
        rc = ERR_NOMEM;
        goto out;
    }
    size_t len = 0;
    bool space_pending = false;
    utf8proc_ssize_t pos = 0;
    /* Each pass consumes at least one byte, so there are at most n passes. */
    for (utf8proc_ssize_t pass = 0; pass < n && pos < n; pass++) {
        utf8proc_int32_t cp = -1;
        utf8proc_ssize_t cp_len = utf8proc_iterate(nfc + pos, n - pos, &cp);
        if (NEVER(cp_len <= 0)) {
            rc = domain_fail(reason, "name is not valid UTF-8");
            goto out;
        }
        const utf8proc_uint8_t *cp_bytes = nfc + pos;
        pos += cp_len;
        if (domain_is_space(cp)) {
            /* Leading white space is dropped by never setting a pending space before the
             * first visible character; trailing white space by never flushing it. */
            space_pending = len > 0;
            continue;
        }
        utf8proc_category_t cat = utf8proc_category(cp);
        if (cat == UTF8PROC_CATEGORY_CC) {
            rc = domain_fail(reason, "name contains a control character");
            goto out;
        }
        /* Format characters (zero-width spaces and joiners, bidirectional overrides, the byte
         * order mark, soft hyphens) are invisible: two names that look the same would differ
         * in bytes, which defeats de-duplication by name and birth year, and bidirectional
         * overrides can make a name display as something it is not. Vietnamese names in
         * Latin script never need them. */
        if (cat == UTF8PROC_CATEGORY_CF) {
            rc = domain_fail(reason, "name contains an invisible formatting character");
            goto out;
        }
        if (space_pending) {
            folded[len++] = ' ';
            space_pending = false;
        }
        memcpy(folded + len, cp_bytes, (size_t)cp_len);
        len += (size_t)cp_len;
        ASSERT(len <= (size_t)pos);
    }
    ASSERT(pos == n);
    if (len == 0) {
        rc = domain_fail(reason, "name is empty");
        goto out;
    }
    if (len > max_bytes) {
        rc = domain_fail(reason, "name is longer than allowed after normalisation");
        goto out;
    }
    folded[len] = '\0';
    *out = folded;
    folded = NULL; /* ownership moved to *out */
out:
    free(nfc);
    free(folded);
    return rc;
}

err_code
domain_gender_parse(const char *s, enum domain_gender *out, const char **reason)
{
    ASSERT(s != NULL);
    ASSERT(out != NULL);
    domain_ok(reason);
    if (strcmp(s, "male") == 0) {
        *out = DOMAIN_GENDER_MALE;
        return ERR_OK;
    }
    if (strcmp(s, "female") == 0) {
        *out = DOMAIN_GENDER_FEMALE;
        return ERR_OK;
    }
    return domain_fail(reason, "gender must be \"male\" or \"female\"");
}

const char *
domain_gender_str(enum domain_gender g)
{
    switch (g) {
    case DOMAIN_GENDER_MALE: return "male";
    case DOMAIN_GENDER_FEMALE: return "female";
    }
    /* The enum has two values and every parser produces one of them: anything else is a
     * memory error in our own code. */
    assert_fail("g is a domain_gender", __FILE__, __LINE__);
}

/* Looks s up in a list of exact, case-sensitive words. The stored values are
 * replicated and compared byte for byte, so "Farmer" is refused rather than silently folded. */
static bool
domain_word_in(const char *s, const char *const *words, size_t words_count)
{
    ASSERT(s != NULL);
    ASSERT(words != NULL);
    for (size_t i = 0; i < words_count; i++) {
        if (strcmp(s, words[i]) == 0) {
            return true;
        }
    }
    return false;
}

err_code
domain_group_check(const char *s, const char **reason)
{
    static const char *const groups[] = {"farmer", "worker", "official"};
    domain_ok(reason);
    if (!domain_word_in(s, groups, sizeof groups / sizeof groups[0])) {
        return domain_fail(reason, "target group must be farmer, worker or official");
    }
    return ERR_OK;
}

err_code
domain_unit_kind_check(const char *s, const char **reason)
{
    static const char *const kinds[] = {"province", "district", "commune",
                                        "village",  "school",   "agency"};
    domain_ok(reason);
    if (!domain_word_in(s, kinds, sizeof kinds / sizeof kinds[0])) {
        return domain_fail(reason, "unit kind must be province, district, commune, village, "
                                   "school or agency");
    }
    return ERR_OK;
}

err_code
domain_unit_code_check(const char *s, const char **reason)
{
    ASSERT(s != NULL);
    domain_ok(reason);
    /* strnlen bounds the scan: a hostile string without its terminator nearby is not read
     * further than one byte past the limit. */
    size_t len = strnlen(s, UNIT_CODE_SIZE_MAX + 1);
    if (len == 0) {
        return domain_fail(reason, "unit code is empty");
    }
    if (len > UNIT_CODE_SIZE_MAX) {
        return domain_fail(reason, "unit code is longer than 32 characters");
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        /* Spelled out rather than isalnum(): the locale must not widen the accepted set. */
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok) {
            return domain_fail(reason, "unit code may contain only A-Z, a-z, 0-9, '.', '_' "
                                       "and '-'");
        }
    }
    return ERR_OK;
}

err_code
domain_birth_year_check(long year, int current_year, const char **reason)
{
    domain_ok(reason);
    if (year < DOMAIN_BIRTH_YEAR_MIN) {
        return domain_fail(reason, "birth year is before 1900");
    }
    if (year > (long)current_year) {
        return domain_fail(reason, "birth year is in the future");
    }
    return ERR_OK;
}

err_code
domain_citizen_id_check(const char *digits, long birth_year, enum domain_gender gender,
                        const char **reason)
{
    ASSERT(digits != NULL);
    ASSERT(gender == DOMAIN_GENDER_MALE || gender == DOMAIN_GENDER_FEMALE);
    domain_ok(reason);
    static_assert(DOMAIN_BIRTH_YEAR_MIN == 1900, "century digit 0/1 is the 1900s");

    size_t len = strnlen(digits, DOMAIN_CITIZEN_ID_DIGITS + 1);
    if (len != DOMAIN_CITIZEN_ID_DIGITS) {
        return domain_fail(reason, "citizen id must be 12 digits");
    }
    for (size_t i = 0; i < len; i++) {
        if (digits[i] < '0' || digits[i] > '9') {
            return domain_fail(reason, "citizen id must contain only the digits 0-9");
        }
    }
    int province = (digits[0] - '0') * 100 + (digits[1] - '0') * 10 + (digits[2] - '0');
    if (province < 1 || province > 96) {
        return domain_fail(reason, "citizen id province code must be 001 to 096");
    }
    /* The fourth digit counts centuries from 1900 in pairs: 0/1 the 1900s, 2/3 the 2000s, up to
     * 8/9 the 2300s. A birth year outside 1900..2399 therefore matches no digit at all; the
     * explicit range test also keeps negative years away from C's truncating division. */
    int century_digit = digits[3] - '0';
    if (birth_year < 1900 || birth_year > 2399 || (birth_year - 1900) / 100 != century_digit / 2) {
        return domain_fail(reason, "citizen id century/gender digit does not match the birth year");
    }
    int expected_parity = gender == DOMAIN_GENDER_MALE ? 0 : 1;
    if (century_digit % 2 != expected_parity) {
        return domain_fail(reason, "citizen id century/gender digit does not match the gender");
    }
    long year_digits = (digits[4] - '0') * 10 + (digits[5] - '0');
    if (year_digits != birth_year % 100) {
        return domain_fail(reason, "citizen id year digits do not match the birth year");
    }
    return ERR_OK;
}

void
domain_citizen_id_hash(const uint8_t key[HASH_SIZE], const char *digits, uint8_t out[HASH_SIZE])
{
    ASSERT(key != NULL);
    ASSERT(out != NULL);
    /* Callers hash only a checked id: hashing anything else would de-duplicate nothing. */
    ASSERT(strnlen(digits, DOMAIN_CITIZEN_ID_DIGITS + 1) == DOMAIN_CITIZEN_ID_DIGITS);
    /* No sodium_init() here: BLAKE2b needs no randomness, and before sodium_init() libsodium
     * uses its portable BLAKE2b, which gives the same bytes as the vectorised one. This keeps
     * the function void, as the header promises. */
    int r = crypto_generichash(out, HASH_SIZE, (const unsigned char *)digits,
                               DOMAIN_CITIZEN_ID_DIGITS, key, HASH_SIZE);
    ASSERT(r == 0); /* fails only on out-of-range sizes, which are compile-time constants */
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant, "chrono-Compatible Low-Level
 * Date Algorithms", days_from_civil): exact for every year, no tables, no loops. */
static int64_t
domain_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool
domain_leap(long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

err_code
domain_date_parse(const char *s, int64_t *days, const char **reason)
{
    ASSERT(s != NULL);
    domain_ok(reason);
    size_t len = strnlen(s, DOMAIN_DATE_SIZE + 1);
    if (len != DOMAIN_DATE_SIZE || s[4] != '-' || s[7] != '-') {
        return domain_fail(reason, "date must be YYYY-MM-DD");
    }
    long v[3] = {0, 0, 0};
    static const unsigned start[3] = {0, 5, 8}, width[3] = {4, 2, 2};
    for (unsigned f = 0; f < 3; f++) {
        for (unsigned i = start[f]; i < start[f] + width[f]; i++) {
            if (s[i] < '0' || s[i] > '9') {
                return domain_fail(reason, "date must be YYYY-MM-DD");
            }
            v[f] = v[f] * 10 + (s[i] - '0');
        }
    }
    if (v[0] < DOMAIN_DATE_YEAR_MIN || v[0] > DOMAIN_DATE_YEAR_MAX) {
        return domain_fail(reason, "date year must be 1900 to 9999");
    }
    static const unsigned char mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (v[1] < 1 || v[1] > 12) {
        return domain_fail(reason, "date is not a calendar day (month 01 to 12)");
    }
    long dmax = mdays[v[1] - 1] + (v[1] == 2 && domain_leap(v[0]));
    if (v[2] < 1 || v[2] > dmax) {
        return domain_fail(reason, "date is not a calendar day (no such day in that month)");
    }
    if (days != NULL) {
        *days = domain_days_from_civil(v[0], (unsigned)v[1], (unsigned)v[2]);
    }
    return ERR_OK;
}

void
domain_date_format(int64_t days, char out[DOMAIN_DATE_SIZE + 1])
{
    /* civil_from_days, the inverse of domain_days_from_civil (same source). */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    /* Callers format days they parsed or derived from the clock: four-digit years only. */
    ASSERT(y >= DOMAIN_DATE_YEAR_MIN - 1 && y <= DOMAIN_DATE_YEAR_MAX);
    ASSERT(m >= 1 && m <= 12);
    ASSERT(d >= 1 && d <= 31);
    /* A roomy buffer first: the compiler cannot see the ranges asserted above. */
    char tmp[48];
    int n = snprintf(tmp, sizeof tmp, "%04d-%02u-%02u", (int)y, m, d);
    ASSERT(n == (int)DOMAIN_DATE_SIZE);
    memcpy(out, tmp, DOMAIN_DATE_SIZE + 1);
}

err_code
domain_date_range_check(const char *from, const char *to, const char **reason)
{
    domain_ok(reason);
    if (from == NULL || to == NULL) {
        return ERR_OK;
    }
    /* Both were checked as YYYY-MM-DD: byte order is date order. */
    ASSERT(strnlen(from, DOMAIN_DATE_SIZE + 1) == DOMAIN_DATE_SIZE);
    ASSERT(strnlen(to, DOMAIN_DATE_SIZE + 1) == DOMAIN_DATE_SIZE);
    if (memcmp(from, to, DOMAIN_DATE_SIZE) > 0) {
        return domain_fail(reason, "the valid-from date is after the valid-to date");
    }
    return ERR_OK;
}

void
domain_today(int64_t wall_ms, char out[DOMAIN_DATE_SIZE + 1])
{
    domain_date_format((wall_ms + DOMAIN_TZ_OFFSET_MS) / 86400000, out);
}
