/* decode_eth.c - Ethernet II, 802.1Q/802.1ad (QinQ) tags, MPLS label stacks and ARP.
 *
 *   Ethernet:  dst(6) src(6) [TPID 0x8100|0x88a8|0x9100 TCI(2)]* ethertype(2)
 *   MPLS:      label(20) tc(3) S(1) ttl(8), repeated until S=1, then IPv4/IPv6 by nibble
 *   ARP:       htype(2) ptype(2) hlen(1) plen(1) op(2) sha spa tha tpa
 */
#include "decode_internal.h"

enum {
    ETH_P_IPV4 = 0x0800,
    ETH_P_ARP = 0x0806,
    ETH_P_VLAN = 0x8100,
    ETH_P_QINQ = 0x88a8,
    ETH_P_QINQ_OLD = 0x9100,
    ETH_P_IPV6 = 0x86dd,
    ETH_P_MPLS = 0x8847,
    ETH_P_MPLS_MC = 0x8848,
    ETH_P_TEB = 0x6558, /* transparent Ethernet bridging (GRE, NVGRE) */
};

void decode_ethernet(struct decoder *d, struct cursor c, struct packet *pkt)
{
    pkt_proto(pkt, TT_P_ETH);
    const uint8_t *h = cur_take(&c, 14);
    if (!h) {
        pkt_set_error(pkt, TT_C_ETH_TRUNCATED);
        return;
    }
    uint16_t etype = ld_be16(h + 12);
    if (etype < 0x0600) { /* 802.3 length field: LLC/SNAP, not decoded */
        pkt_proto(pkt, TT_P_OTHER);
        return;
    }
    decode_ethertype(d, etype, c, pkt);
}

static void decode_mpls(struct decoder *d, struct cursor c, struct packet *pkt)
{
    pkt_proto(pkt, TT_P_MPLS);
    for (int depth = 0;; depth++) {
        if (depth >= 8) {
            pkt_set_error(pkt, TT_C_MPLS_TOO_DEEP);
            return;
        }
        uint32_t entry = cur_be32(&c);
        if (cur_failed(&c)) {
            pkt_set_error(pkt, TT_C_MPLS_TRUNCATED);
            return;
        }
        if (entry & 0x100) /* bottom of stack */
            break;
    }
    if (!cur_has(&c, 1)) {
        pkt_set_error(pkt, TT_C_MPLS_TRUNCATED);
        return;
    }
    switch (c.p[0] >> 4) {
    case 4: decode_ipv4(d, c, pkt); break;
    case 6: decode_ipv6(d, c, pkt); break;
    case 0: /* pseudowire control word, then an Ethernet frame */
        cur_skip(&c, 4);
        decode_ethernet(d, c, pkt);
        break;
    default: pkt_set_error(pkt, TT_C_MPLS_UNKNOWN_PAYLOAD); break;
    }
}

static void decode_arp(struct cursor c, struct packet *pkt)
{
    pkt_proto(pkt, TT_P_ARP);
    cur_skip(&c, 4);
    uint8_t hlen = cur_u8(&c);
    uint8_t plen = cur_u8(&c);
    cur_skip(&c, 2 + 2u * hlen + 2u * plen);
    if (cur_failed(&c))
        pkt_set_error(pkt, TT_C_ARP_TRUNCATED);
}

/* Arista's timestamp header, inserted after the source MAC: subtype 1, a version saying
 * 64-bit (32-bit seconds) or 48-bit (16-bit seconds) and TAI or UTC, the timestamp, then the
 * original ethertype. */
static void decode_arista(struct decoder *d, struct cursor c, struct packet *pkt)
{
    uint16_t subtype = cur_be16(&c);
    uint16_t version = cur_be16(&c);
    if (cur_failed(&c)) {
        pkt_set_error(pkt, TT_C_ARISTA_TRUNCATED);
        return;
    }
    if (subtype != 1 || ((version & 0xfeff) != 0x0010 && (version & 0xfeff) != 0x0020)) {
        pkt_set_error(pkt, TT_C_ARISTA_UNKNOWN);
        return;
    }
    uint64_t secs;
    if ((version & 0xff) == 0x10) {
        secs = cur_be32(&c);
    } else { /* 16 bits of seconds: the rest from the capture time, the nearest match */
        uint64_t low = cur_be16(&c), cap = pkt->ts_ns / 1000000000ull;
        secs = (cap & ~0xffffull) | low;
        if (secs > cap + 0x8000)
            secs -= 0x10000;
        else if (secs + 0x8000 < cap)
            secs += 0x10000;
    }
    uint32_t ns = cur_be32(&c);
    uint16_t etype = cur_be16(&c);
    if (cur_failed(&c)) {
        pkt_set_error(pkt, TT_C_ARISTA_TRUNCATED);
        return;
    }
    if (!(version & 0x0100) && secs >= 37) /* TAI runs 37 s ahead of UTC (since 2017) */
        secs -= 37;
    if (ns < 1000000000u) {
        pkt->hw_ts_source = HW_TS_ARISTA;
        pkt->hw_ts_ns = secs * 1000000000ull + ns;
    }
    decode_ethertype(d, etype, c, pkt);
}

void decode_ethertype(struct decoder *d, uint16_t etype, struct cursor c, struct packet *pkt)
{
    /* Stacked VLAN tags, each TPID followed by a TCI and the next ethertype. */
    while (etype == ETH_P_VLAN || etype == ETH_P_QINQ || etype == ETH_P_QINQ_OLD) {
        pkt_proto(pkt, TT_P_VLAN);
        uint16_t tci = cur_be16(&c);
        etype = cur_be16(&c);
        if (cur_failed(&c)) {
            pkt_set_error(pkt, TT_C_VLAN_TRUNCATED);
            return;
        }
        if (pkt->nvlan >= 4) {
            pkt_set_error(pkt, TT_C_VLAN_TOO_DEEP);
            return;
        }
        pkt->vlans[pkt->nvlan++] = tci & 0x0fff;
        if (pkt->key.vlan == 0)
            pkt->key.vlan = tci & 0x0fff;
    }
    switch (etype) {
    case ETH_P_IPV4: decode_ipv4(d, c, pkt); break;
    case ETH_P_IPV6: decode_ipv6(d, c, pkt); break;
    case ETH_P_ARP: decode_arp(c, pkt); break;
    case ETH_P_MPLS:
    case ETH_P_MPLS_MC: decode_mpls(d, c, pkt); break;
    case ETH_P_TEB: decode_ethernet(d, c, pkt); break;
    case 0xd28b: decode_arista(d, c, pkt); break;
    default: pkt_proto(pkt, TT_P_OTHER); break;
    }
}
