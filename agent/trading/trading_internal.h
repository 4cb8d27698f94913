/* trading_internal.h - what the trading analyzers (trading_fix.c, trading_soup.c,
 * trading_md.c) share with their core (trading.c). Not for use outside agent/trading/. */
#ifndef TT_TRADING_INTERNAL_H
#define TT_TRADING_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "trading.h"

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

/* Market data (trading_md.c). */
void md_mold(struct trading *t, struct flow *f, const struct packet *pkt);
void md_mdp3(struct trading *t, struct flow *f, const struct packet *pkt);
void md_expire(struct trading *t, struct md_session *s, uint64_t now_ns);
void md_hole_lost(struct trading *t, struct md_session *s, uint32_t i);

#endif
