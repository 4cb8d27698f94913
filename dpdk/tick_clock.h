/* tick_clock.h - a free-running counter (the TSC, a NIC's device clock) read as wall-clock ns.
 *
 * Method: ns = base_ns + ((ticks - base_ticks) * mult) >> 48, the product taken in 128 bits,
 * so no span of ticks overflows (a week of a 5 GHz counter is 3e15 ticks, times a mult near
 * 2^48/5), and mult's rounding costs under 20 ns a week. Counters of at least 16 kHz. mult starts
 * from the counter's nominal rate. The reader that owns the clock resyncs it with CLOCK_REALTIME
 * about once a second:
 *   - the rate is measured over the interval since the last resync and smoothed (1/8 weight),
 *     so an error of the nominal rate, or a slow wander of the oscillator, does not build up;
 *   - the clock is re-based where it stands (no jump), and the error to the wall clock is
 *     absorbed over the next interval by a rate correction of at most 500 ppm (a slew, as
 *     adjtime does), so it stays monotonic;
 *   - an error over 1 ms (the wall clock was stepped, e.g. by NTP at boot) steps it instead,
 *     counted in steps.
 * Frames of one burst converted with one clock are in order; the clock is owned by one thread.
 */
#ifndef TT_TICK_CLOCK_H
#define TT_TICK_CLOCK_H

#include <stdint.h>

#define TICK_CLOCK_SHIFT 48 /* mult's binary point */

struct tick_clock {
    uint64_t base_ticks, base_ns;   /* the last resync: where the clock stood */
    uint64_t rate;                  /* measured ns per tick << TICK_CLOCK_SHIFT */
    uint64_t mult;                  /* rate with the slew applied, until the next resync */
    uint64_t sync_ticks, sync_wall; /* the last resync's readings, for measuring the rate */
    uint64_t resyncs, steps;
    int64_t last_error_ns; /* wall minus clock at the last resync */
};

/* hz: the counter's nominal rate (rte_get_tsc_hz(), or measured for a device clock). */
void tick_clock_init(struct tick_clock *c, uint64_t hz, uint64_t ticks, uint64_t wall_ns);

static inline uint64_t tick_clock_ns(const struct tick_clock *c, uint64_t ticks)
{
    __extension__ typedef unsigned __int128 u128;
    return c->base_ns + (uint64_t)(((u128)(ticks - c->base_ticks) * c->mult) >> TICK_CLOCK_SHIFT);
}

/* ticks and wall_ns read together (back to back). */
void tick_clock_resync(struct tick_clock *c, uint64_t ticks, uint64_t wall_ns);

#endif
