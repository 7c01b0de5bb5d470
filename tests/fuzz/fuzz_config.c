/*
 * Fuzz target for the configuration reader (node/config.c, through Debian's inih). config_load
 * reads a path, so each input is written to one scratch file first. Properties: the only errors
 * are ERR_INVAL and ERR_MSGSIZE, each with a sentence and a line inside the input; a refused
 * file leaves the configuration byte for byte as it was; an accepted one passes config_check,
 * keeps every number in its documented range, and every value it holds is accepted again by
 * config_set (the file and the flags validate alike).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "keys.h"

static void
fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_config: property failed: %s\n", what);
    abort();
}

/* One scratch file for the whole run, removed at exit. */
static char fuzz_path[64];

static void
fuzz_cleanup(void)
{
    unlink(fuzz_path);
}

static void
fuzz_write(const uint8_t *data, size_t size)
{
    if (fuzz_path[0] == '\0') {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(fuzz_path, sizeof fuzz_path, "%s/cdht-fuzz-config-XXXXXX", base);
        int fd = mkstemp(fuzz_path);
        if (fd < 0) {
            abort();
        }
        close(fd);
        atexit(fuzz_cleanup);
    }
    FILE *f = fopen(fuzz_path, "wb");
    if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        abort();
    }
}

static void
fuzz_range(unsigned v, unsigned lo, unsigned hi)
{
    if (v < lo || v > hi) {
        fuzz_fail("a number outside its range");
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config c, before;
    char why[CONFIG_WHY_SIZE];
    unsigned line = 0;

    fuzz_write(data, size);
    config_defaults(&c);
    memcpy(&before, &c, sizeof c);
    err_code rc = config_load(&c, fuzz_path, why, &line);
    if (rc != ERR_OK) {
        if (rc != ERR_INVAL && rc != ERR_MSGSIZE) {
            fuzz_fail("an error config.h does not document for a readable file");
        }
        if (why[0] == '\0' || strlen(why) >= CONFIG_WHY_SIZE) {
            fuzz_fail("a refusal without a sentence");
        }
        size_t lines = 1;
        for (size_t i = 0; i < size; i++) {
            lines += data[i] == '\n';
        }
        if (line > lines) {
            fuzz_fail("a refusal's line past the end of the input");
        }
        if (memcmp(&before, &c, sizeof c) != 0) {
            fuzz_fail("a refused file changed the configuration");
        }
        return 0;
    }
    if (why[0] != '\0' || line != 0) {
        fuzz_fail("an accepted file with a refusal");
    }
    if (config_check(&c, why) != ERR_OK) {
        fuzz_fail("an accepted file fails config_check");
    }
    fuzz_range(c.interval_s, CONFIG_INTERVAL_S_MIN, CONFIG_INTERVAL_S_MAX);
    fuzz_range(c.jitter_percent, 0, CONFIG_JITTER_PERCENT_MAX);
    fuzz_range(c.backoff_initial_s, 1, CONFIG_BACKOFF_INITIAL_S_MAX);
    fuzz_range(c.backoff_max_s, c.backoff_initial_s, CONFIG_BACKOFF_MAX_S_MAX);
    fuzz_range(c.session_timeout_s, CONFIG_SESSION_TIMEOUT_S_MIN, CONFIG_SESSION_TIMEOUT_S_MAX);
    fuzz_range(c.peers_max, 1, CONFIG_PEERS_MAX_LIMIT);
    fuzz_range(c.upstream_count, 0, CONFIG_UPSTREAMS_MAX);
    struct config again;
    config_defaults(&again);
    if (config_set(&again, "listen", c.listen, why) != ERR_OK ||
        config_set(&again, "control_socket", c.control_socket, why) != ERR_OK) {
        fuzz_fail("config_set refuses a value config_load accepted");
    }
    for (unsigned i = 0; i < c.upstream_count; i++) {
        char kb[KEYS_B64_SIZE], upline[CONFIG_URL_SIZE_MAX + 1 + KEYS_B64_SIZE];
        keys_b64(c.upstream_key[i], kb);
        snprintf(upline, sizeof upline, "%s %s", c.upstream[i], kb);
        if (config_set(&again, "upstream", upline, why) != ERR_OK ||
            memcmp(again.upstream_key[i], c.upstream_key[i], KEY_PUBLIC_SIZE) != 0) {
            fuzz_fail("config_set refuses an upstream config_load accepted");
        }
    }
    return 0;
}
