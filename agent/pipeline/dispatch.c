/* dispatch.c - symmetric flow hashing of raw frames: which worker analyses which frame. */
#include "dispatch.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "../decode/cursor.h"
#include "../decode/decode.h"
#include "../flow/flow_table.h"
#include "../event/event.h"
#include "../trading/moldudp64.h"
#include "../util/symhash.h"

void dispatch_init(struct dispatcher *d, uint32_t nworkers, uint16_t vxlan, uint16_t geneve,
                   uint16_t gtpu)
{
    memset(d, 0, sizeof(*d));
    d->nworkers = nworkers ? nworkers : 1;
    if (d->nworkers > DISPATCH_MAX_WORKERS) d->nworkers = DISPATCH_MAX_WORKERS;
    /* A decoder without a reassembler (nothing allocated: the dispatcher can be copied): a
     * fragment inside a tunnel goes by its addresses. */
    struct decoder_config dc;
    decoder_config_default(&dc);
    dc.frag_slots = 0;
    dc.vxlan_port = vxlan;
    dc.geneve_port = geneve;
    dc.gtpu_port = gtpu;
    decoder_init(&d->dec, &dc);
    d->dec.first_fragment_whole = 1;
}

/* A flow's steering hash is the flow table's (flow_key_hash64 of the key the decoder gives
 * it): the fast path hands it to the worker with the frame, and the worker does not hash the
 * key again. Symmetric, so both directions meet. The address pair alone (ports and protocol
 * 0) steers what has no flow to go by. */
static uint64_t flow_hash(const uint8_t *a, const uint8_t *b, size_t alen, uint16_t pa, uint16_t pb,
                          uint8_t proto)
{
    if (alen == 4) return flow_hash_ipv4(a, pa, b, pb, proto);
    return flow_hash_parts(a, pa, b, pb, proto, 0, 0);
}

enum { KIND_FLOW, KIND_MD_SESSION };

void dispatch_share(struct dispatcher *d, struct dispatch_shared *shared)
{
    d->shared = shared;
}

/* A bucket seen first goes to the worker owning the fewest of its kind, then to the one handed
 * the fewest frames. Shared: the first reader to claim it decides. */
static uint32_t owner_claim(struct dispatcher *d, uint8_t *o, int kind)
{
    uint32_t *owned = d->shared ? d->shared->owned[kind] : d->owned[kind];
    uint32_t best = 0;
    for (uint32_t i = 1; i < d->nworkers; i++) {
        uint32_t oi = __atomic_load_n(&owned[i], __ATOMIC_RELAXED);
        uint32_t ob = __atomic_load_n(&owned[best], __ATOMIC_RELAXED);
        if (oi < ob || (oi == ob && d->handed[i] < d->handed[best])) best = i;
    }
    uint8_t none = 0, mine = (uint8_t)(best + 1);
    if (!d->shared) {
        *o = mine;
    } else if (!__atomic_compare_exchange_n(o, &none, mine, 0, __ATOMIC_RELAXED,
                                            __ATOMIC_RELAXED)) {
        return none - 1u; /* another reader claimed it first: none holds its owner */
    }
    __atomic_fetch_add(&owned[best], 1, __ATOMIC_RELAXED);
    return best;
}

/* The worker owning hash h's bucket (inline: every frame asks). The bucket comes from the high
 * half: the flow table takes its slots from the low one. */
static inline uint32_t owner_of(struct dispatcher *d, uint64_t h, int kind)
{
    uint8_t *tab = d->shared ? d->shared->bucket_owner : d->bucket_owner;
    uint8_t *o = &tab[(h >> 32) % DISPATCH_BUCKETS];
    uint8_t v = __atomic_load_n(o, __ATOMIC_RELAXED);
    return v ? v - 1u : owner_claim(d, o, kind);
}

/* Steering of fragments: the first fragment of a datagram to arrive decides its worker (the
 * flow's, when it carries the ports; else the address pair's) and the others follow it,
 * whatever order they come in, so reassembly always happens in one place. */
static uint32_t frag_pick(struct dispatcher *d, const uint8_t *addrs, size_t alen, uint32_t id,
                          int first, uint32_t flow_worker, uint64_t pair_h)
{
    uint8_t key[32] = {0};
    memcpy(key, addrs, 2 * alen);
    uint32_t slot = (uint32_t)(XXH3_64bits(key, sizeof(key)) ^ id) % DISPATCH_FRAG_SLOTS;
    struct frag_steer *s = &d->frags[slot];
    if (s->used && s->id == id && !memcmp(s->addrs, key, 32)) return s->worker;
    uint32_t w = first ? flow_worker : owner_of(d, pair_h, KIND_FLOW);
    if (!first) d->unsteered++;
    memcpy(s->addrs, key, 32);
    s->id = id;
    s->worker = (uint16_t)w;
    s->used = 1;
    return w;
}

static uint32_t pick_plain(struct dispatcher *d, const struct frame *f);

/* The slow way, for everything the fast one does not know: the decoder finds the innermost
 * flow (through tunnels, label stacks, extension headers), whose key then picks the worker. */
static uint32_t pick_decoded(struct dispatcher *d, const struct frame *f)
{
    struct packet pkt;
    decode_frame(&d->dec, f->linktype, f->data, f->caplen, f->wirelen, f->ts_ns, &pkt);
    if (!pkt.has_l3) /* not IP: no flow to keep together; spread by ordinal */
        return (uint32_t)(f->ordinal % d->nworkers);
    const struct flow_key *k = &pkt.key;
    size_t alen = k->family == 4 ? 4 : 16, skip = 16 - alen; /* IPv4 is ::ffff:a.b.c.d */
    uint32_t w = UINT32_MAX;
    if (k->proto == 17 && pkt.has_l4 && d->trading) {
        uint64_t session =
            trading_steer_key(d->trading, k->dst, k->dport, pkt.payload, pkt.payload_len);
        if (session) w = owner_of(d, mix64(session), KIND_MD_SESSION);
    }
    if (w == UINT32_MAX && pkt.frag != FRAG_LATER) w = owner_of(d, flow_key_hash64(k), KIND_FLOW);
    if (!pkt.frag) return w;
    /* A fragment inside a tunnel: its datagram follows the first fragment, as outside. */
    uint8_t addrs[32];
    memcpy(addrs, k->src + skip, alen);
    memcpy(addrs + alen, k->dst + skip, alen);
    return frag_pick(d, addrs, alen, pkt.frag_id, pkt.frag == FRAG_FIRST, w,
                     flow_hash(addrs, addrs + alen, alen, 0, 0, 0));
}

/* The UDP payload's length: the UDP length bounds it (frames may carry padding or a trailer).
 * udp: the UDP header, with avail (>= 8) bytes captured from there on. */
static size_t udp_payload_len(const uint8_t *udp, size_t avail)
{
    size_t ulen = ld_be16(udp + 4);
    return ulen < 8 ? 0 : (ulen > avail ? avail : ulen) - 8;
}

/* The UDP payload's first MOLD_HEADER_LEN bytes (where a MoldUDP64 session name starts), or
 * NULL when it is shorter. */
static inline const uint8_t *mold_header(const uint8_t *udp, size_t avail)
{
    struct cursor c = cur_make(udp + 8, udp_payload_len(udp, avail));
    return cur_take(&c, MOLD_HEADER_LEN);
}

/* Market data steered by its session (trading_steer_key), else 0. dst: the destination
 * address (16 bytes). */
static uint64_t md_key(const struct dispatcher *d, const uint8_t *dst, uint16_t dport,
                       const uint8_t *udp, size_t avail)
{
    return trading_steer_key(d->trading, dst, dport, udp + 8, udp_payload_len(udp, avail));
}

static inline __attribute__((always_inline)) uint64_t md_key_v4(const struct dispatcher *d,
                                                                const uint8_t *dst4, uint16_t dport,
                                                                const uint8_t *udp, size_t avail)
{
    const struct trading_config *tc = d->trading;
    if (!tc->npairs) /* no configured pair to look up by address: the inline way */
        return tc->enabled ? trading_mold_steer_key(tc, (dst4[0] & 0xf0) == 0xe0, dport, udp + 8,
                                                    udp_payload_len(udp, avail))
                           : 0;
    uint8_t dst[16];
    v4_mapped(dst, dst4); /* as the decoder keys it */
    return md_key(d, dst, dport, udp, avail);
}

/* A MoldUDP64 session name (10 bytes) against a remembered one, inline: memcmp of a length
 * the compiler does not round goes to libc, a call for every market-data frame. */
static inline int same_session(const uint8_t *a, const uint8_t *b)
{
    _Static_assert(sizeof(((struct md_steer *)0)->session) == 10, "session names: 10 bytes");
    uint64_t a8, b8;
    uint16_t a2, b2;
    memcpy(&a8, a, 8), memcpy(&b8, b, 8), memcpy(&a2, a + 8, 2), memcpy(&b2, b + 8, 2);
    return a8 == b8 && a2 == b2;
}

/* The fastest way, for nearly every frame of a trading link: Ethernet, one 802.1Q tag at
 * most, IPv4 without options or fragmentation, TCP or UDP (not to a tunnel port). It decides
 * exactly as pick_plain() would, with the fewest tests; anything else goes there. */
static inline __attribute__((always_inline)) uint32_t pick(struct dispatcher *d, struct frame *f)
{
    if (f->linktype != TT_LINK_ETHERNET) return pick_plain(d, f);
    struct cursor c = cur_make(f->data, f->caplen);
    const uint8_t *eth = cur_take(&c, 14);
    uint16_t etype = eth ? ld_be16(eth + 12) : 0;
    if (etype == 0x8100) {
        const uint8_t *tag = cur_take(&c, 4);
        etype = tag ? ld_be16(tag + 2) : 0;
    }
    const uint8_t *ip = etype == 0x0800 ? cur_take(&c, 20 + 8) : NULL; /* + TCP ports or UDP */
    if (!ip || ip[0] != 0x45 || (ld_be16(ip + 6) & 0x3fff) || (ip[9] != 6 && ip[9] != 17))
        return pick_plain(d, f);
    const uint8_t *l4 = ip + 20;
    uint16_t sport = ld_be16(l4), dport = ld_be16(l4 + 2);
    if (ip[9] == 17 && decode_udp_is_tunnel(&d->dec, sport, dport)) return pick_plain(d, f);
    uint64_t h = flow_hash_ipv4(ip + 12, sport, ip + 16, dport, ip[9]);
    f->key_hashed = 1;
    f->key_hash = (uint32_t)h;
    if (ip[9] == 17 && d->trading) {
        size_t avail = 8 + cur_left(&c);
        struct md_steer *e = &d->md_recent[h % DISPATCH_MD_RECENT];
        const uint8_t *mold = mold_header(l4, avail);
        if (e->owner && e->flow_hash == h && mold && same_session(mold, e->session))
            return e->owner - 1u;
        uint64_t session = md_key_v4(d, ip + 16, dport, l4, avail);
        if (session) {
            uint32_t w = owner_of(d, mix64(session), KIND_MD_SESSION);
            if (mold) { /* a session-steered packet is at least a MoldUDP64 header long */
                e->flow_hash = h;
                memcpy(e->session, mold, sizeof(e->session));
                e->owner = (uint8_t)(w + 1);
            }
            return w;
        }
    }
    return owner_of(d, h, KIND_FLOW);
}

uint32_t dispatch_pick(struct dispatcher *d, struct frame *f)
{
    f->key_hashed = 0;
    if (d->nworkers == 1) return 0;
    uint32_t w = pick(d, f);
    d->handed[w]++;
    return w;
}

/* The fast way, for plain TCP and UDP over IPv4/IPv6 (VLAN tags at most), which is nearly all
 * of a trading link; the same hash as pick_decoded() gives for the same flow. */
static uint32_t pick_plain(struct dispatcher *d, const struct frame *f)
{
    struct cursor c = cur_make(f->data, f->caplen);
    uint16_t etype = 0;
    switch (f->linktype) {
    case TT_LINK_ETHERNET:
        cur_skip(&c, 12);
        etype = cur_be16(&c);
        break;
    case TT_LINK_SLL:
        cur_skip(&c, 14);
        etype = cur_be16(&c);
        break;
    case TT_LINK_SLL2:
        etype = cur_be16(&c);
        cur_skip(&c, 18);
        break;
    case TT_LINK_NULL:
    case TT_LINK_LOOP:
        cur_skip(&c, 4);
        /* fall through */
    case TT_LINK_RAW:
    case TT_LINK_RAW_101:
    case 14:
    case TT_LINK_IPV4:
    case TT_LINK_IPV6: /* decide by the version nibble */
        etype = cur_has(&c, 1) && (c.p[0] >> 4) == 6 ? 0x86dd : 0x0800;
        break;
    default: /* FDDI, PPP, HDLC and link types not decoded: the decoder knows them */
        return pick_decoded(d, f);
    }
    while ((etype == 0x8100 || etype == 0x88a8 || etype == 0x9100) && !cur_failed(&c)) {
        cur_skip(&c, 2);
        etype = cur_be16(&c);
    }
    const uint8_t *addrs;
    size_t alen;
    uint8_t proto;
    uint32_t frag_id = 0;
    int fragment = 0, first_fragment = 0;
    if (etype == 0x0800 && cur_has(&c, 20)) {
        uint32_t ihl = (c.p[0] & 0x0f) * 4u;
        uint16_t fo = (uint16_t)((c.p[6] << 8) | c.p[7]);
        proto = c.p[9];
        addrs = c.p + 12;
        alen = 4;
        frag_id = (uint32_t)((c.p[4] << 8) | c.p[5]);
        fragment = (fo & 0x3fff) != 0;
        first_fragment = fragment && (fo & 0x1fff) == 0;
        if (ihl < 20 || (c.p[0] >> 4) != 4) return pick_decoded(d, f);
        cur_skip(&c, ihl);
    } else if (etype == 0x86dd && cur_has(&c, 40)) {
        proto = c.p[6];
        addrs = c.p + 8;
        alen = 16;
        cur_skip(&c, 40);
        if (proto == 44 && cur_has(&c, 8)) { /* fragment header right after the base header */
            uint16_t offm = (uint16_t)((c.p[2] << 8) | c.p[3]);
            frag_id =
                (uint32_t)c.p[4] << 24 | (uint32_t)c.p[5] << 16 | (uint32_t)c.p[6] << 8 | c.p[7];
            fragment = (offm & 0xfff9) != 0;
            first_fragment = fragment && (offm & 0xfff8) == 0;
            proto = c.p[0];
            cur_skip(&c, 8);
        }
    } else {
        return pick_decoded(d, f);
    }
    uint16_t sport = 0, dport = 0;
    int have_ports = (proto == 6 || proto == 17) && cur_has(&c, 4) && (!fragment || first_fragment);
    if (have_ports) {
        sport = (uint16_t)((c.p[0] << 8) | c.p[1]);
        dport = (uint16_t)((c.p[2] << 8) | c.p[3]);
    }
    int tunnel = proto == 4 || proto == 41 || proto == 47 ||
                 (proto == 17 && have_ports && decode_udp_is_tunnel(&d->dec, sport, dport));
    /* A protocol without ports over IPv4 (ICMP, ESP...): its flow key is the address pair and
     * the protocol, which every fragment carries. IPv6 may have extension headers first. */
    int portless = alen == 4 && proto != 6 && proto != 17 && !tunnel;
    if (portless) return owner_of(d, flow_hash(addrs, addrs + alen, alen, 0, 0, proto), KIND_FLOW);
    if (!fragment && (!have_ports || tunnel))
        return pick_decoded(d, f); /* extension headers, ICMPv6, tunnels, ... */
    uint64_t session = 0;
    if (proto == 17 && have_ports && !tunnel && d->trading && cur_has(&c, 8)) {
        session = alen == 4 ? md_key_v4(d, addrs + 4, dport, c.p, cur_left(&c))
                            : md_key(d, addrs + 16, dport, c.p, cur_left(&c));
    }
    uint32_t w = 0;
    if (session)
        w = owner_of(d, mix64(session), KIND_MD_SESSION);
    else if (have_ports && !tunnel)
        w = owner_of(d, flow_hash(addrs, addrs + alen, alen, sport, dport, proto), KIND_FLOW);
    else if (first_fragment) /* a tunnel's (or IPv6 extension headers'): as far as it goes */
        w = pick_decoded(d, f);
    if (!fragment) return w;
    uint64_t pair_h = flow_hash(addrs, addrs + alen, alen, 0, 0, 0);
    return frag_pick(d, addrs, alen, frag_id, first_fragment, w, pair_h);
}

/* ---- the dispatcher thread ---------------------------------------------------------------- */

int dispatch_thread_init(struct dispatch_thread *x, const struct tt_config *cfg,
                         const struct capture_ops *ops, struct capture *cap,
                         struct frame_ring *rings, uint32_t nworkers, int live,
                         struct burst_set *bursts)
{
    memset(x, 0, sizeof(*x));
    struct capture_stats cs;
    ops->stats(cap, &cs);
    x->ops = ops;
    x->cap = cap;
    x->rings = rings;
    x->nworkers = nworkers;
    x->by_ref = cs.frames_stable;
    x->live = live && !cfg->overflow_block;
    x->from_union = ops == &capture_union_ops;
    dispatch_init(&x->d, nworkers, cfg->decode.vxlan_port, cfg->decode.geneve_port,
                  cfg->decode.gtpu_port);
    x->d.trading = &cfg->trading;
    x->mark_interval_ns = cfg->baseline.interval_ns;
    if (bursts && bursts->n) {
        x->bursts = bursts;
        if (spsc_ring_init(&x->events, cfg->event_ring, sizeof(struct event))) return -ENOMEM;
    }
    return 0;
}

void dispatch_thread_fini(struct dispatch_thread *x)
{
    if (x->bursts) spsc_ring_fini(&x->events);
    x->bursts = NULL;
}

/* Hands the workers what is queued and says how far the frames went: a worker may be waiting
 * for them, and the sink's merge for a watermark. */
static void publish_rings(struct dispatch_thread *x)
{
    for (uint32_t k = 0; k < x->nworkers; k++)
        frame_ring_publish(&x->rings[k]);
    atomic_store_explicit(&x->dispatched, x->last_pushed, memory_order_release);
}

static void publish_before_burst(void *ctx)
{
    struct dispatch_thread *x = ctx;
    publish_rings(x);
    uint64_t order = x->burst_order; /* its events are all out before the burst's frame */
    if (x->order) reader_order_blocked(x->order, x->reader, order);
    atomic_store_explicit(&x->events_wm, order ? order - 1 : 0, memory_order_release);
}

static void emit_burst(struct dispatch_thread *x, uint32_t det, const struct burst *b,
                       uint64_t order)
{
    struct event *e = spsc_ring_reserve(&x->events), dropped;
    x->burst_order = order;
    if (!e && !x->live) /* offline: the sink's merge may wait for the workers to pass order */
        e = event_reserve_waiting(&x->events, &x->waiting_sink, x->sink_wake, publish_before_burst,
                                  x);
    if (!e) x->events_full++;
    struct event *out = e ? e : &dropped;
    memset(out, 0, offsetof(struct event, u));
    out->frame = order;
    out->type = EV_BURST_MICRO;
    out->severity = (uint8_t)event_type_severity(EV_BURST_MICRO);
    out->worker = x->nworkers;
    burst_describe(&x->bursts->det[det], b, x->bursts->ifname[det], out, &x->burst_totals);
    atomic_store_explicit(&x->bursts_seen, x->burst_totals.bursts, memory_order_relaxed);
    if (e) spsc_ring_commit(&x->events);
}

static void count_ring_full(struct dispatch_thread *x, const struct frame *f)
{
    atomic_store_explicit(&x->ring_full,
                          atomic_load_explicit(&x->ring_full, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    if (x->from_union || x->order) {
        _Atomic uint64_t *by = &x->ring_full_by_input[f->input];
        atomic_store_explicit(by, atomic_load_explicit(by, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    }
}

/* One frame to its worker's ring: offline it waits for room, live a full ring drops it. */
static void push_frame(struct dispatch_thread *x, struct frame *f)
{
    uint32_t w = dispatch_pick(&x->d, f);
    int rc, tries = 0;
    while ((rc = frame_ring_push(&x->rings[w], f, x->by_ref)) == -ENOSPC) {
        /* live frames cannot wait (the kernel would drop them instead): what is queued is
         * published, in case the worker has room by then, and the frame is dropped */
        if (x->live && tries++) {
            count_ring_full(x, f);
            break;
        }
        publish_rings(x); /* the worker needs what is queued to make room */
        if (x->order) reader_order_blocked(x->order, x->reader, f->ordinal);
        if (!x->live) sched_yield();
    }
    if (rc == -EMSGSIZE) { /* larger than half a ring: keep its head */
        struct frame cut = *f;
        cut.caplen = 65536;
        frame_ring_push(&x->rings[w], &cut, x->by_ref);
    }
    x->last_pushed = f->ordinal;
}

/* Frame f begins a baseline interval: every worker hears of it before f (its ticks then come
 * at the frame they would come at with one worker). */
static void push_time_marks(struct dispatch_thread *x, const struct frame *f)
{
    static const uint8_t none;
    struct frame mark = {
        .ts_ns = f->ts_ns, .ordinal = f->ordinal, .data = &none, .linktype = FRAME_TIME_MARK};
    for (uint32_t w = 0; w < x->nworkers; w++)
        while (frame_ring_push(&x->rings[w], &mark, x->by_ref) == -ENOSPC) {
            if (x->live) break; /* that worker's interval ends at its next frame instead */
            publish_rings(x);
            if (x->order) reader_order_blocked(x->order, x->reader, f->ordinal);
            sched_yield();
        }
    x->next_mark_ns = (f->ts_ns / x->mark_interval_ns + 1) * x->mark_interval_ns;
}

/* Frames handed out between two publishes at most. What is handed out is published when the
 * source is read dry, before it may wait (a short burst, for a source that cannot say), so
 * under light traffic a worker wakes once per wakeup of the source, not once per burst. */
#define DISPATCH_PUBLISH_FRAMES 1024
#define DISPATCH_PUBLISH_MIN 32

/* A reader of several with all it read published: no low mark, and its events are out up to
 * the counter (what it reads next is numbered from there on). */
static void idle_mark(struct dispatch_thread *x)
{
    reader_order_published(x->order, x->reader);
    uint64_t next = atomic_load(&x->order->next);
    atomic_store_explicit(&x->events_wm, next - 1, memory_order_release);
}

/* A reader of several numbers its burst from the shared counter (reader_order.h). */
static void number_burst(struct dispatch_thread *x, struct frame *frames, int n)
{
    uint64_t base = reader_order_reserve(x->order, x->reader, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        frames[i].ordinal = base + (uint64_t)i;
        frames[i].input = x->input;
    }
}

static void publish_burst(struct dispatch_thread *x, uint64_t last_ordinal)
{
    publish_rings(x);
    x->unpublished = 0;
    if (x->order)
        idle_mark(x);
    else
        atomic_store_explicit(&x->events_wm, last_ordinal, memory_order_release);
}

void *dispatch_thread_main(void *arg)
{
    struct dispatch_thread *x = arg;
    struct frame frames[DISPATCH_BURST];
    char err[512];
    uint64_t last = 0;
    int (*nowait)(struct capture *, struct frame *, int, char *, size_t) = x->ops->rx_nowait;
    for (;;) {
        if (x->stop && atomic_load_explicit(x->stop, memory_order_relaxed)) break;
        int n = nowait ? nowait(x->cap, frames, DISPATCH_BURST, err, sizeof(err)) : -EAGAIN;
        if (n == -EAGAIN) {
            /* A few frames that trickled in as the last batch was read wait for the next
             * batch (or the source's wait to end): a worker that just ran dry is not woken
             * for them. */
            if (x->unpublished >= DISPATCH_PUBLISH_MIN || (x->order && x->unpublished))
                publish_burst(x, last); /* a reader's low mark holds every worker back */
            n = x->ops->rx_burst(x->cap, frames, DISPATCH_BURST, err, sizeof(err));
            if (n == -EAGAIN) {
                if (x->unpublished)
                    publish_burst(x, last);
                else if (x->order)
                    idle_mark(x); /* the sink's merge must not wait for it */
                continue;
            }
        }
        if (n < 0) {
            fprintf(stderr, "ticktap: %s\n", err);
            x->errors++;
            continue;
        }
        if (n == 0) break;
        if (x->order) number_burst(x, frames, n);
        for (int i = 0; i < n; i++) {
            struct burst b;
            uint32_t det = x->from_union ? x->burst_of[frames[i].input] : 0;
            if (x->bursts &&
                burst_feed(&x->bursts->det[det], frames[i].ts_ns, frames[i].wirelen, &b))
                emit_burst(x, det, &b, frames[i].ordinal);
            if (x->mark_interval_ns && frames[i].ts_ns >= x->next_mark_ns)
                push_time_marks(x, &frames[i]);
            push_frame(x, &frames[i]);
        }
        last = frames[n - 1].ordinal;
        x->unpublished += (uint32_t)n;
        if ((!nowait && n < DISPATCH_BURST) || x->unpublished >= DISPATCH_PUBLISH_FRAMES)
            publish_burst(x, last);
    }
    struct burst b;
    for (uint32_t det = 0; x->bursts && det < x->bursts->n; det++)
        if (burst_finish(&x->bursts->det[det], &b)) emit_burst(x, det, &b, EVENT_ORDER_END);
    atomic_store_explicit(&x->events_wm, EVENT_ORDER_END, memory_order_release);
    publish_rings(x);
    if (x->order) { /* the workers sleeping on their rings must hear of the end */
        reader_order_done(x->order, x->reader);
        for (uint32_t w = 0; w < x->nworkers; w++)
            sem_post(x->rings[w].bell);
    }
    atomic_store_explicit(&x->done, 1, memory_order_release);
    publish_rings(x); /* wakes the workers that sleep on their rings: there is no more */
    return NULL;
}
