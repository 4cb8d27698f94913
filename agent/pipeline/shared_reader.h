/* shared_reader.h - an offline capture read by its workers in turns, with no reader thread.
 *
 *   chunk ring:  [ filled, read by every worker ][ filled ][ being filled ][ free ] ...
 *
 * A worker that finds few chunks ahead of it takes the reader's token (if no other worker
 * holds it), fills the next free chunk (the source reads straight into the chunk's buffer;
 * dispatch_pick says which worker each frame belongs to), publishes it and goes back to its
 * analysis. Reading and steering thus happen once per frame, by whichever worker has time,
 * and frames are never copied from one thread to another. The ring bounds how far the
 * fastest worker runs ahead of the slowest; the last worker done with a chunk frees it.
 *
 * A worker walks its own list of a chunk (chunk_walk): its own frames and the chunk's marks,
 * in frame order. Marks are the frames every worker must see because its clock moves there:
 * the first frame at or after each tick (tick_ns of packet time after the previous mark: the
 * workers' housekeeping rule, so each worker expires flows at the very frame it would alone),
 * the chunk's last frame (each worker's clock ends where the capture does), the first frame of
 * each baseline interval (detect_baseline.h: every worker sums the same frames into it) and a
 * frame where a microburst ended. The microburst detector sees every frame as the chunk is filled;
 * the worker that owns it emits the bursts from the marks.
 */
#ifndef TT_SHARED_READER_H
#define TT_SHARED_READER_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

#include "../capture/capture.h"
#include "../detect/detect_burst.h"
#include "dispatch.h"

#define CHUNK_FRAMES 4096 /* frame indices fit 12 bits */

/* An entry of a worker's walk is a frame index, flagged when the frame is a mark, and then
 * also when it is this worker's frame (else another's, which only moves its clock). */
#define CHUNK_INDEX 0x0fffu
#define CHUNK_MARK 0x8000u
#define CHUNK_MARK_OWN 0x4000u
/* Entries after the end of each walk, of frame 0: the walk fetches ahead without a test. */
#define CHUNK_WALK_PAD 16

struct chunk_mark {
    uint16_t frame; /* index in the chunk */
    uint16_t burst; /* 1 + index in bursts[] of the microburst that ended here; 0: none */
};

struct chunk {
    alignas(64) _Atomic uint32_t readers_left; /* workers yet to walk it; 0: free */
    uint32_t nframes, nmarks;
    struct frame *frames;
    uint8_t *bytes;           /* the frames' bytes */
    uint16_t *walk;           /* worker w's from walk + w * (CHUNK_FRAMES + CHUNK_WALK_PAD) */
    uint32_t *nwalk;          /* how many entries each worker has */
    struct chunk_mark *marks; /* in frame order */
    struct burst *bursts;
};

/* Worker w's walk of chunk c: *n entries (its frames and every mark, in frame order), then
 * CHUNK_WALK_PAD entries of frame 0. The k-th mark entry is c->marks[k]. */
static inline const uint16_t *chunk_walk(const struct chunk *c, uint32_t w, uint32_t *n)
{
    *n = c->nwalk[w];
    return c->walk + (size_t)w * (CHUNK_FRAMES + CHUNK_WALK_PAD);
}

struct shared_reader {
    const struct capture_ops *ops;
    struct capture *cap;
    uint32_t nworkers, nchunks;
    struct chunk *chunks;
    alignas(64) _Atomic int token;       /* held by the worker filling a chunk */
    alignas(64) _Atomic uint64_t filled; /* chunks published so far */
    _Atomic int ended;                   /* the source has no more frames */
    /* the token holder's */
    alignas(64) struct dispatcher d;
    struct burst_detector *burst; /* fed every frame; NULL: none */
    uint64_t tick_ns, next_tick_ns;
    uint64_t baseline_ns, next_baseline_ns; /* baseline intervals (0: none): set after init */
    uint32_t errors; /* capture files that broke mid-way (reported on stderr) */
    _Atomic int *stop;
};

/* The source must have rx_into. burst (may be NULL) is fed every frame in order while
 * chunks fill; tick_ns is the workers' housekeeping interval. Returns 0 or -ENOMEM. */
int shared_reader_init(struct shared_reader *r, const struct capture_ops *ops, struct capture *cap,
                       uint32_t nworkers, const struct dispatcher *d, struct burst_detector *burst,
                       uint64_t tick_ns, _Atomic int *stop);
void shared_reader_fini(struct shared_reader *r);

/* Chunk number seq (counted from 0) for a worker, filled by this worker if need be; NULL when
 * the capture has ended before it (or the run is stopping). Each worker asks for every chunk
 * in order and releases each one. */
struct chunk *shared_reader_get(struct shared_reader *r, uint64_t seq);
void shared_reader_release(struct chunk *c);

#endif
