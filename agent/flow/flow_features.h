/* flow_features.h - what a flow record tells a model: sizes, inter-arrival times, jitter,
 * TCP flags, RTT distribution and anomalies per type, per direction.
 *
 * Kept per flow beside the flow table (flow_feat()), updated per packet in O(1) without
 * allocation, summarised into the flow record when the flow ends. Distributions (inter-
 * arrival, RTT) use 32 octave buckets of saturating 16-bit counts, so p50/p99 are within a
 * factor of sqrt(2) of the true value (the midpoint of the bucket, geometric), clamped to the
 * exact min and max. Jitter is RFC 3550's: the mean deviation of successive inter-arrival
 * times, smoothed by 1/16.
 *
 * A direction's last few payload digests find a payload sent twice (the flow's own, so the
 * result does not depend on which worker holds the flow or what else it holds).
 *
 * A flow's own RTT baseline (EWMA of the samples and of their deviation) marks a sample far
 * above it as a spike: flow_features_rtt() says so, once per excursion.
 */
#ifndef TT_FLOW_FEATURES_H
#define TT_FLOW_FEATURES_H

#include <stdint.h>
#include <string.h>

#include "../tcp/tcp_analysis.h"

#define FF_BUCKETS 32
#define FF_MIN_SHIFT 6 /* bucket 0: below 128 ns; bucket b: [2^(b+6), 2^(b+7)) */

/* A flow's distribution: 8-bit counts, all halved when one would overflow (the shape, which
 * the quantiles read, stays). */
struct ff_hist {
    uint8_t n[FF_BUCKETS];
};

/* The same buckets with wide counts: interval sums of a worker and of all (detect_baseline.h). */
struct ff_wide_hist {
    uint32_t n[FF_BUCKETS];
};

/* TCP flag counts, in this order: FIN SYN RST PSH ACK URG ECE CWR (the header's bits). */
#define FF_TCP_FLAGS 8

struct flow_dir_features {
    uint64_t last_ts_ns; /* 0: no packet yet */
    uint64_t prev_iat_ns;
    uint64_t iat_sum_ns, iat_min_ns, iat_max_ns;
    double iat_sq;        /* sum of squared inter-arrival times (ns^2), for the deviation */
    uint64_t jitter16_ns; /* RFC 3550 jitter, times 16 */
    double size_sq;
    uint64_t rtt_sum_ns;
    uint32_t iat_n;
    uint32_t size_min, size_max;
    uint16_t tcp_flags[FF_TCP_FLAGS]; /* saturating */
    struct ff_hist iat, rtt;
};

/* A direction's last payloads (their digests), for payload duplicates (dedup.h). */
#define FF_RECENT_PAYLOADS 4
struct recent_payload {
    uint64_t ts_ns;
    uint32_t digest; /* 0: none */
    uint32_t seq;    /* TCP: where it was sent */
};

struct flow_features {
    struct flow_dir_features dir[2];
    struct recent_payload payloads[2][FF_RECENT_PAYLOADS];
    uint8_t next_payload[2];
    uint16_t anomalies[TA_BIT_MAX]; /* TCP analysis findings by flag (saturating) */
    uint32_t payload_duplicates;    /* payloads this flow carried twice (dedup.h) */
    uint64_t payload_dup_first_frame;
    /* the flow's own RTT baseline, for spikes (both directions' samples) */
    uint64_t rtt_ewma_ns, rtt_dev_ns;
    uint32_t rtt_samples;
    uint8_t in_spike;
};

/* What the flow record carries (event.h), per direction. */
struct flow_dir_summary {
    uint32_t size_min, size_max, size_std;
    uint32_t pad;
    uint64_t iat_min_ns, iat_mean_ns, iat_std_ns, iat_p50_ns, iat_p99_ns, iat_max_ns;
    uint64_t jitter_ns;
    uint64_t rtt_mean_ns, rtt_p50_ns, rtt_p99_ns;
    uint32_t tcp_flags[FF_TCP_FLAGS];
};

/* Spike detection: a sample counts against the baseline after this many samples, and is a
 * spike above baseline + k * deviation and above factor * baseline. */
struct spike_config {
    uint32_t warmup;
    uint32_t k;
    uint32_t factor;
};

static inline uint32_t ff_bucket(uint64_t ns)
{
    if (ns < (1ull << (FF_MIN_SHIFT + 1))) return 0;
    uint32_t b = (uint32_t)(63 - __builtin_clzll(ns)) - FF_MIN_SHIFT;
    return b < FF_BUCKETS ? b : FF_BUCKETS - 1;
}

static inline void ff_hist_add(struct ff_hist *h, uint64_t ns)
{
    uint32_t b = ff_bucket(ns);
    if (h->n[b] == UINT8_MAX) /* keep the shape: halve every count */
        for (int i = 0; i < FF_BUCKETS; i++)
            h->n[i] = (uint8_t)((h->n[i] + 1) / 2);
    h->n[b]++;
}

static inline void ff_wide_add(struct ff_wide_hist *h, uint64_t ns)
{
    h->n[ff_bucket(ns)]++;
}

/* A packet of wirelen bytes (and TCP flags, 0 when not TCP) in direction d at ts_ns. */
static inline void flow_features_packet(struct flow_features *ff, int d, uint64_t ts_ns,
                                        uint32_t wirelen, uint8_t tcp_flags)
{
    struct flow_dir_features *fd = &ff->dir[d];
    if (fd->last_ts_ns) {
        uint64_t iat = ts_ns > fd->last_ts_ns ? ts_ns - fd->last_ts_ns : 0;
        if (!fd->iat_n || iat < fd->iat_min_ns) fd->iat_min_ns = iat;
        if (iat > fd->iat_max_ns) fd->iat_max_ns = iat;
        if (fd->iat_n) {
            uint64_t dv = iat > fd->prev_iat_ns ? iat - fd->prev_iat_ns : fd->prev_iat_ns - iat;
            /* J += (|D| - J) / 16, in units of 1/16 ns */
            fd->jitter16_ns = fd->jitter16_ns + dv - (fd->jitter16_ns + 8) / 16;
        }
        fd->prev_iat_ns = iat;
        fd->iat_n++;
        fd->iat_sum_ns += iat;
        fd->iat_sq += (double)iat * (double)iat;
        ff_hist_add(&fd->iat, iat);
        if (wirelen < fd->size_min) fd->size_min = wirelen;
    } else {
        fd->size_min = wirelen;
    }
    if (wirelen > fd->size_max) fd->size_max = wirelen;
    fd->size_sq += (double)wirelen * (double)wirelen;
    fd->last_ts_ns = ts_ns ? ts_ns : 1;
    for (uint32_t bits = tcp_flags; bits; bits &= bits - 1) {
        uint16_t *n = &fd->tcp_flags[__builtin_ctz(bits)];
        if (*n < UINT16_MAX) (*n)++;
    }
}

/* An RTT sample of the data sent in direction d. Returns 1 when it is a spike against the
 * flow's baseline (the first sample of an excursion above it); *baseline and *dev receive the
 * baseline it was judged against. */
int flow_features_rtt(struct flow_features *ff, int d, uint64_t rtt_ns,
                      const struct spike_config *sc, uint64_t *baseline, uint64_t *dev);

/* A payload of digest d (dedup_payload_digest) in direction dir: 1 when the direction's last
 * FF_RECENT_PAYLOADS payloads within window_ns hold the same bytes at another TCP sequence
 * number (tcp) or at all (UDP). Remembers it either way. */
int flow_features_payload(struct flow_features *ff, int dir, uint32_t digest, uint32_t seq, int tcp,
                          uint64_t ts_ns, uint64_t window_ns);

/* Direction d's summary; pkts is its packet count (the flow's). */
void flow_features_summary(const struct flow_features *ff, int d, uint64_t pkts, uint64_t bytes,
                           uint32_t rtt_n, uint64_t rtt_min, uint64_t rtt_max,
                           struct flow_dir_summary *out);

/* Value at quantile q of h, given the exact min and max. */
uint64_t ff_hist_quantile(const struct ff_hist *h, double q, uint64_t min, uint64_t max);
uint64_t ff_wide_quantile(const struct ff_wide_hist *h, double q, uint64_t min, uint64_t max);

#endif
