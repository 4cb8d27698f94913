/* cmd_run.c - `ticktap run`: the long-running live capture agent.
 *
 * Attaches to the configured interfaces (host, tap or pcap mode), runs the shared pipeline
 * until SIGINT/SIGTERM (or --duration), then detaches everything, flushes what it holds and
 * reports. SIGHUP re-reads the config file and swaps the rules in place. Every
 * capture.stats_interval the capture counters are read: frames lost anywhere on the way in
 * become capture.saturated events.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../capture/capture_live.h"
#include "../pipeline/pipeline.h"
#include "../report/report.h"
#include "../trading/trading.h"
#include "cli.h"

#define MAX_SOURCES 64

static _Atomic int stop_flag;
static _Atomic int reload_flag;

static void on_stop(int sig)
{
    (void)sig;
    atomic_store(&stop_flag, 1);
}

static void on_hup(int sig)
{
    (void)sig;
    atomic_store(&reload_flag, 1);
}

struct run_iface {
    struct live_iface cfg;
    struct xdp_iface *xdp; /* host and tap modes */
    uint32_t first, nsrc;  /* its sources in run_state.src */
    uint64_t lost_prev[MAX_SOURCES + 1];
};

struct run_state {
    struct tt_config cfg;
    const char *config_path;
    const char **sets;
    int nsets;
    struct run_iface ifs[LIVE_MAX_IFACES];
    uint32_t nifs;
    struct live_source src[MAX_SOURCES];
    uint32_t nsrc;
    uint64_t reloads, reload_failures;
    uint64_t next_stats_ns; /* counters are read every capture.stats_interval */
    uint64_t next_metrics_ns; /* and for /metrics every metrics.publish_interval */
    struct metrics *metrics; /* NULL: no /metrics endpoint */
};

static const char *mode_name(int m)
{
    return m == LIVE_TAP ? "tap" : m == LIVE_PCAP ? "pcap" : "host";
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ticktap run --config FILE [options]\n"
            "\n"
            "Captures live on the interfaces of the config (capture.interfaces: host, tap or\n"
            "pcap mode) through the same analysis as 'ticktap analyze', until SIGINT/SIGTERM.\n"
            "SIGHUP re-reads the config and replaces the rules without detaching.\n"
            "\n"
            "  -c, --config FILE     YAML config (example: examples/ticktap.yaml)\n"
            "      --set KEY=VALUE   override one setting\n"
            "  -e, --events PATH     write every event and flow record as JSON lines ('-': stdout)\n"
            "  -s, --summary PATH    write the summary JSON at the end ('-': stdout)\n"
            "  -k, --kafka BROKERS   also stream events to Kafka ('mock': a mock cluster inside)\n"
            "  -m, --metrics ADDR    serve Prometheus /metrics and /healthz (metrics.listen)\n"
            "  -d, --duration SEC    stop after SEC seconds\n"
            "  -q, --quiet           no human summary\n"
            "\n"
            "Needs root (or CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON; CAP_NET_RAW for pcap mode).\n"
            "exit status: 0 ran and detached; 1 bad usage or config; 2 could not attach or\n"
            "             capture (privileges, interface, XDP mode); 4 an output could not be\n"
            "             written; 5 Kafka did not take every message\n");
}

static int load_config(struct tt_config *cfg, const char *path, const char **sets, int nsets,
                       char *err, size_t errlen)
{
    config_defaults(cfg);
    cfg->overflow_block = 0; /* live frames cannot wait for a slow sink: drop and count */
    if (path && config_load_file(cfg, path, err, errlen))
        return -1;
    for (int i = 0; i < nsets; i++)
        if (config_set(cfg, sets[i], err, errlen))
            return -1;
    if (config_finish(cfg, err, errlen))
        return -1;
    if (!cfg->live.nifaces) {
        snprintf(err, errlen,
                 "%s: no capture.interfaces: name at least one (see examples/ticktap.yaml)",
                 path ? path : "config");
        return -1;
    }
    return 0;
}

/* No rules: one that takes every frame, so a bare config still captures. */
static void default_rule(struct live_config *lc)
{
    if (lc->nrules)
        return;
    memset(&lc->rules[0], 0, sizeof(lc->rules[0]));
    lc->rules[0].id = 1;
    lc->rules[0].used = 1;
    snprintf(lc->rules[0].name, sizeof(lc->rules[0].name), "all");
    lc->nrules = 1;
}

static uint32_t device_rx_queues(const char *ifname)
{
    uint32_t n = 0;
    for (;; n++) {
        char path[128];
        snprintf(path, sizeof(path), "/sys/class/net/%s/queues/rx-%u", ifname, n);
        if (access(path, F_OK))
            break;
    }
    return n ? n : 1;
}

static int open_iface(struct run_state *rs, struct run_iface *ri, const struct compiled_rules *cr,
                      const char *pcap_filter, char *err, size_t errlen)
{
    const struct tt_config *cfg = &rs->cfg;
    ri->first = rs->nsrc;
    if (ri->cfg.mode == LIVE_PCAP) {
        char filter[4096] = "";
        if (pcap_filter[0] && cfg->pcap_filter[0])
            snprintf(filter, sizeof(filter), "(%s) and (%s)", pcap_filter, cfg->pcap_filter);
        else
            snprintf(filter, sizeof(filter), "%s", pcap_filter[0] ? pcap_filter : cfg->pcap_filter);
        struct capture *c = capture_pcap_live_open(ri->cfg.name, cfg->snaplen, cfg->ring_bytes,
                                                   filter, err, errlen);
        if (!c)
            return -1;
        rs->src[rs->nsrc++] = (struct live_source){&capture_pcap_live_ops, c, ri->cfg.name, -1};
        ri->nsrc = 1;
        return 0;
    }
    struct xdp_iface_opts o = {
        .ifname = ri->cfg.name,
        .mode = ri->cfg.mode,
        .attach = ri->cfg.attach,
        .pass_unmatched = ri->cfg.pass_unmatched,
        .snaplen = cfg->snaplen,
        .ring_bytes = cfg->ring_bytes,
        .hw_timestamps = (int)cfg->hw_timestamps,
    };
    if (xdp_iface_open(&ri->xdp, &o, cr, err, errlen))
        return -1;
    if (ri->cfg.mode == LIVE_HOST) {
        struct capture *c = capture_ring_open(ri->xdp, cfg->snaplen, err, errlen);
        if (!c)
            return -1;
        rs->src[rs->nsrc++] = (struct live_source){&capture_ring_ops, c, ri->cfg.name, -1};
        ri->nsrc = 1;
        return 0;
    }
    uint32_t queues = ri->cfg.queues ? ri->cfg.queues : device_rx_queues(ri->cfg.name);
    for (uint32_t q = 0; q < queues; q++) {
        if (rs->nsrc >= MAX_SOURCES) {
            snprintf(err, errlen, "more than %d capture queues in all", MAX_SOURCES);
            return -1;
        }
        struct capture *c = capture_xsk_open(ri->xdp, q, cfg->xsk_frames, cfg->xsk_ring,
                                             cfg->coalesce_ns, err, errlen);
        if (!c)
            return -1;
        rs->src[rs->nsrc++] = (struct live_source){&capture_xsk_ops, c, ri->cfg.name, (int)q};
        ri->nsrc++;
    }
    return 0;
}

static void close_all(struct run_state *rs)
{
    /* Programs first: nothing may be redirected into a socket that is going away. */
    for (uint32_t i = 0; i < rs->nifs; i++) {
        xdp_iface_close(rs->ifs[i].xdp);
        rs->ifs[i].xdp = NULL;
    }
    for (uint32_t i = 0; i < rs->nsrc; i++)
        rs->src[i].ops->close(rs->src[i].cap);
    rs->nsrc = 0;
}

/* SIGHUP: the rules of the re-read config replace the running ones. Interfaces, modes and
 * sizes need a restart; a config that does not load leaves the running rules alone. */
static void reload_rules(struct run_state *rs)
{
    struct tt_config *fresh = malloc(sizeof(*fresh));
    char err[1024];
    if (!fresh)
        return;
    if (load_config(fresh, rs->config_path, rs->sets, rs->nsets, err, sizeof(err))) {
        fprintf(stderr, "ticktap: reload: %s (keeping the running rules)\n", err);
        rs->reload_failures++;
        free(fresh);
        return;
    }
    default_rule(&fresh->live);
    for (uint32_t i = 0; i < fresh->live.nifaces || i < rs->nifs; i++)
        if (i >= fresh->live.nifaces || i >= rs->nifs ||
            memcmp(&fresh->live.ifaces[i], &rs->ifs[i].cfg, sizeof(struct live_iface))) {
            fprintf(stderr, "ticktap: reload: interface changes need a restart; only the rules "
                            "are reloaded\n");
            break;
        }
    struct compiled_rules cr;
    char filter[4096];
    int bad = rules_compile(&fresh->live, &cr);
    for (uint32_t i = 0; i < rs->nifs && !bad; i++) {
        struct run_iface *ri = &rs->ifs[i];
        if (ri->xdp) {
            if ((bad = xdp_iface_set_rules(ri->xdp, &cr)))
                snprintf(err, sizeof(err), "%s: cannot write the rules: %s", ri->cfg.name,
                         strerror(-bad));
        } else if ((bad = rules_pcap_filter(&fresh->live, filter, sizeof(filter), err,
                                            sizeof(err))) == 0) {
            for (uint32_t k = 0; k < ri->nsrc && !bad; k++)
                bad = capture_pcap_live_set_filter(rs->src[ri->first + k].cap, filter, err,
                                                   sizeof(err));
        }
    }
    if (bad) {
        fprintf(stderr, "ticktap: reload: %s\n", err);
        rs->reload_failures++;
    } else {
        fprintf(stderr, "ticktap: reloaded %s: %u rule(s)\n", rs->config_path, fresh->live.nrules);
        rs->reloads++;
        memcpy(rs->cfg.live.rules, fresh->live.rules, sizeof(fresh->live.rules));
        rs->cfg.live.nrules = fresh->live.nrules;
    }
    rules_compiled_free(&cr);
    free(fresh);
}

static void saturation_event(struct event *e, const char *ifname, int queue, uint64_t lost,
                             uint64_t total, enum saturation_reason why)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    memset(e, 0, sizeof(*e));
    e->frame = UINT64_MAX;
    e->ts_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
    e->type = EV_CAPTURE_SATURATED;
    e->severity = (uint8_t)event_type_severity(EV_CAPTURE_SATURATED);
    snprintf(e->u.saturated.ifname, sizeof(e->u.saturated.ifname), "%s", ifname);
    e->u.saturated.queue = queue;
    e->u.saturated.lost = lost;
    e->u.saturated.total = total;
    e->u.saturated.reason = (uint8_t)why;
}

/* Lost-frame counters of one interface: [0] the interface, [1 + q] its queue q. */
static void lost_now(struct run_state *rs, struct run_iface *ri, uint64_t *lost, int *why)
{
    memset(lost, 0, sizeof(uint64_t) * (MAX_SOURCES + 1));
    if (ri->xdp) {
        struct tt_counters c;
        if (xdp_iface_counters(ri->xdp, &c, NULL) == 0) {
            lost[0] = ri->cfg.mode == LIVE_HOST ? c.copy_fail : c.redirect_fail;
            *why = ri->cfg.mode == LIVE_HOST ? SAT_RING_FULL : SAT_REDIRECT_FAILED;
        }
        for (uint32_t q = 0; ri->cfg.mode == LIVE_TAP && q < ri->nsrc; q++) {
            struct xsk_queue_stats xs;
            if (capture_xsk_stats(rs->src[ri->first + q].cap, &xs) == 0)
                lost[1 + q] = xs.rx_dropped + xs.rx_ring_full;
        }
    } else {
        lost[0] = capture_pcap_live_dropped(rs->src[ri->first].cap);
        *why = SAT_KERNEL_DROPPED;
    }
}

/* The capture's own families for /metrics: XDP program counters, rule hits, socket and
 * kernel losses per interface and queue, config reloads. */
static void capture_metrics(struct run_state *rs)
{
    struct prom_buf b = {0};
    struct prom_labels l;
    static const char *xdp_names[] = {"seen",   "egress_seen", "matched", "redirected",
                                      "redirect_fail", "copied", "copy_fail", "passed",
                                      "dropped", "parse_errors"};
    struct tt_counters c[LIVE_MAX_IFACES];
    uint64_t hits[LIVE_MAX_IFACES][TT_MAX_RULE_ID + 1]; /* 16 KiB, on the sink thread */
    int have[LIVE_MAX_IFACES] = {0};
    for (uint32_t i = 0; i < rs->nifs; i++)
        have[i] = rs->ifs[i].xdp && !xdp_iface_counters(rs->ifs[i].xdp, &c[i], hits[i]);
    prom_family(&b, "ticktap_xdp_packets_total", "counter",
                "XDP/TC program counters per interface (seen, matched, redirected, copied, "
                "passed, failures)");
    for (uint32_t i = 0; i < rs->nifs; i++) {
        if (!have[i])
            continue;
        uint64_t v[] = {c[i].seen,   c[i].egress_seen, c[i].matched, c[i].redirected,
                        c[i].redirect_fail, c[i].copied, c[i].copy_fail, c[i].passed,
                        c[i].dropped, c[i].parse_errors};
        for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
            prom_labels_init(&l);
            prom_label(&l, "interface", rs->ifs[i].cfg.name);
            prom_label(&l, "counter", xdp_names[k]);
            prom_sample(&b, "ticktap_xdp_packets_total", &l, v[k]);
        }
    }
    prom_family(&b, "ticktap_rule_matches_total", "counter", "Frames each capture rule matched");
    for (uint32_t i = 0; i < rs->nifs; i++)
        for (uint32_t r = 0; have[i] && r < rs->cfg.live.nrules; r++) {
            const struct capture_rule *cr = &rs->cfg.live.rules[r];
            prom_labels_init(&l);
            prom_label(&l, "interface", rs->ifs[i].cfg.name);
            prom_label_u(&l, "rule_id", cr->id);
            prom_label(&l, "rule", cr->name);
            prom_sample(&b, "ticktap_rule_matches_total", &l, hits[i][cr->id]);
        }
    prom_family(&b, "ticktap_capture_frames_total", "counter",
                "Frames each capture input delivered to the agent (per AF_XDP queue in tap mode)");
    for (uint32_t i = 0; i < rs->nifs; i++) {
        const struct run_iface *ri = &rs->ifs[i];
        for (uint32_t q = 0; q < ri->nsrc; q++) {
            const struct live_source *src = &rs->src[ri->first + q];
            struct capture_stats st;
            src->ops->stats(src->cap, &st);
            prom_labels_init(&l);
            prom_label(&l, "interface", ri->cfg.name);
            if (src->queue >= 0)
                prom_label_u(&l, "queue", (uint64_t)src->queue);
            prom_sample(&b, "ticktap_capture_frames_total", &l, st.frames);
        }
    }
    prom_family(&b, "ticktap_capture_lost_total", "counter",
                "Frames lost before the agent: ring_full (host), redirect_failed (tap), "
                "socket_dropped (AF_XDP queue), kernel_dropped (pcap)");
    for (uint32_t i = 0; i < rs->nifs; i++) {
        struct run_iface *ri = &rs->ifs[i];
        uint64_t lost[MAX_SOURCES + 1];
        int why = SAT_RING_FULL;
        lost_now(rs, ri, lost, &why);
        for (uint32_t k = 0; k <= ri->nsrc && k <= MAX_SOURCES; k++) {
            if (k && ri->cfg.mode != LIVE_TAP)
                break;
            prom_labels_init(&l);
            prom_label(&l, "interface", ri->cfg.name);
            if (k)
                prom_label_u(&l, "queue", k - 1);
            prom_label(&l, "reason",
                       saturation_reason_name(k ? SAT_SOCKET_DROPPED : (enum saturation_reason)why));
            prom_sample(&b, "ticktap_capture_lost_total", &l, lost[k]);
        }
    }
    prom_family(&b, "ticktap_xsk_zero_copy", "gauge", "AF_XDP queue bound in zero-copy mode (1) or copy mode (0)");
    for (uint32_t i = 0; i < rs->nifs; i++)
        for (uint32_t q = 0; rs->ifs[i].cfg.mode == LIVE_TAP && q < rs->ifs[i].nsrc; q++) {
            prom_labels_init(&l);
            prom_label(&l, "interface", rs->ifs[i].cfg.name);
            prom_label_u(&l, "queue", q);
            prom_sample(&b, "ticktap_xsk_zero_copy", &l,
                        (uint64_t)capture_xsk_zerocopy(rs->src[rs->ifs[i].first + q].cap));
        }
    prom_family(&b, "ticktap_config_reloads_total", "counter", "SIGHUP reloads, by result");
    prom_labels_init(&l);
    prom_label(&l, "result", "ok");
    prom_sample(&b, "ticktap_config_reloads_total", &l, rs->reloads);
    prom_labels_init(&l);
    prom_label(&l, "result", "failed");
    prom_sample(&b, "ticktap_config_reloads_total", &l, rs->reload_failures);
    if (!b.oom && b.p)
        metrics_set_capture_text(rs->metrics, b.p);
    prom_buf_fini(&b);
}

static int run_tick(void *arg, struct event *out, int max)
{
    struct run_state *rs = arg;
    if (atomic_exchange(&reload_flag, 0))
        reload_rules(rs);
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    uint64_t now = (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
    if (rs->metrics && (now >= rs->next_metrics_ns || atomic_load(&stop_flag))) {
        capture_metrics(rs);
        rs->next_metrics_ns = now + rs->cfg.metrics.publish_interval_ns;
    }
    if (now < rs->next_stats_ns && !atomic_load(&stop_flag)) /* stopping: a last read */
        return 0;
    rs->next_stats_ns = now + rs->cfg.stats_interval_ns;
    int n = 0;
    for (uint32_t i = 0; i < rs->nifs; i++) {
        struct run_iface *ri = &rs->ifs[i];
        uint64_t lost[MAX_SOURCES + 1];
        int why = SAT_RING_FULL;
        lost_now(rs, ri, lost, &why);
        for (uint32_t k = 0; k <= ri->nsrc && k <= MAX_SOURCES; k++) {
            if (lost[k] <= ri->lost_prev[k])
                continue;
            if (n == max) /* no room this time: the loss is reported at the next tick */
                continue;
            saturation_event(&out[n++], ri->cfg.name, k ? (int)k - 1 : -1,
                             lost[k] - ri->lost_prev[k], lost[k],
                             k ? SAT_SOCKET_DROPPED : (enum saturation_reason)why);
            ri->lost_prev[k] = lost[k];
        }
    }
    return n;
}

/* The "capture" object of the summary: what each interface saw, per rule and queue. */
static json_t *capture_json(struct run_state *rs)
{
    json_t *ifs = json_array();
    for (uint32_t i = 0; i < rs->nifs; i++) {
        struct run_iface *ri = &rs->ifs[i];
        json_t *o = json_object();
        json_object_set_new(o, "interface", json_string(ri->cfg.name));
        json_object_set_new(o, "mode", json_string(mode_name(ri->cfg.mode)));
        uint64_t frames = 0, hw = 0;
        for (uint32_t k = 0; k < ri->nsrc; k++) {
            struct capture_stats cs;
            rs->src[ri->first + k].ops->stats(rs->src[ri->first + k].cap, &cs);
            frames += cs.frames;
            hw += cs.hw_stamped;
        }
        json_object_set_new(o, "frames", json_integer((json_int_t)frames));
        json_object_set_new(o, "timestamps",
                            json_string(ri->xdp && xdp_iface_hw_timestamps(ri->xdp)
                                            ? "hardware where the NIC stamps, else kernel"
                                            : "kernel"));
        json_object_set_new(o, "hw_stamped_frames", json_integer((json_int_t)hw));
        uint64_t lost[MAX_SOURCES + 1];
        int why;
        lost_now(rs, ri, lost, &why);
        uint64_t total_lost = 0;
        for (uint32_t k = 0; k <= ri->nsrc && k <= MAX_SOURCES; k++)
            total_lost += lost[k];
        json_object_set_new(o, "lost", json_integer((json_int_t)total_lost));
        if (ri->xdp) {
            struct tt_counters c;
            uint64_t hits[TT_MAX_RULE_ID + 1];
            xdp_iface_counters(ri->xdp, &c, hits);
            json_object_set_new(o, "xdp_attach", json_string(xdp_iface_attach_mode(ri->xdp)));
            if (xdp_iface_egress_hook(ri->xdp))
                json_object_set_new(o, "egress_hook", json_string(xdp_iface_egress_hook(ri->xdp)));
            json_t *k = json_object();
#define C(f) json_object_set_new(k, #f, json_integer((json_int_t)c.f))
            C(seen);
            C(egress_seen);
            C(matched);
            C(redirected);
            C(redirect_fail);
            C(copied);
            C(copy_fail);
            C(passed);
            C(dropped);
            C(parse_errors);
#undef C
            json_object_set_new(o, "xdp", k);
            json_t *rules = json_array();
            for (uint32_t r = 0; r < rs->cfg.live.nrules; r++) {
                const struct capture_rule *cr = &rs->cfg.live.rules[r];
                json_array_append_new(rules,
                                      json_pack("{s:i, s:s, s:I}", "id", (int)cr->id, "name",
                                                cr->name, "matched", (json_int_t)hits[cr->id]));
            }
            json_object_set_new(o, "rules", rules);
        }
        if (ri->cfg.mode == LIVE_TAP) {
            json_t *qs = json_array();
            for (uint32_t q = 0; q < ri->nsrc; q++) {
                struct capture *cap = rs->src[ri->first + q].cap;
                struct capture_stats cs;
                struct xsk_queue_stats xs;
                capture_xsk_ops.stats(cap, &cs);
                capture_xsk_stats(cap, &xs);
                json_array_append_new(
                    qs, json_pack(
                            "{s:i, s:s, s:b, s:I, s:I, s:I, s:I, s:I}", "queue", (int)q, "bind",
                            capture_xsk_zerocopy(cap) ? "zero-copy" : "copy", "multi_buffer",
                            capture_xsk_multi_buffer(cap), "frames", (json_int_t)cs.frames,
                            "multi_buffer_frames", (json_int_t)xs.multi_buffer_frames, "rx_dropped",
                            (json_int_t)xs.rx_dropped, "rx_ring_full", (json_int_t)xs.rx_ring_full,
                            "fill_ring_empty", (json_int_t)xs.rx_fill_empty));
            }
            json_object_set_new(o, "queues", qs);
        }
        json_array_append_new(ifs, o);
    }
    json_t *root = json_object();
    json_object_set_new(root, "interfaces", ifs);
    json_object_set_new(root, "reloads", json_integer((json_int_t)rs->reloads));
    json_object_set_new(root, "reload_failures", json_integer((json_int_t)rs->reload_failures));
    return root;
}

static void print_capture(json_t *cap, FILE *out)
{
    fprintf(out, "\ncapture\n");
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(cap, "interfaces"), i, o)
    {
        fprintf(out, "  %-12s %-4s frames %" JSON_INTEGER_FORMAT "  lost %" JSON_INTEGER_FORMAT,
                json_string_value(json_object_get(o, "interface")),
                json_string_value(json_object_get(o, "mode")),
                json_integer_value(json_object_get(o, "frames")),
                json_integer_value(json_object_get(o, "lost")));
        if (json_object_get(o, "xdp_attach"))
            fprintf(out, "  (XDP %s%s%s)", json_string_value(json_object_get(o, "xdp_attach")),
                    json_object_get(o, "egress_hook") ? ", egress " : "",
                    json_object_get(o, "egress_hook")
                        ? json_string_value(json_object_get(o, "egress_hook"))
                        : "");
        fprintf(out, "\n");
        size_t k;
        json_t *r;
        json_array_foreach(json_object_get(o, "rules"), k, r)
        {
            fprintf(out, "      rule %3" JSON_INTEGER_FORMAT " %-24s %" JSON_INTEGER_FORMAT
                         " frames\n",
                    json_integer_value(json_object_get(r, "id")),
                    json_string_value(json_object_get(r, "name")),
                    json_integer_value(json_object_get(r, "matched")));
        }
        json_array_foreach(json_object_get(o, "queues"), k, r)
        {
            fprintf(out, "      queue %" JSON_INTEGER_FORMAT " (%s)  %" JSON_INTEGER_FORMAT
                         " frames, %" JSON_INTEGER_FORMAT " dropped\n",
                    json_integer_value(json_object_get(r, "queue")),
                    json_string_value(json_object_get(r, "bind")),
                    json_integer_value(json_object_get(r, "frames")),
                    json_integer_value(json_object_get(r, "rx_dropped")) +
                        json_integer_value(json_object_get(r, "rx_ring_full")));
        }
    }
}

int cmd_run(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},  {"set", required_argument, NULL, 'S'},
        {"events", required_argument, NULL, 'e'},  {"summary", required_argument, NULL, 's'},
        {"kafka", required_argument, NULL, 'k'},   {"duration", required_argument, NULL, 'd'},
        {"quiet", no_argument, NULL, 'q'},         {"help", no_argument, NULL, 'h'},
        {"metrics", required_argument, NULL, 'm'},
        {NULL, 0, NULL, 0},
    };
    static struct run_state rs; /* large (config with rules): not on the stack */
    memset(&rs, 0, sizeof(rs));
    const char *sets[64], *events_path = NULL, *summary_path = NULL, *kafka_brokers = NULL,
               *metrics_addr = NULL;
    int nsets = 0, quiet = 0, c;
    double duration = 0;
    char err[1024];
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:e:s:k:d:qhm:", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': rs.config_path = optarg; break;
        case 'S':
            if (nsets < 64)
                sets[nsets++] = optarg;
            break;
        case 'e': events_path = optarg; break;
        case 's': summary_path = optarg; break;
        case 'k': kafka_brokers = optarg; break;
        case 'm': metrics_addr = optarg; break;
        case 'd': {
            char *end;
            duration = strtod(optarg, &end);
            if (*end || duration <= 0) {
                fprintf(stderr, "ticktap run: --duration '%s': give seconds\n", optarg);
                return 1;
            }
            break;
        }
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    if (!rs.config_path && !nsets) {
        fprintf(stderr, "ticktap run: give --config FILE (example: examples/ticktap.yaml)\n");
        return 1;
    }
    rs.sets = sets;
    rs.nsets = nsets;
    int loaded = load_config(&rs.cfg, rs.config_path, sets, nsets, err, sizeof(err));
    if (!loaded) /* the workers read the time zone: set once, before they start */
        trading_set_timezone(&rs.cfg.trading);
    if (loaded) {
        fprintf(stderr, "ticktap: %s\n", err);
        return 1;
    }
    struct tt_config *cfg = &rs.cfg;
    default_rule(&cfg->live);
    struct compiled_rules cr;
    char pcap_filter[4096] = "";
    if (rules_compile(&cfg->live, &cr)) {
        fprintf(stderr, "ticktap: out of memory compiling the rules\n");
        return 1;
    }
    for (uint32_t i = 0; i < cfg->live.nifaces; i++)
        if (cfg->live.ifaces[i].mode == LIVE_PCAP &&
            rules_pcap_filter(&cfg->live, pcap_filter, sizeof(pcap_filter), err, sizeof(err))) {
            fprintf(stderr, "ticktap: %s\n", err);
            rules_compiled_free(&cr);
            return 1;
        }

    if (cli_output_check(summary_path, "summary")) { /* known before any frame is taken */
        rules_compiled_free(&cr);
        return 4;
    }
    FILE *events_out = cli_events_open(events_path, 1);
    if (events_path && !events_out) {
        rules_compiled_free(&cr);
        return 4;
    }
    if (kafka_brokers)
        snprintf(cfg->kafka.brokers, sizeof(cfg->kafka.brokers), "%s", kafka_brokers);
    struct kafka_sink *kafka = NULL;
    if (cfg->kafka.brokers[0]) {
        if (kafka_sink_open(&kafka, &cfg->kafka, err, sizeof(err))) {
            fprintf(stderr, "ticktap: %s\n", err);
            rules_compiled_free(&cr);
            cli_events_discard(events_out);
            return 1;
        }
        fprintf(stderr, "kafka: streaming to %s\n", kafka_sink_bootstrap(kafka));
    }
    if (metrics_addr)
        snprintf(cfg->metrics.listen, sizeof(cfg->metrics.listen), "%s", metrics_addr);
    static struct cli_metrics cm;
    if (cli_metrics_start(&cm, cfg)) {
        rules_compiled_free(&cr);
        kafka_sink_close(kafka);
        cli_events_discard(events_out);
        return 1;
    }
    rs.metrics = cm.on ? &cm.reg : NULL;

    /* Signals before attaching: a stop during set-up still detaches cleanly. */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);

    int status = 0;
    for (uint32_t i = 0; i < cfg->live.nifaces; i++) {
        struct run_iface *ri = &rs.ifs[rs.nifs++];
        ri->cfg = cfg->live.ifaces[i];
        if (open_iface(&rs, ri, &cr, pcap_filter, err, sizeof(err))) {
            fprintf(stderr, "ticktap: %s\n", err);
            status = 2;
            break;
        }
        fprintf(stderr, "ticktap: %s: %s mode", ri->cfg.name, mode_name(ri->cfg.mode));
        if (ri->xdp)
            fprintf(stderr, ", XDP %s%s", xdp_iface_attach_mode(ri->xdp),
                    xdp_iface_hw_timestamps(ri->xdp) ? " (device-bound: NIC timestamps)" : "");
        if (ri->xdp && xdp_iface_egress_hook(ri->xdp))
            fprintf(stderr, ", egress by %s", xdp_iface_egress_hook(ri->xdp));
        if (ri->cfg.mode == LIVE_TAP) {
            struct capture *q0 = rs.src[ri->first].cap;
            fprintf(stderr, ", %u AF_XDP queue(s) in %s mode, %s", ri->nsrc,
                    capture_xsk_zerocopy(q0) ? "zero-copy" : "copy",
                    capture_xsk_multi_buffer(q0)
                        ? "multi-buffer (jumbo frames whole)"
                        : "single-buffer (frames over ~3.5 KiB are dropped: kernel "
                          "6.6+ takes them whole)");
        }
        fprintf(stderr, "\n");
    }
    rules_compiled_free(&cr);
    if (status) {
        close_all(&rs);
        cli_metrics_stop(&cm);
        kafka_sink_close(kafka);
        cli_events_discard(events_out);
        return status;
    }
    if (duration > 0) {
        struct itimerval it = {{0, 0}, {(time_t)duration,
                                        (suseconds_t)((duration - (double)(time_t)duration) * 1e6)}};
        setitimer(ITIMER_REAL, &it, NULL);
    }
    fprintf(stderr, "ticktap: capturing with %u rule(s); Ctrl-C to stop, SIGHUP to reload\n",
            cfg->live.nrules);

    struct run_options opt = {
        .live = rs.src,
        .nlive = (int)rs.nsrc,
        .wall_clock_idle = 1,
        .tick = run_tick,
        .tick_arg = &rs,
        .tick_interval_ns = 50000000, /* SIGHUP is acted on within 50 ms */
        .events_out = events_out,
        .kafka = kafka,
        .metrics = rs.metrics,
        .stop = &stop_flag,
    };
    struct run_result res;
    int rc = pipeline_run(cfg, &opt, &res, err, sizeof(err));
    json_t *cap = rc ? NULL : capture_json(&rs);
    close_all(&rs);
    cli_metrics_stop(&cm);
    if (rc) {
        fprintf(stderr, "ticktap: %s\n", err);
        kafka_sink_close(kafka);
        cli_events_discard(events_out);
        return 2;
    }
    res.capture_json = cap;
    res.interrupted = 0; /* a live run ends by a signal: that is its normal end */
    status = cli_write_outputs(&res, events_out, events_path, summary_path);
    if (!quiet) {
        FILE *hout = cli_human_stream(events_path, summary_path);
        char title[256] = "live:";
        for (uint32_t i = 0; i < rs.nifs; i++) {
            strncat(title, " ", sizeof(title) - strlen(title) - 1);
            strncat(title, rs.ifs[i].cfg.name, sizeof(title) - strlen(title) - 1);
        }
        report_print_human(&res, title, hout);
        print_capture(cap, hout);
    }
    if (kafka) {
        int kst = cli_kafka_report(&res.kafka);
        if (!status)
            status = kst;
        kafka_sink_close(kafka);
    }
    json_decref(cap);
    run_result_fini(&res);
    return status;
}
