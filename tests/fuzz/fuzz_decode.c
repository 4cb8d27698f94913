/* fuzz_decode.c - libFuzzer harness: arbitrary bytes as frames of every supported link type,
 * through decode, flow table and TCP analysis (the worker's per-frame path).
 * Input: byte 0 picks the link type; the rest is split into frames at 0xFE 0xED markers, so
 * one input can build the multi-packet state (fragments, TCP sequences) the stages keep. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/pipeline/worker.h"
#include "fuzz_common.h"

static const int linktypes[] = {1, 12, 101, 113, 276, 228, 229, 0, 108, 147};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct worker *w = malloc(sizeof(*w));
    if (!w || worker_init(w, 0, fuzz_config())) {
        free(w);
        return 0;
    }
    int lt = linktypes[data[0] % (sizeof(linktypes) / sizeof(linktypes[0]))];
    size_t start = 1;
    uint64_t ordinal = 1;
    for (size_t i = 1; i <= size; i++) {
        int boundary = i == size || (i + 1 < size && data[i] == 0xfe && data[i + 1] == 0xed);
        if (!boundary)
            continue;
        /* copy so that ASan sees the exact frame bounds */
        size_t len = i - start;
        uint8_t *frame = malloc(len ? len : 1);
        memcpy(frame, data + start, len);
        struct frame f = {.ts_ns = 1000000000ull * ordinal, .ordinal = ordinal, .data = frame,
                          .caplen = (uint32_t)len, .wirelen = (uint32_t)len, .linktype = lt};
        worker_process_frame(w, &f);
        free(frame);
        ordinal++;
        start = i + 2;
        i++;
        /* drain events so the ring never fills */
        while (spsc_ring_peek(&w->events))
            spsc_ring_pop(&w->events);
    }
    worker_flush(w);
    worker_fini(w);
    free(w);
    return 0;
}
