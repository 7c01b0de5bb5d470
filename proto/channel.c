/*
 * The secure channel between two devices (docs/PROTOCOL.md, "Secure channel"): a Noise IK
 * handshake (noiseprotocol.org revision 34, Noise_IK_25519_ChaChaPoly_BLAKE2b) in which the
 * static keys are the devices' Ed25519 keys, sent and hashed in that form and converted to X25519
 * for each Diffie-Hellman, then transport messages with explicit counters so that nanomsg REQ
 * resends are recognised instead of breaking the session. node/ wraps it around its REQ/REP
 * sockets; this file does only the cryptography and the byte layout, with libsodium alone.
 */
#include "channel.h"

#include <sodium.h>
#include <string.h>

/* The Noise protocol name; HASHLEN is 64, so h starts as the name padded with zeros. */
static const char channel_protocol_name[] = "Noise_IK_25519_ChaChaPoly_BLAKE2b";
/* Keyed BLAKE2b of this string with h as the key gives the session's routing tag. */
static const char channel_tag_label[] = "cdht-channel/1 session tag";

#define CHANNEL_BLAKE2B_BLOCK_SIZE 128u /* HMAC block length for BLAKE2b (Noise section 4.3) */
#define CHANNEL_NONCE_SIZE crypto_aead_chacha20poly1305_ietf_NPUBBYTES
/* A prologue: label, version byte, network length byte, network. */
#define CHANNEL_PROLOGUE_SIZE_MAX                                                                  \
    (sizeof CHANNEL_PROLOGUE_LABEL - 1 + 2u + CHANNEL_NETWORK_SIZE_MAX)
#define CHANNEL_WELCOME_SIZE_MAX CHANNEL_WELCOME_SIZE(CHANNEL_HANDSHAKE_PAYLOAD_SIZE_MAX)

static_assert(sizeof channel_protocol_name - 1 <= CHANNEL_HASH_SIZE, "the name fits in h");
static_assert(CHANNEL_HASH_SIZE == crypto_generichash_BYTES_MAX, "BLAKE2b-512");
static_assert(CHANNEL_HASH_SIZE <= crypto_generichash_KEYBYTES_MAX, "h keys the tag hash");
static_assert(CHANNEL_KEY_SIZE == crypto_aead_chacha20poly1305_ietf_KEYBYTES, "key size");
static_assert(CHANNEL_MAC_SIZE == crypto_aead_chacha20poly1305_ietf_ABYTES, "tag size");
static_assert(CHANNEL_DH_SIZE == crypto_scalarmult_BYTES, "X25519 sizes");
static_assert(CHANNEL_DH_SIZE == crypto_scalarmult_SCALARBYTES, "X25519 sizes");
static_assert(CHANNEL_TAG_SIZE >= crypto_generichash_BYTES_MIN, "BLAKE2b output length");
static_assert(CHANNEL_HASH_SIZE / 2 >= crypto_generichash_BYTES_MIN, "request hash length");
static_assert(CHANNEL_HELLO_SIZE_MAX <= CHANNEL_MSG_SIZE_MAX, "message 1 is a channel message");
static_assert(CHANNEL_WELCOME_SIZE_MAX <= CHANNEL_MSG_SIZE_MAX, "message 2 is a channel message");

/* BLAKE2b-512 of the concatenation of up to three parts (NULL parts are skipped). */
static void
channel_hash3(uint8_t out[CHANNEL_HASH_SIZE], const uint8_t *a, size_t a_len, const uint8_t *b,
              size_t b_len, const uint8_t *c, size_t c_len)
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, CHANNEL_HASH_SIZE);
    crypto_generichash_update(&st, a, a_len);
    if (b != NULL) {
        crypto_generichash_update(&st, b, b_len);
    }
    if (c != NULL) {
        crypto_generichash_update(&st, c, c_len);
    }
    crypto_generichash_final(&st, out, CHANNEL_HASH_SIZE);
    sodium_memzero(&st, sizeof st);
}

/* HMAC-BLAKE2b (RFC 2104, block 128 bytes) of data || data2 under a 64-byte key. */
static void
channel_hmac(uint8_t out[CHANNEL_HASH_SIZE], const uint8_t key[CHANNEL_HASH_SIZE],
             const uint8_t *data, size_t data_len, const uint8_t *data2, size_t data2_len)
{
    uint8_t pad[CHANNEL_BLAKE2B_BLOCK_SIZE];
    uint8_t inner[CHANNEL_HASH_SIZE];
    memset(pad, 0x36, sizeof pad);
    for (size_t i = 0; i < CHANNEL_HASH_SIZE; i++) {
        pad[i] ^= key[i];
    }
    channel_hash3(inner, pad, sizeof pad, data, data_len, data2, data2_len);
    memset(pad, 0x5c, sizeof pad);
    for (size_t i = 0; i < CHANNEL_HASH_SIZE; i++) {
        pad[i] ^= key[i];
    }
    channel_hash3(out, pad, sizeof pad, inner, sizeof inner, NULL, 0);
    sodium_memzero(pad, sizeof pad);
    sodium_memzero(inner, sizeof inner);
}

/* Noise HKDF with two outputs: out1 = HMAC(t, 0x01), out2 = HMAC(t, out1 || 0x02), where
 * t = HMAC(ck, ikm). out1 may be ck itself. */
static void
channel_hkdf2(const uint8_t ck[CHANNEL_HASH_SIZE], const uint8_t *ikm, size_t ikm_len,
              uint8_t out1[CHANNEL_HASH_SIZE], uint8_t out2[CHANNEL_HASH_SIZE])
{
    static const uint8_t one = 0x01;
    static const uint8_t two = 0x02;
    uint8_t temp[CHANNEL_HASH_SIZE];
    uint8_t o1[CHANNEL_HASH_SIZE];
    channel_hmac(temp, ck, ikm, ikm_len, NULL, 0);
    channel_hmac(o1, temp, &one, 1, NULL, 0);
    channel_hmac(out2, temp, o1, sizeof o1, &two, 1);
    memcpy(out1, o1, sizeof o1);
    sodium_memzero(temp, sizeof temp);
    sodium_memzero(o1, sizeof o1);
}

static void
channel_mix_hash(struct channel *ch, const uint8_t *data, size_t len)
{
    uint8_t h[CHANNEL_HASH_SIZE];
    channel_hash3(h, ch->h, sizeof ch->h, data, len, NULL, 0);
    memcpy(ch->h, h, sizeof h);
}

/* MixKey: ck, k = HKDF(ck, dh); k is the first 32 bytes of the second output. */
static void
channel_mix_key(struct channel *ch, const uint8_t dh[CHANNEL_DH_SIZE])
{
    uint8_t temp_k[CHANNEL_HASH_SIZE];
    channel_hkdf2(ch->ck, dh, CHANNEL_DH_SIZE, ch->ck, temp_k);
    memcpy(ch->k, temp_k, CHANNEL_KEY_SIZE);
    sodium_memzero(temp_k, sizeof temp_k);
}

/* Noise's ChaChaPoly nonce: four zero bytes, then the 64-bit counter little-endian. */
static void
channel_nonce(uint8_t nonce[CHANNEL_NONCE_SIZE], uint64_t n)
{
    memset(nonce, 0, 4);
    for (unsigned i = 0; i < 8; i++) {
        nonce[4 + i] = (uint8_t)(n >> (8 * i));
    }
}

/* X25519 into dh. libsodium's -1 (an all-zero result: a low-order point) becomes ERR_PROTO. */
static err_code
channel_dh(uint8_t dh[CHANNEL_DH_SIZE], const uint8_t sk[CHANNEL_DH_SIZE],
           const uint8_t pk[CHANNEL_DH_SIZE])
{
    if (crypto_scalarmult(dh, sk, pk) != 0) {
        sodium_memzero(dh, CHANNEL_DH_SIZE);
        return ERR_PROTO;
    }
    return ERR_OK;
}

static err_code
channel_dh_mix(struct channel *ch, const uint8_t sk[CHANNEL_DH_SIZE],
               const uint8_t pk[CHANNEL_DH_SIZE])
{
    uint8_t dh[CHANNEL_DH_SIZE];
    err_code rc = channel_dh(dh, sk, pk);
    if (rc == ERR_OK) {
        channel_mix_key(ch, dh);
    }
    sodium_memzero(dh, sizeof dh);
    return rc;
}

/* EncryptAndHash with the handshake key (always set when IK encrypts), nonce 0: every handshake
 * key of IK encrypts exactly once. out receives len + CHANNEL_MAC_SIZE bytes. */
static void
channel_encrypt_and_hash(struct channel *ch, const uint8_t *p, size_t len, uint8_t *out)
{
    uint8_t nonce[CHANNEL_NONCE_SIZE];
    unsigned long long c_len = 0;
    channel_nonce(nonce, 0);
    crypto_aead_chacha20poly1305_ietf_encrypt(out, &c_len, p, len, ch->h, sizeof ch->h, NULL, nonce,
                                              ch->k);
    ASSERT(c_len == len + CHANNEL_MAC_SIZE);
    channel_mix_hash(ch, out, (size_t)c_len);
}

/* DecryptAndHash: c_len >= CHANNEL_MAC_SIZE bytes of c into out. ERR_AUTH when the tag fails. */
static err_code
channel_decrypt_and_hash(struct channel *ch, const uint8_t *c, size_t c_len, uint8_t *out)
{
    uint8_t nonce[CHANNEL_NONCE_SIZE];
    unsigned long long p_len = 0;
    ASSERT(c_len >= CHANNEL_MAC_SIZE);
    channel_nonce(nonce, 0);
    if (crypto_aead_chacha20poly1305_ietf_decrypt(out, &p_len, NULL, c, c_len, ch->h, sizeof ch->h,
                                                  nonce, ch->k) != 0) {
        return ERR_AUTH;
    }
    ASSERT(p_len == c_len - CHANNEL_MAC_SIZE);
    channel_mix_hash(ch, c, c_len);
    return ERR_OK;
}

/* Our ephemeral key pair: random, or the one a test injected (used once, then forgotten). */
static void
channel_ephemeral(struct channel *ch)
{
    if (!ch->e_fixed) {
        randombytes_buf(ch->e_sk, sizeof ch->e_sk);
    }
    ch->e_fixed = 0;
    if (NEVER(crypto_scalarmult_base(ch->e_pk, ch->e_sk) != 0)) {
        /* Only an all-zero scalar fails, which randombytes does not produce; refuse anyway. */
        randombytes_buf(ch->e_sk, sizeof ch->e_sk);
        ASSERT(crypto_scalarmult_base(ch->e_pk, ch->e_sk) == 0);
    }
}

/* Split: the two transport keys, then the handshake secrets are forgotten. The initiator sends
 * with the first key; the routing tag is keyed BLAKE2b of a label under h. */
static void
channel_split(struct channel *ch)
{
    uint8_t k1[CHANNEL_HASH_SIZE];
    uint8_t k2[CHANNEL_HASH_SIZE];
    channel_hkdf2(ch->ck, NULL, 0, k1, k2);
    if (ch->role == CHANNEL_INITIATOR) {
        memcpy(ch->send_key, k1, CHANNEL_KEY_SIZE);
        memcpy(ch->recv_key, k2, CHANNEL_KEY_SIZE);
    } else {
        memcpy(ch->send_key, k2, CHANNEL_KEY_SIZE);
        memcpy(ch->recv_key, k1, CHANNEL_KEY_SIZE);
    }
    crypto_generichash(ch->tag, sizeof ch->tag, (const uint8_t *)channel_tag_label,
                       sizeof channel_tag_label - 1, ch->h, sizeof ch->h);
    sodium_memzero(k1, sizeof k1);
    sodium_memzero(k2, sizeof k2);
    sodium_memzero(ch->ck, sizeof ch->ck);
    sodium_memzero(ch->k, sizeof ch->k);
    sodium_memzero(ch->e_sk, sizeof ch->e_sk);
    sodium_memzero(ch->s_xsk, sizeof ch->s_xsk); /* no further DH in this session */
    ch->send_counter = 0;
    ch->recv_counter = 0;
    ch->reply_due = 0;
    ch->state = CHANNEL_OPEN;
}

/* InitializeSymmetric, MixHash(prologue), MixHash(the responder's static key): the pre-message
 * "<- s" of IK. rs_pk must be set. */
static void
channel_start(struct channel *ch, const uint8_t rs_pk[KEY_PUBLIC_SIZE])
{
    uint8_t prologue[CHANNEL_PROLOGUE_SIZE_MAX];
    size_t n = sizeof CHANNEL_PROLOGUE_LABEL - 1;
    memset(ch->h, 0, sizeof ch->h);
    memcpy(ch->h, channel_protocol_name, sizeof channel_protocol_name - 1);
    memcpy(ch->ck, ch->h, sizeof ch->h);
    memcpy(prologue, CHANNEL_PROLOGUE_LABEL, n);
    prologue[n++] = ch->version;
    prologue[n++] = ch->network_len;
    memcpy(prologue + n, ch->network, ch->network_len);
    n += ch->network_len;
    ASSERT(n <= sizeof prologue);
    channel_mix_hash(ch, prologue, n);
    channel_mix_hash(ch, rs_pk, KEY_PUBLIC_SIZE);
}

err_code
channel_init(struct channel *ch, const uint8_t sk[KEY_SECRET_SIZE], const char *network,
             uint8_t version)
{
    ASSERT(ch != NULL);
    ASSERT(sk != NULL);
    ASSERT(network != NULL);
    sodium_memzero(ch, sizeof *ch);
    size_t len = strnlen(network, CHANNEL_NETWORK_SIZE_MAX + 1);
    if (len == 0 || len > CHANNEL_NETWORK_SIZE_MAX) {
        return ERR_INVAL;
    }
    ch->version = version;
    ch->network_len = (uint8_t)len;
    memcpy(ch->network, network, len);
    crypto_sign_ed25519_sk_to_pk(ch->s_pk, sk);
    if (crypto_sign_ed25519_sk_to_curve25519(ch->s_xsk, sk) != 0) {
        channel_wipe(ch);
        return ERR_INVAL;
    }
    ch->state = CHANNEL_READY;
    return ERR_OK;
}

void
channel_test_set_ephemeral(struct channel *ch, const uint8_t e_sk[CHANNEL_DH_SIZE])
{
    ASSERT(ch->state == CHANNEL_READY || ch->state == CHANNEL_RESPONDED);
    memcpy(ch->e_sk, e_sk, CHANNEL_DH_SIZE);
    ch->e_fixed = 1;
}

err_code
channel_initiate(struct channel *ch, const uint8_t peer_pk[KEY_PUBLIC_SIZE], const uint8_t *payload,
                 size_t payload_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
    err_code rc = ERR_OK;
    ASSERT(ch->state == CHANNEL_READY);
    ASSERT(payload != NULL || payload_len == 0);
    *out_len = 0;
    if (payload_len > CHANNEL_HANDSHAKE_PAYLOAD_SIZE_MAX ||
        out_cap < CHANNEL_HELLO_SIZE(payload_len)) {
        rc = ERR_MSGSIZE;
        goto out;
    }
    ch->role = CHANNEL_INITIATOR;
    memcpy(ch->rs_pk, peer_pk, KEY_PUBLIC_SIZE);
    if (crypto_sign_ed25519_pk_to_curve25519(ch->rs_xpk, peer_pk) != 0) {
        rc = ERR_INVAL;
        goto out;
    }
    channel_start(ch, ch->rs_pk);
    size_t n = 0;
    out[n++] = ch->version;
    out[n++] = CHANNEL_MSG_HELLO;
    channel_ephemeral(ch); /* -> e */
    memcpy(out + n, ch->e_pk, CHANNEL_DH_SIZE);
    channel_mix_hash(ch, ch->e_pk, CHANNEL_DH_SIZE);
    n += CHANNEL_DH_SIZE;
    if ((rc = channel_dh_mix(ch, ch->e_sk, ch->rs_xpk)) != ERR_OK) { /* es */
        rc = ERR_INVAL; /* the peer key given is of low order: a caller's error */
        goto out;
    }
    channel_encrypt_and_hash(ch, ch->s_pk, KEY_PUBLIC_SIZE, out + n); /* s */
    n += KEY_PUBLIC_SIZE + CHANNEL_MAC_SIZE;
    if ((rc = channel_dh_mix(ch, ch->s_xsk, ch->rs_xpk)) != ERR_OK) { /* ss */
        rc = ERR_INVAL;
        goto out;
    }
    channel_encrypt_and_hash(ch, payload, payload_len, out + n);
    n += payload_len + CHANNEL_MAC_SIZE;
    ASSERT(n == CHANNEL_HELLO_SIZE(payload_len));
    *out_len = n;
    ch->state = CHANNEL_INITIATED;
out:
    if (rc != ERR_OK) {
        channel_wipe(ch);
    }
    return rc;
}

err_code
channel_peek(const uint8_t *in, size_t in_len, uint8_t version, enum channel_msg_type *type,
             uint8_t tag[CHANNEL_TAG_SIZE])
{
    ASSERT(in != NULL || in_len == 0);
    memset(tag, 0, CHANNEL_TAG_SIZE);
    if (in_len > CHANNEL_MSG_SIZE_MAX) {
        return ERR_MSGSIZE;
    }
    if (in_len < CHANNEL_HDR_SIZE || in[0] != version) {
        return ERR_PROTO;
    }
    switch (in[1]) {
    case CHANNEL_MSG_HELLO:
        if (in_len < CHANNEL_HELLO_SIZE(0)) {
            return ERR_PROTO;
        }
        if (in_len > CHANNEL_HELLO_SIZE_MAX) {
            return ERR_MSGSIZE;
        }
        *type = CHANNEL_MSG_HELLO;
        return ERR_OK;
    case CHANNEL_MSG_WELCOME:
        if (in_len < CHANNEL_WELCOME_SIZE(0)) {
            return ERR_PROTO;
        }
        if (in_len > CHANNEL_WELCOME_SIZE_MAX) {
            return ERR_MSGSIZE;
        }
        *type = CHANNEL_MSG_WELCOME;
        return ERR_OK;
    case CHANNEL_MSG_TRANSPORT:
        if (in_len < CHANNEL_TRANSPORT_OVERHEAD) {
            return ERR_PROTO;
        }
        memcpy(tag, in + CHANNEL_HDR_SIZE, CHANNEL_TAG_SIZE);
        *type = CHANNEL_MSG_TRANSPORT;
        return ERR_OK;
    default: return ERR_PROTO;
    }
}

/* Checks the header of a handshake message of the expected type; the payload length out. */
static err_code
channel_expect(const struct channel *ch, const uint8_t *in, size_t in_len,
               enum channel_msg_type want, size_t *payload_len)
{
    enum channel_msg_type type = 0;
    uint8_t tag[CHANNEL_TAG_SIZE];
    err_code rc = channel_peek(in, in_len, ch->version, &type, tag);
    if (rc != ERR_OK) {
        return rc;
    }
    if (type != want) {
        return ERR_PROTO;
    }
    *payload_len =
        in_len - (want == CHANNEL_MSG_HELLO ? CHANNEL_HELLO_SIZE(0) : CHANNEL_WELCOME_SIZE(0));
    return ERR_OK;
}

err_code
channel_respond(struct channel *ch, const uint8_t *in, size_t in_len,
                uint8_t peer_pk[KEY_PUBLIC_SIZE], uint8_t *payload, size_t payload_cap,
                size_t *payload_len)
{
    err_code rc;
    size_t p_len = 0;
    uint8_t s_pk[KEY_PUBLIC_SIZE];
    ASSERT(ch->state == CHANNEL_READY);
    ASSERT(payload != NULL || payload_cap == 0);
    *payload_len = 0;
    memset(peer_pk, 0, KEY_PUBLIC_SIZE);
    if ((rc = channel_expect(ch, in, in_len, CHANNEL_MSG_HELLO, &p_len)) != ERR_OK) {
        goto out;
    }
    if (p_len > payload_cap) {
        rc = ERR_MSGSIZE;
        goto out;
    }
    ch->role = CHANNEL_RESPONDER;
    channel_start(ch, ch->s_pk);
    size_t n = CHANNEL_HDR_SIZE;
    memcpy(ch->re, in + n, CHANNEL_DH_SIZE); /* -> e */
    channel_mix_hash(ch, ch->re, CHANNEL_DH_SIZE);
    n += CHANNEL_DH_SIZE;
    if ((rc = channel_dh_mix(ch, ch->s_xsk, ch->re)) != ERR_OK) { /* es */
        goto out;
    }
    if ((rc = channel_decrypt_and_hash(ch, in + n, KEY_PUBLIC_SIZE + CHANNEL_MAC_SIZE, s_pk)) !=
        ERR_OK) { /* s */
        goto out;
    }
    n += KEY_PUBLIC_SIZE + CHANNEL_MAC_SIZE;
    memcpy(ch->rs_pk, s_pk, KEY_PUBLIC_SIZE);
    if (crypto_sign_ed25519_pk_to_curve25519(ch->rs_xpk, ch->rs_pk) != 0) {
        rc = ERR_PROTO; /* sent under a valid tag, but not a usable device key */
        goto out;
    }
    if ((rc = channel_dh_mix(ch, ch->s_xsk, ch->rs_xpk)) != ERR_OK) { /* ss */
        goto out;
    }
    if ((rc = channel_decrypt_and_hash(ch, in + n, p_len + CHANNEL_MAC_SIZE, payload)) != ERR_OK) {
        goto out;
    }
    ASSERT(n + p_len + CHANNEL_MAC_SIZE == in_len);
    memcpy(peer_pk, ch->rs_pk, KEY_PUBLIC_SIZE);
    *payload_len = p_len;
    ch->state = CHANNEL_RESPONDED;
out:
    sodium_memzero(s_pk, sizeof s_pk);
    if (rc != ERR_OK) {
        channel_wipe(ch);
    }
    return rc;
}

err_code
channel_admit(struct channel *ch, const uint8_t *payload, size_t payload_len, uint8_t *out,
              size_t out_cap, size_t *out_len)
{
    err_code rc = ERR_OK;
    ASSERT(ch->state == CHANNEL_RESPONDED);
    ASSERT(payload != NULL || payload_len == 0);
    *out_len = 0;
    if (payload_len > CHANNEL_HANDSHAKE_PAYLOAD_SIZE_MAX ||
        out_cap < CHANNEL_WELCOME_SIZE(payload_len)) {
        rc = ERR_MSGSIZE;
        goto out;
    }
    size_t n = 0;
    out[n++] = ch->version;
    out[n++] = CHANNEL_MSG_WELCOME;
    channel_ephemeral(ch); /* <- e */
    memcpy(out + n, ch->e_pk, CHANNEL_DH_SIZE);
    channel_mix_hash(ch, ch->e_pk, CHANNEL_DH_SIZE);
    n += CHANNEL_DH_SIZE;
    if ((rc = channel_dh_mix(ch, ch->e_sk, ch->re)) != ERR_OK) { /* ee */
        goto out;
    }
    if ((rc = channel_dh_mix(ch, ch->e_sk, ch->rs_xpk)) != ERR_OK) { /* se */
        goto out;
    }
    channel_encrypt_and_hash(ch, payload, payload_len, out + n);
    n += payload_len + CHANNEL_MAC_SIZE;
    ASSERT(n == CHANNEL_WELCOME_SIZE(payload_len));
    *out_len = n;
    channel_split(ch);
out:
    if (rc != ERR_OK) {
        channel_wipe(ch);
    }
    return rc;
}

err_code
channel_finish(struct channel *ch, const uint8_t *in, size_t in_len, uint8_t *payload,
               size_t payload_cap, size_t *payload_len)
{
    err_code rc;
    size_t p_len = 0;
    ASSERT(ch->state == CHANNEL_INITIATED);
    ASSERT(payload != NULL || payload_cap == 0);
    *payload_len = 0;
    if ((rc = channel_expect(ch, in, in_len, CHANNEL_MSG_WELCOME, &p_len)) != ERR_OK) {
        goto out;
    }
    if (p_len > payload_cap) {
        rc = ERR_MSGSIZE;
        goto out;
    }
    size_t n = CHANNEL_HDR_SIZE;
    memcpy(ch->re, in + n, CHANNEL_DH_SIZE); /* <- e */
    channel_mix_hash(ch, ch->re, CHANNEL_DH_SIZE);
    n += CHANNEL_DH_SIZE;
    if ((rc = channel_dh_mix(ch, ch->e_sk, ch->re)) != ERR_OK) { /* ee */
        goto out;
    }
    if ((rc = channel_dh_mix(ch, ch->s_xsk, ch->re)) != ERR_OK) { /* se */
        goto out;
    }
    if ((rc = channel_decrypt_and_hash(ch, in + n, p_len + CHANNEL_MAC_SIZE, payload)) != ERR_OK) {
        goto out;
    }
    *payload_len = p_len;
    channel_split(ch);
out:
    if (rc != ERR_OK) {
        channel_wipe(ch);
    }
    return rc;
}

static void
channel_put_u64(uint8_t *p, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (56 - 8 * i));
    }
}

static uint64_t
channel_get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

#define CHANNEL_OFF_TAG CHANNEL_HDR_SIZE
#define CHANNEL_OFF_COUNTER (CHANNEL_OFF_TAG + CHANNEL_TAG_SIZE)
#define CHANNEL_OFF_CIPHER (CHANNEL_OFF_COUNTER + 8u)

err_code
channel_seal(struct channel *ch, const uint8_t *plaintext, size_t len, uint8_t *out, size_t out_cap,
             size_t *out_len)
{
    uint8_t nonce[CHANNEL_NONCE_SIZE];
    unsigned long long c_len = 0;
    uint64_t counter;
    ASSERT(plaintext != NULL || len == 0);
    *out_len = 0;
    if (ch->state != CHANNEL_OPEN) {
        return ERR_INVAL;
    }
    if (len > CHANNEL_PLAINTEXT_SIZE_MAX || out_cap < len + CHANNEL_TRANSPORT_OVERHEAD) {
        return ERR_MSGSIZE;
    }
    if (ch->role == CHANNEL_INITIATOR) {
        if (ch->send_counter >= CHANNEL_COUNTER_MAX) {
            return ERR_CLOSED;
        }
        counter = ++ch->send_counter;
    } else {
        /* One reply per accepted request: a second seal under its counter would reuse a nonce. */
        if (!ch->reply_due) {
            return ERR_INVAL;
        }
        counter = ch->recv_counter;
        ch->reply_due = 0;
    }
    ASSERT(counter >= 1);
    out[0] = ch->version;
    out[1] = CHANNEL_MSG_TRANSPORT;
    memcpy(out + CHANNEL_OFF_TAG, ch->tag, CHANNEL_TAG_SIZE);
    channel_put_u64(out + CHANNEL_OFF_COUNTER, counter);
    channel_nonce(nonce, counter);
    crypto_aead_chacha20poly1305_ietf_encrypt(out + CHANNEL_OFF_CIPHER, &c_len, plaintext, len,
                                              ch->h, sizeof ch->h, NULL, nonce, ch->send_key);
    ASSERT(c_len == len + CHANNEL_MAC_SIZE);
    *out_len = CHANNEL_OFF_CIPHER + (size_t)c_len;
    return ERR_OK;
}

err_code
channel_open(struct channel *ch, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
             size_t *out_len, uint64_t *counter)
{
    enum channel_msg_type type = 0;
    uint8_t tag[CHANNEL_TAG_SIZE];
    uint8_t nonce[CHANNEL_NONCE_SIZE];
    uint8_t digest[sizeof ch->request_hash];
    unsigned long long p_len = 0;
    *out_len = 0;
    *counter = 0;
    if (ch->state != CHANNEL_OPEN) {
        return ERR_INVAL;
    }
    err_code rc = channel_peek(in, in_len, ch->version, &type, tag);
    if (rc != ERR_OK) {
        return rc;
    }
    if (type != CHANNEL_MSG_TRANSPORT || sodium_memcmp(tag, ch->tag, sizeof tag) != 0) {
        return ERR_PROTO;
    }
    uint64_t c = channel_get_u64(in + CHANNEL_OFF_COUNTER);
    size_t c_len = in_len - CHANNEL_OFF_CIPHER;
    ASSERT(c_len >= CHANNEL_MAC_SIZE);
    if (c == 0 || c > CHANNEL_COUNTER_MAX) {
        return ERR_PROTO; /* a counter no sender ever uses */
    }
    if (ch->role == CHANNEL_RESPONDER) {
        if (c < ch->recv_counter) {
            return ERR_AUTH; /* replayed */
        }
        if (c == ch->recv_counter) {
            /* A REQ resend repeats request N byte for byte; anything else under N is a replay
             * of another message or a forgery. */
            crypto_generichash(digest, sizeof digest, in, in_len, NULL, 0);
            if (sodium_memcmp(digest, ch->request_hash, sizeof digest) != 0) {
                return ERR_AUTH;
            }
            *counter = c;
            return ERR_AGAIN;
        }
    } else if (c != ch->send_counter || c == ch->recv_counter) {
        return ERR_AUTH; /* not the reply to the request outstanding: stale or replayed */
    }
    if (c_len - CHANNEL_MAC_SIZE > out_cap) {
        return ERR_MSGSIZE;
    }
    channel_nonce(nonce, c);
    if (crypto_aead_chacha20poly1305_ietf_decrypt(out, &p_len, NULL, in + CHANNEL_OFF_CIPHER, c_len,
                                                  ch->h, sizeof ch->h, nonce, ch->recv_key) != 0) {
        return ERR_AUTH;
    }
    ASSERT(p_len == c_len - CHANNEL_MAC_SIZE);
    ch->recv_counter = c;
    if (ch->role == CHANNEL_RESPONDER) {
        crypto_generichash(ch->request_hash, sizeof ch->request_hash, in, in_len, NULL, 0);
        ch->reply_due = 1;
    }
    *out_len = (size_t)p_len;
    *counter = c;
    return ERR_OK;
}

void
channel_session_id(const struct channel *ch, uint8_t out[CHANNEL_SESSION_ID_SIZE])
{
    ASSERT(ch->state == CHANNEL_OPEN);
    memcpy(out, ch->h, CHANNEL_SESSION_ID_SIZE);
}

void
channel_session_tag(const struct channel *ch, uint8_t out[CHANNEL_TAG_SIZE])
{
    ASSERT(ch->state == CHANNEL_OPEN);
    memcpy(out, ch->tag, CHANNEL_TAG_SIZE);
}

void
channel_wipe(struct channel *ch)
{
    if (ch == NULL) {
        return;
    }
    sodium_memzero(ch, sizeof *ch);
    ASSERT(ch->state == CHANNEL_WIPED);
}
