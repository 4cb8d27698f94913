/* detect_baseline.c - interval sums merged from the workers, EWMA baselines, anomaly.*
 * events (see detect_baseline.h). */
#include "detect_baseline.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPEN_MAX 4096      /* intervals summed at once (a worker that lags further: counted) */
#define POINTS_MAX 1024    /* a session's latency points kept for the summary */
#define SERIES_SESSIONS 64 /* sessions whose latency over time the summary lists */

enum key_kind { KEY_SESSION, KEY_FEED };

/* An interval being summed: the workers' ticks, and the rejects and gaps of its events. */
struct open_session {
    char name[80];
    uint32_t n;
    uint64_t max_ns;
    struct ff_wide_hist lat;
};

struct baseline_open {
    uint64_t index; /* UINT64_MAX: free */
    struct tick_info sum;
    struct open_session *sess; /* sessions with order responses in it (grown as needed) */
    uint32_t nsess, capsess;
    uint32_t *errors; /* per key: rejects (session) or gaps (feed) in this interval */
    uint32_t nerrors;
};

struct latency_point {
    uint64_t start_ns, n, p50_ns, p99_ns, max_ns;
};

struct baseline_key {
    char name[84];
    uint8_t kind;
    struct baseline_series errors, latency;
    struct latency_point *points; /* sessions: their latency over time (summary) */
    uint32_t npoints;
};

void baseline_config_default(struct baseline_config *c)
{
    c->interval_ns = 1000000000ull;
    c->window = 30;
    c->k = 4;
    c->warmup = 10;
    c->min_change_pct = 10;
    c->min_samples = 5;
    c->max_keys = 1024;
}

int baseline_init(struct baseline_detector *d, const struct baseline_config *cfg,
                  uint32_t producers, baseline_emit_fn emit, void *ctx)
{
    memset(d, 0, sizeof(*d));
    d->cfg = *cfg;
    d->producers = producers;
    d->emit = emit;
    d->ctx = ctx;
    d->first_index = UINT64_MAX;
    if (!cfg->interval_ns) return 0;
    d->open_cap = 64;
    d->progress = calloc(producers, sizeof(*d->progress));
    d->open = calloc(d->open_cap, sizeof(*d->open));
    d->keys = calloc(cfg->max_keys ? cfg->max_keys : 1, sizeof(*d->keys));
    if (!d->progress || !d->open || !d->keys) {
        baseline_fini(d);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < d->open_cap; i++)
        d->open[i].index = UINT64_MAX;
    return 0;
}

void baseline_fini(struct baseline_detector *d)
{
    for (uint32_t i = 0; d->open && i < d->open_cap; i++) {
        free(d->open[i].sess);
        free(d->open[i].errors);
    }
    for (uint32_t i = 0; d->keys && i < d->nkeys; i++)
        free(d->keys[i].points);
    free(d->progress);
    free(d->open);
    free(d->keys);
    memset(d, 0, sizeof(*d));
}

int baseline_judge(struct baseline_series *s, const struct baseline_config *c, double value,
                   int both, double floor, struct anomaly_info *a)
{
    double alpha = 2.0 / ((double)(c->window ? c->window : 1) + 1.0);
    if (s->n >= c->warmup && s->n) {
        double sd = sqrt(s->var), f = floor > 0 ? floor : 0;
        if (sd < f) sd = f;
        double lo = s->mean - (double)c->k * sd, hi = s->mean + (double)c->k * sd;
        if (value > hi || (both && value < lo)) {
            int first = s->excursion++ == 0;
            a->value = value;
            a->baseline = s->mean;
            a->band_low = lo;
            a->band_high = hi;
            a->samples = s->n;
            a->k = c->k;
            if (s->excursion > c->window) /* the new normal: learn it again */
                memset(s, 0, sizeof(*s));
            return first;
        }
    }
    s->excursion = 0;
    if (!s->n) {
        s->mean = value;
        s->var = 0;
    } else { /* exponentially weighted mean and variance (West, 1979) */
        double diff = value - s->mean, incr = alpha * diff;
        s->mean += incr;
        s->var = (1 - alpha) * (s->var + diff * incr);
    }
    s->n++;
    return 0;
}

/* The key of name (created when absent and there is room); NULL when the table is full. */
static struct baseline_key *key_get(struct baseline_detector *d, const char *name, int kind)
{
    for (uint32_t i = 0; i < d->nkeys; i++)
        if (d->keys[i].kind == kind && !strcmp(d->keys[i].name, name)) return &d->keys[i];
    if (d->nkeys >= d->cfg.max_keys) {
        d->keys_full++;
        return NULL;
    }
    struct baseline_key *k = &d->keys[d->nkeys++];
    snprintf(k->name, sizeof(k->name), "%s", name);
    k->kind = (uint8_t)kind;
    return k;
}

/* The open interval idx (taken when free); NULL when it is already closed. */
static struct baseline_open *open_get(struct baseline_detector *d, uint64_t idx)
{
    if (idx < d->next_close && d->first_index != UINT64_MAX) {
        d->late++;
        return NULL;
    }
    if (d->first_index == UINT64_MAX) d->first_index = d->next_close = idx;
    if (idx > d->last_index) d->last_index = idx;
    if (idx - d->next_close >= d->open_cap) { /* a lagging worker: grow the ring */
        uint32_t cap = d->open_cap;
        while (idx - d->next_close >= cap && cap < OPEN_MAX)
            cap *= 2;
        if (idx - d->next_close >= cap) {
            d->open_overflow++;
            return NULL;
        }
        struct baseline_open *o = calloc(cap, sizeof(*o));
        if (!o) {
            d->open_overflow++;
            return NULL;
        }
        for (uint32_t i = 0; i < cap; i++)
            o[i].index = UINT64_MAX;
        for (uint32_t i = 0; i < d->open_cap; i++)
            if (d->open[i].index != UINT64_MAX) o[d->open[i].index % cap] = d->open[i];
        free(d->open);
        d->open = o;
        d->open_cap = cap;
    }
    struct baseline_open *o = &d->open[idx % d->open_cap];
    if (o->index != idx) {
        o->index = idx;
        memset(&o->sum, 0, sizeof(o->sum));
        o->nsess = 0;
        if (o->errors) memset(o->errors, 0, o->nerrors * sizeof(*o->errors));
    }
    return o;
}

static void emit_anomaly(struct baseline_detector *d, enum event_type type, const char *scope,
                         const char *key, const char *metric, uint64_t idx, struct anomaly_info *a)
{
    struct event e;
    memset(&e, 0, sizeof(e));
    e.type = (uint16_t)type;
    e.severity = (uint8_t)event_type_severity(type);
    e.frame = d->close_frame;
    e.sub = 0;
    e.ts_ns = (idx + 1) * d->cfg.interval_ns - 1; /* the interval's last nanosecond */
    snprintf(a->scope, sizeof(a->scope), "%s", scope);
    snprintf(a->key, sizeof(a->key), "%s", key);
    snprintf(a->metric, sizeof(a->metric), "%s", metric);
    a->interval_ns = d->cfg.interval_ns;
    a->start_ns = idx * d->cfg.interval_ns;
    e.u.anomaly = *a;
    d->anomalies++;
    d->emit(d->ctx, &e);
}

static void judge(struct baseline_detector *d, struct baseline_series *s, double v, int both,
                  double floor, enum event_type type, const char *scope, const char *key,
                  const char *metric, uint64_t idx)
{
    struct anomaly_info a;
    memset(&a, 0, sizeof(a));
    if (baseline_judge(s, &d->cfg, v, both, floor, &a))
        emit_anomaly(d, type, scope, key, metric, idx, &a);
}

static void session_point(struct baseline_detector *d, struct baseline_key *k, uint64_t start,
                          const struct open_session *os)
{
    if (k->npoints >= POINTS_MAX) return;
    if (!k->points) {
        if (d->nseries >= SERIES_SESSIONS) {
            if (!k->npoints++) d->series_left_out++; /* npoints counts, points stay NULL */
            return;
        }
        if (!(k->points = calloc(POINTS_MAX, sizeof(*k->points)))) return;
        d->nseries++;
    }
    struct latency_point *p = &k->points[k->npoints++];
    p->start_ns = start;
    p->n = os->n;
    p->p50_ns = ff_wide_quantile(&os->lat, 0.5, 0, os->max_ns);
    p->p99_ns = ff_wide_quantile(&os->lat, 0.99, 0, os->max_ns);
    p->max_ns = os->max_ns;
}

static int by_session_name(const void *a, const void *b)
{
    return strcmp(((const struct open_session *)a)->name, ((const struct open_session *)b)->name);
}

static int by_key_name(const void *a, const void *b)
{
    return strcmp((*(const struct baseline_key *const *)a)->name,
                  (*(const struct baseline_key *const *)b)->name);
}

/* Judges interval o (partial: the first or the last of the run, whose rates are not judged). */
static void close_interval(struct baseline_detector *d, struct baseline_open *o, uint64_t idx,
                           int partial)
{
    const struct tick_info *t = o ? &o->sum : NULL;
    struct tick_info zero;
    if (!t) {
        memset(&zero, 0, sizeof(zero));
        t = &zero;
    }
    double secs = (double)d->cfg.interval_ns / 1e9, rel = d->cfg.min_change_pct / 100.0;
    if (!partial) {
        double pps = (double)t->packets / secs, bps = (double)t->bytes / secs;
        judge(d, &d->packets, pps, 1, rel * d->packets.mean, EV_ANOMALY_RATE, "interface", "all",
              "packets_per_s", idx);
        judge(d, &d->bytes, bps, 1, rel * d->bytes.mean, EV_ANOMALY_RATE, "interface", "all",
              "bytes_per_s", idx);
    }
    if (t->rtt_n >= d->cfg.min_samples) {
        double p99 = (double)ff_wide_quantile(&t->rtt, 0.99, 0, t->rtt_max_ns) / 1e3;
        judge(d, &d->rtt_p99, p99, 0, rel * d->rtt_p99.mean, EV_ANOMALY_LATENCY, "interface", "all",
              "rtt_p99_us", idx);
    }
    judge(d, &d->retrans, (double)t->retransmissions, 0, 1, EV_ANOMALY_ERRORS, "interface", "all",
          "retransmissions", idx);
    judge(d, &d->decode_errors, (double)t->decode_errors, 0, 1, EV_ANOMALY_ERRORS, "interface",
          "all", "decode_errors", idx);
    /* in name order: which workers the sessions came from changes nothing */
    if (o && o->nsess > 1) qsort(o->sess, o->nsess, sizeof(*o->sess), by_session_name);
    for (uint32_t i = 0; o && i < o->nsess; i++) {
        struct baseline_key *k = key_get(d, o->sess[i].name, KEY_SESSION);
        if (!k) continue;
        session_point(d, k, idx * d->cfg.interval_ns, &o->sess[i]);
        if (o->sess[i].n < d->cfg.min_samples) continue;
        double p99 = (double)ff_wide_quantile(&o->sess[i].lat, 0.99, 0, o->sess[i].max_ns) / 1e3;
        judge(d, &k->latency, p99, 0, rel * k->latency.mean, EV_ANOMALY_LATENCY, "session", k->name,
              "order_ack_p99_us", idx);
    }
    /* errors of every key every interval: an interval without any is a zero */
    for (uint32_t i = 0; i < d->nkeys; i++) {
        struct baseline_key *k = &d->keys[i];
        uint32_t n = o && i < o->nerrors ? o->errors[i] : 0;
        if (!n && !k->errors.n && k->kind == KEY_SESSION) continue; /* no reject yet */
        judge(d, &k->errors, n, 0, 1, EV_ANOMALY_ERRORS,
              k->kind == KEY_SESSION ? "session" : "feed", k->name,
              k->kind == KEY_SESSION ? "rejects" : "gaps", idx);
    }
    if (o) o->index = UINT64_MAX;
}

/* Closes every interval that no producer can still add to. A long stretch without any frame
 * (a capture's gap, or a hostile timestamp) closes window empty intervals, then starts the
 * series afresh: the cost is bounded by the frames, not by the time they span. */
static void close_ready(struct baseline_detector *d, int finishing)
{
    if (d->first_index == UINT64_MAX) return;
    uint64_t upto = UINT64_MAX;
    for (uint32_t i = 0; i < d->producers; i++)
        if (d->progress[i] < upto) upto = d->progress[i];
    if (upto == UINT64_MAX) finishing = 1; /* every producer is done */
    if (finishing) upto = d->last_index + 1;
    uint32_t empty = 0;
    for (; d->next_close < upto; d->next_close++) {
        uint64_t idx = d->next_close;
        struct baseline_open *o = &d->open[idx % d->open_cap];
        int have = o->index == idx;
        if (have) {
            empty = 0;
        } else if (++empty > d->cfg.window) { /* on to the next interval with something */
            uint64_t resume = upto;
            for (uint32_t i = 0; i < d->open_cap; i++)
                if (d->open[i].index != UINT64_MAX && d->open[i].index > idx &&
                    d->open[i].index < resume)
                    resume = d->open[i].index;
            memset(&d->packets, 0, sizeof(d->packets));
            memset(&d->bytes, 0, sizeof(d->bytes));
            d->next_close = resume - 1; /* the loop's increment lands on it */
            continue;
        }
        int partial = idx == d->first_index || (finishing && idx == d->last_index);
        close_interval(d, have ? o : NULL, idx, partial);
    }
}

void baseline_tick(struct baseline_detector *d, const struct event *e)
{
    if (!d->cfg.interval_ns) return;
    if (e->type == EV_TICK_SESSION) {
        const struct tick_session *ts = &e->u.tick_session;
        struct baseline_open *o = open_get(d, ts->index);
        if (!o) return;
        struct open_session *os = NULL;
        for (uint32_t i = 0; i < o->nsess && !os; i++)
            if (!strcmp(o->sess[i].name, ts->name)) os = &o->sess[i];
        if (!os) {
            if (o->nsess == o->capsess) {
                uint32_t cap = o->capsess ? 2 * o->capsess : 8;
                struct open_session *n = realloc(o->sess, cap * sizeof(*n));
                if (!n) return;
                o->sess = n;
                o->capsess = cap;
            }
            os = &o->sess[o->nsess++];
            memset(os, 0, sizeof(*os));
            snprintf(os->name, sizeof(os->name), "%s", ts->name);
        }
        os->n += ts->n;
        if (ts->max_ns > os->max_ns) os->max_ns = ts->max_ns;
        for (int b = 0; b < FF_BUCKETS; b++) {
            os->lat.n[b] += ts->lat.n[b];
        }
        return;
    }
    const struct tick_info *t = &e->u.tick;
    d->close_frame = e->frame;
    if (e->worker < d->producers && t->next_index > d->progress[e->worker])
        d->progress[e->worker] = t->next_index;
    if (t->packets || t->rtt_n) {
        struct baseline_open *o = open_get(d, t->index);
        if (o) {
            struct tick_info *s = &o->sum;
            s->packets += t->packets;
            s->bytes += t->bytes;
            s->retransmissions += t->retransmissions;
            s->decode_errors += t->decode_errors;
            s->rtt_n += t->rtt_n;
            if (t->rtt_max_ns > s->rtt_max_ns) s->rtt_max_ns = t->rtt_max_ns;
            for (int b = 0; b < FF_BUCKETS; b++) {
                s->rtt.n[b] += t->rtt.n[b];
            }
        }
    }
    close_ready(d, 0);
}

void baseline_event(struct baseline_detector *d, const struct event *e)
{
    if (!d->cfg.interval_ns || d->first_index == UINT64_MAX) return;
    char name[84];
    int kind;
    switch ((enum event_type)e->type) {
    case EV_FIX_ORDER_REJECT:
    case EV_FIX_REJECT:
    case EV_FIX_BUSINESS_REJECT:
        snprintf(name, sizeof(name), "%s-%s", e->u.fix.sender, e->u.fix.target);
        kind = KEY_SESSION;
        break;
    case EV_OUCH_REJECT:
        snprintf(name, sizeof(name), "%s", e->u.ouch.session);
        kind = KEY_SESSION;
        break;
    case EV_MD_GAP:
        snprintf(name, sizeof(name), "%s %s", e->u.md.session, e->u.md.feed);
        kind = KEY_FEED;
        break;
    default:
        return;
    }
    struct baseline_open *o = open_get(d, e->ts_ns / d->cfg.interval_ns);
    struct baseline_key *k = o ? key_get(d, name, kind) : NULL;
    if (!k) return;
    uint32_t i = (uint32_t)(k - d->keys);
    if (i >= o->nerrors) {
        uint32_t n = d->cfg.max_keys;
        uint32_t *m = realloc(o->errors, n * sizeof(*m));
        if (!m) return;
        memset(m + o->nerrors, 0, (n - o->nerrors) * sizeof(*m));
        o->errors = m;
        o->nerrors = n;
    }
    o->errors[i]++;
}

void baseline_finish(struct baseline_detector *d)
{
    if (d->cfg.interval_ns) close_ready(d, 1);
}

void *baseline_sessions_json(const struct baseline_detector *d)
{
    json_t *arr = json_array();
    const struct baseline_key **sorted = calloc(d->nkeys ? d->nkeys : 1, sizeof(*sorted));
    if (!sorted) return NULL;
    for (uint32_t i = 0; i < d->nkeys; i++)
        sorted[i] = &d->keys[i];
    qsort(sorted, d->nkeys, sizeof(*sorted), by_key_name);
    for (uint32_t i = 0; i < d->nkeys; i++) {
        const struct baseline_key *k = sorted[i];
        if (!k->points) continue;
        json_t *pts = json_array();
        for (uint32_t j = 0; j < k->npoints; j++) {
            const struct latency_point *p = &k->points[j];
            json_array_append_new(pts, json_pack("[I, I, f, f, f]", (json_int_t)p->start_ns,
                                                 (json_int_t)p->n, p->p50_ns / 1e3, p->p99_ns / 1e3,
                                                 p->max_ns / 1e3));
        }
        json_array_append_new(arr, json_pack("{s:s, s:o, s:b}", "session", k->name, "points", pts,
                                             "capped", k->npoints == POINTS_MAX));
    }
    free(sorted);
    if (!json_array_size(arr)) {
        json_decref(arr);
        return NULL;
    }
    return json_pack("{s:f, s:o, s:I}", "interval_us", d->cfg.interval_ns / 1e3, "sessions", arr,
                     "sessions_left_out", (json_int_t)d->series_left_out);
}
