/* dispatch.h - software RSS: picks the worker for a frame so that both directions of a flow,
 * and every fragment of a datagram, reach the same worker.
 *
 * A light parse (Ethernet, VLAN, MPLS, IPv4/IPv6, TCP/UDP ports) gives a symmetric hash of
 * the 5-tuple. Tunnels (UDP to the VXLAN/GENEVE/GTP-U ports, GRE, IP-in-IP) hash on the outer
 * address pair only, so an inner flow's two directions (whose outer ports differ) stay
 * together. A first fragment records where its datagram went; later fragments follow it
 * through a small table: the first fragment to arrive decides. When that is not the one with
 * the ports, the datagram goes by the address pair (counted in unsteered): its flow may then
 * meet two workers. Market-data feeds go by session (see trading below). Bytes are read
 * through the cursor helpers only.
 */
#ifndef TT_DISPATCH_H
#define TT_DISPATCH_H

#include <stdint.h>

#include "../capture/capture.h"
#include "../trading/trading_config.h"

#define DISPATCH_FRAG_SLOTS 256

struct frag_steer {
    uint8_t addrs[32];
    uint32_t id;
    uint16_t worker;
    uint8_t used;
};

struct dispatcher {
    uint32_t nworkers;
    uint16_t vxlan_port, geneve_port, gtpu_port;
    struct frag_steer frags[DISPATCH_FRAG_SLOTS];
    uint64_t unsteered;
    /* Market data whose A and B feeds must meet in one worker goes by its session instead
     * of its 5-tuple (trading_steer_key). NULL: no such steering. */
    const struct trading_config *trading;
};

void dispatch_init(struct dispatcher *d, uint32_t nworkers, uint16_t vxlan, uint16_t geneve,
                   uint16_t gtpu);

/* The worker index for frame f, in [0, nworkers). */
uint32_t dispatch_pick(struct dispatcher *d, const struct frame *f);

#endif
