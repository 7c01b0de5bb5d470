/*
 * The administrative units tree as data (DESIGN.md section 5, DOMAIN.md "Administrative
 * units"): rows of the replicated tables unit and unit_succession, read at a date. A unit is
 * valid at D when valid_from <= D <= valid_to (a NULL bound is open). A code rolls up at D to
 * the end of its succession chain, following each succession whose effective date is <= D, so
 * data recorded under a commune closed by the 2025 reform counts under its successor from the
 * reform's date on, and under the old commune before it. Every walk here is iterative and
 * bounded by a named limit; a cycle is ERR_CORRUPT (two replicas can each make a valid change
 * that together close a cycle, so it is data, never an assertion).
 */
#ifndef CDHT_UNITS_H
#define CDHT_UNITS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "limits.h"

struct store;

#define UNITS_CODE_BUF (UNIT_CODE_SIZE_MAX + 1u)
#define UNITS_DATE_BUF 11u /* YYYY-MM-DD and its NUL (domain.h, DOMAIN_DATE_SIZE) */
/* Successions followed from one code. Vietnam reorganises its units every decade or two
 * (2004, 2019-2021, 2025), so a real chain has a handful of links; 32 is centuries of reforms
 * and bounds the work of a resolve at 32 primary-key lookups. Longer: ERR_MSGSIZE. */
#define UNITS_SUCCESSION_CHAIN_MAX 32u
/* Units on one path from a unit to its root, itself included. The deepest tree in use is
 * province > district > commune > village, with schools and agencies one level below any of
 * them (5); 16 leaves room for a deployment's own levels and bounds every parent walk and the
 * tree printer's stack. Deeper: ERR_MSGSIZE. */
#define UNITS_DEPTH_MAX 16u
/* Units one `unit tree` holds in memory. The whole country is about 34 provinces, 3,321 communes
 * and under 100,000 villages, schools and agencies; 500,000 rows of about 200 bytes (names
 * included) is at most 100 MiB, which a hub can afford and a village laptop never reaches
 * (its replica holds its own province). More: ERR_MSGSIZE. */
#define UNITS_TREE_COUNT_MAX 500000u

/* A change not yet written, seen as if it were (so a command can refuse a move or a succession
 * that would close a cycle before it writes anything). Unused fields are NULL. */
struct units_overlay {
    const char *succ_old, *succ_new, *succ_effective; /* a succession old -> new from effective */
    const char *move_code, *move_parent;              /* move_code's parent becomes move_parent */
};

/* One unit as read at a date. Pointers are borrowed: valid only during the callback. */
struct units_row {
    const char *code;
    const char *parent;      /* as stored; NULL for a root */
    const char *rolls_up_to; /* the parent resolved through successions at the date; NULL */
    const char *kind, *name; /* NULL when never written */
    const char *valid_from, *valid_to; /* YYYY-MM-DD or NULL (open) */
    int disadvantaged;                 /* 0 or 1; -1 when never written */
};

/* The code that code rolls up to at date (YYYY-MM-DD): the end of its chain of successions whose
 * effective date is <= date. date NULL follows every succession, whatever its date (the latest
 * code). ov may be NULL. out receives code itself when it has no succession in effect.
 * ERR_CORRUPT: the chain has a cycle; ERR_MSGSIZE: longer than UNITS_SUCCESSION_CHAIN_MAX. */
err_code units_resolve(struct store *st, const struct units_overlay *ov, const char *code,
                       const char *date, char out[UNITS_CODE_BUF]) WARN_UNUSED;

/* The path from code up to its root at date: out[0] is code as it rolls up at date, out[i + 1]
 * the parent of out[i] as it rolls up at date, the root last; *count entries (at least 1). A
 * parent that is not a live unit ends the path. ERR_CORRUPT: a cycle; ERR_MSGSIZE: deeper than
 * UNITS_DEPTH_MAX, or a succession chain too long. */
err_code units_ancestors(struct store *st, const struct units_overlay *ov, const char *code,
                         const char *date, char out[UNITS_DEPTH_MAX][UNITS_CODE_BUF],
                         unsigned *count) WARN_UNUSED;

typedef err_code (*units_row_fn)(void *ctx, const struct units_row *u);

/* Calls fn, in code order, for each live unit valid at date (NULL: every live unit). */
err_code units_foreach(struct store *st, const char *date, units_row_fn fn, void *ctx) WARN_UNUSED;

/* Calls fn, in code order, for each unit valid at date whose parent rolls up at date to parent
 * (parent NULL: the units without a parent). One scan of the valid units: for one listing; the
 * tree uses units_tree. fn must not call units_children or units_foreach. */
err_code units_children(struct store *st, const char *parent, const char *date, units_row_fn fn,
                        void *ctx) WARN_UNUSED;

/* fn for units_tree: depth 0 for a root. in_cycle: the unit is not reachable from a root (its
 * parents form a cycle); such units come last, at depth 0. */
typedef err_code (*units_tree_fn)(void *ctx, const struct units_row *u, unsigned depth,
                                  int in_cycle);

/* Walks the units valid at date as a tree, depth first, children in code order. A unit whose
 * parent (rolled up at date) is absent or not valid at date is a root. *in_cycle_count receives
 * the number of units reported with in_cycle set. Iterative, with a stack of UNITS_DEPTH_MAX. */
err_code units_tree(struct store *st, const char *date, units_tree_fn fn, void *ctx,
                    unsigned *in_cycle_count) WARN_UNUSED;

/* One succession as stored. */
struct units_succession {
    const char *old_code, *new_code, *effective; /* effective NULL: at every date */
};
typedef err_code (*units_succession_fn)(void *ctx, const struct units_succession *s);

/* Calls fn, in old-code order, for every live succession in effect at date (NULL: all). */
err_code units_successions(struct store *st, const char *date, units_succession_fn fn,
                           void *ctx) WARN_UNUSED;

/* The successor recorded for old (live row), copied into out; ERR_NOTFOUND when none. */
err_code units_successor(struct store *st, const char *old, char out[UNITS_CODE_BUF],
                         char effective[UNITS_DATE_BUF]) WARN_UNUSED;

#endif
