/* pipeline.c - thread set-up, the dispatcher thread and the sink's ordered merge. */
#include "pipeline.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../capture/capture.h"
#include "../capture/capture_union.h"
#include "../detect/detect_alert.h"
#include "../detect/detect_storm.h"
#include "../event/event_json.h"
#include "dispatch.h"
#include "shared_reader.h"
#include "worker.h"

#define MAX_WORKERS 64
/* The sink's longest sleep between merges (see sink_wake in pipeline_run) */
#define SINK_SLEEP_LIVE_NS 1000000L     /* 1 ms */
#define SINK_SLEEP_OFFLINE_NS 20000000L /* 20 ms */

_Static_assert(TT_INPUTS_MAX == CAPTURE_UNION_MAX, "an input index is a union source");

struct dispatch_ctx {
    const struct capture_ops *ops;
    struct capture *cap;
    struct worker *workers;
    struct frame_ring *rings;
    uint32_t nworkers;
    struct dispatcher d;
    _Atomic uint64_t dispatched;
    _Atomic int done;
    _Atomic int *stop;
    uint32_t errors;
    int by_ref; /* the source's frames stay valid: pass descriptors, not bytes */
    int live;   /* a full worker queue drops the frame (counted) instead of waiting */
    _Atomic uint64_t ring_full; /* written here only; read by the sink for /metrics */
    _Atomic uint64_t ring_full_by_input[TT_INPUTS_MAX]; /* a union's: by its source */
    /* Microbursts: only the dispatcher sees every frame of an interface, so it runs one
     * detector per interface (a union of live sources may hold several: burst_of tells each
     * source's). Its burst.micro events go to the sink through a ring of its own, merged like
     * a worker's. */
    struct burst_detector *burst; /* nbursts of them, NULL: no detection */
    uint32_t nbursts;
    char (*burst_ifname)[16];
    uint8_t burst_of[CAPTURE_UNION_MAX]; /* a union's source -> its interface's detector */
    int from_union;                      /* cap is a capture_union */
    struct burst_totals bursts;
    _Atomic uint64_t bursts_seen; /* for /metrics */
    struct spsc_ring events;
    _Atomic uint64_t events_wm; /* its events are all out up to this frame */
    uint64_t events_full;       /* live: burst events dropped, the ring was full */
    uint64_t last_pushed;       /* ordinal of the last frame handed to a worker's ring */
    sem_t *sink_wake;           /* posted when the events ring is full (offline) */
    _Atomic int waiting_sink;   /* waits on its full events ring */
};

static void dispatch_emit_burst(struct dispatch_ctx *x, uint32_t det, const struct burst *b,
                                uint64_t order)
{
    struct event *e, dropped;
    int woke = 0;
    while (!(e = spsc_ring_reserve(&x->events)) && !x->live) {
        /* Offline: wait for the sink, whose merge may wait for the workers to pass this
         * frame: hand them what is queued first. */
        for (uint32_t k = 0; k < x->nworkers; k++)
            frame_ring_publish(&x->rings[k]);
        atomic_store_explicit(&x->dispatched, x->last_pushed, memory_order_release);
        atomic_store_explicit(&x->events_wm, order ? order - 1 : 0, memory_order_release);
        if (!woke) {
            atomic_store_explicit(&x->waiting_sink, 1, memory_order_relaxed);
            sem_post(x->sink_wake);
            woke = 1;
        }
        sched_yield();
    }
    if (woke) atomic_store_explicit(&x->waiting_sink, 0, memory_order_relaxed);
    if (!e) x->events_full++;
    struct event *out = e ? e : &dropped;
    memset(out, 0, offsetof(struct event, u));
    out->frame = order;
    out->type = EV_BURST_MICRO;
    out->severity = (uint8_t)event_type_severity(EV_BURST_MICRO);
    out->worker = x->nworkers;
    burst_describe(&x->burst[det], b, x->burst_ifname[det], out, &x->bursts);
    atomic_store_explicit(&x->bursts_seen, x->bursts.bursts, memory_order_relaxed);
    if (e) spsc_ring_commit(&x->events);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *dispatch_main(void *arg)
{
    struct dispatch_ctx *x = arg;
    struct frame frames[64];
    char err[512];
    for (;;) {
        if (x->stop && atomic_load_explicit(x->stop, memory_order_relaxed)) break;
        int n = x->ops->rx_burst(x->cap, frames, 64, err, sizeof(err));
        if (n == -EAGAIN) continue;
        if (n < 0) {
            fprintf(stderr, "ticktap: %s\n", err);
            x->errors++;
            continue;
        }
        if (n == 0) break;
        for (int i = 0; i < n; i++) {
            struct burst b;
            uint32_t det = x->from_union ? x->burst_of[frames[i].input] : 0;
            if (x->burst && burst_feed(&x->burst[det], frames[i].ts_ns, frames[i].wirelen, &b))
                dispatch_emit_burst(x, det, &b, frames[i].ordinal);
            uint32_t w = dispatch_pick(&x->d, &frames[i]);
            int rc;
            while ((rc = frame_ring_push(&x->rings[w], &frames[i], x->by_ref)) == -ENOSPC) {
                if (x->live) { /* live frames cannot wait: the kernel would drop them instead */
                    atomic_store_explicit(
                        &x->ring_full,
                        atomic_load_explicit(&x->ring_full, memory_order_relaxed) + 1,
                        memory_order_relaxed);
                    if (x->from_union) {
                        _Atomic uint64_t *by = &x->ring_full_by_input[frames[i].input];
                        atomic_store_explicit(by,
                                              atomic_load_explicit(by, memory_order_relaxed) + 1,
                                              memory_order_relaxed);
                    }
                    break;
                }
                /* Offline input waits for the worker. Publish what is queued first: the
                 * worker needs it, and the sink's merge may wait on a watermark. */
                for (uint32_t k = 0; k < x->nworkers; k++)
                    frame_ring_publish(&x->rings[k]);
                if (i > 0)
                    atomic_store_explicit(&x->dispatched, frames[i - 1].ordinal,
                                          memory_order_release);
                sched_yield();
            }
            if (rc == -EMSGSIZE) { /* larger than half a ring: keep its head */
                struct frame cut = frames[i];
                cut.caplen = 65536;
                frame_ring_push(&x->rings[w], &cut, x->by_ref);
            }
            x->last_pushed = frames[i].ordinal;
        }
        for (uint32_t k = 0; k < x->nworkers; k++)
            frame_ring_publish(&x->rings[k]);
        atomic_store_explicit(&x->events_wm, frames[n - 1].ordinal, memory_order_release);
        atomic_store_explicit(&x->dispatched, frames[n - 1].ordinal, memory_order_release);
    }
    struct burst b;
    for (uint32_t det = 0; x->burst && det < x->nbursts; det++)
        if (burst_finish(&x->burst[det], &b)) dispatch_emit_burst(x, det, &b, EVENT_ORDER_END);
    atomic_store_explicit(&x->events_wm, EVENT_ORDER_END, memory_order_release);
    atomic_store_explicit(&x->done, 1, memory_order_release);
    return NULL;
}

struct sink {
    int live; /* emit as events come: no frame order to restore across live sources */
    FILE *out;
    struct kafka_sink *kafka;
    struct run_result *res;
    struct storm_detector rst, fin;
    struct alert_detector alerts;
    struct event alert_buf[ALERT_MAX_RULES];
    char line[8192];
    /* exported while running (metrics.h) */
    struct metrics *metrics;
    int live_source; /* packet times are wall-clock times: their delay is meaningful */
    uint64_t events_sev[EV_MAX][3];
    struct metrics_sink_snap snap; /* built here, copied into the registry */
    struct prom_hist event_delay;
    uint64_t next_publish_ns, next_stats_ns, last_stats_ns, kafka_stats_ns;
    struct dispatch_ctx *dx;
};

static void sink_emit(struct sink *s, struct event *e);

/* Feeds one occurrence to a storm detector; when it fires, emits the storm event, carrying the
 * flow of the occurrence that tipped it over. */
static void storm_check(struct sink *s, struct storm_detector *det, const struct event *e,
                        enum event_type storm)
{
    if (!storm_feed(det, e->ts_ns)) return;
    struct event st = *e;
    st.type = (uint16_t)storm;
    st.severity = (uint8_t)event_type_severity(storm);
    st.u.storm.count = det->threshold;
    st.u.storm.window_ns = det->window_ns;
    sink_emit(s, &st);
}

static void sink_emit(struct sink *s, struct event *e)
{
    if (e->type == EV_TCP_FIN) { /* internal only: feeds the FIN-storm detector */
        storm_check(s, &s->fin, e, EV_TCP_FIN_STORM);
        return;
    }
    s->res->events[e->type]++;
    s->events_sev[e->type][e->severity < 3 ? e->severity : 2]++;
    if (s->live_source && s->metrics) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        uint64_t now = (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
        if (now > e->ts_ns) prom_hist_observe(&s->event_delay, now - e->ts_ns);
    }
    if (s->out || s->kafka) {
        size_t n = event_to_json(e, s->line, sizeof(s->line));
        if (s->out) {
            fwrite(s->line, 1, n, s->out);
        }
        if (s->kafka) kafka_sink_send(s->kafka, e, s->line, n);
    }
    if (e->type == EV_TCP_RESET) storm_check(s, &s->rst, e, EV_TCP_RST_STORM);
    if (s->alerts.rules.n && e->type != EV_ALERT) {
        struct event fired[ALERT_MAX_RULES];
        int n = alert_feed(&s->alerts, e, fired, ALERT_MAX_RULES);
        for (int i = 0; i < n; i++)
            sink_emit(s, &fired[i]);
    }
}

/* Merge order: frame, then the secondary key, then the flow id (the order in which a worker
 * flushes its flows at the end), so the output never depends on the number of workers. */
static int event_before(const struct event *a, const struct event *b)
{
    if (a->frame != b->frame) return a->frame < b->frame;
    if (a->sub != b->sub) return a->sub < b->sub;
    return a->flow_id < b->flow_id;
}

/* Pops, in frame order, every event that can no longer be overtaken by an earlier one.
 * Returns how many were taken. An event at order k from worker i can go out when every other
 * worker either holds an event that sorts after it, or has an empty ring and a watermark at
 * or past k (anything it emits later sorts after k). */
struct event_source {
    struct spsc_ring *ring;
    _Atomic uint64_t *watermark;
};

static int sink_drain(struct sink *s, const struct event_source *src, uint32_t n)
{
    int taken = 0;
    for (;;) {
        uint64_t wm[MAX_WORKERS + 1];
        struct event *head[MAX_WORKERS + 1];
        for (uint32_t i = 0; i < n; i++) {
            wm[i] = atomic_load_explicit(src[i].watermark, memory_order_acquire);
            head[i] = spsc_ring_peek(src[i].ring);
        }
        int best = -1;
        for (uint32_t i = 0; i < n; i++)
            if (head[i] && (best < 0 || (s->live ? head[i]->ts_ns < head[best]->ts_ns
                                                 : event_before(head[i], head[best]))))
                best = (int)i;
        if (best < 0) return taken;
        uint64_t k = head[best]->frame;
        for (uint32_t i = 0; i < n && !s->live; i++) {
            if ((int)i == best || head[i]) continue;
            if (wm[i] < k || (k == EVENT_ORDER_END && wm[i] != EVENT_ORDER_END))
                return taken; /* worker i may still emit something earlier */
        }
        sink_emit(s, head[best]);
        spsc_ring_pop(src[best].ring);
        taken++;
    }
}

/* The sink's counters for /metrics, every publish interval (and at the end). */
static void sink_publish(struct sink *s, int final)
{
    if (!s->metrics) return;
    struct metrics_sink_snap *snap = &s->snap;
    memcpy(snap->events, s->events_sev, sizeof(snap->events));
    snap->event_delay = s->event_delay;
    if (s->kafka) {
        snap->kafka_on = 1;
        kafka_sink_stats(s->kafka, &snap->kafka);
        prom_hist_from_hist(&snap->kafka_delivery, kafka_sink_delivery_hist(s->kafka));
        prom_hist_from_hist(&snap->kafka_e2e, kafka_sink_e2e_hist(s->kafka));
    }
    if (s->dx) {
        snap->dispatch_ring_full = atomic_load_explicit(&s->dx->ring_full, memory_order_relaxed);
        for (int i = 0; i < TT_INPUTS_MAX; i++)
            snap->dispatch_ring_full_by_input[i] =
                atomic_load_explicit(&s->dx->ring_full_by_input[i], memory_order_relaxed);
        snap->dispatch_bursts = atomic_load_explicit(&s->dx->bursts_seen, memory_order_relaxed);
    }
    snap->heartbeat_ns = final ? UINT64_MAX : metrics_now_ns(); /* done: never stuck */
    metrics_sink_publish(s->metrics, snap);
}

/* A stats record on Kafka's stats topic every kafka.stats_interval, and one at the end. */
static void sink_stats_record(struct sink *s, int final)
{
    if (!s->metrics || !s->kafka || !s->kafka_stats_ns) return;
    uint64_t now = metrics_now_ns();
    if (!final && now < s->next_stats_ns) return;
    s->next_stats_ns = now + s->kafka_stats_ns;
    sink_publish(s, 0);
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    char *line =
        metrics_stats_json(s->metrics, (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec,
                           now - s->last_stats_ns);
    s->last_stats_ns = now;
    if (line) kafka_sink_send_stats(s->kafka, 0, line, strlen(line));
    free(line);
}

static void show_progress(struct worker *ws, uint32_t n, double t0)
{
    uint64_t frame = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t w = atomic_load_explicit(&ws[i].watermark, memory_order_relaxed);
        if (w != EVENT_ORDER_END && w > frame) frame = w;
    }
    double dt = now_s() - t0;
    fprintf(stderr, "\r  %.2f M frames  %.1f s  %.2f Mpps ", (double)frame / 1e6, dt,
            dt > 0 ? (double)frame / dt / 1e6 : 0.0);
}

int pipeline_run(const struct tt_config *cfg, const struct run_options *opt, struct run_result *res,
                 char *err, size_t errlen)
{
    memset(res, 0, sizeof(*res));
    uint32_t nw = cfg->workers ? cfg->workers : 1;
    if (nw > MAX_WORKERS) {
        snprintf(err, errlen, "--workers %u: at most %d", nw, MAX_WORKERS);
        return -EINVAL;
    }
    int live = opt->nlive > 0, rc;
    const struct capture_ops *ops;
    struct capture *cap = NULL, *joined = NULL;
    /* The live sources' interfaces, in order of first appearance: a microburst detector each. */
    const char *ifnames[CAPTURE_UNION_MAX];
    uint8_t iface_of[CAPTURE_UNION_MAX];
    uint32_t nifaces = 0;
    if (live) {
        if (opt->nlive > CAPTURE_UNION_MAX) {
            snprintf(err, errlen, "%d capture queues: at most %d", opt->nlive, CAPTURE_UNION_MAX);
            return -EINVAL;
        }
        for (int i = 0; i < opt->nlive; i++) {
            const char *name = opt->live[i].ifname ? opt->live[i].ifname : "live";
            uint32_t k = 0;
            while (k < nifaces && strcmp(ifnames[k], name))
                k++;
            if (k == nifaces) ifnames[nifaces++] = name;
            iface_of[i] = (uint8_t)k;
        }
        ops = opt->live[0].ops;
        cap = opt->live[0].cap;
        if (opt->nlive > 1) {
            /* Several queues or interfaces are read as one source and steered like a file:
             * RSS may split a connection's directions, or a feed's A and B copies, over
             * queues; steered by flow and session they meet on one worker. */
            const struct capture_ops *sops[CAPTURE_UNION_MAX];
            struct capture *scaps[CAPTURE_UNION_MAX];
            for (int i = 0; i < opt->nlive; i++) {
                sops[i] = opt->live[i].ops;
                scaps[i] = opt->live[i].cap;
            }
            if (!(joined = capture_union_new(sops, scaps, opt->nlive, cfg->coalesce_ns))) {
                snprintf(err, errlen, "cannot read %d capture sources together (out of memory)",
                         opt->nlive);
                return -ENOMEM;
            }
            ops = &capture_union_ops;
            cap = joined;
        }
    } else {
        ops = capture_find("pcap-file");
        if ((rc = ops->open(&cap, opt->paths, opt->npaths, opt->filter, err, errlen))) return rc;
    }

    /* Capture files are read by the workers in turns (shared reading); live sources (one, or
     * several read as one) need a dispatcher thread for several workers, and for several
     * interfaces, whose microbursts it detects apart. */
    struct capture_stats cs0;
    ops->stats(cap, &cs0);
    int shared = !live && nw > 1 && ops->rx_into && !cfg->dispatch_thread;
    int dispatched = (nw > 1 || nifaces > 1) && !shared;
    struct shared_reader *sr = shared ? aligned_alloc(64, sizeof(*sr)) : NULL;
    if (sr) sr->chunks = NULL;
    struct worker *ws = aligned_alloc(64, sizeof(struct worker) * nw);
    struct frame_ring *rings = dispatched ? calloc(nw, sizeof(*rings)) : NULL;
    struct dispatch_ctx *dx = dispatched ? calloc(1, sizeof(*dx)) : NULL;
    if (!ws || (dispatched && (!rings || !dx)) || (shared && !sr)) {
        snprintf(err, errlen, "out of memory for %u workers", nw);
        if (!live || joined) ops->close(cap);
        free(ws);
        free(rings);
        free(dx);
        free(sr);
        return -ENOMEM;
    }
    uint32_t inited = 0;
    for (; inited < nw; inited++) {
        rc = worker_init(&ws[inited], (int)inited, cfg);
        if (!rc && dispatched) rc = frame_ring_init(&rings[inited], cfg->frame_ring_bytes);
        if (!rc && opt->nlive > 1) rc = stats_track_inputs(&ws[inited].st, (uint32_t)opt->nlive);
        if (rc) {
            snprintf(err, errlen,
                     "cannot allocate worker %u: %s (lower flow.max_flows or tcp.rtt_segments)",
                     inited, strerror(-rc));
            goto out;
        }
        ws[inited].stop = opt->stop;
        ws[inited].live = live && opt->wall_clock_idle;
    }
    /* Microbursts need every frame of an interface in one place: the only worker (reading
     * the only interface), or the shared reader as it fills chunks (worker 0 reports). With a
     * dispatcher thread (which hands frames out by flow) the dispatcher does it. */
    const char *ifname = live ? ifnames[0] : "capture";
    if (!dispatched && nw == 1) {
        ws[0].src_ops = ops;
        ws[0].src = cap;
        rc = worker_enable_bursts(&ws[0], ifname);
    } else if (shared) {
        rc = worker_enable_bursts(&ws[0], ifname);
    }
    if (rc) {
        snprintf(err, errlen, "out of memory for the microburst detector");
        goto out;
    }
    if (!dispatched && nw == 1) {
        /* the source assigned above */
    } else if (shared) {
        struct dispatcher d;
        dispatch_init(&d, nw, cfg->decode.vxlan_port, cfg->decode.geneve_port,
                      cfg->decode.gtpu_port);
        d.trading = &cfg->trading;
        if (shared_reader_init(sr, ops, cap, nw, &d, ws[0].burst, WORKER_HOUSEKEEP_NS, opt->stop)) {
            snprintf(err, errlen, "out of memory for the shared reader's chunks");
            rc = -ENOMEM;
            goto out;
        }
        for (uint32_t i = 0; i < nw; i++)
            ws[i].shared = sr;
    } else {
        dx->ops = ops;
        dx->cap = cap;
        dx->workers = ws;
        dx->rings = rings;
        dx->nworkers = nw;
        dx->stop = opt->stop;
        dx->by_ref = cs0.frames_stable;
        dx->live = live && !cfg->overflow_block;
        dispatch_init(&dx->d, nw, cfg->decode.vxlan_port, cfg->decode.geneve_port,
                      cfg->decode.gtpu_port);
        dx->d.trading = &cfg->trading;
        atomic_init(&dx->dispatched, 0);
        atomic_init(&dx->done, 0);
        atomic_init(&dx->waiting_sink, 0);
        atomic_init(&dx->events_wm, 0);
        dx->from_union = joined != NULL;
        for (int i = 0; joined && i < opt->nlive; i++)
            dx->burst_of[i] = iface_of[i];
        if (cfg->burst_link_mbps) { /* no worker sees every frame: the dispatcher looks */
            dx->nbursts = nifaces ? nifaces : 1;
            dx->burst = calloc(dx->nbursts, sizeof(*dx->burst));
            dx->burst_ifname = calloc(dx->nbursts, sizeof(*dx->burst_ifname));
            if (!dx->burst || !dx->burst_ifname ||
                spsc_ring_init(&dx->events, cfg->event_ring, sizeof(struct event))) {
                snprintf(err, errlen, "out of memory for the microburst detector");
                rc = -ENOMEM;
                goto out;
            }
            for (uint32_t k = 0; k < dx->nbursts; k++) {
                burst_init(&dx->burst[k], cfg->burst_window_ns,
                           cfg->burst_link_mbps * 1000000ull, cfg->burst_fraction_pct / 100.0);
                snprintf(dx->burst_ifname[k], sizeof(dx->burst_ifname[k]), "%s",
                         live ? ifnames[k] : ifname);
            }
        }
        for (uint32_t i = 0; i < nw; i++) {
            ws[i].in_ring = &rings[i];
            ws[i].dispatched = &dx->dispatched;
            ws[i].dispatch_done = &dx->done;
            ws[i].dispatch_live = live;
        }
    }

    struct sink s;
    memset(&s, 0, sizeof(s));
    s.live = 0; /* one source (or a union of them): frame ordinals are global, merged in order */
    s.out = opt->events_out;
    s.kafka = opt->kafka;
    s.res = res;
    if (storm_init(&s.rst, cfg->rst_storm_threshold, cfg->storm_window_ns,
                   cfg->storm_cooldown_ns) ||
        storm_init(&s.fin, cfg->fin_storm_threshold, cfg->storm_window_ns,
                   cfg->storm_cooldown_ns)) {
        snprintf(err, errlen, "out of memory for storm detectors");
        rc = -ENOMEM;
        goto out;
    }
    if (alert_init(&s.alerts, &cfg->alerts, cfg->alert_keys)) {
        snprintf(err, errlen, "out of memory for alert rules (lower alert.keys)");
        rc = -ENOMEM;
        goto out;
    }

    /* Exported while running: the caller's registry, or a private one for Kafka's stats. */
    struct metrics own_metrics, *m = opt->metrics;
    if (!m && opt->kafka && cfg->kafka.stats_interval_ns) {
        metrics_init(&own_metrics, &cfg->metrics);
        m = &own_metrics;
    }
    if (m && metrics_attach_workers(m, nw)) {
        snprintf(err, errlen, "out of memory for the metrics of %u workers", nw);
        rc = -ENOMEM;
        if (m == &own_metrics) metrics_fini(m);
        goto out;
    }
    if (m && opt->nlive > 1) { /* a row per queue or interface, as the workers count them */
        const char *names[TT_INPUTS_MAX];
        int queues[TT_INPUTS_MAX];
        for (int i = 0; i < opt->nlive && i < TT_INPUTS_MAX; i++) {
            names[i] = opt->live[i].ifname ? opt->live[i].ifname : "live";
            queues[i] = opt->live[i].queue;
        }
        metrics_set_inputs(m, (uint32_t)opt->nlive, names, queues);
    }
    for (uint32_t i = 0; m && i < nw; i++) {
        struct metrics_worker *mw = &m->workers[i];
        if (live) { /* the input every worker shares: one queue, an interface, or all */
            snprintf(mw->ifname, sizeof(mw->ifname), "%s", nifaces == 1 ? ifnames[0] : "all");
            mw->queue = opt->nlive == 1 ? opt->live[0].queue : -1;
        }
        ws[i].mw = mw;
    }
    s.metrics = m;
    s.live_source = live;
    s.dx = dx;
    s.kafka_stats_ns = cfg->kafka.stats_interval_ns;
    s.last_stats_ns = metrics_now_ns();
    s.next_stats_ns = s.last_stats_ns + s.kafka_stats_ns;
    if (opt->kafka) kafka_sink_set_mode(opt->kafka, live, !live && cfg->overflow_block);

    /* The sink sleeps on this between merges; a worker posts it when done (a short run's
     * wall time is not rounded up to a sleep) or when its event ring is full. Live, events
     * leave within a millisecond, and Kafka's delivery reports are served as often. Offline
     * the sink sleeps longer: every wake-up on a core the workers keep busy preempts one. */
    sem_t sink_wake;
    sem_init(&sink_wake, 0, 0);
    for (uint32_t i = 0; i < nw; i++)
        ws[i].sink_wake = &sink_wake;
    if (dx) dx->sink_wake = &sink_wake;
    long sleep_ns = live || opt->kafka ? SINK_SLEEP_LIVE_NS : SINK_SLEEP_OFFLINE_NS;
    double t0 = now_s(), next_progress = t0 + 2.0;
    double tick_every = opt->tick_interval_ns ? (double)opt->tick_interval_ns / 1e9 : 1.0;
    double next_tick = t0 + tick_every;
    pthread_t tids[MAX_WORKERS], dtid;
    for (uint32_t i = 0; i < nw; i++) {
        char name[16]; /* as top -H and perf show them */
        pthread_create(&tids[i], NULL, worker_main, &ws[i]);
        snprintf(name, sizeof(name), "tt-worker%u", i);
        pthread_setname_np(tids[i], name);
    }
    if (dx) {
        pthread_create(&dtid, NULL, dispatch_main, dx);
        pthread_setname_np(dtid, "tt-dispatch");
    }

    /* where events come from: the workers, and the dispatcher's microbursts */
    struct event_source srcs[MAX_WORKERS + 1];
    uint32_t nsrc = 0;
    for (uint32_t i = 0; i < nw; i++)
        srcs[nsrc++] = (struct event_source){&ws[i].events, &ws[i].watermark};
    if (dx && dx->burst) srcs[nsrc++] = (struct event_source){&dx->events, &dx->events_wm};

    int progress_shown = 0;
    for (;;) {
        int all_done = 1;
        for (uint32_t i = 0; i < nw; i++)
            if (!atomic_load_explicit(&ws[i].done, memory_order_acquire)) all_done = 0;
        int taken = sink_drain(&s, srcs, nsrc);
        if (s.kafka) kafka_sink_poll(s.kafka);
        if (m && metrics_now_ns() >= s.next_publish_ns) {
            sink_publish(&s, 0);
            s.next_publish_ns = metrics_now_ns() + cfg->metrics.publish_interval_ns;
        }
        sink_stats_record(&s, 0);
        if (all_done) {
            int left = 0;
            for (uint32_t i = 0; i < nsrc; i++)
                if (spsc_ring_peek(srcs[i].ring)) left = 1;
            if (!left) break;
            continue;
        }
        if (opt->tick && now_s() >= next_tick) {
            struct event ticked[16];
            int n = opt->tick(opt->tick_arg, ticked, 16);
            for (int i = 0; i < n; i++)
                sink_emit(&s, &ticked[i]);
            next_tick = now_s() + tick_every;
        }
        if (opt->progress && now_s() >= next_progress) {
            show_progress(ws, nw, t0);
            progress_shown = 1;
            next_progress = now_s() + 0.5;
        }
        if (!taken) { /* nothing to merge: let the workers have the cores */
            struct timespec until;
            /* a full ring whose events the merge cannot take yet (another worker is
             * behind): look again soon, as live */
            long ns = sleep_ns;
            for (uint32_t i = 0; i < nw; i++)
                if (atomic_load_explicit(&ws[i].waiting_sink, memory_order_relaxed))
                    ns = SINK_SLEEP_LIVE_NS;
            if (dx && atomic_load_explicit(&dx->waiting_sink, memory_order_relaxed))
                ns = SINK_SLEEP_LIVE_NS;
            clock_gettime(CLOCK_MONOTONIC, &until);
            until.tv_nsec += ns;
            if (until.tv_nsec >= 1000000000) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000;
            }
            sem_clockwait(&sink_wake, CLOCK_MONOTONIC, &until);
        }
    }
    if (opt->tick) { /* a last look, so what happened since the previous tick is reported */
        struct event ticked[16];
        int n = opt->tick(opt->tick_arg, ticked, 16);
        for (int i = 0; i < n; i++)
            sink_emit(&s, &ticked[i]);
    }
    { /* alerts still firing when the run ends are resolved, so every alert is closed */
        int n = alert_finish(&s.alerts, s.alert_buf, ALERT_MAX_RULES);
        while (n > 0) {
            for (int i = 0; i < n; i++)
                sink_emit(&s, &s.alert_buf[i]);
            n = alert_finish(&s.alerts, s.alert_buf, ALERT_MAX_RULES);
        }
    }
    if (progress_shown) fprintf(stderr, "\r%60s\r", "");
    if (dx) pthread_join(dtid, NULL);
    for (uint32_t i = 0; i < nw; i++)
        pthread_join(tids[i], NULL);
    sem_destroy(&sink_wake);
    if (s.out) fflush(s.out);
    sink_stats_record(&s, 1); /* the totals, before the flush delivers them */
    if (s.kafka) {
        kafka_sink_flush(s.kafka, &res->kafka);
        res->kafka_used = 1;
        res->kafka_delivery = *kafka_sink_delivery_hist(s.kafka);
        res->kafka_e2e = *kafka_sink_e2e_hist(s.kafka);
    }
    sink_publish(&s, 1);
    if (m == &own_metrics) metrics_fini(m);
    res->wall_seconds = now_s() - t0;

    stats_init(&res->st, cfg->talkers_max * (nw > 4 ? 4 : nw), cfg->top_n);
    for (uint32_t i = 0; i < nw; i++) {
        stats_merge(&res->st, &ws[i].st);
        res->st.counters[TT_C_TCP_UNACKED_POOL_FULL] += ws[i].segs.exhausted;
        res->capture_errors += ws[i].src_errors;
    }
    if (sr) {
        res->capture_errors += sr->errors;
        res->st.counters[TT_C_DISPATCH_UNSTEERED] += sr->d.unsteered;
    }
    if (dx) {
        res->capture_errors += dx->errors;
        res->st.counters[TT_C_DISPATCH_RING_FULL] += atomic_load(&dx->ring_full);
        res->st.counters[TT_C_DISPATCH_UNSTEERED] += dx->d.unsteered;
        if (dx->burst) {
            burst_totals_merge(&res->st.trading.bursts, &dx->bursts);
            for (uint32_t k = 0; k < dx->nbursts; k++)
                res->st.counters[TT_C_BURST_RING_FULL] += dx->burst[k].ring_overflow;
            res->st.counters[TT_C_EVENT_RING_FULL] += dx->events_full;
        }
    }
    res->st.counters[TT_C_TALKERS_FULL] += res->st.talkers.untracked;
    res->st.counters[TT_C_ALERT_KEYS_EVICTED] += s.alerts.evicted;
    struct capture_stats cs;
    ops->stats(cap, &cs);
    if (!live) res->st.counters[TT_C_CAPTURE_TRUNCATED_FILE] += cs.truncated_files;
    res->interrupted = opt->stop && atomic_load(opt->stop);
    rc = 0;
    storm_fini(&s.rst);
    storm_fini(&s.fin);
    alert_fini(&s.alerts);
out:
    for (uint32_t i = 0; i < inited; i++) {
        worker_fini(&ws[i]);
        if (rings) frame_ring_fini(&rings[i]);
    }
    if (rings && inited < nw && rings[inited].buf) frame_ring_fini(&rings[inited]);
    if (!live || joined) ops->close(cap); /* a union closes none of the live sources */
    if (dx && dx->burst) {
        spsc_ring_fini(&dx->events);
        free(dx->burst);
        free(dx->burst_ifname);
    }
    if (sr) shared_reader_fini(sr);
    free(sr);
    free(ws);
    free(rings);
    free(dx);
    return rc;
}

void run_result_fini(struct run_result *res)
{
    stats_fini(&res->st);
}
