/* capture_dpdk.h - DPDK 22.11 ports as capture sources (bare-metal mode).
 *
 * The EAL is started once per process with the config's dpdk.eal arguments (as on a DPDK
 * command line). A port is a PCI address or a vdev string ("net_pcap0,rx_pcap=f.pcap"); it
 * is probed, given one rx queue per reader (RSS spreads the traffic over them), a mempool
 * sized for its rings, and started. Each queue is one capture source (struct capture_ops):
 * its rx_burst hands out the frames of one rte_eth_rx_burst() in place, in the mbufs, which
 * go back to the pool at the next call. An idle queue is polled with a growing pause (up to
 * 1 ms), so an idle port does not spin a core. The thread that reads queue q is pinned to the
 * EAL's lcore q (modulo their number): the cores dpdk.eal's -l names; every other thread keeps
 * the affinity the agent had (rte_eal_init would leave them all on the main lcore).
 *
 * Timestamps: net_pcap's (the file's, in microseconds, scaled to ns); a NIC's rx stamps in
 * device ticks, turned into wall-clock ns by a tick_clock of the device clock (its rate measured
 * at start, resynced each second through rte_eth_read_clock); else the TSC at each burst (frames
 * of one burst share it) by a tick_clock resynced to CLOCK_REALTIME (tick_clock.h says how it
 * neither drifts nor overflows). A finite vdev (net_pcap
 * with rx_pcap files) ends like a file: each queue knows how many frames its file holds and
 * returns 0 once they have all come.
 */
#ifndef TT_CAPTURE_DPDK_H
#define TT_CAPTURE_DPDK_H

#include <stddef.h>
#include <stdint.h>

#include "../agent/capture/capture.h"

#define DPDK_QUEUES_MAX 16

struct dpdk_port;

struct dpdk_port_opts {
    const char *dev;         /* PCI address or vdev string */
    uint32_t queues;         /* rx queues, one reader each */
    uint32_t rx_descriptors; /* per queue */
    uint32_t mempool_size;   /* mbufs; 0: at least twice the rx rings */
    uint32_t snaplen;        /* bytes of a frame kept */
    int rss_l3;              /* RSS over addresses only; 0: addresses and ports */
    int busy_poll;           /* an idle queue is polled again at once (no pause) */
};

/* Starts the EAL with args (nargs of them; NULL/0: no arguments). Once per process; later
 * calls return 0 and do nothing. Returns 0 or -1 with a reason in err. */
int dpdk_eal_start(const char *const *args, int nargs, char *err, size_t errlen);
/* Releases the EAL's resources (hugepages, devices) after every port is closed. */
void dpdk_eal_stop(void);

/* Probes and starts the port. Returns 0, or -1 with a one-line reason (what, how to fix). */
int dpdk_port_open(struct dpdk_port **out, const struct dpdk_port_opts *o, char *err,
                   size_t errlen);
/* Queue q of the port as a capture source (owned by the port: not closed on its own). */
struct capture *dpdk_port_queue(struct dpdk_port *p, uint32_t q);
uint32_t dpdk_port_queues(const struct dpdk_port *p);
/* 1 when the port ends by itself (a vdev replaying files). */
int dpdk_port_finite(const struct dpdk_port *p);
/* Which clock stamped the port's frames, in words: "pcap ...", "nic ..." or "host ...". */
const char *dpdk_port_clock(const struct dpdk_port *p);

/* The port's counters (rte_eth_stats): frames the NIC missed for want of descriptors, rx with
 * no mbuf, receive errors. */
struct dpdk_port_stats {
    uint64_t ipackets, imissed, rx_nombuf, ierrors;
};
void dpdk_port_stats(struct dpdk_port *p, struct dpdk_port_stats *st);

/* The port's extended statistics (rte_eth_xstats: per queue and driver-specific), calling
 * each(ctx, name, value) for every one that is not zero. Returns how many there were. */
int dpdk_port_xstats(struct dpdk_port *p, void (*each)(void *ctx, const char *name, uint64_t v),
                     void *ctx);

/* Stops and closes the port, frees its pool. */
void dpdk_port_close(struct dpdk_port *p);

extern const struct capture_ops capture_dpdk_ops;

#endif
