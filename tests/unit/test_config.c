/* test_config.c - settings: keys, values with units, YAML files, errors, and what
 * `ticktap config` shows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../agent/config/config.h"
#include "../../agent/util/units.h"

static void config_keys_values_and_errors(void **state)
{
    (void)state;
    struct tt_config c;
    char err[256];
    config_defaults(&c);
    assert_int_equal(config_set(&c, "flow.max_flows=1000", err, sizeof(err)), 0);
    assert_int_equal(c.flow.max_flows, 1000);
    assert_int_equal(config_set(&c, "flow.tcp_idle_timeout=250ms", err, sizeof(err)), 0);
    assert_int_equal(c.flow.tcp_idle_ns, 250000000ull);
    assert_int_equal(config_set(&c, "pipeline.frame_ring_bytes=4M", err, sizeof(err)), 0);
    assert_int_equal(c.frame_ring_bytes, 4u << 20);
    assert_int_equal(config_set(&c, "flow.max_flowz=1", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "unknown setting"));
    assert_int_equal(config_set(&c, "flow.max_flows=-5", err, sizeof(err)), -1);
    char path[] = "/tmp/ticktap-cfg-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fputs("flow:\n  max_flows: 77\n  udp_idle_timeout: 2m\ndetect:\n  rst_storm_threshold: 9\n", f);
    fclose(f);
    assert_int_equal(config_load_file(&c, path, err, sizeof(err)), 0);
    assert_int_equal(c.flow.max_flows, 77);
    assert_int_equal(c.flow.udp_idle_ns, 120000000000ull);
    assert_int_equal(c.rst_storm_threshold, 9);
    f = fopen(path, "w");
    fputs("flow:\n  max_flows: [1, 2]\n", f);
    fclose(f);
    assert_int_equal(config_load_file(&c, path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":2:"));
    unlink(path);
    assert_int_equal(config_load_file(&c, "/nonexistent.yaml", err, sizeof(err)), -1);
}

static void units_durations_and_sizes(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(parse_duration_ns("250ms", &v), 0);
    assert_int_equal(v, 250000000ull);
    assert_int_equal(parse_duration_ns("1.5", &v), 0); /* bare: seconds */
    assert_int_equal(v, 1500000000ull);
    assert_int_equal(parse_duration_ns("100us", &v), 0);
    assert_int_equal(v, 100000ull);
    assert_int_equal(parse_duration_ns("2h", &v), 0);
    assert_int_equal(v, 7200000000000ull);
    assert_int_equal(parse_duration_ns("5 parsecs", &v), -1);
    assert_int_equal(parse_duration_ns("-1s", &v), -1);
    assert_int_equal(parse_size_u64("4M", &v), 0);
    assert_int_equal(v, 4u << 20);
    assert_int_equal(parse_size_u64("0x10k", &v), 0);
    assert_int_equal(v, 16u << 10);
    assert_int_equal(parse_size_u64("-3", &v), -1);
    assert_int_equal(parse_size_u64("3T", &v), -1);
}

/* Settings for tests are accepted but never shown among the user's settings. */
static void test_only_keys_are_accepted_not_shown(void **state)
{
    (void)state;
    struct tt_config c;
    char err[256], *text = NULL;
    size_t len = 0;
    config_defaults(&c);
    assert_int_equal(config_set(&c, "kafka.test_fatal_after=5", err, sizeof(err)), 0);
    assert_int_equal(c.kafka.test_fatal_after, 5);
    assert_int_equal(config_set(&c, "kafka.mock_outage=2s", err, sizeof(err)), 0);
    FILE *f = open_memstream(&text, &len);
    config_print(&c, f);
    fclose(f);
    assert_non_null(strstr(text, "flow.max_flows"));
    assert_null(strstr(text, "test_fatal_after"));
    assert_null(strstr(text, "mock_outage"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_keys_values_and_errors),
        cmocka_unit_test(units_durations_and_sizes),
        cmocka_unit_test(test_only_keys_are_accepted_not_shown),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
