/* trading.c - the trading analyzers' core: recognising a flow's protocol, TCP sessions and
 * their reassembly, housekeeping, life cycle (see trading.h; the sessions of each protocol are
 * fix_session.c, ouch_session.c and md_session.c). */
#include "trading.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "../decode/cursor.h"
#include "../decode/decode.h"
#include "../flow/flow_table.h"
#include "../util/table_mem.h"
#include "fix.h"
#include "mdp3.h"
#include "moldudp64.h"
#include "soupbintcp.h"
#include "trading_internal.h"

/* ---------------------------------------------------------------------------------------- */
/* TCP sessions */

static uint32_t app_alloc(struct trading *t)
{
    uint32_t i = t->free_app;
    if (i == TRADING_NONE) return i;
    struct tcp_app *a = &t->apps[i];
    t->free_app = a->next_free;
    memset(a, 0, sizeof(*a));
    a->stats = TRADING_NONE;
    a->server_dir = -1;
    uint8_t *buf = t->bufs + (size_t)i * 2 * t->cfg->stream_buffer;
    stream_init(&a->dir[0], buf, t->cfg->stream_buffer);
    stream_init(&a->dir[1], buf + t->cfg->stream_buffer, t->cfg->stream_buffer);
    return i;
}

static void app_free(struct trading *t, uint32_t i)
{
    t->apps[i].next_free = t->free_app;
    t->free_app = i;
}

static int looks_like_fix(const struct packet *pkt)
{
    return pkt->payload_len >= 5 && !memcmp(pkt->payload, "8=FIX", 5);
}

static void stream_cfg_for(struct trading *t, struct tcp_ctx *c, struct stream_cfg *sc)
{
    sc->hole_timeout_ns = t->cfg->hole_timeout_ns;
    sc->deliver = c->a->kind == APP_SOUP ? soup_deliver : fix_deliver;
    sc->ctx = c;
    sc->ctr = &t->st->stream;
}

void trading_tcp(struct trading *t, struct flow *f, int dir, const struct packet *pkt)
{
    if (f->app_kind == APP_NONE || !t->cfg->enabled) return;
    if (f->app_kind == APP_UNKNOWN) {
        const struct trading_config *cfg = t->cfg;
        uint8_t kind = APP_UNKNOWN;
        if (port_in(cfg->fix_ports, pkt->key.sport) || port_in(cfg->fix_ports, pkt->key.dport))
            kind = APP_FIX;
        else if (port_in(cfg->soup_ports, pkt->key.sport) ||
                 port_in(cfg->soup_ports, pkt->key.dport))
            kind = APP_SOUP;
        else if (cfg->detect && looks_like_fix(pkt))
            kind = APP_FIX;
        else if (cfg->detect && pkt->payload_len == pkt->tcp.seglen &&
                 soup_plausible(pkt->payload, pkt->payload_len))
            kind = APP_SOUP;
        if (kind == APP_UNKNOWN) {
            if (pkt->payload_len && ++f->app_tries >= 4) f->app_kind = APP_NONE;
            return;
        }
        uint32_t i = app_alloc(t);
        if (i == TRADING_NONE) {
            t->counters[TT_C_TRADING_SESSIONS_FULL]++;
            f->app_kind = APP_NONE;
            return;
        }
        t->apps[i].kind = kind;
        f->app = i;
        f->app_kind = kind;
    }
    struct tcp_app *a = &t->apps[f->app];
    struct tcp_ctx c = {t, f, a, dir};
    struct stream_cfg sc;
    stream_cfg_for(t, &c, &sc);
    stream_segment(&a->dir[dir], &sc, pkt->tcp.seq, pkt->tcp.flags, pkt->payload, pkt->payload_len,
                   pkt->tcp.seglen, pkt->ts_ns);
    if (pkt->tcp.flags & TH_FIN) stream_finish(&a->dir[dir], &sc, pkt->ts_ns);
    if (pkt->tcp.flags & TH_RST) {
        for (int d = 0; d < 2; d++) {
            c.dir = d;
            stream_finish(&a->dir[d], &sc, pkt->ts_ns);
        }
    }
}

void trading_flow_end(struct trading *t, struct flow *f)
{
    if (f->app_kind != APP_FIX && f->app_kind != APP_SOUP) return;
    struct tcp_app *a = &t->apps[f->app];
    for (int d = 0; d < 2; d++) {
        struct tcp_ctx c = {t, f, a, d};
        struct stream_cfg sc;
        stream_cfg_for(t, &c, &sc);
        stream_finish(&a->dir[d], &sc, f->last_ts_ns);
    }
    app_free(t, f->app);
    f->app_kind = APP_UNKNOWN;
}

void trading_udp(struct trading *t, struct flow *f, int dir, const struct packet *pkt)
{
    (void)dir;
    if (f->app_kind == APP_NONE || !t->cfg->enabled || !pkt->has_l4 || !pkt->payload_len) return;
    if (f->app_kind == APP_UNKNOWN) {
        const struct trading_config *c = t->cfg;
        uint16_t dport = pkt->key.dport;
        struct mold_packet mp;
        struct mdp3_packet dp;
        if (port_in(c->mold_ports, dport) ||
            (c->detect && !mold_parse(pkt->payload, pkt->payload_len, &mp) && mp.count &&
             mp.count != MOLD_END_OF_SESSION && itch_plausible(&mp)))
            f->app_kind = APP_MOLD;
        else if (port_in(c->mdp3_ports, dport) ||
                 (c->detect && !mdp3_parse(pkt->payload, pkt->payload_len, &dp)))
            f->app_kind = APP_MDP3;
        else if (++f->app_tries >= 4)
            f->app_kind = APP_NONE;
        if (f->app_kind == APP_UNKNOWN || f->app_kind == APP_NONE) return;
        f->app = TRADING_NONE; /* no session cached yet */
    }
    if (f->app_kind == APP_MOLD)
        md_mold(t, f, pkt);
    else if (f->app_kind == APP_MDP3)
        md_mdp3(t, f, pkt);
}

static int cmp_md_flow(const void *a, const void *b, void *ctx)
{
    const struct md_session *md = ctx;
    uint64_t x = md[*(const uint32_t *)a].last_flow_id, y = md[*(const uint32_t *)b].last_flow_id;
    return x < y ? -1 : x > y;
}

/* The sessions with open holes, in the order of the flow their events name: what several
 * workers say at one frame then merges into the order one worker gives. */
static uint32_t md_with_holes(struct trading *t)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < t->nmd_live; i++)
        if (t->md[t->md_live[i]].nholes) t->md_order[n++] = t->md_live[i];
    qsort_r(t->md_order, n, sizeof(*t->md_order), cmp_md_flow, t->md);
    return n;
}

void trading_housekeep(struct trading *t, uint64_t now_ns)
{
    if (!t->md) return;
    for (uint32_t i = 0, n = md_with_holes(t); i < n; i++)
        md_expire(t, &t->md[t->md_order[i]], now_ns);
}

/* At the end: every order still pending was never answered. */
void trading_flush(struct trading *t, uint64_t now_ns)
{
    (void)now_ns;
    if (!t->md) return;
    for (uint32_t i = 0, n = md_with_holes(t); i < n; i++)
        while (t->md[t->md_order[i]].nholes)
            md_hole_lost(t, &t->md[t->md_order[i]], 0);
    trading_orders_unanswered(t, t->orders_hot, ORDERS_HOT, &t->hot_pending);
    trading_orders_unanswered(t, t->orders, t->orders_mask + 1, &t->orders_pending);
}

void trading_set_timezone(const struct trading_config *cfg)
{
    if (cfg->itch_timezone[0]) {
        setenv("TZ", cfg->itch_timezone, 1);
        tzset();
    }
}

int trading_init(struct trading *t, const struct trading_config *cfg, struct trading_stats *st,
                 uint64_t *counters, const struct trading_emit *emit)
{
    memset(t, 0, sizeof(*t));
    t->cfg = cfg;
    t->st = st;
    t->counters = counters;
    t->emit = *emit;
    t->free_app = TRADING_NONE;
    if (!cfg->enabled) return 0;
    uint32_t orders = 64;
    while (orders < cfg->pending_orders)
        orders <<= 1;
    t->orders_mask = orders - 1;
    /* calloc'd pages stay untouched (not resident) until sessions use them */
    t->apps = table_zalloc(cfg->max_sessions, sizeof(*t->apps));
    t->bufs = table_zalloc(cfg->max_sessions, 2 * (size_t)cfg->stream_buffer);
    t->md = table_calloc(cfg->md_sessions, sizeof(*t->md)); /* hash tables: probed first */
    t->md_live = table_zalloc(cfg->md_sessions, sizeof(*t->md_live));
    t->md_order = table_zalloc(cfg->md_sessions, sizeof(*t->md_order));
    t->orders = table_calloc(orders, sizeof(*t->orders));
    if (orders >= 4 * ORDERS_HOT) t->orders_hot = table_zalloc(ORDERS_HOT, sizeof(*t->orders_hot));
    t->scratch = table_zalloc(1, sizeof(*t->scratch));
    if (!t->apps || !t->bufs || !t->md || !t->md_live || !t->md_order || !t->orders ||
        (orders >= 4 * ORDERS_HOT && !t->orders_hot) || !t->scratch) {
        trading_fini(t);
        return -ENOMEM;
    }
    for (uint32_t i = cfg->max_sessions; i-- > 0;)
        app_free(t, i);
    return 0;
}

struct trading *trading_new(const struct trading_config *cfg, struct trading_stats *st,
                            uint64_t *counters, const struct trading_emit *emit)
{
    struct trading *t = malloc(sizeof(*t));
    if (t && trading_init(t, cfg, st, counters, emit)) { /* it freed what it had */
        free(t);
        t = NULL;
    }
    return t;
}

void trading_free(struct trading *t)
{
    if (!t) return;
    trading_fini(t);
    free(t);
}

void trading_reset(struct trading *t)
{
    const struct trading_config *cfg = t->cfg;
    if (!cfg->enabled) return;
    memset(t->apps, 0, cfg->max_sessions * sizeof(*t->apps));
    memset(t->md, 0, cfg->md_sessions * sizeof(*t->md));
    memset(t->orders, 0, ((size_t)t->orders_mask + 1) * sizeof(*t->orders));
    if (t->orders_hot) memset(t->orders_hot, 0, ORDERS_HOT * sizeof(*t->orders_hot));
    memset(t->scratch, 0, sizeof(*t->scratch));
    t->free_app = TRADING_NONE;
    t->nmd_live = t->hot_pending = t->orders_pending = 0;
    t->day_start_ns = t->day_end_ns = 0;
    t->pkt = NULL;
    t->flow = NULL;
    for (uint32_t i = cfg->max_sessions; i-- > 0;)
        app_free(t, i);
}

void trading_fini(struct trading *t)
{
    table_release(t->apps);
    table_release(t->bufs);
    table_free(t->md);
    table_release(t->md_live);
    table_release(t->md_order);
    table_free(t->orders);
    table_release(t->orders_hot);
    table_release(t->scratch);
    t->apps = NULL;
    t->bufs = NULL;
    t->md = NULL;
    t->md_live = NULL;
    t->md_order = NULL;
    t->orders = NULL;
    t->orders_hot = NULL;
    t->scratch = NULL;
}
