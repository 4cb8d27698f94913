/* dedup.c - recent digests in 4-way sets (see dedup.h). */
#include "dedup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

void dedup_config_default(struct dedup_config *c)
{
    memset(c, 0, sizeof(*c));
    c->window_ns = 1000000; /* copies of a SPAN or TAP arrive within microseconds */
    c->table = 1u << 14;
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
    r->sets = calloc((size_t)sets * DEDUP_WAYS, sizeof(*r->sets));
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
    if (r->sets) memset(r->sets, 0, ((size_t)r->set_mask + 1) * DEDUP_WAYS * sizeof(*r->sets));
}

/* Within the window either way: merged captures are not always in time order. */
static int within(uint64_t a, uint64_t b, uint64_t window)
{
    return (a > b ? a - b : b - a) <= window;
}

int recent_digests_check(struct recent_digests *r, uint64_t digest, uint64_t ts_ns, uint32_t tag)
{
    struct dedup_entry *set = &r->sets[(digest & r->set_mask) * DEDUP_WAYS];
    struct dedup_entry *victim = &set[0];
    for (int i = 0; i < DEDUP_WAYS; i++) {
        struct dedup_entry *e = &set[i];
        if (e->digest == digest && within(e->ts_ns, ts_ns, r->window_ns)) {
            int same = e->tag == tag;
            e->tag = tag; /* the latest copy: a third send is compared with the second */
            return same ? DIGEST_SAME_TAG : DIGEST_OTHER_TAG;
        }
        if (!e->digest || e->ts_ns < victim->ts_ns || (victim->digest && !e->digest)) victim = e;
    }
    if (victim->digest && r->replaced_live && within(victim->ts_ns, ts_ns, r->window_ns))
        (*r->replaced_live)++;
    victim->digest = digest;
    victim->ts_ns = ts_ns;
    victim->tag = tag;
    return DIGEST_NEW;
}

uint64_t dedup_frame_digest(const uint8_t *data, uint32_t caplen, uint32_t wirelen)
{
    uint64_t d = XXH3_64bits_withSeed(data, caplen < DEDUP_FRAME_BYTES ? caplen : DEDUP_FRAME_BYTES,
                                      wirelen);
    return d ? d : 1;
}

uint64_t dedup_payload_digest(const uint8_t *payload, uint32_t len, uint64_t flow_id, int dir)
{
    uint64_t d = XXH3_64bits_withSeed(payload, len, flow_id * 2 + (uint64_t)dir);
    return d ? d : 1;
}
