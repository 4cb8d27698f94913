/* flow_table.c - preallocated open-addressing flow table with packet-time expiry.
 *
 * Layout: flows[] holds the flow structs (a free list threads unused ones); slots[] is a
 * power-of-two array of flow indexes probed linearly, at most half full; deletions shift
 * later entries back so lookups never need tombstones. Two doubly linked lists order flows
 * by last packet time: active flows and closed ones (shorter linger), so expiry only ever
 * looks at list heads.
 */
#include "flow_table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "../util/table_mem.h"

#define FT_EMPTY 0 /* slots[] hold 1 + a flow index, so a calloc'd table starts empty */
#define FT_NIL UINT32_MAX

const char *flow_end_reason_name(enum flow_end_reason r)
{
    switch (r) {
    case FLOW_END_IDLE:
        return "idle_timeout";
    case FLOW_END_CLOSED:
        return "closed";
    case FLOW_END_EVICTED:
        return "evicted";
    case FLOW_END_PORT_REUSE:
        return "port_reuse";
    case FLOW_END_CAPTURE_END:
        return "capture_end";
    }
    return "unknown";
}

void flow_table_config_default(struct flow_table_config *cfg)
{
    cfg->max_flows = 1u << 20;
    /* Past the standard 2-hour keep-alive interval (tcp_keepalive_time): a connection that only
     * sends keep-alives is alive, and must not restart its analysis between them. */
    cfg->tcp_idle_ns = 7300ull * 1000000000ull;
    cfg->udp_idle_ns = 120ull * 1000000000ull;
    cfg->closed_linger_ns = 30ull * 1000000000ull;
}

int flow_table_init(struct flow_table *ft, const struct flow_table_config *cfg, flow_end_fn on_end,
                    void *ctx)
{
    memset(ft, 0, sizeof(*ft));
    if (cfg->max_flows == 0 || cfg->max_flows > (1u << 28)) return -EINVAL;
    ft->cfg = *cfg;
    ft->max_flows = cfg->max_flows;
    ft->on_end = on_end;
    ft->ctx = ctx;
    uint32_t nslots = 1;
    while (nslots < 2 * cfg->max_flows)
        nslots <<= 1;
    ft->slot_mask = nslots - 1;
    ft->flows = table_zalloc(cfg->max_flows, sizeof(*ft->flows));
    ft->slots = table_calloc(nslots, sizeof(*ft->slots)); /* probed before written */
    ft->expiring = table_malloc(FLOW_EXPIRE_MAX, sizeof(*ft->expiring));
    ft->tun = table_zalloc(cfg->max_flows, sizeof(*ft->tun));
    ft->feat = table_zalloc(cfg->max_flows, sizeof(*ft->feat));
    if (!ft->flows || !ft->slots || !ft->expiring || !ft->tun || !ft->feat) {
        flow_table_fini(ft);
        return -ENOMEM;
    }
    /* Flows are handed out from never_used upwards before the free list is needed, so the
     * pages of the (calloc'd) flow array, like those of slots[], are only touched as flows
     * are tracked: a table sized for millions costs nothing until they come. */
    ft->free_head = FT_NIL;
    ft->never_used = 0;
    ft->head[0] = ft->head[1] = ft->tail[0] = ft->tail[1] = FT_NIL;
    return 0;
}

void flow_table_fini(struct flow_table *ft)
{
    table_release(ft->flows);
    table_free(ft->slots);
    table_release(ft->expiring);
    table_release(ft->tun);
    table_release(ft->feat);
    memset(ft, 0, sizeof(*ft));
}

void flow_table_reset(struct flow_table *ft)
{
    for (uint32_t i = 0; i < ft->never_used; i++) {
        if (!ft->flows[i].in_use) continue;
        uint32_t s = ft->flows[i].hash & ft->slot_mask; /* no shifting: every slot goes */
        while (ft->slots[s] != i + 1)
            s = (s + 1) & ft->slot_mask;
        ft->slots[s] = FT_EMPTY;
    }
    memset(ft->flows, 0, (size_t)ft->never_used * sizeof(*ft->flows));
    ft->nactive = ft->never_used = 0;
    ft->free_head = FT_NIL;
    ft->head[0] = ft->head[1] = ft->tail[0] = ft->tail[1] = FT_NIL;
    ft->created = ft->evicted = 0;
}

static void list_unlink(struct flow_table *ft, uint32_t i)
{
    struct flow *f = &ft->flows[i];
    if (f->lru_prev != FT_NIL)
        ft->flows[f->lru_prev].lru_next = f->lru_next;
    else
        ft->head[f->list] = f->lru_next;
    if (f->lru_next != FT_NIL)
        ft->flows[f->lru_next].lru_prev = f->lru_prev;
    else
        ft->tail[f->list] = f->lru_prev;
}

static void list_append(struct flow_table *ft, uint32_t i, uint8_t list)
{
    struct flow *f = &ft->flows[i];
    f->list = list;
    f->lru_next = FT_NIL;
    f->lru_prev = ft->tail[list];
    if (ft->tail[list] != FT_NIL)
        ft->flows[ft->tail[list]].lru_next = i;
    else
        ft->head[list] = i;
    ft->tail[list] = i;
}

/* Removes flow index idx from slots[] with backward-shift deletion. */
static void slot_remove(struct flow_table *ft, uint32_t idx)
{
    uint32_t s = ft->flows[idx].hash & ft->slot_mask;
    while (ft->slots[s] != idx + 1)
        s = (s + 1) & ft->slot_mask;
    uint32_t hole = s;
    for (;;) {
        s = (s + 1) & ft->slot_mask;
        uint32_t j = ft->slots[s];
        if (j == FT_EMPTY) break;
        uint32_t home = ft->flows[j - 1].hash & ft->slot_mask;
        /* Move j back into the hole unless its home lies cyclically in (hole, s]. */
        if (((s - home) & ft->slot_mask) >= ((s - hole) & ft->slot_mask)) {
            ft->slots[hole] = j;
            hole = s;
        }
    }
    ft->slots[hole] = FT_EMPTY;
}

void flow_end(struct flow_table *ft, struct flow *f, enum flow_end_reason why)
{
    uint32_t idx = (uint32_t)(f - ft->flows);
    if (ft->on_end) ft->on_end(ft->ctx, f, why);
    slot_remove(ft, idx);
    list_unlink(ft, idx);
    f->in_use = 0;
    f->lru_next = ft->free_head;
    ft->free_head = idx;
    ft->nactive--;
}

void flow_mark_closed(struct flow_table *ft, struct flow *f)
{
    uint32_t idx = (uint32_t)(f - ft->flows);
    if (f->list == 1) return;
    list_unlink(ft, idx);
    list_append(ft, idx, 1);
}

void flow_move_to_tail(struct flow_table *ft, uint32_t i)
{
    list_unlink(ft, i);
    list_append(ft, i, ft->flows[i].list);
}

struct flow *flow_lookup_probe(struct flow_table *ft, const struct flow_key *key, uint32_t h,
                               uint64_t ts_ns, uint64_t frame, int *dir, int *created)
{
    uint32_t s = h & ft->slot_mask;
    *created = 0;
    for (;;) {
        uint32_t j = ft->slots[s] - 1; /* UINT32_MAX: empty */
        if (j == UINT32_MAX) break;
        struct flow *f = &ft->flows[j];
        if (f->hash == h) {
            int d = flow_key_match(&f->key, key);
            if (d >= 0 && ts_ns > f->last_ts_ns && ts_ns - f->last_ts_ns > flow_timeout(ft, f)) {
                /* Past its timeout: ended here, exactly when its next packet shows it, so the
                 * outcome never depends on when housekeeping last ran. */
                flow_end(ft, f, f->list == 1 ? FLOW_END_CLOSED : FLOW_END_IDLE);
                s = h & ft->slot_mask;
                continue;
            }
            if (d >= 0) {
                *dir = d;
                if (!f->key.vlan) f->key.vlan = key->vlan;
                if (ts_ns > f->last_ts_ns) f->last_ts_ns = ts_ns;
                if (ft->tail[f->list] != j) flow_move_to_tail(ft, j);
                return f;
            }
        }
        s = (s + 1) & ft->slot_mask;
    }
    /* New flow: evict the least recently seen one when full (closed flows go first). */
    if (ft->free_head == FT_NIL && ft->never_used < ft->max_flows) {
        ft->flows[ft->never_used].lru_next = FT_NIL;
        ft->free_head = ft->never_used++;
    }
    if (ft->free_head == FT_NIL) {
        uint32_t victim = ft->head[1] != FT_NIL ? ft->head[1] : ft->head[0];
        if (victim == FT_NIL) return NULL;
        ft->evicted++;
        flow_end(ft, &ft->flows[victim], FLOW_END_EVICTED);
        /* The probe chain may have shifted: find the insertion slot again. */
        s = h & ft->slot_mask;
        while (ft->slots[s] != FT_EMPTY)
            s = (s + 1) & ft->slot_mask;
    }
    uint32_t idx = ft->free_head;
    struct flow *f = &ft->flows[idx];
    ft->free_head = f->lru_next;
    memset(f, 0, sizeof(*f));
    f->key = *key;
    f->hash = h;
    f->in_use = 1;
    f->first_ts_ns = f->last_ts_ns = ts_ns;
    f->first_frame = frame;
    uint64_t seed_ts = ts_ns;
    f->id = XXH3_64bits_withSeed(key, sizeof(*key), seed_ts);
    tcp_conv_init(&f->tcp);
    ft->slots[s] = idx + 1;
    list_append(ft, idx, 0);
    ft->nactive++;
    ft->created++;
    *dir = 0;
    *created = 1;
    return f;
}

static int cmp_flow_id(const void *a, const void *b, void *ctx)
{
    const struct flow *flows = ctx;
    uint64_t x = flows[*(const uint32_t *)a].id, y = flows[*(const uint32_t *)b].id;
    return x < y ? -1 : x > y;
}

/* Ends the flows collected by one expiry pass in flow id order: the records of a pass then
 * merge across workers (by frame, then flow id) into the order one worker gives them. */
static void end_expired(struct flow_table *ft, uint32_t n)
{
    qsort_r(ft->expiring, n, sizeof(*ft->expiring), cmp_flow_id, ft->flows);
    for (uint32_t i = 0; i < n; i++) {
        struct flow *f = &ft->flows[ft->expiring[i]];
        flow_end(ft, f, f->list == 1 ? FLOW_END_CLOSED : FLOW_END_IDLE);
    }
}

uint32_t flow_table_expire(struct flow_table *ft, uint64_t now_ns, uint32_t budget)
{
    if (budget > FLOW_EXPIRE_MAX) budget = FLOW_EXPIRE_MAX;
    uint32_t n = 0;
    uint64_t min_idle =
        ft->cfg.tcp_idle_ns < ft->cfg.udp_idle_ns ? ft->cfg.tcp_idle_ns : ft->cfg.udp_idle_ns;
    for (int list = 1; list >= 0; list--) {
        /* Lists run in last-seen order, so the first flow younger than the shortest timeout
         * ends the walk. The active list mixes TCP and UDP timeouts: flows between the two
         * are stepped over, a bounded number of them. */
        uint64_t stop_age = list == 1 ? ft->cfg.closed_linger_ns : min_idle;
        uint32_t i = ft->head[list];
        uint32_t looked = 0;
        while (i != FT_NIL && n < budget && looked < 4 * budget) {
            struct flow *f = &ft->flows[i];
            uint32_t next = f->lru_next;
            uint64_t age = now_ns > f->last_ts_ns ? now_ns - f->last_ts_ns : 0;
            looked++;
            if (age <= stop_age) break;
            if (age > flow_timeout(ft, f)) ft->expiring[n++] = i;
            i = next;
        }
    }
    end_expired(ft, n);
    return n;
}

static int cmp_flow_start(const void *a, const void *b, void *ctx)
{
    const struct flow *flows = ctx;
    const struct flow *x = &flows[*(const uint32_t *)a], *y = &flows[*(const uint32_t *)b];
    if (x->first_ts_ns != y->first_ts_ns) return x->first_ts_ns < y->first_ts_ns ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

void flow_table_flush(struct flow_table *ft)
{
    /* In start order, so that the records of every worker merge into one deterministic
     * sequence whatever the number of workers. */
    uint32_t *order = malloc((size_t)ft->nactive * sizeof(*order) + 1);
    if (order) {
        uint32_t n = 0;
        for (int list = 0; list < 2; list++)
            for (uint32_t i = ft->head[list]; i != FT_NIL; i = ft->flows[i].lru_next)
                order[n++] = i;
        qsort_r(order, n, sizeof(*order), cmp_flow_start, ft->flows);
        for (uint32_t i = 0; i < n; i++)
            flow_end(ft, &ft->flows[order[i]], FLOW_END_CAPTURE_END);
        free(order);
    }
    for (int list = 0; list < 2; list++) /* without memory for sorting: list order */
        while (ft->head[list] != FT_NIL)
            flow_end(ft, &ft->flows[ft->head[list]], FLOW_END_CAPTURE_END);
}
