/* coalesce.h - fewer wakeups under light traffic: after an idle wait has seen frames arrive,
 * a live reader sleeps a little longer before it reads, so that one wakeup takes a burst
 * instead of a frame or two (each wakeup costs a poll() and two context switches).
 *
 * It sleeps only while traffic has been light since the last wakeup (under one frame per
 * microsecond): a busy source is read without waiting at all, and the sleep is short enough
 * (capture.coalesce, 50 us by default) for a ring to hold what a line-rate burst brings in
 * meanwhile (2048 descriptors: 20 M frames/s per queue at 50 us).
 */
#ifndef TT_COALESCE_H
#define TT_COALESCE_H

#include <stdint.h>
#include <time.h>

#include "../util/clock.h"

struct coalesce {
    uint64_t sleep_ns;     /* 0: read as soon as frames are there */
    uint64_t last_wake_ns; /* monotonic time of the last wakeup */
    uint64_t frames;       /* frames read since then */
};

static inline void coalesce_count(struct coalesce *c, int frames)
{
    if (frames > 0) c->frames += (uint64_t)frames;
}

/* Called when a wait has found frames, before they are read. */
static inline void coalesce_woken(struct coalesce *c)
{
    if (!c->sleep_ns) return;
    uint64_t now = mono_ns();
    if (c->frames * 1000 < now - c->last_wake_ns) { /* under a frame per microsecond */
        struct timespec d = {0, (long)c->sleep_ns};
        nanosleep(&d, NULL);
        now += c->sleep_ns;
    }
    c->last_wake_ns = now;
    c->frames = 0;
}

#endif
