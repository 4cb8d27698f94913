/* kafka_stats.h - a Kafka sink's accounting, as the metrics registry shows it and the
 * summary reports it: every message offered ends delivered, failed, dropped (buffer full) or
 * undelivered; queued is what is held now. Kept (sink_kafka.c) by the sink thread. */
#ifndef TT_KAFKA_STATS_H
#define TT_KAFKA_STATS_H

#include <stdint.h>

struct kafka_stats {
    uint64_t offered;
    uint64_t delivered;
    uint64_t failed;
    uint64_t dropped_queue_full; /* newest refused: buffer full (overflow drop_newest) */
    uint64_t dropped_oldest;     /* oldest waiting discarded: buffer full (drop_oldest) */
    uint64_t undelivered;        /* still held when the close timeout ran out */
    uint64_t queued;             /* held now: the FIFO and librdkafka's queue */
    uint64_t fatal_restarts;     /* producers recreated after a fatal error */
    uint64_t last_report_ns;     /* CLOCK_MONOTONIC of the last delivery report */
    char last_error[256];
};

#endif
