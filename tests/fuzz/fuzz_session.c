/*
 * Fuzz target for the callee's session handler (node/session.c: session_server_handle), the
 * code a hub runs on every message a peer sends. A real replica (open mode, in a temporary
 * folder made once per process) serves; a client channel is opened with a genuine handshake
 * once. The first input byte picks how the rest reaches the handler:
 *   even: as raw bytes off the wire (channel frames and handshakes, garbage or replayed);
 *   odd:  sealed in the open session, so that the sync message decoder and every round's
 *         dispatch (hello, heads, pull, push, cosign, done) see fuzzed plaintext.
 * Properties: the handler never fails on input (only on its own resources); an answer to a
 * sealed message opens in the client channel and decodes as a well-formed reply.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "channel.h"
#include "diag.h"
#include "keys.h"
#include "replica.h"
#include "session.h"
#include "wire.h"

static struct {
    int ready;
    char dir[64];
    char home[96];
    struct replica *hub;
    struct session_server s;
    struct channel ch;
    uint8_t sk[KEY_SECRET_SIZE];
} F;

static void
fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_session: property failed: %s\n", what);
    abort();
}

static void
fuzz_cleanup(void)
{
    static const char *const files[] = {"replica.db", "replica.db-wal", "replica.db-shm", "key",
                                        "lock"};
    if (!F.ready) {
        return;
    }
    session_server_free(&F.s);
    replica_close(F.hub);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[160];
        snprintf(p, sizeof p, "%s/%s", F.home, files[i]);
        unlink(p);
    }
    rmdir(F.home);
    rmdir(F.dir);
}

static void
fuzz_setup(void)
{
    diag_level = DIAG_ERROR; /* the handler's warnings about hostile input are expected here */
    if (sodium_init() < 0) {
        fuzz_fail("sodium_init");
    }
    snprintf(F.dir, sizeof F.dir, "/tmp/cdht-fuzz-session.XXXXXX");
    if (mkdtemp(F.dir) == NULL) {
        fuzz_fail("mkdtemp");
    }
    snprintf(F.home, sizeof F.home, "%s/hub", F.dir);
    struct replica_init_opts o = {.unit = "44001", .network = "cdht"};
    const char *why = NULL;
    if (replica_init(F.home, &o) != ERR_OK ||
        replica_open(&F.hub, F.home, REPLICA_WRITE, NULL, 0, &why) != ERR_OK ||
        session_server_init(&F.s, F.hub) != ERR_OK) {
        fuzz_fail("the hub replica cannot be set up");
    }
    F.ready = 1;
    atexit(fuzz_cleanup);
    /* The client: a fresh device key, a genuine handshake (open mode admits anyone). */
    uint8_t pk[KEY_PUBLIC_SIZE];
    crypto_sign_keypair(pk, F.sk);
    uint8_t hello[CHANNEL_HELLO_SIZE(0)];
    size_t hello_len = 0, plen = 0;
    uint8_t *out = NULL;
    size_t out_len = 0;
    if (channel_init(&F.ch, F.sk, "cdht", (uint8_t)WIRE_VERSION) != ERR_OK ||
        channel_initiate(&F.ch, F.hub->pk, NULL, 0, hello, sizeof hello, &hello_len) != ERR_OK ||
        session_server_handle(&F.s, hello, hello_len, &out, &out_len) != ERR_OK || out_len == 0 ||
        channel_finish(&F.ch, out, out_len, NULL, 0, &plen) != ERR_OK) {
        fuzz_fail("the handshake with the hub failed");
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!F.ready) {
        fuzz_setup();
    }
    if (size == 0 || size - 1 > WIRE_MSG_SIZE_MAX) {
        return 0;
    }
    int sealed = data[0] & 1;
    data++;
    size--;
    uint8_t *out = NULL, *msg = NULL;
    size_t out_len = 0, msg_len = size;
    if (sealed) {
        size_t cap = size + CHANNEL_TRANSPORT_OVERHEAD;
        if ((msg = malloc(cap)) == NULL ||
            channel_seal(&F.ch, data, size, msg, cap, &msg_len) != ERR_OK) {
            fuzz_fail("sealing an input");
        }
    }
    err_code rc = session_server_handle(&F.s, sealed ? msg : data, msg_len, &out, &out_len);
    if (rc != ERR_OK && rc != ERR_NOMEM) {
        /* The handler fails only on its own resources (the database, memory). */
        if (rc != ERR_DB && rc != ERR_IO) {
            fuzz_fail("the handler failed on input rather than answering");
        }
    }
    if (sealed && rc == ERR_OK && out_len > 0) {
        uint8_t *plain = malloc(CHANNEL_PLAINTEXT_SIZE_MAX);
        size_t plen = 0;
        uint64_t counter = 0;
        Cdht__Sync__Reply *rp = NULL;
        const char *why = NULL;
        if (plain == NULL ||
            channel_open(&F.ch, out, out_len, plain, CHANNEL_PLAINTEXT_SIZE_MAX, &plen,
                         &counter) != ERR_OK) {
            fuzz_fail("an answer does not open in the session");
        }
        if (wire_reply_decode(plain, plen, &rp, &why) != ERR_OK) {
            fprintf(stderr, "fuzz_session: %s\n", why ? why : "?");
            fuzz_fail("an answer is not a well-formed reply");
        }
        wire_reply_free(rp);
        free(plain);
    }
    free(out);
    free(msg);
    return 0;
}
