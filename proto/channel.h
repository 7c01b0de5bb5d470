/*
 * The secure channel (docs/PROTOCOL.md, "Secure channel"): a Noise IK handshake
 * (Noise_IK_25519_ChaChaPoly_BLAKE2b, with Ed25519 device keys as the static keys) and the
 * transport messages that follow it, fitted to nanomsg REQ/REP. The dialling device (the
 * initiator) knows the listener's (the responder's) device key in advance; the responder learns
 * the initiator's from message 1 and decides whether to admit it before it answers.
 *
 *   initiator                                    responder
 *   channel_init, channel_initiate  --msg 1-->   channel_init, channel_respond (peer key out)
 *                                                [caller checks the key is certified]
 *   channel_finish                  <--msg 2--   channel_admit (or channel_wipe: no reply)
 *   channel_seal (request N)        --req N-->   channel_open (ERR_AGAIN: resend of N)
 *   channel_open (reply N)          <--rep N--   channel_seal (reply N; cache it for resends)
 *
 * Pure and self-contained: fixed-size state, no allocation, no I/O, no logging; libsodium must
 * have been initialised (sodium_init) by the program. Every secret in struct channel is zeroed
 * by channel_wipe(), and a handshake that fails wipes the channel itself.
 */
#ifndef CDHT_CHANNEL_H
#define CDHT_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "limits.h"

/* Format sizes (not tunable). The hash is BLAKE2b-512, as Noise's "BLAKE2b" names. */
#define CHANNEL_DH_SIZE 32u         /* an X25519 public key or secret */
#define CHANNEL_HASH_SIZE 64u       /* BLAKE2b-512: the handshake hash h and chaining key */
#define CHANNEL_KEY_SIZE 32u        /* a ChaCha20-Poly1305 key */
#define CHANNEL_MAC_SIZE 16u        /* the Poly1305 tag after every ciphertext */
#define CHANNEL_SESSION_ID_SIZE 64u /* the final handshake hash */
#define CHANNEL_TAG_SIZE 16u        /* a session's routing tag on transport messages */
#define CHANNEL_HDR_SIZE 2u         /* version byte, type byte */

/* The fixed string the prologue opens with: a new channel format gets a new string. */
#define CHANNEL_PROLOGUE_LABEL "cdht-channel/1\n"

/* Message types, the second byte of every channel message. */
enum channel_msg_type {
    CHANNEL_MSG_HELLO = 1,     /* handshake message 1, initiator to responder */
    CHANNEL_MSG_WELCOME = 2,   /* handshake message 2, responder to initiator */
    CHANNEL_MSG_TRANSPORT = 3, /* a request or a reply of an established session */
};

/* Whole message sizes for a payload of n bytes. */
#define CHANNEL_HELLO_SIZE(n)                                                                      \
    (CHANNEL_HDR_SIZE + CHANNEL_DH_SIZE + KEY_PUBLIC_SIZE + CHANNEL_MAC_SIZE + (n) +               \
     CHANNEL_MAC_SIZE)
#define CHANNEL_WELCOME_SIZE(n) (CHANNEL_HDR_SIZE + CHANNEL_DH_SIZE + (n) + CHANNEL_MAC_SIZE)
#define CHANNEL_TRANSPORT_OVERHEAD (CHANNEL_HDR_SIZE + CHANNEL_TAG_SIZE + 8u + CHANNEL_MAC_SIZE)
#define CHANNEL_HELLO_SIZE_MAX CHANNEL_HELLO_SIZE(CHANNEL_HANDSHAKE_PAYLOAD_SIZE_MAX)
/* The largest plaintext of one transport message: the rest of CHANNEL_MSG_SIZE_MAX. */
#define CHANNEL_PLAINTEXT_SIZE_MAX (CHANNEL_MSG_SIZE_MAX - CHANNEL_TRANSPORT_OVERHEAD)

enum channel_state {
    CHANNEL_WIPED = 0, /* zeroed: after channel_wipe or a failed handshake; init again */
    CHANNEL_READY,     /* after channel_init */
    CHANNEL_INITIATED, /* initiator: message 1 sent, waiting for message 2 */
    CHANNEL_RESPONDED, /* responder: message 1 read, the caller decides on the peer key */
    CHANNEL_OPEN,      /* transport keys in place */
};

enum channel_role {
    CHANNEL_INITIATOR = 1,
    CHANNEL_RESPONDER = 2,
};

/*
 * One end of one session. Embedded by the caller (channel_init / channel_wipe); it owns no
 * memory. Fields are read by the tests and the fuzz target only; callers use the functions.
 */
struct channel {
    enum channel_state state;
    enum channel_role role;
    uint8_t version;                             /* the protocol version bound in the prologue */
    uint8_t network_len;                         /* 1..CHANNEL_NETWORK_SIZE_MAX */
    char network[CHANNEL_NETWORK_SIZE_MAX];      /* not NUL-terminated */
    uint8_t s_pk[KEY_PUBLIC_SIZE];               /* our Ed25519 device key */
    uint8_t s_xsk[CHANNEL_DH_SIZE];              /* secret: its X25519 form */
    uint8_t rs_pk[KEY_PUBLIC_SIZE];              /* the peer's Ed25519 device key */
    uint8_t rs_xpk[CHANNEL_DH_SIZE];             /* its X25519 form */
    uint8_t e_sk[CHANNEL_DH_SIZE];               /* secret: our ephemeral; zeroed after use */
    uint8_t e_pk[CHANNEL_DH_SIZE];               /* our ephemeral public key */
    uint8_t re[CHANNEL_DH_SIZE];                 /* the peer's ephemeral public key */
    int e_fixed;                                 /* e_sk was injected (test vectors only) */
    uint8_t h[CHANNEL_HASH_SIZE];                /* handshake hash; the session id once open */
    uint8_t ck[CHANNEL_HASH_SIZE];               /* secret: chaining key */
    uint8_t k[CHANNEL_KEY_SIZE];                 /* secret: handshake cipher key */
    uint8_t send_key[CHANNEL_KEY_SIZE];          /* secret: our direction's transport key */
    uint8_t recv_key[CHANNEL_KEY_SIZE];          /* secret: the peer's direction's key */
    uint8_t tag[CHANNEL_TAG_SIZE];               /* routing tag, derived from h */
    uint64_t send_counter;                       /* initiator: counter of the last request sealed */
    uint64_t recv_counter;                       /* responder: the last request accepted (0: none);
                                                    initiator: the last reply accepted */
    int reply_due;                               /* responder: recv_counter not yet answered */
    uint8_t request_hash[CHANNEL_HASH_SIZE / 2]; /* responder: BLAKE2b-256 of request N's bytes */
};

/*
 * Prepares ch for one handshake as the device whose libsodium Ed25519 secret key (seed || public
 * key) is sk, on network (1..CHANNEL_NETWORK_SIZE_MAX bytes, NUL-terminated) speaking protocol
 * version. Both ends must give the same network and version or the handshake fails.
 * ERR_INVAL for a bad network or a key that has no X25519 form; ch is then wiped.
 */
err_code channel_init(struct channel *ch, const uint8_t sk[KEY_SECRET_SIZE], const char *network,
                      uint8_t version) WARN_UNUSED;

/*
 * Test vectors only: the next ephemeral key ch generates is e_sk instead of a random one. An
 * ephemeral used twice destroys forward secrecy; nothing outside tests/ may call this.
 */
void channel_test_set_ephemeral(struct channel *ch, const uint8_t e_sk[CHANNEL_DH_SIZE]);

/*
 * Initiator: writes handshake message 1 to peer_pk's device into out (out_cap bytes, at least
 * CHANNEL_HELLO_SIZE(payload_len)), *out_len bytes. payload (may be NULL when payload_len is 0)
 * is encrypted but neither forward-secret nor replay-proof: put no data in it.
 * ERR_INVAL for a peer key with no X25519 form, ERR_MSGSIZE for a payload over
 * CHANNEL_HANDSHAKE_PAYLOAD_SIZE_MAX or a short out; ch is wiped on any failure.
 */
err_code channel_initiate(struct channel *ch, const uint8_t peer_pk[KEY_PUBLIC_SIZE],
                          const uint8_t *payload, size_t payload_len, uint8_t *out, size_t out_cap,
                          size_t *out_len) WARN_UNUSED;

/*
 * Responder, step 1: reads handshake message 1 and writes the initiator's Ed25519 device key to
 * peer_pk and its payload to payload (payload_cap bytes), *payload_len bytes. Nothing is
 * answered yet: the caller checks that peer_pk is admitted, then calls channel_admit, or
 * channel_wipe to refuse without a reply. On failure ch is wiped:
 *   ERR_MSGSIZE  longer than CHANNEL_HELLO_SIZE_MAX, or a payload over payload_cap
 *   ERR_PROTO    another version or type, shorter than the smallest message 1, a low-order
 *                ephemeral, or an initiator key with no X25519 form
 *   ERR_AUTH     a tag does not verify: not for our key, another network or version, altered
 */
err_code channel_respond(struct channel *ch, const uint8_t *in, size_t in_len,
                         uint8_t peer_pk[KEY_PUBLIC_SIZE], uint8_t *payload, size_t payload_cap,
                         size_t *payload_len) WARN_UNUSED;

/*
 * Responder, step 2: the caller admitted the peer key. Writes handshake message 2 (with payload,
 * forward-secret) into out, *out_len bytes; ch is then open. ERR_MSGSIZE as channel_initiate.
 */
err_code channel_admit(struct channel *ch, const uint8_t *payload, size_t payload_len, uint8_t *out,
                       size_t out_cap, size_t *out_len) WARN_UNUSED;

/*
 * Initiator: reads handshake message 2 and its payload (as channel_respond); ch is then open.
 * On failure ch is wiped: ERR_MSGSIZE, ERR_PROTO, ERR_AUTH as channel_respond.
 */
err_code channel_finish(struct channel *ch, const uint8_t *in, size_t in_len, uint8_t *payload,
                        size_t payload_cap, size_t *payload_len) WARN_UNUSED;

/*
 * Seals len bytes of plaintext (at most CHANNEL_PLAINTEXT_SIZE_MAX) into a transport message in
 * out (out_cap >= len + CHANNEL_TRANSPORT_OVERHEAD), *out_len bytes. The initiator's next
 * request gets the next counter; the responder's reply gets the counter of the request it
 * answers, once. ERR_INVAL when ch is not open, or for a responder with no request to answer
 * (the reply was sealed already); ERR_MSGSIZE for a long plaintext or a short out; ERR_CLOSED
 * when the counters are exhausted (handshake again).
 */
err_code channel_seal(struct channel *ch, const uint8_t *plaintext, size_t len, uint8_t *out,
                      size_t out_cap, size_t *out_len) WARN_UNUSED;

/*
 * Opens a transport message into out (out_cap bytes), *out_len bytes, and its counter. The
 * channel stays open whatever the outcome; nothing reaches out unless ERR_OK.
 *   ERR_OK       a new request (responder), or the reply to the last request (initiator)
 *   ERR_AGAIN    responder: a resend of request *counter, byte for byte: the one accepted last.
 *                Answer it with the reply already sealed for *counter, verbatim; none is
 *                delivered to the application again
 *   ERR_AUTH     a replayed or stale counter, a forged or altered message
 *   ERR_PROTO    another version or type, not this session's tag, shorter than a MAC
 *   ERR_MSGSIZE  longer than CHANNEL_MSG_SIZE_MAX, or a plaintext over out_cap
 *   ERR_INVAL    ch is not open
 */
err_code channel_open(struct channel *ch, const uint8_t *in, size_t in_len, uint8_t *out,
                      size_t out_cap, size_t *out_len, uint64_t *counter) WARN_UNUSED;

/*
 * Reads the clear header of any channel message without keys, for a hub routing a message to
 * its session: *type, and for a transport message its session tag (else tag is zeroed).
 * ERR_MSGSIZE over CHANNEL_MSG_SIZE_MAX; ERR_PROTO for another version, an unknown type, or a
 * message shorter than its type's smallest.
 */
err_code channel_peek(const uint8_t *in, size_t in_len, uint8_t version,
                      enum channel_msg_type *type, uint8_t tag[CHANNEL_TAG_SIZE]) WARN_UNUSED;

/* The session id (the final handshake hash) and routing tag of an open channel; both ends get
 * the same. Not secret; never a key. */
void channel_session_id(const struct channel *ch, uint8_t out[CHANNEL_SESSION_ID_SIZE]);
void channel_session_tag(const struct channel *ch, uint8_t out[CHANNEL_TAG_SIZE]);

/* Zeroes every byte of ch (sodium_memzero); ch is CHANNEL_WIPED. NULL is a no-op. */
void channel_wipe(struct channel *ch);

#endif
