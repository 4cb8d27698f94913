/* test_flow_recall.c - an ended flow's TCP state comes back for the same connection in either
 * direction, once; a full set forgets its oldest entry and says so; capacity 0 turns it off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "../../agent/flow/flow_recall.h"

static struct flow flow_of(uint8_t host, uint16_t sport, int reversed)
{
    struct flow f;
    memset(&f, 0, sizeof(f));
    struct flow_key *k = &f.key;
    k->src[15] = reversed ? 200 : host;
    k->dst[15] = reversed ? host : 200;
    k->sport = reversed ? 9001 : sport;
    k->dport = reversed ? sport : 9001;
    k->proto = 6;
    k->family = 4;
    f.hash = flow_key_hash(k);
    tcp_conv_init(&f.tcp);
    return f;
}

static void comes_back_reversed_once(void **state)
{
    (void)state;
    struct flow_recall r;
    assert_int_equal(flow_recall_init(&r, 64), 0);
    struct flow f = flow_of(1, 40000, 0);
    f.tcp.dir[0].nextseq = 100;
    f.tcp.dir[1].nextseq = 200;
    f.tcp.state = TCP_ST_RESET;
    f.tcp.dir[1].rst_seen = 1;
    assert_int_equal(flow_recall_put(&r, &f), 0);

    struct flow other = flow_of(2, 40000, 0);
    assert_int_equal(flow_recall_take(&r, &other), 0); /* another connection */

    struct flow g = flow_of(1, 40000, 1); /* the server sends first this time */
    assert_int_equal(flow_recall_take(&r, &g), 1);
    assert_int_equal(g.tcp.dir[0].nextseq, 200);
    assert_int_equal(g.tcp.dir[1].nextseq, 100);
    assert_int_equal(g.tcp.state, TCP_ST_NONE); /* its life starts anew */
    assert_int_equal(g.tcp.dir[0].rst_seen, 0);

    struct flow h = flow_of(1, 40000, 0);
    assert_int_equal(flow_recall_take(&r, &h), 0); /* taken: gone */
    flow_recall_fini(&r);
}

static void full_set_forgets_its_oldest(void **state)
{
    (void)state;
    struct flow_recall r;
    assert_int_equal(flow_recall_init(&r, 4), 0); /* one set of 4 */
    for (uint16_t i = 0; i < 4; i++) {
        struct flow f = flow_of(1, (uint16_t)(40000 + i), 0);
        assert_int_equal(flow_recall_put(&r, &f), 0);
    }
    struct flow again = flow_of(1, 40003, 0); /* the same connection ended twice: replaced */
    again.tcp.dir[0].nextseq = 77;
    assert_int_equal(flow_recall_put(&r, &again), 0);
    struct flow fifth = flow_of(1, 40004, 0);
    assert_int_equal(flow_recall_put(&r, &fifth), 1);
    struct flow oldest = flow_of(1, 40000, 0);
    assert_int_equal(flow_recall_take(&r, &oldest), 0);
    for (uint16_t i = 1; i < 5; i++) {
        struct flow f = flow_of(1, (uint16_t)(40000 + i), 0);
        assert_int_equal(flow_recall_take(&r, &f), 1);
        if (i == 3) assert_int_equal(f.tcp.dir[0].nextseq, 77);
    }
    flow_recall_fini(&r);
}

static void capacity_zero_is_off(void **state)
{
    (void)state;
    struct flow_recall r;
    assert_int_equal(flow_recall_init(&r, 0), 0);
    struct flow f = flow_of(1, 40000, 0);
    assert_int_equal(flow_recall_put(&r, &f), 0);
    assert_int_equal(flow_recall_take(&r, &f), 0);
    flow_recall_fini(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(comes_back_reversed_once),
        cmocka_unit_test(full_set_forgets_its_oldest),
        cmocka_unit_test(capacity_zero_is_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
