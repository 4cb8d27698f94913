/* decode_tunnel.c - encapsulations whose inner packets become flows of their own.
 *
 *   VXLAN  (RFC 7348, UDP 4789):  flags(8) res(24) VNI(24) res(8) | Ethernet
 *   GENEVE (RFC 8926, UDP 6081):  ver(2) optlen(6) flags(8) proto(16) VNI(24) res(8) opts
 *   GTP-U  (3GPP 29.281, 2152):   flags(8) type(8) len(16) TEID(32) [seq npdu next-ext] ext*
 *   GRE    (RFC 2784/2890):       C.K.S flags, ver(3), proto(16) [csum res][key][seq]
 *   ERSPAN (type II 0x88BE, III 0x22EB) over GRE, then Ethernet
 *   PPTP enhanced GRE (RFC 2637, version 1): PPP then IP;  WCCP (0x883E);  GRE-in-UDP (4754)
 */
#include "decode_internal.h"

/* PPP inside enhanced GRE: [ff 03] protocol (1 byte when compressed, else 2), then IP. */
static void decode_ppp(struct decoder *d, struct cursor c, struct packet *pkt, uint32_t call_id)
{
    if (cur_has(&c, 2) && c.p[0] == 0xff && c.p[1] == 0x03) cur_skip(&c, 2);
    uint16_t proto = cur_has(&c, 1) && (c.p[0] & 1) ? cur_u8(&c) : cur_be16(&c);
    if (cur_failed(&c)) {
        pkt_set_error(pkt, TT_C_GRE_TRUNCATED);
        return;
    }
    if (proto != 0x21 && proto != 0x57) { /* not IPv4/IPv6: PPP control traffic */
        pkt_proto(pkt, TT_P_OTHER);
        return;
    }
    if (pkt_enter_tunnel(pkt, TT_TUN_GRE, call_id) == 0) {
        if (proto == 0x21)
            decode_ipv4(d, c, pkt);
        else
            decode_ipv6(d, c, pkt);
    }
}

static void decode_vxlan(struct decoder *d, struct cursor c, struct packet *pkt)
{
    pkt_proto(pkt, TT_P_VXLAN);
    cur_skip(&c, 4);
    uint32_t vni = cur_be24(&c);
    cur_skip(&c, 1);
    if (cur_failed(&c)) {
        pkt_set_error(pkt, TT_C_VXLAN_TRUNCATED);
        return;
    }
    if (pkt_enter_tunnel(pkt, TT_TUN_VXLAN, vni) == 0) decode_ethernet(d, c, pkt);
}

static void decode_geneve(struct decoder *d, struct cursor c, struct packet *pkt)
{
    pkt_proto(pkt, TT_P_GENEVE);
    uint8_t ver_opt = cur_u8(&c);
    cur_skip(&c, 1);
    uint16_t proto = cur_be16(&c);
    uint32_t vni = cur_be24(&c);
    cur_skip(&c, 1);
    cur_skip(&c, (ver_opt & 0x3fu) * 4u);
    if (cur_failed(&c)) {
        pkt_set_error(pkt, TT_C_GENEVE_TRUNCATED);
        return;
    }
    if (pkt_enter_tunnel(pkt, TT_TUN_GENEVE, vni) == 0) decode_ethertype(d, proto, c, pkt);
}

static void decode_gtpu(struct decoder *d, struct cursor c, struct packet *pkt)
{
    pkt_proto(pkt, TT_P_GTPU);
    uint8_t flags = cur_u8(&c);
    uint8_t type = cur_u8(&c);
    cur_skip(&c, 2);
    uint32_t teid = cur_be32(&c);
    if (flags & 0x07) { /* E, S or PN: the optional 4 bytes are present */
        cur_skip(&c, 3);
        uint8_t next = cur_u8(&c);
        for (int n = 0; next != 0 && !cur_failed(&c); n++) {
            uint8_t units = cur_u8(&c);
            if (units == 0 || n >= 8) {
                cur_fail(&c);
                break;
            }
            cur_skip(&c, units * 4u - 2u);
            next = cur_u8(&c);
        }
    }
    if (cur_failed(&c) || (flags >> 5) != 1) {
        pkt_set_error(pkt, TT_C_GTPU_TRUNCATED);
        return;
    }
    if (type != 255) /* only G-PDU carries user packets */
        return;
    if (pkt_enter_tunnel(pkt, TT_TUN_GTPU, teid) == 0) decode_ip_by_version(d, c, pkt);
}

int decode_udp_tunnel(struct decoder *d, uint16_t sport, uint16_t dport, struct cursor c,
                      struct packet *pkt)
{
    if (!decode_udp_is_tunnel(d, sport, dport)) return 0;
    if (dport == d->vxlan_port && d->vxlan_port) {
        decode_vxlan(d, c, pkt);
        return 1;
    }
    if (dport == d->geneve_port && d->geneve_port) {
        decode_geneve(d, c, pkt);
        return 1;
    }
    if ((dport == d->gtpu_port || sport == d->gtpu_port) && d->gtpu_port) {
        decode_gtpu(d, c, pkt);
        return 1;
    }
    decode_gre(d, c, pkt); /* GRE-in-UDP */
    return 1;
}

void decode_gre(struct decoder *d, struct cursor c, struct packet *pkt)
{
    pkt_proto(pkt, TT_P_GRE);
    uint16_t fv = cur_be16(&c);
    uint16_t proto = cur_be16(&c);
    uint32_t key = 0;
    int seq_present = (fv & 0x1000) != 0;
    if (fv & 0x8000) /* checksum + reserved */
        cur_skip(&c, 4);
    if (fv & 0x2000) key = cur_be32(&c);
    if (seq_present) cur_skip(&c, 4);
    if (cur_failed(&c)) {
        pkt_set_error(pkt, TT_C_GRE_TRUNCATED);
        return;
    }
    if ((fv & 0x7) == 1) { /* PPTP's enhanced GRE (RFC 2637): PPP inside */
        if (fv & 0x0080)   /* acknowledgment number present */
            cur_skip(&c, 4);
        decode_ppp(d, c, pkt, key & 0xffff);
        return;
    }
    if ((fv & 0x7) != 0) {
        pkt_proto(pkt, TT_P_OTHER);
        return;
    }
    switch (proto) {
    case 0x880b: /* PPP over plain GRE */
        decode_ppp(d, c, pkt, key);
        return;
    case 0x883e: /* WCCP: a 4-byte redirect header, then the redirected IPv4 packet */
        cur_skip(&c, 4);
        if (pkt_enter_tunnel(pkt, TT_TUN_GRE, key) == 0) decode_ip_by_version(d, c, pkt);
        return;
    case 0x0800:
    case 0x86dd:
    case 0x6558:
        if (pkt_enter_tunnel(pkt, TT_TUN_GRE, key) == 0) decode_ethertype(d, proto, c, pkt);
        return;
    case 0x88be: /* ERSPAN type II: 8-byte header only when the GRE sequence bit is set */
    case 0x22eb: {
        pkt_proto(pkt, TT_P_ERSPAN);
        uint32_t session = 0;
        if (proto == 0x88be && !seq_present) { /* type I: Ethernet follows directly */
        } else {
            uint16_t ver_vlan = cur_be16(&c);
            session = cur_be16(&c) & 0x03ffu;
            cur_skip(&c, 4);       /* II: reserved + index; III: timestamp */
            if (proto == 0x22eb) { /* III: SGT(16), then P/FT/HW/D/Gra/O */
                cur_skip(&c, 2);
                uint16_t last = cur_be16(&c);
                if (last & 0x1) /* O bit: 8-byte platform subheader */
                    cur_skip(&c, 8);
            }
            (void)ver_vlan;
        }
        if (cur_failed(&c)) {
            pkt_set_error(pkt, TT_C_GRE_TRUNCATED);
            return;
        }
        if (pkt_enter_tunnel(pkt, TT_TUN_ERSPAN, session) == 0) decode_ethernet(d, c, pkt);
        return;
    }
    default:
        pkt_set_error(pkt, TT_C_GRE_UNKNOWN_PROTO);
        return;
    }
}
