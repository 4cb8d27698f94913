/* shared_reader.h - an offline capture read by its workers in turns, with no reader thread.
 *
 *   chunk ring:  [ filled, read by every worker ][ filled ][ being filled ][ free ] ...
 *
 * A worker that finds few chunks ahead of it takes the reader's token (if no other worker
 * holds it), fills the next free chunk (the source reads straight into the chunk's buffer;
 * dispatch_pick marks which worker each frame belongs to), publishes it and goes back to its
 * analysis. Every worker walks every chunk in order and analyses the frames marked for it;
 * the last one done with a chunk frees it. Reading and steering thus happen once per frame,
 * by whichever worker has time, and frames are never copied from one thread to another. The
 * ring bounds how far the fastest worker runs ahead of the slowest.
 */
#ifndef TT_SHARED_READER_H
#define TT_SHARED_READER_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

#include "../capture/capture.h"
#include "dispatch.h"

#define CHUNK_FRAMES 4096

struct chunk {
    alignas(64) _Atomic uint32_t readers_left; /* workers yet to walk it; 0: free */
    uint32_t nframes;
    struct frame *frames;
    uint8_t *owner; /* the worker each frame belongs to */
    uint8_t *bytes; /* the frames' bytes */
};

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
    uint32_t errors; /* capture files that broke mid-way (reported on stderr) */
    _Atomic int *stop;
};

/* The source must have rx_into. Returns 0 or -ENOMEM. */
int shared_reader_init(struct shared_reader *r, const struct capture_ops *ops, struct capture *cap,
                       uint32_t nworkers, const struct dispatcher *d, _Atomic int *stop);
void shared_reader_fini(struct shared_reader *r);

/* Chunk number seq (counted from 0) for a worker, filled by this worker if need be; NULL when
 * the capture has ended before it (or the run is stopping). Each worker asks for every chunk
 * in order and releases each one. */
struct chunk *shared_reader_get(struct shared_reader *r, uint64_t seq);
void shared_reader_release(struct chunk *c);

#endif
