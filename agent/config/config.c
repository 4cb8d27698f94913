/* config.c - the option table and the YAML loader (libyaml's event parser). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "../../bpf/ticktap_bpf.h" /* TT_SNAP_MAX */
#include "../util/units.h"

enum opt_type { OPT_U32, OPT_U16, OPT_U64, OPT_DURATION, OPT_BOOL, OPT_STR128, OPT_STR256 };

struct opt {
    const char *key;
    enum opt_type type;
    size_t offset;
    const char *help;
};

#define O(field) offsetof(struct tt_config, field)
static const struct opt options[] = {
    {"pipeline.workers", OPT_U32, O(workers), "analysis threads (flows are split among them)"},
    {"pipeline.event_ring", OPT_U32, O(event_ring), "events buffered per worker"},
    {"pipeline.frame_ring_bytes", OPT_U64, O(frame_ring_bytes), "frame bytes per worker queue"},
    {"pipeline.overflow_block", OPT_BOOL, O(overflow_block),
     "full event ring: wait (true, offline) or drop and count (false)"},
    {"pipeline.dispatch_thread", OPT_BOOL, O(dispatch_thread),
     "several workers on a pcap file: one reader thread hands out frames (true) or every "
     "worker reads the mapped file and keeps its share (false)"},
    {"pipeline.queue_readers", OPT_BOOL, O(queue_readers),
     "several workers on a live DPDK port of several queues: a reader thread per queue steers "
     "its frames (true), or one dispatcher thread reads them all (false)"},
    {"pipeline.expire_budget", OPT_U32, O(expire_budget),
     "flows ended per housekeeping pass (at most 4096)"},
    {"flow.max_flows", OPT_U32, O(flow.max_flows), "flows tracked per worker (then eviction)"},
    {"dedup.remove", OPT_BOOL, O(dedup.remove),
     "leave frames captured twice out before analysis (--dedup); else they are only counted"},
    {"dedup.window", OPT_DURATION, O(dedup.window_ns),
     "a frame with the same length and first 256 bytes within this is a copy (0: off)"},
    {"dedup.table", OPT_U32, O(dedup.table),
     "frame and payload digests remembered per worker (replaced early: dedup.table_full)"},
    {"dedup.payload_window", OPT_DURATION, O(dedup.payload_window_ns),
     "the same payload again in a flow within this, not a retransmission (0: off)"},
    {"dedup.payload_min", OPT_U32, O(dedup.payload_min),
     "shorter payloads (heartbeats) are never payload duplicates (bytes)"},
    {"detect.spike_warmup", OPT_U32, O(spike.warmup),
     "RTT samples a flow's baseline needs before latency.spike can fire (0: off)"},
    {"detect.spike_k", OPT_U32, O(spike.k),
     "latency.spike: a sample above baseline + k mean deviations ..."},
    {"detect.spike_factor", OPT_U32, O(spike.factor), "... and above factor x the baseline"},
    {"baseline.interval", OPT_DURATION, O(baseline.interval_ns),
     "anomaly.*: values summed per interval of packet time and judged against their own "
     "history (0: off)"},
    {"baseline.window", OPT_U32, O(baseline.window),
     "intervals the moving average spans (EWMA); an excursion this long is the new normal"},
    {"baseline.k", OPT_U32, O(baseline.k), "the band: baseline +- k standard deviations"},
    {"baseline.warmup", OPT_U32, O(baseline.warmup), "intervals a series learns before it judges"},
    {"baseline.min_change_pct", OPT_U32, O(baseline.min_change_pct),
     "the deviation is at least this % of the baseline (rates, latency): noise never fires"},
    {"baseline.min_samples", OPT_U32, O(baseline.min_samples),
     "latency: an interval with fewer samples is not judged"},
    {"baseline.max_keys", OPT_U32, O(baseline.max_keys),
     "sessions and feeds with a baseline (more: counted, not judged)"},
    {"flow.tcp_idle_timeout", OPT_DURATION, O(flow.tcp_idle_ns), "TCP flow idle timeout"},
    {"flow.udp_idle_timeout", OPT_DURATION, O(flow.udp_idle_ns), "UDP/other flow idle timeout"},
    {"flow.closed_linger", OPT_DURATION, O(flow.closed_linger_ns),
     "time a FIN/RST-closed flow lingers for its last packets"},
    {"tcp.rtt_segments", OPT_U32, O(tcp_seg_pool), "unACKed segments tracked per worker (RTT)"},
    {"tcp.recall", OPT_U32, O(tcp_recall),
     "ended TCP flows per worker whose analysis state a resumed connection continues (0: off)"},
    {"tcp.rtt_segments_per_direction", OPT_U32, O(tcp_seg_per_dir),
     "unACKed segments tracked per flow direction"},
    {"ip.frag_slots", OPT_U32, O(decode.frag_slots), "datagrams reassembled at once per worker"},
    {"ip.frag_max_bytes", OPT_U32, O(decode.frag_max_bytes), "largest reassembled datagram"},
    {"ip.frag_timeout", OPT_DURATION, O(decode.frag_timeout_ns), "fragment reassembly timeout"},
    {"tunnel.vxlan_port", OPT_U16, O(decode.vxlan_port), "UDP port decoded as VXLAN (0: off)"},
    {"tunnel.geneve_port", OPT_U16, O(decode.geneve_port), "UDP port decoded as GENEVE"},
    {"tunnel.gtpu_port", OPT_U16, O(decode.gtpu_port), "UDP port decoded as GTP-U"},
    {"detect.storm_window", OPT_DURATION, O(storm_window_ns), "RST/FIN storm sliding window"},
    {"detect.rst_storm_threshold", OPT_U32, O(rst_storm_threshold),
     "RSTs within the window that make a storm"},
    {"detect.fin_storm_threshold", OPT_U32, O(fin_storm_threshold),
     "FINs within the window that make a storm"},
    {"detect.storm_cooldown", OPT_DURATION, O(storm_cooldown_ns),
     "quiet time before another storm event"},
    {"detect.burst_window", OPT_DURATION, O(burst_window_ns), "microbursts: the sliding window"},
    {"detect.burst_link_mbps", OPT_U64, O(burst_link_mbps),
     "microbursts: the capture interface's link rate in Mb/s (0: no detection)"},
    {"detect.burst_fraction_pct", OPT_U32, O(burst_fraction_pct),
     "microbursts: percent of the link rate a window must exceed"},
    {"report.top_n", OPT_U32, O(top_n), "rows in top talkers and worst flows"},
    {"report.max_events", OPT_U32, O(report_events),
     "events an HTML report holds (the first ones; the cap is stated in the page)"},
    {"report.talkers_max", OPT_U32, O(talkers_max), "hosts tracked per worker for top talkers"},
    {"alert.keys", OPT_U32, O(alert_keys),
     "flows or hosts the alert rules track at once (alert.<event type>.warn|critical|window|"
     "cooldown|per define the rules)"},
    {"kafka.brokers", OPT_STR256, O(kafka.brokers),
     "Kafka bootstrap servers, or mock (a mock cluster inside ticktap); empty: no Kafka"},
    {"kafka.mock_brokers", OPT_U32, O(kafka.mock_brokers), "brokers in the mock cluster"},
    {"kafka.topic_events", OPT_STR128, O(kafka.topic_events), "topic of anomaly events"},
    {"enrich.topic_in", OPT_STR128, O(enrich.topic_in), "enrich: the topic of events read"},
    {"enrich.topic_out", OPT_STR128, O(enrich.topic_out), "enrich: the topic incidents go to"},
    {"enrich.group_id", OPT_STR128, O(enrich.group_id),
     "enrich: the consumer group (replicas with the same one share the partitions)"},
    {"enrich.session_timeout", OPT_DURATION, O(enrich.session_timeout_ns),
     "enrich: a replica that stops answering loses its partitions to the others after this"},
    {"enrich.dedupe_horizon", OPT_DURATION, O(enrich.dedupe_horizon_ns),
     "enrich: how far back the incidents topic is read at start, to send no record twice"},
    {"enrich.group_wait", OPT_DURATION, O(incident.group_wait_ns),
     "an incident's first record waits this long for more evidence (event time)"},
    {"enrich.group_interval", OPT_DURATION, O(incident.group_interval_ns),
     "an incident's updates come at most this often"},
    {"enrich.repeat_interval", OPT_DURATION, O(incident.repeat_interval_ns),
     "an unchanged open incident is said again this often"},
    {"enrich.resolve_timeout", OPT_DURATION, O(incident.resolve_ns),
     "an incident closes after this long without an event"},
    {"enrich.max_age", OPT_DURATION, O(incident.max_age_ns),
     "an incident closes (and a new one opens) after this long in all"},
    {"enrich.max_incidents", OPT_U32, O(incident.max_incidents),
     "incidents open at once per partition (more are counted, not opened)"},
    {"llm.base_url", OPT_STR256, O(llm.base_url),
     "OpenAI-compatible API base URL (e.g. https://openrouter.ai/api/v1); empty: no LLM"},
    {"llm.model", OPT_STR128, O(llm.model), "the model to ask"},
    {"llm.api_key_env", OPT_STR128, O(llm.api_key_env),
     "the environment variable that holds the API key"},
    {"llm.api_key_file", OPT_STR256, O(llm.api_key_file), "or a file that holds it"},
    {"llm.ca_file", OPT_STR256, O(llm.ca_file),
     "an extra CA bundle for TLS (verification stays on)"},
    {"llm.timeout", OPT_DURATION, O(llm.timeout_ns), "a request's time limit"},
    {"llm.retries", OPT_U32, O(llm.retries), "retries on 429, 5xx and transport errors"},
    {"llm.backoff", OPT_DURATION, O(llm.backoff_ns), "the first retry's wait (doubled each time)"},
    {"llm.retry_after_max", OPT_DURATION, O(llm.retry_after_max_ns),
     "a server's Retry-After is honoured up to this"},
    {"llm.concurrency", OPT_U32, O(llm.concurrency), "LLM requests in flight at once"},
    {"llm.requests_per_hour", OPT_U32, O(llm.requests_per_hour), "request budget (0: none)"},
    {"llm.tokens_per_hour", OPT_U64, O(llm.tokens_per_hour), "token budget (0: none)"},
    {"llm.max_tokens", OPT_U32, O(llm.max_tokens), "an answer's length limit"},
    {"llm.cache_entries", OPT_U32, O(llm.cache_entries),
     "answers kept by prompt hash (identical incidents cost one call)"},
    {"llm.redact_addresses", OPT_BOOL, O(llm.redact_addresses),
     "replace IP addresses by HOSTn before sending, and map them back in the answer"},
    {"kafka.topic_flows", OPT_STR128, O(kafka.topic_flows), "topic of flow records"},
    {"kafka.topic_stats", OPT_STR128, O(kafka.topic_stats),
     "topic of the periodic stats records (counters per interface and protocol)"},
    {"kafka.stats_interval", OPT_DURATION, O(kafka.stats_interval_ns),
     "a stats record this often, and one at the end (0: none)"},
    {"kafka.buffer_messages", OPT_U32, O(kafka.buffer_messages),
     "messages waiting in ticktap while librdkafka holds kafka.inflight_messages (a broker "
     "outage is bridged by both)"},
    {"kafka.inflight_messages", OPT_U32, O(kafka.inflight_messages),
     "messages librdkafka holds at once (its queue.buffering.max.messages)"},
    {"kafka.overflow", OPT_STR128, O(kafka.overflow),
     "buffer full: drop_newest (refuse new messages) or drop_oldest (discard the oldest waiting)"},
    {"metrics.listen", OPT_STR128, O(metrics.listen),
     "Prometheus /metrics and /healthz address (127.0.0.1:9108, [::]:9108; port 0: any free); "
     "empty: off"},
    {"metrics.publish_interval", OPT_DURATION, O(metrics.publish_interval_ns),
     "workers and sinks refresh what /metrics shows this often"},
    {"metrics.stuck_after", OPT_DURATION, O(metrics.stuck_after_ns),
     "/healthz fails when capture, a worker or Kafka made no progress for this long"},
    {"kafka.flush_timeout", OPT_DURATION, O(kafka.flush_timeout_ns),
     "at the end, time allowed for outstanding deliveries"},
    {"capture.snaplen", OPT_U32, O(snaplen), "live: bytes of each frame kept (64-9216)"},
    {"capture.ring_size", OPT_U64, O(ring_bytes),
     "host mode: BPF ring buffer per interface (power of 2; frames beyond it are counted lost)"},
    {"capture.xsk_frames", OPT_U32, O(xsk_frames), "tap mode: UMEM frames per AF_XDP queue"},
    {"capture.xsk_ring", OPT_U32, O(xsk_ring), "tap mode: descriptors per AF_XDP ring"},
    {"capture.coalesce", OPT_DURATION, O(coalesce_ns),
     "tap mode, several inputs read as one: after an idle wait, sleep this long so a wakeup "
     "reads a burst (0: off)"},
    {"capture.stats_interval", OPT_DURATION, O(stats_interval_ns),
     "live: capture counters read and saturation checked this often"},
    {"capture.hw_timestamps", OPT_BOOL, O(hw_timestamps),
     "XDP modes: the NIC's receive timestamp where kernel (6.3+) and driver have one, else the "
     "kernel clock"},
    {"capture.tap_timestamps", OPT_BOOL, O(tap_timestamps),
     "use the time a TAP or switch wrote into the frame (Metamako/Arista 7130 trailer, Arista "
     "0xD28B header) as the packet's time, where there is one"},
    {"capture.pcap_filter", OPT_STR256, O(pcap_filter),
     "pcap mode: a libpcap filter applied with the rules (tcpdump syntax)"},
    {"trading.enabled", OPT_BOOL, O(trading.enabled),
     "trading protocol analysis (FIX, market data)"},
    {"trading.detect", OPT_BOOL, O(trading.detect),
     "recognise FIX, MoldUDP64/ITCH and MDP 3.0 by their bytes on any port"},
    {"trading.max_sessions", OPT_U32, O(trading.max_sessions),
     "TCP sessions reassembled at once per worker (then counted in trading.sessions_full)"},
    {"trading.stream_buffer", OPT_U32, O(trading.stream_buffer),
     "reassembly buffer per TCP direction (bytes): held out-of-order data, partial messages"},
    {"trading.hole_timeout", OPT_DURATION, O(trading.hole_timeout_ns),
     "a missing TCP segment is given up after this (then the analyzer resynchronises)"},
    {"trading.fix.ports", OPT_STR128, O(trading.fix_ports_str),
     "TCP ports carrying FIX (9876,9880-9889)"},
    {"trading.fix.max_message", OPT_U32, O(trading.fix_max_message), "largest FIX message (bytes)"},
    {"trading.fix.heartbeat_tolerance", OPT_U32, O(trading.heartbeat_tolerance),
     "percent beyond HeartBtInt before a silent side is reported"},
    {"trading.fix.pending_orders", OPT_U32, O(trading.pending_orders),
     "orders awaiting their first response per worker (then evicted, counted)"},
    {"trading.fix.redact_tags", OPT_STR128, O(trading.redact_str),
     "FIX tags never emitted besides 554,925,96,95 (comma list)"},
    {"trading.soupbintcp.ports", OPT_STR128, O(trading.soup_ports_str),
     "TCP ports carrying SoupBinTCP (OUCH order entry)"},
    {"trading.moldudp64.ports", OPT_STR128, O(trading.mold_ports_str),
     "UDP ports carrying MoldUDP64"},
    {"trading.mdp3.ports", OPT_STR128, O(trading.mdp3_ports_str), "UDP ports carrying CME MDP 3.0"},
    {"trading.itch_timezone", OPT_STR128, O(trading.itch_timezone),
     "time zone of ITCH timestamps (ns since midnight there)"},
    {"trading.arbitration_window", OPT_DURATION, O(trading.arbitration_window_ns),
     "how long a message missing on one feed may wait for the other before it is a gap"},
    {"trading.md_sessions", OPT_U32, O(trading.md_sessions),
     "market-data session slots per worker (filled to 7/8: a lookup stays a few probes)"},
};
#define NOPTS (sizeof(options) / sizeof(options[0]))

void config_defaults(struct tt_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    decoder_config_default(&cfg->decode);
    flow_table_config_default(&cfg->flow);
    cfg->flow.max_flows = 1u << 18;
    cfg->workers = 1;
    cfg->tcp_seg_pool = 1u << 18;
    cfg->tcp_seg_per_dir = 1024;
    cfg->tcp_recall = 1u << 13;
    cfg->event_ring = 1u << 14;
    cfg->frame_ring_bytes = 8u << 20;
    cfg->queue_readers = 1;
    cfg->overflow_block = 1;
    cfg->expire_budget = 1024;
    cfg->storm_window_ns = 1000000000ull;
    cfg->rst_storm_threshold = 50;
    cfg->fin_storm_threshold = 200;
    cfg->storm_cooldown_ns = 10ull * 1000000000ull;
    cfg->top_n = 5;
    cfg->burst_window_ns = 100000;
    cfg->burst_link_mbps = 10000;
    cfg->burst_fraction_pct = 50;
    cfg->talkers_max = 1u << 16;
    cfg->report_events = 20000;
    dedup_config_default(&cfg->dedup);
    cfg->spike.warmup = 16;
    cfg->spike.k = 8;
    cfg->spike.factor = 4;
    baseline_config_default(&cfg->baseline);
    kafka_config_default(&cfg->kafka);
    metrics_config_default(&cfg->metrics);
    trading_config_defaults(&cfg->trading);
    cfg->alert_keys = 4096;
    cfg->snaplen = 2048;
    cfg->ring_bytes = 8u << 20;
    cfg->xsk_frames = 4096;
    cfg->xsk_ring = 2048;
    cfg->coalesce_ns = 50000;
    cfg->stats_interval_ns = 1000000000ull;
    cfg->hw_timestamps = 1;
    enrich_config_default(&cfg->enrich);
    incident_config_default(&cfg->incident);
    llm_config_default(&cfg->llm);
}

/* Settings for tests only: accepted like the others, never shown by `ticktap config`. */
static const struct opt test_options[] = {
    {"kafka.test_fatal_after", OPT_U64, O(kafka.test_fatal_after),
     "raise a fatal producer error after this many messages (0: never)"},
    {"enrich.test_crash_after", OPT_U64, O(enrich.test_crash_after),
     "exit after this many incident records, delivered but not committed (0: never)"},
    {"kafka.mock_outage", OPT_DURATION, O(kafka.mock_outage_ns),
     "mock cluster: every broker down from the first message for this long (0: none)"},
};

#undef O

static const struct opt *opt_find(const char *key)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (!strcmp(options[i].key, key)) return &options[i];
    for (size_t i = 0; i < sizeof(test_options) / sizeof(test_options[0]); i++)
        if (!strcmp(test_options[i].key, key)) return &test_options[i];
    return NULL;
}

static int opt_apply(struct tt_config *cfg, const struct opt *o, const char *val, char *err,
                     size_t errlen)
{
    uint8_t *base = (uint8_t *)cfg + o->offset;
    uint64_t v;
    switch (o->type) {
    case OPT_BOOL:
        if (!strcmp(val, "true") || !strcmp(val, "yes") || !strcmp(val, "1"))
            *(uint32_t *)base = 1;
        else if (!strcmp(val, "false") || !strcmp(val, "no") || !strcmp(val, "0"))
            *(uint32_t *)base = 0;
        else
            goto bad;
        return 0;
    case OPT_DURATION:
        if (parse_duration_ns(val, &v)) goto bad;
        *(uint64_t *)base = v;
        return 0;
    case OPT_U64:
        if (parse_size_u64(val, &v)) goto bad;
        *(uint64_t *)base = v;
        return 0;
    case OPT_U32:
        if (parse_size_u64(val, &v) || v > UINT32_MAX) goto bad;
        *(uint32_t *)base = (uint32_t)v;
        return 0;
    case OPT_U16:
        if (parse_size_u64(val, &v) || v > UINT16_MAX) goto bad;
        *(uint16_t *)base = (uint16_t)v;
        return 0;
    case OPT_STR128:
    case OPT_STR256: {
        size_t cap = o->type == OPT_STR128 ? 128 : 256;
        if (strlen(val) >= cap) {
            snprintf(err, errlen, "%s: value longer than %zu characters", o->key, cap - 1);
            return -1;
        }
        snprintf((char *)base, cap, "%s", val);
        return 0;
    }
    }
bad:
    snprintf(err, errlen, "%s: invalid value '%s' (expected %s)", o->key, val,
             o->type == OPT_DURATION ? "a duration such as 30s or 250ms"
             : o->type == OPT_BOOL   ? "true or false"
                                     : "a non-negative number");
    return -1;
}

/* kafka.properties.<name>: passed to librdkafka as it is (TLS, SASL, batching...). */
static int kafka_property(struct tt_config *cfg, const char *name, const char *val, char *err,
                          size_t errlen)
{
    char a[600];
    snprintf(a, sizeof(a), "%s=%s", name, val);
    return kafka_config_add_property(&cfg->kafka, a, err, errlen);
}

/* One key = one value, from any front end (YAML, --set). */
static int config_apply(struct tt_config *cfg, const char *key, const char *val, char *err,
                        size_t errlen)
{
    if (!strncmp(key, "kafka.properties.", 17))
        return kafka_property(cfg, key + 17, val, err, errlen);
    if (!strncmp(key, "alert.", 6) && strcmp(key, "alert.keys"))
        return alert_rules_set(&cfg->alerts, key + 6, val, err, errlen);
    if (!strncmp(key, "capture.interfaces.", 19) || !strncmp(key, "rules.", 6))
        return live_config_set(&cfg->live, key, val, err, errlen);
    if (!strncmp(key, "trading.feeds.", 14))
        return trading_feed_set(&cfg->trading, key + 14, val, err, errlen);
    if (!strcmp(key, "dpdk.eal")) { /* a list: each value one argument */
        if (cfg->dpdk.nargs >= TT_DPDK_EAL_ARGS_MAX || strlen(val) >= sizeof(cfg->dpdk.args[0])) {
            snprintf(err, errlen, "dpdk.eal: at most %d arguments of %zu characters",
                     TT_DPDK_EAL_ARGS_MAX, sizeof(cfg->dpdk.args[0]) - 1);
            return -1;
        }
        snprintf(cfg->dpdk.args[cfg->dpdk.nargs++], sizeof(cfg->dpdk.args[0]), "%s", val);
        return 0;
    }
    const struct opt *o = opt_find(key);
    if (!o) {
        snprintf(err, errlen, "unknown setting '%s' (see 'ticktap config' for the keys)", key);
        return -1;
    }
    return opt_apply(cfg, o, val, err, errlen);
}

int config_set(struct tt_config *cfg, const char *assignment, char *err, size_t errlen)
{
    const char *eq = strchr(assignment, '=');
    if (!eq) {
        snprintf(err, errlen, "--set '%s': expected key=value (see 'ticktap config')", assignment);
        return -1;
    }
    char key[128];
    size_t klen = (size_t)(eq - assignment);
    if (klen >= sizeof(key)) klen = sizeof(key) - 1;
    memcpy(key, assignment, klen);
    key[klen] = 0;
    return config_apply(cfg, key, eq + 1, err, errlen);
}

int config_finish(struct tt_config *cfg, char *err, size_t errlen)
{
    if (cfg->snaplen < 64 || cfg->snaplen > TT_SNAP_MAX) {
        snprintf(err, errlen, "capture.snaplen %u: give 64 to %u", cfg->snaplen, TT_SNAP_MAX);
        return -1;
    }
    if (cfg->xsk_frames < 64 || (cfg->xsk_frames & (cfg->xsk_frames - 1)) || cfg->xsk_ring < 64 ||
        (cfg->xsk_ring & (cfg->xsk_ring - 1))) {
        snprintf(err, errlen, "capture.xsk_frames and capture.xsk_ring: powers of 2, at least 64");
        return -1;
    }
    if (cfg->coalesce_ns > 1000000) { /* a line-rate burst must fit the ring meanwhile */
        snprintf(err, errlen, "capture.coalesce: 1ms at most (0 turns it off)");
        return -1;
    }
    if (cfg->ring_bytes < 4096 || (cfg->ring_bytes & (cfg->ring_bytes - 1)) ||
        cfg->ring_bytes > (1ull << 30)) {
        snprintf(err, errlen, "capture.ring_size: a power of 2 from 4k to 1G");
        return -1;
    }
    if (cfg->burst_link_mbps &&
        (!cfg->burst_window_ns || !cfg->burst_fraction_pct || cfg->burst_fraction_pct > 100)) {
        snprintf(err, errlen,
                 "detect.burst_window must be > 0 and detect.burst_fraction_pct 1 to 100 "
                 "(or detect.burst_link_mbps 0 to turn microbursts off)");
        return -1;
    }
    if (!strcmp(cfg->kafka.overflow, "drop_oldest") ||
        !strcmp(cfg->kafka.overflow, "drop_newest")) {
        cfg->kafka.drop_oldest = !strcmp(cfg->kafka.overflow, "drop_oldest");
    } else {
        snprintf(err, errlen, "kafka.overflow '%s': give drop_newest or drop_oldest",
                 cfg->kafka.overflow);
        return -1;
    }
    if (!cfg->kafka.buffer_messages || !cfg->kafka.inflight_messages) {
        snprintf(err, errlen, "kafka.buffer_messages and kafka.inflight_messages must be > 0");
        return -1;
    }
    if (!cfg->metrics.publish_interval_ns || !cfg->metrics.stuck_after_ns) {
        snprintf(err, errlen, "metrics.publish_interval and metrics.stuck_after must be > 0");
        return -1;
    }
    if (trading_config_finish(&cfg->trading, err, errlen)) return -1;
    return live_config_finish(&cfg->live, err, errlen);
}

void config_print(const struct tt_config *cfg, FILE *out)
{
    for (size_t i = 0; i < NOPTS; i++) {
        const struct opt *o = &options[i];
        const uint8_t *base = (const uint8_t *)cfg + o->offset;
        char val[64];
        switch (o->type) {
        case OPT_BOOL:
            snprintf(val, sizeof(val), "%s", *(const uint32_t *)base ? "true" : "false");
            break;
        case OPT_U16:
            snprintf(val, sizeof(val), "%u", *(const uint16_t *)base);
            break;
        case OPT_U32:
            snprintf(val, sizeof(val), "%u", *(const uint32_t *)base);
            break;
        case OPT_U64:
            snprintf(val, sizeof(val), "%" PRIu64, *(const uint64_t *)base);
            break;
        case OPT_STR128:
        case OPT_STR256:
            snprintf(val, sizeof(val), "%s", (const char *)base);
            break;
        case OPT_DURATION: {
            uint64_t ns = *(const uint64_t *)base;
            if (ns % 1000000000ull == 0)
                snprintf(val, sizeof(val), "%" PRIu64 "s", (uint64_t)(ns / 1000000000ull));
            else if (ns % 1000000ull == 0)
                snprintf(val, sizeof(val), "%" PRIu64 "ms", (uint64_t)(ns / 1000000ull));
            else
                snprintf(val, sizeof(val), "%" PRIu64 "ns", ns);
            break;
        }
        }
        fprintf(out, "%-34s %-12s %s\n", o->key, val, o->help);
    }
}

/* Walks the YAML document. Nested mappings give dotted keys ("flow.max_flows"); a list of
 * mappings numbers its items ("rules.0.ports"); a list of scalars gives its key once per item
 * (list settings append). */
struct yaml_frame {
    int is_list;
    int expecting_key; /* mapping: the next scalar is a key */
    int next_index;    /* list: number of the next item */
    char name[64];     /* this node's part of the dotted key */
    char key[64];      /* mapping: the key whose value comes next */
};

static void yaml_path(const struct yaml_frame *st, int top, const char *last, char *out,
                      size_t outlen)
{
    out[0] = 0;
    for (int i = 1; i <= top; i++) {
        strncat(out, st[i].name, outlen - strlen(out) - 1);
        strncat(out, ".", outlen - strlen(out) - 1);
    }
    strncat(out, last, outlen - strlen(out) - 1);
    size_t n = strlen(out);
    if (n && out[n - 1] == '.') out[n - 1] = 0;
}

int config_load_file(struct tt_config *cfg, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open config: %s", path, strerror(errno));
        return -1;
    }
    yaml_parser_t parser;
    yaml_event_t ev;
    /* The whole document is read once before any setting is applied, so a syntax error (an
     * unclosed '[' or quote, a bad indent) is said as such, not as what its half-read
     * content looks like. */
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    for (int done = 0; !done;) {
        if (!yaml_parser_parse(&parser, &ev)) {
            snprintf(err, errlen,
                     "%s:%zu: not valid YAML: %s%s%s (check brackets, quotes and "
                     "indentation there)",
                     path, parser.problem_mark.line + 1,
                     parser.problem ? parser.problem : "syntax error", parser.context ? " " : "",
                     parser.context ? parser.context : "");
            yaml_parser_delete(&parser);
            fclose(f);
            return -1;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    rewind(f);
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    struct yaml_frame st[8];
    int top = -1, rc = 0;
    for (;;) {
        if (!yaml_parser_parse(&parser, &ev)) {
            snprintf(err, errlen, "%s:%zu: YAML error: %s", path, parser.problem_mark.line + 1,
                     parser.problem ? parser.problem : "unknown");
            rc = -1;
            break;
        }
        int line = (int)ev.start_mark.line + 1;
        if (ev.type == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT) {
            if (top >= 7) {
                snprintf(err, errlen, "%s:%d: nested too deep", path, line);
                rc = -1;
            } else if (top >= 0 && !st[top].is_list && st[top].expecting_key) {
                snprintf(err, errlen, "%s:%d: a key must be a plain word", path, line);
                rc = -1;
            } else if (top >= 0 && st[top].is_list && ev.type == YAML_SEQUENCE_START_EVENT) {
                snprintf(err, errlen, "%s:%d: lists of lists are not settings", path, line);
                rc = -1;
            } else {
                struct yaml_frame *fr = &st[++top];
                memset(fr, 0, sizeof(*fr));
                fr->is_list = ev.type == YAML_SEQUENCE_START_EVENT;
                fr->expecting_key = !fr->is_list;
                if (top > 0 && st[top - 1].is_list)
                    snprintf(fr->name, sizeof(fr->name), "%d", st[top - 1].next_index++);
                else if (top > 0)
                    snprintf(fr->name, sizeof(fr->name), "%s", st[top - 1].key);
            }
        } else if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT) {
            top--;
            if (top >= 0 && !st[top].is_list) st[top].expecting_key = 1;
        } else if (ev.type == YAML_SCALAR_EVENT && top >= 0) {
            const char *val = (const char *)ev.data.scalar.value;
            struct yaml_frame *fr = &st[top];
            if (!fr->is_list && fr->expecting_key) {
                snprintf(fr->key, sizeof(fr->key), "%s", val);
                fr->expecting_key = 0;
            } else {
                char key[256], why[512];
                yaml_path(st, top, fr->is_list ? "" : fr->key, key, sizeof(key));
                if (fr->is_list && strncmp(key, "rules.", 6) &&
                    strncmp(key, "capture.interfaces.", 19) && strncmp(key, "trading.feeds.", 14) &&
                    strcmp(key, "dpdk.eal")) {
                    snprintf(err, errlen,
                             "%s:%d: '%s' takes one value, not a list (lists are for rules, "
                             "capture.interfaces, trading.feeds and dpdk.eal)",
                             path, line, key);
                    rc = -1;
                } else if (config_apply(cfg, key, val, why, sizeof(why))) {
                    snprintf(err, errlen, "%s:%d: %s", path, line, why);
                    rc = -1;
                }
                if (!fr->is_list) fr->expecting_key = 1;
            }
        }
        yaml_event_delete(&ev);
        if (rc) break;
    }
    yaml_parser_delete(&parser);
    fclose(f);
    return rc;
}
