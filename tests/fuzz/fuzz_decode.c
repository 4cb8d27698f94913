/* fuzz_decode.c - libFuzzer harness: arbitrary bytes as frames of every supported link type,
 * through decode, flow table and TCP analysis (the worker's per-frame path).
 * Input: byte 0 picks the link type; the rest is split into frames at 0xFE 0xED markers, so
 * one input can build the multi-packet state (fragments, TCP sequences) the stages keep.
 * Ethernet frames also go through two bare decoders, one with the common frame's shortcut and
 * one without: their packets must agree byte for byte (abort otherwise), and the worker
 * steering's flow hash, where the worker would take it, must be the decoded key's. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/decode/decode.h"
#include "../../agent/flow/flow_table.h"
#include "../../agent/pipeline/dispatch.h"
#include "../../agent/pipeline/worker.h"
#include "fuzz_common.h"

static const int linktypes[] = {1, 12, 101, 113, 276, 228, 229, 0, 108, 147, 9, 10, 50, 104};

static struct decoder shortcut, walk;
static struct dispatcher steering;

static void decode_both_ways(const struct frame *f)
{
    static struct packet a, b;
    memset(&a, 0x5a, sizeof(a));
    memset(&b, 0x5a, sizeof(b));
    decode_frame(&shortcut, f->linktype, f->data, f->caplen, f->wirelen, f->ts_ns, &a);
    decode_frame(&walk, f->linktype, f->data, f->caplen, f->wirelen, f->ts_ns, &b);
    if (a.reassembled && b.reassembled && a.payload && b.payload &&
        a.payload_len == b.payload_len) { /* each decoder reassembles into its own buffer */
        if (memcmp(a.payload, b.payload, a.payload_len)) abort();
        b.payload = a.payload;
    }
    if (memcmp(&a, &b, sizeof(a))) abort();
    struct frame steered = *f;
    dispatch_pick(&steering, &steered);
    if (steered.key_hashed && a.has_l4 && !a.key.tunnel_kind &&
        steered.key_hash != flow_key_hash(&a.key))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    /* One worker for the whole run, reset per input: building one costs ~25 ms under ASan */
    static struct worker *w;
    if (!w && (!(w = malloc(sizeof(*w))) || worker_init(w, 0, fuzz_config()))) abort();
    if (worker_reset(w)) abort();
    int lt = linktypes[data[0] % (sizeof(linktypes) / sizeof(linktypes[0]))];
    struct decoder_config dc;
    decoder_config_default(&dc);
    static int decoders_ready;
    if (!decoders_ready && (decoder_init(&shortcut, &dc) || decoder_init(&walk, &dc))) abort();
    decoders_ready = 1;
    decoder_reset(&shortcut);
    decoder_reset(&walk);
    walk.general_only = 1;
    dispatch_init(&steering, 2, dc.vxlan_port, dc.geneve_port, dc.gtpu_port);
    steering.trading = &fuzz_config()->trading; /* market data by session too */
    size_t start = 1;
    uint64_t ordinal = 1;
    for (size_t i = 1; i <= size; i++) {
        int boundary = i == size || (i + 1 < size && data[i] == 0xfe && data[i + 1] == 0xed);
        if (!boundary) continue;
        /* copy so that ASan sees the exact frame bounds */
        size_t len = i - start;
        uint8_t *frame = malloc(len ? len : 1);
        memcpy(frame, data + start, len);
        struct frame f = {.ts_ns = 1000000000ull * ordinal,
                          .ordinal = ordinal,
                          .data = frame,
                          .caplen = (uint32_t)len,
                          .wirelen = (uint32_t)len,
                          .linktype = lt};
        worker_process_frame(w, &f);
        if (lt == 1) decode_both_ways(&f);
        free(frame);
        ordinal++;
        start = i + 2;
        i++;
        /* drain events so the ring never fills */
        while (spsc_ring_peek(&w->events))
            spsc_ring_pop(&w->events);
    }
    worker_flush(w);
    while (spsc_ring_peek(&w->events))
        spsc_ring_pop(&w->events);
    return 0;
}
