/* test_flow_table.c - both directions meet, eviction when full, expiry by packet time,
 * closed linger, an expiry pass in flow id order, VLAN rules, and every flow ending through
 * the callback exactly once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "../../agent/flow/flow_table.h"

static int ended[8];
static int nended;
static uint64_t ended_ids[64];

static void on_end(void *ctx, struct flow *f, enum flow_end_reason why)
{
    (void)ctx;
    if (nended < 64) ended_ids[nended] = f->id;
    ended[why]++;
    nended++;
}

static struct flow_key key(uint8_t host, uint16_t sport, uint16_t dport, uint16_t vlan)
{
    struct flow_key k;
    memset(&k, 0, sizeof(k));
    k.src[15] = host;
    k.dst[15] = 200;
    k.sport = sport;
    k.dport = dport;
    k.proto = 6;
    k.family = 4;
    k.vlan = vlan;
    return k;
}

static struct flow_key rev(struct flow_key k)
{
    struct flow_key r = k;
    memcpy(r.src, k.dst, 16);
    memcpy(r.dst, k.src, 16);
    r.sport = k.dport;
    r.dport = k.sport;
    return r;
}

static void setup_table(struct flow_table *ft, uint32_t max)
{
    struct flow_table_config cfg;
    flow_table_config_default(&cfg);
    cfg.max_flows = max;
    cfg.tcp_idle_ns = 100;
    cfg.closed_linger_ns = 10;
    memset(ended, 0, sizeof(ended));
    nended = 0;
    assert_int_equal(flow_table_init(ft, &cfg, on_end, NULL), 0);
}

static void both_directions_find_one_flow(void **state)
{
    (void)state;
    struct flow_table ft;
    setup_table(&ft, 16);
    int dir, created;
    struct flow_key k = key(1, 1000, 80, 0);
    struct flow *f = flow_lookup(&ft, &k, 1, 1, &dir, &created);
    assert_true(created);
    assert_int_equal(dir, 0);
    struct flow_key r = rev(k);
    assert_ptr_equal(flow_lookup(&ft, &r, 2, 2, &dir, &created), f);
    assert_false(created);
    assert_int_equal(dir, 1);
    assert_int_equal(flow_key_hash(&k), flow_key_hash(&r));
    /* untagged reverse direction meets the tagged flow; another VLAN does not */
    struct flow_key t = key(3, 1, 2, 10), u = rev(key(3, 1, 2, 0)), v = rev(key(3, 1, 2, 20));
    struct flow *tf = flow_lookup(&ft, &t, 3, 3, &dir, &created);
    assert_ptr_equal(flow_lookup(&ft, &u, 3, 4, &dir, &created), tf);
    assert_ptr_not_equal(flow_lookup(&ft, &v, 3, 5, &dir, &created), tf);
    flow_table_flush(&ft);
    assert_int_equal(ended[FLOW_END_CAPTURE_END], 3);
    assert_int_equal(ft.nactive, 0);
    flow_table_fini(&ft);
}

static void eviction_when_full_takes_the_least_recent(void **state)
{
    (void)state;
    struct flow_table ft;
    setup_table(&ft, 4);
    int dir, created;
    struct flow_key ks[5];
    for (int i = 0; i < 4; i++) {
        ks[i] = key((uint8_t)(10 + i), 1, 2, 0);
        flow_lookup(&ft, &ks[i], 10 + (uint64_t)i, 1, &dir, &created);
    }
    flow_lookup(&ft, &ks[0], 20, 1, &dir, &created); /* refresh flow 0 */
    ks[4] = key(99, 1, 2, 0);
    flow_lookup(&ft, &ks[4], 21, 1, &dir, &created);
    assert_int_equal(ended[FLOW_END_EVICTED], 1);
    assert_int_equal(ft.evicted, 1);
    flow_lookup(&ft, &ks[0], 22, 1, &dir, &created);
    assert_false(created); /* flow 0 survived: flow 1 was the least recent */
    flow_lookup(&ft, &ks[1], 23, 1, &dir, &created);
    assert_true(created);
    flow_table_fini(&ft);
}

static void expiry_is_by_packet_time(void **state)
{
    (void)state;
    struct flow_table ft;
    setup_table(&ft, 64);
    int dir, created;
    for (int i = 0; i < 50; i++) {
        struct flow_key k = key((uint8_t)i, 5, 6, 0);
        flow_lookup(&ft, &k, (uint64_t)i, 1, &dir, &created);
    }
    assert_int_equal(flow_table_expire(&ft, 120, 1000), 20); /* last seen 0..19 */
    assert_int_equal(ft.nactive, 30);
    struct flow_key k = key(40, 5, 6, 0);
    struct flow *f = flow_lookup(&ft, &k, 121, 1, &dir, &created);
    flow_mark_closed(&ft, f);
    assert_int_equal(flow_table_expire(&ft, 125, 1000), 5); /* idle: last seen 20..24 */
    assert_int_equal(ended[FLOW_END_CLOSED], 0);
    assert_int_equal(flow_table_expire(&ft, 132, 1000), 1 + 7); /* linger 10; 25..31 idle */
    assert_int_equal(ended[FLOW_END_CLOSED], 1);
    /* a packet after the timeout ends the old flow and starts a new one, whenever it comes */
    struct flow_key k2 = key(45, 5, 6, 0);
    flow_lookup(&ft, &k2, 1000, 1, &dir, &created);
    assert_true(created);
    flow_table_fini(&ft);
}

/* One pass ends its flows in flow id order, closed and idle ones alike, whatever order they
 * were seen in: the order the records of several workers merge into. */
static void expiry_pass_ends_in_flow_id_order(void **state)
{
    (void)state;
    struct flow_table ft;
    setup_table(&ft, 64);
    int dir, created;
    for (int i = 0; i < 20; i++) {
        struct flow_key k = key((uint8_t)i, 5, 6, 0);
        struct flow *f = flow_lookup(&ft, &k, (uint64_t)i, 1, &dir, &created);
        if (i % 3 == 0) flow_mark_closed(&ft, f);
    }
    assert_int_equal(flow_table_expire(&ft, 1000, 1000), 20);
    assert_int_equal(ended[FLOW_END_CLOSED], 7);
    for (int i = 1; i < 20; i++)
        assert_true(ended_ids[i - 1] < ended_ids[i]);
    flow_table_fini(&ft);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(both_directions_find_one_flow),
        cmocka_unit_test(eviction_when_full_takes_the_least_recent),
        cmocka_unit_test(expiry_is_by_packet_time),
        cmocka_unit_test(expiry_pass_ends_in_flow_id_order),
    };
    return cmocka_run_group_tests_name("flow_table", tests, NULL, NULL);
}
