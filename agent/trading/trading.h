/* trading.h - the trading analyzers of one worker: FIX over reassembled TCP, MoldUDP64/ITCH
 * and MDP 3.0 market data with A/B arbitration.
 *
 * Contract: the worker calls trading_tcp()/trading_udp() for every packet of a flow after
 * its own TCP analysis, trading_flow_end() before a flow is freed, trading_housekeep() with
 * packet time and trading_flush() at the end. Findings go out as events through the emit
 * callbacks; counts and latency distributions go into a struct trading_stats. Everything is
 * preallocated at init and bounded by the config (sessions, buffers, pending orders); what
 * does not fit is counted. Time is packet time. One struct trading per worker, no locking.
 * Code: trading.c (recognition, TCP sessions, events, pending orders), trading_fix.c,
 * trading_soup.c, trading_md.c (the protocols), over the decoders fix.c, soup.c, md.c.
 */
#ifndef TT_TRADING_H
#define TT_TRADING_H

#include <stdint.h>

#include "../event/event.h"
#include "stream.h"
#include "trading_config.h"
#include "trading_stats.h"

struct flow;
struct packet;

/* How the worker hands out event slots (its bounded ring; the slot is ordered after the
 * frame being processed). NULL: the ring was full, counted by the worker. */
struct trading_emit {
    struct event *(*reserve)(void *ctx, enum event_type type);
    void (*commit)(void *ctx);
    void *ctx;
};

/* flow->app_kind values */
enum { APP_UNKNOWN = 0, APP_FIX = 1, APP_MOLD = 2, APP_MDP3 = 3, APP_SOUP = 4, APP_NONE = 255 };

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

struct md_hole {
    uint64_t start, end; /* [start, end) sequence numbers no feed has delivered yet */
    uint64_t since_ns;
    uint64_t frame;
};

struct md_feed {
    uint8_t used;
    uint8_t family;
    uint16_t port;
    uint8_t addr[16];
    uint64_t next; /* next sequence number expected on this feed */
    uint8_t started;
};

#define MD_HOLES_MAX 16
#define MD_RECENT 256
#define MD_UNPAIRED_MAX 8

struct md_session {
    uint64_t key;
    uint8_t used;
    uint8_t kind; /* enum trading_kind */
    int8_t pair;  /* configured pair, -1 none */
    uint8_t started;
    uint32_t stats;
    char name[24];
    uint8_t raw[10];      /* MoldUDP64 session as on the wire */
    uint64_t merged_next; /* every message before it was delivered by some feed or reported lost */
    uint32_t nfeeds;
    uint32_t nholes;
    struct md_feed feed[MD_FEEDS_MAX];
    struct md_hole holes[MD_HOLES_MAX];
    /* A feed's own losses seen while it was the session's only feed: whether they are
     * arbitration losses depends on a second feed showing up within the window, which
     * live depends on which port's frames were read first. */
    struct md_unpaired_loss {
        uint64_t first, count, ts_ns;
        struct flow_key key;
        uint64_t flow_id;
        uint8_t feed;
    } unpaired[MD_UNPAIRED_MAX];
    uint32_t nunpaired;
    struct flow_key last_key; /* flow of the latest packet: events name it */
    uint64_t last_flow_id;
    struct md_recent {
        uint64_t seq;
        uint64_t ts_ns;
        uint8_t feeds; /* bit per feed that delivered the packet starting at seq */
    } recent[MD_RECENT];
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
void trading_fini(struct trading *t);
/* Forgets every session, feed and pending order, keeping the memory: as after trading_init. */
void trading_reset(struct trading *t);

void trading_tcp(struct trading *t, struct flow *f, int dir, const struct packet *pkt);
void trading_udp(struct trading *t, struct flow *f, int dir, const struct packet *pkt);
void trading_flow_end(struct trading *t, struct flow *f);
void trading_housekeep(struct trading *t, uint64_t now_ns);
void trading_flush(struct trading *t, uint64_t now_ns);

/* Sets the process time zone for ITCH timestamps; call once before workers start. */
void trading_set_timezone(const struct trading_config *cfg);

#endif
