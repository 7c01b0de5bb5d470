/*
 * Tests for proto/cosig.c and node/witness.c with node/exchange.c: C2SP cosignatures made,
 * encoded, parsed and verified; cosignatures and equivocation proofs carried in bundles and
 * verified on import (a tampered one refuses the whole bundle); a witness that refuses to
 * co-sign a checkpoint inconsistent with the one it co-signed before; and a laptop restored from
 * an old copy of its home that writes again, caught on import as an equivocation whose proof
 * travels on and verifies where neither history is held.
 */
#include <criterion/criterion.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "cosig.h"
#include "exchange.h"
#include "log.h"
#include "merkle.h"
#include "note.h"
#include "replica.h"
#include "store.h"
#include "support.h"
#include "witness.h"

static void
suite_init(void)
{
    cr_assert_geq(sodium_init(), 0);
    unsetenv("CDHT_FAKE_NOW_MS");
}

TestSuite(witness, .init = suite_init);

/* ---- helpers ------------------------------------------------------------------------------ */

static void
export_all(struct replica *r, const char *path)
{
    struct exchange_report rep;
    err_code rc = exchange_export(r, path, NULL, 0, &rep);
    cr_assert_eq(rc, ERR_OK, "export: %s (%s)", err_str(rc), rep.msg);
}

static void
import_ok(struct replica *r, const char *path, struct exchange_report *rep)
{
    err_code rc = exchange_import(r, path, rep);
    cr_assert_eq(rc, ERR_OK, "import: %s (%s)", err_str(rc), rep->msg);
}

static void
write_people(struct replica *r, const char *stem, int n)
{
    char id[17], name[64];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "%s %d", stem, i);
        cr_assert_eq(support_person_add(r, name, 1970 + i, "V1", id), ERR_OK);
    }
}

/* Closes r, copies its home (cp -a) to copy, and reopens r. */
static struct replica *
copy_home(struct replica *r, const char *home, const char *copy)
{
    char cmd[2400];
    replica_close(r);
    snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", home, copy);
    cr_assert_eq(system(cmd), 0);
    return support_reopen(home);
}

static uint64_t
log_size_of(struct replica *r, const uint8_t key[KEY_PUBLIC_SIZE])
{
    struct log_head h;
    err_code rc = log_get(r->st, key, &h);
    if (rc == ERR_NOTFOUND) {
        return 0;
    }
    cr_assert_eq(rc, ERR_OK);
    return h.size;
}

static uint64_t
equivocations_held(struct replica *r)
{
    uint64_t n = 0;
    cr_assert_eq(witness_equivocation_count(r->st, &n), ERR_OK);
    return n;
}

struct first_equiv {
    int seen;
    struct witness_equivocation e;
};

static err_code
first_equiv_cb(void *ctx, const struct witness_equivocation *e)
{
    struct first_equiv *f = ctx;
    if (!f->seen) {
        f->e = *e;
        f->seen = 1;
    }
    return ERR_OK;
}

static err_code
proof_verifies_cb(void *ctx, const struct witness_proof *p)
{
    int *n = ctx;
    cr_assert_eq(witness_proof_verify(p, NULL, NULL), ERR_OK, "a stored proof verifies");
    (*n)++;
    return ERR_OK;
}

static int count_cosigs_cb_n;
static err_code
count_cosigs_cb(void *ctx, const uint8_t log_key[KEY_PUBLIC_SIZE], const struct witness_cosig *c)
{
    (void)log_key;
    const uint8_t *witness = ctx;
    cr_assert_arr_eq(c->witness, witness, KEY_PUBLIC_SIZE);
    cr_assert_eq(witness_cosig_verify(log_key, c), ERR_OK, "a held cosignature verifies");
    count_cosigs_cb_n++;
    return ERR_OK;
}

enum tamper { TAMPER_COSIG_ROOT, TAMPER_PROOF_HASH };

/* Copies the bundle in to out record by record, flipping one bit of the first cosignature's
 * root or the first equivocation proof's first hash; the file's own checks then pass. */
static void
rewrite_bundle(const char *in, const char *out, enum tamper what)
{
    FILE *fi = fopen(in, "rb"), *fo = fopen(out, "wb");
    cr_assert_not_null(fi);
    cr_assert_not_null(fo);
    struct bundle_reader *br = NULL;
    struct bundle_writer *bw = NULL;
    cr_assert_eq(bundle_reader_new(&br, fi, BUNDLE_INFLATED_SIZE_MAX), ERR_OK);
    cr_assert_eq(bundle_writer_new(&bw, fo), ERR_OK);
    int done = 0;
    for (int end = 0; !end;) {
        struct bundle_record rec;
        cr_assert_eq(bundle_reader_next(br, &rec), ERR_OK);
        switch (rec.type) {
        case BUNDLE_REC_END: end = 1; break;
        case BUNDLE_REC_LOG: cr_assert_eq(bundle_write_log(bw, &rec.log), ERR_OK); break;
        case BUNDLE_REC_LEAF: cr_assert_eq(bundle_write_leaf(bw, rec.data, rec.len), ERR_OK); break;
        case BUNDLE_REC_CHECKPOINT:
            cr_assert_eq(bundle_write_checkpoint(bw, rec.data, rec.len), ERR_OK);
            break;
        case BUNDLE_REC_COSIG: {
            struct bundle_cosig c = rec.cosig;
            if (what == TAMPER_COSIG_ROOT && !done) {
                c.root[7] ^= 0x10;
                done = 1;
            }
            cr_assert_eq(bundle_write_cosig(bw, &c), ERR_OK);
            break;
        }
        case BUNDLE_REC_EQUIVOCATION: {
            struct bundle_equivocation e = rec.equivocation;
            uint8_t proof[MERKLE_PROOF_HASHES_MAX][HASH_SIZE];
            memcpy(proof, e.proof, e.count * HASH_SIZE);
            if (what == TAMPER_PROOF_HASH && !done && e.count > 0) {
                proof[0][3] ^= 0x01;
                done = 1;
            }
            e.proof = (const uint8_t(*)[HASH_SIZE])proof;
            cr_assert_eq(bundle_write_equivocation(bw, &e), ERR_OK);
            break;
        }
        }
    }
    cr_assert_eq(bundle_writer_finish(bw), ERR_OK);
    cr_assert(done, "the bundle carried the record to tamper with");
    bundle_writer_free(bw);
    bundle_reader_free(br);
    fclose(fi);
    cr_assert_eq(fclose(fo), 0);
}

/* ---- proto/cosig.c ------------------------------------------------------------------------ */

/* A cosignature signs exactly the C2SP message, encodes as one note signature line that parses
 * back to itself, verifies with the witness's key only, and any altered field fails. */
Test(witness, cosig_round_trip)
{
    uint8_t pk[KEY_PUBLIC_SIZE], sk[KEY_SECRET_SIZE], seed[KEY_SEED_SIZE];
    memset(seed, 0x42, sizeof seed);
    cr_assert_eq(crypto_sign_seed_keypair(pk, sk, seed), 0);
    char name[NOTE_LOG_NAME_SIZE + 1];
    note_log_name(pk, name);
    struct checkpoint cp;
    memset(&cp, 0, sizeof cp);
    strcpy(cp.origin, "example.com/behind-the-sofa");
    cp.size = 20852163;
    memset(cp.root, 0xab, HASH_SIZE);

    uint8_t msg[COSIG_MESSAGE_SIZE_MAX];
    size_t mlen = 0;
    cr_assert_eq(cosig_message(&cp, 1679315147, msg, &mlen), ERR_OK);
    const char *want = "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
                       "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n";
    cr_assert_eq(mlen, strlen(want));
    cr_assert_arr_eq(msg, want, mlen);

    struct cosig c, back;
    cr_assert_eq(cosig_sign(&cp, 1679315147, name, sk, &c), ERR_OK);
    uint8_t line[COSIG_LINE_SIZE_MAX];
    size_t len = 0;
    cr_assert_eq(cosig_encode(&c, line, &len), ERR_OK);
    cr_assert_eq(memcmp(line, "\xe2\x80\x94 cdht/", 9), 0);
    cr_assert_eq(line[len - 1], '\n');
    cr_assert_eq(cosig_parse(line, len, &back), ERR_OK);
    cr_assert_str_eq(back.name, name);
    cr_assert_eq(back.time_s, 1679315147u);
    cr_assert_arr_eq(back.sig, c.sig, SIG_SIZE);
    uint8_t id[COSIG_KEY_ID_SIZE];
    cosig_key_id(name, pk, id);
    cr_assert_arr_eq(back.key_id, id, COSIG_KEY_ID_SIZE);
    cr_assert_eq(cosig_verify(&back, &cp, name, pk), ERR_OK);

    /* The key id is not the Ed25519 note key id (type 0x04, not 0x01). */
    uint8_t note_id[NOTE_KEY_ID_SIZE];
    note_key_id(name, pk, note_id);
    cr_assert_neq(memcmp(note_id, id, 4), 0);

    struct checkpoint other = cp;
    other.size++;
    cr_assert_eq(cosig_verify(&back, &other, name, pk), ERR_AUTH, "another size");
    other = cp;
    other.root[0] ^= 1;
    cr_assert_eq(cosig_verify(&back, &other, name, pk), ERR_AUTH, "another root");
    struct cosig later = back;
    later.time_s++;
    cr_assert_eq(cosig_verify(&later, &cp, name, pk), ERR_AUTH, "another time");
    uint8_t pk2[KEY_PUBLIC_SIZE], sk2[KEY_SECRET_SIZE];
    crypto_sign_keypair(pk2, sk2);
    cr_assert_eq(cosig_verify(&back, &cp, name, pk2), ERR_AUTH, "another key");

    /* Malformed lines: truncated, without newline, non-canonical base64, too long. */
    cr_assert_eq(cosig_parse(line, len - 1, &back), ERR_CORRUPT);
    cr_assert_eq(cosig_parse(line, 10, &back), ERR_CORRUPT);
    uint8_t bad[COSIG_LINE_SIZE_MAX + 8];
    memcpy(bad, line, len);
    bad[len - 3] = 'B'; /* the last base64 digit before "=" carries padding bits */
    cr_assert_eq(cosig_parse(bad, len, &back), ERR_CORRUPT);
    memset(bad, 'a', sizeof bad);
    cr_assert_eq(cosig_parse(bad, sizeof bad, &back), ERR_MSGSIZE);
}

/* ---- cosign, travel, tampering ------------------------------------------------------------ */

/* A witness co-signs the log it imported, once per size; its cosignatures travel in its export,
 * verify and are stored on the next replica (first-seen time included), and a bundle whose
 * cosignature was altered is refused whole. */
Test(witness, cosign_travels_and_tamper_refused)
{
    char *dir = support_tmpdir();
    char *a_home = support_path(dir, "a");
    char *w_home = support_path(dir, "w");
    char *c_home = support_path(dir, "c");
    char *d_home = support_path(dir, "d");
    char *a_b = support_path(dir, "a.bundle");
    char *w_b = support_path(dir, "w.bundle");
    char *bad_b = support_path(dir, "bad.bundle");
    struct replica *a = support_replica(a_home, "V1");
    write_people(a, "An", 3);
    export_all(a, a_b);
    struct replica *w = support_replica(w_home, "V1");
    struct exchange_report rep;
    import_ok(w, a_b, &rep);

    struct witness_report wr;
    cr_assert_eq(witness_cosign(w, NULL, &wr), ERR_OK);
    cr_assert_eq(wr.cosigned, 1, "A's log (its own is empty: nothing to witness)");
    cr_assert_eq(witness_cosign(w, a->pk, &wr), ERR_OK);
    cr_assert_eq(wr.cosigned, 0, "never twice at one size");
    cr_assert_eq(wr.held, 1);
    uint8_t stranger[KEY_PUBLIC_SIZE] = {1};
    cr_assert_eq(witness_cosign(w, stranger, &wr), ERR_NOTFOUND);

    /* A grows; the witness co-signs the new size after checking consistency. */
    write_people(a, "Ba", 2);
    export_all(a, a_b);
    import_ok(w, a_b, &rep);
    cr_assert_eq(witness_cosign(w, NULL, &wr), ERR_OK);
    cr_assert_eq(wr.cosigned, 1);
    cr_assert_eq(wr.inconsistent, 0);

    export_all(w, w_b);
    struct replica *c = support_replica(c_home, "V1");
    import_ok(c, w_b, &rep);
    cr_assert_eq(rep.cosigs, 2, "both cosignatures (sizes 3 and 5) stored");
    count_cosigs_cb_n = 0;
    cr_assert_eq(witness_cosigs(c->st, count_cosigs_cb, w->pk), ERR_OK);
    cr_assert_eq(count_cosigs_cb_n, 2);
    struct log_head ha;
    cr_assert_eq(log_get(c->st, a->pk, &ha), ERR_OK);
    int64_t t = 0;
    int found = 0;
    cr_assert_eq(witness_first_seen(c->st, ha.id, 0, &t, &found), ERR_OK);
    cr_assert(found);
    cr_assert_gt(t, 1700000000);
    cr_assert_eq(witness_first_seen(c->st, ha.id, 5, &t, &found), ERR_OK);
    cr_assert(!found, "no cosignature covers leaf 5 of a 5-leaf log");

    /* One bit of a cosignature's root: the whole bundle is refused, nothing imported. */
    rewrite_bundle(w_b, bad_b, TAMPER_COSIG_ROOT);
    struct replica *d = support_replica(d_home, "V1");
    uint64_t before = support_total_leaves(d);
    err_code rc = exchange_import(d, bad_b, &rep);
    cr_assert_eq(rc, ERR_AUTH, "%s (%s)", err_str(rc), rep.msg);
    cr_assert_not_null(strstr(rep.msg, "cosignature"), "%s", rep.msg);
    cr_assert_eq(support_total_leaves(d), before);
    cr_assert_eq(log_size_of(d, a->pk), 0);

    replica_close(a);
    replica_close(w);
    replica_close(c);
    replica_close(d);
    support_rmrf(dir);
    free(dir);
    free(a_home);
    free(w_home);
    free(c_home);
    free(d_home);
    free(a_b);
    free(w_b);
    free(bad_b);
}

/* A witness that co-signed one history of a log at size 4 and later holds another history of
 * it (here: its copy of the log was lost and re-imported from the original laptop) refuses to
 * co-sign the inconsistent checkpoint, and stores the equivocation against the note it
 * co-signed. */
Test(witness, cosign_refuses_inconsistent)
{
    char *dir = support_tmpdir();
    char *a_home = support_path(dir, "a");
    char *a2_home = support_path(dir, "a2");
    char *w_home = support_path(dir, "w");
    char *a_b = support_path(dir, "a.bundle");
    char *a2_b = support_path(dir, "a2.bundle");
    struct replica *a = support_replica(a_home, "V1");
    write_people(a, "Cao", 3);
    a = copy_home(a, a_home, a2_home);
    struct replica *a2 = support_reopen(a2_home);
    write_people(a, "Do", 2);    /* original: 5 leaves */
    write_people(a2, "Dinh", 1); /* restored copy: 4 leaves, the 4th differs */
    export_all(a, a_b);
    export_all(a2, a2_b);

    struct replica *w = support_replica(w_home, "V1");
    struct exchange_report rep;
    import_ok(w, a2_b, &rep);
    struct witness_report wr;
    cr_assert_eq(witness_cosign(w, a->pk, &wr), ERR_OK);
    cr_assert_eq(wr.cosigned, 1);

    /* The witness loses its copy of the log (leaves and head), then takes the original's. */
    struct log_head h;
    cr_assert_eq(log_get(w->st, a->pk, &h), ERR_OK);
    struct merkle_frontier empty;
    merkle_frontier_init(&empty);
    uint8_t fbuf[MERKLE_FRONTIER_ENCODED_MAX];
    size_t flen = merkle_frontier_encode(&empty, fbuf);
    sqlite3_stmt *s = NULL;
    cr_assert_eq(
        sqlite3_prepare_v2(w->st->db, "DELETE FROM leaf WHERE id>=?1 AND id<?2", -1, &s, NULL),
        SQLITE_OK);
    sqlite3_bind_int64(s, 1, log_leaf_rowid(h.id, 0));
    sqlite3_bind_int64(s, 2, log_leaf_rowid(h.id + 1, 0));
    cr_assert_eq(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    cr_assert_eq(sqlite3_prepare_v2(w->st->db,
                                    "UPDATE log SET size=0, frontier=?1, cp_size=0, "
                                    "checkpoint=NULL WHERE id=?2",
                                    -1, &s, NULL),
                 SQLITE_OK);
    sqlite3_bind_blob(s, 1, fbuf, (int)flen, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, h.id);
    cr_assert_eq(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    import_ok(w, a_b, &rep);
    cr_assert_eq(log_size_of(w, a->pk), 5);

    cr_assert_eq(witness_cosign(w, a->pk, &wr), ERR_OK);
    cr_assert_eq(wr.cosigned, 0, "an inconsistent checkpoint is not co-signed");
    cr_assert_eq(wr.inconsistent, 1);
    cr_assert_eq(wr.equivocations, 1);
    cr_assert_eq(equivocations_held(w), 1);
    int n = 0;
    cr_assert_eq(witness_proofs(w->st, proof_verifies_cb, &n), ERR_OK);
    cr_assert_eq(n, 1);
    struct first_equiv fe = {0};
    cr_assert_eq(witness_equivocations(w->st, first_equiv_cb, &fe), ERR_OK);
    cr_assert_eq(fe.e.size_a, 4);
    cr_assert_eq(fe.e.size_b, 5);
    /* And it stays refused. */
    cr_assert_eq(witness_cosign(w, a->pk, &wr), ERR_OK);
    cr_assert_eq(wr.cosigned, 0);
    cr_assert_eq(equivocations_held(w), 1, "the same proof is kept once");

    replica_close(a);
    replica_close(a2);
    replica_close(w);
    support_rmrf(dir);
    free(dir);
    free(a_home);
    free(a2_home);
    free(w_home);
    free(a_b);
    free(a2_b);
}

/* ---- equivocation on import --------------------------------------------------------------- */

/* A writes 5 leaves; its home is copied aside; A writes 3 more and B imports all 8. The copy,
 * restored, writes 2 different leaves and carries another device's log; B imports its bundle:
 * a proof with prefix 5 is stored, the other log imports, A's log stays at 8 leaves. B's export
 * carries the proof to C, which verifies it holding neither history and freezes the log at 5;
 * a bundle whose proof was altered is refused whole. */
Test(witness, equivocation_on_import_travels)
{
    char *dir = support_tmpdir();
    char *a_home = support_path(dir, "a");
    char *a2_home = support_path(dir, "a2");
    char *b_home = support_path(dir, "b");
    char *c_home = support_path(dir, "c");
    char *d_home = support_path(dir, "d");
    char *m_home = support_path(dir, "m");
    char *a_b = support_path(dir, "a.bundle");
    char *a2_b = support_path(dir, "a2.bundle");
    char *b_b = support_path(dir, "b.bundle");
    char *m_b = support_path(dir, "m.bundle");
    char *bad_b = support_path(dir, "bad.bundle");

    struct replica *a = support_replica(a_home, "V1");
    write_people(a, "Giang", 5);
    a = copy_home(a, a_home, a2_home);
    write_people(a, "Ha", 3);
    export_all(a, a_b);
    struct replica *b = support_replica(b_home, "V1");
    struct exchange_report rep;
    import_ok(b, a_b, &rep);
    cr_assert_eq(log_size_of(b, a->pk), 8);

    struct replica *m = support_replica(m_home, "V1");
    write_people(m, "Khanh", 1);
    export_all(m, m_b);
    struct replica *a2 = support_reopen(a2_home);
    import_ok(a2, m_b, &rep);
    write_people(a2, "Lan", 2); /* 7 leaves: 5 shared, then 2 of its own */
    export_all(a2, a2_b);

    import_ok(b, a2_b, &rep);
    cr_assert_eq(rep.equivocations, 1);
    cr_assert_eq(rep.frozen, 2, "nothing of the other history is applied");
    cr_assert_eq(log_size_of(b, a->pk), 8, "the log stays at 8 leaves");
    cr_assert_eq(log_size_of(b, m->pk), 1, "the rest of the bundle imports");
    cr_assert_eq(equivocations_held(b), 1);
    struct first_equiv fe = {0};
    cr_assert_eq(witness_equivocations(b->st, first_equiv_cb, &fe), ERR_OK);
    cr_assert(fe.seen);
    cr_assert_arr_eq(fe.e.key, a->pk, KEY_PUBLIC_SIZE);
    cr_assert_eq(fe.e.size_a, 8, "ours");
    cr_assert_eq(fe.e.size_b, 7, "theirs");
    cr_assert_eq(fe.e.prefix, 5);
    /* Importing it again stores nothing new. */
    import_ok(b, a2_b, &rep);
    cr_assert_eq(rep.equivocations, 0);
    cr_assert_eq(equivocations_held(b), 1);
    /* Frozen: even the original's own next leaf is not accepted any more. */
    write_people(a, "Mai", 1);
    export_all(a, a_b);
    import_ok(b, a_b, &rep);
    cr_assert_eq(log_size_of(b, a->pk), 8);
    cr_assert_eq(rep.frozen, 1);

    /* The proof travels to C, which holds neither history, and verifies there. */
    export_all(b, b_b);
    struct replica *c = support_replica(c_home, "V1");
    import_ok(c, b_b, &rep);
    cr_assert_eq(rep.equivocations, 1);
    cr_assert_eq(equivocations_held(c), 1);
    int n = 0;
    cr_assert_eq(witness_proofs(c->st, proof_verifies_cb, &n), ERR_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(log_size_of(c, a->pk), 5, "frozen at the common prefix");
    cr_assert_eq(log_size_of(c, m->pk), 1);
    int frozen = 0;
    uint64_t prefix = 0;
    cr_assert_eq(witness_frozen(c->st, a->pk, &frozen, &prefix), ERR_OK);
    cr_assert(frozen);
    cr_assert_eq(prefix, 5);

    /* One bit of the proof: refused whole, nothing imported. */
    rewrite_bundle(b_b, bad_b, TAMPER_PROOF_HASH);
    struct replica *d = support_replica(d_home, "V1");
    uint64_t before = support_total_leaves(d);
    err_code rc = exchange_import(d, bad_b, &rep);
    cr_assert_eq(rc, ERR_AUTH, "%s (%s)", err_str(rc), rep.msg);
    cr_assert_not_null(strstr(rep.msg, "equivocation proof"), "%s", rep.msg);
    cr_assert_eq(support_total_leaves(d), before);
    cr_assert_eq(equivocations_held(d), 0);

    replica_close(a);
    replica_close(a2);
    replica_close(b);
    replica_close(c);
    replica_close(d);
    replica_close(m);
    support_rmrf(dir);
    free(dir);
    free(a_home);
    free(a2_home);
    free(b_home);
    free(c_home);
    free(d_home);
    free(m_home);
    free(a_b);
    free(a2_b);
    free(b_b);
    free(m_b);
    free(bad_b);
}

/* The proof form by itself: equal sizes need no hashes; a note of size 0, a prefix not below
 * the smaller size, or a proof that shows the notes consistent are refused. */
Test(witness, proof_verify_rules)
{
    uint8_t pk[KEY_PUBLIC_SIZE], sk[KEY_SECRET_SIZE];
    crypto_sign_keypair(pk, sk);
    char name[NOTE_LOG_NAME_SIZE + 1];
    note_log_name(pk, name);
    uint8_t leaves[4][HASH_SIZE];
    for (int i = 0; i < 4; i++) {
        uint8_t d = (uint8_t)i;
        merkle_leaf_hash(&d, 1, leaves[i]);
    }
    struct merkle_frontier f;
    merkle_frontier_init(&f);
    struct checkpoint cp;
    memset(&cp, 0, sizeof cp);
    strcpy(cp.origin, name);
    struct witness_proof *p = calloc(1, sizeof *p);
    cr_assert_not_null(p);
    memcpy(p->key, pk, KEY_PUBLIC_SIZE);
    /* note A: size 2 of the leaves; note B: size 2 of other leaves. */
    merkle_frontier_push(&f, leaves[0]);
    merkle_frontier_push(&f, leaves[1]);
    cp.size = 2;
    merkle_frontier_root(&f, cp.root);
    cr_assert_eq(note_sign_checkpoint(&cp, name, sk, p->note_a, NOTE_SIZE_MAX, &p->note_a_len),
                 ERR_OK);
    cp.root[0] ^= 1;
    cr_assert_eq(note_sign_checkpoint(&cp, name, sk, p->note_b, NOTE_SIZE_MAX, &p->note_b_len),
                 ERR_OK);
    p->prefix = 1;
    cr_assert_eq(witness_proof_verify(p, NULL, NULL), ERR_OK, "one size, two roots");
    p->prefix = 2;
    cr_assert_eq(witness_proof_verify(p, NULL, NULL), ERR_INVAL);
    p->prefix = 0;
    /* The same note twice proves nothing. */
    memcpy(p->note_b, p->note_a, p->note_a_len);
    p->note_b_len = p->note_a_len;
    cr_assert_eq(witness_proof_verify(p, NULL, NULL), ERR_AUTH);
    /* Note B at size 4 extending A's history: consistent, so no proof. */
    merkle_frontier_push(&f, leaves[2]);
    merkle_frontier_push(&f, leaves[3]);
    cp.size = 4;
    merkle_frontier_root(&f, cp.root);
    cr_assert_eq(note_sign_checkpoint(&cp, name, sk, p->note_b, NOTE_SIZE_MAX, &p->note_b_len),
                 ERR_OK);
    memcpy(p->proof[0], f.hash[0], HASH_SIZE); /* the root of the first 2 (2 is a power of 2) */
    merkle_node_hash(leaves[2], leaves[3], p->proof[1]);
    p->count = 2;
    cr_assert_eq(witness_proof_verify(p, NULL, NULL), ERR_AUTH, "consistent notes");
    /* A note signed by another key. */
    uint8_t pk2[KEY_PUBLIC_SIZE], sk2[KEY_SECRET_SIZE];
    crypto_sign_keypair(pk2, sk2);
    cr_assert_eq(note_sign_checkpoint(&cp, name, sk2, p->note_b, NOTE_SIZE_MAX, &p->note_b_len),
                 ERR_OK);
    cr_assert_eq(witness_proof_verify(p, NULL, NULL), ERR_AUTH);
    free(p);
}
