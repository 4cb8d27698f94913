/* test_dispatch.c - software RSS: flows stay whole, A/B feeds meet, heavy sessions spread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../../agent/flow/flow_table.h"
#include "../../agent/pipeline/dispatch.h"
#include "../../agent/config/config.h"
#include "../gen/pcapw.h"

static struct frame as_frame(const struct buf *b, uint64_t ordinal)
{
    return (struct frame){.ordinal = ordinal,
                          .data = b->b,
                          .caplen = (uint32_t)b->n,
                          .wirelen = (uint32_t)b->n,
                          .linktype = 1};
}

static const uint16_t two_tags[2] = {100, 200};

static void tcp_frame_tagged(struct buf *b, const char *src, const char *dst, uint16_t sport,
                             uint16_t dport, int nvlan)
{
    struct ipaddrs a;
    ipaddrs_set(&a, src, dst);
    b->n = 0;
    build_eth(b, two_tags, nvlan, a.v6 ? 0x86dd : 0x0800);
    build_ip(b, &a, 6, 20, 1, 0, 0);
    build_tcp(b, sport, dport, 1, 1, 0x10, 1000, NULL);
}

static void tcp_frame(struct buf *b, const char *src, const char *dst, uint16_t sport,
                      uint16_t dport)
{
    tcp_frame_tagged(b, src, dst, sport, dport, 0);
}

/* A MoldUDP64 packet of one message from src to group:26400 for session. */
static void mold_frame_tagged(struct buf *b, const char *src, const char *group,
                              const char *session, uint64_t seq, int nvlan)
{
    struct ipaddrs a;
    ipaddrs_set(&a, src, group);
    b->n = 0;
    build_eth(b, two_tags, nvlan, 0x0800);
    build_ip(b, &a, 17, 8 + 20 + 2 + 3, 1, 0, 0);
    build_udp(b, 26400, 26400, 20 + 2 + 3);
    putbytes(b, session, 10);
    put32(b, (uint32_t)(seq >> 32));
    put32(b, (uint32_t)seq);
    put16(b, 1);
    put16(b, 3);
    putbytes(b, "S\0\0", 3);
}

static void mold_frame(struct buf *b, const char *src, const char *group, const char *session,
                       uint64_t seq)
{
    mold_frame_tagged(b, src, group, session, seq, 0);
}

/* A dispatcher for nworkers that steers market data by session (default trading config). */
static void trading_dispatcher(struct dispatcher *d, uint32_t nworkers)
{
    static struct tt_config cfg;
    char err[256];
    config_defaults(&cfg);
    assert_int_equal(config_finish(&cfg, err, sizeof(err)), 0);
    dispatch_init(d, nworkers, 4789, 6081, 2152);
    d->trading = &cfg.trading;
}

/* The light parse (one tag at most) and the general one (two tags here) steer a flow, and a
 * market-data session, to the same worker, whichever of them sees it first. */
static void light_and_general_parse_agree(void **state)
{
    (void)state;
    static struct dispatcher d;
    trading_dispatcher(&d, 3);
    struct buf a, b;
    for (int i = 0; i < 300; i++) {
        char cli[32], session[11], group[32];
        snprintf(cli, sizeof(cli), "10.7.%d.%d", i / 100, i % 100 + 1);
        int light_first = i % 2;
        tcp_frame_tagged(&a, cli, "10.8.0.1", (uint16_t)(30000 + i), 9878, light_first ? 0 : 2);
        tcp_frame_tagged(&b, "10.8.0.1", cli, 9878, (uint16_t)(30000 + i), light_first ? 2 : 0);
        struct frame fa = as_frame(&a, 1), fb = as_frame(&b, 2);
        uint32_t w = dispatch_pick(&d, &fa);
        assert_int_equal(dispatch_pick(&d, &fb), w);
        snprintf(session, sizeof(session), "SESS%06d", i);
        snprintf(group, sizeof(group), "233.54.%d.%d", 12 + i % 2, 1 + i / 2);
        mold_frame_tagged(&a, "10.3.0.1", group, session, 1, light_first ? 0 : 2);
        snprintf(group, sizeof(group), "233.55.%d.%d", 12 + i % 2, 1 + i / 2); /* the B feed */
        mold_frame_tagged(&b, "10.3.0.2", group, session, 1, light_first ? 2 : 0);
        fa = as_frame(&a, 3);
        fb = as_frame(&b, 4);
        w = dispatch_pick(&d, &fa);
        assert_int_equal(dispatch_pick(&d, &fb), w);
    }
    for (int w = 1; w < 3; w++) /* session buckets as they come: one apart at most */
        assert_in_range(d.owned[1][w], d.owned[1][0] - 1, d.owned[1][0] + 1);
}

static void both_directions_meet(void **state)
{
    (void)state;
    static struct dispatcher d;
    dispatch_init(&d, 4, 4789, 6081, 2152);
    struct buf f, r;
    for (int i = 0; i < 200; i++) {
        char cli[64];
        snprintf(cli, sizeof(cli), i % 2 ? "10.0.%d.%d" : "2001:db8::%d:%d", i / 50, i % 50 + 1);
        tcp_frame(&f, cli, i % 2 ? "10.9.9.9" : "2001:db8::99", (uint16_t)(40000 + i), 443);
        tcp_frame(&r, i % 2 ? "10.9.9.9" : "2001:db8::99", cli, 443, (uint16_t)(40000 + i));
        struct frame ff = as_frame(&f, 1), fr = as_frame(&r, 2);
        uint32_t wf = dispatch_pick(&d, &ff);
        assert_true(wf < 4);
        assert_int_equal(dispatch_pick(&d, &fr), wf);
    }
}

/* Eight market-data channels, each on an A and a B group: the feeds of a channel meet on one
 * worker, and the channels split 4/4 (hashing them straight onto two workers rarely does). */
static void ab_feeds_meet_and_sessions_spread(void **state)
{
    (void)state;
    static struct dispatcher d;
    trading_dispatcher(&d, 2);
    uint32_t owner[8], per_worker[2] = {0, 0};
    struct buf b;
    for (uint64_t seq = 1; seq <= 50; seq++)
        for (int ch = 0; ch < 8; ch++)
            for (int feed = 0; feed < 2; feed++) {
                char session[11], group[32];
                snprintf(session, sizeof(session), "SESSION%03d", ch);
                snprintf(group, sizeof(group), "233.54.%d.%d", 12 + feed, 1 + ch);
                mold_frame(&b, feed ? "10.3.0.2" : "10.3.0.1", group, session, seq);
                struct frame f = as_frame(&b, seq);
                uint32_t w = dispatch_pick(&d, &f);
                if (seq == 1 && feed == 0) {
                    owner[ch] = w;
                    per_worker[w]++;
                }
                assert_int_equal(w, owner[ch]);
            }
    assert_int_equal(per_worker[0], 4);
    assert_int_equal(per_worker[1], 4);
    assert_int_equal(d.handed[0], d.handed[1]);
}

/* Readers of two queues (reader_order.h) steer with one shared table: the A feed of each
 * channel comes to one, its B feed to the other in the opposite order, and both directions of
 * each of 2000 connections are split the same way, the two readers claiming buckets at once
 * from two threads. Every channel and connection still meets on one worker. */
struct queue_reader {
    struct dispatcher d;
    int queue;
    uint32_t chan[8], conn[2000];
};

static void *read_queue(void *arg)
{
    struct queue_reader *q = arg;
    struct buf b;
    for (int k = 0; k < 8; k++) {
        int ch = q->queue ? 7 - k : k;
        char session[11], group[32];
        snprintf(session, sizeof(session), "SESSION%03d", ch);
        snprintf(group, sizeof(group), "233.54.%d.%d", 12 + q->queue, 1 + ch);
        mold_frame(&b, q->queue ? "10.3.0.2" : "10.3.0.1", group, session, 1);
        struct frame f = as_frame(&b, 1);
        q->chan[ch] = dispatch_pick(&q->d, &f);
    }
    for (int i = 0; i < 2000; i++) {
        char cli[32];
        snprintf(cli, sizeof(cli), "10.5.%d.%d", i / 200, 1 + i % 200);
        if (q->queue)
            tcp_frame(&b, "10.6.0.1", cli, 9878, (uint16_t)(20000 + i));
        else
            tcp_frame(&b, cli, "10.6.0.1", (uint16_t)(20000 + i), 9878);
        struct frame f = as_frame(&b, 1);
        q->conn[i] = dispatch_pick(&q->d, &f);
    }
    return NULL;
}

static void queue_readers_share_steering(void **state)
{
    (void)state;
    static struct dispatch_shared shared;
    static struct queue_reader q[2];
    pthread_t t[2];
    for (int k = 0; k < 2; k++) {
        trading_dispatcher(&q[k].d, 2);
        dispatch_share(&q[k].d, &shared);
        q[k].queue = k;
        pthread_create(&t[k], NULL, read_queue, &q[k]);
    }
    for (int k = 0; k < 2; k++)
        pthread_join(t[k], NULL);
    uint32_t per_worker[2] = {0, 0};
    for (int ch = 0; ch < 8; ch++) {
        assert_int_equal(q[0].chan[ch], q[1].chan[ch]);
        per_worker[q[0].chan[ch]]++;
    }
    assert_in_range(per_worker[0], 3, 5); /* claimed by whichever reader came first */
    for (int i = 0; i < 2000; i++)
        assert_int_equal(q[0].conn[i], q[1].conn[i]);
    uint32_t f0 = shared.owned[0][0], f1 = shared.owned[0][1]; /* flows' buckets: even */
    assert_true(f0 + f1 > 1000);
    assert_in_range(f0, f1 - f1 / 20, f1 + f1 / 20);
}

/* Dispatchers fed the same frames make the same choices (each worker's copy, or whichever
 * worker picks for a chunk, must agree), and a bucket never changes hands. */
static void same_frames_same_choices(void **state)
{
    (void)state;
    static struct dispatcher a, b;
    dispatch_init(&a, 3, 4789, 6081, 2152);
    dispatch_init(&b, 3, 4789, 6081, 2152);
    uint32_t first[64];
    struct buf f;
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 64; i++) {
            char cli[32];
            snprintf(cli, sizeof(cli), "10.1.%d.%d", i / 16, 10 + i % 16);
            tcp_frame(&f, cli, "10.2.0.1", (uint16_t)(50000 + i), 9878);
            struct frame fr = as_frame(&f, (uint64_t)(round * 64 + i + 1));
            uint32_t wa = dispatch_pick(&a, &fr), wb = dispatch_pick(&b, &fr);
            assert_int_equal(wa, wb);
            if (round == 0) first[i] = wa;
            assert_int_equal(wa, first[i]);
        }
    for (int w = 0; w < 3; w++) /* 64 flows as they come: 22, 21, 21 */
        assert_in_range(a.owned[0][w], 21, 22);
}

/* The fragments of a datagram follow its first fragment, whatever order they come in. */
static void fragments_follow_the_first(void **state)
{
    (void)state;
    static struct dispatcher d;
    dispatch_init(&d, 4, 4789, 6081, 2152);
    struct ipaddrs a;
    ipaddrs_set(&a, "10.0.0.1", "10.0.0.2");
    for (uint16_t id = 1; id <= 64; id++) {
        struct buf first = {.n = 0}, later = {.n = 0}, whole = {.n = 0};
        build_eth(&first, NULL, 0, 0x0800);
        build_ip(&first, &a, 17, 16, id, 0, 1);
        build_udp(&first, (uint16_t)(1000 + id), 2000, 8);
        putzero(&first, 8);
        build_eth(&later, NULL, 0, 0x0800);
        build_ip(&later, &a, 17, 16, id, 16, 0);
        putzero(&later, 16);
        build_eth(&whole, NULL, 0, 0x0800); /* an unfragmented datagram of the same flow */
        build_ip(&whole, &a, 17, 8, (uint16_t)(id + 1000), 0, 0);
        build_udp(&whole, (uint16_t)(1000 + id), 2000, 0);
        struct frame ff = as_frame(&first, 1), fl = as_frame(&later, 2), fw = as_frame(&whole, 3);
        uint32_t wf = dispatch_pick(&d, &ff);
        assert_int_equal(dispatch_pick(&d, &fl), wf);
        assert_int_equal(dispatch_pick(&d, &fw), wf); /* the first carried the ports */
    }
    assert_int_equal(d.unsteered, 0);
}

/* Frames the light parse does not know go by the flow the decoder finds inside: an IPv6 flow
 * in IPv6 whose tunnel endpoints change, fragments inside GRE, a fragmented ICMP echo and its
 * unfragmented reply. */
static void inner_flows_as_the_decoder_sees_them(void **state)
{
    (void)state;
    static struct dispatcher d;
    dispatch_init(&d, 8, 4789, 6081, 2152);
    struct ipaddrs inner, outer;
    struct buf b;
    uint32_t w6 = UINT32_MAX;
    for (int i = 0; i < 16; i++) { /* 16 tunnel endpoint pairs, both directions */
        char osrc[64];
        snprintf(osrc, sizeof(osrc), "2001:db8:ffff::%d", i + 1);
        ipaddrs_set(&outer, osrc, "2001:db8:eeee::1");
        ipaddrs_set(&inner, "2001:db8:1::1", "2001:db8:2::2");
        if (i % 2) {
            ipaddrs_swap(&outer);
            ipaddrs_swap(&inner);
        }
        b.n = 0;
        build_eth(&b, NULL, 0, 0x86dd);
        build_ip(&b, &outer, 41, 40 + 20, 0, 0, 0);
        build_ip(&b, &inner, 6, 20, 0, 0, 0);
        build_tcp(&b, i % 2 ? 443 : 40000, i % 2 ? 40000 : 443, 1, 1, 0x10, 100, NULL);
        struct frame f = as_frame(&b, (uint64_t)i + 1);
        uint32_t w = dispatch_pick(&d, &f);
        if (w6 == UINT32_MAX) w6 = w;
        assert_int_equal(w, w6);
    }
    for (uint16_t id = 1; id <= 32; id++) { /* UDP fragmented inside GRE, later parts reordered */
        ipaddrs_set(&outer, "192.0.2.1", "192.0.2.2");
        char src[32];
        snprintf(src, sizeof(src), "10.8.0.%u", id);
        ipaddrs_set(&inner, src, "10.9.0.1");
        uint32_t seen[3];
        static const int order[3] = {0, 2, 1};
        for (int k = 0; k < 3; k++) {
            int part = order[k];
            b.n = 0;
            build_eth(&b, NULL, 0, 0x0800);
            build_ip(&b, &outer, 47, 4 + 20 + 16, id, 0, 0);
            put16(&b, 0);
            put16(&b, 0x0800);
            build_ip(&b, &inner, 17, 16, id, (uint32_t)part * 16, part < 2);
            if (part == 0) {
                build_udp(&b, (uint16_t)(5000 + id), 53, 40);
                putzero(&b, 8);
            } else {
                putzero(&b, 16);
            }
            struct frame f = as_frame(&b, (uint64_t)part + 1);
            seen[part] = dispatch_pick(&d, &f);
        }
        assert_int_equal(seen[0], seen[1]);
        assert_int_equal(seen[0], seen[2]);
        b.n = 0; /* the same flow unfragmented: where its first fragment went */
        build_eth(&b, NULL, 0, 0x0800);
        build_ip(&b, &outer, 47, 4 + 20 + 8, 99, 0, 0);
        put16(&b, 0);
        put16(&b, 0x0800);
        build_ip(&b, &inner, 17, 8, 99, 0, 0);
        build_udp(&b, (uint16_t)(5000 + id), 53, 0);
        struct frame f = as_frame(&b, 4);
        assert_int_equal(dispatch_pick(&d, &f), seen[0]);
    }
    ipaddrs_set(&outer, "10.1.1.2", "10.1.1.1"); /* ICMP: a fragmented echo and its reply */
    struct buf first = {.n = 0}, later = {.n = 0}, reply = {.n = 0};
    build_eth(&first, NULL, 0, 0x0800);
    build_ip(&first, &outer, 1, 16, 7, 0, 1);
    putbytes(&first, "\x08\0\0\0\0\1\0\1", 8);
    putzero(&first, 8);
    build_eth(&later, NULL, 0, 0x0800);
    build_ip(&later, &outer, 1, 16, 7, 16, 0);
    putzero(&later, 16);
    ipaddrs_swap(&outer);
    build_eth(&reply, NULL, 0, 0x0800);
    build_ip(&reply, &outer, 1, 8, 9, 0, 0);
    putbytes(&reply, "\0\0\0\0\0\1\0\1", 8);
    struct frame ff = as_frame(&first, 1), fl = as_frame(&later, 2), fr = as_frame(&reply, 3);
    uint32_t wi = dispatch_pick(&d, &ff);
    assert_int_equal(dispatch_pick(&d, &fl), wi);
    assert_int_equal(dispatch_pick(&d, &fr), wi);
    assert_int_equal(d.unsteered, 0);
}

/* The flow table's hash that the fast path hands the worker (struct frame's key_hash) is the
 * one the worker would compute from the decoded key: plain TCP and UDP, tagged or not, market
 * data steered by session. Frames it cannot tell from the bytes carry none (IPv6, a tunnel),
 * and a frame whose ports lie past the IP datagram decodes without them, so the worker does
 * not take the hash there either. */
static void key_hash_is_the_flow_tables(void **state)
{
    (void)state;
    static struct dispatcher d;
    trading_dispatcher(&d, 2);
    static struct decoder dec;
    struct decoder_config dc;
    decoder_config_default(&dc);
    assert_int_equal(decoder_init(&dec, &dc), 0);
    struct buf b;
    struct ipaddrs a;
    enum { PLAIN, TAGGED, MOLD, V6, VXLAN, SHORT, NCASES };
    for (int c = 0; c < NCASES; c++) {
        for (int i = 0; i < 50; i++) {
            char cli[64];
            snprintf(cli, sizeof(cli), c == V6 ? "2001:db8::%d" : "10.1.2.%d", i + 1);
            if (c == PLAIN || c == TAGGED || c == V6)
                tcp_frame_tagged(&b, cli, c == V6 ? "2001:db8::1" : "10.9.0.1",
                                 (uint16_t)(40000 + i), 9878, c == TAGGED);
            else if (c == MOLD)
                mold_frame(&b, cli, "233.54.12.1", "SESSION001", (uint64_t)i + 1);
            if (c == VXLAN || c == SHORT) {
                ipaddrs_set(&a, cli, "10.9.0.1");
                b.n = 0;
                build_eth(&b, NULL, 0, 0x0800);
                if (c == VXLAN) {
                    build_ip(&b, &a, 17, 8 + 8, 1, 0, 0);
                    build_udp(&b, (uint16_t)(40000 + i), 4789, 8);
                    putzero(&b, 8);
                } else { /* the IP datagram ends after the ports; the frame goes on */
                    build_ip(&b, &a, 6, 4, 1, 0, 0);
                    put16(&b, (uint16_t)(40000 + i));
                    put16(&b, 9878);
                    putzero(&b, 16);
                }
            }
            struct frame f = as_frame(&b, (uint64_t)i + 1);
            dispatch_pick(&d, &f);
            struct packet pkt;
            decode_frame(&dec, f.linktype, f.data, f.caplen, f.wirelen, 1, &pkt);
            int usable = f.key_hashed && pkt.has_l4 && !pkt.key.tunnel_kind; /* as the worker */
            assert_int_equal(usable, c == PLAIN || c == TAGGED || c == MOLD);
            if (usable) assert_int_equal(f.key_hash, flow_key_hash(&pkt.key));
        }
    }
    decoder_fini(&dec);
}

/* A market-data flow's damaged datagram (its one block cut short, the session name intact)
 * goes where the flow's last session-steered datagram went, not by its 5-tuple; a datagram
 * of the flow under a new session name goes by that session, where its B feed goes. */
static void damaged_market_data_meets_its_flow(void **state)
{
    (void)state;
    static struct dispatcher d;
    trading_dispatcher(&d, 4);
    struct buf b;
    int differs = 0; /* cases where the 5-tuple alone would have picked another worker */
    for (int i = 0; i < 64; i++) {
        char src[32], session[11], next[11];
        snprintf(src, sizeof(src), "10.3.%d.1", i);
        snprintf(session, sizeof(session), "DAMAGE%04d", i);
        snprintf(next, sizeof(next), "ROLLED%04d", i);
        mold_frame(&b, src, "233.54.12.1", session, 1);
        struct frame f = as_frame(&b, 1);
        uint32_t w = dispatch_pick(&d, &f);
        b.n -= 2; /* the message block now runs past the datagram's end */
        b.b[14 + 2] = (uint8_t)((b.n - 14) >> 8); /* IP and UDP lengths as cut */
        b.b[14 + 3] = (uint8_t)(b.n - 14);
        b.b[14 + 20 + 4] = (uint8_t)((b.n - 34) >> 8);
        b.b[14 + 20 + 5] = (uint8_t)(b.n - 34);
        f = as_frame(&b, 2);
        assert_int_equal(dispatch_pick(&d, &f), w);
        static struct dispatcher fresh; /* a dispatcher that never saw the flow: by 5-tuple */
        trading_dispatcher(&fresh, 4);
        memcpy(fresh.bucket_owner, d.bucket_owner, sizeof(d.bucket_owner));
        differs += dispatch_pick(&fresh, &f) != w;
        mold_frame(&b, src, "233.54.12.1", next, 2); /* the next session, on the same flow */
        f = as_frame(&b, 3);
        uint32_t wa = dispatch_pick(&d, &f);
        mold_frame(&b, "10.4.0.1", "233.55.12.1", next, 2); /* its B feed */
        f = as_frame(&b, 4);
        assert_int_equal(dispatch_pick(&d, &f), wa);
    }
    assert_true(differs > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(both_directions_meet),
        cmocka_unit_test(key_hash_is_the_flow_tables),
        cmocka_unit_test(damaged_market_data_meets_its_flow),
        cmocka_unit_test(light_and_general_parse_agree),
        cmocka_unit_test(ab_feeds_meet_and_sessions_spread),
        cmocka_unit_test(same_frames_same_choices),
        cmocka_unit_test(queue_readers_share_steering),
        cmocka_unit_test(fragments_follow_the_first),
        cmocka_unit_test(inner_flows_as_the_decoder_sees_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
