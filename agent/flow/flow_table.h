/* flow_table.h - bidirectional flows in preallocated open addressing, expired by packet time.
 *
 * A flow is keyed by struct flow_key (5-tuple + VLAN + tunnel); both directions of a
 * conversation find the same flow, and flow_lookup() says which direction a packet went
 * (0: as the first packet, 1: reverse). Capacity is fixed at init; when it is reached the
 * least recently seen flow is evicted (counted by the caller through the end callback).
 * Flows leave through one path, the end callback, with a reason: idle timeout, closed
 * (FIN both ways or RST, then a linger time), eviction, port reuse or capture end.
 *
 * Time is always packet time, never the wall clock, so results do not depend on how fast a
 * capture is read. Work per call is O(1) amortised; flow_table_expire() does at most
 * `budget` removals. One table per worker, no locking.
 */
#ifndef TT_FLOW_TABLE_H
#define TT_FLOW_TABLE_H

#include <stdint.h>
#include <string.h>

#include "../decode/decode.h"
#include "flow_features.h"
#include "../tcp/tcp_analysis.h"
#include "../util/symhash.h"

enum flow_end_reason {
    FLOW_END_IDLE = 0,
    FLOW_END_CLOSED,
    FLOW_END_EVICTED,
    FLOW_END_PORT_REUSE,
    FLOW_END_CAPTURE_END,
};
const char *flow_end_reason_name(enum flow_end_reason r);

struct flow {
    struct flow_key key; /* oriented as the first packet seen */
    uint64_t id;         /* stable hash of key and first timestamp */
    uint64_t first_ts_ns;
    uint64_t last_ts_ns;
    uint64_t first_frame;
    uint64_t pkts[2];
    uint64_t bytes[2]; /* wire bytes per direction */
    uint32_t lru_prev;
    uint32_t lru_next;
    uint32_t hash;
    uint8_t list; /* which expiry list: 0 active, 1 closed */
    uint8_t in_use;
    uint16_t anomalies; /* saturating count of TCP analysis findings, ranks "worst flows" */
    uint32_t app;       /* the trading analyzer's session of this flow (trading.h) */
    uint8_t app_kind;   /* APP_* of trading.h: what the payload was recognised as */
    uint8_t app_tries;  /* payload packets looked at before giving up recognition */
    uint8_t app_feed;   /* market data: the flow's feed within its session */
    uint8_t pad;
    struct tcp_conv tcp;
};

struct flow_table_config {
    uint32_t max_flows;
    uint64_t tcp_idle_ns;
    uint64_t udp_idle_ns; /* UDP, ICMP and everything else */
    uint64_t closed_linger_ns;
};

typedef void (*flow_end_fn)(void *ctx, struct flow *f, enum flow_end_reason why);

struct flow_table {
    struct flow *flows;
    uint32_t max_flows;
    uint32_t nactive;
    uint32_t free_head;
    uint32_t never_used; /* flows[never_used..] have never been handed out */
    uint32_t *slots;     /* open addressing: 1 + flow index; 0 empty */
    uint32_t slot_mask;
    uint32_t head[2], tail[2]; /* LRU lists by last_ts: active, closed */
    uint32_t *expiring;        /* one expiry pass's flows, ended in flow id order */
    /* A tunnelled flow's (key.tunnel_kind) two directions: tunnel id and outer endpoints, which
     * may differ (GTP-U uplink and downlink TEIDs). Beside flows[], so that other flows do not
     * grow: its pages are touched only by tunnelled flows. Written by the worker. */
    struct tunnel_side (*tun)[2];
    /* Each flow's features (flow_features.h), beside flows[] for the same reason: a flow's
     * entry is cleared when the flow is created. Written by the worker. */
    struct flow_features *feat;
    struct flow_table_config cfg;
    flow_end_fn on_end;
    void *ctx;
    uint64_t created;
    uint64_t evicted;
};

void flow_table_config_default(struct flow_table_config *cfg);

/* The two directions' tunnel sides of f (meaningful when f->key.tunnel_kind). */
static inline struct tunnel_side *flow_tunnel(const struct flow_table *ft, const struct flow *f)
{
    return ft->tun[f - ft->flows];
}

static inline struct flow_features *flow_feat(const struct flow_table *ft, const struct flow *f)
{
    return &ft->feat[f - ft->flows];
}

/* Allocates everything up front. Returns 0 or -ENOMEM / -EINVAL. */
int flow_table_init(struct flow_table *ft, const struct flow_table_config *cfg, flow_end_fn on_end,
                    void *ctx);
void flow_table_fini(struct flow_table *ft);
/* Forgets every flow without ending it (no callback) and zeroes the counts, keeping the
 * memory: only the flows and slots that were used are written. */
void flow_table_reset(struct flow_table *ft);

/* Ends f now with reason why (through the end callback) and frees its slot. */
void flow_end(struct flow_table *ft, struct flow *f, enum flow_end_reason why);

/* Marks f closed: it then ends after the closed linger time without packets. */
void flow_mark_closed(struct flow_table *ft, struct flow *f);

/* Most flows one expiry pass ends. */
#define FLOW_EXPIRE_MAX 4096

/* Ends flows idle past their timeout at packet time now_ns; at most budget of them (and
 * FLOW_EXPIRE_MAX), in flow id order. Returns how many ended. */
uint32_t flow_table_expire(struct flow_table *ft, uint64_t now_ns, uint32_t budget);

/* Ends every flow (reason capture end), oldest first. */
void flow_table_flush(struct flow_table *ft);

static inline int flow_addr_eq(const uint8_t *a, const uint8_t *b)
{
    uint64_t a0, a1, b0, b1;
    memcpy(&a0, a, 8), memcpy(&a1, a + 8, 8), memcpy(&b0, b, 8), memcpy(&b1, b + 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

/* Whether k is the flow of fk: 0 in the same direction, 1 in reverse, -1 another flow.
 * Different VLANs are different flows; an untagged side matches a tagged one. Inline: the
 * flow lookup calls it for every packet. */
static inline int flow_key_match(const struct flow_key *fk, const struct flow_key *k)
{
    if (fk->vlan != k->vlan && fk->vlan && k->vlan) return -1;
    if (fk->proto != k->proto || fk->tunnel_id != k->tunnel_id ||
        fk->tunnel_kind != k->tunnel_kind || fk->family != k->family)
        return -1;
    if (fk->sport == k->sport && fk->dport == k->dport && flow_addr_eq(fk->src, k->src) &&
        flow_addr_eq(fk->dst, k->dst))
        return 0;
    if (fk->sport == k->dport && fk->dport == k->sport && flow_addr_eq(fk->src, k->dst) &&
        flow_addr_eq(fk->dst, k->src))
        return 1;
    return -1;
}

/* Symmetric hash of a flow from its parts (16-byte addresses, as a flow key holds them): both
 * directions hash alike (symhash.h). The VLAN is left out so that a conversation tagged one
 * way and untagged the other (a tag stripped at the capture point) still meets in one probe
 * chain; flow_key_match() decides. The table takes the low 32 bits (flow_key_hash); the worker
 * steering takes its buckets from the high ones. */
static inline uint64_t flow_hash_parts(const uint8_t a[16], uint16_t pa, const uint8_t b[16],
                                       uint16_t pb, uint8_t proto, uint8_t tunnel_kind,
                                       uint32_t tunnel_id)
{
    uint64_t extra = ((uint64_t)proto << 40) ^ ((uint64_t)tunnel_kind << 32) ^ tunnel_id;
    return sym_hash(a, pa, b, pb, extra);
}

static inline uint64_t flow_key_hash64(const struct flow_key *k)
{
    return flow_hash_parts(k->src, k->sport, k->dst, k->dport, k->proto, k->tunnel_kind,
                           k->tunnel_id);
}

static inline uint32_t flow_key_hash(const struct flow_key *k)
{
    return (uint32_t)flow_key_hash64(k);
}

/* flow_key_hash64() of the key an IPv4 packet outside any tunnel has, from its raw header
 * fields (4-byte addresses as on the wire), without building the key. */
static inline uint64_t flow_hash_ipv4(const uint8_t src[4], uint16_t sport, const uint8_t dst[4],
                                      uint16_t dport, uint8_t proto)
{
    uint8_t a[16], b[16];
    v4_mapped(a, src); /* as the decoder keys it: the compiler folds the constant half */
    v4_mapped(b, dst);
    return flow_hash_parts(a, sport, b, dport, proto, 0, 0);
}

static inline uint64_t flow_timeout(const struct flow_table *ft, const struct flow *f)
{
    if (f->list == 1) return ft->cfg.closed_linger_ns;
    return f->key.proto == 6 ? ft->cfg.tcp_idle_ns : ft->cfg.udp_idle_ns;
}

/* flow_lookup()'s general case: probes from key's home slot (h is its hash), ends a flow found
 * past its timeout, creates a missing one. */
struct flow *flow_lookup_probe(struct flow_table *ft, const struct flow_key *key, uint32_t h,
                               uint64_t ts_ns, uint64_t frame, int *dir, int *created);

/* Makes flow i the most recently seen of its list. */
void flow_move_to_tail(struct flow_table *ft, uint32_t i);

/* Finds the flow of key, creating it (evicting the least recent flow when full) when absent.
 * *dir receives the packet's direction; *created is set when the flow is new. Never NULL
 * unless max_flows is 0. h must be flow_key_hash(key). Inline for the common case, a live flow
 * in its home slot (a call per packet costs); anything else goes to flow_lookup_probe(), which
 * decides the same way. */
static inline __attribute__((always_inline)) struct flow *
flow_lookup_hashed(struct flow_table *ft, const struct flow_key *key, uint32_t h, uint64_t ts_ns,
                   uint64_t frame, int *dir, int *created)
{
    uint32_t j = ft->slots[h & ft->slot_mask] - 1; /* UINT32_MAX: empty */
    if (j != UINT32_MAX) {
        struct flow *f = &ft->flows[j];
        int d = f->hash == h ? flow_key_match(&f->key, key) : -1;
        if (d >= 0 && !(ts_ns > f->last_ts_ns && ts_ns - f->last_ts_ns > flow_timeout(ft, f))) {
            *created = 0;
            *dir = d;
            if (!f->key.vlan) f->key.vlan = key->vlan;
            if (ts_ns > f->last_ts_ns) f->last_ts_ns = ts_ns;
            if (ft->tail[f->list] != j) flow_move_to_tail(ft, j);
            return f;
        }
    }
    return flow_lookup_probe(ft, key, h, ts_ns, frame, dir, created);
}

/* flow_lookup_hashed() with the key's hash computed here. */
static inline __attribute__((always_inline)) struct flow *
flow_lookup(struct flow_table *ft, const struct flow_key *key, uint64_t ts_ns, uint64_t frame,
            int *dir, int *created)
{
    return flow_lookup_hashed(ft, key, flow_key_hash(key), ts_ns, frame, dir, created);
}

#endif
