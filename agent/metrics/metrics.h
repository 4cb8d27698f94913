/* metrics.h - what the agent exports while it runs: Prometheus /metrics, /healthz and the
 * periodic stats record of the ticktap.stats topic, all read from one registry.
 *
 * Nothing here touches the packet path. Each worker publishes a snapshot of its counters into
 * its own slot every publish_interval (a trylock: a worker never waits for a scrape); the
 * sink thread publishes its own (events, Kafka) the same way; the capture owner (ticktap run)
 * hands over a pre-rendered block of interface and XDP counters. A scrape merges the slots
 * under their locks on the HTTP thread. /healthz fails when a worker or the sink stopped
 * publishing for stuck_after, or Kafka holds messages and delivered none for that long.
 */
#ifndef TT_METRICS_H
#define TT_METRICS_H

#include <pthread.h>
#include <stdint.h>

#include "../stats/stats.h"
#include "kafka_stats.h"
#include "prom.h"

struct metrics_config {
    char listen[128];             /* "127.0.0.1:9108", "[::]:9108", ":0"; empty: no endpoint */
    uint64_t publish_interval_ns; /* workers and sink refresh their snapshots this often */
    uint64_t stuck_after_ns;      /* /healthz fails after this long without progress */
};

void metrics_config_default(struct metrics_config *c);

/* One trading session as exported (FIX CompIDs, a MoldUDP64 session, an MDP 3.0 channel). */
struct metrics_session {
    uint64_t key;
    uint8_t used, kind;
    char name[80];
    uint64_t messages, seq_gaps, lost, duplicates, rejects, order_rejects, heartbeats_missed;
    struct prom_hist latency; /* orders: to the first response; market data: feed latency */
    struct prom_hist skew;    /* market data with A and B feeds: how far the later copy trailed */
    uint32_t nfeeds;
    struct {
        char name[48];
        uint64_t packets, lost, trailed;
    } feed[MD_FEEDS_MAX];
};

/* A worker's published counters. */
struct metrics_worker_snap {
    uint64_t heartbeat_ns; /* CLOCK_MONOTONIC of the last publish */
    uint64_t packets, bytes;
    uint64_t counters[TT_C_MAX];
    uint64_t protos[32];
    uint64_t tcp_flags[TA_BIT_MAX];
    uint64_t resets, flows_created, flows_ended, flows_evicted, flows_resumed, flows_active;
    uint64_t dup_frames, dup_payloads; /* frames captured twice, payloads sent twice */
    uint64_t fix_messages, soup_packets, mold_messages, mdp3_messages, microbursts;
    struct prom_hist rtt, handshake;
    struct prom_hist burst_time;                           /* time to analyse one burst of frames */
    struct prom_hist capture_delay;                        /* live: packet timestamp to analysis */
    struct prom_hist order_latency[2][OP_MAX];             /* [0] FIX, [1] OUCH */
    struct prom_hist feed_latency[2];                      /* [0] ITCH, [1] MDP 3.0 */
    struct metrics_session sessions[TRADING_SESSIONS_MAX]; /* by the stats table's slot */
    uint32_t ninputs; /* several live inputs read as one: what each brought */
    struct tt_input_stats inputs[TT_INPUTS_MAX];
};

struct metrics_worker {
    pthread_mutex_t lock;
    char ifname[16];
    int queue; /* -1: the worker reads no single queue */
    struct metrics_worker_snap snap;
    /* owned by the worker, copied into snap when it publishes */
    struct prom_hist burst_time, capture_delay;
    uint64_t next_publish_ns, interval_ns;
};

/* What the sink thread publishes. */
struct metrics_sink_snap {
    uint64_t heartbeat_ns;
    uint64_t events[EV_MAX][3];   /* by type and severity */
    struct prom_hist event_delay; /* live: packet timestamp to the sink */
    int kafka_on;
    struct kafka_stats kafka;
    uint64_t kafka_progress_ns;      /* CLOCK_MONOTONIC of the last delivery report */
    struct prom_hist kafka_delivery; /* produce to delivery report */
    struct prom_hist kafka_e2e;      /* live: packet timestamp to delivery report */
    uint64_t dispatch_ring_full;
    uint64_t dispatch_ring_full_by_input[TT_INPUTS_MAX]; /* several live inputs read as one */
    uint64_t dispatch_bursts; /* microbursts the dispatcher thread found */
};

struct metrics {
    struct metrics_config cfg;
    pthread_mutex_t lock; /* the worker array and the capture block */
    struct metrics_worker *workers;
    uint32_t nworkers;
    pthread_mutex_t sink_lock;
    struct metrics_sink_snap sink;
    char *capture_text; /* Prometheus lines of the capture owner, complete families */
    /* Several live inputs read as one (set before the workers start): the per-input rows'
     * labels; 0: one row per worker label instead. */
    uint32_t ninputs;
    struct metrics_input {
        char ifname[16];
        int queue; /* -1: a whole interface */
    } inputs[TT_INPUTS_MAX];
    uint64_t started_ns;
    char host[64];
};

uint64_t metrics_now_ns(void); /* CLOCK_MONOTONIC */

int metrics_init(struct metrics *m, const struct metrics_config *cfg);
void metrics_fini(struct metrics *m);

/* Gives the run nworkers slots (labelled later by the caller). Returns 0 or -ENOMEM. */
int metrics_attach_workers(struct metrics *m, uint32_t nworkers);

/* Labels the inputs of a run that reads n live inputs as one (n > 1): /metrics and the stats
 * record then have a row per input, counted by the workers per input. */
void metrics_set_inputs(struct metrics *m, uint32_t n, const char *const *ifnames,
                        const int *queues);

/* Worker side: copies st into the slot if publish_interval has passed. final: the worker
 * is done (publishes now, waiting for a scrape if needed, and is never reported stuck). */
void metrics_worker_publish(struct metrics_worker *mw, const struct tt_stats *st,
                            uint32_t flows_active, int final);

/* Sink side: replaces the sink snapshot (heartbeat set to now). */
void metrics_sink_publish(struct metrics *m, const struct metrics_sink_snap *s);

/* Capture owner: replaces its block of Prometheus lines (text is copied). */
void metrics_set_capture_text(struct metrics *m, const char *text);

/* The whole exposition into b. */
void metrics_render(struct metrics *m, struct prom_buf *b);

/* 0 when healthy; else 1 with one line per problem in why. */
int metrics_health(struct metrics *m, char *why, size_t whylen);

/* The stats record (schemas/stats.schema.json) as one JSON line, malloc'd; NULL on OOM.
 * interval_ns: the time since the previous record. */
char *metrics_stats_json(struct metrics *m, uint64_t ts_ns, uint64_t interval_ns);

#endif
