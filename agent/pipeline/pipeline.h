/* pipeline.h - runs an analysis end to end: capture -> [dispatcher] -> workers -> sink.
 *
 *   capture source --(1 worker: read in place)--------------------> worker 0 --+
 *                  \--(N workers: dispatcher thread, flow hash)---> worker i --+--> sink
 *   (files with N workers: shared reading, see shared_reader.h; several live sources:
 *    one union source, see capture_union.h)
 *
 * The sink (sink/sink.h) runs on the calling thread: it merges the workers' event rings back
 * into frame order (each worker publishes a watermark), runs the storm detectors and alert
 * rules on the merged stream, counts events by type and writes JSON lines and Kafka messages.
 * Results do not depend on the number of workers. The run's steps are in pipeline.c: plan,
 * open the source, build the workers, the microburst detectors, the feed and the sink, start,
 * sink loop, join, collect, and one teardown in reverse order.
 * pipeline_run() blocks until the input ends or *stop is set, and returns 0, or a negative
 * errno with a one-line reason in err when nothing could be analysed.
 */
#ifndef TT_PIPELINE_H
#define TT_PIPELINE_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "../event/event.h"
#include "../event/event_filter.h"
#include "../metrics/metrics.h"
#include "../sink/sink_kafka.h"
#include "../config/config.h"
#include "../stats/stats.h"

/* A live capture source the caller opened (and closes after the run). */
struct live_source {
    const struct capture_ops *ops;
    struct capture *cap;
    const char *ifname; /* names the interface in burst.micro events */
    int queue;          /* its rx queue, -1 for a whole interface (labels the metrics) */
    int own_reader;     /* polled, not waited on (a DPDK queue): worth a reader thread of its
                         * own when several feed several workers (reader_order.h) */
};

/* Called by the sink thread every tick_interval_ns of wall-clock time: may hand back events
 * (capture.saturated) to emit, returns how many (at most max). Called once more when the run
 * stops, before the workers' final flush is merged. */
typedef int (*run_tick_fn)(void *arg, struct event *out, int max);

struct run_options {
    const char *const *paths;
    int npaths;
    /* Live capture instead of files: one source, or several (queues, interfaces) read as one
     * (capture_union.h); a dispatcher steers its frames when there are several workers or
     * interfaces. The run ends only when *stop is set. */
    const struct live_source *live;
    int nlive;
    int wall_clock_idle; /* live capture: flows also time out by the wall clock when idle */
    int replay;          /* the live sources replay files (DPDK rx_pcap): read in time order */
    run_tick_fn tick;
    void *tick_arg;
    uint64_t tick_interval_ns;
    const char *filter;
    FILE *events_out;                         /* NULL: events are counted, not written */
    const struct event_filter *events_filter; /* NULL: every event is written and sent */
    struct kafka_sink *kafka; /* NULL: no Kafka; owned by the caller, flushed by the run */
    /* NULL: nothing exported while running. The run attaches its workers to it (labelled by
     * the live sources) and publishes the sink's counters; stats records for Kafka's stats
     * topic are built from it (the run makes a private one when Kafka needs it). */
    struct metrics *metrics;
    int progress;              /* print progress on stderr */
    const char *progress_path; /* and/or write it as JSON here every half second (NULL: no) */
    _Atomic int *stop;
};

struct run_result {
    struct tt_stats st;
    uint64_t events[EV_MAX];               /* counted by the sink, storms included */
    uint32_t capture_errors;               /* files that broke mid-way */
    uint32_t queue_readers;                /* live queues read by a thread each (0: by one) */
    struct kafka_stats kafka;              /* when opt->kafka was given */
    struct hist kafka_delivery, kafka_e2e; /* produce (live: packet time) to delivery report */
    int kafka_used;
    double wall_seconds;
    int interrupted;
    void *capture_json;           /* json_t *, the summary's "capture" object (ticktap run) */
    struct dedup_config dedup;    /* how duplicates were judged (the summary says it) */
    uint64_t events_filtered_out; /* counted in events[] but not written (--events-filter) */
    int events_filtered;          /* a filter was given */
    uint64_t from_ns, to_ns;      /* the time window analysed (0: open) */
    uint64_t baseline_anomalies, baseline_keys_full;
    void *baseline_json; /* json_t *: per-session order latency over time (NULL: none) */
    void *input_json;    /* json_t *: what a CSV input gave and lacked (NULL: a capture) */
};

int pipeline_run(const struct tt_config *cfg, const struct run_options *opt, struct run_result *res,
                 char *err, size_t errlen);
void run_result_fini(struct run_result *res);

#endif
