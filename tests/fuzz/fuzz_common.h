/* fuzz_common.h - the small, bounded settings the worker-level libFuzzer harnesses use. */
#ifndef TT_FUZZ_COMMON_H
#define TT_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../agent/capture/capture.h"
#include "../../agent/config/config.h"
#include "../../agent/pipeline/worker.h"

static const struct tt_config *fuzz_config(void)
{
    static struct tt_config cfg;
    static int ready;
    if (!ready) {
        config_defaults(&cfg);
        cfg.flow.max_flows = 64;
        cfg.tcp_seg_pool = 256;
        cfg.tcp_recall = 64;
        cfg.decode.frag_slots = 4;
        cfg.event_ring = 1 << 12;
        cfg.overflow_block = 0; /* the harness drains the ring itself */
        cfg.talkers_max = 64;
        cfg.trading.max_sessions = 4; /* small buffers: holes and limits are reached */
        cfg.trading.stream_buffer = 2048;
        cfg.trading.pending_orders = 64;
        cfg.trading.md_sessions = 4;
        cfg.trading.hole_timeout_ns = 2000000000ull;
        ready = 1;
    }
    return &cfg;
}

static inline void drain_events(struct worker *w)
{
    while (spsc_ring_peek(&w->events))
        spsc_ring_pop(&w->events);
}

/* Arbitrary bytes as the file source ops reads (through a memfd), every frame analysed by one
 * worker kept for the whole run; after(cap) runs before the source closes (may be NULL). */
static inline void fuzz_source(const struct capture_ops *ops, const uint8_t *data, size_t size,
                               void (*after)(struct capture *cap))
{
    int fd = memfd_create("fuzz-source", 0);
    if (fd < 0) return;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    const char *paths[1] = {path};
    struct capture *cap;
    char err[512];
    static struct worker *w; /* one for the whole run, reset per input */
    if (!w && (!(w = malloc(sizeof(*w))) || worker_init(w, 0, fuzz_config()))) abort();
    if (worker_reset(w)) abort();
    if (ops->open(&cap, paths, 1, NULL, err, sizeof(err)) == 0) {
        struct frame frames[32];
        int n, rounds = 0;
        while ((n = ops->rx_burst(cap, frames, 32, err, sizeof(err))) != 0 && rounds++ < 10000) {
            for (int i = 0; i < n; i++)
                worker_process_frame(w, &frames[i]);
            drain_events(w);
        }
        if (after) after(cap);
        ops->close(cap);
    }
    worker_flush(w);
    drain_events(w);
    close(fd);
}

#endif
