/* test_worker.c - a worker's life cycle: worker_reset() leaves nothing of an earlier input
 * behind (the fuzzers rely on it to run one worker over many inputs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <stdio.h>
#include <unistd.h>

#include "../../agent/capture/capture.h"
#include "../../agent/pipeline/worker.h"
#include "../gen/pcapw.h"

/* What a run left: its counts and its events in order. */
struct outcome {
    uint64_t packets, bytes, flows, resets, counters[TT_C_MAX], tcp_flags[TA_BIT_MAX];
    uint64_t rtt_n, handshake_n;
    uint32_t nevents;
    struct {
        uint64_t frame, flow_id;
        uint16_t type;
    } ev[256];
};

/* A connection from client port cport: handshake, n data segments of which the third is sent
 * twice (a retransmission), then a reset. */
static int connection(struct frame *out, struct buf *bufs, int at, uint16_t cport, int n,
                      uint64_t t0)
{
    struct ipaddrs a;
    ipaddrs_set(&a, "10.9.0.1", "10.9.0.2");
    int k = at;
    uint32_t cseq = 1000, sseq = 5000;
#define FRAME(FROM_CLIENT, FLAGS, SEQ, ACK, LEN)                                                   \
    do {                                                                                           \
        struct buf *b = &bufs[k];                                                                  \
        struct ipaddrs x = a;                                                                      \
        if (!(FROM_CLIENT)) ipaddrs_swap(&x);                                                      \
        b->n = 0;                                                                                  \
        build_eth(b, NULL, 0, 0x0800);                                                             \
        build_ip(b, &x, 6, 20 + (LEN), (uint16_t)k, 0, 0);                                         \
        build_tcp(b, (FROM_CLIENT) ? cport : 9001, (FROM_CLIENT) ? 9001 : cport, SEQ, ACK, FLAGS,  \
                  65535, NULL);                                                                    \
        putzero(b, LEN);                                                                           \
        out[k] = (struct frame){.ts_ns = t0 + (uint64_t)k * 1000,                                  \
                                .ordinal = (uint64_t)k + 1,                                        \
                                .data = b->b,                                                      \
                                .caplen = (uint32_t)b->n,                                          \
                                .wirelen = (uint32_t)b->n,                                         \
                                .linktype = 1};                                                    \
        k++;                                                                                       \
    } while (0)
    FRAME(1, 0x02, cseq, 0, 0);
    FRAME(0, 0x12, sseq, cseq + 1, 0);
    FRAME(1, 0x10, cseq + 1, sseq + 1, 0);
    cseq++;
    for (int i = 0; i < n; i++) {
        FRAME(1, 0x18, cseq, sseq + 1, 100);
        if (i == 2) FRAME(1, 0x18, cseq, sseq + 1, 100);
        cseq += 100;
        FRAME(0, 0x10, sseq + 1, cseq, 0);
    }
    FRAME(1, 0x04, cseq, 0, 0);
#undef FRAME
    return k - at;
}

/* One IPv4 fragment of a UDP datagram (id 77): the first (offset 0, more to come) or the last. */
static int fragment(struct frame *out, struct buf *bufs, int at, int last, uint64_t t)
{
    struct ipaddrs a;
    ipaddrs_set(&a, "10.9.0.7", "10.9.0.8");
    struct buf *b = &bufs[at];
    b->n = 0;
    build_eth(b, NULL, 0, 0x0800);
    build_ip(b, &a, 17, 800, 77, last ? 800 : 0, !last);
    if (!last) build_udp(b, 30000, 30001, 1592);
    putzero(b, last ? 800 : 792);
    out[at] = (struct frame){.ts_ns = t, .ordinal = (uint64_t)at + 1, .data = b->b,
                             .caplen = (uint32_t)b->n, .wirelen = (uint32_t)b->n, .linktype = 1};
    return 1;
}

/* Takes the worker's pending events into o, in order. */
static void drain(struct worker *w, struct outcome *o)
{
    struct event *e;
    while ((e = spsc_ring_peek(&w->events))) {
        if (o->nevents < 256) {
            o->ev[o->nevents].frame = e->frame;
            o->ev[o->nevents].flow_id = e->flow_id;
            o->ev[o->nevents].type = e->type;
            o->nevents++;
        }
        spsc_ring_pop(&w->events);
    }
}

static void run(struct worker *w, const struct frame *f, int n, struct outcome *o)
{
    memset(o, 0, sizeof(*o));
    for (int i = 0; i < n; i++) {
        worker_process_frame(w, &f[i]);
        drain(w, o);
    }
    worker_flush(w);
    drain(w, o);
    const struct tt_stats *st = &w->st;
    o->packets = st->packets;
    o->bytes = st->bytes;
    o->flows = st->flows_created;
    o->resets = st->resets;
    memcpy(o->counters, st->counters, sizeof(o->counters));
    memcpy(o->tcp_flags, st->tcp_flags, sizeof(o->tcp_flags));
    o->rtt_n = st->rtt.n;
    o->handshake_n = st->handshake.n;
}

static void reset_worker_gives_a_fresh_workers_output(void **state)
{
    (void)state;
    static struct buf bufs[200];
    static struct frame first[100], second[100];
    struct tt_config cfg;
    config_defaults(&cfg);
    cfg.flow.max_flows = 64;
    /* the first input: two connections left open (no flush between them and the second) */
    int n1 = connection(first, bufs, 0, 40001, 6, 1000000000ull);
    n1 += connection(first, bufs, n1, 40002, 4, 1000000000ull);
    n1--; /* the second connection's reset is never seen: its flow stays open */
    n1 += fragment(first, bufs, n1, 0, 1000500000ull); /* a datagram's first half, held */
    int n2 =
        connection(second, bufs + 100, 0, 40001, 5, 1000000000ull); /* a 5-tuple of the first */
    n2 += fragment(second, bufs + 100, n2, 1, 1000600000ull); /* its second half, alone */

    struct worker *fresh = malloc(sizeof(*fresh)), *reused = malloc(sizeof(*reused));
    assert_int_equal(worker_init(fresh, 0, &cfg), 0);
    assert_int_equal(worker_init(reused, 0, &cfg), 0);
    static struct outcome want, got, before;
    run(fresh, second, n2, &want);
    run(reused, first, n1, &before);
    assert_true(before.packets > 0 && before.nevents > 0);
    assert_int_equal(worker_reset(reused), 0);
    run(reused, second, n2, &got);
    assert_true(want.packets == (uint64_t)n2 && want.nevents > 0);
    assert_true(want.tcp_flags[TA_BIT_RETRANSMISSION] == 1);
    assert_memory_equal(&want, &got, sizeof(want));
    worker_fini(fresh);
    worker_fini(reused);
    free(fresh);
    free(reused);
}

/* Runs the generator's scenario through w (ttgen is in this binary's parent folder), flushed
 * at the end or left as it is. */
static void run_scenario(struct worker *w, const char *scenario, int flush, struct outcome *o)
{
    char self[4096], cmd[8192], path[64];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    assert_true(n > 0);
    self[n] = 0;
    *strrchr(self, '/') = 0; /* BUILD/tests */
    snprintf(path, sizeof(path), "/tmp/test_worker.%d.pcap", (int)getpid());
    snprintf(cmd, sizeof(cmd), "'%s/../ttgen' %s %s > /dev/null", self, scenario, path);
    assert_int_equal(system(cmd), 0);
    const struct capture_ops *ops = capture_find("pcap-file");
    const char *paths[1] = {path};
    struct capture *cap;
    char err[256];
    assert_int_equal(ops->open(&cap, paths, 1, NULL, err, sizeof(err)), 0);
    memset(o, 0, sizeof(*o));
    struct frame frames[64];
    int got;
    while ((got = ops->rx_burst(cap, frames, 64, err, sizeof(err))) > 0)
        for (int i = 0; i < got; i++) {
            worker_process_frame(w, &frames[i]);
            drain(w, o);
        }
    ops->close(cap);
    if (flush) worker_flush(w);
    drain(w, o);
    o->packets = w->st.packets;
    o->flows = w->st.flows_created;
    memcpy(o->counters, w->st.counters, sizeof(o->counters));
    memcpy(o->tcp_flags, w->st.tcp_flags, sizeof(o->tcp_flags));
    o->rtt_n = w->st.rtt.n;
    snprintf(cmd, sizeof(cmd), "rm -f %s %s.*.json", path, path);
    assert_int_equal(system(cmd), 0);
}

/* Fragments, tunnels, FIX sessions with pending orders and market-data feeds with holes, left
 * half-done by one input (no flush), leave nothing behind for the next. */
static void reset_forgets_fragments_sessions_and_feeds(void **state)
{
    (void)state;
    /* the same packets twice: what the first left would meet the second's flows, sessions,
     * feeds and datagrams, and fill the tables (sized to what one run needs) */
    static const char *const pairs[][2] = {{"trading_fix_md", "trading_fix_md"},
                                           {"md_gaps", "md_gaps"},
                                           {"fragments", "fragments"},
                                           {"resume", "resume"},
                                           {"trading_demo", "tunnels"}};
    struct tt_config cfg;
    config_defaults(&cfg);
    cfg.flow.max_flows = 4096;
    cfg.trading.max_sessions = 4;
    cfg.trading.md_sessions = 4;
    cfg.decode.frag_slots = 2;
    cfg.tcp_seg_pool = 32;
    cfg.tcp_recall = 16;
    struct worker *fresh = malloc(sizeof(*fresh)), *reused = malloc(sizeof(*reused));
    static struct outcome want, got, before;
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        assert_int_equal(worker_init(fresh, 0, &cfg), 0);
        assert_int_equal(worker_init(reused, 0, &cfg), 0);
        run_scenario(fresh, pairs[i][1], 1, &want);
        run_scenario(reused, pairs[i][0], 0, &before);
        assert_true(before.packets > 0);
        assert_int_equal(worker_reset(reused), 0);
        run_scenario(reused, pairs[i][1], 1, &got);
        assert_true(want.packets > 0 && want.nevents > 0);
        assert_memory_equal(&want, &got, sizeof(want));
        worker_fini(fresh);
        worker_fini(reused);
    }
    free(fresh);
    free(reused);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reset_worker_gives_a_fresh_workers_output),
        cmocka_unit_test(reset_forgets_fragments_sessions_and_feeds),
    };
    return cmocka_run_group_tests_name("worker", tests, NULL, NULL);
}
