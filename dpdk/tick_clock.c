/* tick_clock.c - a counter read as wall-clock ns (see tick_clock.h). */
#include "tick_clock.h"

#define STEP_NS 1000000 /* a larger error is a step of the wall clock, not drift */
#define SLEW_PPM 500    /* the largest rate correction absorbing an error */
#define RATE_SHIFT 3    /* the measured rate's smoothing: 1/8 per interval */
#define HZ_MIN 16000    /* slower counters would overflow mult (1e9 << 48 / hz) */

__extension__ typedef unsigned __int128 u128;

void tick_clock_init(struct tick_clock *c, uint64_t hz, uint64_t ticks, uint64_t wall_ns)
{
    *c = (struct tick_clock){0};
    c->rate = (uint64_t)(((u128)1000000000u << TICK_CLOCK_SHIFT) / (hz < HZ_MIN ? HZ_MIN : hz));
    c->mult = c->rate;
    c->base_ticks = c->sync_ticks = ticks;
    c->base_ns = c->sync_wall = wall_ns;
}

void tick_clock_resync(struct tick_clock *c, uint64_t ticks, uint64_t wall_ns)
{
    uint64_t span = ticks - c->sync_ticks;
    if (!span || wall_ns <= c->sync_wall) { /* no time passed, or the wall clock went back */
        if (wall_ns + STEP_NS < tick_clock_ns(c, ticks)) goto step;
        return;
    }
    uint64_t now = tick_clock_ns(c, ticks);
    int64_t error = (int64_t)(wall_ns - now);
    c->resyncs++;
    c->last_error_ns = error;
    if (error > STEP_NS || error < -STEP_NS) goto step;
    /* the rate over this interval, smoothed; a wild measurement (a pause between the two
     * readings) is left out */
    uint64_t measured = (uint64_t)(((u128)(wall_ns - c->sync_wall) << TICK_CLOCK_SHIFT) / span);
    if (measured < c->rate + c->rate / 100 && measured > c->rate - c->rate / 100)
        c->rate = c->rate - (c->rate >> RATE_SHIFT) + (measured >> RATE_SHIFT);
    /* absorb the error over the next interval of the same length, within the slew limit */
    __int128 scaled =
        (__int128)error * ((__int128)1 << TICK_CLOCK_SHIFT); /* no shift of a negative */
    int64_t slew = (int64_t)(scaled / (__int128)span);
    int64_t limit = (int64_t)(c->rate / 1000000 * SLEW_PPM);
    if (slew > limit) slew = limit;
    if (slew < -limit) slew = -limit;
    c->mult = (uint64_t)((int64_t)c->rate + slew);
    c->base_ticks = ticks;
    c->base_ns = now;
    c->sync_ticks = ticks;
    c->sync_wall = wall_ns;
    return;
step:
    c->steps++;
    c->base_ticks = c->sync_ticks = ticks;
    c->base_ns = c->sync_wall = wall_ns;
    c->mult = c->rate;
}
