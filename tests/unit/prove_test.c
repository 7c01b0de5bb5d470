/*
 * Record proofs (proto/proof.h, node/prove.h): a proof assembled from a hub's replica of a
 * writer's person leaf verifies offline with the root's key alone, through a chain of depth 2
 * (root R -> hub H -> writer A), and each alteration (the leaf, a proof hash, the checkpoint
 * signature, a cosignature, a certificate, the pinned root) fails with its exact failure. The
 * decoder keeps one spelling per file and refuses each limit's overflow with ERR_MSGSIZE.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "deploy.h"
#include "exchange.h"
#include "log.h"
#include "proof.h"
#include "prove.h"
#include "replica.h"
#include "store.h"
#include "support.h"
#include "trust.h"
#include "witness.h"

static char *dir;

static void
suite_init(void)
{
    dir = deploy_suite_init();
}

static void
suite_fini(void)
{
    deploy_suite_fini(dir);
}

TestSuite(prove, .init = suite_init, .fini = suite_fini);

/* The deployment with writer A alone (R certifies H as hub of 44001; H certifies A as writer of
 * 4400101); A writes two people; H receives them and co-signs A's checkpoint as a witness. */
static void
world(struct deploy *w, const char *tag)
{
    char id[17];
    deploy_world(w, dir, tag, 1);
    cr_assert_eq(support_person_add(w->A, "An", 1990, "4400101", id), ERR_OK);
    cr_assert_eq(support_person_add(w->A, "Binh", 1991, "4400101", id), ERR_OK);
    deploy_sync(dir, w->A, w->H);
    struct witness_report rep;
    cr_assert_eq(witness_cosign(w->H, w->A->pk, &rep), ERR_OK);
    cr_assert_eq(rep.cosigned, 1);
}

/* The proof of A's leaf 0 as H's replica assembles it, through an encode/decode round trip. */
static struct proof *
prove_a(struct deploy *w, uint64_t index)
{
    struct proof *p = NULL, *q = NULL;
    char why[PROVE_WHY_SIZE];
    uint8_t *buf = NULL, *again = NULL;
    size_t len = 0, len2 = 0;
    err_code rc = prove_build(w->H->st, w->A->pk, index, 0, &p, why);
    cr_assert_eq(rc, ERR_OK, "%s: %s", err_str(rc), why);
    cr_assert_eq(proof_encode(p, &buf, &len), ERR_OK);
    cr_assert_eq(proof_decode(buf, len, &q), ERR_OK);
    cr_assert_eq(proof_encode(q, &again, &len2), ERR_OK);
    cr_assert_eq(len, len2);
    cr_assert_eq(memcmp(buf, again, len), 0, "one spelling per proof");
    free(buf);
    free(again);
    proof_free(p);
    return q;
}

static void
expect_fail(const struct proof *p, const uint8_t *root, err_code rc, enum proof_failure f,
            int section, const char *why)
{
    struct proof_verdict v;
    cr_assert_eq(proof_verify(p, root, &v), rc, "%s", v.why);
    cr_assert_eq(v.failure, f, "%s", v.why);
    cr_assert_eq(v.section, section, "%s", v.why);
    cr_assert(strstr(v.why, why) != NULL, "[%s] lacks [%s]", v.why, why);
}

/* The writer's person leaf verifies with the root's key: chain of depth 2, one cosignature. */
Test(prove, person_leaf_verifies)
{
    struct deploy w;
    world(&w, "ok");
    struct proof *p = prove_a(&w, 0);
    struct proof_verdict v;
    cr_assert_eq(proof_verify(p, w.R->pk, &v), ERR_OK, "%s", v.why);
    cr_assert_eq(v.failure, PROOF_FAIL_NONE);
    cr_assert_eq(p->chain_count, 2);
    cr_assert_eq(memcmp(p->chain[0].key, w.H->pk, KEY_PUBLIC_SIZE), 0, "H issued A's cert");
    cr_assert_eq(memcmp(p->chain[1].key, w.R->pk, KEY_PUBLIC_SIZE), 0, "R issued H's cert");
    cr_assert_eq(p->record.index, 0);
    cr_assert_eq(v.size, 2);
    cr_assert_eq(p->record.hash_count, 1);
    cr_assert_eq(v.cosigs, 1);
    cr_assert_eq(memcmp(v.witness[0], w.H->pk, KEY_PUBLIC_SIZE), 0);
    cr_assert_str_eq(v.role, "writer");
    proof_free(p);
    /* The root's own leaf needs no certificate. */
    char why[PROVE_WHY_SIZE];
    cr_assert_eq(prove_build(w.H->st, w.R->pk, 0, 0, &p, why), ERR_OK, "%s", why);
    cr_assert_eq(p->chain_count, 0);
    cr_assert_eq(proof_verify(p, w.R->pk, &v), ERR_OK, "%s", v.why);
    cr_assert_str_eq(v.role, "root");
    proof_free(p);
    deploy_world_free(&w);
}

/* Another deployment's root: the chain does not end at the pinned key. */
Test(prove, other_root_fails)
{
    struct deploy w;
    world(&w, "root");
    struct proof *p = prove_a(&w, 0);
    uint8_t other[KEY_PUBLIC_SIZE], sk[KEY_SECRET_SIZE];
    crypto_sign_keypair(other, sk);
    expect_fail(p, other, ERR_AUTH, PROOF_FAIL_ROOT, 1, "which is not the pinned root");
    /* The hub is not the root either, though it is in the chain. */
    expect_fail(p, w.H->pk, ERR_AUTH, PROOF_FAIL_ROOT, 1, "which is not the pinned root");
    proof_free(p);
    deploy_world_free(&w);
}

/* One flipped byte anywhere fails, with the check it breaks. */
Test(prove, alterations_fail)
{
    struct deploy w;
    world(&w, "flip");
    struct proof *p = prove_a(&w, 0);

    p->record.leaf[p->record.leaf_len / 2] ^= 0x01;
    expect_fail(p, w.R->pk, ERR_AUTH, PROOF_FAIL_INCLUSION, -1, "record, leaf 0 of log ");
    expect_fail(p, w.R->pk, ERR_AUTH, PROOF_FAIL_INCLUSION, -1,
                "the leaf is not included in the signed checkpoint of size 2");
    p->record.leaf[p->record.leaf_len / 2] ^= 0x01;

    p->record.hash[0][7] ^= 0x80;
    expect_fail(p, w.R->pk, ERR_AUTH, PROOF_FAIL_INCLUSION, -1, "RFC 6962 inclusion proof fails");
    p->record.hash[0][7] ^= 0x80;

    p->record.index = 1; /* the right leaf, claimed at another index */
    expect_fail(p, w.R->pk, ERR_AUTH, PROOF_FAIL_INCLUSION, -1, "leaf 1 of log");
    p->record.index = 0;

    /* The log's signature line comes first after the blank line; change one base64 character
     * in the middle of its signature (still valid base64, another signature). */
    uint8_t *sig = (uint8_t *)strstr((char *)p->record.note, "\n\n\xe2\x80\x94 ");
    cr_assert_not_null(sig);
    uint8_t *b64 = (uint8_t *)memchr(sig + 6, ' ', 100) + 40;
    uint8_t was = *b64;
    *b64 = was == 'A' ? 'B' : 'A';
    expect_fail(p, w.R->pk, ERR_AUTH, PROOF_FAIL_NOTE_SIGNATURE, -1,
                "the checkpoint note is not signed by the log's key");
    *b64 = was;

    /* The witness's cosignature line is the last line of the note. */
    uint8_t *last = p->record.note + p->record.note_len - 30;
    was = *last;
    *last = was == 'A' ? 'B' : 'A';
    expect_fail(p, w.R->pk, ERR_AUTH, PROOF_FAIL_COSIGNATURE, -1, "the cosignature by witness");
    *last = was;

    /* The signed size changed: the note no longer verifies. */
    char *size = strchr((char *)p->record.note, '\n') + 1;
    cr_assert_eq(*size, '2');
    *size = '3';
    expect_fail(p, w.R->pk, ERR_AUTH, PROOF_FAIL_NOTE_SIGNATURE, -1, "not signed by the log's key");
    *size = '2';

    /* A byte of a certificate: the hub's certificate of A, and the root's certificate of H. */
    p->chain[0].leaf[p->chain[0].leaf_len - 3] ^= 0x01;
    expect_fail(p, w.R->pk, ERR_AUTH, PROOF_FAIL_INCLUSION, 0, "certificate 1, leaf ");
    p->chain[0].leaf[p->chain[0].leaf_len - 3] ^= 0x01;
    p->chain[1].leaf[5] ^= 0x40;
    expect_fail(p, w.R->pk, ERR_AUTH, PROOF_FAIL_INCLUSION, 1, "certificate 2, leaf ");
    p->chain[1].leaf[5] ^= 0x40;

    /* A certificate section signed by another key than its log's. */
    p->chain[0].key[0] ^= 0x01;
    expect_fail(p, w.R->pk, ERR_AUTH, PROOF_FAIL_NOTE_SIGNATURE, 0, "not signed by the log's key");
    p->chain[0].key[0] ^= 0x01;

    struct proof_verdict v;
    cr_assert_eq(proof_verify(p, w.R->pk, &v), ERR_OK, "every alteration undone: %s", v.why);
    proof_free(p);
    deploy_world_free(&w);
}

/* Sections that are validly signed and included but prove the wrong thing: a leaf without a
 * certificate for the key below, and a hub certified only as writer above the signer. */
Test(prove, certificate_content_checked)
{
    struct deploy w;
    world(&w, "cert");
    uint64_t writer_cert = 0;
    cr_assert_eq(deploy_cert(w.R, w.H, "writer", "44001", &writer_cert), ERR_OK, "%s", w.R->denied);
    deploy_sync(dir, w.R, w.H);
    struct proof *p = prove_a(&w, 0), *q = NULL;
    char why[PROVE_WHY_SIZE];

    /* R's leaf 0 (a unit) in place of H's hub certificate. */
    cr_assert_eq(prove_build(w.H->st, w.R->pk, 0, 0, &q, why), ERR_OK, "%s", why);
    struct proof_section keep = p->chain[1];
    p->chain[1] = q->record;
    expect_fail(p, w.R->pk, ERR_AUTH, PROOF_FAIL_CERT_SUBJECT, 1, "holds no certificate for key");
    p->chain[1] = keep;
    proof_free(q);

    /* R's certificate of H as writer: H may not issue A's certificate under it. */
    cr_assert_eq(prove_build(w.H->st, w.R->pk, writer_cert, 0, &q, why), ERR_OK, "%s", why);
    p->chain[1] = q->record;
    expect_fail(p, w.R->pk, ERR_AUTH, PROOF_FAIL_CERT_ROLE, 1,
                "grants writer, not hub: it cannot issue certificates");
    p->chain[1] = keep;
    proof_free(q);

    struct proof_verdict v;
    cr_assert_eq(proof_verify(p, w.R->pk, &v), ERR_OK, "%s", v.why);
    proof_free(p);
    deploy_world_free(&w);
}

/* cdht prove refuses what it cannot prove: a held leaf (unless allowed), a signer without a
 * chain, a leaf that does not exist, a replica without a pinned root. */
Test(prove, refusals)
{
    struct deploy w;
    world(&w, "refuse");
    struct proof *p = NULL;
    char why[PROVE_WHY_SIZE], id[17];
    setenv("CDHT_TEST_UNCHECKED_WRITES", "1", 1);
    cr_assert_eq(support_person_add(w.A, "Cuong", 1992, "4400102", id), ERR_OK);
    unsetenv("CDHT_TEST_UNCHECKED_WRITES");
    deploy_sync(dir, w.A, w.H);
    cr_assert_eq(prove_build(w.H->st, w.A->pk, 2, 0, &p, why), ERR_DENIED);
    cr_assert_null(p);
    cr_assert(strstr(why, "is held in quarantine (outside-unit") != NULL, "%s", why);
    cr_assert_eq(prove_build(w.H->st, w.A->pk, 2, 1, &p, why), ERR_OK, "%s", why);
    struct proof_verdict v;
    cr_assert_eq(proof_verify(p, w.R->pk, &v), ERR_OK, "%s", v.why);
    proof_free(p);
    p = NULL;

    cr_assert_eq(prove_build(w.H->st, w.A->pk, 3, 0, &p, why), ERR_NOTFOUND);
    cr_assert(strstr(why, "leaf 3 does not exist") != NULL, "%s", why);

    /* X has no certificate: its leaves are held (unknown signer), and with --allow-held there
     * is still no chain. */
    struct replica *X = deploy_replica(dir, "refuse-X", "4400101", 0, w.R->pk);
    setenv("CDHT_TEST_UNCHECKED_WRITES", "1", 1);
    cr_assert_eq(support_person_add(X, "Dung", 1993, "4400101", id), ERR_OK);
    unsetenv("CDHT_TEST_UNCHECKED_WRITES");
    deploy_sync(dir, X, w.H);
    cr_assert_eq(prove_build(w.H->st, X->pk, 0, 0, &p, why), ERR_DENIED);
    cr_assert(strstr(why, "unknown-signer") != NULL, "%s", why);
    cr_assert_eq(prove_build(w.H->st, X->pk, 0, 1, &p, why), ERR_DENIED);
    cr_assert(strstr(why, "has no valid chain of certificates to the pinned root") != NULL, "%s",
              why);
    replica_close(X);

    /* Open mode: no root, no chain. */
    struct replica *O = deploy_replica(dir, "refuse-O", "44", 0, NULL);
    cr_assert_eq(prove_build(O->st, O->pk, 0, 0, &p, why), ERR_DENIED);
    cr_assert(strstr(why, "pins no root") != NULL, "%s", why);
    replica_close(O);
    deploy_world_free(&w);
}

/* The decoder: one spelling, every limit at limit + 1, truncation and trailing bytes. */
Test(prove, decoder_limits)
{
    struct deploy w;
    world(&w, "dec");
    struct proof *p = prove_a(&w, 0), *q = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    cr_assert_eq(proof_encode(p, &buf, &len), ERR_OK);
    char *text = malloc(len + 64);
    memcpy(text, buf, len);
    text[len] = '\0';

    for (size_t cut = 0; cut < len; cut += 7) {
        err_code rc = proof_decode(buf, cut, &q);
        cr_assert(rc == ERR_CORRUPT, "cut at %zu: %s", cut, err_str(rc));
        cr_assert_null(q);
    }
    text[len] = 'x';
    cr_assert_eq(proof_decode((uint8_t *)text, len + 1, &q), ERR_CORRUPT, "a trailing byte");
    memcpy(text, "cdht-proof/2", 12);
    cr_assert_eq(proof_decode((uint8_t *)text, len, &q), ERR_CORRUPT, "another version");
    memcpy(text, buf, len);

    char *chain = strstr(text, "chain 2\n");
    cr_assert_not_null(chain);
    chain[6] = '9'; /* PROOF_CHAIN_MAX + 1 */
    cr_assert_eq(proof_decode((uint8_t *)text, len, &q), ERR_MSGSIZE);
    chain[6] = '3';
    cr_assert_eq(proof_decode((uint8_t *)text, len, &q), ERR_CORRUPT, "a section missing");
    chain[6] = '2';

    char *proof = strstr(text, "proof 1\n");
    cr_assert_not_null(proof);
    cr_assert_eq(proof_decode((uint8_t *)text, len, &q), ERR_OK);
    proof_free(q);
    q = NULL;
    /* "proof 65": one character more, so splice it into a copy. */
    size_t at = (size_t)(proof - text) + 6;
    char *big = malloc(len + 2);
    memcpy(big, text, at);
    memcpy(big + at, "65", 2);
    memcpy(big + at + 2, text + at + 1, len - at - 1);
    cr_assert_eq(proof_decode((uint8_t *)big, len + 1, &q), ERR_MSGSIZE);
    memcpy(big + at, "01", 2);
    cr_assert_eq(proof_decode((uint8_t *)big, len + 1, &q), ERR_CORRUPT, "a leading zero");
    free(big);

    char *leaf = strstr(text, "\nleaf ") + 6;
    char was = *leaf;
    *leaf = '*';
    cr_assert_eq(proof_decode((uint8_t *)text, len, &q), ERR_CORRUPT, "not base64");
    *leaf = '=';
    cr_assert_eq(proof_decode((uint8_t *)text, len, &q), ERR_CORRUPT, "padding first");
    *leaf = was;

    char *cp = strstr(text, "checkpoint ");
    cr_assert_not_null(cp);
    size_t note_len = strtoul(cp + 11, NULL, 10);
    char *nl = strchr(cp, '\n');
    char head[32];
    snprintf(head, sizeof head, "checkpoint %zu", note_len + 1);
    big = malloc(len + 8);
    size_t pre = (size_t)(cp - text);
    memcpy(big, text, pre);
    memcpy(big + pre, head, strlen(head));
    memcpy(big + pre + strlen(head), nl, len - (size_t)(nl - text));
    size_t big_len = pre + strlen(head) + len - (size_t)(nl - text);
    cr_assert_eq(proof_decode((uint8_t *)big, big_len, &q), ERR_CORRUPT, "note length off by one");
    snprintf(head, sizeof head, "checkpoint %u", NOTE_SIZE_MAX + 1);
    memcpy(big + pre, head, strlen(head));
    memcpy(big + pre + strlen(head), nl, len - (size_t)(nl - text));
    big_len = pre + strlen(head) + len - (size_t)(nl - text);
    cr_assert_eq(proof_decode((uint8_t *)big, big_len, &q), ERR_MSGSIZE);
    free(big);

    cr_assert_eq(proof_decode(buf, PROOF_FILE_SIZE_MAX + 1u, &q), ERR_MSGSIZE,
                 "the size is checked before any byte is read");
    cr_assert_null(q);
    free(text);
    free(buf);
    proof_free(p);
    deploy_world_free(&w);
}
