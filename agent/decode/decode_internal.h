/* decode_internal.h - entry points shared by the per-protocol decoders (decode_*.c). */
#ifndef TT_DECODE_INTERNAL_H
#define TT_DECODE_INTERNAL_H

#include "cursor.h"
#include "decode.h"

#define TT_MAX_TUNNEL_DEPTH 4

static inline void pkt_set_error(struct packet *pkt, enum tt_counter e)
{
    if (pkt->error == TT_C_MAX)
        pkt->error = e;
}

static inline void pkt_proto(struct packet *pkt, enum tt_proto p)
{
    pkt->protos |= 1u << p;
}

/* Bytes the frame had on the wire from position p onwards (its original length, not the
 * captured one), or UINT32_MAX when p is not inside the frame (a reassembled datagram). A
 * frame shorter on the wire than its IP header announces bounds the payload, as in Wireshark. */
static inline uint32_t pkt_wire_left(const struct packet *pkt, const uint8_t *p)
{
    if (p < pkt->frame_data || p > pkt->frame_data + pkt->caplen)
        return UINT32_MAX;
    uint32_t off = (uint32_t)(p - pkt->frame_data);
    return pkt->wirelen > off ? pkt->wirelen - off : 0;
}

/* Each decodes the layer at c and continues inward. */
void decode_ethernet(struct decoder *d, struct cursor c, struct packet *pkt);
void decode_ethertype(struct decoder *d, uint16_t ethertype, struct cursor c, struct packet *pkt);
void decode_ipv4(struct decoder *d, struct cursor c, struct packet *pkt);
void decode_ipv6(struct decoder *d, struct cursor c, struct packet *pkt);
void decode_ip_by_version(struct decoder *d, struct cursor c, struct packet *pkt);
/* Decodes the L4 header of protocol proto. c covers the captured part of the IP payload;
 * l4_len is the payload length the IP header announces (c may hold fewer bytes). */
void decode_l4(struct decoder *d, uint8_t proto, struct cursor c, uint32_t l4_len,
               struct packet *pkt);
void decode_tcp(struct cursor c, uint32_t l4_len, struct packet *pkt);
void decode_udp(struct decoder *d, struct cursor c, uint32_t l4_len, struct packet *pkt);
void decode_icmp(struct cursor c, struct packet *pkt, int v6);
void decode_gre(struct decoder *d, struct cursor c, struct packet *pkt);
/* UDP-carried tunnels: returns 1 when the port is a tunnel and it was decoded. */
int decode_udp_tunnel(struct decoder *d, uint16_t sport, uint16_t dport, struct cursor c,
                      struct packet *pkt);
/* Records entry into a tunnel; returns 0, or -1 (error set) when nested too deep. */
int pkt_enter_tunnel(struct packet *pkt, enum tt_tunnel_kind kind, uint32_t id);

#endif
