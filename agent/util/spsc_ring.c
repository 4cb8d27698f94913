/* spsc_ring.c - allocation of the SPSC ring (the operations are inline in the header). */
#include "spsc_ring.h"
#include "table_mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int spsc_ring_init(struct spsc_ring *r, uint64_t capacity, size_t elem_size)
{
    uint64_t cap = 1;
    while (cap < capacity)
        cap <<= 1;
    memset(r, 0, sizeof(*r));
    r->buf = table_malloc(cap, elem_size);
    if (!r->buf) return -ENOMEM;
    r->mask = cap - 1;
    r->elem_size = elem_size;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    return 0;
}

void spsc_ring_prefault(struct spsc_ring *r)
{
    memset(r->buf, 0, (size_t)(r->mask + 1) * r->elem_size);
}

void spsc_ring_fini(struct spsc_ring *r)
{
    table_release(r->buf);
    r->buf = NULL;
}
