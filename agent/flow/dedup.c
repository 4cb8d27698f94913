/* dedup.c - recent digests: a ring in arrival order and a hash index that follows its size
 * (see dedup.h). */
#include "dedup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__) && defined(__x86_64__)
#include <emmintrin.h>
#endif

#include "../util/digest.h"
#include "../util/table_mem.h"

void dedup_config_default(struct dedup_config *c)
{
    memset(c, 0, sizeof(*c));
    c->window_ns = 1000000; /* copies of a SPAN or TAP arrive within microseconds */
    c->table = 1u << 14;    /* 256 KiB: a microburst of thousands of frames in one window fits */
    c->payload_window_ns = 100000000; /* 100 ms: a double-sent order, not a repeated heartbeat */
    c->payload_min = 32;
}

#define INDEX_MIN_SETS 128 /* 8 KiB: DEDUP_KEEP_LAST at a quarter of the slots */
#define DEDUP_KEEP_LAST 256
#define INDEX_EPOCH 65536 /* insertions between two looks at the index's size */

int recent_digests_init(struct recent_digests *r, uint32_t entries, uint64_t window_ns)
{
    memset(r, 0, sizeof(*r));
    r->window_ns = window_ns;
    if (!window_ns) return 0;
    uint32_t cap = 64;
    while (cap < entries && cap < (1u << 24))
        cap <<= 1;
    /* At most one slot in eight in use with the ring full: a set overflows about never. */
    r->index_max = cap;
    r->ring = table_malloc(cap, sizeof(*r->ring));
    r->index = table_calloc(r->index_max, sizeof(*r->index));
    if (!r->ring || !r->index) {
        recent_digests_fini(r);
        return -ENOMEM;
    }
    r->ring_mask = cap - 1;
    recent_digests_reset(r);
    return 0;
}

void recent_digests_fini(struct recent_digests *r)
{
    table_release(r->ring);
    table_free(r->index);
    r->ring = NULL;
    r->index = NULL;
}

void recent_digests_reset(struct recent_digests *r)
{
    if (!r->index) return;
    memset(r->index, 0, (size_t)r->index_sets * sizeof(*r->index));
    r->head = r->tail = 0;
    r->index_sets = INDEX_MIN_SETS < r->index_max ? INDEX_MIN_SETS : r->index_max;
    r->epoch_left = INDEX_EPOCH;
    r->epoch_most = 0;
}

/* Within the window either way: merged captures are not always in time order. */
static int within(uint64_t a, uint64_t b, uint64_t window)
{
    return (a > b ? a - b : b - a) <= window;
}

static inline uint32_t tag_of(uint64_t digest)
{
    return (uint32_t)(digest >> 32) | 1; /* never 0: an empty slot's tag is 0 */
}

static inline struct dedup_index_set *set_of(const struct recent_digests *r, uint64_t digest)
{
    return &r->index[digest & (r->index_sets - 1)];
}

/* Bits of the set's slots: whose tag is tag (*match), which hold no digest of the ring (*open:
 * empty, or a digest that left). */
static inline void set_masks(const struct recent_digests *r, const struct dedup_index_set *set,
                             uint32_t tag, unsigned *match, unsigned *open)
{
    const uint32_t count = r->tail - r->head;
#if defined(__SSE2__) && defined(__x86_64__)
    const __m128i t = _mm_set1_epi32((int)tag), zero = _mm_setzero_si128();
    const __m128i head = _mm_set1_epi32((int)r->head);
    /* unsigned age < count, as signed compares with the top bit flipped */
    const __m128i flip = _mm_set1_epi32(INT32_MIN),
                  lim = _mm_set1_epi32((int)(count ^ 0x80000000u));
    unsigned m = 0, o = 0;
    for (int h = 0; h < 2; h++) {
        __m128i tags = _mm_loadu_si128((const __m128i *)&set->tag[4 * h]);
        __m128i pos = _mm_loadu_si128((const __m128i *)&set->pos[4 * h]);
        __m128i age = _mm_xor_si128(_mm_sub_epi32(pos, head), flip);
        __m128i gone = _mm_or_si128(_mm_cmpeq_epi32(tags, zero),
                                    _mm_xor_si128(_mm_cmplt_epi32(age, lim), _mm_set1_epi32(-1)));
        m |= (unsigned)_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(tags, t))) << (4 * h);
        o |= (unsigned)_mm_movemask_ps(_mm_castsi128_ps(gone)) << (4 * h);
    }
    *match = m & ~o;
    *open = o;
#else
    unsigned m = 0, o = 0;
    for (int i = 0; i < DEDUP_INDEX_WAYS; i++) {
        int gone = !set->tag[i] || (uint32_t)(set->pos[i] - r->head) >= count;
        o |= (unsigned)gone << i;
        m |= (unsigned)(!gone && set->tag[i] == tag) << i;
    }
    *match = m;
    *open = o;
#endif
}

/* Indexes the digest at ring position pos. -1 when its set is full and the index may grow;
 * at its largest, the oldest slot gives way (counted when still inside the window). */
static int index_put(struct recent_digests *r, uint64_t digest, uint32_t pos)
{
    struct dedup_index_set *set = set_of(r, digest);
    unsigned match, open;
    set_masks(r, set, tag_of(digest), &match, &open);
    int slot = open ? __builtin_ctz(open) : -1;
    if (slot < 0) {
        if (r->index_sets < r->index_max) return -1;
        slot = 0;
        for (int i = 1; i < DEDUP_INDEX_WAYS; i++)
            if (set->pos[i] - r->head < set->pos[slot] - r->head) slot = i;
        const struct recent_digest *gone = &r->ring[set->pos[slot] & r->ring_mask];
        if (r->replaced_live &&
            within(gone->ts_ns, r->ring[pos & r->ring_mask].ts_ns, r->window_ns))
            (*r->replaced_live)++;
    }
    set->tag[slot] = tag_of(digest);
    set->pos[slot] = pos;
    return 0;
}

/* The index made again at sets sets (larger while a set overflows) from the ring, which holds
 * every digest: nothing is forgotten. */
static void index_rebuild(struct recent_digests *r, uint32_t sets)
{
    for (;;) {
        r->index_sets = sets;
        memset(r->index, 0, (size_t)sets * sizeof(*r->index));
        uint32_t pos = r->head;
        while (pos != r->tail && !index_put(r, r->ring[pos & r->ring_mask].digest, pos))
            pos++;
        if (pos == r->tail) return;
        sets *= 2; /* index_put fails only below index_max */
    }
}

/* Once an epoch, the index shrinks to what the epoch's busiest moment needed (a set in four
 * in use), so that after a burst it fits the cache again. */
static void index_resize(struct recent_digests *r)
{
    uint32_t want = INDEX_MIN_SETS;
    while (want < r->epoch_most / 2 && want < r->index_max)
        want <<= 1;
    if (want < r->index_max && r->index_sets > 2 * want) index_rebuild(r, want);
    r->epoch_left = INDEX_EPOCH;
    r->epoch_most = r->tail - r->head;
}

int recent_digests_seen(struct recent_digests *r, uint64_t digest, uint64_t ts_ns)
{
    /* Digests older than the window leave the ring in arrival order, but the last few stay
     * whatever the time: one frame stamped far ahead (a damaged or merged capture) must not
     * make its neighbours forget theirs. */
    while (r->tail - r->head > DEDUP_KEEP_LAST &&
           r->ring[r->head & r->ring_mask].ts_ns + r->window_ns < ts_ns)
        r->head++;
    struct dedup_index_set *set = set_of(r, digest);
    const uint32_t tag = tag_of(digest);
    unsigned match, open;
    set_masks(r, set, tag, &match, &open);
    for (; match; match &= match - 1) { /* a tag's match is nearly always the digest's */
        const struct recent_digest *e = &r->ring[set->pos[__builtin_ctz(match)] & r->ring_mask];
        if (e->digest == digest && within(e->ts_ns, ts_ns, r->window_ns)) return 1;
    }
    if (r->tail - r->head > r->ring_mask) { /* the ring is full: its oldest digest goes */
        if (r->replaced_live && within(r->ring[r->head & r->ring_mask].ts_ns, ts_ns, r->window_ns))
            (*r->replaced_live)++;
        r->head++;
    }
    uint32_t pos = r->tail++;
    r->ring[pos & r->ring_mask] = (struct recent_digest){digest, ts_ns};
    if (open) {
        int slot = __builtin_ctz(open);
        set->tag[slot] = tag;
        set->pos[slot] = pos;
    } else if (index_put(r, digest, pos))
        index_rebuild(r, r->index_sets * 2);
    if (r->tail - r->head > r->epoch_most) r->epoch_most = r->tail - r->head;
    if (!--r->epoch_left) index_resize(r);
    return 0;
}

uint64_t dedup_frame_digest(const uint8_t *data, uint32_t caplen, uint32_t wirelen)
{
    return digest_bytes(data, caplen < DEDUP_FRAME_BYTES ? caplen : DEDUP_FRAME_BYTES, wirelen);
}

uint32_t dedup_payload_digest(const uint8_t *payload, uint32_t len, uint64_t flow_id, int dir)
{
    uint64_t seed = (flow_id * 2 + (uint64_t)dir) ^ ((uint64_t)len << 40);
    uint64_t d;
    if (len <= DEDUP_PAYLOAD_HEAD + DEDUP_PAYLOAD_TAIL) {
        d = digest_bytes(payload, len, seed);
    } else { /* a bulk segment: its head and tail (and length) stand for it, cheaply */
        d = digest_bytes(payload, DEDUP_PAYLOAD_HEAD, seed) ^
            digest_bytes(payload + len - DEDUP_PAYLOAD_TAIL, DEDUP_PAYLOAD_TAIL, ~seed);
    }
    uint32_t h = (uint32_t)(d ^ (d >> 32));
    return h ? h : 1;
}
