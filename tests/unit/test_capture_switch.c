/* test_capture_switch.c - a source replaced while read: a retired source is drained before the
 * reader lets go of it, the switch is idle until the next one comes, ordinals run on, stats add
 * up; and the same with the reader and the owner on two threads. Sources are fakes: a count of
 * frames waiting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "../../agent/capture/capture_switch.h"

struct fake {
    _Atomic int waiting; /* frames queued (another thread may add) */
    uint64_t taken;
    int closed_reads; /* reads after the owner closed it: must stay 0 */
    int closed;
    uint8_t byte;
};

static int fake_rx(struct capture *c, struct frame *frames, int max, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    struct fake *f = (struct fake *)c;
    if (f->closed) f->closed_reads++;
    int n = atomic_load(&f->waiting);
    if (n > max) n = max;
    if (n > 5) n = 5;
    for (int i = 0; i < n; i++)
        frames[i] =
            (struct frame){.ts_ns = ++f->taken, .ordinal = 777, .data = &f->byte, .caplen = 1};
    atomic_fetch_sub(&f->waiting, n);
    return n ? n : -EAGAIN;
}

static void fake_stats(struct capture *c, struct capture_stats *st)
{
    memset(st, 0, sizeof(*st));
    st->frames = st->bytes = ((struct fake *)c)->taken;
}

static const struct capture_ops fake_ops = {
    .name = "fake", .rx_burst = fake_rx, .rx_nowait = fake_rx, .stats = fake_stats};

static void a_retired_source_is_drained_then_replaced(void **state)
{
    (void)state;
    struct fake a = {.waiting = 12, .byte = 'a'}, b = {.waiting = 7, .byte = 'b'};
    struct capture *sw = capture_switch_new(&fake_ops, (struct capture *)&a);
    struct frame fr[64];
    char err[64];
    uint64_t next = 1;
    int n = capture_switch_ops.rx_burst(sw, fr, 64, err, sizeof(err));
    assert_int_equal(n, 5);
    for (int i = 0; i < n; i++)
        assert_int_equal(fr[i].ordinal, next++);
    capture_switch_retire(sw);
    assert_false(capture_switch_retired(sw));
    /* the 7 frames a still holds come out first */
    int got = 0;
    while ((n = capture_switch_ops.rx_nowait(sw, fr, 64, err, sizeof(err))) > 0) {
        for (int i = 0; i < n; i++) {
            assert_int_equal(*fr[i].data, 'a');
            assert_int_equal(fr[i].ordinal, next++);
        }
        got += n;
        assert_false(capture_switch_retired(sw));
    }
    assert_int_equal(got, 7);
    assert_int_equal(n, -EAGAIN);
    assert_true(capture_switch_retired(sw));
    a.closed = 1; /* the owner may close it now: it is never read again */
    atomic_store(&a.waiting, 3);
    assert_int_equal(capture_switch_ops.rx_nowait(sw, fr, 64, err, sizeof(err)), -EAGAIN);
    capture_switch_set(sw, &fake_ops, (struct capture *)&b);
    got = 0;
    while ((n = capture_switch_ops.rx_burst(sw, fr, 64, err, sizeof(err))) > 0) {
        for (int i = 0; i < n; i++) {
            assert_int_equal(*fr[i].data, 'b');
            assert_int_equal(fr[i].ordinal, next++);
        }
        got += n;
    }
    assert_int_equal(got, 7);
    assert_int_equal(a.closed_reads, 0);
    struct capture_stats st;
    capture_switch_ops.stats(sw, &st);
    assert_int_equal(st.frames, 12 + 7);
    capture_switch_ops.close(sw);
}

struct reader {
    struct capture *sw;
    _Atomic int stop;
    uint64_t frames, last, gaps;
};

static void *read_all(void *arg)
{
    struct reader *r = arg;
    struct frame fr[64];
    char err[64];
    while (!atomic_load(&r->stop)) {
        int n = capture_switch_ops.rx_burst(r->sw, fr, 64, err, sizeof(err));
        for (int i = 0; i < n; i++) {
            if (fr[i].ordinal != r->last + 1) r->gaps++;
            r->last = fr[i].ordinal;
            r->frames++;
        }
    }
    return NULL;
}

static void a_switch_under_a_running_reader_loses_nothing(void **state)
{
    (void)state;
    static struct fake src[20];
    struct reader r = {.sw = capture_switch_new(&fake_ops, (struct capture *)&src[0])};
    pthread_t t;
    pthread_create(&t, NULL, read_all, &r);
    uint64_t sent = 0;
    for (int k = 0; k < 20; k++) {
        for (int i = 0; i < 50; i++) { /* frames arrive while the reader reads */
            atomic_fetch_add(&src[k].waiting, 20);
            sent += 20;
        }
        if (k == 19) break;
        capture_switch_retire(r.sw);
        while (!capture_switch_retired(r.sw))
            sched_yield();
        src[k].closed = 1;
        capture_switch_set(r.sw, &fake_ops, (struct capture *)&src[k + 1]);
    }
    while (atomic_load(&src[19].waiting) > 0)
        sched_yield();
    atomic_store(&r.stop, 1);
    pthread_join(t, NULL);
    assert_int_equal(r.frames, sent);
    assert_int_equal(r.gaps, 0);
    for (int k = 0; k < 20; k++)
        assert_int_equal(src[k].closed_reads, 0);
    capture_switch_ops.close(r.sw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_retired_source_is_drained_then_replaced),
        cmocka_unit_test(a_switch_under_a_running_reader_loses_nothing),
    };
    return cmocka_run_group_tests_name("capture_switch", tests, NULL, NULL);
}
