/*
 * Every limit cdht enforces, with the reason it exists and what it costs. Decoders check a
 * declared length against these before allocating or buffering; node/ and tools/ use the same
 * names. Relations between limits are checked at compile time at the bottom of this file.
 */
#ifndef CDHT_LIMITS_H
#define CDHT_LIMITS_H

#include <assert.h>
#include <stdint.h>

/* SHA-256, Ed25519 and base64 sizes the formats are built from (not tunable). */
#define HASH_SIZE 32u
#define KEY_PUBLIC_SIZE 32u
#define KEY_SECRET_SIZE 64u /* libsodium's seed || public key form */
#define KEY_SEED_SIZE 32u
#define SIG_SIZE 64u

/* One leaf is one encoded Commit. A bulk commit of 1,000 people is about 100 KiB; 1 MiB leaves
 * room for ten times that while keeping the decode buffer of one leaf small. */
#define LEAF_SIZE_MAX (1024u * 1024u)

/* Memory a decoded leaf may take (protobuf-c structs, arrays, copies of strings). A hostile
 * leaf of tiny cells inflates about 30x when decoded; 48x LEAF_SIZE_MAX bounds it. Exceeding
 * it refuses the leaf rather than allocating more. */
#define LEAF_DECODED_SIZE_MAX (48u * LEAF_SIZE_MAX)

/* Changes in one Commit: bounds the work of merging one leaf (one SQLite statement each). */
#define COMMIT_CHANGES_MAX 10000u
/* Certificates, and revocations, in one Commit: a hub certifying every laptop of a district
 * at once is a few hundred; the bound keeps one leaf's trust work small. */
#define COMMIT_CERTS_MAX 1000u
/* A device's name in a certificate or request ("Thon 3 - laptop 2"): a label, not a payload. */
#define DEVICE_NAME_SIZE_MAX 128u
/* The operator's words on a revocation ("laptop stolen 2026-11-02"). */
#define REVOKE_REASON_SIZE_MAX 256u
/* An enrolment request as text ("cdht-enroll1:" + base64url): it travels by chat message or QR
 * code, so it must stay short; the largest request cdht can write (a 128-byte name, 32-byte
 * unit and network codes) is 425 characters (proto/enroll.c checks this at compile time). The
 * bound is checked before any decoding, so a pasted document costs nothing. */
#define ENROLL_TEXT_SIZE_MAX 512u
/* Cells in one Change: more than any replicated table has columns. */
#define CHANGE_CELLS_MAX 64u
/* Table and column names are short identifiers. */
#define NAME_IDENT_SIZE_MAX 64u
/* A primary key is an id or a code, never a payload. */
#define PK_SIZE_MAX 128u
/* A text cell: a person's name, a comment. Bounds one cell, not a row. */
#define VALUE_TEXT_SIZE_MAX (16u * 1024u)

/* A Merkle tree of at most 2^63 leaves has proofs of at most 63 hashes; 64 bounds the
 * buffers of every proof and of the compact range ("frontier") of right-edge subtrees. */
#define MERKLE_PROOF_HASHES_MAX 64u
#define MERKLE_FRONTIER_HASHES_MAX 64u

/* A checkpoint note: origin line, size, root, a few signature lines. C2SP does not bound it;
 * we do, because it is read from bundles and peers. */
#define NOTE_SIZE_MAX 4096u
#define NOTE_ORIGIN_SIZE_MAX 256u
#define NOTE_SIGNATURES_MAX 16u /* signature lines read from one note; more is refused */

/* Bundles are read as a stream, so memory does not grow with the file; these bound the time
 * and disk an import can be made to spend before it is refused. */
#define BUNDLE_INFLATED_SIZE_MAX (4ull * 1024u * 1024u * 1024u) /* decompressed body bytes */
#define BUNDLE_RECORD_SIZE_MAX (LEAF_SIZE_MAX + 64u)            /* one record's payload */
#define BUNDLE_LOGS_MAX 100000u /* log sections in one bundle: a province has ~3,000 devices */
/* zstd window accepted when decompressing (ZSTD_d_windowLogMax): 8 MiB, the zstd -3 window is
 * far smaller. A larger window in a hostile frame is refused instead of allocated. */
#define BUNDLE_ZSTD_WINDOW_LOG_MAX 23
/* Compression level of bundles: zstd's default, the same as `zstd -3`. */
#define BUNDLE_ZSTD_LEVEL 3

/* Entries in a heads file: one per log a replica holds. */
#define HEADS_ENTRIES_MAX BUNDLE_LOGS_MAX
#define HEADS_FILE_SIZE_MAX (HEADS_ENTRIES_MAX * 128u)

/* Leaves merged in one SQLite transaction when importing: bounds the WAL and the time one
 * transaction holds the write lock, while amortising the fsync. */
#define STORE_APPLY_BATCH_MAX 512u

/* Passphrase files are read whole; a passphrase is not a document. */
#define PASSPHRASE_SIZE_MAX 1024u

/* A person's full name, in bytes after NFC normalisation. */
#define PERSON_NAME_SIZE_MAX 256u
/* A unit's display name. */
#define UNIT_NAME_SIZE_MAX 256u
/* A unit code: Decision 19/2025 codes are 2 or 5 digits; generated village codes are longer. */
#define UNIT_CODE_SIZE_MAX 32u

/* Hybrid logical clock (DESIGN.md section 4). */
/* A received commit whose clock is more than this ahead of our wall clock is flagged as clock
 * skew, and its clock is not adopted into ours (one laptop set to 2099 must not drag every
 * replica's clock with it). Ten minutes tolerates unsynchronised but sane clocks. */
#define HLC_AHEAD_FLAG_MS (10ll * 60 * 1000)
/* A local write is refused when the wall clock is this far behind the replica's clock: the
 * laptop's clock was reset (dead battery), and writing would misorder its own edits. */
#define HLC_BEHIND_REFUSE_MS (60ll * 60 * 1000)

/* Witnessing and equivocation (DESIGN.md section 3; node/witness.h). */
/* Cosignatures of one log carried in one bundle section. A witness co-signs a log at most once
 * per size, and only when an import grew it: eight witnesses co-signing a log every day for
 * twenty years make about 58,000. Bounds the Ed25519 verifications one section can demand;
 * export sends the most recent ones when a log has more. */
#define BUNDLE_COSIGS_PER_LOG_MAX 65536u
/* Equivocation proofs in one bundle, and found in one import. Each is a device caught signing
 * two histories; a province of 3,000 devices with a thousand at once is an attack on the
 * importer, not a deployment. An import holds them in memory (about 10 KiB each) until its
 * second pass stores them. */
#define BUNDLE_EQUIVOCATIONS_MAX 1024u
/* Leaf hashes of a diverging history an import buffers to prove an equivocation when that
 * history is the longer one (the proof needs its subtree hashes, and its leaves are not
 * stored): 32 MiB. A restored laptop writes a few hundred leaves before its next sync; a
 * longer divergence is refused as a fork (ERR_FORK), unproven. */
#define EXCHANGE_DIVERGED_LEAVES_MAX (1u << 20)
/* A commit whose clock (HLC ms) is more than this ahead of the first time a witness co-signed a
 * checkpoint covering it was dated in the future by its writer: the witness's clock bounds when
 * it existed. Ten minutes, as HLC_AHEAD_FLAG_MS, tolerates unsynchronised but sane clocks on
 * both sides; cosignature times have one-second resolution, far below it. */
#define WITNESS_SKEW_BOUND_MS (10ll * 60 * 1000)

/* Record proofs (`cdht prove`, `cdht verify`; proto/proof.h, docs/PROTOCOL.md "Record proofs").
 * Links in a proof's certificate chain, from the signer's certificate up to the one the root
 * issued: the deepest chain trust evaluation accepts (TRUST_DEPTH_MAX in node/trust.h, which
 * node/prove.c checks is equal; proto/ does not include node/). */
#define PROOF_CHAIN_MAX 8u
/* One section of a proof file (a leaf with its inclusion proof and checkpoint): the labels,
 * a 44-character key, a 20-digit index, the base64 of a leaf of LEAF_SIZE_MAX bytes, a count
 * and MERKLE_PROOF_HASHES_MAX lines of 44 characters, and a note of NOTE_SIZE_MAX bytes. */
#define PROOF_SECTION_SIZE_MAX                                                                     \
    (64u + 44u + 20u + 4u * ((LEAF_SIZE_MAX + 2u) / 3u) + MERKLE_PROOF_HASHES_MAX * 45u +          \
     NOTE_SIZE_MAX)
/* A whole proof file, read into memory before it is decoded: the record's section and
 * PROOF_CHAIN_MAX certificate sections fit (about 12.6 MB at most; a real proof is a few KiB,
 * certificate leaves being small). Larger files are refused before they are read whole. */
#define PROOF_FILE_SIZE_MAX (16u * 1024u * 1024u)

/* The latest clock a leaf may carry: 2200-01-01T00:00:00Z in ms. A fixed bound, the same on
 * every replica (a bound from the wall clock would make replicas disagree on which leaves are
 * valid). Without it a signed leaf dated near 2^48 ms would own its cells for good: no later
 * local write could get a larger clock. */
#define HLC_MS_MAX 7258118400000ll

static_assert(BUNDLE_RECORD_SIZE_MAX >= LEAF_SIZE_MAX, "a record holds a leaf");
static_assert(BUNDLE_RECORD_SIZE_MAX >= NOTE_SIZE_MAX, "a record holds a checkpoint note");
static_assert(LEAF_SIZE_MAX <= INT32_MAX, "protobuf-c and nanomsg sizes are int");
static_assert(WITNESS_SKEW_BOUND_MS >= 1000, "cosignature times are whole seconds");
static_assert(32u + 8u + 2u * (2u + NOTE_SIZE_MAX) + 1u + MERKLE_PROOF_HASHES_MAX * HASH_SIZE <=
                  BUNDLE_RECORD_SIZE_MAX,
              "a record holds an equivocation proof");
static_assert(STORE_APPLY_BATCH_MAX > 0, "a batch applies at least one leaf");
static_assert(64u + (1u + PROOF_CHAIN_MAX) * PROOF_SECTION_SIZE_MAX <= PROOF_FILE_SIZE_MAX,
              "a proof file holds the record and a chain of the deepest accepted length");

/* ---- Secure channel (proto/channel.h; docs/PROTOCOL.md "Secure channel") ---------------- */
/* Largest channel message on the wire, of any kind (handshake or transport), header and MAC
 * included. node/ sets nanomsg's NN_RCVMAXSIZE to exactly this. It holds one leaf of
 * LEAF_SIZE_MAX with its checkpoint note, two proofs and framing with room to spare (checked
 * below); the sync layer splits larger batches. Cost: a hub buffers at most one received
 * request and one cached reply per session, so 4 MiB per peer at worst. */
#define CHANNEL_MSG_SIZE_MAX (2u * 1024u * 1024u)
/* Plaintext carried by a handshake message (a hello: versions, a scope name). Handshake
 * payloads are not for data: message 1's is not forward-secret and can be replayed. The bound
 * keeps the work a stranger can make a hub do before it is authenticated small. */
#define CHANNEL_HANDSHAKE_PAYLOAD_SIZE_MAX 1024u
/* The network id bound into every handshake: a network name, which is a code like a unit
 * code (docs/PROTOCOL.md, "Enrolment request"). It is length-prefixed with one byte. */
#define CHANNEL_NETWORK_SIZE_MAX UNIT_CODE_SIZE_MAX
/* Transport messages one direction of a session may carry. Counters start at 1 and a nonce
 * must never repeat under one key; 2^64 - 1 is reserved as Noise reserves it. A session that
 * reaches it is refused (ERR_CLOSED) and the peers handshake again. */
#define CHANNEL_COUNTER_MAX (UINT64_MAX - 1u)

static_assert(CHANNEL_MSG_SIZE_MAX <= INT32_MAX, "NN_RCVMAXSIZE is an int");
static_assert(CHANNEL_MSG_SIZE_MAX - 64u >= BUNDLE_RECORD_SIZE_MAX + NOTE_SIZE_MAX +
                                                2u * MERKLE_PROOF_HASHES_MAX * HASH_SIZE,
              "a transport message holds one leaf with its checkpoint and two proofs");
static_assert(CHANNEL_HANDSHAKE_PAYLOAD_SIZE_MAX + 128u <= CHANNEL_MSG_SIZE_MAX,
              "a handshake message is a channel message");
static_assert(CHANNEL_NETWORK_SIZE_MAX > 0 && CHANNEL_NETWORK_SIZE_MAX <= 255u,
              "the network id's length is one byte in the prologue");
/* ---- end of secure channel ------------------------------------------------------------- */

/* ---- Sync messages (proto/wire.h; docs/PROTOCOL.md "Sync messages") ------------------- */
/* Largest plaintext sync message (one encoded Request or Reply), checked before it is
 * unpacked. It travels as one channel transport message, so it leaves the last 64 KiB of
 * CHANNEL_MSG_SIZE_MAX to the channel's header and MAC (checked below). It holds the largest
 * batch message: WIRE_BATCH_BYTES_MAX compressed leaf bytes plus, for each of
 * WIRE_PULL_LOGS_MAX batches, its key and indexes, a checkpoint note of NOTE_SIZE_MAX, a
 * consistency proof of MERKLE_PROOF_HASHES_MAX hashes and WIRE_COSIGS_MAX cosignature lines
 * (about 12 KiB a batch; proto/wire.c checks the sum at compile time). Cost: one receive
 * buffer per session. */
#define WIRE_MSG_SIZE_MAX (2u * 1024u * 1024u - 64u * 1024u)
/* Memory protobuf-c may allocate to unpack one message (structs, pointer arrays, copies of
 * bytes and strings), counted by proto/wire.c's allocator. A legitimate message takes little
 * more than its own size; a hostile one made of empty submessages would take about 40 times
 * its size, and is refused (ERR_MSGSIZE) when it reaches this bound instead. */
#define WIRE_DECODED_SIZE_MAX (2u * WIRE_MSG_SIZE_MAX)
/* Compressed leaf bytes in one message, its batches together: what one PULL reply or one PUSH
 * moves. 1.5 MiB holds one incompressible leaf of LEAF_SIZE_MAX (zstd adds under 0.5%), or
 * about 10,000 leaves of 100 bytes (zstd -3 shrinks such leaves about 6 times), so a sync of
 * 100,000 changes takes about ten round trips. */
#define WIRE_BATCH_BYTES_MAX (1536u * 1024u)
/* Bytes one batch's zstd frame may declare it inflates to, checked against the frame header
 * before anything is allocated; a frame that does not declare its content size is refused:
 * the decompression-bomb bound. It is the memory a receiver allocates for one batch; about 5
 * times WIRE_BATCH_BYTES_MAX, more than zstd -3 achieves on leaves. */
#define WIRE_BATCH_INFLATED_SIZE_MAX (8u * 1024u * 1024u)
/* Leaves in one batch: bounds the per-leaf work (decode, hash, merge) one batch demands and the
 * leaf hashes a receiver keeps while it checks the batch (256 KiB). */
#define WIRE_BATCH_LEAVES_MAX 8192u
/* Logs one PULL asks for, and batches in one PULL reply or PUSH: many small logs share a round
 * trip, while their per-batch overhead (above) stays within WIRE_MSG_SIZE_MAX. */
#define WIRE_PULL_LOGS_MAX 16u
/* Cosignature lines carried with one batch's checkpoint: one per witness on the way to the
 * province (commune, district, province hubs) with room to spare; as many as the signature
 * lines read from one note. */
#define WIRE_COSIGS_MAX NOTE_SIGNATURES_MAX
/* Checkpoints one COSIG request asks to be co-signed: each costs the witness a note check, a
 * consistency proof and a signature, so one request stays a few milliseconds of work, and
 * 1,000 logs take 16 round trips. */
#define WIRE_COSIGN_MAX 64u
/* Heads in one HEADS page, each way: 1,024 entries are about 80 KiB encoded, and replicas of
 * 1,000 logs compare their heads in one round trip (the no-op sync). */
#define WIRE_HEADS_PAGE_MAX 1024u
/* Unit codes a HELLO asks for, and a reply shares: a device's certificates name a few units; a
 * hub relaying for a district lists its communes, a few hundred at most. */
#define WIRE_SCOPE_UNITS_MAX 256u
/* An error reply's reason: one static sentence, never data. */
#define WIRE_REASON_SIZE_MAX 256u

static_assert(WIRE_MSG_SIZE_MAX + 64u * 1024u <= CHANNEL_MSG_SIZE_MAX,
              "a sync message fits one channel transport message with its header and MAC");
static_assert(WIRE_BATCH_BYTES_MAX < WIRE_MSG_SIZE_MAX, "a message holds a batch's bytes");
static_assert(WIRE_BATCH_INFLATED_SIZE_MAX >= 4u + LEAF_SIZE_MAX,
              "a batch inflates to at least one leaf of LEAF_SIZE_MAX with its length");
static_assert(WIRE_BATCH_INFLATED_SIZE_MAX >= WIRE_BATCH_LEAVES_MAX * 5u,
              "a batch of the most leaves, one byte each, inflates within the bound");
static_assert(WIRE_DECODED_SIZE_MAX >= WIRE_MSG_SIZE_MAX, "unpacking copies the message");
/* ---- end of sync messages -------------------------------------------------------------- */

#endif
