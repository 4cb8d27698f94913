/* hist.c - log-linear histogram (see hist.h). */
#include "hist.h"

#include <string.h>

void hist_init(struct hist *h)
{
    memset(h, 0, sizeof(*h));
}

static uint64_t bucket_low(uint32_t b)
{
    if (b < 2 * HIST_SUB)
        return b;
    uint32_t shift = b / HIST_SUB - 2;
    uint32_t sub = b % HIST_SUB;
    return ((uint64_t)(HIST_SUB + sub)) << shift;
}

void hist_merge(struct hist *into, const struct hist *from)
{
    if (!from->n)
        return;
    /* only the buckets between from's least and greatest value can hold anything: a merge
     * touches (and pages in) no more of the 32 KiB than the values need */
    for (uint32_t i = hist_bucket_of(from->min), hi = hist_bucket_of(from->max); i <= hi; i++)
        into->buckets[i] += from->buckets[i];
    if (into->n == 0 || from->min < into->min)
        into->min = from->min;
    if (from->max > into->max)
        into->max = from->max;
    into->n += from->n;
    into->sum += from->sum;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
    if (!h->n)
        return 0;
    if (q <= 0)
        return h->min;
    if (q >= 1)
        return h->max;
    uint64_t rank = (uint64_t)(q * (double)h->n + 0.999999999);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (uint32_t b = hist_bucket_of(h->min); b < HIST_BUCKETS; b++) { /* none below min's */
        seen += h->buckets[b];
        if (seen >= rank) {
            uint64_t lo = bucket_low(b);
            uint64_t hi = b + 1 < HIST_BUCKETS ? bucket_low(b + 1) : lo;
            uint64_t mid = lo + (hi - lo) / 2;
            if (mid < h->min)
                mid = h->min;
            if (mid > h->max)
                mid = h->max;
            return mid;
        }
    }
    return h->max;
}

void hist_count_le(const struct hist *h, const uint64_t *bounds, uint32_t nbounds, uint64_t *cum)
{
    uint64_t seen = 0;
    uint32_t i = 0;
    /* only the buckets from min's to max's can hold values */
    for (uint32_t b = hist_bucket_of(h->min), last = hist_bucket_of(h->max);
         h->n && b <= last && i < nbounds; b++) {
        if (!h->buckets[b])
            continue;
        while (i < nbounds && bucket_low(b) > bounds[i])
            cum[i++] = seen;
        seen += h->buckets[b];
    }
    while (i < nbounds)
        cum[i++] = seen;
}
