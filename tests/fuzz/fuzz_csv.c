/* fuzz_csv.c - libFuzzer harness: arbitrary bytes as a CSV packet list (Wireshark, tshark)
 * read through the csv-file source, every row built into a frame, decoded and analysed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../agent/capture/capture_csv.h"
#include "../../agent/pipeline/worker.h"
#include "fuzz_common.h"

#include <jansson.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz-csv", 0);
    if (fd < 0) return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    const char *paths[1] = {path};
    const struct capture_ops *ops = &capture_csv_ops;
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
            while (spsc_ring_peek(&w->events))
                spsc_ring_pop(&w->events);
        }
        json_decref(capture_csv_describe(cap));
        ops->close(cap);
    }
    worker_flush(w);
    while (spsc_ring_peek(&w->events))
        spsc_ring_pop(&w->events);
    close(fd);
    return 0;
}
