/* config.h - ticktap's settings: defaults, the YAML config file, and --set overrides.
 *
 * One option table (config.c) names every setting by its dotted key ("flow.max_flows"),
 * its type, its default and a one-line help; the YAML loader, the --set option and
 * `ticktap config` (which prints the table) all read it, so a key has one spelling.
 * Durations accept ns, us, ms, s, m, h suffixes; sizes accept k, M, G.
 */
#ifndef TT_CONFIG_H
#define TT_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../decode/decode.h"
#include "../flow/flow_table.h"
#include "../flow/dedup.h"
#include "../detect/detect_alert.h"
#include "../detect/detect_baseline.h"
#include "../sink/sink_kafka.h"
#include "../metrics/metrics.h"
#include "../capture/live_config.h"
#include "../trading/trading_config.h"
#include "../enrich/enrich.h"

#define TT_DPDK_EAL_ARGS_MAX 32

struct tt_config {
    struct decoder_config decode;
    struct flow_table_config flow;
    uint32_t workers;
    uint32_t tcp_seg_pool;     /* unACKed segments tracked per worker, for RTT */
    uint32_t tcp_seg_per_dir;  /* ... at most this many per direction */
    uint32_t tcp_recall;       /* ended TCP flows whose analysis state is kept per worker */
    uint32_t event_ring;       /* events buffered per worker before the sink */
    uint64_t frame_ring_bytes; /* bytes buffered per worker behind the dispatcher */
    uint32_t overflow_block;   /* 1: a full event ring waits (offline); 0: drops, counted */
    uint32_t dispatch_thread;  /* N workers on a mapped file: 1 reader thread hands frames out */
    uint32_t queue_readers;    /* live DPDK queues: a reader thread each (reader_order.h) */
    uint32_t expire_budget;    /* flows ended per housekeeping pass at most */
    uint64_t storm_window_ns;
    uint32_t rst_storm_threshold;
    uint32_t fin_storm_threshold;
    uint64_t storm_cooldown_ns;
    uint64_t burst_window_ns;        /* microbursts: the sliding window */
    uint64_t burst_link_mbps;        /* ... the link rate (0: off) */
    uint32_t burst_fraction_pct;     /* ... and the share of it a window must exceed */
    uint32_t top_n;                  /* rows in "top talkers" and "worst flows" */
    uint32_t talkers_max;            /* hosts tracked per worker for top talkers */
    uint32_t report_events;          /* events kept in an HTML report (besides flow records) */
    struct dedup_config dedup;       /* frames captured twice, payloads sent twice */
    uint64_t from_ns, to_ns;         /* analyze --from/--to: frames outside are skipped (0: open) */
    struct spike_config spike;       /* latency.spike: a sample against its flow's RTT baseline */
    struct baseline_config baseline; /* anomaly.*: per-interval values against their history */
    struct kafka_config kafka;
    struct metrics_config metrics;
    struct alert_rules alerts;
    uint32_t alert_keys; /* flows/hosts tracked by the alert rules at once */
    /* live capture (ticktap run) */
    struct live_config live;
    /* bare-metal mode: the EAL's arguments, as on a DPDK command line (dpdk.eal, a list) */
    struct {
        char args[TT_DPDK_EAL_ARGS_MAX][128];
        uint32_t nargs;
    } dpdk;
    uint32_t snaplen;           /* bytes of each frame handed to the agent */
    uint64_t ring_bytes;        /* host mode: BPF ring buffer per interface */
    uint32_t xsk_frames;        /* tap mode: UMEM frames per queue */
    uint32_t xsk_ring;          /* tap mode: descriptors in each AF_XDP ring */
    uint64_t coalesce_ns;       /* tap mode: a wakeup waits this much longer for a burst */
    uint64_t stats_interval_ns; /* capture counters read (and saturation checked) this often */
    uint32_t hw_timestamps;     /* XDP: ask the NIC for receive timestamps where it has them */
    uint32_t tap_timestamps;    /* a TAP's trailer or a switch's header time is the packet time */
    char pcap_filter[256];      /* pcap mode: libpcap filter besides the rules */
    struct trading_config trading;
    /* ticktap enrich and ask (enrich/) */
    struct enrich_config enrich;
    struct incident_config incident;
    struct llm_config llm;
};

void config_defaults(struct tt_config *cfg);

/* Loads a YAML file over cfg. On error returns -1 with "FILE:LINE: what (hint)" in err. */
int config_load_file(struct tt_config *cfg, const char *path, char *err, size_t errlen);

/* Checks what only makes sense as a whole (rule ids, interface list) once every source of
 * settings is applied. Returns 0, or -1 with a reason in err. */
int config_finish(struct tt_config *cfg, char *err, size_t errlen);

/* Applies one "key=value". Returns 0, or -1 with a reason in err. */
int config_set(struct tt_config *cfg, const char *assignment, char *err, size_t errlen);

/* Prints every key with its current value and help. */
void config_print(const struct tt_config *cfg, FILE *out);

/* Parses "250ms" style durations into ns; returns 0 or -1. */

#endif
