/*
 * Unit tests for proto/channel.c: the handshake and transport both ways, the test vectors of
 * docs/PROTOCOL.md "Secure channel" (computed independently from the specification with
 * Python's cryptography and hashlib, then fixed here), every byte of every message altered, the
 * wrong key, network and version, replays, REQ resends, counters, limits at the limit, one past
 * it, zero and truncated, and a known name searched for in every byte sent.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"

#define T_NETWORK "cdht-test"
#define T_VERSION 1u
#define T_BUF_SIZE 4096u
/* A person's name in NFC UTF-8: it must never cross a link in the clear. */
#define T_NAME "Nguy\xe1\xbb\x85n V\xc4\x83n An"

static uint8_t ini_pk[KEY_PUBLIC_SIZE];
static uint8_t ini_sk[KEY_SECRET_SIZE];
static uint8_t res_pk[KEY_PUBLIC_SIZE];
static uint8_t res_sk[KEY_SECRET_SIZE];
static uint8_t other_pk[KEY_PUBLIC_SIZE];
static uint8_t other_sk[KEY_SECRET_SIZE];

static void
suite_init(void)
{
    uint8_t seed[KEY_SEED_SIZE];
    cr_assert_geq(sodium_init(), 0);
    memset(seed, 0x11, sizeof seed);
    cr_assert_eq(crypto_sign_seed_keypair(ini_pk, ini_sk, seed), 0);
    memset(seed, 0x22, sizeof seed);
    cr_assert_eq(crypto_sign_seed_keypair(res_pk, res_sk, seed), 0);
    memset(seed, 0x55, sizeof seed);
    cr_assert_eq(crypto_sign_seed_keypair(other_pk, other_sk, seed), 0);
}

TestSuite(channel, .init = suite_init);

/* Both ends of one session, and the handshake messages that built it. */
struct pair {
    struct channel ini;
    struct channel res;
    uint8_t msg1[T_BUF_SIZE];
    size_t msg1_len;
    uint8_t msg2[T_BUF_SIZE];
    size_t msg2_len;
};

static void
hex_decode(const char *hex, uint8_t *out, size_t cap, size_t *len)
{
    cr_assert_eq(sodium_hex2bin(out, cap, hex, strlen(hex), NULL, len, NULL), 0);
}

static void
assert_hex(const uint8_t *got, size_t got_len, const char *want)
{
    char buf[2 * T_BUF_SIZE + 1];
    cr_assert_lt(got_len, T_BUF_SIZE);
    sodium_bin2hex(buf, sizeof buf, got, got_len);
    cr_assert_str_eq(buf, want);
}

/* Runs a whole handshake with the given payloads; fixed ephemerals when fixed is set. */
static void
handshake(struct pair *p, const char *hello, const char *welcome, int fixed)
{
    uint8_t payload[CHANNEL_HANDSHAKE_PAYLOAD_SIZE_MAX];
    uint8_t peer[KEY_PUBLIC_SIZE];
    uint8_t e[CHANNEL_DH_SIZE];
    size_t len;
    memset(p, 0, sizeof *p);
    cr_assert_eq(channel_init(&p->ini, ini_sk, T_NETWORK, T_VERSION), ERR_OK);
    cr_assert_eq(channel_init(&p->res, res_sk, T_NETWORK, T_VERSION), ERR_OK);
    if (fixed) {
        memset(e, 0x33, sizeof e);
        channel_test_set_ephemeral(&p->ini, e);
    }
    cr_assert_eq(channel_initiate(&p->ini, res_pk, (const uint8_t *)hello, strlen(hello), p->msg1,
                                  sizeof p->msg1, &p->msg1_len),
                 ERR_OK);
    cr_assert_eq(p->msg1_len, CHANNEL_HELLO_SIZE(strlen(hello)));
    cr_assert_eq(
        channel_respond(&p->res, p->msg1, p->msg1_len, peer, payload, sizeof payload, &len),
        ERR_OK);
    cr_assert_eq(memcmp(peer, ini_pk, sizeof peer), 0, "the responder learns the initiator");
    cr_assert_eq(len, strlen(hello));
    cr_assert_eq(memcmp(payload, hello, len), 0);
    if (fixed) {
        memset(e, 0x44, sizeof e);
        channel_test_set_ephemeral(&p->res, e);
    }
    cr_assert_eq(channel_admit(&p->res, (const uint8_t *)welcome, strlen(welcome), p->msg2,
                               sizeof p->msg2, &p->msg2_len),
                 ERR_OK);
    cr_assert_eq(p->msg2_len, CHANNEL_WELCOME_SIZE(strlen(welcome)));
    cr_assert_eq(channel_finish(&p->ini, p->msg2, p->msg2_len, payload, sizeof payload, &len),
                 ERR_OK);
    cr_assert_eq(len, strlen(welcome));
    cr_assert_eq(memcmp(payload, welcome, len), 0);
    cr_assert_eq(p->ini.state, CHANNEL_OPEN);
    cr_assert_eq(p->res.state, CHANNEL_OPEN);
}

static void
seal_ok(struct channel *ch, const char *text, uint8_t *out, size_t *len)
{
    cr_assert_eq(channel_seal(ch, (const uint8_t *)text, strlen(text), out, T_BUF_SIZE, len),
                 ERR_OK);
    cr_assert_eq(*len, strlen(text) + CHANNEL_TRANSPORT_OVERHEAD);
}

static void
open_ok(struct channel *ch, const uint8_t *in, size_t in_len, const char *want, uint64_t counter)
{
    uint8_t out[T_BUF_SIZE];
    size_t len;
    uint64_t c;
    cr_assert_eq(channel_open(ch, in, in_len, out, sizeof out, &len, &c), ERR_OK);
    cr_assert_eq(c, counter);
    cr_assert_eq(len, strlen(want));
    cr_assert_eq(memcmp(out, want, len), 0);
}

static uint64_t
wire_counter(const uint8_t *msg)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++) {
        v = (v << 8) | msg[CHANNEL_HDR_SIZE + CHANNEL_TAG_SIZE + i];
    }
    return v;
}

/* A whole session: handshake payloads and several requests and replies arrive intact, and both
 * ends hold the same session id and tag. */
Test(channel, handshake_and_transport_both_ways)
{
    struct pair p;
    uint8_t msg[T_BUF_SIZE];
    size_t len;
    uint8_t sid_i[CHANNEL_SESSION_ID_SIZE], sid_r[CHANNEL_SESSION_ID_SIZE];
    uint8_t tag_i[CHANNEL_TAG_SIZE], tag_r[CHANNEL_TAG_SIZE];
    handshake(&p, "hello", "welcome", 0);
    channel_session_id(&p.ini, sid_i);
    channel_session_id(&p.res, sid_r);
    cr_assert_eq(memcmp(sid_i, sid_r, sizeof sid_i), 0);
    channel_session_tag(&p.ini, tag_i);
    channel_session_tag(&p.res, tag_r);
    cr_assert_eq(memcmp(tag_i, tag_r, sizeof tag_i), 0);
    for (uint64_t i = 1; i <= 5; i++) {
        seal_ok(&p.ini, "heads please", msg, &len);
        open_ok(&p.res, msg, len, "heads please", i);
        seal_ok(&p.res, "here are the heads", msg, &len);
        cr_assert_eq(wire_counter(msg), i, "a reply carries its request's counter");
        open_ok(&p.ini, msg, len, "here are the heads", i);
    }
    /* Empty plaintexts are messages too. */
    seal_ok(&p.ini, "", msg, &len);
    open_ok(&p.res, msg, len, "", 6);
}

/* Two handshakes between the same devices share nothing: fresh ephemerals give fresh keys. */
Test(channel, sessions_differ)
{
    struct pair a, b;
    handshake(&a, "", "", 0);
    handshake(&b, "", "", 0);
    cr_assert_neq(memcmp(a.ini.h, b.ini.h, CHANNEL_SESSION_ID_SIZE), 0);
    cr_assert_neq(memcmp(a.ini.send_key, b.ini.send_key, CHANNEL_KEY_SIZE), 0);
    cr_assert_neq(memcmp(a.msg1, b.msg1, a.msg1_len), 0);
}

/* The test vectors of docs/PROTOCOL.md, byte for byte. */
Test(channel, test_vectors)
{
    struct pair p;
    uint8_t msg[T_BUF_SIZE];
    size_t len;
    handshake(&p, "", "", 1);
    assert_hex(ini_pk, KEY_PUBLIC_SIZE,
               "d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737");
    assert_hex(res_pk, KEY_PUBLIC_SIZE,
               "a09aa5f47a6759802ff955f8dc2d2a14a5c99d23be97f864127ff9383455a4f0");
    assert_hex(p.msg1, p.msg1_len,
               "01017b0d47d93427f8311160781c7c733fd89f88970aef490d8aa0ee19a4cb8a1b140102970b014a"
               "dc76bd22f14974bb3d0a3941f13a7ac671545ca364c21caacbd914d8f829ad6036af1dfdb954a344"
               "249daae2b15e934cdfaec81e555b3c74f3c8");
    assert_hex(p.msg2, p.msg2_len,
               "0102ff2ee45601ec1b67310c7790404585ae697331eee1c1f8cf2419731c1fff3e6b0cf4e2c635da"
               "edb542627008abe91b49");
    assert_hex(p.ini.h, CHANNEL_SESSION_ID_SIZE,
               "34fbb71012537a346f789629102baa1e4c4c860e65c0b4951476f98cc505bc2972ee479c60bc5652"
               "1b7fff37665ffdd838f8c315d90d6ba7f0a1767a21e25c37");
    assert_hex(p.ini.tag, CHANNEL_TAG_SIZE, "17ebdcd8f2a03d36f5920698f30ba8f7");
    assert_hex(p.ini.send_key, CHANNEL_KEY_SIZE,
               "c79ce34fa6fe68966fd2ebbb178314329a1e239beff42e557c491bba076d58a6");
    assert_hex(p.ini.recv_key, CHANNEL_KEY_SIZE,
               "190259fce23ec74a1bf6961e5d7070eae1574afe58fe5c9d2732ab5e1269d7ee");
    cr_assert_eq(memcmp(p.res.recv_key, p.ini.send_key, CHANNEL_KEY_SIZE), 0);
    cr_assert_eq(memcmp(p.res.send_key, p.ini.recv_key, CHANNEL_KEY_SIZE), 0);
    seal_ok(&p.ini, "ping", msg, &len);
    assert_hex(msg, len,
               "010317ebdcd8f2a03d36f5920698f30ba8f7000000000000000172dc64b224c7b7805794f3d01ca9"
               "f699e8377d04");
    open_ok(&p.res, msg, len, "ping", 1);
    seal_ok(&p.res, "pong", msg, &len);
    assert_hex(msg, len,
               "010317ebdcd8f2a03d36f5920698f30ba8f70000000000000001b8e570454ec1b16c2cc0f5dabac7"
               "8d9810c1ab5e");
    open_ok(&p.ini, msg, len, "pong", 1);
}

/* The vectors as a peer would receive them: decoding the documented bytes works too. */
Test(channel, test_vectors_decode)
{
    struct channel res;
    uint8_t in[T_BUF_SIZE], payload[16], peer[KEY_PUBLIC_SIZE];
    size_t len, plen;
    hex_decode("01017b0d47d93427f8311160781c7c733fd89f88970aef490d8aa0ee19a4cb8a1b140102970b014a"
               "dc76bd22f14974bb3d0a3941f13a7ac671545ca364c21caacbd914d8f829ad6036af1dfdb954a344"
               "249daae2b15e934cdfaec81e555b3c74f3c8",
               in, sizeof in, &len);
    cr_assert_eq(channel_init(&res, res_sk, T_NETWORK, T_VERSION), ERR_OK);
    cr_assert_eq(channel_respond(&res, in, len, peer, payload, sizeof payload, &plen), ERR_OK);
    cr_assert_eq(memcmp(peer, ini_pk, sizeof peer), 0);
    cr_assert_eq(plen, 0);
    channel_wipe(&res);
}

/* An initiator that dials with another device's key reaches nobody: the responder's tag check
 * on the encrypted static key fails, and the channel is wiped. */
Test(channel, wrong_responder_key)
{
    struct channel ini, res;
    uint8_t msg[T_BUF_SIZE], payload[16], peer[KEY_PUBLIC_SIZE];
    size_t len, plen;
    cr_assert_eq(channel_init(&ini, ini_sk, T_NETWORK, T_VERSION), ERR_OK);
    cr_assert_eq(channel_init(&res, res_sk, T_NETWORK, T_VERSION), ERR_OK);
    cr_assert_eq(channel_initiate(&ini, other_pk, NULL, 0, msg, sizeof msg, &len), ERR_OK);
    cr_assert_eq(channel_respond(&res, msg, len, peer, payload, sizeof payload, &plen), ERR_AUTH);
    cr_assert_eq(res.state, CHANNEL_WIPED);
    uint8_t zero[KEY_PUBLIC_SIZE] = {0};
    cr_assert_eq(memcmp(peer, zero, sizeof zero), 0, "no key is reported on failure");
}

/* A message 2 from another responder key (a man in the middle with its own key) fails too. */
Test(channel, welcome_from_wrong_key)
{
    struct channel ini, res, mitm;
    uint8_t m1[T_BUF_SIZE], m2[T_BUF_SIZE], payload[16], peer[KEY_PUBLIC_SIZE];
    size_t l1, l2, plen;
    cr_assert_eq(channel_init(&ini, ini_sk, T_NETWORK, T_VERSION), ERR_OK);
    cr_assert_eq(channel_init(&mitm, other_sk, T_NETWORK, T_VERSION), ERR_OK);
    cr_assert_eq(channel_init(&res, res_sk, T_NETWORK, T_VERSION), ERR_OK);
    cr_assert_eq(channel_initiate(&ini, res_pk, NULL, 0, m1, sizeof m1, &l1), ERR_OK);
    /* The attacker dials the initiator's intended peer itself and relays its welcome. */
    struct channel ini2;
    cr_assert_eq(channel_init(&ini2, other_sk, T_NETWORK, T_VERSION), ERR_OK);
    cr_assert_eq(channel_initiate(&ini2, res_pk, NULL, 0, m2, sizeof m2, &l2), ERR_OK);
    cr_assert_eq(channel_respond(&res, m2, l2, peer, payload, sizeof payload, &plen), ERR_OK);
    cr_assert_eq(channel_admit(&res, NULL, 0, m2, sizeof m2, &l2), ERR_OK);
    cr_assert_eq(channel_finish(&ini, m2, l2, payload, sizeof payload, &plen), ERR_AUTH);
    cr_assert_eq(ini.state, CHANNEL_WIPED);
    channel_wipe(&mitm);
    channel_wipe(&ini2);
}

/* Both ends must name the same network and version: another network fails authentication,
 * another version is refused from the clear header, and a header rewritten to pass still fails
 * authentication because the version is in the prologue. */
Test(channel, network_and_version_bind)
{
    struct channel ini, res;
    uint8_t msg[T_BUF_SIZE], payload[16], peer[KEY_PUBLIC_SIZE];
    size_t len, plen;
    cr_assert_eq(channel_init(&ini, ini_sk, "cdht-other", T_VERSION), ERR_OK);
    cr_assert_eq(channel_init(&res, res_sk, T_NETWORK, T_VERSION), ERR_OK);
    cr_assert_eq(channel_initiate(&ini, res_pk, NULL, 0, msg, sizeof msg, &len), ERR_OK);
    cr_assert_eq(channel_respond(&res, msg, len, peer, payload, sizeof payload, &plen), ERR_AUTH);

    cr_assert_eq(channel_init(&ini, ini_sk, T_NETWORK, T_VERSION + 1), ERR_OK);
    cr_assert_eq(channel_init(&res, res_sk, T_NETWORK, T_VERSION), ERR_OK);
    cr_assert_eq(channel_initiate(&ini, res_pk, NULL, 0, msg, sizeof msg, &len), ERR_OK);
    cr_assert_eq(msg[0], T_VERSION + 1);
    cr_assert_eq(channel_respond(&res, msg, len, peer, payload, sizeof payload, &plen), ERR_PROTO);
    cr_assert_eq(channel_init(&res, res_sk, T_NETWORK, T_VERSION), ERR_OK);
    msg[0] = T_VERSION;
    cr_assert_eq(channel_respond(&res, msg, len, peer, payload, sizeof payload, &plen), ERR_AUTH);

    /* A network that differs only in length, prefix-wise, is another network. */
    cr_assert_eq(channel_init(&ini, ini_sk, "cdht-tes", T_VERSION), ERR_OK);
    cr_assert_eq(channel_init(&res, res_sk, T_NETWORK, T_VERSION), ERR_OK);
    cr_assert_eq(channel_initiate(&ini, res_pk, NULL, 0, msg, sizeof msg, &len), ERR_OK);
    cr_assert_eq(channel_respond(&res, msg, len, peer, payload, sizeof payload, &plen), ERR_AUTH);
}

/* Every single byte of message 1 and of message 2 altered: each is refused with ERR_AUTH or
 * ERR_PROTO (the header bytes), never accepted. */
Test(channel, tampered_handshake_bytes)
{
    struct pair p;
    uint8_t payload[64], peer[KEY_PUBLIC_SIZE], buf[T_BUF_SIZE];
    size_t plen;
    handshake(&p, "hi", "yo", 1);
    for (size_t i = 0; i < p.msg1_len; i++) {
        struct channel res;
        memcpy(buf, p.msg1, p.msg1_len);
        buf[i] ^= 0x01;
        cr_assert_eq(channel_init(&res, res_sk, T_NETWORK, T_VERSION), ERR_OK);
        err_code rc = channel_respond(&res, buf, p.msg1_len, peer, payload, sizeof payload, &plen);
        cr_assert(i < CHANNEL_HDR_SIZE ? rc == ERR_PROTO : rc == ERR_AUTH, "msg1 byte %zu: %s", i,
                  err_str(rc));
        cr_assert_eq(res.state, CHANNEL_WIPED);
    }
    /* The top bit of an X25519 key is ignored by the DH, but it is hashed: still refused. */
    memcpy(buf, p.msg1, p.msg1_len);
    buf[CHANNEL_HDR_SIZE + CHANNEL_DH_SIZE - 1] ^= 0x80;
    struct channel r2;
    cr_assert_eq(channel_init(&r2, res_sk, T_NETWORK, T_VERSION), ERR_OK);
    cr_assert_eq(channel_respond(&r2, buf, p.msg1_len, peer, payload, sizeof payload, &plen),
                 ERR_AUTH);

    for (size_t i = 0; i < p.msg2_len; i++) {
        struct pair q;
        uint8_t e[CHANNEL_DH_SIZE];
        memset(&q, 0, sizeof q);
        cr_assert_eq(channel_init(&q.ini, ini_sk, T_NETWORK, T_VERSION), ERR_OK);
        memset(e, 0x33, sizeof e);
        channel_test_set_ephemeral(&q.ini, e);
        cr_assert_eq(channel_initiate(&q.ini, res_pk, (const uint8_t *)"hi", 2, q.msg1,
                                      sizeof q.msg1, &q.msg1_len),
                     ERR_OK);
        memcpy(buf, p.msg2, p.msg2_len);
        buf[i] ^= 0x01;
        err_code rc = channel_finish(&q.ini, buf, p.msg2_len, payload, sizeof payload, &plen);
        cr_assert(i < CHANNEL_HDR_SIZE ? rc == ERR_PROTO : rc == ERR_AUTH, "msg2 byte %zu: %s", i,
                  err_str(rc));
        cr_assert_eq(q.ini.state, CHANNEL_WIPED);
    }
}

/* Every byte of a request and of a reply altered: refused, and the session carries on. */
Test(channel, tampered_transport_bytes)
{
    struct pair p;
    uint8_t req[T_BUF_SIZE], rep[T_BUF_SIZE], buf[T_BUF_SIZE], out[T_BUF_SIZE];
    size_t req_len, rep_len, len;
    uint64_t c;
    handshake(&p, "", "", 0);
    seal_ok(&p.ini, "request one", req, &req_len);
    for (size_t i = 0; i < req_len; i++) {
        memcpy(buf, req, req_len);
        buf[i] ^= 0x01;
        err_code rc = channel_open(&p.res, buf, req_len, out, sizeof out, &len, &c);
        cr_assert(rc == ERR_AUTH || rc == ERR_PROTO, "request byte %zu: %s", i, err_str(rc));
        cr_assert_eq(len, 0);
    }
    open_ok(&p.res, req, req_len, "request one", 1);
    seal_ok(&p.res, "reply one", rep, &rep_len);
    for (size_t i = 0; i < rep_len; i++) {
        memcpy(buf, rep, rep_len);
        buf[i] ^= 0x01;
        err_code rc = channel_open(&p.ini, buf, rep_len, out, sizeof out, &len, &c);
        cr_assert(rc == ERR_AUTH || rc == ERR_PROTO, "reply byte %zu: %s", i, err_str(rc));
    }
    open_ok(&p.ini, rep, rep_len, "reply one", 1);
}

/* A request seen before is refused unless it is the last one, repeated byte for byte: that is a
 * REQ resend, reported as ERR_AGAIN with its counter and not delivered again. */
Test(channel, replay_refused_resend_detected)
{
    struct pair p;
    uint8_t r1[T_BUF_SIZE], r2[T_BUF_SIZE], rep[T_BUF_SIZE], out[T_BUF_SIZE];
    size_t l1, l2, lrep, len;
    uint64_t c;
    handshake(&p, "", "", 0);
    seal_ok(&p.ini, "one", r1, &l1);
    open_ok(&p.res, r1, l1, "one", 1);
    /* Resent before the reply was sealed: still a resend; the coming reply answers both. */
    cr_assert_eq(channel_open(&p.res, r1, l1, out, sizeof out, &len, &c), ERR_AGAIN);
    cr_assert_eq(c, 1);
    cr_assert_eq(len, 0);
    seal_ok(&p.res, "reply one", rep, &lrep);
    /* Resent after: the caller answers from its cache; the channel seals nothing twice. */
    cr_assert_eq(channel_open(&p.res, r1, l1, out, sizeof out, &len, &c), ERR_AGAIN);
    cr_assert_eq(c, 1);
    cr_assert_eq(channel_seal(&p.res, (const uint8_t *)"again", 5, out, sizeof out, &len),
                 ERR_INVAL);
    open_ok(&p.ini, rep, lrep, "reply one", 1);
    cr_assert_eq(channel_open(&p.ini, rep, lrep, out, sizeof out, &len, &c), ERR_AUTH,
                 "a reply is accepted once");

    seal_ok(&p.ini, "two", r2, &l2);
    open_ok(&p.res, r2, l2, "two", 2);
    cr_assert_eq(channel_open(&p.res, r1, l1, out, sizeof out, &len, &c), ERR_AUTH,
                 "an older request is a replay");
    cr_assert_eq(channel_open(&p.res, r2, l2, out, sizeof out, &len, &c), ERR_AGAIN);
    cr_assert_eq(c, 2);
    /* A stale reply (to request 1) is refused while request 2 is outstanding. */
    cr_assert_eq(channel_open(&p.ini, rep, lrep, out, sizeof out, &len, &c), ERR_AUTH);

    /* Another message under the last counter is no resend: a forgery or a nonce reuse. */
    memcpy(out, r2, l2);
    out[l2 - 1] ^= 0x01;
    uint8_t sink[T_BUF_SIZE];
    cr_assert_eq(channel_open(&p.res, out, l2, sink, sizeof sink, &len, &c), ERR_AUTH);
}

/* Request counters start at 1 and strictly increase; a request the initiator abandoned (REQ
 * cancels it when the application sends another) leaves a gap the responder accepts. */
Test(channel, counters_strictly_increase)
{
    struct pair p;
    uint8_t msg[T_BUF_SIZE], out[T_BUF_SIZE];
    size_t len, olen;
    uint64_t c;
    handshake(&p, "", "", 0);
    uint64_t last = 0;
    for (unsigned i = 0; i < 10; i++) {
        seal_ok(&p.ini, "x", msg, &len);
        uint64_t now = wire_counter(msg);
        cr_assert_gt(now, last);
        cr_assert_eq(now, last + 1);
        last = now;
        if (i % 3 != 2) { /* every third request is lost on the way */
            cr_assert_eq(channel_open(&p.res, msg, len, out, sizeof out, &olen, &c), ERR_OK);
            cr_assert_eq(c, now);
        }
    }
    /* A reply to an abandoned request never reaches the initiator as valid. */
    cr_assert_eq(channel_seal(&p.res, (const uint8_t *)"r", 1, msg, sizeof msg, &len), ERR_OK);
    cr_assert_eq(wire_counter(msg), 10);
    cr_assert_eq(channel_open(&p.ini, msg, len, out, sizeof out, &olen, &c), ERR_OK);
    cr_assert_eq(c, 10);
}

/* True when needle occurs in hay (memmem is a GNU extension, not C17 or POSIX). */
static int
t_find(const uint8_t *hay, size_t hay_len, const char *needle, size_t n)
{
    for (size_t i = 0; i + n <= hay_len; i++) {
        if (memcmp(hay + i, needle, n) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The name never appears in any byte sent, whichever message carries it. */
Test(channel, known_plaintext_never_on_the_wire)
{
    struct pair p;
    uint8_t msg[T_BUF_SIZE];
    size_t len;
    const size_t n = strlen(T_NAME);
    cr_assert(t_find((const uint8_t *)"> " T_NAME, n + 2, T_NAME, n), "the search works");
    handshake(&p, T_NAME, T_NAME, 0);
    cr_assert_not(t_find(p.msg1, p.msg1_len, T_NAME, n));
    cr_assert_not(t_find(p.msg2, p.msg2_len, T_NAME, n));
    for (unsigned i = 0; i < 3; i++) {
        seal_ok(&p.ini, T_NAME, msg, &len);
        cr_assert_not(t_find(msg, len, T_NAME, n));
        open_ok(&p.res, msg, len, T_NAME, i + 1);
        seal_ok(&p.res, T_NAME " " T_NAME, msg, &len);
        cr_assert_not(t_find(msg, len, T_NAME, n));
        open_ok(&p.ini, msg, len, T_NAME " " T_NAME, i + 1);
    }
}

/* Handshake payloads at the limit, one past it, and a receiver's buffer one short. */
Test(channel, handshake_payload_limits)
{
    struct channel ini, res;
    static uint8_t payload[CHANNEL_HANDSHAKE_PAYLOAD_SIZE_MAX + 1];
    static uint8_t msg[CHANNEL_HELLO_SIZE_MAX + 16];
    static uint8_t got[CHANNEL_HANDSHAKE_PAYLOAD_SIZE_MAX];
    uint8_t peer[KEY_PUBLIC_SIZE];
    size_t len, plen;
    memset(payload, 'a', sizeof payload);
    cr_assert_eq(channel_init(&ini, ini_sk, T_NETWORK, T_VERSION), ERR_OK);
    cr_assert_eq(channel_initiate(&ini, res_pk, payload, CHANNEL_HANDSHAKE_PAYLOAD_SIZE_MAX + 1,
                                  msg, sizeof msg, &len),
                 ERR_MSGSIZE);
    cr_assert_eq(ini.state, CHANNEL_WIPED);
    cr_assert_eq(channel_init(&ini, ini_sk, T_NETWORK, T_VERSION), ERR_OK);
    cr_assert_eq(channel_initiate(&ini, res_pk, payload, 10, msg, CHANNEL_HELLO_SIZE(10) - 1, &len),
                 ERR_MSGSIZE, "a short output buffer");
    cr_assert_eq(channel_init(&ini, ini_sk, T_NETWORK, T_VERSION), ERR_OK);
    cr_assert_eq(channel_initiate(&ini, res_pk, payload, CHANNEL_HANDSHAKE_PAYLOAD_SIZE_MAX, msg,
                                  sizeof msg, &len),
                 ERR_OK);
    cr_assert_eq(len, CHANNEL_HELLO_SIZE_MAX);
    cr_assert_eq(channel_init(&res, res_sk, T_NETWORK, T_VERSION), ERR_OK);
    cr_assert_eq(channel_respond(&res, msg, len, peer, got, sizeof got - 1, &plen), ERR_MSGSIZE);
    cr_assert_eq(channel_init(&res, res_sk, T_NETWORK, T_VERSION), ERR_OK);
    cr_assert_eq(channel_respond(&res, msg, len, peer, got, sizeof got, &plen), ERR_OK);
    cr_assert_eq(plen, CHANNEL_HANDSHAKE_PAYLOAD_SIZE_MAX);
    /* One byte more than the largest message 1: refused by size before any work. */
    cr_assert_eq(channel_init(&res, res_sk, T_NETWORK, T_VERSION), ERR_OK);
    cr_assert_eq(channel_respond(&res, msg, len + 1, peer, got, sizeof got, &plen), ERR_MSGSIZE);
    channel_wipe(&ini);
    channel_wipe(&res);
}

/* Handshake messages cut short at every length, and empty: ERR_PROTO, never a read past the
 * end (the sanitizer build checks that). */
Test(channel, truncated_handshake)
{
    struct pair p;
    uint8_t payload[64], peer[KEY_PUBLIC_SIZE];
    size_t plen;
    handshake(&p, "", "", 1);
    for (size_t n = 0; n < p.msg1_len; n++) {
        struct channel res;
        uint8_t *cut = malloc(n > 0 ? n : 1);
        cr_assert_not_null(cut);
        memcpy(cut, p.msg1, n);
        cr_assert_eq(channel_init(&res, res_sk, T_NETWORK, T_VERSION), ERR_OK);
        cr_assert_eq(channel_respond(&res, cut, n, peer, payload, sizeof payload, &plen), ERR_PROTO,
                     "message 1 cut to %zu bytes", n);
        free(cut);
    }
    for (size_t n = 0; n < p.msg2_len; n++) {
        struct channel ini;
        cr_assert_eq(channel_init(&ini, ini_sk, T_NETWORK, T_VERSION), ERR_OK);
        uint8_t m1[T_BUF_SIZE];
        size_t l1;
        cr_assert_eq(channel_initiate(&ini, res_pk, NULL, 0, m1, sizeof m1, &l1), ERR_OK);
        cr_assert_eq(channel_finish(&ini, p.msg2, n, payload, sizeof payload, &plen), ERR_PROTO,
                     "message 2 cut to %zu bytes", n);
    }
    /* Messages of the wrong kind where a handshake message is expected. */
    struct channel res, ini;
    cr_assert_eq(channel_init(&res, res_sk, T_NETWORK, T_VERSION), ERR_OK);
    cr_assert_eq(channel_respond(&res, p.msg2, p.msg2_len, peer, payload, sizeof payload, &plen),
                 ERR_PROTO);
    cr_assert_eq(channel_init(&ini, ini_sk, T_NETWORK, T_VERSION), ERR_OK);
    uint8_t m1[T_BUF_SIZE];
    size_t l1;
    cr_assert_eq(channel_initiate(&ini, res_pk, NULL, 0, m1, sizeof m1, &l1), ERR_OK);
    cr_assert_eq(channel_finish(&ini, m1, l1, payload, sizeof payload, &plen), ERR_PROTO);
}

/* Transport messages: plaintext at the limit and one past it, a message over
 * CHANNEL_MSG_SIZE_MAX, a receiver's buffer one short, and every truncation. */
Test(channel, transport_limits)
{
    struct pair p;
    uint8_t *plain = malloc(CHANNEL_PLAINTEXT_SIZE_MAX + 1);
    uint8_t *msg = malloc(CHANNEL_MSG_SIZE_MAX + 1);
    uint8_t *out = malloc(CHANNEL_PLAINTEXT_SIZE_MAX);
    size_t len, olen;
    uint64_t c;
    cr_assert(plain != NULL && msg != NULL && out != NULL);
    memset(plain, 'p', CHANNEL_PLAINTEXT_SIZE_MAX + 1);
    handshake(&p, "", "", 0);
    cr_assert_eq(channel_seal(&p.ini, plain, CHANNEL_PLAINTEXT_SIZE_MAX + 1, msg,
                              CHANNEL_MSG_SIZE_MAX + 1, &len),
                 ERR_MSGSIZE);
    cr_assert_eq(channel_seal(&p.ini, plain, 100, msg, 100 + CHANNEL_TRANSPORT_OVERHEAD - 1, &len),
                 ERR_MSGSIZE, "a short output buffer");
    cr_assert_eq(
        channel_seal(&p.ini, plain, CHANNEL_PLAINTEXT_SIZE_MAX, msg, CHANNEL_MSG_SIZE_MAX, &len),
        ERR_OK);
    cr_assert_eq(len, CHANNEL_MSG_SIZE_MAX);
    cr_assert_eq(channel_open(&p.res, msg, len + 1, out, CHANNEL_PLAINTEXT_SIZE_MAX, &olen, &c),
                 ERR_MSGSIZE);
    cr_assert_eq(channel_open(&p.res, msg, len, out, CHANNEL_PLAINTEXT_SIZE_MAX - 1, &olen, &c),
                 ERR_MSGSIZE);
    for (size_t n = 0; n < CHANNEL_TRANSPORT_OVERHEAD; n++) {
        cr_assert_eq(channel_open(&p.res, msg, n, out, CHANNEL_PLAINTEXT_SIZE_MAX, &olen, &c),
                     ERR_PROTO, "cut to %zu bytes", n);
    }
    cr_assert_eq(channel_open(&p.res, msg, len - 1, out, CHANNEL_PLAINTEXT_SIZE_MAX, &olen, &c),
                 ERR_AUTH);
    cr_assert_eq(channel_open(&p.res, msg, len, out, CHANNEL_PLAINTEXT_SIZE_MAX, &olen, &c),
                 ERR_OK);
    cr_assert_eq(olen, CHANNEL_PLAINTEXT_SIZE_MAX);
    cr_assert_eq(memcmp(out, plain, olen), 0);
    free(plain);
    free(msg);
    free(out);
}

/* Counter 0 and 2^64 - 1 are no sender's, and a session whose counters are spent is closed. */
Test(channel, counter_bounds)
{
    struct pair p;
    uint8_t msg[T_BUF_SIZE], out[T_BUF_SIZE];
    size_t len, olen;
    uint64_t c;
    handshake(&p, "", "", 0);
    seal_ok(&p.ini, "x", msg, &len);
    memset(msg + CHANNEL_HDR_SIZE + CHANNEL_TAG_SIZE, 0, 8);
    cr_assert_eq(channel_open(&p.res, msg, len, out, sizeof out, &olen, &c), ERR_PROTO);
    memset(msg + CHANNEL_HDR_SIZE + CHANNEL_TAG_SIZE, 0xff, 8);
    cr_assert_eq(channel_open(&p.res, msg, len, out, sizeof out, &olen, &c), ERR_PROTO);
    p.ini.send_counter = CHANNEL_COUNTER_MAX - 1;
    seal_ok(&p.ini, "last", msg, &len);
    cr_assert_eq(wire_counter(msg), CHANNEL_COUNTER_MAX);
    open_ok(&p.res, msg, len, "last", CHANNEL_COUNTER_MAX);
    cr_assert_eq(channel_seal(&p.ini, (const uint8_t *)"x", 1, msg, sizeof msg, &len), ERR_CLOSED);
}

/* The network id: 1..CHANNEL_NETWORK_SIZE_MAX bytes. */
Test(channel, network_limits)
{
    struct channel ch;
    char net[CHANNEL_NETWORK_SIZE_MAX + 2];
    memset(net, 'n', sizeof net);
    net[CHANNEL_NETWORK_SIZE_MAX] = '\0';
    cr_assert_eq(channel_init(&ch, ini_sk, net, T_VERSION), ERR_OK);
    net[CHANNEL_NETWORK_SIZE_MAX] = 'n';
    net[CHANNEL_NETWORK_SIZE_MAX + 1] = '\0';
    cr_assert_eq(channel_init(&ch, ini_sk, net, T_VERSION), ERR_INVAL);
    cr_assert_eq(ch.state, CHANNEL_WIPED);
    cr_assert_eq(channel_init(&ch, ini_sk, "", T_VERSION), ERR_INVAL);
}

/* A key that is no key: a low-order ephemeral in message 1, a peer key with no X25519 form. */
Test(channel, bad_keys)
{
    struct pair p;
    uint8_t payload[16], peer[KEY_PUBLIC_SIZE], buf[T_BUF_SIZE];
    size_t len, plen;
    struct channel ch;
    handshake(&p, "", "", 1);
    memcpy(buf, p.msg1, p.msg1_len);
    memset(buf + CHANNEL_HDR_SIZE, 0, CHANNEL_DH_SIZE); /* the point 0 has order 4 */
    cr_assert_eq(channel_init(&ch, res_sk, T_NETWORK, T_VERSION), ERR_OK);
    cr_assert_eq(channel_respond(&ch, buf, p.msg1_len, peer, payload, sizeof payload, &plen),
                 ERR_PROTO);
    uint8_t identity[KEY_PUBLIC_SIZE] = {1}; /* the Ed25519 neutral element */
    cr_assert_eq(channel_init(&ch, ini_sk, T_NETWORK, T_VERSION), ERR_OK);
    cr_assert_eq(channel_initiate(&ch, identity, NULL, 0, buf, sizeof buf, &len), ERR_INVAL);
    cr_assert_eq(ch.state, CHANNEL_WIPED);
}

/* The two-step responder: a refused key gets no reply and leaves nothing behind; transport
 * calls on a channel that is not open are refused. */
Test(channel, refuse_and_wipe)
{
    struct pair p;
    struct channel res;
    uint8_t payload[16], peer[KEY_PUBLIC_SIZE], buf[T_BUF_SIZE];
    size_t len, plen;
    uint64_t c;
    handshake(&p, "", "", 1);
    cr_assert_eq(channel_init(&res, res_sk, T_NETWORK, T_VERSION), ERR_OK);
    cr_assert_eq(channel_respond(&res, p.msg1, p.msg1_len, peer, payload, sizeof payload, &plen),
                 ERR_OK);
    cr_assert_eq(channel_seal(&res, (const uint8_t *)"x", 1, buf, sizeof buf, &len), ERR_INVAL);
    cr_assert_eq(channel_open(&res, buf, 0, payload, sizeof payload, &len, &c), ERR_INVAL);
    channel_wipe(&res); /* the caller's answer to an uncertified key */
    static const struct channel zero;
    cr_assert_eq(memcmp(&res, &zero, sizeof res), 0);
    channel_wipe(&p.ini);
    cr_assert_eq(memcmp(&p.ini, &zero, sizeof p.ini), 0);
    channel_wipe(NULL);
}

/* A hub routes by the clear header alone. */
Test(channel, peek_routes)
{
    struct pair p;
    uint8_t msg[T_BUF_SIZE], tag[CHANNEL_TAG_SIZE];
    size_t len;
    enum channel_msg_type type;
    handshake(&p, "", "", 0);
    cr_assert_eq(channel_peek(p.msg1, p.msg1_len, T_VERSION, &type, tag), ERR_OK);
    cr_assert_eq(type, CHANNEL_MSG_HELLO);
    cr_assert_eq(channel_peek(p.msg2, p.msg2_len, T_VERSION, &type, tag), ERR_OK);
    cr_assert_eq(type, CHANNEL_MSG_WELCOME);
    seal_ok(&p.ini, "x", msg, &len);
    cr_assert_eq(channel_peek(msg, len, T_VERSION, &type, tag), ERR_OK);
    cr_assert_eq(type, CHANNEL_MSG_TRANSPORT);
    cr_assert_eq(memcmp(tag, p.res.tag, sizeof tag), 0);
    cr_assert_eq(channel_peek(msg, len, T_VERSION + 1, &type, tag), ERR_PROTO);
    msg[1] = 4;
    cr_assert_eq(channel_peek(msg, len, T_VERSION, &type, tag), ERR_PROTO);
    msg[1] = 0;
    cr_assert_eq(channel_peek(msg, len, T_VERSION, &type, tag), ERR_PROTO);
    cr_assert_eq(channel_peek(msg, 0, T_VERSION, &type, tag), ERR_PROTO);
    cr_assert_eq(channel_peek(msg, CHANNEL_MSG_SIZE_MAX + 1, T_VERSION, &type, tag), ERR_MSGSIZE);
}
