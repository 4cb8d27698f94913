/* digest.h - a 64-bit digest of a few hundred bytes, cheap enough for every frame.
 *
 * Frames captured twice and payloads sent twice are recognised by digests of their bytes
 * (flow/dedup.h). XXH3 costs about 120 instructions for a 128-byte frame; the CPU's CRC32C
 * instruction (SSE4.2, every x86-64 server since 2008) takes 8 bytes at a time in two
 * independent lanes, about a third of that. Where the CPU lacks it (checked once), XXH3.
 * Not for anything an adversary must not collide: a digest equal by design is possible,
 * and costs no more than one frame miscounted as a copy.
 */
#ifndef TT_DIGEST_H
#define TT_DIGEST_H

#include <stddef.h>
#include <stdint.h>

/* The digest of n bytes at p under seed; the length counts. Never 0. */
uint64_t digest_bytes(const void *p, size_t n, uint64_t seed);

/* Which way digest_bytes works on this CPU: "crc32c" or "xxh3". */
const char *digest_method(void);

#endif
