/* digest.c - CRC32C in two lanes where the CPU has it, else XXH3 (see digest.h). */
#include "digest.h"

#include <string.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <nmmintrin.h>
#define DIGEST_CRC 1
#endif

static uint64_t mix64(uint64_t x) /* a finaliser: every input bit moves every output bit */
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

static uint64_t digest_xxh3(const void *p, size_t n, uint64_t seed)
{
    return XXH3_64bits_withSeed(p, n, seed);
}

#if DIGEST_CRC
static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* Even words into one lane, odd ones into the other: two chains of the instruction's
 * three-cycle latency run side by side. A short tail is the last 8 bytes again, overlapping;
 * the length, in the seed, keeps such frames apart. */
__attribute__((target("sse4.2"))) static uint64_t digest_crc(const void *data, size_t n,
                                                             uint64_t seed)
{
    const uint8_t *p = data;
    uint64_t a = (uint32_t)seed ^ (uint32_t)n, b = (seed >> 32) ^ ((uint64_t)n << 7);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a = _mm_crc32_u64(a, load64(p + i));
        b = _mm_crc32_u64(b, load64(p + i + 8));
    }
    if (i + 8 <= n) {
        a = _mm_crc32_u64(a, load64(p + i));
        i += 8;
    }
    if (i < n) {
        uint64_t w = 0;
        if (n >= 8)
            w = load64(p + n - 8);
        else
            memcpy(&w, p, n);
        b = _mm_crc32_u64(b, w);
    }
    return mix64(a << 32 ^ b ^ seed);
}
#endif

static int have_crc; /* set before main: no thread sees it change */

__attribute__((constructor)) static void digest_choose(void)
{
#if DIGEST_CRC
    __builtin_cpu_init();
    have_crc = __builtin_cpu_supports("sse4.2");
#endif
}

uint64_t digest_bytes(const void *p, size_t n, uint64_t seed)
{
    uint64_t d;
#if DIGEST_CRC
    if (__builtin_expect(have_crc, 1))
        d = digest_crc(p, n, seed);
    else
#endif
        d = digest_xxh3(p, n, seed);
    return d ? d : 1;
}

const char *digest_method(void)
{
    return have_crc ? "crc32c" : "xxh3";
}
