/*
 * cdht log: everything an independent verifier needs, byte for byte. list (one line per log:
 * key, size, root), checkpoint (the signed note), leaf (raw bytes), prove and consistency
 * (RFC 6962 proofs: the proof hashes only, one base64 hash per line, in the order C2SP
 * tlog-proof lists them) and heads (the file that
 * `cdht bundle export --since` reads on the other replica).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "exchange.h"
#include "heads.h"
#include "log.h"
#include "replica.h"
#include "store.h"
#include "witness.h"

struct log_args {
    struct cli c;
    const char *key_s, *out;
    const char *index_s, *size_s, *from_s, *to_s;
    int json;
};

/* Every log subcommand takes the same options; each uses the ones it needs. Returns 0 to go
 * on, CLI_HELP_SHOWN, or an exit code. */
static int
log_parse(struct log_args *a, int argc, char **argv, const char *cmd, const char *usage)
{
    cli_init(&a->c, cmd, usage);
    const struct cli_opt opts[] = {
        {"log", 0, &a->key_s, NULL},   {"index", 0, &a->index_s, NULL},
        {"size", 0, &a->size_s, NULL}, {"from", 0, &a->from_s, NULL},
        {"to", 0, &a->to_s, NULL},     {"output", 'o', &a->out, NULL},
        {"json", 0, NULL, &a->json},
    };
    return cli_parse(&a->c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
}

/* Resolves --log (default: this device's log when allow_self). */
static int
log_head_of(struct log_args *a, struct replica *r, int allow_self, struct log_head *h)
{
    uint8_t key[KEY_PUBLIC_SIZE];
    if (a->key_s == NULL) {
        if (!allow_self) {
            return cli_usage(&a->c, "--log KEY is required");
        }
        memcpy(key, r->pk, KEY_PUBLIC_SIZE);
    } else if (cli_parse_key(a->key_s, key) != 0) {
        return cli_usage(&a->c, "--log: not a base64 Ed25519 public key (44 characters)");
    }
    err_code rc = log_get(r->st, key, h);
    if (rc == ERR_NOTFOUND) {
        return cli_fail(&a->c, rc, "this replica holds no log with key %s",
                        a->key_s != NULL ? a->key_s : "(this device's)");
    }
    if (rc != ERR_OK) {
        return cli_fail(&a->c, rc, "cannot read the log: %s", err_str(rc));
    }
    return 0;
}

static err_code
log_list_visit(void *ctx, const struct log_head *h)
{
    (void)ctx;
    char k[48], root[48];
    uint8_t rb[HASH_SIZE];
    log_root(h, rb);
    cli_key_b64(h->key, k);
    cli_hash_b64(rb, root);
    printf("%s %llu %s\n", k, (unsigned long long)h->size, root);
    return ERR_OK;
}

static int
log_list(struct log_args *a, struct replica *r)
{
    err_code rc = log_foreach(r->st, log_list_visit, NULL);
    return rc == ERR_OK ? CLI_OK : cli_fail(&a->c, rc, "cannot list logs: %s", err_str(rc));
}

static int
log_checkpoint(struct log_args *a, struct replica *r)
{
    struct log_head h;
    int ec = log_head_of(a, r, 1, &h);
    if (ec != 0) {
        return ec;
    }
    uint8_t note[NOTE_SIZE_MAX];
    size_t len = 0;
    uint64_t size = 0;
    err_code rc = log_checkpoint_get(r->st, h.id, note, &len, &size);
    if (rc != ERR_OK) {
        return cli_fail(&a->c, rc, "no signed checkpoint held for this log");
    }
    fwrite(note, 1, len, stdout);
    return CLI_OK;
}

static int
log_leaf(struct log_args *a, struct replica *r)
{
    struct log_head h;
    uint64_t index = 0;
    int ec = log_head_of(a, r, 0, &h);
    if (ec != 0) {
        return ec;
    }
    if (a->index_s == NULL || cli_parse_u64(a->index_s, &index) != 0) {
        return cli_usage(&a->c, "--index N is required (a leaf index, from 0)");
    }
    if (index >= h.size) {
        return cli_fail(&a->c, ERR_NOTFOUND, "leaf %llu does not exist: the log holds %llu",
                        (unsigned long long)index, (unsigned long long)h.size);
    }
    uint8_t *data = NULL;
    size_t len = 0;
    err_code rc = log_leaf_read(r->st, h.id, index, &data, &len);
    if (rc != ERR_OK) {
        return cli_fail(&a->c, rc, "cannot read leaf %llu: %s", (unsigned long long)index,
                        err_str(rc));
    }
    fwrite(data, 1, len, stdout);
    free(data);
    return CLI_OK;
}

/* Prints a computed proof, one base64 hash per line, or why it could not be computed. */
static int
log_print_proof(struct log_args *a, err_code rc, uint8_t proof[][HASH_SIZE], size_t n)
{
    if (rc != ERR_OK) {
        return cli_fail(&a->c, rc, "cannot compute the proof: %s", err_str(rc));
    }
    for (size_t i = 0; i < n; i++) {
        char b[48];
        cli_hash_b64(proof[i], b);
        printf("%s\n", b);
    }
    return CLI_OK;
}

static int
log_prove(struct log_args *a, struct replica *r)
{
    struct log_head h;
    uint64_t index = 0, size = 0;
    int ec = log_head_of(a, r, 0, &h);
    if (ec != 0) {
        return ec;
    }
    if (a->index_s == NULL || cli_parse_u64(a->index_s, &index) != 0) {
        return cli_usage(&a->c, "--index N is required (a leaf index, from 0)");
    }
    size = h.cp_size;
    if (a->size_s != NULL && cli_parse_u64(a->size_s, &size) != 0) {
        return cli_usage(&a->c, "--size: not a tree size");
    }
    if (size > h.size || index >= size) {
        return cli_fail(&a->c, ERR_INVAL,
                        "no inclusion proof of leaf %llu in a tree of %llu: the log holds %llu",
                        (unsigned long long)index, (unsigned long long)size,
                        (unsigned long long)h.size);
    }
    uint8_t proof[MERKLE_PROOF_HASHES_MAX][HASH_SIZE];
    size_t n = 0;
    err_code rc = log_prove_inclusion(r->st, &h, index, size, proof, &n);
    return log_print_proof(a, rc, proof, n);
}

static int
log_consistency(struct log_args *a, struct replica *r)
{
    struct log_head h;
    uint64_t from = 0, to = 0;
    int ec = log_head_of(a, r, 0, &h);
    if (ec != 0) {
        return ec;
    }
    if (a->from_s == NULL || cli_parse_u64(a->from_s, &from) != 0) {
        return cli_usage(&a->c, "--from N is required (the older tree size)");
    }
    to = h.cp_size;
    if (a->to_s != NULL && cli_parse_u64(a->to_s, &to) != 0) {
        return cli_usage(&a->c, "--to: not a tree size");
    }
    if (from == 0 || from > to || to > h.size) {
        return cli_fail(&a->c, ERR_INVAL,
                        "no consistency proof from %llu to %llu: sizes must satisfy "
                        "0 < from <= to <= %llu",
                        (unsigned long long)from, (unsigned long long)to,
                        (unsigned long long)h.size);
    }
    uint8_t proof[MERKLE_PROOF_HASHES_MAX][HASH_SIZE];
    size_t n = 0;
    err_code rc = log_prove_consistency(r->st, &h, from, to, proof, &n);
    return log_print_proof(a, rc, proof, n);
}

static int
log_heads(struct log_args *a, struct replica *r)
{
    struct heads_entry *e = NULL;
    size_t n = 0;
    err_code rc = exchange_heads(r, &e, &n);
    if (rc != ERR_OK) {
        return cli_fail(&a->c, rc, "cannot read the heads: %s", err_str(rc));
    }
    FILE *f = stdout;
    if (a->out != NULL && (f = fopen(a->out, "wb")) == NULL) {
        free(e);
        return cli_fail(&a->c, ERR_IO, "cannot create %s", a->out);
    }
    rc = heads_write(f, e, n);
    free(e);
    if (f != stdout && fclose(f) != 0 && rc == ERR_OK) {
        rc = ERR_IO;
    }
    return rc == ERR_OK ? CLI_OK : cli_fail(&a->c, rc, "cannot write the heads: %s", err_str(rc));
}

struct log_equiv_ctx {
    int json;
    int first;
};

/* One proof: key, the two sizes, prefix, found time; never the notes or any leaf. */
static err_code
log_equiv_visit(void *ctx, const struct witness_equivocation *e)
{
    struct log_equiv_ctx *x = ctx;
    char k[48];
    cli_key_b64(e->key, k);
    if (x->json) {
        printf("%s\n  {\"log\": \"%s\", \"size_a\": %llu, \"size_b\": %llu, \"prefix\": %llu, "
               "\"found_ms\": %lld}",
               x->first ? "" : ",", k, (unsigned long long)e->size_a, (unsigned long long)e->size_b,
               (unsigned long long)e->prefix, (long long)e->found_ms);
    } else {
        printf("%s %llu %llu %llu %lld\n", k, (unsigned long long)e->size_a,
               (unsigned long long)e->size_b, (unsigned long long)e->prefix,
               (long long)e->found_ms);
    }
    x->first = 0;
    return ERR_OK;
}

static int
log_equivocations(struct log_args *a, struct replica *r)
{
    struct log_equiv_ctx x = {.json = a->json, .first = 1};
    if (x.json) {
        printf("[");
    }
    err_code rc = witness_equivocations(r->st, log_equiv_visit, &x);
    if (x.json) {
        printf("%s]\n", x.first ? "" : "\n");
    }
    return rc == ERR_OK ? CLI_OK
                        : cli_fail(&a->c, rc, "cannot read the equivocations: %s", err_str(rc));
}

int
cmd_log(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(struct log_args *, struct replica *);
        const char *usage;
    } subs[] = {
        {"list", log_list, "log list --home DIR"},
        {"checkpoint", log_checkpoint, "log checkpoint --home DIR [--log KEY]"},
        {"leaf", log_leaf, "log leaf --home DIR --log KEY --index N"},
        {"prove", log_prove, "log prove --home DIR --log KEY --index N [--size M]"},
        {"consistency", log_consistency, "log consistency --home DIR --log KEY --from N [--to M]"},
        {"heads", log_heads, "log heads --home DIR [-o FILE]"},
        {"equivocations", log_equivocations, "log equivocations --home DIR [--json]"},
    };
    if (argc < 2 || cli_is_help(argv[1])) {
        FILE *f = argc < 2 ? stderr : stdout;
        fprintf(f, "usage:\n");
        for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
            fprintf(f, "  cdht %s\n", subs[i].usage);
        }
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        if (strcmp(argv[1], subs[i].name) != 0) {
            continue;
        }
        char cmd[32];
        snprintf(cmd, sizeof cmd, "log %s", subs[i].name);
        struct log_args a;
        memset(&a, 0, sizeof a);
        int ec = log_parse(&a, argc - 1, argv + 1, cmd, subs[i].usage);
        if (ec != 0) {
            return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
        }
        struct replica *r = NULL;
        if ((ec = cli_open(&a.c, 0, &r)) != 0) {
            return ec;
        }
        ec = subs[i].fn(&a, r);
        replica_close(r);
        return ec;
    }
    fprintf(stderr, "cdht log: unknown subcommand (cdht log --help lists them)\n");
    return CLI_USAGE;
}
