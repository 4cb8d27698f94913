/* ttgen.c - deterministic capture generator with known ground truth.
 *
 *   ttgen SCENARIO OUT.pcap        writes the capture and OUT.pcap.expect.json
 *   ttgen list                     names the scenarios
 *   ttgen trading OUT.pcap [N]     N packets of mixed trading traffic (demo, bench)
 *   ttgen flows OUT.pcap [N]       N short TCP connections, 100 us apart: 2 messages each
 *                                  (tcp.handshake and the flow record) for the Kafka bench
 *   ttgen synflood OUT.pcap [N]    N unanswered SYNs, each from its own address: N new flows
 *   ttgen live_mix OUT.pcap [PER]  frames for the live tests' rules (+ OUT.pcap.rules.json)
 *   ttgen desk OUT.pcap spikes|steady  the trading desk's questions (tests/integration/desk.sh):
 *                                  a session of 200 orders and ACKs whose RTT is 100 us
 *                                  +-20% (steady), or that with 3 single 5 ms ACKs at orders
 *                                  60, 120 and 170 (spikes); one order sent twice at a new
 *                                  sequence number (order 90) and one UDP datagram sent twice
 *   ttgen baseline OUT.pcap steady|anomalies  60 s of a quote stream (200 pps +-5%) and an
 *                                  order session (50 orders/s, ACKed in 100 us +-10%); with
 *                                  anomalies: 5x the quotes in second 40, 10 retransmissions
 *                                  in second 45, every ACK 2 ms late in second 50
 *
 * Each scenario builds its packets by hand, so what it contains is known by construction:
 * the .expect.json holds the counts ticktap (and, where it has an opinion, tshark) must
 * report: tcp_analysis counts, event counts, flows and packets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_trading.h"
#include "gentcp.h"
#include "pcapw.h"

/* --- expectations -------------------------------------------------------------------- */

struct expect {
    unsigned retransmission, fast_retransmission, spurious_retransmission, out_of_order,
        duplicate_ack, lost_segment, ack_lost_segment, zero_window, zero_window_probe, window_full,
        window_update, keep_alive, reset;
    unsigned flows;
    /* events beyond the tcp_analysis ones */
    unsigned handshake, handshake_failed, rst_storm, md_gap;
    int tshark;     /* 1: tshark must agree on every tcp_analysis count */
    int unasserted; /* 1: the counts are for show (demo), not a test */
};

static int write_expect(const char *pcap, const struct expect *e, uint64_t packets)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s.expect.json", pcap);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f,
            "{\"asserted\": %s, \"packets\": %llu, \"flows\": %u, \"tshark_agrees\": %s,\n"
            " \"tcp_analysis\": {\"retransmission\": %u, \"fast_retransmission\": %u, "
            "\"spurious_retransmission\": %u, \"out_of_order\": %u, \"duplicate_ack\": %u, "
            "\"lost_segment\": %u, \"ack_lost_segment\": %u, \"zero_window\": %u, "
            "\"zero_window_probe\": %u, \"window_full\": %u, \"window_update\": %u, "
            "\"keep_alive\": %u, \"reset\": %u},\n"
            " \"events\": {\"tcp.handshake\": %u, \"tcp.handshake_failed\": %u, "
            "\"tcp.rst_storm\": %u, \"md.gap\": %u}}\n",
            e->unasserted ? "false" : "true", (unsigned long long)packets, e->flows,
            e->tshark ? "true" : "false", e->retransmission, e->fast_retransmission,
            e->spurious_retransmission, e->out_of_order, e->duplicate_ack, e->lost_segment,
            e->ack_lost_segment, e->zero_window, e->zero_window_probe, e->window_full,
            e->window_update, e->keep_alive, e->reset, e->handshake, e->handshake_failed,
            e->rst_storm, e->md_gap);
    return fclose(f);
}

/* --- scenarios ----------------------------------------------------------------------- */

/* A clean session: handshake, request/response data, orderly close. */
static void sc_clean(struct gen *g, struct expect *e)
{
    struct conn c;
    conn_init(&c, "10.0.0.1", "10.0.0.2", 40000, 9001, 1000, 5000);
    handshake(g, &c, 2 * MS);
    for (int i = 0; i < 10; i++) {
        g->t += 1 * MS;
        seg(g, &c, 0, A | P, 200);
        g->t += 100 * US;
        seg(g, &c, 1, A | P, 100);
    }
    g->t += 1 * MS;
    seg(g, &c, 0, A, 0);
    close_fin(g, &c);
    e->flows = 1;
    e->handshake = 1;
}

/* One segment lost before the capture point, three duplicate ACKs, a fast retransmission. */
/* A lost data segment (never captured), three duplicate ACKs, the fast retransmission. */
static void loss_pattern(struct gen *g, struct conn *c)
{
    handshake(g, c, 1 * MS);
    g->t += 1 * MS;
    seg(g, c, 0, A | P, 1000); /* #1 */
    uint32_t lost_seq = c->seq[0];
    c->seq[0] += 1000; /* #2 never reaches the capture */
    g->t += 100 * US;
    tcp_raw(g, c, 1, A, c->seq[1], lost_seq, 0, c->win[1], NULL); /* ACK of #1 */
    for (int i = 0; i < 3; i++) {
        g->t += 100 * US;
        seg(g, c, 0, A | P, 1000); /* #3..#5: the first is beyond a hole */
        g->t += 100 * US;
        tcp_raw(g, c, 1, A, c->seq[1], lost_seq, 0, c->win[1], NULL); /* dup ACK */
    }
    g->t += 2 * MS;
    tcp_raw(g, c, 0, A | P, lost_seq, c->seq[1], 1000, c->win[0], NULL); /* fast retransmission */
    g->t += 100 * US;
    seg(g, c, 1, A, 0);
    close_fin(g, c);
}

static void sc_loss(struct gen *g, struct expect *e)
{
    struct conn c;
    conn_init(&c, "10.0.1.1", "10.0.1.2", 40001, 9001, 70000, 90000);
    loss_pattern(g, &c);
    e->flows = 1;
    e->handshake = 1;
    e->lost_segment = 1;
    e->duplicate_ack = 3;
    e->fast_retransmission = 1;
    e->retransmission = 1; /* Wireshark counts fast ones as retransmissions too */
}

/* Tunnels whose two directions differ: GTP-U with an uplink and a downlink TEID, GRE with a
 * key per direction, IP-in-IP and GTP-U through different outer endpoints each way. Each
 * connection is one flow (tshark keys it on the inner addresses and ports), so its duplicate
 * ACKs and fast retransmission are found. */
static void sc_tunnels_asym(struct gen *g, struct expect *e)
{
    const enum encap kinds[] = {E_GTPU, E_GRE, E_IPIP};
    for (int k = 0; k < 3; k++) {
        struct conn c;
        conn_init(&c, "10.45.0.2", "172.20.0.9", (uint16_t)(43000 + k), 443, 1000, 5000);
        c.encap = kinds[k];
        c.tun_id = 0x1001u + (uint32_t)k;
        c.tun_id_rev = kinds[k] == E_IPIP ? 0 : 0x2002u + (uint32_t)k;
        c.outer_asym = kinds[k] != E_GRE;
        loss_pattern(g, &c);
        g->t += 1 * MS;
    }
    e->flows = 3;
    e->handshake = 3;
    e->lost_segment = 3;
    e->duplicate_ack = 9;
    e->fast_retransmission = 3;
    e->retransmission = 3;
}

/* A segment overtaken by the next one (reordering), and a timeout retransmission. */
static void sc_reorder(struct gen *g, struct expect *e)
{
    struct conn c;
    conn_init(&c, "10.0.2.1", "10.0.2.2", 40002, 9001, 1, 2);
    handshake(g, &c, 10 * MS); /* RTT 10 ms: the out-of-order threshold */
    g->t += 1 * MS;
    seg(g, &c, 0, A | P, 500);
    uint32_t b_seq = c.seq[0];
    c.seq[0] += 500;
    g->t += 100 * US;
    seg(g, &c, 0, A | P, 500); /* C before B: lost segment (a hole) */
    g->t += 500 * US;
    tcp_raw(g, &c, 0, A | P, b_seq, c.seq[1], 500, c.win[0], NULL); /* B: out of order */
    g->t += 100 * US;
    seg(g, &c, 1, A, 0);
    /* RTO: a segment sent, not ACKed, sent again 200 ms later */
    g->t += 1 * MS;
    uint32_t s = c.seq[0];
    seg(g, &c, 0, A | P, 300);
    g->t += 200 * MS;
    tcp_raw(g, &c, 0, A | P, s, c.seq[1], 300, c.win[0], NULL);
    g->t += 100 * US;
    seg(g, &c, 1, A, 0);
    /* spurious: the data was ACKed already and is sent again */
    g->t += 300 * MS;
    tcp_raw(g, &c, 0, A | P, s, c.seq[1], 300, c.win[0], NULL);
    close_fin(g, &c);
    e->flows = 1;
    e->handshake = 1;
    e->lost_segment = 1;
    e->out_of_order = 1;
    e->retransmission = 2; /* the RTO one and the spurious one */
    e->spurious_retransmission = 1;
}

/* Receiver closes its window, a zero-window probe and its ACK, then a window update. */
static void sc_zero_window(struct gen *g, struct expect *e)
{
    struct conn c;
    conn_init(&c, "10.0.3.1", "10.0.3.2", 40003, 9001, 100, 200);
    handshake(g, &c, 1 * MS);
    g->t += 1 * MS;
    seg(g, &c, 0, A | P, 1000);
    g->t += 100 * US;
    c.win[1] = 0;
    seg(g, &c, 1, A, 0); /* zero window */
    g->t += 200 * MS;
    tcp_raw(g, &c, 0, A, c.seq[0], c.seq[1], 1, c.win[0], NULL); /* probe: 1 byte */
    g->t += 100 * US;
    seg(g, &c, 1, A, 0); /* probe ACK, window still 0 */
    g->t += 50 * MS;
    c.win[1] = 8192;
    seg(g, &c, 1, A, 0); /* window update */
    g->t += 100 * US;
    seg(g, &c, 0, A | P, 1000);
    g->t += 100 * US;
    seg(g, &c, 1, A, 0);
    close_fin(g, &c);
    e->flows = 1;
    e->handshake = 1;
    e->zero_window = 2;
    e->zero_window_probe = 1;
    e->window_update = 1;
}

/* Keep-alives on an idle session, and a sender filling the receiver's window exactly. */
static void sc_keepalive_window_full(struct gen *g, struct expect *e)
{
    struct conn c;
    conn_init(&c, "10.0.4.1", "10.0.4.2", 40004, 9001, 300, 400);
    c.win[1] = 3000;
    handshake(g, &c, 1 * MS);
    g->t += 1 * MS;
    for (int i = 0; i < 3; i++) {
        g->t += 10 * US;
        seg(g, &c, 0, A | P, 1000); /* the third reaches the window's edge */
    }
    g->t += 100 * US;
    seg(g, &c, 1, A, 0);
    for (int i = 0; i < 2; i++) {
        g->t += 60000 * MS;
        tcp_raw(g, &c, 0, A, c.seq[0] - 1, c.seq[1], 0, c.win[0], NULL); /* keep-alive */
        g->t += 200 * US;
        seg(g, &c, 1, A, 0); /* its ACK */
    }
    close_fin(g, &c);
    e->flows = 1;
    e->handshake = 1;
    e->window_full = 1;
    e->keep_alive = 2;
}

/* 60 sessions reset by the server within a second: an RST storm. */
static void sc_rst_storm(struct gen *g, struct expect *e)
{
    for (int i = 0; i < 60; i++) {
        struct conn c;
        conn_init(&c, "10.0.5.1", "10.0.5.2", (uint16_t)(41000 + i), 9001, 10u + i, 20u + i);
        handshake(g, &c, 1 * MS);
        g->t += 1 * MS;
        seg(g, &c, 1, R | A, 0);
        g->t += 10 * MS;
    }
    e->flows = 60;
    e->handshake = 60;
    e->reset = 60;
    e->rst_storm = 1;
}

/* A SYN retried twice with no answer, and a SYN refused with RST. */
static void sc_handshake_failures(struct gen *g, struct expect *e)
{
    struct conn c;
    conn_init(&c, "10.0.6.1", "10.0.6.2", 40006, 9001, 777, 0);
    struct tcp_opts o = {.mss = 1460, .wscale = -1};
    for (int i = 0; i < 3; i++) {
        tcp_raw(g, &c, 0, S, c.seq[0], 0, 0, c.win[0], &o);
        g->t += (1000u << i) * MS;
    }
    struct conn d;
    conn_init(&d, "10.0.6.1", "10.0.6.3", 40007, 9002, 888, 0);
    tcp_raw(g, &d, 0, S, d.seq[0], 0, 0, d.win[0], &o);
    g->t += 1 * MS;
    tcp_raw(g, &d, 1, R | A, 0, d.seq[0] + 1, 0, 0, NULL);
    e->flows = 2;
    e->retransmission = 2; /* the SYN retries */
    e->reset = 1;
    e->handshake_failed = 2;
}

/* Connections that go on after their flow record ended: one silent past the TCP idle timeout
 * (7300 s), one reset and then sending again past the closed linger (30 s). The analysis goes
 * on from where it stood, as tshark's does: without it the segments after the gaps would look
 * new, and the spurious retransmission, the duplicate ACK and the retransmission go unseen. */
static void sc_resume(struct gen *g, struct expect *e)
{
    struct conn c;
    conn_init(&c, "10.0.9.1", "10.0.9.2", 40009, 9001, 5000, 9000);
    handshake(g, &c, 1 * MS);
    g->t += 1 * MS;
    uint32_t s = c.seq[0];
    seg(g, &c, 0, A | P, 400);
    g->t += 100 * US;
    seg(g, &c, 1, A, 0);             /* ACKs the 400 bytes */
    g->t += 3ull * 3600 * 1000 * MS; /* three hours: the flow record ends (idle) */
    tcp_raw(g, &c, 0, A | P, s, c.seq[1], 400, c.win[0], NULL); /* ACKed before: spurious */
    g->t += 100 * US;
    tcp_raw(g, &c, 1, A, c.seq[1], c.seq[0], 0, c.win[1], NULL); /* the same ACK: duplicate */
    g->t += 1 * MS;
    seg(g, &c, 0, A | P, 100);
    g->t += 100 * US;
    seg(g, &c, 1, A, 0);
    close_fin(g, &c);

    struct conn d;
    conn_init(&d, "10.0.9.1", "10.0.9.3", 40010, 9002, 7000, 11000);
    handshake(g, &d, 1 * MS);
    g->t += 1 * MS;
    uint32_t u = d.seq[0];
    seg(g, &d, 0, A | P, 300); /* never ACKed */
    g->t += 1 * MS;
    tcp_raw(g, &d, 1, R, d.seq[1], 0, 0, 0, NULL); /* the server resets: the record ends */
    g->t += 60000 * MS;                            /* a minute later, past the linger */
    tcp_raw(g, &d, 0, A | P, u, d.seq[1], 300, d.win[0], NULL); /* retransmission */

    e->flows = 4; /* each connection: the record before its gap and the one after */
    e->handshake = 2;
    e->spurious_retransmission = 1;
    e->retransmission = 2; /* the spurious one and the plain one */
    e->duplicate_ack = 1;
    e->reset = 1;
}

/* Eight MoldUDP64 sessions, each on its own group, each missing one packet within the same
 * millisecond: every gap is given up at the same housekeeping frame, in whichever workers the
 * sessions went to, and the md.gap events must come out in one order whatever their number. */
static void sc_md_gaps(struct gen *g, struct expect *e)
{
    enum { NSESS = 8 };
    struct ipaddrs a[NSESS];
    for (int i = 0; i < NSESS; i++) {
        char grp[32];
        snprintf(grp, sizeof(grp), "233.55.0.%d", 1 + i);
        ipaddrs_set(&a[i], "10.5.0.1", grp);
    }
    static const uint64_t seqs[] = {1, 3, 4}; /* 2 never sent */
    for (int k = 0; k < 3; k++) {
        g->t +=
            k == 2 ? 2000 * MS : 100 * US; /* the last round comes after housekeeping's second */
        for (int i = 0; i < NSESS; i++) {
            char session[11];
            snprintf(session, sizeof(session), "GAPS%06d", i);
            struct buf md;
            gen_mold_packet(&md, session, seqs[k], 1, (unsigned)i, 34200000000000ull, 0);
            struct conn c;
            memset(&c, 0, sizeof(c));
            c.a = a[i];
            emit_udp(g, &c, 26400, 26477, md.b, md.n);
            g->t += 10 * US;
        }
    }
    e->flows = NSESS;
    e->md_gap = NSESS;
}

/* Clean sessions carried in tunnels, QinQ, MPLS and over IPv6. */
static void sc_tunnels(struct gen *g, struct expect *e)
{
    const enum encap kinds[] = {E_VXLAN, E_GENEVE, E_GRE, E_GTPU, E_MPLS};
    for (int k = 0; k < 5; k++) {
        struct conn c;
        conn_init(&c, "172.16.0.1", "172.16.0.2", (uint16_t)(42000 + k), 9001, 1, 1);
        c.encap = kinds[k];
        c.tun_id = 100u + (uint32_t)k;
        handshake(g, &c, 1 * MS);
        g->t += 1 * MS;
        seg(g, &c, 0, A | P, 100);
        g->t += 100 * US;
        seg(g, &c, 1, A, 0);
        close_fin(g, &c);
    }
    struct conn q;
    conn_init(&q, "10.9.0.1", "10.9.0.2", 42100, 9001, 5, 6);
    q.vlans[0] = 100;
    q.vlans[1] = 200;
    q.nvlan = 2;
    handshake(g, &q, 1 * MS);
    close_fin(g, &q);
    struct conn v6;
    conn_init(&v6, "2001:db8::1", "2001:db8::2", 42200, 9001, 7, 8);
    handshake(g, &v6, 1 * MS);
    g->t += 1 * MS;
    seg(g, &v6, 0, A | P, 100);
    close_fin(g, &v6);
    e->flows = 7;
    e->handshake = 7;
}

/* Fragmented datagrams: a UDP message over IPv4 in 3 fragments (the last one first) and one
 * over IPv6 in 2; they must each become one datagram of one UDP flow. */
static void sc_fragments(struct gen *g, struct expect *e)
{
    for (int v6 = 0; v6 < 2; v6++) {
        struct ipaddrs a;
        ipaddrs_set(&a, v6 ? "2001:db8::10" : "10.0.7.1", v6 ? "2001:db8::11" : "10.0.7.2");
        struct buf payload = {.n = 0};
        build_udp(&payload, 30000, 30001, 2392);
        for (int i = 0; i < 2392; i++)
            put8(&payload, (uint8_t)i);
        size_t total = payload.n; /* 2400 */
        size_t chunk = v6 ? 1200 : 800;
        int nfrag = (int)(total / chunk);
        uint16_t id = (uint16_t)(0x4000 + v6);
        for (int k = 0; k < nfrag; k++) {
            int i = v6 ? k : (k == 0 ? nfrag - 1 : k - 1); /* IPv4: last fragment first */
            struct buf ip = {.n = 0};
            build_ip(&ip, &a, 17, chunk, id, (uint32_t)(i * chunk), i < nfrag - 1);
            putbytes(&ip, payload.b + i * chunk, chunk);
            struct conn c;
            memset(&c, 0, sizeof(c));
            emit_ip(g, &c, ip.b, ip.n, a.v6);
            g->t += 10 * US;
        }
    }
    e->flows = 2;
    e->tshark = 1;
}

/* --- trading traffic for the demo and the bench ---------------------------------------- */

/* FIX order-entry sessions (NewOrderSingle, ExecutionReport, now and then a reject) between
 * 16 trading gateways and 4 exchange hosts, plus MoldUDP64/ITCH market data on 8 channels,
 * each with an A and a B feed. A few losses and a retransmission are mixed in so the
 * analysis has something to say. Deterministic in n. */
static void sc_trading_n(struct gen *g, struct expect *e, uint64_t n)
{
    enum { NSESS = 64 };
    struct conn sess[NSESS];
    for (int i = 0; i < NSESS; i++) {
        char cli[32], srv[32];
        snprintf(cli, sizeof(cli), "10.1.%d.%d", i / 16, 10 + i % 16);
        snprintf(srv, sizeof(srv), "10.2.0.%d", 1 + i % 4);
        conn_init(&sess[i], cli, srv, (uint16_t)(50000 + i), 9878, 1000u * (uint32_t)i + 1,
                  7000u * (uint32_t)i + 1);
        handshake(g, &sess[i], 150 * US + (uint64_t)(i % 7) * 20 * US);
        g->t += 10 * US;
    }
    uint32_t fixseq[NSESS][2];
    for (int i = 0; i < NSESS; i++)
        fixseq[i][0] = fixseq[i][1] = 1;
    uint64_t norders = 0;
    char msg[1024], fields[256];
    /* 8 market-data channels, each on an A and a B multicast group (as CME and most
     * exchanges split their feeds), so heavy flows are many, not two. */
    enum { NCHAN = 8 };
    struct ipaddrs feed[NCHAN][2];
    for (int ch = 0; ch < NCHAN; ch++)
        for (int f = 0; f < 2; f++) {
            char src[32], grp[32];
            snprintf(src, sizeof(src), "10.3.0.%d", 1 + f);
            snprintf(grp, sizeof(grp), "233.54.%d.%d", 12 + f, 1 + ch);
            ipaddrs_set(&feed[ch][f], src, grp);
        }
    uint64_t mdseq = 1;
    uint64_t sent = g->w.frames;
    uint32_t rnd = 12345;
    while (sent < n) {
        rnd = rnd * 1103515245u + 12345u;
        g->t += 200 + (rnd >> 20) % 2000; /* 0.2 to 2.2 us apart: a busy link */
        if ((rnd >> 8) % 4 != 0) {
            /* market data: A and B feeds carry the same message */
            int ch = (int)(mdseq % NCHAN);
            /* ITCH time: ns since midnight in New York (UTC-5 on the capture's date), 30 us
             * before the capture time */
            uint64_t its =
                (g->t - 5ull * 3600 * 1000000000ull) % (86400ull * 1000000000ull) - 30 * US;
            struct buf md;
            char session[11];
            snprintf(session, sizeof(session), "NASDAQTV%02d", ch);
            gen_mold_packet(&md, session, mdseq / NCHAN + 1, 1, (unsigned)mdseq, its, 0);
            for (int f = 0; f < 2 && sent < n; f++) {
                /* now and then feed A drops a packet (B repairs it); once both do */
                if ((f == 0 && mdseq % 997 == 500) || mdseq == 4003) continue;
                if (f) g->t += 1000 + (rnd >> 26) * 100; /* feed B trails A by 1 to 7.3 us */
                struct conn c;
                memset(&c, 0, sizeof(c));
                c.a = feed[ch][f];
                emit_udp(g, &c, 26400, (uint16_t)(26400 + ch), md.b, md.n);
                sent++;
            }
            mdseq++;
            continue;
        }
        int si = (int)((rnd >> 12) % NSESS);
        struct conn *c = &sess[si];
        char gw[16], ex[16];
        snprintf(gw, sizeof(gw), "GW%02d", si);
        snprintf(ex, sizeof(ex), "EXCH%d", 1 + si % 4);
        norders++;
        snprintf(fields, sizeof(fields), "11=O%llu|55=AAPL|54=1|38=100|40=2|44=189.50",
                 (unsigned long long)norders);
        size_t ml = gen_fix_message(msg, sizeof(msg), gw, ex, "D", fixseq[si][0]++, fields);
        tcp_data(g, c, 0, A | P, c->seq[0], c->seq[1], msg, (uint32_t)ml); /* order */
        c->seq[0] += (uint32_t)ml;
        sent++;
        if (sent < n) {
            g->t += 30 * US + (rnd >> 24) * 100; /* 30 to 55 us to the exchange's answer */
            if ((rnd >> 4) % 64 == 0)
                snprintf(
                    fields, sizeof(fields),
                    "37=X%llu|11=O%llu|17=E%llu|150=8|39=8|103=3|55=AAPL|54=1|58=Exceeds limit",
                    (unsigned long long)norders, (unsigned long long)norders,
                    (unsigned long long)norders);
            else
                snprintf(fields, sizeof(fields),
                         "37=X%llu|11=O%llu|17=E%llu|150=0|39=0|55=AAPL|54=1",
                         (unsigned long long)norders, (unsigned long long)norders,
                         (unsigned long long)norders);
            ml = gen_fix_message(msg, sizeof(msg), ex, gw, "8", fixseq[si][1]++, fields);
            tcp_data(g, c, 1, A | P, c->seq[1], c->seq[0], msg, (uint32_t)ml); /* report */
            c->seq[1] += (uint32_t)ml;
            sent++;
        }
        if (sent < n && (rnd >> 16) % 16 == 0) {
            g->t += 40 * US;
            seg(g, c, 0, A, 0); /* plain ACK of the report */
            sent++;
        }
    }
    (void)e;
}

static void sc_trading_demo(struct gen *g, struct expect *e)
{
    sc_trading_n(g, e, 20000);
    /* a session with loss and a fast retransmission, and one refused connection */
    sc_loss(g, e);
    struct conn d;
    conn_init(&d, "10.1.9.9", "10.2.0.9", 40999, 9878, 42, 0);
    tcp_raw(g, &d, 0, S, d.seq[0], 0, 0, d.win[0], NULL);
    g->t += 300 * US;
    tcp_raw(g, &d, 1, R | A, 0, d.seq[0] + 1, 0, 0, NULL);
    memset(e, 0, sizeof(*e));
    e->unasserted = 1; /* the demo's counts are shown, not asserted */
}

/* --- live capture: frames for the rules of tests/live (tap mode) ----------------------- */

/* Frames that each match exactly one rule of tests/live/rules.yaml, and frames that match
 * none, per kind `per` of them with varying source ports (so a NIC or veth spreads them
 * over its queues), interleaved. Writes OUT.rules.json: the frames each rule must match. */
static int live_mix(struct gen *g, const char *out, unsigned per)
{
    static const struct {
        int rule; /* 0: no rule matches */
        const char *src, *dst;
        uint8_t proto;
        uint16_t dport, vlan;
    } kinds[] = {
        {1, "10.3.0.1", "233.54.12.7", 17, 26405, 0},     /* itch-a: group/24, port range */
        {2, "10.1.0.10", "10.2.0.1", 6, 9878, 0},         /* fix: tcp port 9878 */
        {3, "2001:db8:9::1", "ff15::1:7", 17, 31000, 0},  /* md-v6: IPv6 group */
        {4, "10.9.0.1", "10.9.9.9", 17, 5000, 100},       /* vlan100 */
        {5, "2001:db8:1::5", "2001:db8:3::1", 6, 443, 0}, /* src-v6: source /48 + port */
        {0, "10.3.3.3", "10.4.4.4", 17, 53, 0},           /* DNS */
        {0, "10.1.0.10", "10.2.0.1", 6, 80, 0},           /* web */
        {0, "2001:db8:2::5", "2001:db8:3::1", 6, 443, 0}, /* other source /48 */
        {0, "10.9.0.1", "10.9.9.9", 17, 5000, 200},       /* other VLAN */
        {0, "10.3.0.1", "233.54.13.7", 17, 26405, 0},     /* group outside the /24 */
        {0, "10.3.0.1", "233.54.12.7", 17, 30000, 0},     /* port outside the range */
    };
    enum { NK = sizeof(kinds) / sizeof(kinds[0]) };
    unsigned matched[6] = {0}, total = 0;
    for (unsigned i = 0; i < per; i++)
        for (unsigned k = 0; k < NK; k++) {
            struct conn c;
            memset(&c, 0, sizeof(c));
            ipaddrs_set(&c.a, kinds[k].src, kinds[k].dst);
            if (kinds[k].vlan) {
                c.vlans[0] = kinds[k].vlan;
                c.nvlan = 1;
            }
            struct buf ip = {.n = 0}, l4 = {.n = 0};
            uint16_t sport = (uint16_t)(40000 + i * 7 + k);
            if (kinds[k].proto == 17) {
                build_udp(&l4, sport, kinds[k].dport, 32);
                putzero(&l4, 32);
            } else {
                build_tcp(&l4, sport, kinds[k].dport, 1000 + i, 0, S, 65535, NULL);
            }
            build_ip(&ip, &c.a, kinds[k].proto, l4.n, g->ipid++, 0, 0);
            putbytes(&ip, l4.b, l4.n);
            emit_ip(g, &c, ip.b, ip.n, c.a.v6);
            g->t += 10 * US;
            matched[kinds[k].rule]++;
            total++;
        }
    { /* and ARP, which no IP rule takes */
        struct buf f = {.n = 0};
        build_eth(&f, NULL, 0, 0x0806);
        putzero(&f, 28);
        pcapw_write(&g->w, g->t, f.b, f.n);
        total++;
        matched[0]++;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s.rules.json", out);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "{\"frames\": %u, \"unmatched\": %u, \"rules\": {", total, matched[0]);
    for (int r = 1; r <= 5; r++)
        fprintf(f, "%s\"%d\": %u", r > 1 ? ", " : "", r, matched[r]);
    fprintf(f, "}}\n");
    return fclose(f);
}

/* --- live capture: jumbo frames (multi-buffer XDP and AF_XDP) --------------------------- */

/* MoldUDP64 packets to the itch-a rule's group and port, n of them, cycling through sizes
 * from a small frame to a 9000-byte MTU's largest: above ~3.5 KiB a frame no longer fits
 * one 4 KiB buffer, so XDP sees fragments and AF_XDP hands it over in several descriptors.
 * Sequence numbers run on without a gap: a frame put back together wrongly shows as a
 * malformed packet or a gap. Writes OUT.jumbo.json: frames, wire bytes, ITCH messages and
 * the largest frame. */
static int live_jumbo(struct gen *g, const char *out, unsigned n)
{
    static const unsigned counts[] = {1, 40, 110, 180, 250}; /* ~90 B to ~8.6 KB frames */
    uint64_t seq = 1, bytes = 0, messages = 0, frames0 = g->w.frames;
    size_t largest = 0;
    for (unsigned i = 0; i < n; i++) {
        unsigned count = counts[i % 5];
        struct buf m = {.n = 0};
        size_t len = gen_mold_packet(&m, "JUMBO00001", seq, count, i, 34200000000000ull, 0);
        struct conn c;
        memset(&c, 0, sizeof(c));
        ipaddrs_set(&c.a, "10.3.0.1", "233.54.12.7");
        struct buf ip = {.n = 0}, udp = {.n = 0};
        build_udp(&udp, 41000, 26405, len); /* one feed: one flow, one queue */
        putbytes(&udp, m.b, len);
        build_ip(&ip, &c.a, 17, udp.n, g->ipid++, 0, 0);
        putbytes(&ip, udp.b, udp.n);
        if (ip.n > 9000) return -1; /* the test's MTU */
        emit_ip(g, &c, ip.b, ip.n, 0);
        g->t += 20 * US;
        seq += count;
        messages += count;
        bytes += 14 + ip.n;
        if (14 + ip.n > largest) largest = 14 + ip.n;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s.jumbo.json", out);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "{\"frames\": %llu, \"bytes\": %llu, \"messages\": %llu, \"largest\": %zu}\n",
            (unsigned long long)(g->w.frames - frames0), (unsigned long long)bytes,
            (unsigned long long)messages, largest);
    return fclose(f);
}

struct scenario {
    const char *name;
    void (*fn)(struct gen *g, struct expect *e);
    int tshark;
};

static const struct scenario scenarios[] = {
    {"clean", sc_clean, 1},
    {"loss", sc_loss, 1},
    {"reorder", sc_reorder, 1},
    {"zero_window", sc_zero_window, 1},
    {"keepalive_window_full", sc_keepalive_window_full, 1},
    {"rst_storm", sc_rst_storm, 1},
    {"handshake_failures", sc_handshake_failures, 1},
    {"tunnels", sc_tunnels, 1},
    {"tunnels_asym", sc_tunnels_asym, 1},
    {"fragments", sc_fragments, 1},
    {"resume", sc_resume, 1},
    {"md_gaps", sc_md_gaps, 1},
    {"trading_demo", sc_trading_demo, 0},
};
#define NSCEN (sizeof(scenarios) / sizeof(scenarios[0]))

/* N short connections (handshake, one request and answer, FIN both ways), each from its own
 * client port: every one ends as a tcp.handshake event and a flow record. */
static void sc_flows(struct gen *g, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        struct conn c;
        char cli[32];
        snprintf(cli, sizeof(cli), "10.9.%u.%u", (unsigned)(i >> 16) & 255,
                 (unsigned)(i >> 8) & 255);
        conn_init(&c, cli, "10.9.255.1", (uint16_t)(20000 + (i & 255)), 9878, (uint32_t)i * 7919,
                  (uint32_t)i * 104729);
        handshake(g, &c, 50 * US);
        seg(g, &c, 0, P | A, 64);
        g->t += 20 * US;
        seg(g, &c, 1, P | A, 128);
        close_fin(g, &c);
        g->t += 100 * US;
    }
}

/* A SYN flood: n SYNs, each from its own address and port to one server, none answered:
 * every one is a new flow. */
static void sc_synflood(struct gen *g, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        struct conn c;
        char cli[32];
        snprintf(cli, sizeof(cli), "10.%u.%u.%u", 100 + (unsigned)(i >> 16) % 100,
                 (unsigned)(i >> 8) & 255, (unsigned)i & 255);
        conn_init(&c, cli, "10.9.255.1", (uint16_t)(1024 + (i * 7) % 60000), 9878,
                  (uint32_t)(i * 2654435761u), 0);
        tcp_raw(g, &c, 0, S, c.seq[0], 0, 0, 64240, NULL);
        g->t += 1 * US;
    }
}

/* See the usage above: known latency spikes and payload duplicates. */
static void sc_desk(struct gen *g, int spikes)
{
    struct conn c;
    conn_init(&c, "10.7.0.1", "10.7.0.2", 41000, 9878, 1000, 2000);
    handshake(g, &c, 100 * US);
    char msg[64], again[64] = "";
    for (int i = 0; i < 200; i++) {
        g->t += 1 * MS;
        int n = snprintf(msg, sizeof(msg), "35=D|11=ORDER%06d|55=XYZ|54=1|38=100|44=10.%02d|", i,
                         i % 100);
        if (i == 89) memcpy(again, msg, sizeof(again));
        const char *send = i == 90 ? again : msg; /* order 89's bytes again, at a new seq */
        n = (int)strlen(send);
        tcp_data(g, &c, 0, A | P, c.seq[0], c.seq[1], send, (uint32_t)n);
        c.seq[0] += (uint32_t)n;
        /* 100 us +- 20%: a deterministic walk over 80..120 us */
        uint64_t rtt = (80 + (uint64_t)((i * 37) % 41)) * US;
        if (spikes && (i == 60 || i == 120 || i == 170)) rtt = 5 * MS;
        g->t += rtt;
        seg(g, &c, 1, A, 0);
    }
    close_fin(g, &c);
    struct conn u;
    conn_init(&u, "10.7.0.3", "239.1.1.1", 0, 0, 0, 0);
    for (int i = 0; i < 50; i++) {
        g->t += 1 * MS;
        int n = snprintf(msg, sizeof(msg), "quote %06d bid 10.%02d ask 10.%02d size 100", i,
                         i % 100, (i + 1) % 100);
        emit_udp(g, &u, 30000, 30001, (const uint8_t *)msg, (size_t)n);
        if (i == 25) { /* the same datagram again, 200 us later */
            g->t += 200 * US;
            emit_udp(g, &u, 30000, 30001, (const uint8_t *)msg, (size_t)n);
        }
    }
}

/* See the usage above: baselines with known truth, one second at a time. */
static void sc_baseline(struct gen *g, int anomalies)
{
    struct conn c, q;
    conn_init(&c, "10.8.0.1", "10.8.0.2", 42000, 9878, 5000, 9000);
    conn_init(&q, "10.8.0.3", "239.2.2.2", 0, 0, 0, 0);
    handshake(g, &c, 100 * US);
    uint64_t start = (g->t / 1000000000ull + 1) * 1000000000ull; /* on a second */
    char msg[96];
    for (int sec = 0; sec < 60; sec++) {
        uint64_t t0 = start + (uint64_t)sec * 1000000000ull;
        int quotes = 200 + (sec * 7) % 21 - 10;
        if (anomalies && sec == 40) quotes *= 5;
        /* 50 orders: one every 20 ms, the quotes in between */
        for (int i = 0; i < 50; i++) {
            g->t = t0 + (uint64_t)i * 20 * MS + 1 * MS;
            int n = snprintf(msg, sizeof(msg), "order %02d.%02d", sec, i);
            uint32_t seq = c.seq[0];
            tcp_data(g, &c, 0, A | P, seq, c.seq[1], msg, (uint32_t)n);
            c.seq[0] += (uint32_t)n;
            uint64_t rtt = (90 + (uint64_t)((sec * 50 + i) * 13 % 21)) * US;
            if (anomalies && sec == 45 && i < 10) { /* lost on the way: sent again 3 ms later */
                g->t += 3 * MS;
                tcp_data(g, &c, 0, A | P, seq, c.seq[1], msg, (uint32_t)n);
            }
            if (anomalies && sec == 50) rtt = 2 * MS;
            g->t += rtt;
            seg(g, &c, 1, A, 0);
        }
        for (int i = 0; i < quotes; i++) {
            g->t = t0 + (uint64_t)i * (1000000000ull / (uint64_t)quotes) + 500 * US;
            int n = snprintf(msg, sizeof(msg), "quote %02d.%04d bid 10.%02d ask 10.%02d", sec, i,
                             i % 100, (i + 1) % 100);
            emit_udp(g, &q, 30000, 30001, (const uint8_t *)msg, (size_t)n);
        }
    }
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "list")) {
        for (size_t i = 0; i < NSCEN; i++)
            printf("%s\n", scenarios[i].name);
        printf("trading_fix_md\n");
        return 0;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: ttgen SCENARIO OUT.pcap | ttgen trading|flows|synflood OUT.pcap "
                        "[N] | ttgen list\n");
        return 1;
    }
    struct gen g = {.t = T0, .ipid = 1};
    if (pcapw_open(&g.w, argv[2], 1)) {
        perror(argv[2]);
        return 1;
    }
    struct expect e;
    memset(&e, 0, sizeof(e));
    if (!strcmp(argv[1], "live_jumbo")) {
        unsigned n = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 50;
        return live_jumbo(&g, argv[2], n) || pcapw_close(&g.w) ? 1 : 0;
    }
    if (!strcmp(argv[1], "live_mix")) {
        unsigned per = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 50;
        return live_mix(&g, argv[2], per) || pcapw_close(&g.w) ? 1 : 0;
    }
    if (!strcmp(argv[1], "baseline")) {
        sc_baseline(&g, argc > 3 && !strcmp(argv[3], "anomalies"));
        return pcapw_close(&g.w) ? 1 : 0;
    }
    if (!strcmp(argv[1], "desk")) {
        sc_desk(&g, argc > 3 && !strcmp(argv[3], "spikes"));
        return pcapw_close(&g.w) ? 1 : 0;
    }
    int rc = gen_trading(argv[1], &g, argv[2]);
    if (rc >= 0) return rc;
    if (!strcmp(argv[1], "synflood")) {
        sc_synflood(&g, argc > 3 ? strtoull(argv[3], NULL, 10) : 1000000);
        return pcapw_close(&g.w) ? 1 : 0;
    }
    if (!strcmp(argv[1], "flows")) {
        sc_flows(&g, argc > 3 ? strtoull(argv[3], NULL, 10) : 100000);
        return pcapw_close(&g.w) ? 1 : 0;
    }
    if (!strcmp(argv[1], "trading")) {
        uint64_t n = argc > 3 ? strtoull(argv[3], NULL, 10) : 1000000;
        sc_trading_n(&g, &e, n);
        return pcapw_close(&g.w) ? 1 : 0;
    }
    for (size_t i = 0; i < NSCEN; i++) {
        if (strcmp(argv[1], scenarios[i].name)) continue;
        scenarios[i].fn(&g, &e);
        e.tshark = scenarios[i].tshark;
        if (pcapw_close(&g.w) || write_expect(argv[2], &e, g.w.frames)) return 1;
        return 0;
    }
    fprintf(stderr, "ttgen: unknown scenario '%s' (ttgen list)\n", argv[1]);
    return 1;
}
