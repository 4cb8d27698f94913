/* fuzz_trading.c - libFuzzer harness for the trading decoders and TCP reassembly.
 * Byte 0 picks the target: FIX framing and parsing, MoldUDP64 + ITCH, MDP 3.0, or the
 * reassembler fed with segments described by the input (each: flags, sequence offset,
 * length, bytes) delivering into the FIX framer through a small buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/trading/fix.h"
#include "../../agent/trading/mdp3.h"
#include "../../agent/trading/moldudp64.h"
#include "../../agent/trading/stream.h"

static size_t consume_fix(const uint8_t *data, size_t len)
{
    size_t off = 0;
    while (off < len) {
        size_t start = fix_find_start(data, len, off);
        if (start >= len) return len;
        off = start;
        size_t ml = 0;
        enum fix_frame_result r = fix_frame(data + off, len - off, 4096, &ml);
        if (r == FIX_FRAME_NEED_MORE) break;
        if (r == FIX_FRAME_GARBAGE) {
            off++;
            continue;
        }
        struct fix_msg m;
        fix_parse(data + off, ml, &m);
        off += ml;
    }
    return off;
}

static size_t deliver(void *ctx, const uint8_t *data, size_t len, int after_hole, uint64_t ts)
{
    (void)ctx;
    (void)after_hole;
    (void)ts;
    /* read every byte handed over: ASan checks they lie inside the buffer or the input */
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < len; i++)
        sink ^= data[i];
    (void)sink;
    return consume_fix(data, len);
}

static void fuzz_stream(const uint8_t *data, size_t size)
{
    static uint8_t buf[1024];
    struct stream_dir s;
    struct stream_counters ctr = {0};
    struct stream_cfg cfg = {.hole_timeout_ns = 5, .deliver = deliver, .ctx = NULL, .ctr = &ctr};
    stream_init(&s, buf, sizeof(buf));
    size_t off = 0;
    uint64_t ts = 0;
    while (off + 4 <= size) {
        uint8_t flags = data[off];
        uint32_t seq = 1000u + (uint32_t)((data[off + 1] << 8) | data[off + 2]) - 0x4000u;
        size_t len = data[off + 3];
        off += 4;
        if (len > size - off) len = size - off;
        uint8_t *copy = malloc(len ? len : 1);
        memcpy(copy, data + off, len);
        uint32_t seglen = (uint32_t)len + ((flags & 0x80) ? 7u : 0u); /* cut by snap length */
        stream_segment(&s, &cfg, seq, flags & 0x07, copy, (uint32_t)len, seglen, ts++);
        free(copy);
        off += len;
    }
    stream_finish(&s, &cfg, ts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint8_t *p = malloc(size - 1 ? size - 1 : 1);
    memcpy(p, data + 1, size - 1);
    size_t n = size - 1;
    switch (data[0] % 4) {
    case 0:
        consume_fix(p, n);
        break;
    case 1: {
        struct mold_packet mp;
        if (!mold_parse(p, n, &mp)) {
            itch_plausible(&mp);
            size_t off = 0;
            const uint8_t *m;
            size_t ml;
            while (mold_next_message(&mp, &off, &m, &ml) == 1) {
                itch_message_length(m[0]);
                itch_timestamp(m, ml);
            }
        }
        break;
    }
    case 2: {
        struct mdp3_packet dp;
        if (!mdp3_parse(p, n, &dp)) {
            size_t off = 0;
            uint16_t tid;
            while (mdp3_next_message(&dp, &off, &tid) == 1)
                ;
        }
        break;
    }
    default:
        fuzz_stream(p, n);
        break;
    }
    free(p);
    return 0;
}
