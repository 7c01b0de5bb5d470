/*
 * The workflow's write side (flow.h): read one assessment's role-owned rows, derive its status
 * with rules_status, check the step with rules_transition and this device's grants, then write
 * one change. The status is never stored (docs/DATA.md "The registry"), so every action here
 * writes only the rows its role owns, and a review or an approval is always written whole, so
 * that its cells carry one clock and two concurrent decisions resolve to one author's row.
 * The checks here run at write time only; the merge-time checks (node/trust.c) cover role and
 * unit on every replica, and the design (issue5-design.md section 2.3) says what that costs.
 */
#include "flow.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "evidence.h"
#include "hlc.h"
#include "replica.h"
#include "schema.h"
#include "store.h"
#include "trust.h"
#include "units.h"

#define FLOW_EXEMPLARY_DEFAULT 5

static const char *const flow_score_cols[RULES_IND_MAX] = {"s01", "s02", "s03", "s04", "s05",
                                                           "s06", "s07", "s08", "s09", "s10"};

/* ---- reading ------------------------------------------------------------------------------- */

/* Copies a TEXT column ("" for NULL). ERR_MSGSIZE when it does not fit: stored data is never
 * truncated into something it was not. */
static err_code
flow_col_text(sqlite3_stmt *q, int i, char *out, size_t cap)
{
    const char *t = (const char *)sqlite3_column_text(q, i);
    size_t n = t != NULL ? strlen(t) : 0;
    if (n >= cap) {
        out[0] = '\0';
        return ERR_MSGSIZE;
    }
    memcpy(out, t != NULL ? t : "", n);
    out[n] = '\0';
    return ERR_OK;
}

static void
flow_col_scores(sqlite3_stmt *q, int first, struct flow_scores *sc)
{
    for (unsigned i = 0; i < RULES_IND_MAX; i++) {
        sc->have[i] = sqlite3_column_type(q, first + (int)i) != SQLITE_NULL;
        sc->v[i] = sc->have[i] ? sqlite3_column_int(q, first + (int)i) : 0;
    }
}

/* Steps a cached statement to its one row: *found 0 when there is none. */
static err_code
flow_step(struct replica *r, sqlite3_stmt *q, int *found)
{
    int rc = sqlite3_step(q);
    *found = rc == SQLITE_ROW;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        return store_err(r->st, rc, "workflow read");
    }
    return ERR_OK;
}

static int
flow_person_ok(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || n > FLOW_PERSON_SIZE_MAX) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) {
            return 0;
        }
    }
    return 1;
}

static const char *
flow_nz(const char *s)
{
    return s[0] != '\0' ? s : NULL;
}

err_code
flow_read(struct replica *r, const char *person, int year, struct flow_state *s,
          char why[FLOW_WHY_SIZE])
{
    err_code rc = ERR_OK;
    int found = 0;
    memset(s, 0, sizeof *s);
    why[0] = '\0';
    if (!flow_person_ok(person)) {
        /* Not repeated: a citizen id pasted here by mistake must not be echoed. */
        snprintf(why, FLOW_WHY_SIZE, "unknown person id (cdht person list shows ids)");
        return ERR_INVAL;
    }
    if (year < FLOW_YEAR_MIN || year > FLOW_YEAR_MAX) {
        snprintf(why, FLOW_WHY_SIZE, "the year must lie in %d..%d", FLOW_YEAR_MIN, FLOW_YEAR_MAX);
        return ERR_INVAL;
    }
    snprintf(s->person, sizeof s->person, "%s", person);
    snprintf(s->id, sizeof s->id, "%d:%s", year, person);
    s->year = year;

    sqlite3_stmt *q =
        store_stmt(r->st, "SELECT unit, target_group FROM person WHERE id=?1 AND _live");
    if (q == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_text(q, 1, person, -1, SQLITE_TRANSIENT);
    if ((rc = flow_step(r, q, &found)) == ERR_OK && found) {
        s->person_live = 1;
        if ((rc = flow_col_text(q, 0, s->person_unit, sizeof s->person_unit)) == ERR_OK) {
            rc = flow_col_text(q, 1, s->person_group, sizeof s->person_group);
        }
    }
    sqlite3_reset(q);
    if (rc != ERR_OK) {
        return rc;
    }

    q = store_stmt(r->st, "SELECT _live, unit, target_group, framework, digital, round, stage "
                          "FROM assessment WHERE id=?1");
    if (q == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_text(q, 1, s->id, -1, SQLITE_TRANSIENT);
    if ((rc = flow_step(r, q, &found)) == ERR_OK && found) {
        s->a_live = sqlite3_column_int(q, 0) != 0;
        s->round_null = sqlite3_column_type(q, 5) == SQLITE_NULL;
        s->round = sqlite3_column_int64(q, 5);
        if ((rc = flow_col_text(q, 1, s->unit, sizeof s->unit)) == ERR_OK &&
            (rc = flow_col_text(q, 2, s->group, sizeof s->group)) == ERR_OK &&
            (rc = flow_col_text(q, 3, s->framework, sizeof s->framework)) == ERR_OK &&
            (rc = flow_col_text(q, 4, s->digital, sizeof s->digital)) == ERR_OK) {
            rc = flow_col_text(q, 6, s->stage, sizeof s->stage);
        }
    }
    sqlite3_reset(q);
    if (rc != ERR_OK) {
        return rc;
    }

    q = store_stmt(r->st, "SELECT _live, s01, s02, s03, s04, s05, s06, s07, s08, s09, s10 "
                          "FROM self_score WHERE id=?1");
    if (q == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_text(q, 1, s->id, -1, SQLITE_TRANSIENT);
    if ((rc = flow_step(r, q, &found)) == ERR_OK && found && sqlite3_column_int(q, 0) != 0) {
        s->s_live = 1;
        flow_col_scores(q, 1, &s->self);
    }
    sqlite3_reset(q);
    if (rc != ERR_OK) {
        return rc;
    }

    q = store_stmt(r->st, "SELECT _live, unit, round, outcome, s01, s02, s03, s04, s05, s06, s07, "
                          "s08, s09, s10 FROM review WHERE id=?1");
    if (q == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_text(q, 1, s->id, -1, SQLITE_TRANSIENT);
    if ((rc = flow_step(r, q, &found)) == ERR_OK && found) {
        s->r_live = sqlite3_column_int(q, 0) != 0;
        s->r_round_null = sqlite3_column_type(q, 2) == SQLITE_NULL;
        s->r_round = sqlite3_column_int64(q, 2);
        flow_col_scores(q, 4, &s->review);
        if ((rc = flow_col_text(q, 1, s->r_unit, sizeof s->r_unit)) == ERR_OK) {
            rc = flow_col_text(q, 3, s->r_outcome, sizeof s->r_outcome);
        }
    }
    sqlite3_reset(q);
    if (rc != ERR_OK) {
        return rc;
    }

    q = store_stmt(r->st, "SELECT _live, unit, round, outcome, total, number, date, signer "
                          "FROM approval WHERE id=?1");
    if (q == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_text(q, 1, s->id, -1, SQLITE_TRANSIENT);
    if ((rc = flow_step(r, q, &found)) == ERR_OK && found) {
        s->p_live = sqlite3_column_int(q, 0) != 0;
        s->p_round_null = sqlite3_column_type(q, 2) == SQLITE_NULL;
        s->p_round = sqlite3_column_int64(q, 2);
        s->p_total = sqlite3_column_int64(q, 4);
        if ((rc = flow_col_text(q, 1, s->p_unit, sizeof s->p_unit)) == ERR_OK &&
            (rc = flow_col_text(q, 3, s->p_outcome, sizeof s->p_outcome)) == ERR_OK &&
            (rc = flow_col_text(q, 5, s->p_number, sizeof s->p_number)) == ERR_OK &&
            (rc = flow_col_text(q, 6, s->p_date, sizeof s->p_date)) == ERR_OK) {
            rc = flow_col_text(q, 7, s->p_signer, sizeof s->p_signer);
        }
    }
    sqlite3_reset(q);
    if (rc != ERR_OK) {
        return rc;
    }

    /* NULL cells are NULL to the rule, as to the view (an empty string never is a unit). */
    const struct rules_rows rows = {
        .a_live = s->a_live,
        .a_unit = flow_nz(s->unit),
        .a_round = s->round,
        .a_round_null = s->round_null,
        .a_stage = flow_nz(s->stage),
        .r_live = s->r_live,
        .r_unit = flow_nz(s->r_unit),
        .r_round = s->r_round,
        .r_round_null = s->r_round_null,
        .r_outcome = flow_nz(s->r_outcome),
        .p_live = s->p_live,
        .p_unit = flow_nz(s->p_unit),
        .p_round = s->p_round,
        .p_round_null = s->p_round_null,
        .p_outcome = flow_nz(s->p_outcome),
    };
    s->status = rules_status(&rows);
    return ERR_OK;
}

/* ---- frameworks ---------------------------------------------------------------------------- */

err_code
flow_disadvantaged(struct replica *r, const char *unit, int year, int *out)
{
    char path[UNITS_DEPTH_MAX][UNITS_CODE_BUF], date[UNITS_DATE_BUF];
    int flags[UNITS_DEPTH_MAX];
    unsigned count = 0;
    *out = 0;
    snprintf(date, sizeof date, "%04d-12-31", year);
    err_code rc = units_ancestors(r->st, NULL, unit, date, path, &count);
    if (rc != ERR_OK) {
        return rc;
    }
    sqlite3_stmt *q = store_stmt(r->st, "SELECT disadvantaged FROM unit WHERE code=?1 AND _live");
    if (q == NULL) {
        return ERR_DB;
    }
    for (unsigned i = 0; i < count; i++) {
        int found = 0;
        sqlite3_bind_text(q, 1, path[i], -1, SQLITE_STATIC);
        rc = flow_step(r, q, &found);
        flags[i] =
            found && sqlite3_column_type(q, 0) != SQLITE_NULL ? sqlite3_column_int(q, 0) != 0 : -1;
        sqlite3_reset(q);
        if (rc != ERR_OK) {
            return rc;
        }
    }
    *out = rules_disadvantaged(flags, count);
    return ERR_OK;
}

err_code
flow_framework_choose(struct replica *r, const char *unit, int year, char out[FLOW_FW_SIZE])
{
    char path[UNITS_DEPTH_MAX][UNITS_CODE_BUF], date[UNITS_DATE_BUF];
    unsigned count = 0;
    out[0] = '\0';
    snprintf(date, sizeof date, "%04d-12-31", year);
    err_code rc = units_ancestors(r->st, NULL, unit, date, path, &count);
    if (rc != ERR_OK) {
        return rc;
    }
    sqlite3_stmt *q = NULL;
    int src = sqlite3_prepare_v2(r->st->db,
                                 "SELECT id, unit, version, year_from, year_to FROM framework "
                                 "WHERE _live ORDER BY id",
                                 -1, &q, NULL);
    if (src != SQLITE_OK) {
        return store_err(r->st, src, "frameworks");
    }
    /* The nearest publisher wins (its position on the unit's path; "*" is beyond the root),
     * then the highest version, then the larger id, so the choice is one answer. */
    unsigned best_depth = 0;
    int64_t best_version = 0;
    while ((src = sqlite3_step(q)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(q, 0);
        const char *fu = (const char *)sqlite3_column_text(q, 1);
        int64_t version = sqlite3_column_int64(q, 2);
        if (id == NULL || fu == NULL || strlen(id) >= FLOW_FW_SIZE) {
            continue;
        }
        if (sqlite3_column_type(q, 3) != SQLITE_NULL && sqlite3_column_int64(q, 3) > year) {
            continue;
        }
        if (sqlite3_column_type(q, 4) != SQLITE_NULL && sqlite3_column_int64(q, 4) < year) {
            continue;
        }
        unsigned depth = count + 1; /* not on the path */
        if (strcmp(fu, "*") == 0) {
            depth = count;
        }
        for (unsigned i = 0; i < count && depth > count; i++) {
            if (strcmp(path[i], fu) == 0) {
                depth = i;
            }
        }
        if (depth > count) {
            continue;
        }
        if (out[0] == '\0' || depth < best_depth ||
            (depth == best_depth && version >= best_version)) {
            snprintf(out, FLOW_FW_SIZE, "%s", id);
            best_depth = depth;
            best_version = version;
        }
    }
    rc = src == SQLITE_DONE ? ERR_OK : store_err(r->st, src, "frameworks");
    sqlite3_finalize(q);
    if (rc == ERR_OK && out[0] == '\0') {
        rc = ERR_NOTFOUND;
    }
    return rc;
}

err_code
flow_framework_get(struct replica *r, const char *fw, struct flow_framework *out)
{
    int found = 0;
    memset(out, 0, sizeof *out);
    if (strlen(fw) >= FLOW_FW_SIZE) {
        return ERR_NOTFOUND;
    }
    sqlite3_stmt *q = store_stmt(r->st, "SELECT exemplary_years, review_role FROM framework "
                                        "WHERE id=?1 AND _live");
    if (q == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_text(q, 1, fw, -1, SQLITE_TRANSIENT);
    err_code rc = flow_step(r, q, &found);
    if (rc == ERR_OK && found) {
        snprintf(out->id, sizeof out->id, "%s", fw);
        out->exemplary_years = sqlite3_column_type(q, 0) != SQLITE_NULL ? sqlite3_column_int(q, 0)
                                                                        : FLOW_EXEMPLARY_DEFAULT;
        rc = flow_col_text(q, 1, out->review_role, sizeof out->review_role);
    }
    sqlite3_reset(q);
    return rc == ERR_OK && !found ? ERR_NOTFOUND : rc;
}

err_code
flow_group_get(struct replica *r, const char *fw, const char *grp, struct flow_group *out)
{
    char pk[FLOW_FW_SIZE + FLOW_WORD_SIZE + 2];
    int found = 0;
    memset(out, 0, sizeof *out);
    if (strlen(grp) >= sizeof out->grp || strlen(fw) >= FLOW_FW_SIZE) {
        return ERR_NOTFOUND;
    }
    snprintf(out->grp, sizeof out->grp, "%s", grp);
    snprintf(pk, sizeof pk, "%s/%s", fw, grp);
    sqlite3_stmt *q = store_stmt(r->st, "SELECT pass_total, pass_total_disadv FROM "
                                        "framework_group WHERE id=?1 AND _live");
    if (q == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_text(q, 1, pk, -1, SQLITE_TRANSIENT);
    err_code rc = flow_step(r, q, &found);
    out->g.pass_total = sqlite3_column_int(q, 0);
    out->g.pass_total_disadv = sqlite3_column_int(q, 1);
    sqlite3_reset(q);
    if (rc != ERR_OK || !found) {
        return rc != ERR_OK ? rc : ERR_NOTFOUND;
    }
    q = store_stmt(r->st, "SELECT pos, code, max_points, min_points FROM framework_indicator "
                          "WHERE framework=?1 AND grp=?2 AND _live ORDER BY pos");
    if (q == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_text(q, 1, fw, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 2, grp, -1, SQLITE_TRANSIENT);
    int src;
    while ((src = sqlite3_step(q)) == SQLITE_ROW && rc == ERR_OK) {
        int pos = sqlite3_column_int(q, 0);
        /* Positions are 1..n with no gap: the score columns they fill. */
        if (pos != out->g.n + 1 || pos > (int)RULES_IND_MAX) {
            rc = ERR_CORRUPT_HERE;
            break;
        }
        rc = flow_col_text(q, 1, out->code[pos - 1], sizeof out->code[0]);
        out->g.max[pos - 1] = sqlite3_column_int(q, 2);
        out->g.min[pos - 1] = sqlite3_column_int(q, 3);
        out->g.n = pos;
    }
    if (rc == ERR_OK && src != SQLITE_DONE && src != SQLITE_ROW) {
        rc = store_err(r->st, src, "framework indicators");
    }
    sqlite3_reset(q);
    if (rc == ERR_OK && rules_group_check(&out->g, NULL) != ERR_OK) {
        rc = ERR_CORRUPT_HERE;
    }
    return rc;
}

err_code
flow_assessment_group(struct replica *r, const struct flow_state *s, struct flow_group *g,
                      unsigned *review_roles, char why[FLOW_WHY_SIZE])
{
    struct flow_framework fw;
    err_code rc = flow_framework_get(r, s->framework, &fw);
    if (rc == ERR_OK) {
        rc = flow_group_get(r, s->framework, s->group, g);
    }
    if (rc == ERR_NOTFOUND || rc == ERR_CORRUPT) {
        snprintf(why, FLOW_WHY_SIZE,
                 "framework %s, group %s, recorded by the registration, is not held here "
                 "(sync with the commune first)",
                 s->framework, s->group);
        return ERR_NOTFOUND;
    }
    if (review_roles != NULL) {
        *review_roles = rules_review_roles(fw.review_role);
    }
    return rc;
}

/* ---- scores -------------------------------------------------------------------------------- */

static int
flow_parse_int(const char *s, size_t len, int *out)
{
    int v = 0;
    if (len == 0 || len > 4) {
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

err_code
flow_scores_parse(const struct flow_group *g, const char *list, const char *const *pairs,
                  size_t npairs, struct flow_scores *out, char why[FLOW_WHY_SIZE])
{
    memset(out, 0, sizeof *out);
    if (list != NULL) {
        const char *p = list;
        int i = 0;
        for (;; i++) { /* bounded: at most RULES_IND_MAX values are taken */
            const char *comma = strchr(p, ',');
            size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
            int v = 0;
            if (i >= g->g.n) {
                snprintf(why, FLOW_WHY_SIZE,
                         "--scores: group %s has %d indicators; more values "
                         "were given",
                         g->grp, g->g.n);
                return ERR_INVAL;
            }
            if (flow_parse_int(p, len, &v) != 0) {
                snprintf(why, FLOW_WHY_SIZE,
                         "--scores: value %d (indicator %s) is not a whole "
                         "number of points",
                         i + 1, g->code[i]);
                return ERR_INVAL;
            }
            if (v > g->g.max[i]) {
                snprintf(why, FLOW_WHY_SIZE, "--scores: indicator %s is %d; its maximum is %d",
                         g->code[i], v, g->g.max[i]);
                return ERR_INVAL;
            }
            out->v[i] = v;
            out->have[i] = 1;
            if (comma == NULL) {
                break;
            }
            p = comma + 1;
        }
        if (i + 1 != g->g.n) {
            snprintf(why, FLOW_WHY_SIZE,
                     "--scores: %d values given; group %s has %d indicators "
                     "(use --score CODE=N for one)",
                     i + 1, g->grp, g->g.n);
            return ERR_INVAL;
        }
    }
    for (size_t k = 0; k < npairs; k++) {
        const char *eq = strchr(pairs[k], '=');
        int pos = -1, v = 0;
        for (int i = 0; eq != NULL && i < g->g.n; i++) {
            if (strlen(g->code[i]) == (size_t)(eq - pairs[k]) &&
                strncmp(g->code[i], pairs[k], (size_t)(eq - pairs[k])) == 0) {
                pos = i;
            }
        }
        if (pos < 0) {
            snprintf(why, FLOW_WHY_SIZE,
                     "--score: give CODE=N with an indicator code of group %s "
                     "(1.1 ... %s)",
                     g->grp, g->code[g->g.n - 1]);
            return ERR_INVAL;
        }
        if (flow_parse_int(eq + 1, strlen(eq + 1), &v) != 0) {
            snprintf(why, FLOW_WHY_SIZE, "--score: indicator %s: not a whole number of points",
                     g->code[pos]);
            return ERR_INVAL;
        }
        if (v > g->g.max[pos]) {
            snprintf(why, FLOW_WHY_SIZE, "--score: indicator %s is %d; its maximum is %d",
                     g->code[pos], v, g->g.max[pos]);
            return ERR_INVAL;
        }
        out->v[pos] = v;
        out->have[pos] = 1;
    }
    return ERR_OK;
}

/* "2.4" or "2.4, 3.1" (the codes missing), into buf; returns how many are missing. */
static int
flow_missing(const struct flow_group *g, const struct flow_scores *sc, char *buf, size_t cap)
{
    int missing = 0;
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < g->g.n; i++) {
        if (!sc->have[i]) {
            int k = snprintf(buf + n, cap - n, "%s%s", missing ? ", " : "", g->code[i]);
            if (k > 0 && (size_t)k < cap - n) {
                n += (size_t)k;
            }
            missing++;
        }
    }
    return missing;
}

void
flow_preview(const struct flow_group *g, const struct flow_scores *sc, int disadvantaged,
             char out[FLOW_WHY_SIZE], enum rules_verdict *verdict, int *total)
{
    int t = 0, sum_max = 0, min_all = g->g.min[0], same_min = 1;
    for (int i = 0; i < g->g.n; i++) {
        sum_max += g->g.max[i];
        same_min &= g->g.min[i] == min_all;
    }
    int need = disadvantaged ? g->g.pass_total_disadv : g->g.pass_total;
    char crit[96], missing[FLOW_WHY_SIZE / 2];
    snprintf(crit, sizeof crit, "%d%s; minimum %s%d", need,
             disadvantaged ? ", disadvantaged area" : "", same_min ? "" : "per indicator, from ",
             min_all);
    enum rules_verdict v = rules_pass(&g->g, sc->v, sc->have, disadvantaged, &t);
    switch (v) {
    case RULES_PASS:
        snprintf(out, FLOW_WHY_SIZE, "total %d/%d: meets the criteria (%s)", t, sum_max, crit);
        break;
    case RULES_FAIL_TOTAL:
        snprintf(out, FLOW_WHY_SIZE, "total %d/%d: does not meet the criteria (%s)", t, sum_max,
                 crit);
        break;
    case RULES_FAIL_MIN:
        for (int i = 0; i < g->g.n; i++) {
            if (sc->v[i] < g->g.min[i]) {
                snprintf(out, FLOW_WHY_SIZE,
                         "total %d/%d: does not meet the criteria: indicator %s is %d, below its "
                         "minimum %d",
                         t, sum_max, g->code[i], sc->v[i], g->g.min[i]);
                break;
            }
        }
        break;
    case RULES_INCOMPLETE: {
        int m = flow_missing(g, sc, missing, sizeof missing);
        snprintf(out, FLOW_WHY_SIZE, "total %d/%d so far: %d of %d scores given (%s missing)", t,
                 sum_max, g->g.n - m, g->g.n, missing);
        break;
    }
    case RULES_INVALID:
        snprintf(out, FLOW_WHY_SIZE, "a score lies outside its indicator's range");
        break;
    }
    if (verdict != NULL) {
        *verdict = v;
    }
    if (total != NULL) {
        *total = t;
    }
}

/* ---- checking a step ----------------------------------------------------------------------- */

struct flow_grants_walk {
    struct store *st;
    const char *unit;
    char today[DOMAIN_DATE_SIZE + 1];
    struct flow_grants_of *g;
};

static err_code
flow_grants_cb(void *ctx, const struct trust_grant *gr)
{
    struct flow_grants_walk *w = ctx;
    struct flow_grants_of *f = w->g;
    int yes = 0;
    if (gr->expires != NULL && strcmp(w->today, gr->expires) > 0) {
        f->expired |= gr->role;
        return ERR_OK;
    }
    for (unsigned b = 0; b < FLOW_ROLE_BITS; b++) {
        if ((gr->role & (1u << b)) && !(f->held & (1u << b))) {
            snprintf(f->held_unit[b], sizeof f->held_unit[b], "%s", gr->unit);
        }
    }
    f->held |= gr->role;
    err_code rc = trust_covers(w->st, gr->unit, w->unit, &yes);
    if (rc == ERR_OK && yes) {
        f->covering |= gr->role;
    }
    return rc;
}

err_code
flow_grants_of(struct replica *r, const char *unit, struct flow_grants_of *out)
{
    memset(out, 0, sizeof *out);
    struct flow_grants_walk w = {.st = r->st, .unit = unit, .g = out};
    domain_today(hlc_wall_ms(), w.today);
    err_code rc = trust_grants(r->st, r->pk, flow_grants_cb, &w);
    return rc == ERR_NOTFOUND ? ERR_OK : rc;
}

/* "writer or approver": the role names of mask. */
static void
flow_roles_str(unsigned mask, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (unsigned b = 0; b < FLOW_ROLE_BITS; b++) {
        if (mask & (1u << b)) {
            int k = snprintf(buf + n, cap - n, "%s%s", n ? " or " : "", trust_role_name(1u << b));
            if (k < 0 || (size_t)k >= cap - n) {
                return;
            }
            n += (size_t)k;
        }
    }
}

/* What each action needs when the status does not allow it: the sentence after "the
 * assessment is STATUS". */
static void
flow_status_why(const struct flow_state *s, enum rules_action act, char why[FLOW_WHY_SIZE])
{
    const char *st = rules_state_name(s->status);
    if (s->status == RULES_ST_NONE) {
        snprintf(why, FLOW_WHY_SIZE, "the person is not registered for %d (cdht register first)",
                 s->year);
        return;
    }
    if (s->status == RULES_ST_APPROVED || s->status == RULES_ST_REJECTED) {
        snprintf(why, FLOW_WHY_SIZE, "the assessment is %s: final for the year", st);
        return;
    }
    if (s->status == RULES_ST_UNKNOWN) {
        snprintf(why, FLOW_WHY_SIZE,
                 "the assessment's status is not one this version of cdht knows");
        return;
    }
    switch (act) {
    case RULES_ACT_REGISTER:
        snprintf(why, FLOW_WHY_SIZE, "the assessment is %s: its group can no longer change", st);
        break;
    case RULES_ACT_ASSESS:
        snprintf(why, FLOW_WHY_SIZE, "the assessment is %s; self scores can no longer change", st);
        break;
    case RULES_ACT_EVIDENCE:
        snprintf(why, FLOW_WHY_SIZE,
                 "the assessment is %s; evidence is added to a draft or returned assessment only",
                 st);
        break;
    case RULES_ACT_SUBMIT:
        snprintf(why, FLOW_WHY_SIZE, "the assessment is %s; it was submitted already", st);
        break;
    case RULES_ACT_REVIEW:
        snprintf(why, FLOW_WHY_SIZE,
                 "the assessment is %s; it must be self-submitted first (cdht assess --submit)",
                 st);
        break;
    case RULES_ACT_RETURN:
        snprintf(why, FLOW_WHY_SIZE,
                 "the assessment is %s; return needs self_submitted or branch_reviewed", st);
        break;
    case RULES_ACT_APPROVE:
    case RULES_ACT_REJECT:
        snprintf(why, FLOW_WHY_SIZE, "the assessment is %s; %s needs branch_reviewed (%s)", st,
                 act == RULES_ACT_APPROVE ? "approve" : "reject",
                 s->status == RULES_ST_SELF_SUBMITTED ? "cdht review first"
                                                      : "cdht assess --submit, then cdht review");
        break;
    }
}

err_code
flow_check(struct replica *r, const struct flow_state *s, enum rules_action act,
           unsigned review_roles, enum rules_state *to, char why[FLOW_WHY_SIZE])
{
    enum rules_state next = RULES_ST_UNKNOWN;
    why[0] = '\0';
    /* The status first, with every role: "what is needed" is then about the status alone. */
    if (!rules_transition(s->status, act, ~0u, review_roles, &next, NULL)) {
        flow_status_why(s, act, why);
        return ERR_DENIED;
    }
    if (r->pinned) {
        const char *unit = s->unit[0] ? s->unit : s->person_unit;
        struct flow_grants_of f;
        err_code rc = flow_grants_of(r, unit, &f);
        if (rc != ERR_OK) {
            return rc;
        }
        if (!rules_transition(s->status, act, f.covering, review_roles, &next, NULL)) {
            /* The roles this step takes, found by asking the rules one role at a time. */
            unsigned need = 0;
            for (unsigned b = 0; b < FLOW_ROLE_BITS; b++) {
                if ((1u << b) != RULES_ROLE_ROOT &&
                    rules_transition(s->status, act, 1u << b, review_roles, NULL, NULL)) {
                    need |= 1u << b;
                }
            }
            char roles[64];
            flow_roles_str(need, roles, sizeof roles);
            unsigned b = 0;
            while (b < FLOW_ROLE_BITS && !(need & f.held & (1u << b))) {
                b++;
            }
            if (b < FLOW_ROLE_BITS) {
                snprintf(why, FLOW_WHY_SIZE, "%s grant for %s does not cover unit %s",
                         trust_role_name(1u << b), f.held_unit[b], unit);
            } else if (need & f.expired) {
                snprintf(why, FLOW_WHY_SIZE,
                         "this device's %s grant has expired (ask the hub for "
                         "a new certificate)",
                         roles);
            } else {
                snprintf(why, FLOW_WHY_SIZE, "this device holds no %s grant covering unit %s%s",
                         roles, unit,
                         (act == RULES_ACT_APPROVE || act == RULES_ACT_REJECT) &&
                                 (f.held & SCHEMA_ROLE_WRITER)
                             ? " (a writer cannot approve)"
                             : "");
            }
            return ERR_DENIED;
        }
    }
    if (to != NULL) {
        *to = next;
    }
    return ERR_OK;
}

/* ---- writing ------------------------------------------------------------------------------- */

#define TXT(c, v)                                                                                  \
    {                                                                                              \
        .col = (c), .type = SCHEMA_TEXT, .s = (v), .is_null = (v) == NULL                          \
    }
#define INT(c, v)                                                                                  \
    {                                                                                              \
        .col = (c), .type = SCHEMA_INT, .i = (v)                                                   \
    }
#define NUL(c)                                                                                     \
    {                                                                                              \
        .col = (c), .type = SCHEMA_INT, .is_null = 1                                               \
    }

/* The cells s01..s10 of sc (NULL where not given) appended at cells[*n]. */
static void
flow_score_cells(const struct flow_scores *sc, struct replica_cell *cells, size_t *n)
{
    for (unsigned i = 0; i < RULES_IND_MAX; i++) {
        cells[(*n)++] = (struct replica_cell){.col = flow_score_cols[i],
                                              .type = SCHEMA_INT,
                                              .i = sc != NULL ? sc->v[i] : 0,
                                              .is_null = sc == NULL || !sc->have[i]};
    }
}

/* One pending change of an action. */
struct flow_put {
    const char *table;
    char pk[PK_SIZE_MAX];
    int exists;
    struct replica_cell cells[SCHEMA_COLS_MAX];
    size_t n;
};

/* Commits puts as one leaf; why stays empty (the commit's errors speak for themselves). */
static err_code
flow_commit(struct replica *r, const struct flow_put *puts, size_t n)
{
    struct replica_txn *t = NULL;
    err_code rc = replica_txn_new(r, &t);
    for (size_t i = 0; rc == ERR_OK && i < n; i++) {
        ASSERT(puts[i].n <= SCHEMA_COLS_MAX);
        rc = replica_txn_put(t, puts[i].table, puts[i].pk, puts[i].exists, puts[i].cells, puts[i].n,
                             0);
    }
    if (rc != ERR_OK) {
        replica_txn_free(t);
        return rc;
    }
    return replica_txn_commit(r, t, NULL);
}

/* A note on the assessment (pk "<id>:<role>:0"), for reasons and comments. */
static void
flow_note_put(struct flow_put *p, const struct flow_state *s, const char *role, const char *text)
{
    p->table = "score_note";
    p->exists = 1;
    snprintf(p->pk, sizeof p->pk, "%s:%s:0", s->id, role);
    const struct replica_cell c[] = {TXT("unit", s->unit), TXT("assessment", s->id),
                                     TXT("role", role), INT("pos", 0), TXT("text", text)};
    memcpy(p->cells, c, sizeof c);
    p->n = sizeof c / sizeof c[0];
}

static err_code
flow_text_check(const char *what, const char *v, int required, char why[FLOW_WHY_SIZE])
{
    if (v == NULL || v[0] == '\0') {
        if (required) {
            snprintf(why, FLOW_WHY_SIZE, "%s is required", what);
            return ERR_INVAL;
        }
        return ERR_OK;
    }
    if (strlen(v) > FLOW_TEXT_SIZE_MAX) {
        snprintf(why, FLOW_WHY_SIZE, "%s is longer than %u bytes", what, FLOW_TEXT_SIZE_MAX);
        return ERR_INVAL;
    }
    return ERR_OK;
}

static int
flow_digital_ok(const char *d)
{
    return strcmp(d, "none") == 0 || strcmp(d, "basic") == 0 || strcmp(d, "proficient") == 0;
}

err_code
flow_register(struct replica *r, const struct flow_register_args *a, int *changed,
              char why[FLOW_WHY_SIZE])
{
    struct flow_state s;
    struct flow_framework fw;
    struct flow_group g;
    char fwid[FLOW_FW_SIZE];
    *changed = 0;
    err_code rc = flow_read(r, a->person, a->year, &s, why);
    if (rc != ERR_OK) {
        return rc;
    }
    if (!s.person_live) {
        snprintf(why, FLOW_WHY_SIZE, "unknown person id (cdht person list shows ids)");
        return ERR_NOTFOUND;
    }
    const char *grp = a->group != NULL ? a->group : s.person_group;
    if (grp[0] == '\0') {
        snprintf(why, FLOW_WHY_SIZE,
                 "the person has no target group: give --group (farmer, worker or official)");
        return ERR_INVAL;
    }
    if (a->digital != NULL && !flow_digital_ok(a->digital)) {
        snprintf(why, FLOW_WHY_SIZE, "--digital must be none, basic or proficient");
        return ERR_INVAL;
    }
    /* The framework is chosen once and recorded: a later publication never rescores. */
    if (a->framework != NULL) {
        snprintf(fwid, sizeof fwid, "%s", a->framework);
    } else if (s.a_live && s.framework[0] != '\0') {
        snprintf(fwid, sizeof fwid, "%s", s.framework);
    } else if ((rc = flow_framework_choose(r, s.person_unit, a->year, fwid)) != ERR_OK) {
        if (rc == ERR_NOTFOUND) {
            snprintf(why, FLOW_WHY_SIZE,
                     "no framework published for unit %s and year %d (ask the commune: cdht "
                     "framework list)",
                     s.person_unit, a->year);
        }
        return rc;
    }
    if ((rc = flow_framework_get(r, fwid, &fw)) != ERR_OK) {
        if (rc == ERR_NOTFOUND) {
            snprintf(why, FLOW_WHY_SIZE,
                     "framework %.64s is not published here (cdht framework "
                     "list)",
                     fwid);
        }
        return rc;
    }
    if ((rc = flow_group_get(r, fwid, grp, &g)) != ERR_OK) {
        if (rc == ERR_NOTFOUND || rc == ERR_CORRUPT) {
            snprintf(why, FLOW_WHY_SIZE, "group %.32s is not in framework %s", grp, fwid);
            return ERR_INVAL;
        }
        return rc;
    }
    if (s.a_live && strcmp(s.group, grp) == 0 && strcmp(s.framework, fwid) == 0 &&
        strcmp(s.unit, s.person_unit) == 0 &&
        (a->digital == NULL || strcmp(a->digital, s.digital) == 0)) {
        return ERR_OK; /* already registered with these values: nothing to write */
    }
    if ((rc = flow_check(r, &s, RULES_ACT_REGISTER, 0, NULL, why)) != ERR_OK) {
        return rc;
    }
    struct flow_put p = {.table = "assessment", .exists = 1};
    snprintf(p.pk, sizeof p.pk, "%s", s.id);
    if (s.a_live) {
        const struct replica_cell c[] = {TXT("unit", s.person_unit), TXT("target_group", grp),
                                         TXT("framework", fwid)};
        memcpy(p.cells, c, sizeof c);
        p.n = sizeof c / sizeof c[0];
        if (a->digital != NULL) {
            p.cells[p.n++] = (struct replica_cell)TXT("digital", a->digital);
        }
    } else {
        const struct replica_cell c[] = {
            TXT("person", s.person),  INT("year", a->year),   TXT("unit", s.person_unit),
            TXT("target_group", grp), TXT("framework", fwid), TXT("digital", a->digital),
            INT("round", 1),          TXT("stage", "draft"),
        };
        memcpy(p.cells, c, sizeof c);
        p.n = sizeof c / sizeof c[0];
    }
    if ((rc = flow_commit(r, &p, 1)) == ERR_OK) {
        *changed = 1;
    }
    return rc;
}

err_code
flow_assess(struct replica *r, const struct flow_assess_args *a, char why[FLOW_WHY_SIZE])
{
    struct flow_state s;
    struct flow_group g;
    struct flow_put p[3];
    size_t np = 0;
    err_code rc = flow_read(r, a->person, a->year, &s, why);
    if (rc != ERR_OK) {
        return rc;
    }
    int any_score = 0;
    for (unsigned i = 0; a->scores != NULL && i < RULES_IND_MAX; i++) {
        any_score |= a->scores->have[i];
    }
    if (!any_score && a->digital == NULL && a->note == NULL && !a->submit) {
        snprintf(why, FLOW_WHY_SIZE,
                 "nothing to change: give --scores, --score, --digital, --note or --submit");
        return ERR_INVAL;
    }
    if (a->digital != NULL && !flow_digital_ok(a->digital)) {
        snprintf(why, FLOW_WHY_SIZE, "--digital must be none, basic or proficient");
        return ERR_INVAL;
    }
    if ((rc = flow_text_check("--note", a->note, 0, why)) != ERR_OK) {
        return rc;
    }
    enum rules_action act = a->submit ? RULES_ACT_SUBMIT : RULES_ACT_ASSESS;
    if ((rc = flow_check(r, &s, act, 0, NULL, why)) != ERR_OK) {
        return rc;
    }
    if ((rc = flow_assessment_group(r, &s, &g, NULL, why)) != ERR_OK) {
        return rc;
    }
    struct flow_scores merged = s.s_live ? s.self : (struct flow_scores){{0}, {0}};
    for (int i = 0; a->scores != NULL && i < g.g.n; i++) {
        if (a->scores->have[i]) {
            merged.v[i] = a->scores->v[i];
            merged.have[i] = 1;
        }
    }
    if (a->submit) {
        char missing[FLOW_WHY_SIZE / 2];
        int m = flow_missing(&g, &merged, missing, sizeof missing);
        if (m > 0) {
            snprintf(why, FLOW_WHY_SIZE, "--submit: %d of %d scores given (%s missing)", g.g.n - m,
                     g.g.n, missing);
            return ERR_INVAL;
        }
    }
    int64_t round = s.round_null ? 1 : s.round;
    /* A resubmission after a return opens the next round: the old round's review and
     * approval stop counting (rules_status). */
    if (a->submit && s.status == RULES_ST_RETURNED) {
        round++;
    }
    if (any_score || a->submit) {
        struct flow_put *q = &p[np++];
        *q = (struct flow_put){.table = "self_score", .exists = 1};
        snprintf(q->pk, sizeof q->pk, "%s", s.id);
        q->cells[q->n++] = (struct replica_cell)TXT("unit", s.unit);
        q->cells[q->n++] = (struct replica_cell)INT("round", round);
        flow_score_cells(&merged, q->cells, &q->n);
    }
    if (a->digital != NULL || a->submit) {
        struct flow_put *q = &p[np++];
        *q = (struct flow_put){.table = "assessment", .exists = 1};
        snprintf(q->pk, sizeof q->pk, "%s", s.id);
        q->cells[q->n++] = (struct replica_cell)TXT("unit", s.unit);
        if (a->digital != NULL) {
            q->cells[q->n++] = (struct replica_cell)TXT("digital", a->digital);
        }
        if (a->submit) {
            q->cells[q->n++] = (struct replica_cell)INT("round", round);
            q->cells[q->n++] = (struct replica_cell)TXT("stage", "self_submitted");
        }
    }
    if (a->note != NULL) {
        flow_note_put(&p[np++], &s, "self", a->note);
    }
    return flow_commit(r, p, np);
}

err_code
flow_review(struct replica *r, const char *person, int year, const struct flow_scores *scores,
            const char *note, char why[FLOW_WHY_SIZE])
{
    struct flow_state s;
    struct flow_group g = {0};
    unsigned review_roles = 0;
    struct flow_put p[2];
    size_t np = 0;
    err_code rc = flow_read(r, person, year, &s, why);
    if (rc != ERR_OK || (rc = flow_text_check("--note", note, 0, why)) != ERR_OK) {
        return rc;
    }
    if (s.a_live && (rc = flow_assessment_group(r, &s, &g, &review_roles, why)) != ERR_OK) {
        return rc;
    }
    if ((rc = flow_check(r, &s, RULES_ACT_REVIEW, review_roles, NULL, why)) != ERR_OK) {
        return rc;
    }
    /* The reviewer's scores: the self scores, with those given put over them. */
    struct flow_scores sc = s.s_live ? s.self : (struct flow_scores){{0}, {0}};
    for (int i = 0; scores != NULL && i < g.g.n; i++) {
        if (scores->have[i]) {
            sc.v[i] = scores->v[i];
            sc.have[i] = 1;
        }
    }
    char missing[FLOW_WHY_SIZE / 2];
    int m = flow_missing(&g, &sc, missing, sizeof missing);
    if (m > 0) {
        snprintf(why, FLOW_WHY_SIZE,
                 "a review scores every indicator: %d of %d given (%s "
                 "missing; use --scores)",
                 g.g.n - m, g.g.n, missing);
        return ERR_INVAL;
    }
    struct flow_put *q = &p[np++];
    *q = (struct flow_put){.table = "review", .exists = 1};
    snprintf(q->pk, sizeof q->pk, "%s", s.id);
    q->cells[q->n++] = (struct replica_cell)TXT("unit", s.unit);
    q->cells[q->n++] = (struct replica_cell)INT("round", s.round_null ? 1 : s.round);
    q->cells[q->n++] = (struct replica_cell)TXT("outcome", "reviewed");
    flow_score_cells(&sc, q->cells, &q->n);
    if (note != NULL) {
        flow_note_put(&p[np++], &s, "review", note);
    }
    return flow_commit(r, p, np);
}

/* The review total as the approver sees it, with the verdict. */
static err_code
flow_review_total(struct replica *r, const struct flow_state *s, const struct flow_group *g,
                  enum rules_verdict *v, int *total)
{
    int disadv = 0;
    err_code rc = flow_disadvantaged(r, s->unit, s->year, &disadv);
    if (rc == ERR_OK) {
        *v = rules_pass(&g->g, s->review.v, s->review.have, disadv, total);
    }
    return rc;
}

err_code
flow_return(struct replica *r, const char *person, int year, const char *reason,
            char why[FLOW_WHY_SIZE])
{
    struct flow_state s;
    struct flow_group g = {0};
    unsigned review_roles = 0;
    struct flow_put p[2];
    size_t np = 0;
    err_code rc = flow_read(r, person, year, &s, why);
    if (rc != ERR_OK || (rc = flow_text_check("--reason", reason, 1, why)) != ERR_OK) {
        return rc;
    }
    if (s.a_live && (rc = flow_assessment_group(r, &s, &g, &review_roles, why)) != ERR_OK) {
        return rc;
    }
    if ((rc = flow_check(r, &s, RULES_ACT_RETURN, review_roles, NULL, why)) != ERR_OK) {
        return rc;
    }
    int64_t round = s.round_null ? 1 : s.round;
    struct flow_put *q = &p[np++];
    if (s.status == RULES_ST_SELF_SUBMITTED) {
        /* The reviewer's return: a whole review row saying so, the reason as its note. */
        *q = (struct flow_put){.table = "review", .exists = 1};
        snprintf(q->pk, sizeof q->pk, "%s", s.id);
        q->cells[q->n++] = (struct replica_cell)TXT("unit", s.unit);
        q->cells[q->n++] = (struct replica_cell)INT("round", round);
        q->cells[q->n++] = (struct replica_cell)TXT("outcome", "returned");
        flow_score_cells(NULL, q->cells, &q->n);
        flow_note_put(&p[np++], &s, "review", reason);
    } else {
        ASSERT(s.status == RULES_ST_BRANCH_REVIEWED);
        enum rules_verdict v;
        int total = 0;
        if ((rc = flow_review_total(r, &s, &g, &v, &total)) != ERR_OK) {
            return rc;
        }
        *q = (struct flow_put){.table = "approval", .exists = 1};
        snprintf(q->pk, sizeof q->pk, "%s", s.id);
        const struct replica_cell c[] = {
            TXT("unit", s.unit), TXT("person", s.person),    INT("year", s.year),
            INT("round", round), TXT("outcome", "returned"), INT("total", total),
            TXT("number", NULL), TXT("date", NULL),          TXT("signer", NULL),
            TXT("note", reason),
        };
        memcpy(q->cells, c, sizeof c);
        q->n = sizeof c / sizeof c[0];
    }
    return flow_commit(r, p, np);
}

err_code
flow_approve(struct replica *r, const char *person, int year, const struct flow_decision *d,
             int *total, char why[FLOW_WHY_SIZE])
{
    struct flow_state s;
    struct flow_group g;
    const char *bad = NULL;
    *total = 0;
    err_code rc = flow_read(r, person, year, &s, why);
    if (rc != ERR_OK || (rc = flow_text_check("--decision", d->number, 1, why)) != ERR_OK ||
        (rc = flow_text_check("--signer", d->signer, 1, why)) != ERR_OK ||
        (rc = flow_text_check("--reason", d->reason, d->reject, why)) != ERR_OK) {
        return rc;
    }
    if (d->date == NULL || domain_date_parse(d->date, NULL, &bad) != ERR_OK) {
        snprintf(why, FLOW_WHY_SIZE, "--date: %s", d->date == NULL ? "is required" : bad);
        return ERR_INVAL;
    }
    enum rules_action act = d->reject ? RULES_ACT_REJECT : RULES_ACT_APPROVE;
    if ((rc = flow_check(r, &s, act, 0, NULL, why)) != ERR_OK) {
        return rc;
    }
    if ((rc = flow_assessment_group(r, &s, &g, NULL, why)) != ERR_OK) {
        return rc;
    }
    enum rules_verdict v;
    int disadv = 0;
    if ((rc = flow_disadvantaged(r, s.unit, s.year, &disadv)) != ERR_OK) {
        return rc;
    }
    v = rules_pass(&g.g, s.review.v, s.review.have, disadv, total);
    if (!d->reject && v != RULES_PASS) {
        int need = disadv ? g.g.pass_total_disadv : g.g.pass_total;
        if (v == RULES_FAIL_TOTAL) {
            snprintf(why, FLOW_WHY_SIZE,
                     "total %d does not meet the criteria (%d); use --reject or return it", *total,
                     need);
        } else if (v == RULES_FAIL_MIN) {
            for (int i = 0; i < g.g.n; i++) {
                if (s.review.v[i] < g.g.min[i]) {
                    snprintf(why, FLOW_WHY_SIZE,
                             "indicator %s is %d, below its minimum %d; use --reject or return it",
                             g.code[i], s.review.v[i], g.g.min[i]);
                    break;
                }
            }
        } else {
            snprintf(why, FLOW_WHY_SIZE,
                     "the review scores are incomplete or out of range; return it for review");
        }
        return ERR_DENIED;
    }
    /* Every column in one change: one clock for the whole decision. */
    struct flow_put p = {.table = "approval", .exists = 1};
    snprintf(p.pk, sizeof p.pk, "%s", s.id);
    const struct replica_cell c[] = {
        TXT("unit", s.unit),
        TXT("person", s.person),
        INT("year", s.year),
        INT("round", s.round_null ? 1 : s.round),
        TXT("outcome", d->reject ? "rejected" : "approved"),
        INT("total", *total),
        TXT("number", d->number),
        TXT("date", d->date),
        TXT("signer", d->signer),
        TXT("note", d->reason != NULL && d->reason[0] != '\0' ? d->reason : NULL),
    };
    memcpy(p.cells, c, sizeof c);
    p.n = sizeof c / sizeof c[0];
    return flow_commit(r, &p, 1);
}

err_code
flow_evidence_add(struct replica *r, const struct flow_evidence_args *a, uint8_t hash[HASH_SIZE],
                  int *changed, char why[FLOW_WHY_SIZE])
{
    static const char *const kinds[] = {"photo", "certificate", "attendance", "document", "other"};
    struct flow_state s;
    struct flow_group g;
    int ind = 0, found = 0, kind_ok = 0;
    *changed = 0;
    err_code rc = flow_read(r, a->person, a->year, &s, why);
    if (rc != ERR_OK || (rc = flow_text_check("--description", a->description, 0, why)) != ERR_OK ||
        (rc = flow_text_check("--added-by", a->added_by, 0, why)) != ERR_OK) {
        return rc;
    }
    for (size_t k = 0; a->kind != NULL && k < sizeof kinds / sizeof kinds[0]; k++) {
        kind_ok |= strcmp(a->kind, kinds[k]) == 0;
    }
    if (!kind_ok) {
        snprintf(why, FLOW_WHY_SIZE,
                 "--kind must be photo, certificate, attendance, document or other");
        return ERR_INVAL;
    }
    if (a->len == 0) {
        snprintf(why, FLOW_WHY_SIZE, "the file is empty");
        return ERR_INVAL;
    }
    if (a->len > EVIDENCE_FILE_SIZE_MAX) {
        snprintf(why, FLOW_WHY_SIZE, "the file is larger than %u MiB",
                 EVIDENCE_FILE_SIZE_MAX / (1024u * 1024u));
        return ERR_MSGSIZE;
    }
    if ((rc = flow_check(r, &s, RULES_ACT_EVIDENCE, 0, NULL, why)) != ERR_OK) {
        return rc;
    }
    if ((rc = flow_assessment_group(r, &s, &g, NULL, why)) != ERR_OK) {
        return rc;
    }
    if (a->indicator != NULL) {
        for (int i = 0; i < g.g.n && ind == 0; i++) {
            ind = strcmp(g.code[i], a->indicator) == 0 ? i + 1 : 0;
        }
        if (ind == 0) {
            snprintf(why, FLOW_WHY_SIZE,
                     "--indicator: give an indicator code of group %s (1.1 "
                     "... %s)",
                     g.grp, g.code[g.g.n - 1]);
            return ERR_INVAL;
        }
    }
    /* The file first: a row held here then always names a file held here. */
    if ((rc = evidence_put(r->home, a->buf, a->len, hash, NULL)) != ERR_OK) {
        snprintf(why, FLOW_WHY_SIZE, "cannot store the file in the home's %s folder: %s",
                 EVIDENCE_DIR, err_str(rc));
        return rc;
    }
    char hex[EVIDENCE_HEX_SIZE];
    evidence_hex(hash, hex);
    struct flow_put p = {.table = "evidence", .exists = 1};
    snprintf(p.pk, sizeof p.pk, "%s:%s", s.id, hex);
    sqlite3_stmt *q = store_stmt(r->st, "SELECT 1 FROM evidence WHERE id=?1 AND _live");
    if (q == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_text(q, 1, p.pk, -1, SQLITE_TRANSIENT);
    rc = flow_step(r, q, &found);
    sqlite3_reset(q);
    if (rc != ERR_OK || found) {
        return rc; /* the pk holds the hash: the same file again changes nothing */
    }
    const struct replica_cell c[] = {
        TXT("unit", s.unit),
        TXT("assessment", s.id),
        {.col = "ind", .type = SCHEMA_INT, .i = ind, .is_null = ind == 0},
        TXT("kind", a->kind),
        TXT("description", a->description),
        {.col = "sha256", .type = SCHEMA_BLOB, .b = hash, .b_len = HASH_SIZE},
        INT("size", (int64_t)a->len),
        TXT("added_by", a->added_by),
    };
    memcpy(p.cells, c, sizeof c);
    p.n = sizeof c / sizeof c[0];
    if ((rc = flow_commit(r, &p, 1)) == ERR_OK) {
        *changed = 1;
    }
    return rc;
}
