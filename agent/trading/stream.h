/* stream.h - TCP stream reassembly for the protocol analyzers, one direction at a time.
 *
 * Contract: stream_segment() takes the segments of one direction in capture order and hands
 * the analyzer in-order bytes through a callback that returns how many it consumed (whole
 * messages only); the rest stays for the next segment. Duplicates and retransmitted overlaps
 * are trimmed away, so no byte is delivered twice. Out-of-order data is held inside the
 * direction's fixed buffer; a hole is skipped (counted, reported to the callback so the
 * analyzer resynchronises) when it has been open longer than the hole timeout (packet time),
 * when the buffer cannot hold what came after it, or when the stream ends. Memory is the
 * caller's buffer, nothing else: no allocation, wrap-safe sequence arithmetic.
 */
#ifndef TT_STREAM_H
#define TT_STREAM_H

#include <stddef.h>
#include <stdint.h>

#define STREAM_OOO_MAX 8 /* out-of-order ranges held per direction */

/* What reassembly did, per worker (summed over its streams). */
struct stream_counters {
    uint64_t segments;        /* segments with payload */
    uint64_t bytes_delivered; /* in-order bytes handed to analyzers */
    uint64_t duplicates;      /* segments wholly already delivered (retransmissions) */
    uint64_t overlap_bytes;   /* bytes trimmed off partly new segments */
    uint64_t ooo_held;        /* segments held until the bytes before them arrived */
    uint64_t holes_skipped;   /* holes given up on (timeout, buffer limit, stream end) */
    uint64_t hole_bytes;      /* bytes missing in those holes */
    uint64_t discarded_bytes; /* partial messages thrown away at a hole or when oversized */
};

/* Returns bytes consumed from data[0..len); after_hole: bytes were lost right before data, so
 * the analyzer must find its next message boundary. */
typedef size_t (*stream_deliver_fn)(void *ctx, const uint8_t *data, size_t len, int after_hole,
                                    uint64_t ts_ns);

struct stream_dir {
    uint32_t next_seq; /* sequence number of the next byte to deliver */
    uint32_t buf_len;  /* in-order bytes held: the start of an incomplete message */
    uint32_t cap;
    uint8_t init; /* next_seq known */
    uint8_t after_hole;
    uint8_t nooo;
    uint8_t pad;
    uint64_t hole_since_ns; /* when the first held out-of-order range arrived */
    struct {
        uint32_t start, end; /* sequence numbers; bytes at buf[buf_len + (start - next_seq)] */
    } ooo[STREAM_OOO_MAX];
    uint8_t *buf;
};

struct stream_cfg {
    uint64_t hole_timeout_ns;
    stream_deliver_fn deliver;
    void *ctx;
    struct stream_counters *ctr;
};

void stream_init(struct stream_dir *s, uint8_t *buf, uint32_t cap);

/* One TCP segment of this direction: flags are the header's TH_* bits, data[0..len) the
 * captured payload and seglen the length the headers announce (more when the capture cut the
 * frame short: the missing tail is a hole). */
void stream_segment(struct stream_dir *s, const struct stream_cfg *cfg, uint32_t seq,
                    uint16_t flags, const uint8_t *data, uint32_t len, uint32_t seglen,
                    uint64_t ts_ns);

/* The stream is over (FIN, RST, flow end): held data after holes is delivered. */
void stream_finish(struct stream_dir *s, const struct stream_cfg *cfg, uint64_t ts_ns);

#endif
