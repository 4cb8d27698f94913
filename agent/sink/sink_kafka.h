/* sink_kafka.h - events, flow records and stats to Kafka (librdkafka), every message accounted.
 *
 * Topics: anomaly events to topic_events, flow records to topic_flows (key: the flow id, so
 * one flow's messages stay in order on one partition), periodic stats records to topic_stats
 * (key: the host). Headers carry schema_version, type and host. The payload is the same JSON
 * line as the JSON-lines sink. brokers "mock" starts librdkafka's built-in mock cluster inside
 * the process (kafka_sink_bootstrap() says where): a real Kafka-protocol endpoint, no broker.
 *
 * Buffering: messages wait in ticktap's own FIFO (buffer_messages) until librdkafka takes them
 * (at most inflight_messages at once). When the FIFO is full, overflow "drop_newest" refuses
 * the new message and "drop_oldest" discards the oldest waiting one; both are counted. A
 * message's payload is not copied: librdkafka sends it from the FIFO's allocation, which the
 * delivery report frees, after timing it (produce to report, and packet time to report).
 *
 * Accounting: every message ends as delivered, failed (last reason kept), dropped (newest or
 * oldest, buffer full), or undelivered when the close timeout ran out; they add up to what was
 * offered. Runs on the sink thread only (never a worker): nothing blocks, delivery reports
 * arrive through kafka_sink_poll(). A fatal producer error (idempotence broken) recreates the
 * producer; the messages it held are counted failed with the reason.
 */
#ifndef TT_SINK_KAFKA_H
#define TT_SINK_KAFKA_H

#include <stddef.h>
#include <stdint.h>

#include "../event/event.h"
#include "../metrics/kafka_stats.h"
#include "../util/hist.h"

#define KAFKA_MAX_PROPS 32

struct kafka_config {
    char brokers[256];     /* "mock", or host:port[,host:port...]; empty: no Kafka */
    uint32_t mock_brokers; /* brokers in the mock cluster */
    char topic_events[128];
    char topic_flows[128];
    char topic_stats[128];
    uint64_t stats_interval_ns; /* a stats record this often (and one at the end); 0: never */
    uint32_t buffer_messages;   /* ticktap's FIFO in front of librdkafka */
    uint32_t inflight_messages; /* librdkafka's queue (queue.buffering.max.messages) */
    char overflow[128];         /* "drop_newest" or "drop_oldest" */
    uint32_t drop_oldest;       /* overflow parsed: 1 drop the oldest waiting, 0 the newest */
    uint64_t flush_timeout_ns;  /* at close: wait this long for outstanding deliveries */
    uint64_t test_fatal_after;  /* tests: a fatal producer error after this many messages */
    uint64_t mock_outage_ns;    /* mock only: all brokers down from the first message for this
                                 * long, to show an outage shorter than the buffer loses nothing */
    uint32_t nprops;
    char props[KAFKA_MAX_PROPS][2][256]; /* librdkafka properties, name and value */
};

enum kafka_topic { KAFKA_EVENTS = 0, KAFKA_FLOWS, KAFKA_STATS, KAFKA_TOPICS };

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
 * blocks; a full buffer drops a message (by the overflow policy) and counts it. */
void kafka_sink_send(struct kafka_sink *k, const struct event *e, const char *json, size_t len);

/* Offers one stats record (type "stats", keyed by host) to topic_stats. */
void kafka_sink_send_stats(struct kafka_sink *k, uint64_t ts_ns, const char *json, size_t len);

/* live: also time each message from its packet timestamp to its delivery report.
 * wait_when_full: a full buffer makes the sink wait for librdkafka (offline analysis: the
 * capture can wait), up to kafka.flush_timeout without progress, before the overflow policy
 * drops anything; otherwise (live) the policy applies at once. */
void kafka_sink_set_mode(struct kafka_sink *k, int live, int wait_when_full);

/* Counters now (queued included), and the delivery latency distributions so far. */
void kafka_sink_stats(struct kafka_sink *k, struct kafka_stats *st);
const struct hist *kafka_sink_delivery_hist(const struct kafka_sink *k);
const struct hist *kafka_sink_e2e_hist(const struct kafka_sink *k);

/* Serves delivery reports; cheap, call often. */
void kafka_sink_poll(struct kafka_sink *k);

/* Flushes within the configured timeout and fills st. Keeps the mock cluster running. */
void kafka_sink_flush(struct kafka_sink *k, struct kafka_stats *st);

/* Destroys the producer (and with it the mock cluster). */
void kafka_sink_close(struct kafka_sink *k);

#endif
