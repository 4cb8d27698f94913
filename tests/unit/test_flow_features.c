/* test_flow_features.c - per-direction sizes, inter-arrival statistics, RFC 3550 jitter and
 * TCP flag counts from known packets; quantiles within the documented factor of sqrt(2);
 * the RTT baseline fires on a spike once per excursion, stays quiet on steady samples and
 * is not moved by the spike. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "../../agent/flow/flow_features.h"

static void sizes_gaps_flags(void **state)
{
    (void)state;
    struct flow_features ff;
    memset(&ff, 0, sizeof(ff));
    /* 5 packets 1000 ns apart, then one 3000 ns later: sizes 100..600 */
    uint64_t t = 1000000, bytes = 0;
    for (int i = 0; i < 6; i++) {
        t += i == 5 ? 3000 : 1000;
        flow_features_packet(&ff, 0, t, (uint32_t)(100 * (i + 1)), i == 0 ? 0x02 : 0x18);
        bytes += (uint64_t)(100 * (i + 1));
    }
    struct flow_dir_summary s;
    flow_features_summary(&ff, 0, 6, bytes, 0, 0, 0, &s);
    assert_int_equal(s.size_min, 100);
    assert_int_equal(s.size_max, 600);
    assert_int_equal(s.size_std, 171); /* population std of 100..600 */
    assert_int_equal(s.iat_min_ns, 1000);
    assert_int_equal(s.iat_max_ns, 3000);
    assert_int_equal(s.iat_mean_ns, 1400);
    assert_int_equal(s.iat_std_ns, 800);
    assert_true(s.iat_p50_ns >= 1000 && s.iat_p50_ns <= 1415);
    assert_true(s.iat_p99_ns >= 2120 && s.iat_p99_ns <= 3000); /* within sqrt(2), <= max */
    /* jitter: |D| is 0,0,0 then 2000: J = 2000/16 */
    assert_int_equal(s.jitter_ns, 125);
    assert_int_equal(s.tcp_flags[1], 1); /* SYN */
    assert_int_equal(s.tcp_flags[3], 5); /* PSH */
    assert_int_equal(s.tcp_flags[4], 5); /* ACK */
    flow_features_summary(&ff, 1, 0, 0, 0, 0, 0, &s);
    assert_int_equal(s.size_max, 0);
    assert_int_equal(s.iat_max_ns, 0);
}

static void quantiles_within_sqrt2(void **state)
{
    (void)state;
    struct ff_hist h;
    memset(&h, 0, sizeof(h));
    uint64_t v[] = {150, 900, 5000, 70000, 1000000, 30000000};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        memset(&h, 0, sizeof(h));
        for (int k = 0; k < 100; k++)
            ff_hist_add(&h, v[i]);
        uint64_t q = ff_hist_quantile(&h, 0.5, 0, UINT64_MAX);
        assert_true((double)q <= (double)v[i] * 1.415 && (double)q >= (double)v[i] / 1.415);
    }
    /* saturation halves every bucket: the shape stays */
    memset(&h, 0, sizeof(h));
    for (int k = 0; k < 70000; k++)
        ff_hist_add(&h, k % 10 ? 1000 : 1000000);
    uint64_t p50 = ff_hist_quantile(&h, 0.5, 0, UINT64_MAX);
    uint64_t p99 = ff_hist_quantile(&h, 0.99, 0, UINT64_MAX);
    assert_true(p50 < 1500 && p99 > 700000);
}

static void spike_against_own_baseline(void **state)
{
    (void)state;
    const struct spike_config sc = {.warmup = 16, .k = 8, .factor = 4};
    struct flow_features ff;
    memset(&ff, 0, sizeof(ff));
    uint64_t base, dev;
    int spikes = 0;
    for (int i = 0; i < 200; i++) /* 100 us +- 20%: never a spike */
        spikes +=
            flow_features_rtt(&ff, 0, (80 + (uint64_t)((i * 37) % 41)) * 1000, &sc, &base, &dev);
    assert_int_equal(spikes, 0);
    uint64_t before = ff.rtt_ewma_ns;
    /* a 5 ms excursion of three samples is one spike; the baseline does not follow it */
    assert_int_equal(flow_features_rtt(&ff, 0, 5000000, &sc, &base, &dev), 1);
    assert_int_equal(base, before);
    assert_int_equal(flow_features_rtt(&ff, 0, 5000000, &sc, &base, &dev), 0);
    assert_int_equal(flow_features_rtt(&ff, 0, 5000000, &sc, &base, &dev), 0);
    assert_int_equal(ff.rtt_ewma_ns, before);
    flow_features_rtt(&ff, 0, 100000, &sc, &base, &dev); /* back in the band */
    assert_int_equal(flow_features_rtt(&ff, 0, 5000000, &sc, &base, &dev), 1);
    /* before the warm-up nothing fires */
    memset(&ff, 0, sizeof(ff));
    for (int i = 0; i < 15; i++)
        assert_int_equal(flow_features_rtt(&ff, 0, i == 10 ? 9000000 : 100000, &sc, &base, &dev),
                         0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sizes_gaps_flags),
        cmocka_unit_test(quantiles_within_sqrt2),
        cmocka_unit_test(spike_against_own_baseline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
