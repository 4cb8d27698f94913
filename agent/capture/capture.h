/* capture.h - capture sources: anything that yields bursts of (timestamp, bytes) frames.
 *
 * Every source (pcap files, libpcap live, AF_XDP; DPDK to come) implements struct
 * capture_ops and registers in capture.c; everything after rx_burst is the one shared
 * pipeline. Frames returned by rx_burst stay valid until the next rx_burst or close on the
 * same source. A source belongs to one thread. Live sources (capture_live.h) are opened by
 * their own constructors and have no open op.
 */
#ifndef TT_CAPTURE_H
#define TT_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

struct frame {
    uint64_t ts_ns;
    uint64_t ordinal; /* 1-based frame number within the capture */
    const uint8_t *data;
    uint32_t caplen;
    uint32_t wirelen;
    int linktype;
    uint8_t input; /* a union of live sources: the source it came from (else not set) */
    /* Set by the worker steering (dispatch_pick) when the frame's raw bytes told it the flow
     * table's hash of the flow key the decoder will give (flow_key_hash), so that the worker
     * need not hash again; only trusted by a worker on frames that went through it. */
    uint8_t key_hashed;
    uint32_t key_hash;
};

/* linktype of a frame without bytes that only says the time has come (the dispatcher's time
 * marks: every worker starts a baseline interval at the same frame, see worker.c). */
#define FRAME_TIME_MARK (-2)

struct capture;

#define CAPTURE_INTO_MIN (512u << 10)

struct capture_stats {
    uint64_t frames;
    uint64_t bytes;
    uint64_t truncated_files; /* files that ended in the middle of a record */
    int frames_stable;        /* frames stay valid until close (not only until the next burst) */
    uint64_t hw_stamped;      /* live: frames timed by the NIC's clock, not the kernel's */
};

struct capture_ops {
    const char *name;
    /* Optional, files: how far the reading is, in bytes of the inputs, and their total (for
     * progress). Any thread may call it while another reads. */
    void (*progress)(struct capture *c, uint64_t *done, uint64_t *total);
    /* Opens the source; on failure returns a negative errno and writes a one-line reason
     * (what, why, how to fix) into err[errlen]. */
    int (*open)(struct capture **out, const char *const *paths, int npaths, const char *filter,
                char *err, size_t errlen);
    /* Fills up to max frames; returns how many, 0 at the end, or a negative errno with a
     * reason in err (the frames before the fault have been delivered). A live source returns
     * -EAGAIN when nothing arrived within a short wait (at most ~10 ms): call again. */
    int (*rx_burst)(struct capture *c, struct frame *frames, int max, char *err, size_t errlen);
    void (*stats)(struct capture *c, struct capture_stats *st);
    /* Optional (offline sources): like rx_burst, but the frames' bytes are in buf (cap bytes,
     * at least CAPTURE_INTO_MIN), read there directly when the source can, so they stay valid
     * as long as the caller keeps buf. Lets several workers share what one of them read. */
    int (*rx_into)(struct capture *c, uint8_t *buf, size_t cap, struct frame *frames, int max,
                   char *err, size_t errlen);
    /* Optional (live sources): rx_burst that never waits (-EAGAIN at once when nothing is
     * there), and the descriptor that polls readable when frames arrive. One thread reads
     * several sources through them (capture_union.h), waiting on all at once. */
    int (*rx_nowait)(struct capture *c, struct frame *frames, int max, char *err, size_t errlen);
    int (*wait_fd)(struct capture *c);
    /* Optional (tap mode): a descriptor that polls readable when a burst is filling the
     * source's ring (its doorbell, -1: none), and the reset that makes it quiet again. A
     * reader that sleeps to take bigger batches sleeps on it. ring_fill: how full the
     * source's ring is, in percent (a bell that woke the reader late finds it fuller). */
    int (*bell_fd)(struct capture *c);
    void (*bell_drain)(struct capture *c);
    int (*ring_fill)(struct capture *c);
    void (*close)(struct capture *c);
};

/* The source called name, or NULL. */
const struct capture_ops *capture_find(const char *name);

#endif
