/* cursor.h - bounds-checked reads of packet bytes.
 *
 * A cursor is {p, end}. Every reader checks that its bytes lie inside [p, end); when they
 * do not, it marks the cursor failed (sticky: end becomes NULL, so nothing is left), yields 0
 * and leaves p alone, so a decoder reads several fields and checks cur_failed() once. Two
 * pointers, so a cursor passed or returned by value travels in registers. Names carry the byte
 * order. Packet bytes are never cast to structs. All functions are inline, allocation-free and safe
 * on any input.
 */
#ifndef TT_CURSOR_H
#define TT_CURSOR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct cursor {
    const uint8_t *p;
    const uint8_t *end; /* NULL once a read ran past the end: failed, never cleared */
};

static inline struct cursor cur_make(const uint8_t *p, size_t len)
{
    struct cursor c = {p, p + len};
    return c;
}

static inline int cur_failed(const struct cursor *c)
{
    return c->end == NULL;
}

static inline void cur_fail(struct cursor *c)
{
    c->end = NULL;
}

static inline size_t cur_left(const struct cursor *c)
{
    return c->end ? (size_t)(c->end - c->p) : 0;
}

static inline int cur_has(const struct cursor *c, size_t n)
{
    return c->end && (size_t)(c->end - c->p) >= n;
}

static inline void cur_skip(struct cursor *c, size_t n)
{
    if (cur_has(c, n))
        c->p += n;
    else
        cur_fail(c);
}

static inline uint8_t cur_u8(struct cursor *c)
{
    if (!cur_has(c, 1)) {
        cur_fail(c);
        return 0;
    }
    return *c->p++;
}

static inline uint16_t cur_be16(struct cursor *c)
{
    if (!cur_has(c, 2)) {
        cur_fail(c);
        return 0;
    }
    uint16_t v = (uint16_t)((c->p[0] << 8) | c->p[1]);
    c->p += 2;
    return v;
}

static inline uint32_t cur_be24(struct cursor *c)
{
    if (!cur_has(c, 3)) {
        cur_fail(c);
        return 0;
    }
    uint32_t v = ((uint32_t)c->p[0] << 16) | ((uint32_t)c->p[1] << 8) | c->p[2];
    c->p += 3;
    return v;
}

static inline uint32_t cur_be32(struct cursor *c)
{
    if (!cur_has(c, 4)) {
        cur_fail(c);
        return 0;
    }
    uint32_t v =
        ((uint32_t)c->p[0] << 24) | ((uint32_t)c->p[1] << 16) | ((uint32_t)c->p[2] << 8) | c->p[3];
    c->p += 4;
    return v;
}

static inline uint64_t cur_be64(struct cursor *c)
{
    uint64_t hi = cur_be32(c);
    uint64_t lo = cur_be32(c);
    return cur_failed(c) ? 0 : (hi << 32) | lo;
}

static inline uint16_t cur_le16(struct cursor *c)
{
    if (!cur_has(c, 2)) {
        cur_fail(c);
        return 0;
    }
    uint16_t v = (uint16_t)(c->p[0] | (c->p[1] << 8));
    c->p += 2;
    return v;
}

static inline uint32_t cur_le32(struct cursor *c)
{
    if (!cur_has(c, 4)) {
        cur_fail(c);
        return 0;
    }
    uint32_t v = (uint32_t)c->p[0] | ((uint32_t)c->p[1] << 8) | ((uint32_t)c->p[2] << 16) |
                 ((uint32_t)c->p[3] << 24);
    c->p += 4;
    return v;
}

static inline uint64_t cur_le64(struct cursor *c)
{
    uint64_t lo = cur_le32(c);
    uint64_t hi = cur_le32(c);
    return cur_failed(c) ? 0 : (hi << 32) | lo;
}

/* Copies n bytes out; on a short read fails the cursor and zero-fills dst. */
static inline void cur_copy(struct cursor *c, void *dst, size_t n)
{
    if (!cur_has(c, n)) {
        cur_fail(c);
        memset(dst, 0, n);
        return;
    }
    memcpy(dst, c->p, n);
    c->p += n;
}

/* Takes a fixed-size header in one check: returns a pointer to the next n bytes and advances
 * past them, or NULL (the cursor failed) when fewer remain. Read the header with the ld_* helpers
 * at offsets below n only; that is what keeps those loads in bounds. */
static inline const uint8_t *cur_take(struct cursor *c, size_t n)
{
    if (!cur_has(c, n)) {
        cur_fail(c);
        return NULL;
    }
    const uint8_t *h = c->p;
    c->p += n;
    return h;
}

/* Takes the bytes up to (not including) the first byte equal to stop, and steps over stop.
 * Returns them with their length in *n, or NULL (the cursor failed) when stop does not occur. For
 * text protocols (FIX tag=value fields). */
static inline const uint8_t *cur_take_until(struct cursor *c, uint8_t stop, size_t *n)
{
    if (cur_failed(c)) return NULL;
    for (const uint8_t *q = c->p; q < c->end; q++)
        if (*q == stop) {
            const uint8_t *h = c->p;
            *n = (size_t)(q - h);
            c->p = q + 1;
            return h;
        }
    cur_fail(c);
    return NULL;
}

static inline uint16_t ld_be16(const uint8_t *h)
{
    return (uint16_t)((h[0] << 8) | h[1]);
}

static inline uint32_t ld_be32(const uint8_t *h)
{
    return ((uint32_t)h[0] << 24) | ((uint32_t)h[1] << 16) | ((uint32_t)h[2] << 8) | h[3];
}

static inline uint32_t ld_le32(const uint8_t *h)
{
    return ((uint32_t)h[3] << 24) | ((uint32_t)h[2] << 16) | ((uint32_t)h[1] << 8) | h[0];
}

/* A sub-cursor over the next n bytes, clamped to what is left (compare cur_left() with n to
 * tell "truncated" from "whole"). The parent cursor advances past the bytes taken. */
static inline struct cursor cur_sub(struct cursor *c, size_t n)
{
    size_t left = cur_left(c);
    if (n > left) n = left;
    struct cursor s = {c->p, c->p + n};
    c->p += n;
    return s;
}

#endif
