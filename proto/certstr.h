/*
 * The certificate string a person can hold (issue 5 item 6; /work/issue5-design.md section 5
 * items 13-14): a compact, offline proof that one approval leaf is in its approver's log at a
 * signed size, short enough for a QR code. It is a record proof (proto/proof.h) with everything
 * a verifier can recompute left out: the checkpoint note is rebuilt from the log key, the size
 * and the root the inclusion proof yields, so only the log's Ed25519 signature travels; the
 * certificate chain travels as hash-linked references, checked against a replica's trust state
 * when one is at hand (`cdht verify --home`), and printed as unchecked otherwise.
 *
 *     text = "cdht-cert1:" || base64url-unpadded(body)
 *     body = version u8 (1)
 *            log key 32
 *            index varint, size varint             0 <= index < size
 *            k path hashes of 32                    k = the RFC 9162 path length of (index,
 *                                                   size): not stored, so one spelling
 *            log signature 64                       Ed25519 over the note body
 *                                                   "cdht/<hex key>\n<size>\n<base64 root>\n"
 *            leaf length varint (>= 1), leaf        the approval leaf, verbatim
 *            cosignatures u8 (0 or 1)
 *              [witness key 32, time u64 BE, signature 64]   C2SP cosignature/v1 over the note
 *            chain length u8 (0..PROOF_CHAIN_MAX)
 *              [issuer key 32, certificate leaf index varint, leaf hash prefix 16]
 *            check 4                                SHA-256("cdht-cert1\n" || all above)[0:4]
 *
 * Varints are unsigned LEB128 in their shortest form. Chain reference i names the certificate
 * (a leaf of issuer i's log) whose subject is the log key for i = 0, issuer i - 1 above it; the
 * last issuer is the root. The check bytes are not a signature: the references are not covered
 * by any signature (nothing signs them but their own issuers' logs, which the string does not
 * carry), so a mistyped or misread string must still be refused as such. Any one changed
 * character fails the check, and a string that passes it but was forged fails the signature,
 * the inclusion proof, or (its references) the --home check.
 *
 * Pure: no SQLite and no I/O. tools/certificate.c builds one from node/prove.c's proof;
 * tools/prove.c (cmd_verify) reads it.
 */
#ifndef CDHT_CERTSTR_H
#define CDHT_CERTSTR_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "limits.h"

struct proof;

#define CERTSTR_PREFIX "cdht-cert1:"
#define CERTSTR_PREFIX_LEN (sizeof CERTSTR_PREFIX - 1)
#define CERTSTR_VERSION 1u
/* Longest certificate string, prefix included. A QR code of version 33 at error correction
 * level L holds 2,068 bytes in byte mode: 2,048 characters is the largest power of two that a
 * phone scans from paper (version 40 holds 2,953, but its 177x177 modules need a bigger print
 * than an A5 certificate). A commune approver's string is about 1,300 characters (a log of
 * 10,000 leaves: 14 path hashes, a leaf of about 300 bytes, one cosignature, one reference),
 * version 26 at level L. Checked before any decoding, so a pasted document costs nothing. This
 * limit belongs in proto/limits.h beside ENROLL_TEXT_SIZE_MAX. */
#define CERT_STRING_SIZE_MAX 2048u
/* The largest body such a string can carry (base64url: 4 characters per 3 bytes). */
#define CERTSTR_BODY_SIZE_MAX (((CERT_STRING_SIZE_MAX - CERTSTR_PREFIX_LEN) * 3u) / 4u)
/* Bytes of a certificate leaf's hash a chain reference keeps: 128 bits, collision-resistant
 * enough to name one leaf among those its issuer could ever write, at half a hash's size. */
#define CERTSTR_REF_HASH_SIZE 16u
#define CERTSTR_CHECK_SIZE 4u

/* One link of the approver's certificate chain, by reference. */
struct certstr_ref {
    uint8_t issuer[KEY_PUBLIC_SIZE];
    uint64_t index;                           /* the certificate's leaf in the issuer's log */
    uint8_t leaf_hash[CERTSTR_REF_HASH_SIZE]; /* first bytes of its RFC 6962 leaf hash */
};

/* A decoded string, about 3.8 KiB: fits on the stack. */
struct certstr {
    uint8_t key[KEY_PUBLIC_SIZE];                     /* the approver's log (device key) */
    uint64_t index;                                   /* the approval leaf's index in it */
    uint64_t size;                                    /* the signed tree size */
    uint8_t hash[MERKLE_PROOF_HASHES_MAX][HASH_SIZE]; /* audit path, nearest sibling first */
    size_t hash_count;
    uint8_t sig[SIG_SIZE]; /* the log's checkpoint signature */
    uint8_t leaf[CERTSTR_BODY_SIZE_MAX];
    size_t leaf_len; /* 1..CERTSTR_BODY_SIZE_MAX */
    int has_cosig;
    uint8_t witness[KEY_PUBLIC_SIZE];
    uint64_t witness_time_s; /* <= COSIG_TIME_S_MAX */
    uint8_t witness_sig[SIG_SIZE];
    size_t chain_count; /* 0..PROOF_CHAIN_MAX; 0 when the log is the root's */
    struct certstr_ref chain[PROOF_CHAIN_MAX];
};

/* The RFC 9162 inclusion path length of index in a tree of size leaves (index < size). */
size_t certstr_path_len(uint64_t index, uint64_t size);

/* Takes from a record proof (node/prove.c) what the string carries: the record's key, index,
 * path and leaf; the size and the log's signature line of its note; the first cosignature line
 * by a cdht witness key in that note; and a reference to each certificate section. ERR_INVAL
 * with *why when the note has no signature line by the log's key or is not a checkpoint;
 * ERR_MSGSIZE when the leaf alone is larger than any string can carry. */
err_code certstr_from_proof(const struct proof *p, struct certstr *out,
                            const char **why) WARN_UNUSED;

/* Writes the string, NUL-terminated, *len characters. ERR_MSGSIZE when it would be longer than
 * CERT_STRING_SIZE_MAX (the record is too large for a QR code: `cdht prove` writes a file);
 * ERR_INVAL for a field certstr_decode would refuse. *why says which. */
err_code certstr_encode(const struct certstr *c, char out[CERT_STRING_SIZE_MAX + 1], size_t *len,
                        const char **why) WARN_UNUSED;

/* Decodes a string of len bytes (not NUL-terminated, no surrounding white space). It checks the
 * grammar and the check bytes only, no signature. On failure *out is zeroed and *why is a
 * static sentence that repeats none of the input:
 *   ERR_MSGSIZE  longer than CERT_STRING_SIZE_MAX
 *   ERR_CORRUPT  anything else that certstr_encode would not have written byte for byte */
err_code certstr_decode(const char *text, size_t len, struct certstr *out,
                        const char **why) WARN_UNUSED;

/* The approval a leaf carries: the one change of table approval in it. Strings NUL-terminated
 * ("" when the cell is absent or NULL). */
#define CERTSTR_TEXT_SIZE 256u
struct certstr_approval {
    char id[CERTSTR_TEXT_SIZE]; /* the row's pk, "<year>:<person>" */
    char person[CERTSTR_TEXT_SIZE];
    int64_t year;
    char unit[CERTSTR_TEXT_SIZE];
    char outcome[CERTSTR_TEXT_SIZE]; /* approved | rejected | returned */
    char number[CERTSTR_TEXT_SIZE];  /* the decision's number */
    char date[CERTSTR_TEXT_SIZE];
    char signer[CERTSTR_TEXT_SIZE];
};
/* ERR_CORRUPT with *why when the leaf is not a commit, holds no approval change or more than
 * one, or its pk, person or year disagree; ERR_MSGSIZE when a cell is longer than
 * CERTSTR_TEXT_SIZE - 1 bytes. */
err_code certstr_approval(const uint8_t *leaf, size_t len, struct certstr_approval *out,
                          const char **why) WARN_UNUSED;

struct certstr_verdict {
    uint64_t size; /* the signed size */
    struct certstr_approval approval;
    char why[256]; /* on failure: one sentence, no payload */
};

/*
 * Verifies c offline against the pinned root key: the root the path yields for the leaf at
 * index, the log's signature over the rebuilt note, the cosignature (when carried), that the
 * leaf holds an approval with outcome approved, and that the chain's references end at root
 * (the log itself when there are none). The references' issuers below the root, indexes and
 * hashes need a replica (the caller). ERR_OK, or ERR_AUTH (a signature, the inclusion, the
 * root) / ERR_CORRUPT (the leaf) with v->why.
 */
err_code certstr_verify(const struct certstr *c, const uint8_t root[KEY_PUBLIC_SIZE],
                        struct certstr_verdict *v) WARN_UNUSED;

#endif
