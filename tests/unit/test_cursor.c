/* test_cursor.c - bounds-checked reads: values, byte order, sticky errors, sub-cursors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "../../agent/decode/cursor.h"

static void reads_in_network_and_little_order(void **state)
{
    (void)state;
    const uint8_t b[] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x11};
    struct cursor c = cur_make(b, sizeof(b));
    assert_int_equal(cur_be16(&c), 0x1234);
    assert_int_equal(cur_le16(&c), 0x7856);
    assert_int_equal(cur_be32(&c), 0x9abcdef0);
    assert_int_equal(cur_u8(&c), 0x11);
    assert_false(cur_failed(&c));
    assert_int_equal(cur_left(&c), 0);
}

static void short_read_is_sticky_and_yields_zero(void **state)
{
    (void)state;
    const uint8_t b[] = {1, 2, 3};
    struct cursor c = cur_make(b, sizeof(b));
    assert_int_equal(cur_be32(&c), 0);
    assert_true(cur_failed(&c));
    assert_int_equal(cur_u8(&c), 0); /* still failing although a byte is there */
    assert_int_equal(cur_left(&c), 0);
    uint8_t out[4] = {9, 9, 9, 9};
    cur_copy(&c, out, 4);
    assert_int_equal(out[0], 0);
}

static void sub_cursor_is_clamped(void **state)
{
    (void)state;
    const uint8_t b[] = {1, 2, 3, 4, 5};
    struct cursor c = cur_make(b, sizeof(b));
    struct cursor s = cur_sub(&c, 2);
    assert_int_equal(cur_left(&s), 2);
    assert_int_equal(cur_u8(&c), 3);
    struct cursor t = cur_sub(&c, 100); /* more than left: clamped to the rest */
    assert_int_equal(cur_left(&t), 2);
    assert_int_equal(cur_left(&c), 0);
    assert_int_equal(cur_be64(&t), 0);
    assert_true(cur_failed(&t));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_in_network_and_little_order),
        cmocka_unit_test(short_read_is_sticky_and_yields_zero),
        cmocka_unit_test(sub_cursor_is_clamped),
    };
    return cmocka_run_group_tests_name("cursor", tests, NULL, NULL);
}
