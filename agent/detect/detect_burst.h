/* detect_burst.h - microbursts: sliding windows of an interface's traffic over a rate.
 *
 * Every frame of one capture interface is fed in time order. A window of window_ns ending at
 * any frame whose bytes exceed fraction x link_bps is over the line; consecutive such windows
 * form one burst, reported when the traffic falls back under the line (or at the end) with
 * its start (the first frame of the first window over the line), duration, bytes, frames and
 * peak rate (the fullest window). Memory: a fixed ring of the frames inside the window; when
 * a window holds more frames than the ring, the oldest are dropped from the sum early
 * (counted in ring_overflow: the rate is then underestimated, never invented).
 */
#ifndef TT_DETECT_BURST_H
#define TT_DETECT_BURST_H

#include <stdint.h>

#include "../event/event.h"

#define BURST_RING 8192 /* a power of two */
#define BURST_RING_MASK (BURST_RING - 1)
_Static_assert((BURST_RING & BURST_RING_MASK) == 0, "the ring's indexes are masked");

struct burst {
    uint64_t start_ns, end_ns; /* first frame of the first window, last frame over the line */
    uint64_t bytes, frames;    /* frames from start to end */
    uint64_t peak_bytes;       /* of the fullest window */
};

struct burst_detector {
    uint64_t window_ns;
    uint64_t threshold_bytes; /* bytes in a window above which it is over the line */
    uint64_t sum;             /* bytes of the frames in the window */
    uint32_t head, tail;      /* free-running: the window's frames are [tail, head), masked */
    int in_burst;
    struct burst cur;
    uint64_t bursts, ring_overflow;
    uint64_t ts[BURST_RING];
    uint32_t len[BURST_RING];
};

/* link_bps 0 disables detection. */
void burst_init(struct burst_detector *d, uint64_t window_ns, uint64_t link_bps, double fraction);

/* burst_feed()'s rare part, out of line: a burst starts with the window just fed. */
void burst_begin(struct burst_detector *d);

/* Feeds one frame; returns 1 when a burst ended before it (then *out holds it). Inline: every
 * frame comes through here. */
static inline int burst_feed(struct burst_detector *d, uint64_t ts_ns, uint32_t wirelen,
                             struct burst *out)
{
    if (d->threshold_bytes == UINT64_MAX) return 0;
    uint32_t head = d->head, tail = d->tail;
    uint64_t sum = d->sum;
    if (ts_ns >= d->window_ns) { /* frames that left the window ending at this frame */
        uint64_t horizon = ts_ns - d->window_ns;
        while (tail != head && d->ts[tail & BURST_RING_MASK] <= horizon)
            sum -= d->len[tail++ & BURST_RING_MASK];
    }
    if (head - tail == BURST_RING) {
        d->ring_overflow++;
        sum -= d->len[tail++ & BURST_RING_MASK];
    }
    int ended = 0;
    if (d->in_burst && sum + wirelen <= d->threshold_bytes) {
        /* this frame's window is under the line: the burst ended with the previous frame */
        *out = d->cur;
        d->in_burst = 0;
        d->bursts++;
        ended = 1;
    }
    d->ts[head & BURST_RING_MASK] = ts_ns;
    d->len[head & BURST_RING_MASK] = wirelen;
    head++;
    sum += wirelen;
    d->head = head;
    d->tail = tail;
    d->sum = sum;
    if (sum > d->threshold_bytes) {
        if (!d->in_burst) {
            burst_begin(d);
        } else {
            d->cur.bytes += wirelen;
            d->cur.frames++;
        }
        d->cur.end_ns = ts_ns;
        if (sum > d->cur.peak_bytes) d->cur.peak_bytes = sum;
    }
    return ended;
}

/* Ends a burst in progress at the end of the input; returns 1 with *out when there was one. */
int burst_finish(struct burst_detector *d, struct burst *out);

/* What the summary counts of the bursts of every interface. */
struct burst_totals {
    uint64_t bursts, bytes, peak_bps, longest_ns;
};
void burst_totals_merge(struct burst_totals *into, const struct burst_totals *from);

/* Fills the burst.micro fields of e (ts_ns and u.burst) for burst b of interface ifname,
 * and counts it in tot. */
void burst_describe(const struct burst_detector *d, const struct burst *b, const char *ifname,
                    struct event *e, struct burst_totals *tot);

/* The microburst detectors of a run: one per capture interface, made in one place (the
 * pipeline's plan) and fed by the one thread that sees every frame of them (the only worker,
 * the shared reader, or the dispatcher). n is 0 when detection is off. */
struct burst_set {
    uint32_t n;
    struct burst_detector *det;
    char (*ifname)[16];
    uint64_t window_ns, link_bps;
    double fraction;
};

/* link_bps 0: an empty set. Returns 0 or -ENOMEM. */
int burst_set_init(struct burst_set *s, uint32_t n, const char *const *ifnames, uint64_t window_ns,
                   uint64_t link_bps, double fraction);
/* Every detector afresh (a worker reset). */
void burst_set_reset(struct burst_set *s);
void burst_set_fini(struct burst_set *s);

#endif
