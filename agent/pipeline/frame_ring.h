/* frame_ring.h - bounded SPSC ring of variable-size frames (dispatcher to one worker).
 *
 * The producer copies a frame in once; the consumer reads it in place and releases a whole
 * burst at once. Records are 8-byte aligned: header then bytes; a record that does not fit
 * before the end of the buffer leaves a wrap marker and starts again at offset 0.
 * Exactly one producer thread and one consumer thread.
 *
 * A live consumer that finds the ring empty sleeps in frame_ring_wait() until the producer's
 * next publish wakes it (or a timeout): one wakeup per burst that brings it frames, instead of
 * waking on a timer to look.
 */
#ifndef TT_FRAME_RING_H
#define TT_FRAME_RING_H

#include <stdalign.h>
#include <stdatomic.h>
#include <semaphore.h>
#include <stdint.h>

#include "../capture/capture.h"

struct frame_ring {
    alignas(64) _Atomic uint64_t head; /* bytes written (producer) */
    alignas(64) _Atomic uint64_t tail; /* bytes released (consumer) */
    alignas(64) uint8_t *buf;
    uint64_t size;                  /* power of two */
    uint64_t read_pos;              /* consumer's private cursor, ahead of tail until release */
    alignas(64) uint64_t prod_head; /* producer's private cursor, ahead of head until publish */
    alignas(64) _Atomic int asleep; /* the consumer waits in frame_ring_wait() */
    sem_t wake;
    sem_t *bell; /* posted to wake the consumer: wake, or another ring's it also reads */
};

int frame_ring_init(struct frame_ring *r, uint64_t bytes);
/* Touches every page of the ring now: live, the page faults come at start rather than on the
 * producer's first lap (a fault every 4 KiB; 17% of the dispatcher's time over 300k frames). */
void frame_ring_prefault(struct frame_ring *r);
void frame_ring_fini(struct frame_ring *r);

/* Producer: copies f in (by_ref: only its descriptor, when the source keeps the bytes valid
 * for the whole run); returns 0, or -ENOSPC when it does not fit now (publish, retry later).
 * Nothing pushed is visible to the consumer before frame_ring_publish(): publish once per
 * burst, so the line holding head crosses cores once per burst, not once per frame. */
int frame_ring_push(struct frame_ring *r, const struct frame *f, int by_ref);
void frame_ring_publish(struct frame_ring *r);

/* Consumer: up to max frames pointing into the ring, valid until frame_ring_release(). */
int frame_ring_burst(struct frame_ring *r, struct frame *frames, int max);
void frame_ring_release(struct frame_ring *r);
/* Consumer: sleeps until frames are published or timeout_ns passes; returns at once when
 * frames are there already. */
void frame_ring_wait(struct frame_ring *r, uint64_t timeout_ns);
/* A consumer of several rings sleeps on one semaphore: r's publishes post to's. */
void frame_ring_share_bell(struct frame_ring *r, struct frame_ring *to);
/* Consumer: marks r asleep and says whether it is still empty (frame_ring_wait's first half,
 * for a consumer of several rings); frame_ring_awake() undoes the mark. */
int frame_ring_doze(struct frame_ring *r);
void frame_ring_awake(struct frame_ring *r);

#endif
