/* metrics.c - the registry, its Prometheus rendering, health and stats record (metrics.h). */
#include "metrics.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../event/event_json.h"
#include "../util/clock.h"
#include "../util/table_mem.h"

uint64_t metrics_now_ns(void)
{
    return mono_ns();
}

void metrics_config_default(struct metrics_config *c)
{
    memset(c, 0, sizeof(*c));
    c->publish_interval_ns = 250000000ull;
    c->stuck_after_ns = 10000000000ull;
}

int metrics_init(struct metrics *m, const struct metrics_config *cfg)
{
    memset(m, 0, sizeof(*m));
    m->cfg = *cfg;
    pthread_mutex_init(&m->lock, NULL);
    pthread_mutex_init(&m->sink_lock, NULL);
    m->started_ns = metrics_now_ns();
    m->sink.heartbeat_ns = m->started_ns;
    if (gethostname(m->host, sizeof(m->host))) snprintf(m->host, sizeof(m->host), "unknown");
    m->host[sizeof(m->host) - 1] = 0;
    return 0;
}

void metrics_fini(struct metrics *m)
{
    for (uint32_t i = 0; i < m->nworkers; i++)
        pthread_mutex_destroy(&m->workers[i].lock);
    free(m->workers);
    free(m->capture_text);
    pthread_mutex_destroy(&m->lock);
    pthread_mutex_destroy(&m->sink_lock);
}

int metrics_attach_workers(struct metrics *m, uint32_t nworkers)
{
    struct metrics_worker *ws = calloc(nworkers, sizeof(*ws));
    if (!ws) return -ENOMEM;
    uint64_t now = metrics_now_ns();
    for (uint32_t i = 0; i < nworkers; i++) {
        pthread_mutex_init(&ws[i].lock, NULL);
        ws[i].queue = -1;
        snprintf(ws[i].ifname, sizeof(ws[i].ifname), "capture");
        ws[i].snap.heartbeat_ns = now;
        ws[i].interval_ns = m->cfg.publish_interval_ns;
    }
    pthread_mutex_lock(&m->lock);
    struct metrics_worker *old = m->workers;
    uint32_t nold = m->nworkers;
    m->workers = ws;
    m->nworkers = nworkers;
    pthread_mutex_unlock(&m->lock);
    for (uint32_t i = 0; i < nold; i++)
        pthread_mutex_destroy(&old[i].lock);
    free(old);
    return 0;
}

static void publish_session(struct metrics_session *d, const struct trading_session_stats *s)
{
    d->used = 1;
    d->key = s->key;
    d->kind = s->kind;
    memcpy(d->name, s->name, sizeof(d->name));
    d->messages = s->messages[0] + s->messages[1];
    d->seq_gaps = s->seq_gaps + s->md_gaps;
    d->lost = s->seq_missing + s->md_lost;
    d->duplicates = s->poss_dup + s->md_duplicates;
    d->rejects = s->rejects + s->business_rejects + s->logins_rejected;
    d->order_rejects = s->order_rejects;
    d->heartbeats_missed = s->heartbeats_missed;
    if (d->latency.count != s->latency.n) prom_hist_from_hist(&d->latency, &s->latency);
    if (d->skew.count != s->skew.n) prom_hist_from_hist(&d->skew, &s->skew);
    d->nfeeds = s->nfeeds;
    for (uint32_t f = 0; f < s->nfeeds && f < MD_FEEDS_MAX; f++) {
        memcpy(d->feed[f].name, s->feed[f].name, sizeof(d->feed[f].name));
        d->feed[f].packets = s->feed[f].packets;
        d->feed[f].lost = s->feed[f].lost;
        d->feed[f].trailed = s->feed[f].trailed;
        d->messages += s->feed[f].messages;
    }
}

static void hist_refresh(struct prom_hist *d, const struct hist *s)
{
    if (d->count != s->n) /* walking 4096 buckets is worth skipping when nothing changed */
        prom_hist_from_hist(d, s);
}

void metrics_set_inputs(struct metrics *m, uint32_t n, const char *const *ifnames,
                        const int *queues)
{
    if (n > TT_INPUTS_MAX) n = TT_INPUTS_MAX;
    pthread_mutex_lock(&m->lock);
    for (uint32_t i = 0; i < n; i++) {
        snprintf(m->inputs[i].ifname, sizeof(m->inputs[i].ifname), "%s", ifnames[i]);
        m->inputs[i].queue = queues[i];
    }
    m->ninputs = n > 1 ? n : 0;
    pthread_mutex_unlock(&m->lock);
}

void metrics_worker_publish(struct metrics_worker *mw, const struct tt_stats *st,
                            uint32_t flows_active, int final)
{
    uint64_t now = metrics_now_ns();
    if (!final && now < mw->next_publish_ns) return;
    if (pthread_mutex_trylock(&mw->lock)) {
        if (!final) return; /* a scrape is reading: publish next time rather than wait */
        pthread_mutex_lock(&mw->lock);
    }
    mw->next_publish_ns = now + mw->interval_ns;
    struct metrics_worker_snap *s = &mw->snap;
    s->heartbeat_ns = final ? UINT64_MAX : now; /* a finished worker is never stuck */
    s->packets = st->packets;
    s->bytes = st->bytes;
    memcpy(s->counters, st->counters, sizeof(s->counters));
    memcpy(s->protos, st->protos, sizeof(s->protos));
    memcpy(s->tcp_flags, st->tcp_flags, sizeof(s->tcp_flags));
    s->resets = st->resets;
    s->flows_created = st->flows_created;
    s->flows_ended = st->flows_ended;
    s->flows_evicted = st->flows_evicted;
    s->flows_resumed = st->flows_resumed;
    s->flows_active = flows_active;
    s->dup_frames = st->dup_frames;
    s->dup_payloads = st->dup_payloads;
    s->ninputs = st->inputs ? st->ninputs : 0;
    if (s->ninputs) memcpy(s->inputs, st->inputs, s->ninputs * sizeof(*s->inputs));
    hist_refresh(&s->rtt, &st->rtt);
    hist_refresh(&s->handshake, &st->handshake);
    s->burst_time = mw->burst_time;
    s->capture_delay = mw->capture_delay;
    const struct trading_stats *t = &st->trading;
    s->fix_messages = t->fix_messages;
    s->soup_packets = t->soup_packets;
    s->mold_messages = t->mold_messages;
    s->mdp3_messages = t->mdp3_messages;
    s->microbursts = t->bursts.bursts;
    for (int p = 0; p < OP_MAX; p++) {
        hist_refresh(&s->order_latency[0][p], &t->order_latency[p]);
        hist_refresh(&s->order_latency[1][p], &t->ouch_latency[p]);
    }
    hist_refresh(&s->feed_latency[0], &t->itch_latency);
    hist_refresh(&s->feed_latency[1], &t->mdp3_latency);
    for (uint32_t i = 0; t->sessions && i < TRADING_SESSIONS_MAX; i++) {
        if (i < t->nsessions)
            publish_session(&s->sessions[i], &t->sessions[i]);
        else if (s->sessions[i].used)
            s->sessions[i].used = 0;
    }
    pthread_mutex_unlock(&mw->lock);
}

void metrics_sink_publish(struct metrics *m, const struct metrics_sink_snap *s)
{
    pthread_mutex_lock(&m->sink_lock);
    const struct kafka_stats *was = &m->sink.kafka;
    uint64_t done_before = was->delivered + was->failed;
    uint64_t pending_before = was->queued;
    uint64_t progress = m->sink.kafka_progress_ns;
    m->sink = *s;
    uint64_t pending = s->kafka.queued;
    /* Kafka is stuck only while it holds messages and no report came since it began to */
    if (!pending || !pending_before || s->kafka.delivered + s->kafka.failed != done_before)
        progress = metrics_now_ns();
    m->sink.kafka_progress_ns = progress;
    pthread_mutex_unlock(&m->sink_lock);
}

void metrics_set_capture_text(struct metrics *m, const char *text)
{
    char *copy = text ? strdup(text) : NULL;
    pthread_mutex_lock(&m->lock);
    free(m->capture_text);
    m->capture_text = copy;
    pthread_mutex_unlock(&m->lock);
}

/* ---- rendering ---------------------------------------------------------------------------- */

/* The workers' snapshots merged: sessions by key, latency histograms by bucket. */
static void merge_snap(struct metrics_worker_snap *into, const struct metrics_worker_snap *s)
{
    into->packets += s->packets;
    into->bytes += s->bytes;
    for (int i = 0; i < TT_C_MAX; i++)
        into->counters[i] += s->counters[i];
    for (int i = 0; i < 32; i++)
        into->protos[i] += s->protos[i];
    for (int i = 0; i < TA_BIT_MAX; i++)
        into->tcp_flags[i] += s->tcp_flags[i];
    into->resets += s->resets;
    into->flows_created += s->flows_created;
    into->flows_ended += s->flows_ended;
    into->flows_evicted += s->flows_evicted;
    into->flows_resumed += s->flows_resumed;
    into->flows_active += s->flows_active;
    into->dup_frames += s->dup_frames;
    into->dup_payloads += s->dup_payloads;
    into->fix_messages += s->fix_messages;
    into->soup_packets += s->soup_packets;
    into->mold_messages += s->mold_messages;
    into->mdp3_messages += s->mdp3_messages;
    into->microbursts += s->microbursts;
    prom_hist_merge(&into->rtt, &s->rtt);
    prom_hist_merge(&into->handshake, &s->handshake);
    prom_hist_merge(&into->burst_time, &s->burst_time);
    prom_hist_merge(&into->capture_delay, &s->capture_delay);
    for (int k = 0; k < 2; k++) {
        for (int p = 0; p < OP_MAX; p++)
            prom_hist_merge(&into->order_latency[k][p], &s->order_latency[k][p]);
        prom_hist_merge(&into->feed_latency[k], &s->feed_latency[k]);
    }
    for (uint32_t i = 0; i < TRADING_SESSIONS_MAX; i++) {
        const struct metrics_session *x = &s->sessions[i];
        if (!x->used) continue;
        struct metrics_session *d = NULL;
        uint32_t free_slot = TRADING_SESSIONS_MAX;
        for (uint32_t j = 0; j < TRADING_SESSIONS_MAX && !d; j++) {
            if (into->sessions[j].used && into->sessions[j].key == x->key)
                d = &into->sessions[j];
            else if (!into->sessions[j].used && free_slot == TRADING_SESSIONS_MAX)
                free_slot = j;
        }
        if (!d && free_slot == TRADING_SESSIONS_MAX)
            continue; /* every worker tracks at most this many; the merge may hold no more */
        if (!d) {
            into->sessions[free_slot] = *x;
            continue;
        }
        d->messages += x->messages;
        d->seq_gaps += x->seq_gaps;
        d->lost += x->lost;
        d->duplicates += x->duplicates;
        d->rejects += x->rejects;
        d->order_rejects += x->order_rejects;
        d->heartbeats_missed += x->heartbeats_missed;
        prom_hist_merge(&d->latency, &x->latency);
        prom_hist_merge(&d->skew, &x->skew);
    }
}

/* Every worker's snapshot merged into *tot, plus per-input packet rows. */
struct input_row {
    char ifname[16];
    int queue;
    uint64_t packets, bytes;
    uint64_t counters[TT_C_MAX];
};

static void row_add(struct input_row *r, uint64_t packets, uint64_t bytes,
                    const uint64_t counters[TT_C_MAX])
{
    r->packets += packets;
    r->bytes += bytes;
    for (int c = 0; c < TT_C_MAX; c++)
        r->counters[c] += counters[c];
}

static uint32_t collect(struct metrics *m, struct metrics_worker_snap *tot, struct input_row *rows,
                        uint32_t maxrows)
{
    uint32_t nrows = 0;
    memset(tot, 0, sizeof(*tot));
    if (m->ninputs && m->ninputs <= maxrows) { /* several inputs read as one: a row each */
        for (nrows = 0; nrows < m->ninputs; nrows++) {
            memset(&rows[nrows], 0, sizeof(rows[nrows]));
            memcpy(rows[nrows].ifname, m->inputs[nrows].ifname, sizeof(rows[nrows].ifname));
            rows[nrows].queue = m->inputs[nrows].queue;
        }
        for (uint32_t i = 0; i < m->nworkers; i++) {
            struct metrics_worker *w = &m->workers[i];
            pthread_mutex_lock(&w->lock);
            merge_snap(tot, &w->snap);
            for (uint32_t r = 0; r < w->snap.ninputs && r < nrows; r++)
                row_add(&rows[r], w->snap.inputs[r].packets, w->snap.inputs[r].bytes,
                        w->snap.inputs[r].counters);
            pthread_mutex_unlock(&w->lock);
        }
        return nrows;
    }
    for (uint32_t i = 0; i < m->nworkers; i++) {
        struct metrics_worker *w = &m->workers[i];
        pthread_mutex_lock(&w->lock);
        merge_snap(tot, &w->snap);
        uint32_t r = 0;
        while (r < nrows && (rows[r].queue != w->queue || strcmp(rows[r].ifname, w->ifname)))
            r++;
        if (r == nrows && nrows < maxrows) {
            memset(&rows[r], 0, sizeof(rows[r]));
            memcpy(rows[r].ifname, w->ifname, sizeof(rows[r].ifname));
            rows[r].queue = w->queue;
            nrows++;
        }
        if (r < nrows) row_add(&rows[r], w->snap.packets, w->snap.bytes, w->snap.counters);
        pthread_mutex_unlock(&w->lock);
    }
    return nrows;
}

static void input_labels(struct prom_labels *l, const struct input_row *r)
{
    prom_labels_init(l);
    prom_label(l, "interface", r->ifname);
    if (r->queue >= 0) prom_label_u(l, "queue", (uint64_t)r->queue);
}

static const char *kind_label(uint8_t kind)
{
    return trading_kind_name((enum trading_kind)kind);
}

static void render_trading(struct prom_buf *b, const struct metrics_worker_snap *t)
{
    struct prom_labels l;
    prom_family(b, "ticktap_trading_messages_total", "counter",
                "Trading protocol messages (SoupBinTCP: packets) by protocol");
    static const char *protos[] = {"fix", "soupbintcp", "moldudp64", "mdp3"};
    uint64_t counts[] = {t->fix_messages, t->soup_packets, t->mold_messages, t->mdp3_messages};
    for (int i = 0; i < 4; i++) {
        prom_labels_init(&l);
        prom_label(&l, "protocol", protos[i]);
        prom_sample(b, "ticktap_trading_messages_total", &l, counts[i]);
    }
    prom_family(b, "ticktap_order_latency_seconds", "histogram",
                "Order message to its first response (FIX D/F/G to 8/9, OUCH O/X/U to A/J/C/U)");
    for (int k = 0; k < 2; k++)
        for (int p = 0; p < OP_MAX; p++) {
            prom_labels_init(&l);
            prom_label(&l, "protocol", k ? "ouch" : "fix");
            prom_label(&l, "order", order_pair_name((enum order_pair)p));
            prom_histogram(b, "ticktap_order_latency_seconds", &l, &t->order_latency[k][p]);
        }
    prom_family(b, "ticktap_feed_latency_seconds", "histogram",
                "Market data: capture time minus the exchange's timestamp");
    for (int k = 0; k < 2; k++) {
        prom_labels_init(&l);
        prom_label(&l, "protocol", k ? "mdp3" : "itch");
        prom_histogram(b, "ticktap_feed_latency_seconds", &l, &t->feed_latency[k]);
    }
    static const struct {
        const char *name, *help;
        size_t off;
    } per_session[] = {
#define S(f, h) {"ticktap_session_" #f "_total", h, offsetof(struct metrics_session, f)}
        S(messages, "Messages of a trading session (market data: of every feed)"),
        S(seq_gaps, "Sequence gaps (FIX MsgSeqNum; market data: after A/B arbitration)"),
        S(lost, "Messages the sequence gaps skipped"),
        S(duplicates, "FIX PossDup resends; market data: messages delivered twice"),
        S(rejects, "Session-level rejects: FIX Reject, BusinessMessageReject, logins"),
        S(order_rejects, "Rejected orders and cancels"),
        S(heartbeats_missed, "FIX sides silent beyond HeartBtInt"),
#undef S
    };
    for (size_t f = 0; f < sizeof(per_session) / sizeof(per_session[0]); f++) {
        prom_family(b, per_session[f].name, "counter", per_session[f].help);
        for (int i = 0; i < TRADING_SESSIONS_MAX; i++) {
            const struct metrics_session *s = &t->sessions[i];
            if (!s->used) continue;
            prom_labels_init(&l);
            prom_label(&l, "protocol", kind_label(s->kind));
            prom_label(&l, "session", s->name);
            prom_sample(b, per_session[f].name, &l,
                        *(const uint64_t *)((const char *)s + per_session[f].off));
        }
    }
    prom_family(b, "ticktap_session_latency_seconds", "histogram",
                "Per session: order to first response, or market-data feed latency");
    for (int i = 0; i < TRADING_SESSIONS_MAX; i++) {
        const struct metrics_session *s = &t->sessions[i];
        if (!s->used || !s->latency.count) continue;
        prom_labels_init(&l);
        prom_label(&l, "protocol", kind_label(s->kind));
        prom_label(&l, "session", s->name);
        prom_histogram(b, "ticktap_session_latency_seconds", &l, &s->latency);
    }
    prom_family(b, "ticktap_feed_skew_seconds", "histogram",
                "Per market-data session with A and B feeds: how far the later copy trailed");
    for (int i = 0; i < TRADING_SESSIONS_MAX; i++) {
        const struct metrics_session *s = &t->sessions[i];
        if (!s->used || !s->skew.count) continue;
        prom_labels_init(&l);
        prom_label(&l, "protocol", kind_label(s->kind));
        prom_label(&l, "session", s->name);
        prom_histogram(b, "ticktap_feed_skew_seconds", &l, &s->skew);
    }
    static const char *feed_fam[3][2] = {
        {"ticktap_feed_packets_total", "Packets of one market-data feed"},
        {"ticktap_feed_lost_messages_total", "Messages one feed missed (the other may have them)"},
        {"ticktap_feed_trailed_packets_total", "Packets that arrived after the other feed's copy"},
    };
    for (int f = 0; f < 3; f++) {
        prom_family(b, feed_fam[f][0], "counter", feed_fam[f][1]);
        for (int i = 0; i < TRADING_SESSIONS_MAX; i++) {
            const struct metrics_session *s = &t->sessions[i];
            for (uint32_t k = 0; s->used && k < s->nfeeds && k < MD_FEEDS_MAX; k++) {
                prom_labels_init(&l);
                prom_label(&l, "session", s->name);
                prom_label(&l, "feed", s->feed[k].name);
                prom_sample(b, feed_fam[f][0], &l,
                            f == 0   ? s->feed[k].packets
                            : f == 1 ? s->feed[k].lost
                                     : s->feed[k].trailed);
            }
        }
    }
    prom_family(b, "ticktap_microbursts_total", "counter",
                "Windows over the configured share of the link rate (merged when consecutive)");
    prom_sample(b, "ticktap_microbursts_total", NULL, t->microbursts);
}

static void render_stage(struct prom_buf *b, const char *stage, const struct prom_hist *h)
{
    struct prom_labels l;
    prom_labels_init(&l);
    prom_label(&l, "stage", stage);
    prom_histogram(b, "ticktap_stage_latency_seconds", &l, h);
}

/* Frames, bytes, decode errors and drops, by capture input. */
static void render_inputs(struct prom_buf *b, struct input_row *rows, uint32_t nrows)
{
    struct prom_labels l;
    prom_family(b, "ticktap_packets_total", "counter", "Frames analysed, by capture input");
    for (uint32_t r = 0; r < nrows; r++) {
        input_labels(&l, &rows[r]);
        prom_sample(b, "ticktap_packets_total", &l, rows[r].packets);
    }
    prom_family(b, "ticktap_bytes_total", "counter", "Wire bytes analysed, by capture input");
    for (uint32_t r = 0; r < nrows; r++) {
        input_labels(&l, &rows[r]);
        prom_sample(b, "ticktap_bytes_total", &l, rows[r].bytes);
    }
}

static void render_counters(struct prom_buf *b, struct input_row *rows, uint32_t nrows)
{
    struct prom_labels l;
    for (int pass = 0; pass < 2; pass++) { /* decode errors, then drops */
        const char *name = pass ? "ticktap_drops_total" : "ticktap_decode_errors_total";
        prom_family(b, name, "counter",
                    pass ? "Work dropped at a configured limit (tables, rings, pools), by capture "
                           "input and reason"
                         : "Packets that could not be fully decoded, by capture input and reason");
        for (uint32_t r = 0; r < nrows; r++)
            for (int i = 0; i < TT_C_MAX; i++) {
                if (tt_counter_is_decode_error((enum tt_counter)i) == pass) continue;
                input_labels(&l, &rows[r]);
                prom_label(&l, "reason", tt_counter_name((enum tt_counter)i));
                prom_sample(b, name, &l, rows[r].counters[i]);
            }
    }
}

/* Protocols, flows and TCP analysis of every worker together. */
static void render_traffic(struct prom_buf *b, const struct metrics_worker_snap *t)
{
    struct prom_labels l;
    prom_family(b, "ticktap_protocol_packets_total", "counter",
                "Packets carrying each layer, outer or inner");
    for (int i = 0; i < TT_P_MAX; i++) {
        prom_labels_init(&l);
        prom_label(&l, "protocol", tt_proto_name((enum tt_proto)i));
        prom_sample(b, "ticktap_protocol_packets_total", &l, t->protos[i]);
    }
    prom_family(b, "ticktap_flows_active", "gauge", "Flows tracked now");
    prom_sample(b, "ticktap_flows_active", NULL, t->flows_active);
    prom_family(b, "ticktap_flows_created_total", "counter", "Flows created");
    prom_sample(b, "ticktap_flows_created_total", NULL, t->flows_created);
    prom_family(b, "ticktap_flows_ended_total", "counter", "Flows ended (records emitted)");
    prom_sample(b, "ticktap_flows_ended_total", NULL, t->flows_ended);
    prom_family(b, "ticktap_flows_evicted_total", "counter",
                "Live flows evicted because the flow table was full");
    prom_sample(b, "ticktap_flows_evicted_total", NULL, t->flows_evicted);
    prom_family(b, "ticktap_flows_resumed_total", "counter",
                "Flows whose connection resumed after its record ended: TCP analysis continued");
    prom_sample(b, "ticktap_flows_resumed_total", NULL, t->flows_resumed);
    prom_family(b, "ticktap_duplicate_frames_total", "counter",
                "Frames captured twice (same length and first 128 bytes within dedup.window)");
    prom_sample(b, "ticktap_duplicate_frames_total", NULL, t->dup_frames);
    prom_family(b, "ticktap_payload_duplicates_total", "counter",
                "Payloads a flow carried twice (not retransmissions)");
    prom_sample(b, "ticktap_payload_duplicates_total", NULL, t->dup_payloads);
    prom_family(b, "ticktap_tcp_analysis_total", "counter",
                "Segments with each Wireshark tcp.analysis flag (reset: RST segments)");
    for (int i = 0; i < TA_BIT_MAX; i++) {
        prom_labels_init(&l);
        prom_label(&l, "flag", tcp_analysis_name((enum tcp_analysis_bit)i));
        prom_sample(b, "ticktap_tcp_analysis_total", &l, t->tcp_flags[i]);
    }
    prom_labels_init(&l);
    prom_label(&l, "flag", "reset");
    prom_sample(b, "ticktap_tcp_analysis_total", &l, t->resets);
    prom_family(b, "ticktap_tcp_rtt_seconds", "histogram", "Data-to-ACK round-trip time");
    prom_histogram(b, "ticktap_tcp_rtt_seconds", NULL, &t->rtt);
    prom_family(b, "ticktap_tcp_handshake_seconds", "histogram",
                "SYN to the handshake-completing ACK");
    prom_histogram(b, "ticktap_tcp_handshake_seconds", NULL, &t->handshake);
}

/* Events by type and severity, and the stages' latencies. */
static void render_events(struct prom_buf *b, const struct metrics_worker_snap *t,
                          const struct metrics_sink_snap *s)
{
    struct prom_labels l;
    prom_family(b, "ticktap_events_total", "counter", "Events emitted, by type and severity");
    for (int e = 0; e < EV_MAX; e++)
        for (int v = 0; v < 3; v++)
            if (s->events[e][v] || v == (int)event_type_severity((enum event_type)e)) {
                prom_labels_init(&l);
                prom_label(&l, "type", event_type_name((enum event_type)e));
                prom_label(&l, "severity", severity_name((enum severity)v));
                prom_sample(b, "ticktap_events_total", &l, s->events[e][v]);
            }
    prom_family(b, "ticktap_stage_latency_seconds", "histogram",
                "Processing latency per stage: worker (one burst of frames), capture_delay (live: "
                "packet timestamp to analysis), sink_delay (live: packet timestamp to the sink)");
    render_stage(b, "worker", &t->burst_time);
    render_stage(b, "capture_delay", &t->capture_delay);
    render_stage(b, "sink_delay", &s->event_delay);
}

static void render_kafka(struct prom_buf *b, const struct metrics_sink_snap *s)
{
    if (!s->kafka_on) return;
    struct prom_labels l;
    prom_family(b, "ticktap_kafka_messages_total", "counter",
                "Kafka messages by outcome (offered = delivered + failed + dropped + queued)");
    static const char *outcomes[] = {"offered", "delivered", "failed", "dropped_queue_full",
                                     "dropped_oldest"};
    uint64_t v[] = {s->kafka.offered, s->kafka.delivered, s->kafka.failed,
                    s->kafka.dropped_queue_full, s->kafka.dropped_oldest};
    for (int i = 0; i < 5; i++) {
        prom_labels_init(&l);
        prom_label(&l, "outcome", outcomes[i]);
        prom_sample(b, "ticktap_kafka_messages_total", &l, v[i]);
    }
    prom_family(b, "ticktap_kafka_queue_messages", "gauge",
                "Messages waiting for delivery (librdkafka's queue and ticktap's buffer)");
    prom_sample(b, "ticktap_kafka_queue_messages", NULL, s->kafka.queued);
    prom_family(b, "ticktap_kafka_delivery_seconds", "histogram", "Produce to delivery report");
    prom_histogram(b, "ticktap_kafka_delivery_seconds", NULL, &s->kafka_delivery);
    prom_family(b, "ticktap_kafka_end_to_end_seconds", "histogram",
                "Live: packet timestamp to the delivery report of its event");
    prom_histogram(b, "ticktap_kafka_end_to_end_seconds", NULL, &s->kafka_e2e);
}

static void render_memory(struct prom_buf *b)
{
    size_t rss, rss_peak;
    process_resident_bytes(&rss, &rss_peak);
    prom_family(b, "ticktap_table_memory_bytes", "gauge",
                "Preallocated tables, rings and buffers: what the configured limits allow "
                "(pages count as resident only once used)");
    prom_sample(b, "ticktap_table_memory_bytes", NULL, table_mem_reserved());
    prom_family(b, "ticktap_table_memory_peak_bytes", "gauge",
                "Most memory the tables, rings and buffers held at once");
    prom_sample(b, "ticktap_table_memory_peak_bytes", NULL, table_mem_peak());
    prom_family(b, "ticktap_resident_memory_bytes", "gauge",
                "Resident memory of the process now (/proc/self/statm)");
    prom_sample(b, "ticktap_resident_memory_bytes", NULL, rss);
    prom_family(b, "ticktap_resident_memory_peak_bytes", "gauge",
                "Peak resident memory of the process (getrusage ru_maxrss)");
    prom_sample(b, "ticktap_resident_memory_peak_bytes", NULL, rss_peak);
}

void metrics_render(struct metrics *m, struct prom_buf *b)
{
    struct metrics_worker_snap *t = calloc(1, sizeof(*t));
    struct metrics_sink_snap *s = calloc(1, sizeof(*s));
    struct input_row rows[64];
    char *capture = NULL;
    if (!t || !s) {
        b->oom = 1;
        goto out;
    }
    pthread_mutex_lock(&m->lock);
    uint32_t nrows = collect(m, t, rows, 64);
    capture = m->capture_text ? strdup(m->capture_text) : NULL;
    pthread_mutex_unlock(&m->lock);
    pthread_mutex_lock(&m->sink_lock);
    *s = m->sink;
    pthread_mutex_unlock(&m->sink_lock);

    render_inputs(b, rows, nrows);
    if (capture) prom_printf(b, "%s", capture); /* the live capture's own families */
    /* A dispatcher thread's drops belong to the only input it reads (row 0). */
    if (m->ninputs)
        for (uint32_t r = 0; r < nrows; r++)
            rows[r].counters[TT_C_DISPATCH_RING_FULL] += s->dispatch_ring_full_by_input[r];
    else if (nrows)
        rows[0].counters[TT_C_DISPATCH_RING_FULL] += s->dispatch_ring_full;
    render_counters(b, rows, nrows);
    render_traffic(b, t);
    render_events(b, t, s);
    render_kafka(b, s);
    t->microbursts += s->dispatch_bursts;
    render_trading(b, t);
    render_memory(b);
    char why[512];
    int bad = metrics_health(m, why, sizeof(why));
    prom_family(b, "ticktap_up", "gauge", "1 while capture, workers and sinks make progress");
    prom_sample(b, "ticktap_up", NULL, bad ? 0 : 1);
out:
    free(capture);
    free(t);
    free(s);
}

/* ---- health ------------------------------------------------------------------------------- */

int metrics_health(struct metrics *m, char *why, size_t whylen)
{
    uint64_t now = metrics_now_ns(), limit = m->cfg.stuck_after_ns;
    size_t len = 0;
    why[0] = 0;
#define PROBLEM(...)                                                                               \
    do {                                                                                           \
        if (len < whylen) len += (size_t)snprintf(why + len, whylen - len, __VA_ARGS__);           \
    } while (0)
    pthread_mutex_lock(&m->lock);
    for (uint32_t i = 0; i < m->nworkers; i++) {
        struct metrics_worker *w = &m->workers[i];
        pthread_mutex_lock(&w->lock);
        uint64_t hb = w->snap.heartbeat_ns;
        pthread_mutex_unlock(&w->lock);
        if (hb != UINT64_MAX && now > hb + limit)
            PROBLEM("capture: worker %u (%s) has not run for %.1f s\n", i, w->ifname,
                    (double)(now - hb) / 1e9);
    }
    pthread_mutex_unlock(&m->lock);
    pthread_mutex_lock(&m->sink_lock);
    struct metrics_sink_snap *s = &m->sink;
    if (s->heartbeat_ns != UINT64_MAX && now > s->heartbeat_ns + limit)
        PROBLEM("sink: has not run for %.1f s\n", (double)(now - s->heartbeat_ns) / 1e9);
    uint64_t pending = s->kafka.queued;
    if (s->kafka_on && pending && now > s->kafka_progress_ns + limit)
        PROBLEM("kafka: %llu message(s) waiting, none delivered for %.1f s%s%s\n",
                (unsigned long long)pending, (double)(now - s->kafka_progress_ns) / 1e9,
                s->kafka.last_error[0] ? "; last error: " : "", s->kafka.last_error);
    pthread_mutex_unlock(&m->sink_lock);
#undef PROBLEM
    return len > 0;
}

/* ---- the stats record --------------------------------------------------------------------- */

char *metrics_stats_json(struct metrics *m, uint64_t ts_ns, uint64_t interval_ns)
{
    struct metrics_worker_snap *t = calloc(1, sizeof(*t));
    if (!t) return NULL;
    struct input_row rows[64];
    pthread_mutex_lock(&m->lock);
    uint32_t nrows = collect(m, t, rows, 64);
    pthread_mutex_unlock(&m->lock);
    pthread_mutex_lock(&m->sink_lock);
    uint64_t events[EV_MAX][3];
    memcpy(events, m->sink.events, sizeof(events));
    struct kafka_stats ks = m->sink.kafka;
    int kafka_on = m->sink.kafka_on;
    pthread_mutex_unlock(&m->sink_lock);

    char ts[64];
    ts_to_rfc3339(ts_ns, ts, sizeof(ts));
    json_t *o = json_object();
    json_object_set_new(o, "schema_version", json_string(TT_SCHEMA_VERSION));
    json_object_set_new(o, "type", json_string("stats"));
    json_object_set_new(o, "ts", json_string(ts));
    json_object_set_new(o, "ts_ns", json_integer((json_int_t)ts_ns));
    json_object_set_new(o, "host", json_string(m->host));
    json_object_set_new(o, "interval_ns", json_integer((json_int_t)interval_ns));
    json_t *ifs = json_array();
    for (uint32_t r = 0; r < nrows; r++) {
        json_t *x = json_object();
        json_object_set_new(x, "interface", json_string(rows[r].ifname));
        if (rows[r].queue >= 0) json_object_set_new(x, "queue", json_integer(rows[r].queue));
        json_object_set_new(x, "packets", json_integer((json_int_t)rows[r].packets));
        json_object_set_new(x, "bytes", json_integer((json_int_t)rows[r].bytes));
        json_array_append_new(ifs, x);
    }
    json_object_set_new(o, "interfaces", ifs);
    json_object_set_new(o, "packets", json_integer((json_int_t)t->packets));
    json_object_set_new(o, "bytes", json_integer((json_int_t)t->bytes));
    stats_counts_json(o, t->counters, t->protos);
    json_t *ev = json_object();
    for (int e = 0; e < EV_MAX; e++) {
        uint64_t n = events[e][0] + events[e][1] + events[e][2];
        if (n)
            json_object_set_new(ev, event_type_name((enum event_type)e),
                                json_integer((json_int_t)n));
    }
    json_object_set_new(o, "events", ev);
    json_object_set_new(
        o, "flows",
        json_pack("{s:I, s:I, s:I, s:I, s:I}", "active", (json_int_t)t->flows_active, "created",
                  (json_int_t)t->flows_created, "ended", (json_int_t)t->flows_ended, "evicted",
                  (json_int_t)t->flows_evicted, "resumed", (json_int_t)t->flows_resumed));
    size_t rss, rss_peak;
    process_resident_bytes(&rss, &rss_peak);
    json_object_set_new(o, "memory",
                        json_pack("{s:I, s:I, s:I, s:I}", "tables_bytes",
                                  (json_int_t)table_mem_reserved(), "tables_peak_bytes",
                                  (json_int_t)table_mem_peak(), "resident_bytes", (json_int_t)rss,
                                  "resident_peak_bytes", (json_int_t)rss_peak));
    if (kafka_on)
        json_object_set_new(
            o, "kafka",
            json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "offered", (json_int_t)ks.offered,
                      "delivered", (json_int_t)ks.delivered, "failed", (json_int_t)ks.failed,
                      "dropped_queue_full", (json_int_t)ks.dropped_queue_full, "dropped_oldest",
                      (json_int_t)ks.dropped_oldest, "queued", (json_int_t)ks.queued));
    char *line = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    free(t);
    return line;
}
