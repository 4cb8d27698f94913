/* frame_ring.c - variable-size SPSC frame ring (see frame_ring.h). */
#include "frame_ring.h"
#include "../util/clock.h"
#include "../util/table_mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct rec_hdr {
    uint64_t ts_ns;
    uint64_t ordinal;
    const uint8_t *ref; /* by reference: the bytes stay where the source keeps them */
    uint32_t caplen;
    uint32_t wirelen;
    int32_t linktype; /* -1: wrap marker */
    uint8_t input;
    uint8_t key_hashed; /* the steering's flow hash travels with the frame */
    uint32_t key_hash;
};

int frame_ring_init(struct frame_ring *r, uint64_t bytes)
{
    uint64_t size = 1 << 16;
    while (size < bytes)
        size <<= 1;
    memset(r, 0, sizeof(*r));
    r->buf = table_malloc(1, size);
    if (!r->buf) return -ENOMEM;
    r->size = size;
    sem_init(&r->wake, 0, 0);
    r->bell = &r->wake;
    return 0;
}

void frame_ring_prefault(struct frame_ring *r)
{
    memset(r->buf, 0, r->size);
}

void frame_ring_fini(struct frame_ring *r)
{
    if (r->buf) sem_destroy(&r->wake);
    table_release(r->buf);
    r->buf = NULL;
}

static uint64_t rec_size(uint32_t caplen)
{
    return sizeof(struct rec_hdr) + (((uint64_t)caplen + 7) & ~7ull);
}

int frame_ring_push(struct frame_ring *r, const struct frame *f, int by_ref)
{
    uint64_t head = r->prod_head;
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    uint64_t need = by_ref ? sizeof(struct rec_hdr) : rec_size(f->caplen);
    uint64_t off = head & (r->size - 1);
    uint64_t to_end = r->size - off;
    /* A record never straddles the end: the rest becomes a wrap marker. */
    uint64_t total = need <= to_end ? need : to_end + need;
    if (need > r->size / 2) return -EMSGSIZE;
    if (head + total - tail > r->size) return -ENOSPC;
    if (total != need) {
        struct rec_hdr *w = (struct rec_hdr *)(r->buf + off);
        if (to_end >= sizeof(*w)) w->linktype = -1;
        off = 0;
    }
    struct rec_hdr *h = (struct rec_hdr *)(r->buf + off);
    h->ts_ns = f->ts_ns;
    h->ordinal = f->ordinal;
    h->caplen = f->caplen;
    h->wirelen = f->wirelen;
    h->linktype = f->linktype;
    h->input = f->input;
    h->key_hashed = f->key_hashed;
    h->key_hash = f->key_hash;
    h->ref = by_ref ? f->data : NULL;
    if (!by_ref) memcpy(h + 1, f->data, f->caplen);
    r->prod_head = head + total;
    return 0;
}

void frame_ring_publish(struct frame_ring *r)
{
    if (atomic_load_explicit(&r->head, memory_order_relaxed) == r->prod_head)
        return; /* nothing new: a sleeping consumer sleeps on */
    atomic_store_explicit(&r->head, r->prod_head, memory_order_release);
    /* Against frame_ring_wait's: store asleep, then load head. With a full fence on both
     * sides, either the consumer sees these frames or this sees it asleep. */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&r->asleep, memory_order_relaxed) &&
        atomic_exchange_explicit(&r->asleep, 0, memory_order_relaxed))
        sem_post(r->bell);
}

void frame_ring_share_bell(struct frame_ring *r, struct frame_ring *to)
{
    r->bell = &to->wake;
}

int frame_ring_doze(struct frame_ring *r)
{
    atomic_store_explicit(&r->asleep, 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
    return atomic_load_explicit(&r->head, memory_order_relaxed) ==
           atomic_load_explicit(&r->tail, memory_order_relaxed);
}

void frame_ring_awake(struct frame_ring *r)
{
    atomic_store_explicit(&r->asleep, 0, memory_order_relaxed);
}

void frame_ring_wait(struct frame_ring *r, uint64_t timeout_ns)
{
    if (frame_ring_doze(r)) {
        struct timespec until = mono_after(timeout_ns);
        sem_clockwait(r->bell, CLOCK_MONOTONIC, &until);
    }
    frame_ring_awake(r);
}

int frame_ring_burst(struct frame_ring *r, struct frame *frames, int max)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    uint64_t pos = atomic_load_explicit(&r->tail, memory_order_relaxed);
    int n = 0;
    while (n < max && pos < head) {
        uint64_t off = pos & (r->size - 1);
        uint64_t to_end = r->size - off;
        struct rec_hdr *h = (struct rec_hdr *)(r->buf + off);
        if (to_end < sizeof(*h) || h->linktype == -1) {
            pos += to_end;
            continue;
        }
        struct frame *f = &frames[n++];
        f->ts_ns = h->ts_ns;
        f->ordinal = h->ordinal;
        f->caplen = h->caplen;
        f->wirelen = h->wirelen;
        f->linktype = h->linktype;
        f->input = h->input;
        f->key_hashed = h->key_hashed;
        f->key_hash = h->key_hash;
        f->data = h->ref ? h->ref : (const uint8_t *)(h + 1);
        pos += h->ref ? sizeof(*h) : rec_size(h->caplen);
    }
    r->read_pos = pos;
    return n;
}

void frame_ring_release(struct frame_ring *r)
{
    atomic_store_explicit(&r->tail, r->read_pos, memory_order_release);
}
