/* decode.h - turns one captured frame into a struct packet: layers, addresses, ports, TCP
 * header fields and the innermost flow key.
 *
 * Contract: decode_frame() reads the frame only through cursors (cursor.h), never past
 * caplen, and never fails hard: a malformed or truncated frame yields pkt->error set to a
 * counter id (counters.h) and keeps whatever layers were decoded before the fault. Tunnels
 * (VXLAN, GENEVE, GRE/ERSPAN, GTP-U, IP-in-IP) are followed; the innermost IP packet is the
 * one the flow key describes and the tunnel is recorded. IPv4/IPv6 fragments go to the
 * decoder's reassembler: a fragment that does not complete a datagram returns with
 * pkt->fragment_held set and no L4; the one that completes it carries the whole datagram.
 *
 * Threading: a struct decoder belongs to one worker; decode_frame() is not reentrant on one
 * decoder. No allocation per packet (the reassembler preallocates at decoder_init()).
 */
#ifndef TT_DECODE_H
#define TT_DECODE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../util/counters.h"
#include "ip_reasm.h"

/* Link types we decode (values are pcap LINKTYPE_/DLT_ numbers as libpcap reports them). */
enum {
    TT_LINK_NULL = 0,
    TT_LINK_ETHERNET = 1,
    TT_LINK_PPP = 9,
    TT_LINK_FDDI = 10,
    TT_LINK_PPP_HDLC = 50, /* PPP in HDLC-like framing (LINKTYPE_PPP_HDLC, DLT_PPP_SERIAL) */
    TT_LINK_C_HDLC = 104,  /* Cisco HDLC */
    TT_LINK_RAW = 12,      /* DLT_RAW on Linux; LINKTYPE_RAW (101) maps to it */
    TT_LINK_RAW_101 = 101,
    TT_LINK_LOOP = 108,
    TT_LINK_SLL = 113,
    TT_LINK_IPV4 = 228,
    TT_LINK_IPV6 = 229,
    TT_LINK_SLL2 = 276,
};

/* 1 when decode_frame() decodes frames of this link type; their names, for messages. */
int decode_linktype_supported(int linktype);
#define DECODE_LINKTYPES_TEXT                                                                      \
    "Ethernet, Linux cooked (SLL, SLL2), raw IP, IPv4, IPv6, BSD loopback, FDDI, PPP, Cisco HDLC"

/* Protocol-mix bits: which layers a packet carried (anywhere, outer or inner). */
/* clang-format off */
#define TT_PROTO_LIST(X)                                                                           \
    X(ETH, "ethernet") X(VLAN, "vlan") X(MPLS, "mpls") X(ARP, "arp") X(IPV4, "ipv4")               \
    X(IPV6, "ipv6") X(ICMP, "icmp") X(ICMPV6, "icmpv6") X(TCP, "tcp") X(UDP, "udp")                \
    X(GRE, "gre") X(VXLAN, "vxlan") X(GENEVE, "geneve") X(GTPU, "gtpu") X(ERSPAN, "erspan")        \
    X(IPIP, "ipip") X(FRAGMENT, "ip_fragment") X(OTHER, "other")
/* clang-format on */

enum tt_proto {
#define TT_X(id, name) TT_P_##id,
    TT_PROTO_LIST(TT_X)
#undef TT_X
        TT_P_MAX
};
const char *tt_proto_name(enum tt_proto p);

enum tt_tunnel_kind {
    TT_TUN_NONE = 0,
    TT_TUN_VXLAN,
    TT_TUN_GENEVE,
    TT_TUN_GRE,
    TT_TUN_GTPU,
    TT_TUN_IPIP,
    TT_TUN_ERSPAN,
};
const char *tt_tunnel_name(enum tt_tunnel_kind k);

/* 1 when a tunnel of kind k has the same id both ways (a VXLAN or GENEVE VNI, an ERSPAN
 * session): the id is then part of the flow key. GTP-U TEIDs and GRE keys are chosen by each
 * receiving end (uplink and downlink differ), so they stay out of it: both directions of the
 * inner connection meet in one flow, which keeps each direction's id on the side. */
static inline int tt_tunnel_id_symmetric(enum tt_tunnel_kind k)
{
    return k == TT_TUN_VXLAN || k == TT_TUN_GENEVE || k == TT_TUN_ERSPAN;
}

/* One direction of a tunnelled flow: the innermost tunnel's id and outer endpoints. */
struct tunnel_side {
    uint8_t outer_src[16]; /* as flow keys hold addresses: IPv4 as ::ffff:a.b.c.d */
    uint8_t outer_dst[16];
    uint32_t id;
    uint8_t family; /* outer IP version, 4 or 6; 0: this direction not seen (yet) */
    uint8_t pad[3];
};

/* TCP flag bits as in the header's low 9 bits. */
enum {
    TH_FIN = 0x01,
    TH_SYN = 0x02,
    TH_RST = 0x04,
    TH_PUSH = 0x08,
    TH_ACK = 0x10,
    TH_URG = 0x20,
    TH_ECE = 0x40,
    TH_CWR = 0x80,
    TH_NS = 0x100,
};

/* Identity of a bidirectional flow. Addresses are 16 bytes (IPv4 as ::ffff:a.b.c.d). Plain
 * bytes with explicit padding so keys compare and hash with memcmp/xxhash. */
struct flow_key {
    uint8_t src[16];
    uint8_t dst[16];
    uint16_t sport;
    uint16_t dport;
    uint8_t proto;       /* IPPROTO_* */
    uint8_t family;      /* 4 or 6 */
    uint16_t vlan;       /* first 802.1Q id on the frame, 0 if untagged */
    uint32_t tunnel_id;  /* the innermost tunnel's id when the same both ways, else 0 */
    uint8_t tunnel_kind; /* enum tt_tunnel_kind of the innermost tunnel */
    uint8_t pad[3];
};
_Static_assert(sizeof(struct flow_key) == 48, "flow_key must stay 48 bytes, no hidden padding");

/* Writes in (an IPv4 address) into out as a flow key holds it: ::ffff:a.b.c.d. The second
 * half goes in one 8-byte store: the flow hash reads it with one 8-byte load, which a store
 * of the same bytes forwards at once, where three smaller stores make it wait for all of
 * them to retire. */
static inline void v4_mapped(uint8_t out[16], const uint8_t in[4])
{
    memset(out, 0, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint32_t a;
    memcpy(&a, in, 4);
    uint64_t hi = (uint64_t)a << 32 | 0xffff0000u; /* bytes 8..15: 00 00 ff ff a b c d */
    memcpy(out + 8, &hi, 8);
#else
    memset(out + 8, 0, 2);
    out[10] = out[11] = 0xff;
    memcpy(out + 12, in, 4);
#endif
}

struct tcp_info {
    uint32_t seq;
    uint32_t ack;
    uint16_t flags;
    uint16_t window; /* raw, unscaled */
    uint16_t hlen;   /* header length in bytes */
    uint32_t seglen; /* payload length from the IP length, not the capture length */
    int16_t wscale;  /* window scale option, -1 when absent */
    uint16_t mss;    /* 0 when absent */
    uint8_t sack_permitted;
    uint8_t sack_blocks;
    uint8_t has_ts;
    uint32_t ts_val;
    uint32_t ts_ecr;
};

struct packet {
    uint64_t ts_ns;
    uint64_t frame; /* 1-based ordinal in the capture, as tshark numbers frames */
    uint32_t caplen;
    uint32_t wirelen;
    uint32_t protos;       /* bit set of enum tt_proto */
    enum tt_counter error; /* first decode error, TT_C_MAX when none */
    uint8_t has_l3;        /* an IP header (innermost) was decoded */
    uint8_t has_l4;        /* the innermost L4 header was decoded whole */
    uint8_t fragment_held; /* a fragment went to the reassembler and completed nothing */
    uint8_t reassembled;   /* L4 comes from a reassembled datagram */
    uint8_t tunnel_depth;
    uint8_t nvlan;
    uint8_t ttl;
    uint16_t vlans[4];
    uint32_t ip_len; /* innermost IP datagram length (header + payload) */
    struct flow_key key;
    struct tcp_info tcp;
    /* Below tcp: not cleared by decode_frame's memset (kept to 128 bytes, cheap per frame);
     * set explicitly. */
    uint32_t l3_end;      /* offset in the frame where the outer IP datagram ends (0: unknown) */
    uint32_t frag_id;     /* when frag: the innermost IP header's identification */
    uint8_t frag;         /* it is a fragment: FRAG_FIRST (offset 0) or FRAG_LATER; 0: whole */
    uint8_t hw_ts_source; /* enum hw_ts_source: a timestamp the TAP or switch added */
    uint8_t hw_port;      /* Metamako: the port the frame came in on */
    uint16_t hw_device;   /* Metamako: the device id */
    uint64_t hw_ts_ns;    /* that timestamp (UTC, ns), when hw_ts_source != HW_TS_NONE */
    uint16_t udp_len;
    uint8_t icmp_type;
    uint8_t icmp_code;
    const uint8_t *frame_data; /* the captured frame (bounds "reported" lengths, see below) */
    const uint8_t *payload;    /* L4 payload inside the captured bytes */
    uint32_t payload_len;      /* captured payload bytes (<= the length the headers announce) */
    struct tunnel_side tunnel; /* when key.tunnel_kind: this frame's id and outer endpoints */
};

enum { FRAG_FIRST = 1, FRAG_LATER = 2 };

/* Timestamps added to the frame on the wire by a TAP or switch. */
enum hw_ts_source {
    HW_TS_NONE = 0,
    HW_TS_METAMAKO, /* 16/20-byte trailer after the frame: Metamako MetaWatch, Arista 7130 */
    HW_TS_ARISTA,   /* Arista timestamp header (EtherType 0xD28B) after the source MAC */
};

struct decoder {
    struct ip_reasm reasm;
    /* Steering (dispatch.c): a first fragment is decoded as far as its bytes go, as if it
     * were the whole datagram, to learn the flow it belongs to; no reassembly. */
    uint8_t first_fragment_whole;
    /* Tests: every frame takes the general walk, to check the common frame's shortcut. */
    uint8_t general_only;
    uint16_t vxlan_port;
    uint16_t geneve_port;
    uint16_t gtpu_port;
    /* bit (port % 64) of every tunnel destination (source) port, made from the ports above
     * by decoder_init: one test rules out nearly every UDP datagram, which is not tunnelled */
    uint64_t tunnel_dport_bits, tunnel_sport_bits;
};

struct decoder_config {
    uint32_t frag_slots;     /* datagrams reassembled at once */
    uint32_t frag_max_bytes; /* largest datagram accepted */
    uint64_t frag_timeout_ns;
    uint16_t vxlan_port, geneve_port, gtpu_port;
};

void decoder_config_default(struct decoder_config *cfg);

/* Preallocates the reassembler. Returns 0 or -ENOMEM. */
int decoder_init(struct decoder *d, const struct decoder_config *cfg);
void decoder_fini(struct decoder *d);
/* Forgets all state kept between frames (fragments), keeping the memory. */
void decoder_reset(struct decoder *d);

/* Decodes data[0..caplen) captured on a link of type linktype into pkt (fully overwritten).
 * pkt->error is TT_C_MAX when every layer decoded; the counters of errors are the caller's.
 * Bytes of a reassembled datagram live in the decoder until the next call. */
void decode_frame(struct decoder *d, int linktype, const uint8_t *data, uint32_t caplen,
                  uint32_t wirelen, uint64_t ts_ns, struct packet *pkt);

#define GRE_IN_UDP_PORT 4754 /* RFC 8086 */

/* 1 when UDP between these ports carries a tunnel the decoder opens (VXLAN, GENEVE, GTP-U,
 * GRE-in-UDP), so its flows are the inner ones. */
static inline int decode_udp_is_tunnel(const struct decoder *d, uint16_t sport, uint16_t dport)
{
    if (!((d->tunnel_dport_bits >> (dport & 63) | d->tunnel_sport_bits >> (sport & 63)) & 1))
        return 0;
    return (d->vxlan_port && dport == d->vxlan_port) ||
           (d->geneve_port && dport == d->geneve_port) ||
           (d->gtpu_port && (dport == d->gtpu_port || sport == d->gtpu_port)) ||
           dport == GRE_IN_UDP_PORT;
}

/* Expires reassembly state older than the timeout at packet time now_ns; counts timeouts into
 * counters[]. Bounded: looks at most max_slots slots. */
void decoder_expire(struct decoder *d, uint64_t now_ns, uint64_t *counters);

#endif
