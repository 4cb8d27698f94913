/* test_capture_union.c - several live sources read as one: every call reads each source
 * that has frames and merges them by time, frames are renumbered in the order handed out and
 * say their source, a source's error comes after the frames already taken, an idle union
 * waits on every source's descriptor (and wakes for any), stats add up. The sources are
 * fakes: a queue of timed frames each, and a pipe that is readable while frames wait. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../agent/capture/capture_union.h"
#include "../../agent/capture/coalesce.h"

struct fake {
    int waiting;        /* frames queued */
    int fd[2];          /* readable while frames wait */
    uint64_t taken;     /* frames handed out */
    int nowait_only;    /* rx_burst (which may wait) must not be called */
    uint8_t byte;       /* every frame's one byte: tells the source */
    uint64_t ts0, step; /* frame k's time: ts0 + k * step */
    int fail;           /* the next call fails */
};

static int fake_rx_nowait(struct capture *c, struct frame *frames, int max, char *err,
                          size_t errlen)
{
    struct fake *f = (struct fake *)c;
    if (f->fail) {
        f->fail = 0;
        snprintf(err, errlen, "fake %u failed", f->byte);
        return -EIO;
    }
    int n = f->waiting < max ? f->waiting : max;
    if (n > 3) n = 3; /* small bursts: turns show */
    for (int i = 0; i < n; i++)
        frames[i] = (struct frame){.ts_ns = f->ts0 + (f->taken + (uint64_t)i) * f->step,
                                   .ordinal = 999,
                                   .data = &f->byte,
                                   .caplen = 1};
    f->waiting -= n;
    f->taken += (uint64_t)n;
    if (n && !f->waiting) {
        char b;
        assert_int_equal(read(f->fd[0], &b, 1), 1);
    }
    return n ? n : -EAGAIN;
}

static int fake_rx_burst(struct capture *c, struct frame *frames, int max, char *err, size_t errlen)
{
    fail_msg("a union must never call a source's waiting rx_burst");
    return fake_rx_nowait(c, frames, max, err, errlen);
}

static int fake_wait_fd(struct capture *c)
{
    return ((struct fake *)c)->fd[0];
}

static void fake_stats(struct capture *c, struct capture_stats *st)
{
    memset(st, 0, sizeof(*st));
    st->frames = ((struct fake *)c)->taken;
    st->bytes = ((struct fake *)c)->taken;
}

static const struct capture_ops fake_ops = {
    .name = "fake",
    .rx_burst = fake_rx_burst,
    .rx_nowait = fake_rx_nowait,
    .wait_fd = fake_wait_fd,
    .stats = fake_stats,
};

static void fake_add(struct fake *f, int n)
{
    if (!f->waiting) assert_int_equal(write(f->fd[1], "x", 1), 1);
    f->waiting += n;
}

static void merged_by_time_renumbered_with_sources(void **state)
{
    (void)state;
    struct fake f[3];
    const struct capture_ops *ops[3] = {&fake_ops, &fake_ops, &fake_ops};
    struct capture *caps[3];
    for (int i = 0; i < 3; i++) {
        memset(&f[i], 0, sizeof(f[i]));
        assert_int_equal(pipe(f[i].fd), 0);
        f[i].byte = (uint8_t)i;
        f[i].step = 10;
        caps[i] = (struct capture *)&f[i];
    }
    struct capture *u = capture_union_new(ops, caps, 3, 0);
    assert_non_null(u);
    f[0].ts0 = 10; /* 10, 20, ... 70 */
    f[2].ts0 = 15; /* 15, 25, ... 55: arrived between source 0's frames */
    fake_add(&f[0], 7);
    fake_add(&f[2], 5);
    struct frame fr[8];
    char err[64];
    uint64_t next = 1, from[3] = {0}, last_ts = 0;
    int calls = 0;
    for (;;) {
        int n = capture_union_ops.rx_burst(u, fr, 8, err, sizeof(err));
        if (n == -EAGAIN) break;
        assert_true(n > 0 && n <= 8);
        calls++;
        for (int i = 0; i < n; i++) {
            assert_int_equal(fr[i].ordinal, next++);      /* renumbered in the order handed out */
            assert_int_equal(fr[i].data[0], fr[i].input); /* each frame says its source */
            assert_true(fr[i].ts_ns > last_ts);           /* one time line across the sources */
            last_ts = fr[i].ts_ns;
            from[fr[i].input]++;
        }
    }
    assert_int_equal(from[0], 7);
    assert_int_equal(from[1], 0);
    assert_int_equal(from[2], 5);
    assert_int_equal(calls, 4); /* a share of 8 / 3 = 2 frames per source and call */
    struct capture_stats st;
    capture_union_ops.stats(u, &st);
    assert_int_equal(st.frames, 12);
    assert_int_equal(st.bytes, 12);

    /* idle: one wait on every descriptor, at most ~10 ms, then -EAGAIN */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(capture_union_ops.rx_burst(u, fr, 8, err, sizeof(err)), -EAGAIN);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    assert_true(ms >= 5 && ms < 1000);
    /* a frame on the last source is found by the next call */
    fake_add(&f[1], 1);
    assert_int_equal(capture_union_ops.rx_burst(u, fr, 8, err, sizeof(err)), 1);
    assert_int_equal(fr[0].input, 1);
    assert_int_equal(fr[0].ordinal, 13);

    /* a failing source: what the others gave comes first, then its error */
    fake_add(&f[0], 1);
    fake_add(&f[2], 1);
    f[1].fail = 1;
    int total = 0, errors = 0;
    for (int call = 0; call < 4; call++) { /* whichever source is asked first */
        int n = capture_union_ops.rx_burst(u, fr, 8, err, sizeof(err));
        if (n == -EIO) {
            assert_string_equal(err, "fake 1 failed");
            errors++;
        } else if (n > 0) {
            total += n;
        }
    }
    assert_int_equal(errors, 1);
    assert_int_equal(total, 2);
    capture_union_ops.close(u); /* frees the union only: the fakes are ours */
    for (int i = 0; i < 3; i++) {
        close(f[i].fd[0]);
        close(f[i].fd[1]);
    }
}

/* After an idle wait, light traffic gets a short sleep (a wakeup then reads a burst); a
 * source busier than a frame per microsecond is read at once. */
static void coalescing_sleeps_only_for_light_traffic(void **state)
{
    (void)state;
    struct coalesce c = {.sleep_ns = 50000000}; /* 50 ms: far above any stall of the test */
    c.last_wake_ns = mono_ns() - 1000000;
    coalesce_count(&c, 10); /* 10 frames in 1 ms: light */
    uint64_t t0 = mono_ns();
    coalesce_woken(&c);
    assert_true(mono_ns() - t0 >= 50000000);
    assert_int_equal(c.frames, 0);
    c.last_wake_ns = mono_ns();
    coalesce_count(&c, 100000); /* far more than a frame per microsecond since */
    t0 = mono_ns();
    coalesce_woken(&c);
    assert_true(mono_ns() - t0 < 25000000);
    c.sleep_ns = 0; /* off */
    c.last_wake_ns = 0;
    t0 = mono_ns();
    coalesce_woken(&c);
    assert_true(mono_ns() - t0 < 25000000);
}

static uint64_t napped_ns;
static void record_nap(void *ctx, uint64_t ns)
{
    (void)ctx;
    napped_ns = ns;
}

/* With a doorbell the longest sleep starts where it is without one, grows with each sleep
 * that ends with its ring under half full up to COALESCE_BELL_MAX, and a bell that finds its
 * ring fuller (it came late) halves it, never below the sleeps without a bell. */
static void a_bell_lengthens_the_sleep_and_a_late_one_shortens_it(void **state)
{
    (void)state;
    struct coalesce c = {.sleep_ns = 50000};
    coalesce_use_bell(&c, record_nap, NULL);
    uint64_t now = mono_ns();
    c.last_wake_ns = now - 10000000;
    c.frames = 100; /* a frame per 100 us: 2048 frames would take 200 ms */
    assert_int_equal(coalesce_sleep(&c, now), 50000 * COALESCE_STRETCH);
    for (int i = 0; i < 100; i++)
        coalesce_slept(&c, 30); /* quiet sleeps and bells on time */
    assert_int_equal(coalesce_sleep(&c, now), COALESCE_BELL_MAX);
    coalesce_woken(&c);
    assert_true(napped_ns > 0 && napped_ns <= COALESCE_BELL_MAX);
    coalesce_slept(&c, 90);
    assert_int_equal(c.nap_max_ns, COALESCE_BELL_MAX / 2);
    for (int i = 0; i < 20; i++)
        coalesce_slept(&c, 90);
    assert_int_equal(c.nap_max_ns, 50000 * COALESCE_STRETCH);
    for (int i = 0; i < 100; i++)
        coalesce_slept(&c, 30);
    coalesce_slept(&c, 100); /* full: frames may be lost */
    assert_int_equal(c.nap_max_ns, 50000 * COALESCE_STRETCH);
    struct coalesce plain = {.sleep_ns = 50000, .last_wake_ns = now - 10000000, .frames = 100};
    assert_int_equal(coalesce_sleep(&plain, now), 50000 * COALESCE_STRETCH);
}

static void refuses_sources_that_must_wait(void **state)
{
    (void)state;
    struct capture_ops waiting_only = fake_ops;
    waiting_only.rx_nowait = NULL;
    const struct capture_ops *ops[2] = {&fake_ops, &waiting_only};
    struct fake f[2];
    struct capture *caps[2] = {(struct capture *)&f[0], (struct capture *)&f[1]};
    assert_null(capture_union_new(ops, caps, 2, 0));
    assert_null(capture_union_new(ops, caps, 0, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(merged_by_time_renumbered_with_sources),
        cmocka_unit_test(coalescing_sleeps_only_for_light_traffic),
        cmocka_unit_test(a_bell_lengthens_the_sleep_and_a_late_one_shortens_it),
        cmocka_unit_test(refuses_sources_that_must_wait),
    };
    return cmocka_run_group_tests_name("capture_union", tests, NULL, NULL);
}
