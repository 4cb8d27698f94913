/* report_html.c - the page of report_html.h: the data gathered under its caps, then the
 * template filled in (@@CSS@@, @@CHARTJS@@, @@DATA@@, @@JS@@). */
#include "report_html.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../enrich/enrich.h"
#include "../event/event.h"

#ifndef TT_VERSION
#define TT_VERSION "0.1.0"
#endif

/* scripts/embed.py, at build time */
extern const char report_page[], report_css[], report_js[], report_chartjs[];
extern const unsigned long report_page_len, report_css_len, report_js_len, report_chartjs_len;

struct top_flow {
    json_t *row;
    uint64_t bytes;
};

struct gather {
    json_t *events, *incidents;
    struct top_flow top[REPORT_TOP_FLOWS];
    uint32_t ntop;
    uint64_t events_total;
};

static uint64_t dir_sum(json_t *o)
{
    return (uint64_t)json_integer_value(json_object_get(o, "src_to_dst")) +
           (uint64_t)json_integer_value(json_object_get(o, "dst_to_src"));
}

/* Keeps the flow record if it is among the REPORT_TOP_FLOWS largest by bytes. */
static void offer_flow(struct gather *g, json_t *ev)
{
    json_t *rec = json_object_get(ev, "record");
    uint64_t bytes = dir_sum(json_object_get(rec, "bytes"));
    uint32_t at = g->ntop;
    if (g->ntop == REPORT_TOP_FLOWS) {
        uint32_t min = 0;
        for (uint32_t i = 1; i < g->ntop; i++)
            if (g->top[i].bytes < g->top[min].bytes) min = i;
        if (bytes <= g->top[min].bytes) return;
        json_decref(g->top[min].row);
        at = min;
    } else {
        g->ntop++;
    }
    json_t *row = json_pack(
        "{s:O, s:I, s:I, s:O, s:O, s:{s:O}}", "flow", json_object_get(ev, "flow"), "packets",
        (json_int_t)dir_sum(json_object_get(rec, "packets")), "bytes", (json_int_t)bytes,
        "anomalies", json_object_get(rec, "anomalies"), "end_reason",
        json_object_get(rec, "end_reason"), "record", "start_ns", json_object_get(rec, "start_ns"));
    g->top[at] = (struct top_flow){row ? row : json_object(), bytes};
}

static int by_bytes(const void *a, const void *b)
{
    const struct top_flow *x = a, *y = b;
    return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : 0;
}

static void keep_incident(void *arg, const struct incident *inc, enum incident_change ch,
                          uint64_t now)
{
    json_t *byid = arg;
    json_t *r = incident_record(inc, ch, now, "report");
    if (r) json_object_set_new(byid, inc->id, r);
}

static int read_events(struct gather *g, const struct report_html_input *in, char *err,
                       size_t errlen)
{
    FILE *f = fopen(in->events_path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot read it: %s", in->events_path, strerror(errno));
        return -1;
    }
    struct incident_config icfg;
    incident_config_default(&icfg);
    json_t *byid = json_object();
    struct incident_engine *eng =
        in->incidents_path ? NULL : incident_engine_new(&icfg, "report", keep_incident, byid);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int64_t off = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        /* A flow record's features, its last member (event_json.c), are not shown: they are
         * left out before parsing, half of such a line (a SYN flood has a record per SYN). */
        char *feat = memmem(line, (size_t)n, ",\"features\":{", 13);
        if (feat && (size_t)(feat - line) + 3 <= (size_t)n) {
            memcpy(feat, "}}", 2);
            n = feat + 2 - line;
        }
        json_t *ev = json_loadb(line, (size_t)n, 0, NULL);
        if (!ev) continue;
        const char *type = json_string_value(json_object_get(ev, "type"));
        if (eng) incident_engine_add(eng, ev, off++);
        if (type && !strcmp(type, "flow")) {
            offer_flow(g, ev);
        } else if (type) {
            g->events_total++;
            if (json_array_size(g->events) < in->events_cap) json_array_append(g->events, ev);
        }
        json_decref(ev);
    }
    free(line);
    fclose(f);
    if (eng) {
        incident_engine_finish(eng);
        incident_engine_free(eng);
        const char *id;
        json_t *r;
        json_object_foreach(byid, id, r) json_array_append(g->incidents, r);
    }
    json_decref(byid);
    return 0;
}

/* The last record of each incident in a ticktap enrich output. */
static int read_incidents(struct gather *g, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot read it: %s", path, strerror(errno));
        return -1;
    }
    json_t *byid = json_object();
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        json_t *r = json_loadb(line, (size_t)n, 0, NULL);
        const char *id = json_string_value(json_object_get(r, "incident_id"));
        if (id && json_object_size(byid) < 100000) json_object_set(byid, id, r);
        json_decref(r);
    }
    free(line);
    fclose(f);
    const char *id;
    json_t *r;
    json_object_foreach(byid, id, r) json_array_append(g->incidents, r);
    json_decref(byid);
    return 0;
}

static int put(FILE *out, const char *p, size_t n)
{
    return fwrite(p, 1, n, out) == n ? 0 : -1;
}

int report_html_write(const char *path, const struct report_html_input *in, char *err,
                      size_t errlen)
{
    struct gather g = {.events = json_array(), .incidents = json_array()};
    int rc = -1;
    char *data = NULL;
    FILE *out = NULL;
    if (in->events_path && read_events(&g, in, err, errlen)) goto done;
    if (in->incidents_path && read_incidents(&g, in->incidents_path, err, errlen)) goto done;
    qsort(g.top, g.ntop, sizeof(g.top[0]), by_bytes);
    json_t *top = json_array(), *info = json_array(), *sev = json_object();
    for (uint32_t i = 0; i < g.ntop; i++)
        json_array_append_new(top, g.top[i].row);
    g.ntop = 0;
    static const char *const sev_names[] = {"info", "warn", "critical"};
    for (int t = 0; t < EV_MAX; t++) {
        enum severity s = event_type_severity((enum event_type)t);
        json_object_set_new(sev, event_type_name((enum event_type)t),
                            json_string(sev_names[s <= SEV_CRITICAL ? s : 0]));
        if (s == SEV_INFO)
            json_array_append_new(info, json_string(event_type_name((enum event_type)t)));
    }
    json_array_append_new(info, json_string("flow"));
    char written[40];
    time_t now = time(NULL);
    strftime(written, sizeof(written), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    json_t *d = json_pack(
        "{s:O, s:o, s:o, s:o, s:o, s:o, s:I, s:i, s:s, s:s, s:s, s:s?}", "summary", in->summary,
        "events", g.events, "incidents", g.incidents, "top_flows", top, "info_types", info,
        "severity_of", sev, "events_total", (json_int_t)g.events_total, "events_cap",
        (int)in->events_cap, "version", TT_VERSION, "written", written, "input",
        in->input_name ? in->input_name : "", "incidents_source", in->incidents_path);
    g.events = g.incidents = NULL;
    /* JSON_ESCAPE_SLASH: no "</script>" can close the data block early */
    data = d ? json_dumps(d, JSON_COMPACT | JSON_ESCAPE_SLASH) : NULL;
    json_decref(d);
    if (!data) {
        snprintf(err, errlen, "out of memory building the report");
        goto done;
    }
    out = fopen(path, "w");
    if (!out) {
        snprintf(err, errlen, "%s: cannot write it: %s", path, strerror(errno));
        goto done;
    }
    const struct {
        const char *mark, *text;
        unsigned long len;
    } parts[] = {{"@@CSS@@", report_css, report_css_len},
                 {"@@CHARTJS@@", report_chartjs, report_chartjs_len},
                 {"@@DATA@@", data, (unsigned long)strlen(data)},
                 {"@@JS@@", report_js, report_js_len}};
    const char *p = report_page, *end = report_page + report_page_len;
    int bad = 0;
    for (size_t k = 0; k < sizeof(parts) / sizeof(parts[0]); k++) {
        const char *m = strstr(p, parts[k].mark);
        if (!m) {
            bad = 1;
            break;
        }
        bad |= put(out, p, (size_t)(m - p)) | put(out, parts[k].text, parts[k].len);
        p = m + strlen(parts[k].mark);
    }
    bad |= put(out, p, (size_t)(end - p));
    if (fclose(out) || bad) {
        snprintf(err, errlen, "%s: write failed", path);
        goto done;
    }
    rc = 0;
done:
    for (uint32_t i = 0; i < g.ntop; i++)
        json_decref(g.top[i].row);
    json_decref(g.events);
    json_decref(g.incidents);
    free(data);
    return rc;
}
