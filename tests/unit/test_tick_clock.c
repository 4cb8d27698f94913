/* test_tick_clock.c - the TSC/device clock read as wall-clock ns: a simulated week of a counter
 * whose real rate is off its nominal one and wanders, wrap-around, wall-clock steps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "../../dpdk/tick_clock.h"

#define NS 1000000000.0L
#define DAY (86400.0L * NS)

/* A 3 GHz counter running 33 ppm slow, its rate wandering by +-5 ppm over a day (temperature):
 * the ticks it shows at true time t ns. */
static uint64_t sim_ticks(long double t)
{
    const long double hz = 3e9L, pi = 3.14159265358979323846L;
    long double ticks = hz * (1 - 33e-6L) * t / NS +
                        hz * 5e-6L * (DAY / NS) / (2 * pi) * (1 - cosl(2 * pi * t / DAY));
    return (uint64_t)ticks + 1000000; /* the counter did not start at zero */
}

/* The wall clock read beside the counter, off by up to +-50 ns (the two readings are not at
 * one instant). */
static uint64_t sim_wall(long double t, uint32_t *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    int jitter = (int)((*seed >> 16) % 101) - 50;
    return (uint64_t)(1.8e18L + t) + (uint64_t)(int64_t)jitter;
}

static void a_week_stays_within_a_microsecond_and_monotonic(void **state)
{
    (void)state;
    uint32_t seed = 1;
    struct tick_clock c;
    tick_clock_init(&c, 3000000000u, sim_ticks(0), sim_wall(0, &seed));
    uint64_t last = 0;
    int64_t worst = 0;
    const int seconds = 7 * 86400;
    for (int s = 1; s <= seconds; s++) {
        long double t0 = (long double)s * NS;
        tick_clock_resync(&c, sim_ticks(t0), sim_wall(t0, &seed));
        for (int k = 0; k < 4; k++) { /* frames within the next second */
            long double t = t0 + (long double)k * 0.249e9L;
            uint64_t got = tick_clock_ns(&c, sim_ticks(t));
            assert_true(got > last); /* never back, even across a resync */
            last = got;
            int64_t err = (int64_t)(got - (uint64_t)(1.8e18L + t));
            if (err < 0) err = -err;
            if (s > 120 && err > worst) worst = err; /* after two minutes of settling */
        }
    }
    printf("# a week: worst error %lld ns after settling, %llu resyncs, %llu steps\n",
           (long long)worst, (unsigned long long)c.resyncs, (unsigned long long)c.steps);
    assert_int_equal(c.steps, 0);
    assert_int_equal(c.resyncs, seconds);
    assert_true(worst < 1000);
}

static void a_week_without_resync_neither_overflows_nor_wraps(void **state)
{
    (void)state;
    struct tick_clock c;
    const uint64_t hz = 5000000000ull, start = UINT64_MAX - 1000000000000ull; /* wraps */
    tick_clock_init(&c, hz, start, 1000);
    uint64_t week = 7ull * 86400;
    uint64_t got = tick_clock_ns(&c, start + week * hz);
    int64_t err = (int64_t)(got - (1000 + week * 1000000000ull));
    assert_true(err > -20 && err < 20); /* mult's rounding, stated in tick_clock.h */
}

static void a_stepped_wall_clock_is_followed_and_counted(void **state)
{
    (void)state;
    struct tick_clock c;
    tick_clock_init(&c, 1000000000u, 0, 5000000000ull);
    tick_clock_resync(&c, 1000000000u, 6000000000ull);
    assert_int_equal(c.steps, 0);
    tick_clock_resync(&c, 2000000000u, 9000000000ull); /* 2 s ahead */
    assert_int_equal(c.steps, 1);
    assert_int_equal(tick_clock_ns(&c, 2500000000u), 9500000000ull);
    tick_clock_resync(&c, 3000000000u, 7000000000ull); /* 3 s back */
    assert_int_equal(c.steps, 2);
    assert_int_equal(tick_clock_ns(&c, 3000000000u), 7000000000ull);
}

static void an_error_is_slewed_not_jumped(void **state)
{
    (void)state;
    struct tick_clock c;
    tick_clock_init(&c, 1000000000u, 0, 0);
    /* the wall clock is 400 us ahead after a second: the clock catches up at most 500 ppm */
    tick_clock_resync(&c, 1000000000u, 1000400000u);
    assert_int_equal(tick_clock_ns(&c, 1000000000u), 1000000000u); /* no jump */
    uint64_t half = tick_clock_ns(&c, 1500000000u);
    assert_true(half > 1500000000u && half <= 1500250000u);
    assert_int_equal(c.steps, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_week_stays_within_a_microsecond_and_monotonic),
        cmocka_unit_test(a_week_without_resync_neither_overflows_nor_wraps),
        cmocka_unit_test(a_stepped_wall_clock_is_followed_and_counted),
        cmocka_unit_test(an_error_is_slewed_not_jumped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
