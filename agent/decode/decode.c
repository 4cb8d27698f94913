/* decode.c - frame entry point: link-layer dispatch (Ethernet, Linux cooked SLL/SLL2, raw IP,
 * BSD loopback), protocol and tunnel names, decoder set-up. */
#include "decode_internal.h"

#include <string.h>

static const char *const proto_names[TT_P_MAX] = {
#define TT_X(id, name) [TT_P_##id] = name,
    TT_PROTO_LIST(TT_X)
#undef TT_X
};

const char *tt_proto_name(enum tt_proto p)
{
    return (unsigned)p < TT_P_MAX ? proto_names[p] : "unknown";
}

const char *tt_tunnel_name(enum tt_tunnel_kind k)
{
    switch (k) {
    case TT_TUN_VXLAN:
        return "vxlan";
    case TT_TUN_GENEVE:
        return "geneve";
    case TT_TUN_GRE:
        return "gre";
    case TT_TUN_GTPU:
        return "gtpu";
    case TT_TUN_IPIP:
        return "ipip";
    case TT_TUN_ERSPAN:
        return "erspan";
    default:
        return "none";
    }
}

void decoder_config_default(struct decoder_config *cfg)
{
    cfg->frag_slots = 64;
    cfg->frag_max_bytes = 65535;
    cfg->frag_timeout_ns = 30ull * 1000000000ull; /* Linux ipfrag_time default */
    cfg->vxlan_port = 4789;
    cfg->geneve_port = 6081;
    cfg->gtpu_port = 2152;
}

int decoder_init(struct decoder *d, const struct decoder_config *cfg)
{
    memset(d, 0, sizeof(*d));
    d->vxlan_port = cfg->vxlan_port;
    d->geneve_port = cfg->geneve_port;
    d->gtpu_port = cfg->gtpu_port;
    d->tunnel_dport_bits = 1ull << (GRE_IN_UDP_PORT & 63);
    const uint16_t dports[] = {d->vxlan_port, d->geneve_port, d->gtpu_port};
    for (size_t i = 0; i < sizeof(dports) / sizeof(dports[0]); i++)
        if (dports[i]) d->tunnel_dport_bits |= 1ull << (dports[i] & 63);
    if (d->gtpu_port) d->tunnel_sport_bits = 1ull << (d->gtpu_port & 63); /* GTP-U: either way */
    return ip_reasm_init(&d->reasm, cfg->frag_slots, cfg->frag_max_bytes, cfg->frag_timeout_ns);
}

void decoder_fini(struct decoder *d)
{
    ip_reasm_fini(&d->reasm);
}

void decoder_reset(struct decoder *d)
{
    ip_reasm_reset(&d->reasm);
}

void decoder_expire(struct decoder *d, uint64_t now_ns, uint64_t *counters)
{
    counters[TT_C_FRAG_TIMEOUT] += ip_reasm_expire(&d->reasm, now_ns);
}

int pkt_enter_tunnel(struct packet *pkt, enum tt_tunnel_kind kind, uint32_t id)
{
    if (pkt->tunnel_depth >= TT_MAX_TUNNEL_DEPTH) {
        pkt_set_error(pkt, TT_C_TUNNEL_TOO_DEEP);
        return -1;
    }
    pkt->tunnel_depth++;
    memcpy(pkt->tunnel.outer_src, pkt->key.src, 16);
    memcpy(pkt->tunnel.outer_dst, pkt->key.dst, 16);
    pkt->tunnel.id = id;
    pkt->tunnel.family = pkt->key.family;
    pkt->key.tunnel_kind = (uint8_t)kind;
    pkt->key.tunnel_id = tt_tunnel_id_symmetric(kind) ? id : 0;
    /* The inner packet describes the flow from here on. */
    pkt->has_l3 = 0;
    pkt->has_l4 = 0;
    pkt->frag = 0;
    return 0;
}

/* Linux cooked capture v1: 16-byte header, protocol in the last 2 bytes. */
static void decode_sll(struct decoder *d, struct cursor c, struct packet *pkt)
{
    cur_skip(&c, 14);
    uint16_t proto = cur_be16(&c);
    if (cur_failed(&c)) {
        pkt_set_error(pkt, TT_C_SLL_TRUNCATED);
        return;
    }
    decode_ethertype(d, proto, c, pkt);
}

/* Linux cooked capture v2: 20-byte header, protocol first. */
static void decode_sll2(struct decoder *d, struct cursor c, struct packet *pkt)
{
    uint16_t proto = cur_be16(&c);
    cur_skip(&c, 18);
    if (cur_failed(&c)) {
        pkt_set_error(pkt, TT_C_SLL_TRUNCATED);
        return;
    }
    decode_ethertype(d, proto, c, pkt);
}

/* FDDI: frame control(1) dst(6) src(6), then 802.2 LLC; only SNAP (AA AA 03, OUI(3),
 * ethertype(2)) carries IP. */
static void decode_fddi(struct decoder *d, struct cursor c, struct packet *pkt)
{
    cur_skip(&c, 13);
    const uint8_t *llc = cur_take(&c, 8);
    if (!llc) {
        pkt_set_error(pkt, TT_C_LINK_TRUNCATED);
        return;
    }
    if (llc[0] != 0xaa || llc[1] != 0xaa || llc[2] != 0x03) {
        pkt_proto(pkt, TT_P_OTHER);
        return;
    }
    decode_ethertype(d, ld_be16(llc + 6), c, pkt);
}

/* PPP protocol numbers (RFC 1661): IPv4, IPv6, MPLS unicast; the rest is not IP. */
static void decode_ppp_protocol(struct decoder *d, uint16_t proto, struct cursor c,
                                struct packet *pkt)
{
    switch (proto) {
    case 0x0021:
        decode_ethertype(d, 0x0800, c, pkt);
        break;
    case 0x0057:
        decode_ethertype(d, 0x86dd, c, pkt);
        break;
    case 0x0281:
        decode_ethertype(d, 0x8847, c, pkt);
        break;
    default:
        pkt_proto(pkt, TT_P_OTHER);
        break;
    }
}

/* Cisco HDLC: address(1) control(1) protocol(2, an ethertype). */
static void decode_chdlc(struct decoder *d, struct cursor c, struct packet *pkt)
{
    cur_skip(&c, 2);
    uint16_t proto = cur_be16(&c);
    if (cur_failed(&c)) {
        pkt_set_error(pkt, TT_C_LINK_TRUNCATED);
        return;
    }
    decode_ethertype(d, proto, c, pkt);
}

/* PPP: [address 0xff, control 0x03] protocol(1 or 2: an odd first byte is a compressed
 * one-byte protocol, RFC 1661 6.5). In HDLC-like framing, an address of 0x0f or 0x8f is Cisco
 * HDLC instead (as tcpdump reads LINKTYPE_PPP_HDLC). */
static void decode_ppp(struct decoder *d, struct cursor c, struct packet *pkt)
{
    if (!cur_has(&c, 2)) {
        pkt_set_error(pkt, TT_C_LINK_TRUNCATED);
        return;
    }
    if (c.p[0] == 0x0f || c.p[0] == 0x8f) {
        decode_chdlc(d, c, pkt);
        return;
    }
    if (c.p[0] == 0xff && c.p[1] == 0x03) cur_skip(&c, 2);
    uint16_t proto = cur_u8(&c);
    if (!(proto & 1)) proto = (uint16_t)(proto << 8 | cur_u8(&c));
    if (cur_failed(&c)) {
        pkt_set_error(pkt, TT_C_LINK_TRUNCATED);
        return;
    }
    decode_ppp_protocol(d, proto, c, pkt);
}

int decode_linktype_supported(int linktype)
{
    switch (linktype) {
    case TT_LINK_NULL:
    case TT_LINK_ETHERNET:
    case TT_LINK_PPP:
    case TT_LINK_FDDI:
    case TT_LINK_PPP_HDLC:
    case TT_LINK_C_HDLC:
    case TT_LINK_RAW:
    case 14:
    case TT_LINK_RAW_101:
    case TT_LINK_LOOP:
    case TT_LINK_SLL:
    case TT_LINK_IPV4:
    case TT_LINK_IPV6:
    case TT_LINK_SLL2:
        return 1;
    default:
        return 0;
    }
}

/* Raw IP (no link header), also the payload of GTP-U, WCCP and MPLS: the version nibble says
 * which IP it is. */
void decode_ip_by_version(struct decoder *d, struct cursor c, struct packet *pkt)
{
    if (!cur_has(&c, 1)) {
        pkt_set_error(pkt, TT_C_IPV4_TRUNCATED);
        return;
    }
    if ((c.p[0] >> 4) == 6)
        decode_ipv6(d, c, pkt);
    else
        decode_ipv4(d, c, pkt);
}

/* BSD loopback: a 4-byte address family in the capturing host's byte order. */
static void decode_null(struct decoder *d, struct cursor c, struct packet *pkt, int big_endian)
{
    uint32_t fam = big_endian ? cur_be32(&c) : cur_le32(&c);
    if (cur_failed(&c)) {
        pkt_set_error(pkt, TT_C_ETH_TRUNCATED);
        return;
    }
    if (fam > 0xffff) /* written on a host of the other byte order */
        fam = __builtin_bswap32(fam);
    if (fam == 2)
        decode_ipv4(d, c, pkt);
    else if (fam == 24 || fam == 28 || fam == 30 || fam == 10)
        decode_ipv6(d, c, pkt);
    else
        pkt_proto(pkt, TT_P_OTHER);
}

/* Bytes after the outer IP datagram: a Metamako (MetaWatch, Arista 7130) trailer is 16
 * bytes (20 with a new FCS): original FCS, seconds, nanoseconds, flags, device id, port.
 * Accepted only when it reads as a time within 30 days of the capture's, so padding or an
 * FCS is never taken for one. */
static void decode_trailer(const uint8_t *p, uint32_t len, struct packet *pkt)
{
    if (len != 16 && len != 20) return;
    struct cursor c = cur_make(p, len);
    cur_skip(&c, 4);
    uint64_t secs = cur_be32(&c);
    uint32_t ns = cur_be32(&c);
    cur_skip(&c, 1); /* flags */
    uint16_t device = cur_be16(&c);
    uint8_t port = cur_u8(&c);
    uint64_t cap = pkt->ts_ns / 1000000000ull;
    if (cur_failed(&c) || !secs || ns >= 1000000000u ||
        (secs > cap ? secs - cap : cap - secs) > 30 * 86400)
        return;
    if (pkt->hw_ts_source == HW_TS_ARISTA) /* a header already gave the time */
        return;
    pkt->hw_ts_source = HW_TS_METAMAKO;
    pkt->hw_ts_ns = secs * 1000000000ull + ns;
    pkt->hw_device = device;
    pkt->hw_port = port;
}

/* The frame nearly all trading traffic is: Ethernet II, then IPv4 without options, not a
 * fragment, carrying TCP or UDP, the whole datagram captured and on the wire. It gets to its
 * L4 decoder without the general walk through the layers (tags, tunnels, clamps to short
 * captures). The packet it leaves is the general walk's to the byte (test_decode checks them
 * against each other); anything else returns 0 untouched and goes the general way. */
static int decode_common(struct decoder *d, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
                         struct packet *pkt)
{
    struct cursor c = cur_make(data, caplen);
    const uint8_t *h = cur_take(&c, 14 + 20);
    if (!h || ld_be16(h + 12) != 0x0800 || h[14] != 0x45 || (ld_be16(h + 20) & 0x3fff)) return 0;
    const uint8_t *ip = h + 14;
    uint32_t total = ld_be16(ip + 2);
    uint8_t proto = ip[9];
    if ((proto != 6 && proto != 17) || wirelen < 14 || total < 20 || total > caplen - 14 ||
        total > wirelen - 14)
        return 0;
    pkt->protos |= 1u << TT_P_ETH | 1u << TT_P_IPV4;
    v4_mapped(pkt->key.src, ip + 12);
    v4_mapped(pkt->key.dst, ip + 16);
    pkt->key.family = 4;
    pkt->key.proto = proto;
    pkt->has_l3 = 1;
    pkt->ttl = ip[8];
    pkt->ip_len = total;
    pkt->l3_end = 14 + total;
    struct cursor body = cur_make(ip + 20, total - 20);
    if (proto == 6)
        decode_tcp(body, total - 20, pkt);
    else
        decode_udp(d, body, total - 20, pkt);
    return 1;
}

void decode_frame(struct decoder *d, int linktype, const uint8_t *data, uint32_t caplen,
                  uint32_t wirelen, uint64_t ts_ns, struct packet *pkt)
{
    memset(pkt, 0, offsetof(struct packet, tcp));
    pkt->error = TT_C_MAX;
    pkt->ts_ns = ts_ns;
    pkt->caplen = caplen;
    pkt->wirelen = wirelen;
    pkt->tcp.wscale = -1;
    pkt->payload = NULL;
    pkt->payload_len = 0;
    pkt->l3_end = 0;
    pkt->frag = 0;
    pkt->hw_ts_source = HW_TS_NONE;
    pkt->frame_data = data;
    struct cursor c = cur_make(data, caplen);
    switch (linktype) {
    case TT_LINK_ETHERNET:
        if (d->general_only || !decode_common(d, data, caplen, wirelen, pkt))
            decode_ethernet(d, c, pkt);
        break;
    case TT_LINK_SLL:
        decode_sll(d, c, pkt);
        break;
    case TT_LINK_SLL2:
        decode_sll2(d, c, pkt);
        break;
    case TT_LINK_RAW:
    case TT_LINK_RAW_101:
    case 14: /* DLT_RAW on some BSDs */
        decode_ip_by_version(d, c, pkt);
        break;
    case TT_LINK_IPV4:
        decode_ipv4(d, c, pkt);
        break;
    case TT_LINK_IPV6:
        decode_ipv6(d, c, pkt);
        break;
    case TT_LINK_NULL:
        decode_null(d, c, pkt, 0);
        break;
    case TT_LINK_LOOP:
        decode_null(d, c, pkt, 1);
        break;
    case TT_LINK_FDDI:
        decode_fddi(d, c, pkt);
        break;
    case TT_LINK_PPP:
    case TT_LINK_PPP_HDLC:
        decode_ppp(d, c, pkt);
        break;
    case TT_LINK_C_HDLC:
        decode_chdlc(d, c, pkt);
        break;
    default:
        pkt_set_error(pkt, TT_C_LINKTYPE_UNSUPPORTED);
        break;
    }
    if (pkt->l3_end && caplen > pkt->l3_end)
        decode_trailer(data + pkt->l3_end, caplen - pkt->l3_end, pkt);
}
