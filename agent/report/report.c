/* report.c - summary JSON (jansson) and the human-readable summary. */
#include "report.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <string.h>

#include "../decode/decode.h"
#include "../event/event_json.h"
#include "../flow/flow_table.h"
#include "../util/table_mem.h"
#include "report_trading.h"

/* The tcp_analysis keys of the summary contract, in contract order. */
static const enum tcp_analysis_bit summary_flags[] = {
    TA_BIT_RETRANSMISSION,   TA_BIT_FAST_RETRANSMISSION, TA_BIT_SPURIOUS_RETRANSMISSION,
    TA_BIT_OUT_OF_ORDER,     TA_BIT_DUPLICATE_ACK,       TA_BIT_LOST_SEGMENT,
    TA_BIT_ACK_LOST_SEGMENT, TA_BIT_ZERO_WINDOW,         TA_BIT_ZERO_WINDOW_PROBE,
    TA_BIT_WINDOW_FULL,      TA_BIT_WINDOW_UPDATE,       TA_BIT_KEEP_ALIVE,
};
#define NSUMMARY_FLAGS (sizeof(summary_flags) / sizeof(summary_flags[0]))

uint64_t report_tcp_count(const struct tt_stats *st, enum tcp_analysis_bit b)
{
    if (b == TA_BIT_RETRANSMISSION) /* Wireshark sets it on fast and spurious ones too */
        return st->tcp_flags[TA_BIT_RETRANSMISSION] + st->tcp_flags[TA_BIT_FAST_RETRANSMISSION] +
               st->tcp_flags[TA_BIT_SPURIOUS_RETRANSMISSION];
    return st->tcp_flags[b];
}

static json_t *flow_json(const struct event *e)
{
    char src[64], dst[64];
    addr_to_str(e->key.src, e->key.family, src, sizeof(src));
    addr_to_str(e->key.dst, e->key.family, dst, sizeof(dst));
    const struct flow_record *r = &e->u.flow;
    char id[24];
    snprintf(id, sizeof(id), "%016" PRIx64, e->flow_id);
    return json_pack("{s:s, s:s, s:s, s:i, s:i, s:s, s:I, s:I, s:I, s:s}", "id", id, "src", src,
                     "dst", dst, "sport", e->key.sport, "dport", e->key.dport, "proto",
                     ip_proto_name(e->key.proto), "anomalies", (json_int_t)r->anomalies, "packets",
                     (json_int_t)(r->pkts[0] + r->pkts[1]), "bytes",
                     (json_int_t)(r->bytes[0] + r->bytes[1]), "end_reason",
                     flow_end_reason_name((enum flow_end_reason)r->end_reason));
}

/* The timeline (stats/timeline.h) for the report's charts: per bucket, packets, bytes and,
 * for each latency series with samples, p50, p99 and max in us (null where a bucket has
 * none). NULL when no frame was seen. */
static json_t *timeline_json(const struct timeline *t)
{
    if (!t->b || !t->used) return NULL;
    json_t *o =
        json_pack("{s:I, s:I, s:i}", "bucket_ns", (json_int_t)(1ull << t->shift), "start_ns",
                  (json_int_t)(t->base << t->shift), "buckets", (json_int_t)t->used);
    json_t *pk = json_array(), *by = json_array();
    for (uint32_t i = 0; i < t->used; i++) {
        json_array_append_new(pk, json_integer((json_int_t)t->b[i].packets));
        json_array_append_new(by, json_integer((json_int_t)t->b[i].bytes));
    }
    json_object_set_new(o, "packets", pk);
    json_object_set_new(o, "bytes", by);
    static const char *const names[TL_SERIES] = {"rtt_us", "order_latency_us", "feed_latency_us"};
    for (int s = 0; s < TL_SERIES; s++) {
        int any = 0;
        for (uint32_t i = 0; i < t->used && !any; i++)
            any = t->b[i].lat[s].max_ns != 0;
        if (!any) continue;
        json_t *p50 = json_array(), *p99 = json_array(), *mx = json_array();
        for (uint32_t i = 0; i < t->used; i++) {
            const struct tl_lat *l = &t->b[i].lat[s];
            if (!l->max_ns) {
                json_array_append_new(p50, json_null());
                json_array_append_new(p99, json_null());
                json_array_append_new(mx, json_null());
                continue;
            }
            json_array_append_new(p50, json_real((double)timeline_quantile(l, 0.5) / 1e3));
            json_array_append_new(p99, json_real((double)timeline_quantile(l, 0.99) / 1e3));
            json_array_append_new(mx, json_real((double)l->max_ns / 1e3));
        }
        json_object_set_new(o, names[s],
                            json_pack("{s:o, s:o, s:o}", "p50", p50, "p99", p99, "max", mx));
    }
    return o;
}

json_t *report_summary_json(const struct run_result *res)
{
    const struct tt_stats *st = &res->st;
    json_t *root = json_object();
    json_object_set_new(root, "schema_version", json_string(TT_SCHEMA_VERSION));
    json_object_set_new(root, "packets", json_integer((json_int_t)st->packets));
    json_object_set_new(root, "bytes", json_integer((json_int_t)st->bytes));
    json_object_set_new(root, "first_ts_ns", json_integer((json_int_t)st->first_ts_ns));
    json_object_set_new(root, "last_ts_ns", json_integer((json_int_t)st->last_ts_ns));
    json_object_set_new(root, "flows", json_integer((json_int_t)st->flows_created));
    json_object_set_new(
        root, "duplicates",
        json_pack("{s:I, s:I, s:b, s:f, s:I, s:f}", "frames", (json_int_t)st->dup_frames, "bytes",
                  (json_int_t)st->dup_bytes, "removed", (int)res->dedup.remove, "window_us",
                  (double)res->dedup.window_ns / 1e3, "payloads", (json_int_t)st->dup_payloads,
                  "payload_window_us", (double)res->dedup.payload_window_ns / 1e3));

    stats_counts_json(root, st->counters, st->protos);

    json_t *ta = json_object();
    for (size_t i = 0; i < NSUMMARY_FLAGS; i++)
        json_object_set_new(ta, tcp_analysis_name(summary_flags[i]),
                            json_integer((json_int_t)report_tcp_count(st, summary_flags[i])));
    json_object_set_new(ta, "reset", json_integer((json_int_t)st->resets));
    json_object_set_new(root, "tcp_analysis", ta);

    json_object_set_new(root, "rtt_us", report_latency_json(&st->rtt));
    json_object_set_new(root, "handshake_rtt_us", report_latency_json(&st->handshake));

    json_t *ev = json_object();
    for (int i = 0; i < EV_MAX; i++)
        if (res->events[i])
            json_object_set_new(ev, event_type_name((enum event_type)i),
                                json_integer((json_int_t)res->events[i]));
    json_object_set_new(root, "events", ev);
    if (res->events_filtered)
        json_object_set_new(root, "events_filtered_out",
                            json_integer((json_int_t)res->events_filtered_out));
    json_t *bl = json_pack("{s:I, s:I}", "anomalies", (json_int_t)res->baseline_anomalies,
                           "keys_full", (json_int_t)res->baseline_keys_full);
    if (res->baseline_json)
        json_object_set(bl, "order_latency_over_time", (json_t *)res->baseline_json);
    json_object_set_new(root, "baselines", bl);
    if (res->input_json) json_object_set(root, "input", (json_t *)res->input_json);
    if (res->from_ns || res->to_ns)
        json_object_set_new(
            root, "time_window",
            json_pack("{s:o, s:o}", "from_ns",
                      res->from_ns ? json_integer((json_int_t)res->from_ns) : json_null(), "to_ns",
                      res->to_ns ? json_integer((json_int_t)res->to_ns) : json_null()));
    json_object_set_new(root, "trading", report_trading_json(&st->trading));

    struct talker top[TT_TOP_MAX];
    uint32_t nt = stats_top_talkers(st, top, st->top_n);
    json_t *tt = json_array();
    for (uint32_t i = 0; i < nt; i++) {
        char a[64];
        int v4 = !memcmp(top[i].addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);
        addr_to_str(top[i].addr, v4 ? 4 : 6, a, sizeof(a));
        json_array_append_new(tt, json_pack("{s:s, s:I, s:I}", "host", a, "bytes",
                                            (json_int_t)top[i].bytes, "packets",
                                            (json_int_t)top[i].pkts));
    }
    json_object_set_new(root, "top_talkers", tt);
    struct event worst[TT_TOP_MAX];
    memcpy(worst, st->worst, st->nworst * sizeof(worst[0]));
    qsort(worst, st->nworst, sizeof(worst[0]), stats_worst_cmp);
    json_t *wf = json_array();
    for (uint32_t i = 0; i < st->nworst; i++)
        json_array_append_new(wf, flow_json(&worst[i]));
    json_object_set_new(root, "worst_flows", wf);
    json_t *tl = timeline_json(&st->timeline);
    if (tl) json_object_set_new(root, "timeline", tl);
    if (res->kafka_used) {
        const struct kafka_stats *k = &res->kafka;
        json_t *ko =
            json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "offered", (json_int_t)k->offered,
                      "delivered", (json_int_t)k->delivered, "failed", (json_int_t)k->failed,
                      "dropped_queue_full", (json_int_t)k->dropped_queue_full, "dropped_oldest",
                      (json_int_t)k->dropped_oldest, "undelivered", (json_int_t)k->undelivered,
                      "fatal_restarts", (json_int_t)k->fatal_restarts);
        if (k->last_error[0]) json_object_set_new(ko, "last_error", json_string(k->last_error));
        json_object_set_new(ko, "delivery_latency_us", report_latency_json(&res->kafka_delivery));
        if (res->kafka_e2e.n)
            json_object_set_new(ko, "end_to_end_latency_us", report_latency_json(&res->kafka_e2e));
        json_object_set_new(root, "kafka", ko);
    }
    json_object_set_new(root, "capture_errors", json_integer(res->capture_errors));
    if (res->capture_json) json_object_set(root, "capture", (json_t *)res->capture_json);
    json_object_set_new(root, "interrupted", json_boolean(res->interrupted));
    return root;
}

int report_write_summary(const struct run_result *res, const char *path, char *err, size_t errlen)
{
    json_t *root = report_summary_json(res);
    int rc = 0;
    if (!strcmp(path, "-")) {
        json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
        fputc('\n', stdout);
    } else {
        FILE *f = fopen(path, "w");
        if (!f ||
            json_dumpf(root, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12)) ||
            fputc('\n', f) == EOF || fclose(f)) {
            snprintf(err, errlen, "%s: cannot write summary: %s", path, strerror(errno));
            rc = -1;
        }
    }
    json_decref(root);
    return rc;
}

static void human_count(uint64_t v, char *buf, size_t len)
{
    char tmp[32];
    snprintf(tmp, sizeof(tmp), "%" PRIu64, v);
    size_t n = strlen(tmp), o = 0;
    for (size_t i = 0; i < n && o + 2 < len; i++) {
        if (i && (n - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = 0;
}

static void human_bytes(double b, char *buf, size_t len)
{
    const char *u[] = {"B", "kB", "MB", "GB", "TB"};
    int i = 0;
    while (b >= 1000 && i < 4) {
        b /= 1000;
        i++;
    }
    snprintf(buf, len, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

void report_print_human(const struct run_result *res, const char *inputs, FILE *out)
{
    const struct tt_stats *st = &res->st;
    char a[32], b[32], c[32];
    double dur = st->packets ? (double)(st->last_ts_ns - st->first_ts_ns) / 1e9 : 0;
    human_count(st->packets, a, sizeof(a));
    human_bytes((double)st->bytes, b, sizeof(b));
    fprintf(out, "ticktap analysis of %s\n", inputs);
    if (res->interrupted) /* partial results: the reader must not take them for the whole */
        fprintf(out, "  INTERRUPTED (Ctrl-C or SIGTERM): the figures cover the frames read "
                     "before it\n");
    fprintf(out, "\n");
    fprintf(out, "  packets %s   bytes %s   duration %.6f s", a, b, dur);
    if (dur > 0)
        fprintf(out, "   %.1f kpps  %.2f Mb/s", (double)st->packets / dur / 1e3,
                (double)st->bytes * 8 / dur / 1e6);
    fprintf(out, "\n");
    human_count(st->flows_created, a, sizeof(a));
    human_count(st->flows_evicted, c, sizeof(c));
    fprintf(out, "  flows %s (evicted %s", a, c);
    if (st->flows_resumed) /* connections that went on after their record ended */
        fprintf(out, ", resumed %" PRIu64, st->flows_resumed);
    fprintf(out, ")   analysed in %.2f s\n", res->wall_seconds);
    if (res->input_json) { /* a CSV export: say what it could not give */
        json_t *in = res->input_json, *v;
        size_t i;
        fprintf(out, "  input: CSV (%s), %" JSON_INTEGER_FORMAT " rows; needs the packets:\n",
                json_string_value(json_object_get(in, "dialect")),
                json_integer_value(json_object_get(in, "rows")));
        json_array_foreach(json_object_get(in, "needs_the_packets"), i, v)
            fprintf(out, "    - %s\n", json_string_value(v));
    }
    if (st->dup_frames) /* the TCP figures below count them unless they were left out */
        fprintf(out, "  duplicate frames %" PRIu64 " (same bytes within %.0f us): %s\n",
                st->dup_frames, (double)res->dedup.window_ns / 1e3,
                res->dedup.remove ? "left out before analysis (--dedup)"
                                  : "analysed twice, so TCP figures count them; --dedup leaves "
                                    "them out");
    size_t rss, rss_peak;
    process_resident_bytes(&rss, &rss_peak);
    fprintf(out,
            "  memory: tables %.1f MiB at most (what the configured limits allow), "
            "peak resident %.1f MiB\n",
            (double)table_mem_peak() / (1 << 20), (double)rss_peak / (1 << 20));

    fprintf(out, "\n  protocol mix:");
    for (int i = 0; i < TT_P_MAX; i++)
        if (st->protos[i])
            fprintf(out, " %s %.1f%%", tt_proto_name((enum tt_proto)i),
                    100.0 * (double)st->protos[i] / (double)(st->packets ? st->packets : 1));
    fprintf(out, "\n  decode errors:");
    int any = 0;
    for (int i = 0; i < TT_C_MAX; i++)
        if (st->counters[i] && tt_counter_is_decode_error((enum tt_counter)i)) {
            fprintf(out, "%s %s %" PRIu64, any ? "," : "", tt_counter_name((enum tt_counter)i),
                    st->counters[i]);
            any = 1;
        }
    fprintf(out, "%s\n", any ? "" : " none");
    any = 0;
    for (int i = 0; i < TT_C_MAX; i++)
        if (st->counters[i] && !tt_counter_is_decode_error((enum tt_counter)i)) {
            fprintf(out, "%s %s %" PRIu64,
                    any ? "," : "  drops and limits:", tt_counter_name((enum tt_counter)i),
                    st->counters[i]);
            any = 1;
        }
    if (any) fprintf(out, "\n");

    fprintf(out, "\nTCP analysis (tshark's tcp.analysis.* definitions)\n ");
    int col = 0;
    for (size_t i = 0; i < NSUMMARY_FLAGS; i++) {
        fprintf(out, " %-24s %-8" PRIu64, tcp_analysis_name(summary_flags[i]),
                report_tcp_count(st, summary_flags[i]));
        if (++col % 3 == 0) fprintf(out, "\n ");
    }
    fprintf(out, " %-24s %-8" PRIu64 "\n", "reset", st->resets);

    fprintf(out, "\nLatency\n");
    report_latency_line(out, "data-to-ACK RTT", &st->rtt);
    report_latency_line(out, "handshake RTT", &st->handshake);

    report_trading_human(&st->trading, out);

    struct talker top[TT_TOP_MAX];
    uint32_t nt = stats_top_talkers(st, top, st->top_n);
    if (nt) {
        fprintf(out, "\nTop talkers (bytes sent + received)\n");
        for (uint32_t i = 0; i < nt; i++) {
            char h[64];
            int v4 = !memcmp(top[i].addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);
            addr_to_str(top[i].addr, v4 ? 4 : 6, h, sizeof(h));
            human_bytes((double)top[i].bytes, b, sizeof(b));
            human_count(top[i].pkts, a, sizeof(a));
            fprintf(out, "  %-40s %10s  %s packets\n", h, b, a);
        }
    }
    if (st->nworst) {
        struct event worst[TT_TOP_MAX];
        memcpy(worst, st->worst, st->nworst * sizeof(worst[0]));
        qsort(worst, st->nworst, sizeof(worst[0]), stats_worst_cmp);
        fprintf(out, "\nWorst flows (TCP anomalies)\n");
        for (uint32_t i = 0; i < st->nworst; i++) {
            char s1[64], s2[64];
            const struct event *e = &worst[i];
            addr_to_str(e->key.src, e->key.family, s1, sizeof(s1));
            addr_to_str(e->key.dst, e->key.family, s2, sizeof(s2));
            fprintf(out, "  %s:%u -> %s:%u  anomalies %u  packets %" PRIu64 "  %s\n", s1,
                    e->key.sport, s2, e->key.dport, e->u.flow.anomalies,
                    e->u.flow.pkts[0] + e->u.flow.pkts[1],
                    tcp_state_name((enum tcp_state)e->u.flow.tcp_state));
        }
    }
    fprintf(out, "\nEvents:");
    any = 0;
    for (int i = 0; i < EV_MAX; i++)
        if (res->events[i] && i != EV_FLOW) {
            fprintf(out, "%s %s %" PRIu64, any ? "," : "", event_type_name((enum event_type)i),
                    res->events[i]);
            any = 1;
        }
    fprintf(out, "%s   (flow records: %" PRIu64 ")\n", any ? "" : " none", res->events[EV_FLOW]);
    if (res->capture_errors)
        fprintf(out,
                "\nWARNING: %u capture file(s) ended in a damaged record; results cover the "
                "frames before it.\n",
                res->capture_errors);
}
