/* spsc_ring.h - bounded single-producer single-consumer ring of fixed-size elements.
 *
 * Lock-free: the producer owns head, the consumer owns tail, each published with release
 * and read with acquire. Capacity is a power of two fixed at init. Exactly one thread may
 * produce and one consume. No call blocks; a full ring refuses (the caller counts or waits).
 */
#ifndef TT_SPSC_RING_H
#define TT_SPSC_RING_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct spsc_ring {
    alignas(64) _Atomic uint64_t head; /* next slot to write (producer) */
    alignas(64) _Atomic uint64_t tail; /* next slot to read (consumer) */
    alignas(64) uint8_t *buf;
    uint64_t mask;
    size_t elem_size;
};

/* capacity is rounded up to a power of two. Returns 0 or -ENOMEM. */
int spsc_ring_init(struct spsc_ring *r, uint64_t capacity, size_t elem_size);
void spsc_ring_fini(struct spsc_ring *r);
/* Touches every page now (a live producer's first lap would take a page fault every 4 KiB). */
void spsc_ring_prefault(struct spsc_ring *r);

/* Producer: a pointer to the next free slot, or NULL when full. Fill it, then commit. */
static inline void *spsc_ring_reserve(struct spsc_ring *r)
{
    uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint64_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (h - t > r->mask) return NULL;
    return r->buf + (h & r->mask) * r->elem_size;
}

static inline void spsc_ring_commit(struct spsc_ring *r)
{
    uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    atomic_store_explicit(&r->head, h + 1, memory_order_release);
}

/* Consumer: the oldest element, or NULL when empty. Release it with spsc_ring_pop(). */
static inline void *spsc_ring_peek(struct spsc_ring *r)
{
    uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint64_t h = atomic_load_explicit(&r->head, memory_order_acquire);
    if (t == h) return NULL;
    return r->buf + (t & r->mask) * r->elem_size;
}

static inline void spsc_ring_pop(struct spsc_ring *r)
{
    uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    atomic_store_explicit(&r->tail, t + 1, memory_order_release);
}

static inline uint64_t spsc_ring_count(struct spsc_ring *r)
{
    return atomic_load_explicit(&r->head, memory_order_acquire) -
           atomic_load_explicit(&r->tail, memory_order_acquire);
}

#endif
