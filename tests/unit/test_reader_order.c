/* test_reader_order.c - several readers, one order: each worker merges its rings into strictly
 * rising ordinals, never below what it already said it had passed, and loses nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/pipeline/reader_order.h"

#define READERS 3
#define WORKERS 2
#define FRAMES 30000 /* per reader */

static struct reader_order order;
static struct frame_ring rings[READERS][WORKERS];

struct reader_arg {
    uint32_t r;
    unsigned seed;
};

static void publish_row(uint32_t r)
{
    for (int w = 0; w < WORKERS; w++)
        frame_ring_publish(&rings[r][w]);
}

/* Bursts of 1-64 frames, each to a worker by chance; published after 1-3 bursts; a full ring
 * waits (publishing first, as a blocked reader does). */
static void *reader(void *arg)
{
    struct reader_arg *a = arg;
    uint8_t byte = (uint8_t)a->r;
    uint32_t sent = 0, bursts = 0;
    while (sent < FRAMES) {
        uint32_t n = 1 + (uint32_t)rand_r(&a->seed) % 64;
        if (n > FRAMES - sent) n = FRAMES - sent;
        uint64_t base = reader_order_reserve(&order, a->r, n);
        for (uint32_t i = 0; i < n; i++) {
            struct frame f = {.ordinal = base + i, .data = &byte, .caplen = 1, .wirelen = 1};
            struct frame_ring *ring = &rings[a->r][rand_r(&a->seed) % WORKERS];
            while (frame_ring_push(ring, &f, 0) == -ENOSPC) {
                publish_row(a->r);
                reader_order_blocked(&order, a->r, f.ordinal);
                sched_yield();
            }
        }
        sent += n;
        if (++bursts % (1 + (uint32_t)rand_r(&a->seed) % 3) == 0 || sent == FRAMES) {
            publish_row(a->r);
            reader_order_published(&order, a->r);
        }
        if (rand_r(&a->seed) % 8 == 0) sched_yield(); /* readers at different paces */
    }
    reader_order_done(&order, a->r);
    for (int w = 0; w < WORKERS; w++)
        sem_post(rings[a->r][w].bell);
    return NULL;
}

struct worker_arg {
    struct ring_merge m;
    uint64_t frames, disorder, below_passed, wrong_input;
};

static void *worker(void *arg)
{
    struct worker_arg *a = arg;
    struct frame out[64];
    uint64_t last = 0;
    for (;;) {
        uint64_t passed = a->m.passed;
        int done = 0;
        int n = ring_merge_burst(&a->m, out, 64, &done);
        for (int i = 0; i < n; i++) {
            a->disorder += out[i].ordinal <= last;
            a->below_passed += out[i].ordinal <= passed;
            a->wrong_input += out[i].caplen != 1;
            last = out[i].ordinal;
        }
        a->frames += (uint64_t)n;
        ring_merge_release(&a->m);
        if (!n && done) break;
        if (!n) {
            if (a->m.held)
                sched_yield();
            else
                ring_merge_wait(&a->m, 1000000);
        }
    }
    return NULL;
}

static void readers_merge_in_order(void **state)
{
    (void)state;
    reader_order_init(&order, READERS);
    struct frame_ring *cols[WORKERS][READERS];
    static struct worker_arg wa[WORKERS];
    struct reader_arg ra[READERS];
    pthread_t wt[WORKERS], rt[READERS];
    for (int r = 0; r < READERS; r++)
        for (int w = 0; w < WORKERS; w++) {
            assert_int_equal(frame_ring_init(&rings[r][w], 1 << 16), 0); /* small: fills */
            cols[w][r] = &rings[r][w];
            frame_ring_share_bell(&rings[r][w], &rings[0][w]);
        }
    for (int w = 0; w < WORKERS; w++) {
        memset(&wa[w], 0, sizeof(wa[w]));
        assert_int_equal(ring_merge_init(&wa[w].m, &order, cols[w], READERS), 0);
        pthread_create(&wt[w], NULL, worker, &wa[w]);
    }
    for (int r = 0; r < READERS; r++) {
        ra[r] = (struct reader_arg){.r = (uint32_t)r, .seed = 7u + (unsigned)r};
        pthread_create(&rt[r], NULL, reader, &ra[r]);
    }
    for (int r = 0; r < READERS; r++)
        pthread_join(rt[r], NULL);
    uint64_t total = 0;
    for (int w = 0; w < WORKERS; w++) {
        pthread_join(wt[w], NULL);
        assert_int_equal(wa[w].disorder, 0);
        assert_int_equal(wa[w].below_passed, 0);
        assert_int_equal(wa[w].wrong_input, 0);
        assert_true(wa[w].frames > 0);
        total += wa[w].frames;
        /* at the end every frame has passed: the counter's last */
        assert_int_equal(wa[w].m.passed, (uint64_t)READERS * FRAMES);
        ring_merge_fini(&wa[w].m);
    }
    assert_int_equal(total, (uint64_t)READERS * FRAMES);
    for (int r = 0; r < READERS; r++)
        for (int w = 0; w < WORKERS; w++)
            frame_ring_fini(&rings[r][w]);
}

/* With no reader publishing, a worker takes nothing above a reader's low mark, and the
 * counter bounds what it may say it passed. */
static void a_low_mark_holds_the_merge(void **state)
{
    (void)state;
    struct frame_ring a, b;
    assert_int_equal(frame_ring_init(&a, 1 << 16), 0);
    assert_int_equal(frame_ring_init(&b, 1 << 16), 0);
    struct frame_ring *col[2] = {&a, &b};
    reader_order_init(&order, 2);
    struct ring_merge m;
    assert_int_equal(ring_merge_init(&m, &order, col, 2), 0);
    uint8_t byte = 0;
    uint64_t b0 = reader_order_reserve(&order, 0, 4); /* reader 0: 1..4, unpublished */
    uint64_t b1 = reader_order_reserve(&order, 1, 4); /* reader 1: 5..8, published */
    assert_int_equal(b0, 1);
    assert_int_equal(b1, 5);
    for (int i = 0; i < 4; i++) {
        struct frame f = {.ordinal = b1 + (uint64_t)i, .data = &byte, .caplen = 1, .wirelen = 1};
        assert_int_equal(frame_ring_push(&b, &f, 0), 0);
    }
    frame_ring_publish(&b);
    reader_order_published(&order, 1);
    struct frame out[8];
    int done = 1;
    assert_int_equal(ring_merge_burst(&m, out, 8, &done), 0); /* 5..8 wait for 1..4 */
    assert_true(m.held);
    assert_int_equal(done, 0);
    assert_int_equal(m.passed, 0);
    for (int i = 0; i < 2; i++) { /* reader 0 publishes 1 and 2 of its four, then the rest */
        struct frame f = {.ordinal = b0 + (uint64_t)i, .data = &byte, .caplen = 1, .wirelen = 1};
        assert_int_equal(frame_ring_push(&a, &f, 0), 0);
    }
    frame_ring_publish(&a);
    assert_int_equal(ring_merge_burst(&m, out, 8, &done), 2);
    assert_int_equal(out[0].ordinal, 1);
    assert_int_equal(out[1].ordinal, 2);
    assert_int_equal(m.passed, 2); /* reader 0 pushes in order: what it may still push is above 2 */
    ring_merge_release(&m);
    reader_order_published(&order, 0); /* it sent 3 and 4 elsewhere */
    assert_int_equal(ring_merge_burst(&m, out, 8, &done), 4);
    assert_int_equal(out[0].ordinal, 5);
    assert_int_equal(m.passed, 8);
    ring_merge_release(&m);
    ring_merge_fini(&m);
    frame_ring_fini(&a);
    frame_ring_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_low_mark_holds_the_merge),
        cmocka_unit_test(readers_merge_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
