/* incident.c - grouping events into incidents on event time (see incident.h). */
#include "incident.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define NS_PER_S 1000000000ull

void incident_config_default(struct incident_config *c)
{
    c->group_wait_ns = 5 * NS_PER_S;
    c->group_interval_ns = 60 * NS_PER_S;
    c->repeat_interval_ns = 4 * 3600 * NS_PER_S;
    c->resolve_ns = 5 * 60 * NS_PER_S;
    c->max_age_ns = 3600 * NS_PER_S;
    c->max_incidents = 10000;
}

const char *incident_change_name(enum incident_change c)
{
    static const char *const names[] = {"open", "update", "repeat", "close"};
    return c <= CH_CLOSE ? names[c] : "?";
}

struct incident_engine {
    struct incident_config cfg;
    char stream[128];
    incident_emit_fn emit;
    void *arg;
    struct incident *pool; /* max_incidents of them */
    struct incident *free;
    struct incident **bucket; /* by key hash; chained through chain[] */
    struct incident **chain;  /* chain[i]: the next in pool[i]'s bucket */
    uint32_t nbuckets;
    uint64_t now_ns;
    uint64_t next_due_ns; /* no incident has anything due before this */
    int64_t quiet_offset; /* the last event that arrived with no incident open (or -1) */
    struct incident_engine_stats st;
};

static uint32_t index_of(const struct incident_engine *e, const struct incident *inc)
{
    return (uint32_t)(inc - e->pool);
}

struct incident_engine *incident_engine_new(const struct incident_config *cfg, const char *stream,
                                            incident_emit_fn emit, void *arg)
{
    struct incident_engine *e = calloc(1, sizeof(*e));
    if (!e) return NULL;
    e->cfg = *cfg;
    if (!e->cfg.max_incidents) e->cfg.max_incidents = 1;
    snprintf(e->stream, sizeof(e->stream), "%s", stream);
    e->emit = emit;
    e->arg = arg;
    e->nbuckets = 64;
    while (e->nbuckets < e->cfg.max_incidents * 2)
        e->nbuckets <<= 1;
    e->pool = calloc(e->cfg.max_incidents, sizeof(*e->pool));
    e->chain = calloc(e->cfg.max_incidents, sizeof(*e->chain));
    e->bucket = calloc(e->nbuckets, sizeof(*e->bucket));
    if (!e->pool || !e->chain || !e->bucket) {
        incident_engine_free(e);
        return NULL;
    }
    for (uint32_t i = e->cfg.max_incidents; i-- > 0;) {
        e->pool[i].next_free = e->free;
        e->free = &e->pool[i];
    }
    e->quiet_offset = -1;
    e->next_due_ns = UINT64_MAX;
    return e;
}

void incident_engine_free(struct incident_engine *e)
{
    if (!e) return;
    if (e->pool)
        for (uint32_t i = 0; i < e->cfg.max_incidents; i++)
            json_decref(e->pool[i].samples);
    free(e->pool);
    free(e->chain);
    free(e->bucket);
    free(e);
}

static uint32_t bucket_of(const struct incident_engine *e, const char *key)
{
    return (uint32_t)XXH64(key, strlen(key), 0) & (e->nbuckets - 1);
}

static struct incident *find(struct incident_engine *e, const char *key)
{
    for (struct incident *i = e->bucket[bucket_of(e, key)]; i; i = e->chain[index_of(e, i)])
        if (!strcmp(i->key, key)) return i;
    return NULL;
}

static void unlink_incident(struct incident_engine *e, struct incident *inc)
{
    struct incident **p = &e->bucket[bucket_of(e, inc->key)];
    while (*p && *p != inc)
        p = &e->chain[index_of(e, *p)];
    if (*p) *p = e->chain[index_of(e, inc)];
    json_decref(inc->samples);
    memset(inc, 0, sizeof(*inc));
    inc->next_free = e->free;
    e->free = inc;
    e->st.open_now--;
}

/* ---- what an event is about --------------------------------------------------------- */

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static void flow_text(json_t *flow, char *out, size_t len)
{
    snprintf(out, len, "%s:%" JSON_INTEGER_FORMAT " > %s:%" JSON_INTEGER_FORMAT " %s",
             str(flow, "src"), json_integer_value(json_object_get(flow, "sport")), str(flow, "dst"),
             json_integer_value(json_object_get(flow, "dport")), str(flow, "proto"));
}

/* Fills key and scope for ev; returns 0, or -1 when the event is about nothing we group. */
static int event_key(json_t *ev, const char *type, char *key, size_t klen, char *scope, size_t slen)
{
    json_t *flow = json_object_get(ev, "flow");
    if (!strncmp(type, "fix.", 4)) {
        json_t *f = json_object_get(ev, "fix");
        const char *a = str(f, "sender_comp_id"), *b = str(f, "target_comp_id");
        if (strcmp(a, b) > 0) { /* the session, whichever side sent */
            const char *t = a;
            a = b, b = t;
        }
        snprintf(key, klen, "fix:%s|%s", a, b);
        snprintf(scope, slen, "fix_session");
    } else if (!strncmp(type, "ouch.", 5)) {
        snprintf(key, klen, "ouch:%s", str(json_object_get(ev, "ouch"), "session"));
        snprintf(scope, slen, "ouch_session");
    } else if (!strncmp(type, "md.", 3)) {
        json_t *m = json_object_get(ev, "md");
        snprintf(key, klen, "md:%s:%s", str(m, "protocol"), str(m, "session"));
        snprintf(scope, slen, "md_session");
    } else if (!strcmp(type, "tcp.handshake_failed") && flow) {
        snprintf(key, klen, "service:%s:%" JSON_INTEGER_FORMAT, str(flow, "dst"),
                 json_integer_value(json_object_get(flow, "dport")));
        snprintf(scope, slen, "service");
    } else if (!strncmp(type, "capture.", 8) || !strcmp(type, "burst.micro")) {
        json_t *o = json_object_get(ev, !strcmp(type, "capture.saturated") ? "saturated"
                                        : !strcmp(type, "capture.handoff") ? "handoff"
                                                                           : "burst");
        snprintf(key, klen, "interface:%s", str(o, "interface"));
        snprintf(scope, slen, "interface");
    } else if (!strncmp(type, "anomaly.", 8)) {
        json_t *a = json_object_get(ev, "anomaly"); /* a baseline's series, not a flow */
        const char *sc = str(a, "scope");
        if (!strcmp(sc, "interface"))
            snprintf(key, klen, "interface:%s", str(a, "key"));
        else
            snprintf(key, klen, "%s:%s", sc, str(a, "key"));
        snprintf(scope, slen, "%s",
                 !strcmp(sc, "session") ? "fix_session"
                 : !strcmp(sc, "feed")  ? "md_session"
                                        : "interface");
    } else if (!strcmp(type, "alert")) {
        return -1; /* a count of other events: those make the incident */
    } else if (flow) {
        snprintf(key, klen, "flow:%s", str(flow, "id"));
        snprintf(scope, slen, "flow");
    } else {
        return -1;
    }
    return 0;
}

static uint8_t severity_of(json_t *ev)
{
    const char *s = str(ev, "severity");
    return !strcmp(s, "critical") ? ISEV_CRITICAL : !strcmp(s, "warn") ? ISEV_WARN : ISEV_INFO;
}

static void count(struct incident_count *c, uint32_t *n, uint32_t max, const char *name,
                  uint32_t by)
{
    for (uint32_t i = 0; i < *n; i++)
        if (!strcmp(c[i].name, name)) {
            c[i].n += by;
            return;
        }
    if (*n == max) return; /* the first ones named are kept */
    snprintf(c[*n].name, sizeof(c[*n].name), "%s", name);
    c[(*n)++].n = by;
}

static void note_rtt(struct incident *inc, double us)
{
    if (us <= 0) return;
    uint64_t v = (uint64_t)(us + 0.5);
    if (!inc->rtt_n++) inc->rtt_min_us = inc->rtt_max_us = inc->rtt_first_us = v;
    if (v < inc->rtt_min_us) inc->rtt_min_us = v;
    if (v > inc->rtt_max_us) inc->rtt_max_us = v;
    inc->rtt_last_us = v;
}

/* The facts the rules read, taken from one event. */
static void take_facts(struct incident *inc, json_t *ev, const char *type)
{
    if (!strcmp(type, "fix.order_reject") || !strcmp(type, "fix.reject") ||
        !strcmp(type, "fix.business_reject") || !strcmp(type, "ouch.reject")) {
        json_t *o = json_object_get(ev, type[0] == 'f' ? "fix" : "ouch");
        json_t *r = json_object_get(o, "reason");
        char reason[48];
        if (json_is_integer(r))
            snprintf(reason, sizeof(reason), "%" JSON_INTEGER_FORMAT, json_integer_value(r));
        else
            snprintf(reason, sizeof(reason), "%s", json_is_string(r) ? json_string_value(r) : "?");
        count(inc->reasons, &inc->nreasons, INCIDENT_REASONS, reason, 1);
    } else if (!strcmp(type, "md.gap") || !strcmp(type, "md.arbitration_loss")) {
        json_t *m = json_object_get(ev, "md");
        uint32_t n = (uint32_t)json_integer_value(json_object_get(m, "count"));
        if (!n) n = 1;
        const char *feed = str(m, "feed");
        if (!strcmp(type, "md.gap") && json_integer_value(json_object_get(m, "feeds")) >= 2)
            inc->md_both_lost += n;
        else if (!strcmp(type, "md.gap"))
            count(inc->feeds, &inc->nfeeds, INCIDENT_FEEDS, feed[0] ? feed : "the only feed", n);
        else {
            inc->md_one_lost += n;
            count(inc->feeds, &inc->nfeeds, INCIDENT_FEEDS, feed, n);
        }
    } else if (!strcmp(type, "tcp.handshake_failed")) {
        json_t *f = json_object_get(ev, "flow");
        char t[80];
        snprintf(t, sizeof(t), "%s:%" JSON_INTEGER_FORMAT " %s", str(f, "dst"),
                 json_integer_value(json_object_get(f, "dport")),
                 str(json_object_get(ev, "failure"), "reason"));
        count(inc->targets, &inc->ntargets, INCIDENT_TARGETS, t, 1);
    } else if (!strcmp(type, "tcp.handshake")) {
        note_rtt(inc,
                 json_number_value(json_object_get(json_object_get(ev, "handshake"), "rtt_us")));
    } else if (!strcmp(type, "flow")) {
        json_t *rec = json_object_get(ev, "record"), *ack = json_object_get(rec, "ack_rtt_us");
        note_rtt(inc, json_number_value(json_object_get(rec, "handshake_rtt_us")));
        const char *dirs[] = {"src_to_dst", "dst_to_src"};
        for (int d = 0; d < 2; d++) {
            json_t *s = json_object_get(ack, dirs[d]);
            if (!s) continue;
            /* the minimum only: a maximum holds delayed ACKs and retransmission waits */
            note_rtt(inc, json_number_value(json_object_get(s, "min")));
        }
    }
    if (!strcmp(type, "latency.spike")) {
        json_t *sp = json_object_get(ev, "spike");
        double v = json_number_value(json_object_get(sp, "value"));
        if (v > (double)inc->spike_us) {
            inc->spike_us = (uint64_t)(v + 0.5);
            inc->spike_baseline_us =
                (uint64_t)(json_number_value(json_object_get(sp, "baseline")) + 0.5);
        }
    } else if (!strncmp(type, "anomaly.", 8) && !inc->anomaly_metric[0]) {
        json_t *a = json_object_get(ev, "anomaly");
        snprintf(inc->anomaly_metric, sizeof(inc->anomaly_metric), "%s", str(a, "metric"));
        inc->anomaly_value = json_number_value(json_object_get(a, "value"));
        inc->anomaly_baseline = json_number_value(json_object_get(a, "baseline"));
        inc->anomaly_band_high = json_number_value(json_object_get(a, "band_high"));
    }
    json_t *o = json_object_get(ev, "saturated");
    if (!o) o = json_object_get(ev, "burst");
    if (o && !inc->iface[0]) snprintf(inc->iface, sizeof(inc->iface), "%s", str(o, "interface"));
}

/* ---- records ------------------------------------------------------------------------- */

static uint64_t incident_due(const struct incident_engine *e, const struct incident *i)
{
    uint64_t close = i->last_ns + e->cfg.resolve_ns, age = i->first_ns + e->cfg.max_age_ns;
    uint64_t due = close < age ? close : age;
    if (i->next_ns < due) due = i->next_ns;
    if (i->state == INC_OPEN && i->last_sent_ns + e->cfg.repeat_interval_ns < due)
        due = i->last_sent_ns + e->cfg.repeat_interval_ns;
    return due;
}

static void send(struct incident_engine *e, struct incident *i, enum incident_change ch)
{
    i->revision++;
    i->sent_severity = i->severity;
    i->sent_events = i->events;
    i->sent_types = i->ntypes;
    i->last_sent_ns = e->now_ns;
    e->st.records++;
    e->emit(e->arg, i, ch, e->now_ns);
}

/* Emits what is due for i at e->now_ns; returns 1 when i closed (and was freed). */
static int step(struct incident_engine *e, struct incident *i)
{
    uint64_t now = e->now_ns;
    int closing = now >= i->last_ns + e->cfg.resolve_ns || now >= i->first_ns + e->cfg.max_age_ns;
    if (i->state == INC_PENDING && (closing || now >= i->next_ns)) {
        i->state = INC_OPEN;
        send(e, i, CH_OPEN);
        i->next_ns = now + e->cfg.group_interval_ns;
    } else if (i->state == INC_OPEN && !closing && now >= i->next_ns) {
        int material = i->severity > i->sent_severity || i->ntypes > i->sent_types ||
                       i->events >= 2 * i->sent_events;
        if (material) {
            send(e, i, CH_UPDATE);
            i->next_ns = now + e->cfg.group_interval_ns;
        } else if (now >= i->last_sent_ns + e->cfg.repeat_interval_ns) {
            send(e, i, CH_REPEAT);
        } else {
            i->next_ns = now + e->cfg.group_interval_ns; /* look again then */
        }
    }
    if (!closing) return 0;
    i->state = INC_CLOSED;
    send(e, i, CH_CLOSE);
    e->st.closed++;
    unlink_incident(e, i);
    return 1;
}

/* Emits every record due at e->now_ns, in a fixed order (the pool's), and finds the next
 * time anything is due. */
static void run_due(struct incident_engine *e)
{
    if (e->now_ns < e->next_due_ns) return;
    uint64_t next = UINT64_MAX;
    for (uint32_t k = 0; k < e->cfg.max_incidents; k++) {
        struct incident *i = &e->pool[k];
        if (!i->key[0]) continue;
        if (incident_due(e, i) <= e->now_ns && step(e, i)) continue;
        uint64_t d = incident_due(e, i);
        if (d < next) next = d;
    }
    e->next_due_ns = next;
}

static void due_at(struct incident_engine *e, const struct incident *i)
{
    uint64_t d = incident_due(e, i);
    if (d < e->next_due_ns) e->next_due_ns = d;
}

/* ---- the engine ---------------------------------------------------------------------- */

static struct incident *open_incident(struct incident_engine *e, const char *key, const char *scope,
                                      json_t *ev, int64_t offset, uint64_t ts)
{
    struct incident *i = e->free;
    if (!i) {
        e->st.dropped_full++;
        return NULL;
    }
    e->free = i->next_free;
    memset(i, 0, sizeof(*i));
    snprintf(i->key, sizeof(i->key), "%s", key);
    snprintf(i->scope, sizeof(i->scope), "%s", scope);
    char seed[300];
    int n = snprintf(seed, sizeof(seed), "%s|%" PRId64 "|%s", e->stream, offset, key);
    snprintf(i->id, sizeof(i->id), "%016" PRIx64,
             (uint64_t)XXH64(seed, (size_t)(n < (int)sizeof(seed) ? n : (int)sizeof(seed) - 1), 0));
    i->first_offset = offset;
    i->first_ns = ts;
    i->next_ns = ts + e->cfg.group_wait_ns;
    i->samples = json_array();
    json_t *flow = json_object_get(ev, "flow");
    if (flow) flow_text(flow, i->flow, sizeof(i->flow));
    uint32_t b = bucket_of(e, key);
    e->chain[index_of(e, i)] = e->bucket[b];
    e->bucket[b] = i;
    e->st.opened++;
    e->st.open_now++;
    return i;
}

int incident_engine_add(struct incident_engine *e, json_t *ev, int64_t offset)
{
    const char *type = json_string_value(json_object_get(ev, "type"));
    json_t *tsj = json_object_get(ev, "ts_ns");
    if (!type || !json_is_integer(tsj)) return -1;
    uint64_t ts = (uint64_t)json_integer_value(tsj);
    e->st.events++;
    /* no incident open and time not going back: a replay from here starts as we are now */
    if (!e->st.open_now && ts >= e->now_ns) e->quiet_offset = offset;
    if (ts > e->now_ns) e->now_ns = ts;
    run_due(e); /* close what this event's time ends, before it can join it */

    char key[160], scope[16];
    if (event_key(ev, type, key, sizeof(key), scope, sizeof(scope))) return 0;
    uint8_t sev = severity_of(ev);
    struct incident *i = find(e, key);
    if (!i) {
        if (sev == ISEV_INFO) return 0;
        if (!(i = open_incident(e, key, scope, ev, offset, ts))) return 0;
    }
    i->events++;
    i->last_offset = offset;
    if (ts > i->last_ns) i->last_ns = ts;
    if (sev > i->severity) i->severity = sev;
    count(i->types, &i->ntypes, INCIDENT_TYPES, type, 1);
    take_facts(i, ev, type);
    if (json_array_size(i->samples) < INCIDENT_SAMPLES && sev > ISEV_INFO)
        json_array_append(i->samples, ev);
    e->st.evidence++;
    due_at(e, i);
    run_due(e);
    return 1;
}

uint64_t incident_engine_now(const struct incident_engine *e)
{
    return e->now_ns;
}

void incident_engine_advance(struct incident_engine *e, uint64_t now_ns)
{
    if (now_ns > e->now_ns) e->now_ns = now_ns;
    run_due(e);
}

void incident_engine_finish(struct incident_engine *e)
{
    for (uint32_t k = 0; k < e->cfg.max_incidents; k++) {
        struct incident *i = &e->pool[k];
        if (!i->key[0]) continue;
        if (i->state == INC_PENDING) {
            i->state = INC_OPEN;
            send(e, i, CH_OPEN);
        }
        i->state = INC_CLOSED;
        send(e, i, CH_CLOSE);
        e->st.closed++;
        unlink_incident(e, i);
    }
    e->next_due_ns = UINT64_MAX;
}

int64_t incident_engine_replay_from(const struct incident_engine *e, int64_t next)
{
    return e->st.open_now ? e->quiet_offset : next;
}

void incident_engine_stats(const struct incident_engine *e, struct incident_engine_stats *st)
{
    *st = e->st;
}
