/* timeline.c - the buckets of timeline.h: aligned, doubled when outgrown, merged exactly. */
#include "timeline.h"

#include <stdlib.h>
#include <string.h>

#define SHIFT_START 20 /* ~1 ms buckets to begin with */

int timeline_init(struct timeline *t)
{
    memset(t, 0, sizeof(*t));
    t->shift = SHIFT_START;
    t->b = calloc(TIMELINE_BUCKETS, sizeof(*t->b));
    return t->b ? 0 : -1;
}

void timeline_fini(struct timeline *t)
{
    free(t->b);
    t->b = NULL;
}

void timeline_reset(struct timeline *t)
{
    if (!t->b) return;
    memset(t->b, 0, (size_t)TIMELINE_BUCKETS * sizeof(*t->b));
    t->shift = SHIFT_START;
    t->base = t->used = t->cur = 0;
}

static void lat_add(struct tl_lat *into, const struct tl_lat *from)
{
    for (int i = 0; i < TL_HIST; i++)
        into->n[i] += from->n[i];
    if (from->max_ns > into->max_ns) into->max_ns = from->max_ns;
}

static void bucket_add(struct tl_bucket *into, const struct tl_bucket *from)
{
    into->packets += from->packets;
    into->bytes += from->bytes;
    for (int s = 0; s < TL_SERIES; s++)
        lat_add(&into->lat[s], &from->lat[s]);
}

/* Doubles the width once: absolute bucket k holds what 2k and 2k+1 held. */
static void widen(struct timeline *t)
{
    uint64_t nbase = t->base >> 1;
    uint32_t nused = t->used ? (uint32_t)(((t->base + t->used - 1) >> 1) - nbase + 1) : 0;
    for (uint32_t i = 0; i < t->used; i++) {
        uint32_t to = (uint32_t)(((t->base + i) >> 1) - nbase);
        if (to == i) continue; /* b[0], or b[1] when base is odd, stays */
        bucket_add(&t->b[to], &t->b[i]);
        memset(&t->b[i], 0, sizeof(t->b[i]));
    }
    t->cur = t->used ? (uint32_t)(((t->base + t->cur) >> 1) - nbase) : 0;
    t->base = nbase;
    t->used = nused;
    t->shift++;
}

/* The slot of time ts, after widening (and moving the buckets up, for a time before the
 * first) until the span from the first to the last fits. */
static uint32_t slot_of(struct timeline *t, uint64_t ts)
{
    uint64_t idx = ts >> t->shift;
    if (!t->used) {
        t->base = idx;
        t->used = 1;
        return 0;
    }
    for (;;) {
        uint64_t lo = idx < t->base ? idx : t->base;
        uint64_t hi = idx > t->base + t->used - 1 ? idx : t->base + t->used - 1;
        if (hi - lo < TIMELINE_BUCKETS) break;
        widen(t);
        idx = ts >> t->shift;
    }
    if (idx < t->base) { /* earlier than any so far: the buckets move up */
        uint32_t by = (uint32_t)(t->base - idx);
        memmove(&t->b[by], &t->b[0], (size_t)t->used * sizeof(*t->b));
        memset(&t->b[0], 0, (size_t)by * sizeof(*t->b));
        t->base = idx;
        t->used += by;
        t->cur += by;
    }
    if (idx - t->base >= t->used) t->used = (uint32_t)(idx - t->base + 1);
    return (uint32_t)(idx - t->base);
}

void timeline_frame(struct timeline *t, uint64_t ts_ns, uint32_t bytes)
{
    if (!t->b) return;
    t->cur = slot_of(t, ts_ns);
    t->b[t->cur].packets++;
    t->b[t->cur].bytes += bytes;
}

static int hist_index(uint64_t ns)
{
    if (ns < 256) return 0;
    int lg = 63 - __builtin_clzll(ns);         /* 8.. */
    int quarter = (int)((ns >> (lg - 2)) & 3); /* the next two bits */
    int i = (lg - 8) * 4 + quarter;
    return i < TL_HIST ? i : TL_HIST - 1;
}

void timeline_latency(struct timeline *t, enum tl_series s, uint64_t ns)
{
    if (!t->b || !t->used) return;
    struct tl_lat *l = &t->b[t->cur].lat[s];
    l->n[hist_index(ns)]++;
    if (ns > l->max_ns) l->max_ns = ns;
}

uint64_t timeline_quantile(const struct tl_lat *l, double q)
{
    uint64_t total = 0;
    for (int i = 0; i < TL_HIST; i++)
        total += l->n[i];
    if (!total) return 0;
    uint64_t want = (uint64_t)(q * (double)total + 0.999999), seen = 0;
    if (!want) want = 1;
    for (int i = 0; i < TL_HIST; i++) {
        seen += l->n[i];
        if (seen >= want) {
            /* the upper edge of quarter-octave i */
            uint64_t lg = 8 + (uint64_t)i / 4, quarter = (uint64_t)i % 4;
            uint64_t edge = (1ull << lg) + ((quarter + 1) << (lg - 2));
            return edge < l->max_ns ? edge : l->max_ns;
        }
    }
    return l->max_ns;
}

void timeline_merge(struct timeline *into, const struct timeline *from)
{
    if (!into->b || !from->b || !from->used) return;
    while (into->shift < from->shift)
        widen(into);
    for (uint32_t i = 0; i < from->used; i++) {
        const struct tl_bucket *fb = &from->b[i];
        if (!fb->packets && !fb->lat[0].max_ns && !fb->lat[1].max_ns && !fb->lat[2].max_ns)
            continue;
        /* the bucket's start, placed at into's width (the wider; aligned, so it falls in
         * exactly one of into's buckets) */
        uint32_t s = slot_of(into, (from->base + i) << from->shift);
        bucket_add(&into->b[s], fb);
    }
}
