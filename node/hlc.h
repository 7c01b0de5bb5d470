/*
 * Hybrid logical clock (Kulkarni et al.): 48 bits of milliseconds since the Unix epoch and a
 * 16-bit counter in one u64, so clocks compare as integers and a counter overflow carries into
 * the milliseconds. DESIGN.md section 4: a wrong wall clock must not win causally later edits
 * (a local write's clock also exceeds every register it overwrites, see replica.c), skew must
 * be visible (flagged, never used to order), and a local clock far behind the replica's is
 * refused for writing.
 */
#ifndef CDHT_HLC_H
#define CDHT_HLC_H

#include <stdint.h>

#include "err.h"

#define HLC_COUNTER_BITS 16u

static inline uint64_t
hlc_pack(int64_t ms, uint16_t counter)
{
    return ((uint64_t)ms << HLC_COUNTER_BITS) | counter;
}

static inline int64_t
hlc_ms(uint64_t hlc)
{
    return (int64_t)(hlc >> HLC_COUNTER_BITS);
}

/* Wall clock in ms; CDHT_FAKE_NOW_MS overrides it for tests of wrong clocks. */
int64_t hlc_wall_ms(void);

/* The clock of a new local commit: greater than last and than floor, at least the wall clock.
 * ERR_CLOCK when the wall clock is more than HLC_BEHIND_REFUSE_MS behind last. */
err_code hlc_next(uint64_t last, uint64_t floor, int64_t wall_ms, uint64_t *out) WARN_UNUSED;

/* Folds a received clock into last unless it is more than HLC_AHEAD_FLAG_MS ahead of the wall
 * clock. Returns 1 when the received clock is skewed (flag it), 0 otherwise. */
int hlc_observe(uint64_t *last, uint64_t received, int64_t wall_ms);

/* ISO 8601 UTC of the clock's milliseconds: "2026-11-28T19:02:11.123Z". */
void hlc_format(uint64_t hlc, char out[64]);

#endif
