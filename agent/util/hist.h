/* hist.h - fixed-memory latency histogram with bounded relative error (log-linear buckets).
 *
 * Values are nanoseconds. Below 128 every value has its own bucket; above, each power of two
 * is split into 64 sub-buckets, so a reported percentile is within 1/64 (1.6%) of the true
 * value. Histograms merge by adding buckets, which is how per-worker results combine.
 * No allocation; 32 KiB each.
 */
#ifndef TT_HIST_H
#define TT_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 6
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_BUCKETS (64u * HIST_SUB)

struct hist {
    uint64_t n;
    uint64_t sum; /* of every value: Prometheus reports it beside the buckets */
    uint64_t max;
    uint64_t min;
    uint64_t buckets[HIST_BUCKETS];
};

void hist_init(struct hist *h);

/* The bucket of value v. */
static inline uint32_t hist_bucket_of(uint64_t v)
{
    if (v < 2 * HIST_SUB) return (uint32_t)v;
    int msb = 63 - __builtin_clzll(v);
    uint32_t shift = (uint32_t)msb - HIST_SUB_BITS;
    uint32_t sub = (uint32_t)(v >> shift) & (HIST_SUB - 1);
    return (shift + 1) * HIST_SUB + sub + HIST_SUB;
}

/* Inline: latencies are added per message on the hot path. */
static inline void hist_add(struct hist *h, uint64_t v)
{
    uint32_t b = hist_bucket_of(v);
    if (b >= HIST_BUCKETS) b = HIST_BUCKETS - 1;
    h->buckets[b]++;
    if (h->n == 0 || v < h->min) h->min = v;
    if (v > h->max) h->max = v;
    h->n++;
    h->sum += v;
}

void hist_merge(struct hist *into, const struct hist *from);
/* Value at quantile q in [0,1] (nearest rank), 0 when empty. The result is the midpoint of
 * its bucket, clamped to [min, max]. */
uint64_t hist_quantile(const struct hist *h, double q);

/* Cumulative counts at ascending bounds (Prometheus "le" buckets): cum[i] counts the values
 * whose bucket starts at or below bounds[i], exact up to 1/64 of the bound. */
void hist_count_le(const struct hist *h, const uint64_t *bounds, uint32_t nbounds, uint64_t *cum);

#endif
