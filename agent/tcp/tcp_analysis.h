/* tcp_analysis.h - per-segment TCP analysis with Wireshark's definitions.
 *
 * tcp_analyze() follows the rules of Wireshark's tcp.analysis.* flags (retransmission, fast
 * and spurious retransmission, out-of-order, duplicate ACK, lost segment, ACKed unseen
 * segment, zero window, zero-window probe, window full, window update, keep-alive), with the
 * preferences tshark uses by default (relative sequence numbers, fast retransmission
 * supersedes out-of-order, no reassembly of out-of-order data), so every count can be checked
 * against `tshark -Y tcp.analysis.X`. It also measures handshake RTT and data-to-ACK RTT
 * (Wireshark's tcp.analysis.ack_rtt). Sequence arithmetic is modulo 2^32.
 *
 * State lives in struct tcp_conv, embedded in the flow. Segments not yet ACKed (needed only
 * for RTT samples) sit in a per-worker preallocated pool, bounded per direction; when the
 * pool is empty a sample is lost and counted, the flags are unaffected.
 */
#ifndef TT_TCP_ANALYSIS_H
#define TT_TCP_ANALYSIS_H

#include <stdint.h>

struct packet;

/* Analysis flag bits, one per Wireshark tcp.analysis.* field. */
#define TCP_ANALYSIS_LIST(X)                                                                       \
    X(RETRANSMISSION, "retransmission")                                                            \
    X(FAST_RETRANSMISSION, "fast_retransmission")                                                  \
    X(SPURIOUS_RETRANSMISSION, "spurious_retransmission")                                          \
    X(OUT_OF_ORDER, "out_of_order")                                                                \
    X(DUPLICATE_ACK, "duplicate_ack")                                                              \
    X(LOST_SEGMENT, "lost_segment")                                                                \
    X(ACK_LOST_SEGMENT, "ack_lost_segment")                                                        \
    X(ZERO_WINDOW, "zero_window")                                                                  \
    X(ZERO_WINDOW_PROBE, "zero_window_probe")                                                      \
    X(ZERO_WINDOW_PROBE_ACK, "zero_window_probe_ack")                                              \
    X(WINDOW_FULL, "window_full")                                                                  \
    X(WINDOW_UPDATE, "window_update")                                                              \
    X(KEEP_ALIVE, "keep_alive")                                                                    \
    X(KEEP_ALIVE_ACK, "keep_alive_ack")                                                            \
    X(REUSED_PORTS, "reused_ports")

enum tcp_analysis_bit {
#define TT_X(id, name) TA_BIT_##id,
    TCP_ANALYSIS_LIST(TT_X)
#undef TT_X
        TA_BIT_MAX
};
#define TA(id) (1u << TA_BIT_##id)

const char *tcp_analysis_name(enum tcp_analysis_bit b);

/* Connection state as the flow record reports it. */
enum tcp_state {
    TCP_ST_NONE = 0,
    TCP_ST_SYN_SENT,
    TCP_ST_SYN_RECEIVED,
    TCP_ST_ESTABLISHED,
    TCP_ST_MIDSTREAM, /* first packet seen was not a SYN */
    TCP_ST_FIN_WAIT,  /* FIN seen one way */
    TCP_ST_CLOSED,    /* FIN seen both ways */
    TCP_ST_RESET,
};
const char *tcp_state_name(enum tcp_state s);

struct tcp_dir {
    uint32_t base_seq;
    uint32_t nextseq; /* highest sequence number seen + 1 (0: none yet) */
    uint32_t maxseqtobeacked;
    uint32_t lastack;
    uint64_t nextseq_ts;
    uint64_t lastack_ts;
    uint32_t unacked_head; /* pool index, TCP_NIL when empty */
    uint16_t unacked_count;
    uint16_t window; /* last raw window */
    int16_t win_scale; /* -1 unknown, -2 not in use, else the shift */
    uint16_t dupacknum; /* duplicate ACKs in a row; TCP_DUPACK_LATCHED: see tcp_analysis.c */
    uint32_t lastsegmentflags;
    uint8_t static_flags;
    uint8_t window_from_syn;
    uint8_t fin_seen;
    uint8_t rst_seen;
    uint16_t syn_count;
    uint16_t pad;
    uint64_t syn_ts; /* time of this side's first SYN (or SYN/ACK) */
    /* data-to-ACK RTT of segments sent this way (ns) */
    uint64_t rtt_min_ns;
    uint64_t rtt_max_ns;
    uint32_t rtt_n;
    uint32_t pad2;
};

struct tcp_conv {
    struct tcp_dir dir[2];
    uint64_t ts_mru_syn;   /* most recent SYN (Wireshark: ts_mru_syn) */
    uint64_t ts_first_rtt; /* SYN to the ACK completing the handshake */
    uint64_t synack_ts;
    uint8_t state;
    uint8_t handshake_done;
    uint8_t rejected;
    uint8_t pad[5];
};

#define TCP_NIL UINT32_MAX

struct tcp_seg {
    uint32_t seq;
    uint32_t nextseq;
    uint64_t ts_ns;
    uint32_t next;
    uint32_t pad;
};

struct tcp_seg_pool {
    struct tcp_seg *segs;
    uint32_t cap;
    uint32_t free_head;
    uint32_t never_used;
    uint32_t per_dir_max;
    uint64_t exhausted; /* samples lost for want of a slot */
};

int tcp_seg_pool_init(struct tcp_seg_pool *p, uint32_t cap, uint32_t per_dir_max);
void tcp_seg_pool_fini(struct tcp_seg_pool *p);
/* Takes every segment back (the conversations holding them are forgotten too). */
void tcp_seg_pool_reset(struct tcp_seg_pool *p);

/* What one segment revealed. */
struct tcp_result {
    uint32_t flags;          /* TA(...) bits */
    uint64_t ack_rtt_ns;     /* > 0: this segment ACKed one whose RTT is now known */
    uint64_t handshake_ns;   /* > 0: this segment completed the handshake */
    uint64_t syn_synack_ns;  /* with handshake_ns: SYN to SYN/ACK part */
    uint8_t syn_rejected;    /* RST answering a SYN with no SYN/ACK */
    uint8_t closed;          /* the connection is now closed (FIN both ways, or RST) */
    uint16_t dupack_num;
};

void tcp_conv_init(struct tcp_conv *c);

/* Continues, in a new flow record, the analysis of an ended conversation (flow_recall.h):
 * keeps what Wireshark's analysis carries on (sequence numbers, windows, ACK and duplicate-ACK
 * state, the handshake RTT that sets the out-of-order threshold), starts the connection's
 * life anew (state, SYN/FIN/RST seen, RTT statistics). reversed: the new flow's first packet
 * went the other way, so its direction 0 is the ended conversation's direction 1. */
void tcp_conv_resume(struct tcp_conv *c, const struct tcp_conv *ended, int reversed);

/* Returns 1 when a SYN on this conversation carries a new ISN: Wireshark then starts a new
 * conversation (tcp.analysis.reused_ports), and so must the caller. */
int tcp_is_port_reuse(const struct tcp_conv *c, int dir, const struct packet *pkt);

/* Analyses one segment sent in direction dir (0 or 1) of conversation c at packet time.
 * pkt must have has_l4 set with TCP fields decoded. Fills *res. */
void tcp_analyze(struct tcp_conv *c, struct tcp_seg_pool *pool, int dir, const struct packet *pkt,
                 struct tcp_result *res);

/* Returns the conversation's pooled segments; call before the flow is freed. */
void tcp_conv_release(struct tcp_conv *c, struct tcp_seg_pool *pool);

#endif
