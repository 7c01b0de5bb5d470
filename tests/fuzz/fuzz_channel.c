/*
 * Fuzz target for the secure channel's decoders in proto/channel.c, which read the first bytes
 * any stranger sends a hub. Every input goes to the responder's message-1 reader, the
 * initiator's message-2 reader, and channel_open at both ends of an established session. The
 * properties, beyond survival: each answers only its documented codes; the only inputs accepted
 * are the genuine messages of the fixed session (the seed corpus holds them), since anything
 * else would need a key the fuzzer does not have; a resend is reported only for the exact bytes
 * of the request last accepted; and a refused input leaves an open session unchanged.
 */
#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "channel.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The fixed session of docs/PROTOCOL.md's test vectors: device seeds 0x11 (initiator) and 0x22
 * (responder), ephemerals 0x33 and 0x44, network "cdht-test", version 1. The seed corpus
 * (tests/fuzz/corpus/channel) holds its messages: msg1, msg2, req1 ("ping"), rep1 ("pong"),
 * req2 ("heads"), rep2 ("heads: 3"), and malformed ones. */
#define FUZZ_NETWORK "cdht-test"
#define FUZZ_VERSION 1u
#define FUZZ_BUF_SIZE 4096u

static uint8_t fuzz_res_sk[KEY_SECRET_SIZE];
static uint8_t fuzz_res_pk[KEY_PUBLIC_SIZE];
static uint8_t fuzz_ini_pk[KEY_PUBLIC_SIZE];
static struct channel fuzz_res_ready;   /* responder before message 1 */
static struct channel fuzz_ini_waiting; /* initiator after message 1 */
static struct channel fuzz_res_open;    /* responder that accepted req1, answered it, got req2 */
static struct channel fuzz_ini_open;    /* initiator that sent req2 and waits for its reply */
static uint8_t fuzz_msg2[FUZZ_BUF_SIZE];
static size_t fuzz_msg2_len;
static uint8_t fuzz_req2[FUZZ_BUF_SIZE];
static size_t fuzz_req2_len;
static uint8_t fuzz_rep2[FUZZ_BUF_SIZE];
static size_t fuzz_rep2_len;
static int fuzz_ready;

static void
fuzz_channel_init(void)
{
    uint8_t seed[KEY_SEED_SIZE];
    uint8_t ini_sk[KEY_SECRET_SIZE];
    uint8_t e[CHANNEL_DH_SIZE];
    uint8_t m1[FUZZ_BUF_SIZE], buf[FUZZ_BUF_SIZE], peer[KEY_PUBLIC_SIZE];
    size_t m1_len, len;
    uint64_t c;
    struct channel ini, res;
    if (fuzz_ready) {
        return;
    }
    ASSERT(sodium_init() >= 0);
    memset(seed, 0x11, sizeof seed);
    ASSERT(crypto_sign_seed_keypair(fuzz_ini_pk, ini_sk, seed) == 0);
    memset(seed, 0x22, sizeof seed);
    ASSERT(crypto_sign_seed_keypair(fuzz_res_pk, fuzz_res_sk, seed) == 0);
    ASSERT(channel_init(&fuzz_res_ready, fuzz_res_sk, FUZZ_NETWORK, FUZZ_VERSION) == ERR_OK);
    ASSERT(channel_init(&ini, ini_sk, FUZZ_NETWORK, FUZZ_VERSION) == ERR_OK);
    memset(e, 0x33, sizeof e);
    channel_test_set_ephemeral(&ini, e);
    ASSERT(channel_initiate(&ini, fuzz_res_pk, NULL, 0, m1, sizeof m1, &m1_len) == ERR_OK);
    fuzz_ini_waiting = ini;
    res = fuzz_res_ready;
    ASSERT(channel_respond(&res, m1, m1_len, peer, buf, sizeof buf, &len) == ERR_OK);
    memset(e, 0x44, sizeof e);
    channel_test_set_ephemeral(&res, e);
    ASSERT(channel_admit(&res, NULL, 0, fuzz_msg2, sizeof fuzz_msg2, &fuzz_msg2_len) == ERR_OK);
    ASSERT(channel_finish(&ini, fuzz_msg2, fuzz_msg2_len, buf, sizeof buf, &len) == ERR_OK);
    /* Request 1 and its reply, then request 2, which the responder has read and answered. */
    uint8_t req[FUZZ_BUF_SIZE];
    size_t req_len;
    ASSERT(channel_seal(&ini, (const uint8_t *)"ping", 4, req, sizeof req, &req_len) == ERR_OK);
    ASSERT(channel_open(&res, req, req_len, buf, sizeof buf, &len, &c) == ERR_OK);
    ASSERT(channel_seal(&res, (const uint8_t *)"pong", 4, buf, sizeof buf, &len) == ERR_OK);
    ASSERT(channel_open(&ini, buf, len, req, sizeof req, &req_len, &c) == ERR_OK);
    ASSERT(channel_seal(&ini, (const uint8_t *)"heads", 5, fuzz_req2, sizeof fuzz_req2,
                        &fuzz_req2_len) == ERR_OK);
    ASSERT(channel_open(&res, fuzz_req2, fuzz_req2_len, buf, sizeof buf, &len, &c) == ERR_OK);
    memcpy(&fuzz_res_open, &res, sizeof res);
    ASSERT(channel_seal(&res, (const uint8_t *)"heads: 3", 8, fuzz_rep2, sizeof fuzz_rep2,
                        &fuzz_rep2_len) == ERR_OK);
    memcpy(&fuzz_ini_open, &ini, sizeof ini);
    sodium_memzero(ini_sk, sizeof ini_sk);
    fuzz_ready = 1;
}

static int
fuzz_equal(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    return a_len == b_len && memcmp(a, b, a_len) == 0;
}

/* The responder's message-1 reader: only a well-formed message 1 to our key is accepted, and
 * then the channel can answer it. */
static void
fuzz_respond(const uint8_t *data, size_t size)
{
    struct channel res = fuzz_res_ready;
    uint8_t payload[CHANNEL_HANDSHAKE_PAYLOAD_SIZE_MAX];
    uint8_t peer[KEY_PUBLIC_SIZE];
    uint8_t out[FUZZ_BUF_SIZE];
    size_t len;
    err_code rc = channel_respond(&res, data, size, peer, payload, sizeof payload, &len);
    ASSERT(rc == ERR_OK || rc == ERR_PROTO || rc == ERR_AUTH || rc == ERR_MSGSIZE);
    if (rc != ERR_OK) {
        ASSERT(res.state == CHANNEL_WIPED);
        return;
    }
    ASSERT(len <= CHANNEL_HANDSHAKE_PAYLOAD_SIZE_MAX);
    ASSERT(size == CHANNEL_HELLO_SIZE(len));
    ASSERT(channel_admit(&res, NULL, 0, out, sizeof out, &len) == ERR_OK);
    channel_wipe(&res);
}

/* The initiator's message-2 reader: only the genuine message 2 is accepted. */
static void
fuzz_finish(const uint8_t *data, size_t size)
{
    struct channel ini = fuzz_ini_waiting;
    uint8_t payload[CHANNEL_HANDSHAKE_PAYLOAD_SIZE_MAX];
    size_t len;
    err_code rc = channel_finish(&ini, data, size, payload, sizeof payload, &len);
    ASSERT(rc == ERR_OK || rc == ERR_PROTO || rc == ERR_AUTH || rc == ERR_MSGSIZE);
    if (rc == ERR_OK) {
        ASSERT(fuzz_equal(data, size, fuzz_msg2, fuzz_msg2_len));
    } else {
        ASSERT(ini.state == CHANNEL_WIPED);
    }
    channel_wipe(&ini);
}

/* channel_open at both ends of the open session. */
static void
fuzz_open(const uint8_t *data, size_t size)
{
    static uint8_t out[CHANNEL_PLAINTEXT_SIZE_MAX];
    size_t len;
    uint64_t c;
    struct channel res;
    memcpy(&res, &fuzz_res_open, sizeof res); /* memcpy: padding too, for the memcmp below */
    err_code rc = channel_open(&res, data, size, out, sizeof out, &len, &c);
    ASSERT(rc == ERR_AGAIN || rc == ERR_PROTO || rc == ERR_AUTH || rc == ERR_MSGSIZE);
    if (rc == ERR_AGAIN) {
        ASSERT(c == 2);
        ASSERT(fuzz_equal(data, size, fuzz_req2, fuzz_req2_len));
    } else {
        ASSERT(len == 0);
    }
    /* Nothing but a new, valid request changes the responder: the input did not. */
    ASSERT(memcmp(&res, &fuzz_res_open, sizeof res) == 0);

    struct channel ini;
    memcpy(&ini, &fuzz_ini_open, sizeof ini);
    rc = channel_open(&ini, data, size, out, sizeof out, &len, &c);
    ASSERT(rc == ERR_OK || rc == ERR_PROTO || rc == ERR_AUTH || rc == ERR_MSGSIZE);
    if (rc == ERR_OK) {
        ASSERT(c == 2);
        ASSERT(fuzz_equal(data, size, fuzz_rep2, fuzz_rep2_len));
        ASSERT(len == 8 && memcmp(out, "heads: 3", 8) == 0);
    } else {
        ASSERT(memcmp(&ini, &fuzz_ini_open, sizeof ini) == 0);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_channel_init();
    fuzz_respond(data, size);
    fuzz_finish(data, size);
    fuzz_open(data, size);
    return 0;
}
