/* xdp_iface.h - ticktap's BPF programs on one interface: load, attach, rules, counters, detach.
 *
 * One instance of bpf/ticktap.bpf.c per interface (bpftool skeleton). The XDP program is
 * attached through a BPF link, so the kernel detaches it when the agent exits, crash
 * included. In host mode a TC egress program writes to the same ring (a tcx link where the
 * kernel has them, 6.6+, else a clsact filter that a later run replaces). Rules change with
 * xdp_iface_set_rules() while the programs run: the idle generation is written, then made
 * current with one map update, so every frame is classified by one whole rule set.
 */
#ifndef TT_XDP_IFACE_H
#define TT_XDP_IFACE_H

#include <stddef.h>
#include <stdint.h>

#include "../../bpf/ticktap_bpf.h"
#include "live_config.h"

struct xdp_iface;

struct xdp_iface_opts {
    const char *ifname;
    int mode;           /* LIVE_HOST or LIVE_TAP */
    int attach;         /* enum xdp_attach */
    int pass_unmatched; /* tap mode */
    uint32_t snaplen;
    uint64_t ring_bytes; /* host mode */
    int hw_timestamps;   /* read the NIC's receive timestamps where the kernel and driver can */
};

/* Loads and attaches. On failure returns a negative errno and a one-line reason (what
 * failed, and how to fix it: privileges, interface name, XDP mode) in err. */
int xdp_iface_open(struct xdp_iface **out, const struct xdp_iface_opts *o,
                   const struct compiled_rules *rules, char *err, size_t errlen);

/* Replaces the rule set atomically (see above). Returns 0 or a negative errno. */
int xdp_iface_set_rules(struct xdp_iface *x, const struct compiled_rules *rules);

/* Sums the per-CPU counters; hits[id] gets matched frames per rule id (may be NULL). */
int xdp_iface_counters(struct xdp_iface *x, struct tt_counters *sum,
                       uint64_t hits[TT_MAX_RULE_ID + 1]);

int xdp_iface_ring_fd(const struct xdp_iface *x); /* host mode ring buffer map */
int xdp_iface_xsks_fd(const struct xdp_iface *x); /* tap mode socket map */
int xdp_iface_ifindex(const struct xdp_iface *x);
const char *xdp_iface_name(const struct xdp_iface *x);
/* "native" or "generic": how the XDP program ended up attached. */
const char *xdp_iface_attach_mode(const struct xdp_iface *x);
/* 1: the device-bound program is attached, which asks the NIC for each frame's receive time
 * (frames the driver has none for still get the kernel clock). */
int xdp_iface_hw_timestamps(const struct xdp_iface *x);
/* "tcx link" or "clsact filter" (host mode egress), NULL in tap mode. */
const char *xdp_iface_egress_hook(const struct xdp_iface *x);

/* Tap mode's doorbell (bpf/ticktap.bpf.c): a queue that received this many frames since
 * xdp_iface_queue_emptied() rings it (0: never). Returns a descriptor that polls readable
 * when it rang (drain it with xdp_iface_bell_drain before polling again), or a negative
 * errno. */
int xdp_iface_bell_arm(struct xdp_iface *x, uint32_t frames);
void xdp_iface_bell_drain(struct xdp_iface *x);
/* Drains that found the bell rung: the reader's sleeps it cut short (any thread may ask). */
uint64_t xdp_iface_bell_wakeups(const struct xdp_iface *x);
void xdp_iface_queue_emptied(struct xdp_iface *x, uint32_t queue);

/* Detaches whatever XDP program another owner left on the interface (a DPDK PMD's, after its
 * port is closed). Returns 0 or a negative errno. */
int xdp_iface_clear(const char *ifname);
/* The programs off the interface (nothing more is redirected or copied); the maps, counters
 * and sockets stay until xdp_iface_close. */
void xdp_iface_detach(struct xdp_iface *x);
/* Detaches every program and frees the maps. */
void xdp_iface_close(struct xdp_iface *x);

#endif
