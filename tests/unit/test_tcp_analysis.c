/* test_tcp_analysis.c - Wireshark's flag rules on hand-made segments, sequence wrap-around,
 * handshake and ACK RTT, handshake failures, ACKed-unseen latching, resumption, and the
 * bounded segment pool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "../../agent/decode/decode.h"
#include "../../agent/tcp/tcp_analysis.h"

static struct tcp_seg_pool pool;
static struct tcp_conv conv;
static uint64_t now;

static int setup(void **state)
{
    (void)state;
    tcp_conv_init(&conv);
    now = 1000000000ull;
    return tcp_seg_pool_init(&pool, 64, 16);
}

static int teardown(void **state)
{
    (void)state;
    tcp_conv_release(&conv, &pool);
    tcp_seg_pool_fini(&pool);
    return 0;
}

/* Sends one segment; returns its analysis flags. */
static uint32_t send_seg(int dir, uint16_t flags, uint32_t seq, uint32_t ack, uint32_t len,
                         uint16_t win, uint64_t dt, struct tcp_result *out)
{
    struct packet p;
    memset(&p, 0, sizeof(p));
    now += dt;
    p.ts_ns = now;
    p.has_l4 = 1;
    p.tcp.flags = flags;
    p.tcp.seq = seq;
    p.tcp.ack = ack;
    p.tcp.seglen = len;
    p.tcp.window = win;
    p.tcp.wscale = -1;
    struct tcp_result r;
    tcp_analyze(&conv, &pool, dir, &p, out ? out : &r);
    return (out ? out : &r)->flags;
}

enum { S = TH_SYN, A = TH_ACK, F = TH_FIN, R = TH_RST };

/* Handshake around an ISN close to 2^32 so that the data wraps. */
static void handshake(uint32_t c, uint32_t s)
{
    assert_int_equal(send_seg(0, S, c, 0, 0, 1000, 0, NULL), 0);
    assert_int_equal(send_seg(1, S | A, s, c + 1, 0, 1000, 2000000, NULL), 0);
    struct tcp_result r;
    assert_int_equal(send_seg(0, A, c + 1, s + 1, 0, 1000, 1000, &r), 0);
    assert_int_equal(r.handshake_ns, 2001000);
    assert_int_equal(r.syn_synack_ns, 2000000);
}

static void dup_acks_then_fast_retransmission_across_wrap(void **state)
{
    (void)state;
    uint32_t c = 0xfffffd00u, s = 7;
    handshake(c, s);
    uint32_t seq = c + 1;
    assert_int_equal(send_seg(0, A, seq, s + 1, 500, 1000, 1000, NULL), 0); /* wraps past 0 */
    uint32_t hole = seq + 500;
    assert_int_equal(send_seg(0, A, hole + 500, s + 1, 500, 1000, 100, NULL), TA(LOST_SEGMENT));
    assert_int_equal(send_seg(1, A, s + 1, hole, 0, 1000, 100, NULL), 0);
    assert_int_equal(send_seg(1, A, s + 1, hole, 0, 1000, 100, NULL), TA(DUPLICATE_ACK));
    assert_int_equal(send_seg(1, A, s + 1, hole, 0, 1000, 100, NULL), TA(DUPLICATE_ACK));
    assert_int_equal(send_seg(0, A, hole, s + 1, 500, 1000, 100, NULL), TA(FAST_RETRANSMISSION));
    struct tcp_result r;
    send_seg(1, A, s + 1, hole + 1000, 0, 1000, 100, &r);
    assert_true(r.ack_rtt_ns > 0);
}

static void retransmission_out_of_order_spurious(void **state)
{
    (void)state;
    handshake(100, 200);
    assert_int_equal(send_seg(0, A, 101, 201, 10, 1000, 1000, NULL), 0);
    assert_int_equal(send_seg(0, A, 111, 201, 10, 1000, 1000, NULL), 0);
    /* older data within the handshake RTT (2 ms): out-of-order */
    assert_int_equal(send_seg(0, A, 101, 201, 10, 1000, 1000, NULL), TA(OUT_OF_ORDER));
    /* the same much later: a retransmission */
    assert_int_equal(send_seg(0, A, 101, 201, 10, 1000, 50000000, NULL), TA(RETRANSMISSION));
    assert_int_equal(send_seg(1, A, 201, 121, 0, 1000, 1000, NULL), 0);
    /* data the receiver already ACKed: spurious */
    assert_int_equal(send_seg(0, A, 111, 201, 10, 1000, 50000000, NULL),
                     TA(SPURIOUS_RETRANSMISSION));
}

static void zero_window_probe_update_keepalive(void **state)
{
    (void)state;
    handshake(1, 1);
    assert_int_equal(send_seg(0, A, 2, 2, 100, 1000, 1000, NULL), 0);
    assert_int_equal(send_seg(1, A, 2, 102, 0, 0, 1000, NULL), TA(ZERO_WINDOW));
    assert_int_equal(send_seg(0, A, 102, 2, 1, 1000, 1000, NULL), TA(ZERO_WINDOW_PROBE));
    assert_int_equal(send_seg(1, A, 2, 102, 0, 0, 1000, NULL),
                     TA(ZERO_WINDOW) | TA(ZERO_WINDOW_PROBE_ACK));
    assert_int_equal(send_seg(1, A, 2, 102, 0, 4000, 1000, NULL), TA(WINDOW_UPDATE));
    assert_int_equal(send_seg(0, A, 101, 2, 0, 1000, 1000, NULL), TA(KEEP_ALIVE));
    assert_int_equal(send_seg(1, A, 2, 102, 0, 4000, 1000, NULL), TA(KEEP_ALIVE_ACK));
}

static void window_full_at_the_edge(void **state)
{
    (void)state;
    handshake(1, 1);
    /* receiver shrinks its window to 300: that alone is a window update */
    assert_int_equal(send_seg(1, A, 2, 2, 0, 300, 1000, NULL), TA(WINDOW_UPDATE));
    assert_int_equal(send_seg(0, A, 2, 2, 200, 1000, 1000, NULL), 0);
    assert_int_equal(send_seg(0, A, 202, 2, 100, 1000, 1000, NULL), TA(WINDOW_FULL));
}

static void syn_rejected_and_reuse(void **state)
{
    (void)state;
    struct tcp_result r;
    send_seg(0, S, 5000, 0, 0, 1000, 0, NULL);
    send_seg(1, R | A, 0, 5001, 0, 0, 1000, &r);
    assert_true(r.syn_rejected);
    assert_true(r.closed);
    assert_int_equal(conv.state, TCP_ST_RESET);
    struct packet p;
    memset(&p, 0, sizeof(p));
    p.tcp.flags = S;
    p.tcp.seq = 9000;
    assert_true(tcp_is_port_reuse(&conv, 0, &p));
    p.tcp.seq = 5000;
    assert_false(tcp_is_port_reuse(&conv, 0, &p));
}

/* ACKed unseen segment, as tshark 4.0 reports it: an ACK across a hole in the other direction
 * is reported and moves the mark to the highest byte seen; an ACK beyond everything seen is
 * reported once, then not again until the other direction ACKs something new. */
static void acked_unseen_across_a_hole_then_beyond(void **state)
{
    (void)state;
    uint32_t c = 1000, s = 5000;
    handshake(c, s);
    assert_int_equal(send_seg(1, A, s + 1, c + 1, 100, 1000, 100, NULL), 0);
    assert_int_equal(send_seg(1, A, s + 201, c + 1, 100, 1000, 100, NULL), TA(LOST_SEGMENT));
    assert_int_equal(send_seg(0, A, c + 1, s + 201, 0, 1000, 100, NULL), TA(ACK_LOST_SEGMENT));
    assert_int_equal(send_seg(0, A, c + 1, s + 401, 0, 1000, 100, NULL), TA(ACK_LOST_SEGMENT));
    assert_int_equal(send_seg(0, A, c + 1, s + 501, 0, 1000, 100, NULL), 0); /* latched */
    assert_int_equal(send_seg(0, A, c + 1, s + 601, 10, 1000, 100, NULL), 0);
    /* The server ACKs the new bytes: its count restarts, and the next such ACK is reported. */
    assert_int_equal(send_seg(1, A, s + 301, c + 11, 0, 1000, 100, NULL), 0);
    assert_int_equal(send_seg(0, A, c + 11, s + 701, 0, 1000, 100, NULL), TA(ACK_LOST_SEGMENT));
}

/* Once an ACK of unseen data latched the other side's duplicate-ACK count, Wireshark's unsigned
 * counter reads as "two or more": a FIN sent again right after is a fast retransmission. */
static void fin_resent_after_acked_unseen_is_fast(void **state)
{
    (void)state;
    uint32_t c = 1000, s = 5000;
    handshake(c, s);
    assert_int_equal(send_seg(1, A | F, s + 1, c + 1, 0, 1000, 100, NULL), 0);
    assert_int_equal(send_seg(0, A, c + 1, s + 1, 100, 1000, 100, NULL), 0); /* FIN not ACKed */
    assert_int_equal(send_seg(1, A | F, s + 1, c + 301, 0, 1000, 100, NULL),
                     TA(ACK_LOST_SEGMENT) | TA(FAST_RETRANSMISSION));
}

/* The ACK completing the handshake is judged before the handshake RTT is known: against the
 * default 3 ms out-of-order threshold, as Wireshark does. */
static void handshake_ack_uses_the_default_threshold(void **state)
{
    (void)state;
    assert_int_equal(send_seg(0, S | F, 1000, 0, 6, 1000, 0, NULL), 0);
    assert_int_equal(send_seg(0, A, 990, 7, 9, 1000, 59000, NULL), TA(OUT_OF_ORDER));
}

/* A resumed conversation goes on from where the ended one stood, either way round. */
static void resume_keeps_the_sequence_state(void **state)
{
    (void)state;
    uint32_t c = 1000, s = 5000;
    handshake(c, s);
    assert_int_equal(send_seg(0, A, c + 1, s + 1, 400, 1000, 100, NULL), 0);
    assert_int_equal(send_seg(1, A, s + 1, c + 401, 0, 1000, 100, NULL), 0);
    assert_int_equal(send_seg(1, A | R, s + 1, c + 401, 0, 1000, 100, NULL), 0);
    struct tcp_conv ended = conv;
    tcp_conv_resume(&conv, &ended, 1); /* the server speaks first after the gap */
    assert_int_equal(conv.state, TCP_ST_NONE);
    assert_int_equal(conv.dir[0].rst_seen, 0);
    assert_int_equal(conv.handshake_done, 0); /* the new record saw no handshake */
    assert_true(conv.ts_first_rtt > 0);       /* but the out-of-order threshold stays */
    assert_int_equal(conv.dir[0].nextseq, s + 1);
    assert_int_equal(conv.dir[1].nextseq, c + 401);
    assert_int_equal(send_seg(1, A | TH_PUSH, c + 1, s + 1, 400, 1000, 1000000, NULL),
                     TA(SPURIOUS_RETRANSMISSION));
}

static void pool_exhaustion_is_counted(void **state)
{
    (void)state;
    handshake(1, 1);
    for (uint32_t i = 0; i < 100; i++)
        send_seg(0, A, 2 + i * 10, 2, 10, 1000, 10, NULL);
    assert_int_equal(conv.dir[0].unacked_count, 16); /* per-direction bound */
    tcp_conv_release(&conv, &pool);
    assert_int_equal(conv.dir[0].unacked_count, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(dup_acks_then_fast_retransmission_across_wrap, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(retransmission_out_of_order_spurious, setup, teardown),
        cmocka_unit_test_setup_teardown(zero_window_probe_update_keepalive, setup, teardown),
        cmocka_unit_test_setup_teardown(window_full_at_the_edge, setup, teardown),
        cmocka_unit_test_setup_teardown(syn_rejected_and_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(acked_unseen_across_a_hole_then_beyond, setup, teardown),
        cmocka_unit_test_setup_teardown(fin_resent_after_acked_unseen_is_fast, setup, teardown),
        cmocka_unit_test_setup_teardown(handshake_ack_uses_the_default_threshold, setup, teardown),
        cmocka_unit_test_setup_teardown(resume_keeps_the_sequence_state, setup, teardown),
        cmocka_unit_test_setup_teardown(pool_exhaustion_is_counted, setup, teardown),
    };
    return cmocka_run_group_tests_name("tcp_analysis", tests, NULL, NULL);
}
