/* dedup.h - frames captured twice, and payloads sent twice, recognised by a digest.
 *
 * SPAN ports and TAP aggregators often deliver one frame twice. A frame is a duplicate when
 * a frame of the same length and the same first DEDUP_FRAME_BYTES bytes was seen within
 * the window (editcap -w): those bytes hold the IP ID and the TCP/UDP checksum, which cover
 * the rest. A payload is a duplicate when the same flow direction carried a payload of the
 * same length, first DEDUP_PAYLOAD_HEAD and last DEDUP_PAYLOAD_TAIL bytes within its window
 * at another TCP sequence number (a retransmission has the same one) or, over UDP, at all:
 * an application that sent a message twice.
 *
 * Frames: each worker keeps the digests of its recent frames in arrival order (a ring of
 * dedup.table entries, dropped once older than the window), with a small hash index in front
 * whose size follows the number of frames inside the window: a few KiB (in L1) at a trading
 * link's usual rate, growing, rebuilt from the ring, as a burst fills it, so no digest inside
 * the window is ever forgotten while the ring holds it. Same bytes steer to the same worker,
 * so no state is shared and the result does not depend on the number of workers. A digest
 * still inside its window that a full ring overwrites is counted (the table is too small for
 * the rate). Payloads: each flow direction keeps its last few digests (flow_features.h).
 */
#ifndef TT_DEDUP_H
#define TT_DEDUP_H

#include <stdint.h>

#define DEDUP_FRAME_BYTES 128 /* Ethernet, a VLAN tag, IPv6 and the TCP checksum: 76 */
#define DEDUP_PAYLOAD_HEAD 128
#define DEDUP_PAYLOAD_TAIL 32
#define DEDUP_INDEX_WAYS 8 /* one cache line of slots */

struct dedup_config {
    uint32_t remove;            /* leave duplicate frames out before analysis (--dedup) */
    uint64_t window_ns;         /* a frame's copy within this is a duplicate (0: off) */
    uint32_t table;             /* frame digests remembered per worker */
    uint64_t payload_window_ns; /* a payload repeated within this (0: off) */
    uint32_t payload_min;       /* shorter payloads (heartbeats) are never duplicates */
};

void dedup_config_default(struct dedup_config *c);

/* One cache line: per slot, a tag from the digest (0: empty) and a ring position, compared
 * eight at once. */
struct dedup_index_set {
    uint32_t tag[DEDUP_INDEX_WAYS];
    uint32_t pos[DEDUP_INDEX_WAYS];
};

struct recent_digest {
    uint64_t digest;
    uint64_t ts_ns;
};

struct recent_digests {
    struct recent_digest *ring; /* in arrival order, from head to tail */
    uint32_t ring_mask;
    uint32_t head, tail; /* free-running positions */
    struct dedup_index_set *index;
    uint32_t index_sets; /* in use (a power of two) ... */
    uint32_t index_max;  /* ... of these, allocated */
    uint32_t epoch_left; /* insertions until the index's size is reconsidered */
    uint32_t epoch_most; /* the most digests held at once in this epoch */
    uint64_t window_ns;
    uint64_t *replaced_live; /* counts digests replaced inside their window (may be NULL) */
};

int recent_digests_init(struct recent_digests *r, uint32_t entries, uint64_t window_ns);
void recent_digests_fini(struct recent_digests *r);
void recent_digests_reset(struct recent_digests *r);

/* Whether digest was seen within the window of ts_ns (either side: merged captures are not
 * always in time order); remembers it when not. */
int recent_digests_seen(struct recent_digests *r, uint64_t digest, uint64_t ts_ns);

/* Fetches the index line that recent_digests_seen() will read for digest, a few frames ahead
 * of its lookup: at millions of frames a second the index outgrows L1. */
static inline void recent_digests_prefetch(const struct recent_digests *r, uint64_t digest)
{
    __builtin_prefetch(&r->index[digest & (r->index_sets - 1)], 1);
}

/* The digest of a frame (its length and first bytes). Never 0. */
uint64_t dedup_frame_digest(const uint8_t *data, uint32_t caplen, uint32_t wirelen);
/* The digest of a payload in flow direction (flow_id, dir). Never 0. */
uint32_t dedup_payload_digest(const uint8_t *payload, uint32_t len, uint64_t flow_id, int dir);

#endif
