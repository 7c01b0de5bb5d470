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

#include "certstr.h"
#include "cli.h"
#include "commands.h"
#include "log.h"
#include "note.h"
#include "proof.h"
#include "prove.h"
#include "replica.h"
#include "store.h"
#include "trust.h"

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

/* ---- certificate strings (proto/certstr.h) ---- */

/* Room for a finding about one chain link: two base64 keys, an index, a unit. */
#define VERIFY_CHAIN_WHY_SIZE 512u

/* The grant a chain reference names: subject's grant by issuer from certificate leaf index. */
struct verify_ref_ctx {
    const struct certstr_ref *ref;
    const char *unit; /* the approval's unit; link 0 must hold an approver grant covering it */
    struct store *st;
    int named;    /* a grant matches the reference */
    int approver; /* an approver grant of the subject covers unit */
    err_code rc;
};

static err_code
verify_ref_cb(void *ctx, const struct trust_grant *g)
{
    struct verify_ref_ctx *x = ctx;
    if (memcmp(g->issuer, x->ref->issuer, KEY_PUBLIC_SIZE) == 0 &&
        g->issuer_index == x->ref->index) {
        x->named = 1;
    }
    if (x->unit != NULL && g->role == TRUST_APPROVER && !x->approver) {
        int yes = 0;
        err_code rc = trust_covers(x->st, g->unit, x->unit, &yes);
        if (rc != ERR_OK) {
            return rc;
        }
        x->approver = yes;
    }
    return ERR_OK;
}

static err_code
verify_dev_cb(void *ctx, const struct trust_device *d)
{
    *(struct trust_device *)ctx = *d;
    ((struct trust_device *)ctx)->reason = NULL; /* borrowed for the call only */
    return ERR_OK;
}

/*
 * The references of cs against a replica's trust state as last evaluated (node/trust.h): each
 * link is a valid grant of its subject by its issuer from that certificate leaf, whose hash
 * begins with the referenced bytes; the chain ends at the replica's pinned root; the approver
 * holds an approver grant covering the approval's unit, and its key was not revoked (or caught
 * equivocating) before the approval's leaf. *ok 0 with why when a check fails; *checked 0 when
 * the replica cannot tell (an issuer's log it does not hold).
 */
static err_code
verify_chain_home(struct store *st, const struct certstr *cs, const char *unit, int *ok,
                  int *checked, char why[VERIFY_CHAIN_WHY_SIZE])
{
    uint8_t root[KEY_PUBLIC_SIZE], lh[HASH_SIZE];
    int pinned = 0;
    char k[48], ik[48];
    *ok = 0;
    *checked = 1;
    err_code rc = trust_root(st, root, &pinned);
    if (rc != ERR_OK) {
        return rc;
    }
    if (!pinned) {
        *checked = 0;
        snprintf(why, VERIFY_CHAIN_WHY_SIZE, "the replica pins no root (open mode)");
        return ERR_OK;
    }
    struct trust_device dev;
    cli_key_b64(cs->key, k);
    rc = trust_device_get(st, cs->key, verify_dev_cb, &dev);
    if (rc == ERR_NOTFOUND) {
        snprintf(why, VERIFY_CHAIN_WHY_SIZE,
                 "the approver %s has no valid chain of certificates on this replica", k);
        return ERR_OK;
    }
    if (rc != ERR_OK) {
        return rc;
    }
    if (dev.limited && (dev.last_index < 0 || (uint64_t)dev.last_index < cs->index)) {
        snprintf(why, VERIFY_CHAIN_WHY_SIZE,
                 "the approver %s was %s before leaf %llu: the approval does not count", k,
                 dev.limited == 1 ? "revoked" : "caught equivocating",
                 (unsigned long long)cs->index);
        return ERR_OK;
    }
    const uint8_t *subject = cs->key;
    /* chain_count <= PROOF_CHAIN_MAX (certstr_decode). */
    for (size_t i = 0; i < cs->chain_count; i++) {
        const struct certstr_ref *ref = &cs->chain[i];
        struct verify_ref_ctx x = {.ref = ref, .unit = i == 0 ? unit : NULL, .st = st};
        struct log_head h;
        cli_key_b64(subject, k);
        cli_key_b64(ref->issuer, ik);
        rc = trust_grants(st, subject, verify_ref_cb, &x);
        if (rc != ERR_OK && rc != ERR_NOTFOUND) {
            return rc;
        }
        if (!x.named) {
            snprintf(why, VERIFY_CHAIN_WHY_SIZE,
                     "link %zu: %s holds no valid grant from certificate leaf %llu of %s", i + 1, k,
                     (unsigned long long)ref->index, ik);
            return ERR_OK;
        }
        if (i == 0 && !x.approver) {
            snprintf(why, VERIFY_CHAIN_WHY_SIZE,
                     "the approver %s holds no approver grant covering unit %s", k, unit);
            return ERR_OK;
        }
        if ((rc = log_get(st, ref->issuer, &h)) == ERR_NOTFOUND || ref->index >= h.size) {
            *checked = 0;
            snprintf(why, VERIFY_CHAIN_WHY_SIZE,
                     "link %zu: this replica does not hold certificate leaf %llu of %s", i + 1,
                     (unsigned long long)ref->index, ik);
            return ERR_OK;
        }
        if (rc != ERR_OK || (rc = log_leaf_hash(st, h.id, ref->index, lh)) != ERR_OK) {
            return rc;
        }
        if (sodium_memcmp(lh, ref->leaf_hash, CERTSTR_REF_HASH_SIZE) != 0) {
            snprintf(why, VERIFY_CHAIN_WHY_SIZE,
                     "link %zu: certificate leaf %llu of %s is not the one referenced (its "
                     "hash differs)",
                     i + 1, (unsigned long long)ref->index, ik);
            return ERR_OK;
        }
        subject = ref->issuer;
    }
    if (sodium_memcmp(subject, root, KEY_PUBLIC_SIZE) != 0) {
        cli_key_b64(subject, k);
        snprintf(why, VERIFY_CHAIN_WHY_SIZE,
                 "the chain ends at %s, which is not this replica's pinned root", k);
        return ERR_OK;
    }
    *ok = 1;
    return ERR_OK;
}

/* `cdht verify cdht-cert1:...`: 0 verified and chain checked; 1 verified offline, chain not
 * checked; 2 unreadable, or does not verify, or the chain does not hold on --home. */
static int
verify_certstr(const struct cli *c, const char *text, const uint8_t root[KEY_PUBLIC_SIZE],
               int show_leaf)
{
    struct certstr cs;
    struct certstr_verdict v;
    const char *why = NULL;
    char k[48];
    err_code rc = certstr_decode(text, strlen(text), &cs, &why);
    if (rc != ERR_OK) {
        cli_fail(c, rc, "the certificate string is not readable: %s", why);
        return CLI_USAGE;
    }
    if ((rc = certstr_verify(&cs, root, &v)) != ERR_OK) {
        cli_fail(c, rc, "refusing: the certificate string does not verify: %s", v.why);
        return CLI_USAGE;
    }
    int ok = 0, checked = 0;
    char cwhy[VERIFY_CHAIN_WHY_SIZE] = "";
    if (c->home != NULL && c->home[0] != '\0' && cs.chain_count > 0) {
        struct replica *r = NULL;
        int ec = cli_open(c, 0, &r);
        if (ec != 0) {
            return ec;
        }
        rc = verify_chain_home(r->st, &cs, v.approval.unit, &ok, &checked, cwhy);
        replica_close(r);
        if (rc != ERR_OK) {
            return cli_fail(c, rc, "cannot read the trust state of %s: %s", c->home, err_str(rc));
        }
        if (checked && !ok) {
            cli_fail(c, ERR_AUTH, "refusing: the certificate's chain does not hold on %s: %s",
                     c->home, cwhy);
            return CLI_USAGE;
        }
    }
    const struct certstr_approval *a = &v.approval;
    cli_key_b64(cs.key, k);
    printf("verified: approval in leaf %llu of log %s, signed checkpoint size %llu; %d "
           "cosignatures\n",
           (unsigned long long)cs.index, k, (unsigned long long)v.size, cs.has_cosig);
    printf("approval: person %s, year %lld, decision %s of %s, signed by %s\n", a->person,
           (long long)a->year, a->number, a->date, a->signer);
    if (cs.has_cosig) {
        cli_key_b64(cs.witness, k);
        printf("cosigned by witness %s at %llu\n", k, (unsigned long long)cs.witness_time_s);
    }
    if (show_leaf) {
        char b64[sodium_base64_ENCODED_LEN(CERTSTR_BODY_SIZE_MAX, sodium_base64_VARIANT_ORIGINAL)];
        sodium_bin2base64(b64, sizeof b64, cs.leaf, cs.leaf_len, sodium_base64_VARIANT_ORIGINAL);
        printf("leaf %s\n", b64);
    }
    if (cs.chain_count == 0) {
        printf("chain: none, the approval is in the pinned root's own log\n");
        return CLI_OK;
    }
    if (ok) {
        printf("chain: %zu links checked against the trust state of %s\n", cs.chain_count, c->home);
        return CLI_OK;
    }
    printf("chain: %zu links referenced, not checked offline%s%s%s\n", cs.chain_count,
           cwhy[0] != '\0' ? " (" : "", cwhy, cwhy[0] != '\0' ? ")" : "");
    return CLI_FINDINGS;
}

int
cmd_verify(int argc, char **argv)
{
    struct cli c;
    cli_init(&c, "verify",
             "verify (FILE | cdht-cert1:...) --trust-root VKEY [--home DIR] [--show-leaf]");
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
    if (strncmp(path, CERTSTR_PREFIX, CERTSTR_PREFIX_LEN) == 0) {
        return verify_certstr(&c, path, root, show_leaf);
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
