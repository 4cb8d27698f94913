/* test_trading.c - the trading building blocks: TCP reassembly (in order, split, duplicate,
 * overlap, out of order, hole skipped on timeout and on a full buffer), FIX framing and
 * fields, MoldUDP64/ITCH and MDP 3.0 structure checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "../../agent/decode/decode.h"
#include "../../agent/detect/detect_burst.h"
#include "../../agent/event/event.h"
#include "../../agent/flow/flow_table.h"
#include "../../agent/trading/fix.h"
#include "../../agent/trading/mdp3.h"
#include "../../agent/trading/moldudp64.h"
#include "../../agent/trading/stream.h"
#include "../../agent/trading/trading_internal.h"

/* A consumer that takes whole "records": lines ending in '\n'. */
struct sink {
    char out[4096];
    size_t n;
    int holes;
};

static size_t take_lines(void *ctx, const uint8_t *data, size_t len, int after_hole, uint64_t ts)
{
    (void)ts;
    struct sink *s = ctx;
    s->holes += after_hole;
    size_t used = 0;
    for (size_t i = 0; i < len; i++)
        if (data[i] == '\n') {
            memcpy(s->out + s->n, data + used, i + 1 - used);
            s->n += i + 1 - used;
            used = i + 1;
        }
    s->out[s->n] = 0;
    return used;
}

struct rig {
    uint8_t buf[64];
    struct stream_dir d;
    struct stream_counters c;
    struct sink s;
    struct stream_cfg cfg;
};

static void rig_init(struct rig *r)
{
    memset(r, 0, sizeof(*r));
    stream_init(&r->d, r->buf, sizeof(r->buf));
    r->cfg.hole_timeout_ns = 100;
    r->cfg.deliver = take_lines;
    r->cfg.ctx = &r->s;
    r->cfg.ctr = &r->c;
    stream_segment(&r->d, &r->cfg, 999, TH_SYN, NULL, 0, 0, 0); /* data starts at 1000 */
}

static void seg(struct rig *r, uint32_t seq, const char *data, uint64_t ts)
{
    uint32_t n = (uint32_t)strlen(data);
    stream_segment(&r->d, &r->cfg, seq, TH_ACK, (const uint8_t *)data, n, n, ts);
}

static void stream_delivers_split_messages_once(void **state)
{
    (void)state;
    static struct rig r;
    rig_init(&r);
    seg(&r, 1000, "ab", 1);
    seg(&r, 1002, "c\nde", 2);
    seg(&r, 1000, "ab", 3); /* retransmission: dropped */
    seg(&r, 1006, "f\ng\n", 4);
    seg(&r, 1003, "\ndef\n", 5); /* wholly old again */
    assert_string_equal(r.s.out, "abc\ndef\ng\n");
    assert_int_equal(r.c.duplicates, 2);
    assert_int_equal(r.c.bytes_delivered, 10);
}

static void stream_trims_partial_overlap(void **state)
{
    (void)state;
    static struct rig r;
    rig_init(&r);
    seg(&r, 1000, "abc", 1);
    seg(&r, 1001, "bcd\n", 2); /* two bytes old, two new */
    assert_string_equal(r.s.out, "abcd\n");
    assert_int_equal(r.c.overlap_bytes, 2);
}

/* A segment exactly 2^31 bytes behind (a hostile or corrupt sequence number): old bytes, dropped
 * as a duplicate, its distance computed without signed overflow (found by fuzz_decode). */
static void stream_segment_half_the_sequence_space_behind(void **state)
{
    (void)state;
    static struct rig r;
    rig_init(&r);
    seg(&r, 1000, "ab\n", 1);
    seg(&r, 1003u - 0x80000000u, "xy\n", 2);
    assert_string_equal(r.s.out, "ab\n");
    assert_int_equal(r.c.duplicates, 1);
}

static void stream_reorders_held_segments(void **state)
{
    (void)state;
    static struct rig r;
    rig_init(&r);
    seg(&r, 1004, "ef\n", 1); /* early */
    seg(&r, 1002, "cd", 2);   /* early too */
    assert_int_equal(r.s.n, 0);
    assert_int_equal(r.c.ooo_held, 2);
    seg(&r, 1000, "ab", 3);
    assert_string_equal(r.s.out, "abcdef\n");
    assert_int_equal(r.c.holes_skipped, 0);
    assert_int_equal(r.s.holes, 0);
}

static void stream_skips_a_hole_after_the_timeout(void **state)
{
    (void)state;
    static struct rig r;
    rig_init(&r);
    seg(&r, 1000, "x\n", 1);
    seg(&r, 1005, "y\n", 2); /* 1002..1004 never come */
    seg(&r, 1007, "z\n", 50);
    assert_string_equal(r.s.out, "x\n");
    seg(&r, 1009, "w\n", 200); /* past the timeout: the hole is given up */
    assert_string_equal(r.s.out, "x\ny\nz\nw\n");
    assert_int_equal(r.c.holes_skipped, 1);
    assert_int_equal(r.c.hole_bytes, 3);
    assert_int_equal(r.s.holes, 1);
}

static void stream_skips_when_the_buffer_cannot_hold(void **state)
{
    (void)state;
    static struct rig r;
    rig_init(&r);
    seg(&r, 1000, "a\n", 1);
    seg(&r, 1002 + 100, "far\n", 2); /* beyond the 64-byte buffer: no waiting */
    assert_string_equal(r.s.out, "a\nfar\n");
    assert_int_equal(r.c.holes_skipped, 1);
    assert_int_equal(r.c.hole_bytes, 100);
}

static void stream_finish_delivers_what_follows_holes(void **state)
{
    (void)state;
    static struct rig r;
    rig_init(&r);
    seg(&r, 1003, "b\n", 1);
    seg(&r, 1000, "pa", 2); /* an incomplete record, then a hole of one byte */
    stream_finish(&r.d, &r.cfg, 3);
    assert_string_equal(r.s.out, "b\n");
    assert_int_equal(r.c.discarded_bytes, 2);
    assert_int_equal(r.c.holes_skipped, 1);
}

static void stream_sequence_numbers_wrap(void **state)
{
    (void)state;
    static struct rig r;
    rig_init(&r);
    stream_segment(&r.d, &r.cfg, 0xfffffffeu, TH_SYN, NULL, 0, 0, 0);
    seg(&r, 0xffffffffu, "ab", 1);
    seg(&r, 1, "c\n", 2);
    assert_string_equal(r.s.out, "abc\n");
}

/* --- FIX ---------------------------------------------------------------------------- */

static size_t fix_build(char *out, const char *body)
{
    char b[512];
    size_t n = 0;
    for (const char *p = body; *p; p++)
        b[n++] = *p == '|' ? 1 : *p;
    b[n] = 0;
    int h = sprintf(out, "8=FIX.4.4\0019=%zu\001%s", n, b);
    unsigned sum = 0;
    for (int i = 0; i < h; i++)
        sum += (uint8_t)out[i];
    h += sprintf(out + h, "10=%03u\001", sum % 256);
    return (size_t)h;
}

static void fix_frames_and_parses(void **state)
{
    (void)state;
    char m[600];
    size_t n = fix_build(m, "35=8|34=12|49=EX|56=CL|11=ORD1|39=8|150=8|103=5|58=No|43=Y|");
    size_t ml = 0;
    assert_int_equal(fix_frame((uint8_t *)m, n, 4096, &ml), FIX_FRAME_OK);
    assert_int_equal(ml, n);
    assert_int_equal(fix_frame((uint8_t *)m, n - 1, 4096, &ml), FIX_FRAME_NEED_MORE);
    assert_int_equal(fix_frame((uint8_t *)m, 3, 4096, &ml), FIX_FRAME_NEED_MORE);
    struct fix_msg f;
    assert_int_equal(fix_parse((uint8_t *)m, n, &f), 0);
    assert_int_equal(fix_type1(&f), '8');
    assert_int_equal(f.seq, 12);
    assert_int_equal(f.ord_status, '8');
    assert_int_equal(f.ord_rej_reason, 5);
    assert_int_equal(f.poss_dup, 1);
    assert_int_equal(f.text.len, 2);
    assert_memory_equal(fix_at(&f, f.clordid), "ORD1", 4);
    assert_int_equal(f.biz_rej_reason, -1);
    m[n - 3] ^= 1; /* a checksum digit */
    assert_int_equal(fix_frame((uint8_t *)m, n, 4096, &ml), FIX_FRAME_BAD_CHECKSUM);
    m[n - 3] = 'x'; /* not a digit: not a trailer */
    assert_int_equal(fix_frame((uint8_t *)m, n, 4096, &ml), FIX_FRAME_GARBAGE);
    fix_build(m, "35=8|34=12|49=EX|56=CL|11=ORD1|39=8|150=8|103=5|58=No|43=Y|");
    m[n - 10] ^= 0x20; /* a body byte: framed, checksum wrong */
    assert_int_equal(fix_frame((uint8_t *)m, n, 4096, &ml), FIX_FRAME_BAD_CHECKSUM);
    assert_int_equal(fix_frame((uint8_t *)m, n, 20, &ml), FIX_FRAME_GARBAGE); /* too big */
    assert_int_equal(fix_frame((const uint8_t *)"HTTP/1.1", 8, 4096, &ml), FIX_FRAME_GARBAGE);
    /* BeginString: its SOH may come at byte 32 at the latest; before it, more may come */
    char begin[80];
    memset(begin, 'X', sizeof(begin));
    memcpy(begin, "8=FIX", 5);
    assert_int_equal(fix_frame((uint8_t *)begin, 32, 4096, &ml), FIX_FRAME_NEED_MORE);
    assert_int_equal(fix_frame((uint8_t *)begin, 33, 4096, &ml), FIX_FRAME_GARBAGE);
    assert_int_equal(fix_frame((uint8_t *)begin, 80, 4096, &ml), FIX_FRAME_GARBAGE);
    begin[32] = 1;
    assert_int_equal(fix_frame((uint8_t *)begin, 35, 4096, &ml), FIX_FRAME_NEED_MORE);
    assert_int_equal(fix_frame((uint8_t *)begin, 36, 4096, &ml), FIX_FRAME_GARBAGE); /* no 9= */
    const char junk[] = "xx8=FIX.4";
    assert_int_equal(fix_find_start((const uint8_t *)junk, 9, 0), 2);
    assert_int_equal(fix_find_start((const uint8_t *)"abc8=F", 6, 0), 3);
    assert_int_equal(fix_find_start((const uint8_t *)"abc", 3, 0), 3);
}

/* A naive walk, byte by byte: what fix_parse must agree with for every field it keeps. */
static int naive_fix_seq(const uint8_t *m, size_t n, uint32_t *seq, size_t *clordid_off)
{
    size_t i = 0;
    while (i < n) {
        uint32_t tag = 0, tl = 0;
        while (i < n && m[i] >= '0' && m[i] <= '9') {
            if (++tl > 6) return -1;
            tag = tag * 10 + (uint32_t)(m[i++] - '0');
        }
        if (!tl || i >= n || m[i++] != '=') return -1;
        size_t v = i;
        while (i < n && m[i] != 1)
            i++;
        if (i >= n) return -1;
        if (tag == 34) {
            *seq = 0;
            for (size_t k = v; k < i && k < v + 10; k++)
                *seq = *seq * 10 + (uint32_t)(m[k] - '0');
        }
        if (tag == 11) *clordid_off = v;
        i++;
    }
    return 0;
}

/* fix_parse keeps the offsets a plain reference walk finds: random tags, empty and long values,
 * messages up to 3000 bytes, malformed tails. */
static void fix_parse_agrees_with_a_byte_walk(void **state)
{
    (void)state;
    static uint8_t m[3000];
    uint32_t rng = 12345;
    for (int round = 0; round < 2000; round++) {
        size_t n = 0;
        int fields = 1 + round % 60;
        for (int f = 0; f < fields && n < sizeof(m) - 64; f++) {
            rng = rng * 1103515245u + 12345u;
            int tag = f == fields / 2 ? 34 : f == fields / 3 ? 11 : 100 + (int)(rng >> 20) % 900;
            n += (size_t)sprintf((char *)m + n, "%d=", tag);
            size_t vl = (rng >> 8) % (round % 7 == 0 ? 70 : 9);
            if (tag == 34 && vl > 9) vl = 9; /* a sequence number fits 32 bits */
            for (size_t k = 0; k < vl; k++)
                m[n++] =
                    tag == 34 ? (uint8_t)('0' + (k + (size_t)round) % 10) : (uint8_t)('A' + k % 26);
            m[n++] = 1;
        }
        size_t cut = round % 5 == 0 ? n - (size_t)(round % 3) : n; /* sometimes no final SOH */
        struct fix_msg f;
        uint32_t seq = 0;
        size_t cl = 0;
        int want = naive_fix_seq(m, cut, &seq, &cl);
        assert_int_equal(fix_parse(m, cut, &f), want);
        if (want == 0) {
            assert_int_equal(f.seq, seq);
            if (f.clordid.len) assert_int_equal(f.clordid.off, cl);
        }
    }
    /* one byte that is not a digit where a tag belongs ends the walk */
    assert_int_equal(fix_parse((const uint8_t *)"35=D\001x=1\001", 9, &(struct fix_msg){0}), -1);
}

/* A trading analyzer with the default settings but for its pending-order table, and no
 * event sink; its stats and counters are rig_st and rig_counters. */
static struct trading_config rig_tc;
static struct trading_stats rig_st;
static uint64_t rig_counters[TT_C_MAX];
static struct trading rig_t;

static struct trading *order_rig(uint32_t pending_orders)
{
    char err[256];
    trading_config_defaults(&rig_tc);
    rig_tc.pending_orders = pending_orders;
    assert_int_equal(trading_config_finish(&rig_tc, err, sizeof(err)), 0);
    assert_int_equal(trading_stats_init(&rig_st), 0);
    memset(rig_counters, 0, sizeof(rig_counters));
    struct trading_emit emit = {0};
    assert_int_equal(trading_init(&rig_t, &rig_tc, &rig_st, rig_counters, &emit), 0);
    return &rig_t;
}

static void order_rig_fini(void)
{
    trading_fini(&rig_t);
    trading_stats_fini(&rig_st);
}

/* The pending-order table is bounded: an order with no room evicts the oldest in its probe
 * window, counted (trading.orders_evicted) and as unanswered; only orders still held get a
 * latency when their answer comes. */
static void full_order_table_evicts_and_counts(void **state)
{
    (void)state;
    struct trading *t = order_rig(64);
    struct trading_stats *st = &rig_st;
    uint64_t *counters = rig_counters;
    assert_int_equal(t->orders_mask + 1, 64);
    enum { ORDERS = 200 };
    for (uint64_t i = 1; i <= ORDERS; i++)
        trading_order_add(t, i * 0x9e3779b97f4a7c15ull | 1, i * 1000, TRADING_NONE, OP_NEW);
    uint64_t held = 0;
    for (uint32_t i = 0; i <= t->orders_mask; i++)
        held += t->orders[i].key != 0;
    uint64_t evicted = counters[TT_C_TRADING_ORDERS_EVICTED];
    assert_true(held <= 64 && held > 32);
    assert_int_equal(evicted + held, ORDERS);
    assert_int_equal(t->scratch->unanswered, evicted);
    for (uint64_t i = 1; i <= ORDERS; i++)
        trading_order_answered(t, i * 0x9e3779b97f4a7c15ull | 1, i * 1000 + 500);
    assert_int_equal(st->order_latency[OP_NEW].n, held);
    assert_int_equal(st->order_latency[OP_NEW].max, 500);
    order_rig_fini();
}

/* A large configured table has a small one in front: orders answered quickly never leave it;
 * when it is full they go to the large one, a key is held once wherever it is, and the end
 * counts what is left in both as unanswered. */
static void pending_orders_try_the_small_table_first(void **state)
{
    (void)state;
    struct trading *t = order_rig(8192);
    struct trading_stats *st = &rig_st;
    uint64_t *counters = rig_counters;
    assert_non_null(t->orders_hot);
    enum { N = 3000 }; /* more than the small table holds */
    for (uint64_t i = 1; i <= N; i++)
        trading_order_add(t, i * 0x9e3779b97f4a7c15ull | 1, i * 10, TRADING_NONE, OP_NEW);
    assert_true(t->hot_pending > 900 && t->hot_pending <= 1024);
    assert_int_equal(t->hot_pending + t->orders_pending, N);
    /* sent again: the same slot, wherever it is */
    for (uint64_t i = 1; i <= N; i++)
        trading_order_add(t, i * 0x9e3779b97f4a7c15ull | 1, i * 10, TRADING_NONE, OP_NEW);
    assert_int_equal(t->hot_pending + t->orders_pending, N);
    for (uint64_t i = 1; i <= N; i += 2) /* half answered, 7 ns after */
        trading_order_answered(t, i * 0x9e3779b97f4a7c15ull | 1, i * 10 + 7);
    assert_int_equal(st->order_latency[OP_NEW].n, N / 2);
    assert_int_equal(st->order_latency[OP_NEW].max, 7);
    assert_int_equal(t->hot_pending + t->orders_pending, N / 2);
    trading_order_answered(t, 12345, 1); /* unknown: nothing */
    assert_int_equal(st->order_latency[OP_NEW].n, N / 2);
    assert_int_equal(counters[TT_C_TRADING_ORDERS_EVICTED], 0);
    trading_flush(t, 0);
    assert_int_equal(t->scratch->unanswered, N / 2);
    assert_int_equal(t->hot_pending + t->orders_pending, 0);
    order_rig_fini();
}

/* --- market data -------------------------------------------------------------------- */

/* The MoldUDP64 structure as the protocol spec reads: header, then blocks one by one. */
static int naive_mold_ok(const uint8_t *p, size_t len)
{
    if (len < 20) return 0;
    unsigned count = (unsigned)p[18] << 8 | p[19], n = 0;
    size_t off = 20;
    if (count == 0 || count == 0xffff) return len == 20;
    while (off < len) {
        if (len - off < 2) return 0;
        size_t l = (size_t)p[off] << 8 | p[off + 1];
        if (l == 0 || l > len - off - 2) return 0;
        off += 2 + l;
        n++;
    }
    return n == count;
}

/* mold_parse (the analyzer's) and the steering key (the dispatcher's) judge a packet alike,
 * as the reference walk does: random counts, block lengths and cuts, heartbeats. */
static void mold_checks_agree_with_a_block_walk(void **state)
{
    (void)state;
    static struct trading_config tc;
    char err[256];
    trading_config_defaults(&tc);
    assert_int_equal(trading_config_finish(&tc, err, sizeof(err)), 0);
    uint8_t p[600], group[16] = {[10] = 0xff, [11] = 0xff, [12] = 233, [15] = 7};
    uint32_t rng = 777;
    int ok = 0;
    for (int round = 0; round < 5000; round++) {
        memset(p, 0, sizeof(p));
        memcpy(p, "SESS000000", 10);
        p[9] = (uint8_t)('0' + round % 10);
        rng = rng * 1103515245u + 12345u;
        unsigned blocks = (rng >> 16) % 6, count = round % 11 == 0 ? 0xffff : blocks;
        if (round % 7 == 0) count = (blocks + (rng >> 8) % 3 - 1) & 0xffff; /* one off */
        p[18] = (uint8_t)(count >> 8);
        p[19] = (uint8_t)count;
        size_t n = 20;
        for (unsigned b = 0; b < blocks; b++) {
            rng = rng * 1103515245u + 12345u;
            size_t l = round % 13 == 0 && b == 0 ? 0 : 1 + (rng >> 20) % 60;
            p[n] = (uint8_t)(l >> 8);
            p[n + 1] = (uint8_t)l;
            n += 2 + l;
        }
        size_t len = round % 5 == 0 ? n - (size_t)(round % 4) : n + (round % 9 == 0);
        int want = naive_mold_ok(p, len);
        ok += want;
        struct mold_packet mp;
        assert_int_equal(mold_parse(p, len, &mp) == 0, want);
        uint64_t key = trading_steer_key(&tc, group, 26400, p, len);
        assert_int_equal(key != 0, want);
        if (want) {
            assert_int_equal(mp.count, count);
            assert_int_equal(mp.msgs_len, len - 20);
            p[9] ^= 1; /* another session name, another key */
            assert_true(trading_steer_key(&tc, group, 26400, p, len) != key);
        }
    }
    assert_true(ok > 1000 && ok < 4500); /* both verdicts well exercised */
    group[12] = 10; /* not multicast, not a configured port: never steered by session */
    p[18] = 0;
    p[19] = 0;
    assert_int_equal(trading_steer_key(&tc, group, 26400, p, 20), 0);
}

static void mold_and_itch_structure(void **state)
{
    (void)state;
    uint8_t p[64] = "SESSION001";
    p[17] = 42; /* seq 42 */
    p[19] = 1;  /* count 1 */
    p[21] = 19; /* one 19-byte message */
    p[22] = 'D';
    p[27 + 5] = 7; /* timestamp low byte */
    struct mold_packet mp;
    assert_int_equal(mold_parse(p, 20 + 2 + 19, &mp), 0);
    assert_int_equal(mp.seq, 42);
    assert_int_equal(mp.count, 1);
    assert_true(itch_plausible(&mp));
    size_t off = 0;
    const uint8_t *m = NULL;
    size_t ml = 0;
    assert_int_equal(mold_next_message(&mp, &off, &m, &ml), 1);
    assert_int_equal(ml, 19);
    assert_int_equal(itch_timestamp(m, ml), 7);
    assert_int_equal(mold_parse(p, 20 + 2 + 18, &mp), -1);     /* block runs past the end */
    assert_int_equal(mold_parse(p, 20 + 2 + 19 + 1, &mp), -1); /* trailing byte */
    p[22] = 'A'; /* an Add Order is 36 bytes, not 19 */
    assert_int_equal(mold_parse(p, 41, &mp), 0);
    assert_false(itch_plausible(&mp));
    p[19] = 0; /* heartbeat: no blocks */
    assert_int_equal(mold_parse(p, 20, &mp), 0);
    assert_int_equal(mold_parse(p, 19, &mp), -1);
}

static void mdp3_structure(void **state)
{
    (void)state;
    uint8_t p[12 + 32] = {0x39, 0x30, 0, 0}; /* seq 12345 */
    p[4] = 1;                                /* sending time 1 */
    uint8_t *m = p + 12;
    m[0] = 32; /* size */
    m[2] = 11; /* block length */
    m[4] = 46; /* template */
    m[6] = 1;  /* schema 1 */
    m[8] = 9;  /* version */
    struct mdp3_packet dp;
    assert_int_equal(mdp3_parse(p, sizeof(p), &dp), 0);
    assert_int_equal(dp.seq, 12345);
    assert_int_equal(dp.sending_time, 1);
    size_t off = 0;
    uint16_t tid;
    assert_int_equal(mdp3_next_message(&dp, &off, &tid), 1);
    assert_int_equal(tid, 46);
    assert_int_equal(mdp3_next_message(&dp, &off, &tid), 0);
    m[6] = 2; /* another schema: not MDP3 */
    assert_int_equal(mdp3_parse(p, sizeof(p), &dp), -1);
    m[6] = 1;
    assert_int_equal(mdp3_parse(p, sizeof(p) - 1, &dp), -1);
}

/* A/B arbitration: a feed's loss is an arbitration loss when another feed is there, even
 * when the other feed's first packet comes after the loss (live, the port read first decides
 * that), as long as it comes within the window; the message no feed lost is no gap. */
static struct event md_events[16];
static int md_nevents;

static struct event *md_reserve(void *ctx, enum event_type type)
{
    (void)ctx;
    assert_true(md_nevents < 16);
    memset(&md_events[md_nevents], 0, sizeof(md_events[0]));
    md_events[md_nevents].type = (uint16_t)type;
    return &md_events[md_nevents];
}

static void md_commit(void *ctx)
{
    (void)ctx;
    md_nevents++;
}

static void mold_send(struct trading *t, struct flow *f, uint8_t group, uint64_t seq, uint64_t ts)
{
    uint8_t p[20 + 2 + 8] = "NASDAQTV01";
    for (int i = 0; i < 8; i++)
        p[10 + i] = (uint8_t)(seq >> (56 - 8 * i));
    p[19] = 1;   /* one message */
    p[21] = 8;   /* of 8 bytes */
    p[22] = 'S'; /* system event */
    struct packet pkt = {.ts_ns = ts, .has_l4 = 1, .payload = p, .payload_len = sizeof(p)};
    pkt.key.family = 4;
    pkt.key.proto = 17;
    pkt.key.dport = 26477;
    memcpy(pkt.key.dst + 12, (uint8_t[]){233, 54, 12, group}, 4);
    f->key = pkt.key;
    trading_udp(t, f, 0, &pkt);
}

static int md_count(enum event_type type)
{
    int n = 0;
    for (int i = 0; i < md_nevents; i++)
        n += md_events[i].type == type;
    return n;
}

static void arbitration_loss_does_not_depend_on_which_feed_comes_first(void **state)
{
    (void)state;
    static struct trading_config tc;
    char err[256];
    trading_config_defaults(&tc);
    tc.arbitration_window_ns = 1000000;
    assert_int_equal(trading_config_finish(&tc, err, sizeof(err)), 0);
    static struct trading_stats st;
    static uint64_t counters[TT_C_MAX];
    struct trading_emit emit = {md_reserve, md_commit, NULL, NULL};
    static struct trading t;
    /* round 0: B starts within the window after A lost message 3; round 1: B starts too late
     * (A alone when it lost it); round 2: A lost more than the session keeps (the oldest are
     * given up, counted) */
    for (int round = 0; round < 3; round++) {
        md_nevents = 0;
        memset(counters, 0, sizeof(counters));
        assert_int_equal(trading_stats_init(&st), 0);
        assert_int_equal(trading_init(&t, &tc, &st, counters, &emit), 0);
        struct flow a = {.id = 1, .app_kind = APP_MOLD, .app = TRADING_NONE};
        struct flow b = {.id = 2, .app_kind = APP_MOLD, .app = TRADING_NONE};
        uint64_t losses = round == 2 ? MD_UNPAIRED_MAX + 2 : 1, seq = 1, ts = 1000;
        for (uint64_t i = 0; i <= losses; i++, seq += 2, ts += 1000)
            mold_send(&t, &a, 1, seq, ts); /* A: 1, 3, 5, ...: 2, 4, ... lost */
        uint64_t b_start = ts + (round == 1 ? 2000000 : 500000);
        for (uint64_t s = 1; s < seq; s++)
            mold_send(&t, &b, 2, s, b_start + s);
        trading_flush(&t, b_start + seq);
        if (round == 1) { /* B came after the window: A's loss was the session's */
            assert_int_equal(md_count(EV_MD_ARBITRATION_LOSS), 0);
            assert_int_equal(md_count(EV_MD_GAP), 1);
        } else {
            uint64_t kept = losses < MD_UNPAIRED_MAX ? losses : MD_UNPAIRED_MAX;
            assert_int_equal(md_count(EV_MD_ARBITRATION_LOSS), kept);
            assert_int_equal(md_count(EV_MD_GAP), 0);
            assert_int_equal(counters[TT_C_TRADING_FEED_LOSSES_DROPPED], losses - kept);
            /* the newest kept: A's flow, its own time and sequence number */
            const struct event *e = &md_events[kept - 1];
            assert_int_equal(e->type, EV_MD_ARBITRATION_LOSS);
            assert_int_equal(e->flow_id, 1);
            assert_int_equal(e->ts_ns, 1000 + 1000 * losses);
            assert_int_equal(e->u.md.first_seq, 2 * losses);
            assert_int_equal(e->u.md.count, 1);
            assert_string_equal(e->u.md.feed, "A 233.54.12.1:26477");
        }
        trading_fini(&t);
        trading_stats_fini(&st);
    }
}

/* --- microbursts ---------------------------------------------------------------------- */

static void bursts_merge_windows_and_end_when_traffic_falls(void **state)
{
    (void)state;
    static struct burst_detector d;
    burst_init(&d, 100000, 10000000000ull, 0.5); /* 62,500 bytes per 100 us */
    assert_int_equal(d.threshold_bytes, 62500);
    struct burst b = {0};
    uint64_t t = 1000000000;
    for (int i = 0; i < 100; i++) /* 8 Gb/s for 100 us */
        assert_int_equal(burst_feed(&d, t + (uint64_t)i * 1000, 1000, &b), 0);
    for (int i = 0; i < 10; i++) /* then a trickle: the window empties, the burst ends */
        if (burst_feed(&d, t + 250000 + (uint64_t)i * 50000, 100, &b)) break;
    assert_int_equal(d.bursts, 1);
    assert_int_equal(b.start_ns, t);
    assert_int_equal(b.end_ns - b.start_ns, 99000);
    assert_int_equal(b.bytes, 100000);
    assert_int_equal(b.frames, 100);
    assert_int_equal(b.peak_bytes, 100000);
    assert_int_equal(burst_finish(&d, &b), 0);
    /* one still running at the end is reported by finish */
    for (int i = 0; i < 80; i++)
        burst_feed(&d, t + 10000000 + (uint64_t)i * 1000, 1000, &b);
    assert_int_equal(burst_finish(&d, &b), 1);
    assert_int_equal(b.frames, 80); /* from the first frame of the first window */
}

static void bursts_off_when_no_link_rate(void **state)
{
    (void)state;
    static struct burst_detector d;
    burst_init(&d, 100000, 0, 0.5);
    struct burst b = {0};
    for (int i = 0; i < 1000; i++)
        assert_int_equal(burst_feed(&d, (uint64_t)i, 9000, &b), 0);
    assert_int_equal(burst_finish(&d, &b), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stream_delivers_split_messages_once),
        cmocka_unit_test(stream_trims_partial_overlap),
        cmocka_unit_test(stream_segment_half_the_sequence_space_behind),
        cmocka_unit_test(stream_reorders_held_segments),
        cmocka_unit_test(stream_skips_a_hole_after_the_timeout),
        cmocka_unit_test(stream_skips_when_the_buffer_cannot_hold),
        cmocka_unit_test(stream_finish_delivers_what_follows_holes),
        cmocka_unit_test(stream_sequence_numbers_wrap),
        cmocka_unit_test(fix_frames_and_parses),
        cmocka_unit_test(fix_parse_agrees_with_a_byte_walk),
        cmocka_unit_test(full_order_table_evicts_and_counts),
        cmocka_unit_test(pending_orders_try_the_small_table_first),
        cmocka_unit_test(mold_and_itch_structure),
        cmocka_unit_test(mold_checks_agree_with_a_block_walk),
        cmocka_unit_test(mdp3_structure),
        cmocka_unit_test(arbitration_loss_does_not_depend_on_which_feed_comes_first),
        cmocka_unit_test(bursts_merge_windows_and_end_when_traffic_falls),
        cmocka_unit_test(bursts_off_when_no_link_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
