/* bytescan.h - where given bytes occur in a run of packet bytes, 64 at a time, in bounds.
 *
 * Text protocols (FIX) find their delimiters by scanning. A byte-at-a-time loop costs a
 * compare, a bounds check and a branch per byte; these helpers compare 16 bytes per
 * instruction (SSE2, the x86-64 baseline; a plain loop elsewhere) and hand back bitmasks, so
 * a parser steps from delimiter to delimiter with a count-trailing-zeros. They read only
 * the caller's bytes: the short last run of a buffer is scanned as the block that ends with
 * the buffer, and only a buffer shorter than a block is copied into a zeroed one first.
 */
#ifndef TT_BYTESCAN_H
#define TT_BYTESCAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__) && defined(__x86_64__)
#define BYTESCAN_SSE2 1
#include <emmintrin.h>
#endif

#define BYTESCAN_BLOCK 64

/* Bits of the 64 bytes at p, set where the byte is b. p[0..64) must be readable. */
static inline uint64_t bytescan_block(const uint8_t *p, uint8_t b)
{
    uint64_t x = 0;
#if BYTESCAN_SSE2
    const __m128i vb = _mm_set1_epi8((char)b);
    for (int i = 0; i < BYTESCAN_BLOCK; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        x |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, vb)) << i;
    }
#else
    for (int i = 0; i < BYTESCAN_BLOCK; i++)
        x |= (uint64_t)(p[i] == b) << i;
#endif
    return x;
}

/* Scans base[off, min(off + 64, len)): bit i of the result is set when base[off + i] == b;
 * bits past len are clear. Reads only base[0, len): the last, short run of a buffer is
 * scanned as the block that ends at len (shifted down), and only a buffer shorter than a
 * block is copied into a zeroed one. */
static inline uint64_t bytescan64(const uint8_t *base, size_t off, size_t len, uint8_t b)
{
    size_t n = len - off;
    if (n >= BYTESCAN_BLOCK) return bytescan_block(base + off, b);
    if (len >= BYTESCAN_BLOCK) /* n < 64 bytes left: the block ending at len holds them */
        return bytescan_block(base + len - BYTESCAN_BLOCK, b) >> (BYTESCAN_BLOCK - n);
    uint8_t pad[BYTESCAN_BLOCK];
    memset(pad, 0, sizeof(pad));
    memcpy(pad, base + off, n);
    return bytescan_block(pad, b) & ((1ull << n) - 1);
}

/* The sum of p[0..n) as unsigned bytes (checksums). */
static inline uint64_t bytescan_sum(const uint8_t *p, size_t n)
{
    uint64_t sum = 0;
    size_t i = 0;
#if BYTESCAN_SSE2
    /* psadbw against zero adds eight bytes into each 64-bit half */
    __m128i acc = _mm_setzero_si128(), zero = _mm_setzero_si128();
    for (; n - i >= 16; i += 16)
        acc = _mm_add_epi64(
            acc, _mm_sad_epu8(_mm_loadu_si128((const __m128i *)(const void *)(p + i)), zero));
    if (n >= 16 && i < n) { /* the last r bytes: the 16 ending at n, the first 16 - r masked */
        static const uint8_t ones_after[32] = {0,    0,    0,    0,    0,    0,    0,    0,
                                               0,    0,    0,    0,    0,    0,    0,    0,
                                               0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                               0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        __m128i last = _mm_loadu_si128((const __m128i *)(const void *)(p + n - 16));
        __m128i keep = _mm_loadu_si128((const __m128i *)(const void *)(ones_after + (n - i)));
        acc = _mm_add_epi64(acc, _mm_sad_epu8(_mm_and_si128(last, keep), zero));
        i = n;
    }
    sum = (uint64_t)_mm_cvtsi128_si64(acc) +
          (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(acc, acc));
#endif
    for (; i < n; i++)
        sum += p[i];
    return sum;
}

#endif
