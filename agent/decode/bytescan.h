/* bytescan.h - where given bytes occur in a run of packet bytes, 64 at a time, in bounds.
 *
 * Text protocols (FIX) find their delimiters by scanning. A byte-at-a-time loop costs a
 * compare, a bounds check and a branch per byte; these helpers compare 16 bytes per
 * instruction (SSE2, the x86-64 baseline; a plain loop elsewhere) and hand back bitmasks, so
 * a parser steps from delimiter to delimiter with a count-trailing-zeros. They read only
 * [p, p + n): a run shorter than its block is copied into a zeroed block first, and the
 * bits at and past n are cleared, so no byte beyond the caller's bounds is ever touched.
 */
#ifndef TT_BYTESCAN_H
#define TT_BYTESCAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define BYTESCAN_BLOCK 64

/* Bit i of the result is set when p[i] == b, for i < n; n is at most 64. */
static inline uint64_t bytescan64(const uint8_t *p, size_t n, uint8_t b)
{
    uint8_t pad[BYTESCAN_BLOCK];
    if (n < BYTESCAN_BLOCK) { /* the short tail: never read past the caller's bytes */
        memset(pad, 0, sizeof(pad));
        memcpy(pad, p, n);
        p = pad;
    }
    uint64_t x = 0;
#if defined(__SSE2__)
    const __m128i vb = _mm_set1_epi8((char)b);
    for (int i = 0; i < BYTESCAN_BLOCK; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        x |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, vb)) << i;
    }
#else
    for (int i = 0; i < BYTESCAN_BLOCK; i++)
        x |= (uint64_t)(p[i] == b) << i;
#endif
    return n >= BYTESCAN_BLOCK ? x : x & ((1ull << n) - 1);
}

/* The sum of p[0..n) as unsigned bytes (checksums). */
static inline uint64_t bytescan_sum(const uint8_t *p, size_t n)
{
    uint64_t sum = 0;
    size_t i = 0;
#if defined(__SSE2__)
    /* psadbw against zero adds eight bytes into each 64-bit half */
    __m128i acc = _mm_setzero_si128(), zero = _mm_setzero_si128();
    for (; n - i >= 16; i += 16)
        acc = _mm_add_epi64(
            acc, _mm_sad_epu8(_mm_loadu_si128((const __m128i *)(const void *)(p + i)), zero));
    sum = (uint64_t)_mm_cvtsi128_si64(acc) +
          (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(acc, acc));
#endif
    for (; i < n; i++)
        sum += p[i];
    return sum;
}

#endif
