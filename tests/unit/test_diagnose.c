/* test_diagnose.c - each root-cause rule of diagnose.h on events built here, through the
 * incident engine as `ticktap enrich` feeds it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../agent/enrich/diagnose.h"

#define T0 1700000000000000000ull
#define MS 1000000ull

struct seen {
    struct incident last; /* the last record's incident (samples not kept) */
    char rule[32];
    int records;
};

static void keep(void *arg, const struct incident *inc, enum incident_change ch, uint64_t now)
{
    (void)ch, (void)now;
    struct seen *s = arg;
    s->last = *inc;
    s->last.samples = NULL;
    struct diagnosis d;
    diagnose(inc, &d);
    snprintf(s->rule, sizeof(s->rule), "%s", d.rule);
    s->records++;
}

static json_t *flow(const char *src, const char *dst, int sport, int dport, const char *id)
{
    return json_pack("{s:s, s:s, s:s, s:i, s:i, s:s}", "id", id, "src", src, "dst", dst, "sport",
                     sport, "dport", dport, "proto", "tcp");
}

static json_t *event(const char *type, const char *sev, uint64_t ts, json_t *flow_obj)
{
    json_t *e = json_pack("{s:s, s:s, s:I, s:s}", "schema_version", "1.0.0", "type", type, "ts_ns",
                          (json_int_t)ts, "severity", sev);
    if (flow_obj) json_object_set_new(e, "flow", flow_obj);
    return e;
}

/* Feeds the events (consumed) to a fresh engine, finishes it, returns the last rule. */
static void run(json_t **evs, int n, struct seen *s)
{
    struct incident_config cfg;
    incident_config_default(&cfg);
    memset(s, 0, sizeof(*s));
    struct incident_engine *e = incident_engine_new(&cfg, "test", keep, s);
    assert_non_null(e);
    for (int i = 0; i < n; i++) {
        incident_engine_add(e, evs[i], i);
        json_decref(evs[i]);
    }
    incident_engine_finish(e);
    incident_engine_free(e);
}

static json_t *tcp_event(const char *type, const char *sev, uint64_t ts)
{
    return event(type, sev, ts, flow("10.0.0.1", "10.0.0.2", 40000, 9001, "f1"));
}

static void md(json_t *e, const char *feed, int feeds)
{
    json_object_set_new(e, "md",
                        json_pack("{s:s, s:s, s:s?, s:i, s:i, s:i}", "protocol", "moldudp64",
                                  "session", "S1", "feed", feed, "feeds", feeds, "first_seq", 10,
                                  "count", 2));
}

static void capture_saturated_is_ours(void **state)
{
    (void)state;
    json_t *e = event("capture.saturated", "warn", T0, NULL);
    json_object_set_new(e, "saturated", json_pack("{s:s}", "interface", "eth1"));
    struct seen s;
    run(&e, 1, &s);
    assert_string_equal(s.rule, "capture_saturated");
    assert_string_equal(s.last.key, "interface:eth1");
}

static void md_loss_on_both_feeds_is_upstream(void **state)
{
    (void)state;
    json_t *e[2] = {event("md.gap", "critical", T0, NULL),
                    event("md.arbitration_loss", "warn", T0 + MS, NULL)};
    md(e[0], NULL, 2);
    md(e[1], "A 233.1.1.1:1000", 2);
    struct seen s;
    run(e, 2, &s);
    assert_string_equal(s.rule, "md_loss_both_feeds");
    assert_int_equal(s.last.md_both_lost, 2);
    assert_int_equal(s.last.events, 2); /* one incident: the session, both feeds */
}

static void md_loss_on_one_feed_is_local(void **state)
{
    (void)state;
    json_t *e[3];
    for (int i = 0; i < 3; i++) {
        e[i] = event("md.arbitration_loss", "warn", T0 + (uint64_t)i * MS, NULL);
        md(e[i], "B 233.1.1.2:1000", 2);
    }
    struct seen s;
    run(e, 3, &s);
    assert_string_equal(s.rule, "md_loss_one_feed");
    assert_string_equal(s.last.feeds[0].name, "B 233.1.1.2:1000");
    assert_int_equal(s.last.md_one_lost, 6);
}

static void md_gap_on_a_single_feed_cannot_tell(void **state)
{
    (void)state;
    json_t *e = event("md.gap", "critical", T0, NULL);
    md(e, NULL, 1);
    struct seen s;
    run(&e, 1, &s);
    assert_string_equal(s.rule, "md_loss_single_feed");
}

static void refused_handshakes_mean_service_down(void **state)
{
    (void)state;
    json_t *e[3];
    for (int i = 0; i < 3; i++) {
        char src[32];
        snprintf(src, sizeof(src), "10.1.0.%d", i + 1);
        e[i] = event("tcp.handshake_failed", "critical", T0 + (uint64_t)i * MS,
                     flow(src, "10.2.0.9", 40000 + i, 9878, "fx"));
        json_object_set_new(e[i], "failure", json_pack("{s:s}", "reason", "syn_rejected"));
    }
    struct seen s;
    run(e, 3, &s);
    assert_string_equal(s.rule, "service_down");
    assert_string_equal(s.last.key, "service:10.2.0.9:9878"); /* three clients, one incident */
    assert_int_equal(s.last.events, 3);
}

static void zero_window_means_slow_receiver(void **state)
{
    (void)state;
    json_t *e[2] = {tcp_event("tcp.zero_window", "warn", T0),
                    tcp_event("tcp.retransmission", "warn", T0 + MS)};
    struct seen s;
    run(e, 2, &s);
    assert_string_equal(s.rule, "slow_receiver");
}

static json_t *handshake(uint64_t ts, double rtt_us)
{
    json_t *e = tcp_event("tcp.handshake", "info", ts);
    json_object_set_new(e, "handshake", json_pack("{s:f}", "rtt_us", rtt_us));
    return e;
}

static void rising_rtt_with_retransmissions_is_congestion(void **state)
{
    (void)state;
    json_t *e[3] = {tcp_event("tcp.retransmission", "warn", T0), handshake(T0 + MS, 100),
                    handshake(T0 + 2 * MS, 900)};
    struct seen s;
    run(e, 3, &s);
    assert_string_equal(s.rule, "congestion");
    assert_int_equal(s.last.rtt_first_us, 100);
    assert_int_equal(s.last.rtt_last_us, 900);
}

static void steady_rtt_with_retransmissions_is_path_loss(void **state)
{
    (void)state;
    json_t *e[3] = {tcp_event("tcp.fast_retransmission", "warn", T0), handshake(T0 + MS, 100),
                    handshake(T0 + 2 * MS, 120)};
    struct seen s;
    run(e, 3, &s);
    assert_string_equal(s.rule, "path_loss");
}

static json_t *reject(uint64_t ts, int reason)
{
    json_t *e =
        event("fix.order_reject", "warn", ts, flow("10.1.0.1", "10.2.0.1", 5000, 9878, "f"));
    json_object_set_new(e, "fix",
                        json_pack("{s:s, s:s, s:i}", "sender_comp_id", "EXCH", "target_comp_id",
                                  "GW1", "reason", reason));
    return e;
}

static void one_reject_reason_dominating_is_business(void **state)
{
    (void)state;
    json_t *e[5] = {reject(T0, 3), reject(T0 + MS, 3), reject(T0 + 2 * MS, 3),
                    reject(T0 + 3 * MS, 3), reject(T0 + 4 * MS, 1)};
    struct seen s;
    run(e, 5, &s);
    assert_string_equal(s.rule, "reject_dominant");
    assert_string_equal(s.last.key, "fix:EXCH|GW1");
}

static void mixed_and_few_rejects(void **state)
{
    (void)state;
    json_t *e[4] = {reject(T0, 1), reject(T0 + MS, 2), reject(T0 + 2 * MS, 3),
                    reject(T0 + 3 * MS, 4)};
    struct seen s;
    run(e, 4, &s);
    assert_string_equal(s.rule, "rejects_mixed");
    json_t *one = reject(T0, 7);
    run(&one, 1, &s);
    assert_string_equal(s.rule, "rejects_few");
}

static void fix_sequence_heartbeat_bursts_resets(void **state)
{
    (void)state;
    struct {
        const char *type, *rule;
    } cases[] = {{"fix.seq_gap", "fix_sequence"},
                 {"fix.heartbeat_missed", "fix_heartbeat"},
                 {"burst.micro", "microbursts"},
                 {"tcp.reset", "resets"},
                 {"tcp.spurious_retransmission", "unclassified"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *e;
        if (!strncmp(cases[i].type, "fix.", 4)) {
            e = event(cases[i].type, "warn", T0, NULL);
            json_object_set_new(
                e, "fix", json_pack("{s:s, s:s}", "sender_comp_id", "A", "target_comp_id", "B"));
        } else if (!strcmp(cases[i].type, "burst.micro")) {
            e = event(cases[i].type, "warn", T0, NULL);
            json_object_set_new(e, "burst", json_pack("{s:s}", "interface", "eth0"));
        } else {
            e = tcp_event(cases[i].type, "warn", T0);
        }
        struct seen s;
        run(&e, 1, &s);
        assert_string_equal(s.rule, cases[i].rule);
    }
}

/* The desk's findings: a payload sent twice, RTT spikes on a flow (the largest in the
 * evidence), and the baselines' anomalies, which have no flow and are grouped by their series. */
static void duplicates_spikes_and_anomalies(void **state)
{
    (void)state;
    struct seen s;
    json_t *e = tcp_event("payload.duplicate", "warn", T0);
    run(&e, 1, &s);
    assert_string_equal(s.rule, "payload_duplicate");

    json_t *sp[2];
    for (int i = 0; i < 2; i++) {
        sp[i] = tcp_event("latency.spike", "warn", T0 + (uint64_t)i * MS);
        json_object_set_new(
            sp[i], "spike",
            json_pack("{s:f, s:f}", "value", i ? 9000.0 : 5000.0, "baseline", 250.0));
    }
    run(sp, 2, &s);
    assert_string_equal(s.rule, "latency_spike");
    assert_int_equal(s.last.spike_us, 9000);
    assert_int_equal(s.last.spike_baseline_us, 250);

    struct {
        const char *type, *scope, *rule, *key;
    } cases[] = {{"anomaly.rate", "interface", "anomaly_rate", "interface:all"},
                 {"anomaly.latency", "session", "anomaly_latency", "session:GW1>EX1"},
                 {"anomaly.errors", "feed", "anomaly_errors", "feed:NASDAQTV03"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        e = event(cases[i].type, "warn", T0, NULL);
        json_object_set_new(e, "anomaly",
                            json_pack("{s:s, s:s, s:s, s:f, s:f, s:f}", "scope", cases[i].scope,
                                      "key", strchr(cases[i].key, ':') + 1, "metric", "m", "value",
                                      1085.0, "baseline", 296.3, "band_high", 414.9));
        run(&e, 1, &s);
        assert_string_equal(s.rule, cases[i].rule);
        assert_string_equal(s.last.key, cases[i].key);
        assert_true(s.last.anomaly_value == 1085.0);
    }
}

/* The timers: open after group_wait, an update when it gets worse, close when quiet. */
static void timers_follow_event_time(void **state)
{
    (void)state;
    struct incident_config cfg;
    incident_config_default(&cfg);
    cfg.group_wait_ns = 10 * MS;
    cfg.group_interval_ns = 100 * MS;
    cfg.resolve_ns = 1000 * MS;
    struct seen s = {0};
    struct incident_engine *e = incident_engine_new(&cfg, "t", keep, &s);
    json_t *ev = tcp_event("tcp.retransmission", "warn", T0);
    incident_engine_add(e, ev, 0);
    json_decref(ev);
    assert_int_equal(s.records, 0); /* waiting for group_wait */
    incident_engine_advance(e, T0 + 10 * MS);
    assert_int_equal(s.records, 1);
    assert_int_equal(s.last.revision, 1);
    ev = tcp_event("tcp.lost_segment", "critical", T0 + 20 * MS);
    incident_engine_add(e, ev, 1);
    json_decref(ev);
    assert_int_equal(s.records, 1);                         /* group_interval not over */
    assert_int_equal(incident_engine_replay_from(e, 2), 0); /* the incident's first event */
    incident_engine_advance(e, T0 + 110 * MS);
    assert_int_equal(s.records, 2); /* severity up: an update */
    incident_engine_advance(e, T0 + 1020 * MS);
    assert_int_equal(s.records, 3); /* quiet for resolve: closed */
    assert_int_equal(s.last.state, INC_CLOSED);
    assert_int_equal(incident_engine_replay_from(e, 2), 2); /* nothing open: from the next */
    incident_engine_free(e);
}

/* The same events give the same ids, whatever ran before on another engine. */
static void ids_are_deterministic(void **state)
{
    (void)state;
    struct seen a, b;
    json_t *e1 = tcp_event("tcp.retransmission", "warn", T0);
    json_t *e2 = tcp_event("tcp.retransmission", "warn", T0);
    run(&e1, 1, &a);
    run(&e2, 1, &b);
    assert_string_equal(a.last.id, b.last.id);
}

static void table_full_is_counted(void **state)
{
    (void)state;
    struct incident_config cfg;
    incident_config_default(&cfg);
    cfg.max_incidents = 2;
    struct seen s = {0};
    struct incident_engine *e = incident_engine_new(&cfg, "t", keep, &s);
    for (int i = 0; i < 3; i++) {
        char id[8];
        snprintf(id, sizeof(id), "f%d", i);
        json_t *ev = event("tcp.retransmission", "warn", T0, flow("1.1.1.1", "2.2.2.2", i, 1, id));
        incident_engine_add(e, ev, i);
        json_decref(ev);
    }
    struct incident_engine_stats st;
    incident_engine_stats(e, &st);
    assert_int_equal(st.open_now, 2);
    assert_int_equal(st.dropped_full, 1);
    incident_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(capture_saturated_is_ours),
        cmocka_unit_test(md_loss_on_both_feeds_is_upstream),
        cmocka_unit_test(md_loss_on_one_feed_is_local),
        cmocka_unit_test(md_gap_on_a_single_feed_cannot_tell),
        cmocka_unit_test(refused_handshakes_mean_service_down),
        cmocka_unit_test(zero_window_means_slow_receiver),
        cmocka_unit_test(rising_rtt_with_retransmissions_is_congestion),
        cmocka_unit_test(steady_rtt_with_retransmissions_is_path_loss),
        cmocka_unit_test(one_reject_reason_dominating_is_business),
        cmocka_unit_test(mixed_and_few_rejects),
        cmocka_unit_test(fix_sequence_heartbeat_bursts_resets),
        cmocka_unit_test(duplicates_spikes_and_anomalies),
        cmocka_unit_test(timers_follow_event_time),
        cmocka_unit_test(ids_are_deterministic),
        cmocka_unit_test(table_full_is_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
