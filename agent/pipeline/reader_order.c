/* reader_order.c - one frame order over several readers (see reader_order.h). */
#include "reader_order.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../util/clock.h"

void reader_order_init(struct reader_order *o, uint32_t nreaders)
{
    memset(o, 0, sizeof(*o));
    atomic_init(&o->next, 1);
    o->nreaders = nreaders;
    for (uint32_t r = 0; r < READERS_MAX; r++)
        atomic_init(&o->r[r].low, ORDER_NONE);
}

/* The low mark is set before the counter moves (both seq_cst): a worker that still reads no
 * mark then reads the counter before this reader's add, and so below its ordinals. */
uint64_t reader_order_reserve(struct reader_order *o, uint32_t r, uint32_t n)
{
    _Atomic uint64_t *low = &o->r[r].low;
    int first = atomic_load_explicit(low, memory_order_relaxed) == ORDER_NONE;
    if (first) atomic_store(low, atomic_load(&o->next));
    uint64_t base = atomic_fetch_add(&o->next, n);
    if (first) atomic_store(low, base);
    return base;
}

void reader_order_published(struct reader_order *o, uint32_t r)
{
    atomic_store(&o->r[r].low, ORDER_NONE); /* after the rings' publish (release) */
}

void reader_order_blocked(struct reader_order *o, uint32_t r, uint64_t ordinal)
{
    atomic_store(&o->r[r].low, ordinal);
}

void reader_order_done(struct reader_order *o, uint32_t r)
{
    atomic_store(&o->r[r].low, ORDER_NONE);
    atomic_fetch_add(&o->readers_done, 1);
}

int ring_merge_init(struct ring_merge *m, struct reader_order *o, struct frame_ring **rings,
                    uint32_t nrings)
{
    memset(m, 0, sizeof(*m));
    m->order = o;
    m->rings = rings;
    m->nrings = nrings;
    m->in = calloc(nrings, sizeof(*m->in));
    return m->in ? 0 : -ENOMEM;
}

void ring_merge_fini(struct ring_merge *m)
{
    free(m->in);
    m->in = NULL;
}

/* Where the unseen frames of reader r begin at the earliest: its low mark (or the counter's
 * value, read first, when it has none); and past the last one fetched, unless the fetch came
 * after that low mark was read and took all that was published. */
static uint64_t unseen_from(const struct ring_merge_in *in, int fresh, uint64_t low, uint64_t next)
{
    uint64_t b = low < next ? low : next;
    if (in->n && (!fresh || in->n == MERGE_BURST) && in->buf[in->n - 1].ordinal + 1 < b)
        b = in->buf[in->n - 1].ordinal + 1;
    return b;
}

int ring_merge_burst(struct ring_merge *m, struct frame *out, int max, int *all_done)
{
    struct reader_order *o = m->order;
    /* the readers' end, the counter, then each low mark before its ring: what a reader
     * published before clearing its mark is then in the ring read after it */
    int done = atomic_load(&o->readers_done) == o->nreaders;
    uint64_t next = atomic_load(&o->next);
    uint64_t lowest = ORDER_NONE, second = ORDER_NONE; /* the two lowest bounds */
    uint32_t lowest_at = 0;
    int empty = 1;
    for (uint32_t r = 0; r < m->nrings; r++) {
        struct ring_merge_in *in = &m->in[r];
        uint64_t low = atomic_load(&o->r[r].low);
        int fresh = in->at == in->n;
        if (fresh) {
            in->n = (uint16_t)frame_ring_burst(m->rings[r], in->buf, MERGE_BURST);
            in->at = 0;
        }
        uint64_t b = unseen_from(in, fresh, low, next);
        if (b < lowest) {
            second = lowest;
            lowest = b;
            lowest_at = r;
        } else if (b < second) {
            second = b;
        }
        if (in->at < in->n) empty = 0;
    }
    /* A frame may go when it is below every other reader's bound: its own reader's unseen
     * frames come after it in its ring. */
    int k = 0;
    for (;;) {
        struct ring_merge_in *best = NULL;
        uint32_t best_r = 0;
        for (uint32_t r = 0; r < m->nrings; r++) {
            struct ring_merge_in *in = &m->in[r];
            if (in->at < in->n &&
                (!best || in->buf[in->at].ordinal < best->buf[best->at].ordinal)) {
                best = in;
                best_r = r;
            }
        }
        if (!best || best->buf[best->at].ordinal >= (best_r == lowest_at ? second : lowest)) break;
        if (k == max) break;
        out[k++] = best->buf[best->at++];
    }
    m->held = 0;
    for (uint32_t r = 0; r < m->nrings; r++)
        if (m->in[r].at < m->in[r].n) m->held = 1;
    /* Every frame of this worker's up to the last handed out is handed out, and when the
     * merge was not cut short by max, every one below the lowest bound. */
    uint64_t passed = k ? out[k - 1].ordinal : 0;
    if (k < max && lowest - 1 > passed) passed = lowest - 1;
    if (passed > m->passed) m->passed = passed;
    *all_done = done && empty;
    return k;
}

void ring_merge_release(struct ring_merge *m)
{
    for (uint32_t r = 0; r < m->nrings; r++)
        if (m->in[r].n && m->in[r].at == m->in[r].n) {
            frame_ring_release(m->rings[r]);
            m->in[r].n = m->in[r].at = 0;
        }
}

void ring_merge_wait(struct ring_merge *m, uint64_t timeout_ns)
{
    int empty = 1;
    for (uint32_t r = 0; r < m->nrings; r++)
        empty &= frame_ring_doze(m->rings[r]);
    if (empty) {
        struct timespec until = mono_after(timeout_ns);
        sem_clockwait(m->rings[0]->bell, CLOCK_MONOTONIC, &until);
    }
    for (uint32_t r = 0; r < m->nrings; r++)
        frame_ring_awake(m->rings[r]);
}
