/* test_dedup.c - frame copies are recognised within the window and not beyond it; a
 * payload is a duplicate at another TCP sequence number but not at the same one (a
 * retransmission), judged on its length, head and tail; a full set replaces its oldest digest
 * and counts it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "../../agent/flow/dedup.h"
#include "../../agent/flow/flow_features.h"

static void frame_copy_within_window(void **state)
{
    (void)state;
    struct recent_digests r;
    uint64_t full = 0;
    assert_int_equal(recent_digests_init(&r, 64, 1000), 0);
    r.replaced_live = &full;
    uint8_t a[300], b[300];
    memset(a, 7, sizeof(a));
    memcpy(b, a, sizeof(b));
    uint64_t da = dedup_frame_digest(a, sizeof(a), 300);
    assert_int_equal(recent_digests_seen(&r, da, 10000), 0);
    assert_int_equal(recent_digests_seen(&r, dedup_frame_digest(b, sizeof(b), 300), 10500), 1);
    /* beyond the window: a new frame that happens to be alike */
    assert_int_equal(recent_digests_seen(&r, da, 20000), 0);
    /* another wire length is another frame; bytes past the first 256 are not looked at */
    assert_int_not_equal(dedup_frame_digest(a, sizeof(a), 301), da);
    b[299] = 8; /* past DEDUP_FRAME_BYTES */
    assert_int_equal(dedup_frame_digest(b, sizeof(b), 300), da);
    b[10] = 8;
    assert_int_not_equal(dedup_frame_digest(b, sizeof(b), 300), da);
    /* merged captures are not always in time order: a copy just before counts too */
    assert_int_equal(recent_digests_seen(&r, da, 19500), 1);
    assert_int_equal(full, 0);
    recent_digests_fini(&r);
}

static void full_set_replaces_oldest_and_counts(void **state)
{
    (void)state;
    struct recent_digests r;
    uint64_t full = 0;
    assert_int_equal(recent_digests_init(&r, 4, 1000000), 0); /* one set of 4 ways */
    r.replaced_live = &full;
    for (uint64_t d = 1; d <= 4; d++)
        assert_int_equal(recent_digests_seen(&r, d << 8, d), 0);
    assert_int_equal(recent_digests_seen(&r, 5 << 8, 5), 0); /* replaces 1 */
    assert_int_equal(full, 1);
    assert_int_equal(recent_digests_seen(&r, 2 << 8, 6), 1);
    assert_int_equal(recent_digests_seen(&r, 1 << 8, 7), 0); /* forgotten */
    recent_digests_reset(&r);
    assert_int_equal(recent_digests_seen(&r, 2 << 8, 8), 0);
    recent_digests_fini(&r);
}

static void window_zero_is_off(void **state)
{
    (void)state;
    struct recent_digests r;
    assert_int_equal(recent_digests_init(&r, 64, 0), 0);
    assert_null(r.sets);
    recent_digests_fini(&r);
}

static void payload_again_not_retransmission(void **state)
{
    (void)state;
    struct flow_features ff;
    memset(&ff, 0, sizeof(ff));
    const char msg[] = "35=D|11=ORDER1|55=XYZ|54=1|38=100|";
    uint32_t d = dedup_payload_digest((const uint8_t *)msg, sizeof(msg), 42, 0);
    /* a long payload: its length, head and tail stand for it */
    uint8_t big[1000], big2[1000];
    memset(big, 'x', sizeof(big));
    memcpy(big2, big, sizeof(big2));
    big2[500] = 'y';
    assert_int_equal(dedup_payload_digest(big, sizeof(big), 1, 0),
                     dedup_payload_digest(big2, sizeof(big2), 1, 0));
    big2[990] = 'y';
    assert_int_not_equal(dedup_payload_digest(big, sizeof(big), 1, 0),
                         dedup_payload_digest(big2, sizeof(big2), 1, 0));
    assert_int_not_equal(d, dedup_payload_digest((const uint8_t *)msg, sizeof(msg), 42, 1));
    assert_int_equal(flow_features_payload(&ff, 0, d, 1000, 1, 100, 1000000), 0);
    /* the same segment again: a retransmission, not a duplicate */
    assert_int_equal(flow_features_payload(&ff, 0, d, 1000, 1, 200, 1000000), 0);
    /* the same bytes at a new sequence number: sent twice */
    assert_int_equal(flow_features_payload(&ff, 0, d, 1035, 1, 300, 1000000), 1);
    /* other direction has its own memory */
    assert_int_equal(flow_features_payload(&ff, 1, d, 1035, 1, 300, 1000000), 0);
    /* beyond the window */
    assert_int_equal(flow_features_payload(&ff, 0, d, 5000, 1, 2000000, 1000000), 0);
    /* UDP: any repeat within the window */
    memset(&ff, 0, sizeof(ff));
    assert_int_equal(flow_features_payload(&ff, 0, d, 0, 0, 100, 1000000), 0);
    assert_int_equal(flow_features_payload(&ff, 0, d, 0, 0, 200, 1000000), 1);
    /* only the last FF_RECENT_PAYLOADS payloads are remembered */
    for (uint64_t i = 0; i < FF_RECENT_PAYLOADS; i++)
        flow_features_payload(&ff, 0, 1000 + i, 0, 0, 300 + i, 1000000);
    assert_int_equal(flow_features_payload(&ff, 0, d, 0, 0, 400, 1000000), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frame_copy_within_window),
        cmocka_unit_test(full_set_replaces_oldest_and_counts),
        cmocka_unit_test(window_zero_is_off),
        cmocka_unit_test(payload_again_not_retransmission),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
