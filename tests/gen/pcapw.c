/* pcapw.c - packet building and pcap-ns writing for the capture generator. */
#include "pcapw.h"

#include <arpa/inet.h>
#include <string.h>

int pcapw_open(struct pcapw *w, const char *path, uint32_t linktype)
{
    w->f = fopen(path, "wb");
    w->frames = 0;
    if (!w->f)
        return -1;
    uint32_t hdr[6] = {0xa1b23c4d, 0x00040002, 0, 0, 262144, linktype};
    fwrite(hdr, 4, 6, w->f);
    return 0;
}

void pcapw_write(struct pcapw *w, uint64_t ts_ns, const uint8_t *data, size_t len)
{
    uint32_t rec[4] = {(uint32_t)(ts_ns / 1000000000ull), (uint32_t)(ts_ns % 1000000000ull),
                       (uint32_t)len, (uint32_t)len};
    fwrite(rec, 4, 4, w->f);
    fwrite(data, 1, len, w->f);
    w->frames++;
}

int pcapw_close(struct pcapw *w)
{
    return fclose(w->f);
}

void put8(struct buf *b, uint8_t v)
{
    b->b[b->n++] = v;
}

void put16(struct buf *b, uint16_t v)
{
    put8(b, (uint8_t)(v >> 8));
    put8(b, (uint8_t)v);
}

void put32(struct buf *b, uint32_t v)
{
    put16(b, (uint16_t)(v >> 16));
    put16(b, (uint16_t)v);
}

void putbytes(struct buf *b, const void *p, size_t n)
{
    memcpy(b->b + b->n, p, n);
    b->n += n;
}

void putzero(struct buf *b, size_t n)
{
    memset(b->b + b->n, 0, n);
    b->n += n;
}

void ipaddrs_set(struct ipaddrs *a, const char *src, const char *dst)
{
    memset(a, 0, sizeof(*a));
    a->v6 = strchr(src, ':') != NULL;
    inet_pton(a->v6 ? AF_INET6 : AF_INET, src, a->src);
    inet_pton(a->v6 ? AF_INET6 : AF_INET, dst, a->dst);
}

void ipaddrs_swap(struct ipaddrs *a)
{
    uint8_t t[16];
    memcpy(t, a->src, 16);
    memcpy(a->src, a->dst, 16);
    memcpy(a->dst, t, 16);
}

void build_eth(struct buf *b, const uint16_t *vlans, int nvlan, uint16_t ethertype)
{
    static const uint8_t macs[12] = {0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1};
    putbytes(b, macs, 12);
    for (int i = 0; i < nvlan; i++) {
        put16(b, i == 0 && nvlan > 1 ? 0x88a8 : 0x8100);
        put16(b, vlans[i]);
    }
    put16(b, ethertype);
}

static uint16_t csum(const uint8_t *p, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        s += (uint32_t)p[n - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

size_t build_ip(struct buf *b, const struct ipaddrs *a, uint8_t proto, size_t plen, uint16_t id,
                uint32_t frag_off, int mf)
{
    size_t at = b->n;
    if (!a->v6) {
        put8(b, 0x45);
        put8(b, 0);
        put16(b, (uint16_t)(20 + plen));
        put16(b, id);
        put16(b, (uint16_t)((frag_off / 8) | (mf ? 0x2000 : 0) | (!mf && !frag_off ? 0x4000 : 0)));
        put8(b, 64);
        put8(b, proto);
        put16(b, 0);
        putbytes(b, a->src, 4);
        putbytes(b, a->dst, 4);
        uint16_t c = csum(b->b + at, 20);
        b->b[at + 10] = (uint8_t)(c >> 8);
        b->b[at + 11] = (uint8_t)c;
        return at;
    }
    int frag = frag_off || mf;
    put32(b, 0x60000000);
    put16(b, (uint16_t)(plen + (frag ? 8 : 0)));
    put8(b, frag ? 44 : proto);
    put8(b, 64);
    putbytes(b, a->src, 16);
    putbytes(b, a->dst, 16);
    if (frag) {
        put8(b, proto);
        put8(b, 0);
        put16(b, (uint16_t)(frag_off | (mf ? 1 : 0)));
        put32(b, 0x1000u + id);
    }
    return at;
}

void build_udp(struct buf *b, uint16_t sport, uint16_t dport, size_t plen)
{
    put16(b, sport);
    put16(b, dport);
    put16(b, (uint16_t)(8 + plen));
    put16(b, 0);
}

size_t build_tcp(struct buf *b, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                 uint16_t flags, uint16_t win, const struct tcp_opts *o)
{
    uint8_t opt[40];
    size_t on = 0;
    if (o) {
        if (o->mss) {
            opt[on++] = 2, opt[on++] = 4, opt[on++] = (uint8_t)(o->mss >> 8), opt[on++] = (uint8_t)o->mss;
        }
        if (o->sack_ok)
            opt[on++] = 4, opt[on++] = 2;
        if (o->ts) {
            opt[on++] = 8, opt[on++] = 10;
            for (int i = 3; i >= 0; i--)
                opt[on++] = (uint8_t)(o->tsval >> (8 * i));
            for (int i = 3; i >= 0; i--)
                opt[on++] = (uint8_t)(o->tsecr >> (8 * i));
        }
        if (o->wscale >= 0)
            opt[on++] = 1, opt[on++] = 3, opt[on++] = 3, opt[on++] = (uint8_t)o->wscale;
        while (on % 4)
            opt[on++] = 0;
    }
    size_t hlen = 20 + on;
    put16(b, sport);
    put16(b, dport);
    put32(b, seq);
    put32(b, ack);
    put16(b, (uint16_t)(((hlen / 4) << 12) | flags));
    put16(b, win);
    put16(b, 0);
    put16(b, 0);
    putbytes(b, opt, on);
    return hlen;
}
