/* worker.c - the per-worker analysis loop (DPDK l3fwd style: burst in, process, release). */
#include "worker.h"

#include <errno.h>
#include <stdlib.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Event types raised by each TCP analysis flag (tcp_analysis.h order); EV_MAX: not an
 * event of its own (the *_ack flags qualify other segments, reused ports starts a flow). */
static const enum event_type flag_event[TA_BIT_MAX] = {
    [TA_BIT_RETRANSMISSION] = EV_TCP_RETRANSMISSION,
    [TA_BIT_FAST_RETRANSMISSION] = EV_TCP_FAST_RETRANSMISSION,
    [TA_BIT_SPURIOUS_RETRANSMISSION] = EV_TCP_SPURIOUS_RETRANSMISSION,
    [TA_BIT_OUT_OF_ORDER] = EV_TCP_OUT_OF_ORDER,
    [TA_BIT_DUPLICATE_ACK] = EV_TCP_DUPLICATE_ACK,
    [TA_BIT_LOST_SEGMENT] = EV_TCP_LOST_SEGMENT,
    [TA_BIT_ACK_LOST_SEGMENT] = EV_TCP_ACK_LOST_SEGMENT,
    [TA_BIT_ZERO_WINDOW] = EV_TCP_ZERO_WINDOW,
    [TA_BIT_ZERO_WINDOW_PROBE] = EV_TCP_ZERO_WINDOW_PROBE,
    [TA_BIT_ZERO_WINDOW_PROBE_ACK] = EV_MAX,
    [TA_BIT_WINDOW_FULL] = EV_TCP_WINDOW_FULL,
    [TA_BIT_WINDOW_UPDATE] = EV_TCP_WINDOW_UPDATE,
    [TA_BIT_KEEP_ALIVE] = EV_TCP_KEEP_ALIVE,
    [TA_BIT_KEEP_ALIVE_ACK] = EV_MAX,
    [TA_BIT_REUSED_PORTS] = EV_MAX,
};

/* Anomalies that rank a flow among the "worst flows". */
#define WORST_FLAGS                                                                                \
    (TA(RETRANSMISSION) | TA(FAST_RETRANSMISSION) | TA(SPURIOUS_RETRANSMISSION) |                  \
     TA(OUT_OF_ORDER) | TA(DUPLICATE_ACK) | TA(LOST_SEGMENT) | TA(ACK_LOST_SEGMENT) |              \
     TA(ZERO_WINDOW) | TA(WINDOW_FULL))

/* While it waits on a full event ring: the sink's merge can take every event before the frame
 * in hand. */
static void publish_progress(void *ctx)
{
    struct worker *w = ctx;
    atomic_store_explicit(&w->watermark, w->cur_frame ? w->cur_frame - 1 : 0, memory_order_release);
}

/* Reserves an event slot; waits when the policy says so, else counts the drop. */
static struct event *event_new(struct worker *w, enum event_type type, uint64_t order)
{
    struct event *e = spsc_ring_reserve(&w->events);
    if (!e && !w->cfg->overflow_block) {
        w->st.counters[TT_C_EVENT_RING_FULL]++;
        return NULL;
    }
    if (!e) /* backpressure: offline input can wait for the sink */
        e = event_reserve_waiting(&w->events, &w->waiting_sink, w->sink_wake, publish_progress, w);
    memset(e, 0, offsetof(struct event, u));
    e->frame = order;
    e->sub = w->cur_sub;
    e->type = (uint16_t)type;
    e->severity = (uint8_t)event_type_severity(type);
    e->worker = (uint32_t)w->id;
    return e;
}

static void fill_flow(struct worker *w, struct event *e, const struct flow *f, int dir, uint64_t ts)
{
    e->ts_ns = ts;
    e->dir = (uint8_t)dir;
    e->flow_id = f->id;
    e->key = f->key;
    if (f->key.tunnel_kind) e->tun = flow_tunnel(&w->flows, f)[dir];
}

static void emit_flow_record(struct worker *w, struct flow *f, enum flow_end_reason why,
                             uint64_t order)
{
    const struct tcp_conv *c = &f->tcp;
    if (f->key.proto == 6 && c->state == TCP_ST_SYN_SENT && c->dir[0].syn_count > 0 &&
        !c->rejected) {
        struct event *e = event_new(w, EV_TCP_HANDSHAKE_FAILED, order);
        if (e) {
            fill_flow(w, e, f, 0, f->last_ts_ns);
            e->u.hs_fail.reason = HS_FAIL_SYN_UNANSWERED;
            e->u.hs_fail.syn_attempts = c->dir[0].syn_count;
            spsc_ring_commit(&w->events);
        }
    }
    const struct flow_features *pf = flow_feat(&w->flows, f);
    if (pf->payload_duplicates) { /* the flow's finding, before its record */
        struct event *e = event_new(w, EV_PAYLOAD_DUPLICATE, order);
        if (e) {
            fill_flow(w, e, f, 0, f->last_ts_ns);
            e->u.payload_dup.first_frame = pf->payload_dup_first_frame;
            e->u.payload_dup.count = pf->payload_duplicates;
            e->u.payload_dup.window_ns = (uint32_t)w->cfg->dedup.payload_window_ns;
            spsc_ring_commit(&w->events);
        }
    }
    struct event rec;
    memset(&rec, 0, sizeof(rec));
    rec.frame = order;
    rec.sub = w->cur_sub;
    rec.type = EV_FLOW;
    rec.severity = SEV_INFO;
    rec.worker = (uint32_t)w->id;
    fill_flow(w, &rec, f, 0, f->last_ts_ns);
    struct flow_record *r = &rec.u.flow;
    r->first_ts_ns = f->first_ts_ns;
    r->last_ts_ns = f->last_ts_ns;
    for (int d = 0; d < 2; d++) {
        r->pkts[d] = f->pkts[d];
        r->bytes[d] = f->bytes[d];
        r->rtt_min_ns[d] = c->dir[d].rtt_min_ns;
        r->rtt_max_ns[d] = c->dir[d].rtt_max_ns;
        r->rtt_n[d] = c->dir[d].rtt_n;
    }
    const struct flow_features *ff = flow_feat(&w->flows, f);
    for (int d = 0; d < 2; d++)
        flow_features_summary(ff, d, f->pkts[d], f->bytes[d], c->dir[d].rtt_n, c->dir[d].rtt_min_ns,
                              c->dir[d].rtt_max_ns, &r->dirs[d]);
    memcpy(r->anomaly_counts, ff->anomalies, sizeof(r->anomaly_counts));
    r->payload_duplicates = ff->payload_duplicates;
    r->handshake_ns = c->handshake_done ? c->ts_first_rtt : 0;
    r->anomalies = f->anomalies;
    r->tcp_state = c->state;
    r->end_reason = (uint8_t)why;
    if (f->key.tunnel_kind) memcpy(r->tun, flow_tunnel(&w->flows, f), sizeof(r->tun));
    stats_offer_worst(&w->st, &rec);
    talker_add(&w->st.talkers, f->key.src, f->bytes[0] + f->bytes[1], f->pkts[0] + f->pkts[1]);
    talker_add(&w->st.talkers, f->key.dst, f->bytes[0] + f->bytes[1], f->pkts[0] + f->pkts[1]);
    struct event *e = event_new(w, EV_FLOW, order);
    if (e) {
        memcpy(e, &rec, sizeof(rec));
        spsc_ring_commit(&w->events);
    }
}

/* Flow-table end callback: every flow leaves through here. */
static void on_flow_end(void *ctx, struct flow *f, enum flow_end_reason why)
{
    struct worker *w = ctx;
    w->st.flows_ended++;
    if (why == FLOW_END_EVICTED) {
        w->st.flows_evicted++;
        w->st.counters[TT_C_FLOW_EVICTED]++;
    }
    if (why == FLOW_END_CAPTURE_END) w->cur_sub = f->first_ts_ns;
    trading_flow_end(w->trading, f); /* its last messages come before the flow record */
    emit_flow_record(w, f, why, why == FLOW_END_CAPTURE_END ? EVENT_ORDER_END : w->cur_frame);
    tcp_conv_release(&f->tcp, &w->segs);
    /* Its connection may go on after a gap (Wireshark would judge it as one): remember where
     * its analysis stood. Not after a port reuse (a new connection) or the capture's end. */
    if (f->key.proto == 6 &&
        (why == FLOW_END_IDLE || why == FLOW_END_CLOSED || why == FLOW_END_EVICTED))
        if (flow_recall_put(&w->recall, f)) w->st.counters[TT_C_TCP_RECALL_FORGOTTEN]++;
}

/* The trading analyzers reserve event slots through these. */
static struct event *trading_reserve(void *ctx, enum event_type type)
{
    struct worker *w = ctx;
    return event_new(w, type, w->cur_frame);
}

static void trading_commit(void *ctx)
{
    struct worker *w = ctx;
    spsc_ring_commit(&w->events);
}

/* What a worker holds besides its counters (which the trading analyzers write into) and its
 * event ring: the analysis state worker_reset() starts afresh. */
static int worker_state_init(struct worker *w)
{
    const struct tt_config *cfg = w->cfg;
    const struct trading_emit emit = {trading_reserve, trading_commit, w, &w->flows};
    int rc;
    if ((rc = decoder_init(&w->dec, &cfg->decode)) ||
        (rc = flow_table_init(&w->flows, &cfg->flow, on_flow_end, w)) ||
        (rc = tcp_seg_pool_init(&w->segs, cfg->tcp_seg_pool, cfg->tcp_seg_per_dir)) ||
        (rc = flow_recall_init(&w->recall, cfg->tcp_recall)) ||
        (rc = recent_digests_init(&w->dup_frames, cfg->dedup.table, cfg->dedup.window_ns)) ||
        (rc = (w->trading = trading_new(&cfg->trading, &w->st.trading, w->st.counters, &emit))
                  ? 0
                  : -ENOMEM))
        return rc;
    w->dup_frames.replaced_live = &w->st.counters[TT_C_DEDUP_TABLE_FULL];
    w->tick_index = UINT64_MAX;
    w->tick_next_ns = 0;
    atomic_store(&w->watermark, 0);
    atomic_store(&w->done, 0);
    return 0;
}

static void worker_state_fini(struct worker *w)
{
    trading_free(w->trading);
    w->trading = NULL;
    decoder_fini(&w->dec);
    flow_table_fini(&w->flows);
    tcp_seg_pool_fini(&w->segs);
    flow_recall_fini(&w->recall);
    recent_digests_fini(&w->dup_frames);
}

int worker_init(struct worker *w, int id, const struct tt_config *cfg)
{
    memset(w, 0, sizeof(*w));
    w->id = id;
    w->cfg = cfg;
    int rc;
    if ((rc = stats_init(&w->st, cfg->talkers_max, cfg->top_n)) ||
        (rc = spsc_ring_init(&w->events, cfg->event_ring, sizeof(struct event))) ||
        (rc = worker_state_init(w))) {
        worker_fini(w);
        return rc;
    }
    return 0;
}

int worker_reset(struct worker *w)
{
    const struct tt_config *cfg = w->cfg;
    while (spsc_ring_peek(&w->events)) /* the ring is kept, emptied: the largest allocation */
        spsc_ring_pop(&w->events);
    /* Each table is cleared where it was used, not freed and made again: under ASan a fresh
     * allocation per fuzz input cost more than the input's analysis. */
    decoder_reset(&w->dec);
    flow_table_reset(&w->flows);
    tcp_seg_pool_reset(&w->segs);
    flow_recall_reset(&w->recall);
    recent_digests_reset(&w->dup_frames);
    trading_reset(w->trading);
    stats_reset(&w->st);
    if (w->burst)
        burst_init(w->burst, cfg->burst_window_ns, cfg->burst_link_mbps * 1000000ull,
                   cfg->burst_fraction_pct / 100.0);
    w->cur_frame = w->cur_sub = w->cur_ts = w->next_housekeep_ns = 0;
    w->tick_index = UINT64_MAX;
    w->tick_next_ns = 0;
    w->src_err[0] = 0;
    w->src_failed = 0;
    w->src_errors = 0;
    atomic_store(&w->watermark, 0);
    atomic_store(&w->done, 0);
    return 0;
}

static void emit_burst(struct worker *w, const struct burst *b, uint64_t order)
{
    struct event *e = event_new(w, EV_BURST_MICRO, order);
    struct event dropped; /* a full ring still counts the burst */
    burst_describe(w->burst, b, w->burst_ifname, e ? e : &dropped, &w->st.trading.bursts);
    if (e) spsc_ring_commit(&w->events);
}

void worker_fini(struct worker *w)
{
    w->burst = NULL;
    worker_state_fini(w);
    spsc_ring_fini(&w->events);
    stats_fini(&w->st);
}

static void emit_tcp(struct worker *w, enum event_type type, const struct flow *f, int dir,
                     const struct packet *pkt, const struct tcp_result *res)
{
    struct event *e = event_new(w, type, pkt->frame);
    if (!e) return;
    fill_flow(w, e, f, dir, pkt->ts_ns);
    e->u.tcp.seq = pkt->tcp.seq;
    e->u.tcp.ack = pkt->tcp.ack;
    e->u.tcp.len = pkt->tcp.seglen;
    e->u.tcp.window = pkt->tcp.window;
    e->u.tcp.flags = pkt->tcp.flags;
    e->u.tcp.dupack_num = res->dupack_num;
    spsc_ring_commit(&w->events);
}

static void emit_spike(struct worker *w, const struct flow *f, int dir, const struct packet *pkt,
                       uint64_t rtt, uint64_t base, uint64_t dev, uint32_t samples)
{
    w->st.latency_spikes++;
    struct event *e = event_new(w, EV_LATENCY_SPIKE, pkt->frame);
    if (!e) return;
    fill_flow(w, e, f, dir, pkt->ts_ns);
    e->u.spike.rtt_ns = rtt;
    e->u.spike.baseline_ns = base;
    e->u.spike.dev_ns = dev;
    e->u.spike.samples = samples;
    e->u.spike.k = w->cfg->spike.k;
    e->u.spike.factor = w->cfg->spike.factor;
    spsc_ring_commit(&w->events);
}

/* The same payload again in this flow direction: at another sequence number over TCP (the
 * same one is a retransmission), at all over UDP. */
static void check_payload_dup(struct worker *w, struct flow *f, int dir, const struct packet *pkt)
{
    uint64_t window = w->cfg->dedup.payload_window_ns;
    if (!window || pkt->payload_len < w->cfg->dedup.payload_min) return;
    uint32_t d = dedup_payload_digest(pkt->payload, pkt->payload_len, f->id, dir);
    struct flow_features *ff = flow_feat(&w->flows, f);
    int tcp = pkt->key.proto == 6;
    if (!flow_features_payload(ff, dir, d, tcp ? pkt->tcp.seq : 0, tcp, pkt->ts_ns, window)) return;
    if (!ff->payload_duplicates++) ff->payload_dup_first_frame = pkt->frame;
    w->st.dup_payloads++;
}

static void analyse_tcp(struct worker *w, struct flow *f, int dir, const struct packet *pkt,
                        uint32_t extra_flags)
{
    struct tcp_result res;
    tcp_analyze(&f->tcp, &w->segs, dir, pkt, &res);
    res.flags |= extra_flags;
    struct flow_features *ff = flow_feat(&w->flows, f);
    for (uint32_t bits = res.flags; bits; bits &= bits - 1) {
        int b = __builtin_ctz(bits);
        w->st.tcp_flags[b]++;
        if (ff->anomalies[b] < UINT16_MAX) ff->anomalies[b]++;
        if (flag_event[b] != EV_MAX) emit_tcp(w, flag_event[b], f, dir, pkt, &res);
    }
    if (res.flags & WORST_FLAGS && f->anomalies < UINT16_MAX) f->anomalies++;
    if (pkt->tcp.flags & TH_RST)
        emit_tcp(w, EV_TCP_RESET, f, dir, pkt, &res);
    else if (pkt->tcp.flags & TH_FIN)
        emit_tcp(w, EV_TCP_FIN, f, dir, pkt, &res); /* internal: feeds the FIN-storm detector */
    if (res.ack_rtt_ns) {
        hist_add(&w->st.rtt, res.ack_rtt_ns);
        timeline_latency(&w->st.timeline, TL_RTT, res.ack_rtt_ns);
        struct tick_info *t = &w->tick;
        t->rtt_n++;
        if (res.ack_rtt_ns > t->rtt_max_ns) t->rtt_max_ns = res.ack_rtt_ns;
        ff_wide_add(&t->rtt, res.ack_rtt_ns);
        uint64_t base, dev; /* the sample times the data sent the other way */
        if (flow_features_rtt(ff, !dir, res.ack_rtt_ns, &w->cfg->spike, &base, &dev))
            emit_spike(w, f, dir, pkt, res.ack_rtt_ns, base, dev, ff->rtt_samples);
    }
    if (res.handshake_ns) {
        hist_add(&w->st.handshake, res.handshake_ns);
        struct event *e = event_new(w, EV_TCP_HANDSHAKE, pkt->frame);
        if (e) {
            fill_flow(w, e, f, dir, pkt->ts_ns);
            e->u.handshake.total_ns = res.handshake_ns;
            e->u.handshake.syn_synack_ns = res.syn_synack_ns;
            spsc_ring_commit(&w->events);
        }
    }
    if (res.syn_rejected) {
        struct event *e = event_new(w, EV_TCP_HANDSHAKE_FAILED, pkt->frame);
        if (e) {
            fill_flow(w, e, f, dir, pkt->ts_ns);
            e->u.hs_fail.reason = HS_FAIL_SYN_REJECTED;
            e->u.hs_fail.syn_attempts = f->tcp.dir[!dir].syn_count;
            spsc_ring_commit(&w->events);
        }
    }
    if (res.closed) flow_mark_closed(&w->flows, f);
}

static uint64_t decode_errors_of(const struct tt_stats *st)
{
    uint64_t n = 0;
    for (int i = 0; i < TT_C_MAX; i++)
        if (tt_counter_is_decode_error((enum tt_counter)i)) n += st->counters[i];
    return n;
}

/* The baseline interval of ts begins (or the run ends: next UINT64_MAX): the sums of the one
 * before go to the sink, with the sessions' order responses. Once per interval, not per
 * packet. */
static void send_tick(struct worker *w, uint64_t next, uint64_t order, uint64_t sub)
{
    uint64_t interval = w->cfg->baseline.interval_ns;
    if (w->tick_index != UINT64_MAX && next > w->tick_index) {
        const struct tt_stats *st = &w->st;
        uint64_t errors = decode_errors_of(st);
        struct trading_stats *ts = &w->st.trading;
        for (uint32_t i = 0; i < ts->nsessions; i++) {
            struct trading_session_stats *ss = &ts->sessions[i];
            if (!ss->tick_n) continue;
            struct event *e = event_new(w, EV_TICK_SESSION, order);
            if (e) {
                e->sub = sub;
                e->u.tick_session.index = w->tick_index;
                snprintf(e->u.tick_session.name, sizeof(e->u.tick_session.name), "%s", ss->name);
                e->u.tick_session.n = ss->tick_n;
                e->u.tick_session.max_ns = ss->tick_max_ns;
                e->u.tick_session.lat = ss->tick_lat;
                spsc_ring_commit(&w->events);
            }
            ss->tick_n = 0;
            ss->tick_max_ns = 0;
            memset(&ss->tick_lat, 0, sizeof(ss->tick_lat));
        }
        struct event *e = event_new(w, EV_TICK, order);
        if (e) {
            e->sub = sub;
            struct tick_info *t = &e->u.tick;
            *t = w->tick;
            t->index = w->tick_index;
            t->next_index = next;
            t->packets = st->packets - w->tick_packets;
            t->bytes = st->bytes - w->tick_bytes;
            t->retransmissions = st->tcp_flags[TA_BIT_RETRANSMISSION] - w->tick_retrans;
            t->decode_errors = errors - w->tick_errors;
            spsc_ring_commit(&w->events);
        }
        w->tick_packets = st->packets;
        w->tick_bytes = st->bytes;
        w->tick_retrans = st->tcp_flags[TA_BIT_RETRANSMISSION];
        w->tick_errors = errors;
        memset(&w->tick, 0, sizeof(w->tick));
    }
    if (next == UINT64_MAX || !interval) return;
    if (w->tick_index == UINT64_MAX || next > w->tick_index) {
        w->tick_index = next;
        w->tick_next_ns = (next + 1) * interval;
    }
}

/* A frame (of this worker or, with shared reading, of another) at ts: a new interval? */
static inline void tick_time(struct worker *w, uint64_t ts, uint64_t order, uint64_t sub)
{
    if (ts >= w->tick_next_ns && w->cfg->baseline.interval_ns)
        send_tick(w, ts / w->cfg->baseline.interval_ns, order, sub);
}

static void housekeep(struct worker *w, uint64_t now)
{
    w->cur_sub = 0;
    flow_table_expire(&w->flows, now, w->cfg->expire_budget);
    decoder_expire(&w->dec, now, w->st.counters);
    w->cur_sub = SUB_HOUSEKEEP_TRADING;
    trading_housekeep(w->trading, now);
    w->next_housekeep_ns = now + WORKER_HOUSEKEEP_NS;
}

/* Shared reading: a marked frame of another worker still moves this worker's clock, so its
 * flows time out at the same frame as they would with one worker (packet time is the
 * capture's, not the worker's). */
static void pass_time(struct worker *w, const struct frame *fr)
{
    w->cur_ts = fr->ts_ns;
    if (fr->ts_ns >= w->cfg->from_ns && (!w->cfg->to_ns || fr->ts_ns < w->cfg->to_ns))
        tick_time(w, fr->ts_ns, fr->ordinal, 0);
    if (fr->ts_ns >= w->next_housekeep_ns) {
        w->cur_frame = fr->ordinal;
        housekeep(w, fr->ts_ns);
    }
}

/* Inlined into both loops (one worker's, shared reading's): a call per frame costs. */
/* digest: the frame's dedup_frame_digest() when the caller made it already, else 0. */
static inline __attribute__((always_inline)) void
process_frame(struct worker *w, const struct frame *fr, int steered, uint64_t digest)
{
    struct packet pkt;
    if (fr->ts_ns < w->cfg->from_ns || (w->cfg->to_ns && fr->ts_ns >= w->cfg->to_ns)) return;
    if (w->dup_frames.ring && !digest)
        digest = dedup_frame_digest(fr->data, fr->caplen, fr->wirelen);
    if (w->dup_frames.ring && recent_digests_seen(&w->dup_frames, digest, fr->ts_ns)) {
        w->st.dup_frames++;
        w->st.dup_bytes += fr->wirelen;
        if (w->cfg->dedup.remove) return; /* as if the capture had it once */
    }
    if (w->st.inputs) stats_input(&w->st, fr->input);
    tick_time(w, fr->ts_ns, fr->ordinal, 0);
    w->cur_frame = fr->ordinal;
    w->cur_ts = fr->ts_ns;
    if (fr->ts_ns >= w->next_housekeep_ns) housekeep(w, fr->ts_ns);
    w->cur_sub = SUB_FRAME;

    decode_frame(&w->dec, fr->linktype, fr->data, fr->caplen, fr->wirelen, fr->ts_ns, &pkt);
    pkt.frame = fr->ordinal;
    if (pkt.hw_ts_source) {
        struct trading_stats *ts = &w->st.trading;
        int64_t off = (int64_t)(fr->ts_ns - pkt.hw_ts_ns);
        if (!ts->hw_ts_frames[1] && !ts->hw_ts_frames[2])
            ts->hw_ts_offset_min_ns = ts->hw_ts_offset_max_ns = off;
        if (off < ts->hw_ts_offset_min_ns) ts->hw_ts_offset_min_ns = off;
        if (off > ts->hw_ts_offset_max_ns) ts->hw_ts_offset_max_ns = off;
        ts->hw_ts_frames[pkt.hw_ts_source]++;
        if (w->cfg->tap_timestamps) /* the TAP's clock, closer to the wire than ours */
            pkt.ts_ns = pkt.hw_ts_ns;
    }
    struct tt_stats *st = &w->st;
    if (!st->packets || fr->ts_ns < st->first_ts_ns) st->first_ts_ns = fr->ts_ns;
    if (fr->ts_ns > st->last_ts_ns) st->last_ts_ns = fr->ts_ns;
    st->packets++;
    st->bytes += fr->wirelen;
    timeline_frame(&st->timeline, fr->ts_ns, fr->wirelen);
    stats_count_mix(st, pkt.protos);
    if (pkt.error != TT_C_MAX) {
        st->counters[pkt.error]++;
        if (pkt.error == TT_C_LINKTYPE_UNSUPPORTED) st->unsupported_linktype = fr->linktype;
    }
    if (pkt.key.proto == 6 && pkt.has_l4 && (pkt.tcp.flags & TH_RST)) st->resets++;
    if (!pkt.has_l3 || pkt.fragment_held) return;

    /* The steering hashed the key already when it could tell it from the bytes: ports read
     * where the decoder read them, no tunnel (whose inner flow it keys instead). */
    uint32_t h = steered && fr->key_hashed && pkt.has_l4 && !pkt.key.tunnel_kind
                     ? fr->key_hash
                     : flow_key_hash(&pkt.key);
    int dir, created;
    struct flow *f =
        flow_lookup_hashed(&w->flows, &pkt.key, h, pkt.ts_ns, pkt.frame, &dir, &created);
    if (!f) {
        st->counters[TT_C_FLOW_TABLE_FULL]++;
        return;
    }
    uint32_t extra = 0;
    if (created && pkt.key.proto == 6 && flow_recall_take(&w->recall, f)) {
        if (pkt.has_l4 && tcp_is_port_reuse(&f->tcp, dir, &pkt)) { /* a new connection after all */
            tcp_conv_init(&f->tcp);
            extra = TA(REUSED_PORTS);
        } else {
            st->flows_resumed++;
        }
    }
    if (pkt.key.proto == 6 && pkt.has_l4 && !created && tcp_is_port_reuse(&f->tcp, dir, &pkt)) {
        /* A SYN with a new ISN: the old connection is over, a new one starts (Wireshark's
         * "TCP port numbers reused"). */
        flow_end(&w->flows, f, FLOW_END_PORT_REUSE);
        f = flow_lookup_hashed(&w->flows, &pkt.key, h, pkt.ts_ns, pkt.frame, &dir, &created);
        if (!f) return;
        extra = TA(REUSED_PORTS);
    }
    if (created) st->flows_created++;
    if (pkt.key.tunnel_kind) { /* every packet of such a flow is tunnelled: it is in the key */
        struct tunnel_side *tun = flow_tunnel(&w->flows, f);
        if (created) tun[!dir].family = 0;
        tun[dir] = pkt.tunnel;
    }
    f->pkts[dir]++;
    f->bytes[dir] += fr->wirelen;
    struct flow_features *ff = flow_feat(&w->flows, f);
    if (created) memset(ff, 0, sizeof(*ff));
    int tcp = pkt.key.proto == 6 && pkt.has_l4;
    flow_features_packet(ff, dir, pkt.ts_ns, fr->wirelen, tcp ? (uint8_t)pkt.tcp.flags : 0);
    if (tcp) {
        if (!w->no_tcp_analysis) analyse_tcp(w, f, dir, &pkt, extra);
        trading_tcp(w->trading, f, dir, &pkt);
    } else if (pkt.key.proto == 17 && pkt.has_l4) {
        trading_udp(w->trading, f, dir, &pkt);
    }
    if (pkt.has_l4 && pkt.payload_len) check_payload_dup(w, f, dir, &pkt);
}

void worker_process_frame(struct worker *w, const struct frame *fr)
{
    process_frame(w, fr, 0, 0);
}

void worker_flush(struct worker *w)
{
    w->cur_frame = EVENT_ORDER_END;
    struct burst b;
    if (w->burst && burst_finish(w->burst, &b)) {
        w->cur_sub = 0;
        emit_burst(w, &b, EVENT_ORDER_END);
    }
    if (w->burst) w->st.counters[TT_C_BURST_RING_FULL] += w->burst->ring_overflow;
    flow_table_flush(&w->flows);
    w->cur_sub = UINT64_MAX; /* after every flow record */
    trading_flush(w->trading, w->cur_ts);
    send_tick(w, UINT64_MAX, EVENT_ORDER_END, UINT64_MAX); /* the last interval's sums */
    stats_mixes_settle(&w->st);
}

/* A live worker with nothing to do: flows still time out while the link is quiet. Packet
 * times are wall-clock times there, so the two clocks agree. */
static void idle_live(struct worker *w)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    uint64_t now = (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
    if (now >= w->next_housekeep_ns && now > w->cur_ts) housekeep(w, now);
    if (now > w->cur_ts) tick_time(w, now, w->cur_frame, UINT64_MAX - 1); /* after its events */
}

/* Publishes this worker's counters for /metrics when the interval is up (per burst or
 * while idle, so a quiet link still shows a live worker). */
static void publish(struct worker *w, int final)
{
    if (!w->mw) return;
    stats_inputs_settle(&w->st);
    stats_mixes_settle(&w->st);
    metrics_worker_publish(w->mw, &w->st, w->flows.nactive, final);
}

static int input_burst(struct worker *w, struct frame *frames)
{
    if (w->in_ring) return frame_ring_burst(w->in_ring, frames, WORKER_BURST);
    int n = w->src_ops->rx_burst(w->src, frames, WORKER_BURST, w->src_err, sizeof(w->src_err));
    if (n == -EAGAIN) {
        if (w->live) idle_live(w);
        publish(w, 0);
        return -EAGAIN;
    }
    if (n < 0) {
        /* Rare and off the per-packet path: say it now, count it for the exit code. */
        fprintf(stderr, "ticktap: %s\n", w->src_err);
        w->src_errors++;
        w->src_failed = 1;
        return 0;
    }
    return n;
}

/* Frames ahead whose first bytes are fetched while the current one is analysed: with shared
 * reading half of them were read by another core, whose cache is far. */
#define PREFETCH_AHEAD 8
/* A live worker with nothing to do sleeps until the dispatcher publishes, or this long (its
 * metrics and housekeeping go on). */
#define WORKER_IDLE_WAIT_NS 10000000ull
_Static_assert(2 * PREFETCH_AHEAD <= CHUNK_WALK_PAD, "the shared walk fetches past its padding");

/* Ends a batch of frames (a burst, in DPDK terms): what a sink merging the workers' events
 * may now pass, and the batch's time for /metrics. */
static void batch_done(struct worker *w, uint64_t last_ordinal, uint64_t t0)
{
    atomic_store_explicit(&w->watermark, last_ordinal, memory_order_release);
    if (w->mw) {
        uint64_t t1 = metrics_now_ns();
        prom_hist_observe(&w->mw->burst_time, t1 - t0);
        if (t1 >= w->mw->next_publish_ns) publish(w, 0);
    }
}

/* Shared reading: this worker's walk of a chunk, its frames and the marks (where every worker's
 * clock must move, and where a microburst ended) in frame order. */
static void shared_walk(struct worker *w, const struct chunk *c)
{
    uint32_t n, left = WORKER_BURST;
    const uint16_t *walk = chunk_walk(c, (uint32_t)w->id, &n);
    const struct chunk_mark *mark = c->marks;
    uint64_t t0 = w->mw ? metrics_now_ns() : 0;
    for (uint32_t i = 0; i < n; i++) {
        /* in two steps: the frame's record, then (once it is near) its bytes; the walk's
         * padding makes both safe past its end */
        __builtin_prefetch(&c->frames[walk[i + 2 * PREFETCH_AHEAD] & CHUNK_INDEX]);
        const uint8_t *ahead = c->frames[walk[i + PREFETCH_AHEAD] & CHUNK_INDEX].data;
        __builtin_prefetch(ahead);
        __builtin_prefetch(ahead + 64);
        uint16_t e = walk[i];
        const struct frame *fr = &c->frames[e & CHUNK_INDEX];
        if (!(e & CHUNK_MARK)) {
            process_frame(w, fr, 1, 0);
        } else {
            if (mark->burst && w->burst) { /* the detector's worker says it */
                w->cur_frame = fr->ordinal;
                w->cur_sub = 0;
                emit_burst(w, &c->bursts[mark->burst - 1], fr->ordinal);
            }
            mark++;
            if (e & CHUNK_MARK_OWN)
                process_frame(w, fr, 1, 0);
            else
                pass_time(w, fr);
        }
        if (--left == 0) {
            left = WORKER_BURST;
            batch_done(w, fr->ordinal, t0);
            if (w->mw) t0 = metrics_now_ns();
        }
    }
    batch_done(w, c->frames[c->nframes - 1].ordinal, t0);
}

static void shared_main(struct worker *w)
{
    struct chunk *c;
    for (uint64_t seq = 0; (c = shared_reader_get(w->shared, seq)); seq++) {
        shared_walk(w, c);
        shared_reader_release(c);
        if (w->stop && atomic_load_explicit(w->stop, memory_order_relaxed)) break;
    }
}

/* Nothing to merge from the readers' rings: returns 1 when they have all ended. Frames held
 * back for a reader that has not published yet come within microseconds; else the worker
 * sleeps until one publishes. */
static int merge_idle(struct worker *w, int readers_done)
{
    if (readers_done) return 1;
    if (w->merge->passed > atomic_load_explicit(&w->watermark, memory_order_relaxed))
        atomic_store_explicit(&w->watermark, w->merge->passed, memory_order_release);
    if (w->merge->held || !w->dispatch_live) {
        sched_yield();
        return 0;
    }
    ring_merge_wait(w->merge, WORKER_IDLE_WAIT_NS);
    if (w->live) idle_live(w);
    publish(w, 0);
    return 0;
}

#define DIGEST_AHEAD 4
#define DIGEST_AHEAD_SETS 256 /* 16 KiB of index: half of L1 */

/* A frame's digest, made ahead, its index line fetched (0 for a time mark: none). */
static inline uint64_t digest_ahead(struct worker *w, const struct frame *f)
{
    if (f->linktype == FRAME_TIME_MARK) return 0;
    uint64_t d = dedup_frame_digest(f->data, f->caplen, f->wirelen);
    recent_digests_prefetch(&w->dup_frames, d);
    return d;
}

void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct frame frames[WORKER_BURST];
    /* frames from the dispatcher's ring went through the steering; a source's own did not */
    const int steered = w->in_ring || w->merge;
    if (w->shared) shared_main(w);
    while (!w->shared) {
        /* Stopped: a worker reading its own source ends now; one fed by rings analyses what
         * they hold (what was captured is not lost), and ends when their producers have. */
        if (w->stop && !steered && atomic_load_explicit(w->stop, memory_order_relaxed)) break;
        /* Read what the dispatcher has published before looking at the ring: if the ring
         * then turns out empty, every frame up to that point has been processed. */
        uint64_t published =
            w->dispatched ? atomic_load_explicit(w->dispatched, memory_order_acquire) : 0;
        int ddone =
            w->dispatch_done ? atomic_load_explicit(w->dispatch_done, memory_order_acquire) : 0;
        const struct frame *batch = frames;
        int n, readers_done = 0;
        if (w->merge) {
            n = ring_merge_burst(w->merge, frames, WORKER_BURST, &readers_done);
            if (!n && merge_idle(w, readers_done)) break;
            if (!n) continue;
        } else {
            n = input_burst(w, frames);
        }
        if (n == -EAGAIN) continue;
        if (n == 0) {
            if (w->in_ring) {
                if (ddone) break;
                if (published > atomic_load_explicit(&w->watermark, memory_order_relaxed))
                    atomic_store_explicit(&w->watermark, published, memory_order_release);
                if (w->dispatch_live) { /* frames arrive at line pace: sleep until some do */
                    frame_ring_wait(w->in_ring, WORKER_IDLE_WAIT_NS);
                    if (w->live) idle_live(w);
                    publish(w, 0);
                } else {
                    sched_yield();
                }
                continue;
            }
            if (w->src_failed) {
                w->src_failed = 0;
                continue; /* the source reported one broken file; read the rest */
            }
            break;
        }
        uint64_t t0 = 0;
        if (w->mw) {
            t0 = metrics_now_ns();
            if (w->live) { /* how long the burst's first frame waited since its timestamp */
                struct timespec t;
                clock_gettime(CLOCK_REALTIME, &t);
                uint64_t now = (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
                if (now > batch[0].ts_ns)
                    prom_hist_observe(&w->mw->capture_delay, now - batch[0].ts_ns);
            }
        }
        for (int i = 0; i < n && i < PREFETCH_AHEAD; i++) /* the loop fetches the rest */
            __builtin_prefetch(batch[i].data);
        /* At millions of frames a second the dedup index outgrows L1: frame digests are
         * then made a few frames ahead of their lookups, their index lines fetched meanwhile
         * (at a slower rate it stays in L1 and that only costs). */
        uint64_t digests[WORKER_BURST + DIGEST_AHEAD];
        const int dedup = w->dup_frames.ring && w->dup_frames.index_sets > DIGEST_AHEAD_SETS;
        for (int i = 0; dedup && i < n && i < DIGEST_AHEAD; i++)
            digests[i] = digest_ahead(w, &batch[i]);
        for (int i = 0; i < n; i++) {
            struct burst b;
            if (dedup && i + DIGEST_AHEAD < n)
                digests[i + DIGEST_AHEAD] = digest_ahead(w, &batch[i + DIGEST_AHEAD]);
            if (batch[i].linktype == FRAME_TIME_MARK) { /* the dispatcher's: a new interval */
                const struct frame *m = &batch[i];
                if (m->ts_ns >= w->cfg->from_ns && (!w->cfg->to_ns || m->ts_ns < w->cfg->to_ns))
                    tick_time(w, m->ts_ns, m->ordinal, 0);
                continue;
            }
            if (i + PREFETCH_AHEAD < n) {
                __builtin_prefetch(batch[i + PREFETCH_AHEAD].data);
                __builtin_prefetch(batch[i + PREFETCH_AHEAD].data + 64);
            }
            if (w->burst && burst_feed(w->burst, batch[i].ts_ns, batch[i].wirelen, &b)) {
                w->cur_frame = batch[i].ordinal;
                w->cur_sub = 0;
                emit_burst(w, &b, batch[i].ordinal);
            }
            process_frame(w, &batch[i], steered, dedup ? digests[i] : 0);
        }
        uint64_t last = batch[n - 1].ordinal;
        if (w->in_ring) frame_ring_release(w->in_ring);
        if (w->merge) {
            ring_merge_release(w->merge);
            last = w->merge->passed; /* and every frame of this worker's before it */
        }
        batch_done(w, last, t0);
    }
    worker_flush(w);
    publish(w, 1);
    atomic_store_explicit(&w->watermark, EVENT_ORDER_END, memory_order_release);
    atomic_store_explicit(&w->done, 1, memory_order_release);
    if (w->sink_wake) sem_post(w->sink_wake);
    return NULL;
}
