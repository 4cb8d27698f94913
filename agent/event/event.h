/* event.h - the events and records ticktap emits, as fixed-size structs.
 *
 * Workers fill struct event on the hot path (no allocation, no formatting) and hand it to the
 * sink through a bounded ring (util/spsc_ring.h); event_json.c turns it into one JSON line
 * described by schemas/. Each type has a stable dotted name and a default severity.
 */
#ifndef TT_EVENT_H
#define TT_EVENT_H

#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>

#include "../decode/decode.h"
#include "../flow/flow_features.h"
#include "../util/spsc_ring.h"

#define TT_SCHEMA_VERSION "1.0.0"

enum severity { SEV_INFO = 0, SEV_WARN = 1, SEV_CRITICAL = 2 };
const char *severity_name(enum severity s);

/*   id                          name                            severity */
#define TT_EVENT_LIST(X)                                                                           \
    X(TCP_RETRANSMISSION, "tcp.retransmission", SEV_WARN)                                          \
    X(TCP_FAST_RETRANSMISSION, "tcp.fast_retransmission", SEV_WARN)                                \
    X(TCP_SPURIOUS_RETRANSMISSION, "tcp.spurious_retransmission", SEV_INFO)                        \
    X(TCP_OUT_OF_ORDER, "tcp.out_of_order", SEV_WARN)                                              \
    X(TCP_DUPLICATE_ACK, "tcp.duplicate_ack", SEV_INFO)                                            \
    X(TCP_LOST_SEGMENT, "tcp.lost_segment", SEV_WARN)                                              \
    X(TCP_ACK_LOST_SEGMENT, "tcp.ack_lost_segment", SEV_WARN)                                      \
    X(TCP_ZERO_WINDOW, "tcp.zero_window", SEV_WARN)                                                \
    X(TCP_ZERO_WINDOW_PROBE, "tcp.zero_window_probe", SEV_INFO)                                    \
    X(TCP_WINDOW_FULL, "tcp.window_full", SEV_WARN)                                                \
    X(TCP_WINDOW_UPDATE, "tcp.window_update", SEV_INFO)                                            \
    X(TCP_KEEP_ALIVE, "tcp.keep_alive", SEV_INFO)                                                  \
    X(TCP_RESET, "tcp.reset", SEV_WARN)                                                            \
    X(TCP_HANDSHAKE, "tcp.handshake", SEV_INFO)                                                    \
    X(TCP_HANDSHAKE_FAILED, "tcp.handshake_failed", SEV_CRITICAL)                                  \
    X(TCP_RST_STORM, "tcp.rst_storm", SEV_CRITICAL)                                                \
    X(TCP_FIN_STORM, "tcp.fin_storm", SEV_WARN)                                                    \
    X(FLOW, "flow", SEV_INFO)                                                                      \
    X(ALERT, "alert", SEV_WARN)                                                                    \
    X(CAPTURE_SATURATED, "capture.saturated", SEV_CRITICAL)                                        \
    X(CAPTURE_HANDOFF, "capture.handoff", SEV_WARN)                                                \
    X(FIX_SEQ_GAP, "fix.seq_gap", SEV_WARN)                                                        \
    X(FIX_RESEND_REQUEST, "fix.resend_request", SEV_WARN)                                          \
    X(FIX_REJECT, "fix.reject", SEV_WARN)                                                          \
    X(FIX_BUSINESS_REJECT, "fix.business_reject", SEV_WARN)                                        \
    X(FIX_ORDER_REJECT, "fix.order_reject", SEV_WARN)                                              \
    X(FIX_LOGOUT, "fix.logout", SEV_INFO)                                                          \
    X(FIX_HEARTBEAT_MISSED, "fix.heartbeat_missed", SEV_WARN)                                      \
    X(MD_GAP, "md.gap", SEV_CRITICAL)                                                              \
    X(MD_DUPLICATE, "md.duplicate", SEV_INFO)                                                      \
    X(MD_ARBITRATION_LOSS, "md.arbitration_loss", SEV_WARN)                                        \
    X(OUCH_REJECT, "ouch.reject", SEV_WARN)                                                        \
    X(BURST_MICRO, "burst.micro", SEV_WARN)                                                        \
    X(PAYLOAD_DUPLICATE, "payload.duplicate", SEV_WARN)                                            \
    X(LATENCY_SPIKE, "latency.spike", SEV_WARN)                                                    \
    X(ANOMALY_RATE, "anomaly.rate", SEV_WARN)                                                      \
    X(ANOMALY_LATENCY, "anomaly.latency", SEV_WARN)                                                \
    X(ANOMALY_ERRORS, "anomaly.errors", SEV_WARN)                                                  \
    X(TCP_FIN, "tcp.fin", SEV_INFO) /* internal: feeds the FIN-storm detector, never emitted */    \
    X(TICK, "tick", SEV_INFO)       /* internal: a worker's interval sums, for the baselines */    \
    X(TICK_SESSION, "tick.session", SEV_INFO) /* internal: ... of one trading session */

enum event_type {
#define TT_X(id, name, sev) EV_##id,
    TT_EVENT_LIST(TT_X)
#undef TT_X
        EV_MAX
};

const char *event_type_name(enum event_type t);
/* The FIX findings (their detail is struct fix_event_info) and the market-data ones. */
static inline int event_type_is_fix(int t)
{
    return t >= EV_FIX_SEQ_GAP && t <= EV_FIX_HEARTBEAT_MISSED;
}
static inline int event_type_is_md(int t)
{
    return t >= EV_MD_GAP && t <= EV_MD_ARBITRATION_LOSS;
}

/* Types that pass between threads but are never emitted (tcp.fin, the ticks). */
static inline int event_type_internal(int t)
{
    return t == EV_TCP_FIN || t == EV_TICK || t == EV_TICK_SESSION;
}
enum severity event_type_severity(enum event_type t);
/* Looks a type up by its dotted name; returns EV_MAX when unknown. */
enum event_type event_type_from_name(const char *name);

enum handshake_fail { HS_FAIL_SYN_UNANSWERED = 1, HS_FAIL_SYN_REJECTED = 2 };

/* A worker's sums over one baseline interval (detect_baseline.h), internal. */
struct tick_info {
    uint64_t index;      /* the interval: [index, index + 1) * interval_ns */
    uint64_t next_index; /* the first interval the worker may still report (UINT64_MAX: done) */
    uint64_t packets, bytes, retransmissions, decode_errors;
    uint64_t rtt_max_ns;
    uint32_t rtt_n;
    struct ff_wide_hist rtt;
};

/* One trading session's order-to-response latency over one interval, internal. */
struct tick_session {
    uint64_t index;
    char name[80];
    uint32_t n;
    uint64_t max_ns;
    struct ff_wide_hist lat;
};

/* A statistical baseline left (anomaly.*): what, where, and the band it left. */
struct anomaly_info {
    char scope[12];  /* "interface", "session", "feed" */
    char key[84];    /* which one: "all", the session's name, the feed */
    char metric[28]; /* "packets_per_s", "rtt_p99_us", "retransmissions"... */
    double value, baseline, band_low, band_high;
    uint32_t samples; /* intervals the baseline has learnt */
    uint32_t k;       /* the band is baseline +/- k deviations (floored) */
    uint64_t interval_ns;
    uint64_t start_ns; /* the interval's start */
};

/* The record of an ended flow. */
struct flow_record {
    uint64_t first_ts_ns;
    uint64_t last_ts_ns;
    uint64_t pkts[2]; /* [0]: from key.src, [1]: towards it */
    uint64_t bytes[2];
    uint64_t handshake_ns; /* 0: not seen */
    uint64_t rtt_min_ns[2];
    uint64_t rtt_max_ns[2];
    uint32_t rtt_n[2];
    uint32_t anomalies;
    uint8_t tcp_state;
    uint8_t end_reason;
    uint8_t pad[2];
    struct tunnel_side tun[2];       /* a tunnelled flow: each direction's id and outer endpoints */
    struct flow_dir_summary dirs[2]; /* features per direction (flow_features.h) */
    uint16_t anomaly_counts[TA_BIT_MAX]; /* TCP analysis findings by flag */
    uint32_t payload_duplicates;
};

/* Where a live capture lost frames (capture.saturated). */
enum saturation_reason {
    SAT_RING_FULL,       /* host mode: the BPF ring buffer was full */
    SAT_REDIRECT_FAILED, /* tap mode: the XDP redirect to the socket failed */
    SAT_SOCKET_DROPPED,  /* tap mode: the AF_XDP socket had no room (rx ring or fill ring) */
    SAT_KERNEL_DROPPED,  /* pcap mode: the kernel's capture buffer overflowed */
    SAT_QUEUE_FULL,      /* the agent's own queue to a worker was full */
    SAT_NIC_MISSED,      /* dpdk: the NIC had no descriptor or no mbuf (imissed, rx_nombuf) */
};
const char *saturation_reason_name(enum saturation_reason r);

struct event {
    uint64_t frame; /* the frame that caused it (1-based), orders the output */
    uint64_t sub;   /* orders events of one frame across workers (end of capture: start time) */
    uint64_t ts_ns;
    uint16_t type;
    uint8_t severity;
    uint8_t dir; /* 0: key.src is the sender of the frame */
    uint32_t worker;
    uint64_t flow_id;
    struct flow_key key; /* oriented as the flow's first packet */
    union {
        struct {
            uint32_t seq, ack, len;
            uint16_t window, flags;
            uint16_t dupack_num;
        } tcp;
        struct {
            uint64_t total_ns, syn_synack_ns;
        } handshake;
        struct {
            uint32_t syn_attempts;
            uint8_t reason; /* enum handshake_fail */
        } hs_fail;
        struct {
            uint32_t count;
            uint64_t window_ns;
        } storm;
        struct {
            uint64_t window_ns;
            uint32_t count;     /* events in the window when it fired (resolved: when it cleared) */
            uint32_t threshold; /* the level's threshold */
            uint16_t rule_type; /* enum event_type the rule counts */
            uint8_t level;      /* enum alert_level: 0 resolved, 1 warn, 2 critical */
            uint8_t scope;      /* enum alert_scope */
        } alert;
        struct {
            char ifname[16];
            int32_t queue;  /* -1: the interface as a whole */
            uint64_t lost;  /* frames lost since the previous check */
            uint64_t total; /* ... since the start */
            uint8_t reason; /* enum saturation_reason */
        } saturated;
        struct {
            char ifname[16];
            char device[96];        /* the DPDK device it went to (or came back from) */
            char reason[96];        /* why it failed, "" when it worked */
            uint64_t frames_before; /* frames the interface delivered before the switch */
            uint64_t rate;          /* back: the frames per second that sent it back */
            uint32_t intervals;     /* stats intervals the condition held */
            uint8_t to_dpdk;        /* 1: tap to DPDK; 0: back to tap */
            uint8_t ok;
        } handoff;
        struct fix_event_info {
            char sender[24], target[24]; /* the session: initiator's and acceptor's CompIDs */
            uint32_t seq;                /* MsgSeqNum of the message that raised the event */
            uint32_t expected; /* seq_gap: the MsgSeqNum expected; resend_request: BeginSeqNo */
            uint32_t count;    /* seq_gap: messages missing; resend_request: EndSeqNo */
            uint32_t ref_seq;  /* reject, business_reject: RefSeqNum(45) */
            int32_t reason;    /* 373 / 380 / 103 / 102, -1 when absent */
            uint32_t heartbt_int;
            uint64_t silence_ns;
            char msg_type[4], ref_msg_type[4];
            char clordid[40], orig_clordid[40], order_id[40], symbol[24];
            char text[128];
            uint8_t from_initiator;
            uint8_t kind; /* heartbeat_missed: 0 silence, 1 test request; order_reject: 0
                             execution report, 1 cancel reject */
            uint8_t text_redacted;
        } fix;
        struct md_event_info {
            char session[24];
            char feed[48]; /* the feed that saw it ("A 233.54.12.111:26477") */
            uint64_t first_seq, count;
            uint8_t proto; /* enum trading_kind */
            uint8_t nfeeds;
        } md;
        struct ouch_event_info {
            char session[40]; /* the login's username, or the client's address */
            char order[32];   /* UserRefNum (5.0) or Order Token (4.2) */
            char clordid[16];
            int32_t reason;  /* 5.0: the u16 code; 4.2 and login: the reason character */
            uint8_t kind;    /* 0 order rejected, 1 login rejected */
            uint8_t version; /* 42, 50; 0 for a login */
        } ouch;
        struct {
            char ifname[16];
            uint64_t start_ns, duration_ns, bytes, frames;
            uint64_t peak_bps, threshold_bps, window_ns;
        } burst;
        struct flow_record flow;
        struct {
            uint64_t first_frame; /* the first repeated payload */
            uint32_t count;       /* payloads the flow carried twice */
            uint32_t window_ns;
        } payload_dup;
        struct {
            uint64_t rtt_ns;      /* the sample */
            uint64_t baseline_ns; /* the flow's RTT baseline before it */
            uint64_t dev_ns;      /* ... and its mean deviation */
            uint32_t samples, k, factor;
        } spike;
        struct tick_info tick;
        struct tick_session tick_session;
        struct anomaly_info anomaly;
    } u;
    /* key.tunnel_kind: the tunnel of this direction (family 0: unknown). After the union, so
     * that the reservation's clearing stays short: set by whoever sets a tunnelled key. */
    struct tunnel_side tun;
};

/* Merge key (frame) of events emitted when the capture ends (after every frame). */
#define EVENT_ORDER_END UINT64_MAX

/* A producer's reservation in its full event ring, offline (the input can wait): publishes
 * its progress (publish(ctx): what the sink's merge needs to move on), wakes the sink once
 * (waiting says so meanwhile) and yields until the sink has made room. */
struct event *event_reserve_waiting(struct spsc_ring *ring, _Atomic int *waiting, sem_t *sink_wake,
                                    void (*publish)(void *ctx), void *ctx);

#endif
