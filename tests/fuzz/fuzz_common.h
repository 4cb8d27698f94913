/* fuzz_common.h - the small, bounded settings the worker-level libFuzzer harnesses use. */
#ifndef TT_FUZZ_COMMON_H
#define TT_FUZZ_COMMON_H

#include "../../agent/config/config.h"

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

#endif
