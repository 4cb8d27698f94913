/* shared_reader.c - workers take turns reading an offline capture into a ring of chunks. */
#include "shared_reader.h"
#include "../util/table_mem.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Chunks in the ring per worker: room for each worker to be a chunk or two apart. */
#define CHUNKS_PER_WORKER 4
/* A worker reads when fewer than this many chunks from its own are filled, so the next
 * chunk is usually there before anyone needs it: while one worker reads, the others
 * analyse, instead of all of them meeting at the end of the input and waiting. */
#define READ_AHEAD 3

int shared_reader_init(struct shared_reader *r, const struct capture_ops *ops, struct capture *cap,
                       uint32_t nworkers, const struct dispatcher *d, struct burst_detector *burst,
                       uint64_t tick_ns, _Atomic int *stop)
{
    memset(r, 0, sizeof(*r));
    r->ops = ops;
    r->cap = cap;
    r->nworkers = nworkers;
    r->nchunks = CHUNKS_PER_WORKER * nworkers;
    r->d = *d;
    r->burst = burst;
    r->tick_ns = tick_ns;
    r->stop = stop;
    atomic_init(&r->token, 0);
    atomic_init(&r->filled, 0);
    atomic_init(&r->ended, 0);
    if (!(r->chunks = calloc(r->nchunks, sizeof(*r->chunks)))) return -ENOMEM;
    for (uint32_t i = 0; i < r->nchunks; i++) {
        struct chunk *c = &r->chunks[i];
        atomic_init(&c->readers_left, 0);
        c->frames = table_malloc(CHUNK_FRAMES, sizeof(*c->frames));
        c->bytes = table_malloc(1, CAPTURE_INTO_MIN);
        c->walk =
            table_malloc((size_t)nworkers * (CHUNK_FRAMES + CHUNK_WALK_PAD), sizeof(*c->walk));
        c->nwalk = table_malloc(nworkers, sizeof(*c->nwalk));
        c->marks = table_malloc(CHUNK_FRAMES, sizeof(*c->marks));
        c->bursts = table_malloc(CHUNK_FRAMES, sizeof(*c->bursts)); /* touched only when used */
        if (!c->frames || !c->bytes || !c->walk || !c->nwalk || !c->marks || !c->bursts)
            return -ENOMEM;
    }
    return 0;
}

void shared_reader_fini(struct shared_reader *r)
{
    for (uint32_t i = 0; r->chunks && i < r->nchunks; i++) {
        struct chunk *c = &r->chunks[i];
        table_release(c->frames);
        table_release(c->bytes);
        table_release(c->walk);
        table_release(c->nwalk);
        table_release(c->marks);
        table_release(c->bursts);
    }
    free(r->chunks);
    r->chunks = NULL;
}

/* With the token: whose each frame is (appended to its worker's walk) and which frames every
 * worker must see (marks, appended to every walk). */
static void steer(struct shared_reader *r, struct chunk *c, uint32_t n)
{
    uint32_t count[DISPATCH_MAX_WORKERS] = {0};
    uint32_t nmarks = 0, nbursts = 0;
    const size_t stride = CHUNK_FRAMES + CHUNK_WALK_PAD;
    for (uint32_t i = 0; i < n; i++) {
        struct frame *f = &c->frames[i];
        uint32_t w = dispatch_pick(&r->d, f);
        int tick = f->ts_ns >= r->next_tick_ns;
        if (tick) r->next_tick_ns = f->ts_ns + r->tick_ns;
        if (r->baseline_ns && f->ts_ns >= r->next_baseline_ns) { /* a baseline interval begins */
            r->next_baseline_ns = (f->ts_ns / r->baseline_ns + 1) * r->baseline_ns;
            tick = 1;
        }
        int burst = r->burst && burst_feed(r->burst, f->ts_ns, f->wirelen, &c->bursts[nbursts]);
        if (!(tick || burst || i == n - 1)) {
            c->walk[w * stride + count[w]++] = (uint16_t)i;
            continue;
        }
        c->marks[nmarks++] = (struct chunk_mark){(uint16_t)i, (uint16_t)(burst ? ++nbursts : 0)};
        for (uint32_t k = 0; k < r->nworkers; k++)
            c->walk[k * stride + count[k]++] =
                (uint16_t)(i | CHUNK_MARK | (k == w ? CHUNK_MARK_OWN : 0));
    }
    for (uint32_t w = 0; w < r->nworkers; w++) {
        c->nwalk[w] = count[w];
        memset(&c->walk[w * stride + count[w]], 0, CHUNK_WALK_PAD * sizeof(*c->walk));
    }
    c->nframes = n;
    c->nmarks = nmarks;
}

/* With the token: fills the next chunk if the slowest worker has released its slot. Returns
 * 1 when it published one, 0 when the slot is still in use, -1 at the end of the input. */
static int fill_one(struct shared_reader *r)
{
    uint64_t seq = atomic_load_explicit(&r->filled, memory_order_relaxed);
    struct chunk *c = &r->chunks[seq % r->nchunks];
    if (atomic_load_explicit(&c->readers_left, memory_order_acquire)) return 0;
    int n;
    char err[512];
    while ((n = r->ops->rx_into(r->cap, c->bytes, CAPTURE_INTO_MIN, c->frames, CHUNK_FRAMES, err,
                                sizeof(err))) < 0) {
        /* A file broke part-way: said once, counted for the exit code; the others go on. */
        fprintf(stderr, "ticktap: %s\n", err);
        r->errors++;
        if (n != -EIO) break;
    }
    if (n <= 0) {
        atomic_store_explicit(&r->ended, 1, memory_order_release);
        return -1;
    }
    steer(r, c, (uint32_t)n);
    atomic_store_explicit(&c->readers_left, r->nworkers, memory_order_relaxed);
    atomic_store_explicit(&r->filled, seq + 1, memory_order_release);
    return 1;
}

struct chunk *shared_reader_get(struct shared_reader *r, uint64_t seq)
{
    for (;;) {
        uint64_t filled = atomic_load_explicit(&r->filled, memory_order_acquire);
        if (filled < seq + READ_AHEAD && !atomic_load_explicit(&r->ended, memory_order_acquire) &&
            !atomic_exchange_explicit(&r->token, 1, memory_order_acquire)) {
            while (atomic_load_explicit(&r->filled, memory_order_relaxed) < seq + READ_AHEAD &&
                   fill_one(r) == 1)
                ;
            atomic_store_explicit(&r->token, 0, memory_order_release);
            filled = atomic_load_explicit(&r->filled, memory_order_acquire);
        }
        if (seq < filled) return &r->chunks[seq % r->nchunks];
        /* ended is set after the last chunk is published: read it first */
        if (atomic_load_explicit(&r->ended, memory_order_acquire) &&
            seq >= atomic_load_explicit(&r->filled, memory_order_acquire))
            return NULL;
        if (r->stop && atomic_load_explicit(r->stop, memory_order_relaxed)) return NULL;
        sched_yield(); /* another worker is reading, or the slowest still holds the slot */
    }
}

void shared_reader_release(struct chunk *c)
{
    atomic_fetch_sub_explicit(&c->readers_left, 1, memory_order_release);
}
