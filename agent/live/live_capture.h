/* live_capture.h - the interfaces of a live run (`ticktap run`): each attached in its mode
 * (host: XDP copies into a ring buffer; tap: AF_XDP sockets, one per queue; pcap: libpcap),
 * its sources handed to the pipeline, its rules swapped on reload, and what it saw reported:
 * losses as capture.saturated events, Prometheus families, the summary's "capture" object
 * and its lines in the human summary. Runs on the sink thread (the pipeline's tick).
 */
#ifndef TT_LIVE_CAPTURE_H
#define TT_LIVE_CAPTURE_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "../../dpdk/capture_dpdk.h"
#include "../capture/capture_live.h"
#include "../event/event.h"
#include "../metrics/metrics.h"
#include "../pipeline/pipeline.h"
#include "../config/config.h"

#define LIVE_CAPTURE_SOURCES_MAX 64

struct live_capture_iface {
    struct live_iface cfg;
    uint8_t mode;                                     /* the mode it runs in now */
    struct xdp_iface *xdp;                            /* host and tap modes */
    struct dpdk_port *dpdk;                           /* dpdk mode */
    uint32_t first, nsrc;                             /* its sources in live_capture.src */
    uint64_t lost_prev[LIVE_CAPTURE_SOURCES_MAX + 1]; /* [0] the interface, [1 + q] queue q */
    /* mode auto (live_handoff.c) */
    uint8_t saturated_now; /* a capture.saturated this stats interval */
    uint32_t streak;       /* intervals in a row saturated (tap) or slow (dpdk) */
    uint32_t handoffs, handbacks, handoff_failures;
    uint64_t frames_before, lost_before; /* what the sources before the last switch took, lost */
    uint64_t frames_at_tick, tick_ns;    /* the rate's last reading */
    struct xsk_fd {
        int fd;
        unsigned long ino;
    } pmd_xsk[LIVE_CAPTURE_SOURCES_MAX]; /* net_af_xdp's */
    uint32_t npmd_xsk;
};

struct live_capture {
    struct tt_config *cfg; /* the run's: a reload replaces its rules */
    struct live_capture_iface ifs[LIVE_MAX_IFACES];
    uint32_t nifs;
    struct live_source src[LIVE_CAPTURE_SOURCES_MAX]; /* the sources, as opened */
    uint32_t nsrc;
    /* what the pipeline reads: src, except that a `mode: auto` interface's sources are
     * switches (capture_switch.h) whose source changes at a hand-off */
    struct live_source pipe[LIVE_CAPTURE_SOURCES_MAX];
    uint64_t reloads, reload_failures;
    int eal; /* the DPDK EAL was started for a dpdk-mode port */
};

enum { LIVE_CAPTURE_BAD_CONFIG = 1, LIVE_CAPTURE_NO_ATTACH = 2 };

/* Attaches every interface of cfg->live (a config without rules gets one that takes every
 * frame), saying each on stderr. Returns 0, or LIVE_CAPTURE_BAD_CONFIG (the rules cannot be
 * said in pcap mode) or LIVE_CAPTURE_NO_ATTACH with the reason in err; live_capture_close()
 * then detaches what was attached. */
int live_capture_open(struct live_capture *lc, struct tt_config *cfg, char *err, size_t errlen);
/* Programs first (nothing redirected into a socket that is going away), then the sources. */
void live_capture_close(struct live_capture *lc);

/* The rules of a re-read config replace the running ones (interfaces, modes and sizes need a
 * restart: said on stderr). Returns 0, or -1 when the running rules stay (said on stderr). */
int live_capture_reload(struct live_capture *lc, struct tt_config *fresh);

/* A capture.saturated event (at most max) for each interface or queue that lost frames since
 * the last call; returns how many. A loss without room is reported next time. */
int live_capture_saturation(struct live_capture *lc, struct event *out, int max);

/* Mode auto, after live_capture_saturation() each stats interval: an interface saturated for
 * handoff_after intervals in a row leaves tap mode for a DPDK reader of the same port, and one
 * under handback_below frames/s for handback_after intervals comes back; the readers switch
 * at a burst boundary (capture_switch.h), the workers keep their flows. A capture.handoff
 * event (at most max) for each switch; returns how many. now_ns: CLOCK_MONOTONIC. */
int live_capture_handoff(struct live_capture *lc, uint64_t now_ns, struct event *out, int max);

/* The capture's families for /metrics: XDP program counters, rule hits, frames and losses per
 * interface and queue, AF_XDP bind mode, config reloads. */
void live_capture_metrics(struct live_capture *lc, struct metrics *m);

/* The summary's "capture" object: per interface its mode, frames, losses, XDP counters, rule
 * hits and queues. live_capture_print() says it in the human summary. */
json_t *live_capture_json(struct live_capture *lc);
void live_capture_print(json_t *cap, FILE *out);

const char *live_mode_name(int mode);
/* 1 when every interface ends by itself (DPDK vdevs replaying files): the run is then read
 * like a file (nothing dropped for speed, flows time out by packet time only). */
int live_capture_finite(const struct live_capture *lc);
void live_capture_default_rule(struct live_config *lc);

#endif
