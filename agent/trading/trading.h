/* trading.h - the trading analyzers of one worker: FIX over reassembled TCP, MoldUDP64/ITCH
 * and MDP 3.0 market data with A/B arbitration.
 *
 * Contract: the worker calls trading_tcp()/trading_udp() for every packet of a flow after
 * its own TCP analysis, trading_flow_end() before a flow is freed, trading_housekeep() with
 * packet time and trading_flush() at the end. Findings go out as events through the emit
 * callbacks; counts and latency distributions go into a struct trading_stats. Everything is
 * preallocated at init and bounded by the config (sessions, buffers, pending orders); what
 * does not fit is counted. Time is packet time. One struct trading per worker, no locking.
 * Code: trading.c (recognising a flow's protocol, TCP sessions, housekeeping); the sessions
 * of each protocol in fix_session.c, ouch_session.c (SoupBinTCP/OUCH) and md_session.c
 * (MoldUDP64/ITCH and MDP 3.0 feeds: sequences, A/B arbitration), over the wire decoders
 * fix.c, soupbintcp.c, moldudp64.c and mdp3.c; session_common.c holds what they share
 * (events, fields, the pending-order table).
 */
#ifndef TT_TRADING_H
#define TT_TRADING_H

#include <stdint.h>

#include "../event/event.h"
#include "trading_config.h"
#include "trading_stats.h"

struct flow;
struct flow_table;
struct packet;
struct trading; /* private: trading_internal.h */

/* How the worker hands out event slots (its bounded ring; the slot is ordered after the
 * frame being processed). NULL: the ring was full, counted by the worker. */
struct trading_emit {
    struct event *(*reserve)(void *ctx, enum event_type type);
    void (*commit)(void *ctx);
    void *ctx;
    const struct flow_table *flows; /* whose tunnel sides events of tunnelled flows carry */
};

/* flow->app_kind values */
enum { APP_UNKNOWN = 0, APP_FIX = 1, APP_MOLD = 2, APP_MDP3 = 3, APP_SOUP = 4, APP_NONE = 255 };

/* One worker's analyzers, bounded by cfg (sessions, buffers, pending orders); counts go
 * into st, drops and decode errors into counters, events through emit. NULL when out of
 * memory. */
struct trading *trading_new(const struct trading_config *cfg, struct trading_stats *st,
                            uint64_t *counters, const struct trading_emit *emit);
void trading_free(struct trading *t);
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
