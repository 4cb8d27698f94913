/* diagnose.h - the rule-based root cause of an incident: deterministic, no network.
 *
 * The rules are tried in order; the first whose condition holds names the cause. Each says
 * where the fault most likely is (ours, local, network, upstream, counterparty, business)
 * and lists the evidence it used, as sentences a person can check against the events.
 *
 *   capture_saturated     capture.saturated on the interface -> our capture, not the network
 *   md_loss_both_feeds    messages lost on every feed (md.gap, feeds >= 2) -> upstream: the
 *                         exchange or the path before the A/B split
 *   md_loss_one_feed      lost on one feed only, the other covered (md.arbitration_loss) ->
 *                         the local link or capture of that feed
 *   md_loss_single_feed   a gap on a session with one feed -> cannot tell local from upstream
 *   service_down          handshake failures to one service: refused (RST) -> nothing
 *                         listening; unanswered -> down, filtered or unreachable
 *   slow_receiver         zero windows (with or without retransmissions) -> the receiving
 *                         application does not read fast enough
 *   congestion            retransmissions with the RTT rising (the last sample >= 2x the
 *                         first; samples: handshakes, flow records' minimum ACK RTT)
 *                         -> queueing on the path
 *   path_loss             retransmissions or lost segments without either -> loss on the path
 *   reject_dominant       3+ rejects, one reason >= 60% -> business configuration (limits,
 *                         permissions, symbol set-up), not the network
 *   rejects_few           1-2 rejects -> too few to name a configuration cause
 *   rejects_mixed         rejects with no dominant reason -> order content, varied causes
 *   fix_sequence          sequence gaps / resend requests -> lost or replayed session messages
 *   fix_heartbeat         heartbeats missed -> the counterparty or its path went silent
 *   microbursts           microbursts -> traffic peaks above the link's share: switch queueing
 *   resets                resets or reset storms -> a peer tearing connections down
 *   payload_duplicate     a payload sent twice (payload.duplicate) -> the sender's resend or
 *                         retry logic: a duplicate order risk
 *   latency_spike         RTT spikes against the flow's baseline, no loss -> the receiving
 *                         host stalled or a queue built for a moment
 *   anomaly_latency       anomaly.latency -> the path or the counterparty slowed down
 *   anomaly_errors        anomaly.errors -> errors above their learnt baseline
 *   anomaly_rate          anomaly.rate -> a change of load, not a fault by itself
 *   unclassified          none of the above: the evidence is listed, no cause named
 */
#ifndef TT_DIAGNOSE_H
#define TT_DIAGNOSE_H

#include "incident.h"

#define DIAG_EVIDENCE 8

struct diagnosis {
    const char *rule;     /* one of the names above */
    const char *location; /* ours, local, network, upstream, counterparty, service, business,
                           * traffic, unknown */
    char cause[256];      /* one sentence */
    char evidence[DIAG_EVIDENCE][200];
    uint32_t nevidence;
};

void diagnose(const struct incident *inc, struct diagnosis *d);

/* How many events of this type the incident counted. */
uint32_t incident_type_count(const struct incident *inc, const char *type);

#endif
