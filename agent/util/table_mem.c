/* table_mem.c - shared anonymous mappings for read-first tables (see table_mem.h). */
#include "table_mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

/* The mapping's length is kept in front of the table, one cache line before it. */
#define TABLE_HEADER 64

void *table_calloc(size_t n, size_t size)
{
    if (size && n > (SIZE_MAX - TABLE_HEADER) / size) return NULL;
#if !TABLE_MEM_MAPPED
    return calloc(n ? n : 1, size ? size : 1);
#else
    size_t len = TABLE_HEADER + n * size;
    /* MAP_SHARED: no zero page, no copy on write (a forked child would share it: the agent
     * does not fork) */
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return NULL;
    *(size_t *)m = len;
    return (uint8_t *)m + TABLE_HEADER;
#endif
}

void table_free(void *p)
{
    if (!p) return;
#if !TABLE_MEM_MAPPED
    free(p);
#else
    uint8_t *m = (uint8_t *)p - TABLE_HEADER;
    munmap(m, *(size_t *)m);
#endif
}
