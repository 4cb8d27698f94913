/* test_shared_reader.c - workers reading one capture in turns: every frame reaches exactly
 * one worker, in order, the worker a single dispatcher would have picked; the marks fall on
 * each tick of packet time and on each chunk's last frame. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../agent/pipeline/shared_reader.h"
#include "../gen/pcapw.h"

#define NFRAMES 200000 /* about 50 chunks: several turns of the ring of 12 */
#define NWORKERS 3

static char path[] = "/tmp/tt-shared-XXXXXX";

static void write_flows(int fd)
{
    struct pcapw w;
    close(fd);
    assert_int_equal(pcapw_open(&w, path, 1), 0);
    for (int i = 0; i < NFRAMES; i++) {
        struct ipaddrs a;
        char cli[32];
        int flow = (i * 7919) % 200;
        snprintf(cli, sizeof(cli), "10.0.%d.%d", flow / 100, flow % 100 + 1);
        ipaddrs_set(&a, cli, "10.9.0.1");
        if (i % 2) ipaddrs_swap(&a);
        struct buf b = {.n = 0};
        build_eth(&b, NULL, 0, 0x0800);
        build_ip(&b, &a, 6, 20, (uint16_t)i, 0, 0);
        uint16_t cport = (uint16_t)(40000 + flow);
        build_tcp(&b, i % 2 ? 443 : cport, i % 2 ? cport : 443, (uint32_t)i, 1, 0x10, 100, NULL);
        pcapw_write(&w, 1000000000ull + (uint64_t)i * 100, b.b, b.n);
    }
    assert_int_equal(pcapw_close(&w), 0);
}

#define TICK_NS 1000000ull /* the capture's frames are 100 ns apart: a mark every 10000 */

struct seen {
    struct shared_reader *r;
    int id;
    uint32_t n, nmarks;
    uint64_t ordinals[NFRAMES];
    uint64_t marks[NFRAMES];
};

static void *walk(void *arg)
{
    struct seen *s = arg;
    struct chunk *c;
    for (uint64_t seq = 0; (c = shared_reader_get(s->r, seq)); seq++) {
        uint32_t nwalk;
        const uint16_t *entries = chunk_walk(c, (uint32_t)s->id, &nwalk);
        uint32_t k = 0;
        for (uint32_t i = 0; i < nwalk; i++) {
            const struct frame *f = &c->frames[entries[i] & CHUNK_INDEX];
            if (entries[i] & CHUNK_MARK) { /* every worker's walk has every mark, in order */
                assert_int_equal(entries[i] & CHUNK_INDEX, c->marks[k].frame);
                assert_int_equal(c->marks[k].burst, 0);
                if (k) assert_true(c->marks[k].frame > c->marks[k - 1].frame);
                s->marks[s->nmarks++] = f->ordinal;
                k++;
                if (!(entries[i] & CHUNK_MARK_OWN)) continue;
            }
            if (i) assert_true((entries[i] & CHUNK_INDEX) > (entries[i - 1] & CHUNK_INDEX));
            /* the frame's bytes are still there: its IP id is its number */
            assert_int_equal((f->data[18] << 8 | f->data[19]), (f->ordinal - 1) & 0xffff);
            s->ordinals[s->n++] = f->ordinal;
        }
        assert_int_equal(k, c->nmarks);
        for (uint32_t p = 0; p < CHUNK_WALK_PAD; p++) /* fetching ahead is safe past the end */
            assert_int_equal(entries[nwalk + p], 0);
        assert_int_equal(c->marks[c->nmarks - 1].frame, c->nframes - 1);
        if (s->id == 1 && seq % 5 == 0)
            usleep(200); /* one slow worker: the others must wait for its slots, not overrun */
        shared_reader_release(c);
    }
    return NULL;
}

static void every_frame_reaches_exactly_its_worker(void **state)
{
    (void)state;
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    write_flows(fd);
    const struct capture_ops *ops = capture_find("pcap-file");
    const char *paths[] = {path};
    char err[512];
    struct capture *cap, *ref;
    assert_int_equal(ops->open(&cap, paths, 1, NULL, err, sizeof(err)), 0);
    assert_int_equal(ops->open(&ref, paths, 1, NULL, err, sizeof(err)), 0);

    static struct dispatcher d, dref;
    dispatch_init(&d, NWORKERS, 4789, 6081, 2152);
    dref = d;
    static struct shared_reader r;
    assert_int_equal(shared_reader_init(&r, ops, cap, NWORKERS, &d, NULL, TICK_NS, NULL), 0);
    static struct seen seen[NWORKERS];
    pthread_t t[NWORKERS];
    for (int i = 0; i < NWORKERS; i++) {
        seen[i].r = &r;
        seen[i].id = i;
        pthread_create(&t[i], NULL, walk, &seen[i]);
    }
    for (int i = 0; i < NWORKERS; i++)
        pthread_join(t[i], NULL);

    /* the reference: one dispatcher over the whole capture, in order */
    static uint8_t want[NFRAMES + 1];
    struct frame frames[64];
    int n;
    while ((n = ops->rx_burst(ref, frames, 64, err, sizeof(err))) > 0)
        for (int i = 0; i < n; i++)
            want[frames[i].ordinal] = (uint8_t)dispatch_pick(&dref, &frames[i]);
    uint32_t total = 0;
    for (int w = 0; w < NWORKERS; w++) {
        assert_true(seen[w].n > NFRAMES / 10); /* each worker has flows of its own */
        for (uint32_t k = 0; k < seen[w].n; k++) {
            assert_int_equal(want[seen[w].ordinals[k]], w);
            if (k) assert_true(seen[w].ordinals[k] > seen[w].ordinals[k - 1]);
        }
        total += seen[w].n;
    }
    assert_int_equal(total, NFRAMES);
    /* every worker saw the same marks: each tick's first frame (1, 10001, ...) and the end of
     * each chunk, the capture's last frame last */
    for (int w = 1; w < NWORKERS; w++) {
        assert_int_equal(seen[w].nmarks, seen[0].nmarks);
        assert_memory_equal(seen[w].marks, seen[0].marks, seen[0].nmarks * sizeof(uint64_t));
    }
    uint32_t ticks = 0;
    for (uint32_t k = 0; k < seen[0].nmarks; k++)
        ticks += (seen[0].marks[k] - 1) % 10000 == 0;
    assert_int_equal(ticks, NFRAMES / 10000);
    assert_int_equal(seen[0].marks[seen[0].nmarks - 1], NFRAMES);
    assert_int_equal(r.errors, 0);
    shared_reader_fini(&r);
    ops->close(cap);
    ops->close(ref);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_frame_reaches_exactly_its_worker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
