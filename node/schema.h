/*
 * The replicated tables, as data: each table's primary key and columns in register order.
 * merge.c writes them only through the SQL built here; store.c creates them with guard
 * triggers. Register 0 of every row is its existence register; register i (1..ncols) is
 * column i-1. Column names are part of the log format (docs/PROTOCOL.md): never rename one,
 * only add. docs/DATA.md says which columns hold personal data.
 */
#ifndef CDHT_SCHEMA_H
#define CDHT_SCHEMA_H

#include <stddef.h>

#include "err.h"

struct store;

enum schema_type { SCHEMA_INT, SCHEMA_TEXT, SCHEMA_BLOB };

struct schema_col {
    const char *name;
    enum schema_type type;
};

/* A row's _clk blob holds its registers' clocks in one of two forms:
 *  - full: one entry per register, hlc u64 BE | author log id u32 BE | leaf index u32 BE;
 *  - compact (a row written by one change, the common case): one entry and a u16 BE mask of
 *    the registers that carry it; the others were never written (clock 0).
 * The compact form is 18 bytes where the full form of a person or unit row is 112. */
#define SCHEMA_CLK_ENTRY_SIZE 16u
#define SCHEMA_CLK_COMPACT_SIZE (SCHEMA_CLK_ENTRY_SIZE + 2u)
#define SCHEMA_COLS_MAX 15u /* registers per row = columns + 1 */

/* The trust roles as bits, copied from node/trust.h (enum trust_role) so that the table list
 * needs no trust header; trust.c asserts at compile time that the two agree. A table's roles
 * are the roles whose grants may write it (docs/DATA.md); the pinned root may always. */
#define SCHEMA_ROLE_WRITER (1u << 0)
#define SCHEMA_ROLE_APPROVER (1u << 1)
#define SCHEMA_ROLE_HUB (1u << 2)
#define SCHEMA_ROLE_AUDITOR (1u << 3)
#define SCHEMA_ROLE_REPORTER (1u << 5)

struct schema_table {
    const char *name;
    const char *pk; /* TEXT primary key column */
    const struct schema_col *cols;
    unsigned ncols;
    /* The TEXT column naming the unit a row belongs to (its writers' certificates must cover
     * it: node/trust.h); NULL for the trust tables themselves. */
    const char *scope;
    /* SCHEMA_ROLE_* bits: a grant of one of these roles covering the row's scope unit may write
     * the table (node/trust.c, trust_judge_data). 0 for the trust tables (trust.c judges
     * their writes itself). */
    unsigned roles;
    /* Built once by schema_sql(): static for the process, so store_stmt can cache them. */
    char sql_select[512]; /* SELECT cols..., _live, _clk WHERE pk=?1 */
    char sql_insert[512]; /* INSERT (pk, cols..., _live, _clk); fails when the row exists */
    char sql_update[512]; /* UPDATE SET cols..., _live, _clk WHERE pk=?1 */
    char sql_scan[512];   /* SELECT pk, cols... WHERE _live ORDER BY pk (state hash) */
};

extern struct schema_table schema_tables[];
extern const unsigned schema_tables_count;

/* Builds the SQL strings once per process. */
void schema_init(void);
const struct schema_table *schema_table_find(const char *name);
/* Column index (0..ncols-1) or -1. */
int schema_col_find(const struct schema_table *t, const char *name);

/* Creates every replicated table of the current schema with its guards (a fresh database). */
err_code schema_create(struct store *st) WARN_UNUSED;
/* Creates one replicated table with its guard CHECK and triggers (a migration that adds a
 * table). The table is created as the current list defines it. */
err_code schema_create_table(struct store *st, const struct schema_table *tb) WARN_UNUSED;

#endif
