/*
 * Built-in data of the Learning Citizen registry, published by `cdht framework publish --seed`
 * and `cdht plan publish --seed` (tools/framework.c): the 244/QĐ-KHVN criteria framework (three
 * target groups of ten indicators, in DOMAIN's short wording, labelled as such: the official
 * per-group wording is not in the repository) and the targets of the national programme
 * (Decision 677/QĐ-TTg) and of the seed commune's plan (xã Quảng Vinh, 2022). It is data like
 * any a hub publishes: a replica uses only what arrives in the tables.
 */
#ifndef CDHT_SEED_H
#define CDHT_SEED_H

#include "err.h"
#include "rules.h"

struct replica_txn;

/* Room for a framework or plan primary key: "<unit>/<code>/<version>". */
#define SEED_PK_SIZE 64u
#define SEED_FRAMEWORK_CODE "244-2022"
#define SEED_FRAMEWORK_VERSION 1
#define SEED_GROUPS 3u

struct seed_indicator {
    const char *code;       /* "1.1" */
    const char *competency; /* Vietnamese name of its competency */
    const char *text_vi;
    const char *text_en;
};
struct seed_group {
    const char *grp; /* farmer | worker | official */
    const char *name_vi;
    const char *name_en;
};
/* The ten indicators (the same short wording for every group) and the three groups. */
extern const struct seed_indicator seed_indicators[RULES_IND_MAX];
extern const struct seed_group seed_groups[SEED_GROUPS];
/* The thresholds of every seed group: 10 points each, minimum 5, pass 80, disadvantaged 70. */
void seed_group_rules(struct rules_group *out);

/* "<unit>/244-2022/1": the pk the seed framework gets when published by unit ("*": the root). */
err_code seed_framework_pk(const char *unit, char pk[SEED_PK_SIZE]) WARN_UNUSED;
/* Adds the seed framework published by unit to t: 1 framework, 3 groups, 30 indicators. */
err_code seed_framework_put(struct replica_txn *t, const char *unit) WARN_UNUSED;

/* The national programme (pk SEED_PLAN_NATIONAL_PK) and its targets for 2025 and 2030. */
#define SEED_PLAN_NATIONAL_PK "*/677-2022"
err_code seed_plan_national_put(struct replica_txn *t) WARN_UNUSED;
/* The seed commune plan under unit (its code): "<unit>/kh-677-2022" and its targets. */
err_code seed_plan_commune_pk(const char *unit, char pk[SEED_PK_SIZE]) WARN_UNUSED;
err_code seed_plan_commune_put(struct replica_txn *t, const char *unit) WARN_UNUSED;

#endif
