/* counters.h - one table of every decode error and pipeline drop, with stable dotted names.
 *
 * Each id is defined by its exact trigger (see the comment beside it). Workers count into a
 * plain per-worker array indexed by id; the summary, the JSON sink and (later) the metrics
 * endpoint read the same ids by name, so a reason never has two spellings.
 * "truncated" means the captured bytes ran out; "invalid" means bytes present but inconsistent.
 */
#ifndef TT_COUNTERS_H
#define TT_COUNTERS_H

#include <stdint.h>

#define TT_COUNTER_LIST(X)                                                                         \
    X(LINKTYPE_UNSUPPORTED, "linktype.unsupported")   /* capture link type we cannot decode */     \
    X(ETH_TRUNCATED, "eth.truncated")                 /* frame shorter than an Ethernet header */  \
    X(VLAN_TRUNCATED, "vlan.truncated")               /* 802.1Q/QinQ tag cut off */                \
    X(VLAN_TOO_DEEP, "vlan.too_deep")                 /* more than 4 stacked tags */               \
    X(MPLS_TRUNCATED, "mpls.truncated")               /* label stack cut off */                    \
    X(MPLS_TOO_DEEP, "mpls.too_deep")                 /* more than 8 labels without bottom bit */  \
    X(MPLS_UNKNOWN_PAYLOAD, "mpls.unknown_payload")   /* bottom label not followed by IPv4/6 */    \
    X(SLL_TRUNCATED, "sll.truncated")                 /* Linux cooked header cut off */            \
    X(LINK_TRUNCATED, "link.truncated")               /* FDDI, PPP or Cisco HDLC header cut off */ \
    X(ARP_TRUNCATED, "arp.truncated")                 /* ARP body shorter than its lengths say */  \
    X(IPV4_TRUNCATED, "ipv4.truncated")               /* header or options cut off */              \
    X(IPV4_BAD_VERSION, "ipv4.bad_version")           /* version field is not 4 */                 \
    X(IPV4_BAD_IHL, "ipv4.bad_ihl")                   /* header length < 20 bytes */               \
    X(IPV4_BAD_TOTAL_LENGTH, "ipv4.bad_total_length") /* total length < header length */           \
    X(IPV6_TRUNCATED, "ipv6.truncated")               /* fixed or extension header cut off */      \
    X(IPV6_BAD_VERSION, "ipv6.bad_version")           /* version field is not 6 */                 \
    X(IPV6_TOO_MANY_EXT, "ipv6.too_many_ext")         /* more than 8 extension headers */          \
    X(FRAG_TABLE_FULL, "frag.table_full")             /* no free reassembly slot: fragment drop */ \
    X(FRAG_BUFFER_FULL, "frag.buffer_full")           /* datagram over the reassembly byte cap */  \
    X(FRAG_OVERLAP, "frag.overlap")                   /* fragment overlaps with different data */  \
    X(FRAG_TIMEOUT, "frag.timeout")                   /* datagram incomplete when it timed out */  \
    X(FRAG_BAD_LENGTH, "frag.bad_length")             /* beyond 65535 or the datagram's end */     \
    X(ICMP_TRUNCATED, "icmp.truncated")               /* ICMP/ICMPv6 header cut off */             \
    X(TCP_TRUNCATED, "tcp.truncated")                 /* TCP header or options cut off */          \
    X(TCP_BAD_OFFSET, "tcp.bad_offset")               /* data offset < 5 words or > segment */     \
    X(TCP_BAD_OPTION, "tcp.bad_option")               /* option length 0/1 or beyond header */     \
    X(UDP_TRUNCATED, "udp.truncated")                 /* UDP header cut off */                     \
    X(UDP_BAD_LENGTH, "udp.bad_length")               /* length field < 8 or > IP payload */       \
    X(GRE_TRUNCATED, "gre.truncated")                 /* GRE header cut off */                     \
    X(GRE_UNKNOWN_PROTO, "gre.unknown_proto")         /* GRE payload type we do not decode */      \
    X(VXLAN_TRUNCATED, "vxlan.truncated")             /* VXLAN header cut off */                   \
    X(GENEVE_TRUNCATED, "geneve.truncated")           /* GENEVE header or options cut off */       \
    X(GTPU_TRUNCATED, "gtpu.truncated")               /* GTP-U header cut off */                   \
    X(TUNNEL_TOO_DEEP, "tunnel.too_deep")             /* more than 4 nested tunnels */             \
    X(FLOW_TABLE_FULL, "flow.table_full")             /* no slot and nothing evictable */          \
    X(FLOW_EVICTED, "flow.evicted")                   /* live flow evicted to make room */         \
    X(TCP_UNACKED_POOL_FULL, "tcp.unacked_pool_full") /* RTT sample tracking slot unavailable */   \
    X(TCP_RECALL_FORGOTTEN, "tcp.recall_forgotten")   /* ended flow's TCP state dropped for a      \
                                                         newer one: its resumption starts anew */  \
    X(EVENT_RING_FULL, "event.ring_full")             /* event dropped: sink ring full (drop) */   \
    X(TALKERS_FULL, "report.talkers_full")            /* a host's bytes not ranked: table full */  \
    X(ALERT_KEYS_EVICTED, "alert.keys_evicted")       /* alert state of a key replaced: full */    \
    X(CAPTURE_TRUNCATED_FILE, "capture.truncated_file") /* capture file ended mid-record */        \
    X(DISPATCH_RING_FULL, "dispatch.ring_full") /* live: frame dropped, worker queue full */       \
    X(DISPATCH_UNSTEERED, "dispatch.unsteered") /* fragment steered by its addresses: a            \
                                                    later one of its datagram came first */        \
    X(FIX_BAD_CHECKSUM, "fix.bad_checksum")     /* FIX message whose CheckSum(10) is wrong */      \
    X(MOLD_INVALID, "moldudp64.invalid")        /* MoldUDP64 blocks do not fill the packet */      \
    X(ITCH_BAD_LENGTH, "itch.bad_length")       /* ITCH message of a wrong length for its type */  \
    X(MDP3_INVALID, "mdp3.invalid")             /* MDP3 packet whose messages are malformed */     \
    X(ARISTA_TRUNCATED, "arista.truncated")     /* Arista timestamp header cut off */              \
    X(ARISTA_UNKNOWN, "arista.unknown")         /* EtherType 0xD28B of an unknown subtype */       \
    X(TRADING_SESSIONS_FULL, "trading.sessions_full")   /* session not analysed: table full */     \
    X(TRADING_ORDERS_EVICTED, "trading.orders_evicted") /* pending order dropped: table full */    \
    X(TRADING_FEEDS_FULL, "trading.feeds_full")         /* a 5th+ feed (flow) of a session: its    \
                                                            packets count under the 4th */         \
    X(TRADING_FEED_LOSSES_DROPPED, "trading.feed_losses_dropped") /* a lone feed's loss not        \
                                                        kept for a second feed: table full */      \
    X(BURST_RING_FULL, "burst.ring_full")   /* frame left the burst window early: full */          \
    X(DEDUP_TABLE_FULL, "dedup.table_full") /* digest replaced inside its window: a later copy     \
                                               of it is not recognised */

enum tt_counter {
#define TT_X(id, name) TT_C_##id,
    TT_COUNTER_LIST(TT_X)
#undef TT_X
        TT_C_MAX
};

/* Stable dotted name of a counter id ("ipv4.truncated"). */
const char *tt_counter_name(enum tt_counter id);

/* Counters that are decode errors (a packet could not be fully decoded) as opposed to drops
 * of table, ring or pool capacity. The summary reports them under "decode_errors". */
int tt_counter_is_decode_error(enum tt_counter id);

#endif
