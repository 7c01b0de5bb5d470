/* STUB being replaced: see node/trust.h. */
#include "trust.h"

#include <stdlib.h>
#include <string.h>

#include "leaf.h"
#include "log.h"
#include "merge.h"
#include "store.h"

struct trust_ctx {
    struct store *st;
};

unsigned
trust_role_parse(const char *s)
{
    return strcmp(s, "writer") == 0     ? TRUST_WRITER
           : strcmp(s, "approver") == 0 ? TRUST_APPROVER
           : strcmp(s, "hub") == 0      ? TRUST_HUB
           : strcmp(s, "auditor") == 0  ? TRUST_AUDITOR
                                        : 0;
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
    default: return "unknown";
    }
}

const char *
trust_reason_name(enum trust_reason r)
{
    static const char *const names[] = {
        [TRUST_OK] = "ok",           [TRUST_PENDING] = "pending",
        [TRUST_UNKNOWN_SIGNER] = "unknown-signer", [TRUST_REVOKED] = "revoked",
        [TRUST_EQUIVOCATED] = "equivocated", [TRUST_EXPIRED] = "expired",
        [TRUST_ROLE] = "wrong-role", [TRUST_UNIT] = "outside-unit",
        [TRUST_NO_UNIT] = "no-unit", [TRUST_MIXED] = "mixed-leaf",
        [TRUST_TABLE] = "unknown-table", [TRUST_ISSUER] = "not-an-issuer",
    };
    return (unsigned)r < sizeof names / sizeof names[0] && names[r] ? names[r] : "unknown";
}

err_code trust_root(struct store *st, uint8_t pk[KEY_PUBLIC_SIZE], int *pinned) { (void)st; (void)pk; *pinned = 0; return ERR_OK; }
err_code trust_pin_root(struct store *st, const uint8_t pk[KEY_PUBLIC_SIZE]) { return store_meta_put(st, "root", pk, KEY_PUBLIC_SIZE); }
err_code trust_ctx_open(struct store *st, struct trust_ctx **out) { *out = calloc(1, sizeof **out); if (!*out) return ERR_NOMEM; (*out)->st = st; return ERR_OK; }
void trust_ctx_free(struct trust_ctx *t) { free(t); }
void trust_ctx_reset(struct trust_ctx *t) { (void)t; }
err_code trust_admit(struct trust_ctx *t, int64_t log_id, uint64_t index, const Cdht__Commit *c, int *applied, int *dirty) { (void)dirty; *applied = 1; return merge_commit(t->st, log_id, index, c); }
err_code trust_would_count(struct trust_ctx *t, int64_t log_id, uint64_t index, const Cdht__Commit *c, enum trust_reason *why, char detail[TRUST_DETAIL_SIZE]) { (void)t; (void)log_id; (void)index; (void)c; *why = TRUST_OK; if (detail) detail[0] = 0; return ERR_OK; }
err_code trust_reconcile(struct store *st, struct trust_report *rep) { (void)st; if (rep) memset(rep, 0, sizeof *rep); return ERR_OK; }
err_code trust_devices(struct store *st, trust_device_fn fn, void *ctx) { (void)st; (void)fn; (void)ctx; return ERR_OK; }
err_code trust_device_get(struct store *st, const uint8_t key[KEY_PUBLIC_SIZE], trust_device_fn fn, void *ctx) { (void)st; (void)key; (void)fn; (void)ctx; return ERR_NOTFOUND; }
err_code trust_grants(struct store *st, const uint8_t key[KEY_PUBLIC_SIZE], trust_grant_fn fn, void *ctx) { (void)st; (void)key; (void)fn; (void)ctx; return ERR_NOTFOUND; }
err_code trust_quarantine(struct store *st, trust_held_fn fn, void *ctx) { (void)st; (void)fn; (void)ctx; return ERR_OK; }
err_code trust_quarantine_count(struct store *st, uint64_t *count) { (void)st; *count = 0; return ERR_OK; }
err_code trust_covers(struct store *st, const char *unit, const char *code, int *yes) { (void)st; *yes = strcmp(unit, "*") == 0 || strcmp(unit, code) == 0; return ERR_OK; }
