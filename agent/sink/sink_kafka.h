/* sink_kafka.h - events and flow records to Kafka (librdkafka), with every message accounted.
 *
 * Topics: anomaly events to topic_events, flow records to topic_flows. The key is the flow id,
 * so one flow's messages stay in order on one partition; headers carry schema_version, type
 * and host. The payload is the same JSON line as the JSON-lines sink. brokers "mock" starts
 * librdkafka's built-in mock cluster inside the process (kafka_sink_bootstrap() says where),
 * so a run streams to a real Kafka-protocol endpoint with no broker installed.
 *
 * Accounting: every message ends as delivered, failed (with the last reason kept), dropped
 * because the producer queue was full, or undelivered when the close timeout ran out; the four
 * add up to what was offered. Runs on the sink thread only (never on a worker): produce never
 * blocks, delivery reports arrive through kafka_sink_poll().
 */
#ifndef TT_SINK_KAFKA_H
#define TT_SINK_KAFKA_H

#include <stddef.h>
#include <stdint.h>

#include "../event/event.h"

#define KAFKA_MAX_PROPS 32

struct kafka_config {
    char brokers[256];        /* "mock", or host:port[,host:port...]; empty: no Kafka */
    uint32_t mock_brokers;    /* brokers in the mock cluster */
    char topic_events[128];
    char topic_flows[128];
    uint64_t flush_timeout_ns; /* at close: wait this long for outstanding deliveries */
    uint64_t mock_outage_ns;   /* mock only: all brokers down from the first message for this
                                * long, to show an outage shorter than the buffer loses nothing */
    uint32_t nprops;
    char props[KAFKA_MAX_PROPS][2][256]; /* librdkafka properties, name and value */
};

struct kafka_stats {
    uint64_t offered;
    uint64_t delivered;
    uint64_t failed;
    uint64_t dropped_queue_full;
    uint64_t undelivered; /* still queued when the close timeout ran out */
    char last_error[256];
};

struct kafka_sink;

void kafka_config_default(struct kafka_config *cfg);

/* Adds one librdkafka property ("name=value"); values starting with "env:" or "file:" are
 * read from that environment variable or file (so secrets stay out of configs and logs).
 * Returns 0, or -1 with a reason in err. */
int kafka_config_add_property(struct kafka_config *cfg, const char *assignment, char *err,
                              size_t errlen);

/* Creates the producer (and the mock cluster). Returns 0, or a negative errno with a one-line
 * reason in err (a bad property, an unreachable broker is reported by the first delivery). */
int kafka_sink_open(struct kafka_sink **out, const struct kafka_config *cfg, char *err,
                    size_t errlen);

/* The bootstrap servers in use (the mock cluster's address with "mock"). */
const char *kafka_sink_bootstrap(const struct kafka_sink *k);

/* Offers one event; json[0..len) is its JSON line (a trailing newline is not sent). Never
 * blocks; a full producer queue drops the message and counts it. */
void kafka_sink_send(struct kafka_sink *k, const struct event *e, const char *json, size_t len);

/* Serves delivery reports; cheap, call often. */
void kafka_sink_poll(struct kafka_sink *k);

/* Flushes within the configured timeout and fills st. Keeps the mock cluster running. */
void kafka_sink_flush(struct kafka_sink *k, struct kafka_stats *st);

/* Destroys the producer (and with it the mock cluster). */
void kafka_sink_close(struct kafka_sink *k);

#endif
