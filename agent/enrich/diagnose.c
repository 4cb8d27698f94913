/* diagnose.c - the rules of diagnose.h, in the order listed there. */
#include "diagnose.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

uint32_t incident_type_count(const struct incident *inc, const char *type)
{
    for (uint32_t i = 0; i < inc->ntypes; i++)
        if (!strcmp(inc->types[i].name, type)) return inc->types[i].n;
    return 0;
}

static uint32_t prefix_count(const struct incident *inc, const char *prefix)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < inc->ntypes; i++)
        if (!strncmp(inc->types[i].name, prefix, strlen(prefix))) n += inc->types[i].n;
    return n;
}

static void evidence(struct diagnosis *d, const char *fmt, ...)
{
    if (d->nevidence == DIAG_EVIDENCE) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->evidence[d->nevidence++], sizeof(d->evidence[0]), fmt, ap);
    va_end(ap);
}

static void conclude(struct diagnosis *d, const char *rule, const char *location, const char *fmt,
                     ...)
{
    d->rule = rule;
    d->location = location;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->cause, sizeof(d->cause), fmt, ap);
    va_end(ap);
}

static void counts_evidence(const struct incident *inc, struct diagnosis *d)
{
    char line[200];
    size_t n = 0;
    line[0] = 0;
    for (uint32_t i = 0; i < inc->ntypes && n < sizeof(line); i++)
        n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%u %s", i ? ", " : "", inc->types[i].n,
                              inc->types[i].name);
    evidence(d, "events: %s", line);
}

static const struct incident_count *top(const struct incident_count *c, uint32_t n, uint32_t *all)
{
    const struct incident_count *best = NULL;
    *all = 0;
    for (uint32_t i = 0; i < n; i++) {
        *all += c[i].n;
        if (!best || c[i].n > best->n) best = &c[i];
    }
    return best;
}

static int rtt_rising(const struct incident *inc)
{
    return inc->rtt_n >= 2 && inc->rtt_last_us >= 2 * inc->rtt_first_us;
}

void diagnose(const struct incident *inc, struct diagnosis *d)
{
    memset(d, 0, sizeof(*d));
    counts_evidence(inc, d);
    uint32_t retrans = incident_type_count(inc, "tcp.retransmission") +
                       incident_type_count(inc, "tcp.fast_retransmission");
    uint32_t lost = incident_type_count(inc, "tcp.lost_segment");
    uint32_t zero =
        incident_type_count(inc, "tcp.zero_window") + incident_type_count(inc, "tcp.window_full");
    uint32_t rejects =
        incident_type_count(inc, "fix.order_reject") + incident_type_count(inc, "fix.reject") +
        incident_type_count(inc, "fix.business_reject") + incident_type_count(inc, "ouch.reject");
    uint32_t all;
    const struct incident_count *t;

    if (incident_type_count(inc, "capture.saturated")) {
        evidence(d, "capture.saturated on %s: the capture itself dropped frames",
                 inc->iface[0] ? inc->iface : "the interface");
        conclude(d, "capture_saturated", "ours",
                 "Our capture on %s could not keep up: frames were lost before analysis, so "
                 "the loss is ours, not the network's (raise the rings or queues, or hand the "
                 "port to DPDK)",
                 inc->iface[0] ? inc->iface : "the interface");
    } else if (inc->md_both_lost) {
        evidence(d, "%u message(s) missing on every feed of the session (md.gap)",
                 inc->md_both_lost);
        if (inc->md_one_lost)
            evidence(d, "%u more lost on one feed only and covered by the other", inc->md_one_lost);
        conclude(d, "md_loss_both_feeds", "upstream",
                 "Messages are missing on both the A and the B feed: the loss happened upstream "
                 "of the A/B split (the exchange or its distribution), not on our links");
    } else if (inc->md_one_lost) {
        t = top(inc->feeds, inc->nfeeds, &all);
        evidence(d,
                 "%u message(s) lost on one feed and recovered from the other "
                 "(md.arbitration_loss)",
                 inc->md_one_lost);
        if (t) evidence(d, "feed %s lost %u of them", t->name, t->n);
        conclude(d, "md_loss_one_feed", "local",
                 "Only %s lost messages while the other feed delivered them: the fault is local "
                 "to that feed (its link, switch port, NIC or our capture of it)",
                 t ? t->name : "one feed");
    } else if (inc->nfeeds) {
        t = top(inc->feeds, inc->nfeeds, &all);
        evidence(d, "%u message(s) missing on a session seen on one feed", all);
        conclude(d, "md_loss_single_feed", "unknown",
                 "Messages are missing on a session captured from one feed only: without its "
                 "other feed, local loss cannot be told from upstream loss (capture both feeds)");
    } else if (inc->ntargets) {
        t = top(inc->targets, inc->ntargets, &all);
        evidence(d, "%u handshake(s) failed; most to %s (%u)", all, t->name, t->n);
        int refused = strstr(t->name, "syn_rejected") != NULL;
        conclude(d, "service_down", "service",
                 refused ? "Connections to %.*s are refused with a reset: nothing listens there "
                           "(the service is down or on another port)"
                         : "Connections to %.*s go unanswered: the service or its host is down, "
                           "or a firewall drops the SYNs",
                 (int)strcspn(t->name, " "), t->name);
    } else if (zero) {
        evidence(d, "%u zero-window or window-full event(s): the receiver's buffer was full", zero);
        if (retrans) evidence(d, "%u retransmission(s) alongside", retrans);
        conclude(d, "slow_receiver", "counterparty",
                 "The receiver advertises a zero window: its application does not read fast "
                 "enough, so the sender stalls (look at the receiving host, not the network)");
    } else if ((retrans || lost) && rtt_rising(inc)) {
        evidence(d, "%u retransmission(s), %u lost segment(s)", retrans, lost);
        evidence(d,
                 "RTT from %" PRIu64 " us (first) / %" PRIu64 " us (min) to %" PRIu64
                 " us (max) over %u sample(s)",
                 inc->rtt_first_us, inc->rtt_min_us, inc->rtt_max_us, inc->rtt_n);
        conclude(d, "congestion", "network",
                 "Retransmissions while the round-trip time rose: queues are building on the "
                 "path, i.e. congestion between the two hosts");
    } else if (retrans || lost) {
        evidence(d, "%u retransmission(s), %u lost segment(s), no zero window, RTT steady", retrans,
                 lost);
        conclude(d, "path_loss", "network",
                 "Segments were lost and retransmitted with no sign of a slow receiver or of "
                 "queueing: packets are dropped on the path (a link, a switch, a NIC)");
    } else if (rejects >= 3 && (t = top(inc->reasons, inc->nreasons, &all)) &&
               t->n * 10 >= all * 6) {
        evidence(d, "%u reject(s); reason %s in %u of them", rejects, t->name, t->n);
        conclude(d, "reject_dominant", "business",
                 "Orders are rejected for one reason (%s) in most cases: a business set-up issue "
                 "(limits, permissions, symbol or account configuration), not the network",
                 t->name);
    } else if (rejects && rejects < 3) {
        t = top(inc->reasons, inc->nreasons, &all);
        evidence(d, "%u reject(s), reason %s", rejects, t ? t->name : "?");
        conclude(d, "rejects_few", "business",
                 "A few orders were rejected (reason %s): too few to point at a configuration "
                 "cause; look at those orders",
                 t ? t->name : "?");
    } else if (rejects) {
        evidence(d, "%u reject(s) across %u reason(s)", rejects, inc->nreasons);
        conclude(d, "rejects_mixed", "business",
                 "Orders are rejected for varied reasons: look at the order content; no single "
                 "configuration cause stands out");
    } else if (incident_type_count(inc, "fix.seq_gap") ||
               incident_type_count(inc, "fix.resend_request")) {
        evidence(d, "%u sequence gap(s), %u resend request(s)",
                 incident_type_count(inc, "fix.seq_gap"),
                 incident_type_count(inc, "fix.resend_request"));
        conclude(d, "fix_sequence", "counterparty",
                 "The FIX session skipped or replayed sequence numbers: messages were lost or "
                 "resent at the session level (a restart or a reconnect on one side)");
    } else if (incident_type_count(inc, "fix.heartbeat_missed")) {
        evidence(d, "%u heartbeat(s) missed", incident_type_count(inc, "fix.heartbeat_missed"));
        conclude(d, "fix_heartbeat", "counterparty",
                 "A FIX side went silent past its heartbeat interval: the application hung or "
                 "its path stopped delivering");
    } else if (incident_type_count(inc, "burst.micro")) {
        evidence(d, "%u microburst(s) on %s", incident_type_count(inc, "burst.micro"),
                 inc->iface[0] ? inc->iface : "the interface");
        conclude(d, "microbursts", "network",
                 "Traffic peaks exceed the configured share of the link for short windows: "
                 "switch buffers fill, which adds latency and can drop packets");
    } else if (prefix_count(inc, "tcp.reset") || incident_type_count(inc, "tcp.rst_storm")) {
        evidence(d, "%u reset(s)",
                 prefix_count(inc, "tcp.reset") + incident_type_count(inc, "tcp.rst_storm"));
        conclude(d, "resets", "counterparty",
                 "A peer tears connections down with resets: an application closing abruptly, "
                 "or a middlebox timing connections out");
    } else if (incident_type_count(inc, "payload.duplicate")) {
        evidence(d, "%u payload(s) sent again at another sequence number or datagram",
                 incident_type_count(inc, "payload.duplicate"));
        conclude(d, "payload_duplicate", "counterparty",
                 "The sender sent the same message twice (not a TCP retransmission): its resend "
                 "or retry logic repeats messages, a risk of duplicate orders");
    } else if (incident_type_count(inc, "latency.spike")) {
        evidence(d,
                 "%u RTT spike(s); the largest %" PRIu64 " us against a baseline of %" PRIu64 " us",
                 incident_type_count(inc, "latency.spike"), inc->spike_us, inc->spike_baseline_us);
        conclude(d, "latency_spike", "counterparty",
                 "Acknowledgements came far later than this flow's own baseline, with no loss: "
                 "the receiving host stalled (CPU, a pause, interrupts) or a queue built for a "
                 "moment on the path; spikes on many flows to one host point at that host");
    } else if (prefix_count(inc, "anomaly.")) {
        const char *kind = incident_type_count(inc, "anomaly.latency")  ? "latency"
                           : incident_type_count(inc, "anomaly.errors") ? "errors"
                                                                        : "rate";
        evidence(d, "%s %.1f against a baseline of %.1f (band up to %.1f)", inc->anomaly_metric,
                 inc->anomaly_value, inc->anomaly_baseline, inc->anomaly_band_high);
        if (!strcmp(kind, "latency"))
            conclude(d, "anomaly_latency", "network",
                     "Latency left the range learnt from this link's own history with nothing "
                     "else wrong: the path or the counterparty slowed down");
        else if (!strcmp(kind, "errors"))
            conclude(d, "anomaly_errors", "network",
                     "Errors (retransmissions, decode errors, rejects or gaps) rose above their "
                     "learnt baseline: something changed on the path or at the counterparty");
        else
            conclude(d, "anomaly_rate", "traffic",
                     "Traffic left the range learnt from its own history: a change of load (a "
                     "market event, a new client, a replay) rather than a fault by itself");
    } else {
        conclude(d, "unclassified", "unknown",
                 "No rule matched this evidence; the events are listed for a person to read");
    }
}
