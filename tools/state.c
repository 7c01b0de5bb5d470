/*
 * cdht hash and cdht conflicts: the two views of the merged state that let people check
 * convergence (the digest is equal on replicas holding the same leaves) and see what last-
 * writer-wins decided when two devices edited the same cell without seeing each other.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "hlc.h"
#include "merge.h"
#include "replica.h"

int
cmd_hash(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "hash", "hash --home DIR");
    int ec = cli_parse_common(&c, argc, argv, 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, 0, &r)) != 0) {
        return ec;
    }
    uint8_t h[HASH_SIZE];
    err_code rc = merge_state_hash(r->st, h);
    replica_close(r);
    if (rc != ERR_OK) {
        return cli_fail(&c, rc, "cannot hash the state: %s", err_str(rc));
    }
    for (unsigned i = 0; i < HASH_SIZE; i++) {
        printf("%02x", h[i]);
    }
    printf("\n");
    return CLI_OK;
}

static void
state_value(const Cdht__Cell *v)
{
    if (v->value_case == CDHT__CELL__VALUE__NOT_SET) {
        printf("null");
    } else if (v->value_case == CDHT__CELL__VALUE_I) {
        printf("%lld", (long long)v->i);
    } else if (v->value_case == CDHT__CELL__VALUE_S) {
        cli_json_str(stdout, v->s);
    } else {
        printf("<%zu bytes>", v->b.len); /* blobs are keyed hashes: not for display */
    }
}

static err_code
state_conflict(void *ctx, const struct merge_conflict *m)
{
    unsigned *count = ctx;
    char wk[48], lk[48], wt[64], lt[64];
    cli_key_b64(m->win_author, wk);
    cli_key_b64(m->lose_author, lk);
    hlc_format(m->win_hlc, wt);
    hlc_format(m->lose_hlc, lt);
    printf("%s %s %s\n  kept: ", m->table, m->pk, m->col);
    state_value(m->win);
    printf(" by %s at %s (leaf %llu)\n  lost: ", wk, wt, (unsigned long long)m->win_index);
    state_value(m->lose);
    printf(" by %s at %s (leaf %llu)\n", lk, lt, (unsigned long long)m->lose_index);
    (*count)++;
    return ERR_OK;
}

int
cmd_conflicts(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "conflicts", "conflicts --home DIR");
    int ec = cli_parse_common(&c, argc, argv, 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, 0, &r)) != 0) {
        return ec;
    }
    unsigned count = 0;
    err_code rc = merge_conflicts(r->st, state_conflict, &count);
    replica_close(r);
    if (rc != ERR_OK) {
        return cli_fail(&c, rc, "cannot list conflicts: %s", err_str(rc));
    }
    fprintf(stderr, "%u conflict%s\n", count, count == 1 ? "" : "s");
    return CLI_OK;
}
