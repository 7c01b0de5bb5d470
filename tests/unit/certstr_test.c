/*
 * Certificate strings (proto/certstr.h): an approval leaf written by an approver P (certified by
 * hub H, itself certified by root R), co-signed by H, becomes a string through node/prove.c's
 * proof; the string round-trips byte for byte and verifies with R's key alone, and every field
 * altered is refused: any one character by the check bytes, any signed field (re-encoded with a
 * fresh check) by the signature, the inclusion or the cosignature. The limits are tested at the
 * limit, above it, empty and truncated, and a log of 10,000 leaves gives a string that fits.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certstr.h"
#include "deploy.h"
#include "leaf.h"
#include "merkle.h"
#include "note.h"
#include "proof.h"
#include "prove.h"
#include "replica.h"
#include "support.h"
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

TestSuite(certstr, .init = suite_init, .fini = suite_fini);

/* One approval row, written whole as flow_approve writes it; the leaf's index in *index. */
static err_code
approve(struct replica *r, const char *person, int year, const char *outcome, const char *number,
        uint64_t *index)
{
    char pk[64];
    snprintf(pk, sizeof pk, "%d:%s", year, person);
    struct replica_cell cells[] = {
        {.col = "unit", .type = SCHEMA_TEXT, .s = "4400101"},
        {.col = "person", .type = SCHEMA_TEXT, .s = person},
        {.col = "year", .type = SCHEMA_INT, .i = year},
        {.col = "round", .type = SCHEMA_INT, .i = 1},
        {.col = "outcome", .type = SCHEMA_TEXT, .s = outcome},
        {.col = "total", .type = SCHEMA_INT, .i = 82},
        {.col = "number", .type = SCHEMA_TEXT, .s = number},
        {.col = "date", .type = SCHEMA_TEXT, .s = "2026-11-20"},
        {.col = "signer", .type = SCHEMA_TEXT, .s = "Lê Văn Tâm"},
        {.col = "note", .type = SCHEMA_TEXT, .is_null = 1},
    };
    struct replica_txn *t = NULL;
    err_code rc = replica_txn_new(r, &t);
    if (rc != ERR_OK) {
        return rc;
    }
    if ((rc = replica_txn_put(t, "approval", pk, 1, cells, sizeof cells / sizeof cells[0], 0)) !=
        ERR_OK) {
        replica_txn_free(t);
        return rc;
    }
    return replica_txn_commit(r, t, index);
}

/* The world and an approver P of village 4400101 certified by H, knowing its certificate. */
static struct replica *
world_with_approver(struct deploy *w, const char *tag)
{
    char name[64];
    deploy_world(w, dir, tag, 1);
    snprintf(name, sizeof name, "%s-P", tag);
    struct replica *P = deploy_replica(dir, name, "4400101", 0, w->R->pk);
    cr_assert_eq(deploy_cert(w->H, P, "approver", "4400101", NULL), ERR_OK);
    deploy_sync(dir, w->H, P);
    return P;
}

/* The string of leaf index of P's log as H assembles it, after H co-signed P's checkpoint. */
static void
string_of(struct deploy *w, struct replica *P, uint64_t index, struct certstr *cs,
          char text[CERT_STRING_SIZE_MAX + 1], size_t *len)
{
    struct proof *p = NULL;
    struct witness_report rep;
    char why[PROVE_WHY_SIZE];
    const char *w2 = NULL;
    deploy_sync(dir, P, w->H);
    cr_assert_eq(witness_cosign(w->H, P->pk, &rep), ERR_OK);
    err_code rc = prove_build(w->H->st, P->pk, index, 0, &p, why);
    cr_assert_eq(rc, ERR_OK, "%s: %s", err_str(rc), why);
    cr_assert_eq(certstr_from_proof(p, cs, &w2), ERR_OK, "%s", w2);
    proof_free(p);
    cr_assert_eq(certstr_encode(cs, text, len, &w2), ERR_OK, "%s", w2);
}

/* Decodes text, asserting success, and re-encodes it: the same characters. */
static void
round_trip(const char *text, size_t len, struct certstr *out)
{
    char again[CERT_STRING_SIZE_MAX + 1];
    size_t n = 0;
    const char *why = NULL;
    cr_assert_eq(certstr_decode(text, len, out, &why), ERR_OK, "%s", why);
    cr_assert_eq(certstr_encode(out, again, &n, &why), ERR_OK, "%s", why);
    cr_assert_eq(n, len);
    cr_assert_eq(memcmp(again, text, len), 0, "one spelling per string");
}

/* The approval verifies with the root's key: chain of 2 references (P's certificate by H, H's
 * by R), one cosignature by H; the verdict names the decision. */
Test(certstr, approval_round_trip_verifies)
{
    struct deploy w;
    struct replica *P = world_with_approver(&w, "ok");
    uint64_t ix = 0;
    cr_assert_eq(approve(P, "p0000000000000001", 2026, "approved", "12/QĐ-KH", &ix), ERR_OK);
    struct certstr cs, back;
    char text[CERT_STRING_SIZE_MAX + 1];
    size_t len = 0;
    string_of(&w, P, ix, &cs, text, &len);
    cr_assert_eq(strncmp(text, CERTSTR_PREFIX, CERTSTR_PREFIX_LEN), 0);
    cr_assert_eq(strlen(text), len);
    round_trip(text, len, &back);
    cr_assert_eq(memcmp(back.key, P->pk, KEY_PUBLIC_SIZE), 0);
    cr_assert_eq(back.index, ix);
    cr_assert_eq(back.has_cosig, 1);
    cr_assert_eq(memcmp(back.witness, w.H->pk, KEY_PUBLIC_SIZE), 0);
    cr_assert_eq(back.chain_count, 2);
    cr_assert_eq(memcmp(back.chain[0].issuer, w.H->pk, KEY_PUBLIC_SIZE), 0);
    cr_assert_eq(memcmp(back.chain[1].issuer, w.R->pk, KEY_PUBLIC_SIZE), 0);
    struct certstr_verdict v;
    cr_assert_eq(certstr_verify(&back, w.R->pk, &v), ERR_OK, "%s", v.why);
    cr_assert_str_eq(v.approval.person, "p0000000000000001");
    cr_assert_eq(v.approval.year, 2026);
    cr_assert_str_eq(v.approval.outcome, "approved");
    cr_assert_str_eq(v.approval.number, "12/QĐ-KH");
    cr_assert_str_eq(v.approval.date, "2026-11-20");
    cr_assert_str_eq(v.approval.signer, "Lê Văn Tâm");
    cr_assert_str_eq(v.approval.unit, "4400101");
    cr_assert_eq(v.size, back.size);
    /* Another root: the references do not end at it. */
    cr_assert_eq(certstr_verify(&back, w.H->pk, &v), ERR_AUTH);
    cr_assert(strstr(v.why, "which is not the pinned root") != NULL, "%s", v.why);
    replica_close(P);
    deploy_world_free(&w);
}

/* Every character of the string, changed to another base64url character, is refused by the
 * decoder (the check bytes, or the one spelling of the last character); so is any cut. */
Test(certstr, every_character_changed_refused)
{
    struct deploy w;
    struct replica *P = world_with_approver(&w, "chr");
    uint64_t ix = 0;
    cr_assert_eq(approve(P, "p0000000000000002", 2026, "approved", "13/QĐ-KH", &ix), ERR_OK);
    struct certstr cs, back;
    char text[CERT_STRING_SIZE_MAX + 1];
    size_t len = 0;
    const char *why = NULL;
    string_of(&w, P, ix, &cs, text, &len);
    for (size_t i = 0; i < len; i++) {
        char saved = text[i];
        text[i] = saved == 'A' ? 'B' : 'A';
        err_code rc = certstr_decode(text, len, &back, &why);
        cr_assert(rc == ERR_CORRUPT, "character %zu changed: %s", i, err_str(rc));
        cr_assert(why != NULL && why[0] != '\0');
        text[i] = saved;
    }
    for (size_t n = 0; n < len; n++) {
        cr_assert_eq(certstr_decode(text, n, &back, &why), ERR_CORRUPT, "cut at %zu", n);
    }
    cr_assert_eq(certstr_decode(text, len, &back, &why), ERR_OK, "%s", why);
    replica_close(P);
    deploy_world_free(&w);
}

/* A forged string (every field altered, the check bytes recomputed) is refused by the
 * verifier: the signature, the inclusion, the cosignature or the root. The references below the
 * root are not covered by any signature: only `cdht verify --home` checks them (scenario). */
Test(certstr, every_signed_field_tampered_refused)
{
    struct deploy w;
    struct replica *P = world_with_approver(&w, "tam");
    uint64_t ix = 0;
    /* A few leaves first, so that the path has hashes on both sides. */
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(approve(P, "p000000000000000a", 2020 + i, "approved", "1/QĐ", NULL), ERR_OK);
    }
    cr_assert_eq(approve(P, "p0000000000000003", 2026, "approved", "14/QĐ-KH", &ix), ERR_OK);
    cr_assert_eq(approve(P, "p000000000000000b", 2026, "approved", "15/QĐ-KH", NULL), ERR_OK);
    struct certstr cs;
    char text[CERT_STRING_SIZE_MAX + 1];
    size_t len = 0;
    string_of(&w, P, ix, &cs, text, &len);
    cr_assert_gt(cs.hash_count, 1);
    struct certstr_verdict v;
    cr_assert_eq(certstr_verify(&cs, w.R->pk, &v), ERR_OK, "%s", v.why);

    /* Each alteration is re-encoded (fresh check bytes) and decoded again before verifying. */
    for (int field = 0; field < 12; field++) {
        struct certstr t = cs, back;
        char t_text[CERT_STRING_SIZE_MAX + 1];
        size_t t_len = 0;
        const char *why = NULL;
        err_code want = ERR_AUTH;
        switch (field) {
        case 0: t.key[3] ^= 1; break;
        case 1: t.index = cs.index ^ 1; break; /* the sibling: path length unchanged */
        case 2:
            t.size = cs.size + 1;
            t.hash_count = certstr_path_len(t.index, t.size);
            break;
        case 3: t.hash[0][0] ^= 1; break;
        case 4: t.hash[t.hash_count - 1][31] ^= 0x80; break;
        case 5: t.sig[10] ^= 1; break;
        case 6: t.leaf[t.leaf_len / 2] ^= 1; break;
        case 7: t.leaf_len--; break;
        case 8: t.witness[0] ^= 1; break;
        case 9: t.witness_time_s++; break;
        case 10: t.witness_sig[63] ^= 1; break;
        case 11: t.chain[t.chain_count - 1].issuer[5] ^= 1; break;
        }
        if (certstr_path_len(t.index, t.size) != t.hash_count) {
            cr_assert_eq(certstr_encode(&t, t_text, &t_len, &why), ERR_INVAL, "field %d", field);
            continue;
        }
        cr_assert_eq(certstr_encode(&t, t_text, &t_len, &why), ERR_OK, "field %d: %s", field, why);
        cr_assert_eq(certstr_decode(t_text, t_len, &back, &why), ERR_OK, "field %d: %s", field,
                     why);
        err_code rc = certstr_verify(&back, w.R->pk, &v);
        cr_assert_eq(rc, want, "field %d: %s (%s)", field, err_str(rc), v.why);
        cr_assert(v.why[0] != '\0');
    }
    /* What the offline verifier cannot see: the lower references' index and hash. */
    struct certstr t = cs;
    t.chain[0].index++;
    t.chain[0].leaf_hash[0] ^= 1;
    cr_assert_eq(certstr_verify(&t, w.R->pk, &v), ERR_OK, "%s", v.why);
    replica_close(P);
    deploy_world_free(&w);
}

/* A rejection is proven like an approval, but it recognises no one. */
Test(certstr, rejection_is_not_a_recognition)
{
    struct deploy w;
    struct replica *P = world_with_approver(&w, "rej");
    uint64_t ix = 0;
    cr_assert_eq(approve(P, "p0000000000000004", 2026, "rejected", "16/QĐ-KH", &ix), ERR_OK);
    struct certstr cs;
    char text[CERT_STRING_SIZE_MAX + 1];
    size_t len = 0;
    string_of(&w, P, ix, &cs, text, &len);
    struct certstr_verdict v;
    cr_assert_eq(certstr_verify(&cs, w.R->pk, &v), ERR_CORRUPT);
    cr_assert(strstr(v.why, "not an approval") != NULL, "%s", v.why);
    replica_close(P);
    deploy_world_free(&w);
}

/* The limits: a string above CERT_STRING_SIZE_MAX is refused before decoding (ERR_MSGSIZE),
 * the empty string, the prefix alone and another prefix are ERR_CORRUPT, and a record whose
 * string would exceed the limit is refused by the encoder (use `cdht prove`). */
Test(certstr, limits)
{
    static char big[CERT_STRING_SIZE_MAX + 2];
    struct certstr cs;
    const char *why = NULL;
    memset(big, 'A', sizeof big);
    memcpy(big, CERTSTR_PREFIX, CERTSTR_PREFIX_LEN);
    cr_assert_eq(certstr_decode(big, CERT_STRING_SIZE_MAX + 1, &cs, &why), ERR_MSGSIZE);
    /* At the limit: decoded (not refused for its length), then refused for its content. */
    cr_assert_eq(certstr_decode(big, CERT_STRING_SIZE_MAX, &cs, &why), ERR_CORRUPT);
    cr_assert_eq(certstr_decode("", 0, &cs, &why), ERR_CORRUPT);
    cr_assert_eq(certstr_decode(CERTSTR_PREFIX, CERTSTR_PREFIX_LEN, &cs, &why), ERR_CORRUPT);
    cr_assert_eq(certstr_decode("cdht-enroll1:AAAA", 17, &cs, &why), ERR_CORRUPT);
    cr_assert_eq(certstr_decode("cdht-cert1:AAA=", 15, &cs, &why), ERR_CORRUPT, "no padding");
    cr_assert_eq(certstr_decode("cdht-cert1:AA+A", 15, &cs, &why), ERR_CORRUPT, "url alphabet");

    /* A record whose string is larger than the limit, and one exactly at it. */
    struct certstr c;
    char text[CERT_STRING_SIZE_MAX + 1];
    size_t len = 0;
    memset(&c, 0, sizeof c);
    c.size = 1;
    c.leaf_len = CERTSTR_BODY_SIZE_MAX;
    cr_assert_eq(certstr_encode(&c, text, &len, &why), ERR_MSGSIZE);
    cr_assert(strstr(why, "cdht prove") != NULL, "%s", why);
    /* Fixed part: version 1, key 32, index 1, size 1, signature 64, leaf length 2 (a leaf of
     * 128 bytes or more), cosignature flag 1, chain length 1, check 4: 107 bytes. */
    c.leaf_len = CERTSTR_BODY_SIZE_MAX - 107;
    cr_assert_eq(certstr_encode(&c, text, &len, &why), ERR_OK, "%s", why);
    cr_assert_leq(len, CERT_STRING_SIZE_MAX);
    cr_assert_geq(len, CERT_STRING_SIZE_MAX - 3, "%zu", len);
    struct certstr back;
    round_trip(text, len, &back);
    cr_assert_eq(back.leaf_len, c.leaf_len);
    c.leaf_len++;
    cr_assert_eq(certstr_encode(&c, text, &len, &why), ERR_MSGSIZE);
    /* Fields the decoder would refuse are refused by the encoder too. */
    memset(&c, 0, sizeof c);
    c.leaf_len = 1;
    cr_assert_eq(certstr_encode(&c, text, &len, &why), ERR_INVAL, "size 0");
    c.size = 4;
    c.index = 4;
    cr_assert_eq(certstr_encode(&c, text, &len, &why), ERR_INVAL, "index >= size");
    c.index = 1;
    c.hash_count = 1;
    cr_assert_eq(certstr_encode(&c, text, &len, &why), ERR_INVAL, "path of the wrong length");
    c.hash_count = 2;
    c.chain_count = PROOF_CHAIN_MAX + 1;
    cr_assert_eq(certstr_encode(&c, text, &len, &why), ERR_INVAL, "chain too long");
    c.chain_count = PROOF_CHAIN_MAX;
    cr_assert_eq(certstr_encode(&c, text, &len, &why), ERR_OK, "%s", why);
    round_trip(text, len, &back);
}

static err_code
leaves_cb(void *ctx, uint64_t index, uint8_t out[HASH_SIZE])
{
    const uint8_t(*h)[HASH_SIZE] = ctx;
    memcpy(out, h[index], HASH_SIZE);
    return ERR_OK;
}

/* The path length the string does not store matches the RFC 6962 proofs proto/merkle.c
 * writes, for every index of every tree up to 70 leaves; and the root the verifier rebuilds is
 * the one a checkpoint signs (a note signed here over each tree, then verified from a string). */
Test(certstr, path_length_and_root)
{
    uint8_t leaves[70][HASH_SIZE], path[MERKLE_PROOF_HASHES_MAX][HASH_SIZE];
    uint8_t pk[KEY_PUBLIC_SIZE], sk[KEY_SECRET_SIZE];
    crypto_sign_keypair(pk, sk);
    for (int i = 0; i < 70; i++) {
        memset(leaves[i], i, HASH_SIZE);
    }
    for (uint64_t size = 1; size <= 70; size++) {
        for (uint64_t index = 0; index < size; index++) {
            size_t count = 0;
            cr_assert_eq(merkle_inclusion_proof(leaves_cb, leaves, index, size, path, &count),
                         ERR_OK);
            cr_assert_eq(certstr_path_len(index, size), count, "index %llu size %llu",
                         (unsigned long long)index, (unsigned long long)size);
        }
    }
    cr_assert_eq(certstr_path_len(0, UINT64_MAX), 64);
    cr_assert_eq(certstr_path_len(UINT64_MAX - 1, UINT64_MAX), 63);

    /* A tree of approval-shaped leaves signed as a device signs its checkpoint: the string of
     * each leaf verifies up to the approval check (the leaves are not commits). */
    for (uint64_t size = 1; size <= 9; size++) {
        uint8_t data[9][4], hashes[9][HASH_SIZE], note[NOTE_SIZE_MAX];
        struct checkpoint cp;
        size_t note_len = 0;
        for (uint64_t i = 0; i < size; i++) {
            memcpy(data[i], "leaf", 4);
            data[i][3] = (uint8_t)('0' + i);
            merkle_leaf_hash(data[i], 4, hashes[i]);
        }
        cr_assert_eq(merkle_range_root(leaves_cb, hashes, 0, size, cp.root), ERR_OK);
        note_log_name(pk, cp.origin);
        cp.size = size;
        cr_assert_eq(note_sign_checkpoint(&cp, cp.origin, sk, note, sizeof note, &note_len),
                     ERR_OK);
        const uint8_t *sig_line = (const uint8_t *)strstr((const char *)note, "\n\n") + 2;
        uint8_t raw[NOTE_KEY_ID_SIZE + SIG_SIZE];
        size_t raw_len = 0;
        cr_assert_eq(sodium_base642bin(raw, sizeof raw,
                                       (const char *)sig_line + 4 + NOTE_LOG_NAME_SIZE + 1, 92,
                                       NULL, &raw_len, NULL, sodium_base64_VARIANT_ORIGINAL),
                     0);
        for (uint64_t index = 0; index < size; index++) {
            struct certstr c;
            struct certstr_verdict v;
            memset(&c, 0, sizeof c);
            memcpy(c.key, pk, KEY_PUBLIC_SIZE);
            c.index = index;
            c.size = size;
            cr_assert_eq(
                merkle_inclusion_proof(leaves_cb, hashes, index, size, c.hash, &c.hash_count),
                ERR_OK);
            memcpy(c.sig, raw + NOTE_KEY_ID_SIZE, SIG_SIZE);
            memcpy(c.leaf, data[index], 4);
            c.leaf_len = 4;
            cr_assert_eq(certstr_verify(&c, pk, &v), ERR_CORRUPT, "%s", v.why);
            cr_assert(strstr(v.why, "not a valid commit") != NULL, "size %llu index %llu: %s",
                      (unsigned long long)size, (unsigned long long)index, v.why);
            c.leaf[0] ^= 1;
            cr_assert_eq(certstr_verify(&c, pk, &v), ERR_AUTH, "%s", v.why);
        }
    }
}

/* The size the design promises: an approval leaf in a commune approver's log of about 10,000
 * leaves, co-signed, with its chain of two references, fits in CERT_STRING_SIZE_MAX (measured
 * and printed: the figure quoted in the report). */
Test(certstr, size_for_ten_thousand_leaves, .timeout = 120)
{
    struct deploy w;
    struct replica *P = world_with_approver(&w, "big");
    char person[24];
    uint64_t ix = 0;
    /* A person id as replica_new_id writes them, and a decision number of the usual shape.
     * Leaf 0 of 10,000 has a full path (14 hashes; the last leaf's would have 8). */
    cr_assert_eq(approve(P, "0f3kqv7m2x8b1c9d", 2026, "approved", "1234/QĐ-UBND", &ix), ERR_OK);
    cr_assert_eq(ix, 0);
    cr_assert_eq(replica_batch_begin(P), ERR_OK);
    for (int i = 0; i < 9999; i++) {
        snprintf(person, sizeof person, "q%016d", i);
        cr_assert_eq(approve(P, person, 2026, "approved", "12/QĐ-KH", NULL), ERR_OK);
    }
    cr_assert_eq(replica_batch_commit(P), ERR_OK);
    struct certstr cs, back;
    char text[CERT_STRING_SIZE_MAX + 1];
    size_t len = 0;
    string_of(&w, P, ix, &cs, text, &len);
    round_trip(text, len, &back);
    struct certstr_verdict v;
    cr_assert_eq(certstr_verify(&back, w.R->pk, &v), ERR_OK, "%s", v.why);
    cr_assert_eq(back.size, 10000);
    cr_assert_eq(back.hash_count, 14);
    cr_assert_leq(len, CERT_STRING_SIZE_MAX);
    fprintf(stderr,
            "certstr: log of %llu leaves: leaf %zu bytes, %zu path hashes, %d cosignature, %zu "
            "references: %zu characters\n",
            (unsigned long long)back.size, back.leaf_len, back.hash_count, back.has_cosig,
            back.chain_count, len);
    replica_close(P);
    deploy_world_free(&w);
}
