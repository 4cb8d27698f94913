/* pcapw.h - the capture generator's packet builder and nanosecond pcap writer.
 *
 * Builds frames layer by layer into a byte buffer (Ethernet, 802.1Q, IPv4/IPv6, TCP, UDP and
 * the tunnels ticktap decodes) and writes them to a pcap-ns file. Deterministic: the same
 * calls give the same bytes. Test code only.
 */
#ifndef TT_PCAPW_H
#define TT_PCAPW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct pcapw {
    FILE *f;
    uint64_t frames;
};

int pcapw_open(struct pcapw *w, const char *path, uint32_t linktype);
void pcapw_write(struct pcapw *w, uint64_t ts_ns, const uint8_t *data, size_t len);
int pcapw_close(struct pcapw *w);

struct buf {
    uint8_t b[9216];
    size_t n;
};

void put8(struct buf *b, uint8_t v);
void put16(struct buf *b, uint16_t v);
void put32(struct buf *b, uint32_t v);
void putbytes(struct buf *b, const void *p, size_t n);
void putzero(struct buf *b, size_t n);

/* An endpoint pair at the IP level. Addresses are given as text. */
struct ipaddrs {
    int v6;
    uint8_t src[16], dst[16];
};
void ipaddrs_set(struct ipaddrs *a, const char *src, const char *dst);
void ipaddrs_swap(struct ipaddrs *a);

/* Appends an Ethernet header (with VLAN tags if nvlan > 0) for the given ethertype. */
void build_eth(struct buf *b, const uint16_t *vlans, int nvlan, uint16_t ethertype);
/* Appends an IP header for a payload of plen bytes of protocol proto. Returns the offset of
 * the header (for checksums). frag_off is in bytes, mf the more-fragments bit, id the IP id. */
size_t build_ip(struct buf *b, const struct ipaddrs *a, uint8_t proto, size_t plen, uint16_t id,
                uint32_t frag_off, int mf);
void build_udp(struct buf *b, uint16_t sport, uint16_t dport, size_t plen);

struct tcp_opts {
    int mss;    /* 0: none */
    int wscale; /* -1: none */
    int sack_ok;
    int ts;
    uint32_t tsval, tsecr;
};
/* Appends a TCP header; returns its length. */
size_t build_tcp(struct buf *b, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                 uint16_t flags, uint16_t win, const struct tcp_opts *o);

#endif
