/*
 * Reading the units tree at a date: succession chains (units_resolve), parent paths
 * (units_ancestors), listings (units_foreach, units_children) and the whole tree (units_tree).
 * The tables are written only through the merge, from any replica, so nothing here trusts their
 * shape: every chain is walked iteratively under a named bound and a cycle is reported as
 * ERR_CORRUPT. tools/unit.c uses the overlay (units.h) to refuse a change that would close a
 * cycle before it writes it; rows merged from elsewhere can still close one, and the tree then
 * reports the units involved instead of looping.
 */
#include "units.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "store.h"

static_assert(UNITS_DATE_BUF == DOMAIN_DATE_SIZE + 1u, "a date and its NUL");
static_assert(UNITS_DEPTH_MAX >= 5u, "province > district > commune > village > school");
static_assert(UNITS_TREE_COUNT_MAX <= INT32_MAX, "tree indexes are int32_t");

static const char UNITS_SQL_SUCC[] =
    "SELECT new_code, effective FROM unit_succession WHERE old_code=?1 AND _live";
static const char UNITS_SQL_PARENT[] = "SELECT parent FROM unit WHERE code=?1 AND _live";
/* Valid at ?1: text order is date order for YYYY-MM-DD (domain.h). */
static const char UNITS_SQL_VALID[] =
    "SELECT code, parent, kind, name, valid_from, valid_to, disadvantaged FROM unit "
    "WHERE _live AND (?1 IS NULL OR ((valid_from IS NULL OR valid_from <= ?1) AND "
    "(valid_to IS NULL OR valid_to >= ?1))) ORDER BY code";
static const char UNITS_SQL_SUCCS[] =
    "SELECT old_code, new_code, effective FROM unit_succession WHERE _live AND "
    "new_code IS NOT NULL AND (?1 IS NULL OR effective IS NULL OR effective <= ?1) "
    "ORDER BY old_code";

/* Copies a code into a code buffer. A stored code longer than any code cdht writes came from a
 * broken or hostile writer: ERR_CORRUPT. */
static err_code
units_code_copy(char out[UNITS_CODE_BUF], const char *code)
{
    size_t n = strnlen(code, UNITS_CODE_BUF);
    if (n >= UNITS_CODE_BUF) {
        return ERR_CORRUPT_HERE;
    }
    memcpy(out, code, n + 1);
    return ERR_OK;
}

static const char *
units_col_text(sqlite3_stmt *s, int i)
{
    return sqlite3_column_type(s, i) == SQLITE_TEXT ? (const char *)sqlite3_column_text(s, i)
                                                    : NULL;
}

/* The succession of code that applies at date, if any: *applies is 0 when there is none (or a
 * row with no successor, or one not yet effective at date). */
static err_code
units_succ_lookup(struct store *st, const struct units_overlay *ov, const char *code,
                  const char *date, int *applies, char next[UNITS_CODE_BUF])
{
    *applies = 0;
    if (ov != NULL && ov->succ_old != NULL && strcmp(code, ov->succ_old) == 0) {
        ASSERT(ov->succ_new != NULL);
        if (date == NULL || ov->succ_effective == NULL || strcmp(ov->succ_effective, date) <= 0) {
            *applies = 1;
            return units_code_copy(next, ov->succ_new);
        }
        return ERR_OK;
    }
    sqlite3_stmt *s = store_stmt(st, UNITS_SQL_SUCC);
    if (s == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_text(s, 1, code, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    err_code e = ERR_OK;
    if (rc == SQLITE_ROW) {
        const char *nc = units_col_text(s, 0);
        const char *eff = units_col_text(s, 1);
        if (nc != NULL && (date == NULL || eff == NULL || strcmp(eff, date) <= 0)) {
            *applies = 1;
            e = units_code_copy(next, nc);
        }
    } else if (rc != SQLITE_DONE) {
        e = store_err(st, rc, "unit succession");
    }
    sqlite3_reset(s);
    return e;
}

/* The stored parent of a live unit: *found 0 when code is not a live unit, *has_parent 0 when
 * its parent is NULL. */
static err_code
units_parent_lookup(struct store *st, const struct units_overlay *ov, const char *code, int *found,
                    int *has_parent, char parent[UNITS_CODE_BUF])
{
    *found = 0;
    *has_parent = 0;
    sqlite3_stmt *s = store_stmt(st, UNITS_SQL_PARENT);
    if (s == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_text(s, 1, code, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    err_code e = ERR_OK;
    if (rc == SQLITE_ROW) {
        *found = 1;
        const char *p = units_col_text(s, 0);
        if (ov != NULL && ov->move_code != NULL && strcmp(code, ov->move_code) == 0) {
            p = ov->move_parent;
        }
        if (p != NULL) {
            *has_parent = 1;
            e = units_code_copy(parent, p);
        }
    } else if (rc != SQLITE_DONE) {
        e = store_err(st, rc, "unit parent");
    }
    sqlite3_reset(s);
    return e;
}

err_code
units_resolve(struct store *st, const struct units_overlay *ov, const char *code, const char *date,
              char out[UNITS_CODE_BUF])
{
    ASSERT(st != NULL);
    ASSERT(code != NULL);
    /* seen[i]: the i-th code of the chain, for the cycle test (at most 33 x 33 bytes). */
    char seen[UNITS_SUCCESSION_CHAIN_MAX + 1][UNITS_CODE_BUF];
    err_code rc = units_code_copy(seen[0], code);
    if (rc != ERR_OK) {
        return rc;
    }
    for (unsigned i = 0; i <= UNITS_SUCCESSION_CHAIN_MAX; i++) {
        int applies = 0;
        char next[UNITS_CODE_BUF];
        if ((rc = units_succ_lookup(st, ov, seen[i], date, &applies, next)) != ERR_OK) {
            return rc;
        }
        if (!applies) {
            memcpy(out, seen[i], UNITS_CODE_BUF);
            return ERR_OK;
        }
        for (unsigned j = 0; j <= i; j++) {
            if (strcmp(next, seen[j]) == 0) {
                return ERR_CORRUPT_HERE; /* a succession cycle */
            }
        }
        if (i == UNITS_SUCCESSION_CHAIN_MAX) {
            break;
        }
        memcpy(seen[i + 1], next, UNITS_CODE_BUF);
    }
    return ERR_MSGSIZE;
}

err_code
units_ancestors(struct store *st, const struct units_overlay *ov, const char *code,
                const char *date, char out[UNITS_DEPTH_MAX][UNITS_CODE_BUF], unsigned *count)
{
    ASSERT(count != NULL);
    *count = 0;
    err_code rc = units_resolve(st, ov, code, date, out[0]);
    if (rc != ERR_OK) {
        return rc;
    }
    unsigned n = 1;
    /* Each pass adds one code or ends: at most UNITS_DEPTH_MAX passes. */
    for (;;) {
        int found = 0, has_parent = 0;
        char parent[UNITS_CODE_BUF], up[UNITS_CODE_BUF];
        if ((rc = units_parent_lookup(st, ov, out[n - 1], &found, &has_parent, parent)) != ERR_OK) {
            return rc;
        }
        if (!found || !has_parent) {
            break;
        }
        if ((rc = units_resolve(st, ov, parent, date, up)) != ERR_OK) {
            return rc;
        }
        for (unsigned j = 0; j < n; j++) {
            if (strcmp(up, out[j]) == 0) {
                return ERR_CORRUPT_HERE; /* a parent cycle */
            }
        }
        /* A parent that is no live unit (never added, or its row hidden) ends the path. */
        int live = 0, dummy = 0;
        char ignored[UNITS_CODE_BUF];
        if ((rc = units_parent_lookup(st, ov, up, &live, &dummy, ignored)) != ERR_OK) {
            return rc;
        }
        if (!live) {
            break;
        }
        if (n == UNITS_DEPTH_MAX) {
            return ERR_MSGSIZE;
        }
        memcpy(out[n], up, UNITS_CODE_BUF);
        n++;
    }
    ASSERT(n >= 1 && n <= UNITS_DEPTH_MAX);
    *count = n;
    return ERR_OK;
}

/* Reads the row the valid-units statement stands on. */
static void
units_row_read(sqlite3_stmt *s, struct units_row *u)
{
    memset(u, 0, sizeof *u);
    u->code = units_col_text(s, 0);
    u->parent = units_col_text(s, 1);
    u->kind = units_col_text(s, 2);
    u->name = units_col_text(s, 3);
    u->valid_from = units_col_text(s, 4);
    u->valid_to = units_col_text(s, 5);
    u->disadvantaged =
        sqlite3_column_type(s, 6) == SQLITE_INTEGER ? (sqlite3_column_int64(s, 6) != 0) : -1;
}

/* Runs fn over the units valid at date; fn may resolve codes (other statements), but must not
 * start another scan of the same statement. */
static err_code
units_scan(struct store *st, const struct units_overlay *ov, const char *date, units_row_fn fn,
           void *ctx)
{
    sqlite3_stmt *s = store_stmt(st, UNITS_SQL_VALID);
    if (s == NULL) {
        return ERR_DB;
    }
    if (date != NULL) {
        sqlite3_bind_text(s, 1, date, -1, SQLITE_STATIC);
    }
    int rc;
    err_code e = ERR_OK;
    while (e == ERR_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct units_row u;
        units_row_read(s, &u);
        if (u.code == NULL) {
            continue; /* the primary key is TEXT NOT NULL; never NULL in practice */
        }
        char up[UNITS_CODE_BUF];
        if (u.parent != NULL) {
            if ((e = units_resolve(st, ov, u.parent, date, up)) != ERR_OK) {
                break;
            }
            u.rolls_up_to = up;
        }
        e = fn(ctx, &u);
    }
    if (e == ERR_OK && rc != SQLITE_DONE) {
        e = store_err(st, rc, "units");
    }
    sqlite3_reset(s);
    return e;
}

err_code
units_foreach(struct store *st, const char *date, units_row_fn fn, void *ctx)
{
    ASSERT(fn != NULL);
    return units_scan(st, NULL, date, fn, ctx);
}

struct units_children_ctx {
    const char *parent;
    units_row_fn fn;
    void *ctx;
};

static err_code
units_children_cb(void *ctx, const struct units_row *u)
{
    struct units_children_ctx *c = ctx;
    int match = c->parent == NULL
                    ? u->rolls_up_to == NULL
                    : u->rolls_up_to != NULL && strcmp(u->rolls_up_to, c->parent) == 0;
    return match ? c->fn(c->ctx, u) : ERR_OK;
}

err_code
units_children(struct store *st, const char *parent, const char *date, units_row_fn fn, void *ctx)
{
    ASSERT(fn != NULL);
    struct units_children_ctx c = {.parent = parent, .fn = fn, .ctx = ctx};
    return units_scan(st, NULL, date, units_children_cb, &c);
}

/* ---- the whole tree ---------------------------------------------------------------------- */

/* One unit held for the tree. Every string is owned (malloc'd), NULL when the column is. */
struct units_ent {
    char *code, *parent, *up, *kind, *name, *from, *to;
    int disadvantaged;
    int32_t parent_idx, first_child, next_sibling; /* -1: none */
    bool visited;
};

struct units_set {
    struct units_ent *e; /* owned, e[0..n) in code order */
    size_t n, cap;
};

static void
units_set_release(struct units_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        struct units_ent *x = &set->e[i];
        free(x->code);
        free(x->parent);
        free(x->up);
        free(x->kind);
        free(x->name);
        free(x->from);
        free(x->to);
    }
    free(set->e);
    memset(set, 0, sizeof *set);
}

static err_code
units_dup(const char *s, char **out)
{
    *out = NULL;
    if (s == NULL) {
        return ERR_OK;
    }
    *out = strdup(s);
    return *out == NULL ? ERR_NOMEM : ERR_OK;
}

static err_code
units_tree_load_cb(void *ctx, const struct units_row *u)
{
    struct units_set *set = ctx;
    if (set->n == UNITS_TREE_COUNT_MAX) {
        return ERR_MSGSIZE;
    }
    if (set->n == set->cap) {
        /* Doubling from 256, capped at the limit: a commune's tree never grows past 4 KiB of
         * entries' worth of reallocations. */
        size_t cap = set->cap == 0 ? 256 : set->cap * 2;
        if (cap > UNITS_TREE_COUNT_MAX) {
            cap = UNITS_TREE_COUNT_MAX;
        }
        struct units_ent *e = realloc(set->e, cap * sizeof *e);
        if (e == NULL) {
            return ERR_NOMEM;
        }
        set->e = e;
        set->cap = cap;
    }
    struct units_ent *x = &set->e[set->n];
    memset(x, 0, sizeof *x);
    set->n++; /* counted before filling, so that units_set_release frees a partial entry */
    x->disadvantaged = u->disadvantaged;
    x->parent_idx = x->first_child = x->next_sibling = -1;
    err_code rc;
    if ((rc = units_dup(u->code, &x->code)) != ERR_OK ||
        (rc = units_dup(u->parent, &x->parent)) != ERR_OK ||
        (rc = units_dup(u->rolls_up_to, &x->up)) != ERR_OK ||
        (rc = units_dup(u->kind, &x->kind)) != ERR_OK ||
        (rc = units_dup(u->name, &x->name)) != ERR_OK ||
        (rc = units_dup(u->valid_from, &x->from)) != ERR_OK ||
        (rc = units_dup(u->valid_to, &x->to)) != ERR_OK) {
        return rc;
    }
    return ERR_OK;
}

/* Index of code in the set (sorted by code, BINARY order = strcmp order), or -1. */
static int32_t
units_set_find(const struct units_set *set, const char *code)
{
    size_t lo = 0, hi = set->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(set->e[mid].code, code);
        if (c == 0) {
            return (int32_t)mid;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return -1;
}

static err_code
units_tree_emit(const struct units_ent *x, unsigned depth, int in_cycle, units_tree_fn fn,
                void *ctx)
{
    struct units_row u = {
        .code = x->code,
        .parent = x->parent,
        .rolls_up_to = x->up,
        .kind = x->kind,
        .name = x->name,
        .valid_from = x->from,
        .valid_to = x->to,
        .disadvantaged = x->disadvantaged,
    };
    return fn(ctx, &u, depth, in_cycle);
}

/* Depth-first from one root with an explicit stack: each unit has one parent, so each is
 * reached once, and the walk takes at most two steps per unit. */
static err_code
units_tree_walk(struct units_set *set, int32_t root, units_tree_fn fn, void *ctx)
{
    int32_t stack[UNITS_DEPTH_MAX];
    unsigned depth = 0;
    int32_t node = root;
    for (size_t steps = 0; steps <= 2 * set->n; steps++) {
        struct units_ent *x = &set->e[node];
        ASSERT(!x->visited);
        x->visited = true;
        err_code rc = units_tree_emit(x, depth, 0, fn, ctx);
        if (rc != ERR_OK) {
            return rc;
        }
        if (x->first_child >= 0) {
            if (depth + 1 >= UNITS_DEPTH_MAX) {
                return ERR_MSGSIZE;
            }
            stack[depth++] = node;
            node = x->first_child;
            continue;
        }
        while (set->e[node].next_sibling < 0) {
            if (depth == 0) {
                return ERR_OK;
            }
            node = stack[--depth];
        }
        node = set->e[node].next_sibling;
    }
    /* Each unit is emitted once and climbed past once: the bound above is never reached. */
    assert_fail("the tree walk ends within 2n steps", __FILE__, __LINE__);
}

err_code
units_tree(struct store *st, const char *date, units_tree_fn fn, void *ctx,
           unsigned *in_cycle_count)
{
    ASSERT(fn != NULL);
    ASSERT(in_cycle_count != NULL);
    *in_cycle_count = 0;
    struct units_set set = {0};
    err_code rc = units_scan(st, NULL, date, units_tree_load_cb, &set);
    if (rc != ERR_OK) {
        goto out;
    }
    /* Link children to parents. Walking the units backwards and pushing each on its parent's
     * list leaves every list in code order. A unit whose parent rolls up to itself (a
     * succession into one of its own children, merged from elsewhere) links to nothing and is
     * reported with the cycles. */
    for (size_t k = set.n; k-- > 0;) {
        struct units_ent *x = &set.e[k];
        if (x->up == NULL) {
            continue;
        }
        int32_t p = units_set_find(&set, x->up);
        x->parent_idx = p;
        if (p >= 0 && p != (int32_t)k) {
            x->next_sibling = set.e[p].first_child;
            set.e[p].first_child = (int32_t)k;
        }
    }
    for (size_t k = 0; k < set.n; k++) {
        if (set.e[k].parent_idx < 0 &&
            (rc = units_tree_walk(&set, (int32_t)k, fn, ctx)) != ERR_OK) {
            goto out;
        }
    }
    /* What no root reached hangs in a cycle of parents. */
    for (size_t k = 0; k < set.n; k++) {
        if (!set.e[k].visited) {
            (*in_cycle_count)++;
            if ((rc = units_tree_emit(&set.e[k], 0, 1, fn, ctx)) != ERR_OK) {
                goto out;
            }
        }
    }
out:
    units_set_release(&set);
    return rc;
}

err_code
units_successions(struct store *st, const char *date, units_succession_fn fn, void *ctx)
{
    ASSERT(fn != NULL);
    sqlite3_stmt *s = store_stmt(st, UNITS_SQL_SUCCS);
    if (s == NULL) {
        return ERR_DB;
    }
    if (date != NULL) {
        sqlite3_bind_text(s, 1, date, -1, SQLITE_STATIC);
    }
    int rc;
    err_code e = ERR_OK;
    while (e == ERR_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct units_succession u = {
            .old_code = units_col_text(s, 0),
            .new_code = units_col_text(s, 1),
            .effective = units_col_text(s, 2),
        };
        if (u.old_code != NULL && u.new_code != NULL) {
            e = fn(ctx, &u);
        }
    }
    if (e == ERR_OK && rc != SQLITE_DONE) {
        e = store_err(st, rc, "unit successions");
    }
    sqlite3_reset(s);
    return e;
}

err_code
units_successor(struct store *st, const char *old, char out[UNITS_CODE_BUF],
                char effective[UNITS_DATE_BUF])
{
    sqlite3_stmt *s = store_stmt(st, UNITS_SQL_SUCC);
    if (s == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_text(s, 1, old, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    err_code e = ERR_NOTFOUND;
    if (rc == SQLITE_ROW && units_col_text(s, 0) != NULL) {
        e = units_code_copy(out, units_col_text(s, 0));
        const char *eff = units_col_text(s, 1);
        snprintf(effective, UNITS_DATE_BUF, "%s", eff != NULL ? eff : "");
    } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        e = store_err(st, rc, "unit succession");
    }
    sqlite3_reset(s);
    return e;
}
