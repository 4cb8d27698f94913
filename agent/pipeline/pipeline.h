/* pipeline.h - runs an analysis end to end: capture -> [dispatcher] -> workers -> sink.
 *
 *   capture source --(1 worker: read in place)--------------------> worker 0 --+
 *                  \--(N workers: dispatcher thread, flow hash)---> worker i --+--> sink
 *
 * The sink is the calling thread: it merges the workers' event rings back into frame order
 * (each worker publishes a watermark), runs the storm detectors on the merged stream, counts
 * events by type and writes JSON lines. Results do not depend on the number of workers.
 * pipeline_run() blocks until the input ends or *stop is set, and returns 0, or a negative
 * errno with a one-line reason in err when nothing could be analysed.
 */
#ifndef TT_PIPELINE_H
#define TT_PIPELINE_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "../event/event.h"
#include "../sink/sink_kafka.h"
#include "../util/config.h"
#include "stats.h"

struct run_options {
    const char *const *paths;
    int npaths;
    const char *filter;
    FILE *events_out; /* NULL: events are counted, not written */
    struct kafka_sink *kafka; /* NULL: no Kafka; owned by the caller, flushed by the run */
    int progress;     /* print progress on stderr */
    _Atomic int *stop;
};

struct run_result {
    struct tt_stats st;
    uint64_t events[EV_MAX]; /* counted by the sink, storms included */
    uint32_t capture_errors; /* files that broke mid-way */
    struct kafka_stats kafka; /* when opt->kafka was given */
    int kafka_used;
    double wall_seconds;
    int interrupted;
};

int pipeline_run(const struct tt_config *cfg, const struct run_options *opt,
                 struct run_result *res, char *err, size_t errlen);
void run_result_fini(struct run_result *res);

#endif
