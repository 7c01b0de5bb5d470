/*
 * The merge: verified commits become rows. Each change is first tried as a plain insert (the
 * common case: a row this replica has never seen costs one b-tree insert); when the row exists,
 * its register clocks decide, cell by cell, which value stands. The clocks live beside the row
 * in _clk (schema.h), so merging never reads the log. The state hash and the conflict report
 * are here too, because both must agree with exactly this ordering.
 */
#include "merge.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "leaf.h"
#include "log.h"
#include "schema.h"
#include "sha256.h"
#include "store.h"

static void
merge_clk_put(uint8_t *p, const struct merge_clk *c)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(c->hlc >> (56 - 8 * i));
    }
    for (int i = 0; i < 4; i++) {
        p[8 + i] = (uint8_t)(c->author >> (24 - 8 * i));
        p[12 + i] = (uint8_t)(c->index >> (24 - 8 * i));
    }
}

static void
merge_clk_get(const uint8_t *p, struct merge_clk *c)
{
    c->hlc = 0;
    c->author = 0;
    c->index = 0;
    for (int i = 0; i < 8; i++) {
        c->hlc = c->hlc << 8 | p[i];
    }
    for (int i = 0; i < 4; i++) {
        c->author = c->author << 8 | p[8 + i];
        c->index = c->index << 8 | p[12 + i];
    }
}

/* Reads a row's _clk blob (either form, schema.h) into nreg clocks. */
static err_code
merge_clk_load(const uint8_t *p, size_t len, unsigned nreg, struct merge_clk regs[])
{
    struct merge_clk zero = {0, 0, 0};
    if (len == (size_t)nreg * SCHEMA_CLK_ENTRY_SIZE) {
        for (unsigned r = 0; r < nreg; r++) {
            merge_clk_get(p + r * SCHEMA_CLK_ENTRY_SIZE, &regs[r]);
        }
        return ERR_OK;
    }
    if (len != SCHEMA_CLK_COMPACT_SIZE) {
        return ERR_CORRUPT_HERE;
    }
    struct merge_clk c;
    merge_clk_get(p, &c);
    unsigned mask = (unsigned)p[SCHEMA_CLK_ENTRY_SIZE] << 8 | p[SCHEMA_CLK_ENTRY_SIZE + 1];
    if (mask >> nreg != 0) {
        return ERR_CORRUPT_HERE;
    }
    for (unsigned r = 0; r < nreg; r++) {
        regs[r] = (mask >> r & 1u) ? c : zero;
    }
    return ERR_OK;
}

/* Orders two register writes by (hlc, author key bytes, leaf index). Local log ids differ
 * between replicas, so an hlc tie between two authors is broken by their keys. */
static err_code
merge_clk_cmp(struct store *st, const struct merge_clk *a, const struct merge_clk *b, int *out)
{
    if (a->hlc != b->hlc) {
        *out = a->hlc < b->hlc ? -1 : 1;
        return ERR_OK;
    }
    if (a->author != b->author) {
        uint8_t ka[KEY_PUBLIC_SIZE], kb[KEY_PUBLIC_SIZE];
        err_code rc;
        if ((rc = log_key_of(st, a->author, ka)) != ERR_OK ||
            (rc = log_key_of(st, b->author, kb)) != ERR_OK) {
            return rc;
        }
        int c = memcmp(ka, kb, KEY_PUBLIC_SIZE);
        *out = c < 0 ? -1 : c > 0 ? 1 : 0;
        ASSERT(*out != 0); /* two logs never share a key */
        return ERR_OK;
    }
    *out = a->index < b->index ? -1 : a->index > b->index ? 1 : 0;
    return ERR_OK;
}

static int
merge_type_ok(enum schema_type ty, const Cdht__Cell *v)
{
    if (v->value_case == CDHT__CELL__VALUE__NOT_SET) {
        return 1;
    }
    switch (ty) {
    case SCHEMA_INT: return v->value_case == CDHT__CELL__VALUE_I;
    case SCHEMA_TEXT: return v->value_case == CDHT__CELL__VALUE_S;
    case SCHEMA_BLOB: return v->value_case == CDHT__CELL__VALUE_B;
    }
    return 0;
}

/* Binds a cell's value (NULL when v is NULL or holds none). */
static void
merge_bind_value(sqlite3_stmt *s, int i, const Cdht__Cell *v)
{
    if (v == NULL) {
        sqlite3_bind_null(s, i);
        return;
    }
    switch (v->value_case) {
    case CDHT__CELL__VALUE_I: sqlite3_bind_int64(s, i, v->i); break;
    case CDHT__CELL__VALUE_S: sqlite3_bind_text(s, i, v->s, -1, SQLITE_STATIC); break;
    case CDHT__CELL__VALUE_B:
        sqlite3_bind_blob(s, i, v->b.len ? v->b.data : (const void *)"", (int)v->b.len,
                          SQLITE_STATIC);
        break;
    default: sqlite3_bind_null(s, i); break;
    }
}

/* The registers one change writes, gathered before touching the table. */
struct merge_row {
    const struct schema_table *t;
    uint32_t written; /* bit r: register r written (bit 0: existence) */
    int exists;
    const Cdht__Cell *val[SCHEMA_COLS_MAX]; /* the cell writing register r */
};

static err_code
merge_change(struct store *st, const struct merge_row *row, const char *pk,
             const struct merge_clk *w)
{
    const struct schema_table *t = row->t;
    unsigned nreg = t->ncols + 1;
    uint8_t clk[SCHEMA_COLS_MAX * SCHEMA_CLK_ENTRY_SIZE];
    struct merge_clk regs[SCHEMA_COLS_MAX];
    int rc;

    /* Fast path: the row does not exist yet, and every register it writes has this change's
     * clock: the compact clock form. */
    sqlite3_stmt *ins = store_stmt(st, t->sql_insert);
    if (ins == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_text(ins, 1, pk, -1, SQLITE_STATIC);
    for (unsigned r = 1; r < nreg; r++) {
        merge_bind_value(ins, (int)r + 1, (row->written >> r & 1u) ? row->val[r] : NULL);
    }
    merge_clk_put(clk, w);
    clk[SCHEMA_CLK_ENTRY_SIZE] = (uint8_t)(row->written >> 8);
    clk[SCHEMA_CLK_ENTRY_SIZE + 1] = (uint8_t)row->written;
    sqlite3_bind_int(ins, (int)t->ncols + 2, (row->written & 1u) ? row->exists : 0);
    sqlite3_bind_blob(ins, (int)t->ncols + 3, clk, SCHEMA_CLK_COMPACT_SIZE, SQLITE_STATIC);
    /* A plain INSERT, not OR IGNORE: OR IGNORE looks the key up before inserting, a second
     * b-tree descent for every new row. A row that exists fails the primary key instead, and
     * a one-row INSERT that fails has changed nothing. */
    rc = sqlite3_step(ins);
    sqlite3_reset(ins);
    if (rc == SQLITE_DONE) {
        return ERR_OK;
    }
    if (rc != SQLITE_CONSTRAINT) {
        return store_err(st, rc, "merge insert");
    }

    /* The row exists: register by register, the larger clock stands. */
    sqlite3_stmt *sel = store_stmt(st, t->sql_select);
    if (sel == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_text(sel, 1, pk, -1, SQLITE_STATIC);
    rc = sqlite3_step(sel);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(sel);
        return rc == SQLITE_DONE ? ERR_CORRUPT_HERE : store_err(st, rc, "merge select");
    }
    err_code e = merge_clk_load(sqlite3_column_blob(sel, (int)t->ncols + 1),
                                (size_t)sqlite3_column_bytes(sel, (int)t->ncols + 1), nreg, regs);
    if (e != ERR_OK) {
        sqlite3_reset(sel);
        return e;
    }
    uint32_t take = 0;
    for (unsigned r = 0; r < nreg; r++) {
        if (!(row->written >> r & 1u)) {
            continue;
        }
        int cmp = 0;
        if ((e = merge_clk_cmp(st, w, &regs[r], &cmp)) != ERR_OK) {
            sqlite3_reset(sel);
            return e;
        }
        /* >= : an equal clock is the same leaf, where a later change overrides an earlier. */
        if (cmp >= 0) {
            take |= 1u << r;
            regs[r] = *w;
        }
    }
    for (unsigned r = 0; r < nreg; r++) {
        merge_clk_put(clk + r * SCHEMA_CLK_ENTRY_SIZE, &regs[r]);
    }
    if (take == 0) {
        sqlite3_reset(sel);
        return ERR_OK;
    }
    sqlite3_stmt *upd = store_stmt(st, t->sql_update);
    if (upd == NULL) {
        sqlite3_reset(sel);
        return ERR_DB;
    }
    sqlite3_bind_text(upd, 1, pk, -1, SQLITE_STATIC);
    for (unsigned r = 1; r < nreg; r++) {
        if (take >> r & 1u) {
            merge_bind_value(upd, (int)r + 1, row->val[r]);
        } else {
            sqlite3_bind_value(upd, (int)r + 1, sqlite3_column_value(sel, (int)r - 1));
        }
    }
    int live = (take & 1u) ? row->exists : sqlite3_column_int(sel, (int)t->ncols);
    sqlite3_bind_int(upd, (int)t->ncols + 2, live);
    sqlite3_bind_blob(upd, (int)t->ncols + 3, clk, (int)(nreg * SCHEMA_CLK_ENTRY_SIZE),
                      SQLITE_STATIC);
    sqlite3_reset(sel); /* bound values were copied */
    rc = sqlite3_step(upd);
    sqlite3_reset(upd);
    return rc == SQLITE_DONE ? ERR_OK : store_err(st, rc, "merge update");
}

/* Gathers the registers a change writes. Unknown columns and mistyped values are skipped:
 * deterministic on every replica of this version, and kept in the log for a newer one. */
static void
merge_gather(const struct schema_table *t, const Cdht__Change *ch, struct merge_row *row)
{
    memset(row, 0, sizeof *row);
    row->t = t;
    if (ch->has_exists) {
        row->written |= 1u;
        row->exists = ch->exists ? 1 : 0;
    }
    for (size_t j = 0; j < ch->n_cells; j++) {
        int c = schema_col_find(t, ch->cells[j]->col);
        if (c < 0 || !merge_type_ok(t->cols[c].type, ch->cells[j])) {
            diag_debug("MERGE-SKIP", "table %s: cell %zu skipped (unknown column or type)", t->name,
                       j);
            continue;
        }
        row->written |= 1u << (c + 1);
        row->val[c + 1] = ch->cells[j];
    }
}

err_code
merge_commit(struct store *st, int64_t author_id, uint64_t leaf_index, const Cdht__Commit *c)
{
    return merge_commit_only(st, author_id, leaf_index, c, NULL, NULL);
}

err_code
merge_commit_only(struct store *st, int64_t author_id, uint64_t leaf_index, const Cdht__Commit *c,
                  merge_filter_fn keep, void *ctx)
{
    ASSERT(author_id > 0 && author_id < LOG_ID_LIMIT);
    ASSERT(leaf_index <= UINT32_MAX);
    struct merge_clk w = {
        .hlc = c->hlc, .author = (uint32_t)author_id, .index = (uint32_t)leaf_index};
    err_code rc = ERR_OK;
    schema_init();
    store_merging_set(st, 1);
    for (size_t i = 0; i < c->n_changes; i++) {
        const Cdht__Change *ch = c->changes[i];
        const struct schema_table *t = schema_table_find(ch->table);
        if (t == NULL) {
            diag_debug("MERGE-SKIP", "change %zu: unknown table skipped", i);
            continue;
        }
        if (keep != NULL && !keep(ctx, t->name, ch->pk)) {
            continue;
        }
        struct merge_row row;
        merge_gather(t, ch, &row);
        if (row.written == 0) {
            continue;
        }
        if ((rc = merge_change(st, &row, ch->pk, &w)) != ERR_OK) {
            break;
        }
    }
    store_merging_set(st, 0);
    return rc;
}

err_code
merge_row_forget(struct store *st, const char *table, const char *pk)
{
    const struct schema_table *t = schema_table_find(table);
    if (t == NULL) {
        return ERR_OK;
    }
    char sql[160];
    snprintf(sql, sizeof sql, "DELETE FROM %s WHERE %s=?1", t->name, t->pk);
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (rc != SQLITE_OK) {
        return store_err(st, rc, "merge forget");
    }
    sqlite3_bind_text(s, 1, pk, -1, SQLITE_STATIC);
    store_merging_set(st, 1);
    rc = sqlite3_step(s);
    store_merging_set(st, 0);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? ERR_OK : store_err(st, rc, "merge forget");
}

err_code
merge_row_clocks(struct store *st, const char *table, const char *pk, struct merge_clk regs[],
                 int *live)
{
    const struct schema_table *t = schema_table_find(table);
    if (t == NULL) {
        return ERR_INVAL;
    }
    unsigned nreg = t->ncols + 1;
    sqlite3_stmt *sel = store_stmt(st, t->sql_select);
    if (sel == NULL) {
        return ERR_DB;
    }
    sqlite3_bind_text(sel, 1, pk, -1, SQLITE_STATIC);
    int rc = sqlite3_step(sel);
    err_code e = ERR_OK;
    if (rc != SQLITE_ROW) {
        e = rc == SQLITE_DONE ? ERR_NOTFOUND : store_err(st, rc, "row clocks");
    } else {
        e = merge_clk_load(sqlite3_column_blob(sel, (int)t->ncols + 1),
                           (size_t)sqlite3_column_bytes(sel, (int)t->ncols + 1), nreg, regs);
        *live = sqlite3_column_int(sel, (int)t->ncols);
    }
    sqlite3_reset(sel);
    return e;
}

static void
merge_hash_u32(struct sha256 *h, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    sha256_update(h, b, 4);
}

err_code
merge_state_hash(struct store *st, uint8_t out[HASH_SIZE])
{
    static const char domain[] = "cdht-state-v1\n";
    struct sha256 h;
    sha256_init(&h);
    sha256_update(&h, domain, sizeof domain - 1);
    schema_init();
    for (unsigned t = 0; t < schema_tables_count; t++) {
        const struct schema_table *tb = &schema_tables[t];
        sha256_update(&h, (const uint8_t *)"T", 1);
        sha256_update(&h, (const uint8_t *)tb->name, strlen(tb->name) + 1);
        sqlite3_stmt *s = store_stmt(st, tb->sql_scan);
        if (s == NULL) {
            sha256_release(&h);
            return ERR_DB;
        }
        int rc;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            sha256_update(&h, (const uint8_t *)"R", 1);
            for (int c = 0; c <= (int)tb->ncols; c++) {
                switch (sqlite3_column_type(s, c)) {
                case SQLITE_INTEGER: {
                    uint64_t v = (uint64_t)sqlite3_column_int64(s, c);
                    sha256_update(&h, (const uint8_t *)"I", 1);
                    merge_hash_u32(&h, (uint32_t)(v >> 32));
                    merge_hash_u32(&h, (uint32_t)v);
                    break;
                }
                case SQLITE_TEXT:
                case SQLITE_BLOB: {
                    const void *p = sqlite3_column_type(s, c) == SQLITE_TEXT
                                        ? (const void *)sqlite3_column_text(s, c)
                                        : sqlite3_column_blob(s, c);
                    uint32_t n = (uint32_t)sqlite3_column_bytes(s, c);
                    sha256_update(&h, sqlite3_column_type(s, c) == SQLITE_TEXT ? "S" : "B", 1);
                    merge_hash_u32(&h, n);
                    if (n > 0) {
                        sha256_update(&h, p, n);
                    }
                    break;
                }
                default: sha256_update(&h, (const uint8_t *)"N", 1); break;
                }
            }
        }
        sqlite3_reset(s);
        if (rc != SQLITE_DONE) {
            sha256_release(&h);
            return store_err(st, rc, "state hash");
        }
    }
    sha256_final(&h, out);
    return ERR_OK;
}

/* Finds, in the winner's leaf, the last write of (table, pk, col): its value and its base. */
static err_code
merge_winner_cell(struct store *st, const struct merge_clk *win, const char *table, const char *pk,
                  const char *col, Cdht__Commit **leaf, const Cdht__Cell **cell)
{
    uint8_t *data = NULL;
    size_t len = 0;
    *cell = NULL;
    *leaf = NULL;
    err_code rc = log_leaf_read(st, win->author, win->index, &data, &len);
    if (rc != ERR_OK) {
        return rc;
    }
    rc = leaf_decode(data, len, leaf);
    free(data);
    if (rc != ERR_OK) {
        return rc;
    }
    for (size_t i = 0; i < (*leaf)->n_changes; i++) {
        const Cdht__Change *ch = (*leaf)->changes[i];
        if (strcmp(ch->table, table) != 0 || strcmp(ch->pk, pk) != 0) {
            continue;
        }
        for (size_t j = 0; j < ch->n_cells; j++) {
            if (strcmp(ch->cells[j]->col, col) == 0) {
                *cell = ch->cells[j];
            }
        }
    }
    return *cell != NULL ? ERR_OK : ERR_CORRUPT_HERE;
}

struct merge_conflict_scan {
    merge_conflict_fn fn;
    void *ctx;
    struct store *st;
};

/* Same type and same value (both NULL included). */
static int
merge_cell_equal(const Cdht__Cell *a, const Cdht__Cell *b)
{
    if (a->value_case != b->value_case) {
        return 0;
    }
    switch (a->value_case) {
    case CDHT__CELL__VALUE_I: return a->i == b->i;
    case CDHT__CELL__VALUE_S: return strcmp(a->s, b->s) == 0;
    case CDHT__CELL__VALUE_B:
        return a->b.len == b->b.len &&
               (a->b.len == 0 || memcmp(a->b.data, b->b.data, a->b.len) == 0);
    default: return 1;
    }
}

static err_code
merge_conflicts_change(struct merge_conflict_scan *sc, const struct log_head *h, uint64_t index,
                       const Cdht__Commit *c, const Cdht__Change *ch)
{
    const struct schema_table *t = schema_table_find(ch->table);
    if (t == NULL) {
        return ERR_OK;
    }
    struct merge_clk regs[SCHEMA_COLS_MAX];
    int live = 0;
    err_code rc = merge_row_clocks(sc->st, ch->table, ch->pk, regs, &live);
    if (rc != ERR_OK) {
        return rc == ERR_NOTFOUND ? ERR_OK : rc;
    }
    for (size_t j = 0; j < ch->n_cells; j++) {
        const Cdht__Cell *cell = ch->cells[j];
        int col = schema_col_find(t, cell->col);
        if (col < 0 || !merge_type_ok(t->cols[col].type, cell)) {
            continue;
        }
        const struct merge_clk *win = &regs[col + 1];
        if (win->author == (uint32_t)h->id) {
            continue; /* the winner, or an earlier write of the same device: not concurrent */
        }
        Cdht__Commit *wleaf = NULL;
        const Cdht__Cell *wcell = NULL;
        if ((rc = merge_winner_cell(sc->st, win, ch->table, ch->pk, cell->col, &wleaf, &wcell)) !=
            ERR_OK) {
            leaf_free(wleaf);
            return rc;
        }
        uint64_t base = wcell->has_base_hlc ? wcell->base_hlc : 0;
        /* Two writes of the same value lose nothing (under a pinned root every person change
         * repeats its row's unit). */
        if (base < c->hlc && !merge_cell_equal(wcell, cell)) {
            struct merge_conflict mc = {
                .table = ch->table,
                .pk = ch->pk,
                .col = cell->col,
                .win = wcell,
                .lose = cell,
                .win_hlc = win->hlc,
                .lose_hlc = c->hlc,
                .win_index = win->index,
                .lose_index = index,
            };
            memcpy(mc.lose_author, h->key, KEY_PUBLIC_SIZE);
            rc = log_key_of(sc->st, win->author, mc.win_author);
            if (rc == ERR_OK) {
                rc = sc->fn(sc->ctx, &mc);
            }
        }
        leaf_free(wleaf);
        if (rc != ERR_OK) {
            return rc;
        }
    }
    return ERR_OK;
}

static err_code
merge_conflicts_log(void *ctx, const struct log_head *h)
{
    struct merge_conflict_scan *sc = ctx;
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(
        sc->st->db,
        /* A held leaf (node/trust.h) never counted: it lost nothing to anyone. */
        "SELECT id, data FROM leaf WHERE id>=?1 AND id<?2 AND id NOT IN (SELECT id FROM "
        "quarantine) ORDER BY id",
        -1, &s, NULL);
    if (rc != SQLITE_OK) {
        return store_err(sc->st, rc, "conflicts");
    }
    sqlite3_bind_int64(s, 1, log_leaf_rowid(h->id, 0));
    sqlite3_bind_int64(s, 2, log_leaf_rowid(h->id, h->size));
    err_code e = ERR_OK;
    while (e == ERR_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        uint64_t index = (uint64_t)sqlite3_column_int64(s, 0) & (LOG_INDEX_LIMIT - 1);
        Cdht__Commit *c = NULL;
        if ((e = leaf_decode(sqlite3_column_blob(s, 1), (size_t)sqlite3_column_bytes(s, 1), &c)) !=
            ERR_OK) {
            break;
        }
        for (size_t i = 0; e == ERR_OK && i < c->n_changes; i++) {
            e = merge_conflicts_change(sc, h, index, c, c->changes[i]);
        }
        leaf_free(c);
    }
    if (e == ERR_OK && rc != SQLITE_DONE) {
        e = store_err(sc->st, rc, "conflicts");
    }
    sqlite3_finalize(s);
    return e;
}

err_code
merge_conflicts(struct store *st, merge_conflict_fn fn, void *ctx)
{
    struct merge_conflict_scan sc = {.fn = fn, .ctx = ctx, .st = st};
    schema_init();
    return log_foreach(st, merge_conflicts_log, &sc);
}
