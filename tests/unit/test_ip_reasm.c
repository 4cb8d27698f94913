/* test_ip_reasm.c - bounded reassembly: overlaps, holes, table full, timeouts by packet time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "../../agent/decode/ip_reasm.h"
#include "../../agent/util/counters.h"

static const uint8_t A[16] = {1}, B[16] = {2};

static void overlap_with_different_bytes_is_counted(void **state)
{
    (void)state;
    struct ip_reasm r;
    assert_int_equal(ip_reasm_init(&r, 2, 65535, 1000), 0);
    uint8_t x[16], y[16];
    memset(x, 'x', 16);
    memset(y, 'y', 16);
    const uint8_t *out;
    uint32_t len;
    int err;
    assert_int_equal(ip_reasm_add(&r, 4, A, B, 17, 1, 0, 1, x, 16, 0, &out, &len, &err), REASM_HELD);
    assert_int_equal(ip_reasm_add(&r, 4, A, B, 17, 1, 8, 1, y, 16, 1, &out, &len, &err), REASM_HELD);
    assert_int_equal(err, TT_C_FRAG_OVERLAP);
    assert_int_equal(ip_reasm_add(&r, 4, A, B, 17, 1, 24, 0, y, 4, 2, &out, &len, &err),
                     REASM_COMPLETE);
    assert_int_equal(len, 28);
    assert_int_equal(out[8], 'x'); /* the first copy wins */
    assert_int_equal(out[16], 'y');
    ip_reasm_fini(&r);
}

static void full_table_and_timeouts(void **state)
{
    (void)state;
    struct ip_reasm r;
    assert_int_equal(ip_reasm_init(&r, 2, 65535, 1000), 0);
    uint8_t d[8] = {0};
    const uint8_t *out;
    uint32_t len;
    int err;
    for (uint32_t id = 1; id <= 2; id++)
        assert_int_equal(ip_reasm_add(&r, 4, A, B, 17, id, 0, 1, d, 8, 10, &out, &len, &err),
                         REASM_HELD);
    assert_int_equal(ip_reasm_add(&r, 4, A, B, 17, 3, 0, 1, d, 8, 10, &out, &len, &err),
                     REASM_DROPPED);
    assert_int_equal(err, TT_C_FRAG_TABLE_FULL);
    assert_int_equal(ip_reasm_expire(&r, 500), 0);
    assert_int_equal(ip_reasm_expire(&r, 2000), 2);
    assert_int_equal(ip_reasm_add(&r, 4, A, B, 17, 3, 0, 1, d, 8, 2000, &out, &len, &err),
                     REASM_HELD);
    /* beyond 64 KiB and a bad middle length are refused */
    assert_int_equal(ip_reasm_add(&r, 4, A, B, 17, 9, 65528, 0, d, 8, 1, &out, &len, &err),
                     REASM_DROPPED);
    assert_int_equal(err, TT_C_FRAG_BAD_LENGTH);
    assert_int_equal(ip_reasm_add(&r, 4, A, B, 17, 9, 0, 1, d, 7, 1, &out, &len, &err),
                     REASM_DROPPED);
    ip_reasm_fini(&r);
}

/* Fragments past the end the last one gives make as many units as the datagram has, but
 * a hole remains: not complete until the hole is filled, and the bytes past the end are
 * left out and counted. */
static void a_hole_is_not_complete_whatever_lies_past_the_end(void **state)
{
    (void)state;
    struct ip_reasm r;
    assert_int_equal(ip_reasm_init(&r, 2, 65535, 1000), 0);
    uint8_t d[16];
    memset(d, 'd', sizeof(d));
    const uint8_t *out;
    uint32_t len;
    int err;
    /* unit 0, units 4-5 past the end, then the last fragment (unit 3): four units held, as
     * many as the datagram's 32 bytes have, but units 1-2 are a hole */
    assert_int_equal(ip_reasm_add(&r, 4, A, B, 17, 5, 0, 1, d, 8, 0, &out, &len, &err), REASM_HELD);
    assert_int_equal(ip_reasm_add(&r, 4, A, B, 17, 5, 32, 1, d, 16, 1, &out, &len, &err),
                     REASM_HELD);
    assert_int_equal(ip_reasm_add(&r, 4, A, B, 17, 5, 24, 0, d, 8, 2, &out, &len, &err),
                     REASM_HELD);
    assert_int_equal(err, TT_C_MAX);
    assert_int_equal(ip_reasm_add(&r, 4, A, B, 17, 5, 8, 1, d, 16, 3, &out, &len, &err),
                     REASM_COMPLETE);
    assert_int_equal(len, 32);
    assert_int_equal(err, TT_C_FRAG_BAD_LENGTH); /* units 4-5 were left out: counted */
    ip_reasm_fini(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(overlap_with_different_bytes_is_counted),
        cmocka_unit_test(full_table_and_timeouts),
        cmocka_unit_test(a_hole_is_not_complete_whatever_lies_past_the_end),
    };
    return cmocka_run_group_tests_name("ip_reasm", tests, NULL, NULL);
}
