/* decode_l4.c - the layer above IP: UDP (RFC 768), ICMP (RFC 792), ICMPv6 (RFC 4443), and the
 * dispatch to TCP, GRE and IP-in-IP. UDP ports select VXLAN, GENEVE and GTP-U tunnels. */
#include "decode_internal.h"

enum { IPPROTO_ICMP_ = 1, IPPROTO_IPIP_ = 4, IPPROTO_TCP_ = 6, IPPROTO_UDP_ = 17,
       IPPROTO_IPV6_ = 41, IPPROTO_GRE_ = 47, IPPROTO_ICMPV6_ = 58 };

void decode_udp(struct decoder *d, struct cursor c, uint32_t l4_len, struct packet *pkt)
{
    pkt_proto(pkt, TT_P_UDP);
    const uint8_t *h = cur_take(&c, 8);
    if (!h) {
        pkt_set_error(pkt, TT_C_UDP_TRUNCATED);
        return;
    }
    uint16_t sport = ld_be16(h), dport = ld_be16(h + 2), ulen = ld_be16(h + 4);
    pkt->key.sport = sport;
    pkt->key.dport = dport;
    pkt->has_l4 = 1;
    if (ulen < 8 || ulen > l4_len) {
        pkt_set_error(pkt, TT_C_UDP_BAD_LENGTH);
        ulen = (uint16_t)(l4_len > 0xffff ? 0xffff : l4_len);
        if (ulen < 8)
            ulen = 8;
    }
    pkt->udp_len = ulen;
    struct cursor body = cur_sub(&c, ulen - 8u);
    pkt->payload = body.p;
    pkt->payload_len = (uint32_t)cur_left(&body);
    decode_udp_tunnel(d, sport, dport, body, pkt);
}

void decode_icmp(struct cursor c, struct packet *pkt, int v6)
{
    pkt_proto(pkt, v6 ? TT_P_ICMPV6 : TT_P_ICMP);
    pkt->icmp_type = cur_u8(&c);
    pkt->icmp_code = cur_u8(&c);
    cur_skip(&c, 2);
    if (cur_failed(&c)) {
        pkt_set_error(pkt, TT_C_ICMP_TRUNCATED);
        return;
    }
    pkt->has_l4 = 1;
    pkt->payload = c.p;
    pkt->payload_len = (uint32_t)cur_left(&c);
}

void decode_l4(struct decoder *d, uint8_t proto, struct cursor c, uint32_t l4_len,
               struct packet *pkt)
{
    pkt->key.proto = proto;
    switch (proto) {
    case IPPROTO_TCP_: decode_tcp(c, l4_len, pkt); break;
    case IPPROTO_UDP_: decode_udp(d, c, l4_len, pkt); break;
    case IPPROTO_ICMP_: decode_icmp(c, pkt, 0); break;
    case IPPROTO_ICMPV6_: decode_icmp(c, pkt, 1); break;
    case IPPROTO_GRE_: decode_gre(d, c, pkt); break;
    case IPPROTO_IPIP_:
        pkt_proto(pkt, TT_P_IPIP);
        if (pkt_enter_tunnel(pkt, TT_TUN_IPIP, 0) == 0)
            decode_ipv4(d, c, pkt);
        break;
    case IPPROTO_IPV6_:
        pkt_proto(pkt, TT_P_IPIP);
        if (pkt_enter_tunnel(pkt, TT_TUN_IPIP, 0) == 0)
            decode_ipv6(d, c, pkt);
        break;
    default: pkt_proto(pkt, TT_P_OTHER); break;
    }
}
