/* event_json.c - JSON-lines serialisation of events (schemas/event.schema.json). */
#include "event_json.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../flow/flow_table.h"
#include "../tcp/tcp_analysis.h"

struct out {
    char *p;
    size_t left;
    size_t n;
};

static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(o->p + o->n, o->left, fmt, ap);
    va_end(ap);
    if (k < 0) return;
    if ((size_t)k >= o->left) { /* cut: keep what fitted */
        o->n += o->left ? o->left - 1 : 0;
        o->left = o->left ? 1 : 0;
        return;
    }
    o->n += (size_t)k;
    o->left -= (size_t)k;
}

void addr_to_str(const uint8_t addr[16], uint8_t family, char *buf, size_t len)
{
    if (family == 4)
        inet_ntop(AF_INET, addr + 12, buf, (socklen_t)len);
    else
        inet_ntop(AF_INET6, addr, buf, (socklen_t)len);
}

void ts_to_rfc3339(uint64_t ts_ns, char *buf, size_t len)
{
    time_t secs = (time_t)(ts_ns / 1000000000ull);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char date[32];
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%09" PRIu64 "Z", date, (uint64_t)(ts_ns % 1000000000ull));
}

const char *ip_proto_name(uint8_t proto)
{
    switch (proto) {
    case 1:
        return "icmp";
    case 6:
        return "tcp";
    case 17:
        return "udp";
    case 47:
        return "gre";
    case 58:
        return "icmpv6";
    case 132:
        return "sctp";
    default:
        return "other";
    }
}

static void tcp_flags_str(uint16_t f, char *buf)
{
    static const char letters[] = "FSRPAUECN";
    int n = 0;
    for (int i = 0; i < 9; i++)
        if (f & (1u << i)) buf[n++] = letters[i];
    buf[n] = 0;
}

/* One direction of a tunnel: its id and outer endpoints. */
static void put_tunnel_side(struct out *o, const struct tunnel_side *t)
{
    char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
    addr_to_str(t->outer_src, t->family, src, sizeof(src));
    addr_to_str(t->outer_dst, t->family, dst, sizeof(dst));
    put(o, "\"id\":%u,\"outer_src\":\"%s\",\"outer_dst\":\"%s\"", t->id, src, dst);
}

/* The innermost tunnel: this direction's id and outer endpoints (the key's id when the
 * direction is not known); a flow record lists both directions. Closes the flow object. */
static void put_tunnel(struct out *o, const struct event *e)
{
    put(o, "\"tunnel\":{\"kind\":\"%s\",", tt_tunnel_name((enum tt_tunnel_kind)e->key.tunnel_kind));
    if (e->tun.family)
        put_tunnel_side(o, &e->tun);
    else
        put(o, "\"id\":%u", e->key.tunnel_id);
    if (e->type == EV_FLOW) {
        put(o, ",\"directions\":[");
        for (int d = 0, n = 0; d < 2; d++) {
            const struct tunnel_side *t = &e->u.flow.tun[d];
            if (!t->family) continue;
            put(o, "%s{\"dir\":%d,", n++ ? "," : "", d);
            put_tunnel_side(o, t);
            put(o, "}");
        }
        put(o, "]");
    }
    put(o, "}}");
}

static void put_flow(struct out *o, const struct event *e)
{
    char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
    addr_to_str(e->key.src, e->key.family, src, sizeof(src));
    addr_to_str(e->key.dst, e->key.family, dst, sizeof(dst));
    put(o,
        "\"flow\":{\"id\":\"%016" PRIx64 "\",\"src\":\"%s\",\"dst\":\"%s\",\"sport\":%u,"
        "\"dport\":%u,\"proto\":\"%s\",\"ip_version\":%u,\"vlan\":%u,",
        e->flow_id, src, dst, e->key.sport, e->key.dport, ip_proto_name(e->key.proto),
        e->key.family, e->key.vlan);
    if (e->key.tunnel_kind)
        put_tunnel(o, e);
    else
        put(o, "\"tunnel\":null}");
}

/* A JSON string of printable ASCII (what the analyzers keep), escaping quote and backslash. */
static void put_jstr(struct out *o, const char *key, const char *s)
{
    char buf[2 * 160 + 1];
    size_t n = 0;
    for (; *s && n + 2 < sizeof(buf); s++) {
        if (*s == '"' || *s == '\\') buf[n++] = '\\';
        buf[n++] = *s;
    }
    buf[n] = 0;
    put(o, "\"%s\":\"%s\"", key, buf);
}

static void put_fix(struct out *o, const struct event *e)
{
    const struct fix_event_info *x = &e->u.fix;
    put(o, ",\"fix\":{");
    put_jstr(o, "sender_comp_id", x->sender);
    put(o, ",");
    put_jstr(o, "target_comp_id", x->target);
    put(o, ",\"from\":\"%s\",\"msg_seq_num\":%u,", x->from_initiator ? "initiator" : "acceptor",
        x->seq);
    put_jstr(o, "msg_type", x->msg_type);
    switch ((enum event_type)e->type) {
    case EV_FIX_SEQ_GAP:
        put(o, ",\"expected_seq_num\":%u,\"missing\":%u", x->expected, x->count);
        break;
    case EV_FIX_RESEND_REQUEST:
        put(o, ",\"begin_seq_num\":%u,\"end_seq_num\":%u", x->expected, x->count);
        break;
    case EV_FIX_REJECT:
    case EV_FIX_BUSINESS_REJECT:
        put(o, ",\"ref_seq_num\":%u,", x->ref_seq);
        put_jstr(o, "ref_msg_type", x->ref_msg_type);
        break;
    case EV_FIX_ORDER_REJECT:
        put(o, ",\"kind\":\"%s\",", x->kind ? "cancel_reject" : "execution_report");
        put_jstr(o, "cl_ord_id", x->clordid);
        put(o, ",");
        put_jstr(o, "orig_cl_ord_id", x->orig_clordid);
        put(o, ",");
        put_jstr(o, "order_id", x->order_id);
        put(o, ",");
        put_jstr(o, "symbol", x->symbol);
        break;
    case EV_FIX_HEARTBEAT_MISSED:
        put(o, ",\"cause\":\"%s\",\"silence_us\":%.3f,\"heart_bt_int_s\":%u",
            x->kind ? "test_request" : "silence", (double)x->silence_ns / 1000.0, x->heartbt_int);
        break;
    default:
        break;
    }
    if (e->type == EV_FIX_REJECT || e->type == EV_FIX_BUSINESS_REJECT ||
        e->type == EV_FIX_ORDER_REJECT) {
        if (x->reason >= 0)
            put(o, ",\"reason\":%d", x->reason);
        else
            put(o, ",\"reason\":null");
    }
    if (e->type != EV_FIX_SEQ_GAP && e->type != EV_FIX_RESEND_REQUEST &&
        e->type != EV_FIX_HEARTBEAT_MISSED) {
        put(o, ",");
        put_jstr(o, "text", x->text);
    }
    put(o, "}");
}

static void put_md(struct out *o, const struct event *e)
{
    static const char *const protos[] = {"", "fix", "moldudp64", "mdp3", "soupbintcp"};
    const struct md_event_info *m = &e->u.md;
    put(o, ",\"md\":{\"protocol\":\"%s\",", protos[m->proto <= 4 ? m->proto : 0]);
    put_jstr(o, "session", m->session);
    if (m->feed[0]) {
        put(o, ",");
        put_jstr(o, "feed", m->feed);
    } else {
        put(o, ",\"feed\":null");
    }
    put(o, ",\"feeds\":%u,\"first_seq\":%" PRIu64 ",\"count\":%" PRIu64 "}", m->nfeeds,
        m->first_seq, m->count);
}

static void put_ouch(struct out *o, const struct event *e)
{
    const struct ouch_event_info *x = &e->u.ouch;
    put(o, ",\"ouch\":{\"kind\":\"%s\",", x->kind ? "login" : "order");
    put_jstr(o, "session", x->session);
    if (x->kind) {
        char r[2] = {(char)(x->reason > 0x20 && x->reason < 0x7f ? x->reason : '?'), 0};
        put(o, ",\"version\":null,\"order\":null,\"cl_ord_id\":null,");
        put_jstr(o, "reason", r);
    } else if (x->version == 50) {
        put(o, ",\"version\":\"5.0\",");
        put_jstr(o, "order", x->order);
        put(o, ",");
        put_jstr(o, "cl_ord_id", x->clordid);
        put(o, ",\"reason\":%d", x->reason);
    } else {
        char r[2] = {(char)(x->reason > 0x20 && x->reason < 0x7f ? x->reason : '?'), 0};
        put(o, ",\"version\":\"4.2\",");
        put_jstr(o, "order", x->order);
        put(o, ",\"cl_ord_id\":null,");
        put_jstr(o, "reason", r);
    }
    put(o, "}");
}

static double us(uint64_t ns)
{
    return (double)ns / 1000.0;
}

/* The flow's features for models (schemas/flow.schema.json "features"). */
static void put_features(struct out *o, const struct flow_record *r, uint8_t proto)
{
    static const char *const flag_names[FF_TCP_FLAGS] = {"fin", "syn", "rst", "psh",
                                                         "ack", "urg", "ece", "cwr"};
    put(o, ",\"features\":{");
    for (int d = 0; d < 2; d++) {
        const struct flow_dir_summary *s = &r->dirs[d];
        if (!r->pkts[d]) { /* a direction that sent nothing (a SYN unanswered) */
            put(o, "%s\"%s\":null", d ? "," : "", d ? "dst_to_src" : "src_to_dst");
            continue;
        }
        put(o,
            "%s\"%s\":{\"size\":{\"min\":%u,\"max\":%u,\"mean\":%.1f,\"std\":%u},"
            "\"iat_us\":{\"min\":%.3f,\"mean\":%.3f,\"std\":%.3f,\"p50\":%.3f,\"p99\":%.3f,"
            "\"max\":%.3f},\"jitter_us\":%.3f",
            d ? "," : "", d ? "dst_to_src" : "src_to_dst", s->size_min, s->size_max,
            r->pkts[d] ? (double)r->bytes[d] / (double)r->pkts[d] : 0.0, s->size_std,
            us(s->iat_min_ns), us(s->iat_mean_ns), us(s->iat_std_ns), us(s->iat_p50_ns),
            us(s->iat_p99_ns), us(s->iat_max_ns), us(s->jitter_ns));
        if (proto == 6) {
            put(o, ",\"rtt_us\":{\"mean\":%.3f,\"p50\":%.3f,\"p99\":%.3f},\"tcp_flags\":{",
                us(s->rtt_mean_ns), us(s->rtt_p50_ns), us(s->rtt_p99_ns));
            for (int f = 0; f < FF_TCP_FLAGS; f++)
                put(o, "%s\"%s\":%u", f ? "," : "", flag_names[f], s->tcp_flags[f]);
            put(o, "}");
        }
        put(o, "}");
    }
    put(o, ",\"anomaly_counts\":{");
    int any = 0;
    for (int b = 0; b < TA_BIT_MAX; b++)
        if (r->anomaly_counts[b]) {
            put(o, "%s\"%s\":%u", any ? "," : "", tcp_analysis_name((enum tcp_analysis_bit)b),
                r->anomaly_counts[b]);
            any = 1;
        }
    put(o, "},\"payload_duplicates\":%u}", r->payload_duplicates);
}

static void put_record(struct out *o, const struct flow_record *r, uint8_t proto)
{
    uint64_t dur = r->last_ts_ns - r->first_ts_ns;
    uint64_t pk = r->pkts[0] + r->pkts[1], by = r->bytes[0] + r->bytes[1];
    char a[48], b[48];
    ts_to_rfc3339(r->first_ts_ns, a, sizeof(a));
    ts_to_rfc3339(r->last_ts_ns, b, sizeof(b));
    put(o,
        ",\"record\":{\"start\":\"%s\",\"end\":\"%s\",\"start_ns\":%" PRIu64 ",\"end_ns\":%" PRIu64
        ",\"duration_ns\":%" PRIu64 ",\"packets\":{\"src_to_dst\":%" PRIu64
        ",\"dst_to_src\":%" PRIu64 "},\"bytes\":{\"src_to_dst\":%" PRIu64 ",\"dst_to_src\":%" PRIu64
        "},\"throughput_bps\":%.1f,\"mean_packet_bytes\":%.1f,"
        "\"end_reason\":\"%s\",\"anomalies\":%u",
        a, b, r->first_ts_ns, r->last_ts_ns, dur, r->pkts[0], r->pkts[1], r->bytes[0], r->bytes[1],
        dur ? (double)by * 8e9 / (double)dur : 0.0, pk ? (double)by / (double)pk : 0.0,
        flow_end_reason_name((enum flow_end_reason)r->end_reason), r->anomalies);
    if (proto == 6) {
        put(o, ",\"tcp_state\":\"%s\"", tcp_state_name((enum tcp_state)r->tcp_state));
        if (r->handshake_ns)
            put(o, ",\"handshake_rtt_us\":%.3f", us(r->handshake_ns));
        else
            put(o, ",\"handshake_rtt_us\":null");
        put(o, ",\"ack_rtt_us\":{");
        for (int d = 0; d < 2; d++)
            put(o, "%s\"%s\":{\"n\":%u,\"min\":%.3f,\"max\":%.3f}", d ? "," : "",
                d ? "dst_to_src" : "src_to_dst", r->rtt_n[d], us(r->rtt_min_ns[d]),
                us(r->rtt_max_ns[d]));
        put(o, "}");
    }
    put_features(o, r, proto);
    put(o, "}");
}

size_t event_to_json(const struct event *e, char *buf, size_t len)
{
    struct out o = {buf, len, 0};
    char ts[48];
    ts_to_rfc3339(e->ts_ns, ts, sizeof(ts));
    put(&o,
        "{\"schema_version\":\"" TT_SCHEMA_VERSION "\",\"type\":\"%s\",\"ts\":\"%s\","
        "\"ts_ns\":%" PRIu64 ",\"severity\":\"%s\",",
        event_type_name((enum event_type)e->type), ts, e->ts_ns,
        severity_name((enum severity)e->severity));
    if (e->frame != UINT64_MAX) put(&o, "\"frame\":%" PRIu64 ",", e->frame);
    if (e->type == EV_BURST_MICRO) {
        char st[48];
        ts_to_rfc3339(e->u.burst.start_ns, st, sizeof(st));
        put(&o,
            "\"burst\":{\"interface\":\"%s\",\"start\":\"%s\",\"start_ns\":%" PRIu64
            ",\"duration_us\":%.3f,\"bytes\":%" PRIu64 ",\"frames\":%" PRIu64
            ",\"peak_bps\":%" PRIu64 ",\"threshold_bps\":%" PRIu64 ",\"window_us\":%.3f}}\n",
            e->u.burst.ifname, st, e->u.burst.start_ns, us(e->u.burst.duration_ns),
            e->u.burst.bytes, e->u.burst.frames, e->u.burst.peak_bps, e->u.burst.threshold_bps,
            us(e->u.burst.window_ns));
        return o.n;
    }
    if (e->type == EV_CAPTURE_SATURATED) {
        put(&o, "\"capture\":{\"interface\":\"%s\",", e->u.saturated.ifname);
        if (e->u.saturated.queue >= 0)
            put(&o, "\"queue\":%d,", e->u.saturated.queue);
        else
            put(&o, "\"queue\":null,");
        put(&o, "\"reason\":\"%s\",\"lost\":%" PRIu64 ",\"lost_total\":%" PRIu64 "}}\n",
            saturation_reason_name((enum saturation_reason)e->u.saturated.reason),
            e->u.saturated.lost, e->u.saturated.total);
        return o.n;
    }
    if (e->type == EV_ANOMALY_RATE || e->type == EV_ANOMALY_LATENCY ||
        e->type == EV_ANOMALY_ERRORS) {
        const struct anomaly_info *a = &e->u.anomaly;
        char st[48];
        ts_to_rfc3339(a->start_ns, st, sizeof(st));
        put(&o, "\"anomaly\":{\"scope\":\"%s\",", a->scope);
        put_jstr(&o, "key", a->key);
        put(&o,
            ",\"metric\":\"%s\",\"value\":%.3f,\"baseline\":%.3f,\"band_low\":%.3f,"
            "\"band_high\":%.3f,\"k\":%u,\"samples\":%u,\"interval_us\":%.3f,"
            "\"interval_start\":\"%s\",\"interval_start_ns\":%" PRIu64 "}}\n",
            a->metric, a->value, a->baseline, a->band_low, a->band_high, a->k, a->samples,
            us(a->interval_ns), st, a->start_ns);
        return o.n;
    }
    if (e->type == EV_CAPTURE_HANDOFF) {
        put(&o, "\"handoff\":{\"interface\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",",
            e->u.handoff.ifname, e->u.handoff.to_dpdk ? "tap" : "dpdk",
            e->u.handoff.to_dpdk ? "dpdk" : "tap");
        put_jstr(&o, "device", e->u.handoff.device);
        put(&o, ",\"ok\":%s,\"intervals\":%u,\"frames_before\":%" PRIu64 ",\"rate_fps\":",
            e->u.handoff.ok ? "true" : "false", e->u.handoff.intervals, e->u.handoff.frames_before);
        if (e->u.handoff.to_dpdk)
            put(&o, "null,");
        else
            put(&o, "%" PRIu64 ",", e->u.handoff.rate);
        if (e->u.handoff.reason[0])
            put_jstr(&o, "reason", e->u.handoff.reason);
        else
            put(&o, "\"reason\":null");
        put(&o, "}}\n");
        return o.n;
    }
    put_flow(&o, e);
    switch ((enum event_type)e->type) {
    case EV_FLOW:
        put_record(&o, &e->u.flow, e->key.proto);
        break;
    case EV_TCP_HANDSHAKE:
        put(&o,
            ",\"handshake\":{\"rtt_us\":%.3f,\"syn_to_synack_us\":%.3f,\"synack_to_ack_us\":%.3f}",
            us(e->u.handshake.total_ns), us(e->u.handshake.syn_synack_ns),
            us(e->u.handshake.total_ns - e->u.handshake.syn_synack_ns));
        break;
    case EV_TCP_HANDSHAKE_FAILED:
        put(&o, ",\"failure\":{\"reason\":\"%s\",\"syn_attempts\":%u}",
            e->u.hs_fail.reason == HS_FAIL_SYN_REJECTED ? "syn_rejected" : "syn_unanswered",
            e->u.hs_fail.syn_attempts);
        break;
    case EV_ALERT: {
        static const char *const levels[] = {"resolved", "warn", "critical"};
        static const char *const scopes[] = {"all", "flow", "host"};
        put(&o,
            ",\"alert\":{\"rule\":\"%s\",\"level\":\"%s\",\"scope\":\"%s\",\"count\":%u,"
            "\"threshold\":%u,\"window_us\":%.3f}",
            event_type_name((enum event_type)e->u.alert.rule_type), levels[e->u.alert.level % 3],
            scopes[e->u.alert.scope % 3], e->u.alert.count, e->u.alert.threshold,
            us(e->u.alert.window_ns));
        break;
    }
    case EV_FIX_SEQ_GAP:
    case EV_FIX_RESEND_REQUEST:
    case EV_FIX_REJECT:
    case EV_FIX_BUSINESS_REJECT:
    case EV_FIX_ORDER_REJECT:
    case EV_FIX_LOGOUT:
    case EV_FIX_HEARTBEAT_MISSED:
        put_fix(&o, e);
        break;
    case EV_MD_GAP:
    case EV_MD_DUPLICATE:
    case EV_MD_ARBITRATION_LOSS:
        put_md(&o, e);
        break;
    case EV_OUCH_REJECT:
        put_ouch(&o, e);
        break;
    case EV_PAYLOAD_DUPLICATE:
        put(&o,
            ",\"payload_duplicate\":{\"count\":%u,\"first_frame\":%" PRIu64 ",\"window_us\":%.3f}",
            e->u.payload_dup.count, e->u.payload_dup.first_frame, us(e->u.payload_dup.window_ns));
        break;
    case EV_LATENCY_SPIKE:
        put(&o,
            ",\"spike\":{\"metric\":\"ack_rtt_us\",\"value\":%.3f,\"baseline\":%.3f,"
            "\"deviation\":%.3f,\"band_high\":%.3f,\"k\":%u,\"factor\":%u,\"samples\":%u}",
            us(e->u.spike.rtt_ns), us(e->u.spike.baseline_ns), us(e->u.spike.dev_ns),
            us(e->u.spike.baseline_ns + (uint64_t)e->u.spike.k * e->u.spike.dev_ns), e->u.spike.k,
            e->u.spike.factor, e->u.spike.samples);
        break;
    case EV_TCP_RST_STORM:
    case EV_TCP_FIN_STORM:
        put(&o, ",\"storm\":{\"count\":%u,\"window_us\":%.3f}", e->u.storm.count,
            us(e->u.storm.window_ns));
        break;
    default: {
        char fl[16];
        tcp_flags_str(e->u.tcp.flags, fl);
        put(&o,
            ",\"tcp\":{\"from_src\":%s,\"seq\":%u,\"ack\":%u,\"len\":%u,\"window\":%u,"
            "\"flags\":\"%s\"",
            e->dir ? "false" : "true", e->u.tcp.seq, e->u.tcp.ack, e->u.tcp.len, e->u.tcp.window,
            fl);
        if (e->type == EV_TCP_DUPLICATE_ACK) put(&o, ",\"dupack_num\":%u", e->u.tcp.dupack_num);
        put(&o, "}");
        break;
    }
    }
    put(&o, "}\n");
    return o.n;
}
