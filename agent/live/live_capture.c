/* live_capture.c - the interfaces of a live run, their rules, losses and reports (see
 * live_capture.h). */
#include "live_capture.h"
#include "live_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../capture/capture_switch.h"
#include "../metrics/prom.h"

const char *live_mode_name(int m)
{
    return m == LIVE_TAP ? "tap" : m == LIVE_PCAP ? "pcap" : m == LIVE_DPDK ? "dpdk" : "host";
}

/* No rules: one that takes every frame, so a bare config still captures. */
void live_capture_default_rule(struct live_config *lc)
{
    if (lc->nrules) return;
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
        if (access(path, F_OK)) break;
    }
    return n ? n : 1;
}

int live_eal_start(struct live_capture *lc, char *err, size_t errlen)
{
    if (lc->eal) return 0;
    const char *args[TT_DPDK_EAL_ARGS_MAX];
    for (uint32_t i = 0; i < lc->cfg->dpdk.nargs; i++)
        args[i] = lc->cfg->dpdk.args[i];
    if (dpdk_eal_start(args, (int)lc->cfg->dpdk.nargs, err, errlen)) return -1;
    lc->eal = 1;
    return 0;
}

int live_open_dpdk(struct live_capture *lc, struct live_capture_iface *ri, const char *dev,
                   uint32_t queues, uint32_t at, char *err, size_t errlen)
{
    const struct tt_config *cfg = lc->cfg;
    if (live_eal_start(lc, err, errlen)) return -1;
    const struct dpdk_port_opts o = {.dev = dev,
                                     .queues = queues,
                                     .rx_descriptors = ri->cfg.rx_descriptors,
                                     .mempool_size = ri->cfg.mempool_size,
                                     .snaplen = cfg->snaplen,
                                     .rss_l3 = ri->cfg.rss_l3,
                                     .busy_poll = ri->cfg.busy_poll};
    if (at + queues > LIVE_CAPTURE_SOURCES_MAX) {
        snprintf(err, errlen, "more than %d capture queues in all", LIVE_CAPTURE_SOURCES_MAX);
        return -1;
    }
    if (dpdk_port_open(&ri->dpdk, &o, err, errlen)) return -1;
    uint32_t n = dpdk_port_queues(ri->dpdk);
    for (uint32_t q = 0; q < n; q++)
        lc->src[at + q] = (struct live_source){&capture_dpdk_ops, dpdk_port_queue(ri->dpdk, q),
                                               ri->cfg.name, (int)q, 1};
    return (int)n;
}

/* Bare-metal mode: the EAL (once, with dpdk.eal), the port, a source per queue. */
static int open_dpdk(struct live_capture *lc, struct live_capture_iface *ri, char *err,
                     size_t errlen)
{
    int n = live_open_dpdk(lc, ri, ri->cfg.dev, ri->cfg.queues ? ri->cfg.queues : 1, lc->nsrc, err,
                           errlen);
    if (n < 0) return -1;
    lc->nsrc += (uint32_t)n;
    ri->nsrc = (uint32_t)n;
    return 0;
}

int live_capture_finite(const struct live_capture *lc)
{
    for (uint32_t i = 0; i < lc->nifs; i++)
        if (!lc->ifs[i].dpdk || !dpdk_port_finite(lc->ifs[i].dpdk)) return 0;
    return lc->nifs > 0;
}

int live_attach_xdp(struct live_capture *lc, struct live_capture_iface *ri,
                    const struct compiled_rules *cr, char *err, size_t errlen)
{
    const struct tt_config *cfg = lc->cfg;
    struct xdp_iface_opts o = {
        .ifname = ri->cfg.name,
        .mode = ri->cfg.mode,
        .attach = ri->cfg.attach,
        .pass_unmatched = ri->cfg.pass_unmatched,
        .snaplen = cfg->snaplen,
        .ring_bytes = cfg->ring_bytes,
        .hw_timestamps = (int)cfg->hw_timestamps,
    };
    return xdp_iface_open(&ri->xdp, &o, cr, err, errlen) ? -1 : 0;
}

static int open_iface(struct live_capture *lc, struct live_capture_iface *ri,
                      const struct compiled_rules *cr, const char *pcap_filter, char *err,
                      size_t errlen)
{
    const struct tt_config *cfg = lc->cfg;
    ri->first = lc->nsrc;
    if (ri->cfg.mode == LIVE_DPDK) return open_dpdk(lc, ri, err, errlen);
    if (ri->cfg.mode == LIVE_PCAP) {
        char filter[4096] = "";
        if (pcap_filter[0] && cfg->pcap_filter[0])
            snprintf(filter, sizeof(filter), "(%s) and (%s)", pcap_filter, cfg->pcap_filter);
        else
            snprintf(filter, sizeof(filter), "%s", pcap_filter[0] ? pcap_filter : cfg->pcap_filter);
        struct capture *c = capture_pcap_live_open(ri->cfg.name, cfg->snaplen, cfg->ring_bytes,
                                                   filter, err, errlen);
        if (!c) return -1;
        lc->src[lc->nsrc++] = (struct live_source){&capture_pcap_live_ops, c, ri->cfg.name, -1, 0};
        ri->nsrc = 1;
        return 0;
    }
    if (live_attach_xdp(lc, ri, cr, err, errlen)) return -1;
    if (ri->cfg.mode == LIVE_HOST) {
        struct capture *c = capture_ring_open(ri->xdp, cfg->snaplen, err, errlen);
        if (!c) return -1;
        lc->src[lc->nsrc++] = (struct live_source){&capture_ring_ops, c, ri->cfg.name, -1, 0};
        ri->nsrc = 1;
        return 0;
    }
    int n = live_open_tap_queues(lc, ri, lc->nsrc, err, errlen);
    if (n < 0) return -1;
    lc->nsrc += (uint32_t)n;
    ri->nsrc = (uint32_t)n;
    return 0;
}

int live_open_tap_queues(struct live_capture *lc, struct live_capture_iface *ri, uint32_t at,
                         char *err, size_t errlen)
{
    const struct tt_config *cfg = lc->cfg;
    uint32_t queues = ri->cfg.queues ? ri->cfg.queues : device_rx_queues(ri->cfg.name);
    for (uint32_t q = 0; q < queues; q++) {
        if (at + q >= LIVE_CAPTURE_SOURCES_MAX) {
            snprintf(err, errlen, "more than %d capture queues in all", LIVE_CAPTURE_SOURCES_MAX);
            return -1;
        }
        struct capture *c = capture_xsk_open(ri->xdp, q, cfg->xsk_frames, cfg->xsk_ring,
                                             cfg->coalesce_ns, err, errlen);
        if (!c) {
            while (q--)
                capture_xsk_ops.close(lc->src[at + q].cap);
            return -1;
        }
        lc->src[at + q] = (struct live_source){&capture_xsk_ops, c, ri->cfg.name, (int)q, 0};
    }
    return (int)queues;
}

void live_handoff_device(const struct live_capture_iface *ri, char *dev, size_t len)
{
    if (ri->cfg.handoff_to[0])
        snprintf(dev, len, "%s", ri->cfg.handoff_to);
    else /* the same queues through DPDK's AF_XDP driver: no unbinding */
        snprintf(dev, len, "net_af_xdp_%s,iface=%s,start_queue=0,queue_count=%u", ri->cfg.name,
                 ri->cfg.name, ri->nsrc);
}

/* The line each interface says on stderr once attached. */
static void say_attached(const struct live_capture *lc, const struct live_capture_iface *ri)
{
    fprintf(stderr, "ticktap: %s: %s mode", ri->cfg.name, live_mode_name(ri->mode));
    if (ri->dpdk)
        fprintf(stderr, ", %u queue(s)%s", dpdk_port_queues(ri->dpdk),
                dpdk_port_finite(ri->dpdk) ? ", replaying files (ends with them)" : "");
    if (ri->xdp)
        fprintf(stderr, ", XDP %s%s", xdp_iface_attach_mode(ri->xdp),
                xdp_iface_hw_timestamps(ri->xdp) ? " (device-bound: NIC timestamps)" : "");
    if (ri->cfg.handoff)
        fprintf(stderr, ", auto (to DPDK after %u saturated interval(s)%s)", ri->cfg.handoff_after,
                ri->cfg.handback_below ? ", back when slow" : "");
    if (ri->xdp && xdp_iface_egress_hook(ri->xdp))
        fprintf(stderr, ", egress by %s", xdp_iface_egress_hook(ri->xdp));
    if (ri->mode == LIVE_TAP && ri->xdp) {
        struct capture *q0 = lc->src[ri->first].cap;
        fprintf(stderr, ", %u AF_XDP queue(s) in %s mode, %s", ri->nsrc,
                capture_xsk_zerocopy(q0) ? "zero-copy" : "copy",
                capture_xsk_multi_buffer(q0) ? "multi-buffer (jumbo frames whole)"
                                             : "single-buffer (frames over ~3.5 KiB are dropped: "
                                               "kernel 6.6+ takes them whole)");
    }
    fprintf(stderr, "\n");
}

int live_capture_open(struct live_capture *lc, struct tt_config *cfg, char *err, size_t errlen)
{
    memset(lc, 0, sizeof(*lc));
    lc->cfg = cfg;
    live_capture_default_rule(&cfg->live);
    struct compiled_rules cr;
    char pcap_filter[4096] = "";
    if (rules_compile(&cfg->live, &cr)) {
        snprintf(err, errlen, "out of memory compiling the rules");
        return LIVE_CAPTURE_BAD_CONFIG;
    }
    int rc = 0;
    for (uint32_t i = 0; i < cfg->live.nifaces && !rc; i++)
        if (cfg->live.ifaces[i].mode == LIVE_PCAP && !pcap_filter[0])
            rc = rules_pcap_filter(&cfg->live, pcap_filter, sizeof(pcap_filter), err, errlen);
    if (rc) {
        rules_compiled_free(&cr);
        return LIVE_CAPTURE_BAD_CONFIG;
    }
    for (uint32_t i = 0; i < cfg->live.nifaces && !rc; i++) {
        struct live_capture_iface *ri = &lc->ifs[lc->nifs++];
        ri->cfg = cfg->live.ifaces[i];
        ri->mode = ri->cfg.mode;
        /* mode auto: the EAL now, so that a hand-off does not wait for it (and a bad dpdk.eal
         * is said at start) */
        if (ri->cfg.handoff && live_eal_start(lc, err, errlen)) rc = -1;
        if (!rc && !(rc = open_iface(lc, ri, &cr, pcap_filter, err, errlen))) say_attached(lc, ri);
    }
    rules_compiled_free(&cr);
    for (uint32_t i = 0; i < lc->nifs && !rc; i++) { /* what the pipeline reads */
        struct live_capture_iface *ri = &lc->ifs[i];
        for (uint32_t k = ri->first; k < ri->first + ri->nsrc; k++) {
            lc->pipe[k] = lc->src[k];
            if (!ri->cfg.handoff) continue;
            lc->pipe[k].ops = &capture_switch_ops;
            lc->pipe[k].cap = capture_switch_new(lc->src[k].ops, lc->src[k].cap);
            if (!lc->pipe[k].cap) {
                snprintf(err, errlen, "out of memory");
                rc = -1;
            }
        }
    }
    return rc ? LIVE_CAPTURE_NO_ATTACH : 0;
}

void live_capture_close(struct live_capture *lc)
{
    /* Programs first: nothing may be redirected into a socket that is going away. */
    for (uint32_t i = 0; i < lc->nifs; i++) {
        xdp_iface_close(lc->ifs[i].xdp);
        lc->ifs[i].xdp = NULL;
    }
    for (uint32_t i = 0; i < lc->nsrc; i++) {
        lc->src[i].ops->close(lc->src[i].cap);
        if (lc->pipe[i].ops == &capture_switch_ops) lc->pipe[i].ops->close(lc->pipe[i].cap);
        lc->pipe[i] = (struct live_source){0};
    }
    lc->nsrc = 0;
    for (uint32_t i = 0; i < lc->nifs; i++) { /* a DPDK port owns its queues */
        dpdk_port_close(lc->ifs[i].dpdk);
        lc->ifs[i].dpdk = NULL;
    }
    if (lc->eal) dpdk_eal_stop();
    lc->eal = 0;
}

int live_capture_reload(struct live_capture *lc, struct tt_config *fresh)
{
    live_capture_default_rule(&fresh->live);
    for (uint32_t i = 0; i < fresh->live.nifaces || i < lc->nifs; i++)
        if (i >= fresh->live.nifaces || i >= lc->nifs ||
            memcmp(&fresh->live.ifaces[i], &lc->ifs[i].cfg, sizeof(struct live_iface))) {
            fprintf(stderr, "ticktap: reload: interface changes need a restart; only the rules "
                            "are reloaded\n");
            break;
        }
    struct compiled_rules cr;
    char filter[4096], err[1024];
    int bad = rules_compile(&fresh->live, &cr);
    if (bad) snprintf(err, sizeof(err), "out of memory compiling the rules");
    for (uint32_t i = 0; i < lc->nifs && !bad; i++) {
        struct live_capture_iface *ri = &lc->ifs[i];
        if (ri->xdp) {
            if ((bad = xdp_iface_set_rules(ri->xdp, &cr)))
                snprintf(err, sizeof(err), "%s: cannot write the rules: %s", ri->cfg.name,
                         strerror(-bad));
        } else if ((bad = rules_pcap_filter(&fresh->live, filter, sizeof(filter), err,
                                            sizeof(err))) == 0) {
            for (uint32_t k = 0; k < ri->nsrc && !bad; k++)
                bad = capture_pcap_live_set_filter(lc->src[ri->first + k].cap, filter, err,
                                                   sizeof(err));
        }
    }
    if (bad) {
        fprintf(stderr, "ticktap: reload: %s\n", err);
        lc->reload_failures++;
    } else {
        lc->reloads++;
        memcpy(lc->cfg->live.rules, fresh->live.rules, sizeof(fresh->live.rules));
        lc->cfg->live.nrules = fresh->live.nrules;
    }
    rules_compiled_free(&cr);
    return bad ? -1 : 0;
}

void live_event_init(struct event *e, enum event_type type)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    memset(e, 0, sizeof(*e));
    e->frame = UINT64_MAX; /* about the capture, not a frame: stamped with the wall clock */
    e->ts_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
    e->type = (uint16_t)type;
    e->severity = (uint8_t)event_type_severity(type);
}

static void saturation_event(struct event *e, const char *ifname, int queue, uint64_t lost,
                             uint64_t total, enum saturation_reason why)
{
    live_event_init(e, EV_CAPTURE_SATURATED);
    snprintf(e->u.saturated.ifname, sizeof(e->u.saturated.ifname), "%s", ifname);
    e->u.saturated.queue = queue;
    e->u.saturated.lost = lost;
    e->u.saturated.total = total;
    e->u.saturated.reason = (uint8_t)why;
}

/* Lost-frame counters of one interface: [0] the interface, [1 + q] its queue q. */
void live_lost_now(struct live_capture *lc, struct live_capture_iface *ri, uint64_t *lost, int *why)
{
    memset(lost, 0, sizeof(uint64_t) * (LIVE_CAPTURE_SOURCES_MAX + 1));
    if (ri->xdp) {
        struct tt_counters c;
        if (xdp_iface_counters(ri->xdp, &c, NULL) == 0) {
            lost[0] = ri->mode == LIVE_HOST ? c.copy_fail : c.redirect_fail;
            *why = ri->mode == LIVE_HOST ? SAT_RING_FULL : SAT_REDIRECT_FAILED;
        }
        for (uint32_t q = 0; ri->mode == LIVE_TAP && q < ri->nsrc; q++) {
            struct xsk_queue_stats xs;
            if (capture_xsk_stats(lc->src[ri->first + q].cap, &xs) == 0)
                lost[1 + q] = xs.rx_dropped + xs.rx_ring_full;
        }
    } else if (ri->dpdk) {
        struct dpdk_port_stats st;
        dpdk_port_stats(ri->dpdk, &st);
        lost[0] = st.imissed + st.rx_nombuf;
        *why = SAT_NIC_MISSED;
    } else if (ri->mode == LIVE_PCAP) {
        lost[0] = capture_pcap_live_dropped(lc->src[ri->first].cap);
        *why = SAT_KERNEL_DROPPED;
    } /* else a `mode: auto` interface left without a reader: nothing counts */
}

int live_capture_saturation(struct live_capture *lc, struct event *out, int max)
{
    int n = 0;
    for (uint32_t i = 0; i < lc->nifs; i++) {
        struct live_capture_iface *ri = &lc->ifs[i];
        uint64_t lost[LIVE_CAPTURE_SOURCES_MAX + 1];
        int why = SAT_RING_FULL;
        live_lost_now(lc, ri, lost, &why);
        for (uint32_t k = 0; k <= ri->nsrc && k <= LIVE_CAPTURE_SOURCES_MAX; k++) {
            if (lost[k] <= ri->lost_prev[k]) continue;
            ri->saturated_now = 1;
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

/* The capture's own families for /metrics: XDP program counters, rule hits, socket and
 * kernel losses per interface and queue, config reloads. */
/* A DPDK port's extended statistics into a JSON object, or as Prometheus samples. */
static void xstat_json(void *ctx, const char *name, uint64_t v)
{
    json_object_set_new(ctx, name, json_integer((json_int_t)v));
}

struct xstat_prom {
    struct prom_buf *b;
    const char *ifname;
};

static void xstat_prom(void *ctx, const char *name, uint64_t v)
{
    struct xstat_prom *x = ctx;
    struct prom_labels l;
    prom_labels_init(&l);
    prom_label(&l, "interface", x->ifname);
    prom_label(&l, "name", name);
    prom_sample(x->b, "ticktap_dpdk_xstats", &l, v);
}

void live_capture_metrics(struct live_capture *lc, struct metrics *m)
{
    struct prom_buf b = {0};
    struct prom_labels l;
    static const char *xdp_names[] = {"seen",          "egress_seen",  "matched",   "redirected",
                                      "redirect_fail", "copied",       "copy_fail", "passed",
                                      "dropped",       "parse_errors", "bells"};
    struct tt_counters c[LIVE_MAX_IFACES];
    uint64_t hits[LIVE_MAX_IFACES][TT_MAX_RULE_ID + 1]; /* 16 KiB, on the sink thread */
    int have[LIVE_MAX_IFACES] = {0};
    for (uint32_t i = 0; i < lc->nifs; i++)
        have[i] = lc->ifs[i].xdp && !xdp_iface_counters(lc->ifs[i].xdp, &c[i], hits[i]);
    prom_family(&b, "ticktap_xdp_packets_total", "counter",
                "XDP/TC program counters per interface (seen, matched, redirected, copied, "
                "passed, failures; bells: tap mode's doorbells rung)");
    for (uint32_t i = 0; i < lc->nifs; i++) {
        if (!have[i]) continue;
        uint64_t v[] = {c[i].seen,          c[i].egress_seen,  c[i].matched,   c[i].redirected,
                        c[i].redirect_fail, c[i].copied,       c[i].copy_fail, c[i].passed,
                        c[i].dropped,       c[i].parse_errors, c[i].bells};
        for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
            prom_labels_init(&l);
            prom_label(&l, "interface", lc->ifs[i].cfg.name);
            prom_label(&l, "counter", xdp_names[k]);
            prom_sample(&b, "ticktap_xdp_packets_total", &l, v[k]);
        }
    }
    prom_family(&b, "ticktap_xdp_bell_wakeups_total", "counter",
                "Tap mode: the reader's sleeps a doorbell cut short");
    for (uint32_t i = 0; i < lc->nifs; i++) {
        if (!have[i]) continue;
        prom_labels_init(&l);
        prom_label(&l, "interface", lc->ifs[i].cfg.name);
        prom_sample(&b, "ticktap_xdp_bell_wakeups_total", &l,
                    xdp_iface_bell_wakeups(lc->ifs[i].xdp));
    }
    prom_family(&b, "ticktap_rule_matches_total", "counter", "Frames each capture rule matched");
    for (uint32_t i = 0; i < lc->nifs; i++)
        for (uint32_t r = 0; have[i] && r < lc->cfg->live.nrules; r++) {
            const struct capture_rule *cr = &lc->cfg->live.rules[r];
            prom_labels_init(&l);
            prom_label(&l, "interface", lc->ifs[i].cfg.name);
            prom_label_u(&l, "rule_id", cr->id);
            prom_label(&l, "rule", cr->name);
            prom_sample(&b, "ticktap_rule_matches_total", &l, hits[i][cr->id]);
        }
    prom_family(&b, "ticktap_capture_frames_total", "counter",
                "Frames each capture input delivered to the agent (per AF_XDP queue in tap mode)");
    for (uint32_t i = 0; i < lc->nifs; i++) {
        const struct live_capture_iface *ri = &lc->ifs[i];
        for (uint32_t q = 0; q < ri->nsrc; q++) {
            const struct live_source *src = &lc->src[ri->first + q];
            struct capture_stats st;
            src->ops->stats(src->cap, &st);
            prom_labels_init(&l);
            prom_label(&l, "interface", ri->cfg.name);
            if (src->queue >= 0) prom_label_u(&l, "queue", (uint64_t)src->queue);
            prom_sample(&b, "ticktap_capture_frames_total", &l, st.frames);
        }
    }
    prom_family(&b, "ticktap_capture_lost_total", "counter",
                "Frames lost before the agent: ring_full (host), redirect_failed (tap), "
                "socket_dropped (AF_XDP queue), kernel_dropped (pcap), nic_missed (dpdk)");
    for (uint32_t i = 0; i < lc->nifs; i++) {
        struct live_capture_iface *ri = &lc->ifs[i];
        uint64_t lost[LIVE_CAPTURE_SOURCES_MAX + 1];
        int why = SAT_RING_FULL;
        live_lost_now(lc, ri, lost, &why);
        for (uint32_t k = 0; k <= ri->nsrc && k <= LIVE_CAPTURE_SOURCES_MAX; k++) {
            if (k && ri->mode != LIVE_TAP) break;
            prom_labels_init(&l);
            prom_label(&l, "interface", ri->cfg.name);
            if (k) prom_label_u(&l, "queue", k - 1);
            prom_label(
                &l, "reason",
                saturation_reason_name(k ? SAT_SOCKET_DROPPED : (enum saturation_reason)why));
            prom_sample(&b, "ticktap_capture_lost_total", &l, lost[k]);
        }
    }
    prom_family(&b, "ticktap_dpdk_port_packets_total", "counter",
                "DPDK ports' own counters (rte_eth_stats): received, missed for want of "
                "descriptors, rx without an mbuf, errors");
    for (uint32_t i = 0; i < lc->nifs; i++) {
        if (!lc->ifs[i].dpdk) continue;
        struct dpdk_port_stats st;
        dpdk_port_stats(lc->ifs[i].dpdk, &st);
        const char *names[] = {"ipackets", "imissed", "rx_nombuf", "ierrors"};
        const uint64_t v[] = {st.ipackets, st.imissed, st.rx_nombuf, st.ierrors};
        for (int k = 0; k < 4; k++) {
            prom_labels_init(&l);
            prom_label(&l, "interface", lc->ifs[i].cfg.name);
            prom_label(&l, "counter", names[k]);
            prom_sample(&b, "ticktap_dpdk_port_packets_total", &l, v[k]);
        }
    }
    prom_family(&b, "ticktap_dpdk_xstats", "gauge",
                "DPDK ports' extended statistics (rte_eth_xstats, per queue and driver-specific; "
                "the non-zero ones), by their DPDK names");
    for (uint32_t i = 0; i < lc->nifs; i++) {
        struct xstat_prom x = {&b, lc->ifs[i].cfg.name};
        if (lc->ifs[i].dpdk) dpdk_port_xstats(lc->ifs[i].dpdk, xstat_prom, &x);
    }
    prom_family(&b, "ticktap_xsk_zero_copy", "gauge",
                "AF_XDP queue bound in zero-copy mode (1) or copy mode (0)");
    for (uint32_t i = 0; i < lc->nifs; i++)
        for (uint32_t q = 0; lc->ifs[i].xdp && lc->ifs[i].mode == LIVE_TAP && q < lc->ifs[i].nsrc;
             q++) {
            prom_labels_init(&l);
            prom_label(&l, "interface", lc->ifs[i].cfg.name);
            prom_label_u(&l, "queue", q);
            prom_sample(&b, "ticktap_xsk_zero_copy", &l,
                        (uint64_t)capture_xsk_zerocopy(lc->src[lc->ifs[i].first + q].cap));
        }
    prom_family(&b, "ticktap_config_reloads_total", "counter", "SIGHUP reloads, by result");
    prom_labels_init(&l);
    prom_label(&l, "result", "ok");
    prom_sample(&b, "ticktap_config_reloads_total", &l, lc->reloads);
    prom_labels_init(&l);
    prom_label(&l, "result", "failed");
    prom_sample(&b, "ticktap_config_reloads_total", &l, lc->reload_failures);
    if (!b.oom && b.p) metrics_set_capture_text(m, b.p);
    prom_buf_fini(&b);
}

/* The "capture" object of the summary: what each interface saw, per rule and queue. */
json_t *live_capture_json(struct live_capture *lc)
{
    json_t *ifs = json_array();
    for (uint32_t i = 0; i < lc->nifs; i++) {
        struct live_capture_iface *ri = &lc->ifs[i];
        json_t *o = json_object();
        json_object_set_new(o, "interface", json_string(ri->cfg.name));
        json_object_set_new(o, "mode", json_string(live_mode_name(ri->mode)));
        uint64_t frames = 0, hw = 0;
        for (uint32_t k = 0; k < ri->nsrc; k++) {
            struct capture_stats cs;
            lc->src[ri->first + k].ops->stats(lc->src[ri->first + k].cap, &cs);
            frames += cs.frames;
            hw += cs.hw_stamped;
        }
        frames += ri->frames_before; /* mode auto: the readers before the last switch */
        json_object_set_new(o, "frames", json_integer((json_int_t)frames));
        if (ri->cfg.handoff) {
            char dev[256];
            live_handoff_device(ri, dev, sizeof(dev));
            json_object_set_new(o, "handoff",
                                json_pack("{s:s, s:i, s:i, s:i, s:I}", "device", dev, "to_dpdk",
                                          (int)ri->handoffs, "back_to_tap", (int)ri->handbacks,
                                          "failures", (int)ri->handoff_failures,
                                          "frames_before_last", (json_int_t)ri->frames_before));
        }
        const char *clock = ri->xdp && xdp_iface_hw_timestamps(ri->xdp)
                                ? "hardware where the NIC stamps, else kernel"
                                : "kernel";
        if (ri->dpdk) clock = dpdk_port_clock(ri->dpdk);
        json_object_set_new(o, "timestamps", json_string(clock));
        if (ri->dpdk) {
            struct dpdk_port_stats st;
            dpdk_port_stats(ri->dpdk, &st);
            json_object_set_new(
                o, "dpdk",
                json_pack("{s:I, s:I, s:I, s:I, s:i}", "ipackets", (json_int_t)st.ipackets,
                          "imissed", (json_int_t)st.imissed, "rx_nombuf", (json_int_t)st.rx_nombuf,
                          "ierrors", (json_int_t)st.ierrors, "queues",
                          (int)dpdk_port_queues(ri->dpdk)));
            json_t *xs = json_object();
            dpdk_port_xstats(ri->dpdk, xstat_json, xs);
            json_object_set_new(json_object_get(o, "dpdk"), "xstats", xs);
        }
        json_object_set_new(o, "hw_stamped_frames", json_integer((json_int_t)hw));
        uint64_t lost[LIVE_CAPTURE_SOURCES_MAX + 1];
        int why;
        live_lost_now(lc, ri, lost, &why);
        uint64_t total_lost = ri->lost_before;
        for (uint32_t k = 0; k <= ri->nsrc && k <= LIVE_CAPTURE_SOURCES_MAX; k++)
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
            C(bells);
#undef C
            json_object_set_new(k, "bell_wakeups",
                                json_integer((json_int_t)xdp_iface_bell_wakeups(ri->xdp)));
            json_object_set_new(o, "xdp", k);
            json_t *rules = json_array();
            for (uint32_t r = 0; r < lc->cfg->live.nrules; r++) {
                const struct capture_rule *cr = &lc->cfg->live.rules[r];
                json_array_append_new(rules,
                                      json_pack("{s:i, s:s, s:I}", "id", (int)cr->id, "name",
                                                cr->name, "matched", (json_int_t)hits[cr->id]));
            }
            json_object_set_new(o, "rules", rules);
        }
        if (ri->mode == LIVE_TAP && ri->xdp) {
            json_t *qs = json_array();
            for (uint32_t q = 0; q < ri->nsrc; q++) {
                struct capture *cap = lc->src[ri->first + q].cap;
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
    json_object_set_new(root, "reloads", json_integer((json_int_t)lc->reloads));
    json_object_set_new(root, "reload_failures", json_integer((json_int_t)lc->reload_failures));
    return root;
}

void live_capture_print(json_t *cap, FILE *out)
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
            fprintf(out,
                    "      rule %3" JSON_INTEGER_FORMAT " %-24s %" JSON_INTEGER_FORMAT " frames\n",
                    json_integer_value(json_object_get(r, "id")),
                    json_string_value(json_object_get(r, "name")),
                    json_integer_value(json_object_get(r, "matched")));
        }
        json_array_foreach(json_object_get(o, "queues"), k, r)
        {
            fprintf(out,
                    "      queue %" JSON_INTEGER_FORMAT " (%s)  %" JSON_INTEGER_FORMAT
                    " frames, %" JSON_INTEGER_FORMAT " dropped\n",
                    json_integer_value(json_object_get(r, "queue")),
                    json_string_value(json_object_get(r, "bind")),
                    json_integer_value(json_object_get(r, "frames")),
                    json_integer_value(json_object_get(r, "rx_dropped")) +
                        json_integer_value(json_object_get(r, "rx_ring_full")));
        }
    }
}
