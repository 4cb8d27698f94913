/* sink.h - the event sink: the one place every event goes through, on the calling thread.
 *
 * Producers (workers, the dispatcher's microburst detectors) each fill an event ring and
 * publish a watermark: every event they will still emit sorts at or after it. sink_drain()
 * merges the rings back into frame order (frame, then the secondary key, then the flow id),
 * so the output never depends on the number of workers. Each event then runs the detectors
 * of the merged stream (RST and FIN storms, alert rules), is counted by type and severity,
 * written as a JSON line and handed to Kafka. Counters go to the metrics registry every
 * publish interval, and a stats record to Kafka's stats topic every stats interval.
 */
#ifndef TT_SINK_H
#define TT_SINK_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "../detect/detect_alert.h"
#include "../detect/detect_baseline.h"
#include "../detect/detect_storm.h"
#include "../event/event.h"
#include "../event/event_filter.h"
#include "../metrics/metrics.h"
#include "../util/spsc_ring.h"
#include "sink_kafka.h"

#define SINK_SOURCES_MAX 128 /* workers, and the dispatcher's or readers' microbursts */

/* A producer's ring and its watermark. */
struct event_source {
    struct spsc_ring *ring;
    _Atomic uint64_t *watermark;
};

/* Adds the producers' own counters (the dispatcher's) to the snapshot sink_publish sends. */
typedef void (*sink_counts_fn)(void *ctx, struct metrics_sink_snap *snap);

struct sink {
    FILE *out;                /* JSON lines; NULL: none */
    struct kafka_sink *kafka; /* NULL: none */
    uint64_t *events;         /* counts by type (the run's result), storms included */
    struct storm_detector rst, fin;
    struct alert_detector alerts;
    struct event alert_buf[ALERT_MAX_RULES];
    char line[8192];
    /* exported while running (metrics.h) */
    struct metrics *metrics;
    int live_source; /* packet times are wall-clock times: their delay is meaningful */
    uint64_t events_sev[EV_MAX][3];
    struct metrics_sink_snap snap; /* built here, copied into the registry */
    struct prom_hist event_delay;
    uint64_t next_publish_ns, publish_interval_ns;
    uint64_t next_stats_ns, last_stats_ns, kafka_stats_ns;
    sink_counts_fn counts;
    void *counts_ctx;
    struct baseline_detector baseline; /* anomaly.*: from the workers' ticks and the events */
    const struct event_filter *filter; /* what is written and sent (NULL: everything) */
    uint64_t filtered_out;             /* events counted but left out by the filter */
};

/* What the sink is told of the run's settings. */
struct sink_params {
    uint32_t rst_storm_threshold, fin_storm_threshold;
    uint64_t storm_window_ns, storm_cooldown_ns;
    const struct alert_rules *alerts;
    uint32_t alert_keys;
    uint64_t publish_interval_ns;      /* counters to the metrics registry */
    uint64_t kafka_stats_interval_ns;  /* stats records to Kafka (0: none) */
    const struct event_filter *filter; /* NULL: every event goes out */
    const struct baseline_config *baseline;
    uint32_t producers; /* workers: each sends the baseline's ticks */
};

/* out, kafka, metrics: may be NULL; events: EV_MAX counters. Returns 0, or -ENOMEM with a
 * reason in err. */
int sink_init(struct sink *s, const struct sink_params *p, FILE *out, struct kafka_sink *kafka,
              struct metrics *metrics, int live_source, uint64_t *events, char *err, size_t errlen);
void sink_fini(struct sink *s);
/* The run is over: the baselines judge their last intervals (anomaly.* events go out). */
void sink_close_baselines(struct sink *s);

/* One event through the detectors, the counts and the outputs. */
void sink_emit(struct sink *s, struct event *e);

/* Takes, in order, every event of the n sources that no later one can overtake; returns how
 * many. */
int sink_drain(struct sink *s, const struct event_source *src, uint32_t n);

/* Between merges: Kafka's delivery reports, counters to /metrics when the publish interval is
 * up, the stats record to Kafka when due. */
void sink_tick(struct sink *s);

/* At the end: flushes the JSON lines, sends the last stats record, flushes Kafka (its
 * accounting and latencies into kafka, delivery, e2e) and publishes the final counters. */
void sink_final(struct sink *s, struct kafka_stats *kafka, struct hist *delivery, struct hist *e2e);

/* Resolves the alerts still firing, so that every alert the run opened is closed. */
void sink_close_alerts(struct sink *s);

#endif
