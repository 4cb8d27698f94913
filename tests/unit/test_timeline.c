/* test_timeline.c - the report's timeline: buckets widen as the capture grows, merge into
 * what one writer would have built, and give percentiles within their resolution. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../agent/stats/timeline.h"

#define S 1000000000ull

static void grows_and_keeps_every_frame(void **state)
{
    (void)state;
    struct timeline t;
    assert_int_equal(timeline_init(&t), 0);
    uint64_t t0 = 1700000000 * S;
    for (uint64_t i = 0; i < 100000; i++) /* an hour, a frame every 36 ms */
        timeline_frame(&t, t0 + i * 36000000ull, 100);
    assert_true(t.used <= TIMELINE_BUCKETS && t.used > TIMELINE_BUCKETS / 4);
    uint64_t n = 0, bytes = 0;
    for (uint32_t i = 0; i < t.used; i++)
        n += t.b[i].packets, bytes += t.b[i].bytes;
    assert_int_equal(n, 100000);
    assert_int_equal(bytes, 10000000);
    /* aligned on absolute time: the first frame falls in the first bucket */
    assert_true((t.base << t.shift) <= t0 && t0 < ((t.base + 1) << t.shift));
    timeline_fini(&t);
}

/* Frames dealt to three writers in turn merge into exactly one writer's timeline. */
static void merge_equals_one_writer(void **state)
{
    (void)state;
    struct timeline one, part[3], all;
    timeline_init(&one);
    timeline_init(&all);
    for (int k = 0; k < 3; k++)
        timeline_init(&part[k]);
    uint64_t t0 = 1700000000 * S + 12345;
    uint64_t x = 88172645463325252ull;
    for (uint64_t i = 0; i < 50000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t ts = t0 + i * 1000000ull + x % 1000000ull; /* 50 s, jittered */
        uint64_t lat = 1000 + x % 5000000;
        timeline_frame(&one, ts, 64);
        timeline_latency(&one, TL_RTT, lat);
        timeline_frame(&part[x % 3], ts, 64);
        timeline_latency(&part[x % 3], TL_RTT, lat);
    }
    for (int k = 2; k >= 0; k--) /* in any order */
        timeline_merge(&all, &part[k]);
    assert_int_equal(all.shift, one.shift);
    assert_int_equal(all.base, one.base);
    assert_int_equal(all.used, one.used);
    assert_memory_equal(all.b, one.b, one.used * sizeof(*one.b));
    for (int k = 0; k < 3; k++)
        timeline_fini(&part[k]);
    timeline_fini(&one);
    timeline_fini(&all);
}

static void quantiles_within_a_quarter_octave(void **state)
{
    (void)state;
    struct timeline t;
    timeline_init(&t);
    timeline_frame(&t, S, 1);
    for (uint64_t v = 1; v <= 1000; v++)
        timeline_latency(&t, TL_ORDER, v * 1000); /* 1 .. 1000 us */
    const struct tl_lat *l = &t.b[t.cur].lat[TL_ORDER];
    uint64_t p50 = timeline_quantile(l, 0.5), p99 = timeline_quantile(l, 0.99);
    assert_true(p50 >= 500000 && p50 <= 500000 * 119 / 100);
    assert_true(p99 >= 990000 && p99 <= 1000000); /* capped by the exact maximum */
    assert_int_equal(l->max_ns, 1000000);
    assert_int_equal(timeline_quantile(&t.b[t.cur].lat[TL_FEED], 0.5), 0);
    timeline_fini(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grows_and_keeps_every_frame),
        cmocka_unit_test(merge_equals_one_writer),
        cmocka_unit_test(quantiles_within_a_quarter_octave),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
