/*
 * Replication scope (DESIGN.md section 6, docs/ARCHITECTURE.md "Replication scope"): which logs
 * a replica may hold. A scope is a set of units (a device's grants' units, or one unit named by
 * an operator). A log is in scope when its device holds a valid chain to the pinned root and one
 * of its grants' units is inside the subtree of a scope unit (upward: a hub holds the logs of the
 * devices certified below it) or is an ancestor-or-equal of one (downward: every replica holds
 * the logs of the devices of its ancestor units: criteria, targets, certificates, approvals).
 * The root's log is always in scope; a log certified only for a unit that is neither inside nor
 * above a scope unit (another village's people) is not. Scope is read from the trust state as
 * last reconciled (node/trust.h) and the units tree as it stands; in open mode (no root pinned)
 * there are no certificates to scope by, and nothing here applies.
 */
#ifndef CDHT_SCOPE_H
#define CDHT_SCOPE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "limits.h"
#include "units.h"

struct store;
struct replica;

/* Distinct units in one scope. A device holds a handful of grants (writer of its village,
 * perhaps approver of its commune, auditor); a hub's one grant covers its whole subtree. 32 is
 * far above any real device and bounds the per-log decision at 32 units x its grants x two tree
 * walks. A device with grants over more units: ERR_MSGSIZE (scope it by --scope UNIT instead). */
#define SCOPE_UNITS_MAX 32u

struct scope {
    int all;    /* the root's scope: every log with a valid chain */
    int placed; /* every unit below is a live unit of the units tree held here */
    /* The raw-data ceiling (setting SCOPE_CEILING_KEY, written by the root): the rank of its
     * unit kind (scope_kind_rank), 0 when none is set. */
    int ceiling;
    /* Some unit below is at or below the ceiling (or of an unknown kind), from a grant that is
     * not a reporter's: the scope holds people's records. A scope with a ceiling and no such
     * unit is above the ceiling (scope_above_ceiling). */
    int raw;
    size_t count;
    char units[SCOPE_UNITS_MAX][UNITS_CODE_BUF];
    uint8_t root[KEY_PUBLIC_SIZE]; /* the pinned root: its log is always in scope */
};

enum scope_verdict {
    SCOPE_IN = 1,
    SCOPE_OUT = 2, /* a device with a valid chain, certified only outside and beside the scope */
    /* Cannot be told yet: the device has no valid chain here (an unknown signer, whose
     * certificate may arrive later), or it is not in scope but a scope unit is not in the units
     * tree held here, so that its ancestors are not known. */
    SCOPE_UNDECIDED = 3,
};

/* The scope of the device key: the units of its valid grants (node/trust.h trust_grants); the
 * root's key (or a "*" grant) gives the whole tree. ERR_INVAL in open mode (no root pinned);
 * ERR_NOTFOUND when the key holds no valid chain here; ERR_MSGSIZE past SCOPE_UNITS_MAX. */
err_code scope_from_key(struct store *st, const uint8_t key[KEY_PUBLIC_SIZE],
                        struct scope *out) WARN_UNUSED;

/* The scope of one unit code, which must be a live unit here. ERR_INVAL in open mode or for a
 * malformed code; ERR_NOTFOUND when no such unit is held. */
err_code scope_from_unit(struct store *st, const char *code, struct scope *out) WARN_UNUSED;

/* The raw-data ceiling (DESIGN.md section 6; docs/issue5-design.md section 7.5). The root writes
 * setting SCOPE_CEILING_KEY with unit "*" and a unit kind as value; only that row takes effect.
 * A scope none of whose units lies at or below a unit of that kind (ranks: province 1 <
 * district 2 < commune 3 < village, school, agency 4; the root's whole-tree scope included) is
 * above the ceiling: it holds the logs of the root, and of devices each of whose grants is a
 * reporter's or lies above the ceiling, and no other (an unknown signer's log is left out too,
 * rather than held in quarantine, since it may be a branch's). So a province never stores a
 * branch's or a commune hub's log; it receives the aggregate rows of the reporter devices
 * (node/aggregate.h). Logs held before the ceiling was set stay held. */
#define SCOPE_CEILING_KEY "raw_ceiling_kind"
#define SCOPE_KIND_BUF 16u /* the longest kind ("province", "district", ...) and its NUL */
/* The rank of a unit kind (1 province .. 4 village, school, agency); 0 for anything else. */
int scope_kind_rank(const char *kind);
/* The ceiling's kind into kind (empty when none is set or the value is not a kind). */
err_code scope_ceiling(struct store *st, char kind[SCOPE_KIND_BUF]) WARN_UNUSED;
/* 1 when s is above the ceiling. */
int scope_above_ceiling(const struct scope *s);
/* *above 1 when a ceiling is set and unit ("*": the whole tree) lies above it: its kind ranks
 * before the ceiling's. A unit of an unknown kind or not held is not above. */
err_code scope_unit_above_ceiling(struct store *st, const char *unit, int *above) WARN_UNUSED;

/* Meta key and value that configure a replica to keep every log it receives, whatever its scope
 * (DESIGN.md section 6: "sideways: nothing, unless configured"): an archive, or a simulation
 * that checks that every replica holding the same leaves computes the same state. */
#define SCOPE_META "scope"
#define SCOPE_META_ALL "all"

/* This replica's own scope, for import: its device's grants' units, or, while it holds no valid
 * chain yet, the unit it was initialised for (meta "unit"). *active is 0 in open mode, or when
 * meta SCOPE_META is SCOPE_META_ALL (out is then untouched and nothing is scoped). */
err_code scope_of_replica(struct replica *r, struct scope *out, int *active) WARN_UNUSED;

/* Where the log of device key stands with respect to s. */
err_code scope_log_verdict(struct store *st, const struct scope *s,
                           const uint8_t key[KEY_PUBLIC_SIZE], enum scope_verdict *v) WARN_UNUSED;

/* For export: *yes only for SCOPE_IN (a scoped bundle never carries an unknown signer's log). */
err_code scope_log_allowed(struct store *st, const struct scope *s,
                           const uint8_t key[KEY_PUBLIC_SIZE], int *yes) WARN_UNUSED;

#endif
