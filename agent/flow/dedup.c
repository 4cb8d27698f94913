/* dedup.c - recent digests in 4-way sets (see dedup.h). */
#include "dedup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#define XXH_INLINE_ALL /* a call per frame into the shared library costs more than the hash */
#include <xxhash.h>

void dedup_config_default(struct dedup_config *c)
{
    memset(c, 0, sizeof(*c));
    c->window_ns = 1000000;           /* copies of a SPAN or TAP arrive within microseconds */
    c->table = 1u << 14; /* 256 KiB: a microburst of thousands of frames in one window fits */
    c->payload_window_ns = 100000000; /* 100 ms: a double-sent order, not a repeated heartbeat */
    c->payload_min = 32;
}

int recent_digests_init(struct recent_digests *r, uint32_t entries, uint64_t window_ns)
{
    memset(r, 0, sizeof(*r));
    r->window_ns = window_ns;
    if (!window_ns) return 0;
    uint32_t sets = 1;
    while (sets * DEDUP_WAYS < entries && sets < (1u << 24))
        sets <<= 1;
    r->sets = aligned_alloc(64, (size_t)sets * sizeof(*r->sets));
    if (r->sets) memset(r->sets, 0, (size_t)sets * sizeof(*r->sets));
    if (!r->sets) return -ENOMEM;
    r->set_mask = sets - 1;
    return 0;
}

void recent_digests_fini(struct recent_digests *r)
{
    free(r->sets);
    r->sets = NULL;
}

void recent_digests_reset(struct recent_digests *r)
{
    if (r->sets) memset(r->sets, 0, ((size_t)r->set_mask + 1) * sizeof(*r->sets));
}

/* Within the window either way: merged captures are not always in time order. */
static int within(uint64_t a, uint64_t b, uint64_t window)
{
    return (a > b ? a - b : b - a) <= window;
}

int recent_digests_seen(struct recent_digests *r, uint64_t digest, uint64_t ts_ns)
{
    struct dedup_set *set = &r->sets[digest & r->set_mask];
    int hit = -1, victim = 0;
    for (int i = 0; i < DEDUP_WAYS; i++) /* no early exit: the compiler compares all at once */
        if (set->digest[i] == digest) hit = i;
    if (hit >= 0 && within(set->ts_ns[hit], ts_ns, r->window_ns)) return 1;
    if (hit >= 0) {
        victim = hit; /* the same frame, long ago: this is its new time */
    } else {
        for (int i = 1; i < DEDUP_WAYS; i++) /* empty ways have time 0: the oldest */
            if (set->ts_ns[i] < set->ts_ns[victim]) victim = i;
        if (set->digest[victim] && r->replaced_live &&
            within(set->ts_ns[victim], ts_ns, r->window_ns))
            (*r->replaced_live)++;
    }
    set->digest[victim] = digest;
    set->ts_ns[victim] = ts_ns;
    return 0;
}

uint64_t dedup_frame_digest(const uint8_t *data, uint32_t caplen, uint32_t wirelen)
{
    uint64_t d = XXH3_64bits_withSeed(data, caplen < DEDUP_FRAME_BYTES ? caplen : DEDUP_FRAME_BYTES,
                                      wirelen);
    return d ? d : 1;
}

uint32_t dedup_payload_digest(const uint8_t *payload, uint32_t len, uint64_t flow_id, int dir)
{
    uint64_t seed = (flow_id * 2 + (uint64_t)dir) ^ ((uint64_t)len << 40);
    uint64_t d;
    if (len <= DEDUP_PAYLOAD_HEAD + DEDUP_PAYLOAD_TAIL) {
        d = XXH3_64bits_withSeed(payload, len, seed);
    } else { /* a bulk segment: its head and tail (and length) stand for it, cheaply */
        d = XXH3_64bits_withSeed(payload, DEDUP_PAYLOAD_HEAD, seed) ^
            XXH3_64bits_withSeed(payload + len - DEDUP_PAYLOAD_TAIL, DEDUP_PAYLOAD_TAIL, ~seed);
    }
    uint32_t h = (uint32_t)(d ^ (d >> 32));
    return h ? h : 1;
}
