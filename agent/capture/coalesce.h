/* coalesce.h - fewer wakeups under light traffic: after an idle wait has seen frames arrive,
 * a live reader sleeps a little longer before it reads, so that one wakeup takes a burst
 * instead of a frame or two (each wakeup costs system calls and two context switches).
 *
 * It sleeps only while traffic has been light since the last wakeup (under one frame per
 * microsecond): a busy source is read without waiting at all. The sleep is long enough for
 * COALESCE_BATCH frames at the rate seen since the last wakeup, within capture.coalesce (50
 * us by default) and four times that: short enough for a ring to hold what a line-rate burst
 * brings in meanwhile (2048 descriptors: 10 M frames/s per queue for 200 us).
 *
 * With a doorbell (tap mode: the XDP program rings when a queue's ring is a quarter full) a
 * burst cuts the sleep short, so the sleep may be longer: COALESCE_BELL_BATCH frames, up to
 * COALESCE_BELL_MAX. Sleeping is then waiting on the bell (the source's nap function). The
 * kernel runs the bell's wakeup from irq_work, which some machines (virtual ones without
 * self-IPIs) delay to the next timer tick. So the longest sleep starts where it is without a
 * bell and grows by an eighth after each sleep that ends with its ring under half full; a
 * wakeup that finds its ring fuller came late and halves it.
 */
#ifndef TT_COALESCE_H
#define TT_COALESCE_H

#include <stdint.h>
#include <time.h>

#include "../util/clock.h"

#define COALESCE_BATCH 64  /* frames a wakeup should find */
#define COALESCE_STRETCH 4 /* the longest sleep, in capture.coalesce */
#define COALESCE_BELL_BATCH 2048
#define COALESCE_BELL_MAX 4000000 /* ns */

struct coalesce {
    uint64_t sleep_ns;     /* 0: read as soon as frames are there */
    uint64_t last_wake_ns; /* monotonic time of the last wakeup */
    uint64_t frames;       /* frames read since then */
    /* Optional: sleeps up to ns or until the doorbell rings (NULL: nanosleep). */
    void (*nap)(void *ctx, uint64_t ns);
    void *nap_ctx;
    uint64_t nap_max_ns; /* the longest sleep with the bell now (coalesce_use_bell sets it) */
};

static inline void coalesce_count(struct coalesce *c, int frames)
{
    if (frames > 0) c->frames += (uint64_t)frames;
}

/* How long to sleep before reading, given the traffic since the last wakeup: 0 when it was
 * busy (a frame per microsecond or more). */
static inline uint64_t coalesce_sleep(const struct coalesce *c, uint64_t now)
{
    uint64_t elapsed = now - c->last_wake_ns;
    if (c->frames * 1000 >= elapsed) return 0;
    uint64_t batch = c->nap ? COALESCE_BELL_BATCH : COALESCE_BATCH;
    uint64_t most = c->sleep_ns * COALESCE_STRETCH;
    if (c->nap && most < c->nap_max_ns) most = c->nap_max_ns;
    uint64_t ns = c->frames ? elapsed / c->frames * batch : c->sleep_ns;
    if (ns < c->sleep_ns) ns = c->sleep_ns;
    if (ns > most) ns = most;
    return ns;
}

/* Sleeps through nap(ctx, ns) from now on, which a doorbell cuts short. */
static inline void coalesce_use_bell(struct coalesce *c, void (*nap)(void *, uint64_t), void *ctx)
{
    c->nap = nap;
    c->nap_ctx = ctx;
    c->nap_max_ns = c->sleep_ns * COALESCE_STRETCH;
}

/* After a sleep with the bell: the fullest ring then, in percent. The bell rings at a quarter,
 * so a ring found over half full means the bell came late (or the sleep ended first): halve
 * the longest sleep; a full one may have lost frames: start again from the shortest. */
static inline void coalesce_slept(struct coalesce *c, int fill_pct)
{
    uint64_t most = c->nap_max_ns;
    if (fill_pct >= 100)
        most = 0;
    else if (fill_pct > 50)
        most /= 2;
    else
        most += most / 8;
    if (most > COALESCE_BELL_MAX) most = COALESCE_BELL_MAX;
    if (most < c->sleep_ns * COALESCE_STRETCH) most = c->sleep_ns * COALESCE_STRETCH;
    c->nap_max_ns = most;
}

static inline void coalesce_sleep_for(const struct coalesce *c, uint64_t ns)
{
    if (c->nap) {
        c->nap(c->nap_ctx, ns);
        return;
    }
    struct timespec d = {0, (long)ns};
    nanosleep(&d, NULL);
}

/* Called when a wait has found frames, before they are read. The rate is measured from the
 * moment before the sleep: the frames the next read finds arrived during it. (Measured from
 * its end, a read of a thousand frames taken in 200 us looks like a busy link, and the next
 * empty read would poll, to be woken by the very next frame.) */
static inline void coalesce_woken(struct coalesce *c)
{
    if (!c->sleep_ns) return;
    uint64_t now = mono_ns(), ns = coalesce_sleep(c, now);
    if (ns) coalesce_sleep_for(c, ns);
    c->last_wake_ns = now;
    c->frames = 0;
}

/* Called when a read found nothing, before waiting in poll(): under steady light traffic
 * (frames came since the last wakeup, at under one per microsecond) the reader naps the
 * coalescing time and reads again without poll(), one system call per wakeup instead of two.
 * Returns 1 when it napped; with nothing read after the nap, the next empty read polls. */
static inline int coalesce_nap(struct coalesce *c)
{
    if (!c->sleep_ns || !c->frames) return 0;
    uint64_t now = mono_ns(), ns = coalesce_sleep(c, now);
    if (!ns) return 0;
    coalesce_sleep_for(c, ns);
    c->last_wake_ns = now;
    c->frames = 0;
    return 1;
}

#endif
