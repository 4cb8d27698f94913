/* trading_internal.h - the trading analyzers' private state, and what the protocol sessions
 * (fix_session.c, ouch_session.c, md_session.c) share (session_common.c). Not for use outside
 * agent/trading/ (unit tests aside). */
#ifndef TT_TRADING_INTERNAL_H
#define TT_TRADING_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "md_session.h"
#include "stream.h"
#include "trading.h"

#define ORDERS_HOT 1024 /* the small pending-order table: 24 KiB */

struct fix_side {
    uint32_t next_seq; /* next MsgSeqNum expected from this side, 0: none seen */
    uint32_t heartbt_int;
    uint64_t last_ns;
    uint8_t resync; /* lost bytes: skip to the next "8=FIX" */
    uint8_t pad[7];
};

struct tcp_app {
    uint32_t next_free;
    uint32_t stats; /* session entry in trading_stats, TRADING_NONE until CompIDs are known */
    uint8_t initiator_dir; /* the flow direction of the session's initiator */
    uint8_t named;
    uint8_t kind;      /* APP_FIX or APP_SOUP */
    int8_t server_dir; /* SoupBinTCP: the flow direction the server sends in, -1 unknown */
    char comp[2][24];  /* FIX: CompIDs of the initiator and the acceptor; SoupBinTCP: the
                          session's name in comp[0] */
    struct fix_side side[2];
    struct stream_dir dir[2];
};

struct pending_order {
    uint64_t key; /* hash of flow id and ClOrdID; 0: free */
    uint64_t ts_ns;
    uint32_t stats;
    uint8_t pair; /* enum order_pair */
};

struct trading {
    const struct trading_config *cfg;
    struct trading_emit emit;
    struct trading_stats *st;
    struct trading_session_stats *scratch; /* counts of sessions the table had no room for */
    uint64_t *counters;                    /* the worker's drop and decode-error counters */
    struct tcp_app *apps;
    uint8_t *bufs;
    uint32_t free_app;
    struct md_session *md;
    uint32_t *md_live; /* the sessions in use (indices into md[]), in the order they came */
    uint32_t nmd_live;
    uint32_t *md_order; /* housekeeping: sessions with open holes, by flow id */
    /* Pending orders: a small table tried first, which stays in cache while answers come
     * quickly (a miss per order in the large one cost 7% of the whole analysis), then the
     * configured one. A key is in one of them at most. */
    struct pending_order *orders_hot; /* ORDERS_HOT slots; NULL for a small configured table */
    uint32_t hot_pending;             /* keys in orders_hot[] */
    struct pending_order *orders;
    uint32_t orders_mask;
    uint32_t orders_pending; /* keys in orders[] */
    /* ITCH timestamps count from midnight in the exchange's time zone */
    uint64_t day_start_ns, day_end_ns;
    /* the packet being analysed (events carry its frame and flow) */
    const struct packet *pkt;
    const struct flow *flow;
};

int trading_init(struct trading *t, const struct trading_config *cfg, struct trading_stats *st,
                 uint64_t *counters, const struct trading_emit *emit);
/* In place (unit tests; trading_new() for the rest). */
void trading_fini(struct trading *t);

/* A TCP session's analyzer call: the stream callbacks' context. */
struct tcp_ctx {
    struct trading *t;
    struct flow *f;
    struct tcp_app *a;
    int dir;
};

/* Reserves an event about flow key (NULL when the ring is full: counted by the worker). */
struct event *trading_event_new(struct trading *t, enum event_type type, const struct flow_key *key,
                                uint64_t flow_id, int dir, uint64_t ts_ns);

/* Copies a field into an event: printable ASCII only (JSON-safe), cut to fit, or
 * "[redacted]" when tag must never leave the agent. */
void trading_copy_field(const struct trading *t, char *dst, size_t cap, uint32_t tag,
                        const uint8_t *p, size_t len);

/* The pending-order table: an order (key: flow and ClOrdID / UserRefNum) waits for its first
 * answer; pair < OP_MAX is FIX's, OP_MAX + pair OUCH's. A full probe evicts the oldest. */
void trading_order_add(struct trading *t, uint64_t key, uint64_t ts_ns, uint32_t stats,
                       unsigned pair);
void trading_order_answered(struct trading *t, uint64_t key, uint64_t ts_ns);

/* The session's statistics entry, or the scratch entry when the table had no room. */
struct trading_session_stats *trading_app_stats(struct trading *t, const struct tcp_app *a);

/* Stream callbacks of the TCP protocols (stream.h). */
size_t fix_deliver(void *ctx, const uint8_t *data, size_t len, int after_hole, uint64_t ts_ns);
size_t soup_deliver(void *ctx, const uint8_t *data, size_t len, int after_hole, uint64_t ts_ns);

/* Unanswered orders of one table at the end: counted against their sessions. */
void trading_orders_unanswered(struct trading *t, struct pending_order *table, uint32_t n,
                               uint32_t *pending);

#endif
