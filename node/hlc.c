/*
 * The hybrid logical clock's arithmetic and the wall clock it reads. The replica's clock (its
 * last value) lives in the meta table; replica.c loads and stores it around each commit.
 */
#include "hlc.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "limits.h"

int64_t
hlc_wall_ms(void)
{
    /* A test knob (tests of wrong clocks, before 1970 included); it changes nothing a user
     * could not do by setting the system clock. Ignored unless it is a plain integer. */
    const char *fake = getenv("CDHT_FAKE_NOW_MS");
    if (fake != NULL && *fake != '\0') {
        char *end = NULL;
        long long v = strtoll(fake, &end, 10);
        if (*end == '\0') {
            return v;
        }
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

err_code
hlc_next(uint64_t last, uint64_t floor, int64_t wall_ms, uint64_t *out)
{
    if (wall_ms < 0 || wall_ms + HLC_BEHIND_REFUSE_MS < hlc_ms(last)) {
        return ERR_CLOCK;
    }
    uint64_t t = hlc_pack(wall_ms, 0);
    if (t <= last) {
        t = last + 1;
    }
    if (t <= floor) {
        t = floor + 1;
    }
    ASSERT(t > last);
    *out = t;
    return ERR_OK;
}

int
hlc_observe(uint64_t *last, uint64_t received, int64_t wall_ms)
{
    if (hlc_ms(received) > wall_ms + HLC_AHEAD_FLAG_MS) {
        return 1;
    }
    if (received > *last) {
        *last = received;
    }
    return 0;
}

void
hlc_format(uint64_t hlc, char out[64])
{
    int64_t ms = hlc_ms(hlc);
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}
