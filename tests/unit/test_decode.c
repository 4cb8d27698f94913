/* test_decode.c - the decoders on hand-built frames: layers, keys, TCP options, tunnels,
 * fragments, and a classified error for every kind of truncation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "../../agent/decode/bytescan.h"
#include "../../agent/decode/decode.h"
#include "../gen/pcapw.h"

static struct decoder dec;

static int setup(void **state)
{
    (void)state;
    struct decoder_config cfg;
    decoder_config_default(&cfg);
    cfg.frag_slots = 4;
    return decoder_init(&dec, &cfg);
}

static int teardown(void **state)
{
    (void)state;
    decoder_fini(&dec);
    return 0;
}

/* Ethernet/[VLAN]/IPv4|6/TCP with options and payload. */
static void tcp_frame(struct buf *f, const char *src, const char *dst, const uint16_t *vlans,
                      int nvlan, size_t payload)
{
    struct ipaddrs a;
    ipaddrs_set(&a, src, dst);
    struct tcp_opts o = {.mss = 1460, .wscale = 7, .sack_ok = 1, .ts = 1, .tsval = 5, .tsecr = 6};
    struct buf t = {.n = 0};
    build_tcp(&t, 1234, 80, 1000, 2000, 0x012, 512, &o);
    putzero(&t, payload);
    f->n = 0;
    build_eth(f, vlans, nvlan, a.v6 ? 0x86dd : 0x0800);
    build_ip(f, &a, 6, t.n, 1, 0, 0);
    putbytes(f, t.b, t.n);
}

static void ipv4_tcp_with_options(void **state)
{
    (void)state;
    struct buf f;
    uint16_t vl[2] = {100, 200};
    tcp_frame(&f, "10.0.0.1", "10.0.0.2", vl, 2, 10);
    struct packet p;
    decode_frame(&dec, 1, f.b, (uint32_t)f.n, (uint32_t)f.n, 7, &p);
    assert_int_equal(p.error, TT_C_MAX);
    assert_true(p.has_l4);
    assert_int_equal(p.key.family, 4);
    assert_int_equal(p.key.proto, 6);
    assert_int_equal(p.key.sport, 1234);
    assert_int_equal(p.key.dport, 80);
    assert_int_equal(p.key.vlan, 100);
    assert_int_equal(p.nvlan, 2);
    static const uint8_t mapped_src[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1};
    static const uint8_t mapped_dst[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 2};
    assert_memory_equal(p.key.src, mapped_src, 16);
    assert_memory_equal(p.key.dst, mapped_dst, 16);
    assert_int_equal(p.tcp.seq, 1000);
    assert_int_equal(p.tcp.ack, 2000);
    assert_int_equal(p.tcp.flags, 0x012);
    assert_int_equal(p.tcp.window, 512);
    assert_int_equal(p.tcp.mss, 1460);
    assert_int_equal(p.tcp.wscale, 7);
    assert_true(p.tcp.sack_permitted);
    assert_true(p.tcp.has_ts);
    assert_int_equal(p.tcp.ts_val, 5);
    assert_int_equal(p.tcp.seglen, 10);
    assert_int_equal(p.payload_len, 10);
    assert_true(p.protos & (1u << TT_P_VLAN));
    /* untagged: the common frame's shortcut writes the addresses, the same bytes */
    tcp_frame(&f, "10.0.0.1", "10.0.0.2", NULL, 0, 10);
    memset(&p, 0xa5, sizeof(p));
    decode_frame(&dec, 1, f.b, (uint32_t)f.n, (uint32_t)f.n, 7, &p);
    assert_int_equal(p.error, TT_C_MAX);
    assert_memory_equal(p.key.src, mapped_src, 16);
    assert_memory_equal(p.key.dst, mapped_dst, 16);
}

static void ipv6_tcp(void **state)
{
    (void)state;
    struct buf f;
    tcp_frame(&f, "2001:db8::1", "2001:db8::2", NULL, 0, 0);
    struct packet p;
    decode_frame(&dec, 1, f.b, (uint32_t)f.n, (uint32_t)f.n, 7, &p);
    assert_int_equal(p.error, TT_C_MAX);
    assert_int_equal(p.key.family, 6);
    assert_int_equal(p.key.src[0], 0x20);
    assert_int_equal(p.tcp.seglen, 0);
}

static void every_truncation_is_a_counted_error(void **state)
{
    (void)state;
    struct buf f;
    tcp_frame(&f, "10.0.0.1", "10.0.0.2", NULL, 0, 0);
    /* cut the frame at every length: never a crash, always a classified error */
    for (size_t cut = 0; cut < f.n; cut++) {
        struct packet p;
        decode_frame(&dec, 1, f.b, (uint32_t)cut, (uint32_t)f.n, 7, &p);
        if (cut < 14)
            assert_int_equal(p.error, TT_C_ETH_TRUNCATED);
        else if (cut < 34)
            assert_int_equal(p.error, TT_C_IPV4_TRUNCATED);
        else
            assert_int_equal(p.error, TT_C_TCP_TRUNCATED);
    }
}

static void bad_headers_are_invalid_not_truncated(void **state)
{
    (void)state;
    struct buf f;
    tcp_frame(&f, "10.0.0.1", "10.0.0.2", NULL, 0, 0);
    struct packet p;
    f.b[14] = 0x43; /* IHL 3 */
    decode_frame(&dec, 1, f.b, (uint32_t)f.n, (uint32_t)f.n, 7, &p);
    assert_int_equal(p.error, TT_C_IPV4_BAD_IHL);
    f.b[14] = 0x45;
    f.b[16] = 0;
    f.b[17] = 10; /* total length below the header */
    decode_frame(&dec, 1, f.b, (uint32_t)f.n, (uint32_t)f.n, 7, &p);
    assert_int_equal(p.error, TT_C_IPV4_BAD_TOTAL_LENGTH);
    decode_frame(&dec, 999, f.b, (uint32_t)f.n, (uint32_t)f.n, 7, &p);
    assert_int_equal(p.error, TT_C_LINKTYPE_UNSUPPORTED);
}

static void ethernet_trailer_is_not_payload(void **state)
{
    (void)state;
    struct buf f;
    tcp_frame(&f, "10.0.0.1", "10.0.0.2", NULL, 0, 4);
    putzero(&f, 16); /* a 16-byte timestamp trailer after the IP packet */
    struct packet p;
    decode_frame(&dec, 1, f.b, (uint32_t)f.n, (uint32_t)f.n, 7, &p);
    assert_int_equal(p.tcp.seglen, 4);
    assert_int_equal(p.payload_len, 4);
}

static void vxlan_inner_flow_and_tunnel_recorded(void **state)
{
    (void)state;
    struct buf inner;
    tcp_frame(&inner, "172.16.0.1", "172.16.0.2", NULL, 0, 0);
    struct ipaddrs outer;
    ipaddrs_set(&outer, "192.0.2.1", "192.0.2.2");
    struct buf f = {.n = 0};
    build_eth(&f, NULL, 0, 0x0800);
    build_ip(&f, &outer, 17, 8 + 8 + inner.n, 9, 0, 0);
    build_udp(&f, 5555, 4789, 8 + inner.n);
    put32(&f, 0x08000000);
    put32(&f, 4242u << 8);
    putbytes(&f, inner.b, inner.n);
    struct packet p;
    decode_frame(&dec, 1, f.b, (uint32_t)f.n, (uint32_t)f.n, 7, &p);
    assert_int_equal(p.error, TT_C_MAX);
    assert_int_equal(p.key.tunnel_kind, TT_TUN_VXLAN);
    assert_int_equal(p.key.tunnel_id, 4242);
    assert_int_equal(p.key.src[12], 172);
    assert_int_equal(p.tunnel.outer_src[12], 192);
    assert_int_equal(p.tunnel.id, 4242);
    assert_int_equal(p.tunnel.family, 4);
    assert_int_equal(p.key.proto, 6);
    assert_true(p.protos & (1u << TT_P_VXLAN));
}

/* GTP-U's TEID is chosen by each receiving end (uplink and downlink differ): it stays out of
 * the flow key, so the same inner packet under either tunnel keys alike, and is kept with the
 * outer endpoints. */
static void gtpu_teid_out_of_the_key_kept_aside(void **state)
{
    (void)state;
    struct packet p[2];
    for (int dir = 0; dir < 2; dir++) {
        struct buf inner;
        tcp_frame(&inner, "172.16.0.1", "172.16.0.2", NULL, 0, 0); /* one inner packet */
        struct ipaddrs outer;
        ipaddrs_set(&outer, dir ? "198.51.100.7" : "192.0.2.1", dir ? "192.0.2.1" : "192.0.2.2");
        struct buf f = {.n = 0};
        build_eth(&f, NULL, 0, 0x0800);
        build_ip(&f, &outer, 17, 8 + 8 + inner.n - 14, 9, 0, 0);
        build_udp(&f, 2152, 2152, 8 + inner.n - 14);
        put8(&f, 0x30);
        put8(&f, 255);
        put16(&f, (uint16_t)(inner.n - 14));
        put32(&f, dir ? 0x2002 : 0x1001);
        putbytes(&f, inner.b + 14, inner.n - 14); /* the inner IP packet, no Ethernet */
        decode_frame(&dec, 1, f.b, (uint32_t)f.n, (uint32_t)f.n, 7, &p[dir]);
        assert_int_equal(p[dir].error, TT_C_MAX);
        assert_int_equal(p[dir].key.tunnel_kind, TT_TUN_GTPU);
        assert_int_equal(p[dir].key.tunnel_id, 0);
        assert_int_equal(p[dir].tunnel.id, dir ? 0x2002 : 0x1001);
        assert_int_equal(p[dir].tunnel.outer_src[12], dir ? 198 : 192);
    }
    assert_memory_equal(&p[0].key, &p[1].key, sizeof(p[0].key)); /* one flow, one hash */
}

/* The one-test pre-check (a port's bit) says no only where the exact comparison says no:
 * every port, as source and as destination, against probe ports: the configured tunnel
 * ports moved off the defaults, ports sharing their low six bits, a tunnel port switched off
 * (GENEVE's default) and ordinary ones. */
static void tunnel_ports_are_recognised_exactly(void **state)
{
    (void)state;
    struct decoder_config cfg;
    decoder_config_default(&cfg);
    cfg.frag_slots = 0;
    cfg.vxlan_port = 8472; /* Linux's old VXLAN port */
    cfg.geneve_port = 0;   /* off */
    cfg.gtpu_port = 3386;
    struct decoder d;
    assert_int_equal(decoder_init(&d, &cfg), 0);
    const uint16_t probe[] = {0,    1,         6081, 4789,       8472,  8472 + 64,
                              3386, 3386 - 64, 4754, 4754 + 128, 26400, 65535};
    for (size_t i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
        for (uint32_t other = 0; other < 65536; other++) {
            uint16_t a = probe[i], b = (uint16_t)other;
            int want_ab = a == 8472 || a == 3386 || b == 3386 || a == 4754; /* sport b, dport a */
            int want_ba = b == 8472 || b == 3386 || a == 3386 || b == 4754;
            if (decode_udp_is_tunnel(&d, b, a) != want_ab ||
                decode_udp_is_tunnel(&d, a, b) != want_ba)
                fail_msg("ports %u and %u", a, b);
        }
    }
    decoder_fini(&d);
}

static void ipv4_fragments_reassemble_in_any_order(void **state)
{
    (void)state;
    struct ipaddrs a;
    ipaddrs_set(&a, "10.0.0.1", "10.0.0.2");
    struct buf udp = {.n = 0};
    build_udp(&udp, 7, 9, 1592);
    for (int i = 0; i < 1592; i++)
        put8(&udp, (uint8_t)i);
    const int order[] = {1, 0};
    struct packet p;
    for (int k = 0; k < 2; k++) {
        int i = order[k];
        struct buf f = {.n = 0};
        build_eth(&f, NULL, 0, 0x0800);
        build_ip(&f, &a, 17, 800, 77, (uint32_t)(i * 800), i == 0);
        putbytes(&f, udp.b + i * 800, 800);
        decode_frame(&dec, 1, f.b, (uint32_t)f.n, (uint32_t)f.n, 100 + (uint64_t)k, &p);
        if (k == 0) {
            assert_true(p.fragment_held);
            assert_false(p.has_l4);
        }
    }
    assert_true(p.reassembled);
    assert_true(p.has_l4);
    assert_int_equal(p.key.sport, 7);
    assert_int_equal(p.udp_len, 1600);
    assert_int_equal(p.payload_len, 1592);
    assert_int_equal(p.payload[1591], (uint8_t)1591);
}

/* The byte scans agree with a byte loop for buffers shorter and longer than a block, from
 * any offset, at every alignment, and see nothing past the buffer (the byte after it is the
 * one searched for). */
static void bytescan_agrees_with_a_byte_loop(void **state)
{
    (void)state;
    static uint8_t buf[256];
    uint32_t rng = 99;
    for (int round = 0; round < 4000; round++) {
        for (size_t i = 0; i < sizeof(buf); i++) {
            rng = rng * 1103515245u + 12345u;
            uint8_t r = (uint8_t)(rng >> 24);
            buf[i] = r < 40 ? 0x01 : r < 60 ? '=' : r < 70 ? 0 : r;
        }
        /* a buffer of len bytes at buf + at, scanned from off */
        size_t at = (size_t)round % 64, len = (size_t)(round / 64) % 130;
        size_t off = len ? (size_t)(rng >> 8) % len : 0;
        uint8_t stop = round % 3 == 0 ? 0 : round % 3 == 1 ? 0x01 : '=';
        buf[at + len] = stop; /* just past the buffer: must not show */
        uint64_t want = 0, sum = 0;
        for (size_t i = off; i < len && i < off + BYTESCAN_BLOCK; i++)
            want |= (uint64_t)(buf[at + i] == stop) << (i - off);
        for (size_t i = 0; i < len; i++)
            sum += buf[at + i];
        assert_true(bytescan64(buf + at, off, len, stop) == want);
        assert_true(bytescan_sum(buf + at, len) == sum);
    }
    uint64_t sum = 0;
    for (size_t i = 0; i < sizeof(buf); i++)
        sum += buf[i];
    assert_true(bytescan_sum(buf, sizeof(buf)) == sum);
}

/* Decodes f both ways, the common frame's shortcut allowed and not, into packets filled with
 * the same junk first: every byte must agree, those neither way writes included. */
static void decode_both_ways(const uint8_t *f, uint32_t caplen, uint32_t wirelen, int *took_short)
{
    static struct packet fast, walked;
    memset(&fast, 0xa5, sizeof(fast));
    memset(&walked, 0xa5, sizeof(walked));
    decode_frame(&dec, 1, f, caplen, wirelen, 1700000000123456789ull, &fast);
    dec.general_only = 1;
    decode_frame(&dec, 1, f, caplen, wirelen, 1700000000123456789ull, &walked);
    dec.general_only = 0;
    assert_memory_equal(&fast, &walked, sizeof(fast));
    if (fast.error == TT_C_MAX &&
        fast.protos == (1u << TT_P_ETH | 1u << TT_P_IPV4 | 1u << TT_P_UDP))
        (*took_short)++;
}

/* The shortcut for Ethernet/IPv4/TCP|UDP leaves the packet the general walk leaves: on TCP
 * with options, UDP, tunnels, IP options, fragments, trailers, padding, short captures and
 * lying lengths, and on each of them with random bytes changed in their headers. */
static void common_frames_decode_as_the_general_walk(void **state)
{
    (void)state;
    struct buf frames[10];
    struct ipaddrs a;
    ipaddrs_set(&a, "10.1.2.3", "239.1.1.9");
    uint16_t vl[1] = {7};
    tcp_frame(&frames[0], "10.0.0.1", "10.0.0.2", NULL, 0, 30);
    tcp_frame(&frames[1], "10.0.0.1", "10.0.0.2", vl, 1, 0);
    for (int k = 2; k < 10; k++) {
        struct buf *f = &frames[k];
        struct buf u = {.n = 0};
        uint16_t dport = k == 3 ? 4789 : k == 4 ? 2152 : k == 5 ? GRE_IN_UDP_PORT : 26400;
        build_udp(&u, 31000, dport, 40);
        putzero(&u, 40);
        f->n = 0;
        build_eth(f, NULL, 0, 0x0800);
        build_ip(f, &a, 17, u.n, 9, k == 6 ? 8 : 0, k == 7);
        putbytes(f, u.b, u.n);
        if (k == 8) putzero(f, 16);       /* a trailer's room, or padding */
        if (k == 9) f->b[14 + 6] |= 0x40; /* don't fragment: still the common frame */
    }
    int took_short = 0;
    uint32_t rng = 2024;
    for (int k = 0; k < 10; k++) {
        struct buf *f = &frames[k];
        uint32_t n = (uint32_t)f->n;
        for (uint32_t cut = 0; cut <= n; cut++)
            decode_both_ways(f->b, cut, n, &took_short);
        for (uint32_t wire = 0; wire <= n + 4; wire++)
            decode_both_ways(f->b, n, wire, &took_short);
        for (int round = 0; round < 3000; round++) {
            static uint8_t m[sizeof(f->b)];
            memcpy(m, f->b, n);
            for (int j = 0; j < 3; j++) {
                rng = rng * 1103515245u + 12345u;
                uint32_t at = (rng >> 8) % (n < 64 ? n : 64);
                rng = rng * 1103515245u + 12345u;
                m[at] = (uint8_t)(rng >> 24);
            }
            rng = rng * 1103515245u + 12345u;
            uint32_t wire = n - (rng >> 16) % 3;
            decode_both_ways(m, n, wire, &took_short);
        }
    }
    assert_true(took_short > 1000); /* the mutations left many frames common */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ipv4_tcp_with_options),
        cmocka_unit_test(ipv6_tcp),
        cmocka_unit_test(every_truncation_is_a_counted_error),
        cmocka_unit_test(bad_headers_are_invalid_not_truncated),
        cmocka_unit_test(ethernet_trailer_is_not_payload),
        cmocka_unit_test(vxlan_inner_flow_and_tunnel_recorded),
        cmocka_unit_test(gtpu_teid_out_of_the_key_kept_aside),
        cmocka_unit_test(tunnel_ports_are_recognised_exactly),
        cmocka_unit_test(ipv4_fragments_reassemble_in_any_order),
        cmocka_unit_test(bytescan_agrees_with_a_byte_loop),
        cmocka_unit_test(common_frames_decode_as_the_general_walk),
    };
    return cmocka_run_group_tests_name("decode", tests, setup, teardown);
}
