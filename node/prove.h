/*
 * Assembling a record proof (proto/proof.h) from a replica: the leaf, its inclusion proof to the
 * stored signed checkpoint (with the cosignatures held for that size), and, for each link of the
 * signer's certificate chain as trust last evaluated it (node/trust.h), the certificate leaf in
 * the issuer's log with its own proof and checkpoint. `cdht prove` writes the result to a file;
 * `cdht verify` checks it anywhere with proof_verify.
 */
#ifndef CDHT_PROVE_H
#define CDHT_PROVE_H

#include <stdint.h>

#include "err.h"
#include "limits.h"
#include "proof.h"

struct store;

/* Room for the refusal sentence: a base64 key, an index, a quarantine reason and its detail
 * (TRUST_DETAIL_SIZE). */
#define PROVE_WHY_SIZE 384u

/*
 * Builds the proof of leaf index of log key. On ERR_OK *out is owned by the caller (proof_free).
 * Refusals, with a sentence in why (never a payload):
 *   ERR_NOTFOUND  the log or the leaf is not held; no stored signed checkpoint covers the leaf
 *                 (or a certificate of the chain); an issuer's log is not held
 *   ERR_DENIED    no root is pinned (open mode); the leaf is held in quarantine (it does not
 *                 count) and allow_held is 0; the signer, or an issuer above it, has no valid
 *                 chain of certificates to the root
 * and ERR_DB / ERR_CORRUPT / ERR_NOMEM from the replica.
 */
err_code prove_build(struct store *st, const uint8_t key[KEY_PUBLIC_SIZE], uint64_t index,
                     int allow_held, struct proof **out, char why[PROVE_WHY_SIZE]) WARN_UNUSED;

#endif
