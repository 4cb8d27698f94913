/* detect_alert.c - sliding-window alerting on the merged event stream (see detect_alert.h). */
#include "detect_alert.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/units.h"
#include "../util/symhash.h"
#include "../util/table_mem.h"

struct alert_state {
    uint64_t key;
    uint64_t win_idx;
    uint64_t last_fire_ns;
    uint64_t last_use;
    uint32_t cur, prev;
    uint16_t rule;
    uint8_t level;
    uint8_t used;
    struct event last; /* the latest event of this key: the alert carries its flow */
};

int alert_rules_set(struct alert_rules *rules, const char *key, const char *value, char *err,
                    size_t errlen)
{
    const char *dot = strrchr(key, '.');
    if (!dot) {
        snprintf(err, errlen, "alert setting '%s': expected alert.<event type>.<field>", key);
        return -1;
    }
    char type[64];
    snprintf(type, sizeof(type), "%.*s", (int)(dot - key), key);
    enum event_type t = event_type_from_name(type);
    if (t == EV_MAX || t == EV_FLOW || t == EV_ALERT || event_type_internal(t)) {
        snprintf(err, errlen, "alert setting '%s': '%s' is not an anomaly event type", key, type);
        return -1;
    }
    struct alert_rule *r = NULL;
    for (uint32_t i = 0; i < rules->n; i++)
        if (rules->r[i].type == t) r = &rules->r[i];
    if (!r) {
        if (rules->n >= ALERT_MAX_RULES) {
            snprintf(err, errlen, "more than %d alert rules", ALERT_MAX_RULES);
            return -1;
        }
        r = &rules->r[rules->n++];
        memset(r, 0, sizeof(*r));
        r->type = (uint16_t)t;
        r->window_ns = 10ull * 1000000000ull;
        r->cooldown_ns = 60ull * 1000000000ull;
    }
    const char *field = dot + 1;
    char *end;
    if (!strcmp(field, "warn") || !strcmp(field, "critical")) {
        unsigned long v = strtoul(value, &end, 10);
        if (*end || !*value) {
            snprintf(err, errlen, "alert setting '%s': '%s' is not a count", key, value);
            return -1;
        }
        *(field[0] == 'w' ? &r->warn : &r->critical) = (uint32_t)v;
    } else if (!strcmp(field, "window") || !strcmp(field, "cooldown")) {
        uint64_t ns;
        if (parse_duration_ns(value, &ns) || (field[0] == 'w' && ns == 0)) {
            snprintf(err, errlen, "alert setting '%s': '%s' is not a duration", key, value);
            return -1;
        }
        *(field[0] == 'w' ? &r->window_ns : &r->cooldown_ns) = ns;
    } else if (!strcmp(field, "per")) {
        if (!strcmp(value, "flow"))
            r->scope = ALERT_PER_FLOW;
        else if (!strcmp(value, "host"))
            r->scope = ALERT_PER_HOST;
        else if (!strcmp(value, "all"))
            r->scope = ALERT_PER_ALL;
        else {
            snprintf(err, errlen, "alert setting '%s': per is flow, host or all", key);
            return -1;
        }
    } else {
        snprintf(err, errlen,
                 "alert setting '%s': fields are warn, critical, window, cooldown, per", key);
        return -1;
    }
    return 0;
}

int alert_init(struct alert_detector *d, const struct alert_rules *rules, uint32_t keys)
{
    memset(d, 0, sizeof(*d));
    d->rules = *rules;
    if (!rules->n) return 0;
    d->cap = keys ? keys : 1;
    d->table = table_zalloc(d->cap, sizeof(*d->table));
    return d->table ? 0 : -ENOMEM;
}

void alert_fini(struct alert_detector *d)
{
    table_release(d->table);
    d->table = NULL;
}

static uint64_t scope_key(const struct alert_rule *r, uint16_t rule, const struct event *e)
{
    switch (r->scope) {
    case ALERT_PER_FLOW:
        return mix64(e->flow_id ^ rule);
    case ALERT_PER_HOST:
        return mix64(endpoint_fold(e->key.dst, 0) ^ rule);
    default:
        return mix64(0x51ed27u + rule);
    }
}

/* The state of key: found by linear probing within a small neighbourhood, else the least
 * recently used slot there is taken over (counted). */
static struct alert_state *state_for(struct alert_detector *d, uint64_t key, uint16_t rule)
{
    uint32_t start = (uint32_t)(key % d->cap), victim = start;
    for (uint32_t i = 0; i < 16 && i < d->cap; i++) {
        struct alert_state *s = &d->table[(start + i) % d->cap];
        if (s->used && s->key == key && s->rule == rule) return s;
        if (!s->used) {
            victim = (start + i) % d->cap;
            break;
        }
        if (s->last_use < d->table[victim].last_use) victim = (start + i) % d->cap;
    }
    struct alert_state *s = &d->table[victim];
    if (s->used) d->evicted++;
    memset(s, 0, sizeof(*s));
    s->used = 1;
    s->key = key;
    s->rule = rule;
    return s;
}

static void make_alert(struct event *out, const struct alert_state *s, const struct alert_rule *r,
                       uint8_t level, uint32_t count, uint64_t ts)
{
    *out = s->last;
    out->type = EV_ALERT;
    out->ts_ns = ts;
    out->severity = level == ALERT_CRITICAL ? SEV_CRITICAL
                    : level == ALERT_WARN   ? SEV_WARN
                                            : SEV_INFO;
    memset(&out->u, 0, sizeof(out->u));
    out->u.alert.rule_type = r->type;
    out->u.alert.level = level;
    out->u.alert.scope = r->scope;
    out->u.alert.count = count;
    out->u.alert.threshold = level == ALERT_CRITICAL ? r->critical : r->warn;
    out->u.alert.window_ns = r->window_ns;
}

int alert_feed(struct alert_detector *d, const struct event *e, struct event *out, int max)
{
    int n = 0;
    for (uint16_t i = 0; i < d->rules.n && n < max; i++) {
        const struct alert_rule *r = &d->rules.r[i];
        if (r->type != e->type) continue;
        struct alert_state *s = state_for(d, scope_key(r, i, e), i);
        s->last_use = ++d->tick;
        s->last = *e;
        uint64_t idx = e->ts_ns / r->window_ns;
        if (idx == s->win_idx) {
            s->cur++;
        } else {
            s->prev = idx == s->win_idx + 1 ? s->cur : 0;
            s->cur = 1;
            s->win_idx = idx;
        }
        /* two-bucket estimate of the count in the last window_ns */
        double into = (double)(e->ts_ns - idx * r->window_ns) / (double)r->window_ns;
        uint32_t count = s->cur + (uint32_t)((double)s->prev * (1.0 - into));
        uint8_t level = r->critical && count >= r->critical ? ALERT_CRITICAL
                        : r->warn && count >= r->warn       ? ALERT_WARN
                                                            : ALERT_NONE;
        int cooled = !s->last_fire_ns || e->ts_ns - s->last_fire_ns >= r->cooldown_ns;
        if (level > s->level) { /* a level crossed upwards fires */
            make_alert(&out[n++], s, r, level, count, e->ts_ns);
            s->level = level;
            s->last_fire_ns = e->ts_ns;
        } else if (level == ALERT_NONE && s->level != ALERT_NONE && cooled) { /* clears */
            make_alert(&out[n++], s, r, ALERT_NONE, count, e->ts_ns);
            s->level = ALERT_NONE;
        }
    }
    return n;
}

int alert_finish(struct alert_detector *d, struct event *out, int max)
{
    int n = 0;
    for (uint32_t i = 0; i < d->cap && n < max; i++) {
        struct alert_state *s = &d->table[i];
        if (s->used && s->level != ALERT_NONE) {
            make_alert(&out[n++], s, &d->rules.r[s->rule], ALERT_NONE, 0, s->last.ts_ns);
            s->level = ALERT_NONE;
        }
    }
    return n;
}
