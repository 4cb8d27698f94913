/* sink.c - the ordered merge of the event rings and the outputs (see sink.h). */
#include "sink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../event/event_json.h"

static void baseline_emit(void *ctx, struct event *e)
{
    sink_emit(ctx, e);
}

int sink_init(struct sink *s, const struct sink_params *p, FILE *out, struct kafka_sink *kafka,
              struct metrics *metrics, int live_source, uint64_t *events, char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    s->out = out;
    s->kafka = kafka;
    s->events = events;
    s->metrics = metrics;
    s->live_source = live_source;
    s->publish_interval_ns = p->publish_interval_ns;
    s->kafka_stats_ns = p->kafka_stats_interval_ns;
    s->filter = p->filter;
    s->last_stats_ns = metrics_now_ns();
    s->next_stats_ns = s->last_stats_ns + s->kafka_stats_ns;
    if (storm_init(&s->rst, p->rst_storm_threshold, p->storm_window_ns, p->storm_cooldown_ns) ||
        storm_init(&s->fin, p->fin_storm_threshold, p->storm_window_ns, p->storm_cooldown_ns)) {
        snprintf(err, errlen, "out of memory for storm detectors");
        sink_fini(s);
        return -ENOMEM;
    }
    struct baseline_config off = {0};
    if (baseline_init(&s->baseline, p->baseline ? p->baseline : &off,
                      p->producers ? p->producers : 1, baseline_emit, s)) {
        snprintf(err, errlen, "out of memory for the baselines (lower baseline.max_keys)");
        sink_fini(s);
        return -ENOMEM;
    }
    if (alert_init(&s->alerts, p->alerts, p->alert_keys)) {
        snprintf(err, errlen, "out of memory for alert rules (lower alert.keys)");
        sink_fini(s);
        return -ENOMEM;
    }
    return 0;
}

void sink_fini(struct sink *s)
{
    storm_fini(&s->rst);
    storm_fini(&s->fin);
    alert_fini(&s->alerts);
    baseline_fini(&s->baseline);
}

void sink_close_baselines(struct sink *s)
{
    baseline_finish(&s->baseline);
}

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

void sink_emit(struct sink *s, struct event *e)
{
    if (e->type == EV_TCP_FIN) { /* internal only: feeds the FIN-storm detector */
        storm_check(s, &s->fin, e, EV_TCP_FIN_STORM);
        return;
    }
    if (e->type == EV_TICK || e->type == EV_TICK_SESSION) { /* internal: the baselines' sums */
        baseline_tick(&s->baseline, e);
        return;
    }
    baseline_event(&s->baseline, e);
    s->events[e->type]++;
    s->events_sev[e->type][e->severity < 3 ? e->severity : 2]++;
    if (s->live_source && s->metrics) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        uint64_t now = (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
        if (now > e->ts_ns) prom_hist_observe(&s->event_delay, now - e->ts_ns);
    }
    if (s->filter && !event_filter_match(s->filter, e)) {
        s->filtered_out++;
    } else if (s->out || s->kafka) {
        size_t n = event_to_json(e, s->line, sizeof(s->line));
        if (s->out) fwrite(s->line, 1, n, s->out);
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

/* An event at order k from source i can go out when every other source either holds an event
 * that sorts after it, or has an empty ring and a watermark at or past k (anything it emits
 * later sorts after k). */
int sink_drain(struct sink *s, const struct event_source *src, uint32_t n)
{
    int taken = 0;
    for (;;) {
        uint64_t wm[SINK_SOURCES_MAX];
        struct event *head[SINK_SOURCES_MAX];
        for (uint32_t i = 0; i < n; i++) {
            wm[i] = atomic_load_explicit(src[i].watermark, memory_order_acquire);
            head[i] = spsc_ring_peek(src[i].ring);
        }
        int best = -1;
        for (uint32_t i = 0; i < n; i++)
            if (head[i] && (best < 0 || event_before(head[i], head[best]))) best = (int)i;
        if (best < 0) return taken;
        uint64_t k = head[best]->frame;
        for (uint32_t i = 0; i < n; i++) {
            if ((int)i == best || head[i]) continue;
            if (wm[i] < k || (k == EVENT_ORDER_END && wm[i] != EVENT_ORDER_END))
                return taken; /* source i may still emit something earlier */
        }
        sink_emit(s, head[best]);
        spsc_ring_pop(src[best].ring);
        taken++;
    }
}

/* The sink's counters for /metrics (final: the run is over, never reported stuck). */
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
    if (s->counts) s->counts(s->counts_ctx, snap);
    snap->heartbeat_ns = final ? UINT64_MAX : metrics_now_ns();
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

void sink_tick(struct sink *s)
{
    if (s->kafka) kafka_sink_poll(s->kafka);
    if (s->metrics && metrics_now_ns() >= s->next_publish_ns) {
        sink_publish(s, 0);
        s->next_publish_ns = metrics_now_ns() + s->publish_interval_ns;
    }
    sink_stats_record(s, 0);
}

void sink_close_alerts(struct sink *s)
{
    int n;
    while ((n = alert_finish(&s->alerts, s->alert_buf, ALERT_MAX_RULES)) > 0)
        for (int i = 0; i < n; i++)
            sink_emit(s, &s->alert_buf[i]);
}

void sink_final(struct sink *s, struct kafka_stats *kafka, struct hist *delivery, struct hist *e2e)
{
    if (s->out) fflush(s->out);
    sink_stats_record(s, 1); /* the totals, before the flush delivers them */
    if (s->kafka) {
        kafka_sink_flush(s->kafka, kafka);
        *delivery = *kafka_sink_delivery_hist(s->kafka);
        *e2e = *kafka_sink_e2e_hist(s->kafka);
    }
    sink_publish(s, 1);
}
