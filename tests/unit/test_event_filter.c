/* test_event_filter.c - --events-filter: each term on built events (type globs, severity,
 * flow, host, port, session, time), negation, terms combined with AND, and clear errors;
 * the time parser it uses (epoch seconds, RFC 3339 with fractions and offsets). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "../../agent/event/event_filter.h"
#include "../../agent/util/units.h"

static struct event ev(enum event_type t, uint8_t last_octet, uint16_t dport, uint64_t ts)
{
    struct event e;
    memset(&e, 0, sizeof(e));
    e.type = (uint16_t)t;
    e.severity = (uint8_t)event_type_severity(t);
    e.ts_ns = ts;
    e.flow_id = 0xabcdef0123456789ull;
    e.key.family = 4;
    e.key.proto = 6;
    e.key.src[10] = e.key.src[11] = e.key.dst[10] = e.key.dst[11] = 0xff;
    e.key.src[12] = 10, e.key.src[15] = last_octet;
    e.key.dst[12] = 10, e.key.dst[15] = 200;
    e.key.sport = 40000;
    e.key.dport = dport;
    return e;
}

static int passes(const char *expr, const struct event *e)
{
    struct event_filter f;
    char err[256];
    assert_int_equal(event_filter_parse(&f, expr, err, sizeof(err)), 0);
    return event_filter_match(&f, e);
}

static void terms(void **state)
{
    (void)state;
    struct event r = ev(EV_TCP_RETRANSMISSION, 1, 9878, 1700000000000000000ull);
    struct event fl = ev(EV_FLOW, 2, 80, 1700000005000000000ull);
    assert_true(passes("", &r));
    assert_true(passes("type=tcp.*", &r));
    assert_false(passes("type=tcp.*", &fl));
    assert_true(passes("type=md.gap|flow", &fl));
    assert_true(passes("type!=flow", &r));
    assert_false(passes("type!=flow", &fl));
    assert_true(passes("severity>=warn", &r));
    assert_false(passes("severity>=warn", &fl));
    assert_true(passes("severity=info", &fl));
    assert_true(passes("flow=abcdef0123456789", &r));
    assert_false(passes("flow=1", &r));
    assert_true(passes("host=10.0.0.1", &r));
    assert_true(passes("host=10.0.0.200", &r)); /* either end */
    assert_false(passes("host=10.0.0.1", &fl));
    assert_false(passes("host=::1", &r));
    assert_true(passes("port=9878", &r));
    assert_true(passes("port=40000", &r));
    assert_false(passes("port=9878", &fl));
    assert_true(passes("from=1700000000,to=1700000001", &r));
    assert_false(passes("from=1700000000,to=1700000001", &fl));
    assert_true(passes("type=tcp.*, severity>=warn host=10.0.0.1", &r)); /* AND, , or space */
    assert_false(passes("type=tcp.*,host=10.0.0.2", &r));
    /* a flowless event never matches a flow term */
    struct event b = r;
    b.type = EV_BURST_MICRO;
    memset(&b.key, 0, sizeof(b.key));
    assert_false(passes("port=9878", &b));
    assert_true(passes("port!=9878", &b));
}

static void sessions(void **state)
{
    (void)state;
    struct event f = ev(EV_FIX_ORDER_REJECT, 1, 9878, 1);
    strcpy(f.u.fix.sender, "GW20");
    strcpy(f.u.fix.target, "EXCH1");
    assert_true(passes("session=GW20", &f));
    assert_true(passes("session=EXCH1", &f));
    assert_false(passes("session=EXCH", &f));
    struct event m = ev(EV_MD_GAP, 1, 26477, 1);
    strcpy(m.u.md.session, "NASDAQ01");
    assert_true(passes("session=NASDAQ01", &m));
    struct event r = ev(EV_TCP_RESET, 1, 9878, 1);
    assert_false(passes("session=GW20", &r));
}

static void errors(void **state)
{
    (void)state;
    struct event_filter f;
    char err[256];
    assert_int_equal(event_filter_parse(&f, "colour=red", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "terms: type=GLOB"));
    assert_int_equal(event_filter_parse(&f, "type=nothing.*", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no event type matches"));
    assert_int_equal(event_filter_parse(&f, "severity>=loud", err, sizeof(err)), -1);
    assert_int_equal(event_filter_parse(&f, "port>=80", err, sizeof(err)), -1);
    assert_int_equal(event_filter_parse(&f, "host=10.0.0", err, sizeof(err)), -1);
    assert_int_equal(event_filter_parse(&f, "from=yesterday", err, sizeof(err)), -1);
    assert_int_equal(event_filter_parse(&f, "type=tcp.fin", err, sizeof(err)), -1); /* internal */
}

static void times(void **state)
{
    (void)state;
    uint64_t t;
    assert_int_equal(parse_time_ns("1700000000", &t), 0);
    assert_int_equal(t, 1700000000000000000ull);
    assert_int_equal(parse_time_ns("1700000000.25", &t), 0);
    assert_int_equal(t, 1700000000250000000ull);
    assert_int_equal(parse_time_ns("2023-11-14T22:13:20Z", &t), 0);
    assert_int_equal(t, 1700000000000000000ull);
    assert_int_equal(parse_time_ns("2023-11-14 22:13:20.000000001", &t), 0);
    assert_int_equal(t, 1700000000000000001ull);
    assert_int_equal(parse_time_ns("2023-11-14T23:13:20.5+01:00", &t), 0);
    assert_int_equal(t, 1700000000500000000ull);
    assert_int_equal(parse_time_ns("2024-02-29T00:00:00Z", &t), 0);
    assert_int_equal(t, 1709164800000000000ull);
    assert_int_equal(parse_time_ns("2023-13-01T00:00:00Z", &t), -1);
    assert_int_equal(parse_time_ns("2023-11-14T22:13:20Zjunk", &t), -1);
    assert_int_equal(parse_time_ns("soon", &t), -1);
    assert_int_equal(parse_time_ns("-5", &t), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(terms),
        cmocka_unit_test(sessions),
        cmocka_unit_test(errors),
        cmocka_unit_test(times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
