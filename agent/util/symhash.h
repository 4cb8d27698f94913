/* symhash.h - fast symmetric hashing of flow endpoints for tables and worker selection.
 *
 * sym_hash(a, pa, b, pb, extra) == sym_hash(b, pb, a, pa, extra): each endpoint is folded on
 * its own and the two are combined with an addition, which does not care about order. Not a
 * cryptographic hash: inputs come from the network, so callers that fear collisions bound
 * their probe chains (the flow table does). Addresses are 16 bytes (IPv4-mapped for v4).
 */
#ifndef TT_SYMHASH_H
#define TT_SYMHASH_H

#include <stdint.h>
#include <string.h>

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ull;
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ull;
    x ^= x >> 32;
    return x;
}

/* One endpoint, folded: one multiply per address half, independent of each other. */
static inline uint64_t endpoint_fold(const uint8_t addr[16], uint16_t port)
{
    uint64_t lo, hi;
    memcpy(&lo, addr, 8);
    memcpy(&hi, addr + 8, 8);
    return (lo ^ 0x9e3779b97f4a7c15ull) * 0xbf58476d1ce4e5b9ull ^
           (hi ^ ((uint64_t)port << 48 | port)) * 0x94d049bb133111ebull;
}

/* The two endpoints added (order does not matter), then one full mix. */
static inline uint64_t sym_hash(const uint8_t a[16], uint16_t pa, const uint8_t b[16], uint16_t pb,
                                uint64_t extra)
{
    return mix64(endpoint_fold(a, pa) + endpoint_fold(b, pb) + extra);
}

#endif
