/* trading_stats.h - what the trading analyzers count, per worker, merged for the summary.
 *
 * Sessions (a FIX CompID pair, a MoldUDP64 session, an MDP 3.0 channel) each get one entry
 * with their counters and latency distribution; entries merge across workers by key. The
 * table is bounded (TRADING_SESSIONS_MAX); sessions beyond it are counted in
 * sessions_untracked and still feed the global distributions.
 */
#ifndef TT_TRADING_STATS_H
#define TT_TRADING_STATS_H

#include <stdint.h>

#include "../detect/detect_burst.h"
#include "../flow/flow_features.h"
#include "../util/hist.h"
#include "stream.h"

#define TRADING_SESSIONS_MAX 256 /* ~66 KiB each once used (two histograms) */
#define MD_FEEDS_MAX 4
#define FIX_TYPES_MAX 48
#define TRADING_NONE UINT32_MAX

enum trading_kind { TK_FIX = 1, TK_MOLD = 2, TK_MDP3 = 3, TK_SOUP = 4 };
const char *trading_kind_name(enum trading_kind k);

/* Order messages whose first response is timed (FIX D, F, G). */
enum order_pair { OP_NEW = 0, OP_CANCEL, OP_REPLACE, OP_MAX };
const char *order_pair_name(enum order_pair p);

struct md_feed_stats {
    char name[48]; /* "A 233.54.12.111:26477" */
    uint64_t packets, messages, heartbeats;
    uint64_t gaps, lost; /* this feed's own sequence gaps and messages they skipped */
    uint64_t duplicates; /* messages this feed delivered twice */
    uint64_t trailed;    /* packets that arrived after the other feed's copy */
    uint64_t trail_max_ns;
};

struct trading_session_stats {
    uint64_t key;
    uint8_t used;
    uint8_t kind; /* enum trading_kind */
    char name[80];
    /* FIX: messages per direction (0: initiator to acceptor) */
    uint64_t messages[2];
    uint64_t logons, logouts, seq_gaps, seq_missing, seq_too_low, resend_requests, gap_fills,
        seq_resets, poss_dup, rejects, business_rejects, order_rejects, heartbeats_missed,
        test_requests, bad_checksum, orders[OP_MAX], unanswered;
    /* SoupBinTCP / OUCH (messages[0]: from the client; orders[], order_rejects, unanswered
     * shared with FIX) */
    uint64_t logins_accepted, logins_rejected, sequenced, unsequenced, soup_heartbeats, accepted,
        canceled, executions;
    /* market data (end_of_session: SoupBinTCP's Z too) */
    uint64_t md_gaps, md_lost, md_duplicates, end_of_session, latency_negative;
    uint32_t nfeeds;
    struct md_feed_stats feed[MD_FEEDS_MAX];
    struct hist latency; /* FIX: order to first response; MD: capture time - exchange time */
    struct hist skew;    /* MD pairs: how far the later feed trailed the earlier one */
    /* order responses since the worker's last baseline tick (detect_baseline.h); not merged */
    uint32_t tick_n;
    uint64_t tick_max_ns;
    struct ff_wide_hist tick_lat;
};

struct timeline;

struct trading_stats {
    struct timeline *tl;                    /* the worker's timeline (stats/timeline.h), or NULL */
    struct trading_session_stats *sessions; /* TRADING_SESSIONS_MAX; [0, nsessions) in use */
    uint32_t nsessions;                     /* sessions are taken in order, never freed */
    uint64_t sessions_untracked;
    struct stream_counters stream; /* reassembly */
    /* FIX */
    uint64_t fix_messages, fix_garbage_bytes;
    struct {
        char type[4];
        uint64_t n;
    } fix_types[FIX_TYPES_MAX];
    uint64_t fix_types_other;
    struct hist order_latency[OP_MAX];
    /* SoupBinTCP / OUCH */
    uint64_t soup_packets, soup_garbage_bytes;
    uint64_t ouch_client_types[256], ouch_server_types[256];
    struct hist ouch_latency[OP_MAX]; /* enter order, cancel, replace to the first response */
    /* market data */
    uint64_t mold_packets, mold_messages, mold_heartbeats;
    uint64_t itch_types[256];
    uint64_t mdp3_packets, mdp3_messages;
    uint64_t mdp3_templates[256];
    uint64_t mdp3_templates_other;
    struct hist itch_latency, mdp3_latency;
    /* timestamps a TAP or switch added to frames (decode.h enum hw_ts_source) */
    uint64_t hw_ts_frames[3];
    int64_t hw_ts_offset_min_ns, hw_ts_offset_max_ns; /* capture time - that time */
    /* microbursts (detect_burst.h), of every capture interface */
    struct burst_totals bursts;
};

int trading_stats_init(struct trading_stats *s);
void trading_stats_fini(struct trading_stats *s);
/* Back to what trading_stats_init() gave, keeping the sessions' table (only the sessions in
 * use are cleared). */
void trading_stats_reset(struct trading_stats *s);
void trading_stats_merge(struct trading_stats *into, const struct trading_stats *from);

/* The entry of session key (created with kind and name when absent); TRADING_NONE when the
 * table is full (counted). */
uint32_t trading_session_get(struct trading_stats *s, uint64_t key, enum trading_kind kind,
                             const char *name);

void trading_count_fix_type(struct trading_stats *s, const uint8_t *type, uint16_t len);

#endif
