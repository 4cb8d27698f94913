/* table_mem.c - shared anonymous mappings for read-first tables (see table_mem.h). */
#include "table_mem.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

/* The mapping's length is kept in front of the table, one cache line before it. */
#define TABLE_HEADER 64

static _Atomic size_t reserved, peak;

static void count(size_t len)
{
    size_t now = atomic_fetch_add(&reserved, len) + len;
    size_t high = atomic_load(&peak);
    while (now > high && !atomic_compare_exchange_weak(&peak, &high, now)) {
    }
}

static void uncount(size_t len)
{
    atomic_fetch_sub(&reserved, len);
}

size_t table_mem_reserved(void)
{
    return atomic_load(&reserved);
}

size_t table_mem_peak(void)
{
    return atomic_load(&peak);
}

void process_resident_bytes(size_t *now, size_t *peak)
{
    struct rusage ru;
    *peak = getrusage(RUSAGE_SELF, &ru) ? 0 : (size_t)ru.ru_maxrss * 1024;
    *now = 0;
    unsigned long size, resident;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f && fscanf(f, "%lu %lu", &size, &resident) == 2)
        *now = (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
    if (f) fclose(f);
}

/* A heap table: [base .. pad][base, len][data: 64-byte aligned ...] */
struct heap_header {
    void *base;
    size_t len;
};

static void *heap_table(size_t n, size_t size, int zero)
{
    if (size && n > (SIZE_MAX - 2 * TABLE_HEADER) / size) return NULL;
    size_t len = 2 * TABLE_HEADER + n * size;
    uint8_t *base = zero ? calloc(1, len) : malloc(len);
    if (!base) return NULL;
    uintptr_t data = ((uintptr_t)base + sizeof(struct heap_header) + TABLE_HEADER - 1) &
                     ~(uintptr_t)(TABLE_HEADER - 1);
    struct heap_header h = {base, len};
    memcpy((void *)(data - sizeof(h)), &h, sizeof(h));
    count(len);
    return (void *)data;
}

void *table_zalloc(size_t n, size_t size)
{
    return heap_table(n, size, 1);
}

void *table_malloc(size_t n, size_t size)
{
    return heap_table(n, size, 0);
}

void table_release(void *p)
{
    if (!p) return;
    struct heap_header h;
    memcpy(&h, (uint8_t *)p - sizeof(h), sizeof(h));
    uncount(h.len);
    free(h.base);
}

void *table_calloc(size_t n, size_t size)
{
    if (size && n > (SIZE_MAX - TABLE_HEADER) / size) return NULL;
#if !TABLE_MEM_MAPPED
    return table_zalloc(n ? n : 1, size ? size : 1);
#else
    size_t len = TABLE_HEADER + n * size;
    /* MAP_SHARED: no zero page, no copy on write (a forked child would share it: the agent
     * does not fork) */
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return NULL;
    *(size_t *)m = len;
    count(len);
    return (uint8_t *)m + TABLE_HEADER;
#endif
}

void table_free(void *p)
{
    if (!p) return;
#if !TABLE_MEM_MAPPED
    table_release(p);
#else
    uint8_t *m = (uint8_t *)p - TABLE_HEADER;
    uncount(*(size_t *)m);
    munmap(m, *(size_t *)m);
#endif
}
