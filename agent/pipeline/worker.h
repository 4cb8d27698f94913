/* worker.h - one analysis worker: decode -> flow table -> TCP analysis -> trading -> events.
 *
 * A worker owns its input (a capture source or the frame ring the dispatcher fills), its
 * decoder, flow-table shard, segment pool, statistics and the event ring it hands to the
 * sink. Nothing is shared with other workers; the only cross-thread state is the event ring
 * and the watermark (see pipeline.c). Per packet: no locks, no allocation, no syscalls.
 * Housekeeping (expiry) runs once per second of packet time, bounded by expire_budget.
 */
#ifndef TT_WORKER_H
#define TT_WORKER_H

#include <semaphore.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

#include "../capture/capture.h"
#include "../decode/decode.h"
#include "../detect/detect_burst.h"
#include "../flow/dedup.h"
#include "../flow/flow_recall.h"
#include "../flow/flow_table.h"
#include "../metrics/metrics.h"
#include "../tcp/tcp_analysis.h"
#include "../trading/trading.h"
#include "../config/config.h"
#include "../util/spsc_ring.h"
#include "dispatch.h"
#include "frame_ring.h"
#include "reader_order.h"
#include "shared_reader.h"
#include "../stats/stats.h"

#define WORKER_BURST 32

/* Housekeeping (expiry) interval in packet time: at the first frame at or after it. */
#define WORKER_HOUSEKEEP_NS 1000000000ull

/* Secondary merge keys within a frame, where every worker may emit at the same frame: the
 * flow records housekeeping ends there (0, in flow id order), then the trading analyzers'
 * housekeeping (market data gaps, sessions by flow id), then the frame's own events. */
#define SUB_HOUSEKEEP_TRADING 1
#define SUB_FRAME 2

struct worker {
    alignas(64) int id;
    const struct tt_config *cfg;
    struct decoder dec;
    struct flow_table flows;
    struct tcp_seg_pool segs;
    struct flow_recall recall;        /* TCP state of ended flows, for connections that resume */
    struct recent_digests dup_frames; /* frames captured twice */
    struct tt_stats st;
    struct trading *trading;                /* FIX, market data: after the TCP analysis */
    struct spsc_ring events;                /* to the sink */
    alignas(64) _Atomic uint64_t watermark; /* every frame <= this has been processed */
    _Atomic int done;
    sem_t *sink_wake;         /* posted after done is set, and when the event ring is full and the
                               * worker waits: wakes the sink at once (may be NULL) */
    _Atomic int waiting_sink; /* waits on a full event ring: the sink keeps its short sleep */
    /* the baseline interval being summed (detect_baseline.h): counts by difference from
     * where it started, RTT samples as they come */
    uint64_t tick_index; /* UINT64_MAX: none yet */
    uint64_t tick_next_ns;
    uint64_t tick_packets, tick_bytes, tick_retrans, tick_errors;
    struct tick_info tick;
    alignas(64) uint64_t cur_frame;
    uint64_t cur_sub; /* secondary merge key of the events being emitted */
    uint64_t cur_ts;
    uint64_t next_housekeep_ns;
    /* input: a frame ring fed by the dispatcher, or a capture source of its own */
    struct frame_ring *in_ring;
    struct ring_merge *merge;     /* or the rings of several readers, merged (reader_order.h) */
    _Atomic uint64_t *dispatched; /* the dispatcher's last published ordinal */
    _Atomic int *dispatch_done;
    const struct capture_ops *src_ops;
    struct capture *src;
    /* Shared reading (offline, several workers): the worker walks its own frames and the
     * marks of every chunk of the capture. NULL: every frame is this worker's. */
    struct shared_reader *shared;
    char src_err[512];
    int src_failed;
    uint32_t src_errors; /* capture files that broke mid-way */
    _Atomic int *stop;   /* set by a signal: finish the burst, then flush */
    int live;            /* live capture: idle time still expires flows (by the wall clock) */
    int no_tcp_analysis; /* the input has no TCP sequence numbers (CSV): nothing to judge */
    /* Microbursts, when this worker sees every frame of its interface (one worker, one live
     * source per worker), or says what the shared reader detected (worker 0); else NULL.
     * The pipeline's (burst_set): the worker feeds it, never frees it. */
    struct burst_detector *burst;
    const char *burst_ifname;
    int dispatch_live; /* the dispatcher's source is live: an empty ring is waited on, not spun */
    struct metrics_worker *mw; /* NULL: nothing exported while running */
};

int worker_init(struct worker *w, int id, const struct tt_config *cfg);
void worker_fini(struct worker *w);
/* Forgets everything analysed (flows, reassembly, trading state, counters, pending events),
 * as a fresh worker_init() would, keeping the event ring and the largest tables and the
 * worker's wiring (input, signal flag, metrics): for many small runs (the fuzzers).
 * 0, or a negative errno after which the worker must be finished. */
int worker_reset(struct worker *w);

/* Analyses one decoded-to-be frame. Exposed for tests; the thread loop calls it per frame. */
void worker_process_frame(struct worker *w, const struct frame *f);

/* Ends every flow (records go out as events) at the end of the capture. */
void worker_flush(struct worker *w);

/* Thread entry: runs until the input ends, then flushes and sets done. */
void *worker_main(void *arg);

#endif
