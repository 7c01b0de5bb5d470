/*
 * cdht prove | verify: offline proofs of one record (DESIGN.md section 3). `prove` writes, from a
 * replica, the file proto/proof.h describes: the leaf, its inclusion proof to the signed (and
 * co-signed) checkpoint, and the signer's certificate chain to the root. `verify` checks such a
 * file on any machine with only the root's verifier key: no replica, no network.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "note.h"
#include "proof.h"
#include "prove.h"
#include "replica.h"

/* A --trust-root file holds the one line `cdht whoami` prints, and a newline (CRLF, spaces). */
#define PROVE_VKEY_FILE_SIZE_MAX (NOTE_VERIFIER_KEY_SIZE_MAX + 16u)

int
cmd_prove(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "prove", "prove --home DIR --log KEY --index N -o FILE [--allow-held]");
    const char *key_s = NULL, *index_s = NULL, *out_s = NULL;
    int allow_held = 0;
    const struct cli_opt opts[] = {
        {"log", 0, &key_s, NULL},
        {"index", 0, &index_s, NULL},
        {"output", 'o', &out_s, NULL},
        {"allow-held", 0, NULL, &allow_held},
    };
    int ec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 0, NULL);
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    uint8_t key[KEY_PUBLIC_SIZE];
    uint64_t index = 0;
    if (key_s == NULL || cli_parse_key(key_s, key) != 0) {
        return cli_usage(&c, "--log KEY is required: a base64 Ed25519 public key (44 characters)");
    }
    if (index_s == NULL || cli_parse_u64(index_s, &index) != 0) {
        return cli_usage(&c, "--index N is required (a leaf index, from 0)");
    }
    if (out_s == NULL || *out_s == '\0') {
        return cli_usage(&c, "-o FILE is required: where to write the proof");
    }
    struct replica *r = NULL;
    if ((ec = cli_open(&c, 0, &r)) != 0) {
        return ec;
    }
    struct proof *p = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    char why[PROVE_WHY_SIZE];
    err_code rc = prove_build(r->st, key, index, allow_held, &p, why);
    replica_close(r);
    if (rc == ERR_DENIED || rc == ERR_NOTFOUND) {
        /* A refusal, not a failure of the system: nothing was written. */
        cli_fail(&c, rc, "refused: %s; nothing was written", why);
        return CLI_USAGE;
    }
    if (rc != ERR_OK) {
        return cli_fail(&c, rc, "cannot assemble the proof: %s", err_str(rc));
    }
    size_t links = p->chain_count;
    uint64_t size = 0;
    if ((rc = proof_encode(p, &buf, &len)) != ERR_OK) {
        proof_free(p);
        return cli_fail(&c, rc, "cannot encode the proof: %s", err_str(rc));
    }
    /* The proof checks itself before it is handed out: a file cdht writes verifies. */
    uint8_t root[KEY_PUBLIC_SIZE];
    struct proof_verdict v;
    memcpy(root, links > 0 ? p->chain[links - 1].key : p->record.key, KEY_PUBLIC_SIZE);
    rc = proof_verify(p, root, &v);
    size = v.size;
    proof_free(p);
    if (rc != ERR_OK) {
        free(buf);
        return cli_fail(&c, rc, "the assembled proof does not verify (%s): the replica is damaged",
                        v.why);
    }
    FILE *f = fopen(out_s, "wb");
    if (f == NULL) {
        free(buf);
        return cli_fail(&c, ERR_IO, "cannot create %s", out_s);
    }
    int bad = fwrite(buf, 1, len, f) != len;
    bad |= fclose(f) != 0;
    free(buf);
    if (bad) {
        remove(out_s);
        return cli_fail(&c, ERR_IO, "cannot write %s", out_s);
    }
    fprintf(stderr,
            "wrote the proof of leaf %llu: signed checkpoint size %llu, chain of %zu "
            "certificates, %zu cosignatures (%zu bytes)\n",
            (unsigned long long)index, (unsigned long long)size, links, v.cosigs, len);
    return CLI_OK;
}

/* --trust-root: the verifier key itself, or a file holding it (`cdht whoami | tail -1`). */
static int
verify_root(const struct cli *c, const char *arg, uint8_t root[KEY_PUBLIC_SIZE])
{
    char name[NOTE_ORIGIN_SIZE_MAX + 1];
    if (note_verifier_key_parse(arg, name, root) == ERR_OK) {
        return 0;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    err_code rc = ERR_OK;
    if (cli_read_file(arg, PROVE_VKEY_FILE_SIZE_MAX, &buf, &len, &rc) != 0) {
        return cli_usage(c, "--trust-root: not a verifier key (the line `cdht whoami` prints on "
                            "the root device: cdht/<hex>+<id>+<base64>), nor a file holding one");
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ')) {
        len--;
    }
    char text[PROVE_VKEY_FILE_SIZE_MAX + 1];
    memcpy(text, buf, len);
    text[len] = '\0';
    free(buf);
    if (strlen(text) != len || note_verifier_key_parse(text, name, root) != ERR_OK) {
        return cli_usage(c, "--trust-root: the file does not hold a verifier key (the line "
                            "`cdht whoami` prints on the root device)");
    }
    return 0;
}

int
cmd_verify(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "verify", "verify FILE --trust-root VKEY [--show-leaf]");
    const char *vkey = NULL;
    int show_leaf = 0;
    const struct cli_opt opts[] = {
        {"trust-root", 0, &vkey, NULL},
        {"show-leaf", 0, NULL, &show_leaf},
    };
    int ec = cli_parse(&c, argc, argv, opts, sizeof opts / sizeof opts[0], 1,
                       "give one FILE: a proof written by `cdht prove`");
    if (ec != 0) {
        return ec == CLI_HELP_SHOWN ? CLI_OK : ec;
    }
    const char *path = argv[optind];
    uint8_t root[KEY_PUBLIC_SIZE];
    if (vkey == NULL) {
        return cli_usage(&c, "--trust-root VKEY is required: the root's verifier key, pinned "
                             "out of band (never taken from the proof)");
    }
    if ((ec = verify_root(&c, vkey, root)) != 0) {
        return ec;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    err_code rc = ERR_OK;
    if (cli_read_file(path, PROOF_FILE_SIZE_MAX, &buf, &len, &rc) != 0) {
        cli_fail(&c, rc, "cannot read %s: %s", path,
                 rc == ERR_MSGSIZE ? "larger than any proof" : err_str(rc));
        return CLI_USAGE;
    }
    struct proof *p = NULL;
    rc = proof_decode(buf, len, &p);
    free(buf);
    if (rc != ERR_OK) {
        cli_fail(&c, rc, "%s is not a readable cdht-proof/1 file: %s", path, err_str(rc));
        return CLI_USAGE;
    }
    struct proof_verdict v;
    rc = proof_verify(p, root, &v);
    if (rc != ERR_OK) {
        proof_free(p);
        fprintf(stderr, "cdht verify: the proof does not verify: %s\n", v.why);
        return CLI_FINDINGS;
    }
    char k[48];
    cli_key_b64(p->record.key, k);
    printf("verified: leaf %llu of log %s, signed checkpoint size %llu, chain of %zu "
           "certificates to the root; %zu cosignatures\n",
           (unsigned long long)p->record.index, k, (unsigned long long)v.size, p->chain_count,
           v.cosigs);
    printf("signer's grant: %s\n", v.role);
    for (size_t i = 0; i < v.cosigs; i++) {
        cli_key_b64(v.witness[i], k);
        printf("cosigned by witness %s at %llu\n", k, (unsigned long long)v.witness_time_s[i]);
    }
    printf("not checked offline: that the certificates' units cover the record, their expiry, "
           "and revocations (these need the replica's units tree and later leaves: run "
           "`cdht audit` on a replica)\n");
    if (show_leaf) {
        size_t n = sodium_base64_ENCODED_LEN(p->record.leaf_len, sodium_base64_VARIANT_ORIGINAL);
        char *b64 = malloc(n);
        if (b64 == NULL) {
            proof_free(p);
            return cli_fail(&c, ERR_NOMEM, "out of memory");
        }
        sodium_bin2base64(b64, n, p->record.leaf, p->record.leaf_len,
                          sodium_base64_VARIANT_ORIGINAL);
        printf("leaf %s\n", b64);
        free(b64);
    }
    proof_free(p);
    return CLI_OK;
}
