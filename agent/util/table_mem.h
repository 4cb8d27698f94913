/* table_mem.h - zeroed memory for tables that are read before they are written.
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

#endif
