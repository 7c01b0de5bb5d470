/*
 * Trust evaluation, admission and reconciliation (node/trust.h has the rules). Two paths share
 * the judgement of a leaf (trust_judge_data):
 *
 *  - admission (trust_admit, per leaf as it is appended) reads the state as last reconciled
 *    from trust_dev / trust_grant and the units table, and parks every trust leaf as pending;
 *  - reconciliation (trust_reconcile) evaluates the whole state again from the trust leaves in
 *    memory (trust_eval), re-judges only the leaves whose answer can have changed, moves them in
 *    or out of quarantine and rebuilds the rows a withdrawn leaf had written.
 *
 * Everything here is bounded by the counts of trust leaves and devices held; the only walks over
 * every leaf are the re-judgement after a tree change that moved or removed a unit and the
 * rebuild after a withdrawal, both rare (a reform, a lost laptop) and both linear.
 */
#include "trust.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diag.h"
#include "domain.h"
#include "hlc.h"
#include "leaf.h"
#include "log.h"
#include "merge.h"
#include "rules.h"
#include "schema.h"
#include "sha256.h"
#include "store.h"
#include "units.h"

/* Walk from a unit towards the root: parents plus successions. */
#define TRUST_WALK_MAX (UNITS_DEPTH_MAX + UNITS_SUCCESSION_CHAIN_MAX)
#define TRUST_ROOT_UNIT "*"

/* ---------- names ---------- */

_Static_assert(TRUST_WRITER == 1 && TRUST_APPROVER == 2 && TRUST_HUB == 4 && TRUST_AUDITOR == 8 &&
                   TRUST_REPORTER == 32,
               "the bits of leaf_role_parse");
_Static_assert(SCHEMA_ROLE_WRITER == TRUST_WRITER, "schema.h copies the role bits");
_Static_assert(SCHEMA_ROLE_APPROVER == TRUST_APPROVER, "schema.h copies the role bits");
_Static_assert(SCHEMA_ROLE_HUB == TRUST_HUB, "schema.h copies the role bits");
_Static_assert(SCHEMA_ROLE_AUDITOR == TRUST_AUDITOR, "schema.h copies the role bits");
_Static_assert(SCHEMA_ROLE_REPORTER == TRUST_REPORTER, "schema.h copies the role bits");
_Static_assert(RULES_ROLE_ROOT == TRUST_ROOT, "rules.h names the root's bit");

unsigned
trust_role_parse(const char *s)
{
    return leaf_role_parse(s);
}

const char *
trust_role_name(unsigned role)
{
    switch (role) {
    case TRUST_WRITER: return "writer";
    case TRUST_APPROVER: return "approver";
    case TRUST_HUB: return "hub";
    case TRUST_AUDITOR: return "auditor";
    case TRUST_ROOT: return "root";
    case TRUST_REPORTER: return "reporter";
    default: return "unknown";
    }
}

const char *
trust_reason_name(enum trust_reason r)
{
    static const char *const names[] = {
        [TRUST_OK] = "ok",
        [TRUST_PENDING] = "pending",
        [TRUST_UNKNOWN_SIGNER] = "unknown-signer",
        [TRUST_REVOKED] = "revoked",
        [TRUST_EQUIVOCATED] = "equivocated",
        [TRUST_EXPIRED] = "expired",
        [TRUST_ROLE] = "wrong-role",
        [TRUST_UNIT] = "outside-unit",
        [TRUST_NO_UNIT] = "no-unit",
        [TRUST_MIXED] = "mixed-leaf",
        [TRUST_TABLE] = "unknown-table",
        [TRUST_ISSUER] = "not-an-issuer",
    };
    return (unsigned)r < sizeof names / sizeof names[0] && names[r] ? names[r] : "unknown";
}

err_code
trust_root(struct store *st, uint8_t pk[KEY_PUBLIC_SIZE], int *pinned)
{
    uint8_t buf[KEY_PUBLIC_SIZE];
    size_t n = 0;
    err_code rc = store_meta_get(st, "root", buf, sizeof buf, &n);
    *pinned = 0;
    if (rc == ERR_NOTFOUND) {
        return ERR_OK;
    }
    if (rc != ERR_OK) {
        return rc;
    }
    if (n != KEY_PUBLIC_SIZE) {
        return ERR_CORRUPT_HERE;
    }
    memcpy(pk, buf, KEY_PUBLIC_SIZE);
    *pinned = 1;
    return ERR_OK;
}

err_code
trust_pin_root(struct store *st, const uint8_t pk[KEY_PUBLIC_SIZE])
{
    return store_meta_put(st, "root", pk, KEY_PUBLIC_SIZE);
}

/* The commit's day in Vietnam, YYYY-MM-DD (text order is date order). */
static void
trust_leaf_date(uint64_t hlc, char out[11])
{
    int64_t ms = (int64_t)(hlc >> HLC_COUNTER_BITS) + DOMAIN_TZ_OFFSET_MS;
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(out, 11, "%04u-%02u-%02u", (unsigned)(tm.tm_year + 1900) % 10000u,
             (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u);
}

/* ---------- a small string -> index hash map (open addressing, power of two) ---------- */

struct tmap {
    uint32_t *slot; /* index + 1; 0 empty */
    size_t cap;     /* power of two */
    size_t count;
};

static uint64_t
tmap_hash(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h = (h ^ b[i]) * 1099511628211ull;
    }
    return h;
}

typedef const void *(*tmap_key_fn)(void *ctx, uint32_t idx, size_t *len);

/* Finds key; *found. Returns the slot for key (where it is or would go). */
static size_t
tmap_find(const struct tmap *m, const void *key, size_t len, tmap_key_fn kf, void *ctx, int *found)
{
    size_t i = (size_t)tmap_hash(key, len) & (m->cap - 1);
    *found = 0;
    while (m->slot[i] != 0) {
        size_t kl = 0;
        const void *k = kf(ctx, m->slot[i] - 1, &kl);
        if (kl == len && memcmp(k, key, len) == 0) {
            *found = 1;
            return i;
        }
        i = (i + 1) & (m->cap - 1);
    }
    return i;
}

static err_code
tmap_grow(struct tmap *m, tmap_key_fn kf, void *ctx)
{
    if (m->cap != 0 && (m->count + 1) * 2 <= m->cap) {
        return ERR_OK;
    }
    size_t cap = m->cap ? m->cap * 2 : 64;
    uint32_t *slot = calloc(cap, sizeof *slot);
    if (slot == NULL) {
        return ERR_NOMEM;
    }
    struct tmap n = {.slot = slot, .cap = cap, .count = m->count};
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slot[i] != 0) {
            size_t kl = 0;
            const void *k = kf(ctx, m->slot[i] - 1, &kl);
            int f = 0;
            n.slot[tmap_find(&n, k, kl, kf, ctx, &f)] = m->slot[i];
        }
    }
    free(m->slot);
    *m = n;
    return ERR_OK;
}

/* ---------- the evaluated state ---------- */

struct tgrant {
    unsigned role;
    char *unit;
    char *expires;   /* or NULL */
    uint32_t issuer; /* device index */
    uint64_t issuer_index;
};

struct tdev {
    uint8_t key[KEY_PUBLIC_SIZE];
    int64_t log_id; /* 0: log not held */
    int depth;      /* -1: no valid chain */
    int limited;    /* 0, 1 revoked, 2 equivocation */
    int64_t last;   /* when limited */
    char *reason;
    struct tgrant *g;
    size_t ng, capg;
};

/* One node of the units tree as trust sees it: last-writer-wins of the unit row's existence and
 * parent, and of the succession row's existence and new code. */
struct tclk {
    uint64_t hlc;
    uint32_t dev; /* device index + 1; 0: never written */
    uint64_t index;
    uint32_t pos; /* change position inside the leaf: a later change wins */
};
struct tnode {
    char *code;
    int live;
    struct tclk live_clk;
    char *parent;
    struct tclk parent_clk;
    int succ_live;
    struct tclk succ_live_clk;
    char *succ;
    struct tclk succ_clk;
};

/* What trust needs of one trust leaf, extracted once. */
struct twrite {
    int succession; /* 0: unit row, 1: unit_succession row */
    char *code;     /* pk */
    int has_exists, exists;
    int has_ref; /* parent (unit) or new_code (succession) written */
    char *ref;   /* its value (NULL: SQL NULL) */
    uint32_t pos;
};
struct tcert {
    uint32_t subject; /* device index */
    unsigned role;
    char *unit;
    char *expires;
};
struct trev {
    uint32_t subject;
    int has_last;
    uint64_t last;
    char *reason;
};
struct tleaf {
    int64_t rowid;
    uint32_t dev;
    uint64_t index;
    uint64_t hlc;
    int mixed;
    struct twrite *w;
    size_t nw;
    struct tcert *c;
    size_t nc;
    struct trev *r;
    size_t nr;
    enum trust_reason status;
    char detail[TRUST_DETAIL_SIZE];
};

struct tstate {
    int pinned;
    uint32_t root; /* device index of the root */
    struct tdev *dev;
    size_t ndev, capdev;
    struct tmap devmap;
    struct tnode *node;
    size_t nnode, capnode;
    struct tmap nodemap;
    struct tleaf *leaf;
    size_t nleaf, capleaf;
    uint32_t *by_log; /* log id -> device index + 1 */
    size_t nby_log;
};

static const void *
tstate_dev_key(void *ctx, uint32_t idx, size_t *len)
{
    struct tstate *s = ctx;
    *len = KEY_PUBLIC_SIZE;
    return s->dev[idx].key;
}

static const void *
tstate_node_key(void *ctx, uint32_t idx, size_t *len)
{
    struct tstate *s = ctx;
    *len = strlen(s->node[idx].code);
    return s->node[idx].code;
}

static void *
tgrow(void *arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap) {
        return arr;
    }
    size_t c = *cap ? *cap * 2 : 16;
    void *a = realloc(arr, c * size);
    if (a != NULL) {
        memset((char *)a + *cap * size, 0, (c - *cap) * size);
        *cap = c;
    }
    return a;
}

static err_code
tstate_dev(struct tstate *s, const uint8_t key[KEY_PUBLIC_SIZE], uint32_t *out)
{
    int found = 0;
    if (s->devmap.cap != 0) {
        size_t i = tmap_find(&s->devmap, key, KEY_PUBLIC_SIZE, tstate_dev_key, s, &found);
        if (found) {
            *out = s->devmap.slot[i] - 1;
            return ERR_OK;
        }
    }
    if (tmap_grow(&s->devmap, tstate_dev_key, s) != ERR_OK) {
        return ERR_NOMEM;
    }
    struct tdev *d = tgrow(s->dev, &s->capdev, s->ndev, sizeof *d);
    if (d == NULL) {
        return ERR_NOMEM;
    }
    s->dev = d;
    d = &s->dev[s->ndev];
    memset(d, 0, sizeof *d);
    memcpy(d->key, key, KEY_PUBLIC_SIZE);
    d->depth = -1;
    size_t i = tmap_find(&s->devmap, key, KEY_PUBLIC_SIZE, tstate_dev_key, s, &found);
    s->devmap.slot[i] = (uint32_t)++s->ndev;
    s->devmap.count++;
    *out = (uint32_t)(s->ndev - 1);
    return ERR_OK;
}

static struct tnode *
tstate_node(struct tstate *s, const char *code, int create)
{
    int found = 0;
    if (s->nodemap.cap != 0) {
        size_t i = tmap_find(&s->nodemap, code, strlen(code), tstate_node_key, s, &found);
        if (found) {
            return &s->node[s->nodemap.slot[i] - 1];
        }
    }
    if (!create || tmap_grow(&s->nodemap, tstate_node_key, s) != ERR_OK) {
        return NULL;
    }
    struct tnode *n = tgrow(s->node, &s->capnode, s->nnode, sizeof *n);
    if (n == NULL) {
        return NULL;
    }
    s->node = n;
    n = &s->node[s->nnode];
    memset(n, 0, sizeof *n);
    if ((n->code = strdup(code)) == NULL) {
        return NULL;
    }
    size_t i = tmap_find(&s->nodemap, code, strlen(code), tstate_node_key, s, &found);
    s->nodemap.slot[i] = (uint32_t)++s->nnode;
    s->nodemap.count++;
    return n;
}

static void
tstate_free(struct tstate *s)
{
    for (size_t i = 0; i < s->ndev; i++) {
        for (size_t j = 0; j < s->dev[i].ng; j++) {
            free(s->dev[i].g[j].unit);
            free(s->dev[i].g[j].expires);
        }
        free(s->dev[i].g);
        free(s->dev[i].reason);
    }
    free(s->dev);
    free(s->devmap.slot);
    for (size_t i = 0; i < s->nnode; i++) {
        free(s->node[i].code);
        free(s->node[i].parent);
        free(s->node[i].succ);
    }
    free(s->node);
    free(s->nodemap.slot);
    for (size_t i = 0; i < s->nleaf; i++) {
        struct tleaf *l = &s->leaf[i];
        for (size_t j = 0; j < l->nw; j++) {
            free(l->w[j].code);
            free(l->w[j].ref);
        }
        for (size_t j = 0; j < l->nc; j++) {
            free(l->c[j].unit);
            free(l->c[j].expires);
        }
        for (size_t j = 0; j < l->nr; j++) {
            free(l->r[j].reason);
        }
        free(l->w);
        free(l->c);
        free(l->r);
    }
    free(s->leaf);
    free(s->by_log);
    memset(s, 0, sizeof *s);
}

static char *
tdup(const char *s, err_code *rc)
{
    if (s == NULL) {
        return NULL;
    }
    char *d = strdup(s);
    if (d == NULL) {
        *rc = ERR_NOMEM;
    }
    return d;
}

static err_code
tdev_grant(struct tdev *d, unsigned role, const char *unit, const char *expires, uint32_t issuer,
           uint64_t issuer_index)
{
    struct tgrant *g = tgrow(d->g, &d->capg, d->ng, sizeof *g);
    if (g == NULL) {
        return ERR_NOMEM;
    }
    d->g = g;
    err_code rc = ERR_OK;
    g = &d->g[d->ng];
    g->role = role;
    g->unit = tdup(unit, &rc);
    g->expires = tdup(expires, &rc);
    g->issuer = issuer;
    g->issuer_index = issuer_index;
    if (rc != ERR_OK) {
        free(g->unit);
        free(g->expires);
        return rc;
    }
    d->ng++;
    return ERR_OK;
}

/* ---------- the units tree walk, over memory or over the store ---------- */

/* The next code up from code: its successor when a live succession names one, else its parent
 * when code is a live unit; 0 when there is none. */
typedef int (*tree_step_fn)(void *ctx, const char *code, char out[UNITS_CODE_BUF]);

static int
tree_step_mem(void *ctx, const char *code, char out[UNITS_CODE_BUF])
{
    struct tnode *n = tstate_node(ctx, code, 0);
    if (n == NULL) {
        return 0;
    }
    const char *next = n->succ_live && n->succ ? n->succ : n->live ? n->parent : NULL;
    if (next == NULL || strlen(next) >= UNITS_CODE_BUF) {
        return 0;
    }
    strcpy(out, next);
    return 1;
}

/* Is code inside unit's subtree? A walk longer than TRUST_WALK_MAX is a cycle: not covered. */
static int
tree_covers(tree_step_fn step, void *ctx, const char *unit, const char *code)
{
    if (strcmp(unit, TRUST_ROOT_UNIT) == 0) {
        return 1;
    }
    char cur[UNITS_CODE_BUF];
    if (strlen(code) >= sizeof cur) {
        return 0;
    }
    strcpy(cur, code);
    for (unsigned i = 0; i < TRUST_WALK_MAX; i++) {
        if (strcmp(cur, unit) == 0) {
            return 1;
        }
        char next[UNITS_CODE_BUF];
        if (!step(ctx, cur, next)) {
            return 0;
        }
        strcpy(cur, next);
    }
    return 0;
}

static int
tree_step_store(void *ctx, const char *code, char out[UNITS_CODE_BUF])
{
    struct store *st = ctx;
    static const char q_succ[] =
        "SELECT new_code FROM unit_succession WHERE old_code=?1 AND _live AND new_code NOT NULL";
    static const char q_parent[] = "SELECT parent FROM unit WHERE code=?1 AND _live";
    const char *qs[] = {q_succ, q_parent};
    for (int k = 0; k < 2; k++) {
        sqlite3_stmt *s = store_stmt(st, qs[k]);
        if (s == NULL) {
            return 0;
        }
        sqlite3_bind_text(s, 1, code, -1, SQLITE_STATIC);
        int found = 0;
        if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) == SQLITE_TEXT) {
            const char *v = (const char *)sqlite3_column_text(s, 0);
            if (strlen(v) < UNITS_CODE_BUF) {
                strcpy(out, v);
                found = 1;
            }
        }
        sqlite3_reset(s);
        if (found) {
            return 1;
        }
    }
    return 0;
}

err_code
trust_covers(struct store *st, const char *unit, const char *code, int *yes)
{
    *yes = tree_covers(tree_step_store, st, unit, code);
    return ERR_OK;
}

/* ---------- judging one data leaf ---------- */

/* The grants and limit of the author as one judgement needs them. */
struct tview {
    int known;
    int is_root;
    int limited;
    int64_t last;
    const struct tgrant *g;
    size_t ng;
};

static enum trust_reason
trust_judge_limits(const struct tview *v, uint64_t index, char *detail)
{
    if (!v->known) {
        snprintf(detail, TRUST_DETAIL_SIZE, "no valid certificate chain to the pinned root");
        return TRUST_UNKNOWN_SIGNER;
    }
    if (v->limited && (int64_t)index > v->last) {
        if (v->last < 0) {
            snprintf(detail, TRUST_DETAIL_SIZE, "%s: no leaf of this log counts",
                     v->limited == 2 ? "equivocation" : "revoked");
        } else {
            snprintf(detail, TRUST_DETAIL_SIZE, "%s after index %lld",
                     v->limited == 2 ? "equivocation" : "revoked", (long long)v->last);
        }
        return v->limited == 2 ? TRUST_EQUIVOCATED : TRUST_REVOKED;
    }
    return TRUST_OK;
}

/* The roles of mask as "writer or approver", for a quarantine detail. */
static void
trust_roles_str(unsigned mask, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (unsigned b = 0; b < 8; b++) {
        if (mask & (1u << b)) {
            int k = snprintf(buf + n, cap - n, "%s%s", n ? " or " : "", trust_role_name(1u << b));
            if (k < 0 || (size_t)k >= cap - n) {
                return;
            }
            n += (size_t)k;
        }
    }
}

/* A data leaf: every change to a scoped table must be covered by an unexpired grant of one of
 * the roles that table allows (schema.h, .roles). */
static enum trust_reason
trust_judge_data(const struct tview *v, uint64_t index, const Cdht__Commit *c, int kind,
                 tree_step_fn step, void *tctx, char *detail)
{
    enum trust_reason r = trust_judge_limits(v, index, detail);
    if (r != TRUST_OK || v->is_root) {
        return r;
    }
    if (kind == LEAF_KIND_MIXED) {
        snprintf(detail, TRUST_DETAIL_SIZE, "a leaf may not mix trust and data changes");
        return TRUST_MIXED;
    }
    char date[11];
    trust_leaf_date(c->hlc, date);
    for (size_t i = 0; i < c->n_changes; i++) {
        const Cdht__Change *ch = c->changes[i];
        const struct schema_table *t = schema_table_find(ch->table);
        if (t == NULL || t->scope == NULL) {
            snprintf(detail, TRUST_DETAIL_SIZE,
                     "change %zu: table %s is not one a device may write", i,
                     t == NULL ? "(unknown)" : t->name);
            return TRUST_TABLE;
        }
        const char *unit = NULL;
        for (size_t j = 0; j < ch->n_cells; j++) {
            if (strcmp(ch->cells[j]->col, t->scope) == 0 &&
                ch->cells[j]->value_case == CDHT__CELL__VALUE_S) {
                unit = ch->cells[j]->s;
            }
        }
        if (unit == NULL) {
            snprintf(detail, TRUST_DETAIL_SIZE, "change %zu to %s names no unit", i, t->name);
            return TRUST_NO_UNIT;
        }
        ASSERT(t->roles != 0);
        int writer = 0, fresh = 0, ok = 0;
        for (size_t g = 0; g < v->ng && !ok; g++) {
            if (!(v->g[g].role & t->roles)) {
                continue;
            }
            writer = 1;
            if (v->g[g].expires != NULL && strcmp(date, v->g[g].expires) > 0) {
                continue;
            }
            fresh = 1;
            ok = tree_covers(step, tctx, v->g[g].unit, unit);
        }
        if (!ok) {
            char roles[48];
            trust_roles_str(t->roles, roles, sizeof roles);
            if (!writer) {
                snprintf(detail, TRUST_DETAIL_SIZE, "no %s grant for table %s", roles, t->name);
                return TRUST_ROLE;
            }
            if (!fresh) {
                snprintf(detail, TRUST_DETAIL_SIZE, "every %s grant expired before %s", roles,
                         date);
                return TRUST_EXPIRED;
            }
            snprintf(detail, TRUST_DETAIL_SIZE, "unit %.32s is outside the %s grants", unit, roles);
            return TRUST_UNIT;
        }
    }
    return TRUST_OK;
}

/* ---------- evaluation from the trust leaves (in memory) ---------- */

static int
tclk_cmp(const struct tstate *s, const struct tclk *a, const struct tclk *b)
{
    if (a->hlc != b->hlc) {
        return a->hlc < b->hlc ? -1 : 1;
    }
    if (a->dev != b->dev) {
        if (a->dev == 0 || b->dev == 0) {
            return a->dev == 0 ? -1 : 1;
        }
        int k = memcmp(s->dev[a->dev - 1].key, s->dev[b->dev - 1].key, KEY_PUBLIC_SIZE);
        if (k != 0) {
            return k < 0 ? -1 : 1;
        }
    }
    if (a->index != b->index) {
        return a->index < b->index ? -1 : 1;
    }
    return a->pos < b->pos ? -1 : a->pos > b->pos ? 1 : 0;
}

/* Applies one authorised leaf's tree writes to the in-memory tree (last writer wins). */
static err_code
trust_tree_apply(struct tstate *s, const struct tleaf *l)
{
    for (size_t i = 0; i < l->nw; i++) {
        const struct twrite *w = &l->w[i];
        struct tnode *n = tstate_node(s, w->code, 1);
        if (n == NULL) {
            return ERR_NOMEM;
        }
        struct tclk k = {.hlc = l->hlc, .dev = l->dev + 1, .index = l->index, .pos = w->pos};
        struct tclk *lc = w->succession ? &n->succ_live_clk : &n->live_clk;
        struct tclk *rc = w->succession ? &n->succ_clk : &n->parent_clk;
        if (w->has_exists && tclk_cmp(s, &k, lc) >= 0) {
            *lc = k;
            *(w->succession ? &n->succ_live : &n->live) = w->exists;
        }
        if (w->has_ref && tclk_cmp(s, &k, rc) >= 0) {
            char **ref = w->succession ? &n->succ : &n->parent;
            char *v = NULL;
            if (w->ref != NULL && (v = strdup(w->ref)) == NULL) {
                return ERR_NOMEM;
            }
            free(*ref);
            *ref = v;
            *rc = k;
        }
    }
    return ERR_OK;
}

static struct tview
tstate_view(const struct tstate *s, uint32_t d)
{
    const struct tdev *v = &s->dev[d];
    struct tview w = {.known = v->depth >= 0,
                      .is_root = s->pinned && d == s->root,
                      .limited = v->limited,
                      .last = v->last,
                      .g = v->g,
                      .ng = v->ng};
    return w;
}

/* Does the author hold an unexpired hub grant covering code (root: always)? */
static int
trust_hub_covers(struct tstate *s, const struct tview *v, const char *date, const char *code)
{
    if (v->is_root) {
        return 1;
    }
    for (size_t g = 0; g < v->ng; g++) {
        if (v->g[g].role == TRUST_HUB &&
            (v->g[g].expires == NULL || strcmp(date, v->g[g].expires) <= 0) &&
            tree_covers(tree_step_mem, s, v->g[g].unit, code)) {
            return 1;
        }
    }
    return 0;
}

/* A tree-writing trust leaf, against the tree of the rounds before its author's. */
static enum trust_reason
trust_judge_tree(struct tstate *s, struct tleaf *l)
{
    struct tview v = tstate_view(s, l->dev);
    char date[11];
    trust_leaf_date(l->hlc, date);
    for (size_t i = 0; i < l->nw; i++) {
        const struct twrite *w = &l->w[i];
        struct tnode *n = tstate_node(s, w->code, 0);
        int exists = n != NULL && (w->succession ? n->succ_live : n->live);
        /* The row as it stands must be inside the author's subtree, and so must the new
         * parent or successor: a hub can neither take a unit from another subtree nor move
         * one of its own out. A new unit is judged by its parent. */
        if (exists && !trust_hub_covers(s, &v, date, w->code)) {
            snprintf(l->detail, TRUST_DETAIL_SIZE, "unit %.32s is outside the author's hub grants",
                     w->code);
            return TRUST_UNIT;
        }
        if (!exists && !w->has_ref && !v.is_root) {
            snprintf(l->detail, TRUST_DETAIL_SIZE, "new unit %.32s names no parent", w->code);
            return TRUST_UNIT;
        }
        if (w->has_ref && (w->ref == NULL ? !v.is_root : !trust_hub_covers(s, &v, date, w->ref))) {
            snprintf(l->detail, TRUST_DETAIL_SIZE, "%s %.32s is outside the author's hub grants",
                     w->succession ? "successor" : "parent", w->ref ? w->ref : "(none)");
            return TRUST_UNIT;
        }
    }
    return TRUST_OK;
}

/* A certificate or revocation leaf, against the tree of its author's round. */
static enum trust_reason
trust_judge_certs(struct tstate *s, struct tleaf *l)
{
    struct tview v = tstate_view(s, l->dev);
    char date[11];
    trust_leaf_date(l->hlc, date);
    int hub = v.is_root;
    for (size_t g = 0; g < v.ng && !hub; g++) {
        hub = v.g[g].role == TRUST_HUB &&
              (v.g[g].expires == NULL || strcmp(date, v.g[g].expires) <= 0);
    }
    if (!hub) {
        snprintf(l->detail, TRUST_DETAIL_SIZE, "the author holds no unexpired hub grant");
        return TRUST_ISSUER;
    }
    for (size_t i = 0; i < l->nc; i++) {
        if (!trust_hub_covers(s, &v, date, l->c[i].unit)) {
            snprintf(l->detail, TRUST_DETAIL_SIZE,
                     "certificate %zu: unit %.32s is outside the author's hub grants", i,
                     l->c[i].unit);
            return TRUST_ISSUER;
        }
    }
    return TRUST_OK;
}

/* Extracts what trust needs from one decoded trust leaf. */
static err_code
trust_extract(struct tstate *s, struct tleaf *l, const Cdht__Commit *c)
{
    err_code rc = ERR_OK;
    l->hlc = c->hlc;
    l->mixed = leaf_kind(c) == LEAF_KIND_MIXED;
    if (c->n_changes > 0 && (l->w = calloc(c->n_changes, sizeof *l->w)) == NULL) {
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < c->n_changes; i++) {
        const Cdht__Change *ch = c->changes[i];
        if (!leaf_table_is_trust(ch->table)) {
            continue;
        }
        struct twrite *w = &l->w[l->nw++];
        w->succession = strcmp(ch->table, "unit_succession") == 0;
        w->pos = (uint32_t)i;
        w->code = tdup(ch->pk, &rc);
        w->has_exists = ch->has_exists;
        w->exists = ch->exists;
        const char *col = w->succession ? "new_code" : "parent";
        for (size_t j = 0; j < ch->n_cells; j++) {
            const Cdht__Cell *cell = ch->cells[j];
            if (strcmp(cell->col, col) != 0) {
                continue;
            }
            if (cell->value_case == CDHT__CELL__VALUE_S) {
                free(w->ref);
                w->has_ref = 1;
                w->ref = tdup(cell->s, &rc);
            } else if (cell->value_case == CDHT__CELL__VALUE__NOT_SET) {
                free(w->ref);
                w->has_ref = 1;
                w->ref = NULL;
            }
        }
    }
    if (c->n_certs > 0 && (l->c = calloc(c->n_certs, sizeof *l->c)) == NULL) {
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < c->n_certs && rc == ERR_OK; i++) {
        struct tcert *t = &l->c[l->nc++];
        rc = tstate_dev(s, c->certs[i]->subject.data, &t->subject);
        t->role = trust_role_parse(c->certs[i]->role);
        t->unit = tdup(c->certs[i]->unit, &rc);
        t->expires = tdup(c->certs[i]->expires, &rc);
    }
    if (c->n_revocations > 0 && (l->r = calloc(c->n_revocations, sizeof *l->r)) == NULL) {
        return ERR_NOMEM;
    }
    for (size_t i = 0; i < c->n_revocations && rc == ERR_OK; i++) {
        struct trev *t = &l->r[l->nr++];
        rc = tstate_dev(s, c->revocations[i]->subject.data, &t->subject);
        t->has_last = c->revocations[i]->has_last_index;
        t->last = c->revocations[i]->last_index;
        t->reason = tdup(c->revocations[i]->reason, &rc);
    }
    return rc;
}

/* Loads the devices with logs, the equivocation limits and every trust leaf. */
static err_code
trust_load(struct store *st, struct tstate *s)
{
    uint8_t root[KEY_PUBLIC_SIZE];
    err_code rc = trust_root(st, root, &s->pinned);
    if (rc != ERR_OK) {
        return rc;
    }
    if (s->pinned && (rc = tstate_dev(s, root, &s->root)) != ERR_OK) {
        return rc;
    }
    sqlite3_stmt *q = NULL;
    int src = sqlite3_prepare_v2(st->db, "SELECT id, key FROM log ORDER BY id", -1, &q, NULL);
    while (rc == ERR_OK && q != NULL && (src = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(q, 0);
        if (sqlite3_column_bytes(q, 1) != KEY_PUBLIC_SIZE || id <= 0 || id >= LOG_ID_LIMIT) {
            rc = ERR_CORRUPT_HERE;
            break;
        }
        uint32_t d = 0;
        if ((rc = tstate_dev(s, sqlite3_column_blob(q, 1), &d)) != ERR_OK) {
            break;
        }
        s->dev[d].log_id = id;
        if ((size_t)id >= s->nby_log) {
            size_t n = (size_t)id * 2 + 16;
            uint32_t *b = realloc(s->by_log, n * sizeof *b);
            if (b == NULL) {
                rc = ERR_NOMEM;
                break;
            }
            memset(b + s->nby_log, 0, (n - s->nby_log) * sizeof *b);
            s->by_log = b;
            s->nby_log = n;
        }
        s->by_log[id] = d + 1;
    }
    sqlite3_finalize(q);
    if (rc != ERR_OK) {
        return rc;
    }
    if (src != SQLITE_DONE) {
        return store_err(st, src, "trust logs");
    }
    /* Equivocation: the log counts up to the common prefix. */
    src = sqlite3_prepare_v2(
        st->db, "SELECT log_key, min(prefix) FROM equivocation GROUP BY log_key", -1, &q, NULL);
    while (rc == ERR_OK && q != NULL && (src = sqlite3_step(q)) == SQLITE_ROW) {
        uint32_t d = 0;
        if (sqlite3_column_bytes(q, 0) != KEY_PUBLIC_SIZE) {
            continue;
        }
        if ((rc = tstate_dev(s, sqlite3_column_blob(q, 0), &d)) == ERR_OK) {
            s->dev[d].limited = 2;
            s->dev[d].last = sqlite3_column_int64(q, 1) - 1;
        }
    }
    sqlite3_finalize(q);
    if (rc != ERR_OK) {
        return rc;
    }
    if (src != SQLITE_DONE) {
        return store_err(st, src, "trust equivocations");
    }
    src = sqlite3_prepare_v2(st->db,
                             "SELECT t.id, l.data FROM trust_leaf t JOIN leaf l ON l.id = t.id "
                             "ORDER BY t.id",
                             -1, &q, NULL);
    while (rc == ERR_OK && q != NULL && (src = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t rowid = sqlite3_column_int64(q, 0);
        int64_t log_id = rowid >> LOG_INDEX_BITS;
        Cdht__Commit *c = NULL;
        if (log_id <= 0 || (size_t)log_id >= s->nby_log || s->by_log[log_id] == 0) {
            rc = ERR_CORRUPT_HERE;
            break;
        }
        if (leaf_decode(sqlite3_column_blob(q, 1), (size_t)sqlite3_column_bytes(q, 1), &c) !=
            ERR_OK) {
            rc = ERR_CORRUPT_HERE; /* verified when stored: the replica is damaged */
            break;
        }
        struct tleaf *l = tgrow(s->leaf, &s->capleaf, s->nleaf, sizeof *l);
        if (l == NULL) {
            leaf_free(c);
            rc = ERR_NOMEM;
            break;
        }
        s->leaf = l;
        l = &s->leaf[s->nleaf++];
        memset(l, 0, sizeof *l);
        l->rowid = rowid;
        l->dev = s->by_log[log_id] - 1;
        l->index = (uint64_t)rowid & (LOG_INDEX_LIMIT - 1);
        l->status = TRUST_UNKNOWN_SIGNER;
        rc = trust_extract(s, l, c);
        leaf_free(c);
    }
    sqlite3_finalize(q);
    if (rc == ERR_OK && src != SQLITE_DONE) {
        rc = store_err(st, src, "trust leaves");
    }
    return rc;
}

/* Applies the revocations judged so far to device d, which has just got its depth. */
static void
trust_limit(struct tstate *s, uint32_t d)
{
    struct tdev *dv = &s->dev[d];
    for (size_t i = 0; i < s->nleaf; i++) {
        const struct tleaf *l = &s->leaf[i];
        if (l->status != TRUST_OK || l->nr == 0 || s->dev[l->dev].depth < 0 ||
            s->dev[l->dev].depth >= dv->depth) {
            continue;
        }
        struct tview v = tstate_view(s, l->dev);
        char date[11];
        trust_leaf_date(l->hlc, date);
        for (size_t j = 0; j < l->nr; j++) {
            const struct trev *r = &l->r[j];
            if (r->subject != d) {
                continue;
            }
            int covers = 0;
            for (size_t g = 0; g < dv->ng && !covers; g++) {
                covers = trust_hub_covers(s, &v, date, dv->g[g].unit);
            }
            if (!covers) {
                continue;
            }
            int64_t last = r->has_last && r->last < (uint64_t)INT64_MAX ? (int64_t)r->last : -1;
            if (dv->limited != 1 || last < dv->last) {
                /* A revocation wins over an equivocation only when it cuts earlier. */
                if (dv->limited == 2 && dv->last <= last) {
                    continue;
                }
                dv->limited = 1;
                dv->last = last;
                free(dv->reason);
                dv->reason = r->reason ? strdup(r->reason) : NULL;
            }
        }
    }
}

/* The evaluation in rounds of depth (trust.h). */
static err_code
trust_eval(struct store *st, struct tstate *s)
{
    err_code rc = trust_load(st, s);
    if (rc != ERR_OK || !s->pinned) {
        return rc;
    }
    struct tdev *root = &s->dev[s->root];
    root->depth = 0;
    if ((rc = tdev_grant(root, TRUST_ROOT, TRUST_ROOT_UNIT, NULL, s->root, 0)) != ERR_OK) {
        return rc;
    }
    for (int k = 0; k <= (int)TRUST_DEPTH_MAX; k++) {
        /* (a) tree writes of depth k, against the tree so far; then merged. */
        for (size_t i = 0; i < s->nleaf; i++) {
            struct tleaf *l = &s->leaf[i];
            if (s->dev[l->dev].depth != k) {
                continue;
            }
            struct tview v = tstate_view(s, l->dev);
            l->status = trust_judge_limits(&v, l->index, l->detail);
            if (l->status != TRUST_OK) {
                continue;
            }
            if (l->mixed || (l->nw > 0 && (l->nc > 0 || l->nr > 0))) {
                snprintf(l->detail, TRUST_DETAIL_SIZE,
                         "a leaf may not mix units-tree writes, certificates and data");
                l->status = TRUST_MIXED;
            } else if (l->nw > 0) {
                l->status = trust_judge_tree(s, l);
            }
        }
        for (size_t i = 0; i < s->nleaf; i++) {
            struct tleaf *l = &s->leaf[i];
            if (s->dev[l->dev].depth == k && l->nw > 0 && l->status == TRUST_OK &&
                (rc = trust_tree_apply(s, l)) != ERR_OK) {
                return rc;
            }
        }
        /* (b) certificates and revocations of depth k, against the tree of round k. */
        for (size_t i = 0; i < s->nleaf; i++) {
            struct tleaf *l = &s->leaf[i];
            if (s->dev[l->dev].depth != k || l->status != TRUST_OK || l->nw > 0) {
                continue;
            }
            if ((l->status = trust_judge_certs(s, l)) != TRUST_OK || k == (int)TRUST_DEPTH_MAX) {
                continue;
            }
            for (size_t j = 0; j < l->nc; j++) {
                struct tdev *sub = &s->dev[l->c[j].subject];
                if (l->c[j].role == 0 || l->c[j].subject == s->root ||
                    (sub->depth >= 0 && sub->depth != k + 1)) {
                    continue; /* grants come from issuers one level up */
                }
                sub->depth = k + 1;
                if ((rc = tdev_grant(sub, l->c[j].role, l->c[j].unit, l->c[j].expires, l->dev,
                                     l->index)) != ERR_OK) {
                    return rc;
                }
            }
        }
        /* (c) the devices that joined at depth k + 1 take the revocations judged so far. */
        for (size_t d = 0; d < s->ndev; d++) {
            if (s->dev[d].depth == k + 1) {
                trust_limit(s, (uint32_t)d);
            }
        }
    }
    return ERR_OK;
}

/* ---------- the stored state: read back for admission and for the query functions ---------- */

struct trust_ctx {
    struct store *st;
    int loaded;
    int pinned;
    uint8_t root[KEY_PUBLIC_SIZE];
    /* One author cached: imports and local writes come in runs of one log. */
    int64_t log_id;
    int known;
    struct tstate one; /* holds that author's device and grants (dev[0]) */
};

err_code
trust_ctx_open(struct store *st, struct trust_ctx **out)
{
    *out = calloc(1, sizeof **out);
    if (*out == NULL) {
        return ERR_NOMEM;
    }
    (*out)->st = st;
    return ERR_OK;
}

void
trust_ctx_reset(struct trust_ctx *t)
{
    if (t == NULL) {
        return;
    }
    tstate_free(&t->one);
    t->loaded = 0;
    t->log_id = 0;
}

void
trust_ctx_free(struct trust_ctx *t)
{
    trust_ctx_reset(t);
    free(t);
}

/* Loads the stored state of log_id's device into t->one. */
static err_code
trust_ctx_author(struct trust_ctx *t, int64_t log_id)
{
    if (!t->loaded) {
        err_code rc = trust_root(t->st, t->root, &t->pinned);
        if (rc != ERR_OK) {
            return rc;
        }
        t->loaded = 1;
    }
    if (t->log_id == log_id) {
        return ERR_OK;
    }
    tstate_free(&t->one);
    t->log_id = 0;
    t->known = 0;
    uint8_t key[KEY_PUBLIC_SIZE];
    err_code rc = log_key_of(t->st, log_id, key);
    uint32_t d = 0;
    if (rc != ERR_OK || (rc = tstate_dev(&t->one, key, &d)) != ERR_OK) {
        return rc;
    }
    struct tdev *dv = &t->one.dev[d];
    sqlite3_stmt *q = store_stmt(t->st, "SELECT depth, last_index, limit_kind FROM trust_dev "
                                        "WHERE key=?1");
    if (q == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_blob(q, 1, key, KEY_PUBLIC_SIZE, SQLITE_STATIC);
    int src = sqlite3_step(q);
    if (src == SQLITE_ROW) {
        t->known = 1;
        dv->depth = sqlite3_column_int(q, 0);
        dv->limited = sqlite3_column_int(q, 2);
        dv->last = sqlite3_column_int64(q, 1);
    }
    sqlite3_reset(q);
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        return store_err(t->st, src, "trust dev");
    }
    q = store_stmt(t->st, "SELECT role, unit, expires FROM trust_grant WHERE key=?1");
    if (q == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_blob(q, 1, key, KEY_PUBLIC_SIZE, SQLITE_STATIC);
    while (rc == ERR_OK && (src = sqlite3_step(q)) == SQLITE_ROW) {
        rc = tdev_grant(dv, (unsigned)sqlite3_column_int(q, 0),
                        (const char *)sqlite3_column_text(q, 1),
                        (const char *)sqlite3_column_text(q, 2), 0, 0);
    }
    sqlite3_reset(q);
    if (rc == ERR_OK && src != SQLITE_DONE) {
        rc = store_err(t->st, src, "trust grants");
    }
    if (rc == ERR_OK) {
        t->log_id = log_id;
        t->one.pinned = t->pinned;
        t->one.root = memcmp(key, t->root, KEY_PUBLIC_SIZE) == 0 ? d : UINT32_MAX;
    }
    return rc;
}

/* Does one of the author's hub grants cover code in the stored tree? */
static int
trust_stored_hub_covers(struct trust_ctx *t, const struct tview *v, const char *code)
{
    for (size_t g = 0; g < v->ng; g++) {
        if (v->g[g].role == TRUST_HUB && tree_covers(tree_step_store, t->st, v->g[g].unit, code)) {
            return 1;
        }
    }
    return 0;
}

/* The scope of a hub's trust leaf against the stored tree: a first answer for the local write
 * path (the evaluation in rounds is the one that counts). */
static enum trust_reason
trust_judge_stored_scope(struct trust_ctx *t, const struct tview *v, const Cdht__Commit *c,
                         char *detail)
{
    for (size_t i = 0; i < c->n_certs; i++) {
        if (!trust_stored_hub_covers(t, v, c->certs[i]->unit)) {
            snprintf(detail, TRUST_DETAIL_SIZE,
                     "certificate %zu: unit %.32s is outside this device's hub grants", i,
                     c->certs[i]->unit);
            return TRUST_ISSUER;
        }
    }
    for (size_t i = 0; i < c->n_changes; i++) {
        const Cdht__Change *ch = c->changes[i];
        int succ = strcmp(ch->table, "unit_succession") == 0;
        char up[UNITS_CODE_BUF];
        /* An existing unit must be ours; a new one is judged by the parent it names. */
        if (tree_step_store(t->st, ch->pk, up) && !trust_stored_hub_covers(t, v, ch->pk)) {
            snprintf(detail, TRUST_DETAIL_SIZE, "unit %.32s is outside this device's hub grants",
                     ch->pk);
            return TRUST_UNIT;
        }
        for (size_t j = 0; j < ch->n_cells; j++) {
            const Cdht__Cell *cell = ch->cells[j];
            if (strcmp(cell->col, succ ? "new_code" : "parent") == 0 &&
                cell->value_case == CDHT__CELL__VALUE_S &&
                !trust_stored_hub_covers(t, v, cell->s)) {
                snprintf(detail, TRUST_DETAIL_SIZE, "%s %.32s is outside this device's hub grants",
                         succ ? "successor" : "parent", cell->s);
                return TRUST_UNIT;
            }
        }
    }
    return TRUST_OK;
}

static err_code
trust_judge_stored(struct trust_ctx *t, int64_t log_id, uint64_t index, const Cdht__Commit *c,
                   int kind, enum trust_reason *why, char *detail)
{
    err_code rc = trust_ctx_author(t, log_id);
    if (rc != ERR_OK) {
        return rc;
    }
    detail[0] = '\0';
    if (!t->pinned) {
        *why = TRUST_OK;
        return ERR_OK;
    }
    struct tview v = tstate_view(&t->one, 0);
    v.is_root = t->one.root == 0;
    v.known = t->known || v.is_root;
    if (kind == LEAF_KIND_DATA) {
        *why = trust_judge_data(&v, index, c, kind, tree_step_store, t->st, detail);
        return ERR_OK;
    }
    /* A trust leaf is judged by reconciliation; here only what cannot change with it. */
    *why = trust_judge_limits(&v, index, detail);
    if (*why == TRUST_OK && kind == LEAF_KIND_MIXED) {
        snprintf(detail, TRUST_DETAIL_SIZE, "a leaf may not mix trust and data changes");
        *why = TRUST_MIXED;
    }
    if (*why == TRUST_OK && !v.is_root) {
        int hub = 0;
        for (size_t g = 0; g < v.ng; g++) {
            hub |= v.g[g].role == TRUST_HUB;
        }
        if (!hub) {
            snprintf(detail, TRUST_DETAIL_SIZE, "the author holds no hub grant");
            *why = TRUST_ISSUER;
        } else {
            *why = trust_judge_stored_scope(t, &v, c, detail);
        }
    }
    if (*why == TRUST_OK) {
        *why = TRUST_PENDING;
    }
    return ERR_OK;
}

err_code
trust_would_count(struct trust_ctx *t, int64_t log_id, uint64_t index, const Cdht__Commit *c,
                  enum trust_reason *why, char detail[TRUST_DETAIL_SIZE])
{
    char buf[TRUST_DETAIL_SIZE];
    return trust_judge_stored(t, log_id, index, c, leaf_kind(c), why, detail ? detail : buf);
}

static err_code
trust_hold(struct store *st, int64_t rowid, enum trust_reason why, const char *detail)
{
    sqlite3_stmt *q =
        store_stmt(st, "INSERT OR REPLACE INTO quarantine(id, reason, detail) VALUES(?1, ?2, ?3)");
    if (q == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_int64(q, 1, rowid);
    sqlite3_bind_int(q, 2, (int)why);
    if (detail != NULL && detail[0] != '\0') {
        sqlite3_bind_text(q, 3, detail, -1, SQLITE_STATIC);
    }
    int src = sqlite3_step(q);
    sqlite3_reset(q);
    return src == SQLITE_DONE ? ERR_OK : store_err(st, src, "quarantine");
}

err_code
trust_admit(struct trust_ctx *t, int64_t log_id, uint64_t index, const Cdht__Commit *c,
            int *applied, int *dirty)
{
    int kind = leaf_kind(c);
    int64_t rowid = log_leaf_rowid(log_id, index);
    *applied = 0;
    if (kind != LEAF_KIND_DATA) {
        sqlite3_stmt *q = store_stmt(t->st, "INSERT OR IGNORE INTO trust_leaf(id) VALUES(?1)");
        if (q == NULL) {
            return ERR_DB;
        }
        sqlite3_bind_int64(q, 1, rowid);
        int src = sqlite3_step(q);
        sqlite3_reset(q);
        if (src != SQLITE_DONE) {
            return store_err(t->st, src, "trust leaf");
        }
    }
    enum trust_reason why = TRUST_OK;
    char detail[TRUST_DETAIL_SIZE];
    err_code rc = trust_judge_stored(t, log_id, index, c, kind, &why, detail);
    if (rc != ERR_OK) {
        return rc;
    }
    if (why == TRUST_OK) {
        *applied = 1;
        return merge_commit(t->st, log_id, index, c);
    }
    if (kind != LEAF_KIND_DATA) {
        *dirty = 1; /* a held trust leaf, whatever the reason, is judged again in full */
    }
    return trust_hold(t->st, rowid, why, detail);
}

/* ---------- reconciliation ---------- */

/* A set of (table, pk) rows, for the rebuild. Keys are "table\0pk". */
struct trows {
    char **key;
    size_t *len;
    size_t n, cap;
    struct tmap map;
};

static const void *
trows_key(void *ctx, uint32_t idx, size_t *len)
{
    struct trows *r = ctx;
    *len = r->len[idx];
    return r->key[idx];
}

static err_code
trows_add(struct trows *r, const char *table, const char *pk)
{
    size_t tl = strlen(table), pl = strlen(pk), len = tl + 1 + pl;
    char buf[NAME_IDENT_SIZE_MAX + 2 + PK_SIZE_MAX];
    if (len >= sizeof buf) {
        return ERR_CORRUPT_HERE;
    }
    memcpy(buf, table, tl + 1);
    memcpy(buf + tl + 1, pk, pl);
    int found = 0;
    if (r->map.cap != 0) {
        tmap_find(&r->map, buf, len, trows_key, r, &found);
        if (found) {
            return ERR_OK;
        }
    }
    if (tmap_grow(&r->map, trows_key, r) != ERR_OK) {
        return ERR_NOMEM;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        char **k = realloc(r->key, cap * sizeof *k);
        if (k == NULL) {
            return ERR_NOMEM;
        }
        r->key = k;
        size_t *l = realloc(r->len, cap * sizeof *l);
        if (l == NULL) {
            return ERR_NOMEM;
        }
        r->len = l;
        r->cap = cap;
    }
    if ((r->key[r->n] = malloc(len)) == NULL) {
        return ERR_NOMEM;
    }
    memcpy(r->key[r->n], buf, len);
    r->len[r->n] = len;
    size_t i = tmap_find(&r->map, buf, len, trows_key, r, &found);
    r->map.slot[i] = (uint32_t)++r->n;
    r->map.count++;
    return ERR_OK;
}

static int
trows_has(void *ctx, const char *table, const char *pk)
{
    struct trows *r = ctx;
    char buf[NAME_IDENT_SIZE_MAX + 2 + PK_SIZE_MAX];
    size_t tl = strlen(table), pl = strlen(pk), len = tl + 1 + pl;
    if (len >= sizeof buf || r->map.cap == 0) {
        return 0;
    }
    memcpy(buf, table, tl + 1);
    memcpy(buf + tl + 1, pk, pl);
    int found = 0;
    tmap_find(&r->map, buf, len, trows_key, r, &found);
    return found;
}

static void
trows_free(struct trows *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->key[i]);
    }
    free(r->key);
    free(r->len);
    free(r->map.slot);
}

/* A per-device fingerprint of its evaluated trust, to find the devices whose answer changed. */
static void
trust_dev_digest(const struct tstate *s, const struct tdev *d, uint8_t out[HASH_SIZE])
{
    struct sha256 h;
    sha256_init(&h);
    char buf[96];
    int n = snprintf(buf, sizeof buf, "%d %d %lld %zu|", d->depth, d->limited,
                     (long long)(d->limited ? d->last : 0), d->ng);
    sha256_update(&h, buf, (size_t)n);
    /* Grants as a set, whatever their order: the XOR of each grant's own hash. Grants are
     * distinct (each names its certificate's leaf), so no two hashes cancel; the count is
     * hashed too. */
    uint8_t acc[HASH_SIZE] = {0};
    for (size_t g = 0; g < d->ng; g++) {
        struct sha256 gh;
        uint8_t one[HASH_SIZE];
        sha256_init(&gh);
        n = snprintf(buf, sizeof buf, "%u|%s|%s|%llu|", d->g[g].role, d->g[g].unit,
                     d->g[g].expires ? d->g[g].expires : "",
                     (unsigned long long)d->g[g].issuer_index);
        sha256_update(&gh, buf, (size_t)n);
        sha256_update(&gh, s->dev[d->g[g].issuer].key, KEY_PUBLIC_SIZE);
        sha256_final(&gh, one);
        for (size_t i = 0; i < HASH_SIZE; i++) {
            acc[i] ^= one[i];
        }
    }
    sha256_update(&h, acc, sizeof acc);
    sha256_final(&h, out);
}

static err_code
trust_stored_digest(struct store *st, const uint8_t key[KEY_PUBLIC_SIZE], uint8_t out[HASH_SIZE],
                    int *known)
{
    struct tstate one = {0};
    uint32_t d = 0;
    err_code rc = tstate_dev(&one, key, &d);
    *known = 0;
    sqlite3_stmt *q = NULL;
    int src = SQLITE_OK;
    if (rc == ERR_OK) {
        q = store_stmt(st, "SELECT depth, last_index, limit_kind FROM trust_dev WHERE key=?1");
        if (q == NULL) {
            rc = ERR_DB;
        }
    }
    if (rc == ERR_OK) {
        sqlite3_bind_blob(q, 1, key, KEY_PUBLIC_SIZE, SQLITE_STATIC);
        if ((src = sqlite3_step(q)) == SQLITE_ROW) {
            *known = 1;
            one.dev[d].depth = sqlite3_column_int(q, 0);
            one.dev[d].last = sqlite3_column_int64(q, 1);
            one.dev[d].limited = sqlite3_column_int(q, 2);
        }
        sqlite3_reset(q);
        if (src != SQLITE_ROW && src != SQLITE_DONE) {
            rc = store_err(st, src, "trust dev");
        }
    }
    if (rc == ERR_OK && *known) {
        q = store_stmt(st, "SELECT role, unit, expires, issuer, issuer_index FROM trust_grant "
                           "WHERE key=?1");
        if (q == NULL) {
            rc = ERR_DB;
        } else {
            sqlite3_bind_blob(q, 1, key, KEY_PUBLIC_SIZE, SQLITE_STATIC);
            while (rc == ERR_OK && (src = sqlite3_step(q)) == SQLITE_ROW) {
                uint32_t is = 0;
                if (sqlite3_column_bytes(q, 3) != KEY_PUBLIC_SIZE) {
                    rc = ERR_CORRUPT_HERE;
                    break;
                }
                if ((rc = tstate_dev(&one, sqlite3_column_blob(q, 3), &is)) == ERR_OK) {
                    rc = tdev_grant(&one.dev[d], (unsigned)sqlite3_column_int(q, 0),
                                    (const char *)sqlite3_column_text(q, 1),
                                    (const char *)sqlite3_column_text(q, 2), is,
                                    (uint64_t)sqlite3_column_int64(q, 4));
                }
            }
            sqlite3_reset(q);
            if (rc == ERR_OK && src != SQLITE_DONE) {
                rc = store_err(st, src, "trust grants");
            }
        }
    }
    if (rc == ERR_OK && *known) {
        trust_dev_digest(&one, &one.dev[d], out);
    }
    tstate_free(&one);
    return rc;
}

/* Did the tree move or lose anything the stored units tables had? (Only additions cannot take
 * coverage away.) *grew: it gained codes or links. */
static err_code
trust_tree_diff(struct store *st, struct tstate *s, int *shrank, int *grew)
{
    *shrank = 0;
    *grew = 0;
    size_t seen_units = 0, seen_succ = 0;
    sqlite3_stmt *q = NULL;
    int src = sqlite3_prepare_v2(st->db, "SELECT code, parent FROM unit WHERE _live", -1, &q, NULL);
    while (q != NULL && (src = sqlite3_step(q)) == SQLITE_ROW && !*shrank) {
        struct tnode *n = tstate_node(s, (const char *)sqlite3_column_text(q, 0), 0);
        const char *p = (const char *)sqlite3_column_text(q, 1);
        seen_units++;
        if (n == NULL || !n->live || (p == NULL) != (n->parent == NULL) ||
            (p != NULL && strcmp(p, n->parent) != 0)) {
            *shrank = 1;
        }
    }
    sqlite3_finalize(q);
    if (src != SQLITE_DONE && src != SQLITE_ROW) {
        return store_err(st, src, "trust tree");
    }
    src = sqlite3_prepare_v2(st->db, "SELECT old_code, new_code FROM unit_succession WHERE _live",
                             -1, &q, NULL);
    while (q != NULL && (src = sqlite3_step(q)) == SQLITE_ROW && !*shrank) {
        struct tnode *n = tstate_node(s, (const char *)sqlite3_column_text(q, 0), 0);
        const char *p = (const char *)sqlite3_column_text(q, 1);
        seen_succ++;
        if (n == NULL || !n->succ_live || (p == NULL) != (n->succ == NULL) ||
            (p != NULL && strcmp(p, n->succ) != 0)) {
            *shrank = 1;
        }
    }
    sqlite3_finalize(q);
    if (src != SQLITE_DONE && src != SQLITE_ROW) {
        return store_err(st, src, "trust tree");
    }
    size_t units = 0, succ = 0;
    for (size_t i = 0; i < s->nnode; i++) {
        units += s->node[i].live != 0;
        succ += s->node[i].succ_live != 0;
    }
    /* Only a new unit can do nothing but add coverage. A new succession redirects the walk up
     * from its old code (successor before parent), which can take coverage away. */
    *grew = units != seen_units;
    if (succ != seen_succ) {
        *shrank = 1;
    }
    return ERR_OK;
}

/* Writes the evaluated devices and grants. */
static err_code
trust_store(struct store *st, const struct tstate *s)
{
    err_code rc = store_exec(st, "DELETE FROM trust_dev; DELETE FROM trust_grant;");
    sqlite3_stmt *qd = store_stmt(st, "INSERT INTO trust_dev(key, depth, last_index, limit_kind, "
                                      "reason) VALUES(?1, ?2, ?3, ?4, ?5)");
    sqlite3_stmt *qg = store_stmt(st, "INSERT OR IGNORE INTO trust_grant(key, role, unit, expires, "
                                      "issuer, issuer_index) VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
    if (qd == NULL || qg == NULL) {
        return ERR_DB;
    }
    for (size_t i = 0; i < s->ndev && rc == ERR_OK; i++) {
        const struct tdev *d = &s->dev[i];
        if (d->depth < 0) {
            continue;
        }
        sqlite3_bind_blob(qd, 1, d->key, KEY_PUBLIC_SIZE, SQLITE_STATIC);
        sqlite3_bind_int(qd, 2, d->depth);
        if (d->limited) {
            sqlite3_bind_int64(qd, 3, d->last);
        }
        sqlite3_bind_int(qd, 4, d->limited);
        if (d->reason != NULL) {
            sqlite3_bind_text(qd, 5, d->reason, -1, SQLITE_STATIC);
        }
        int src = sqlite3_step(qd);
        sqlite3_reset(qd);
        sqlite3_clear_bindings(qd);
        if (src != SQLITE_DONE) {
            return store_err(st, src, "trust store");
        }
        for (size_t g = 0; g < d->ng; g++) {
            sqlite3_bind_blob(qg, 1, d->key, KEY_PUBLIC_SIZE, SQLITE_STATIC);
            sqlite3_bind_int(qg, 2, (int)d->g[g].role);
            sqlite3_bind_text(qg, 3, d->g[g].unit, -1, SQLITE_STATIC);
            if (d->g[g].expires != NULL) {
                sqlite3_bind_text(qg, 4, d->g[g].expires, -1, SQLITE_STATIC);
            }
            sqlite3_bind_blob(qg, 5, s->dev[d->g[g].issuer].key, KEY_PUBLIC_SIZE, SQLITE_STATIC);
            sqlite3_bind_int64(qg, 6, (int64_t)d->g[g].issuer_index);
            src = sqlite3_step(qg);
            sqlite3_reset(qg);
            sqlite3_clear_bindings(qg);
            if (src != SQLITE_DONE) {
                return store_err(st, src, "trust store");
            }
        }
    }
    return rc;
}

/* The reconciliation's working set. */
struct trecon {
    struct store *st;
    struct tstate *s;
    struct trows rows; /* rows a withdrawn leaf wrote */
    int64_t *apply;    /* leaves newly counting */
    size_t napply, capapply;
    struct trust_report rep;
    struct leaf_decoder *dec; /* for a withdrawn leaf trust_settle must read itself */
};

/* Settles one leaf's new status against its stored one. c is its decoded commit. */
static err_code
trust_settle(struct trecon *r, int64_t rowid, enum trust_reason why, const char *detail,
             const Cdht__Commit *c)
{
    sqlite3_stmt *q = store_stmt(r->st, "SELECT reason, detail FROM quarantine WHERE id=?1");
    if (q == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_int64(q, 1, rowid);
    int src = sqlite3_step(q);
    int held = src == SQLITE_ROW;
    int same =
        held && sqlite3_column_int(q, 0) == (int)why &&
        strcmp(sqlite3_column_type(q, 1) == SQLITE_NULL ? ""
                                                        : (const char *)sqlite3_column_text(q, 1),
               detail) == 0;
    sqlite3_reset(q);
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        return store_err(r->st, src, "quarantine");
    }
    err_code rc = ERR_OK;
    if (why == TRUST_OK) {
        if (held) {
            q = store_stmt(r->st, "DELETE FROM quarantine WHERE id=?1");
            if (q == NULL) {
                return ERR_DB;
            }
            sqlite3_bind_int64(q, 1, rowid);
            src = sqlite3_step(q);
            sqlite3_reset(q);
            if (src != SQLITE_DONE) {
                return store_err(r->st, src, "quarantine");
            }
            int64_t *a = tgrow(r->apply, &r->capapply, r->napply, sizeof *a);
            if (a == NULL) {
                return ERR_NOMEM;
            }
            r->apply = a;
            r->apply[r->napply++] = rowid;
            r->rep.applied++;
        }
        return ERR_OK;
    }
    if (!held) {
        /* It counted: its rows are rebuilt without it. A caller that had no reason to decode
         * the leaf (a trust leaf: the evaluation judged it) leaves c NULL. */
        r->rep.withdrawn++;
        uint8_t *data = NULL;
        size_t len = 0;
        if (c == NULL) {
            Cdht__Commit *dc = NULL;
            if ((rc = log_leaf_read(r->st, rowid >> LOG_INDEX_BITS,
                                    (uint64_t)rowid & (LOG_INDEX_LIMIT - 1), &data, &len)) !=
                    ERR_OK ||
                (rc = leaf_decoder_decode(r->dec, data, len, &dc)) != ERR_OK) {
                free(data);
                return rc;
            }
            c = dc;
        }
        for (size_t i = 0; i < c->n_changes && rc == ERR_OK; i++) {
            const struct schema_table *t = schema_table_find(c->changes[i]->table);
            if (t != NULL) {
                rc = trows_add(&r->rows, t->name, c->changes[i]->pk);
            }
        }
        free(data);
    }
    if (rc == ERR_OK && !same) {
        rc = trust_hold(r->st, rowid, why, detail);
    }
    return rc;
}

/* Re-judges the data leaves of the query's rows (id, data). */
static err_code
trust_rejudge(struct trecon *r, sqlite3_stmt *q, struct leaf_decoder *dec)
{
    int src;
    err_code rc = ERR_OK;
    while (rc == ERR_OK && (src = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t rowid = sqlite3_column_int64(q, 0);
        int64_t log_id = rowid >> LOG_INDEX_BITS;
        Cdht__Commit *c = NULL;
        if ((rc = leaf_decoder_decode(dec, sqlite3_column_blob(q, 1),
                                      (size_t)sqlite3_column_bytes(q, 1), &c)) != ERR_OK) {
            return ERR_CORRUPT_HERE;
        }
        int kind = leaf_kind(c);
        if (kind != LEAF_KIND_DATA) {
            continue; /* judged by the evaluation */
        }
        if (log_id <= 0 || (size_t)log_id >= r->s->nby_log || r->s->by_log[log_id] == 0) {
            return ERR_CORRUPT_HERE;
        }
        struct tview v = tstate_view(r->s, r->s->by_log[log_id] - 1);
        char detail[TRUST_DETAIL_SIZE] = "";
        enum trust_reason why = trust_judge_data(&v, (uint64_t)rowid & (LOG_INDEX_LIMIT - 1), c,
                                                 kind, tree_step_mem, r->s, detail);
        rc = trust_settle(r, rowid, why, detail, c);
    }
    if (rc == ERR_OK && src != SQLITE_DONE) {
        rc = store_err(r->st, src, "trust rejudge");
    }
    return rc;
}

static err_code
trust_rejudge_sql(struct trecon *r, const char *sql, int64_t a, int64_t b, struct leaf_decoder *dec)
{
    sqlite3_stmt *q = NULL;
    int src = sqlite3_prepare_v2(r->st->db, sql, -1, &q, NULL);
    if (src != SQLITE_OK) {
        return store_err(r->st, src, "trust rejudge");
    }
    sqlite3_bind_int64(q, 1, a);
    sqlite3_bind_int64(q, 2, b);
    err_code rc = trust_rejudge(r, q, dec);
    sqlite3_finalize(q);
    return rc;
}

/* Rebuilds every row in r->rows from the leaves that count, then applies the newly counting. */
static err_code
trust_rebuild(struct trecon *r, struct leaf_decoder *dec)
{
    err_code rc = ERR_OK;
    if (r->rows.n > 0) {
        for (size_t i = 0; i < r->rows.n && rc == ERR_OK; i++) {
            const char *table = r->rows.key[i];
            char pk[PK_SIZE_MAX + 1];
            size_t tl = strlen(table), pl = r->rows.len[i] - tl - 1;
            memcpy(pk, r->rows.key[i] + tl + 1, pl);
            pk[pl] = '\0';
            rc = merge_row_forget(r->st, table, pk);
        }
        r->rep.rows = r->rows.n;
        sqlite3_stmt *q = NULL;
        int src = sqlite3_prepare_v2(r->st->db,
                                     "SELECT id, data FROM leaf WHERE id NOT IN "
                                     "(SELECT id FROM quarantine) ORDER BY id",
                                     -1, &q, NULL);
        if (src != SQLITE_OK) {
            return store_err(r->st, src, "trust rebuild");
        }
        while (rc == ERR_OK && (src = sqlite3_step(q)) == SQLITE_ROW) {
            int64_t rowid = sqlite3_column_int64(q, 0);
            Cdht__Commit *c = NULL;
            if (leaf_decoder_decode(dec, sqlite3_column_blob(q, 1),
                                    (size_t)sqlite3_column_bytes(q, 1), &c) != ERR_OK) {
                rc = ERR_CORRUPT_HERE;
                break;
            }
            rc = merge_commit_only(r->st, rowid >> LOG_INDEX_BITS,
                                   (uint64_t)rowid & (LOG_INDEX_LIMIT - 1), c, trows_has, &r->rows);
        }
        sqlite3_finalize(q);
        if (rc == ERR_OK && src != SQLITE_DONE) {
            rc = store_err(r->st, src, "trust rebuild");
        }
    }
    for (size_t i = 0; i < r->napply && rc == ERR_OK; i++) {
        int64_t rowid = r->apply[i];
        int64_t log_id = rowid >> LOG_INDEX_BITS;
        uint64_t index = (uint64_t)rowid & (LOG_INDEX_LIMIT - 1);
        uint8_t *data = NULL;
        size_t len = 0;
        Cdht__Commit *c = NULL;
        if ((rc = log_leaf_read(r->st, log_id, index, &data, &len)) != ERR_OK) {
            break;
        }
        if ((rc = leaf_decoder_decode(dec, data, len, &c)) == ERR_OK) {
            rc = merge_commit(r->st, log_id, index, c);
        }
        free(data);
    }
    return rc;
}

err_code
trust_reconcile(struct store *st, struct trust_report *rep)
{
    struct tstate s = {0};
    struct trecon r = {.st = st, .s = &s};
    struct leaf_decoder *dec = NULL;
    schema_init();
    err_code rc = trust_eval(st, &s);
    if (rc != ERR_OK || !s.pinned) {
        goto out;
    }
    if ((rc = leaf_decoder_new(&dec)) != ERR_OK) {
        goto out;
    }
    r.dec = dec;
    /* 1. Trust leaves: their status is the evaluation's. */
    for (size_t i = 0; i < s.nleaf && rc == ERR_OK; i++) {
        struct tleaf *l = &s.leaf[i];
        if (s.dev[l->dev].depth < 0) {
            snprintf(l->detail, TRUST_DETAIL_SIZE, "no valid certificate chain to the pinned root");
            l->status = TRUST_UNKNOWN_SIGNER;
        }
        /* The leaf was decoded once already (trust_load); only a withdrawal reads it again. */
        rc = trust_settle(&r, l->rowid, l->status, l->detail, NULL);
    }
    /* 2. Data leaves whose answer can have changed. */
    int shrank = 0, grew = 0;
    if (rc == ERR_OK) {
        rc = trust_tree_diff(st, &s, &shrank, &grew);
    }
    if (rc == ERR_OK && shrank) {
        rc = trust_rejudge_sql(&r, "SELECT id, data FROM leaf WHERE id >= ?1 AND id < ?2", 0,
                               INT64_MAX, dec);
    } else if (rc == ERR_OK) {
        for (size_t d = 0; d < s.ndev && rc == ERR_OK; d++) {
            if (s.dev[d].log_id == 0) {
                continue;
            }
            uint8_t now[HASH_SIZE], was[HASH_SIZE];
            int known = 0;
            if ((rc = trust_stored_digest(st, s.dev[d].key, was, &known)) != ERR_OK) {
                break;
            }
            if (s.dev[d].depth >= 0) {
                trust_dev_digest(&s, &s.dev[d], now);
            }
            if (known == (s.dev[d].depth >= 0) && (!known || memcmp(now, was, HASH_SIZE) == 0)) {
                continue;
            }
            rc = trust_rejudge_sql(&r, "SELECT id, data FROM leaf WHERE id >= ?1 AND id < ?2",
                                   log_leaf_rowid(s.dev[d].log_id, 0),
                                   log_leaf_rowid(s.dev[d].log_id + 1, 0), dec);
        }
        if (rc == ERR_OK && grew) {
            /* More units: only held leaves can start counting. */
            rc = trust_rejudge_sql(&r,
                                   "SELECT l.id, l.data FROM quarantine q JOIN leaf l ON l.id = "
                                   "q.id WHERE q.id >= ?1 AND q.id < ?2",
                                   0, INT64_MAX, dec);
        }
    }
    /* 3. Rows, then the stored state. */
    if (rc == ERR_OK) {
        rc = trust_rebuild(&r, dec);
    }
    if (rc == ERR_OK) {
        rc = trust_store(st, &s);
    }
    if (rc == ERR_OK) {
        rc = trust_quarantine_count(st, &r.rep.held);
    }
    if (rc == ERR_OK && (r.rep.applied || r.rep.withdrawn)) {
        diag_info("TRUST-RECONCILE",
                  "%llu leaves now count, %llu withdrawn, %llu rows rebuilt, "
                  "%llu held",
                  (unsigned long long)r.rep.applied, (unsigned long long)r.rep.withdrawn,
                  (unsigned long long)r.rep.rows, (unsigned long long)r.rep.held);
    }
out:
    if (rep != NULL) {
        *rep = r.rep;
    }
    leaf_decoder_free(dec);
    trows_free(&r.rows);
    free(r.apply);
    tstate_free(&s);
    return rc;
}

/* ---------- queries ---------- */

static err_code
trust_dev_rows(struct store *st, const uint8_t *key, trust_device_fn fn, void *ctx)
{
    sqlite3_stmt *q = NULL;
    int src = sqlite3_prepare_v2(
        st->db,
        key ? "SELECT d.key, ifnull(l.id, 0), d.depth, d.limit_kind, d.last_index, d.reason FROM "
              "trust_dev d LEFT JOIN log l ON l.key = d.key WHERE d.key = ?1"
            : "SELECT d.key, ifnull(l.id, 0), d.depth, d.limit_kind, d.last_index, d.reason FROM "
              "trust_dev d LEFT JOIN log l ON l.key = d.key ORDER BY d.key",
        -1, &q, NULL);
    if (src != SQLITE_OK) {
        return store_err(st, src, "trust devices");
    }
    if (key != NULL) {
        sqlite3_bind_blob(q, 1, key, KEY_PUBLIC_SIZE, SQLITE_STATIC);
    }
    err_code rc = ERR_OK;
    int any = 0;
    while (rc == ERR_OK && (src = sqlite3_step(q)) == SQLITE_ROW) {
        struct trust_device d = {0};
        if (sqlite3_column_bytes(q, 0) != KEY_PUBLIC_SIZE) {
            rc = ERR_CORRUPT_HERE;
            break;
        }
        any = 1;
        memcpy(d.key, sqlite3_column_blob(q, 0), KEY_PUBLIC_SIZE);
        d.log_id = sqlite3_column_int64(q, 1);
        d.depth = (unsigned)sqlite3_column_int(q, 2);
        d.limited = sqlite3_column_int(q, 3);
        d.last_index = sqlite3_column_int64(q, 4);
        d.reason = (const char *)sqlite3_column_text(q, 5);
        rc = fn(ctx, &d);
    }
    if (rc == ERR_OK && src != SQLITE_DONE) {
        rc = store_err(st, src, "trust devices");
    }
    sqlite3_finalize(q);
    return rc == ERR_OK && key != NULL && !any ? ERR_NOTFOUND : rc;
}

err_code
trust_devices(struct store *st, trust_device_fn fn, void *ctx)
{
    return trust_dev_rows(st, NULL, fn, ctx);
}

err_code
trust_device_get(struct store *st, const uint8_t key[KEY_PUBLIC_SIZE], trust_device_fn fn,
                 void *ctx)
{
    return trust_dev_rows(st, key, fn, ctx);
}

err_code
trust_grants(struct store *st, const uint8_t key[KEY_PUBLIC_SIZE], trust_grant_fn fn, void *ctx)
{
    sqlite3_stmt *q = NULL;
    int src = sqlite3_prepare_v2(st->db,
                                 "SELECT role, unit, expires, issuer, issuer_index FROM "
                                 "trust_grant WHERE key = ?1 ORDER BY role, unit, issuer",
                                 -1, &q, NULL);
    if (src != SQLITE_OK) {
        return store_err(st, src, "trust grants");
    }
    sqlite3_bind_blob(q, 1, key, KEY_PUBLIC_SIZE, SQLITE_STATIC);
    err_code rc = ERR_OK;
    int any = 0;
    while (rc == ERR_OK && (src = sqlite3_step(q)) == SQLITE_ROW) {
        struct trust_grant g = {0};
        if (sqlite3_column_bytes(q, 3) != KEY_PUBLIC_SIZE) {
            rc = ERR_CORRUPT_HERE;
            break;
        }
        any = 1;
        g.role = (unsigned)sqlite3_column_int(q, 0);
        g.unit = (const char *)sqlite3_column_text(q, 1);
        g.expires = (const char *)sqlite3_column_text(q, 2);
        memcpy(g.issuer, sqlite3_column_blob(q, 3), KEY_PUBLIC_SIZE);
        g.issuer_index = (uint64_t)sqlite3_column_int64(q, 4);
        rc = fn(ctx, &g);
    }
    if (rc == ERR_OK && src != SQLITE_DONE) {
        rc = store_err(st, src, "trust grants");
    }
    sqlite3_finalize(q);
    return rc == ERR_OK && !any ? ERR_NOTFOUND : rc;
}

err_code
trust_quarantine(struct store *st, trust_held_fn fn, void *ctx)
{
    sqlite3_stmt *q = NULL;
    int src = sqlite3_prepare_v2(st->db,
                                 "SELECT l.key, q.id, q.reason, q.detail FROM quarantine q JOIN "
                                 "log l ON l.id = (q.id >> 40) ORDER BY l.key, q.id",
                                 -1, &q, NULL);
    if (src != SQLITE_OK) {
        return store_err(st, src, "quarantine");
    }
    err_code rc = ERR_OK;
    while (rc == ERR_OK && (src = sqlite3_step(q)) == SQLITE_ROW) {
        struct trust_held h = {0};
        if (sqlite3_column_bytes(q, 0) != KEY_PUBLIC_SIZE) {
            rc = ERR_CORRUPT_HERE;
            break;
        }
        memcpy(h.key, sqlite3_column_blob(q, 0), KEY_PUBLIC_SIZE);
        h.index = (uint64_t)sqlite3_column_int64(q, 1) & (LOG_INDEX_LIMIT - 1);
        h.reason = (enum trust_reason)sqlite3_column_int(q, 2);
        h.detail = (const char *)sqlite3_column_text(q, 3);
        rc = fn(ctx, &h);
    }
    if (rc == ERR_OK && src != SQLITE_DONE) {
        rc = store_err(st, src, "quarantine");
    }
    sqlite3_finalize(q);
    return rc;
}

err_code
trust_quarantine_count(struct store *st, uint64_t *count)
{
    sqlite3_stmt *q = store_stmt(st, "SELECT count(*) FROM quarantine");
    if (q == NULL) {
        return ERR_DB;
    }
    int src = sqlite3_step(q);
    *count = src == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(q, 0) : 0;
    sqlite3_reset(q);
    return src == SQLITE_ROW ? ERR_OK : store_err(st, src, "quarantine");
}

err_code
trust_pending(struct store *st, int *pending)
{
    sqlite3_stmt *q = store_stmt(st, "SELECT 1 FROM quarantine WHERE reason = 1 LIMIT 1");
    if (q == NULL) {
        return ERR_DB;
    }
    int src = sqlite3_step(q);
    sqlite3_reset(q);
    if (src == SQLITE_ROW) {
        *pending = 1;
    }
    return src == SQLITE_ROW || src == SQLITE_DONE ? ERR_OK : store_err(st, src, "quarantine");
}

/* ---------- the audit's evaluation ---------- */

struct trust_eval {
    struct tstate s;
};

err_code
trust_eval_open(struct store *st, struct trust_eval **out)
{
    *out = calloc(1, sizeof **out);
    if (*out == NULL) {
        return ERR_NOMEM;
    }
    schema_init();
    err_code rc = trust_eval(st, &(*out)->s);
    if (rc != ERR_OK) {
        trust_eval_free(*out);
        *out = NULL;
    }
    return rc;
}

void
trust_eval_free(struct trust_eval *e)
{
    if (e != NULL) {
        tstate_free(&e->s);
        free(e);
    }
}

int
trust_eval_pinned(const struct trust_eval *e)
{
    return e->s.pinned;
}

enum trust_reason
trust_eval_judge(struct trust_eval *e, int64_t log_id, uint64_t index, const Cdht__Commit *c,
                 char detail[TRUST_DETAIL_SIZE])
{
    char buf[TRUST_DETAIL_SIZE];
    struct tstate *s = &e->s;
    detail = detail != NULL ? detail : buf;
    detail[0] = '\0';
    if (!s->pinned) {
        return TRUST_OK;
    }
    if (log_id <= 0 || (size_t)log_id >= s->nby_log || s->by_log[log_id] == 0) {
        snprintf(detail, TRUST_DETAIL_SIZE, "no valid certificate chain to the pinned root");
        return TRUST_UNKNOWN_SIGNER;
    }
    uint32_t d = s->by_log[log_id] - 1;
    int kind = leaf_kind(c);
    if (kind == LEAF_KIND_DATA) {
        struct tview v = tstate_view(s, d);
        return trust_judge_data(&v, index, c, kind, tree_step_mem, s, detail);
    }
    /* A trust leaf: the rounds judged it (leaves are held sorted by row id). */
    int64_t rowid = log_leaf_rowid(log_id, index);
    size_t lo = 0, hi = s->nleaf;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->leaf[mid].rowid < rowid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == s->nleaf || s->leaf[lo].rowid != rowid) {
        snprintf(detail, TRUST_DETAIL_SIZE, "a trust leaf missing from the trust index");
        return TRUST_PENDING;
    }
    const struct tleaf *l = &s->leaf[lo];
    if (s->dev[d].depth < 0) {
        snprintf(detail, TRUST_DETAIL_SIZE, "no valid certificate chain to the pinned root");
        return TRUST_UNKNOWN_SIGNER;
    }
    snprintf(detail, TRUST_DETAIL_SIZE, "%s", l->detail);
    return l->status;
}

err_code
trust_held_why(struct store *st, int64_t rowid, enum trust_reason *why,
               char detail[TRUST_DETAIL_SIZE])
{
    sqlite3_stmt *q = store_stmt(st, "SELECT reason, detail FROM quarantine WHERE id=?1");
    if (q == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_int64(q, 1, rowid);
    int src = sqlite3_step(q);
    *why = TRUST_OK;
    detail[0] = '\0';
    if (src == SQLITE_ROW) {
        *why = (enum trust_reason)sqlite3_column_int(q, 0);
        const unsigned char *d = sqlite3_column_text(q, 1);
        snprintf(detail, TRUST_DETAIL_SIZE, "%s", d ? (const char *)d : "");
    }
    sqlite3_reset(q);
    return src == SQLITE_ROW || src == SQLITE_DONE ? ERR_OK : store_err(st, src, "quarantine");
}
