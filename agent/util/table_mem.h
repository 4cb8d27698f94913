/* table_mem.h - memory for the preallocated tables, rings and buffers, counted.
 *
 * Every table whose size a setting decides (flows, segments, sessions, rings, read buffers)
 * comes from here, so that what the configured limits allow is known while running:
 * table_mem_reserved() and its high-water mark go into the summary and the metrics, beside
 * the process's peak resident memory. Untouched pages are not resident, so a table sized for
 * millions costs its pages only as it fills.
 *
 * table_calloc() is for tables read before they are written:
 *
 * calloc'd memory is mapped page by page as it is touched. A read of an untouched page maps
 * the kernel's shared zero page; the write that follows copies it, and the copy must flush
 * the old mapping from the TLB of every core the process runs on: an inter-processor
 * interrupt, which a virtual machine pays dearly (15-25 us per page with a second worker
 * running, 3 us alone). Hash tables and counters (index slots, histogram buckets, x++) are
 * read first, so each of their pages paid that. table_calloc() maps shared anonymous memory
 * instead, which has no zero page: the first touch, read or write, backs the page for good.
 * Pages stay untouched (not resident) until used, as with calloc.
 *
 * Sanitizer builds use calloc, so the tables keep their redzones and leak checks.
 */
#ifndef TT_TABLE_MEM_H
#define TT_TABLE_MEM_H

#include <stddef.h>

/* 1 when tables are shared mappings; 0 in sanitizer builds (calloc). */
#if defined(__SANITIZE_ADDRESS__)
#define TABLE_MEM_MAPPED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TABLE_MEM_MAPPED 0
#endif
#endif
#ifndef TABLE_MEM_MAPPED
#define TABLE_MEM_MAPPED 1
#endif

/* n elements of size bytes, zeroed, 64-byte aligned; NULL on overflow or out of memory. */
void *table_calloc(size_t n, size_t size);

/* Frees what table_calloc returned (NULL: nothing). */
void table_free(void *p);

/* n elements of size bytes, 64-byte aligned, from the heap: zeroed (table_zalloc) or not
 * (table_malloc). NULL on overflow or out of memory. Freed with table_release (NULL: nothing). */
void *table_zalloc(size_t n, size_t size);
void *table_malloc(size_t n, size_t size);
void table_release(void *p);

/* Bytes of tables allocated now, and the most there were at any time (process-wide). */
size_t table_mem_reserved(void);
size_t table_mem_peak(void);

/* The process's resident memory now and at its peak, in bytes (0 when unknown). */
void process_resident_bytes(size_t *now, size_t *peak);

#endif
