/*
 * Unit tests for node/merge.c on a fresh store, with commits built by hand (no replica, no
 * clock): the state hash against an independent encoding of docs/DATA.md "State hash" hashed
 * with libsodium; determinism over every order of three commits and under duplication; the
 * register order (hlc, author key bytes, leaf index) with hand-picked ties; later changes of one
 * leaf; skipped cells; and the two _clk forms as merge_row_clocks and SQL see them.
 */
#include <criterion/criterion.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leaf.h"
#include "log.h"
#include "merge.h"
#include "schema.h"
#include "store.h"
#include "support.h"

static void
suite_init(void)
{
    cr_assert_geq(sodium_init(), 0);
}

TestSuite(merge, .init = suite_init);

/* The clock of the unit example in docs/DATA.md ("Hidden columns"). */
#define H 0x01a223a9dbc00000ull

/* ---- helpers ------------------------------------------------------------------------------ */

struct fix {
    char *dir;
    struct store *st;
};

static void
fix_open(struct fix *f)
{
    f->dir = support_tmpdir();
    char *path = support_path(f->dir, "replica.db");
    cr_assert_eq(store_open(&f->st, path, STORE_CREATE), ERR_OK);
    free(path);
}

static void
fix_close(struct fix *f)
{
    store_close(f->st);
    support_rmrf(f->dir);
    free(f->dir);
}

/* Creates a log whose key is `first` then 31 bytes of `fill`; returns its id. */
static int64_t
author(struct store *st, uint8_t first, uint8_t fill, uint8_t last)
{
    uint8_t key[KEY_PUBLIC_SIZE];
    memset(key, fill, sizeof key);
    key[0] = first;
    key[KEY_PUBLIC_SIZE - 1] = last;
    struct log_head h;
    cr_assert_eq(log_create(st, key, &h), ERR_OK);
    return h.id;
}

/* A commit built in place: changes take the cells added after them. */
struct cb {
    Cdht__Commit c;
    Cdht__Change ch[16];
    Cdht__Change *chp[16];
    Cdht__Cell cell[64];
    Cdht__Cell *cellp[64];
    size_t ncell;
};

static void
cb_init(struct cb *b, uint64_t hlc)
{
    Cdht__Commit c = CDHT__COMMIT__INIT;
    b->c = c;
    b->c.hlc = hlc;
    b->c.wall_ms = (int64_t)(hlc >> 16);
    b->c.changes = b->chp;
    b->ncell = 0;
}

/* exists: 1 create, 0 delete, -1 not written. */
static void
cb_change(struct cb *b, const char *table, const char *pk, int exists)
{
    cr_assert_lt(b->c.n_changes, 16);
    Cdht__Change ch = CDHT__CHANGE__INIT;
    Cdht__Change *p = &b->ch[b->c.n_changes];
    *p = ch;
    p->table = (char *)table;
    p->pk = (char *)pk;
    p->has_exists = exists >= 0;
    p->exists = exists > 0;
    p->cells = &b->cellp[b->ncell];
    b->chp[b->c.n_changes++] = p;
}

/* A cell of the last change, with no value (NULL). */
static Cdht__Cell *
cb_cell(struct cb *b, const char *col)
{
    cr_assert_gt(b->c.n_changes, 0);
    cr_assert_lt(b->ncell, 64);
    Cdht__Cell cell = CDHT__CELL__INIT;
    Cdht__Cell *p = &b->cell[b->ncell];
    *p = cell;
    p->col = (char *)col;
    b->cellp[b->ncell++] = p;
    b->ch[b->c.n_changes - 1].n_cells++;
    return p;
}

static void
cb_s(struct cb *b, const char *col, const char *s)
{
    Cdht__Cell *p = cb_cell(b, col);
    p->value_case = CDHT__CELL__VALUE_S;
    p->s = (char *)s;
}

static void
cb_i(struct cb *b, const char *col, int64_t i)
{
    Cdht__Cell *p = cb_cell(b, col);
    p->value_case = CDHT__CELL__VALUE_I;
    p->i = i;
}

static void
cb_b(struct cb *b, const char *col, const uint8_t *data, size_t len)
{
    Cdht__Cell *p = cb_cell(b, col);
    p->value_case = CDHT__CELL__VALUE_B;
    p->b.data = (uint8_t *)data;
    p->b.len = len;
}

/* Merges one commit in its own transaction, as the write and import paths do. The commit must
 * be one a replica would accept. */
static void
apply(struct store *st, int64_t author_id, uint64_t index, const struct cb *b)
{
    cr_assert_eq(leaf_validate(&b->c), ERR_OK);
    cr_assert_eq(store_begin(st), ERR_OK);
    cr_assert_eq(merge_commit(st, author_id, index, &b->c), ERR_OK);
    cr_assert_eq(store_commit(st), ERR_OK);
}

/* The first column of the first row of sql, rendered: NULL, an integer, text, or x'HEX'. */
static void
q(struct store *st, const char *sql, char *out, size_t cap)
{
    sqlite3_stmt *s = NULL;
    cr_assert_eq(sqlite3_prepare_v2(st->db, sql, -1, &s, NULL), SQLITE_OK, "%s", sql);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        snprintf(out, cap, "(no row)");
    } else {
        cr_assert_eq(rc, SQLITE_ROW);
        switch (sqlite3_column_type(s, 0)) {
        case SQLITE_NULL: snprintf(out, cap, "NULL"); break;
        case SQLITE_INTEGER: snprintf(out, cap, "%lld", sqlite3_column_int64(s, 0)); break;
        case SQLITE_TEXT: snprintf(out, cap, "%s", (const char *)sqlite3_column_text(s, 0)); break;
        default: {
            const uint8_t *p = sqlite3_column_blob(s, 0);
            int n = sqlite3_column_bytes(s, 0);
            size_t o = (size_t)snprintf(out, cap, "x'");
            for (int i = 0; i < n && o + 3 < cap; i++) {
                o += (size_t)snprintf(out + o, cap - o, "%02x", p[i]);
            }
            snprintf(out + o, cap - o, "'");
        }
        }
    }
    sqlite3_finalize(s);
}

#define Q_EQ(st, sql, want)                                                                        \
    do {                                                                                           \
        char q_buf_[512];                                                                          \
        q((st), (sql), q_buf_, sizeof q_buf_);                                                     \
        cr_assert_str_eq(q_buf_, (want), "%s", (sql));                                             \
    } while (0)

/* Every row of both tables, hidden ones and _live included (not _clk, which holds local ids):
 * two replicas that merged the same leaves must agree on all of it. */
static char *
dump(struct store *st)
{
    static const char *const sqls[] = {
        "SELECT quote(id)||','||quote(name)||','||quote(birth_year)||','||quote(gender)||','||"
        "quote(unit)||','||quote(target_group)||','||quote(cid_hash)||','||_live FROM person "
        "ORDER BY id",
        "SELECT quote(code)||','||quote(parent)||','||quote(kind)||','||quote(name)||','||_live "
        "FROM unit ORDER BY code",
    };
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap);
    cr_assert(out != NULL);
    out[0] = '\0';
    for (size_t t = 0; t < 2; t++) {
        sqlite3_stmt *s = NULL;
        cr_assert_eq(sqlite3_prepare_v2(st->db, sqls[t], -1, &s, NULL), SQLITE_OK);
        while (sqlite3_step(s) == SQLITE_ROW) {
            n +=
                (size_t)snprintf(out + n, cap - n, "%s\n", (const char *)sqlite3_column_text(s, 0));
            cr_assert_lt(n, cap);
        }
        sqlite3_finalize(s);
        n += (size_t)snprintf(out + n, cap - n, "--\n");
    }
    return out;
}

static void
state_hash(struct store *st, uint8_t out[HASH_SIZE])
{
    cr_assert_eq(merge_state_hash(st, out), ERR_OK);
}

/* An independent writer of the canonical encoding of docs/DATA.md "State hash". */
struct hb {
    uint8_t b[8192];
    size_t n;
};

static void
hb_raw(struct hb *h, const void *p, size_t n)
{
    cr_assert_leq(h->n + n, sizeof h->b);
    memcpy(h->b + h->n, p, n);
    h->n += n;
}

static void
hb_u32(struct hb *h, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    hb_raw(h, b, 4);
}

static void
hb_begin(struct hb *h)
{
    h->n = 0;
    hb_raw(h, "cdht-state-v1\n", 14);
}

static void
hb_table(struct hb *h, const char *name)
{
    hb_raw(h, "T", 1);
    hb_raw(h, name, strlen(name) + 1); /* with its NUL */
}

/* The tables schema 5 added (the registry), in schema.c's order: empty in these tests, each
 * still hashes its header, which is why every state hash changed at schema 5. */
static void
hb_tables_v5(struct hb *h)
{
    static const char *const names[] = {
        "framework",  "framework_group", "framework_indicator", "plan",
        "plan_target", "assessment",     "self_score",          "review",
        "approval",   "evidence",        "score_note",          "collective",
        "collective_member", "collective_recognition", "aggregate", "setting",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        hb_table(h, names[i]);
    }
}

static void
hb_row(struct hb *h)
{
    hb_raw(h, "R", 1);
}

static void
hb_null(struct hb *h)
{
    hb_raw(h, "N", 1);
}

static void
hb_int(struct hb *h, int64_t v)
{
    uint64_t u = (uint64_t)v;
    uint8_t b[8];
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(u >> (56 - 8 * i));
    }
    hb_raw(h, "I", 1);
    hb_raw(h, b, 8);
}

static void
hb_text(struct hb *h, const char *s)
{
    hb_raw(h, "S", 1);
    hb_u32(h, (uint32_t)strlen(s));
    hb_raw(h, s, strlen(s));
}

static void
hb_blob(struct hb *h, const uint8_t *p, size_t n)
{
    hb_raw(h, "B", 1);
    hb_u32(h, (uint32_t)n);
    if (n > 0) {
        hb_raw(h, p, n);
    }
}

static void
hb_digest(const struct hb *h, uint8_t out[HASH_SIZE])
{
    cr_assert_eq(crypto_hash_sha256(out, h->b, h->n), 0);
}

static void
clk_eq(const struct merge_clk *c, uint64_t hlc, uint32_t author_id, uint32_t index)
{
    cr_assert_eq(c->hlc, hlc, "hlc %llx, want %llx", (unsigned long long)c->hlc,
                 (unsigned long long)hlc);
    cr_assert_eq(c->author, author_id);
    cr_assert_eq(c->index, index);
}

/* ---- state hash --------------------------------------------------------------------------- */

/* The state of no rows hashes the domain line and the three table headers, nothing else. */
Test(merge, state_hash_empty)
{
    struct fix f;
    fix_open(&f);
    struct hb h;
    hb_begin(&h);
    hb_table(&h, "person");
    hb_table(&h, "unit");
    hb_table(&h, "unit_succession"); /* schema 2 */
    hb_tables_v5(&h);
    uint8_t want[HASH_SIZE], got[HASH_SIZE];
    hb_digest(&h, want);
    state_hash(f.st, got);
    cr_assert_eq(memcmp(got, want, HASH_SIZE), 0);
    /* Hidden rows only: still the empty state. */
    int64_t a = author(f.st, 0x01, 0x00, 0x00);
    struct cb b;
    cb_init(&b, H);
    cb_change(&b, "person", "p", 0);
    cb_change(&b, "unit", "44", -1);
    cb_s(&b, "name", "written before its create");
    apply(f.st, a, 0, &b);
    state_hash(f.st, got);
    cr_assert_eq(memcmp(got, want, HASH_SIZE), 0);
    fix_close(&f);
}

/* A known answer: a small fixed state (every value kind, NULLs written and never written,
 * INT64_MIN and -1, an empty text and an empty blob, multi-byte text, primary keys whose byte
 * order differs from case-insensitive order, hidden rows, skipped cells) hashes to the SHA-256
 * of its canonical encoding, built here independently of merge.c. */
Test(merge, state_hash_known_answer)
{
    struct fix f;
    fix_open(&f);
    int64_t a = author(f.st, 0x01, 0x00, 0x00);
    uint8_t cid[32];
    for (unsigned i = 0; i < sizeof cid; i++) {
        cid[i] = (uint8_t)i;
    }
    struct cb b;
    cb_init(&b, H);
    cb_change(&b, "unit", "44", 1);
    cb_s(&b, "kind", "province");
    cb_s(&b, "name", "Ngh\xe1\xbb\x87 An");
    cb_i(&b, "population", 3400000); /* unknown column: skipped */
    cb_change(&b, "unit", "44001", 1);
    cb_s(&b, "parent", "44");
    cb_s(&b, "kind", "commune");
    cb_s(&b, "name", "X\xc3\xa3 Qu\xe1\xba\xa3ng Vinh");
    cb_change(&b, "unit", "99", 0);
    cb_s(&b, "name", "gone");
    cb_change(&b, "person", "a", 1);
    cb_s(&b, "name", "Nguy\xe1\xbb\x85n V\xc4\x83n An");
    cb_i(&b, "birth_year", 1990);
    cb_s(&b, "gender", "male");
    cb_s(&b, "unit", "44001");
    cb_b(&b, "cid_hash", cid, sizeof cid);
    cb_change(&b, "person", "B", 1);
    cb_s(&b, "name", "");
    cb_i(&b, "birth_year", INT64_MIN);
    cb_cell(&b, "target_group"); /* written NULL */
    cb_b(&b, "cid_hash", (const uint8_t *)"", 0);
    cb_change(&b, "person", "\xc3\xa9", 1);
    cb_i(&b, "birth_year", -1);
    cb_s(&b, "target_group", "farmer");
    cb_change(&b, "person", "hidden", -1);
    cb_s(&b, "name", "secret");
    cb_change(&b, "person", "c", 1);
    cb_s(&b, "name", "C");
    cb_s(&b, "birth_year", "1990"); /* mistyped: skipped */
    cb_change(&b, "village", "v1", 1);
    apply(f.st, a, 0, &b);

    struct hb h;
    hb_begin(&h);
    hb_table(&h, "person"); /* rows by key bytes: "B" < "a" < "c" < "é" */
    hb_row(&h);
    hb_text(&h, "B");
    hb_text(&h, "");
    hb_int(&h, INT64_MIN);
    hb_null(&h);
    hb_null(&h);
    hb_null(&h);
    hb_blob(&h, NULL, 0);
    hb_row(&h);
    hb_text(&h, "a");
    hb_text(&h, "Nguy\xe1\xbb\x85n V\xc4\x83n An");
    hb_int(&h, 1990);
    hb_text(&h, "male");
    hb_text(&h, "44001");
    hb_null(&h);
    hb_blob(&h, cid, sizeof cid);
    hb_row(&h);
    hb_text(&h, "c");
    hb_text(&h, "C");
    hb_null(&h);
    hb_null(&h);
    hb_null(&h);
    hb_null(&h);
    hb_null(&h);
    hb_row(&h);
    hb_text(&h, "\xc3\xa9");
    hb_null(&h);
    hb_int(&h, -1);
    hb_null(&h);
    hb_null(&h);
    hb_text(&h, "farmer");
    hb_null(&h);
    hb_table(&h, "unit");
    hb_row(&h);
    hb_text(&h, "44");
    hb_null(&h);
    hb_text(&h, "province");
    hb_text(&h, "Ngh\xe1\xbb\x87 An");
    hb_null(&h); /* valid_from, valid_to, disadvantaged (schema 2): never written */
    hb_null(&h);
    hb_null(&h);
    hb_row(&h);
    hb_text(&h, "44001");
    hb_text(&h, "44");
    hb_text(&h, "commune");
    hb_text(&h, "X\xc3\xa3 Qu\xe1\xba\xa3ng Vinh");
    hb_null(&h);
    hb_null(&h);
    hb_null(&h);
    hb_table(&h, "unit_succession");
    hb_tables_v5(&h);
    uint8_t want[HASH_SIZE], got[HASH_SIZE];
    hb_digest(&h, want);
    state_hash(f.st, got);
    char wh[2 * HASH_SIZE + 1], gh[2 * HASH_SIZE + 1];
    sodium_bin2hex(wh, sizeof wh, want, HASH_SIZE);
    sodium_bin2hex(gh, sizeof gh, got, HASH_SIZE);
    cr_assert_str_eq(gh, wh);
    fix_close(&f);
}

/* ---- determinism -------------------------------------------------------------------------- */

/* Three commits from two authors: an hlc tie on person p's name (broken by key), a later clock
 * on its birth year, a delete of q, a cell write to r without a create, a unit edited twice. */
struct three {
    struct cb c[3];
    int64_t author[3];
    uint64_t index[3];
};

static void
three_init(struct three *t, int64_t a, int64_t b)
{
    cb_init(&t->c[0], H);
    cb_change(&t->c[0], "person", "p", 1);
    cb_s(&t->c[0], "name", "A0");
    cb_i(&t->c[0], "birth_year", 1);
    cb_change(&t->c[0], "unit", "u1", 1);
    cb_s(&t->c[0], "kind", "commune");
    t->author[0] = a;
    t->index[0] = 0;

    cb_init(&t->c[1], H);
    cb_change(&t->c[1], "person", "p", -1);
    cb_s(&t->c[1], "name", "B0");
    cb_s(&t->c[1], "gender", "male");
    cb_change(&t->c[1], "person", "q", 1);
    cb_s(&t->c[1], "name", "q-B");
    t->author[1] = b;
    t->index[1] = 0;

    cb_init(&t->c[2], H + 1);
    cb_change(&t->c[2], "person", "p", -1);
    cb_i(&t->c[2], "birth_year", 3);
    cb_change(&t->c[2], "person", "q", 0);
    cb_change(&t->c[2], "unit", "u1", -1);
    cb_s(&t->c[2], "name", "U");
    cb_change(&t->c[2], "person", "r", -1);
    cb_s(&t->c[2], "name", "r");
    t->author[2] = a;
    t->index[2] = 1;
}

/* The hash of the state the three commits must give, built independently. */
static void
three_expected(uint8_t out[HASH_SIZE])
{
    struct hb h;
    hb_begin(&h);
    hb_table(&h, "person");
    hb_row(&h);
    hb_text(&h, "p");
    hb_text(&h, "B0"); /* tie at H: author key 0x90.. beats 0x10.. */
    hb_int(&h, 3);     /* H + 1 beats H */
    hb_text(&h, "male");
    hb_null(&h);
    hb_null(&h);
    hb_null(&h);
    hb_table(&h, "unit");
    hb_row(&h);
    hb_text(&h, "u1");
    hb_null(&h);
    hb_text(&h, "commune");
    hb_text(&h, "U");
    hb_null(&h); /* valid_from, valid_to, disadvantaged (schema 2) */
    hb_null(&h);
    hb_null(&h);
    hb_table(&h, "unit_succession");
    hb_tables_v5(&h);
    hb_digest(&h, out);
}

/* All six orders of the three commits give the same state hash (the expected one, computed
 * independently), the same rows, hidden ones included, and the same register clocks. */
Test(merge, determinism_all_orders)
{
    static const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                    {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    uint8_t want[HASH_SIZE];
    three_expected(want);
    char *first = NULL;
    struct merge_clk first_clk[SCHEMA_COLS_MAX];
    for (int p = 0; p < 6; p++) {
        struct fix f;
        fix_open(&f);
        int64_t a = author(f.st, 0x10, 0x00, 0x00);
        int64_t b = author(f.st, 0x90, 0x00, 0x00);
        struct three t;
        three_init(&t, a, b);
        for (int k = 0; k < 3; k++) {
            int i = perms[p][k];
            apply(f.st, t.author[i], t.index[i], &t.c[i]);
        }
        uint8_t got[HASH_SIZE];
        state_hash(f.st, got);
        cr_assert_eq(memcmp(got, want, HASH_SIZE), 0, "order %d%d%d", perms[p][0], perms[p][1],
                     perms[p][2]);
        char *d = dump(f.st);
        struct merge_clk clk[SCHEMA_COLS_MAX];
        int live = -1;
        cr_assert_eq(merge_row_clocks(f.st, "person", "p", clk, &live), ERR_OK);
        cr_assert_eq(live, 1);
        if (first == NULL) {
            first = d;
            memcpy(first_clk, clk, sizeof clk);
            cr_assert(strstr(d, "'q','q-B',NULL,NULL,NULL,NULL,NULL,0\n") != NULL, "%s", d);
            cr_assert(strstr(d, "'r','r',NULL,NULL,NULL,NULL,NULL,0\n") != NULL, "%s", d);
        } else {
            cr_assert_str_eq(d, first, "order %d%d%d", perms[p][0], perms[p][1], perms[p][2]);
            cr_assert_eq(memcmp(clk, first_clk, 7 * sizeof clk[0]), 0);
            free(d);
        }
        fix_close(&f);
    }
    free(first);
}

/* A commit applied again (each of them, in another order) changes no value, no _live and no
 * register clock, and leaves the state hash as it was. */
Test(merge, duplicate_changes_nothing)
{
    struct fix f;
    fix_open(&f);
    int64_t a = author(f.st, 0x10, 0x00, 0x00);
    int64_t b = author(f.st, 0x90, 0x00, 0x00);
    struct three t;
    three_init(&t, a, b);
    for (int i = 0; i < 3; i++) {
        apply(f.st, t.author[i], t.index[i], &t.c[i]);
    }
    uint8_t before[HASH_SIZE], after[HASH_SIZE];
    state_hash(f.st, before);
    char *d0 = dump(f.st);
    static const char *const pks[] = {"p", "q", "r"};
    struct merge_clk c0[3][SCHEMA_COLS_MAX], c1[SCHEMA_COLS_MAX];
    int live = 0;
    for (int k = 0; k < 3; k++) {
        cr_assert_eq(merge_row_clocks(f.st, "person", pks[k], c0[k], &live), ERR_OK);
    }
    static const int again[] = {1, 0, 2, 2, 0};
    for (size_t n = 0; n < sizeof again / sizeof again[0]; n++) {
        int i = again[n];
        apply(f.st, t.author[i], t.index[i], &t.c[i]);
        state_hash(f.st, after);
        cr_assert_eq(memcmp(before, after, HASH_SIZE), 0);
        char *d = dump(f.st);
        cr_assert_str_eq(d, d0);
        free(d);
        for (int k = 0; k < 3; k++) {
            cr_assert_eq(merge_row_clocks(f.st, "person", pks[k], c1, &live), ERR_OK);
            cr_assert_eq(memcmp(c1, c0[k], 7 * sizeof c1[0]), 0, "row %s", pks[k]);
        }
    }
    free(d0);
    fix_close(&f);
}

/* ---- register order ----------------------------------------------------------------------- */

struct duel {
    int64_t author;
    uint64_t index;
    uint64_t hlc;
};

/* Writes person pk's name from x then y, and on pk2 from y then x; the winner's name must stand
 * on both, with the winner's clock in the name and existence registers. */
static void
duel(struct store *st, const char *pk, const char *pk2, struct duel x, struct duel y, int x_wins)
{
    struct cb cx, cy;
    const char *names[2] = {"x", "y"};
    for (int side = 0; side < 2; side++) {
        const char *row = side == 0 ? pk : pk2;
        cb_init(&cx, x.hlc);
        cb_change(&cx, "person", row, 1);
        cb_s(&cx, "name", names[0]);
        cb_init(&cy, y.hlc);
        cb_change(&cy, "person", row, 1);
        cb_s(&cy, "name", names[1]);
        if (side == 0) {
            apply(st, x.author, x.index, &cx);
            apply(st, y.author, y.index, &cy);
        } else {
            apply(st, y.author, y.index, &cy);
            apply(st, x.author, x.index, &cx);
        }
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT name FROM person WHERE id='%s'", row);
        Q_EQ(st, sql, x_wins ? "x" : "y");
        struct merge_clk clk[SCHEMA_COLS_MAX];
        int live = 0;
        cr_assert_eq(merge_row_clocks(st, "person", row, clk, &live), ERR_OK);
        const struct duel *w = x_wins ? &x : &y;
        clk_eq(&clk[0], w->hlc, (uint32_t)w->author, (uint32_t)w->index);
        clk_eq(&clk[1], w->hlc, (uint32_t)w->author, (uint32_t)w->index);
    }
}

/* (hlc, author key bytes, leaf index), with hand-picked ties: equal clocks go to the larger key
 * whatever the local log ids (0xff.. created first beats 0x00..), keys compare unsigned (0x80..
 * beats 0x7f..) and to their last byte; the same author's later leaf wins; a larger hlc beats a
 * larger key and a larger index; a larger key beats a larger index. */
Test(merge, register_order_ties)
{
    struct fix f;
    fix_open(&f);
    int64_t kff = author(f.st, 0xff, 0x00, 0x00);
    int64_t k00 = author(f.st, 0x00, 0xff, 0xff);
    int64_t k80 = author(f.st, 0x80, 0x00, 0x00);
    int64_t k7f = author(f.st, 0x7f, 0xff, 0xff);
    int64_t last2 = author(f.st, 0x10, 0x00, 0x02);
    int64_t last1 = author(f.st, 0x10, 0x00, 0x01);
    cr_assert_lt(kff, k00);
    duel(f.st, "t1", "t1r", (struct duel){kff, 0, H}, (struct duel){k00, 0, H}, 1);
    duel(f.st, "t2", "t2r", (struct duel){k7f, 0, H}, (struct duel){k80, 0, H}, 0);
    duel(f.st, "t3", "t3r", (struct duel){last1, 0, H}, (struct duel){last2, 0, H}, 0);
    duel(f.st, "t4", "t4r", (struct duel){k00, 4, H}, (struct duel){k00, 5, H}, 0);
    duel(f.st, "t5", "t5r", (struct duel){k00, 0, H + 1}, (struct duel){kff, 9, H}, 1);
    duel(f.st, "t6", "t6r", (struct duel){k00, 9, H}, (struct duel){kff, 0, H}, 0);
    duel(f.st, "t7", "t7r", (struct duel){k80, UINT32_MAX, H}, (struct duel){k80, 0, H + 1}, 0);
    fix_close(&f);
}

/* Twelve authors (more than the key cache's eight slots) writing one register at one clock:
 * the largest key wins whichever order they arrive in. */
Test(merge, register_order_many_authors)
{
    struct fix f;
    fix_open(&f);
    int64_t ids[12];
    for (int i = 0; i < 12; i++) {
        ids[i] = author(f.st, (uint8_t)(0x20 + 17 * ((i * 5) % 12)), (uint8_t)i, 0);
    }
    int best = 0;
    for (int i = 1; i < 12; i++) {
        if ((i * 5) % 12 > (best * 5) % 12) {
            best = i;
        }
    }
    char want[16];
    snprintf(want, sizeof want, "w%d", best);
    for (int pass = 0; pass < 2; pass++) {
        const char *pk = pass == 0 ? "fwd" : "rev";
        for (int k = 0; k < 12; k++) {
            int i = pass == 0 ? k : 11 - k;
            char name[16];
            snprintf(name, sizeof name, "w%d", i);
            struct cb b;
            cb_init(&b, H);
            cb_change(&b, "person", pk, 1);
            cb_s(&b, "name", name);
            apply(f.st, ids[i], 3, &b);
        }
        char sql[64];
        snprintf(sql, sizeof sql, "SELECT name FROM person WHERE id='%s'", pk);
        Q_EQ(f.st, sql, want);
    }
    fix_close(&f);
}

/* A log created in a transaction that was rolled back leaves no trace in tie-breaks: the next
 * log created gets the same local id with another key, and ties are broken by that new key. */
Test(merge, register_order_after_rollback)
{
    struct fix f;
    fix_open(&f);
    int64_t mid = author(f.st, 0x50, 0x00, 0x00);
    cr_assert_eq(store_begin(f.st), ERR_OK);
    int64_t gone = author(f.st, 0xf0, 0x00, 0x00);
    struct cb b;
    cb_init(&b, H);
    cb_change(&b, "person", "x", 1);
    cb_s(&b, "name", "mid");
    cr_assert_eq(merge_commit(f.st, mid, 0, &b.c), ERR_OK);
    cb_init(&b, H);
    cb_change(&b, "person", "x", 1);
    cb_s(&b, "name", "gone");
    cr_assert_eq(merge_commit(f.st, gone, 0, &b.c), ERR_OK); /* a tie-break reads gone's key */
    Q_EQ(f.st, "SELECT name FROM person WHERE id='x'", "gone");
    store_rollback(f.st);
    Q_EQ(f.st, "SELECT count(*) FROM person", "0");

    int64_t low = author(f.st, 0x00, 0x00, 0x00);
    cr_assert_eq(low, gone, "SQLite reuses the rolled-back id");
    cb_init(&b, H);
    cb_change(&b, "person", "y", 1);
    cb_s(&b, "name", "mid");
    apply(f.st, mid, 0, &b);
    cb_init(&b, H);
    cb_change(&b, "person", "y", 1);
    cb_s(&b, "name", "low");
    apply(f.st, low, 0, &b);
    /* Fails before 9f1799d ("low" stood): log_key_of caches id -> key per connection and
     * store_rollback did not clear it, so id 2 still mapped to the rolled-back key 0xf0..,
     * which beats 0x50... */
    Q_EQ(f.st, "SELECT name FROM person WHERE id='y'", "mid");
    fix_close(&f);
}

/* ---- one leaf, skipped cells -------------------------------------------------------------- */

/* Within one leaf a later change overrides an earlier one (for a new row and for one that
 * exists, for cells and for existence), a later cell of one change overrides an earlier one,
 * and neither beats a register written at a later clock. */
Test(merge, later_change_in_leaf_wins)
{
    struct fix f;
    fix_open(&f);
    int64_t a = author(f.st, 0x10, 0x00, 0x00);
    struct cb b;
    cb_init(&b, H);
    cb_change(&b, "person", "new", 1);
    cb_s(&b, "name", "first");
    cb_i(&b, "birth_year", 1);
    cb_change(&b, "person", "new", 0);
    cb_s(&b, "name", "second");
    cb_change(&b, "person", "new", 1);
    cb_i(&b, "birth_year", 3);
    cb_change(&b, "person", "cells", 1);
    cb_s(&b, "name", "one");
    cb_s(&b, "name", "two");
    apply(f.st, a, 0, &b);
    Q_EQ(f.st, "SELECT name||','||birth_year||','||_live FROM person WHERE id='new'", "second,3,1");
    Q_EQ(f.st, "SELECT name FROM person WHERE id='cells'", "two");

    /* A row that exists from an older leaf. */
    cb_init(&b, H + 10);
    cb_change(&b, "person", "new", 0);
    cb_s(&b, "gender", "male");
    cb_change(&b, "person", "new", 1);
    cb_s(&b, "gender", "female");
    cb_change(&b, "person", "new", 0);
    apply(f.st, a, 1, &b);
    Q_EQ(f.st, "SELECT gender||','||_live FROM person WHERE id='new'", "female,0");

    /* A leaf at an older clock loses, whatever its order inside. */
    cb_init(&b, H + 5);
    cb_change(&b, "person", "new", 1);
    cb_s(&b, "gender", "x");
    cb_change(&b, "person", "new", 1);
    cb_s(&b, "gender", "y");
    apply(f.st, a, 2, &b);
    Q_EQ(f.st, "SELECT gender||','||_live FROM person WHERE id='new'", "female,0");
    fix_close(&f);
}

/* Mistyped values and unknown columns and tables are skipped: they write no value and no
 * clock (not even at a later clock over an existing value), a change left with nothing to write
 * creates no row, and NULL (no value) is accepted for a column of any type. */
Test(merge, mistyped_and_unknown_skipped)
{
    struct fix f;
    fix_open(&f);
    int64_t a = author(f.st, 0x10, 0x00, 0x00);
    uint8_t empty[HASH_SIZE], h1[HASH_SIZE];
    state_hash(f.st, empty);
    struct cb b;
    cb_init(&b, H);
    cb_change(&b, "village", "v", 1);
    cb_s(&b, "name", "unknown table");
    cb_change(&b, "person", "none", -1);
    cb_s(&b, "nickname", "unknown column");
    cb_s(&b, "birth_year", "1990");
    cb_change(&b, "unit", "none", -1);
    cb_b(&b, "name", (const uint8_t *)"blob", 4);
    apply(f.st, a, 0, &b);
    state_hash(f.st, h1);
    cr_assert_eq(memcmp(h1, empty, HASH_SIZE), 0);
    Q_EQ(f.st, "SELECT count(*) FROM person", "0");
    Q_EQ(f.st, "SELECT count(*) FROM unit", "0");
    struct merge_clk clk[SCHEMA_COLS_MAX];
    int live = 0;
    cr_assert_eq(merge_row_clocks(f.st, "person", "none", clk, &live), ERR_NOTFOUND);

    cb_init(&b, H);
    cb_change(&b, "person", "m", 1);
    cb_s(&b, "name", "ok");
    cb_s(&b, "birth_year", "1990");                   /* INTEGER column, text value */
    cb_i(&b, "gender", 1);                            /* TEXT column, integer value */
    cb_s(&b, "cid_hash", "not a blob");               /* BLOB column, text value */
    cb_b(&b, "unit", (const uint8_t *)"\x34\x34", 2); /* TEXT column, blob value */
    cb_s(&b, "nickname", "An");
    apply(f.st, a, 1, &b);
    Q_EQ(f.st,
         "SELECT quote(name)||quote(birth_year)||quote(gender)||quote(cid_hash)||quote(unit) "
         "FROM person WHERE id='m'",
         "'ok'NULLNULLNULLNULL");
    Q_EQ(f.st, "SELECT hex(_clk) FROM person WHERE id='m'",
         "01A223A9DBC000000000000100000001"
         "0003"); /* mask 0x0003: existence and name */
    cr_assert_eq(merge_row_clocks(f.st, "person", "m", clk, &live), ERR_OK);
    clk_eq(&clk[2], 0, 0, 0);
    clk_eq(&clk[3], 0, 0, 0);

    /* Over an existing value, at a later clock: still skipped. */
    cb_init(&b, H);
    cb_change(&b, "person", "m2", 1);
    cb_i(&b, "birth_year", 1990);
    apply(f.st, a, 2, &b);
    cb_init(&b, H + 100);
    cb_change(&b, "person", "m2", -1);
    cb_s(&b, "birth_year", "2000");
    cb_i(&b, "name", 7);
    apply(f.st, a, 3, &b);
    Q_EQ(f.st, "SELECT quote(name)||','||birth_year FROM person WHERE id='m2'", "NULL,1990");
    cr_assert_eq(merge_row_clocks(f.st, "person", "m2", clk, &live), ERR_OK);
    clk_eq(&clk[1], 0, 0, 0);
    clk_eq(&clk[2], H, (uint32_t)a, 2);

    /* NULL is a value of every type: it writes the register. */
    cb_init(&b, H + 200);
    cb_change(&b, "person", "m2", -1);
    cb_cell(&b, "birth_year");
    cb_cell(&b, "cid_hash");
    apply(f.st, a, 4, &b);
    Q_EQ(f.st, "SELECT quote(birth_year) FROM person WHERE id='m2'", "NULL");
    cr_assert_eq(merge_row_clocks(f.st, "person", "m2", clk, &live), ERR_OK);
    clk_eq(&clk[2], H + 200, (uint32_t)a, 4);
    clk_eq(&clk[6], H + 200, (uint32_t)a, 4);
    fix_close(&f);
}

/* ---- clocks ------------------------------------------------------------------------------- */

/* merge_row_clocks: ERR_NOTFOUND for a row never written, ERR_INVAL for a table that does not
 * exist; a row written by one change holds the compact 18-byte _clk (the unit example of
 * docs/DATA.md byte for byte), a row changed again the full form (112 bytes for unit since
 * schema 2, and for person); both decode to the registers' clocks. */
Test(merge, row_clocks_compact_and_full)
{
    struct fix f;
    fix_open(&f);
    int64_t a = author(f.st, 0x10, 0x00, 0x00);
    int64_t b = author(f.st, 0x20, 0x00, 0x00);
    cr_assert_eq(a, 1);
    struct merge_clk clk[SCHEMA_COLS_MAX];
    int live = -1;
    cr_assert_eq(merge_row_clocks(f.st, "person", "nobody", clk, &live), ERR_NOTFOUND);
    cr_assert_eq(merge_row_clocks(f.st, "village", "v", clk, &live), ERR_INVAL);

    struct cb c;
    cb_init(&c, H);
    cb_change(&c, "unit", "44001", 1);
    cb_cell(&c, "parent");
    cb_s(&c, "kind", "commune");
    cb_s(&c, "name", "X\xc3\xa3 Qu\xe1\xba\xa3ng Vinh");
    cb_change(&c, "person", "p", -1); /* no create: hidden, compact all the same */
    cb_s(&c, "gender", "female");
    apply(f.st, a, 0, &c);
    Q_EQ(f.st, "SELECT lower(hex(_clk)) FROM unit WHERE code='44001'",
         "01a223a9dbc000000000000100000000"
         "000f");
    Q_EQ(f.st, "SELECT length(_clk) FROM person WHERE id='p'", "18");
    cr_assert_eq(merge_row_clocks(f.st, "unit", "44001", clk, &live), ERR_OK);
    cr_assert_eq(live, 1);
    for (int r = 0; r < 4; r++) {
        clk_eq(&clk[r], H, (uint32_t)a, 0);
    }
    for (int r = 4; r < 7; r++) {
        clk_eq(&clk[r], 0, 0, 0); /* valid_from, valid_to, disadvantaged: never written */
    }
    cr_assert_eq(merge_row_clocks(f.st, "person", "p", clk, &live), ERR_OK);
    cr_assert_eq(live, 0);
    for (int r = 0; r < 7; r++) {
        if (r == 3) {
            clk_eq(&clk[r], H, (uint32_t)a, 0);
        } else {
            clk_eq(&clk[r], 0, 0, 0);
        }
    }

    cb_init(&c, H + 1);
    cb_change(&c, "unit", "44001", -1);
    cb_s(&c, "name", "Quang Vinh");
    cb_change(&c, "person", "p", 1);
    cb_i(&c, "birth_year", 1990);
    apply(f.st, b, 7, &c);
    Q_EQ(f.st, "SELECT length(_clk) FROM unit WHERE code='44001'", "112");
    Q_EQ(f.st, "SELECT length(_clk) FROM person WHERE id='p'", "112");
    cr_assert_eq(merge_row_clocks(f.st, "unit", "44001", clk, &live), ERR_OK);
    cr_assert_eq(live, 1);
    clk_eq(&clk[0], H, (uint32_t)a, 0);
    clk_eq(&clk[1], H, (uint32_t)a, 0);
    clk_eq(&clk[2], H, (uint32_t)a, 0);
    clk_eq(&clk[3], H + 1, (uint32_t)b, 7);
    cr_assert_eq(merge_row_clocks(f.st, "person", "p", clk, &live), ERR_OK);
    cr_assert_eq(live, 1);
    clk_eq(&clk[0], H + 1, (uint32_t)b, 7);
    clk_eq(&clk[1], 0, 0, 0);
    clk_eq(&clk[2], H + 1, (uint32_t)b, 7);
    clk_eq(&clk[3], H, (uint32_t)a, 0);
    for (int r = 4; r < 7; r++) {
        clk_eq(&clk[r], 0, 0, 0);
    }
    Q_EQ(f.st, "SELECT gender||','||birth_year FROM person WHERE id='p'", "female,1990");
    fix_close(&f);
}

/* A stored _clk of any other length, or a compact one whose mask names a register the table
 * does not have, is ERR_CORRUPT from merge_row_clocks and from a merge into that row. */
Test(merge, row_clocks_damaged)
{
    struct fix f;
    fix_open(&f);
    int64_t a = author(f.st, 0x10, 0x00, 0x00);
    struct cb c;
    cb_init(&c, H);
    cb_change(&c, "unit", "44", 1);
    cb_s(&c, "kind", "province");
    apply(f.st, a, 0, &c);
    struct merge_clk clk[SCHEMA_COLS_MAX];
    int live = 0;
    static const struct {
        const char *clk;
        err_code want;
    } cases[] = {
        {"x'01a223a9dbc000000000000100000000000f'", ERR_OK},      /* 18, mask 0x000f */
        {"x'01a223a9dbc000000000000100000000007f'", ERR_OK},      /* all 7 registers */
        {"x'01a223a9dbc00000000000010000000000ff'", ERR_CORRUPT}, /* register 7 of 7 */
        {"x'01a223a9dbc0000000000001000000000f'", ERR_CORRUPT},   /* 17 bytes */
        {"zeroblob(112)", ERR_OK},                                /* 7 registers since schema 2 */
        {"zeroblob(111)", ERR_CORRUPT},
        {"zeroblob(113)", ERR_CORRUPT},
        {"zeroblob(64)", ERR_CORRUPT}, /* schema 1's size: migration 2 extends it */
        {"x''", ERR_CORRUPT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char sql[160];
        snprintf(sql, sizeof sql, "UPDATE unit SET _clk=%s WHERE code='44'", cases[i].clk);
        store_merging_set(f.st, 1);
        cr_assert_eq(store_exec(f.st, sql), ERR_OK);
        store_merging_set(f.st, 0);
        cr_assert_eq(merge_row_clocks(f.st, "unit", "44", clk, &live), cases[i].want, "%s",
                     cases[i].clk);
        if (cases[i].want != ERR_OK) {
            cb_init(&c, H + 1 + i);
            cb_change(&c, "unit", "44", -1);
            cb_s(&c, "name", "Nghe An");
            cr_assert_eq(store_begin(f.st), ERR_OK);
            cr_assert_eq(merge_commit(f.st, a, 1 + i, &c.c), ERR_CORRUPT, "%s", cases[i].clk);
            store_rollback(f.st);
        }
    }
    fix_close(&f);
}
