/* test_dedup.c - frame copies are recognised within the window and not beyond it; a
 * payload is a duplicate at another TCP sequence number but not at the same one (a
 * retransmission), judged on its length, head and tail; a full ring replaces its oldest digest
 * and counts it; the index grows with a burst and shrinks after it; verdicts equal a plain list's.
 */
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

static void full_ring_replaces_oldest_and_counts(void **state)
{
    (void)state;
    struct recent_digests r;
    uint64_t full = 0;
    assert_int_equal(recent_digests_init(&r, 64, 1000000), 0); /* a ring of 64 */
    r.replaced_live = &full;
    const uint64_t k = 0x9E3779B97F4A7C15ull; /* digests are well mixed */
    for (uint64_t d = 1; d <= 64; d++)
        assert_int_equal(recent_digests_seen(&r, d * k, d), 0);
    assert_int_equal(full, 0);
    assert_int_equal(recent_digests_seen(&r, 65 * k, 65), 0); /* replaces 1 */
    assert_int_equal(full, 1);
    assert_int_equal(recent_digests_seen(&r, 2 * k, 66), 1);
    assert_int_equal(recent_digests_seen(&r, 1 * k, 67), 0); /* forgotten */
    recent_digests_reset(&r);
    assert_int_equal(recent_digests_seen(&r, 2 * k, 68), 0);
    recent_digests_fini(&r);
}

/* A burst of thousands of frames inside one window grows the index (every digest is still
 * found: none is forgotten while the ring holds it), and once the burst is over the index
 * shrinks back to a few KiB. */
static void index_grows_with_a_burst_and_shrinks_after(void **state)
{
    (void)state;
    struct recent_digests r;
    uint64_t full = 0;
    assert_int_equal(recent_digests_init(&r, 16384, 1000000), 0);
    r.replaced_live = &full;
    uint32_t small = r.index_sets;
    for (uint64_t i = 0; i < 10000; i++)
        assert_int_equal(recent_digests_seen(&r, i * 0x9E3779B97F4A7C15ull + 1, 100 + i), 0);
    assert_true(r.index_sets > small);
    for (uint64_t i = 0; i < 10000; i++)
        assert_int_equal(recent_digests_seen(&r, i * 0x9E3779B97F4A7C15ull + 1, 20000 + i), 1);
    assert_int_equal(full, 0);
    uint64_t t = 10000000; /* then a quiet link: a frame every 100 us for two epochs */
    for (uint64_t i = 0; i < 140000; i++, t += 100000)
        recent_digests_seen(&r, (i + 20000) * 0x9E3779B97F4A7C15ull + 1, t);
    assert_int_equal(r.index_sets, small);
    recent_digests_fini(&r);
}

/* Against a list of every digest remembered: the same verdict for each of 200k frames drawn
 * from a small pool of digests, at random gaps around the window, in bursts. */
static void same_verdicts_as_a_plain_list(void **state)
{
    (void)state;
    enum { N = 200000, POOL = 300 };
    const uint64_t window = 5000;
    struct recent_digests r;
    assert_int_equal(recent_digests_init(&r, 65536, window), 0);
    static uint64_t kept_digest[N], kept_ts[N];
    size_t kept = 0, first = 0;
    uint64_t seed = 12345, ts = 1;
    unsigned dups = 0;
    for (int i = 0; i < N; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t digest = ((seed >> 33) % POOL + 1) * 0xD6E8FEB86659FD93ull;
        ts += (seed >> 20) % 256 == 0 ? (seed >> 8) % 20000 : (seed >> 8) % 40;
        while (first < kept && kept_ts[first] + window < ts)
            first++;
        int expect = 0;
        for (size_t k = first; k < kept && !expect; k++)
            expect = kept_digest[k] == digest;
        if (!expect) {
            kept_digest[kept] = digest;
            kept_ts[kept++] = ts;
        }
        dups += expect;
        assert_int_equal(recent_digests_seen(&r, digest, ts), expect);
    }
    assert_true(dups > N / 10); /* the pool is small enough for many repeats */
    recent_digests_fini(&r);
}

/* One frame stamped an hour ahead (a damaged or merged capture) does not make the frames
 * around it forget each other. */
static void a_frame_far_ahead_forgets_nothing(void **state)
{
    (void)state;
    struct recent_digests r;
    assert_int_equal(recent_digests_init(&r, 1024, 1000000), 0);
    const uint64_t k = 0x9E3779B97F4A7C15ull, t = 1000000000;
    for (uint64_t d = 1; d <= 5; d++)
        assert_int_equal(recent_digests_seen(&r, d * k, t + d), 0);
    assert_int_equal(recent_digests_seen(&r, 99 * k, t + 3600000000000ull), 0);
    for (uint64_t d = 1; d <= 5; d++)
        assert_int_equal(recent_digests_seen(&r, d * k, t + d + 10), 1);
    recent_digests_fini(&r);
}

static void window_zero_is_off(void **state)
{
    (void)state;
    struct recent_digests r;
    assert_int_equal(recent_digests_init(&r, 64, 0), 0);
    assert_null(r.ring);
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
        cmocka_unit_test(full_ring_replaces_oldest_and_counts),
        cmocka_unit_test(index_grows_with_a_burst_and_shrinks_after),
        cmocka_unit_test(same_verdicts_as_a_plain_list),
        cmocka_unit_test(a_frame_far_ahead_forgets_nothing),
        cmocka_unit_test(window_zero_is_off),
        cmocka_unit_test(payload_again_not_retransmission),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
