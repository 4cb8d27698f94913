/* detect_baseline.h - statistical baselines: anomaly.* events when a per-interval value
 * leaves the band its own history draws.
 *
 * Each worker sums what it saw per interval of packet time (interval_ns, aligned on absolute
 * time) and hands the sums to the sink as internal tick events (struct tick_info, and one
 * struct tick_session per FIX/OUCH session with order responses). The sink adds the workers'
 * sums of an interval and closes it once every worker has moved past it, so the values, and
 * the events, do not depend on how many workers there are. Counts of rejects (per session)
 * and gaps (per market-data feed) come from the merged event stream itself.
 *
 * Each series (a metric of the interface, a session or a feed) keeps an EWMA of its value and
 * of its variance (alpha = 2 / (window + 1)). After warmup intervals, a value outside
 * baseline +- k * max(stddev, floor) is an anomaly: one event per excursion, carrying the
 * baseline and the band; a value in the band moves the baseline, one outside does not (an
 * excursion longer than window intervals becomes the new normal: the series learns again).
 * The floor is min_change_pct of the baseline (rates, latency) or 1 (counts of errors), so
 * steady traffic and an error-free history do not fire on noise. Rates are judged both ways
 * (a feed that goes quiet), latency and errors upwards; the first and the last interval of a
 * run are partial and judge no rate. Runs on the sink thread; memory is bounded by max_keys
 * (sessions and feeds; more are counted in keys_full).
 */
#ifndef TT_DETECT_BASELINE_H
#define TT_DETECT_BASELINE_H

#include <stdint.h>

#include "../event/event.h"

struct baseline_config {
    uint64_t interval_ns; /* 0: off */
    uint32_t window;      /* EWMA span, in intervals */
    uint32_t k;           /* band half-width in standard deviations */
    uint32_t warmup;      /* intervals a series sees before it judges */
    uint32_t min_change_pct;
    uint32_t min_samples; /* latency: an interval with fewer samples is not judged */
    uint32_t max_keys;    /* sessions and feeds with a baseline */
};

void baseline_config_default(struct baseline_config *c);

struct baseline_series {
    double mean, var;
    uint32_t n;         /* values learnt */
    uint32_t excursion; /* consecutive intervals outside the band */
};

/* Called for every anomaly found (the sink emits it). */
typedef void (*baseline_emit_fn)(void *ctx, struct event *e);

struct baseline_key;  /* a session's or feed's series (detect_baseline.c) */
struct baseline_open; /* an interval not yet closed */

struct baseline_detector {
    struct baseline_config cfg;
    uint32_t producers;
    uint64_t *progress;         /* per producer: the first interval it may still report */
    struct baseline_open *open; /* a ring of intervals being summed */
    uint32_t open_cap;
    uint64_t first_index; /* of the first interval seen; UINT64_MAX: none yet */
    uint64_t next_close;  /* the next interval to close */
    uint64_t last_index;  /* the latest interval any frame fell in */
    struct baseline_series packets, bytes, rtt_p99, retrans, decode_errors;
    struct baseline_key *keys;
    uint32_t nkeys;
    uint32_t nseries, series_left_out; /* sessions with latency points, and those beyond */
    uint64_t keys_full, late, open_overflow;
    uint64_t anomalies;
    baseline_emit_fn emit;
    void *ctx;
    uint64_t close_frame; /* the merge key of the tick that closes intervals (events' frame) */
};

/* producers: how many workers send ticks. Returns 0 or -ENOMEM. */
int baseline_init(struct baseline_detector *d, const struct baseline_config *cfg,
                  uint32_t producers, baseline_emit_fn emit, void *ctx);
void baseline_fini(struct baseline_detector *d);

/* An internal tick event (EV_TICK or EV_TICK_SESSION) of one producer. */
void baseline_tick(struct baseline_detector *d, const struct event *e);
/* Any other event of the merged stream: rejects and gaps are counted in their interval. */
void baseline_event(struct baseline_detector *d, const struct event *e);
/* The run is over: every interval still open is closed (the last one as partial). */
void baseline_finish(struct baseline_detector *d);

/* Judges value against series s (updating it); 1 when it is the first value of an excursion,
 * with the baseline and band in *a. Exposed for tests. both: a drop counts too. */
int baseline_judge(struct baseline_series *s, const struct baseline_config *c, double value,
                   int both, double floor, struct anomaly_info *a);

/* Per-session order-to-response latency over time, for the summary: a json_t * (jansson) of
 * {interval_us, sessions: [{session, points: [[start_ns, n, p50_us, p99_us, max_us]...]}]},
 * or NULL when there is none. The caller owns it. */
void *baseline_sessions_json(const struct baseline_detector *d);

#endif
