/* event_filter.c - the --events-filter expression (see event_filter.h). */
#include "event_filter.h"

#include <arpa/inet.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/units.h"

enum { T_TYPE, T_SEVERITY, T_FLOW, T_HOST, T_PORT, T_SESSION, T_FROM, T_TO };

static const char *const term_names[] = {"type", "severity", "flow", "host",
                                         "port", "session",  "from", "to"};

static int parse_severity(const char *v, uint8_t *out)
{
    static const char *const names[] = {"info", "warn", "critical"};
    for (int i = 0; i < 3; i++)
        if (!strcmp(v, names[i])) return *out = (uint8_t)i, 0;
    if (!strcmp(v, "warning")) return *out = 1, 0;
    return -1;
}

static int parse_types(struct event_filter_term *t, const char *v)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", v);
    int any = 0;
    for (char *save, *g = strtok_r(buf, "|", &save); g; g = strtok_r(NULL, "|", &save))
        for (int i = 0; i < EV_MAX; i++)
            if (!event_type_internal(i) && !fnmatch(g, event_type_name((enum event_type)i), 0))
                t->types[i] = 1, any = 1;
    return any ? 0 : -1;
}

static int parse_term(struct event_filter_term *t, const char *term, char *err, size_t errlen)
{
    const char *op = strpbrk(term, "=!<>");
    if (!op) goto bad;
    size_t klen = (size_t)(op - term);
    const char *v;
    if (!strncmp(op, "!=", 2))
        t->negate = 1, v = op + 2;
    else if (!strncmp(op, ">=", 2))
        t->at_least = 1, v = op + 2;
    else if (*op == '=')
        v = op + 1;
    else
        goto bad;
    int kind = -1;
    for (int i = 0; i < (int)(sizeof(term_names) / sizeof(term_names[0])); i++)
        if (strlen(term_names[i]) == klen && !strncmp(term, term_names[i], klen)) kind = i;
    if (kind < 0 || (t->at_least && kind != T_SEVERITY) || !*v) goto bad;
    t->kind = (uint8_t)kind;
    char *end;
    switch (kind) {
    case T_TYPE:
        if (parse_types(t, v)) {
            snprintf(err, errlen, "--events-filter: no event type matches '%s' (see schemas/)", v);
            return -1;
        }
        return 0;
    case T_SEVERITY:
        if (parse_severity(v, &t->severity)) goto bad;
        return 0;
    case T_FLOW:
        t->value = strtoull(v, &end, 16);
        if (*end) goto bad;
        return 0;
    case T_HOST:
        if (inet_pton(AF_INET, v, t->addr + 12) == 1) {
            memset(t->addr, 0, 10);
            t->addr[10] = t->addr[11] = 0xff;
            t->family = 4;
        } else if (inet_pton(AF_INET6, v, t->addr) == 1) {
            t->family = 6;
        } else {
            goto bad;
        }
        return 0;
    case T_PORT: {
        unsigned long p = strtoul(v, &end, 10);
        if (*end || p > 65535) goto bad;
        t->port = (uint16_t)p;
        return 0;
    }
    case T_SESSION:
        snprintf(t->name, sizeof(t->name), "%s", v);
        return 0;
    default:
        if (parse_time_ns(v, &t->value)) goto bad;
        return 0;
    }
bad:
    snprintf(err, errlen,
             "--events-filter: cannot read '%s' (terms: type=GLOB, severity>=info|warn|critical, "
             "flow=ID, host=ADDR, port=N, session=NAME, from=TIME, to=TIME; '!=' negates)",
             term);
    return -1;
}

int event_filter_parse(struct event_filter *f, const char *expr, char *err, size_t errlen)
{
    memset(f, 0, sizeof(*f));
    char buf[1024];
    if (strlen(expr) >= sizeof(buf)) {
        snprintf(err, errlen, "--events-filter: longer than %zu characters", sizeof(buf) - 1);
        return -1;
    }
    snprintf(buf, sizeof(buf), "%s", expr);
    for (char *save, *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        if (f->n == EVENT_FILTER_TERMS) {
            snprintf(err, errlen, "--events-filter: at most %d terms", EVENT_FILTER_TERMS);
            return -1;
        }
        if (parse_term(&f->terms[f->n], t, err, errlen)) return -1;
        f->n++;
    }
    return 0;
}

/* The session names an event carries (FIX both CompIDs, OUCH, market data). */
static int session_is(const struct event *e, const char *name)
{
    if (event_type_is_fix(e->type))
        return !strcmp(e->u.fix.sender, name) || !strcmp(e->u.fix.target, name);
    if (event_type_is_md(e->type)) return !strcmp(e->u.md.session, name);
    switch ((enum event_type)e->type) {
    case EV_OUCH_REJECT:
        return !strcmp(e->u.ouch.session, name);
    case EV_ANOMALY_RATE:
    case EV_ANOMALY_LATENCY:
    case EV_ANOMALY_ERRORS:
        return !strcmp(e->u.anomaly.key, name);
    default:
        return 0;
    }
}

/* Events without a flow (capture, bursts, interface baselines) have a zero key. */
static int has_flow(const struct event *e)
{
    return e->key.family != 0;
}

static int term_holds(const struct event_filter_term *t, const struct event *e)
{
    switch (t->kind) {
    case T_TYPE:
        return e->type < EV_MAX && t->types[e->type];
    case T_SEVERITY:
        return t->at_least ? e->severity >= t->severity : e->severity == t->severity;
    case T_FLOW:
        return has_flow(e) && e->flow_id == t->value;
    case T_HOST:
        return has_flow(e) && e->key.family == t->family &&
               (!memcmp(e->key.src, t->addr, 16) || !memcmp(e->key.dst, t->addr, 16));
    case T_PORT:
        return has_flow(e) && (e->key.sport == t->port || e->key.dport == t->port);
    case T_SESSION:
        return session_is(e, t->name);
    case T_FROM:
        return e->ts_ns >= t->value;
    default:
        return e->ts_ns < t->value;
    }
}

int event_filter_match(const struct event_filter *f, const struct event *e)
{
    for (uint32_t i = 0; i < f->n; i++)
        if (term_holds(&f->terms[i], e) == f->terms[i].negate) return 0;
    return 1;
}
