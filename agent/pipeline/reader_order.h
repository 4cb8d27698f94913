/* reader_order.h - frames read by several reader threads (one per DPDK queue) analysed in one
 * order: the readers number them from one counter, each worker merges its rings by number.
 *
 *   reader r:  [reserve a burst's ordinals] -> steer -> ring[r][w] -> publish -> [clear low]
 *   worker w:  ring[0][w] ring[1][w] ... merged by ordinal, up to what no reader may undercut
 *
 * A reader reserves ordinals a burst at a time (one atomic add per burst). Until it has
 * published a burst's frames it announces the lowest ordinal it may still push (its low
 * mark; none between bursts). A worker takes a frame only when every reader's unseen frames
 * are sure to come after it: those already published are in its rings, and the others are
 * at or above their reader's low mark, or above the counter when the reader announces none.
 * So each worker sees its frames in one order, the one their ordinals give, and the sink's
 * merge by ordinal holds as with one dispatcher.
 *
 * The order of reading across queues is not a time order: frames of two queues interleave
 * as the readers happen to take them (a flow's frames stay in order: RSS keeps it on one
 * queue). Replays that must equal the offline analysis go through one reader (the union).
 */
#ifndef TT_READER_ORDER_H
#define TT_READER_ORDER_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

#include "../capture/capture.h"
#include "frame_ring.h"

#define READERS_MAX 64
#define ORDER_NONE UINT64_MAX

struct reader_low {
    alignas(64) _Atomic uint64_t low; /* lowest ordinal the reader may still push; ORDER_NONE */
};

struct reader_order {
    alignas(64) _Atomic uint64_t next; /* the next ordinal to hand out (from 1) */
    _Atomic uint32_t readers_done;
    uint32_t nreaders;
    struct reader_low r[READERS_MAX];
};

void reader_order_init(struct reader_order *o, uint32_t nreaders);

/* Reader r: the first of n ordinals for the burst it has just read. Its low mark stays at the
 * lowest of its unpublished ordinals until reader_order_published(). */
uint64_t reader_order_reserve(struct reader_order *o, uint32_t r, uint32_t n);
/* Reader r has published every frame it reserved: no low mark. */
void reader_order_published(struct reader_order *o, uint32_t r);
/* Reader r waits for room to push the frame numbered ordinal, having published those before
 * it: the workers may take everything below it meanwhile. */
void reader_order_blocked(struct reader_order *o, uint32_t r, uint64_t ordinal);
/* Reader r ends (after its last publish). */
void reader_order_done(struct reader_order *o, uint32_t r);

/* A worker's merge of its rings, one per reader. */
#define MERGE_BURST 64
struct ring_merge {
    struct reader_order *order;
    struct frame_ring **rings; /* [nreaders]: ring[r][this worker] */
    uint32_t nrings;
    struct ring_merge_in {
        struct frame buf[MERGE_BURST]; /* fetched, pointing into the ring */
        uint16_t n, at;
    } * in;
    uint64_t passed; /* every frame of this worker's below this has been handed out */
    int held;        /* frames fetched, still waiting on a slower reader */
};

int ring_merge_init(struct ring_merge *m, struct reader_order *o, struct frame_ring **rings,
                    uint32_t nrings);
void ring_merge_fini(struct ring_merge *m);
/* Up to max frames, in ordinal order, valid until ring_merge_release(). 0 when none may go
 * yet: m->held says whether some are fetched and wait for a reader; *all_done then says the
 * readers have ended and every ring is empty. */
int ring_merge_burst(struct ring_merge *m, struct frame *out, int max, int *all_done);
/* The frames handed out are done with: rings read to their end are released. */
void ring_merge_release(struct ring_merge *m);
/* Sleeps until a reader publishes to one of the rings, or timeout_ns passes. */
void ring_merge_wait(struct ring_merge *m, uint64_t timeout_ns);

#endif
