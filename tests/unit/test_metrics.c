/* test_metrics.c - Prometheus buckets from histograms, label escaping, the registry's merge,
 * health verdicts and the stats record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../agent/metrics/metrics.h"
#include "../../agent/metrics/prom.h"
#include "../../agent/util/hist.h"

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Buckets converted from a log-linear histogram equal direct observation when the values
 * sit clear of the bounds (the conversion is exact up to 1/64 of a bound). */
static void prom_buckets_from_hist_equal_direct_counts(void **state)
{
    (void)state;
    static struct hist h;
    hist_init(&h);
    struct prom_hist direct = {0}, conv;
    for (uint64_t us = 3; us < 20000; us += 7) { /* 3 us .. 20 ms, never within 1.6% of a bound */
        uint64_t v = us * 1000 + 300;
        int near = 0;
        for (int i = 0; i < PROM_BUCKETS; i++)
            if (v > prom_bounds_ns[i] && v < prom_bounds_ns[i] + prom_bounds_ns[i] / 64 + 1)
                near = 1;
        if (near) continue;
        hist_add(&h, v);
        prom_hist_observe(&direct, v);
    }
    prom_hist_from_hist(&conv, &h);
    assert_int_equal(conv.count, direct.count);
    assert_int_equal(conv.sum_ns, direct.sum_ns);
    for (int i = 0; i < PROM_BUCKETS; i++)
        assert_int_equal(conv.le[i], direct.le[i]);
    assert_int_equal(conv.le[PROM_BUCKETS - 1], conv.count); /* nothing above 10 s */
}

static void labels_are_escaped_and_histograms_cumulative(void **state)
{
    (void)state;
    struct prom_buf b = {0};
    struct prom_labels l;
    prom_labels_init(&l);
    prom_label(&l, "session", "A\"B\\C\nD");
    prom_sample(&b, "ticktap_x_total", &l, 7);
    assert_non_null(strstr(b.p, "ticktap_x_total{session=\"A\\\"B\\\\C\\nD\"} 7\n"));
    struct prom_hist h = {0};
    prom_hist_observe(&h, 1000);    /* exactly 1 us: in le="1e-06" */
    prom_hist_observe(&h, 2000000); /* 2 ms */
    prom_histogram(&b, "ticktap_y_seconds", NULL, &h);
    assert_non_null(strstr(b.p, "ticktap_y_seconds_bucket{le=\"1e-06\"} 1\n"));
    assert_non_null(strstr(b.p, "ticktap_y_seconds_bucket{le=\"0.001\"} 1\n"));
    assert_non_null(strstr(b.p, "ticktap_y_seconds_bucket{le=\"0.0025\"} 2\n"));
    assert_non_null(strstr(b.p, "ticktap_y_seconds_bucket{le=\"+Inf\"} 2\n"));
    assert_non_null(strstr(b.p, "ticktap_y_seconds_count 2\n"));
    assert_non_null(strstr(b.p, "ticktap_y_seconds_sum 0.002001000\n"));
    prom_buf_fini(&b);
}

static struct tt_stats *stats_with_session(uint64_t key, const char *name, uint64_t packets)
{
    struct tt_stats *st = calloc(1, sizeof(*st));
    assert_int_equal(stats_init(st, 16, 5), 0);
    st->packets = packets;
    st->bytes = packets * 100;
    st->counters[TT_C_IPV4_TRUNCATED] = 2;
    uint32_t i = trading_session_get(&st->trading, key, TK_FIX, name);
    st->trading.sessions[i].messages[0] = 10;
    st->trading.sessions[i].seq_gaps = 1;
    hist_add(&st->trading.sessions[i].latency, 300000);
    return st;
}

static void workers_merge_by_input_and_session(void **state)
{
    (void)state;
    struct metrics_config mc;
    metrics_config_default(&mc);
    static struct metrics m;
    metrics_init(&m, &mc);
    assert_int_equal(metrics_attach_workers(&m, 3), 0);
    snprintf(m.workers[0].ifname, 16, "eth1");
    snprintf(m.workers[1].ifname, 16, "eth1");
    snprintf(m.workers[2].ifname, 16, "eth2");
    m.workers[2].queue = 3;
    struct tt_stats *a = stats_with_session(42, "C1-EX", 5),
                    *b = stats_with_session(42, "C1-EX", 6),
                    *c = stats_with_session(43, "C2-EX", 7);
    metrics_worker_publish(&m.workers[0], a, 1, 1);
    metrics_worker_publish(&m.workers[1], b, 2, 1);
    metrics_worker_publish(&m.workers[2], c, 3, 1);
    struct prom_buf out = {0};
    metrics_render(&m, &out);
    assert_false(out.oom);
    assert_non_null(strstr(out.p, "ticktap_packets_total{interface=\"eth1\"} 11\n"));
    assert_non_null(strstr(out.p, "ticktap_packets_total{interface=\"eth2\",queue=\"3\"} 7\n"));
    assert_non_null(strstr(out.p, "ticktap_decode_errors_total{interface=\"eth1\",reason=\"ipv4.truncated\"} 4\n"));
    assert_non_null(strstr(out.p, "ticktap_decode_errors_total{interface=\"eth2\",queue=\"3\",reason=\"ipv4.truncated\"} 2\n"));
    assert_non_null(strstr(out.p, "ticktap_flows_active 6\n"));
    assert_non_null(
        strstr(out.p, "ticktap_session_messages_total{protocol=\"fix\",session=\"C1-EX\"} 20\n"));
    assert_non_null(
        strstr(out.p, "ticktap_session_messages_total{protocol=\"fix\",session=\"C2-EX\"} 10\n"));
    assert_non_null(strstr(
        out.p, "ticktap_session_latency_seconds_count{protocol=\"fix\",session=\"C1-EX\"} 2\n"));
    assert_non_null(strstr(out.p, "ticktap_up 1\n"));
    prom_buf_fini(&out);

    char *line = metrics_stats_json(&m, 1700000000123456789ull, 5000000000ull);
    json_error_t je;
    json_t *o = json_loads(line, 0, &je);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "type")), "stats");
    assert_string_equal(json_string_value(json_object_get(o, "ts")),
                        "2023-11-14T22:13:20.123456789Z");
    assert_int_equal(json_integer_value(json_object_get(o, "packets")), 18);
    assert_int_equal(json_array_size(json_object_get(o, "interfaces")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "flows"), "active")), 6);
    json_decref(o);
    free(line);
    struct tt_stats *all[] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        stats_fini(all[i]);
        free(all[i]);
    }
    metrics_fini(&m);
}

static void health_names_what_is_stuck(void **state)
{
    (void)state;
    struct metrics_config mc;
    metrics_config_default(&mc);
    mc.stuck_after_ns = 20000000; /* 20 ms */
    static struct metrics m;
    metrics_init(&m, &mc);
    assert_int_equal(metrics_attach_workers(&m, 1), 0);
    char why[512];
    static struct metrics_sink_snap s;
    s.heartbeat_ns = metrics_now_ns();
    metrics_sink_publish(&m, &s);
    assert_int_equal(metrics_health(&m, why, sizeof(why)), 0);
    sleep_ms(40); /* the worker never published, the sink did 40 ms ago */
    assert_int_equal(metrics_health(&m, why, sizeof(why)), 1);
    assert_non_null(strstr(why, "capture: worker 0"));
    assert_non_null(strstr(why, "sink: has not run"));
    static struct tt_stats st;
    assert_int_equal(stats_init(&st, 16, 5), 0);
    metrics_worker_publish(&m.workers[0], &st, 0, 1); /* finished: never stuck */
    /* Kafka holds 5 messages and reports nothing: healthy at first, stuck after 20 ms */
    s.kafka_on = 1;
    s.kafka.offered = 5;
    s.kafka.queued = 5;
    s.heartbeat_ns = metrics_now_ns();
    metrics_sink_publish(&m, &s);
    assert_int_equal(metrics_health(&m, why, sizeof(why)), 0);
    sleep_ms(40);
    s.heartbeat_ns = metrics_now_ns();
    metrics_sink_publish(&m, &s);
    assert_int_equal(metrics_health(&m, why, sizeof(why)), 1);
    assert_non_null(strstr(why, "kafka: 5 message(s) waiting"));
    assert_null(strstr(why, "worker"));
    s.kafka.delivered = 5; /* delivered: healthy again */
    s.kafka.queued = 0;
    metrics_sink_publish(&m, &s);
    assert_int_equal(metrics_health(&m, why, sizeof(why)), 0);
    stats_fini(&st);
    metrics_fini(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prom_buckets_from_hist_equal_direct_counts),
        cmocka_unit_test(labels_are_escaped_and_histograms_cumulative),
        cmocka_unit_test(workers_merge_by_input_and_session),
        cmocka_unit_test(health_names_what_is_stuck),
    };
    return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
