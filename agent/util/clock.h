/* clock.h - the monotonic clock in nanoseconds (timeouts, rates, latencies of the agent's own
 * work; packet times are wall-clock and come with the frames). */
#ifndef TT_CLOCK_H
#define TT_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* The monotonic clock's time ns from now, for waits with a deadline (sem_clockwait). */
static inline struct timespec mono_after(uint64_t ns)
{
    uint64_t t = mono_ns() + ns;
    return (struct timespec){(time_t)(t / 1000000000u), (long)(t % 1000000000u)};
}

#endif
