/* session_common.c - what the protocol sessions share: events about a flow, fields copied
 * into events (redacted where configured), session statistics and the pending-order table
 * (an order waits for its first answer: order-to-ack latency). */
#include <stdio.h>
#include <string.h>

#include "../stats/timeline.h"
#include "../flow/flow_table.h"
#include "trading_internal.h"

#define PENDING_PROBE 8

/* ---------------------------------------------------------------------------------------- */
/* events */

struct event *trading_event_new(struct trading *t, enum event_type type, const struct flow_key *key,
                                uint64_t flow_id, int dir, uint64_t ts_ns)
{
    struct event *e = t->emit.reserve(t->emit.ctx, type);
    if (!e) return NULL;
    e->ts_ns = ts_ns;
    e->dir = (uint8_t)dir;
    e->flow_id = flow_id;
    e->key = *key;
    if (key->tunnel_kind) /* of the flow in hand, when it is the one (else its side unknown) */
        e->tun = t->flow && t->flow->id == flow_id && t->emit.flows
                     ? flow_tunnel(t->emit.flows, t->flow)[dir]
                     : (struct tunnel_side){.family = 0};
    return e;
}

/* Copies a field for an event: printable ASCII only (JSON-safe), cut to fit, or a marker
 * when the tag is one that must never leave the agent. */
void trading_copy_field(const struct trading *t, char *dst, size_t cap, uint32_t tag,
                        const uint8_t *p, size_t len)
{
    if (len && trading_tag_redacted(t->cfg, tag)) {
        snprintf(dst, cap, "[redacted]");
        return;
    }
    size_t n = len < cap - 1 ? len : cap - 1;
    for (size_t i = 0; i < n; i++)
        dst[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
    dst[n] = 0;
}

/* ---------------------------------------------------------------------------------------- */
/* pending orders: ClOrdID -> time sent, until the first response */

/* The slot holding key in table[mask + 1] within the probe window, or NULL. */
static struct pending_order *order_find(struct pending_order *table, uint32_t mask, uint64_t key)
{
    for (uint32_t i = 0; i < PENDING_PROBE; i++) {
        struct pending_order *o = &table[(key + i) & mask];
        if (o->key == key) return o;
    }
    return NULL;
}

static void order_set(struct pending_order *o, uint64_t key, uint64_t ts_ns, uint32_t stats,
                      unsigned pair)
{
    o->key = key;
    o->ts_ns = ts_ns;
    o->stats = stats;
    o->pair = (uint8_t)pair;
}

void trading_order_add(struct trading *t, uint64_t key, uint64_t ts_ns, uint32_t stats,
                       unsigned pair)
{
    struct pending_order *hot_free = NULL, *o;
    for (uint32_t i = 0; t->orders_hot && i < PENDING_PROBE; i++) {
        o = &t->orders_hot[(key + i) & (ORDERS_HOT - 1)];
        if (o->key == key) { /* sent again before any answer: the later time counts */
            order_set(o, key, ts_ns, stats, pair);
            return;
        }
        if (!o->key && !hot_free) hot_free = o;
    }
    if (t->orders_pending && (o = order_find(t->orders, t->orders_mask, key))) {
        order_set(o, key, ts_ns, stats, pair);
        return;
    }
    if (hot_free) {
        t->hot_pending++;
        order_set(hot_free, key, ts_ns, stats, pair);
        return;
    }
    struct pending_order *victim = NULL;
    for (uint32_t i = 0; i < PENDING_PROBE; i++) {
        o = &t->orders[(key + i) & t->orders_mask];
        if (!o->key) {
            victim = o;
            break;
        }
        if (!victim || o->ts_ns < victim->ts_ns) victim = o;
    }
    if (victim->key) {
        t->counters[TT_C_TRADING_ORDERS_EVICTED]++;
        struct trading_session_stats *ss =
            victim->stats == TRADING_NONE ? t->scratch : &t->st->sessions[victim->stats];
        ss->unanswered++;
    }
    t->orders_pending += !victim->key;
    order_set(victim, key, ts_ns, stats, pair);
}

void trading_order_answered(struct trading *t, uint64_t key, uint64_t ts_ns)
{
    struct pending_order *o = NULL;
    uint32_t *pending = &t->hot_pending;
    if (t->hot_pending) o = order_find(t->orders_hot, ORDERS_HOT - 1, key);
    if (!o && t->orders_pending) {
        o = order_find(t->orders, t->orders_mask, key);
        pending = &t->orders_pending;
    }
    if (!o) return;
    uint64_t lat = ts_ns >= o->ts_ns ? ts_ns - o->ts_ns : 0;
    /* pairs past OP_MAX are OUCH's */
    hist_add(o->pair < OP_MAX ? &t->st->order_latency[o->pair]
                              : &t->st->ouch_latency[o->pair - OP_MAX],
             lat);
    if (o->stats != TRADING_NONE) {
        struct trading_session_stats *ss = &t->st->sessions[o->stats];
        hist_add(&ss->latency, lat);
        ss->tick_n++;
        if (lat > ss->tick_max_ns) ss->tick_max_ns = lat;
        ff_wide_add(&ss->tick_lat, lat);
    }
    if (t->st->tl) timeline_latency(t->st->tl, TL_ORDER, lat);
    o->key = 0;
    (*pending)--;
}

/* ---------------------------------------------------------------------------------------- */
/* sessions */

struct trading_session_stats *trading_app_stats(struct trading *t, const struct tcp_app *a)
{
    return a->stats == TRADING_NONE ? t->scratch : &t->st->sessions[a->stats];
}

void trading_orders_unanswered(struct trading *t, struct pending_order *table, uint32_t n,
                               uint32_t *pending)
{
    for (uint32_t i = 0; *pending && i < n; i++) {
        struct pending_order *o = &table[i];
        if (!o->key) continue;
        (o->stats == TRADING_NONE ? t->scratch : &t->st->sessions[o->stats])->unanswered++;
        o->key = 0;
        (*pending)--; /* the scan ends at the last one: no page touched past it */
    }
}
