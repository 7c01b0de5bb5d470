/*
 * Record proofs (DESIGN.md section 3: "an auditor can verify one record offline"): one file
 * that shows a leaf is in its device's log at a signed (and possibly co-signed) size, and that
 * the device holds a chain of certificates, each a leaf of its issuer's log, up to a pinned
 * root. The format is text (docs/PROTOCOL.md, "Record proofs"):
 *
 *     cdht-proof/1\n
 *     section                              the record
 *     chain <D>\n
 *     section{D}                           the certificates, from the signer's up to the root's
 *     end\n
 *
 *     section = log <base64 key>\n index <decimal>\n leaf <base64 leaf>\n
 *               proof <k>\n (<base64 hash>\n){k} checkpoint <n>\n <n bytes: the note, verbatim>
 *
 * Certificate section i is the leaf of issuer i's log (its `log` line) holding the Cert whose
 * subject is the key one level down: the record's log for i = 0, section i - 1's log above.
 * Pure: no SQLite, no I/O. node/prove.c assembles a proof from a replica, tools/prove.c writes
 * and reads the files.
 */
#ifndef CDHT_PROOF_H
#define CDHT_PROOF_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "limits.h"

#define PROOF_MAGIC "cdht-proof/1"
/* Room for a verdict sentence: names a log by its base64 key, an index, a size, a role. */
#define PROOF_WHY_SIZE 256u

/* A leaf, its RFC 6962 inclusion proof, and the checkpoint note the proof leads to. */
struct proof_section {
    uint8_t key[KEY_PUBLIC_SIZE]; /* the log (the device key that signed the note) */
    uint64_t index;               /* of the leaf in that log */
    uint8_t *leaf;                /* owned; leaf_len bytes, 1..LEAF_SIZE_MAX */
    size_t leaf_len;
    uint8_t hash[MERKLE_PROOF_HASHES_MAX]
                [HASH_SIZE]; /* audit path, sibling nearest the leaf first */
    size_t hash_count;
    uint8_t note[NOTE_SIZE_MAX]; /* signed checkpoint note, cosignature lines included, verbatim */
    size_t note_len;             /* 1..NOTE_SIZE_MAX, ends in '\n' */
};

/* About 60 KiB without the leaves: allocate it (proof_new), don't put it on the stack. */
struct proof {
    struct proof_section record;
    size_t chain_count; /* 0..PROOF_CHAIN_MAX; 0 only when the record's log is the root's */
    struct proof_section chain[PROOF_CHAIN_MAX];
};

/* A zeroed proof; ERR_NOMEM. proof_free releases it and every leaf it owns (NULL: no-op). */
err_code proof_new(struct proof **out) WARN_UNUSED;
void proof_free(struct proof *p);

/* Writes p in the format above. On ERR_OK *out is malloc'd, owned by the caller. ERR_INVAL for
 * a proof the decoder would refuse (a field out of its limits). */
err_code proof_encode(const struct proof *p, uint8_t **out, size_t *len) WARN_UNUSED;

/* Reads the container: every line's grammar (one spelling per value, like the heads file),
 * counts and lengths against their limits before anything is allocated, nothing after "end\n".
 * It checks no signature, hash or certificate: that is proof_verify's work. On ERR_OK *out is
 * owned by the caller (proof_free). ERR_MSGSIZE above PROOF_FILE_SIZE_MAX or a limit;
 * ERR_CORRUPT for anything else that is not the grammar. */
err_code proof_decode(const uint8_t *buf, size_t len, struct proof **out) WARN_UNUSED;

/* What proof_verify found wrong, first failure only. Values never change meaning. */
enum proof_failure {
    PROOF_FAIL_NONE = 0,
    PROOF_FAIL_NOTE_MALFORMED = 1, /* a checkpoint note does not parse (ERR_CORRUPT) */
    PROOF_FAIL_NOTE_ORIGIN = 2,    /* a note's origin is not its section's log (ERR_CORRUPT) */
    PROOF_FAIL_NOTE_SIGNATURE = 3, /* a note is not signed by its section's log key (ERR_AUTH) */
    PROOF_FAIL_INDEX = 4,          /* the leaf's index is not below the note's size (ERR_CORRUPT) */
    PROOF_FAIL_INCLUSION = 5,      /* the leaf is not included at that index (ERR_AUTH) */
    PROOF_FAIL_COSIGNATURE = 6,    /* a cosignature line does not verify (ERR_AUTH) */
    PROOF_FAIL_CERT_DECODE = 7,    /* a certificate leaf is not a valid commit (ERR_CORRUPT) */
    PROOF_FAIL_CERT_SUBJECT = 8,   /* it holds no certificate for the key below (ERR_AUTH) */
    PROOF_FAIL_CERT_ROLE = 9,      /* an issuer above the signer is not certified hub (ERR_AUTH) */
    PROOF_FAIL_ROOT = 10,          /* the chain does not end at the pinned root (ERR_AUTH) */
};

struct proof_verdict {
    enum proof_failure failure;
    int section;   /* failing section: -1 the record, i the certificate chain[i] */
    uint64_t size; /* on ERR_OK: the record's signed checkpoint size */
    size_t cosigs; /* on ERR_OK: witnesses whose cosignature of it verified */
    uint8_t witness[NOTE_SIGNATURES_MAX][KEY_PUBLIC_SIZE]; /* their keys, cosigs of them */
    uint64_t witness_time_s[NOTE_SIGNATURES_MAX];          /* and their cosignature times */
    char role[16];            /* on ERR_OK: the role the signer's certificate grants ("root") */
    char why[PROOF_WHY_SIZE]; /* on failure: one sentence naming what failed, no payload */
};

/*
 * Verifies p against the pinned root key: for the record and each certificate section, the
 * note is signed by the section's log key and names its log, every cosignature line of a cdht
 * witness key ("cdht/<hex>") verifies, the index is below the note's size and the leaf is
 * included there (RFC 9162 2.1.3.2); each certificate leaf decodes and holds a Cert for the
 * key one level down, with role hub above the signer's own; the last issuer (the record's log
 * when the chain is empty) is root. Not checked offline (the replica's units tree and later
 * leaves are needed): that the grants' units cover the record, expiry, revocation.
 * ERR_OK, or ERR_AUTH / ERR_CORRUPT with v->failure and v->why saying which check failed.
 */
err_code proof_verify(const struct proof *p, const uint8_t root[KEY_PUBLIC_SIZE],
                      struct proof_verdict *v) WARN_UNUSED;

#endif
