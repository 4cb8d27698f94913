/* ip_reasm.c - bounded IPv4/IPv6 fragment reassembly (RFC 791 / RFC 8200 section 4.5). */
#include "ip_reasm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../util/counters.h"
#include "../util/table_mem.h"

int ip_reasm_init(struct ip_reasm *r, uint32_t nslots, uint32_t max_bytes, uint64_t timeout_ns)
{
    memset(r, 0, sizeof(*r));
    r->done_slot = -1;
    if (nslots == 0)
        return 0;
    if (max_bytes > 65535)
        max_bytes = 65535;
    r->slots = table_zalloc(nslots, sizeof(*r->slots));
    if (!r->slots)
        return -ENOMEM;
    r->nslots = nslots;
    r->max_bytes = max_bytes;
    r->timeout_ns = timeout_ns;
    uint32_t units = (max_bytes + 7) / 8;
    for (uint32_t i = 0; i < nslots; i++) {
        r->slots[i].buf = table_malloc(1, max_bytes + 8);
        r->slots[i].bitmap = table_zalloc((units + 7) / 8, 1);
        if (!r->slots[i].buf || !r->slots[i].bitmap) {
            ip_reasm_fini(r);
            return -ENOMEM;
        }
    }
    return 0;
}

void ip_reasm_fini(struct ip_reasm *r)
{
    if (r->slots) {
        for (uint32_t i = 0; i < r->nslots; i++) {
            table_release(r->slots[i].buf);
            table_release(r->slots[i].bitmap);
        }
        table_release(r->slots);
    }
    memset(r, 0, sizeof(*r));
    r->done_slot = -1;
}

static void slot_free(struct ip_reasm *r, struct reasm_slot *s)
{
    uint32_t units = (r->max_bytes + 7) / 8;
    memset(s->bitmap, 0, (units + 7) / 8);
    s->in_use = 0;
    s->have_last = 0;
    s->covered = 0;
    s->total_len = 0;
}

void ip_reasm_reset(struct ip_reasm *r)
{
    for (uint32_t i = 0; i < r->nslots; i++)
        if (r->slots[i].in_use || i == (uint32_t)r->done_slot) slot_free(r, &r->slots[i]);
    r->done_slot = -1;
}

static struct reasm_slot *slot_find(struct ip_reasm *r, uint8_t family, const uint8_t *src,
                                    const uint8_t *dst, uint8_t proto, uint32_t id,
                                    struct reasm_slot **free_slot)
{
    *free_slot = NULL;
    for (uint32_t i = 0; i < r->nslots; i++) {
        struct reasm_slot *s = &r->slots[i];
        if (!s->in_use) {
            if (!*free_slot && (int32_t)i != r->done_slot)
                *free_slot = s;
            continue;
        }
        if (s->id == id && s->family == family && s->proto == proto &&
            !memcmp(s->src, src, 16) && !memcmp(s->dst, dst, 16))
            return s;
    }
    return NULL;
}

/* Whether every 8-byte unit of [0, len) is held. Counting units is not enough: fragments
 * past the end given by the last one count too, and then a hole would pass for complete
 * (its bytes whatever the buffer held before). */
static int all_held(const struct reasm_slot *s, uint32_t len)
{
    uint32_t units = (len + 7) / 8;
    for (uint32_t i = 0; i < units / 8; i++)
        if (s->bitmap[i] != 0xff) return 0;
    uint32_t rest = units % 8;
    return !rest || (s->bitmap[units / 8] & ((1u << rest) - 1)) == ((1u << rest) - 1);
}

enum reasm_result ip_reasm_add(struct ip_reasm *r, uint8_t family, const uint8_t *src,
                               const uint8_t *dst, uint8_t proto, uint32_t id, uint32_t off,
                               int more, const uint8_t *data, uint32_t len, uint64_t ts_ns,
                               const uint8_t **out, uint32_t *out_len, int *err)
{
    *err = TT_C_MAX;
    if (r->done_slot >= 0) {
        slot_free(r, &r->slots[r->done_slot]);
        r->done_slot = -1;
    }
    if ((uint64_t)off + len > 65535 || (more && len % 8 != 0) || (more && len == 0)) {
        *err = TT_C_FRAG_BAD_LENGTH;
        return REASM_DROPPED;
    }
    struct reasm_slot *free_slot;
    struct reasm_slot *s = slot_find(r, family, src, dst, proto, id, &free_slot);
    if (!s) {
        if (!free_slot) {
            *err = TT_C_FRAG_TABLE_FULL;
            return REASM_DROPPED;
        }
        s = free_slot;
        s->in_use = 1;
        s->family = family;
        s->proto = proto;
        s->id = id;
        memcpy(s->src, src, 16);
        memcpy(s->dst, dst, 16);
        s->first_ts_ns = ts_ns;
    }
    if (off + len > r->max_bytes) {
        *err = TT_C_FRAG_BUFFER_FULL;
        slot_free(r, s);
        return REASM_DROPPED;
    }
    if (!more) {
        if (s->have_last && s->total_len != off + len)
            *err = TT_C_FRAG_OVERLAP;
        else {
            s->have_last = 1;
            s->total_len = off + len;
        }
    }
    /* Copy unit by unit; a unit already held keeps its first bytes. */
    for (uint32_t u = off / 8; u * 8 < off + len; u++) {
        uint32_t ustart = u * 8, uend = ustart + 8;
        if (uend > off + len)
            uend = off + len;
        const uint8_t *src_bytes = data + (ustart - off);
        uint32_t n = uend - ustart;
        if (s->bitmap[u / 8] & (1u << (u % 8))) {
            if (memcmp(s->buf + ustart, src_bytes, n) != 0)
                *err = TT_C_FRAG_OVERLAP;
            continue;
        }
        memcpy(s->buf + ustart, src_bytes, n);
        s->bitmap[u / 8] |= (uint8_t)(1u << (u % 8));
        s->covered++;
    }
    uint32_t units = (s->total_len + 7) / 8;
    if (s->have_last && s->covered >= units && all_held(s, s->total_len)) {
        if (s->covered > units) /* bytes past the end the last fragment gives: left out */
            *err = TT_C_FRAG_BAD_LENGTH;
        *out = s->buf;
        *out_len = s->total_len;
        r->done_slot = (int32_t)(s - r->slots);
        return REASM_COMPLETE;
    }
    return REASM_HELD;
}

uint32_t ip_reasm_expire(struct ip_reasm *r, uint64_t now_ns)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < r->nslots; i++) {
        struct reasm_slot *s = &r->slots[i];
        if (s->in_use && (int32_t)i != r->done_slot && now_ns > s->first_ts_ns &&
            now_ns - s->first_ts_ns > r->timeout_ns) {
            slot_free(r, s);
            n++;
        }
    }
    return n;
}
