/* dispatch.h - software RSS: picks the worker for a frame so that both directions of a flow,
 * and every fragment of a datagram, reach the same worker.
 *
 * A symmetric hash of the innermost flow's 5-tuple picks the worker: the one the decoder will
 * key the flow by, so every frame of a flow lands in one place. Plain TCP and UDP over IPv4
 * or IPv6 (VLAN tags at most) take a light parse; anything else (tunnels, label stacks, IPv6
 * extension headers, ICMP) goes through a decoder of its own. A first fragment records where
 * its datagram went; later fragments follow it through a small table: the first fragment to
 * arrive decides. When that one has no ports (or carries a tunnel), the datagram goes by the
 * address pair (counted in unsteered): its flow may then meet two workers. Market-data feeds
 * go by session (see trading below). Bytes are read through the cursor helpers only.
 *
 * A market-data flow's last session-steered datagram is remembered (md_recent, by flow hash):
 * the next one that begins with the same session name goes the same way without checking the
 * whole packet again. So a damaged datagram of a feed (a block cut short) still meets its flow,
 * where alone it would have gone by its 5-tuple; a new session name is decided afresh.
 *
 * Hashes pick one of DISPATCH_BUCKETS buckets. A bucket belongs to the worker that owned the
 * fewest buckets of its kind (market-data sessions, or flows) when it was first seen (ties:
 * the one handed the fewest frames); it never moves after. A few heavy sessions (eight
 * market-data channels, say) then split evenly, where hashing them straight onto two workers
 * often gives one of them twice the work of the other. The choice depends only on the frames
 * seen so far, so dispatchers fed the same frames agree.
 */
#ifndef TT_DISPATCH_H
#define TT_DISPATCH_H

#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>

#include "../capture/capture.h"
#include "../capture/capture_union.h"
#include "../decode/decode.h"
#include "../detect/detect_burst.h"
#include "../trading/trading_config.h"
#include "../config/config.h"
#include "../util/spsc_ring.h"
#include "frame_ring.h"
#include "reader_order.h"

#define DISPATCH_FRAG_SLOTS 256
#define DISPATCH_BUCKETS 4096
#define DISPATCH_MAX_WORKERS 64
#define DISPATCH_MD_RECENT 512 /* market-data flows remembered (a power of two) */
#define DISPATCH_BURST 64      /* frames asked of the source at once */

struct frag_steer {
    uint8_t addrs[32];
    uint32_t id;
    uint16_t worker;
    uint8_t used;
};

struct md_steer {
    uint64_t flow_hash; /* flow_key_hash64 of the flow */
    uint8_t session[10];
    uint8_t owner; /* worker + 1; 0: unused */
};

/* Readers of several queues steer with one table (each frame reads it; a bucket seen first is
 * claimed by compare-and-swap), so whichever queue brings a flow or a session, it goes to one
 * worker. */
struct dispatch_shared {
    uint8_t bucket_owner[DISPATCH_BUCKETS]; /* as dispatcher's, written by atomic ops only */
    uint32_t owned[2][DISPATCH_MAX_WORKERS];
};

struct dispatcher {
    uint32_t nworkers;
    struct dispatch_shared *shared; /* NULL: the buckets below are this dispatcher's own */
    struct decoder dec;             /* for frames the fast parse does not know (see pick_decoded) */
    struct frag_steer frags[DISPATCH_FRAG_SLOTS];
    uint64_t unsteered;
    uint8_t bucket_owner[DISPATCH_BUCKETS];  /* worker + 1; 0 while the bucket is unseen */
    uint64_t handed[DISPATCH_MAX_WORKERS];   /* frames given to each worker */
    uint32_t owned[2][DISPATCH_MAX_WORKERS]; /* buckets per worker: flows, market-data sessions */
    struct md_steer md_recent[DISPATCH_MD_RECENT];
    /* Market data whose A and B feeds must meet in one worker goes by its session instead
     * of its 5-tuple (trading_steer_key). NULL: no such steering. */
    const struct trading_config *trading;
};

void dispatch_init(struct dispatcher *d, uint32_t nworkers, uint16_t vxlan, uint16_t geneve,
                   uint16_t gtpu);

/* The worker index for frame f, in [0, nworkers) (nworkers <= DISPATCH_MAX_WORKERS). Sets
 * f->key_hashed, and f->key_hash when it is 1: the flow table's hash of the key that the
 * decoder gives f when it has ports outside any tunnel (plain TCP and UDP over IPv4, which the
 * fast path reads). */
uint32_t dispatch_pick(struct dispatcher *d, struct frame *f);

/* ---- the dispatcher thread ----------------------------------------------------------------
 * Reads a source no worker reads itself (a live source for several workers or interfaces, or
 * files when shared reading is off) and pushes each frame into the ring of the worker
 * dispatch_pick() names. Offline, a full ring waits for its worker; live, the frame is
 * dropped and counted (the kernel would drop it otherwise). Only this thread sees every
 * frame, so it feeds the microburst detectors (bursts: one per interface; union sources say
 * which one is theirs through burst_of) and sends their events through a ring of its own,
 * merged by the sink like a worker's. */
struct dispatch_thread {
    const struct capture_ops *ops;
    struct capture *cap;
    struct frame_ring *rings; /* one per worker */
    uint32_t nworkers;
    struct dispatcher d;
    _Atomic uint64_t dispatched; /* the last frame published to the workers' rings */
    _Atomic int done;
    _Atomic int *stop;
    uint32_t errors; /* source errors said on stderr */
    int by_ref;      /* the source's frames stay valid: pass descriptors, not bytes */
    int live;        /* a full worker queue drops the frame (counted) instead of waiting */
    _Atomic uint64_t ring_full; /* written here only; read by the sink for /metrics */
    _Atomic uint64_t ring_full_by_input[CAPTURE_UNION_MAX]; /* a union's: by its source */
    struct burst_set *bursts;                               /* NULL: no detection */
    uint8_t burst_of[CAPTURE_UNION_MAX]; /* a union's source -> its interface's detector */
    int from_union;                      /* cap is a capture_union */
    struct burst_totals burst_totals;
    _Atomic uint64_t bursts_seen; /* for /metrics */
    struct spsc_ring events;
    _Atomic uint64_t events_wm; /* its events are all out up to this frame */
    uint64_t events_full;       /* live: burst events dropped, the ring was full */
    uint64_t last_pushed;       /* ordinal of the last frame handed to a worker's ring */
    uint32_t unpublished;       /* frames handed out since the last publish */
    uint64_t burst_order;       /* the frame whose burst event is being emitted */
    sem_t *sink_wake;           /* posted when the events ring is full (offline) */
    _Atomic int waiting_sink;   /* waits on its full events ring */
    uint64_t mark_interval_ns;  /* baseline intervals: each begins with a time mark to every */
    uint64_t next_mark_ns;      /* worker, so that all sum the same frames (0: none) */
    /* One of several readers, each reading its own queue (reader_order.h); NULL: the only
     * one, whose source numbers the frames. Its frames say input. */
    struct reader_order *order;
    uint32_t reader;
    uint8_t input;
};

/* rings: nworkers of them; bursts: NULL or a set to feed. Returns 0 or -ENOMEM. A reader of
 * several (order set after) steers with the shared table given to dispatch_share(). */
int dispatch_thread_init(struct dispatch_thread *x, const struct tt_config *cfg,
                         const struct capture_ops *ops, struct capture *cap,
                         struct frame_ring *rings, uint32_t nworkers, int live,
                         struct burst_set *bursts);
void dispatch_thread_fini(struct dispatch_thread *x);
void dispatch_share(struct dispatcher *d, struct dispatch_shared *shared);
/* The thread's body (pthread_create): returns at the source's end or when *stop is set. */
void *dispatch_thread_main(void *arg);

#endif
