/* gentcp.c - connections and TCP segments for the generator (see gentcp.h). */
#include "gentcp.h"

#include <string.h>

/* --- framing ------------------------------------------------------------------------- */

/* Wraps an inner IP packet (ip[0..n)) in the connection's encapsulation and writes it. */
void emit_ip(struct gen *g, const struct conn *c, const uint8_t *ip, size_t n, int v6)
{
    struct buf f = {.n = 0};
    uint16_t et = v6 ? 0x86dd : 0x0800;
    struct ipaddrs outer;
    int back = c->cur_dir == 1;
    uint32_t tun_id = back && c->tun_id_rev ? c->tun_id_rev : c->tun_id;
    const char *outer_src = back && c->outer_asym ? "198.51.100.7" : "192.0.2.1";
    const char *outer_dst = back && c->outer_asym ? "192.0.2.1" : "192.0.2.2";
    switch (c->encap) {
    case E_NONE:
        build_eth(&f, c->vlans, c->nvlan, et);
        break;
    case E_MPLS:
        build_eth(&f, c->vlans, c->nvlan, 0x8847);
        put32(&f, (100u << 12) | 0x000);      /* label 100 */
        put32(&f, (200u << 12) | 0x100 | 64); /* label 200, bottom of stack */
        break;
    case E_VXLAN:
    case E_GENEVE:
    case E_GTPU: {
        ipaddrs_set(&outer, outer_src, outer_dst);
        size_t inner_l2 = c->encap == E_GTPU ? 0 : 14;
        size_t hdr = c->encap == E_GTPU ? 8 : 8;
        build_eth(&f, NULL, 0, 0x0800);
        build_ip(&f, &outer, 17, 8 + hdr + inner_l2 + n, g->ipid++, 0, 0);
        uint16_t dport = c->encap == E_VXLAN ? 4789 : c->encap == E_GENEVE ? 6081 : 2152;
        uint16_t sport = c->encap == E_GTPU && back && c->outer_asym ? 2152 : 49152;
        build_udp(&f, sport, dport, hdr + inner_l2 + n);
        if (c->encap == E_VXLAN) {
            put32(&f, 0x08000000);
            put32(&f, tun_id << 8);
        } else if (c->encap == E_GENEVE) {
            put16(&f, 0x0000);
            put16(&f, 0x6558);
            put32(&f, tun_id << 8);
        } else {
            put8(&f, 0x30);
            put8(&f, 255);
            put16(&f, (uint16_t)n);
            put32(&f, tun_id);
        }
        if (inner_l2) build_eth(&f, NULL, 0, et);
        break;
    }
    case E_GRE:
        ipaddrs_set(&outer, outer_src, outer_dst);
        build_eth(&f, NULL, 0, 0x0800);
        build_ip(&f, &outer, 47, 8 + n, g->ipid++, 0, 0);
        put16(&f, 0x2000); /* key present */
        put16(&f, et);
        put32(&f, tun_id);
        break;
    case E_IPIP:
        ipaddrs_set(&outer, outer_src, outer_dst);
        build_eth(&f, NULL, 0, 0x0800);
        build_ip(&f, &outer, v6 ? 41 : 4, n, g->ipid++, 0, 0);
        break;
    }
    putbytes(&f, ip, n);
    pcapw_write(&g->w, g->t, f.b, f.n);
}

void emit_udp(struct gen *g, const struct conn *c, uint16_t sport, uint16_t dport,
              const uint8_t *payload, size_t n)
{
    struct buf ip = {.n = 0}, udp = {.n = 0};
    build_udp(&udp, sport, dport, n);
    putbytes(&udp, payload, n);
    build_ip(&ip, &c->a, 17, udp.n, g->ipid++, 0, 0);
    putbytes(&ip, udp.b, udp.n);
    emit_ip(g, c, ip.b, ip.n, 0);
}

static void tcp_send(struct gen *g, struct conn *c, int dir, uint16_t flags, uint32_t seq,
                     uint32_t ack, const void *data, uint32_t len, uint16_t win,
                     const struct tcp_opts *o)
{
    struct ipaddrs a = c->a;
    if (dir) ipaddrs_swap(&a);
    struct buf ip = {.n = 0};
    struct buf tcp = {.n = 0};
    build_tcp(&tcp, c->port[dir], c->port[!dir], seq, ack, flags, win, o);
    if (data)
        putbytes(&tcp, data, len);
    else
        for (uint32_t i = 0; i < len; i++)
            put8(&tcp, (uint8_t)('a' + i % 26));
    build_ip(&ip, &a, 6, tcp.n, g->ipid++, 0, 0);
    putbytes(&ip, tcp.b, tcp.n);
    c->cur_dir = dir;
    emit_ip(g, c, ip.b, ip.n, a.v6);
}

void tcp_raw(struct gen *g, struct conn *c, int dir, uint16_t flags, uint32_t seq, uint32_t ack,
             uint32_t len, uint16_t win, const struct tcp_opts *o)
{
    tcp_send(g, c, dir, flags, seq, ack, NULL, len, win, o);
}

void tcp_data(struct gen *g, struct conn *c, int dir, uint16_t flags, uint32_t seq, uint32_t ack,
              const void *data, uint32_t len)
{
    tcp_send(g, c, dir, flags, seq, ack, data, len, c->win[dir], NULL);
}

/* Sends the next segment of side dir: its current seq, ACKing everything of the other side;
 * advances seq (SYN and FIN count one). */
void seg(struct gen *g, struct conn *c, int dir, uint16_t flags, uint32_t len)
{
    tcp_raw(g, c, dir, flags, c->seq[dir], (flags & A) ? c->seq[!dir] : 0, len, c->win[dir], NULL);
    c->seq[dir] += len + ((flags & (S | F)) ? 1 : 0);
}

void conn_init(struct conn *c, const char *cli, const char *srv, uint16_t cport, uint16_t sport,
               uint32_t isn_c, uint32_t isn_s)
{
    memset(c, 0, sizeof(*c));
    ipaddrs_set(&c->a, cli, srv);
    c->port[0] = cport;
    c->port[1] = sport;
    c->seq[0] = isn_c;
    c->seq[1] = isn_s;
    c->win[0] = c->win[1] = 65535;
}

/* SYN, SYN/ACK, ACK with rtt between SYN and SYN/ACK and a small gap to the ACK. */
void handshake(struct gen *g, struct conn *c, uint64_t rtt)
{
    struct tcp_opts o = {.mss = 1460, .wscale = -1};
    tcp_raw(g, c, 0, S, c->seq[0], 0, 0, c->win[0], &o);
    c->seq[0]++;
    g->t += rtt;
    tcp_raw(g, c, 1, S | A, c->seq[1], c->seq[0], 0, c->win[1], &o);
    c->seq[1]++;
    g->t += 50 * US;
    seg(g, c, 0, A, 0);
}

void close_fin(struct gen *g, struct conn *c)
{
    g->t += 100 * US;
    seg(g, c, 0, F | A, 0);
    g->t += 100 * US;
    seg(g, c, 1, F | A, 0);
    g->t += 100 * US;
    seg(g, c, 0, A, 0);
}
