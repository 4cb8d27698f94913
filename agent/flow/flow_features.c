/* flow_features.c - summaries of a flow's features (see flow_features.h). */
#include "flow_features.h"

#include <math.h>

static uint64_t quantile_of(const uint32_t *counts, double q, uint64_t min, uint64_t max)
{
    uint64_t n = 0;
    for (int i = 0; i < FF_BUCKETS; i++)
        n += counts[i];
    if (!n) return 0;
    uint64_t rank = (uint64_t)ceil(q * (double)n), seen = 0;
    if (rank < 1) rank = 1;
    int b = 0;
    for (; b < FF_BUCKETS; b++) {
        seen += counts[b];
        if (seen >= rank) break;
    }
    /* the bucket's geometric midpoint: 2^(b + 6.5) */
    uint64_t v = b == 0 ? 64 : (uint64_t)ldexp(M_SQRT2, b + FF_MIN_SHIFT);
    if (v < min) v = min;
    if (v > max) v = max;
    return v;
}

uint64_t ff_hist_quantile(const struct ff_hist *h, double q, uint64_t min, uint64_t max)
{
    uint32_t counts[FF_BUCKETS];
    for (int i = 0; i < FF_BUCKETS; i++)
        counts[i] = h->n[i];
    return quantile_of(counts, q, min, max);
}

/* p50 and p99 of h in one walk (a flow record needs both, for every flow). */
static void p50_p99(const struct ff_hist *h, uint64_t min, uint64_t max, uint64_t *p50,
                    uint64_t *p99)
{
    uint32_t n = 0;
    for (int i = 0; i < FF_BUCKETS; i++)
        n += h->n[i];
    *p50 = *p99 = 0;
    if (!n) return;
    uint32_t r50 = (n + 1) / 2, r99 = n - n / 100, seen = 0; /* ceil(0.5n), ceil(0.99n) */
    int b50 = -1;
    for (int b = 0; b < FF_BUCKETS; b++) {
        seen += h->n[b];
        if (b50 < 0 && seen >= r50) b50 = b;
        if (seen >= r99) {
            uint64_t v50 = b50 == 0 ? 64 : (uint64_t)ldexp(M_SQRT2, b50 + FF_MIN_SHIFT);
            uint64_t v99 = b == 0 ? 64 : (uint64_t)ldexp(M_SQRT2, b + FF_MIN_SHIFT);
            *p50 = v50 < min ? min : v50 > max ? max : v50;
            *p99 = v99 < min ? min : v99 > max ? max : v99;
            return;
        }
    }
}

uint64_t ff_wide_quantile(const struct ff_wide_hist *h, double q, uint64_t min, uint64_t max)
{
    return quantile_of(h->n, q, min, max);
}

int flow_features_rtt(struct flow_features *ff, int d, uint64_t rtt_ns,
                      const struct spike_config *sc, uint64_t *baseline, uint64_t *dev)
{
    struct flow_dir_features *fd = &ff->dir[d];
    fd->rtt_sum_ns += rtt_ns;
    ff_hist_add(&fd->rtt, rtt_ns);
    int spike = 0;
    *baseline = ff->rtt_ewma_ns;
    *dev = ff->rtt_dev_ns;
    if (sc->warmup && ff->rtt_samples >= sc->warmup) {
        uint64_t band = ff->rtt_ewma_ns + (uint64_t)sc->k * ff->rtt_dev_ns;
        int above = rtt_ns > band && rtt_ns > (uint64_t)sc->factor * ff->rtt_ewma_ns;
        spike = above && !ff->in_spike;
        ff->in_spike = (uint8_t)above;
        if (above) return spike; /* a spike does not move the baseline it is judged against */
    }
    /* EWMA of the samples (1/8) and of their absolute deviation (1/4), as TCP's SRTT and
     * RTTVAR (RFC 6298) */
    if (!ff->rtt_samples) {
        ff->rtt_ewma_ns = rtt_ns;
        ff->rtt_dev_ns = rtt_ns / 2;
    } else {
        uint64_t e = ff->rtt_ewma_ns;
        uint64_t dv = rtt_ns > e ? rtt_ns - e : e - rtt_ns;
        ff->rtt_dev_ns = (3 * ff->rtt_dev_ns + dv) / 4;
        ff->rtt_ewma_ns = (7 * e + rtt_ns) / 8;
    }
    ff->rtt_samples++;
    return spike;
}

int flow_features_payload(struct flow_features *ff, int dir, uint32_t digest, uint32_t seq, int tcp,
                          uint64_t ts_ns, uint64_t window_ns)
{
    struct recent_payload *r = ff->payloads[dir];
    int dup = 0;
    for (int i = 0; i < FF_RECENT_PAYLOADS && !dup; i++)
        if (r[i].digest == digest && ts_ns - r[i].ts_ns <= window_ns && !(tcp && r[i].seq == seq))
            dup = 1;
    struct recent_payload *slot = &r[ff->next_payload[dir]++ % FF_RECENT_PAYLOADS];
    slot->digest = digest;
    slot->ts_ns = ts_ns;
    slot->seq = seq;
    return dup;
}

static uint64_t std_of(double sum, double sq, double n)
{
    if (n < 2) return 0;
    double mean = sum / n, var = sq / n - mean * mean;
    return var > 0 ? (uint64_t)(sqrt(var) + 0.5) : 0;
}

void flow_features_summary(const struct flow_features *ff, int d, uint64_t pkts, uint64_t bytes,
                           uint32_t rtt_n, uint64_t rtt_min, uint64_t rtt_max,
                           struct flow_dir_summary *out)
{
    const struct flow_dir_features *fd = &ff->dir[d];
    memset(out, 0, sizeof(*out));
    if (pkts) {
        out->size_min = fd->size_min;
        out->size_max = fd->size_max;
        out->size_std = (uint32_t)std_of((double)bytes, fd->size_sq, (double)pkts);
    }
    if (fd->iat_n) {
        out->iat_min_ns = fd->iat_min_ns;
        out->iat_max_ns = fd->iat_max_ns;
        out->iat_mean_ns = fd->iat_sum_ns / fd->iat_n;
        out->iat_std_ns = std_of((double)fd->iat_sum_ns, fd->iat_sq, (double)fd->iat_n);
        p50_p99(&fd->iat, fd->iat_min_ns, fd->iat_max_ns, &out->iat_p50_ns, &out->iat_p99_ns);
        out->jitter_ns = fd->jitter16_ns / 16;
    }
    if (rtt_n) {
        out->rtt_mean_ns = fd->rtt_sum_ns / rtt_n;
        p50_p99(&fd->rtt, rtt_min, rtt_max, &out->rtt_p50_ns, &out->rtt_p99_ns);
    }
    for (int i = 0; i < FF_TCP_FLAGS; i++)
        out->tcp_flags[i] = fd->tcp_flags[i];
}
