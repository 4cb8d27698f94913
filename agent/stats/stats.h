/* stats.h - what a worker counts, merged into one struct for the summary.
 *
 * Each worker owns one struct tt_stats and is its only writer; the reader merges them with
 * stats_merge() after the workers have stopped. Top talkers and worst flows are bounded:
 * hosts beyond talkers_max are counted in talkers.untracked_bytes. With several live inputs
 * read as one, a worker also splits its packets, bytes and counters by input (the metrics'
 * rows per queue and port).
 */
#ifndef TT_STATS_H
#define TT_STATS_H

#include <stdint.h>

#include "../event/event.h"
#include "../tcp/tcp_analysis.h"
#include "../util/counters.h"
#include "../util/hist.h"
#include "timeline.h"
#include "../trading/trading_stats.h"

#define TT_TOP_MAX 32
#define TT_INPUTS_MAX 64 /* live sources read as one (capture/capture_union.h) */

/* One live input's share: its frames, and every counter that moved while they were analysed
 * (or while the worker's clock moved on between them). */
struct tt_input_stats {
    uint64_t packets, bytes;
    uint64_t counters[TT_C_MAX];
};

struct talker {
    uint8_t addr[16];
    uint64_t bytes; /* sent + received */
    uint64_t pkts;
};

/* Hosts are kept densely in arrival order; index[] (open addressing) finds them. Both arrays
 * are calloc'd, so only the pages hosts use are ever touched: merging and ranking walk the n
 * hosts, not the table's capacity. */
struct talker_table {
    struct talker *hosts; /* [max] */
    uint32_t *index;      /* [cap]: 1 + the host's position in hosts[]; 0: free */
    uint32_t cap;         /* power of two, at least twice max */
    uint32_t n;
    uint32_t max;       /* at most this many hosts */
    uint64_t untracked; /* additions refused because max hosts were tracked already */
};

/* A protocol mix (a packet's set of enum tt_proto bits) and the packets that had it, not yet
 * added to protos[]: nearly every frame repeats one of a few mixes, so a frame costs one add
 * instead of one per layer. */
struct proto_mix {
    uint32_t mix;
    uint64_t n;
};

struct tt_stats {
    uint64_t packets;
    uint64_t bytes;
    uint64_t first_ts_ns;
    uint64_t last_ts_ns;
    uint64_t counters[TT_C_MAX];
    int unsupported_linktype; /* the link type of a frame counted linktype.unsupported */
    uint64_t protos[32];      /* settled: see stats_count_mix() */
    struct proto_mix mixes[4];
    uint64_t tcp_flags[TA_BIT_MAX];
    uint64_t resets;
    uint64_t flows_created;
    uint64_t flows_ended;
    uint64_t flows_evicted;
    uint64_t flows_resumed; /* new flow records continuing an ended flow's TCP analysis */
    uint64_t dup_frames;    /* frames captured twice (dedup.h): left out when dedup.remove */
    uint64_t dup_bytes;
    uint64_t dup_payloads; /* payloads a flow carried twice */
    uint64_t latency_spikes;
    struct hist rtt;       /* data-to-ACK RTT, as tcp.analysis.ack_rtt */
    struct hist handshake; /* SYN to handshake-completing ACK */
    struct talker_table talkers;
    struct timeline timeline; /* packets, bytes and latencies over capture time */
    uint32_t top_n;
    uint32_t nworst;
    struct event worst[TT_TOP_MAX]; /* flow records with the most anomalies */
    struct trading_stats trading;
    /* Several live inputs read as one (stats_track_inputs): what each brought, settled when
     * the input changes; NULL otherwise. */
    struct tt_input_stats *inputs;
    uint32_t ninputs, cur_input;
    struct tt_input_stats settled; /* the totals already given to an input */
};

int stats_init(struct tt_stats *s, uint32_t talkers_max, uint32_t top_n);
void stats_fini(struct tt_stats *s);
/* Back to what stats_init() gave, keeping the tables (only the entries in use are cleared):
 * for runs of many small inputs, such as the fuzzers'. */
void stats_reset(struct tt_stats *s);
void stats_merge(struct tt_stats *into, const struct tt_stats *from);
/* Counts per input from now on, for n inputs (at most TT_INPUTS_MAX). Returns 0 or -ENOMEM. */
int stats_track_inputs(struct tt_stats *s, uint32_t n);
/* Gives what the totals moved since the last settling to the current input. */
void stats_inputs_settle(struct tt_stats *s);

/* The next frame comes from input (indices past the inputs count as the first). */
static inline void stats_input(struct tt_stats *s, uint32_t input)
{
    if (input == s->cur_input) return;
    stats_inputs_settle(s);
    s->cur_input = input < s->ninputs ? input : 0;
}

/* Adds the mixes counted so far to protos[]; before protos[] is read (publish, merge). */
void stats_mixes_settle(struct tt_stats *s);

/* Adds n packets of protocol mix `mix` to per-protocol counts. */
static inline void stats_mix_add(uint64_t *protos, uint32_t mix, uint64_t n)
{
    for (uint32_t bits = mix; bits; bits &= bits - 1)
        protos[__builtin_ctz(bits)] += n;
}

/* Counts a packet of protocol mix `mix`. Its slot is chosen by the TCP and UDP bits, so the
 * common mixes (Ethernet/IPv4 with TCP, or with UDP) keep a slot each. */
static inline void stats_count_mix(struct tt_stats *s, uint32_t mix)
{
    _Static_assert(TT_P_UDP == TT_P_TCP + 1, "two bits pick the slot");
    struct proto_mix *m = &s->mixes[(mix >> TT_P_TCP) & 3];
    if (m->mix != mix) {
        stats_mix_add(s->protos, m->mix, m->n);
        m->mix = mix;
        m->n = 0;
    }
    m->n++;
}

void talker_add(struct talker_table *t, const uint8_t addr[16], uint64_t bytes, uint64_t pkts);
/* qsort order of the worst flows: most anomalies first, ties by flow id. */
int stats_worst_cmp(const void *a, const void *b);
/* Keeps rec (a flow record event) if it is among the top_n in that order. */
void stats_offer_worst(struct tt_stats *s, const struct event *rec);
/* Fills out[] with the top n talkers by bytes; returns how many. */
uint32_t stats_top_talkers(const struct tt_stats *s, struct talker *out, uint32_t n);

/* Adds "decode_errors", "drops" (the counters by their names) and "protocols" to root, each
 * with its non-zero entries: the summary and the stats record share these objects. */
struct json_t;
void stats_counts_json(struct json_t *root, const uint64_t counters[TT_C_MAX],
                       const uint64_t protos[TT_P_MAX]);

#endif
