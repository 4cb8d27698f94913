/* test_stats.c - top talkers (bounded, merged across workers), worst flows, what each of
 * several live inputs brought, and the protocol mix counted a mix at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/stats/stats.h"

static void host(uint8_t addr[16], uint32_t n)
{
    memset(addr, 0, 16);
    addr[10] = addr[11] = 0xff;
    addr[12] = 10;
    addr[13] = (uint8_t)(n >> 16);
    addr[14] = (uint8_t)(n >> 8);
    addr[15] = (uint8_t)n;
}

/* Host h of the test sends 1000 * h bytes in h packets, split over the workers. */
static void feed(struct tt_stats *w, uint32_t nworkers, uint32_t nhosts)
{
    for (uint32_t h = 1; h <= nhosts; h++) {
        uint8_t a[16];
        host(a, h);
        for (uint32_t p = 0; p < h; p++)
            talker_add(&w[p % nworkers].talkers, a, 1000, 1);
    }
}

static void talkers_rank_by_bytes_and_merge_across_workers(void **state)
{
    (void)state;
    static struct tt_stats one, w[3], merged;
    assert_int_equal(stats_init(&one, 1000, 10), 0);
    assert_int_equal(stats_init(&merged, 3000, 10), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(stats_init(&w[i], 1000, 10), 0);
    feed(&one, 1, 500);
    feed(w, 3, 500);
    for (int i = 0; i < 3; i++)
        stats_merge(&merged, &w[i]);

    struct talker a[TT_TOP_MAX], b[TT_TOP_MAX];
    uint32_t na = stats_top_talkers(&one, a, 10), nb = stats_top_talkers(&merged, b, 10);
    assert_int_equal(na, 10);
    assert_int_equal(nb, 10);
    for (uint32_t i = 0; i < 10; i++) {
        uint8_t want[16];
        host(want, 500 - i); /* the biggest first */
        assert_memory_equal(a[i].addr, want, 16);
        assert_int_equal(a[i].bytes, 1000ull * (500 - i));
        assert_int_equal(a[i].pkts, 500 - i);
        assert_memory_equal(&a[i], &b[i], sizeof(a[i]));
    }
    assert_int_equal(merged.talkers.n, 500);
    stats_fini(&one);
    stats_fini(&merged);
    for (int i = 0; i < 3; i++)
        stats_fini(&w[i]);
}

static void talkers_beyond_max_are_counted_not_kept(void **state)
{
    (void)state;
    static struct tt_stats s;
    assert_int_equal(stats_init(&s, 100, 5), 0);
    feed(&s, 1, 150);
    assert_int_equal(s.talkers.n, 100);
    /* hosts 101..150 came after the table was full: one refusal per addition */
    uint64_t refused = 0;
    for (uint32_t h = 101; h <= 150; h++)
        refused += h;
    assert_int_equal(s.talkers.untracked, refused);
    /* a known host still accumulates */
    uint8_t a[16];
    host(a, 7);
    talker_add(&s.talkers, a, 5, 1);
    struct talker top[TT_TOP_MAX];
    assert_int_equal(stats_top_talkers(&s, top, 5), 5);
    assert_int_equal(top[0].bytes, 100000); /* host 100 */
    assert_int_equal(s.talkers.untracked, refused);
    stats_fini(&s);
}

static void talker_ties_rank_by_address(void **state)
{
    (void)state;
    static struct tt_stats s;
    assert_int_equal(stats_init(&s, 16, 3), 0);
    for (uint32_t h = 9; h >= 1; h--) { /* all equal, added in falling address order */
        uint8_t a[16];
        host(a, h);
        talker_add(&s.talkers, a, 42, 1);
    }
    struct talker top[TT_TOP_MAX];
    assert_int_equal(stats_top_talkers(&s, top, 3), 3);
    for (uint32_t i = 0; i < 3; i++)
        assert_int_equal(top[i].addr[15], i + 1);
    stats_fini(&s);
}

static struct event flow_rec(uint64_t id, uint32_t anomalies)
{
    struct event e;
    memset(&e, 0, sizeof(e));
    e.flow_id = id;
    e.u.flow.anomalies = anomalies;
    return e;
}

/* The worst flows kept do not depend on how the flows were spread over workers. */
static void worst_flows_independent_of_worker_split(void **state)
{
    (void)state;
    static struct tt_stats one, w[2], merged;
    assert_int_equal(stats_init(&one, 16, 4), 0);
    assert_int_equal(stats_init(&merged, 16, 4), 0);
    assert_int_equal(stats_init(&w[0], 16, 4), 0);
    assert_int_equal(stats_init(&w[1], 16, 4), 0);
    for (uint64_t id = 1; id <= 40; id++) {
        struct event e = flow_rec(id, (uint32_t)(id % 7)); /* ties broken by id */
        stats_offer_worst(&one, &e);
        stats_offer_worst(&w[id % 3 == 0], &e);
    }
    stats_merge(&merged, &w[1]);
    stats_merge(&merged, &w[0]);
    assert_int_equal(one.nworst, 4);
    assert_int_equal(merged.nworst, 4);
    qsort(one.worst, one.nworst, sizeof(one.worst[0]), stats_worst_cmp);
    qsort(merged.worst, merged.nworst, sizeof(merged.worst[0]), stats_worst_cmp);
    const uint64_t want[4] = {6, 13, 20, 27}; /* anomalies 6, lowest ids first */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(one.worst[i].flow_id, want[i]);
        assert_int_equal(merged.worst[i].flow_id, want[i]);
    }
    stats_fini(&one);
    stats_fini(&merged);
    stats_fini(&w[0]);
    stats_fini(&w[1]);
}

/* Several inputs read as one: whatever the totals move while an input's frames are analysed
 * is that input's, up to the last settling; an index past the inputs counts as the first. */
static void inputs_get_what_moved_while_theirs(void **state)
{
    (void)state;
    static struct tt_stats s;
    assert_int_equal(stats_init(&s, 16, 4), 0);
    s.packets = 5; /* before tracking: nobody's */
    assert_int_equal(stats_track_inputs(&s, 3), 0);
    const uint32_t order[] = {0, 0, 2, 1, 2, 2, 7, 1};
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        stats_input(&s, order[i]);
        s.packets++;
        s.bytes += 100 * (order[i] + 1);
        if (order[i] == 2) s.counters[TT_C_TCP_BAD_OPTION]++;
    }
    s.counters[TT_C_FLOW_TABLE_FULL]++; /* while input 1's frame was the last one */
    stats_inputs_settle(&s);
    assert_int_equal(s.inputs[0].packets, 3); /* 0, 0 and 7 */
    assert_int_equal(s.inputs[1].packets, 2);
    assert_int_equal(s.inputs[2].packets, 3);
    assert_int_equal(s.inputs[0].bytes, 100 + 100 + 800);
    assert_int_equal(s.inputs[2].counters[TT_C_TCP_BAD_OPTION], 3);
    assert_int_equal(s.inputs[0].counters[TT_C_TCP_BAD_OPTION], 0);
    assert_int_equal(s.inputs[1].counters[TT_C_FLOW_TABLE_FULL], 1);
    stats_inputs_settle(&s); /* nothing moved: nothing added */
    assert_int_equal(s.inputs[1].packets, 2);
    stats_fini(&s);
    assert_null(s.inputs);
}

/* Mixes counted through the slots give the per-protocol counts of counting every layer of
 * every packet: settled in the middle, at the end, or merged before settling. */
static void protocol_mixes_count_every_layer(void **state)
{
    (void)state;
    struct tt_stats a, b, merged;
    assert_int_equal(stats_init(&a, 4, 4), 0);
    assert_int_equal(stats_init(&b, 4, 4), 0);
    assert_int_equal(stats_init(&merged, 4, 4), 0);
    uint64_t want[32] = {0};
    uint32_t rng = 5;
    for (int i = 0; i < 20000; i++) {
        rng = rng * 1103515245u + 12345u;
        uint32_t mix = (rng >> 8) & ((1u << TT_P_MAX) - 1);
        if (rng >> 30)
            mix = 1u << TT_P_ETH | 1u << TT_P_IPV4 | 1u << (rng & 1 ? TT_P_TCP : TT_P_UDP);
        for (int k = 0; k < 32; k++)
            want[k] += (mix >> k) & 1;
        stats_count_mix(i % 3 ? &a : &b, mix);
        if (i == 7777) stats_mixes_settle(&a);
    }
    stats_merge(&merged, &a); /* a and b are not settled: merge counts what they hold */
    stats_merge(&merged, &b);
    assert_memory_equal(merged.protos, want, sizeof(want));
    stats_mixes_settle(&a);
    stats_mixes_settle(&b);
    for (int k = 0; k < 32; k++)
        assert_true(a.protos[k] + b.protos[k] == want[k]);
    stats_mixes_settle(&a); /* settling twice adds nothing */
    for (int k = 0; k < 32; k++)
        assert_true(a.protos[k] + b.protos[k] == want[k]);
    stats_fini(&a);
    stats_fini(&b);
    stats_fini(&merged);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(talkers_rank_by_bytes_and_merge_across_workers),
        cmocka_unit_test(talkers_beyond_max_are_counted_not_kept),
        cmocka_unit_test(talker_ties_rank_by_address),
        cmocka_unit_test(worst_flows_independent_of_worker_split),
        cmocka_unit_test(inputs_get_what_moved_while_theirs),
        cmocka_unit_test(protocol_mixes_count_every_layer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
