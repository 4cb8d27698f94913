/* pipeline.c - a run in named steps: plan the threads from the config, open the source, build
 * the workers, how frames reach them and the sink, start, run the sink loop on the calling
 * thread, join, collect; then one clean-up in reverse order (see pipeline.h). */
#include "pipeline.h"

#include <jansson.h>

#include <errno.h>
#include <stdio.h>
#include <inttypes.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../capture/capture.h"
#include "../capture/capture_csv.h"
#include "../capture/capture_union.h"
#include "../sink/sink.h"
#include "../util/clock.h"
#include "dispatch.h"
#include "shared_reader.h"
#include "worker.h"

#define MAX_WORKERS 64
/* The sink's longest sleep between merges (see the sink loop) */
#define SINK_SLEEP_LIVE_NS 1000000L     /* 1 ms */
#define SINK_SLEEP_OFFLINE_NS 20000000L /* 20 ms */
#define SINK_SLEEP_LIVE_MAX_NS 8000000L /* 8 ms */
/* Live: a wakeup that merged fewer events than this lets the next sleep grow (a ring holds
 * thousands: at the longest sleep a worker would have to emit a million events a second to
 * fill its ring); more bring it back to the shortest. */
#define SINK_BATCH_BUSY 256

_Static_assert(TT_INPUTS_MAX == CAPTURE_UNION_MAX, "an input index is a union source");
_Static_assert(SINK_SOURCES_MAX >= MAX_WORKERS + READERS_MAX, "every worker and reader");
_Static_assert(READERS_MAX == CAPTURE_UNION_MAX, "a reader per live source");

struct pipeline {
    const struct tt_config *cfg;
    const struct run_options *opt;
    struct run_result *res;
    /* the plan */
    uint32_t nw;
    int live;
    int shared;       /* files read by the workers in turns (shared_reader.h) */
    int dispatched;   /* a dispatcher thread hands frames out, or (readers) one per queue */
    uint32_t readers; /* live queues read by a thread each (reader_order.h); 0: one reads all */
    const char *ifnames[CAPTURE_UNION_MAX]; /* the live interfaces, in order of appearance */
    uint8_t iface_of[CAPTURE_UNION_MAX];    /* live source -> its interface */
    uint32_t nifaces;
    /* what was built; teardown() undoes what is there */
    const struct capture_ops *ops;
    struct capture *cap;
    int own_cap; /* files, or the union of live sources: closed here */
    struct worker *ws;
    uint32_t nws; /* initialised */
    struct frame_ring *rings;
    uint32_t nrings;
    struct burst_set bursts;
    struct shared_reader *sr;
    struct dispatch_thread *dx; /* the dispatcher, or the readers */
    uint32_t ndx, dx_ready;
    struct reader_order *order;
    struct dispatch_shared *steer;
    struct burst_set *reader_bursts;
    struct ring_merge *merges;
    uint32_t nmerges;
    struct sink sink;
    int sink_ready;
    struct metrics own_metrics, *m;
    sem_t sink_wake;
    long sink_idle_ns; /* the sink's next sleep when it finds nothing (live) */
    int sem_ready;
    pthread_t tids[MAX_WORKERS], dtids[READERS_MAX];
    struct event_source srcs[SINK_SOURCES_MAX];
    uint32_t nsrc;
    double t0;
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Workers, live interfaces, and how frames reach the workers: capture files are read by the
 * workers in turns (shared reading); live sources (one, or several read as one) need a
 * dispatcher thread for several workers, and for several interfaces, whose microbursts it
 * detects apart. */
static int plan(struct pipeline *p, char *err, size_t errlen)
{
    const struct run_options *opt = p->opt;
    p->nw = p->cfg->workers ? p->cfg->workers : 1;
    if (p->nw > MAX_WORKERS) {
        snprintf(err, errlen, "--workers %u: at most %d", p->nw, MAX_WORKERS);
        return -EINVAL;
    }
    p->live = opt->nlive > 0;
    if (opt->nlive > CAPTURE_UNION_MAX) {
        snprintf(err, errlen, "%d capture queues: at most %d", opt->nlive, CAPTURE_UNION_MAX);
        return -EINVAL;
    }
    for (int i = 0; i < opt->nlive; i++) {
        const char *name = opt->live[i].ifname ? opt->live[i].ifname : "live";
        uint32_t k = 0;
        while (k < p->nifaces && strcmp(p->ifnames[k], name))
            k++;
        if (k == p->nifaces) p->ifnames[p->nifaces++] = name;
        p->iface_of[i] = (uint8_t)k;
    }
    /* Polled queues (DPDK) at rates one thread cannot read for several workers: a reader
     * each. Replays, which must equal the file offline, keep one reader merging by time. */
    int own = p->live && opt->nlive > 1 && p->nw > 1 && p->cfg->queue_readers && !opt->replay;
    for (int i = 0; own && i < opt->nlive; i++)
        own = opt->live[i].own_reader;
    p->readers = own ? (uint32_t)opt->nlive : 0;
    return 0;
}

/* Files are opened here; several live sources are read as one (a union) and steered like a
 * file: RSS may split a connection's directions, or a feed's A and B copies, over queues;
 * steered by flow and session they meet on one worker. */
static int open_source(struct pipeline *p, char *err, size_t errlen)
{
    const struct run_options *opt = p->opt;
    if (!p->live) {
        int csv = 0;
        for (int i = 0; i < opt->npaths; i++)
            csv += capture_csv_is_csv(opt->paths[i]);
        p->ops = csv ? &capture_csv_ops : capture_find("pcap-file");
        int rc = p->ops->open(&p->cap, opt->paths, opt->npaths, opt->filter, err, errlen);
        p->own_cap = !rc;
        return rc;
    }
    p->ops = opt->live[0].ops;
    p->cap = opt->live[0].cap;
    if (opt->nlive == 1 || p->readers) return 0;
    const struct capture_ops *sops[CAPTURE_UNION_MAX];
    struct capture *scaps[CAPTURE_UNION_MAX];
    for (int i = 0; i < opt->nlive; i++) {
        sops[i] = opt->live[i].ops;
        scaps[i] = opt->live[i].cap;
    }
    struct capture *joined = capture_union_new(sops, scaps, opt->nlive, p->cfg->coalesce_ns);
    if (!joined) {
        snprintf(err, errlen, "cannot read %d capture sources together (out of memory)",
                 opt->nlive);
        return -ENOMEM;
    }
    p->ops = &capture_union_ops;
    p->cap = joined;
    p->own_cap = 1; /* a union closes none of the live sources */
    return 0;
}

static int build_workers(struct pipeline *p, char *err, size_t errlen)
{
    const struct tt_config *cfg = p->cfg;
    p->shared = !p->live && p->nw > 1 && p->ops->rx_into && !cfg->dispatch_thread;
    p->dispatched = (p->nw > 1 || p->nifaces > 1) && !p->shared;
    p->ws = aligned_alloc(64, sizeof(struct worker) * p->nw);
    uint32_t rows = p->readers ? p->readers : 1; /* rings[r * nw + w]: reader r to worker w */
    p->rings = p->dispatched ? calloc((size_t)p->nw * rows, sizeof(*p->rings)) : NULL;
    if (!p->ws || (p->dispatched && !p->rings)) {
        snprintf(err, errlen, "out of memory for %u workers", p->nw);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < p->nw; i++) {
        int rc = worker_init(&p->ws[i], (int)i, cfg);
        if (!rc) p->nws++;
        if (!rc && p->opt->nlive > 1)
            rc = stats_track_inputs(&p->ws[i].st, (uint32_t)p->opt->nlive);
        if (rc) {
            snprintf(err, errlen,
                     "cannot allocate worker %u: %s (lower flow.max_flows or tcp.rtt_segments)", i,
                     strerror(-rc));
            return rc;
        }
        p->ws[i].stop = p->opt->stop;
        p->ws[i].live = p->live && p->opt->wall_clock_idle;
        if (p->live) spsc_ring_prefault(&p->ws[i].events);
        p->ws[i].no_tcp_analysis =
            p->ops == &capture_csv_ops && (capture_csv_limits(p->cap) & CAPTURE_NO_TCP_NUMBERS);
    }
    /* a worker's ring bytes are split among its readers */
    for (uint32_t k = 0; p->dispatched && k < p->nw * rows; k++) {
        if (frame_ring_init(&p->rings[k], cfg->frame_ring_bytes / rows)) {
            snprintf(err, errlen,
                     "out of memory for the frame rings (lower pipeline.frame_ring_bytes)");
            return -ENOMEM;
        }
        p->nrings++;
        if (p->live) frame_ring_prefault(&p->rings[k]);
    }
    return 0;
}

/* Readers of a port's queues each see a share of its frames: each detects the bursts of its
 * queue, against the queue's share of the link's rate (RSS spreads flows evenly). */
static int build_reader_bursts(struct pipeline *p, char *err, size_t errlen)
{
    const struct tt_config *cfg = p->cfg;
    p->reader_bursts = calloc(p->readers, sizeof(*p->reader_bursts));
    if (!p->reader_bursts) {
        snprintf(err, errlen, "out of memory for the microburst detectors");
        return -ENOMEM;
    }
    for (uint32_t r = 0; r < p->readers; r++) {
        uint32_t queues = 0;
        for (uint32_t k = 0; k < p->readers; k++)
            queues += p->iface_of[k] == p->iface_of[r];
        if (burst_set_init(&p->reader_bursts[r], 1, &p->ifnames[p->iface_of[r]],
                           cfg->burst_window_ns, cfg->burst_link_mbps * 1000000ull / queues,
                           cfg->burst_fraction_pct / 100.0)) {
            snprintf(err, errlen, "out of memory for the microburst detectors");
            return -ENOMEM;
        }
    }
    return 0;
}

/* Microbursts need every frame of an interface in one place: the only worker (reading the
 * only interface), the shared reader as it fills chunks (worker 0 says them), or else the
 * dispatcher thread, with a detector per interface. */
static int build_bursts(struct pipeline *p, char *err, size_t errlen)
{
    const struct tt_config *cfg = p->cfg;
    static const char *const offline[1] = {"capture"};
    if (p->readers) return build_reader_bursts(p, err, errlen);
    int rc = burst_set_init(&p->bursts, p->live ? p->nifaces : 1, p->live ? p->ifnames : offline,
                            cfg->burst_window_ns, cfg->burst_link_mbps * 1000000ull,
                            cfg->burst_fraction_pct / 100.0);
    if (rc) {
        snprintf(err, errlen, "out of memory for the microburst detector");
        return rc;
    }
    if (p->bursts.n && !p->dispatched) {
        p->ws[0].burst = &p->bursts.det[0];
        p->ws[0].burst_ifname = p->bursts.ifname[0];
    }
    return 0;
}

/* A reader thread per queue, each steering into its own row of rings with the one steering
 * table; each worker merges its column by ordinal (reader_order.h). */
static int build_readers(struct pipeline *p, char *err, size_t errlen)
{
    const struct tt_config *cfg = p->cfg;
    const struct run_options *opt = p->opt;
    uint32_t nr = p->readers;
    p->dx = calloc(nr, sizeof(*p->dx));
    p->order = aligned_alloc(64, sizeof(*p->order));
    p->steer = calloc(1, sizeof(*p->steer));
    p->merges = calloc(p->nw, sizeof(*p->merges));
    if (!p->dx || !p->order || !p->steer || !p->merges) {
        snprintf(err, errlen, "out of memory for the queue readers");
        return -ENOMEM;
    }
    reader_order_init(p->order, nr);
    for (uint32_t r = 0; r < nr; r++) {
        struct dispatch_thread *x = &p->dx[r];
        if (dispatch_thread_init(x, cfg, opt->live[r].ops, opt->live[r].cap,
                                 &p->rings[(size_t)r * p->nw], p->nw, p->live,
                                 &p->reader_bursts[r])) {
            snprintf(err, errlen, "out of memory for the queue readers");
            return -ENOMEM;
        }
        p->ndx = p->dx_ready = r + 1;
        dispatch_share(&x->d, p->steer);
        x->stop = opt->stop;
        x->order = p->order;
        x->reader = r;
        x->input = (uint8_t)r;
    }
    for (uint32_t w = 0; w < p->nw; w++) {
        struct frame_ring **col = calloc(nr, sizeof(*col));
        if (!col || ring_merge_init(&p->merges[w], p->order, col, nr)) {
            free(col);
            snprintf(err, errlen, "out of memory for the queue readers");
            return -ENOMEM;
        }
        p->nmerges++;
        for (uint32_t r = 0; r < nr; r++) {
            col[r] = &p->rings[(size_t)r * p->nw + w];
            frame_ring_share_bell(col[r], col[0]); /* the worker sleeps on one */
        }
        p->ws[w].merge = &p->merges[w];
        p->ws[w].dispatch_live = p->live;
    }
    fprintf(stderr, "ticktap: %u queue readers, a thread each, steering to %u workers\n", nr,
            p->nw);
    return 0;
}

/* How frames reach the workers: read in place by the only worker, read in turns (shared), or
 * handed out by the dispatcher thread. */
static int build_feed(struct pipeline *p, char *err, size_t errlen)
{
    const struct tt_config *cfg = p->cfg;
    if (!p->dispatched && !p->shared) {
        p->ws[0].src_ops = p->ops;
        p->ws[0].src = p->cap;
        return 0;
    }
    if (p->shared) {
        struct dispatcher d;
        dispatch_init(&d, p->nw, cfg->decode.vxlan_port, cfg->decode.geneve_port,
                      cfg->decode.gtpu_port);
        d.trading = &cfg->trading;
        p->sr = aligned_alloc(64, sizeof(*p->sr));
        if (p->sr) p->sr->chunks = NULL;
        if (!p->sr || shared_reader_init(p->sr, p->ops, p->cap, p->nw, &d, p->ws[0].burst,
                                         WORKER_HOUSEKEEP_NS, p->opt->stop)) {
            snprintf(err, errlen, "out of memory for the shared reader's chunks");
            return -ENOMEM;
        }
        p->sr->baseline_ns = cfg->baseline.interval_ns;
        for (uint32_t i = 0; i < p->nw; i++)
            p->ws[i].shared = p->sr;
        return 0;
    }
    if (p->readers) return build_readers(p, err, errlen);
    struct dispatch_thread *dx = p->dx = calloc(1, sizeof(*dx));
    if (!dx ||
        dispatch_thread_init(dx, cfg, p->ops, p->cap, p->rings, p->nw, p->live, &p->bursts)) {
        snprintf(err, errlen, "out of memory for the dispatcher");
        return -ENOMEM;
    }
    p->ndx = p->dx_ready = 1;
    dx->stop = p->opt->stop;
    for (int i = 0; dx->from_union && i < p->opt->nlive; i++)
        dx->burst_of[i] = p->iface_of[i];
    for (uint32_t i = 0; i < p->nw; i++) {
        p->ws[i].in_ring = &p->rings[i];
        p->ws[i].dispatched = &dx->dispatched;
        p->ws[i].dispatch_done = &dx->done;
        p->ws[i].dispatch_live = p->live;
    }
    return 0;
}

/* The dispatcher's (or readers') counters, which only they write, into the sink's /metrics
 * snapshot. */
static void dispatch_counts(void *ctx, struct metrics_sink_snap *snap)
{
    const struct pipeline *p = ctx;
    snap->dispatch_ring_full = snap->dispatch_bursts = 0;
    memset(snap->dispatch_ring_full_by_input, 0, sizeof(snap->dispatch_ring_full_by_input));
    for (uint32_t k = 0; k < p->ndx; k++) {
        struct dispatch_thread *dx = &p->dx[k];
        snap->dispatch_ring_full += atomic_load_explicit(&dx->ring_full, memory_order_relaxed);
        for (int i = 0; i < TT_INPUTS_MAX; i++)
            snap->dispatch_ring_full_by_input[i] +=
                atomic_load_explicit(&dx->ring_full_by_input[i], memory_order_relaxed);
        snap->dispatch_bursts += atomic_load_explicit(&dx->bursts_seen, memory_order_relaxed);
    }
}

/* The metrics registry the run exports to while running: the caller's, or a private one for
 * Kafka's stats records. Workers are attached to it, labelled by the live sources. */
static int build_metrics(struct pipeline *p, char *err, size_t errlen)
{
    const struct run_options *opt = p->opt;
    p->m = opt->metrics;
    if (!p->m && opt->kafka && p->cfg->kafka.stats_interval_ns) {
        metrics_init(&p->own_metrics, &p->cfg->metrics);
        p->m = &p->own_metrics;
    }
    if (!p->m) return 0;
    if (metrics_attach_workers(p->m, p->nw)) {
        snprintf(err, errlen, "out of memory for the metrics of %u workers", p->nw);
        return -ENOMEM;
    }
    if (opt->nlive > 1) { /* a row per queue or interface, as the workers count them */
        const char *names[TT_INPUTS_MAX];
        int queues[TT_INPUTS_MAX];
        for (int i = 0; i < opt->nlive && i < TT_INPUTS_MAX; i++) {
            names[i] = opt->live[i].ifname ? opt->live[i].ifname : "live";
            queues[i] = opt->live[i].queue;
        }
        metrics_set_inputs(p->m, (uint32_t)opt->nlive, names, queues);
    }
    for (uint32_t i = 0; i < p->nw; i++) {
        struct metrics_worker *mw = &p->m->workers[i];
        if (p->live) { /* the input every worker shares: one queue, an interface, or all */
            snprintf(mw->ifname, sizeof(mw->ifname), "%s", p->nifaces == 1 ? p->ifnames[0] : "all");
            mw->queue = opt->nlive == 1 ? opt->live[0].queue : -1;
        }
        p->ws[i].mw = mw;
    }
    return 0;
}

static int build_sink(struct pipeline *p, char *err, size_t errlen)
{
    const struct run_options *opt = p->opt;
    const struct tt_config *cfg = p->cfg;
    const struct sink_params sp = {
        .rst_storm_threshold = cfg->rst_storm_threshold,
        .fin_storm_threshold = cfg->fin_storm_threshold,
        .storm_window_ns = cfg->storm_window_ns,
        .storm_cooldown_ns = cfg->storm_cooldown_ns,
        .alerts = &cfg->alerts,
        .alert_keys = cfg->alert_keys,
        .publish_interval_ns = cfg->metrics.publish_interval_ns,
        .kafka_stats_interval_ns = cfg->kafka.stats_interval_ns,
        .filter = opt->events_filter,
        .baseline = &cfg->baseline,
        .producers = p->nw,
    };
    int rc = build_metrics(p, err, errlen);
    if (!rc)
        rc = sink_init(&p->sink, &sp, opt->events_out, opt->kafka, p->m, p->live, p->res->events,
                       err, errlen);
    if (rc) return rc;
    p->sink_ready = 1;
    if (p->ndx) {
        p->sink.counts = dispatch_counts;
        p->sink.counts_ctx = p;
    }
    if (opt->kafka) kafka_sink_set_mode(opt->kafka, p->live, !p->live && p->cfg->overflow_block);
    /* where events come from: the workers, and the dispatcher's microbursts */
    for (uint32_t i = 0; i < p->nw; i++)
        p->srcs[p->nsrc++] = (struct event_source){&p->ws[i].events, &p->ws[i].watermark};
    for (uint32_t k = 0; k < p->ndx; k++)
        if (p->dx[k].bursts)
            p->srcs[p->nsrc++] = (struct event_source){&p->dx[k].events, &p->dx[k].events_wm};
    /* The sink sleeps on this between merges; a worker posts it when done (a short run's
     * wall time is not rounded up to a sleep) or when its event ring is full. */
    sem_init(&p->sink_wake, 0, 0);
    p->sink_idle_ns = SINK_SLEEP_LIVE_NS;
    p->sem_ready = 1;
    for (uint32_t i = 0; i < p->nw; i++)
        p->ws[i].sink_wake = &p->sink_wake;
    for (uint32_t k = 0; k < p->ndx; k++)
        p->dx[k].sink_wake = &p->sink_wake;
    return 0;
}

static void start(struct pipeline *p)
{
    p->t0 = now_s();
    for (uint32_t i = 0; i < p->nw; i++) {
        char name[16]; /* as top -H and perf show them */
        pthread_create(&p->tids[i], NULL, worker_main, &p->ws[i]);
        snprintf(name, sizeof(name), "tt-worker%u", i);
        pthread_setname_np(p->tids[i], name);
    }
    for (uint32_t k = 0; k < p->ndx; k++) {
        char name[16] = "tt-dispatch";
        pthread_create(&p->dtids[k], NULL, dispatch_thread_main, &p->dx[k]);
        if (p->readers) snprintf(name, sizeof(name), "tt-reader%u", k);
        pthread_setname_np(p->dtids[k], name);
    }
}

/* Frames so far, rate, and for files the share read and the time left: on a terminal as a
 * line that rewrites itself, and as JSON in progress_path (written aside and renamed, so a
 * reader never sees half of it). */
static void show_progress(const struct pipeline *p, int tty, int final)
{
    uint64_t frame = 0, done = 0, total = 0;
    for (uint32_t i = 0; i < p->nw; i++) {
        uint64_t w = atomic_load_explicit(&p->ws[i].watermark, memory_order_relaxed);
        if (final) /* the workers have stopped: their counts are still */
            frame += p->ws[i].st.packets;
        else if (w != EVENT_ORDER_END && w > frame)
            frame = w;
    }
    if (!p->live && p->ops->progress) p->ops->progress(p->cap, &done, &total);
    double dt = now_s() - p->t0, pct = total ? 100.0 * (double)done / (double)total : -1;
    double left = pct > 0.5 && dt > 0 ? dt * (100.0 - pct) / pct : -1;
    if (tty && p->opt->progress) {
        fprintf(stderr, "\r  %.2f M frames  %.2f Mpps", (double)frame / 1e6,
                dt > 0 ? (double)frame / dt / 1e6 : 0.0);
        if (pct >= 0) fprintf(stderr, "  %5.1f%%", pct);
        if (left >= 0) fprintf(stderr, "  %.0f s left ", left);
        fprintf(stderr, "   ");
    }
    if (p->opt->progress_path) {
        char tmp[4200];
        snprintf(tmp, sizeof(tmp), "%s.tmp", p->opt->progress_path);
        FILE *f = fopen(tmp, "w");
        if (!f) return;
        fprintf(f,
                "{\"frames\":%" PRIu64
                ",\"elapsed_s\":%.3f,\"rate_fps\":%.0f,\"bytes_read\":%" PRIu64
                ",\"bytes_total\":%" PRIu64 ",\"percent\":%.1f,\"left_s\":%.1f}\n",
                frame, dt, dt > 0 ? (double)frame / dt : 0.0, done, total, pct, left);
        if (fclose(f) == 0) rename(tmp, p->opt->progress_path);
    }
}

/* The caller's tick (live: capture.saturated), its events emitted like any other. */
static void run_tick(struct pipeline *p)
{
    struct event ticked[16];
    int n = p->opt->tick(p->opt->tick_arg, ticked, 16);
    for (int i = 0; i < n; i++)
        sink_emit(&p->sink, &ticked[i]);
}

/* Sleeps until a producer posts or the merge is due. Live, events leave within a millisecond,
 * and Kafka's delivery reports are served as often; offline the sink sleeps longer (every
 * wake-up on a core the workers keep busy preempts one), unless a producer waits on its full
 * ring whose events the merge cannot take yet (another worker is behind). */
static void sink_sleep(struct pipeline *p)
{
    /* Live: 1 ms after many events came, doubling while few or none come (a quiet link, or
     * a steady trickle of events, wakes the sink ~125 times a second, not 1000); a full ring
     * cuts any sleep short. */
    long ns = p->live || p->opt->kafka ? p->sink_idle_ns : SINK_SLEEP_OFFLINE_NS;
    if (p->sink_idle_ns < SINK_SLEEP_LIVE_MAX_NS) p->sink_idle_ns *= 2;
    for (uint32_t i = 0; i < p->nw; i++)
        if (atomic_load_explicit(&p->ws[i].waiting_sink, memory_order_relaxed))
            ns = SINK_SLEEP_LIVE_NS;
    for (uint32_t k = 0; k < p->ndx; k++)
        if (atomic_load_explicit(&p->dx[k].waiting_sink, memory_order_relaxed))
            ns = SINK_SLEEP_LIVE_NS;
    struct timespec until = mono_after((uint64_t)ns);
    sem_clockwait(&p->sink_wake, CLOCK_MONOTONIC, &until);
}

/* Merges until every worker is done and every ring is empty; then the last tick and the
 * alerts still firing. */
static void sink_loop(struct pipeline *p)
{
    const struct run_options *opt = p->opt;
    double next_progress = p->t0 + (opt->progress_path ? 0.0 : 2.0);
    double tick_every = opt->tick_interval_ns ? (double)opt->tick_interval_ns / 1e9 : 1.0;
    double next_tick = p->t0 + tick_every;
    int progress_shown = 0;
    for (;;) {
        int all_done = 1;
        for (uint32_t i = 0; i < p->nw; i++)
            if (!atomic_load_explicit(&p->ws[i].done, memory_order_acquire)) all_done = 0;
        int taken = sink_drain(&p->sink, p->srcs, p->nsrc);
        sink_tick(&p->sink);
        if (all_done) {
            int left = 0;
            for (uint32_t i = 0; i < p->nsrc; i++)
                if (spsc_ring_peek(p->srcs[i].ring)) left = 1;
            if (!left) break;
            continue;
        }
        if (opt->tick && now_s() >= next_tick) {
            run_tick(p);
            next_tick = now_s() + tick_every;
        }
        if ((opt->progress || opt->progress_path) && now_s() >= next_progress) {
            show_progress(p, 1, 0);
            progress_shown = 1;
            next_progress = now_s() + 0.5;
        }
        if (!taken)
            sink_sleep(p); /* nothing to merge: let the workers have the cores */
        else if (taken >= SINK_BATCH_BUSY)
            p->sink_idle_ns = SINK_SLEEP_LIVE_NS;
        else if (!p->live && !opt->kafka)
            continue;
        else
            sink_sleep(p); /* a trickle of events: each wakeup takes more of them */
    }
    if (opt->tick) run_tick(p); /* what happened since the previous tick is reported */
    sink_close_baselines(&p->sink);
    sink_close_alerts(&p->sink);
    if (progress_shown && opt->progress) fprintf(stderr, "\r%70s\r", "");
    if (opt->progress_path) show_progress(p, 0, 1); /* the last word: every frame, all read */
}

static void join(struct pipeline *p)
{
    for (uint32_t k = 0; k < p->ndx; k++)
        pthread_join(p->dtids[k], NULL);
    for (uint32_t i = 0; i < p->nw; i++)
        pthread_join(p->tids[i], NULL);
    struct run_result *res = p->res;
    sink_final(&p->sink, &res->kafka, &res->kafka_delivery, &res->kafka_e2e);
    res->kafka_used = p->opt->kafka != NULL;
    res->wall_seconds = now_s() - p->t0;
    res->dedup = p->cfg->dedup;
    res->events_filtered_out = p->sink.filtered_out;
    res->events_filtered = p->opt->events_filter != NULL;
    res->baseline_anomalies = p->sink.baseline.anomalies;
    res->baseline_keys_full = p->sink.baseline.keys_full;
    res->baseline_json = baseline_sessions_json(&p->sink.baseline);
    if (p->ops == &capture_csv_ops) res->input_json = capture_csv_describe(p->cap);
    res->from_ns = p->cfg->from_ns;
    res->to_ns = p->cfg->to_ns;
}

/* The workers' statistics merged, and every count the threads kept on the side. */
static void collect(struct pipeline *p)
{
    struct run_result *res = p->res;
    const struct tt_config *cfg = p->cfg;
    stats_init(&res->st, cfg->talkers_max * (p->nw > 4 ? 4 : p->nw), cfg->top_n);
    for (uint32_t i = 0; i < p->nw; i++) {
        stats_merge(&res->st, &p->ws[i].st);
        res->st.counters[TT_C_TCP_UNACKED_POOL_FULL] += p->ws[i].segs.exhausted;
        res->capture_errors += p->ws[i].src_errors;
    }
    if (p->sr) {
        res->capture_errors += p->sr->errors;
        res->st.counters[TT_C_DISPATCH_UNSTEERED] += p->sr->d.unsteered;
    }
    for (uint32_t k = 0; k < p->ndx; k++) {
        struct dispatch_thread *dx = &p->dx[k];
        res->capture_errors += dx->errors;
        res->st.counters[TT_C_DISPATCH_RING_FULL] += atomic_load(&dx->ring_full);
        res->st.counters[TT_C_DISPATCH_UNSTEERED] += dx->d.unsteered;
        if (dx->bursts) {
            burst_totals_merge(&res->st.trading.bursts, &dx->burst_totals);
            for (uint32_t k = 0; k < dx->bursts->n; k++)
                res->st.counters[TT_C_BURST_RING_FULL] += dx->bursts->det[k].ring_overflow;
            res->st.counters[TT_C_EVENT_RING_FULL] += dx->events_full;
        }
    }
    res->st.counters[TT_C_TALKERS_FULL] += res->st.talkers.untracked;
    res->st.counters[TT_C_ALERT_KEYS_EVICTED] += p->sink.alerts.evicted;
    struct capture_stats cs;
    p->ops->stats(p->cap, &cs);
    if (!p->live) res->st.counters[TT_C_CAPTURE_TRUNCATED_FILE] += cs.truncated_files;
    res->interrupted = p->opt->stop && atomic_load(p->opt->stop);
    res->queue_readers = p->readers;
}

/* Undoes whatever was built, in reverse order. */
static void teardown(struct pipeline *p)
{
    if (p->sem_ready) sem_destroy(&p->sink_wake);
    if (p->sink_ready) sink_fini(&p->sink);
    if (p->m == &p->own_metrics) metrics_fini(p->m);
    for (uint32_t k = 0; k < p->dx_ready; k++)
        dispatch_thread_fini(&p->dx[k]);
    free(p->dx);
    for (uint32_t w = 0; w < p->nmerges; w++) {
        free(p->merges[w].rings);
        ring_merge_fini(&p->merges[w]);
    }
    free(p->merges);
    free(p->order);
    free(p->steer);
    for (uint32_t r = 0; p->reader_bursts && r < p->readers; r++)
        burst_set_fini(&p->reader_bursts[r]);
    free(p->reader_bursts);
    if (p->sr) shared_reader_fini(p->sr);
    free(p->sr);
    burst_set_fini(&p->bursts);
    for (uint32_t i = 0; i < p->nrings; i++)
        frame_ring_fini(&p->rings[i]);
    for (uint32_t i = 0; i < p->nws; i++)
        worker_fini(&p->ws[i]);
    free(p->rings);
    free(p->ws);
    if (p->own_cap) p->ops->close(p->cap);
}

int pipeline_run(const struct tt_config *cfg, const struct run_options *opt, struct run_result *res,
                 char *err, size_t errlen)
{
    memset(res, 0, sizeof(*res));
    struct pipeline *p = calloc(1, sizeof(*p));
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    p->cfg = cfg;
    p->opt = opt;
    p->res = res;
    int rc;
    if ((rc = plan(p, err, errlen)) || (rc = open_source(p, err, errlen)) ||
        (rc = build_workers(p, err, errlen)) || (rc = build_bursts(p, err, errlen)) ||
        (rc = build_feed(p, err, errlen)) || (rc = build_sink(p, err, errlen)))
        goto out;
    start(p);
    sink_loop(p);
    join(p);
    collect(p);
out:
    teardown(p);
    free(p);
    return rc;
}

void run_result_fini(struct run_result *res)
{
    stats_fini(&res->st);
    json_decref(res->baseline_json);
    json_decref(res->input_json);
    res->baseline_json = res->input_json = NULL;
}
