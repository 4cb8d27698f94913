/* gentcp.h - the generator's connections: framing (VLAN, MPLS, tunnels) and TCP segments
 * with explicit sequence numbers, shared by the scenarios of ttgen.c and gen_trading.c.
 * Test code only; deterministic.
 */
#ifndef TT_GENTCP_H
#define TT_GENTCP_H

#include <stdint.h>

#include "pcapw.h"

#define MS 1000000ull
#define US 1000ull
#define T0 1700000000000000000ull /* 2023-11-14T22:13:20Z */

enum encap { E_NONE, E_VXLAN, E_GENEVE, E_GRE, E_GTPU, E_MPLS, E_IPIP };

struct gen {
    struct pcapw w;
    uint64_t t;
    uint16_t ipid;
};

struct conn {
    struct ipaddrs a; /* client -> server */
    uint16_t port[2]; /* client, server */
    uint32_t seq[2];  /* next sequence number per side */
    uint16_t win[2];
    uint16_t vlans[2];
    int nvlan;
    enum encap encap;
    uint32_t tun_id;
    /* Tunnels that differ by direction (GTP-U, GRE, IP-in-IP through different endpoints):
     * the server's packets carry tun_id_rev (when not 0) and, with outer_asym, go from
     * 198.51.100.7 to 192.0.2.1 where the client's go from 192.0.2.1 to 192.0.2.2. */
    uint32_t tun_id_rev;
    int outer_asym;
    int cur_dir; /* the direction being sent (set by the TCP senders) */
};

enum { F = 0x01, S = 0x02, R = 0x04, P = 0x08, A = 0x10 };

/* Wraps an inner IP packet (ip[0..n)) in the connection's encapsulation and writes it. */
void emit_ip(struct gen *g, const struct conn *c, const uint8_t *ip, size_t n, int v6);
/* Writes one IPv4 UDP datagram from c->a.src to c->a.dst carrying payload[0..n). */
void emit_udp(struct gen *g, const struct conn *c, uint16_t sport, uint16_t dport,
              const uint8_t *payload, size_t n);
/* Sends one TCP segment with explicit numbers in direction dir (0: client to server); the
 * payload is len filler bytes, or data when given. */
void tcp_raw(struct gen *g, struct conn *c, int dir, uint16_t flags, uint32_t seq, uint32_t ack,
             uint32_t len, uint16_t win, const struct tcp_opts *o);
void tcp_data(struct gen *g, struct conn *c, int dir, uint16_t flags, uint32_t seq, uint32_t ack,
              const void *data, uint32_t len);
/* Sends the next segment of side dir: its current seq, ACKing everything of the other side;
 * advances seq (SYN and FIN count one). */
void seg(struct gen *g, struct conn *c, int dir, uint16_t flags, uint32_t len);
void conn_init(struct conn *c, const char *cli, const char *srv, uint16_t cport, uint16_t sport,
               uint32_t isn_c, uint32_t isn_s);
/* SYN, SYN/ACK, ACK with rtt between SYN and SYN/ACK and a small gap to the ACK. */
void handshake(struct gen *g, struct conn *c, uint64_t rtt);
void close_fin(struct gen *g, struct conn *c);

#endif
