/* live_internal.h - what live_capture.c and live_handoff.c share: opening an interface's
 * sources at a given place of live_capture.src, and reading its losses. Private to live/. */
#ifndef TT_LIVE_INTERNAL_H
#define TT_LIVE_INTERNAL_H

#include "live_capture.h"

/* Starts the EAL once (dpdk.eal). Returns 0 or -1 with a reason. */
int live_eal_start(struct live_capture *lc, char *err, size_t errlen);
/* Attaches the XDP program in the interface's configured mode (ri->xdp). */
int live_attach_xdp(struct live_capture *lc, struct live_capture_iface *ri,
                    const struct compiled_rules *cr, char *err, size_t errlen);
/* Opens the AF_XDP queues (tap mode) into lc->src[at...]: returns how many, or -1. */
int live_open_tap_queues(struct live_capture *lc, struct live_capture_iface *ri, uint32_t at,
                         char *err, size_t errlen);
/* Opens DPDK device dev with queues rx queues into lc->src[at...] (ri->dpdk): returns how
 * many, or -1. */
int live_open_dpdk(struct live_capture *lc, struct live_capture_iface *ri, const char *dev,
                   uint32_t queues, uint32_t at, char *err, size_t errlen);
/* Lost-frame counters of one interface now: [0] the interface, [1 + q] its queue q. */
void live_lost_now(struct live_capture *lc, struct live_capture_iface *ri, uint64_t *lost,
                   int *why);

/* A capture event (saturated, hand-off) stamped now by the wall clock, the rest zero. */
void live_event_init(struct event *e, enum event_type type);

/* The DPDK device a `mode: auto` interface is handed to (handoff_to, or net_af_xdp on its
 * queues). */
void live_handoff_device(const struct live_capture_iface *ri, char *dev, size_t len);

#endif
