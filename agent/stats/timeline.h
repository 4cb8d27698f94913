/* timeline.h - packets, bytes and latencies over capture time, for the report's charts.
 *
 * At most TIMELINE_BUCKETS buckets of equal width, a power of two of nanoseconds, aligned on
 * absolute time: when the capture outgrows them, the width doubles and neighbours merge, so
 * any capture, a second or a week, fits the same memory. Because the buckets are aligned on
 * absolute time, timelines of several workers merge into exactly the timeline one worker
 * would have built. Each bucket keeps, per latency series, a compact histogram (quarter
 * octaves from 256 ns to 4.3 s: a percentile read from it is within 19%) and the exact
 * maximum. One writer (its worker); merge after the workers stop.
 */
#ifndef TT_TIMELINE_H
#define TT_TIMELINE_H

#include <stdint.h>

#define TIMELINE_BUCKETS 512
#define TL_HIST 96 /* quarter octaves: 2^8 ns ... 2^32 ns */

enum tl_series { TL_RTT, TL_ORDER, TL_FEED, TL_SERIES };

struct tl_lat {
    uint32_t n[TL_HIST];
    uint64_t max_ns;
};

struct tl_bucket {
    uint64_t packets, bytes;
    struct tl_lat lat[TL_SERIES];
};

struct timeline {
    struct tl_bucket *b; /* TIMELINE_BUCKETS, calloc'd; NULL: off (or out of memory) */
    uint32_t shift;      /* bucket width: 1 << shift ns */
    uint64_t base;       /* absolute index (ts >> shift) of b[0] */
    uint32_t used;       /* b[0, used) span the frames seen; 0: none yet */
    uint32_t cur;        /* the bucket of the latest frame: where latencies go */
};

int timeline_init(struct timeline *t);
void timeline_fini(struct timeline *t);
void timeline_reset(struct timeline *t);

/* A frame at ts: counted, and its bucket becomes the current one. */
void timeline_frame(struct timeline *t, uint64_t ts_ns, uint32_t bytes);

/* A latency sample of series s, in the current frame's bucket. */
void timeline_latency(struct timeline *t, enum tl_series s, uint64_t ns);

void timeline_merge(struct timeline *into, const struct timeline *from);

/* The q-quantile (0..1) of a bucket's series, in ns (the upper edge of its histogram bucket,
 * capped by the maximum); 0 when the bucket has no sample. */
uint64_t timeline_quantile(const struct tl_lat *l, double q);

#endif
