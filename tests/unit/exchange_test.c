/*
 * Tests for node/exchange.c: bundles that pass the file's own checks (framing, zstd, the
 * whole-file hash) but carry one wrong thing inside, rebuilt record by record with
 * bundle_reader and bundle_writer, or written by hand with a key of our own; forks, gaps,
 * duplicates, imports larger than one apply batch, and clock skew. Every refusal asserts the
 * exact err_code, and that the target's state hash and every log's size and root are unchanged.
 */
#include <criterion/criterion.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "bundle.h"
#include "exchange.h"
#include "hlc.h"
#include "keys.h"
#include "leaf.h"
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

TestSuite(exchange, .init = suite_init);

/* ---- helpers ------------------------------------------------------------------------------ */

/* One record of a bundle, copied out of the reader. */
struct rec {
    enum bundle_rec_type type;
    uint8_t *data; /* owned; NULL for LOG and END */
    size_t len;
    struct bundle_log_hdr log; /* for LOG: the section header */
};

struct recs {
    struct rec *r; /* owned */
    size_t n, cap;
};

static void
recs_push(struct recs *rs, enum bundle_rec_type type, const uint8_t *data, size_t len,
          const struct bundle_log_hdr *log)
{
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 16;
        rs->r = realloc(rs->r, rs->cap * sizeof *rs->r);
        cr_assert_not_null(rs->r);
    }
    struct rec *r = &rs->r[rs->n++];
    memset(r, 0, sizeof *r);
    r->type = type;
    if (data != NULL) {
        r->data = malloc(len > 0 ? len : 1);
        cr_assert_not_null(r->data);
        memcpy(r->data, data, len);
        r->len = len;
    }
    if (log != NULL) {
        r->log = *log;
    }
}

/* Removes record i, keeping the order. */
static void
recs_remove(struct recs *rs, size_t i)
{
    cr_assert_lt(i, rs->n);
    free(rs->r[i].data);
    memmove(&rs->r[i], &rs->r[i + 1], (rs->n - i - 1) * sizeof *rs->r);
    rs->n--;
}

static void
recs_free(struct recs *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        free(rs->r[i].data);
    }
    free(rs->r);
    memset(rs, 0, sizeof *rs);
}

/* Reads every record of a bundle (END excluded) through the real reader. */
static void
recs_load(const char *path, struct recs *rs)
{
    memset(rs, 0, sizeof *rs);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    struct bundle_reader *br = NULL;
    cr_assert_eq(bundle_reader_new(&br, f, BUNDLE_INFLATED_SIZE_MAX), ERR_OK);
    for (unsigned guard = 0; guard < 1000000; guard++) {
        struct bundle_record rec;
        cr_assert_eq(bundle_reader_next(br, &rec), ERR_OK);
        if (rec.type == BUNDLE_REC_END) {
            break;
        }
        recs_push(rs, rec.type, rec.type == BUNDLE_REC_LOG ? NULL : rec.data, rec.len,
                  rec.type == BUNDLE_REC_LOG ? &rec.log : NULL);
    }
    bundle_reader_free(br);
    fclose(f);
}

/* Writes the records as a bundle with valid framing and a valid whole-file hash. */
static void
recs_write(const char *path, const struct recs *rs)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s", path);
    struct bundle_writer *w = NULL;
    cr_assert_eq(bundle_writer_new(&w, f), ERR_OK);
    for (size_t i = 0; i < rs->n; i++) {
        const struct rec *r = &rs->r[i];
        switch (r->type) {
        case BUNDLE_REC_LOG: cr_assert_eq(bundle_write_log(w, &r->log), ERR_OK); break;
        case BUNDLE_REC_LEAF: cr_assert_eq(bundle_write_leaf(w, r->data, r->len), ERR_OK); break;
        case BUNDLE_REC_CHECKPOINT:
            cr_assert_eq(bundle_write_checkpoint(w, r->data, r->len), ERR_OK);
            break;
        case BUNDLE_REC_END: break;
        case BUNDLE_REC_COSIG:
        case BUNDLE_REC_EQUIVOCATION:
            cr_assert_fail("this file's bundles carry no witness records (witness_test.c)");
            break;
        }
    }
    cr_assert_eq(bundle_writer_finish(w), ERR_OK);
    bundle_writer_free(w);
    cr_assert_eq(fclose(f), 0);
}

/* Index of the n-th record of a type (0-based). */
static size_t
recs_find(const struct recs *rs, enum bundle_rec_type type, size_t n)
{
    for (size_t i = 0; i < rs->n; i++) {
        if (rs->r[i].type == type && n-- == 0) {
            return i;
        }
    }
    cr_assert_fail("no record %zu of type %d", n, (int)type);
    return 0;
}

/* What a refused import must leave untouched: the state hash and every log's size and root. */
struct snap {
    char hash[65];
    struct heads_entry *heads; /* owned */
    size_t n;
};

static void
snap_take(struct replica *r, struct snap *s)
{
    support_state_hex(r, s->hash);
    cr_assert_eq(exchange_heads(r, &s->heads, &s->n), ERR_OK);
}

static void
snap_assert_same(struct replica *r, const struct snap *s, const char *what)
{
    struct snap now;
    snap_take(r, &now);
    cr_assert_str_eq(now.hash, s->hash, "%s: state hash changed", what);
    cr_assert_eq(now.n, s->n, "%s: number of logs changed", what);
    for (size_t i = 0; i < s->n; i++) {
        cr_assert_arr_eq(now.heads[i].key, s->heads[i].key, KEY_PUBLIC_SIZE, "%s", what);
        cr_assert_eq(now.heads[i].size, s->heads[i].size, "%s: log %zu size changed", what, i);
        cr_assert_arr_eq(now.heads[i].root, s->heads[i].root, HASH_SIZE, "%s", what);
    }
    free(now.heads);
}

static void
snap_free(struct snap *s)
{
    free(s->heads);
    s->heads = NULL;
}

/* Imports path into r expecting want, and (on a refusal) that nothing changed. */
static void
import_expect(struct replica *r, const char *path, err_code want, struct exchange_report *rep,
              const char *what)
{
    struct snap before;
    snap_take(r, &before);
    err_code rc = exchange_import(r, path, rep);
    cr_assert_eq(rc, want, "%s: import gave %s (%s), wanted %s", what, err_str(rc), rep->msg,
                 err_str(want));
    if (want != ERR_OK) {
        cr_assert_neq(rep->msg[0], '\0', "%s: a refusal says why", what);
        snap_assert_same(r, &before, what);
    }
    snap_free(&before);
}

static void
export_all(struct replica *r, const char *path)
{
    struct exchange_report rep;
    err_code rc = exchange_export(r, path, NULL, 0, &rep);
    cr_assert_eq(rc, ERR_OK, "export: %s (%s)", err_str(rc), rep.msg);
}

static void
set_now(long long ms)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", ms);
    cr_assert_eq(setenv("CDHT_FAKE_NOW_MS", buf, 1), 0);
}

static void
audit_no_finding(void *ctx, const struct audit_finding *f)
{
    (void)ctx;
    cr_assert_fail("audit finding %s at %llu: %s", f->kind, (unsigned long long)f->index,
                   f->reason);
}

static void
audit_clean(struct replica *r, uint64_t leaves)
{
    struct audit_summary sum;
    cr_assert_eq(audit_run(r->st, AUDIT_STATE, audit_no_finding, NULL, &sum), ERR_OK);
    cr_assert_eq(sum.findings, 0);
    cr_assert_eq(sum.leaves, leaves);
}

/* The common fixture: a source replica with several leaves and a fresh target. */
struct fx {
    char *dir;
    char *src_home, *dst_home;
    struct replica *src, *dst;
    char *bundle;   /* the source's full export */
    char *tampered; /* where tests write their rebuilt bundle */
    char ids[4][17];
};

static void
fx_open(struct fx *x)
{
    memset(x, 0, sizeof *x);
    x->dir = support_tmpdir();
    x->src_home = support_path(x->dir, "src");
    x->dst_home = support_path(x->dir, "dst");
    x->bundle = support_path(x->dir, "full.bundle");
    x->tampered = support_path(x->dir, "tampered.bundle");
    x->src = support_replica(x->src_home, "V1");
    x->dst = support_replica(x->dst_home, "V1");
    static const char *const names[] = {"Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường",
                                        "Phạm Thị Dung"};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(support_person_add(x->src, names[i], 1960 + i, "V1", x->ids[i]), ERR_OK);
    }
    cr_assert_eq(support_person_set_name(x->src, x->ids[1], "Trần Thị Bích"), ERR_OK);
    cr_assert_eq(support_person_rm(x->src, x->ids[3]), ERR_OK);
    export_all(x->src, x->bundle);
}

static void
fx_close(struct fx *x)
{
    replica_close(x->src);
    replica_close(x->dst);
    support_rmrf(x->dir);
    free(x->dir);
    free(x->src_home);
    free(x->dst_home);
    free(x->bundle);
    free(x->tampered);
}

/* After the refusals, the untouched bundle still imports: the target was left usable. */
static void
fx_import_clean(struct fx *x)
{
    struct exchange_report rep;
    import_expect(x->dst, x->bundle, ERR_OK, &rep, "clean bundle");
    cr_assert_eq(rep.leaves, 6);
    char a[65], b[65];
    support_state_hex(x->src, a);
    support_state_hex(x->dst, b);
    cr_assert_str_eq(a, b);
}

/* The byte offset of the base64 field of a note's last signature line, and its length. */
static void
note_sig_field(const uint8_t *note, size_t len, size_t *off, size_t *b64_len)
{
    cr_assert_gt(len, 2);
    size_t end = len - 1; /* the final newline */
    size_t sp = end;
    while (sp > 0 && note[sp - 1] != ' ') {
        sp--;
    }
    cr_assert_gt(sp, 0);
    *off = sp;
    *b64_len = end - sp;
}

/* The byte offset of a note's root line (the third line). */
static size_t
note_root_off(const uint8_t *note, size_t len)
{
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) {
        if (note[i] == '\n' && ++lines == 2) {
            return i + 1;
        }
    }
    cr_assert_fail("note has no root line");
    return 0;
}

/* Another base64 character than c (keeps the grammar, changes the value). */
static uint8_t
b64_other(uint8_t c)
{
    return c == 'A' ? 'B' : 'A';
}

/* ---- tampering, by byte class, with valid framing ------------------------------------------ */

/* The rebuilt bundle without changes imports: the rebuild itself is faithful. */
Test(exchange, rebuild_is_faithful)
{
    struct fx x;
    fx_open(&x);
    struct recs rs;
    recs_load(x.bundle, &rs);
    cr_assert_eq(rs.n, 1 + 6 + 1, "one section: LOG, six LEAF, CHECKPOINT");
    recs_write(x.tampered, &rs);
    struct exchange_report rep;
    import_expect(x.dst, x.tampered, ERR_OK, &rep, "rebuilt");
    cr_assert_eq(rep.leaves, 6);
    cr_assert_eq(rep.logs, 1);
    recs_free(&rs);
    fx_close(&x);
}

/* (a) Any one byte of a leaf changed: the leaf no longer decodes ("leaf N is not a valid
 * commit") or it no longer matches the signed root ("... checkpoint root"); ERR_CORRUPT either
 * way, every byte of the leaf in turn, and nothing of the bundle is applied. */
Test(exchange, tampered_leaf_byte_refused)
{
    struct fx x;
    fx_open(&x);
    struct recs rs;
    recs_load(x.bundle, &rs);
    size_t li = recs_find(&rs, BUNDLE_REC_LEAF, 1); /* person 1: a text value to damage */
    struct rec *leaf = &rs.r[li];
    unsigned not_commit = 0, root = 0;
    for (size_t off = 0; off < leaf->len; off++) {
        struct exchange_report rep;
        char what[64];
        snprintf(what, sizeof what, "leaf byte %zu", off);
        leaf->data[off] ^= 0x01;
        recs_write(x.tampered, &rs);
        leaf->data[off] ^= 0x01;
        import_expect(x.dst, x.tampered, ERR_CORRUPT, &rep, what);
        if (strstr(rep.msg, "leaf 1 is not a valid commit") != NULL) {
            not_commit++;
        } else {
            cr_assert_not_null(strstr(rep.msg, "do not match the signed checkpoint root"), "%s: %s",
                               what, rep.msg);
            root++;
        }
        cr_assert_eq(rep.leaves, 0);
    }
    /* Both classes occur: structural bytes break the decoding, text bytes only the root. */
    cr_assert_gt(not_commit, 0);
    cr_assert_gt(root, 0);
    recs_free(&rs);
    fx_import_clean(&x);
    fx_close(&x);
}

/* (b) One character of the checkpoint's signature (or of its key id) changed: ERR_AUTH. The
 * last two characters are left out: they hold padding bits, whose change is a malformed note. */
Test(exchange, tampered_signature_refused)
{
    struct fx x;
    fx_open(&x);
    struct recs rs;
    recs_load(x.bundle, &rs);
    struct rec *cp = &rs.r[recs_find(&rs, BUNDLE_REC_CHECKPOINT, 0)];
    size_t off, n;
    note_sig_field(cp->data, cp->len, &off, &n);
    cr_assert_eq(n, 92);
    for (size_t i = 0; i + 2 < n; i++) {
        struct exchange_report rep;
        char what[64];
        snprintf(what, sizeof what, "signature character %zu", i);
        uint8_t saved = cp->data[off + i];
        cp->data[off + i] = b64_other(saved);
        recs_write(x.tampered, &rs);
        cp->data[off + i] = saved;
        import_expect(x.dst, x.tampered, ERR_AUTH, &rep, what);
        cr_assert_not_null(strstr(rep.msg, "signature does not verify"), "%s", rep.msg);
    }
    recs_free(&rs);
    fx_import_clean(&x);
    fx_close(&x);
}

/* (c) The checkpoint's root line changed and signed by nobody: ERR_AUTH. Likewise its size
 * line and its origin line: the signature covers the whole text. */
Test(exchange, tampered_checkpoint_text_refused)
{
    struct fx x;
    fx_open(&x);
    struct recs rs;
    recs_load(x.bundle, &rs);
    struct rec *cp = &rs.r[recs_find(&rs, BUNDLE_REC_CHECKPOINT, 0)];
    size_t root = note_root_off(cp->data, cp->len);
    size_t targets[] = {root, root + 20, root + 41, /* root line; not the padding bits */
                        root - 2,                   /* the size "6" */
                        10};                        /* a hex digit of the origin */
    for (size_t k = 0; k < sizeof targets / sizeof targets[0]; k++) {
        struct exchange_report rep;
        char what[64];
        snprintf(what, sizeof what, "checkpoint byte %zu", targets[k]);
        uint8_t saved = cp->data[targets[k]];
        if (k == 3) {
            cr_assert_eq(saved, '6');
            cp->data[targets[k]] = '7';
        } else if (k == 4) {
            cp->data[targets[k]] = saved == '0' ? '1' : '0';
        } else {
            cp->data[targets[k]] = b64_other(saved);
        }
        recs_write(x.tampered, &rs);
        cp->data[targets[k]] = saved;
        import_expect(x.dst, x.tampered, ERR_AUTH, &rep, what);
    }
    recs_free(&rs);
    fx_import_clean(&x);
    fx_close(&x);
}

/* (d) The checkpoint of another log (validly signed, by another key) in this log's section:
 * ERR_AUTH, even when it covers the same number of leaves. */
Test(exchange, checkpoint_of_another_log_refused)
{
    struct fx x;
    fx_open(&x);
    char *other_home = support_path(x.dir, "other");
    char *other_bundle = support_path(x.dir, "other.bundle");
    struct replica *other = support_replica(other_home, "V1");
    for (int i = 0; i < 6; i++) {
        char id[17];
        cr_assert_eq(support_person_add(other, "Đỗ Văn Khánh", 1990 + i, "V1", id), ERR_OK);
    }
    export_all(other, other_bundle);
    struct recs rs, os;
    recs_load(x.bundle, &rs);
    recs_load(other_bundle, &os);
    struct rec *cp = &rs.r[recs_find(&rs, BUNDLE_REC_CHECKPOINT, 0)];
    const struct rec *ocp = &os.r[recs_find(&os, BUNDLE_REC_CHECKPOINT, 0)];
    free(cp->data);
    cp->data = malloc(ocp->len);
    cr_assert_not_null(cp->data);
    memcpy(cp->data, ocp->data, ocp->len);
    cp->len = ocp->len;
    recs_write(x.tampered, &rs);
    struct exchange_report rep;
    import_expect(x.dst, x.tampered, ERR_AUTH, &rep, "foreign checkpoint");
    recs_free(&rs);
    recs_free(&os);
    replica_close(other);
    free(other_home);
    free(other_bundle);
    fx_import_clean(&x);
    fx_close(&x);
}

/* A checkpoint signed by the log's own key that does not fit the section is ERR_CORRUPT:
 * another root, another size, or another origin (signed by the right key, so only these
 * checks stand between it and the tables). */
Test(exchange, validly_signed_wrong_checkpoint_refused)
{
    struct fx x;
    fx_open(&x);
    struct recs rs;
    recs_load(x.bundle, &rs);
    struct rec *cp = &rs.r[recs_find(&rs, BUNDLE_REC_CHECKPOINT, 0)];
    struct checkpoint good;
    cr_assert_eq(note_parse_checkpoint(cp->data, cp->len, &good), ERR_OK);
    cr_assert_eq(good.size, 6);
    static const char *const want_msg[] = {"do not match the signed checkpoint root",
                                           "checkpoint covers 5 leaves but the section ends at 6",
                                           "checkpoint names another log"};
    for (int k = 0; k < 3; k++) {
        struct checkpoint bad = good;
        if (k == 0) {
            bad.root[7] ^= 0x80;
        } else if (k == 1) {
            bad.size = 5;
        } else {
            snprintf(bad.origin, sizeof bad.origin, "example.com/another-log");
        }
        uint8_t note[NOTE_SIZE_MAX];
        size_t len = 0;
        cr_assert_eq(
            note_sign_checkpoint(&bad, x.src->log_name, x.src->keys.sk, note, sizeof note, &len),
            ERR_OK);
        free(cp->data);
        cp->data = malloc(len);
        cr_assert_not_null(cp->data);
        memcpy(cp->data, note, len);
        cp->len = len;
        recs_write(x.tampered, &rs);
        struct exchange_report rep;
        import_expect(x.dst, x.tampered, ERR_CORRUPT, &rep, want_msg[k]);
        cr_assert_not_null(strstr(rep.msg, want_msg[k]), "%s", rep.msg);
    }
    recs_free(&rs);
    fx_import_clean(&x);
    fx_close(&x);
}

/* (e) A leaf dropped from the middle, the section's count reduced to match (the grammar is
 * fine): the signed checkpoint no longer fits, ERR_CORRUPT. */
Test(exchange, dropped_leaf_refused)
{
    struct fx x;
    fx_open(&x);
    struct recs rs;
    recs_load(x.bundle, &rs);
    size_t log_i = recs_find(&rs, BUNDLE_REC_LOG, 0);
    cr_assert_eq(rs.r[log_i].log.count, 6);
    rs.r[log_i].log.count = 5;
    recs_remove(&rs, recs_find(&rs, BUNDLE_REC_LEAF, 2));
    recs_write(x.tampered, &rs);
    struct exchange_report rep;
    import_expect(x.dst, x.tampered, ERR_CORRUPT, &rep, "dropped leaf");
    cr_assert_not_null(strstr(rep.msg, "covers 6 leaves but the section ends at 5"), "%s", rep.msg);
    recs_free(&rs);
    fx_import_clean(&x);
    fx_close(&x);
}

/* Builds a log of our own: a device key made with keys_generate, leaves given as bytes, the
 * RFC 6962 root over them and a checkpoint signed with that key; writes it as a bundle. */
static void
hand_bundle(const char *dir, const char *path, const uint8_t *const *leaves, const size_t *lens,
            size_t n, struct keys *k)
{
    char *key_path = support_path(dir, "hand.key");
    unlink(key_path);
    cr_assert_eq(keys_generate(key_path, NULL, 0, k), ERR_OK);
    free(key_path);
    struct merkle_frontier fr;
    merkle_frontier_init(&fr);
    for (size_t i = 0; i < n; i++) {
        uint8_t h[HASH_SIZE];
        merkle_leaf_hash(leaves[i], lens[i], h);
        merkle_frontier_push(&fr, h);
    }
    struct checkpoint cp;
    memset(&cp, 0, sizeof cp);
    note_log_name(k->pk, cp.origin);
    cp.size = n;
    merkle_frontier_root(&fr, cp.root);
    uint8_t note[NOTE_SIZE_MAX];
    size_t note_len = 0;
    cr_assert_eq(note_sign_checkpoint(&cp, cp.origin, k->sk, note, sizeof note, &note_len), ERR_OK);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    struct bundle_writer *w = NULL;
    cr_assert_eq(bundle_writer_new(&w, f), ERR_OK);
    struct bundle_log_hdr hdr = {.first = 0, .count = n};
    memcpy(hdr.key, k->pk, KEY_PUBLIC_SIZE);
    cr_assert_eq(bundle_write_log(w, &hdr), ERR_OK);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(bundle_write_leaf(w, leaves[i], lens[i]), ERR_OK);
    }
    cr_assert_eq(bundle_write_checkpoint(w, note, note_len), ERR_OK);
    cr_assert_eq(bundle_writer_finish(w), ERR_OK);
    bundle_writer_free(w);
    cr_assert_eq(fclose(f), 0);
}

/* Encodes a commit of one change to person pk, setting name (and existence when exists >= 0). */
static uint8_t *
encode_person(uint64_t hlc, const char *pk, int exists, const char *col, const char *name,
              size_t *len)
{
    Cdht__Cell cell = CDHT__CELL__INIT;
    cell.col = (char *)col;
    cell.value_case = CDHT__CELL__VALUE_S;
    cell.s = (char *)name;
    Cdht__Cell *cells[] = {&cell};
    Cdht__Change ch = CDHT__CHANGE__INIT;
    ch.table = "person";
    ch.pk = (char *)pk;
    if (exists >= 0) {
        ch.has_exists = 1;
        ch.exists = exists;
    }
    ch.n_cells = 1;
    ch.cells = cells;
    Cdht__Change *chs[] = {&ch};
    Cdht__Commit c = CDHT__COMMIT__INIT;
    c.hlc = hlc;
    c.wall_ms = hlc_ms(hlc);
    c.n_changes = 1;
    c.changes = chs;
    cr_assert_eq(leaf_validate(&c), ERR_OK);
    uint8_t *out = NULL;
    cr_assert_eq(leaf_encode(&c, &out, len), ERR_OK);
    return out;
}

/* (f) A leaf that is not a Commit, in a log whose checkpoint validly signs it: ERR_CORRUPT
 * "not a valid commit", and the valid leaf before it is not applied either. */
Test(exchange, signed_garbage_leaf_refused)
{
    struct fx x;
    fx_open(&x);
    size_t good_len = 0;
    uint8_t *good = encode_person(hlc_pack(hlc_wall_ms(), 0), "0000000000000001", 1, "name",
                                  "Vũ Thị Hoa", &good_len);
    static const uint8_t garbage[] = "this is not a protobuf Commit\xff\xff\xff";
    static const uint8_t no_changes[] = {0x09, 1, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x01};
    const uint8_t *const bad[] = {garbage, no_changes};
    const size_t bad_len[] = {sizeof garbage - 1, sizeof no_changes};
    for (int k = 0; k < 2; k++) {
        const uint8_t *leaves[] = {good, bad[k]};
        size_t lens[] = {good_len, bad_len[k]};
        struct keys key;
        hand_bundle(x.dir, x.tampered, leaves, lens, 2, &key);
        struct exchange_report rep;
        import_expect(x.dst, x.tampered, ERR_CORRUPT, &rep, "signed garbage");
        cr_assert_not_null(strstr(rep.msg, "leaf 1 is not a valid commit"), "%s", rep.msg);
        cr_assert_eq(rep.leaves, 0);
        keys_wipe(&key);
    }
    /* A log built the same way of the good leaf alone is accepted: only the bad leaf was. */
    const uint8_t *leaves[] = {good};
    size_t lens[] = {good_len};
    struct keys key;
    hand_bundle(x.dir, x.tampered, leaves, lens, 1, &key);
    keys_wipe(&key);
    free(good);
    struct exchange_report rep;
    import_expect(x.dst, x.tampered, ERR_OK, &rep, "hand-made valid log");
    cr_assert_eq(rep.leaves, 1);
    fx_close(&x);
}

/* ---- forks, gaps, duplicates --------------------------------------------------------------- */

/* Two homes on one key (a copied home) write different leaves: the log forks. A third replica
 * that holds one history takes the other's validly signed bundle as an equivocation: the proof
 * is stored, that log's section is not applied and the replica's state stays as it was (the
 * longer, other history's proof is built from the bundle's leaves). An export from the forked
 * side against the first side's heads is refused (ERR_FORK) and leaves no file behind. */
Test(exchange, fork_refused)
{
    char *dir = support_tmpdir();
    char *a_home = support_path(dir, "a");
    char *b_home = support_path(dir, "b");
    char *c_home = support_path(dir, "c");
    char *a_bundle = support_path(dir, "a.bundle");
    char *b_bundle = support_path(dir, "b.bundle");
    char *b_since = support_path(dir, "b-since.bundle");
    struct replica *a = support_replica(a_home, "V1");
    replica_close(a);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", a_home, b_home);
    cr_assert_eq(system(cmd), 0);
    a = support_reopen(a_home);
    struct replica *b = support_reopen(b_home);
    cr_assert_arr_eq(a->pk, b->pk, KEY_PUBLIC_SIZE, "one key, two homes");
    char id[17];
    cr_assert_eq(support_person_add(a, "Ngô Văn Long", 1981, "V1", id), ERR_OK);
    cr_assert_eq(support_person_add(a, "Ngô Văn Minh", 1982, "V1", id), ERR_OK);
    cr_assert_eq(support_person_add(b, "Bùi Thị Nga", 1983, "V1", id), ERR_OK);
    cr_assert_eq(support_person_add(b, "Bùi Thị Oanh", 1984, "V1", id), ERR_OK);
    cr_assert_eq(support_person_add(b, "Bùi Thị Phương", 1985, "V1", id), ERR_OK);
    export_all(a, a_bundle);
    export_all(b, b_bundle);

    struct replica *c = support_replica(c_home, "V1");
    struct exchange_report rep;
    import_expect(c, a_bundle, ERR_OK, &rep, "first history");
    cr_assert_eq(rep.leaves, 2);
    struct snap before;
    snap_take(c, &before);
    import_expect(c, b_bundle, ERR_OK, &rep, "second history");
    cr_assert_eq(rep.equivocations, 1);
    cr_assert_eq(rep.leaves, 0);
    snap_assert_same(c, &before, "the other history is not applied");
    snap_free(&before);
    uint64_t held = 0;
    cr_assert_eq(witness_equivocation_count(c->st, &held), ERR_OK);
    cr_assert_eq(held, 1);
    /* Verification alone accepts it too (it would store the proof). */
    cr_assert_eq(exchange_verify(c, b_bundle, &rep), ERR_OK);

    /* The forked side exports against the heads of a replica holding the other history. */
    struct heads_entry *h = NULL;
    size_t hn = 0;
    cr_assert_eq(exchange_heads(c, &h, &hn), ERR_OK);
    err_code rc = exchange_export(b, b_since, h, hn, &rep);
    cr_assert_eq(rc, ERR_FORK, "export --since: %s (%s)", err_str(rc), rep.msg);
    cr_assert_not_null(strstr(rep.msg, "forked log"), "%s", rep.msg);
    struct stat sb;
    cr_assert_neq(stat(b_since, &sb), 0, "a refused export leaves no file");
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", b_since);
    cr_assert_neq(stat(tmp, &sb), 0, "nor its temporary file");
    free(h);
    /* Likewise against the heads of the other forked home itself. */
    cr_assert_eq(exchange_heads(a, &h, &hn), ERR_OK);
    rc = exchange_export(b, b_since, h, hn, &rep);
    cr_assert_eq(rc, ERR_FORK, "export --since A: %s (%s)", err_str(rc), rep.msg);
    cr_assert_neq(stat(b_since, &sb), 0);
    free(h);

    replica_close(a);
    replica_close(b);
    replica_close(c);
    support_rmrf(dir);
    free(dir);
    free(a_home);
    free(b_home);
    free(c_home);
    free(a_bundle);
    free(b_bundle);
    free(b_since);
}

/* A bundle exported --since the heads of a replica that holds more than the target starts
 * past the target's end of that log: ERR_INVAL (export again), and nothing changes. */
Test(exchange, gap_refused)
{
    struct fx x;
    fx_open(&x);
    char *mid_home = support_path(x.dir, "mid");
    char *since_bundle = support_path(x.dir, "since.bundle");
    struct replica *mid = support_replica(mid_home, "V1");
    struct exchange_report rep;
    import_expect(mid, x.bundle, ERR_OK, &rep, "mid takes everything");
    char id[17];
    cr_assert_eq(support_person_add(x.src, "Đinh Văn Quang", 1977, "V1", id), ERR_OK);
    cr_assert_eq(support_person_add(x.src, "Đinh Văn Quý", 1978, "V1", id), ERR_OK);
    struct heads_entry *h = NULL;
    size_t hn = 0;
    cr_assert_eq(exchange_heads(mid, &h, &hn), ERR_OK);
    cr_assert_eq(exchange_export(x.src, since_bundle, h, hn, &rep), ERR_OK, "%s", rep.msg);
    cr_assert_eq(rep.leaves, 2);
    free(h);
    import_expect(x.dst, since_bundle, ERR_INVAL, &rep, "gap");
    cr_assert_not_null(strstr(rep.msg, "starts at leaf 6"), "%s", rep.msg);
    /* The replica that holds the start takes it. */
    import_expect(mid, since_bundle, ERR_OK, &rep, "no gap");
    cr_assert_eq(rep.leaves, 2);
    replica_close(mid);
    free(mid_home);
    free(since_bundle);
    fx_close(&x);
}

/* Importing the same bundle twice: the second time every leaf is a duplicate, none is new, and
 * the state does not move. */
Test(exchange, import_is_idempotent)
{
    struct fx x;
    fx_open(&x);
    struct exchange_report rep;
    import_expect(x.dst, x.bundle, ERR_OK, &rep, "first");
    cr_assert_eq(rep.leaves, 6);
    cr_assert_eq(rep.duplicates, 0);
    struct snap after_first;
    snap_take(x.dst, &after_first);
    import_expect(x.dst, x.bundle, ERR_OK, &rep, "second");
    cr_assert_eq(rep.leaves, 0);
    cr_assert_eq(rep.duplicates, 6);
    cr_assert_eq(rep.logs, 1);
    snap_assert_same(x.dst, &after_first, "second import");
    snap_free(&after_first);
    /* The source, given its own log back, is unchanged too. */
    struct snap src_before;
    snap_take(x.src, &src_before);
    import_expect(x.src, x.bundle, ERR_OK, &rep, "own log");
    cr_assert_eq(rep.leaves, 0);
    cr_assert_eq(rep.duplicates, 6);
    snap_assert_same(x.src, &src_before, "own log back");
    snap_free(&src_before);
    fx_close(&x);
}

/* ---- bounded transactions and skew ---------------------------------------------------------- */

/* A bundle of more leaves than one apply batch (two full batches and one more leaf) gives the
 * source's exact state, and an audit of the target is clean. */
Test(exchange, import_larger_than_one_batch, .timeout = 600)
{
    char *dir = support_tmpdir();
    char *s_home = support_path(dir, "s");
    char *t_home = support_path(dir, "t");
    char *path = support_path(dir, "big.bundle");
    struct replica *s = support_replica(s_home, "V1");
    const unsigned n = 2 * STORE_APPLY_BATCH_MAX + 1;
    char first[17] = "";
    for (unsigned i = 0; i < n; i++) {
        char id[17];
        if (i % 7 == 6) {
            cr_assert_eq(support_person_set_name(s, first, i % 2 ? "Lý Văn Sơn" : "Lý Thị Sen"),
                         ERR_OK);
            continue;
        }
        cr_assert_eq(support_person_add(s, "Hồ Văn Tâm", 1950 + i % 50, "V1", id), ERR_OK);
        if (first[0] == '\0') {
            memcpy(first, id, sizeof first);
        }
    }
    export_all(s, path);
    struct replica *t = support_replica(t_home, "V1");
    struct exchange_report rep;
    import_expect(t, path, ERR_OK, &rep, "big");
    cr_assert_eq(rep.leaves, n);
    char a[65], b[65];
    support_state_hex(s, a);
    support_state_hex(t, b);
    cr_assert_str_eq(a, b);
    cr_assert_eq(support_total_leaves(t), n);
    struct heads_entry *hs = NULL, *ht = NULL;
    size_t ns = 0, nt = 0;
    cr_assert_eq(exchange_heads(s, &hs, &ns), ERR_OK);
    cr_assert_eq(exchange_heads(t, &ht, &nt), ERR_OK);
    const struct heads_entry *e = heads_find(ht, nt, s->pk);
    cr_assert_not_null(e);
    cr_assert_eq(e->size, n);
    cr_assert_arr_eq(e->root, heads_find(hs, ns, s->pk)->root, HASH_SIZE);
    /* The stored checkpoint of the imported log is the source's last one. */
    struct log_head lh;
    uint8_t note[NOTE_SIZE_MAX];
    size_t note_len = 0;
    uint64_t cp_size = 0;
    cr_assert_eq(log_get(t->st, s->pk, &lh), ERR_OK);
    cr_assert_eq(log_checkpoint_get(t->st, lh.id, note, &note_len, &cp_size), ERR_OK);
    cr_assert_eq(cp_size, n);
    audit_clean(t, n);
    free(hs);
    free(ht);
    replica_close(s);
    replica_close(t);
    support_rmrf(dir);
    free(dir);
    free(s_home);
    free(t_home);
    free(path);
}

/* Leaves written by a replica whose clock is a day ahead are flagged on import (rep.skewed),
 * stored with their flag, and applied; the importer's own clock is not dragged forward. */
Test(exchange, skewed_leaves_flagged_and_applied)
{
    const long long now = 1767225600000ll; /* 2026-01-01T00:00:00Z */
    const long long day = 24ll * 60 * 60 * 1000;
    char *dir = support_tmpdir();
    char *s_home = support_path(dir, "s");
    char *t_home = support_path(dir, "t");
    char *path = support_path(dir, "skew.bundle");
    set_now(now);
    struct replica *t = support_replica(t_home, "V1");
    set_now(now + day);
    struct replica *s = support_replica(s_home, "V1");
    char id[17];
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(support_person_add(s, "Mai Văn Tú", 1970 + i, "V1", id), ERR_OK);
    }
    export_all(s, path);
    set_now(now);
    struct exchange_report rep;
    import_expect(t, path, ERR_OK, &rep, "skewed");
    cr_assert_eq(rep.skewed, 3);
    cr_assert_eq(rep.leaves, 3);
    char a[65], b[65];
    support_state_hex(s, a);
    support_state_hex(t, b);
    cr_assert_str_eq(a, b, "skewed leaves are applied");
    sqlite3_stmt *q = NULL;
    cr_assert_eq(
        sqlite3_prepare_v2(t->st->db, "SELECT count(*) FROM leaf WHERE skew=1", -1, &q, NULL),
        SQLITE_OK);
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_int(q, 0), 3, "the flag is stored with each leaf");
    sqlite3_finalize(q);
    /* The target's next commit on another row is dated by its own clock. */
    char mine[17];
    cr_assert_eq(support_person_add(t, "Tạ Thị Uyên", 1999, "V1", mine), ERR_OK);
    struct log_head own;
    cr_assert_eq(log_get(t->st, t->pk, &own), ERR_OK);
    cr_assert_eq(own.size, 1);
    uint8_t *data = NULL;
    size_t len = 0;
    cr_assert_eq(log_leaf_read(t->st, own.id, 0, &data, &len), ERR_OK);
    Cdht__Commit *c = NULL;
    cr_assert_eq(leaf_decode(data, len, &c), ERR_OK);
    cr_assert_eq(hlc_ms(c->hlc), now, "the clock was not adopted from skewed leaves");
    leaf_free(c);
    free(data);
    /* Importing the same leaves again flags nothing new: they are duplicates. */
    import_expect(t, path, ERR_OK, &rep, "skewed again");
    cr_assert_eq(rep.skewed, 0);
    cr_assert_eq(rep.duplicates, 3);
    replica_close(s);
    replica_close(t);
    support_rmrf(dir);
    free(dir);
    free(s_home);
    free(t_home);
    free(path);
}

struct swap_ctx {
    const char *path;      /* the bundle being imported */
    const uint8_t *bytes;  /* what to write over it between the passes */
    size_t len;
};

static void
swap_file(void *ctx)
{
    const struct swap_ctx *s = ctx;
    support_spit(s->path, s->bytes, s->len);
}

/* A bundle file rewritten between the two passes of import (a hostile USB device, a network
 * share) with a same-size forgery: what gets applied is what pass one verified, because both
 * passes read a private copy. */
Test(exchange, file_rewritten_between_passes, .timeout = 120)
{
    struct fx x;
    fx_open(&x);
    /* Large enough (names that do not compress) that no stdio buffer holds the file between
     * the passes. */
    for (int i = 0; i < 800; i++) {
        char id[17], name[96];
        uint8_t noise[24];
        char hex[49];
        randombytes_buf(noise, sizeof noise);
        sodium_bin2hex(hex, sizeof hex, noise, sizeof noise);
        snprintf(name, sizeof name, "Võ Thị %s", hex);
        cr_assert_eq(support_person_add(x.src, name, 1970 + i % 40, "V1", id), ERR_OK);
    }
    export_all(x.src, x.bundle);
    struct recs rs;
    recs_load(x.bundle, &rs);
    /* The forgery: one byte of a name's text changed, framing rebuilt, same size. */
    size_t li = recs_find(&rs, BUNDLE_REC_LEAF, 1);
    struct rec *leaf = &rs.r[li];
    leaf->data[leaf->len - 3] ^= 0x01;
    recs_write(x.tampered, &rs);
    size_t forged_len = 0;
    uint8_t *forged = support_slurp(x.tampered, &forged_len);
    /* Alone, the forgery is refused. */
    struct exchange_report rep;
    import_expect(x.dst, x.tampered, ERR_CORRUPT, &rep, "forgery alone");
    /* Written over the file between the passes, it changes nothing: what pass one verified
     * (the genuine bundle) is what is applied. */
    cr_assert_gt(forged_len, 16 * 1024, "the bundle must exceed stdio's buffer");
    struct swap_ctx sw = {.path = x.bundle, .bytes = forged, .len = forged_len};
    err_code rc = exchange_import_between(x.dst, x.bundle, &rep, swap_file, &sw);
    cr_assert_eq(rc, ERR_OK, "%s: %s", err_str(rc), rep.msg);
    cr_assert_eq(rep.leaves, 806);
    char a[65], b[65];
    support_state_hex(x.src, a);
    support_state_hex(x.dst, b);
    cr_assert_str_eq(a, b, "the replica holds what the source wrote, not the forgery");
    audit_clean(x.dst, 806);
    /* No copy is left behind in the home (it was unlinked when made). */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | grep -q import", x.dst_home);
    cr_assert_neq(system(cmd), 0, "a private copy was left in the home");
    free(forged);
    recs_free(&rs);
    fx_close(&x);
}
