/* test_sink.c - the sink: the ordered merge of the producers' rings (frame, then secondary
 * key, then flow id; never ahead of a producer's watermark), the storm detectors on the merged
 * stream, the counts, and the JSON lines in that order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/config/config.h"
#include "../../agent/sink/sink.h"

struct rig {
    struct tt_config cfg;
    struct sink s;
    struct spsc_ring ring[2];
    _Atomic uint64_t wm[2];
    struct event_source src[2];
    uint64_t counts[EV_MAX];
    char *text;
    size_t len;
    FILE *out;
};

static void rig_init(struct rig *r)
{
    memset(r, 0, sizeof(*r));
    config_defaults(&r->cfg);
    r->cfg.rst_storm_threshold = 3;
    char err[256];
    r->out = open_memstream(&r->text, &r->len);
    const struct sink_params sp = {.rst_storm_threshold = r->cfg.rst_storm_threshold,
                                   .fin_storm_threshold = r->cfg.fin_storm_threshold,
                                   .storm_window_ns = r->cfg.storm_window_ns,
                                   .storm_cooldown_ns = r->cfg.storm_cooldown_ns,
                                   .alerts = &r->cfg.alerts,
                                   .alert_keys = r->cfg.alert_keys};
    assert_int_equal(sink_init(&r->s, &sp, r->out, NULL, NULL, 0, r->counts, err, sizeof(err)), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(spsc_ring_init(&r->ring[i], 64, sizeof(struct event)), 0);
        r->src[i] = (struct event_source){&r->ring[i], &r->wm[i]};
    }
}

static void rig_fini(struct rig *r)
{
    sink_fini(&r->s);
    fclose(r->out);
    free(r->text);
    for (int i = 0; i < 2; i++)
        spsc_ring_fini(&r->ring[i]);
}

/* An event of type on producer p at frame (sub, flow): its ts_ns names it in the output. */
static void put(struct rig *r, int p, enum event_type type, uint64_t frame, uint64_t sub,
                uint64_t flow, uint64_t name)
{
    struct event *e = spsc_ring_reserve(&r->ring[p]);
    assert_non_null(e);
    memset(e, 0, sizeof(*e));
    e->type = (uint16_t)type;
    e->severity = (uint8_t)event_type_severity(type);
    e->frame = frame;
    e->sub = sub;
    e->flow_id = flow;
    e->ts_ns = name;
    spsc_ring_commit(&r->ring[p]);
}

/* The ts_ns of every line written so far, in order, as "a,b,c". */
static const char *written(struct rig *r, char *buf, size_t cap)
{
    fflush(r->out);
    buf[0] = 0;
    for (const char *p = r->text; p && (p = strstr(p, "\"ts_ns\":")); p++) {
        char one[32];
        snprintf(one, sizeof(one), "%s%llu", buf[0] ? "," : "", strtoull(p + 8, NULL, 10));
        strncat(buf, one, cap - strlen(buf) - 1);
    }
    return buf;
}

static void merge_waits_for_the_watermark_of_an_empty_producer(void **state)
{
    (void)state;
    static struct rig r;
    char got[256];
    rig_init(&r);
    put(&r, 0, EV_TCP_RETRANSMISSION, 5, 0, 1, 50);
    put(&r, 0, EV_TCP_RETRANSMISSION, 9, 0, 1, 90);
    atomic_store(&r.wm[0], 9);
    atomic_store(&r.wm[1], 3); /* producer 1 may still say something about frame 4 */
    assert_int_equal(sink_drain(&r.s, r.src, 2), 0);
    atomic_store(&r.wm[1], 7);
    assert_int_equal(sink_drain(&r.s, r.src, 2), 1);
    assert_string_equal(written(&r, got, sizeof(got)), "50");
    put(&r, 1, EV_TCP_DUPLICATE_ACK, 8, 0, 2, 80);
    assert_int_equal(sink_drain(&r.s, r.src, 2), 1); /* 8; 9 waits for producer 1 again */
    atomic_store(&r.wm[1], EVENT_ORDER_END);
    assert_int_equal(sink_drain(&r.s, r.src, 2), 1);
    assert_string_equal(written(&r, got, sizeof(got)), "50,80,90");
    assert_int_equal(r.counts[EV_TCP_RETRANSMISSION], 2);
    assert_int_equal(r.counts[EV_TCP_DUPLICATE_ACK], 1);
    rig_fini(&r);
}

static void one_frame_orders_by_secondary_key_then_flow(void **state)
{
    (void)state;
    static struct rig r;
    char got[256];
    rig_init(&r);
    put(&r, 0, EV_FLOW, 10, 0, 7, 1);
    put(&r, 0, EV_FLOW, 10, 2, 3, 4);
    put(&r, 1, EV_FLOW, 10, 0, 5, 2);
    put(&r, 1, EV_FLOW, 10, 1, 9, 3);
    atomic_store(&r.wm[0], EVENT_ORDER_END);
    atomic_store(&r.wm[1], EVENT_ORDER_END);
    assert_int_equal(sink_drain(&r.s, r.src, 2), 4);
    assert_string_equal(written(&r, got, sizeof(got)), "2,1,3,4");
    rig_fini(&r);
}

/* Resets feed the RST-storm detector of the merged stream; FINs only feed their own detector
 * and are never counted or written. */
static void storms_are_judged_on_the_merged_stream(void **state)
{
    (void)state;
    static struct rig r;
    rig_init(&r);
    for (uint64_t i = 0; i < 3; i++)
        put(&r, (int)(i & 1), EV_TCP_RESET, i + 1, 0, i, 1000 + i);
    put(&r, 0, EV_TCP_FIN, 20, 0, 1, 2000);
    atomic_store(&r.wm[0], EVENT_ORDER_END);
    atomic_store(&r.wm[1], EVENT_ORDER_END);
    sink_drain(&r.s, r.src, 2);
    assert_int_equal(r.counts[EV_TCP_RESET], 3);
    assert_int_equal(r.counts[EV_TCP_RST_STORM], 1);
    assert_int_equal(r.counts[EV_TCP_FIN], 0);
    fflush(r.out);
    assert_null(strstr(r.text, "tcp.fin\""));
    rig_fini(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(merge_waits_for_the_watermark_of_an_empty_producer),
        cmocka_unit_test(one_frame_orders_by_secondary_key_then_flow),
        cmocka_unit_test(storms_are_judged_on_the_merged_stream),
    };
    return cmocka_run_group_tests_name("sink", tests, NULL, NULL);
}
