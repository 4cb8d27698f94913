/* test_baseline.c - the baselines: a series learns, judges after its warm-up, fires once per
 * excursion and is not moved by it, learns a lasting shift as the new normal; the floor keeps
 * steady values quiet; the detector adds several workers' ticks of one interval before it
 * judges, closes an interval only when every worker is past it, and counts rejects per
 * session from events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "../../agent/detect/detect_baseline.h"

static struct baseline_config cfg(void)
{
    struct baseline_config c;
    baseline_config_default(&c);
    return c;
}

static void series_fires_once_per_excursion(void **state)
{
    (void)state;
    struct baseline_config c = cfg();
    struct baseline_series s;
    memset(&s, 0, sizeof(s));
    struct anomaly_info a;
    for (int i = 0; i < 40; i++) /* 100 +- 5 */
        assert_int_equal(baseline_judge(&s, &c, 95 + (i * 7) % 11, 1, 10, &a), 0);
    double mean = s.mean;
    assert_true(mean > 97 && mean < 103);
    assert_int_equal(baseline_judge(&s, &c, 500, 1, 10, &a), 1);
    assert_true(a.value == 500 && a.baseline == mean && a.band_high < 500 && a.band_high > mean);
    assert_int_equal(baseline_judge(&s, &c, 520, 1, 10, &a), 0); /* the same excursion */
    assert_true(s.mean == mean);                                 /* not learnt */
    assert_int_equal(baseline_judge(&s, &c, 100, 1, 10, &a), 0); /* back */
    assert_int_equal(baseline_judge(&s, &c, 10, 1, 10, &a), 1);  /* a drop, judged both ways */
    assert_int_equal(baseline_judge(&s, &c, 100, 1, 10, &a), 0);
    assert_int_equal(baseline_judge(&s, &c, 10, 0, 10, &a), 0); /* upwards only */
}

static void lasting_shift_is_learnt(void **state)
{
    (void)state;
    struct baseline_config c = cfg();
    struct baseline_series s;
    memset(&s, 0, sizeof(s));
    struct anomaly_info a;
    for (int i = 0; i < 20; i++)
        baseline_judge(&s, &c, 100, 1, 10, &a);
    int fired = 0;
    for (uint32_t i = 0; i < c.window + 1 + c.warmup + 5; i++)
        fired += baseline_judge(&s, &c, 400, 1, 40, &a);
    assert_int_equal(fired, 1);
    assert_true(s.mean > 390 && s.mean < 410); /* learnt again, at the new level */
}

static void warmup_and_floor(void **state)
{
    (void)state;
    struct baseline_config c = cfg();
    struct baseline_series s;
    memset(&s, 0, sizeof(s));
    struct anomaly_info a;
    for (uint32_t i = 0; i < c.warmup - 1; i++)
        baseline_judge(&s, &c, 0, 0, 1, &a);
    assert_int_equal(baseline_judge(&s, &c, 1000, 0, 1, &a), 0); /* still warming up */
    memset(&s, 0, sizeof(s));
    for (uint32_t i = 0; i < 30; i++)
        baseline_judge(&s, &c, 0, 0, 1, &a); /* no error ever: deviation 0, floor 1 */
    assert_int_equal(baseline_judge(&s, &c, 4, 0, 1, &a), 0);
    assert_int_equal(baseline_judge(&s, &c, 5, 0, 1, &a), 1);
}

static struct event fired[64];
static int nfired;
static void collect(void *ctx, struct event *e)
{
    (void)ctx;
    if (nfired < 64) fired[nfired++] = *e;
}

static struct event tick(uint32_t worker, uint64_t index, uint64_t next, uint64_t packets)
{
    struct event e;
    memset(&e, 0, sizeof(e));
    e.type = EV_TICK;
    e.worker = worker;
    e.frame = index + 1;
    e.u.tick.index = index;
    e.u.tick.next_index = next;
    e.u.tick.packets = packets;
    e.u.tick.bytes = packets * 100;
    return e;
}

static void workers_summed_before_judging(void **state)
{
    (void)state;
    struct baseline_config c = cfg();
    struct baseline_detector d;
    nfired = 0;
    assert_int_equal(baseline_init(&d, &c, 2, collect, NULL), 0);
    /* two workers carry half the traffic each; in interval 30 worker 1 alone has 10x */
    for (uint64_t i = 0; i < 40; i++) {
        struct event a = tick(0, i, i + 1, 500), b = tick(1, i, i + 1, i == 30 ? 5000 : 500);
        baseline_tick(&d, &a);
        assert_int_equal(d.next_close, i); /* worker 1 has not reported interval i yet */
        baseline_tick(&d, &b);
        assert_int_equal(d.next_close, i + 1);
    }
    assert_int_equal(nfired, 2); /* packets and bytes per second, once */
    assert_int_equal(fired[0].type, EV_ANOMALY_RATE);
    assert_int_equal(fired[0].u.anomaly.start_ns, 30 * c.interval_ns);
    assert_true(fired[0].u.anomaly.value == 5500 && fired[0].u.anomaly.baseline == 1000);
    /* rejects of one session come from events; its first interval with none is a zero */
    struct event r;
    memset(&r, 0, sizeof(r));
    r.type = EV_FIX_ORDER_REJECT;
    strcpy(r.u.fix.sender, "GW1");
    strcpy(r.u.fix.target, "EX");
    for (uint64_t i = 40; i < 60; i++) {
        for (int k = 0; k < (i == 55 ? 20 : 1); k++) {
            r.ts_ns = i * c.interval_ns + 5;
            baseline_event(&d, &r);
        }
        struct event a = tick(0, i, i + 1, 1000), b = tick(1, i, i + 1, 0);
        baseline_tick(&d, &a);
        baseline_tick(&d, &b);
    }
    assert_int_equal(nfired, 3);
    assert_int_equal(fired[2].type, EV_ANOMALY_ERRORS);
    assert_string_equal(fired[2].u.anomaly.key, "GW1-EX");
    assert_string_equal(fired[2].u.anomaly.metric, "rejects");
    assert_int_equal(fired[2].u.anomaly.start_ns, 55 * c.interval_ns);
    baseline_finish(&d);
    baseline_fini(&d);
}

static void long_gap_costs_little(void **state)
{
    (void)state;
    struct baseline_config c = cfg();
    struct baseline_detector d;
    nfired = 0;
    assert_int_equal(baseline_init(&d, &c, 1, collect, NULL), 0);
    for (uint64_t i = 0; i < 20; i++) {
        struct event a = tick(0, i, i + 1, 1000);
        baseline_tick(&d, &a);
    }
    /* a frame a century later: the empty intervals between are not walked one by one */
    uint64_t far = 100ull * 365 * 86400;
    struct event a = tick(0, 19, far, 0);
    baseline_tick(&d, &a);
    struct event b = tick(0, far, UINT64_MAX, 1000);
    baseline_tick(&d, &b);
    baseline_finish(&d);
    assert_true(d.next_close == far + 1);
    assert_true(nfired <= 2); /* the drop to zero, once per rate */
    baseline_fini(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(series_fires_once_per_excursion),
        cmocka_unit_test(lasting_shift_is_learnt),
        cmocka_unit_test(warmup_and_floor),
        cmocka_unit_test(workers_summed_before_judging),
        cmocka_unit_test(long_gap_costs_little),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
