/*
 * Replication scope: the rule of DESIGN.md section 6 as one decision per log, shared by bundle
 * export (node/exchange.c leaves out logs the recipient may not hold) and import (sections of
 * logs outside this replica's own scope are verified but not stored). It only reads the trust
 * state (trust_grants) and the units tree (trust_covers), so both sides of an exchange judge a
 * log the same way once they hold the same certificates and units. The raw-data ceiling is
 * replicated data too (the root's setting row), so it also judges the same on both sides.
 */
#include "scope.h"

#include <stdio.h>
#include <string.h>

#include "domain.h"
#include "replica.h"
#include "store.h"
#include "trust.h"

/* trust.c's name for the root's grant unit: it covers the whole tree. */
#define SCOPE_ROOT_UNIT "*"

/* 1 when code is a live unit here, 0 when not, -1 on a database error. */
static int
scope_unit_live(struct store *st, const char *code)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT 1 FROM unit WHERE code=?1 AND _live");
    if (s == NULL) {
        return -1;
    }
    sqlite3_bind_text(s, 1, code, -1, SQLITE_STATIC);
    int src = sqlite3_step(s);
    sqlite3_reset(s);
    return src == SQLITE_ROW ? 1 : src == SQLITE_DONE ? 0 : -1;
}

/* ---- the raw-data ceiling ---------------------------------------------------------------- */

int
scope_kind_rank(const char *kind)
{
    static const struct {
        const char *kind;
        int rank;
    } ranks[] = {{"province", 1}, {"district", 2}, {"commune", 3},
                 {"village", 4},  {"school", 4},   {"agency", 4}};
    for (size_t i = 0; kind != NULL && i < sizeof ranks / sizeof ranks[0]; i++) {
        if (strcmp(kind, ranks[i].kind) == 0) {
            return ranks[i].rank;
        }
    }
    return 0;
}

err_code
scope_ceiling(struct store *st, char kind[SCOPE_KIND_BUF])
{
    sqlite3_stmt *s = store_stmt(st, "SELECT value FROM setting WHERE id=?1 AND unit='*' "
                                     "AND _live");
    kind[0] = '\0';
    if (s == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_text(s, 1, SCOPE_CEILING_KEY, -1, SQLITE_STATIC);
    int src = sqlite3_step(s);
    if (src == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(s, 0);
        if (scope_kind_rank(v) > 0) {
            snprintf(kind, SCOPE_KIND_BUF, "%s", v);
        }
    }
    sqlite3_reset(s);
    return src == SQLITE_ROW || src == SQLITE_DONE ? ERR_OK : store_err(st, src, "ceiling");
}

/* The rank of a live unit's kind; 0 when not held or of no known kind. -1 on a database error. */
static int
scope_unit_rank(struct store *st, const char *code)
{
    sqlite3_stmt *s = store_stmt(st, "SELECT kind FROM unit WHERE code=?1 AND _live");
    if (s == NULL) {
        return -1;
    }
    sqlite3_bind_text(s, 1, code, -1, SQLITE_STATIC);
    int src = sqlite3_step(s), rank = 0;
    if (src == SQLITE_ROW) {
        rank = scope_kind_rank((const char *)sqlite3_column_text(s, 0));
    }
    sqlite3_reset(s);
    return src == SQLITE_ROW || src == SQLITE_DONE ? rank : -1;
}

/* 1 when a unit of this code lies strictly above a ceiling of rank ceiling ("*" always), 0 when
 * at or below it or of an unknown kind (held as raw: the safe side), -1 on a database error. */
static int
scope_code_above(struct store *st, const char *code, int ceiling)
{
    if (strcmp(code, SCOPE_ROOT_UNIT) == 0) {
        return 1;
    }
    int rank = scope_unit_rank(st, code);
    return rank < 0 ? -1 : rank > 0 && rank < ceiling;
}

int
scope_above_ceiling(const struct scope *s)
{
    return s->ceiling > 0 && !s->raw;
}

err_code
scope_unit_above_ceiling(struct store *st, const char *unit, int *above)
{
    char kind[SCOPE_KIND_BUF];
    *above = 0;
    err_code rc = scope_ceiling(st, kind);
    if (rc != ERR_OK || kind[0] == '\0') {
        return rc;
    }
    int a = scope_code_above(st, unit, scope_kind_rank(kind));
    if (a < 0) {
        return ERR_DB;
    }
    *above = a;
    return ERR_OK;
}

/* ---- building a scope --------------------------------------------------------------------- */

/* Starts an empty scope for the root pinned here, with the ceiling. ERR_INVAL in open mode. */
static err_code
scope_start(struct store *st, struct scope *out)
{
    int pinned = 0;
    char kind[SCOPE_KIND_BUF];
    memset(out, 0, sizeof *out);
    err_code rc = trust_root(st, out->root, &pinned);
    if (rc != ERR_OK) {
        return rc;
    }
    out->placed = 1;
    if (!pinned) {
        return ERR_INVAL;
    }
    if ((rc = scope_ceiling(st, kind)) != ERR_OK) {
        return rc;
    }
    out->ceiling = scope_kind_rank(kind);
    return ERR_OK;
}

/* Adds one unit (once). reporter: it comes from a reporter's grant, which holds no raw data.
 * ERR_MSGSIZE past SCOPE_UNITS_MAX. */
static err_code
scope_add(struct store *st, struct scope *s, const char *code, int reporter)
{
    if (strcmp(code, SCOPE_ROOT_UNIT) == 0) {
        s->all = 1;
        return ERR_OK;
    }
    if (s->ceiling > 0 && !reporter && !s->raw) {
        int above = scope_code_above(st, code, s->ceiling);
        if (above < 0) {
            return ERR_DB;
        }
        s->raw = !above;
    }
    if (strlen(code) >= UNITS_CODE_BUF) {
        return ERR_CORRUPT_HERE; /* trust.c stores checked codes only */
    }
    for (size_t i = 0; i < s->count; i++) {
        if (strcmp(s->units[i], code) == 0) {
            return ERR_OK;
        }
    }
    if (s->count >= SCOPE_UNITS_MAX) {
        return ERR_MSGSIZE;
    }
    int live = scope_unit_live(st, code);
    if (live < 0) {
        return ERR_DB;
    }
    s->placed = s->placed && live;
    strcpy(s->units[s->count++], code);
    ASSERT(s->count <= SCOPE_UNITS_MAX);
    return ERR_OK;
}

struct scope_add_ctx {
    struct store *st;
    struct scope *s;
};

static err_code
scope_add_grant_cb(void *ctx, const struct trust_grant *g)
{
    struct scope_add_ctx *a = ctx;
    ASSERT(g->unit != NULL);
    return scope_add(a->st, a->s, g->unit, g->role == TRUST_REPORTER);
}

err_code
scope_from_key(struct store *st, const uint8_t key[KEY_PUBLIC_SIZE], struct scope *out)
{
    err_code rc = scope_start(st, out);
    if (rc != ERR_OK) {
        return rc;
    }
    if (memcmp(key, out->root, KEY_PUBLIC_SIZE) == 0) {
        out->all = 1;
        return ERR_OK;
    }
    struct scope_add_ctx a = {.st = st, .s = out};
    rc = trust_grants(st, key, scope_add_grant_cb, &a);
    ASSERT(rc != ERR_OK || out->all || out->count > 0);
    return rc;
}

err_code
scope_from_unit(struct store *st, const char *code, struct scope *out)
{
    const char *why = NULL;
    err_code rc = scope_start(st, out);
    if (rc != ERR_OK) {
        return rc;
    }
    if (domain_unit_code_check(code, &why) != ERR_OK) {
        return ERR_INVAL;
    }
    int live = scope_unit_live(st, code);
    if (live < 0) {
        return ERR_DB;
    }
    if (live == 0) {
        return ERR_NOTFOUND;
    }
    rc = scope_add(st, out, code, 0);
    ASSERT(rc != ERR_OK || out->count == 1);
    return rc;
}

err_code
scope_of_replica(struct replica *r, struct scope *out, int *active)
{
    struct scope s;
    char conf[sizeof SCOPE_META_ALL];
    size_t conf_len = 0;
    *active = 0;
    err_code rc = store_meta_get(r->st, SCOPE_META, conf, sizeof conf, &conf_len);
    if (rc == ERR_OK && conf_len == sizeof conf - 1 &&
        memcmp(conf, SCOPE_META_ALL, conf_len) == 0) {
        return ERR_OK; /* configured to keep every log ("sideways, unless configured") */
    }
    if (rc != ERR_OK && rc != ERR_NOTFOUND && rc != ERR_MSGSIZE) {
        return rc;
    }
    rc = scope_from_key(r->st, r->pk, &s);
    if (rc == ERR_INVAL) {
        return ERR_OK; /* open mode: nothing is scoped */
    }
    if (rc == ERR_NOTFOUND) {
        /* Not certified yet: the unit this device was initialised for stands in. */
        char unit[REPLICA_META_SIZE_MAX];
        if ((rc = replica_meta(r, "unit", unit)) != ERR_OK) {
            return rc;
        }
        if ((rc = scope_start(r->st, &s)) == ERR_OK) {
            rc = strlen(unit) < UNITS_CODE_BUF ? scope_add(r->st, &s, unit, 0) : ERR_CORRUPT_HERE;
        }
    }
    if (rc != ERR_OK) {
        return rc;
    }
    *out = s;
    *active = 1;
    return ERR_OK;
}

struct scope_judge_ctx {
    struct store *st;
    const struct scope *s;
    int in;
    int raw; /* above the ceiling: a grant that is not a reporter's and not above it */
};

/* One grant of the device: in scope when its unit is inside a scope unit's subtree or is an
 * ancestor-or-equal of one. Above the ceiling, every grant is also checked for raw data. */
static err_code
scope_judge_grant_cb(void *ctx, const struct trust_grant *g)
{
    struct scope_judge_ctx *j = ctx;
    if (scope_above_ceiling(j->s) && !j->raw && g->role != TRUST_REPORTER) {
        int above = scope_code_above(j->st, g->unit, j->s->ceiling);
        if (above < 0) {
            return ERR_DB;
        }
        j->raw = !above;
    }
    if (j->in) {
        return ERR_OK;
    }
    if (strcmp(g->unit, SCOPE_ROOT_UNIT) == 0 || j->s->all) {
        j->in = 1;
        return ERR_OK;
    }
    for (size_t i = 0; i < j->s->count && !j->in; i++) {
        int up = 0, down = 0;
        err_code rc = trust_covers(j->st, j->s->units[i], g->unit, &up);
        if (rc == ERR_OK && !up) {
            rc = trust_covers(j->st, g->unit, j->s->units[i], &down);
        }
        if (rc != ERR_OK) {
            return rc;
        }
        j->in = up || down;
    }
    return ERR_OK;
}

err_code
scope_log_verdict(struct store *st, const struct scope *s, const uint8_t key[KEY_PUBLIC_SIZE],
                  enum scope_verdict *v)
{
    ASSERT(s->count <= SCOPE_UNITS_MAX);
    *v = SCOPE_UNDECIDED;
    if (memcmp(key, s->root, KEY_PUBLIC_SIZE) == 0) {
        *v = SCOPE_IN;
        return ERR_OK;
    }
    struct scope_judge_ctx j = {.st = st, .s = s};
    err_code rc = trust_grants(st, key, scope_judge_grant_cb, &j);
    if (rc == ERR_NOTFOUND) {
        /* An unknown signer. Above the ceiling its chain would run through a log held below
         * it (a branch certified by its commune hub): left out, not held in quarantine. */
        *v = scope_above_ceiling(s) ? SCOPE_OUT : SCOPE_UNDECIDED;
        return ERR_OK;
    }
    if (rc != ERR_OK) {
        return rc;
    }
    if (j.raw) {
        *v = SCOPE_OUT; /* above the ceiling: people's records stay below it */
        return ERR_OK;
    }
    *v = j.in ? SCOPE_IN : s->placed ? SCOPE_OUT : SCOPE_UNDECIDED;
    return ERR_OK;
}

err_code
scope_log_allowed(struct store *st, const struct scope *s, const uint8_t key[KEY_PUBLIC_SIZE],
                  int *yes)
{
    enum scope_verdict v = SCOPE_UNDECIDED;
    err_code rc = scope_log_verdict(st, s, key, &v);
    *yes = rc == ERR_OK && v == SCOPE_IN;
    return rc;
}
