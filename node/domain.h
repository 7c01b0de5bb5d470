/*
 * Learning Citizen domain rules that validate input before anything is written: names (UTF-8,
 * normalised to NFC with utf8proc), citizen ids (CCCD: 12 digits whose century/gender digit and
 * birth year must agree with the person), birth years, genders, target groups and unit kinds.
 * Each check returns ERR_INVAL and a static English reason naming what was wrong and never
 * echoing the value itself (the value may be a citizen id).
 */
#ifndef CDHT_DOMAIN_H
#define CDHT_DOMAIN_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "limits.h"

#define DOMAIN_CITIZEN_ID_DIGITS 12u
#define DOMAIN_BIRTH_YEAR_MIN 1900 /* the oldest living person was born after 1900 */

enum domain_gender { DOMAIN_GENDER_MALE = 0, DOMAIN_GENDER_FEMALE = 1 };

/* Normalises a name to NFC and trims surrounding white space; inner runs of white space fold
 * to one space. On ERR_OK *out is malloc'd and owned by the caller. ERR_INVAL (reason set)
 * when empty after trimming, not valid UTF-8, containing control characters, or longer than
 * max_bytes after normalisation. */
err_code domain_name_normalize(const char *in, size_t max_bytes, char **out,
                               const char **reason) WARN_UNUSED;

/* "male"/"female" -> enum. ERR_INVAL otherwise. */
err_code domain_gender_parse(const char *s, enum domain_gender *out,
                             const char **reason) WARN_UNUSED;
const char *domain_gender_str(enum domain_gender g);

/* Target groups of 244/QĐ-KHVN: "farmer", "worker", "official". */
err_code domain_group_check(const char *s, const char **reason) WARN_UNUSED;

/* Unit kinds: province, district, commune, village, school, agency. */
err_code domain_unit_kind_check(const char *s, const char **reason) WARN_UNUSED;

/* A unit code: 1..UNIT_CODE_SIZE_MAX of [A-Za-z0-9._-]. */
err_code domain_unit_code_check(const char *s, const char **reason) WARN_UNUSED;

/* ISO 8601 calendar dates, YYYY-MM-DD exactly (ten characters, no time, no zone): the form
 * stored in unit.valid_from, unit.valid_to and unit_succession.effective, so that SQLite's
 * byte order of the text is the order of the days. */
#define DOMAIN_DATE_SIZE 10u
#define DOMAIN_DATE_YEAR_MIN 1900 /* before any administrative code in use (124/2004/QĐ-TTg) */
#define DOMAIN_DATE_YEAR_MAX 9999 /* four digits keep text order equal to date order */

/* Parses and checks a date: the shape, then a real calendar day (30 April, 29 February only in
 * leap years). *days (when not NULL) receives the days since 1970-01-01. */
err_code domain_date_parse(const char *s, int64_t *days, const char **reason) WARN_UNUSED;
/* Formats days since 1970-01-01 as YYYY-MM-DD; the day must lie in the accepted years. */
void domain_date_format(int64_t days, char out[DOMAIN_DATE_SIZE + 1]);
/* Dates people write (a certificate's expiry, a decision's date) are days in Vietnam: UTC+7,
 * no daylight saving. A certificate that "expires 2026-12-31" counts until midnight in Hanoi. */
#define DOMAIN_TZ_OFFSET_MS (7ll * 3600 * 1000)
/* Today's date in Vietnam from a wall clock in ms since the epoch (hlc_wall_ms()). */
void domain_today(int64_t wall_ms, char out[DOMAIN_DATE_SIZE + 1]);
/* A validity range: each bound is NULL (open) or a date already checked; from must not be after
 * to (a unit valid for one day has from == to). */
err_code domain_date_range_check(const char *from, const char *to, const char **reason) WARN_UNUSED;

/* Birth year within [DOMAIN_BIRTH_YEAR_MIN, current_year]. */
err_code domain_birth_year_check(long year, int current_year, const char **reason) WARN_UNUSED;

/* CCCD shape: 12 ASCII digits; province of registration 001..096; the 4th digit's century
 * (0/1 1900s, 2/3 2000s, 4/5 2100s, 6/7 2200s, 8/9 2300s) and gender (even male, odd female)
 * agree with birth_year and gender; digits 5-6 equal birth_year % 100. */
err_code domain_citizen_id_check(const char *digits, long birth_year, enum domain_gender gender,
                                 const char **reason) WARN_UNUSED;

/* The keyed hash stored instead of the number: BLAKE2b-256 keyed with the deployment's
 * citizen-id key (32 bytes), over the 12 digits. */
void domain_citizen_id_hash(const uint8_t key[HASH_SIZE], const char *digits,
                            uint8_t out[HASH_SIZE]);

#endif
